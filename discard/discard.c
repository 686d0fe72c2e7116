/*
 * discard - the discard pseudo delivery agent (Postfix's discard(8));
 * see discard(8).
 *
 * Every recipient of a delivery request is reported delivered and
 * marked done, and the mail goes nowhere: the log line says
 * "status=sent (discarded: TEXT)" with the next hop as the text
 * (transport_maps "spam.example discard:spam trap"), so an admin can
 * always tell a discarded message from a delivered one. A sender who
 * asked for NOTIFY=SUCCESS gets the usual success notice, through
 * deliver_completed() like any agent's.
 */
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

static struct mail_queue *discard_queue;

static void discard_deliver(struct deliver_request *req,
			    struct queue_file *qf, const char *service,
			    void *ctx)
{
	struct strbuf *reason = strbuf_new(STRBUF_NO_MAX);
	struct dsn dsn;

	(void)service;
	(void)ctx;
	if (*req->nexthop)
		strbuf_printf(reason, "discarded: %s", req->nexthop);
	else
		strbuf_puts(reason, "discarded");
	dsn = (struct dsn){
	    .status = "2.0.0",
	    .action = "delivered",
	    .reason = strbuf_str(reason),
	    .dtype = "",
	    .dtext = "",
	    .mtype = "",
	    .mname = "",
	};
	deliver_completed_rest(req, qf, &dsn, "none");
	strbuf_free(&reason);
}

static void discard_service(int fd, const char *service, char **argv)
{
	(void)argv;
	deliver_request_serve(fd, discard_queue, service, discard_deliver,
			      NULL);
}

static void discard_post_jail(const char *service, char **argv)
{
	struct strbuf *why = strbuf_new(STRBUF_NO_MAX);

	(void)service;
	(void)argv;
	if ((discard_queue = mail_queue_open_main(".", why)) == NULL)
		msg_fatal("open queue: %s", strbuf_str(why));
	strbuf_free(&why);
}

int main(int argc, char **argv)
{
	static const struct server_def def = {
	    .name = "discard",
	    .kind = SERVER_SINGLE,
	    .service = discard_service,
	    .post_jail = discard_post_jail,
	};

	mail_server_main(argc, argv, &def);
}
