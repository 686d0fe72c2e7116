/*
 * record - typed, length-prefixed records; see record.h for the framing
 * and the reader's checks.
 *
 * Why the limits are checked where they are: the length field comes from
 * a file or a peer process. A reader that allocated first and checked
 * later could be made to reserve gigabytes by five bytes of input, so the
 * length is compared with the type's and the caller's limit before the
 * payload is touched, and the payload is then copied in bounded chunks
 * into a strbuf whose own hard maximum is a second fence.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "record.h"
#include "rstream.h"
#include "strbuf.h"

size_t rec_size(size_t len)
{
	size_t size = 1 + len; /* type byte + payload */

	do {
		size++;
		len >>= 7;
	} while (len != 0);
	return size;
}

size_t rec_len_encode(unsigned char *out, size_t len)
{
	size_t n = 0;

	do {
		/* UNSAFE: a 64-bit len needs at most 10 groups, the size of
		 * out (REC_LEN_BYTES_MAX). */
		out[n] = len & 0x7f;
		len >>= 7;
		if (len != 0)
			out[n] |= 0x80;
		n++;
	} while (len != 0);
	return n;
}

int rec_put(struct rstream *s, int type, const void *data, size_t len)
{
	const struct rec_type_info *info = rec_type_info(type);
	unsigned char hdr[1 + REC_LEN_BYTES_MAX];
	size_t n;

	if (info == 0) {
		errno = EINVAL;
		return -1;
	}
	if (len > info->max_len) {
		errno = EMSGSIZE;
		return -1;
	}
	hdr[0] = (unsigned char)type;
	n = 1 + rec_len_encode(hdr + 1, len);
	if (rstream_write(s, hdr, n) < 0)
		return -1;
	if (len > 0 && rstream_write(s, data, len) < 0)
		return -1;
	return 0;
}

int rec_puts(struct rstream *s, int type, const char *str)
{
	return rec_put(s, type, str, strlen(str));
}

int rec_printf(struct rstream *s, int type, const char *fmt, ...)
{
	char buf[REC_SHORT_MAX + 1];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(buf)) {
		errno = EMSGSIZE;
		return -1;
	}
	return rec_put(s, type, buf, (size_t)n);
}

int rec_num_parse(const char *data, size_t len, off_t *offset)
{
	size_t i = 0;
	off_t val = 0;

	if (len != REC_NUM_WIDTH)
		return -1;
	while (i < len && data[i] == ' ')
		i++;
	if (i == len)
		return -1;
	for (; i < len; i++) {
		if (data[i] < '0' || data[i] > '9')
			return -1;
		/* 15 decimal digits fit in a 64-bit off_t: no overflow. */
		val = val * 10 + (data[i] - '0');
	}
	*offset = val;
	return 0;
}

/* Read the end of a record whose type byte is already consumed. */
static int rec_get_body(struct rstream *s, const struct rec_type_info *info,
			struct strbuf *buf, size_t limit, off_t start,
			struct strbuf *why)
{
	char chunk[4096];
	size_t len = 0, want, max;
	unsigned shift = 0;
	int groups, c;
	ssize_t got;

	for (groups = 0;; groups++) {
		if (groups == REC_LEN_GROUPS)
			return strbuf_why(why,
					"record at offset %lld: length "
					"field longer than %d bytes",
					(long long)start, REC_LEN_GROUPS);
		if ((c = rstream_getc(s)) == RSTREAM_EOF) {
			if (rstream_error(s))
				return strbuf_why(why, "read error: %s",
						strerror(rstream_error(s)));
			return strbuf_why(why,
					"record at offset %lld: "
					"truncated length field",
					(long long)start);
		}
		/* shift <= 28 here: the group cap keeps it inside size_t. */
		len |= (size_t)(c & 0x7f) << shift;
		shift += 7;
		if ((c & 0x80) == 0)
			break;
	}
	max = info->max_len < limit ? info->max_len : limit;
	if (len > max || len > buf->max) {
		return strbuf_why(why,
				"record at offset %lld: %s record length "
				"%zu exceeds limit %zu",
				(long long)start, info->name, len,
				max < buf->max ? max : buf->max);
	}
	while (len > 0) {
		want = len < sizeof(chunk) ? len : sizeof(chunk);
		got = rstream_read(s, chunk, want);
		if (got < 0) {
			return strbuf_why(why, "read error: %s", strerror(errno));
		}
		if ((size_t)got < want) {
			return strbuf_why(why,
					"record at offset %lld: truncated "
					"%s record",
					(long long)start, info->name);
		}
		/* Cannot fail: len <= buf->max was checked above. */
		(void)strbuf_append(buf, chunk, want);
		len -= want;
	}
	return 0;
}

int rec_get(struct rstream *s, int *type, struct strbuf *buf, size_t limit,
	    int flags, struct strbuf *why)
{
	const struct rec_type_info *info;
	int chain = 0, c;
	off_t start, target;

	for (;;) {
		*type = REC_TYPE_EOF;
		strbuf_reset(buf);
		start = rstream_tell(s);
		if ((c = rstream_getc(s)) == RSTREAM_EOF) {
			if (rstream_error(s) == 0)
				return 0;
			return strbuf_why(why, "read error: %s",
					strerror(rstream_error(s)));
		}
		if ((info = rec_type_info(c)) == 0) {
			return strbuf_why(why,
					"record at offset %lld: unknown "
					"record type 0x%02x",
					(long long)start, c);
		}
		if (rec_get_body(s, info, buf, limit, start, why) < 0)
			return -1;
		if (c != REC_TYPE_PTR || (flags & REC_FLAG_FOLLOW_PTR) == 0) {
			*type = c;
			return 0;
		}
		if (rec_num_parse(strbuf_str(buf), strbuf_len(buf), &target) <
		    0) {
			return strbuf_why(why,
					"record at offset %lld: malformed "
					"pointer record",
					(long long)start);
		}
		if (++chain > REC_PTR_CHAIN_MAX) {
			return strbuf_why(why,
					"record at offset %lld: more than %d "
					"pointer records in a row",
					(long long)start, REC_PTR_CHAIN_MAX);
		}
		if (target != 0 && rstream_seek(s, target) < 0) {
			return strbuf_why(why, "seek to %lld: %s",
					(long long)target, strerror(errno));
		}
	}
}
