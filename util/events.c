/*
 * events - a small epoll event loop with one-shot timers; see events.h.
 *
 * Watchers live in a table indexed by descriptor. Each watch gets a
 * generation number, and the epoll cookie carries (generation, fd): when a
 * callback removes a watcher, or closes its fd and a new connection reuses
 * the number, the rest of the current epoll batch no longer matches the
 * table and is dropped instead of calling a stale callback with a stale
 * context (a use-after-free in the caller). Callbacks and contexts are
 * copied out of the table before the call, since the call may change it.
 *
 * Timers are a list sorted by deadline (monotonic clock, milliseconds);
 * daemons keep a handful, so a list is simpler than a heap and fast
 * enough. Each timer carries a sequence number, and one round only runs
 * timers that existed when the round began.
 */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>

#include "events.h"
#include "msg.h"
#include "mymalloc.h"

#define EVENTS_BATCH 64

struct events_watcher {
	event_fn fn; /* NULL: slot unused */
	void *ctx;
	int mask;
	uint32_t gen;
};

struct events_timer {
	struct events_timer *next;
	int64_t deadline; /* CLOCK_MONOTONIC, ms */
	uint64_t seq;
	timer_fn fn;
	void *ctx;
};

static int events_fd = -1;
static struct events_watcher *events_table;
static size_t events_table_len;
static uint32_t events_gen;
static struct events_timer *events_timers;
static uint64_t events_timer_seq;

static int64_t events_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void events_init(void)
{
	if (events_fd >= 0)
		return;
	if ((events_fd = epoll_create1(EPOLL_CLOEXEC)) < 0)
		msg_fatal("epoll_create1: %m");
}

static uint32_t events_epoll_mask(int mask)
{
	return ((mask & EVENT_READ) ? EPOLLIN : 0) |
	       ((mask & EVENT_WRITE) ? EPOLLOUT : 0);
}

void events_watch(int fd, int mask, event_fn fn, void *ctx)
{
	struct epoll_event ev;
	struct events_watcher *w;
	int op;

	if (fd < 0 || fn == NULL || (mask & (EVENT_READ | EVENT_WRITE)) == 0 ||
	    (mask & ~(EVENT_READ | EVENT_WRITE)) != 0)
		msg_panic("events_watch: bad arguments fd=%d mask=%d", fd,
			  mask);
	events_init();
	if ((size_t)fd >= events_table_len) {
		size_t len = events_table_len ? events_table_len : 64;

		while (len <= (size_t)fd)
			len = mymalloc_mul(len, 2);
		events_table =
		    myreallocarray(events_table, len, sizeof(*events_table));
		memset(events_table + events_table_len, 0,
		       (len - events_table_len) * sizeof(*events_table));
		events_table_len = len;
	}
	w = events_table + fd;
	memset(&ev, 0, sizeof(ev));
	ev.events = events_epoll_mask(mask);
	if (w->fn != NULL) {
		op = EPOLL_CTL_MOD;
	} else {
		op = EPOLL_CTL_ADD;
		w->gen = ++events_gen;
	}
	ev.data.u64 = ((uint64_t)w->gen << 32) | (uint32_t)fd;
	if (epoll_ctl(events_fd, op, fd, &ev) < 0) {
		if (op == EPOLL_CTL_MOD && errno == ENOENT) {
			/* The caller closed fd without unwatching it; the
			 * kernel already forgot it, so start afresh, as a
			 * new watch that stale events cannot match. */
			w->gen = ++events_gen;
			ev.data.u64 = ((uint64_t)w->gen << 32) | (uint32_t)fd;
			if (epoll_ctl(events_fd, EPOLL_CTL_ADD, fd, &ev) == 0)
				goto ok;
		}
		msg_fatal("events_watch: epoll_ctl fd %d: %m", fd);
	}
ok:
	w->fn = fn;
	w->ctx = ctx;
	w->mask = mask;
}

void events_unwatch(int fd)
{
	struct events_watcher *w;

	if (fd < 0 || (size_t)fd >= events_table_len)
		return;
	w = events_table + fd;
	if (w->fn == NULL)
		return;
	/* EBADF/ENOENT: already closed, which removed it from the set. */
	if (epoll_ctl(events_fd, EPOLL_CTL_DEL, fd, NULL) < 0 &&
	    errno != EBADF && errno != ENOENT)
		msg_fatal("events_unwatch: epoll_ctl fd %d: %m", fd);
	memset(w, 0, sizeof(*w));
}

void events_timer_cancel(timer_fn fn, void *ctx)
{
	struct events_timer **pp;

	for (pp = &events_timers; *pp != NULL; pp = &(*pp)->next) {
		if ((*pp)->fn == fn && (*pp)->ctx == ctx) {
			struct events_timer *t = *pp;

			*pp = t->next;
			myfree(t);
			return;
		}
	}
}

void events_timer_ms(timer_fn fn, void *ctx, long delay_ms)
{
	struct events_timer *t, **pp;

	if (fn == NULL)
		msg_panic("events_timer: null callback");
	if (delay_ms < 0)
		delay_ms = 0;
	events_timer_cancel(fn, ctx);
	t = mymalloc(sizeof(*t));
	t->deadline = events_now_ms() + delay_ms;
	t->seq = events_timer_seq++;
	t->fn = fn;
	t->ctx = ctx;
	/* After equal deadlines: timers due together run in the order set. */
	for (pp = &events_timers; *pp != NULL && (*pp)->deadline <= t->deadline;
	     pp = &(*pp)->next)
		;
	t->next = *pp;
	*pp = t;
}

void events_timer(timer_fn fn, void *ctx, int delay)
{
	events_timer_ms(fn, ctx, delay < 0 ? 0 : (long)delay * 1000);
}

/* Run timers that are due and were set before seq limit (the round). */
static void events_run_timers(uint64_t limit)
{
	int64_t now = events_now_ms();

	for (;;) {
		struct events_timer **pp, *t;
		timer_fn fn;
		void *ctx;

		for (pp = &events_timers; *pp != NULL && (*pp)->deadline <= now;
		     pp = &(*pp)->next)
			if ((*pp)->seq < limit)
				break;
		if (*pp == NULL || (*pp)->deadline > now)
			return;
		t = *pp;
		*pp = t->next;
		fn = t->fn;
		ctx = t->ctx;
		myfree(t);
		fn(ctx);
	}
}

void events_loop_ms(long timeout_ms)
{
	struct epoll_event evs[EVENTS_BATCH];
	int64_t wait = timeout_ms < 0 ? -1 : timeout_ms;
	uint64_t limit = events_timer_seq;
	int n;

	events_init();
	if (events_timers != NULL) {
		int64_t next = events_timers->deadline - events_now_ms();

		if (next < 0)
			next = 0;
		if (wait < 0 || next < wait)
			wait = next;
	}
	if (wait > INT_MAX)
		wait = INT_MAX;
	n = epoll_wait(events_fd, evs, EVENTS_BATCH, (int)wait);
	if (n < 0) {
		if (errno == EINTR)
			return;
		msg_fatal("epoll_wait: %m");
	}
	for (int i = 0; i < n; i++) {
		int fd = (int)(uint32_t)evs[i].data.u64;
		uint32_t gen = (uint32_t)(evs[i].data.u64 >> 32);
		struct events_watcher *w;
		int ready = 0;

		/* Removed or replaced by an earlier callback in this batch. */
		if ((size_t)fd >= events_table_len)
			continue;
		w = events_table + fd;
		if (w->fn == NULL || w->gen != gen)
			continue;
		if (evs[i].events & EPOLLIN)
			ready |= EVENT_READ;
		if (evs[i].events & EPOLLOUT)
			ready |= EVENT_WRITE;
		if (evs[i].events & (EPOLLERR | EPOLLHUP))
			ready |= EVENT_READ | EVENT_WRITE;
		ready &= w->mask;
		if (ready != 0)
			w->fn(fd, ready, w->ctx);
	}
	events_run_timers(limit);
}

void events_loop(int timeout)
{
	events_loop_ms(timeout < 0 ? -1 : (long)timeout * 1000);
}
