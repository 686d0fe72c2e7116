/*
 * smtpd_chat - the SMTP server's I/O with the client.
 *
 * Replies are queued and written only when the server is about to wait
 * for input it does not have yet (or the session ends). A pipelining
 * client therefore gets one write per group of commands, and a
 * non-pipelining one a write per command, which is what RFC 2920 asks.
 *
 * Every wait, for reading or writing, is bounded by smtpd_timeout; a
 * client that stalls costs at most that long. Input is read into a fixed
 * buffer of SMTPD_IBUF_SIZE bytes and the command and DATA readers
 * consume it in place, so memory per session does not depend on what the
 * client sends.
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "mail_params.h"
#include "msg.h"
#include "smtp_reply.h"
#include "smtpd.h"
#include "sock.h"
#include "strbuf.h"

/* Count an error reply; past the soft limit, tarpit it. */
static void chat_error(struct smtpd_state *state, int code)
{
	if (code < 400)
		return;
	if (state->error_count >= var_smtpd_soft_error_limit &&
	    var_smtpd_error_sleep_time > 0) {
		smtpd_flush(state);
		sleep((unsigned)var_smtpd_error_sleep_time);
	}
	state->error_count++;
}

static void chat_queue_failed(struct smtpd_state *state)
{
	/* Only a client that never reads its replies fills SMTPD_OBUF_MAX
	 * between two reads of ours. */
	msg_warn("reply buffer full for %s", state->namaddr);
	state->io_error = 1;
}

void smtpd_reply(struct smtpd_state *state, int code, const char *enh,
		 const char *fmt, ...)
{
	char text[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	chat_error(state, code);
	if (strbuf_len(state->obuf) > SMTPD_OBUF_MAX / 2)
		smtpd_flush(state);
	if (smtp_reply_format(state->obuf, code, enh, text, 0) < 0)
		chat_queue_failed(state);
}

void smtpd_reply_lines(struct smtpd_state *state, int code, const char *enh,
		       const char *const *lines, size_t count)
{
	chat_error(state, code);
	if (smtp_reply_lines(state->obuf, code, enh, lines, count, 0) < 0)
		chat_queue_failed(state);
}

void smtpd_reply_text(struct smtpd_state *state, const char *reply)
{
	int code = 0;
	char enh[16] = "";
	const char *text = reply;

	/* "NNN X.Y.Z text" or "NNN text": made by our own code, but parse
	 * it defensively all the same. */
	if (sscanf(reply, "%3d", &code) != 1 || code < 200 || code > 599) {
		smtpd_reply(state, 451, "4.3.0", "Error: internal error");
		return;
	}
	text = reply + 3;
	while (*text == ' ')
		text++;
	if (text[0] >= '2' && text[0] <= '5' && text[1] == '.') {
		size_t n = strcspn(text, " ");

		if (n < sizeof(enh)) {
			memcpy(enh, text, n);
			enh[n] = 0;
			text += n;
			while (*text == ' ')
				text++;
		}
	}
	smtpd_reply(state, code,
		    *enh && smtp_reply_enh_valid(code, enh) ? enh : NULL, "%s",
		    text);
}

void smtpd_flush(struct smtpd_state *state)
{
	const char *p = strbuf_str(state->obuf);
	size_t left = strbuf_len(state->obuf);

	while (left > 0 && !state->io_error) {
		ssize_t n;

		if (sock_wait_write(state->fd, var_smtpd_timeout) < 0) {
			msg_info("timeout after %s from %s", state->where,
				 state->namaddr);
			state->io_error = 1;
			break;
		}
		n = write(state->fd, p, left);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0) {
			msg_info("lost connection after %s from %s",
				 state->where, state->namaddr);
			state->io_error = 1;
			break;
		}
		p += n;
		left -= (size_t)n;
	}
	strbuf_reset(state->obuf);
}

int smtpd_fill(struct smtpd_state *state)
{
	ssize_t n;

	if (state->io_error)
		return -1;
	if (state->ipos < state->iend)
		return 0;
	state->ipos = state->iend = 0;
	smtpd_flush(state);
	if (state->io_error)
		return -1;
	for (;;) {
		if (sock_wait_read(state->fd, var_smtpd_timeout) < 0) {
			msg_info("timeout after %s from %s", state->where,
				 state->namaddr);
			smtpd_reply(state, 421, "4.4.2",
				    "%s Error: timeout "
				    "exceeded",
				    var_myhostname);
			smtpd_flush(state);
			state->io_error = 1;
			return -1;
		}
		n = read(state->fd, state->ibuf, sizeof(state->ibuf));
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0) {
			msg_info("lost connection after %s from %s",
				 state->where, state->namaddr);
			state->io_error = 1;
			return -1;
		}
		state->iend = (size_t)n;
		return 0;
	}
}

int smtpd_input_pending(struct smtpd_state *state)
{
	struct pollfd pfd = {.fd = state->fd, .events = POLLIN};
	char byte;

	if (state->ipos < state->iend)
		return 1;
	/* Readable with data, not just at EOF. */
	return poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLIN) &&
	       recv(state->fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT) == 1;
}
