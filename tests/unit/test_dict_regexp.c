/*
 * test_dict_regexp - regexp: and pcre: tables: first match, $n
 * substitution, flags, negation, if/endif, and the open errors with
 * file:line for bad patterns, flags, results and structure.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "dict.h"
#include "dict_regexp.h"
#include "dict_testutil.h"
#include "strbuf.h"

static struct dict *rx_from(int pcre, const char *text, struct strbuf *why)
{
	FILE *fp = fmemopen((void *)text, strlen(text), "r");
	struct dict *dict;

	assert_non_null(fp);
	strbuf_reset(why);
	dict = pcre ? dict_pcre_open_fp(fp, "rx.txt", 0, why)
		    : dict_regexp_open_fp(fp, "rx.txt", 0, why);
	fclose(fp);
	return dict;
}

static void expect(struct dict *dict, const char *key, const char *want)
{
	const char *value;
	int ret = dict_lookup(dict, key, &value);

	if (want == NULL) {
		if (ret != DICT_NOTFOUND)
			fail_msg("%s: key %s: want not found, got %d (%s)",
				 dict->type, key, ret,
				 ret == DICT_FOUND ? value : dict_error(dict));
	} else {
		if (ret != DICT_FOUND)
			fail_msg("%s: key %s: want %s, got %d", dict->type, key,
				 want, ret);
		assert_string_equal(value, want);
	}
}

/* Behaviour both engines share. */
static void test_common(void **state)
{
	struct strbuf *why = strbuf_new(STRBUF_NO_MAX);

	(void)state;
	for (int pcre = 0; pcre <= 1; pcre++) {
		struct dict *dict =
		    rx_from(pcre,
			    "# comment\n"
			    "/^(.*)@example\\.com$/   RELAY for $1\n"
			    "/^([a-z]+)-([a-z]+)@/    ${2}+$(1) costs $$5\n"
			    "/^user@/                 first\n"
			    "/^user@/                 second\n"
			    "/^Case$/i                exact-case\n"
			    "!/\\./                   no dot in $$key\n"
			    "|a/b|                    pipe delimited\n"
			    "/^long/                  a value\n"
			    "   continued\n",
			    why);

		if (dict == NULL)
			fail_msg("%s", strbuf_str(why));
		assert_true(dict->flags & DICT_PATTERN);
		expect(dict, "joe@example.com", "RELAY for joe");
		expect(dict, "JOE@EXAMPLE.COM", "RELAY for JOE");
		expect(dict, "ab-cd@x.org", "cd+ab costs $5");
		expect(dict, "user@x.org", "first");
		expect(dict, "Case", "exact-case");
		/* i toggled case-insensitivity off: the negated rule answers.
		 */
		expect(dict, "case", "no dot in $key");
		expect(dict, "localhost", "no dot in $key");
		expect(dict, "x.a/b.y", "pipe delimited");
		expect(dict, "long.x", "a value continued");
		expect(dict, "other.example.org", NULL);
		dict_close(&dict);
	}
	strbuf_free(&why);
}

static void test_if_endif(void **state)
{
	struct strbuf *why = strbuf_new(STRBUF_NO_MAX);

	(void)state;
	for (int pcre = 0; pcre <= 1; pcre++) {
		struct dict *dict = rx_from(pcre,
					    "if /@example\\.com$/\n"
					    "/^admin@/ ADMIN\n"
					    "if !/^x/\n"
					    "/^b/ B-not-x\n"
					    "endif\n"
					    "/^x/ X\n"
					    "endif\n"
					    "/^admin@/ OTHER-ADMIN\n"
					    "/^b/ OTHER-B\n",
					    why);

		if (dict == NULL)
			fail_msg("%s", strbuf_str(why));
		expect(dict, "admin@example.com", "ADMIN");
		expect(dict, "admin@example.org", "OTHER-ADMIN");
		expect(dict, "bob@example.com", "B-not-x");
		expect(dict, "bob@example.org", "OTHER-B");
		expect(dict, "xb@example.com", "X");
		expect(dict, "zz@example.com", NULL);
		dict_close(&dict);
	}
	strbuf_free(&why);
}

static void test_engine_flags(void **state)
{
	struct strbuf *why = strbuf_new(STRBUF_NO_MAX);
	struct dict *dict;

	(void)state;
	/* regexp: x toggles extended syntax off: then "+" is literal-ish
	 * basic syntax, "a+" matches "a+" only. */
	dict = rx_from(0, "/^a+$/x basic\n/^(b)\\1$/ backref\n", why);
	assert_non_null(dict);
	expect(dict, "a+", "basic");
	expect(dict, "aa", NULL);
	dict_close(&dict);
	/* pcre: U (ungreedy), A (anchored), s, m, x. */
	dict = rx_from(1,
		       "/<(.+)>/U    ungreedy $1\n"
		       "/b(c)/A     anchored\n"
		       "/a.b/s      dotall\n"
		       "/ x y z /x  extended\n"
		       "/^two$/m    multiline\n",
		       why);
	if (dict == NULL)
		fail_msg("%s", strbuf_str(why));
	expect(dict, "<a><b>", "ungreedy a");
	expect(dict, "abc", NULL);
	expect(dict, "bc", "anchored");
	expect(dict, "a\nb", "dotall");
	expect(dict, "xyz", "extended");
	expect(dict, "one\ntwo", "multiline");
	dict_close(&dict);
	/* Optional groups that did not take part expand to nothing. */
	dict = rx_from(1, "/^(a)?(b)$/ [$1][$2]\n", why);
	assert_non_null(dict);
	expect(dict, "b", "[][b]");
	dict_close(&dict);
	strbuf_free(&why);
}

/* A pathological pattern hits PCRE2's match limit: an error, not a
 * "not found" that lets mail through, and not a hang. */
static void test_pcre_limit(void **state)
{
	struct strbuf *why = strbuf_new(STRBUF_NO_MAX);
	struct dict *dict = rx_from(1, "/^(a+)+$/ never\n", why);
	char key[64];
	const char *value;

	(void)state;
	assert_non_null(dict);
	memset(key, 'a', sizeof(key) - 2);
	key[sizeof(key) - 2] = 'b';
	key[sizeof(key) - 1] = 0;
	assert_int_equal(dict_lookup(dict, key, &value), DICT_ERROR);
	assert_non_null(strstr(dict_error(dict), "rx.txt:1: match failed"));
	dict_close(&dict);
	strbuf_free(&why);
}

static void test_errors(void **state)
{
	static const struct {
		int pcre; /* -1: both */
		const char *text;
		const char *want;
	} bad[] = {
	    {-1, "/ok/ x\n/(unclosed/ x\n", "rx.txt:2: bad regular expression"},
	    {-1, "/a/ x\n  \n/a/q x\n", "rx.txt:3: unknown"},
	    {-1, "/(a)/ $2\n",
	     "rx.txt:1: $2 in the result, but the pattern "
	     "has 1 subexpression"},
	    {-1, "!/(a)/ $1\n", "rx.txt:1: $1 in the result of a negated"},
	    {-1, "/a/ $x\n", "rx.txt:1: '$' must be followed by 1-9"},
	    {-1, "/a/ $0\n", "rx.txt:1: '$' must be followed by 1-9"},
	    {-1, "/a/ ${1\n", "rx.txt:1:"},
	    {-1, "/a/\n", "rx.txt:1: missing result"},
	    {-1, "/a x\n", "rx.txt:1: missing closing '/'"},
	    {-1, "a/ x\n", "rx.txt:1: expected \"/pattern/flags result\""},
	    {-1, "if /a/\n/b/ c\n", "rx.txt:1: if without a matching endif"},
	    {-1, "/b/ c\nendif\n", "rx.txt:2: endif without a matching if"},
	    {-1, "if /a/ x\nendif\n", "rx.txt:1: text after the pattern"},
	    {-1, "  /a/ x\n", "rx.txt:1: continuation line"},
	    {0, "/a/U x\n", "rx.txt:1: unknown regexp flag 'U'"},
	    {1, "/a/z x\n", "rx.txt:1: unknown pcre flag 'z'"},
	    {1, "/a(?<n/ x\n", "at offset"},
	};
	struct strbuf *why = strbuf_new(STRBUF_NO_MAX);

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		for (int pcre = 0; pcre <= 1; pcre++) {
			struct dict *dict;

			if (bad[i].pcre >= 0 && bad[i].pcre != pcre)
				continue;
			if ((dict = rx_from(pcre, bad[i].text, why)) != NULL)
				fail_msg("%s accepted: %s",
					 pcre ? "pcre" : "regexp", bad[i].text);
			if (strstr(strbuf_str(why), bad[i].want) == NULL)
				fail_msg("%s: %s: want %s, got %s",
					 pcre ? "pcre" : "regexp", bad[i].text,
					 bad[i].want, strbuf_str(why));
		}
	}
	strbuf_free(&why);
}

static void test_open_file(void **state)
{
	char *dir = tu_mkdtemp();
	char *file = tu_path(dir, "checks");
	char *spec, *err = NULL;
	struct dict *dict;
	const char *value;

	(void)state;
	if (asprintf(&spec, "pcre:%s", file) < 0)
		abort();
	assert_null(dict_open(spec, 0, &err));
	assert_non_null(strstr(err, "No such file"));
	free(err);
	tu_write(file, "/^Subject: (.*)spam/ REJECT $1\n");
	/* DICT_FOLD_KEYS does not apply: the $1 text keeps its case. */
	dict = dict_open(spec, DICT_FOLD_KEYS, &err);
	assert_non_null(dict);
	assert_int_equal(dict_lookup(dict, "SUBJECT: Buy SPAM", &value),
			 DICT_FOUND);
	assert_string_equal(value, "REJECT Buy ");
	dict_close(&dict);
	tu_write(file, "/(/ x\n");
	assert_null(dict_open(spec, 0, &err));
	assert_non_null(strstr(err, "checks:1: bad regular expression"));
	free(err);
	free(spec);
	free(file);
	tu_rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_common),
	    cmocka_unit_test(test_if_endif),
	    cmocka_unit_test(test_engine_flags),
	    cmocka_unit_test(test_pcre_limit),
	    cmocka_unit_test(test_errors),
	    cmocka_unit_test(test_open_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
