/*
 * cleanup_envelope - the envelope (and extracted) records a client sends.
 *
 * Records are written to the queue file as they arrive, in the client's
 * order, except the recipients, which are rewritten first: every
 * address is put in user@domain form, and with CLEANUP_FLAG_MAP_OK it
 * goes through the canonical maps and (recipients) virtual alias
 * expansion. The O/o/n records before an R apply to that R and to every
 * address it expands to. Duplicate recipients (the same final address)
 * are written once; the filter remembers duplicate_filter_limit of them,
 * as Postfix's does, so a huge list cannot make it grow without bound.
 *
 * A table that fails to answer defers the message ("4.3.0 table lookup
 * error"); an expansion past the virtual alias limits defers it too
 * ("4.6.0 Alias expansion error"), as Postfix does. Never is a failed
 * lookup taken as "not found".
 */
#include <ctype.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cleanup.h"
#include "cleanup_clnt.h"
#include "mail_conf.h"
#include "mail_params.h"
#include "msg.h"
#include "mymalloc.h"
#include "queue_file.h"
#include "rec_type.h"
#include "strbuf.h"

/* Replace *field with a copy of data. */
static void env_set(char **field, const char *data)
{
	myfree(*field);
	*field = mystrdup(data);
}

/* 1 if addr (text, maybe in [] or with an IPv6 zone) is an address of
 * one of this machine's interfaces. */
static int env_interface_addr(const char *addr)
{
	struct ifaddrs *ifa, *cur;
	unsigned char want[sizeof(struct in6_addr)];
	int family, found = 0;

	if (inet_pton(AF_INET, addr, want) == 1)
		family = AF_INET;
	else if (inet_pton(AF_INET6, addr, want) == 1)
		family = AF_INET6;
	else
		return 0;
	if (getifaddrs(&ifa) < 0) {
		msg_warn("getifaddrs: %m");
		return 0;
	}
	for (cur = ifa; cur != NULL && !found; cur = cur->ifa_next) {
		if (cur->ifa_addr == NULL || cur->ifa_addr->sa_family != family)
			continue;
		if (family == AF_INET)
			found =
			    memcmp(
				&((struct sockaddr_in *)(void *)cur->ifa_addr)
				     ->sin_addr,
				want, sizeof(struct in_addr)) == 0;
		else
			found =
			    memcmp(
				&((struct sockaddr_in6 *)(void *)cur->ifa_addr)
				     ->sin6_addr,
				want, sizeof(struct in6_addr)) == 0;
	}
	freeifaddrs(ifa);
	return found;
}

/* local_header_rewrite_clients: may cleanup add missing headers (and,
 * later, rewrite header addresses) for this client? A message without
 * a client address was submitted locally (pickup), which always is. */
int cleanup_is_local_client(const struct cleanup_state *st)
{
	char **list;
	int local = 0;

	if (st->client_addr == NULL)
		return 1;
	list = conf_list_split(var_local_header_rewrite_clients);
	for (char **cp = list; *cp != NULL && !local; cp++) {
		if (strcasecmp(*cp, "permit_inet_interfaces") == 0)
			local = env_interface_addr(st->client_addr);
		else if (strcasecmp(*cp, "permit_sasl_authenticated") == 0)
			local = st->sasl_user != NULL && *st->sasl_user;
		else if (strcasecmp(*cp, "static:all") == 0 ||
			 strcasecmp(*cp, "permit") == 0)
			local = 1;
		else
			msg_warn("local_header_rewrite_clients: \"%s\" is not "
				 "supported (use permit_inet_interfaces, "
				 "permit_sasl_authenticated or static:all)",
				 *cp);
	}
	conf_list_free(&list);
	return local;
}

void cleanup_note_utf8(struct cleanup_state *st, const char *text, size_t len)
{
	for (size_t i = 0; i < len && !st->utf8_seen; i++)
		if ((unsigned char)text[i] >= 0x80)
			st->utf8_seen = 1;
}

static int env_seen(struct cleanup_state *st, const char *addr)
{
	for (size_t i = 0; i < st->rcpt_seen_count; i++)
		if (strcasecmp(st->rcpt_seen[i], addr) == 0)
			return 1;
	if (st->rcpt_seen_count < (size_t)var_duplicate_filter_limit) {
		st->rcpt_seen = myreallocarray(
		    st->rcpt_seen, st->rcpt_seen_count + 1, sizeof(char *));
		st->rcpt_seen[st->rcpt_seen_count++] = mystrdup(addr);
	}
	return 0;
}

static void env_write_rcpt(struct cleanup_state *st, const char *orig,
			   const char *addr)
{
	struct queue_rcpt r = {
	    .address = addr,
	    .orig = orig != NULL && strcmp(orig, addr) != 0 ? orig : NULL,
	    .dsn_orcpt = st->dsn_orcpt,
	    .dsn_notify = st->dsn_notify,
	};

	if (env_seen(st, addr))
		return;
	cleanup_note_utf8(st, addr, strlen(addr));
	if (queue_file_rcpt(st->qf, &r, st->why) < 0) {
		cleanup_write_error(st);
		return;
	}
	st->rcpt_count++;
	if (st->first_rcpt == NULL)
		st->first_rcpt = mystrdup(addr);
}

void cleanup_add_rcpt(struct cleanup_state *st, const char *rcpt)
{
	const char *orig = st->orig_rcpt != NULL ? st->orig_rcpt : rcpt;
	char **list = NULL;
	int limit_hit;

	if (st->errs != 0)
		goto done;
	if (*rcpt == 0) {
		cleanup_fail(st, CLEANUP_STAT_BAD,
			     "4.3.0 internal protocol error");
		msg_warn("%s: empty recipient from client", st->queue_id);
		goto done;
	}
	if ((st->flags & CLEANUP_FLAG_MAP_OK) == 0) {
		cleanup_rewrite_qualify(&cleanup_rw, rcpt, st->addr);
		env_write_rcpt(st, orig, strbuf_str(st->addr));
		goto done;
	}
	if (cleanup_rewrite_rcpt(&cleanup_rw, rcpt, st->addr, st->why) < 0) {
		msg_warn("%s: %s", st->queue_id, strbuf_str(st->why));
		cleanup_fail(st, CLEANUP_STAT_WRITE,
			     "4.3.0 table lookup error");
		goto done;
	}
	if (cleanup_rewrite_virtual(&cleanup_rw, strbuf_str(st->addr), &list,
				    &limit_hit, st->why) < 0) {
		msg_warn("%s: %s -- message not accepted", st->queue_id,
			 strbuf_str(st->why));
		if (limit_hit)
			cleanup_fail(st, CLEANUP_STAT_DEFER,
				     "4.6.0 Alias expansion error");
		else
			cleanup_fail(st, CLEANUP_STAT_WRITE,
				     "4.3.0 table lookup error");
		goto done;
	}
	for (char **cp = list; *cp != NULL && st->errs == 0; cp++)
		env_write_rcpt(st, orig, *cp);
	cleanup_rewrite_list_free(&list);
done:
	myfree(st->orig_rcpt);
	myfree(st->dsn_orcpt);
	st->dsn_notify = 0;
}

/* "sec usec", both decimal, usec < 1000000. */
static int env_parse_time(const char *data, long *sec, long *usec)
{
	char *end;

	if (!isdigit((unsigned char)*data))
		return -1;
	*sec = strtol(data, &end, 10);
	if (*end == 0) {
		*usec = 0;
		return *sec >= 0 ? 0 : -1;
	}
	if (*end != ' ' || !isdigit((unsigned char)end[1]))
		return -1;
	*usec = strtol(end + 1, &end, 10);
	return *end == 0 && *sec >= 0 && *usec >= 0 && *usec < 1000000 ? 0 : -1;
}

static void env_protocol_error(struct cleanup_state *st, const char *what)
{
	if (st->errs == 0)
		msg_warn("%s: %s", st->queue_id, what);
	cleanup_fail(st, CLEANUP_STAT_BAD, "4.3.0 internal protocol error");
}

void cleanup_envelope(struct cleanup_state *st, int type, const char *data,
		      size_t len)
{
	const char *eq;
	char *end;
	long notify;

	/* Envelope fields are text: a NUL would cut them short. */
	if (memchr(data, 0, len) != NULL) {
		env_protocol_error(st, "NUL in an envelope record");
		return;
	}
	if (st->errs != 0)
		return;
	switch (type) {
	case REC_TYPE_TIME:
		if (st->have_time || env_parse_time(data, &st->arrival_sec,
						    &st->arrival_usec) < 0) {
			env_protocol_error(st, "bad or repeated arrival time");
			return;
		}
		st->have_time = 1;
		if (queue_file_time(st->qf, st->arrival_sec, st->arrival_usec,
				    st->why) < 0)
			cleanup_write_error(st);
		return;
	case REC_TYPE_FROM:
		if (st->sender != NULL) {
			env_protocol_error(st, "repeated sender record");
			return;
		}
		if ((st->flags & CLEANUP_FLAG_MAP_OK) != 0) {
			if (cleanup_rewrite_sender(&cleanup_rw, data, st->addr,
						   st->why) < 0) {
				msg_warn("%s: %s", st->queue_id,
					 strbuf_str(st->why));
				cleanup_fail(st, CLEANUP_STAT_WRITE,
					     "4.3.0 table lookup error");
				return;
			}
		} else {
			cleanup_rewrite_qualify(&cleanup_rw, data, st->addr);
		}
		st->sender = mystrdup(strbuf_str(st->addr));
		cleanup_note_utf8(st, st->sender, strlen(st->sender));
		if (queue_file_sender(st->qf, st->sender, st->why) < 0)
			cleanup_write_error(st);
		return;
	case REC_TYPE_RCPT:
		cleanup_add_rcpt(st, data);
		return;
	case REC_TYPE_ORCP:
		env_set(&st->orig_rcpt, data);
		return;
	case REC_TYPE_DSN_ORCPT:
		env_set(&st->dsn_orcpt, data);
		return;
	case REC_TYPE_DSN_NOTIFY:
		notify = strtol(data, &end, 10);
		if (len == 0 || *end != 0 || notify <= 0 || notify > 15) {
			env_protocol_error(st, "bad DSN NOTIFY record");
			return;
		}
		st->dsn_notify = (int)notify;
		return;
	case REC_TYPE_FULL:
		env_set(&st->fullname, data);
		break;
	case REC_TYPE_FLGS:
		/* Late flags: only HOLD and DISCARD may be added after step 3
		 * of the protocol; the record itself is not queued. */
		notify = strtol(data, &end, 10);
		if (len == 0 || *end != 0 || notify <= 0 ||
		    (notify &
		     ~(long)(CLEANUP_FLAG_HOLD | CLEANUP_FLAG_DISCARD)) != 0) {
			env_protocol_error(st, "bad flags record");
			return;
		}
		if (notify & CLEANUP_FLAG_HOLD)
			st->hold = 1;
		if (notify & CLEANUP_FLAG_DISCARD)
			st->discard = 1;
		return;
	case REC_TYPE_RDR:
		/* REDIRECT from smtpd's access tables: written with the
		 * extracted segment, where a header_checks REDIRECT, which
		 * comes later, may still replace it. */
		if (len == 0) {
			env_protocol_error(st, "empty redirect record");
			return;
		}
		cleanup_rewrite_qualify(&cleanup_rw, data, st->addr);
		env_set(&st->redirect, strbuf_str(st->addr));
		return;
	case REC_TYPE_ATTR:
		if ((eq = strchr(data, '=')) == NULL) {
			env_protocol_error(st, "attribute record without '='");
			return;
		}
		/* FILTER from smtpd's access tables: like REDIRECT above. */
		if (strncmp(data, "content_filter=", 15) == 0) {
			if (eq[1] == 0) {
				env_protocol_error(st, "empty content_filter");
				return;
			}
			env_set(&st->filter, eq + 1);
			return;
		}
		/* sendmail -t -N (through pickup): the NOTIFY of the
		 * recipients found in the headers; not queued as such. */
		if (strncmp(data, "dsn_notify=", 11) == 0) {
			notify = strtol(eq + 1, &end, 10);
			if (eq[1] == 0 || *end != 0 || notify <= 0 ||
			    notify > 15) {
				env_protocol_error(st, "bad dsn_notify");
				return;
			}
			st->extract_notify = (int)notify;
			return;
		}
		/* UNSAFE: eq points into data, so eq - data is in range. */
		if ((size_t)(eq - data) == strlen("client_address") &&
		    strncmp(data, "client_address", (size_t)(eq - data)) == 0)
			env_set(&st->client_addr, eq + 1);
		else if ((size_t)(eq - data) == strlen("client_name") &&
			 strncmp(data, "client_name", (size_t)(eq - data)) == 0)
			env_set(&st->client_name, eq + 1);
		else if (strcmp(data, "encoding=8bit") == 0)
			st->declared_8bit = 1;
		else if (strcmp(data, "smtputf8=1") == 0)
			st->smtputf8 = 1;
		else if ((size_t)(eq - data) == strlen("sasl_username") &&
			 strncmp(data, "sasl_username", (size_t)(eq - data)) ==
			     0)
			env_set(&st->sasl_user, eq + 1);
		{
			char *name = mystrndup(data, (size_t)(eq - data));

			if (queue_file_attr(st->qf, name, eq + 1, st->why) < 0)
				env_protocol_error(st, strbuf_str(st->why));
			myfree(name);
		}
		return;
	default:
		break;
	}
	/* Everything else is copied as it came (F, i, <, V). */
	if (queue_file_put(st->qf, type, data, len, st->why) < 0)
		env_protocol_error(st, strbuf_str(st->why));
}
