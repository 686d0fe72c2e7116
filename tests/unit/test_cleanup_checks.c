/*
 * test_cleanup_checks - check-table actions (cleanup/cleanup_checks.c)
 * and the SMTP replies for cleanup status codes (cleanup_stat_reply in
 * global/cleanup_clnt.c).
 *
 * Unit tests link only libglobal.a and libutil.a, so the daemon's module
 * is compiled into this test directly.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "cleanup/cleanup_checks.c"
#include "cleanup_clnt.h"

static struct strbuf *why, *out;

static void test_actions(void **state)
{
	struct check_action a;

	(void)state;
	check_action_parse("reject go away", 1, &a, why);
	assert_int_equal(a.act, CHECK_ACT_REJECT);
	assert_string_equal(a.text, "go away");
	check_action_parse("  HOLD", 0, &a, why);
	assert_int_equal(a.act, CHECK_ACT_HOLD);
	assert_string_equal(a.text, "");
	check_action_parse("OK", 1, &a, why);
	assert_int_equal(a.act, CHECK_ACT_DUNNO);
	check_action_parse("REPLACE X-New: v", 1, &a, why);
	assert_int_equal(a.act, CHECK_ACT_REPLACE);
	assert_string_equal(a.text, "X-New: v");
	check_action_parse("PREPEND\tX-Tag: 1", 0, &a, why);
	assert_int_equal(a.act, CHECK_ACT_PREPEND);
	check_action_parse("REDIRECT user@example.com", 1, &a, why);
	assert_int_equal(a.act, CHECK_ACT_REDIRECT);
	check_action_parse("FILTER smtp:[127.0.0.1]:10025", 1, &a, why);
	assert_int_equal(a.act, CHECK_ACT_FILTER);
	assert_string_equal(a.text, "smtp:[127.0.0.1]:10025");
}

static void test_bad_actions(void **state)
{
	static const struct {
		const char *value;
		int header;
		const char *reason;
	} bad[] = {
	    {"REJECTED x", 1, "unknown action"},
	    {"", 1, "unknown action"},
	    {"IGNORE", 0, "header checks only"},
	    {"REPLACE", 1, "needs an argument"},
	    {"REPLACE not a header", 1, "not a header"},
	    {"PREPEND : x", 1, "not a header"},
	    {"REDIRECT", 1, "needs an argument"},
	    {"REDIRECT a@b c@d", 1, "one address"},
	    {"FILTER nocolon", 1, "transport:destination"},
	    {"FILTER :x", 1, "transport:destination"},
	};
	struct check_action a;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		check_action_parse(bad[i].value, bad[i].header, &a, why);
		assert_int_equal(a.act, CHECK_ACT_BAD);
		assert_non_null(strstr(strbuf_str(why), bad[i].reason));
	}
}

static void test_reply_text(void **state)
{
	struct check_action a;

	(void)state;
	check_action_parse("REJECT", 1, &a, why);
	check_reply_text(&a, out);
	assert_string_equal(strbuf_str(out), "5.7.1 Message content rejected");
	check_action_parse("REJECT 5.7.0 custom", 1, &a, why);
	check_reply_text(&a, out);
	assert_string_equal(strbuf_str(out), "5.7.0 custom");
	/* A code of the wrong class is replaced. */
	check_action_parse("REJECT 4.1.1 oops", 1, &a, why);
	check_reply_text(&a, out);
	assert_string_equal(strbuf_str(out), "5.7.1 oops");
	check_action_parse("DEFER later", 1, &a, why);
	check_reply_text(&a, out);
	assert_string_equal(strbuf_str(out), "4.7.1 later");
	check_action_parse("DEFER", 1, &a, why);
	check_reply_text(&a, out);
	assert_string_equal(strbuf_str(out), "4.7.1 Service unavailable");
}

static void test_stat_reply(void **state)
{
	static const struct {
		int status;
		const char *reason;
		int code;
		const char *dsn;
		const char *text;
	} t[] = {
	    {CLEANUP_STAT_WRITE, "4.3.0 table lookup error", 451, "4.3.0",
	     "Error: queue file write error"},
	    {CLEANUP_STAT_BAD, "", 451, "4.3.0",
	     "Error: queue file write error"},
	    {CLEANUP_STAT_SIZE, "", 552, "5.3.4",
	     "Error: message file too big"},
	    {CLEANUP_STAT_HOPS, "", 554, "5.4.0", "Error: too many hops"},
	    {CLEANUP_STAT_CONT, "5.7.0 no thanks", 550, "5.7.0", "no thanks"},
	    {CLEANUP_STAT_CONT, "no code", 550, "5.7.1", "no code"},
	    {CLEANUP_STAT_CONT, "", 550, "5.7.1",
	     "Error: message content rejected"},
	    {CLEANUP_STAT_RCPT, "", 554, "5.5.1", "Error: no valid recipients"},
	    {CLEANUP_STAT_DEFER, "4.7.1 try later", 450, "4.7.1", "try later"},
	    {CLEANUP_STAT_DEFER | CLEANUP_STAT_CONT,
	     "4.6.0 Alias expansion error", 450, "4.6.0",
	     "Alias expansion error"},
	    {CLEANUP_STAT_OK, "", 250, "2.0.0", "Ok"},
	};
	int code;
	const char *dsn;

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		cleanup_stat_reply(t[i].status, t[i].reason, &code, &dsn, out);
		assert_int_equal(code, t[i].code);
		assert_string_equal(dsn, t[i].dsn);
		assert_string_equal(strbuf_str(out), t[i].text);
	}
}

static int setup(void **state)
{
	(void)state;
	why = strbuf_new(STRBUF_NO_MAX);
	out = strbuf_new(STRBUF_NO_MAX);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	strbuf_free(&why);
	strbuf_free(&out);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_actions),
	    cmocka_unit_test(test_bad_actions),
	    cmocka_unit_test(test_reply_text),
	    cmocka_unit_test(test_stat_reply),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
