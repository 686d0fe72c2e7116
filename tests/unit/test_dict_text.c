/*
 * test_dict_text - the table text format: logical lines, comments,
 * continuations, key/value and alias splitting, and the errors with
 * file:line for malformed input.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dict_text.h"
#include "strbuf.h"

struct collect {
	struct strbuf *out;
};

static int collect(void *ctx, const char *key, const char *value, int lineno,
		   struct strbuf *why)
{
	struct collect *c = ctx;

	(void)why;
	strbuf_printf(c->out, "%d[%s][%s]", lineno, key, value);
	return 0;
}

/* Parse text; return "lineno[key][value]..." or "ERR:reason". */
static char *parse(const char *text, int flags)
{
	FILE *fp = fmemopen((void *)text, strlen(text), "r");
	struct collect c = {strbuf_new(STRBUF_NO_MAX)};
	struct strbuf *why = strbuf_new(STRBUF_NO_MAX);
	char *result;

	assert_non_null(fp);
	if (dict_text_parse(fp, "src", flags, collect, &c, why) < 0) {
		strbuf_reset(c.out);
		strbuf_printf(c.out, "ERR:%s", strbuf_str(why));
	}
	fclose(fp);
	strbuf_free(&why);
	result = strbuf_export(c.out);
	strbuf_free(&c.out);
	return result;
}

static void check(const char *text, int flags, const char *want)
{
	char *got = parse(text, flags);

	if (strcmp(got, want) != 0)
		fail_msg("input \"%s\": want %s, got %s", text, want, got);
	free(got);
}

static void test_basic(void **state)
{
	(void)state;
	check("", 0, "");
	check("a b\n", 0, "1[a][b]");
	check("a\tb c  \n", 0, "1[a][b c]");
	check("a b", 0, "1[a][b]"); /* no final newline */
	check("a b\r\n", 0, "1[a][b]");
	check("# comment\n\n   \nkey value\n", 0, "4[key][value]");
	check("k1 v1\nk2 v2\n", 0, "1[k1][v1]2[k2][v2]");
}

static void test_continuation(void **state)
{
	(void)state;
	check("k v1\n  v2\n\tv3\nn x\n", 0, "1[k][v1 v2 v3]4[n][x]");
	/* Comments and blank lines inside a continued line are skipped. */
	check("k v1\n# c\n\n  v2\n", 0, "1[k][v1 v2]");
	/* The key alone on its line, the value continued below. */
	check("k\n  value\n", 0, "1[k][value]");
	check("  leading\n", 0,
	      "ERR:src:1: continuation line without a line to continue");
}

static void test_errors(void **state)
{
	(void)state;
	check("ok v\nbad\n", 0, "ERR:src:2: expected \"key whitespace value\"");
	check("ok v\n\n# x\nbad   \n", 0,
	      "ERR:src:4: expected \"key whitespace value\"");
	{
		static const char nul[] = "a b\nc\0d e\n";
		FILE *fp = fmemopen((void *)nul, sizeof(nul) - 1, "r");
		struct strbuf *why = strbuf_new(STRBUF_NO_MAX);
		struct collect c = {strbuf_new(STRBUF_NO_MAX)};

		assert_int_equal(
		    dict_text_parse(fp, "src", 0, collect, &c, why), -1);
		assert_string_equal(strbuf_str(why), "src:2: NUL byte in line");
		fclose(fp);
		strbuf_free(&why);
		strbuf_free(&c.out);
	}
}

static void test_long_line(void **state)
{
	size_t len = DICT_TEXT_LINE_MAX + 10;
	char *text = malloc(len + 1);
	char *got;

	(void)state;
	memset(text, 'x', len);
	text[1] = ' ';
	text[len] = 0;
	got = parse(text, 0);
	assert_non_null(strstr(got, "src:1: line longer than"));
	free(got);
	free(text);
}

static void test_alias(void **state)
{
	(void)state;
	check("postmaster: root\n", DICT_TEXT_ALIAS, "1[postmaster][root]");
	check("a : b, c\n  d\n", DICT_TEXT_ALIAS, "1[a][b, c d]");
	check("a:b\n", DICT_TEXT_ALIAS, "1[a][b]");
	check("nocolon root\n", DICT_TEXT_ALIAS,
	      "ERR:src:1: expected \"name: value\"");
	check(": root\n", DICT_TEXT_ALIAS,
	      "ERR:src:1: expected \"name: value\"");
	check("x:\n", DICT_TEXT_ALIAS,
	      "ERR:src:1: expected \"name: value\", value is empty");
}

static void test_split(void **state)
{
	char line[] = "  key   the value  ";
	char *key, *value;
	struct strbuf *why = strbuf_new(STRBUF_NO_MAX);

	(void)state;
	assert_int_equal(dict_text_split(line, 0, &key, &value, why), 0);
	assert_string_equal(key, "key");
	assert_string_equal(value, "the value");
	strbuf_free(&why);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_basic),  cmocka_unit_test(test_continuation),
	    cmocka_unit_test(test_errors), cmocka_unit_test(test_long_line),
	    cmocka_unit_test(test_alias),  cmocka_unit_test(test_split),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
