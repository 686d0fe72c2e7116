/*
 * events - a small epoll event loop with timers.
 *
 * Callbacks run from events_loop(); a callback may add or remove any
 * descriptor or timer, including its own, and a descriptor removed (or
 * closed and reused) by one callback is never reported to a stale watcher
 * later in the same batch. Timers are one-shot; a timer set from inside a
 * callback never runs in the same round, so a timer that re-arms itself
 * with delay 0 cannot starve descriptors. One loop per process (daemons are
 * single-threaded); the epoll descriptor is close-on-exec.
 */
#ifndef POSTERN_EVENTS_H
#define POSTERN_EVENTS_H

#define EVENT_READ 1
#define EVENT_WRITE 2

/* events: EVENT_READ/EVENT_WRITE that are ready. An error or hang-up on the
 * descriptor is reported as whichever of the watched events applies, so the
 * callback's read() or write() sees it. */
typedef void (*event_fn)(int fd, int events, void *ctx);
typedef void (*timer_fn)(void *ctx);

/* Watch fd for EVENT_READ and/or EVENT_WRITE (replaces an earlier watch of
 * the same fd, callback and context included). msg_panic on a bad fd or
 * empty event mask (caller bug); msg_fatal if the kernel refuses. */
void events_watch(int fd, int events, event_fn fn, void *ctx);
/* Stop watching fd (no-op if not watched). Call before close(fd). */
void events_unwatch(int fd);
/* Call fn(ctx) after delay seconds (0 = next round); replaces a timer with
 * the same fn and ctx. */
void events_timer(timer_fn fn, void *ctx, int delay);
/* Same with the delay in milliseconds (tests, sub-second back-off). */
void events_timer_ms(timer_fn fn, void *ctx, long delay_ms);
/* Cancel a timer; no-op if not set. */
void events_timer_cancel(timer_fn fn, void *ctx);
/* Run one round: wait up to timeout seconds (-1: forever, or until the next
 * timer), dispatch ready descriptors, then due timers. Returns after one
 * batch; EINTR (a signal) just returns. */
void events_loop(int timeout);
/* As events_loop with the timeout in milliseconds (-1: forever). */
void events_loop_ms(long timeout_ms);

#endif
