/*
 * smtpd.h - the state of one SMTP session, shared by the smtpd modules:
 *   smtpd.c        the session: greeting, command loop, HELO/EHLO, MAIL,
 *                  RCPT, RSET, NOOP, VRFY, HELP, QUIT, logging;
 *   smtpd_chat.c   client I/O: the input buffer, replies, timeouts,
 *                  the error tarpit, pipelining detection;
 *   smtpd_check.c  access restrictions (smtpd_*_restrictions);
 *   smtpd_data.c   DATA and BDAT, the Received header, the hand-off to
 *                  cleanup;
 *   smtpd_peer.c   the client's address and (DNS-confirmed) name.
 *
 * One process serves one client at a time, so there is one state, on the
 * stack of the service function; everything per transaction is released
 * by smtpd_reset_transaction() and everything per session at the end of
 * the service function.
 */
#ifndef POSTERN_SMTPD_H
#define POSTERN_SMTPD_H

#include <stddef.h>
#include <stdint.h>

#include "smtp_addr.h"
#include "smtp_cmd.h"

struct strbuf;
struct cleanup_clnt;
struct smtp_data;

/* Input read ahead from the client: at most this much is buffered. */
#define SMTPD_IBUF_SIZE 16384
/* Replies a session may queue before they must be flushed. */
#define SMTPD_OBUF_MAX (64 * 1024)

/* PREPEND headers kept per transaction (more are dropped, logged). */
#define SMTPD_PREPEND_MAX 100

/* Per-verb command counters for the "disconnect from" line. */
#define SMTPD_NVERBS (SMTP_VERB_AUTH + 1)

struct smtpd_state {
	int fd;

	/* Client input: ibuf[ipos..iend) is read but not yet used. */
	unsigned char ibuf[SMTPD_IBUF_SIZE];
	size_t ipos, iend;
	struct strbuf *obuf; /* replies not yet written */
	int io_error;	     /* EOF, timeout or I/O error: end the session */
	const char *where;   /* last command ("RCPT", "END-OF-MESSAGE"), for
			      * "timeout after ..." and "lost connection after
			      * ..." */

	/* The client. */
	char addr[64];	   /* numeric, no brackets */
	char rfc_addr[80]; /* as in a Received header: "IPv6:..." for v6 */
	char port[8];
	char name[256];		/* verified name, or "unknown" */
	char reverse_name[256]; /* PTR name before confirmation, or "unknown" */
	char namaddr[400];	/* "name[addr]" for logs and replies */
	int in_mynetworks;	/* 1 yes, 0 no */

	/* The session. */
	char *helo;		/* HELO/EHLO argument, NULL before */
	const char *protocol;	/* "SMTP" or "ESMTP" */
	int pipelining_offered; /* EHLO reply listed PIPELINING */
	int unauth_pipelining;	/* seen: for reject_unauth_pipelining */
	int error_count;
	unsigned cmd_ok[SMTPD_NVERBS + 1]; /* [SMTPD_NVERBS]: unknown */
	unsigned cmd_total[SMTPD_NVERBS + 1];
	struct smtp_cmd_reader *reader;
	enum smtp_newline newline_mode; /* after the exclusions */
	char *client_reject; /* smtpd_delay_reject = no: the saved reply */

	/* The transaction (MAIL FROM until the end of the message / RSET). */
	int in_mail;
	struct smtp_addr_args mail; /* MAIL FROM argument */
	char *sender;		    /* external form, for logs; "" for <> */
	char *first_rcpt;	    /* for the Received "for" clause */
	char *last_rcpt;	    /* the recipient being checked */
	unsigned rcpt_count;	    /* accepted recipients */
	struct cleanup_clnt *cleanup;
	char *queue_id;
	int cleanup_flags; /* CLEANUP_FLAG_DISCARD from an access table */
	/* Access table actions that cleanup carries out (sent before the
	 * content): PREPEND headers, and the last REDIRECT, FILTER, BCC. */
	char **prepend; /* NULL-terminated, at most SMTPD_PREPEND_MAX */
	size_t prepend_count;
	char *redirect;
	char *filter;
	char *bcc;

	/* DATA/BDAT. */
	struct smtp_data *data;
	int bdat_active;  /* a BDAT transfer is under way */
	char *bdat_error; /* a failed BDAT transfer: the reply to repeat */
	int data_discard; /* read the content but do not pass it on */
};

/* smtpd.c */
/* Forget the transaction: abort the cleanup connection if open. */
void smtpd_reset_transaction(struct smtpd_state *state);
/* Log "ID|NOQUEUE: reject: CMD from CLIENT: REPLY; from=<> to=<> ..." */
void smtpd_log_reject(struct smtpd_state *state, const char *what,
		      const char *reply);

/* smtpd_chat.c */
/* Queue a reply (sanitised, split as needed). 4xx/5xx replies count as
 * errors; past smtpd_soft_error_limit each one waits
 * smtpd_error_sleep_time first. */
void smtpd_reply(struct smtpd_state *state, int code, const char *enh,
		 const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Queue a multi-line reply. */
void smtpd_reply_lines(struct smtpd_state *state, int code, const char *enh,
		       const char *const *lines, size_t count);
/* Queue a reply given as "NNN X.Y.Z text" (from a check or cleanup). */
void smtpd_reply_text(struct smtpd_state *state, const char *reply);
/* Write the queued replies; on failure io_error is set. */
void smtpd_flush(struct smtpd_state *state);
/* Make sure unread input is buffered, reading (after a flush) with
 * smtpd_timeout. 0, or -1 with io_error set and the reason logged (a
 * timeout also sends 421 4.4.2). */
int smtpd_fill(struct smtpd_state *state);
/* 1 if the client has sent bytes we have not used yet. */
int smtpd_input_pending(struct smtpd_state *state);

/* smtpd_check.c */
enum smtpd_check_result {
	SMTPD_CHECK_DUNNO,  /* no decision: go on */
	SMTPD_CHECK_OK,	    /* permit */
	SMTPD_CHECK_REJECT, /* reply in the reply buffer */
};
/* Parse the restriction lists and lists of networks and domains once.
 * A malformed one is logged; the checks that need it then answer
 * 451 4.3.5 Server configuration error. */
void smtpd_check_init(void);
/* The checks for each stage; SMTPD_CHECK_REJECT with the reply
 * ("NNN X.Y.Z text") in reply. With smtpd_delay_reject, rcpt also runs
 * the client, helo and sender restrictions. */
int smtpd_check_client(struct smtpd_state *state, struct strbuf *reply);
int smtpd_check_helo(struct smtpd_state *state, struct strbuf *reply);
int smtpd_check_mail(struct smtpd_state *state, struct strbuf *reply);
int smtpd_check_rcpt(struct smtpd_state *state, const char *rcpt,
		     struct strbuf *reply);
int smtpd_check_data(struct smtpd_state *state, const char *what,
		     struct strbuf *reply);
int smtpd_check_eod(struct smtpd_state *state, struct strbuf *reply);
/* 1 if addr is in mynetworks (0 on a lookup error, logged). */
int smtpd_check_mynetworks(const char *addr);
/* 1 if addr is in smtpd_forbid_bare_newline_exclusions. */
int smtpd_check_newline_excluded(const char *addr);

/* smtpd_data.c */
void smtpd_data_cmd(struct smtpd_state *state, const char *arg);
void smtpd_bdat_cmd(struct smtpd_state *state, const char *arg);
/* Free the DATA machine of the session. */
void smtpd_data_free_state(struct smtpd_state *state);

/* smtpd_peer.c */
/* Fill in addr, port, name and namaddr for the client on state->fd. */
void smtpd_peer_init(struct smtpd_state *state);

#endif
