/*
 * qmgr_message - one message's life in active/: read it, route its
 * recipients into entries, and when every entry has finished decide what
 * becomes of the file.
 *
 * Reading. The file is read completely (envelope, content, extracted
 * segment): a file that does not parse, or is cut short although it
 * carries the complete mark, goes to corrupt/ with a warning, never
 * deleted. Recipients already marked done (D) are skipped. cleanup's
 * redirect record sends every recipient to its address instead, and the
 * content_filter attribute ("transport:nexthop") overrides the routing
 * of every recipient, as in Postfix.
 *
 * Routing. resolve_addr() gives transport and next hop; recipients of
 * one message for one destination are batched into entries of at most
 * the transport's recipient limit. A recipient that cannot be routed now
 * (a table error, a dead destination or transport) is deferred at once
 * with a defer-log record, as an agent would.
 *
 * The end of a pass (message_done), in this order:
 *   - a double-bounce message that failed is logged and dropped (no loop);
 *   - recipients are left and the message is too old: EXPIRE (bounce
 *     returns it with whatever bounce/ID holds, in one notice), then it
 *     is removed;
 *   - bounce/ID exists: ask bounce to FLUSH it (a non-delivery notice);
 *     trace/ID exists: ask for the TRACE notice;
 *   - recipients are left: maybe a delay WARNing (once: the W record is
 *     rewritten in place), then set the file's mtime to the next retry
 *     time and move it to deferred/;
 *   - nothing is left: remove the file and its defer log: "ID: removed".
 * Invariant: a file is removed only after the non-delivery notices that
 * are due have been accepted by the bounce service. When a bounce request
 * fails the message goes to deferred/ and the request is made again next
 * time: mail is never lost for want of a notice.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bounce_clnt.h"
#include "deliver_request.h"
#include "dsn.h"
#include "mail_params.h"
#include "mail_queue.h"
#include "msg.h"
#include "mymalloc.h"
#include "qmgr.h"
#include "queue_file.h"
#include "rec_type.h"
#include "resolve.h"
#include "strbuf.h"

/* How long to leave a file that could not be read for a system reason
 * (not corrupt) before trying again. */
#define QMGR_READ_RETRY 60

/* --- small helpers --- */

static void msg_free(struct qmgr_message *msg)
{
	while (msg->jobs != NULL) {
		struct qmgr_job *job = msg->jobs;

		msg->jobs = job->next;
		myfree(job);
	}
	for (size_t i = 0; i < msg->rcpt_count; i++) {
		myfree(msg->rcpt[i].address);
		myfree(msg->rcpt[i].orig);
		myfree(msg->rcpt[i].orcpt);
	}
	qmgr_rcpt_in_memory -= msg->rcpt_count;
	qmgr_active_count--;
	myfree(msg->rcpt);
	myfree(msg->sender);
	myfree(msg->envid);
	myfree(msg->client_name);
	myfree(msg->client_addr);
	myfree(msg->redirect);
	myfree(msg->filter);
	myfree(msg);
	/* Room for another message. */
	qmgr_sched_request();
}

/* Whether the status log queue/id exists (bounce/, defer/, trace/). */
static int log_exists(const char *queue, const char *id)
{
	struct strbuf *path = strbuf_new(STRBUF_NO_MAX);
	struct stat st;
	int ret;

	ret = mail_queue_path(qmgr_mq, path, queue, id, NULL) == 0 &&
	      fstatat(mail_queue_dirfd(qmgr_mq), strbuf_str(path), &st,
		      AT_SYMLINK_NOFOLLOW) == 0;
	strbuf_free(&path);
	return ret;
}

static void log_remove(const char *queue, const char *id)
{
	struct strbuf *why = strbuf_new(STRBUF_NO_MAX);

	if (mail_queue_remove(qmgr_mq, queue, id, why) < 0 && errno != ENOENT)
		msg_warn("%s: remove %s log: %s", id, queue, strbuf_str(why));
	strbuf_free(&why);
}

/* Postfix's delay style, as the agents log it: 0.12, 1.2, 12. */
static void put_secs(struct strbuf *out, double sec)
{
	char buf[32], *cp;

	if (sec < 0)
		sec = 0;
	snprintf(buf, sizeof(buf), "%.*f",
		 sec >= 10  ? 0
		 : sec >= 1 ? 1
			    : 2,
		 sec);
	if (strchr(buf, '.') != NULL) {
		cp = buf + strlen(buf) - 1;
		while (*cp == '0')
			*cp-- = 0;
		if (*cp == '.')
			*cp = 0;
	}
	strbuf_puts(out, buf);
}

void qmgr_message_delays(const struct qmgr_message *msg, struct strbuf *out)
{
	int64_t now = deliver_now_us();
	int64_t arrival =
	    msg->arrival_sec * 1000000 + (int64_t)msg->arrival_usec;

	strbuf_puts(out, "delay=");
	put_secs(out, (double)(now - arrival) / 1e6);
	strbuf_puts(out, ", delays=");
	put_secs(out, (double)(msg->active_us - arrival) / 1e6);
	strbuf_putc(out, '/');
	put_secs(out, (double)(now - msg->active_us) / 1e6);
	strbuf_puts(out, "/0/0");
}

static void bounce_msg_init(const struct qmgr_message *msg,
			    struct bounce_msg *bm)
{
	bm->queue_name = MAIL_QUEUE_ACTIVE;
	bm->queue_id = msg->id;
	bm->sender = msg->sender;
	bm->dsn_envid = msg->envid;
	bm->dsn_ret = msg->dsn_ret;
}

/* Defer one recipient that qmgr itself could not hand to an agent. */
static void defer_rcpt(struct qmgr_message *msg, const struct qmgr_rcpt *rcpt,
		       const char *status, const char *reason)
{
	struct strbuf *why = strbuf_new(STRBUF_NO_MAX);
	struct strbuf *line = strbuf_new(STRBUF_NO_MAX);
	struct bounce_rcpt br = {
	    .address = rcpt->address,
	    .orig = rcpt->orig,
	    .dsn_orcpt = rcpt->orcpt,
	    .dsn_notify = rcpt->notify,
	    .offset = rcpt->offset,
	};
	struct dsn dsn = {
	    .status = status,
	    .action = "delayed",
	    .reason = reason,
	    .dtype = "",
	    .dtext = "",
	    .mtype = "",
	    .mname = "",
	};

	msg->deferred = 1;
	/* The log line is the admin's record even when the append fails;
	 * the recipient is not marked, so it is tried again either way. */
	strbuf_printf(line, "%s: to=<%s>, ", msg->id, rcpt->address);
	if (*rcpt->orig && strcmp(rcpt->orig, rcpt->address) != 0)
		strbuf_printf(line, "orig_to=<%s>, ", rcpt->orig);
	strbuf_puts(line, "relay=none, ");
	qmgr_message_delays(msg, line);
	strbuf_printf(line, ", dsn=%s, status=deferred (%s)", status, reason);
	msg_info("%s", strbuf_str(line));
	if (bounce_append(DEFER_SERVICE, msg->id, &br, &dsn, why) < 0)
		msg_warn("%s: defer log for %s: %s", msg->id, rcpt->address,
			 strbuf_str(why));
	strbuf_free(&line);
	strbuf_free(&why);
}

void qmgr_message_defer_entry(struct qmgr_entry *entry, const char *dsn,
			      const char *reason)
{
	for (size_t i = 0; i < entry->rcpt_count; i++)
		defer_rcpt(entry->job->message, entry->rcpt[i], dsn, reason);
}

/* --- moving the file --- */

/* Rename active/id to queue; log failures. 0 or -1. */
static int move_to(const char *id, const char *queue)
{
	struct strbuf *why = strbuf_new(STRBUF_NO_MAX);
	int ret = mail_queue_rename(qmgr_mq, MAIL_QUEUE_ACTIVE, queue, id, why);

	if (ret < 0)
		msg_warn("%s: move from %s to %s: %s", id, MAIL_QUEUE_ACTIVE,
			 queue, strbuf_str(why));
	strbuf_free(&why);
	return ret;
}

/* Set the next retry time (the file's mtime) and move it to deferred/.
 * If this fails the file stays in active/, which the next qmgr start
 * puts back in incoming/: delayed, not lost. */
static void defer_file(const char *id, time_t when)
{
	struct strbuf *path = strbuf_new(STRBUF_NO_MAX);
	struct timespec times[2] = {
	    {.tv_sec = 0, .tv_nsec = UTIME_OMIT},
	    {.tv_sec = when, .tv_nsec = 0},
	};

	if (mail_queue_path(qmgr_mq, path, MAIL_QUEUE_ACTIVE, id, NULL) < 0 ||
	    utimensat(mail_queue_dirfd(qmgr_mq), strbuf_str(path), times,
		      AT_SYMLINK_NOFOLLOW) < 0)
		msg_warn("%s: set retry time: %m", id);
	(void)move_to(id, MAIL_QUEUE_DEFERRED);
	strbuf_free(&path);
}

/* The wait before the next try grows with the message's age: the
 * exponential back-off of Postfix, and a restart loses nothing. */
static time_t retry_time(const struct qmgr_message *msg, time_t now)
{
	int64_t age = (int64_t)now - msg->arrival_sec;

	if (age < var_minimal_backoff_time)
		age = var_minimal_backoff_time;
	if (age > var_maximal_backoff_time)
		age = var_maximal_backoff_time;
	return now + (time_t)age;
}

static void remove_message(struct qmgr_message *msg)
{
	struct strbuf *why = strbuf_new(STRBUF_NO_MAX);

	log_remove(MAIL_QUEUE_DEFER, msg->id);
	if (mail_queue_remove(qmgr_mq, MAIL_QUEUE_ACTIVE, msg->id, why) < 0)
		msg_warn("%s: remove: %s", msg->id, strbuf_str(why));
	else
		msg_info("%s: removed", msg->id);
	strbuf_free(&why);
}

/* bounce sends postmaster notices from $double_bounce_sender@... */
static int is_double_bounce(const char *sender)
{
	size_t n = strlen(var_double_bounce_sender);

	return n > 0 && strncmp(sender, var_double_bounce_sender, n) == 0 &&
	       (sender[n] == '@' || sender[n] == 0);
}

static int expired(const struct qmgr_message *msg, time_t now)
{
	int64_t life = *msg->sender ? var_maximal_queue_lifetime
				    : var_bounce_queue_lifetime;

	return (int64_t)now >= msg->arrival_sec + life;
}

/* Does anyone want to hear about the delay? Postfix's rule: a recipient
 * without NOTIFY, or with NOTIFY=DELAY; never the null sender. */
static int warning_due(const struct qmgr_message *msg, time_t now)
{
	if (var_delay_warning_time <= 0 || *msg->sender == 0 ||
	    msg->warn_offset == 0 || msg->warn_sent != 0 ||
	    (int64_t)now < msg->arrival_sec + var_delay_warning_time)
		return 0;
	for (size_t i = 0; i < msg->rcpt_count; i++)
		if (msg->rcpt[i].notify == 0 ||
		    (msg->rcpt[i].notify & DSN_NOTIFY_DELAY))
			return 1;
	return 0;
}

/* Send the delay warning and mark it sent, in place and synced, so it
 * goes out once. If the mark cannot be written after the warning was
 * queued, the sender may get a second one: better than none. */
static void send_warning(struct qmgr_message *msg, time_t now)
{
	struct strbuf *why = strbuf_new(STRBUF_NO_MAX);
	struct queue_file *qf = NULL;
	struct bounce_msg bm;

	bounce_msg_init(msg, &bm);
	if (bounce_request(BOUNCE_REQ_WARN, &bm, why) < 0) {
		msg_warn("%s: delay warning not sent: %s; will retry", msg->id,
			 strbuf_str(why));
	} else if (queue_file_open(qmgr_mq, MAIL_QUEUE_ACTIVE, msg->id,
				   QUEUE_FILE_FLAG_RDWR, &qf,
				   why) != QUEUE_FILE_OK ||
		   queue_file_set_warn(qf, msg->warn_offset, (int64_t)now,
				       why) < 0) {
		msg_warn("%s: cannot record the delay warning: %s", msg->id,
			 strbuf_str(why));
	} else {
		msg->warn_sent = now;
	}
	if (qf != NULL)
		(void)queue_file_close(&qf);
	strbuf_free(&why);
}

static void message_done(struct qmgr_message *msg)
{
	struct strbuf *why = strbuf_new(STRBUF_NO_MAX);
	struct bounce_msg bm;
	time_t now = time(NULL);
	int keep = 0;
	int bounced = log_exists(MAIL_QUEUE_BOUNCE, msg->id);

	bounce_msg_init(msg, &bm);

	/* A notice to postmaster that cannot be delivered: telling anyone
	 * about it could only start a loop. */
	if (is_double_bounce(msg->sender) && (bounced || msg->deferred)) {
		msg_info("%s: undeliverable postmaster notification discarded",
			 msg->id);
		log_remove(MAIL_QUEUE_BOUNCE, msg->id);
		log_remove(MAIL_QUEUE_TRACE, msg->id);
		remove_message(msg);
		goto out;
	}
	if (msg->deferred && expired(msg, now)) {
		/* EXPIRE reports the recipients left and those in bounce/ID
		 * in one notice, and removes both logs: no FLUSH first. */
		if (bounce_request(BOUNCE_REQ_EXPIRE, &bm, why) < 0) {
			msg_warn("%s: message expired but not returned: %s; "
				 "will retry",
				 msg->id, strbuf_str(why));
			defer_file(msg->id, retry_time(msg, now));
			goto out;
		}
		msg_info("%s: from=<%s>, status=expired, returned to sender",
			 msg->id, msg->sender);
		/* The message goes now: a second EXPIRE would return it
		 * twice. A success notice that cannot be sent is lost. */
		if (log_exists(MAIL_QUEUE_TRACE, msg->id) &&
		    bounce_request(BOUNCE_REQ_TRACE, &bm, why) < 0) {
			msg_warn("%s: delivery status notice not sent: %s",
				 msg->id, strbuf_str(why));
			log_remove(MAIL_QUEUE_TRACE, msg->id);
		}
		remove_message(msg);
		goto out;
	}
	if (bounced && bounce_request(BOUNCE_REQ_FLUSH, &bm, why) < 0) {
		msg_warn("%s: non-delivery notice not sent: %s; will retry",
			 msg->id, strbuf_str(why));
		keep = 1;
	}
	if (log_exists(MAIL_QUEUE_TRACE, msg->id) &&
	    bounce_request(BOUNCE_REQ_TRACE, &bm, why) < 0) {
		msg_warn("%s: delivery status notice not sent: %s; will retry",
			 msg->id, strbuf_str(why));
		keep = 1;
	}
	if (msg->deferred && warning_due(msg, now))
		send_warning(msg, now);
	if (msg->deferred || keep)
		defer_file(msg->id, retry_time(msg, now));
	else
		remove_message(msg);
out:
	strbuf_free(&why);
	msg_free(msg);
}

void qmgr_message_entry_done(struct qmgr_message *msg)
{
	if (msg->refcount == 0)
		msg_panic("%s: entry done without entries", msg->id);
	if (--msg->refcount == 0)
		message_done(msg);
}

/* --- reading --- */

static int parse_time(const char *data, int64_t *sec, long *usec)
{
	char *end;
	long long s;
	long u;

	errno = 0;
	s = strtoll(data, &end, 10);
	if (errno || end == data || *end != ' ' || s < 0)
		return -1;
	u = strtol(end + 1, &end, 10);
	if (errno || *end != 0 || u < 0 || u >= 1000000)
		return -1;
	*sec = s;
	*usec = u;
	return 0;
}

/* Read the file into msg. A queue_file_status; the reason in why. */
static int message_read(struct qmgr_message *msg, struct strbuf *why)
{
	struct queue_file *qf = NULL;
	struct queue_rec rec;
	char *orig = NULL, *orcpt = NULL;
	int notify = 0, status, have_time = 0;
	size_t cap = 0;
	const struct queue_file_size *size;

	status =
	    queue_file_open(qmgr_mq, MAIL_QUEUE_ACTIVE, msg->id, 0, &qf, why);
	if (status != QUEUE_FILE_OK)
		return status;
	size = queue_file_size(qf);
	msg->data_offset = size->content_offset;
	msg->data_size = size->content_size;
	msg->nrcpt_total = (long)size->rcpt_count;
	if (size->flags & QUEUE_SIZE_FLAG_8BIT)
		msg->deliver_flags |= DELIVER_FLAG_8BIT;
	if (size->flags & QUEUE_SIZE_FLAG_SMTPUTF8)
		msg->deliver_flags |= DELIVER_FLAG_SMTPUTF8;
	for (;;) {
		if ((status = queue_file_read(qf, &rec, why)) != QUEUE_FILE_OK)
			break;
		if (rec.type == REC_TYPE_EOF)
			break;
		switch (rec.type) {
		case REC_TYPE_TIME:
			if (parse_time(rec.data, &msg->arrival_sec,
				       &msg->arrival_usec) < 0) {
				strbuf_why(why, "bad arrival time record");
				status = QUEUE_FILE_CORRUPT;
				goto out;
			}
			have_time = 1;
			break;
		case REC_TYPE_FROM:
			myfree(msg->sender);
			msg->sender = mystrdup(rec.data);
			break;
		case REC_TYPE_DSN_ENVID:
			myfree(msg->envid);
			msg->envid = mystrdup(rec.data);
			break;
		case REC_TYPE_DSN_RET:
			msg->dsn_ret = atoi(rec.data);
			break;
		case REC_TYPE_RDR:
			myfree(msg->redirect);
			msg->redirect = mystrdup(rec.data);
			break;
		case REC_TYPE_WARN:
			msg->warn_offset = rec.offset;
			msg->warn_sent = strtoll(rec.data, NULL, 10);
			break;
		case REC_TYPE_ATTR: {
			const char *eq = strchr(rec.data, '=');
			size_t n = eq ? (size_t)(eq - rec.data) : 0;

			if (eq == NULL)
				break;
			if (n == 14 &&
			    strncmp(rec.data, "content_filter", n) == 0) {
				myfree(msg->filter);
				msg->filter = mystrdup(eq + 1);
			} else if (n == 11 &&
				   strncmp(rec.data, "client_name", n) == 0) {
				myfree(msg->client_name);
				msg->client_name = mystrdup(eq + 1);
			} else if (n == 14 &&
				   strncmp(rec.data, "client_address", n) ==
				       0) {
				myfree(msg->client_addr);
				msg->client_addr = mystrdup(eq + 1);
			}
			break;
		}
		case REC_TYPE_ORCP:
			myfree(orig);
			orig = mystrdup(rec.data);
			break;
		case REC_TYPE_DSN_ORCPT:
			myfree(orcpt);
			orcpt = mystrdup(rec.data);
			break;
		case REC_TYPE_DSN_NOTIFY:
			notify = atoi(rec.data);
			break;
		case REC_TYPE_RCPT: {
			struct qmgr_rcpt *r;

			if (msg->rcpt_count == cap) {
				cap = cap ? mymalloc_mul(cap, 2) : 8;
				msg->rcpt = myreallocarray(msg->rcpt, cap,
							   sizeof(*msg->rcpt));
			}
			r = msg->rcpt + msg->rcpt_count++;
			r->address = mystrdup(rec.data);
			r->orig = orig ? orig : mystrdup("");
			r->orcpt = orcpt ? orcpt : mystrdup("");
			r->notify = notify;
			r->offset = rec.offset;
			orig = orcpt = NULL;
			notify = 0;
			break;
		}
		case REC_TYPE_DONE:
		case REC_TYPE_DRCP:
			/* The O, o and n before it belonged to it. */
			myfree(orig);
			myfree(orcpt);
			notify = 0;
			break;
		default:
			break;
		}
	}
out:
	myfree(orig);
	myfree(orcpt);
	(void)queue_file_close(&qf);
	if (status == QUEUE_FILE_OK && (!have_time || msg->sender == NULL)) {
		strbuf_why(why, "no arrival time or sender");
		status = QUEUE_FILE_CORRUPT;
	}
	return status;
}

/* --- routing --- */

struct route_slot {
	struct qmgr_queue *queue;
	struct qmgr_entry *entry;
};

static struct qmgr_job *job_find(struct qmgr_message *msg,
				 struct qmgr_transport *transport)
{
	struct qmgr_job *job;

	for (job = msg->jobs; job != NULL; job = job->next)
		if (job->transport == transport)
			return job;
	job = mycalloc(1, sizeof(*job));
	job->message = msg;
	job->transport = transport;
	job->next = msg->jobs;
	msg->jobs = job;
	return job;
}

/* Split "transport:nexthop" (the nexthop may be empty). */
static void split_filter(const char *filter, char **transport, char **nexthop)
{
	const char *colon = strchr(filter, ':');

	if (colon == NULL) {
		*transport = mystrdup(filter);
		*nexthop = mystrdup("");
	} else {
		*transport = mystrndup(filter, (size_t)(colon - filter));
		*nexthop = mystrdup(colon + 1);
	}
}

/* Recipients per request: the transport's limit, 0 meaning none as in
 * Postfix, but never more than an agent accepts. */
static size_t batch_limit(const struct qmgr_transport *transport)
{
	if (transport->dest_rcpt_limit <= 0 ||
	    transport->dest_rcpt_limit > DELIVER_RCPT_MAX)
		return DELIVER_RCPT_MAX;
	return (size_t)transport->dest_rcpt_limit;
}

/* Put every recipient into an entry (or defer it now). */
static void message_route(struct qmgr_message *msg)
{
	struct strbuf *why = strbuf_new(STRBUF_NO_MAX);
	struct strbuf *reason = strbuf_new(STRBUF_NO_MAX);
	struct route_slot *slots = NULL;
	size_t nslots = 0;
	char *f_transport = NULL, *f_nexthop = NULL;

	if (msg->filter != NULL)
		split_filter(msg->filter, &f_transport, &f_nexthop);
	/* Entries are held (refcount) until routing is over, so that a
	 * recipient deferred here cannot end the message under our feet. */
	msg->refcount++;
	for (size_t i = 0; i < msg->rcpt_count; i++) {
		struct qmgr_rcpt *rcpt = msg->rcpt + i;
		const char *addr =
		    msg->redirect ? msg->redirect : rcpt->address;
		struct resolve_reply reply = {0};
		const char *tname, *nexthop;
		struct qmgr_transport *transport;
		struct qmgr_queue *queue;
		struct qmgr_entry *entry = NULL;
		size_t s;

		if (resolve_addr(addr, &reply, why) < 0) {
			strbuf_reset(reason);
			strbuf_printf(reason, "address resolver failure: %s",
				      strbuf_str(why));
			defer_rcpt(msg, rcpt, "4.3.0", strbuf_str(reason));
			continue;
		}
		tname =
		    f_transport && *f_transport ? f_transport : reply.transport;
		nexthop = f_nexthop && *f_nexthop ? f_nexthop : reply.nexthop;
		transport = qmgr_transport_find(tname);
		if (transport->dead) {
			defer_rcpt(msg, rcpt, "4.3.0", transport->dead_reason);
			resolve_reply_free(&reply);
			continue;
		}
		queue = qmgr_queue_find(transport, nexthop);
		resolve_reply_free(&reply);
		if (queue->dead) {
			strbuf_reset(reason);
			strbuf_printf(reason,
				      "delivery temporarily suspended: %s",
				      queue->dead_reason);
			defer_rcpt(msg, rcpt, queue->dead_dsn,
				   strbuf_str(reason));
			qmgr_queue_release(queue);
			continue;
		}
		for (s = 0; s < nslots; s++)
			if (slots[s].queue == queue)
				break;
		if (s < nslots &&
		    slots[s].entry->rcpt_count < batch_limit(transport))
			entry = slots[s].entry;
		if (entry == NULL) {
			entry = qmgr_entry_new(job_find(msg, transport), queue);
			qmgr_queue_add(queue, entry);
			if (s == nslots) {
				slots = myreallocarray(slots, nslots + 1,
						       sizeof(*slots));
				slots[nslots++].queue = queue;
			}
			slots[s].entry = entry;
		}
		qmgr_entry_add_rcpt(entry, rcpt);
	}
	myfree(slots);
	myfree(f_transport);
	myfree(f_nexthop);
	strbuf_free(&why);
	strbuf_free(&reason);
	qmgr_sched_request();
	qmgr_message_entry_done(msg);
}

void qmgr_message_activate(const char *queue, const char *id)
{
	struct strbuf *why = strbuf_new(STRBUF_NO_MAX);
	struct qmgr_message *msg;
	int status;

	/* Unsynced: incoming/, deferred/ and active/ all lead back to a
	 * delivery after a crash (mail_queue.h). */
	if (mail_queue_rename_unsynced(qmgr_mq, queue, MAIL_QUEUE_ACTIVE, id,
				       why) < 0) {
		if (errno != ENOENT)
			msg_warn("%s: move from %s to %s: %s", id, queue,
				 MAIL_QUEUE_ACTIVE, strbuf_str(why));
		strbuf_free(&why);
		return;
	}
	msg = mycalloc(1, sizeof(*msg));
	snprintf(msg->id, sizeof(msg->id), "%s", id);
	msg->from_deferred = strcmp(queue, MAIL_QUEUE_DEFERRED) == 0;
	msg->active_us = deliver_now_us();
	qmgr_active_count++;
	status = message_read(msg, why);
	qmgr_rcpt_in_memory += msg->rcpt_count;
	if (status == QUEUE_FILE_CORRUPT || status == QUEUE_FILE_INCOMPLETE) {
		/* It carries the complete mark (the scan checked), so a
		 * short file is damage, not work in progress. */
		msg_warn("saving corrupt file \"%s\" from queue \"%s\" to "
			 "queue \"%s\": %s",
			 id, MAIL_QUEUE_ACTIVE, MAIL_QUEUE_CORRUPT,
			 strbuf_str(why));
		(void)move_to(id, MAIL_QUEUE_CORRUPT);
		goto drop;
	}
	if (status != QUEUE_FILE_OK) {
		if (errno != ENOENT) {
			msg_warn("%s: cannot read: %s; will retry", id,
				 strbuf_str(why));
			defer_file(id, time(NULL) + QMGR_READ_RETRY);
		}
		goto drop;
	}
	msg_info("%s: from=<%s>, size=%lld, nrcpt=%ld (queue active)", id,
		 msg->sender, (long long)msg->data_size,
		 msg->nrcpt_total > 0 ? msg->nrcpt_total
				      : (long)msg->rcpt_count);
	if (msg->envid == NULL)
		msg->envid = mystrdup("");
	if (msg->client_name == NULL)
		msg->client_name = mystrdup("");
	if (msg->client_addr == NULL)
		msg->client_addr = mystrdup("");
	/* Tried before and too old: return it now rather than try once
	 * more (bounce reports each recipient's last defer reason). */
	if (msg->from_deferred && msg->rcpt_count > 0 &&
	    expired(msg, time(NULL))) {
		msg->deferred = 1;
		msg->refcount = 1;
		qmgr_message_entry_done(msg);
		strbuf_free(&why);
		return;
	}
	strbuf_free(&why);
	message_route(msg);
	return;
drop:
	strbuf_free(&why);
	msg_free(msg);
}
