/*
 * fuzz_attr - libFuzzer harness for attr_scan(), the parser of every
 * internal request a (possibly compromised) peer process sends.
 *
 * Beyond "no crash, no leak, no undefined behaviour", each accepted list
 * must survive a round trip: printing the scanned values and scanning the
 * result again gives the same values. A difference means the reader
 * accepted something the writer cannot produce, i.e. two parties could
 * disagree about what a request said.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "attr.h"
#include "strbuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct attr_spec fuzz_specs[] = {
    {.name = "protocol", .type = ATTR_STR, .max_len = 32, .required = 0},
    {.name = "queue_id", .type = ATTR_STR, .max_len = 0, .required = 1},
    {.name = "flags", .type = ATTR_INT, .required = 0},
    {.name = "offset", .type = ATTR_LONG, .required = 0},
    {.name = "sender", .type = ATTR_STR, .max_len = 64, .required = 0},
    {.name = "status", .type = ATTR_INT, .required = 0},
};
static const struct attr_schema fuzz_schema = {
    .protocol = "fuzz_protocol",
    .specs = fuzz_specs,
    .count = 6,
};
#define FUZZ_COUNT (sizeof(fuzz_specs) / sizeof(fuzz_specs[0]))

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct attr_value v[FUZZ_COUNT], w[FUZZ_COUNT];
	struct strbuf *why = strbuf_new(1024);
	struct strbuf *out;
	ssize_t n;

	n = attr_scan(&fuzz_schema, (const char *)data, size, v, why);
	if (n < -1 || n > (ssize_t)size)
		abort();
	if (n <= 0) {
		for (size_t i = 0; i < FUZZ_COUNT; i++)
			if (v[i].present || v[i].str != NULL)
				abort();
		if (n < 0 && strbuf_len(why) == 0)
			abort(); /* an error always has a reason */
		strbuf_free(&why);
		return 0;
	}
	if (data[n - 1] != 0)
		abort();
	for (size_t i = 0; i < FUZZ_COUNT; i++)
		if (v[i].present && fuzz_specs[i].type == ATTR_STR &&
		    (v[i].str == NULL || v[i].str[v[i].len] != 0 ||
		     memchr(v[i].str, 0, v[i].len) != NULL))
			abort();

	out = strbuf_new(STRBUF_NO_MAX);
	if (attr_print(&fuzz_schema, v, out, why) != 0)
		abort();
	if (attr_scan(&fuzz_schema, strbuf_str(out), strbuf_len(out), w, why) !=
	    (ssize_t)strbuf_len(out))
		abort();
	for (size_t i = 0; i < FUZZ_COUNT; i++) {
		if (v[i].present != w[i].present || v[i].num != w[i].num ||
		    v[i].len != w[i].len ||
		    (v[i].len && memcmp(v[i].str, w[i].str, v[i].len) != 0))
			abort();
	}
	attr_values_free(v, FUZZ_COUNT);
	attr_values_free(w, FUZZ_COUNT);
	strbuf_free(&out);
	strbuf_free(&why);
	return 0;
}
