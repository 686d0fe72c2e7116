/*
 * qmgr - the queue manager: takes complete messages from incoming/ and
 * deferred/ into active/, hands their recipients to delivery agents in
 * batches per destination, and retries, expires or removes them. See
 * qmgr(8).
 *
 * This file is the daemon: the skeleton hook-up (a solitary, resident
 * SERVER_TRIGGER service), the triggers, the periodic deferred scan and
 * the start-up recovery. The work is in qmgr_scan.c (which files come
 * in), qmgr_message.c (a message's life in active/), qmgr_queue.c
 * (transports, destinations, concurrency feedback), qmgr_sched.c (who
 * goes next) and qmgr_deliver.c (the conversation with an agent).
 *
 * One process, one event loop (util/events.h): nothing here blocks on a
 * delivery agent, so a slow destination cannot hold back another. What
 * does block is short local IPC to the bounce service (status logs and
 * notices), as in Postfix.
 *
 * Safety argument. qmgr never writes a message; it only renames queue
 * files between queues, sets their mtime, and (once, in place) the
 * delay-warning mark. Agents mark recipients done before they answer. So
 * if qmgr dies at any point, everything it knew is in the queue
 * directory: at start-up every file left in active/ goes back to
 * incoming/ and is read again. The worst a crash does is deliver the
 * batches that were in flight a second time (at-least-once, doc/queue.md).
 */
#include <errno.h>
#include <string.h>

#include "events.h"
#include "mail_conf.h"
#include "mail_params.h"
#include "mail_queue.h"
#include "mail_server.h"
#include "mail_trigger.h"
#include "msg.h"
#include "mymalloc.h"
#include "qmgr.h"
#include "queue_scan.h"
#include "resolve.h"
#include "strbuf.h"

struct mail_queue *qmgr_mq;
size_t qmgr_active_count;
size_t qmgr_rcpt_in_memory;

/* Every queue_run_delay: look for deferred mail whose time has come. */
static void qmgr_deferred_timer(void *ctx)
{
	(void)ctx;
	qmgr_scan_deferred(0);
	events_timer(qmgr_deferred_timer, NULL,
		     var_queue_run_delay > 0 ? var_queue_run_delay : 1);
}

/*
 * Triggers arrive in bursts (cleanup sends one per message); collapse
 * them and act on A and F before D and I, as Postfix's qmgr does, so
 * that "AFDI" from a flush first forgets dead destinations and then
 * scans with retry times ignored.
 */
static void qmgr_trigger(const char *buf, size_t len, const char *service,
			 char **argv)
{
	int all = 0, forget = 0, deferred = 0, incoming = 0;

	(void)service;
	(void)argv;
	for (size_t i = 0; i < len; i++) {
		switch (buf[i]) {
		case QMGR_REQ_SCAN_ALL:
			all = 1;
			break;
		case QMGR_REQ_FLUSH_DEAD:
			forget = 1;
			break;
		case QMGR_REQ_SCAN_DEFERRED:
			deferred = 1;
			break;
		case QMGR_REQ_SCAN_INCOMING:
		case QMGR_REQ_WAKEUP:
			incoming = 1;
			break;
		default:
			if (msg_verbose)
				msg_info("ignoring unknown trigger 0x%02x",
					 (unsigned char)buf[i]);
			break;
		}
	}
	if (forget)
		qmgr_queue_revive_all();
	if (deferred || all)
		qmgr_scan_deferred(all);
	if (incoming)
		qmgr_scan_incoming();
	qmgr_sched_request();
}

/* Routing tables are opened while still privileged (they may be
 * root-only files), as Postfix's trivial-rewrite opens its own. */
static void qmgr_pre_jail(const char *service, char **argv)
{
	(void)service;
	(void)argv;
	resolve_init();
}

/*
 * Postfix's first act: whatever is in active/ belonged to a qmgr that is
 * gone (or was killed): put it back in incoming/, to be read again like
 * new mail. Agents that were still writing done marks finish on their
 * own; at worst a batch in flight is delivered twice.
 */
static void qmgr_recover_active(void)
{
	struct strbuf *why = strbuf_new(STRBUF_NO_MAX);
	struct queue_scan_ids ids = {0};

	(void)qmgr_scan_list(MAIL_QUEUE_ACTIVE, &ids);
	for (size_t i = 0; i < ids.count; i++) {
		if (mail_queue_rename(qmgr_mq, MAIL_QUEUE_ACTIVE,
				      MAIL_QUEUE_INCOMING, ids.id[i], why) < 0)
			msg_warn("%s: cannot move back to incoming: %s",
				 ids.id[i], strbuf_str(why));
		else if (msg_verbose)
			msg_info("%s: moved from active to incoming",
				 ids.id[i]);
	}
	queue_scan_free(&ids);
	strbuf_free(&why);
}

/* The queue directory is our working directory (master chdir'ed there;
 * after a chroot it is "/"). */
static void qmgr_post_jail(const char *service, char **argv)
{
	struct strbuf *why = strbuf_new(STRBUF_NO_MAX);

	(void)service;
	(void)argv;
	if ((qmgr_mq = mail_queue_open_main(".", why)) == NULL)
		msg_fatal("open queue: %s", strbuf_str(why));
	strbuf_free(&why);
	qmgr_recover_active();
	qmgr_scan_incoming();
	qmgr_scan_deferred(0);
	events_timer(qmgr_deferred_timer, NULL,
		     var_queue_run_delay > 0 ? var_queue_run_delay : 1);
	qmgr_sched_request();
}

int main(int argc, char **argv)
{
	static const struct server_def def = {
	    .name = "qmgr",
	    .kind = SERVER_TRIGGER,
	    .trigger = qmgr_trigger,
	    .pre_jail = qmgr_pre_jail,
	    .post_jail = qmgr_post_jail,
	    .solitary = 1,
	    .resident = 1,
	};

	mail_server_main(argc, argv, &def);
}
