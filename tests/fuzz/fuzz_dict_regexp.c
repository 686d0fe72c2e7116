/*
 * fuzz_dict_regexp - the regexp: and pcre: table parsers. The first byte
 * picks the engine; the rest is the table. A pcre table that opens is
 * also asked a few keys (PCRE2's match and depth limits bound the time).
 * POSIX tables are only compiled, and inputs with '{', with two
 * repetition operators in a row ("a+++") or with more than a few of them
 * are skipped: glibc's regcomp can take exponential time and memory on
 * those, which is the C library's limit, not a parser bug (it ran out of
 * memory on "\/\x04+++...a/" within ten seconds of fuzzing).
 * Properties: no crash or leak, a failed open always explains itself, and
 * a substituted result never reads outside the key.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dict.h"
#include "dict_regexp.h"
#include "strbuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Inputs on which glibc's regcomp may blow up (see above). */
static int posix_regcomp_hazard(const uint8_t *data, size_t size)
{
	int ops = 0, prev_op = 0;

	for (size_t i = 0; i < size; i++) {
		int op = data[i] == '*' || data[i] == '+' || data[i] == '?';

		if (data[i] == '{' || (op && prev_op) || (ops += op) > 4)
			return 1;
		prev_op = op;
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *keys[] = {
	    "user@example.com",
	    "",
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaab",
	    "Subject: hello\nworld",
	};
	struct strbuf *why;
	struct dict *dict;
	int pcre;
	FILE *fp;

	if (size < 2 || size > 4096)
		return 0;
	pcre = data[0] & 1;
	data++;
	size--;
	if (!pcre && posix_regcomp_hazard(data, size))
		return 0;
	if ((fp = fmemopen((void *)data, size, "r")) == NULL)
		return 0;
	why = strbuf_new(STRBUF_NO_MAX);
	dict = pcre ? dict_pcre_open_fp(fp, "fuzz", 0, why)
		    : dict_regexp_open_fp(fp, "fuzz", 0, why);
	fclose(fp);
	if (dict != NULL) {
		const char *value;

		if (pcre)
			for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]);
			     i++)
				(void)dict_lookup(dict, keys[i], &value);
		dict_close(&dict);
	} else if (strbuf_len(why) == 0) {
		abort();
	}
	strbuf_free(&why);
	return 0;
}
