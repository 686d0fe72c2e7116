/*
 * dict_cidr - CIDR tables; see dict_cidr.h.
 *
 * Tables are small and written by the administrator; a linear first-match
 * scan keeps Postfix's ordering semantics obvious.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dict.h"
#include "dict_cidr.h"
#include "dict_text.h"
#include "mymalloc.h"
#include "strbuf.h"

struct cidr_entry {
	int family; /* AF_INET or AF_INET6 */
	unsigned char net[16];
	int prefix;
	char *value;
};

struct dict_cidr {
	struct dict dict;
	struct cidr_entry *ent;
	size_t count;
};

/* Parse "addr", "[addr]", with optional "/len", into family and bytes.
 * Returns 0, or -1 with the reason in why. */
static int cidr_parse(const char *text, int *family, unsigned char *addr,
		      int *prefix, int need_prefix_ok, struct strbuf *why)
{
	char buf[INET6_ADDRSTRLEN + 8];
	const char *slash = strchr(text, '/');
	size_t alen = slash ? (size_t)(slash - text) : strlen(text);
	const char *start = text;
	char *end;
	long len;

	if (alen >= 2 && text[0] == '[' && text[alen - 1] == ']') {
		start++;
		alen -= 2;
	}
	if (alen == 0 || alen >= sizeof(buf)) {
		strbuf_printf(why, "bad address \"%s\"", text);
		return -1;
	}
	memcpy(buf, start, alen);
	buf[alen] = 0;
	if (inet_pton(AF_INET, buf, addr) == 1) {
		*family = AF_INET;
		*prefix = 32;
	} else if (inet_pton(AF_INET6, buf, addr) == 1) {
		*family = AF_INET6;
		*prefix = 128;
	} else {
		strbuf_printf(why, "bad address \"%s\"", text);
		return -1;
	}
	if (slash == NULL)
		return 0;
	if (!need_prefix_ok || !isdigit((unsigned char)slash[1])) {
		strbuf_printf(why, "bad network prefix in \"%s\"", text);
		return -1;
	}
	errno = 0;
	len = strtol(slash + 1, &end, 10);
	if (*end != 0 || errno != 0 || len > *prefix) {
		strbuf_printf(why,
			      "bad network prefix in \"%s\" (%s allows "
			      "0 to %d)",
			      text, *family == AF_INET ? "IPv4" : "IPv6",
			      *prefix);
		return -1;
	}
	*prefix = (int)len;
	return 0;
}

/* Whether the first prefix bits of a and b agree. */
static int cidr_match(const unsigned char *a, const unsigned char *b,
		      int prefix)
{
	int whole = prefix / 8;
	int rest = prefix % 8;
	unsigned char mask;

	if (memcmp(a, b, (size_t)whole) != 0)
		return 0;
	if (rest == 0)
		return 1;
	/* UNSAFE: prefix < 128 here, so whole < 16 indexes the address. */
	mask = (unsigned char)(0xff << (8 - rest));
	return ((a[whole] ^ b[whole]) & mask) == 0;
}

static int cidr_lookup(struct dict *dict, const char *key, const char **value)
{
	struct dict_cidr *dc = (struct dict_cidr *)dict;
	unsigned char addr[16];
	struct strbuf *ignore = strbuf_new(STRBUF_NO_MAX);
	int family, prefix, bad;

	bad = cidr_parse(key, &family, addr, &prefix, 0, ignore);
	strbuf_free(&ignore);
	if (bad)
		return DICT_NOTFOUND;
	for (size_t i = 0; i < dc->count; i++) {
		if (dc->ent[i].family == family &&
		    cidr_match(addr, dc->ent[i].net, dc->ent[i].prefix)) {
			*value = dc->ent[i].value;
			return DICT_FOUND;
		}
	}
	return DICT_NOTFOUND;
}

static void cidr_close(struct dict *dict)
{
	struct dict_cidr *dc = (struct dict_cidr *)dict;

	for (size_t i = 0; i < dc->count; i++)
		myfree(dc->ent[i].value);
	myfree(dc->ent);
}

/* One "pattern value" line; 0, or -1 with the reason in why. */
static int cidr_line(struct dict_cidr *dc, char *line, struct strbuf *why)
{
	struct cidr_entry ent;
	unsigned char masked[16];
	char *pattern, *value;

	if (dict_text_split(line, 0, &pattern, &value, why) < 0)
		return -1;
	memset(&ent, 0, sizeof(ent));
	if (cidr_parse(pattern, &ent.family, ent.net, &ent.prefix, 1, why) < 0)
		return -1;
	/* A network with host bits set is almost always a typo for a
	 * different network; refuse rather than guess. */
	memset(masked, 0, sizeof(masked));
	memcpy(masked, ent.net, (size_t)(ent.prefix / 8));
	if (ent.prefix % 8)
		masked[ent.prefix / 8] =
		    (unsigned char)(ent.net[ent.prefix / 8] &
				    (0xff << (8 - ent.prefix % 8)));
	if (memcmp(masked, ent.net, sizeof(masked)) != 0) {
		char net[INET6_ADDRSTRLEN];

		inet_ntop(ent.family, masked, net, sizeof(net));
		strbuf_printf(why,
			      "non-zero host bits in \"%s\" (the network "
			      "is %s/%d)",
			      pattern, net, ent.prefix);
		return -1;
	}
	if (strlen(value) > DICT_VALUE_MAX) {
		strbuf_puts(why, "value too long");
		return -1;
	}
	ent.value = mystrdup(value);
	dc->ent = myreallocarray(dc->ent, dc->count + 1, sizeof(*dc->ent));
	dc->ent[dc->count++] = ent;
	return 0;
}

struct dict *dict_cidr_open_fp(FILE *fp, const char *name, int flags,
			       struct strbuf *why)
{
	struct dict *dict =
	    dict_alloc("cidr", name, flags | DICT_PATTERN | DICT_NO_FOLD,
		       sizeof(struct dict_cidr));
	struct dict_text_reader *rd = dict_text_reader_new(fp, name);
	struct strbuf *reason = strbuf_new(STRBUF_NO_MAX);
	char *line;
	int lineno, ret;

	dict->lookup = cidr_lookup;
	dict->close = cidr_close;
	while ((ret = dict_text_read(rd, &line, &lineno, why)) > 0) {
		strbuf_reset(reason);
		if (cidr_line((struct dict_cidr *)dict, line, reason) < 0) {
			strbuf_printf(why, "%s:%d: %s", name, lineno,
				      strbuf_str(reason));
			ret = -1;
			break;
		}
	}
	dict_text_reader_free(&rd);
	strbuf_free(&reason);
	if (ret < 0)
		dict_close(&dict);
	return dict;
}

struct dict *dict_cidr_open(const char *name, int flags, struct strbuf *why)
{
	struct dict *dict;
	FILE *fp;

	if ((fp = fopen(name, "re")) == NULL) {
		strbuf_printf(why, "open %s: %s", name, strerror(errno));
		return NULL;
	}
	if ((dict = dict_cidr_open_fp(fp, name, flags, why)) != NULL)
		dict_watch(dict, name);
	fclose(fp);
	return dict;
}
