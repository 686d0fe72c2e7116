/*
 * deliver_request - both ends of the delivery request protocol, and the
 * one place where an agent settles a recipient (deliver_completed).
 *
 * Everything that crosses the connection is checked on arrival: queue
 * names and IDs, counts, offsets, DSN values, and CR/LF in any string
 * (the values end up in logs, status files and SMTP commands).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "attr.h"
#include "bounce_clnt.h"
#include "deliver_request.h"
#include "mail_params.h"
#include "mail_queue.h"
#include "msg.h"
#include "mymalloc.h"
#include "queue_file.h"
#include "rec_type.h"
#include "strbuf.h"

static const struct attr_spec deliver_req_specs[] = {
    [DELIVER_REQ_FLAGS] = {"flags", ATTR_INT, 0, 1},
    [DELIVER_REQ_QUEUE_NAME] = {"queue_name", ATTR_STR, 16, 1},
    [DELIVER_REQ_QUEUE_ID] = {"queue_id", ATTR_STR, MAIL_QUEUE_ID_MAX, 1},
    [DELIVER_REQ_DATA_OFFSET] = {"data_offset", ATTR_LONG, 0, 1},
    [DELIVER_REQ_DATA_SIZE] = {"data_size", ATTR_LONG, 0, 1},
    [DELIVER_REQ_NEXTHOP] = {"nexthop", ATTR_STR, 1024, 1},
    [DELIVER_REQ_SENDER] = {"sender", ATTR_STR, REC_ADDR_MAX, 1},
    [DELIVER_REQ_DSN_ENVID] = {"dsn_envid", ATTR_STR, 100, 0},
    [DELIVER_REQ_DSN_RET] = {"dsn_ret", ATTR_INT, 0, 0},
    [DELIVER_REQ_ARRIVAL_US] = {"arrival_us", ATTR_LONG, 0, 1},
    [DELIVER_REQ_ACTIVE_US] = {"active_us", ATTR_LONG, 0, 1},
    [DELIVER_REQ_CLIENT_NAME] = {"client_name", ATTR_STR, 256, 0},
    [DELIVER_REQ_CLIENT_ADDR] = {"client_addr", ATTR_STR, 64, 0},
    [DELIVER_REQ_RCPT_COUNT] = {"rcpt_count", ATTR_INT, 0, 1},
};
const struct attr_schema deliver_req_schema = {
    DELIVER_PROTOCOL, deliver_req_specs, DELIVER_REQ_COUNT};

static const struct attr_spec deliver_rcpt_specs[] = {
    [DELIVER_RCPT_ADDRESS] = {"address", ATTR_STR, REC_ADDR_MAX, 1},
    [DELIVER_RCPT_ORIG] = {"orig", ATTR_STR, REC_ADDR_MAX, 0},
    [DELIVER_RCPT_DSN_ORCPT] = {"dsn_orcpt", ATTR_STR, REC_ADDR_MAX, 0},
    [DELIVER_RCPT_DSN_NOTIFY] = {"dsn_notify", ATTR_INT, 0, 0},
    [DELIVER_RCPT_OFFSET] = {"offset", ATTR_LONG, 0, 1},
};
const struct attr_schema deliver_rcpt_schema = {
    DELIVER_PROTOCOL, deliver_rcpt_specs, DELIVER_RCPT_COUNT};

static const struct attr_spec deliver_result_specs[] = {
    [DELIVER_RESULT_OFFSET] = {"offset", ATTR_LONG, 0, 1},
    [DELIVER_RESULT_OUTCOME] = {"outcome", ATTR_INT, 0, 1},
    [DELIVER_RESULT_DSN] = {"dsn", ATTR_STR, DSN_STATUS_MAX - 1, 0},
};
const struct attr_schema deliver_result_schema = {
    DELIVER_PROTOCOL, deliver_result_specs, DELIVER_RESULT_COUNT};

static const struct attr_spec deliver_status_specs[] = {
    [DELIVER_STATUS_STATUS] = {"status", ATTR_INT, 0, 1},
    [DELIVER_STATUS_SITE_DSN] = {"site_dsn", ATTR_STR, DSN_STATUS_MAX - 1, 0},
    [DELIVER_STATUS_SITE_REASON] = {"site_reason", ATTR_STR, 0, 0},
};
const struct attr_schema deliver_status_schema = {
    DELIVER_PROTOCOL, deliver_status_specs, DELIVER_STATUS_COUNT};

int64_t deliver_now_us(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (int64_t)tv.tv_sec * 1000000 + tv.tv_usec;
}

/* --- shared helpers --- */

static int has_crlf(const struct attr_value *v)
{
	return v->present && v->str != NULL && strpbrk(v->str, "\r\n") != NULL;
}

/* Take the string out of a value ("" when absent). */
static char *take_str(struct attr_value *v)
{
	char *s;

	if (!v->present || v->str == NULL)
		return mystrdup("");
	s = v->str;
	v->str = NULL;
	v->present = 0;
	return s;
}

static void put_str(struct attr_value *v, const char *s)
{
	if (s == NULL || *s == 0)
		return;
	v->present = 1;
	v->str = (char *)s; /* attr_print only reads it */
	v->len = strlen(s);
}

static void put_num(struct attr_value *v, long n)
{
	v->present = 1;
	v->num = n;
}

void deliver_request_free(struct deliver_request **reqp)
{
	struct deliver_request *req = *reqp;

	if (req == NULL)
		return;
	for (size_t i = 0; i < req->rcpt_count; i++) {
		myfree(req->rcpt[i].address);
		myfree(req->rcpt[i].orig);
		myfree(req->rcpt[i].dsn_orcpt);
	}
	myfree(req->rcpt);
	myfree(req->queue_name);
	myfree(req->queue_id);
	myfree(req->nexthop);
	myfree(req->sender);
	myfree(req->dsn_envid);
	myfree(req->client_name);
	myfree(req->client_addr);
	myfree(req->site_reason);
	myfree(*reqp);
}

/* --- agent side --- */

static int req_from_values(struct deliver_request *req,
			   struct attr_value *v, struct strbuf *why)
{
	for (int i = 0; i < DELIVER_REQ_COUNT; i++)
		if (has_crlf(&v[i]))
			return strbuf_why(why, "delivery request: line break "
					  "in attribute %s",
					  deliver_req_specs[i].name);
	req->flags = (int)v[DELIVER_REQ_FLAGS].num;
	req->queue_name = take_str(&v[DELIVER_REQ_QUEUE_NAME]);
	req->queue_id = take_str(&v[DELIVER_REQ_QUEUE_ID]);
	req->data_offset = (off_t)v[DELIVER_REQ_DATA_OFFSET].num;
	req->data_size = (off_t)v[DELIVER_REQ_DATA_SIZE].num;
	req->nexthop = take_str(&v[DELIVER_REQ_NEXTHOP]);
	req->sender = take_str(&v[DELIVER_REQ_SENDER]);
	req->dsn_envid = take_str(&v[DELIVER_REQ_DSN_ENVID]);
	req->dsn_ret = (int)v[DELIVER_REQ_DSN_RET].num;
	req->arrival_us = v[DELIVER_REQ_ARRIVAL_US].num;
	req->active_us = v[DELIVER_REQ_ACTIVE_US].num;
	req->client_name = take_str(&v[DELIVER_REQ_CLIENT_NAME]);
	req->client_addr = take_str(&v[DELIVER_REQ_CLIENT_ADDR]);
	if (!mail_queue_name_ok(req->queue_name))
		return strbuf_why(why, "delivery request: bad queue name");
	if (!mail_queue_id_ok(req->queue_id))
		return strbuf_why(why, "delivery request: bad queue id");
	if (req->data_offset <= 0 || req->data_size < 0)
		return strbuf_why(why, "%s: delivery request: bad content "
				  "offset or size", req->queue_id);
	if (req->dsn_ret < DSN_RET_NONE || req->dsn_ret > DSN_RET_HDRS)
		return strbuf_why(why, "%s: delivery request: bad dsn_ret",
				  req->queue_id);
	if ((req->flags & ~(DELIVER_FLAG_EXPAND | DELIVER_FLAG_SMTPUTF8 |
			    DELIVER_FLAG_8BIT)) != 0)
		return strbuf_why(why, "%s: delivery request: bad flags",
				  req->queue_id);
	if (v[DELIVER_REQ_RCPT_COUNT].num < 1 ||
	    v[DELIVER_REQ_RCPT_COUNT].num > DELIVER_RCPT_MAX)
		return strbuf_why(why, "%s: delivery request: bad recipient "
				  "count %ld", req->queue_id,
				  v[DELIVER_REQ_RCPT_COUNT].num);
	return 0;
}

static int rcpt_from_values(struct deliver_request *req,
			    struct deliver_rcpt *rcpt, struct attr_value *v,
			    struct strbuf *why)
{
	for (int i = 0; i < DELIVER_RCPT_COUNT; i++)
		if (has_crlf(&v[i]))
			return strbuf_why(why, "%s: delivery request: line "
					  "break in recipient attribute %s",
					  req->queue_id,
					  deliver_rcpt_specs[i].name);
	rcpt->address = take_str(&v[DELIVER_RCPT_ADDRESS]);
	rcpt->orig = take_str(&v[DELIVER_RCPT_ORIG]);
	rcpt->dsn_orcpt = take_str(&v[DELIVER_RCPT_DSN_ORCPT]);
	rcpt->dsn_notify = (int)v[DELIVER_RCPT_DSN_NOTIFY].num;
	rcpt->offset = (off_t)v[DELIVER_RCPT_OFFSET].num;
	if (*rcpt->address == 0)
		return strbuf_why(why, "%s: delivery request: empty recipient",
				  req->queue_id);
	/* Recipients live in the envelope, or (sendmail -t: cleanup found
	 * them in the headers) in the extracted segment after the content,
	 * which takes at least data_size bytes of the file.
	 * queue_file_mark_done still checks that an R or D is there. */
	if (rcpt->offset <= 0 ||
	    (rcpt->offset >= req->data_offset &&
	     rcpt->offset <= req->data_offset + req->data_size))
		return strbuf_why(why, "%s: delivery request: recipient "
				  "offset %jd outside the envelope and the "
				  "extracted segment",
				  req->queue_id, (intmax_t)rcpt->offset);
	if (rcpt->dsn_notify < 0 || rcpt->dsn_notify > 15)
		return strbuf_why(why, "%s: delivery request: bad notify",
				  req->queue_id);
	return 0;
}

int deliver_request_read(int fd, int timeout, struct deliver_request **reqp,
			 struct strbuf *why)
{
	struct attr_value v[DELIVER_REQ_COUNT] = {0};
	struct attr_value rv[DELIVER_RCPT_COUNT] = {0};
	struct deliver_request *req = mycalloc(1, sizeof(*req));
	struct attr_stream *st = NULL;
	size_t count;
	int rc;

	*reqp = NULL;
	if (attr_handshake_send(fd, timeout, DELIVER_PROTOCOL, why) < 0)
		goto bad;
	st = attr_stream_new(fd, 0);
	rc = attr_stream_read(st, timeout, &deliver_req_schema, v, why);
	if (rc <= 0) {
		if (rc == 0)
			(void)strbuf_why(why, "delivery request: connection "
					 "closed before the request");
		goto bad;
	}
	req->agent_us = deliver_now_us();
	count = (size_t)v[DELIVER_REQ_RCPT_COUNT].num;
	if (req_from_values(req, v, why) < 0)
		goto bad;
	req->rcpt = mycalloc(count, sizeof(*req->rcpt));
	for (size_t i = 0; i < count; i++) {
		rc = attr_stream_read(st, timeout, &deliver_rcpt_schema, rv,
				      why);
		if (rc <= 0) {
			if (rc == 0)
				(void)strbuf_why(why, "%s: delivery request: "
						 "connection closed after %zu "
						 "of %zu recipients",
						 req->queue_id, i, count);
			goto bad;
		}
		req->rcpt_count++;
		if (rcpt_from_values(req, &req->rcpt[i], rv, why) < 0)
			goto bad;
		attr_values_free(rv, DELIVER_RCPT_COUNT);
	}
	attr_values_free(v, DELIVER_REQ_COUNT);
	attr_stream_free(&st);
	*reqp = req;
	return 0;
bad:
	attr_values_free(v, DELIVER_REQ_COUNT);
	attr_values_free(rv, DELIVER_RCPT_COUNT);
	attr_stream_free(&st);
	deliver_request_free(&req);
	return -1;
}

void deliver_request_site_fail(struct deliver_request *req, const char *dsn,
			       const char *reason)
{
	snprintf(req->site_dsn, sizeof(req->site_dsn), "%s",
		 dsn_status_ok(dsn) ? dsn : "4.0.0");
	myfree(req->site_reason);
	req->site_reason = mystrdup(reason);
	for (char *cp = req->site_reason; *cp; cp++)
		if (*cp == '\r' || *cp == '\n')
			*cp = ' ';
}

int deliver_request_reply(int fd, int timeout,
			  const struct deliver_request *req,
			  struct strbuf *why)
{
	struct attr_value v[DELIVER_STATUS_COUNT] = {0};

	for (size_t i = 0; i < req->rcpt_count; i++) {
		struct attr_value r[DELIVER_RESULT_COUNT] = {0};
		const struct deliver_rcpt *rcpt = req->rcpt + i;

		put_num(&r[DELIVER_RESULT_OFFSET], (long)rcpt->offset);
		put_num(&r[DELIVER_RESULT_OUTCOME],
			rcpt->outcome == DELIVER_RCPT_PENDING
			    ? DELIVER_RCPT_DEFERRED
			    : rcpt->outcome);
		put_str(&r[DELIVER_RESULT_DSN], rcpt->dsn);
		if (attr_write_fd(fd, timeout, &deliver_result_schema, r,
				  why) < 0)
			return -1;
	}
	put_num(&v[DELIVER_STATUS_STATUS], 0);
	if (req->site_reason != NULL) {
		put_str(&v[DELIVER_STATUS_SITE_DSN], req->site_dsn);
		put_str(&v[DELIVER_STATUS_SITE_REASON], req->site_reason);
	}
	return attr_write_fd(fd, timeout, &deliver_status_schema, v, why);
}

/* Postfix's delay style: 0.12, 1.2, 12; trailing zeros dropped. */
static void fmt_delay(char *buf, size_t len, int64_t us)
{
	double sec = us > 0 ? (double)us / 1e6 : 0;
	char *cp;

	snprintf(buf, len, "%.*f", sec >= 10 ? 0 : sec >= 1 ? 1 : 2, sec);
	if (strchr(buf, '.') != NULL) {
		cp = buf + strlen(buf) - 1;
		while (*cp == '0')
			*cp-- = 0;
		if (*cp == '.')
			*cp = 0;
	}
}

static void deliver_log(const struct deliver_request *req,
			const struct deliver_rcpt *rcpt, const struct dsn *dsn,
			const char *relay, const char *status)
{
	int64_t now = deliver_now_us();
	int64_t conn = req->conn_us ? req->conn_us : req->agent_us;
	char total[32], a[32], b[32], c[32], d[32];

	fmt_delay(total, sizeof(total), now - req->arrival_us);
	fmt_delay(a, sizeof(a), req->active_us - req->arrival_us);
	fmt_delay(b, sizeof(b), req->agent_us - req->active_us);
	fmt_delay(c, sizeof(c), conn - req->agent_us);
	fmt_delay(d, sizeof(d), now - conn);
	msg_info("%s: to=<%s>%s%s%s, relay=%s, delay=%s, delays=%s/%s/%s/%s, "
		 "dsn=%s, status=%s (%s)",
		 req->queue_id, rcpt->address,
		 *rcpt->orig && strcmp(rcpt->orig, rcpt->address) != 0
		     ? ", orig_to=<"
		     : "",
		 *rcpt->orig && strcmp(rcpt->orig, rcpt->address) != 0
		     ? rcpt->orig
		     : "",
		 *rcpt->orig && strcmp(rcpt->orig, rcpt->address) != 0 ? ">"
								       : "",
		 relay, total, a, b, c, d, dsn->status, status, dsn->reason);
}

/* Mark the R record done; on failure the recipient stays deferred. */
static enum deliver_outcome deliver_mark(struct deliver_request *req,
					 struct deliver_rcpt *rcpt,
					 struct queue_file *qf,
					 enum deliver_outcome outcome)
{
	struct strbuf *why = strbuf_new(STRBUF_NO_MAX);

	if (queue_file_mark_done(qf, rcpt->offset, why) < 0) {
		msg_warn("%s: cannot mark <%s> done: %s; it will be tried "
			 "again",
			 req->queue_id, rcpt->address, strbuf_str(why));
		outcome = DELIVER_RCPT_DEFERRED;
	}
	strbuf_free(&why);
	return outcome;
}

enum deliver_outcome deliver_completed(struct deliver_request *req, size_t i,
				       struct queue_file *qf,
				       const struct dsn *dsn, const char *relay,
				       int dsn_passed)
{
	struct deliver_rcpt *rcpt = req->rcpt + i;
	struct bounce_rcpt brcpt = {rcpt->address, rcpt->orig, rcpt->dsn_orcpt,
				    rcpt->dsn_notify, rcpt->offset};
	struct strbuf *why = strbuf_new(STRBUF_NO_MAX);
	struct dsn safe;
	enum deliver_outcome outcome;

	if (i >= req->rcpt_count)
		msg_panic("deliver_completed: recipient %zu of %zu", i,
			  req->rcpt_count);
	if (!dsn_ok(dsn)) {
		/* An agent bug must not put a line break into a log. */
		msg_warn("%s: malformed delivery status for <%s>; deferred",
			 req->queue_id, rcpt->address);
		safe = (struct dsn){"4.3.0", "delayed",
				    "mail system error: malformed status", "",
				    "", "", ""};
		dsn = &safe;
	}
	snprintf(rcpt->dsn, sizeof(rcpt->dsn), "%s", dsn->status);
	switch (dsn->status[0]) {
	case '2':
		deliver_log(req, rcpt, dsn, relay, "sent");
		outcome = DELIVER_RCPT_SENT;
		if ((rcpt->dsn_notify & DSN_NOTIFY_SUCCESS) && !dsn_passed &&
		    bounce_append(TRACE_SERVICE, req->queue_id, &brcpt, dsn,
				  why) < 0) {
			msg_warn("%s: cannot record the success notice for "
				 "<%s>: %s; it will be tried again",
				 req->queue_id, rcpt->address, strbuf_str(why));
			outcome = DELIVER_RCPT_DEFERRED;
		}
		if (outcome == DELIVER_RCPT_SENT)
			outcome = deliver_mark(req, rcpt, qf, outcome);
		break;
	case '5':
		deliver_log(req, rcpt, dsn, relay, "bounced");
		outcome = DELIVER_RCPT_BOUNCED;
		if (bounce_append(BOUNCE_SERVICE, req->queue_id, &brcpt, dsn,
				  why) < 0) {
			msg_warn("%s: cannot record the bounce of <%s>: %s; it "
				 "will be tried again",
				 req->queue_id, rcpt->address, strbuf_str(why));
			outcome = DELIVER_RCPT_DEFERRED;
		} else {
			outcome = deliver_mark(req, rcpt, qf, outcome);
		}
		break;
	default:
		deliver_log(req, rcpt, dsn, relay, "deferred");
		outcome = DELIVER_RCPT_DEFERRED;
		if (bounce_append(DEFER_SERVICE, req->queue_id, &brcpt, dsn,
				  why) < 0)
			msg_warn("%s: cannot record the deferral of <%s>: %s",
				 req->queue_id, rcpt->address, strbuf_str(why));
		break;
	}
	rcpt->outcome = outcome;
	strbuf_free(&why);
	return outcome;
}

void deliver_completed_rest(struct deliver_request *req,
			    struct queue_file *qf, const struct dsn *dsn,
			    const char *relay)
{
	for (size_t i = 0; i < req->rcpt_count; i++)
		if (req->rcpt[i].outcome == DELIVER_RCPT_PENDING)
			(void)deliver_completed(req, i, qf, dsn, relay, 0);
}

void deliver_request_serve(int fd, struct mail_queue *mq, const char *service,
			   deliver_fn deliver, void *ctx)
{
	struct strbuf *why = strbuf_new(STRBUF_NO_MAX);
	struct deliver_request *req = NULL;
	struct queue_file *qf = NULL;

	if (deliver_request_read(fd, var_ipc_timeout, &req, why) < 0) {
		msg_warn("delivery request: %s", strbuf_str(why));
		goto out;
	}
	if (queue_file_open(mq, req->queue_name, req->queue_id,
			    QUEUE_FILE_FLAG_RDWR, &qf, why) != QUEUE_FILE_OK) {
		msg_warn("%s: %s", req->queue_id, strbuf_str(why));
	} else {
		deliver(req, qf, service, ctx);
		if (queue_file_sync(qf, why) < 0)
			msg_warn("%s: %s", req->queue_id, strbuf_str(why));
		if (queue_file_close(&qf) < 0)
			msg_warn("%s: close: %m", req->queue_id);
	}
	if (deliver_request_reply(fd, var_ipc_timeout, req, why) < 0)
		msg_warn("%s: reply to the queue manager: %s", req->queue_id,
			 strbuf_str(why));
out:
	deliver_request_free(&req);
	strbuf_free(&why);
}

/* --- qmgr side --- */

int deliver_request_format(const struct deliver_request *req,
			   struct strbuf *out, struct strbuf *why)
{
	struct attr_value v[DELIVER_REQ_COUNT] = {0};
	size_t start = strbuf_len(out);

	put_num(&v[DELIVER_REQ_FLAGS], req->flags);
	put_str(&v[DELIVER_REQ_QUEUE_NAME], req->queue_name);
	put_str(&v[DELIVER_REQ_QUEUE_ID], req->queue_id);
	put_num(&v[DELIVER_REQ_DATA_OFFSET], (long)req->data_offset);
	put_num(&v[DELIVER_REQ_DATA_SIZE], (long)req->data_size);
	put_str(&v[DELIVER_REQ_NEXTHOP], req->nexthop);
	/* The null sender is sent as an empty value: present, length 0. */
	v[DELIVER_REQ_SENDER].present = 1;
	v[DELIVER_REQ_SENDER].str = req->sender;
	v[DELIVER_REQ_SENDER].len = strlen(req->sender);
	put_str(&v[DELIVER_REQ_DSN_ENVID], req->dsn_envid);
	put_num(&v[DELIVER_REQ_DSN_RET], req->dsn_ret);
	put_num(&v[DELIVER_REQ_ARRIVAL_US], (long)req->arrival_us);
	put_num(&v[DELIVER_REQ_ACTIVE_US], (long)req->active_us);
	put_str(&v[DELIVER_REQ_CLIENT_NAME], req->client_name);
	put_str(&v[DELIVER_REQ_CLIENT_ADDR], req->client_addr);
	put_num(&v[DELIVER_REQ_RCPT_COUNT], (long)req->rcpt_count);
	if (attr_print(&deliver_req_schema, v, out, why) < 0)
		return -1;
	for (size_t i = 0; i < req->rcpt_count; i++) {
		struct attr_value r[DELIVER_RCPT_COUNT] = {0};
		const struct deliver_rcpt *rcpt = req->rcpt + i;

		put_str(&r[DELIVER_RCPT_ADDRESS], rcpt->address);
		put_str(&r[DELIVER_RCPT_ORIG], rcpt->orig);
		put_str(&r[DELIVER_RCPT_DSN_ORCPT], rcpt->dsn_orcpt);
		put_num(&r[DELIVER_RCPT_DSN_NOTIFY], rcpt->dsn_notify);
		put_num(&r[DELIVER_RCPT_OFFSET], (long)rcpt->offset);
		if (attr_print(&deliver_rcpt_schema, r, out, why) < 0) {
			strbuf_truncate(out, start);
			return -1;
		}
	}
	return 0;
}

ssize_t deliver_reply_scan(struct deliver_request *req, const char *buf,
			   size_t len, int *status, struct strbuf *why)
{
	struct attr_value r[DELIVER_RESULT_COUNT] = {0};
	struct attr_value v[DELIVER_STATUS_COUNT] = {0};
	size_t used = 0;
	ssize_t n;

	/* Parse everything before changing req: all or nothing. */
	for (size_t i = 0; i < req->rcpt_count; i++) {
		n = attr_scan(&deliver_result_schema, buf + used, len - used, r,
			      why);
		if (n <= 0)
			return n;
		if ((off_t)r[DELIVER_RESULT_OFFSET].num !=
			req->rcpt[i].offset ||
		    r[DELIVER_RESULT_OUTCOME].num < DELIVER_RCPT_SENT ||
		    r[DELIVER_RESULT_OUTCOME].num > DELIVER_RCPT_BOUNCED ||
		    (r[DELIVER_RESULT_DSN].present &&
		     !dsn_status_ok(r[DELIVER_RESULT_DSN].str))) {
			attr_values_free(r, DELIVER_RESULT_COUNT);
			return strbuf_why(why, "%s: malformed delivery result "
					  "for recipient %zu",
					  req->queue_id, i);
		}
		attr_values_free(r, DELIVER_RESULT_COUNT);
		used += (size_t)n;
	}
	n = attr_scan(&deliver_status_schema, buf + used, len - used, v, why);
	if (n <= 0)
		return n;
	if (has_crlf(&v[DELIVER_STATUS_SITE_REASON]) ||
	    (v[DELIVER_STATUS_SITE_DSN].present &&
	     !dsn_status_ok(v[DELIVER_STATUS_SITE_DSN].str))) {
		attr_values_free(v, DELIVER_STATUS_COUNT);
		return strbuf_why(why, "%s: malformed delivery status",
				  req->queue_id);
	}
	/* Complete and valid: now fill req in. */
	size_t total = used + (size_t)n;

	used = 0;
	for (size_t i = 0; i < req->rcpt_count; i++) {
		n = attr_scan(&deliver_result_schema, buf + used, len - used, r,
			      why);
		used += (size_t)n;
		req->rcpt[i].outcome =
		    (enum deliver_outcome)r[DELIVER_RESULT_OUTCOME].num;
		snprintf(req->rcpt[i].dsn, sizeof(req->rcpt[i].dsn), "%s",
			 r[DELIVER_RESULT_DSN].present
			     ? r[DELIVER_RESULT_DSN].str
			     : "");
		attr_values_free(r, DELIVER_RESULT_COUNT);
	}
	*status = (int)v[DELIVER_STATUS_STATUS].num;
	req->site_dsn[0] = 0;
	myfree(req->site_reason);
	if (v[DELIVER_STATUS_SITE_REASON].present) {
		snprintf(req->site_dsn, sizeof(req->site_dsn), "%s",
			 v[DELIVER_STATUS_SITE_DSN].present
			     ? v[DELIVER_STATUS_SITE_DSN].str
			     : "4.0.0");
		req->site_reason = take_str(&v[DELIVER_STATUS_SITE_REASON]);
	}
	attr_values_free(v, DELIVER_STATUS_COUNT);
	return (ssize_t)total;
}
