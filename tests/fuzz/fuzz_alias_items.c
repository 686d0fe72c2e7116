/*
 * fuzz_alias_items - fuzz the parser of alias values, .forward and
 * :include: files (global/alias_items.c), which local users write.
 *
 * The input, up to a NUL, is the value. The harness checks what local(8)
 * relies on: no item is empty, none starts or ends with white space,
 * none contains a line end, and there are no more items than input
 * bytes, none longer than the input.
 *
 * Build and run with libFuzzer (from the top of the tree): make fuzz, or
 *   tests/fuzz/fuzz_alias_items -max_total_time=60
 * tests/fuzz/corpus/fuzz_alias_items. Built with -DFUZZ_STANDALONE instead
 * of -fsanitize=fuzzer, it runs the files named on its command line once
 * each.
 */
#include <ctype.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "alias_items.h"
#include "mymalloc.h"

#define FUZZ_MAX_INPUT 8192

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *value, **items;
	size_t count, vlen;

	if (size > FUZZ_MAX_INPUT)
		return 0;
	value = mystrndup((const char *)data, size);
	vlen = strlen(value);
	items = alias_items_split(value, &count);
	if (count > vlen)
		abort();
	for (size_t i = 0; i < count; i++) {
		size_t len = strlen(items[i]);

		if (len == 0 || len > vlen || strchr(items[i], '\n') ||
		    isspace((unsigned char)items[i][0]) ||
		    isspace((unsigned char)items[i][len - 1]))
			abort();
	}
	alias_items_free(&items, count);
	myfree(value);
	return 0;
}

#include "standalone.h"
