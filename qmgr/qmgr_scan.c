/*
 * qmgr_scan - which queue files come into active/, and in what order.
 *
 * Two scans exist: incoming/ (started by the I and W triggers and at
 * start-up) and deferred/ (every queue_run_delay, on D, and on A with
 * the retry times ignored). A scan is a snapshot of the directory's IDs,
 * sorted (long IDs sort by arrival), fed out one at a time. A trigger
 * that arrives while a scan is being fed marks it for a rerun, so mail
 * that arrived after the snapshot is found as soon as the snapshot is
 * used up, and a burst of triggers costs one rescan.
 *
 * qmgr_scan_fill() takes messages while qmgr_message_active_limit and
 * qmgr_message_recipient_limit allow, alternately one from incoming/ and
 * one from deferred/, so a large backlog of deferred mail never starves
 * new mail (nor the other way round).
 *
 * Invariants: hold/ is never scanned. A file whose mode is not the
 * complete mark (0700) is being written by cleanup and is left alone. A
 * deferred file whose mtime (its next retry time) is in the future is
 * skipped unless the scan ignores retry times. Names that are not valid
 * queue IDs are ignored (never turned into paths).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "mail_params.h"
#include "mail_queue.h"
#include "msg.h"
#include "mymalloc.h"
#include "qmgr.h"
#include "queue_scan.h"
#include "strbuf.h"

/* How many messages one scheduling round reads at most, so that a big
 * backlog does not stop the event loop (deliveries keep finishing). */
#define QMGR_FILL_BATCH 100

struct qmgr_scan {
	const char *queue;
	struct queue_scan_ids ids;
	size_t next;
	int active; /* a snapshot is being fed */
	int rerun;  /* start again when it is used up */
	int all;    /* ignore retry times (this run) */
	int rerun_all;
};

static struct qmgr_scan qmgr_incoming = {.queue = MAIL_QUEUE_INCOMING};
static struct qmgr_scan qmgr_deferred = {.queue = MAIL_QUEUE_DEFERRED};
static int qmgr_scan_turn; /* 0: incoming next, 1: deferred next */

int qmgr_scan_list(const char *queue, struct queue_scan_ids *ids)
{
	struct strbuf *why = strbuf_new(STRBUF_NO_MAX);
	int ret = queue_scan(qmgr_mq, queue, ids, why);

	if (ret < 0)
		msg_warn("scan queue %s: %s", queue, strbuf_str(why));
	strbuf_free(&why);
	return ret;
}

static void scan_start(struct qmgr_scan *scan, int all)
{
	if (scan->active) {
		scan->rerun = 1;
		scan->rerun_all |= all;
		return;
	}
	queue_scan_free(&scan->ids);
	scan->next = 0;
	scan->all = all;
	/* A partial listing is still worth feeding. */
	(void)qmgr_scan_list(scan->queue, &scan->ids);
	scan->active = 1;
	/* The files are taken in a scheduling round (qmgr_scan_fill). */
	qmgr_sched_request();
	if (msg_verbose)
		msg_info("scan %s: %zu files%s", scan->queue, scan->ids.count,
			 all ? " (ignoring retry times)" : "");
}

void qmgr_scan_incoming(void)
{
	scan_start(&qmgr_incoming, 0);
}

void qmgr_scan_deferred(int all)
{
	scan_start(&qmgr_deferred, all);
}

/* The next ID of a scan worth a look, or NULL when it is used up. */
static const char *scan_next(struct qmgr_scan *scan)
{
	struct strbuf *path = strbuf_new(STRBUF_NO_MAX);
	const char *id = NULL;
	time_t now = time(NULL);

	while (scan->active && id == NULL) {
		struct stat st;

		if (scan->next >= scan->ids.count) {
			scan->active = 0;
			if (scan->rerun) {
				int all = scan->rerun_all;

				scan->rerun = scan->rerun_all = 0;
				scan_start(scan, all);
			}
			continue;
		}
		id = scan->ids.id[scan->next++];
		if (mail_queue_path(qmgr_mq, path, scan->queue, id, NULL) < 0 ||
		    fstatat(mail_queue_dirfd(qmgr_mq), strbuf_str(path), &st,
			    AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISREG(st.st_mode)) {
			id = NULL; /* gone, or not ours to look at */
			continue;
		}
		/* Not the complete mark: cleanup is still writing it. */
		if ((st.st_mode & 0700) != MAIL_QUEUE_STAT_READY) {
			id = NULL;
			continue;
		}
		if (scan == &qmgr_deferred && !scan->all && st.st_mtime > now)
			id = NULL;
	}
	strbuf_free(&path);
	return id;
}

static int qmgr_room(void)
{
	/* One message is always taken, however many recipients it has:
	 * otherwise a message over the limit would never be delivered. */
	if (qmgr_active_count == 0)
		return 1;
	return qmgr_active_count < (size_t)var_qmgr_message_active_limit &&
	       qmgr_rcpt_in_memory < (size_t)var_qmgr_message_recipient_limit;
}

void qmgr_scan_fill(void)
{
	int taken = 0;

	while (qmgr_room()) {
		struct qmgr_scan *first =
		    qmgr_scan_turn ? &qmgr_deferred : &qmgr_incoming;
		struct qmgr_scan *second =
		    qmgr_scan_turn ? &qmgr_incoming : &qmgr_deferred;
		const char *id;
		struct qmgr_scan *from = first;

		if ((id = scan_next(first)) == NULL) {
			from = second;
			id = scan_next(second);
		}
		if (id == NULL)
			break;
		qmgr_scan_turn = from == &qmgr_incoming;
		qmgr_message_activate(from->queue, id);
		if (++taken >= QMGR_FILL_BATCH) {
			qmgr_sched_request();
			break;
		}
	}
}
