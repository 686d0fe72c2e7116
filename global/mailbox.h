/*
 * mailbox - writing a message into a user's mbox file or Maildir, and
 * copying it to a file descriptor (a pipe to a command), for local(8)
 * and virtual(8).
 *
 * The caller has already become the mailbox owner (or, for a root-owned
 * spool directory, stays root and passes the owner so that a new file
 * is given to them): this module never changes ids. Every open uses
 * O_NOFOLLOW and checks with fstat that the file is a regular file with
 * one link, owned by the expected user, so a symlink or hard link
 * planted next to a mailbox never redirects a delivery.
 *
 * mbox: the file is locked (fcntl, and a file.lock dotlock when asked),
 * the message is appended as "From sender date", Return-Path:,
 * Delivered-To:, the content with ">From " quoting, and a blank line,
 * then fsync'ed. Any failure on the way (a write error, a full disk, a
 * file size limit, mailbox_size_limit) truncates the file back to its
 * size before the delivery: a failed delivery leaves the mailbox as it
 * was.
 *
 * Maildir: the message is written to tmp/ under a unique name, fsync'ed,
 * then linked into new/ (never replacing a file) and removed from tmp/;
 * the directories are made when missing.
 */
#ifndef POSTERN_MAILBOX_H
#define POSTERN_MAILBOX_H

#include <stddef.h>
#include <sys/types.h>
#include <time.h>

struct queue_file;
struct strbuf;

/* What mailbox_copy writes besides the content. */
#define MAILBOX_COPY_FROM_LINE (1 << 0)	  /* "From sender date" first */
#define MAILBOX_COPY_QUOTE (1 << 1)	  /* ">From " quoting of content */
#define MAILBOX_COPY_RETURN_PATH (1 << 2) /* Return-Path: <sender> */
#define MAILBOX_COPY_DELIVERED (1 << 3)	  /* Delivered-To: recipient */
#define MAILBOX_COPY_BLANK (1 << 4)	  /* an empty line at the end */
#define MAILBOX_COPY_MBOX                                                      \
	(MAILBOX_COPY_FROM_LINE | MAILBOX_COPY_QUOTE |                         \
	 MAILBOX_COPY_RETURN_PATH | MAILBOX_COPY_DELIVERED |                   \
	 MAILBOX_COPY_BLANK)

/* Locks taken on an mbox file. */
#define MAILBOX_LOCK_FCNTL (1 << 0)
#define MAILBOX_LOCK_DOTLOCK (1 << 1)

/* The message to write. qf must be freshly opened (nothing read yet). */
struct mailbox_msg {
	struct queue_file *qf;
	off_t data_offset; /* of the M record */
	const char *queue_id;
	const char *sender;    /* envelope sender, "" for the null sender */
	const char *recipient; /* for Delivered-To: */
};

/* Results of the delivery functions. */
#define MAILBOX_OK 0
#define MAILBOX_DEFER (-1)  /* try later (lock busy, I/O error) */
#define MAILBOX_BOUNCE (-2) /* will not work later either (too big) */

struct mailbox_opts {
	uid_t uid;	     /* owner an existing file must have ((uid_t)-1:
			      * any); new files */
	gid_t gid;	     /* are given uid/gid when the process is root */
	int locks;	     /* MAILBOX_LOCK_* (mbox only) */
	off_t size_limit;    /* largest mbox file after the append, 0: none */
	int lock_attempts;   /* bounded waits for a busy lock (1 s each) */
	int stale_lock_time; /* seconds after which a dotlock is removed */
	int make_parents;    /* Maildir: make missing parent directories */
};

/* Copy the message from msg->qf to fd with what flags ask for; at most
 * limit bytes (0: any), else -1 with errno EFBIG. 0 or -1 and a reason;
 * *written counts the bytes written. */
int mailbox_copy(int fd, const struct mailbox_msg *msg, int flags, off_t limit,
		 off_t *written, struct strbuf *why);
/* Append to the mbox file path (created 0600 when missing). MAILBOX_OK
 * ("2.0.0" in status), or MAILBOX_DEFER / MAILBOX_BOUNCE with an enhanced
 * status code ("4.2.0") in status (DSN_STATUS_MAX bytes) and the reason
 * in why. */
int mailbox_mbox(const char *path, const struct mailbox_opts *opts,
		 const struct mailbox_msg *msg, char *status,
		 struct strbuf *why);
/* Deliver into the Maildir dir (with or without its trailing '/'),
 * making dir, tmp/, new/ and cur/ (0700) when missing. As mailbox_mbox. */
int mailbox_maildir(const char *dir, const struct mailbox_opts *opts,
		    const struct mailbox_msg *msg, char *status,
		    struct strbuf *why);

#endif
