/*
 * access_lookup - access(5) partial-key lookups; see access_lookup.h.
 */
#include <ctype.h>
#include <string.h>

#include "access_lookup.h"
#include "dict.h"
#include "mymalloc.h"
#include "strbuf.h"

struct key_list {
	char **keys;
	size_t count;
};

static void add_key(struct key_list *kl, const char *key, size_t len)
{
	kl->keys = myreallocarray(kl->keys, kl->count + 2, sizeof(char *));
	kl->keys[kl->count++] = mystrndup(key, len);
	kl->keys[kl->count] = NULL;
}

/* domain, then ".parent" for each parent; none for an address literal. */
static void add_domain(struct key_list *kl, const char *domain)
{
	const char *dot;

	if (*domain == 0)
		return;
	add_key(kl, domain, strlen(domain));
	if (*domain == '[')
		return;
	for (dot = strchr(domain + 1, '.'); dot && dot[1];
	     dot = strchr(dot + 1, '.'))
		add_key(kl, dot, strlen(dot));
}

static void add_ipaddr(struct key_list *kl, const char *addr)
{
	size_t len = strlen(addr);
	int delim = strchr(addr, ':') ? ':' : '.';

	if (len >= 2 && addr[0] == '[' && addr[len - 1] == ']') {
		addr++;
		len -= 2;
	}
	/* The address, then the address cut at each delimiter from the
	 * right: 1.2.3.4, 1.2.3, 1.2, 1. */
	while (len > 0) {
		add_key(kl, addr, len);
		while (len > 0 && addr[len - 1] != delim)
			len--;
		if (len > 0)
			len--;
	}
}

char **access_lookup_keys(const char *key, enum access_key_type type)
{
	struct key_list kl = {NULL, 0};
	char *lower = mystrdup(key);
	char *at;

	for (char *cp = lower; *cp; cp++)
		*cp = (char)tolower((unsigned char)*cp);
	switch (type) {
	case ACCESS_KEY_ADDRESS:
		add_key(&kl, lower, strlen(lower));
		/* The last '@' separates the domain: a quoted local part
		 * may contain '@' itself. */
		if ((at = strrchr(lower, '@')) != NULL) {
			add_domain(&kl, at + 1);
			if (at > lower && at[1] != 0)
				add_key(&kl, lower, (size_t)(at - lower) + 1);
		} else if (*lower) {
			struct strbuf *user = strbuf_new(STRBUF_NO_MAX);

			strbuf_printf(user, "%s@", lower);
			add_key(&kl, strbuf_str(user), strbuf_len(user));
			strbuf_free(&user);
		}
		break;
	case ACCESS_KEY_DOMAIN:
		add_domain(&kl, lower);
		break;
	case ACCESS_KEY_IPADDR:
		add_ipaddr(&kl, lower);
		break;
	}
	myfree(lower);
	if (kl.keys == NULL)
		kl.keys = mycalloc(1, sizeof(char *));
	return kl.keys;
}

void access_keys_free(char ***keysp)
{
	char **keys = *keysp;

	if (keys == NULL)
		return;
	for (char **kp = keys; *kp; kp++)
		myfree(*kp);
	myfree(keys);
	*keysp = NULL;
}

int access_lookup(struct dict *dict, const char *key, enum access_key_type type,
		  const char **value, struct strbuf *matched)
{
	char **keys;
	int ret = DICT_NOTFOUND;

	*value = NULL;
	if (dict->flags & DICT_PATTERN) {
		ret = dict_lookup(dict, key, value);
		if (ret == DICT_FOUND && matched)
			strbuf_set(matched, key);
		return ret;
	}
	keys = access_lookup_keys(key, type);
	for (char **kp = keys; *kp; kp++) {
		ret = dict_lookup(dict, *kp, value);
		if (ret == DICT_FOUND && matched)
			strbuf_set(matched, *kp);
		if (ret != DICT_NOTFOUND)
			break;
	}
	access_keys_free(&keys);
	return ret;
}
