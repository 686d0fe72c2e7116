/*
 * mime_state - a minimal MIME structure walk; see mime_state.h.
 *
 * The walker is a two-state machine (in a header block, or in a body)
 * plus a stack of multipart boundaries. It decides what a physical line
 * is from its first piece, so a body line of any length passes through
 * without being buffered; only a header is held (up to header_max bytes)
 * until the next line shows whether it is folded.
 *
 * After a header block ends, its Content-Type decides what follows:
 * multipart/... with a boundary pushes the boundary (the body's parts
 * then start at "--boundary" lines); message/rfc822 makes the body a
 * nested header block. Anything else, and anything past the nesting
 * limit, is plain body.
 */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "mime_state.h"
#include "mymalloc.h"
#include "rec_type.h"
#include "strbuf.h"

/* RFC 2046 limits a boundary to 70 characters; allow some slack. */
#define MIME_BOUNDARY_MAX 200

enum mime_mode { MODE_HEAD, MODE_BODY };
enum mime_next { NEXT_BODY, NEXT_MULTIPART, NEXT_NESTED };

struct mime_state {
	const struct mime_callbacks *cb;
	void *ctx;
	size_t header_max;
	int depth_max;
	enum mime_mode mode;
	enum mime_class cls; /* of the header block being read */
	int bol;	     /* the next piece starts a physical line */
	int in_header;	     /* a header is pending in hdr */
	int dropping;	     /* the pending header reached header_max */
	int skip_line;	     /* rest of this physical line is dropped */
	int primary_done;    /* header_end was called */
	struct strbuf *hdr;
	/* What the current header block's Content-Type says. */
	enum mime_next next;
	char *block_boundary;
	/* Multipart boundaries, innermost last. */
	char **bounds;
	int depth;
	unsigned flags;
};

struct mime_state *mime_state_new(const struct mime_callbacks *cb, void *ctx,
				  size_t header_max, int depth_max)
{
	struct mime_state *ms = mycalloc(1, sizeof(*ms));

	ms->cb = cb;
	ms->ctx = ctx;
	ms->header_max = header_max ? header_max : MIME_HEADER_MAX_DEFAULT;
	ms->depth_max = depth_max > 0 ? depth_max : MIME_DEPTH_MAX_DEFAULT;
	ms->mode = MODE_HEAD;
	ms->cls = MIME_CLASS_PRIMARY;
	ms->bol = 1;
	ms->hdr = strbuf_new(ms->header_max);
	ms->bounds = mycalloc((size_t)ms->depth_max, sizeof(char *));
	return ms;
}

void mime_state_free(struct mime_state **msp)
{
	struct mime_state *ms = *msp;

	if (ms == NULL)
		return;
	for (int i = 0; i < ms->depth; i++)
		myfree(ms->bounds[i]);
	myfree(ms->bounds);
	myfree(ms->block_boundary);
	strbuf_free(&ms->hdr);
	myfree(*msp);
}

unsigned mime_state_flags(const struct mime_state *ms)
{
	return ms->flags;
}

size_t mime_header_name_len(const char *text, size_t len)
{
	size_t i = 0, end;

	while (i < len && text[i] > ' ' && text[i] < 127 && text[i] != ':')
		i++;
	end = i;
	if (end == 0)
		return 0;
	/* Obsolete syntax allows blanks before the colon ("Subject :"). */
	while (i < len && (text[i] == ' ' || text[i] == '\t'))
		i++;
	return i < len && text[i] == ':' ? end : 0;
}

int mime_header_is(const char *text, size_t len, const char *name)
{
	size_t nlen = mime_header_name_len(text, len);

	return nlen == strlen(name) && strncasecmp(text, name, nlen) == 0;
}

static int mime_is_mime_header(const char *text, size_t len)
{
	size_t nlen = mime_header_name_len(text, len);

	return (nlen > 8 && strncasecmp(text, "Content-", 8) == 0) ||
	       mime_header_is(text, len, "MIME-Version");
}

/* Skip blanks, folding newlines and (nested) RFC 5322 comments. */
static const char *mime_skip_cfws(const char *cp, const char *end)
{
	int level = 0;

	for (; cp < end; cp++) {
		if (*cp == '(')
			level++;
		else if (*cp == ')' && level > 0)
			level--;
		else if (level == 0 && !isspace((unsigned char)*cp))
			break;
	}
	return cp;
}

/* A token of Content-Type: up to a tspecial or blank. */
static size_t mime_token(const char *cp, const char *end)
{
	const char *start = cp;

	while (cp < end && (unsigned char)*cp > ' ' && (unsigned char)*cp < 127 &&
	       strchr("()<>@,;:\\\"/[]?=", *cp) == NULL)
		cp++;
	return (size_t)(cp - start);
}

/* Note what a Content-Type header (whole text) says about the body. */
static void mime_content_type(struct mime_state *ms, const char *text,
			      size_t len)
{
	const char *cp = memchr(text, ':', len), *end = text + len;
	size_t tlen, slen;
	const char *type, *sub;

	ms->next = NEXT_BODY;
	myfree(ms->block_boundary);
	if (cp == NULL)
		return;
	cp = mime_skip_cfws(cp + 1, end);
	type = cp;
	tlen = mime_token(cp, end);
	cp = mime_skip_cfws(cp + tlen, end);
	if (cp >= end || *cp != '/')
		return;
	cp = mime_skip_cfws(cp + 1, end);
	sub = cp;
	slen = mime_token(cp, end);
	cp += slen;
	if (tlen == 7 && strncasecmp(type, "message", 7) == 0) {
		if (slen == 6 && strncasecmp(sub, "rfc822", 6) == 0)
			ms->next = NEXT_NESTED;
		return;
	}
	if (tlen != 9 || strncasecmp(type, "multipart", 9) != 0)
		return;
	/* Parameters: ; name=value or ; name="quoted value". */
	while ((cp = mime_skip_cfws(cp, end)) < end) {
		const char *name, *val;
		size_t nlen, vlen;
		struct strbuf *value;

		if (*cp != ';') {
			cp++;
			continue;
		}
		cp = mime_skip_cfws(cp + 1, end);
		name = cp;
		nlen = mime_token(cp, end);
		cp = mime_skip_cfws(cp + nlen, end);
		if (cp >= end || *cp != '=')
			continue;
		cp = mime_skip_cfws(cp + 1, end);
		value = strbuf_new(MIME_BOUNDARY_MAX);
		if (cp < end && *cp == '"') {
			for (cp++; cp < end && *cp != '"'; cp++) {
				if (*cp == '\\' && cp + 1 < end)
					cp++;
				if (*cp != '\n' && strbuf_putc(value, *cp) < 0)
					break;
			}
			if (cp < end)
				cp++;
		} else {
			val = cp;
			vlen = mime_token(cp, end);
			(void)strbuf_append(value, val, vlen);
			cp += vlen;
		}
		if (nlen == 8 && strncasecmp(name, "boundary", 8) == 0 &&
		    strbuf_len(value) > 0 && ms->block_boundary == NULL) {
			ms->block_boundary = strbuf_export(value);
			ms->next = NEXT_MULTIPART;
		}
		strbuf_free(&value);
	}
}

/* Hand the pending header to the caller. */
static void mime_flush_header(struct mime_state *ms)
{
	const char *text = strbuf_str(ms->hdr);
	size_t len = strbuf_len(ms->hdr);

	if (!ms->in_header)
		return;
	if (mime_header_is(text, len, "Content-Type"))
		mime_content_type(ms, text, len);
	ms->cb->header(ms->ctx, ms->cls, mime_is_mime_header(text, len), text,
		       len);
	strbuf_reset(ms->hdr);
	ms->in_header = 0;
	ms->dropping = 0;
}

/* Add header bytes; past header_max the excess is dropped. */
static void mime_header_append(struct mime_state *ms, const char *text,
			       size_t len)
{
	size_t room = ms->hdr->max - strbuf_len(ms->hdr);

	if (ms->dropping)
		return;
	if (len > room) {
		len = room;
		ms->dropping = 1;
		ms->flags |= MIME_FLAG_TRUNC_HEADER;
	}
	(void)strbuf_append(ms->hdr, text, len);
}

/* The current header block ended; blank says how. Decide what follows. */
static void mime_end_block(struct mime_state *ms, int blank)
{
	mime_flush_header(ms);
	if (!ms->primary_done && ms->cls == MIME_CLASS_PRIMARY) {
		ms->primary_done = 1;
		ms->cb->header_end(ms->ctx, blank);
	}
	ms->mode = MODE_BODY;
	if (ms->next == NEXT_NESTED || ms->next == NEXT_MULTIPART) {
		if (ms->depth >= ms->depth_max) {
			ms->flags |= MIME_FLAG_NESTING;
		} else if (ms->next == NEXT_NESTED) {
			/* The body is a message whose header starts after
			 * the blank line; without one it is just body. */
			if (!blank)
				goto done;
			ms->mode = MODE_HEAD;
			ms->cls = MIME_CLASS_NESTED;
			ms->depth++;
			ms->bounds[ms->depth - 1] = NULL; /* no boundary */
		} else {
			ms->bounds[ms->depth++] = ms->block_boundary;
			ms->block_boundary = NULL;
		}
	}
done:
	ms->next = NEXT_BODY;
	myfree(ms->block_boundary);
}

/* Is the line a boundary of an enclosing multipart? Pops to it. Returns 1
 * for "--b" (part headers follow), 2 for "--b--" (multipart ends). */
static int mime_boundary(struct mime_state *ms, const char *text, size_t len)
{
	if (len < 3 || text[0] != '-' || text[1] != '-')
		return 0;
	for (int i = ms->depth - 1; i >= 0; i--) {
		const char *b = ms->bounds[i];
		size_t blen;

		if (b == NULL)
			continue;
		blen = strlen(b);
		if (len < 2 + blen || memcmp(text + 2, b, blen) != 0)
			continue;
		/* UNSAFE: len >= 2 + blen, so the tail is inside text. */
		const char *tail = text + 2 + blen;
		size_t tlen = len - 2 - blen;
		int close = tlen >= 2 && tail[0] == '-' && tail[1] == '-';

		if (close) {
			tail += 2;
			tlen -= 2;
		}
		while (tlen > 0 && isspace((unsigned char)*tail))
			tail++, tlen--;
		if (tlen != 0)
			continue;
		/* Unwind everything nested inside this multipart. */
		while (ms->depth > i + 1) {
			ms->depth--;
			myfree(ms->bounds[ms->depth]);
		}
		if (close) {
			ms->depth--;
			myfree(ms->bounds[ms->depth]);
		}
		return close ? 2 : 1;
	}
	return 0;
}

static void mime_body_piece(struct mime_state *ms, int rec_type,
			    const char *text, size_t len, int bol)
{
	int b = 0;

	if (bol && rec_type == REC_TYPE_NORM && ms->depth > 0)
		b = mime_boundary(ms, text, len);
	ms->cb->body(ms->ctx, rec_type, text, len);
	if (b == 1) {
		ms->mode = MODE_HEAD;
		ms->cls = MIME_CLASS_MULTIPART;
		ms->next = NEXT_BODY;
	}
}

void mime_state_update(struct mime_state *ms, int rec_type, const char *text,
		       size_t len)
{
	int bol = ms->bol;

	ms->bol = rec_type != REC_TYPE_CONT;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)text[i] & 0x80) {
			ms->flags |= MIME_FLAG_8BIT;
			break;
		}
	if (ms->mode == MODE_BODY) {
		mime_body_piece(ms, rec_type, text, len, bol);
		return;
	}
	if (!bol) {
		/* The rest of a long header line. */
		if (ms->in_header)
			mime_header_append(ms, text, len);
		else
			ms->cb->body(ms->ctx, rec_type, text, len);
		return;
	}
	if (ms->in_header && len > 0 && (text[0] == ' ' || text[0] == '\t')) {
		mime_header_append(ms, "\n", 1);
		mime_header_append(ms, text, len);
		return;
	}
	if (mime_header_name_len(text, len) > 0) {
		mime_flush_header(ms);
		ms->in_header = 1;
		mime_header_append(ms, text, len);
		return;
	}
	/* An empty line or a line that is no header ends the block. */
	if (len == 0 && rec_type == REC_TYPE_NORM) {
		mime_end_block(ms, 1);
		ms->cb->body(ms->ctx, rec_type, text, len);
		return;
	}
	mime_end_block(ms, 0);
	mime_body_piece(ms, rec_type, text, len, bol);
}

void mime_state_finish(struct mime_state *ms)
{
	mime_flush_header(ms);
	if (!ms->primary_done) {
		ms->primary_done = 1;
		ms->cb->header_end(ms->ctx, 0);
	}
}
