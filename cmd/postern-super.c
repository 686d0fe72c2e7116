/*
 * postern-super - queue maintenance for the superuser (Postfix's
 * postsuper); see postern-super(1).
 *
 *     postern-super [-c config_dir] [-v] [-s] [-p] [-d ID|ALL|-]
 *                   [-h ID|ALL|-] [-H ID|ALL|-] [-r ID|ALL|-] [queue...]
 *
 * Operations run in this order whatever the order of the options:
 * structure check (-s), purge of stale temporary files (-p), delete
 * (-d), hold (-h), release (-H), requeue (-r). Every queue ID is checked
 * with mail_queue_id_ok() before it is used in a path, and every file is
 * reached relative to the queue directory's descriptor.
 *
 * Living next to a running qmgr. A move between queues is one rename
 * with RENAME_NOREPLACE, so a file is always in exactly one queue; if
 * qmgr moved it first, the rename finds nothing and the next queue in
 * the list is tried. Files in active/ are deleted, held and requeued as
 * Postfix's postsuper does, not skipped: an agent that has the file open
 * keeps reading the (now nameless) inode and may finish the batch it
 * has, its done marks going to that inode; qmgr's final move or removal
 * then finds no file, which it must take as "removed by the
 * administrator" (ENOENT is not an error there). Refusing active/
 * instead would make "-d ALL" unable to stop a mail storm, which is the
 * main reason to run it. ALL never touches a file in incoming/ that
 * cleanup is still writing: deleting it would let cleanup commit a file
 * without a name and answer "queued" for mail that is gone.
 *
 * Requeue (-r) sends the message through the cleanup service again, as
 * pickup does, so canonical and virtual mapping and header checks are
 * applied afresh: arrival time, sender, DSN fields, attributes and every
 * recipient not yet marked done are copied, done recipients are not. The
 * original is removed only after cleanup answered "queued" for the copy,
 * so a failure at any point leaves the message where it was (at worst
 * twice, never lost).
 *
 * Deleting a message also removes its bounce/, defer/ and trace/ logs,
 * as a requeue does: their recipients were the old file's.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "cleanup_clnt.h"
#include "mail_conf.h"
#include "mail_params.h"
#include "mail_queue.h"
#include "mail_trigger.h"
#include "msg.h"
#include "mymalloc.h"
#include "priv.h"
#include "queue_file.h"
#include "rec_type.h"
#include "strbuf.h"

/* A file left incomplete longer than this is a crash's leftover: no
 * cleanup process writes one message for a week (Postfix's bound). */
#define SUPER_TEMP_AGE (7 * 24 * 3600)

/* The default queues of each operation (Postfix's). */
static const char *const default_delete[] = {
    MAIL_QUEUE_HOLD, MAIL_QUEUE_INCOMING, MAIL_QUEUE_ACTIVE,
    MAIL_QUEUE_DEFERRED, NULL};
static const char *const default_hold[] = {
    MAIL_QUEUE_INCOMING, MAIL_QUEUE_ACTIVE, MAIL_QUEUE_DEFERRED, NULL};
static const char *const default_release[] = {MAIL_QUEUE_HOLD, NULL};
static const char *const default_requeue[] = {
    MAIL_QUEUE_HOLD, MAIL_QUEUE_INCOMING, MAIL_QUEUE_ACTIVE,
    MAIL_QUEUE_DEFERRED, NULL};
/* Queues that hold messages (the structure check looks at these). */
static const char *const message_queues[] = {MAIL_QUEUE_MAILDROP,
					     MAIL_QUEUE_INCOMING,
					     MAIL_QUEUE_ACTIVE,
					     MAIL_QUEUE_DEFERRED,
					     MAIL_QUEUE_HOLD,
					     MAIL_QUEUE_CORRUPT,
					     NULL};
/* The per-message status logs. */
static const char *const log_queues[] = {MAIL_QUEUE_BOUNCE, MAIL_QUEUE_DEFER,
					 MAIL_QUEUE_TRACE, NULL};

enum super_op { OP_DELETE, OP_HOLD, OP_RELEASE, OP_REQUEUE, OP_COUNT };

static const char *const op_done[OP_COUNT] = {
    [OP_DELETE] = "Deleted",
    [OP_HOLD] = "Placed on hold",
    [OP_RELEASE] = "Released from hold",
    [OP_REQUEUE] = "Requeued",
};

/* The IDs of one operation, as given (an ID, "ALL" or "-"). */
struct id_list {
	char **ids;
	size_t count;
	size_t cap;
};

static struct mail_queue *mq;
static int problems; /* something failed: exit non-zero */

static _Noreturn void usage(void)
{
	msg_fatal_status(EX_USAGE,
			 "usage: postern-super [-c config_dir] [-v] [-s] [-p] "
			 "[-d ID|ALL|-] [-h ID|ALL|-] [-H ID|ALL|-] "
			 "[-r ID|ALL|-] [queue...]");
}

static void id_list_add(struct id_list *l, const char *id)
{
	if (l->count == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 8;
		l->ids =
		    myrealloc(l->ids, mymalloc_mul(l->cap, sizeof(char *)));
	}
	l->ids[l->count++] = mystrdup(id);
}

static void id_list_free(struct id_list *l)
{
	for (size_t i = 0; i < l->count; i++)
		myfree(l->ids[i]);
	myfree(l->ids);
	l->count = l->cap = 0;
}

/* "-": one ID per line on stdin (what "postern-queue -j | ..." feeds). */
static void id_list_stdin(struct id_list *l)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;

	while ((len = getline(&line, &cap, stdin)) >= 0) {
		while (len > 0 &&
		       (line[len - 1] == '\n' || line[len - 1] == '\r' ||
			line[len - 1] == ' '))
			line[--len] = 0;
		if (len > 0)
			id_list_add(l, line);
	}
	free(line);
}

/* --- walking a queue --- */

struct queue_entry {
	char *path; /* relative to the queue directory */
	char *name; /* the file name (an ID, or a temporary name) */
};

struct entry_list {
	struct queue_entry *ents;
	size_t count;
	size_t cap;
};

static int hash_dir_name(const char *name)
{
	return strlen(name) == 1 && strchr("0123456789ABCDEF", name[0]) != 0;
}

/* Collect the regular files of dir (relative to the queue directory)
 * and of its one-hex-digit subdirectories. Collected first, acted on
 * after, so nothing is renamed under a directory stream being read. */
static void walk_dir(const char *dir, int depth, struct entry_list *out)
{
	struct dirent *de;
	struct stat st;
	DIR *dp;
	int fd;

	fd = openat(mail_queue_dirfd(mq), dir,
		    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		if (errno != ENOENT)
			msg_warn("open %s/%s: %m", var_queue_directory, dir);
		return;
	}
	if ((dp = fdopendir(fd)) == NULL) {
		msg_warn("opendir %s/%s: %m", var_queue_directory, dir);
		(void)close(fd);
		return;
	}
	while ((de = readdir(dp)) != NULL) {
		char *path;

		if (de->d_name[0] == '.')
			continue;
		if (fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue; /* gone meanwhile: qmgr moved it */
		path =
		    mymalloc(mymalloc_add(strlen(dir), strlen(de->d_name) + 2));
		sprintf(path, "%s/%s", dir, de->d_name);
		if (S_ISDIR(st.st_mode) && hash_dir_name(de->d_name) &&
		    depth < MAIL_QUEUE_HASH_DEPTH_MAX) {
			walk_dir(path, depth + 1, out);
			myfree(path);
			continue;
		}
		if (!S_ISREG(st.st_mode)) {
			myfree(path);
			continue;
		}
		if (out->count == out->cap) {
			out->cap = out->cap ? out->cap * 2 : 64;
			out->ents = myrealloc(
			    out->ents,
			    mymalloc_mul(out->cap, sizeof(*out->ents)));
		}
		out->ents[out->count].path = path;
		out->ents[out->count].name = mystrdup(de->d_name);
		out->count++;
	}
	closedir(dp);
}

static void entry_list_free(struct entry_list *l)
{
	for (size_t i = 0; i < l->count; i++) {
		myfree(l->ents[i].path);
		myfree(l->ents[i].name);
	}
	myfree(l->ents);
	l->count = l->cap = 0;
}

static const char *plural(long n, const char *word, const char *words)
{
	return n == 1 ? word : words;
}

/* --- the per-message operations --- */

/* Remove the status logs of id (absent ones are fine). */
static void remove_logs(const char *id)
{
	struct strbuf *why = strbuf_new(STRBUF_NO_MAX);

	for (const char *const *q = log_queues; *q != NULL; q++)
		if (mail_queue_remove(mq, *q, id, why) < 0 && errno != ENOENT)
			msg_warn("%s", strbuf_str(why));
	strbuf_free(&why);
}

static int op_delete(const char *queue, const char *id)
{
	struct strbuf *why = strbuf_new(STRBUF_NO_MAX);
	int ret = mail_queue_remove(mq, queue, id, why);

	if (ret == 0) {
		msg_info("%s: removed", id);
		remove_logs(id);
	} else if (errno != ENOENT) {
		msg_warn("%s", strbuf_str(why));
		problems++;
	}
	strbuf_free(&why);
	return ret;
}

static int op_hold(const char *queue, const char *id)
{
	struct strbuf *why = strbuf_new(STRBUF_NO_MAX);
	int ret = mail_queue_rename(mq, queue, MAIL_QUEUE_HOLD, id, why);

	if (ret == 0) {
		msg_info("%s: placed on hold", id);
	} else if (errno != ENOENT) {
		msg_warn("%s", strbuf_str(why));
		problems++;
	}
	strbuf_free(&why);
	return ret;
}

/* hold/ -> deferred/ with the time of the next attempt (the mtime) set to
 * now, so qmgr takes it at its next deferred scan, which we trigger. */
static int op_release(const char *queue, const char *id)
{
	struct strbuf *why = strbuf_new(STRBUF_NO_MAX);
	struct strbuf *path = strbuf_new(STRBUF_NO_MAX);
	int ret = -1;

	/* The time first, while the file is still where qmgr never looks:
	 * once in deferred/ qmgr may move it at any moment. */
	if (mail_queue_path(mq, path, queue, id, why) < 0) {
		msg_warn("%s", strbuf_str(why));
		problems++;
		goto out;
	}
	if (utimensat(mail_queue_dirfd(mq), strbuf_str(path), NULL,
		      AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno != ENOENT) {
			msg_warn("%s: set the retry time: %m",
				 strbuf_str(path));
			problems++;
		}
		goto out;
	}
	if ((ret = mail_queue_rename(mq, queue, MAIL_QUEUE_DEFERRED, id,
				     why)) == 0) {
		msg_info("%s: released from hold", id);
	} else if (errno != ENOENT) {
		msg_warn("%s", strbuf_str(why));
		problems++;
	}
out:
	strbuf_free(&why);
	strbuf_free(&path);
	return ret;
}

/* The O, o and n records of the next recipient. They come before its R
 * and are held back until the R shows whether the recipient is still to
 * be delivered (R) or done (D). One slot per type: the last one wins, as
 * in cleanup. */
static const int rcpt_extra_types[] = {REC_TYPE_DSN_ORCPT, REC_TYPE_DSN_NOTIFY,
				       REC_TYPE_ORCP};
#define RCPT_EXTRA (sizeof(rcpt_extra_types) / sizeof(rcpt_extra_types[0]))

static void rcpt_extra_reset(struct strbuf **extra, int *have)
{
	for (size_t i = 0; i < RCPT_EXTRA; i++) {
		strbuf_reset(extra[i]);
		have[i] = 0;
	}
}

/* Copy the message open in qf to cleanup: everything a new queue file
 * needs, and the recipients that are not done. */
static int requeue_copy(struct queue_file *qf, struct cleanup_clnt *cc,
			struct strbuf *why)
{
	struct strbuf *extra[RCPT_EXTRA];
	int have[RCPT_EXTRA] = {0};
	struct queue_rec rec;
	int status, rcpts = 0;

	for (size_t i = 0; i < RCPT_EXTRA; i++)
		extra[i] = strbuf_new(REC_ADDR_MAX);
	while ((status = queue_file_read(qf, &rec, why)) == QUEUE_FILE_OK &&
	       rec.type != REC_TYPE_EOF) {
		switch (rec.type) {
		case REC_TYPE_ORCP:
		case REC_TYPE_DSN_ORCPT:
		case REC_TYPE_DSN_NOTIFY:
			for (size_t i = 0; i < RCPT_EXTRA; i++) {
				if (rcpt_extra_types[i] != rec.type)
					continue;
				/* The reader bounds these at REC_ADDR_MAX. */
				strbuf_reset(extra[i]);
				(void)strbuf_append(extra[i], rec.data,
						    rec.len);
				have[i] = 1;
			}
			continue;
		case REC_TYPE_RCPT:
			for (size_t i = 0; i < RCPT_EXTRA; i++)
				if (have[i])
					cleanup_clnt_rec(cc,
							 rcpt_extra_types[i],
							 strbuf_str(extra[i]),
							 strbuf_len(extra[i]));
			rcpt_extra_reset(extra, have);
			cleanup_clnt_rec(cc, rec.type, rec.data, rec.len);
			rcpts++;
			continue;
		case REC_TYPE_DONE:
		case REC_TYPE_DRCP:
			rcpt_extra_reset(extra, have);
			continue;
		case REC_TYPE_TIME:
		case REC_TYPE_FULL:
		case REC_TYPE_FROM:
		case REC_TYPE_ATTR:
		case REC_TYPE_DSN_ENVID:
		case REC_TYPE_DSN_RET:
		case REC_TYPE_VERP:
		case REC_TYPE_MESG:
		case REC_TYPE_XTRA:
			cleanup_clnt_rec(cc, rec.type, rec.data, rec.len);
			continue;
		case REC_TYPE_NORM:
		case REC_TYPE_CONT:
			if (rec.segment == REC_SEG_CONTENT)
				cleanup_clnt_rec(cc, rec.type, rec.data,
						 rec.len);
			continue;
		default:
			/* Queue-manager state (warning time, create time,
			 * padding, ...) belongs to the old file. */
			continue;
		}
	}
	for (size_t i = 0; i < RCPT_EXTRA; i++)
		strbuf_free(&extra[i]);
	if (status != QUEUE_FILE_OK)
		return -1;
	if (rcpts == 0)
		return strbuf_why(why, "no recipient is left to deliver");
	return 0;
}

static int op_requeue(const char *queue, const char *id)
{
	struct strbuf *why = strbuf_new(STRBUF_NO_MAX);
	struct cleanup_clnt *cc = NULL;
	struct queue_file *qf = NULL;
	char new_id[MAIL_QUEUE_ID_MAX + 1];
	int status, ret = -1;

	status = queue_file_open(mq, queue, id, 0, &qf, why);
	if (status == QUEUE_FILE_INCOMPLETE &&
	    strcmp(queue, MAIL_QUEUE_INCOMING) == 0) {
		/* cleanup is still writing it: it is not a message yet. */
		if (msg_verbose)
			msg_info("%s: still being written; not requeued", id);
		goto out;
	}
	if (status != QUEUE_FILE_OK) {
		if (status != QUEUE_FILE_ERROR || errno != ENOENT) {
			msg_warn("%s: not requeued: %s", id, strbuf_str(why));
			problems++;
		}
		goto out;
	}
	cc = cleanup_clnt_open(CLEANUP_SERVICE_PATH,
			       CLEANUP_FLAG_FILTER | CLEANUP_FLAG_MAP_OK,
			       var_ipc_timeout, why);
	if (cc == NULL) {
		msg_warn("%s: not requeued: cleanup service: %s", id,
			 strbuf_str(why));
		problems++;
		goto out;
	}
	snprintf(new_id, sizeof(new_id), "%s", cleanup_clnt_queue_id(cc));
	if (requeue_copy(qf, cc, why) < 0) {
		/* cleanup removes its file when we hang up without E. */
		cleanup_clnt_abort(&cc);
		msg_warn("%s: not requeued: %s", id, strbuf_str(why));
		problems++;
		goto out;
	}
	(void)queue_file_close(&qf);
	status = cleanup_clnt_finish(&cc, why);
	if (status != CLEANUP_STAT_OK) {
		msg_warn("%s: not requeued: cleanup said: %s (status %d)", id,
			 strbuf_str(why), status);
		problems++;
		goto out;
	}
	/* The copy is queued and durable: only now may the original go. */
	msg_info("%s: requeued as %s", id, new_id);
	if (mail_queue_remove(mq, queue, id, why) < 0 && errno != ENOENT)
		msg_warn("%s: requeued, but the original stays: %s", id,
			 strbuf_str(why));
	remove_logs(id);
	ret = 0;
out:
	if (qf != NULL)
		(void)queue_file_close(&qf);
	strbuf_free(&why);
	return ret;
}

static int (*const op_fn[OP_COUNT])(const char *, const char *) = {
    [OP_DELETE] = op_delete,
    [OP_HOLD] = op_hold,
    [OP_RELEASE] = op_release,
    [OP_REQUEUE] = op_requeue,
};

/* Run one operation on its IDs in the given queues. Returns how many
 * messages it acted on. */
/* Where an operation moves messages to: never from there to there. */
static const char *const op_target[OP_COUNT] = {
    [OP_HOLD] = MAIL_QUEUE_HOLD,
    [OP_RELEASE] = MAIL_QUEUE_DEFERRED,
};

static int op_skips(enum super_op op, const char *queue)
{
	return op_target[op] != NULL && strcmp(queue, op_target[op]) == 0;
}

/* A file in incoming/ without the complete mark is one cleanup is
 * writing: not a message yet. ALL leaves it alone; deleting it would let
 * cleanup commit a file that no longer has a name and answer "queued"
 * for mail that is gone. (-p removes such files once they are stale.) */
static int being_written(const char *queue, const struct queue_entry *ent)
{
	struct stat st;

	if (strcmp(queue, MAIL_QUEUE_INCOMING) != 0)
		return 0;
	if (fstatat(mail_queue_dirfd(mq), ent->path, &st, AT_SYMLINK_NOFOLLOW) <
	    0)
		return 1; /* gone: nothing to do */
	return (st.st_mode & S_IRWXU) != (MAIL_QUEUE_STAT_READY & S_IRWXU);
}

/* ALL: list every queue first, then act, so that a message this run
 * has just moved or requeued (into a queue later in the list) is not
 * taken a second time. */
static long run_all(enum super_op op, const char *const *queues)
{
	struct entry_list *ents;
	size_t nq = 0;
	long done = 0;

	while (queues[nq] != NULL)
		nq++;
	ents = mycalloc(nq ? nq : 1, sizeof(*ents));
	for (size_t q = 0; q < nq; q++)
		if (!op_skips(op, queues[q]))
			walk_dir(queues[q], 0, &ents[q]);
	for (size_t q = 0; q < nq; q++) {
		for (size_t e = 0; e < ents[q].count; e++)
			if (mail_queue_id_ok(ents[q].ents[e].name) &&
			    !being_written(queues[q], &ents[q].ents[e]) &&
			    op_fn[op](queues[q], ents[q].ents[e].name) == 0)
				done++;
		entry_list_free(&ents[q]);
	}
	myfree(ents);
	return done;
}

static long run_op(enum super_op op, const struct id_list *ids,
		   const char *const *queues)
{
	long done = 0;

	for (size_t i = 0; i < ids->count; i++) {
		const char *id = ids->ids[i];

		if (strcmp(id, "ALL") == 0) {
			done += run_all(op, queues);
			continue;
		}
		if (!mail_queue_id_ok(id)) {
			msg_warn("invalid mail queue ID: \"%s\"", id);
			problems++;
			continue;
		}
		for (const char *const *q = queues; *q != NULL; q++) {
			if (op_skips(op, *q))
				continue;
			if (op_fn[op](*q, id) == 0) {
				done++;
				break;
			}
		}
	}
	return done;
}

/* --- -p and -s --- */

/* Remove files in incoming/ that are not marked complete and have not
 * been touched for SUPER_TEMP_AGE: crash leftovers (doc/queue.md S1, S2).
 * A complete file is never removed here, whatever its age. */
static long purge_temp(void)
{
	struct entry_list ents = {0};
	time_t now = time(NULL);
	struct stat st;
	long removed = 0;

	walk_dir(MAIL_QUEUE_INCOMING, 0, &ents);
	for (size_t i = 0; i < ents.count; i++) {
		const char *path = ents.ents[i].path;

		if (fstatat(mail_queue_dirfd(mq), path, &st,
			    AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISREG(st.st_mode))
			continue;
		if ((st.st_mode & S_IRWXU) ==
			(MAIL_QUEUE_STAT_READY & S_IRWXU) ||
		    now - st.st_mtime < SUPER_TEMP_AGE)
			continue;
		if (unlinkat(mail_queue_dirfd(mq), path, 0) < 0) {
			if (errno != ENOENT) {
				msg_warn("remove %s/%s: %m",
					 var_queue_directory, path);
				problems++;
			}
			continue;
		}
		msg_info("%s: removed stale temporary file (%ld days old)",
			 path, (long)((now - st.st_mtime) / 86400));
		removed++;
	}
	entry_list_free(&ents);
	return removed;
}

/* mkdir -p of a hashed queue directory ("deferred/A/B"). */
static int make_dirs(const char *dir)
{
	char path[64];
	size_t len = strlen(dir);

	if (len >= sizeof(path))
		return -1;
	memcpy(path, dir, len + 1);
	for (size_t i = 1; i <= len; i++) {
		if (path[i] != '/' && path[i] != 0)
			continue;
		path[i] = 0;
		if (mkdirat(mail_queue_dirfd(mq), path, 0700) < 0 &&
		    errno != EEXIST)
			return -1;
		path[i] = dir[i];
	}
	return 0;
}

/* A file in the wrong hashed subdirectory (hash_queue_names or
 * hash_queue_depth changed) goes where mail_queue_path says. */
static int fix_place(const char *queue, const struct queue_entry *ent)
{
	struct strbuf *want = strbuf_new(STRBUF_NO_MAX);
	struct strbuf *dir = strbuf_new(STRBUF_NO_MAX);
	int moved = 0;

	(void)mail_queue_path(mq, want, queue, ent->name, NULL);
	(void)mail_queue_dir(mq, dir, queue, ent->name, NULL);
	if (strcmp(strbuf_str(want), ent->path) == 0)
		goto out;
	if (make_dirs(strbuf_str(dir)) < 0 ||
	    renameat2(mail_queue_dirfd(mq), ent->path, mail_queue_dirfd(mq),
		      strbuf_str(want), RENAME_NOREPLACE) < 0) {
		msg_warn("move %s to %s: %m", ent->path, strbuf_str(want));
		problems++;
		goto out;
	}
	msg_info("%s: moved from %s to %s", ent->name, ent->path,
		 strbuf_str(want));
	moved = 1;
out:
	strbuf_free(&want);
	strbuf_free(&dir);
	return moved;
}

/* Read the whole file; a complete-marked file that does not parse goes
 * to corrupt/. Files still being written (no mark) are left alone. */
static int check_corrupt(const char *queue, const char *id)
{
	struct strbuf *why = strbuf_new(STRBUF_NO_MAX);
	struct strbuf *reason = strbuf_new(STRBUF_NO_MAX);
	struct queue_file *qf;
	struct queue_rec rec;
	int status, moved = 0;

	status = queue_file_open(mq, queue, id, 0, &qf, why);
	if (status == QUEUE_FILE_OK) {
		while ((status = queue_file_read(qf, &rec, why)) ==
			   QUEUE_FILE_OK &&
		       rec.type != REC_TYPE_EOF)
			;
		(void)queue_file_close(&qf);
		/* Marked complete but cut short: the commit never got to
		 * the end, or the disk lost data; never acknowledged. */
	} else if (status == QUEUE_FILE_INCOMPLETE) {
		status = QUEUE_FILE_OK; /* no mark: still being written */
	}
	if (status != QUEUE_FILE_CORRUPT && status != QUEUE_FILE_INCOMPLETE)
		goto out;
	strbuf_set(reason, strbuf_str(why));
	if (mail_queue_rename(mq, queue, MAIL_QUEUE_CORRUPT, id, why) < 0) {
		if (errno != ENOENT) {
			msg_warn("%s", strbuf_str(why));
			problems++;
		}
		goto out;
	}
	msg_warn("%s: moved to the corrupt queue: %s", id, strbuf_str(reason));
	moved = 1;
out:
	strbuf_free(&why);
	strbuf_free(&reason);
	return moved;
}

static void structure_check(void)
{
	long moved = 0, corrupt = 0;

	for (const char *const *q = message_queues; *q != NULL; q++) {
		struct entry_list ents = {0};

		walk_dir(*q, 0, &ents);
		for (size_t i = 0; i < ents.count; i++) {
			const char *name = ents.ents[i].name;

			if (!mail_queue_id_ok(name))
				continue; /* temporary files: -p */
			moved += fix_place(*q, &ents.ents[i]);
			/* active/ is qmgr's; it moves its own bad files. */
			if (strcmp(*q, MAIL_QUEUE_ACTIVE) != 0 &&
			    strcmp(*q, MAIL_QUEUE_CORRUPT) != 0 &&
			    strcmp(*q, MAIL_QUEUE_MAILDROP) != 0)
				corrupt += check_corrupt(*q, name);
		}
		entry_list_free(&ents);
	}
	for (const char *const *q = log_queues; *q != NULL; q++) {
		struct entry_list ents = {0};

		walk_dir(*q, 0, &ents);
		for (size_t i = 0; i < ents.count; i++)
			if (mail_queue_id_ok(ents.ents[i].name))
				moved += fix_place(*q, &ents.ents[i]);
		entry_list_free(&ents);
	}
	if (moved)
		msg_info("Moved: %ld %s to the right subdirectory", moved,
			 plural(moved, "file", "files"));
	if (corrupt)
		msg_info("Corrupt: %ld %s moved to the corrupt queue", corrupt,
			 plural(corrupt, "message", "messages"));
}

/* --- main --- */

static void open_queue(void)
{
	struct strbuf *why = strbuf_new(STRBUF_NO_MAX);
	uid_t uid = 0;
	gid_t gid;

	if (priv_lookup_user(var_mail_owner, &uid, &gid) < 0 && getuid() == 0)
		msg_fatal("mail_owner: unknown user %s", var_mail_owner);
	if (getuid() != 0 && getuid() != uid)
		msg_fatal_status(EX_NOPERM,
				 "only root and mail_owner (%s) may change "
				 "the mail queue",
				 var_mail_owner);
	/* Open, then drop to mail_owner, then work inside the queue: the
	 * files are mail_owner's, and the queue directory's parents need
	 * not be searchable by it. */
	if ((mq = mail_queue_open_main(var_queue_directory, why)) == NULL)
		msg_fatal("queue_directory %s: %s", var_queue_directory,
			  strbuf_str(why));
	if (getuid() == 0)
		priv_drop(NULL, var_mail_owner);
	if (fchdir(mail_queue_dirfd(mq)) < 0)
		msg_fatal("chdir %s: %m", var_queue_directory);
	strbuf_free(&why);
}

int main(int argc, char **argv)
{
	struct id_list ids[OP_COUNT] = {{0}};
	static const char *const *defaults[OP_COUNT] = {
	    [OP_DELETE] = default_delete,
	    [OP_HOLD] = default_hold,
	    [OP_RELEASE] = default_release,
	    [OP_REQUEUE] = default_requeue,
	};
	const char *conf_dir = NULL;
	const char **queues = NULL;
	char ident[256];
	int do_purge = 0, do_structure = 0, stdin_used = 0, ch;
	enum super_op op;

	msg_open("postern-super");
	msg_set_stderr(1);
	while ((ch = getopt(argc, argv, "c:d:h:H:pr:sv")) != -1) {
		switch (ch) {
		case 'c':
			conf_dir = optarg;
			continue;
		case 'p':
			do_purge = 1;
			continue;
		case 's':
			do_structure = 1;
			continue;
		case 'v':
			msg_verbose++;
			continue;
		case 'd':
			op = OP_DELETE;
			break;
		case 'h':
			op = OP_HOLD;
			break;
		case 'H':
			op = OP_RELEASE;
			break;
		case 'r':
			op = OP_REQUEUE;
			break;
		default:
			usage();
		}
		if (strcmp(optarg, "-") == 0) {
			if (stdin_used++)
				msg_fatal_status(EX_USAGE, "only one option "
							   "may read IDs from "
							   "standard input");
			id_list_stdin(&ids[op]);
		} else {
			id_list_add(&ids[op], optarg);
		}
	}
	if (!do_purge && !do_structure && ids[OP_DELETE].count == 0 &&
	    ids[OP_HOLD].count == 0 && ids[OP_RELEASE].count == 0 &&
	    ids[OP_REQUEUE].count == 0)
		usage();
	if (optind < argc) {
		queues = mycalloc((size_t)(argc - optind) + 1, sizeof(char *));
		for (int i = optind; i < argc; i++) {
			if (!mail_queue_name_ok(argv[i]))
				msg_fatal_status(EX_USAGE, "unknown queue: %s",
						 argv[i]);
			queues[i - optind] = argv[i];
		}
	}

	mail_conf_read(mail_conf_dir(conf_dir));
	if (*var_maillog_file && msg_set_output(var_maillog_file) < 0)
		msg_warn("cannot open maillog_file %s: %m", var_maillog_file);
	else if (msg_set_facility(var_syslog_facility) < 0)
		msg_warn("unknown syslog_facility \"%s\"", var_syslog_facility);
	snprintf(ident, sizeof(ident), "%s/postern-super", var_syslog_name);
	msg_open(ident);
	open_queue();

	if (do_structure)
		structure_check();
	if (do_purge) {
		long n = purge_temp();

		if (n)
			msg_info("Deleted: %ld stale temporary %s", n,
				 plural(n, "file", "files"));
	}
	for (op = 0; op < OP_COUNT; op++) {
		long n;

		if (ids[op].count == 0)
			continue;
		n = run_op(op, &ids[op], queues ? queues : defaults[op]);
		if (n || op == OP_DELETE)
			msg_info("%s: %ld %s", op_done[op], n,
				 plural(n, "message", "messages"));
		if (op == OP_RELEASE && n > 0) {
			struct strbuf *why = strbuf_new(STRBUF_NO_MAX);
			char req[2] = {QMGR_REQ_SCAN_DEFERRED, 0};

			/* A lost trigger only delays: qmgr scans deferred/
			 * every queue_run_delay anyway. */
			if (mail_trigger(QMGR_SERVICE_PATH, req, 1, why) < 0 &&
			    msg_verbose)
				msg_info("%s", strbuf_str(why));
			strbuf_free(&why);
		}
		id_list_free(&ids[op]);
	}
	myfree(queues);
	mail_queue_close(&mq);
	return problems ? 1 : 0;
}
