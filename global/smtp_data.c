/*
 * smtp_data - the DATA/BDAT byte-stream state machine; see smtp_data.h.
 *
 * Every byte goes through data_byte() or line_end() with all state in
 * struct smtp_data, and nothing depends on where a chunk began or ended:
 * that is the whole of the chunking-equivalence argument. A CR is held
 * back in cr_pending until the next byte is known, so "CR | LF" split
 * across two reads is the same CR LF as in one.
 *
 * Why only <CR><LF>.<CR><LF> can end DATA: line_end() returns "end of
 * message" only when (1) its terminator is CR LF (crlf), (2) the line
 * held exactly one byte, a dot that the unstuffing removed, and (3) the
 * previous line's terminator was CR LF too (prev_crlf, true only at the
 * start, when the DATA command's own CR LF precedes). A bare LF is a
 * terminator with crlf == 0, so it fails (1) for its own line and, since
 * it sets prev_crlf to 0, fails (3) for the next. A bare CR is no
 * terminator: it becomes data of the line, so the line is not a lone dot.
 */
#include <string.h>
#include <strings.h>

#include "mymalloc.h"
#include "smtp_data.h"

struct smtp_data {
	struct smtp_data_params p;
	char *buf;		/* p.line_limit bytes */
	size_t len;		/* bytes in buf */
	enum smtp_data_kind kind;
	struct smtp_data_stats stats;
	uint64_t chunk_left;	/* BDAT: bytes of the chunk still to come */
	int cr_pending;		/* a CR whose meaning the next byte decides */
	int line_start;		/* no byte of this line seen yet */
	int dot_removed;	/* this line began with a dot, now removed */
	int prev_crlf;		/* the previous line ended with CR LF */
	int done;		/* DATA: the end of the message was seen */
};

struct smtp_data *smtp_data_new(const struct smtp_data_params *params)
{
	struct smtp_data *sd = mycalloc(1, sizeof(*sd));

	sd->p = *params;
	if (sd->p.line_limit == 0)
		sd->p.line_limit = 1;
	sd->buf = mymalloc(sd->p.line_limit);
	smtp_data_begin(sd, SMTP_DATA_DOT);
	return sd;
}

void smtp_data_free(struct smtp_data **sdp)
{
	if (*sdp == NULL)
		return;
	myfree((*sdp)->buf);
	myfree(*sdp);
}

void smtp_data_set_mode(struct smtp_data *sd, enum smtp_newline mode)
{
	sd->p.mode = mode;
}

void smtp_data_begin(struct smtp_data *sd, enum smtp_data_kind kind)
{
	sd->kind = kind;
	sd->len = 0;
	memset(&sd->stats, 0, sizeof(sd->stats));
	sd->chunk_left = 0;
	sd->cr_pending = 0;
	sd->line_start = 1;
	sd->dot_removed = 0;
	sd->prev_crlf = 1; /* the DATA command line ended with CR LF */
	sd->done = 0;
}

const struct smtp_data_stats *smtp_data_stats(const struct smtp_data *sd)
{
	return &sd->stats;
}

static void data_fail(struct smtp_data *sd, enum smtp_data_result why)
{
	if (sd->stats.result == SMTP_DATA_OK)
		sd->stats.result = why;
}

static void count_size(struct smtp_data *sd, uint64_t n)
{
	uint64_t lim = sd->p.size_limit;

	if (__builtin_add_overflow(sd->stats.size, n, &sd->stats.size))
		sd->stats.size = UINT64_MAX;
	if (lim > 0 && sd->stats.size > lim)
		data_fail(sd, SMTP_DATA_TOO_BIG);
}

static void emit(struct smtp_data *sd, enum smtp_data_rec type)
{
	if (sd->stats.result == SMTP_DATA_OK &&
	    sd->p.out(sd->p.ctx, type, sd->buf, sd->len) < 0)
		data_fail(sd, SMTP_DATA_OUTPUT_ERR);
	sd->len = 0;
}

static void data_byte(struct smtp_data *sd, unsigned char ch)
{
	if (sd->line_start) {
		sd->line_start = 0;
		if (ch == '.' && sd->kind == SMTP_DATA_DOT) {
			sd->dot_removed = 1;
			return;
		}
	}
	if (ch == 0)
		sd->stats.nul_bytes++;
	count_size(sd, 1);
	if (sd->len == sd->p.line_limit)
		emit(sd, SMTP_DATA_REC_PART);
	/* UNSAFE: len < line_limit, the size of buf, after the flush above. */
	sd->buf[sd->len++] = (char)ch;
}

/* The current line ends; 1 if it was the end of the message. */
static int line_end(struct smtp_data *sd, int crlf)
{
	if (sd->kind == SMTP_DATA_DOT && crlf && sd->prev_crlf &&
	    sd->dot_removed && sd->len == 0 && !sd->line_start) {
		sd->done = 1;
		return 1;
	}
	if (!crlf) {
		sd->stats.bare_lf++;
		if (sd->p.mode == SMTP_NEWLINE_REJECT)
			data_fail(sd, SMTP_DATA_BARE_LF);
	}
	count_size(sd, 2);
	emit(sd, SMTP_DATA_REC_LINE);
	sd->stats.lines++;
	sd->prev_crlf = crlf;
	sd->line_start = 1;
	sd->dot_removed = 0;
	return 0;
}

/* One input byte; 1 if it ended the message. */
static int data_input(struct smtp_data *sd, unsigned char ch)
{
	if (sd->cr_pending) {
		sd->cr_pending = 0;
		if (ch == '\n')
			return line_end(sd, 1);
		sd->stats.bare_cr++;
		data_byte(sd, '\r');
	}
	if (ch == '\r')
		sd->cr_pending = 1;
	else if (ch == '\n')
		return line_end(sd, 0);
	else
		data_byte(sd, ch);
	return 0;
}

enum smtp_data_status smtp_data_feed(struct smtp_data *sd, const void *data,
				     size_t len, size_t *used)
{
	const unsigned char *p = data;
	size_t i, n = len;

	*used = 0;
	if (sd->kind == SMTP_DATA_DOT) {
		if (sd->done)
			return SMTP_DATA_END;
		for (i = 0; i < n; i++) {
			/* UNSAFE: i < len, the caller's buffer size. */
			if (data_input(sd, p[i])) {
				*used = i + 1;
				return SMTP_DATA_END;
			}
		}
		*used = n;
		return SMTP_DATA_MORE;
	}
	if (sd->chunk_left < n)
		n = (size_t)sd->chunk_left;
	for (i = 0; i < n; i++)
		/* UNSAFE: i < n <= len, the caller's buffer size. */
		(void)data_input(sd, p[i]);
	sd->chunk_left -= n;
	*used = n;
	return sd->chunk_left == 0 ? SMTP_DATA_END : SMTP_DATA_MORE;
}

int smtp_data_bdat_chunk(struct smtp_data *sd, uint64_t size)
{
	if (sd->kind != SMTP_DATA_BDAT || sd->chunk_left != 0)
		return -1;
	sd->chunk_left = size;
	return 0;
}

int smtp_data_bdat_finish(struct smtp_data *sd)
{
	if (sd->kind != SMTP_DATA_BDAT || sd->chunk_left != 0)
		return -1;
	if (sd->cr_pending) {
		sd->cr_pending = 0;
		sd->stats.bare_cr++;
		data_byte(sd, '\r');
	}
	/* An unterminated last line is still a line; count it as if it had
	 * the CR LF that the queue file's record boundary stands for. */
	if (!sd->line_start)
		(void)line_end(sd, 1);
	return 0;
}

int smtp_data_bdat_parse(const char *arg, uint64_t *size, int *last)
{
	const char *cp = arg;
	uint64_t val = 0;

	while (*cp == ' ' || *cp == '\t')
		cp++;
	if (*cp < '0' || *cp > '9')
		return -1;
	for (; *cp >= '0' && *cp <= '9'; cp++) {
		if (__builtin_mul_overflow(val, 10, &val) ||
		    __builtin_add_overflow(val, (uint64_t)(*cp - '0'), &val))
			return -1;
	}
	*last = 0;
	if (*cp == 0)
		goto done;
	if (*cp != ' ' && *cp != '\t')
		return -1;
	while (*cp == ' ' || *cp == '\t')
		cp++;
	if (*cp == 0)
		goto done;
	if (strncasecmp(cp, "LAST", 4) != 0)
		return -1;
	for (cp += 4; *cp == ' ' || *cp == '\t'; cp++)
		;
	if (*cp != 0)
		return -1;
	*last = 1;
done:
	*size = val;
	return 0;
}
