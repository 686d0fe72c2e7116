/*
 * virtual - the postern virtual mailbox delivery agent (Postfix's
 * virtual(8)); see virtual(8).
 *
 * One delivery request per connection from qmgr, master.cf
 * "virtual unix - n n - - virtual": privileged, so that it can take the
 * uid and gid of each mailbox. For each recipient:
 *   1. virtual_mailbox_maps, with the address, then @domain: the mailbox
 *      path under virtual_mailbox_base ("example.com/bob/" with a
 *      trailing slash is a Maildir, otherwise an mbox file); not found
 *      bounces 5.1.1;
 *   2. virtual_uid_maps and virtual_gid_maps, the same keys (static:N
 *      works): the owner; a uid under virtual_minimum_uid defers (a
 *      configuration error must not hand mail to a system account);
 *   3. a child process becomes that uid and gid (setgroups, setgid,
 *      setuid, no way back) and only then opens, creates or locks
 *      anything (mailbox.c: O_NOFOLLOW, owner checks, truncate back on
 *      failure, Maildir link into new/).
 * No aliases, .forward files, files or commands: those are local(8)'s.
 * A table that fails defers, never bounces.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "deliver_request.h"
#include "dict.h"
#include "dsn.h"
#include "mail_params.h"
#include "mail_queue.h"
#include "mail_server.h"
#include "mailbox.h"
#include "maps.h"
#include "msg.h"
#include "mymalloc.h"
#include "priv.h"
#include "queue_file.h"
#include "strbuf.h"

static struct mail_queue *virtual_queue;
static struct maps *mailbox_maps, *uid_maps, *gid_maps;
static char *maps_error; /* a table that could not be opened */

/* Look addr up in maps, then @domain. DICT_* and a copy in *value. */
static int lookup(struct maps *maps, const char *addr, char **value,
		  struct strbuf *why)
{
	const char *v = NULL, *at = strrchr(addr, '@');
	int rc = maps_find(maps, addr, &v, why);

	if (rc == DICT_NOTFOUND && at)
		rc = maps_find(maps, at, &v, why);
	*value = rc == DICT_FOUND ? mystrdup(v) : NULL;
	return rc;
}

static int parse_id(const char *s, long *id)
{
	char *end;

	errno = 0;
	*id = strtol(s, &end, 10);
	return errno == 0 && end != s && *end == 0 && *id >= 0 ? 0 : -1;
}

/* The child: become uid/gid, deliver, report through the exit status
 * and the pipe (status NUL reason). */
static void child(int wfd, struct deliver_request *req, size_t i,
		  struct queue_file *qf, const char *path, uid_t uid, gid_t gid)
{
	struct strbuf *why = strbuf_new(STRBUF_NO_MAX);
	struct mailbox_opts opts = {
	    .uid = uid,
	    .gid = gid,
	    .locks =
		(strstr(var_virtual_mailbox_lock, "fcntl") ? MAILBOX_LOCK_FCNTL
							   : 0) |
		(strstr(var_virtual_mailbox_lock, "dotlock")
		     ? MAILBOX_LOCK_DOTLOCK
		     : 0),
	    .size_limit = var_virtual_mailbox_limit,
	    .lock_attempts = var_deliver_lock_attempts,
	    .stale_lock_time = var_stale_lock_time,
	    .make_parents = 1,
	};
	struct mailbox_msg mm = {
	    .qf = qf,
	    .data_offset = req->data_offset,
	    .queue_id = req->queue_id,
	    .sender = req->sender,
	    .recipient = req->rcpt[i].address,
	};
	char status[DSN_STATUS_MAX] = "2.0.0";
	size_t len = strlen(path);
	int rc;

	signal(SIGXFSZ, SIG_IGN);
	if (geteuid() == 0)
		priv_drop_ids(uid, gid);
	rc = path[len - 1] == '/'
		 ? mailbox_maildir(path, &opts, &mm, status, why)
		 : mailbox_mbox(path, &opts, &mm, status, why);
	if (rc == MAILBOX_OK)
		strbuf_set(why, "delivered to mailbox");
	if (write(wfd, status, strlen(status) + 1) < 0 ||
	    write(wfd, strbuf_str(why), strbuf_len(why)) < 0)
		_exit(1);
	_exit(0);
}

/* Deliver recipient i; fills status and reason. */
static void deliver_one(struct deliver_request *req, size_t i, char *status,
			struct strbuf *reason)
{
	const char *addr = req->rcpt[i].address;
	struct strbuf *why = strbuf_new(STRBUF_NO_MAX);
	struct strbuf *path = strbuf_new(STRBUF_NO_MAX);
	char *box = NULL, *uids = NULL, *gids = NULL;
	struct queue_file *qf = NULL;
	long uid, gid;
	int rc, fds[2], wstatus;
	pid_t pid;

#define RESULT(st, ...)                                                        \
	do {                                                                   \
		snprintf(status, DSN_STATUS_MAX, "%s", st);                    \
		strbuf_reset(reason);                                          \
		strbuf_printf(reason, __VA_ARGS__);                            \
		goto out;                                                      \
	} while (0)

	if (maps_error)
		RESULT("4.3.0", "%s", maps_error);
	if ((rc = lookup(mailbox_maps, addr, &box, why)) == DICT_ERROR)
		RESULT("4.3.0", "%s", strbuf_str(why));
	if (rc == DICT_NOTFOUND)
		RESULT("5.1.1", "unknown user: \"%s\"", addr);
	if ((rc = lookup(uid_maps, addr, &uids, why)) == DICT_ERROR)
		RESULT("4.3.0", "%s", strbuf_str(why));
	if (rc == DICT_NOTFOUND || parse_id(uids, &uid) < 0)
		RESULT("4.3.5", "no valid uid for %s in virtual_uid_maps",
		       addr);
	if (uid < var_virtual_minimum_uid)
		RESULT("4.3.5", "uid %ld for %s is below virtual_minimum_uid",
		       uid, addr);
	if ((rc = lookup(gid_maps, addr, &gids, why)) == DICT_ERROR)
		RESULT("4.3.0", "%s", strbuf_str(why));
	if (rc == DICT_NOTFOUND || parse_id(gids, &gid) < 0)
		RESULT("4.3.5", "no valid gid for %s in virtual_gid_maps",
		       addr);
	if (*box == 0 || strstr(box, "..") || box[0] == '/')
		RESULT("4.3.5", "bad mailbox path \"%s\" for %s", box, addr);
	if (*var_virtual_mailbox_base != '/')
		RESULT("4.3.5", "virtual_mailbox_base is not an absolute path");
	strbuf_printf(path, "%s/%s", var_virtual_mailbox_base, box);
	if (queue_file_open(virtual_queue, req->queue_name, req->queue_id, 0,
			    &qf, why) != QUEUE_FILE_OK)
		RESULT("4.3.0", "%s", strbuf_str(why));
	if (pipe2(fds, O_CLOEXEC) < 0)
		RESULT("4.3.0", "mail system error: no pipe");
	if ((pid = fork()) < 0) {
		close(fds[0]);
		close(fds[1]);
		RESULT("4.3.0", "mail system error: cannot fork");
	}
	if (pid == 0) {
		close(fds[0]);
		child(fds[1], req, i, qf, strbuf_str(path), (uid_t)uid,
		      (gid_t)gid);
	}
	close(fds[1]);
	{
		char buf[2048];
		size_t got = 0;
		ssize_t n;

		while (got < sizeof(buf) - 1 &&
		       (n = read(fds[0], buf + got, sizeof(buf) - 1 - got)) !=
			   0) {
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				break;
			got += (size_t)n;
		}
		buf[got] = 0;
		close(fds[0]);
		while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR)
			;
		if (!WIFEXITED(wstatus) || WEXITSTATUS(wstatus) != 0 ||
		    !dsn_status_ok(buf) || strlen(buf) + 1 > got)
			RESULT("4.3.0", "mail system error: delivery process "
					"failed");
		if (strlen(buf) >= DSN_STATUS_MAX)
			RESULT("4.3.0", "mail system error: bad status");
		memcpy(status, buf, strlen(buf) + 1);
		strbuf_reset(reason);
		/* UNSAFE: strlen(buf) + 1 <= got, inside buf (NUL at got). */
		strbuf_puts(reason, buf + strlen(buf) + 1);
		goto out;
	}
out:
	if (qf)
		queue_file_close(&qf);
	myfree(box);
	myfree(uids);
	myfree(gids);
	strbuf_free(&path);
	strbuf_free(&why);
#undef RESULT
}

static void virtual_deliver(struct deliver_request *req,
			    struct queue_file *qf, const char *service,
			    void *ctx)
{
	struct strbuf *reason = strbuf_new(STRBUF_NO_MAX);
	char status[DSN_STATUS_MAX];

	(void)service;
	(void)ctx;
	for (size_t i = 0; i < req->rcpt_count; i++) {
		struct dsn dsn;

		deliver_one(req, i, status, reason);
		dsn = (struct dsn){
		    .status = status,
		    .action = status[0] == '2'	 ? "delivered"
			      : status[0] == '4' ? "delayed"
						 : "failed",
		    .reason = strbuf_str(reason),
		    .dtype = "",
		    .dtext = "",
		    .mtype = "",
		    .mname = "",
		};
		deliver_completed(req, i, qf, &dsn, "virtual", 0);
	}
	strbuf_free(&reason);
}

static void virtual_service(int fd, const char *service, char **argv)
{
	(void)argv;
	deliver_request_serve(fd, virtual_queue, service, virtual_deliver,
			      NULL);
}

static struct maps *open_maps(const char *param, const char *value)
{
	char *err = NULL;
	struct maps *maps = maps_open(param, value, &err);

	if (err && !maps_error) {
		msg_warn("%s", err);
		maps_error = err; /* every delivery defers until fixed */
	} else {
		myfree(err);
	}
	return maps;
}

static void virtual_post_jail(const char *service, char **argv)
{
	struct mail_queue_params params = {
	    .directory = ".",
	    .hash_names = var_hash_queue_names,
	    .hash_depth = var_hash_queue_depth,
	    .directory_sync = var_queue_directory_sync,
	};
	struct strbuf *why = strbuf_new(STRBUF_NO_MAX);

	(void)service;
	(void)argv;
	if ((virtual_queue = mail_queue_open(&params, why)) == NULL)
		msg_fatal("open queue: %s", strbuf_str(why));
	mailbox_maps =
	    open_maps("virtual_mailbox_maps", var_virtual_mailbox_maps);
	uid_maps = open_maps("virtual_uid_maps", var_virtual_uid_maps);
	gid_maps = open_maps("virtual_gid_maps", var_virtual_gid_maps);
	strbuf_free(&why);
}

int main(int argc, char **argv)
{
	static const struct server_def def = {
	    .name = "virtual",
	    .kind = SERVER_SINGLE,
	    .service = virtual_service,
	    .post_jail = virtual_post_jail,
	    .privileged = 1,
	};

	mail_server_main(argc, argv, &def);
}
