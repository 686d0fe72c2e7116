/*
 * fuzz_dict_cidr - the cidr: table parser and matcher. The input is a
 * table; when it opens, a few fixed addresses and each line's first word
 * are looked up. Properties: no crash or leak, and a lookup is never
 * DICT_ERROR (a cidr table that opened cannot fail a lookup).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dict.h"
#include "dict_cidr.h"
#include "strbuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void probe(struct dict *dict, const char *key)
{
	const char *value;

	if (dict_lookup(dict, key, &value) == DICT_ERROR)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *keys[] = {
	    "192.0.2.1",
	    "0.0.0.0",
	    "255.255.255.255",
	    "::",
	    "::1",
	    "2001:db8::1",
	    "[10.1.2.3]",
	    "ffff:ffff:ffff:ffff:ffff:ffff:"
	    "ffff:ffff",
	    "not-an-address",
	    "",
	};
	struct strbuf *why;
	struct dict *dict;
	FILE *fp;

	if (size == 0 || size > 65536)
		return 0;
	if ((fp = fmemopen((void *)data, size, "r")) == NULL)
		return 0;
	why = strbuf_new(STRBUF_NO_MAX);
	dict = dict_cidr_open_fp(fp, "fuzz", 0, why);
	fclose(fp);
	if (dict != NULL) {
		char word[64];
		size_t n = 0;

		for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
			probe(dict, keys[i]);
		while (n < size && n < sizeof(word) - 1 && data[n] > ' ')
			n++;
		memcpy(word, data, n);
		word[n] = 0;
		probe(dict, word);
		dict_close(&dict);
	} else if (strbuf_len(why) == 0) {
		abort(); /* a failed open always says why */
	}
	strbuf_free(&why);
	return 0;
}
