/*
 * bounce_log - the per-message status logs bounce/ID, defer/ID and
 * trace/ID: one record per recipient status, written by the bounce
 * service and read by bounce (to build notifications) and showq (to show
 * why mail is deferred).
 *
 * Format (doc/queue.md): a record is "name=value" lines in a fixed order,
 * ended by an empty line. Values never hold CR, LF, NUL or other control
 * characters (the writer replaces them with '?') and are cut at
 * BOUNCE_LOG_VALUE_MAX bytes, so a record can always be read back as the
 * lines it was written as, whatever a remote server said.
 *
 * The writer appends a whole record with one write() to a file opened
 * O_APPEND, under an exclusive lock, and fsyncs before it returns: once
 * bounce_log_append() says 0 the status survives a crash. A record left
 * half-written by a crash is closed with an empty line before the next
 * one is appended, so it costs only itself: the reader refuses it with a
 * reason and carries on with the next record.
 */
#ifndef POSTERN_BOUNCE_LOG_H
#define POSTERN_BOUNCE_LOG_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct strbuf;
struct mail_queue;
struct bounce_rcpt;
struct dsn;

/* Longest value kept (longer ones are cut when written) and longest line
 * a reader accepts. */
#define BOUNCE_LOG_VALUE_MAX 4096
#define BOUNCE_LOG_LINE_MAX (16 + BOUNCE_LOG_VALUE_MAX)
/* Most lines in one record (a bound on what a reader collects). */
#define BOUNCE_LOG_FIELDS 13

/* One record as read back. Strings are owned by the entry ("" when the
 * field was absent), freed by bounce_log_entry_free. */
struct bounce_log_entry {
	char *recipient;
	char *orig_rcpt;
	char *dsn_orcpt;
	int notify;   /* DSN_NOTIFY_* bits, 0: not given */
	off_t offset; /* of the recipient's R record, 0: unknown */
	char *status; /* RFC 3463, well formed */
	char *action; /* failed, delayed, delivered, relayed, expanded */
	char *reason;
	char *diag_type;
	char *diag_text;
	char *mta_type;
	char *mta_name;
	int64_t when; /* seconds since the epoch */
};

/* Append one record (with its empty line) for rcpt/dsn at time when to
 * out. Values are sanitised and cut as described above. 0, or -1 when
 * out is full. */
int bounce_log_format(struct strbuf *out, const struct bounce_rcpt *rcpt,
		      const struct dsn *dsn, int64_t when);
/* Append the record to queue/id (BOUNCE_, DEFER_ or TRACE_SERVICE's
 * queue; hashed subdirectories are made as needed), locked, fsync'ed.
 * 0, or -1 and a reason. */
int bounce_log_append(struct mail_queue *mq, const char *queue, const char *id,
		      const struct bounce_rcpt *rcpt, const struct dsn *dsn,
		      int64_t when, struct strbuf *why);
/* Remove queue/id. 0 (also when it did not exist), or -1 and a reason. */
int bounce_log_remove(struct mail_queue *mq, const char *queue, const char *id,
		      struct strbuf *why);

/* Parse one record's text (its lines without the empty line that ends
 * it, each ending in LF). 0 and *ent filled, or -1 and a reason: an
 * unknown or repeated name, a line without '=', a control character, a
 * missing recipient/status/action/reason/when, a malformed status,
 * action or number. *ent is left empty on error. */
int bounce_log_parse(const char *text, size_t len, struct bounce_log_entry *ent,
		     struct strbuf *why);
void bounce_log_entry_free(struct bounce_log_entry *ent);

/* A reader of one log file. */
struct bounce_log;

/* Open queue/id for reading. 0 and *blp; -1 with errno ENOENT when there
 * is no log, or another error, and a reason. */
int bounce_log_open(struct mail_queue *mq, const char *queue, const char *id,
		    struct bounce_log **blp, struct strbuf *why);
/* Read from an open descriptor (taken over; closed by bounce_log_close). */
struct bounce_log *bounce_log_fdopen(int fd);
/* The next record: 1 and *ent; 0 at the end; -1 for a malformed record
 * (reason in why; the reader has skipped to the next record, so the
 * caller may go on); -2 for an I/O error (stop). */
int bounce_log_read(struct bounce_log *bl, struct bounce_log_entry *ent,
		    struct strbuf *why);
void bounce_log_close(struct bounce_log **blp);

#endif
