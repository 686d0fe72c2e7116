/*
 * postern-queue - list the mail queue and ask for its delivery (see
 * postern-queue(1)); run as "mailq" it lists the queue like "-p".
 *
 *     postern-queue [-c config_dir] [-v] -p | -j | -f | -i queue_id | -s site
 *
 * Listing goes through the showq service (public/showq), so it needs no
 * access to the queue files, only to the public directory: postern-queue
 * is installed set-gid postdrop (the group of public/), as Postfix's
 * postqueue, and so reads only a trusted main.cf
 * (mail_conf_read_trusted). -f wakes the queue manager with the triggers F (forget dead
 * destinations), A (ignore retry times) and D (scan deferred).
 *
 * -i and -s change when deferred mail is next tried: they set the
 * deferred file's modification time (its next retry time, doc/queue.md)
 * to now and wake qmgr with D. That needs write access to the queue, so
 * they work for root and mail_owner only; Postfix routes these requests
 * through its flush service, which postern does not have yet.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "mail_conf.h"
#include "mail_params.h"
#include "mail_queue.h"
#include "mail_trigger.h"
#include "msg.h"
#include "mymalloc.h"
#include "queue_file.h"
#include "queue_scan.h"
#include "rec_type.h"
#include "setgid_lsan.h"
#include "showq_clnt.h"
#include "strbuf.h"

#define EX_USAGE_ 64

static _Noreturn void usage(void)
{
	fprintf(stderr, "usage: postern-queue [-c config_dir] [-v] "
			"-p | -j | -f | -i queue_id | -s site\n");
	exit(EX_USAGE_);
}

/* --- listing --------------------------------------------------------- */

static struct showq_clnt *connect_showq(void)
{
	struct strbuf *why = strbuf_new(STRBUF_NO_MAX);
	struct showq_clnt *sc =
	    showq_clnt_open(SHOWQ_SERVICE_PATH, var_ipc_timeout, why);

	if (sc == NULL)
		msg_fatal("cannot list the mail queue: showq service: %s "
			  "(is the mail system running?)",
			  strbuf_str(why));
	strbuf_free(&why);
	return sc;
}

/* mailq's format, column for column Postfix's: the ID with its status
 * ('*' active, '!' on hold), size, arrival time, sender; a deferral
 * reason in parentheses before the recipients it applies to. */
static int list_text(void)
{
	struct strbuf *why = strbuf_new(STRBUF_NO_MAX);
	struct showq_clnt *sc = connect_showq();
	struct showq_msg m;
	long long bytes = 0;
	int count = 0, rc;

	while ((rc = showq_clnt_next(sc, &m, why)) == 1) {
		char when[32];
		time_t t = (time_t)m.arrival_time;
		struct tm tm;
		int status = strcmp(m.queue_name, MAIL_QUEUE_ACTIVE) == 0 ? '*'
			     : strcmp(m.queue_name, MAIL_QUEUE_HOLD) == 0 ? '!'
									  : ' ';
		const char *last = "";

		if (count == 0)
			printf("%-11s %8s %-20s %s\n", "-Queue ID-", "--Size--",
			       "----Arrival Time----",
			       "-Sender/Recipient-------");
		else
			printf("\n");
		localtime_r(&t, &tm);
		strftime(when, sizeof(when), "%a %b %e %H:%M:%S", &tm);
		printf("%-10s%c %8" PRId64 " %-20.20s %s\n", m.queue_id, status,
		       m.message_size, when,
		       *m.sender ? m.sender : "MAILER-DAEMON");
		for (size_t i = 0; i < m.rcpt_count; i++) {
			const char *reason = m.rcpt[i].delay_reason;

			if (*reason && strcmp(reason, last) != 0)
				printf("(%s)\n", reason);
			last = reason;
			printf("%41s%s\n", "", m.rcpt[i].address);
		}
		bytes += m.file_size;
		count++;
		showq_msg_free(&m);
	}
	if (rc < 0)
		msg_fatal("%s", strbuf_str(why));
	if (count == 0)
		printf("Mail queue is empty\n");
	else
		printf("\n-- %lld Kbytes in %d Request%s.\n", bytes / 1024,
		       count, count == 1 ? "" : "s");
	showq_clnt_close(&sc);
	strbuf_free(&why);
	return fflush(stdout) == 0 ? 0 : 1;
}

/* A JSON string: quotes, backslashes and control characters escaped;
 * bytes that are not UTF-8 become U+FFFD so that every line parses. */
static void json_str(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	putchar('"');
	while (*p) {
		size_t len = 0;

		if (*p == '"' || *p == '\\') {
			printf("\\%c", *p++);
			continue;
		}
		if (*p < 0x20 || *p == 0x7f) {
			printf("\\u%04x", *p++);
			continue;
		}
		if (*p < 0x80) {
			putchar(*p++);
			continue;
		}
		/* A well-formed UTF-8 sequence is copied as it is. */
		if (*p >= 0xc2 && *p <= 0xdf)
			len = 2;
		else if (*p >= 0xe0 && *p <= 0xef)
			len = 3;
		else if (*p >= 0xf0 && *p <= 0xf4)
			len = 4;
		for (size_t i = 1; i < len; i++)
			if ((p[i] & 0xc0) != 0x80)
				len = 0; /* also stops at the NUL */
		if (len == 0) {
			printf("\\ufffd");
			p++;
		} else {
			fwrite(p, 1, len, stdout);
			/* UNSAFE: the len bytes at p were checked above. */
			p += len;
		}
	}
	putchar('"');
}

/* postqueue -j: one JSON object per message, Postfix's keys. */
static int list_json(void)
{
	struct strbuf *why = strbuf_new(STRBUF_NO_MAX);
	struct showq_clnt *sc = connect_showq();
	struct showq_msg m;
	int rc;

	while ((rc = showq_clnt_next(sc, &m, why)) == 1) {
		printf("{\"queue_name\": ");
		json_str(m.queue_name);
		printf(", \"queue_id\": ");
		json_str(m.queue_id);
		printf(", \"arrival_time\": %" PRId64
		       ", \"message_size\": %" PRId64
		       ", \"forced_expire\": %s, \"sender\": ",
		       m.arrival_time, m.message_size,
		       m.forced_expire ? "true" : "false");
		json_str(m.sender);
		printf(", \"recipients\": [");
		for (size_t i = 0; i < m.rcpt_count; i++) {
			printf("%s{\"address\": ", i ? ", " : "");
			json_str(m.rcpt[i].address);
			if (*m.rcpt[i].delay_reason) {
				printf(", \"delay_reason\": ");
				json_str(m.rcpt[i].delay_reason);
			}
			printf("}");
		}
		printf("]}\n");
		showq_msg_free(&m);
	}
	if (rc < 0)
		msg_fatal("%s", strbuf_str(why));
	showq_clnt_close(&sc);
	strbuf_free(&why);
	return fflush(stdout) == 0 ? 0 : 1;
}

/* --- delivery requests ------------------------------------------------ */

static void trigger_qmgr(const char *req)
{
	struct strbuf *why = strbuf_new(STRBUF_NO_MAX);

	if (mail_trigger(QMGR_SERVICE_PATH, req, strlen(req), why) < 0)
		msg_fatal("cannot flush the mail queue: %s (is the mail "
			  "system running?)",
			  strbuf_str(why));
	strbuf_free(&why);
}

static struct mail_queue *open_queue(void)
{
	struct strbuf *why = strbuf_new(STRBUF_NO_MAX);
	struct mail_queue *mq = mail_queue_open_main(".", why);

	if (mq == NULL)
		msg_fatal("open queue: %s", strbuf_str(why));
	strbuf_free(&why);
	return mq;
}

/* Make deferred/id due now. 1 done, 0 not in deferred/, fatal when the
 * queue may not be changed by this user. */
static int make_due(struct mail_queue *mq, const char *id)
{
	struct strbuf *why = strbuf_new(STRBUF_NO_MAX);
	struct strbuf *path = strbuf_new(STRBUF_NO_MAX);
	int ret = 0;

	if (mail_queue_path(mq, path, MAIL_QUEUE_DEFERRED, id, why) < 0)
		msg_fatal("%s: %s", id, strbuf_str(why));
	/* NULL times: now. AT_SYMLINK_NOFOLLOW: never touch a link's
	 * target. */
	if (utimensat(mail_queue_dirfd(mq), strbuf_str(path), NULL,
		      AT_SYMLINK_NOFOLLOW) == 0)
		ret = 1;
	else if (errno == EACCES || errno == EPERM)
		msg_fatal("%s: permission denied: -i and -s need root or "
			  "mail_owner (%s)",
			  strbuf_str(path), var_mail_owner);
	else if (errno != ENOENT)
		msg_fatal("%s: %m", strbuf_str(path));
	strbuf_free(&why);
	strbuf_free(&path);
	return ret;
}

static int deliver_id(const char *id)
{
	struct mail_queue *mq;

	if (!mail_queue_id_ok(id))
		msg_fatal("-i: malformed queue ID \"%.40s\"", id);
	mq = open_queue();
	if (!make_due(mq, id))
		msg_fatal("%s: not in the deferred queue", id);
	mail_queue_close(&mq);
	trigger_qmgr((char[]){QMGR_REQ_SCAN_DEFERRED, 0});
	return 0;
}

/* Whether addr's domain is site (case-insensitive; "[192.0.2.1]" for an
 * address literal). */
static int rcpt_at_site(const char *addr, const char *site)
{
	const char *at = strrchr(addr, '@');

	return at != NULL && strcasecmp(at + 1, site) == 0;
}

/* -s: every deferred message with a recipient at site is made due. */
static int deliver_site(const char *site)
{
	struct strbuf *why = strbuf_new(STRBUF_NO_MAX);
	struct mail_queue *mq;
	struct queue_scan_ids ids;
	int found = 0;

	if (*site == 0 || strpbrk(site, " \t\r\n@") != NULL)
		msg_fatal("-s: malformed site \"%.80s\"", site);
	mq = open_queue();
	if (queue_scan(mq, MAIL_QUEUE_DEFERRED, &ids, why) < 0)
		msg_fatal("-s: %s%s", strbuf_str(why),
			  errno == EACCES ? " (-s needs root or mail_owner)"
					  : "");
	for (size_t i = 0; i < ids.count; i++) {
		struct queue_file *qf = NULL;
		struct queue_rec rec;
		int match = 0;

		if (queue_file_open(mq, MAIL_QUEUE_DEFERRED, ids.id[i], 0, &qf,
				    why) != QUEUE_FILE_OK)
			continue; /* gone, or qmgr's problem */
		while (!match &&
		       queue_file_read(qf, &rec, why) == QUEUE_FILE_OK &&
		       rec.type != REC_TYPE_EOF)
			match = rec.type == REC_TYPE_RCPT &&
				rcpt_at_site(rec.data, site);
		(void)queue_file_close(&qf);
		if (match && make_due(mq, ids.id[i]))
			found++;
	}
	queue_scan_free(&ids);
	if (msg_verbose)
		msg_info("%d deferred message%s for %s", found,
			 found == 1 ? "" : "s", site);
	mail_queue_close(&mq);
	strbuf_free(&why);
	if (found > 0)
		trigger_qmgr((char[]){QMGR_REQ_SCAN_DEFERRED, 0});
	return 0;
}

int main(int argc, char **argv)
{
	const char *conf_dir = NULL, *arg = NULL;
	char *prog = mystrdup(argv[0]);
	int mode = 0, ch;

	msg_open("postern/postern-queue");
	msg_set_stderr(1);
	if (strcmp(basename(prog), "mailq") == 0)
		mode = 'p';
	myfree(prog);
	while ((ch = getopt(argc, argv, "c:fi:jps:v")) != -1) {
		switch (ch) {
		case 'c':
			conf_dir = optarg;
			break;
		case 'v':
			msg_verbose++;
			break;
		case 'f':
		case 'i':
		case 'j':
		case 'p':
		case 's':
			if (mode != 0 && mode != ch)
				usage();
			mode = ch;
			arg = optarg;
			break;
		default:
			usage();
		}
	}
	if (mode == 0 || optind != argc)
		usage();
	/* Installed set-gid postdrop, as Postfix's postqueue, so that users
	 * can list the queue (public/showq) and flush it (public/qmgr). */
	mail_conf_read_trusted(mail_conf_dir(conf_dir));
	/* Every service path is relative to the queue directory. */
	if (chdir(var_queue_directory) < 0)
		msg_fatal("chdir %s: %m", var_queue_directory);
	switch (mode) {
	case 'p':
		return list_text();
	case 'j':
		return list_json();
	case 'f':
		trigger_qmgr((char[]){QMGR_REQ_FLUSH_DEAD, QMGR_REQ_SCAN_ALL,
				      QMGR_REQ_SCAN_DEFERRED, 0});
		return 0;
	case 'i':
		return deliver_id(arg);
	default:
		return deliver_site(arg);
	}
}
