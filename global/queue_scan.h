/*
 * queue_scan - list the queue IDs of one queue, hashed subdirectories
 * included, for programs that walk a queue (showq, postern-queue -s).
 *
 * Only names that pass mail_queue_id_ok() are returned (temporary
 * "<usec>.<pid>" names and anything planted are not), sorted, which is
 * arrival order. A directory that is missing is an empty queue.
 */
#ifndef POSTERN_QUEUE_SCAN_H
#define POSTERN_QUEUE_SCAN_H

#include <stddef.h>

struct mail_queue;
struct strbuf;

struct queue_scan_ids {
	char **id;
	size_t count;
};

/* Fill ids with the IDs in queue. 0, or -1 and a reason (errno EACCES
 * when the queue may not be read); ids is valid (perhaps partial) either
 * way and must be freed with queue_scan_free. */
int queue_scan(struct mail_queue *mq, const char *queue,
	       struct queue_scan_ids *ids, struct strbuf *why);
void queue_scan_free(struct queue_scan_ids *ids);

#endif
