/*
 * smtp_proto - the SMTP and LMTP client conversation (RFC 5321, 2033).
 *
 * One session: greeting, EHLO (HELO when EHLO is refused) or LHLO, then
 * one mail transaction per delivery request: MAIL FROM with SIZE, BODY,
 * SMTPUTF8, RET and ENVID as the server allows; one RCPT TO per pending
 * recipient with NOTIFY and ORCPT when the server offers DSN; DATA and
 * the content from the queue file, dot-stuffed, CR LF terminated. With
 * PIPELINING, MAIL, the RCPTs and DATA go out as one group and the
 * replies are read in order afterwards (RFC 2920).
 *
 * Who hears what: a reply to RCPT settles its recipient; a reply to MAIL
 * FROM or DATA, and the reply after the final dot, settles every
 * recipient still open; LMTP answers the final dot once per accepted
 * recipient, in RCPT order. Every recipient is settled through
 * deliver_completed() (smtp.c's job is only to sync and answer qmgr), so
 * a recipient is marked done exactly when the server said 2xx for it.
 * When the session breaks (timeout, lost connection, malformed reply),
 * every recipient still open is deferred with the reason.
 *
 * Input is outside data: reply lines are bounded (SMTP_REPLY_LINE_LIMIT,
 * the rest of a longer line is dropped), replies have at most
 * SMTP_REPLY_LINES_MAX lines and SMTP_REPLY_TEXT_MAX bytes of text, and
 * control bytes in the text become '?' before they reach a log or a
 * bounce. Every read and write has a timeout (the smtp_*_timeout
 * parameters, per operation as in Postfix).
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "deliver_request.h"
#include "dsn.h"
#include "mail_params.h"
#include "msg.h"
#include "mymalloc.h"
#include "queue_file.h"
#include "rec_type.h"
#include "smtp.h"
#include "smtp_addr.h"
#include "sock.h"
#include "strbuf.h"

/* Flush the output buffer when it holds this much message content. */
#define SMTP_OBUF_FLUSH 8192
/* Most bytes of pipelined commands written before their replies are
 * read (see send_upto). */
#define SMTP_PIPELINE_WINDOW 4096

void smtp_resp_init(struct smtp_resp *resp)
{
	memset(resp, 0, sizeof(*resp));
	resp->text = strbuf_new(SMTP_REPLY_TEXT_MAX);
	resp->lines = strbuf_new(SMTP_REPLY_TEXT_MAX);
}

void smtp_resp_free(struct smtp_resp *resp)
{
	strbuf_free(&resp->text);
	strbuf_free(&resp->lines);
}

struct smtp_session *smtp_session_new(int fd, const struct smtp_target *t)
{
	struct smtp_session *sess = mycalloc(1, sizeof(*sess));

	sess->fd = fd;
	sess->target = *t;
	if (t->port[0])
		snprintf(sess->relay, sizeof(sess->relay), "%s[%s]:%s", t->host,
			 t->addr, t->port);
	else
		snprintf(sess->relay, sizeof(sess->relay), "%s[%s]", t->host,
			 t->addr);
	snprintf(sess->hostaddr, sizeof(sess->hostaddr), "%s[%s]", t->host,
		 t->addr);
	sess->obuf = strbuf_new(STRBUF_NO_MAX);
	sess->why = strbuf_new(1024);
	return sess;
}

void smtp_session_free(struct smtp_session **sessp)
{
	struct smtp_session *sess = *sessp;

	if (sess == NULL)
		return;
	if (sess->fd >= 0)
		close(sess->fd);
	strbuf_free(&sess->obuf);
	strbuf_free(&sess->why);
	myfree(sess->key);
	myfree(*sessp);
}

/* Mark the session unusable with a reason; -1. */
static int __attribute__((format(printf, 2, 3)))
sess_break(struct smtp_session *sess, const char *fmt, ...)
{
	va_list ap;

	sess->broken = 1;
	strbuf_reset(sess->why);
	va_start(ap, fmt);
	strbuf_vprintf(sess->why, fmt, ap);
	va_end(ap);
	return -1;
}

static int sess_io_fail(struct smtp_session *sess, const char *during)
{
	if (errno == ETIMEDOUT) {
		sess->timed_out = 1;
		return sess_break(sess, "conversation with %s timed out %s",
				  sess->hostaddr, during);
	}
	if (errno == 0 || errno == EPIPE || errno == ECONNRESET)
		return sess_break(sess, "lost connection with %s %s",
				  sess->hostaddr, during);
	return sess_break(sess, "lost connection with %s %s: %s",
			  sess->hostaddr, during, strerror(errno));
}

/* Write out the output buffer, each wait bounded by timeout. */
static int sess_flush(struct smtp_session *sess, int timeout,
		      const char *during)
{
	size_t off = 0, len = strbuf_len(sess->obuf);

	if (sess->broken)
		return -1;
	while (off < len) {
		ssize_t n =
		    write(sess->fd, strbuf_str(sess->obuf) + off, len - off);

		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (sock_wait_write(sess->fd,
					    timeout > 0 ? timeout : -1) < 0)
				return sess_io_fail(sess, during);
			continue;
		}
		return sess_io_fail(sess, during);
	}
	strbuf_reset(sess->obuf);
	return 0;
}

/* One byte from the server, or -1 (broken). */
static int sess_getc(struct smtp_session *sess, int timeout, const char *during)
{
	while (sess->ipos >= sess->ilen) {
		ssize_t n;

		if (sock_wait_read(sess->fd, timeout > 0 ? timeout : -1) < 0)
			return sess_io_fail(sess, during);
		n = read(sess->fd, sess->ibuf, sizeof(sess->ibuf));
		if (n == 0) {
			errno = 0;
			return sess_io_fail(sess, during);
		}
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN ||
			    errno == EWOULDBLOCK)
				continue;
			return sess_io_fail(sess, during);
		}
		sess->ipos = 0;
		sess->ilen = (size_t)n;
	}
	/* UNSAFE: ipos < ilen <= sizeof(ibuf), checked by the loop. */
	return (unsigned char)sess->ibuf[sess->ipos++];
}

/* The enhanced status at the start of text, if it matches code's class. */
static void resp_take_enh(struct smtp_resp *resp, const char *text)
{
	char tok[DSN_STATUS_MAX];
	size_t n = strcspn(text, " ");

	resp->enh[0] = 0;
	if (n == 0 || n >= sizeof(tok) || text[0] != '0' + resp->code / 100)
		return;
	memcpy(tok, text, n);
	tok[n] = 0;
	if (dsn_status_ok(tok))
		memcpy(resp->enh, tok, n + 1);
}

/* Control bytes in a reply line become '?': the text goes to logs and
 * bounces, and must not forge a line there. */
static void resp_sanitize(struct strbuf *line)
{
	/* UNSAFE: the loop indexes below len, the buffer's content. */
	for (size_t i = 0; i < line->len; i++) {
		unsigned char c = (unsigned char)line->data[i];

		if (c < 0x20 || c == 0x7f)
			line->data[i] = '?';
	}
}

int smtp_resp_read_during(struct smtp_session *sess, int timeout,
			  struct smtp_resp *resp, const char *during)
{
	struct strbuf *line = strbuf_new(SMTP_REPLY_LINE_LIMIT);
	int ret = -1;

	strbuf_reset(resp->text);
	strbuf_reset(resp->lines);
	resp->code = 0;
	resp->enh[0] = 0;
	if (sess->broken)
		goto out;
	for (int nlines = 0;; nlines++) {
		const char *p;
		size_t len;
		int ch, code, last;

		if (nlines >= SMTP_REPLY_LINES_MAX) {
			sess_break(sess,
				   "malformed reply from %s: too many "
				   "lines",
				   sess->hostaddr);
			goto out;
		}
		strbuf_reset(line);
		while ((ch = sess_getc(sess, timeout, during)) != '\n') {
			if (ch < 0)
				goto out;
			/* Past the limit the rest of the line is dropped. */
			(void)strbuf_putc(line, ch);
		}
		len = strbuf_len(line);
		if (len > 0 && strbuf_str(line)[len - 1] == '\r')
			strbuf_truncate(line, --len);
		resp_sanitize(line);
		p = strbuf_str(line);
		if (len < 3 || p[0] < '2' || p[0] > '5' || p[1] < '0' ||
		    p[1] > '9' || p[2] < '0' || p[2] > '9' ||
		    (len > 3 && p[3] != ' ' && p[3] != '-')) {
			sess_break(sess, "malformed reply from %s: %.100s",
				   sess->hostaddr, p);
			goto out;
		}
		code = (p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0');
		last = len == 3 || p[3] == ' ';
		if (resp->code == 0)
			resp->code = code;
		if (strbuf_len(resp->text) > 0)
			(void)strbuf_putc(resp->text, ' ');
		(void)strbuf_append(resp->text, p, len);
		(void)strbuf_puts(resp->lines, len > 4 ? p + 4 : "");
		(void)strbuf_putc(resp->lines, '\n');
		if (last) {
			/* The last line's code is the reply's (RFC 5321 says
			 * they are all the same). */
			resp->code = code;
			resp_take_enh(resp, len > 4 ? p + 4 : "");
			break;
		}
	}
	if (resp->code == 421) {
		/* The server is closing: nothing more can be read. */
		sess_break(sess, "host %s said: %s", sess->hostaddr,
			   strbuf_str(resp->text));
	}
	ret = 0;
out:
	strbuf_free(&line);
	return ret;
}

static void sess_printf(struct smtp_session *sess, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void sess_printf(struct smtp_session *sess, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void)strbuf_vprintf(sess->obuf, fmt, ap);
	va_end(ap);
	(void)strbuf_puts(sess->obuf, "\r\n");
}

/* Send one command and read its reply. */
static int sess_command(struct smtp_session *sess, int timeout,
			struct smtp_resp *resp, const char *during,
			const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static int sess_command(struct smtp_session *sess, int timeout,
			struct smtp_resp *resp, const char *during,
			const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void)strbuf_vprintf(sess->obuf, fmt, ap);
	va_end(ap);
	(void)strbuf_puts(sess->obuf, "\r\n");
	if (sess_flush(sess, timeout, during) < 0)
		return -1;
	return smtp_resp_read_during(sess, timeout, resp, during);
}

/* The EHLO keywords we use. */
static void sess_features(struct smtp_session *sess, const struct smtp_resp *r)
{
	const char *p = strbuf_str(r->lines);

	sess->features = SMTP_FEATURE_ESMTP;
	sess->size_limit = 0;
	/* The first line is the server's name, not a keyword. */
	p = strchr(p, '\n');
	while (p != NULL && *++p) {
		size_t n = strcspn(p, " \n");

		if (n == 10 && strncasecmp(p, "PIPELINING", n) == 0)
			sess->features |= SMTP_FEATURE_PIPELINING;
		else if (n == 8 && strncasecmp(p, "8BITMIME", n) == 0)
			sess->features |= SMTP_FEATURE_8BITMIME;
		else if (n == 3 && strncasecmp(p, "DSN", n) == 0)
			sess->features |= SMTP_FEATURE_DSN;
		else if (n == 8 && strncasecmp(p, "SMTPUTF8", n) == 0)
			sess->features |= SMTP_FEATURE_SMTPUTF8;
		else if (n == 4 && strncasecmp(p, "SIZE", n) == 0) {
			char *end;
			unsigned long long v;

			sess->features |= SMTP_FEATURE_SIZE;
			if (p[4] == ' ') {
				errno = 0;
				v = strtoull(p + 5, &end, 10);
				if (errno == 0 && end != p + 5 &&
				    (*end == '\n' || *end == ' '))
					sess->size_limit = v;
			}
		}
		p = strchr(p, '\n');
	}
}

/* A failed hello: the DSN and reason for every recipient, if this was
 * the last server to try. */
static void hello_fail(struct smtp_session *sess, struct smtp_fail *fail,
		       const struct smtp_resp *r, const char *what)
{
	int final = r->code >= 500;

	if (r->code >= 500 && r->code < 600 && what == NULL &&
	    smtp_params.skip_5xx_greeting)
		final = 0;
	snprintf(fail->dsn, sizeof(fail->dsn), "%s",
		 r->enh[0] ? r->enh : (final ? "5.0.0" : "4.0.0"));
	if (!final)
		fail->dsn[0] = '4';
	strbuf_reset(fail->reason);
	if (what == NULL)
		strbuf_printf(fail->reason, "host %s refused to talk to me: %s",
			      sess->hostaddr, strbuf_str(r->text));
	else
		strbuf_printf(fail->reason,
			      "host %s said: %s (in reply to %s command)",
			      sess->hostaddr, strbuf_str(r->text), what);
	strbuf_set(fail->dtext, strbuf_str(r->text));
	snprintf(fail->mname, sizeof(fail->mname), "%s", sess->target.host);
	fail->site = 1;
}

static void broken_fail(struct smtp_session *sess, struct smtp_fail *fail)
{
	snprintf(fail->dsn, sizeof(fail->dsn), "4.4.2");
	strbuf_set(fail->reason, strbuf_str(sess->why));
	strbuf_reset(fail->dtext);
	fail->mname[0] = 0;
	fail->site = 1;
}

int smtp_proto_hello(struct smtp_session *sess, struct smtp_fail *fail)
{
	struct smtp_resp r;
	int ret = -1;

	smtp_resp_init(&r);
	if (smtp_resp_read_during(sess, smtp_params.helo_timeout, &r,
				  "while receiving the initial server "
				  "greeting") < 0) {
		broken_fail(sess, fail);
		goto out;
	}
	if (r.code / 100 != 2) {
		hello_fail(sess, fail, &r, NULL);
		goto out;
	}
	if (smtp_params.lmtp) {
		if (sess_command(sess, smtp_params.helo_timeout, &r,
				 "while performing the LHLO handshake",
				 "LHLO %s", smtp_params.helo_name) < 0) {
			broken_fail(sess, fail);
			goto out;
		}
		if (r.code / 100 != 2) {
			hello_fail(sess, fail, &r, "LHLO");
			goto out;
		}
		sess_features(sess, &r);
		ret = 0;
		goto out;
	}
	if (sess_command(sess, smtp_params.helo_timeout, &r,
			 "while performing the EHLO handshake", "EHLO %s",
			 smtp_params.helo_name) < 0) {
		broken_fail(sess, fail);
		goto out;
	}
	if (r.code / 100 == 2) {
		sess_features(sess, &r);
		ret = 0;
		goto out;
	}
	if (r.code == 421) {
		hello_fail(sess, fail, &r, "EHLO");
		goto out;
	}
	/* An old server: plain SMTP. */
	if (sess_command(sess, smtp_params.helo_timeout, &r,
			 "while performing the HELO handshake", "HELO %s",
			 smtp_params.helo_name) < 0) {
		broken_fail(sess, fail);
		goto out;
	}
	if (r.code / 100 != 2) {
		hello_fail(sess, fail, &r, "HELO");
		goto out;
	}
	sess->features = 0;
	ret = 0;
out:
	smtp_resp_free(&r);
	return ret;
}

int smtp_proto_rset(struct smtp_session *sess)
{
	struct smtp_resp r;
	int ret;

	smtp_resp_init(&r);
	ret = sess_command(sess, smtp_params.rset_timeout, &r,
			   "while sending RSET", "RSET");
	if (ret == 0 && r.code / 100 != 2)
		ret = -1;
	smtp_resp_free(&r);
	return ret;
}

void smtp_proto_quit(struct smtp_session *sess, int timeout)
{
	struct smtp_resp r;

	if (!sess->broken) {
		smtp_resp_init(&r);
		(void)sess_command(sess, timeout, &r, "while sending QUIT",
				   "QUIT");
		smtp_resp_free(&r);
	}
}

/* --- the mail transaction --- */

struct xfer {
	struct smtp_session *sess;
	struct deliver_request *req;
	struct queue_file *qf;
	size_t *idx; /* the recipients in this transaction */
	size_t count;
	int *accepted; /* per idx entry: RCPT got 2xx */
	size_t naccepted;
	int dsn_passed; /* the server took NOTIFY/ORCPT */
	size_t next;	/* commands queued so far (see send_upto) */
	struct strbuf *reason;
};

/* Settle recipient req->rcpt[i] with a reply or a reason. */
static void settle(struct xfer *x, size_t i, const char *status,
		   const char *reason, const char *dtext)
{
	struct dsn dsn = {
	    .status = status,
	    .action = status[0] == '2'
			  ? (x->dsn_passed ? "delivered" : "relayed")
		      : status[0] == '4' ? "delayed"
					 : "failed",
	    .reason = reason,
	    .dtype = dtext[0] ? "smtp" : "",
	    .dtext = dtext,
	    .mtype = "dns",
	    .mname = x->sess->target.host,
	};

	if (x->req->rcpt[i].outcome != DELIVER_RCPT_PENDING)
		return;
	(void)deliver_completed(x->req, i, x->qf, &dsn, x->sess->relay,
				x->dsn_passed);
}

/* Settle with the server's reply to a command. */
static void settle_reply(struct xfer *x, size_t i, const struct smtp_resp *r,
			 const char *command)
{
	char status[DSN_STATUS_MAX];

	if (r->enh[0])
		snprintf(status, sizeof(status), "%s", r->enh);
	else
		snprintf(status, sizeof(status), "%d.0.0", r->code / 100);
	strbuf_reset(x->reason);
	if (r->code / 100 == 2)
		strbuf_set(x->reason, strbuf_str(r->text));
	else
		strbuf_printf(x->reason,
			      "host %s said: %s (in reply to %s command)",
			      x->sess->hostaddr, strbuf_str(r->text), command);
	settle(x, i, status, strbuf_str(x->reason), strbuf_str(r->text));
}

/* Every recipient of the transaction still open. */
static void settle_rest_reply(struct xfer *x, const struct smtp_resp *r,
			      const char *command)
{
	for (size_t k = 0; k < x->count; k++)
		settle_reply(x, x->idx[k], r, command);
}

static void settle_rest_status(struct xfer *x, const char *status,
			       const char *reason)
{
	for (size_t k = 0; k < x->count; k++)
		settle(x, x->idx[k], status, reason, "");
}

/* "NOTIFY=SUCCESS,FAILURE" */
static void append_notify(struct strbuf *out, int notify)
{
	const char *sep = "";

	(void)strbuf_puts(out, " NOTIFY=");
	if (notify & DSN_NOTIFY_NEVER) {
		(void)strbuf_puts(out, "NEVER");
		return;
	}
	if (notify & DSN_NOTIFY_SUCCESS) {
		(void)strbuf_puts(out, "SUCCESS");
		sep = ",";
	}
	if (notify & DSN_NOTIFY_FAILURE) {
		(void)strbuf_printf(out, "%sFAILURE", sep);
		sep = ",";
	}
	if (notify & DSN_NOTIFY_DELAY)
		(void)strbuf_printf(out, "%sDELAY", sep);
}

static int has_8bit(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s & 0x80)
			return 1;
	return 0;
}

/* Queue MAIL FROM. */
static void queue_mail(struct xfer *x, int body_8bit, int utf8)
{
	struct smtp_session *sess = x->sess;
	struct deliver_request *req = x->req;
	struct strbuf *cmd = strbuf_new(STRBUF_NO_MAX);

	(void)strbuf_puts(cmd, "MAIL FROM:<");
	(void)smtp_addr_externalize(req->sender, cmd);
	(void)strbuf_putc(cmd, '>');
	if (sess->features & SMTP_FEATURE_SIZE)
		(void)strbuf_printf(cmd, " SIZE=%lld",
				    (long long)req->data_size);
	if (body_8bit && (sess->features & SMTP_FEATURE_8BITMIME))
		(void)strbuf_puts(cmd, " BODY=8BITMIME");
	if (utf8 && (sess->features & SMTP_FEATURE_SMTPUTF8))
		(void)strbuf_puts(cmd, " SMTPUTF8");
	if (sess->features & SMTP_FEATURE_DSN) {
		if (req->dsn_ret == DSN_RET_FULL)
			(void)strbuf_puts(cmd, " RET=FULL");
		else if (req->dsn_ret == DSN_RET_HDRS)
			(void)strbuf_puts(cmd, " RET=HDRS");
		if (req->dsn_envid[0]) {
			(void)strbuf_puts(cmd, " ENVID=");
			(void)smtp_addr_xtext_encode(
			    req->dsn_envid, strlen(req->dsn_envid), cmd);
		}
	}
	sess_printf(sess, "%s", strbuf_str(cmd));
	strbuf_free(&cmd);
}

static void queue_rcpt(struct xfer *x, const struct deliver_rcpt *rc)
{
	struct smtp_session *sess = x->sess;
	struct strbuf *cmd = strbuf_new(STRBUF_NO_MAX);

	(void)strbuf_puts(cmd, "RCPT TO:<");
	(void)smtp_addr_externalize(rc->address, cmd);
	(void)strbuf_putc(cmd, '>');
	if (sess->features & SMTP_FEATURE_DSN) {
		const char *semi;

		if (rc->dsn_notify)
			append_notify(cmd, rc->dsn_notify);
		if (rc->dsn_orcpt[0] &&
		    (semi = strchr(rc->dsn_orcpt, ';')) != NULL) {
			(void)strbuf_puts(cmd, " ORCPT=");
			(void)strbuf_append(cmd, rc->dsn_orcpt,
					    (size_t)(semi - rc->dsn_orcpt));
			(void)strbuf_putc(cmd, ';');
			(void)smtp_addr_xtext_encode(semi + 1, strlen(semi + 1),
						     cmd);
		} else if (rc->orig[0]) {
			(void)strbuf_puts(cmd, " ORCPT=rfc822;");
			(void)smtp_addr_xtext_encode(rc->orig, strlen(rc->orig),
						     cmd);
		}
	}
	sess_printf(sess, "%s", strbuf_str(cmd));
	strbuf_free(&cmd);
}

/* Content bytes to the output buffer, dot-stuffed and folded at
 * line_length_limit; *col is the column in the output line. */
static void put_piece(struct smtp_session *sess, const char *data, size_t len,
		      size_t *col)
{
	size_t limit = smtp_params.line_length_limit > 0
			   ? (size_t)smtp_params.line_length_limit
			   : 0;

	if (*col == 0 && len > 0 && data[0] == '.') {
		(void)strbuf_putc(sess->obuf, '.');
		(*col)++;
	}
	while (len > 0) {
		size_t room = len;

		if (limit > 0) {
			if (*col >= limit) {
				/* A continuation starts with a space, so it
				 * is never a lone dot and never a new
				 * header. */
				(void)strbuf_puts(sess->obuf, "\r\n ");
				*col = 1;
			}
			if (room > limit - *col)
				room = limit - *col;
		}
		(void)strbuf_append(sess->obuf, data, room);
		*col += room;
		/* UNSAFE: room <= len, so data stays within the piece. */
		data += room;
		len -= room;
	}
}

/* Send the message content and the final dot. 0, or -1 (broken, or the
 * queue file could not be read: *qf_error then says so). */
static int send_content(struct xfer *x, int *qf_error)
{
	struct smtp_session *sess = x->sess;
	struct queue_file *in = NULL;
	struct strbuf *why = strbuf_new(1024);
	struct queue_rec rec;
	int ret = -1, st;
	size_t col = 0;
	const char *during = "while sending message body";

	*qf_error = 0;
	st = queue_file_open(smtp_queue, x->req->queue_name, x->req->queue_id,
			     0, &in, why);
	if (st == QUEUE_FILE_OK)
		st = queue_file_to_content(in, x->req->data_offset, why);
	if (st != QUEUE_FILE_OK) {
		msg_warn("%s: %s", x->req->queue_id, strbuf_str(why));
		*qf_error = 1;
		goto out;
	}
	for (;;) {
		st = queue_file_read_content(in, &rec, why);
		if (st != QUEUE_FILE_OK) {
			msg_warn("%s: %s", x->req->queue_id, strbuf_str(why));
			*qf_error = 1;
			goto out;
		}
		if (rec.type == REC_TYPE_XTRA)
			break;
		put_piece(sess, rec.data, rec.len, &col);
		if (rec.type == REC_TYPE_NORM) {
			(void)strbuf_puts(sess->obuf, "\r\n");
			col = 0;
		}
		if (strbuf_len(sess->obuf) >= SMTP_OBUF_FLUSH &&
		    sess_flush(sess, smtp_params.data_xfer_timeout, during) <
			0)
			goto out;
	}
	/* A message whose last line was cut (L without N) still ends
	 * with a line end before the dot. */
	if (col > 0)
		(void)strbuf_puts(sess->obuf, "\r\n");
	(void)strbuf_puts(sess->obuf, ".\r\n");
	ret = sess_flush(sess, smtp_params.data_xfer_timeout,
			 "while sending end of data -- message may be sent "
			 "more than once");
out:
	if (in != NULL)
		queue_file_close(&in);
	strbuf_free(&why);
	return ret;
}

/* Make sure command k (0 MAIL, 1..count RCPT, count + 1 DATA) has been
 * sent. With PIPELINING the commands after it go out in the same write
 * while they fit in SMTP_PIPELINE_WINDOW bytes: a window well below any
 * socket buffer means neither side can block writing while the other
 * is not reading (the pipelining deadlock), however many recipients. */
static int send_upto(struct xfer *x, size_t k, int pipelining, int timeout,
		     const char *during)
{
	struct smtp_session *sess = x->sess;
	size_t total = x->count + 2;

	if (x->next == 0)
		x->next = 1; /* queue_mail() queued MAIL */
	while (x->next < total &&
	       (x->next <= k || (pipelining && strbuf_len(sess->obuf) <
						   SMTP_PIPELINE_WINDOW))) {
		if (x->next == total - 1)
			sess_printf(sess, "DATA");
		else
			queue_rcpt(x, &x->req->rcpt[x->idx[x->next - 1]]);
		x->next++;
	}
	return sess_flush(sess, timeout, during);
}

void smtp_proto_xfer(struct smtp_session *sess, struct deliver_request *req,
		     struct queue_file *qf)
{
	struct xfer x = {.sess = sess, .req = req, .qf = qf};
	struct smtp_resp r;
	const struct queue_file_size *qs = queue_file_size(qf);
	int body_8bit, utf8, pipelining, mail_ok = 0, qf_error = 0;
	int need_rset = 0;

	smtp_resp_init(&r);
	x.reason = strbuf_new(STRBUF_NO_MAX);
	x.idx = mycalloc(req->rcpt_count, sizeof(*x.idx));
	x.accepted = mycalloc(req->rcpt_count, sizeof(*x.accepted));
	for (size_t i = 0; i < req->rcpt_count; i++)
		if (req->rcpt[i].outcome == DELIVER_RCPT_PENDING)
			x.idx[x.count++] = i;
	if (x.count == 0)
		goto out;
	x.dsn_passed = (sess->features & SMTP_FEATURE_DSN) != 0;
	body_8bit = (req->flags & DELIVER_FLAG_8BIT) ||
		    (qs->flags & QUEUE_SIZE_FLAG_8BIT);
	utf8 = (req->flags & DELIVER_FLAG_SMTPUTF8) ||
	       (qs->flags & QUEUE_SIZE_FLAG_SMTPUTF8);

	/* Refusals we can know before we send anything. */
	if (sess->size_limit > 0 && req->data_size > 0 &&
	    (uint64_t)req->data_size > sess->size_limit) {
		strbuf_printf(x.reason,
			      "message size %lld exceeds size limit %" PRIu64
			      " of server %s",
			      (long long)req->data_size, sess->size_limit,
			      sess->hostaddr);
		settle_rest_status(&x, "5.3.4", strbuf_str(x.reason));
		goto out;
	}
	if (utf8 && !(sess->features & SMTP_FEATURE_SMTPUTF8)) {
		int envelope_utf8 = has_8bit(req->sender);

		for (size_t k = 0; k < x.count; k++)
			envelope_utf8 |= has_8bit(req->rcpt[x.idx[k]].address);
		if (envelope_utf8) {
			strbuf_printf(x.reason,
				      "SMTPUTF8 is required, but was not "
				      "offered by host %s",
				      sess->hostaddr);
			settle_rest_status(&x, "5.6.7", strbuf_str(x.reason));
			goto out;
		}
	}

	pipelining = (sess->features & SMTP_FEATURE_PIPELINING) != 0;
	queue_mail(&x, body_8bit, utf8);
	if (send_upto(&x, 0, pipelining, smtp_params.mail_timeout,
		      "while sending MAIL FROM") < 0 ||
	    smtp_resp_read_during(sess, smtp_params.mail_timeout, &r,
				  "while sending MAIL FROM") < 0)
		goto broken;
	need_rset = 1;
	if (r.code / 100 == 2)
		mail_ok = 1;
	else
		settle_rest_reply(&x, &r, "MAIL FROM");

	for (size_t k = 0; k < x.count; k++) {
		if (k + 1 >= x.next) {
			/* Not sent yet: after a refused MAIL FROM nothing
			 * more is sent (or read). */
			if (!mail_ok)
				break;
			if (send_upto(&x, k + 1, pipelining,
				      smtp_params.rcpt_timeout,
				      "while sending RCPT TO") < 0)
				goto broken;
		}
		if (smtp_resp_read_during(sess, smtp_params.rcpt_timeout, &r,
					  "while sending RCPT TO") < 0)
			goto broken;
		if (!mail_ok)
			continue;
		if (r.code / 100 == 2) {
			x.accepted[k] = 1;
			x.naccepted++;
		} else {
			settle_reply(&x, x.idx[k], &r, "RCPT TO");
		}
	}
	if (x.count + 1 >= x.next) {
		/* DATA not sent with the group: only if it can succeed. */
		if (!mail_ok || x.naccepted == 0)
			goto out;
		if (send_upto(&x, x.count + 1, 0, smtp_params.data_init_timeout,
			      "while sending DATA command") < 0)
			goto broken;
	}
	if (smtp_resp_read_during(sess, smtp_params.data_init_timeout, &r,
				  "while sending DATA command") < 0)
		goto broken;
	if (r.code != 354) {
		if (mail_ok)
			settle_rest_reply(&x, &r, "DATA");
		goto out;
	}
	if (x.naccepted == 0) {
		/* Pipelined DATA went through with no recipient: end the
		 * empty message; the server should refuse it. */
		sess_printf(sess, ".");
		if (sess_flush(sess, smtp_params.data_done_timeout,
			       "while sending end of data") < 0 ||
		    smtp_resp_read_during(sess, smtp_params.data_done_timeout,
					  &r, "while sending end of data") < 0)
			goto broken;
		goto out;
	}
	if (send_content(&x, &qf_error) < 0) {
		if (qf_error) {
			/* Our side failed: the server must not take a cut
			 * message, so the session goes. */
			sess->broken = 1;
			settle_rest_status(&x, "4.3.0",
					   "error reading the queue file");
			goto out;
		}
		goto broken;
	}
	need_rset = 0;
	if (!smtp_params.lmtp) {
		if (smtp_resp_read_during(sess, smtp_params.data_done_timeout,
					  &r,
					  "while sending end of data -- "
					  "message may be sent more than "
					  "once") < 0)
			goto broken;
		settle_rest_reply(&x, &r, "end of DATA");
		goto out;
	}
	/* LMTP: one reply per accepted recipient, in RCPT order. */
	for (size_t k = 0; k < x.count; k++) {
		if (!x.accepted[k])
			continue;
		if (smtp_resp_read_during(sess, smtp_params.data_done_timeout,
					  &r,
					  "while sending end of data -- "
					  "message may be sent more than "
					  "once") < 0)
			goto broken;
		settle_reply(&x, x.idx[k], &r, "end of DATA");
	}
	goto out;

broken:
	settle_rest_status(&x, "4.4.2", strbuf_str(sess->why));
	deliver_request_site_fail(req, "4.4.2", strbuf_str(sess->why));
	need_rset = 0;
out:
	/* A transaction left open (refused recipients, a refused DATA)
	 * is reset so that the session can be reused. */
	if (need_rset && !sess->broken && smtp_proto_rset(sess) < 0)
		sess->broken = 1;
	myfree(x.idx);
	myfree(x.accepted);
	strbuf_free(&x.reason);
	smtp_resp_free(&r);
}
