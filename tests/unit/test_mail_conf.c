/*
 * test_mail_conf - main.cf reading, expansion, typed values, overrides and
 * the warnings an admin sees, against real files in a temporary
 * directory. Warnings are captured by pointing the log at a file.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "mail_conf.h"
#include "msg.h"
#include "mymalloc.h"

static char tmpdir[PATH_MAX];
static char logpath[PATH_MAX + 16];

static void write_file(const char *name, const char *text, size_t len)
{
	char path[PATH_MAX + 32];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	assert_non_null(fp = fopen(path, "w"));
	assert_int_equal(fwrite(text, 1, len, fp), len);
	assert_int_equal(fclose(fp), 0);
}

static void write_main_cf(const char *text)
{
	write_file("main.cf", text, strlen(text));
}

/* Everything logged since the last call. */
static char *read_log(void)
{
	static char buf[65536];
	FILE *fp = fopen(logpath, "r");
	size_t n = 0;

	if (fp != NULL) {
		n = fread(buf, 1, sizeof(buf) - 1, fp);
		fclose(fp);
	}
	buf[n] = 0;
	assert_int_equal(truncate(logpath, 0), 0);
	return buf;
}

static int count(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *cp = hay; (cp = strstr(cp, needle)) != NULL; cp++)
		n++;
	return n;
}

static int setup(void **state)
{
	const char *t = getenv("TMPDIR");

	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "%s/test_mail_conf.XXXXXX",
		 t && *t ? t : "/tmp");
	assert_non_null(mkdtemp(tmpdir));
	snprintf(logpath, sizeof(logpath), "%s/log", tmpdir);
	assert_int_equal(msg_set_output(logpath), 0);
	return 0;
}

static int teardown(void **state)
{
	char path[PATH_MAX + 32];

	(void)state;
	mail_conf_reset();
	msg_set_output(NULL);
	for (const char *const *f =
		 (const char *const[]){"main.cf", "master.cf", "log", NULL};
	     *f; f++) {
		snprintf(path, sizeof(path), "%s/%s", tmpdir, *f);
		unlink(path);
	}
	rmdir(tmpdir);
	return 0;
}

static void load_ok(void)
{
	char *err = NULL;

	if (mail_conf_load(tmpdir, &err) < 0)
		fail_msg("mail_conf_load: %s", err);
}

/* Load must fail with an error that ends with want (after "DIR/"). */
static void load_fails(const char *want)
{
	char *err = NULL;
	char expect[PATH_MAX + 512];

	assert_int_equal(mail_conf_load(tmpdir, &err), -1);
	assert_non_null(err);
	snprintf(expect, sizeof(expect), "%s/%s", tmpdir, want);
	if (strncmp(err, expect, strlen(expect)) != 0)
		fail_msg("error \"%s\", wanted \"%s...\"", err, expect);
	free(err);
}

static void test_missing_main_cf_gives_defaults(void **state)
{
	(void)state;
	load_ok();
	assert_int_equal(var_max_use, 100);
	assert_int_equal(var_max_idle, 100);
	assert_int_equal(var_service_throttle_time, 60);
	assert_string_equal(var_mail_name, "postern");
	assert_string_equal(var_config_directory, tmpdir);
	assert_string_equal(var_mail_version, PACKAGE_VERSION);
	assert_string_equal(var_compatibility_level, "0");
	assert_string_equal(var_default_database_type, "hash");
	assert_string_equal(var_inet_protocols, "all");
}

static void test_syntax(void **state)
{
	(void)state;
	write_main_cf("# comment = not a setting\n"
		      "\n"
		      "max_use=1\n"
		      "max_idle =\n"
		      "   # a comment does not end the logical line\n"
		      "\n"
		      "\t30s  \n"
		      "queue_directory = /q # not a comment\n"
		      "syslog_name = first\n"
		      "  second\n"
		      "syslog_name = last\r\n"
		      "   # indented comment\n");
	load_ok();
	assert_int_equal(var_max_use, 1);
	assert_int_equal(var_max_idle, 30);
	assert_string_equal(var_queue_directory, "/q # not a comment");
	assert_string_equal(var_syslog_name, "last");
	assert_string_equal(mail_conf_lookup_raw("max_idle"), "30s");
	assert_null(mail_conf_lookup_raw("mail_owner"));

	write_main_cf("syslog_name = a\n  b\n\tc\n");
	load_ok();
	assert_string_equal(var_syslog_name, "a b c");
}

static void test_setting_origin(void **state)
{
	size_t n;
	const struct mail_conf_setting *set;
	char path[PATH_MAX + 16];

	(void)state;
	write_main_cf("\nsyslog_name = x\nmax_use = 3\n  \nmax_use = 4\n");
	load_ok();
	set = mail_conf_settings(&n);
	assert_int_equal(n, 2);
	snprintf(path, sizeof(path), "%s/main.cf", tmpdir);
	assert_string_equal(set[0].name, "max_use");
	assert_string_equal(set[0].value, "4");
	assert_string_equal(set[0].file, path);
	assert_int_equal(set[0].line, 5);
	assert_string_equal(set[1].name, "syslog_name");
	assert_int_equal(set[1].line, 2);
}

static void test_bad_lines(void **state)
{
	static char nul_text[] = "max_use = 1\nmax_idle = 1\0s\n";

	(void)state;
	write_main_cf("max_use = 7\n");
	load_ok();

	write_main_cf("max_use = 1\n# fine\nthis line has no equals sign\n");
	load_fails("main.cf, line 3: missing '=' after parameter name");
	/* A failed load changes nothing. */
	assert_int_equal(var_max_use, 7);
	assert_string_equal(mail_conf_lookup_raw("max_use"), "7");

	write_main_cf("  max_use = 1\n");
	load_fails("main.cf, line 1: line starts with whitespace");

	write_main_cf("= 1\n");
	load_fails("main.cf, line 1: bad parameter name");
	write_main_cf("max use = 1\n");
	load_fails("main.cf, line 1: bad parameter name");

	write_file("main.cf", nul_text, sizeof(nul_text) - 1);
	load_fails("main.cf, line 2: NUL byte");
	assert_int_equal(var_max_use, 7);
}

static void test_huge_line(void **state)
{
	size_t len = MAIL_CONF_LINE_MAX + 100;
	char *text = mymalloc(len + 1);

	(void)state;
	memset(text, 'x', len);
	memcpy(text, "max_use = 1\nsyslog_name = ", 26);
	text[len - 1] = '\n';
	text[len] = 0;
	write_main_cf(text);
	load_fails(
	    "main.cf, line 2: logical line is longer than 1048576 bytes");

	/* Made of continuation lines, each of them short. */
	len = MAIL_CONF_LINE_MAX + MAIL_CONF_LINE_MAX / 10;
	text = myrealloc(text, len + 1);
	memset(text + 26, 'x', len - 26);
	text[len - 1] = '\n';
	text[len] = 0;
	for (size_t i = 100; i < len - 2; i += 100)
		text[i] = '\n', text[i + 1] = ' ';
	write_main_cf(text);
	load_fails("main.cf, line ");
	myfree(text);
}

static void test_expansion_forms(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
	    {"$a", "A"},
	    {"${a}", "A"},
	    {"$(a)", "A"},
	    {"x$a-y", "xA-y"},
	    {"$a$a", "AA"},
	    {"${a?yes}", "yes"},
	    {"${empty?yes}", ""},
	    {"${a:no}", ""},
	    {"${empty:no}", "no"},
	    {"${unset:no}", "no"},
	    {"${a?{T}:{F}}", "T"},
	    {"${empty?{T}:{F}}", "F"},
	    {"${a?{ T }:{ F }}", "T"},
	    {"${a?{$b}:{x}}", "A-A"},
	    {"$$a", "$a"},
	    {"$$$a", "$A"},
	    {"cost $ 5", "cost $ 5"},
	    {"${a?$(b) and more}", "A-A and more"},
	    {"$b", "A-A"},
	    {"${a?{x}}", "x"},
	    {"", ""},
	    {"no dollars", "no dollars"},
	};
	char *err = NULL;

	(void)state;
	write_main_cf("a = A\nempty =\nb = $a-${a}\n");
	load_ok();
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *got = mail_conf_expand(cases[i].in, &err);

		if (got == NULL)
			fail_msg("%s: %s", cases[i].in, err);
		if (strcmp(got, cases[i].out) != 0)
			fail_msg("%s: got \"%s\", want \"%s\"", cases[i].in,
				 got, cases[i].out);
		free(got);
	}
	/* Unknown $name: empty, and one warning however often it is used. */
	char *got = mail_conf_expand("[$nosuch][$nosuch]", &err);

	assert_string_equal(got, "[][]");
	free(got);
	assert_int_equal(count(read_log(), "undefined parameter $nosuch"), 1);

	/* Table parameters expand to their values, defaults included. */
	write_main_cf("syslog_name = $mail_name/x\nmax_use = ${mu}\nmu = 12\n");
	load_ok();
	assert_string_equal(var_syslog_name, "postern/x");
	assert_int_equal(var_max_use, 12);
	assert_string_equal(mail_conf_eval("syslog_name"), "postern/x");
	assert_string_equal(mail_conf_eval("mu"), "12");
	assert_null(mail_conf_eval("nosuch"));
}

static void test_expansion_errors(void **state)
{
	static const char *const bad[] = {"${a", "$(a", "${}", "${a!x}",
					  "${-x}"};
	char *err = NULL;

	(void)state;
	write_main_cf("a = $b\nb = ${a}\nc = x\n");
	load_ok();
	assert_null(mail_conf_expand("$a", &err));
	assert_non_null(strstr(err, "nests more than 100 levels"));
	free(err);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err = NULL;
		if (mail_conf_expand(bad[i], &err) != NULL)
			fail_msg("%s expanded", bad[i]);
		assert_non_null(err);
		free(err);
	}

	/* A loop through a table parameter stops the load, naming it. */
	write_main_cf("max_use = 1\nsyslog_name = $x\nx = $syslog_name\n");
	load_fails("main.cf, line 2: parameter syslog_name: expansion nests");

	/* Doubling at every level is stopped by the size bound. */
	char text[4096];
	size_t n =
	    (size_t)snprintf(text, sizeof(text), "p0 = xxxxxxxxxxxxxxxx\n");

	for (int i = 1; i <= 40; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n,
				      "p%d = $p%d$p%d\n", i, i - 1, i - 1);
	snprintf(text + n, sizeof(text) - n, "syslog_name = $p40\n");
	write_main_cf(text);
	load_fails(
	    "main.cf, line 42: parameter syslog_name: value is longer than");

	/* Many references that expand to nothing are bounded too. */
	char *big = mymalloc(16384);

	n = (size_t)snprintf(big, 16384, "e =\nb = ");
	for (int i = 0; i < 2000; i++)
		n += (size_t)snprintf(big + n, 16384 - n, "$e");
	n += (size_t)snprintf(big + n, 16384 - n, "\nsyslog_name = ");
	for (int i = 0; i < 1000; i++)
		n += (size_t)snprintf(big + n, 16384 - n, "$b");
	snprintf(big + n, 16384 - n, "\n");
	write_main_cf(big);
	myfree(big);
	load_fails("main.cf, line 3: parameter syslog_name: expansion follows "
		   "more than");
}

static void test_typed_values(void **state)
{
	long n;
	int b;

	(void)state;
	assert_int_equal(conf_parse_bool("yes", &b), 0);
	assert_int_equal(b, 1);
	assert_int_equal(conf_parse_bool("NO", &b), 0);
	assert_int_equal(b, 0);
	assert_int_equal(conf_parse_bool("maybe", &b), -1);
	assert_int_equal(conf_parse_bool("", &b), -1);
	assert_int_equal(conf_parse_bool("1", &b), -1);

	assert_int_equal(conf_parse_int("12", 0, 100, &n), 0);
	assert_int_equal(n, 12);
	assert_int_equal(conf_parse_int("-3", -5, 5, &n), 0);
	assert_int_equal(n, -3);
	assert_int_equal(conf_parse_int("-3", 0, 5, &n), -1);
	assert_int_equal(conf_parse_int("101", 0, 100, &n), -1);
	assert_int_equal(
	    conf_parse_int("99999999999999999999", 0, LONG_MAX, &n), -1);
	assert_int_equal(
	    conf_parse_int("-99999999999999999999", LONG_MIN, 0, &n), -1);
	assert_int_equal(conf_parse_int("9223372036854775807", 0, LONG_MAX, &n),
			 0);
	assert_int_equal(n, LONG_MAX);
	for (const char *const *v =
		 (const char *const[]){"", "1x", " 1", "+1", "0x10", "1 ", "-",
				       NULL};
	     *v; v++)
		if (conf_parse_int(*v, LONG_MIN, LONG_MAX, &n) == 0)
			fail_msg("\"%s\" parsed as an integer", *v);

	static const struct {
		const char *in;
		long secs;
	} times[] = {
	    {"30", 30},	  {"0", 0},	 {"30s", 30},	 {"5m", 300},
	    {"2h", 7200}, {"1d", 86400}, {"1w", 604800}, {"0h", 0},
	};
	for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
		assert_int_equal(conf_parse_time(times[i].in, 's', &n), 0);
		assert_int_equal(n, times[i].secs);
	}
	assert_int_equal(conf_parse_time("5", 'm', &n), 0);
	assert_int_equal(n, 300);
	for (const char *const *v =
		 (const char *const[]){"", "s", "1x", "-1s", "-1", "5mm",
				       "1.5h", "99999999999999999w", "1 s",
				       NULL};
	     *v; v++)
		if (conf_parse_time(*v, 's', &n) == 0)
			fail_msg("\"%s\" parsed as a time", *v);
}

static void test_typed_errors_in_main_cf(void **state)
{
	(void)state;
	write_main_cf("# c\nmax_use = 1x\n");
	load_fails(
	    "main.cf, line 2: bad integer value for parameter max_use: 1x");
	write_main_cf("max_use = -1\n");
	load_fails(
	    "main.cf, line 1: bad integer value for parameter max_use: -1 "
	    "(must be between 0 and 2147483647)");
	write_main_cf("max_use = 2147483648\n");
	load_fails("main.cf, line 1: bad integer value for parameter max_use: "
		   "2147483648");
	write_main_cf("max_use = 99999999999999999999999\n");
	load_fails("main.cf, line 1: bad integer value for parameter max_use");
	write_main_cf("max_idle = 10y\n");
	load_fails(
	    "main.cf, line 1: bad time value for parameter max_idle: 10y");
	write_main_cf("max_idle = 9999w\n");
	load_fails(
	    "main.cf, line 1: bad time value for parameter max_idle: 9999w "
	    "(at most 2147483647 seconds)");
	/* The value checked is the expanded one. */
	write_main_cf("n = 5x\nmax_use = $n\n");
	load_fails(
	    "main.cf, line 2: bad integer value for parameter max_use: 5x");
	write_main_cf("n = 5\nmax_use = ${n}0\nmax_idle = ${n}m\n");
	load_ok();
	assert_int_equal(var_max_use, 50);
	assert_int_equal(var_max_idle, 300);
}

static void test_override(void **state)
{
	char *err = NULL;

	(void)state;
	write_main_cf("max_use = 7\nsyslog_name = main\n");
	load_ok();
	assert_int_equal(mail_conf_set("max_use = 5", &err), 0);
	assert_int_equal(var_max_use, 5);
	assert_string_equal(mail_conf_lookup_raw("max_use"), "5");
	assert_int_equal(mail_conf_set("syslog_name=postfix/submission", &err),
			 0);
	assert_string_equal(var_syslog_name, "postfix/submission");

	/* A bad override changes nothing. */
	assert_int_equal(mail_conf_set("max_use=lots", &err), -1);
	assert_string_equal(
	    err, "override: bad integer value for parameter max_use: lots");
	free(err);
	assert_int_equal(var_max_use, 5);
	assert_string_equal(mail_conf_lookup_raw("max_use"), "5");
	assert_int_equal(mail_conf_set("max_idle=1x", &err), -1);
	free(err);
	assert_null(mail_conf_lookup_raw("max_idle"));
	assert_int_equal(var_max_idle, 100);

	assert_int_equal(mail_conf_set("no equals sign", &err), -1);
	free(err);
	assert_int_equal(mail_conf_set("bad name=1", &err), -1);
	free(err);

	/* Overrides see main.cf's names and are seen by them. */
	assert_int_equal(mail_conf_set("mail_name=$syslog_name!", &err), 0);
	assert_string_equal(var_mail_name, "postfix/submission!");

	/* Unknown and reserved overrides warn. */
	read_log();
	assert_int_equal(mail_conf_set("stress=yes", &err), 0);
	assert_int_equal(mail_conf_set("nosuch=1", &err), 0);
	char *log = read_log();

	assert_non_null(strstr(log, "override stress=yes: not yet supported "
				    "parameter stress; ignored"));
	assert_non_null(strstr(
	    log, "override nosuch=1: unknown parameter nosuch; ignored"));
	/* A reload forgets the overrides. */
	load_ok();
	assert_int_equal(var_max_use, 7);
	assert_string_equal(var_syslog_name, "main");
}

static void test_unknown_and_reserved_warn(void **state)
{
	char *log, want[PATH_MAX + 128];

	(void)state;
	write_file("master.cf", "smtp inet n - - - - smtpd -o x=$from_master\n",
		   44);
	write_main_cf("# site settings\n"
		      "foo = 1\n"
		      "smtpd_milters = inet:127.0.0.1:11332\n"
		      "helper = permit\n"
		      "relocated_maps = ${helper}\n"
		      "from_master = 1\n"
		      "mail_version = 9.9\n"
		      "config_directory = /elsewhere\n"
		      "relay_destination_concurrency_limit = 7\n"
		      "_destination_rate_delay = 1s\n");
	read_log();
	load_ok();
	log = read_log();
	/* A transport name may prefix the per-destination limits (qmgr
	 * looks them up by name); a bare suffix is still unknown. */
	assert_null(strstr(log, "relay_destination"));
	assert_string_equal(mail_conf_eval("relay_destination_concurrency_limit"),
			    "7");
	assert_non_null(strstr(log, "unknown parameter _destination_rate_delay"));
	snprintf(want, sizeof(want),
		 "%s/main.cf, line 2: unknown parameter foo; ignored", tmpdir);
	assert_non_null(strstr(log, want));
	snprintf(want, sizeof(want),
		 "%s/main.cf, line 3: parameter smtpd_milters is not "
		 "supported by postern yet; ignored",
		 tmpdir);
	assert_non_null(strstr(log, want));
	snprintf(want, sizeof(want),
		 "%s/main.cf, line 5: parameter relocated_maps is not "
		 "supported by postern yet; ignored",
		 tmpdir);
	assert_non_null(strstr(log, want));
	/* Referred to by another value: a user-defined parameter. */
	assert_null(strstr(log, "helper"));
	assert_null(strstr(log, "from_master"));
	snprintf(want, sizeof(want),
		 "%s/main.cf, line 7: parameter mail_version is "
		 "read-only; ignored",
		 tmpdir);
	assert_non_null(strstr(log, want));
	assert_string_equal(var_mail_version, PACKAGE_VERSION);
	assert_non_null(strstr(
	    log, "line 8: parameter config_directory is chosen with -c"));
	assert_string_equal(var_config_directory, tmpdir);
	/* Warnings are in file order. */
	assert_true(strstr(log, "line 2:") < strstr(log, "line 3:"));
}

static void test_computed_defaults(void **state)
{
	char host[256] = "";

	(void)state;
	write_main_cf("myhostname = mx.example.com\n");
	load_ok();
	assert_string_equal(var_mydomain, "example.com");
	write_main_cf("myhostname = mail.example\n");
	load_ok();
	assert_string_equal(var_mydomain, "localdomain");
	write_main_cf("mydomain = example.org\nmyhostname = mail.$mydomain\n");
	load_ok();
	assert_string_equal(var_myhostname, "mail.example.org");

	/* Without main.cf: gethostname(), made fully qualified. */
	write_main_cf("mydomain = example.org\n");
	load_ok();
	gethostname(host, sizeof(host) - 1);
	if (strchr(host, '.') == NULL) {
		char want[300];

		snprintf(want, sizeof(want), "%s.example.org", host);
		assert_string_equal(var_myhostname, want);
	} else {
		assert_string_equal(var_myhostname, host);
	}
	write_main_cf("");
	load_ok();
	assert_non_null(strchr(var_myhostname, '.'));
	assert_non_null(var_mydomain);

	/* Each default needs the other: an error, not a hang. The first
	 * parameter (alphabetically) that needs mydomain reports it. */
	write_main_cf("myhostname = mail.$mydomain\n");
	{
		char *err = NULL;

		/* Which parameter reports it depends on the table order
		 * (mydestination's default uses $mydomain too). */
		assert_int_equal(mail_conf_load(tmpdir, &err), -1);
		assert_non_null(err);
		assert_non_null(strstr(err, "refers back to it"));
		free(err);
	}
}

static void test_config_dir(void **state)
{
	(void)state;
	assert_string_equal(mail_conf_dir("/x"), "/x");
	setenv("MAIL_CONFIG", "/from/env", 1);
	assert_string_equal(mail_conf_dir(NULL), "/from/env");
	assert_string_equal(mail_conf_dir("/x"), "/x");
	setenv("MAIL_CONFIG", "", 1);
	assert_string_equal(mail_conf_dir(NULL), DEF_CONFIG_DIR);
	unsetenv("MAIL_CONFIG");
	assert_string_equal(mail_conf_dir(NULL), DEF_CONFIG_DIR);
}

static void test_list_split(void **state)
{
	char **list = conf_list_split(" a, b  c,,\td ,");

	(void)state;
	assert_string_equal(list[0], "a");
	assert_string_equal(list[1], "b");
	assert_string_equal(list[2], "c");
	assert_string_equal(list[3], "d");
	assert_null(list[4]);
	conf_list_free(&list);
	assert_null(list);

	list = conf_list_split("check_client_access inline:{ 1.2.3.4=OK, "
			       "5.6.7.8=REJECT }, permit");
	assert_string_equal(list[0], "check_client_access");
	assert_string_equal(list[1], "inline:{ 1.2.3.4=OK, 5.6.7.8=REJECT }");
	assert_string_equal(list[2], "permit");
	assert_null(list[3]);
	conf_list_free(&list);

	list = conf_list_split("  ,, ");
	assert_null(list[0]);
	conf_list_free(&list);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	    T(test_missing_main_cf_gives_defaults),
	    T(test_syntax),
	    T(test_setting_origin),
	    T(test_bad_lines),
	    T(test_huge_line),
	    T(test_expansion_forms),
	    T(test_expansion_errors),
	    T(test_typed_values),
	    T(test_typed_errors_in_main_cf),
	    T(test_override),
	    T(test_unknown_and_reserved_warn),
	    T(test_computed_defaults),
	    T(test_config_dir),
	    T(test_list_split),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
