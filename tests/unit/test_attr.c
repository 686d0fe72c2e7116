/*
 * test_attr - the attribute-list codec, stream reader and handshake.
 *
 * Every malformed-input rule in attr.h has a case here that checks the
 * reason a caller would log, and every prefix of a valid list must read as
 * "need more", never as an error or a shorter list.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "attr.h"
#include "strbuf.h"

static const struct attr_spec test_specs[] = {
    {.name = "name", .type = ATTR_STR, .required = 1},
    {.name = "count", .type = ATTR_INT, .required = 1},
    {.name = "size", .type = ATTR_LONG, .required = 0},
    {.name = "short_str", .type = ATTR_STR, .max_len = 8, .required = 0},
};
static const struct attr_schema test_schema = {
    .protocol = "test_protocol",
    .specs = test_specs,
    .count = 4,
};

/* Build a raw list from NUL-separated pieces: "a\0b\0" etc. */
#define RAW(s) s, sizeof(s) - 1

static void assert_values_empty(const struct attr_value *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(v[i].present, 0);
		assert_null(v[i].str);
	}
}

/* Scan raw bytes that must be rejected; return whether why has needle. */
static void expect_error(const char *buf, size_t len, const char *needle)
{
	struct attr_value v[4];
	struct strbuf *why = strbuf_new(1024);

	assert_int_equal(attr_scan(&test_schema, buf, len, v, why), -1);
	assert_values_empty(v, 4);
	if (strstr(strbuf_str(why), needle) == NULL)
		fail_msg("reason \"%s\" lacks \"%s\"", strbuf_str(why), needle);
	assert_non_null(strstr(strbuf_str(why), "test_protocol: "));
	strbuf_free(&why);
}

static void test_round_trip(void **state)
{
	struct attr_value in[4] = {
	    {.present = 1, .str = "a\xff\n\tb", .len = 5},
	    {.present = 1, .num = INT_MIN},
	    {.present = 1, .num = LONG_MIN},
	    {.present = 1, .str = "", .len = 0},
	};
	struct attr_value out[4];
	struct strbuf *buf = strbuf_new(STRBUF_NO_MAX);
	struct strbuf *why = strbuf_new(1024);

	(void)state;
	assert_int_equal(attr_print(&test_schema, in, buf, why), 0);
	assert_int_equal(
	    attr_scan(&test_schema, strbuf_str(buf), strbuf_len(buf), out, why),
	    (ssize_t)strbuf_len(buf));
	assert_true(out[0].present);
	assert_int_equal(out[0].len, 5);
	assert_memory_equal(out[0].str, "a\xff\n\tb", 6); /* NUL too */
	assert_int_equal(out[1].num, INT_MIN);
	assert_int_equal(out[2].num, LONG_MIN);
	assert_true(out[3].present);
	assert_int_equal(out[3].len, 0);
	assert_string_equal(out[3].str, "");
	attr_values_free(out, 4);
	assert_null(out[0].str);

	/* The other extremes, and optional attributes left out. */
	in[1].num = INT_MAX;
	in[2].present = 0;
	in[3].present = 0;
	strbuf_reset(buf);
	assert_int_equal(attr_print(&test_schema, in, buf, why), 0);
	assert_int_equal(strbuf_len(buf), sizeof("name\0a\xff\n\tb\0count\0"
						 "2147483647\0"));
	assert_memory_equal(strbuf_str(buf),
			    "name\0a\xff\n\tb\0count\0"
			    "2147483647\0",
			    strbuf_len(buf));
	assert_int_equal(
	    attr_scan(&test_schema, strbuf_str(buf), strbuf_len(buf), out, why),
	    (ssize_t)strbuf_len(buf));
	assert_int_equal(out[1].num, INT_MAX);
	assert_false(out[2].present);
	attr_values_free(out, 4);

	in[1].num = 0;
	in[2] = (struct attr_value){.present = 1, .num = LONG_MAX};
	strbuf_reset(buf);
	assert_int_equal(attr_print(&test_schema, in, buf, why), 0);
	assert_true(attr_scan(&test_schema, strbuf_str(buf), strbuf_len(buf),
			      out, why) > 0);
	assert_int_equal(out[2].num, LONG_MAX);
	attr_values_free(out, 4);
	strbuf_free(&buf);
	strbuf_free(&why);
}

static void test_any_order_and_trailing(void **state)
{
	/* Two lists back to back: the first scan takes exactly one. */
	static const char two[] = "count\0"
				  "-5\0name\0x\0\0name\0y\0count\0"
				  "1\0\0";
	struct attr_value v[4];
	ssize_t n;

	(void)state;
	n = attr_scan(&test_schema, two, sizeof(two) - 1, v, NULL);
	assert_int_equal(n, sizeof("count\0"
				   "-5\0name\0x\0"));
	assert_int_equal(v[1].num, -5);
	assert_string_equal(v[0].str, "x");
	attr_values_free(v, 4);
	assert_int_equal(attr_scan(&test_schema, two + n,
				   sizeof(two) - 1 - (size_t)n, v, NULL),
			 (ssize_t)(sizeof(two) - 1) - n);
	assert_string_equal(v[0].str, "y");
	attr_values_free(v, 4);
}

static void test_malformed(void **state)
{
	(void)state;
	expect_error(RAW("name\0x\0count\0"
			 "1\0bogus\0"
			 "1\0\0"),
		     "unknown attribute \"bogus\"");
	expect_error(RAW("name\0x\0name\0y\0count\0"
			 "1\0\0"),
		     "duplicate attribute \"name\"");
	expect_error(RAW("name\0x\0\0"), "missing attribute \"count\"");
	expect_error(RAW("count\0"
			 "1\0\0"),
		     "missing attribute \"name\"");
	expect_error(RAW("\0"), "missing attribute");
	expect_error(RAW("Name\0x\0"), "bad character 0x4e in attribute name");
	expect_error(RAW("na-me\0x\0"), "bad character 0x2d");
	expect_error(RAW("na me\0x\0"), "bad character 0x20");
	expect_error(RAW("\xc3\xa9\0x\0"), "bad character 0xc3");
	expect_error(RAW("name\0x\0short_str\0"
			 "123456789\0count\0"
			 "1\0\0"),
		     "value of \"short_str\" longer than 8 bytes");
	/* Too long is known before the NUL arrives. */
	expect_error(RAW("short_str\0"
			 "123456789"),
		     "longer than 8 bytes");

	/* Integers: whole decimal numbers only, in range. */
	expect_error(RAW("name\0x\0count\0\0\0"),
		     "bad int value \"\" for \"count\"");
	expect_error(RAW("name\0x\0count\0"
			 "12a\0\0"),
		     "bad int value \"12a\"");
	expect_error(RAW("name\0x\0count\0 1\0\0"), "bad int value \" 1\"");
	expect_error(RAW("name\0x\0count\0+1\0\0"), "bad int value \"+1\"");
	expect_error(RAW("name\0x\0count\0"
			 "1.0\0\0"),
		     "bad int value");
	expect_error(RAW("name\0x\0count\0-\0\0"), "bad int value \"-\"");
	expect_error(RAW("name\0x\0count\0"
			 "0x10\0\0"),
		     "bad int value");
	expect_error(RAW("name\0x\0count\0"
			 "1\n\0\0"),
		     "bad int value \"1?\"");
	expect_error(RAW("name\0x\0count\0"
			 "2147483648\0\0"),
		     "bad int value \"2147483648\"");
	expect_error(RAW("name\0x\0count\0-2147483649\0\0"), "bad int value");
	expect_error(RAW("name\0x\0count\0"
			 "1\0size\0"
			 "9223372036854775808\0\0"),
		     "bad long value \"9223372036854775808\" for \"size\"");
	expect_error(RAW("name\0x\0count\0"
			 "1\0size\0-9223372036854775809\0\0"),
		     "bad long value");
	expect_error(RAW("name\0x\0count\0"
			 "1\0size\0"
			 "000000000000000000001\0\0"),
		     "integer value of \"size\" longer than 20 bytes");
}

static void test_name_too_long(void **state)
{
	char buf[ATTR_NAME_MAX + 8];

	(void)state;
	memset(buf, 'a', sizeof(buf));
	/* 64 bytes and no NUL yet: could still be valid (if unknown). */
	assert_int_equal(attr_scan(&test_schema, buf, ATTR_NAME_MAX,
				   (struct attr_value[4]){{0}}, NULL),
			 0);
	expect_error(buf, ATTR_NAME_MAX + 1,
		     "attribute name longer than 64 bytes");
	buf[ATTR_NAME_MAX + 1] = 0;
	expect_error(buf, ATTR_NAME_MAX + 2,
		     "attribute name longer than 64 bytes");
	/* Exactly 64 is a valid length, so the error is "unknown". */
	buf[ATTR_NAME_MAX] = 0;
	expect_error(buf, ATTR_NAME_MAX + 1, "unknown attribute");
}

static void test_too_many(void **state)
{
	static struct attr_spec specs[ATTR_COUNT_MAX];
	static char names[ATTR_COUNT_MAX][8];
	struct attr_schema schema = {
	    .protocol = "many", .specs = specs, .count = ATTR_COUNT_MAX};
	struct attr_value *v = calloc(ATTR_COUNT_MAX, sizeof(*v));
	struct strbuf *buf = strbuf_new(STRBUF_NO_MAX);
	struct strbuf *why = strbuf_new(1024);

	(void)state;
	for (int i = 0; i < ATTR_COUNT_MAX; i++) {
		snprintf(names[i], sizeof(names[i]), "a%d", i);
		specs[i] =
		    (struct attr_spec){.name = names[i], .type = ATTR_INT};
		strbuf_printf(buf, "a%d%c%d%c", i, 0, i, 0);
	}
	strbuf_putc(buf, 0);
	assert_int_equal(
	    attr_scan(&schema, strbuf_str(buf), strbuf_len(buf), v, why),
	    (ssize_t)strbuf_len(buf));
	assert_int_equal(v[255].num, 255);
	attr_values_free(v, ATTR_COUNT_MAX);
	/* One more: refused for its number before anything else. */
	strbuf_truncate(buf, strbuf_len(buf) - 1);
	strbuf_printf(buf, "a0%c1%c%c", 0, 0, 0);
	assert_int_equal(
	    attr_scan(&schema, strbuf_str(buf), strbuf_len(buf), v, why), -1);
	assert_string_equal(strbuf_str(why), "many: more than 256 attributes");
	free(v);
	strbuf_free(&buf);
	strbuf_free(&why);
}

static void test_truncated_prefixes(void **state)
{
	struct attr_value in[4] = {
	    {.present = 1, .str = "hello", .len = 5},
	    {.present = 1, .num = -42},
	    {.present = 1, .num = 1234567890123L},
	    {.present = 1, .str = "12345678", .len = 8},
	};
	struct attr_value out[4];
	struct strbuf *buf = strbuf_new(STRBUF_NO_MAX);

	(void)state;
	assert_int_equal(attr_print(&test_schema, in, buf, NULL), 0);
	for (size_t len = 0; len < strbuf_len(buf); len++) {
		memset(out, 0x5a, sizeof(out));
		if (attr_scan(&test_schema, strbuf_str(buf), len, out, NULL) !=
		    0)
			fail_msg("prefix of %zu bytes was not \"need more\"",
				 len);
		assert_values_empty(out, 4);
	}
	assert_int_equal(attr_scan(&test_schema, strbuf_str(buf),
				   strbuf_len(buf), out, NULL),
			 (ssize_t)strbuf_len(buf));
	attr_values_free(out, 4);
	strbuf_free(&buf);
}

static void test_huge_value(void **state)
{
	struct attr_value in[4] = {{0}}, out[4];
	struct strbuf *buf = strbuf_new(STRBUF_NO_MAX);
	struct strbuf *why = strbuf_new(1024);
	char *big = malloc(ATTR_VALUE_MAX + 1);

	(void)state;
	memset(big, 'x', ATTR_VALUE_MAX + 1);
	in[0] = (struct attr_value){
	    .present = 1, .str = big, .len = ATTR_VALUE_MAX};
	in[1] = (struct attr_value){.present = 1, .num = 1};
	assert_int_equal(attr_print(&test_schema, in, buf, why), 0);
	assert_true(attr_scan(&test_schema, strbuf_str(buf), strbuf_len(buf),
			      out, why) > 0);
	assert_int_equal(out[0].len, ATTR_VALUE_MAX);
	attr_values_free(out, 4);

	/* One byte more: print refuses, and scan refuses it even unfinished. */
	in[0].len = ATTR_VALUE_MAX + 1;
	strbuf_reset(buf);
	assert_int_equal(attr_print(&test_schema, in, buf, why), -1);
	assert_int_equal(strbuf_len(buf), 0);
	assert_non_null(strstr(strbuf_str(why), "longer than 8192 bytes"));
	strbuf_append(buf, "name", 5);
	strbuf_append(buf, big, ATTR_VALUE_MAX);
	assert_int_equal(
	    attr_scan(&test_schema, strbuf_str(buf), strbuf_len(buf), out, why),
	    0);
	strbuf_putc(buf, 'x');
	assert_int_equal(
	    attr_scan(&test_schema, strbuf_str(buf), strbuf_len(buf), out, why),
	    -1);
	assert_non_null(strstr(strbuf_str(why),
			       "value of \"name\" longer than 8192 bytes"));
	free(big);
	strbuf_free(&buf);
	strbuf_free(&why);
}

static void test_print_refuses(void **state)
{
	struct attr_value in[4] = {
	    {.present = 1, .str = "a\0b", .len = 3},
	    {.present = 1, .num = 1},
	};
	struct strbuf *buf = strbuf_new(STRBUF_NO_MAX);
	struct strbuf *small = strbuf_new(10);
	struct strbuf *why = strbuf_new(1024);

	(void)state;
	strbuf_puts(buf, "keep");
	assert_int_equal(attr_print(&test_schema, in, buf, why), -1);
	assert_string_equal(strbuf_str(why),
			    "test_protocol: value of \"name\" contains a NUL");
	assert_int_equal(strbuf_len(buf), 4);

	in[0].len = 1;
	in[1].num = (long)INT_MAX + 1;
	assert_int_equal(attr_print(&test_schema, in, buf, why), -1);
	assert_non_null(strstr(strbuf_str(why), "out of int range"));
	assert_int_equal(strbuf_len(buf), 4);

	in[1].present = 0;
	assert_int_equal(attr_print(&test_schema, in, buf, why), -1);
	assert_non_null(strstr(strbuf_str(why), "missing attribute \"count\""));

	in[1] = (struct attr_value){.present = 1, .num = 1};
	in[3] = (struct attr_value){.present = 1, .str = "123456789", .len = 9};
	assert_int_equal(attr_print(&test_schema, in, buf, why), -1);
	assert_non_null(strstr(strbuf_str(why), "\"short_str\" longer than 8"));
	assert_string_equal(strbuf_str(buf), "keep");

	/* A full output buffer is an error, and leaves it as it was. */
	in[3].present = 0;
	strbuf_puts(small, "ab");
	assert_int_equal(attr_print(&test_schema, in, small, why), -1);
	assert_string_equal(strbuf_str(small), "ab");
	strbuf_free(&buf);
	strbuf_free(&small);
	strbuf_free(&why);
}

static void test_stream(void **state)
{
	static const char data[] = "name\0one\0count\0"
				   "1\0\0name\0two\0count\0"
				   "2\0\0RAW";
	struct attr_value v[4];
	struct attr_stream *st;
	struct strbuf *why = strbuf_new(1024);
	const char *rest;
	size_t len;
	int sv[2];

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv),
			 0);
	assert_int_equal(write(sv[1], data, sizeof(data) - 1),
			 (ssize_t)sizeof(data) - 1);
	st = attr_stream_new(sv[0], 0);
	assert_int_equal(attr_stream_read(st, 5, &test_schema, v, why), 1);
	assert_string_equal(v[0].str, "one");
	attr_values_free(v, 4);
	assert_int_equal(attr_stream_read(st, 5, &test_schema, v, why), 1);
	assert_string_equal(v[0].str, "two");
	assert_int_equal(v[1].num, 2);
	attr_values_free(v, 4);
	/* Bytes after the lists are kept for the caller. */
	rest = attr_stream_peek(st, &len);
	assert_int_equal(len, 3);
	assert_memory_equal(rest, "RAW", 3);
	attr_stream_consume(st, 3);
	rest = attr_stream_peek(st, &len);
	assert_int_equal(len, 0);

	/* Nothing arrives: a timeout, reported as such, and no stale
	 * values for a caller that frees them anyway. */
	memset(v, 0x5a, sizeof(v));
	assert_int_equal(attr_stream_read(st, 1, &test_schema, v, why), -1);
	assert_non_null(strstr(strbuf_str(why), "timeout"));
	assert_values_empty(v, 4);

	/* Half a list, then the peer goes away. */
	assert_int_equal(write(sv[1], "name\0x", 6), 6);
	close(sv[1]);
	assert_int_equal(attr_stream_read(st, 5, &test_schema, v, why), -1);
	assert_non_null(
	    strstr(strbuf_str(why), "connection closed inside a list"));
	assert_values_empty(v, 4);
	attr_stream_free(&st);
	assert_null(st);
	close(sv[0]);

	/* A clean close between lists is end of file, not an error. */
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv),
			 0);
	st = attr_stream_new(sv[0], 0);
	assert_int_equal(write(sv[1],
			       "name\0a\0count\0"
			       "3\0\0",
			       16),
			 16);
	close(sv[1]);
	assert_int_equal(attr_stream_read(st, 5, &test_schema, v, why), 1);
	attr_values_free(v, 4);
	assert_int_equal(attr_stream_read(st, 5, &test_schema, v, why), 0);
	attr_stream_free(&st);
	close(sv[0]);
	strbuf_free(&why);
}

/* A peer that writes a list one byte at a time, and then a big one. */
static void test_stream_slow_writer(void **state)
{
	static const char list[] = "name\0slow\0count\0"
				   "12\0size\0-3\0\0";
	struct attr_value big[4] = {{0}}, v[4];
	struct attr_stream *st;
	struct strbuf *why = strbuf_new(1024);
	char *data = malloc(ATTR_VALUE_MAX);
	int sv[2], status;
	pid_t pid;

	(void)state;
	memset(data, 'b', ATTR_VALUE_MAX);
	big[0] = (struct attr_value){
	    .present = 1, .str = data, .len = ATTR_VALUE_MAX};
	big[1] = (struct attr_value){.present = 1, .num = 5};
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv),
			 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(sv[0]);
		for (size_t i = 0; i < sizeof(list) - 1; i++) {
			if (write(sv[1], list + i, 1) != 1)
				_exit(1);
			usleep(1000);
		}
		_exit(attr_write_fd(sv[1], 5, &test_schema, big, NULL) == 0
			  ? 0
			  : 2);
	}
	close(sv[1]);
	st = attr_stream_new(sv[0], 0);
	assert_int_equal(attr_stream_read(st, 10, &test_schema, v, why), 1);
	assert_string_equal(v[0].str, "slow");
	assert_int_equal(v[1].num, 12);
	assert_int_equal(v[2].num, -3);
	attr_values_free(v, 4);
	assert_int_equal(attr_stream_read(st, 10, &test_schema, v, why), 1);
	assert_int_equal(v[0].len, ATTR_VALUE_MAX);
	assert_memory_equal(v[0].str, data, ATTR_VALUE_MAX);
	attr_values_free(v, 4);
	assert_int_equal(attr_stream_read(st, 10, &test_schema, v, why), 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	attr_stream_free(&st);
	close(sv[0]);
	free(data);
	strbuf_free(&why);
}

static void test_stream_bound(void **state)
{
	struct attr_value v[4];
	struct attr_stream *st;
	struct strbuf *why = strbuf_new(1024);
	int sv[2];

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv),
			 0);
	st = attr_stream_new(sv[0], 20);
	/* A valid list of 22 bytes, over the stream's bound of 20. */
	assert_int_equal(write(sv[1],
			       "name\0abcdefg\0count\0"
			       "1\0\0",
			       22),
			 22);
	assert_int_equal(attr_stream_read(st, 5, &test_schema, v, why), -1);
	assert_string_equal(strbuf_str(why),
			    "test_protocol: list longer than 20 bytes");
	/* The reader took no more than its bound off the socket. */
	{
		size_t len;

		(void)attr_stream_peek(st, &len);
		assert_true(len <= 20);
	}
	attr_stream_free(&st);
	close(sv[0]);
	close(sv[1]);
	strbuf_free(&why);
}

static void test_handshake(void **state)
{
	struct attr_stream *st;
	struct strbuf *why = strbuf_new(1024);
	struct attr_value v[4];
	int sv[2];

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv),
			 0);
	st = attr_stream_new(sv[0], 0);
	/* Handshake and the first request in one segment: nothing is lost. */
	assert_int_equal(attr_handshake_send(sv[1], 5, "cleanup_protocol", why),
			 0);
	assert_int_equal(write(sv[1],
			       "name\0n\0count\0"
			       "7\0\0",
			       16),
			 16);
	assert_int_equal(attr_handshake_expect(st, 5, "cleanup_protocol", why),
			 0);
	assert_int_equal(attr_stream_read(st, 5, &test_schema, v, why), 1);
	assert_int_equal(v[1].num, 7);
	attr_values_free(v, 4);

	assert_int_equal(attr_handshake_send(sv[1], 5, "qmgr_protocol", why),
			 0);
	assert_int_equal(attr_handshake_expect(st, 5, "cleanup_protocol", why),
			 -1);
	assert_string_equal(strbuf_str(why),
			    "protocol mismatch: expected "
			    "\"cleanup_protocol\", got \"qmgr_protocol\"");

	assert_int_equal(write(sv[1], "protocol\0a\nb\0\0", 14), 14);
	assert_int_equal(attr_handshake_expect(st, 5, "cleanup_protocol", why),
			 -1);
	assert_non_null(strstr(strbuf_str(why), "got \"a?b\""));

	assert_int_equal(write(sv[1],
			       "status\0"
			       "0\0\0",
			       10),
			 10);
	assert_int_equal(attr_handshake_expect(st, 5, "cleanup_protocol", why),
			 -1);
	assert_non_null(
	    strstr(strbuf_str(why), "unknown attribute \"status\""));

	close(sv[1]);
	attr_stream_free(&st);
	st = attr_stream_new(sv[0], 0);
	assert_int_equal(attr_handshake_expect(st, 5, "cleanup_protocol", why),
			 -1);
	assert_non_null(strstr(strbuf_str(why), "connection closed before"));
	attr_stream_free(&st);
	close(sv[0]);
	strbuf_free(&why);
}

static void test_write_fd_pipe(void **state)
{
	struct attr_value in[4] = {
	    {.present = 1, .str = "p", .len = 1},
	    {.present = 1, .num = 9},
	};
	struct attr_value out[4];
	struct attr_stream *st;
	int p[2];

	(void)state;
	assert_int_equal(pipe(p), 0);
	assert_int_equal(attr_write_fd(p[1], 5, &test_schema, in, NULL), 0);
	st = attr_stream_new(p[0], 0);
	assert_int_equal(attr_stream_read(st, 5, &test_schema, out, NULL), 1);
	assert_int_equal(out[1].num, 9);
	attr_values_free(out, 4);
	attr_stream_free(&st);
	close(p[0]);
	close(p[1]);
	/* A closed peer is an error (EPIPE), not a SIGPIPE death. */
	{
		int sv[2];
		struct strbuf *why = strbuf_new(1024);

		assert_int_equal(
		    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
		close(sv[0]);
		assert_int_equal(attr_write_fd(sv[1], 5, &test_schema, in, why),
				 -1);
		assert_non_null(strstr(strbuf_str(why), "Broken pipe"));
		close(sv[1]);
		strbuf_free(&why);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_any_order_and_trailing),
	    cmocka_unit_test(test_malformed),
	    cmocka_unit_test(test_name_too_long),
	    cmocka_unit_test(test_too_many),
	    cmocka_unit_test(test_truncated_prefixes),
	    cmocka_unit_test(test_huge_value),
	    cmocka_unit_test(test_print_refuses),
	    cmocka_unit_test(test_stream),
	    cmocka_unit_test(test_stream_slow_writer),
	    cmocka_unit_test(test_stream_bound),
	    cmocka_unit_test(test_handshake),
	    cmocka_unit_test(test_write_fd_pipe),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
