/*
 * test_queue_file - writing, committing, reading and done-marking queue
 * files (global/queue_file.c), including hand-made malformed files and a
 * writer that dies before its commit.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "mail_queue.h"
#include "queue_file.h"
#include "record.h"
#include "rstream.h"
#include "strbuf.h"

#include "queue_testutil.h"

static int setup(void **state)
{
	return qt_setup(state, "test_queue_file");
}

/* The names in incoming/ (not . and ..); returns the count, first in id. */
static int list_incoming(struct qt_fixture *f, char *id, size_t size)
{
	char path[512];
	struct dirent *de;
	DIR *dir;
	int n = 0;

	snprintf(path, sizeof(path), "%s/incoming", f->dir);
	assert_non_null(dir = opendir(path));
	while ((de = readdir(dir)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (n++ == 0 && id
		    && (size_t) snprintf(id, size, "%s", de->d_name) >= size)
			fail_msg("name too long: %s", de->d_name);
	}
	closedir(dir);
	return n;
}

static mode_t file_mode(struct qt_fixture *f, const char *id)
{
	char path[512];
	struct stat st;

	snprintf(path, sizeof(path), "%s/incoming/%s", f->dir, id);
	assert_int_equal(stat(path, &st), 0);
	return st.st_mode & 07777;
}

#define CHECK(expr) assert_int_equal((expr), 0)

/* A typical message: the one test_write_read reads back. */
static void write_message(struct qt_fixture *f, struct queue_file *qf)
{
	struct queue_rcpt r1 = {
		.address = "alice@example.org", .orig = "Alice@Example.ORG",
		.dsn_orcpt = "rfc822;Alice@Example.ORG", .dsn_notify = 6,
	};
	struct queue_rcpt r2 = {.address = "bob@example.net"};
	struct queue_rcpt r3 = {.address = "carol@example.com"};
	char long_line[25];

	memset(long_line, 'x', sizeof(long_line));
	CHECK(queue_file_time(qf, 1760000000, 123456, f->why));
	CHECK(queue_file_attr(qf, "rewrite_context", "local", f->why));
	CHECK(queue_file_sender(qf, "sender@example.com", f->why));
	CHECK(queue_file_attr(qf, "client_address", "192.0.2.1", f->why));
	CHECK(queue_file_rcpt(qf, &r1, f->why));
	CHECK(queue_file_rcpt(qf, &r2, f->why));
	CHECK(queue_file_content(qf, f->why));
	queue_file_set_line_limit(qf, 12);
	CHECK(queue_file_line(qf, "Subject: hi", 11, f->why));
	CHECK(queue_file_line(qf, "", 0, f->why));
	CHECK(queue_file_line(qf, long_line, sizeof(long_line), f->why));
	CHECK(queue_file_line(qf, "a\0b\r", 4, f->why));	/* content: any bytes */
	CHECK(queue_file_extracted(qf, f->why));
	CHECK(queue_file_rcpt(qf, &r3, f->why));
}

struct expect {
	int type;
	const char *data;
	size_t len;		/* 0: strlen(data) */
	unsigned seg;
};

static void read_expect(struct qt_fixture *f, const char *id,
			const struct expect *want, size_t n)
{
	struct queue_file *qf;
	struct queue_rec rec;
	size_t i, len;

	assert_int_equal(queue_file_open(f->mq, "incoming", id, 0, &qf,
					 f->why),
			 QUEUE_FILE_OK);
	for (i = 0; i < n; i++) {
		assert_int_equal(queue_file_read(qf, &rec, f->why),
				 QUEUE_FILE_OK);
		len = want[i].len ? want[i].len : strlen(want[i].data);
		if (rec.type != want[i].type || rec.len != len
		    || memcmp(rec.data, want[i].data, len) != 0
		    || rec.segment != want[i].seg)
			fail_msg("record %zu: got %c \"%s\" (seg %u), want %c "
				 "\"%s\"", i, rec.type, rec.data, rec.segment,
				 want[i].type, want[i].data);
	}
	assert_int_equal(queue_file_read(qf, &rec, f->why), QUEUE_FILE_OK);
	assert_int_equal(rec.type, REC_TYPE_EOF);
	assert_int_equal(queue_file_close(&qf), 0);
}

#define ENV REC_SEG_ENVELOPE
#define CON REC_SEG_CONTENT
#define EXT REC_SEG_EXTRACTED

static const struct expect message_records[] = {
	{'T', "1760000000 123456", 0, ENV},
	{'A', "rewrite_context=local", 0, ENV},
	{'S', "sender@example.com", 0, ENV},
	{'A', "client_address=192.0.2.1", 0, ENV},
	{'o', "rfc822;Alice@Example.ORG", 0, ENV},
	{'n', "6", 0, ENV},
	{'O', "Alice@Example.ORG", 0, ENV},
	{'R', "alice@example.org", 0, ENV},
	{'R', "bob@example.net", 0, ENV},
	{'M', "", 0, ENV},
	{'N', "Subject: hi", 0, CON},
	{'N', "", 0, CON},
	{'L', "xxxxxxxxxxxx", 0, CON},
	{'L', "xxxxxxxxxxxx", 0, CON},
	{'N', "x", 0, CON},
	{'N', "a\0b\r", 4, CON},
	{'X', "", 0, CON},
	{'R', "carol@example.com", 0, EXT},
	{'E', "", 0, EXT},
};

static void test_write_commit_read(void **state)
{
	struct qt_fixture *f = *state;
	struct queue_file *qf, *rd;
	const struct queue_file_size *sz;
	struct queue_rec rec;
	char id[64], listed[64];
	off_t m_at = -1, x_at = -1;

	CHECK(queue_file_create(f->mq, "incoming", &qf, f->why));
	snprintf(id, sizeof(id), "%s", queue_file_id(qf));
	assert_true(mail_queue_id_ok(id));
	assert_int_equal(file_mode(f, id), MAIL_QUEUE_STAT_WRITING);
	write_message(f, qf);
	/* Until the commit it is not a message. */
	assert_int_equal(queue_file_open(f->mq, "incoming", id, 0, &rd, f->why),
			 QUEUE_FILE_INCOMPLETE);
	assert_null(rd);
	CHECK(queue_file_commit(&qf, f->why));
	assert_null(qf);
	assert_int_equal(file_mode(f, id), MAIL_QUEUE_STAT_READY);
	assert_int_equal(list_incoming(f, listed, sizeof(listed)), 1);
	assert_string_equal(listed, id);
	read_expect(f, id, message_records,
		    sizeof(message_records) / sizeof(message_records[0]));

	/* The size record was rewritten with the real numbers. */
	assert_int_equal(queue_file_open(f->mq, "incoming", id, 0, &rd, f->why),
			 QUEUE_FILE_OK);
	sz = queue_file_size(rd);
	do {
		assert_int_equal(queue_file_read(rd, &rec, f->why),
				 QUEUE_FILE_OK);
		if (rec.type == 'M')
			m_at = rec.offset;
		if (rec.type == 'X')
			x_at = rec.offset;
	} while (rec.type != REC_TYPE_EOF);
	assert_int_equal(sz->content_offset, m_at);
	assert_int_equal(sz->extracted_offset, x_at);
	assert_int_equal(sz->rcpt_count, 3);
	assert_int_equal(sz->content_size, 12 + 1 + 26 + 5);
	assert_int_equal(sz->flags, 0);
	queue_file_close(&rd);
}

/* queue_file_fdopen: a file opened by the caller (postern-cat's paths);
 * the labels only name it in reasons, and are cut to fit. */
static void test_fdopen(void **state)
{
	struct qt_fixture *f = *state;
	struct queue_file *qf;
	struct queue_rec rec;
	const char *long_id = "a-label-that-is-much-longer-than-any-queue-id";
	const size_t count = sizeof(message_records) / sizeof(message_records[0]);
	char id[64], path[600];
	struct stat st;
	size_t n = 0;
	int fd;

	CHECK(queue_file_create(f->mq, "incoming", &qf, f->why));
	snprintf(id, sizeof(id), "%s", queue_file_id(qf));
	write_message(f, qf);
	CHECK(queue_file_commit(&qf, f->why));
	snprintf(path, sizeof(path), "%s/incoming/%s", f->dir, id);
	assert_int_equal(chmod(path, 0600), 0);

	/* No complete mark: incomplete, and the descriptor is closed. */
	fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(queue_file_fdopen(fd, "file", id, 0, &qf, f->why),
			 QUEUE_FILE_INCOMPLETE);
	assert_null(qf);
	assert_int_equal(fcntl(fd, F_GETFD), -1);
	/* ANY_MODE reads it all the same. */
	fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_int_equal(queue_file_fdopen(fd, "file", id,
					   QUEUE_FILE_FLAG_ANY_MODE, &qf,
					   f->why),
			 QUEUE_FILE_OK);
	while (queue_file_read(qf, &rec, f->why) == QUEUE_FILE_OK &&
	       rec.type != REC_TYPE_EOF)
		n++;
	assert_int_equal(n, count);
	assert_int_equal(queue_file_close(&qf), 0);

	/* Without its E record: the reason names the cut labels and the
	 * offset where the file ends. */
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(truncate(path, st.st_size - 2), 0);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_int_equal(queue_file_fdopen(fd, "a-very-long-queue-name",
					   long_id, QUEUE_FILE_FLAG_ANY_MODE,
					   &qf, f->why),
			 QUEUE_FILE_OK);
	n = 0;
	while (queue_file_read(qf, &rec, f->why) == QUEUE_FILE_OK &&
	       rec.type != REC_TYPE_EOF)
		n++;
	assert_int_equal(n, count - 1);
	assert_non_null(strstr(strbuf_str(f->why), "a-very-long-que/"));
	assert_non_null(strstr(strbuf_str(f->why), "ends before the end "
						   "record (at offset"));
	assert_null(strstr(strbuf_str(f->why), long_id));
	assert_int_equal(queue_file_close(&qf), 0);
	unlink(path);
}

static void test_minimal_and_nosync(void **state)
{
	struct qt_fixture *f = *state;
	struct mail_queue_params p = {
		.directory = f->dir, .hash_names = "deferred", .hash_depth = 1,
		.directory_sync = 0,
	};
	struct mail_queue *mq = mail_queue_open(&p, f->why);
	struct queue_file *qf;
	static const struct expect want[] = {
		{'T', "1 0", 0, ENV}, {'S', "", 0, ENV}, {'M', "", 0, ENV},
		{'X', "", 0, CON}, {'E', "", 0, EXT},
	};
	char id[64];

	assert_non_null(mq);
	/* Null sender, no recipients, no content: segments still close. */
	CHECK(queue_file_create(mq, "incoming", &qf, f->why));
	snprintf(id, sizeof(id), "%s", queue_file_id(qf));
	CHECK(queue_file_time(qf, 1, 0, f->why));
	CHECK(queue_file_sender(qf, "", f->why));
	/* Content flags: unknown bits are refused, known ones accumulate. */
	assert_int_equal(queue_file_set_flags(qf, 1 << 7), -1);
	CHECK(queue_file_set_flags(qf, QUEUE_SIZE_FLAG_8BIT));
	CHECK(queue_file_set_flags(qf, QUEUE_SIZE_FLAG_SMTPUTF8));
	CHECK(queue_file_commit(&qf, f->why));
	read_expect(f, id, want, 5);
	assert_int_equal(queue_file_open(mq, "incoming", id, 0, &qf, f->why),
			 QUEUE_FILE_OK);
	assert_int_equal(queue_file_size(qf)->flags,
			 QUEUE_SIZE_FLAG_8BIT | QUEUE_SIZE_FLAG_SMTPUTF8);
	queue_file_close(&qf);
	mail_queue_close(&mq);
}

static void test_field_refusals(void **state)
{
	struct qt_fixture *f = *state;
	struct queue_file *qf;
	struct queue_rcpt bad_orig = {.address = "ok@x", .orig = "a\nb"};
	struct queue_rcpt bad = {.address = "a\rb"};
	static const struct expect want[] = {
		{'T', "5 5", 0, ENV}, {'S', "s@x", 0, ENV},
		{'R', "r@x", 0, ENV}, {'M', "", 0, ENV},
		{'X', "", 0, CON}, {'E', "", 0, EXT},
	};
	char id[64];

	CHECK(queue_file_create(f->mq, "incoming", &qf, f->why));
	snprintf(id, sizeof(id), "%s", queue_file_id(qf));
	/* CR, LF and NUL in envelope fields, each refused at write time. */
	assert_int_equal(queue_file_sender(qf, "a@x\r\nRCPT TO:<b@y>", f->why),
			 -1);
	assert_non_null(strstr(strbuf_str(f->why), "CR, LF or NUL"));
	assert_int_equal(queue_file_sender(qf, "a@x\n", f->why), -1);
	assert_int_equal(queue_file_put(qf, REC_TYPE_FROM, "a\0b", 3, f->why),
			 -1);
	assert_int_equal(queue_file_attr(qf, "helo_name", "x\ry", f->why), -1);
	assert_int_equal(queue_file_attr(qf, "a=b", "x", f->why), -1);
	assert_int_equal(queue_file_attr(qf, "Upper", "x", f->why), -1);
	assert_int_equal(queue_file_attr(qf, "", "x", f->why), -1);
	/* A refused recipient leaves none of its records. */
	assert_int_equal(queue_file_rcpt(qf, &bad_orig, f->why), -1);
	assert_int_equal(queue_file_rcpt(qf, &bad, f->why), -1);
	/* Structure records are the module's own. */
	assert_int_equal(queue_file_put(qf, REC_TYPE_END, "", 0, f->why), -1);
	assert_int_equal(queue_file_put(qf, REC_TYPE_PTR, "", 0, f->why), -1);
	assert_int_equal(queue_file_put(qf, REC_TYPE_VERSION, "x", 1, f->why),
			 -1);
	/* Wrong segment. */
	assert_int_equal(queue_file_put(qf, REC_TYPE_NORM, "x", 1, f->why), -1);
	assert_non_null(strstr(strbuf_str(f->why), "envelope segment"));
	assert_int_equal(queue_file_line(qf, "x", 1, f->why), -1);
	/* Too long for its type. */
	{
		char *big = calloc(1, REC_ADDR_MAX + 2);

		memset(big, 'a', REC_ADDR_MAX + 1);
		assert_int_equal(queue_file_sender(qf, big, f->why), -1);
		free(big);
	}
	/* The refusals did not poison the file. */
	CHECK(queue_file_time(qf, 5, 5, f->why));
	CHECK(queue_file_sender(qf, "s@x", f->why));
	assert_int_equal(queue_file_sender(qf, "again@x", f->why), -1);
	assert_int_equal(queue_file_time(qf, 5, 1000000, f->why), -1);
	CHECK(queue_file_rcpt(qf, &(struct queue_rcpt){.address = "r@x"},
			      f->why));
	CHECK(queue_file_content(qf, f->why));
	assert_int_equal(queue_file_sender(qf, "late@x", f->why), -1);
	assert_int_equal(queue_file_content(qf, f->why), -1);
	CHECK(queue_file_commit(&qf, f->why));
	read_expect(f, id, want, 6);
}

static void test_commit_refuses_incomplete_envelope(void **state)
{
	struct qt_fixture *f = *state;
	struct queue_file *qf;

	CHECK(queue_file_create(f->mq, "incoming", &qf, f->why));
	CHECK(queue_file_sender(qf, "s@x", f->why));
	assert_int_equal(queue_file_commit(&qf, f->why), -1);
	assert_non_null(strstr(strbuf_str(f->why), "arrival time"));
	assert_null(qf);
	/* Nothing is left behind. */
	assert_int_equal(list_incoming(f, NULL, 0), 0);

	CHECK(queue_file_create(f->mq, "incoming", &qf, f->why));
	CHECK(queue_file_line(qf, "x", 1, f->why) == -1 ? 0 : -1);
	queue_file_abort(&qf);
	assert_null(qf);
	assert_int_equal(list_incoming(f, NULL, 0), 0);
}

/* Open and read to the end; the first status that is not OK, or OK. */
static int read_all(struct qt_fixture *f, const char *id, int flags)
{
	struct queue_file *qf;
	struct queue_rec rec;
	int status, n = 0;

	status = queue_file_open(f->mq, "incoming", id, flags, &qf, f->why);
	if (status != QUEUE_FILE_OK)
		return status;
	do {
		status = queue_file_read(qf, &rec, f->why);
		assert_true(n++ < 10000);
	} while (status == QUEUE_FILE_OK && rec.type != REC_TYPE_EOF);
	queue_file_close(&qf);
	return status;
}

#define GOOD_ENV {'T', "1 2"}, {'S', "s@x"}, {'R', "r@x"}

static void expect_corrupt(struct qt_fixture *f, const struct qt_raw *recs,
			   size_t n, const char *reason)
{
	char id[64];

	qt_craft(f, recs, n, 0, id, sizeof(id));
	assert_int_equal(read_all(f, id, 0), QUEUE_FILE_CORRUPT);
	if (strstr(strbuf_str(f->why), reason) == NULL)
		fail_msg("reason \"%s\" lacks \"%s\"", strbuf_str(f->why),
			 reason);
}

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static void test_crafted_files(void **state)
{
	struct qt_fixture *f = *state;
	static const struct qt_raw good[] = {
		GOOD_ENV, {'M', ""}, {'N', "x"}, {'X', ""}, {'E', ""},
	};
	static const struct qt_raw sender_in_content[] = {
		GOOD_ENV, {'M', ""}, {'S', "t@x"}, {'X', ""}, {'E', ""},
	};
	static const struct qt_raw line_in_envelope[] = {
		GOOD_ENV, {'N', "x"}, {'M', ""}, {'X', ""}, {'E', ""},
	};
	static const struct qt_raw end_in_content[] = {
		GOOD_ENV, {'M', ""}, {'N', "x"}, {'E', ""},
	};
	static const struct qt_raw no_sender[] = {
		{'T', "1 2"}, {'M', ""}, {'X', ""}, {'E', ""},
	};
	static const struct qt_raw two_senders[] = {
		GOOD_ENV, {'S', "t@x"}, {'M', ""}, {'X', ""}, {'E', ""},
	};
	static const struct qt_raw bad_time[] = {
		{'T', "yesterday"}, {'S', "s@x"}, {'M', ""}, {'X', ""},
		{'E', ""},
	};
	static const struct qt_raw second_version[] = {
		GOOD_ENV, {'v', REC_VERSION_CURRENT}, {'M', ""}, {'X', ""},
		{'E', ""},
	};
	static const struct qt_raw ipc_only[] = {
		GOOD_ENV, {'m', "1"}, {'M', ""}, {'X', ""}, {'E', ""},
	};
	static const struct qt_raw lf_in_rcpt[] = {
		{'T', "1 2"}, {'S', "s@x"}, {'R', "r@x\nS"}, {'M', ""},
		{'X', ""}, {'E', ""},
	};
	char id[64];

	qt_craft(f, good, COUNT(good), 0, id, sizeof(id));
	assert_int_equal(read_all(f, id, 0), QUEUE_FILE_OK);
	expect_corrupt(f, sender_in_content, COUNT(sender_in_content),
		       "sender record in the content segment");
	expect_corrupt(f, line_in_envelope, COUNT(line_in_envelope),
		       "line record in the envelope segment");
	expect_corrupt(f, end_in_content, COUNT(end_in_content),
		       "end record in the content segment");
	expect_corrupt(f, no_sender, COUNT(no_sender),
		       "no sender record before the end record at offset");
	expect_corrupt(f, two_senders, COUNT(two_senders),
		       "second sender record at offset");
	expect_corrupt(f, bad_time, COUNT(bad_time),
		       "arrival time record at offset");
	expect_corrupt(f, second_version, COUNT(second_version),
		       "version record in the envelope");
	expect_corrupt(f, ipc_only, COUNT(ipc_only), "milter_count record");
	expect_corrupt(f, lf_in_rcpt, COUNT(lf_in_rcpt), "CR, LF or NUL");
}

static void test_bad_header_records(void **state)
{
	struct qt_fixture *f = *state;
	struct strbuf *sid = strbuf_new(MAIL_QUEUE_ID_MAX);
	const char *payloads[] = {"postern-queue-2", "", "postfix"};
	struct rstream *s;
	size_t i;
	int fd;

	for (i = 0; i < 3; i++) {
		CHECK(mail_queue_enter(f->mq, "incoming", 0700, sid, &fd,
				       f->why));
		s = rstream_fdopen(fd, 0);
		CHECK(rec_puts(s, REC_TYPE_VERSION, payloads[i]));
		CHECK(rec_puts(s, REC_TYPE_END, ""));
		CHECK(rstream_close(&s));
		assert_int_equal(read_all(f, strbuf_str(sid), 0),
				 QUEUE_FILE_CORRUPT);
		assert_non_null(strstr(strbuf_str(f->why), "not a postern"));
	}
	/* A Postfix-style file: C first. */
	CHECK(mail_queue_enter(f->mq, "incoming", 0700, sid, &fd, f->why));
	s = rstream_fdopen(fd, 0);
	CHECK(rec_puts(s, REC_TYPE_SIZE, "    1     2     3"));
	CHECK(rstream_close(&s));
	assert_int_equal(read_all(f, strbuf_str(sid), 0), QUEUE_FILE_CORRUPT);
	/* Version right, size record malformed. */
	CHECK(mail_queue_enter(f->mq, "incoming", 0700, sid, &fd, f->why));
	s = rstream_fdopen(fd, 0);
	CHECK(rec_puts(s, REC_TYPE_VERSION, REC_VERSION_CURRENT));
	CHECK(rec_puts(s, REC_TYPE_SIZE, "1 2 3 4 5"));
	CHECK(rstream_close(&s));
	assert_int_equal(read_all(f, strbuf_str(sid), 0), QUEUE_FILE_CORRUPT);
	assert_non_null(strstr(strbuf_str(f->why), "size record"));
	/* Garbage: not a record at all. */
	CHECK(mail_queue_enter(f->mq, "incoming", 0700, sid, &fd, f->why));
	assert_int_equal(write(fd, "hello, world\n", 13), 13);
	close(fd);
	assert_int_equal(read_all(f, strbuf_str(sid), 0), QUEUE_FILE_CORRUPT);
	strbuf_free(&sid);
}

static void test_incomplete(void **state)
{
	struct qt_fixture *f = *state;
	struct queue_file *qf;
	char id[64], path[512];
	struct stat st;
	off_t full;

	CHECK(queue_file_create(f->mq, "incoming", &qf, f->why));
	snprintf(id, sizeof(id), "%s", queue_file_id(qf));
	write_message(f, qf);
	CHECK(queue_file_commit(&qf, f->why));
	assert_int_equal(read_all(f, id, 0), QUEUE_FILE_OK);
	snprintf(path, sizeof(path), "%s/incoming/%s", f->dir, id);
	CHECK(stat(path, &st));
	full = st.st_size;

	/* Without its E record (the last 2 bytes): incomplete. */
	CHECK(truncate(path, full - 2));
	assert_int_equal(read_all(f, id, 0), QUEUE_FILE_INCOMPLETE);
	assert_non_null(strstr(strbuf_str(f->why), "ends before the end"));
	/* Cut inside a record: incomplete too. */
	CHECK(truncate(path, full - 5));
	assert_int_equal(read_all(f, id, 0), QUEUE_FILE_INCOMPLETE);
	/* Cut inside the version record. */
	CHECK(truncate(path, 3));
	assert_int_equal(read_all(f, id, 0), QUEUE_FILE_INCOMPLETE);
	CHECK(truncate(path, 0));
	assert_int_equal(read_all(f, id, 0), QUEUE_FILE_INCOMPLETE);

	/* Whole, but without the 0700 mark: incomplete, unless asked. */
	CHECK(queue_file_create(f->mq, "incoming", &qf, f->why));
	snprintf(id, sizeof(id), "%s", queue_file_id(qf));
	write_message(f, qf);
	CHECK(queue_file_commit(&qf, f->why));
	snprintf(path, sizeof(path), "%s/incoming/%s", f->dir, id);
	CHECK(chmod(path, 0600));
	assert_int_equal(read_all(f, id, 0), QUEUE_FILE_INCOMPLETE);
	assert_non_null(strstr(strbuf_str(f->why), "not marked complete"));
	assert_int_equal(read_all(f, id, QUEUE_FILE_FLAG_ANY_MODE),
			 QUEUE_FILE_OK);
	/* Group bits (flush/expire flags on deferred mail) do not matter. */
	CHECK(chmod(path, 0750));
	assert_int_equal(read_all(f, id, 0), QUEUE_FILE_OK);
}

static void test_mark_done(void **state)
{
	struct qt_fixture *f = *state;
	struct queue_file *qf;
	struct queue_rec rec;
	off_t rcpts[8], sender_at = -1;
	int n = 0, i, done = 0, todo = 0;
	char id[64];

	CHECK(queue_file_create(f->mq, "incoming", &qf, f->why));
	snprintf(id, sizeof(id), "%s", queue_file_id(qf));
	write_message(f, qf);
	CHECK(queue_file_commit(&qf, f->why));

	CHECK(queue_file_open(f->mq, "incoming", id, QUEUE_FILE_FLAG_RDWR, &qf,
			      f->why));
	do {
		CHECK(queue_file_read(qf, &rec, f->why));
		if (rec.type == REC_TYPE_RCPT)
			rcpts[n++] = rec.offset;
		if (rec.type == REC_TYPE_FROM)
			sender_at = rec.offset;
	} while (rec.type != REC_TYPE_EOF);
	assert_int_equal(n, 3);
	/* Deliver the first and the last (the extracted one). */
	CHECK(queue_file_mark_done(qf, rcpts[0], f->why));
	CHECK(queue_file_mark_done(qf, rcpts[2], f->why));
	CHECK(queue_file_mark_done(qf, rcpts[2], f->why));	/* idempotent */
	/* Any other offset is refused and changes nothing. */
	assert_int_equal(queue_file_mark_done(qf, sender_at, f->why), -1);
	assert_int_equal(queue_file_mark_done(qf, rcpts[1] + 1, f->why), -1);
	assert_int_equal(queue_file_mark_done(qf, 0, f->why), -1);
	assert_int_equal(queue_file_mark_done(qf, 1 << 30, f->why), -1);
	CHECK(queue_file_sync(qf, f->why));
	CHECK(queue_file_close(&qf));

	/* Read back: same payloads, two D, one R, still a valid file. */
	CHECK(queue_file_open(f->mq, "incoming", id, 0, &qf, f->why));
	do {
		CHECK(queue_file_read(qf, &rec, f->why));
		if (rec.type == REC_TYPE_DONE) {
			done++;
			assert_true(rec.offset == rcpts[0]
				    || rec.offset == rcpts[2]);
		}
		if (rec.type == REC_TYPE_RCPT) {
			todo++;
			assert_string_equal(rec.data, "bob@example.net");
		}
		if (rec.type == REC_TYPE_FROM)
			assert_string_equal(rec.data, "sender@example.com");
	} while (rec.type != REC_TYPE_EOF);
	assert_int_equal(done, 2);
	assert_int_equal(todo, 1);
	queue_file_close(&qf);
	(void) i;
}

/* The W record: written as zeros, rewritten in place by qmgr once the
 * delay warning is out, refused at any other offset. */
static void test_warn_record(void **state)
{
	struct qt_fixture *f = *state;
	struct queue_file *qf;
	struct queue_rec rec;
	off_t warn_at = -1, sender_at = -1;
	struct stat before, after;
	char id[64], path[PATH_MAX];

	CHECK(queue_file_create(f->mq, "incoming", &qf, f->why));
	snprintf(id, sizeof(id), "%s", queue_file_id(qf));
	CHECK(queue_file_time(qf, 5, 0, f->why));
	CHECK(queue_file_sender(qf, "s@example.com", f->why));
	CHECK(queue_file_warn(qf, 0, f->why));
	assert_int_equal(queue_file_warn(qf, -1, f->why), -1);
	CHECK(queue_file_rcpt(qf, &(struct queue_rcpt){.address = "r@x"},
			      f->why));
	CHECK(queue_file_commit(&qf, f->why));
	snprintf(path, sizeof(path), "%s/incoming/%s", f->dir, id);
	CHECK(stat(path, &before));

	CHECK(queue_file_open(f->mq, "incoming", id, QUEUE_FILE_FLAG_RDWR, &qf,
			      f->why));
	do {
		CHECK(queue_file_read(qf, &rec, f->why));
		if (rec.type == REC_TYPE_WARN) {
			warn_at = rec.offset;
			assert_string_equal(rec.data, "000000000000000");
		}
		if (rec.type == REC_TYPE_FROM)
			sender_at = rec.offset;
	} while (rec.type != REC_TYPE_EOF);
	assert_true(warn_at > 0);
	assert_int_equal(queue_file_set_warn(qf, sender_at, 7, f->why), -1);
	assert_int_equal(queue_file_set_warn(qf, warn_at + 1, 7, f->why), -1);
	assert_int_equal(queue_file_set_warn(qf, 0, 7, f->why), -1);
	assert_int_equal(queue_file_set_warn(qf, warn_at, -7, f->why), -1);
	CHECK(queue_file_set_warn(qf, warn_at, 1760000000, f->why));
	CHECK(queue_file_close(&qf));
	CHECK(stat(path, &after));
	assert_int_equal(before.st_size, after.st_size);

	CHECK(queue_file_open(f->mq, "incoming", id, 0, &qf, f->why));
	do {
		CHECK(queue_file_read(qf, &rec, f->why));
		if (rec.type == REC_TYPE_WARN)
			assert_string_equal(rec.data, "000001760000000");
		if (rec.type == REC_TYPE_FROM)
			assert_string_equal(rec.data, "s@example.com");
	} while (rec.type != REC_TYPE_EOF);
	CHECK(queue_file_close(&qf));
}

static void test_pointer_records(void **state)
{
	struct qt_fixture *f = *state;
	struct strbuf *sid = strbuf_new(MAIL_QUEUE_ID_MAX);
	struct rstream *s;
	struct queue_file *qf;
	struct queue_rec rec;
	off_t ptr_at, back_to, heap, m_at, x_at, size_at;
	int fd, n_rcpt = 0;

	/* Main chain: v C T S p(->heap) M N X E; heap: R p(->M). */
	CHECK(mail_queue_enter(f->mq, "incoming", 0600, sid, &fd, f->why));
	s = rstream_fdopen(fd, 0);
	CHECK(rec_puts(s, 'v', REC_VERSION_CURRENT));
	size_at = rstream_tell(s);
	CHECK(rec_printf(s, 'C', "%15d %15d %15d %15d %15d", 0, 0, 0, 0, 0));
	CHECK(rec_puts(s, 'T', "1 2"));
	CHECK(rec_puts(s, 'S', "s@x"));
	ptr_at = rstream_tell(s);
	CHECK(rec_printf(s, 'p', "%15d", 0));
	back_to = m_at = rstream_tell(s);
	CHECK(rec_puts(s, 'M', ""));
	CHECK(rec_puts(s, 'N', "body"));
	x_at = rstream_tell(s);
	CHECK(rec_puts(s, 'X', ""));
	CHECK(rec_puts(s, 'E', ""));
	heap = rstream_tell(s);
	CHECK(rec_puts(s, 'R', "appended@x"));
	CHECK(rec_printf(s, 'p', "%15lld", (long long) back_to));
	CHECK(rstream_seek(s, ptr_at));
	CHECK(rec_printf(s, 'p', "%15lld", (long long) heap));
	CHECK(rstream_seek(s, size_at));
	CHECK(rec_printf(s, 'C', "%15lld %15lld %15d %15d %15d",
			 (long long) m_at, (long long) x_at, 5, 1, 0));
	CHECK(fchmod(fd, 0700));
	CHECK(rstream_close(&s));

	CHECK(queue_file_open(f->mq, "incoming", strbuf_str(sid),
			      QUEUE_FILE_FLAG_RDWR, &qf, f->why));
	do {
		CHECK(queue_file_read(qf, &rec, f->why));
		assert_int_not_equal(rec.type, REC_TYPE_PTR);
		if (rec.type == REC_TYPE_RCPT) {
			n_rcpt++;
			assert_int_equal(rec.segment, REC_SEG_ENVELOPE);
			assert_int_equal(rec.offset, heap);
			/* Done marks work on records reached by pointer. */
			CHECK(queue_file_mark_done(qf, rec.offset, f->why));
		}
	} while (rec.type != REC_TYPE_EOF);
	assert_int_equal(n_rcpt, 1);
	queue_file_close(&qf);

	/* Point the heap's pointer back at the first one: a loop. */
	fd = openat(mail_queue_dirfd(f->mq), "incoming", O_RDONLY);
	close(fd);
	CHECK(queue_file_open(f->mq, "incoming", strbuf_str(sid),
			      QUEUE_FILE_FLAG_RDWR, &qf, f->why));
	queue_file_close(&qf);
	{
		char path[512];
		char ptr[16];
		int wfd;

		snprintf(path, sizeof(path), "%s/incoming/%s", f->dir,
			 strbuf_str(sid));
		wfd = open(path, O_WRONLY);
		assert_true(wfd >= 0);
		snprintf(ptr, sizeof(ptr), "%15lld", (long long) ptr_at);
		/* heap: R rec (1+1+10 bytes), then 'p', length, payload */
		assert_int_equal(pwrite(wfd, ptr, 15, heap + 12 + 2), 15);
		close(wfd);
	}
	assert_int_equal(read_all(f, strbuf_str(sid), 0), QUEUE_FILE_CORRUPT);
	assert_non_null(strstr(strbuf_str(f->why), "loop"));
	strbuf_free(&sid);
}

/* The writer dies (no atexit, no commit) after writing most of a
 * message: what it leaves is never taken for a message. */
static void test_crash_before_commit(void **state)
{
	struct qt_fixture *f = *state;
	char id[64];
	pid_t pid;
	int status, i;

	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct queue_file *qf;

		if (queue_file_create(f->mq, "incoming", &qf, f->why) < 0
		    || queue_file_time(qf, 1, 2, f->why) < 0
		    || queue_file_sender(qf, "s@x", f->why) < 0
		    || queue_file_rcpt(qf, &(struct queue_rcpt){.address = "r@x"},
				       f->why) < 0
		    || queue_file_content(qf, f->why) < 0)
			_exit(2);
		/* Enough content that some of it reaches the file. */
		for (i = 0; i < 5000; i++)
			if (queue_file_line(qf, "line of body text", 17,
					    f->why) < 0)
				_exit(3);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);

	assert_int_equal(list_incoming(f, id, sizeof(id)), 1);
	assert_true(mail_queue_id_ok(id));
	assert_int_equal(file_mode(f, id), MAIL_QUEUE_STAT_WRITING);
	assert_int_equal(read_all(f, id, 0), QUEUE_FILE_INCOMPLETE);
	/* Even read regardless of the mark, it has no end: incomplete. */
	assert_int_equal(read_all(f, id, QUEUE_FILE_FLAG_ANY_MODE),
			 QUEUE_FILE_INCOMPLETE);

	/* The control: the same writer that commits leaves a message. */
	CHECK(mail_queue_remove(f->mq, "incoming", id, f->why));
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct queue_file *qf;

		if (queue_file_create(f->mq, "incoming", &qf, f->why) < 0)
			_exit(2);
		write_message(f, qf);
		_exit(queue_file_commit(&qf, f->why) == 0 ? 0 : 4);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_int_equal(list_incoming(f, id, sizeof(id)), 1);
	assert_int_equal(read_all(f, id, 0), QUEUE_FILE_OK);
}

static void test_write_error(void **state)
{
	struct qt_fixture *f = *state;
	struct queue_file *qf;
	int i, failed = 0;

	/* The file's descriptor goes bad under the writer (as a full disk
	 * would make writes fail): every later call and the commit fail,
	 * and nothing is left behind. */
	CHECK(queue_file_create(f->mq, "incoming", &qf, f->why));
	CHECK(queue_file_time(qf, 1, 1, f->why));
	CHECK(queue_file_sender(qf, "s@x", f->why));
	CHECK(queue_file_content(qf, f->why));
	{
		char path[512];
		int ro;

		snprintf(path, sizeof(path), "%s/incoming/%s", f->dir,
			 queue_file_id(qf));
		ro = open(path, O_RDONLY);
		assert_true(ro >= 0);
		/* Swap in a read-only descriptor under the same number. */
		for (i = 3; i < 64; i++) {
			struct stat a, b;

			if (fstat(i, &a) == 0 && fstat(ro, &b) == 0
			    && a.st_ino == b.st_ino && i != ro) {
				assert_true(dup2(ro, i) == i);
				break;
			}
		}
		close(ro);
	}
	for (i = 0; i < 5000; i++)
		if (queue_file_line(qf, "0123456789", 10, f->why) < 0) {
			failed = 1;
			break;
		}
	assert_true(failed);
	assert_int_equal(queue_file_line(qf, "x", 1, f->why), -1);
	assert_int_equal(queue_file_commit(&qf, f->why), -1);
	assert_non_null(strstr(strbuf_str(f->why), "write"));
	assert_int_equal(list_incoming(f, NULL, 0), 0);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, qt_teardown)
	const struct CMUnitTest tests[] = {
		T(test_write_commit_read),
		T(test_fdopen),
		T(test_minimal_and_nosync),
		T(test_field_refusals),
		T(test_commit_refuses_incomplete_envelope),
		T(test_crafted_files),
		T(test_bad_header_records),
		T(test_incomplete),
		T(test_mark_done),
		T(test_warn_record),
		T(test_pointer_records),
		T(test_crash_before_commit),
		T(test_write_error),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
