/*
 * dict_file - temporary files, locks and atomic install for file tables;
 * see dict_file.h for the safety argument.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dict_file.h"
#include "mymalloc.h"
#include "strbuf.h"

char *dict_file_path(const char *name, const char *suffix)
{
	size_t nlen = strlen(name);
	size_t slen = strlen(suffix);
	char *path = mymalloc(mymalloc_add(mymalloc_add(nlen, slen), 1));

	memcpy(path, name, nlen);
	memcpy(path + nlen, suffix, slen + 1);
	return path;
}

char *dict_file_temp(const char *final, struct strbuf *why)
{
	char *path = dict_file_path(final, ".tmpXXXXXX");
	mode_t mask;
	int fd;

	if ((fd = mkostemp(path, O_CLOEXEC)) < 0) {
		strbuf_printf(why, "create temporary file %s: %s", path,
			      strerror(errno));
		myfree(path);
		return NULL;
	}
	/* mkstemp makes 0600; a table is read by unprivileged daemons. */
	mask = umask(022);
	umask(mask);
	(void)fchmod(fd, 0644 & ~mask);
	close(fd);
	return path;
}

static int lock_fd(int fd, short type)
{
	struct flock fl;

	memset(&fl, 0, sizeof(fl));
	fl.l_type = type;
	fl.l_whence = SEEK_SET;
	while (fcntl(fd, F_OFD_SETLKW, &fl) < 0) {
		if (errno != EINTR)
			return -1;
	}
	return 0;
}

int dict_file_lock(const char *path, struct strbuf *why)
{
	struct stat st_fd, st_path;
	int fd;

	for (;;) {
		if ((fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW)) < 0) {
			if (errno == ENOENT)
				return -2;
			strbuf_printf(why, "open %s: %s", path,
				      strerror(errno));
			return -1;
		}
		if (lock_fd(fd, F_WRLCK) < 0) {
			strbuf_printf(why, "lock %s: %s", path,
				      strerror(errno));
			close(fd);
			return -1;
		}
		/* While we waited, a rebuild may have renamed a new file
		 * over path; our lock would then guard a dead inode. */
		if (fstat(fd, &st_fd) == 0 && stat(path, &st_path) == 0 &&
		    st_fd.st_dev == st_path.st_dev &&
		    st_fd.st_ino == st_path.st_ino)
			return fd;
		close(fd);
	}
}

static int fsync_path(const char *path, int flags, struct strbuf *why)
{
	int fd;

	if ((fd = open(path, flags | O_CLOEXEC)) < 0) {
		strbuf_printf(why, "open %s: %s", path, strerror(errno));
		return -1;
	}
	if (fsync(fd) < 0) {
		strbuf_printf(why, "fsync %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

static int fsync_dir_of(const char *path, struct strbuf *why)
{
	char *copy = mystrdup(path);
	int ret = fsync_path(dirname(copy), O_RDONLY | O_DIRECTORY, why);

	myfree(copy);
	return ret;
}

int dict_file_install(const char *tmp, const char *final, int have_lock,
		      struct strbuf *why)
{
	int lock = -2;
	int ret = 0;

	if (fsync_path(tmp, O_RDONLY, why) < 0)
		return -1;
	if (!have_lock && (lock = dict_file_lock(final, why)) == -1)
		return -1;
	if (rename(tmp, final) < 0) {
		strbuf_printf(why, "rename %s to %s: %s", tmp, final,
			      strerror(errno));
		ret = -1;
	}
	if (lock >= 0)
		close(lock);
	if (ret == 0 && fsync_dir_of(final, why) < 0)
		ret = -1;
	return ret;
}

int dict_file_install_new(const char *tmp, const char *final,
			  struct strbuf *why)
{
	if (fsync_path(tmp, O_RDONLY, why) < 0)
		return -1;
	/* link() fails if final exists, so a table another process created
	 * in the meantime is never clobbered. */
	if (link(tmp, final) < 0) {
		if (errno == EEXIST)
			return 1;
		strbuf_printf(why, "link %s to %s: %s", tmp, final,
			      strerror(errno));
		return -1;
	}
	(void)unlink(tmp);
	return fsync_dir_of(final, why);
}
