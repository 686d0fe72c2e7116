/*
 * readlline - logical lines of Postfix-style configuration text.
 *
 * The syntax shared by main.cf and master.cf: a line whose first
 * non-blank character is '#' is a comment, blank lines are skipped, and a
 * line that starts with whitespace continues the logical line before it
 * (comments and blank lines in between do not end it). Each physical
 * line is trimmed of surrounding whitespace and the pieces of a logical
 * line are joined with one space.
 *
 * The reader works on text already in memory, so a NUL byte is seen and
 * refused rather than silently ending a line, and the logical line is
 * built in a strbuf whose hard maximum bounds memory however the input
 * is shaped.
 */
#ifndef POSTERN_READLLINE_H
#define POSTERN_READLLINE_H

#include <stddef.h>
#include <sys/types.h>

struct strbuf;

struct readlline {
	const char *text;	/* the whole input, not NUL-terminated */
	size_t len;
	size_t pos;		/* start of the next unread physical line */
	int lineno;		/* physical lines consumed so far */
};

/* Start reading len bytes of text (borrowed for the reader's lifetime). */
void readlline_init(struct readlline *rl, const char *text, size_t len);
/* Put the next logical line in out (which is reset first; its maximum is
 * the line limit). Returns 1 with *first_line set to its first physical
 * line, 0 at the end, or -1 with *errp = "line N: reason" (caller frees)
 * for a NUL byte, a line longer than out's maximum or a continuation line
 * with nothing before it. */
int readlline_next(struct readlline *rl, struct strbuf *out, int *first_line,
		   char **errp);

/* Read a whole configuration file into memory: 0 with *textp (malloc'd,
 * NUL-terminated; the caller frees) and *lenp, or -1 with errno set
 * (EFBIG when it has more than max bytes, EISDIR and EINVAL for what is
 * not a regular file). */
int readlline_load_file(const char *path, size_t max, char **textp,
			size_t *lenp);

/* Whitespace as configuration files mean it (locale-independent). */
static inline int readlline_space(int ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n' || ch == '\v'
		|| ch == '\f';
}

#endif
