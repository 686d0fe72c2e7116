/*
 * fuzz_smtp_data - fuzz the DATA/BDAT state machine (global/smtp_data.c).
 *
 * The first four input bytes choose the setup: the bare-newline mode,
 * the line limit (1..64, small so that long-line pieces happen), DATA or
 * BDAT, a size limit, and where to split the rest. The rest is the
 * client's byte stream. For each input the harness checks:
 *   - differential: one chunk, two chunks split at the chosen point, and
 *     one byte at a time give the same records, statistics and bytes
 *     consumed;
 *   - the smuggling property against a reference model: in DATA mode the
 *     message ends exactly after the first <CR><LF>.<CR><LF> of
 *     "<CR><LF>" + stream (the DATA command's CR LF in front), and
 *     nowhere if there is none;
 *   - no record is longer than the line limit.
 * Inputs are capped at 64 KiB.
 *
 * Build and run with libFuzzer (from the top of the tree): make fuzz, or
 *   tests/fuzz/fuzz_smtp_data -max_total_time=60
 * tests/fuzz/corpus/fuzz_smtp_data Built with -DFUZZ_STANDALONE instead of
 * -fsanitize=fuzzer, it runs the files named on its command line once each.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smtp_data.h"
#include "strbuf.h"

#define FUZZ_MAX_INPUT 65536

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct out {
	struct strbuf *recs;
	size_t limit;
};

static int out_rec(void *ctx, enum smtp_data_rec type, const char *data,
		   size_t len)
{
	struct out *o = ctx;
	uint32_t n = (uint32_t)len;

	if (len > o->limit)
		abort();
	if (strbuf_putc(o->recs, type == SMTP_DATA_REC_LINE ? 'N' : 'L') < 0 ||
	    strbuf_append(o->recs, &n, sizeof(n)) < 0 ||
	    strbuf_append(o->recs, data, len) < 0)
		abort();
	return 0;
}

struct result {
	struct smtp_data_stats stats;
	size_t used;
	int ended;
};

/* Run the stream fed in pieces of at most step bytes (0: first piece is
 * split bytes, then the rest). */
static void run(const struct smtp_data_params *params, int bdat,
		const uint8_t *in, size_t len, size_t split, size_t step,
		struct out *o, struct result *res)
{
	struct smtp_data_params p = *params;
	struct smtp_data *sd;
	size_t pos = 0, n, used;
	enum smtp_data_status st = SMTP_DATA_MORE;

	p.out = out_rec;
	p.ctx = o;
	sd = smtp_data_new(&p);
	smtp_data_begin(sd, bdat ? SMTP_DATA_BDAT : SMTP_DATA_DOT);
	if (bdat) {
		/* BDAT: the split point is a chunk boundary. */
		if (smtp_data_bdat_chunk(sd, split) < 0)
			abort();
	}
	while (pos < len && st == SMTP_DATA_MORE) {
		if (step)
			n = len - pos < step ? len - pos : step;
		else
			n = pos < split ? split - pos : len - pos;
		st = smtp_data_feed(sd, in + pos, n, &used);
		if (used > n || (st == SMTP_DATA_MORE && used != n))
			abort();
		pos += used;
		if (bdat && st == SMTP_DATA_END && pos < len) {
			if (smtp_data_bdat_chunk(sd, len - pos) < 0)
				abort();
			st = SMTP_DATA_MORE;
		}
	}
	if (bdat && smtp_data_bdat_finish(sd) < 0)
		abort();
	res->stats = *smtp_data_stats(sd);
	res->used = pos;
	res->ended = st == SMTP_DATA_END;
	smtp_data_free(&sd);
}

static int same_result(const struct result *a, const struct result *b)
{
	return a->stats.result == b->stats.result &&
	       a->stats.size == b->stats.size &&
	       a->stats.lines == b->stats.lines &&
	       a->stats.bare_lf == b->stats.bare_lf &&
	       a->stats.bare_cr == b->stats.bare_cr &&
	       a->stats.nul_bytes == b->stats.nul_bytes && a->used == b->used &&
	       a->ended == b->ended;
}

/* The reference model: bytes up to and including the first CRLF.CRLF of
 * CRLF + in, or 0 if there is none. */
static size_t model_end(const uint8_t *in, size_t len)
{
	size_t i;

	if (len >= 3 && memcmp(in, ".\r\n", 3) == 0)
		return 3;
	for (i = 0; i + 5 <= len; i++)
		if (memcmp(in + i, "\r\n.\r\n", 5) == 0)
			return i + 5;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum smtp_newline modes[] = {
	    SMTP_NEWLINE_NORMALIZE, SMTP_NEWLINE_NOTE, SMTP_NEWLINE_REJECT,
	    SMTP_NEWLINE_NO};
	struct smtp_data_params p = {0};
	struct out o1, o2, o3;
	struct result r1, r2, r3;
	const uint8_t *in;
	size_t len, split, want;
	int bdat;

	if (size < 4 || size > FUZZ_MAX_INPUT)
		return 0;
	p.mode = modes[data[0] & 3];
	bdat = (data[0] & 4) != 0;
	p.size_limit = (data[0] & 8) ? (uint64_t)data[3] * 4 : 0;
	p.line_limit = 1 + (data[1] & 63);
	in = data + 4;
	len = size - 4;
	split = len ? ((size_t)data[2] * 257 + data[3]) % (len + 1) : 0;

	o1.limit = o2.limit = o3.limit = p.line_limit;
	o1.recs = strbuf_new(STRBUF_NO_MAX);
	o2.recs = strbuf_new(STRBUF_NO_MAX);
	o3.recs = strbuf_new(STRBUF_NO_MAX);
	/* DATA: split is where the reads are cut; BDAT: where the chunks
	 * are cut. Either way the result must not change. */
	run(&p, bdat, in, len, len, 0, &o1, &r1);
	run(&p, bdat, in, len, split, 0, &o2, &r2);
	run(&p, bdat, in, len, len, 1, &o3, &r3);
	if (strbuf_len(o1.recs) != strbuf_len(o2.recs) ||
	    memcmp(strbuf_str(o1.recs), strbuf_str(o2.recs),
		   strbuf_len(o1.recs)) != 0 ||
	    strbuf_len(o1.recs) != strbuf_len(o3.recs) ||
	    memcmp(strbuf_str(o1.recs), strbuf_str(o3.recs),
		   strbuf_len(o1.recs)) != 0)
		abort();
	if (!same_result(&r1, &r2) || !same_result(&r1, &r3))
		abort();
	if (!bdat) {
		want = model_end(in, len);
		if (want ? (!r1.ended || r1.used != want)
			 : (r1.ended || r1.used != len))
			abort();
	} else if (r1.used != len) {
		abort();
	}
	strbuf_free(&o1.recs);
	strbuf_free(&o2.recs);
	strbuf_free(&o3.recs);
	return 0;
}

#include "standalone.h"
