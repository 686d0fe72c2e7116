/*
 * mail_queue - queue names, IDs, paths and moves; see mail_queue.h.
 *
 * Safety argument for mail_queue_enter(): the file is created under a
 * temporary name with O_EXCL (nothing else can be there, no link can
 * redirect it), at a mode that says "being written", and renamed to its
 * ID with RENAME_NOREPLACE so a clock that stepped back can never make
 * one message replace another. Readers ignore files that are not at
 * MAIL_QUEUE_STAT_READY, so the rename may happen before the data is
 * written; the commit (queue_file.c) fsyncs the file and then this
 * directory, which makes the rename durable at the same moment as the
 * data.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "mail_params.h"
#include "mail_queue.h"
#include "mymalloc.h"
#include "strbuf.h"

const char *const mail_queue_names[] = {
    MAIL_QUEUE_MAILDROP, MAIL_QUEUE_INCOMING, MAIL_QUEUE_ACTIVE,
    MAIL_QUEUE_DEFERRED, MAIL_QUEUE_HOLD,     MAIL_QUEUE_CORRUPT,
    MAIL_QUEUE_BOUNCE,	 MAIL_QUEUE_DEFER,    MAIL_QUEUE_TRACE,
    MAIL_QUEUE_SAVED,	 MAIL_QUEUE_FLUSH,    NULL,
};

#define MAIL_QUEUE_COUNT (sizeof(mail_queue_names) / sizeof(char *) - 1)

#define ID_BASE_TIME 52
#define ID_BASE_INODE 51
#define ID_SEC_MIN 6	/* seconds digits, zero-padded */
#define ID_SEC_MAX 11	/* 52^11 > 2^62: any realistic time */
#define ID_USEC_LEN 4	/* 52^4 > 10^6 */
#define ID_INODE_MAX 12 /* 51^12 > 2^64 */

/* Attempts at a fresh temporary name or ID before giving up. */
#define ENTER_TRIES 50

struct mail_queue {
	int dirfd;
	int hash_depth;
	int directory_sync;
	unsigned char hashed[MAIL_QUEUE_COUNT]; /* by mail_queue_names index */
};

/* Index of queue in mail_queue_names, or -1. */
static int mq_index(const char *queue)
{
	size_t i;

	for (i = 0; i < MAIL_QUEUE_COUNT; i++)
		if (strcmp(queue, mail_queue_names[i]) == 0)
			return (int)i;
	return -1;
}

int mail_queue_name_ok(const char *queue)
{
	return queue != NULL && mq_index(queue) >= 0;
}

/* Mark the queues of a "deferred, defer" style list as hashed. */
static int mq_parse_hash_names(struct mail_queue *mq, const char *list,
			       struct strbuf *why)
{
	const char *sep = ", \t\r\n";
	const char *p = list;
	char name[32];
	size_t len;
	int idx;

	while (*p) {
		p += strspn(p, sep);
		len = strcspn(p, sep);
		if (len == 0)
			break;
		if (len >= sizeof(name))
			return strbuf_why(why,
				       "hash_queue_names: unknown queue "
				       "\"%.*s\"",
				       (int)len, p);
		memcpy(name, p, len);
		name[len] = 0;
		if ((idx = mq_index(name)) < 0)
			return strbuf_why(why,
				       "hash_queue_names: unknown queue "
				       "\"%s\"",
				       name);
		mq->hashed[idx] = 1;
		p += len;
	}
	return 0;
}

struct mail_queue *mail_queue_open(const struct mail_queue_params *params,
				   struct strbuf *why)
{
	struct mail_queue *mq;

	if (params->hash_depth < 1 ||
	    params->hash_depth > MAIL_QUEUE_HASH_DEPTH_MAX) {
		strbuf_why(why, "hash_queue_depth: %d is not between 1 and %d",
			params->hash_depth, MAIL_QUEUE_HASH_DEPTH_MAX);
		return NULL;
	}
	mq = mycalloc(1, sizeof(*mq));
	mq->hash_depth = params->hash_depth;
	mq->directory_sync = params->directory_sync != 0;
	if (params->hash_names != NULL &&
	    mq_parse_hash_names(mq, params->hash_names, why) < 0) {
		myfree(mq);
		return NULL;
	}
	mq->dirfd = open(params->directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (mq->dirfd < 0) {
		strbuf_why(why, "open queue directory %s: %s", params->directory,
			strerror(errno));
		myfree(mq);
		return NULL;
	}
	return mq;
}

void mail_queue_close(struct mail_queue **mqp)
{
	if (*mqp == NULL)
		return;
	(void)close((*mqp)->dirfd);
	myfree(*mqp);
}

int mail_queue_dirfd(const struct mail_queue *mq)
{
	return mq->dirfd;
}

int mail_queue_sync_enabled(const struct mail_queue *mq)
{
	return mq->directory_sync;
}

/* Value of digit ch in base (52 or 51), or -1. */
static int id_digit(int ch, int base)
{
	const char *p;

	if (ch == 0 || (p = strchr(MAIL_QUEUE_ID_DIGITS, ch)) == NULL)
		return -1;
	return (int)(p - MAIL_QUEUE_ID_DIGITS) < base
		   ? (int)(p - MAIL_QUEUE_ID_DIGITS)
		   : -1;
}

/* Decode len digits of str in base; -1 on a bad digit or overflow. */
static int id_decode(const char *str, size_t len, int base, uint64_t *val)
{
	uint64_t v = 0;
	size_t i;
	int d;

	for (i = 0; i < len; i++) {
		if ((d = id_digit((unsigned char)str[i], base)) < 0)
			return -1;
		if (__builtin_mul_overflow(v, (uint64_t)base, &v) ||
		    __builtin_add_overflow(v, (uint64_t)d, &v))
			return -1;
	}
	*val = v;
	return 0;
}

int mail_queue_id_parse(const char *id, int64_t *sec, long *usec,
			uint64_t *inode)
{
	const char *sep;
	size_t len, time_len, sec_len;
	uint64_t s, u, i;

	/* strnlen: never read past MAIL_QUEUE_ID_MAX + 1 bytes of junk. */
	if (id == NULL ||
	    (len = strnlen(id, MAIL_QUEUE_ID_MAX + 1)) > MAIL_QUEUE_ID_MAX ||
	    (sep = strrchr(id, MAIL_QUEUE_ID_SEP)) == NULL)
		return -1;
	time_len = (size_t)(sep - id);
	sec_len = time_len - ID_USEC_LEN;
	if (time_len < ID_SEC_MIN + ID_USEC_LEN || sec_len > ID_SEC_MAX ||
	    len - time_len - 1 < 1 || len - time_len - 1 > ID_INODE_MAX)
		return -1;
	if (id_decode(id, sec_len, ID_BASE_TIME, &s) < 0 ||
	    id_decode(id + sec_len, ID_USEC_LEN, ID_BASE_TIME, &u) < 0 ||
	    id_decode(sep + 1, len - time_len - 1, ID_BASE_INODE, &i) < 0)
		return -1;
	if (u >= 1000000 || s > INT64_MAX)
		return -1;
	if (sec)
		*sec = (int64_t)s;
	if (usec)
		*usec = (long)u;
	if (inode)
		*inode = i;
	return 0;
}

int mail_queue_id_ok(const char *id)
{
	return mail_queue_id_parse(id, NULL, NULL, NULL) == 0;
}

/* Append val in base, at least min digits (zero-padded). */
static void id_encode(struct strbuf *sb, uint64_t val, int base, int min)
{
	char digits[24];
	int n = 0;

	do {
		digits[n++] = MAIL_QUEUE_ID_DIGITS[val % (uint64_t)base];
		val /= (uint64_t)base;
	} while (val != 0);
	while (n < min)
		digits[n++] = '0';
	while (n > 0)
		(void)strbuf_putc(sb, digits[--n]);
}

void mail_queue_id_make(struct strbuf *id, int64_t sec, long usec,
			uint64_t inode)
{
	strbuf_reset(id);
	id_encode(id, sec < 0 ? 0 : (uint64_t)sec, ID_BASE_TIME, ID_SEC_MIN);
	id_encode(id, usec < 0 || usec >= 1000000 ? 0 : (uint64_t)usec,
		  ID_BASE_TIME, ID_USEC_LEN);
	(void)strbuf_putc(id, MAIL_QUEUE_ID_SEP);
	id_encode(id, inode, ID_BASE_INODE, 1);
}

/* FNV-1a over the ID: spreads IDs that differ only in their last digit. */
static uint32_t id_hash(const char *id)
{
	uint32_t h = 2166136261u;

	for (; *id; id++) {
		h ^= (unsigned char)*id;
		h *= 16777619u;
	}
	return h;
}

int mail_queue_dir(const struct mail_queue *mq, struct strbuf *dir,
		   const char *queue, const char *id, struct strbuf *why)
{
	int idx, level;
	uint32_t h;

	if ((idx = mq_index(queue)) < 0)
		return strbuf_why(why, "unknown queue name");
	if (!mail_queue_id_ok(id))
		return strbuf_why(why, "malformed queue ID");
	strbuf_reset(dir);
	(void)strbuf_puts(dir, queue);
	if (mq->hashed[idx]) {
		h = id_hash(id);
		for (level = 0; level < mq->hash_depth; level++) {
			(void)strbuf_putc(dir, '/');
			(void)strbuf_putc(dir, "0123456789ABCDEF"[h & 0xf]);
			h >>= 4;
		}
	}
	return 0;
}

int mail_queue_path(const struct mail_queue *mq, struct strbuf *path,
		    const char *queue, const char *id, struct strbuf *why)
{
	if (mail_queue_dir(mq, path, queue, id, why) < 0)
		return -1;
	(void)strbuf_putc(path, '/');
	(void)strbuf_puts(path, id);
	return 0;
}

/* fsync the directory at relative path dir. */
static int mq_fsync_dir(struct mail_queue *mq, const char *dir,
			struct strbuf *why)
{
	int fd, ret;

	fd = openat(mq->dirfd, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return strbuf_why(why, "open directory %s: %s", dir,
			       strerror(errno));
	ret = fsync(fd);
	if (ret < 0)
		strbuf_why(why, "fsync directory %s: %s", dir, strerror(errno));
	(void)close(fd);
	return ret;
}

int mail_queue_sync_dir(struct mail_queue *mq, const char *queue,
			const char *id, struct strbuf *why)
{
	struct strbuf *dir;
	int ret;

	if (!mq->directory_sync)
		return 0;
	dir = strbuf_new(STRBUF_NO_MAX);
	ret = mail_queue_dir(mq, dir, queue, id, why);
	if (ret == 0)
		ret = mq_fsync_dir(mq, strbuf_str(dir), why);
	/* A file renamed into a hashed subdirectory left its temporary
	 * name in the top directory: that removal must be durable too. */
	if (ret == 0 && strcmp(strbuf_str(dir), queue) != 0)
		ret = mq_fsync_dir(mq, queue, why);
	strbuf_free(&dir);
	return ret;
}

/* Make the missing hashed subdirectories of dir ("deferred/A/B"); the
 * queue's own directory must exist. A new directory's parent is synced,
 * so the entry of a file moved into it cannot outlive its directory. */
static int mq_mkdirs(struct mail_queue *mq, const char *dir, struct strbuf *why)
{
	char path[64];
	size_t len = strlen(dir), i;

	if (len >= sizeof(path))
		return strbuf_why(why, "queue path too long");
	memcpy(path, dir, len + 1);
	/* UNSAFE: i < len < sizeof(path); each '/' ends a parent name. */
	for (i = strcspn(path, "/") + 1; i <= len; i++) {
		if (path[i] != '/' && path[i] != 0)
			continue;
		path[i] = 0;
		if (mkdirat(mq->dirfd, path, 0700) == 0) {
			char *slash = strrchr(path, '/');

			*slash = 0;
			if (mq->directory_sync &&
			    mq_fsync_dir(mq, path, why) < 0)
				return -1;
			*slash = '/';
		} else if (errno != EEXIST) {
			return strbuf_why(why, "mkdir %s: %s", path,
				       strerror(errno));
		}
		path[i] = dir[i];
	}
	return 0;
}

int mail_queue_make_dir(struct mail_queue *mq, const char *queue,
			const char *id, struct strbuf *why)
{
	struct strbuf *dir = strbuf_new(STRBUF_NO_MAX);
	int ret = mail_queue_dir(mq, dir, queue, id, why);

	if (ret == 0)
		ret = mq_mkdirs(mq, strbuf_str(dir), why);
	strbuf_free(&dir);
	return ret;
}

/* rename that never replaces: renameat2 where the file system has it,
 * else link + unlink (which also refuses to replace). */
static int mq_rename_noreplace(int dirfd, const char *from, const char *to)
{
	if (renameat2(dirfd, from, dirfd, to, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -1;
	if (linkat(dirfd, from, dirfd, to, 0) < 0)
		return -1;
	return unlinkat(dirfd, from, 0);
}

/* Rename, making missing hashed subdirectories of the target once. */
static int mq_move(struct mail_queue *mq, const char *from, const char *to,
		   const char *to_dir, int hashed, struct strbuf *why)
{
	if (mq_rename_noreplace(mq->dirfd, from, to) == 0)
		return 0;
	if (errno == ENOENT && hashed) {
		if (mq_mkdirs(mq, to_dir, why) < 0)
			return -1;
		if (mq_rename_noreplace(mq->dirfd, from, to) == 0)
			return 0;
	}
	return strbuf_why(why, "rename %s to %s: %s", from, to, strerror(errno));
}

int mail_queue_enter(struct mail_queue *mq, const char *queue, mode_t mode,
		     struct strbuf *id, int *fdp, struct strbuf *why)
{
	struct strbuf *tmp = strbuf_new(STRBUF_NO_MAX);
	struct strbuf *path = strbuf_new(STRBUF_NO_MAX);
	struct strbuf *dir = strbuf_new(STRBUF_NO_MAX);
	struct timespec ts;
	struct stat st;
	int fd = -1, tries, idx, ret = -1;

	if ((idx = mq_index(queue)) < 0) {
		strbuf_why(why, "unknown queue name");
		goto out;
	}
	for (tries = 0; fd < 0 && tries < ENTER_TRIES; tries++) {
		(void)clock_gettime(CLOCK_REALTIME, &ts);
		strbuf_reset(tmp);
		(void)strbuf_printf(tmp, "%s/%ld.%ld", queue,
				    (long)(ts.tv_nsec / 1000), (long)getpid());
		fd = openat(mq->dirfd, strbuf_str(tmp),
			    O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
			    MAIL_QUEUE_STAT_WRITING);
		if (fd < 0 && errno != EEXIST) {
			strbuf_why(why, "create %s: %s", strbuf_str(tmp),
				strerror(errno));
			goto out;
		}
	}
	if (fd < 0) {
		strbuf_why(why, "create in %s: no unused temporary name", queue);
		goto out;
	}
	/* The umask must not decide whether a file looks complete. */
	if (fchmod(fd, mode) < 0 || fstat(fd, &st) < 0) {
		strbuf_why(why, "%s: %s", strbuf_str(tmp), strerror(errno));
		goto fail;
	}
	for (tries = 0; tries < ENTER_TRIES; tries++) {
		/* Time after the inode exists: while this file lives no other
		 * file has its inode, so (time, inode) is new. */
		(void)clock_gettime(CLOCK_REALTIME, &ts);
		mail_queue_id_make(id, (int64_t)ts.tv_sec, ts.tv_nsec / 1000,
				   (uint64_t)st.st_ino);
		(void)mail_queue_path(mq, path, queue, strbuf_str(id), NULL);
		(void)mail_queue_dir(mq, dir, queue, strbuf_str(id), NULL);
		if (mq_move(mq, strbuf_str(tmp), strbuf_str(path),
			    strbuf_str(dir), mq->hashed[idx], why) == 0) {
			*fdp = fd;
			ret = 0;
			goto out;
		}
		if (errno != EEXIST)
			goto fail;
		/* Same ID exists (the clock went back): wait a tick. */
		(void)nanosleep(&(struct timespec){0, 1000}, NULL);
	}
	strbuf_why(why, "create in %s: no unused queue ID", queue);
fail:
	(void)unlinkat(mq->dirfd, strbuf_str(tmp), 0);
	(void)close(fd);
out:
	if (ret < 0)
		strbuf_reset(id);
	strbuf_free(&tmp);
	strbuf_free(&path);
	strbuf_free(&dir);
	return ret;
}

int mail_queue_open_file(struct mail_queue *mq, const char *queue,
			 const char *id, int flags, struct strbuf *why)
{
	struct strbuf *path = strbuf_new(STRBUF_NO_MAX);
	struct stat st;
	int fd = -1;

	if (mail_queue_path(mq, path, queue, id, why) < 0) {
		errno = EINVAL;
		goto out;
	}
	fd = openat(mq->dirfd, strbuf_str(path),
		    (flags & O_ACCMODE) | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		strbuf_why(why, "open %s: %s", strbuf_str(path), strerror(errno));
		goto out;
	}
	if (fstat(fd, &st) < 0) {
		strbuf_why(why, "fstat %s: %s", strbuf_str(path), strerror(errno));
	} else if (!S_ISREG(st.st_mode)) {
		errno = EINVAL;
		strbuf_why(why, "%s: not a regular file", strbuf_str(path));
	} else if (st.st_nlink != 1) {
		/* A second name could be someone's hard link planted to make
		 * us read or rewrite a file that is not ours. */
		errno = EINVAL;
		strbuf_why(why, "%s: has %lu links", strbuf_str(path),
			(unsigned long)st.st_nlink);
	} else {
		goto out;
	}
	(void)close(fd);
	fd = -1;
out:
	strbuf_free(&path);
	return fd;
}

static int mq_rename(struct mail_queue *mq, const char *old_queue,
		     const char *new_queue, const char *id, int sync,
		     struct strbuf *why)
{
	struct strbuf *from = strbuf_new(STRBUF_NO_MAX);
	struct strbuf *to = strbuf_new(STRBUF_NO_MAX);
	struct strbuf *to_dir = strbuf_new(STRBUF_NO_MAX);
	int ret = -1;

	if (mail_queue_path(mq, from, old_queue, id, why) < 0 ||
	    mail_queue_path(mq, to, new_queue, id, why) < 0 ||
	    mail_queue_dir(mq, to_dir, new_queue, id, why) < 0) {
		errno = EINVAL;
		goto out;
	}
	if (mq_move(mq, strbuf_str(from), strbuf_str(to), strbuf_str(to_dir),
		    mq->hashed[mq_index(new_queue)], why) < 0)
		goto out;
	/* New entry first: if only one of the two syncs happens, the file
	 * may have two names after a crash (a duplicate delivery at worst),
	 * but never none. */
	if (sync && (mail_queue_sync_dir(mq, new_queue, id, why) < 0 ||
		     mail_queue_sync_dir(mq, old_queue, id, why) < 0))
		goto out;
	ret = 0;
out:
	strbuf_free(&from);
	strbuf_free(&to);
	strbuf_free(&to_dir);
	return ret;
}

int mail_queue_rename(struct mail_queue *mq, const char *old_queue,
		      const char *new_queue, const char *id, struct strbuf *why)
{
	return mq_rename(mq, old_queue, new_queue, id, 1, why);
}

int mail_queue_rename_unsynced(struct mail_queue *mq, const char *old_queue,
			       const char *new_queue, const char *id,
			       struct strbuf *why)
{
	return mq_rename(mq, old_queue, new_queue, id, 0, why);
}

int mail_queue_remove(struct mail_queue *mq, const char *queue, const char *id,
		      struct strbuf *why)
{
	struct strbuf *path = strbuf_new(STRBUF_NO_MAX);
	int ret = -1;

	if (mail_queue_path(mq, path, queue, id, why) < 0)
		errno = EINVAL;
	else if (unlinkat(mq->dirfd, strbuf_str(path), 0) < 0)
		strbuf_why(why, "remove %s: %s", strbuf_str(path),
			strerror(errno));
	else
		ret = 0;
	strbuf_free(&path);
	return ret;
}

struct mail_queue *mail_queue_open_main(const char *directory,
					struct strbuf *why)
{
	struct mail_queue_params params = {
	    .directory = directory,
	    .hash_names = var_hash_queue_names,
	    .hash_depth = var_hash_queue_depth,
	    .directory_sync = var_queue_directory_sync,
	};

	return mail_queue_open(&params, why);
}
