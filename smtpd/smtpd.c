/*
 * smtpd - the postern SMTP server (see smtpd(8)).
 *
 * One process serves one client at a time (SERVER_SINGLE on the
 * mail_server skeleton, master.cf "smtp inet n - n - - smtpd"). It speaks
 * ESMTP (RFC 5321) with PIPELINING, SIZE, ENHANCEDSTATUSCODES, 8BITMIME,
 * DSN, SMTPUTF8 and CHUNKING, applies the access restrictions of
 * smtpd_check.c, and streams each message to the cleanup service, which
 * alone writes queue files.
 *
 * The transaction and cleanup: the cleanup connection is opened at MAIL
 * FROM (so the queue ID exists for the logs and the Received header) and
 * envelope records go to cleanup as each command is accepted. Only the
 * end of a complete, accepted message finishes it (smtpd_data.c); RSET,
 * a new HELO/EHLO, QUIT, a timeout, a lost client and every refusal go
 * through smtpd_reset_transaction(), which aborts it, and cleanup then
 * removes the file. So the client is told 250 ... queued as ID exactly
 * when the message is in the queue, fsync'ed.
 *
 * Input discipline: commands and content are read from one buffer by the
 * smtp_cmd and smtp_data machines, which never consume past the end of
 * what they were asked to read; so the bytes after DATA's 354 belong to
 * the message and the bytes after its end to the next command, whatever
 * the TCP segmentation. Every read and write is bounded by smtpd_timeout.
 *
 * Parsing of commands, addresses and ESMTP parameters is in global/
 * (smtp_cmd, smtp_addr, smtp_data, smtp_reply), shared and unit-tested.
 *
 * Seams for later work: STARTTLS and AUTH are answered as not
 * implemented and not offered in EHLO; the milter connect/helo events,
 * the policy service and SPF belong beside the smtpd_check_*() calls.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <sys/time.h>

#include "cleanup_clnt.h"
#include "mail_params.h"
#include "mail_server.h"
#include "msg.h"
#include "mymalloc.h"
#include "rec_type.h"
#include "smtp_addr.h"
#include "smtp_cmd.h"
#include "smtp_data.h"
#include "smtpd.h"
#include "strbuf.h"

/* Where cleanup listens, relative to queue_directory (our cwd). */

static enum smtp_newline smtpd_newline_mode;

void smtpd_reset_transaction(struct smtpd_state *state)
{
	if (state->cleanup != NULL)
		cleanup_clnt_abort(&state->cleanup);
	smtp_addr_args_free(&state->mail);
	myfree(state->sender);
	myfree(state->first_rcpt);
	myfree(state->queue_id);
	myfree(state->bdat_error);
	for (size_t i = 0; i < state->prepend_count; i++)
		myfree(state->prepend[i]);
	myfree(state->prepend);
	state->prepend_count = 0;
	myfree(state->redirect);
	myfree(state->filter);
	myfree(state->bcc);
	state->in_mail = 0;
	state->rcpt_count = 0;
	state->cleanup_flags = 0;
	state->bdat_active = 0;
	state->data_discard = 0;
}

void smtpd_log_reject(struct smtpd_state *state, const char *what,
		      const char *reply)
{
	struct strbuf *line = strbuf_new(STRBUF_NO_MAX);

	strbuf_printf(line, "%s: reject: %s from %s: %s;",
		      state->queue_id ? state->queue_id : "NOQUEUE", what,
		      state->namaddr, reply);
	if (state->in_mail)
		strbuf_printf(line, " from=<%s>", state->sender);
	if (state->last_rcpt)
		strbuf_printf(line, " to=<%s>", state->last_rcpt);
	strbuf_printf(line, " proto=%s", state->protocol);
	if (state->helo)
		strbuf_printf(line, " helo=<%s>", state->helo);
	msg_info("%s", strbuf_str(line));
	strbuf_free(&line);
}

static void reply_addr_err(struct smtpd_state *state,
			   const struct smtp_addr_err *err)
{
	smtpd_reply(state, err->code, err->enh, "%s", err->text);
}

/* A refusal from a restriction: log it and pass it on. */
static void reject_with(struct smtpd_state *state, const char *what,
			struct strbuf *reply)
{
	smtpd_log_reject(state, what, strbuf_str(reply));
	smtpd_reply_text(state, strbuf_str(reply));
}

/* smtpd_delay_reject = no and the client was refused at connect time. */
static int client_refused(struct smtpd_state *state)
{
	if (state->client_reject == NULL)
		return 0;
	smtpd_reply_text(state, state->client_reject);
	return 1;
}

static void ehlo_reply(struct smtpd_state *state)
{
	const char *lines[12];
	char size[64];
	size_t n = 0;

	lines[n++] = var_myhostname;
	lines[n++] = "PIPELINING";
	if (var_message_size_limit > 0) {
		snprintf(size, sizeof(size), "SIZE %ld",
			 var_message_size_limit);
		lines[n++] = size;
	} else {
		lines[n++] = "SIZE";
	}
	if (!var_disable_vrfy_command)
		lines[n++] = "VRFY";
	/* Seams: STARTTLS and AUTH go here once they exist. */
	lines[n++] = "ENHANCEDSTATUSCODES";
	lines[n++] = "8BITMIME";
	lines[n++] = "DSN";
	if (var_smtputf8_enable)
		lines[n++] = "SMTPUTF8";
	lines[n++] = "CHUNKING";
	smtpd_reply_lines(state, 250, NULL, lines, n);
	state->pipelining_offered = 1;
}

static void helo_cmd(struct smtpd_state *state, const char *arg, int ehlo)
{
	struct strbuf *reply;

	/* A control character (a CR is possible: only LF ends a command
	 * line) must not reach the Received header or the envelope. */
	int ctl = 0;

	for (const char *p = arg; *p; p++)
		if ((unsigned char)*p < 32 || *p == 127)
			ctl = 1;
	if (*arg == 0 || ctl) {
		smtpd_reply(state, 501, "5.5.4", "Syntax: %s hostname",
			    ehlo ? "EHLO" : "HELO");
		return;
	}
	if (client_refused(state))
		return;
	smtpd_reset_transaction(state);
	myfree(state->helo);
	state->helo = mystrdup(arg);
	state->protocol = ehlo ? "ESMTP" : "SMTP";
	if (!ehlo)
		state->pipelining_offered = 0;
	reply = strbuf_new(STRBUF_NO_MAX);
	if (smtpd_check_helo(state, reply) == SMTPD_CHECK_REJECT) {
		reject_with(state, ehlo ? "EHLO" : "HELO", reply);
		myfree(state->helo);
	} else if (ehlo) {
		ehlo_reply(state);
	} else {
		smtpd_reply(state, 250, NULL, "%s", var_myhostname);
	}
	strbuf_free(&reply);
}

/* Free space in the queue file system; -1 if unknown. */
static long long queue_free_bytes(void)
{
	struct statvfs sv;

	if (statvfs(".", &sv) < 0)
		return -1;
	return (long long)sv.f_bavail * (long long)sv.f_frsize;
}

/* The envelope so far: arrival time, client attributes, sender, DSN. */
static void mail_envelope(struct smtpd_state *state)
{
	struct cleanup_clnt *cc = state->cleanup;
	struct timeval tv;
	const char *helo = state->helo ? state->helo : "";

	gettimeofday(&tv, NULL);
	cleanup_clnt_printf(cc, REC_TYPE_TIME, "%ld %ld", (long)tv.tv_sec,
			    (long)tv.tv_usec);
	cleanup_clnt_printf(cc, REC_TYPE_ATTR, "client_name=%s", state->name);
	cleanup_clnt_printf(cc, REC_TYPE_ATTR, "reverse_client_name=%s",
			    state->reverse_name);
	cleanup_clnt_printf(cc, REC_TYPE_ATTR, "client_address=%s",
			    state->addr);
	cleanup_clnt_printf(cc, REC_TYPE_ATTR, "client_port=%s", state->port);
	if (*helo)
		cleanup_clnt_printf(cc, REC_TYPE_ATTR, "helo_name=%s", helo);
	cleanup_clnt_printf(cc, REC_TYPE_ATTR, "protocol_name=%s",
			    state->protocol);
	cleanup_clnt_printf(cc, REC_TYPE_ATTR, "log_client_name=%s",
			    state->name);
	cleanup_clnt_printf(cc, REC_TYPE_ATTR, "log_client_address=%s",
			    state->addr);
	cleanup_clnt_printf(cc, REC_TYPE_ATTR, "log_client_port=%s",
			    state->port);
	if (*helo)
		cleanup_clnt_printf(cc, REC_TYPE_ATTR, "log_helo_name=%s",
				    helo);
	cleanup_clnt_printf(cc, REC_TYPE_ATTR, "log_protocol_name=%s",
			    state->protocol);
	cleanup_clnt_printf(cc, REC_TYPE_ATTR, "rewrite_context=remote");
	if (state->mail.body == SMTP_BODY_8BITMIME)
		cleanup_clnt_printf(cc, REC_TYPE_ATTR, "encoding=8bit");
	else if (state->mail.body == SMTP_BODY_7BIT)
		cleanup_clnt_printf(cc, REC_TYPE_ATTR, "encoding=7bit");
	if (state->mail.smtputf8)
		cleanup_clnt_printf(cc, REC_TYPE_ATTR, "smtputf8=1");
	cleanup_clnt_rec(cc, REC_TYPE_FROM, state->mail.addr,
			 strlen(state->mail.addr));
	if (state->mail.envid != NULL)
		cleanup_clnt_rec(cc, REC_TYPE_DSN_ENVID, state->mail.envid,
				 strlen(state->mail.envid));
	if (state->mail.ret != SMTP_RET_NONE)
		cleanup_clnt_printf(cc, REC_TYPE_DSN_RET, "%d",
				    state->mail.ret == SMTP_RET_FULL ? 1 : 2);
}

static void mail_cmd(struct smtpd_state *state, const char *arg)
{
	struct smtp_addr_opts opts = {
	    .strict_rfc821 = var_strict_rfc821_envelopes,
	    .smtputf8_enable = var_smtputf8_enable,
	    .dsn_enable = 1,
	    .size_limit = (uint64_t)var_message_size_limit,
	};
	struct smtp_addr_err err;
	struct strbuf *why;
	long long need, have;

	if (client_refused(state))
		return;
	if (var_smtpd_helo_required && state->helo == NULL) {
		smtpd_reply(state, 503, "5.5.1", "Error: send HELO/EHLO first");
		return;
	}
	if (state->in_mail) {
		smtpd_reply(state, 503, "5.5.1", "Error: nested MAIL command");
		return;
	}
	if (smtp_addr_parse(SMTP_ADDR_MAIL, arg, &opts, &state->mail, &err) <
	    0) {
		reply_addr_err(state, &err);
		return;
	}
	need = var_message_size_limit + var_message_size_limit / 2;
	if (need < var_queue_minfree)
		need = var_queue_minfree;
	have = queue_free_bytes();
	if (have >= 0 && have < need) {
		msg_warn("not enough free space in the queue file system: "
			 "%lld bytes, need %lld",
			 have, need);
		smtpd_reply(state, 452, "4.3.1", "Insufficient system storage");
		smtp_addr_args_free(&state->mail);
		return;
	}
	state->in_mail = 1;
	state->sender = mystrdup(state->mail.ext);
	why = strbuf_new(STRBUF_NO_MAX);
	if (smtpd_check_mail(state, why) == SMTPD_CHECK_REJECT) {
		reject_with(state, "MAIL", why);
		smtpd_reset_transaction(state);
		strbuf_free(&why);
		return;
	}
	strbuf_reset(why);
	state->cleanup = cleanup_clnt_open(
	    CLEANUP_SERVICE_PATH, CLEANUP_FLAG_FILTER | CLEANUP_FLAG_MAP_OK,
	    var_ipc_timeout, why);
	if (state->cleanup == NULL) {
		msg_warn("connect to cleanup service: %s", strbuf_str(why));
		smtpd_reply(state, 451, "4.3.0",
			    "Error: queue file write error");
		smtpd_reset_transaction(state);
		strbuf_free(&why);
		return;
	}
	strbuf_free(&why);
	state->queue_id = mystrdup(cleanup_clnt_queue_id(state->cleanup));
	msg_info("%s: client=%s", state->queue_id, state->namaddr);
	mail_envelope(state);
	smtpd_reply(state, 250, "2.1.0", "Ok");
}

static void rcpt_cmd(struct smtpd_state *state, const char *arg)
{
	struct smtp_addr_opts opts = {
	    .strict_rfc821 = var_strict_rfc821_envelopes,
	    .smtputf8_enable = var_smtputf8_enable,
	    .smtputf8_declared = state->mail.smtputf8,
	    .dsn_enable = 1,
	};
	struct smtp_addr_args rcpt = {0};
	struct smtp_addr_err err;
	struct strbuf *reply;

	if (client_refused(state))
		return;
	if (!state->in_mail) {
		smtpd_reply(state, 503, "5.5.1", "Error: need MAIL command");
		return;
	}
	/* The content has started going to cleanup: a recipient now would
	 * land after it (RFC 3030 allows only BDAT, RSET, QUIT, NOOP). */
	if (state->bdat_active || state->bdat_error) {
		smtpd_reply(state, 503, "5.5.1", "Error: RCPT after BDAT");
		return;
	}
	if (state->rcpt_count >= (unsigned)var_smtpd_recipient_limit) {
		smtpd_reply(state, 452, "4.5.3", "Error: too many recipients");
		return;
	}
	if (smtp_addr_parse(SMTP_ADDR_RCPT, arg, &opts, &rcpt, &err) < 0) {
		reply_addr_err(state, &err);
		return;
	}
	state->last_rcpt = rcpt.ext;
	reply = strbuf_new(STRBUF_NO_MAX);
	if (smtpd_check_rcpt(state, rcpt.addr, reply) == SMTPD_CHECK_REJECT) {
		reject_with(state, "RCPT", reply);
	} else {
		struct cleanup_clnt *cc = state->cleanup;

		if (rcpt.orcpt_addr != NULL)
			cleanup_clnt_printf(cc, REC_TYPE_DSN_ORCPT, "%s;%s",
					    rcpt.orcpt_type ? rcpt.orcpt_type
							    : "rfc822",
					    rcpt.orcpt_addr);
		if (rcpt.notify != 0)
			cleanup_clnt_printf(cc, REC_TYPE_DSN_NOTIFY, "%d",
					    rcpt.notify);
		cleanup_clnt_rec(cc, REC_TYPE_RCPT, rcpt.addr,
				 strlen(rcpt.addr));
		if (state->rcpt_count++ == 0)
			state->first_rcpt = mystrdup(rcpt.ext);
		smtpd_reply(state, 250, "2.1.5", "Ok");
	}
	state->last_rcpt = NULL;
	strbuf_free(&reply);
	smtp_addr_args_free(&rcpt);
}

static void vrfy_cmd(struct smtpd_state *state, const char *arg)
{
	if (var_disable_vrfy_command) {
		smtpd_reply(state, 502, "5.5.1", "VRFY command is disabled");
		return;
	}
	if (*arg == 0) {
		smtpd_reply(state, 501, "5.5.4", "Syntax: VRFY address");
		return;
	}
	/* No recipient validation yet: "cannot verify, will accept". */
	smtpd_reply(state, 252, "2.0.0", "%s", arg);
}

/* Commands after which a client must wait for our reply (RFC 2920
 * section 3.1), so input already pending after them is a violation. */
static int must_end_group(enum smtp_verb verb)
{
	switch (verb) {
	case SMTP_VERB_EHLO:
	case SMTP_VERB_HELO:
	case SMTP_VERB_DATA:
	case SMTP_VERB_VRFY:
	case SMTP_VERB_NOOP:
	case SMTP_VERB_STARTTLS:
	case SMTP_VERB_AUTH:
		return 1;
	default:
		return 0;
	}
}

/* A printable copy of what the client sent ahead, for the log. */
static void pending_text(struct smtpd_state *state, char *out, size_t size)
{
	size_t n = state->iend - state->ipos, i;

	if (n > size - 1)
		n = size - 1;
	for (i = 0; i < n; i++) {
		/* UNSAFE: ipos + i < iend <= sizeof(ibuf), i < size - 1. */
		unsigned char ch = state->ibuf[state->ipos + i];

		if (ch == '\r' || ch == '\n')
			break;
		out[i] = (ch < 32 || ch > 126) ? '?' : (char)ch;
	}
	out[i] = 0;
}

/* 1 if the session must end for improper pipelining. */
static int pipelining_violation(struct smtpd_state *state, enum smtp_verb verb)
{
	char text[100];

	if (verb == SMTP_VERB_BDAT || verb == SMTP_VERB_QUIT ||
	    !smtpd_input_pending(state))
		return 0;
	if (state->pipelining_offered && !must_end_group(verb))
		return 0;
	if (!state->pipelining_offered)
		state->unauth_pipelining = 1;
	if (!var_smtpd_forbid_unauth_pipelining)
		return 0;
	if (state->ipos == state->iend)
		smtpd_fill(state); /* pending on the socket: show it */
	pending_text(state, text, sizeof(text));
	msg_info("improper command pipelining after %s from %s: %s",
		 state->where, state->namaddr, text);
	smtpd_reply(state, 554, "5.5.0",
		    "Error: SMTP protocol synchronization");
	return 1;
}

/* The per-command counters, in Postfix's order. */
static void log_disconnect(struct smtpd_state *state)
{
	static const struct {
		const char *name;
		int index;
	} order[] = {
	    {"helo", SMTP_VERB_HELO},	      {"ehlo", SMTP_VERB_EHLO},
	    {"starttls", SMTP_VERB_STARTTLS}, {"auth", SMTP_VERB_AUTH},
	    {"mail", SMTP_VERB_MAIL},	      {"rcpt", SMTP_VERB_RCPT},
	    {"data", SMTP_VERB_DATA},	      {"bdat", SMTP_VERB_BDAT},
	    {"rset", SMTP_VERB_RSET},	      {"noop", SMTP_VERB_NOOP},
	    {"vrfy", SMTP_VERB_VRFY},	      {"help", SMTP_VERB_HELP},
	    {"quit", SMTP_VERB_QUIT},	      {"unknown", SMTPD_NVERBS},
	};
	struct strbuf *line = strbuf_new(STRBUF_NO_MAX);
	unsigned ok = 0, total = 0;

	strbuf_printf(line, "disconnect from %s", state->namaddr);
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		unsigned o = state->cmd_ok[order[i].index];
		unsigned t = state->cmd_total[order[i].index];

		if (t == 0)
			continue;
		ok += o;
		total += t;
		if (o == t)
			strbuf_printf(line, " %s=%u", order[i].name, o);
		else
			strbuf_printf(line, " %s=%u/%u", order[i].name, o, t);
	}
	if (ok == total)
		strbuf_printf(line, " commands=%u", ok);
	else
		strbuf_printf(line, " commands=%u/%u", ok, total);
	msg_info("%s", strbuf_str(line));
	strbuf_free(&line);
}

/* Run one command line; 1 if the session ends after it. */
static int smtpd_command(struct smtpd_state *state, char *line)
{
	struct smtp_cmd cmd;
	int idx, errors = state->error_count, done = 0;

	smtp_cmd_parse(line, &cmd);
	idx = (cmd.verb == SMTP_VERB_EMPTY || cmd.verb == SMTP_VERB_UNKNOWN)
		  ? SMTPD_NVERBS
		  : (int)cmd.verb;
	state->cmd_total[idx]++;
	state->where = idx == SMTPD_NVERBS ? "UNKNOWN" : cmd.name;
	if (pipelining_violation(state, cmd.verb))
		return 1;
	switch (cmd.verb) {
	case SMTP_VERB_EHLO:
		helo_cmd(state, cmd.arg, 1);
		break;
	case SMTP_VERB_HELO:
		helo_cmd(state, cmd.arg, 0);
		break;
	case SMTP_VERB_MAIL:
		mail_cmd(state, cmd.arg);
		break;
	case SMTP_VERB_RCPT:
		rcpt_cmd(state, cmd.arg);
		break;
	case SMTP_VERB_DATA:
		smtpd_data_cmd(state, cmd.arg);
		break;
	case SMTP_VERB_BDAT:
		smtpd_bdat_cmd(state, cmd.arg);
		break;
	case SMTP_VERB_RSET:
		smtpd_reset_transaction(state);
		smtpd_reply(state, 250, "2.0.0", "Ok");
		break;
	case SMTP_VERB_NOOP:
		smtpd_reply(state, 250, "2.0.0", "Ok");
		break;
	case SMTP_VERB_QUIT:
		smtpd_reply(state, 221, "2.0.0", "Bye");
		done = 1;
		break;
	case SMTP_VERB_VRFY:
		vrfy_cmd(state, cmd.arg);
		break;
	case SMTP_VERB_HELP:
		smtpd_reply(state, 214, "2.0.0",
			    "Commands: EHLO HELO MAIL RCPT DATA BDAT RSET NOOP "
			    "VRFY HELP QUIT");
		break;
	case SMTP_VERB_STARTTLS:
		/* Seam: TLS. Until then it is not offered in EHLO. */
		smtpd_reply(state, 502, "5.5.1",
			    "Error: command not implemented");
		break;
	case SMTP_VERB_AUTH:
		/* Seam: SASL. */
		smtpd_reply(state, 503, "5.5.1",
			    "Error: authentication not enabled");
		break;
	case SMTP_VERB_EMPTY:
		smtpd_reply(state, 500, "5.5.2", "Error: bad syntax");
		break;
	case SMTP_VERB_UNKNOWN:
		smtpd_reply(state, 502, "5.5.2",
			    "Error: command not recognized");
		break;
	}
	if (state->error_count == errors)
		state->cmd_ok[idx]++;
	return done;
}

/* A line the reader refused (too long, NUL, bare LF). 1: session ends. */
static int smtpd_bad_line(struct smtpd_state *state, enum smtp_cmd_status st)
{
	state->cmd_total[SMTPD_NVERBS]++;
	if (st == SMTP_CMD_BARE_LF) {
		int code = var_smtpd_forbid_bare_newline_reject_code;

		msg_info("%s: reject: bare <LF> received from %s",
			 state->queue_id ? state->queue_id : "NOQUEUE",
			 state->namaddr);
		smtpd_reply(state, code, code >= 500 ? "5.5.2" : "4.5.2", "%s",
			    smtp_cmd_status_text(st));
		return code == 521;
	}
	if (st == SMTP_CMD_NUL)
		msg_info("warning: NUL character in command from %s",
			 state->namaddr);
	smtpd_reply_text(state, smtp_cmd_status_text(st));
	return 0;
}

static void smtpd_session(struct smtpd_state *state)
{
	struct strbuf *reply = strbuf_new(STRBUF_NO_MAX);

	if (var_smtpd_forbid_unauth_pipelining && smtpd_input_pending(state)) {
		state->where = "CONNECT";
		pipelining_violation(state, SMTP_VERB_UNKNOWN);
		strbuf_free(&reply);
		return;
	}
	if (smtpd_check_client(state, reply) == SMTPD_CHECK_REJECT) {
		smtpd_log_reject(state, "CONNECT", strbuf_str(reply));
		state->client_reject = strbuf_export(reply);
	}
	strbuf_free(&reply);
	smtpd_reply(state, 220, NULL, "%s", var_smtpd_banner);
	for (;;) {
		enum smtp_cmd_status st;
		size_t used;

		if (state->io_error)
			return;
		if (state->error_count >= var_smtpd_hard_error_limit) {
			msg_info("too many errors after %s from %s",
				 state->where, state->namaddr);
			smtpd_reply(state, 421, "4.7.0",
				    "%s Error: too many errors",
				    var_myhostname);
			return;
		}
		do {
			if (smtpd_fill(state) < 0)
				return;
			st = smtp_cmd_read(state->reader,
					   state->ibuf + state->ipos,
					   state->iend - state->ipos, &used);
			state->ipos += used;
		} while (st == SMTP_CMD_MORE);
		if (st != SMTP_CMD_LINE) {
			if (smtpd_bad_line(state, st))
				return;
			continue;
		}
		if (smtp_cmd_reader_bare_lf(state->reader) &&
		    state->newline_mode == SMTP_NEWLINE_NOTE)
			msg_info("bare <LF> received from %s", state->namaddr);
		if (smtpd_command(state, smtp_cmd_reader_line(state->reader)))
			return;
	}
}

static void smtpd_service(int fd, const char *service, char **argv)
{
	struct smtpd_state *state = mycalloc(1, sizeof(*state));

	(void)service;
	(void)argv;
	state->fd = fd;
	state->where = "CONNECT";
	state->protocol = "SMTP";
	state->obuf = strbuf_new(SMTPD_OBUF_MAX);
	smtpd_peer_init(state);
	msg_info("connect from %s", state->namaddr);
	state->in_mynetworks = smtpd_check_mynetworks(state->addr);
	state->newline_mode = smtpd_newline_mode;
	if (state->newline_mode == SMTP_NEWLINE_REJECT &&
	    smtpd_check_newline_excluded(state->addr))
		state->newline_mode = SMTP_NEWLINE_NORMALIZE;
	state->reader = smtp_cmd_reader_new((size_t)var_line_length_limit,
					    state->newline_mode);

	smtpd_session(state);

	smtpd_flush(state);
	smtpd_reset_transaction(state);
	log_disconnect(state);
	smtp_cmd_reader_free(&state->reader);
	smtpd_data_free_state(state);
	strbuf_free(&state->obuf);
	myfree(state->helo);
	myfree(state->client_reject);
	myfree(state);
}

static void smtpd_pre_jail(const char *service, char **argv)
{
	(void)service;
	(void)argv;
	if (smtp_newline_parse(var_smtpd_forbid_bare_newline,
			       &smtpd_newline_mode) < 0) {
		msg_warn("smtpd_forbid_bare_newline: unknown value \"%s\"; "
			 "using reject",
			 var_smtpd_forbid_bare_newline);
		smtpd_newline_mode = SMTP_NEWLINE_REJECT;
	}
	if (var_smtpd_forbid_bare_newline_reject_code != 550 &&
	    var_smtpd_forbid_bare_newline_reject_code != 521) {
		msg_warn("smtpd_forbid_bare_newline_reject_code: %d is not "
			 "550 or 521; using 550",
			 var_smtpd_forbid_bare_newline_reject_code);
		var_smtpd_forbid_bare_newline_reject_code = 550;
	}
	if (var_line_length_limit < 512)
		var_line_length_limit = 512; /* RFC 5321 command length */
	smtpd_check_init();
}

int main(int argc, char **argv)
{
	static const struct server_def def = {
	    .name = "smtpd",
	    .kind = SERVER_SINGLE,
	    .service = smtpd_service,
	    .pre_jail = smtpd_pre_jail,
	};

	mail_server_main(argc, argv, &def);
}
