/*
 * test_access_lookup - the access(5) partial-key order for addresses,
 * domains and IP addresses, the first match winning, pattern tables asked
 * once, and an error stopping the search.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "access_lookup.h"
#include "dict.h"
#include "dict_regexp.h"
#include "strbuf.h"

/* "k1|k2|..." for the keys of key. */
static void order(const char *key, enum access_key_type type, const char *want)
{
	char **keys = access_lookup_keys(key, type);
	struct strbuf *got = strbuf_new(STRBUF_NO_MAX);

	for (char **kp = keys; *kp; kp++)
		strbuf_printf(got, "%s%s", kp == keys ? "" : "|", *kp);
	if (strcmp(strbuf_str(got), want) != 0)
		fail_msg("%s: want %s, got %s", key, want, strbuf_str(got));
	strbuf_free(&got);
	access_keys_free(&keys);
	assert_null(keys);
}

static void test_order(void **state)
{
	(void)state;
	order("User@Sub.Example.COM", ACCESS_KEY_ADDRESS,
	      "user@sub.example.com|sub.example.com|.example.com|.com|user@");
	order("user@example.com", ACCESS_KEY_ADDRESS,
	      "user@example.com|example.com|.com|user@");
	order("postmaster", ACCESS_KEY_ADDRESS, "postmaster|postmaster@");
	order("\"a@b\"@example.com", ACCESS_KEY_ADDRESS,
	      "\"a@b\"@example.com|example.com|.com|\"a@b\"@");
	order("user@[192.0.2.1]", ACCESS_KEY_ADDRESS,
	      "user@[192.0.2.1]|[192.0.2.1]|user@");
	order("@example.com", ACCESS_KEY_ADDRESS,
	      "@example.com|example.com|.com");
	order("user@", ACCESS_KEY_ADDRESS, "user@");
	order("", ACCESS_KEY_ADDRESS, "");
	order("Mail.Example.com", ACCESS_KEY_DOMAIN,
	      "mail.example.com|.example.com|.com");
	order("localhost", ACCESS_KEY_DOMAIN, "localhost");
	order("example.com.", ACCESS_KEY_DOMAIN, "example.com.|.com.");
	order("192.0.2.1", ACCESS_KEY_IPADDR, "192.0.2.1|192.0.2|192.0|192");
	order("[192.0.2.1]", ACCESS_KEY_IPADDR, "192.0.2.1|192.0.2|192.0|192");
	order("2001:DB8::1", ACCESS_KEY_IPADDR,
	      "2001:db8::1|2001:db8:|2001:db8|2001");
	order("1:2:3:4:5:6:7:8", ACCESS_KEY_IPADDR,
	      "1:2:3:4:5:6:7:8|1:2:3:4:5:6:7|1:2:3:4:5:6|1:2:3:4:5|1:2:3:4|"
	      "1:2:3|1:2|1");
}

static struct dict *open_ok(const char *spec)
{
	char *err = NULL;
	struct dict *dict = dict_open(spec, DICT_FOLD_KEYS, &err);

	if (dict == NULL)
		fail_msg("%s: %s", spec, err);
	return dict;
}

static void hit(struct dict *dict, const char *key, enum access_key_type type,
		const char *want_value, const char *want_key)
{
	struct strbuf *matched = strbuf_new(STRBUF_NO_MAX);
	const char *value;
	int ret = access_lookup(dict, key, type, &value, matched);

	if (want_value == NULL) {
		assert_int_equal(ret, DICT_NOTFOUND);
	} else {
		if (ret != DICT_FOUND)
			fail_msg("%s: want %s, got %d", key, want_value, ret);
		assert_string_equal(value, want_value);
		assert_string_equal(strbuf_str(matched), want_key);
	}
	strbuf_free(&matched);
}

static void test_lookup(void **state)
{
	struct dict *dict =
	    open_ok("inline:{ user@example.com=FULL, sub.example.com=DOMAIN, "
		    ".example.com=PARENT, postmaster@=LOCALPART, 192.0.2=NET, "
		    "2001:db8=NET6, .org=TLD }");

	(void)state;
	hit(dict, "USER@example.com", ACCESS_KEY_ADDRESS, "FULL",
	    "user@example.com");
	hit(dict, "joe@sub.example.com", ACCESS_KEY_ADDRESS, "DOMAIN",
	    "sub.example.com");
	hit(dict, "joe@a.b.example.com", ACCESS_KEY_ADDRESS, "PARENT",
	    ".example.com");
	/* "example.com" itself is not matched by ".example.com". */
	hit(dict, "joe@example.com", ACCESS_KEY_ADDRESS, NULL, NULL);
	hit(dict, "postmaster@example.net", ACCESS_KEY_ADDRESS, "LOCALPART",
	    "postmaster@");
	/* The domain comes before the local part. */
	hit(dict, "postmaster@x.org", ACCESS_KEY_ADDRESS, "TLD", ".org");
	hit(dict, "192.0.2.77", ACCESS_KEY_IPADDR, "NET", "192.0.2");
	hit(dict, "192.0.3.77", ACCESS_KEY_IPADDR, NULL, NULL);
	hit(dict, "2001:db8:5::1", ACCESS_KEY_IPADDR, "NET6", "2001:db8");
	hit(dict, "www.sub.example.com", ACCESS_KEY_DOMAIN, "PARENT",
	    ".example.com");
	dict_close(&dict);
}

static void test_pattern_table(void **state)
{
	static const char text[] = "/^user@/ PATTERN\n/^example\\.com$/ DOM\n";
	FILE *fp = fmemopen((void *)text, sizeof(text) - 1, "r");
	struct strbuf *why = strbuf_new(STRBUF_NO_MAX);
	struct dict *dict = dict_regexp_open_fp(fp, "rx", 0, why);

	(void)state;
	fclose(fp);
	assert_non_null(dict);
	hit(dict, "user@example.com", ACCESS_KEY_ADDRESS, "PATTERN",
	    "user@example.com");
	/* Only the whole key: the domain alone is not tried. */
	hit(dict, "joe@example.com", ACCESS_KEY_ADDRESS, NULL, NULL);
	dict_close(&dict);
	strbuf_free(&why);
}

/* A table that fails on the first key must not be asked the others. */
static int calls;
static int failing_lookup(struct dict *dict, const char *key,
			  const char **value)
{
	(void)key;
	(void)value;
	calls++;
	return dict_set_error(dict, "broken table");
}

static void test_error_stops(void **state)
{
	struct dict *dict = open_ok("inline:{ example.com=OK }");
	const char *value;

	(void)state;
	dict->lookup = failing_lookup;
	calls = 0;
	assert_int_equal(access_lookup(dict, "u@example.com",
				       ACCESS_KEY_ADDRESS, &value, NULL),
			 DICT_ERROR);
	assert_int_equal(calls, 1);
	assert_string_equal(dict_error(dict), "broken table");
	dict_close(&dict);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_order),
	    cmocka_unit_test(test_lookup),
	    cmocka_unit_test(test_pattern_table),
	    cmocka_unit_test(test_error_stops),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
