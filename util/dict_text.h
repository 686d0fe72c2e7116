/*
 * dict_text - the text format that tables are written in.
 *
 * The format is Postfix's: a logical line starts with non-whitespace text;
 * a physical line that starts with whitespace continues it (joined with one
 * space); lines that are empty or whose first non-blank character is '#'
 * are ignored anywhere. An entry is "key whitespace value", or for alias
 * files "name: value"; surrounding whitespace is trimmed. Unlike Postfix, a
 * malformed line is an error naming file:line, not a warning: a typo must
 * not silently drop an entry from an access table.
 *
 * Input is bounded: a logical line longer than DICT_TEXT_LINE_MAX or a NUL
 * byte inside a line is an error.
 */
#ifndef POSTERN_DICT_TEXT_H
#define POSTERN_DICT_TEXT_H

#include <stdio.h>

struct strbuf;

#define DICT_TEXT_LINE_MAX (1024 * 1024 + 8192)

/* Flags for dict_text_split and dict_text_parse. */
#define DICT_TEXT_ALIAS 0x01 /* "name: value" instead of "key value" */

struct dict_text_reader;

/* Read logical lines from fp; origin names the input in messages. */
struct dict_text_reader *dict_text_reader_new(FILE *fp, const char *origin);
void dict_text_reader_free(struct dict_text_reader **rp);
/* Next logical line: 1 with *line (owned by the reader until the next call,
 * trailing whitespace trimmed) and *lineno (its first physical line), 0 at
 * end of input, or -1 with "origin:line: reason" in why. */
int dict_text_read(struct dict_text_reader *rd, char **line, int *lineno,
		   struct strbuf *why);

/* Split a logical line in place into key and value (pointers into line).
 * 0, or -1 with the reason (without origin) in why. */
int dict_text_split(char *line, int flags, char **key, char **value,
		    struct strbuf *why);

/* Called for each entry; return 0 to go on, or -1 with why set to stop. */
typedef int (*dict_text_fn)(void *ctx, const char *key, const char *value,
			    int lineno, struct strbuf *why);
/* Read all entries from fp and hand them to fn. 0, or -1 with the reason
 * ("origin:line: ...") in why. */
int dict_text_parse(FILE *fp, const char *origin, int flags, dict_text_fn fn,
		    void *ctx, struct strbuf *why);

#endif
