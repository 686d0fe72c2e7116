/*
 * test_delivered_to - the Delivered-To: loop check on real queue files:
 * a header naming the address (any case, blanks around it, stored in
 * pieces) is found; one in the body or naming another address is not;
 * a content offset other than the request's is a read error.
 * Also covers queue_file_to_content/queue_file_read_content, which it
 * reads through.
 */
#include "queue_testutil.h"

#include "delivered_to.h"
#include "queue_file.h"

#define CHECK(x) assert_int_equal((x), 0)

/* A committed file with these content lines; its ID in id, the offset
 * of its M record in *mesg. limit: content piece size (0: default). */
static void make(struct qt_fixture *f, const char *const *lines,
		 size_t limit, char *id, off_t *mesg)
{
	struct queue_file *qf, *rd;
	struct queue_rcpt r = {.address = "user@example.org"};

	CHECK(queue_file_create(f->mq, "incoming", &qf, f->why));
	if (limit)
		queue_file_set_line_limit(qf, limit);
	snprintf(id, MAIL_QUEUE_ID_MAX + 1, "%s", queue_file_id(qf));
	CHECK(queue_file_time(qf, 1760000000, 0, f->why));
	CHECK(queue_file_sender(qf, "s@example.com", f->why));
	CHECK(queue_file_rcpt(qf, &r, f->why));
	CHECK(queue_file_content(qf, f->why));
	for (; *lines; lines++)
		CHECK(queue_file_line(qf, *lines, strlen(*lines), f->why));
	CHECK(queue_file_commit(&qf, f->why));
	assert_int_equal(queue_file_open(f->mq, "incoming", id, 0, &rd, f->why),
			 QUEUE_FILE_OK);
	*mesg = queue_file_size(rd)->content_offset;
	queue_file_close(&rd);
}

static int seen(struct qt_fixture *f, const char *id, off_t off,
		const char *addr)
{
	struct queue_file *qf;
	int rc;

	assert_int_equal(queue_file_open(f->mq, "incoming", id, 0, &qf, f->why),
			 QUEUE_FILE_OK);
	rc = delivered_to_seen(qf, off, addr, f->why);
	queue_file_close(&qf);
	return rc;
}

static void test_found_in_headers(void **state)
{
	struct qt_fixture *f = *state;
	const char *const lines[] = {
	    "Received: from x", "delivered-to:   User@Example.ORG  ",
	    "Subject: s", "", "Delivered-To: body@example.org", NULL};
	char id[MAIL_QUEUE_ID_MAX + 1];
	off_t m;

	make(f, lines, 0, id, &m);
	assert_int_equal(seen(f, id, m, "user@example.org"), 1);
	assert_int_equal(seen(f, id, 0, "user@example.org"), 1);
	assert_int_equal(seen(f, id, m, "other@example.org"), 0);
	/* The body is not the headers. */
	assert_int_equal(seen(f, id, m, "body@example.org"), 0);
	/* A request that puts the content elsewhere is not trusted. */
	assert_int_equal(seen(f, id, m + 1, "user@example.org"), -1);
	assert_non_null(strstr(strbuf_str(f->why), "not"));
}

static void test_header_in_pieces(void **state)
{
	struct qt_fixture *f = *state;
	const char *const lines[] = {"Delivered-To: a-long-local-part@example.org",
				     "", "body", NULL};
	char id[MAIL_QUEUE_ID_MAX + 1];
	off_t m;

	/* 8-byte pieces: the header is stored as L L L ... N. */
	make(f, lines, 8, id, &m);
	assert_int_equal(seen(f, id, m, "a-long-local-part@example.org"), 1);
	assert_int_equal(seen(f, id, m, "a-long-local-part@example.or"), 0);
}

static int setup(void **state)
{
	return qt_setup(state, "test_delivered_to");
}

static int teardown(void **state)
{
	return qt_teardown(state);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_found_in_headers, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_header_in_pieces, setup,
					    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
