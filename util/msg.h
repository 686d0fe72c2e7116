/*
 * msg - logging with Postfix's severities and line format.
 *
 * Every line is "IDENT[PID]: [severity: ]text", where IDENT is
 * "postern/<service>" for daemons (syslog_name/service), so pflogsumm and
 * other Postfix log tooling read it. Output goes to syslog (LOG_MAIL by
 * default), or, when maillog_file is set, appended to that file (one write
 * per line, so concurrent processes never interleave inside a line), or to
 * stderr. Interactive commands also copy every line to stderr.
 *
 * Severities: msg_info and msg_warn report; msg_error reports a problem that
 * the process survives; msg_fatal means the environment is broken (runs the
 * cleanup hook, exits 1); msg_panic means an invariant broke (aborts, for a
 * core). Bad input from a client, a file or another process must never
 * reach msg_fatal or msg_panic.
 */
#ifndef POSTERN_MSG_H
#define POSTERN_MSG_H

#include <stdarg.h>

extern int msg_verbose;

/* Set the log ident ("postern/smtpd"); may be called again after config. */
void msg_open(const char *ident);
/* "" or NULL: syslog; "/dev/stderr" or "-": stderr; else a file to append to.
 * Returns 0, or -1 with errno when the file cannot be opened (output is then
 * unchanged). */
int msg_set_output(const char *maillog_file);
/* Syslog facility by name ("mail", "local0", ...); -1 if unknown. */
int msg_set_facility(const char *name);
/* Also copy every line to stderr (interactive commands). */
void msg_set_stderr(int on);
/* Called once by msg_fatal before exit (remove temp files, ...). */
void msg_set_cleanup(void (*fn)(void));

void msg_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void msg_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void msg_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void msg_fatal(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), noreturn));
/* As msg_fatal with a specific exit status (sysexits for commands). */
void msg_fatal_status(int status, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), noreturn));
void msg_panic(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), noreturn));
void msg_vlog(const char *severity, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

#endif
