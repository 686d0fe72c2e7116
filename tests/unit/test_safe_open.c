/*
 * test_safe_open - planted links and wrong files are refused; atomic
 * replacement keeps the old content when it fails.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "safe_open.h"
#include "strbuf.h"

static char test_dir[256];
static char path_buf[512];

static int setup_dir(void **state)
{
	const char *tmp = getenv("TMPDIR");

	(void)state;
	snprintf(test_dir, sizeof(test_dir), "%s/test_safe_open.XXXXXX",
		 tmp && *tmp ? tmp : "/tmp");
	return mkdtemp(test_dir) == NULL ? -1 : 0;
}

static int teardown_dir(void **state)
{
	char cmd[512];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", test_dir);
	return system(cmd) == 0 ? 0 : -1;
}

static const char *in_dir(const char *name)
{
	snprintf(path_buf, sizeof(path_buf), "%s/%s", test_dir, name);
	return path_buf;
}

static void put_file(const char *name, const char *content)
{
	int fd =
	    open(in_dir(name), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, content, strlen(content)),
			 (ssize_t)strlen(content));
	close(fd);
}

static void get_file(const char *name, char *buf, size_t size)
{
	int fd = open(in_dir(name), O_RDONLY | O_CLOEXEC);
	ssize_t n;

	assert_true(fd >= 0);
	n = read(fd, buf, size - 1);
	assert_true(n >= 0);
	buf[n] = 0;
	close(fd);
}

static void test_plain(void **state)
{
	struct strbuf *why = strbuf_new(1024);
	char buf[64];
	int fd;

	(void)state;
	fd = safe_open(in_dir("new"), O_WRONLY | O_CREAT | O_EXCL, 0600,
		       (uid_t)-1, why);
	assert_true(fd >= 0);
	assert_int_equal(fcntl(fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	assert_false(fcntl(fd, F_GETFL) & O_NONBLOCK);
	assert_int_equal(write(fd, "data", 4), 4);
	close(fd);
	fd = safe_open(in_dir("new"), O_RDWR | O_TRUNC, 0, geteuid(), why);
	assert_true(fd >= 0);
	close(fd);
	get_file("new", buf, sizeof(buf));
	assert_string_equal(buf, "");
	strbuf_free(&why);
}

static void test_symlink(void **state)
{
	struct strbuf *why = strbuf_new(1024);
	char buf[64];

	(void)state;
	put_file("target", "secret");
	assert_int_equal(symlink("target", in_dir("link")), 0);
	assert_int_equal(
	    safe_open(in_dir("link"), O_WRONLY | O_TRUNC, 0, (uid_t)-1, why),
	    -1);
	assert_int_equal(errno, ELOOP);
	assert_non_null(strstr(strbuf_str(why), "symbolic link"));
	get_file("target", buf, sizeof(buf));
	assert_string_equal(buf, "secret");
	strbuf_free(&why);
}

static void test_hard_link(void **state)
{
	struct strbuf *why = strbuf_new(1024);
	char target[512], buf[64];

	(void)state;
	put_file("victim", "precious");
	snprintf(target, sizeof(target), "%s", in_dir("victim"));
	assert_int_equal(link(target, in_dir("hard")), 0);
	/* Refused, and O_TRUNC did not destroy the victim before the check. */
	assert_int_equal(
	    safe_open(in_dir("hard"), O_WRONLY | O_TRUNC, 0, (uid_t)-1, why),
	    -1);
	assert_int_equal(errno, EMLINK);
	assert_non_null(strstr(strbuf_str(why), "2 hard links"));
	get_file("victim", buf, sizeof(buf));
	assert_string_equal(buf, "precious");
	strbuf_free(&why);
}

static void test_not_regular(void **state)
{
	struct strbuf *why = strbuf_new(1024);

	(void)state;
	/* A planted FIFO neither blocks the open nor is accepted. */
	assert_int_equal(mkfifo(in_dir("fifo"), 0600), 0);
	assert_int_equal(safe_open(in_dir("fifo"), O_RDONLY, 0, (uid_t)-1, why),
			 -1);
	assert_int_equal(errno, EINVAL);
	assert_non_null(strstr(strbuf_str(why), "not a regular file"));
	assert_int_equal(safe_open(test_dir, O_RDONLY, 0, (uid_t)-1, why), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(
	    safe_open(in_dir("missing"), O_RDONLY, 0, (uid_t)-1, why), -1);
	assert_int_equal(errno, ENOENT);
	strbuf_free(&why);
}

static void test_owner(void **state)
{
	struct strbuf *why = strbuf_new(1024);
	int fd, dfd;

	(void)state;
	put_file("mine", "x");
	assert_int_equal(
	    safe_open(in_dir("mine"), O_RDONLY, 0, geteuid() + 1, why), -1);
	assert_int_equal(errno, EPERM);
	assert_non_null(strstr(strbuf_str(why), "owned by uid"));
	if (geteuid() == 0) {
		/* A file of another user, as a root daemon would meet it. */
		assert_int_equal(chown(in_dir("mine"), 65534, 65534), 0);
		assert_int_equal(safe_open(in_dir("mine"), O_RDONLY, 0, 0, why),
				 -1);
		assert_int_equal(errno, EPERM);
		fd = safe_open(in_dir("mine"), O_RDONLY, 0, 65534, why);
		assert_true(fd >= 0);
		close(fd);
	}
	/* safe_openat relative to a directory descriptor. */
	dfd = open(test_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(dfd >= 0);
	fd = safe_openat(dfd, "mine", O_RDONLY, 0, (uid_t)-1, why);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(symlink("mine", in_dir("link2")), 0);
	assert_int_equal(safe_openat(dfd, "link2", O_RDONLY, 0, (uid_t)-1, why),
			 -1);
	assert_int_equal(errno, ELOOP);
	close(dfd);
	strbuf_free(&why);
}

static int count_entries(const char *prefix)
{
	DIR *dir = opendir(test_dir);
	struct dirent *de;
	int n = 0;

	assert_non_null(dir);
	while ((de = readdir(dir)) != NULL)
		if (strncmp(de->d_name, prefix, strlen(prefix)) == 0)
			n++;
	closedir(dir);
	return n;
}

static void test_write_file(void **state)
{
	struct strbuf *why = strbuf_new(1024);
	struct rlimit old, small;
	struct stat st;
	char buf[64], big[4096];

	(void)state;
	assert_int_equal(safe_write_file(in_dir("conf"), "one\n", 4, 0640, why),
			 0);
	get_file("conf", buf, sizeof(buf));
	assert_string_equal(buf, "one\n");
	assert_int_equal(stat(in_dir("conf"), &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	assert_int_equal(safe_write_file(in_dir("conf"), "two\n", 4, 0600, why),
			 0);
	get_file("conf", buf, sizeof(buf));
	assert_string_equal(buf, "two\n");

	/* Make the write fail half-way (file size limit): the old content
	 * stays, and no temp file is left behind. */
	memset(big, 'x', sizeof(big));
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	small = old;
	small.rlim_cur = 1024;
	signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
	assert_int_equal(
	    safe_write_file(in_dir("conf"), big, sizeof(big), 0600, why), -1);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, SIG_DFL);
	assert_non_null(strstr(strbuf_str(why), "write "));
	get_file("conf", buf, sizeof(buf));
	assert_string_equal(buf, "two\n");
	assert_int_equal(count_entries(".conf."), 0);

	/* A directory that does not exist. */
	assert_int_equal(
	    safe_write_file(in_dir("nodir/conf"), "x", 1, 0600, why), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(safe_write_file("", "x", 1, 0600, why), -1);
	assert_int_equal(safe_write_file(in_dir("dir/"), "x", 1, 0600, why),
			 -1);
	strbuf_free(&why);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_plain),
	    cmocka_unit_test(test_symlink),
	    cmocka_unit_test(test_hard_link),
	    cmocka_unit_test(test_not_regular),
	    cmocka_unit_test(test_owner),
	    cmocka_unit_test(test_write_file),
	};

	return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
