/*
 * strbuf - the one growable, length-carrying byte buffer; see strbuf.h.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "msg.h"
#include "mymalloc.h"
#include "strbuf.h"

#define STRBUF_MIN_CAP 64

struct strbuf *strbuf_new(size_t max)
{
	struct strbuf *sb = mymalloc(sizeof(*sb));

	if (max > STRBUF_NO_MAX)
		msg_panic("strbuf_new: limit %zu too large", max);
	sb->cap = STRBUF_MIN_CAP;
	sb->data = mymalloc(sb->cap);
	sb->data[0] = 0;
	sb->len = 0;
	sb->max = max;
	return sb;
}

void strbuf_free(struct strbuf **sbp)
{
	if (*sbp == NULL)
		return;
	myfree((*sbp)->data);
	myfree(*sbp);
}

/* Make room for need more bytes plus the NUL; -1 if len + need > max. */
static int strbuf_reserve(struct strbuf *sb, size_t need)
{
	size_t want;

	if (need > sb->max - sb->len)
		return -1;
	want = sb->len + need + 1;	/* cannot overflow: max <= SIZE_MAX / 4 */
	if (want <= sb->cap)
		return 0;
	while (sb->cap < want)
		sb->cap *= 2;
	sb->data = myrealloc(sb->data, sb->cap);
	return 0;
}

int strbuf_append(struct strbuf *sb, const void *data, size_t len)
{
	if (strbuf_reserve(sb, len) < 0)
		return -1;
	memcpy(sb->data + sb->len, data, len);
	sb->len += len;
	sb->data[sb->len] = 0;
	return 0;
}

int strbuf_puts(struct strbuf *sb, const char *str)
{
	return strbuf_append(sb, str, strlen(str));
}

int strbuf_putc(struct strbuf *sb, int ch)
{
	char c = (char) ch;

	/* Fast path for byte-at-a-time readers: room for the byte and NUL. */
	if (sb->len + 1 < sb->cap && sb->len < sb->max) {
		/* UNSAFE: len + 1 < cap, so both writes are inside data. */
		sb->data[sb->len++] = c;
		sb->data[sb->len] = 0;
		return 0;
	}
	return strbuf_append(sb, &c, 1);
}

int strbuf_vprintf(struct strbuf *sb, const char *fmt, va_list ap)
{
	va_list ap2;
	int n;

	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		return -1;
	if (strbuf_reserve(sb, (size_t) n) < 0)
		return -1;
	/* UNSAFE: strbuf_reserve made room for n bytes plus the NUL. */
	vsnprintf(sb->data + sb->len, (size_t) n + 1, fmt, ap);
	sb->len += (size_t) n;
	return 0;
}

int strbuf_printf(struct strbuf *sb, const char *fmt, ...)
{
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = strbuf_vprintf(sb, fmt, ap);
	va_end(ap);
	return ret;
}

int strbuf_set(struct strbuf *sb, const char *str)
{
	size_t len = strlen(str);

	if (len > sb->max)
		return -1;
	strbuf_reset(sb);
	return strbuf_append(sb, str, len);
}

void strbuf_reset(struct strbuf *sb)
{
	sb->len = 0;
	sb->data[0] = 0;
}

void strbuf_truncate(struct strbuf *sb, size_t len)
{
	if (len > sb->len)
		msg_panic("strbuf_truncate: %zu > length %zu", len, sb->len);
	sb->len = len;
	sb->data[len] = 0;
}

char *strbuf_export(struct strbuf *sb)
{
	char *s = sb->data;

	sb->cap = STRBUF_MIN_CAP;
	sb->data = mymalloc(sb->cap);
	sb->data[0] = 0;
	sb->len = 0;
	return s;
}

int strbuf_why(struct strbuf *why, const char *fmt, ...)
{
	int saved_errno = errno;
	va_list ap;

	if (why != NULL) {
		strbuf_reset(why);
		va_start(ap, fmt);
		(void) strbuf_vprintf(why, fmt, ap);
		va_end(ap);
	}
	errno = saved_errno;
	return -1;
}
