/*
 * test_dict_cidr - cidr: tables: IPv4 and IPv6 networks, edge prefixes,
 * first match wins, keys that are not addresses, and the open errors for
 * bad lines (with file:line).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "dict.h"
#include "dict_cidr.h"
#include "dict_testutil.h"
#include "strbuf.h"

static struct dict *cidr_from(const char *text, struct strbuf *why)
{
	FILE *fp = fmemopen((void *)text, strlen(text), "r");
	struct dict *dict;

	assert_non_null(fp);
	strbuf_reset(why);
	dict = dict_cidr_open_fp(fp, "cidr.txt", 0, why);
	fclose(fp);
	return dict;
}

static void expect(struct dict *dict, const char *key, const char *want)
{
	const char *value;
	int ret = dict_lookup(dict, key, &value);

	if (want == NULL) {
		if (ret != DICT_NOTFOUND)
			fail_msg("key %s: want not found, got %d", key, ret);
	} else {
		if (ret != DICT_FOUND)
			fail_msg("key %s: want %s, got %d", key, want, ret);
		assert_string_equal(value, want);
	}
}

static void test_match(void **state)
{
	struct strbuf *why = strbuf_new(STRBUF_NO_MAX);
	struct dict *dict = cidr_from("# networks\n"
				      "192.0.2.1        host\n"
				      "192.0.2.0/24     net24\n"
				      "198.51.100.0/31  net31\n"
				      "203.0.113.128/25 net25\n"
				      "10.0.0.0/8       REJECT private\n"
				      "2001:db8::1      v6host\n"
				      "[2001:db8:1::]/48 v6net48\n"
				      "2001:db8::/32    v6net32\n"
				      "0.0.0.0/0        any4\n",
				      why);

	(void)state;
	if (dict == NULL)
		fail_msg("%s", strbuf_str(why));
	assert_true(dict->flags & DICT_PATTERN);
	expect(dict, "192.0.2.1", "host"); /* first match wins */
	expect(dict, "192.0.2.2", "net24");
	expect(dict, "192.0.2.255", "net24");
	expect(dict, "198.51.100.1", "net31");
	expect(dict, "198.51.100.2", "any4");
	expect(dict, "203.0.113.127", "any4");
	expect(dict, "203.0.113.128", "net25");
	expect(dict, "10.255.255.255", "REJECT private");
	expect(dict, "[192.0.2.9]", "net24");
	expect(dict, "2001:db8::1", "v6host");
	expect(dict, "2001:DB8:0:0:0:0:0:1", "v6host");
	expect(dict, "2001:db8:1:ffff::5", "v6net48");
	expect(dict, "2001:db8:2::5", "v6net32");
	expect(dict, "2001:db9::1", NULL);
	expect(dict, "::1", NULL);
	/* Not addresses: no match, no error. */
	expect(dict, "example.com", NULL);
	expect(dict, "", NULL);
	expect(dict, "192.0.2.1/24", NULL);
	expect(dict, "1.2.3.4.5", NULL);
	dict_close(&dict);

	dict = cidr_from("::/0 any6\n0.0.0.0/32 zero\n"
			 "255.255.255.255/32 bcast\n",
			 why);
	assert_non_null(dict);
	expect(dict, "ffff::1", "any6");
	expect(dict, "0.0.0.0", "zero");
	expect(dict, "255.255.255.255", "bcast");
	expect(dict, "1.1.1.1", NULL);
	dict_close(&dict);
	strbuf_free(&why);
}

static void test_errors(void **state)
{
	static const struct {
		const char *text;
		const char *want;
	} bad[] = {
	    {"1.2.3.0/24 ok\n1.2.3.4/33 x\n",
	     "cidr.txt:2: bad network prefix in \"1.2.3.4/33\""},
	    {"2001:db8::/129 x\n",
	     "cidr.txt:1: bad network prefix in \"2001:db8::/129\""},
	    {"1.2.3.4/24 x\n",
	     "cidr.txt:1: non-zero host bits in \"1.2.3.4/24\" (the "
	     "network is 1.2.3.0/24)"},
	    {"2001:db8::1/32 x\n", "cidr.txt:1: non-zero host bits"},
	    {"0.0.0.1/0 x\n", "cidr.txt:1: non-zero host bits"},
	    {"1.2.3.0/ x\n", "cidr.txt:1: bad network prefix"},
	    {"1.2.3.0/-1 x\n", "cidr.txt:1: bad network prefix"},
	    {"1.2.3.0/24x x\n", "cidr.txt:1: bad network prefix"},
	    {"1.2.3.0/+8 x\n", "cidr.txt:1: bad network prefix"},
	    {"1.2.3 x\n", "cidr.txt:1: bad address \"1.2.3\""},
	    {"example.com x\n", "cidr.txt:1: bad address"},
	    {"[1.2.3.4 x\n", "cidr.txt:1: bad address"},
	    {"# c\n1.2.3.4\n", "cidr.txt:2: expected \"key whitespace value\""},
	};
	struct strbuf *why = strbuf_new(STRBUF_NO_MAX);

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct dict *dict = cidr_from(bad[i].text, why);

		if (dict != NULL)
			fail_msg("accepted: %s", bad[i].text);
		if (strstr(strbuf_str(why), bad[i].want) == NULL)
			fail_msg("%s: want %s, got %s", bad[i].text,
				 bad[i].want, strbuf_str(why));
	}
	strbuf_free(&why);
}

static void test_open_file(void **state)
{
	char *dir = tu_mkdtemp();
	char *file = tu_path(dir, "clients");
	char *spec, *err = NULL;
	struct dict *dict;

	(void)state;
	if (asprintf(&spec, "cidr:%s", file) < 0)
		abort();
	assert_null(dict_open(spec, 0, &err));
	assert_non_null(strstr(err, "No such file"));
	free(err);
	tu_write(file, "192.0.2.0/24 OK\n");
	dict = dict_open(spec, DICT_FOLD_KEYS, &err);
	assert_non_null(dict);
	expect(dict, "192.0.2.7", "OK");
	dict_close(&dict);
	free(spec);
	free(file);
	tu_rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_match),
	    cmocka_unit_test(test_errors),
	    cmocka_unit_test(test_open_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
