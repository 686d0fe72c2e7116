/*
 * sock - inet and UNIX-domain socket helpers.
 *
 * All descriptors are created with SOCK_CLOEXEC; listeners get SO_REUSEADDR
 * and (for IPv6) IPV6_V6ONLY so "[::]:25" and "0.0.0.0:25" can coexist.
 * Functions return a descriptor or -1 with errno set and, where given, a
 * human-readable reason in *why (static or caller-owned strbuf text).
 */
#ifndef POSTERN_SOCK_H
#define POSTERN_SOCK_H

#include <sys/socket.h>
#include <stddef.h>

struct strbuf;

/* Listen on "host:port", "[v6addr]:port", ":port" or "port" (all addresses
 * of the families in inet_protocols: "all", "ipv4", "ipv6"). Only the first
 * resolved address is bound; callers that want both families pass both.
 * Host names are resolved with AI_NUMERICHOST unless allow_names. */
int sock_inet_listen(const char *addr, int backlog, int nonblock, struct strbuf *why);
/* Connect to "host:port" with a timeout in seconds (0: blocking). */
int sock_inet_connect(const char *addr, int timeout, struct strbuf *why);
/* Listen on a UNIX socket at path (an old socket file is replaced) with mode. */
int sock_unix_listen(const char *path, int backlog, int mode, int nonblock, struct strbuf *why);
/* Connect to a UNIX stream socket with a timeout in seconds (0: blocking). */
int sock_unix_connect(const char *path, int timeout, struct strbuf *why);
/* Create (if needed) and open a FIFO for reading, non-blocking, mode given. */
int sock_fifo_listen(const char *path, int mode, struct strbuf *why);
/* Split "host:port" / "[v6]:port" / "port"; host "" means any. 0 or -1. */
int sock_split_hostport(const char *addr, char *host, size_t hostlen, char *port, size_t portlen);

/* Pass/receive one descriptor over a UNIX socket (SCM_RIGHTS). */
int sock_send_fd(int sock, int fd);
int sock_recv_fd(int sock);

/* Wait up to timeout seconds for fd to become readable/writable: 0 ready,
 * -1 with errno ETIMEDOUT or the poll error. */
int sock_wait_read(int fd, int timeout);
int sock_wait_write(int fd, int timeout);
/* Set or clear O_NONBLOCK; returns the old state or -1. */
int sock_nonblock(int fd, int on);
/* Set FD_CLOEXEC. */
int sock_cloexec(int fd, int on);

#endif
