/*
 * fuzz_smtp_cmd - fuzz the SMTP command reader and verb parser
 * (global/smtp_cmd.c), and the reply formatter (global/smtp_reply.c)
 * with the lines as text, the way smtpd echoes client data.
 *
 * The first input byte picks the bare-newline mode and the line limit
 * (1..32 or 2048), the second where to split the rest. For each input:
 *   - differential: the rest fed at once (one read per line), in two
 *     reads split at the chosen point, and one byte at a time gives the
 *     same sequence of statuses and lines;
 *   - a line never holds a NUL, a line end, or more than the limit; the
 *     reader never consumes past a line end;
 *   - every reply line is at most 512 bytes and holds no CR, LF or NUL
 *     but its terminator.
 * Inputs are capped at 64 KiB.
 *
 * Build and run with libFuzzer (from the top of the tree): make fuzz, or
 *   tests/fuzz/fuzz_smtp_cmd -max_total_time=60 tests/fuzz/corpus/fuzz_smtp_cmd
 * Built with -DFUZZ_STANDALONE instead of -fsanitize=fuzzer, it runs the
 * files named on its command line once each.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smtp_cmd.h"
#include "smtp_reply.h"
#include "strbuf.h"

#define FUZZ_MAX_INPUT 65536

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_reply(const char *line)
{
	struct strbuf *out = strbuf_new(STRBUF_NO_MAX);
	const char *cp, *eol;
	struct smtp_cmd cmd;
	char *copy = strdup(line);

	smtp_cmd_parse(copy, &cmd);
	if (cmd.verb != SMTP_VERB_EMPTY && cmd.verb != SMTP_VERB_UNKNOWN &&
	    strcmp(cmd.name, smtp_verb_name(cmd.verb)) != 0)
		abort();
	if (smtp_reply_printf(out, 502, "5.5.2", 0,
			      "Error: command not recognized: %s %s", cmd.word,
			      cmd.arg) < 0)
		abort();
	for (cp = strbuf_str(out); *cp; cp = eol + 2) {
		if ((eol = strstr(cp, "\r\n")) == NULL ||
		    eol + 2 - cp > SMTP_REPLY_LINE_MAX ||
		    memchr(cp, '\r', (size_t)(eol - cp)) != NULL ||
		    memchr(cp, '\n', (size_t)(eol - cp)) != NULL)
			abort();
	}
	if (strlen(strbuf_str(out)) != strbuf_len(out))
		abort();
	free(copy);
	strbuf_free(&out);
}

/* Read everything in pieces of step bytes (0: two pieces cut at split);
 * the log gets each status and line. */
static void run(enum smtp_newline mode, size_t limit, const uint8_t *in,
		size_t len, size_t split, size_t step, struct strbuf *log,
		int check)
{
	struct smtp_cmd_reader *rd = smtp_cmd_reader_new(limit, mode);
	enum smtp_cmd_status st;
	size_t pos = 0, end, used;
	const char *line;

	while (pos < len) {
		if (step)
			end = len - pos < step ? len : pos + step;
		else
			end = pos < split ? split : len;
		st = smtp_cmd_read(rd, in + pos, end - pos, &used);
		if (used > end - pos ||
		    (st == SMTP_CMD_MORE && used != end - pos))
			abort();
		/* A line ends at its LF and not one byte later. */
		if (st != SMTP_CMD_MORE && in[pos + used - 1] != '\n')
			abort();
		pos += used;
		if (st == SMTP_CMD_MORE)
			continue;
		line = smtp_cmd_reader_line(rd);
		if (strlen(line) > limit || strchr(line, '\n') != NULL)
			abort();
		strbuf_putc(log, '0' + (int)st);
		strbuf_puts(log, line);
		strbuf_putc(log, '\n');
		if (check && st == SMTP_CMD_LINE)
			check_reply(line);
	}
	smtp_cmd_reader_free(&rd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum smtp_newline modes[] = {
	    SMTP_NEWLINE_NORMALIZE, SMTP_NEWLINE_NOTE, SMTP_NEWLINE_REJECT,
	    SMTP_NEWLINE_NO};
	struct strbuf *l1, *l2, *l3;
	enum smtp_newline mode;
	size_t limit, len, split;
	const uint8_t *in;

	if (size < 2 || size > FUZZ_MAX_INPUT)
		return 0;
	mode = modes[data[0] & 3];
	limit = (data[0] & 4) ? SMTP_CMD_LINE_LIMIT : 1 + (data[0] >> 3);
	in = data + 2;
	len = size - 2;
	split = len ? data[1] % (len + 1) : 0;
	l1 = strbuf_new(STRBUF_NO_MAX);
	l2 = strbuf_new(STRBUF_NO_MAX);
	l3 = strbuf_new(STRBUF_NO_MAX);
	run(mode, limit, in, len, len, 0, l1, 1);
	run(mode, limit, in, len, split, 0, l2, 0);
	run(mode, limit, in, len, 0, 1, l3, 0);
	if (strbuf_len(l1) != strbuf_len(l2) ||
	    strbuf_len(l1) != strbuf_len(l3) ||
	    memcmp(strbuf_str(l1), strbuf_str(l2), strbuf_len(l1)) != 0 ||
	    memcmp(strbuf_str(l1), strbuf_str(l3), strbuf_len(l1)) != 0)
		abort();
	strbuf_free(&l1);
	strbuf_free(&l2);
	strbuf_free(&l3);
	return 0;
}

#include "standalone.h"
