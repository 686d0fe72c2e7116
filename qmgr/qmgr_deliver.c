/*
 * qmgr_deliver - one delivery request, run from the event loop without
 * ever blocking: connect to private/<transport>, wait for the agent's
 * handshake, send the request (deliver_request_format), read the
 * per-recipient results and the final status (deliver_reply_scan).
 *
 * The connection is a non-blocking UNIX socket. Connecting succeeds as
 * soon as master's listener queues it; the handshake comes when an agent
 * process accepts, so waiting for agents costs no more than a watched
 * descriptor. Many deliveries are in flight at once, one per entry.
 *
 * Outcomes. A complete reply: recipients the agent deferred keep the
 * message for another pass; a site_dsn is negative feedback for the
 * destination, anything else positive (qmgr_queue.c). A refused
 * connection (no agent service): the transport is unavailable for
 * transport_retry_time. A lost connection, a malformed reply or a
 * conversation longer than ipc_timeout: the agent failed, so the
 * batch's recipients are deferred ("unknown mail transport error") and
 * the transport is throttled, as Postfix does. In every case the entry
 * ends in exactly one qmgr_entry_done(); the agent has already settled
 * (marked, logged) whatever it finished, so no outcome loses a recipient.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "attr.h"
#include "deliver_request.h"
#include "events.h"
#include "mail_params.h"
#include "mail_queue.h"
#include "msg.h"
#include "mymalloc.h"
#include "qmgr.h"
#include "strbuf.h"

/* An agent whose socket backlog is full: try again after this long. */
#define QMGR_BACKLOG_RETRY_MS 1000
/* The most reply bytes we keep: results for DELIVER_RCPT_MAX recipients
 * are far below this. */
#define QMGR_REPLY_MAX (4 * 1024 * 1024)

enum deliver_state { D_HANDSHAKE, D_SEND, D_REPLY };

struct qmgr_deliver {
	struct qmgr_entry *entry;
	int fd;
	enum deliver_state state;
	struct strbuf *in;
	size_t in_off; /* bytes of in already parsed */
	struct strbuf *out;
	size_t out_off; /* bytes of out already sent */
	struct deliver_request req;
};

static const struct attr_spec handshake_specs[] = {
    {"protocol", ATTR_STR, 64, 1},
};
static const struct attr_schema handshake_schema = {
    .protocol = "handshake",
    .specs = handshake_specs,
    .count = 1,
};

static void deliver_event(int fd, int events, void *ctx);
static void deliver_timeout(void *ctx);

/* Build the request from the entry; the strings are the message's. */
static void request_init(struct qmgr_deliver *d)
{
	struct qmgr_entry *entry = d->entry;
	struct qmgr_message *msg = entry->job->message;
	struct deliver_request *req = &d->req;

	req->flags = msg->deliver_flags;
	req->queue_name = (char *)MAIL_QUEUE_ACTIVE;
	req->queue_id = msg->id;
	req->data_offset = msg->data_offset;
	req->data_size = msg->data_size;
	req->nexthop = entry->queue->nexthop;
	req->sender = msg->sender;
	req->dsn_envid = msg->envid;
	req->dsn_ret = msg->dsn_ret;
	req->arrival_us =
	    msg->arrival_sec * 1000000 + (int64_t)msg->arrival_usec;
	req->active_us = msg->active_us;
	req->client_name = msg->client_name;
	req->client_addr = msg->client_addr;
	req->rcpt_count = entry->rcpt_count;
	req->rcpt = mycalloc(entry->rcpt_count, sizeof(*req->rcpt));
	for (size_t i = 0; i < entry->rcpt_count; i++) {
		struct qmgr_rcpt *r = entry->rcpt[i];
		struct deliver_rcpt *dr = req->rcpt + i;

		/* A redirect sends the recipient elsewhere; the original
		 * address stays visible as orig_to. */
		dr->address = msg->redirect ? msg->redirect : r->address;
		dr->orig = *r->orig || !msg->redirect ? r->orig : r->address;
		dr->dsn_orcpt = r->orcpt;
		dr->dsn_notify = r->notify;
		dr->offset = r->offset;
		dr->outcome = DELIVER_RCPT_PENDING;
	}
}

/* Release everything but the entry; then account and end the entry. */
static void deliver_end(struct qmgr_deliver *d, int ok)
{
	struct qmgr_entry *entry = d->entry;
	struct qmgr_queue *queue = entry->queue;
	struct qmgr_transport *transport = queue->transport;
	struct qmgr_message *msg = entry->job->message;

	if (d->fd >= 0) {
		events_unwatch(d->fd);
		(void)close(d->fd);
	}
	events_timer_cancel(deliver_timeout, d);
	/* queue->busy still counts this delivery until the end: a throttle
	 * below must not free the queue the entry points at. */
	if (transport->dest_rate_delay > 0)
		queue->next_start_ms =
		    qmgr_now_ms() + (int64_t)transport->dest_rate_delay * 1000;
	if (ok) {
		for (size_t i = 0; i < d->req.rcpt_count; i++)
			if (d->req.rcpt[i].outcome != DELIVER_RCPT_SENT &&
			    d->req.rcpt[i].outcome != DELIVER_RCPT_BOUNCED)
				msg->deferred = 1;
		if (d->req.site_dsn[0])
			qmgr_queue_failure(queue, d->req.site_dsn,
					   d->req.site_reason
					       ? d->req.site_reason
					       : "delivery failed");
		else
			qmgr_queue_success(queue);
	} else {
		qmgr_message_defer_entry(entry, "4.3.0",
					 "unknown mail transport error");
		qmgr_transport_throttle(transport,
					"unknown mail transport error");
	}
	myfree(d->req.rcpt);
	myfree(d->req.site_reason);
	strbuf_free(&d->in);
	strbuf_free(&d->out);
	myfree(d);
	queue->busy--;
	transport->busy--;
	qmgr_entry_done(entry);
	qmgr_sched_request();
}

static void deliver_fail(struct qmgr_deliver *d, const char *what)
{
	msg_warn("%s: transport %s (%s): %s", d->entry->job->message->id,
		 d->entry->queue->transport->name, d->entry->queue->nexthop,
		 what);
	deliver_end(d, 0);
}

static void deliver_timeout(void *ctx)
{
	deliver_fail(ctx, "timeout talking to the delivery agent");
}

/* Write what is left of the request; 1 when all is sent, 0 to wait,
 * -1 on error. */
static int deliver_send(struct qmgr_deliver *d)
{
	while (d->out_off < strbuf_len(d->out)) {
		ssize_t n = write(d->fd, strbuf_str(d->out) + d->out_off,
				  strbuf_len(d->out) - d->out_off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n <= 0)
			return -1;
		d->out_off += (size_t)n;
	}
	return 1;
}

/* Parse what has arrived. 0: wait for more; 1: done; -1: failed (the
 * reason is logged). */
static int deliver_parse(struct qmgr_deliver *d, struct strbuf *why)
{
	const char *buf = strbuf_str(d->in) + d->in_off;
	size_t len = strbuf_len(d->in) - d->in_off;
	ssize_t n;

	if (d->state == D_HANDSHAKE) {
		struct attr_value v[1] = {{0}};
		int match;

		if ((n = attr_scan(&handshake_schema, buf, len, v, why)) <= 0)
			return (int)n;
		match = strcmp(v[0].str, DELIVER_PROTOCOL) == 0;
		if (!match)
			strbuf_why(why, "unexpected protocol \"%s\"", v[0].str);
		attr_values_free(v, 1);
		if (!match)
			return -1;
		d->in_off += (size_t)n;
		if (deliver_request_format(&d->req, d->out, why) < 0)
			return -1;
		d->state = D_SEND;
		switch (deliver_send(d)) {
		case -1:
			return strbuf_why(why, "write request: %s",
					  strerror(errno));
		case 0:
			events_watch(d->fd, EVENT_WRITE, deliver_event, d);
			return 0;
		default:
			d->state = D_REPLY;
			buf = strbuf_str(d->in) + d->in_off;
			len = strbuf_len(d->in) - d->in_off;
			break;
		}
	}
	if (d->state == D_REPLY) {
		int status = 0;

		if ((n = deliver_reply_scan(&d->req, buf, len, &status, why)) <=
		    0)
			return (int)n;
		if (msg_verbose)
			msg_info("%s: %s reply status %d%s%s", d->req.queue_id,
				 d->entry->queue->nexthop, status,
				 d->req.site_dsn[0] ? " site " : "",
				 d->req.site_dsn);
		return 1;
	}
	return 0;
}

static void deliver_event(int fd, int events, void *ctx)
{
	struct qmgr_deliver *d = ctx;
	struct strbuf *why = strbuf_new(STRBUF_NO_MAX);
	char buf[8192];
	int rc = 0;

	if (d->state == D_SEND && (events & EVENT_WRITE)) {
		switch (deliver_send(d)) {
		case -1:
			strbuf_why(why, "write request: %s", strerror(errno));
			rc = -1;
			break;
		case 0:
			break;
		default:
			d->state = D_REPLY;
			events_watch(fd, EVENT_READ, deliver_event, d);
			rc = deliver_parse(d, why);
			break;
		}
	} else if (events & EVENT_READ) {
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n < 0 && (errno == EINTR || errno == EAGAIN ||
			      errno == EWOULDBLOCK)) {
			rc = 0;
		} else if (n < 0) {
			strbuf_why(why, "read: %s", strerror(errno));
			rc = -1;
		} else if (n == 0) {
			strbuf_why(why, "the agent closed the connection %s",
				   d->state == D_HANDSHAKE
				       ? "before its handshake"
				       : "before its reply");
			rc = -1;
		} else if (strbuf_len(d->in) + (size_t)n > QMGR_REPLY_MAX ||
			   strbuf_append(d->in, buf, (size_t)n) < 0) {
			strbuf_why(why, "reply too large");
			rc = -1;
		} else {
			rc = deliver_parse(d, why);
		}
	}
	if (rc < 0)
		deliver_fail(d, strbuf_str(why));
	else if (rc > 0)
		deliver_end(d, 1);
	strbuf_free(&why);
}

/* Put an entry back at the head of its queue (it was never started). */
static void entry_push_front(struct qmgr_entry *entry)
{
	struct qmgr_queue *q = entry->queue;

	entry->next = q->todo;
	q->todo = entry;
	if (q->todo_tail == NULL)
		q->todo_tail = entry;
	q->todo_count++;
}

/* Master.cf service names are plain words; never a path. */
static int transport_name_ok(const char *name)
{
	if (*name == 0 || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return 0;
	for (const char *cp = name; *cp; cp++)
		if (*cp == '/' || (unsigned char)*cp <= ' ')
			return 0;
	return 1;
}

void qmgr_deliver_start(struct qmgr_entry *entry)
{
	struct qmgr_queue *queue = entry->queue;
	struct qmgr_transport *transport = queue->transport;
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	struct qmgr_deliver *d;
	int fd, n;

	n = snprintf(sun.sun_path, sizeof(sun.sun_path), "private/%s",
		     transport->name);
	if (!transport_name_ok(transport->name) || n < 0 ||
	    (size_t)n >= sizeof(sun.sun_path)) {
		queue->busy++;
		qmgr_message_defer_entry(entry, "4.3.5",
					 "mail transport unavailable");
		qmgr_transport_throttle(transport, "bad transport name");
		queue->busy--;
		qmgr_entry_done(entry);
		return;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		msg_fatal("socket: %m");
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 &&
	    errno != EINPROGRESS) {
		if (errno == EAGAIN) {
			/* Every agent busy and master's backlog full. */
			(void)close(fd);
			entry_push_front(entry);
			transport->blocked_until_ms =
			    qmgr_now_ms() + QMGR_BACKLOG_RETRY_MS;
			qmgr_sched_request_ms(QMGR_BACKLOG_RETRY_MS);
			return;
		}
		msg_warn("connect to transport %s: %m", sun.sun_path);
		(void)close(fd);
		queue->busy++;
		qmgr_message_defer_entry(entry, "4.3.0",
					 "mail transport unavailable");
		qmgr_transport_throttle(transport,
					"mail transport unavailable");
		queue->busy--;
		qmgr_entry_done(entry);
		return;
	}
	d = mycalloc(1, sizeof(*d));
	d->entry = entry;
	d->fd = fd;
	d->state = D_HANDSHAKE;
	d->in = strbuf_new(QMGR_REPLY_MAX);
	d->out = strbuf_new(STRBUF_NO_MAX);
	request_init(d);
	queue->busy++;
	transport->busy++;
	if (msg_verbose)
		msg_info("%s: deliver %zu recipient(s) via %s to %s",
			 entry->job->message->id, entry->rcpt_count,
			 transport->name, queue->nexthop);
	events_watch(fd, EVENT_READ, deliver_event, d);
	events_timer(deliver_timeout, d,
		     var_ipc_timeout > 0 ? var_ipc_timeout : 3600);
}
