/*
 * fuzz_dns_lookup - fuzz the DNS answer parser (global/dns_lookup.c,
 * dns_lookup_parse), the one place where bytes from a DNS server are
 * read.
 *
 * The first input byte picks the record type asked for (MX, A or AAAA);
 * the rest is the DNS message. When the parse succeeds the harness
 * checks that every MX exchange is empty (a null MX) or a plausible host
 * name (dns_name_ok), and that the status and the result agree.
 * Inputs are capped at 64 KiB (the largest DNS message).
 *
 * Build and run with libFuzzer (from the top of the tree): make fuzz, or
 *   tests/fuzz/fuzz_dns_lookup -max_total_time=60
 * tests/fuzz/corpus/fuzz_dns_lookup Built with -DFUZZ_STANDALONE instead of
 * -fsanitize=fuzzer, it runs the files named on its command line once each.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "dns_lookup.h"
#include "mymalloc.h"
#include "strbuf.h"

#define FUZZ_MAX_INPUT 65536

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int types[] = {DNS_TYPE_MX, DNS_TYPE_A, DNS_TYPE_AAAA};
	struct strbuf *why;
	struct dns_rr *rr;
	size_t n;
	int type;
	enum dns_status st;

	if (size < 1 || size > FUZZ_MAX_INPUT)
		return 0;
	type = types[data[0] % 3];
	why = strbuf_new(1024);
	st = dns_lookup_parse(data + 1, size - 1, type, &rr, &n, why);
	if (st == DNS_OK) {
		if (rr == NULL || n == 0)
			abort();
		for (size_t i = 0; i < n; i++)
			if (rr[i].type != type ||
			    (type == DNS_TYPE_MX && rr[i].name[0] != 0 &&
			     !dns_name_ok(rr[i].name)))
				abort();
		myfree(rr);
	} else if (rr != NULL || n != 0) {
		abort();
	}
	strbuf_free(&why);
	return 0;
}

#include "standalone.h"
