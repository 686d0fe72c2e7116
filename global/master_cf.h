/*
 * master_cf - reading master.cf (Postfix's master(5) format).
 *
 * Eight whitespace-separated columns: service, type, private, unpriv,
 * chroot, wakeup, maxproc, command + arguments; "-" means the default.
 * A line starting with whitespace continues the previous one; # starts a
 * comment line. "-o name=value" and "-o { name = value }" pass overrides;
 * "{ ... }" protects whitespace in an argument. When the same
 * service/type pair appears twice the last one wins. Errors name the file
 * and line and the whole file is rejected, never half-used.
 *
 * Defaults: private y (n for inet, which cannot be private), unpriv y,
 * chroot n, wakeup 0, maxproc default_process_limit. A unix, fifo, pass
 * or unix-dgram service is a plain socket name (no '/'), an inet service
 * is "port", "host:port" or "[ipv6]:port", and the command is a program
 * name in daemon_directory (no '/').
 */
#ifndef POSTERN_MASTER_CF_H
#define POSTERN_MASTER_CF_H

#include <stddef.h>

/* A logical master.cf entry (continuations included) may be this long. */
#define MASTER_CF_LINE_MAX (64 * 1024)
/* A service name (socket name or inet address) may be this long. */
#define MASTER_CF_SERVICE_MAX 100

enum master_type { MASTER_INET, MASTER_UNIX, MASTER_FIFO, MASTER_PASS, MASTER_UNIX_DGRAM };

struct master_ent {
	char *service;		/* "smtp", "127.0.0.1:2525", "cleanup" */
	enum master_type type;
	int private_;		/* y: private/, n: public/ */
	int unpriv;		/* y: drop to mail_owner */
	int chroot;		/* y: chroot to queue_directory */
	int wakeup;		/* seconds, 0 none */
	int wakeup_on_use;	/* "N?" form */
	int maxproc;		/* 0: unlimited; "-" gives default_process_limit */
	char *command;		/* program name relative to daemon_directory */
	char **args;		/* NULL-terminated argv after the command, -o kept as "-o" "name=value" */
	size_t nargs;
	char **overrides;	/* "name=value" strings from -o, NULL-terminated */
	size_t noverrides;
	char *text;		/* the whole entry, normalised, for change detection and -M:
				 * columns as written ("-" kept), single spaces, arguments
				 * re-braced only where needed. Compare maxproc too: "-"
				 * follows default_process_limit. */
	int line;		/* first line in the file */
};

struct master_cf {
	struct master_ent *ents;
	size_t count;
};

/* Parse master.cf at path. On success 0 and *cfp filled. On a syntax error
 * -1 and *errp set to "path, line N: reason" (caller frees); nothing is
 * returned half-parsed. default_maxproc fills "-" in the maxproc column. */
int master_cf_read(const char *path, int default_maxproc, struct master_cf *cfp, char **errp);
/* Parse from a string (tests, postern-conf). name is used in errors. */
int master_cf_parse(const char *name, const char *text, int default_maxproc,
		    struct master_cf *cfp, char **errp);
void master_cf_free(struct master_cf *cf);
/* "inet", "unix", ... */
const char *master_type_name(enum master_type type);

#endif
