/*
 * test_sock - listeners, connects, descriptor passing and address parsing,
 * on loopback and in a private temp directory only.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "sock.h"
#include "strbuf.h"

static char test_dir[256];

static int setup_dir(void **state)
{
	const char *tmp = getenv("TMPDIR");

	(void)state;
	snprintf(test_dir, sizeof(test_dir), "%s/test_sock.XXXXXX",
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

static int split(const char *addr, char *host, size_t hl, char *port, size_t pl)
{
	return sock_split_hostport(addr, host, hl, port, pl);
}

static void test_split_hostport(void **state)
{
	char host[16], port[8];

	(void)state;
	assert_int_equal(
	    split("127.0.0.1:25", host, sizeof(host), port, sizeof(port)), 0);
	assert_string_equal(host, "127.0.0.1");
	assert_string_equal(port, "25");
	assert_int_equal(
	    split("[::1]:587", host, sizeof(host), port, sizeof(port)), 0);
	assert_string_equal(host, "::1");
	assert_string_equal(port, "587");
	assert_int_equal(split(":2525", host, sizeof(host), port, sizeof(port)),
			 0);
	assert_string_equal(host, "");
	assert_string_equal(port, "2525");
	assert_int_equal(split("smtp", host, sizeof(host), port, sizeof(port)),
			 0);
	assert_string_equal(host, "");
	assert_string_equal(port, "smtp");

	static const char *const bad[] = {
	    "",		":",	    "host:",	"[::1]",   "[::1]25",
	    "[::1]:",	"[]:25",    "::1:25",	"[::1:25", "a]:25",
	    "[a[b]:25", "host:25 ", "host:2 5", "h:p:25",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		errno = 0;
		if (split(bad[i], host, sizeof(host), port, sizeof(port)) != -1)
			fail_msg("\"%s\" accepted", bad[i]);
		assert_int_equal(errno, EINVAL);
	}

	/* Lengths: exactly fitting is fine, one more byte is refused. */
	assert_int_equal(split("123456789012345:1234567", host, sizeof(host),
			       port, sizeof(port)),
			 0);
	assert_string_equal(host, "123456789012345");
	assert_string_equal(port, "1234567");
	assert_int_equal(
	    split("1234567890123456:1", host, sizeof(host), port, sizeof(port)),
	    -1);
	assert_int_equal(
	    split("h:12345678", host, sizeof(host), port, sizeof(port)), -1);
	assert_int_equal(split("[1234567890123456]:1", host, sizeof(host), port,
			       sizeof(port)),
			 -1);
	assert_int_equal(
	    split("12345678", host, sizeof(host), port, sizeof(port)), -1);
	assert_int_equal(split("h:1", host, 1, port, sizeof(port)), -1);
}

static void test_inet(void **state)
{
	struct strbuf *why = strbuf_new(1024);
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	char addr[64], buf[8];
	int lfd, cfd, afd;

	(void)state;
	lfd = sock_inet_listen("127.0.0.1:0", 10, 1, why);
	assert_true(lfd >= 0);
	assert_int_equal(fcntl(lfd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	assert_true(fcntl(lfd, F_GETFL) & O_NONBLOCK);
	assert_int_equal(getsockname(lfd, (struct sockaddr *)&sin, &len), 0);
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", ntohs(sin.sin_port));

	cfd = sock_inet_connect(addr, 5, why);
	assert_true(cfd >= 0);
	assert_false(fcntl(cfd, F_GETFL) & O_NONBLOCK);
	assert_int_equal(fcntl(cfd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	assert_int_equal(sock_wait_read(lfd, 5), 0);
	afd = accept(lfd, NULL, NULL);
	assert_true(afd >= 0);
	assert_int_equal(write(cfd, "hi", 2), 2);
	assert_int_equal(sock_wait_read(afd, 5), 0);
	assert_int_equal(read(afd, buf, sizeof(buf)), 2);
	assert_int_equal(sock_wait_write(afd, 0), 0);
	/* Nothing to read: an immediate check and a short wait time out. */
	errno = 0;
	assert_int_equal(sock_wait_read(afd, 0), -1);
	assert_int_equal(errno, ETIMEDOUT);
	assert_int_equal(sock_wait_ms(afd, POLLIN, 50), -1);
	assert_int_equal(errno, ETIMEDOUT);
	close(afd);
	close(cfd);
	close(lfd);

	/* Names are never resolved. */
	assert_int_equal(sock_inet_listen("localhost:0", 10, 0, why), -1);
	assert_non_null(strstr(strbuf_str(why), "numeric"));
	assert_int_equal(sock_inet_connect("localhost:25", 5, why), -1);
	assert_non_null(strstr(strbuf_str(why), "numeric"));
	assert_int_equal(sock_inet_connect(":25", 5, why), -1);
	assert_int_equal(sock_inet_listen("[::1]", 10, 0, why), -1);
	assert_non_null(strstr(strbuf_str(why), "bad address"));
	strbuf_free(&why);
}

static void test_inet_refused(void **state)
{
	struct strbuf *why = strbuf_new(1024);
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	char addr[64];
	int lfd;

	(void)state;
	/* A port that was just free: nobody listens there. */
	lfd = sock_inet_listen("127.0.0.1:0", 1, 0, why);
	assert_true(lfd >= 0);
	assert_int_equal(getsockname(lfd, (struct sockaddr *)&sin, &len), 0);
	close(lfd);
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", ntohs(sin.sin_port));
	assert_int_equal(sock_inet_connect(addr, 5, why), -1);
	assert_int_equal(errno, ECONNREFUSED);
	assert_non_null(strstr(strbuf_str(why), "connect to 127.0.0.1:"));
	strbuf_free(&why);
}

static void test_unix(void **state)
{
	struct strbuf *why = strbuf_new(1024);
	char path[512], file[512];
	struct stat st;
	int lfd, lfd2, cfd, afd, fd;

	(void)state;
	snprintf(path, sizeof(path), "%s/sock", test_dir);
	lfd = sock_unix_listen(path, 10, 0622, 0, why);
	assert_true(lfd >= 0);
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0622);

	/* An old socket file is replaced (a master restart after a crash). */
	lfd2 = sock_unix_listen(path, 10, 0600, 0, why);
	assert_true(lfd2 >= 0);
	assert_int_equal(lstat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	cfd = sock_unix_connect(path, 5, why);
	assert_true(cfd >= 0);
	afd = accept(lfd2, NULL, NULL);
	assert_true(afd >= 0);
	close(afd);
	close(cfd);
	close(lfd);
	close(lfd2);

	/* Anything else is not replaced. */
	snprintf(file, sizeof(file), "%s/file", test_dir);
	fd = open(file, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(sock_unix_listen(file, 10, 0600, 0, why), -1);
	assert_int_equal(errno, EEXIST);
	assert_non_null(strstr(strbuf_str(why), "not a socket"));
	assert_int_equal(lstat(file, &st), 0);
	assert_true(S_ISREG(st.st_mode));

	assert_int_equal(sock_unix_connect(file, 5, why), -1);
	snprintf(file, sizeof(file), "%s/%0200d", test_dir, 0);
	assert_int_equal(sock_unix_listen(file, 10, 0600, 0, why), -1);
	assert_int_equal(errno, ENAMETOOLONG);
	strbuf_free(&why);
}

static void test_fifo(void **state)
{
	struct strbuf *why = strbuf_new(1024);
	char path[512], buf[8];
	struct stat st;
	int fd, wfd;

	(void)state;
	snprintf(path, sizeof(path), "%s/fifo", test_dir);
	fd = sock_fifo_listen(path, 0622, why);
	assert_true(fd >= 0);
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISFIFO(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0622);
	/* A writer comes and goes: the reader sees its byte, then no EOF. */
	wfd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	assert_true(wfd >= 0);
	assert_int_equal(write(wfd, "W", 1), 1);
	close(wfd);
	assert_int_equal(read(fd, buf, sizeof(buf)), 1);
	assert_int_equal(read(fd, buf, sizeof(buf)), -1);
	assert_int_equal(errno, EAGAIN);
	close(fd);
	/* Reopening an existing FIFO works; a regular file is refused. */
	fd = sock_fifo_listen(path, 0600, why);
	assert_true(fd >= 0);
	close(fd);
	snprintf(path, sizeof(path), "%s/plain", test_dir);
	close(open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600));
	assert_int_equal(sock_fifo_listen(path, 0600, why), -1);
	assert_int_equal(errno, EEXIST);
	strbuf_free(&why);
}

static void test_fd_passing(void **state)
{
	int sv[2], p[2], got;
	char buf[8];

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv),
			 0);
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	assert_int_equal(sock_send_fd(sv[0], p[1]), 0);
	got = sock_recv_fd(sv[1]);
	assert_true(got >= 0);
	assert_int_not_equal(got, p[1]);
	assert_int_equal(fcntl(got, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	/* The received descriptor is the pipe's write end. */
	close(p[1]);
	assert_int_equal(write(got, "x", 1), 1);
	assert_int_equal(read(p[0], buf, 1), 1);
	assert_int_equal(buf[0], 'x');
	close(got);
	close(p[0]);

	/* A plain byte without a descriptor is refused. */
	assert_int_equal(write(sv[0], "y", 1), 1);
	assert_int_equal(sock_recv_fd(sv[1]), -1);
	assert_int_equal(errno, EBADMSG);
	/* End of file. */
	close(sv[0]);
	assert_int_equal(sock_recv_fd(sv[1]), -1);
	assert_int_equal(errno, EPIPE);
	close(sv[1]);
}

static void test_flags(void **state)
{
	int p[2];

	(void)state;
	assert_int_equal(pipe(p), 0);
	assert_int_equal(sock_nonblock(p[0], 1), 0);
	assert_true(fcntl(p[0], F_GETFL) & O_NONBLOCK);
	assert_int_equal(sock_nonblock(p[0], 0), 1);
	assert_false(fcntl(p[0], F_GETFL) & O_NONBLOCK);
	assert_int_equal(sock_cloexec(p[0], 1), 0);
	assert_int_equal(fcntl(p[0], F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	assert_int_equal(sock_cloexec(p[0], 0), 1);
	assert_int_equal(fcntl(p[0], F_GETFD) & FD_CLOEXEC, 0);
	close(p[0]);
	close(p[1]);
	assert_int_equal(sock_nonblock(p[0], 1), -1);
	assert_int_equal(sock_wait_read(p[0], 1), -1);
	assert_int_equal(errno, EBADF);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_split_hostport),
	    cmocka_unit_test(test_inet),
	    cmocka_unit_test(test_inet_refused),
	    cmocka_unit_test(test_unix),
	    cmocka_unit_test(test_fifo),
	    cmocka_unit_test(test_fd_passing),
	    cmocka_unit_test(test_flags),
	};

	return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
