/*
 * qmgr_queue - transports, destination queues, entries, and the
 * concurrency feedback of Postfix 2.5 (REFERENCE.md 1.7).
 *
 * A destination is (transport, next hop). Its window (how many
 * deliveries may run at once) starts at the transport's initial
 * destination concurrency and moves with feedback from each finished
 * delivery:
 *   - success (no site problem): fail_cohorts = 0; success += 1; each
 *     whole unit raises the window by 1 (and clears failure), up to the
 *     destination concurrency limit, and only while the window is below
 *     busy + initial concurrency, so that a burst of completions from a
 *     window that was never used cannot inflate it;
 *   - site failure (the agent reports site_dsn: no connection, a bad
 *     greeting, a lost session): fail_cohorts += 1/window; when it
 *     reaches the failed cohort limit the destination is dead; otherwise
 *     failure -= 1 and each whole unit lowers the window by 1 (at least
 *     1) and clears success.
 * Positive and negative feedback are Postfix's defaults (1 per delivery).
 *
 * A dead destination keeps its queue object (so new mail for it is
 * deferred at once, "delivery temporarily suspended: REASON") until
 * transport_retry_time has passed or an F trigger arrives. A transport
 * whose agent cannot be reached or crashed is dead the same way, for
 * all its destinations ("mail transport unavailable").
 *
 * An idle queue (nothing waiting, nothing in flight) is freed, losing
 * its window as in Postfix, but not before its rate delay has passed.
 *
 * Invariants: queue->busy counts the queue's deliveries in flight and
 * transport->busy the sum over its queues; an entry is in exactly one
 * place (a todo list or a delivery); a queue is freed only when it has
 * no entries, nothing in flight, and is not dead.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "events.h"
#include "mail_conf.h"
#include "mail_params.h"
#include "msg.h"
#include "mymalloc.h"
#include "qmgr.h"
#include "strbuf.h"

static struct qmgr_transport *qmgr_transports;

/* <transport>_<suffix> from main.cf if set, else def. Postfix lets any
 * master.cf service name prefix these. */
static int transport_param(const char *transport, const char *suffix,
			   int is_time, int def, int min)
{
	struct strbuf *name = strbuf_new(STRBUF_NO_MAX);
	const char *value;
	long out;
	int ret = def;

	strbuf_printf(name, "%s_%s", transport, suffix);
	if ((value = mail_conf_eval(strbuf_str(name))) != NULL) {
		int rc = is_time ? conf_parse_time(value, 's', &out)
				 : conf_parse_int(value, min, 1000000, &out);

		if (rc < 0 || out < min || out > 1000000)
			msg_warn("bad %s value \"%s\"; using %d",
				 strbuf_str(name), value, def);
		else
			ret = (int)out;
	}
	strbuf_free(&name);
	return ret;
}

struct qmgr_transport *qmgr_transport_list(void)
{
	return qmgr_transports;
}

struct qmgr_transport *qmgr_transport_find(const char *name)
{
	struct qmgr_transport *t;

	for (t = qmgr_transports; t != NULL; t = t->next)
		if (strcmp(t->name, name) == 0)
			return t;
	t = mycalloc(1, sizeof(*t));
	t->name = mystrdup(name);
	t->dest_conc_limit =
	    transport_param(name, "destination_concurrency_limit", 0,
			    var_default_destination_concurrency_limit, 0);
	t->dest_rcpt_limit =
	    transport_param(name, "destination_recipient_limit", 0,
			    var_default_destination_recipient_limit, 0);
	t->dest_rate_delay =
	    transport_param(name, "destination_rate_delay", 1,
			    var_default_destination_rate_delay, 0);
	t->cohort_limit = transport_param(
	    name, "destination_concurrency_failed_cohort_limit", 0,
	    var_default_destination_concurrency_failed_cohort_limit, 0);
	t->init_conc =
	    transport_param(name, "initial_destination_concurrency", 0,
			    var_initial_destination_concurrency, 1);
	if (t->dest_conc_limit > 0 && t->init_conc > t->dest_conc_limit)
		t->init_conc = t->dest_conc_limit;
	if (msg_verbose)
		msg_info("transport %s: concurrency %d..%d, %d recipients, "
			 "rate delay %ds, cohort limit %d",
			 name, t->init_conc, t->dest_conc_limit,
			 t->dest_rcpt_limit, t->dest_rate_delay,
			 t->cohort_limit);
	t->next = qmgr_transports;
	qmgr_transports = t;
	return t;
}

struct qmgr_queue *qmgr_queue_find(struct qmgr_transport *transport,
				   const char *nexthop)
{
	struct qmgr_queue *q = transport->queues;

	if (q != NULL) {
		do {
			if (strcmp(q->nexthop, nexthop) == 0)
				return q;
			q = q->next;
		} while (q != transport->queues);
	}
	q = mycalloc(1, sizeof(*q));
	q->transport = transport;
	q->nexthop = mystrdup(nexthop);
	q->window = transport->init_conc;
	/* Join the ring just before the head: served last in this round. */
	if (transport->queues == NULL) {
		q->next = q->prev = q;
		transport->queues = q;
	} else {
		q->next = transport->queues;
		q->prev = transport->queues->prev;
		q->prev->next = q;
		q->next->prev = q;
	}
	return q;
}

static void queue_free(struct qmgr_queue *q)
{
	struct qmgr_transport *t = q->transport;

	if (q->next == q) {
		t->queues = NULL;
	} else {
		q->prev->next = q->next;
		q->next->prev = q->prev;
		if (t->queues == q)
			t->queues = q->next;
	}
	myfree(q->nexthop);
	myfree(q->dead_dsn);
	myfree(q->dead_reason);
	myfree(q);
}

static void queue_release_timer(void *ctx)
{
	qmgr_queue_release(ctx);
}

void qmgr_queue_release(struct qmgr_queue *queue)
{
	int64_t now;

	if (queue->todo != NULL || queue->busy != 0 || queue->dead)
		return;
	/* An idle queue still carries its rate delay: keep it until the
	 * delay is over, or the next message would skip it. */
	if (queue->next_start_ms > (now = qmgr_now_ms())) {
		events_timer_ms(queue_release_timer, queue,
				(long)(queue->next_start_ms - now));
		return;
	}
	events_timer_cancel(queue_release_timer, queue);
	queue_free(queue);
}

void qmgr_queue_add(struct qmgr_queue *queue, struct qmgr_entry *entry)
{
	entry->next = NULL;
	if (queue->todo_tail != NULL)
		queue->todo_tail->next = entry;
	else
		queue->todo = entry;
	queue->todo_tail = entry;
	queue->todo_count++;
}

struct qmgr_entry *qmgr_queue_take(struct qmgr_queue *queue)
{
	struct qmgr_entry *entry = queue->todo;

	if (entry == NULL)
		return NULL;
	queue->todo = entry->next;
	if (queue->todo == NULL)
		queue->todo_tail = NULL;
	queue->todo_count--;
	entry->next = NULL;
	return entry;
}

struct qmgr_entry *qmgr_entry_new(struct qmgr_job *job,
				  struct qmgr_queue *queue)
{
	struct qmgr_entry *entry = mycalloc(1, sizeof(*entry));

	entry->job = job;
	entry->queue = queue;
	job->entries++;
	job->message->refcount++;
	return entry;
}

void qmgr_entry_add_rcpt(struct qmgr_entry *entry, struct qmgr_rcpt *rcpt)
{
	if (entry->rcpt_count == entry->rcpt_cap) {
		entry->rcpt_cap = entry->rcpt_cap ? entry->rcpt_cap * 2 : 4;
		entry->rcpt = myreallocarray(entry->rcpt, entry->rcpt_cap,
					     sizeof(*entry->rcpt));
	}
	entry->rcpt[entry->rcpt_count++] = rcpt;
}

void qmgr_entry_done(struct qmgr_entry *entry)
{
	struct qmgr_message *msg = entry->job->message;
	struct qmgr_queue *queue = entry->queue;

	entry->job->entries--;
	myfree(entry->rcpt);
	myfree(entry);
	qmgr_queue_release(queue);
	qmgr_message_entry_done(msg);
}

/* Defer everything waiting in queue without trying. */
static void queue_defer_todo(struct qmgr_queue *queue, const char *dsn,
			     const char *reason)
{
	struct qmgr_entry *entry;

	/* Hold the queue: the last entry done would free it. */
	queue->busy++;
	while ((entry = qmgr_queue_take(queue)) != NULL) {
		qmgr_message_defer_entry(entry, dsn, reason);
		qmgr_entry_done(entry);
	}
	queue->busy--;
}

static void queue_unthrottle(void *ctx)
{
	struct qmgr_queue *queue = ctx;

	if (msg_verbose)
		msg_info("%s: destination %s alive again",
			 queue->transport->name, queue->nexthop);
	queue->dead = 0;
	queue->window = queue->transport->init_conc;
	queue->success = queue->failure = queue->fail_cohorts = 0;
	myfree(queue->dead_dsn);
	myfree(queue->dead_reason);
	qmgr_queue_release(queue);
	qmgr_sched_request();
}

static void queue_throttle(struct qmgr_queue *queue, const char *dsn,
			   const char *reason)
{
	struct strbuf *text = strbuf_new(STRBUF_NO_MAX);

	msg_info("%s: destination %s is dead for %ds: %s",
		 queue->transport->name, queue->nexthop,
		 var_transport_retry_time, reason);
	queue->dead = 1;
	queue->window = 0;
	myfree(queue->dead_dsn);
	myfree(queue->dead_reason);
	queue->dead_dsn = mystrdup(*dsn ? dsn : "4.4.1");
	queue->dead_reason = mystrdup(reason);
	events_timer(queue_unthrottle, queue,
		     var_transport_retry_time > 0 ? var_transport_retry_time
						  : 1);
	strbuf_printf(text, "delivery temporarily suspended: %s", reason);
	queue_defer_todo(queue, queue->dead_dsn, strbuf_str(text));
	strbuf_free(&text);
}

void qmgr_queue_success(struct qmgr_queue *queue)
{
	struct qmgr_transport *t = queue->transport;

	if (queue->dead)
		return;
	queue->fail_cohorts = 0;
	queue->success += 1;
	while (queue->success >= 1) {
		queue->success -= 1;
		queue->failure = 0;
		if ((t->dest_conc_limit == 0 ||
		     queue->window < t->dest_conc_limit) &&
		    queue->window < queue->busy + t->init_conc)
			queue->window++;
	}
}

void qmgr_queue_failure(struct qmgr_queue *queue, const char *dsn,
			const char *reason)
{
	struct qmgr_transport *t = queue->transport;

	if (queue->dead)
		return;
	queue->fail_cohorts += 1.0 / (queue->window > 0 ? queue->window : 1);
	if (t->cohort_limit > 0 && queue->fail_cohorts >= t->cohort_limit) {
		queue_throttle(queue, dsn, reason);
		return;
	}
	queue->failure -= 1;
	while (queue->failure < 0) {
		queue->failure += 1;
		queue->success = 0;
		if (queue->window > 1)
			queue->window--;
	}
}

static void transport_unthrottle(void *ctx)
{
	struct qmgr_transport *t = ctx;

	if (msg_verbose)
		msg_info("transport %s alive again", t->name);
	t->dead = 0;
	myfree(t->dead_reason);
	qmgr_sched_request();
}

void qmgr_transport_throttle(struct qmgr_transport *transport,
			     const char *reason)
{
	struct qmgr_queue *q, *next;

	if (transport->dead)
		return;
	msg_warn("transport %s is unavailable for %ds: %s", transport->name,
		 var_transport_retry_time, reason);
	transport->dead = 1;
	transport->dead_reason = mystrdup(reason);
	events_timer(transport_unthrottle, transport,
		     var_transport_retry_time > 0 ? var_transport_retry_time
						  : 1);
	/* Deferring ends entries, which may free queues: take the ring
	 * apart into an array first. */
	size_t count = 0;
	struct qmgr_queue **all;

	if ((q = transport->queues) == NULL)
		return;
	for (next = q; count == 0 || next != q; next = next->next)
		count++;
	all = mycalloc(count, sizeof(*all));
	for (size_t i = 0; i < count; i++, q = q->next)
		all[i] = q;
	for (size_t i = 0; i < count; i++) {
		queue_defer_todo(all[i], "4.3.0", reason);
		qmgr_queue_release(all[i]);
	}
	myfree(all);
}

void qmgr_queue_revive_all(void)
{
	for (struct qmgr_transport *t = qmgr_transports; t; t = t->next) {
		struct qmgr_queue *q = t->queues;
		size_t count = 0;

		if (t->dead) {
			events_timer_cancel(transport_unthrottle, t);
			transport_unthrottle(t);
		}
		if (q == NULL)
			continue;
		count = 1;
		for (struct qmgr_queue *p = q->next; p != q; p = p->next)
			count++;
		for (size_t i = 0; i < count; i++) {
			struct qmgr_queue *next = q->next;

			if (q->dead) {
				events_timer_cancel(queue_unthrottle, q);
				queue_unthrottle(q); /* may free q */
			}
			q = next;
		}
	}
}
