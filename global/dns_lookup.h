/*
 * dns_lookup - the few DNS questions a mail system asks (MX, A, AAAA),
 * over glibc's resolver (res_nquery) with bounded timeouts.
 *
 * The answer is parsed here, not trusted: every record is taken through
 * ns_initparse/ns_parserr (which check each length against the message),
 * an address record must have exactly the size of its type, and a name
 * must be a plausible host name (letters, digits, '-', '_', '.'; at most
 * DNS_NAME_MAX bytes) or it is dropped. The caller gets owned arrays and
 * a status that says what a mail system must do next: use the records,
 * bounce (the name does not exist), fall back (no records of that type),
 * or try again later.
 */
#ifndef POSTERN_DNS_LOOKUP_H
#define POSTERN_DNS_LOOKUP_H

#include <stddef.h>

struct strbuf;

#define DNS_NAME_MAX 253

enum dns_status {
	DNS_OK = 0,	  /* records found */
	DNS_NOTFOUND = 1, /* NXDOMAIN: the name does not exist */
	DNS_NODATA = 2,	  /* the name exists, no records of this type */
	DNS_RETRY = 3,	  /* SERVFAIL, timeout, no server: try later */
	DNS_FAIL = 4,	  /* a malformed name or answer */
};

/* Record types asked (the RFC 1035 / RFC 3596 numbers). */
#define DNS_TYPE_A 1
#define DNS_TYPE_MX 15
#define DNS_TYPE_AAAA 28

struct dns_rr {
	int type;      /* DNS_TYPE_* */
	unsigned pref; /* MX preference */
	char
	    name[DNS_NAME_MAX + 1]; /* MX exchange ("" for the root: null MX) */
	unsigned char addr[16];	    /* A: 4 bytes, AAAA: 16 */
};

/* Ask for records of type for name. DNS_OK with *rrp (caller frees with
 * myfree) and *countp >= 1; any other status with *rrp NULL and the
 * reason in why ("Host not found", "Host not found, try again"). */
enum dns_status dns_lookup(const char *name, int type, struct dns_rr **rrp,
			   size_t *countp, struct strbuf *why);

/* Parse a DNS response msg[0..len) for records of type in its answer
 * section (what dns_lookup does with the resolver's answer; public for
 * the tests). Same results as dns_lookup. */
enum dns_status dns_lookup_parse(const unsigned char *msg, size_t len, int type,
				 struct dns_rr **rrp, size_t *countp,
				 struct strbuf *why);

/* 1 if name looks like a host name we may look up or connect to. */
int dns_name_ok(const char *name);

/* "MX", "A", "AAAA" for messages. */
const char *dns_type_name(int type);

#endif
