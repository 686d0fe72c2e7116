/*
 * deliver_request - the delivery request protocol between qmgr and a
 * delivery agent (smtp, lmtp, error, discard; later local, virtual, pipe).
 *
 * The conversation, on one connection to the agent's master.cf service
 * (private/<transport>); one request per connection:
 *
 *   1. agent -> qmgr: handshake  protocol=delivery_request_protocol
 *   2. qmgr -> agent: one list (deliver_req_schema) describing the message
 *      and the batch: queue name and ID, content offset and size, next hop,
 *      sender, DSN envid/ret, timestamps, rcpt_count;
 *   3. qmgr -> agent: rcpt_count lists (deliver_rcpt_schema), one per
 *      recipient, in queue file order;
 *   4. agent -> qmgr: rcpt_count lists (deliver_result_schema), one per
 *      recipient in the same order, saying what became of it;
 *   5. agent -> qmgr: one list (deliver_status_schema): 0 when every
 *      recipient's outcome is settled and logged, and the destination
 *      problem (site_dsn, site_reason) when the next hop as a whole failed
 *      (no connection, a 4xx/5xx greeting, a lost session), so qmgr can
 *      lower its concurrency or mark it dead.
 *
 * The agent settles each recipient with deliver_completed() BEFORE it
 * answers: a sent or bounced recipient is appended to the trace/bounce log
 * as needed and marked done (R -> D) in the queue file, a deferred one is
 * appended to the defer log. Only then is the file fsync'ed (once per
 * request) and the reply sent. qmgr's state can therefore always be
 * rebuilt from the queue directory, and a crash of either side loses no
 * recipient (doc/queue.md: at-least-once).
 *
 * If a status log append fails, the recipient is left as it is (not
 * marked) and reported DELIVER_RCPT_DEFERRED: it is tried again later.
 */
#ifndef POSTERN_DELIVER_REQUEST_H
#define POSTERN_DELIVER_REQUEST_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "attr.h"
#include "dsn.h"

struct strbuf;
struct queue_file;
struct mail_queue;

#define DELIVER_PROTOCOL "delivery_request_protocol"

/* Request flags. */
#define DELIVER_FLAG_NONE	0
#define DELIVER_FLAG_EXPAND	(1 << 0)	/* (later) sendmail -bv */
#define DELIVER_FLAG_SMTPUTF8	(1 << 1)	/* the message needs SMTPUTF8 */
#define DELIVER_FLAG_8BIT	(1 << 2)	/* content has 8-bit octets */

/* Schemas: one per list, shared by qmgr and the agents. */
enum {
	DELIVER_REQ_FLAGS,
	DELIVER_REQ_QUEUE_NAME,
	DELIVER_REQ_QUEUE_ID,
	DELIVER_REQ_DATA_OFFSET,
	DELIVER_REQ_DATA_SIZE,
	DELIVER_REQ_NEXTHOP,
	DELIVER_REQ_SENDER,
	DELIVER_REQ_DSN_ENVID,
	DELIVER_REQ_DSN_RET,
	DELIVER_REQ_ARRIVAL_US,
	DELIVER_REQ_ACTIVE_US,
	DELIVER_REQ_CLIENT_NAME,
	DELIVER_REQ_CLIENT_ADDR,
	DELIVER_REQ_RCPT_COUNT,
	DELIVER_REQ_COUNT
};
enum {
	DELIVER_RCPT_ADDRESS,
	DELIVER_RCPT_ORIG,
	DELIVER_RCPT_DSN_ORCPT,
	DELIVER_RCPT_DSN_NOTIFY,
	DELIVER_RCPT_OFFSET,
	DELIVER_RCPT_COUNT
};
enum {
	DELIVER_RESULT_OFFSET,
	DELIVER_RESULT_OUTCOME,
	DELIVER_RESULT_DSN,
	DELIVER_RESULT_COUNT
};
enum {
	DELIVER_STATUS_STATUS,
	DELIVER_STATUS_SITE_DSN,
	DELIVER_STATUS_SITE_REASON,
	DELIVER_STATUS_COUNT
};
extern const struct attr_schema deliver_req_schema;
extern const struct attr_schema deliver_rcpt_schema;
extern const struct attr_schema deliver_result_schema;
extern const struct attr_schema deliver_status_schema;

/* Most recipients in one request (a bound for the agent's memory; qmgr
 * never sends more than the destination's recipient limit). */
#define DELIVER_RCPT_MAX 1000

/* What became of one recipient (step 4). */
enum deliver_outcome {
	DELIVER_RCPT_PENDING = 0,  /* not settled yet (agent side only) */
	DELIVER_RCPT_SENT = 1,	   /* delivered or relayed: marked done */
	DELIVER_RCPT_DEFERRED = 2, /* try again later: in the defer log */
	DELIVER_RCPT_BOUNCED = 3,  /* failed for good: in the bounce log, done */
};

struct deliver_rcpt {
	char *address;	 /* R: where to deliver */
	char *orig;	 /* O: as the client gave it ("" if none) */
	char *dsn_orcpt; /* o: DSN ORCPT "type;addr" ("" if none) */
	int dsn_notify;	 /* DSN_NOTIFY_* bits, 0: not given */
	off_t offset;	 /* of its R record in the queue file */
	/* agent -> qmgr */
	enum deliver_outcome outcome;
	char dsn[DSN_STATUS_MAX]; /* status code of the outcome, "" */
};

struct deliver_request {
	int flags;	   /* DELIVER_FLAG_* */
	char *queue_name;  /* "active" */
	char *queue_id;
	off_t data_offset; /* of the M record (queue_file_size) */
	off_t data_size;   /* content bytes */
	char *nexthop;	   /* transport's next hop: "example.com",
			    * "[192.0.2.1]:2525", "unix:/path" (lmtp) */
	char *sender;	   /* "" for the null sender */
	char *dsn_envid;   /* "" if none */
	int dsn_ret;	   /* DSN_RET_* */
	int64_t arrival_us; /* message arrival, microseconds since the epoch */
	int64_t active_us;  /* when qmgr moved it to active/ */
	char *client_name;  /* the submitting client, for logs ("" if local) */
	char *client_addr;
	size_t rcpt_count;
	struct deliver_rcpt *rcpt;
	/* agent side: filled while serving (deliver_request_read sets
	 * agent_us; the agent sets the rest) */
	int64_t agent_us; /* request received */
	int64_t conn_us;  /* connection to the next hop set up, 0: none */
	char site_dsn[DSN_STATUS_MAX];
	char *site_reason; /* NULL: no destination-wide problem */
};

/* --- agent side --- */

/* Send the handshake, then read and validate one request with its
 * recipients from fd (timeout seconds per list). Checks the queue name
 * and ID (mail_queue_id_ok), the recipient count (1..DELIVER_RCPT_MAX),
 * offsets and DSN values. 0 and *reqp, or -1 and a reason. */
int deliver_request_read(int fd, int timeout, struct deliver_request **reqp,
			 struct strbuf *why);
/* Note a destination-wide failure for the final status (copies). */
void deliver_request_site_fail(struct deliver_request *req, const char *dsn,
			       const char *reason);
/* Send the per-recipient results and the final status (step 4 and 5).
 * A recipient still PENDING is reported DEFERRED. 0 or -1. */
int deliver_request_reply(int fd, int timeout,
			  const struct deliver_request *req,
			  struct strbuf *why);
void deliver_request_free(struct deliver_request **reqp);

/* Settle recipient i of req with dsn (its status class decides: 2 sent,
 * 4 deferred, 5 bounced), and log the Postfix-format line
 *   ID: to=<addr>, orig_to=<orig>, relay=RELAY, delay=D,
 *       delays=a/b/c/d, dsn=X.Y.Z, status=sent|deferred|bounced (REASON)
 * relay is "host[addr]:port", "none", "local" or the transport name.
 * Sent: trace log when DSN NOTIFY=SUCCESS was asked (action "delivered",
 * or "relayed" when the next hop was not told about DSN) - only then is
 * the R marked done. Bounced: bounce log, then marked done. Deferred:
 * defer log. If an append or mark fails, the recipient stays DEFERRED and
 * unmarked. qf must be open QUEUE_FILE_FLAG_RDWR. Returns the outcome.
 * dsn_passed: the next hop accepted NOTIFY/ORCPT (so no "relayed" notice
 * is due). */
enum deliver_outcome deliver_completed(struct deliver_request *req, size_t i,
				       struct queue_file *qf,
				       const struct dsn *dsn, const char *relay,
				       int dsn_passed);
/* deliver_completed for every recipient still PENDING. */
void deliver_completed_rest(struct deliver_request *req,
			    struct queue_file *qf, const struct dsn *dsn,
			    const char *relay);

/* What an agent does with one request: settle each recipient of req with
 * deliver_completed() (a recipient left pending is reported deferred).
 * qf is open read-write; service is the agent's master.cf name. */
typedef void (*deliver_fn)(struct deliver_request *req, struct queue_file *qf,
			   const char *service, void *ctx);
/* The whole life of one request in an agent's service(): read it (after
 * the handshake), open its queue file read-write, deliver(), fsync and
 * close the file (one fsync for all the done marks), answer qmgr. A
 * queue file that cannot be opened (removed by an admin, damaged) leaves
 * every recipient pending, reported deferred: qmgr decides what that
 * means; it is not held against the destination. */
void deliver_request_serve(int fd, struct mail_queue *mq, const char *service,
			   deliver_fn deliver, void *ctx);

/* --- qmgr side (non-blocking: build and parse buffers) --- */

/* Append the request and its recipient lists to out. 0 or -1. */
int deliver_request_format(const struct deliver_request *req,
			   struct strbuf *out, struct strbuf *why);
/* Parse the agent's reply from buf[0..len) into req->rcpt[].outcome/dsn
 * and *status, req->site_dsn/site_reason. Returns bytes consumed (> 0)
 * when the whole reply (rcpt_count results and the status) is there, 0 if
 * more is needed, -1 on a malformed reply (a result whose offset does not
 * match its recipient's is malformed). */
ssize_t deliver_reply_scan(struct deliver_request *req, const char *buf,
			   size_t len, int *status, struct strbuf *why);

/* Microseconds since the epoch, now. */
int64_t deliver_now_us(void);

#endif
