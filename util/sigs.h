/*
 * sigs - signal handling without races.
 *
 * Handlers only set a flag and write one byte to a self-pipe, so the event
 * loop wakes up and the real work happens outside signal context.
 */
#ifndef POSTERN_SIGS_H
#define POSTERN_SIGS_H

#include <signal.h>

/* Install a flag-setting handler for sig (SA_RESTART off). */
void sigs_catch(int sig);
/* Nonzero (and cleared) if sig arrived since the last call. */
int sigs_pending(int sig);
/* Read end of the self-pipe: readable after any caught signal. Created on
 * first use, non-blocking, close-on-exec. Drain it with sigs_drain(). */
int sigs_wakeup_fd(void);
void sigs_drain(void);
/* Ignore sig / restore the default action. */
void sigs_ignore(int sig);
void sigs_default(int sig);

#endif
