/*
 * bounce_notify - delivery status notifications (RFC 3464, RFC 6522)
 * built from the status logs and queued through cleanup.
 *
 * Every notice is a multipart/report; report-type=delivery-status: a
 * text part for people, a message/delivery-status part for programs,
 * and the original message (message/rfc822) or only its headers
 * (text/rfc822-headers). It is sent like any other mail: cleanup gives
 * it a queue ID and a Message-Id, qmgr delivers it.
 *
 * Who gets what (Postfix's rules):
 *   - a notice to the sender always has the null sender, so a notice
 *     that cannot be delivered comes back here with sender "";
 *   - such a bounce of a bounce goes to 2bounce_notice_recipient as a
 *     double bounce when notify_classes asks for it (bounce or 2bounce),
 *     else it is dropped; a postmaster notice has the sender
 *     double_bounce_sender@myhostname, and one of those that fails is
 *     always dropped. No chain of notices can loop.
 *   - DSN NOTIFY decides per recipient: NEVER gets nothing, an explicit
 *     list without FAILURE (DELAY, SUCCESS) gets no failure notice;
 *     no NOTIFY means FAILURE,DELAY.
 *   - RET=HDRS, a message larger than bounce_size_limit, delay warnings,
 *     success notices and postmaster copies carry the headers only.
 *
 * Memory is bounded: at most BOUNCE_NOTICE_RCPT_MAX recipients are
 * listed in one notice (the rest are counted in the text), and content
 * is streamed from the queue file to cleanup record by record.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/time.h>
#include <time.h>

#include "bounce.h"
#include "bounce_clnt.h"
#include "bounce_log.h"
#include "cleanup_clnt.h"
#include "dsn.h"
#include "mail_conf.h"
#include "mail_params.h"
#include "mail_queue.h"
#include "msg.h"
#include "mymalloc.h"
#include "queue_envelope.h"
#include "queue_file.h"
#include "rec_type.h"
#include "strbuf.h"

#define BOUNCE_NOTICE_RCPT_MAX 10000

enum notice_kind { NOTICE_FAIL, NOTICE_DELAY, NOTICE_SUCCESS };

/* A list of status entries, in log order. */
struct entries {
	struct bounce_log_entry *v;
	size_t n, cap;
	size_t dropped; /* over BOUNCE_NOTICE_RCPT_MAX */
};

/* What the queue file says about the message. */
struct msg_info {
	int readable;	 /* the queue file could be read */
	int64_t arrival; /* seconds */
	char *sender;
	char *envid;
	int ret; /* DSN_RET_* */
	off_t content_size;
	int eightbit;
	struct entries pending; /* recipients not marked done */
};

/* One notice being written. */
struct notice {
	enum notice_kind kind;
	const char *queue_id;
	const struct msg_info *info;
	const struct entries *list;
	int headers_only;
	int postmaster; /* a copy for the postmaster */
	const char *boundary;
};

static void entries_add(struct entries *es, struct bounce_log_entry *e)
{
	if (es->n >= BOUNCE_NOTICE_RCPT_MAX) {
		es->dropped++;
		bounce_log_entry_free(e);
		return;
	}
	if (es->n == es->cap) {
		es->cap = es->cap ? mymalloc_mul(es->cap, 2) : 16;
		es->v = myreallocarray(es->v, es->cap, sizeof(*es->v));
	}
	es->v[es->n++] = *e;
	memset(e, 0, sizeof(*e));
}

static void entries_free(struct entries *es)
{
	for (size_t i = 0; i < es->n; i++)
		bounce_log_entry_free(&es->v[i]);
	myfree(es->v);
	memset(es, 0, sizeof(*es));
}

/* Whether a and b are the same recipient: the same R record when both
 * offsets are known, else the same address. */
static int same_rcpt(const struct bounce_log_entry *a,
		     const struct bounce_log_entry *b)
{
	if (a->offset > 0 && b->offset > 0)
		return a->offset == b->offset;
	return strcmp(a->recipient, b->recipient) == 0;
}

/* Read the log queue/id into es. A missing log is an empty list; a
 * malformed record is skipped with a warning. 0, or -1 (I/O error). */
static int load_log(const char *queue, const char *id, struct entries *es,
		    struct strbuf *why)
{
	struct bounce_log *bl = NULL;
	struct bounce_log_entry e;
	int rc;

	if (bounce_log_open(bounce_queue, queue, id, &bl, why) < 0)
		return errno == ENOENT ? 0 : -1;
	while ((rc = bounce_log_read(bl, &e, why)) != 0) {
		if (rc == -2) {
			bounce_log_close(&bl);
			return -1;
		}
		if (rc == -1) {
			msg_warn("%s: %s/%s: skipping malformed record: %s", id,
				 queue, id, strbuf_str(why));
			continue;
		}
		entries_add(es, &e);
	}
	bounce_log_close(&bl);
	return 0;
}

/* Keep only the last entry of each recipient (a log may hold one per
 * attempt), in the order of their last appearance. */
static void entries_last_only(struct entries *es)
{
	size_t out = 0;

	for (size_t i = 0; i < es->n; i++) {
		int later = 0;

		for (size_t j = i + 1; j < es->n && !later; j++)
			later = same_rcpt(&es->v[i], &es->v[j]);
		if (later)
			bounce_log_entry_free(&es->v[i]);
		else
			es->v[out++] = es->v[i];
	}
	es->n = out;
}

static void info_free(struct msg_info *info)
{
	myfree(info->sender);
	myfree(info->envid);
	entries_free(&info->pending);
}

/* cleanup may not have flagged 8-bit content in the size record; a
 * returned copy must say 8bit. Sees every record the envelope reader
 * does not use (the content lines among them). */
static int scan_8bit(void *ctx, const struct queue_rec *rec,
		     struct strbuf *why)
{
	struct msg_info *info = ctx;

	(void)why;
	if (rec->type == REC_TYPE_NORM || rec->type == REC_TYPE_CONT)
		for (size_t i = 0; i < rec->len && !info->eightbit; i++)
			info->eightbit = (unsigned char)rec->data[i] >= 0x80;
	return 0;
}

/* Pass 1 over the queue file: arrival, sender, DSN data, and the
 * recipients not marked done (envelope and extracted segments). A file
 * that cannot be read leaves info->readable 0; the notice is sent
 * without the message then (best effort, as Postfix does), with what
 * could be read before the error. */
static int read_info(const struct bounce_msg *msg, struct msg_info *info,
		     struct strbuf *why)
{
	struct queue_file *qf = NULL;
	struct queue_envelope env;
	struct queue_envelope_params params = {
	    .rcpt_limit = BOUNCE_NOTICE_RCPT_MAX,
	    .other = scan_8bit,
	    .ctx = info,
	};
	int rc;

	memset(info, 0, sizeof(*info));
	info->ret = msg->dsn_ret;
	rc = queue_file_open(bounce_queue, msg->queue_name, msg->queue_id, 0,
			     &qf, why);
	if (rc != QUEUE_FILE_OK) {
		info->sender = mystrdup(msg->sender);
		info->envid = mystrdup(msg->dsn_envid);
		return rc;
	}
	info->content_size = queue_file_size(qf)->content_size;
	info->eightbit =
	    (queue_file_size(qf)->flags & QUEUE_SIZE_FLAG_8BIT) != 0;
	rc = queue_envelope_read(qf, &params, &env, why);
	(void)queue_file_close(&qf);
	info->arrival = env.arrival_sec;
	info->sender = mystrdup(env.sender ? env.sender : msg->sender);
	info->envid = mystrdup(env.dsn_envid ? env.dsn_envid : msg->dsn_envid);
	if (env.dsn_ret != DSN_RET_NONE)
		info->ret = env.dsn_ret;
	for (size_t i = 0; i < env.rcpt_count; i++) {
		struct bounce_log_entry e = {0};

		e.recipient = env.rcpt[i].address;
		e.orig_rcpt = env.rcpt[i].orig;
		e.dsn_orcpt = env.rcpt[i].dsn_orcpt;
		e.notify = env.rcpt[i].dsn_notify;
		e.offset = env.rcpt[i].offset;
		entries_add(&info->pending, &e);
	}
	info->pending.dropped = env.rcpt_dropped;
	/* The strings are info's now. */
	env.rcpt_count = 0;
	queue_envelope_free(&env);
	if (rc != QUEUE_FILE_OK)
		return rc;
	info->readable = 1;
	return QUEUE_FILE_OK;
}

/* --- writing the notice ------------------------------------------- */

struct out {
	struct cleanup_clnt *cc;
	struct strbuf *line;
};

/* One content line, split into L pieces where it is longer than a
 * record may be. */
static void out_raw(struct out *o, const char *text, size_t len)
{
	while (len > REC_LINE_MAX) {
		(void)cleanup_clnt_rec(o->cc, REC_TYPE_CONT, text,
				       REC_LINE_MAX);
		/* UNSAFE: len > REC_LINE_MAX bytes remain at text. */
		text += REC_LINE_MAX;
		len -= REC_LINE_MAX;
	}
	(void)cleanup_clnt_rec(o->cc, REC_TYPE_NORM, text, len);
}

static void out_line(struct out *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void out_line(struct out *o, const char *fmt, ...)
{
	va_list ap;

	strbuf_reset(o->line);
	va_start(ap, fmt);
	(void)strbuf_vprintf(o->line, fmt, ap);
	va_end(ap);
	out_raw(o, strbuf_str(o->line), strbuf_len(o->line));
}

static void rfc5322_date(int64_t when, char *buf, size_t len)
{
	time_t t = (time_t)when;
	struct tm tm;

	localtime_r(&t, &tm);
	strftime(buf, len, "%a, %d %b %Y %H:%M:%S %z (%Z)", &tm);
}

static const char *notice_subject(const struct notice *n)
{
	switch (n->kind) {
	case NOTICE_FAIL:
		return n->postmaster ? "Postmaster Copy: Undelivered Mail"
				     : "Undelivered Mail Returned to Sender";
	case NOTICE_DELAY:
		return n->postmaster ? "Postmaster Warning: Delayed Mail"
				     : "Delayed Mail (still being retried)";
	default:
		return "Successful Mail Delivery Report";
	}
}

/* The part for people. */
static void write_text(struct out *o, const struct notice *n)
{
	out_line(o, "This is the mail system at host %s.", var_myhostname);
	out_line(o, "%s", "");
	switch (n->kind) {
	case NOTICE_FAIL:
		out_line(o, "I'm sorry to have to inform you that your "
			    "message could not");
		out_line(o, "be delivered to one or more recipients. The "
			    "reasons are listed");
		out_line(o, "below; the message%s is attached.",
			 n->headers_only ? " headers" : "");
		out_line(o, "%s", "");
		out_line(o, "If you need help, write to the postmaster of "
			    "this host and");
		out_line(o, "include this report.");
		break;
	case NOTICE_DELAY:
		out_line(o, "THIS IS A WARNING ONLY: you do not need to send "
			    "your message again.");
		out_line(o, "%s", "");
		out_line(o, "Your message could not be delivered yet to the "
			    "recipients below.");
		out_line(o, "The mail system keeps trying, and will tell you "
			    "if it gives up.");
		break;
	case NOTICE_SUCCESS:
		out_line(o, "Your message was delivered to the recipients "
			    "listed below. If it");
		out_line(o, "went into a mailbox you will hear nothing more; "
			    "if it was relayed");
		out_line(o, "to another system, that system may still report "
			    "a problem.");
		break;
	}
	out_line(o, "%s", "");
	out_line(o, "                   The mail system");
	out_line(o, "%s", "");
	for (size_t i = 0; i < n->list->n; i++) {
		const struct bounce_log_entry *e = &n->list->v[i];

		if (*e->orig_rcpt && strcmp(e->orig_rcpt, e->recipient) != 0)
			out_line(o, "<%s> (expanded from <%s>): %s",
				 e->recipient, e->orig_rcpt, e->reason);
		else
			out_line(o, "<%s>: %s", e->recipient, e->reason);
	}
	if (n->list->dropped > 0)
		out_line(o, "(and %zu more recipients not listed here)",
			 n->list->dropped);
}

/* "type;addr" as "type; addr". */
static void out_typed(struct out *o, const char *field, const char *typed)
{
	const char *semi = strchr(typed, ';');

	if (semi == NULL) {
		out_line(o, "%s: rfc822; %s", field, typed);
		return;
	}
	while (semi[1] == ' ')
		semi++;
	out_line(o, "%s: %.*s; %s", field, (int)(strchr(typed, ';') - typed),
		 typed, semi + 1);
}

/* The part for programs (RFC 3464). */
static void write_status(struct out *o, const struct notice *n)
{
	char date[64];

	out_line(o, "Reporting-MTA: dns; %s", var_myhostname);
	out_line(o, "X-Postern-Queue-ID: %s", n->queue_id);
	out_line(o, "X-Postern-Sender: rfc822; %s", n->info->sender);
	if (*n->info->envid)
		out_line(o, "Original-Envelope-Id: %s", n->info->envid);
	if (n->info->arrival > 0) {
		rfc5322_date(n->info->arrival, date, sizeof(date));
		out_line(o, "Arrival-Date: %s", date);
	}
	for (size_t i = 0; i < n->list->n; i++) {
		const struct bounce_log_entry *e = &n->list->v[i];

		out_line(o, "%s", "");
		out_line(o, "Final-Recipient: rfc822; %s", e->recipient);
		if (*e->dsn_orcpt)
			out_typed(o, "Original-Recipient", e->dsn_orcpt);
		else if (*e->orig_rcpt &&
			 strcmp(e->orig_rcpt, e->recipient) != 0)
			out_line(o, "Original-Recipient: rfc822; %s",
				 e->orig_rcpt);
		out_line(o, "Action: %s", e->action);
		out_line(o, "Status: %s", e->status);
		if (*e->mta_name)
			out_line(o, "Remote-MTA: %s; %s",
				 *e->mta_type ? e->mta_type : "dns",
				 e->mta_name);
		if (*e->diag_type && *e->diag_text)
			out_line(o, "Diagnostic-Code: %s; %s", e->diag_type,
				 e->diag_text);
		else if (n->kind != NOTICE_SUCCESS)
			out_line(o, "Diagnostic-Code: X-Postern; %s",
				 e->reason);
		if (e->when > 0) {
			rfc5322_date(e->when, date, sizeof(date));
			out_line(o, "Last-Attempt-Date: %s", date);
		}
	}
}

/* Pass 2: copy the message (or its headers) from the queue file. */
static void write_message(struct out *o, const struct notice *n,
			  const struct bounce_msg *msg)
{
	struct strbuf *why = strbuf_new(STRBUF_NO_MAX);
	struct queue_file *qf = NULL;
	struct queue_rec rec;
	int piece = 0;

	if (queue_file_open(bounce_queue, msg->queue_name, msg->queue_id, 0,
			    &qf, why) != QUEUE_FILE_OK ||
	    queue_file_to_content(qf, 0, why) != QUEUE_FILE_OK) {
		out_line(o, "(the message could not be read: %s)",
			 strbuf_str(why));
		if (qf != NULL)
			(void)queue_file_close(&qf);
		strbuf_free(&why);
		return;
	}
	/* Best effort: a read error ends the copy where it happened. */
	while (queue_file_read_content(qf, &rec, why) == QUEUE_FILE_OK &&
	       rec.type != REC_TYPE_XTRA) {
		if (rec.type == REC_TYPE_CONT) {
			(void)cleanup_clnt_rec(o->cc, REC_TYPE_CONT, rec.data,
					       rec.len);
			piece = 1;
		} else if (rec.type == REC_TYPE_NORM) {
			/* The empty line after the headers ends a
			 * headers-only copy. */
			if (n->headers_only && rec.len == 0 && !piece)
				break;
			(void)cleanup_clnt_rec(o->cc, REC_TYPE_NORM, rec.data,
					       rec.len);
			piece = 0;
		}
	}
	if (piece) /* a headers-only copy never stops inside a line */
		(void)cleanup_clnt_rec(o->cc, REC_TYPE_NORM, "", 0);
	(void)queue_file_close(&qf);
	strbuf_free(&why);
}

/* Queue one notice from sender to rcpt. 0 and the new ID logged, or -1. */
static int send_notice(const struct notice *n, const struct bounce_msg *msg,
		       const char *sender, const char *rcpt, const char *what,
		       struct strbuf *why)
{
	struct out o = {0};
	struct strbuf *reason = strbuf_new(STRBUF_NO_MAX);
	char date[64], new_id[MAIL_QUEUE_ID_MAX + 1];
	struct timeval tv;
	int status;
	int eightbit = n->info->eightbit && !n->headers_only;

	o.cc = cleanup_clnt_open(CLEANUP_SERVICE_PATH, CLEANUP_FLAG_MAP_OK,
				 var_ipc_timeout, why);
	if (o.cc == NULL) {
		strbuf_free(&reason);
		return -1;
	}
	o.line = strbuf_new(STRBUF_NO_MAX);
	snprintf(new_id, sizeof(new_id), "%s", cleanup_clnt_queue_id(o.cc));
	gettimeofday(&tv, NULL);
	(void)cleanup_clnt_printf(o.cc, REC_TYPE_TIME, "%ld %ld",
				  (long)tv.tv_sec, (long)tv.tv_usec);
	(void)cleanup_clnt_rec(o.cc, REC_TYPE_FROM, sender, strlen(sender));
	(void)cleanup_clnt_rec(o.cc, REC_TYPE_RCPT, rcpt, strlen(rcpt));
	(void)cleanup_clnt_rec(o.cc, REC_TYPE_MESG, "", 0);

	rfc5322_date(tv.tv_sec, date, sizeof(date));
	out_line(&o, "Date: %s", date);
	out_line(&o, "From: MAILER-DAEMON@%s (Mail Delivery System)",
		 var_myhostname);
	out_line(&o, "Subject: %s", notice_subject(n));
	out_line(&o, "To: %s", rcpt);
	out_line(&o, "Auto-Submitted: auto-replied");
	out_line(&o, "MIME-Version: 1.0");
	out_line(&o, "Content-Type: multipart/report; "
		     "report-type=delivery-status;");
	out_line(&o, "\tboundary=\"%s\"", n->boundary);
	out_line(&o, "Content-Transfer-Encoding: %s",
		 eightbit ? "8bit" : "7bit");
	out_line(&o, "%s", "");
	out_line(&o, "This is a MIME-encapsulated message.");
	out_line(&o, "%s", "");

	out_line(&o, "--%s", n->boundary);
	out_line(&o, "Content-Description: Notification");
	out_line(&o, "Content-Type: text/plain; charset=utf-8");
	out_line(&o, "%s", "");
	write_text(&o, n);
	out_line(&o, "%s", "");

	out_line(&o, "--%s", n->boundary);
	out_line(&o, "Content-Description: Delivery report");
	out_line(&o, "Content-Type: message/delivery-status");
	out_line(&o, "%s", "");
	write_status(&o, n);
	out_line(&o, "%s", "");

	out_line(&o, "--%s", n->boundary);
	if (n->headers_only) {
		out_line(&o, "Content-Description: %s",
			 n->kind == NOTICE_FAIL ? "Undelivered Message Headers"
						: "Message Headers");
		out_line(&o, "Content-Type: text/rfc822-headers");
	} else {
		out_line(&o, "Content-Description: Undelivered Message");
		out_line(&o, "Content-Type: message/rfc822");
		if (eightbit)
			out_line(&o, "Content-Transfer-Encoding: 8bit");
	}
	out_line(&o, "%s", "");
	if (n->info->readable)
		write_message(&o, n, msg);
	else
		out_line(&o, "(the message could not be read)");
	out_line(&o, "%s", "");
	out_line(&o, "--%s--", n->boundary);
	(void)cleanup_clnt_rec(o.cc, REC_TYPE_XTRA, "", 0);

	status = cleanup_clnt_finish(&o.cc, reason);
	strbuf_free(&o.line);
	if (status != CLEANUP_STAT_OK) {
		strbuf_why(why, "cleanup: status %d: %s", status,
			   strbuf_len(reason) ? strbuf_str(reason)
					      : "not queued");
		strbuf_free(&reason);
		return -1;
	}
	strbuf_free(&reason);
	msg_info("%s: %s %s: %s", msg->queue_id, what,
		 n->kind == NOTICE_FAIL	   ? "non-delivery notification"
		 : n->kind == NOTICE_DELAY ? "delay notification"
					   : "delivery status notification",
		 new_id);
	return 0;
}

/* notify_classes: is class (or, for 2bounce, bounce) listed? */
static int notify_class(const char *class)
{
	char **list = conf_list_split(var_notify_classes);
	int found = 0;

	for (char **cp = list; *cp != NULL && !found; cp++)
		found = strcasecmp(*cp, class) == 0 ||
			(strcmp(class, "2bounce") == 0 &&
			 strcasecmp(*cp, "bounce") == 0);
	conf_list_free(&list);
	return found;
}

/* Whether a recipient's NOTIFY asks for a notice of this kind. */
static int notify_wanted(int notify, enum notice_kind kind)
{
	switch (kind) {
	case NOTICE_FAIL:
		return notify == 0 || (notify & DSN_NOTIFY_FAILURE);
	case NOTICE_DELAY:
		return notify == 0 || (notify & DSN_NOTIFY_DELAY);
	default:
		return (notify & DSN_NOTIFY_SUCCESS) != 0 || notify == 0;
	}
}

/* The entries of all whose NOTIFY asks for kind (copies borrowed: the
 * returned list's v points into all's entries; free only its array). */
static void filter_notify(const struct entries *all, enum notice_kind kind,
			  struct entries *out)
{
	memset(out, 0, sizeof(*out));
	out->dropped = all->dropped;
	out->v = mycalloc(all->n ? all->n : 1, sizeof(*out->v));
	for (size_t i = 0; i < all->n; i++)
		if (notify_wanted(all->v[i].notify, kind))
			out->v[out->n++] = all->v[i];
}

/* Send the notices list calls for. 0 when all that were due are queued. */
static int deliver_notices(enum notice_kind kind, const struct bounce_msg *msg,
			   const struct msg_info *info,
			   const struct entries *list, struct strbuf *why)
{
	struct strbuf *dbl = strbuf_new(STRBUF_NO_MAX);
	struct strbuf *boundary = strbuf_new(STRBUF_NO_MAX);
	struct notice n = {
	    .kind = kind,
	    .queue_id = msg->queue_id,
	    .info = info,
	    .list = list,
	};
	const char *sender = info->sender;
	unsigned char rnd[6] = {0};
	int ret = 0;

	if (list->n == 0)
		goto out;
	(void)strbuf_printf(dbl, "%s@%s", var_double_bounce_sender,
			    var_myhostname);
	/* The boundary must not occur in the returned message: the queue
	 * ID and time are guessable, the random part is not. */
	if (getrandom(rnd, sizeof(rnd), GRND_NONBLOCK) != (ssize_t)sizeof(rnd))
		msg_warn("getrandom: %m; MIME boundary without random part");
	(void)strbuf_printf(boundary, "%s.%ld.%02x%02x%02x%02x%02x%02x/%s",
			    msg->queue_id, (long)time(NULL), rnd[0], rnd[1],
			    rnd[2], rnd[3], rnd[4], rnd[5], var_myhostname);
	n.boundary = strbuf_str(boundary);

	if (strcasecmp(sender, strbuf_str(dbl)) == 0) {
		/* A postmaster notice that failed: never a triple bounce. */
		msg_warn("%s: undeliverable postmaster notification discarded",
			 msg->queue_id);
		goto out;
	}
	if (*sender == 0) {
		/* A notice to the null sender would go nowhere (and loop). */
		if (kind == NOTICE_FAIL && notify_class("2bounce")) {
			n.postmaster = 1;
			n.headers_only = 0;
			if (info->content_size > var_bounce_size_limit)
				n.headers_only = 1;
			ret = send_notice(&n, msg, strbuf_str(dbl),
					  var_2bounce_notice_recipient,
					  "postmaster", why);
		} else if (kind == NOTICE_DELAY && notify_class("delay")) {
			n.postmaster = 1;
			n.headers_only = 1;
			ret = send_notice(&n, msg, strbuf_str(dbl),
					  var_delay_notice_recipient,
					  "postmaster", why);
		} else if (kind == NOTICE_FAIL) {
			msg_info("%s: undeliverable notification to the null "
				 "sender discarded (notify_classes has no "
				 "2bounce)",
				 msg->queue_id);
		}
		goto out;
	}

	/* To the sender, subject to each recipient's NOTIFY. */
	struct entries wanted;

	filter_notify(list, kind, &wanted);
	if (wanted.n > 0) {
		n.list = &wanted;
		n.headers_only = kind != NOTICE_FAIL ||
				 info->ret == DSN_RET_HDRS ||
				 info->content_size > var_bounce_size_limit;
		ret = send_notice(&n, msg, "", sender, "sender", why);
		n.list = list;
	}
	myfree(wanted.v);
	if (ret < 0)
		goto out;

	/* Postmaster copies, headers only. */
	n.postmaster = 1;
	n.headers_only = 1;
	if (kind == NOTICE_FAIL && notify_class("bounce"))
		ret =
		    send_notice(&n, msg, strbuf_str(dbl),
				var_bounce_notice_recipient, "postmaster", why);
	else if (kind == NOTICE_DELAY && notify_class("delay"))
		ret =
		    send_notice(&n, msg, strbuf_str(dbl),
				var_delay_notice_recipient, "postmaster", why);
out:
	strbuf_free(&dbl);
	strbuf_free(&boundary);
	return ret;
}

/* EXPIRE: every recipient not marked done fails, with its last
 * deferral's status and reason (Postfix keeps the 4.x.x status). */
static int add_expired(const char *id, struct msg_info *info,
		       struct entries *list, struct strbuf *why)
{
	struct entries defer = {0};

	if (load_log(MAIL_QUEUE_DEFER, id, &defer, why) < 0)
		return -1;
	entries_last_only(&defer);
	for (size_t i = 0; i < info->pending.n; i++) {
		struct bounce_log_entry *p = &info->pending.v[i];
		const struct bounce_log_entry *d = NULL;
		struct bounce_log_entry e = {0};

		for (size_t j = 0; j < defer.n; j++)
			if (same_rcpt(p, &defer.v[j]))
				d = &defer.v[j];
		e.recipient = mystrdup(p->recipient);
		e.orig_rcpt = mystrdup(p->orig_rcpt);
		e.dsn_orcpt = mystrdup(p->dsn_orcpt);
		e.notify = p->notify;
		e.offset = p->offset;
		e.action = mystrdup("failed");
		e.status = mystrdup(d ? d->status : "4.4.7");
		e.reason = mystrdup(d ? d->reason : "message expired");
		e.diag_type = mystrdup(d ? d->diag_type : "");
		e.diag_text = mystrdup(d ? d->diag_text : "");
		e.mta_type = mystrdup(d ? d->mta_type : "");
		e.mta_name = mystrdup(d ? d->mta_name : "");
		e.when = d ? d->when : time(NULL);
		entries_add(list, &e);
	}
	entries_free(&defer);
	return 0;
}

/* Drop entries whose recipient is no longer pending (WARN: delivered
 * since it was deferred). */
static void keep_pending(struct entries *list, const struct msg_info *info)
{
	size_t out = 0;

	for (size_t i = 0; i < list->n; i++) {
		int pending = 0;

		for (size_t j = 0; j < info->pending.n && !pending; j++)
			pending = same_rcpt(&list->v[i], &info->pending.v[j]);
		if (pending)
			list->v[out++] = list->v[i];
		else
			bounce_log_entry_free(&list->v[i]);
	}
	list->n = out;
}

int bounce_notify(enum bounce_request req, const struct bounce_msg *msg,
		  struct strbuf *why)
{
	struct entries list = {0};
	struct msg_info info;
	enum notice_kind kind;
	const char *log;
	int rc, ret = -1;

	switch (req) {
	case BOUNCE_REQ_FLUSH:
	case BOUNCE_REQ_EXPIRE:
		kind = NOTICE_FAIL;
		log = MAIL_QUEUE_BOUNCE;
		break;
	case BOUNCE_REQ_WARN:
		kind = NOTICE_DELAY;
		log = MAIL_QUEUE_DEFER;
		break;
	case BOUNCE_REQ_TRACE:
		kind = NOTICE_SUCCESS;
		log = MAIL_QUEUE_TRACE;
		break;
	default:
		return strbuf_why(why, "not a notification request");
	}
	rc = read_info(msg, &info, why);
	if (rc == QUEUE_FILE_ERROR && errno != ENOENT) {
		/* Try again later rather than bounce without the message. */
		info_free(&info);
		return -1;
	}
	if (rc != QUEUE_FILE_OK) {
		msg_warn("%s: cannot read %s/%s: %s; notifying without the "
			 "message",
			 msg->queue_id, msg->queue_name, msg->queue_id,
			 strbuf_str(why));
		if (req == BOUNCE_REQ_EXPIRE) {
			info_free(&info);
			return strbuf_why(why, "expire: queue file unreadable");
		}
	}
	if (load_log(log, msg->queue_id, &list, why) < 0)
		goto out;
	if (req == BOUNCE_REQ_WARN) {
		entries_last_only(&list);
		if (info.readable)
			keep_pending(&list, &info);
	}
	if (req == BOUNCE_REQ_EXPIRE &&
	    add_expired(msg->queue_id, &info, &list, why) < 0)
		goto out;
	if (deliver_notices(kind, msg, &info, &list, why) < 0)
		goto out;
	/* The notice is queued: only now may its source go. */
	ret = 0;
	if (req != BOUNCE_REQ_WARN &&
	    bounce_log_remove(bounce_queue, log, msg->queue_id, why) < 0)
		ret = -1;
	if (req == BOUNCE_REQ_EXPIRE &&
	    bounce_log_remove(bounce_queue, MAIL_QUEUE_DEFER, msg->queue_id,
			      why) < 0)
		ret = -1;
out:
	entries_free(&list);
	info_free(&info);
	return ret;
}
