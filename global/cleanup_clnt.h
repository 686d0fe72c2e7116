/*
 * cleanup_clnt - handing a new message to the cleanup service.
 *
 * The cleanup protocol (smtpd, pickup and bounce are its clients; cleanup
 * is the only writer of new queue files):
 *
 *   1. client connects to the cleanup socket (public/cleanup: master.cf
 *      marks the service not private, as Postfix's does, so that pickup
 *      and the postdrop group can reach it);
 *   2. server -> client: attribute list  protocol=cleanup_protocol
 *      (attr_handshake), then the list   queue_id=ID
 *      (cleanup has already created incoming/ID, mode 0600);
 *   3. client -> server: the list        flags=N   (CLEANUP_FLAG_*)
 *   4. client -> server: raw records (global/record framing) in queue-file
 *      order: envelope (T arrival, F full name, A name=value attributes,
 *      S sender, i/< DSN envid/ret, then per recipient o, n, O, R), M,
 *      the content as N/L records, X, extracted records, E;
 *   5. server -> client, only after the queue file is committed (written,
 *      marked complete, fsync'ed with its directory) or removed:
 *      the list status=N reason=TEXT.
 *
 * The server keeps reading records after an error until E, so a client
 * never blocks on a full socket; it answers once. A client that sees any
 * I/O error or a malformed reply treats the message as not queued.
 * Only status CLEANUP_STAT_OK means "queued": smtpd says 250 only then.
 */
#ifndef POSTERN_CLEANUP_CLNT_H
#define POSTERN_CLEANUP_CLNT_H

#include <stddef.h>

#include "attr.h"

struct strbuf;
struct cleanup_clnt;

#define CLEANUP_PROTOCOL "cleanup_protocol"
/* Where clients find the service, relative to queue_directory. */
#define CLEANUP_SERVICE_PATH "public/cleanup"

/* The three lists after the handshake, one schema each, shared by the
 * server (cleanup) and this client so they cannot drift apart. */
enum { CLEANUP_ID_QUEUE_ID, CLEANUP_ID_COUNT };
enum { CLEANUP_REQ_FLAGS, CLEANUP_REQ_COUNT };
enum { CLEANUP_REPLY_STATUS, CLEANUP_REPLY_REASON, CLEANUP_REPLY_COUNT };
extern const struct attr_schema cleanup_id_schema;    /* queue_id */
extern const struct attr_schema cleanup_req_schema;   /* flags */
extern const struct attr_schema cleanup_reply_schema; /* status, reason */
/* Longest reason text in a reply. */
#define CLEANUP_REASON_MAX 1024

/* Request flags (step 3). */
#define CLEANUP_FLAG_NONE	0
#define CLEANUP_FLAG_FILTER	(1 << 0)	/* run header_checks/body_checks */
#define CLEANUP_FLAG_MAP_OK	(1 << 1)	/* canonical and virtual alias mapping */
#define CLEANUP_FLAG_EXTRACT	(1 << 2)	/* recipients from headers (sendmail -t) */
#define CLEANUP_FLAG_HOLD	(1 << 3)	/* put the message in hold/ */
#define CLEANUP_FLAG_DISCARD	(1 << 4)	/* accept and throw away */
#define CLEANUP_FLAG_SMTP_REPLY	(1 << 5)	/* reason text is an SMTP reply to pass on */
#define CLEANUP_FLAG_MASK	0x3f

/* Reply status bits (step 5); several may be set. */
#define CLEANUP_STAT_OK		0
#define CLEANUP_STAT_BAD	(1 << 0)	/* internal protocol error */
#define CLEANUP_STAT_WRITE	(1 << 1)	/* error writing the queue file */
#define CLEANUP_STAT_SIZE	(1 << 2)	/* message_size_limit exceeded */
#define CLEANUP_STAT_CONT	(1 << 3)	/* content rejected (reason says why) */
#define CLEANUP_STAT_HOPS	(1 << 4)	/* too many Received: headers */
#define CLEANUP_STAT_RCPT	(1 << 6)	/* no recipients */
#define CLEANUP_STAT_DEFER	(1 << 8)	/* temporary rejection (reason says why) */

/* Connect to the cleanup service at path (relative to the current
 * directory, which is queue_directory in daemons) and read its queue ID.
 * NULL and a reason on failure. timeout in seconds for every step. */
struct cleanup_clnt *cleanup_clnt_open(const char *path, int flags, int timeout,
				       struct strbuf *why);
/* The queue ID the server assigned (borrowed). */
const char *cleanup_clnt_queue_id(const struct cleanup_clnt *cc);
/* Send one record (buffered). 0, or -1 after an I/O error (sticky). */
int cleanup_clnt_rec(struct cleanup_clnt *cc, int type, const void *data, size_t len);
int cleanup_clnt_printf(struct cleanup_clnt *cc, int type, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Send E, flush, read the reply. Returns the CLEANUP_STAT_* bits (BAD on
 * any I/O or protocol error) and the reason text in reason. Frees *ccp. */
int cleanup_clnt_finish(struct cleanup_clnt **ccp, struct strbuf *reason);
/* Give up: close the connection (cleanup removes the file). Frees *ccp. */
void cleanup_clnt_abort(struct cleanup_clnt **ccp);

/* The SMTP reply for a status: code (e.g. 451), enhanced code ("4.3.0")
 * and text, as Postfix's smtpd words them; a reason from a check is used
 * as the text where it applies. For status OK the caller says 250 itself. */
void cleanup_stat_reply(int status, const char *reason, int *code,
			const char **dsn, struct strbuf *text);

#endif
