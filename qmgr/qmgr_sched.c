/*
 * qmgr_sched - who is delivered next (the oqmgr model).
 *
 * A scheduling round first lets qmgr_scan_fill() take new messages into
 * active/, then starts deliveries: it walks the transports, and within
 * each transport goes round the ring of destinations taking one entry
 * from each destination that may start one, lap after lap, until no
 * destination can start more. So destinations are served round robin
 * and each destination's entries in FIFO order.
 *
 * A destination may start a delivery when it has a waiting entry, fewer
 * deliveries in flight than its window, is not dead, and its rate delay
 * (if any) has passed; with a rate delay it has at most one delivery in
 * flight. A transport may start one when it is not dead, its agent's
 * socket is not backlogged, and it has fewer than default_process_limit
 * deliveries in flight (the agents master will start for it). A
 * destination that is slow only fills its own window: the others keep
 * going, which is the point.
 *
 * Rounds are requested (qmgr_sched_request) by anything that may have
 * made work possible and run from a zero-delay timer, so a burst of
 * events costs one round.
 */
#include <sys/time.h>

#include "events.h"
#include "mail_params.h"
#include "msg.h"
#include "qmgr.h"

static void qmgr_sched_run(void *ctx);

int64_t qmgr_now_ms(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

/* A round already asked for is left alone: re-arming the zero-delay
 * timer from inside a callback postpones it to the round after, so a
 * steady stream of triggers (one per new message) would otherwise keep
 * it from ever running while mail piles up in incoming/. */
static int qmgr_sched_pending;

void qmgr_sched_request(void)
{
	if (qmgr_sched_pending)
		return;
	qmgr_sched_pending = 1;
	events_timer(qmgr_sched_run, NULL, 0);
}

/* A later round (rate delay, backlog). A pending one that is sooner is
 * not replaced by a later one: events_timer replaces by (fn, ctx), so a
 * separate context keeps the two apart. */
static int qmgr_sched_later_ctx;

static void qmgr_sched_later(void *ctx)
{
	(void)ctx;
	qmgr_sched_run(NULL);
}

void qmgr_sched_request_ms(long ms)
{
	static int64_t due_ms;
	int64_t now = qmgr_now_ms();

	if (due_ms > now && due_ms <= now + ms)
		return;
	due_ms = now + ms;
	events_timer_ms(qmgr_sched_later, &qmgr_sched_later_ctx, ms);
}

static int queue_ready(const struct qmgr_queue *q, int64_t now,
		       int64_t *wait_ms)
{
	int window = q->window;

	if (q->dead || q->todo == NULL)
		return 0;
	if (q->transport->dest_rate_delay > 0) {
		window = 1;
		if (now < q->next_start_ms) {
			int64_t w = q->next_start_ms - now;

			if (*wait_ms < 0 || w < *wait_ms)
				*wait_ms = w;
			return 0;
		}
	}
	return q->busy < window;
}

static int transport_ready(const struct qmgr_transport *t, int64_t now,
			   int64_t *wait_ms)
{
	int limit =
	    var_default_process_limit > 0 ? var_default_process_limit : 100;

	if (t->dead || t->busy >= limit)
		return 0;
	if (now < t->blocked_until_ms) {
		int64_t w = t->blocked_until_ms - now;

		if (*wait_ms < 0 || w < *wait_ms)
			*wait_ms = w;
		return 0;
	}
	return 1;
}

/* One transport: laps round its ring until nothing can start. */
static void sched_transport(struct qmgr_transport *t, int64_t *wait_ms)
{
	int started;

	do {
		struct qmgr_queue *q, *stop;
		int64_t now = qmgr_now_ms();

		started = 0;
		if ((q = t->queues) == NULL)
			return;
		stop = q;
		do {
			struct qmgr_queue *next = q->next;

			if (!transport_ready(t, now, wait_ms))
				return;
			if (queue_ready(q, now, wait_ms)) {
				struct qmgr_entry *entry = qmgr_queue_take(q);

				/* Next lap starts after this one: round
				 * robin even when a lap is cut short. */
				t->queues = next;
				qmgr_deliver_start(entry);
				started = 1;
				/* Starting can throttle the transport and
				 * free queues: restart from the ring. */
				break;
			}
			q = next;
		} while (q != stop);
	} while (started);
}

static void qmgr_sched_run(void *ctx)
{
	int64_t wait_ms = -1;

	(void)ctx;
	qmgr_sched_pending = 0;
	qmgr_scan_fill();
	for (struct qmgr_transport *t = qmgr_transport_list(); t; t = t->next)
		sched_transport(t, &wait_ms);
	if (wait_ms >= 0)
		qmgr_sched_request_ms(wait_ms > 0 ? (long)wait_ms : 1);
}
