/*
 * match_list - address and domain lists; see match_list.h.
 *
 * Elements are parsed once, when the list is made, so a malformed list
 * is reported at start-up (or at the first use) and never half-applied.
 * Address matching compares the leading prefix-length bits of the
 * 4 or 16 network-order bytes; an IPv4 element never matches an IPv6
 * client and the other way round (a v4-mapped client address is
 * unmapped first, as the kernel hands those out on dual-stack sockets).
 */
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dict.h"
#include "mail_conf.h"
#include "match_list.h"
#include "mymalloc.h"
#include "strbuf.h"

enum elem_kind { ELEM_NET, ELEM_DOMAIN, ELEM_TABLE };

struct elem {
	enum elem_kind kind;
	int negate;
	int family; /* ELEM_NET */
	unsigned char net[16];
	int prefix;
	char *domain;	   /* ELEM_DOMAIN, lowercase, no trailing dot */
	struct dict *dict; /* ELEM_TABLE */
};

struct match_list {
	char *name;
	int flags;
	struct elem *elems;
	size_t count;
};

/* Parse "addr", "addr/len", "[v6]", "[v6]/len". 0, or -1. */
static int parse_net(const char *text, int *family, unsigned char *net,
		     int *prefix)
{
	char host[INET6_ADDRSTRLEN + 2];
	const char *slash = strrchr(text, '/');
	size_t hlen = slash ? (size_t)(slash - text) : strlen(text);
	int maxlen;
	long len;

	if (hlen == 0 || hlen >= sizeof(host))
		return -1;
	memcpy(host, text, hlen);
	host[hlen] = 0;
	if (host[0] == '[') {
		if (hlen < 3 || host[hlen - 1] != ']')
			return -1;
		host[hlen - 1] = 0;
		memmove(host, host + 1, hlen - 1);
		if (inet_pton(AF_INET6, host, net) != 1)
			return -1;
		*family = AF_INET6;
	} else if (inet_pton(AF_INET, host, net) == 1) {
		*family = AF_INET;
	} else if (inet_pton(AF_INET6, host, net) == 1) {
		*family = AF_INET6;
	} else {
		return -1;
	}
	maxlen = *family == AF_INET ? 32 : 128;
	if (slash == NULL) {
		*prefix = maxlen;
		return 0;
	}
	if (conf_parse_int(slash + 1, 0, maxlen, &len) < 0)
		return -1;
	*prefix = (int)len;
	return 0;
}

static int net_match(const unsigned char *a, const unsigned char *b, int bits)
{
	int whole = bits / 8, rest = bits % 8;

	if (memcmp(a, b, (size_t)whole) != 0)
		return 0;
	if (rest == 0)
		return 1;
	/* UNSAFE: whole < 16 here, because rest != 0 means bits < 128. */
	return ((a[whole] ^ b[whole]) & (0xff << (8 - rest)) & 0xff) == 0;
}

static void lower(char *s)
{
	for (; *s; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
}

static void strip_dot(char *s)
{
	size_t n = strlen(s);

	if (n > 1 && s[n - 1] == '.')
		s[n - 1] = 0;
}

static void elems_free(struct elem *elems, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		myfree(elems[i].domain);
		dict_close(&elems[i].dict);
	}
}

struct match_list *match_list_new(const char *name, const char *value,
				  int flags, struct strbuf *why)
{
	char **words = conf_list_split(value);
	size_t n = 0;
	struct match_list *list;

	while (words[n] != NULL)
		n++;
	list = mycalloc(1, sizeof(*list));
	list->name = mystrdup(name);
	list->flags = flags;
	list->elems = mycalloc(n ? n : 1, sizeof(*list->elems));
	for (size_t i = 0; i < n; i++) {
		struct elem *e = &list->elems[list->count];
		const char *w = words[i];
		char *err = NULL;

		if (*w == '!') {
			e->negate = 1;
			w++;
		}
		if (*w == '/') {
			strbuf_printf(why,
				      "%s: \"%s\": /file/name elements are not "
				      "supported yet",
				      name, w);
			goto bad;
		}
		if ((flags & MATCH_LIST_ADDR) &&
		    parse_net(w, &e->family, e->net, &e->prefix) == 0) {
			e->kind = ELEM_NET;
		} else if (*w != '[' && strchr(w, ':') != NULL) {
			e->dict = dict_open(w, DICT_FOLD_KEYS, &err);
			if (e->dict == NULL) {
				strbuf_printf(why, "%s: %s", name, err);
				myfree(err);
				goto bad;
			}
			e->kind = ELEM_TABLE;
		} else if (flags & MATCH_LIST_DOMAIN) {
			e->kind = ELEM_DOMAIN;
			e->domain = mystrdup(w);
			lower(e->domain);
			strip_dot(e->domain);
		} else {
			strbuf_printf(why,
				      "%s: \"%s\" is not an address, a "
				      "network or a type:table",
				      name, words[i]);
			goto bad;
		}
		list->count++;
	}
	conf_list_free(&words);
	return list;
bad:
	conf_list_free(&words);
	match_list_free(&list);
	return NULL;
}

void match_list_free(struct match_list **listp)
{
	struct match_list *list = *listp;

	if (list == NULL)
		return;
	elems_free(list->elems, list->count);
	myfree(list->elems);
	myfree(list->name);
	myfree(*listp);
}

/* A client address as 4 or 16 bytes; a v4-mapped IPv6 address counts as
 * the IPv4 address it carries. 0, or -1 if not numeric. */
static int parse_client(const char *addr, int *family, unsigned char *bytes)
{
	static const unsigned char mapped[12] = {0, 0, 0, 0, 0,	   0,
						 0, 0, 0, 0, 0xff, 0xff};

	if (inet_pton(AF_INET, addr, bytes) == 1) {
		*family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, addr, bytes) != 1)
		return -1;
	*family = AF_INET6;
	if (memcmp(bytes, mapped, sizeof(mapped)) == 0) {
		memmove(bytes, bytes + 12, 4);
		*family = AF_INET;
	}
	return 0;
}

/* Table lookup of key, then (parent matching) of each parent domain. */
static int table_match(struct match_list *list, struct elem *e, const char *key,
		       int parents, struct strbuf *why)
{
	const char *value;

	for (const char *k = key; k != NULL && *k;) {
		int rc = dict_lookup(e->dict, k, &value);

		if (rc == DICT_FOUND)
			return 1;
		if (rc == DICT_ERROR) {
			strbuf_printf(why,
				      "%s: %s:%s lookup error for \"%s\": %s",
				      list->name, e->dict->type, e->dict->name,
				      k, dict_error(e->dict));
			return -1;
		}
		if (!parents)
			break;
		k = strchr(k, '.');
		if (k != NULL)
			k++;
	}
	return 0;
}

static int domain_match(const struct match_list *list, const char *pattern,
			const char *domain)
{
	size_t plen = strlen(pattern), dlen = strlen(domain);

	if (*pattern == '.')
		return dlen > plen &&
		       strcmp(domain + dlen - plen, pattern) == 0;
	if (strcmp(domain, pattern) == 0)
		return 1;
	/* UNSAFE: dlen > plen, so the index and the suffix are in bounds. */
	return (list->flags & MATCH_LIST_PARENT) && dlen > plen &&
	       domain[dlen - plen - 1] == '.' &&
	       strcmp(domain + dlen - plen, pattern) == 0;
}

int match_list_match(struct match_list *list, const char *string,
		     struct strbuf *why)
{
	unsigned char bytes[16];
	int family = 0, is_addr;
	char *key = mystrdup(string);
	int result = 0;

	lower(key);
	strip_dot(key);
	is_addr = (list->flags & MATCH_LIST_ADDR) &&
		  parse_client(key, &family, bytes) == 0;
	for (size_t i = 0; i < list->count; i++) {
		struct elem *e = &list->elems[i];
		int hit = 0;

		switch (e->kind) {
		case ELEM_NET:
			hit = is_addr && family == e->family &&
			      net_match(bytes, e->net, e->prefix);
			break;
		case ELEM_DOMAIN:
			hit = domain_match(list, e->domain, key);
			break;
		case ELEM_TABLE:
			hit = table_match(
			    list, e, key,
			    !is_addr && (list->flags & MATCH_LIST_PARENT), why);
			if (hit < 0) {
				result = -1;
				goto done;
			}
			break;
		}
		if (hit) {
			result = e->negate ? 0 : 1;
			goto done;
		}
	}
done:
	myfree(key);
	return result;
}

/* Add "net/len" for addr under style to out, unless already there. */
static void add_net(struct strbuf *out, int family, const unsigned char *addr,
		    const unsigned char *mask, const char *style)
{
	unsigned char net[16];
	char text[INET6_ADDRSTRLEN];
	size_t size = family == AF_INET ? 4 : 16;
	int prefix = 0;
	struct strbuf *item = strbuf_new(STRBUF_NO_MAX);

	memcpy(net, addr, size);
	if (strcasecmp(style, "host") == 0) {
		prefix = (int)size * 8;
	} else if (strcasecmp(style, "class") == 0 && family == AF_INET) {
		prefix = addr[0] < 128 ? 8 : addr[0] < 192 ? 16 : 24;
	} else {
		/* subnet (and class for IPv6, which has no classes). */
		for (size_t i = 0; i < size; i++)
			prefix += __builtin_popcount(mask[i]);
	}
	for (int bit = prefix; bit < (int)size * 8; bit++)
		net[bit / 8] &= (unsigned char)~(0x80 >> (bit % 8));
	inet_ntop(family, net, text, sizeof(text));
	if (family == AF_INET)
		strbuf_printf(item, "%s/%d", text, prefix);
	else
		strbuf_printf(item, "[%s]/%d", text, prefix);
	/* A short list: a linear search for duplicates is fine. */
	const char *s = strbuf_str(out);
	size_t ilen = strbuf_len(item);
	int dup = 0;

	for (const char *p = s; (p = strstr(p, strbuf_str(item))) != NULL;
	     p += ilen) {
		if ((p == s || p[-1] == ' ') &&
		    (p[ilen] == 0 || p[ilen] == ' '))
			dup = 1;
	}
	if (!dup) {
		if (strbuf_len(out) > 0)
			strbuf_putc(out, ' ');
		strbuf_puts(out, strbuf_str(item));
	}
	strbuf_free(&item);
}

char *match_list_mynetworks(const char *style, char **errp)
{
	struct ifaddrs *ifs, *ifa;
	struct strbuf *out;
	static const unsigned char lo4[4] = {127, 0, 0, 1};
	static const unsigned char lo4mask[4] = {255, 0, 0, 0};
	char *result;

	if (strcasecmp(style, "host") != 0 &&
	    strcasecmp(style, "subnet") != 0 &&
	    strcasecmp(style, "class") != 0) {
		*errp = mystrdup("mynetworks_style: unknown style (use host, "
				 "subnet or class)");
		return NULL;
	}
	if (getifaddrs(&ifs) < 0) {
		*errp = mystrdup("mynetworks: cannot list the network "
				 "interfaces");
		return NULL;
	}
	out = strbuf_new(STRBUF_NO_MAX);
	/* Loopback even when lo is down or in a namespace without it. */
	add_net(out, AF_INET, lo4, lo4mask, style);
	for (ifa = ifs; ifa != NULL; ifa = ifa->ifa_next) {
		const struct sockaddr *sa = ifa->ifa_addr;
		const struct sockaddr *nm = ifa->ifa_netmask;

		if (sa == NULL || !(ifa->ifa_flags & IFF_UP))
			continue;
		if (sa->sa_family == AF_INET) {
			const struct sockaddr_in *sin = (const void *)sa;
			const struct sockaddr_in *msk = (const void *)nm;
			static const unsigned char full[4] = {255, 255, 255,
							      255};

			add_net(
			    out, AF_INET, (const unsigned char *)&sin->sin_addr,
			    msk ? (const unsigned char *)&msk->sin_addr : full,
			    style);
		} else if (sa->sa_family == AF_INET6) {
			const struct sockaddr_in6 *sin6 = (const void *)sa;
			const struct sockaddr_in6 *msk6 = (const void *)nm;
			unsigned char full6[16];

			memset(full6, 0xff, sizeof(full6));
			add_net(out, AF_INET6,
				(const unsigned char *)&sin6->sin6_addr,
				msk6 ? (const unsigned char *)&msk6->sin6_addr
				     : full6,
				style);
		}
	}
	freeifaddrs(ifs);
	result = strbuf_export(out);
	strbuf_free(&out);
	return result;
}
