/*
 * queue_envelope - one reader of a queue file's envelope and recipients;
 * see queue_envelope.h.
 *
 * Recipient modifiers are held until their R or D record takes them, so
 * a modifier can never be attached to a recipient it was not written
 * for: one that is followed by anything else, or given twice, makes the
 * file corrupt (queue_file_rcpt writes o, n, O and R together, and a D
 * is an R rewritten in place). A D record consumes its modifiers too.
 */
#include <stdarg.h>
#include <stdint.h>
#include <string.h>

#include "dsn.h"
#include "mymalloc.h"
#include "queue_envelope.h"
#include "queue_file.h"
#include "rec_type.h"
#include "strbuf.h"

/* Modifiers waiting for their recipient record. */
struct pending {
	int have; /* MOD_* bits */
	off_t first;
	char *orig;
	char *dsn_orcpt;
	int dsn_notify;
};
#define MOD_ORIG (1 << 0)
#define MOD_ORCPT (1 << 1)
#define MOD_NOTIFY (1 << 2)

#define NOTIFY_ALL                                                             \
	(DSN_NOTIFY_NEVER | DSN_NOTIFY_SUCCESS | DSN_NOTIFY_FAILURE |          \
	 DSN_NOTIFY_DELAY)

static int corrupt(struct strbuf *why, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int corrupt(struct strbuf *why, const char *fmt, ...)
{
	va_list ap;

	if (why != NULL) {
		strbuf_reset(why);
		va_start(ap, fmt);
		(void)strbuf_vprintf(why, fmt, ap);
		va_end(ap);
	}
	return QUEUE_FILE_CORRUPT;
}

/* A decimal number in [min, max]: digits only, no sign or space. */
static int parse_num(const char *s, int64_t min, int64_t max, int64_t *out)
{
	int64_t v = 0;

	if (*s == 0)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > (INT64_MAX - (*s - '0')) / 10)
			return -1;
		v = v * 10 + (*s - '0');
	}
	if (v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

/* "sec usec" (queue_file_read has checked the shape). */
static int parse_time(const char *data, int64_t *sec, long *usec)
{
	const char *sp = strchr(data, ' ');
	char buf[32];
	int64_t s, u;

	if (sp == NULL || (size_t)(sp - data) >= sizeof(buf))
		return -1;
	memcpy(buf, data, (size_t)(sp - data));
	buf[sp - data] = 0;
	if (parse_num(buf, 0, INT64_MAX, &s) < 0 ||
	    parse_num(sp + 1, 0, 999999, &u) < 0)
		return -1;
	*sec = s;
	*usec = (long)u;
	return 0;
}

static void set_str(char **field, const char *value)
{
	myfree(*field);
	*field = mystrdup(value);
}

static void pending_clear(struct pending *p)
{
	myfree(p->orig);
	myfree(p->dsn_orcpt);
	memset(p, 0, sizeof(*p));
}

/* Take one modifier record. A queue_file_status. */
static int pending_add(struct pending *p, const struct queue_rec *rec,
		       const char *label, struct strbuf *why)
{
	int bit = rec->type == REC_TYPE_ORCP	    ? MOD_ORIG
		  : rec->type == REC_TYPE_DSN_ORCPT ? MOD_ORCPT
						    : MOD_NOTIFY;
	int64_t n;

	if (p->have & bit)
		return corrupt(why,
			       "%s: second %s record for one recipient at "
			       "offset %lld",
			       label, rec_type_name(rec->type),
			       (long long)rec->offset);
	if (p->have == 0)
		p->first = rec->offset;
	p->have |= bit;
	switch (bit) {
	case MOD_ORIG:
		p->orig = mystrdup(rec->data);
		break;
	case MOD_ORCPT:
		p->dsn_orcpt = mystrdup(rec->data);
		break;
	default:
		if (parse_num(rec->data, 1, NOTIFY_ALL, &n) < 0)
			return corrupt(why,
				       "%s: bad DSN NOTIFY record at offset "
				       "%lld",
				       label, (long long)rec->offset);
		p->dsn_notify = (int)n;
		break;
	}
	return QUEUE_FILE_OK;
}

/* An R or D record with the modifiers before it. */
static void add_rcpt(struct queue_envelope *env, size_t *cap,
		     const struct queue_envelope_params *params,
		     struct pending *p, const struct queue_rec *rec)
{
	int done = rec->type != REC_TYPE_RCPT;
	struct queue_envelope_rcpt *r;

	if (done)
		env->rcpt_done++;
	if (done && (params->flags & QUEUE_ENVELOPE_FLAG_DONE) == 0)
		goto out;
	if (params->rcpt_limit > 0 && env->rcpt_count >= params->rcpt_limit) {
		env->rcpt_dropped++;
		goto out;
	}
	if (env->rcpt_count == *cap) {
		*cap = *cap ? mymalloc_mul(*cap, 2) : 8;
		env->rcpt = myreallocarray(env->rcpt, *cap, sizeof(*env->rcpt));
	}
	r = env->rcpt + env->rcpt_count++;
	r->address = mystrdup(rec->data);
	r->orig = p->orig ? p->orig : mystrdup("");
	r->dsn_orcpt = p->dsn_orcpt ? p->dsn_orcpt : mystrdup("");
	r->dsn_notify = p->dsn_notify;
	r->offset = rec->offset;
	r->done = done;
	p->orig = p->dsn_orcpt = NULL; /* now the recipient's */
out:
	pending_clear(p);
}

/* The "name=value" attributes that the readers act on. */
static void take_attr(struct queue_envelope *env, const char *data)
{
	const char *eq = strchr(data, '=');
	const char *names[] = {"content_filter", "client_name",
			       "client_address"};
	char **fields[] = {&env->content_filter, &env->client_name,
			   &env->client_addr};

	if (eq == NULL)
		return;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		/* UNSAFE: eq points into data, so eq - data is in range. */
		if ((size_t)(eq - data) == strlen(names[i]) &&
		    strncmp(data, names[i], strlen(names[i])) == 0) {
			set_str(fields[i], eq + 1);
			return;
		}
	}
}

int queue_envelope_read(struct queue_file *qf,
			const struct queue_envelope_params *params,
			struct queue_envelope *env, struct strbuf *why)
{
	static const struct queue_envelope_params defaults = {0};
	const char *label = queue_file_id(qf);
	struct pending p = {0};
	struct queue_rec rec;
	size_t cap = 0;
	int64_t n;
	int status, have_time = 0;

	if (params == NULL)
		params = &defaults;
	memset(env, 0, sizeof(*env));
	for (;;) {
		if ((status = queue_file_read(qf, &rec, why)) != QUEUE_FILE_OK)
			goto out;
		if (rec.type == REC_TYPE_EOF)
			break;
		if (p.have && rec.type != REC_TYPE_RCPT &&
		    rec.type != REC_TYPE_DONE && rec.type != REC_TYPE_DRCP &&
		    rec.type != REC_TYPE_ORCP &&
		    rec.type != REC_TYPE_DSN_ORCPT &&
		    rec.type != REC_TYPE_DSN_NOTIFY) {
			status = corrupt(why,
					 "%s: recipient modifier at offset "
					 "%lld not followed by its recipient "
					 "record (%s at offset %lld)",
					 label, (long long)p.first,
					 rec_type_name(rec.type),
					 (long long)rec.offset);
			goto out;
		}
		switch (rec.type) {
		case REC_TYPE_TIME:
			if (parse_time(rec.data, &env->arrival_sec,
				       &env->arrival_usec) < 0) {
				status = corrupt(why,
						 "%s: bad arrival time record "
						 "at offset %lld",
						 label, (long long)rec.offset);
				goto out;
			}
			have_time = 1;
			break;
		case REC_TYPE_FROM:
			set_str(&env->sender, rec.data);
			break;
		case REC_TYPE_DSN_ENVID:
			set_str(&env->dsn_envid, rec.data);
			break;
		case REC_TYPE_DSN_RET:
			if (parse_num(rec.data, DSN_RET_FULL, DSN_RET_HDRS,
				      &n) < 0) {
				status = corrupt(why,
						 "%s: bad DSN RET record at "
						 "offset %lld",
						 label, (long long)rec.offset);
				goto out;
			}
			env->dsn_ret = (int)n;
			break;
		case REC_TYPE_RDR:
			set_str(&env->redirect, rec.data);
			break;
		case REC_TYPE_WARN:
			if (parse_num(rec.data, 0, INT64_MAX, &env->warn_sent) <
			    0) {
				status = corrupt(why,
						 "%s: bad warning time record "
						 "at offset %lld",
						 label, (long long)rec.offset);
				goto out;
			}
			env->warn_offset = rec.offset;
			break;
		case REC_TYPE_ATTR:
			take_attr(env, rec.data);
			break;
		case REC_TYPE_ORCP:
		case REC_TYPE_DSN_ORCPT:
		case REC_TYPE_DSN_NOTIFY:
			if ((status = pending_add(&p, &rec, label, why)) !=
			    QUEUE_FILE_OK)
				goto out;
			break;
		case REC_TYPE_RCPT:
		case REC_TYPE_DONE:
		case REC_TYPE_DRCP:
			add_rcpt(env, &cap, params, &p, &rec);
			break;
		default:
			if (params->other != NULL) {
				if ((status = params->other(params->ctx, &rec,
							    why)) != 0)
					goto out;
			} else if (rec.type == REC_TYPE_MESG &&
				   (params->flags &
				    QUEUE_ENVELOPE_FLAG_CONTENT) == 0 &&
				   (status = queue_file_skip_content(
					qf, why)) != QUEUE_FILE_OK) {
				goto out;
			}
			break;
		}
	}
	/* queue_file_read refuses an E without T and S; kept so that no
	 * caller ever sees a NULL sender after QUEUE_FILE_OK. */
	if (!have_time || env->sender == NULL)
		status = corrupt(why, "%s: no arrival time or sender", label);
out:
	pending_clear(&p);
	return status;
}

void queue_envelope_free(struct queue_envelope *env)
{
	for (size_t i = 0; i < env->rcpt_count; i++) {
		myfree(env->rcpt[i].address);
		myfree(env->rcpt[i].orig);
		myfree(env->rcpt[i].dsn_orcpt);
	}
	myfree(env->rcpt);
	myfree(env->sender);
	myfree(env->dsn_envid);
	myfree(env->redirect);
	myfree(env->content_filter);
	myfree(env->client_name);
	myfree(env->client_addr);
	memset(env, 0, sizeof(*env));
}
