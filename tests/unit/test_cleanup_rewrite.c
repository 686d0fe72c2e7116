/*
 * test_cleanup_rewrite - envelope rewriting in cleanup/cleanup_rewrite.c:
 * myorigin and append_dot_mydomain completion, canonical maps and their
 * key order, virtual alias expansion (one-to-many, recursion, loops,
 * self-reference, limits) and table errors.
 *
 * Unit tests link only libglobal.a and libutil.a, so the daemon's module
 * is compiled into this test directly.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cleanup/cleanup_rewrite.c"
#include "dict.h"
#include "dict_testutil.h"

static char *tmpdir;

static struct maps *maps_text(const char *param, const char *text)
{
	char *path, *spec, *err = NULL;
	struct maps *maps;
	FILE *fp;

	if (asprintf(&path, "%s/%s", tmpdir, param) < 0)
		abort();
	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
	if (asprintf(&spec, "texthash:%s", path) < 0)
		abort();
	maps = maps_open(param, spec, &err);
	assert_null(err);
	assert_non_null(maps);
	free(path);
	free(spec);
	return maps;
}

static struct cleanup_rewrite_conf base_conf(void)
{
	struct cleanup_rewrite_conf c = {
	    .myorigin = "origin.test",
	    .mydomain = "dom.test",
	    .mydestination = "local.test, localhost",
	    .recursion_limit = 1000,
	    .expansion_limit = 1000,
	};
	return c;
}

/* The expansion as one space-separated string, or the reason. */
static char *expand_str(struct cleanup_rewrite_conf *c, const char *addr,
			int *rc, int *limit)
{
	struct strbuf *why = strbuf_new(STRBUF_NO_MAX);
	struct strbuf *out = strbuf_new(STRBUF_NO_MAX);
	char **list;
	char *s;

	*rc = cleanup_rewrite_virtual(c, addr, &list, limit, why);
	if (*rc == 0) {
		for (char **cp = list; *cp; cp++)
			strbuf_printf(out, "%s%s", cp == list ? "" : " ", *cp);
		cleanup_rewrite_list_free(&list);
	} else {
		strbuf_puts(out, strbuf_str(why));
	}
	s = strbuf_export(out);
	strbuf_free(&out);
	strbuf_free(&why);
	return s;
}

static void test_qualify(void **state)
{
	struct cleanup_rewrite_conf c = base_conf();
	struct strbuf *out = strbuf_new(STRBUF_NO_MAX);

	(void)state;
	cleanup_rewrite_qualify(&c, "user", out);
	assert_string_equal(strbuf_str(out), "user@origin.test");
	cleanup_rewrite_qualify(&c, "", out);
	assert_string_equal(strbuf_str(out), "");
	cleanup_rewrite_qualify(&c, "user@host", out);
	assert_string_equal(strbuf_str(out), "user@host");
	c.append_dot_mydomain = 1;
	cleanup_rewrite_qualify(&c, "user@host", out);
	assert_string_equal(strbuf_str(out), "user@host.dom.test");
	cleanup_rewrite_qualify(&c, "user@[192.0.2.1]", out);
	assert_string_equal(strbuf_str(out), "user@[192.0.2.1]");
	strbuf_free(&out);
}

static void test_canonical(void **state)
{
	struct cleanup_rewrite_conf c = base_conf();
	struct strbuf *out = strbuf_new(STRBUF_NO_MAX);
	struct strbuf *why = strbuf_new(STRBUF_NO_MAX);

	(void)state;
	c.sender_canonical =
	    maps_text("sender_canonical", "joe@origin.test joseph\n");
	c.canonical =
	    maps_text("canonical", "joseph@origin.test j.smith@corp.test\n"
				   "bob bob.jones@corp.test\n"
				   "@old.test @new.test\n");
	assert_int_equal(cleanup_rewrite_sender(&c, "joe", out, why), 0);
	assert_string_equal(strbuf_str(out), "j.smith@corp.test");
	/* "user" keys only for local domains. */
	assert_int_equal(cleanup_rewrite_rcpt(&c, "bob@local.test", out, why),
			 0);
	assert_string_equal(strbuf_str(out), "bob.jones@corp.test");
	assert_int_equal(cleanup_rewrite_rcpt(&c, "bob@remote.test", out, why),
			 0);
	assert_string_equal(strbuf_str(out), "bob@remote.test");
	/* "@domain" maps the whole domain to an address: one to one. */
	assert_int_equal(cleanup_rewrite_rcpt(&c, "x@old.test", out, why), 0);
	assert_string_equal(strbuf_str(out), "@new.test");
	assert_int_equal(cleanup_rewrite_sender(&c, "", out, why), 0);
	assert_string_equal(strbuf_str(out), "");
	maps_free(&c.sender_canonical);
	maps_free(&c.canonical);
	strbuf_free(&out);
	strbuf_free(&why);
}

static void test_virtual_one_to_many(void **state)
{
	struct cleanup_rewrite_conf c = base_conf();
	int rc, limit;
	char *s;

	(void)state;
	c.virtual_alias =
	    maps_text("virtual", "list@v.test a@v.test, b@v.test c@v.test\n"
				 "a@v.test a@v.test, d\n"
				 "b@v.test list@v.test\n"
				 "@catch.test all@v.test\n");
	s = expand_str(&c, "list@v.test", &rc, &limit);
	assert_int_equal(rc, 0);
	/* a maps to itself: kept; b loops back to list: list kept as is. */
	assert_string_equal(s, "a@v.test list@v.test c@v.test d@origin.test");
	free(s);
	s = expand_str(&c, "nobody@v.test", &rc, &limit);
	assert_string_equal(s, "nobody@v.test");
	free(s);
	s = expand_str(&c, "anyone@catch.test", &rc, &limit);
	assert_string_equal(s, "all@v.test");
	free(s);
	/* Duplicates and case: one copy. */
	maps_free(&c.virtual_alias);
	c.virtual_alias =
	    maps_text("virtual2", "x@v.test y@v.test, Y@V.test\n");
	s = expand_str(&c, "x@v.test", &rc, &limit);
	assert_string_equal(s, "y@v.test");
	free(s);
	maps_free(&c.virtual_alias);
}

static void test_virtual_limits(void **state)
{
	struct cleanup_rewrite_conf c = base_conf();
	struct strbuf *tab = strbuf_new(STRBUF_NO_MAX);
	int rc, limit;
	char *s;

	(void)state;
	/* A chain n0 -> n1 -> ... -> n20. */
	for (int i = 0; i < 20; i++)
		strbuf_printf(tab, "n%d@v.test n%d@v.test\n", i, i + 1);
	c.virtual_alias = maps_text("chain", strbuf_str(tab));
	c.recursion_limit = 20;
	s = expand_str(&c, "n0@v.test", &rc, &limit);
	assert_int_equal(rc, 0);
	assert_string_equal(s, "n20@v.test");
	free(s);
	c.recursion_limit = 19;
	s = expand_str(&c, "n0@v.test", &rc, &limit);
	assert_int_equal(rc, -1);
	assert_int_equal(limit, 1);
	assert_non_null(strstr(s, "nesting"));
	free(s);
	maps_free(&c.virtual_alias);

	/* One address to 30: fine at 30, too many at 29. */
	strbuf_reset(tab);
	strbuf_puts(tab, "big@v.test ");
	for (int i = 0; i < 30; i++)
		strbuf_printf(tab, "m%d@v.test,", i);
	strbuf_puts(tab, "\n");
	c.virtual_alias = maps_text("big", strbuf_str(tab));
	c.expansion_limit = 30;
	s = expand_str(&c, "big@v.test", &rc, &limit);
	assert_int_equal(rc, 0);
	free(s);
	c.expansion_limit = 29;
	s = expand_str(&c, "big@v.test", &rc, &limit);
	assert_int_equal(rc, -1);
	assert_int_equal(limit, 1);
	assert_non_null(strstr(s, "expansion size"));
	free(s);
	maps_free(&c.virtual_alias);
	strbuf_free(&tab);
}

static int fail_lookup(struct dict *d, const char *key, const char **value)
{
	(void)key;
	(void)value;
	return dict_set_error(d, "broken table");
}

static void test_table_error(void **state)
{
	struct cleanup_rewrite_conf c = base_conf();
	struct strbuf *out = strbuf_new(STRBUF_NO_MAX);
	struct strbuf *why = strbuf_new(STRBUF_NO_MAX);
	int rc, limit;
	char *s;

	(void)state;
	c.virtual_alias = maps_text("virtual", "a@v.test b@v.test\n");
	/* Break the table: a lookup error must never read as not found. */
	c.virtual_alias->dicts[0]->lookup = fail_lookup;
	s = expand_str(&c, "a@v.test", &rc, &limit);
	assert_int_equal(rc, -1);
	assert_int_equal(limit, 0);
	assert_non_null(strstr(s, "broken table"));
	free(s);
	c.canonical = c.virtual_alias;
	assert_int_equal(cleanup_rewrite_rcpt(&c, "x@v.test", out, why), -1);
	assert_int_equal(cleanup_rewrite_sender(&c, "x@v.test", out, why), -1);
	maps_free(&c.virtual_alias);
	strbuf_free(&out);
	strbuf_free(&why);
}

static void test_maps_open(void **state)
{
	char *err = NULL;
	struct maps *maps;

	(void)state;
	assert_null(maps_open("x", "", &err));
	assert_null(err);
	assert_null(maps_open("x", "nosuchtype:/x", &err));
	assert_non_null(err);
	assert_non_null(strstr(err, "x: "));
	free(err);
	maps = maps_open("x", "inline:{a=b}, static:c", &err);
	assert_non_null(maps);
	assert_int_equal(maps->count, 2);
	maps_free(&maps);
}

static int setup(void **state)
{
	(void)state;
	tmpdir = tu_mkdtemp();
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	tu_rmdir(tmpdir);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_qualify),
	    cmocka_unit_test(test_canonical),
	    cmocka_unit_test(test_virtual_one_to_many),
	    cmocka_unit_test(test_virtual_limits),
	    cmocka_unit_test(test_table_error),
	    cmocka_unit_test(test_maps_open),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
