/*
 * test_deliver_request - the delivery request protocol end to end over a
 * real socket pair: qmgr's formatted request read by the agent side,
 * the agent's reply parsed by qmgr's side (whole, cut short, and
 * malformed), and requests an agent must refuse.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "deliver_request.h"
#include "mymalloc.h"
#include "strbuf.h"

static struct deliver_rcpt rcpts[] = {
    {"a@example.com", "A@Example.com", "rfc822;A@Example.com",
     DSN_NOTIFY_SUCCESS | DSN_NOTIFY_FAILURE, 120, 0, ""},
    {"b@example.com", "", "", 0, 180, 0, ""},
};

static struct deliver_request sample(void)
{
	struct deliver_request req = {0};

	for (size_t i = 0; i < 2; i++) {
		rcpts[i].outcome = DELIVER_RCPT_PENDING;
		rcpts[i].dsn[0] = 0;
	}
	req.flags = DELIVER_FLAG_8BIT;
	req.queue_name = "active";
	req.queue_id = "4hQJmW0Bcdz5Tr";
	req.data_offset = 400;
	req.data_size = 1234;
	req.nexthop = "[127.0.0.1]:2525";
	req.sender = "";
	req.dsn_envid = "env-1";
	req.dsn_ret = DSN_RET_HDRS;
	req.arrival_us = 1700000000000000;
	req.active_us = 1700000000500000;
	req.client_name = "";
	req.client_addr = "";
	req.rcpt_count = 2;
	req.rcpt = rcpts;
	return req;
}

/* Send buf to an agent-side reader; returns its result. */
static int agent_read(const char *buf, size_t len,
		      struct deliver_request **reqp, struct strbuf *why)
{
	int sv[2];
	int rc;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(write(sv[0], buf, len), (ssize_t)len);
	shutdown(sv[0], SHUT_WR);
	rc = deliver_request_read(sv[1], 5, reqp, why);
	close(sv[0]);
	close(sv[1]);
	return rc;
}

static void test_round_trip(void **state)
{
	struct deliver_request req = sample(), *got = NULL;
	struct strbuf *out = strbuf_new(STRBUF_NO_MAX);
	struct strbuf *why = strbuf_new(STRBUF_NO_MAX);
	char buf[8192];
	ssize_t n, used;
	int sv[2], status = -1;

	(void)state;
	assert_int_equal(deliver_request_format(&req, out, why), 0);
	if (agent_read(strbuf_str(out), strbuf_len(out), &got, why) < 0)
		fail_msg("%s", strbuf_str(why));
	assert_string_equal(got->queue_id, req.queue_id);
	assert_string_equal(got->sender, "");
	assert_string_equal(got->nexthop, "[127.0.0.1]:2525");
	assert_int_equal(got->dsn_ret, DSN_RET_HDRS);
	assert_int_equal(got->flags, DELIVER_FLAG_8BIT);
	assert_int_equal(got->rcpt_count, 2);
	assert_string_equal(got->rcpt[0].orig, "A@Example.com");
	assert_string_equal(got->rcpt[0].dsn_orcpt, "rfc822;A@Example.com");
	assert_int_equal(got->rcpt[0].dsn_notify,
			 DSN_NOTIFY_SUCCESS | DSN_NOTIFY_FAILURE);
	assert_int_equal(got->rcpt[1].offset, 180);
	assert_true(got->agent_us > 0);

	/* The agent answers; qmgr parses it, first cut short. */
	got->rcpt[0].outcome = DELIVER_RCPT_SENT;
	strcpy(got->rcpt[0].dsn, "2.0.0");
	deliver_request_site_fail(got, "4.4.1", "connect to x: refused\r\n");
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(deliver_request_reply(sv[1], 5, got, why), 0);
	n = read(sv[0], buf, sizeof(buf));
	assert_true(n > 0);
	for (ssize_t cut = 0; cut < n; cut += 7)
		assert_int_equal(
		    deliver_reply_scan(&req, buf, (size_t)cut, &status, why), 0);
	used = deliver_reply_scan(&req, buf, (size_t)n, &status, why);
	if (used != n) fail_msg("used %zd n %zd: %s", used, n, strbuf_str(why));
	assert_int_equal(used, n);
	assert_int_equal(status, 0);
	assert_int_equal(req.rcpt[0].outcome, DELIVER_RCPT_SENT);
	assert_string_equal(req.rcpt[0].dsn, "2.0.0");
	/* A recipient the agent left pending is reported deferred. */
	assert_int_equal(req.rcpt[1].outcome, DELIVER_RCPT_DEFERRED);
	assert_string_equal(req.site_dsn, "4.4.1");
	assert_string_equal(req.site_reason, "connect to x: refused  ");
	myfree(req.site_reason);
	close(sv[0]);
	close(sv[1]);
	deliver_request_free(&got);
	strbuf_free(&out);
	strbuf_free(&why);
}

static void refused_cut(struct deliver_request *req, size_t cut,
			const char *what)
{
	struct strbuf *out = strbuf_new(STRBUF_NO_MAX);
	struct strbuf *why = strbuf_new(STRBUF_NO_MAX);
	struct deliver_request *got = NULL;

	if (deliver_request_format(req, out, why) == 0 &&
	    (strbuf_truncate(out, strbuf_len(out) - cut), 1) &&
	    agent_read(strbuf_str(out), strbuf_len(out), &got, why) == 0)
		fail_msg("%s: accepted", what);
	assert_null(got);
	assert_true(strbuf_len(why) > 0);
	strbuf_free(&out);
	strbuf_free(&why);
}

static void refused(struct deliver_request *req, const char *what)
{
	refused_cut(req, 0, what);
}

static void test_refused(void **state)
{
	struct deliver_request req;
	struct deliver_rcpt bad[1];

	(void)state;
	req = sample();
	req.queue_id = "../etc/passwd";
	refused(&req, "bad queue id");
	req = sample();
	req.queue_name = "no/such";
	refused(&req, "bad queue name");
	req = sample();
	req.rcpt_count = 0;
	refused(&req, "no recipients");
	req = sample();
	bad[0] = rcpts[0];
	bad[0].address = "a@example.com\r\nRCPT TO:<evil@example.net>";
	req.rcpt = bad;
	req.rcpt_count = 1;
	refused(&req, "CR LF in an address");
	bad[0] = rcpts[0];
	bad[0].offset = 1000; /* inside the content (400 + 1234 bytes) */
	refused(&req, "recipient offset in the content");
	req = sample();
	refused_cut(&req, 10, "recipient list cut short");
}

static void test_reply_mismatch(void **state)
{
	struct deliver_request req = sample(), *got = NULL;
	struct strbuf *out = strbuf_new(STRBUF_NO_MAX);
	struct strbuf *why = strbuf_new(STRBUF_NO_MAX);
	char buf[8192];
	int sv[2], status;
	ssize_t n;

	(void)state;
	assert_int_equal(deliver_request_format(&req, out, why), 0);
	assert_int_equal(agent_read(strbuf_str(out), strbuf_len(out), &got, why),
			 0);
	got->rcpt[1].offset = 999; /* an agent answering for another rcpt */
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(deliver_request_reply(sv[1], 5, got, why), 0);
	n = read(sv[0], buf, sizeof(buf));
	assert_true(n > 0);
	assert_int_equal(deliver_reply_scan(&req, buf, (size_t)n, &status, why),
			 -1);
	/* Nothing was filled in from a reply that was refused. */
	assert_int_equal(req.rcpt[0].outcome, 0);
	close(sv[0]);
	close(sv[1]);
	deliver_request_free(&got);
	strbuf_free(&out);
	strbuf_free(&why);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_refused),
	    cmocka_unit_test(test_reply_mismatch),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
