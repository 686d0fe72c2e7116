/*
 * test_msg - the maillog_file line format that log tools parse, and that
 * data cannot forge extra log lines.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "msg.h"

static char test_dir[256];
static char log_path[512];

static int setup_dir(void **state)
{
	const char *tmp = getenv("TMPDIR");

	(void)state;
	snprintf(test_dir, sizeof(test_dir), "%s/test_msg.XXXXXX",
		 tmp && *tmp ? tmp : "/tmp");
	if (mkdtemp(test_dir) == NULL)
		return -1;
	snprintf(log_path, sizeof(log_path), "%s/maillog", test_dir);
	return 0;
}

static int teardown_dir(void **state)
{
	(void)state;
	msg_set_output("/dev/stderr");
	unlink(log_path);
	return rmdir(test_dir);
}

static char *read_log(void)
{
	static char buf[8192];
	int fd = open(log_path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	assert_true(fd >= 0);
	n = read(fd, buf, sizeof(buf) - 1);
	assert_true(n >= 0);
	buf[n] = 0;
	close(fd);
	return buf;
}

static void assert_matches(const char *text, const char *pattern)
{
	regex_t re;

	assert_int_equal(regcomp(&re, pattern, REG_EXTENDED | REG_NEWLINE), 0);
	if (regexec(&re, text, 0, NULL, 0) != 0)
		fail_msg("\"%s\" does not match /%s/", text, pattern);
	regfree(&re);
}

static void test_file_format(void **state)
{
	char host[256] = "localhost", pattern[1024];
	const char *log;

	(void)state;
	gethostname(host, sizeof(host) - 1);
	host[strcspn(host, ".")] = 0;
	unlink(log_path);
	msg_open("postern/test");
	assert_int_equal(msg_set_output(log_path), 0);
	msg_warn("bad client %s\r\nforged line", "x");
	msg_info("plain %d", 7);
	msg_error("broken");
	log = read_log();
	snprintf(
	    pattern, sizeof(pattern),
	    "^[A-Z][a-z]{2} [ 123][0-9] "
	    "[0-2][0-9]:[0-5][0-9]:[0-6][0-9]\\.[0-9]{6} "
	    "%s postern/test\\[%ld\\]: warning: bad client x  forged line\n"
	    "[A-Z][a-z]{2} [ 123][0-9] [0-9:]{8}\\.[0-9]{6} %s "
	    "postern/test\\[%ld\\]: plain 7\n"
	    "[^\n]* postern/test\\[%ld\\]: error: broken\n$",
	    host, (long)getpid(), host, (long)getpid(), (long)getpid());
	assert_matches(log, pattern);
	/* Exactly three lines: the CR/LF did not start a fourth. */
	{
		int lines = 0;

		for (const char *cp = log; *cp; cp++)
			lines += *cp == '\n';
		assert_int_equal(lines, 3);
	}
}

static int cleanup_ran;

static void cleanup_hook(void)
{
	const char *line = "cleanup ran\n";

	cleanup_ran = 1;
	if (write(STDOUT_FILENO, line, strlen(line)) < 0)
		_exit(99);
}

static void test_fatal(void **state)
{
	int p[2], status;
	char buf[64] = "";
	pid_t pid;

	(void)state;
	unlink(log_path);
	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(p[1], STDOUT_FILENO);
		msg_set_output(log_path);
		msg_set_cleanup(cleanup_hook);
		msg_fatal_status(75, "queue gone");
	}
	close(p[1]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 75);
	assert_true(read(p[0], buf, sizeof(buf) - 1) > 0);
	assert_string_equal(buf, "cleanup ran\n");
	close(p[0]);
	assert_matches(read_log(),
		       "postern/test\\[[0-9]+\\]: fatal: queue gone\n$");
	assert_int_equal(cleanup_ran, 0); /* only in the child */
}

static void test_bad_output(void **state)
{
	char path[600];

	(void)state;
	snprintf(path, sizeof(path), "%s/no/such/dir", test_dir);
	assert_int_equal(msg_set_output(path), -1);
	assert_int_equal(msg_set_facility("local3"), 0);
	assert_int_equal(msg_set_facility("nonsense"), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_file_format),
	    cmocka_unit_test(test_fatal),
	    cmocka_unit_test(test_bad_output),
	};

	return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
