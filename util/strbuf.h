/*
 * strbuf - the one growable, length-carrying byte buffer.
 *
 * A strbuf holds len bytes (which may include NULs) followed by a NUL that
 * is not counted, so strbuf_str() is always a valid C string. Every buffer
 * has a hard maximum set at creation (for example line_length_limit for an
 * SMTP line): an append that would pass it fails with -1 and changes
 * nothing, so input from the network can never grow memory without bound.
 * Size arithmetic is overflow-checked.
 */
#ifndef POSTERN_STRBUF_H
#define POSTERN_STRBUF_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

struct strbuf {
	char *data;		/* len bytes + NUL */
	size_t len;		/* bytes in use, NUL not counted */
	size_t cap;		/* bytes allocated, NUL included */
	size_t max;		/* hard limit on len */
};

/* For buffers whose content is ours (not from outside): no practical limit. */
#define STRBUF_NO_MAX (SIZE_MAX / 4)

/* New empty buffer that may hold up to max bytes. */
struct strbuf *strbuf_new(size_t max);
/* Free *sbp and set it to NULL. */
void strbuf_free(struct strbuf **sbp);

/* Append len bytes; 0, or -1 (buffer unchanged) if that would pass max. */
int strbuf_append(struct strbuf *sb, const void *data, size_t len);
int strbuf_puts(struct strbuf *sb, const char *str);
int strbuf_putc(struct strbuf *sb, int ch);
/* Append printf-formatted text; -1 (unchanged) past max. */
int strbuf_printf(struct strbuf *sb, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int strbuf_vprintf(struct strbuf *sb, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
/* Replace the content with str; -1 (unchanged) past max. */
int strbuf_set(struct strbuf *sb, const char *str);

/* Empty the buffer (keeps the allocation). */
void strbuf_reset(struct strbuf *sb);
/* Cut to len bytes (len <= current length). */
void strbuf_truncate(struct strbuf *sb, size_t len);

static inline const char *strbuf_str(const struct strbuf *sb) { return sb->data; }
static inline size_t strbuf_len(const struct strbuf *sb) { return sb->len; }

/* Replace why's text with a formatted reason (why may be NULL) and return
 * -1, leaving errno as it was: the one way library code explains a failure. */
int strbuf_why(struct strbuf *why, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Take the content as a malloc'd C string; the buffer becomes empty. */
char *strbuf_export(struct strbuf *sb);

#endif
