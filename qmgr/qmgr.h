/*
 * qmgr.h - the queue manager's data structures, shared by its modules.
 *
 * The shape is Postfix's (REFERENCE.md 1.7), kept job-capable so that
 * nqmgr-style preemption can be added without a rewrite:
 *
 *   message   one queue file in active/, with its recipients in memory
 *     job     the message as one transport sees it (one per transport)
 *       entry a batch of the message's recipients for one destination,
 *             at most the transport's recipient limit; one entry is one
 *             delivery request
 *   transport one master.cf delivery service (private/<name>), its limits
 *     queue   one destination: (transport, next hop); a FIFO of entries
 *             waiting ("todo"), a count of entries in delivery ("busy"),
 *             and the concurrency window with its feedback state
 *
 * Ownership. A message owns its recipients and jobs; an entry points at
 * the recipients (never copies) and is owned by the queue it sits in
 * while it waits, then by its delivery. A message is freed only when its
 * last entry has finished (refcount 0), so no entry ever points at a
 * freed message. A queue is freed only when it is empty, idle and not
 * dead; a transport lives as long as the process.
 *
 * Nothing here is the truth about the mail: the queue files are. qmgr can
 * die at any moment; at start it moves active/ back to incoming/ and
 * rebuilds everything from the files (doc/queue.md).
 */
#ifndef POSTERN_QMGR_H
#define POSTERN_QMGR_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "mail_queue.h"

struct mail_queue;
struct strbuf;

/* --- qmgr.c: process-wide state --- */

extern struct mail_queue *qmgr_mq;
extern size_t qmgr_active_count;   /* messages in memory (active/) */
extern size_t qmgr_rcpt_in_memory; /* their recipients */

/* --- recipients and messages (qmgr_message.c) --- */

struct qmgr_rcpt {
	char *address; /* R record */
	char *orig;    /* O record, "" if none */
	char *orcpt;   /* o record, "" if none */
	int notify;    /* n record: DSN_NOTIFY_* bits, 0 if none */
	off_t offset;  /* of the R record (for the done mark) */
};

struct qmgr_job;

struct qmgr_message {
	char id[MAIL_QUEUE_ID_MAX + 1];
	char *sender;
	char *envid;
	char *client_name;
	char *client_addr;
	char *redirect; /* cleanup's REDIRECT: every recipient goes here */
	char *filter;	/* content_filter "transport:nexthop" */
	int dsn_ret;
	int64_t arrival_sec;
	long arrival_usec;
	int64_t active_us; /* when it entered active/ */
	off_t data_offset; /* of the M record */
	off_t data_size;   /* content bytes */
	long nrcpt_total;  /* size record's count, for the log */
	int deliver_flags; /* DELIVER_FLAG_* from the size record */
	off_t warn_offset; /* W record, 0 if the file has none */
	int64_t warn_sent; /* W value: when a warning went out, 0 */
	struct qmgr_rcpt *rcpt;
	size_t rcpt_count;
	size_t refcount;   /* entries not finished yet */
	int deferred;	   /* a recipient was deferred in this pass */
	int from_deferred; /* came from deferred/ (has been tried) */
	struct qmgr_job *jobs;
};

/* Move queue/id into active/ and schedule it (or dispose of it: corrupt,
 * nothing left to do, expired). The caller checked the limits. */
void qmgr_message_activate(const char *queue, const char *id);
/* An entry of msg finished; when it was the last, decide the message's
 * fate (remove, defer, bounce, expire) and free it. */
void qmgr_message_entry_done(struct qmgr_message *msg);
/* Defer the recipients of one entry without a delivery: append to the
 * defer log and log "status=deferred (reason)" as an agent would. */
struct qmgr_entry;
void qmgr_message_defer_entry(struct qmgr_entry *entry, const char *dsn,
			      const char *reason);
/* Format "delay=..., delays=a/b/c/d" timing for a log line. */
void qmgr_message_delays(const struct qmgr_message *msg, struct strbuf *out);

/* --- transports, destinations, feedback (qmgr_queue.c) --- */

struct qmgr_transport;
struct qmgr_queue;

struct qmgr_job {
	struct qmgr_message *message;
	struct qmgr_transport *transport;
	struct qmgr_job *next; /* the message's next job */
	size_t entries;	       /* this job's entries not finished */
};

struct qmgr_entry {
	struct qmgr_job *job;
	struct qmgr_queue *queue;
	struct qmgr_rcpt **rcpt; /* borrowed from job->message */
	size_t rcpt_count;
	size_t rcpt_cap;
	struct qmgr_entry *next; /* in queue->todo */
};

struct qmgr_queue {
	struct qmgr_transport *transport;
	char *nexthop;
	struct qmgr_entry *todo; /* FIFO: head */
	struct qmgr_entry *todo_tail;
	size_t todo_count;
	int busy;	     /* deliveries in flight */
	int window;	     /* concurrency allowed now */
	double success;	     /* positive feedback accumulated */
	double failure;	     /* negative feedback accumulated */
	double fail_cohorts; /* failed deliveries / window, since a success */
	int dead;	     /* throttled: mail is deferred without trying */
	char *dead_dsn;
	char *dead_reason;
	int64_t next_start_ms; /* rate delay: no delivery before this */
	struct qmgr_queue *next, *prev; /* in transport->queues */
};

struct qmgr_transport {
	char *name;
	int dest_conc_limit; /* <name>_destination_concurrency_limit */
	int dest_rcpt_limit; /* <name>_destination_recipient_limit */
	int dest_rate_delay; /* <name>_destination_rate_delay, s */
	int cohort_limit;    /* ..._concurrency_failed_cohort_limit */
	int init_conc;	     /* <name>_initial_destination_concurrency */
	int busy;	     /* deliveries in flight, all destinations */
	int dead;	     /* agent unreachable or crashed */
	char *dead_reason;
	int64_t blocked_until_ms;  /* agent socket backlog full */
	struct qmgr_queue *queues; /* round-robin ring head */
	struct qmgr_transport *next;
};

/* Find or create the transport called name (limits read from main.cf,
 * per-transport names first, then the default_ ones). */
struct qmgr_transport *qmgr_transport_find(const char *name);
/* The first transport, for the scheduler's walk. */
struct qmgr_transport *qmgr_transport_list(void);
/* Find or create the destination queue. */
struct qmgr_queue *qmgr_queue_find(struct qmgr_transport *transport,
				   const char *nexthop);
/* Free the queue if it is empty, idle and not dead. */
void qmgr_queue_release(struct qmgr_queue *queue);
/* Append an entry to the queue's todo list. */
void qmgr_queue_add(struct qmgr_queue *queue, struct qmgr_entry *entry);
/* Take the oldest waiting entry (NULL if none). */
struct qmgr_entry *qmgr_queue_take(struct qmgr_queue *queue);
/* Feedback after a delivery: no site problem / a site problem. */
void qmgr_queue_success(struct qmgr_queue *queue);
void qmgr_queue_failure(struct qmgr_queue *queue, const char *dsn,
			const char *reason);
/* Mark a transport dead (its agent is unreachable or crashed) for
 * transport_retry_time; every waiting entry is deferred. */
void qmgr_transport_throttle(struct qmgr_transport *transport,
			     const char *reason);
/* The F trigger: forget dead destinations and transports. */
void qmgr_queue_revive_all(void);
/* Create, fill and free entries. */
struct qmgr_entry *qmgr_entry_new(struct qmgr_job *job,
				  struct qmgr_queue *queue);
void qmgr_entry_add_rcpt(struct qmgr_entry *entry, struct qmgr_rcpt *rcpt);
/* The entry finished (delivered, deferred, whatever): update counters,
 * free it, and tell the message. */
void qmgr_entry_done(struct qmgr_entry *entry);

/* --- the scheduler (qmgr_sched.c) --- */

/* Ask for a scheduling round soon (coalesced). */
void qmgr_sched_request(void);
/* ... and after ms milliseconds (rate delays, backlog). */
void qmgr_sched_request_ms(long ms);
/* Milliseconds since the epoch. */
int64_t qmgr_now_ms(void);

/* --- deliveries (qmgr_deliver.c) --- */

/* Start delivering entry: connect to private/<transport> without
 * blocking and run the conversation from the event loop. On any outcome
 * the entry ends in qmgr_entry_done(). */
void qmgr_deliver_start(struct qmgr_entry *entry);

/* --- scans (qmgr_scan.c) --- */

/* Start (or restart after the current one) a scan of incoming/ or of
 * deferred/ (all: ignore the retry times). */
void qmgr_scan_incoming(void);
void qmgr_scan_deferred(int all);
/* Take messages into active/ while below the limits, alternating one
 * from incoming/ and one from deferred/. */
void qmgr_scan_fill(void);
/* List the IDs in queue (queue_scan: hashed subdirectories too, sorted);
 * logs a failure. Free with queue_scan_free. */
struct queue_scan_ids;
int qmgr_scan_list(const char *queue, struct queue_scan_ids *ids);

#endif
