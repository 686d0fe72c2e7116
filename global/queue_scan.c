/*
 * queue_scan - list the queue IDs of one queue; see queue_scan.h.
 *
 * Subdirectories are followed only when their name is one upper-case
 * hex digit and only as deep as hashing can go (MAIL_QUEUE_HASH_DEPTH_MAX),
 * opened with O_NOFOLLOW relative to the queue directory, so a planted
 * symlink or a deep tree cannot lead the walk elsewhere.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mail_queue.h"
#include "mymalloc.h"
#include "queue_scan.h"
#include "strbuf.h"

static void ids_add(struct queue_scan_ids *ids, size_t *cap, const char *id)
{
	if (ids->count == *cap) {
		*cap = *cap ? mymalloc_mul(*cap, 2) : 64;
		ids->id = myreallocarray(ids->id, *cap, sizeof(*ids->id));
	}
	ids->id[ids->count++] = mystrdup(id);
}

static int scan_dir(struct mail_queue *mq, const char *dir, int depth,
		    struct queue_scan_ids *ids, size_t *cap, struct strbuf *why)
{
	int fd = openat(mail_queue_dirfd(mq), dir,
			O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	struct dirent *de;
	int ret = 0;
	DIR *dp;

	if (fd < 0)
		return errno == ENOENT && depth == 0
			   ? 0
			   : strbuf_why(why, "open %s: %s", dir,
					strerror(errno));
	if ((dp = fdopendir(fd)) == NULL) {
		(void)close(fd);
		return strbuf_why(why, "open %s: %s", dir, strerror(errno));
	}
	while ((de = readdir(dp)) != NULL) {
		const char *name = de->d_name;

		if (mail_queue_id_ok(name)) {
			ids_add(ids, cap, name);
		} else if (depth < MAIL_QUEUE_HASH_DEPTH_MAX && name[0] != 0 &&
			   name[1] == 0 &&
			   strchr("0123456789ABCDEF", name[0]) != NULL) {
			struct strbuf *sub = strbuf_new(STRBUF_NO_MAX);

			(void)strbuf_printf(sub, "%s/%s", dir, name);
			if (scan_dir(mq, strbuf_str(sub), depth + 1, ids, cap,
				     why) < 0)
				ret = -1;
			strbuf_free(&sub);
		}
	}
	closedir(dp);
	return ret;
}

static int id_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int queue_scan(struct mail_queue *mq, const char *queue,
	       struct queue_scan_ids *ids, struct strbuf *why)
{
	size_t cap = 0;
	int ret;

	ids->id = NULL;
	ids->count = 0;
	if (!mail_queue_name_ok(queue))
		return strbuf_why(why, "unknown queue name");
	ret = scan_dir(mq, queue, 0, ids, &cap, why);
	if (ids->count > 1)
		qsort(ids->id, ids->count, sizeof(*ids->id), id_cmp);
	return ret;
}

void queue_scan_free(struct queue_scan_ids *ids)
{
	for (size_t i = 0; i < ids->count; i++)
		myfree(ids->id[i]);
	myfree(ids->id);
	ids->count = 0;
}
