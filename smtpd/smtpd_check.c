/*
 * smtpd_check - the SMTP server's access restrictions.
 *
 * A restriction list (smtpd_client_restrictions and friends) is a list
 * of names, some followed by a type:table argument, evaluated left to
 * right: the first that decides (permit or reject) ends the list; a
 * list that runs out without a decision permits. At RCPT TO a recipient
 * must pass every list in order: client, helo and sender (there, when
 * smtpd_delay_reject is on), then smtpd_relay_restrictions, then
 * smtpd_recipient_restrictions; a permit ends only its own list.
 *
 * After the lists, smtpd_reject_unlisted_sender and _recipient ask
 * whether the address exists, by its address class (global/resolve.c,
 * shared with qmgr): local_recipient_maps, virtual_alias_maps,
 * virtual_mailbox_maps or relay_recipient_maps.
 *
 * Access table actions that do not decide (PREPEND, REDIRECT, FILTER,
 * BCC) are kept in the session state; smtpd_data.c hands them to
 * cleanup, which carries them out.
 *
 * The one table restriction_table[] holds every restriction name, what it
 * needs (a table argument, a recipient, ...) and its function; the list
 * parser, the evaluator and smtpd(8) follow it.
 *
 * Safety: the default must never be an open relay, and a mistake must
 * fail closed. So:
 *   - an unknown restriction name, a table that cannot be opened and a
 *     lookup error all answer 451 4.3.5 Server configuration error (a
 *     temporary error: the client retries once the admin has fixed it),
 *     never a permit;
 *   - if neither smtpd_relay_restrictions nor smtpd_recipient_
 *     restrictions contains reject_unauth_destination,
 *     defer_unauth_destination, reject or defer, every RCPT TO gets
 *     451 4.3.5 and a warning says why (Postfix refuses to start then).
 *
 * Seams for later work (no code yet): permit_sasl_authenticated (SASL),
 * permit_tls_clientcerts (TLS), check_policy_service (policy delegation),
 * check_spf (SPF) and the milter connect/helo/mail/rcpt events belong in
 * restriction_table[] and in smtpd_check_rcpt() respectively.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "access_lookup.h"
#include "cleanup_clnt.h"
#include "dict.h"
#include "mail_conf.h"
#include "mail_params.h"
#include "match_list.h"
#include "mime_state.h"
#include "msg.h"
#include "mymalloc.h"
#include "resolve.h"
#include "smtpd.h"
#include "strbuf.h"

/* Nested restriction lists (from access table results) stop here. */
#define CHECK_DEPTH_MAX 2

/* What a list is being evaluated for: decides the wording of replies. */
enum check_class {
	CLASS_CLIENT,
	CLASS_HELO,
	CLASS_SENDER,
	CLASS_RECIPIENT,
	CLASS_DATA,
	CLASS_EOD,
};

static const char *const class_text[] = {
    [CLASS_CLIENT] = "Client host rejected",
    [CLASS_HELO] = "Helo command rejected",
    [CLASS_SENDER] = "Sender address rejected",
    [CLASS_RECIPIENT] = "Recipient address rejected",
    [CLASS_DATA] = "Data command rejected",
    [CLASS_EOD] = "End-of-data rejected",
};

/* The evaluation of one command's checks. */
struct check_ctx {
	struct smtpd_state *state;
	enum check_class cls;
	const char *rcpt;      /* RCPT: the recipient, else NULL */
	const char *data_what; /* DATA stage: "DATA" or "BDAT" */
	struct strbuf *reply;
	char *defer_if_permit; /* saved reply of DEFER_IF_PERMIT */
	int defer_if_reject;   /* DEFER_IF_REJECT seen */
	int depth;
	int rcpt_listed;   /* reject_unlisted_recipient already passed */
	int sender_listed; /* reject_unlisted_sender already passed */
};

typedef int (*check_fn)(struct check_ctx *ctx, const char *table);

struct restriction {
	const char *name;
	int takes_table; /* followed by a type:table */
	check_fn fn;
	const char *doc; /* one line for smtpd(8) */
};

static int check_reject(struct check_ctx *ctx, int code, const char *enh,
			const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* The name in replies: "<name[addr]>", "<helo>", "<address>". */
static const char *reply_name(struct check_ctx *ctx)
{
	struct smtpd_state *s = ctx->state;

	switch (ctx->cls) {
	case CLASS_CLIENT:
		return s->namaddr;
	case CLASS_HELO:
		return s->helo ? s->helo : "";
	case CLASS_SENDER:
		return s->sender ? s->sender : "";
	case CLASS_RECIPIENT:
		return ctx->rcpt ? ctx->rcpt : "";
	case CLASS_DATA:
		return ctx->data_what ? ctx->data_what : "DATA";
	case CLASS_EOD:
		return "END-OF-MESSAGE";
	}
	return "";
}

static int check_reject(struct check_ctx *ctx, int code, const char *enh,
			const char *fmt, ...)
{
	va_list ap;
	char buf[16];

	/* DEFER_IF_REJECT: a later reject becomes a temporary one. */
	if (ctx->defer_if_reject && code >= 500) {
		code = 450;
		snprintf(buf, sizeof(buf), "4%s", enh + 1);
		enh = buf;
	}
	strbuf_reset(ctx->reply);
	strbuf_printf(ctx->reply, "%d %s ", code, enh);
	va_start(ap, fmt);
	strbuf_vprintf(ctx->reply, fmt, ap);
	va_end(ap);
	return SMTPD_CHECK_REJECT;
}

static int config_error(struct check_ctx *ctx)
{
	return check_reject(ctx, 451, "4.3.5", "Server configuration error");
}

/* Tables are opened at first use and kept for the process's life. */
struct table_cache {
	char *spec;
	struct dict *dict;
	struct table_cache *next;
};
static struct table_cache *tables;

static struct dict *table_get(const char *spec)
{
	struct table_cache *t;
	char *err = NULL;

	for (t = tables; t != NULL; t = t->next)
		if (strcmp(t->spec, spec) == 0)
			return t->dict;
	struct dict *dict = dict_open(spec, DICT_FOLD_KEYS, &err);

	if (dict == NULL) {
		msg_warn("%s: cannot open table: %s", spec, err);
		myfree(err);
		return NULL; /* tried again at the next use */
	}
	t = mycalloc(1, sizeof(*t));
	t->spec = mystrdup(spec);
	t->dict = dict;
	t->next = tables;
	tables = t;
	return dict;
}

static int eval_list(struct check_ctx *ctx, char **list, const char *param);

/* The action in an access table's value (case-insensitive keyword). */
static int word_is(const char *value, const char *word, const char **rest)
{
	size_t n = strlen(word);

	if (strncasecmp(value, word, n) != 0 ||
	    (value[n] != 0 && value[n] != ' ' && value[n] != '\t'))
		return 0;
	for (value += n; *value == ' ' || *value == '\t'; value++)
		;
	*rest = value;
	return 1;
}

/* Postfix's log line for an access action that does not reject:
 * "ID: whatsup: CMD from CLIENT: <key>: Class triggers ...; from=<>
 * to=<> proto=P helo=<H>". detail follows "triggers ". */
static void log_whatsup(struct check_ctx *ctx, const char *whatsup,
			const char *key, const char *detail)
{
	struct smtpd_state *s = ctx->state;
	/* "Recipient address rejected" -> "Recipient address". */
	const char *cls = class_text[ctx->cls];
	const char *cut = strstr(cls, " rejected");

	msg_info("%s: %s: %s from %s: <%s>: %.*s triggers %s; from=<%s>%s%s%s "
		 "proto=%s helo=<%s>",
		 s->queue_id ? s->queue_id : "NOQUEUE", whatsup, s->where,
		 s->namaddr, key, cut ? (int)(cut - cls) : (int)strlen(cls),
		 cls, detail, s->sender ? s->sender : "",
		 ctx->rcpt ? " to=<" : "", ctx->rcpt ? ctx->rcpt : "",
		 ctx->rcpt ? ">" : "", s->protocol, s->helo ? s->helo : "");
}

static void log_action(struct check_ctx *ctx, const char *action,
		       const char *key, const char *text)
{
	struct strbuf *detail = strbuf_new(STRBUF_NO_MAX);

	strbuf_printf(detail, "%s action", action);
	if (*text)
		strbuf_printf(detail, ": %s", text);
	log_whatsup(ctx, strcmp(action, "HOLD") == 0 ? "hold" : "discard", key,
		    strbuf_str(detail));
	strbuf_free(&detail);
}

/* An address argument of REDIRECT or BCC: one word of printable ASCII
 * (or UTF-8) with an '@', no longer than an address may be. */
static int action_addr_ok(const char *addr)
{
	size_t n = strlen(addr);

	if (n == 0 || n > 512 || strchr(addr, '@') == NULL)
		return 0;
	for (const char *p = addr; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == 127 || *p == '<' ||
		    *p == '>')
			return 0;
	return 1;
}

/* A PREPEND argument: "Name: value", printable, one line. */
static int action_header_ok(const char *text)
{
	size_t n = strlen(text);

	if (n == 0 || n > 998 || mime_header_name_len(text, n) == 0)
		return 0;
	for (const char *p = text; *p; p++)
		if (((unsigned char)*p < ' ' && *p != '\t') || *p == 127)
			return 0;
	return 1;
}

/* Replace *field with a copy of value: the last action of a kind wins. */
static void action_save(char **field, const char *value)
{
	myfree(*field);
	*field = mystrdup(value);
}

/* PREPEND, REDIRECT, FILTER and BCC: recorded for cleanup, which carries
 * them out; none of them decides, so evaluation goes on (DUNNO). -1 if
 * value is not one of them. */
static int delegated_action(struct check_ctx *ctx, const char *table,
			    const char *key, const char *value)
{
	struct smtpd_state *s = ctx->state;
	struct strbuf *detail;
	const char *rest;

	if (word_is(value, "PREPEND", &rest)) {
		if (!action_header_ok(rest))
			goto bad;
		if (s->prepend_count >= SMTPD_PREPEND_MAX) {
			msg_warn("%s: too many PREPEND actions; \"%s\" dropped",
				 table, rest);
			return SMTPD_CHECK_DUNNO;
		}
		s->prepend = myreallocarray(s->prepend, s->prepend_count + 2,
					    sizeof(char *));
		s->prepend[s->prepend_count++] = mystrdup(rest);
		s->prepend[s->prepend_count] = NULL;
		return SMTPD_CHECK_DUNNO;
	}
	detail = strbuf_new(STRBUF_NO_MAX);
	if (word_is(value, "REDIRECT", &rest)) {
		if (!action_addr_ok(rest))
			goto bad_free;
		action_save(&s->redirect, rest);
		strbuf_printf(detail, "REDIRECT %s", rest);
		log_whatsup(ctx, "redirect", key, strbuf_str(detail));
	} else if (word_is(value, "BCC", &rest)) {
		if (!action_addr_ok(rest))
			goto bad_free;
		action_save(&s->bcc, rest);
		strbuf_printf(detail, "BCC %s", rest);
		log_whatsup(ctx, "bcc", key, strbuf_str(detail));
	} else if (word_is(value, "FILTER", &rest)) {
		/* transport:destination; the transport may not be empty. */
		const char *colon = strchr(rest, ':');

		if (colon == NULL || colon == rest ||
		    strpbrk(rest, " \t") != NULL || strlen(rest) > 512)
			goto bad_free;
		action_save(&s->filter, rest);
		strbuf_printf(detail, "FILTER %s", rest);
		log_whatsup(ctx, "filter", key, strbuf_str(detail));
	} else {
		strbuf_free(&detail);
		return -1;
	}
	strbuf_free(&detail);
	return SMTPD_CHECK_DUNNO;
bad_free:
	strbuf_free(&detail);
bad:
	msg_warn("%s: bad %s action argument for key \"%s\"", table, value,
		 key);
	return config_error(ctx);
}

/* Apply an access table value (access(5)). */
static int access_action(struct check_ctx *ctx, const char *table,
			 const char *key, const char *value)
{
	const char *rest;
	const char *what = class_text[ctx->cls];
	int rc;

	if (word_is(value, "OK", &rest))
		return SMTPD_CHECK_OK;
	if (strspn(value, "0123456789") == strlen(value) && *value)
		return SMTPD_CHECK_OK; /* Postfix: all-numeric means OK */
	if (word_is(value, "DUNNO", &rest))
		return SMTPD_CHECK_DUNNO;
	if (word_is(value, "REJECT", &rest))
		return check_reject(ctx, 554, "5.7.1", "<%s>: %s: %s", key,
				    what, *rest ? rest : "Access denied");
	if (word_is(value, "DEFER", &rest))
		return check_reject(ctx, 450, "4.7.1", "<%s>: %s: %s", key,
				    what, *rest ? rest : "Access denied");
	if (word_is(value, "DEFER_IF_PERMIT", &rest)) {
		if (ctx->defer_if_permit == NULL) {
			struct strbuf *r = strbuf_new(STRBUF_NO_MAX);

			strbuf_printf(r, "450 4.7.1 <%s>: %s: %s", key, what,
				      *rest ? rest : "Access denied");
			ctx->defer_if_permit = strbuf_export(r);
			strbuf_free(&r);
		}
		return SMTPD_CHECK_DUNNO;
	}
	if (word_is(value, "DEFER_IF_REJECT", &rest)) {
		ctx->defer_if_reject = 1;
		return SMTPD_CHECK_DUNNO;
	}
	if (word_is(value, "DISCARD", &rest)) {
		ctx->state->cleanup_flags |= CLEANUP_FLAG_DISCARD;
		log_action(ctx, "DISCARD", key, rest);
		return SMTPD_CHECK_OK;
	}
	/* HOLD permits, like DISCARD, and the message goes to hold/
	 * (cleanup is told before the content, with a flags record). */
	if (word_is(value, "HOLD", &rest)) {
		ctx->state->cleanup_flags |= CLEANUP_FLAG_HOLD;
		log_action(ctx, "HOLD", key, rest);
		return SMTPD_CHECK_OK;
	}
	if ((rc = delegated_action(ctx, table, key, value)) >= 0)
		return rc;
	if (word_is(value, "WARN", &rest)) {
		msg_info("%s: warn: %s from %s: %s",
			 ctx->state->queue_id ? ctx->state->queue_id
					      : "NOQUEUE",
			 ctx->state->where, ctx->state->namaddr, rest);
		return SMTPD_CHECK_DUNNO;
	}
	/* "4NN text" / "5NN text", with or without an enhanced code. */
	if ((value[0] == '4' || value[0] == '5') &&
	    isdigit((unsigned char)value[1]) &&
	    isdigit((unsigned char)value[2]) &&
	    (value[3] == ' ' || value[3] == '\t' || value[3] == 0)) {
		int code = atoi(value);
		char enh[16];

		for (rest = value + 3; *rest == ' ' || *rest == '\t'; rest++)
			;
		snprintf(enh, sizeof(enh), "%c.7.1", value[0]);
		if (rest[0] == value[0] && rest[1] == '.') {
			size_t n = strcspn(rest, " \t");

			if (n < sizeof(enh)) {
				memcpy(enh, rest, n);
				enh[n] = 0;
				for (rest += n; *rest == ' ' || *rest == '\t';
				     rest++)
					;
			}
		}
		return check_reject(ctx, code, enh, "<%s>: %s: %s", key, what,
				    *rest ? rest : "Access denied");
	}
	/* Anything else must be a restriction list ("permit_mynetworks,
	 * reject"): evaluated in place, once deep. */
	if (islower((unsigned char)value[0]) && ctx->depth < CHECK_DEPTH_MAX) {
		char **list = conf_list_split(value);

		ctx->depth++;
		rc = eval_list(ctx, list, table);
		ctx->depth--;
		conf_list_free(&list);
		return rc;
	}
	msg_warn("%s: unsupported access action \"%s\" for key \"%s\"", table,
		 value, key);
	return config_error(ctx);
}

/* Look key up in table; apply the result. */
static int access_check(struct check_ctx *ctx, const char *table,
			const char *key, enum access_key_type type,
			const char *reply_key)
{
	struct dict *dict = table_get(table);
	const char *value;
	int rc;

	if (dict == NULL)
		return config_error(ctx);
	rc = access_lookup(dict, key, type, &value, NULL);
	if (rc == DICT_ERROR) {
		msg_warn("%s lookup error for \"%s\": %s", table, key,
			 dict_error(dict));
		return config_error(ctx);
	}
	if (rc != DICT_FOUND)
		return SMTPD_CHECK_DUNNO;
	/* value belongs to the dict until its next lookup: copy it, since a
	 * nested restriction list may look up the same table again. */
	char *copy = mystrdup(value);

	rc = access_action(ctx, table, reply_key, copy);
	myfree(copy);
	return rc;
}

static int r_permit(struct check_ctx *ctx, const char *table)
{
	(void)ctx;
	(void)table;
	return SMTPD_CHECK_OK;
}

static int r_reject(struct check_ctx *ctx, const char *table)
{
	(void)table;
	return check_reject(ctx, 554, "5.7.1", "<%s>: %s: Access denied",
			    reply_name(ctx), class_text[ctx->cls]);
}

static int r_defer(struct check_ctx *ctx, const char *table)
{
	(void)table;
	return check_reject(ctx, 450, "4.7.1", "<%s>: %s: Access denied",
			    reply_name(ctx), class_text[ctx->cls]);
}

static int r_permit_mynetworks(struct check_ctx *ctx, const char *table)
{
	(void)table;
	return ctx->state->in_mynetworks ? SMTPD_CHECK_OK : SMTPD_CHECK_DUNNO;
}

/* SASL seam: no SASL yet, so nobody is authenticated. */
static int r_permit_sasl_authenticated(struct check_ctx *ctx, const char *table)
{
	(void)ctx;
	(void)table;
	return SMTPD_CHECK_DUNNO;
}

static struct match_list *list_mynetworks, *list_newline_exclusions;
static int lists_broken; /* a list above failed to parse */
static int relay_unsafe; /* no unauth_destination/reject/defer */

/* The address class of addr's domain: global/resolve.c decides it, for
 * smtpd as for qmgr, so the two can never disagree about which domains
 * are ours. 0, or -1 and a reason in why when a table failed. */
static int addr_class(const char *addr, enum resolve_class *cls,
		      struct strbuf *why)
{
	if (lists_broken) {
		(void)strbuf_set(why, "a network list is malformed");
		return -1;
	}
	return resolve_class(addr, cls, why);
}

/* 1 if the recipient's domain is one we accept mail for from anyone
 * (local, virtual or relay), 0 if not, -1 on a lookup error (logged). */
static int rcpt_domain_ok(const char *rcpt)
{
	struct strbuf *why = strbuf_new(STRBUF_NO_MAX);
	enum resolve_class cls;
	const char *at = strrchr(rcpt, '@');
	int rc;

	if (addr_class(rcpt, &cls, why) < 0) {
		msg_warn("%s", strbuf_str(why));
		strbuf_free(&why);
		return -1;
	}
	strbuf_free(&why);
	switch (cls) {
	case RESOLVE_CLASS_DEFAULT:
		rc = 0;
		break;
	case RESOLVE_CLASS_RELAY:
		/* Sender-specified routing through a relay domain is how
		 * "user%victim@relay" abuses a backup MX: refuse it. */
		rc = !(at != NULL && strpbrk(rcpt, "!%") != NULL &&
		       strpbrk(rcpt, "!%") < at);
		break;
	default:
		rc = 1;
		break;
	}
	return rc;
}

static int unauth_destination(struct check_ctx *ctx, int code, const char *enh)
{
	int rc;

	if (ctx->rcpt == NULL)
		return SMTPD_CHECK_DUNNO;
	rc = rcpt_domain_ok(ctx->rcpt);
	if (rc < 0)
		return config_error(ctx);
	if (rc == 1)
		return SMTPD_CHECK_DUNNO;
	return check_reject(ctx, code, enh, "<%s>: Relay access denied",
			    ctx->rcpt);
}

static int r_reject_unauth_destination(struct check_ctx *ctx, const char *t)
{
	(void)t;
	return unauth_destination(ctx, 554, "5.7.1");
}

static int r_defer_unauth_destination(struct check_ctx *ctx, const char *t)
{
	(void)t;
	return unauth_destination(ctx, 454, "4.7.1");
}

static int r_reject_unauth_pipelining(struct check_ctx *ctx, const char *t)
{
	(void)t;
	if (!ctx->state->unauth_pipelining)
		return SMTPD_CHECK_DUNNO;
	return check_reject(ctx, 503, "5.5.0",
			    "<%s>: %s: Improper use of SMTP command pipelining",
			    reply_name(ctx), class_text[ctx->cls]);
}

static int r_check_client_access(struct check_ctx *ctx, const char *table)
{
	struct smtpd_state *s = ctx->state;
	int rc = SMTPD_CHECK_DUNNO;

	if (strcmp(s->name, "unknown") != 0)
		rc = access_check(ctx, table, s->name, ACCESS_KEY_DOMAIN,
				  s->namaddr);
	if (rc == SMTPD_CHECK_DUNNO)
		rc = access_check(ctx, table, s->addr, ACCESS_KEY_IPADDR,
				  s->namaddr);
	return rc;
}

static int r_check_helo_access(struct check_ctx *ctx, const char *table)
{
	const char *helo = ctx->state->helo;

	if (helo == NULL)
		return SMTPD_CHECK_DUNNO;
	return access_check(ctx, table, helo, ACCESS_KEY_DOMAIN, helo);
}

static int r_check_sender_access(struct check_ctx *ctx, const char *table)
{
	struct smtpd_state *s = ctx->state;

	if (!s->in_mail)
		return SMTPD_CHECK_DUNNO;
	/* The null sender is looked up as "<>" (smtpd_null_access_lookup_key).
	 */
	return access_check(ctx, table, *s->mail.addr ? s->mail.addr : "<>",
			    ACCESS_KEY_ADDRESS, s->sender);
}

static int r_check_recipient_access(struct check_ctx *ctx, const char *table)
{
	if (ctx->rcpt == NULL)
		return SMTPD_CHECK_DUNNO;
	return access_check(ctx, table, ctx->rcpt, ACCESS_KEY_ADDRESS,
			    ctx->rcpt);
}

/* A host name: labels of letters, digits, '-' and '_' (Postfix allows
 * the underscore), each 1..63, at most 255 in all; or an address
 * literal. */
static int valid_hostname(const char *name)
{
	size_t n = strlen(name), label = 0;

	if (n == 0 || n > 255)
		return 0;
	if (name[0] == '[')
		return name[n - 1] == ']';
	for (const char *p = name; *p; p++) {
		if (*p == '.') {
			if (label == 0)
				return 0;
			label = 0;
		} else if (isalnum((unsigned char)*p) || *p == '-' ||
			   *p == '_') {
			if (++label > 63)
				return 0;
		} else {
			return 0;
		}
	}
	return 1;
}

static int fqdn(const char *name)
{
	size_t n = strlen(name);

	if (name[0] == '[')
		return 1;
	return strchr(name, '.') != NULL && name[n - 1] != '.' &&
	       name[0] != '.';
}

static int r_reject_invalid_helo_hostname(struct check_ctx *ctx, const char *t)
{
	const char *helo = ctx->state->helo;

	(void)t;
	if (helo == NULL || valid_hostname(helo))
		return SMTPD_CHECK_DUNNO;
	return check_reject(ctx, 501, "5.5.2",
			    "<%s>: Helo command rejected: "
			    "Invalid name",
			    helo);
}

static int r_reject_non_fqdn_helo_hostname(struct check_ctx *ctx, const char *t)
{
	const char *helo = ctx->state->helo;

	(void)t;
	if (helo == NULL || (valid_hostname(helo) && fqdn(helo)))
		return SMTPD_CHECK_DUNNO;
	return check_reject(ctx, 504, "5.5.2",
			    "<%s>: Helo command rejected: "
			    "need fully-qualified hostname",
			    helo);
}

static int non_fqdn_address(const char *addr)
{
	const char *at = strrchr(addr, '@');

	return at == NULL || !valid_hostname(at + 1) || !fqdn(at + 1);
}

static int r_reject_non_fqdn_sender(struct check_ctx *ctx, const char *t)
{
	struct smtpd_state *s = ctx->state;

	(void)t;
	if (!s->in_mail || *s->mail.addr == 0 ||
	    !non_fqdn_address(s->mail.addr))
		return SMTPD_CHECK_DUNNO;
	return check_reject(ctx, 504, "5.5.2",
			    "<%s>: Sender address rejected: "
			    "need fully-qualified address",
			    s->sender);
}

static int r_reject_non_fqdn_recipient(struct check_ctx *ctx, const char *t)
{
	(void)t;
	if (ctx->rcpt == NULL || !non_fqdn_address(ctx->rcpt))
		return SMTPD_CHECK_DUNNO;
	return check_reject(ctx, 504, "5.5.2",
			    "<%s>: Recipient address "
			    "rejected: need fully-qualified address",
			    ctx->rcpt);
}

/* --- reject_unlisted_recipient / reject_unlisted_sender --- */

/* A new string: the first alen bytes of a, then b. */
static char *join_key(const char *a, size_t alen, const char *b)
{
	size_t blen = strlen(b);
	char *out = mymalloc(mymalloc_add(mymalloc_add(alen, blen), 1));

	memcpy(out, a, alen);
	memcpy(out + alen, b, blen + 1);
	return out;
}

/* The keys a user table is asked, in Postfix's order: the address, then
 * (local domains only) the local part, then "@domain"; each with the
 * address extension (recipient_delimiter) first and then without it,
 * all lowercased. A NULL-terminated array of malloc'd strings. */
static char **user_keys(const char *addr, int local)
{
	const char *at = strrchr(addr, '@');
	size_t lplen = at ? (size_t)(at - addr) : strlen(addr);
	size_t ext = lplen; /* where the extension starts */
	char **keys = mycalloc(6, sizeof(char *));
	size_t n = 0;

	if (*var_recipient_delimiter) {
		/* UNSAFE: strcspn stays inside addr's local part. */
		size_t d = strcspn(addr, var_recipient_delimiter);

		if (d > 0 && d < lplen)
			ext = d;
	}
	keys[n++] = mystrdup(addr);
	if (ext < lplen)
		keys[n++] = at ? join_key(addr, ext, at) : mystrndup(addr, ext);
	if (at != NULL && local) {
		keys[n++] = mystrndup(addr, lplen);
		if (ext < lplen)
			keys[n++] = mystrndup(addr, ext);
	}
	if (at != NULL && at[1] != 0)
		keys[n++] = mystrdup(at);
	keys[n] = NULL;
	/* Lowercased for every table type, unix: included (it does not
	 * fold keys itself): Postfix's lookups are case-insensitive. */
	for (size_t i = 0; i < n; i++)
		for (char *cp = keys[i]; *cp; cp++)
			*cp = (char)tolower((unsigned char)*cp);
	return keys;
}

/* Is addr in the tables of param (value maps)? 1 yes, 0 no, -1 a table
 * could not be opened or failed (logged). */
static int user_find(const char *param, const char *maps, const char *addr,
		     int local)
{
	char **specs = conf_list_split(maps);
	char **keys = user_keys(addr, local);
	const char *value;
	int rc = 0;

	for (char **kp = keys; *kp != NULL && rc == 0; kp++) {
		for (char **tp = specs; *tp != NULL && rc == 0; tp++) {
			struct dict *dict = table_get(*tp);
			int r;

			if (dict == NULL) {
				msg_warn("%s: table %s is not available", param,
					 *tp);
				rc = -1;
				break;
			}
			/* A pattern table is asked with the address only. */
			if ((dict->flags & DICT_PATTERN) && kp != keys)
				continue;
			r = dict_lookup(dict, *kp, &value);
			if (r == DICT_FOUND)
				rc = 1;
			else if (r == DICT_ERROR) {
				msg_warn("%s: %s lookup error for \"%s\": %s",
					 param, *tp, *kp, dict_error(dict));
				rc = -1;
			}
		}
	}
	for (char **kp = keys; *kp != NULL; kp++)
		myfree(*kp);
	myfree(keys);
	conf_list_free(&specs);
	return rc;
}

/* 1 if addr's local part is name (case-insensitive), with or without a
 * domain. */
static int local_part_is(const char *addr, const char *name)
{
	size_t n = strlen(name);

	return strncasecmp(addr, name, n) == 0 &&
	       (addr[n] == '@' || addr[n] == 0);
}

/* Does addr exist where its class says it must be listed? Postfix's
 * check_rcpt_maps: an address that a canonical or the virtual alias
 * table knows always exists; otherwise local, virtual alias, virtual
 * mailbox and relay (when relay_recipient_maps is set) addresses must be
 * in their table; the default class is someone else's business. */
static int unlisted(struct check_ctx *ctx, const char *addr, int is_sender)
{
	struct strbuf *why;
	enum resolve_class cls;
	const char *what = is_sender ? "Sender address" : "Recipient address";
	const char *param = NULL, *maps = NULL, *table = NULL;
	int code = 0, rc, local;

	if (addr == NULL || *addr == 0)
		return SMTPD_CHECK_DUNNO;
	why = strbuf_new(STRBUF_NO_MAX);
	rc = addr_class(addr, &cls, why);
	if (rc < 0)
		msg_warn("%s", strbuf_str(why));
	strbuf_free(&why);
	if (rc < 0)
		goto retry;
	if (cls == RESOLVE_CLASS_DEFAULT)
		return SMTPD_CHECK_DUNNO;
	local = cls == RESOLVE_CLASS_LOCAL;
	if ((rc = user_find("recipient_canonical_maps",
			    var_recipient_canonical_maps, addr, local)) != 0 ||
	    (is_sender &&
	     (rc = user_find("sender_canonical_maps", var_sender_canonical_maps,
			     addr, local)) != 0) ||
	    (rc = user_find("canonical_maps", var_canonical_maps, addr,
			    local)) != 0 ||
	    (rc = user_find("virtual_alias_maps", var_virtual_alias_maps, addr,
			    local)) != 0) {
		if (rc < 0)
			goto retry;
		return SMTPD_CHECK_DUNNO;
	}
	switch (cls) {
	case RESOLVE_CLASS_LOCAL:
		/* Always there, as in Postfix: postmaster (RFC 5321, and
		 * qmgr takes it), and the senders of our own bounces. */
		if (local_part_is(addr, "postmaster") ||
		    local_part_is(addr, "mailer-daemon") ||
		    (*var_double_bounce_sender &&
		     local_part_is(addr, var_double_bounce_sender)))
			return SMTPD_CHECK_DUNNO;
		param = "local_recipient_maps";
		maps = var_local_recipient_maps;
		table = "local recipient table";
		code = var_unknown_local_recipient_reject_code;
		break;
	case RESOLVE_CLASS_ALIAS:
		table = "virtual alias table";
		code = var_unknown_virtual_alias_reject_code;
		break;
	case RESOLVE_CLASS_VIRTUAL:
		param = "virtual_mailbox_maps";
		maps = var_virtual_mailbox_maps;
		table = "virtual mailbox table";
		code = var_unknown_virtual_mailbox_reject_code;
		break;
	case RESOLVE_CLASS_RELAY:
		param = "relay_recipient_maps";
		maps = var_relay_recipient_maps;
		table = "relay recipient table";
		code = var_unknown_relay_recipient_reject_code;
		break;
	case RESOLVE_CLASS_DEFAULT:
		return SMTPD_CHECK_DUNNO;
	}
	if (maps != NULL) {
		char **list = conf_list_split(maps);
		int empty = list[0] == NULL;

		conf_list_free(&list);
		/* Empty: the admin does not know the users, accept all. */
		if (empty)
			return SMTPD_CHECK_DUNNO;
		rc = user_find(param, maps, addr, local);
		if (rc < 0)
			goto retry;
		if (rc > 0)
			return SMTPD_CHECK_DUNNO;
	}
	if (code < 400 || code > 599)
		code = 550;
	return check_reject(ctx, code,
			    code >= 500 ? (is_sender ? "5.1.0" : "5.1.1")
					: (is_sender ? "4.1.0" : "4.1.1"),
			    "<%s>: %s rejected: User unknown in %s", addr, what,
			    table);
retry:
	return check_reject(ctx, 451, "4.3.0", "<%s>: Temporary lookup failure",
			    addr);
}

static int r_reject_unlisted_recipient(struct check_ctx *ctx, const char *t)
{
	int rc;

	(void)t;
	if (ctx->rcpt == NULL || ctx->rcpt_listed)
		return SMTPD_CHECK_DUNNO;
	rc = unlisted(ctx, ctx->rcpt, 0);
	if (rc == SMTPD_CHECK_DUNNO)
		ctx->rcpt_listed = 1;
	return rc;
}

static int r_reject_unlisted_sender(struct check_ctx *ctx, const char *t)
{
	struct smtpd_state *s = ctx->state;
	int rc;

	(void)t;
	if (!s->in_mail || ctx->sender_listed)
		return SMTPD_CHECK_DUNNO;
	rc = unlisted(ctx, s->mail.addr, 1);
	if (rc == SMTPD_CHECK_DUNNO)
		ctx->sender_listed = 1;
	return rc;
}

/* THE table of restriction names. Keep smtpd(8) in step. */
static const struct restriction restriction_table[] = {
    {"permit", 0, r_permit, "permit: stop this list with a permit"},
    {"reject", 0, r_reject, "reject: 554 5.7.1"},
    {"defer", 0, r_defer, "defer: 450 4.7.1"},
    {"permit_mynetworks", 0, r_permit_mynetworks, "client in mynetworks"},
    {"permit_sasl_authenticated", 0, r_permit_sasl_authenticated,
     "SASL-authenticated client (never matches yet)"},
    {"reject_unauth_destination", 0, r_reject_unauth_destination,
     "554 5.7.1 Relay access denied"},
    {"defer_unauth_destination", 0, r_defer_unauth_destination,
     "454 4.7.1 Relay access denied"},
    {"reject_unauth_pipelining", 0, r_reject_unauth_pipelining,
     "503 5.5.0 improper pipelining"},
    {"check_client_access", 1, r_check_client_access, "client name/address"},
    {"check_helo_access", 1, r_check_helo_access, "HELO name"},
    {"check_sender_access", 1, r_check_sender_access, "MAIL FROM address"},
    {"check_recipient_access", 1, r_check_recipient_access, "RCPT TO address"},
    {"reject_invalid_helo_hostname", 0, r_reject_invalid_helo_hostname,
     "501 5.5.2 Invalid name"},
    {"reject_non_fqdn_helo_hostname", 0, r_reject_non_fqdn_helo_hostname,
     "504 5.5.2 need fully-qualified hostname"},
    {"reject_non_fqdn_sender", 0, r_reject_non_fqdn_sender,
     "504 5.5.2 need fully-qualified address"},
    {"reject_non_fqdn_recipient", 0, r_reject_non_fqdn_recipient,
     "504 5.5.2 need fully-qualified address"},
    {"reject_unlisted_recipient", 0, r_reject_unlisted_recipient,
     "550 5.1.1 User unknown in ... table"},
    {"reject_unlisted_sender", 0, r_reject_unlisted_sender,
     "550 5.1.0 User unknown in ... table"},
    /* Seams: permit_tls_clientcerts, check_policy_service, check_spf. */
};

static const struct restriction *restriction_find(const char *name)
{
	for (size_t i = 0;
	     i < sizeof(restriction_table) / sizeof(restriction_table[0]); i++)
		if (strcasecmp(restriction_table[i].name, name) == 0)
			return &restriction_table[i];
	return NULL;
}

static int eval_list(struct check_ctx *ctx, char **list, const char *param)
{
	for (char **np = list; *np != NULL; np++) {
		const struct restriction *r = restriction_find(*np);
		const char *table = NULL;
		int rc;

		if (r == NULL) {
			msg_warn("%s: unknown smtpd restriction: \"%s\"", param,
				 *np);
			return config_error(ctx);
		}
		if (r->takes_table) {
			table = np[1];
			if (table == NULL || strchr(table, ':') == NULL) {
				msg_warn("%s: restriction %s needs a "
					 "type:table argument",
					 param, r->name);
				return config_error(ctx);
			}
			np++;
		}
		rc = r->fn(ctx, table);
		if (rc != SMTPD_CHECK_DUNNO)
			return rc;
	}
	return SMTPD_CHECK_DUNNO;
}

/* Evaluate one main.cf restriction list for cls. */
static int eval_param(struct check_ctx *ctx, const char *param,
		      const char *value, enum check_class cls)
{
	char **list = conf_list_split(value);
	int rc;

	ctx->cls = cls;
	rc = eval_list(ctx, list, param);
	conf_list_free(&list);
	return rc;
}

static int has_word(const char *value, const char *const *words)
{
	char **list = conf_list_split(value);
	int found = 0;

	for (char **np = list; *np && !found; np++)
		for (const char *const *w = words; *w; w++)
			if (strcasecmp(*np, *w) == 0)
				found = 1;
	conf_list_free(&list);
	return found;
}

static struct match_list *list_make(const char *name, const char *value,
				    int flags)
{
	struct strbuf *why = strbuf_new(STRBUF_NO_MAX);
	struct match_list *list = match_list_new(name, value, flags, why);

	if (list == NULL) {
		msg_warn("%s", strbuf_str(why));
		lists_broken = 1;
		list = match_list_new(name, "", flags, why);
	}
	strbuf_free(&why);
	return list;
}

void smtpd_check_init(void)
{
	static const char *const closers[] = {"reject_unauth_destination",
					      "defer_unauth_destination",
					      "reject", "defer", NULL};

	list_mynetworks =
	    list_make("mynetworks", var_mynetworks, MATCH_LIST_ADDR);
	list_newline_exclusions = list_make(
	    "smtpd_forbid_bare_newline_exclusions",
	    var_smtpd_forbid_bare_newline_exclusions, MATCH_LIST_ADDR);
	/* The domain lists and transport_maps (msg_fatal if malformed: one
	 * piece of code decides address classes, and it must be right). */
	resolve_init();
	/* Open the tables now, before a chroot can hide them. */
	const char *const lists[] = {
	    var_smtpd_client_restrictions,     var_smtpd_helo_restrictions,
	    var_smtpd_sender_restrictions,     var_smtpd_relay_restrictions,
	    var_smtpd_recipient_restrictions,  var_smtpd_data_restrictions,
	    var_smtpd_end_of_data_restrictions};

	for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
		char **words = conf_list_split(lists[i]);

		for (char **np = words; *np != NULL; np++) {
			const struct restriction *r = restriction_find(*np);

			if (r != NULL && r->takes_table && np[1] != NULL &&
			    strchr(np[1], ':') != NULL)
				(void)table_get(*++np);
		}
		conf_list_free(&words);
	}
	/* The recipient tables too. One that cannot be opened is retried
	 * (and logged) at each use: a temporary error, not a crash. */
	const char *const maps[] = {
	    var_local_recipient_maps,  var_relay_recipient_maps,
	    var_virtual_mailbox_maps,  var_virtual_alias_maps,
	    var_canonical_maps,	       var_recipient_canonical_maps,
	    var_sender_canonical_maps,
	};

	for (size_t i = 0; i < sizeof(maps) / sizeof(maps[0]); i++) {
		char **words = conf_list_split(maps[i]);

		for (char **np = words; *np != NULL; np++)
			(void)table_get(*np);
		conf_list_free(&words);
	}
	if (!has_word(var_smtpd_relay_restrictions, closers) &&
	    !has_word(var_smtpd_recipient_restrictions, closers)) {
		msg_warn("in parameter smtpd_relay_restrictions or "
			 "smtpd_recipient_restrictions, specify at least one "
			 "of reject_unauth_destination, "
			 "defer_unauth_destination, reject or defer; until "
			 "then every recipient is refused");
		relay_unsafe = 1;
	}
}

int smtpd_check_mynetworks(const char *addr)
{
	struct strbuf *why = strbuf_new(STRBUF_NO_MAX);
	int rc = match_list_match(list_mynetworks, addr, why);

	if (rc < 0)
		msg_warn("%s", strbuf_str(why));
	strbuf_free(&why);
	return rc == 1;
}

int smtpd_check_newline_excluded(const char *addr)
{
	struct strbuf *why = strbuf_new(STRBUF_NO_MAX);
	int rc = match_list_match(list_newline_exclusions, addr, why);

	if (rc < 0)
		msg_warn("%s", strbuf_str(why));
	strbuf_free(&why);
	return rc == 1;
}

static void ctx_init(struct check_ctx *ctx, struct smtpd_state *state,
		     struct strbuf *reply)
{
	memset(ctx, 0, sizeof(*ctx));
	ctx->state = state;
	ctx->reply = reply;
}

/* A permit that DEFER_IF_PERMIT turned into a deferral. */
static int ctx_done(struct check_ctx *ctx, int rc)
{
	if (rc != SMTPD_CHECK_REJECT && ctx->defer_if_permit != NULL) {
		strbuf_set(ctx->reply, ctx->defer_if_permit);
		rc = SMTPD_CHECK_REJECT;
	}
	myfree(ctx->defer_if_permit);
	return rc == SMTPD_CHECK_REJECT ? rc : SMTPD_CHECK_OK;
}

/* smtpd_sender_restrictions, then smtpd_reject_unlisted_sender. */
static int sender_lists(struct check_ctx *ctx)
{
	int rc = eval_param(ctx, "smtpd_sender_restrictions",
			    var_smtpd_sender_restrictions, CLASS_SENDER);

	if (rc != SMTPD_CHECK_REJECT && var_smtpd_reject_unlisted_sender &&
	    r_reject_unlisted_sender(ctx, NULL) == SMTPD_CHECK_REJECT)
		rc = SMTPD_CHECK_REJECT;
	return rc;
}

/* The client, helo and sender lists as far as they apply now. */
static int early_lists(struct check_ctx *ctx, int upto)
{
	int rc;

	if (upto >= CLASS_CLIENT) {
		rc = eval_param(ctx, "smtpd_client_restrictions",
				var_smtpd_client_restrictions, CLASS_CLIENT);
		if (rc == SMTPD_CHECK_REJECT)
			return rc;
	}
	if (upto >= CLASS_HELO) {
		rc = eval_param(ctx, "smtpd_helo_restrictions",
				var_smtpd_helo_restrictions, CLASS_HELO);
		if (rc == SMTPD_CHECK_REJECT)
			return rc;
	}
	if (upto >= CLASS_SENDER)
		return sender_lists(ctx);
	return SMTPD_CHECK_DUNNO;
}

int smtpd_check_client(struct smtpd_state *state, struct strbuf *reply)
{
	struct check_ctx ctx;

	if (var_smtpd_delay_reject)
		return SMTPD_CHECK_OK;
	ctx_init(&ctx, state, reply);
	return ctx_done(&ctx, early_lists(&ctx, CLASS_CLIENT));
}

int smtpd_check_helo(struct smtpd_state *state, struct strbuf *reply)
{
	struct check_ctx ctx;

	if (var_smtpd_delay_reject)
		return SMTPD_CHECK_OK;
	ctx_init(&ctx, state, reply);
	ctx.cls = CLASS_HELO;
	return ctx_done(&ctx,
			eval_param(&ctx, "smtpd_helo_restrictions",
				   var_smtpd_helo_restrictions, CLASS_HELO));
}

int smtpd_check_mail(struct smtpd_state *state, struct strbuf *reply)
{
	struct check_ctx ctx;

	if (var_smtpd_delay_reject)
		return SMTPD_CHECK_OK;
	ctx_init(&ctx, state, reply);
	return ctx_done(&ctx, sender_lists(&ctx));
}

int smtpd_check_rcpt(struct smtpd_state *state, const char *rcpt,
		     struct strbuf *reply)
{
	struct check_ctx ctx;
	int rc;

	ctx_init(&ctx, state, reply);
	ctx.rcpt = rcpt;
	if (relay_unsafe) {
		ctx.cls = CLASS_RECIPIENT;
		return ctx_done(&ctx, config_error(&ctx));
	}
	if (var_smtpd_delay_reject) {
		rc = early_lists(&ctx, CLASS_SENDER);
		if (rc == SMTPD_CHECK_REJECT)
			return ctx_done(&ctx, rc);
	}
	rc = eval_param(&ctx, "smtpd_relay_restrictions",
			var_smtpd_relay_restrictions, CLASS_RECIPIENT);
	if (rc == SMTPD_CHECK_REJECT)
		return ctx_done(&ctx, rc);
	rc = eval_param(&ctx, "smtpd_recipient_restrictions",
			var_smtpd_recipient_restrictions, CLASS_RECIPIENT);
	/* A recipient the lists did not refuse must still exist (unless
	 * a list already checked that). A permit from the lists does not
	 * skip this: it says who may send, not who exists. */
	if (rc != SMTPD_CHECK_REJECT && var_smtpd_reject_unlisted_sender) {
		ctx.cls = CLASS_SENDER;
		if (r_reject_unlisted_sender(&ctx, NULL) == SMTPD_CHECK_REJECT)
			rc = SMTPD_CHECK_REJECT;
	}
	if (rc != SMTPD_CHECK_REJECT && var_smtpd_reject_unlisted_recipient) {
		ctx.cls = CLASS_RECIPIENT;
		if (r_reject_unlisted_recipient(&ctx, NULL) ==
		    SMTPD_CHECK_REJECT)
			rc = SMTPD_CHECK_REJECT;
	}
	/* Seams: the policy service, SPF and the milter RCPT event run here,
	 * after the built-in restrictions accepted the recipient. */
	return ctx_done(&ctx, rc);
}

int smtpd_check_data(struct smtpd_state *state, const char *what,
		     struct strbuf *reply)
{
	struct check_ctx ctx;

	ctx_init(&ctx, state, reply);
	ctx.data_what = what;
	return ctx_done(&ctx,
			eval_param(&ctx, "smtpd_data_restrictions",
				   var_smtpd_data_restrictions, CLASS_DATA));
}

int smtpd_check_eod(struct smtpd_state *state, struct strbuf *reply)
{
	struct check_ctx ctx;

	ctx_init(&ctx, state, reply);
	return ctx_done(&ctx, eval_param(&ctx, "smtpd_end_of_data_restrictions",
					 var_smtpd_end_of_data_restrictions,
					 CLASS_EOD));
}
