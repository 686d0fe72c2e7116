/*
 * queue_testutil - helpers shared by the queue file unit tests: a
 * private queue directory per test (every queue created, removed after)
 * and a writer of hand-made, possibly malformed, committed-looking files.
 */
#ifndef POSTERN_QUEUE_TESTUTIL_H
#define POSTERN_QUEUE_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "mail_queue.h"
#include "record.h"
#include "rstream.h"
#include "strbuf.h"

struct qt_fixture {
	char dir[256];
	struct mail_queue *mq;
	struct strbuf *why;
};

/* A cmocka setup: $TMPDIR/name.XXXXXX with every queue in it. */
static inline int qt_setup(void **state, const char *name)
{
	struct qt_fixture *f = calloc(1, sizeof(*f));
	struct mail_queue_params p = {
	    .hash_names = "deferred, defer",
	    .hash_depth = 1,
	    .directory_sync = 1,
	};
	const char *tmp = getenv("TMPDIR");
	char path[512];

	if (f == NULL)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "%s/%s.XXXXXX", tmp ? tmp : "/tmp",
		 name);
	if (mkdtemp(f->dir) == NULL)
		return -1;
	for (int i = 0; mail_queue_names[i]; i++) {
		snprintf(path, sizeof(path), "%s/%s", f->dir,
			 mail_queue_names[i]);
		if (mkdir(path, 0700) < 0)
			return -1;
	}
	f->why = strbuf_new(STRBUF_NO_MAX);
	p.directory = f->dir;
	if ((f->mq = mail_queue_open(&p, f->why)) == NULL)
		return -1;
	*state = f;
	return 0;
}

static inline int qt_teardown(void **state)
{
	struct qt_fixture *f = *state;
	char cmd[600];

	mail_queue_close(&f->mq);
	strbuf_free(&f->why);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", f->dir);
	free(f);
	return 0;
}

struct qt_raw {
	int type;
	const char *data;
};

/* Write incoming/ID by hand: v, a C record with the M and X offsets
 * computed from the records (X at x_at instead when it is not 0), the
 * records, mode 0700. The new ID goes to id. */
static inline void qt_craft(struct qt_fixture *f, const struct qt_raw *recs,
			    size_t n, off_t x_at, char *id, size_t idsize)
{
	struct strbuf *sid = strbuf_new(MAIL_QUEUE_ID_MAX);
	struct rstream *s;
	off_t off, m_found = 0, x_found = 0;
	int fd;

	assert_int_equal(
	    mail_queue_enter(f->mq, "incoming", 0600, sid, &fd, f->why), 0);
	snprintf(id, idsize, "%s", strbuf_str(sid));
	strbuf_free(&sid);
	off = (off_t)(rec_size(strlen(REC_VERSION_CURRENT)) + rec_size(79));
	for (size_t i = 0; i < n; i++) {
		if (recs[i].type == 'M' && m_found == 0)
			m_found = off;
		if (recs[i].type == 'X' && x_found == 0)
			x_found = off;
		off += (off_t)rec_size(strlen(recs[i].data));
	}
	if (x_at == 0)
		x_at = x_found;
	s = rstream_fdopen(fd, 0);
	assert_int_equal(rec_puts(s, REC_TYPE_VERSION, REC_VERSION_CURRENT), 0);
	assert_int_equal(
	    rec_printf(s, REC_TYPE_SIZE, "%15lld %15lld %15d %15d %15d",
		       (long long)m_found, (long long)x_at, 0, 0, 0),
	    0);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(rec_put(s, recs[i].type, recs[i].data,
					 strlen(recs[i].data)),
				 0);
	assert_int_equal(rstream_flush(s), 0);
	assert_int_equal(fchmod(fd, 0700), 0);
	assert_int_equal(rstream_close(&s), 0);
}

#endif
