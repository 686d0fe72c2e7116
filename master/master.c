/*
 * master - the postern supervisor (see master(8)).
 *
 * master reads main.cf and master.cf, opens every service's listeners,
 * and starts service processes on demand: it execs a fresh child when a
 * service has a pending request and no idle process, up to maxproc. It
 * restarts what dies, throttles what keeps dying at start-up, reloads on
 * SIGHUP and stops everything on SIGTERM (gracefully) or SIGQUIT (abort).
 *
 * Invariants and safety:
 *   - master never reads mail, queue files or client data. It opens only
 *     private/, public/ and pid/ in the queue, and accepts no connection.
 *   - One master per queue: an exclusive fcntl lock on pid/master.pid,
 *     held for master's lifetime. "postern status/stop" test that lock;
 *     the lock, not the pid in the file, is the truth.
 *   - Signal handlers only set flags (util/sigs); reload and shutdown run
 *     from the event loop.
 *   - Run by root, master stays root (port 25, privileged services) and
 *     children drop to mail_owner themselves before reading input. Run by
 *     anyone else (a sandbox), services run as that user without chroot,
 *     and master says so once in the log.
 */
#include <errno.h>
#include <fcntl.h>
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

#include "config.h"
#include "events.h"
#include "mail_conf.h"
#include "mail_params.h"
#include "master.h"
#include "msg.h"
#include "mymalloc.h"
#include "priv.h"
#include "sigs.h"

#define MASTER_PID_FILE "pid/master.pid"
/* How long "stop" lets children exit on SIGTERM before SIGKILL. */
#define MASTER_STOP_WAIT 5

struct master_serv *master_services;
unsigned master_generation = 1;
const char *master_config_dir;
int master_unprivileged;
uid_t master_owner_uid;
gid_t master_owner_gid;
char **master_child_env;

static int master_pid_fd = -1;

static _Noreturn void master_usage(void)
{
	msg_fatal("usage: master [-c config_dir] [-d] [-t] [-v] [-w]");
}

static void master_set_log(void)
{
	char ident[256];

	if (msg_set_facility(var_syslog_facility) < 0)
		msg_warn("unknown syslog_facility \"%s\"", var_syslog_facility);
	if (msg_set_output(var_maillog_file) < 0)
		msg_warn("cannot open maillog_file %s: %m; using syslog",
			 var_maillog_file);
	snprintf(ident, sizeof(ident), "%s/master", var_syslog_name);
	msg_open(ident);
}

/* Who services run as; see the file comment. */
static void master_set_owner(void)
{
	if (master_unprivileged) {
		master_owner_uid = getuid();
		master_owner_gid = getgid();
		return;
	}
	if (priv_lookup_user(var_mail_owner, &master_owner_uid,
			     &master_owner_gid) < 0)
		msg_fatal("parameter mail_owner: unknown user name value: %s",
			  var_mail_owner);
	if (master_owner_uid == 0)
		msg_fatal(
		    "parameter mail_owner: user %s has privileged user ID 0",
		    var_mail_owner);
}

static void master_log_unprivileged(void)
{
	struct passwd *pw = getpwuid(getuid());
	char name[64];

	if (pw != NULL)
		snprintf(name, sizeof(name), "%s", pw->pw_name);
	else
		snprintf(name, sizeof(name), "%ld", (long)getuid());
	msg_info("running as unprivileged user %s: services run as %s, chroot "
		 "disabled",
		 name, name);
}

static void master_free_env(void)
{
	if (master_child_env == NULL)
		return;
	for (char **e = master_child_env; *e; e++)
		myfree(*e);
	myfree(master_child_env);
}

/* The children's environment: import_environment, the configuration
 * directory master read, and the generation. Nothing else of master's. */
void master_build_env(void)
{
	char **names = conf_list_split(var_import_environment);
	size_t n = 0, max = 3;
	char buf[PATH_MAX + 32];

	master_free_env();
	for (char **p = names; *p; p++)
		max++;
	master_child_env = mycalloc(max, sizeof(*master_child_env));
	for (char **p = names; *p; p++) {
		const char *eq = strchr(*p, '=');
		size_t nlen = eq ? (size_t)(eq - *p) : strlen(*p);
		const char *val;

		if (nlen == strlen("MAIL_CONFIG") &&
		    strncmp(*p, "MAIL_CONFIG", nlen) == 0)
			continue;
		if (nlen == strlen(MASTER_GEN_ENV) &&
		    strncmp(*p, MASTER_GEN_ENV, nlen) == 0)
			continue;
		if (eq != NULL) {
			master_child_env[n++] = mystrdup(*p);
		} else if ((val = getenv(*p)) != NULL) {
			size_t len =
			    mymalloc_add(mymalloc_add(nlen, strlen(val)), 2);

			master_child_env[n] = mymalloc(len);
			snprintf(master_child_env[n++], len, "%s=%s", *p, val);
		}
	}
	conf_list_free(&names);
	snprintf(buf, sizeof(buf), "MAIL_CONFIG=%s", master_config_dir);
	master_child_env[n++] = mystrdup(buf);
	snprintf(buf, sizeof(buf), "%s=%u", MASTER_GEN_ENV, master_generation);
	master_child_env[n++] = mystrdup(buf);
	master_child_env[n] = NULL;
}

/* -t: exit 0 when no master holds the lock (Postfix's meaning: "it is
 * safe to start one"), 1 when one runs. */
static _Noreturn void master_test_lock(void)
{
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
	int fd;

	if (chdir(var_queue_directory) < 0)
		exit(0);
	if ((fd = open(MASTER_PID_FILE, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		exit(0);
	if (fcntl(fd, F_GETLK, &fl) < 0)
		msg_fatal("fcntl %s: %m", MASTER_PID_FILE);
	exit(fl.l_type == F_UNLCK ? 0 : 1);
}

static void master_lock_pid_file(void)
{
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
	char buf[32];
	int len;

	master_pid_fd = open(MASTER_PID_FILE,
			     O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (master_pid_fd < 0)
		msg_fatal("open %s/%s: %m", var_queue_directory,
			  MASTER_PID_FILE);
	if (fcntl(master_pid_fd, F_SETLK, &fl) < 0) {
		if (errno == EAGAIN || errno == EACCES)
			msg_fatal("the postern mail system is already running");
		msg_fatal("lock %s/%s: %m", var_queue_directory,
			  MASTER_PID_FILE);
	}
	len = snprintf(buf, sizeof(buf), "%10ld\n", (long)getpid());
	if (ftruncate(master_pid_fd, 0) < 0 ||
	    pwrite(master_pid_fd, buf, (size_t)len, 0) != len)
		msg_fatal("write %s/%s: %m", var_queue_directory,
			  MASTER_PID_FILE);
}

/* Detach: the parent returns to the shell (with -w, only once the child
 * reports that it is up, with the child's verdict as exit status). */
static int master_detach(int wait_ready)
{
	int ready[2] = {-1, -1};
	pid_t pid;
	char ok = 0;

	if (wait_ready && pipe2(ready, O_CLOEXEC) < 0)
		msg_fatal("pipe: %m");
	if ((pid = fork()) < 0)
		msg_fatal("fork: %m");
	if (pid > 0) {
		if (!wait_ready)
			_exit(0);
		close(ready[1]);
		while (read(ready[0], &ok, 1) < 0 && errno == EINTR)
			/* retry */;
		/* EOF: the daemon died in start-up and said why on stderr. */
		_exit(ok == 'R' ? 0 : 1);
	}
	if (wait_ready)
		close(ready[0]);
	if (setsid() < 0)
		msg_fatal("setsid: %m");
	return ready[1];
}

static void master_stdio_null(void)
{
	int fd = open("/dev/null", O_RDWR | O_CLOEXEC);

	if (fd < 0)
		msg_fatal("open /dev/null: %m");
	for (int i = 0; i < 3; i++)
		if (dup2(fd, i) < 0)
			msg_fatal("dup2: %m");
	close(fd);
}

static void master_reload(void)
{
	char *err = NULL;

	/* A typo in main.cf must not kill a running mail system. */
	if (mail_conf_load(master_config_dir, &err) < 0) {
		msg_error("%s; reload ignored, the running configuration stays",
			  err);
		myfree(err);
		return;
	}
	master_set_log();
	master_set_owner();
	if (master_serv_configure(0) < 0)
		return;
	msg_info("reload -- version %s, configuration %s", PACKAGE_VERSION,
		 master_config_dir);
}

static void master_sleep_ms(long ms)
{
	struct timespec ts = {.tv_sec = ms / 1000,
			      .tv_nsec = (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

/* Stop: children get SIGTERM (abort: SIGKILL), then at most
 * MASTER_STOP_WAIT seconds before SIGKILL; master exits only when none is
 * left, so "postern stop" returning means the instance is gone. */
static _Noreturn void master_terminate(int sig)
{
	int abort_now = sig == SIGQUIT;
	time_t deadline;

	msg_info("terminating on signal %d%s", sig,
		 abort_now ? " (abort)" : "");
	master_serv_close_all();
	master_signal_all(abort_now ? SIGKILL : SIGTERM);
	deadline = time(NULL) + MASTER_STOP_WAIT;
	for (;;) {
		master_reap();
		if (master_child_count() == 0)
			break;
		if (time(NULL) >= deadline) {
			msg_warn("%d service processes still running after %d "
				 "seconds; "
				 "sending SIGKILL",
				 master_child_count(), MASTER_STOP_WAIT);
			master_signal_all(SIGKILL);
			deadline = time(NULL) + MASTER_STOP_WAIT;
		}
		master_sleep_ms(20);
	}
	master_free_env();
	exit(0);
}

static void master_signal_event(int fd, int events, void *ctx)
{
	(void)fd;
	(void)events;
	(void)ctx;
	sigs_drain();
	if (sigs_pending(SIGCHLD))
		master_reap();
	if (sigs_pending(SIGQUIT))
		master_terminate(SIGQUIT);
	if (sigs_pending(SIGTERM))
		master_terminate(SIGTERM);
	if (sigs_pending(SIGINT))
		master_terminate(SIGINT);
	if (sigs_pending(SIGHUP))
		master_reload();
}

int main(int argc, char **argv)
{
	int foreground = 0, test = 0, wait_ready = 0, ready_fd = -1;
	const char *opt_c = NULL;
	static char config_dir[PATH_MAX];
	int ch;

	msg_open("postern/master");
	msg_set_stderr(1);
	umask(022);
	while ((ch = getopt(argc, argv, "c:dtvw")) != -1) {
		switch (ch) {
		case 'c':
			opt_c = optarg;
			break;
		case 'd':
			foreground = 1;
			break;
		case 't':
			test = 1;
			break;
		case 'v':
			msg_verbose++;
			break;
		case 'w':
			wait_ready = 1;
			break;
		default:
			master_usage();
		}
	}
	if (optind != argc)
		master_usage();

	/* Children get this path in MAIL_CONFIG after master's chdir. */
	if (realpath(mail_conf_dir(opt_c), config_dir) == NULL)
		msg_fatal("configuration directory %s: %m",
			  mail_conf_dir(opt_c));
	master_config_dir = config_dir;
	mail_conf_read(master_config_dir);
	master_set_log();
	if (test)
		master_test_lock();

	master_unprivileged = getuid() != 0 || geteuid() != 0;
	master_set_owner();
	if (chdir(var_queue_directory) < 0)
		msg_fatal("chdir %s: %m (\"postern check\" creates the queue)",
			  var_queue_directory);

	if (!foreground)
		ready_fd = master_detach(wait_ready);
	master_lock_pid_file();

	sigs_catch(SIGHUP);
	sigs_catch(SIGTERM);
	sigs_catch(SIGINT);
	sigs_catch(SIGQUIT);
	sigs_catch(SIGCHLD);
	sigs_ignore(SIGPIPE);
	events_watch(sigs_wakeup_fd(), EVENT_READ, master_signal_event, NULL);

	if (master_unprivileged)
		master_log_unprivileged();
	master_build_env();
	master_serv_configure(1);

	/* Start-up errors went to the terminal too; from here on, the log. */
	if (!foreground) {
		master_stdio_null();
		msg_set_stderr(0);
	}
	msg_info("daemon started -- version %s, configuration %s",
		 PACKAGE_VERSION, master_config_dir);
	if (ready_fd >= 0) {
		if (write(ready_fd, "R", 1) != 1)
			msg_warn("cannot notify the starting process: %m");
		close(ready_fd);
	}
	for (;;)
		events_loop(-1);
}
