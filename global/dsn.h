/*
 * dsn - one delivery status, as a delivery agent reports it and a
 * delivery status notification (RFC 3464) shows it.
 *
 * Every delivery agent describes what happened to a recipient with a
 * struct dsn; the same fields go into the status logs (bounce/, defer/,
 * trace/), the maillog line ("dsn=5.1.1, status=bounced (reason)") and
 * the notification bounce builds. Fields are borrowed strings, never
 * NULL ("" when absent), and never contain CR, LF or NUL (dsn_ok()).
 */
#ifndef POSTERN_DSN_H
#define POSTERN_DSN_H

#define DSN_STATUS_MAX 16 /* "5.123.456" and room */

struct dsn {
	const char *status; /* RFC 3463 "x.y.z"; its class says what happened:
			     * 2 delivered, 4 deferred, 5 bounced */
	const char *action; /* RFC 3464 Action: failed, delayed, delivered,
			     * relayed, expanded */
	const char *reason; /* for people and the log: "host mx.example[192.0.2.1]
			     * said: 550 5.1.1 no such user (in reply to RCPT TO
			     * command)" */
	const char *dtype;  /* Diagnostic-Code type: "smtp" or "" */
	const char *dtext;  /* Diagnostic-Code text: the remote reply, "" */
	const char *mtype;  /* Remote-MTA type: "dns" or "" */
	const char *mname;  /* Remote-MTA name: host name, "" */
};

/* Whether status is a well-formed RFC 3463 code ("2.0.0", "5.1.10"). */
int dsn_status_ok(const char *status);
/* Whether every field is present and free of CR, LF and NUL, and status
 * is well formed: what a writer of logs and notices checks first. */
int dsn_ok(const struct dsn *dsn);

/* DSN NOTIFY bits, as the queue file's n record and the protocols carry
 * them (0: not given, the sender gets failures and delays). */
#define DSN_NOTIFY_NEVER   (1 << 0)
#define DSN_NOTIFY_SUCCESS (1 << 1)
#define DSN_NOTIFY_FAILURE (1 << 2)
#define DSN_NOTIFY_DELAY   (1 << 3)

/* DSN RET values (the queue file's < record). */
#define DSN_RET_NONE 0 /* not given: Postfix's default is the full message */
#define DSN_RET_FULL 1
#define DSN_RET_HDRS 2

#endif
