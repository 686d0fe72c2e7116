/*
 * test_alias_items - splitting alias, .forward and :include: values
 * (global/alias_items.c): separators, quotes and quoted pairs, comments,
 * white space, and malformed input (open quotes, line ends inside
 * quotes, stray backslashes) that must never yield an empty item or one
 * with a line end.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "alias_items.h"

/* Split value and compare with the NULL-terminated list want. */
static void expect(const char *value, const char *const *want)
{
	size_t count, n = 0;
	char **items = alias_items_split(value, &count);

	while (want[n])
		n++;
	if (count != n) {
		for (size_t i = 0; i < count; i++)
			print_message("item %zu: [%s]\n", i, items[i]);
		fail_msg("\"%s\": %zu items, want %zu", value, count, n);
	}
	for (size_t i = 0; i < n; i++)
		assert_string_equal(items[i], want[i]);
	alias_items_free(&items, count);
	assert_null(items);
}

#define EXPECT(value, ...)                                                     \
	expect(value, (const char *const[]){__VA_ARGS__, NULL})

static void test_plain(void **state)
{
	(void)state;
	EXPECT("alice", "alice");
	EXPECT("alice, bob,carol@example.org", "alice", "bob",
	       "carol@example.org");
	EXPECT("  alice  ,\t bob \r\n", "alice", "bob");
	EXPECT("alice\nbob\n\\carol", "alice", "bob", "\\carol");
	EXPECT("/var/mail/archive, :include:/etc/list",
	       "/var/mail/archive", ":include:/etc/list");
}

static void test_empty(void **state)
{
	size_t count = 99;
	char **items;

	(void)state;
	items = alias_items_split("", &count);
	assert_int_equal(count, 0);
	assert_null(items);
	items = alias_items_split(" , ,\n\n,\"\" ", &count);
	assert_int_equal(count, 0);
	alias_items_free(&items, count);
}

static void test_quotes(void **state)
{
	(void)state;
	EXPECT("\"|/usr/bin/prog a, b\", bob", "|/usr/bin/prog a, b", "bob");
	EXPECT("|\"/usr/bin/prog --x\"", "|/usr/bin/prog --x");
	EXPECT("\"|echo \\\"$RECIPIENT\\\" > /tmp/x\"",
	       "|echo \"$RECIPIENT\" > /tmp/x");
	EXPECT("\"a\\\\b\"", "a\\b");
	/* A backslash outside quotes is kept: \user in .forward. */
	EXPECT("\\bob, alice", "\\bob", "alice");
}

static void test_comments(void **state)
{
	(void)state;
	EXPECT("# a comment, with a comma\nalice\n  # not at line start\n",
	       "alice", "# not at line start");
	EXPECT("#only a comment", NULL);
	EXPECT("alice # trailing text is part of the item",
	       "alice # trailing text is part of the item");
}

static void test_malformed(void **state)
{
	(void)state;
	/* An open quote ends at the line end: the next line is new. */
	EXPECT("\"open, quote\nbob", "open, quote", "bob");
	/* A quoted pair cannot carry a line end into an item. */
	EXPECT("\"a\\\nb\"", "a\\", "b");
	EXPECT("\"trailing backslash\\", "trailing backslash\\");
	EXPECT("\"\"\"\"", NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_plain),    cmocka_unit_test(test_empty),
	    cmocka_unit_test(test_quotes),   cmocka_unit_test(test_comments),
	    cmocka_unit_test(test_malformed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
