/*
 * test_strbuf - the hard maximum holds for every way of adding bytes, and a
 * refused append changes nothing.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "strbuf.h"

static void test_append_max(void **state)
{
	struct strbuf *sb = strbuf_new(10);

	(void)state;
	assert_int_equal(strbuf_len(sb), 0);
	assert_string_equal(strbuf_str(sb), "");
	assert_int_equal(strbuf_puts(sb, "hello"), 0);
	assert_int_equal(strbuf_append(sb, "wor", 3), 0);
	assert_int_equal(strbuf_putc(sb, 'l'), 0);
	assert_int_equal(strbuf_putc(sb, 'd'), 0);
	assert_int_equal(strbuf_len(sb), 10);
	/* At the maximum: every append fails and changes nothing. */
	assert_int_equal(strbuf_putc(sb, '!'), -1);
	assert_int_equal(strbuf_puts(sb, "x"), -1);
	assert_int_equal(strbuf_append(sb, "", 0), 0);
	assert_int_equal(strbuf_append(sb, "x", SIZE_MAX), -1);
	assert_string_equal(strbuf_str(sb), "helloworld");
	assert_int_equal(strbuf_len(sb), 10);
	strbuf_free(&sb);
	assert_null(sb);
	strbuf_free(&sb); /* NULL: a no-op */
}

static void test_printf_max(void **state)
{
	struct strbuf *sb = strbuf_new(12);

	(void)state;
	assert_int_equal(strbuf_printf(sb, "%d-%s", 42, "ab"), 0);
	assert_string_equal(strbuf_str(sb), "42-ab");
	assert_int_equal(strbuf_printf(sb, "%s", "12345678"), -1);
	assert_string_equal(strbuf_str(sb), "42-ab");
	assert_int_equal(strbuf_len(sb), 5);
	assert_int_equal(strbuf_printf(sb, "%s", "1234567"), 0);
	assert_int_equal(strbuf_len(sb), 12);
	assert_int_equal(strbuf_set(sb, "0123456789abc"), -1);
	assert_string_equal(strbuf_str(sb), "42-ab1234567");
	assert_int_equal(strbuf_set(sb, "new"), 0);
	assert_string_equal(strbuf_str(sb), "new");
	strbuf_free(&sb);
}

static void test_binary_truncate_export(void **state)
{
	struct strbuf *sb = strbuf_new(STRBUF_NO_MAX);
	char *s;

	(void)state;
	assert_int_equal(strbuf_append(sb, "a\0b", 3), 0);
	assert_int_equal(strbuf_len(sb), 3);
	assert_memory_equal(strbuf_str(sb), "a\0b", 4);
	/* Growing far past the first allocation keeps the content. */
	for (int i = 0; i < 1000; i++)
		assert_int_equal(strbuf_puts(sb, "0123456789"), 0);
	assert_int_equal(strbuf_len(sb), 10003);
	assert_int_equal(strbuf_str(sb)[10003], 0);
	strbuf_truncate(sb, 2);
	assert_int_equal(strbuf_len(sb), 2);
	assert_memory_equal(strbuf_str(sb), "a\0", 3);
	strbuf_truncate(sb, 2);
	strbuf_reset(sb);
	assert_int_equal(strbuf_len(sb), 0);
	assert_int_equal(strbuf_puts(sb, "keep"), 0);
	s = strbuf_export(sb);
	assert_string_equal(s, "keep");
	assert_int_equal(strbuf_len(sb), 0);
	assert_string_equal(strbuf_str(sb), "");
	free(s);
	strbuf_free(&sb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_append_max),
	    cmocka_unit_test(test_printf_max),
	    cmocka_unit_test(test_binary_truncate_export),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
