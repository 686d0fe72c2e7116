/*
 * local_run - the steps of local delivery that touch a user's files or
 * run a user's (or an alias's) command. Each runs in a child process
 * that gives up root for the user's uid and gid (priv_drop_ids: setgroups,
 * setgid, setuid, no way back) before it opens anything, so that every
 * permission check the kernel makes is the user's own: a symlink planted
 * in a home directory can lead only where the user could write anyway,
 * and O_NOFOLLOW with the fstat owner checks of mailbox.c refuse even
 * that.
 *
 * The one exception is the mail spool directory (mail_spool_directory,
 * root-owned, not writable by users): there the child stays root to
 * create the mbox file and its dotlock, as Postfix's local does. That is
 * safe because users cannot create or replace names in that directory,
 * and the file is still opened with O_NOFOLLOW and must have one link and
 * belong to the recipient.
 *
 * The queue file is opened by the parent (root) before the fork; the
 * child only reads the descriptor it inherits. A child reports its result
 * through a pipe: the status, a NUL, the text, a NUL, then any data.
 * A child that dies without a report defers the recipient.
 *
 * Commands: /bin/sh -c runs only the command text of the alias,
 * .forward or mailbox_command; envelope data reaches the command through
 * environment variables, never through the shell string.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "deliver_request.h"
#include "local.h"
#include "mail_params.h"
#include "mailbox.h"
#include "msg.h"
#include "mymalloc.h"
#include "priv.h"
#include "queue_file.h"
#include "safe_open.h"
#include "strbuf.h"

/* Largest report a child may send (a .forward or :include: file). */
#define LOCAL_REPORT_MAX (1024 * 1024)
/* Largest part of a command's output kept for the bounce reason. */
#define LOCAL_OUTPUT_MAX 1024

static void set_result(struct local_result *res, const char *status,
		       const char *text)
{
	snprintf(res->status, sizeof(res->status), "%s", status);
	strbuf_set(res->text, text);
}

/* In the child: become p (no-op when not root, as in a sandbox). uid 0
 * reaches here only to read root's own .forward or write root's own
 * mailbox: local.c gives root's commands and files default_privs, and
 * local_run_command refuses uid 0 outright. */
static void child_become(const struct local_privs *p)
{
	if (geteuid() == 0 && p->uid != 0)
		priv_drop_ids(p->uid, p->gid);
}

static void child_report(int fd, const char *status, const char *text,
			 const char *data, size_t len)
{
	struct strbuf *b = strbuf_new(STRBUF_NO_MAX);
	const char *q;
	size_t left;

	strbuf_puts(b, status);
	strbuf_putc(b, 0);
	strbuf_puts(b, text);
	strbuf_putc(b, 0);
	if (data)
		strbuf_append(b, data, len);
	q = strbuf_str(b);
	left = strbuf_len(b);
	while (left > 0) {
		ssize_t n = write(fd, q, left);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		/* UNSAFE: 0 < n <= left. */
		q += n;
		left -= (size_t)n;
	}
	strbuf_free(&b);
}

/* Read the report of child pid from fd and reap it. 0 with res filled
 * (and *data when asked), -1 when it gave none (res says defer). */
static int parent_collect(pid_t pid, int fd, struct local_result *res,
			  char **data, size_t *dlen)
{
	struct strbuf *b = strbuf_new(LOCAL_REPORT_MAX);
	char chunk[4096];
	int wstatus, ok = 0;
	ssize_t n;

	for (;;) {
		n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (strbuf_append(b, chunk, (size_t)n) < 0)
			break; /* too much: the report is refused below */
	}
	close(fd);
	while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR)
		;
	if (n == 0 && WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0) {
		const char *s = strbuf_str(b);
		size_t len = strbuf_len(b);
		size_t l1 = strnlen(s, len);

		/* UNSAFE: offsets checked against len before each use. */
		if (l1 < len && l1 < DSN_STATUS_MAX && dsn_status_ok(s)) {
			size_t l2 = strnlen(s + l1 + 1, len - l1 - 1);

			if (l1 + 1 + l2 < len) {
				set_result(res, s, s + l1 + 1);
				if (data) {
					size_t off = l1 + 1 + l2 + 1;

					*dlen = len - off;
					*data = mystrndup(s + off, *dlen);
				}
				ok = 1;
			}
		}
	}
	if (!ok)
		set_result(res, "4.3.0",
			   "mail system error: delivery process failed");
	strbuf_free(&b);
	return ok ? 0 : -1;
}

/* Fork; the child gets the write end in *wfd. Parent: child pid, or -1
 * with res filled. */
static pid_t fork_child(int *rfd, int *wfd, struct local_result *res)
{
	int fds[2];
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC) < 0) {
		set_result(res, "4.3.0", "mail system error: no pipe");
		return -1;
	}
	if ((pid = fork()) < 0) {
		close(fds[0]);
		close(fds[1]);
		set_result(res, "4.3.0", "mail system error: cannot fork");
		return -1;
	}
	if (pid == 0) {
		close(fds[0]);
		*wfd = fds[1];
		/* A file size limit must show up as EFBIG, not a signal. */
		signal(SIGXFSZ, SIG_IGN);
		return 0;
	}
	close(fds[1]);
	*rfd = fds[0];
	return pid;
}

static struct mailbox_msg make_msg(const struct local_msg *m,
				   struct queue_file *qf)
{
	return (struct mailbox_msg){
	    .qf = qf,
	    .data_offset = m->req->data_offset,
	    .queue_id = m->req->queue_id,
	    .sender = m->req->sender,
	    .recipient = m->recipient,
	};
}

static int lock_flags(const char *value)
{
	int flags = 0;

	if (strstr(value, "fcntl"))
		flags |= MAILBOX_LOCK_FCNTL;
	if (strstr(value, "dotlock"))
		flags |= MAILBOX_LOCK_DOTLOCK;
	return flags;
}

static void run_mailbox_child(const struct local_msg *m,
			      const struct local_privs *p, int as_root,
			      uid_t owner, const char *path, int maildir,
			      int locks, const char *what,
			      struct local_result *res)
{
	struct strbuf *why = strbuf_new(STRBUF_NO_MAX);
	struct queue_file *qf = local_queue_open(m->req, why);
	int rfd = -1, wfd = -1;
	pid_t pid;

	if (qf == NULL) {
		set_result(res, "4.3.0", strbuf_str(why));
		strbuf_free(&why);
		return;
	}
	if ((pid = fork_child(&rfd, &wfd, res)) < 0)
		goto out;
	if (pid == 0) {
		struct mailbox_opts opts = {
		    .uid = p->uid,
		    .gid = p->gid,
		    .locks = locks,
		    .size_limit = var_mailbox_size_limit,
		    .lock_attempts = var_deliver_lock_attempts,
		    .stale_lock_time = var_stale_lock_time,
		};
		struct mailbox_msg mm = make_msg(m, qf);
		char status[DSN_STATUS_MAX];
		int rc;

		opts.uid = owner;
		if (!as_root)
			child_become(p);
		rc = maildir ? mailbox_maildir(path, &opts, &mm, status, why)
			     : mailbox_mbox(path, &opts, &mm, status, why);
		if (rc == MAILBOX_OK) {
			strbuf_reset(why);
			strbuf_printf(why, "%s", what);
			child_report(wfd, "2.0.0", strbuf_str(why), NULL, 0);
		} else {
			child_report(wfd, status, strbuf_str(why), NULL, 0);
		}
		_exit(0);
	}
	parent_collect(pid, rfd, res, NULL, NULL);
out:
	queue_file_close(&qf);
	strbuf_free(&why);
}

void local_run_mbox(const struct local_msg *m, const struct local_privs *p,
		    int as_root, const char *path, int maildir,
		    struct local_result *res)
{
	run_mailbox_child(m, p, as_root, p->uid, path, maildir,
			  lock_flags(var_mailbox_delivery_lock),
			  "delivered to mailbox", res);
}

void local_run_file(const struct local_msg *m, const struct local_privs *p,
		    const char *path, struct local_result *res)
{
	struct strbuf *what = strbuf_new(STRBUF_NO_MAX);
	size_t len = strlen(path);

	strbuf_printf(what, "delivered to file: %s", path);
	/* The file may belong to anyone who lets p write it. */
	run_mailbox_child(m, p, 0, (uid_t)-1, path,
			  len > 1 && path[len - 1] == '/', MAILBOX_LOCK_FCNTL,
			  strbuf_str(what), res);
	strbuf_free(&what);
}

int local_run_read(const struct local_privs *p, const char *path, uid_t owner,
		   char **text, struct local_result *res)
{
	int rfd = -1, wfd = -1;
	size_t len = 0;
	pid_t pid;

	*text = NULL;
	if ((pid = fork_child(&rfd, &wfd, res)) < 0)
		return -1;
	if (pid == 0) {
		struct strbuf *why = strbuf_new(STRBUF_NO_MAX);
		struct strbuf *data = strbuf_new(LOCAL_REPORT_MAX / 2);
		char chunk[4096];
		ssize_t n;
		int fd;

		child_become(p);
		fd = safe_open(path, O_RDONLY, 0, owner, why);
		if (fd < 0 && errno == ENOENT) {
			child_report(wfd, "2.0.0", "none", NULL, 0);
			_exit(0);
		}
		if (fd < 0) {
			child_report(wfd, "4.3.0", strbuf_str(why), NULL, 0);
			_exit(0);
		}
		while ((n = read(fd, chunk, sizeof(chunk))) > 0)
			if (strbuf_append(data, chunk, (size_t)n) < 0) {
				child_report(wfd, "5.3.0", "file is too large",
					     NULL, 0);
				_exit(0);
			}
		if (n < 0) {
			strbuf_printf(why, "read %s: %m", path);
			child_report(wfd, "4.3.0", strbuf_str(why), NULL, 0);
			_exit(0);
		}
		child_report(wfd, "2.0.0", "read", strbuf_str(data),
			     strbuf_len(data));
		_exit(0);
	}
	if (parent_collect(pid, rfd, res, text, &len) < 0)
		return -1;
	if (res->status[0] != '2') {
		myfree(*text);
		return -1;
	}
	if (strcmp(strbuf_str(res->text), "none") == 0) {
		myfree(*text);
		return 0;
	}
	return 1;
}

/* sysexits.h status of a command -> enhanced status; only EX_TEMPFAIL
 * (and a command we had to kill) means "try again". */
static const char *command_status(int code)
{
	switch (code) {
	case 0:
		return "2.0.0";
	case EX_TEMPFAIL:
		return "4.3.0";
	case EX_NOUSER:
		return "5.1.1";
	case EX_NOHOST:
		return "5.1.2";
	case EX_NOPERM:
		return "5.7.1";
	case EX_DATAERR:
		return "5.6.0";
	case EX_CONFIG:
	case EX_OSFILE:
		return "5.3.5";
	default:
		return "5.3.0";
	}
}

static void set_env(const char *name, const char *value)
{
	if (setenv(name, value ? value : "", 1) < 0)
		_exit(EX_OSERR);
}

void local_run_command(const struct local_msg *m, const struct local_privs *p,
		       const char *command, struct local_result *res)
{
	struct strbuf *why = strbuf_new(STRBUF_NO_MAX);
	struct strbuf *output = strbuf_new(STRBUF_NO_MAX);
	struct queue_file *qf = local_queue_open(m->req, why);
	int in[2] = {-1, -1}, out[2] = {-1, -1}, wstatus = 0, killed = 0;
	pid_t cmd = -1, feeder = -1;
	time_t deadline;

	if (qf == NULL) {
		set_result(res, "4.3.0", strbuf_str(why));
		goto done;
	}
	if (p->uid == 0) {
		set_result(res, "4.3.0",
			   "mail system error: a command would run as root");
		goto done;
	}
	if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0) {
		set_result(res, "4.3.0", "mail system error: no pipe");
		goto done;
	}
	if ((cmd = fork()) < 0) {
		set_result(res, "4.3.0", "mail system error: cannot fork");
		goto done;
	}
	if (cmd == 0) {
		/* The command: stdin the message, stdout and stderr our
		 * output pipe, the environment built from scratch. */
		if (dup2(in[0], 0) < 0 || dup2(out[1], 1) < 0 ||
		    dup2(out[1], 2) < 0)
			_exit(EX_OSERR);
		signal(SIGPIPE, SIG_DFL);
		signal(SIGXFSZ, SIG_DFL);
		child_become(p);
		if (chdir(p->home && *p->home ? p->home : "/") < 0 &&
		    chdir("/") < 0)
			_exit(EX_OSERR);
		clearenv();
		set_env("PATH", "/usr/bin:/bin");
		set_env("SHELL", p->shell);
		set_env("HOME", p->home);
		set_env("USER", p->user);
		set_env("LOGNAME", p->user);
		set_env("SENDER", m->req->sender);
		set_env("RECIPIENT", m->recipient);
		set_env("EXTENSION", m->extension);
		set_env("DOMAIN", m->domain);
		set_env("LOCAL", m->local);
		set_env("ORIGINAL_RECIPIENT", m->recipient);
		set_env("LANG", "C");
		execl("/bin/sh", "sh", "-c", command, (char *)NULL);
		_exit(EX_OSERR);
	}
	close(in[0]);
	in[0] = -1;
	close(out[1]);
	out[1] = -1;
	/* The message goes in from a second child so that this process
	 * can read the command's output meanwhile: no deadlock when the
	 * command writes much before it reads. */
	if ((feeder = fork()) == 0) {
		struct mailbox_msg mm = make_msg(m, qf);
		off_t written;

		close(out[0]);
		signal(SIGPIPE, SIG_IGN);
		/* A command that does not read all of its input is its own
		 * business, as with Postfix: only its exit status counts. */
		(void)mailbox_copy(in[1], &mm,
				   MAILBOX_COPY_FROM_LINE |
				       MAILBOX_COPY_RETURN_PATH |
				       MAILBOX_COPY_DELIVERED,
				   0, &written, why);
		_exit(0);
	}
	close(in[1]);
	in[1] = -1;
	deadline = time(NULL) + var_command_time_limit;
	for (;;) {
		struct pollfd pfd = {.fd = out[0], .events = POLLIN};
		long left = (long)(deadline - time(NULL));
		char chunk[1024];
		ssize_t n;

		if (left <= 0) {
			kill(cmd, SIGKILL);
			killed = 1;
			break;
		}
		if (poll(&pfd, 1, 1000) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pfd.revents == 0)
			continue;
		n = read(out[0], chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (strbuf_len(output) < LOCAL_OUTPUT_MAX)
			strbuf_append(output, chunk, (size_t)n);
	}
	while (waitpid(cmd, &wstatus, 0) < 0 && errno == EINTR)
		;
	if (feeder > 0) {
		kill(feeder, SIGKILL); /* done already, or stuck on a pipe */
		while (waitpid(feeder, NULL, 0) < 0 && errno == EINTR)
			;
	}
	/* Output text goes into logs and notices: one line, printable. */
	strbuf_truncate(output, strbuf_len(output) > LOCAL_OUTPUT_MAX
				    ? LOCAL_OUTPUT_MAX
				    : strbuf_len(output));
	for (size_t i = 0; i < strbuf_len(output); i++) {
		/* UNSAFE: i < len of the buffer. */
		char *c = (char *)strbuf_str(output) + i;

		if ((unsigned char)*c < 32 || *c == 127)
			*c = ' ';
	}
	if (killed) {
		strbuf_printf(why, "command %s: time limit exceeded", command);
		set_result(res, "4.3.0", strbuf_str(why));
	} else if (WIFSIGNALED(wstatus)) {
		strbuf_printf(why, "command %s: killed by signal %d", command,
			      WTERMSIG(wstatus));
		set_result(res, "4.3.0", strbuf_str(why));
	} else if (WEXITSTATUS(wstatus) == 0) {
		strbuf_printf(why, "delivered to command: %s", command);
		set_result(res, "2.0.0", strbuf_str(why));
	} else {
		strbuf_printf(why, "command %s: exit status %d%s%s", command,
			      WEXITSTATUS(wstatus),
			      strbuf_len(output) ? ": " : "",
			      strbuf_str(output));
		set_result(res, command_status(WEXITSTATUS(wstatus)),
			   strbuf_str(why));
	}
done:
	for (int i = 0; i < 2; i++) {
		if (in[i] >= 0)
			close(in[i]);
		if (out[i] >= 0)
			close(out[i]);
	}
	if (qf)
		queue_file_close(&qf);
	strbuf_free(&output);
	strbuf_free(&why);
}
