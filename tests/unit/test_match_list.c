/*
 * test_match_list - address and domain lists: networks, negation, parent
 * domain matching, tables, malformed elements (refused whole), and the
 * mynetworks_style defaults.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "match_list.h"
#include "mymalloc.h"
#include "strbuf.h"

static int match(const char *value, int flags, const char *what)
{
	struct strbuf *why = strbuf_new(STRBUF_NO_MAX);
	struct match_list *list = match_list_new("test", value, flags, why);
	int rc;

	if (list == NULL)
		fail_msg("%s: %s", value, strbuf_str(why));
	rc = match_list_match(list, what, why);
	match_list_free(&list);
	assert_null(list);
	strbuf_free(&why);
	return rc;
}

static void test_networks(void **state)
{
	(void)state;
	assert_int_equal(match("192.0.2.0/24", MATCH_LIST_ADDR, "192.0.2.77"),
			 1);
	assert_int_equal(match("192.0.2.0/24", MATCH_LIST_ADDR, "192.0.3.1"),
			 0);
	assert_int_equal(
	    match("192.0.2.128/25", MATCH_LIST_ADDR, "192.0.2.127"), 0);
	assert_int_equal(
	    match("192.0.2.128/25", MATCH_LIST_ADDR, "192.0.2.200"), 1);
	assert_int_equal(match("127.0.0.1", MATCH_LIST_ADDR, "127.0.0.1"), 1);
	assert_int_equal(match("127.0.0.1", MATCH_LIST_ADDR, "127.0.0.2"), 0);
	assert_int_equal(match("0.0.0.0/0", MATCH_LIST_ADDR, "203.0.113.9"), 1);
	/* IPv6, bracketed or not; v4-mapped clients count as IPv4. */
	assert_int_equal(
	    match("[2001:db8::]/32", MATCH_LIST_ADDR, "2001:db8:1::5"), 1);
	assert_int_equal(
	    match("2001:db8::/33", MATCH_LIST_ADDR, "2001:db8:8000::1"), 0);
	assert_int_equal(match("[::1]", MATCH_LIST_ADDR, "::1"), 1);
	assert_int_equal(
	    match("127.0.0.0/8", MATCH_LIST_ADDR, "::ffff:127.0.0.1"), 1);
	assert_int_equal(match("[::1]/128", MATCH_LIST_ADDR, "127.0.0.1"), 0);
	/* First match wins; ! excludes. */
	assert_int_equal(
	    match("!192.0.2.1 192.0.2.0/24", MATCH_LIST_ADDR, "192.0.2.1"), 0);
	assert_int_equal(
	    match("!192.0.2.1 192.0.2.0/24", MATCH_LIST_ADDR, "192.0.2.2"), 1);
	assert_int_equal(match("", MATCH_LIST_ADDR, "192.0.2.2"), 0);
	assert_int_equal(
	    match("192.0.2.0/24", MATCH_LIST_ADDR, "not-an-address"), 0);
}

static void test_domains(void **state)
{
	(void)state;
	assert_int_equal(
	    match("example.com, localhost", MATCH_LIST_DOMAIN, "Example.COM."),
	    1);
	assert_int_equal(
	    match("example.com", MATCH_LIST_DOMAIN, "mx.example.com"), 0);
	assert_int_equal(match("example.com",
			       MATCH_LIST_DOMAIN | MATCH_LIST_PARENT,
			       "mx.example.com"),
			 1);
	assert_int_equal(match("example.com",
			       MATCH_LIST_DOMAIN | MATCH_LIST_PARENT,
			       "badexample.com"),
			 0);
	assert_int_equal(
	    match(".example.com", MATCH_LIST_DOMAIN, "example.com"), 0);
	assert_int_equal(
	    match(".example.com", MATCH_LIST_DOMAIN, "a.b.example.com"), 1);
	assert_int_equal(match("!a.example.com .example.com", MATCH_LIST_DOMAIN,
			       "a.example.com"),
			 0);
}

static void test_tables(void **state)
{
	(void)state;
	assert_int_equal(match("inline:{ example.net=yes }", MATCH_LIST_DOMAIN,
			       "example.net"),
			 1);
	assert_int_equal(match("inline:{ example.net=yes }", MATCH_LIST_DOMAIN,
			       "mx.example.net"),
			 0);
	assert_int_equal(match("inline:{ example.net=yes }",
			       MATCH_LIST_DOMAIN | MATCH_LIST_PARENT,
			       "mx.example.net"),
			 1);
	assert_int_equal(
	    match("inline:{ 192.0.2.9=ok }", MATCH_LIST_ADDR, "192.0.2.9"), 1);
	assert_int_equal(
	    match("inline:{ 192.0.2.9=ok }", MATCH_LIST_ADDR, "192.0.2.8"), 0);
}

static void test_malformed(void **state)
{
	struct strbuf *why = strbuf_new(STRBUF_NO_MAX);

	(void)state;
	assert_null(
	    match_list_new("mynetworks", "192.0.2.0/33", MATCH_LIST_ADDR, why));
	assert_non_null(strstr(strbuf_str(why), "mynetworks"));
	strbuf_reset(why);
	assert_null(
	    match_list_new("mynetworks", "example.com", MATCH_LIST_ADDR, why));
	strbuf_reset(why);
	assert_null(match_list_new("mynetworks", "/etc/networks",
				   MATCH_LIST_ADDR, why));
	assert_non_null(strstr(strbuf_str(why), "not supported"));
	strbuf_reset(why);
	assert_null(match_list_new("relay_domains", "nosuchtype:/x",
				   MATCH_LIST_DOMAIN, why));
	strbuf_reset(why);
	assert_null(
	    match_list_new("mynetworks", "[192.0.2.1", MATCH_LIST_ADDR, why));
	strbuf_free(&why);
}

static void test_mynetworks_styles(void **state)
{
	char *err = NULL;
	char *host, *subnet, *class_;

	(void)state;
	host = match_list_mynetworks("host", &err);
	assert_non_null(host);
	assert_non_null(strstr(host, "127.0.0.1/32"));
	subnet = match_list_mynetworks("subnet", &err);
	assert_non_null(subnet);
	assert_non_null(strstr(subnet, "127.0.0.0/8"));
	class_ = match_list_mynetworks("class", &err);
	assert_non_null(class_);
	assert_non_null(strstr(class_, "127.0.0.0/8"));
	assert_null(match_list_mynetworks("everything", &err));
	assert_non_null(err);
	myfree(err);
	/* Each is a valid address list that contains loopback. */
	assert_int_equal(match(host, MATCH_LIST_ADDR, "127.0.0.1"), 1);
	assert_int_equal(match(host, MATCH_LIST_ADDR, "198.51.100.200"), 0);
	myfree(host);
	myfree(subnet);
	myfree(class_);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_networks),
	    cmocka_unit_test(test_domains),
	    cmocka_unit_test(test_tables),
	    cmocka_unit_test(test_malformed),
	    cmocka_unit_test(test_mynetworks_styles),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
