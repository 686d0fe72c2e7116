/*
 * test_bounce_log - the status log format (global/bounce_log.c): records
 * written and read back in a throw-away queue directory, sanitised
 * values, a record cut short by a crash, and malformed records refused
 * with a reason while the reader carries on.
 */
#include <errno.h>
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

#include "bounce_clnt.h"
#include "bounce_log.h"
#include "dsn.h"
#include "mail_queue.h"
#include "strbuf.h"

#include "queue_testutil.h"

#define ID "4hQJmW0Bcdz5Tr"

static int setup(void **state)
{
	return qt_setup(state, "test_bounce_log");
}

static const struct dsn dsn_550 = {
    .status = "5.1.1",
    .action = "failed",
    .reason = "host mx.example[192.0.2.1] said: 550 5.1.1 no such user",
    .dtype = "smtp",
    .dtext = "550 5.1.1 no such user",
    .mtype = "dns",
    .mname = "mx.example",
};

static void test_append_and_read(void **state)
{
	struct qt_fixture *f = *state;
	struct bounce_rcpt r1 = {"a@example.org", "A@example.org",
				 "rfc822;A@example.org", DSN_NOTIFY_FAILURE,
				 123};
	struct bounce_rcpt r2 = {"b@example.org", "", "", 0, 0};
	struct dsn d2 = {"4.4.1", "delayed", "connection refused", "", "",
			 "",	  ""};
	struct bounce_log *bl = NULL;
	struct bounce_log_entry e;
	char path[600];
	struct stat st;

	assert_int_equal(bounce_log_append(f->mq, "defer", ID, &r1, &dsn_550,
					   1700000000, f->why),
			 0);
	assert_int_equal(
	    bounce_log_append(f->mq, "defer", ID, &r2, &d2, 1700000001, f->why),
	    0);
	/* defer is hashed: the file is in its subdirectory, mode 0600. */
	assert_int_equal(bounce_log_open(f->mq, "defer", ID, &bl, f->why), 0);
	assert_int_equal(bounce_log_read(bl, &e, f->why), 1);
	assert_string_equal(e.recipient, "a@example.org");
	assert_string_equal(e.orig_rcpt, "A@example.org");
	assert_string_equal(e.dsn_orcpt, "rfc822;A@example.org");
	assert_int_equal(e.notify, DSN_NOTIFY_FAILURE);
	assert_int_equal(e.offset, 123);
	assert_string_equal(e.status, "5.1.1");
	assert_string_equal(e.action, "failed");
	assert_string_equal(e.reason, dsn_550.reason);
	assert_string_equal(e.diag_type, "smtp");
	assert_string_equal(e.diag_text, "550 5.1.1 no such user");
	assert_string_equal(e.mta_name, "mx.example");
	assert_true(e.when == 1700000000);
	bounce_log_entry_free(&e);
	assert_int_equal(bounce_log_read(bl, &e, f->why), 1);
	assert_string_equal(e.recipient, "b@example.org");
	assert_string_equal(e.orig_rcpt, "");
	assert_string_equal(e.action, "delayed");
	bounce_log_entry_free(&e);
	assert_int_equal(bounce_log_read(bl, &e, f->why), 0);
	bounce_log_close(&bl);
	assert_null(bl);

	/* The plain (not hashed) bounce queue, then removal. */
	assert_int_equal(
	    bounce_log_append(f->mq, "bounce", ID, &r1, &dsn_550, 1, f->why),
	    0);
	snprintf(path, sizeof(path), "%s/bounce/%s", f->dir, ID);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(bounce_log_remove(f->mq, "bounce", ID, f->why), 0);
	assert_int_equal(stat(path, &st), -1);
	assert_int_equal(bounce_log_remove(f->mq, "bounce", ID, f->why), 0);
	errno = 0;
	assert_int_equal(bounce_log_open(f->mq, "bounce", ID, &bl, f->why), -1);
	assert_int_equal(errno, ENOENT);
}

static void test_values_sanitised(void **state)
{
	struct qt_fixture *f = *state;
	struct bounce_rcpt r = {"x@example.org", "", "", 0, 0};
	struct dsn d = dsn_550;
	struct strbuf *out = strbuf_new(STRBUF_NO_MAX);
	struct bounce_log_entry e;
	char longtext[BOUNCE_LOG_VALUE_MAX + 100];

	/* The writer of the log does not trust its caller either. */
	d.dtext = "550 bad\r\nrecipient=evil@example.com\n\nstatus=2.0.0";
	memset(longtext, 'x', sizeof(longtext) - 1);
	longtext[sizeof(longtext) - 1] = 0;
	d.reason = longtext;
	assert_int_equal(bounce_log_format(out, &r, &d, 5), 0);
	assert_int_equal(
	    bounce_log_parse(strbuf_str(out), strbuf_len(out) - 1, &e, f->why),
	    0);
	assert_string_equal(e.recipient, "x@example.org");
	assert_string_equal(
	    e.diag_text, "550 bad??recipient=evil@example.com??status=2.0.0");
	assert_int_equal(strlen(e.reason), BOUNCE_LOG_VALUE_MAX);
	bounce_log_entry_free(&e);
	strbuf_free(&out);
}

static void expect_refused(struct qt_fixture *f, const char *text,
			   const char *reason)
{
	struct bounce_log_entry e;

	assert_int_equal(bounce_log_parse(text, strlen(text), &e, f->why), -1);
	if (strstr(strbuf_str(f->why), reason) == NULL)
		fail_msg("\"%s\": got reason \"%s\", want \"%s\"", text,
			 strbuf_str(f->why), reason);
	assert_null(e.recipient);
}

#define GOOD_TAIL "status=5.0.0\naction=failed\nreason=r\nwhen=1\n"

static void test_malformed_refused(void **state)
{
	struct qt_fixture *f = *state;
	struct bounce_log_entry e;
	const char *good = "recipient=a@b\n" GOOD_TAIL;

	assert_int_equal(bounce_log_parse(good, strlen(good), &e, f->why), 0);
	bounce_log_entry_free(&e);
	expect_refused(f, "recipient=a@b\nstatus=5.0.0\n", "without");
	expect_refused(f, "recipient=\n" GOOD_TAIL, "without");
	expect_refused(f, "recipient=a@b\nrecipient=c@d\n" GOOD_TAIL,
		       "repeated field recipient");
	expect_refused(f, "recipient=a@b\nsender=x\n" GOOD_TAIL,
		       "unknown field");
	expect_refused(f, "recipient=a@b\nnonsense\n" GOOD_TAIL, "without '='");
	expect_refused(f, "recipient=a\tb\n" GOOD_TAIL, "control character");
	expect_refused(f, "recipient=a@b\n" GOOD_TAIL "notify=-1\n", "notify");
	expect_refused(f, "recipient=a@b\n" GOOD_TAIL "offset=12x\n", "offset");
	expect_refused(f,
		       "recipient=a@b\nstatus=9.9\naction=failed\nreason=r\n"
		       "when=1\n",
		       "malformed status");
	expect_refused(f,
		       "recipient=a@b\nstatus=5.0.0\naction=exploded\n"
		       "reason=r\nwhen=1\n",
		       "unknown action");
	expect_refused(f, "recipient=a@b\n" GOOD_TAIL "x", "without newline");
}

/* Write raw bytes as the log of ID in queue "bounce". */
static void write_raw(struct qt_fixture *f, const char *text)
{
	char path[600];
	int fd;

	snprintf(path, sizeof(path), "%s/bounce/%s", f->dir, ID);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

static void test_reader_skips_bad_records(void **state)
{
	struct qt_fixture *f = *state;
	struct bounce_log *bl = NULL;
	struct bounce_log_entry e;
	struct strbuf *big = strbuf_new(STRBUF_NO_MAX);

	(void)strbuf_puts(big, "recipient=one@x\n" GOOD_TAIL "\n\n");
	(void)strbuf_puts(big, "recipient=");
	for (int i = 0; i < BOUNCE_LOG_LINE_MAX + 10; i++)
		(void)strbuf_putc(big, 'y');
	(void)strbuf_puts(big, "\n" GOOD_TAIL "\n");
	(void)strbuf_puts(big, "garbage\n\n");
	(void)strbuf_puts(big, "recipient=two@x\n" GOOD_TAIL);
	write_raw(f, strbuf_str(big));
	strbuf_free(&big);

	assert_int_equal(bounce_log_open(f->mq, "bounce", ID, &bl, f->why), 0);
	assert_int_equal(bounce_log_read(bl, &e, f->why), 1);
	assert_string_equal(e.recipient, "one@x");
	bounce_log_entry_free(&e);
	assert_int_equal(bounce_log_read(bl, &e, f->why), -1);
	assert_non_null(strstr(strbuf_str(f->why), "too long"));
	assert_int_equal(bounce_log_read(bl, &e, f->why), -1);
	assert_non_null(strstr(strbuf_str(f->why), "'='"));
	/* The last record lacks its empty line (end of file): still whole. */
	assert_int_equal(bounce_log_read(bl, &e, f->why), 1);
	assert_string_equal(e.recipient, "two@x");
	bounce_log_entry_free(&e);
	assert_int_equal(bounce_log_read(bl, &e, f->why), 0);
	bounce_log_close(&bl);
}

static void test_append_after_torn_record(void **state)
{
	struct qt_fixture *f = *state;
	struct bounce_rcpt r = {"new@example.org", "", "", 0, 0};
	struct bounce_log *bl = NULL;
	struct bounce_log_entry e;

	/* A crash in the middle of a record: no newline at the end. */
	write_raw(f, "recipient=old@x\nstatus=5.0.0\nact");
	assert_int_equal(
	    bounce_log_append(f->mq, "bounce", ID, &r, &dsn_550, 9, f->why), 0);
	assert_int_equal(bounce_log_open(f->mq, "bounce", ID, &bl, f->why), 0);
	assert_int_equal(bounce_log_read(bl, &e, f->why), -1);
	assert_int_equal(bounce_log_read(bl, &e, f->why), 1);
	assert_string_equal(e.recipient, "new@example.org");
	bounce_log_entry_free(&e);
	assert_int_equal(bounce_log_read(bl, &e, f->why), 0);
	bounce_log_close(&bl);

	/* Malformed input to the writer is refused, nothing is written. */
	struct dsn bad = dsn_550;
	bad.status = "2.0";
	assert_int_equal(
	    bounce_log_append(f->mq, "bounce", ID, &r, &bad, 9, f->why), -1);
	bad = dsn_550;
	bad.action = "";
	assert_int_equal(
	    bounce_log_append(f->mq, "bounce", ID, &r, &bad, 9, f->why), -1);
	r.address = "";
	assert_int_equal(
	    bounce_log_append(f->mq, "bounce", ID, &r, &dsn_550, 9, f->why),
	    -1);
	/* A symlink planted under the log's name is not followed. */
	char path[600];
	snprintf(path, sizeof(path), "%s/bounce/%s", f->dir, ID);
	unlink(path);
	assert_int_equal(symlink("/etc/passwd", path), 0);
	r.address = "x@y";
	assert_int_equal(
	    bounce_log_append(f->mq, "bounce", ID, &r, &dsn_550, 9, f->why),
	    -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_append_and_read, setup,
					    qt_teardown),
	    cmocka_unit_test_setup_teardown(test_values_sanitised, setup,
					    qt_teardown),
	    cmocka_unit_test_setup_teardown(test_malformed_refused, setup,
					    qt_teardown),
	    cmocka_unit_test_setup_teardown(test_reader_skips_bad_records,
					    setup, qt_teardown),
	    cmocka_unit_test_setup_teardown(test_append_after_torn_record,
					    setup, qt_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
