/*
 * test_sigs - a caught signal sets its flag once and wakes the self-pipe.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include "sigs.h"

static int readable(int fd)
{
	struct pollfd pfd = {.fd = fd, .events = POLLIN};

	return poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLIN);
}

static void test_catch(void **state)
{
	int fd;

	(void)state;
	sigs_catch(SIGUSR1);
	fd = sigs_wakeup_fd();
	assert_true(fd >= 0);
	assert_int_equal(fcntl(fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	assert_true(fcntl(fd, F_GETFL) & O_NONBLOCK);
	assert_false(sigs_pending(SIGUSR1));
	assert_false(readable(fd));

	errno = 1234;
	assert_int_equal(raise(SIGUSR1), 0);
	assert_int_equal(errno, 1234); /* the handler kept errno */
	assert_true(readable(fd));
	assert_true(sigs_pending(SIGUSR1));
	assert_false(sigs_pending(SIGUSR1)); /* cleared by reading it */
	assert_false(sigs_pending(SIGUSR2));
	sigs_drain();
	assert_false(readable(fd));
	sigs_drain(); /* empty: must not block */
}

static void test_many(void **state)
{
	(void)state;
	sigs_catch(SIGUSR2);
	/* More signals than the pipe holds bytes: nothing blocks or dies. */
	for (int i = 0; i < 100000; i++)
		raise(SIGUSR2);
	assert_true(sigs_pending(SIGUSR2));
	sigs_drain();
	assert_false(sigs_pending(SIGUSR2));
}

static void test_ignore_default(void **state)
{
	struct sigaction sa;

	(void)state;
	sigs_ignore(SIGUSR1);
	assert_int_equal(raise(SIGUSR1), 0);
	assert_false(sigs_pending(SIGUSR1));
	assert_int_equal(sigaction(SIGUSR1, NULL, &sa), 0);
	assert_true(sa.sa_handler == SIG_IGN);
	sigs_default(SIGUSR1);
	assert_int_equal(sigaction(SIGUSR1, NULL, &sa), 0);
	assert_true(sa.sa_handler == SIG_DFL);
	/* SA_RESTART stays off, so blocking calls see EINTR. */
	sigs_catch(SIGHUP);
	assert_int_equal(sigaction(SIGHUP, NULL, &sa), 0);
	assert_int_equal(sa.sa_flags & SA_RESTART, 0);
	sigs_default(SIGHUP);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_catch),
	    cmocka_unit_test(test_many),
	    cmocka_unit_test(test_ignore_default),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
