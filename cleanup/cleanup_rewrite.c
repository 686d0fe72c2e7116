/*
 * cleanup_rewrite - envelope address rewriting; see cleanup_rewrite.h.
 *
 * Every result is bounded: an address longer than REC_ADDR_MAX is an
 * error (it could not be written to the queue file anyway), and virtual
 * alias expansion keeps at most expansion_limit addresses in memory.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cleanup_rewrite.h"
#include "dict.h"
#include "mail_conf.h"
#include "mymalloc.h"
#include "rec_type.h"
#include "strbuf.h"

int cleanup_rewrite_local_domain(const struct cleanup_rewrite_conf *conf,
				 const char *domain)
{
	char **list;
	int found = 0;

	if (conf->mydestination == NULL || *domain == 0)
		return 0;
	list = conf_list_split(conf->mydestination);
	for (char **cp = list; *cp != NULL && !found; cp++)
		found = strcasecmp(*cp, domain) == 0;
	conf_list_free(&list);
	return found;
}

int cleanup_maps_find(const struct cleanup_rewrite_conf *conf,
		      struct maps *maps, const char *addr,
		      const char **value, struct strbuf *why)
{
	const char *at = strrchr(addr, '@');
	struct strbuf *key;
	int rc = DICT_NOTFOUND;

	if (maps == NULL || strlen(addr) > DICT_KEY_MAX)
		return DICT_NOTFOUND;
	/* Tables in list order; within one table the key order below. */
	for (size_t i = 0; i < maps->count; i++) {
		struct dict *d = maps->dicts[i];
		struct maps one = {maps->param, &maps->dicts[i], 1};

		if ((d->flags & DICT_PATTERN) != 0) {
			rc = dict_lookup(d, addr, value);
			if (rc == DICT_ERROR) {
				strbuf_reset(why);
				(void)strbuf_printf(why, "%s: %s:%s: %s",
						    maps->param, d->type,
						    d->name, dict_error(d));
			}
			if (rc != DICT_NOTFOUND)
				return rc;
			continue;
		}
		if ((rc = maps_find_exact(&one, addr, value, why)) != DICT_NOTFOUND)
			return rc;
		if (at == NULL)
			continue;
		key = strbuf_new(DICT_KEY_MAX);
		/* UNSAFE: at points into addr, so at - addr is its offset. */
		if (cleanup_rewrite_local_domain(conf, at + 1) &&
		    strbuf_append(key, addr, (size_t)(at - addr)) == 0 &&
		    strbuf_len(key) > 0 &&
		    (rc = maps_find_exact(&one, strbuf_str(key), value, why)) !=
			DICT_NOTFOUND) {
			strbuf_free(&key);
			return rc;
		}
		strbuf_reset(key);
		if (at[1] != 0 && strbuf_puts(key, at) == 0 &&
		    (rc = maps_find_exact(&one, strbuf_str(key), value, why)) !=
			DICT_NOTFOUND) {
			strbuf_free(&key);
			return rc;
		}
		strbuf_free(&key);
	}
	return DICT_NOTFOUND;
}

void cleanup_rewrite_qualify(const struct cleanup_rewrite_conf *conf,
			     const char *addr, struct strbuf *out)
{
	const char *at = strrchr(addr, '@');

	strbuf_reset(out);
	(void)strbuf_puts(out, addr);
	if (*addr == 0)
		return;
	if (at == NULL) {
		if (conf->myorigin && *conf->myorigin)
			(void)strbuf_printf(out, "@%s", conf->myorigin);
	} else if (conf->append_dot_mydomain && strchr(at, '.') == NULL &&
		   at[1] != 0 && at[1] != '[' && conf->mydomain &&
		   *conf->mydomain) {
		(void)strbuf_printf(out, ".%s", conf->mydomain);
	}
}

/* One-to-one mapping through maps; out is replaced when found. */
static int rewrite_map11(const struct cleanup_rewrite_conf *conf,
			 struct maps *maps, struct strbuf *out,
			 struct strbuf *why)
{
	const char *value;
	char **list;
	struct strbuf *tmp;
	int rc;

	if (maps == NULL || strbuf_len(out) == 0)
		return 0;
	rc = cleanup_maps_find(conf, maps, strbuf_str(out), &value, why);
	if (rc == DICT_ERROR)
		return -1;
	if (rc != DICT_FOUND)
		return 0;
	list = conf_list_split(value);
	if (list[0] == NULL) {
		conf_list_free(&list);
		return 0;
	}
	/* Canonical maps are one-to-one: the first address counts. */
	tmp = strbuf_new(REC_ADDR_MAX);
	cleanup_rewrite_qualify(conf, list[0], tmp);
	conf_list_free(&list);
	if (strbuf_len(tmp) > REC_ADDR_MAX - 1) {
		strbuf_free(&tmp);
		(void)strbuf_set(why, "canonical mapping result too long");
		return -1;
	}
	strbuf_reset(out);
	(void)strbuf_puts(out, strbuf_str(tmp));
	strbuf_free(&tmp);
	return 0;
}

int cleanup_rewrite_sender(const struct cleanup_rewrite_conf *conf,
			   const char *addr, struct strbuf *out,
			   struct strbuf *why)
{
	cleanup_rewrite_qualify(conf, addr, out);
	if (rewrite_map11(conf, conf->sender_canonical, out, why) < 0 ||
	    rewrite_map11(conf, conf->canonical, out, why) < 0)
		return -1;
	return 0;
}

int cleanup_rewrite_rcpt(const struct cleanup_rewrite_conf *conf,
			 const char *addr, struct strbuf *out,
			 struct strbuf *why)
{
	cleanup_rewrite_qualify(conf, addr, out);
	if (rewrite_map11(conf, conf->recipient_canonical, out, why) < 0 ||
	    rewrite_map11(conf, conf->canonical, out, why) < 0)
		return -1;
	return 0;
}

/* A growable list of malloc'd strings, NULL-terminated. */
struct addr_list {
	char **v;
	int *depth;
	size_t n, cap;
};

/* Index of addr in l plus one, or 0 if it is not there. */
static size_t list_find(const struct addr_list *l, const char *addr)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcasecmp(l->v[i], addr) == 0)
			return i + 1;
	return 0;
}

static int list_has(const struct addr_list *l, const char *addr)
{
	return list_find(l, addr) != 0;
}

static void list_add(struct addr_list *l, const char *addr, int depth)
{
	if (l->n + 1 >= l->cap) {
		l->cap = l->cap ? mymalloc_mul(l->cap, 2) : 8;
		l->v = myreallocarray(l->v, l->cap, sizeof(*l->v));
		l->depth = myreallocarray(l->depth, l->cap, sizeof(int));
	}
	l->v[l->n] = mystrdup(addr);
	l->depth[l->n++] = depth;
	l->v[l->n] = NULL;
}

static void list_free(struct addr_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		myfree(l->v[i]);
	myfree(l->v);
	myfree(l->depth);
}

void cleanup_rewrite_list_free(char ***listp)
{
	char **list = *listp;

	if (list == NULL)
		return;
	for (char **cp = list; *cp != NULL; cp++)
		myfree(*cp);
	myfree(*listp);
}

int cleanup_rewrite_virtual(const struct cleanup_rewrite_conf *conf,
			    const char *addr, char ***result, int *limit_hit,
			    struct strbuf *why)
{
	struct addr_list todo = {0}, done = {0};
	struct strbuf *q = strbuf_new(REC_ADDR_MAX);
	const char *value;
	char **values;
	int rc;

	*result = NULL;
	*limit_hit = 0;
	list_add(&todo, addr, 0);
	/* todo grows as we go: every address ever queued stays in it, which
	 * is what detects a loop (a -> b -> a). */
	for (size_t i = 0; i < todo.n; i++) {
		const char *cur = todo.v[i];
		int depth = todo.depth[i];

		rc = cleanup_maps_find(conf, conf->virtual_alias, cur, &value,
				       why);
		if (rc == DICT_ERROR)
			goto fail;
		if (rc == DICT_NOTFOUND) {
			if (!list_has(&done, cur))
				list_add(&done, cur, depth);
			continue;
		}
		if (depth + 1 > conf->recursion_limit) {
			strbuf_reset(why);
			(void)strbuf_printf(why,
					    "unreasonable virtual_alias_maps "
					    "map nesting for %s",
					    addr);
			*limit_hit = 1;
			goto fail;
		}
		values = conf_list_split(value);
		for (char **cp = values; *cp != NULL; cp++) {
			size_t seen;

			cleanup_rewrite_qualify(conf, *cp, q);
			if (strbuf_len(q) >= REC_ADDR_MAX) {
				conf_list_free(&values);
				(void)strbuf_set(why, "virtual alias result "
						      "too long");
				goto fail;
			}
			seen = list_find(&todo, strbuf_str(q));
			if (seen > 0 && seen - 1 > i)
				continue; /* queued already: a duplicate */
			if (seen > 0) {
				/* Itself, or back to an address expanded
				 * before (a loop): deliver it as is. */
				if (!list_has(&done, strbuf_str(q)))
					list_add(&done, strbuf_str(q), depth);
				continue;
			}
			list_add(&todo, strbuf_str(q), depth + 1);
			/* What the address stands for right now: the
			 * addresses still to expand plus the final ones. */
			if ((todo.n - i - 1) + done.n >
			    (size_t)conf->expansion_limit) {
				conf_list_free(&values);
				strbuf_reset(why);
				(void)strbuf_printf(
				    why,
				    "unreasonable virtual_alias_maps map "
				    "expansion size for %s",
				    addr);
				*limit_hit = 1;
				goto fail;
			}
		}
		conf_list_free(&values);
	}
	if (done.n > (size_t)conf->expansion_limit) {
		strbuf_reset(why);
		(void)strbuf_printf(why,
				    "unreasonable virtual_alias_maps map "
				    "expansion size for %s",
				    addr);
		*limit_hit = 1;
		goto fail;
	}
	strbuf_free(&q);
	list_free(&todo);
	myfree(done.depth);
	if (done.v == NULL)
		done.v = mycalloc(1, sizeof(char *));
	*result = done.v;
	return 0;
fail:
	strbuf_free(&q);
	list_free(&todo);
	list_free(&done);
	return -1;
}
