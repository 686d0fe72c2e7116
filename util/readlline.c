/*
 * readlline - logical lines of Postfix-style configuration text; see
 * readlline.h.
 *
 * Safety: every index stays below rl->len (the physical line end comes
 * from memchr within the remaining bytes), and the output only grows
 * through strbuf appends, which refuse to pass the buffer's maximum.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mymalloc.h"
#include "readlline.h"
#include "strbuf.h"

static char *readlline_error(int lineno, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static char *readlline_error(int lineno, const char *fmt, ...)
{
	struct strbuf *sb = strbuf_new(STRBUF_NO_MAX);
	va_list ap;
	char *msg;

	strbuf_printf(sb, "line %d: ", lineno);
	va_start(ap, fmt);
	strbuf_vprintf(sb, fmt, ap);
	va_end(ap);
	msg = strbuf_export(sb);
	strbuf_free(&sb);
	return msg;
}

void readlline_init(struct readlline *rl, const char *text, size_t len)
{
	rl->text = text;
	rl->len = len;
	rl->pos = 0;
	rl->lineno = 0;
}

int readlline_next(struct readlline *rl, struct strbuf *out, int *first_line,
		   char **errp)
{
	int have = 0;

	strbuf_reset(out);
	while (rl->pos < rl->len) {
		/* UNSAFE: start and end index into text[0..len); nl is found
		 * inside the remaining bytes only. */
		const char *start = rl->text + rl->pos;
		size_t left = rl->len - rl->pos;
		const char *nl = memchr(start, '\n', left);
		size_t plen = nl ? (size_t) (nl - start) : left;
		size_t next = rl->pos + plen + (nl ? 1 : 0);
		size_t b = 0, e = plen;

		if (memchr(start, '\0', plen) != NULL) {
			*errp = readlline_error(rl->lineno + 1, "NUL byte in text");
			return -1;
		}
		while (b < e && readlline_space((unsigned char) start[b]))
			b++;
		while (e > b && readlline_space((unsigned char) start[e - 1]))
			e--;
		if (b == e || start[b] == '#') {
			/* Blank and comment lines never end a logical line. */
			rl->pos = next;
			rl->lineno++;
			continue;
		}
		if (b == 0) {
			/* A new logical line: finish the one we have first. */
			if (have)
				return 1;
			*first_line = rl->lineno + 1;
			have = 1;
		} else if (!have) {
			*errp = readlline_error(rl->lineno + 1,
						"line starts with whitespace but "
						"there is no line before it to continue");
			return -1;
		} else if (strbuf_putc(out, ' ') < 0) {
			goto too_long;
		}
		if (strbuf_append(out, start + b, e - b) < 0)
			goto too_long;
		rl->pos = next;
		rl->lineno++;
	}
	return have;

too_long:
	*errp = readlline_error(rl->lineno + 1,
				"logical line is longer than %zu bytes", out->max);
	return -1;
}

int readlline_load_file(const char *path, size_t max, char **textp,
			size_t *lenp)
{
	struct stat st;
	char *text;
	size_t len = 0;
	int fd, saved;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	if (fstat(fd, &st) < 0)
		goto fail;
	if (!S_ISREG(st.st_mode)) {
		errno = S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
		goto fail;
	}
	if ((unsigned long long) st.st_size > max) {
		errno = EFBIG;
		goto fail;
	}
	/* The file may grow while we read: the count read, not st_size,
	 * decides, and it may pass max by one byte to be detected. */
	size_t cap = (size_t) st.st_size + 1;

	text = mymalloc(cap + 1);
	for (;;) {
		ssize_t n;

		if (len == cap) {
			cap = cap > max / 2 ? max + 1 : cap * 2;
			text = myrealloc(text, cap + 1);
		}
		n = read(fd, text + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			saved = errno;
			myfree(text);
			close(fd);
			errno = saved;
			return -1;
		}
		if (n == 0)
			break;
		len += (size_t) n;
		if (len > max) {
			myfree(text);
			close(fd);
			errno = EFBIG;
			return -1;
		}
	}
	close(fd);
	text[len] = 0;
	*textp = text;
	*lenp = len;
	return 0;

fail:
	saved = errno;
	close(fd);
	errno = saved;
	return -1;
}
