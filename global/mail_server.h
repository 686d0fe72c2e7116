/*
 * mail_server - the one skeleton every postern daemon is built on.
 *
 * A daemon's main() hands a struct server_def to mail_server_main(), which
 * does everything that is the same for every service, in this order:
 *   1. parse master's argv (see master(8): -n service -t type [-u] [-c]
 *      [-l|-z] -s N [-v] [-o name=value ...] [args ...]);
 *   2. read main.cf from $MAIL_CONFIG, apply the -o overrides, open the log
 *      as syslog_name/<program>;
 *   3. check master.cf against the daemon's needs (a solitary service with
 *      maxproc != 1, an unlimited one with maxproc != 0, or a privileged
 *      one marked unpriv=y is a fatal configuration error);
 *   4. pre_jail() while still privileged (open keys, tables, sockets);
 *   5. with -u, chroot to queue_directory (with -c) and become mail_owner
 *      BEFORE any input is read;
 *   6. post_jail();
 *   7. the loop: wait on the listen descriptors and the status pipe; take
 *      one request, report TAKEN to master, serve it, report AVAIL; exit
 *      after max_use requests, after max_idle seconds without one, or when
 *      master closes the status pipe (it exited, or a reload retired this
 *      process's generation): the request in hand is always finished first.
 *
 * SERVER_SINGLE serves one client connection at a time (smtpd, cleanup):
 * service() gets a blocking, close-on-exec descriptor and must not close
 * it. SERVER_TRIGGER reads short wake-up messages ("W") from a fifo or a
 * UNIX socket and passes them to trigger() (qmgr, pickup).
 */
#ifndef POSTERN_MAIL_SERVER_H
#define POSTERN_MAIL_SERVER_H

#include <stddef.h>

enum server_kind { SERVER_SINGLE, SERVER_TRIGGER };

/* Trigger messages longer than this are cut; triggers are a few bytes. */
#define MAIL_SERVER_TRIGGER_MAX 1024

struct server_def {
	const char *name; /* program name: log tag is syslog_name/name */
	enum server_kind kind;
	/* SERVER_SINGLE: serve one client. argv: master.cf arguments left
	 * after the options (NULL-terminated, may be empty). */
	void (*service)(int client_fd, const char *service, char **argv);
	/* SERVER_TRIGGER: handle one trigger message of len bytes. */
	void (*trigger)(const char *buf, size_t len, const char *service,
			char **argv);
	/* Optional hooks around the privilege drop. */
	void (*pre_jail)(const char *service, char **argv);
	void (*post_jail)(const char *service, char **argv);
	unsigned solitary : 1;	 /* requires maxproc 1 (qmgr) */
	unsigned unlimited : 1;	 /* requires maxproc 0 (cleanup) */
	unsigned privileged : 1; /* requires unpriv=n (local, pipe, virtual) */
	unsigned resident : 1;	 /* ignores max_idle and max_use (qmgr) */
};

/* Run the daemon; never returns (exits 0 when done, msg_fatal on a broken
 * environment or configuration). */
_Noreturn void mail_server_main(int argc, char **argv,
				const struct server_def *def);

/* For the running daemon: its master.cf service name ("smtp",
 * "127.0.0.1:2525") and master's configuration generation. */
const char *mail_server_service(void);
unsigned mail_server_generation(void);

#endif
