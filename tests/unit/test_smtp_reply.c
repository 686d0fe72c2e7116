/*
 * test_smtp_reply - SMTP reply formatting (global/smtp_reply.c): single
 * and multi-line replies, enhanced status checks, sanitising of client
 * data, and the 512-byte line limit.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "smtp_reply.h"
#include "strbuf.h"

static void test_single(void **state)
{
	struct strbuf *out = strbuf_new(4096);

	(void)state;
	assert_int_equal(smtp_reply_format(out, 250, "2.0.0", "Ok", 0), 0);
	assert_string_equal(strbuf_str(out), "250 2.0.0 Ok\r\n");
	strbuf_reset(out);
	assert_int_equal(smtp_reply_format(out, 220, NULL, "mx ESMTP", 0), 0);
	assert_string_equal(strbuf_str(out), "220 mx ESMTP\r\n");
	strbuf_reset(out);
	assert_int_equal(smtp_reply_format(out, 250, "2.0.0", "", 0), 0);
	assert_string_equal(strbuf_str(out), "250 2.0.0\r\n");
	strbuf_reset(out);
	assert_int_equal(smtp_reply_printf(out, 552, "5.3.4", 0,
					   "Message size exceeds %s limit",
					   "fixed"),
			 0);
	assert_string_equal(strbuf_str(out),
			    "552 5.3.4 Message size exceeds fixed limit\r\n");
	strbuf_free(&out);
}

static void test_multiline(void **state)
{
	static const char *const ehlo[] = {"mx.example", "PIPELINING",
					   "SIZE 10240000", "8BITMIME"};
	struct strbuf *out = strbuf_new(4096);

	(void)state;
	assert_int_equal(smtp_reply_lines(out, 250, NULL, ehlo, 4, 0), 0);
	assert_string_equal(strbuf_str(out), "250-mx.example\r\n"
					     "250-PIPELINING\r\n"
					     "250-SIZE 10240000\r\n"
					     "250 8BITMIME\r\n");
	strbuf_reset(out);
	assert_int_equal(smtp_reply_lines(out, 250, NULL, ehlo, 0, 0), -1);
	strbuf_free(&out);
}

static void test_sanitise(void **state)
{
	struct strbuf *out = strbuf_new(4096);
	const char *client = "<evil@x>\r\n250 2.0.0 Ok\r\n\x01\x7f\xff";
	char buf[16];

	(void)state;
	/* Client data cannot forge a reply line of its own. */
	assert_int_equal(smtp_reply_printf(out, 550, "5.1.1", 0,
					   "%s: Recipient address rejected",
					   client),
			 0);
	assert_string_equal(strbuf_str(out),
			    "550 5.1.1 <evil@x>??250 2.0.0 Ok?????: "
			    "Recipient address rejected\r\n");
	strbuf_free(&out);

	/* 8-bit: kept only as well-formed UTF-8 and when asked. */
	strcpy(buf, "j\xc3\xb6rg");
	smtp_reply_sanitize(buf, strlen(buf), SMTP_REPLY_UTF8);
	assert_string_equal(buf, "j\xc3\xb6rg");
	smtp_reply_sanitize(buf, strlen(buf), 0);
	assert_string_equal(buf, "j??rg");
	strcpy(buf, "j\xc3rg");
	smtp_reply_sanitize(buf, strlen(buf), SMTP_REPLY_UTF8);
	assert_string_equal(buf, "j?rg");
	memcpy(buf, "a\0b\tc", 6);
	smtp_reply_sanitize(buf, 5, 0);
	assert_memory_equal(buf, "a?b?c", 5);
}

static void test_codes(void **state)
{
	struct strbuf *out = strbuf_new(4096);

	(void)state;
	assert_true(smtp_reply_enh_valid(250, "2.1.0"));
	assert_true(smtp_reply_enh_valid(550, "5.999.999"));
	assert_true(smtp_reply_enh_valid(421, "4.7.0"));
	assert_true(smtp_reply_enh_valid(354, NULL));
	assert_false(smtp_reply_enh_valid(250, "5.1.0")); /* class mismatch */
	assert_false(smtp_reply_enh_valid(354, "3.0.0")); /* no class 3 */
	assert_false(smtp_reply_enh_valid(550, "5.1"));
	assert_false(smtp_reply_enh_valid(550, "5.1."));
	assert_false(smtp_reply_enh_valid(550, "5.1.1000"));
	assert_false(smtp_reply_enh_valid(550, "5..1"));
	assert_false(smtp_reply_enh_valid(550, "5.1.1 "));
	assert_false(smtp_reply_enh_valid(550, "55.1.1"));
	assert_int_equal(smtp_reply_format(out, 199, NULL, "x", 0), -1);
	assert_int_equal(smtp_reply_format(out, 600, NULL, "x", 0), -1);
	assert_int_equal(smtp_reply_format(out, 250, "5.0.0", "x", 0), -1);
	assert_int_equal(strbuf_len(out), 0);
	/* A full output buffer is an error, not a truncated reply. */
	strbuf_free(&out);
	out = strbuf_new(10);
	assert_int_equal(smtp_reply_format(out, 250, "2.0.0", "Ok", 0), -1);
	strbuf_free(&out);
}

/* Every line of out is at most SMTP_REPLY_LINE_MAX bytes with CR LF, and
 * has '-' after the code but on the last line. Returns the line count. */
static size_t check_lines(const char *out, const char *prefix)
{
	const char *cp = out, *eol;
	size_t n = 0;

	while (*cp) {
		eol = strstr(cp, "\r\n");
		assert_non_null(eol);
		assert_true((size_t)(eol + 2 - cp) <= SMTP_REPLY_LINE_MAX);
		assert_memory_equal(cp, prefix, 3);
		assert_int_equal(cp[3], eol[2] == 0 ? ' ' : '-');
		assert_memory_equal(cp + 4, prefix + 4, strlen(prefix) - 4);
		cp = eol + 2;
		n++;
	}
	return n;
}

static void test_long_text(void **state)
{
	struct strbuf *out = strbuf_new(65536);
	char *text = malloc(2001), *joined;
	const char *cp, *eol;
	size_t i, n;

	(void)state;
	/* No spaces: hard splits. */
	memset(text, 'x', 2000);
	text[2000] = 0;
	assert_int_equal(smtp_reply_format(out, 550, "5.7.1", text, 0), 0);
	n = check_lines(strbuf_str(out), "550 5.7.1 ");
	assert_int_equal(n, 4); /* 500 bytes of text per line */
	/* The text survives the split byte for byte. */
	joined = calloc(1, 4096);
	for (cp = strbuf_str(out); *cp; cp = eol + 2) {
		eol = strstr(cp, "\r\n");
		strncat(joined, cp + 10, (size_t)(eol - cp - 10));
	}
	assert_string_equal(joined, text);
	free(joined);

	/* Words: split at a space, which is dropped. */
	for (i = 0; i < 2000; i++)
		text[i] = i % 10 == 9 ? ' ' : 'a' + (char)(i % 10);
	text[1999] = 'z';
	strbuf_reset(out);
	assert_int_equal(smtp_reply_format(out, 250, NULL, text, 0), 0);
	n = check_lines(strbuf_str(out), "250 ");
	assert_true(n >= 4);
	assert_null(strstr(strbuf_str(out), "- "));
	assert_null(strstr(strbuf_str(out), " \r\n"));

	/* A line of exactly the maximum stays one line. */
	memset(text, 'y', 2000);
	text[SMTP_REPLY_LINE_MAX - 2 - 10] = 0;
	strbuf_reset(out);
	assert_int_equal(smtp_reply_format(out, 550, "5.7.1", text, 0), 0);
	assert_int_equal(strbuf_len(out), SMTP_REPLY_LINE_MAX);
	text[SMTP_REPLY_LINE_MAX - 2 - 10] = 'y';
	text[SMTP_REPLY_LINE_MAX - 2 - 9] = 0;
	strbuf_reset(out);
	assert_int_equal(smtp_reply_format(out, 550, "5.7.1", text, 0), 0);
	assert_int_equal(check_lines(strbuf_str(out), "550 5.7.1 "), 2);

	/* UTF-8 is not cut inside a character. */
	for (i = 0; i + 1 < 2000; i += 2)
		memcpy(text + i, "\xc3\xa4", 2);
	text[1000] = 0;
	strbuf_reset(out);
	assert_int_equal(
	    smtp_reply_format(out, 250, NULL, text, SMTP_REPLY_UTF8), 0);
	check_lines(strbuf_str(out), "250 ");
	for (cp = strbuf_str(out); *cp; cp = eol + 2) {
		eol = strstr(cp, "\r\n");
		assert_true(((unsigned char)cp[4] & 0xc0) != 0x80);
		assert_int_equal((eol - cp - 4) % 2, 0);
	}
	free(text);
	strbuf_free(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_single),    cmocka_unit_test(test_multiline),
	    cmocka_unit_test(test_sanitise),  cmocka_unit_test(test_codes),
	    cmocka_unit_test(test_long_text),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
