/*
 * test_header_addr - finding and replacing the addresses of an RFC 5322
 * address list (global/header_addr.c): display names, comments, quoted
 * strings, groups, routes, folding, and values that must be left alone.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "header_addr.h"
#include "strbuf.h"

/* The test's "canonical map": a bare name gets @example.com, a few
 * addresses map elsewhere; "fail@x" is a table error. Every address
 * seen is recorded, separated by '|'. */
static int rewrite(void *ctx, const char *addr, struct strbuf *out)
{
	struct strbuf *seen = ctx;

	strbuf_printf(seen, "%s|", addr);
	if (strcmp(addr, "fail@x") == 0)
		return -1;
	if (strcmp(addr, "old@example.com") == 0)
		return strbuf_puts(out, "new@example.net"), 1;
	if (strcmp(addr, "quote@example.com") == 0)
		return strbuf_puts(out, "john doe@example.com"), 1;
	if (strchr(addr, '@') == NULL)
		return strbuf_printf(out, "%s@example.com", addr), 1;
	return 0;
}

/* Rewrite in, expect out (NULL: unchanged) and the addresses seen. */
static void check(const char *in, const char *want, const char *seen_want)
{
	struct strbuf *out = strbuf_new(65536);
	struct strbuf *seen = strbuf_new(STRBUF_NO_MAX);
	int rc = header_addr_rewrite(in, strlen(in), rewrite, seen, out);

	assert_true(rc >= 0);
	assert_string_equal(strbuf_str(out), want ? want : in);
	assert_int_equal(rc > 0, want != NULL);
	if (seen_want != NULL)
		assert_string_equal(strbuf_str(seen), seen_want);
	strbuf_free(&out);
	strbuf_free(&seen);
}

static void test_forms(void **state)
{
	(void)state;
	/* Bare addr-spec, with comments around it kept. */
	check(" joe", " joe@example.com", "joe|");
	check(" joe (Joe Bloggs)", " joe@example.com (Joe Bloggs)", "joe|");
	check(" old@example.com", " new@example.net", NULL);
	check(" other@example.org", NULL, "other@example.org|");
	/* Display names, quoted or not, and angle addresses. */
	check(" Joe Bloggs <joe>", " Joe Bloggs <joe@example.com>", "joe|");
	check(" \"Bloggs, Joe\" <old@example.com>",
	      " \"Bloggs, Joe\" <new@example.net>", "old@example.com|");
	check(" \"a <b@c>\" <x>", " \"a <b@c>\" <x@example.com>", "x|");
	/* Lists: every address, separators and spacing kept. */
	check(" a, b ,c", " a@example.com, b@example.com ,c@example.com",
	      "a|b|c|");
	check(" a,\n\tJoe <b>", " a@example.com,\n\tJoe <b@example.com>",
	      "a|b|");
	/* Groups: the name stays, the members are rewritten. */
	check(" friends: a, Joe <b>; c",
	      " friends: a@example.com, Joe "
	      "<b@example.com>; c@example.com",
	      "a|b|c|");
	check(" undisclosed-recipients:;", NULL, "");
	/* Quoted local parts: unquoted for the lookup, quoted again. */
	check(" \"joe\"@example.com", NULL, "joe@example.com|");
	check(" quote@example.com", " \"john doe\"@example.com", NULL);
	check(" Q <quote@example.com>", " Q <\"john doe\"@example.com>", NULL);
	/* A route is dropped when the address is replaced. */
	check(" <@relay.example:old@example.com>", " <new@example.net>",
	      "old@example.com|");
	/* Comments with nesting and quoted pairs hide their contents. */
	check(" (a, (b) \\) c) joe", " (a, (b) \\) c) joe@example.com", "joe|");
	/* Empty members are skipped. */
	check(" a, , b", " a@example.com, , b@example.com", "a|b|");
}

static void test_left_alone(void **state)
{
	(void)state;
	/* Unterminated constructs and unbalanced brackets: no change. */
	check(" \"joe", NULL, "");
	check(" (joe", NULL, "");
	check(" [joe", NULL, "");
	check(" <joe", NULL, "");
	check(" joe>", NULL, "");
	check(" <<joe>>", NULL, "");
	/* A phrase is not an address. */
	check(" Joe Bloggs", NULL, "");
	/* A quoted CR/LF never becomes part of an address. */
	check(" \"a\rb\"@example.com", NULL, "");
	check(" ", NULL, "");
	{
		/* A NUL inside an address: not an address. */
		static const char nul[] = " a\0b@example.com";
		struct strbuf *out = strbuf_new(4096);
		struct strbuf *seen = strbuf_new(STRBUF_NO_MAX);

		assert_int_equal(header_addr_rewrite(nul, sizeof(nul) - 1,
						     rewrite, seen, out),
				 0);
		assert_int_equal(strbuf_len(seen), 0);
		strbuf_free(&out);
		strbuf_free(&seen);
	}
	check("", NULL, "");
}

static void test_error(void **state)
{
	struct strbuf *out = strbuf_new(4096);
	struct strbuf *seen = strbuf_new(STRBUF_NO_MAX);
	static const char in[] = " a, fail@x, b";

	(void)state;
	assert_int_equal(
	    header_addr_rewrite(in, strlen(in), rewrite, seen, out), -1);
	/* The output is too small for the result: an error, not a cut. */
	strbuf_free(&out);
	out = strbuf_new(10);
	assert_int_equal(
	    header_addr_rewrite(" aaaaaaaa, bbbbbbbb", 19, rewrite, seen, out),
	    -1);
	strbuf_free(&out);
	strbuf_free(&seen);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_forms),
	    cmocka_unit_test(test_left_alone),
	    cmocka_unit_test(test_error),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
