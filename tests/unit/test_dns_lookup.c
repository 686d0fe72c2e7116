/*
 * test_dns_lookup - parsing DNS answers (global/dns_lookup.c,
 * dns_lookup_parse): MX, A and AAAA records, name compression, the null
 * MX, the response codes, and malformed answers (bad lengths, pointers
 * out of the message, pointer loops, truncation, random bytes). No query
 * is ever sent: the answers are built here.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dns_lookup.h"
#include "mymalloc.h"
#include "strbuf.h"

struct pkt {
	unsigned char b[1024];
	size_t len;
};

static void put(struct pkt *p, const void *data, size_t len)
{
	assert_true(p->len + len <= sizeof(p->b));
	memcpy(p->b + p->len, data, len);
	p->len += len;
}

static void put16(struct pkt *p, unsigned v)
{
	unsigned char x[2] = {(unsigned char)(v >> 8), (unsigned char)v};

	put(p, x, 2);
}

static void put32(struct pkt *p, unsigned long v)
{
	put16(p, (unsigned)(v >> 16) & 0xffff);
	put16(p, (unsigned)v & 0xffff);
}

/* "a.b" as labels, ending with the root. */
static void put_name(struct pkt *p, const char *name)
{
	while (*name) {
		size_t n = strcspn(name, ".");
		unsigned char len = (unsigned char)n;

		put(p, &len, 1);
		put(p, name, n);
		name += n;
		if (*name == '.')
			name++;
	}
	put(p, "", 1);
}

/* Header and question; the question name is at offset 12. */
static void start(struct pkt *p, int rcode, unsigned ancount, const char *qname,
		  unsigned qtype)
{
	p->len = 0;
	put16(p, 0x1234);
	put16(p, 0x8180 | (unsigned)rcode); /* response, RD, RA */
	put16(p, 1);
	put16(p, ancount);
	put16(p, 0);
	put16(p, 0);
	put_name(p, qname);
	put16(p, qtype);
	put16(p, 1);
}

/* An answer record owned by the question name (pointer to 12). */
static void rr_head(struct pkt *p, unsigned type, unsigned rdlen)
{
	put16(p, 0xc00c);
	put16(p, type);
	put16(p, 1);
	put32(p, 300);
	put16(p, rdlen);
}

static enum dns_status parse(const struct pkt *p, int type, struct dns_rr **rr,
			     size_t *n)
{
	struct strbuf *why = strbuf_new(1024);
	enum dns_status st = dns_lookup_parse(p->b, p->len, type, rr, n, why);

	strbuf_free(&why);
	return st;
}

static void test_mx(void **state)
{
	struct pkt p;
	struct dns_rr *rr;
	size_t n;

	(void)state;
	start(&p, 0, 2, "example.com", DNS_TYPE_MX);
	/* 20 mx2.example.com with the domain compressed */
	rr_head(&p, DNS_TYPE_MX, 2 + 4 + 2);
	put16(&p, 20);
	put(&p, "\003mx2", 4);
	put16(&p, 0xc00c);
	/* 10 mx1.other.net spelled out */
	rr_head(&p, DNS_TYPE_MX, 2 + 15);
	put16(&p, 10);
	put_name(&p, "mx1.other.net");
	assert_int_equal(parse(&p, DNS_TYPE_MX, &rr, &n), DNS_OK);
	assert_int_equal(n, 2);
	assert_int_equal(rr[0].pref, 20);
	assert_string_equal(rr[0].name, "mx2.example.com");
	assert_int_equal(rr[1].pref, 10);
	assert_string_equal(rr[1].name, "mx1.other.net");
	myfree(rr);
}

static void test_null_mx(void **state)
{
	struct pkt p;
	struct dns_rr *rr;
	size_t n;

	(void)state;
	start(&p, 0, 1, "nullmx.example", DNS_TYPE_MX);
	rr_head(&p, DNS_TYPE_MX, 3);
	put16(&p, 0);
	put(&p, "", 1);
	assert_int_equal(parse(&p, DNS_TYPE_MX, &rr, &n), DNS_OK);
	assert_int_equal(n, 1);
	assert_string_equal(rr[0].name, "");
	assert_int_equal(rr[0].pref, 0);
	myfree(rr);
}

static void test_addresses(void **state)
{
	struct pkt p;
	struct dns_rr *rr;
	size_t n;
	unsigned char v6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};

	(void)state;
	start(&p, 0, 2, "host.example", DNS_TYPE_A);
	rr_head(&p, DNS_TYPE_A, 4);
	put(&p, "\300\000\002\001", 4);
	/* a CNAME in the chain is skipped */
	rr_head(&p, 5, 2);
	put16(&p, 0xc00c);
	assert_int_equal(parse(&p, DNS_TYPE_A, &rr, &n), DNS_OK);
	assert_int_equal(n, 1);
	assert_memory_equal(rr[0].addr, "\300\000\002\001", 4);
	myfree(rr);

	start(&p, 0, 1, "host.example", DNS_TYPE_AAAA);
	rr_head(&p, DNS_TYPE_AAAA, 16);
	put(&p, v6, 16);
	assert_int_equal(parse(&p, DNS_TYPE_AAAA, &rr, &n), DNS_OK);
	assert_memory_equal(rr[0].addr, v6, 16);
	myfree(rr);
}

static void test_rcodes(void **state)
{
	struct pkt p;
	struct dns_rr *rr;
	size_t n;

	(void)state;
	start(&p, 3, 0, "nx.example", DNS_TYPE_MX);
	assert_int_equal(parse(&p, DNS_TYPE_MX, &rr, &n), DNS_NOTFOUND);
	assert_null(rr);
	start(&p, 2, 0, "broken.example", DNS_TYPE_MX);
	assert_int_equal(parse(&p, DNS_TYPE_MX, &rr, &n), DNS_RETRY);
	start(&p, 5, 0, "refused.example", DNS_TYPE_MX);
	assert_int_equal(parse(&p, DNS_TYPE_MX, &rr, &n), DNS_RETRY);
	start(&p, 0, 0, "nomx.example", DNS_TYPE_MX);
	assert_int_equal(parse(&p, DNS_TYPE_MX, &rr, &n), DNS_NODATA);
	assert_int_equal(n, 0);
}

static void test_malformed(void **state)
{
	struct pkt p;
	struct dns_rr *rr;
	size_t n, full;

	(void)state;
	/* An A record of 5 bytes. */
	start(&p, 0, 1, "host.example", DNS_TYPE_A);
	rr_head(&p, DNS_TYPE_A, 5);
	put(&p, "\001\002\003\004\005", 5);
	assert_int_equal(parse(&p, DNS_TYPE_A, &rr, &n), DNS_FAIL);
	assert_null(rr);

	/* An AAAA record of 4 bytes. */
	start(&p, 0, 1, "host.example", DNS_TYPE_AAAA);
	rr_head(&p, DNS_TYPE_AAAA, 4);
	put(&p, "\001\002\003\004", 4);
	assert_int_equal(parse(&p, DNS_TYPE_AAAA, &rr, &n), DNS_FAIL);

	/* rdlen past the end of the message. */
	start(&p, 0, 1, "host.example", DNS_TYPE_A);
	rr_head(&p, DNS_TYPE_A, 200);
	put(&p, "\001\002\003\004", 4);
	assert_int_equal(parse(&p, DNS_TYPE_A, &rr, &n), DNS_FAIL);

	/* An MX too short for its preference and a name. */
	start(&p, 0, 1, "example.com", DNS_TYPE_MX);
	rr_head(&p, DNS_TYPE_MX, 2);
	put16(&p, 10);
	assert_int_equal(parse(&p, DNS_TYPE_MX, &rr, &n), DNS_FAIL);

	/* An MX name pointing outside the message. */
	start(&p, 0, 1, "example.com", DNS_TYPE_MX);
	rr_head(&p, DNS_TYPE_MX, 4);
	put16(&p, 10);
	put16(&p, 0xc000 | 900);
	assert_int_equal(parse(&p, DNS_TYPE_MX, &rr, &n), DNS_FAIL);

	/* An MX name that points at itself. */
	start(&p, 0, 1, "example.com", DNS_TYPE_MX);
	rr_head(&p, DNS_TYPE_MX, 4);
	put16(&p, 10);
	put16(&p, 0xc000 | (unsigned)p.len);
	assert_int_equal(parse(&p, DNS_TYPE_MX, &rr, &n), DNS_FAIL);

	/* An MX name that runs past its rdata into the next bytes. */
	start(&p, 0, 1, "example.com", DNS_TYPE_MX);
	rr_head(&p, DNS_TYPE_MX, 5);
	put16(&p, 10);
	put_name(&p, "mx.example.com");
	assert_int_equal(parse(&p, DNS_TYPE_MX, &rr, &n), DNS_FAIL);

	/* A message cut short inside the answer: every length fails. */
	start(&p, 0, 1, "example.com", DNS_TYPE_MX);
	rr_head(&p, DNS_TYPE_MX, 2 + 16);
	put16(&p, 10);
	put_name(&p, "mx.example.com");
	full = p.len;
	for (p.len = 0; p.len < full; p.len++)
		assert_int_not_equal(parse(&p, DNS_TYPE_MX, &rr, &n), DNS_OK);
	p.len = full;
	assert_int_equal(parse(&p, DNS_TYPE_MX, &rr, &n), DNS_OK);
	myfree(rr);

	/* More answers claimed than present. */
	start(&p, 0, 3, "host.example", DNS_TYPE_A);
	rr_head(&p, DNS_TYPE_A, 4);
	put(&p, "\001\002\003\004", 4);
	assert_int_equal(parse(&p, DNS_TYPE_A, &rr, &n), DNS_FAIL);
}

static void test_bad_names_skipped(void **state)
{
	struct pkt p;
	struct dns_rr *rr;
	size_t n;

	(void)state;
	/* An exchange with a blank and a control byte is not a host. */
	start(&p, 0, 2, "example.com", DNS_TYPE_MX);
	rr_head(&p, DNS_TYPE_MX, 2 + 7);
	put16(&p, 10);
	put(&p, "\003a b\001\n\000", 7);
	rr_head(&p, DNS_TYPE_MX, 2 + 12);
	put16(&p, 20);
	put_name(&p, "ok.example");
	assert_int_equal(parse(&p, DNS_TYPE_MX, &rr, &n), DNS_OK);
	assert_int_equal(n, 1);
	assert_string_equal(rr[0].name, "ok.example");
	myfree(rr);
}

static void test_random_bytes(void **state)
{
	struct pkt p;
	struct dns_rr *rr;
	size_t n;

	(void)state;
	srandom(7);
	for (int round = 0; round < 5000; round++) {
		start(&p, 0, (unsigned)(random() % 4), "example.com",
		      DNS_TYPE_MX);
		for (int i = random() % 64; i > 0; i--) {
			unsigned char c = (unsigned char)random();

			put(&p, &c, 1);
		}
		if (parse(&p, DNS_TYPE_MX, &rr, &n) == DNS_OK) {
			for (size_t i = 0; i < n; i++)
				assert_true(rr[i].name[0] == 0 ||
					    dns_name_ok(rr[i].name));
			myfree(rr);
		}
	}
}

static void test_name_ok(void **state)
{
	char longname[300];

	(void)state;
	assert_true(dns_name_ok("mx.example.com"));
	assert_true(dns_name_ok("_dmarc.example-1.com"));
	assert_false(dns_name_ok(""));
	assert_false(dns_name_ok("a..b"));
	assert_false(dns_name_ok(".a"));
	assert_false(dns_name_ok("a b"));
	assert_false(dns_name_ok("a\nb"));
	assert_false(dns_name_ok("caf\xc3\xa9.example"));
	memset(longname, 'a', 64);
	longname[64] = 0;
	assert_false(dns_name_ok(longname)); /* a label of 64 */
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = 0;
	for (size_t i = 50; i < sizeof(longname) - 1; i += 50)
		longname[i] = '.';
	assert_false(dns_name_ok(longname)); /* longer than 253 */
	assert_string_equal(dns_type_name(DNS_TYPE_MX), "MX");
}

static void test_lookup_refuses_bad_name(void **state)
{
	struct strbuf *why = strbuf_new(1024);
	struct dns_rr *rr;
	size_t n;

	(void)state;
	/* Refused before any query is made. */
	assert_int_equal(dns_lookup("bad name", DNS_TYPE_MX, &rr, &n, why),
			 DNS_FAIL);
	assert_null(rr);
	strbuf_free(&why);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_mx),
	    cmocka_unit_test(test_null_mx),
	    cmocka_unit_test(test_addresses),
	    cmocka_unit_test(test_rcodes),
	    cmocka_unit_test(test_malformed),
	    cmocka_unit_test(test_bad_names_skipped),
	    cmocka_unit_test(test_random_bytes),
	    cmocka_unit_test(test_name_ok),
	    cmocka_unit_test(test_lookup_refuses_bad_name),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
