/*
 * test_mail_queue - queue names, queue IDs, paths, creating and moving
 * files (global/mail_queue.c), in a throw-away queue directory.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
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

#include "mail_queue.h"
#include "strbuf.h"

struct fixture {
	char dir[256];
	struct mail_queue *mq;
	struct strbuf *why;
};

static int make_queue_dir(char *dir, size_t size)
{
	const char *tmp = getenv("TMPDIR");
	char path[512];
	int i;

	snprintf(dir, size, "%s/test_mail_queue.XXXXXX", tmp ? tmp : "/tmp");
	if (mkdtemp(dir) == NULL)
		return -1;
	for (i = 0; mail_queue_names[i]; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, mail_queue_names[i]);
		if (mkdir(path, 0700) < 0)
			return -1;
	}
	return 0;
}

static void remove_tree(const char *path)
{
	char cmd[600];

	/* The path is ours from mkdtemp: no shell metacharacters. */
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", path);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", path);
}

static int setup_depth(void **state, int depth, int sync)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct mail_queue_params p = {
		.hash_names = "deferred, defer",
		.hash_depth = depth,
		.directory_sync = sync,
	};

	if (f == NULL || make_queue_dir(f->dir, sizeof(f->dir)) < 0)
		return -1;
	f->why = strbuf_new(1024);
	p.directory = f->dir;
	if ((f->mq = mail_queue_open(&p, f->why)) == NULL)
		return -1;
	*state = f;
	return 0;
}

static int setup(void **state)
{
	return setup_depth(state, 1, 1);
}

static int setup_depth2_nosync(void **state)
{
	return setup_depth(state, 2, 0);
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	mail_queue_close(&f->mq);
	strbuf_free(&f->why);
	remove_tree(f->dir);
	free(f);
	return 0;
}

static int exists(struct fixture *f, const char *rel)
{
	struct stat st;

	return fstatat(mail_queue_dirfd(f->mq), rel, &st, AT_SYMLINK_NOFOLLOW)
	       == 0;
}

static void test_names(void **state)
{
	int i;

	(void) state;
	for (i = 0; mail_queue_names[i]; i++)
		assert_true(mail_queue_name_ok(mail_queue_names[i]));
	assert_int_equal(i, 11);
	assert_false(mail_queue_name_ok(""));
	assert_false(mail_queue_name_ok("pid"));
	assert_false(mail_queue_name_ok("../incoming"));
	assert_false(mail_queue_name_ok("incoming/"));
	assert_false(mail_queue_name_ok(NULL));
}

static void test_id_make_parse(void **state)
{
	struct strbuf *id = strbuf_new(MAIL_QUEUE_ID_MAX);
	int64_t sec;
	long usec;
	uint64_t ino;

	(void) state;
	mail_queue_id_make(id, 0, 0, 0);
	assert_string_equal(strbuf_str(id), "0000000000z0");
	mail_queue_id_make(id, 51, 999999, 50);
	/* 51 = 'z' (the last base-52 digit); 999999 = 7*52^3 + 5*52^2 +
	 * 42*52 + 39 = "75pl"; then the separator; 50 = 'y' in base 51. */
	assert_string_equal(strbuf_str(id), "00000z75plzy");
	assert_int_equal(mail_queue_id_parse("00000z75plzy", &sec, &usec,
					     &ino),
			 0);
	assert_true(sec == 51 && usec == 999999 && ino == 50);
	mail_queue_id_make(id, 1760000000, 123456, 1234567);
	assert_true(mail_queue_id_ok(strbuf_str(id)));
	assert_int_equal(mail_queue_id_parse(strbuf_str(id), &sec, &usec,
					     &ino),
			 0);
	assert_true(sec == 1760000000 && usec == 123456 && ino == 1234567);
	mail_queue_id_make(id, INT64_MAX / 2, 5, UINT64_MAX);
	assert_true(strbuf_len(id) <= MAIL_QUEUE_ID_MAX);
	assert_int_equal(mail_queue_id_parse(strbuf_str(id), &sec, &usec,
					     &ino),
			 0);
	assert_true(sec == INT64_MAX / 2 && usec == 5 && ino == UINT64_MAX);
	strbuf_free(&id);
}

static void test_id_sort_order(void **state)
{
	struct strbuf *a = strbuf_new(MAIL_QUEUE_ID_MAX);
	struct strbuf *b = strbuf_new(MAIL_QUEUE_ID_MAX);
	/* Increasing times, crossing digit boundaries of both fields. */
	struct {
		int64_t sec;
		long usec;
	} t[] = {
		{0, 0}, {0, 1}, {0, 51}, {0, 52}, {0, 999999}, {1, 0},
		{51, 0}, {52, 0}, {2703, 7}, {1700000000, 0},
		{1700000000, 140607}, {1700000000, 140608},
		{1760000000, 999999}, {19770609663, 0},
	};
	size_t i;

	(void) state;
	for (i = 1; i < sizeof(t) / sizeof(t[0]); i++) {
		/* Inodes in the "wrong" order must not matter. */
		mail_queue_id_make(a, t[i - 1].sec, t[i - 1].usec, 999999999);
		mail_queue_id_make(b, t[i].sec, t[i].usec, 1);
		if (strcmp(strbuf_str(a), strbuf_str(b)) >= 0)
			fail_msg("%s does not sort before %s", strbuf_str(a),
				 strbuf_str(b));
	}
	strbuf_free(&a);
	strbuf_free(&b);
}

static void test_id_validation(void **state)
{
	const char *bad[] = {
		"", "/", ".", "..", "../../etc/passwd", "0000000000z0/..",
		"incoming/0000000000z0", "0000000000z", "000000000z0",
		"0000000000", "aaaaaa0000z1", "0000000000zA", "0000 00000z1",
		"0000000000z-1", "0000000000z1\n", "123456.789",
		"000000zzzzz1",		/* microseconds past 999999 */
		"0000000000zzz",	/* no inode after the last z */
		"0000000000000000000000000000000z1", /* 33 characters */
		"000000000000000000000000z1",	/* seconds field too long */
		"0000000000z0000000000000",	/* inode field too long */
		"0000000000zzzzzzzzzzzz",
	};
	size_t i;

	(void) state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (mail_queue_id_ok(bad[i]))
			fail_msg("accepted \"%s\"", bad[i]);
	assert_false(mail_queue_id_ok(NULL));
	assert_true(mail_queue_id_ok("0000000000z0"));
	assert_true(mail_queue_id_ok("1ZyBcD0000zy"));
}

static void test_paths(void **state)
{
	struct fixture *f = *state;
	struct strbuf *path = strbuf_new(256);
	const char *id = "1ZyBcD0000zy";

	assert_int_equal(mail_queue_path(f->mq, path, "incoming", id, f->why),
			 0);
	assert_string_equal(strbuf_str(path), "incoming/1ZyBcD0000zy");
	assert_int_equal(mail_queue_path(f->mq, path, "deferred", id, f->why),
			 0);
	assert_int_equal(strbuf_len(path), strlen("deferred/X/") + strlen(id));
	assert_true(strchr("0123456789ABCDEF", strbuf_str(path)[9]) != NULL);
	assert_int_equal(strbuf_str(path)[10], '/');
	assert_int_equal(mail_queue_dir(f->mq, path, "defer", id, f->why), 0);
	assert_int_equal(strbuf_len(path), strlen("defer/X"));
	/* A bad ID or queue never becomes a path. */
	strbuf_set(path, "untouched");
	assert_int_equal(mail_queue_path(f->mq, path, "incoming", "../x",
					 f->why),
			 -1);
	assert_string_equal(strbuf_str(path), "untouched");
	assert_int_equal(mail_queue_path(f->mq, path, "../etc", id, f->why),
			 -1);
	assert_non_null(strstr(strbuf_str(f->why), "queue name"));
	strbuf_free(&path);
}

static void test_paths_depth2(void **state)
{
	struct fixture *f = *state;
	struct strbuf *path = strbuf_new(256);
	struct strbuf *id = strbuf_new(MAIL_QUEUE_ID_MAX);
	int fd;

	assert_int_equal(mail_queue_path(f->mq, path, "deferred",
					 "1ZyBcD0000zy", f->why),
			 0);
	assert_int_equal(strbuf_len(path), strlen("deferred/X/Y/1ZyBcD0000zy"));
	/* Hashed subdirectories are made on demand, two levels deep. */
	assert_int_equal(mail_queue_enter(f->mq, "deferred", 0600, id, &fd,
					  f->why),
			 0);
	close(fd);
	mail_queue_path(f->mq, path, "deferred", strbuf_str(id), f->why);
	assert_true(exists(f, strbuf_str(path)));
	strbuf_free(&path);
	strbuf_free(&id);
}

static void test_open_params(void **state)
{
	struct fixture *f = *state;
	struct mail_queue_params p = {
		.directory = f->dir, .hash_names = "deferred", .hash_depth = 1,
	};
	struct mail_queue *mq;

	p.hash_depth = 0;
	assert_null(mail_queue_open(&p, f->why));
	p.hash_depth = MAIL_QUEUE_HASH_DEPTH_MAX + 1;
	assert_null(mail_queue_open(&p, f->why));
	assert_non_null(strstr(strbuf_str(f->why), "hash_queue_depth"));
	p.hash_depth = 1;
	p.hash_names = "deferred, bogus";
	assert_null(mail_queue_open(&p, f->why));
	assert_non_null(strstr(strbuf_str(f->why), "bogus"));
	p.hash_names = "";
	p.directory = "/nonexistent/postern-queue";
	assert_null(mail_queue_open(&p, f->why));
	p.directory = f->dir;
	mq = mail_queue_open(&p, f->why);
	assert_non_null(mq);
	mail_queue_close(&mq);
	assert_null(mq);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

#define MANY 500

static void test_enter_unique(void **state)
{
	struct fixture *f = *state;
	struct strbuf *id = strbuf_new(MAIL_QUEUE_ID_MAX);
	struct strbuf *path = strbuf_new(256);
	char *ids[MANY], *sorted[MANY];
	struct stat st;
	struct dirent *de;
	DIR *dir;
	size_t i, n = 0, tlen;
	int fd;

	umask(077);		/* would make 0600 files 0600 anyway ... */
	umask(0277);		/* ... this one would not: mode is forced */
	for (i = 0; i < MANY; i++) {
		assert_int_equal(mail_queue_enter(f->mq, "incoming", 0600, id,
						  &fd, f->why),
				 0);
		assert_true(mail_queue_id_ok(strbuf_str(id)));
		assert_int_equal(fstat(fd, &st), 0);
		assert_int_equal(st.st_mode & 07777, 0600);
		close(fd);
		ids[i] = strdup(strbuf_str(id));
		if (i > 0) {
			/* Arrival order: the time part never goes back. */
			tlen = (size_t) (strrchr(ids[i], 'z') - ids[i]);
			assert_true(strncmp(ids[i - 1], ids[i], tlen) <= 0);
		}
	}
	umask(022);
	memcpy(sorted, ids, sizeof(ids));
	qsort(sorted, MANY, sizeof(char *), cmp_str);
	for (i = 1; i < MANY; i++)
		assert_true(strcmp(sorted[i - 1], sorted[i]) != 0);
	/* Every file is under its ID; no temporary name is left over. */
	dir = opendir(strcat(strcpy((char[512]){0}, f->dir), "/incoming"));
	assert_non_null(dir);
	while ((de = readdir(dir)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		assert_true(mail_queue_id_ok(de->d_name));
		n++;
	}
	closedir(dir);
	assert_int_equal(n, MANY);
	for (i = 0; i < MANY; i++)
		free(ids[i]);
	strbuf_free(&id);
	strbuf_free(&path);
}

static void test_enter_bad_queue(void **state)
{
	struct fixture *f = *state;
	struct strbuf *id = strbuf_new(MAIL_QUEUE_ID_MAX);
	int fd = -1;

	assert_int_equal(mail_queue_enter(f->mq, "../x", 0600, id, &fd, f->why),
			 -1);
	assert_int_equal(fd, -1);
	assert_int_equal(strbuf_len(id), 0);
	/* A queue directory that is missing: nothing is created. */
	assert_int_equal(unlinkat(mail_queue_dirfd(f->mq), "saved",
				  AT_REMOVEDIR),
			 0);
	assert_int_equal(mail_queue_enter(f->mq, "saved", 0600, id, &fd,
					  f->why),
			 -1);
	assert_non_null(strstr(strbuf_str(f->why), "saved/"));
	strbuf_free(&id);
}

static void test_rename(void **state)
{
	struct fixture *f = *state;
	struct strbuf *id = strbuf_new(MAIL_QUEUE_ID_MAX);
	struct strbuf *id2 = strbuf_new(MAIL_QUEUE_ID_MAX);
	struct strbuf *path = strbuf_new(256);
	int fd;

	assert_int_equal(mail_queue_enter(f->mq, "incoming", 0600, id, &fd,
					  f->why),
			 0);
	close(fd);
	assert_int_equal(mail_queue_rename(f->mq, "incoming", "active",
					   strbuf_str(id), f->why),
			 0);
	mail_queue_path(f->mq, path, "incoming", strbuf_str(id), f->why);
	assert_false(exists(f, strbuf_str(path)));
	mail_queue_path(f->mq, path, "active", strbuf_str(id), f->why);
	assert_true(exists(f, strbuf_str(path)));
	/* Into a hashed queue: the subdirectory is made. */
	assert_int_equal(mail_queue_rename(f->mq, "active", "deferred",
					   strbuf_str(id), f->why),
			 0);
	mail_queue_path(f->mq, path, "deferred", strbuf_str(id), f->why);
	assert_true(exists(f, strbuf_str(path)));
	/* Gone: ENOENT. */
	assert_int_equal(mail_queue_rename(f->mq, "active", "incoming",
					   strbuf_str(id), f->why),
			 -1);
	assert_int_equal(errno, ENOENT);
	/* Never over an existing file. */
	assert_int_equal(mail_queue_enter(f->mq, "incoming", 0600, id2, &fd,
					  f->why),
			 0);
	close(fd);
	assert_int_equal(mail_queue_rename(f->mq, "incoming", "deferred",
					   strbuf_str(id2), f->why),
			 0);
	assert_int_equal(mail_queue_enter(f->mq, "incoming", 0600, id2, &fd,
					  f->why),
			 0);
	close(fd);
	assert_int_equal(renameat(mail_queue_dirfd(f->mq), strbuf_str(path),
				  mail_queue_dirfd(f->mq), "hold/x"), 0);
	/* hold/x is not an ID: rename from hold must refuse to use it. */
	assert_int_equal(mail_queue_rename(f->mq, "hold", "active", "x",
					   f->why),
			 -1);
	assert_int_equal(errno, EINVAL);
	strbuf_free(&id);
	strbuf_free(&id2);
	strbuf_free(&path);
}

static void test_rename_noreplace(void **state)
{
	struct fixture *f = *state;
	struct strbuf *id = strbuf_new(MAIL_QUEUE_ID_MAX);
	struct strbuf *path = strbuf_new(256);
	int fd;

	assert_int_equal(mail_queue_enter(f->mq, "incoming", 0600, id, &fd,
					  f->why),
			 0);
	close(fd);
	mail_queue_path(f->mq, path, "active", strbuf_str(id), f->why);
	fd = openat(mail_queue_dirfd(f->mq), strbuf_str(path),
		    O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "other", 5), 5);
	close(fd);
	assert_int_equal(mail_queue_rename(f->mq, "incoming", "active",
					   strbuf_str(id), f->why),
			 -1);
	assert_int_equal(errno, EEXIST);
	/* Both files are still there, the other one untouched. */
	assert_true(exists(f, strbuf_str(path)));
	mail_queue_path(f->mq, path, "incoming", strbuf_str(id), f->why);
	assert_true(exists(f, strbuf_str(path)));
	strbuf_free(&id);
	strbuf_free(&path);
}

static void test_open_file_refusals(void **state)
{
	struct fixture *f = *state;
	struct strbuf *id = strbuf_new(MAIL_QUEUE_ID_MAX);
	struct strbuf *path = strbuf_new(256);
	int fd, dfd = mail_queue_dirfd(f->mq);

	assert_int_equal(mail_queue_enter(f->mq, "incoming", 0600, id, &fd,
					  f->why),
			 0);
	close(fd);
	fd = mail_queue_open_file(f->mq, "incoming", strbuf_str(id), O_RDONLY,
				  f->why);
	assert_true(fd >= 0);
	close(fd);
	/* A second link: refused. */
	mail_queue_path(f->mq, path, "incoming", strbuf_str(id), f->why);
	assert_int_equal(linkat(dfd, strbuf_str(path), dfd, "hold/link", 0), 0);
	assert_int_equal(mail_queue_open_file(f->mq, "incoming",
					      strbuf_str(id), O_RDONLY, f->why),
			 -1);
	assert_non_null(strstr(strbuf_str(f->why), "links"));
	assert_int_equal(unlinkat(dfd, "hold/link", 0), 0);
	/* A symlink in its place: refused. */
	assert_int_equal(mail_queue_remove(f->mq, "incoming", strbuf_str(id),
					   f->why),
			 0);
	assert_int_equal(symlinkat("/etc/passwd", dfd, strbuf_str(path)), 0);
	assert_int_equal(mail_queue_open_file(f->mq, "incoming",
					      strbuf_str(id), O_RDONLY, f->why),
			 -1);
	assert_int_equal(errno, ELOOP);
	assert_int_equal(unlinkat(dfd, strbuf_str(path), 0), 0);
	/* A directory: refused. */
	assert_int_equal(mkdirat(dfd, strbuf_str(path), 0700), 0);
	assert_int_equal(mail_queue_open_file(f->mq, "incoming",
					      strbuf_str(id), O_RDONLY, f->why),
			 -1);
	/* Gone: ENOENT. */
	assert_int_equal(unlinkat(dfd, strbuf_str(path), AT_REMOVEDIR), 0);
	assert_int_equal(mail_queue_open_file(f->mq, "incoming",
					      strbuf_str(id), O_RDONLY, f->why),
			 -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(mail_queue_open_file(f->mq, "incoming", "../../x",
					      O_RDONLY, f->why),
			 -1);
	strbuf_free(&id);
	strbuf_free(&path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_id_make_parse),
		cmocka_unit_test(test_id_sort_order),
		cmocka_unit_test(test_id_validation),
		cmocka_unit_test_setup_teardown(test_paths, setup, teardown),
		cmocka_unit_test_setup_teardown(test_paths_depth2,
						setup_depth2_nosync, teardown),
		cmocka_unit_test_setup_teardown(test_open_params, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_enter_unique, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_enter_unique,
						setup_depth2_nosync, teardown),
		cmocka_unit_test_setup_teardown(test_enter_bad_queue, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_rename, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rename_noreplace, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_open_file_refusals, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
