/*
 * cleanup_message - the message content: headers, missing headers,
 * content checks and body, written to the queue file as they pass.
 *
 * The content goes through the MIME walker (global/mime_state.c), which
 * hands over whole headers and body pieces. Top-level headers are
 * counted (Received:/Delivered-To: against hopcount_limit), dropped
 * when message_drop_headers names them, and checked; headers of parts
 * and attached messages and body lines are checked with their own
 * tables. Where the top-level header ends, the missing Message-ID:,
 * Date: and From: headers (or their Resent- forms when the message has
 * Resent- headers) are added, but only for clients that
 * local_header_rewrite_clients names or with always_add_missing_headers:
 * that is Postfix's rule, so mail from remote SMTP clients is not
 * changed by default.
 *
 * Header addresses (From:, Sender:, Reply-To:, To:, Cc:, Bcc:, their
 * Resent- forms, ...) go through the same completion and canonical maps
 * as the envelope (sender headers: sender_canonical_maps; recipient
 * headers: recipient_canonical_maps; both: canonical_maps), with the
 * address lists parsed by global/header_addr.c, only with
 * CLEANUP_FLAG_MAP_OK, and only for clients that local_header_rewrite_
 * clients names, or for any client when remote_header_rewrite_domain is
 * set (then bare names get that domain, not $myorigin): Postfix's rule.
 * The header checks see the header as the client sent it.
 *
 * Check actions (header_checks(5)) apply only with CLEANUP_FLAG_FILTER.
 * A REJECT or DEFER ends the checks and the writing; HOLD moves the file
 * to hold/ before the commit; DISCARD accepts the message and removes the
 * file; REDIRECT and FILTER are recorded in the extracted segment (a
 * redirect record and the content_filter attribute) for qmgr.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "cleanup.h"
#include "cleanup_checks.h"
#include "cleanup_clnt.h"
#include "dict.h"
#include "header_addr.h"
#include "mail_conf.h"
#include "mail_params.h"
#include "mime_state.h"
#include "msg.h"
#include "mymalloc.h"
#include "queue_file.h"
#include "rec_type.h"
#include "strbuf.h"

/* How much of a header or body line goes into a log line. */
#define CLEANUP_LOG_TEXT_MAX 200

/* Write one header (physical lines joined with '\n') as content lines. */
static void msg_write_header(struct cleanup_state *st, const char *text,
			     size_t len)
{
	const char *nl;

	if (st->errs != 0)
		return;
	/* UNSAFE: nl is found inside text[0..len), so each piece is too. */
	while ((nl = memchr(text, '\n', len)) != NULL) {
		if (queue_file_line(st->qf, text, (size_t)(nl - text),
				    st->why) < 0) {
			cleanup_write_error(st);
			return;
		}
		len -= (size_t)(nl - text) + 1;
		text = nl + 1;
	}
	if (queue_file_line(st->qf, text, len, st->why) < 0)
		cleanup_write_error(st);
}

/* The log context of a check: "from client[addr]; from=<s> to=<r>". */
static void msg_log_action(struct cleanup_state *st, const char *action,
			   const char *where, const char *line,
			   const char *text)
{
	msg_info("%s: %s: %s %.*s%s from %s[%s]; from=<%s> to=<%s>%s%s",
		 st->queue_id, action, where, CLEANUP_LOG_TEXT_MAX, line,
		 strlen(line) > CLEANUP_LOG_TEXT_MAX ? "..." : "",
		 st->client_name ? st->client_name : "local",
		 st->client_addr ? st->client_addr : "127.0.0.1",
		 st->sender ? st->sender : "",
		 st->first_rcpt ? st->first_rcpt : "", *text ? ": " : "", text);
}

/* Ask the tables; DICT_FOUND with *value, DICT_NOTFOUND, or (logged,
 * message deferred) DICT_ERROR. */
static int msg_lookup(struct cleanup_state *st, struct maps *maps,
		      const char *key, const char **value)
{
	for (size_t i = 0; maps != NULL && i < maps->count; i++) {
		struct dict *d = maps->dicts[i];
		int rc = dict_lookup(d, key, value);

		if (rc == DICT_NOTFOUND)
			continue;
		if (rc == DICT_ERROR) {
			msg_warn("%s: %s: %s:%s: %s", st->queue_id, maps->param,
				 d->type, d->name, dict_error(d));
			cleanup_fail(st, CLEANUP_STAT_WRITE,
				     "4.3.0 table lookup error");
		}
		return rc;
	}
	return DICT_NOTFOUND;
}

enum msg_verdict { KEEP, DROP, REPLACE };

/* Run one check table over line (unfolded); apply what it says. For
 * REPLACE the new text is put in out. */
static enum msg_verdict msg_check(struct cleanup_state *st,
				  struct maps *maps, const char *where,
				  int header, const char *line,
				  struct strbuf *out)
{
	struct check_action act;
	const char *value;
	struct strbuf *reply;

	if ((st->flags & CLEANUP_FLAG_FILTER) == 0 || st->checks_off ||
	    maps == NULL || st->errs != 0)
		return KEEP;
	if (msg_lookup(st, maps, line, &value) != DICT_FOUND)
		return KEEP;
	check_action_parse(value, header, &act, st->why);
	reply = strbuf_new(CLEANUP_REASON_MAX);
	switch (act.act) {
	case CHECK_ACT_BAD:
		msg_warn("%s: %s: %s; ignored", st->queue_id, maps->param,
			 strbuf_str(st->why));
		break;
	case CHECK_ACT_DUNNO:
		break;
	case CHECK_ACT_REJECT:
	case CHECK_ACT_DEFER:
		check_reply_text(&act, reply);
		msg_log_action(st,
			       act.act == CHECK_ACT_REJECT ? "reject" : "defer",
			       where, line, strbuf_str(reply));
		cleanup_fail(st,
			     act.act == CHECK_ACT_REJECT ? CLEANUP_STAT_CONT
							 : CLEANUP_STAT_DEFER,
			     "%s", strbuf_str(reply));
		st->checks_off = 1;
		break;
	case CHECK_ACT_DISCARD:
		msg_log_action(st, "discard", where, line, act.text);
		(void)strbuf_set(st->discard_reason, act.text);
		st->discard = 1;
		st->checks_off = 1;
		break;
	case CHECK_ACT_HOLD:
		msg_log_action(st, "hold", where, line, act.text);
		st->hold = 1;
		break;
	case CHECK_ACT_WARN:
		msg_log_action(st, "warning", where, line, act.text);
		break;
	case CHECK_ACT_IGNORE:
		strbuf_free(&reply);
		return DROP;
	case CHECK_ACT_REPLACE:
		msg_log_action(st, "replace", where, line, act.text);
		(void)strbuf_set(out, act.text);
		strbuf_free(&reply);
		return REPLACE;
	case CHECK_ACT_PREPEND:
		if (queue_file_line(st->qf, act.text, strlen(act.text),
				    st->why) < 0)
			cleanup_write_error(st);
		break;
	case CHECK_ACT_REDIRECT:
		msg_log_action(st, "redirect", where, line, act.text);
		cleanup_rewrite_qualify(&cleanup_rw, act.text, st->addr);
		myfree(st->redirect);
		st->redirect = mystrdup(strbuf_str(st->addr));
		break;
	case CHECK_ACT_FILTER:
		msg_log_action(st, "filter", where, line, act.text);
		myfree(st->filter);
		st->filter = mystrdup(act.text);
		break;
	}
	strbuf_free(&reply);
	return KEEP;
}

/* "Name: a\n b" -> "Name: a b": what the tables are matched against. */
static char *msg_unfold(const char *text, size_t len)
{
	char *out = mymalloc(mymalloc_add(len, 1));
	size_t n = 0;

	for (size_t i = 0; i < len; i++)
		if (text[i] != '\n')
			out[n++] = text[i];
	out[n] = 0;
	return out;
}

/* message_drop_headers names this header? This runs for every header
 * line, so the list is split once: main.cf does not change during a
 * process's life (a reload starts new processes). */
static int msg_drop_header(const char *text, size_t len)
{
	static char **list;

	if (list == NULL)
		list = conf_list_split(var_message_drop_headers);
	for (char **cp = list; *cp != NULL; cp++)
		if (mime_header_is(text, len, *cp))
			return 1;
	return 0;
}

/* Note the headers whose presence matters later; log the Message-ID. */
static void msg_note_header(struct cleanup_state *st, const char *text,
			    size_t len)
{
	static const struct {
		const char *name;
		unsigned bit;
	} seen[] = {
	    {"Message-ID", CLEANUP_HDR_MESSAGE_ID},
	    {"Date", CLEANUP_HDR_DATE},
	    {"From", CLEANUP_HDR_FROM},
	    {"Resent-Message-ID", CLEANUP_HDR_RESENT_MESSAGE_ID},
	    {"Resent-Date", CLEANUP_HDR_RESENT_DATE},
	    {"Resent-From", CLEANUP_HDR_RESENT_FROM},
	};
	size_t nlen = mime_header_name_len(text, len);

	for (size_t i = 0; i < sizeof(seen) / sizeof(seen[0]); i++)
		if (mime_header_is(text, len, seen[i].name))
			st->hdr_seen |= seen[i].bit;
	if (nlen > 7 && strncasecmp(text, "Resent-", 7) == 0)
		st->hdr_seen |= CLEANUP_HDR_RESENT;
	if (mime_header_is(text, len, "Received") ||
	    mime_header_is(text, len, "Delivered-To"))
		st->hop_count++;
	if (mime_header_is(text, len, "Message-ID") ||
	    mime_header_is(text, len, "Resent-Message-ID")) {
		/* UNSAFE: the name check found the colon inside text. */
		const char *v = (const char *)memchr(text, ':', len) + 1;
		size_t vlen = len - (size_t)(v - text);
		char *val = msg_unfold(v, vlen);
		char *cp = val;

		while (*cp == ' ' || *cp == '\t')
			cp++;
		msg_info("%s: %s=%.*s", st->queue_id,
			 nlen > 10 ? "resent-message-id" : "message-id",
			 CLEANUP_LOG_TEXT_MAX, cp);
		myfree(val);
	}
}

/* Header address rewriting: one header's addresses, through the
 * sender or the recipient canonical maps. */
struct msg_hdr_rw {
	struct cleanup_state *st;
	struct cleanup_rewrite_conf conf;
	int sender;
};

static int msg_hdr_addr(void *ctx, const char *addr, struct strbuf *out)
{
	struct msg_hdr_rw *rw = ctx;
	struct cleanup_state *st = rw->st;
	int rc;

	rc = rw->sender ? cleanup_rewrite_sender(&rw->conf, addr, out, st->why)
			: cleanup_rewrite_rcpt(&rw->conf, addr, out, st->why);
	if (rc < 0)
		return -1;
	return strcmp(strbuf_str(out), addr) != 0;
}

/* The headers whose addresses are rewritten, as Postfix's cleanup does:
 * 1 for sender headers (sender_canonical_maps), 0 for recipient headers
 * (recipient_canonical_maps), -1 for any other header. */
static int msg_hdr_addr_class(const char *text, size_t len)
{
	static const char *const senders[] = {
	    "From",
	    "Sender",
	    "Reply-To",
	    "Errors-To",
	    "Resent-From",
	    "Resent-Sender",
	    "Resent-Reply-To",
	    "Return-Receipt-To",
	};
	static const char *const rcpts[] = {
	    "To",	 "Cc",	       "Bcc",		"Resent-To",
	    "Resent-Cc", "Resent-Bcc", "Apparently-To",
	};

	for (size_t i = 0; i < sizeof(senders) / sizeof(senders[0]); i++)
		if (mime_header_is(text, len, senders[i]))
			return 1;
	for (size_t i = 0; i < sizeof(rcpts) / sizeof(rcpts[0]); i++)
		if (mime_header_is(text, len, rcpts[i]))
			return 0;
	return -1;
}

/* Write a top-level header, its addresses rewritten when the client may
 * have them rewritten (local_header_rewrite_clients, or any client with
 * remote_header_rewrite_domain). */
static void msg_write_rewritten(struct cleanup_state *st, const char *text,
				size_t len)
{
	struct msg_hdr_rw rw = {.st = st, .conf = cleanup_rw};
	const char *colon;
	struct strbuf *value, *hdr;
	int cls, rc;

	if (st->hdr_rewrite == CLEANUP_HDR_REWRITE_NONE ||
	    (cls = msg_hdr_addr_class(text, len)) < 0 ||
	    (colon = memchr(text, ':', len)) == NULL) {
		msg_write_header(st, text, len);
		return;
	}
	rw.sender = cls;
	if (st->hdr_rewrite == CLEANUP_HDR_REWRITE_REMOTE) {
		/* Remote mail: only the admin's domain, no $myorigin. */
		rw.conf.myorigin = var_remote_header_rewrite_domain;
		rw.conf.append_dot_mydomain = 0;
	}
	value = strbuf_new((size_t)var_header_size_limit + REC_LINE_MAX);
	/* UNSAFE: colon is inside text[0..len). */
	rc = header_addr_rewrite(colon + 1, len - (size_t)(colon + 1 - text),
				 msg_hdr_addr, &rw, value);
	if (rc < 0 && strbuf_len(st->why) > 0) {
		msg_warn("%s: %s", st->queue_id, strbuf_str(st->why));
		cleanup_fail(st, CLEANUP_STAT_WRITE,
			     "4.3.0 table lookup error");
	} else if (rc > 0) {
		hdr = strbuf_new(STRBUF_NO_MAX);
		(void)strbuf_append(hdr, text, (size_t)(colon + 1 - text));
		(void)strbuf_append(hdr, strbuf_str(value), strbuf_len(value));
		msg_write_header(st, strbuf_str(hdr), strbuf_len(hdr));
		strbuf_free(&hdr);
	} else {
		/* Nothing to change, or too long to change: as it came. */
		msg_write_header(st, text, len);
	}
	strbuf_free(&value);
}

static void msg_header(void *ctx, enum mime_class cls, int is_mime,
		       const char *text, size_t len)
{
	struct cleanup_state *st = ctx;
	struct maps *maps;
	struct strbuf *repl;
	char *line;
	enum msg_verdict v;

	if (st->errs != 0)
		return;
	if (cls == MIME_CLASS_PRIMARY) {
		cleanup_note_utf8(st, text, len);
		msg_note_header(st, text, len);
		if (st->hop_count > var_hopcount_limit) {
			msg_info("%s: reject: too many hops (%d) from %s[%s]; "
				 "from=<%s> to=<%s>",
				 st->queue_id, st->hop_count,
				 st->client_name ? st->client_name : "local",
				 st->client_addr ? st->client_addr
						 : "127.0.0.1",
				 st->sender ? st->sender : "",
				 st->first_rcpt ? st->first_rcpt : "");
			cleanup_fail(st, CLEANUP_STAT_HOPS,
				     "5.4.0 too many hops");
			return;
		}
		if (msg_drop_header(text, len))
			return;
	}
	maps = is_mime			   ? cleanup_mime_header_maps
	       : cls == MIME_CLASS_PRIMARY ? cleanup_header_maps
					   : cleanup_nested_header_maps;
	line = msg_unfold(text, len);
	repl = strbuf_new(REC_LINE_MAX);
	v = msg_check(st, maps, "header", 1, line, repl);
	if (v != DROP && cls == MIME_CLASS_PRIMARY) {
		strbuf_reset(st->why);
		if (v == KEEP)
			msg_write_rewritten(st, text, len);
		else
			msg_write_rewritten(st, strbuf_str(repl),
					    strbuf_len(repl));
	} else if (v == KEEP) {
		msg_write_header(st, text, len);
	} else if (v == REPLACE) {
		msg_write_header(st, strbuf_str(repl), strbuf_len(repl));
	}
	strbuf_free(&repl);
	myfree(line);
}

static void msg_add_header(struct cleanup_state *st, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void msg_add_header(struct cleanup_state *st, const char *fmt, ...)
{
	struct strbuf *buf = strbuf_new(REC_LINE_MAX);
	va_list ap;

	va_start(ap, fmt);
	(void)strbuf_vprintf(buf, fmt, ap);
	va_end(ap);
	msg_write_header(st, strbuf_str(buf), strbuf_len(buf));
	strbuf_free(&buf);
}

/* Quote a full name as an RFC 5322 quoted-string. */
static void msg_quote_name(const char *name, struct strbuf *out)
{
	(void)strbuf_putc(out, '"');
	for (; *name; name++) {
		if (*name == '"' || *name == '\\')
			(void)strbuf_putc(out, '\\');
		(void)strbuf_putc(out, *name);
	}
	(void)strbuf_putc(out, '"');
}

static void msg_header_end(void *ctx, int blank)
{
	struct cleanup_state *st = ctx;
	int resent = (st->hdr_seen & CLEANUP_HDR_RESENT) != 0;
	const char *pfx = resent ? "Resent-" : "";
	time_t t = (time_t)st->arrival_sec;
	struct tm tm;
	char when[64];

	st->header_done = 1;
	if (st->errs != 0 || !st->local_rewrite)
		goto sep;
	if ((st->hdr_seen & (resent ? CLEANUP_HDR_RESENT_MESSAGE_ID
				    : CLEANUP_HDR_MESSAGE_ID)) == 0) {
		gmtime_r(&t, &tm);
		strftime(when, sizeof(when), "%Y%m%d%H%M%S", &tm);
		msg_add_header(st, "%sMessage-Id: <%s.%s@%s>", pfx, when,
			       st->queue_id, var_myhostname);
		msg_info("%s: %smessage-id=<%s.%s@%s>", st->queue_id,
			 resent ? "resent-" : "", when, st->queue_id,
			 var_myhostname);
	}
	if ((st->hdr_seen &
	     (resent ? CLEANUP_HDR_RESENT_DATE : CLEANUP_HDR_DATE)) == 0) {
		localtime_r(&t, &tm);
		strftime(when, sizeof(when), "%a, %d %b %Y %H:%M:%S %z (%Z)",
			 &tm);
		msg_add_header(st, "%sDate: %s", pfx, when);
	}
	if ((st->hdr_seen &
	     (resent ? CLEANUP_HDR_RESENT_FROM : CLEANUP_HDR_FROM)) == 0) {
		struct strbuf *from = strbuf_new(REC_LINE_MAX);
		const char *addr =
		    st->sender && *st->sender ? st->sender : "MAILER-DAEMON";

		if (st->fullname != NULL && *st->fullname) {
			msg_quote_name(st->fullname, from);
			(void)strbuf_printf(from, " <%s>", addr);
		} else {
			(void)strbuf_puts(from, addr);
		}
		msg_add_header(st, "%sFrom: %s", pfx, strbuf_str(from));
		strbuf_free(&from);
	}
sep:
	/* A body that started without an empty line gets one, so that the
	 * headers added above (and the body's first line) stay apart. */
	if (!blank && st->errs == 0 &&
	    queue_file_line(st->qf, "", 0, st->why) < 0)
		cleanup_write_error(st);
}

/* Write one body piece; a piece longer than line_length_limit is split
 * into L records with the piece's own type last. */
static void msg_write_piece(struct cleanup_state *st, int type,
			    const char *text, size_t len)
{
	size_t limit = (size_t)var_line_length_limit;

	if (limit == 0 || limit > REC_LINE_MAX)
		limit = REC_LINE_MAX;
	while (len > limit) {
		if (queue_file_put(st->qf, REC_TYPE_CONT, text, limit,
				   st->why) < 0) {
			cleanup_write_error(st);
			return;
		}
		/* UNSAFE: limit < len, so text + limit stays in the piece. */
		text += limit;
		len -= limit;
	}
	if (queue_file_put(st->qf, type, text, len, st->why) < 0)
		cleanup_write_error(st);
}

static void msg_body(void *ctx, int type, const char *text, size_t len)
{
	struct cleanup_state *st = ctx;

	if (st->errs != 0)
		return;
	if (cleanup_body_maps != NULL && (st->flags & CLEANUP_FLAG_FILTER) &&
	    !st->checks_off) {
		char *line = mystrndup(text, len);

		(void)msg_check(st, cleanup_body_maps, "body", 0, line, NULL);
		myfree(line);
		if (st->errs != 0)
			return;
	}
	msg_write_piece(st, type, text, len);
}

static const struct mime_callbacks msg_callbacks = {
    .header = msg_header,
    .header_end = msg_header_end,
    .body = msg_body,
};

void cleanup_message_start(struct cleanup_state *st)
{
	if (st->errs == 0 && st->sender == NULL) {
		msg_warn("%s: no sender record before the content",
			 st->queue_id);
		cleanup_fail(st, CLEANUP_STAT_BAD,
			     "4.3.0 internal protocol error");
	}
	if (st->errs == 0 && !st->have_time &&
	    queue_file_time(st->qf, st->arrival_sec, st->arrival_usec,
			    st->why) < 0)
		cleanup_write_error(st);
	/* A placeholder qmgr rewrites in place once it has sent a delay
	 * warning, so that it sends one at most. */
	if (st->errs == 0 && queue_file_warn(st->qf, 0, st->why) < 0)
		cleanup_write_error(st);
	if (st->errs == 0 && queue_file_content(st->qf, st->why) < 0)
		cleanup_write_error(st);
	{
		int local = cleanup_is_local_client(st);

		st->local_rewrite = var_always_add_missing_headers || local;
		if ((st->flags & CLEANUP_FLAG_MAP_OK) == 0)
			st->hdr_rewrite = CLEANUP_HDR_REWRITE_NONE;
		else if (local)
			st->hdr_rewrite = CLEANUP_HDR_REWRITE_LOCAL;
		else if (*var_remote_header_rewrite_domain)
			st->hdr_rewrite = CLEANUP_HDR_REWRITE_REMOTE;
	}
	st->mime = mime_state_new(&msg_callbacks, st,
				  (size_t)var_header_size_limit, 0);
}

void cleanup_message_piece(struct cleanup_state *st, int type, char *data,
			   size_t len)
{
	if (st->mime == NULL) /* content after X or E: cannot happen */
		return;
	st->content_size += (off_t)len + (type == REC_TYPE_NORM);
	if (var_message_size_limit > 0 &&
	    st->content_size > (off_t)var_message_size_limit) {
		if ((st->errs & CLEANUP_STAT_SIZE) == 0)
			msg_info("%s: reject: message size exceeds "
				 "message_size_limit %ld from %s[%s]",
				 st->queue_id, var_message_size_limit,
				 st->client_name ? st->client_name : "local",
				 st->client_addr ? st->client_addr
						 : "127.0.0.1");
		cleanup_fail(st, CLEANUP_STAT_SIZE,
			     "5.3.4 message file too big");
	}
	if (st->errs != 0)
		return;
	if (var_cleanup_replace_stray_cr_lf)
		for (size_t i = 0; i < len; i++)
			if (data[i] == '\r' || data[i] == '\n')
				data[i] = ' ';
	mime_state_update(st->mime, type, data, len);
}

void cleanup_message_end(struct cleanup_state *st)
{
	if (st->mime == NULL)
		return;
	mime_state_finish(st->mime);
	st->mime_flags = mime_state_flags(st->mime);
	if (msg_verbose)
		msg_info("%s: content flags 0x%x", st->queue_id,
			 mime_state_flags(st->mime));
	if (mime_state_flags(st->mime) & MIME_FLAG_TRUNC_HEADER)
		msg_info("%s: header longer than header_size_limit %d: "
			 "excess dropped",
			 st->queue_id, var_header_size_limit);
	mime_state_free(&st->mime);
	if (st->errs == 0 && queue_file_extracted(st->qf, st->why) < 0)
		cleanup_write_error(st);
}
