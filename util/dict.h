/*
 * dict - lookup tables ("type:name") behind one API.
 *
 * Every table type (hash:, btree:, lmdb:, cdb:, texthash:, inline:,
 * static:, cidr:, regexp:, pcre:, unix:) is a struct dict with the same
 * operations. The one rule callers rely on: a lookup answers three ways,
 * found, not found, or error. A table that cannot be opened or read, a
 * corrupt file, or a pattern that fails to run is DICT_ERROR, never
 * DICT_NOTFOUND, so a daemon defers mail instead of letting it through
 * because a table was missing.
 *
 * Ownership: a value or key that a dict returns belongs to the dict and
 * stays valid until the next call on the same dict. A key passed in is
 * only read. Library code here never exits on bad input; the reason for a
 * DICT_ERROR is in dict_error().
 *
 * File tables (hash, btree, lmdb, cdb) store each key and value with a
 * trailing NUL byte, as Postfix's postmap does; a lookup also tries the key
 * without NUL, so files made by other tools are read as well. A build
 * (DICT_TRUNC) writes into a temporary file in the same directory and
 * dict_commit() fsyncs it and renames it over the final file, so a reader
 * sees the old table or the new one, never half of one.
 */
#ifndef POSTERN_DICT_H
#define POSTERN_DICT_H

#include <sys/types.h>
#include <time.h>

struct strbuf;

/* Three-way answers of lookup, delete and sequence. */
#define DICT_FOUND 0
#define DICT_NOTFOUND 1
#define DICT_ERROR (-1)
/* dict_update: the key existed and was kept (no DICT_DUP_REPLACE). */
#define DICT_EXISTS 1

/* Open flags. Without DICT_WRITE a table is read-only. */
#define DICT_WRITE 0x01	      /* allow update and delete, in place */
#define DICT_CREATE 0x02      /* with DICT_WRITE: create a missing table */
#define DICT_TRUNC 0x04	      /* build from empty; dict_commit() installs */
#define DICT_FOLD_KEYS 0x08   /* lowercase keys on lookup and update */
#define DICT_DUP_REPLACE 0x10 /* update replaces an existing key */
/* Set by the table type, not by callers. */
#define DICT_PATTERN 0x100 /* keys are matched (regexp, pcre, cidr) */
#define DICT_NO_FOLD 0x200 /* the type ignores DICT_FOLD_KEYS */

/* Limits on what a table accepts, so no input grows memory unbounded. */
#define DICT_KEY_MAX 4096
#define DICT_VALUE_MAX (1024 * 1024)

struct dict {
	const char *type; /* "hash", ... (static) */
	char *name;	  /* what follows "type:" */
	int flags;
	/* Operations; a type leaves one NULL when it cannot do it. Keys
	 * arrive already folded when DICT_FOLD_KEYS applies. */
	int (*lookup)(struct dict *, const char *key, const char **value);
	int (*update)(struct dict *, const char *key, const char *value);
	int (*remove)(struct dict *, const char *key);
	int (*sequence)(struct dict *, int first, const char **key,
			const char **value);
	int (*commit)(struct dict *);
	void (*close)(struct dict *);
	struct strbuf *why;  /* reason for the last DICT_ERROR */
	struct strbuf *fold; /* the folded key */
	char *watch_path;    /* file whose replacement dict_changed sees */
	dev_t watch_dev;
	ino_t watch_ino;
	struct timespec watch_mtime;
};

/* Open "type:name" (for example "hash:/etc/postern/access") with DICT_*
 * flags. Returns the table, or NULL with a malloc'd reason in *errp that
 * the caller frees. A type without a "type:" prefix is an error. */
struct dict *dict_open(const char *spec, int flags, char **errp);
/* Look key up: DICT_FOUND with *value set (owned by the dict until the next
 * call), DICT_NOTFOUND, or DICT_ERROR (reason in dict_error()). */
int dict_lookup(struct dict *dict, const char *key, const char **value);
/* Store key=value: 0, DICT_EXISTS (key kept, unless DICT_DUP_REPLACE), or
 * DICT_ERROR. Needs DICT_WRITE or DICT_TRUNC. */
int dict_update(struct dict *dict, const char *key, const char *value);
/* Remove key: DICT_FOUND (removed), DICT_NOTFOUND, or DICT_ERROR. */
int dict_delete(struct dict *dict, const char *key);
/* Walk all entries: first != 0 starts over. DICT_FOUND with *key and *value
 * set (owned by the dict), DICT_NOTFOUND at the end, or DICT_ERROR. */
int dict_sequence(struct dict *dict, int first, const char **key,
		  const char **value);
/* Make changes durable and visible: a build is fsynced and renamed over
 * the final file. 0, or DICT_ERROR. Closing without commit discards a
 * build. */
int dict_commit(struct dict *dict);
/* Close and free *dictp, set it to NULL; a NULL *dictp is fine. */
void dict_close(struct dict **dictp);
/* Why the last call on dict returned DICT_ERROR (never NULL). */
const char *dict_error(const struct dict *dict);
/* 1 if the file behind the table was replaced or modified since it was
 * opened (a daemon then reopens it), 0 if not or for tables with no file. */
int dict_changed(const struct dict *dict);
/* Whether type names a table type that postern knows ("hash", ...). */
int dict_type_known(const char *type);
/* Whether a type is built from a text source by postern-map (hash, btree,
 * lmdb, cdb), and the suffix of its file (".db", ".lmdb", ".cdb"). */
int dict_type_buildable(const char *type, const char **suffix);

/* For table types: a new struct dict of size bytes (>= sizeof(struct
 * dict)), zeroed, with type, name, flags and buffers set. */
struct dict *dict_alloc(const char *type, const char *name, int flags,
			size_t size);
/* For table types: set the reason of a DICT_ERROR; returns DICT_ERROR. */
int dict_set_error(struct dict *dict, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* For table types: remember path's identity for dict_changed(). */
void dict_watch(struct dict *dict, const char *path);

#endif
