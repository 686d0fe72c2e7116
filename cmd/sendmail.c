/*
 * sendmail - the Sendmail-compatible submission interface (see
 * sendmail(1)); as "mailq" it lists the queue, as "newaliases" it
 * rebuilds the alias database.
 *
 *     sendmail [options] [--] [recipient ...]
 *     mailq [-c config_dir] [-v]
 *     newaliases [-c config_dir] [-oAfile] [-v]
 *
 * An ordinary, unprivileged program. It turns the message on standard
 * input (LF or CRLF line ends) and the options into queue-file records
 * of the postdrop subset (global/cleanup_copy.h) and pipes them to
 * postdrop, the one set-gid step, which writes maildrop/; pickup hands
 * the file to cleanup. It adds nothing to the message: the missing
 * headers are cleanup's job, as in Postfix. With -bs it speaks SMTP on
 * standard input and output and submits each message the same way.
 *
 * Nothing here is trusted by the rest of the system: postdrop and
 * pickup check every record again. The checks here are for the user,
 * who gets a clear message and a sysexits(3) code instead of mail that
 * vanishes later.
 *
 * Exit status (sysexits.h): 0 queued; EX_USAGE (64) bad options or no
 * recipients; EX_DATAERR (65) message too big or refused; EX_NOPERM (77)
 * configuration directory not allowed; EX_TEMPFAIL (75) could not be
 * queued, try again; EX_UNAVAILABLE (69) postdrop could not run;
 * EX_CONFIG (78) bad main.cf; otherwise postdrop's own status.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <unistd.h>

#include "cleanup_copy.h"
#include "dsn.h"
#include "mail_conf.h"
#include "mail_params.h"
#include "msg.h"
#include "mymalloc.h"
#include "rec_type.h"
#include "record.h"
#include "rstream.h"
#include "smtp_addr.h"
#include "smtp_cmd.h"
#include "strbuf.h"

/* One recipient and its DSN NOTIFY bits (0: not given). */
struct sm_rcpt {
	char *addr;
	int notify;
};

/* One message's envelope. */
struct sm_env {
	char *sender;	/* internal form, "" for the null sender */
	char *fullname; /* -F, or NULL */
	char *envid;	/* -V / ENVID=, or NULL */
	int ret;	/* DSN_RET_* */
	int body;	/* 0, 7 or 8 (-B, BODY=) */
	int extract;	/* -t */
	int notify;	/* -N: for every command-line recipient */
	struct sm_rcpt *rcpt;
	size_t nrcpt;
};

/* A running postdrop and the pipe to it. */
struct sm_drop {
	pid_t pid;
	struct rstream *out;
	int fd;
	int failed;	   /* a write failed (postdrop exited early) */
	long long content; /* message bytes so far */
	int too_big;
};

static const char *sm_conf_dir; /* -C, or NULL */
static int sm_verbose;

/* --- the envelope ---------------------------------------------------- */

static void sm_env_add_rcpt(struct sm_env *env, const char *addr, int notify)
{
	env->rcpt = myrealloc(env->rcpt,
			      mymalloc_mul(env->nrcpt + 1, sizeof(*env->rcpt)));
	env->rcpt[env->nrcpt].addr = mystrdup(addr);
	env->rcpt[env->nrcpt].notify = notify;
	env->nrcpt++;
}

static void sm_env_free(struct sm_env *env)
{
	for (size_t i = 0; i < env->nrcpt; i++)
		myfree(env->rcpt[i].addr);
	myfree(env->rcpt);
	myfree(env->sender);
	myfree(env->fullname);
	myfree(env->envid);
	memset(env, 0, sizeof(*env));
}

/* An address from the command line: "<addr>" and "addr" are the same;
 * "<>" and "" are the null sender. */
static char *sm_strip_angles(const char *arg)
{
	size_t len = strlen(arg);

	if (len >= 2 && arg[0] == '<' && arg[len - 1] == '>')
		return mystrndup(arg + 1, len - 2);
	return mystrdup(arg);
}

/* 0 if an envelope field is fit for a record (postdrop would refuse it
 * otherwise), or msg_fatal with EX_USAGE. */
static void sm_check_field(const char *what, const char *value)
{
	for (const char *cp = value; *cp; cp++)
		if ((unsigned char)*cp < 0x20 || *cp == 0x7f)
			msg_fatal_status(EX_USAGE,
					 "%s: control character not allowed",
					 what);
	if (strlen(value) > REC_ADDR_MAX)
		msg_fatal_status(EX_USAGE, "%s: longer than %d bytes", what,
				 REC_ADDR_MAX);
}

/* -N never | success,failure,delay (Postfix's sendmail syntax). */
static int sm_parse_notify(const char *arg)
{
	char *copy = mystrdup(arg), *tok, *save = NULL;
	int bits = 0;

	for (tok = strtok_r(copy, ", \t", &save); tok != NULL;
	     tok = strtok_r(NULL, ", \t", &save)) {
		if (strcasecmp(tok, "never") == 0)
			bits |= DSN_NOTIFY_NEVER;
		else if (strcasecmp(tok, "success") == 0)
			bits |= DSN_NOTIFY_SUCCESS;
		else if (strcasecmp(tok, "failure") == 0)
			bits |= DSN_NOTIFY_FAILURE;
		else if (strcasecmp(tok, "delay") == 0)
			bits |= DSN_NOTIFY_DELAY;
		else
			msg_fatal_status(EX_USAGE,
					 "-N: bad DSN notification "
					 "\"%s\" (never, success, "
					 "failure, delay)",
					 tok);
	}
	myfree(copy);
	if (bits == 0 ||
	    ((bits & DSN_NOTIFY_NEVER) && bits != DSN_NOTIFY_NEVER))
		msg_fatal_status(EX_USAGE, "-N: \"never\" or a list of "
					   "success, failure, delay");
	return bits;
}

/* --- postdrop -------------------------------------------------------- */

static char *sm_command(const char *name)
{
	struct strbuf *path = strbuf_new(STRBUF_NO_MAX);
	char *str;

	(void)strbuf_printf(path, "%s/%s", var_command_directory, name);
	str = strbuf_export(path);
	strbuf_free(&path);
	return str;
}

/* Start postdrop with its stdin on a pipe. */
static void sm_drop_start(struct sm_drop *drop)
{
	char *path = sm_command("postdrop");
	char *argv[6];
	int fds[2], argc = 0;

	memset(drop, 0, sizeof(*drop));
	argv[argc++] = "postdrop";
	if (sm_conf_dir != NULL) {
		argv[argc++] = "-c";
		argv[argc++] = (char *)sm_conf_dir;
	}
	if (sm_verbose)
		argv[argc++] = "-v";
	argv[argc] = NULL;
	if (pipe2(fds, O_CLOEXEC) < 0)
		msg_fatal_status(EX_OSERR, "pipe: %m");
	fflush(stdout);
	if ((drop->pid = fork()) < 0)
		msg_fatal_status(EX_OSERR, "fork: %m");
	if (drop->pid == 0) {
		if (dup2(fds[0], 0) < 0)
			_exit(EX_OSERR);
		/* In -bs mode stdout is the SMTP dialogue: postdrop's
		 * messages go to stderr only. */
		if (dup2(2, 1) < 0)
			_exit(EX_OSERR);
		execv(path, argv);
		fprintf(stderr, "sendmail: fatal: execute %s: %s\n", path,
			strerror(errno));
		_exit(EX_UNAVAILABLE);
	}
	(void)close(fds[0]);
	drop->fd = fds[1];
	drop->out = rstream_fdopen(fds[1], 0);
	myfree(path);
}

static void sm_put(struct sm_drop *drop, int type, const void *data, size_t len)
{
	if (!drop->failed && rec_put(drop->out, type, data, len) < 0)
		drop->failed = 1; /* postdrop went away: its status says why */
}

static void sm_puts(struct sm_drop *drop, int type, const char *str)
{
	sm_put(drop, type, str, strlen(str));
}

static void sm_put_envelope(struct sm_drop *drop, const struct sm_env *env)
{
	char buf[64];

	if (env->fullname != NULL)
		sm_puts(drop, REC_TYPE_FULL, env->fullname);
	sm_puts(drop, REC_TYPE_FROM, env->sender);
	if (env->body)
		sm_puts(drop, REC_TYPE_ATTR,
			env->body == 8 ? CLEANUP_COPY_ATTR_ENCODING "=8bit"
				       : CLEANUP_COPY_ATTR_ENCODING "=7bit");
	if (env->ret) {
		snprintf(buf, sizeof(buf), "%s=%d", CLEANUP_COPY_ATTR_DSN_RET,
			 env->ret);
		sm_puts(drop, REC_TYPE_ATTR, buf);
	}
	if (env->envid != NULL)
		sm_puts(drop, REC_TYPE_DSN_ENVID, env->envid);
	if (env->extract)
		sm_puts(drop, REC_TYPE_ATTR, CLEANUP_COPY_ATTR_EXTRACT "=1");
	if (env->extract && env->notify) {
		/* For the recipients cleanup finds in the headers. */
		snprintf(buf, sizeof(buf), "%s=%d",
			 CLEANUP_COPY_ATTR_DSN_NOTIFY, env->notify);
		sm_puts(drop, REC_TYPE_ATTR, buf);
	}
	for (size_t i = 0; i < env->nrcpt; i++) {
		if (env->rcpt[i].notify) {
			snprintf(buf, sizeof(buf), "%d", env->rcpt[i].notify);
			sm_puts(drop, REC_TYPE_DSN_NOTIFY, buf);
		}
		sm_puts(drop, REC_TYPE_RCPT, env->rcpt[i].addr);
	}
	sm_put(drop, REC_TYPE_MESG, NULL, 0);
}

/* One content record; counts the message size. */
static void sm_put_content(struct sm_drop *drop, int type, const char *data,
			   size_t len)
{
	drop->content += (long long)len + (type == REC_TYPE_NORM);
	if (var_message_size_limit > 0 &&
	    drop->content > var_message_size_limit)
		drop->too_big = 1;
	if (!drop->too_big)
		sm_put(drop, type, data, len);
}

/* Finish: X and E, wait. A message given up (too big, the client went
 * away) is not finished: postdrop is stopped first, and removes its
 * file. postdrop's exit status, or EX_TEMPFAIL when it was killed. */
static int sm_drop_finish(struct sm_drop *drop, int abandon)
{
	int status;

	if (!abandon && !drop->too_big) {
		sm_put(drop, REC_TYPE_XTRA, NULL, 0);
		sm_put(drop, REC_TYPE_END, NULL, 0);
	} else {
		/* Same real uid: the user may signal the set-gid postdrop,
		 * whose handler removes the half-written file. */
		(void)kill(drop->pid, SIGTERM);
	}
	if (rstream_close(&drop->out) < 0)
		drop->failed = 1;
	while (waitpid(drop->pid, &status, 0) < 0)
		if (errno != EINTR)
			msg_fatal_status(EX_OSERR, "waitpid: %m");
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (!abandon && !drop->too_big)
		msg_warn("postdrop was killed by signal %d", WTERMSIG(status));
	return EX_TEMPFAIL;
}

/* --- reading a message ----------------------------------------------- */

/* Read one line of at most REC_LINE_MAX bytes into buf (without its LF
 * or CRLF). 1 for a whole line, 2 for a piece of a longer line (more
 * follows), 0 at the end of input with nothing read. A CR is kept
 * unless an LF follows it. */
static int sm_read_line(FILE *fp, struct strbuf *buf)
{
	int ch;

	strbuf_reset(buf);
	while (strbuf_len(buf) < REC_LINE_MAX) {
		if ((ch = getc_unlocked(fp)) == EOF)
			return strbuf_len(buf) > 0 ? 1 : 0;
		if (ch == '\n')
			return 1;
		if (ch == '\r') {
			int next = getc_unlocked(fp);

			if (next == '\n')
				return 1;
			if (next != EOF)
				ungetc(next, fp);
		}
		(void)strbuf_putc(buf, ch);
	}
	return 2;
}

/* Copy the message on stdin to postdrop. A line that is only "." ends
 * it unless -i. A first line "From ..." (an mbox envelope) is dropped,
 * as Sendmail and Postfix do. */
static void sm_copy_stdin(struct sm_drop *drop, int ignore_dots)
{
	struct strbuf *line = strbuf_new(REC_LINE_MAX);
	int first = 1, piece = 0, rc;

	while ((rc = sm_read_line(stdin, line)) != 0) {
		if (!piece && !ignore_dots && rc == 1 &&
		    strcmp(strbuf_str(line), ".") == 0)
			break;
		if (first && rc == 1 &&
		    strncmp(strbuf_str(line), "From ", 5) == 0) {
			first = 0;
			continue;
		}
		first = 0;
		sm_put_content(drop, rc == 2 ? REC_TYPE_CONT : REC_TYPE_NORM,
			       strbuf_str(line), strbuf_len(line));
		piece = rc == 2;
	}
	if (ferror(stdin))
		msg_fatal_status(EX_IOERR, "read the message: %m");
	strbuf_free(&line);
}

static int sm_report(int status, struct sm_drop *drop)
{
	if (drop->too_big) {
		msg_error("message file too big: the limit is "
			  "message_size_limit = %ld bytes",
			  var_message_size_limit);
		return EX_DATAERR;
	}
	if (status != 0)
		msg_error("message not queued (postdrop exit status %d)",
			  status);
	return status;
}

static int sm_submit(struct sm_env *env, int ignore_dots)
{
	struct sm_drop drop;
	int status;

	if (env->nrcpt == 0 && !env->extract)
		msg_fatal_status(EX_USAGE,
				 "Recipient addresses must be specified on "
				 "the command line or via the -t option");
	sm_drop_start(&drop);
	sm_put_envelope(&drop, env);
	sm_copy_stdin(&drop, ignore_dots);
	status = sm_drop_finish(&drop, 0);
	return sm_report(status, &drop);
}

/* --- -bs: SMTP on stdin/stdout --------------------------------------- */

static void sm_reply(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

static void sm_reply(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputs("\r\n", stdout);
	fflush(stdout);
}

/* One SMTP command line into buf, without CRLF or LF. 1, 0 at the end
 * of input, -1 for a line too long or with a NUL (consumed to its end). */
static int sm_read_cmd(FILE *fp, struct strbuf *buf)
{
	int ch, bad = 0;

	strbuf_reset(buf);
	for (;;) {
		if ((ch = getc_unlocked(fp)) == EOF)
			return strbuf_len(buf) > 0 && !bad ? 1 : 0;
		if (ch == '\n')
			break;
		if (ch == 0 || strbuf_putc(buf, ch) < 0)
			bad = 1;
	}
	if (bad)
		return -1;
	if (strbuf_len(buf) > 0 && strbuf_str(buf)[strbuf_len(buf) - 1] == '\r')
		strbuf_truncate(buf, strbuf_len(buf) - 1);
	return 1;
}

/* DATA: the message up to the lone ".", dot-unstuffed, to postdrop. */
static void sm_smtp_data(struct sm_env *env)
{
	struct strbuf *line = strbuf_new(REC_LINE_MAX);
	struct sm_drop drop;
	int rc, piece = 0, status, ended = 0;

	sm_drop_start(&drop);
	sm_put_envelope(&drop, env);
	sm_reply("354 End data with <CR><LF>.<CR><LF>");
	while ((rc = sm_read_line(stdin, line)) != 0) {
		const char *data = strbuf_str(line);
		size_t len = strbuf_len(line);

		if (!piece && rc == 1 && strcmp(data, ".") == 0) {
			ended = 1;
			break;
		}
		if (!piece && data[0] == '.') {
			data++;
			len--;
		}
		sm_put_content(&drop, rc == 2 ? REC_TYPE_CONT : REC_TYPE_NORM,
			       data, len);
		piece = rc == 2;
	}
	strbuf_free(&line);
	status = sm_drop_finish(&drop, !ended);
	if (!ended)
		exit(EX_DATAERR); /* the client went away mid-message */
	if (drop.too_big)
		sm_reply("552 5.3.4 Error: message file too big");
	else if (status == 0)
		sm_reply("250 2.0.0 Ok: queued");
	else if (status == EX_DATAERR || status == EX_NOPERM ||
		 status == EX_USAGE)
		sm_reply("554 5.3.0 Error: message not accepted (postdrop "
			 "status %d)",
			 status);
	else
		sm_reply("451 4.3.0 Error: queue file write error");
}

static int sm_smtp(void)
{
	struct smtp_addr_opts opts = {
	    .dsn_enable = 1,
	    .smtputf8_enable = 1,
	    .size_limit = var_message_size_limit > 0
			      ? (uint64_t)var_message_size_limit
			      : 0,
	};
	struct strbuf *line = strbuf_new(SMTP_CMD_LINE_LIMIT);
	struct sm_env env = {0};
	struct smtp_addr_args args;
	struct smtp_addr_err err;
	struct smtp_cmd cmd;
	char cmdline[SMTP_CMD_LINE_LIMIT + 1];
	int in_mail = 0, smtputf8 = 0, rc;

	sm_reply("220 %s ESMTP %s", var_myhostname, var_mail_name);
	for (;;) {
		/* stdio for commands and DATA alike: one buffer, so nothing
		 * read ahead is lost between them. */
		if ((rc = sm_read_cmd(stdin, line)) == 0)
			break;
		if (rc < 0) {
			sm_reply("500 5.5.2 Error: bad syntax (line too long "
				 "or NUL)");
			continue;
		}
		/* The parser splits the line in place. */
		memcpy(cmdline, strbuf_str(line), strbuf_len(line) + 1);
		smtp_cmd_parse(cmdline, &cmd);
		switch (cmd.verb) {
		case SMTP_VERB_EHLO:
			printf("250-%s\r\n250-SIZE %ld\r\n250-8BITMIME\r\n"
			       "250-DSN\r\n250-SMTPUTF8\r\n",
			       var_myhostname, var_message_size_limit);
			sm_reply("250 ENHANCEDSTATUSCODES");
			break;
		case SMTP_VERB_HELO:
			sm_reply("250 %s", var_myhostname);
			break;
		case SMTP_VERB_MAIL:
			if (in_mail) {
				sm_reply("503 5.5.1 Error: nested MAIL "
					 "command");
				break;
			}
			if (smtp_addr_parse(SMTP_ADDR_MAIL, cmd.arg, &opts,
					    &args, &err) < 0) {
				sm_reply("%d %s %s", err.code, err.enh,
					 err.text);
				break;
			}
			sm_env_free(&env);
			env.sender = mystrdup(args.addr);
			env.envid = args.envid ? mystrdup(args.envid) : NULL;
			env.ret = args.ret == SMTP_RET_FULL   ? DSN_RET_FULL
				  : args.ret == SMTP_RET_HDRS ? DSN_RET_HDRS
							      : 0;
			env.body = args.body == SMTP_BODY_8BITMIME ? 8
				   : args.body == SMTP_BODY_7BIT   ? 7
								   : 0;
			smtputf8 = args.smtputf8;
			smtp_addr_args_free(&args);
			in_mail = 1;
			sm_reply("250 2.1.0 Ok");
			break;
		case SMTP_VERB_RCPT:
			if (!in_mail) {
				sm_reply("503 5.5.1 Error: need MAIL command");
				break;
			}
			opts.smtputf8_declared = smtputf8;
			if (smtp_addr_parse(SMTP_ADDR_RCPT, cmd.arg, &opts,
					    &args, &err) < 0) {
				sm_reply("%d %s %s", err.code, err.enh,
					 err.text);
				break;
			}
			if (*args.addr == 0) {
				smtp_addr_args_free(&args);
				sm_reply("501 5.1.3 Bad recipient address "
					 "syntax");
				break;
			}
			/* The SMTP and the DSN bits are the same (dsn.h). */
			sm_env_add_rcpt(&env, args.addr, args.notify);
			smtp_addr_args_free(&args);
			sm_reply("250 2.1.5 Ok");
			break;
		case SMTP_VERB_DATA:
			if (!in_mail || env.nrcpt == 0) {
				sm_reply("503 5.5.1 Error: need RCPT command");
				break;
			}
			sm_smtp_data(&env);
			sm_env_free(&env);
			in_mail = 0;
			break;
		case SMTP_VERB_RSET:
			sm_env_free(&env);
			in_mail = 0;
			sm_reply("250 2.0.0 Ok");
			break;
		case SMTP_VERB_NOOP:
			sm_reply("250 2.0.0 Ok");
			break;
		case SMTP_VERB_QUIT:
			sm_reply("221 2.0.0 Bye");
			goto out;
		case SMTP_VERB_VRFY:
			sm_reply("502 5.5.1 VRFY command is disabled");
			break;
		default:
			sm_reply("502 5.5.2 Error: command not recognized");
			break;
		}
	}
out:
	sm_env_free(&env);
	strbuf_free(&line);
	return 0;
}

/* --- the other personalities ----------------------------------------- */

static _Noreturn void sm_exec(const char *name, char **args)
{
	char *path = sm_command(name);
	char *argv[64];
	int argc = 0;

	argv[argc++] = (char *)name;
	if (sm_conf_dir != NULL) {
		argv[argc++] = "-c";
		argv[argc++] = (char *)sm_conf_dir;
	}
	if (sm_verbose)
		argv[argc++] = "-v";
	for (; *args != NULL && argc < 63; args++)
		argv[argc++] = *args;
	argv[argc] = NULL;
	execv(path, argv);
	msg_fatal_status(EX_UNAVAILABLE, "execute %s: %m", path);
}

/* newaliases: build each table of alias_database with postern-map -a. */
static _Noreturn void sm_newaliases(const char *alias_file)
{
	const char *db = alias_file;
	char *args[60];
	char **list;
	int n = 0;

	if (db == NULL && (db = mail_conf_eval("alias_database")) == NULL)
		db = "hash:/etc/aliases"; /* Postfix's default */
	list = conf_list_split(db);
	args[n++] = "-a";
	for (char **cp = list; *cp != NULL && n < 59; cp++)
		args[n++] = *cp;
	args[n] = NULL;
	if (n == 1)
		msg_fatal_status(EX_CONFIG, "alias_database is empty");
	sm_exec("postern-map", args);
}

static _Noreturn void usage(void)
{
	fprintf(stderr, "usage: sendmail [-t] [-i] [-f sender] [-F fullname] "
			"[-N dsn] [-R full|hdrs] [-V envid] [-B 7BIT|8BITMIME] "
			"[-bs | -bp | -bi | -bm] [-q] [-v] [-C config_dir] "
			"[-o option] [--] [recipient ...]\n");
	exit(EX_USAGE);
}

int main(int argc, char **argv)
{
	char *argv0 = mystrdup(argv[0]);
	const char *prog = basename(argv0);
	struct sm_env env = {0};
	const char *alias_file = NULL;
	char mode = 'm';
	int ignore_dots = 0, ch, flush = 0, status;
	char *err = NULL;
	struct passwd *pw;

	msg_open("sendmail");
	msg_set_stderr(1);
	signal(SIGPIPE, SIG_IGN);
	if (strcmp(prog, "mailq") == 0)
		mode = 'p';
	else if (strcmp(prog, "newaliases") == 0)
		mode = 'i';
	/* Sendmail's option letters, those that take an argument with ':'.
	 * '+': stop at the first recipient, so an address is never taken
	 * for an option. */
	while ((ch = getopt(
		    argc, argv,
		    "+B:C:F:GIL:N:O:R:UV:X:b:c:e:f:h:imno:p:q::r:tvx")) != -1) {
		switch (ch) {
		case 'B':
			if (strcasecmp(optarg, "8BITMIME") == 0)
				env.body = 8;
			else if (strcasecmp(optarg, "7BIT") == 0)
				env.body = 7;
			else
				msg_fatal_status(EX_USAGE, "-B: 7BIT or "
							   "8BITMIME");
			break;
		case 'C':
		case 'c':
			sm_conf_dir = optarg;
			break;
		case 'F':
			sm_check_field("-F", optarg);
			myfree(env.fullname);
			env.fullname = mystrdup(optarg);
			break;
		case 'I':
			mode = 'i';
			break;
		case 'N':
			env.notify = sm_parse_notify(optarg);
			break;
		case 'R':
			if (strcasecmp(optarg, "full") == 0)
				env.ret = DSN_RET_FULL;
			else if (strcasecmp(optarg, "hdrs") == 0)
				env.ret = DSN_RET_HDRS;
			else
				msg_fatal_status(EX_USAGE, "-R: full or hdrs");
			break;
		case 'V':
			if (*optarg == 0 ||
			    strlen(optarg) > CLEANUP_COPY_ENVID_MAX)
				msg_fatal_status(EX_USAGE,
						 "-V: an envelope ID of 1 to "
						 "%d characters",
						 CLEANUP_COPY_ENVID_MAX);
			sm_check_field("-V", optarg);
			myfree(env.envid);
			env.envid = mystrdup(optarg);
			break;
		case 'b':
			if (strchr("mspi", optarg[0]) == NULL || optarg[1])
				msg_fatal_status(EX_USAGE,
						 "-b%s: unsupported mode (-bm, "
						 "-bs, -bp and -bi are)",
						 optarg);
			mode = optarg[0];
			break;
		case 'f':
		case 'r':
			sm_check_field("-f", optarg);
			myfree(env.sender);
			env.sender = sm_strip_angles(optarg);
			break;
		case 'i':
			ignore_dots = 1;
			break;
		case 'o':
			/* Sendmail's -oX options. -oi is honoured, -oA is the
			 * alias file for -bi; the rest (-om, -oem, -odb,
			 * -odi, -oee, -ob...) have no meaning here. */
			if (strcmp(optarg, "i") == 0)
				ignore_dots = 1;
			else if (optarg[0] == 'A')
				alias_file = optarg + 1;
			break;
		case 'q':
			/* -q: deliver the queue now. -qInterval only makes
			 * sense for a daemon Sendmail; -qR/-qS/-qI are
			 * flushes of a part of the queue: all flush. */
			flush = 1;
			break;
		case 't':
			env.extract = 1;
			break;
		case 'v':
			sm_verbose++;
			msg_verbose++;
			break;
		case 'e': /* error mode */
		case 'h': /* hop count */
		case 'L': /* syslog label */
		case 'O': /* long option */
		case 'X': /* traffic log */
		case 'p': /* protocol */
		case 'G': /* gateway submission */
		case 'U': /* initial user submission */
		case 'm': /* me too */
		case 'n': /* no aliasing */
		case 'x':
			break;
		default:
			usage();
		}
	}
	if (sm_conf_dir != NULL && setenv("MAIL_CONFIG", sm_conf_dir, 1) < 0)
		msg_fatal_status(EX_OSERR, "setenv: %m");
	if (mail_conf_load(mail_conf_dir(sm_conf_dir), &err) < 0)
		msg_fatal_status(EX_CONFIG, "%s", err);

	if (flush) {
		char *args[] = {"-f", NULL};

		sm_exec("postern-queue", args);
	}
	switch (mode) {
	case 'p': {
		char *args[] = {"-p", NULL};

		sm_exec("postern-queue", args);
	}
	case 'i':
		sm_newaliases(alias_file);
	case 's':
		myfree(argv0);
		return sm_smtp();
	default:
		break;
	}
	if (env.sender == NULL) {
		if ((pw = getpwuid(getuid())) == NULL)
			msg_fatal_status(EX_NOUSER,
					 "no login name for uid "
					 "%ld",
					 (long)getuid());
		env.sender = mystrdup(pw->pw_name);
	}
	if (env.fullname == NULL && getenv("NAME") != NULL &&
	    *getenv("NAME") != 0) {
		sm_check_field("NAME", getenv("NAME"));
		env.fullname = mystrdup(getenv("NAME"));
	}
	for (int i = optind; i < argc; i++) {
		char *addr = sm_strip_angles(argv[i]);

		sm_check_field("recipient", addr);
		if (*addr == 0)
			msg_fatal_status(EX_USAGE, "empty recipient address");
		sm_env_add_rcpt(&env, addr, env.notify);
		myfree(addr);
	}
	status = sm_submit(&env, ignore_dots);
	sm_env_free(&env);
	myfree(argv0);
	return status;
}
