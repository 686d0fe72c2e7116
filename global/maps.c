/*
 * maps - an ordered list of lookup tables from one main.cf parameter.
 */
#include <string.h>

#include "dict.h"
#include "mail_conf.h"
#include "maps.h"
#include "mymalloc.h"
#include "strbuf.h"

struct maps *maps_open(const char *param, const char *value, char **errp)
{
	char **list = conf_list_split(value);
	struct maps *maps;
	size_t n = 0;

	*errp = NULL;
	while (list[n] != NULL)
		n++;
	if (n == 0) {
		conf_list_free(&list);
		return NULL;
	}
	maps = mycalloc(1, sizeof(*maps));
	maps->param = mystrdup(param);
	maps->dicts = mycalloc(n, sizeof(*maps->dicts));
	for (size_t i = 0; i < n; i++) {
		char *err = NULL;

		maps->dicts[i] = dict_open(list[i], DICT_FOLD_KEYS, &err);
		if (maps->dicts[i] == NULL) {
			struct strbuf *msg = strbuf_new(STRBUF_NO_MAX);

			(void)strbuf_printf(msg, "%s: %s", param, err);
			myfree(err);
			*errp = strbuf_export(msg);
			strbuf_free(&msg);
			conf_list_free(&list);
			maps_free(&maps);
			return NULL;
		}
		maps->count++;
	}
	conf_list_free(&list);
	return maps;
}

void maps_free(struct maps **mapsp)
{
	struct maps *maps = *mapsp;

	if (maps == NULL)
		return;
	for (size_t i = 0; i < maps->count; i++)
		dict_close(&maps->dicts[i]);
	myfree(maps->dicts);
	myfree(maps->param);
	myfree(*mapsp);
}

static int maps_search(struct maps *maps, const char *key, int skip_patterns,
		       const char **value, struct strbuf *why)
{
	if (maps == NULL || strlen(key) > DICT_KEY_MAX)
		return DICT_NOTFOUND;
	for (size_t i = 0; i < maps->count; i++) {
		struct dict *d = maps->dicts[i];
		int rc;

		if (skip_patterns && (d->flags & DICT_PATTERN) != 0)
			continue;
		rc = dict_lookup(d, key, value);
		if (rc == DICT_FOUND)
			return rc;
		if (rc == DICT_ERROR) {
			strbuf_reset(why);
			(void)strbuf_printf(why, "%s: %s:%s: %s", maps->param,
					    d->type, d->name, dict_error(d));
			return rc;
		}
	}
	return DICT_NOTFOUND;
}

int maps_find(struct maps *maps, const char *key, const char **value,
	      struct strbuf *why)
{
	return maps_search(maps, key, 0, value, why);
}

int maps_find_exact(struct maps *maps, const char *key, const char **value,
		    struct strbuf *why)
{
	return maps_search(maps, key, 1, value, why);
}
