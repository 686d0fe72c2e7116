/*
 * test_mymalloc - size arithmetic panics instead of wrapping. A panic
 * aborts, so it runs in a child process.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "msg.h"
#include "mymalloc.h"

/* Run fn in a child with logging silenced; return its wait status. */
static int in_child(void (*fn)(void))
{
	pid_t pid = fork();
	int status;

	assert_true(pid >= 0);
	if (pid == 0) {
		msg_set_output("/dev/null");
		fn();
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return status;
}

static void add_overflow(void)
{
	(void)mymalloc_add(SIZE_MAX, 1);
}

static void mul_overflow(void)
{
	(void)mymalloc_mul(SIZE_MAX / 2 + 1, 2);
}

static void calloc_overflow(void)
{
	(void)mycalloc(SIZE_MAX / 8, 16);
}

static void test_overflow_panics(void **state)
{
	int status;

	(void)state;
	assert_int_equal(mymalloc_add(SIZE_MAX - 1, 1), SIZE_MAX);
	assert_int_equal(mymalloc_mul(SIZE_MAX / 2, 2), SIZE_MAX - 1);
	assert_int_equal(mymalloc_mul(0, SIZE_MAX), 0);
	status = in_child(add_overflow);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
	status = in_child(mul_overflow);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
	status = in_child(calloc_overflow);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
}

static void test_alloc(void **state)
{
	char *p, *q;
	int *z;

	(void)state;
	p = mystrdup("abc");
	assert_string_equal(p, "abc");
	q = mystrndup("abcdef", 3);
	assert_string_equal(q, "abc");
	myfree(q);
	q = mystrndup("ab", 10);
	assert_string_equal(q, "ab");
	myfree(q);
	q = mymemdup("a\0b", 3);
	assert_memory_equal(q, "a\0b\0", 4);
	z = mycalloc(4, sizeof(int));
	for (int i = 0; i < 4; i++)
		assert_int_equal(z[i], 0);
	z = myreallocarray(z, 8, sizeof(int));
	myfree(z);
	assert_null(z);
	myfree(z); /* NULL: a no-op */
	myfree(p);
	myfree(q);
	assert_null(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_overflow_panics),
	    cmocka_unit_test(test_alloc),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
