/*
 * mail_server - the shared daemon skeleton; see mail_server.h.
 *
 * Safety argument. Everything a daemon reads from outside (a client, a
 * trigger, a passed descriptor) is read only from the loop, and the loop
 * is entered only after priv_drop() has made the process mail_owner (and
 * chrooted it) when master said -u (-c). pre_jail() runs privileged but
 * before any listen descriptor is touched. A daemon whose master.cf line
 * contradicts what it needs refuses to start, so "qmgr must be solitary"
 * and "local must run privileged" are enforced in one place.
 *
 * Lifetime. A child exits only between requests: on max_use, on max_idle,
 * or when the status pipe reports that master has no reader on it any more
 * (master exited, or a reload retired this generation). The request in
 * hand is always finished, which is what lets "postern reload" keep
 * established connections.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "events.h"
#include "mail_conf.h"
#include "mail_params.h"
#include "mail_server.h"
#include "master_proto.h"
#include "msg.h"
#include "mymalloc.h"
#include "priv.h"
#include "sigs.h"
#include "sock.h"

/* How long a trigger client may take to send its few bytes. */
#define MS_TRIGGER_TIMEOUT 10

enum ms_fd_kind { MS_FD_STREAM, MS_FD_DGRAM, MS_FD_FIFO };

static const struct server_def *ms_def;
static const char *ms_service_name = "";
static const char *ms_transport = "";
static char **ms_args;
static unsigned ms_gen;
static int ms_nlisten;
static enum ms_fd_kind ms_kind[MASTER_LISTEN_MAX];
static long ms_use_count;
static int ms_master_gone;

const char *mail_server_service(void)
{
	return ms_service_name;
}

unsigned mail_server_generation(void)
{
	return ms_gen;
}

/* Tell master whether we are idle. A failed write means master is gone
 * (EPIPE, SIGPIPE is ignored): finish what is in hand, then exit. */
static void ms_report(int avail)
{
	struct master_status st = {
	    .pid = (int32_t)getpid(),
	    .gen = ms_gen,
	    .avail = avail,
	};
	ssize_t n;

	do
		n = write(MASTER_STATUS_FD, &st, sizeof(st));
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)sizeof(st)) {
		if (msg_verbose)
			msg_info("status write to master: %m");
		ms_master_gone = 1;
	}
}

/* Nonzero when master closed its end of the status pipe. */
static int ms_status_closed(void)
{
	struct pollfd pfd = {.fd = MASTER_STATUS_FD, .events = POLLIN};

	if (poll(&pfd, 1, 0) > 0 &&
	    (pfd.revents & (POLLERR | POLLHUP | POLLNVAL)))
		return 1;
	return 0;
}

static _Noreturn void ms_exit(const char *why)
{
	if (msg_verbose)
		msg_info("exiting: %s", why);
	exit(0);
}

static void ms_idle(void *ctx)
{
	(void)ctx;
	ms_exit("idle timeout");
}

static void ms_status_event(int fd, int events, void *ctx)
{
	(void)fd;
	(void)events;
	(void)ctx;
	ms_exit("master closed the status pipe");
}

/* Bookkeeping after one request, while the client is still open: count
 * it and decide whether this process has served enough. If it stays, it
 * reports AVAIL before the client sees the connection close, so a client
 * that reconnects at once finds master already knowing there is an idle
 * process (and master does not start a needless one). A process that is
 * about to exit never claims to be available. */
static int ms_done(void)
{
	ms_use_count++;
	if (ms_master_gone)
		return -1;
	if (!ms_def->resident && var_max_use > 0 && ms_use_count >= var_max_use)
		return -1;
	ms_report(MASTER_STAT_AVAIL);
	if (ms_master_gone)
		return -1;
	if (!ms_def->resident && var_max_idle > 0)
		events_timer(ms_idle, NULL, var_max_idle);
	return 0;
}

/* After the client is closed: leave if ms_done() said so. */
static void ms_after(int verdict)
{
	if (verdict < 0)
		ms_exit(ms_master_gone ? "master has gone away"
				       : "max_use reached");
}

/* A "pass" service receives the client descriptor over the connection. */
static int ms_receive_passed(int conn)
{
	int fd;

	if (sock_wait_read(conn, MS_TRIGGER_TIMEOUT) < 0) {
		msg_warn("%s: no descriptor passed: %m", ms_service_name);
		return -1;
	}
	if ((fd = sock_recv_fd(conn)) < 0) {
		msg_warn("%s: receive passed descriptor: %m", ms_service_name);
		return -1;
	}
	if (sock_cloexec(fd, 1) < 0 || sock_nonblock(fd, 0) < 0) {
		msg_warn("%s: passed descriptor: %m", ms_service_name);
		close(fd);
		return -1;
	}
	return fd;
}

static void ms_single_ready(int listen_fd)
{
	int conn, client, verdict;

	conn = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
	if (conn < 0) {
		/* Another child of the service got it first: not an error. */
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
		    errno != ECONNABORTED)
			msg_warn("accept on %s: %m", ms_service_name);
		return;
	}
	ms_report(MASTER_STAT_TAKEN);
	if (strcmp(ms_transport, "pass") == 0) {
		client = ms_receive_passed(conn);
		close(conn);
	} else {
		client = conn;
	}
	if (client >= 0)
		ms_def->service(client, ms_service_name, ms_args);
	verdict = ms_done();
	if (client >= 0)
		close(client);
	ms_after(verdict);
}

/* Read a trigger: a FIFO gives what is there; a stream socket is read to
 * EOF (master and the commands write and close), bounded in size and time
 * so a client that connects and stalls costs seconds, not the service. */
static void ms_trigger_ready(int listen_fd, enum ms_fd_kind kind)
{
	char buf[MAIL_SERVER_TRIGGER_MAX];
	size_t len = 0;
	ssize_t n;
	int conn;

	if (kind == MS_FD_FIFO || kind == MS_FD_DGRAM) {
		n = read(listen_fd, buf, sizeof(buf));
		if (n <= 0)
			return;
		ms_report(MASTER_STAT_TAKEN);
		ms_def->trigger(buf, (size_t)n, ms_service_name, ms_args);
		ms_after(ms_done());
		return;
	}
	conn = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
	if (conn < 0)
		return;
	ms_report(MASTER_STAT_TAKEN);
	while (len < sizeof(buf)) {
		if (sock_wait_read(conn, MS_TRIGGER_TIMEOUT) < 0) {
			msg_warn("%s: trigger client timed out",
				 ms_service_name);
			break;
		}
		n = read(conn, buf + len, sizeof(buf) - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(conn);
	if (len > 0)
		ms_def->trigger(buf, len, ms_service_name, ms_args);
	ms_after(ms_done());
}

static void ms_listen_event(int fd, int events, void *ctx)
{
	(void)events;
	(void)ctx;
	/* A reload may have retired us while a client was queued: let the
	 * new generation have it. */
	if (ms_status_closed())
		ms_exit("master closed the status pipe");
	if (ms_def->kind == SERVER_SINGLE)
		ms_single_ready(fd);
	else
		ms_trigger_ready(fd, ms_kind[fd - MASTER_LISTEN_FD]);
}

static _Noreturn void ms_usage(const char *prog)
{
	msg_fatal("usage: %s -n service -t type [-u] [-c] [-l|-z] -s count "
		  "[-v] [-o name=value] [args] (this program is started by "
		  "master(8))",
		  prog);
}

static enum ms_fd_kind ms_fd_kind(int fd)
{
	struct stat st;
	int type;
	socklen_t len = sizeof(type);

	if (fstat(fd, &st) < 0)
		msg_fatal("listen descriptor %d is not open: %m "
			  "(this program is started by master(8))",
			  fd);
	if (S_ISFIFO(st.st_mode))
		return MS_FD_FIFO;
	if (!S_ISSOCK(st.st_mode))
		msg_fatal("listen descriptor %d is neither a socket nor a fifo",
			  fd);
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0)
		msg_fatal("getsockopt descriptor %d: %m", fd);
	return type == SOCK_DGRAM ? MS_FD_DGRAM : MS_FD_STREAM;
}

_Noreturn void mail_server_main(int argc, char **argv,
				const struct server_def *def)
{
	const char *prog = def->name;
	char **overrides;
	size_t noverrides = 0;
	int opt_unpriv = 0, opt_chroot = 0, opt_solitary = 0, opt_unlimited = 0;
	long nlisten = -1;
	char ident[256];
	const char *gen;
	int ch;

	ms_def = def;
	if ((def->kind == SERVER_SINGLE && def->service == NULL) ||
	    (def->kind == SERVER_TRIGGER && def->trigger == NULL))
		msg_panic("%s: server_def without a service function", prog);
	snprintf(ident, sizeof(ident), "postern/%s", prog);
	msg_open(ident);
	sigs_ignore(SIGPIPE);

	overrides = mycalloc((size_t)argc + 1, sizeof(*overrides));
	opterr = 0;
	while ((ch = getopt(argc, argv, "+cdDln:o:s:t:uvz")) != -1) {
		switch (ch) {
		case 'c':
			opt_chroot = 1;
			break;
		case 'd':
		case 'D':
			break; /* Postfix debug flags: accepted, no effect */
		case 'l':
			opt_solitary = 1;
			break;
		case 'n':
			ms_service_name = optarg;
			break;
		case 'o':
			overrides[noverrides++] = optarg;
			break;
		case 's':
			if (conf_parse_int(optarg, 1, MASTER_LISTEN_MAX,
					   &nlisten) < 0)
				msg_fatal("bad listen descriptor count: -s %s",
					  optarg);
			break;
		case 't':
			ms_transport = optarg;
			break;
		case 'u':
			opt_unpriv = 1;
			break;
		case 'v':
			msg_verbose++;
			break;
		case 'z':
			opt_unlimited = 1;
			break;
		default:
			ms_usage(prog);
		}
	}
	if (*ms_service_name == 0 || *ms_transport == 0 || nlisten < 1)
		ms_usage(prog);
	ms_args = argv + optind;
	ms_nlisten = (int)nlisten;
	if ((gen = getenv(MASTER_GEN_ENV)) != NULL)
		ms_gen = (unsigned)strtoul(gen, NULL, 10);

	/* The configuration master used is the one in MAIL_CONFIG. */
	mail_conf_read(mail_conf_dir(NULL));
	for (size_t i = 0; i < noverrides; i++)
		mail_conf_override(overrides[i]);
	myfree(overrides);
	if (msg_set_facility(var_syslog_facility) < 0)
		msg_warn("unknown syslog_facility \"%s\"", var_syslog_facility);
	if (msg_set_output(var_maillog_file) < 0)
		msg_warn("cannot open maillog_file %s: %m; using syslog",
			 var_maillog_file);
	snprintf(ident, sizeof(ident), "%s/%s", var_syslog_name, prog);
	msg_open(ident);

	if (def->solitary && !opt_solitary)
		msg_fatal(
		    "service %s requires a process limit of 1 in master.cf",
		    ms_service_name);
	if (def->unlimited && !opt_unlimited)
		msg_fatal(
		    "service %s requires a process limit of 0 in master.cf",
		    ms_service_name);
	if (def->privileged && opt_unpriv)
		msg_fatal("service %s requires privileged operation: set its "
			  "unpriv column to n in master.cf",
			  ms_service_name);

	if (fcntl(MASTER_STATUS_FD, F_GETFD) < 0)
		msg_fatal("status descriptor %d is not open: %m "
			  "(this program is started by master(8))",
			  MASTER_STATUS_FD);
	for (int i = 0; i < ms_nlisten; i++)
		ms_kind[i] = ms_fd_kind(MASTER_LISTEN_FD + i);
	/* Descriptors from master are ours alone: nothing we exec inherits
	 * them. */
	sock_cloexec(MASTER_STATUS_FD, 1);
	for (int i = 0; i < ms_nlisten; i++)
		sock_cloexec(MASTER_LISTEN_FD + i, 1);

	if (def->pre_jail)
		def->pre_jail(ms_service_name, ms_args);

	if (opt_unpriv) {
		const char *root = NULL;

		if (opt_chroot) {
			root = var_queue_directory;
			/* syslog's /dev/log is outside the jail: connect now.
			 */
			if (*var_maillog_file == 0)
				openlog(ident, LOG_PID | LOG_NDELAY, LOG_MAIL);
		}
		priv_drop(root, var_mail_owner);
	} else if (opt_chroot) {
		msg_warn("service %s: chroot without unpriv is not supported; "
			 "not chrooting",
			 ms_service_name);
	}

	if (def->post_jail)
		def->post_jail(ms_service_name, ms_args);

	events_watch(MASTER_STATUS_FD, EVENT_READ, ms_status_event, NULL);
	for (int i = 0; i < ms_nlisten; i++)
		events_watch(MASTER_LISTEN_FD + i, EVENT_READ, ms_listen_event,
			     NULL);
	if (!def->resident && var_max_idle > 0)
		events_timer(ms_idle, NULL, var_max_idle);
	if (msg_verbose)
		msg_info("%s: service %s type %s generation %u ready", prog,
			 ms_service_name, ms_transport, ms_gen);
	for (;;)
		events_loop(-1);
}
