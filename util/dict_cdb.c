/*
 * dict_cdb - tinycdb tables; see dict_cdb.h.
 *
 * tinycdb checks every offset it reads against the file size and reports
 * a corrupt file as EPROTO, so a damaged table is a DICT_ERROR here and
 * never an out-of-bounds read or a silent "not found".
 */
#include <cdb.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "dict.h"
#include "dict_cdb.h"
#include "dict_file.h"
#include "dict_mem.h"
#include "mymalloc.h"
#include "strbuf.h"

struct dict_cdb {
	struct dict dict;
	struct cdb cdb; /* read mode */
	int fd;
	unsigned seq_pos;
	struct dict *mem; /* write modes: the whole table */
	char *path;
	int lock_fd;
	int committed;
	struct strbuf *key;
	struct strbuf *value;
};

static int cdb_err(struct dict_cdb *dc, const char *op)
{
	return dict_set_error(&dc->dict, "%s %s: %s", op, dc->path,
			      errno == EPROTO ? "corrupt cdb file"
					      : strerror(errno));
}

/* Copy len bytes at pos of the file, without a trailing NUL. */
static const char *cdb_copy(struct dict_cdb *dc, struct strbuf *out,
			    unsigned pos, unsigned len)
{
	const char *data = cdb_get(&dc->cdb, len, pos);

	if (data == NULL)
		return NULL;
	if (len > 0 && data[len - 1] == 0)
		len--;
	strbuf_reset(out);
	strbuf_append(out, data, len);
	return strbuf_str(out);
}

static int cdb_mem(struct dict_cdb *dc)
{
	if (dc->committed)
		return dict_set_error(&dc->dict, "%s: table already committed",
				      dc->path);
	return 0;
}

static int cdbd_lookup(struct dict *dict, const char *key, const char **value)
{
	struct dict_cdb *dc = (struct dict_cdb *)dict;
	size_t klen = strlen(key);
	int ret;

	if (dc->mem) {
		if (cdb_mem(dc) < 0)
			return DICT_ERROR;
		return dict_lookup(dc->mem, key, value);
	}
	for (int with_nul = 1; with_nul >= (*key ? 0 : 1); with_nul--) {
		errno = 0;
		ret = cdb_find(&dc->cdb, key, (unsigned)(klen + with_nul));
		if (ret < 0)
			return cdb_err(dc, "read");
		if (ret > 0) {
			*value = cdb_copy(dc, dc->value, cdb_datapos(&dc->cdb),
					  cdb_datalen(&dc->cdb));
			if (*value == NULL) {
				errno = EPROTO;
				return cdb_err(dc, "read");
			}
			return DICT_FOUND;
		}
	}
	return DICT_NOTFOUND;
}

static int cdbd_update(struct dict *dict, const char *key, const char *value)
{
	struct dict_cdb *dc = (struct dict_cdb *)dict;

	if (cdb_mem(dc) < 0)
		return DICT_ERROR;
	return dict_update(dc->mem, key, value);
}

static int cdbd_remove(struct dict *dict, const char *key)
{
	struct dict_cdb *dc = (struct dict_cdb *)dict;

	if (cdb_mem(dc) < 0)
		return DICT_ERROR;
	return dict_delete(dc->mem, key);
}

static int cdb_file_sequence(struct dict_cdb *dc, int first, const char **key,
			     const char **value)
{
	int ret;

	if (first)
		cdb_seqinit(&dc->seq_pos, &dc->cdb);
	errno = 0;
	if ((ret = cdb_seqnext(&dc->seq_pos, &dc->cdb)) < 0)
		return cdb_err(dc, "read");
	if (ret == 0)
		return DICT_NOTFOUND;
	*key =
	    cdb_copy(dc, dc->key, cdb_keypos(&dc->cdb), cdb_keylen(&dc->cdb));
	*value = cdb_copy(dc, dc->value, cdb_datapos(&dc->cdb),
			  cdb_datalen(&dc->cdb));
	if (*key == NULL || *value == NULL) {
		errno = EPROTO;
		return cdb_err(dc, "read");
	}
	return DICT_FOUND;
}

static int cdbd_sequence(struct dict *dict, int first, const char **key,
			 const char **value)
{
	struct dict_cdb *dc = (struct dict_cdb *)dict;

	if (dc->mem == NULL)
		return cdb_file_sequence(dc, first, key, value);
	if (cdb_mem(dc) < 0)
		return DICT_ERROR;
	return dict_sequence(dc->mem, first, key, value);
}

/* Write the in-memory table to tmp as a cdb file. */
static int cdb_write(struct dict_cdb *dc, const char *tmp)
{
	struct cdb_make cm;
	const char *key, *value;
	int fd, ret, first = 1;

	if ((fd = open(tmp, O_WRONLY | O_TRUNC | O_CLOEXEC)) < 0)
		return dict_set_error(&dc->dict, "open %s: %s", tmp,
				      strerror(errno));
	if (cdb_make_start(&cm, fd) < 0)
		goto fail;
	while ((ret = dict_sequence(dc->mem, first, &key, &value)) ==
	       DICT_FOUND) {
		first = 0;
		if (cdb_make_add(&cm, key, (unsigned)strlen(key) + 1, value,
				 (unsigned)strlen(value) + 1) < 0)
			goto fail;
	}
	if (cdb_make_finish(&cm) < 0)
		goto fail;
	if (close(fd) < 0)
		return dict_set_error(&dc->dict, "write %s: %s", tmp,
				      strerror(errno));
	return 0;

fail:
	ret = dict_set_error(&dc->dict, "write %s: %s", tmp, strerror(errno));
	close(fd);
	return ret;
}

static int cdbd_commit(struct dict *dict)
{
	struct dict_cdb *dc = (struct dict_cdb *)dict;
	char *tmp;
	int ret = 0;

	if (dc->mem == NULL)
		return 0;
	if (cdb_mem(dc) < 0)
		return DICT_ERROR;
	if ((tmp = dict_file_temp(dc->path, dict->why)) == NULL)
		return DICT_ERROR;
	if (cdb_write(dc, tmp) < 0 ||
	    dict_file_install(tmp, dc->path, dc->lock_fd >= 0, dict->why) < 0)
		ret = DICT_ERROR;
	else
		dc->committed = 1;
	(void)unlink(tmp);
	myfree(tmp);
	return ret;
}

static void cdbd_close(struct dict *dict)
{
	struct dict_cdb *dc = (struct dict_cdb *)dict;

	if (dc->fd >= 0) {
		cdb_free(&dc->cdb);
		close(dc->fd);
	}
	dict_close(&dc->mem);
	if (dc->lock_fd >= 0)
		close(dc->lock_fd);
	myfree(dc->path);
	strbuf_free(&dc->key);
	strbuf_free(&dc->value);
}

static int cdb_open_read(struct dict_cdb *dc, struct strbuf *why)
{
	if ((dc->fd = open(dc->path, O_RDONLY | O_CLOEXEC)) < 0) {
		strbuf_printf(why, "open %s: %s", dc->path, strerror(errno));
		return -1;
	}
	errno = 0;
	if (cdb_init(&dc->cdb, dc->fd) < 0) {
		strbuf_printf(why, "open database %s: %s", dc->path,
			      errno == EPROTO || errno == 0 ? "corrupt cdb file"
							    : strerror(errno));
		close(dc->fd);
		dc->fd = -1;
		return -1;
	}
	return 0;
}

/* Copy the current file into the in-memory table (for -i and -d). */
static int cdb_load(struct dict_cdb *dc, struct strbuf *why)
{
	const char *key, *value;
	int ret, first = 1;

	if (cdb_open_read(dc, why) < 0)
		return -1;
	dc->mem->flags |= DICT_DUP_REPLACE;
	while ((ret = cdb_file_sequence(dc, first, &key, &value)) ==
	       DICT_FOUND) {
		first = 0;
		if (dict_update(dc->mem, key, value) < 0)
			break;
	}
	dc->mem->flags &= ~DICT_DUP_REPLACE;
	dc->mem->flags |= dc->dict.flags & DICT_DUP_REPLACE;
	if (ret == DICT_ERROR)
		strbuf_puts(why, dict_error(&dc->dict));
	cdb_free(&dc->cdb);
	close(dc->fd);
	dc->fd = -1;
	return ret == DICT_ERROR ? -1 : 0;
}

/* Install an empty table at dc->path unless one appeared meanwhile. */
static int cdb_create_empty(struct dict_cdb *dc, struct strbuf *why)
{
	char *tmp = dict_file_temp(dc->path, why);
	int ret = -1;

	if (tmp == NULL)
		return -1;
	if (cdb_write(dc, tmp) < 0)
		strbuf_puts(why, dict_error(&dc->dict));
	else if (dict_file_install_new(tmp, dc->path, why) >= 0)
		ret = 0;
	(void)unlink(tmp);
	myfree(tmp);
	return ret;
}

struct dict *dict_cdb_open(const char *name, int flags, struct strbuf *why)
{
	struct dict *dict =
	    dict_alloc("cdb", name, flags, sizeof(struct dict_cdb));
	struct dict_cdb *dc = (struct dict_cdb *)dict;

	dc->fd = -1;
	dc->lock_fd = -1;
	dc->path = dict_file_path(name, ".cdb");
	dc->key = strbuf_new(STRBUF_NO_MAX);
	dc->value = strbuf_new(STRBUF_NO_MAX);
	dict->lookup = cdbd_lookup;
	dict->update = cdbd_update;
	dict->remove = cdbd_remove;
	dict->sequence = cdbd_sequence;
	dict->commit = cdbd_commit;
	dict->close = cdbd_close;

	if (flags & (DICT_WRITE | DICT_TRUNC))
		dc->mem = dict_mem_new("cdb", name,
				       DICT_WRITE | (flags & DICT_DUP_REPLACE));
	if (flags & DICT_TRUNC) {
		/* The new file is written whole by dict_commit. */
	} else if (flags & DICT_WRITE) {
		/* A missing table is first created empty, so that two
		 * creators serialise on its lock like any two writers. */
		while ((dc->lock_fd = dict_file_lock(dc->path, why)) == -2) {
			if (!(flags & DICT_CREATE)) {
				strbuf_printf(why, "open %s: %s", dc->path,
					      strerror(ENOENT));
				goto fail;
			}
			if (cdb_create_empty(dc, why) < 0)
				goto fail;
		}
		if (dc->lock_fd < 0 || cdb_load(dc, why) < 0)
			goto fail;
	} else if (cdb_open_read(dc, why) < 0) {
		goto fail;
	}
	dict_watch(dict, dc->path);
	return dict;

fail:
	dict_close(&dict);
	return NULL;
}
