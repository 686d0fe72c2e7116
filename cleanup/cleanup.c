/*
 * cleanup - canonicalize and enqueue a message: the only writer of new
 * queue files. See cleanup(8).
 *
 * One connection is one message. The conversation (global/cleanup_clnt.h):
 * cleanup creates incoming/ID (mode 0600) before it says anything, sends
 * the handshake and the queue ID, reads the request flags (strictly),
 * then the client's records up to E, writes the queue file as it goes,
 * and answers once with a status.
 *
 * Safety argument. The reply "status=0" is sent only after
 * queue_file_commit() returned 0: the file is complete (mode 0700),
 * fsynced, and its directory entry fsynced. On every other path the
 * file is removed before the reply (queue_file_abort), and a client
 * that goes away before E gets its file removed too, so a message is
 * either queued and acknowledged or not there at all. If cleanup itself
 * dies (kill -9, crash) the file it leaves is at most an incomplete 0600
 * file, which qmgr never takes and which is removed after a long bound;
 * the client, having no reply, does not say 250.
 *
 * Client input is untrusted: every record is read with the record
 * layer's length cap, only the record types a client may send are
 * accepted, in segment order, and the envelope fields go through the
 * queue library, which refuses CR, LF and NUL in them.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "attr.h"
#include "cleanup.h"
#include "cleanup_clnt.h"
#include "dict.h"
#include "mail_conf.h"
#include "mail_params.h"
#include "mail_queue.h"
#include "mail_server.h"
#include "mail_trigger.h"
#include "mime_state.h"
#include "msg.h"
#include "mymalloc.h"
#include "queue_file.h"
#include "rec_type.h"
#include "record.h"
#include "rstream.h"
#include "sock.h"
#include "strbuf.h"

static struct mail_queue *cleanup_queue;
struct cleanup_rewrite_conf cleanup_rw;
struct maps *cleanup_header_maps;
struct maps *cleanup_mime_header_maps;
struct maps *cleanup_nested_header_maps;
struct maps *cleanup_body_maps;
/* A table that could not be opened: every message is deferred (a missing
 * table must never let mail through unchecked). */
static char *cleanup_table_error;

void cleanup_fail(struct cleanup_state *st, int stat, const char *fmt, ...)
{
	va_list ap;

	if (st->errs == 0 && fmt != NULL) {
		strbuf_reset(st->reason);
		va_start(ap, fmt);
		(void)strbuf_vprintf(st->reason, fmt, ap);
		va_end(ap);
	}
	st->errs |= stat;
}

void cleanup_write_error(struct cleanup_state *st)
{
	if (st->errs == 0)
		msg_warn("%s: %s", st->queue_id, strbuf_str(st->why));
	cleanup_fail(st, CLEANUP_STAT_WRITE, "4.3.0 queue file write error");
}

/* Which record types a client may send, per segment: Postfix's set
 * without the ones only cleanup or qmgr write (version, size, pointer,
 * padding, done and canceled recipients, warning time, killed,
 * inspector, and the IPC-only milter/delay records). The flags record f
 * is accepted in the envelope: smtpd learns of a HOLD or DISCARD from an
 * access table only after the connection was opened at MAIL; so is the
 * redirect record, smtpd's REDIRECT access action. */
static int cleanup_client_type_ok(int type, unsigned seg)
{
	const char *allowed;

	switch (seg) {
	case REC_SEG_ENVELOPE:
		allowed = "TFSROonis<VAMf>";
		break;
	case REC_SEG_CONTENT:
		allowed = "NLX";
		break;
	default:
		allowed = "ROonAE";
		break;
	}
	return type > 0 && strchr(allowed, type) != NULL;
}

/* Read exactly one attribute list, byte by byte, so that none of the
 * records the client pipelines after it is consumed here. */
static int cleanup_read_flags(int fd, int *flags, struct strbuf *why)
{
	size_t max = attr_schema_max_size(&cleanup_req_schema);
	struct attr_value val[CLEANUP_REQ_COUNT] = {0};
	struct strbuf *buf = strbuf_new(max);
	ssize_t rc = 0;

	while (rc == 0) {
		char ch;
		ssize_t n;

		if (sock_wait_read(fd, var_ipc_timeout) < 0) {
			(void)strbuf_set(why, "timeout reading flags");
			rc = -1;
			break;
		}
		n = read(fd, &ch, 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || strbuf_putc(buf, ch) < 0) {
			(void)strbuf_set(why, n < 0    ? strerror(errno)
					      : n == 0 ? "lost connection"
						       : "flags list too long");
			rc = -1;
			break;
		}
		rc = attr_scan(&cleanup_req_schema, strbuf_str(buf),
			       strbuf_len(buf), val, why);
	}
	if (rc > 0) {
		*flags = (int)val[CLEANUP_REQ_FLAGS].num;
		attr_values_free(val, CLEANUP_REQ_COUNT);
	}
	strbuf_free(&buf);
	return rc > 0 ? 0 : -1;
}

static void cleanup_reply(int fd, const struct cleanup_state *st, int status,
			  const char *reason)
{
	struct attr_value val[CLEANUP_REPLY_COUNT] = {0};
	struct strbuf *why = strbuf_new(STRBUF_NO_MAX);
	char text[CLEANUP_REASON_MAX];

	/* Reasons come from tables and clients: never let one break the
	 * list (no NUL is possible here; cut at the schema's limit). */
	snprintf(text, sizeof(text), "%s", reason);
	val[CLEANUP_REPLY_STATUS].present = 1;
	val[CLEANUP_REPLY_STATUS].num = status;
	val[CLEANUP_REPLY_REASON].present = 1;
	val[CLEANUP_REPLY_REASON].str = text;
	val[CLEANUP_REPLY_REASON].len = strlen(text);
	if (attr_write_fd(fd, var_ipc_timeout, &cleanup_reply_schema, val,
			  why) < 0)
		msg_warn("%s: reply to client: %s", st->queue_id,
			 strbuf_str(why));
	strbuf_free(&why);
}

/* Wake qmgr: a lost trigger costs latency (master's wakeup timer), never
 * mail, so a failure is not worth more than a verbose log line. */
static void cleanup_trigger_qmgr(void)
{
	struct strbuf *why = strbuf_new(STRBUF_NO_MAX);

	if (mail_trigger(QMGR_SERVICE_PATH, "I", 1, why) < 0 && msg_verbose)
		msg_info("qmgr trigger: %s", strbuf_str(why));
	strbuf_free(&why);
}

static void cleanup_state_free(struct cleanup_state *st)
{
	if (st->qf != NULL)
		queue_file_abort(&st->qf);
	mime_state_free(&st->mime);
	strbuf_free(&st->reason);
	strbuf_free(&st->why);
	strbuf_free(&st->addr);
	strbuf_free(&st->discard_reason);
	myfree(st->sender);
	myfree(st->fullname);
	myfree(st->client_name);
	myfree(st->client_addr);
	myfree(st->sasl_user);
	myfree(st->orig_rcpt);
	myfree(st->dsn_orcpt);
	myfree(st->first_rcpt);
	myfree(st->redirect);
	myfree(st->filter);
	for (size_t i = 0; i < st->rcpt_seen_count; i++)
		myfree(st->rcpt_seen[i]);
	myfree(st->rcpt_seen);
}

/* E arrived: write the extracted segment's own records, then commit. */
static void cleanup_finish(struct cleanup_state *st)
{
	if (st->errs == 0 && st->rcpt_count == 0)
		cleanup_fail(st, CLEANUP_STAT_RCPT,
			     "5.5.1 no recipients specified");
	if (st->errs != 0 || st->discard)
		return;
	if ((st->redirect != NULL &&
	     queue_file_put(st->qf, REC_TYPE_RDR, st->redirect,
			    strlen(st->redirect), st->why) < 0) ||
	    (st->filter != NULL && queue_file_attr(st->qf, "content_filter",
						   st->filter, st->why) < 0)) {
		cleanup_write_error(st);
		return;
	}
	/* The 8-bit flag says what a delivery agent must announce (BODY=
	 * 8BITMIME) or convert: content that has 8-bit octets, or that the
	 * client declared 8-bit. SMTPUTF8 is needed only when the client
	 * asked for it and something it covers (an envelope address or a
	 * top-level header) really is not ASCII. */
	if (queue_file_set_flags(
		st->qf,
		((st->mime_flags & MIME_FLAG_8BIT) || st->declared_8bit
		     ? QUEUE_SIZE_FLAG_8BIT
		     : 0) |
		    (st->smtputf8 && st->utf8_seen ? QUEUE_SIZE_FLAG_SMTPUTF8
						   : 0)) < 0)
		msg_panic("%s: bad size record flags", st->queue_id);
	if (st->hold &&
	    queue_file_requeue(st->qf, MAIL_QUEUE_HOLD, st->why) < 0) {
		cleanup_write_error(st);
		return;
	}
	if (queue_file_commit(&st->qf, st->why) < 0)
		cleanup_write_error(st);
}

static void cleanup_service(int fd, const char *service, char **argv)
{
	struct cleanup_state st = {0};
	struct timeval tv = {.tv_sec = var_ipc_timeout};
	struct timeval now;
	struct rstream *in = NULL;
	struct strbuf *rec;
	unsigned seg = REC_SEG_ENVELOPE;
	int type, ended = 0;
	const char *status_text;

	(void)service;
	(void)argv;
	st.reason = strbuf_new(CLEANUP_REASON_MAX);
	st.why = strbuf_new(STRBUF_NO_MAX);
	st.addr = strbuf_new(REC_ADDR_MAX);
	st.discard_reason = strbuf_new(CLEANUP_REASON_MAX);
	gettimeofday(&now, NULL);
	st.arrival_sec = now.tv_sec;
	st.arrival_usec = now.tv_usec;

	/* The file exists before the client hears its ID. */
	if (queue_file_create(cleanup_queue, MAIL_QUEUE_INCOMING, &st.qf,
			      st.why) < 0) {
		msg_warn("cannot create queue file: %s", strbuf_str(st.why));
		goto out;
	}
	queue_file_set_line_limit(st.qf, (size_t)var_line_length_limit);
	snprintf(st.queue_id, sizeof(st.queue_id), "%s", queue_file_id(st.qf));
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0)
		msg_warn("setsockopt SO_RCVTIMEO: %m");
	if (attr_handshake_send(fd, var_ipc_timeout, CLEANUP_PROTOCOL,
				st.why) < 0) {
		msg_warn("%s: handshake: %s", st.queue_id, strbuf_str(st.why));
		goto out;
	}
	{
		struct attr_value id[CLEANUP_ID_COUNT] = {0};

		id[CLEANUP_ID_QUEUE_ID].present = 1;
		id[CLEANUP_ID_QUEUE_ID].str = st.queue_id;
		id[CLEANUP_ID_QUEUE_ID].len = strlen(st.queue_id);
		if (attr_write_fd(fd, var_ipc_timeout, &cleanup_id_schema,
				  id, st.why) < 0) {
			msg_warn("%s: send queue ID: %s", st.queue_id,
				 strbuf_str(st.why));
			goto out;
		}
	}
	if (cleanup_read_flags(fd, &st.flags, st.why) < 0) {
		msg_warn("%s: reading request flags: %s", st.queue_id,
			 strbuf_str(st.why));
		goto out;
	}
	if ((st.flags & ~CLEANUP_FLAG_MASK) != 0) {
		msg_warn("%s: unknown request flags 0x%x", st.queue_id,
			 st.flags & ~CLEANUP_FLAG_MASK);
		cleanup_fail(&st, CLEANUP_STAT_BAD,
			     "4.3.0 internal protocol error");
	}
	if (cleanup_table_error != NULL) {
		msg_warn("%s: %s", st.queue_id, cleanup_table_error);
		cleanup_fail(&st, CLEANUP_STAT_WRITE,
			     "4.3.0 table lookup error");
	}
	if (st.flags & CLEANUP_FLAG_HOLD)
		st.hold = 1;
	if (st.flags & CLEANUP_FLAG_DISCARD)
		st.discard = 1;

	in = rstream_fdopen(fd, 0);
	rec = strbuf_new(REC_ATTR_MAX);
	while (!ended) {
		int rc = rec_get(in, &type, rec, REC_ATTR_MAX, REC_FLAG_NONE,
				 st.why);
		int err = rstream_error(in);

		if (rc < 0 && err == 0) {
			msg_warn("%s: malformed record from client: %s",
				 st.queue_id, strbuf_str(st.why));
			break;
		}
		if (rc < 0 || type == REC_TYPE_EOF) {
			msg_warn("%s: lost connection with client before the "
				 "end of the message%s",
				 st.queue_id,
				 err == EAGAIN || err == EWOULDBLOCK
				     ? " (timeout)"
				     : "");
			break;
		}
		if (!cleanup_client_type_ok(type, seg)) {
			/* Out of order or not a client's to send: the
			 * stream cannot be trusted any further. */
			msg_warn("%s: unexpected %s record from client in "
				 "the %s segment",
				 st.queue_id, rec_type_name(type),
				 rec_segment_name(seg));
			break;
		}
		switch (type) {
		case REC_TYPE_MESG:
			seg = REC_SEG_CONTENT;
			cleanup_message_start(&st);
			break;
		case REC_TYPE_XTRA:
			seg = REC_SEG_EXTRACTED;
			cleanup_message_end(&st);
			break;
		case REC_TYPE_NORM:
		case REC_TYPE_CONT:
			cleanup_message_piece(&st, type, rec->data,
					      strbuf_len(rec));
			break;
		case REC_TYPE_END:
			if (seg == REC_SEG_CONTENT)
				cleanup_message_end(&st);
			if (seg == REC_SEG_ENVELOPE)
				cleanup_fail(&st, CLEANUP_STAT_BAD,
					     "4.3.0 message has no content");
			ended = 1;
			break;
		default:
			cleanup_envelope(&st, type, strbuf_str(rec),
					 strbuf_len(rec));
			break;
		}
	}
	strbuf_free(&rec);
	rstream_release(&in);
	if (!ended)
		goto out; /* no reply: the client is gone or out of sync */

	cleanup_finish(&st);
	if (st.errs == 0 && st.discard) {
		msg_info("%s: discarded%s%s", st.queue_id,
			 strbuf_len(st.discard_reason) ? ": " : "",
			 strbuf_str(st.discard_reason));
		queue_file_abort(&st.qf);
		cleanup_reply(fd, &st, CLEANUP_STAT_OK, "");
	} else if (st.errs == 0) {
		cleanup_reply(fd, &st, CLEANUP_STAT_OK, "");
		cleanup_trigger_qmgr();
	} else {
		queue_file_abort(&st.qf);
		status_text = strbuf_len(st.reason) ? strbuf_str(st.reason)
						    : "4.3.0 internal error";
		if (msg_verbose)
			msg_info("%s: status %d: %s", st.queue_id, st.errs,
				 status_text);
		cleanup_reply(fd, &st, st.errs, status_text);
	}
out:
	cleanup_state_free(&st);
}

static struct maps *cleanup_open_maps(const char *param,
					      const char *value)
{
	char *err = NULL;
	struct maps *maps = maps_open(param, value, &err);

	if (err != NULL) {
		msg_warn("%s; deferring all mail until it is fixed", err);
		if (cleanup_table_error == NULL)
			cleanup_table_error = err;
		else
			myfree(err);
	}
	return maps;
}

/* Tables are opened before the privilege drop (they may be root-only
 * files or outside a chroot), as Postfix does. */
static void cleanup_pre_jail(const char *service, char **argv)
{
	(void)service;
	(void)argv;
	cleanup_rw.myorigin = var_myorigin;
	cleanup_rw.mydomain = var_mydomain;
	cleanup_rw.mydestination = var_mydestination;
	cleanup_rw.append_dot_mydomain = var_append_dot_mydomain;
	cleanup_rw.recursion_limit = var_virtual_alias_recursion_limit;
	cleanup_rw.expansion_limit = var_virtual_alias_expansion_limit;
	cleanup_rw.canonical =
	    cleanup_open_maps("canonical_maps", var_canonical_maps);
	cleanup_rw.sender_canonical = cleanup_open_maps(
	    "sender_canonical_maps", var_sender_canonical_maps);
	cleanup_rw.recipient_canonical = cleanup_open_maps(
	    "recipient_canonical_maps", var_recipient_canonical_maps);
	cleanup_rw.virtual_alias =
	    cleanup_open_maps("virtual_alias_maps", var_virtual_alias_maps);
	cleanup_header_maps =
	    cleanup_open_maps("header_checks", var_header_checks);
	cleanup_mime_header_maps =
	    cleanup_open_maps("mime_header_checks", var_mime_header_checks);
	cleanup_nested_header_maps =
	    cleanup_open_maps("nested_header_checks", var_nested_header_checks);
	cleanup_body_maps = cleanup_open_maps("body_checks", var_body_checks);
}

/* The queue directory is our working directory (master chdir'ed there;
 * after a chroot it is "/"): open it relative, once. */
static void cleanup_post_jail(const char *service, char **argv)
{
	struct strbuf *why = strbuf_new(STRBUF_NO_MAX);

	(void)service;
	(void)argv;
	if ((cleanup_queue = mail_queue_open_main(".", why)) == NULL)
		msg_fatal("open queue: %s", strbuf_str(why));
	strbuf_free(&why);
}

int main(int argc, char **argv)
{
	static const struct server_def def = {
	    .name = "cleanup",
	    .kind = SERVER_SINGLE,
	    .service = cleanup_service,
	    .pre_jail = cleanup_pre_jail,
	    .post_jail = cleanup_post_jail,
	    .unlimited = 1,
	};

	mail_server_main(argc, argv, &def);
}
