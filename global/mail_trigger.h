/*
 * mail_trigger - wake a trigger service (qmgr, pickup) without waiting.
 *
 * A trigger is a few bytes written to the service's fifo or UNIX stream
 * socket, with no reply. Senders never block on it: a service that is
 * busy or down gets its periodic wakeup from master anyway, so a lost
 * trigger costs latency, never mail.
 */
#ifndef POSTERN_MAIL_TRIGGER_H
#define POSTERN_MAIL_TRIGGER_H

#include <stddef.h>

struct strbuf;

/* qmgr's service and its requests (qmgr(8) TRIGGERS). */
#define QMGR_SERVICE_PATH "public/qmgr"
#define QMGR_REQ_WAKEUP		'W' /* look at incoming/ (cleanup, master) */
#define QMGR_REQ_SCAN_INCOMING	'I'
#define QMGR_REQ_SCAN_DEFERRED	'D' /* deferred/ files whose time has come */
#define QMGR_REQ_SCAN_ALL	'A' /* with D: ignore the retry times */
#define QMGR_REQ_FLUSH_DEAD	'F' /* forget dead destinations */

/* Send buf[0..len) to the trigger service at path (a fifo or a UNIX
 * stream socket; relative paths are to the current directory, which is
 * queue_directory in daemons). Never blocks. 0, or -1 and a reason. */
int mail_trigger(const char *path, const char *buf, size_t len,
		 struct strbuf *why);

#endif
