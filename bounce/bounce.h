/*
 * bounce - internal interfaces of the bounce daemon (see bounce(8)).
 */
#ifndef POSTERN_BOUNCE_H
#define POSTERN_BOUNCE_H

#include "bounce_clnt.h"

struct mail_queue;
struct strbuf;

/* The queue directory, opened once after the privilege drop. */
extern struct mail_queue *bounce_queue;

/* Carry out a FLUSH, EXPIRE, WARN or TRACE request for msg: build the
 * notification(s) it calls for, queue them through cleanup, then remove
 * the logs the request consumes. 0 when done (also when no notice was
 * due), -1 and a reason when the caller must try again later (nothing
 * has been removed then). */
int bounce_notify(enum bounce_request req, const struct bounce_msg *msg,
		  struct strbuf *why);

#endif
