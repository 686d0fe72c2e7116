/*
 * bounce_log - writing and reading the per-message status logs; see
 * bounce_log.h and doc/queue.md for the format.
 *
 * Safety argument. Values come from remote servers (a 550 reply text)
 * and from queue files; the writer turns every control character into
 * '?', so no value can end its line early, forge another field or start
 * a new record. The reader does not rely on that: it bounds every line,
 * refuses control characters, unknown and repeated names, and checks
 * numbers and status codes, so a damaged or planted log file yields a
 * refused record, never a wrong notification.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bounce_clnt.h"
#include "bounce_log.h"
#include "dsn.h"
#include "mail_queue.h"
#include "mymalloc.h"
#include "rstream.h"
#include "strbuf.h"

/* The fields in the order the writer puts them. */
enum {
	LOGF_RECIPIENT,
	LOGF_ORIG_RCPT,
	LOGF_DSN_ORCPT,
	LOGF_NOTIFY,
	LOGF_OFFSET,
	LOGF_STATUS,
	LOGF_ACTION,
	LOGF_REASON,
	LOGF_DIAG_TYPE,
	LOGF_DIAG_TEXT,
	LOGF_MTA_TYPE,
	LOGF_MTA_NAME,
	LOGF_WHEN,
	LOGF_COUNT
};
static const char *const field_names[LOGF_COUNT] = {
    "recipient", "orig_rcpt", "dsn_orcpt", "notify",	"offset",
    "status",	 "action",    "reason",	   "diag_type", "diag_text",
    "mta_type",	 "mta_name",  "when",
};
_Static_assert(LOGF_COUNT == BOUNCE_LOG_FIELDS, "field count");

static const char *const actions[] = {"failed",	 "delayed",  "delivered",
				      "relayed", "expanded", NULL};

static int action_ok(const char *action)
{
	for (int i = 0; actions[i] != NULL; i++)
		if (strcmp(actions[i], action) == 0)
			return 1;
	return 0;
}

/* name=value LF, value sanitised and cut. */
static int put_field(struct strbuf *out, int field, const char *value)
{
	size_t len = value ? strnlen(value, BOUNCE_LOG_VALUE_MAX) : 0;

	if (strbuf_puts(out, field_names[field]) < 0 ||
	    strbuf_putc(out, '=') < 0)
		return -1;
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)value[i];

		if (strbuf_putc(out, ch < 0x20 || ch == 0x7f ? '?' : ch) < 0)
			return -1;
	}
	return strbuf_putc(out, '\n');
}

int bounce_log_format(struct strbuf *out, const struct bounce_rcpt *rcpt,
		      const struct dsn *dsn, int64_t when)
{
	size_t start = strbuf_len(out);
	char num[32];
	int rc = 0;

	rc |= put_field(out, LOGF_RECIPIENT, rcpt->address);
	rc |= put_field(out, LOGF_ORIG_RCPT, rcpt->orig);
	rc |= put_field(out, LOGF_DSN_ORCPT, rcpt->dsn_orcpt);
	snprintf(num, sizeof(num), "%d", rcpt->dsn_notify);
	rc |= put_field(out, LOGF_NOTIFY, num);
	snprintf(num, sizeof(num), "%jd", (intmax_t)rcpt->offset);
	rc |= put_field(out, LOGF_OFFSET, num);
	rc |= put_field(out, LOGF_STATUS, dsn->status);
	rc |= put_field(out, LOGF_ACTION, dsn->action);
	rc |= put_field(out, LOGF_REASON, dsn->reason);
	rc |= put_field(out, LOGF_DIAG_TYPE, dsn->dtype);
	rc |= put_field(out, LOGF_DIAG_TEXT, dsn->dtext);
	rc |= put_field(out, LOGF_MTA_TYPE, dsn->mtype);
	rc |= put_field(out, LOGF_MTA_NAME, dsn->mname);
	snprintf(num, sizeof(num), "%" PRId64, when);
	rc |= put_field(out, LOGF_WHEN, num);
	rc |= strbuf_putc(out, '\n');
	if (rc != 0) {
		strbuf_truncate(out, start);
		return -1;
	}
	return 0;
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		/* UNSAFE: 0 < n <= len. */
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Open queue/id for appending, creating it (and its hashed directory)
 * when missing. *created says whether its directory entry is new. */
static int log_open_append(struct mail_queue *mq, const char *queue,
			   const char *id, int *created, struct strbuf *why)
{
	struct strbuf *path = strbuf_new(STRBUF_NO_MAX);
	int fd = -1, tries;
	struct stat st;

	*created = 0;
	if (mail_queue_path(mq, path, queue, id, why) < 0)
		goto out;
	for (tries = 0; fd < 0 && tries < 3; tries++) {
		fd = openat(mail_queue_dirfd(mq), strbuf_str(path),
			    O_RDWR | O_APPEND | O_NOFOLLOW | O_CLOEXEC);
		if (fd >= 0 || errno != ENOENT)
			break;
		if (mail_queue_make_dir(mq, queue, id, why) < 0)
			goto out;
		fd = openat(mail_queue_dirfd(mq), strbuf_str(path),
			    O_RDWR | O_APPEND | O_CREAT | O_EXCL | O_NOFOLLOW |
				O_CLOEXEC,
			    0600);
		if (fd >= 0)
			*created = 1;
		else if (errno != EEXIST)
			break;
	}
	if (fd < 0) {
		strbuf_why(why, "open %s: %s", strbuf_str(path),
			   strerror(errno));
		goto out;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_nlink != 1) {
		/* Someone else's file under our name: never write to it. */
		strbuf_why(why, "%s: not a regular file with one link",
			   strbuf_str(path));
		(void)close(fd);
		fd = -1;
	}
out:
	strbuf_free(&path);
	return fd;
}

int bounce_log_append(struct mail_queue *mq, const char *queue, const char *id,
		      const struct bounce_rcpt *rcpt, const struct dsn *dsn,
		      int64_t when, struct strbuf *why)
{
	struct strbuf *rec = strbuf_new(STRBUF_NO_MAX);
	struct stat st;
	int fd, created, ret = -1;

	/* What the reader would refuse is never written. */
	if (rcpt->address == NULL || *rcpt->address == 0 || !dsn_ok(dsn) ||
	    !action_ok(dsn->action)) {
		strbuf_free(&rec);
		return strbuf_why(why, "malformed status record");
	}
	if ((fd = log_open_append(mq, queue, id, &created, why)) < 0) {
		strbuf_free(&rec);
		return -1;
	}
	/* The lock makes the check of the tail and the append one step
	 * against another bounce process appending to the same log. */
	if (flock(fd, LOCK_EX) < 0) {
		strbuf_why(why, "lock %s/%s: %s", queue, id, strerror(errno));
		goto out;
	}
	if (fstat(fd, &st) < 0) {
		strbuf_why(why, "fstat %s/%s: %s", queue, id, strerror(errno));
		goto out;
	}
	/* A record cut short by a crash is closed first, so that it cannot
	 * swallow the fields of the record appended now. */
	if (st.st_size > 0) {
		char tail[2] = {0, 0};
		size_t n = st.st_size >= 2 ? 2 : 1;

		if (pread(fd, tail, n, st.st_size - (off_t)n) != (ssize_t)n) {
			strbuf_why(why, "read %s/%s: %s", queue, id,
				   strerror(errno));
			goto out;
		}
		if (tail[n - 1] != '\n')
			(void)strbuf_puts(rec, "\n\n");
		else if (n == 1 || tail[0] != '\n')
			(void)strbuf_puts(rec, "\n");
	}
	if (bounce_log_format(rec, rcpt, dsn, when) < 0) {
		strbuf_why(why, "status record too large");
		goto out;
	}
	if (write_all(fd, strbuf_str(rec), strbuf_len(rec)) < 0) {
		strbuf_why(why, "write %s/%s: %s", queue, id, strerror(errno));
		goto out;
	}
	/* The client is told "done" only when the record is durable (and a
	 * new log's name with it): it then marks the recipient done. */
	if (fsync(fd) < 0) {
		strbuf_why(why, "fsync %s/%s: %s", queue, id, strerror(errno));
		goto out;
	}
	if (created && mail_queue_sync_dir(mq, queue, id, why) < 0)
		goto out;
	ret = 0;
out:
	(void)close(fd); /* releases the lock */
	strbuf_free(&rec);
	return ret;
}

int bounce_log_remove(struct mail_queue *mq, const char *queue, const char *id,
		      struct strbuf *why)
{
	if (mail_queue_remove(mq, queue, id, why) < 0 && errno != ENOENT)
		return -1;
	return 0;
}

void bounce_log_entry_free(struct bounce_log_entry *ent)
{
	myfree(ent->recipient);
	myfree(ent->orig_rcpt);
	myfree(ent->dsn_orcpt);
	myfree(ent->status);
	myfree(ent->action);
	myfree(ent->reason);
	myfree(ent->diag_type);
	myfree(ent->diag_text);
	myfree(ent->mta_type);
	myfree(ent->mta_name);
	memset(ent, 0, sizeof(*ent));
}

/* A decimal number in [min, max], nothing else. */
static int parse_num(const char *s, long long min, long long max,
		     long long *out)
{
	char *end;
	long long v;

	if (*s == 0 || strlen(s) > 20 || (*s != '-' && (*s < '0' || *s > '9')))
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != 0 || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int bounce_log_parse(const char *text, size_t len, struct bounce_log_entry *ent,
		     struct strbuf *why)
{
	char *val[LOGF_COUNT] = {0};
	size_t pos = 0;
	long long num;
	int ret = -1, i;

	memset(ent, 0, sizeof(*ent));
	while (pos < len) {
		const char *line = text + pos;
		const char *nl = memchr(line, '\n', len - pos);
		const char *eq;
		size_t llen, nlen;
		int field = -1;

		if (nl == NULL) {
			strbuf_why(why, "line without newline");
			goto out;
		}
		/* UNSAFE: line <= nl < text + len. */
		llen = (size_t)(nl - line);
		pos += llen + 1;
		if (llen > BOUNCE_LOG_LINE_MAX) {
			strbuf_why(why, "line too long");
			goto out;
		}
		for (size_t k = 0; k < llen; k++) {
			unsigned char ch = (unsigned char)line[k];

			if (ch < 0x20 || ch == 0x7f) {
				strbuf_why(why, "control character in line");
				goto out;
			}
		}
		if ((eq = memchr(line, '=', llen)) == NULL) {
			strbuf_why(why, "line without '='");
			goto out;
		}
		nlen = (size_t)(eq - line);
		for (i = 0; i < LOGF_COUNT; i++)
			if (strlen(field_names[i]) == nlen &&
			    memcmp(field_names[i], line, nlen) == 0)
				field = i;
		if (field < 0) {
			strbuf_why(why, "unknown field \"%.*s\"",
				   (int)(nlen > 32 ? 32 : nlen), line);
			goto out;
		}
		if (val[field] != NULL) {
			strbuf_why(why, "repeated field %s",
				   field_names[field]);
			goto out;
		}
		val[field] = mystrndup(eq + 1, llen - nlen - 1);
	}
	if (val[LOGF_RECIPIENT] == NULL || *val[LOGF_RECIPIENT] == 0 ||
	    val[LOGF_STATUS] == NULL || val[LOGF_ACTION] == NULL ||
	    val[LOGF_REASON] == NULL || val[LOGF_WHEN] == NULL) {
		strbuf_why(why, "record without recipient, status, action, "
				"reason or when");
		goto out;
	}
	if (!dsn_status_ok(val[LOGF_STATUS])) {
		strbuf_why(why, "malformed status \"%.16s\"", val[LOGF_STATUS]);
		goto out;
	}
	if (!action_ok(val[LOGF_ACTION])) {
		strbuf_why(why, "unknown action \"%.16s\"", val[LOGF_ACTION]);
		goto out;
	}
	if (parse_num(val[LOGF_WHEN], 0, INT64_MAX, &num) < 0) {
		strbuf_why(why, "malformed when");
		goto out;
	}
	ent->when = num;
	ent->notify = 0;
	if (val[LOGF_NOTIFY] != NULL) {
		if (parse_num(val[LOGF_NOTIFY], 0, 0xff, &num) < 0) {
			strbuf_why(why, "malformed notify");
			goto out;
		}
		ent->notify = (int)num;
	}
	if (val[LOGF_OFFSET] != NULL) {
		if (parse_num(val[LOGF_OFFSET], 0, INT64_MAX, &num) < 0) {
			strbuf_why(why, "malformed offset");
			goto out;
		}
		ent->offset = (off_t)num;
	}
#define TAKE(f) (val[f] != NULL ? val[f] : mystrdup(""))
	ent->recipient = TAKE(LOGF_RECIPIENT);
	ent->orig_rcpt = TAKE(LOGF_ORIG_RCPT);
	ent->dsn_orcpt = TAKE(LOGF_DSN_ORCPT);
	ent->status = TAKE(LOGF_STATUS);
	ent->action = TAKE(LOGF_ACTION);
	ent->reason = TAKE(LOGF_REASON);
	ent->diag_type = TAKE(LOGF_DIAG_TYPE);
	ent->diag_text = TAKE(LOGF_DIAG_TEXT);
	ent->mta_type = TAKE(LOGF_MTA_TYPE);
	ent->mta_name = TAKE(LOGF_MTA_NAME);
#undef TAKE
	/* The strings now belong to ent; the numbers were parsed above. */
	myfree(val[LOGF_NOTIFY]);
	myfree(val[LOGF_OFFSET]);
	myfree(val[LOGF_WHEN]);
	return 0;
out:
	for (i = 0; i < LOGF_COUNT; i++)
		myfree(val[i]);
	return ret;
}

struct bounce_log {
	struct rstream *in;
	struct strbuf *rec; /* the lines of the record being read */
	struct strbuf *line;
	int eof;
};

struct bounce_log *bounce_log_fdopen(int fd)
{
	struct bounce_log *bl = mymalloc(sizeof(*bl));

	bl->in = rstream_fdopen(fd, RSTREAM_BUFSIZE);
	bl->rec = strbuf_new(STRBUF_NO_MAX);
	bl->line = strbuf_new(STRBUF_NO_MAX);
	bl->eof = 0;
	return bl;
}

int bounce_log_open(struct mail_queue *mq, const char *queue, const char *id,
		    struct bounce_log **blp, struct strbuf *why)
{
	int fd = mail_queue_open_file(mq, queue, id, O_RDONLY, why);

	if (fd < 0)
		return -1;
	*blp = bounce_log_fdopen(fd);
	return 0;
}

void bounce_log_close(struct bounce_log **blp)
{
	struct bounce_log *bl = *blp;

	if (bl == NULL)
		return;
	(void)rstream_close(&bl->in);
	strbuf_free(&bl->rec);
	strbuf_free(&bl->line);
	myfree(*blp);
}

/* One line into bl->line (without LF). 1, 0 at end of file, -1 too long
 * (the rest of the line is skipped), -2 I/O error. */
static int read_line(struct bounce_log *bl)
{
	int ch, toolong = 0;

	strbuf_reset(bl->line);
	for (;;) {
		ch = rstream_getc(bl->in);
		if (ch == RSTREAM_EOF) {
			if (rstream_error(bl->in))
				return -2;
			bl->eof = 1;
			if (strbuf_len(bl->line) == 0 && !toolong)
				return 0;
			return toolong ? -1 : 1;
		}
		if (ch == '\n')
			return toolong ? -1 : 1;
		if (strbuf_len(bl->line) >= BOUNCE_LOG_LINE_MAX)
			toolong = 1;
		else
			(void)strbuf_putc(bl->line, ch);
	}
}

int bounce_log_read(struct bounce_log *bl, struct bounce_log_entry *ent,
		    struct strbuf *why)
{
	int bad = 0, rc, lines = 0;

	memset(ent, 0, sizeof(*ent));
	strbuf_reset(bl->rec);
	for (;;) {
		if (bl->eof && lines == 0)
			return 0;
		rc = read_line(bl);
		if (rc == -2)
			return strbuf_why(why, "read error: %s",
					  strerror(rstream_error(bl->in))),
			       -2;
		if (rc == 0 && lines == 0)
			return 0;
		if (rc == 0 || (rc == 1 && strbuf_len(bl->line) == 0)) {
			if (lines == 0)
				continue; /* extra empty lines between records
					   */
			break;
		}
		lines++;
		if (rc < 0 || lines > BOUNCE_LOG_FIELDS) {
			if (!bad)
				strbuf_why(why, rc < 0 ? "line too long"
						       : "too many lines");
			bad = 1;
			continue;
		}
		if (!bad && (strbuf_append(bl->rec, strbuf_str(bl->line),
					   strbuf_len(bl->line)) < 0 ||
			     strbuf_putc(bl->rec, '\n') < 0)) {
			strbuf_why(why, "record too large");
			bad = 1;
		}
		if (bl->eof)
			break;
	}
	if (bad)
		return -1;
	if (bounce_log_parse(strbuf_str(bl->rec), strbuf_len(bl->rec), ent,
			     why) < 0)
		return -1;
	return 1;
}
