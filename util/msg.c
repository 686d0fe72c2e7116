/*
 * msg - logging with Postfix's severities and line format; see msg.h.
 *
 * This module must not allocate on the error paths: it is what reports an
 * allocation failure. Lines are formatted into a fixed stack buffer and
 * truncated, never split.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "msg.h"

#define MSG_LINE_MAX 4096

int msg_verbose;

static char msg_ident[256] = "postern";
static int msg_facility = LOG_MAIL;
static int msg_fd = -1;		/* -1: syslog */
static int msg_to_stderr;
static int msg_syslog_open;
static int msg_dying;
static void (*msg_cleanup)(void);

static const struct {
	const char *name;
	int value;
} msg_facilities[] = {
	{"mail", LOG_MAIL}, {"daemon", LOG_DAEMON}, {"user", LOG_USER},
	{"local0", LOG_LOCAL0}, {"local1", LOG_LOCAL1}, {"local2", LOG_LOCAL2},
	{"local3", LOG_LOCAL3}, {"local4", LOG_LOCAL4}, {"local5", LOG_LOCAL5},
	{"local6", LOG_LOCAL6}, {"local7", LOG_LOCAL7},
};

void msg_open(const char *ident)
{
	snprintf(msg_ident, sizeof(msg_ident), "%s", ident);
	if (msg_syslog_open) {
		closelog();
		msg_syslog_open = 0;
	}
}

int msg_set_output(const char *file)
{
	int fd;

	if (file == NULL || *file == 0) {
		if (msg_fd > 2)
			close(msg_fd);
		msg_fd = -1;
		return 0;
	}
	if (strcmp(file, "-") == 0 || strcmp(file, "/dev/stderr") == 0) {
		fd = 2;
	} else if (strcmp(file, "/dev/stdout") == 0) {
		fd = 1;
	} else if ((fd = open(file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC
			      | O_NOFOLLOW, 0640)) < 0) {
		return -1;
	}
	if (msg_fd > 2 && msg_fd != fd)
		close(msg_fd);
	msg_fd = fd;
	return 0;
}

int msg_set_facility(const char *name)
{
	for (size_t i = 0; i < sizeof(msg_facilities) / sizeof(msg_facilities[0]); i++) {
		if (strcasecmp(name, msg_facilities[i].name) == 0) {
			msg_facility = msg_facilities[i].value;
			if (msg_syslog_open) {
				closelog();
				msg_syslog_open = 0;
			}
			return 0;
		}
	}
	return -1;
}

void msg_set_stderr(int on)
{
	msg_to_stderr = on;
}

void msg_set_cleanup(void (*fn)(void))
{
	msg_cleanup = fn;
}

/* write() all of buf, retrying on EINTR; errors are dropped (nowhere to report). */
static void msg_write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		buf += n;
		len -= (size_t) n;
	}
}

void msg_vlog(const char *severity, const char *fmt, va_list ap)
{
	char text[MSG_LINE_MAX];
	char line[MSG_LINE_MAX + 512];
	int saved_errno = errno;
	int n;

	errno = saved_errno;		/* for %m */
	vsnprintf(text, sizeof(text), fmt, ap);
	/* Never let a CR or LF from data start a fake log line. */
	for (char *cp = text; *cp; cp++)
		if (*cp == '\n' || *cp == '\r')
			*cp = ' ';

	if (msg_fd >= 0) {
		char stamp[64], host[256] = "localhost";
		struct timespec ts;
		struct tm tm;

		clock_gettime(CLOCK_REALTIME, &ts);
		localtime_r(&ts.tv_sec, &tm);
		strftime(stamp, sizeof(stamp), "%b %e %H:%M:%S", &tm);
		gethostname(host, sizeof(host) - 1);
		host[strcspn(host, ".")] = 0;
		n = snprintf(line, sizeof(line), "%s.%06ld %s %s[%ld]: %s%s%s\n",
			     stamp, (long) (ts.tv_nsec / 1000), host, msg_ident,
			     (long) getpid(), severity ? severity : "",
			     severity ? ": " : "", text);
		if (n > 0)
			msg_write_all(msg_fd, line, (size_t) n < sizeof(line) ? (size_t) n : sizeof(line) - 1);
	} else {
		int prio = LOG_INFO;

		if (!msg_syslog_open) {
			openlog(msg_ident, LOG_PID | LOG_NDELAY, msg_facility);
			msg_syslog_open = 1;
		}
		if (severity != NULL)
			prio = strcmp(severity, "warning") == 0 ? LOG_WARNING
				: strcmp(severity, "error") == 0 ? LOG_ERR : LOG_CRIT;
		syslog(msg_facility | prio, "%s%s%s", severity ? severity : "",
		       severity ? ": " : "", text);
	}
	if (msg_to_stderr && msg_fd != 2) {
		const char *base = strrchr(msg_ident, '/');

		n = snprintf(line, sizeof(line), "%s: %s%s%s\n",
			     base ? base + 1 : msg_ident, severity ? severity : "",
			     severity ? ": " : "", text);
		if (n > 0)
			msg_write_all(2, line, (size_t) n < sizeof(line) ? (size_t) n : sizeof(line) - 1);
	}
	errno = saved_errno;
}

#define MSG_DEFINE(fn, sev) \
	void fn(const char *fmt, ...) \
	{ \
		va_list ap; \
		va_start(ap, fmt); \
		msg_vlog(sev, fmt, ap); \
		va_end(ap); \
	}

MSG_DEFINE(msg_info, NULL)
MSG_DEFINE(msg_warn, "warning")
MSG_DEFINE(msg_error, "error")

static _Noreturn void msg_die(int status)
{
	if (!msg_dying++ && msg_cleanup != NULL)
		msg_cleanup();
	_exit(status);
}

void msg_fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	msg_vlog("fatal", fmt, ap);
	va_end(ap);
	msg_die(1);
}

void msg_fatal_status(int status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	msg_vlog("fatal", fmt, ap);
	va_end(ap);
	msg_die(status);
}

void msg_panic(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	msg_vlog("panic", fmt, ap);
	va_end(ap);
	abort();
}
