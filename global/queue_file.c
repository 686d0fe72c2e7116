/*
 * queue_file - writing, committing and reading one queue file; see
 * queue_file.h, and doc/queue.md for the format and the crash states.
 *
 * The commit order is the safety argument, step by step:
 *  1. all records, ending with E, are flushed to the kernel;
 *  2. the size record is rewritten in place (same length, fixed width);
 *  3. fchmod 0700 marks the file complete;
 *  4. fsync(file) makes data, size record and mark durable;
 *  5. fsync(directory) makes the file's name durable (Postfix skips this;
 *     on XFS or ext4 data=writeback the entry could otherwise vanish);
 *  6. close() is checked, because some file systems report late errors.
 * Only then does commit return 0 and the caller answer "queued". The
 * mark may reach the disk before the data (step 3 before 4); a reader
 * therefore trusts the mark only together with a file that parses to its
 * E record, and a file that does not is never delivered.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mail_queue.h"
#include "msg.h"
#include "mymalloc.h"
#include "queue_file.h"
#include "record.h"
#include "rstream.h"
#include "strbuf.h"

/* C record: five REC_NUM_WIDTH fields separated by one space. */
#define QF_SIZE_FIELDS 5
#define QF_SIZE_LEN (QF_SIZE_FIELDS * (REC_NUM_WIDTH + 1) - 1)
#define QF_ATTR_NAME_MAX 64

struct queue_file {
	struct mail_queue *mq;
	char queue[16];
	char id[MAIL_QUEUE_ID_MAX + 1];
	int fd;
	struct rstream *stream;
	int writing;	  /* created by queue_file_create */
	int flags;	  /* QUEUE_FILE_FLAG_* (reader) */
	unsigned segment; /* the segment being written or read */
	int have_time;
	int have_sender;
	struct queue_file_size size;
	off_t size_offset; /* where the C record is */
	/* writer */
	int failed;	      /* a write failed: the file is lost */
	struct strbuf *error; /* why it failed */
	size_t line_limit;
	/* reader */
	off_t file_size;
	off_t consumed;	  /* record bytes read: bounds pointer loops */
	int ended;	  /* E was returned */
	int size_pending; /* C is still the placeholder: not committed */
	struct strbuf *data;
};

static struct queue_file *qf_alloc(struct mail_queue *mq, const char *queue)
{
	struct queue_file *qf = mycalloc(1, sizeof(*qf));

	qf->mq = mq;
	if (strlen(queue) >= sizeof(qf->queue))
		msg_panic("queue_file: queue name too long");
	strcpy(qf->queue, queue);
	qf->fd = -1;
	qf->segment = REC_SEG_ENVELOPE;
	qf->line_limit = REC_LINE_MAX;
	qf->error = strbuf_new(STRBUF_NO_MAX);
	qf->data = strbuf_new(REC_ATTR_MAX);
	return qf;
}

static void qf_free(struct queue_file **qfp)
{
	struct queue_file *qf = *qfp;

	strbuf_free(&qf->error);
	strbuf_free(&qf->data);
	myfree(*qfp);
}

/* --- writing --- */

/* A write failed: the file can no longer become a message. */
static int __attribute__((format(printf, 3, 4)))
qf_write_fail(struct queue_file *qf, struct strbuf *why, const char *fmt, ...)
{
	va_list ap;

	if (!qf->failed) {
		qf->failed = 1;
		va_start(ap, fmt);
		(void)strbuf_vprintf(qf->error, fmt, ap);
		va_end(ap);
	}
	return strbuf_why(why, "%s", strbuf_str(qf->error));
}

static int qf_put_raw(struct queue_file *qf, int type, const void *data,
		      size_t len, struct strbuf *why)
{
	if (rec_put(qf->stream, type, data, len) < 0)
		return qf_write_fail(qf, why, "%s/%s: write: %s", qf->queue,
				     qf->id, strerror(errno));
	return 0;
}

static void qf_check_writer(const struct queue_file *qf, const char *fn)
{
	if (!qf->writing)
		msg_panic("%s: %s was opened for reading", fn, qf->id);
}

/* Validate one record for the current segment without writing it. */
static int qf_check_put(struct queue_file *qf, int type, const void *data,
			size_t len, struct strbuf *why)
{
	const struct rec_type_info *info = rec_type_info(type);

	if (qf->failed)
		return strbuf_why(why, "%s", strbuf_str(qf->error));
	if (info == NULL)
		return strbuf_why(why, "unknown record type 0x%02x", type & 0xff);
	switch (type) {
	case REC_TYPE_VERSION:
	case REC_TYPE_SIZE:
	case REC_TYPE_PTR:
	case REC_TYPE_DTXT:
	case REC_TYPE_MESG:
	case REC_TYPE_XTRA:
	case REC_TYPE_END:
		return strbuf_why(why, "%s record: written by queue_file only",
			       info->name);
	default:
		break;
	}
	if ((info->segments & qf->segment) == 0)
		return strbuf_why(why, "%s record not allowed in the %s segment",
			       info->name, rec_segment_name(qf->segment));
	if (len > info->max_len)
		return strbuf_why(why, "%s record: %zu bytes, limit %zu",
			       info->name, len, info->max_len);
	/* A CR or LF in an envelope field becomes a header or an SMTP
	 * command when it is copied out later; a NUL truncates it. */
	if (qf->segment != REC_SEG_CONTENT && len > 0 &&
	    (memchr(data, '\r', len) || memchr(data, '\n', len) ||
	     memchr(data, 0, len)))
		return strbuf_why(why, "%s record: contains CR, LF or NUL",
			       info->name);
	if ((type == REC_TYPE_TIME && qf->have_time) ||
	    (type == REC_TYPE_FROM && qf->have_sender))
		return strbuf_why(why, "%s record: given twice", info->name);
	return 0;
}

int queue_file_put(struct queue_file *qf, int type, const void *data,
		   size_t len, struct strbuf *why)
{
	qf_check_writer(qf, "queue_file_put");
	if (qf_check_put(qf, type, data, len, why) < 0 ||
	    qf_put_raw(qf, type, data, len, why) < 0)
		return -1;
	if (type == REC_TYPE_TIME)
		qf->have_time = 1;
	else if (type == REC_TYPE_FROM)
		qf->have_sender = 1;
	else if (type == REC_TYPE_RCPT)
		qf->size.rcpt_count++;
	else if (type == REC_TYPE_NORM)
		qf->size.content_size += (off_t)len + 1;
	else if (type == REC_TYPE_CONT)
		qf->size.content_size += (off_t)len;
	return 0;
}

int queue_file_create(struct mail_queue *mq, const char *queue,
		      struct queue_file **qfp, struct strbuf *why)
{
	struct strbuf *id = strbuf_new(MAIL_QUEUE_ID_MAX);
	struct queue_file *qf;
	int fd;

	*qfp = NULL;
	if (mail_queue_enter(mq, queue, MAIL_QUEUE_STAT_WRITING, id, &fd, why) <
	    0) {
		strbuf_free(&id);
		return -1;
	}
	qf = qf_alloc(mq, queue);
	strcpy(qf->id, strbuf_str(id)); /* the strbuf's max is the array's */
	strbuf_free(&id);
	qf->fd = fd;
	qf->writing = 1;
	qf->stream = rstream_fdopen(fd, 0);
	qf->size_offset = (off_t)rec_size(strlen(REC_VERSION_CURRENT));
	if (qf_put_raw(qf, REC_TYPE_VERSION, REC_VERSION_CURRENT,
		       strlen(REC_VERSION_CURRENT), why) < 0 ||
	    rec_printf(qf->stream, REC_TYPE_SIZE, "%*d %*d %*d %*d %*d",
		       REC_NUM_WIDTH, 0, REC_NUM_WIDTH, 0, REC_NUM_WIDTH, 0,
		       REC_NUM_WIDTH, 0, REC_NUM_WIDTH, 0) < 0) {
		strbuf_why(why, "%s/%s: write: %s", queue, qf->id,
			strerror(errno));
		queue_file_abort(&qf);
		return -1;
	}
	*qfp = qf;
	return 0;
}

const char *queue_file_id(const struct queue_file *qf)
{
	return qf->id;
}

void queue_file_set_line_limit(struct queue_file *qf, size_t limit)
{
	qf->line_limit =
	    limit == 0 || limit > REC_LINE_MAX ? REC_LINE_MAX : limit;
}

int queue_file_set_flags(struct queue_file *qf, int flags)
{
	qf_check_writer(qf, "queue_file_set_flags");
	if ((flags & ~QUEUE_SIZE_FLAG_MASK) != 0)
		return -1;
	qf->size.flags |= flags;
	return 0;
}

int queue_file_time(struct queue_file *qf, int64_t sec, long usec,
		    struct strbuf *why)
{
	char buf[64];
	int n;

	if (sec < 0 || usec < 0 || usec >= 1000000)
		return strbuf_why(why, "arrival time out of range");
	n = snprintf(buf, sizeof(buf), "%lld %ld", (long long)sec, usec);
	return queue_file_put(qf, REC_TYPE_TIME, buf, (size_t)n, why);
}

/* The W payload is fixed width so queue_file_set_warn can rewrite it in
 * place without moving a byte, like the size record. */
#define QF_WARN_WIDTH 15

int queue_file_warn(struct queue_file *qf, int64_t when, struct strbuf *why)
{
	char buf[QF_WARN_WIDTH + 1];

	if (when < 0 || when > 999999999999999LL)
		return strbuf_why(why, "warning time out of range");
	snprintf(buf, sizeof(buf), "%0*lld", QF_WARN_WIDTH, (long long)when);
	return queue_file_put(qf, REC_TYPE_WARN, buf, QF_WARN_WIDTH, why);
}

int queue_file_set_warn(struct queue_file *qf, off_t offset, int64_t when,
			struct strbuf *why)
{
	char head[2], buf[QF_WARN_WIDTH + 1];

	if ((qf->flags & QUEUE_FILE_FLAG_RDWR) == 0)
		msg_panic("queue_file_set_warn: %s opened read-only", qf->id);
	if (when < 0 || when > 999999999999999LL)
		return strbuf_why(why, "warning time out of range");
	/* Check first: a wrong offset must not corrupt another record. A
	 * 15-byte payload has a one-byte length. */
	if (offset <= 0 || pread(qf->fd, head, 2, offset) != 2 ||
	    head[0] != REC_TYPE_WARN || head[1] != QF_WARN_WIDTH)
		return strbuf_why(why,
				  "%s/%s: no warning time record at offset %lld",
				  qf->queue, qf->id, (long long)offset);
	snprintf(buf, sizeof(buf), "%0*lld", QF_WARN_WIDTH, (long long)when);
	if (pwrite(qf->fd, buf, QF_WARN_WIDTH, offset + 2) != QF_WARN_WIDTH ||
	    fsync(qf->fd) < 0)
		return strbuf_why(why, "%s/%s: rewrite warning time: %s",
				  qf->queue, qf->id, strerror(errno));
	return 0;
}

int queue_file_sender(struct queue_file *qf, const char *sender,
		      struct strbuf *why)
{
	return queue_file_put(qf, REC_TYPE_FROM, sender, strlen(sender), why);
}

int queue_file_attr(struct queue_file *qf, const char *name, const char *value,
		    struct strbuf *why)
{
	size_t nlen = strlen(name);
	struct strbuf *buf;
	int ret;

	if (nlen == 0 || nlen > QF_ATTR_NAME_MAX ||
	    strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_") != nlen)
		return strbuf_why(why,
			       "attribute name must be [a-z0-9_]+, at "
			       "most %d bytes",
			       QF_ATTR_NAME_MAX);
	buf = strbuf_new(REC_ATTR_MAX);
	if (strbuf_puts(buf, name) < 0 || strbuf_putc(buf, '=') < 0 ||
	    strbuf_puts(buf, value) < 0)
		ret = strbuf_why(why, "attribute %s: value too long", name);
	else
		ret = queue_file_put(qf, REC_TYPE_ATTR, strbuf_str(buf),
				     strbuf_len(buf), why);
	strbuf_free(&buf);
	return ret;
}

int queue_file_rcpt(struct queue_file *qf, const struct queue_rcpt *rcpt,
		    struct strbuf *why)
{
	char notify[32];
	size_t nlen = 0;

	qf_check_writer(qf, "queue_file_rcpt");
	if (rcpt->address == NULL)
		return strbuf_why(why, "recipient without an address");
	if (rcpt->dsn_notify < 0)
		return strbuf_why(why, "bad DSN NOTIFY mask");
	if (rcpt->dsn_notify)
		nlen = (size_t)snprintf(notify, sizeof(notify), "%d",
					rcpt->dsn_notify);
	/* Check every field first: a refused recipient leaves no record. */
	if ((rcpt->dsn_orcpt &&
	     qf_check_put(qf, REC_TYPE_DSN_ORCPT, rcpt->dsn_orcpt,
			  strlen(rcpt->dsn_orcpt), why) < 0) ||
	    (rcpt->orig && qf_check_put(qf, REC_TYPE_ORCP, rcpt->orig,
					strlen(rcpt->orig), why) < 0) ||
	    qf_check_put(qf, REC_TYPE_RCPT, rcpt->address,
			 strlen(rcpt->address), why) < 0)
		return -1;
	if ((rcpt->dsn_orcpt &&
	     queue_file_put(qf, REC_TYPE_DSN_ORCPT, rcpt->dsn_orcpt,
			    strlen(rcpt->dsn_orcpt), why) < 0) ||
	    (nlen &&
	     queue_file_put(qf, REC_TYPE_DSN_NOTIFY, notify, nlen, why) < 0) ||
	    (rcpt->orig && queue_file_put(qf, REC_TYPE_ORCP, rcpt->orig,
					  strlen(rcpt->orig), why) < 0) ||
	    queue_file_put(qf, REC_TYPE_RCPT, rcpt->address,
			   strlen(rcpt->address), why) < 0)
		return -1;
	return 0;
}

int queue_file_content(struct queue_file *qf, struct strbuf *why)
{
	qf_check_writer(qf, "queue_file_content");
	if (qf->failed)
		return strbuf_why(why, "%s", strbuf_str(qf->error));
	if (qf->segment != REC_SEG_ENVELOPE)
		return strbuf_why(why, "content already started");
	qf->size.content_offset = rstream_tell(qf->stream);
	if (qf_put_raw(qf, REC_TYPE_MESG, NULL, 0, why) < 0)
		return -1;
	qf->segment = REC_SEG_CONTENT;
	return 0;
}

int queue_file_line(struct queue_file *qf, const char *line, size_t len,
		    struct strbuf *why)
{
	size_t piece;

	qf_check_writer(qf, "queue_file_line");
	if (qf->failed)
		return strbuf_why(why, "%s", strbuf_str(qf->error));
	if (qf->segment != REC_SEG_CONTENT)
		return strbuf_why(why, "content line outside the content segment");
	qf->size.content_size += (off_t)len + 1;
	while (len > qf->line_limit) {
		piece = qf->line_limit;
		if (qf_put_raw(qf, REC_TYPE_CONT, line, piece, why) < 0)
			return -1;
		/* UNSAFE: piece < len, so line + piece stays in the line. */
		line += piece;
		len -= piece;
	}
	return qf_put_raw(qf, REC_TYPE_NORM, line, len, why);
}

int queue_file_extracted(struct queue_file *qf, struct strbuf *why)
{
	qf_check_writer(qf, "queue_file_extracted");
	if (qf->segment == REC_SEG_ENVELOPE && queue_file_content(qf, why) < 0)
		return -1;
	if (qf->failed)
		return strbuf_why(why, "%s", strbuf_str(qf->error));
	if (qf->segment != REC_SEG_CONTENT)
		return strbuf_why(why, "extracted segment already started");
	qf->size.extracted_offset = rstream_tell(qf->stream);
	if (qf_put_raw(qf, REC_TYPE_XTRA, NULL, 0, why) < 0)
		return -1;
	qf->segment = REC_SEG_EXTRACTED;
	return 0;
}

int queue_file_requeue(struct queue_file *qf, const char *queue,
		       struct strbuf *why)
{
	qf_check_writer(qf, "queue_file_requeue");
	if (qf->failed)
		return strbuf_why(why, "%s", strbuf_str(qf->error));
	if (strcmp(queue, qf->queue) == 0)
		return 0;
	if (strlen(queue) >= sizeof(qf->queue) || !mail_queue_name_ok(queue))
		return strbuf_why(why, "bad queue name \"%s\"", queue);
	/* Still mode 0600: no reader takes it in either queue until the
	 * commit marks it, and the commit then syncs the new directory. */
	if (mail_queue_rename(qf->mq, qf->queue, queue, qf->id, why) < 0)
		return qf_write_fail(qf, NULL, "%s", strbuf_str(why));
	strcpy(qf->queue, queue);
	return 0;
}

/* Remove and free a file being written; the reason is the caller's. */
static void qf_discard(struct queue_file *qf)
{
	struct strbuf *ignored = strbuf_new(STRBUF_NO_MAX);

	if (mail_queue_remove(qf->mq, qf->queue, qf->id, ignored) < 0)
		msg_warn("%s", strbuf_str(ignored));
	strbuf_free(&ignored);
	rstream_release(&qf->stream);
	if (qf->fd >= 0)
		(void)close(qf->fd);
	qf_free(&qf);
}

void queue_file_abort(struct queue_file **qfp)
{
	if (*qfp == NULL)
		return;
	qf_check_writer(*qfp, "queue_file_abort");
	qf_discard(*qfp);
	*qfp = NULL;
}

int queue_file_commit(struct queue_file **qfp, struct strbuf *why)
{
	struct queue_file *qf = *qfp;
	const struct queue_file_size *sz = &qf->size;
	const char *step;

	*qfp = NULL;
	qf_check_writer(qf, "queue_file_commit");
	if (qf->failed) {
		strbuf_why(why, "%s", strbuf_str(qf->error));
		goto discard;
	}
	if (!qf->have_time || !qf->have_sender) {
		strbuf_why(why, "%s/%s: no %s record", qf->queue, qf->id,
			qf->have_time ? "sender" : "arrival time");
		goto discard;
	}
	if (qf->segment != REC_SEG_EXTRACTED &&
	    queue_file_extracted(qf, why) < 0)
		goto discard;
	step = "write";
	if (rec_put(qf->stream, REC_TYPE_END, NULL, 0) < 0 ||
	    rstream_flush(qf->stream) < 0)
		goto sys_fail;
	/* Same width as the placeholder: the rewrite cannot move a byte. */
	step = "rewrite size record";
	if (rstream_seek(qf->stream, qf->size_offset) < 0 ||
	    rec_printf(qf->stream, REC_TYPE_SIZE,
		       "%*lld %*lld %*lld %*lld %*lld", REC_NUM_WIDTH,
		       (long long)sz->content_offset, REC_NUM_WIDTH,
		       (long long)sz->extracted_offset, REC_NUM_WIDTH,
		       (long long)sz->content_size, REC_NUM_WIDTH,
		       (long long)sz->rcpt_count, REC_NUM_WIDTH,
		       (long long)sz->flags) < 0 ||
	    rstream_flush(qf->stream) < 0)
		goto sys_fail;
	step = "mark complete";
	if (fchmod(qf->fd, strcmp(qf->queue, MAIL_QUEUE_MAILDROP) == 0
			       ? MAIL_QUEUE_STAT_MAILDROP_READY
			       : MAIL_QUEUE_STAT_READY) < 0)
		goto sys_fail;
	step = "fsync";
	if (fsync(qf->fd) < 0)
		goto sys_fail;
	if (mail_queue_sync_dir(qf->mq, qf->queue, qf->id, why) < 0)
		goto discard;
	step = "close";
	qf->fd = -1; /* rstream_close closes it, even on error */
	if (rstream_close(&qf->stream) < 0)
		goto sys_fail;
	qf_free(&qf);
	return 0;

sys_fail:
	strbuf_why(why, "%s/%s: %s: %s", qf->queue, qf->id, step, strerror(errno));
discard:
	qf_discard(qf);
	return -1;
}

/* --- reading --- */

/* Read one record, following pointer records. Returns a status. */
static int qf_read_raw(struct queue_file *qf, int *type, off_t *offset,
		       struct strbuf *why)
{
	struct stat st;
	off_t target;

	for (;;) {
		*offset = rstream_tell(qf->stream);
		if (rec_get(qf->stream, type, qf->data, REC_ATTR_MAX,
			    REC_FLAG_NONE, why) < 0) {
			if (rstream_error(qf->stream))
				return QUEUE_FILE_ERROR;
			/* Failing at the end of the file means it was cut
			 * short; anywhere else the bytes are wrong. */
			return rstream_tell(qf->stream) >= qf->file_size
				   ? QUEUE_FILE_INCOMPLETE
				   : QUEUE_FILE_CORRUPT;
		}
		if (*type == REC_TYPE_EOF) {
			strbuf_why(why,
				"%s/%s: ends before the end record (at "
				"offset %lld)",
				qf->queue, qf->id, (long long)*offset);
			return QUEUE_FILE_INCOMPLETE;
		}
		/* In a file without pointer loops no byte is read twice. */
		qf->consumed += rstream_tell(qf->stream) - *offset;
		if (qf->consumed > qf->file_size && fstat(qf->fd, &st) == 0)
			qf->file_size = st.st_size;
		if (qf->consumed > qf->file_size) {
			strbuf_why(why, "%s/%s: pointer records loop", qf->queue,
				qf->id);
			return QUEUE_FILE_CORRUPT;
		}
		if (*type != REC_TYPE_PTR)
			return QUEUE_FILE_OK;
		if (rec_num_parse(strbuf_str(qf->data), strbuf_len(qf->data),
				  &target) < 0 ||
		    target >= qf->file_size) {
			strbuf_why(why, "%s/%s: bad pointer record at offset %lld",
				qf->queue, qf->id, (long long)*offset);
			return QUEUE_FILE_CORRUPT;
		}
		if (target != 0 && rstream_seek(qf->stream, target) < 0) {
			strbuf_why(why, "%s/%s: seek: %s", qf->queue, qf->id,
				strerror(errno));
			return QUEUE_FILE_ERROR;
		}
	}
}

/* Parse the C record payload into qf->size. */
static int qf_parse_size(struct queue_file *qf)
{
	const char *p = strbuf_str(qf->data);
	off_t *fields[QF_SIZE_FIELDS] = {
	    &qf->size.content_offset, &qf->size.extracted_offset,
	    &qf->size.content_size,   &qf->size.rcpt_count,
	    &qf->size.flags,
	};
	int i;

	if (strbuf_len(qf->data) != QF_SIZE_LEN)
		return -1;
	for (i = 0; i < QF_SIZE_FIELDS; i++) {
		/* UNSAFE: i * (WIDTH + 1) + WIDTH <= QF_SIZE_LEN, checked. */
		if (rec_num_parse(p + i * (REC_NUM_WIDTH + 1), REC_NUM_WIDTH,
				  fields[i]) < 0)
			return -1;
		if (i + 1 < QF_SIZE_FIELDS &&
		    p[(i + 1) * (REC_NUM_WIDTH + 1) - 1] != ' ')
			return -1;
	}
	/* M cannot be at offset 0: zero means commit never rewrote it. */
	qf->size_pending = qf->size.content_offset == 0;
	return 0;
}

int queue_file_open(struct mail_queue *mq, const char *queue, const char *id,
		    int flags, struct queue_file **qfp, struct strbuf *why)
{
	int fd, status;

	*qfp = NULL;
	fd = mail_queue_open_file(
	    mq, queue, id, flags & QUEUE_FILE_FLAG_RDWR ? O_RDWR : O_RDONLY,
	    why);
	if (fd < 0)
		return QUEUE_FILE_ERROR;
	status = queue_file_fdopen(fd, queue, id, flags, qfp, why);
	if (*qfp != NULL)
		(*qfp)->mq = mq;
	return status;
}

int queue_file_fdopen(int fd, const char *queue, const char *id, int flags,
		      struct queue_file **qfp, struct strbuf *why)
{
	struct queue_file *qf;
	struct stat st;
	off_t offset;
	int type, status;
	char qlabel[sizeof(qf->queue)], idlabel[sizeof(qf->id)];

	*qfp = NULL;
	/* The names only label messages: cut them to fit, never overflow. */
	snprintf(qlabel, sizeof(qlabel), "%s", queue);
	snprintf(idlabel, sizeof(idlabel), "%s", id);
	queue = qlabel;
	id = idlabel;
	if (fstat(fd, &st) < 0) {
		strbuf_why(why, "%s/%s: fstat: %s", queue, id, strerror(errno));
		(void)close(fd);
		return QUEUE_FILE_ERROR;
	}
	if ((flags & QUEUE_FILE_FLAG_ANY_MODE) == 0 &&
	    (st.st_mode & S_IRWXU) != (MAIL_QUEUE_STAT_READY & S_IRWXU)) {
		strbuf_why(why, "%s/%s: not marked complete", queue, id);
		(void)close(fd);
		return QUEUE_FILE_INCOMPLETE;
	}
	qf = qf_alloc(NULL, queue);
	strcpy(qf->id, id); /* cut to fit above */
	qf->fd = fd;
	qf->flags = flags;
	qf->file_size = st.st_size;
	qf->stream = rstream_fdopen(fd, 0);
	if ((status = qf_read_raw(qf, &type, &offset, why)) != QUEUE_FILE_OK)
		goto fail;
	if (type != REC_TYPE_VERSION ||
	    strcmp(strbuf_str(qf->data), REC_VERSION_CURRENT) != 0) {
		strbuf_why(why,
			"%s/%s: not a %s queue file (no version record at "
			"offset 0)",
			queue, id, REC_VERSION_CURRENT);
		status = QUEUE_FILE_CORRUPT;
		goto fail;
	}
	if ((status = qf_read_raw(qf, &type, &offset, why)) != QUEUE_FILE_OK)
		goto fail;
	if (type != REC_TYPE_SIZE || qf_parse_size(qf) < 0) {
		strbuf_why(why,
			"%s/%s: missing or malformed size record at offset "
			"%lld",
			queue, id, (long long)offset);
		status = QUEUE_FILE_CORRUPT;
		goto fail;
	}
	*qfp = qf;
	return QUEUE_FILE_OK;
fail:
	(void)queue_file_close(&qf);
	return status;
}

const struct queue_file_size *queue_file_size(const struct queue_file *qf)
{
	return &qf->size;
}

/* Report a malformed file: the reason, and QUEUE_FILE_CORRUPT. */
static int __attribute__((format(printf, 3, 4)))
qf_corrupt(const struct queue_file *qf, struct strbuf *why, const char *fmt,
	   ...)
{
	va_list ap;

	if (why != NULL) {
		strbuf_reset(why);
		(void)strbuf_printf(why, "%s/%s: ", qf->queue, qf->id);
		va_start(ap, fmt);
		(void)strbuf_vprintf(why, fmt, ap);
		va_end(ap);
	}
	return QUEUE_FILE_CORRUPT;
}

/* "sec usec", both decimal, usec below a million. */
static int qf_time_ok(const char *p)
{
	size_t n = strspn(p, "0123456789");

	if (n == 0 || n > 18 || p[n] != ' ')
		return 0;
	p += n + 1;
	n = strspn(p, "0123456789");
	return n > 0 && n <= 6 && p[n] == 0;
}

int queue_file_read(struct queue_file *qf, struct queue_rec *rec,
		    struct strbuf *why)
{
	const char *data;
	size_t len;
	off_t offset;
	int type, status;

	if (qf->writing)
		msg_panic("queue_file_read: %s is being written", qf->id);
	rec->type = REC_TYPE_EOF;
	if (qf->ended)
		return QUEUE_FILE_OK;
	if ((status = qf_read_raw(qf, &type, &offset, why)) != QUEUE_FILE_OK)
		return status;
	data = strbuf_str(qf->data);
	len = strbuf_len(qf->data);
	if (type == REC_TYPE_VERSION || type == REC_TYPE_SIZE ||
	    !rec_type_allowed(type, qf->segment))
		return qf_corrupt(qf, why,
				  "%s record in the %s segment at "
				  "offset %lld",
				  rec_type_name(type),
				  rec_segment_name(qf->segment),
				  (long long)offset);
	if (qf->segment != REC_SEG_CONTENT && len > 0 &&
	    (memchr(data, '\r', len) || memchr(data, '\n', len) ||
	     memchr(data, 0, len)))
		return qf_corrupt(qf, why,
				  "CR, LF or NUL in %s record at "
				  "offset %lld",
				  rec_type_name(type), (long long)offset);
	rec->segment = qf->segment;
	switch (type) {
	case REC_TYPE_TIME:
		if (qf->have_time || !qf_time_ok(data))
			return qf_corrupt(qf, why,
					  "bad or second arrival "
					  "time record at offset %lld",
					  (long long)offset);
		qf->have_time = 1;
		break;
	case REC_TYPE_FROM:
		if (qf->have_sender)
			return qf_corrupt(qf, why,
					  "second sender record at offset %lld",
					  (long long)offset);
		qf->have_sender = 1;
		break;
	case REC_TYPE_MESG:
	case REC_TYPE_XTRA:
		if (!qf->size_pending &&
		    offset != (type == REC_TYPE_MESG
				   ? qf->size.content_offset
				   : qf->size.extracted_offset))
			return qf_corrupt(qf, why,
					  "%s record at offset %lld "
					  "disagrees with the size record",
					  rec_type_name(type),
					  (long long)offset);
		qf->segment =
		    type == REC_TYPE_MESG ? REC_SEG_CONTENT : REC_SEG_EXTRACTED;
		break;
	case REC_TYPE_END:
		if (!qf->have_time || !qf->have_sender)
			return qf_corrupt(qf, why,
					  "no %s record before the end "
					  "record at offset %lld",
					  qf->have_time ? "sender"
							: "arrival time",
					  (long long)offset);
		if (qf->size_pending) {
			strbuf_why(why,
				"%s/%s: size record never written: the "
				"file was not committed",
				qf->queue, qf->id);
			return QUEUE_FILE_INCOMPLETE;
		}
		qf->ended = 1;
		break;
	default:
		break;
	}
	rec->type = type;
	rec->offset = offset;
	rec->data = data;
	rec->len = len;
	return QUEUE_FILE_OK;
}

int queue_file_to_content(struct queue_file *qf, off_t expect,
			  struct strbuf *why)
{
	struct queue_rec rec;
	int st;

	while ((st = queue_file_read(qf, &rec, why)) == QUEUE_FILE_OK) {
		if (rec.type == REC_TYPE_EOF)
			return qf_corrupt(qf, why, "no content record");
		if (rec.type != REC_TYPE_MESG)
			continue;
		if (expect > 0 && rec.offset != expect)
			return qf_corrupt(qf, why,
					  "content at offset %lld, not %lld "
					  "as requested",
					  (long long)rec.offset,
					  (long long)expect);
		return QUEUE_FILE_OK;
	}
	return st;
}

int queue_file_read_content(struct queue_file *qf, struct queue_rec *rec,
			    struct strbuf *why)
{
	int st;

	if (qf->segment != REC_SEG_CONTENT)
		msg_panic("queue_file_read_content: %s is not in its content",
			  qf->id);
	while ((st = queue_file_read(qf, rec, why)) == QUEUE_FILE_OK) {
		if (rec->type == REC_TYPE_NORM || rec->type == REC_TYPE_CONT ||
		    rec->type == REC_TYPE_XTRA)
			return QUEUE_FILE_OK;
		if (rec->type == REC_TYPE_EOF)
			return qf_corrupt(qf, why, "no end of the content");
		/* Padding and anything else is not content. */
	}
	return st;
}

int queue_file_skip_content(struct queue_file *qf, struct strbuf *why)
{
	off_t target = qf->size.extracted_offset;

	if (qf->writing || qf->segment != REC_SEG_CONTENT || qf->ended)
		msg_panic("queue_file_skip_content: %s is not at its content",
			  qf->id);
	if (qf->size_pending)
		return QUEUE_FILE_OK;
	/* X then comes through queue_file_read, which checks it is at the
	 * offset the size record gives; a seek backwards would read the
	 * same records twice. A file cut short before X reads as
	 * incomplete, as it does without the seek. */
	if (target <= qf->size.content_offset)
		return qf_corrupt(qf, why,
				  "size record: extracted offset %lld out of "
				  "range",
				  (long long)target);
	if (rstream_seek(qf->stream, target) < 0) {
		strbuf_why(why, "%s/%s: seek: %s", qf->queue, qf->id,
			   strerror(errno));
		return QUEUE_FILE_ERROR;
	}
	return QUEUE_FILE_OK;
}

int queue_file_mark_done(struct queue_file *qf, off_t offset,
			 struct strbuf *why)
{
	char c;
	const char done = REC_TYPE_DONE;

	if ((qf->flags & QUEUE_FILE_FLAG_RDWR) == 0)
		msg_panic("queue_file_mark_done: %s opened read-only", qf->id);
	/* Check first: a wrong offset must not corrupt another record. */
	if (offset <= 0 || pread(qf->fd, &c, 1, offset) != 1 ||
	    (c != REC_TYPE_RCPT && c != REC_TYPE_DONE))
		return strbuf_why(why, "%s/%s: no recipient record at offset %lld",
			       qf->queue, qf->id, (long long)offset);
	if (c == REC_TYPE_DONE)
		return 0;
	if (pwrite(qf->fd, &done, 1, offset) != 1)
		return strbuf_why(why, "%s/%s: mark done: %s", qf->queue, qf->id,
			       strerror(errno));
	return 0;
}

int queue_file_sync(struct queue_file *qf, struct strbuf *why)
{
	if (fsync(qf->fd) < 0)
		return strbuf_why(why, "%s/%s: fsync: %s", qf->queue, qf->id,
			       strerror(errno));
	return 0;
}

int queue_file_close(struct queue_file **qfp)
{
	int ret;

	if (*qfp == NULL)
		return 0;
	if ((*qfp)->writing)
		msg_panic("queue_file_close: %s is being written; commit or "
			  "abort it",
			  (*qfp)->id);
	ret = rstream_close(&(*qfp)->stream);
	qf_free(qfp);
	return ret;
}
