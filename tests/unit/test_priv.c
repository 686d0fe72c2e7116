/*
 * test_priv - user lookups, and (when run as root) a real privilege drop in
 * a child process: afterwards the ids are the target's and root cannot be
 * regained. As an ordinary user the drop must be a harmless no-op.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "msg.h"
#include "priv.h"

static void test_lookup(void **state)
{
	uid_t uid = 1;
	gid_t gid = 1;

	(void)state;
	assert_int_equal(priv_lookup_user("root", &uid, &gid), 0);
	assert_int_equal(uid, 0);
	assert_int_equal(gid, 0);
	assert_int_equal(priv_lookup_group("root", &gid), 0);
	assert_int_equal(gid, 0);
	assert_int_equal(priv_lookup_user("no-such-user-postern", &uid, &gid),
			 -1);
	assert_int_equal(priv_lookup_group("no-such-group-postern", &gid), -1);
}

/* Exit codes of the child: 0 all checks passed. */
static int child_status(void (*fn)(void))
{
	pid_t pid = fork();
	int status;

	assert_true(pid >= 0);
	if (pid == 0) {
		msg_set_output("/dev/null");
		fn();
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return status;
}

static void drop_ids(void)
{
	gid_t groups[4];

	priv_drop_ids(65534, 65534);
	if (getuid() != 65534 || geteuid() != 65534 || getgid() != 65534)
		_exit(2);
	if (getgroups(4, groups) != 1 || groups[0] != 65534)
		_exit(3);
	if (setuid(0) == 0)
		_exit(4);
}

static char jail[256];

static void drop_user_chroot(void)
{
	struct passwd *pw = getpwuid(65534);

	if (pw == NULL)
		_exit(10);
	priv_drop(jail, pw->pw_name);
	if (getuid() != 65534 || geteuid() != 65534)
		_exit(2);
	/* Inside the jail: its marker file is at the root. */
	if (access("/marker", F_OK) != 0)
		_exit(5);
}

static void drop_to_root(void)
{
	priv_drop(NULL, "root");
}

static void drop_unknown(void)
{
	priv_drop(NULL, "no-such-user-postern");
}

static void test_drop(void **state)
{
	const char *tmp = getenv("TMPDIR");
	char marker[300];
	int status;

	(void)state;
	if (geteuid() != 0) {
		/* A sandbox: nothing changes, nothing fails. */
		uid_t before = getuid();

		priv_drop("/nonexistent", "no-such-user-postern");
		priv_drop_ids(12345, 12345);
		assert_int_equal(getuid(), before);
		skip();
	}
	status = child_status(drop_ids);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);

	snprintf(jail, sizeof(jail), "%s/test_priv.XXXXXX",
		 tmp && *tmp ? tmp : "/tmp");
	assert_non_null(mkdtemp(jail));
	chmod(jail, 0755);
	snprintf(marker, sizeof(marker), "%s/marker", jail);
	fclose(fopen(marker, "w"));
	status = child_status(drop_user_chroot);
	unlink(marker);
	rmdir(jail);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);

	/* Refusals are fatal (exit 1), never a silent run as root. */
	status = child_status(drop_to_root);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 1);
	status = child_status(drop_unknown);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_lookup),
	    cmocka_unit_test(test_drop),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
