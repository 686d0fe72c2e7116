/*
 * attr - framed attribute lists, the wire format of every internal request.
 *
 * Wire format (Postfix's attr_print0): a list is a sequence of
 *     name NUL value NUL
 * pairs ended by one extra NUL. Names are [a-z0-9_]+ of at most
 * ATTR_NAME_MAX bytes; values are bytes without NUL, at most ATTR_VALUE_MAX
 * (or the schema's own limit); integers are plain decimal ("-12", "0").
 *
 * Each protocol has one schema: a table of {name, type, max length,
 * required} entries. attr_print() writes a list from a schema and a value
 * array; attr_scan() reads one strictly: an attribute not in the schema, a
 * missing required one, a duplicate, an over-long name or value, a bad
 * integer, or too many attributes is an error (-1 and a reason), never a
 * crash and never a partial result the caller might trust. A list cut
 * short is "need more" (0) until it is longer than any valid list could
 * be. Attributes may arrive in any order.
 *
 * A connection carries many lists, and sometimes raw bytes after them;
 * struct attr_stream reads in blocks and keeps the bytes past the current
 * list for the next call (or for the caller, attr_stream_peek()).
 *
 * Every conversation starts with a handshake: the server sends the list
 * "protocol=<name>" and the client checks the name, so a miswired service
 * fails at once with a clear reason.
 */
#ifndef POSTERN_ATTR_H
#define POSTERN_ATTR_H

#include <stddef.h>
#include <sys/types.h>

struct strbuf;

#define ATTR_NAME_MAX 64
#define ATTR_VALUE_MAX (4 * 2048) /* 4 x line_length_limit, as Postfix */
#define ATTR_COUNT_MAX 256

enum attr_type { ATTR_STR, ATTR_INT, ATTR_LONG };

struct attr_spec {
	const char *name;
	enum attr_type type;
	size_t max_len; /* 0: ATTR_VALUE_MAX */
	int required;
};

struct attr_schema {
	const char *protocol; /* for the handshake and error messages */
	const struct attr_spec *specs;
	size_t count; /* at most ATTR_COUNT_MAX */
};

/* One value, indexed like schema->specs. present says it was seen (scan)
 * or is to be sent (print). */
struct attr_value {
	int present;
	long num;   /* ATTR_INT / ATTR_LONG */
	char *str;  /* ATTR_STR; owned by the value after attr_scan,
		     * free with attr_values_free */
	size_t len; /* bytes in str, the NUL after them not counted */
};

/* Encode values into out (appended). -1 with a reason if a value is out of
 * range (NUL inside, too long, INT outside int, missing required) or out
 * is full; out is then unchanged. msg_panic on a malformed schema. */
int attr_print(const struct attr_schema *schema,
	       const struct attr_value *values, struct strbuf *out,
	       struct strbuf *why);
/* Decode one list from buf[0..len): on success returns the number of bytes
 * consumed (> 0) and fills values[0..schema->count) (each str NUL-terminated;
 * values' old content is overwritten, not freed). Returns 0 when buf holds
 * only a prefix of a valid list (read more), -1 on a malformed list (reason
 * in why). On 0 and -1 values are left empty. */
ssize_t attr_scan(const struct attr_schema *schema, const char *buf, size_t len,
		  struct attr_value *values, struct strbuf *why);
/* Largest number of bytes a valid list of this schema can take. */
size_t attr_schema_max_size(const struct attr_schema *schema);
/* Free strings in values[0..count) and mark them absent. */
void attr_values_free(struct attr_value *values, size_t count);

/* Write one list to a blocking or non-blocking stream fd, waiting at most
 * timeout seconds in all (<= 0: no limit). 0 or -1 (reason in why). */
int attr_write_fd(int fd, int timeout, const struct attr_schema *schema,
		  const struct attr_value *values, struct strbuf *why);

/* A buffered reader of lists from one stream fd. */
struct attr_stream {
	int fd;		    /* not owned: attr_stream_free leaves it open */
	struct strbuf *buf; /* bytes read, from offset start on unused */
	size_t start;
	size_t max; /* bound on one list, in bytes */
};

/* New reader of fd; one list may take at most max bytes (0: the largest
 * list of the schema used, see attr_schema_max_size). */
struct attr_stream *attr_stream_new(int fd, size_t max);
/* Free *stp (not the fd) and set it to NULL. */
void attr_stream_free(struct attr_stream **stp);
/* Read one list, waiting at most timeout seconds in all (<= 0: no limit).
 * 1: a list was read into values; 0: the peer closed the connection between
 * lists; -1: error (reason in why): I/O error, timeout, end of file inside
 * a list, a malformed list or one larger than the bound. After -1 the
 * stream is out of sync: close the connection. */
int attr_stream_read(struct attr_stream *st, int timeout,
		     const struct attr_schema *schema,
		     struct attr_value *values, struct strbuf *why);
/* Bytes read past the last list (a protocol that switches to raw data
 * after a list takes them from here): pointer and *len; may be 0 bytes. */
const char *attr_stream_peek(const struct attr_stream *st, size_t *len);
/* Drop len (<= what attr_stream_peek reported) buffered bytes. */
void attr_stream_consume(struct attr_stream *st, size_t len);

/* Server side of the handshake: send the list "protocol=<protocol>". */
int attr_handshake_send(int fd, int timeout, const char *protocol,
			struct strbuf *why);
/* Client side: read the handshake list from st and check that it names
 * protocol. 0, or -1 with a reason (mismatch, malformed, EOF, timeout). */
int attr_handshake_expect(struct attr_stream *st, int timeout,
			  const char *protocol, struct strbuf *why);

#endif
