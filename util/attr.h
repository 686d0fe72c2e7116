/*
 * attr - framed attribute lists, the wire format of every internal request.
 *
 * Wire format (Postfix's attr_print0): a list is a sequence of
 *     name NUL value NUL
 * pairs ended by one extra NUL. Names are [a-z0-9_]+; values are bytes
 * without NUL, at most ATTR_VALUE_MAX (or the schema's own limit).
 *
 * Each protocol has one schema: a table of {name, type, max length,
 * required} entries. attr_print() writes a list from a schema and a value
 * array; attr_scan() reads one strictly: an attribute not in the schema, a
 * missing required one, a duplicate, an over-long name or value, a bad
 * integer, or a frame cut short is an error (-1 and a reason), never a
 * crash and never a partial result the caller might trust.
 */
#ifndef POSTERN_ATTR_H
#define POSTERN_ATTR_H

#include <stddef.h>

struct strbuf;

#define ATTR_NAME_MAX  64
#define ATTR_VALUE_MAX (4 * 2048)	/* 4 x line_length_limit, as Postfix */
#define ATTR_COUNT_MAX 256

enum attr_type { ATTR_STR, ATTR_INT, ATTR_LONG };

struct attr_spec {
	const char *name;
	enum attr_type type;
	size_t max_len;		/* 0: ATTR_VALUE_MAX */
	int required;
};

struct attr_schema {
	const char *protocol;	/* sent/checked by attr_handshake */
	const struct attr_spec *specs;
	size_t count;
};

/* One value, indexed like schema->specs. present says it was seen. */
struct attr_value {
	int present;
	long num;		/* ATTR_INT / ATTR_LONG */
	char *str;		/* ATTR_STR; owned by the value, free with attr_values_free */
	size_t len;
};

/* Encode values into out (appended). -1 if a value is out of range
 * (NUL inside, too long, missing required); out is then unchanged. */
int attr_print(const struct attr_schema *schema, const struct attr_value *values,
	       struct strbuf *out, struct strbuf *why);
/* Decode one list from buf[0..len): on success returns the number of bytes
 * consumed (> 0) and fills values (count = schema->count). Returns 0 when
 * buf holds only a prefix of a list (read more), -1 on a malformed list
 * (reason in why; values are left empty). */
ssize_t attr_scan(const struct attr_schema *schema, const char *buf, size_t len,
		  struct attr_value *values, struct strbuf *why);
/* Free strings in values[0..count). */
void attr_values_free(struct attr_value *values, size_t count);

/* Blocking helpers over a stream fd with a timeout in seconds: write one
 * list / read one list. 0 or -1 (reason in why). */
int attr_write_fd(int fd, int timeout, const struct attr_schema *schema,
		  const struct attr_value *values, struct strbuf *why);
int attr_read_fd(int fd, int timeout, const struct attr_schema *schema,
		 struct attr_value *values, struct strbuf *why);

#endif
