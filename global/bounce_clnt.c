/*
 * bounce_clnt - the client side of the bounce protocol.
 *
 * Each call is one short connection: connect to the service socket
 * (relative to queue_directory, the working directory of every daemon),
 * check the handshake, send one request, read one status. Anything but
 * status 0 - including a timeout after ipc_timeout - is a failure the
 * caller must treat as "not done": an agent then leaves the recipient
 * unmarked, qmgr keeps the message.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "attr.h"
#include "bounce_clnt.h"
#include "mail_params.h"
#include "mail_queue.h"
#include "rec_type.h"
#include "sock.h"
#include "strbuf.h"

static const struct attr_spec bounce_req_specs[] = {
    [BOUNCE_ATTR_REQUEST] = {"request", ATTR_INT, 0, 1},
    [BOUNCE_ATTR_QUEUE_NAME] = {"queue_name", ATTR_STR, 16, 0},
    [BOUNCE_ATTR_QUEUE_ID] = {"queue_id", ATTR_STR, MAIL_QUEUE_ID_MAX, 1},
    [BOUNCE_ATTR_SENDER] = {"sender", ATTR_STR, REC_ADDR_MAX, 0},
    [BOUNCE_ATTR_DSN_ENVID] = {"dsn_envid", ATTR_STR, 100, 0},
    [BOUNCE_ATTR_DSN_RET] = {"dsn_ret", ATTR_INT, 0, 0},
    [BOUNCE_ATTR_RCPT_ADDRESS] = {"rcpt_address", ATTR_STR, REC_ADDR_MAX, 0},
    [BOUNCE_ATTR_RCPT_ORIG] = {"rcpt_orig", ATTR_STR, REC_ADDR_MAX, 0},
    [BOUNCE_ATTR_RCPT_ORCPT] = {"rcpt_orcpt", ATTR_STR, REC_ADDR_MAX, 0},
    [BOUNCE_ATTR_RCPT_NOTIFY] = {"rcpt_notify", ATTR_INT, 0, 0},
    [BOUNCE_ATTR_RCPT_OFFSET] = {"rcpt_offset", ATTR_LONG, 0, 0},
    [BOUNCE_ATTR_DSN_STATUS] = {"dsn_status", ATTR_STR, DSN_STATUS_MAX, 0},
    [BOUNCE_ATTR_DSN_ACTION] = {"dsn_action", ATTR_STR, 32, 0},
    [BOUNCE_ATTR_DSN_REASON] = {"dsn_reason", ATTR_STR, 0, 0},
    [BOUNCE_ATTR_DSN_DTYPE] = {"dsn_dtype", ATTR_STR, 32, 0},
    [BOUNCE_ATTR_DSN_DTEXT] = {"dsn_dtext", ATTR_STR, 0, 0},
    [BOUNCE_ATTR_DSN_MTYPE] = {"dsn_mtype", ATTR_STR, 32, 0},
    [BOUNCE_ATTR_DSN_MNAME] = {"dsn_mname", ATTR_STR, 1024, 0},
};
const struct attr_schema bounce_req_schema = {
    BOUNCE_PROTOCOL, bounce_req_specs, BOUNCE_ATTR_COUNT};

static const struct attr_spec bounce_reply_specs[] = {
    [BOUNCE_REPLY_STATUS] = {"status", ATTR_INT, 0, 1},
};
const struct attr_schema bounce_reply_schema = {
    BOUNCE_PROTOCOL, bounce_reply_specs, BOUNCE_REPLY_COUNT};

static void set_str(struct attr_value *v, const char *s)
{
	if (s == NULL)
		return;
	v->present = 1;
	v->str = (char *)s; /* attr_print only reads it */
	v->len = strlen(s);
}

static void set_num(struct attr_value *v, long n)
{
	v->present = 1;
	v->num = n;
}

/* Connect to private/<service>, send the list, read the status. */
static int bounce_call(const char *service, const struct attr_value *req,
		       struct strbuf *why)
{
	struct strbuf *path = strbuf_new(STRBUF_NO_MAX);
	struct attr_value reply[BOUNCE_REPLY_COUNT] = {0};
	struct attr_stream *in = NULL;
	int fd, rc = -1;

	(void)strbuf_printf(path, "private/%s", service);
	if ((fd = sock_unix_connect(strbuf_str(path), var_ipc_timeout, why)) <
	    0)
		goto out;
	in = attr_stream_new(fd, 0);
	if (attr_handshake_expect(in, var_ipc_timeout, BOUNCE_PROTOCOL, why) <
		0 ||
	    attr_write_fd(fd, var_ipc_timeout, &bounce_req_schema, req, why) <
		0)
		goto out;
	switch (attr_stream_read(in, var_ipc_timeout, &bounce_reply_schema,
				 reply, why)) {
	case 1:
		if (reply[BOUNCE_REPLY_STATUS].num == 0)
			rc = 0;
		else
			(void)strbuf_why(why, "%s service: request failed",
					 service);
		break;
	case 0:
		(void)strbuf_why(why, "%s service: connection closed",
				 service);
		break;
	}
out:
	if (rc < 0 && strbuf_len(why) > 0 &&
	    strncmp(strbuf_str(why), service, strlen(service)) != 0) {
		struct strbuf *tmp = strbuf_new(STRBUF_NO_MAX);

		(void)strbuf_printf(tmp, "%s service: %s", service,
				    strbuf_str(why));
		(void)strbuf_set(why, strbuf_str(tmp));
		strbuf_free(&tmp);
	}
	attr_values_free(reply, BOUNCE_REPLY_COUNT);
	attr_stream_free(&in);
	if (fd >= 0)
		close(fd);
	strbuf_free(&path);
	return rc;
}

int bounce_append(const char *service, const char *queue_id,
		  const struct bounce_rcpt *rcpt, const struct dsn *dsn,
		  struct strbuf *why)
{
	struct attr_value req[BOUNCE_ATTR_COUNT] = {0};

	if (!dsn_ok(dsn))
		return strbuf_why(why, "%s: malformed delivery status for %s",
				  queue_id, rcpt->address);
	set_num(&req[BOUNCE_ATTR_REQUEST], BOUNCE_REQ_APPEND);
	set_str(&req[BOUNCE_ATTR_QUEUE_ID], queue_id);
	set_str(&req[BOUNCE_ATTR_RCPT_ADDRESS], rcpt->address);
	set_str(&req[BOUNCE_ATTR_RCPT_ORIG], rcpt->orig);
	set_str(&req[BOUNCE_ATTR_RCPT_ORCPT], rcpt->dsn_orcpt);
	set_num(&req[BOUNCE_ATTR_RCPT_NOTIFY], rcpt->dsn_notify);
	set_num(&req[BOUNCE_ATTR_RCPT_OFFSET], (long)rcpt->offset);
	set_str(&req[BOUNCE_ATTR_DSN_STATUS], dsn->status);
	set_str(&req[BOUNCE_ATTR_DSN_ACTION], dsn->action);
	set_str(&req[BOUNCE_ATTR_DSN_REASON], dsn->reason);
	set_str(&req[BOUNCE_ATTR_DSN_DTYPE], dsn->dtype);
	set_str(&req[BOUNCE_ATTR_DSN_DTEXT], dsn->dtext);
	set_str(&req[BOUNCE_ATTR_DSN_MTYPE], dsn->mtype);
	set_str(&req[BOUNCE_ATTR_DSN_MNAME], dsn->mname);
	return bounce_call(service, req, why);
}

int bounce_request(enum bounce_request request, const struct bounce_msg *msg,
		   struct strbuf *why)
{
	struct attr_value req[BOUNCE_ATTR_COUNT] = {0};
	const char *service;

	switch (request) {
	case BOUNCE_REQ_FLUSH:
	case BOUNCE_REQ_EXPIRE:
		service = BOUNCE_SERVICE;
		break;
	case BOUNCE_REQ_WARN:
		service = DEFER_SERVICE;
		break;
	case BOUNCE_REQ_TRACE:
		service = TRACE_SERVICE;
		break;
	default:
		return strbuf_why(why, "bounce_request: bad request %d",
				  (int)request);
	}
	set_num(&req[BOUNCE_ATTR_REQUEST], request);
	set_str(&req[BOUNCE_ATTR_QUEUE_NAME], msg->queue_name);
	set_str(&req[BOUNCE_ATTR_QUEUE_ID], msg->queue_id);
	set_str(&req[BOUNCE_ATTR_SENDER], msg->sender);
	set_str(&req[BOUNCE_ATTR_DSN_ENVID], msg->dsn_envid);
	set_num(&req[BOUNCE_ATTR_DSN_RET], msg->dsn_ret);
	return bounce_call(service, req, why);
}
