/*
 * fuzz_dict_text - the table text format (dict_text) and the inline: table
 * syntax. The first byte picks the mode: 0 key/value lines, 1 alias lines,
 * 2 the rest is the body of "inline:{...}". Properties checked: the parser
 * never crashes or leaks, and every entry it hands out has a non-empty key
 * without whitespace (key/value mode) and a non-empty value.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dict.h"
#include "dict_text.h"
#include "strbuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int check_entry(void *ctx, const char *key, const char *value,
		       int lineno, struct strbuf *why)
{
	int alias = *(int *)ctx;

	(void)why;
	if (*key == 0 || *value == 0 || lineno < 1)
		abort();
	if (!alias && strpbrk(key, " \t\r\n\v\f"))
		abort();
	if (isspace((unsigned char)value[strlen(value) - 1]))
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct strbuf *why;
	int mode;

	if (size < 1 || size > 65536)
		return 0;
	mode = data[0] % 3;
	data++;
	size--;
	why = strbuf_new(STRBUF_NO_MAX);
	if (mode < 2) {
		FILE *fp = fmemopen((void *)data, size ? size : 1, "r");
		int alias = mode == 1;

		if (fp && size > 0) {
			(void)dict_text_parse(fp, "fuzz",
					      alias ? DICT_TEXT_ALIAS : 0,
					      check_entry, &alias, why);
		}
		if (fp)
			fclose(fp);
	} else if (memchr(data, 0, size) == NULL) {
		char *spec = malloc(size + 10);
		char *err = NULL;
		struct dict *dict;
		const char *key, *value;

		memcpy(spec, "inline:{", 8);
		memcpy(spec + 8, data, size);
		spec[8 + size] = '}';
		spec[9 + size] = 0;
		if ((dict = dict_open(spec, DICT_FOLD_KEYS, &err)) != NULL) {
			for (int ret = dict_sequence(dict, 1, &key, &value);
			     ret == DICT_FOUND;
			     ret = dict_sequence(dict, 0, &key, &value))
				if (dict_lookup(dict, key, &value) !=
				    DICT_FOUND)
					abort();
			dict_close(&dict);
		}
		free(err);
		free(spec);
	}
	strbuf_free(&why);
	return 0;
}
