/*
 * smtp_reply - SMTP reply formatting; see smtp_reply.h.
 *
 * The text is copied and sanitised before it is split, so the split
 * never has to think about control bytes, and nothing the caller passed
 * reaches out unsanitised. A line's text room is SMTP_REPLY_LINE_MAX less
 * the code, separator, enhanced status and CR LF; the room is never
 * below 400 bytes, because enh is at most "5.999.999".
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "mymalloc.h"
#include "smtp_addr.h"
#include "smtp_reply.h"
#include "strbuf.h"

/* Longest text we are willing to format (a reply is not a message). */
#define SMTP_REPLY_TEXT_MAX 65536

void smtp_reply_sanitize(char *text, size_t len, int flags)
{
	int keep8 = (flags & SMTP_REPLY_UTF8) && smtp_addr_utf8_valid(text, len);
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)text[i];

		if (ch < 32 || ch == 127 || (ch >= 128 && !keep8))
			text[i] = '?';
	}
}

/* 1..3 digits followed by stop; *cpp moves past the digits. */
static int enh_number(const char **cpp, char stop)
{
	const char *cp = *cpp;
	int n = 0;

	while (*cp >= '0' && *cp <= '9' && n < 4)
		cp++, n++;
	if (n == 0 || n > 3 || *cp != stop)
		return 0;
	*cpp = cp;
	return 1;
}

int smtp_reply_enh_valid(int code, const char *enh)
{
	const char *cp;

	if (enh == NULL)
		return 1;
	if (enh[0] != '0' + code / 100 || enh[1] != '.' ||
	    (enh[0] != '2' && enh[0] != '4' && enh[0] != '5'))
		return 0;
	cp = enh + 2;
	if (!enh_number(&cp, '.'))
		return 0;
	cp++;
	return enh_number(&cp, 0);
}

/* Append the physical lines of one text; last says whether the reply's
 * final line is among them. */
static int reply_text(struct strbuf *out, int code, const char *enh,
		      const char *text, size_t len, int last, int flags)
{
	size_t room = SMTP_REPLY_LINE_MAX - 2 - 4 - (enh ? strlen(enh) + 1 : 0);
	size_t n, cut, skip;

	do {
		n = len;
		skip = 0;
		if (n > room) {
			/* UNSAFE: every index below is < room < len. */
			for (cut = room; cut > 0 && text[cut] != ' '; cut--)
				;
			if (cut > 0) {
				n = cut;
				skip = 1;
			} else {
				n = room;
				/* Do not cut a UTF-8 sequence in two. */
				while ((flags & SMTP_REPLY_UTF8) && n > 1 &&
				       ((unsigned char)text[n] & 0xc0) == 0x80)
					n--;
			}
		}
		if (strbuf_printf(out, "%03d%c", code,
				  last && n + skip == len ? ' ' : '-') < 0 ||
		    (enh && strbuf_puts(out, enh) < 0) ||
		    (enh && n > 0 && strbuf_putc(out, ' ') < 0) ||
		    strbuf_append(out, text, n) < 0 ||
		    strbuf_puts(out, "\r\n") < 0)
			return -1;
		text += n + skip;
		len -= n + skip;
	} while (len > 0);
	return 0;
}

int smtp_reply_lines(struct strbuf *out, int code, const char *enh,
		     const char *const *texts, size_t count, int flags)
{
	size_t i, len;
	char *copy;
	int rc = 0;

	if (code < 200 || code > 599 || count == 0 ||
	    !smtp_reply_enh_valid(code, enh))
		return -1;
	for (i = 0; i < count && rc == 0; i++) {
		len = strnlen(texts[i], SMTP_REPLY_TEXT_MAX);
		copy = mystrndup(texts[i], len);
		smtp_reply_sanitize(copy, len, flags);
		rc = reply_text(out, code, enh, copy, len, i + 1 == count,
				flags);
		myfree(copy);
	}
	return rc;
}

int smtp_reply_format(struct strbuf *out, int code, const char *enh,
		      const char *text, int flags)
{
	return smtp_reply_lines(out, code, enh, &text, 1, flags);
}

int smtp_reply_printf(struct strbuf *out, int code, const char *enh, int flags,
		      const char *fmt, ...)
{
	struct strbuf *text = strbuf_new(SMTP_REPLY_TEXT_MAX);
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = strbuf_vprintf(text, fmt, ap);
	va_end(ap);
	if (rc == 0)
		rc = smtp_reply_format(out, code, enh, strbuf_str(text), flags);
	strbuf_free(&text);
	return rc;
}
