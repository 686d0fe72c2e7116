/*
 * test_queue_envelope - reading a queue file's envelope and recipients
 * in one call (global/queue_envelope.c): real files written with
 * queue_file_create/queue_file_commit, done marks, the recipient limit,
 * the content skipped by queue_file_skip_content, and hand-made
 * malformed files.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "dsn.h"
#include "mail_queue.h"
#include "queue_envelope.h"
#include "queue_file.h"
#include "strbuf.h"

#include "queue_testutil.h"

static int setup(void **state)
{
	return qt_setup(state, "test_queue_envelope");
}

#define CHECK(expr) assert_int_equal((expr), 0)
#define COUNT(a)    (sizeof(a) / sizeof((a)[0]))

/* Everything the reader knows about, written through the queue_file
 * API as cleanup writes it. Returns the ID in id. */
static void write_full(struct qt_fixture *f, char *id, size_t size)
{
	struct queue_file *qf;
	struct queue_rcpt r1 = {
	    .address = "alice@example.org",
	    .orig = "Alice@Example.ORG",
	    .dsn_orcpt = "rfc822;Alice@Example.ORG",
	    .dsn_notify = DSN_NOTIFY_FAILURE | DSN_NOTIFY_DELAY,
	};
	struct queue_rcpt r2 = {.address = "bob@example.net"};
	struct queue_rcpt r3 = {
	    .address = "carol@example.com",
	    .dsn_notify = DSN_NOTIFY_NEVER,
	};

	CHECK(queue_file_create(f->mq, "incoming", &qf, f->why));
	snprintf(id, size, "%s", queue_file_id(qf));
	CHECK(queue_file_time(qf, 1760000000, 123456, f->why));
	CHECK(queue_file_sender(qf, "sender@example.com", f->why));
	CHECK(queue_file_put(qf, REC_TYPE_DSN_ENVID, "env-1", 5, f->why));
	CHECK(queue_file_put(qf, REC_TYPE_DSN_RET, "2", 1, f->why));
	CHECK(queue_file_attr(qf, "client_name", "mx.example", f->why));
	CHECK(queue_file_attr(qf, "client_address", "192.0.2.1", f->why));
	CHECK(queue_file_attr(qf, "rewrite_context", "remote", f->why));
	CHECK(queue_file_rcpt(qf, &r1, f->why));
	CHECK(queue_file_rcpt(qf, &r2, f->why));
	CHECK(queue_file_warn(qf, 0, f->why));
	CHECK(queue_file_content(qf, f->why));
	CHECK(queue_file_line(qf, "Subject: hi", 11, f->why));
	CHECK(queue_file_line(qf, "", 0, f->why));
	CHECK(queue_file_line(qf, "body \xc3\xa9", 7, f->why));
	CHECK(queue_file_extracted(qf, f->why));
	CHECK(queue_file_put(qf, REC_TYPE_RDR, "elsewhere@example.org", 21,
			     f->why));
	CHECK(queue_file_attr(qf, "content_filter", "smtp:[127.0.0.1]:10025",
			      f->why));
	CHECK(queue_file_rcpt(qf, &r3, f->why));
	CHECK(queue_file_commit(&qf, f->why));
}

/* Open incoming/id and read its envelope. */
static int read_env(struct qt_fixture *f, const char *id,
		    const struct queue_envelope_params *params,
		    struct queue_envelope *env)
{
	struct queue_file *qf;
	int status;

	memset(env, 0, sizeof(*env));
	status = queue_file_open(f->mq, "incoming", id, 0, &qf, f->why);
	if (status != QUEUE_FILE_OK)
		return status;
	status = queue_envelope_read(qf, params, env, f->why);
	queue_file_close(&qf);
	return status;
}

/* The offsets of the R and D records, as queue_file_read reports them. */
static size_t rcpt_offsets(struct qt_fixture *f, const char *id, off_t *out,
			   size_t max)
{
	struct queue_file *qf;
	struct queue_rec rec;
	size_t n = 0;

	CHECK(queue_file_open(f->mq, "incoming", id, 0, &qf, f->why));
	while (queue_file_read(qf, &rec, f->why) == QUEUE_FILE_OK &&
	       rec.type != REC_TYPE_EOF)
		if ((rec.type == REC_TYPE_RCPT || rec.type == REC_TYPE_DONE) &&
		    n < max)
			out[n++] = rec.offset;
	queue_file_close(&qf);
	return n;
}

static void test_full_envelope(void **state)
{
	struct qt_fixture *f = *state;
	struct queue_envelope env;
	char id[64];
	off_t off[8];

	write_full(f, id, sizeof(id));
	assert_int_equal(rcpt_offsets(f, id, off, COUNT(off)), 3);
	assert_int_equal(read_env(f, id, NULL, &env), QUEUE_FILE_OK);
	assert_int_equal(env.arrival_sec, 1760000000);
	assert_int_equal(env.arrival_usec, 123456);
	assert_string_equal(env.sender, "sender@example.com");
	assert_string_equal(env.dsn_envid, "env-1");
	assert_int_equal(env.dsn_ret, DSN_RET_HDRS);
	assert_string_equal(env.redirect, "elsewhere@example.org");
	assert_string_equal(env.content_filter, "smtp:[127.0.0.1]:10025");
	assert_string_equal(env.client_name, "mx.example");
	assert_string_equal(env.client_addr, "192.0.2.1");
	assert_true(env.warn_offset > 0);
	assert_int_equal(env.warn_sent, 0);

	assert_int_equal(env.rcpt_count, 3);
	assert_int_equal(env.rcpt_done, 0);
	assert_int_equal(env.rcpt_dropped, 0);
	assert_string_equal(env.rcpt[0].address, "alice@example.org");
	assert_string_equal(env.rcpt[0].orig, "Alice@Example.ORG");
	assert_string_equal(env.rcpt[0].dsn_orcpt, "rfc822;Alice@Example.ORG");
	assert_int_equal(env.rcpt[0].dsn_notify,
			 DSN_NOTIFY_FAILURE | DSN_NOTIFY_DELAY);
	/* The second has no modifiers: none leak from the first. */
	assert_string_equal(env.rcpt[1].address, "bob@example.net");
	assert_string_equal(env.rcpt[1].orig, "");
	assert_string_equal(env.rcpt[1].dsn_orcpt, "");
	assert_int_equal(env.rcpt[1].dsn_notify, 0);
	/* The extracted segment's recipient, after the skipped content. */
	assert_string_equal(env.rcpt[2].address, "carol@example.com");
	assert_int_equal(env.rcpt[2].dsn_notify, DSN_NOTIFY_NEVER);
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(env.rcpt[i].offset, off[i]);
		assert_false(env.rcpt[i].done);
	}
	queue_envelope_free(&env);
	assert_null(env.sender);
	assert_null(env.rcpt);

	/* The W offset is the one queue_file_set_warn accepts. */
	{
		struct queue_file *qf;
		off_t w;

		assert_int_equal(read_env(f, id, NULL, &env), QUEUE_FILE_OK);
		w = env.warn_offset;
		queue_envelope_free(&env);
		CHECK(queue_file_open(f->mq, "incoming", id,
				      QUEUE_FILE_FLAG_RDWR, &qf, f->why));
		CHECK(queue_file_set_warn(qf, w, 1770000000, f->why));
		queue_file_close(&qf);
		assert_int_equal(read_env(f, id, NULL, &env), QUEUE_FILE_OK);
		assert_int_equal(env.warn_sent, 1770000000);
		queue_envelope_free(&env);
	}
}

/* A minimal file: no optional record gives NULL and zeros. */
static void test_minimal(void **state)
{
	struct qt_fixture *f = *state;
	struct queue_file *qf;
	struct queue_rcpt r = {.address = ""};
	struct queue_envelope env;
	char id[64];

	CHECK(queue_file_create(f->mq, "incoming", &qf, f->why));
	snprintf(id, sizeof(id), "%s", queue_file_id(qf));
	CHECK(queue_file_time(qf, 5, 0, f->why));
	CHECK(queue_file_sender(qf, "", f->why));
	CHECK(queue_file_rcpt(qf, &r, f->why));
	CHECK(queue_file_commit(&qf, f->why));
	assert_int_equal(read_env(f, id, NULL, &env), QUEUE_FILE_OK);
	assert_string_equal(env.sender, "");
	assert_null(env.dsn_envid);
	assert_int_equal(env.dsn_ret, DSN_RET_NONE);
	assert_null(env.redirect);
	assert_null(env.content_filter);
	assert_null(env.client_name);
	assert_null(env.client_addr);
	assert_int_equal(env.warn_offset, 0);
	assert_int_equal(env.rcpt_count, 1);
	assert_string_equal(env.rcpt[0].address, "");
	queue_envelope_free(&env);
}

/* Done recipients: left out by default, their modifiers with them;
 * listed with QUEUE_ENVELOPE_FLAG_DONE. */
static void test_done(void **state)
{
	struct qt_fixture *f = *state;
	struct queue_envelope_params all = {.flags = QUEUE_ENVELOPE_FLAG_DONE};
	struct queue_envelope env;
	struct queue_file *qf;
	char id[64];
	off_t off[8];

	write_full(f, id, sizeof(id));
	assert_int_equal(rcpt_offsets(f, id, off, COUNT(off)), 3);
	CHECK(queue_file_open(f->mq, "incoming", id, QUEUE_FILE_FLAG_RDWR, &qf,
			      f->why));
	CHECK(queue_file_mark_done(qf, off[0], f->why));
	CHECK(queue_file_mark_done(qf, off[2], f->why));
	queue_file_close(&qf);

	assert_int_equal(read_env(f, id, NULL, &env), QUEUE_FILE_OK);
	assert_int_equal(env.rcpt_count, 1);
	assert_int_equal(env.rcpt_done, 2);
	assert_string_equal(env.rcpt[0].address, "bob@example.net");
	assert_string_equal(env.rcpt[0].orig, "");
	assert_int_equal(env.rcpt[0].dsn_notify, 0);
	assert_int_equal(env.rcpt[0].offset, off[1]);
	queue_envelope_free(&env);

	assert_int_equal(read_env(f, id, &all, &env), QUEUE_FILE_OK);
	assert_int_equal(env.rcpt_count, 3);
	assert_int_equal(env.rcpt_done, 2);
	assert_true(env.rcpt[0].done);
	assert_string_equal(env.rcpt[0].orig, "Alice@Example.ORG");
	assert_false(env.rcpt[1].done);
	assert_true(env.rcpt[2].done);
	assert_int_equal(env.rcpt[2].offset, off[2]);
	queue_envelope_free(&env);
}

/* Recipients past the limit are counted, not kept. */
static void test_limit(void **state)
{
	struct qt_fixture *f = *state;
	struct queue_envelope_params two = {.rcpt_limit = 2};
	struct queue_envelope env;
	struct queue_file *qf;
	char id[64], addr[32];

	CHECK(queue_file_create(f->mq, "incoming", &qf, f->why));
	snprintf(id, sizeof(id), "%s", queue_file_id(qf));
	CHECK(queue_file_time(qf, 5, 0, f->why));
	CHECK(queue_file_sender(qf, "s@x", f->why));
	for (int i = 0; i < 5; i++) {
		struct queue_rcpt r = {.address = addr, .orig = "o@x"};

		snprintf(addr, sizeof(addr), "r%d@x", i);
		CHECK(queue_file_rcpt(qf, &r, f->why));
	}
	CHECK(queue_file_commit(&qf, f->why));
	assert_int_equal(read_env(f, id, &two, &env), QUEUE_FILE_OK);
	assert_int_equal(env.rcpt_count, 2);
	assert_int_equal(env.rcpt_dropped, 3);
	assert_string_equal(env.rcpt[1].address, "r1@x");
	queue_envelope_free(&env);
	assert_int_equal(read_env(f, id, NULL, &env), QUEUE_FILE_OK);
	assert_int_equal(env.rcpt_count, 5);
	assert_int_equal(env.rcpt_dropped, 0);
	queue_envelope_free(&env);
}

struct seen {
	int lines, mesg, xtra, stop;
};

static int count_other(void *ctx, const struct queue_rec *rec,
		       struct strbuf *why)
{
	struct seen *s = ctx;

	s->lines += rec->type == REC_TYPE_NORM || rec->type == REC_TYPE_CONT;
	s->mesg += rec->type == REC_TYPE_MESG;
	s->xtra += rec->type == REC_TYPE_XTRA;
	if (s->stop && rec->type == REC_TYPE_NORM) {
		strbuf_why(why, "stopped by the callback");
		return QUEUE_FILE_ERROR;
	}
	return 0;
}

/* The content is skipped with one seek unless a callback wants it: a
 * damaged content line is not even read then. */
static void test_skip_content(void **state)
{
	struct qt_fixture *f = *state;
	struct seen seen = {0};
	struct queue_envelope_params look = {.other = count_other,
					     .ctx = &seen};
	struct queue_envelope_params whole = {
	    .flags = QUEUE_ENVELOPE_FLAG_CONTENT};
	struct queue_envelope env;
	struct queue_file *qf;
	char id[64], path[600];
	off_t m_at;
	int fd;

	write_full(f, id, sizeof(id));
	assert_int_equal(read_env(f, id, &look, &env), QUEUE_FILE_OK);
	assert_int_equal(seen.lines, 3);
	assert_int_equal(seen.mesg, 1);
	assert_int_equal(seen.xtra, 1);
	assert_int_equal(env.rcpt_count, 3);
	queue_envelope_free(&env);

	seen = (struct seen){.stop = 1};
	assert_int_equal(read_env(f, id, &look, &env), QUEUE_FILE_ERROR);
	assert_string_equal(strbuf_str(f->why), "stopped by the callback");
	queue_envelope_free(&env);

	/* Turn the first content line's type byte (just after the empty
	 * M record) into one no reader knows. */
	CHECK(queue_file_open(f->mq, "incoming", id, 0, &qf, f->why));
	m_at = queue_file_size(qf)->content_offset;
	queue_file_close(&qf);
	snprintf(path, sizeof(path), "%s/incoming/%s", f->dir, id);
	assert_true((fd = open(path, O_WRONLY | O_CLOEXEC)) >= 0);
	assert_int_equal(pwrite(fd, "\x01", 1, m_at + 2), 1);
	close(fd);

	assert_int_equal(read_env(f, id, NULL, &env), QUEUE_FILE_OK);
	assert_int_equal(env.rcpt_count, 3);
	assert_string_equal(env.rcpt[2].address, "carol@example.com");
	queue_envelope_free(&env);
	seen = (struct seen){0};
	assert_int_equal(read_env(f, id, &look, &env), QUEUE_FILE_CORRUPT);
	queue_envelope_free(&env);
	assert_int_equal(read_env(f, id, &whole, &env), QUEUE_FILE_CORRUPT);
	assert_non_null(strstr(strbuf_str(f->why), "unknown record type"));
	queue_envelope_free(&env);
}

static void expect_status(struct qt_fixture *f, const struct qt_raw *recs,
			  size_t n, off_t x_at, int status, const char *reason)
{
	struct queue_envelope env;
	char id[64];

	qt_craft(f, recs, n, x_at, id, sizeof(id));
	assert_int_equal(read_env(f, id, NULL, &env), status);
	queue_envelope_free(&env);
	if (reason != NULL && strstr(strbuf_str(f->why), reason) == NULL)
		fail_msg("reason \"%s\" lacks \"%s\"", strbuf_str(f->why),
			 reason);
}

#define HEAD {'T', "1 2"}, {'S', "s@x"}
#define TAIL {'M', ""}, {'N', "x"}, {'X', ""}, {'E', ""}

static void test_modifier_runs(void **state)
{
	struct qt_fixture *f = *state;
	/* What queue_file_rcpt writes, and a D taking its modifiers. */
	static const struct qt_raw good[] = {
	    HEAD,	  {'o', "rfc822;a@x"}, {'n', "4"}, {'O', "A@x"},
	    {'R', "a@x"}, {'O', "B@x"},	       {'D', "b@x"}, TAIL,
	};
	static const struct qt_raw other_between[] = {
	    HEAD, {'O', "A@x"}, {'A', "x=y"}, {'R', "a@x"}, TAIL,
	};
	static const struct qt_raw before_content[] = {
	    HEAD, {'R', "a@x"}, {'n', "2"}, TAIL,
	};
	static const struct qt_raw twice[] = {
	    HEAD, {'O', "A@x"}, {'O', "B@x"}, {'R', "a@x"}, TAIL,
	};
	static const struct qt_raw dangling_extracted[] = {
	    HEAD, {'R', "a@x"}, {'M', ""}, {'N', "x"},
	    {'X', ""}, {'o', "rfc822;a@x"}, {'E', ""},
	};
	struct queue_envelope env;
	char id[64];

	qt_craft(f, good, COUNT(good), 0, id, sizeof(id));
	assert_int_equal(read_env(f, id, NULL, &env), QUEUE_FILE_OK);
	assert_int_equal(env.rcpt_count, 1);
	assert_int_equal(env.rcpt_done, 1);
	assert_string_equal(env.rcpt[0].orig, "A@x");
	assert_int_equal(env.rcpt[0].dsn_notify, DSN_NOTIFY_FAILURE);
	queue_envelope_free(&env);

	expect_status(f, other_between, COUNT(other_between), 0,
		      QUEUE_FILE_CORRUPT,
		      "not followed by its recipient record (named_attribute");
	expect_status(f, before_content, COUNT(before_content), 0,
		      QUEUE_FILE_CORRUPT, "not followed by its recipient");
	expect_status(f, twice, COUNT(twice), 0, QUEUE_FILE_CORRUPT,
		      "second original_recipient record");
	expect_status(f, dangling_extracted, COUNT(dangling_extracted), 0,
		      QUEUE_FILE_CORRUPT, "not followed by its recipient");
}

static void test_bad_numbers(void **state)
{
	struct qt_fixture *f = *state;
	static const struct qt_raw notify_word[] = {
	    HEAD, {'n', "all"}, {'R', "a@x"}, TAIL};
	static const struct qt_raw notify_zero[] = {
	    HEAD, {'n', "0"}, {'R', "a@x"}, TAIL};
	static const struct qt_raw notify_big[] = {
	    HEAD, {'n', "16"}, {'R', "a@x"}, TAIL};
	static const struct qt_raw ret_bad[] = {HEAD, {'<', "3"}, {'R', "a@x"},
					     TAIL};
	static const struct qt_raw ret_sign[] = {HEAD, {'<', "+1"}, {'R', "a@x"},
					      TAIL};
	static const struct qt_raw warn_bad[] = {
	    HEAD, {'W', "00000000000000x"}, {'R', "a@x"}, TAIL};
	static const struct qt_raw warn_huge[] = {
	    HEAD, {'W', "99999999999999999999"}, {'R', "a@x"}, TAIL};

	expect_status(f, notify_word, COUNT(notify_word), 0,
		      QUEUE_FILE_CORRUPT, "bad DSN NOTIFY record at offset");
	expect_status(f, notify_zero, COUNT(notify_zero), 0,
		      QUEUE_FILE_CORRUPT, "bad DSN NOTIFY");
	expect_status(f, notify_big, COUNT(notify_big), 0, QUEUE_FILE_CORRUPT,
		      "bad DSN NOTIFY");
	expect_status(f, ret_bad, COUNT(ret_bad), 0, QUEUE_FILE_CORRUPT,
		      "bad DSN RET record");
	expect_status(f, ret_sign, COUNT(ret_sign), 0, QUEUE_FILE_CORRUPT,
		      "bad DSN RET record");
	expect_status(f, warn_bad, COUNT(warn_bad), 0, QUEUE_FILE_CORRUPT,
		      "bad warning time record");
	expect_status(f, warn_huge, COUNT(warn_huge), 0, QUEUE_FILE_CORRUPT,
		      "bad warning time record");
}

/* What queue_file itself refuses still comes through with its status
 * and reason, and the skip cannot be steered by a bad size record. */
static void test_file_errors(void **state)
{
	struct qt_fixture *f = *state;
	static const struct qt_raw no_sender[] = {{'T', "1 2"}, {'R', "a@x"},
					       TAIL};
	static const struct qt_raw good[] = {HEAD, {'R', "a@x"}, TAIL};
	static const struct qt_raw cut[] = {HEAD, {'R', "a@x"}, {'M', ""},
					 {'N', "x"}};
	struct queue_envelope env;
	char id[64], path[600];
	int fd;

	expect_status(f, no_sender, COUNT(no_sender), 0, QUEUE_FILE_CORRUPT,
		      "no sender record");
	/* X said to be at or before M: a backwards seek is refused. */
	expect_status(f, good, COUNT(good), 10, QUEUE_FILE_CORRUPT,
		      "extracted offset 10 out of range");
	/* X said to be at the N record after M (v 17, C 81, T S R 5
	 * bytes each: M at 113, N at 115): queue_file_read's check. */
	expect_status(f, good, COUNT(good), 115, QUEUE_FILE_CORRUPT,
		      "disagrees with the size record");
	/* A committed file cut short inside the content (its X offset
	 * then points past the end) is incomplete, as without the skip. */
	expect_status(f, cut, COUNT(cut), 130, QUEUE_FILE_INCOMPLETE,
		      "ends before the end record");

	/* A file cut inside the extracted segment. */
	qt_craft(f, good, COUNT(good), 0, id, sizeof(id));
	snprintf(path, sizeof(path), "%s/incoming/%s", f->dir, id);
	assert_true((fd = open(path, O_WRONLY | O_CLOEXEC)) >= 0);
	{
		struct stat st;

		CHECK(fstat(fd, &st));
		CHECK(ftruncate(fd, st.st_size - 2));
	}
	close(fd);
	assert_int_equal(read_env(f, id, NULL, &env), QUEUE_FILE_INCOMPLETE);
	queue_envelope_free(&env);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, qt_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_full_envelope), T(test_minimal),	  T(test_done),
	    T(test_limit),	   T(test_skip_content),  T(test_modifier_runs),
	    T(test_bad_numbers),   T(test_file_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
