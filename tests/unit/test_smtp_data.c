/*
 * test_smtp_data - the DATA/BDAT state machine (global/smtp_data.c):
 * SMTP smuggling sequences, bare LF modes, chunking equivalence, long
 * lines, dot-stuffing, the size limit, NUL bytes and BDAT chunks.
 *
 * The output records are collected as text, one per line: "N:" or "L:"
 * and the bytes, with anything unprintable (and '\') as \xHH, so an
 * expected value shows exactly what a queue file would get.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "smtp_data.h"
#include "strbuf.h"

struct sink {
	struct strbuf *text;
	int fail_at; /* fail the n-th record (1-based); 0 never */
	int calls;
};

static int sink_out(void *ctx, enum smtp_data_rec type, const char *data,
		    size_t len)
{
	struct sink *s = ctx;
	size_t i;

	s->calls++;
	if (s->fail_at && s->calls >= s->fail_at)
		return -1;
	strbuf_puts(s->text, type == SMTP_DATA_REC_LINE ? "N:" : "L:");
	for (i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)data[i];
		if (ch < 32 || ch > 126 || ch == '\\')
			strbuf_printf(s->text, "\\x%02x", ch);
		else
			strbuf_putc(s->text, ch);
	}
	strbuf_putc(s->text, '\n');
	return 0;
}

struct run {
	struct sink sink;
	struct smtp_data *sd;
	enum smtp_data_status status;
	size_t used; /* bytes consumed in total */
};

static void run_init(struct run *r, size_t line_limit, uint64_t size_limit,
		     enum smtp_newline mode)
{
	struct smtp_data_params p = {
		.line_limit = line_limit,
		.size_limit = size_limit,
		.mode = mode,
		.out = sink_out,
		.ctx = &r->sink,
	};

	memset(r, 0, sizeof(*r));
	r->sink.text = strbuf_new(STRBUF_NO_MAX);
	r->sd = smtp_data_new(&p);
	smtp_data_begin(r->sd, SMTP_DATA_DOT);
}

static void run_free(struct run *r)
{
	smtp_data_free(&r->sd);
	strbuf_free(&r->sink.text);
}

/* Feed in pieces of at most chunk bytes (0: all at once) until the end. */
static void run_feed(struct run *r, const char *in, size_t len, size_t chunk)
{
	size_t pos = 0, n, used;

	r->status = SMTP_DATA_MORE;
	while (pos < len && r->status == SMTP_DATA_MORE) {
		n = chunk && len - pos > chunk ? chunk : len - pos;
		r->status = smtp_data_feed(r->sd, in + pos, n, &used);
		assert_true(used <= n);
		if (r->status == SMTP_DATA_MORE)
			assert_int_equal(used, n);
		pos += used;
	}
	r->used = pos;
}

/* The whole DATA phase in one go, with default limits. */
static void data_once(struct run *r, const char *in, size_t len,
		      enum smtp_newline mode)
{
	run_init(r, 2048, 0, mode);
	run_feed(r, in, len, 0);
}

#define S(lit) lit, sizeof(lit) - 1

static void test_plain_message(void **state)
{
	struct run r;
	const char in[] = "Subject: hi\r\n\r\nbody\r\n.\r\nQUIT\r\n";

	(void)state;
	data_once(&r, S(in), SMTP_NEWLINE_NORMALIZE);
	assert_int_equal(r.status, SMTP_DATA_END);
	/* The pipelined QUIT is left for the command reader. */
	assert_int_equal(r.used, sizeof(in) - 1 - strlen("QUIT\r\n"));
	assert_string_equal(strbuf_str(r.sink.text),
			    "N:Subject: hi\nN:\nN:body\n");
	assert_int_equal(smtp_data_stats(r.sd)->result, SMTP_DATA_OK);
	assert_int_equal(smtp_data_stats(r.sd)->lines, 3);
	/* 11 + 0 + 4 bytes, 2 per line end. */
	assert_int_equal(smtp_data_stats(r.sd)->size, 15 + 6);
	run_free(&r);
}

static void test_empty_message(void **state)
{
	struct run r;

	(void)state;
	data_once(&r, S(".\r\n"), SMTP_NEWLINE_NORMALIZE);
	assert_int_equal(r.status, SMTP_DATA_END);
	assert_int_equal(r.used, 3);
	assert_string_equal(strbuf_str(r.sink.text), "");
	run_free(&r);
}

/*
 * The 2023 SMTP smuggling research: none of these may end DATA, with or
 * without a CR LF before them, and what follows them (a smuggled second
 * transaction) must stay inside this message.
 */
static const char *const smuggle_seqs[] = {
	"\n.\n",   "\n.\r\n", "\r.\r\n", "\r\n.\r",	 "\r\n.\n",
	"\n.\r",   "\r.\n",   "\r.\r",	 "\r\n.\r\r\n", "\n.\n\r\n",
	"\n.\r\r\n",   "\r\r\n.\n",
};

static int has_bare_lf(const char *s)
{
	const char *lf;

	for (lf = strchr(s, '\n'); lf != NULL; lf = strchr(lf + 1, '\n'))
		if (lf == s || lf[-1] != '\r')
			return 1;
	return 0;
}

static void smuggle_one(const char *prefix, const char *seq,
			enum smtp_newline mode)
{
	const char *smuggled = "MAIL FROM:<admin@bank.example>\r\n"
			       "RCPT TO:<victim@example.org>\r\nDATA\r\n"
			       "From: admin@bank.example\r\n";
	const char *real_end = "\r\n.\r\n";
	struct strbuf *in = strbuf_new(STRBUF_NO_MAX);
	struct run r;
	size_t chunk;

	strbuf_printf(in, "Subject: first\r\n\r\n%s%s%s%sQUIT\r\n", prefix,
		      seq, smuggled, real_end);
	for (chunk = 0; chunk <= 3; chunk++) {
		data_once(&r, "", 0, mode);
		run_feed(&r, strbuf_str(in), strbuf_len(in), chunk);
		/* The message ends at the real end and nowhere before. */
		assert_int_equal(r.status, SMTP_DATA_END);
		assert_int_equal(r.used, strbuf_len(in) - strlen("QUIT\r\n"));
		if (mode == SMTP_NEWLINE_REJECT && has_bare_lf(seq)) {
			assert_int_equal(smtp_data_stats(r.sd)->result,
					 SMTP_DATA_BARE_LF);
		} else {
			assert_int_equal(smtp_data_stats(r.sd)->result,
					 SMTP_DATA_OK);
			assert_non_null(strstr(strbuf_str(r.sink.text),
					       "MAIL FROM:<admin@bank.example>\n"));
			assert_non_null(strstr(strbuf_str(r.sink.text),
					       "N:From: admin@bank.example\n"));
		}
		run_free(&r);
	}
	strbuf_free(&in);
}

static void test_smuggling_sequences(void **state)
{
	static const enum smtp_newline modes[] = {
		SMTP_NEWLINE_NORMALIZE, SMTP_NEWLINE_NOTE, SMTP_NEWLINE_NO,
		SMTP_NEWLINE_REJECT};
	size_t i, m;

	(void)state;
	for (m = 0; m < sizeof(modes) / sizeof(modes[0]); m++) {
		for (i = 0; i < sizeof(smuggle_seqs) / sizeof(*smuggle_seqs);
		     i++) {
			smuggle_one("body", smuggle_seqs[i], modes[m]);
			smuggle_one("body\r\n", smuggle_seqs[i], modes[m]);
			smuggle_one("", smuggle_seqs[i], modes[m]);
		}
	}
}

/* Directly at the start of DATA (after the DATA command's CR LF). */
static void test_smuggling_at_start(void **state)
{
	static const char *const seqs[] = {".\n", ".\r", ".\rX\r\n",
					   "\n.\r\n"};
	struct run r;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(seqs) / sizeof(seqs[0]); i++) {
		char in[64];

		snprintf(in, sizeof(in), "%sSMUGGLED\r\n.\r\n", seqs[i]);
		data_once(&r, in, strlen(in), SMTP_NEWLINE_NORMALIZE);
		assert_int_equal(r.status, SMTP_DATA_END);
		assert_int_equal(r.used, strlen(in));
		assert_non_null(strstr(strbuf_str(r.sink.text), "SMUGGLED"));
		run_free(&r);
	}
}

static void test_bare_lf_normalize(void **state)
{
	struct run r;

	(void)state;
	data_once(&r, S("a\nb\r\n.\n.\r\nc\r\n.\r\n"), SMTP_NEWLINE_NORMALIZE);
	assert_int_equal(r.status, SMTP_DATA_END);
	/* ".\n" is an (unstuffed, empty) line, and the ".\r\n" after it
	 * does not end the message: its line before ended with bare LF. */
	assert_string_equal(strbuf_str(r.sink.text),
			    "N:a\nN:b\nN:\nN:\nN:c\n");
	assert_int_equal(smtp_data_stats(r.sd)->bare_lf, 2);
	assert_int_equal(smtp_data_stats(r.sd)->result, SMTP_DATA_OK);
	run_free(&r);
}

static void test_bare_lf_reject(void **state)
{
	struct run r;
	const char in[] = "a\r\nb\nc\r\n.\r\nNOOP\r\n";

	(void)state;
	data_once(&r, S(in), SMTP_NEWLINE_REJECT);
	assert_int_equal(r.status, SMTP_DATA_END);
	assert_int_equal(r.used, sizeof(in) - 1 - 6);
	assert_int_equal(smtp_data_stats(r.sd)->result, SMTP_DATA_BARE_LF);
	/* Nothing from the bare LF on is handed out. */
	assert_string_equal(strbuf_str(r.sink.text), "N:a\n");
	run_free(&r);

	/* Without a bare LF, reject mode accepts. */
	data_once(&r, S("a\r\n.\r\n"), SMTP_NEWLINE_REJECT);
	assert_int_equal(smtp_data_stats(r.sd)->result, SMTP_DATA_OK);
	run_free(&r);
}

static void test_bare_cr_is_data(void **state)
{
	struct run r;

	(void)state;
	data_once(&r, S("a\rb\r\n.\r\r\n\r\r\n.\r\n"), SMTP_NEWLINE_NORMALIZE);
	assert_int_equal(r.status, SMTP_DATA_END);
	/* ".\r\r\n" is the line ".\r", unstuffed to "\r" (Postfix 3.9 no
	 * longer strips the extra CR); "\r\r\n" is the line "\r". */
	assert_string_equal(strbuf_str(r.sink.text),
			    "N:a\\x0db\nN:\\x0d\nN:\\x0d\n");
	assert_int_equal(smtp_data_stats(r.sd)->bare_cr, 3);
	assert_int_equal(smtp_data_stats(r.sd)->bare_lf, 0);
	run_free(&r);
}

static void test_dot_stuffing(void **state)
{
	struct run r;

	(void)state;
	data_once(&r, S("..\r\n..x\r\n...\r\n a.\r\n.x.\r\n.\r\n"),
		  SMTP_NEWLINE_NORMALIZE);
	assert_int_equal(r.status, SMTP_DATA_END);
	assert_string_equal(strbuf_str(r.sink.text),
			    "N:.\nN:.x\nN:..\nN: a.\nN:x.\n");
	run_free(&r);
}

static void test_long_lines(void **state)
{
	struct run r;

	(void)state;
	run_init(&r, 4, 0, SMTP_NEWLINE_NORMALIZE);
	run_feed(&r, S("abcdefghij\r\nabcd\r\nabcd\re\r\nabcd.x\r\n"
		       ".abcde\r\nabcdefgh\r\n.\r\n"),
		 0);
	assert_int_equal(r.status, SMTP_DATA_END);
	/* A line of exactly the limit is one record; the CR held back at
	 * the limit is data when no LF follows it; a dot after a piece is
	 * not at the start of a line; the stuffed dot does not count. */
	assert_string_equal(strbuf_str(r.sink.text),
			    "L:abcd\nL:efgh\nN:ij\n"
			    "N:abcd\n"
			    "L:abcd\nN:\\x0de\n"
			    "L:abcd\nN:.x\n"
			    "L:abcd\nN:e\n"
			    "L:abcd\nN:efgh\n");
	assert_int_equal(smtp_data_stats(r.sd)->lines, 6);
	run_free(&r);
}

static void test_huge_line_bounded(void **state)
{
	size_t len = 4 * 1024 * 1024, pieces;
	char *in = malloc(len + 5);
	struct run r;

	(void)state;
	memset(in, 'x', len);
	memcpy(in + len, "\r\n.\r\n", 5);
	run_init(&r, 2048, 0, SMTP_NEWLINE_NORMALIZE);
	strbuf_free(&r.sink.text);
	r.sink.text = strbuf_new(STRBUF_NO_MAX);
	run_feed(&r, in, len + 5, 65536);
	assert_int_equal(r.status, SMTP_DATA_END);
	pieces = len / 2048;
	assert_int_equal(smtp_data_stats(r.sd)->lines, 1);
	assert_int_equal(r.sink.calls, pieces);
	assert_int_equal(smtp_data_stats(r.sd)->size, len + 2);
	run_free(&r);
	free(in);
}

static void test_size_limit(void **state)
{
	struct run r;

	(void)state;
	/* 8 bytes + 2 for the line end: exactly the limit is fine. */
	run_init(&r, 2048, 10, SMTP_NEWLINE_NORMALIZE);
	run_feed(&r, S("12345678\r\n.\r\n"), 0);
	assert_int_equal(smtp_data_stats(r.sd)->result, SMTP_DATA_OK);
	run_free(&r);

	run_init(&r, 2048, 10, SMTP_NEWLINE_NORMALIZE);
	run_feed(&r, S("123456789\r\nmore\r\nand more\r\n.\r\nQUIT\r\n"), 0);
	assert_int_equal(r.status, SMTP_DATA_END);
	/* Consumed to the end of data, not further, and stopped storing. */
	assert_int_equal(r.used, strlen("123456789\r\nmore\r\nand more\r\n.\r\n"));
	assert_int_equal(smtp_data_stats(r.sd)->result, SMTP_DATA_TOO_BIG);
	assert_string_equal(strbuf_str(r.sink.text), "");
	assert_int_equal(smtp_data_stats(r.sd)->size, 9 + 4 + 8 + 6);
	run_free(&r);
}

static void test_nul_bytes(void **state)
{
	struct run r;
	const char in[] = "a\0b\r\n\0\r\n.\r\n";

	(void)state;
	data_once(&r, in, sizeof(in) - 1, SMTP_NEWLINE_NORMALIZE);
	assert_int_equal(r.status, SMTP_DATA_END);
	assert_string_equal(strbuf_str(r.sink.text), "N:a\\x00b\nN:\\x00\n");
	assert_int_equal(smtp_data_stats(r.sd)->nul_bytes, 2);
	assert_int_equal(smtp_data_stats(r.sd)->result, SMTP_DATA_OK);
	run_free(&r);
}

static void test_output_error(void **state)
{
	struct run r;

	(void)state;
	run_init(&r, 2048, 0, SMTP_NEWLINE_NORMALIZE);
	r.sink.fail_at = 2;
	run_feed(&r, S("a\r\nb\r\nc\r\n.\r\n"), 0);
	assert_int_equal(r.status, SMTP_DATA_END);
	assert_int_equal(smtp_data_stats(r.sd)->result, SMTP_DATA_OUTPUT_ERR);
	assert_int_equal(r.sink.calls, 2); /* not called after the failure */
	assert_string_equal(strbuf_str(r.sink.text), "N:a\n");
	run_free(&r);
}

static void test_end_then_more(void **state)
{
	struct run r;
	size_t used;

	(void)state;
	data_once(&r, S("x\r\n.\r\n"), SMTP_NEWLINE_NORMALIZE);
	assert_int_equal(smtp_data_feed(r.sd, "y\r\n", 3, &used),
			 SMTP_DATA_END);
	assert_int_equal(used, 0);
	/* A new message starts clean. */
	smtp_data_begin(r.sd, SMTP_DATA_DOT);
	strbuf_reset(r.sink.text);
	run_feed(&r, S(".\r\n"), 0);
	assert_int_equal(r.status, SMTP_DATA_END);
	assert_int_equal(smtp_data_stats(r.sd)->lines, 0);
	run_free(&r);
}

/* Every split point, and byte by byte, gives the same records. */
static void test_chunking_equivalence(void **state)
{
	static const char in[] =
		"Subject: t\r\n..dot\r\nlong-line-here\r\nbare\nlf\r\n"
		"cr\rin\r\n.\n.\r\n\r.\r\n\0nul\r\nabcdefgh\r\r\n"
		"\r\n.\r\nRSET\r\n";
	const size_t len = sizeof(in) - 1;
	struct run whole, r;
	size_t split, used1, used2;

	(void)state;
	run_init(&whole, 8, 0, SMTP_NEWLINE_NORMALIZE);
	run_feed(&whole, in, len, 0);
	assert_int_equal(whole.status, SMTP_DATA_END);
	assert_int_equal(whole.used, len - 6);

	for (split = 0; split <= len; split++) {
		run_init(&r, 8, 0, SMTP_NEWLINE_NORMALIZE);
		assert_int_equal(smtp_data_feed(r.sd, in, split, &used1),
				 split < whole.used ? SMTP_DATA_MORE
						    : SMTP_DATA_END);
		used2 = 0;
		if (used1 == split)
			(void)smtp_data_feed(r.sd, in + split, len - split,
					     &used2);
		assert_int_equal(used1 + used2, whole.used);
		assert_string_equal(strbuf_str(r.sink.text),
				    strbuf_str(whole.sink.text));
		assert_memory_equal(smtp_data_stats(r.sd),
				    smtp_data_stats(whole.sd),
				    sizeof(struct smtp_data_stats));
		run_free(&r);
	}
	run_init(&r, 8, 0, SMTP_NEWLINE_NORMALIZE);
	run_feed(&r, in, len, 1);
	assert_int_equal(r.used, whole.used);
	assert_string_equal(strbuf_str(r.sink.text),
			    strbuf_str(whole.sink.text));
	run_free(&r);
	run_free(&whole);
}

static void bdat_init(struct run *r, size_t line_limit, uint64_t size_limit)
{
	run_init(r, line_limit, size_limit, SMTP_NEWLINE_NORMALIZE);
	smtp_data_begin(r->sd, SMTP_DATA_BDAT);
}

static void test_bdat_chunks(void **state)
{
	struct run r;
	size_t used;

	(void)state;
	bdat_init(&r, 2048, 0);
	/* A chunk of 6 out of a longer buffer: the rest is the next command. */
	assert_int_equal(smtp_data_bdat_chunk(r.sd, 6), 0);
	assert_int_equal(smtp_data_feed(r.sd, "ab\r\n.c" "BDAT 4", 12, &used),
			 SMTP_DATA_END);
	assert_int_equal(used, 6);
	/* A second chunk before the first is consumed is refused. */
	assert_int_equal(smtp_data_bdat_chunk(r.sd, 5), 0);
	assert_int_equal(smtp_data_bdat_chunk(r.sd, 1), -1);
	assert_int_equal(smtp_data_bdat_finish(r.sd), -1);
	assert_int_equal(smtp_data_feed(r.sd, "\r\n.\r", 4, &used),
			 SMTP_DATA_MORE);
	assert_int_equal(used, 4);
	assert_int_equal(smtp_data_feed(r.sd, "\nxyz", 4, &used),
			 SMTP_DATA_END);
	assert_int_equal(used, 1);
	/* BDAT 0 LAST */
	assert_int_equal(smtp_data_bdat_chunk(r.sd, 0), 0);
	assert_int_equal(smtp_data_feed(r.sd, "xyz", 3, &used), SMTP_DATA_END);
	assert_int_equal(used, 0);
	assert_int_equal(smtp_data_bdat_finish(r.sd), 0);
	/* No dot-unstuffing and no end-of-data in BDAT. */
	assert_string_equal(strbuf_str(r.sink.text), "N:ab\nN:.c\nN:.\n");
	run_free(&r);
}

static void test_bdat_unterminated_last(void **state)
{
	struct run r;
	size_t used;

	(void)state;
	bdat_init(&r, 2048, 0);
	assert_int_equal(smtp_data_bdat_chunk(r.sd, 7), 0);
	assert_int_equal(smtp_data_feed(r.sd, "a\nb\r\nc\r", 7, &used),
			 SMTP_DATA_END);
	assert_int_equal(smtp_data_bdat_finish(r.sd), 0);
	assert_string_equal(strbuf_str(r.sink.text), "N:a\nN:b\nN:c\\x0d\n");
	assert_int_equal(smtp_data_stats(r.sd)->bare_lf, 1);
	assert_int_equal(smtp_data_stats(r.sd)->bare_cr, 1);
	run_free(&r);
}

static void test_bdat_size_limit(void **state)
{
	struct run r;
	size_t used;

	(void)state;
	bdat_init(&r, 2048, 5);
	assert_int_equal(smtp_data_bdat_chunk(r.sd, 10), 0);
	assert_int_equal(smtp_data_feed(r.sd, "0123456789", 10, &used),
			 SMTP_DATA_END);
	assert_int_equal(used, 10);
	assert_int_equal(smtp_data_bdat_finish(r.sd), 0);
	assert_int_equal(smtp_data_stats(r.sd)->result, SMTP_DATA_TOO_BIG);
	assert_string_equal(strbuf_str(r.sink.text), "");
	run_free(&r);
}

static void test_bdat_parse(void **state)
{
	static const struct {
		const char *arg;
		int rc;
		uint64_t size;
		int last;
	} cases[] = {
		{"100", 0, 100, 0},
		{"100 LAST", 0, 100, 1},
		{"0 last", 0, 0, 1},
		{"  7 \t LaSt  ", 0, 7, 1},
		{"7 ", 0, 7, 0},
		{"18446744073709551615", 0, UINT64_MAX, 0},
		{"18446744073709551616", -1, 0, 0},
		{"", -1, 0, 0},
		{"LAST", -1, 0, 0},
		{"x", -1, 0, 0},
		{"-1", -1, 0, 0},
		{"+1", -1, 0, 0},
		{"10x", -1, 0, 0},
		{"10 LASTX", -1, 0, 0},
		{"10 LAST x", -1, 0, 0},
		{"10 20", -1, 0, 0},
	};
	uint64_t size;
	int last;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size = 12345;
		last = -1;
		assert_int_equal(smtp_data_bdat_parse(cases[i].arg, &size,
						       &last),
				 cases[i].rc);
		if (cases[i].rc == 0) {
			assert_true(size == cases[i].size);
			assert_int_equal(last, cases[i].last);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_message),
		cmocka_unit_test(test_empty_message),
		cmocka_unit_test(test_smuggling_sequences),
		cmocka_unit_test(test_smuggling_at_start),
		cmocka_unit_test(test_bare_lf_normalize),
		cmocka_unit_test(test_bare_lf_reject),
		cmocka_unit_test(test_bare_cr_is_data),
		cmocka_unit_test(test_dot_stuffing),
		cmocka_unit_test(test_long_lines),
		cmocka_unit_test(test_huge_line_bounded),
		cmocka_unit_test(test_size_limit),
		cmocka_unit_test(test_nul_bytes),
		cmocka_unit_test(test_output_error),
		cmocka_unit_test(test_end_then_more),
		cmocka_unit_test(test_chunking_equivalence),
		cmocka_unit_test(test_bdat_chunks),
		cmocka_unit_test(test_bdat_unterminated_last),
		cmocka_unit_test(test_bdat_size_limit),
		cmocka_unit_test(test_bdat_parse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
