/*
 * smtpd_data - DATA and BDAT: the message content, from the client to
 * cleanup.
 *
 * The content is never held whole: the smtp_data machine hands out one
 * line (or one line_length_limit piece of a longer line) at a time and
 * each goes straight to cleanup as an N or L record, so memory per
 * session is bounded whatever the message size. Only
 * <CR><LF>.<CR><LF> ends DATA (smtp_data.h has the smuggling argument).
 *
 * Why a crash or a refusal here cannot queue a message: cleanup commits
 * the queue file only after it has the E record, which only
 * cleanup_clnt_finish() sends; every other way out (size limit, bare LF
 * reject, end-of-data restrictions, a lost client, RSET or QUIT in the
 * middle of BDAT) goes through smtpd_reset_transaction(), which aborts
 * the cleanup connection, and cleanup then removes the file. The client
 * hears 250 only when cleanup_clnt_finish() returned CLEANUP_STAT_OK.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cleanup_clnt.h"
#include "dsn.h"
#include "mail_params.h"
#include "msg.h"
#include "mymalloc.h"
#include "rec_type.h"
#include "smtp_data.h"
#include "smtpd.h"
#include "strbuf.h"

static int data_out(void *ctx, enum smtp_data_rec type, const char *data,
		    size_t len)
{
	struct smtpd_state *state = ctx;

	if (state->data_discard || state->cleanup == NULL)
		return 0;
	return cleanup_clnt_rec(state->cleanup,
				type == SMTP_DATA_REC_PART ? REC_TYPE_CONT
							   : REC_TYPE_NORM,
				data, len);
}

static void data_machine(struct smtpd_state *state, enum smtp_data_kind kind)
{
	if (state->data == NULL) {
		struct smtp_data_params p = {
		    .line_limit = (size_t)var_line_length_limit,
		    .size_limit = (uint64_t)var_message_size_limit,
		    .mode = state->newline_mode,
		    .out = data_out,
		    .ctx = state,
		};
		state->data = smtp_data_new(&p);
	}
	smtp_data_set_mode(state->data, state->newline_mode);
	smtp_data_begin(state->data, kind);
}

void smtpd_data_free_state(struct smtpd_state *state)
{
	smtp_data_free(&state->data);
}

/* The Received header, as the first content lines (Postfix's form). */
static void data_received(struct smtpd_state *state)
{
	struct cleanup_clnt *cc = state->cleanup;
	char date[64];
	time_t now = time(NULL);
	struct tm tm;

	localtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S %z (%Z)", &tm);
	cleanup_clnt_printf(cc, REC_TYPE_NORM, "Received: from %s (%s [%s])",
			    state->helo ? state->helo : state->name,
			    state->name, state->rfc_addr);
	if (state->rcpt_count == 1 && state->first_rcpt != NULL) {
		cleanup_clnt_printf(cc, REC_TYPE_NORM,
				    "\tby %s (%s) with %s id %s",
				    var_myhostname, var_mail_name,
				    state->protocol, state->queue_id);
		cleanup_clnt_printf(cc, REC_TYPE_NORM, "\tfor <%s>; %s",
				    state->first_rcpt, date);
	} else {
		cleanup_clnt_printf(cc, REC_TYPE_NORM,
				    "\tby %s (%s) with %s id %s;",
				    var_myhostname, var_mail_name,
				    state->protocol, state->queue_id);
		cleanup_clnt_printf(cc, REC_TYPE_NORM, "\t%s", date);
	}
}

/* End of the envelope, start of the content. The access table actions
 * that cleanup carries out go first: HOLD as a flags record, REDIRECT as
 * a redirect record, FILTER as the content_filter attribute, BCC as one
 * more recipient that never asks for a DSN (Postfix's NOTIFY=NEVER), and
 * PREPEND headers before our Received header, in the order they fired. */
static void data_start(struct smtpd_state *state)
{
	struct cleanup_clnt *cc = state->cleanup;

	if (state->cleanup_flags & CLEANUP_FLAG_HOLD)
		cleanup_clnt_printf(cc, REC_TYPE_FLGS, "%d", CLEANUP_FLAG_HOLD);
	if (state->redirect != NULL)
		cleanup_clnt_rec(cc, REC_TYPE_RDR, state->redirect,
				 strlen(state->redirect));
	if (state->filter != NULL)
		cleanup_clnt_printf(cc, REC_TYPE_ATTR, "content_filter=%s",
				    state->filter);
	if (state->bcc != NULL) {
		cleanup_clnt_printf(cc, REC_TYPE_DSN_NOTIFY, "%d",
				    DSN_NOTIFY_NEVER);
		cleanup_clnt_rec(cc, REC_TYPE_RCPT, state->bcc,
				 strlen(state->bcc));
	}
	cleanup_clnt_rec(cc, REC_TYPE_MESG, NULL, 0);
	for (size_t i = 0; i < state->prepend_count; i++)
		cleanup_clnt_rec(cc, REC_TYPE_NORM, state->prepend[i],
				 strlen(state->prepend[i]));
	data_received(state);
}

/* The refusal of DATA/BDAT before content: 503/554 or a restriction.
 * NULL if the command may go on; else the reply, caller frees. */
static char *data_refusal(struct smtpd_state *state, const char *what)
{
	struct strbuf *reply;

	if (!state->in_mail)
		return mystrdup("503 5.5.1 Error: need RCPT command");
	if (state->rcpt_count == 0)
		return mystrdup("554 5.5.1 Error: no valid recipients");
	reply = strbuf_new(STRBUF_NO_MAX);
	if (smtpd_check_data(state, what, reply) == SMTPD_CHECK_REJECT) {
		char *r = strbuf_export(reply);

		strbuf_free(&reply);
		smtpd_log_reject(state, what, r);
		return r;
	}
	strbuf_free(&reply);
	return NULL;
}

/* The message is complete: queue it or say why not. Resets the
 * transaction either way. */
static void data_finish(struct smtpd_state *state)
{
	const struct smtp_data_stats *st = smtp_data_stats(state->data);
	struct strbuf *reason, *reply;
	int status, code;
	const char *dsn;

	state->where = "END-OF-MESSAGE";
	if (st->bare_lf > 0 && state->newline_mode == SMTP_NEWLINE_NOTE)
		msg_info("%s: bare <LF> received from %s", state->queue_id,
			 state->namaddr);
	switch (st->result) {
	case SMTP_DATA_OK:
		break;
	case SMTP_DATA_TOO_BIG:
		smtpd_reply(state, 552, "5.3.4",
			    "Message size exceeds fixed limit");
		smtpd_reset_transaction(state);
		return;
	case SMTP_DATA_BARE_LF:
		msg_info("%s: reject: bare <LF> received from %s",
			 state->queue_id, state->namaddr);
		smtpd_reply(state, var_smtpd_forbid_bare_newline_reject_code,
			    var_smtpd_forbid_bare_newline_reject_code >= 500
				? "5.5.2"
				: "4.5.2",
			    "Error: bare <LF> received");
		if (var_smtpd_forbid_bare_newline_reject_code == 521)
			state->io_error = 1;
		smtpd_reset_transaction(state);
		return;
	case SMTP_DATA_OUTPUT_ERR:
		smtpd_reply(state, 451, "4.3.0",
			    "Error: queue file write error");
		smtpd_reset_transaction(state);
		return;
	}
	reply = strbuf_new(STRBUF_NO_MAX);
	if (smtpd_check_eod(state, reply) == SMTPD_CHECK_REJECT) {
		smtpd_log_reject(state, "END-OF-MESSAGE", strbuf_str(reply));
		smtpd_reply_text(state, strbuf_str(reply));
		strbuf_free(&reply);
		smtpd_reset_transaction(state);
		return;
	}
	/* DISCARD from an access table: the client is told what Postfix
	 * tells it (the message was accepted), and nothing is queued. */
	if (state->cleanup_flags & CLEANUP_FLAG_DISCARD) {
		smtpd_reply(state, 250, "2.0.0", "Ok: queued as %s",
			    state->queue_id);
		strbuf_free(&reply);
		smtpd_reset_transaction(state);
		return;
	}
	/* Seam: the milter end-of-message event belongs in cleanup, which
	 * gets the milter socket from here. */
	cleanup_clnt_rec(state->cleanup, REC_TYPE_XTRA, NULL, 0);
	reason = strbuf_new(STRBUF_NO_MAX);
	status = cleanup_clnt_finish(&state->cleanup, reason);
	if (status == CLEANUP_STAT_OK) {
		smtpd_reply(state, 250, "2.0.0", "Ok: queued as %s",
			    state->queue_id);
	} else {
		cleanup_stat_reply(status, strbuf_str(reason), &code, &dsn,
				   reply);
		if (code < 400 || code > 599)
			code = 451, dsn = "4.3.0";
		msg_info("%s: reject: %s from %s: %d %s %s; from=<%s> "
			 "proto=%s helo=<%s>",
			 state->queue_id, state->bdat_active ? "BDAT" : "DATA",
			 state->namaddr, code, dsn, strbuf_str(reply),
			 state->sender, state->protocol,
			 state->helo ? state->helo : "");
		smtpd_reply(state, code, dsn, "%s", strbuf_str(reply));
	}
	strbuf_free(&reason);
	strbuf_free(&reply);
	smtpd_reset_transaction(state);
}

void smtpd_data_cmd(struct smtpd_state *state, const char *arg)
{
	char *refusal;

	if (*arg) {
		smtpd_reply(state, 501, "5.5.4", "Syntax: DATA");
		return;
	}
	if (state->bdat_active || state->bdat_error) {
		smtpd_reply(state, 503, "5.5.1", "Error: DATA after BDAT");
		return;
	}
	if ((refusal = data_refusal(state, "DATA")) != NULL) {
		smtpd_reply_text(state, refusal);
		myfree(refusal);
		return;
	}
	data_start(state);
	smtpd_reply(state, 354, NULL, "End data with <CR><LF>.<CR><LF>");
	state->where = "DATA";
	data_machine(state, SMTP_DATA_DOT);
	for (;;) {
		size_t used;
		enum smtp_data_status st;

		if (smtpd_fill(state) < 0)
			return; /* the session ends; the caller aborts */
		st = smtp_data_feed(state->data, state->ibuf + state->ipos,
				    state->iend - state->ipos, &used);
		state->ipos += used;
		if (st == SMTP_DATA_END)
			break;
	}
	data_finish(state);
}

/* Read (and pass on or drop) one BDAT chunk. 0, or -1 if the session
 * ended. */
static int bdat_read_chunk(struct smtpd_state *state, uint64_t size)
{
	if (smtp_data_bdat_chunk(state->data, size) < 0)
		msg_panic("bdat_read_chunk: previous chunk not consumed");
	while (size > 0) {
		size_t used;
		enum smtp_data_status st;

		if (smtpd_fill(state) < 0)
			return -1;
		st = smtp_data_feed(state->data, state->ibuf + state->ipos,
				    state->iend - state->ipos, &used);
		state->ipos += used;
		size -= used;
		if (st == SMTP_DATA_END)
			break;
	}
	return 0;
}

void smtpd_bdat_cmd(struct smtpd_state *state, const char *arg)
{
	uint64_t size;
	int last;

	if (smtp_data_bdat_parse(arg, &size, &last) < 0) {
		/* The chunk size is unknown, so the stream cannot be kept
		 * in step: Postfix closes the session too. */
		smtpd_reply(state, 501, "5.5.4", "Syntax: BDAT count [LAST]");
		smtpd_reset_transaction(state);
		state->io_error = 1;
		return;
	}
	state->where = "BDAT";
	if (!state->bdat_active && state->bdat_error == NULL) {
		char *refusal = data_refusal(state, "BDAT");

		data_machine(state, SMTP_DATA_BDAT);
		if (refusal != NULL) {
			state->bdat_error = refusal;
			state->data_discard = 1;
		} else {
			data_start(state);
		}
		state->bdat_active = 1;
	}
	if (bdat_read_chunk(state, size) < 0)
		return;
	if (state->bdat_error == NULL &&
	    smtp_data_stats(state->data)->result == SMTP_DATA_TOO_BIG) {
		state->bdat_error =
		    mystrdup("552 5.3.4 Message size exceeds fixed limit");
		state->data_discard = 1;
		cleanup_clnt_abort(&state->cleanup);
	}
	if (state->bdat_error != NULL) {
		/* A refused transfer: drop the chunks, repeat the reply
		 * until LAST. */
		smtpd_reply_text(state, state->bdat_error);
		if (last)
			smtpd_reset_transaction(state);
		return;
	}
	if (!last) {
		smtpd_reply(state, 250, "2.0.0", "Ok: %llu bytes",
			    (unsigned long long)size);
		return;
	}
	smtp_data_bdat_finish(state->data);
	data_finish(state);
}
