/*
 * cleanup_copy - send a queue file's message through cleanup again; the
 * rules for records from local users. See cleanup_copy.h.
 *
 * Safety: a maildrop file is the one queue file an untrusted user
 * writes (through postdrop, as themselves). The queue file reader
 * already refuses malformed framing, over-long records, records in the
 * wrong segment and CR/LF/NUL in envelope fields; here each record is
 * checked once more against what postdrop accepts, on every pass, so
 * nothing that postdrop would have refused reaches cleanup, whoever
 * wrote the file and whenever it changed.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup_clnt.h"
#include "cleanup_copy.h"
#include "dsn.h"
#include "mymalloc.h"
#include "queue_file.h"
#include "rec_type.h"
#include "strbuf.h"

/* A DSN NOTIFY bit mask as text: 1-15, "never" (1) alone. */
static int notify_ok(const char *data, size_t len)
{
	char *end;
	long n = strtol(data, &end, 10);

	return len > 0 && len <= 2 && *data >= '0' && *data <= '9' &&
	       *end == 0 && n >= 1 && n <= 15 &&
	       (!(n & DSN_NOTIFY_NEVER) || n == DSN_NOTIFY_NEVER);
}

/* 1 if data[0..len) is "name=value" with exactly this name. */
static int attr_is(const char *data, size_t len, const char *name)
{
	size_t n = strlen(name);

	return len > n && memcmp(data, name, n) == 0 && data[n] == '=';
}

static int user_attr_ok(const char *data, size_t len, struct strbuf *why)
{
	const char *eq = memchr(data, '=', len);
	const char *val;

	if (eq == NULL)
		return strbuf_why(why, "attribute record without '='");
	val = eq + 1;
	if (attr_is(data, len, CLEANUP_COPY_ATTR_ENCODING))
		return strcmp(val, "7bit") == 0 || strcmp(val, "8bit") == 0
			   ? 0
			   : strbuf_why(why, "bad encoding attribute");
	if (attr_is(data, len, CLEANUP_COPY_ATTR_DSN_RET))
		return strcmp(val, "1") == 0 || strcmp(val, "2") == 0
			   ? 0
			   : strbuf_why(why, "bad dsn_ret attribute");
	if (attr_is(data, len, CLEANUP_COPY_ATTR_EXTRACT))
		return strcmp(val, "1") == 0
			   ? 0
			   : strbuf_why(why,
					"bad extract_recipients attribute");
	if (attr_is(data, len, CLEANUP_COPY_ATTR_DSN_NOTIFY))
		/* UNSAFE: val is inside data[0..len]. */
		return notify_ok(val, len - (size_t)(val - data))
			   ? 0
			   : strbuf_why(why, "bad dsn_notify attribute");
	/* UNSAFE: eq is inside data[0..len). */
	return strbuf_why(why,
			  "attribute \"%.*s\" is not allowed from a "
			  "local user",
			  (int)(eq - data > 64 ? 64 : eq - data), data);
}

int cleanup_copy_user_rec(int type, unsigned seg, const char *data, size_t len,
			  struct strbuf *why)
{
	const struct rec_type_info *info = rec_type_info(type);

	if (info == NULL)
		return strbuf_why(why, "unknown record type %d", type);
	/* The size record is the writer's (queue_file_create): never the
	 * user's, whatever the table allows. */
	if (type == REC_TYPE_SIZE || !rec_type_user_allowed(type, seg))
		return strbuf_why(why,
				  "record type '%c' (%s) is not allowed "
				  "in the %s segment from a local user",
				  type, info->name, rec_segment_name(seg));
	if (len > info->max_len)
		return strbuf_why(why, "%s record longer than %zu bytes",
				  info->name, info->max_len);
	if (seg == REC_SEG_CONTENT)
		return 0;
	if (memchr(data, 0, len) != NULL || memchr(data, '\n', len) != NULL ||
	    memchr(data, '\r', len) != NULL)
		return strbuf_why(why, "control character in a %s record",
				  info->name);
	switch (type) {
	case REC_TYPE_RCPT:
		if (len == 0)
			return strbuf_why(why, "empty recipient");
		return 0;
	case REC_TYPE_DSN_NOTIFY:
		return notify_ok(data, len)
			   ? 0
			   : strbuf_why(why, "bad DSN NOTIFY record");
	case REC_TYPE_DSN_ENVID:
		if (len == 0 || len > CLEANUP_COPY_ENVID_MAX)
			return strbuf_why(why,
					  "DSN ENVID empty or longer than "
					  "%d characters",
					  CLEANUP_COPY_ENVID_MAX);
		/* It goes on the wire as xtext: printable ASCII only. */
		for (size_t i = 0; i < len; i++)
			if ((unsigned char)data[i] < 0x20 ||
			    (unsigned char)data[i] > 0x7e)
				return strbuf_why(why,
						  "DSN ENVID with a "
						  "non-printable character");
		return 0;
	case REC_TYPE_ATTR:
		return user_attr_ok(data, len, why);
	default:
		return 0;
	}
}

void cleanup_copy_info_free(struct cleanup_copy_info *info)
{
	myfree(info->sender);
}

/* One record of a maildrop file: T is postdrop's, anything else must be a
 * user record. have_time counts T records. */
static int maildrop_rec_ok(const struct queue_rec *rec, int *have_time,
			   struct strbuf *why)
{
	if (rec->type == REC_TYPE_TIME && rec->segment == REC_SEG_ENVELOPE) {
		if ((*have_time)++)
			return strbuf_why(why, "second arrival time record");
		return 0;
	}
	return cleanup_copy_user_rec(rec->type, rec->segment, rec->data,
				     rec->len, why);
}

int cleanup_copy_check(struct queue_file *qf, struct cleanup_copy_info *info,
		       struct strbuf *why)
{
	struct queue_rec rec;
	int status, have_time = 0;
	struct strbuf *reason = strbuf_new(STRBUF_NO_MAX);

	memset(info, 0, sizeof(*info));
	while ((status = queue_file_read(qf, &rec, why)) == QUEUE_FILE_OK &&
	       rec.type != REC_TYPE_EOF) {
		if (maildrop_rec_ok(&rec, &have_time, reason) < 0) {
			strbuf_why(why, "offset %lld: %s",
				   (long long)rec.offset, strbuf_str(reason));
			status = QUEUE_FILE_CORRUPT;
			break;
		}
		if (rec.type == REC_TYPE_RCPT)
			info->rcpts++;
		else if (rec.type == REC_TYPE_FROM && info->sender == NULL)
			info->sender = mystrdup(rec.data);
		else if (rec.type == REC_TYPE_ATTR &&
			 attr_is(rec.data, rec.len, CLEANUP_COPY_ATTR_EXTRACT))
			info->extract = 1;
	}
	strbuf_free(&reason);
	/* The reader insists on one S; T is required by it too. */
	if (status == QUEUE_FILE_OK && have_time != 1) {
		strbuf_why(why, "no arrival time record");
		status = QUEUE_FILE_CORRUPT;
	}
	if (status != QUEUE_FILE_OK)
		cleanup_copy_info_free(info);
	return status;
}

/* The O, o and n records of the next recipient in a queue file. They
 * come before its R and are held back until the R shows whether the
 * recipient is still to be delivered (R) or done (D). One slot per type:
 * the last one wins, as in cleanup. */
static const int rcpt_extra_types[] = {REC_TYPE_DSN_ORCPT, REC_TYPE_DSN_NOTIFY,
				       REC_TYPE_ORCP};
#define RCPT_EXTRA (sizeof(rcpt_extra_types) / sizeof(rcpt_extra_types[0]))

static void rcpt_extra_reset(struct strbuf **extra, int *have)
{
	for (size_t i = 0; i < RCPT_EXTRA; i++) {
		strbuf_reset(extra[i]);
		have[i] = 0;
	}
}

/* A queue file: everything a new queue file needs, and the recipients
 * that are not done. */
static int copy_queue_file(struct queue_file *qf, struct cleanup_clnt *cc,
			   struct strbuf *why)
{
	struct strbuf *extra[RCPT_EXTRA];
	int have[RCPT_EXTRA] = {0};
	struct queue_rec rec;
	int status, rcpts = 0;

	for (size_t i = 0; i < RCPT_EXTRA; i++)
		extra[i] = strbuf_new(REC_ADDR_MAX);
	while ((status = queue_file_read(qf, &rec, why)) == QUEUE_FILE_OK &&
	       rec.type != REC_TYPE_EOF) {
		switch (rec.type) {
		case REC_TYPE_ORCP:
		case REC_TYPE_DSN_ORCPT:
		case REC_TYPE_DSN_NOTIFY:
			for (size_t i = 0; i < RCPT_EXTRA; i++) {
				if (rcpt_extra_types[i] != rec.type)
					continue;
				/* The reader bounds these at REC_ADDR_MAX. */
				strbuf_reset(extra[i]);
				(void)strbuf_append(extra[i], rec.data,
						    rec.len);
				have[i] = 1;
			}
			continue;
		case REC_TYPE_RCPT:
			for (size_t i = 0; i < RCPT_EXTRA; i++)
				if (have[i])
					cleanup_clnt_rec(cc,
							 rcpt_extra_types[i],
							 strbuf_str(extra[i]),
							 strbuf_len(extra[i]));
			rcpt_extra_reset(extra, have);
			cleanup_clnt_rec(cc, rec.type, rec.data, rec.len);
			rcpts++;
			continue;
		case REC_TYPE_DONE:
		case REC_TYPE_DRCP:
			rcpt_extra_reset(extra, have);
			continue;
		case REC_TYPE_TIME:
		case REC_TYPE_FULL:
		case REC_TYPE_FROM:
		case REC_TYPE_ATTR:
		case REC_TYPE_DSN_ENVID:
		case REC_TYPE_DSN_RET:
		case REC_TYPE_VERP:
		case REC_TYPE_MESG:
		case REC_TYPE_XTRA:
			cleanup_clnt_rec(cc, rec.type, rec.data, rec.len);
			continue;
		case REC_TYPE_NORM:
		case REC_TYPE_CONT:
			if (rec.segment == REC_SEG_CONTENT)
				cleanup_clnt_rec(cc, rec.type, rec.data,
						 rec.len);
			continue;
		default:
			/* Queue-manager state (warning time, create time,
			 * padding, ...) belongs to the old file. */
			continue;
		}
	}
	for (size_t i = 0; i < RCPT_EXTRA; i++)
		strbuf_free(&extra[i]);
	if (status != QUEUE_FILE_OK)
		return -1;
	if (rcpts == 0)
		return strbuf_why(why, "no recipient is left to deliver");
	return 0;
}

/* A maildrop file: every record checked, the attributes that are
 * requests to pickup turned into what cleanup expects. */
static int copy_maildrop_file(struct queue_file *qf, struct cleanup_clnt *cc,
			      struct strbuf *why)
{
	struct strbuf *reason = strbuf_new(STRBUF_NO_MAX);
	struct queue_rec rec;
	int status, have_time = 0, ret = 0;

	while ((status = queue_file_read(qf, &rec, why)) == QUEUE_FILE_OK &&
	       rec.type != REC_TYPE_EOF) {
		if (maildrop_rec_ok(&rec, &have_time, reason) < 0) {
			ret = strbuf_why(why, "offset %lld: %s",
					 (long long)rec.offset,
					 strbuf_str(reason));
			break;
		}
		if (rec.type == REC_TYPE_ATTR &&
		    attr_is(rec.data, rec.len, CLEANUP_COPY_ATTR_EXTRACT))
			continue;
		if (rec.type == REC_TYPE_ATTR &&
		    attr_is(rec.data, rec.len, CLEANUP_COPY_ATTR_DSN_RET)) {
			/* UNSAFE: attr_is checked the name and '='. */
			const char *val =
			    rec.data + strlen(CLEANUP_COPY_ATTR_DSN_RET) + 1;

			cleanup_clnt_rec(cc, REC_TYPE_DSN_RET, val,
					 strlen(val));
			continue;
		}
		cleanup_clnt_rec(cc, rec.type, rec.data, rec.len);
	}
	strbuf_free(&reason);
	if (ret == 0 && status != QUEUE_FILE_OK)
		ret = -1;
	return ret;
}

int cleanup_copy(struct queue_file *qf, struct cleanup_clnt *cc,
		 enum cleanup_copy_source source, struct strbuf *why)
{
	return source == CLEANUP_COPY_MAILDROP ? copy_maildrop_file(qf, cc, why)
					       : copy_queue_file(qf, cc, why);
}
