/*
 * delivered_to - the Delivered-To: loop check of the final delivery
 * agents (local, pipe with flag D), as Postfix's: a message that already
 * carries "Delivered-To: addr" has been here before, and delivering it
 * again would loop.
 */
#ifndef POSTERN_DELIVERED_TO_H
#define POSTERN_DELIVERED_TO_H

#include <sys/types.h>

struct queue_file;
struct strbuf;

/* Whether the header section of the message in qf (just opened with
 * queue_file_open; its content must start at data_offset) has a
 * Delivered-To: header naming addr, case-insensitively, blanks around
 * the value ignored. Only the headers are read, and each header line is
 * judged by its first 1024 bytes. 1 yes, 0 no, -1 when the file cannot
 * be read (reason in why). */
int delivered_to_seen(struct queue_file *qf, off_t data_offset,
		      const char *addr, struct strbuf *why);

#endif
