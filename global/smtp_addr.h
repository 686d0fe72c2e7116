/*
 * smtp_addr - the arguments of MAIL FROM and RCPT TO: the path (RFC 5321)
 * and the ESMTP parameters (SIZE, BODY, SMTPUTF8, RET, ENVID, AUTH,
 * NOTIFY, ORCPT), with xtext decoding.
 *
 * This is the boundary where envelope data enters postern, so the rules
 * are those of ARCHITECTURE.md section 9 (the Exim 21Nails lesson):
 *   - no CR, LF, NUL or other control character passes into an address
 *     or a decoded parameter, quoted or xtext-encoded or not;
 *   - 8-bit bytes pass only as well-formed UTF-8, only in the address
 *     and AUTH/ORCPT, and only when SMTPUTF8 was enabled and declared;
 *   - every field has a documented length limit (doc/smtp-input.md);
 *   - a failure is one reply (code, enhanced status, text), never a
 *     half-filled result: on error the result holds nothing.
 * Leniency follows Postfix unless strict_rfc821_envelopes is set: a blank
 * after the colon, a path without angle brackets, and a local part with
 * odd dots are accepted; a source route (@a,@b:user@dom) is accepted and
 * stripped; an address without a domain is accepted (it is qualified
 * later, as Postfix does with $myorigin).
 */
#ifndef POSTERN_SMTP_ADDR_H
#define POSTERN_SMTP_ADDR_H

#include <stddef.h>
#include <stdint.h>

struct strbuf;

/* The raw path between the angle brackets, source route included. */
#define SMTP_ADDR_PATH_MAX 512
/* RFC 1035 domain length and label length. */
#define SMTP_ADDR_DOMAIN_MAX 255
#define SMTP_ADDR_LABEL_MAX 63
/* Decoded DSN and AUTH values (RFC 3461 caps ENVID at 100, ORCPT at 500). */
#define SMTP_ADDR_ENVID_MAX 100
#define SMTP_ADDR_ORCPT_MAX 500
#define SMTP_ADDR_AUTH_MAX 512

enum smtp_addr_cmd { SMTP_ADDR_MAIL, SMTP_ADDR_RCPT };

struct smtp_addr_opts {
	int strict_rfc821;     /* strict_rfc821_envelopes */
	int smtputf8_enable;   /* smtputf8_enable */
	int smtputf8_declared; /* RCPT only: the MAIL FROM had SMTPUTF8 */
	int dsn_enable;	       /* DSN offered: RET ENVID NOTIFY ORCPT */
	int auth_enable;       /* SASL offered: AUTH= on MAIL */
	uint64_t size_limit;   /* message_size_limit; 0 = none */
};

enum smtp_body { SMTP_BODY_NONE, SMTP_BODY_7BIT, SMTP_BODY_8BITMIME,
		 SMTP_BODY_BINARYMIME };
enum smtp_ret { SMTP_RET_NONE, SMTP_RET_FULL, SMTP_RET_HDRS };

#define SMTP_NOTIFY_NEVER (1 << 0)
#define SMTP_NOTIFY_SUCCESS (1 << 1)
#define SMTP_NOTIFY_FAILURE (1 << 2)
#define SMTP_NOTIFY_DELAY (1 << 3)

/* The parsed argument. Strings are the caller's (smtp_addr_args_free);
 * optional ones are NULL when the parameter was absent. */
struct smtp_addr_args {
	char *addr; /* internal form: unquoted; "" for the null sender <> */
	char *ext;  /* external form: local part quoted as needed; "" for <> */
	/* MAIL FROM */
	int has_size;
	uint64_t size;
	enum smtp_body body;
	int smtputf8;
	enum smtp_ret ret;
	char *envid; /* xtext-decoded */
	char *auth;  /* xtext-decoded, or "<>" */
	/* RCPT TO */
	int notify;	  /* SMTP_NOTIFY_* bits; 0 if absent */
	char *orcpt_type; /* "rfc822", as sent */
	char *orcpt_addr; /* xtext-decoded */
};

/* The reply for a failure: "<code> <enh> <text>". text may quote a
 * parameter keyword from the client; format it with smtp_reply, which
 * sanitises it. */
struct smtp_addr_err {
	int code;
	const char *enh;
	char text[160];
};

/* Parse the argument of MAIL ("FROM:<path> params") or RCPT ("TO:<path>
 * params"), as smtp_cmd_parse left it. 0 with *args filled, or -1 with
 * *err set and *args empty. */
int smtp_addr_parse(enum smtp_addr_cmd cmd, const char *arg,
		    const struct smtp_addr_opts *opts,
		    struct smtp_addr_args *args, struct smtp_addr_err *err);
/* Free the strings of args and zero it. */
void smtp_addr_args_free(struct smtp_addr_args *args);

/* Decode xtext (RFC 3461: "+HH" for a byte, other chars 33..126 but '+'
 * and '=' as themselves; lower-case hex is accepted) into out (reset
 * first; its max applies). 0, or -1 on bad syntax or overflow. */
int smtp_addr_xtext_decode(const char *in, struct strbuf *out);
/* Encode len bytes as xtext, appended to out. 0, or -1 past out's max. */
int smtp_addr_xtext_encode(const void *in, size_t len, struct strbuf *out);
/* The external form of an internal address (quote the local part when it
 * is not a dot-atom), appended to out. 0, or -1 past out's max. */
int smtp_addr_externalize(const char *internal, struct strbuf *out);
/* 1 if len bytes are well-formed UTF-8 (no overlongs, surrogates or
 * code points past U+10FFFF). */
int smtp_addr_utf8_valid(const char *str, size_t len);

#endif
