/*
 * queue_file - writing, committing and reading one queue file.
 *
 * Writing (cleanup, postdrop): queue_file_create() makes a new file in a
 * queue and gives it an ID; typed helpers append the envelope, the
 * content and the extracted segment in that order; queue_file_commit()
 * makes the message durable and visible, or removes it: after a failed
 * commit or a queue_file_abort() nothing of the message is left. Every
 * envelope and extracted field refuses CR, LF and NUL when it is written,
 * so no caller can smuggle a second record or header into the file.
 *
 * Reading (qmgr, delivery agents, postern-cat): queue_file_open() checks
 * the complete mark, the version record and the size record;
 * queue_file_read() hands out one record at a time with its offset and
 * segment, following pointer records, and refuses anything out of place:
 * a type not allowed in its segment, a second version or size record, a
 * missing arrival time or sender, bytes after the end.
 *
 * Delivery agents mark a recipient done in place (queue_file_mark_done)
 * and fsync once per delivery request (queue_file_sync): delivery is at
 * least once (doc/queue.md).
 */
#ifndef POSTERN_QUEUE_FILE_H
#define POSTERN_QUEUE_FILE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "rec_type.h"

struct mail_queue;
struct strbuf;
struct queue_file;

enum queue_file_status {
	QUEUE_FILE_OK = 0,
	QUEUE_FILE_ERROR = -1,	    /* system or I/O error: try again later */
	QUEUE_FILE_INCOMPLETE = -2, /* no complete mark, or ends before E */
	QUEUE_FILE_CORRUPT = -3,    /* malformed: put it in corrupt/ */
};

/* The C record: fixed-width numbers, rewritten in place at commit. */
struct queue_file_size {
	off_t content_offset;	/* offset of the M record */
	off_t extracted_offset; /* offset of the X record */
	off_t content_size;	/* message bytes: each line plus its LF */
	off_t rcpt_count;	/* R records written at creation */
	off_t flags;		/* QUEUE_SIZE_FLAG_* */
};
/* Content properties cleanup records in the size record's flags, for
 * qmgr and the delivery agents (8BITMIME, SMTPUTF8 to the next hop). */
#define QUEUE_SIZE_FLAG_8BIT	 (1 << 0) /* the content has 8-bit octets */
#define QUEUE_SIZE_FLAG_SMTPUTF8 (1 << 1) /* envelope or headers need it */
#define QUEUE_SIZE_FLAG_MASK	 (QUEUE_SIZE_FLAG_8BIT | QUEUE_SIZE_FLAG_SMTPUTF8)

/* One recipient for queue_file_rcpt(). */
struct queue_rcpt {
	const char *address;   /* R: where to deliver (required) */
	const char *orig;      /* O: as the client gave it, or NULL */
	const char *dsn_orcpt; /* o: DSN ORCPT "type;addr", or NULL */
	int dsn_notify;	       /* n: DSN NOTIFY bit mask, 0: not given */
};

/* What queue_file_read() returns. data is borrowed until the next read. */
struct queue_rec {
	int type;	  /* a REC_TYPE_*; REC_TYPE_EOF after E */
	unsigned segment; /* REC_SEG_* the record belongs to */
	off_t offset;	  /* of its type byte (for queue_file_mark_done) */
	const char *data; /* payload, NUL-terminated for convenience */
	size_t len;
};

/* --- writing --- */

/* Create a new file in queue (mode 0600: "being written") and write the
 * version record and a placeholder size record. 0 and *qfp, or -1 and a
 * reason (nothing is left behind). */
int queue_file_create(struct mail_queue *mq, const char *queue,
		      struct queue_file **qfp, struct strbuf *why);
/* The queue ID (borrowed, valid until the file is closed). */
const char *queue_file_id(const struct queue_file *qf);
/* Split content lines into pieces of at most limit bytes (default and
 * maximum REC_LINE_MAX). */
void queue_file_set_line_limit(struct queue_file *qf, size_t limit);
/* Add QUEUE_SIZE_FLAG_* bits to the size record's flags field; they are
 * written by queue_file_commit. -1 (and nothing set) for unknown bits. */
int queue_file_set_flags(struct queue_file *qf, int flags);

/* Append a record of the current segment (N and L records count
 * towards the content size, as queue_file_line's do). Version, size, pointer,
 * padding and segment-ending records are refused (the helpers below
 * write those), as is a type the segment does not allow, a payload
 * longer than the type allows, and CR, LF or NUL outside the content.
 * 0, or -1 and a reason; after a write error every later call fails. */
int queue_file_put(struct queue_file *qf, int type, const void *data,
		   size_t len, struct strbuf *why);
/* T: arrival time (required once, in the envelope). */
int queue_file_time(struct queue_file *qf, int64_t sec, long usec,
		    struct strbuf *why);
/* S: the envelope sender, "" for the null sender (required once). */
int queue_file_sender(struct queue_file *qf, const char *sender,
		      struct strbuf *why);
/* W: when the delay warning was sent, 0 for "not yet" (fixed width, so
 * that qmgr can rewrite it in place with queue_file_set_warn). */
int queue_file_warn(struct queue_file *qf, int64_t when, struct strbuf *why);
/* A: "name=value"; name is [a-z0-9_]+. */
int queue_file_attr(struct queue_file *qf, const char *name, const char *value,
		    struct strbuf *why);
/* o, n, O then R for one recipient (envelope or extracted segment). */
int queue_file_rcpt(struct queue_file *qf, const struct queue_rcpt *rcpt,
		    struct strbuf *why);
/* M: end the envelope, start the content. */
int queue_file_content(struct queue_file *qf, struct strbuf *why);
/* One content line without its newline: L pieces then one N. */
int queue_file_line(struct queue_file *qf, const char *line, size_t len,
		    struct strbuf *why);
/* X: end the content, start the extracted segment (writes M if needed). */
int queue_file_extracted(struct queue_file *qf, struct strbuf *why);

/* Move a file that is still being written to another queue (a HOLD
 * found in the headers: the file already exists in incoming/). The
 * commit or abort then works there. 0, or -1 and a reason (the file is
 * then lost: commit fails and removes it). */
int queue_file_requeue(struct queue_file *qf, const char *queue,
		       struct strbuf *why);

/* Finish the file and make it durable: write what segment ends are
 * missing and E, flush, rewrite the size record in place, fchmod 0700
 * (the complete mark; 0744 in maildrop/), fsync the file, fsync its directory (when
 * queue_directory_sync is on), close. Only a 0 return means "queued".
 * On -1 the file has been removed. Frees *qfp either way. */
int queue_file_commit(struct queue_file **qfp, struct strbuf *why);
/* Give up a file being written: remove it and free *qfp. */
void queue_file_abort(struct queue_file **qfp);

/* --- reading --- */

#define QUEUE_FILE_FLAG_RDWR (1 << 0)	  /* open for queue_file_mark_done */
#define QUEUE_FILE_FLAG_ANY_MODE (1 << 1) /* no complete mark needed */

/* Open queue/id and read its version and size records. Returns a
 * queue_file_status; on QUEUE_FILE_OK *qfp is set, else the reason is
 * in why (errno is ENOENT when the file is gone). */
int queue_file_open(struct mail_queue *mq, const char *queue, const char *id,
		    int flags, struct queue_file **qfp, struct strbuf *why);
/* queue_file_open on a descriptor the caller opened (postern-cat reads
 * files by path); queue and id only label messages and are cut to fit.
 * The descriptor is the queue_file's from now on: closed on failure and
 * by queue_file_close. Same statuses as queue_file_open. */
int queue_file_fdopen(int fd, const char *queue, const char *id, int flags,
		      struct queue_file **qfp, struct strbuf *why);
/* The size record as read by queue_file_open. */
const struct queue_file_size *queue_file_size(const struct queue_file *qf);
/* The next record. QUEUE_FILE_OK with rec->type REC_TYPE_EOF once E has
 * been returned; any other status describes the file (see the enum). */
int queue_file_read(struct queue_file *qf, struct queue_rec *rec,
		    struct strbuf *why);
/* For delivery agents and bounce, which read a message's content:
 * read a file just opened with queue_file_open up to and including its
 * M record (the envelope records are read and checked as usual), and
 * check that M is at expect (a delivery request's data_offset; 0: no
 * check). QUEUE_FILE_OK, or a status and a reason (an M elsewhere, or a
 * file that ends first, is QUEUE_FILE_CORRUPT). */
int queue_file_to_content(struct queue_file *qf, off_t expect,
			  struct strbuf *why);
/* After queue_file_to_content: the next content piece, rec->type N (a
 * line, or the last piece of one) or L (a piece that continues), padding
 * skipped; REC_TYPE_XTRA once the content has ended. QUEUE_FILE_OK, or a
 * status and a reason (a file that ends before X is incomplete). */
int queue_file_read_content(struct queue_file *qf, struct queue_rec *rec,
			    struct strbuf *why);
/* Right after queue_file_read returned the M record: move on to the X
 * record the size record points at, so the next read returns X without
 * reading the content in between. QUEUE_FILE_OK (also when the size
 * record was never rewritten: reading then goes on through the
 * content), QUEUE_FILE_CORRUPT when the size record's offsets are
 * impossible, QUEUE_FILE_ERROR when the seek fails; reason in why. */
int queue_file_skip_content(struct queue_file *qf, struct strbuf *why);
/* Turn the R record at offset into D. Not synced: call queue_file_sync
 * once the delivery request's recipients are all marked. 0 or -1. */
int queue_file_mark_done(struct queue_file *qf, off_t offset,
			 struct strbuf *why);
/* Rewrite the W record at offset (as queue_file_read reported it) with
 * when, in place, and fsync: the delay warning is then sent at most once.
 * Refused (-1) if no W record written by queue_file_warn is there. */
int queue_file_set_warn(struct queue_file *qf, off_t offset, int64_t when,
			struct strbuf *why);
/* fsync the file. 0 or -1. */
int queue_file_sync(struct queue_file *qf, struct strbuf *why);
/* Close a file opened with queue_file_open. 0, or -1 if close failed. */
int queue_file_close(struct queue_file **qfp);

#endif
