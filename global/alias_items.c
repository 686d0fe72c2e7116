/*
 * alias_items - split an alias, .forward or :include: value into its
 * destinations; see alias_items.h for the syntax.
 *
 * The input comes from users (.forward and :include: files), so the
 * parser is a single pass with no look-behind, bounded by the input: at
 * most one item per input byte, each no longer than the input. A line
 * end always ends an item and any open quote, so no item can carry a
 * line break into a command line or an envelope address.
 */
#include <ctype.h>

#include "alias_items.h"
#include "mymalloc.h"
#include "strbuf.h"

static void add_item(struct strbuf *cur, char ***items, size_t *count)
{
	const char *t = strbuf_str(cur);
	size_t len = strbuf_len(cur);

	while (len > 0 && isspace((unsigned char)*t)) {
		/* UNSAFE: len > 0, so t + 1 is still inside the buffer. */
		t++;
		len--;
	}
	while (len > 0 && isspace((unsigned char)t[len - 1]))
		len--;
	if (len > 0) {
		*items = myreallocarray(*items, *count + 1, sizeof(**items));
		(*items)[(*count)++] = mystrndup(t, len);
	}
	strbuf_reset(cur);
}

char **alias_items_split(const char *value, size_t *count)
{
	struct strbuf *cur = strbuf_new(STRBUF_NO_MAX);
	char **items = NULL;
	int quoted = 0, line_start = 1, comment = 0;

	*count = 0;
	/* UNSAFE: p stops at the NUL; p[1] is read only when *p is not it. */
	for (const char *p = value; *p; p++) {
		if (*p == '\n') {
			add_item(cur, &items, count);
			quoted = comment = 0;
			line_start = 1;
			continue;
		}
		if (comment)
			continue;
		if (line_start && *p == '#') {
			comment = 1;
			continue;
		}
		line_start = 0;
		if (quoted && *p == '\\' && p[1] != 0 && p[1] != '\n') {
			strbuf_putc(cur, *++p);
			continue;
		}
		if (*p == '"') {
			quoted = !quoted;
			continue;
		}
		if (*p == ',' && !quoted) {
			add_item(cur, &items, count);
			continue;
		}
		strbuf_putc(cur, *p);
	}
	add_item(cur, &items, count);
	strbuf_free(&cur);
	return items;
}

void alias_items_free(char ***itemsp, size_t count)
{
	for (size_t i = 0; i < count; i++)
		myfree((*itemsp)[i]);
	myfree(*itemsp);
}
