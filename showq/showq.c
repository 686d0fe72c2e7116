/*
 * showq - list the mail queue for postern-queue(1) and mailq(1). See
 * showq(8).
 *
 * One connection is one listing (global/showq_clnt.h): the handshake,
 * then one entry per message in incoming, active, deferred, hold and
 * maildrop (each queue in queue ID order, that is arrival order), with
 * the recipients not yet delivered and, from the defer log, why each
 * was deferred last; then an end marker.
 *
 * showq runs as mail_owner and its socket is reachable by the setgid
 * group, so the queue can be listed by users who cannot read it. It
 * takes no input from the client beyond the connection itself, opens
 * queue files read-only through the queue library (which refuses
 * symlinks, hard links and malformed IDs), and shows a file only when it
 * parses: incomplete files (being written) and corrupt ones are skipped,
 * never half-shown.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "attr.h"
#include "bounce_log.h"
#include "mail_conf.h"
#include "mail_params.h"
#include "mail_queue.h"
#include "mail_server.h"
#include "msg.h"
#include "mymalloc.h"
#include "queue_file.h"
#include "queue_scan.h"
#include "rec_type.h"
#include "showq_clnt.h"
#include "strbuf.h"

static struct mail_queue *showq_queue;

/* The queues listed, in Postfix's order. */
static const char *const showq_queues[] = {
    MAIL_QUEUE_INCOMING, MAIL_QUEUE_ACTIVE,   MAIL_QUEUE_DEFERRED,
    MAIL_QUEUE_HOLD,	 MAIL_QUEUE_MAILDROP, NULL};

struct rcpt {
	char *address;
	off_t offset;
};

static void set_str(struct attr_value *v, const char *s)
{
	v->present = 1;
	v->str = (char *)s; /* attr_print only reads it */
	v->len = strlen(s);
}

static void set_num(struct attr_value *v, long n)
{
	v->present = 1;
	v->num = n;
}

/* The last deferral reason for r from the defer log (entries). */
static const char *delay_reason(const struct bounce_log_entry *defer, size_t n,
				const struct rcpt *r)
{
	const char *reason = "";

	for (size_t i = 0; i < n; i++) {
		int same = defer[i].offset > 0 && r->offset > 0
			       ? defer[i].offset == r->offset
			       : strcmp(defer[i].recipient, r->address) == 0;

		if (same)
			reason = defer[i].reason;
	}
	return reason;
}

/* Report one message. 0, or -1 when the client went away. */
static int show_message(int fd, const char *queue, const char *id)
{
	struct strbuf *why = strbuf_new(STRBUF_NO_MAX);
	struct strbuf *path = strbuf_new(STRBUF_NO_MAX);
	struct attr_value val[SHOWQ_ATTR_COUNT];
	struct queue_file *qf = NULL;
	struct queue_rec rec;
	struct rcpt *rcpt = NULL;
	size_t nrcpt = 0, cap = 0;
	struct bounce_log_entry *defer = NULL;
	size_t ndefer = 0;
	struct bounce_log *bl = NULL;
	struct bounce_log_entry e;
	char *sender = NULL;
	long arrival = 0;
	struct stat st;
	int rc, ret = 0;

	rc = queue_file_open(showq_queue, queue, id, 0, &qf, why);
	if (rc != QUEUE_FILE_OK) {
		/* Being written, gone since the scan, or for qmgr to put
		 * in corrupt/: not part of the listing. */
		if (rc == QUEUE_FILE_CORRUPT)
			msg_warn("%s/%s: %s", queue, id, strbuf_str(why));
		goto out;
	}
	while ((rc = queue_file_read(qf, &rec, why)) == QUEUE_FILE_OK &&
	       rec.type != REC_TYPE_EOF) {
		if (rec.type == REC_TYPE_TIME) {
			arrival = strtol(rec.data, NULL, 10);
		} else if (rec.type == REC_TYPE_FROM) {
			myfree(sender);
			sender = mystrdup(rec.data);
		} else if (rec.type == REC_TYPE_RCPT &&
			   nrcpt < SHOWQ_RCPT_MAX) {
			if (nrcpt == cap) {
				cap = cap ? mymalloc_mul(cap, 2) : 8;
				rcpt = myreallocarray(rcpt, cap, sizeof(*rcpt));
			}
			rcpt[nrcpt].address = mystrdup(rec.data);
			rcpt[nrcpt++].offset = rec.offset;
		}
	}
	if (rc != QUEUE_FILE_OK || sender == NULL)
		goto out;
	if (mail_queue_path(showq_queue, path, queue, id, why) < 0 ||
	    fstatat(mail_queue_dirfd(showq_queue), strbuf_str(path), &st,
		    AT_SYMLINK_NOFOLLOW) < 0)
		goto out;
	/* The reasons of the latest deferrals, for the recipients. */
	if (bounce_log_open(showq_queue, MAIL_QUEUE_DEFER, id, &bl, why) == 0) {
		while ((rc = bounce_log_read(bl, &e, why)) != 0 && rc != -2) {
			if (rc < 0)
				continue;
			if (ndefer >= SHOWQ_RCPT_MAX) {
				bounce_log_entry_free(&e);
				continue;
			}
			defer =
			    myreallocarray(defer, ndefer + 1, sizeof(*defer));
			defer[ndefer++] = e;
		}
		bounce_log_close(&bl);
	}

	memset(val, 0, sizeof(val));
	set_str(&val[SHOWQ_ATTR_KIND], "message");
	set_str(&val[SHOWQ_ATTR_QUEUE_NAME], queue);
	set_str(&val[SHOWQ_ATTR_QUEUE_ID], id);
	set_num(&val[SHOWQ_ATTR_ARRIVAL], arrival);
	set_num(&val[SHOWQ_ATTR_SIZE], (long)queue_file_size(qf)->content_size);
	set_num(&val[SHOWQ_ATTR_FILE_SIZE], (long)st.st_size);
	/* Postfix's mark: group execute on a deferred file. */
	set_num(&val[SHOWQ_ATTR_FORCED_EXPIRE], (st.st_mode & S_IXGRP) != 0);
	set_str(&val[SHOWQ_ATTR_SENDER], sender);
	set_num(&val[SHOWQ_ATTR_RCPT_COUNT], (long)nrcpt);
	if (attr_write_fd(fd, var_ipc_timeout, &showq_schema, val, why) < 0) {
		ret = -1;
		goto out;
	}
	for (size_t i = 0; i < nrcpt; i++) {
		memset(val, 0, sizeof(val));
		set_str(&val[SHOWQ_ATTR_KIND], "recipient");
		set_str(&val[SHOWQ_ATTR_ADDRESS], rcpt[i].address);
		set_str(&val[SHOWQ_ATTR_DELAY_REASON],
			delay_reason(defer, ndefer, &rcpt[i]));
		if (attr_write_fd(fd, var_ipc_timeout, &showq_schema, val,
				  why) < 0) {
			ret = -1;
			goto out;
		}
	}
out:
	if (ret < 0)
		msg_warn("write to client: %s", strbuf_str(why));
	if (qf != NULL)
		(void)queue_file_close(&qf);
	for (size_t i = 0; i < nrcpt; i++)
		myfree(rcpt[i].address);
	myfree(rcpt);
	for (size_t i = 0; i < ndefer; i++)
		bounce_log_entry_free(&defer[i]);
	myfree(defer);
	myfree(sender);
	strbuf_free(&why);
	strbuf_free(&path);
	return ret;
}

static void showq_service(int fd, const char *service, char **argv)
{
	struct strbuf *why = strbuf_new(STRBUF_NO_MAX);
	struct attr_value val[SHOWQ_ATTR_COUNT] = {0};

	(void)service;
	(void)argv;
	if (attr_handshake_send(fd, var_ipc_timeout, SHOWQ_PROTOCOL, why) < 0) {
		msg_warn("handshake: %s", strbuf_str(why));
		goto out;
	}
	for (int q = 0; showq_queues[q] != NULL; q++) {
		struct queue_scan_ids ids;
		int gone = 0;

		if (queue_scan(showq_queue, showq_queues[q], &ids, why) < 0)
			msg_warn("%s", strbuf_str(why));
		for (size_t i = 0; i < ids.count && !gone; i++)
			gone = show_message(fd, showq_queues[q], ids.id[i]) < 0;
		queue_scan_free(&ids);
		if (gone)
			goto out;
	}
	set_str(&val[SHOWQ_ATTR_KIND], "end");
	if (attr_write_fd(fd, var_ipc_timeout, &showq_schema, val, why) < 0)
		msg_warn("write to client: %s", strbuf_str(why));
out:
	strbuf_free(&why);
}

static void showq_post_jail(const char *service, char **argv)
{
	struct strbuf *why = strbuf_new(STRBUF_NO_MAX);

	(void)service;
	(void)argv;
	if ((showq_queue = mail_queue_open_main(".", why)) == NULL)
		msg_fatal("open queue: %s", strbuf_str(why));
	strbuf_free(&why);
}

int main(int argc, char **argv)
{
	static const struct server_def def = {
	    .name = "showq",
	    .kind = SERVER_SINGLE,
	    .service = showq_service,
	    .post_jail = showq_post_jail,
	};

	mail_server_main(argc, argv, &def);
}
