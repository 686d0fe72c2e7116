/*
 * record - typed, length-prefixed records: the framing of queue files and
 * of the record streams that cleanup receives.
 *
 * A record is one type byte, the payload length in 7-bit groups (low
 * group first, high bit set on every group but the last), then the
 * payload. The framing is Postfix's; the reader is stricter:
 *   - a type byte that is not in rec_type_table is an error;
 *   - at most REC_LEN_GROUPS length bytes are read (35 bits, so no shift
 *     can run past the width of the length variable);
 *   - the length is checked against the smaller of the caller's limit and
 *     the type's max_len BEFORE any memory is reserved for the payload;
 *   - end of input inside a record is an error, never a short record.
 * Every failure returns -1 with a reason and leaves nothing the caller
 * might mistake for a record.
 */
#ifndef POSTERN_RECORD_H
#define POSTERN_RECORD_H

#include <stddef.h>
#include <sys/types.h>

#include "rec_type.h"

struct rstream;
struct strbuf;

/* Length bytes a reader accepts: 5 x 7 = 35 bits. */
#define REC_LEN_GROUPS 5

/* rec_get flags */
#define REC_FLAG_NONE 0
#define REC_FLAG_FOLLOW_PTR (1 << 0) /* jump through 'p' records */
/* Consecutive 'p' records one rec_get call follows before giving up. */
#define REC_PTR_CHAIN_MAX 16

/* Write one record. data may be NULL when len is 0. Returns 0, or -1 with
 * errno: EINVAL for an unknown type, EMSGSIZE for a payload longer than
 * the type allows, else the stream's write error. */
int rec_put(struct rstream *s, int type, const void *data, size_t len);
/* rec_put of a C string. */
int rec_puts(struct rstream *s, int type, const char *str);
/* rec_put of printf output (at most REC_SHORT_MAX bytes). */
int rec_printf(struct rstream *s, int type, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Longest length field rec_len_encode can produce (64-bit sizes). */
#define REC_LEN_BYTES_MAX 10
/* Write the length field for len into out; returns the bytes used. */
size_t rec_len_encode(unsigned char *out, size_t len);
/* Bytes rec_put writes for a payload of len bytes (framing included). */
size_t rec_size(size_t len);

/* Read one record into buf (reset first; buf's own max also applies).
 * limit caps the payload on top of the type's max_len. Returns 0 with the
 * type in *type (REC_TYPE_EOF at a clean end of input, between records),
 * or -1 with the reason in why. With REC_FLAG_FOLLOW_PTR a 'p' record is
 * not returned: the reader continues at its offset (offset 0 is a
 * placeholder and means "just go on"). */
int rec_get(struct rstream *s, int *type, struct strbuf *buf, size_t limit,
	    int flags, struct strbuf *why);

/* Parse one fixed-width number of a p, C or W record: exactly
 * REC_NUM_WIDTH bytes, leading spaces then at least one decimal digit.
 * 0 and the value, or -1. */
int rec_num_parse(const char *data, size_t len, off_t *offset);

#endif
