/*
 * local - shared declarations of the local delivery agent's files:
 * local.c (the request, aliases, .forward, the mailbox choice) and
 * local_run.c (everything that runs with a user's rights: mailbox and
 * file writes, commands, reading .forward and :include: files).
 */
#ifndef POSTERN_LOCAL_H
#define POSTERN_LOCAL_H

#include <sys/types.h>

#include "dsn.h"

struct queue_file;
struct strbuf;
struct deliver_request;

/* Whose rights a step runs with. */
struct local_privs {
	uid_t uid;
	gid_t gid;
	const char *user;  /* for USER and LOGNAME */
	const char *home;  /* working directory of commands, HOME */
	const char *shell; /* SHELL (informational) */
};

/* What the message is and who it is for, for commands' environment and
 * the Delivered-To header. */
struct local_msg {
	struct deliver_request *req;
	const char *recipient; /* full address as delivered to */
	const char *user;      /* local part without extension */
	const char *extension; /* "" when none */
	const char *local;     /* the whole local part */
	const char *domain;    /* "" when none */
};

/* Outcome of one step: status ("2.0.0", "4.2.0", "5.1.1") and text. */
struct local_result {
	char status[DSN_STATUS_MAX];
	struct strbuf *text;
};

/* The steps; each fills res. A step that cannot even start defers. */
void local_run_mbox(const struct local_msg *m, const struct local_privs *p,
		    int as_root, const char *path, int maildir,
		    struct local_result *res);
void local_run_file(const struct local_msg *m, const struct local_privs *p,
		    const char *path, struct local_result *res);
void local_run_command(const struct local_msg *m, const struct local_privs *p,
		       const char *command, struct local_result *res);
/* Read a .forward or :include: file as p (owner: the file must belong
 * to it, (uid_t)-1: any). 1 and *text (caller frees), 0 when it does not
 * exist, -1 with res filled. */
int local_run_read(const struct local_privs *p, const char *path, uid_t owner,
		   char **text, struct local_result *res);

/* Open a fresh read-only handle on the request's queue file. */
struct queue_file *local_queue_open(struct deliver_request *req,
				    struct strbuf *why);

#endif
