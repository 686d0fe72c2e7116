/*
 * smtp.h - what the parts of the smtp/lmtp delivery agent share.
 *
 * smtp.c         the daemon: one delivery request per connection from
 *                qmgr, the session cache, settling recipients
 * smtp_connect.c next hop parsing, MX and address lookup, connecting
 * smtp_proto.c   the SMTP/LMTP conversation: greeting, EHLO/LHLO, the
 *                mail transaction (pipelined when offered), the content
 */
#ifndef POSTERN_SMTP_SMTP_H
#define POSTERN_SMTP_SMTP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "deliver_request.h"
#include "dsn.h"

struct strbuf;
struct queue_file;
struct mail_queue;

/* The settings of this process: smtp_* or lmtp_* (chosen by the program
 * name, see smtp.c). */
struct smtp_params {
	int lmtp;
	const char *proto; /* "SMTP" or "LMTP" */
	const char *helo_name;
	int connect_timeout, helo_timeout, mail_timeout, rcpt_timeout;
	int data_init_timeout, data_xfer_timeout, data_done_timeout;
	int quit_timeout, rset_timeout;
	const char *bind_address, *bind_address6;
	int cache_on_demand, cache_time_limit, reuse_limit;
	int line_length_limit;
	int skip_5xx_greeting;
	int dns_enabled;   /* smtp_dns_support_level != disabled */
	int lookup_dns;	   /* smtp_host_lookup has dns */
	int lookup_native; /* smtp_host_lookup has native */
	const char *fallback_relay;
	const char *default_port;
	int mx_address_limit, mx_session_limit;
	int want_ipv4, want_ipv6; /* inet_protocols */
};
extern struct smtp_params smtp_params;
extern struct mail_queue *smtp_queue;

/* A server reply. */
#define SMTP_REPLY_TEXT_MAX 4096   /* the joined text; more is cut */
#define SMTP_REPLY_LINE_LIMIT 2048 /* one line; the rest is dropped */
#define SMTP_REPLY_LINES_MAX 1000  /* more lines: malformed */
struct smtp_resp {
	int code;		  /* 200..599 */
	char enh[DSN_STATUS_MAX]; /* enhanced status of the last line, "" */
	struct strbuf *text;	  /* the lines, "ddd-..." "ddd ..." joined
				   * with a space, control bytes as '?' */
	struct strbuf *lines;	  /* each line's text after the code, '\n'
				   * after each (for EHLO keywords) */
};

/* EHLO keywords that matter here. */
#define SMTP_FEATURE_ESMTP (1 << 0)
#define SMTP_FEATURE_PIPELINING (1 << 1)
#define SMTP_FEATURE_SIZE (1 << 2)
#define SMTP_FEATURE_8BITMIME (1 << 3)
#define SMTP_FEATURE_DSN (1 << 4)
#define SMTP_FEATURE_SMTPUTF8 (1 << 5)

/* One address to try: a host name and where to connect. */
struct smtp_target {
	char host[256]; /* for logs: "mx.example.com", or the address */
	char addr[128]; /* numeric address, or the UNIX socket path */
	char port[32];	/* "25"; "" for a UNIX socket */
	struct sockaddr_storage sa;
	socklen_t salen;
};

/* An open session with a server. */
struct smtp_session {
	int fd;
	char *key; /* the next hop it serves (cache key) */
	struct smtp_target target;
	char relay[512];    /* "host[addr]:port" for the log */
	char hostaddr[512]; /* "host[addr]" for reasons */
	unsigned features;
	uint64_t size_limit; /* SIZE n, 0: none */
	int reuse_count;
	int broken; /* timed out, lost, or the server said 421 */
	char ibuf[4096];
	size_t ipos, ilen;
	struct strbuf *obuf;
	struct strbuf *why; /* the last I/O failure */
	int timed_out;
};

/* Why no session could be had, for every recipient. */
struct smtp_fail {
	char dsn[DSN_STATUS_MAX];
	struct strbuf *reason;
	struct strbuf *dtext; /* the server's reply, "" */
	char mname[256];      /* the server that said it, "" */
	int site;	      /* a destination problem (qmgr may back off) */
};

/* --- smtp_connect.c --- */

/* Find the targets for nexthop (MX, addresses, fallback relays) and
 * open a session with the first that greets us and accepts EHLO/HELO
 * (or LHLO). NULL and fail filled when none did. */
struct smtp_session *smtp_connect_nexthop(const char *nexthop,
					  const char *queue_id,
					  struct smtp_fail *fail);
/* Parse "domain", "domain:port", "[host]", "[host]:port" (and for LMTP
 * "unix:/path", "inet:host:port") into host, port (may be "") and flags.
 * 0 or -1 on a malformed next hop. Public for the tests. */
int smtp_nexthop_parse(const char *nexthop, int lmtp, char *host,
		       size_t hostlen, char *port, size_t portlen,
		       int *bracketed, int *is_unix);

/* --- smtp_proto.c --- */

struct smtp_session *smtp_session_new(int fd, const struct smtp_target *t);
void smtp_session_free(struct smtp_session **sessp);
/* Read the greeting and say EHLO (falling back to HELO) or LHLO.
 * 0, or -1 with fail set (fail->site, and a 5xx dsn when it was final). */
int smtp_proto_hello(struct smtp_session *sess, struct smtp_fail *fail);
/* The mail transaction for every PENDING recipient of req; settles each
 * one (deliver_completed on qf). The session stays usable unless
 * sess->broken. */
void smtp_proto_xfer(struct smtp_session *sess, struct deliver_request *req,
		     struct queue_file *qf);
/* RSET a cached session. 0 if it answered 250. */
int smtp_proto_rset(struct smtp_session *sess);
/* Send QUIT, wait a bounded time for the reply, close. */
void smtp_proto_quit(struct smtp_session *sess, int timeout);

/* Read one (multi-line) reply, each read within timeout seconds; during
 * names the step for the reason ("while sending MAIL FROM"). 0, or -1
 * with sess->why and sess->broken set. A 421 reply is returned (0) and
 * also breaks the session: the server is closing. */
int smtp_resp_read_during(struct smtp_session *sess, int timeout,
			  struct smtp_resp *resp, const char *during);
void smtp_resp_init(struct smtp_resp *resp);
void smtp_resp_free(struct smtp_resp *resp);

#endif
