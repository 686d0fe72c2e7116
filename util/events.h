/*
 * events - a small epoll event loop with timers.
 *
 * Callbacks run from events_loop(); a callback may add or remove any
 * descriptor or timer, including its own. Timers are one-shot. One loop per
 * process (daemons are single-threaded).
 */
#ifndef POSTERN_EVENTS_H
#define POSTERN_EVENTS_H

#define EVENT_READ  1
#define EVENT_WRITE 2

typedef void (*event_fn)(int fd, int events, void *ctx);
typedef void (*timer_fn)(void *ctx);

/* Watch fd for EVENT_READ and/or EVENT_WRITE (replaces an earlier watch). */
void events_watch(int fd, int events, event_fn fn, void *ctx);
/* Stop watching fd (no-op if not watched). Call before close(fd). */
void events_unwatch(int fd);
/* Call fn(ctx) after delay seconds (0 = next loop); replaces a timer with the
 * same fn and ctx. */
void events_timer(timer_fn fn, void *ctx, int delay);
/* Cancel a timer; no-op if not set. */
void events_timer_cancel(timer_fn fn, void *ctx);
/* Run one round: wait up to timeout seconds (-1: forever, or until the next
 * timer) and dispatch. Returns after one batch; EINTR just returns. */
void events_loop(int timeout);

#endif
