/*
 * safe_open - open files where an attacker may plant links; see safe_open.h.
 *
 * Safety argument. O_NOFOLLOW makes the kernel refuse a symlink as the last
 * component, atomically with the open. A hard link cannot be refused at
 * open time, so the checks run on the opened descriptor (fstat), never on
 * the name, and there is no window between check and use: what we checked
 * is what we write to. Two things must not happen before the checks pass:
 * truncation (O_TRUNC on a planted hard link to /etc/passwd would destroy
 * it) and blocking (a planted FIFO would hang the open). So O_TRUNC is
 * removed from the open and done with ftruncate() afterwards, and the open
 * is non-blocking, with the caller's blocking mode restored afterwards.
 *
 * safe_write_file() never has a moment where path holds partial content:
 * the data goes to a fresh temp file (O_EXCL, same directory so rename is
 * atomic), which is fsync'ed before the rename, and the directory is
 * fsync'ed after it so the new name survives a crash.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mymalloc.h"
#include "safe_open.h"
#include "strbuf.h"

/* Close fd and fail with err, keeping err in errno. */
static int safe_fail(int fd, int err)
{
	close(fd);
	errno = err;
	return -1;
}

int safe_openat(int dirfd, const char *path, int flags, mode_t mode,
		uid_t owner, struct strbuf *why)
{
	struct stat st;
	int fd, fl;

	fd = openat(dirfd, path,
		    (flags & ~O_TRUNC) | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK,
		    mode);
	if (fd < 0) {
		if (errno == ELOOP)
			strbuf_why(why,
				 "open %s: refusing to follow a symbolic link",
				 path);
		else
			strbuf_why(why, "open %s: %m", path);
		return -1;
	}
	if (fstat(fd, &st) < 0) {
		strbuf_why(why, "fstat %s: %m", path);
		return safe_fail(fd, errno);
	}
	if (!S_ISREG(st.st_mode)) {
		strbuf_why(why, "open %s: not a regular file", path);
		return safe_fail(fd, EINVAL);
	}
	/* A file we just created has one link; more means someone linked it. */
	if (st.st_nlink != 1) {
		strbuf_why(why, "open %s: file has %lu hard links", path,
			 (unsigned long)st.st_nlink);
		return safe_fail(fd, EMLINK);
	}
	if (owner != (uid_t)-1 && st.st_uid != owner) {
		strbuf_why(why, "open %s: owned by uid %lu, expected %lu", path,
			 (unsigned long)st.st_uid, (unsigned long)owner);
		return safe_fail(fd, EPERM);
	}
	if ((flags & O_NONBLOCK) == 0 &&
	    ((fl = fcntl(fd, F_GETFL)) < 0 ||
	     fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0)) {
		strbuf_why(why, "fcntl %s: %m", path);
		return safe_fail(fd, errno);
	}
	if ((flags & O_TRUNC) != 0 && (flags & O_ACCMODE) != O_RDONLY &&
	    ftruncate(fd, 0) < 0) {
		strbuf_why(why, "truncate %s: %m", path);
		return safe_fail(fd, errno);
	}
	return fd;
}

int safe_open(const char *path, int flags, mode_t mode, uid_t owner,
	      struct strbuf *why)
{
	return safe_openat(AT_FDCWD, path, flags, mode, owner, why);
}

/* write() all of data; -1 with errno on failure. */
static int safe_write_all(int fd, const char *data, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, data, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		/* UNSAFE: write() returned 0 < n <= len. */
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

int safe_write_file(const char *path, const void *data, size_t len, mode_t mode,
		    struct strbuf *why)
{
	const char *slash = strrchr(path, '/');
	struct strbuf *tmp_buf;
	char *dir, *tmp;
	int fd = -1, dfd = -1, saved_errno;
	size_t dirlen;

	if (*path == 0 || (slash != NULL && slash[1] == 0)) {
		errno = EINVAL;
		strbuf_why(why, "write \"%s\": not a file name", path);
		return -1;
	}
	/* UNSAFE: slash points inside path. */
	dirlen = slash == NULL ? 0 : (size_t)(slash - path);
	dir = slash == NULL ? mystrdup(".")
	      : dirlen == 0 ? mystrdup("/")
			    : mystrndup(path, dirlen);
	/* "<dir>/.<base>.XXXXXX": a dot file, so directory scans skip it. */
	tmp_buf = strbuf_new(STRBUF_NO_MAX);
	(void)strbuf_printf(tmp_buf, "%s/.%s.XXXXXX", dir,
			    slash == NULL ? path : slash + 1);
	tmp = strbuf_export(tmp_buf);
	strbuf_free(&tmp_buf);

	if ((fd = mkostemp(tmp, O_CLOEXEC)) < 0) {
		strbuf_why(why, "create temp file for %s: %m", path);
		goto fail_keep;
	}
	if (fchmod(fd, mode) < 0 || safe_write_all(fd, data, len) < 0 ||
	    fsync(fd) < 0) {
		strbuf_why(why, "write %s: %m", tmp);
		goto fail;
	}
	/* close() can report a deferred write error (NFS); check it. */
	saved_errno = close(fd);
	fd = -1;
	if (saved_errno < 0) {
		strbuf_why(why, "close %s: %m", tmp);
		goto fail;
	}
	if (rename(tmp, path) < 0) {
		strbuf_why(why, "rename %s to %s: %m", tmp, path);
		goto fail;
	}
	/* The content is in place; the directory fsync makes it durable. An
	 * error here is still reported, but path already has the new data. */
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 ||
	    fsync(dfd) < 0) {
		strbuf_why(why, "fsync directory %s: %m", dir);
		saved_errno = errno;
		if (dfd >= 0)
			close(dfd);
		myfree(tmp);
		myfree(dir);
		errno = saved_errno;
		return -1;
	}
	close(dfd);
	myfree(tmp);
	myfree(dir);
	return 0;

fail:
	saved_errno = errno;
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	errno = saved_errno;
fail_keep:
	saved_errno = errno;
	myfree(tmp);
	myfree(dir);
	errno = saved_errno;
	return -1;
}
