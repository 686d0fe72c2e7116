/*
 * test_record - record framing (global/record.c), the type table
 * (global/rec_type.c) and the buffered stream under them (util/rstream.c).
 *
 * Streams live in memfd files: hermetic, nothing to clean up.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "rec_type.h"
#include "record.h"
#include "rstream.h"
#include "strbuf.h"

static struct rstream *mem_stream(void)
{
	int fd = memfd_create("record", MFD_CLOEXEC);

	assert_true(fd >= 0);
	return rstream_fdopen(fd, 64);	/* small: exercise refills */
}

/* A stream holding exactly these bytes, positioned at 0. */
static struct rstream *bytes_stream(const void *data, size_t len)
{
	struct rstream *s = mem_stream();

	assert_int_equal(rstream_write(s, data, len), 0);
	assert_int_equal(rstream_seek(s, 0), 0);
	return s;
}

static void fill_payload(char *buf, size_t len, int seed)
{
	size_t i;

	/* NUL, 0x80 and 0xff included: the framing is binary-transparent. */
	for (i = 0; i < len; i++)
		buf[i] = (char) ((i * 131 + (size_t) seed) & 0xff);
}

static void test_round_trip_every_type(void **state)
{
	const struct rec_type_info *t;
	size_t lens[] = {0, 1, 127, 128, 0 /* max_len */};
	struct rstream *s = mem_stream();
	struct strbuf *buf = strbuf_new(STRBUF_NO_MAX);
	struct strbuf *why = strbuf_new(256);
	char *payload = malloc(REC_ATTR_MAX), *want = malloc(REC_ATTR_MAX);
	size_t i, len, count = 0;
	int type;

	(void) state;
	for (t = rec_type_table; t->type != REC_TYPE_EOF; t++) {
		lens[4] = t->max_len;
		for (i = 0; i < 5; i++) {
			len = lens[i] > t->max_len ? t->max_len : lens[i];
			fill_payload(payload, len, t->type);
			assert_int_equal(rec_put(s, t->type, payload, len), 0);
			count++;
		}
	}
	assert_int_equal(rstream_seek(s, 0), 0);
	for (t = rec_type_table; t->type != REC_TYPE_EOF; t++) {
		lens[4] = t->max_len;
		for (i = 0; i < 5; i++) {
			off_t before = rstream_tell(s);

			len = lens[i] > t->max_len ? t->max_len : lens[i];
			assert_int_equal(rec_get(s, &type, buf, SIZE_MAX,
						 REC_FLAG_NONE, why),
					 0);
			assert_int_equal(type, t->type);
			assert_int_equal(strbuf_len(buf), len);
			fill_payload(want, len, t->type);
			if (len > 0)
				assert_memory_equal(strbuf_str(buf), want, len);
			assert_int_equal(rstream_tell(s) - before,
					 (off_t) rec_size(len));
			count--;
		}
	}
	assert_int_equal(count, 0);
	assert_int_equal(rec_get(s, &type, buf, SIZE_MAX, 0, why), 0);
	assert_int_equal(type, REC_TYPE_EOF);
	free(payload);
	free(want);
	strbuf_free(&buf);
	strbuf_free(&why);
	rstream_close(&s);
}

static void test_length_field(void **state)
{
	unsigned char out[REC_LEN_BYTES_MAX];
	struct {
		size_t len;
		size_t bytes;
	} cases[] = {
		{0, 1}, {127, 1}, {128, 2}, {16383, 2}, {16384, 3},
		{((size_t) 1 << 35) - 1, 5}, {(size_t) 1 << 35, 6},
		{SIZE_MAX, 10},
	};
	size_t i, j, decoded;

	(void) state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(rec_len_encode(out, cases[i].len),
				 cases[i].bytes);
		decoded = 0;
		for (j = 0; j < cases[i].bytes; j++) {
			/* Every group but the last has the high bit. */
			assert_int_equal((out[j] & 0x80) != 0,
					 j + 1 < cases[i].bytes);
			decoded |= (size_t) (out[j] & 0x7f) << (7 * j);
		}
		assert_true(decoded == cases[i].len);
		assert_int_equal(rec_size(cases[i].len) - cases[i].len,
				 1 + cases[i].bytes);
	}
	assert_int_equal(rec_size(128), 131);
}

/* A record whose length is over every limit is refused with the decoded
 * length in the reason, and the buffer never grows towards it. */
static void check_over_limit(size_t len, size_t limit, const char *expect)
{
	unsigned char rec[1 + REC_LEN_BYTES_MAX + 4];
	struct strbuf *buf = strbuf_new(STRBUF_NO_MAX);
	struct strbuf *why = strbuf_new(256);
	struct rstream *s;
	size_t n;
	int type = -1;

	rec[0] = REC_TYPE_NORM;
	n = 1 + rec_len_encode(rec + 1, len);
	memcpy(rec + n, "abcd", 4);	/* some payload, not all of it */
	s = bytes_stream(rec, n + 4);
	assert_int_equal(rec_get(s, &type, buf, limit, 0, why), -1);
	assert_int_equal(type, REC_TYPE_EOF);
	assert_non_null(strstr(strbuf_str(why), expect));
	assert_true(buf->cap <= 64);	/* nothing reserved for the payload */
	assert_int_equal(strbuf_len(buf), 0);
	strbuf_free(&buf);
	strbuf_free(&why);
	rstream_close(&s);
}

static void test_length_over_limit(void **state)
{
	(void) state;
	check_over_limit(16383, SIZE_MAX, "length 16383 exceeds limit 4096");
	check_over_limit(16384, SIZE_MAX, "length 16384 exceeds limit 4096");
	check_over_limit(((size_t) 1 << 35) - 1, SIZE_MAX,
			 "length 34359738367 exceeds");
	/* The caller's limit applies on top of the type's. */
	check_over_limit(11, 10, "length 11 exceeds limit 10");
}

static void check_malformed(const void *bytes, size_t len, const char *expect)
{
	struct strbuf *buf = strbuf_new(STRBUF_NO_MAX);
	struct strbuf *why = strbuf_new(256);
	struct rstream *s = bytes_stream(bytes, len);
	int type = -1;

	assert_int_equal(rec_get(s, &type, buf, SIZE_MAX, 0, why), -1);
	assert_int_equal(type, REC_TYPE_EOF);
	if (strstr(strbuf_str(why), expect) == NULL)
		fail_msg("reason \"%s\" lacks \"%s\"", strbuf_str(why), expect);
	strbuf_free(&buf);
	strbuf_free(&why);
	rstream_close(&s);
}

static void test_malformed(void **state)
{
	(void) state;
	check_malformed("N", 1, "truncated length field");
	check_malformed("N\x80", 2, "truncated length field");
	check_malformed("N\x80\x80\x80\x80", 5, "truncated length field");
	/* Six groups: refused at the sixth byte, no shift past 35 bits. */
	check_malformed("N\x80\x80\x80\x80\x80\x01", 7,
			"length field longer than 5 bytes");
	check_malformed("N\xff\xff\xff\xff\xff\xff\xff\xff\xff\x7f", 11,
			"length field longer than 5 bytes");
	check_malformed("N\x05" "ab", 4, "truncated line record");
	check_malformed("N\x01", 2, "truncated line record");
	check_malformed("\x01\x00", 2, "unknown record type 0x01");
	check_malformed("Z\x00", 2, "unknown record type 0x5a");
	check_malformed("\x00\x00", 2, "unknown record type 0x00");
	/* Records that must be empty. */
	check_malformed("E\x01x", 3, "exceeds limit 0");
	check_malformed("Q\x00", 2, "offset 0");
}

static void test_clean_eof(void **state)
{
	struct strbuf *buf = strbuf_new(16);
	struct strbuf *why = strbuf_new(256);
	struct rstream *s = bytes_stream("", 0);
	int type = -1;

	(void) state;
	assert_int_equal(rec_get(s, &type, buf, SIZE_MAX, 0, why), 0);
	assert_int_equal(type, REC_TYPE_EOF);
	rstream_close(&s);
	/* The caller's strbuf maximum is a limit too. */
	s = bytes_stream("N\x11" "0123456789abcdefg", 19);
	assert_int_equal(rec_get(s, &type, buf, SIZE_MAX, 0, why), -1);
	assert_non_null(strstr(strbuf_str(why), "exceeds limit 16"));
	strbuf_free(&buf);
	strbuf_free(&why);
	rstream_close(&s);
}

static void test_put_refusals(void **state)
{
	struct rstream *s = mem_stream();
	char big[REC_LINE_MAX + 1];

	(void) state;
	memset(big, 'x', sizeof(big));
	errno = 0;
	assert_int_equal(rec_put(s, 'Z', "x", 1), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(rec_put(s, REC_TYPE_NORM, big, sizeof(big)), -1);
	assert_int_equal(errno, EMSGSIZE);
	assert_int_equal(rec_put(s, REC_TYPE_END, "x", 1), -1);
	assert_int_equal(errno, EMSGSIZE);
	assert_int_equal(rstream_tell(s), 0);	/* nothing was written */
	rstream_close(&s);
}

static void put_ptr(struct rstream *s, off_t target)
{
	assert_int_equal(rec_printf(s, REC_TYPE_PTR, "%*lld", REC_NUM_WIDTH,
				    (long long) target),
			 0);
}

static void test_pointer_follow(void **state)
{
	struct rstream *s = mem_stream();
	struct strbuf *buf = strbuf_new(STRBUF_NO_MAX);
	struct strbuf *why = strbuf_new(256);
	off_t ptr_at, target;
	int type;

	(void) state;
	rec_puts(s, REC_TYPE_NORM, "one");
	put_ptr(s, 0);		/* placeholder: reading just goes on */
	ptr_at = rstream_tell(s);
	put_ptr(s, 0);		/* patched below to skip "skipped" */
	rec_puts(s, REC_TYPE_NORM, "skipped");
	target = rstream_tell(s);
	rec_puts(s, REC_TYPE_NORM, "two");
	assert_int_equal(rstream_seek(s, ptr_at), 0);
	put_ptr(s, target);
	assert_int_equal(rstream_seek(s, 0), 0);

	assert_int_equal(rec_get(s, &type, buf, SIZE_MAX, REC_FLAG_FOLLOW_PTR,
				 why),
			 0);
	assert_string_equal(strbuf_str(buf), "one");
	assert_int_equal(rec_get(s, &type, buf, SIZE_MAX, REC_FLAG_FOLLOW_PTR,
				 why),
			 0);
	assert_string_equal(strbuf_str(buf), "two");
	assert_int_equal(rec_get(s, &type, buf, SIZE_MAX, REC_FLAG_FOLLOW_PTR,
				 why),
			 0);
	assert_int_equal(type, REC_TYPE_EOF);

	/* Without the flag the pointer records are handed out. */
	assert_int_equal(rstream_seek(s, 0), 0);
	rec_get(s, &type, buf, SIZE_MAX, 0, why);
	rec_get(s, &type, buf, SIZE_MAX, 0, why);
	assert_int_equal(type, REC_TYPE_PTR);

	/* A pointer to itself is a loop: bounded, then refused. */
	assert_int_equal(rstream_seek(s, ptr_at), 0);
	put_ptr(s, ptr_at);
	assert_int_equal(rstream_seek(s, ptr_at), 0);
	assert_int_equal(rec_get(s, &type, buf, SIZE_MAX, REC_FLAG_FOLLOW_PTR,
				 why),
			 -1);
	assert_non_null(strstr(strbuf_str(why), "pointer records in a row"));
	strbuf_free(&buf);
	strbuf_free(&why);
	rstream_close(&s);
}

static void test_bad_pointer(void **state)
{
	struct strbuf *buf = strbuf_new(STRBUF_NO_MAX);
	struct strbuf *why = strbuf_new(256);
	struct rstream *s = bytes_stream("p\x03" "123", 5);
	int type;

	(void) state;
	assert_int_equal(rec_get(s, &type, buf, SIZE_MAX, REC_FLAG_FOLLOW_PTR,
				 why),
			 -1);
	assert_non_null(strstr(strbuf_str(why), "malformed pointer"));
	strbuf_free(&buf);
	strbuf_free(&why);
	rstream_close(&s);
}

static void test_num_parse(void **state)
{
	off_t v;

	(void) state;
	assert_int_equal(rec_num_parse("            123", 15, &v), 0);
	assert_int_equal(v, 123);
	assert_int_equal(rec_num_parse("999999999999999", 15, &v), 0);
	assert_int_equal(v, 999999999999999LL);
	assert_int_equal(rec_num_parse("              0", 15, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(rec_num_parse("               ", 15, &v), -1);
	assert_int_equal(rec_num_parse("           -123", 15, &v), -1);
	assert_int_equal(rec_num_parse("  12 3         ", 15, &v), -1);
	assert_int_equal(rec_num_parse("123", 3, &v), -1);
	assert_int_equal(rec_num_parse("             123", 16, &v), -1);
}

static void test_type_table(void **state)
{
	const struct rec_type_info *t;
	const char *letters = "CTcFISRDO/WAK>EMNLwXrePpV<ionmfdv";
	const char *p;
	int seen[256] = {0};

	(void) state;
	for (p = letters; *p; p++)
		assert_non_null(rec_type_info(*p));
	for (t = rec_type_table; t->type != REC_TYPE_EOF; t++) {
		assert_int_equal(seen[t->type]++, 0);	/* no duplicates */
		assert_non_null(strchr(letters, t->type));
		/* What users may send is a subset of what a file may hold. */
		assert_int_equal(t->user_segments & ~t->segments, 0);
	}
	assert_null(rec_type_info('Z'));
	assert_null(rec_type_info(0));
	assert_null(rec_type_info(300));
	assert_string_equal(rec_type_name('Z'), "unknown");
	/* Postfix's segment lists. */
	for (p = "MCTcFILSDRO/WVA>K<ion"; *p; p++)
		assert_true(rec_type_allowed(*p, REC_SEG_ENVELOPE));
	for (p = "XLNw"; *p; p++)
		assert_true(rec_type_allowed(*p, REC_SEG_CONTENT));
	for (p = "EDRO/PreAFIL>Kon"; *p; p++)
		assert_true(rec_type_allowed(*p, REC_SEG_EXTRACTED));
	assert_false(rec_type_allowed(REC_TYPE_NORM, REC_SEG_ENVELOPE));
	assert_false(rec_type_allowed(REC_TYPE_FROM, REC_SEG_CONTENT));
	assert_false(rec_type_allowed(REC_TYPE_END, REC_SEG_ENVELOPE));
	assert_true(rec_type_allowed(REC_TYPE_VERSION, REC_SEG_ENVELOPE));
	/* postdrop's narrow set, exactly. */
	for (t = rec_type_table; t->type != REC_TYPE_EOF; t++) {
		assert_int_equal(rec_type_user_allowed(t->type,
						       REC_SEG_ENVELOPE),
				 strchr("MCFSRVAin", t->type) != NULL);
		assert_int_equal(rec_type_user_allowed(t->type,
						       REC_SEG_CONTENT),
				 strchr("XLN", t->type) != NULL);
		assert_int_equal(rec_type_user_allowed(t->type,
						       REC_SEG_EXTRACTED),
				 strchr("EAR", t->type) != NULL);
	}
}

/* rstream: reads, writes and seeks interleave at the logical offset. */
static void test_rstream_mixed(void **state)
{
	struct rstream *s = mem_stream();
	char buf[300];
	size_t i;

	(void) state;
	for (i = 0; i < 200; i++)
		assert_int_equal(rstream_putc(s, (int) ('a' + i % 26)), 0);
	assert_int_equal(rstream_tell(s), 200);
	assert_int_equal(rstream_seek(s, 10), 0);
	assert_int_equal(rstream_getc(s), 'k');
	/* Write after read-ahead: lands right after the byte just read. */
	assert_int_equal(rstream_write(s, "XY", 2), 0);
	assert_int_equal(rstream_tell(s), 13);
	assert_int_equal(rstream_getc(s), 'n');
	assert_int_equal(rstream_seek(s, 0), 0);
	assert_int_equal(rstream_read(s, buf, sizeof(buf)), 200);
	assert_memory_equal(buf + 10, "kXYn", 4);
	assert_int_equal(rstream_getc(s), RSTREAM_EOF);
	assert_int_equal(rstream_error(s), 0);
	assert_int_equal(rstream_close(&s), 0);
	assert_null(s);
}

static void test_rstream_sticky_error(void **state)
{
	int fds[2];
	struct rstream *s;

	(void) state;
	assert_int_equal(pipe(fds), 0);
	close(fds[1]);
	s = rstream_fdopen(fds[0], 0);	/* a read end: writes must fail */
	assert_int_equal(rstream_write(s, "x", 1), 0);	/* buffered */
	assert_int_equal(rstream_flush(s), -1);
	assert_int_equal(errno, EBADF);
	assert_int_equal(rstream_getc(s), RSTREAM_EOF);
	assert_int_equal(rstream_error(s), EBADF);
	assert_int_equal(rstream_close(&s), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_every_type),
		cmocka_unit_test(test_length_field),
		cmocka_unit_test(test_length_over_limit),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_clean_eof),
		cmocka_unit_test(test_put_refusals),
		cmocka_unit_test(test_pointer_follow),
		cmocka_unit_test(test_bad_pointer),
		cmocka_unit_test(test_num_parse),
		cmocka_unit_test(test_type_table),
		cmocka_unit_test(test_rstream_mixed),
		cmocka_unit_test(test_rstream_sticky_error),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
