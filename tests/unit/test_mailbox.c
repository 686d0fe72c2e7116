/*
 * test_mailbox - mbox and Maildir delivery (global/mailbox.c): the exact
 * bytes written, From_ quoting, locks (busy, stale), limits and a file
 * size rlimit that must leave the mailbox as it was, and planted
 * symlinks, hard links and foreign owners that must be refused.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "dsn.h"
#include "mail_queue.h"
#include "mailbox.h"
#include "queue_file.h"
#include "strbuf.h"

struct fixture {
	char dir[256];
	char path[512];
	struct mail_queue *mq;
	struct strbuf *why;
	char id[64];
	off_t data_offset;
	struct queue_file *qf; /* open for the current delivery */
	struct mailbox_msg msg;
	struct mailbox_opts opts;
	char status[DSN_STATUS_MAX];
};

#define CHECK(x) assert_int_equal((x), 0)

static const char *const body[] = {
    "Subject: hi",  "",	       "From the start",
    ">From quoted", "Fromage", "a line long enough to be split in pieces",
    NULL,
};
/* What the content looks like in an mbox (after the From_ line). */
static const char mbox_text[] = "Return-Path: <sender@example.com>\n"
				"Delivered-To: rcpt@example.org\n"
				"Subject: hi\n"
				"\n"
				">From the start\n"
				">>From quoted\n"
				"Fromage\n"
				"a line long enough to be split in pieces\n"
				"\n";

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct mail_queue_params p = {
	    .hash_names = "deferred, defer",
	    .hash_depth = 1,
	    .directory_sync = 0,
	};
	struct queue_rcpt r = {.address = "rcpt@example.org"};
	const char *tmp = getenv("TMPDIR");
	struct queue_file *qf, *rd;
	char path[512];

	if (f == NULL)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "%s/test_mailbox.XXXXXX",
		 tmp ? tmp : "/tmp");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	for (int i = 0; mail_queue_names[i]; i++) {
		snprintf(path, sizeof(path), "%s/%s", f->dir,
			 mail_queue_names[i]);
		if (mkdir(path, 0700) < 0)
			return -1;
	}
	f->why = strbuf_new(1024);
	p.directory = f->dir;
	if ((f->mq = mail_queue_open(&p, f->why)) == NULL)
		return -1;
	if (queue_file_create(f->mq, "incoming", &qf, f->why) < 0)
		return -1;
	snprintf(f->id, sizeof(f->id), "%s", queue_file_id(qf));
	queue_file_time(qf, 1760000000, 0, f->why);
	queue_file_sender(qf, "sender@example.com", f->why);
	queue_file_rcpt(qf, &r, f->why);
	queue_file_content(qf, f->why);
	/* Long lines become several records: quoting must look only at
	 * the start of a line. */
	queue_file_set_line_limit(qf, 16);
	for (int i = 0; body[i]; i++)
		queue_file_line(qf, body[i], strlen(body[i]), f->why);
	queue_file_extracted(qf, f->why);
	if (queue_file_commit(&qf, f->why) < 0)
		return -1;
	if (queue_file_open(f->mq, "incoming", f->id, 0, &rd, f->why) < 0)
		return -1;
	f->data_offset = queue_file_size(rd)->content_offset;
	queue_file_close(&rd);
	snprintf(f->path, sizeof(f->path), "%s/box", f->dir);
	f->opts = (struct mailbox_opts){
	    .uid = getuid(),
	    .gid = getgid(),
	    .locks = MAILBOX_LOCK_FCNTL | MAILBOX_LOCK_DOTLOCK,
	    .lock_attempts = 1,
	    .stale_lock_time = 500,
	};
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[600];

	if (f->qf)
		queue_file_close(&f->qf);
	mail_queue_close(&f->mq);
	strbuf_free(&f->why);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", f->dir);
	free(f);
	return 0;
}

/* A fresh handle on the message, as a delivery agent opens one. */
static const struct mailbox_msg *msg(struct fixture *f)
{
	if (f->qf)
		queue_file_close(&f->qf);
	assert_int_equal(
	    queue_file_open(f->mq, "incoming", f->id, 0, &f->qf, f->why),
	    QUEUE_FILE_OK);
	f->msg = (struct mailbox_msg){
	    .qf = f->qf,
	    .data_offset = f->data_offset,
	    .queue_id = f->id,
	    .sender = "sender@example.com",
	    .recipient = "rcpt@example.org",
	};
	strbuf_reset(f->why);
	return &f->msg;
}

static char *slurp(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	char *buf;
	long n;

	assert_non_null(fp);
	fseek(fp, 0, SEEK_END);
	n = ftell(fp);
	rewind(fp);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
	buf[n] = 0;
	fclose(fp);
	if (len)
		*len = (size_t)n;
	return buf;
}

static void put(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
}

/* Each message: a From_ line, then exactly mbox_text. */
static void check_mbox(const char *text, int count)
{
	const char *p = text;

	for (int i = 0; i < count; i++) {
		const char *nl;

		assert_memory_equal(p, "From sender@example.com  ", 25);
		nl = strchr(p, '\n');
		assert_non_null(nl);
		assert_memory_equal(nl + 1, mbox_text, strlen(mbox_text));
		p = nl + 1 + strlen(mbox_text);
	}
	assert_string_equal(p, "");
}

static void test_mbox_append(void **state)
{
	struct fixture *f = *state;
	char lock[600];
	struct stat st;
	char *text;

	assert_int_equal(
	    mailbox_mbox(f->path, &f->opts, msg(f), f->status, f->why),
	    MAILBOX_OK);
	assert_string_equal(f->status, "2.0.0");
	assert_int_equal(
	    mailbox_mbox(f->path, &f->opts, msg(f), f->status, f->why),
	    MAILBOX_OK);
	text = slurp(f->path, NULL);
	check_mbox(text, 2);
	free(text);
	snprintf(lock, sizeof(lock), "%s.lock", f->path);
	assert_int_equal(lstat(lock, &st), -1);
	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
}

static void test_mbox_size_limit_leaves_it_as_it_was(void **state)
{
	struct fixture *f = *state;
	char *text;

	put(f->path, "From old  Thu Jan  1 00:00:00 1970\n\nold\n\n");
	f->opts.size_limit = 60; /* room for part of the message only */
	assert_int_equal(
	    mailbox_mbox(f->path, &f->opts, msg(f), f->status, f->why),
	    MAILBOX_BOUNCE);
	assert_string_equal(f->status, "5.2.2");
	text = slurp(f->path, NULL);
	assert_string_equal(text,
			    "From old  Thu Jan  1 00:00:00 1970\n\nold\n\n");
	free(text);
	/* Already full: refused before any write. */
	f->opts.size_limit = 10;
	assert_int_equal(
	    mailbox_mbox(f->path, &f->opts, msg(f), f->status, f->why),
	    MAILBOX_BOUNCE);
	assert_non_null(strstr(strbuf_str(f->why), "full"));
}

/* A full disk, simulated by a file size limit in a child. */
static void test_mbox_write_error_truncates_back(void **state)
{
	struct fixture *f = *state;
	const char *old = "From old  Thu Jan  1 00:00:00 1970\n\nold\n\n";
	int status;
	pid_t pid;
	char *text;

	put(f->path, old);
	msg(f);
	if ((pid = fork()) == 0) {
		struct rlimit rl = {.rlim_cur = strlen(old) + 100,
				    .rlim_max = strlen(old) + 100};
		int rc;

		signal(SIGXFSZ, SIG_IGN);
		setrlimit(RLIMIT_FSIZE, &rl);
		/* Too big for one write: the limit hits in the middle. */
		rc =
		    mailbox_mbox(f->path, &f->opts, &f->msg, f->status, f->why);
		_exit(rc == MAILBOX_DEFER && strcmp(f->status, "4.2.2") == 0
			  ? 0
			  : 1);
	}
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	text = slurp(f->path, NULL);
	assert_string_equal(text, old);
	free(text);
}

static void test_mbox_symlink_and_hard_link_refused(void **state)
{
	struct fixture *f = *state;
	char target[600], *text;

	snprintf(target, sizeof(target), "%s/target", f->dir);
	put(target, "precious\n");
	assert_int_equal(symlink(target, f->path), 0);
	assert_int_equal(
	    mailbox_mbox(f->path, &f->opts, msg(f), f->status, f->why),
	    MAILBOX_BOUNCE);
	assert_int_equal(unlink(f->path), 0);
	assert_int_equal(link(target, f->path), 0);
	assert_int_equal(
	    mailbox_mbox(f->path, &f->opts, msg(f), f->status, f->why),
	    MAILBOX_BOUNCE);
	text = slurp(target, NULL);
	assert_string_equal(text, "precious\n");
	free(text);
}

static void test_mbox_foreign_owner_refused(void **state)
{
	struct fixture *f = *state;

	put(f->path, "");
	f->opts.uid = getuid() + 1;
	assert_int_equal(
	    mailbox_mbox(f->path, &f->opts, msg(f), f->status, f->why),
	    MAILBOX_BOUNCE);
	assert_string_equal(f->status, "5.2.0");
}

static void test_dotlock_busy_and_stale(void **state)
{
	struct fixture *f = *state;
	struct timeval old[2] = {{.tv_sec = 1000}, {.tv_sec = 1000}};
	char lock[600];
	struct stat st;

	snprintf(lock, sizeof(lock), "%s.lock", f->path);
	put(lock, "");
	assert_int_equal(
	    mailbox_mbox(f->path, &f->opts, msg(f), f->status, f->why),
	    MAILBOX_DEFER);
	assert_non_null(strstr(strbuf_str(f->why), "busy"));
	assert_int_equal(stat(lock, &st), 0); /* not ours to remove */
	/* A lock left by a crash long ago is removed. */
	assert_int_equal(utimes(lock, old), 0);
	assert_int_equal(
	    mailbox_mbox(f->path, &f->opts, msg(f), f->status, f->why),
	    MAILBOX_OK);
	assert_int_equal(lstat(lock, &st), -1);
}

static void test_fcntl_lock_busy(void **state)
{
	struct fixture *f = *state;
	int fds[2], fd;
	char c;
	pid_t pid;

	put(f->path, "");
	assert_int_equal(pipe(fds), 0);
	if ((pid = fork()) == 0) {
		struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};

		fd = open(f->path, O_RDWR);
		if (fd < 0 || fcntl(fd, F_SETLK, &fl) < 0)
			_exit(1);
		if (write(fds[1], "x", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	assert_int_equal(read(fds[0], &c, 1), 1);
	f->opts.locks = MAILBOX_LOCK_FCNTL;
	assert_int_equal(
	    mailbox_mbox(f->path, &f->opts, msg(f), f->status, f->why),
	    MAILBOX_DEFER);
	assert_non_null(strstr(strbuf_str(f->why), "locked"));
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	close(fds[0]);
	close(fds[1]);
	assert_int_equal(
	    mailbox_mbox(f->path, &f->opts, msg(f), f->status, f->why),
	    MAILBOX_OK);
}

static int count_entries(const char *dir, char *first, size_t len)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		if (n++ == 0 && first)
			snprintf(first, len, "%s", e->d_name);
	}
	closedir(d);
	return n;
}

static void test_maildir(void **state)
{
	struct fixture *f = *state;
	char md[600], sub[700], name[300], file[1100], *text;

	snprintf(md, sizeof(md), "%s/Maildir/", f->dir);
	assert_int_equal(
	    mailbox_maildir(md, &f->opts, msg(f), f->status, f->why),
	    MAILBOX_OK);
	assert_int_equal(
	    mailbox_maildir(md, &f->opts, msg(f), f->status, f->why),
	    MAILBOX_OK);
	snprintf(sub, sizeof(sub), "%stmp", md);
	assert_int_equal(count_entries(sub, NULL, 0), 0);
	snprintf(sub, sizeof(sub), "%scur", md);
	assert_int_equal(count_entries(sub, NULL, 0), 0);
	snprintf(sub, sizeof(sub), "%snew", md);
	assert_int_equal(count_entries(sub, name, sizeof(name)), 2);
	assert_null(strchr(name, ':'));
	snprintf(file, sizeof(file), "%s/%s", sub, name);
	text = slurp(file, NULL);
	/* No From_ line, no quoting, no trailing blank line. */
	assert_string_equal(text, "Return-Path: <sender@example.com>\n"
				  "Delivered-To: rcpt@example.org\n"
				  "Subject: hi\n"
				  "\n"
				  "From the start\n"
				  ">From quoted\n"
				  "Fromage\n"
				  "a line long enough to be split in pieces\n");
	free(text);
}

static void test_maildir_symlink_refused(void **state)
{
	struct fixture *f = *state;
	char md[600], target[600];

	snprintf(target, sizeof(target), "%s/elsewhere", f->dir);
	assert_int_equal(mkdir(target, 0700), 0);
	snprintf(md, sizeof(md), "%s/Maildir", f->dir);
	assert_int_equal(symlink(target, md), 0);
	assert_int_equal(
	    mailbox_maildir(md, &f->opts, msg(f), f->status, f->why),
	    MAILBOX_BOUNCE);
	assert_int_equal(count_entries(target, NULL, 0), 0);
	/* A real Maildir whose new/ is a link is refused as well. */
	assert_int_equal(unlink(md), 0);
	assert_int_equal(mkdir(md, 0700), 0);
	snprintf(md, sizeof(md), "%s/Maildir/new", f->dir);
	assert_int_equal(symlink(target, md), 0);
	snprintf(md, sizeof(md), "%s/Maildir", f->dir);
	assert_int_equal(
	    mailbox_maildir(md, &f->opts, msg(f), f->status, f->why),
	    MAILBOX_BOUNCE);
	assert_int_equal(count_entries(target, NULL, 0), 0);
}

static void test_maildir_limit(void **state)
{
	struct fixture *f = *state;
	char md[600], sub[700];

	snprintf(md, sizeof(md), "%s/Maildir", f->dir);
	f->opts.size_limit = 20;
	assert_int_equal(
	    mailbox_maildir(md, &f->opts, msg(f), f->status, f->why),
	    MAILBOX_BOUNCE);
	assert_string_equal(f->status, "5.2.2");
	snprintf(sub, sizeof(sub), "%s/tmp", md);
	assert_int_equal(count_entries(sub, NULL, 0), 0);
	snprintf(sub, sizeof(sub), "%s/new", md);
	assert_int_equal(count_entries(sub, NULL, 0), 0);
}

static void test_maildir_parents(void **state)
{
	struct fixture *f = *state;
	char md[600], sub[700];

	snprintf(md, sizeof(md), "%s/a/b/Maildir/", f->dir);
	/* Without make_parents a missing parent is an error... */
	assert_int_equal(
	    mailbox_maildir(md, &f->opts, msg(f), f->status, f->why),
	    MAILBOX_DEFER);
	/* ...with it, the path is made. */
	f->opts.make_parents = 1;
	assert_int_equal(
	    mailbox_maildir(md, &f->opts, msg(f), f->status, f->why),
	    MAILBOX_OK);
	snprintf(sub, sizeof(sub), "%snew", md);
	assert_int_equal(count_entries(sub, NULL, 0), 1);
}

static void test_copy_to_pipe_flags(void **state)
{
	struct fixture *f = *state;
	char buf[1024];
	off_t written;
	int fds[2];
	ssize_t n;

	assert_int_equal(pipe(fds), 0);
	assert_int_equal(mailbox_copy(fds[1], msg(f), MAILBOX_COPY_DELIVERED, 0,
				      &written, f->why),
			 0);
	close(fds[1]);
	n = read(fds[0], buf, sizeof(buf) - 1);
	assert_true(n > 0);
	buf[n] = 0;
	assert_int_equal(written, n);
	assert_memory_equal(
	    buf, "Delivered-To: rcpt@example.org\nSubject: hi\n", 43);
	close(fds[0]);
}

/* A request whose content offset is wrong is refused, not guessed at. */
static void test_copy_wrong_offset(void **state)
{
	struct fixture *f = *state;
	off_t written;
	int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);

	msg(f);
	f->msg.data_offset += 1;
	assert_int_equal(mailbox_copy(fd, &f->msg, 0, 0, &written, f->why), -1);
	assert_non_null(strstr(strbuf_str(f->why), "content"));
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_mbox_append, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_mbox_size_limit_leaves_it_as_it_was, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_mbox_write_error_truncates_back, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_mbox_symlink_and_hard_link_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_mbox_foreign_owner_refused,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_dotlock_busy_and_stale, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_fcntl_lock_busy, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_maildir, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_maildir_symlink_refused, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_maildir_limit, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_maildir_parents, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_copy_to_pipe_flags, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_copy_wrong_offset, setup,
					    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
