/*
 * smtp_reply - formatting SMTP replies: "<code> <enh> <text>" lines,
 * multi-line replies ("250-..." then "250 ..."), sanitised text and the
 * RFC 5321 line limit.
 *
 * Invariants of every reply this module writes:
 *   - each line is at most SMTP_REPLY_LINE_MAX bytes, CR LF included;
 *     longer text is split across lines (at a space when there is one);
 *   - the text has no CR, LF, NUL or other control character, whatever
 *     the caller passed: each such byte becomes '?', so client data
 *     quoted in a reply can never forge a reply line of its own;
 *   - 8-bit bytes also become '?' unless SMTP_REPLY_UTF8 is given and
 *     the text is well-formed UTF-8 (SMTPUTF8 sessions);
 *   - every line but the last has '-' after the code, the last a space.
 */
#ifndef POSTERN_SMTP_REPLY_H
#define POSTERN_SMTP_REPLY_H

#include <stddef.h>

struct strbuf;

/* RFC 5321 4.5.3.1.5: reply line length, CR LF included. */
#define SMTP_REPLY_LINE_MAX 512

#define SMTP_REPLY_UTF8 (1 << 0) /* keep well-formed UTF-8 text */

/* Append the reply (code 200..599, enhanced status enh or NULL, text)
 * to out as one or more CR LF-terminated lines. 0, or -1 if the code or
 * enhanced status is malformed (or mismatched) or out is full. */
int smtp_reply_format(struct strbuf *out, int code, const char *enh,
		      const char *text, int flags);
/* The same for a multi-line reply of count texts (EHLO: one keyword
 * each); count must be at least 1. */
int smtp_reply_lines(struct strbuf *out, int code, const char *enh,
		     const char *const *texts, size_t count, int flags);
/* smtp_reply_format with printf-formatted text; the whole text is
 * sanitised, so %s may be client data. */
int smtp_reply_printf(struct strbuf *out, int code, const char *enh, int flags,
		      const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

/* Replace control bytes (and 8-bit ones, see above) in text[0..len). */
void smtp_reply_sanitize(char *text, size_t len, int flags);
/* 1 if enh is a well-formed enhanced status code ("5.1.1") whose class
 * matches code's first digit; enh NULL is valid. */
int smtp_reply_enh_valid(int code, const char *enh);

#endif
