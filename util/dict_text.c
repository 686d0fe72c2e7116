/*
 * dict_text - reading the Postfix table text format; see dict_text.h.
 *
 * The reader keeps one physical line of lookahead: whether a logical line
 * is complete is known only when the next non-comment line does not start
 * with whitespace.
 */
#include <ctype.h>
#include <errno.h>
#include <string.h>

#include "dict_text.h"
#include "mymalloc.h"
#include "strbuf.h"

struct dict_text_reader {
	FILE *fp;
	char *origin;
	int phys_lineno;	/* physical lines read so far */
	struct strbuf *logical; /* the line handed out */
	struct strbuf *peek;	/* lookahead physical line */
	int peek_lineno;
	int have_peek;
	int eof;
};

struct dict_text_reader *dict_text_reader_new(FILE *fp, const char *origin)
{
	struct dict_text_reader *rd = mycalloc(1, sizeof(*rd));

	rd->fp = fp;
	rd->origin = mystrdup(origin);
	rd->logical = strbuf_new(DICT_TEXT_LINE_MAX);
	rd->peek = strbuf_new(DICT_TEXT_LINE_MAX);
	return rd;
}

void dict_text_reader_free(struct dict_text_reader **rp)
{
	struct dict_text_reader *rd = *rp;

	if (rd == NULL)
		return;
	myfree(rd->origin);
	strbuf_free(&rd->logical);
	strbuf_free(&rd->peek);
	myfree(rd);
	*rp = NULL;
}

static void trim_right(struct strbuf *sb)
{
	size_t len = strbuf_len(sb);

	while (len > 0 && isspace((unsigned char)strbuf_str(sb)[len - 1]))
		len--;
	strbuf_truncate(sb, len);
}

/* Read one physical line that is neither blank nor a comment into
 * rd->peek: 1, 0 at EOF, -1 on error. */
static int read_physical(struct dict_text_reader *rd, struct strbuf *why)
{
	const char *cp;
	int ch;

	while (!rd->eof) {
		strbuf_reset(rd->peek);
		rd->phys_lineno++;
		while ((ch = getc_unlocked(rd->fp)) != EOF && ch != '\n') {
			if (ch == 0) {
				strbuf_printf(why, "%s:%d: NUL byte in line",
					      rd->origin, rd->phys_lineno);
				return -1;
			}
			if (strbuf_putc(rd->peek, ch) < 0) {
				strbuf_printf(
				    why, "%s:%d: line longer than %d bytes",
				    rd->origin, rd->phys_lineno,
				    DICT_TEXT_LINE_MAX);
				return -1;
			}
		}
		if (ch == EOF) {
			if (ferror(rd->fp)) {
				strbuf_printf(why, "%s: read error: %s",
					      rd->origin, strerror(errno));
				return -1;
			}
			rd->eof = 1;
		}
		trim_right(rd->peek);
		for (cp = strbuf_str(rd->peek); isspace((unsigned char)*cp);
		     cp++)
			;
		if (*cp == 0 || *cp == '#')
			continue;
		rd->peek_lineno = rd->phys_lineno;
		return 1;
	}
	return 0;
}

int dict_text_read(struct dict_text_reader *rd, char **line, int *lineno,
		   struct strbuf *why)
{
	const char *cont;
	int ret;

	if (!rd->have_peek) {
		if ((ret = read_physical(rd, why)) <= 0)
			return ret;
	}
	rd->have_peek = 0;
	if (isspace((unsigned char)strbuf_str(rd->peek)[0])) {
		strbuf_printf(why,
			      "%s:%d: continuation line without a line "
			      "to continue",
			      rd->origin, rd->peek_lineno);
		return -1;
	}
	strbuf_reset(rd->logical);
	strbuf_append(rd->logical, strbuf_str(rd->peek), strbuf_len(rd->peek));
	*lineno = rd->peek_lineno;
	while ((ret = read_physical(rd, why)) > 0) {
		cont = strbuf_str(rd->peek);
		if (!isspace((unsigned char)*cont)) {
			rd->have_peek = 1;
			break;
		}
		while (isspace((unsigned char)*cont))
			cont++;
		if (strbuf_putc(rd->logical, ' ') < 0 ||
		    strbuf_puts(rd->logical, cont) < 0) {
			strbuf_printf(
			    why, "%s:%d: logical line longer than %d bytes",
			    rd->origin, *lineno, DICT_TEXT_LINE_MAX);
			return -1;
		}
	}
	if (ret < 0)
		return -1;
	/* Nothing else refers to logical's storage, and dict_text_split
	 * only shortens the string in place. */
	*line = rd->logical->data;
	return 1;
}

int dict_text_split(char *line, int flags, char **key, char **value,
		    struct strbuf *why)
{
	char *cp;
	char *end;

	while (isspace((unsigned char)*line))
		line++;
	if (flags & DICT_TEXT_ALIAS) {
		if ((cp = strchr(line, ':')) == NULL || cp == line) {
			strbuf_puts(why, "expected \"name: value\"");
			return -1;
		}
		/* UNSAFE: cp > line here, so end - 1 stays inside line. */
		for (end = cp; end > line && isspace((unsigned char)end[-1]);
		     end--)
			;
		*end = 0;
		cp++;
	} else {
		for (cp = line; *cp && !isspace((unsigned char)*cp); cp++)
			;
		if (*cp == 0) {
			strbuf_puts(why, "expected \"key whitespace value\"");
			return -1;
		}
		*cp++ = 0;
	}
	while (isspace((unsigned char)*cp))
		cp++;
	if (*cp == 0) {
		strbuf_puts(why,
			    (flags & DICT_TEXT_ALIAS)
				? "expected \"name: value\", value is empty"
				: "expected \"key whitespace value\"");
		return -1;
	}
	/* Trailing whitespace was trimmed by the reader; a caller's own line
	 * may still have it. */
	for (end = cp + strlen(cp); end > cp && isspace((unsigned char)end[-1]);
	     end--)
		;
	*end = 0;
	*key = line;
	*value = cp;
	return 0;
}

int dict_text_parse(FILE *fp, const char *origin, int flags, dict_text_fn fn,
		    void *ctx, struct strbuf *why)
{
	struct dict_text_reader *rd = dict_text_reader_new(fp, origin);
	struct strbuf *reason = strbuf_new(STRBUF_NO_MAX);
	char *line, *key, *value;
	int lineno;
	int ret;

	while ((ret = dict_text_read(rd, &line, &lineno, why)) > 0) {
		if (dict_text_split(line, flags, &key, &value, reason) < 0) {
			strbuf_printf(why, "%s:%d: %s", origin, lineno,
				      strbuf_str(reason));
			ret = -1;
			break;
		}
		if (fn(ctx, key, value, lineno, why) < 0) {
			ret = -1;
			break;
		}
	}
	dict_text_reader_free(&rd);
	strbuf_free(&reason);
	return ret < 0 ? -1 : 0;
}
