/*
 * cleanup.h - the state of one cleanup conversation, shared by the
 * files of the cleanup daemon:
 *   cleanup.c          the service: protocol, record loop, commit, reply;
 *   cleanup_envelope.c envelope records: sender, recipients, attributes;
 *   cleanup_message.c  content: headers, missing headers, checks, body;
 *   cleanup_checks.c   parsing check-table actions;
 *   cleanup_rewrite.c  address rewriting and virtual alias expansion.
 *
 * Invariant: errs collects CLEANUP_STAT_* bits; once it is non-zero
 * nothing more is written to the queue file (the file is removed at the
 * end) but records are still read to E, so the client never blocks.
 */
#ifndef POSTERN_CLEANUP_H
#define POSTERN_CLEANUP_H

#include <stddef.h>
#include <sys/types.h>

#include "cleanup_rewrite.h"
#include "mail_queue.h"

struct queue_file;
struct mime_state;
struct strbuf;

/* Headers seen in the top-level header (hdr_seen bits). */
#define CLEANUP_HDR_MESSAGE_ID (1 << 0)
#define CLEANUP_HDR_DATE (1 << 1)
#define CLEANUP_HDR_FROM (1 << 2)
#define CLEANUP_HDR_RESENT (1 << 3) /* any Resent-* header */
#define CLEANUP_HDR_RESENT_MESSAGE_ID (1 << 4)
#define CLEANUP_HDR_RESENT_DATE (1 << 5)
#define CLEANUP_HDR_RESENT_FROM (1 << 6)

/* How header addresses are rewritten (hdr_rewrite). */
#define CLEANUP_HDR_REWRITE_NONE 0   /* a remote client's, by default */
#define CLEANUP_HDR_REWRITE_LOCAL 1  /* complete with $myorigin, map */
#define CLEANUP_HDR_REWRITE_REMOTE 2 /* $remote_header_rewrite_domain */

struct cleanup_state {
	struct queue_file *qf;
	char queue_id[MAIL_QUEUE_ID_MAX + 1];
	int flags;	       /* CLEANUP_FLAG_* from the client */
	int errs;	       /* CLEANUP_STAT_* */
	struct strbuf *reason; /* for the client, with the first error */
	struct strbuf *why;    /* scratch for library reasons */
	struct strbuf *addr;   /* scratch for rewritten addresses */
	/* Envelope. */
	long arrival_sec, arrival_usec;
	int have_time;
	char *sender; /* after rewriting; NULL until S */
	char *fullname;
	char *client_name;
	char *client_addr; /* NULL: a local submission (pickup) */
	char *sasl_user;
	char *orig_rcpt;  /* O of the next R */
	char *dsn_orcpt;  /* o of the next R */
	int dsn_notify;	  /* n of the next R */
	long rcpt_count;  /* R records written */
	char *first_rcpt; /* for log lines */
	char **rcpt_seen; /* duplicate filter, bounded */
	size_t rcpt_seen_count;
	/* Content. */
	struct mime_state *mime;
	off_t content_size; /* bytes of content received, for the limit */
	int local_rewrite;  /* missing headers may be added */
	int hdr_rewrite;    /* CLEANUP_HDR_REWRITE_*: header addresses */
	int hop_count;
	unsigned hdr_seen;
	int header_done;
	int checks_off; /* a REJECT/DISCARD already decided the outcome */
	int hold;
	int discard;
	/* Content flags for the size record (QUEUE_SIZE_FLAG_*). */
	int declared_8bit;   /* encoding=8bit: the client said BODY=8BITMIME */
	int smtputf8;	     /* smtputf8=1: the client said SMTPUTF8 */
	int utf8_seen;	     /* a non-ASCII sender, recipient or header */
	unsigned mime_flags; /* MIME_FLAG_* at the end of the content */
	char *redirect;
	char *filter;
	struct strbuf *discard_reason;
};

/* Settings read once at start-up (cleanup.c). */
extern struct cleanup_rewrite_conf cleanup_rw;
extern struct maps *cleanup_header_maps;
extern struct maps *cleanup_mime_header_maps;
extern struct maps *cleanup_nested_header_maps;
extern struct maps *cleanup_body_maps;

/* Record an error (first reason wins) and stop writing. */
void cleanup_fail(struct cleanup_state *st, int stat, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The queue file failed to take a record: CLEANUP_STAT_WRITE. */
void cleanup_write_error(struct cleanup_state *st);

/* cleanup_envelope.c: one envelope (or extracted) record. */
void cleanup_envelope(struct cleanup_state *st, int type, const char *data,
		      size_t len);
/* Client address attribute -> local_rewrite. */
int cleanup_is_local_client(const struct cleanup_state *st);
/* Note an address or header that needs SMTPUTF8 when it has 8-bit bytes. */
void cleanup_note_utf8(struct cleanup_state *st, const char *text, size_t len);
/* Rewrite and write one recipient (the pending O/o/n apply). */
void cleanup_add_rcpt(struct cleanup_state *st, const char *rcpt);

/* cleanup_message.c: the content. */
void cleanup_message_start(struct cleanup_state *st);
/* One N or L record; data may be changed in place (stray CR/LF). */
void cleanup_message_piece(struct cleanup_state *st, int type, char *data,
			   size_t len);
void cleanup_message_end(struct cleanup_state *st);

#endif
