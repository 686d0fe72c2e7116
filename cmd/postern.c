/*
 * postern - control the postern mail system (see postern(1)).
 *
 *     postern [-c config_dir] [-v]
 * check|start|start-fg|stop|abort|reload|status|flush
 *
 * The running master is found through the lock on
 * queue_directory/pid/master.pid, never through the pid written in the
 * file alone: a stale file left by a crash must not make us signal an
 * unrelated process. The kernel tells us which process holds the lock.
 *
 * "check" creates the queue tree with the owners and modes the design
 * relies on (see the table below) and warns about existing directories
 * that differ; it changes only what it creates, because a queue whose
 * ownership was changed by someone else is something an admin should look
 * at, not something to paper over. Run as a non-root user (a sandbox),
 * everything belongs to that user.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "mail_conf.h"
#include "mail_params.h"
#include "mail_trigger.h"
#include "master_cf.h"
#include "msg.h"
#include "mymalloc.h"
#include "priv.h"
#include "strbuf.h"

#define PID_FILE "pid/master.pid"
/* master gives children 5 s + 5 s after SIGTERM; allow for a slow host. */
#define STOP_WAIT_SECS 60
#define START_WAIT_SECS 30

enum dir_owner { OWN_MAIL, OWN_MAIL_SETGID, OWN_ROOT };

/* The queue tree (Postfix's conf/postfix-files). */
static const struct queue_dir {
	const char *name;
	mode_t mode;
	enum dir_owner owner;
} queue_dirs[] = {
    {"active", 0700, OWN_MAIL},
    {"bounce", 0700, OWN_MAIL},
    {"corrupt", 0700, OWN_MAIL},
    {"defer", 0700, OWN_MAIL},
    {"deferred", 0700, OWN_MAIL},
    {"flush", 0700, OWN_MAIL},
    {"hold", 0700, OWN_MAIL},
    {"incoming", 0700, OWN_MAIL},
    {"maildrop", 0730, OWN_MAIL_SETGID},
    {"pid", 0755, OWN_ROOT},
    {"private", 0700, OWN_MAIL},
    {"public", 0710, OWN_MAIL_SETGID},
    {"saved", 0700, OWN_MAIL},
    {"trace", 0700, OWN_MAIL},
};

static char config_dir[PATH_MAX];
static int check_problems;

/* dir/name into buf, or fatal: a path that does not fit is a broken
 * configuration, never something to truncate. */
static void path_join(char *buf, size_t len, const char *dir, const char *name)
{
	int n = snprintf(buf, len, "%s/%s", dir, name);

	if (n < 0 || (size_t)n >= len)
		msg_fatal("path too long: %s/%s", dir, name);
}

static _Noreturn void usage(void)
{
	msg_fatal_status(2,
			 "usage: postern [-c config_dir] [-v] "
			 "check|start|start-fg|stop|abort|reload|status|flush");
}

/* The pid of the running master, or 0 if none holds the lock. */
static pid_t master_running(void)
{
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
	char path[PATH_MAX];
	int fd;

	path_join(path, sizeof(path), var_queue_directory, PID_FILE);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0) {
		if (errno != ENOENT && errno != ENOTDIR)
			msg_fatal("open %s: %m", path);
		return 0;
	}
	if (fcntl(fd, F_GETLK, &fl) < 0)
		msg_fatal("lock test %s: %m", path);
	close(fd);
	return fl.l_type == F_UNLCK ? 0 : fl.l_pid;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {.tv_sec = ms / 1000,
			      .tv_nsec = (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

static void read_master_cf(void)
{
	struct master_cf cf = {0};
	char path[PATH_MAX];
	char *err = NULL;

	path_join(path, sizeof(path), config_dir, "master.cf");
	if (master_cf_read(path, var_default_process_limit, &cf, &err) < 0)
		msg_fatal("%s", err ? err : path);
	for (size_t i = 0; i < cf.count; i++) {
		const char *cmd = cf.ents[i].command;
		char prog[PATH_MAX];

		path_join(prog, sizeof(prog), var_daemon_directory, cmd);
		if (access(prog, X_OK) < 0) {
			msg_warn("master.cf line %d: service %s: %s: %m",
				 cf.ents[i].line, cf.ents[i].service, prog);
			check_problems++;
		}
	}
	master_cf_free(&cf);
}

static const char *user_name(uid_t uid)
{
	static char buf[64];
	struct passwd *pw = getpwuid(uid);

	if (pw != NULL)
		snprintf(buf, sizeof(buf), "%s", pw->pw_name);
	else
		snprintf(buf, sizeof(buf), "%ld", (long)uid);
	return buf;
}

/* Who owns the queue: mail_owner and setgid_group when root, else the
 * invoking user and group (a sandbox instance). */
static void queue_owners(uid_t *uid, gid_t *gid, gid_t *sgid)
{
	if (getuid() != 0 || geteuid() != 0) {
		*uid = getuid();
		*gid = *sgid = getgid();
		if (strcmp(var_mail_owner, user_name(getuid())) != 0 &&
		    msg_verbose)
			msg_info("not root: the queue belongs to %s, not "
				 "mail_owner %s",
				 user_name(getuid()), var_mail_owner);
		return;
	}
	if (priv_lookup_user(var_mail_owner, uid, gid) < 0)
		msg_fatal("mail_owner: unknown user %s: create it "
			  "(tools/install-deps "
			  "does) or set mail_owner in %s/main.cf",
			  var_mail_owner, config_dir);
	if (*uid == 0)
		msg_fatal("mail_owner: user %s has privileged user ID 0",
			  var_mail_owner);
	if (priv_lookup_group(var_setgid_group, sgid) < 0)
		msg_fatal("setgid_group: unknown group %s: create it "
			  "(tools/install-deps "
			  "does) or set setgid_group in %s/main.cf",
			  var_setgid_group, config_dir);
}

/* mkdir -p for the queue directory itself (0755, like its parents). */
static void make_path(const char *path)
{
	char buf[PATH_MAX];
	size_t len = strlen(path);

	if (len >= sizeof(buf))
		msg_fatal("queue_directory: path too long: %s", path);
	memcpy(buf, path, len + 1);
	for (char *cp = buf + 1;; cp++) {
		if (*cp == '/' || *cp == 0) {
			char save = *cp;

			*cp = 0;
			if (mkdir(buf, 0755) < 0 && errno != EEXIST)
				msg_fatal("mkdir %s: %m", buf);
			*cp = save;
			if (save == 0)
				break;
		}
	}
}

static void check_queue_dir(int qfd, const struct queue_dir *d, uid_t uid,
			    gid_t gid, gid_t sgid)
{
	uid_t want_uid = uid;
	gid_t want_gid = gid;
	struct stat st;
	int fd;

	if (d->owner == OWN_ROOT && getuid() == 0)
		want_uid = want_gid = 0;
	else if (d->owner == OWN_MAIL_SETGID)
		want_gid = sgid;

	if (fstatat(qfd, d->name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno != ENOENT)
			msg_fatal("%s/%s: %m", var_queue_directory, d->name);
		if (mkdirat(qfd, d->name, d->mode) < 0)
			msg_fatal("mkdir %s/%s: %m", var_queue_directory,
				  d->name);
		/* Set owner and mode on what we just made, through a descriptor
		 * so nothing swapped in by name can be changed instead. */
		fd = openat(qfd, d->name,
			    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			msg_fatal("open %s/%s: %m", var_queue_directory,
				  d->name);
		if (getuid() == 0 && fchown(fd, want_uid, want_gid) < 0)
			msg_fatal("chown %s/%s: %m", var_queue_directory,
				  d->name);
		if (fchmod(fd, d->mode) < 0)
			msg_fatal("chmod %s/%s: %m", var_queue_directory,
				  d->name);
		close(fd);
		if (msg_verbose)
			msg_info("created %s/%s mode %04o", var_queue_directory,
				 d->name, (unsigned)d->mode);
		return;
	}
	if (!S_ISDIR(st.st_mode)) {
		msg_warn("%s/%s is not a directory", var_queue_directory,
			 d->name);
		check_problems++;
		return;
	}
	if (st.st_uid != want_uid) {
		msg_warn("%s/%s is owned by %s, expected %s",
			 var_queue_directory, d->name, user_name(st.st_uid),
			 user_name(want_uid));
		check_problems++;
	}
	if (d->owner == OWN_MAIL_SETGID && st.st_gid != want_gid) {
		msg_warn("%s/%s has group %ld, expected %ld",
			 var_queue_directory, d->name, (long)st.st_gid,
			 (long)want_gid);
		check_problems++;
	}
	if ((st.st_mode & 07777) != d->mode) {
		msg_warn("%s/%s has mode %04o, expected %04o%s",
			 var_queue_directory, d->name,
			 (unsigned)(st.st_mode & 07777), (unsigned)d->mode,
			 (st.st_mode & ~d->mode & 0022)
			     ? " (unsafe: writable by others)"
			     : "");
		check_problems++;
	}
}

/* Create what is missing, warn about what is off. Returns the number of
 * warnings (0: all as it should be). */
static int do_check(void)
{
	uid_t uid;
	gid_t gid, sgid;
	struct stat st;
	int qfd;

	check_problems = 0;
	read_master_cf();
	queue_owners(&uid, &gid, &sgid);
	if (stat(var_queue_directory, &st) < 0) {
		if (errno != ENOENT)
			msg_fatal("queue_directory %s: %m",
				  var_queue_directory);
		make_path(var_queue_directory);
	} else if (!S_ISDIR(st.st_mode)) {
		msg_fatal("queue_directory %s is not a directory",
			  var_queue_directory);
	} else if (st.st_mode & 0022) {
		msg_warn("queue_directory %s is writable by group or others "
			 "(mode %04o)",
			 var_queue_directory, (unsigned)(st.st_mode & 07777));
		check_problems++;
	}
	if ((qfd = open(var_queue_directory,
			O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		msg_fatal("open %s: %m", var_queue_directory);
	for (size_t i = 0; i < sizeof(queue_dirs) / sizeof(queue_dirs[0]); i++)
		check_queue_dir(qfd, &queue_dirs[i], uid, gid, sgid);
	close(qfd);
	return check_problems;
}

static void master_path(char *buf, size_t len)
{
	path_join(buf, len, var_daemon_directory, "master");
	if (access(buf, X_OK) < 0)
		msg_fatal("%s: %m", buf);
}

/* "postern-super -p": remove the temporary files that crashes left in
 * incoming/ more than a week ago (doc/queue.md, states S1 and S2). It
 * sits next to this program, installed or in the build tree. A failure
 * is reported, never fatal: stale files only take space. */
static void purge_stale_files(void)
{
	char self[PATH_MAX], prog[PATH_MAX];
	ssize_t len = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *slash;
	int status;
	pid_t pid;

	if (len <= 0)
		return;
	self[len] = 0;
	if ((slash = strrchr(self, '/')) == NULL)
		return;
	*slash = 0;
	path_join(prog, sizeof(prog), self, "postern-super");
	if (access(prog, X_OK) < 0) {
		msg_warn("%s: %m: stale temporary files are not purged", prog);
		return;
	}
	if ((pid = fork()) < 0) {
		msg_warn("fork: %m");
		return;
	}
	if (pid == 0) {
		execl(prog, prog, "-c", config_dir, "-p", (char *)NULL);
		msg_fatal("exec %s: %m", prog);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		msg_warn("%s -p failed", prog);
}

static int do_start(void)
{
	char prog[PATH_MAX];
	char *args[6];
	int n = 0, status;
	pid_t pid;

	do_check();
	if ((pid = master_running()) != 0)
		msg_fatal(
		    "the postern mail system is already running: PID: %ld",
		    (long)pid);
	purge_stale_files();
	master_path(prog, sizeof(prog));
	msg_info("starting the postern mail system");
	args[n++] = prog;
	args[n++] = "-c";
	args[n++] = config_dir;
	args[n++] = "-w";
	if (msg_verbose)
		args[n++] = "-v";
	args[n] = NULL;
	if ((pid = fork()) < 0)
		msg_fatal("fork: %m");
	if (pid == 0) {
		execv(prog, args);
		msg_fatal("exec %s: %m", prog);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			msg_fatal("waitpid: %m");
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		msg_fatal("mail system startup failed");
	return 0;
}

static _Noreturn void do_start_fg(void)
{
	char prog[PATH_MAX];
	pid_t pid;

	do_check();
	if ((pid = master_running()) != 0)
		msg_fatal(
		    "the postern mail system is already running: PID: %ld",
		    (long)pid);
	purge_stale_files();
	master_path(prog, sizeof(prog));
	msg_info("starting the postern mail system in the foreground");
	execl(prog, prog, "-c", config_dir, "-d",
	      msg_verbose ? "-v" : (char *)NULL, (char *)NULL);
	msg_fatal("exec %s: %m", prog);
}

/* Signal master, then wait until its lock is gone: when this returns the
 * whole instance has exited (master waits for its children). */
static int do_stop(int sig, const char *what)
{
	pid_t pid = master_running();
	time_t deadline;

	if (pid == 0)
		msg_fatal("the postern mail system is not running");
	msg_info("%s the postern mail system", what);
	if (kill(pid, sig) < 0)
		msg_fatal("signal master pid %ld: %m", (long)pid);
	deadline = time(NULL) + STOP_WAIT_SECS;
	while (master_running() != 0) {
		if (time(NULL) > deadline)
			msg_fatal(
			    "master pid %ld did not stop within %d seconds",
			    (long)pid, STOP_WAIT_SECS);
		sleep_ms(50);
	}
	return 0;
}

static int do_reload(void)
{
	pid_t pid = master_running();

	if (pid == 0)
		msg_fatal("the postern mail system is not running");
	/* main.cf was read by main() and is valid; so must master.cf be. */
	read_master_cf();
	msg_info("refreshing the postern mail system");
	if (kill(pid, SIGHUP) < 0)
		msg_fatal("signal master pid %ld: %m", (long)pid);
	return 0;
}

/* Like "postfix flush" (postqueue -f): wake qmgr to forget dead
 * destinations and try all deferred mail now. */
static int do_flush(void)
{
	static const char req[] = {QMGR_REQ_FLUSH_DEAD, QMGR_REQ_SCAN_ALL,
				   QMGR_REQ_SCAN_DEFERRED};
	struct strbuf *why = strbuf_new(STRBUF_NO_MAX);

	if (chdir(var_queue_directory) < 0)
		msg_fatal("chdir %s: %m", var_queue_directory);
	if (mail_trigger(QMGR_SERVICE_PATH, req, sizeof(req), why) < 0)
		msg_fatal("cannot flush the mail queue: %s (is the mail "
			  "system running?)",
			  strbuf_str(why));
	strbuf_free(&why);
	return 0;
}

static int do_status(void)
{
	pid_t pid = master_running();

	if (pid == 0) {
		msg_info("the postern mail system is not running");
		return 1;
	}
	msg_info("the postern mail system is running: PID: %ld", (long)pid);
	return 0;
}

int main(int argc, char **argv)
{
	const char *opt_c = NULL;
	const char *cmd;
	char ident[256];
	int ch;

	msg_open("postern/postern");
	msg_set_stderr(1);
	umask(022);
	while ((ch = getopt(argc, argv, "+c:v")) != -1) {
		switch (ch) {
		case 'c':
			opt_c = optarg;
			break;
		case 'v':
			msg_verbose++;
			break;
		default:
			usage();
		}
	}
	if (argc - optind != 1)
		usage();
	cmd = argv[optind];

	if (realpath(mail_conf_dir(opt_c), config_dir) == NULL)
		msg_fatal("configuration directory %s: %m",
			  mail_conf_dir(opt_c));
	mail_conf_read(config_dir);
	if (msg_set_facility(var_syslog_facility) < 0)
		msg_warn("unknown syslog_facility \"%s\"", var_syslog_facility);
	if (msg_set_output(var_maillog_file) < 0)
		msg_warn("cannot open maillog_file %s: %m", var_maillog_file);
	snprintf(ident, sizeof(ident), "%s/postern", var_syslog_name);
	msg_open(ident);

	/* Like "postfix check": warnings are reported, not an error status. */
	if (strcmp(cmd, "check") == 0) {
		do_check();
		return 0;
	}
	if (strcmp(cmd, "start") == 0)
		return do_start();
	if (strcmp(cmd, "start-fg") == 0)
		do_start_fg();
	if (strcmp(cmd, "stop") == 0)
		return do_stop(SIGTERM, "stopping");
	if (strcmp(cmd, "abort") == 0)
		return do_stop(SIGQUIT, "aborting");
	if (strcmp(cmd, "reload") == 0)
		return do_reload();
	if (strcmp(cmd, "status") == 0)
		return do_status();
	if (strcmp(cmd, "flush") == 0)
		return do_flush();
	usage();
}
