/*
 * test_events - descriptor readiness, timer order, and callbacks that
 * change the loop while it dispatches.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "events.h"

static char order[64];
static int calls;

static void note(char ch)
{
	size_t len = strlen(order);

	if (len + 1 < sizeof(order)) {
		order[len] = ch;
		order[len + 1] = 0;
	}
}

static void on_read(int fd, int events, void *ctx)
{
	char buf[16];

	(void)ctx;
	assert_int_equal(events, EVENT_READ);
	assert_true(read(fd, buf, sizeof(buf)) > 0);
	calls++;
}

static void test_readiness(void **state)
{
	int p[2];

	(void)state;
	calls = 0;
	assert_int_equal(pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
	events_watch(p[0], EVENT_READ, on_read, NULL);
	/* Nothing to read: the loop times out without calling back. */
	events_loop_ms(20);
	assert_int_equal(calls, 0);
	assert_int_equal(write(p[1], "x", 1), 1);
	events_loop_ms(1000);
	assert_int_equal(calls, 1);
	events_unwatch(p[0]);
	assert_int_equal(write(p[1], "x", 1), 1);
	events_loop_ms(20);
	assert_int_equal(calls, 1);
	events_unwatch(p[0]); /* twice: a no-op */
	close(p[0]);
	close(p[1]);
}

static void on_write(int fd, int events, void *ctx)
{
	(void)fd;
	*(int *)ctx = events;
}

static void test_write_ready(void **state)
{
	int p[2], got = 0;

	(void)state;
	assert_int_equal(pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
	events_watch(p[1], EVENT_WRITE, on_write, &got);
	events_loop_ms(1000);
	assert_int_equal(got, EVENT_WRITE);
	/* Re-watching replaces the callback context. */
	{
		int other = 0;

		got = 0;
		events_watch(p[1], EVENT_WRITE, on_write, &other);
		events_loop_ms(1000);
		assert_int_equal(other, EVENT_WRITE);
		assert_int_equal(got, 0);
	}
	events_unwatch(p[1]);
	close(p[0]);
	close(p[1]);
}

static void on_timer(void *ctx)
{
	note(*(const char *)ctx);
}

static void run_until(long ms)
{
	struct timespec start, now;

	clock_gettime(CLOCK_MONOTONIC, &start);
	do {
		events_loop_ms(10);
		clock_gettime(CLOCK_MONOTONIC, &now);
	} while ((now.tv_sec - start.tv_sec) * 1000 +
		     (now.tv_nsec - start.tv_nsec) / 1000000 <
		 ms);
}

static void test_timer_order(void **state)
{
	static const char a = 'a', b = 'b', c = 'c', d = 'd', e = 'e';

	(void)state;
	order[0] = 0;
	events_timer_ms(on_timer, (void *)&c, 60);
	events_timer_ms(on_timer, (void *)&a, 0);
	events_timer_ms(on_timer, (void *)&b, 30);
	events_timer_ms(on_timer, (void *)&d, 90);
	events_timer_ms(on_timer, (void *)&e, 40);
	/* Replacing moves a timer; cancelling removes it. */
	events_timer_ms(on_timer, (void *)&e, 70);
	events_timer_cancel(on_timer, (void *)&d);
	events_timer_cancel(on_timer, (void *)&d); /* no-op */
	run_until(200);
	assert_string_equal(order, "abce");

	/* Same deadline: the order in which they were set. */
	order[0] = 0;
	events_timer(on_timer, (void *)&c, 0);
	events_timer(on_timer, (void *)&a, 0);
	events_timer(on_timer, (void *)&b, 0);
	events_loop(0);
	assert_string_equal(order, "cab");

	/* A one-second timer does not fire early, and then fires. */
	order[0] = 0;
	events_timer(on_timer, (void *)&a, 1);
	events_loop_ms(500);
	assert_string_equal(order, "");
	run_until(800);
	assert_string_equal(order, "a");
}

/* A callback that re-arms itself with delay 0 must not run twice per round. */
static void rearm(void *ctx)
{
	(*(int *)ctx)++;
	events_timer(rearm, ctx, 0);
}

static void test_timer_rearm(void **state)
{
	int count = 0;

	(void)state;
	events_timer(rearm, &count, 0);
	events_loop(0);
	assert_int_equal(count, 1);
	events_loop(0);
	assert_int_equal(count, 2);
	events_timer_cancel(rearm, &count);
	events_loop_ms(10);
	assert_int_equal(count, 2);
}

/* Two readable pipes in one batch; whichever runs first removes the other
 * watcher, closes it, and reuses its descriptor number for a new watch. The
 * stale event must reach neither the old nor the new callback. */
struct pair {
	int rfd[2];
	int wfd[2];
	int ran[2];
	int reused_fd;
	int stale_calls;
};

static struct pair *the_pair;

static void on_stale(int fd, int events, void *ctx)
{
	(void)fd;
	(void)events;
	(void)ctx;
	the_pair->stale_calls++;
}

static void on_pair(int fd, int events, void *ctx)
{
	struct pair *pr = the_pair;
	int me = (int)(intptr_t)ctx, other = 1 - me;
	int p[2];

	(void)events;
	(void)fd;
	pr->ran[me]++;
	events_unwatch(pr->rfd[me]);
	if (pr->ran[other])
		return;
	events_unwatch(pr->rfd[other]);
	close(pr->rfd[other]);
	/* The lowest free number is the one just closed. */
	assert_int_equal(pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
	assert_int_equal(p[0], pr->rfd[other]);
	pr->reused_fd = p[0];
	pr->rfd[other] = -1;
	close(pr->wfd[other]);
	pr->wfd[other] = p[1];
	assert_int_equal(write(p[1], "z", 1), 1); /* readable at once */
	events_watch(p[0], EVENT_READ, on_stale, NULL);
}

static void test_remove_in_callback(void **state)
{
	struct pair pr;
	int p[2];

	(void)state;
	memset(&pr, 0, sizeof(pr));
	the_pair = &pr;
	for (int i = 0; i < 2; i++) {
		assert_int_equal(pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
		pr.rfd[i] = p[0];
		pr.wfd[i] = p[1];
		assert_int_equal(write(p[1], "y", 1), 1);
		events_watch(p[0], EVENT_READ, on_pair, (void *)(intptr_t)i);
	}
	events_loop_ms(1000);
	assert_int_equal(pr.ran[0] + pr.ran[1], 1);
	assert_int_equal(pr.stale_calls, 0);
	/* The new watcher works from the next round on. */
	events_loop_ms(1000);
	assert_int_equal(pr.stale_calls, 1);
	events_unwatch(pr.reused_fd);
	for (int i = 0; i < 2; i++) {
		if (pr.rfd[i] >= 0)
			close(pr.rfd[i]);
		close(pr.wfd[i]);
	}
	close(pr.reused_fd);
}

/* A callback that removes itself and sets a timer for itself. */

static void self_timer(void *ctx)
{
	note(*(const char *)ctx);
}

static void on_self(int fd, int events, void *ctx)
{
	(void)events;
	note('r');
	events_unwatch(fd);
	events_timer(self_timer, ctx, 0);
}

static void test_self_remove(void **state)
{
	static const char t = 't';
	int p[2];

	(void)state;
	order[0] = 0;
	assert_int_equal(pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
	assert_int_equal(write(p[1], "x", 1), 1);
	events_watch(p[0], EVENT_READ, on_self, (void *)&t);
	events_loop_ms(1000);
	assert_string_equal(order, "r");
	events_loop_ms(1000);
	assert_string_equal(order, "rt");
	events_loop_ms(10);
	assert_string_equal(order, "rt");
	close(p[0]);
	close(p[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_readiness),
	    cmocka_unit_test(test_write_ready),
	    cmocka_unit_test(test_timer_order),
	    cmocka_unit_test(test_timer_rearm),
	    cmocka_unit_test(test_remove_in_callback),
	    cmocka_unit_test(test_self_remove),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
