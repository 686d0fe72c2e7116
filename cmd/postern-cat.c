/*
 * postern-cat - show the content of queue files (Postfix's postcat); see
 * postern-cat(1).
 *
 *     postern-cat [-c config_dir] [-e] [-h] [-b] [-r] [-q] FILE|ID...
 *
 * Every file is read with queue_file_fdopen/queue_file_read, the reader
 * qmgr and the delivery agents use, so what this shows is exactly what
 * the mail system would see, and a file the mail system would refuse is
 * reported with the reader's reason (which names the offset of the bad
 * record) instead of being half-guessed at. A file not marked complete
 * (still being written, or left behind by a crash) is read anyway, with
 * a warning, because that is when an admin wants to look at it.
 *
 * The output layout is postcat's, so habits and scripts carry over:
 * "*** ENVELOPE RECORDS name ***", one "record_name: value" line per
 * envelope record, "*** MESSAGE CONTENTS name ***", the message lines
 * (long lines joined again), "*** HEADER EXTRACTED name ***", the
 * extracted records, "*** MESSAGE FILE END name ***". -e, -h and -b pick
 * envelope, headers and body; without -e the banners are left out so the
 * headers or body can be piped on. -r shows every record as it is in
 * the file: offset, type letter, name, payload (control bytes escaped).
 *
 * Only root and mail_owner may look files up by queue ID (-q): the queue
 * holds other people's mail. Root drops to mail_owner before it opens
 * anything in the queue, so a hostile queue file is parsed without root
 * privileges. Files named by path are opened with the caller's own
 * rights.
 *
 * Exit status: 0 when every file was shown completely; 1 when a file
 * was not found, could not be read, or is incomplete or malformed (the
 * output then stops at the bad record); 64 for usage errors.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "dsn.h"
#include "mail_conf.h"
#include "mail_params.h"
#include "mail_queue.h"
#include "msg.h"
#include "mymalloc.h"
#include "priv.h"
#include "queue_file.h"
#include "rec_type.h"
#include "record.h"
#include "strbuf.h"

#define PC_ENVELOPE (1 << 0) /* -e */
#define PC_HEADERS (1 << 1)  /* -h */
#define PC_BODY (1 << 2)     /* -b */
#define PC_ALL (PC_ENVELOPE | PC_HEADERS | PC_BODY)

/* Queues -q searches, in postcat's order. */
static const char *const pc_queues[] = {
    MAIL_QUEUE_INCOMING,
    MAIL_QUEUE_ACTIVE,
    MAIL_QUEUE_DEFERRED,
    MAIL_QUEUE_HOLD,
    MAIL_QUEUE_CORRUPT,
    MAIL_QUEUE_MAILDROP,
    NULL,
};

/* Postfix's record names, which postcat users know; rec_type_name()'s
 * short names are for postern's own log lines. */
static const struct {
	int type;
	const char *name;
} pc_names[] = {
    {REC_TYPE_VERSION, "queue_file_version"},
    {REC_TYPE_SIZE, "message_size"},
    {REC_TYPE_TIME, "message_arrival_time"},
    {REC_TYPE_CTIME, "queue_file_create_time"},
    {REC_TYPE_FULL, "sender_fullname"},
    {REC_TYPE_INSP, "content_filter"},
    {REC_TYPE_FROM, "sender"},
    {REC_TYPE_RCPT, "recipient"},
    {REC_TYPE_DONE, "done_recipient"},
    {REC_TYPE_ORCP, "original_recipient"},
    {REC_TYPE_DRCP, "canceled_recipient"},
    {REC_TYPE_WARN, "warning_message_time"},
    {REC_TYPE_ATTR, "named_attribute"},
    {REC_TYPE_KILLED, "killed_recipient"},
    {REC_TYPE_RDR, "redirect_to"},
    {REC_TYPE_END, "message_end"},
    {REC_TYPE_MESG, "message_content"},
    {REC_TYPE_NORM, "regular_text"},
    {REC_TYPE_CONT, "continued_text"},
    {REC_TYPE_DTXT, "deleted_text"},
    {REC_TYPE_XTRA, "extracted_info"},
    {REC_TYPE_RRTO, "return_receipt"},
    {REC_TYPE_ERTO, "errors_to"},
    {REC_TYPE_PRIO, "priority"},
    {REC_TYPE_PTR, "pointer_record"},
    {REC_TYPE_VERP, "verp_delimiters"},
    {REC_TYPE_DSN_RET, "dsn_ret_flags"},
    {REC_TYPE_DSN_ENVID, "dsn_envelope_id"},
    {REC_TYPE_DSN_ORCPT, "dsn_orig_rcpt"},
    {REC_TYPE_DSN_NOTIFY, "dsn_notify_flags"},
};

static const char *pc_name(int type)
{
	for (size_t i = 0; i < sizeof(pc_names) / sizeof(pc_names[0]); i++)
		if (pc_names[i].type == type)
			return pc_names[i].name;
	return rec_type_name(type);
}

static _Noreturn void usage(void)
{
	msg_fatal_status(EX_USAGE, "usage: postern-cat [-c config_dir] [-e] "
				   "[-h] [-b] [-r] [-q] file|queue_id...");
}

/* What one file's display needs to remember between records. */
struct pc_state {
	const char *label;   /* "deferred/ID" or the path given */
	int show;	     /* PC_* */
	int in_header;	     /* content lines are still headers */
	struct strbuf *line; /* a content line being joined from L pieces */
};

/* A time field ("sec usec" or a fixed-width number) as a date, as
 * postcat shows it; the payload itself if it is not a time. */
static void pc_print_time(const char *name, const char *data)
{
	char *end;
	long long sec;
	time_t t;
	struct tm tm;
	char buf[64];

	errno = 0;
	sec = strtoll(data, &end, 10);
	t = (time_t)sec;
	if (errno == 0 && end != data && sec > 0 && (long long)t == sec &&
	    localtime_r(&t, &tm) != NULL &&
	    strftime(buf, sizeof(buf), "%a %b %e %H:%M:%S %Y", &tm) > 0)
		printf("%s: %s\n", name, buf);
	else
		printf("%s: %s\n", name, data);
}

static void pc_print_notify(const char *name, const char *data)
{
	static const struct {
		int bit;
		const char *word;
	} words[] = {
	    {DSN_NOTIFY_NEVER, "NEVER"},
	    {DSN_NOTIFY_SUCCESS, "SUCCESS"},
	    {DSN_NOTIFY_FAILURE, "FAILURE"},
	    {DSN_NOTIFY_DELAY, "DELAY"},
	};
	long bits = strtol(data, NULL, 10);
	const char *sep = " (";

	printf("%s: %s", name, data);
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		if (bits & words[i].bit) {
			printf("%s%s", sep, words[i].word);
			sep = ",";
		}
	}
	printf("%s\n", *sep == ',' ? ")" : "");
}

/* -r: a payload with every byte a terminal could act on escaped. */
static void pc_print_escaped(const char *data, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)data[i];

		if (c == '\\')
			fputs("\\\\", stdout);
		else if (c < 0x20 || c == 0x7f)
			printf("\\x%02x", c);
		else
			putchar(c);
	}
}

static void pc_raw(const struct queue_rec *rec)
{
	printf("%*lld %c %s: ", 8, (long long)rec->offset, rec->type,
	       pc_name(rec->type));
	pc_print_escaped(rec->data, rec->len);
	putchar('\n');
}

/* One whole content line (pieces joined). Headers end at the first
 * empty line; a body that starts without headers is all body. */
static void pc_content_line(struct pc_state *st, const char *data, size_t len)
{
	int show;

	if (st->in_header && len == 0) {
		st->in_header = 0;
		/* The separator belongs to neither part; show it only when
		 * both are shown, so each part alone pipes cleanly. */
		if ((st->show & (PC_HEADERS | PC_BODY)) ==
		    (PC_HEADERS | PC_BODY))
			putchar('\n');
		return;
	}
	show = st->show & (st->in_header ? PC_HEADERS : PC_BODY);
	if (show) {
		fwrite(data, 1, len, stdout);
		putchar('\n');
	}
}

static void pc_envelope_record(const struct queue_rec *rec)
{
	const char *name = pc_name(rec->type);

	switch (rec->type) {
	case REC_TYPE_TIME:
	case REC_TYPE_CTIME:
	case REC_TYPE_WARN:
		pc_print_time(name, rec->data);
		break;
	case REC_TYPE_DSN_NOTIFY:
		pc_print_notify(name, rec->data);
		break;
	case REC_TYPE_PTR:
		break; /* followed by the reader; -r shows them */
	default:
		/* Envelope fields never hold CR, LF or NUL: the reader
		 * refuses them, so a line is a line. */
		printf("%s: %s\n", name, rec->data);
		break;
	}
}

/* Show one record in the default (interpreted) form. */
static void pc_record(struct pc_state *st, const struct queue_rec *rec)
{
	int env = st->show & PC_ENVELOPE;

	switch (rec->type) {
	case REC_TYPE_MESG:
		if (env)
			printf("*** MESSAGE CONTENTS %s ***\n", st->label);
		return;
	case REC_TYPE_XTRA:
		if (strbuf_len(st->line) > 0) { /* L without N: show it */
			pc_content_line(st, strbuf_str(st->line),
					strbuf_len(st->line));
			strbuf_reset(st->line);
		}
		if (env)
			printf("*** HEADER EXTRACTED %s ***\n", st->label);
		return;
	case REC_TYPE_END:
		if (env)
			printf("*** MESSAGE FILE END %s ***\n", st->label);
		return;
	default:
		break;
	}
	if (rec->segment == REC_SEG_CONTENT) {
		if (rec->type == REC_TYPE_DTXT)
			return;
		/* A line may be longer than the line buffer allows: show
		 * what has been joined so far and go on, never fail. */
		if (strbuf_append(st->line, rec->data, rec->len) < 0) {
			pc_content_line(st, strbuf_str(st->line),
					strbuf_len(st->line));
			strbuf_reset(st->line);
			(void)strbuf_append(st->line, rec->data, rec->len);
		}
		if (rec->type == REC_TYPE_NORM) {
			pc_content_line(st, strbuf_str(st->line),
					strbuf_len(st->line));
			strbuf_reset(st->line);
		}
		return;
	}
	if (env)
		pc_envelope_record(rec);
}

/* The reader's reason without its "queue/id: " prefix: the label we
 * print first says which file it is. */
static const char *pc_reason(const struct strbuf *why, const char *queue,
			     const char *id)
{
	const char *text = strbuf_str(why);
	const char *colon = strstr(text, ": ");
	size_t qlen = strlen(queue);

	if (colon != NULL && strncmp(text, queue, qlen) == 0 &&
	    text[qlen] == '/' &&
	    strncmp(text + qlen + 1, id, (size_t)(colon - text) - qlen - 1) ==
		0)
		return colon + 2;
	return text;
}

/* Show the file open on fd. 0 when it was read to its end. */
static int pc_show(int fd, const char *queue, const char *id, const char *label,
		   int show, int raw)
{
	struct strbuf *why = strbuf_new(STRBUF_NO_MAX);
	struct pc_state st = {
	    .label = label,
	    .show = show,
	    .in_header = 1,
	    .line = strbuf_new(1024 * 1024),
	};
	struct queue_file *qf;
	struct queue_rec rec;
	struct stat sb;
	int status, ret = -1;

	if (fstat(fd, &sb) < 0) {
		msg_warn("%s: fstat: %m", label);
		(void)close(fd);
		goto out;
	}
	if (!S_ISREG(sb.st_mode)) {
		msg_warn("%s: not a regular file", label);
		(void)close(fd);
		goto out;
	}
	if ((sb.st_mode & S_IRWXU) != (MAIL_QUEUE_STAT_READY & S_IRWXU))
		msg_warn("%s: not marked complete (mode %04o): it may still "
			 "be being written, or was left by a crash",
			 label, (unsigned)(sb.st_mode & 07777));
	status = queue_file_fdopen(fd, queue, id, QUEUE_FILE_FLAG_ANY_MODE, &qf,
				   why);
	if (status != QUEUE_FILE_OK)
		goto fail;
	if (raw) {
		/* The reader consumed v and C already: show them from the
		 * file's start as the other records are shown. */
		const struct queue_file_size *sz = queue_file_size(qf);

		printf("%*d %c %s: %s\n", 8, 0, REC_TYPE_VERSION,
		       pc_name(REC_TYPE_VERSION), REC_VERSION_CURRENT);
		printf("%*zu %c %s: %*lld %*lld %*lld %*lld %*lld\n", 8,
		       rec_size(strlen(REC_VERSION_CURRENT)), REC_TYPE_SIZE,
		       pc_name(REC_TYPE_SIZE), REC_NUM_WIDTH,
		       (long long)sz->content_offset, REC_NUM_WIDTH,
		       (long long)sz->extracted_offset, REC_NUM_WIDTH,
		       (long long)sz->content_size, REC_NUM_WIDTH,
		       (long long)sz->rcpt_count, REC_NUM_WIDTH,
		       (long long)sz->flags);
	} else if (show & PC_ENVELOPE) {
		const struct queue_file_size *sz = queue_file_size(qf);

		printf("*** ENVELOPE RECORDS %s ***\n", label);
		printf("%s: %15lld %15lld %15lld %15lld %15lld\n",
		       pc_name(REC_TYPE_SIZE), (long long)sz->content_offset,
		       (long long)sz->extracted_offset,
		       (long long)sz->content_size, (long long)sz->rcpt_count,
		       (long long)sz->flags);
	}
	while ((status = queue_file_read(qf, &rec, why)) == QUEUE_FILE_OK &&
	       rec.type != REC_TYPE_EOF) {
		if (raw)
			pc_raw(&rec);
		else
			pc_record(&st, &rec);
	}
	(void)queue_file_close(&qf);
	if (status == QUEUE_FILE_OK) {
		ret = 0;
		goto out;
	}
fail:
	fflush(stdout);
	msg_warn("%s: %s%s", label,
		 status == QUEUE_FILE_INCOMPLETE ? "incomplete: "
		 : status == QUEUE_FILE_CORRUPT	 ? "malformed: "
						 : "",
		 pc_reason(why, queue, id));
out:
	fflush(stdout);
	strbuf_free(&st.line);
	strbuf_free(&why);
	return ret;
}

/* A file named by path. */
static int pc_path(const char *path, int show, int raw)
{
	const char *base = strrchr(path, '/');
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0) {
		msg_warn("open %s: %m", path);
		return -1;
	}
	return pc_show(fd, "file", base ? base + 1 : path, path, show, raw);
}

/* A queue ID, looked up in pc_queues. */
static int pc_queue_id(struct mail_queue *mq, const char *id, int show, int raw)
{
	struct strbuf *why = strbuf_new(STRBUF_NO_MAX);
	char label[64];
	int fd, ret = -1;

	if (!mail_queue_id_ok(id)) {
		msg_warn("%s: malformed queue ID", id);
		goto out;
	}
	for (const char *const *q = pc_queues; *q != NULL; q++) {
		strbuf_reset(why);
		fd = mail_queue_open_file(mq, *q, id, O_RDONLY, why);
		if (fd < 0) {
			if (errno == ENOENT)
				continue;
			msg_warn("%s", strbuf_str(why));
			goto out;
		}
		snprintf(label, sizeof(label), "%s/%s", *q, id);
		ret = pc_show(fd, *q, id, label, show, raw);
		goto out;
	}
	msg_warn("%s: message not found in the %s queues", id,
		 "incoming, active, deferred, hold, corrupt and maildrop");
out:
	strbuf_free(&why);
	return ret;
}

/* -q: only root and mail_owner; root becomes mail_owner first. */
static struct mail_queue *pc_open_queue(void)
{
	struct strbuf *why = strbuf_new(STRBUF_NO_MAX);
	struct mail_queue *mq;
	uid_t uid;
	gid_t gid;

	if (priv_lookup_user(var_mail_owner, &uid, &gid) < 0 && getuid() == 0)
		msg_fatal("mail_owner: unknown user %s", var_mail_owner);
	if (getuid() != 0 && getuid() != uid)
		msg_fatal_status(EX_NOPERM,
				 "only root and mail_owner (%s) may read the "
				 "mail queue",
				 var_mail_owner);
	/* Open the directory first: its parents need not be searchable by
	 * mail_owner (only what lies below the descriptor is). */
	if ((mq = mail_queue_open_main(var_queue_directory, why)) == NULL)
		msg_fatal("queue_directory %s: %s", var_queue_directory,
			  strbuf_str(why));
	if (getuid() == 0)
		priv_drop(NULL, var_mail_owner);
	strbuf_free(&why);
	return mq;
}

int main(int argc, char **argv)
{
	const char *conf_dir = NULL;
	struct mail_queue *mq = NULL;
	int show = 0, raw = 0, by_id = 0, ch, status = 0;

	msg_open("postern-cat");
	msg_set_stderr(1);
	while ((ch = getopt(argc, argv, "bc:ehoqrv")) != -1) {
		switch (ch) {
		case 'b':
			show |= PC_BODY;
			break;
		case 'c':
			conf_dir = optarg;
			break;
		case 'e':
			show |= PC_ENVELOPE;
			break;
		case 'h':
			show |= PC_HEADERS;
			break;
		case 'o': /* postcat's "offsets": -r shows them */
		case 'r':
			raw = 1;
			break;
		case 'q':
			by_id = 1;
			break;
		case 'v':
			msg_verbose++;
			break;
		default:
			usage();
		}
	}
	if (optind >= argc)
		usage();
	if (show == 0)
		show = PC_ALL;

	mail_conf_read(mail_conf_dir(conf_dir));
	if (*var_maillog_file && msg_set_output(var_maillog_file) < 0)
		msg_warn("cannot open maillog_file %s: %m", var_maillog_file);
	if (by_id)
		mq = pc_open_queue();
	for (int i = optind; i < argc; i++) {
		if ((by_id ? pc_queue_id(mq, argv[i], show, raw)
			   : pc_path(argv[i], show, raw)) < 0)
			status = 1;
	}
	if (mq != NULL)
		mail_queue_close(&mq);
	if (fflush(stdout) != 0 || ferror(stdout))
		msg_fatal("write error on standard output: %m");
	return status;
}
