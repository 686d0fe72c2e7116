/*
 * resolve - address class, transport and next hop of a recipient.
 *
 * Everything is decided from main.cf and the tables opened once by
 * resolve_init(); a lookup never blocks on anything but those tables.
 * A table that fails makes the whole answer an error: the caller defers
 * (qmgr) or answers 451 (smtpd), never falls back to a default route.
 */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "dict.h"
#include "mail_params.h"
#include "maps.h"
#include "match_list.h"
#include "msg.h"
#include "mymalloc.h"
#include "resolve.h"
#include "strbuf.h"

static struct match_list *rs_mydestination, *rs_alias_domains;
static struct match_list *rs_virtual_domains, *rs_relay_domains, *rs_own;
static struct maps *rs_transport;
static int rs_ready;

static struct match_list *rs_list(const char *name, const char *value,
				  int flags)
{
	struct strbuf *why = strbuf_new(STRBUF_NO_MAX);
	struct match_list *list = match_list_new(name, value, flags, why);

	if (list == NULL)
		msg_fatal("%s", strbuf_str(why));
	strbuf_free(&why);
	return list;
}

void resolve_init(void)
{
	char *err = NULL;
	char *own;

	if (rs_ready)
		return;
	rs_mydestination =
	    rs_list("mydestination", var_mydestination, MATCH_LIST_DOMAIN);
	rs_alias_domains = rs_list("virtual_alias_domains",
				   var_virtual_alias_domains, MATCH_LIST_DOMAIN);
	rs_virtual_domains =
	    rs_list("virtual_mailbox_domains", var_virtual_mailbox_domains,
		    MATCH_LIST_DOMAIN);
	rs_relay_domains = rs_list("relay_domains", var_relay_domains,
				   MATCH_LIST_DOMAIN | MATCH_LIST_PARENT);
	/* [address] literals are ours when they name one of our interfaces. */
	if ((own = match_list_mynetworks("host", &err)) == NULL)
		msg_fatal("cannot list this host's addresses: %s", err);
	rs_own = rs_list("inet_interfaces", own, MATCH_LIST_ADDR);
	myfree(own);
	rs_transport = maps_open("transport_maps", var_transport_maps, &err);
	if (err != NULL)
		msg_fatal("%s", err);
	rs_ready = 1;
}

const char *resolve_class_name(enum resolve_class cls)
{
	switch (cls) {
	case RESOLVE_CLASS_LOCAL:
		return "local";
	case RESOLVE_CLASS_ALIAS:
		return "virtual alias";
	case RESOLVE_CLASS_VIRTUAL:
		return "virtual mailbox";
	case RESOLVE_CLASS_RELAY:
		return "relay";
	case RESOLVE_CLASS_DEFAULT:
		return "default";
	}
	return "unknown";
}

/* The domain of addr, lower case, without a trailing dot; "" if none. */
static void rs_domain(const char *addr, struct strbuf *domain)
{
	const char *at = strrchr(addr, '@');
	size_t len;

	strbuf_reset(domain);
	if (at == NULL)
		return;
	len = strlen(at + 1);
	if (len > 0 && at[len] == '.')
		len--;
	for (size_t i = 0; i < len; i++)
		(void)strbuf_putc(domain, tolower((unsigned char)at[1 + i]));
}

/* 1 if the [literal] names one of our addresses, 0 if not, -1 error. */
static int rs_own_literal(const char *domain, struct strbuf *why)
{
	size_t n = strlen(domain);
	char addr[64];
	const char *a = domain + 1;

	if (n < 3 || domain[n - 1] != ']')
		return 0;
	n -= 2;
	if (n > 5 && strncasecmp(a, "ipv6:", 5) == 0)
		a += 5, n -= 5;
	if (n >= sizeof(addr))
		return 0;
	memcpy(addr, a, n);
	addr[n] = 0;
	return match_list_match(rs_own, addr, why);
}

static int rs_class_of(const char *domain, enum resolve_class *cls,
		       struct strbuf *why)
{
	int rc;

	if (*domain == 0) {
		*cls = RESOLVE_CLASS_LOCAL;
		return 0;
	}
	if (domain[0] == '[') {
		if ((rc = rs_own_literal(domain, why)) < 0)
			return -1;
		*cls = rc ? RESOLVE_CLASS_LOCAL : RESOLVE_CLASS_DEFAULT;
		return 0;
	}
	if ((rc = match_list_match(rs_mydestination, domain, why)) != 0) {
		*cls = RESOLVE_CLASS_LOCAL;
		return rc < 0 ? -1 : 0;
	}
	if ((rc = match_list_match(rs_alias_domains, domain, why)) != 0) {
		*cls = RESOLVE_CLASS_ALIAS;
		return rc < 0 ? -1 : 0;
	}
	if ((rc = match_list_match(rs_virtual_domains, domain, why)) != 0) {
		*cls = RESOLVE_CLASS_VIRTUAL;
		return rc < 0 ? -1 : 0;
	}
	if ((rc = match_list_match(rs_relay_domains, domain, why)) != 0) {
		*cls = RESOLVE_CLASS_RELAY;
		return rc < 0 ? -1 : 0;
	}
	*cls = RESOLVE_CLASS_DEFAULT;
	return 0;
}

int resolve_class(const char *addr, enum resolve_class *cls,
		  struct strbuf *why)
{
	struct strbuf *domain = strbuf_new(STRBUF_NO_MAX);
	int rc;

	if (!rs_ready)
		msg_panic("resolve_class: resolve_init was not called");
	rs_domain(addr, domain);
	rc = rs_class_of(strbuf_str(domain), cls, why);
	strbuf_free(&domain);
	return rc;
}

/* Split "transport:nexthop"; an empty half leaves the old value. */
static void rs_apply(struct resolve_reply *reply, const char *value)
{
	const char *colon = strchr(value, ':');
	size_t tlen = colon ? (size_t)(colon - value) : strlen(value);

	if (tlen > 0) {
		myfree(reply->transport);
		reply->transport = mystrndup(value, tlen);
	}
	if (colon != NULL && colon[1] != 0) {
		myfree(reply->nexthop);
		reply->nexthop = mystrdup(colon + 1);
	}
}

/* transport_maps: address, domain, .parent ..., "*". */
static int rs_transport_lookup(const char *addr, const char *domain,
			       const char **value, struct strbuf *why)
{
	int rc;

	if (rs_transport == NULL)
		return DICT_NOTFOUND;
	if ((rc = maps_find(rs_transport, addr, value, why)) != DICT_NOTFOUND)
		return rc;
	if (*domain != 0) {
		if ((rc = maps_find_exact(rs_transport, domain, value, why)) !=
		    DICT_NOTFOUND)
			return rc;
		for (const char *dot = strchr(domain, '.'); dot != NULL;
		     dot = strchr(dot + 1, '.')) {
			if (dot[1] == 0)
				break;
			rc = maps_find_exact(rs_transport, dot, value, why);
			if (rc != DICT_NOTFOUND)
				return rc;
		}
	}
	return maps_find_exact(rs_transport, "*", value, why);
}

int resolve_addr(const char *addr, struct resolve_reply *reply,
		 struct strbuf *why)
{
	struct strbuf *domain = strbuf_new(STRBUF_NO_MAX);
	const char *def, *value;
	int rc = -1;

	if (!rs_ready)
		msg_panic("resolve_addr: resolve_init was not called");
	memset(reply, 0, sizeof(*reply));
	rs_domain(addr, domain);
	if (rs_class_of(strbuf_str(domain), &reply->cls, why) < 0)
		goto out;
	switch (reply->cls) {
	case RESOLVE_CLASS_LOCAL:
		def = var_local_transport;
		break;
	case RESOLVE_CLASS_ALIAS:
		def = "error:5.1.1 User unknown in virtual alias table";
		break;
	case RESOLVE_CLASS_VIRTUAL:
		def = var_virtual_transport;
		break;
	case RESOLVE_CLASS_RELAY:
		def = var_relay_transport;
		break;
	default:
		def = var_default_transport;
		break;
	}
	/* The class's own next hop: relayhost for mail that leaves, else the
	 * domain (local: $myhostname, from local_transport's default). */
	reply->transport = mystrdup("");
	if ((reply->cls == RESOLVE_CLASS_RELAY ||
	     reply->cls == RESOLVE_CLASS_DEFAULT) &&
	    *var_relayhost != 0)
		reply->nexthop = mystrdup(var_relayhost);
	else if (reply->cls == RESOLVE_CLASS_LOCAL)
		reply->nexthop = mystrdup(var_myhostname);
	else
		reply->nexthop = mystrdup(strbuf_str(domain));
	rs_apply(reply, def);
	switch (rs_transport_lookup(addr, strbuf_str(domain), &value, why)) {
	case DICT_ERROR:
		resolve_reply_free(reply);
		goto out;
	case DICT_FOUND:
		rs_apply(reply, value);
		break;
	}
	if (*reply->transport == 0) {
		(void)strbuf_why(why, "%s: no transport for address class %s",
				 addr, resolve_class_name(reply->cls));
		resolve_reply_free(reply);
		goto out;
	}
	rc = 0;
out:
	strbuf_free(&domain);
	return rc;
}

void resolve_reply_free(struct resolve_reply *reply)
{
	myfree(reply->transport);
	myfree(reply->nexthop);
}
