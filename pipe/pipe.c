/*
 * pipe - the postern pipe delivery agent: hands mail to an external
 * command (see pipe(8)).
 *
 * master.cf: "dovecot unix - n n - - pipe flags=DRhu user=vmail
 * argv=/usr/lib/dovecot/dovecot-lda -f ${sender} -d ${recipient}". The
 * arguments are parsed once at start-up (pipe_args.c); a bad one is a
 * fatal configuration error, so the service is throttled and logged
 * instead of bouncing mail.
 *
 * One delivery request per connection from qmgr (SERVER_SINGLE):
 *   1. deliver_request_read: the message and the batch of recipients;
 *   2. checks that need no command: a D or O flag with more than one
 *      recipient (a configuration error, deferred), size=, and the
 *      Delivered-To loop check of the D flag;
 *   3. the command: argv= expanded word by word (pipe_expand), run as
 *      the user= account (pipe_command.c) with the prepended headers and
 *      the message on stdin, killed at <service>_time_limit;
 *   4. its exit status, mapped as sysexits.h says, settles every
 *      recipient of the request the same way (deliver_completed), with
 *      the command's output in the reason;
 *   5. queue_file_sync once, then deliver_request_reply.
 *
 * Privileges: the service runs as root (master.cf unpriv "n"; the skeleton
 * refuses anything else) only so that it can become user=. user= may not
 * be root nor mail_owner (which owns the queue). Nothing is read or run
 * as root on behalf of a message: the process itself only reads the queue
 * file; the fork()ed child drops to user= before it looks at anything,
 * changes to directory= as that user, and exec()s argv directly.
 */
#include <ctype.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "deliver_request.h"
#include "delivered_to.h"
#include "dsn.h"
#include "mail_conf.h"
#include "mail_params.h"
#include "mail_queue.h"
#include "mail_server.h"
#include "msg.h"
#include "mymalloc.h"
#include "pipe.h"
#include "priv.h"
#include "queue_file.h"
#include "strbuf.h"

/* How much of the command's output we keep, and show in a reason. */
#define PIPE_OUTPUT_MAX 2048
#define PIPE_REASON_OUTPUT_MAX 800

static struct mail_queue *pipe_queue;
static struct pipe_attr pipe_attr;
static uid_t pipe_uid;
static gid_t pipe_gid;
static char **pipe_envp;
static int pipe_time_limit;

/* --- the message on the command's stdin --- */

struct feed {
	struct queue_file *qf;
	const struct deliver_request *req;
	struct strbuf *head; /* prepended headers, written first */
	int state;	     /* 0 headers, 2 content, 3 done */
	size_t col;	     /* bytes of the current line written so far */
	struct strbuf *why;
};

static int feed_more(void *ctx, struct strbuf *buf)
{
	struct feed *f = ctx;
	const char *eol = pipe_attr.eol;
	struct queue_rec rec;

	if (f->state == 0) {
		(void)strbuf_append(buf, strbuf_str(f->head),
				    strbuf_len(f->head));
		if (queue_file_to_content(f->qf, f->req->data_offset,
					  f->why) != QUEUE_FILE_OK)
			return -1;
		f->state = 2;
		return 0;
	}
	/* A few records per call: the caller asks again while its buffer
	 * has room. */
	for (int n = 0; n < 64 && f->state < 3; n++) {
		if (queue_file_read_content(f->qf, &rec, f->why) !=
		    QUEUE_FILE_OK)
			return -1;
		if (rec.type == REC_TYPE_XTRA) {
			/* A last line cut without its end still ends. */
			if (f->col > 0)
				(void)strbuf_puts(buf, eol);
			if (pipe_attr.flags & PIPE_FLAG_BLANK)
				(void)strbuf_puts(buf, eol);
			f->state = 3;
			break;
		}
		if (f->col == 0) {
			if ((pipe_attr.flags & PIPE_FLAG_DOT) && rec.len > 0 &&
			    rec.data[0] == '.')
				(void)strbuf_putc(buf, '.');
			if ((pipe_attr.flags & PIPE_FLAG_QUOTE_FROM) &&
			    rec.len >= 5 && memcmp(rec.data, "From ", 5) == 0)
				(void)strbuf_putc(buf, '>');
		}
		(void)strbuf_append(buf, rec.data, rec.len);
		f->col += rec.len;
		if (rec.type == REC_TYPE_NORM) {
			(void)strbuf_puts(buf, eol);
			f->col = 0;
		}
	}
	return f->state == 3;
}

/* --- checks before the command --- */

/* Does the message already carry "Delivered-To: addr"? (the D flag's
 * loop check). -1 on a read error. */
static int pipe_loop_check(const struct deliver_request *req,
			   const char *addr, struct strbuf *why)
{
	struct queue_file *qf = NULL;
	int found;

	if (queue_file_open(pipe_queue, req->queue_name, req->queue_id, 0,
			    &qf, why) != QUEUE_FILE_OK)
		return -1;
	found = delivered_to_seen(qf, req->data_offset, addr, why);
	queue_file_close(&qf);
	return found;
}

/* The command's output as one line for a delivery status: printable
 * ASCII, white space folded to one space, at most max bytes. */
static void pipe_output_text(const struct strbuf *output, size_t max,
			     struct strbuf *out)
{
	int space = 1;
	size_t start = strbuf_len(out);

	for (size_t i = 0; i < strbuf_len(output); i++) {
		unsigned char ch = (unsigned char)output->data[i];

		if (strbuf_len(out) - start >= max) {
			(void)strbuf_puts(out, "...");
			break;
		}
		if (isspace(ch)) {
			if (!space)
				(void)strbuf_putc(out, ' ');
			space = 1;
			continue;
		}
		(void)strbuf_putc(out, ch >= 0x20 && ch < 0x7f ? ch : '?');
		space = 0;
	}
	while (strbuf_len(out) > start && out->data[strbuf_len(out) - 1] == ' ')
		strbuf_truncate(out, strbuf_len(out) - 1);
}

static void settle_all(struct deliver_request *req, struct queue_file *qf,
		       const char *service, const char *status,
		       const char *reason)
{
	struct dsn dsn = {
	    .status = status,
	    .action = status[0] == '2'
			  ? ((pipe_attr.flags & PIPE_FLAG_FINAL) ? "delivered"
								 : "relayed")
			  : status[0] == '4' ? "delayed" : "failed",
	    .reason = reason,
	    .dtype = "",
	    .dtext = "",
	    .mtype = "",
	    .mname = "",
	};

	deliver_completed_rest(req, qf, &dsn, service);
}

/* Run the command for the request and settle its recipients. */
static void pipe_deliver(struct deliver_request *req, struct queue_file *qf,
			 const char *service)
{
	struct strbuf *why = strbuf_new(STRBUF_NO_MAX);
	struct strbuf *reason = strbuf_new(STRBUF_NO_MAX);
	struct strbuf *output = strbuf_new(STRBUF_NO_MAX);
	struct feed feed = {0};
	char **argv = NULL;
	char status[DSN_STATUS_MAX], text[128];
	int wait_status = 0;

	if ((pipe_attr.flags & (PIPE_FLAG_DELIVERED | PIPE_FLAG_ORIG)) &&
	    req->rcpt_count > 1) {
		msg_warn("%s: flags D and O need one recipient per delivery: "
			 "set %s_destination_recipient_limit = 1",
			 req->queue_id, service);
		settle_all(req, qf, service, "4.3.5",
			   "mail system configuration error");
		goto out;
	}
	if (pipe_attr.size_limit > 0 && req->data_size > pipe_attr.size_limit) {
		settle_all(req, qf, service, "5.2.3", "message too large");
		goto out;
	}
	if (pipe_attr.flags & PIPE_FLAG_DELIVERED) {
		struct strbuf *addr = strbuf_new(STRBUF_NO_MAX);
		int loop;

		pipe_rcpt_text(&pipe_attr, req->rcpt[0].address, addr);
		loop = pipe_loop_check(req, strbuf_str(addr), why);
		if (loop < 0) {
			msg_warn("%s: %s", req->queue_id, strbuf_str(why));
			settle_all(req, qf, service, "4.3.0",
				   "mail system error: cannot read the queue "
				   "file");
		} else if (loop > 0) {
			strbuf_printf(reason, "mail forwarding loop for %s",
				      strbuf_str(addr));
			settle_all(req, qf, service, "5.4.6",
				   strbuf_str(reason));
		}
		strbuf_free(&addr);
		if (loop != 0)
			goto out;
	}
	if ((argv = pipe_expand(&pipe_attr, req, var_recipient_delimiter,
				why)) == NULL) {
		msg_warn("%s: %s", req->queue_id, strbuf_str(why));
		settle_all(req, qf, service, "4.3.5",
			   "mail system configuration error");
		goto out;
	}
	feed.req = req;
	feed.why = strbuf_new(STRBUF_NO_MAX);
	feed.head = strbuf_new(STRBUF_NO_MAX);
	pipe_headers(&pipe_attr, req, 0, time(NULL), feed.head);
	if (queue_file_open(pipe_queue, req->queue_name, req->queue_id, 0,
			    &feed.qf, why) != QUEUE_FILE_OK) {
		msg_warn("%s: %s", req->queue_id, strbuf_str(why));
		settle_all(req, qf, service, "4.3.0",
			   "mail system error: cannot read the queue file");
		goto out;
	}

	struct pipe_run run = {
	    .argv = argv,
	    .envp = pipe_envp,
	    .uid = pipe_uid,
	    .gid = pipe_gid,
	    .directory = pipe_attr.directory,
	    .time_limit = pipe_time_limit,
	    .output_max = PIPE_OUTPUT_MAX,
	    .feed = feed_more,
	    .feed_ctx = &feed,
	};
	req->conn_us = deliver_now_us();
	switch (pipe_command_run(&run, &wait_status, output, why)) {
	case PIPE_RUN_EXITED:
		if (pipe_exit_status(wait_status, status, sizeof(status), text,
				     sizeof(text)) == 0) {
			strbuf_printf(reason, "delivered via %s service",
				      service);
			snprintf(status, sizeof(status), "2.0.0");
		} else {
			strbuf_puts(reason, text);
		}
		break;
	case PIPE_RUN_TIMEOUT:
		snprintf(status, sizeof(status), "4.3.0");
		strbuf_printf(reason, "Command time limit exceeded: \"%s\"",
			      argv[0]);
		break;
	case PIPE_RUN_FEED_ERROR:
		msg_warn("%s: %s", req->queue_id, strbuf_str(feed.why));
		snprintf(status, sizeof(status), "4.3.0");
		strbuf_puts(reason,
			    "mail system error: cannot read the queue file");
		break;
	case PIPE_RUN_ERROR:
		msg_warn("%s: %s", req->queue_id, strbuf_str(why));
		snprintf(status, sizeof(status), "4.3.0");
		strbuf_puts(reason, "mail system error: cannot run the command");
		break;
	}
	if (status[0] != '2' && strbuf_len(output) > 0) {
		strbuf_puts(reason, ". Command output: ");
		pipe_output_text(output, PIPE_REASON_OUTPUT_MAX, reason);
	}
	settle_all(req, qf, service, status, strbuf_str(reason));
out:
	if (feed.qf != NULL)
		queue_file_close(&feed.qf);
	strbuf_free(&feed.why);
	strbuf_free(&feed.head);
	pipe_argv_free(&argv);
	strbuf_free(&output);
	strbuf_free(&reason);
	strbuf_free(&why);
}

static void pipe_deliver_request(struct deliver_request *req,
				 struct queue_file *qf, const char *service,
				 void *ctx)
{
	(void)ctx;
	pipe_deliver(req, qf, service);
}

static void pipe_service(int fd, const char *service, char **argv)
{
	(void)argv;
	deliver_request_serve(fd, pipe_queue, service, pipe_deliver_request,
			      NULL);
}

/* --- start-up --- */

static void env_add(size_t *n, const char *name, const char *value)
{
	struct strbuf *sb = strbuf_new(STRBUF_NO_MAX);

	strbuf_printf(sb, "%s=%s", name, value);
	pipe_envp[(*n)++] = strbuf_export(sb);
}

/*
 * The command's environment is built from nothing: it is the only
 * thing besides argv the command gets from us. PATH is the system
 * default; HOME, USER, LOGNAME and SHELL describe the user= account;
 * TZ and LANG are passed on from ours (import_environment).
 */
static void pipe_env_init(const struct passwd *pw)
{
	size_t n = 0;
	const char *v;

	pipe_envp = mycalloc(8, sizeof(char *));
	env_add(&n, "PATH", "/usr/bin:/bin");
	env_add(&n, "HOME", pw->pw_dir);
	env_add(&n, "USER", pw->pw_name);
	env_add(&n, "LOGNAME", pw->pw_name);
	env_add(&n, "SHELL", *pw->pw_shell ? pw->pw_shell : "/bin/sh");
	if ((v = getenv("TZ")) != NULL)
		env_add(&n, "TZ", v);
	if ((v = getenv("LANG")) != NULL)
		env_add(&n, "LANG", v);
}

/* While /etc is visible and we are root: the arguments and user=. */
static void pipe_pre_jail(const char *service, char **argv)
{
	struct strbuf *why = strbuf_new(STRBUF_NO_MAX);
	struct passwd *pw;
	uid_t owner_uid;
	gid_t owner_gid;
	const char *value;
	long limit;

	if (pipe_attr_parse(argv, &pipe_attr, why) < 0)
		msg_fatal("service %s: %s", service, strbuf_str(why));
	if ((pw = getpwnam(pipe_attr.user)) == NULL)
		msg_fatal("service %s: user=%s: unknown user", service,
			  pipe_attr.user);
	pipe_uid = pw->pw_uid;
	pipe_gid = pw->pw_gid;
	/* Before the next lookup reuses getpwnam's static result. */
	pipe_env_init(pw);
	if (pipe_attr.group != NULL &&
	    priv_lookup_group(pipe_attr.group, &pipe_gid) < 0)
		msg_fatal("service %s: user=%s:%s: unknown group", service,
			  pipe_attr.user, pipe_attr.group);
	if (pipe_uid == 0 || pipe_gid == 0)
		msg_fatal("service %s: user= must not give root privileges",
			  service);
	/* Only a root master can make us switch; a sandbox instance run by
	 * one user runs everything as that user, mail_owner included. */
	if (geteuid() == 0 &&
	    priv_lookup_user(var_mail_owner, &owner_uid, &owner_gid) == 0 &&
	    owner_uid == pipe_uid)
		msg_fatal("service %s: user=%s is the mail system owner "
			  "(mail_owner); refusing to run commands as it",
			  service, pipe_attr.user);

	pipe_time_limit = var_command_time_limit;
	strbuf_printf(why, "%s_time_limit", service);
	if ((value = mail_conf_eval(strbuf_str(why))) != NULL) {
		if (conf_parse_time(value, 's', &limit) < 0 || limit <= 0 ||
		    limit > 100 * 24 * 3600)
			msg_fatal("bad %s value \"%s\"", strbuf_str(why), value);
		pipe_time_limit = (int)limit;
	}
	if (pipe_time_limit <= 0)
		msg_fatal("command_time_limit must be more than 0");
	strbuf_free(&why);
}

/* The queue directory is our working directory (master chdir'ed there). */
static void pipe_post_jail(const char *service, char **argv)
{
	struct strbuf *why = strbuf_new(STRBUF_NO_MAX);

	(void)service;
	(void)argv;
	if ((pipe_queue = mail_queue_open_main(".", why)) == NULL)
		msg_fatal("open queue: %s", strbuf_str(why));
	strbuf_free(&why);
}

int main(int argc, char **argv)
{
	static const struct server_def def = {
	    .name = "pipe",
	    .kind = SERVER_SINGLE,
	    .service = pipe_service,
	    .pre_jail = pipe_pre_jail,
	    .post_jail = pipe_post_jail,
	    .privileged = 1,
	};

	mail_server_main(argc, argv, &def);
}
