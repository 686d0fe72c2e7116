/*
 * showq_clnt - the queue listing protocol between showq(8) and
 * postern-queue(1) (mailq).
 *
 * Conversation, on one connection to public/showq (reachable by the
 * setgid group, so that users can list the queue); the client sends
 * nothing:
 *   1. server -> client: handshake  protocol=mail_queue_list_protocol
 *   2. server -> client, per message: one list kind=message (queue_name,
 *      queue_id, arrival_time, message_size, file_size, forced_expire,
 *      sender, rcpt_count), then rcpt_count lists kind=recipient
 *      (address, delay_reason when the defer log has one);
 *   3. server -> client: one list kind=end.
 * A connection that closes before kind=end is an error, never a short
 * listing that looks complete. Every list is checked against the schema
 * (showq_schema) and the message/recipient rules below.
 */
#ifndef POSTERN_SHOWQ_CLNT_H
#define POSTERN_SHOWQ_CLNT_H

#include <stddef.h>
#include <stdint.h>

#include "attr.h"

struct strbuf;

#define SHOWQ_PROTOCOL "mail_queue_list_protocol"
#define SHOWQ_SERVICE_PATH "public/showq"
/* Most recipients of one message in a listing (the rest are left out). */
#define SHOWQ_RCPT_MAX 10000

enum {
	SHOWQ_ATTR_KIND,
	SHOWQ_ATTR_QUEUE_NAME,
	SHOWQ_ATTR_QUEUE_ID,
	SHOWQ_ATTR_ARRIVAL,
	SHOWQ_ATTR_SIZE,
	SHOWQ_ATTR_FILE_SIZE,
	SHOWQ_ATTR_FORCED_EXPIRE,
	SHOWQ_ATTR_SENDER,
	SHOWQ_ATTR_RCPT_COUNT,
	SHOWQ_ATTR_ADDRESS,
	SHOWQ_ATTR_DELAY_REASON,
	SHOWQ_ATTR_COUNT
};
extern const struct attr_schema showq_schema;

struct showq_rcpt {
	char *address;
	char *delay_reason; /* "" when none */
};

struct showq_msg {
	char *queue_name;
	char *queue_id;
	int64_t arrival_time; /* seconds since the epoch */
	int64_t message_size; /* content bytes */
	int64_t file_size;    /* bytes on disk */
	int forced_expire;
	char *sender; /* "" for the null sender */
	size_t rcpt_count;
	struct showq_rcpt *rcpt;
};

struct showq_clnt;

/* Connect to the showq service at path and check the handshake. NULL and
 * a reason on failure. */
struct showq_clnt *showq_clnt_open(const char *path, int timeout,
				   struct strbuf *why);
/* The next message: 1 and *msg (free with showq_msg_free); 0 at the end
 * of the listing; -1 and a reason on a malformed or cut listing. */
int showq_clnt_next(struct showq_clnt *sc, struct showq_msg *msg,
		    struct strbuf *why);
void showq_msg_free(struct showq_msg *msg);
void showq_clnt_close(struct showq_clnt **scp);

#endif
