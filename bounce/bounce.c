/*
 * bounce - keep the per-message status logs and send the delivery status
 * notifications made from them. See bounce(8).
 *
 * One program serves three master.cf services, as Postfix's does; the
 * service name says which log a request works on: "bounce" (bounce/ID,
 * recipients that failed), "defer" (defer/ID, the reasons mail was
 * deferred) and "trace" (trace/ID, deliveries a sender asked to hear
 * about). One request per connection (global/bounce_clnt.h): handshake,
 * one request list, one reply list with status 0 (done) or 1 (not done:
 * try again later).
 *
 * Safety argument. The reply "status=0" to an APPEND is sent only after
 * the record is fsync'ed (bounce_log_append): the agent then marks the
 * recipient done, so a crash can never leave a recipient both marked and
 * unlogged. A FLUSH, EXPIRE or TRACE removes its log only after cleanup
 * said the notification is queued; a failure anywhere leaves the log for
 * the next attempt (a duplicate notice at worst, never a lost one).
 * qmgr asks for a FLUSH only once no delivery of the message is in
 * progress, so no APPEND can land between reading a log and removing it.
 *
 * Requests come from other postern programs, which are trusted to speak
 * the protocol but not to send good data: every field is checked (queue
 * name and ID, the DSN status and its text) before it reaches a file
 * name, a log or a notification.
 */
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "attr.h"
#include "bounce.h"
#include "bounce_clnt.h"
#include "bounce_log.h"
#include "dsn.h"
#include "mail_conf.h"
#include "mail_params.h"
#include "mail_queue.h"
#include "mail_server.h"
#include "msg.h"
#include "strbuf.h"

struct mail_queue *bounce_queue;

static const char *req_name(long req)
{
	switch (req) {
	case BOUNCE_REQ_APPEND:
		return "append";
	case BOUNCE_REQ_FLUSH:
		return "flush";
	case BOUNCE_REQ_EXPIRE:
		return "expire";
	case BOUNCE_REQ_WARN:
		return "warn";
	case BOUNCE_REQ_TRACE:
		return "trace";
	default:
		return "unknown";
	}
}

/* The string value of attribute i, or "" when absent. */
static const char *val_str(const struct attr_value *val, int i)
{
	return val[i].present && val[i].str != NULL ? val[i].str : "";
}

/* Which requests each service takes: a FLUSH sent to the defer service
 * would otherwise bounce mail that is only deferred. */
static int req_allowed(const char *service, long req)
{
	switch (req) {
	case BOUNCE_REQ_APPEND:
		return 1;
	case BOUNCE_REQ_FLUSH:
	case BOUNCE_REQ_EXPIRE:
		return strcmp(service, BOUNCE_SERVICE) == 0;
	case BOUNCE_REQ_WARN:
		return strcmp(service, DEFER_SERVICE) == 0;
	case BOUNCE_REQ_TRACE:
		return strcmp(service, TRACE_SERVICE) == 0;
	default:
		return 0;
	}
}

static int do_append(const char *service, const struct attr_value *val,
		     struct strbuf *why)
{
	struct bounce_rcpt rcpt = {
	    .address = val_str(val, BOUNCE_ATTR_RCPT_ADDRESS),
	    .orig = val_str(val, BOUNCE_ATTR_RCPT_ORIG),
	    .dsn_orcpt = val_str(val, BOUNCE_ATTR_RCPT_ORCPT),
	    .dsn_notify = (int)val[BOUNCE_ATTR_RCPT_NOTIFY].num,
	    .offset = (off_t)val[BOUNCE_ATTR_RCPT_OFFSET].num,
	};
	struct dsn dsn = {
	    .status = val_str(val, BOUNCE_ATTR_DSN_STATUS),
	    .action = val_str(val, BOUNCE_ATTR_DSN_ACTION),
	    .reason = val_str(val, BOUNCE_ATTR_DSN_REASON),
	    .dtype = val_str(val, BOUNCE_ATTR_DSN_DTYPE),
	    .dtext = val_str(val, BOUNCE_ATTR_DSN_DTEXT),
	    .mtype = val_str(val, BOUNCE_ATTR_DSN_MTYPE),
	    .mname = val_str(val, BOUNCE_ATTR_DSN_MNAME),
	};
	struct timeval tv;

	if (*rcpt.address == 0)
		return strbuf_why(why, "append without a recipient");
	if (!val[BOUNCE_ATTR_DSN_STATUS].present ||
	    !val[BOUNCE_ATTR_DSN_ACTION].present || !dsn_ok(&dsn))
		return strbuf_why(why, "malformed delivery status for %s",
				  rcpt.address);
	if (rcpt.dsn_notify < 0 || rcpt.dsn_notify > 0xff || rcpt.offset < 0)
		return strbuf_why(why, "malformed notify or offset for %s",
				  rcpt.address);
	gettimeofday(&tv, NULL);
	return bounce_log_append(bounce_queue, service,
				 val_str(val, BOUNCE_ATTR_QUEUE_ID), &rcpt,
				 &dsn, (int64_t)tv.tv_sec, why);
}

static int do_request(const char *service, const struct attr_value *val,
		      struct strbuf *why)
{
	long req = val[BOUNCE_ATTR_REQUEST].num;
	const char *id = val_str(val, BOUNCE_ATTR_QUEUE_ID);
	struct bounce_msg msg;

	if (!req_allowed(service, req))
		return strbuf_why(why,
				  "request %s (%ld) is not served by the "
				  "%s service",
				  req_name(req), req, service);
	if (!mail_queue_id_ok(id))
		return strbuf_why(why, "malformed queue ID");
	if (req == BOUNCE_REQ_APPEND)
		return do_append(service, val, why);
	msg.queue_name = val_str(val, BOUNCE_ATTR_QUEUE_NAME);
	msg.queue_id = id;
	msg.sender = val_str(val, BOUNCE_ATTR_SENDER);
	msg.dsn_envid = val_str(val, BOUNCE_ATTR_DSN_ENVID);
	msg.dsn_ret = (int)val[BOUNCE_ATTR_DSN_RET].num;
	if (!mail_queue_name_ok(msg.queue_name))
		return strbuf_why(why, "malformed queue name");
	if (strchr(msg.sender, '\r') || strchr(msg.sender, '\n') ||
	    strchr(msg.dsn_envid, '\r') || strchr(msg.dsn_envid, '\n'))
		return strbuf_why(why, "control characters in sender or envid");
	return bounce_notify((enum bounce_request)req, &msg, why);
}

static void bounce_reply(int fd, int status)
{
	struct attr_value reply[BOUNCE_REPLY_COUNT] = {0};
	struct strbuf *why = strbuf_new(STRBUF_NO_MAX);

	reply[BOUNCE_REPLY_STATUS].present = 1;
	reply[BOUNCE_REPLY_STATUS].num = status;
	if (attr_write_fd(fd, var_ipc_timeout, &bounce_reply_schema, reply,
			  why) < 0)
		msg_warn("reply to client: %s", strbuf_str(why));
	strbuf_free(&why);
}

static void bounce_service(int fd, const char *service, char **argv)
{
	struct attr_value val[BOUNCE_ATTR_COUNT] = {0};
	struct strbuf *why = strbuf_new(STRBUF_NO_MAX);
	struct attr_stream *in = attr_stream_new(fd, 0);
	int rc;

	(void)argv;
	if (attr_handshake_send(fd, var_ipc_timeout, BOUNCE_PROTOCOL, why) <
	    0) {
		msg_warn("handshake: %s", strbuf_str(why));
		goto out;
	}
	rc =
	    attr_stream_read(in, var_ipc_timeout, &bounce_req_schema, val, why);
	if (rc == 0)
		goto out; /* the client went away without asking */
	if (rc < 0) {
		msg_warn("malformed request: %s", strbuf_str(why));
		bounce_reply(fd, 1);
		goto out;
	}
	if (do_request(service, val, why) < 0) {
		msg_warn("%s: %s %s: %s",
			 mail_queue_id_ok(val_str(val, BOUNCE_ATTR_QUEUE_ID))
			     ? val_str(val, BOUNCE_ATTR_QUEUE_ID)
			     : "(bad queue ID)",
			 service, req_name(val[BOUNCE_ATTR_REQUEST].num),
			 strbuf_str(why));
		bounce_reply(fd, 1);
	} else {
		bounce_reply(fd, 0);
	}
out:
	attr_values_free(val, BOUNCE_ATTR_COUNT);
	attr_stream_free(&in);
	strbuf_free(&why);
}

/* The queue directory is our working directory (master chdir'ed there). */
static void bounce_post_jail(const char *service, char **argv)
{
	struct strbuf *why = strbuf_new(STRBUF_NO_MAX);

	(void)argv;
	/* The service name is the log's queue: anything else would have
	 * us write logs nobody reads. */
	if (strcmp(service, BOUNCE_SERVICE) != 0 &&
	    strcmp(service, DEFER_SERVICE) != 0 &&
	    strcmp(service, TRACE_SERVICE) != 0)
		msg_fatal("master.cf service name \"%s\": the bounce program "
			  "serves only bounce, defer and trace",
			  service);
	if ((bounce_queue = mail_queue_open_main(".", why)) == NULL)
		msg_fatal("open queue: %s", strbuf_str(why));
	strbuf_free(&why);
}

int main(int argc, char **argv)
{
	static const struct server_def def = {
	    .name = "bounce",
	    .kind = SERVER_SINGLE,
	    .service = bounce_service,
	    .post_jail = bounce_post_jail,
	    .unlimited = 1,
	};

	mail_server_main(argc, argv, &def);
}
