/*
 * sock - inet and UNIX-domain socket helpers.
 *
 * All descriptors are created close-on-exec; listeners get SO_REUSEADDR
 * and (for IPv6) IPV6_V6ONLY so "[::]:25" and "0.0.0.0:25" can coexist.
 * No function here ever asks DNS: hosts must be numeric addresses (a mail
 * system resolves names itself, with its own policy and timeouts). A port
 * may be a number or a service name from /etc/services ("smtp").
 * Functions return a descriptor (or 0) or -1 with errno set and, where why
 * is not NULL, a human-readable reason written to it (replacing its text).
 */
#ifndef POSTERN_SOCK_H
#define POSTERN_SOCK_H

#include <sys/socket.h>
#include <stddef.h>

struct strbuf;

/* Longest host and port sock_split_hostport() accepts (text, NUL excluded). */
#define SOCK_HOST_MAX 255
#define SOCK_PORT_MAX 31

/* Listen on "host:port", "[v6addr]:port", ":port" or "port". An empty host
 * means the IPv4 wildcard 0.0.0.0; pass "[::]:port" for IPv6. */
int sock_inet_listen(const char *addr, int backlog, int nonblock,
		     struct strbuf *why);
/* Connect to numeric "host:port" / "[v6]:port" with a timeout in seconds
 * (<= 0: no timeout). The descriptor returned is blocking. */
int sock_inet_connect(const char *addr, int timeout, struct strbuf *why);
/* Listen on a UNIX stream socket at path with the given file mode. An old
 * file there is replaced only if it is a socket (anything else: EEXIST).
 * The socket is created under umask 077 and then chmod'ed, so it is never
 * more open than mode. */
int sock_unix_listen(const char *path, int backlog, int mode, int nonblock,
		     struct strbuf *why);
/* Connect to a UNIX stream socket with a timeout in seconds (<= 0: none).
 * The descriptor returned is blocking. */
int sock_unix_connect(const char *path, int timeout, struct strbuf *why);
/* Create the FIFO at path if missing (refusing anything else there), set its
 * mode and open it O_RDWR|O_NONBLOCK: holding the write side ourselves means
 * the reader never sees EOF when the last writer goes away. */
int sock_fifo_listen(const char *path, int mode, struct strbuf *why);
/* Split "host:port", "[v6]:port", ":port" or "port" into host ("" = any)
 * and port. Both buffers must hold the text and a NUL; too long, empty
 * port, stray brackets or an unbracketed IPv6 address: -1 (errno EINVAL). */
int sock_split_hostport(const char *addr, char *host, size_t hostlen,
			char *port, size_t portlen);

/* Pass one descriptor over a UNIX socket (SCM_RIGHTS) with one data byte.
 * 0 or -1. The caller still owns (and closes) fd. */
int sock_send_fd(int sock, int fd);
/* Receive one descriptor (close-on-exec). Returns it, or -1: errno EPIPE at
 * EOF, EBADMSG when the message carried no (or more than one) descriptor;
 * extra descriptors are closed. */
int sock_recv_fd(int sock);

/* Wait up to timeout seconds (< 0: forever, 0: just check) for fd to become
 * readable/writable (a hang-up or error counts as ready): 0 ready, -1 with
 * errno ETIMEDOUT or the poll error. EINTR restarts with the time left. */
int sock_wait_read(int fd, int timeout);
int sock_wait_write(int fd, int timeout);
/* Same with the timeout in milliseconds; events is POLLIN or POLLOUT. */
int sock_wait_ms(int fd, short events, long timeout_ms);
/* Set or clear O_NONBLOCK; returns the old state (0/1) or -1. */
int sock_nonblock(int fd, int on);
/* Set or clear FD_CLOEXEC; returns the old state (0/1) or -1. */
int sock_cloexec(int fd, int on);

#endif
