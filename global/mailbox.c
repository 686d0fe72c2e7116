/*
 * mailbox - mbox and Maildir delivery for local(8) and virtual(8); see
 * mailbox.h for the rules.
 *
 * Why a failed mbox delivery cannot corrupt the mailbox: the size is
 * taken after both locks are held, every byte goes after it, and any
 * error before the final fsync truncates the file back to that size
 * while the locks are still held. A reader that honours either lock
 * never sees a partial message; one that does not may, briefly, as with
 * any mbox writer.
 *
 * Why a Maildir delivery is atomic: readers look in new/ and cur/ only,
 * and a message appears there with one link(2) of a file that is
 * already complete and on disk.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "dsn.h"
#include "mailbox.h"
#include "msg.h"
#include "mymalloc.h"
#include "queue_file.h"
#include "safe_open.h"
#include "strbuf.h"

/* Output is gathered and written in pieces of about this size. */
#define MAILBOX_BUF 65536

struct out {
	int fd;
	struct strbuf *buf;
	off_t written;
	off_t limit;
	int error; /* errno of the first failure, sticky */
};

static void out_flush(struct out *o)
{
	const char *p = strbuf_str(o->buf);
	size_t left = strbuf_len(o->buf);

	if (o->error)
		return;
	if (o->limit > 0 && o->written + (off_t)left > o->limit) {
		o->error = EFBIG;
		return;
	}
	while (left > 0) {
		ssize_t n = write(o->fd, p, left);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			o->error = errno;
			return;
		}
		/* UNSAFE: 0 < n <= left, so p stays inside the buffer. */
		p += n;
		left -= (size_t)n;
		o->written += n;
	}
	strbuf_reset(o->buf);
}

static void out_put(struct out *o, const void *data, size_t len)
{
	if (o->error)
		return;
	if (strbuf_append(o->buf, data, len) < 0)
		o->error = ENOMEM;
	else if (strbuf_len(o->buf) >= MAILBOX_BUF)
		out_flush(o);
}

static void out_puts(struct out *o, const char *s)
{
	out_put(o, s, strlen(s));
}

int mailbox_copy(int fd, const struct mailbox_msg *msg, int flags, off_t limit,
		 off_t *written, struct strbuf *why)
{
	struct out o = {.fd = fd, .limit = limit};
	struct queue_rec rec;
	int line_start = 1, ret = -1;
	const char *sender = msg->sender;

	*written = 0;
	o.buf = strbuf_new(STRBUF_NO_MAX);
	if (flags & MAILBOX_COPY_FROM_LINE) {
		time_t now = time(NULL);
		char date[64];
		struct tm tm;

		/* asctime layout without its newline, as mbox readers expect.
		 */
		strftime(date, sizeof(date), "%a %b %e %H:%M:%S %Y",
			 localtime_r(&now, &tm));
		out_puts(&o, "From ");
		out_puts(&o, *sender ? sender : "MAILER-DAEMON");
		out_puts(&o, "  ");
		out_puts(&o, date);
		out_puts(&o, "\n");
	}
	if (flags & MAILBOX_COPY_RETURN_PATH) {
		out_puts(&o, "Return-Path: <");
		out_puts(&o, sender);
		out_puts(&o, ">\n");
	}
	if ((flags & MAILBOX_COPY_DELIVERED) && msg->recipient) {
		out_puts(&o, "Delivered-To: ");
		out_puts(&o, msg->recipient);
		out_puts(&o, "\n");
	}
	if (queue_file_to_content(msg->qf, msg->data_offset, why) !=
	    QUEUE_FILE_OK)
		goto out;
	for (;;) {
		if (queue_file_read_content(msg->qf, &rec, why) !=
		    QUEUE_FILE_OK)
			goto out;
		if (rec.type == REC_TYPE_XTRA)
			break;
		/* Only a line that starts with "From " (after any number of
		 * '>') is quoted: mboxrd, so that unquoting is exact. */
		if ((flags & MAILBOX_COPY_QUOTE) && line_start) {
			size_t k = strspn(rec.data, ">");

			if (rec.len >= k + 5 &&
			    strncmp(rec.data + k, "From ", 5) == 0)
				out_put(&o, ">", 1);
		}
		out_put(&o, rec.data, rec.len);
		if (rec.type == REC_TYPE_NORM)
			out_put(&o, "\n", 1);
		line_start = rec.type == REC_TYPE_NORM;
	}
	if (!line_start)
		out_put(&o, "\n", 1);
	if (flags & MAILBOX_COPY_BLANK)
		out_put(&o, "\n", 1);
	out_flush(&o);
	if (o.error) {
		errno = o.error;
		strbuf_why(why, "%s",
			   o.error == EFBIG && limit > 0
			       ? "message would exceed the size "
				 "limit"
			       : strerror(o.error));
		errno = o.error;
		goto out;
	}
	ret = 0;
out:
	*written = o.written;
	strbuf_free(&o.buf);
	if (ret < 0 && o.error)
		errno = o.error;
	return ret;
}

static int fail(char *status, const char *code, int result)
{
	snprintf(status, DSN_STATUS_MAX, "%s", code);
	return result;
}

/* Take path.lock; 0, or -1 with a reason (busy for too long, or the
 * directory does not let us). A lock older than stale_lock_time is
 * left over from a crash and removed. */
static int dotlock_take(const char *lock, const struct mailbox_opts *opts,
			struct strbuf *why)
{
	int attempts = opts->lock_attempts > 0 ? opts->lock_attempts : 1;
	int removed = 0;

	for (int i = 0; i < attempts; i++) {
		int fd = open(
		    lock, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
		    0600);
		struct stat st;

		if (fd >= 0) {
			close(fd);
			return 0;
		}
		if (errno != EEXIST) {
			strbuf_why(why, "cannot create lock file %s: %m", lock);
			return -1;
		}
		if (lstat(lock, &st) == 0 &&
		    time(NULL) - st.st_mtime > opts->stale_lock_time) {
			msg_warn("removing stale lock file %s", lock);
			/* Removing a stale lock costs no attempt, but a lock
			 * that keeps coming back old is not stale. */
			if (unlink(lock) == 0 && removed++ < 2)
				i--;
			continue;
		}
		if (i + 1 < attempts)
			sleep(1);
	}
	strbuf_why(why, "lock file %s is busy", lock);
	return -1;
}

static int fcntl_take(int fd, const struct mailbox_opts *opts, const char *path,
		      struct strbuf *why)
{
	int attempts = opts->lock_attempts > 0 ? opts->lock_attempts : 1;
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};

	for (int i = 0; i < attempts; i++) {
		if (fcntl(fd, F_SETLK, &fl) == 0)
			return 0;
		if (errno != EACCES && errno != EAGAIN && errno != EINTR) {
			strbuf_why(why, "cannot lock %s: %m", path);
			return -1;
		}
		if (i + 1 < attempts)
			sleep(1);
	}
	strbuf_why(why, "%s is locked by another process", path);
	return -1;
}

/* Open an existing mailbox of the right owner, or create a new one. */
static int mbox_open(const char *path, const struct mailbox_opts *opts,
		     struct strbuf *why)
{
	for (int i = 0; i < 2; i++) {
		int fd =
		    safe_open(path, O_WRONLY | O_APPEND, 0, opts->uid, why);

		if (fd >= 0 || errno != ENOENT)
			return fd;
		fd = safe_open(path, O_WRONLY | O_APPEND | O_CREAT | O_EXCL,
			       0600, (uid_t)-1, why);
		if (fd >= 0) {
			if (geteuid() == 0 &&
			    fchown(fd, opts->uid, opts->gid) < 0) {
				strbuf_why(why, "cannot give %s to uid %ld: %m",
					   path, (long)opts->uid);
				(void)unlink(path);
				close(fd);
				return -1;
			}
			return fd;
		}
		if (errno != EEXIST)
			return -1;
		/* Someone created it between the two opens: look again. */
	}
	return -1;
}

int mailbox_mbox(const char *path, const struct mailbox_opts *opts,
		 const struct mailbox_msg *msg, char *status,
		 struct strbuf *why)
{
	struct strbuf *lock = NULL;
	struct stat st;
	off_t written, limit = 0;
	int fd, ret = fail(status, "2.0.0", MAILBOX_OK);

	if (opts->locks & MAILBOX_LOCK_DOTLOCK) {
		lock = strbuf_new(PATH_MAX);
		if (strbuf_printf(lock, "%s.lock", path) < 0) {
			strbuf_free(&lock);
			strbuf_why(why, "mailbox path too long");
			return fail(status, "5.3.5", MAILBOX_BOUNCE);
		}
		if (dotlock_take(strbuf_str(lock), opts, why) < 0) {
			strbuf_free(&lock);
			return fail(status, "4.2.0", MAILBOX_DEFER);
		}
	}
	if ((fd = mbox_open(path, opts, why)) < 0) {
		ret = fail(status,
			   errno == ELOOP || errno == EMLINK ||
				   errno == EPERM || errno == EINVAL
			       ? "5.2.0"
			       : "4.2.0",
			   errno == ELOOP || errno == EMLINK ||
				   errno == EPERM || errno == EINVAL
			       ? MAILBOX_BOUNCE
			       : MAILBOX_DEFER);
		goto unlock;
	}
	if ((opts->locks & MAILBOX_LOCK_FCNTL) &&
	    fcntl_take(fd, opts, path, why) < 0) {
		ret = fail(status, "4.2.0", MAILBOX_DEFER);
		goto close;
	}
	if (fstat(fd, &st) < 0) {
		strbuf_why(why, "fstat %s: %m", path);
		ret = fail(status, "4.2.0", MAILBOX_DEFER);
		goto close;
	}
	if (opts->size_limit > 0) {
		if (st.st_size >= opts->size_limit) {
			strbuf_why(why, "mailbox %s is full", path);
			ret = fail(status, "5.2.2", MAILBOX_BOUNCE);
			goto close;
		}
		limit = opts->size_limit - st.st_size;
	}
	if (mailbox_copy(fd, msg, MAILBOX_COPY_MBOX, limit, &written, why) <
		0 ||
	    fsync(fd) < 0) {
		int err = errno;

		if (strbuf_len(why) == 0)
			strbuf_why(why, "cannot write %s: %s", path,
				   strerror(err));
		/* Give the mailbox back as it was; a failure here is worth
		 * a loud log line since the file now holds a partial
		 * message. */
		if (ftruncate(fd, st.st_size) < 0 || fsync(fd) < 0)
			msg_error("%s: cannot truncate %s back to %lld bytes: "
				  "%m",
				  msg->queue_id, path, (long long)st.st_size);
		if (err == EFBIG && limit > 0)
			ret = fail(status, "5.2.2", MAILBOX_BOUNCE);
		else
			ret =
			    fail(status,
				 err == ENOSPC || err == EDQUOT || err == EFBIG
				     ? "4.2.2"
				     : "4.2.0",
				 MAILBOX_DEFER);
	}
close:
	close(fd); /* releases the fcntl lock */
unlock:
	if (lock) {
		if (unlink(strbuf_str(lock)) < 0)
			msg_warn("remove %s: %m", strbuf_str(lock));
		strbuf_free(&lock);
	}
	return ret;
}

/* Open (making it when missing) directory name under dirfd, refusing a
 * symlink. -1 with errno. */
static int dir_open(int dirfd, const char *name)
{
	int fd = openat(dirfd, name,
			O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (fd >= 0 || errno != ENOENT)
		return fd;
	if (mkdirat(dirfd, name, 0700) < 0 && errno != EEXIST)
		return -1;
	return openat(dirfd, name,
		      O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

/* The directory must belong to the mailbox owner: anything else in a
 * home directory was planted, or is a mistake we must not write into. */
static int dir_owned(int fd, const struct mailbox_opts *opts)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -1;
	if (opts->uid != (uid_t)-1 && st.st_uid != opts->uid) {
		errno = EPERM;
		return -1;
	}
	return 0;
}

int mailbox_maildir(const char *dir, const struct mailbox_opts *opts,
		    const struct mailbox_msg *msg, char *status,
		    struct strbuf *why)
{
	static unsigned counter;
	char *path = mystrdup(dir);
	size_t len = strlen(path);
	int top = -1, tmp = -1, new = -1, cur = -1, fd = -1;
	int ret = fail(status, "4.2.0", MAILBOX_DEFER);
	char host[256], name[512];
	struct timeval tv;
	off_t written;

	while (len > 1 && path[len - 1] == '/')
		path[--len] = 0;
	top = dir_open(AT_FDCWD, path);
	if (top < 0 && errno == ENOENT && opts->make_parents) {
		/* As the mailbox owner: only where the owner may write. */
		for (char *p = path + 1; (p = strchr(p, '/')) != NULL; p++) {
			*p = 0;
			if (mkdir(path, 0700) < 0 && errno != EEXIST) {
				*p = '/';
				break;
			}
			*p = '/';
		}
		top = dir_open(AT_FDCWD, path);
	}
	if (top < 0 || dir_owned(top, opts) < 0) {
		strbuf_why(why, "cannot use Maildir %s: %s", path,
			   errno == ELOOP   ? "it is a symbolic link"
			   : errno == EPERM ? "not owned by the recipient"
					    : strerror(errno));
		if (errno == ELOOP || errno == EPERM || errno == ENOTDIR)
			ret = fail(status, "5.2.0", MAILBOX_BOUNCE);
		goto out;
	}
	if ((tmp = dir_open(top, "tmp")) < 0 || dir_owned(tmp, opts) < 0 ||
	    (new = dir_open(top, "new")) < 0 || dir_owned(new, opts) < 0 ||
	    (cur = dir_open(top, "cur")) < 0 || dir_owned(cur, opts) < 0) {
		strbuf_why(why, "cannot use Maildir %s: %s", path,
			   errno == ELOOP ? "a subdirectory is a symbolic link"
					  : strerror(errno));
		if (errno == ELOOP || errno == EPERM || errno == ENOTDIR)
			ret = fail(status, "5.2.0", MAILBOX_BOUNCE);
		goto out;
	}
	if (gethostname(host, sizeof(host)) < 0)
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = 0;
	/* '/' and ':' cannot be in a Maildir name (the info separator). */
	for (char *p = host; *p; p++)
		if (*p == '/' || *p == ':')
			*p = '_';
	for (int tries = 0;; tries++) {
		gettimeofday(&tv, NULL);
		snprintf(name, sizeof(name), "%lld.M%ldP%ld_%u.%s",
			 (long long)tv.tv_sec, (long)tv.tv_usec, (long)getpid(),
			 counter++, host);
		fd = openat(
		    tmp, name,
		    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd >= 0)
			break;
		if (errno != EEXIST || tries >= 10) {
			strbuf_why(why, "cannot create file in %s/tmp: %m",
				   path);
			goto out;
		}
	}
	if (mailbox_copy(fd, msg,
			 MAILBOX_COPY_RETURN_PATH | MAILBOX_COPY_DELIVERED,
			 opts->size_limit, &written, why) < 0 ||
	    fsync(fd) < 0) {
		int err = errno;

		if (strbuf_len(why) == 0)
			strbuf_why(why, "cannot write %s/tmp/%s: %s", path,
				   name, strerror(err));
		if (err == EFBIG && opts->size_limit > 0)
			ret = fail(status, "5.2.2", MAILBOX_BOUNCE);
		else if (err == ENOSPC || err == EDQUOT || err == EFBIG)
			ret = fail(status, "4.2.2", MAILBOX_DEFER);
		(void)unlinkat(tmp, name, 0);
		goto out;
	}
	if (linkat(tmp, name, new, name, 0) < 0) {
		strbuf_why(why, "cannot link %s into %s/new: %m", name, path);
		(void)unlinkat(tmp, name, 0);
		goto out;
	}
	(void)unlinkat(tmp, name, 0);
	/* The new name must survive a crash before we say "delivered". */
	if (fsync(new) < 0) {
		strbuf_why(why, "fsync %s/new: %m", path);
		(void)unlinkat(new, name, 0);
		goto out;
	}
	ret = fail(status, "2.0.0", MAILBOX_OK);
out:
	if (fd >= 0)
		close(fd);
	if (tmp >= 0)
		close(tmp);
	if (new >= 0)
		close(new);
	if (cur >= 0)
		close(cur);
	if (top >= 0)
		close(top);
	myfree(path);
	return ret;
}
