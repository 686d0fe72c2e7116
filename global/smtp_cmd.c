/*
 * smtp_cmd - reading and splitting SMTP command lines; see smtp_cmd.h.
 *
 * Memory: the line lives in a strbuf whose hard maximum is the line
 * limit. Once a byte does not fit, the reader stops storing and only
 * looks for the end of the line, so a client that sends gigabytes without
 * a newline costs one bounded buffer and CPU time, nothing more.
 *
 * A CR is held back (cr_pending) until the next byte shows whether it
 * starts a CR LF terminator; it is never stored before that. That is why
 * a line of exactly `limit` bytes followed by CR LF still fits, and why
 * a chunk boundary between CR and LF changes nothing.
 */
#include <string.h>
#include <strings.h>

#include "mymalloc.h"
#include "smtp_cmd.h"
#include "strbuf.h"

struct smtp_cmd_reader {
	struct strbuf *line;
	enum smtp_newline mode;
	int cr_pending;	 /* a CR was seen, its meaning is not known yet */
	int overflow;	 /* the line passed the limit: skipping */
	int nul;	 /* the line contains a NUL */
	int bare_lf;	 /* the last line ended with a bare LF */
	int line_done;	 /* the next read starts a fresh line */
};

int smtp_newline_parse(const char *value, enum smtp_newline *mode)
{
	static const struct {
		const char *name;
		enum smtp_newline mode;
	} names[] = {
		{"normalize", SMTP_NEWLINE_NORMALIZE},
		{"note", SMTP_NEWLINE_NOTE},
		{"reject", SMTP_NEWLINE_REJECT},
		{"yes", SMTP_NEWLINE_REJECT},
		{"no", SMTP_NEWLINE_NO},
	};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcasecmp(value, names[i].name) == 0) {
			*mode = names[i].mode;
			return 0;
		}
	}
	return -1;
}

struct smtp_cmd_reader *smtp_cmd_reader_new(size_t limit,
					    enum smtp_newline mode)
{
	struct smtp_cmd_reader *rd = mycalloc(1, sizeof(*rd));

	rd->line = strbuf_new(limit);
	rd->mode = mode;
	return rd;
}

void smtp_cmd_reader_free(struct smtp_cmd_reader **rdp)
{
	if (*rdp == NULL)
		return;
	strbuf_free(&(*rdp)->line);
	myfree(*rdp);
}

void smtp_cmd_reader_set_mode(struct smtp_cmd_reader *rd,
			      enum smtp_newline mode)
{
	rd->mode = mode;
}

void smtp_cmd_reader_reset(struct smtp_cmd_reader *rd)
{
	strbuf_reset(rd->line);
	rd->cr_pending = rd->overflow = rd->nul = rd->bare_lf = 0;
	rd->line_done = 0;
}

static void reader_store(struct smtp_cmd_reader *rd, unsigned char ch)
{
	if (rd->overflow || rd->nul)
		return;
	if (ch == 0)
		rd->nul = 1;
	else if (strbuf_putc(rd->line, ch) < 0)
		rd->overflow = 1;
}

static enum smtp_cmd_status reader_end(struct smtp_cmd_reader *rd, int bare)
{
	enum smtp_cmd_status status;

	rd->bare_lf = bare;
	rd->line_done = 1;
	if (rd->overflow)
		status = SMTP_CMD_TOO_LONG;
	else if (rd->nul)
		status = SMTP_CMD_NUL;
	else if (bare && rd->mode == SMTP_NEWLINE_REJECT)
		status = SMTP_CMD_BARE_LF;
	else
		status = SMTP_CMD_LINE;
	if (status != SMTP_CMD_LINE)
		strbuf_reset(rd->line);
	return status;
}

enum smtp_cmd_status smtp_cmd_read(struct smtp_cmd_reader *rd,
				   const void *data, size_t len, size_t *used)
{
	const unsigned char *p = data;
	size_t i;

	if (rd->line_done) {
		strbuf_reset(rd->line);
		rd->overflow = rd->nul = rd->bare_lf = 0;
		rd->line_done = 0;
	}
	for (i = 0; i < len; i++) {
		/* UNSAFE: i < len, the caller's buffer size. */
		unsigned char ch = p[i];

		if (rd->cr_pending) {
			rd->cr_pending = 0;
			if (ch == '\n') {
				*used = i + 1;
				return reader_end(rd, 0);
			}
			reader_store(rd, '\r');
		}
		if (ch == '\r') {
			rd->cr_pending = 1;
		} else if (ch == '\n') {
			*used = i + 1;
			return reader_end(rd, 1);
		} else {
			reader_store(rd, ch);
		}
	}
	*used = len;
	return SMTP_CMD_MORE;
}

char *smtp_cmd_reader_line(struct smtp_cmd_reader *rd)
{
	return rd->line->data;
}

int smtp_cmd_reader_bare_lf(const struct smtp_cmd_reader *rd)
{
	return rd->bare_lf;
}

const char *smtp_cmd_status_text(enum smtp_cmd_status status)
{
	switch (status) {
	case SMTP_CMD_TOO_LONG:
		return "500 5.5.2 Error: command line too long";
	case SMTP_CMD_NUL:
		return "500 5.5.2 Error: NUL character in command";
	case SMTP_CMD_BARE_LF:
		return "Error: bare <LF> received";
	case SMTP_CMD_MORE:
	case SMTP_CMD_LINE:
		break;
	}
	return "";
}

static const char *const verb_names[] = {
	[SMTP_VERB_EMPTY] = "",		[SMTP_VERB_UNKNOWN] = "",
	[SMTP_VERB_EHLO] = "EHLO",	[SMTP_VERB_HELO] = "HELO",
	[SMTP_VERB_MAIL] = "MAIL",	[SMTP_VERB_RCPT] = "RCPT",
	[SMTP_VERB_DATA] = "DATA",	[SMTP_VERB_BDAT] = "BDAT",
	[SMTP_VERB_RSET] = "RSET",	[SMTP_VERB_NOOP] = "NOOP",
	[SMTP_VERB_QUIT] = "QUIT",	[SMTP_VERB_VRFY] = "VRFY",
	[SMTP_VERB_HELP] = "HELP",	[SMTP_VERB_STARTTLS] = "STARTTLS",
	[SMTP_VERB_AUTH] = "AUTH",
};

const char *smtp_verb_name(enum smtp_verb verb)
{
	if ((size_t)verb >= sizeof(verb_names) / sizeof(verb_names[0]))
		return "";
	return verb_names[verb];
}

static int is_blank(char ch)
{
	return ch == ' ' || ch == '\t';
}

void smtp_cmd_parse(char *line, struct smtp_cmd *cmd)
{
	char *start = line, *end = line + strlen(line), *cp;
	size_t v;

	/* UNSAFE: start and end stay within [line, line + strlen(line)]. */
	while (start < end && is_blank(*start))
		start++;
	while (end > start && is_blank(end[-1]))
		*--end = 0;
	cmd->verb = SMTP_VERB_EMPTY;
	cmd->name = "";
	cmd->word = start;
	cmd->arg = end;
	if (start == end)
		return;
	for (cp = start; cp < end && !is_blank(*cp); cp++)
		;
	if (cp < end) {
		*cp++ = 0;
		while (cp < end && is_blank(*cp))
			cp++;
	}
	cmd->arg = cp;
	cmd->verb = SMTP_VERB_UNKNOWN;
	for (v = SMTP_VERB_EHLO; v < sizeof(verb_names) / sizeof(verb_names[0]);
	     v++) {
		if (strcasecmp(start, verb_names[v]) == 0) {
			cmd->verb = (enum smtp_verb)v;
			cmd->name = verb_names[v];
			break;
		}
	}
}
