/*
 * mail_queue - queue names, queue IDs, paths, and moving files between
 * queues.
 *
 * Everything here works relative to a descriptor of the queue directory
 * (openat/renameat), so no path depends on the process's working
 * directory. A path is only ever built from a queue name in the fixed
 * list and an ID that passed mail_queue_id_ok(): IDs arrive from file
 * names, IPC and the command line, and an unchecked "../x" would make
 * every function below a way out of the queue.
 *
 * Queue IDs (the long form): seconds in base 52 (at least 6 digits),
 * microseconds in base 52 (exactly 4 digits), 'z', the file's inode
 * number in base 51. The digits are the 52 ASCII letters and digits that
 * are not vowels, in ASCII order, so IDs never spell words and sort by
 * arrival as strings; base 51 leaves out 'z', so the last 'z' of an ID
 * is always its separator. See doc/queue.md for why they are unique.
 *
 * Queues named in hash_queue_names keep their files in hash_queue_depth
 * levels of one-hex-digit subdirectories chosen by a hash of the ID;
 * they are made on demand.
 */
#ifndef POSTERN_MAIL_QUEUE_H
#define POSTERN_MAIL_QUEUE_H

#include <stdint.h>
#include <sys/types.h>

struct strbuf;

#define MAIL_QUEUE_MAILDROP "maildrop"
#define MAIL_QUEUE_INCOMING "incoming"
#define MAIL_QUEUE_ACTIVE "active"
#define MAIL_QUEUE_DEFERRED "deferred"
#define MAIL_QUEUE_HOLD "hold"
#define MAIL_QUEUE_CORRUPT "corrupt"
#define MAIL_QUEUE_BOUNCE "bounce"
#define MAIL_QUEUE_DEFER "defer"
#define MAIL_QUEUE_TRACE "trace"
#define MAIL_QUEUE_SAVED "saved"
#define MAIL_QUEUE_FLUSH "flush"

/* File modes carry state: a queue file is complete only at 0700. */
#define MAIL_QUEUE_STAT_WRITING 0600
#define MAIL_QUEUE_STAT_READY 0700

/* Longest ID (with room to spare: 11 + 4 + 1 + 12 for 64-bit values). */
#define MAIL_QUEUE_ID_MAX 32
#define MAIL_QUEUE_HASH_DEPTH_MAX 4

/* The digits: base 52 for the time fields, its first 51 for the inode. */
#define MAIL_QUEUE_ID_DIGITS                                                   \
	"0123456789BCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz"
#define MAIL_QUEUE_ID_SEP 'z'

/* Every queue name, NULL-terminated. */
extern const char *const mail_queue_names[];

struct mail_queue_params {
	const char *directory;	/* queue_directory */
	const char *hash_names; /* hash_queue_names */
	int hash_depth;		/* hash_queue_depth */
	int directory_sync;	/* queue_directory_sync */
};

struct mail_queue;

/* Open the queue directory with these settings. NULL and a reason if the
 * directory cannot be opened or a setting is invalid. */
struct mail_queue *mail_queue_open(const struct mail_queue_params *params,
				   struct strbuf *why);
/* The same with main.cf's hash_queue_names, hash_queue_depth and
 * queue_directory_sync: how every daemon and command opens the queue. */
struct mail_queue *mail_queue_open_main(const char *directory,
					struct strbuf *why);
/* Close and free *mqp (set to NULL). */
void mail_queue_close(struct mail_queue **mqp);
/* The descriptor of the queue directory (owned by mq). */
int mail_queue_dirfd(const struct mail_queue *mq);
/* 1 if directory fsyncs are on (queue_directory_sync). */
int mail_queue_sync_enabled(const struct mail_queue *mq);

/* 1 if queue is one of mail_queue_names, else 0. */
int mail_queue_name_ok(const char *queue);
/* 1 if id is a well-formed long queue ID, else 0. Safe on any string. */
int mail_queue_id_ok(const char *id);
/* Decode a queue ID. 0, or -1 if it is not well-formed. */
int mail_queue_id_parse(const char *id, int64_t *sec, long *usec,
			uint64_t *inode);
/* Replace id's content with the ID for this time and inode (sec >= 0,
 * 0 <= usec < 1000000). */
void mail_queue_id_make(struct strbuf *id, int64_t sec, long usec,
			uint64_t inode);

/* Put "queue[/h[/h...]]" (the directory that holds id) into dir, or
 * "queue[/h...]/id" into path. Both relative to the queue directory.
 * -1 and a reason for an unknown queue or a malformed ID. */
int mail_queue_dir(const struct mail_queue *mq, struct strbuf *dir,
		   const char *queue, const char *id, struct strbuf *why);
int mail_queue_path(const struct mail_queue *mq, struct strbuf *path,
		    const char *queue, const char *id, struct strbuf *why);

/* Make the missing hashed subdirectories of the directory that holds
 * queue/id (for files made by name, such as the status logs). 0, or -1
 * and a reason. */
int mail_queue_make_dir(struct mail_queue *mq, const char *queue,
			const char *id, struct strbuf *why);
/* Create a new file in queue: open "queue/<usec>.<pid>" with O_CREAT|
 * O_EXCL|O_NOFOLLOW at the given mode, take its inode, rename it to its
 * queue ID (never over an existing file). The ID goes into id, the open
 * read-write descriptor into *fdp. Nothing is fsynced: the commit that
 * follows syncs the file and its directory. -1, a reason, nothing left
 * behind, on failure. */
int mail_queue_enter(struct mail_queue *mq, const char *queue, mode_t mode,
		     struct strbuf *id, int *fdp, struct strbuf *why);
/* Open queue/id (flags as open(2): O_RDONLY or O_RDWR), refusing symlinks,
 * non-regular files and files with more than one link. fd, or -1 with
 * errno (ENOENT when the file is gone) and a reason. */
int mail_queue_open_file(struct mail_queue *mq, const char *queue,
			 const char *id, int flags, struct strbuf *why);
/* Move id from one queue to another (never over an existing file), then,
 * when queue_directory_sync is on, fsync the new and the old directory.
 * 0, or -1 with errno and a reason. */
int mail_queue_rename(struct mail_queue *mq, const char *old_queue,
		      const char *new_queue, const char *id,
		      struct strbuf *why);
/* The same without the directory fsyncs, for a move whose two outcomes
 * are equally safe: qmgr's incoming/ or deferred/ -> active/ (after a
 * crash, qmgr's first act moves active/ back to incoming/, so a file
 * found under either name is scheduled again). rename(2) itself never
 * leaves a file with no name. */
int mail_queue_rename_unsynced(struct mail_queue *mq, const char *old_queue,
			       const char *new_queue, const char *id,
			       struct strbuf *why);
/* Remove queue/id. Not synced: a removal lost in a crash can only bring a
 * delivered message back, never lose one. 0 or -1 with errno. */
int mail_queue_remove(struct mail_queue *mq, const char *queue, const char *id,
		      struct strbuf *why);
/* fsync the directory that holds queue/id, if queue_directory_sync is on
 * (and the queue's top directory too when it is hashed). 0 or -1. */
int mail_queue_sync_dir(struct mail_queue *mq, const char *queue,
			const char *id, struct strbuf *why);

#endif
