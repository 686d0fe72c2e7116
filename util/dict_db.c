/*
 * dict_db - Berkeley DB hash and btree tables; see dict_db.h.
 *
 * Berkeley DB reports details through an error callback instead of return
 * values; the callback keeps the last message so that an error carries the
 * library's own words ("metadata page checksum error") rather than a bare
 * EINVAL, and nothing is printed to stderr behind the caller's back.
 */
#include <db.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "dict.h"
#include "dict_db.h"
#include "dict_file.h"
#include "mymalloc.h"
#include "strbuf.h"

struct dict_db {
	struct dict dict;
	DB *db;
	DBC *cursor;
	DBTYPE dbtype;
	char *path;	    /* NAME.db */
	char *tmp;	    /* build file until dict_commit */
	int lock_fd;	    /* held while open for in-place writes */
	struct strbuf *key; /* returned key and value */
	struct strbuf *value;
};

/* Processes are single-threaded; the last library message is enough. */
static char ddb_last_error[512];

static void ddb_errcall(const DB_ENV *env, const char *prefix, const char *msg)
{
	(void)env;
	(void)prefix;
	snprintf(ddb_last_error, sizeof(ddb_last_error), "%s", msg);
}

static int ddb_error(struct dict_db *dd, const char *op, int err)
{
	int ret = dict_set_error(&dd->dict, "%s %s: %s%s%s", op, dd->path,
				 db_strerror(err),
				 ddb_last_error[0] ? ": " : "", ddb_last_error);

	ddb_last_error[0] = 0;
	return ret;
}

/* Copy a datum into out without the trailing NUL that postern stores. */
static const char *ddb_copy(struct strbuf *out, const DBT *d)
{
	size_t len = d->size;

	if (len > 0 && ((const char *)d->data)[len - 1] == 0)
		len--;
	strbuf_reset(out);
	strbuf_append(out, d->data, len);
	return strbuf_str(out);
}

static void ddb_datum(DBT *d, const char *str, int with_nul)
{
	memset(d, 0, sizeof(*d));
	d->data = (void *)str;
	d->size = (u_int32_t)(strlen(str) + (with_nul ? 1 : 0));
}

static int ddb_closed(struct dict_db *dd)
{
	return dict_set_error(&dd->dict, "%s: table already committed",
			      dd->path);
}

static int ddb_lookup(struct dict *dict, const char *key, const char **value)
{
	struct dict_db *dd = (struct dict_db *)dict;
	DBT k, v;
	int err;

	if (dd->db == NULL)
		return ddb_closed(dd);
	/* With NUL first (postern, postmap), then without (other tools). */
	for (int with_nul = 1; with_nul >= (*key ? 0 : 1); with_nul--) {
		ddb_datum(&k, key, with_nul);
		memset(&v, 0, sizeof(v));
		err = dd->db->get(dd->db, NULL, &k, &v, 0);
		if (err == 0) {
			*value = ddb_copy(dd->value, &v);
			return DICT_FOUND;
		}
		if (err != DB_NOTFOUND)
			return ddb_error(dd, "read", err);
	}
	return DICT_NOTFOUND;
}

static int ddb_update(struct dict *dict, const char *key, const char *value)
{
	struct dict_db *dd = (struct dict_db *)dict;
	int replace = dict->flags & DICT_DUP_REPLACE;
	DBT k, v;
	int err;

	if (dd->db == NULL)
		return ddb_closed(dd);
	ddb_datum(&k, key, 1);
	ddb_datum(&v, value, 1);
	err = dd->db->put(dd->db, NULL, &k, &v, replace ? 0 : DB_NOOVERWRITE);
	if (err == DB_KEYEXIST)
		return DICT_EXISTS;
	if (err != 0)
		return ddb_error(dd, "write", err);
	return 0;
}

static int ddb_remove(struct dict *dict, const char *key)
{
	struct dict_db *dd = (struct dict_db *)dict;
	DBT k;
	int err;

	if (dd->db == NULL)
		return ddb_closed(dd);
	for (int with_nul = 1; with_nul >= (*key ? 0 : 1); with_nul--) {
		ddb_datum(&k, key, with_nul);
		err = dd->db->del(dd->db, NULL, &k, 0);
		if (err == 0)
			return DICT_FOUND;
		if (err != DB_NOTFOUND)
			return ddb_error(dd, "delete from", err);
	}
	return DICT_NOTFOUND;
}

static int ddb_sequence(struct dict *dict, int first, const char **key,
			const char **value)
{
	struct dict_db *dd = (struct dict_db *)dict;
	DBT k, v;
	int err;

	if (dd->db == NULL)
		return ddb_closed(dd);
	if (first && dd->cursor) {
		dd->cursor->close(dd->cursor);
		dd->cursor = NULL;
	}
	if (dd->cursor == NULL) {
		if ((err = dd->db->cursor(dd->db, NULL, &dd->cursor, 0)) != 0)
			return ddb_error(dd, "read", err);
		first = 1;
	}
	memset(&k, 0, sizeof(k));
	memset(&v, 0, sizeof(v));
	err = dd->cursor->get(dd->cursor, &k, &v, first ? DB_FIRST : DB_NEXT);
	if (err == DB_NOTFOUND)
		return DICT_NOTFOUND;
	if (err != 0)
		return ddb_error(dd, "read", err);
	*key = ddb_copy(dd->key, &k);
	*value = ddb_copy(dd->value, &v);
	return DICT_FOUND;
}

static int ddb_close_handle(struct dict_db *dd)
{
	int err = 0;

	if (dd->cursor)
		dd->cursor->close(dd->cursor);
	dd->cursor = NULL;
	if (dd->db)
		err = dd->db->close(dd->db, 0);
	dd->db = NULL;
	return err;
}

static int ddb_commit(struct dict *dict)
{
	struct dict_db *dd = (struct dict_db *)dict;
	struct strbuf *why = dict->why;
	int err;

	if (dd->db == NULL)
		return ddb_closed(dd);
	if (dd->tmp == NULL) {
		if ((err = dd->db->sync(dd->db, 0)) != 0)
			return ddb_error(dd, "sync", err);
		if (fsync(dd->lock_fd) < 0)
			return dict_set_error(dict, "fsync %s: %s", dd->path,
					      strerror(errno));
		return 0;
	}
	/* Closing writes every page; only then may the file be renamed. */
	if ((err = ddb_close_handle(dd)) != 0)
		return ddb_error(dd, "close", err);
	if (dict_file_install(dd->tmp, dd->path, 0, why) < 0)
		return DICT_ERROR;
	myfree(dd->tmp);
	return 0;
}

static void ddb_close(struct dict *dict)
{
	struct dict_db *dd = (struct dict_db *)dict;

	(void)ddb_close_handle(dd);
	if (dd->tmp) {
		(void)unlink(dd->tmp);
		myfree(dd->tmp);
	}
	if (dd->lock_fd >= 0)
		close(dd->lock_fd);
	myfree(dd->path);
	strbuf_free(&dd->key);
	strbuf_free(&dd->value);
}

#define DDB_WRITE_CACHE (16U * 1024 * 1024)
#define DDB_READ_CACHE (128U * 1024)

/* Open (or with DB_CREATE make) the database file path. */
static int ddb_open_file(struct dict_db *dd, const char *path, u_int32_t oflags,
			 struct strbuf *why)
{
	int err;

	ddb_last_error[0] = 0;
	if ((err = db_create(&dd->db, NULL, 0)) != 0) {
		strbuf_printf(why, "db_create: %s", db_strerror(err));
		dd->db = NULL;
		return -1;
	}
	dd->db->set_errcall(dd->db, ddb_errcall);
	/*
	 * Berkeley DB's default 256 KiB cache makes a bulk build write out
	 * pages over and over (half of a 100,000-key build was system time).
	 * A writer gets a 16 MiB cache, a reader 128 KiB: the sizes Postfix
	 * uses for the same reason (bench/map-build.sh, doc/performance.md).
	 */
	(void)dd->db->set_cachesize(dd->db, 0,
				    (oflags & DB_RDONLY) ? DDB_READ_CACHE : DDB_WRITE_CACHE,
				    0);
	err = dd->db->open(dd->db, NULL, path, NULL, dd->dbtype, oflags, 0644);
	if (err != 0) {
		if (err == ENOENT)
			strbuf_printf(why, "open %s: %s", path, strerror(err));
		else
			strbuf_printf(why, "open database %s: %s%s%s", path,
				      db_strerror(err),
				      ddb_last_error[0] ? ": " : "",
				      ddb_last_error);
		ddb_last_error[0] = 0;
		(void)dd->db->close(dd->db, 0);
		dd->db = NULL;
		return -1;
	}
	return 0;
}

/* Create an empty table at dd->path unless one appeared meanwhile. */
static int ddb_create_empty(struct dict_db *dd, struct strbuf *why)
{
	char *tmp = dict_file_temp(dd->path, why);
	int ret = -1;

	if (tmp == NULL)
		return -1;
	if (ddb_open_file(dd, tmp, DB_CREATE, why) == 0 &&
	    ddb_close_handle(dd) == 0 &&
	    dict_file_install_new(tmp, dd->path, why) >= 0)
		ret = 0;
	(void)unlink(tmp);
	myfree(tmp);
	return ret;
}

static struct dict *ddb_open(const char *type, DBTYPE dbtype, const char *name,
			     int flags, struct strbuf *why)
{
	struct dict *dict =
	    dict_alloc(type, name, flags, sizeof(struct dict_db));
	struct dict_db *dd = (struct dict_db *)dict;
	int ret;

	dd->dbtype = dbtype;
	dd->lock_fd = -1;
	dd->path = dict_file_path(name, ".db");
	dd->key = strbuf_new(STRBUF_NO_MAX);
	dd->value = strbuf_new(STRBUF_NO_MAX);
	dict->lookup = ddb_lookup;
	dict->update = ddb_update;
	dict->remove = ddb_remove;
	dict->sequence = ddb_sequence;
	dict->commit = ddb_commit;
	dict->close = ddb_close;

	if (flags & DICT_TRUNC) {
		if ((dd->tmp = dict_file_temp(dd->path, why)) == NULL)
			goto fail;
		ret = ddb_open_file(dd, dd->tmp, DB_CREATE, why);
	} else if (flags & DICT_WRITE) {
		while ((dd->lock_fd = dict_file_lock(dd->path, why)) == -2) {
			if (!(flags & DICT_CREATE)) {
				strbuf_printf(why, "open %s: %s", dd->path,
					      strerror(ENOENT));
				goto fail;
			}
			if (ddb_create_empty(dd, why) < 0)
				goto fail;
		}
		if (dd->lock_fd < 0)
			goto fail;
		ret = ddb_open_file(dd, dd->path, 0, why);
	} else {
		ret = ddb_open_file(dd, dd->path, DB_RDONLY, why);
	}
	if (ret < 0)
		goto fail;
	dict_watch(dict, dd->path);
	return dict;

fail:
	dict_close(&dict);
	return NULL;
}

struct dict *dict_hash_open(const char *name, int flags, struct strbuf *why)
{
	return ddb_open("hash", DB_HASH, name, flags, why);
}

struct dict *dict_btree_open(const char *name, int flags, struct strbuf *why)
{
	return ddb_open("btree", DB_BTREE, name, flags, why);
}
