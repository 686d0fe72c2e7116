/*
 * dict_mem - in-memory tables; see dict_mem.h.
 *
 * Entries live in an array in insertion order (so listing a table follows
 * its source file) with a chained hash index over it. A deleted entry is
 * only marked; the memory is returned when the table closes.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "dict.h"
#include "dict_mem.h"
#include "dict_text.h"
#include "msg.h"
#include "mymalloc.h"
#include "strbuf.h"

struct mem_entry {
	char *key; /* NULL once deleted */
	char *value;
	size_t next; /* next entry in the bucket, or NONE */
};

#define NONE ((size_t)-1)

struct dict_mem {
	struct dict dict;
	struct mem_entry *ent;
	size_t count; /* entries used (deleted ones included) */
	size_t cap;
	size_t *bucket;	    /* nbucket heads */
	size_t nbucket;	    /* power of two */
	size_t cursor;	    /* dict_sequence position */
	char *static_value; /* static: only */
};

static size_t mem_hash(const char *key)
{
	size_t h = 5381; /* djb2: fine for trusted admin-written keys */

	while (*key)
		h = h * 33 + (unsigned char)*key++;
	return h;
}

static size_t mem_find(struct dict_mem *dm, const char *key)
{
	size_t i;

	if (dm->nbucket == 0)
		return NONE;
	for (i = dm->bucket[mem_hash(key) & (dm->nbucket - 1)]; i != NONE;
	     i = dm->ent[i].next)
		if (dm->ent[i].key && strcmp(dm->ent[i].key, key) == 0)
			return i;
	return NONE;
}

static void mem_rehash(struct dict_mem *dm, size_t nbucket)
{
	size_t b;

	myfree(dm->bucket);
	dm->bucket = myreallocarray(NULL, nbucket, sizeof(size_t));
	dm->nbucket = nbucket;
	for (b = 0; b < nbucket; b++)
		dm->bucket[b] = NONE;
	for (size_t i = 0; i < dm->count; i++) {
		b = mem_hash(dm->ent[i].key ? dm->ent[i].key : "") &
		    (nbucket - 1);
		dm->ent[i].next = dm->bucket[b];
		dm->bucket[b] = i;
	}
}

static int mem_lookup(struct dict *dict, const char *key, const char **value)
{
	struct dict_mem *dm = (struct dict_mem *)dict;
	size_t i = mem_find(dm, key);

	if (i == NONE)
		return DICT_NOTFOUND;
	*value = dm->ent[i].value;
	return DICT_FOUND;
}

static int mem_update(struct dict *dict, const char *key, const char *value)
{
	struct dict_mem *dm = (struct dict_mem *)dict;
	size_t i = mem_find(dm, key);
	size_t b;

	if (i != NONE) {
		if (!(dict->flags & DICT_DUP_REPLACE))
			return DICT_EXISTS;
		myfree(dm->ent[i].value);
		dm->ent[i].value = mystrdup(value);
		return 0;
	}
	if (dm->count == dm->cap) {
		dm->cap = dm->cap ? mymalloc_mul(dm->cap, 2) : 16;
		dm->ent = myreallocarray(dm->ent, dm->cap, sizeof(*dm->ent));
	}
	if (dm->count >= dm->nbucket)
		mem_rehash(dm, dm->nbucket ? mymalloc_mul(dm->nbucket, 2) : 16);
	i = dm->count++;
	dm->ent[i].key = mystrdup(key);
	dm->ent[i].value = mystrdup(value);
	b = mem_hash(key) & (dm->nbucket - 1);
	dm->ent[i].next = dm->bucket[b];
	dm->bucket[b] = i;
	return 0;
}

static int mem_remove(struct dict *dict, const char *key)
{
	struct dict_mem *dm = (struct dict_mem *)dict;
	size_t i = mem_find(dm, key);

	if (i == NONE)
		return DICT_NOTFOUND;
	/* The entry stays chained, with a NULL key that never matches. */
	myfree(dm->ent[i].key);
	myfree(dm->ent[i].value);
	return DICT_FOUND;
}

static int mem_sequence(struct dict *dict, int first, const char **key,
			const char **value)
{
	struct dict_mem *dm = (struct dict_mem *)dict;

	if (first)
		dm->cursor = 0;
	while (dm->cursor < dm->count && dm->ent[dm->cursor].key == NULL)
		dm->cursor++;
	if (dm->cursor >= dm->count)
		return DICT_NOTFOUND;
	*key = dm->ent[dm->cursor].key;
	*value = dm->ent[dm->cursor].value;
	dm->cursor++;
	return DICT_FOUND;
}

static void mem_close(struct dict *dict)
{
	struct dict_mem *dm = (struct dict_mem *)dict;

	for (size_t i = 0; i < dm->count; i++) {
		myfree(dm->ent[i].key);
		myfree(dm->ent[i].value);
	}
	myfree(dm->ent);
	myfree(dm->bucket);
	myfree(dm->static_value);
}

struct dict *dict_mem_new(const char *type, const char *name, int flags)
{
	struct dict *dict =
	    dict_alloc(type, name, flags, sizeof(struct dict_mem));

	dict->lookup = mem_lookup;
	dict->update = mem_update;
	dict->remove = mem_remove;
	dict->sequence = mem_sequence;
	dict->close = mem_close;
	return dict;
}

/* Store an entry while loading a table that is read-only to its users. */
static int mem_store(struct dict *dict, const char *key, const char *value)
{
	struct strbuf *folded = dict->fold;

	if (dict->flags & DICT_FOLD_KEYS) {
		strbuf_reset(folded);
		for (const char *cp = key; *cp; cp++)
			strbuf_putc(folded, tolower((unsigned char)*cp));
		key = strbuf_str(folded);
	}
	return mem_update(dict, key, value);
}

struct load_ctx {
	struct dict *dict;
	const char *path;
};

static int load_entry(void *ctx, const char *key, const char *value, int lineno,
		      struct strbuf *why)
{
	struct load_ctx *lc = ctx;

	if (strlen(key) > DICT_KEY_MAX || strlen(value) > DICT_VALUE_MAX) {
		strbuf_printf(why, "%s:%d: key or value too long", lc->path,
			      lineno);
		return -1;
	}
	if (mem_store(lc->dict, key, value) == DICT_EXISTS)
		msg_warn("%s:%d: duplicate entry for \"%s\", keeping the first",
			 lc->path, lineno, key);
	return 0;
}

int dict_mem_load_text(struct dict *dict, const char *path, int text_flags,
		       struct strbuf *why)
{
	struct load_ctx lc = {dict, path};
	FILE *fp;
	int ret;

	if ((fp = fopen(path, "re")) == NULL) {
		strbuf_printf(why, "open %s: %s", path, strerror(errno));
		return -1;
	}
	ret = dict_text_parse(fp, path, text_flags, load_entry, &lc, why);
	fclose(fp);
	return ret;
}

struct dict *dict_texthash_open(const char *name, int flags, struct strbuf *why)
{
	struct dict *dict = dict_mem_new("texthash", name, flags);

	if (dict_mem_load_text(dict, name, 0, why) < 0) {
		dict_close(&dict);
		return NULL;
	}
	dict_watch(dict, name);
	return dict;
}

/* The text between a leading '{' and its matching '}' of str, trimmed, in
 * out; *end points past the '}'. 0, or -1 if the braces do not balance. */
static int braced(const char *str, struct strbuf *out, const char **end)
{
	int depth = 0;
	const char *cp;
	const char *start = str + 1;
	const char *stop;

	for (cp = str; *cp; cp++) {
		if (*cp == '{')
			depth++;
		else if (*cp == '}' && --depth == 0)
			break;
	}
	if (*cp != '}')
		return -1;
	*end = cp + 1;
	while (start < cp && isspace((unsigned char)*start))
		start++;
	for (stop = cp; stop > start && isspace((unsigned char)stop[-1]);
	     stop--)
		;
	strbuf_reset(out);
	strbuf_append(out, start, (size_t)(stop - start));
	return 0;
}

static int inline_entry(struct dict *dict, const char *elem, struct strbuf *why)
{
	const char *eq = strchr(elem, '=');
	const char *kend, *vstart;
	struct strbuf *key;
	int ret = 0;

	if (eq == NULL || eq == elem) {
		strbuf_printf(why, "inline:%s: expected key=value at \"%s\"",
			      dict->name, elem);
		return -1;
	}
	for (kend = eq; kend > elem && isspace((unsigned char)kend[-1]); kend--)
		;
	for (vstart = eq + 1; isspace((unsigned char)*vstart); vstart++)
		;
	if (kend == elem) {
		strbuf_printf(why, "inline:%s: empty key at \"%s\"", dict->name,
			      elem);
		return -1;
	}
	key = strbuf_new(STRBUF_NO_MAX);
	strbuf_append(key, elem, (size_t)(kend - elem));
	if (mem_store(dict, strbuf_str(key), vstart) == DICT_EXISTS) {
		strbuf_printf(why, "inline:%s: duplicate key \"%s\"",
			      dict->name, strbuf_str(key));
		ret = -1;
	}
	strbuf_free(&key);
	return ret;
}

struct dict *dict_inline_open(const char *name, int flags, struct strbuf *why)
{
	struct dict *dict;
	struct strbuf *body = strbuf_new(STRBUF_NO_MAX);
	struct strbuf *elem = strbuf_new(STRBUF_NO_MAX);
	const char *cp, *end;
	int ret = 0;

	while (isspace((unsigned char)*name))
		name++;
	if (*name != '{' || braced(name, body, &end) < 0 ||
	    end[strspn(end, " \t")] != 0) {
		strbuf_printf(why, "inline:%s: expected \"{ key=value, ... }\"",
			      name);
		strbuf_free(&body);
		strbuf_free(&elem);
		return NULL;
	}
	dict = dict_mem_new("inline", name, flags);
	/* Elements are separated by commas or whitespace; a braced element
	 * may contain either. */
	for (cp = strbuf_str(body); ret == 0 && *cp;) {
		if (*cp == ',' || isspace((unsigned char)*cp)) {
			cp++;
			continue;
		}
		if (*cp == '{') {
			if (braced(cp, elem, &end) < 0) {
				strbuf_printf(why, "inline:%s: unbalanced '{'",
					      name);
				ret = -1;
				break;
			}
			cp = end;
		} else {
			end = cp + strcspn(cp, ", \t\r\n{}");
			if (*end == '{' || *end == '}') {
				strbuf_printf(why, "inline:%s: unexpected '%c'",
					      name, *end);
				ret = -1;
				break;
			}
			strbuf_reset(elem);
			strbuf_append(elem, cp, (size_t)(end - cp));
			cp = end;
		}
		ret = inline_entry(dict, strbuf_str(elem), why);
	}
	strbuf_free(&body);
	strbuf_free(&elem);
	if (ret < 0)
		dict_close(&dict);
	return dict;
}

static int static_lookup(struct dict *dict, const char *key, const char **value)
{
	(void)key;
	*value = ((struct dict_mem *)dict)->static_value;
	return DICT_FOUND;
}

struct dict *dict_static_open(const char *name, int flags, struct strbuf *why)
{
	struct strbuf *value = strbuf_new(STRBUF_NO_MAX);
	struct dict *dict;
	const char *end;

	if (*name == '{') {
		if (braced(name, value, &end) < 0 || *end != 0) {
			strbuf_printf(why, "static:%s: expected \"{ value }\"",
				      name);
			strbuf_free(&value);
			return NULL;
		}
	} else {
		strbuf_set(value, name);
	}
	dict = dict_mem_new("static", name, flags | DICT_NO_FOLD);
	dict->lookup = static_lookup;
	dict->sequence = NULL;
	((struct dict_mem *)dict)->static_value = strbuf_export(value);
	strbuf_free(&value);
	return dict;
}
