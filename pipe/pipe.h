/*
 * pipe.h - the parts of the pipe delivery agent (see pipe(8)).
 *
 * pipe_args.c: the master.cf arguments (flags=, user=, argv=, size=,
 * eol=, directory=, null_sender=), the ${name} macros of argv=, the
 * headers that flags= prepends and the sysexits.h table. No system calls:
 * unit tests include it whole.
 * pipe_command.c: running one command as the user= account with the
 * message on its standard input, its output captured and a time limit.
 * pipe.c: the daemon (one delivery request per connection from qmgr).
 */
#ifndef POSTERN_PIPE_H
#define POSTERN_PIPE_H

#include <stddef.h>
#include <sys/types.h>
#include <time.h>

struct strbuf;
struct deliver_request;

/* flags= letters (Postfix's). */
#define PIPE_FLAG_BLANK	   (1 << 0)  /* B: blank line after the message */
#define PIPE_FLAG_DELIVERED (1 << 1) /* D: Delivered-To: (and loop check) */
#define PIPE_FLAG_FROM	   (1 << 2)  /* F: mbox From_ line first */
#define PIPE_FLAG_ORIG	   (1 << 3)  /* O: X-Original-To: */
#define PIPE_FLAG_RETURN   (1 << 4)  /* R: Return-Path: */
#define PIPE_FLAG_FINAL	   (1 << 5)  /* X: final delivery (DSN delivered) */
#define PIPE_FLAG_LC_HOST  (1 << 6)  /* h: fold domain and nexthop case */
#define PIPE_FLAG_QUOTE	   (1 << 7)  /* q: RFC 822-quote local parts */
#define PIPE_FLAG_LC_USER  (1 << 8)  /* u: fold the recipient local part */
#define PIPE_FLAG_DOT	   (1 << 9)  /* .: "." before lines starting "." */
#define PIPE_FLAG_QUOTE_FROM (1 << 10) /* >: ">" before lines "From " */

/* The most bytes of one expanded argument (values come from envelope
 * fields that are already bounded; this bounds a pathological argv=). */
#define PIPE_ARG_MAX (64 * 1024)

/* What master.cf says about the service (parsed once, at start-up). */
struct pipe_attr {
	int flags;	   /* PIPE_FLAG_* */
	char *user;	   /* user= account name */
	char *group;	   /* user=name:group, NULL: the account's group */
	char **argv;	   /* argv= and the words after it, unexpanded */
	size_t argc;
	off_t size_limit;  /* size=, 0: none */
	char *eol;	   /* eol= with \r \n \t \\ decoded; default "\n" */
	char *directory;   /* directory=, NULL: stay in the queue directory */
	char *null_sender; /* null_sender=, default "MAILER-DAEMON" */
};

/* Parse the master.cf words after the command name into attr (zeroed
 * first). Checks the syntax only: a known flag letter, user= and argv=
 * present, every ${macro} known. 0, or -1 and a reason (attr freed). */
int pipe_attr_parse(char **args, struct pipe_attr *attr, struct strbuf *why);
void pipe_attr_free(struct pipe_attr *attr);

/* Nonzero when some argument uses a per-recipient macro. */
int pipe_attr_per_rcpt(const struct pipe_attr *attr);

/* Expand argv= for one request: an argument with a per-recipient macro
 * (${recipient}, ${original_recipient}, ${mailbox}, ${user},
 * ${extension}, ${domain}) becomes one argument per recipient; every
 * other argument stays one argument, whatever its value holds. The
 * result is NULL-terminated, the caller frees it with pipe_argv_free.
 * NULL and a reason when an argument would exceed PIPE_ARG_MAX. */
char **pipe_expand(const struct pipe_attr *attr,
		   const struct deliver_request *req, const char *delim,
		   struct strbuf *why);
void pipe_argv_free(char ***argvp);

/* The header lines flags= asks for (From_, Return-Path:, X-Original-To:,
 * Delivered-To:, each ended with attr->eol) for recipient i of req,
 * appended to out. now is the From_ line's date. */
void pipe_headers(const struct pipe_attr *attr,
		  const struct deliver_request *req, size_t i, time_t now,
		  struct strbuf *out);
/* The address as ${recipient} shows it (h and u folding, q quoting). */
void pipe_rcpt_text(const struct pipe_attr *attr, const char *addr,
		    struct strbuf *out);

/* How a command's end maps to a delivery status (sysexits.h, as Postfix
 * reads it): 0 for exit 0 (sent); else status ("4.3.0", "5.1.1"...) and
 * *text ("temporary failure", "user unknown", "Command died with
 * status 1"... written to text, len bytes). -1 for a failure. */
int pipe_exit_status(int wait_status, char *status, size_t status_len,
		     char *text, size_t text_len);

/* --- pipe_command.c --- */

/* Where the command's input comes from: append more to buf; return 1
 * when there is no more, 0 when more may follow, -1 on a read error
 * (the queue file). */
typedef int (*pipe_feed_fn)(void *ctx, struct strbuf *buf);

struct pipe_run {
	char **argv;	       /* argv[0] is the program (PATH searched) */
	char **envp;	       /* the complete environment */
	uid_t uid;	       /* run as uid/gid when we are root */
	gid_t gid;
	const char *directory; /* chdir there as the user; NULL: stay */
	int time_limit;	       /* seconds for the whole command */
	size_t output_max;     /* keep this much of stdout+stderr */
	pipe_feed_fn feed;
	void *feed_ctx;
};

enum pipe_run_end {
	PIPE_RUN_EXITED,     /* wait_status is set */
	PIPE_RUN_TIMEOUT,    /* killed (its process group) at the limit */
	PIPE_RUN_FEED_ERROR, /* feed() failed: the command was killed */
	PIPE_RUN_ERROR,	     /* could not start it (why) */
};

/* Run the command, feeding its stdin and keeping the first output_max
 * bytes of its output in output. The command runs in a new session (its
 * own process group) so that the time limit kills everything it started.
 * *wait_status is set for PIPE_RUN_EXITED. */
enum pipe_run_end pipe_command_run(const struct pipe_run *run,
				   int *wait_status, struct strbuf *output,
				   struct strbuf *why);

#endif
