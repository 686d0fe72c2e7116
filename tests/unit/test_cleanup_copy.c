/*
 * test_cleanup_copy - what a local user may put in a maildrop file
 * (cleanup_copy_user_rec), and the check pickup runs on a whole file
 * (cleanup_copy_check): a file as postdrop writes it passes and says
 * what it holds; forged records make it corrupt. The commit of a maildrop file
 * marks it 0744.
 */
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

#include "cleanup_copy.h"
#include "queue_testutil.h"
#include "mail_queue.h"
#include "queue_file.h"
#include "rec_type.h"
#include "strbuf.h"

static int setup(void **state)
{
	return qt_setup(state, "test_cleanup_copy");
}

static int teardown(void **state)
{
	return qt_teardown(state);
}

static int user_ok(int type, unsigned seg, const char *data)
{
	return cleanup_copy_user_rec(type, seg, data, strlen(data), NULL);
}

static void test_user_records(void **state)
{
	(void)state;
	/* What sendmail writes. */
	assert_int_equal(user_ok(REC_TYPE_FROM, REC_SEG_ENVELOPE, "u@x"), 0);
	assert_int_equal(user_ok(REC_TYPE_FROM, REC_SEG_ENVELOPE, ""), 0);
	assert_int_equal(user_ok(REC_TYPE_RCPT, REC_SEG_ENVELOPE, "r@x"), 0);
	assert_int_equal(user_ok(REC_TYPE_FULL, REC_SEG_ENVELOPE, "Ann"), 0);
	assert_int_equal(user_ok(REC_TYPE_DSN_NOTIFY, REC_SEG_ENVELOPE, "6"),
			 0);
	assert_int_equal(user_ok(REC_TYPE_DSN_NOTIFY, REC_SEG_ENVELOPE, "1"),
			 0);
	assert_int_equal(user_ok(REC_TYPE_DSN_ENVID, REC_SEG_ENVELOPE, "id 1"),
			 0);
	assert_int_equal(
	    user_ok(REC_TYPE_ATTR, REC_SEG_ENVELOPE, "encoding=8bit"), 0);
	assert_int_equal(user_ok(REC_TYPE_ATTR, REC_SEG_ENVELOPE, "dsn_ret=2"),
			 0);
	assert_int_equal(
	    user_ok(REC_TYPE_ATTR, REC_SEG_ENVELOPE, "extract_recipients=1"),
	    0);
	assert_int_equal(
	    user_ok(REC_TYPE_ATTR, REC_SEG_ENVELOPE, "dsn_notify=6"), 0);
	assert_int_equal(
	    user_ok(REC_TYPE_ATTR, REC_SEG_ENVELOPE, "dsn_notify=3"), -1);
	assert_int_equal(
	    user_ok(REC_TYPE_ATTR, REC_SEG_ENVELOPE, "dsn_notify=16"), -1);
	assert_int_equal(user_ok(REC_TYPE_MESG, REC_SEG_ENVELOPE, ""), 0);
	assert_int_equal(user_ok(REC_TYPE_NORM, REC_SEG_CONTENT, "a\r\nb"), 0);
	assert_int_equal(user_ok(REC_TYPE_CONT, REC_SEG_CONTENT, "x"), 0);
	assert_int_equal(user_ok(REC_TYPE_XTRA, REC_SEG_CONTENT, ""), 0);
	assert_int_equal(user_ok(REC_TYPE_RCPT, REC_SEG_EXTRACTED, "r@x"), 0);
	assert_int_equal(user_ok(REC_TYPE_END, REC_SEG_EXTRACTED, ""), 0);

	/* What a user must not write. */
	assert_int_equal(user_ok(REC_TYPE_TIME, REC_SEG_ENVELOPE, "1 0"), -1);
	assert_int_equal(user_ok(REC_TYPE_SIZE, REC_SEG_ENVELOPE, "0"), -1);
	assert_int_equal(user_ok(REC_TYPE_DONE, REC_SEG_ENVELOPE, "r@x"), -1);
	assert_int_equal(user_ok(REC_TYPE_ORCP, REC_SEG_ENVELOPE, "r@x"), -1);
	assert_int_equal(user_ok(REC_TYPE_RDR, REC_SEG_ENVELOPE, "r@x"), -1);
	assert_int_equal(user_ok(REC_TYPE_DSN_RET, REC_SEG_ENVELOPE, "1"), -1);
	assert_int_equal(user_ok(REC_TYPE_FLGS, REC_SEG_ENVELOPE, "8"), -1);
	assert_int_equal(user_ok(REC_TYPE_INSP, REC_SEG_ENVELOPE, "x"), -1);
	assert_int_equal(user_ok(REC_TYPE_NORM, REC_SEG_ENVELOPE, "x"), -1);
	assert_int_equal(user_ok(REC_TYPE_FROM, REC_SEG_EXTRACTED, "u@x"), -1);
	assert_int_equal(user_ok('?', REC_SEG_ENVELOPE, "x"), -1);
	assert_int_equal(user_ok(REC_TYPE_RCPT, REC_SEG_ENVELOPE, ""), -1);
	assert_int_equal(user_ok(REC_TYPE_RCPT, REC_SEG_ENVELOPE, "a\nb@x"),
			 -1);
	assert_int_equal(user_ok(REC_TYPE_FULL, REC_SEG_ENVELOPE, "A\rB"), -1);
	assert_int_equal(cleanup_copy_user_rec(REC_TYPE_FROM, REC_SEG_ENVELOPE,
					       "a\0b", 3, NULL),
			 -1);
	assert_int_equal(user_ok(REC_TYPE_DSN_NOTIFY, REC_SEG_ENVELOPE, "16"),
			 -1);
	assert_int_equal(user_ok(REC_TYPE_DSN_NOTIFY, REC_SEG_ENVELOPE, "3"),
			 -1); /* never with success */
	assert_int_equal(user_ok(REC_TYPE_DSN_NOTIFY, REC_SEG_ENVELOPE, "x"),
			 -1);
	assert_int_equal(user_ok(REC_TYPE_DSN_ENVID, REC_SEG_ENVELOPE, "a\tb"),
			 -1);
	assert_int_equal(
	    user_ok(REC_TYPE_ATTR, REC_SEG_ENVELOPE, "client_address=10.0.0.1"),
	    -1);
	assert_int_equal(
	    user_ok(REC_TYPE_ATTR, REC_SEG_ENVELOPE, "content_filter=smtp:x"),
	    -1);
	assert_int_equal(
	    user_ok(REC_TYPE_ATTR, REC_SEG_ENVELOPE, "sasl_username=admin"),
	    -1);
	assert_int_equal(user_ok(REC_TYPE_ATTR, REC_SEG_ENVELOPE, "dsn_ret=3"),
			 -1);
	assert_int_equal(user_ok(REC_TYPE_ATTR, REC_SEG_ENVELOPE, "noequals"),
			 -1);
	{
		char envid[CLEANUP_COPY_ENVID_MAX + 2];

		memset(envid, 'e', sizeof(envid) - 1);
		envid[sizeof(envid) - 1] = 0;
		assert_int_equal(
		    user_ok(REC_TYPE_DSN_ENVID, REC_SEG_ENVELOPE, envid), -1);
		envid[CLEANUP_COPY_ENVID_MAX] = 0;
		assert_int_equal(
		    user_ok(REC_TYPE_DSN_ENVID, REC_SEG_ENVELOPE, envid), 0);
	}
}

/* A maildrop file as postdrop writes it, plus one extra envelope record
 * (type 0: none). Its ID goes to id. */
static void write_file(struct qt_fixture *f, int extra, const char *extra_data,
		       char *id, size_t idlen)
{
	struct queue_file *qf;

	assert_int_equal(
	    queue_file_create(f->mq, MAIL_QUEUE_MAILDROP, &qf, f->why), 0);
	snprintf(id, idlen, "%s", queue_file_id(qf));
	assert_int_equal(queue_file_time(qf, 1700000000, 5, f->why), 0);
	assert_int_equal(queue_file_put(qf, REC_TYPE_FROM, "u@x", 3, f->why),
			 0);
	assert_int_equal(queue_file_attr(qf, "extract_recipients", "1", f->why),
			 0);
	assert_int_equal(queue_file_put(qf, REC_TYPE_RCPT, "r@x", 3, f->why),
			 0);
	if (extra)
		assert_int_equal(queue_file_put(qf, extra, extra_data,
						strlen(extra_data), f->why),
				 0);
	assert_int_equal(queue_file_content(qf, f->why), 0);
	assert_int_equal(queue_file_line(qf, "Subject: x", 10, f->why), 0);
	assert_int_equal(queue_file_commit(&qf, f->why), 0);
}

static int check_file(struct qt_fixture *f, const char *id,
		      struct cleanup_copy_info *info)
{
	struct queue_file *qf;
	int status;

	status =
	    queue_file_open(f->mq, MAIL_QUEUE_MAILDROP, id, 0, &qf, f->why);
	if (status != QUEUE_FILE_OK)
		return status;
	status = cleanup_copy_check(qf, info, f->why);
	(void)queue_file_close(&qf);
	return status;
}

static void test_check_postdrop_file(void **state)
{
	struct qt_fixture *f = *state;
	struct cleanup_copy_info info;
	char id[64], path[600];
	struct stat st;

	write_file(f, 0, NULL, id, sizeof(id));
	snprintf(path, sizeof(path), "%s/maildrop/%s", f->dir, id);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, MAIL_QUEUE_STAT_MAILDROP_READY);
	assert_int_equal(check_file(f, id, &info), QUEUE_FILE_OK);
	assert_string_equal(info.sender, "u@x");
	assert_int_equal(info.extract, 1);
	assert_int_equal(info.rcpts, 1);
	cleanup_copy_info_free(&info);
}

static void test_check_forged_files(void **state)
{
	struct qt_fixture *f = *state;
	struct cleanup_copy_info info;
	char id[64];

	/* A done recipient, an original-recipient record, a client
	 * attribute: none comes from postdrop. (A second arrival time is
	 * refused by the queue file reader itself.) */
	write_file(f, REC_TYPE_DONE, "d@x", id, sizeof(id));
	assert_int_equal(check_file(f, id, &info), QUEUE_FILE_CORRUPT);
	assert_non_null(strstr(strbuf_str(f->why), "done_recipient"));
	write_file(f, REC_TYPE_ORCP, "o@x", id, sizeof(id));
	assert_int_equal(check_file(f, id, &info), QUEUE_FILE_CORRUPT);
	write_file(f, REC_TYPE_ATTR, "client_address=1.2.3.4", id, sizeof(id));
	assert_int_equal(check_file(f, id, &info), QUEUE_FILE_CORRUPT);
	assert_non_null(strstr(strbuf_str(f->why), "client_address"));
	assert_null(info.sender);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_user_records),
	    cmocka_unit_test_setup_teardown(test_check_postdrop_file, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_check_forged_files, setup,
					    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
