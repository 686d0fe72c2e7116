/*
 * cleanup_clnt - the client side of the cleanup protocol; see
 * cleanup_clnt.h for the conversation.
 *
 * Every step is bounded in time: connect and the attribute lists use the
 * caller's timeout, and record writes go through a socket with a send
 * timeout, so a stuck cleanup process costs the client one timeout, not
 * a hang. Any failure before the reply is read, and any reply that does
 * not parse, is CLEANUP_STAT_BAD: the message is not queued, and the
 * client must say so (smtpd: 451), never 250.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "attr.h"
#include "cleanup_clnt.h"
#include "mail_queue.h"
#include "mymalloc.h"
#include "rec_type.h"
#include "record.h"
#include "rstream.h"
#include "strbuf.h"
#include "sock.h"

static const struct attr_spec cleanup_id_specs[] = {
    [CLEANUP_ID_QUEUE_ID] = {"queue_id", ATTR_STR, MAIL_QUEUE_ID_MAX, 1},
};
const struct attr_schema cleanup_id_schema = {CLEANUP_PROTOCOL,
					      cleanup_id_specs,
					      CLEANUP_ID_COUNT};

static const struct attr_spec cleanup_req_specs[] = {
    [CLEANUP_REQ_FLAGS] = {"flags", ATTR_INT, 0, 1},
};
const struct attr_schema cleanup_req_schema = {CLEANUP_PROTOCOL,
					       cleanup_req_specs,
					       CLEANUP_REQ_COUNT};

static const struct attr_spec cleanup_reply_specs[] = {
    [CLEANUP_REPLY_STATUS] = {"status", ATTR_INT, 0, 1},
    [CLEANUP_REPLY_REASON] = {"reason", ATTR_STR, CLEANUP_REASON_MAX, 1},
};
const struct attr_schema cleanup_reply_schema = {CLEANUP_PROTOCOL,
						 cleanup_reply_specs,
						 CLEANUP_REPLY_COUNT};

struct cleanup_clnt {
	int fd;
	int timeout;
	int failed; /* a record write failed: finish answers BAD */
	struct attr_stream *in;
	struct rstream *out;
	char queue_id[MAIL_QUEUE_ID_MAX + 1];
};

static void clnt_free(struct cleanup_clnt **ccp)
{
	struct cleanup_clnt *cc = *ccp;

	if (cc == NULL)
		return;
	rstream_release(&cc->out);
	attr_stream_free(&cc->in);
	if (cc->fd >= 0)
		(void)close(cc->fd);
	myfree(*ccp);
}

struct cleanup_clnt *cleanup_clnt_open(const char *path, int flags, int timeout,
				       struct strbuf *why)
{
	struct cleanup_clnt *cc = mycalloc(1, sizeof(*cc));
	struct attr_value id[CLEANUP_ID_COUNT] = {0};
	struct attr_value req[CLEANUP_REQ_COUNT] = {0};
	struct timeval tv = {.tv_sec = timeout > 0 ? timeout : 0};
	int rc;

	if ((flags & ~CLEANUP_FLAG_MASK) != 0) {
		(void)strbuf_set(why, "cleanup_clnt_open: unknown flags");
		myfree(cc);
		return NULL;
	}
	cc->timeout = timeout;
	if ((cc->fd = sock_unix_connect(path, timeout, why)) < 0) {
		myfree(cc);
		return NULL;
	}
	cc->in = attr_stream_new(cc->fd, 0);
	if (attr_handshake_expect(cc->in, timeout, CLEANUP_PROTOCOL, why) < 0)
		goto fail;
	rc = attr_stream_read(cc->in, timeout, &cleanup_id_schema, id, why);
	if (rc == 0)
		(void)strbuf_set(why, "cleanup closed the connection");
	if (rc <= 0)
		goto fail;
	if (!mail_queue_id_ok(id[CLEANUP_ID_QUEUE_ID].str)) {
		(void)strbuf_set(why, "cleanup sent a malformed queue ID");
		attr_values_free(id, CLEANUP_ID_COUNT);
		goto fail;
	}
	strcpy(cc->queue_id, id[CLEANUP_ID_QUEUE_ID].str);
	attr_values_free(id, CLEANUP_ID_COUNT);
	req[CLEANUP_REQ_FLAGS].present = 1;
	req[CLEANUP_REQ_FLAGS].num = flags;
	if (attr_write_fd(cc->fd, timeout, &cleanup_req_schema, req, why) < 0)
		goto fail;
	/* Records are written blocking; the send timeout bounds each. */
	if (timeout > 0 &&
	    setsockopt(cc->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0) {
		(void)strbuf_printf(why, "setsockopt SO_SNDTIMEO: %s",
				    strerror(errno));
		goto fail;
	}
	cc->out = rstream_fdopen(cc->fd, 0);
	return cc;
fail:
	clnt_free(&cc);
	return NULL;
}

const char *cleanup_clnt_queue_id(const struct cleanup_clnt *cc)
{
	return cc->queue_id;
}

int cleanup_clnt_rec(struct cleanup_clnt *cc, int type, const void *data,
		     size_t len)
{
	if (cc->failed)
		return -1;
	if (rec_put(cc->out, type, data, len) < 0) {
		cc->failed = 1;
		return -1;
	}
	return 0;
}

int cleanup_clnt_printf(struct cleanup_clnt *cc, int type, const char *fmt,
			...)
{
	struct strbuf *buf = strbuf_new(REC_ATTR_MAX);
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = strbuf_vprintf(buf, fmt, ap);
	va_end(ap);
	if (rc < 0) {
		cc->failed = 1;
		rc = -1;
	} else {
		rc = cleanup_clnt_rec(cc, type, strbuf_str(buf),
				      strbuf_len(buf));
	}
	strbuf_free(&buf);
	return rc;
}

int cleanup_clnt_finish(struct cleanup_clnt **ccp, struct strbuf *reason)
{
	struct cleanup_clnt *cc = *ccp;
	struct attr_value reply[CLEANUP_REPLY_COUNT] = {0};
	struct strbuf *why = strbuf_new(STRBUF_NO_MAX);
	int status = CLEANUP_STAT_BAD, rc;

	strbuf_reset(reason);
	*ccp = NULL;
	if (cleanup_clnt_rec(cc, REC_TYPE_END, NULL, 0) < 0 ||
	    rstream_flush(cc->out) < 0) {
		(void)strbuf_printf(reason, "write to cleanup: %s",
				    strerror(rstream_error(cc->out)
						 ? rstream_error(cc->out)
						 : errno));
		goto done;
	}
	rc = attr_stream_read(cc->in, cc->timeout, &cleanup_reply_schema,
			      reply, why);
	if (rc <= 0) {
		(void)strbuf_printf(reason, "no reply from cleanup: %s",
				    rc == 0 ? "connection closed"
					    : strbuf_str(why));
		goto done;
	}
	status = (int)reply[CLEANUP_REPLY_STATUS].num;
	if (status < 0) {
		status = CLEANUP_STAT_BAD;
		(void)strbuf_set(reason, "malformed reply from cleanup");
	} else {
		(void)strbuf_puts(reason, reply[CLEANUP_REPLY_REASON].str);
	}
	attr_values_free(reply, CLEANUP_REPLY_COUNT);
done:
	strbuf_free(&why);
	clnt_free(&cc);
	return status;
}

void cleanup_clnt_abort(struct cleanup_clnt **ccp)
{
	clnt_free(ccp);
}

/* Length of a leading "d.d.d " enhanced status code of class cls. */
static size_t clnt_dsn_len(const char *text, char cls)
{
	const char *cp = text;
	size_t n;

	if (text == NULL || *cp != cls || cp[1] != '.')
		return 0;
	cp += 2;
	for (n = 0; isdigit((unsigned char)*cp) && n < 3; n++)
		cp++;
	if (n == 0 || *cp++ != '.')
		return 0;
	for (n = 0; isdigit((unsigned char)*cp) && n < 3; n++)
		cp++;
	if (n == 0 || (*cp != ' ' && *cp != 0))
		return 0;
	return (size_t)(cp - text);
}

/* Reply with the reason's own code when it has one of the right class. */
static void clnt_reason_reply(const char *reason, int code, const char *dsn,
			      const char *deftext, int *codep,
			      const char **dsnp, struct strbuf *text)
{
	static char own[16];
	size_t n = clnt_dsn_len(reason, dsn[0]);

	*codep = code;
	*dsnp = dsn;
	if (n > 0 && n < sizeof(own)) {
		memcpy(own, reason, n);
		own[n] = 0;
		*dsnp = own;
		reason += n;
		while (*reason == ' ')
			reason++;
	}
	(void)strbuf_puts(text, reason && *reason ? reason : deftext);
}

void cleanup_stat_reply(int status, const char *reason, int *code,
			const char **dsn, struct strbuf *text)
{
	strbuf_reset(text);
	if (status & CLEANUP_STAT_DEFER) {
		clnt_reason_reply(reason, 450, "4.7.1", "Service unavailable",
				  code, dsn, text);
	} else if (status & (CLEANUP_STAT_BAD | CLEANUP_STAT_WRITE)) {
		*code = 451;
		*dsn = "4.3.0";
		(void)strbuf_puts(text, "Error: queue file write error");
	} else if (status & CLEANUP_STAT_HOPS) {
		*code = 554;
		*dsn = "5.4.0";
		(void)strbuf_puts(text, "Error: too many hops");
	} else if (status & CLEANUP_STAT_SIZE) {
		*code = 552;
		*dsn = "5.3.4";
		(void)strbuf_puts(text, "Error: message file too big");
	} else if (status & CLEANUP_STAT_CONT) {
		clnt_reason_reply(reason, 550, "5.7.1",
				  "Error: message content rejected", code, dsn,
				  text);
	} else if (status & CLEANUP_STAT_RCPT) {
		*code = 554;
		*dsn = "5.5.1";
		(void)strbuf_puts(text, "Error: no valid recipients");
	} else if (status != CLEANUP_STAT_OK) {
		*code = 451;
		*dsn = "4.3.0";
		(void)strbuf_puts(text, "Error: internal error");
	} else {
		*code = 250;
		*dsn = "2.0.0";
		(void)strbuf_puts(text, "Ok");
	}
}
