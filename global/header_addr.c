/*
 * header_addr - the addresses of an RFC 5322 address list; see
 * header_addr.h.
 *
 * Two passes: the tokenizer turns the value into an array of tokens
 * (offset and length into the value, never copies), refusing the whole
 * value when a quoted string, comment or domain literal does not end;
 * the list walker then cuts the tokens into mailboxes at top-level
 * commas, group colons and semicolons, finds each mailbox's address,
 * and asks the callback. Replacements are collected as (start, end,
 * text) and the output is built once at the end, so a failure part way
 * never leaves a half-rewritten header.
 */
#include <string.h>

#include "header_addr.h"
#include "mymalloc.h"
#include "smtp_addr.h"
#include "strbuf.h"

/* Longest address (internal form) that is looked at. */
#define HEADER_ADDR_MAX 1000

enum tok_type {
	TOK_ATOM,
	TOK_QSTRING,  /* with its quotes */
	TOK_COMMENT,  /* with its parentheses */
	TOK_DLITERAL, /* with its brackets */
	TOK_SPECIAL,
	TOK_WSP,
};

struct tok {
	enum tok_type type;
	size_t start, len;
};

struct tok_list {
	struct tok *v;
	size_t n, cap;
};

static void tok_add(struct tok_list *tl, enum tok_type type, size_t start,
		    size_t len)
{
	if (tl->n == tl->cap) {
		tl->cap = tl->cap ? mymalloc_mul(tl->cap, 2) : 32;
		tl->v = myreallocarray(tl->v, tl->cap, sizeof(*tl->v));
	}
	tl->v[tl->n].type = type;
	tl->v[tl->n].start = start;
	tl->v[tl->n].len = len;
	tl->n++;
}

static int is_wsp(int ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n';
}

static int is_special(int ch)
{
	return ch != 0 && strchr("()<>[]:;@\\,.\"", ch) != NULL;
}

/* The end of a bracketed construct starting at i (value[i] is open):
 * the index after its close, or 0 if it never closes. Comments nest. */
static size_t tok_skip(const char *value, size_t len, size_t i, char open,
		       char close)
{
	int depth = 0;

	for (; i < len; i++) {
		/* UNSAFE: i < len; a quoted pair needs i + 1 < len. */
		if (value[i] == '\\') {
			if (++i >= len)
				return 0;
			continue;
		}
		if (value[i] == open && (open != close || depth == 0))
			depth++;
		else if (value[i] == close && --depth == 0)
			return i + 1;
	}
	return 0;
}

/* 0, or -1 if a construct does not end (the value is then not touched). */
static int tokenize(const char *value, size_t len, struct tok_list *tl)
{
	size_t i = 0, end;

	while (i < len) {
		unsigned char ch = (unsigned char)value[i];

		if (is_wsp(ch)) {
			for (end = i; end < len && is_wsp(value[end]); end++)
				;
			tok_add(tl, TOK_WSP, i, end - i);
		} else if (ch == '"' || ch == '(' || ch == '[') {
			char close = ch == '"' ? '"' : ch == '(' ? ')' : ']';

			/* A domain literal does not nest; nor does a string. */
			end = tok_skip(value, len, i, (char)ch, close);
			if (end == 0)
				return -1;
			tok_add(tl,
				ch == '"'   ? TOK_QSTRING
				: ch == '(' ? TOK_COMMENT
					    : TOK_DLITERAL,
				i, end - i);
		} else if (is_special(ch)) {
			/* A stray ')', ']' or '\' is a special of its own. */
			end = i + 1;
			tok_add(tl, TOK_SPECIAL, i, 1);
		} else {
			for (end = i; end < len && !is_wsp(value[end]) &&
				      !is_special(value[end]);
			     end++)
				;
			tok_add(tl, TOK_ATOM, i, end - i);
		}
		i = end;
	}
	return 0;
}

static int tok_is(const char *value, const struct tok *t, char ch)
{
	return t->type == TOK_SPECIAL && value[t->start] == ch;
}

static int tok_word(const struct tok *t)
{
	return t->type == TOK_ATOM || t->type == TOK_QSTRING ||
	       t->type == TOK_DLITERAL;
}

/* The address that tokens [a, b) spell, in internal form, into addr.
 * 0, or -1 if they are not an addr-spec (a phrase, a stray special, a
 * control character, too long). */
static int addr_spell(const char *value, const struct tok *v, size_t a,
		      size_t b, struct strbuf *addr)
{
	const struct tok *prev = NULL;

	strbuf_reset(addr);
	for (size_t i = a; i < b; i++) {
		const struct tok *t = &v[i];
		const char *p = value + t->start;

		if (t->type == TOK_WSP || t->type == TOK_COMMENT)
			continue;
		if (t->type == TOK_SPECIAL && *p != '.' && *p != '@')
			return -1;
		/* Two words with nothing between: a phrase, not an address. */
		if (prev != NULL && tok_word(prev) && tok_word(t))
			return -1;
		prev = t;
		if (t->type == TOK_QSTRING) {
			/* UNSAFE: the token holds its two quotes, so
			 * t->len >= 2 and p[1 .. len-2] is inside it. */
			for (size_t k = 1; k + 1 < t->len; k++) {
				if (p[k] == '\\')
					k++;
				if (p[k] == '\n')
					continue; /* folding */
				if (strbuf_putc(addr, p[k]) < 0)
					return -1;
			}
		} else if (strbuf_append(addr, p, t->len) < 0) {
			return -1;
		}
	}
	/* A NUL would cut the address short for the callback. */
	if (strbuf_len(addr) == 0 ||
	    strlen(strbuf_str(addr)) != strbuf_len(addr))
		return -1;
	for (const char *c = strbuf_str(addr); *c; c++)
		if ((unsigned char)*c < 32 || *c == 127)
			return -1;
	return 0;
}

struct repl {
	size_t start, end; /* byte range of value replaced */
	char *text;
};

struct repl_list {
	struct repl *v;
	size_t n, cap;
};

static void repl_add(struct repl_list *rl, size_t start, size_t end,
		     const char *text)
{
	if (rl->n == rl->cap) {
		rl->cap = rl->cap ? mymalloc_mul(rl->cap, 2) : 8;
		rl->v = myreallocarray(rl->v, rl->cap, sizeof(*rl->v));
	}
	rl->v[rl->n].start = start;
	rl->v[rl->n].end = end;
	rl->v[rl->n].text = mystrdup(text);
	rl->n++;
}

/* One mailbox, tokens [a, b): find its address, ask fn. 0 or -1. */
static int mailbox(const char *value, const struct tok *v, size_t a, size_t b,
		   header_addr_fn fn, void *ctx, struct repl_list *rl,
		   struct strbuf *addr, struct strbuf *ext)
{
	size_t lt = b, gt = b, first, last;
	int rc;

	for (size_t i = a; i < b; i++) {
		if (tok_is(value, &v[i], '<') && lt == b)
			lt = i;
		else if (tok_is(value, &v[i], '>') && lt != b) {
			gt = i;
			break;
		}
	}
	if (lt != b) {
		if (gt == b)
			return 0; /* "<" without ">": not ours to guess */
		first = lt + 1;
		last = gt; /* exclusive */
		/* An obsolete route "<@a,@b:user@dom>": the address is
		 * after the colon; the route goes when it is replaced. */
		for (size_t i = first; i < last; i++) {
			if (v[i].type == TOK_WSP || v[i].type == TOK_COMMENT)
				continue;
			if (tok_is(value, &v[i], '@')) {
				while (i < last && !tok_is(value, &v[i], ':'))
					i++;
				if (i == last)
					return 0;
				if (addr_spell(value, v, i + 1, last, addr) < 0)
					return 0;
				goto ask;
			}
			break;
		}
		if (addr_spell(value, v, first, last, addr) < 0)
			return 0;
	} else {
		/* A bare addr-spec: from its first to its last token that
		 * is not space or a comment, so comments around it stay. */
		first = b;
		last = a;
		for (size_t i = a; i < b; i++) {
			if (v[i].type == TOK_WSP || v[i].type == TOK_COMMENT)
				continue;
			if (first == b)
				first = i;
			last = i + 1;
		}
		if (first == b)
			return 0; /* empty: "a, , b" or an empty group */
		if (addr_spell(value, v, first, last, addr) < 0)
			return 0;
	}
ask:
	if (strbuf_len(addr) > HEADER_ADDR_MAX)
		return 0;
	strbuf_reset(ext);
	rc = fn(ctx, strbuf_str(addr), ext);
	if (rc <= 0)
		return rc;
	/* Write the new address as the external form would be read. */
	if (strbuf_len(ext) == 0 || strbuf_len(ext) > HEADER_ADDR_MAX)
		return 0;
	for (const char *c = strbuf_str(ext); *c; c++)
		if ((unsigned char)*c < 32 || *c == 127)
			return 0;
	{
		struct strbuf *out = strbuf_new(4 * HEADER_ADDR_MAX);
		size_t start = lt != b ? v[lt].start + 1 : v[first].start;
		size_t end =
		    lt != b ? v[gt].start : v[last - 1].start + v[last - 1].len;

		rc = smtp_addr_externalize(strbuf_str(ext), out);
		if (rc == 0)
			repl_add(rl, start, end, strbuf_str(out));
		strbuf_free(&out);
	}
	return 1;
}

int header_addr_rewrite(const char *value, size_t len, header_addr_fn fn,
			void *ctx, struct strbuf *out)
{
	struct tok_list tl = {0};
	struct repl_list rl = {0};
	struct strbuf *addr = strbuf_new(4 * HEADER_ADDR_MAX);
	struct strbuf *ext = strbuf_new(4 * HEADER_ADDR_MAX);
	size_t seg = 0, pos = 0;
	int depth = 0, in_group = 0, rc = 0, ok = 1;

	strbuf_reset(out);
	if (tokenize(value, len, &tl) < 0)
		ok = 0;
	/* Angle brackets must balance, or the mailboxes cannot be told
	 * apart. */
	for (size_t i = 0; ok && i < tl.n; i++) {
		if (tok_is(value, &tl.v[i], '<') && depth++ > 0)
			ok = 0;
		else if (tok_is(value, &tl.v[i], '>') && --depth < 0)
			ok = 0;
	}
	if (depth != 0)
		ok = 0;
	for (size_t i = 0; ok && i <= tl.n; i++) {
		const struct tok *t = i < tl.n ? &tl.v[i] : NULL;
		int r;

		if (t != NULL && tok_is(value, t, '<'))
			depth++;
		else if (t != NULL && tok_is(value, t, '>'))
			depth--;
		if (t != NULL && depth > 0)
			continue;
		if (t != NULL && tok_is(value, t, ':') && !in_group) {
			/* "name:" starts a group; the name is kept. */
			in_group = 1;
			seg = i + 1;
			continue;
		}
		if (t != NULL && !tok_is(value, t, ',') &&
		    !tok_is(value, t, ';'))
			continue;
		r = mailbox(value, tl.v, seg, i, fn, ctx, &rl, addr, ext);
		if (r < 0) {
			rc = -1;
			break;
		}
		if (t != NULL && tok_is(value, t, ';'))
			in_group = 0;
		seg = i + 1;
	}
	/* The new value: the text between replacements as it was. */
	for (size_t k = 0; rc == 0 && k < rl.n; k++) {
		/* UNSAFE: replacements are in value order and inside it. */
		if (strbuf_append(out, value + pos, rl.v[k].start - pos) < 0 ||
		    strbuf_puts(out, rl.v[k].text) < 0)
			rc = -1;
		pos = rl.v[k].end;
	}
	if (rc == 0 && strbuf_append(out, value + pos, len - pos) < 0)
		rc = -1;
	if (rc == 0)
		rc = (int)rl.n;
	for (size_t k = 0; k < rl.n; k++)
		myfree(rl.v[k].text);
	myfree(rl.v);
	myfree(tl.v);
	strbuf_free(&addr);
	strbuf_free(&ext);
	return rc;
}
