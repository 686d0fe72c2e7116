/*
 * fuzz_smtp_addr - fuzz the MAIL FROM / RCPT TO argument parser
 * (global/smtp_addr.c) and xtext.
 *
 * The first input byte picks MAIL or RCPT and the options (strict,
 * SMTPUTF8 enabled/declared, DSN, AUTH, a size limit); the rest, up to a
 * NUL, is the argument. When the parse succeeds the harness checks:
 *   - no CR, LF, NUL or other control byte in the address (internal and
 *     external form) or in any decoded parameter (the 21Nails rule);
 *   - 8-bit bytes only when SMTPUTF8 was enabled and declared, and then
 *     well-formed UTF-8;
 *   - the external form parses back to the same internal form;
 *   - xtext encode/decode of the decoded values round-trips.
 * Inputs are capped at 4 KiB (an SMTP command line is at most 2 KiB).
 *
 * Build and run with libFuzzer (from the top of the tree): make fuzz, or
 *   tests/fuzz/fuzz_smtp_addr -max_total_time=60
 * tests/fuzz/corpus/fuzz_smtp_addr Built with -DFUZZ_STANDALONE instead of
 * -fsanitize=fuzzer, it runs the files named on its command line once each.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smtp_addr.h"
#include "strbuf.h"

#define FUZZ_MAX_INPUT 4096

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Abort on a control byte, or on 8-bit when not allowed. */
static void check_field(const char *s, int allow8)
{
	const unsigned char *cp;

	if (s == NULL)
		return;
	for (cp = (const unsigned char *)s; *cp; cp++)
		if (*cp < 32 || *cp == 127 || (*cp >= 128 && !allow8))
			abort();
	if (!smtp_addr_utf8_valid(s, strlen(s)))
		abort();
}

static void check_xtext(const char *s)
{
	struct strbuf *enc = strbuf_new(STRBUF_NO_MAX);
	struct strbuf *dec = strbuf_new(STRBUF_NO_MAX);

	if (s == NULL)
		goto out;
	if (smtp_addr_xtext_encode(s, strlen(s), enc) < 0 ||
	    smtp_addr_xtext_decode(strbuf_str(enc), dec) < 0 ||
	    strcmp(strbuf_str(dec), s) != 0)
		abort();
out:
	strbuf_free(&enc);
	strbuf_free(&dec);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct smtp_addr_opts o = {0}, o2 = {0};
	enum smtp_addr_cmd cmd;
	struct smtp_addr_args args, again;
	struct smtp_addr_err err;
	char arg[FUZZ_MAX_INPUT];
	char *back;
	size_t len;
	int allow8;

	if (size < 1 || size > FUZZ_MAX_INPUT)
		return 0;
	cmd = (data[0] & 1) ? SMTP_ADDR_RCPT : SMTP_ADDR_MAIL;
	o.strict_rfc821 = (data[0] >> 1) & 1;
	o.smtputf8_enable = (data[0] >> 2) & 1;
	o.smtputf8_declared = (data[0] >> 3) & 1;
	o.dsn_enable = (data[0] >> 4) & 1;
	o.auth_enable = (data[0] >> 5) & 1;
	o.size_limit = (data[0] & 64) ? 10240000 : 0;
	len = size - 1;
	memcpy(arg, data + 1, len);
	arg[len] = 0; /* the command reader never passes a NUL */

	if (smtp_addr_parse(cmd, arg, &o, &args, &err) < 0) {
		if (err.code < 500 || err.code > 555 || err.enh == NULL ||
		    memchr(err.text, 0, sizeof(err.text)) == NULL)
			abort();
		return 0;
	}
	allow8 = o.smtputf8_enable &&
		 (cmd == SMTP_ADDR_MAIL ? args.smtputf8 : o.smtputf8_declared);
	check_field(args.addr, allow8);
	check_field(args.ext, allow8);
	check_field(args.envid, 0);
	check_field(args.auth, 0);
	check_field(args.orcpt_type, 0);
	check_field(args.orcpt_addr, 0);
	check_xtext(args.envid);
	check_xtext(args.auth);
	check_xtext(args.orcpt_addr);
	if (cmd == SMTP_ADDR_RCPT && *args.addr == 0)
		abort();

	/* The external form means the same address. */
	len = strlen(args.ext) + 32;
	back = malloc(len);
	snprintf(back, len, "FROM:<%s>%s", args.ext, allow8 ? " SMTPUTF8" : "");
	o2.smtputf8_enable = 1;
	if (strlen(args.ext) <= SMTP_ADDR_PATH_MAX) {
		if (smtp_addr_parse(SMTP_ADDR_MAIL, back, &o2, &again, &err) <
			0 ||
		    strcmp(again.addr, args.addr) != 0 ||
		    strcmp(again.ext, args.ext) != 0)
			abort();
		smtp_addr_args_free(&again);
	}
	free(back);
	smtp_addr_args_free(&args);
	return 0;
}

#include "standalone.h"
