/*
 * queue_envelope - read a committed queue file's envelope in one call:
 * arrival time, sender, DSN envelope data, redirect, the attributes qmgr
 * routes by, the delay warning record and the recipients of the envelope
 * and extracted segments, with their O, o and n records and the offset
 * of their R (or D) record. qmgr, bounce, showq and the test agents all
 * read a file this way; only what they do with the result differs.
 *
 * Invariants of what it accepts (on top of queue_file_read's): each run
 * of recipient modifiers (O, o, n; each type at most once) ends at its
 * R or D record, as queue_file_rcpt writes them; T, <, n and W hold
 * well-formed numbers. Anything else is QUEUE_FILE_CORRUPT with the
 * offset in the reason. Memory is bounded by the caller's recipient
 * limit: recipients past it are counted, not kept.
 *
 * The content is skipped with queue_file_skip_content (one seek) unless
 * the caller asks to see the records the envelope does not use.
 */
#ifndef POSTERN_QUEUE_ENVELOPE_H
#define POSTERN_QUEUE_ENVELOPE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct queue_file;
struct queue_rec;
struct strbuf;

/* One recipient. Strings are owned by the envelope. */
struct queue_envelope_rcpt {
	char *address;	 /* R (or D) payload */
	char *orig;	 /* O, "" when the file has none */
	char *dsn_orcpt; /* o, "" when the file has none */
	int dsn_notify;	 /* n: DSN_NOTIFY_* mask, 0 when not given */
	off_t offset;	 /* of the R or D record (queue_file_mark_done) */
	int done;	 /* a D record: already delivered */
};

/* What queue_envelope_read fills in. Strings are owned by it; NULL
 * means the file has no such record. */
struct queue_envelope {
	int64_t arrival_sec; /* T */
	long arrival_usec;
	char *sender;	      /* S ("" is the null sender) */
	char *dsn_envid;      /* i */
	int dsn_ret;	      /* <: DSN_RET_*, DSN_RET_NONE when absent */
	char *redirect;	      /* > */
	char *content_filter; /* A content_filter= */
	char *client_name;    /* A client_name= */
	char *client_addr;    /* A client_address= */
	off_t warn_offset;    /* of the W record, 0 when none */
	int64_t warn_sent;    /* its value: 0 = no warning sent yet */
	struct queue_envelope_rcpt *rcpt; /* in file order */
	size_t rcpt_count;
	size_t rcpt_done;    /* D records in the file */
	size_t rcpt_dropped; /* recipients over the limit: not in rcpt */
};

/* Keep done (D) recipients in the list (with done set) as well. */
#define QUEUE_ENVELOPE_FLAG_DONE (1 << 0)
/* Read through the content instead of skipping it, so that a damaged
 * content record makes the whole read fail (implied by params->other). */
#define QUEUE_ENVELOPE_FLAG_CONTENT (1 << 1)

struct queue_envelope_params {
	int flags;	   /* QUEUE_ENVELOPE_FLAG_* */
	size_t rcpt_limit; /* most recipients kept, 0: no limit */
	/* If set, the content is read (not skipped) and every record the
	 * envelope does not use (content lines, padding, F, ...) is passed
	 * here, segment markers too. Non-zero stops the read with that
	 * status (a QUEUE_FILE_* below 0) and the reason in why. */
	int (*other)(void *ctx, const struct queue_rec *rec,
		     struct strbuf *why);
	void *ctx;
};

/* Read the rest of qf, just opened with queue_file_open, into env
 * (params may be NULL: defaults). Returns a queue_file_status; env is
 * filled up to the error and must be freed with queue_envelope_free
 * whatever the status. */
int queue_envelope_read(struct queue_file *qf,
			const struct queue_envelope_params *params,
			struct queue_envelope *env, struct strbuf *why);
/* Free what env holds and zero it. */
void queue_envelope_free(struct queue_envelope *env);

#endif
