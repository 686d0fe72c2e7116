/*
 * dict_lmdb - LMDB tables; see dict_lmdb.h.
 *
 * LMDB maps the file into memory. A file cut short (a copy interrupted, a
 * full disk) would turn a lookup into SIGBUS, so the open compares the
 * last page the meta data claims with the file size and refuses a file
 * that is too short: an error the caller can defer on, not a crash.
 */
#include <errno.h>
#include <lmdb.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dict.h"
#include "dict_file.h"
#include "dict_lmdb.h"
#include "mymalloc.h"
#include "strbuf.h"

struct dict_lmdb {
	struct dict dict;
	MDB_env *env;
	MDB_dbi dbi;
	MDB_txn *wtxn;	  /* write modes: the pending transaction */
	MDB_txn *seq_txn; /* read mode: the transaction of a listing */
	MDB_cursor *cursor;
	char *path; /* NAME.lmdb */
	char *tmp;  /* build file until dict_commit */
	int lock_fd;
	struct strbuf *key;
	struct strbuf *value;
};

static int lm_error(struct dict_lmdb *dl, const char *op, int err)
{
	return dict_set_error(&dl->dict, "%s %s: %s", op, dl->path,
			      mdb_strerror(err));
}

static const char *lm_copy(struct strbuf *out, const MDB_val *d)
{
	size_t len = d->mv_size;

	if (len > 0 && ((const char *)d->mv_data)[len - 1] == 0)
		len--;
	strbuf_reset(out);
	strbuf_append(out, d->mv_data, len);
	return strbuf_str(out);
}

static void lm_datum(MDB_val *d, const char *str, int with_nul)
{
	d->mv_data = (void *)str;
	d->mv_size = strlen(str) + (with_nul ? 1 : 0);
}

static int lm_writing(const struct dict_lmdb *dl)
{
	return (dl->dict.flags & (DICT_WRITE | DICT_TRUNC)) != 0;
}

/* The transaction for one operation: the pending write transaction (begun
 * on first use), or a fresh read-only one that the caller ends. */
static int lm_txn(struct dict_lmdb *dl, MDB_txn **txn)
{
	int err;

	if (dl->env == NULL)
		return dict_set_error(&dl->dict, "%s: table already committed",
				      dl->path);
	if (!lm_writing(dl))
		err = mdb_txn_begin(dl->env, NULL, MDB_RDONLY, txn);
	else if (dl->wtxn == NULL)
		err = mdb_txn_begin(dl->env, NULL, 0, &dl->wtxn);
	else
		err = 0;
	if (err)
		return lm_error(dl, "begin transaction on", err);
	if (lm_writing(dl))
		*txn = dl->wtxn;
	return 0;
}

static void lm_txn_done(struct dict_lmdb *dl, MDB_txn *txn)
{
	if (!lm_writing(dl))
		mdb_txn_abort(txn);
}

static int lm_lookup(struct dict *dict, const char *key, const char **value)
{
	struct dict_lmdb *dl = (struct dict_lmdb *)dict;
	MDB_txn *txn;
	MDB_val k, v;
	int err = MDB_NOTFOUND;

	if (lm_txn(dl, &txn) < 0)
		return DICT_ERROR;
	for (int with_nul = 1;
	     with_nul >= (*key ? 0 : 1) && err == MDB_NOTFOUND; with_nul--) {
		lm_datum(&k, key, with_nul);
		if ((err = mdb_get(txn, dl->dbi, &k, &v)) == 0)
			*value = lm_copy(dl->value, &v);
	}
	lm_txn_done(dl, txn);
	if (err == 0)
		return DICT_FOUND;
	if (err == MDB_NOTFOUND)
		return DICT_NOTFOUND;
	return lm_error(dl, "read", err);
}

static int lm_update(struct dict *dict, const char *key, const char *value)
{
	struct dict_lmdb *dl = (struct dict_lmdb *)dict;
	unsigned flags = (dict->flags & DICT_DUP_REPLACE) ? 0 : MDB_NOOVERWRITE;
	MDB_txn *txn;
	MDB_val k, v;
	int err;

	if (lm_txn(dl, &txn) < 0)
		return DICT_ERROR;
	lm_datum(&k, key, 1);
	lm_datum(&v, value, 1);
	err = mdb_put(txn, dl->dbi, &k, &v, flags);
	if (err == MDB_KEYEXIST)
		return DICT_EXISTS;
	if (err != 0) {
		/* A failed put poisons the transaction: drop it whole. */
		mdb_txn_abort(dl->wtxn);
		dl->wtxn = NULL;
		return lm_error(dl, "write", err);
	}
	return 0;
}

static int lm_remove(struct dict *dict, const char *key)
{
	struct dict_lmdb *dl = (struct dict_lmdb *)dict;
	MDB_txn *txn;
	MDB_val k;
	int err = MDB_NOTFOUND;

	if (lm_txn(dl, &txn) < 0)
		return DICT_ERROR;
	for (int with_nul = 1;
	     with_nul >= (*key ? 0 : 1) && err == MDB_NOTFOUND; with_nul--) {
		lm_datum(&k, key, with_nul);
		err = mdb_del(txn, dl->dbi, &k, NULL);
	}
	if (err == 0)
		return DICT_FOUND;
	if (err == MDB_NOTFOUND)
		return DICT_NOTFOUND;
	mdb_txn_abort(dl->wtxn);
	dl->wtxn = NULL;
	return lm_error(dl, "delete from", err);
}

static void lm_end_sequence(struct dict_lmdb *dl)
{
	if (dl->cursor)
		mdb_cursor_close(dl->cursor);
	dl->cursor = NULL;
	if (dl->seq_txn)
		mdb_txn_abort(dl->seq_txn);
	dl->seq_txn = NULL;
}

static int lm_sequence(struct dict *dict, int first, const char **key,
		       const char **value)
{
	struct dict_lmdb *dl = (struct dict_lmdb *)dict;
	MDB_txn *txn;
	MDB_val k, v;
	int err;

	if (first || dl->cursor == NULL) {
		lm_end_sequence(dl);
		if (lm_txn(dl, &txn) < 0)
			return DICT_ERROR;
		if (!lm_writing(dl))
			dl->seq_txn = txn;
		if ((err = mdb_cursor_open(txn, dl->dbi, &dl->cursor)) != 0) {
			lm_end_sequence(dl);
			return lm_error(dl, "read", err);
		}
		first = 1;
	}
	err = mdb_cursor_get(dl->cursor, &k, &v, first ? MDB_FIRST : MDB_NEXT);
	if (err == MDB_NOTFOUND) {
		lm_end_sequence(dl);
		return DICT_NOTFOUND;
	}
	if (err != 0) {
		lm_end_sequence(dl);
		return lm_error(dl, "read", err);
	}
	*key = lm_copy(dl->key, &k);
	*value = lm_copy(dl->value, &v);
	return DICT_FOUND;
}

static void lm_close_env(struct dict_lmdb *dl)
{
	lm_end_sequence(dl);
	if (dl->wtxn)
		mdb_txn_abort(dl->wtxn);
	dl->wtxn = NULL;
	if (dl->env)
		mdb_env_close(dl->env);
	dl->env = NULL;
}

static int lm_commit(struct dict *dict)
{
	struct dict_lmdb *dl = (struct dict_lmdb *)dict;
	int err;

	if (dl->env == NULL)
		return dict_set_error(dict, "%s: table already committed",
				      dl->path);
	lm_end_sequence(dl);
	if (dl->wtxn) {
		err = mdb_txn_commit(dl->wtxn);
		dl->wtxn = NULL;
		if (err)
			return lm_error(dl, "commit", err);
	}
	if ((err = mdb_env_sync(dl->env, 1)) != 0)
		return lm_error(dl, "sync", err);
	if (dl->tmp == NULL)
		return 0;
	lm_close_env(dl);
	if (dict_file_install(dl->tmp, dl->path, 0, dict->why) < 0)
		return DICT_ERROR;
	myfree(dl->tmp);
	return 0;
}

static void lm_close(struct dict *dict)
{
	struct dict_lmdb *dl = (struct dict_lmdb *)dict;

	lm_close_env(dl);
	if (dl->tmp) {
		(void)unlink(dl->tmp);
		myfree(dl->tmp);
	}
	if (dl->lock_fd >= 0)
		close(dl->lock_fd);
	myfree(dl->path);
	strbuf_free(&dl->key);
	strbuf_free(&dl->value);
}

/* Refuse a file shorter than its meta data says: mapping it would fault. */
static int lm_check_size(struct dict_lmdb *dl, const char *path,
			 struct strbuf *why)
{
	MDB_envinfo info;
	MDB_stat stat;
	struct stat st;

	if (mdb_env_info(dl->env, &info) != 0 ||
	    mdb_env_stat(dl->env, &stat) != 0 || stat.ms_psize == 0) {
		strbuf_printf(why, "open %s: cannot read LMDB meta data", path);
		return -1;
	}
	if (lstat(path, &st) < 0) {
		strbuf_printf(why, "stat %s: %s", path, strerror(errno));
		return -1;
	}
	if (st.st_size > 0 &&
	    ((uint64_t)info.me_last_pgno + 1) * stat.ms_psize >
		(uint64_t)st.st_size) {
		strbuf_printf(why, "open %s: file is truncated (corrupt table)",
			      path);
		return -1;
	}
	return 0;
}

static int lm_open_file(struct dict_lmdb *dl, const char *path, unsigned mflags,
			struct strbuf *why)
{
	MDB_txn *txn;
	struct stat st;
	size_t map_size = DICT_LMDB_MAP_SIZE;
	int err;

	if ((err = mdb_env_create(&dl->env)) != 0) {
		strbuf_printf(why, "mdb_env_create: %s", mdb_strerror(err));
		dl->env = NULL;
		return -1;
	}
	if (!(mflags & MDB_RDONLY)) {
		if (stat(path, &st) == 0 && (size_t)st.st_size > map_size / 2)
			map_size = mymalloc_mul((size_t)st.st_size, 2);
		(void)mdb_env_set_mapsize(dl->env, map_size);
	}
	err = mdb_env_open(dl->env, path, mflags | MDB_NOSUBDIR, 0644);
	if (err != 0) {
		if (err == ENOENT || err == EACCES)
			strbuf_printf(why, "open %s: %s", path, strerror(err));
		else
			strbuf_printf(why, "open database %s: %s", path,
				      mdb_strerror(err));
		goto fail;
	}
	if (lm_check_size(dl, path, why) < 0)
		goto fail;
	if ((err = mdb_txn_begin(dl->env, NULL, mflags & MDB_RDONLY, &txn))) {
		strbuf_printf(why, "open %s: %s", path, mdb_strerror(err));
		goto fail;
	}
	if ((err = mdb_dbi_open(txn, NULL, 0, &dl->dbi)) != 0 ||
	    (err = mdb_txn_commit(txn)) != 0) {
		if (err)
			mdb_txn_abort(txn);
		strbuf_printf(why, "open database %s: %s", path,
			      mdb_strerror(err));
		goto fail;
	}
	return 0;

fail:
	mdb_env_close(dl->env);
	dl->env = NULL;
	return -1;
}

static int lm_create_empty(struct dict_lmdb *dl, struct strbuf *why)
{
	char *tmp = dict_file_temp(dl->path, why);
	int ret = -1;

	if (tmp == NULL)
		return -1;
	if (lm_open_file(dl, tmp, MDB_NOLOCK, why) == 0) {
		lm_close_env(dl);
		if (dict_file_install_new(tmp, dl->path, why) >= 0)
			ret = 0;
	}
	(void)unlink(tmp);
	myfree(tmp);
	return ret;
}

struct dict *dict_lmdb_open(const char *name, int flags, struct strbuf *why)
{
	struct dict *dict =
	    dict_alloc("lmdb", name, flags, sizeof(struct dict_lmdb));
	struct dict_lmdb *dl = (struct dict_lmdb *)dict;
	int ret;

	dl->lock_fd = -1;
	dl->path = dict_file_path(name, ".lmdb");
	dl->key = strbuf_new(STRBUF_NO_MAX);
	dl->value = strbuf_new(STRBUF_NO_MAX);
	dict->lookup = lm_lookup;
	dict->update = lm_update;
	dict->remove = lm_remove;
	dict->sequence = lm_sequence;
	dict->commit = lm_commit;
	dict->close = lm_close;

	if (flags & DICT_TRUNC) {
		if ((dl->tmp = dict_file_temp(dl->path, why)) == NULL)
			goto fail;
		/* Nobody else knows the temporary file: no LMDB lock file. */
		ret = lm_open_file(dl, dl->tmp, MDB_NOLOCK, why);
	} else if (flags & DICT_WRITE) {
		while ((dl->lock_fd = dict_file_lock(dl->path, why)) == -2) {
			if (!(flags & DICT_CREATE)) {
				strbuf_printf(why, "open %s: %s", dl->path,
					      strerror(ENOENT));
				goto fail;
			}
			if (lm_create_empty(dl, why) < 0)
				goto fail;
		}
		if (dl->lock_fd < 0)
			goto fail;
		ret = lm_open_file(dl, dl->path, 0, why);
	} else {
		ret = lm_open_file(dl, dl->path, MDB_RDONLY, why);
	}
	if (ret < 0)
		goto fail;
	dict_watch(dict, dl->path);
	return dict;

fail:
	dict_close(&dict);
	return NULL;
}
