/*
 * bounce_clnt - talking to the bounce service: per-recipient status logs
 * and the notifications made from them.
 *
 * One program (bounce) serves three master.cf services, as Postfix's
 * does: private/bounce, private/defer and private/trace. The service a
 * client connects to names the log it works on: bounce/ID (recipients
 * that failed for good), defer/ID (the latest reason each recipient was
 * deferred) and trace/ID (deliveries the sender asked to hear about).
 *
 * Conversation (one request per connection):
 *   1. server -> client: handshake  protocol=bounce_protocol
 *   2. client -> server: one list (bounce_req_schema)
 *   3. server -> client: one list (bounce_reply_schema): status 0 = done
 *      (the log record is fsync'ed, or the notification is queued through
 *      cleanup), anything else = not done, try again later.
 *
 * Requests:
 *   APPEND  add one recipient's status to the service's log (agents, qmgr)
 *   FLUSH   (bounce) send a non-delivery notification for bounce/ID to the
 *           sender, then remove bounce/ID (qmgr, when a message is done)
 *   EXPIRE  (bounce) the message is too old: send a non-delivery notice
 *           for every recipient of queue/ID that is not marked done, with
 *           the last reason from defer/ID (qmgr; it then removes the file)
 *   WARN    (defer) send a delay warning from defer/ID (qmgr)
 *   TRACE   (trace) send the success notice from trace/ID, then remove it
 * A notice to the null sender is never sent (a bounce of a bounce goes to
 * postmaster as a double bounce, see bounce(8)).
 */
#ifndef POSTERN_BOUNCE_CLNT_H
#define POSTERN_BOUNCE_CLNT_H

#include <sys/types.h>

#include "attr.h"
#include "dsn.h"

struct strbuf;

#define BOUNCE_PROTOCOL "bounce_protocol"
/* Service sockets, relative to queue_directory; also the log queues. */
#define BOUNCE_SERVICE "bounce"
#define DEFER_SERVICE "defer"
#define TRACE_SERVICE "trace"

enum bounce_request {
	BOUNCE_REQ_APPEND = 1,
	BOUNCE_REQ_FLUSH = 2,
	BOUNCE_REQ_EXPIRE = 3,
	BOUNCE_REQ_WARN = 4,
	BOUNCE_REQ_TRACE = 5,
};

enum {
	BOUNCE_ATTR_REQUEST,
	BOUNCE_ATTR_QUEUE_NAME,
	BOUNCE_ATTR_QUEUE_ID,
	BOUNCE_ATTR_SENDER,
	BOUNCE_ATTR_DSN_ENVID,
	BOUNCE_ATTR_DSN_RET,
	BOUNCE_ATTR_RCPT_ADDRESS,
	BOUNCE_ATTR_RCPT_ORIG,
	BOUNCE_ATTR_RCPT_ORCPT,
	BOUNCE_ATTR_RCPT_NOTIFY,
	BOUNCE_ATTR_RCPT_OFFSET,
	BOUNCE_ATTR_DSN_STATUS,
	BOUNCE_ATTR_DSN_ACTION,
	BOUNCE_ATTR_DSN_REASON,
	BOUNCE_ATTR_DSN_DTYPE,
	BOUNCE_ATTR_DSN_DTEXT,
	BOUNCE_ATTR_DSN_MTYPE,
	BOUNCE_ATTR_DSN_MNAME,
	BOUNCE_ATTR_COUNT
};
enum { BOUNCE_REPLY_STATUS, BOUNCE_REPLY_COUNT };
extern const struct attr_schema bounce_req_schema;
extern const struct attr_schema bounce_reply_schema;

/* One recipient as the logs keep it. */
struct bounce_rcpt {
	const char *address;
	const char *orig;      /* "" if none */
	const char *dsn_orcpt; /* "" if none */
	int dsn_notify;	       /* DSN_NOTIFY_* bits */
	off_t offset;	       /* of its R record, 0 if unknown */
};

/* What a notification needs to know about the message. */
struct bounce_msg {
	const char *queue_name; /* where the queue file is: "active" */
	const char *queue_id;
	const char *sender;	/* "" null sender */
	const char *dsn_envid;	/* "" if none */
	int dsn_ret;		/* DSN_RET_* */
};

/* APPEND rcpt/dsn to the log of service (BOUNCE_, DEFER_ or
 * TRACE_SERVICE) for queue_id. 0 once the server says the record is on
 * disk; -1 and a reason otherwise. */
int bounce_append(const char *service, const char *queue_id,
		  const struct bounce_rcpt *rcpt, const struct dsn *dsn,
		  struct strbuf *why);
/* FLUSH, EXPIRE, WARN or TRACE for msg (the service is implied). 0 once
 * the notice is queued (or none was due); -1 and a reason otherwise. */
int bounce_request(enum bounce_request req, const struct bounce_msg *msg,
		   struct strbuf *why);

#endif
