/*
 * test_smtp_addr - MAIL FROM / RCPT TO argument parsing
 * (global/smtp_addr.c): paths, leniency versus strict_rfc821_envelopes,
 * every ESMTP parameter and each error reply, xtext, SMTPUTF8, and the
 * 21Nails rule that CR, LF, NUL and controls never reach an envelope
 * field however they are encoded.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "smtp_addr.h"
#include "strbuf.h"

enum opt_set { DEF, STRICT, NOUTF8, NODSN, DECL, LIMIT };

static struct smtp_addr_opts opts_of(enum opt_set set)
{
	struct smtp_addr_opts o = {
	    .strict_rfc821 = 0,
	    .smtputf8_enable = 1,
	    .smtputf8_declared = 0,
	    .dsn_enable = 1,
	    .auth_enable = 1,
	    .size_limit = 10240000,
	};

	switch (set) {
	case STRICT:
		o.strict_rfc821 = 1;
		break;
	case NOUTF8:
		o.smtputf8_enable = 0;
		break;
	case NODSN:
		o.dsn_enable = o.auth_enable = 0;
		break;
	case DECL:
		o.smtputf8_declared = 1;
		break;
	case LIMIT:
		o.size_limit = 0;
		break;
	case DEF:
		break;
	}
	return o;
}

#define M SMTP_ADDR_MAIL
#define R SMTP_ADDR_RCPT

/* A case that parses: the internal and external forms. */
static const struct ok_case {
	enum smtp_addr_cmd cmd;
	enum opt_set opts;
	const char *arg;
	const char *addr;
	const char *ext;
} ok_cases[] = {
    {M, DEF, "FROM:<user@example.com>", "user@example.com", "user@example.com"},
    {M, DEF, "from:<user@example.com>", "user@example.com", "user@example.com"},
    {M, DEF, "FROM:<>", "", ""},
    {M, STRICT, "FROM:<>", "", ""},
    {R, DEF, "TO:<a.b+c@sub.example.org>", "a.b+c@sub.example.org",
     "a.b+c@sub.example.org"},
    /* Leniency that Postfix has and strict mode takes away. */
    {M, DEF, "FROM: <user@example.com>", "user@example.com",
     "user@example.com"},
    {M, DEF, "FROM:user@example.com", "user@example.com", "user@example.com"},
    {R, DEF, "TO:user@example.com NOTIFY=NEVER", "user@example.com",
     "user@example.com"},
    {R, DEF, "TO:<a..b@example.com>", "a..b@example.com",
     "\"a..b\"@example.com"},
    {R, DEF, "TO:<.a.@example.com>", ".a.@example.com", "\".a.\"@example.com"},
    /* No domain: qualified later ($myorigin), as Postfix does. */
    {R, DEF, "TO:<postmaster>", "postmaster", "postmaster"},
    {R, STRICT, "TO:<Postmaster>", "Postmaster", "Postmaster"},
    {R, DEF, "TO:<user>", "user", "user"},
    /* Source routes are accepted and stripped. */
    {R, DEF, "TO:<@a.example,@b.example:user@c.example>", "user@c.example",
     "user@c.example"},
    {R, STRICT, "TO:<@a.example:user@c.example>", "user@c.example",
     "user@c.example"},
    /* Quoted local parts: internal is unquoted, external re-quoted. */
    {R, DEF, "TO:<\"john doe\"@example.com>", "john doe@example.com",
     "\"john doe\"@example.com"},
    {R, DEF, "TO:<\"a>b\"@example.com>", "a>b@example.com",
     "\"a>b\"@example.com"},
    {R, DEF, "TO:<\"a\\\"b\\\\c\"@example.com>", "a\"b\\c@example.com",
     "\"a\\\"b\\\\c\"@example.com"},
    {R, DEF, "TO:<\"plain\"@example.com>", "plain@example.com",
     "plain@example.com"},
    {R, DEF, "TO:<\"a@b\"@example.com>", "a@b@example.com",
     "\"a@b\"@example.com"},
    {R, DEF, "TO:<\"a b\"@example.com> NOTIFY=NEVER", "a b@example.com",
     "\"a b\"@example.com"},
    /* Shell metacharacters that are atext are just characters
     * (CVE-2020-7247): kept literally, never interpreted; ';' and '('
     * are not atext and need quotes (see the error cases). */
    {R, DEF, "TO:<a|b$c`d'e&f{g}@example.com>", "a|b$c`d'e&f{g}@example.com",
     "a|b$c`d'e&f{g}@example.com"},
    {R, DEF, "TO:<\"a;b\"@example.com>", "a;b@example.com",
     "\"a;b\"@example.com"},
    /* Address literals. */
    {R, DEF, "TO:<user@[192.0.2.1]>", "user@[192.0.2.1]", "user@[192.0.2.1]"},
    {R, DEF, "TO:<user@[IPv6:2001:db8::1]>", "user@[IPv6:2001:db8::1]",
     "user@[IPv6:2001:db8::1]"},
    {R, DEF, "TO:<user@[ipv6:::ffff:192.0.2.1]>",
     "user@[ipv6:::ffff:192.0.2.1]", "user@[ipv6:::ffff:192.0.2.1]"},
    {R, DEF, "TO:<u@under_score-x.example>", "u@under_score-x.example",
     "u@under_score-x.example"},
    /* SMTPUTF8. */
    {M, DEF,
     "FROM:<j\xc3\xb6rg@b\xc3\xbc"
     "cher.example> SMTPUTF8",
     "j\xc3\xb6rg@b\xc3\xbc"
     "cher.example",
     "j\xc3\xb6rg@b\xc3\xbc"
     "cher.example"},
    {R, DECL, "TO:<\xe7\x94\xa8\xe6\x88\xb7@example.com>",
     "\xe7\x94\xa8\xe6\x88\xb7@example.com",
     "\xe7\x94\xa8\xe6\x88\xb7@example.com"},
    /* Blanks at the end, tabs between parameters. */
    {M, DEF, "FROM:<a@b>  SIZE=1\tBODY=8BITMIME  ", "a@b", "a@b"},
};

/* A case that fails, with the reply it gets. */
static const struct err_case {
	enum smtp_addr_cmd cmd;
	enum opt_set opts;
	const char *arg;
	int code;
	const char *enh;
	const char *text; /* prefix of the reply text */
} err_cases[] = {
    /* The command syntax. */
    {M, DEF, "", 501, "5.5.4", "Syntax: MAIL FROM:<address>"},
    {M, DEF, "FROM", 501, "5.5.4", "Syntax: MAIL FROM:<address>"},
    {M, DEF, "FROM:", 501, "5.5.4", "Syntax: MAIL FROM:<address>"},
    {M, DEF, "TO:<a@b>", 501, "5.5.4", "Syntax: MAIL FROM:<address>"},
    {M, DEF, "FROM <a@b>", 501, "5.5.4", "Syntax: MAIL FROM:<address>"},
    {R, DEF, "FROM:<a@b>", 501, "5.5.4", "Syntax: RCPT TO:<address>"},
    {R, DEF, "TO: ", 501, "5.5.4", "Syntax: RCPT TO:<address>"},
    /* Bad paths. */
    {M, DEF, "FROM:<a@b", 501, "5.1.7", "Bad sender address syntax"},
    {M, DEF, "FROM:<a@b>x", 501, "5.1.7", "Bad sender address syntax"},
    {M, DEF, "FROM:<a@b>>", 501, "5.1.7", "Bad sender address syntax"},
    {M, DEF, "FROM:<<a@b>>", 501, "5.1.7", "Bad sender address syntax"},
    {M, DEF, "FROM:<a@>", 501, "5.1.7", "Bad sender address syntax"},
    {M, DEF, "FROM:<@b>", 501, "5.1.7", "Bad sender address syntax"},
    {M, DEF, "FROM:<a@b@c>", 501, "5.1.7", "Bad sender address syntax"},
    {M, DEF, "FROM:<a b@c>", 501, "5.1.7", "Bad sender address syntax"},
    {M, DEF, "FROM:<a(b)@c>", 501, "5.1.7", "Bad sender address syntax"},
    {M, DEF, "FROM:<a;rm -rf@c>", 501, "5.1.7", "Bad sender address syntax"},
    {M, DEF, "FROM:<a@b..c>", 501, "5.1.7", "Bad sender address syntax"},
    {M, DEF, "FROM:<a@.b>", 501, "5.1.7", "Bad sender address syntax"},
    {M, DEF, "FROM:<a@b.>", 501, "5.1.7", "Bad sender address syntax"},
    {M, DEF, "FROM:<a@b!c>", 501, "5.1.7", "Bad sender address syntax"},
    {M, DEF, "FROM:<\"unterminated@b>", 501, "5.1.7",
     "Bad sender address syntax"},
    {M, DEF, "FROM:<\"\"@b>", 501, "5.1.7", "Bad sender address syntax"},
    {M, DEF, "FROM:<\"a\"b@c>", 501, "5.1.7", "Bad sender address syntax"},
    {R, DEF, "TO:<>", 501, "5.1.3", "Bad recipient address syntax"},
    {R, DEF, "TO:<a@[192.0.2.256]>", 501, "5.1.3",
     "Bad recipient address syntax"},
    {R, DEF, "TO:<a@[IPv6:2001:db8::g]>", 501, "5.1.3",
     "Bad recipient address syntax"},
    {R, DEF, "TO:<a@[tag:x]>", 501, "5.1.3", "Bad recipient address syntax"},
    {R, DEF, "TO:<a@[]>", 501, "5.1.3", "Bad recipient address syntax"},
    {R, DEF, "TO:<a@[192.0.2.1>", 501, "5.1.3", "Bad recipient address syntax"},
    {R, DEF, "TO:<@a:>", 501, "5.1.3", "Bad recipient address syntax"},
    {R, DEF, "TO:<@a,b:c@d>", 501, "5.1.3", "Bad recipient address syntax"},
    {R, DEF, "TO:<@a>", 501, "5.1.3", "Bad recipient address syntax"},
    {R, DEF, "TO:<@,@b:c@d>", 501, "5.1.3", "Bad recipient address syntax"},
    /* Strict mode. */
    {M, STRICT, "FROM: <a@b>", 501, "5.1.7", "Bad sender address syntax"},
    {M, STRICT, "FROM:a@b", 501, "5.1.7", "Bad sender address syntax"},
    {R, STRICT, "TO:<a..b@c>", 501, "5.1.3", "Bad recipient address syntax"},
    {R, STRICT, "TO:<.a@c>", 501, "5.1.3", "Bad recipient address syntax"},
    {R, STRICT, "TO:<user>", 501, "5.1.3", "Bad recipient address syntax"},
    /* Controls never pass, quoted or not. */
    {M, DEF, "FROM:<a\rb@c>", 501, "5.1.7", "Bad sender address syntax"},
    {M, DEF, "FROM:<a\nb@c>", 501, "5.1.7", "Bad sender address syntax"},
    {M, DEF, "FROM:<\"a\rb\"@c>", 501, "5.1.7", "Bad sender address syntax"},
    {M, DEF, "FROM:<\"a\\\rb\"@c>", 501, "5.1.7", "Bad sender address syntax"},
    {M, DEF, "FROM:<\"a\x7f\"@c>", 501, "5.1.7", "Bad sender address syntax"},
    {M, DEF, "FROM:<a\x01@c>", 501, "5.1.7", "Bad sender address syntax"},
    {M, DEF, "FROM:<a@c\r>", 501, "5.1.7", "Bad sender address syntax"},
    {M, DEF, "FROM:<a\t@c>", 501, "5.1.7", "Bad sender address syntax"},
    /* 8-bit needs SMTPUTF8, declared, and well-formed. */
    {M, DEF, "FROM:<j\xc3\xb6rg@example.com>", 553, "5.6.7",
     "Must declare SMTPUTF8"},
    {R, DEF, "TO:<j\xc3\xb6rg@example.com>", 553, "5.6.7",
     "Must declare SMTPUTF8"},
    {M, NOUTF8, "FROM:<j\xc3\xb6rg@example.com> SMTPUTF8", 555, "5.5.4",
     "Unsupported option: SMTPUTF8"},
    {M, DEF, "FROM:<j\xc3rg@example.com> SMTPUTF8", 501, "5.1.7",
     "Bad sender address syntax"},
    {M, DEF, "FROM:<a@\xc0\xaf.example> SMTPUTF8", 501, "5.1.7",
     "Bad sender address syntax"},
    {R, DECL, "TO:<\xed\xa0\x80@example.com>", 501, "5.1.3",
     "Bad recipient address syntax"},
    /* Parameters: unknown, wrong command, not offered, duplicate. */
    {M, DEF, "FROM:<a@b> FOO=bar", 555, "5.5.4", "Unsupported option: FOO"},
    {M, DEF, "FROM:<a@b> NOTIFY=NEVER", 555, "5.5.4",
     "Unsupported option: NOTIFY"},
    {R, DEF, "TO:<a@b> SIZE=10", 555, "5.5.4", "Unsupported option: SIZE"},
    {M, NODSN, "FROM:<a@b> RET=FULL", 555, "5.5.4", "Unsupported option: RET"},
    {M, NODSN, "FROM:<a@b> ENVID=x", 555, "5.5.4", "Unsupported option: ENVID"},
    {M, NODSN, "FROM:<a@b> AUTH=<>", 555, "5.5.4", "Unsupported option: AUTH"},
    {R, NODSN, "TO:<a@b> NOTIFY=NEVER", 555, "5.5.4",
     "Unsupported option: NOTIFY"},
    {R, NODSN, "TO:<a@b> ORCPT=rfc822;a@b", 555, "5.5.4",
     "Unsupported option: ORCPT"},
    {M, DEF, "FROM:<a@b> SIZE=1 size=2", 501, "5.5.4",
     "Duplicate SIZE parameter"},
    {M, DEF, "FROM:<a@b> BODY=7BIT BODY=7BIT", 501, "5.5.4",
     "Duplicate BODY parameter"},
    {R, DEF, "TO:<a@b> NOTIFY=NEVER NOTIFY=NEVER", 501, "5.5.4",
     "Duplicate NOTIFY parameter"},
    {M, DEF, "FROM:<a@b> =x", 501, "5.5.4", "Bad parameter syntax"},
    {M, DEF, "FROM:<a@b> -X", 501, "5.5.4", "Bad parameter syntax"},
    {M, DEF, "FROM:<a@b> SIZE=", 501, "5.5.4", "Bad parameter syntax"},
    {M, DEF, "FROM:<a@b> BODY=8BIT=MIME", 501, "5.5.4", "Bad parameter syntax"},
    {M, DEF, "FROM:<a@b> X\xc3\xa4=1", 501, "5.5.4", "Bad parameter syntax"},
    /* SIZE. */
    {M, DEF, "FROM:<a@b> SIZE", 501, "5.5.4", "Bad message size syntax"},
    {M, DEF, "FROM:<a@b> SIZE=12k", 501, "5.5.4", "Bad message size syntax"},
    {M, DEF, "FROM:<a@b> SIZE=-1", 501, "5.5.4", "Bad message size syntax"},
    {M, DEF, "FROM:<a@b> SIZE=10240001", 552, "5.3.4",
     "Message size exceeds fixed limit"},
    {M, LIMIT, "FROM:<a@b> SIZE=18446744073709551616", 552, "5.3.4",
     "Message size exceeds fixed limit"},
    {M, DEF, "FROM:<a@b> SIZE=99999999999999999999999999", 552, "5.3.4",
     "Message size exceeds fixed limit"},
    /* BODY, SMTPUTF8, RET. */
    {M, DEF, "FROM:<a@b> BODY=8BIT", 501, "5.5.4",
     "Unsupported BODY parameter value"},
    {M, DEF, "FROM:<a@b> BODY", 501, "5.5.4",
     "Unsupported BODY parameter value"},
    {M, DEF, "FROM:<a@b> SMTPUTF8=yes", 501, "5.5.4",
     "Bad SMTPUTF8 parameter syntax"},
    {M, DEF, "FROM:<a@b> RET=ALL", 501, "5.5.4", "Bad RET parameter syntax"},
    {M, DEF, "FROM:<a@b> RET", 501, "5.5.4", "Bad RET parameter syntax"},
    /* ENVID and AUTH: xtext, and nothing that decodes to a control. */
    {M, DEF, "FROM:<a@b> ENVID", 501, "5.5.4", "Bad ENVID parameter syntax"},
    {M, DEF, "FROM:<a@b> ENVID=a+0Db", 501, "5.5.4",
     "Bad ENVID parameter syntax"},
    {M, DEF, "FROM:<a@b> ENVID=a+0Ab", 501, "5.5.4",
     "Bad ENVID parameter syntax"},
    {M, DEF, "FROM:<a@b> ENVID=a+00b", 501, "5.5.4",
     "Bad ENVID parameter syntax"},
    {M, DEF, "FROM:<a@b> ENVID=a+C3+A4", 501, "5.5.4",
     "Bad ENVID parameter syntax"},
    {M, DEF, "FROM:<a@b> ENVID=a+4", 501, "5.5.4",
     "Bad ENVID parameter syntax"},
    {M, DEF, "FROM:<a@b> ENVID=a+xy", 501, "5.5.4",
     "Bad ENVID parameter syntax"},
    {M, DEF,
     "FROM:<a@b> ENVID=12345678901234567890123456789012345678901234567890"
     "123456789012345678901234567890123456789012345678901",
     501, "5.5.4", "Bad ENVID parameter syntax"},
    {M, DEF, "FROM:<a@b> AUTH", 501, "5.5.4", "Bad AUTH parameter syntax"},
    {M, DEF, "FROM:<a@b> AUTH=a+0D+0AX-Injected:+20yes", 501, "5.5.4",
     "Bad AUTH parameter syntax"},
    {M, DEF, "FROM:<a@b> AUTH=a+20b", 501, "5.5.4",
     "Bad AUTH parameter syntax"},
    {M, DEF, "FROM:<a@b> AUTH=a\rb", 501, "5.5.4", "Bad parameter syntax"},
    {M, DEF, "FROM:<a@b> ENVID=a\nb", 501, "5.5.4", "Bad parameter syntax"},
    {M, DEF, "FROM:<a@b> RET=FULL\r", 501, "5.5.4", "Bad parameter syntax"},
    {M, DEF, "FROM:<a@b> SIZE=1\x01", 501, "5.5.4", "Bad parameter syntax"},
    {M, DEF, "FROM:<a@b> SMTPUTF8\r", 501, "5.5.4", "Bad parameter syntax"},
    {M, DEF, "FROM:<a@b> BODY=7BIT\x7f", 501, "5.5.4", "Bad parameter syntax"},
    /* NOTIFY. */
    {R, DEF, "TO:<a@b> NOTIFY", 501, "5.5.4", "Bad NOTIFY parameter syntax"},
    {R, DEF, "TO:<a@b> NOTIFY=NEVER,SUCCESS", 501, "5.5.4",
     "Bad NOTIFY parameter syntax"},
    {R, DEF, "TO:<a@b> NOTIFY=SUCCESS,NEVER", 501, "5.5.4",
     "Bad NOTIFY parameter syntax"},
    {R, DEF, "TO:<a@b> NOTIFY=SUCCESS,", 501, "5.5.4",
     "Bad NOTIFY parameter syntax"},
    {R, DEF, "TO:<a@b> NOTIFY=,DELAY", 501, "5.5.4",
     "Bad NOTIFY parameter syntax"},
    {R, DEF, "TO:<a@b> NOTIFY=SOMETIMES", 501, "5.5.4",
     "Bad NOTIFY parameter syntax"},
    {R, DEF, "TO:<a@b> NOTIFY=NEVERX", 501, "5.5.4",
     "Bad NOTIFY parameter syntax"},
    {R, DEF, "TO:<a@b> NOTIFY=\rSUCCESS", 501, "5.5.4", "Bad parameter syntax"},
    /* ORCPT. */
    {R, DEF, "TO:<a@b> ORCPT", 501, "5.5.4", "Bad ORCPT parameter syntax"},
    {R, DEF, "TO:<a@b> ORCPT=a@b", 501, "5.5.4", "Bad ORCPT parameter syntax"},
    {R, DEF, "TO:<a@b> ORCPT=;a@b", 501, "5.5.4", "Bad ORCPT parameter syntax"},
    {R, DEF, "TO:<a@b> ORCPT=rfc822;", 501, "5.5.4",
     "Bad ORCPT parameter syntax"},
    {R, DEF, "TO:<a@b> ORCPT=rfc_822;a@b", 501, "5.5.4",
     "Bad ORCPT parameter syntax"},
    {R, DEF, "TO:<a@b> ORCPT=rfc822;a+0Ab", 501, "5.5.4",
     "Bad ORCPT parameter syntax"},
    {R, DEF, "TO:<a@b> ORCPT=rfc822;a+0D+0A.+0D+0A", 501, "5.5.4",
     "Bad ORCPT parameter syntax"},
    {R, DEF, "TO:<a@b> ORCPT=rfc822;a+00", 501, "5.5.4",
     "Bad ORCPT parameter syntax"},
    {R, DEF, "TO:<a@b> ORCPT=rfc822;a\rb", 501, "5.5.4",
     "Bad parameter syntax"},
};

static void test_valid(void **state)
{
	struct smtp_addr_args args;
	struct smtp_addr_err err;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ok_cases) / sizeof(ok_cases[0]); i++) {
		const struct ok_case *c = &ok_cases[i];
		struct smtp_addr_opts o = opts_of(c->opts);

		if (smtp_addr_parse(c->cmd, c->arg, &o, &args, &err) != 0)
			fail_msg("case %zu \"%s\": %d %s %s", i, c->arg,
				 err.code, err.enh, err.text);
		assert_string_equal(args.addr, c->addr);
		assert_string_equal(args.ext, c->ext);
		smtp_addr_args_free(&args);
		assert_null(args.addr);
	}
}

static void test_errors(void **state)
{
	struct smtp_addr_args args;
	struct smtp_addr_err err;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(err_cases) / sizeof(err_cases[0]); i++) {
		const struct err_case *c = &err_cases[i];
		struct smtp_addr_opts o = opts_of(c->opts);

		if (smtp_addr_parse(c->cmd, c->arg, &o, &args, &err) == 0)
			fail_msg("case %zu \"%s\" parsed as \"%s\"", i, c->arg,
				 args.addr);
		if (err.code != c->code || strcmp(err.enh, c->enh) != 0 ||
		    strncmp(err.text, c->text, strlen(c->text)) != 0)
			fail_msg("case %zu \"%s\": got %d %s %s, want %d %s %s",
				 i, c->arg, err.code, err.enh, err.text,
				 c->code, c->enh, c->text);
		/* Nothing is left half-filled. */
		assert_null(args.addr);
		assert_null(args.envid);
		assert_null(args.orcpt_type);
	}
}

/* A quoted local part with a blank, no brackets (lenient mode only). */
static void test_unbracketed_quoted(void **state)
{
	struct smtp_addr_opts o = opts_of(DEF);
	struct smtp_addr_args args;
	struct smtp_addr_err err;

	(void)state;
	assert_int_equal(
	    smtp_addr_parse(R, "TO:\"a b\"@c NOTIFY=DELAY", &o, &args, &err),
	    0);
	assert_string_equal(args.addr, "a b@c");
	assert_int_equal(args.notify, SMTP_NOTIFY_DELAY);
	smtp_addr_args_free(&args);
}

static void test_mail_params(void **state)
{
	struct smtp_addr_opts o = opts_of(DEF);
	struct smtp_addr_args args;
	struct smtp_addr_err err;

	(void)state;
	assert_int_equal(
	    smtp_addr_parse(M,
			    "FROM:<a@b> size=10240000 body=8bitmime "
			    "SMTPUTF8 ret=hdrs ENVID=QQ+2B+3Dx "
			    "AUTH=user+2Bx@example.com",
			    &o, &args, &err),
	    0);
	assert_int_equal(args.has_size, 1);
	assert_true(args.size == 10240000);
	assert_int_equal(args.body, SMTP_BODY_8BITMIME);
	assert_int_equal(args.smtputf8, 1);
	assert_int_equal(args.ret, SMTP_RET_HDRS);
	assert_string_equal(args.envid, "QQ+=x");
	assert_string_equal(args.auth, "user+x@example.com");
	smtp_addr_args_free(&args);

	assert_int_equal(smtp_addr_parse(M,
					 "FROM:<> BODY=BINARYMIME AUTH=<> "
					 "RET=FULL ENVID=a+20b",
					 &o, &args, &err),
			 0);
	assert_string_equal(args.addr, "");
	assert_int_equal(args.has_size, 0);
	assert_int_equal(args.body, SMTP_BODY_BINARYMIME);
	assert_string_equal(args.auth, "<>");
	assert_int_equal(args.ret, SMTP_RET_FULL);
	assert_string_equal(args.envid, "a b");
	smtp_addr_args_free(&args);

	/* SIZE without a limit: any 64-bit value. */
	o = opts_of(LIMIT);
	assert_int_equal(smtp_addr_parse(M,
					 "FROM:<a@b> SIZE=18446744073709551615",
					 &o, &args, &err),
			 0);
	assert_true(args.size == UINT64_MAX);
	smtp_addr_args_free(&args);
	assert_int_equal(
	    smtp_addr_parse(M, "FROM:<a@b> SIZE=0", &o, &args, &err), 0);
	assert_int_equal(args.has_size, 1);
	assert_true(args.size == 0);
	smtp_addr_args_free(&args);
}

static void test_rcpt_params(void **state)
{
	struct smtp_addr_opts o = opts_of(DEF);
	struct smtp_addr_args args;
	struct smtp_addr_err err;

	(void)state;
	assert_int_equal(smtp_addr_parse(R,
					 "TO:<a@b> NOTIFY=success,Delay,"
					 "FAILURE ORCPT=rfc822;x+2By@"
					 "example.com",
					 &o, &args, &err),
			 0);
	assert_int_equal(args.notify, SMTP_NOTIFY_SUCCESS | SMTP_NOTIFY_DELAY |
					  SMTP_NOTIFY_FAILURE);
	assert_string_equal(args.orcpt_type, "rfc822");
	assert_string_equal(args.orcpt_addr, "x+y@example.com");
	smtp_addr_args_free(&args);
	assert_int_equal(
	    smtp_addr_parse(R, "TO:<a@b> NOTIFY=never", &o, &args, &err), 0);
	assert_int_equal(args.notify, SMTP_NOTIFY_NEVER);
	assert_null(args.orcpt_type);
	smtp_addr_args_free(&args);
}

static void test_path_length(void **state)
{
	struct smtp_addr_opts o = opts_of(DEF);
	struct smtp_addr_args args;
	struct smtp_addr_err err;
	char arg[2 * SMTP_ADDR_PATH_MAX];
	char local[SMTP_ADDR_PATH_MAX];
	size_t llen;

	(void)state;
	/* Exactly SMTP_ADDR_PATH_MAX bytes between the brackets is fine. */
	llen = SMTP_ADDR_PATH_MAX - strlen("@example.com");
	memset(local, 'x', llen);
	local[llen] = 0;
	snprintf(arg, sizeof(arg), "TO:<%s@example.com>", local);
	assert_int_equal(smtp_addr_parse(R, arg, &o, &args, &err), 0);
	assert_int_equal(strlen(args.addr), SMTP_ADDR_PATH_MAX);
	smtp_addr_args_free(&args);
	/* One more is not. */
	snprintf(arg, sizeof(arg), "TO:<x%s@example.com>", local);
	assert_int_equal(smtp_addr_parse(R, arg, &o, &args, &err), -1);
	assert_int_equal(err.code, 501);
	assert_string_equal(err.enh, "5.1.3");
	/* A 64-byte label is too long for DNS; 63 is fine. */
	memset(local, 'd', 64);
	local[64] = 0;
	snprintf(arg, sizeof(arg), "TO:<a@%s.example>", local);
	assert_int_equal(smtp_addr_parse(R, arg, &o, &args, &err), -1);
	local[63] = 0;
	snprintf(arg, sizeof(arg), "TO:<a@%s.example>", local);
	assert_int_equal(smtp_addr_parse(R, arg, &o, &args, &err), 0);
	smtp_addr_args_free(&args);
}

static void test_xtext(void **state)
{
	struct strbuf *out = strbuf_new(64), *enc = strbuf_new(256);
	unsigned char all[256];
	size_t i;

	(void)state;
	assert_int_equal(smtp_addr_xtext_decode("a+2Bb+3dc", out), 0);
	assert_string_equal(strbuf_str(out), "a+b=c");
	assert_int_equal(smtp_addr_xtext_decode("", out), 0);
	assert_int_equal(strbuf_len(out), 0);
	assert_int_equal(smtp_addr_xtext_decode("+00", out), 0);
	assert_int_equal(strbuf_len(out), 1);
	assert_int_equal(smtp_addr_xtext_decode("a=b", out), -1);
	assert_int_equal(smtp_addr_xtext_decode("a b", out), -1);
	assert_int_equal(smtp_addr_xtext_decode("a+", out), -1);
	assert_int_equal(smtp_addr_xtext_decode("a+4", out), -1);
	assert_int_equal(smtp_addr_xtext_decode("a+G0", out), -1);
	assert_int_equal(smtp_addr_xtext_decode("\xc3\xa4", out), -1);
	/* The output's maximum is a hard limit. */
	strbuf_free(&out);
	out = strbuf_new(3);
	assert_int_equal(smtp_addr_xtext_decode("abc", out), 0);
	assert_int_equal(smtp_addr_xtext_decode("abcd", out), -1);
	strbuf_free(&out);
	/* Every byte value survives a round trip. */
	out = strbuf_new(256);
	for (i = 0; i < 256; i++)
		all[i] = (unsigned char)i;
	strbuf_free(&enc);
	enc = strbuf_new(1024);
	assert_int_equal(smtp_addr_xtext_encode(all, 256, enc), 0);
	assert_null(strchr(strbuf_str(enc), '='));
	assert_int_equal(smtp_addr_xtext_decode(strbuf_str(enc), out), 0);
	assert_int_equal(strbuf_len(out), 256);
	assert_memory_equal(strbuf_str(out), all, 256);
	strbuf_free(&out);
	strbuf_free(&enc);
}

static void test_externalize(void **state)
{
	static const char *const cases[][2] = {
	    {"user@example.com", "user@example.com"},
	    {"john doe@example.com", "\"john doe\"@example.com"},
	    {"a\"b@c", "\"a\\\"b\"@c"},
	    {"a@b@c", "\"a@b\"@c"},
	    {"postmaster", "postmaster"},
	    {"", ""},
	    {"@c", "\"\"@c"},
	    {"a.@c", "\"a.\"@c"},
	};
	struct strbuf *out = strbuf_new(256);
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		strbuf_reset(out);
		assert_int_equal(smtp_addr_externalize(cases[i][0], out), 0);
		assert_string_equal(strbuf_str(out), cases[i][1]);
	}
	strbuf_free(&out);
}

static void test_utf8(void **state)
{
	(void)state;
	assert_true(smtp_addr_utf8_valid("abc", 3));
	assert_true(
	    smtp_addr_utf8_valid("\xc3\xa4\xe2\x82\xac\xf0\x9f\x98\x80", 9));
	assert_false(smtp_addr_utf8_valid("\xc3", 1));	       /* short */
	assert_false(smtp_addr_utf8_valid("\xc0\x80", 2));     /* overlong */
	assert_false(smtp_addr_utf8_valid("\xe0\x80\xaf", 3)); /* overlong */
	assert_false(smtp_addr_utf8_valid("\xed\xa0\x80", 3)); /* surrogate */
	assert_false(smtp_addr_utf8_valid("\xf4\x90\x80\x80", 4)); /* >max */
	assert_false(smtp_addr_utf8_valid("\x80", 1));
	assert_false(smtp_addr_utf8_valid("\xff", 1));
	assert_false(smtp_addr_utf8_valid("\xe2\x28\xa1", 3));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_valid),
	    cmocka_unit_test(test_errors),
	    cmocka_unit_test(test_unbracketed_quoted),
	    cmocka_unit_test(test_mail_params),
	    cmocka_unit_test(test_rcpt_params),
	    cmocka_unit_test(test_path_length),
	    cmocka_unit_test(test_xtext),
	    cmocka_unit_test(test_externalize),
	    cmocka_unit_test(test_utf8),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
