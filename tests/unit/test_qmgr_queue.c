/*
 * test_qmgr_queue - qmgr's destination queues and the Postfix 2.5
 * concurrency feedback (qmgr/qmgr_queue.c), compiled into the test with
 * the few functions it calls from the rest of qmgr replaced by stubs that
 * count. What is checked: the window grows on success only up to the
 * limit and only while it is being used; it shrinks on site failures; one
 * failed cohort kills the destination and defers what waits for it; F
 * revives it; limits are read by transport name; idle queues go away,
 * except while a rate delay runs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../qmgr/qmgr_queue.c"

#include "mail_conf.h"

/* --- stubs for the rest of qmgr --- */

static int deferred_rcpts;
static int entries_done;
static char last_reason[256];
static int64_t fake_now_ms = 1000000;

void qmgr_message_defer_entry(struct qmgr_entry *entry, const char *dsn,
			      const char *reason)
{
	(void)dsn;
	deferred_rcpts += (int)entry->rcpt_count;
	snprintf(last_reason, sizeof(last_reason), "%s", reason);
}

void qmgr_message_entry_done(struct qmgr_message *msg)
{
	msg->refcount--;
	entries_done++;
}

void qmgr_sched_request(void)
{
}

int64_t qmgr_now_ms(void)
{
	return fake_now_ms;
}

/* --- helpers --- */

static struct qmgr_message test_msg;
static struct qmgr_rcpt test_rcpt;
/* Jobs belong to messages in qmgr; here to the test. */
static struct qmgr_job *test_jobs[64];
static size_t test_njobs;

static int setup(void **state)
{
	(void)state;
	var_initial_destination_concurrency = 2;
	var_default_destination_concurrency_limit = 4;
	var_default_destination_recipient_limit = 50;
	var_default_destination_rate_delay = 0;
	var_default_destination_concurrency_failed_cohort_limit = 1;
	var_transport_retry_time = 60;
	deferred_rcpts = entries_done = 0;
	memset(&test_msg, 0, sizeof(test_msg));
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	while (test_njobs > 0)
		myfree(test_jobs[--test_njobs]);
	return 0;
}

/* A transport name no other test has used (transports live forever). */
static struct qmgr_transport *new_transport(void)
{
	static int n;
	char name[32];

	snprintf(name, sizeof(name), "t%d", ++n);
	return qmgr_transport_find(name);
}

static struct qmgr_entry *add_entry(struct qmgr_queue *q)
{
	struct qmgr_job *job = mycalloc(1, sizeof(*job));
	struct qmgr_entry *entry;

	if (test_njobs == sizeof(test_jobs) / sizeof(test_jobs[0]))
		fail_msg("too many jobs");
	test_jobs[test_njobs++] = job;
	job->message = &test_msg;
	job->transport = q->transport;
	entry = qmgr_entry_new(job, q);
	qmgr_entry_add_rcpt(entry, &test_rcpt);
	qmgr_queue_add(q, entry);
	return entry;
}

/* --- tests --- */

static void test_window_grows_only_while_used(void **state)
{
	struct qmgr_transport *t = new_transport();
	struct qmgr_queue *q = qmgr_queue_find(t, "example.org");

	(void)state;
	assert_ptr_equal(qmgr_queue_find(t, "example.org"), q);
	assert_int_equal(q->window, 2);
	/* Idle: a success does not inflate a window nobody uses. */
	qmgr_queue_success(q);
	assert_int_equal(q->window, 2);
	/* Busy: one more per success, up to the limit of 4. */
	q->busy = 2;
	qmgr_queue_success(q);
	assert_int_equal(q->window, 3);
	q->busy = 3;
	qmgr_queue_success(q);
	assert_int_equal(q->window, 4);
	q->busy = 4;
	qmgr_queue_success(q);
	assert_int_equal(q->window, 4);
	q->busy = 0;
	qmgr_queue_release(q);
}

static void test_failures_shrink_then_kill(void **state)
{
	struct qmgr_transport *t = new_transport();
	struct qmgr_queue *q = qmgr_queue_find(t, "dead.example");

	(void)state;
	q->window = 4;
	q->busy = 1; /* a delivery in flight keeps the queue */
	add_entry(q);
	add_entry(q);
	/* 1/4 + 1/3 of a cohort: smaller windows, still alive. */
	qmgr_queue_failure(q, "4.4.1", "connection refused");
	assert_int_equal(q->window, 3);
	assert_false(q->dead);
	qmgr_queue_failure(q, "4.4.1", "connection refused");
	assert_int_equal(q->window, 2);
	assert_false(q->dead);
	/* + 1/2: a whole failed cohort. Dead; what waits is deferred. */
	qmgr_queue_failure(q, "4.4.1", "connection refused");
	assert_true(q->dead);
	assert_int_equal(q->window, 0);
	assert_string_equal(q->dead_dsn, "4.4.1");
	assert_string_equal(q->dead_reason, "connection refused");
	assert_int_equal(deferred_rcpts, 2);
	assert_int_equal(entries_done, 2);
	assert_null(q->todo);
	assert_string_equal(last_reason,
			    "delivery temporarily suspended: connection "
			    "refused");
	/* A dead queue stays, so new mail for it is deferred at once. */
	q->busy = 0;
	qmgr_queue_release(q);
	assert_ptr_equal(qmgr_queue_find(t, "dead.example"), q);
	/* F: alive again, with a fresh window. */
	qmgr_queue_revive_all();
	q = qmgr_queue_find(t, "dead.example");
	assert_false(q->dead);
	assert_int_equal(q->window, 2);
	assert_true(q->fail_cohorts == 0);
	qmgr_queue_release(q);
}

static void test_success_forgives_failures(void **state)
{
	struct qmgr_transport *t = new_transport();
	struct qmgr_queue *q = qmgr_queue_find(t, "flaky.example");

	(void)state;
	q->window = 4;
	q->busy = 1;
	qmgr_queue_failure(q, "4.4.1", "timeout");
	qmgr_queue_failure(q, "4.4.1", "timeout");
	qmgr_queue_success(q);
	assert_true(q->fail_cohorts == 0);
	qmgr_queue_failure(q, "4.4.1", "timeout");
	qmgr_queue_failure(q, "4.4.1", "timeout");
	assert_false(q->dead);
	q->busy = 0;
	qmgr_queue_release(q);
}

static void test_cohort_limit_zero_never_kills(void **state)
{
	struct qmgr_transport *t;
	struct qmgr_queue *q;

	(void)state;
	var_default_destination_concurrency_failed_cohort_limit = 0;
	t = new_transport();
	q = qmgr_queue_find(t, "x.example");
	q->busy = 1;
	for (int i = 0; i < 20; i++)
		qmgr_queue_failure(q, "4.4.1", "refused");
	assert_false(q->dead);
	assert_int_equal(q->window, 1);
	q->busy = 0;
	qmgr_queue_release(q);
}

static void test_limits_by_transport_name(void **state)
{
	char *err = NULL;
	struct qmgr_transport *t;

	(void)state;
	/* Setting a parameter re-evaluates every variable: set ours after. */
	assert_int_equal(
	    mail_conf_set("relayx_destination_concurrency_limit=7", &err), 0);
	assert_int_equal(
	    mail_conf_set("relayx_destination_recipient_limit=3", &err), 0);
	assert_int_equal(
	    mail_conf_set("relayx_destination_rate_delay=2s", &err), 0);
	assert_int_equal(
	    mail_conf_set("relayx_initial_destination_concurrency=bad", &err),
	    0);
	setup(NULL);
	t = qmgr_transport_find("relayx");
	assert_int_equal(t->dest_conc_limit, 7);
	assert_int_equal(t->dest_rcpt_limit, 3);
	assert_int_equal(t->dest_rate_delay, 2);
	assert_int_equal(t->init_conc, 2); /* bad value: the default */
	/* The local transport has Postfix's own defaults. */
	t = qmgr_transport_find("local");
	assert_int_equal(t->dest_conc_limit, 2);
	assert_int_equal(t->dest_rcpt_limit, 1);
	/* Others fall back to the default_ parameters. */
	t = new_transport();
	assert_int_equal(t->dest_conc_limit, 4);
	assert_int_equal(t->dest_rcpt_limit, 50);
}

static void test_transport_throttle_defers_everything(void **state)
{
	struct qmgr_transport *t = new_transport();
	struct qmgr_queue *a = qmgr_queue_find(t, "a.example");
	struct qmgr_queue *b = qmgr_queue_find(t, "b.example");

	(void)state;
	add_entry(a);
	add_entry(b);
	add_entry(b);
	qmgr_transport_throttle(t, "mail transport unavailable");
	assert_true(t->dead);
	assert_int_equal(deferred_rcpts, 3);
	assert_int_equal(entries_done, 3);
	/* Both queues were idle afterwards and are gone. */
	assert_null(t->queues);
	qmgr_queue_revive_all();
	assert_false(t->dead);
}

static void test_idle_queue_keeps_rate_delay(void **state)
{
	struct qmgr_transport *t = new_transport();
	struct qmgr_queue *q = qmgr_queue_find(t, "slow.example");

	(void)state;
	q->next_start_ms = fake_now_ms + 1000;
	qmgr_queue_release(q);
	assert_ptr_equal(t->queues, q); /* kept: the delay still runs */
	fake_now_ms += 1000;
	qmgr_queue_release(q);
	assert_null(t->queues);
	events_timer_cancel(queue_release_timer, q);
}

static void test_fifo_order(void **state)
{
	struct qmgr_transport *t = new_transport();
	struct qmgr_queue *q = qmgr_queue_find(t, "fifo.example");
	struct qmgr_entry *e1 = add_entry(q), *e2 = add_entry(q);

	(void)state;
	assert_int_equal(q->todo_count, 2);
	assert_ptr_equal(qmgr_queue_take(q), e1);
	assert_ptr_equal(qmgr_queue_take(q), e2);
	assert_null(qmgr_queue_take(q));
	/* In delivery, as qmgr_deliver counts them; the queue goes with
	 * the last one. */
	q->busy = 2;
	q->busy--;
	qmgr_entry_done(e1);
	assert_ptr_equal(t->queues, q);
	q->busy--;
	qmgr_entry_done(e2);
	assert_int_equal(entries_done, 2);
	assert_null(t->queues);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
	    T(test_window_grows_only_while_used),
	    T(test_failures_shrink_then_kill),
	    T(test_success_forgives_failures),
	    T(test_cohort_limit_zero_never_kills),
	    T(test_limits_by_transport_name),
	    T(test_transport_throttle_defers_everything),
	    T(test_idle_queue_keeps_rate_delay),
	    T(test_fifo_order),
	};

	msg_set_output("/dev/null");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
