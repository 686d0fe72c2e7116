/*
 * test_mime_state - the MIME structure walk (global/mime_state.c): which
 * lines are top-level, MIME, nested or body; folding; the header size
 * limit; boundaries and the nesting limit; 8-bit detection.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "mime_state.h"
#include "rec_type.h"
#include "strbuf.h"

/* Every event as one line of text: "H<cls><mime> text", "E<blank>",
 * "B<type> text"; headers have '\n' shown as '|'. */
static struct strbuf *events;

static void ev_header(void *ctx, enum mime_class cls, int is_mime,
		      const char *text, size_t len)
{
	(void)ctx;
	strbuf_printf(events, "H%d%d ", (int)cls, is_mime);
	for (size_t i = 0; i < len; i++)
		strbuf_putc(events, text[i] == '\n' ? '|' : text[i]);
	strbuf_putc(events, '\n');
}

static void ev_end(void *ctx, int blank)
{
	(void)ctx;
	strbuf_printf(events, "E%d\n", blank);
}

static void ev_body(void *ctx, int type, const char *text, size_t len)
{
	(void)ctx;
	strbuf_printf(events, "B%c %.*s\n", type, (int)len, text);
}

static const struct mime_callbacks cb = {ev_header, ev_end, ev_body};

/* Feed "lines" separated by '\n' as N records. */
static struct mime_state *feed(const char *text, size_t hmax, int depth)
{
	struct mime_state *ms = mime_state_new(&cb, NULL, hmax, depth);
	const char *nl;

	strbuf_reset(events);
	while ((nl = strchr(text, '\n')) != NULL) {
		mime_state_update(ms, REC_TYPE_NORM, text, (size_t)(nl - text));
		text = nl + 1;
	}
	mime_state_finish(ms);
	return ms;
}

static void test_plain_message(void **state)
{
	struct mime_state *ms;

	(void)state;
	ms = feed("Subject: hi\nX-Folded: a\n\tb\n  c\nFrom : x\n\nbody\n"
		  "Not: a header here\n",
		  0, 0);
	assert_string_equal(strbuf_str(events), "H00 Subject: hi\n"
						"H00 X-Folded: a|\tb|  c\n"
						"H00 From : x\n"
						"E1\n"
						"BN \n"
						"BN body\n"
						"BN Not: a header here\n");
	assert_int_equal(mime_state_flags(ms), 0);
	mime_state_free(&ms);
}

static void test_headers_end_without_blank(void **state)
{
	struct mime_state *ms;

	(void)state;
	ms = feed("Subject: hi\nthis is body\n", 0, 0);
	assert_string_equal(strbuf_str(events),
			    "H00 Subject: hi\nE0\nBN this is body\n");
	mime_state_free(&ms);
	/* Only headers: header_end still comes, once. */
	ms = feed("Subject: hi\n", 0, 0);
	assert_string_equal(strbuf_str(events), "H00 Subject: hi\nE0\n");
	mime_state_free(&ms);
}

static void test_header_limit(void **state)
{
	struct mime_state *ms;

	(void)state;
	ms = feed("X-Big: 0123456789\n 0123456789\nSubject: s\n\nb\n", 20, 0);
	assert_string_equal(strbuf_str(events),
			    "H00 X-Big: 0123456789| 0\n"
			    "H00 Subject: s\nE1\nBN \nBN b\n");
	assert_true(mime_state_flags(ms) & MIME_FLAG_TRUNC_HEADER);
	mime_state_free(&ms);
}

static void test_long_header_pieces(void **state)
{
	struct mime_state *ms = mime_state_new(&cb, NULL, 0, 0);

	(void)state;
	strbuf_reset(events);
	mime_state_update(ms, REC_TYPE_CONT, "Subject: aaa", 12);
	mime_state_update(ms, REC_TYPE_NORM, "bbb", 3);
	mime_state_update(ms, REC_TYPE_NORM, "", 0);
	mime_state_update(ms, REC_TYPE_CONT, "long body", 9);
	mime_state_update(ms, REC_TYPE_NORM, " end", 4);
	mime_state_finish(ms);
	assert_string_equal(strbuf_str(events), "H00 Subject: aaabbb\nE1\nBN \n"
						"BL long body\nBN  end\n");
	mime_state_free(&ms);
}

static void test_multipart_and_nested(void **state)
{
	struct mime_state *ms;

	(void)state;
	ms = feed("MIME-Version: 1.0\n"
		  "Content-Type: multipart/mixed;\n boundary=\"b1\"\n"
		  "Subject: top\n"
		  "\n"
		  "preamble\n"
		  "--b1\n"
		  "Content-Type: text/plain\n"
		  "X-Part: p\n"
		  "\n"
		  "part one \xc3\xa9\n"
		  "--b1\n"
		  "Content-Type: message/rfc822\n"
		  "\n"
		  "Subject: inner\n"
		  "Received: x\n"
		  "\n"
		  "inner body\n"
		  "--b1--\n"
		  "epilogue\n"
		  "Subject: not a header\n",
		  0, 0);
	assert_string_equal(strbuf_str(events),
			    "H01 MIME-Version: 1.0\n"
			    "H01 Content-Type: multipart/mixed;| "
			    "boundary=\"b1\"\n"
			    "H00 Subject: top\n"
			    "E1\n"
			    "BN \n"
			    "BN preamble\n"
			    "BN --b1\n"
			    "H11 Content-Type: text/plain\n"
			    "H10 X-Part: p\n"
			    "BN \n"
			    "BN part one \xc3\xa9\n"
			    "BN --b1\n"
			    "H11 Content-Type: message/rfc822\n"
			    "BN \n"
			    "H20 Subject: inner\n"
			    "H20 Received: x\n"
			    "BN \n"
			    "BN inner body\n"
			    "BN --b1--\n"
			    "BN epilogue\n"
			    "BN Subject: not a header\n");
	assert_true(mime_state_flags(ms) & MIME_FLAG_8BIT);
	mime_state_free(&ms);
}

static void test_nesting_limit(void **state)
{
	struct mime_state *ms;

	(void)state;
	ms = feed("Content-Type: multipart/mixed; boundary=a\n\n"
		  "--a\n"
		  "Content-Type: multipart/mixed; boundary=b\n\n"
		  "--b\n"
		  "X-Deep: 1\n\nx\n",
		  0, 1);
	/* Depth 1: the inner multipart is not entered: "--b" is body. */
	assert_non_null(strstr(strbuf_str(events), "BN --b\nBN X-Deep: 1\n"));
	assert_true(mime_state_flags(ms) & MIME_FLAG_NESTING);
	mime_state_free(&ms);
}

static void test_malformed_content_type(void **state)
{
	struct mime_state *ms;

	(void)state;
	ms = feed("Content-Type: multipart/mixed; boundary=\n"
		  "Content-Type: (c) multipart / ; ;\n"
		  "Content-Type: message\n"
		  "Content-Type: multipart/x; boundary=\"unterminated\n"
		  "\n"
		  "--unterminated\n"
		  "X: y\n",
		  0, 0);
	/* The last Content-Type wins; its boundary was taken, unterminated
	 * quote and all. Nothing crashes, nothing leaks. */
	assert_non_null(
	    strstr(strbuf_str(events), "BN --unterminated\nH10 X: y\n"));
	mime_state_free(&ms);
}

static void test_header_name(void **state)
{
	(void)state;
	assert_int_equal(mime_header_name_len("Subject: x", 10), 7);
	assert_int_equal(mime_header_name_len("Subject  : x", 12), 7);
	assert_int_equal(mime_header_name_len(": x", 3), 0);
	assert_int_equal(mime_header_name_len("no colon", 8), 0);
	assert_int_equal(mime_header_name_len("Sub ject: x", 11), 0);
	assert_true(mime_header_is("message-id: <x>", 15, "Message-ID"));
	assert_false(mime_header_is("Message-IDs: <x>", 16, "Message-ID"));
}

static int setup(void **state)
{
	(void)state;
	events = strbuf_new(STRBUF_NO_MAX);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	strbuf_free(&events);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_plain_message),
	    cmocka_unit_test(test_headers_end_without_blank),
	    cmocka_unit_test(test_header_limit),
	    cmocka_unit_test(test_long_header_pieces),
	    cmocka_unit_test(test_multipart_and_nested),
	    cmocka_unit_test(test_nesting_limit),
	    cmocka_unit_test(test_malformed_content_type),
	    cmocka_unit_test(test_header_name),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
