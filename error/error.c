/*
 * error - the error pseudo delivery agent (Postfix's error(8)); see
 * error(8).
 *
 * Every recipient of a delivery request fails with the next hop as the
 * reason: transport_maps "example.com error:5.1.1 User unknown" gives
 * the next hop "5.1.1 User unknown". A leading RFC 3463 status code is
 * taken from the text: 5.x.x bounces, 4.x.x defers (a "retry"-like
 * use). Without a code the status is 5.0.0, or 4.0.0 when the service
 * is named "retry" (Postfix's retry transport, which runs error(8)).
 *
 * Settling goes through deliver_completed() like any agent's: the
 * bounce (or defer) log record first, then the done mark, one fsync per
 * request, and only then the reply to qmgr. No network, no files but
 * the queue file named in the request.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "deliver_request.h"
#include "dsn.h"
#include "mail_params.h"
#include "mail_queue.h"
#include "mail_server.h"
#include "msg.h"
#include "queue_file.h"
#include "strbuf.h"

static struct mail_queue *error_queue;

/* Split "4.1.1 text" into status and reason; status is def when the text
 * does not start with a well-formed code of class 4 or 5. */
static void error_parse(const char *nexthop, const char *def, char *status,
			size_t len, const char **reason)
{
	size_t n = strcspn(nexthop, " \t");
	char code[DSN_STATUS_MAX];

	snprintf(status, len, "%s", def);
	*reason = nexthop;
	if (n > 0 && n < sizeof(code) &&
	    (nexthop[0] == '4' || nexthop[0] == '5')) {
		memcpy(code, nexthop, n);
		code[n] = 0;
		if (dsn_status_ok(code)) {
			snprintf(status, len, "%s", code);
			*reason = nexthop + n;
			while (isspace((unsigned char)**reason))
				(*reason)++;
		}
	}
	if (**reason == 0)
		*reason = "mail system error";
}

static void error_deliver(struct deliver_request *req, struct queue_file *qf,
			  const char *service, void *ctx)
{
	char status[DSN_STATUS_MAX];
	const char *reason;
	struct dsn dsn;

	(void)ctx;
	error_parse(req->nexthop,
		    strcmp(service, "retry") == 0 ? "4.0.0" : "5.0.0", status,
		    sizeof(status), &reason);
	dsn = (struct dsn){
	    .status = status,
	    .action = status[0] == '4' ? "delayed" : "failed",
	    .reason = reason,
	    .dtype = "",
	    .dtext = "",
	    .mtype = "",
	    .mname = "",
	};
	deliver_completed_rest(req, qf, &dsn, "none");
}

static void error_service(int fd, const char *service, char **argv)
{
	(void)argv;
	deliver_request_serve(fd, error_queue, service, error_deliver, NULL);
}

static void error_post_jail(const char *service, char **argv)
{
	struct strbuf *why = strbuf_new(STRBUF_NO_MAX);

	(void)service;
	(void)argv;
	if ((error_queue = mail_queue_open_main(".", why)) == NULL)
		msg_fatal("open queue: %s", strbuf_str(why));
	strbuf_free(&why);
}

int main(int argc, char **argv)
{
	static const struct server_def def = {
	    .name = "error",
	    .kind = SERVER_SINGLE,
	    .service = error_service,
	    .post_jail = error_post_jail,
	};

	mail_server_main(argc, argv, &def);
}
