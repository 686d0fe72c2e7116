/*
 * test_dict - the dict API and its table types: file tables built and
 * changed through the API (hash, btree, lmdb, cdb), atomic rebuilds,
 * missing and corrupt files, and the in-memory types (texthash, inline,
 * static) and unix:.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cdb.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "dict.h"
#include "dict_testutil.h"
#include "msg.h"

static const char *file_types[] = {"hash", "btree", "lmdb", "cdb"};
#define NTYPES (sizeof(file_types) / sizeof(file_types[0]))

static char *spec_of(const char *type, const char *dir, const char *name)
{
	char *spec;

	if (asprintf(&spec, "%s:%s/%s", type, dir, name) < 0)
		abort();
	return spec;
}

static struct dict *open_ok(const char *spec, int flags)
{
	char *err = NULL;
	struct dict *dict = dict_open(spec, flags, &err);

	if (dict == NULL)
		fail_msg("dict_open %s: %s", spec, err);
	return dict;
}

/* Build spec from key/value pairs (NULL-terminated) and install it. */
static void build(const char *spec, const char *const *kv)
{
	struct dict *dict = open_ok(spec, DICT_TRUNC | DICT_FOLD_KEYS);

	for (; kv[0]; kv += 2)
		assert_int_equal(dict_update(dict, kv[0], kv[1]), 0);
	assert_int_equal(dict_commit(dict), 0);
	dict_close(&dict);
	assert_null(dict);
}

static void expect(struct dict *dict, const char *key, const char *want)
{
	const char *value;
	int ret = dict_lookup(dict, key, &value);

	if (want == NULL) {
		if (ret != DICT_NOTFOUND)
			fail_msg("%s:%s: key %s: want not found, got %d (%s)",
				 dict->type, dict->name, key, ret,
				 ret == DICT_ERROR ? dict_error(dict) : value);
	} else {
		if (ret != DICT_FOUND)
			fail_msg("%s:%s: key %s: want %s, got %d %s",
				 dict->type, dict->name, key, want, ret,
				 ret == DICT_ERROR ? dict_error(dict) : "");
		assert_string_equal(value, want);
	}
}

static void test_file_build_lookup(void **state)
{
	static const char *const kv[] = {"User@Example.COM",
					 "OK",
					 "example.net",
					 "REJECT no thanks",
					 "1.2.3",
					 "DUNNO",
					 NULL};
	(void)state;
	for (size_t t = 0; t < NTYPES; t++) {
		char *dir = tu_mkdtemp();
		char *spec = spec_of(file_types[t], dir, "access");
		struct dict *dict;
		const char *key, *value;
		int n = 0, ret;

		build(spec, kv);
		dict = open_ok(spec, DICT_FOLD_KEYS);
		expect(dict, "user@example.com", "OK");
		expect(dict, "USER@EXAMPLE.COM", "OK");
		expect(dict, "example.net", "REJECT no thanks");
		expect(dict, "1.2.3", "DUNNO");
		expect(dict, "example.org", NULL);
		expect(dict, "", NULL);
		for (ret = dict_sequence(dict, 1, &key, &value);
		     ret == DICT_FOUND;
		     ret = dict_sequence(dict, 0, &key, &value)) {
			n++;
			if (strcmp(key, "user@example.com") == 0)
				assert_string_equal(value, "OK");
		}
		assert_int_equal(ret, DICT_NOTFOUND);
		assert_int_equal(n, 3);
		/* Read-only: updates are refused, not silently dropped. */
		assert_int_equal(dict_update(dict, "a", "b"), DICT_ERROR);
		assert_non_null(strstr(dict_error(dict), "read-only"));
		dict_close(&dict);
		/* Without folding the stored (lowercase) key is still found,
		 * an uppercase one is not. */
		dict = open_ok(spec, 0);
		expect(dict, "example.net", "REJECT no thanks");
		expect(dict, "EXAMPLE.NET", NULL);
		dict_close(&dict);
		assert_int_equal(tu_count(dir, "access.tmp"), 0);
		free(spec);
		tu_rmdir(dir);
	}
}

static void test_file_duplicates(void **state)
{
	(void)state;
	for (size_t t = 0; t < NTYPES; t++) {
		char *dir = tu_mkdtemp();
		char *spec = spec_of(file_types[t], dir, "map");
		struct dict *dict = open_ok(spec, DICT_TRUNC);

		assert_int_equal(dict_update(dict, "k", "first"), 0);
		assert_int_equal(dict_update(dict, "k", "second"), DICT_EXISTS);
		expect(dict, "k", "first");
		assert_int_equal(dict_commit(dict), 0);
		dict_close(&dict);
		dict = open_ok(spec, 0);
		expect(dict, "k", "first");
		dict_close(&dict);

		dict = open_ok(spec, DICT_TRUNC | DICT_DUP_REPLACE);
		assert_int_equal(dict_update(dict, "k", "first"), 0);
		assert_int_equal(dict_update(dict, "k", "second"), 0);
		assert_int_equal(dict_commit(dict), 0);
		dict_close(&dict);
		dict = open_ok(spec, 0);
		expect(dict, "k", "second");
		dict_close(&dict);
		free(spec);
		tu_rmdir(dir);
	}
}

static void test_file_missing(void **state)
{
	(void)state;
	for (size_t t = 0; t < NTYPES; t++) {
		char *dir = tu_mkdtemp();
		char *spec = spec_of(file_types[t], dir, "none");
		char *err = NULL;

		assert_null(dict_open(spec, 0, &err));
		assert_non_null(err);
		assert_non_null(strstr(err, "No such file"));
		free(err);
		/* In-place update of a missing table without DICT_CREATE. */
		assert_null(dict_open(spec, DICT_WRITE, &err));
		assert_non_null(strstr(err, "No such file"));
		free(err);
		free(spec);
		tu_rmdir(dir);
	}
}

/* A table file that is garbage, or cut short, is an error: either the
 * open fails or lookups say DICT_ERROR; a present key never reads as
 * "not found". */
static void test_file_corrupt(void **state)
{
	static const char *suffix[] = {".db", ".db", ".lmdb", ".cdb"};
	(void)state;
	for (size_t t = 0; t < NTYPES; t++) {
		char *dir = tu_mkdtemp();
		char *spec = spec_of(file_types[t], dir, "map");
		char *file, *err = NULL;
		struct dict *dict;
		char garbage[8192];
		char key[32];
		struct stat st;
		const char *value;

		if (asprintf(&file, "%s/map%s", dir, suffix[t]) < 0)
			abort();
		/* Garbage. */
		memset(garbage, 'x', sizeof(garbage));
		garbage[sizeof(garbage) - 1] = 0;
		tu_write(file, garbage);
		dict = dict_open(spec, 0, &err);
		if (dict != NULL) {
			/* tinycdb checks offsets only when it uses them. */
			assert_int_equal(dict_lookup(dict, "k", &value),
					 DICT_ERROR);
			dict_close(&dict);
		} else {
			assert_non_null(err);
			free(err);
			err = NULL;
		}

		/* Empty file. */
		tu_write(file, "");
		dict = dict_open(spec, 0, &err);
		if (dict != NULL) {
			assert_int_not_equal(dict_lookup(dict, "k1", &value),
					     DICT_FOUND);
			dict_close(&dict);
		}
		free(err);
		err = NULL;

		/* A real table, cut to half its size. */
		dict = open_ok(spec, DICT_TRUNC);
		for (int i = 0; i < 2000; i++) {
			snprintf(key, sizeof(key), "key%d", i);
			assert_int_equal(dict_update(dict, key,
						     "some value "
						     "that takes room"),
					 0);
		}
		assert_int_equal(dict_commit(dict), 0);
		dict_close(&dict);
		assert_int_equal(stat(file, &st), 0);
		assert_int_equal(truncate(file, st.st_size / 2), 0);
		dict = dict_open(spec, 0, &err);
		if (dict != NULL) {
			int errors = 0;

			for (int i = 0; i < 2000; i++) {
				snprintf(key, sizeof(key), "key%d", i);
				int ret = dict_lookup(dict, key, &value);

				if (ret == DICT_NOTFOUND &&
				    strcmp(file_types[t], "hash") != 0 &&
				    strcmp(file_types[t], "btree") != 0)
					fail_msg("%s: present key %s reads as "
						 "not found",
						 spec, key);
				errors += ret == DICT_ERROR;
			}
			/* Berkeley DB cannot tell every lost page from an
			 * absent key; it must notice at least some. */
			assert_true(errors > 0);
			dict_close(&dict);
		}
		free(err);
		free(file);
		free(spec);
		tu_rmdir(dir);
	}
}

static void test_file_incremental(void **state)
{
	(void)state;
	for (size_t t = 0; t < NTYPES; t++) {
		char *dir = tu_mkdtemp();
		char *spec = spec_of(file_types[t], dir, "map");
		struct dict *dict;

		/* Creating a missing table in place. */
		dict = open_ok(spec, DICT_WRITE | DICT_CREATE | DICT_FOLD_KEYS);
		assert_int_equal(dict_update(dict, "Alpha", "1"), 0);
		assert_int_equal(dict_update(dict, "beta", "2"), 0);
		assert_int_equal(dict_commit(dict), 0);
		dict_close(&dict);

		dict = open_ok(spec, DICT_WRITE | DICT_FOLD_KEYS);
		expect(dict, "ALPHA", "1");
		assert_int_equal(dict_update(dict, "gamma", "3"), 0);
		assert_int_equal(dict_delete(dict, "alpha"), DICT_FOUND);
		assert_int_equal(dict_delete(dict, "alpha"), DICT_NOTFOUND);
		assert_int_equal(dict_commit(dict), 0);
		dict_close(&dict);

		dict = open_ok(spec, 0);
		expect(dict, "alpha", NULL);
		expect(dict, "beta", "2");
		expect(dict, "gamma", "3");
		assert_int_equal(dict_delete(dict, "beta"), DICT_ERROR);
		dict_close(&dict);
		assert_int_equal(tu_count(dir, "map.tmp"), 0);
		free(spec);
		tu_rmdir(dir);
	}
}

/* A reader that has the table open keeps reading the old, complete data
 * while a rebuild installs a new file by rename; a new reader sees the new
 * table; an aborted rebuild leaves the table alone. */
static void test_file_atomic_rebuild(void **state)
{
	static const char *suffix[] = {".db", ".db", ".lmdb", ".cdb"};
	static const char *const v1[] = {"a", "old-a", "b", "old-b", NULL};
	static const char *const v2[] = {"a", "new-a", "c", "new-c", NULL};
	(void)state;
	for (size_t t = 0; t < NTYPES; t++) {
		char *dir = tu_mkdtemp();
		char *spec = spec_of(file_types[t], dir, "map");
		char *file;
		struct dict *old, *fresh, *aborted;
		struct stat st1, st2;

		if (asprintf(&file, "%s/map%s", dir, suffix[t]) < 0)
			abort();
		build(spec, v1);
		old = open_ok(spec, 0);
		expect(old, "a", "old-a");
		assert_int_equal(dict_changed(old), 0);
		assert_int_equal(stat(file, &st1), 0);

		aborted = open_ok(spec, DICT_TRUNC);
		assert_int_equal(dict_update(aborted, "a", "half"), 0);
		dict_close(&aborted); /* no commit */
		assert_int_equal(tu_count(dir, "map.tmp"), 0);

		build(spec, v2);
		assert_int_equal(stat(file, &st2), 0);
		assert_true(st1.st_ino != st2.st_ino);
		assert_int_equal(dict_changed(old), 1);
		/* The old reader still sees the whole old table. */
		expect(old, "a", "old-a");
		expect(old, "b", "old-b");
		expect(old, "c", NULL);
		fresh = open_ok(spec, 0);
		expect(fresh, "a", "new-a");
		expect(fresh, "b", NULL);
		expect(fresh, "c", "new-c");
		dict_close(&fresh);
		dict_close(&old);
		assert_int_equal(tu_count(dir, "map.tmp"), 0);
		free(file);
		free(spec);
		tu_rmdir(dir);
	}
}

/* Files from other tools store keys without the trailing NUL. */
static void test_cdb_without_nul(void **state)
{
	char *dir = tu_mkdtemp();
	char *file = tu_path(dir, "map.cdb");
	char *spec = spec_of("cdb", dir, "map");
	struct cdb_make cm;
	struct dict *dict;
	int fd;

	(void)state;
	fd = open(file, O_RDWR | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(cdb_make_start(&cm, fd), 0);
	assert_int_equal(cdb_make_add(&cm, "plain", 5, "value", 5), 0);
	assert_int_equal(cdb_make_finish(&cm), 0);
	close(fd);
	dict = open_ok(spec, 0);
	expect(dict, "plain", "value");
	dict_close(&dict);
	free(spec);
	free(file);
	tu_rmdir(dir);
}

static void test_open_errors(void **state)
{
	char *err = NULL;

	(void)state;
	assert_null(dict_open("/etc/aliases", 0, &err));
	assert_non_null(strstr(err, "expected type:name"));
	free(err);
	assert_null(dict_open("nosuch:/x", 0, &err));
	assert_non_null(strstr(err, "unknown table type \"nosuch\""));
	free(err);
	assert_null(dict_open("regexp:/x", DICT_WRITE, &err));
	assert_non_null(strstr(err, "read-only"));
	free(err);
	assert_null(dict_open("hash:", 0, &err));
	assert_non_null(strstr(err, "empty table name"));
	free(err);
	assert_true(dict_type_known("pcre"));
	assert_false(dict_type_known("ldap"));
	const char *suffix;

	assert_true(dict_type_buildable("lmdb", &suffix));
	assert_string_equal(suffix, ".lmdb");
	assert_false(dict_type_buildable("texthash", &suffix));
}

static void test_limits(void **state)
{
	char big[DICT_KEY_MAX + 2];
	char *dir = tu_mkdtemp();
	char *spec = spec_of("hash", dir, "map");
	struct dict *dict = open_ok(spec, DICT_TRUNC);
	const char *value;

	(void)state;
	memset(big, 'k', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	assert_int_equal(dict_update(dict, big, "v"), DICT_ERROR);
	assert_non_null(strstr(dict_error(dict), "key longer"));
	assert_int_equal(dict_lookup(dict, big, &value), DICT_NOTFOUND);
	assert_int_equal(dict_update(dict, "", "v"), DICT_ERROR);
	dict_close(&dict);
	free(spec);
	tu_rmdir(dir);
}

static void test_texthash(void **state)
{
	char *dir = tu_mkdtemp();
	char *file = tu_path(dir, "text");
	char *log = tu_path(dir, "log");
	char *spec = spec_of("texthash", dir, "text");
	char *err = NULL;
	char buf[4096];
	struct dict *dict;
	FILE *fp;
	size_t n;

	(void)state;
	tu_write(file, "# a comment\n"
		       "Key1  value one\n"
		       "\n"
		       "key2 value\n"
		       "  # a comment inside\n"
		       "  continued\n"
		       "KEY1 second value\n"
		       "last\tentry   \n");
	assert_int_equal(msg_set_output(log), 0);
	dict = open_ok(spec, DICT_FOLD_KEYS);
	msg_set_output("/dev/stderr");
	expect(dict, "key1", "value one");
	expect(dict, "KEY2", "value continued");
	expect(dict, "last", "entry");
	expect(dict, "# a", NULL);
	dict_close(&dict);
	/* The duplicate was reported with file and line. */
	fp = fopen(log, "r");
	assert_non_null(fp);
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	buf[n] = 0;
	fclose(fp);
	if (strstr(buf, "text:7: duplicate entry for \"KEY1\"") == NULL)
		fail_msg("log: %s", buf);
	assert_non_null(strstr(buf, "text:7: duplicate entry for \"KEY1\""));

	/* A malformed line fails the open, naming file and line. */
	tu_write(file, "good value\nbadline\n");
	assert_null(dict_open(spec, 0, &err));
	assert_non_null(
	    strstr(err, "text:2: expected \"key whitespace value\""));
	free(err);
	/* So does a missing file: never an empty table. */
	unlink(file);
	assert_null(dict_open(spec, 0, &err));
	assert_non_null(strstr(err, "No such file"));
	free(err);
	free(spec);
	free(log);
	free(file);
	tu_rmdir(dir);
}

static void test_inline(void **state)
{
	struct dict *dict;
	char *err = NULL;
	const char *key, *value;

	(void)state;
	dict = open_ok("inline:{ Foo=bar, baz=qux ,{ long key = a value "
		       "with spaces }, x=1 }",
		       DICT_FOLD_KEYS);
	expect(dict, "foo", "bar");
	expect(dict, "FOO", "bar");
	expect(dict, "long key", "a value with spaces");
	expect(dict, "x", "1");
	expect(dict, "bar", NULL);
	dict_close(&dict);

	dict = open_ok("inline:{a=1,b=2}", 0);
	assert_int_equal(dict_sequence(dict, 1, &key, &value), DICT_FOUND);
	assert_string_equal(key, "a");
	assert_int_equal(dict_sequence(dict, 0, &key, &value), DICT_FOUND);
	assert_string_equal(value, "2");
	assert_int_equal(dict_sequence(dict, 0, &key, &value), DICT_NOTFOUND);
	dict_close(&dict);

	static const char *bad[] = {
	    "inline:a=1",	"inline:{a=1",		"inline:{ a }",
	    "inline:{ =1 }",	"inline:{ {a=1 }",	"inline:{a=1} x",
	    "inline:{a=1,a=2}", "inline:{ baz = qux }",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if ((dict = dict_open(bad[i], 0, &err)) != NULL)
			fail_msg("%s: accepted", bad[i]);
		assert_non_null(err);
		free(err);
	}
}

static void test_static(void **state)
{
	struct dict *dict;
	char *err = NULL;

	(void)state;
	dict = open_ok("static:OK", DICT_FOLD_KEYS);
	expect(dict, "anything", "OK");
	expect(dict, "", "OK");
	dict_close(&dict);
	dict = open_ok("static:{ REJECT go away }", 0);
	expect(dict, "x", "REJECT go away");
	dict_close(&dict);
	assert_null(dict_open("static:{ unbalanced", 0, &err));
	free(err);
}

static void test_unix(void **state)
{
	struct dict *dict;
	char *err = NULL;
	const char *value;

	(void)state;
	dict = open_ok("unix:passwd.byname", DICT_FOLD_KEYS);
	assert_int_equal(dict_lookup(dict, "root", &value), DICT_FOUND);
	assert_memory_equal(value, "root:", 5);
	assert_non_null(strstr(value, ":0:0:"));
	expect(dict, "no-such-user-here", NULL);
	/* User names are case-sensitive: no folding. */
	expect(dict, "ROOT", NULL);
	dict_close(&dict);
	dict = open_ok("unix:group.byname", 0);
	assert_int_equal(dict_lookup(dict, "root", &value), DICT_FOUND);
	assert_memory_equal(value, "root:", 5);
	dict_close(&dict);
	assert_null(dict_open("unix:shadow", 0, &err));
	free(err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_file_build_lookup),
	    cmocka_unit_test(test_file_duplicates),
	    cmocka_unit_test(test_file_missing),
	    cmocka_unit_test(test_file_corrupt),
	    cmocka_unit_test(test_file_incremental),
	    cmocka_unit_test(test_file_atomic_rebuild),
	    cmocka_unit_test(test_cdb_without_nul),
	    cmocka_unit_test(test_open_errors),
	    cmocka_unit_test(test_limits),
	    cmocka_unit_test(test_texthash),
	    cmocka_unit_test(test_inline),
	    cmocka_unit_test(test_static),
	    cmocka_unit_test(test_unix),
	};

	msg_set_output("/dev/stderr");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
