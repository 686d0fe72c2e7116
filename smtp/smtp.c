/*
 * smtp - the postern SMTP and LMTP delivery agent (see smtp(8)).
 *
 * One program, two protocols: invoked as "lmtp" (master.cf command
 * "lmtp", or the service name lmtp) it speaks LMTP (RFC 2033) and reads
 * the lmtp_* parameters; otherwise SMTP and the smtp_* parameters.
 *
 * One delivery request per connection from qmgr (SERVER_SINGLE on the
 * mail_server skeleton, master.cf "smtp unix - - n - - smtp"):
 *   1. deliver_request_read: the message and a batch of recipients for
 *      one next hop;
 *   2. a session with the next hop: the one cached by this process if it
 *      serves the same next hop and still answers RSET, else a new one
 *      (smtp_connect.c: MX and address lookup, connect, EHLO);
 *   3. the mail transaction (smtp_proto.c), which settles every
 *      recipient with deliver_completed(): marked done and logged when
 *      the server took it, in the bounce or defer log otherwise;
 *   4. queue_file_sync once, then deliver_request_reply to qmgr.
 * qmgr hears only after the queue file and the status logs say the same
 * thing, so either side may crash at any point without losing a
 * recipient (doc/queue.md: at least once).
 *
 * Connection reuse: with smtp_connection_cache_on_demand, a session that
 * ends cleanly stays open, in this process only, for
 * smtp_connection_cache_time_limit seconds (an event timer on the
 * skeleton's loop sends QUIT when it runs out), and at most
 * smtp_connection_reuse_count_limit more requests use it. A process that
 * exits (max_idle, max_use, reload) says QUIT first.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "deliver_request.h"
#include "events.h"
#include "mail_conf.h"
#include "mail_params.h"
#include "mail_queue.h"
#include "mail_server.h"
#include "msg.h"
#include "mymalloc.h"
#include "queue_file.h"
#include "smtp.h"
#include "strbuf.h"

/* The longest QUIT wait when a cached session is given up. */
#define SMTP_CACHE_QUIT_TIMEOUT 5

struct smtp_params smtp_params;
struct mail_queue *smtp_queue;

/* The one cached session of this process, or NULL. */
static struct smtp_session *smtp_cache;

static void smtp_cache_drop(void)
{
	int timeout = smtp_params.quit_timeout;

	if (smtp_cache == NULL)
		return;
	if (timeout <= 0 || timeout > SMTP_CACHE_QUIT_TIMEOUT)
		timeout = SMTP_CACHE_QUIT_TIMEOUT;
	smtp_proto_quit(smtp_cache, timeout);
	smtp_session_free(&smtp_cache);
}

static void smtp_cache_expire(void *ctx)
{
	(void)ctx;
	if (msg_verbose && smtp_cache != NULL)
		msg_info("closing cached session with %s", smtp_cache->relay);
	smtp_cache_drop();
}

static void smtp_cache_atexit(void)
{
	events_timer_cancel(smtp_cache_expire, NULL);
	smtp_cache_drop();
}

/* A cached session for nexthop that still answers, or NULL. */
static struct smtp_session *smtp_cache_take(const char *nexthop)
{
	struct smtp_session *sess = smtp_cache;

	if (sess == NULL)
		return NULL;
	events_timer_cancel(smtp_cache_expire, NULL);
	if (strcmp(sess->key, nexthop) != 0 ||
	    (smtp_params.reuse_limit > 0 &&
	     sess->reuse_count >= smtp_params.reuse_limit)) {
		smtp_cache_drop();
		return NULL;
	}
	smtp_cache = NULL;
	if (smtp_proto_rset(sess) < 0) {
		msg_info("cached session with %s is gone: %s", sess->relay,
			 strbuf_str(sess->why));
		smtp_session_free(&sess);
		return NULL;
	}
	sess->reuse_count++;
	return sess;
}

/* After a request: keep the session for the next one, or close it. */
static void smtp_cache_put(struct smtp_session *sess)
{
	if (!sess->broken && smtp_params.cache_on_demand &&
	    smtp_params.cache_time_limit > 0 &&
	    (smtp_params.reuse_limit == 0 ||
	     sess->reuse_count < smtp_params.reuse_limit)) {
		smtp_cache_drop();
		smtp_cache = sess;
		events_timer(smtp_cache_expire, NULL,
			     smtp_params.cache_time_limit);
		return;
	}
	smtp_proto_quit(sess, smtp_params.quit_timeout);
	smtp_session_free(&sess);
}

static void smtp_deliver(struct deliver_request *req, struct queue_file *qf)
{
	struct smtp_fail fail = {.reason = strbuf_new(STRBUF_NO_MAX),
				 .dtext = strbuf_new(STRBUF_NO_MAX)};
	struct smtp_session *sess;

	sess = smtp_cache_take(req->nexthop);
	if (sess == NULL)
		sess = smtp_connect_nexthop(req->nexthop, req->queue_id, &fail);
	if (sess == NULL) {
		struct dsn dsn = {
		    .status = fail.dsn[0] ? fail.dsn : "4.4.1",
		    .action = fail.dsn[0] == '5' ? "failed" : "delayed",
		    .reason = strbuf_len(fail.reason) ? strbuf_str(fail.reason)
						      : "no server answered",
		    .dtype = strbuf_len(fail.dtext) ? "smtp" : "",
		    .dtext = strbuf_str(fail.dtext),
		    .mtype = fail.mname[0] ? "dns" : "",
		    .mname = fail.mname,
		};

		deliver_completed_rest(req, qf, &dsn, "none");
		if (fail.site)
			deliver_request_site_fail(req, dsn.status, dsn.reason);
		goto out;
	}
	if (sess->key == NULL)
		sess->key = mystrdup(req->nexthop);
	req->conn_us = deliver_now_us();
	smtp_proto_xfer(sess, req, qf);
	smtp_cache_put(sess);
out:
	strbuf_free(&fail.reason);
	strbuf_free(&fail.dtext);
}

static void smtp_deliver_request(struct deliver_request *req,
				 struct queue_file *qf, const char *service,
				 void *ctx)
{
	(void)service;
	(void)ctx;
	smtp_deliver(req, qf);
}

static void smtp_service(int fd, const char *service, char **argv)
{
	(void)argv;
	deliver_request_serve(fd, smtp_queue, service, smtp_deliver_request,
			      NULL);
}

static int smtp_list_has(const char *value, const char *word)
{
	char **list = conf_list_split(value);
	int found = 0;

	for (char **p = list; *p; p++)
		if (strcasecmp(*p, word) == 0)
			found = 1;
	conf_list_free(&list);
	return found;
}

/* smtp_* or lmtp_*: one table of pointers, so the code never asks. */
static void smtp_params_init(int lmtp)
{
	struct smtp_params *p = &smtp_params;
	const char *level;

	p->lmtp = lmtp;
	p->proto = lmtp ? "LMTP" : "SMTP";
	if (lmtp) {
		p->helo_name = var_lmtp_lhlo_name;
		p->connect_timeout = var_lmtp_connect_timeout;
		p->helo_timeout = var_lmtp_lhlo_timeout;
		p->mail_timeout = var_lmtp_mail_timeout;
		p->rcpt_timeout = var_lmtp_rcpt_timeout;
		p->data_init_timeout = var_lmtp_data_init_timeout;
		p->data_xfer_timeout = var_lmtp_data_xfer_timeout;
		p->data_done_timeout = var_lmtp_data_done_timeout;
		p->quit_timeout = var_lmtp_quit_timeout;
		p->rset_timeout = var_lmtp_rset_timeout;
		p->bind_address = var_lmtp_bind_address;
		p->bind_address6 = var_lmtp_bind_address6;
		p->cache_on_demand = var_lmtp_connection_cache_on_demand;
		p->cache_time_limit = var_lmtp_connection_cache_time_limit;
		p->reuse_limit = var_lmtp_connection_reuse_count_limit;
		p->line_length_limit = var_lmtp_line_length_limit;
		p->skip_5xx_greeting = var_lmtp_skip_5xx_greeting;
		level = var_lmtp_dns_support_level;
		p->lookup_dns = smtp_list_has(var_lmtp_host_lookup, "dns");
		p->lookup_native =
		    smtp_list_has(var_lmtp_host_lookup, "native");
		p->fallback_relay = "";
		p->default_port = var_lmtp_tcp_port;
		p->mx_address_limit = var_smtp_mx_address_limit;
		p->mx_session_limit = var_smtp_mx_session_limit;
	} else {
		p->helo_name = var_smtp_helo_name;
		p->connect_timeout = var_smtp_connect_timeout;
		p->helo_timeout = var_smtp_helo_timeout;
		p->mail_timeout = var_smtp_mail_timeout;
		p->rcpt_timeout = var_smtp_rcpt_timeout;
		p->data_init_timeout = var_smtp_data_init_timeout;
		p->data_xfer_timeout = var_smtp_data_xfer_timeout;
		p->data_done_timeout = var_smtp_data_done_timeout;
		p->quit_timeout = var_smtp_quit_timeout;
		p->rset_timeout = var_smtp_rset_timeout;
		p->bind_address = var_smtp_bind_address;
		p->bind_address6 = var_smtp_bind_address6;
		p->cache_on_demand = var_smtp_connection_cache_on_demand;
		p->cache_time_limit = var_smtp_connection_cache_time_limit;
		p->reuse_limit = var_smtp_connection_reuse_count_limit;
		p->line_length_limit = var_smtp_line_length_limit;
		p->skip_5xx_greeting = var_smtp_skip_5xx_greeting;
		level = var_smtp_dns_support_level;
		p->lookup_dns = smtp_list_has(var_smtp_host_lookup, "dns");
		p->lookup_native =
		    smtp_list_has(var_smtp_host_lookup, "native");
		p->fallback_relay = var_smtp_fallback_relay;
		p->default_port = "25";
		p->mx_address_limit = var_smtp_mx_address_limit;
		p->mx_session_limit = var_smtp_mx_session_limit;
	}
	if (strcasecmp(level, "disabled") == 0) {
		p->dns_enabled = 0;
	} else {
		if (*level && strcasecmp(level, "enabled") != 0 &&
		    strcasecmp(level, "dnssec") != 0)
			msg_warn("unknown %s_dns_support_level \"%s\"; using "
				 "enabled",
				 lmtp ? "lmtp" : "smtp", level);
		p->dns_enabled = 1;
	}
	if (!p->lookup_dns && !p->lookup_native) {
		msg_warn("%s_host_lookup names neither dns nor native; using "
			 "dns",
			 lmtp ? "lmtp" : "smtp");
		p->lookup_dns = 1;
	}
	p->want_ipv4 = smtp_list_has(var_inet_protocols, "all") ||
		       smtp_list_has(var_inet_protocols, "ipv4");
	p->want_ipv6 = smtp_list_has(var_inet_protocols, "all") ||
		       smtp_list_has(var_inet_protocols, "ipv6");
	if (!p->want_ipv4 && !p->want_ipv6) {
		msg_warn("inet_protocols \"%s\" names no protocol; using ipv4",
			 var_inet_protocols);
		p->want_ipv4 = 1;
	}
}

static int smtp_is_lmtp;

/* The queue directory is our working directory (master chdir'ed there). */
static void smtp_post_jail(const char *service, char **argv)
{
	struct strbuf *why = strbuf_new(STRBUF_NO_MAX);

	(void)argv;
	if (strcmp(service, "lmtp") == 0)
		smtp_is_lmtp = 1;
	smtp_params_init(smtp_is_lmtp);
	if ((smtp_queue = mail_queue_open_main(".", why)) == NULL)
		msg_fatal("open queue: %s", strbuf_str(why));
	strbuf_free(&why);
	srandom((unsigned)time(NULL) ^ (unsigned)getpid());
	atexit(smtp_cache_atexit);
}

int main(int argc, char **argv)
{
	static struct server_def def = {
	    .name = "smtp",
	    .kind = SERVER_SINGLE,
	    .service = smtp_service,
	    .post_jail = smtp_post_jail,
	};
	const char *base = argc > 0 ? strrchr(argv[0], '/') : NULL;

	base = base ? base + 1 : (argc > 0 ? argv[0] : "smtp");
	if (strcmp(base, "lmtp") == 0) {
		smtp_is_lmtp = 1;
		def.name = "lmtp";
	}
	mail_server_main(argc, argv, &def);
}
