/*
 * test_master_cf - master.cf parsing: every column, the defaults, the -o
 * and brace forms, continuation lines, duplicates, and that every error
 * names file and line and returns nothing half-parsed.
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

#include "master_cf.h"
#include "mymalloc.h"

static struct master_cf parse_ok(const char *text)
{
	struct master_cf cf = {NULL, 0};
	char *err = NULL;

	if (master_cf_parse("master.cf", text, 100, &cf, &err) < 0)
		fail_msg("parse failed: %s\n%s", err, text);
	return cf;
}

/* The parse must fail with an error starting with want, and leave the
 * result untouched. */
static void parse_fails(const char *text, const char *want)
{
	struct master_cf cf = {(struct master_ent *)1, 12345};
	char *err = NULL;

	if (master_cf_parse("master.cf", text, 100, &cf, &err) == 0)
		fail_msg("parsed: %s", text);
	assert_non_null(err);
	if (strncmp(err, want, strlen(want)) != 0)
		fail_msg("error \"%s\", wanted \"%s...\"", err, want);
	assert_ptr_equal(cf.ents, (struct master_ent *)1);
	assert_int_equal(cf.count, 12345);
	free(err);
}

static void test_defaults(void **state)
{
	struct master_cf cf = parse_ok(
	    "# service type  private unpriv  chroot  wakeup  maxproc command\n"
	    "smtp      inet  n       -       -       -       -       smtpd\n"
	    "cleanup   unix  -       -       -       -       0       cleanup\n"
	    "smtp2     inet  -       -       -       -       -       smtpd\n");
	const struct master_ent *e;

	(void)state;
	assert_int_equal(cf.count, 3);
	e = cf.ents;
	assert_string_equal(e->service, "smtp");
	assert_int_equal(e->type, MASTER_INET);
	assert_int_equal(e->private_, 0);
	assert_int_equal(e->unpriv, 1);
	assert_int_equal(e->chroot, 0);
	assert_int_equal(e->wakeup, 0);
	assert_int_equal(e->wakeup_on_use, 0);
	assert_int_equal(e->maxproc, 100);
	assert_string_equal(e->command, "smtpd");
	assert_int_equal(e->nargs, 0);
	assert_null(e->args[0]);
	assert_int_equal(e->noverrides, 0);
	assert_null(e->overrides[0]);
	assert_int_equal(e->line, 2);
	assert_string_equal(e->text, "smtp inet n - - - - smtpd");
	e = cf.ents + 1;
	assert_int_equal(e->type, MASTER_UNIX);
	assert_int_equal(e->private_, 1); /* "-" is y for unix */
	assert_int_equal(e->maxproc, 0);
	assert_int_equal(cf.ents[2].private_, 0); /* and n for inet */
	master_cf_free(&cf);
	assert_int_equal(cf.count, 0);
}

static void test_columns(void **state)
{
	struct master_cf cf =
	    parse_ok("qmgr unix n n y 300? 1 qmgr\n"
		     "pickup fifo y y n 60 1 pickup\n"
		     "tlsproxy unix-dgram - - - - 7 tlsproxy\n"
		     "postscreen pass - - - - 0 postscreen\n"
		     "127.0.0.1:2525 inet n - - - - smtpd\n"
		     "[::1]:submission inet n - - - - smtpd\n"
		     "2526 inet n - - - - smtpd\n");

	(void)state;
	assert_int_equal(cf.count, 7);
	assert_int_equal(cf.ents[0].private_, 0);
	assert_int_equal(cf.ents[0].unpriv, 0);
	assert_int_equal(cf.ents[0].chroot, 1);
	assert_int_equal(cf.ents[0].wakeup, 300);
	assert_int_equal(cf.ents[0].wakeup_on_use, 1);
	assert_int_equal(cf.ents[0].maxproc, 1);
	assert_int_equal(cf.ents[1].type, MASTER_FIFO);
	assert_int_equal(cf.ents[1].wakeup, 60);
	assert_int_equal(cf.ents[1].wakeup_on_use, 0);
	assert_int_equal(cf.ents[2].type, MASTER_UNIX_DGRAM);
	assert_int_equal(cf.ents[2].maxproc, 7);
	assert_int_equal(cf.ents[3].type, MASTER_PASS);
	assert_string_equal(cf.ents[4].service, "127.0.0.1:2525");
	assert_string_equal(cf.ents[5].service, "[::1]:submission");
	assert_string_equal(master_type_name(MASTER_UNIX_DGRAM), "unix-dgram");
	assert_string_equal(master_type_name(MASTER_INET), "inet");
	master_cf_free(&cf);
}

static void test_column_errors(void **state)
{
	static const struct {
		const char *text, *want;
	} cases[] = {
	    {"smtp inet n - - - -\n",
	     "master.cf, line 1: expected at least 8 columns"},
	    {"smtp tcp n - - - - smtpd\n",
	     "master.cf, line 1: bad service type \"tcp\""},
	    {"smtp inet x - - - - smtpd\n",
	     "master.cf, line 1: bad private column"},
	    {"smtp inet n yes - - - smtpd\n",
	     "master.cf, line 1: bad unpriv column"},
	    {"smtp inet n - 2 - - smtpd\n",
	     "master.cf, line 1: bad chroot column"},
	    {"smtp inet y - - - - smtpd\n",
	     "master.cf, line 1: an inet service cannot be private"},
	    {"qmgr unix n - - abc 1 qmgr\n",
	     "master.cf, line 1: bad wakeup column"},
	    {"qmgr unix n - - -5 1 qmgr\n",
	     "master.cf, line 1: bad wakeup column"},
	    {"qmgr unix n - - 5?? 1 qmgr\n",
	     "master.cf, line 1: bad wakeup column"},
	    {"qmgr unix n - - ? 1 qmgr\n",
	     "master.cf, line 1: bad wakeup column"},
	    {"qmgr unix n - - 99999999999 1 qmgr\n",
	     "master.cf, line 1: bad wakeup column"},
	    {"qmgr unix n - - - -1 qmgr\n",
	     "master.cf, line 1: bad maxproc column"},
	    {"qmgr unix n - - - x qmgr\n",
	     "master.cf, line 1: bad maxproc column"},
	    {"qmgr unix n - - - 99999999999 qmgr\n",
	     "master.cf, line 1: bad maxproc column"},
	    {"../x unix n - - - - qmgr\n",
	     "master.cf, line 1: bad unix service name"},
	    {"a/b fifo n - - - - qmgr\n",
	     "master.cf, line 1: bad fifo service name"},
	    {"1.2.3.4:99999 inet n - - - - smtpd\n",
	     "master.cf, line 1: bad port"},
	    {"1.2.3.4:0 inet n - - - - smtpd\n", "master.cf, line 1: bad port"},
	    {"1.2.3.4: inet n - - - - smtpd\n", "master.cf, line 1: bad port"},
	    {":25 inet n - - - - smtpd\n",
	     "master.cf, line 1: bad inet service"},
	    {"::1:25 inet n - - - - smtpd\n",
	     "master.cf, line 1: bad inet service"},
	    {"[zz]:25 inet n - - - - smtpd\n",
	     "master.cf, line 1: bad IPv6 address"},
	    {"[::1]25 inet n - - - - smtpd\n",
	     "master.cf, line 1: bad inet service"},
	    {"smtp inet n - - - - /bin/sh\n", "master.cf, line 1: bad command"},
	    {"smtp inet n - - - - ../smtpd\n",
	     "master.cf, line 1: bad command"},
	    {"{smtp} inet n - - - - smtpd\n",
	     "master.cf, line 1: the service column must not be in braces"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		parse_fails(cases[i].text, cases[i].want);
}

static void test_args_and_overrides(void **state)
{
	struct master_cf cf =
	    parse_ok("# submission, Postfix-style\n"
		     "submission inet n - y - - smtpd\n"
		     "  -o syslog_name=postfix/submission\n"
		     "  # a comment inside the entry\n"
		     "\n"
		     "  -o { smtpd_tls_security_level = encrypt }\n"
		     "  -o { smtpd_banner = $myhostname ready }\n"
		     "  -osmtpd_sasl_auth_enable=yes\n"
		     "  -o content_filter=\n"
		     "  -v { arg with  spaces } {} -D\n"
		     "pipe unix - n n - - pipe flags=Rq user=nobody "
		     "argv=/bin/cat ${recipient}\n");
	const struct master_ent *e = cf.ents;
	static const char *const args[] = {
	    "-o", "syslog_name=postfix/submission",
	    "-o", "smtpd_tls_security_level=encrypt",
	    "-o", "smtpd_banner=$myhostname ready",
	    "-o", "smtpd_sasl_auth_enable=yes",
	    "-o", "content_filter=",
	    "-v", "arg with  spaces",
	    "",	  "-D",
	};

	(void)state;
	assert_int_equal(cf.count, 2);
	assert_int_equal(e->line, 2);
	assert_int_equal(e->nargs, sizeof(args) / sizeof(args[0]));
	for (size_t i = 0; i < e->nargs; i++)
		assert_string_equal(e->args[i], args[i]);
	assert_null(e->args[e->nargs]);
	assert_int_equal(e->noverrides, 5);
	assert_string_equal(e->overrides[0], "syslog_name=postfix/submission");
	assert_string_equal(e->overrides[2], "smtpd_banner=$myhostname ready");
	assert_string_equal(e->overrides[4], "content_filter=");
	assert_null(e->overrides[5]);
	assert_string_equal(
	    e->text,
	    "submission inet n - y - - smtpd -o syslog_name=postfix/submission "
	    "-o smtpd_tls_security_level=encrypt "
	    "-o { smtpd_banner = $myhostname ready } "
	    "-o smtpd_sasl_auth_enable=yes -o { content_filter = } "
	    "-v { arg with  spaces } { } -D");
	e = cf.ents + 1;
	assert_int_equal(e->line, 11);
	assert_int_equal(e->nargs, 4);
	assert_string_equal(e->args[3], "${recipient}");
	master_cf_free(&cf);

	/* The normalised text parses back to the same entry. */
	cf = parse_ok(
	    "submission inet n - y - - smtpd -o { a = b c } { x  y } {}\n");
	char *text = mystrdup(cf.ents[0].text);
	master_cf_free(&cf);
	cf = parse_ok(text);
	assert_string_equal(cf.ents[0].text, text);
	assert_string_equal(cf.ents[0].args[1], "a=b c");
	assert_string_equal(cf.ents[0].args[2], "x  y");
	assert_string_equal(cf.ents[0].args[3], "");
	myfree(text);
	master_cf_free(&cf);
}

static void test_arg_errors(void **state)
{
	(void)state;
	parse_fails("smtp inet n - - - - smtpd -o\n",
		    "master.cf, line 1: -o at the end of the entry");
	parse_fails("smtp inet n - - - - smtpd -o novalue\n",
		    "master.cf, line 1: bad -o argument \"novalue\"");
	parse_fails("smtp inet n - - - - smtpd -o =x\n",
		    "master.cf, line 1: bad -o argument");
	parse_fails("smtp inet n - - - - smtpd -o { a b = c }\n",
		    "master.cf, line 1: bad -o argument");
	parse_fails("smtp inet n - - - - smtpd { unclosed\n",
		    "master.cf, line 1: missing '}'");
	parse_fails("smtp inet n - - - - smtpd {a}b\n",
		    "master.cf, line 1: text after '}'");
	parse_fails("  smtp inet n - - - - smtpd\n",
		    "master.cf, line 1: line starts with whitespace");
}

static void test_whole_file_or_nothing(void **state)
{
	(void)state;
	/* Errors name the first line of the bad entry. */
	parse_fails("smtp inet n - - - - smtpd\n"
		    "# comment\n"
		    "pickup unix n - n\n"
		    "  60 1 pickup -o\n"
		    "  x=1\n"
		    "qmgr unix n - n 300 1 qmgr -o\n",
		    "master.cf, line 6: -o at the end");
	parse_fails("smtp inet n - - - - smtpd\n"
		    "smtp inet n - - - - smtpd -o\n",
		    "master.cf, line 2:");
}

static void test_duplicates(void **state)
{
	struct master_cf cf = parse_ok("smtp inet n - - - - smtpd\n"
				       "smtp unix - - - - - smtp\n"
				       "pickup unix n - - 60 1 pickup\n"
				       "smtp inet n - - - 5 smtpd -v\n");

	(void)state;
	assert_int_equal(cf.count, 3);
	assert_string_equal(cf.ents[0].text, "smtp unix - - - - - smtp");
	assert_string_equal(cf.ents[2].text, "smtp inet n - - - 5 smtpd -v");
	assert_int_equal(cf.ents[2].maxproc, 5);
	assert_int_equal(cf.ents[2].line, 4);
	master_cf_free(&cf);
}

static void test_overlong(void **state)
{
	size_t len = MASTER_CF_LINE_MAX + 10;
	char *text = mymalloc(len + 64);
	char service[MASTER_CF_SERVICE_MAX + 40];

	(void)state;
	strcpy(text, "smtp inet n - - - - smtpd ");
	memset(text + strlen(text), 'a', len);
	text[len + 20] = '\n';
	text[len + 21] = 0;
	parse_fails(
	    text, "master.cf, line 1: logical line is longer than 65536 bytes");
	myfree(text);

	memset(service, 'x', sizeof(service));
	memcpy(service + MASTER_CF_SERVICE_MAX + 1, " unix - - - - - x\n", 19);
	parse_fails(service,
		    "master.cf, line 1: service name is longer than 100 bytes");
}

static void test_read_file(void **state)
{
	char dir[PATH_MAX], path[PATH_MAX + 16], *err = NULL;
	const char *t = getenv("TMPDIR");
	struct master_cf cf = {NULL, 0};
	static const char text[] =
	    "smtp inet n - - - - smtpd\nx unix - - - - - x\0y\n";
	FILE *fp;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/test_master_cf.XXXXXX",
		 t && *t ? t : "/tmp");
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/master.cf", dir);
	assert_int_equal(master_cf_read(path, 100, &cf, &err), -1);
	assert_non_null(strstr(err, "No such file"));
	free(err);

	assert_non_null(fp = fopen(path, "w"));
	fwrite(text, 1, sizeof(text) - 1, fp);
	fclose(fp);
	assert_int_equal(master_cf_read(path, 100, &cf, &err), -1);
	assert_non_null(strstr(err, "master.cf, line 2: NUL byte"));
	free(err);

	assert_non_null(fp = fopen(path, "w"));
	fputs("smtp inet n - - - - smtpd\n", fp);
	fclose(fp);
	assert_int_equal(master_cf_read(path, 42, &cf, &err), 0);
	assert_int_equal(cf.count, 1);
	assert_int_equal(cf.ents[0].maxproc, 42);
	master_cf_free(&cf);
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_defaults),
	    cmocka_unit_test(test_columns),
	    cmocka_unit_test(test_column_errors),
	    cmocka_unit_test(test_args_and_overrides),
	    cmocka_unit_test(test_arg_errors),
	    cmocka_unit_test(test_whole_file_or_nothing),
	    cmocka_unit_test(test_duplicates),
	    cmocka_unit_test(test_overlong),
	    cmocka_unit_test(test_read_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
