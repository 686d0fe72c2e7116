/*
 * dict - the generic table layer: "type:name" parsing, the type registry,
 * key folding and size limits, and the wrappers that keep the three-way
 * contract (found / not found / error) for every type; see dict.h.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "dict.h"
#include "dict_cdb.h"
#include "dict_cidr.h"
#include "dict_db.h"
#include "dict_lmdb.h"
#include "dict_mem.h"
#include "dict_regexp.h"
#include "dict_unix.h"
#include "mymalloc.h"
#include "strbuf.h"

struct dict_type {
	const char *name;
	struct dict *(*open)(const char *name, int flags, struct strbuf *why);
	const char *suffix; /* file suffix if built by postern-map */
	int writable;	    /* supports DICT_WRITE / DICT_TRUNC */
};

static const struct dict_type dict_types[] = {
    {"hash", dict_hash_open, ".db", 1},
    {"btree", dict_btree_open, ".db", 1},
    {"lmdb", dict_lmdb_open, ".lmdb", 1},
    {"cdb", dict_cdb_open, ".cdb", 1},
    {"texthash", dict_texthash_open, NULL, 0},
    {"inline", dict_inline_open, NULL, 0},
    {"static", dict_static_open, NULL, 0},
    {"cidr", dict_cidr_open, NULL, 0},
    {"regexp", dict_regexp_open, NULL, 0},
    {"pcre", dict_pcre_open, NULL, 0},
    {"unix", dict_unix_open, NULL, 0},
};

static const struct dict_type *dict_type_find(const char *type, size_t len)
{
	for (size_t i = 0; i < sizeof(dict_types) / sizeof(dict_types[0]); i++)
		if (strlen(dict_types[i].name) == len &&
		    strncmp(dict_types[i].name, type, len) == 0)
			return &dict_types[i];
	return NULL;
}

int dict_type_known(const char *type)
{
	return dict_type_find(type, strlen(type)) != NULL;
}

int dict_type_buildable(const char *type, const char **suffix)
{
	const struct dict_type *dt = dict_type_find(type, strlen(type));

	if (dt == NULL || dt->suffix == NULL)
		return 0;
	if (suffix)
		*suffix = dt->suffix;
	return 1;
}

struct dict *dict_alloc(const char *type, const char *name, int flags,
			size_t size)
{
	struct dict *dict = mycalloc(1, size);

	dict->type = type;
	dict->name = mystrdup(name);
	dict->flags = flags;
	dict->why = strbuf_new(STRBUF_NO_MAX);
	dict->fold = strbuf_new(STRBUF_NO_MAX);
	return dict;
}

int dict_set_error(struct dict *dict, const char *fmt, ...)
{
	va_list ap;

	strbuf_reset(dict->why);
	va_start(ap, fmt);
	strbuf_vprintf(dict->why, fmt, ap);
	va_end(ap);
	return DICT_ERROR;
}

const char *dict_error(const struct dict *dict)
{
	return strbuf_len(dict->why) ? strbuf_str(dict->why)
				     : "unknown table error";
}

void dict_watch(struct dict *dict, const char *path)
{
	struct stat st;

	myfree(dict->watch_path);
	dict->watch_path = mystrdup(path);
	if (stat(path, &st) == 0) {
		dict->watch_dev = st.st_dev;
		dict->watch_ino = st.st_ino;
		dict->watch_mtime = st.st_mtim;
	}
}

int dict_changed(const struct dict *dict)
{
	struct stat st;

	if (dict->watch_path == NULL)
		return 0;
	if (stat(dict->watch_path, &st) < 0)
		return 1;
	return st.st_dev != dict->watch_dev || st.st_ino != dict->watch_ino ||
	       st.st_mtim.tv_sec != dict->watch_mtime.tv_sec ||
	       st.st_mtim.tv_nsec != dict->watch_mtime.tv_nsec;
}

struct dict *dict_open(const char *spec, int flags, char **errp)
{
	const char *colon = strchr(spec, ':');
	const struct dict_type *dt;
	struct strbuf *why;
	struct dict *dict;

	*errp = NULL;
	flags &= ~(DICT_PATTERN | DICT_NO_FOLD);
	if (colon == NULL || colon == spec) {
		strbuf_printf(why = strbuf_new(STRBUF_NO_MAX),
			      "table \"%s\": expected type:name", spec);
		*errp = strbuf_export(why);
		strbuf_free(&why);
		return NULL;
	}
	why = strbuf_new(STRBUF_NO_MAX);
	if ((dt = dict_type_find(spec, (size_t)(colon - spec))) == NULL) {
		strbuf_printf(why, "table \"%s\": unknown table type \"%.*s\"",
			      spec, (int)(colon - spec), spec);
	} else if ((flags & (DICT_WRITE | DICT_TRUNC)) && !dt->writable) {
		strbuf_printf(why, "table \"%s\": type %s is read-only", spec,
			      dt->name);
	} else if (colon[1] == 0) {
		strbuf_printf(why, "table \"%s\": empty table name", spec);
	} else if ((dict = dt->open(colon + 1, flags, why)) != NULL) {
		if (dict->flags & DICT_NO_FOLD)
			dict->flags &= ~DICT_FOLD_KEYS;
		strbuf_free(&why);
		return dict;
	} else if (strbuf_len(why) == 0) {
		strbuf_printf(why, "table \"%s\": open failed", spec);
	}
	*errp = strbuf_export(why);
	strbuf_free(&why);
	return NULL;
}

/* The key as the table sees it: lowercased when the table folds keys. */
static const char *dict_key(struct dict *dict, const char *key)
{
	if ((dict->flags & DICT_FOLD_KEYS) == 0)
		return key;
	strbuf_reset(dict->fold);
	for (const char *cp = key; *cp; cp++)
		strbuf_putc(dict->fold, tolower((unsigned char)*cp));
	return strbuf_str(dict->fold);
}

int dict_lookup(struct dict *dict, const char *key, const char **value)
{
	*value = NULL;
	strbuf_reset(dict->why);
	/* No update can store such a key, so a fixed table cannot hold it. */
	if (strlen(key) > DICT_KEY_MAX && !(dict->flags & DICT_PATTERN))
		return DICT_NOTFOUND;
	return dict->lookup(dict, dict_key(dict, key), value);
}

static int dict_writable(struct dict *dict, const char *what)
{
	if ((dict->flags & (DICT_WRITE | DICT_TRUNC)) == 0)
		return dict_set_error(dict, "%s:%s: %s: table is read-only",
				      dict->type, dict->name, what);
	return 0;
}

int dict_update(struct dict *dict, const char *key, const char *value)
{
	strbuf_reset(dict->why);
	if (dict_writable(dict, "update") < 0)
		return DICT_ERROR;
	if (*key == 0)
		return dict_set_error(dict, "%s:%s: empty key", dict->type,
				      dict->name);
	if (strlen(key) > DICT_KEY_MAX)
		return dict_set_error(dict, "%s:%s: key longer than %d bytes",
				      dict->type, dict->name, DICT_KEY_MAX);
	if (strlen(value) > DICT_VALUE_MAX)
		return dict_set_error(dict, "%s:%s: value longer than %d bytes",
				      dict->type, dict->name, DICT_VALUE_MAX);
	return dict->update(dict, dict_key(dict, key), value);
}

int dict_delete(struct dict *dict, const char *key)
{
	strbuf_reset(dict->why);
	if (dict_writable(dict, "delete") < 0)
		return DICT_ERROR;
	if (strlen(key) > DICT_KEY_MAX)
		return DICT_NOTFOUND;
	return dict->remove(dict, dict_key(dict, key));
}

int dict_sequence(struct dict *dict, int first, const char **key,
		  const char **value)
{
	*key = *value = NULL;
	strbuf_reset(dict->why);
	if (dict->sequence == NULL)
		return dict_set_error(dict,
				      "%s:%s: table type cannot list entries",
				      dict->type, dict->name);
	return dict->sequence(dict, first, key, value);
}

int dict_commit(struct dict *dict)
{
	strbuf_reset(dict->why);
	if (dict->commit == NULL)
		return 0;
	return dict->commit(dict);
}

void dict_close(struct dict **dictp)
{
	struct dict *dict = *dictp;

	if (dict == NULL)
		return;
	/* The type frees its own state; the common part is freed here. */
	if (dict->close)
		dict->close(dict);
	myfree(dict->name);
	myfree(dict->watch_path);
	strbuf_free(&dict->why);
	strbuf_free(&dict->fold);
	myfree(dict);
	*dictp = NULL;
}
