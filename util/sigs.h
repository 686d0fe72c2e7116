/*
 * sigs - signal handling without races.
 *
 * Handlers only set a flag and write one byte to a self-pipe, so the event
 * loop wakes up (watch sigs_wakeup_fd() for EVENT_READ) and the real work
 * happens outside signal context: the handler calls nothing but write(2),
 * which is async-signal-safe, and keeps errno intact.
 */
#ifndef POSTERN_SIGS_H
#define POSTERN_SIGS_H

#include <signal.h>

/* Install a flag-setting handler for sig (SA_RESTART off, so a blocking
 * call returns EINTR; for SIGCHLD, stops are not reported). msg_panic on
 * a signal number out of range, msg_fatal if sigaction fails. */
void sigs_catch(int sig);
/* Nonzero (and cleared) if sig arrived since the last call. */
int sigs_pending(int sig);
/* Read end of the self-pipe: readable after any caught signal. Created on
 * first use, non-blocking, close-on-exec. Drain it with sigs_drain(). */
int sigs_wakeup_fd(void);
/* Read and discard everything in the self-pipe (never blocks). */
void sigs_drain(void);
/* Ignore sig / restore the default action (a child does this before exec
 * for every signal it caught). */
void sigs_ignore(int sig);
void sigs_default(int sig);

#endif
