/*
 * sock - inet and UNIX-domain socket helpers; see sock.h.
 *
 * Safety: getaddrinfo() is always called with AI_NUMERICHOST, so no code
 * path here can block on DNS or be steered by a resolver; a name where an
 * address belongs is an error that says so. Address text is split with
 * explicit length checks before anything is copied. Received descriptors
 * arrive close-on-exec (MSG_CMSG_CLOEXEC), so they cannot leak into a
 * program we exec even for an instant, and a message carrying more or
 * fewer descriptors than the one we expect is rejected with every
 * descriptor in it closed.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "sock.h"
#include "strbuf.h"

static int sock_port_char(int ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	       (ch >= '0' && ch <= '9') || ch == '-' || ch == '_';
}

/* Copy len bytes of src into a buffer of size bytes with a NUL; -1 if it
 * does not fit. */
static int sock_copy(char *dst, size_t size, const char *src, size_t len)
{
	if (len >= size)
		return -1;
	memcpy(dst, src, len);
	dst[len] = 0;
	return 0;
}

int sock_split_hostport(const char *addr, char *host, size_t hostlen,
			char *port, size_t portlen)
{
	const char *host_start, *port_start, *colon;
	size_t host_len;

	if (addr == NULL || *addr == 0)
		goto bad;
	if (addr[0] == '[') {
		const char *close = strchr(addr, ']');

		if (close == NULL || close[1] != ':')
			goto bad;
		host_start = addr + 1;
		/* UNSAFE: close points inside addr, after host_start. */
		host_len = (size_t)(close - host_start);
		if (host_len == 0 || memchr(host_start, '[', host_len) != NULL)
			goto bad;
		port_start = close + 2;
	} else if ((colon = strrchr(addr, ':')) != NULL) {
		host_start = addr;
		/* UNSAFE: colon points inside addr. */
		host_len = (size_t)(colon - addr);
		/* A second colon: an IPv6 address without brackets. */
		if (memchr(addr, ':', host_len) != NULL ||
		    memchr(addr, '[', host_len) != NULL ||
		    memchr(addr, ']', host_len) != NULL)
			goto bad;
		port_start = colon + 1;
	} else {
		host_start = addr;
		host_len = 0;
		port_start = addr;
	}
	if (*port_start == 0)
		goto bad;
	for (const char *cp = port_start; *cp; cp++)
		if (!sock_port_char((unsigned char)*cp))
			goto bad;
	if (sock_copy(host, hostlen, host_start, host_len) < 0 ||
	    sock_copy(port, portlen, port_start, strlen(port_start)) < 0)
		goto bad;
	return 0;
bad:
	errno = EINVAL;
	return -1;
}

/* Resolve numeric addr; *res to be freed with freeaddrinfo. */
static int sock_resolve(const char *addr, int passive, struct addrinfo **res,
			struct strbuf *why)
{
	char host[SOCK_HOST_MAX + 1], port[SOCK_PORT_MAX + 1];
	struct addrinfo hints;
	int err;

	if (sock_split_hostport(addr, host, sizeof(host), port, sizeof(port)) <
	    0) {
		strbuf_why(why,
			 "bad address \"%s\": expected host:port, "
			 "[ipv6]:port or port",
			 addr);
		return -1;
	}
	if (*host == 0 && !passive) {
		errno = EINVAL;
		strbuf_why(why, "bad address \"%s\": no host to connect to",
			 addr);
		return -1;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST | (passive ? AI_PASSIVE : 0);
	err = getaddrinfo(*host ? host : "0.0.0.0", port, &hints, res);
	if (err != 0) {
		if (err != EAI_SYSTEM)
			errno = EINVAL;
		strbuf_why(why, "bad address \"%s\": %s%s", addr,
			 gai_strerror(err),
			 err == EAI_NONAME ? " (host must be a numeric address)"
					   : "");
		return -1;
	}
	return 0;
}

int sock_inet_listen(const char *addr, int backlog, int nonblock,
		     struct strbuf *why)
{
	struct addrinfo *res;
	int fd, on = 1;

	if (sock_resolve(addr, 1, &res, why) < 0)
		return -1;
	fd = socket(res->ai_family,
		    res->ai_socktype | SOCK_CLOEXEC |
			(nonblock ? SOCK_NONBLOCK : 0),
		    res->ai_protocol);
	if (fd < 0) {
		strbuf_why(why, "socket for %s: %m", addr);
		goto fail;
	}
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) < 0 ||
	    (res->ai_family == AF_INET6 &&
	     setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on)) < 0)) {
		strbuf_why(why, "setsockopt for %s: %m", addr);
		goto fail;
	}
	if (bind(fd, res->ai_addr, res->ai_addrlen) < 0) {
		strbuf_why(why, "bind %s: %m", addr);
		goto fail;
	}
	if (listen(fd, backlog) < 0) {
		strbuf_why(why, "listen %s: %m", addr);
		goto fail;
	}
	freeaddrinfo(res);
	return fd;
fail:
	if (fd >= 0) {
		int saved_errno = errno;

		close(fd);
		errno = saved_errno;
	}
	freeaddrinfo(res);
	return -1;
}

static int64_t sock_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Connect fd (blocking mode on entry and on return) with a timeout. */
static int sock_connect_timeout(int fd, const struct sockaddr *sa,
				socklen_t salen, int timeout)
{
	int64_t deadline =
	    sock_now_ms() + (timeout > 0 ? (int64_t)timeout * 1000 : 0);
	int64_t left;
	int err = 0;
	socklen_t errlen = sizeof(err);

	/* Non-blocking, so a timeout applies and EINTR cannot leave the
	 * connection half-established behind our back. */
	if (sock_nonblock(fd, 1) < 0)
		return -1;
	while (connect(fd, sa, salen) < 0) {
		/* A UNIX listener with a full backlog says EAGAIN instead of
		 * queueing us; try again until the deadline. */
		if (errno == EAGAIN && sa->sa_family == AF_UNIX) {
			struct timespec pause = {0, 10 * 1000 * 1000};

			if (timeout > 0 && sock_now_ms() >= deadline) {
				errno = ETIMEDOUT;
				return -1;
			}
			nanosleep(&pause, NULL);
			continue;
		}
		if (errno != EINPROGRESS && errno != EINTR)
			return -1;
		left = deadline - sock_now_ms();
		if (sock_wait_ms(fd, POLLOUT,
				 timeout <= 0 ? -1
				 : left > 0   ? (long)left
					      : 0) < 0)
			return -1;
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &errlen) < 0)
			return -1;
		if (err != 0) {
			errno = err;
			return -1;
		}
		break;
	}
	return sock_nonblock(fd, 0) < 0 ? -1 : 0;
}

int sock_inet_connect(const char *addr, int timeout, struct strbuf *why)
{
	struct addrinfo *res;
	int fd;

	if (sock_resolve(addr, 0, &res, why) < 0)
		return -1;
	fd = socket(res->ai_family, res->ai_socktype | SOCK_CLOEXEC,
		    res->ai_protocol);
	if (fd < 0) {
		strbuf_why(why, "socket for %s: %m", addr);
	} else if (sock_connect_timeout(fd, res->ai_addr, res->ai_addrlen,
					timeout) < 0) {
		int saved_errno = errno;

		close(fd);
		errno = saved_errno;
		fd = -1;
		strbuf_why(why, "connect to %s: %m", addr);
	}
	freeaddrinfo(res);
	return fd;
}

static int sock_unix_addr(const char *path, struct sockaddr_un *sun,
			  struct strbuf *why)
{
	size_t len = strlen(path);

	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if (len == 0 || len >= sizeof(sun->sun_path)) {
		errno = ENAMETOOLONG;
		strbuf_why(
		    why,
		    "UNIX socket path \"%s\": empty or longer than %zu bytes",
		    path, sizeof(sun->sun_path) - 1);
		return -1;
	}
	memcpy(sun->sun_path, path, len + 1);
	return 0;
}

int sock_unix_listen(const char *path, int backlog, int mode, int nonblock,
		     struct strbuf *why)
{
	struct sockaddr_un sun;
	struct stat st;
	mode_t old_mask;
	int fd, ret;

	if (sock_unix_addr(path, &sun, why) < 0)
		return -1;
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			errno = EEXIST;
			strbuf_why(
			    why,
			    "%s exists and is not a socket; not replacing it",
			    path);
			return -1;
		}
		if (unlink(path) < 0 && errno != ENOENT) {
			strbuf_why(why, "remove old socket %s: %m", path);
			return -1;
		}
	} else if (errno != ENOENT) {
		strbuf_why(why, "lstat %s: %m", path);
		return -1;
	}
	fd = socket(AF_UNIX,
		    SOCK_STREAM | SOCK_CLOEXEC | (nonblock ? SOCK_NONBLOCK : 0),
		    0);
	if (fd < 0) {
		strbuf_why(why, "socket for %s: %m", path);
		return -1;
	}
	/* bind() creates the file with the umask; start closed, then open up
	 * to mode, so there is no moment when it is more open than asked. */
	old_mask = umask(077);
	ret = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	umask(old_mask);
	if (ret < 0) {
		strbuf_why(why, "bind %s: %m", path);
		goto fail;
	}
	if (chmod(path, (mode_t)mode) < 0) {
		strbuf_why(why, "chmod %s: %m", path);
		goto fail;
	}
	if (listen(fd, backlog) < 0) {
		strbuf_why(why, "listen %s: %m", path);
		goto fail;
	}
	return fd;
fail:
	ret = errno;
	close(fd);
	errno = ret;
	return -1;
}

int sock_unix_connect(const char *path, int timeout, struct strbuf *why)
{
	struct sockaddr_un sun;
	int fd;

	if (sock_unix_addr(path, &sun, why) < 0)
		return -1;
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
		strbuf_why(why, "socket for %s: %m", path);
		return -1;
	}
	if (sock_connect_timeout(fd, (struct sockaddr *)&sun, sizeof(sun),
				 timeout) < 0) {
		int saved_errno = errno;

		close(fd);
		errno = saved_errno;
		strbuf_why(why, "connect to %s: %m", path);
		return -1;
	}
	return fd;
}

int sock_fifo_listen(const char *path, int mode, struct strbuf *why)
{
	struct stat st;
	int fd, saved_errno;

	if (lstat(path, &st) == 0) {
		if (!S_ISFIFO(st.st_mode)) {
			errno = EEXIST;
			strbuf_why(why, "%s exists and is not a FIFO", path);
			return -1;
		}
	} else if (errno != ENOENT || mkfifo(path, (mode_t)mode) < 0) {
		strbuf_why(why, "create FIFO %s: %m", path);
		return -1;
	}
	/* O_RDWR on a FIFO is Linux-defined: we are our own writer, so the
	 * read side never reports EOF between clients. */
	fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		strbuf_why(why, "open FIFO %s: %m", path);
		return -1;
	}
	/* Check the object we opened, not the name we looked at. */
	if (fstat(fd, &st) < 0) {
		strbuf_why(why, "fstat FIFO %s: %m", path);
		goto fail;
	}
	if (!S_ISFIFO(st.st_mode)) {
		errno = EEXIST;
		strbuf_why(why, "%s is not a FIFO", path);
		goto fail;
	}
	if (fchmod(fd, (mode_t)mode) < 0) {
		strbuf_why(why, "chmod FIFO %s: %m", path);
		goto fail;
	}
	return fd;
fail:
	saved_errno = errno;
	close(fd);
	errno = saved_errno;
	return -1;
}

int sock_send_fd(int sock, int fd)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int))];
	} control;
	struct msghdr msg;
	struct cmsghdr *cmsg;
	struct iovec iov;
	char byte = 'F';
	ssize_t n;

	memset(&msg, 0, sizeof(msg));
	memset(&control, 0, sizeof(control));
	iov.iov_base = &byte;
	iov.iov_len = 1;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = control.buf;
	msg.msg_controllen = sizeof(control.buf);
	cmsg = CMSG_FIRSTHDR(&msg);
	cmsg->cmsg_level = SOL_SOCKET;
	cmsg->cmsg_type = SCM_RIGHTS;
	cmsg->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
	do {
		n = sendmsg(sock, &msg, MSG_NOSIGNAL);
	} while (n < 0 && errno == EINTR);
	return n == 1 ? 0 : -1;
}

#define SOCK_RECV_FDS_MAX 8

int sock_recv_fd(int sock)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int) * SOCK_RECV_FDS_MAX)];
	} control;
	struct msghdr msg;
	struct cmsghdr *cmsg;
	struct iovec iov;
	char byte;
	ssize_t n;
	int result = -1, count = 0;

	memset(&msg, 0, sizeof(msg));
	iov.iov_base = &byte;
	iov.iov_len = 1;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = control.buf;
	msg.msg_controllen = sizeof(control.buf);
	do {
		n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -1;
	for (cmsg = CMSG_FIRSTHDR(&msg); cmsg != NULL;
	     cmsg = CMSG_NXTHDR(&msg, cmsg)) {
		size_t nfds;

		if (cmsg->cmsg_level != SOL_SOCKET ||
		    cmsg->cmsg_type != SCM_RIGHTS ||
		    cmsg->cmsg_len < CMSG_LEN(0))
			continue;
		nfds = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < nfds; i++) {
			int fd;

			/* UNSAFE: the kernel wrote nfds ints into this cmsg,
			 * which lies inside control.buf. */
			memcpy(&fd, CMSG_DATA(cmsg) + i * sizeof(int),
			       sizeof(int));
			if (count++ == 0)
				result = fd;
			else
				close(fd);
		}
	}
	if (count == 1 && n == 1 && (msg.msg_flags & MSG_CTRUNC) == 0)
		return result;
	if (result >= 0)
		close(result);
	errno = n == 0 && count == 0 ? EPIPE : EBADMSG;
	return -1;
}

int sock_wait_ms(int fd, short events, long timeout_ms)
{
	int64_t deadline = sock_now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
	struct pollfd pfd;

	for (;;) {
		int64_t left = -1;
		int n;

		if (timeout_ms >= 0) {
			left = deadline - sock_now_ms();
			if (left < 0)
				left = 0;
			if (left > 1000000000)
				left = 1000000000;
		}
		pfd.fd = fd;
		pfd.events = events;
		pfd.revents = 0;
		n = poll(&pfd, 1, (int)left);
		if (n > 0) {
			if (pfd.revents & POLLNVAL) {
				errno = EBADF;
				return -1;
			}
			return 0;
		}
		if (n == 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		if (errno != EINTR)
			return -1;
	}
}

int sock_wait_read(int fd, int timeout)
{
	return sock_wait_ms(fd, POLLIN,
			    timeout < 0 ? -1 : (long)timeout * 1000);
}

int sock_wait_write(int fd, int timeout)
{
	return sock_wait_ms(fd, POLLOUT,
			    timeout < 0 ? -1 : (long)timeout * 1000);
}

int sock_nonblock(int fd, int on)
{
	int flags = fcntl(fd, F_GETFL);

	if (flags < 0)
		return -1;
	if (fcntl(fd, F_SETFL, on ? flags | O_NONBLOCK : flags & ~O_NONBLOCK) <
	    0)
		return -1;
	return (flags & O_NONBLOCK) != 0;
}

int sock_cloexec(int fd, int on)
{
	int flags = fcntl(fd, F_GETFD);

	if (flags < 0)
		return -1;
	if (fcntl(fd, F_SETFD, on ? flags | FD_CLOEXEC : flags & ~FD_CLOEXEC) <
	    0)
		return -1;
	return (flags & FD_CLOEXEC) != 0;
}
