/*
 * rstream - a small buffered byte stream over a file descriptor; see
 * rstream.h.
 *
 * Invariant: buf holds file bytes [base, base + len). In READ mode the
 * caller is at base + pos and the kernel offset is base + len; in WRITE
 * mode the len bytes are pending output for offset base and the kernel
 * offset is base. In IDLE mode the buffer is empty and the kernel offset
 * is base.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "msg.h"
#include "mymalloc.h"
#include "rstream.h"

enum rstream_mode { RSTREAM_IDLE, RSTREAM_READ, RSTREAM_WRITE };

struct rstream {
	int fd;
	enum rstream_mode mode;
	unsigned char *buf;
	size_t cap;
	size_t len; /* valid (READ) or pending (WRITE) bytes */
	size_t pos; /* READ: next byte to hand out */
	off_t base; /* file offset of buf[0] */
	int err;    /* sticky errno, 0 if none */
};

struct rstream *rstream_fdopen(int fd, size_t bufsize)
{
	struct rstream *s = mycalloc(1, sizeof(*s));
	off_t here;

	s->fd = fd;
	s->mode = RSTREAM_IDLE;
	s->cap = bufsize ? bufsize : RSTREAM_BUFSIZE;
	s->buf = mymalloc(s->cap);
	/* Pipes and sockets have no offset: count from 0. */
	here = lseek(fd, 0, SEEK_CUR);
	s->base = here < 0 ? 0 : here;
	return s;
}

static int rstream_fail(struct rstream *s, int err)
{
	if (s->err == 0)
		s->err = err;
	errno = s->err;
	return -1;
}

/* Write out pending output; leaves the stream IDLE on success. */
static int rstream_drain(struct rstream *s)
{
	size_t done = 0;
	ssize_t n;

	while (done < s->len) {
		/* UNSAFE: done < len <= cap, so the range is inside buf. */
		n = write(s->fd, s->buf + done, s->len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return rstream_fail(s, n < 0 ? errno : EIO);
		done += (size_t)n;
		s->base += n;
	}
	s->len = 0;
	s->mode = RSTREAM_IDLE;
	return 0;
}

/* Give unread read-ahead back to the kernel offset; leaves IDLE. */
static int rstream_unread(struct rstream *s)
{
	off_t logical = s->base + (off_t)s->pos;

	if (s->pos < s->len && lseek(s->fd, logical, SEEK_SET) < 0)
		return rstream_fail(s, errno);
	s->base = logical;
	s->len = s->pos = 0;
	s->mode = RSTREAM_IDLE;
	return 0;
}

int rstream_flush(struct rstream *s)
{
	if (s->err)
		return rstream_fail(s, s->err);
	if (s->mode == RSTREAM_WRITE)
		return rstream_drain(s);
	return 0;
}

/* Refill an exhausted read buffer: 1 data, 0 end of file, -1 error. */
static int rstream_fill(struct rstream *s)
{
	ssize_t n;

	if (s->mode == RSTREAM_WRITE && rstream_drain(s) < 0)
		return -1;
	s->base += (off_t)s->len;
	s->len = s->pos = 0;
	s->mode = RSTREAM_READ;
	do {
		n = read(s->fd, s->buf, s->cap);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return rstream_fail(s, errno);
	s->len = (size_t)n;
	return n > 0;
}

ssize_t rstream_read(struct rstream *s, void *buf, size_t len)
{
	unsigned char *out = buf;
	size_t done = 0, chunk;
	int r;

	if (s->err)
		return rstream_fail(s, s->err);
	while (done < len) {
		if (s->mode != RSTREAM_READ || s->pos == s->len) {
			if ((r = rstream_fill(s)) < 0)
				return -1;
			if (r == 0)
				break;
		}
		chunk = s->len - s->pos;
		if (chunk > len - done)
			chunk = len - done;
		/* UNSAFE: pos + chunk <= len <= cap; done + chunk <= len. */
		memcpy(out + done, s->buf + s->pos, chunk);
		s->pos += chunk;
		done += chunk;
	}
	return (ssize_t)done;
}

int rstream_getc(struct rstream *s)
{
	unsigned char c;

	if (s->mode == RSTREAM_READ && s->pos < s->len && s->err == 0)
		return s->buf[s->pos++];
	if (rstream_read(s, &c, 1) != 1)
		return RSTREAM_EOF;
	return c;
}

int rstream_write(struct rstream *s, const void *buf, size_t len)
{
	const unsigned char *in = buf;
	size_t chunk;

	if (s->err)
		return rstream_fail(s, s->err);
	if (s->mode == RSTREAM_READ && rstream_unread(s) < 0)
		return -1;
	s->mode = RSTREAM_WRITE;
	while (len > 0) {
		if (s->len == s->cap) {
			if (rstream_drain(s) < 0)
				return -1;
			s->mode = RSTREAM_WRITE;
		}
		chunk = s->cap - s->len;
		if (chunk > len)
			chunk = len;
		/* UNSAFE: len + chunk <= cap. */
		memcpy(s->buf + s->len, in, chunk);
		s->len += chunk;
		in += chunk;
		len -= chunk;
	}
	return 0;
}

int rstream_putc(struct rstream *s, int ch)
{
	unsigned char c = (unsigned char)ch;

	return rstream_write(s, &c, 1);
}

int rstream_seek(struct rstream *s, off_t off)
{
	if (s->err)
		return rstream_fail(s, s->err);
	if (off < 0)
		return rstream_fail(s, EINVAL);
	if (s->mode == RSTREAM_WRITE && rstream_drain(s) < 0)
		return -1;
	if (lseek(s->fd, off, SEEK_SET) < 0)
		return rstream_fail(s, errno);
	s->base = off;
	s->len = s->pos = 0;
	s->mode = RSTREAM_IDLE;
	return 0;
}

off_t rstream_tell(const struct rstream *s)
{
	switch (s->mode) {
	case RSTREAM_READ:
		return s->base + (off_t)s->pos;
	case RSTREAM_WRITE:
		return s->base + (off_t)s->len;
	default:
		return s->base;
	}
}

int rstream_error(const struct rstream *s)
{
	return s->err;
}

int rstream_fd(const struct rstream *s)
{
	return s->fd;
}

void rstream_release(struct rstream **sp)
{
	if (*sp == NULL)
		return;
	myfree((*sp)->buf);
	myfree(*sp);
}

int rstream_close(struct rstream **sp)
{
	struct rstream *s = *sp;
	int ret = 0, saved = 0;

	if (s == NULL)
		return 0;
	if (rstream_flush(s) < 0) {
		ret = -1;
		saved = errno;
	}
	if (close(s->fd) < 0 && ret == 0) {
		ret = -1;
		saved = errno;
	}
	rstream_release(sp);
	if (ret < 0)
		errno = saved;
	return ret;
}
