/*
 * showq_clnt - the client side of the queue listing protocol, and the
 * schema showq(8) writes with; see showq_clnt.h.
 *
 * The listing comes from a daemon that reads queue files, so it is
 * checked like any input: every list against the schema, the kind of
 * each list against where it may appear, recipient counts against
 * SHOWQ_RCPT_MAX before anything is allocated for them.
 */
#include <string.h>
#include <unistd.h>

#include "attr.h"
#include "bounce_log.h"
#include "mail_queue.h"
#include "mymalloc.h"
#include "rec_type.h"
#include "showq_clnt.h"
#include "sock.h"
#include "strbuf.h"

static const struct attr_spec showq_specs[] = {
    [SHOWQ_ATTR_KIND] = {"kind", ATTR_STR, 16, 1},
    [SHOWQ_ATTR_QUEUE_NAME] = {"queue_name", ATTR_STR, 16, 0},
    [SHOWQ_ATTR_QUEUE_ID] = {"queue_id", ATTR_STR, MAIL_QUEUE_ID_MAX, 0},
    [SHOWQ_ATTR_ARRIVAL] = {"arrival_time", ATTR_LONG, 0, 0},
    [SHOWQ_ATTR_SIZE] = {"message_size", ATTR_LONG, 0, 0},
    [SHOWQ_ATTR_FILE_SIZE] = {"file_size", ATTR_LONG, 0, 0},
    [SHOWQ_ATTR_FORCED_EXPIRE] = {"forced_expire", ATTR_INT, 0, 0},
    [SHOWQ_ATTR_SENDER] = {"sender", ATTR_STR, REC_ADDR_MAX, 0},
    [SHOWQ_ATTR_RCPT_COUNT] = {"rcpt_count", ATTR_LONG, 0, 0},
    [SHOWQ_ATTR_ADDRESS] = {"address", ATTR_STR, REC_ADDR_MAX, 0},
    [SHOWQ_ATTR_DELAY_REASON] = {"delay_reason", ATTR_STR, BOUNCE_LOG_VALUE_MAX,
				 0},
};
const struct attr_schema showq_schema = {SHOWQ_PROTOCOL, showq_specs,
					 SHOWQ_ATTR_COUNT};

struct showq_clnt {
	int fd;
	int timeout;
	struct attr_stream *in;
};

struct showq_clnt *showq_clnt_open(const char *path, int timeout,
				   struct strbuf *why)
{
	struct showq_clnt *sc;
	int fd = sock_unix_connect(path, timeout, why);

	if (fd < 0)
		return NULL;
	sc = mymalloc(sizeof(*sc));
	sc->fd = fd;
	sc->timeout = timeout;
	sc->in = attr_stream_new(fd, 0);
	if (attr_handshake_expect(sc->in, timeout, SHOWQ_PROTOCOL, why) < 0) {
		showq_clnt_close(&sc);
		return NULL;
	}
	return sc;
}

void showq_clnt_close(struct showq_clnt **scp)
{
	struct showq_clnt *sc = *scp;

	if (sc == NULL)
		return;
	attr_stream_free(&sc->in);
	(void)close(sc->fd);
	myfree(*scp);
}

void showq_msg_free(struct showq_msg *msg)
{
	for (size_t i = 0; msg->rcpt != NULL && i < msg->rcpt_count; i++) {
		myfree(msg->rcpt[i].address);
		myfree(msg->rcpt[i].delay_reason);
	}
	myfree(msg->rcpt);
	myfree(msg->queue_name);
	myfree(msg->queue_id);
	myfree(msg->sender);
	memset(msg, 0, sizeof(*msg));
}

/* Read one list; its kind must be want (or, for a message, "end"). */
static int read_list(struct showq_clnt *sc, struct attr_value *val,
		     struct strbuf *why)
{
	int rc = attr_stream_read(sc->in, sc->timeout, &showq_schema, val, why);

	if (rc == 0)
		return strbuf_why(why, "showq: listing cut short");
	return rc < 0 ? -1 : 0;
}

static char *take(struct attr_value *v)
{
	char *s = v->present ? v->str : NULL;

	v->str = NULL;
	v->present = 0;
	return s ? s : mystrdup("");
}

int showq_clnt_next(struct showq_clnt *sc, struct showq_msg *msg,
		    struct strbuf *why)
{
	struct attr_value val[SHOWQ_ATTR_COUNT] = {0};
	const char *kind;
	long count;

	memset(msg, 0, sizeof(*msg));
	if (read_list(sc, val, why) < 0)
		return -1;
	kind = val[SHOWQ_ATTR_KIND].str;
	if (strcmp(kind, "end") == 0) {
		attr_values_free(val, SHOWQ_ATTR_COUNT);
		return 0;
	}
	count = val[SHOWQ_ATTR_RCPT_COUNT].num;
	if (strcmp(kind, "message") != 0 ||
	    !val[SHOWQ_ATTR_QUEUE_NAME].present ||
	    !mail_queue_name_ok(val[SHOWQ_ATTR_QUEUE_NAME].str) ||
	    !val[SHOWQ_ATTR_QUEUE_ID].present ||
	    !mail_queue_id_ok(val[SHOWQ_ATTR_QUEUE_ID].str) ||
	    !val[SHOWQ_ATTR_SENDER].present || count < 0 ||
	    count > SHOWQ_RCPT_MAX) {
		attr_values_free(val, SHOWQ_ATTR_COUNT);
		return strbuf_why(why, "showq: malformed message entry");
	}
	msg->queue_name = take(&val[SHOWQ_ATTR_QUEUE_NAME]);
	msg->queue_id = take(&val[SHOWQ_ATTR_QUEUE_ID]);
	msg->sender = take(&val[SHOWQ_ATTR_SENDER]);
	msg->arrival_time = val[SHOWQ_ATTR_ARRIVAL].num;
	msg->message_size = val[SHOWQ_ATTR_SIZE].num;
	msg->file_size = val[SHOWQ_ATTR_FILE_SIZE].num;
	msg->forced_expire = val[SHOWQ_ATTR_FORCED_EXPIRE].num != 0;
	attr_values_free(val, SHOWQ_ATTR_COUNT);
	msg->rcpt = mycalloc(count ? (size_t)count : 1, sizeof(*msg->rcpt));
	for (long i = 0; i < count; i++) {
		if (read_list(sc, val, why) < 0)
			goto bad;
		if (strcmp(val[SHOWQ_ATTR_KIND].str, "recipient") != 0 ||
		    !val[SHOWQ_ATTR_ADDRESS].present) {
			attr_values_free(val, SHOWQ_ATTR_COUNT);
			strbuf_why(why, "showq: malformed recipient entry");
			goto bad;
		}
		msg->rcpt[i].address = take(&val[SHOWQ_ATTR_ADDRESS]);
		msg->rcpt[i].delay_reason = take(&val[SHOWQ_ATTR_DELAY_REASON]);
		msg->rcpt_count = (size_t)i + 1;
		attr_values_free(val, SHOWQ_ATTR_COUNT);
	}
	msg->rcpt_count = (size_t)count;
	return 1;
bad:
	showq_msg_free(msg);
	return -1;
}
