/*
 * cleanup_checks - the actions of header_checks, mime_header_checks,
 * nested_header_checks and body_checks.
 *
 * A check table maps a header line or body line to an action string
 * ("REJECT text", "HOLD", "PREPEND X-Spam: yes", ...). This module only
 * parses such a string into what cleanup must do; cleanup_message.c
 * applies it. An unknown or malformed action is reported as
 * CHECK_ACT_BAD with a reason: cleanup logs it and goes on, as Postfix
 * does (a typo in a table must not stop mail).
 */
#ifndef POSTERN_CLEANUP_CHECKS_H
#define POSTERN_CLEANUP_CHECKS_H

#include <stddef.h>

struct strbuf;

enum check_act {
	CHECK_ACT_DUNNO,    /* DUNNO, OK: nothing */
	CHECK_ACT_REJECT,   /* refuse the message (text: reply) */
	CHECK_ACT_DEFER,    /* refuse it for now (text: reply) */
	CHECK_ACT_DISCARD,  /* accept it, throw it away */
	CHECK_ACT_HOLD,	    /* queue it in hold/ */
	CHECK_ACT_WARN,	    /* log only */
	CHECK_ACT_IGNORE,   /* drop this header line */
	CHECK_ACT_REPLACE,  /* replace this header line with text */
	CHECK_ACT_PREPEND,  /* insert text before this line */
	CHECK_ACT_REDIRECT, /* deliver to text instead of the recipients */
	CHECK_ACT_FILTER,   /* content filter text (transport:nexthop) */
	CHECK_ACT_BAD,	    /* not a valid action (why says why) */
};

struct check_action {
	enum check_act act;
	const char *keyword; /* as written, upper-cased, for logs */
	const char *text;    /* what follows the keyword (borrowed), "" if none */
};

/* Parse value (borrowed: text points into it). header is 1 for header
 * tables (REPLACE and IGNORE are header-only). Always fills *out;
 * CHECK_ACT_BAD comes with a reason in why. */
void check_action_parse(const char *value, int header, struct check_action *out,
			struct strbuf *why);

/* The reply text of REJECT/DEFER: text with an enhanced status code in
 * front ("5.7.1 ..." / "4.7.1 ..."), unless text already starts with one
 * of the right class; deftext when text is empty. */
void check_reply_text(const struct check_action *act, struct strbuf *out);

#endif
