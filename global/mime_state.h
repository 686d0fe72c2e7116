/*
 * mime_state - a minimal walk over a message's MIME structure.
 *
 * cleanup feeds the content records of a message (N and L pieces, in
 * order) and gets back, through callbacks, what each piece is:
 *   - a header of the top-level message (header_checks),
 *   - a header of a multipart body part or of an attached message/rfc822
 *     (nested_header_checks), each flagged as a MIME header (Content-*,
 *     MIME-Version: mime_header_checks) or not,
 *   - the end of the top-level header (where missing headers go),
 *   - a body line or piece (body_checks), boundaries and blank lines
 *     included.
 * Headers are delivered whole: a folded header's physical lines are
 * joined with '\n' (the folding is kept, so the caller can write the
 * header back as it came). A header longer than the limit given at
 * creation is cut there and the rest is dropped (Postfix's
 * header_size_limit), so no header can grow memory without bound.
 *
 * Multipart boundaries are tracked on a stack bounded by the nesting
 * limit; past it the rest of the message is plain body and
 * MIME_FLAG_NESTING is set. Any byte with the high bit set anywhere in
 * the content sets MIME_FLAG_8BIT (for BODY=8BITMIME accounting).
 * The walker never fails on bad input: malformed MIME is just body.
 */
#ifndef POSTERN_MIME_STATE_H
#define POSTERN_MIME_STATE_H

#include <stddef.h>

enum mime_class {
	MIME_CLASS_PRIMARY,   /* a header of the message itself */
	MIME_CLASS_MULTIPART, /* a header of a multipart body part */
	MIME_CLASS_NESTED,    /* a header of an attached message/rfc822 */
};

/* mime_state_flags() bits. */
#define MIME_FLAG_8BIT (1 << 0)		/* a byte >= 0x80 was seen */
#define MIME_FLAG_TRUNC_HEADER (1 << 1) /* a header was cut at the limit */
#define MIME_FLAG_NESTING (1 << 2)	/* nesting limit reached */

/* Defaults (Postfix's header_size_limit and mime_nesting_limit). */
#define MIME_HEADER_MAX_DEFAULT 102400
#define MIME_DEPTH_MAX_DEFAULT 100

struct mime_callbacks {
	/* One whole header; text has no trailing newline. is_mime: a
	 * Content-* or MIME-Version header. */
	void (*header)(void *ctx, enum mime_class cls, int is_mime,
		       const char *text, size_t len);
	/* The top-level header ended. blank: an empty line follows (passed
	 * to body next); 0 when a non-header line or the end of the message
	 * ended it. Called exactly once per message. */
	void (*header_end)(void *ctx, int blank);
	/* A body piece; rec_type is REC_TYPE_NORM (ends a line) or
	 * REC_TYPE_CONT (the line continues in the next piece). */
	void (*body)(void *ctx, int rec_type, const char *text, size_t len);
};

struct mime_state;

/* New walker; header_max and depth_max 0 mean the defaults. */
struct mime_state *mime_state_new(const struct mime_callbacks *cb, void *ctx,
				  size_t header_max, int depth_max);
/* Free *msp and set it to NULL. */
void mime_state_free(struct mime_state **msp);
/* Feed one content piece: rec_type REC_TYPE_NORM or REC_TYPE_CONT. */
void mime_state_update(struct mime_state *ms, int rec_type, const char *text,
		       size_t len);
/* End of content: delivers a pending header and, if the top-level header
 * never ended, the header_end callback. */
void mime_state_finish(struct mime_state *ms);
/* MIME_FLAG_* bits seen so far. */
unsigned mime_state_flags(const struct mime_state *ms);

/* Helpers shared with the callers. */
/* 1 if text (a header) has the name name (case-insensitive), else 0. */
int mime_header_is(const char *text, size_t len, const char *name);
/* Length of the header name at text[0..len) (the part before the colon,
 * trailing blanks excluded), or 0 if the piece does not start a header. */
size_t mime_header_name_len(const char *text, size_t len);

#endif
