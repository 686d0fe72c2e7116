/*
 * attr - framed attribute lists; see attr.h for the wire format.
 *
 * Safety argument. attr_scan() reads bytes from another process, which may
 * be compromised, so it trusts nothing: every name is checked character by
 * character against [a-z0-9_] and ATTR_NAME_MAX before it is compared with
 * the schema, every value is searched for its NUL only within the limit of
 * its attribute plus one byte, and every attribute is counted. So the work
 * and memory for one list are bounded by attr_schema_max_size() whatever
 * the input, a list can never be mistaken for a shorter valid one, and a
 * caller sees either a complete, validated set of values or none at all
 * (values are cleared on every path that does not return success).
 *
 * Integers are parsed by hand, not with strtol(), which would accept
 * leading blanks, a '+' and trailing garbage.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "attr.h"
#include "msg.h"
#include "mymalloc.h"
#include "sock.h"
#include "strbuf.h"

/* Longest decimal long: "-9223372036854775808". */
#define ATTR_NUM_LEN_MAX 20
/* Sanity bound on a schema's own value limit (keeps size sums small). */
#define ATTR_SPEC_LEN_MAX (64 * 1024 * 1024)
#define ATTR_READ_CHUNK 16384
#define ATTR_PROTOCOL_MAX ATTR_NAME_MAX

static void attr_why(struct strbuf *why, const struct attr_schema *schema,
		     const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void attr_why(struct strbuf *why, const struct attr_schema *schema,
		     const char *fmt, ...)
{
	int saved_errno = errno;
	va_list ap;

	if (why == NULL)
		return;
	strbuf_reset(why);
	if (schema != NULL && schema->protocol != NULL)
		(void)strbuf_printf(why, "%s: ", schema->protocol);
	va_start(ap, fmt);
	(void)strbuf_vprintf(why, fmt, ap);
	va_end(ap);
	errno = saved_errno;
}

static int attr_name_char(int ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
	       ch == '_';
}

static size_t attr_spec_max(const struct attr_spec *spec)
{
	size_t max = spec->max_len ? spec->max_len : ATTR_VALUE_MAX;

	if (spec->type != ATTR_STR && max > ATTR_NUM_LEN_MAX)
		max = ATTR_NUM_LEN_MAX;
	return max;
}

/* A malformed schema is a bug in our own code, not bad input. */
static void attr_check_schema(const struct attr_schema *schema)
{
	if (schema == NULL || schema->specs == NULL || schema->count == 0 ||
	    schema->count > ATTR_COUNT_MAX)
		msg_panic("attr: bad schema %s", schema && schema->protocol
						     ? schema->protocol
						     : "(unnamed)");
	for (size_t i = 0; i < schema->count; i++) {
		const struct attr_spec *spec = schema->specs + i;
		size_t len;

		if (spec->name == NULL || (len = strlen(spec->name)) == 0 ||
		    len > ATTR_NAME_MAX || spec->max_len > ATTR_SPEC_LEN_MAX ||
		    (spec->type != ATTR_STR && spec->type != ATTR_INT &&
		     spec->type != ATTR_LONG))
			msg_panic("attr: bad schema entry %zu", i);
		for (size_t j = 0; j < len; j++)
			if (!attr_name_char((unsigned char)spec->name[j]))
				msg_panic("attr: bad schema name \"%s\"",
					  spec->name);
		for (size_t j = 0; j < i; j++)
			if (strcmp(schema->specs[j].name, spec->name) == 0)
				msg_panic("attr: duplicate schema name \"%s\"",
					  spec->name);
	}
}

size_t attr_schema_max_size(const struct attr_schema *schema)
{
	size_t total = 1; /* the terminating NUL */

	attr_check_schema(schema);
	for (size_t i = 0; i < schema->count; i++) {
		total = mymalloc_add(total, strlen(schema->specs[i].name) + 2);
		total = mymalloc_add(total, attr_spec_max(schema->specs + i));
	}
	return total;
}

void attr_values_free(struct attr_value *values, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		myfree(values[i].str);
		memset(values + i, 0, sizeof(values[i]));
	}
}

/* Parse a whole decimal number of len bytes; -1 unless it is one. */
static int attr_parse_num(const char *s, size_t len, long *out)
{
	int neg = 0;
	long val = 0;
	size_t i = 0;

	if (len > 0 && s[0] == '-') {
		neg = 1;
		i = 1;
	}
	if (i == len)
		return -1;
	for (; i < len; i++) {
		int digit;

		if (s[i] < '0' || s[i] > '9')
			return -1;
		digit = s[i] - '0';
		/* Accumulate negatively for '-' so LONG_MIN is reachable. */
		if (__builtin_mul_overflow(val, 10, &val) ||
		    (neg ? __builtin_sub_overflow(val, digit, &val)
			 : __builtin_add_overflow(val, digit, &val)))
			return -1;
	}
	*out = val;
	return 0;
}

/* A value from the peer, quoted for a log line: non-printables become '?'. */
static void attr_quote(char *dst, size_t size, const char *src, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; i < len && n + 1 < size; i++) {
		unsigned char ch = (unsigned char)src[i];

		dst[n++] = ch >= 0x20 && ch < 0x7f ? (char)ch : '?';
	}
	dst[n] = 0;
}

ssize_t attr_scan(const struct attr_schema *schema, const char *buf, size_t len,
		  struct attr_value *values, struct strbuf *why)
{
	size_t pos = 0, count = 0;

	attr_check_schema(schema);
	memset(values, 0, schema->count * sizeof(*values));
	for (;;) {
		const struct attr_spec *spec = NULL;
		size_t name_start, name_len, max, vlen, idx = 0;
		const char *value, *nul;

		if (pos >= len)
			goto need_more;
		if (buf[pos] == 0) {
			pos++;
			break;
		}
		if (count >= ATTR_COUNT_MAX) {
			attr_why(why, schema, "more than %d attributes",
				 ATTR_COUNT_MAX);
			goto error;
		}
		name_start = pos;
		for (; pos < len && buf[pos] != 0; pos++) {
			if (!attr_name_char((unsigned char)buf[pos])) {
				attr_why(
				    why, schema,
				    "bad character 0x%02x in attribute name",
				    (unsigned char)buf[pos]);
				goto error;
			}
			if (pos - name_start >= ATTR_NAME_MAX) {
				attr_why(why, schema,
					 "attribute name longer than %d bytes",
					 ATTR_NAME_MAX);
				goto error;
			}
		}
		if (pos >= len)
			goto need_more;
		name_len = pos - name_start;
		pos++;
		for (idx = 0; idx < schema->count; idx++) {
			const char *name = schema->specs[idx].name;

			if (strlen(name) == name_len &&
			    memcmp(name, buf + name_start, name_len) == 0) {
				spec = schema->specs + idx;
				break;
			}
		}
		/* The name is [a-z0-9_]+ by now: safe to print. */
		if (spec == NULL) {
			attr_why(why, schema, "unknown attribute \"%.*s\"",
				 (int)name_len, buf + name_start);
			goto error;
		}
		if (values[idx].present) {
			attr_why(why, schema, "duplicate attribute \"%s\"",
				 spec->name);
			goto error;
		}
		max = attr_spec_max(spec);
		/* UNSAFE: pos <= len here, and memchr reads at most len - pos
		 * bytes from buf + pos. */
		value = buf + pos;
		nul =
		    memchr(value, 0, len - pos < max + 1 ? len - pos : max + 1);
		if (nul == NULL) {
			if (len - pos > max) {
				attr_why(why, schema,
					 "%s \"%s\" longer than %zu bytes",
					 spec->type == ATTR_STR
					     ? "value of"
					     : "integer value of",
					 spec->name, max);
				goto error;
			}
			goto need_more;
		}
		vlen = (size_t)(nul - value);
		if (spec->type == ATTR_STR) {
			values[idx].str = mymemdup(value, vlen);
			values[idx].len = vlen;
		} else {
			long num;

			if (attr_parse_num(value, vlen, &num) < 0 ||
			    (spec->type == ATTR_INT &&
			     (num < INT_MIN || num > INT_MAX))) {
				char shown[ATTR_NUM_LEN_MAX + 1];

				attr_quote(shown, sizeof(shown), value, vlen);
				attr_why(why, schema,
					 "bad %s value \"%s\" for \"%s\"",
					 spec->type == ATTR_INT ? "int"
								: "long",
					 shown, spec->name);
				goto error;
			}
			values[idx].num = num;
		}
		values[idx].present = 1;
		count++;
		pos += vlen + 1;
	}
	for (size_t i = 0; i < schema->count; i++) {
		if (schema->specs[i].required && !values[i].present) {
			attr_why(why, schema, "missing attribute \"%s\"",
				 schema->specs[i].name);
			goto error;
		}
	}
	return (ssize_t)pos;

need_more:
	/* Cannot happen with the per-item limits above; kept so a future
	 * change cannot turn a bounded reader into an unbounded one. */
	if (len >= attr_schema_max_size(schema)) {
		attr_why(why, schema, "list longer than %zu bytes",
			 attr_schema_max_size(schema));
		goto error;
	}
	attr_values_free(values, schema->count);
	return 0;
error:
	attr_values_free(values, schema->count);
	return -1;
}

int attr_print(const struct attr_schema *schema,
	       const struct attr_value *values, struct strbuf *out,
	       struct strbuf *why)
{
	size_t orig = strbuf_len(out);
	int ok = 1;

	attr_check_schema(schema);
	for (size_t i = 0; i < schema->count; i++) {
		const struct attr_spec *spec = schema->specs + i;
		const struct attr_value *v = values + i;
		char num[ATTR_NUM_LEN_MAX + 2];

		if (!v->present) {
			if (spec->required) {
				attr_why(why, schema,
					 "missing attribute \"%s\"",
					 spec->name);
				goto error;
			}
			continue;
		}
		ok &=
		    strbuf_append(out, spec->name, strlen(spec->name) + 1) == 0;
		switch (spec->type) {
		case ATTR_STR:
			if (v->str == NULL && v->len > 0)
				msg_panic(
				    "attr_print: \"%s\" has length but no data",
				    spec->name);
			if (v->len > attr_spec_max(spec)) {
				attr_why(
				    why, schema,
				    "value of \"%s\" longer than %zu bytes",
				    spec->name, attr_spec_max(spec));
				goto error;
			}
			if (v->len > 0 && memchr(v->str, 0, v->len) != NULL) {
				attr_why(why, schema,
					 "value of \"%s\" contains a NUL",
					 spec->name);
				goto error;
			}
			if (v->len > 0)
				ok &= strbuf_append(out, v->str, v->len) == 0;
			break;
		case ATTR_INT:
			if (v->num < INT_MIN || v->num > INT_MAX) {
				attr_why(why, schema,
					 "value %ld of \"%s\" out of int range",
					 v->num, spec->name);
				goto error;
			}
			__attribute__((fallthrough));
		case ATTR_LONG:
			snprintf(num, sizeof(num), "%ld", v->num);
			ok &= strbuf_puts(out, num) == 0;
			break;
		}
		ok &= strbuf_putc(out, 0) == 0;
	}
	ok &= strbuf_putc(out, 0) == 0;
	if (!ok) {
		attr_why(why, schema, "list does not fit in the output buffer");
		goto error;
	}
	return 0;
error:
	strbuf_truncate(out, orig);
	return -1;
}

static int64_t attr_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Milliseconds left before deadline (-1: none), never negative otherwise. */
static long attr_left(int64_t deadline)
{
	int64_t left;

	if (deadline < 0)
		return -1;
	left = deadline - attr_now_ms();
	return left > 0 ? (long)left : 0;
}

static int64_t attr_deadline(int timeout)
{
	return timeout > 0 ? attr_now_ms() + (int64_t)timeout * 1000 : -1;
}

/* Write all of data before deadline; send() with MSG_NOSIGNAL so a closed
 * peer is an EPIPE error, not a SIGPIPE death, and MSG_DONTWAIT so a
 * blocking socket cannot hold us past the deadline; write() for pipes
 * (where poll's "writable" promises room for PIPE_BUF bytes). */
static int attr_write_all(int fd, int64_t deadline, const char *data,
			  size_t len, struct strbuf *why)
{
	int use_send = 1;

	while (len > 0) {
		ssize_t n;

		if (sock_wait_ms(fd, POLLOUT, attr_left(deadline)) < 0) {
			attr_why(why, NULL, "write: %s",
				 errno == ETIMEDOUT ? "timeout"
						    : strerror(errno));
			return -1;
		}
		n = use_send ? send(fd, data, len, MSG_NOSIGNAL | MSG_DONTWAIT)
			     : write(fd, data, len);
		if (n < 0) {
			if (use_send && errno == ENOTSOCK) {
				use_send = 0;
				continue;
			}
			if (errno == EINTR || errno == EAGAIN)
				continue;
			attr_why(why, NULL, "write: %m");
			return -1;
		}
		/* UNSAFE: 0 <= n <= len. */
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

int attr_write_fd(int fd, int timeout, const struct attr_schema *schema,
		  const struct attr_value *values, struct strbuf *why)
{
	struct strbuf *out = strbuf_new(STRBUF_NO_MAX);
	int ret = -1;

	if (attr_print(schema, values, out, why) == 0)
		ret = attr_write_all(fd, attr_deadline(timeout),
				     strbuf_str(out), strbuf_len(out), why);
	strbuf_free(&out);
	return ret;
}

struct attr_stream *attr_stream_new(int fd, size_t max)
{
	struct attr_stream *st = mymalloc(sizeof(*st));

	st->fd = fd;
	st->buf = strbuf_new(STRBUF_NO_MAX);
	st->start = 0;
	st->max = max;
	return st;
}

void attr_stream_free(struct attr_stream **stp)
{
	if (*stp == NULL)
		return;
	strbuf_free(&(*stp)->buf);
	myfree(*stp);
}

const char *attr_stream_peek(const struct attr_stream *st, size_t *len)
{
	*len = strbuf_len(st->buf) - st->start;
	/* UNSAFE: start <= len of the buffer, an invariant of this module. */
	return strbuf_str(st->buf) + st->start;
}

void attr_stream_consume(struct attr_stream *st, size_t len)
{
	if (len > strbuf_len(st->buf) - st->start)
		msg_panic("attr_stream_consume: %zu bytes, only %zu buffered",
			  len, strbuf_len(st->buf) - st->start);
	st->start += len;
	if (st->start == strbuf_len(st->buf)) {
		strbuf_reset(st->buf);
		st->start = 0;
	}
}

int attr_stream_read(struct attr_stream *st, int timeout,
		     const struct attr_schema *schema,
		     struct attr_value *values, struct strbuf *why)
{
	size_t bound = attr_schema_max_size(schema);
	int64_t deadline = attr_deadline(timeout);
	char chunk[ATTR_READ_CHUNK];

	/* Whatever happens below, the caller gets no stale values. */
	memset(values, 0, schema->count * sizeof(*values));
	if (st->max > 0 && st->max < bound)
		bound = st->max;
	for (;;) {
		size_t avail = strbuf_len(st->buf) - st->start;
		size_t want;
		ssize_t n;

		if (avail > 0) {
			/* UNSAFE: start + avail is the buffer's length. */
			n = attr_scan(schema, strbuf_str(st->buf) + st->start,
				      avail < bound ? avail : bound, values,
				      why);
			if (n > 0) {
				attr_stream_consume(st, (size_t)n);
				return 1;
			}
			if (n < 0)
				return -1;
			if (avail >= bound) {
				attr_why(why, schema,
					 "list longer than %zu bytes", bound);
				return -1;
			}
		}
		/* Keep the unread tail at the front, so the buffer never holds
		 * more than one bound's worth of bytes. */
		if (st->start > 0) {
			/* UNSAFE: moves avail bytes inside the buffer. */
			memmove(st->buf->data, st->buf->data + st->start,
				avail);
			strbuf_truncate(st->buf, avail);
			st->start = 0;
		}
		if (sock_wait_ms(st->fd, POLLIN, attr_left(deadline)) < 0) {
			if (errno == ETIMEDOUT)
				attr_why(
				    why, schema,
				    "timeout after %d seconds reading a list",
				    timeout);
			else
				attr_why(why, schema, "read: %m");
			return -1;
		}
		want = bound - avail < sizeof(chunk) ? bound - avail
						     : sizeof(chunk);
		n = read(st->fd, chunk, want);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			attr_why(why, schema, "read: %m");
			return -1;
		}
		if (n == 0) {
			memset(values, 0, schema->count * sizeof(*values));
			if (avail == 0)
				return 0;
			attr_why(why, schema,
				 "connection closed inside a list");
			return -1;
		}
		if (strbuf_append(st->buf, chunk, (size_t)n) < 0)
			msg_panic("attr_stream_read: buffer limit");
	}
}

static const struct attr_spec attr_handshake_specs[] = {
    {.name = "protocol",
     .type = ATTR_STR,
     .max_len = ATTR_PROTOCOL_MAX,
     .required = 1},
};

static const struct attr_schema attr_handshake_schema = {
    .protocol = "handshake",
    .specs = attr_handshake_specs,
    .count = 1,
};

int attr_handshake_send(int fd, int timeout, const char *protocol,
			struct strbuf *why)
{
	struct attr_value value = {
	    .present = 1,
	    .str = (char *)protocol,
	    .len = strlen(protocol),
	};

	return attr_write_fd(fd, timeout, &attr_handshake_schema, &value, why);
}

int attr_handshake_expect(struct attr_stream *st, int timeout,
			  const char *protocol, struct strbuf *why)
{
	struct attr_value value;
	char shown[ATTR_PROTOCOL_MAX + 1];
	int ret;

	ret =
	    attr_stream_read(st, timeout, &attr_handshake_schema, &value, why);
	if (ret == 0) {
		attr_why(why, NULL, "connection closed before the %s handshake",
			 protocol);
		return -1;
	}
	if (ret < 0)
		return -1;
	ret = 0;
	if (value.len != strlen(protocol) ||
	    memcmp(value.str, protocol, value.len) != 0) {
		attr_quote(shown, sizeof(shown), value.str, value.len);
		attr_why(why, NULL,
			 "protocol mismatch: expected \"%s\", got \"%s\"",
			 protocol, shown);
		ret = -1;
	}
	attr_values_free(&value, 1);
	return ret;
}
