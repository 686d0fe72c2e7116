/*
 * cleanup_copy - send the message in a queue file through the cleanup
 * service again, and the rules for records that come from a local user.
 *
 * Two programs copy a file to cleanup: postern-super -r (a queue file
 * that cleanup itself wrote, so every record is trusted; recipients
 * already delivered are left out) and pickup (a maildrop file that a
 * local user wrote through postdrop: nothing in it is trusted). For a
 * maildrop file every record is checked again with
 * cleanup_copy_user_rec(), the same function postdrop applied when it
 * wrote the file, so a file that did not come from postdrop, or was
 * changed after, cannot carry anything postdrop would have refused.
 *
 * What a local user may put in a maildrop file (Postfix's postdrop
 * subset, rec_type_user_allowed(), narrowed further here): in the
 * envelope F (full name), S (sender), R (recipient), n (DSN NOTIFY of
 * the next R, 1-15), i (DSN ENVID, printable ASCII, at most 100 characters),
 * V (VERP delimiters) and A attributes from a short list (below); the
 * content lines; R and A in the extracted segment. postdrop adds the
 * arrival time T itself and pickup accepts exactly one. Everything else,
 * such as client attributes or content_filter, which would let a user
 * pose as a remote client or pick a transport, is refused.
 */
#ifndef POSTERN_CLEANUP_COPY_H
#define POSTERN_CLEANUP_COPY_H

#include <stddef.h>

struct cleanup_clnt;
struct queue_file;
struct strbuf;

/* The attributes a local user may set (sendmail writes them):
 *   encoding=7bit|8bit       sendmail -B 7BIT|8BITMIME
 *   dsn_ret=1|2              sendmail -R full|hdrs (DSN_RET_*; pickup
 *                            turns it into a '<' record for cleanup)
 *   extract_recipients=1     sendmail -t (pickup asks cleanup for
 *                            CLEANUP_FLAG_EXTRACT; not copied)
 *   dsn_notify=N             sendmail -t -N: the DSN NOTIFY bits (1-15)
 *                            of the recipients cleanup extracts */
#define CLEANUP_COPY_ATTR_ENCODING "encoding"
#define CLEANUP_COPY_ATTR_DSN_RET "dsn_ret"
#define CLEANUP_COPY_ATTR_EXTRACT "extract_recipients"
#define CLEANUP_COPY_ATTR_DSN_NOTIFY "dsn_notify"

/* Longest DSN ENVID (RFC 3461 section 4.4). */
#define CLEANUP_COPY_ENVID_MAX 100

enum cleanup_copy_source {
	CLEANUP_COPY_QUEUE,    /* a queue file: skip done recipients */
	CLEANUP_COPY_MAILDROP, /* a local user's file: check every record */
};

/* What a check of a maildrop file found. */
struct cleanup_copy_info {
	int extract; /* extract_recipients=1: sendmail -t */
	long rcpts;  /* R records */
	char *
	    sender; /* the S record (owned: free with cleanup_copy_info_free) */
};

/* 0 if a local user may send record type in segment seg (one REC_SEG_*
 * bit) with this payload (data[len] must be a NUL, as the record readers
 * leave it); -1 and a reason if not. T (arrival time) is
 * not a user record: postdrop writes it. */
int cleanup_copy_user_rec(int type, unsigned seg, const char *data, size_t len,
			  struct strbuf *why);

/* Read a maildrop file open in qf to its end and check every record as
 * above, plus: exactly one T, one S. Returns a queue_file_status
 * (QUEUE_FILE_CORRUPT with the reason in why for a refused record) and
 * fills info. Leaves qf at its end. */
int cleanup_copy_check(struct queue_file *qf, struct cleanup_copy_info *info,
		       struct strbuf *why);
void cleanup_copy_info_free(struct cleanup_copy_info *info);

/* Send the message in qf (positioned after its size record, as
 * queue_file_open leaves it) to cc, without E (cleanup_clnt_finish sends
 * it). 0, or -1 and a reason (the file is unreadable or malformed, a
 * maildrop file holds a refused record, or no recipient is left); the
 * caller then aborts cc. */
int cleanup_copy(struct queue_file *qf, struct cleanup_clnt *cc,
		 enum cleanup_copy_source source, struct strbuf *why);

#endif
