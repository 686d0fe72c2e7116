/*
 * fuzz_header_addr - fuzz the RFC 5322 address-list rewriter
 * (global/header_addr.c) that cleanup runs over From:, To:, Cc: ...
 *
 * The input is a header value. Each address found is replaced by
 * "\"john doe\"@example.com" (an address that needs quoting), and then:
 *   - no address handed to the callback holds a control character;
 *   - with nothing replaced, the output is the input, byte for byte;
 *   - the output, rewritten again the same way, is unchanged (every
 *     address it holds is already the replacement): a replacement can
 *     never break the list apart or merge two addresses;
 *   - the output holds no CR or LF that the input did not have (folding
 *     inside a replaced address goes with it).
 * Inputs are capped at 16 KiB.
 *
 * Build and run with libFuzzer (from the top of the tree): make fuzz, or
 *   tests/fuzz/fuzz_header_addr -max_total_time=60 \
 *     tests/fuzz/corpus/fuzz_header_addr
 * Built with -DFUZZ_STANDALONE instead of -fsanitize=fuzzer, it runs the
 * files named on its command line once each.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "header_addr.h"
#include "strbuf.h"

#define FUZZ_MAX_INPUT 16384
#define REPLACEMENT "john doe@example.com"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int replace_all(void *ctx, const char *addr, struct strbuf *out)
{
	(void)ctx;
	for (const char *p = addr; *p; p++)
		if ((unsigned char)*p < 32 || *p == 127)
			abort();
	if (strcmp(addr, REPLACEMENT) == 0)
		return 0;
	strbuf_puts(out, REPLACEMENT);
	return 1;
}

static size_t count(const char *s, size_t len, char ch)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++)
		n += s[i] == ch;
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct strbuf *out, *again;
	const char *in = (const char *)data;
	int rc;

	if (size > FUZZ_MAX_INPUT)
		return 0;
	out = strbuf_new(STRBUF_NO_MAX);
	again = strbuf_new(STRBUF_NO_MAX);
	rc = header_addr_rewrite(in, size, replace_all, NULL, out);
	if (rc < 0)
		abort(); /* the callback never fails and out has no max */
	if (rc == 0 &&
	    (strbuf_len(out) != size || memcmp(strbuf_str(out), in, size) != 0))
		abort();
	if (count(strbuf_str(out), strbuf_len(out), '\n') >
		count(in, size, '\n') ||
	    count(strbuf_str(out), strbuf_len(out), '\r') >
		count(in, size, '\r'))
		abort();
	if (header_addr_rewrite(strbuf_str(out), strbuf_len(out), replace_all,
				NULL, again) != 0)
		abort();
	strbuf_free(&out);
	strbuf_free(&again);
	return 0;
}

#include "standalone.h"
