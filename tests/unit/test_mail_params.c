/*
 * test_mail_params - the parameter table keeps its promises: sorted and
 * unique (mail_param_find relies on it), every parameter documented with
 * a default that parses for its type, the reserved names apart from the
 * table, and every parameter in the generated postern.conf(5).
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
#include <unistd.h>

#include "mail_conf.h"
#include "mail_params.h"
#include "msg.h"
#include "mymalloc.h"
#include "readlline.h"
#include "strbuf.h"

static void test_sorted_unique_findable(void **state)
{
	(void)state;
	assert_true(mail_param_count > 0);
	for (size_t i = 0; i < mail_param_count; i++) {
		const struct param_info *p = mail_param_table + i;

		if (i > 0 && strcmp(mail_param_table[i - 1].name, p->name) >= 0)
			fail_msg("table out of order or duplicate at %s",
				 p->name);
		assert_ptr_equal(mail_param_find(p->name), p);
		assert_non_null(p->var);
	}
	assert_null(mail_param_find("no_such_parameter"));
	assert_null(mail_param_find(""));
	assert_null(
	    mail_param_find("smtpd_milters")); /* reserved, not implemented */
}

static void test_documented(void **state)
{
	(void)state;
	for (size_t i = 0; i < mail_param_count; i++) {
		const struct param_info *p = mail_param_table + i;

		if (p->doc == NULL || strlen(p->doc) < 20)
			fail_msg("%s: no real documentation", p->name);
		/* The doc becomes one roff text line. */
		if (p->doc[0] == '.' || p->doc[0] == '\'' ||
		    strchr(p->doc, '\n'))
			fail_msg("%s: doc would be read as a roff request",
				 p->name);
		if (p->def == PARAM_COMPUTED &&
		    strstr(p->doc, "default") == NULL)
			fail_msg("%s: computed default, but the doc does not "
				 "say how",
				 p->name);
	}
}

static void test_defaults_parse(void **state)
{
	char dir[PATH_MAX], *err = NULL;
	const char *t = getenv("TMPDIR");

	(void)state;
	for (size_t i = 0; i < mail_param_count; i++) {
		const struct param_info *p = mail_param_table + i;
		const char *def = mail_conf_default(p);
		long n;
		int b;

		if (def == NULL)
			fail_msg("%s: no default", p->name);
		if (strchr(def, '$') != NULL)
			continue; /* checked below, expanded */
		if ((p->type == PT_INT || p->type == PT_LONG) &&
		    conf_parse_int(
			def, 0, p->type == PT_INT ? INT_MAX : LONG_MAX, &n) < 0)
			fail_msg("%s: default \"%s\" is not an integer",
				 p->name, def);
		if (p->type == PT_BOOL && conf_parse_bool(def, &b) < 0)
			fail_msg("%s: default \"%s\" is not yes or no", p->name,
				 def);
		if (p->type == PT_TIME &&
		    (conf_parse_time(def, 's', &n) < 0 || n > INT_MAX))
			fail_msg("%s: default \"%s\" is not a time", p->name,
				 def);
	}
	/* All defaults together, expanded: what a daemon gets with an
	 * empty main.cf. */
	snprintf(dir, sizeof(dir), "%s/test_mail_params.XXXXXX",
		 t && *t ? t : "/tmp");
	assert_non_null(mkdtemp(dir));
	if (mail_conf_load(dir, &err) < 0)
		fail_msg("defaults do not load: %s", err);
	rmdir(dir);
	assert_int_equal(var_default_process_limit, 100);
	assert_int_equal(var_max_idle, 100);
	assert_true(mail_param_readonly(mail_param_find("mail_version")));
	assert_false(mail_param_readonly(mail_param_find("mail_name")));
	mail_conf_reset();
}

static void test_reserved(void **state)
{
	(void)state;
	assert_true(mail_param_reserved_count > 50);
	for (size_t i = 0; i < mail_param_reserved_count; i++) {
		const char *name = mail_param_reserved[i];

		if (i > 0 && strcmp(mail_param_reserved[i - 1], name) >= 0)
			fail_msg(
			    "reserved list out of order or duplicate at %s",
			    name);
		if (mail_param_find(name) != NULL)
			fail_msg("%s is both implemented and reserved", name);
		assert_true(mail_param_is_reserved(name));
	}
	assert_true(mail_param_is_reserved("milter_protocol"));
	assert_true(mail_param_is_reserved("smtpd_milters"));
	assert_false(mail_param_is_reserved("max_use"));
	assert_false(mail_param_is_reserved("no_such_parameter"));
}

/* Every parameter has an entry (".B name") in the page. */
static void check_page(const char *page)
{
	for (size_t i = 0; i < mail_param_count; i++) {
		char want[256];

		snprintf(want, sizeof(want), "\n.TP\n.B %s\n",
			 mail_param_table[i].name);
		if (strstr(page, want) == NULL)
			fail_msg("%s is missing from the man page",
				 mail_param_table[i].name);
	}
	assert_null(strstr(page, "@PARAMETERS@"));
}

static void test_man_page(void **state)
{
	struct strbuf *out = strbuf_new(STRBUF_NO_MAX);
	char *err = NULL, *text;
	size_t len;

	(void)state;
	assert_int_equal(
	    mail_param_manpage(".TH X 5\n.SH PARAMETERS\n.\\\" @PARAMETERS@\n"
			       ".SH SEE ALSO\n",
			       out, &err),
	    0);
	check_page(strbuf_str(out));
	assert_non_null(strstr(strbuf_str(out), "\n.SH SEE ALSO\n"));
	/* Defaults are escaped for roff: "-" and "\" print as themselves. */
	assert_non_null(strstr(strbuf_str(out),
			       ".B max_idle\n(time; default: \\fI100s\\fR)\n"));
	assert_non_null(
	    strstr(strbuf_str(out), ".B mail_version\n(string; default: "));
	assert_non_null(strstr(strbuf_str(out), "read\\-only)"));
	assert_non_null(strstr(strbuf_str(out),
			       ".B maillog_file\n(string; default: empty)"));
	assert_non_null(strstr(strbuf_str(out),
			       ".B myhostname\n(string; default: computed"));

	/* A template without the marker is an error, not a page without
	 * parameters. */
	strbuf_reset(out);
	assert_int_equal(mail_param_manpage(".TH X 5\n", out, &err), -1);
	assert_non_null(strstr(err, "@PARAMETERS@"));
	myfree(err);

	/* The real template, when the test runs from the source tree. */
	if (readlline_load_file("man/postern.conf.5.in", 1 << 20, &text,
				&len) == 0) {
		strbuf_reset(out);
		assert_int_equal(mail_param_manpage(text, out, &err), 0);
		check_page(strbuf_str(out));
		myfree(text);
	}
	strbuf_free(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sorted_unique_findable),
	    cmocka_unit_test(test_documented),
	    cmocka_unit_test(test_defaults_parse),
	    cmocka_unit_test(test_reserved),
	    cmocka_unit_test(test_man_page),
	};

	msg_set_output("/dev/stderr");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
