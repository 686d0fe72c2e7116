/*
 * dns_lookup - MX, A and AAAA lookups; see dns_lookup.h.
 *
 * Safety argument. The resolver's answer is outside data. res_nquery()
 * returns the length of the whole response, which may be more than the
 * buffer it filled (a truncated answer): the length is clamped to the
 * buffer before anything reads it. Records are reached only through
 * ns_initparse/ns_parserr, which check every count and length against
 * the message; rdata is then read only within rdlen, which is checked
 * against what each type needs. Names leave ns_name_uncompress bounded
 * by our buffer and are then checked by dns_name_ok().
 *
 * Timeouts: every query gets at most DNS_RETRANS seconds per try and
 * DNS_TRIES tries per server (less if resolv.conf says so), so one lookup
 * is bounded whatever resolv.conf says.
 */
#include <arpa/nameser.h>
#include <netinet/in.h>
#include <netdb.h>
#include <resolv.h>
#include <string.h>

#include "dns_lookup.h"
#include "mymalloc.h"
#include "strbuf.h"

#define DNS_RETRANS 3 /* seconds per try */
#define DNS_TRIES 2
#define DNS_ANSWER_MAX 65536
/* At most this many records are kept from one answer. */
#define DNS_RR_MAX 100

const char *dns_type_name(int type)
{
	switch (type) {
	case DNS_TYPE_A:
		return "A";
	case DNS_TYPE_AAAA:
		return "AAAA";
	case DNS_TYPE_MX:
		return "MX";
	default:
		return "unknown";
	}
}

int dns_name_ok(const char *name)
{
	size_t len = strlen(name), label = 0;

	if (len == 0 || len > DNS_NAME_MAX)
		return 0;
	for (const char *p = name; *p; p++) {
		unsigned char c = (unsigned char)*p;

		if (c == '.') {
			if (label == 0)
				return 0; /* empty label */
			label = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '-' || c == '_'))
			return 0;
		if (++label > 63)
			return 0;
	}
	return 1;
}

/* One answer record of the wanted type into rr. 1 taken, 0 skipped
 * (another type or class, or an unusable name), -1 malformed. */
static int dns_take_rr(ns_msg *handle, ns_rr *rr, int type, struct dns_rr *out,
		       struct strbuf *why)
{
	const unsigned char *rdata = ns_rr_rdata(*rr);
	size_t rdlen = ns_rr_rdlen(*rr);
	char name[NS_MAXDNAME];
	int n;

	if (ns_rr_class(*rr) != ns_c_in || (int)ns_rr_type(*rr) != type)
		return 0;
	memset(out, 0, sizeof(*out));
	out->type = type;
	switch (type) {
	case DNS_TYPE_A:
		if (rdlen != 4)
			return strbuf_why(why, "A record of %zu bytes", rdlen);
		memcpy(out->addr, rdata, 4);
		return 1;
	case DNS_TYPE_AAAA:
		if (rdlen != 16)
			return strbuf_why(why, "AAAA record of %zu bytes",
					  rdlen);
		memcpy(out->addr, rdata, 16);
		return 1;
	case DNS_TYPE_MX:
		if (rdlen < 3)
			return strbuf_why(why, "MX record of %zu bytes", rdlen);
		out->pref = ns_get16(rdata);
		/* UNSAFE: rdata + 2 is inside rdata (rdlen >= 3); the name
		 * may point anywhere in the message, which ns_name_uncompress
		 * bounds by the message's end and our buffer. */
		n = ns_name_uncompress(ns_msg_base(*handle),
				       ns_msg_end(*handle), rdata + 2, name,
				       sizeof(name));
		if (n < 0 || (size_t)n > rdlen - 2)
			return strbuf_why(why, "malformed MX record");
		if (strcmp(name, ".") == 0 || name[0] == 0) {
			out->name[0] = 0; /* the root: a null MX */
			return 1;
		}
		if (!dns_name_ok(name))
			return 0;
		memcpy(out->name, name, strlen(name) + 1);
		return 1;
	default:
		return 0;
	}
}

enum dns_status dns_lookup_parse(const unsigned char *msg, size_t len, int type,
				 struct dns_rr **rrp, size_t *countp,
				 struct strbuf *why)
{
	ns_msg handle;
	ns_rr rr;
	struct dns_rr *rrs = NULL;
	size_t count = 0, nan;
	int rcode;

	*rrp = NULL;
	*countp = 0;
	if (len > DNS_ANSWER_MAX || ns_initparse(msg, (int)len, &handle) < 0) {
		strbuf_why(why, "malformed DNS reply");
		return DNS_FAIL;
	}
	rcode = ns_msg_getflag(handle, ns_f_rcode);
	if (rcode == ns_r_nxdomain) {
		strbuf_why(why, "Host not found");
		return DNS_NOTFOUND;
	}
	if (rcode != ns_r_noerror) {
		strbuf_why(why, "Host not found, try again");
		return DNS_RETRY;
	}
	nan = ns_msg_count(handle, ns_s_an);
	if (nan > 0)
		rrs =
		    mycalloc(nan < DNS_RR_MAX ? nan : DNS_RR_MAX, sizeof(*rrs));
	for (size_t i = 0; i < nan && count < DNS_RR_MAX; i++) {
		int got;

		if (ns_parserr(&handle, ns_s_an, (int)i, &rr) < 0) {
			myfree(rrs);
			strbuf_why(why, "malformed DNS reply");
			return DNS_FAIL;
		}
		got = dns_take_rr(&handle, &rr, type, rrs + count, why);
		if (got < 0) {
			myfree(rrs);
			return DNS_FAIL;
		}
		count += (size_t)got;
	}
	if (count == 0) {
		myfree(rrs);
		strbuf_why(why, "No address associated with hostname");
		return DNS_NODATA;
	}
	*rrp = rrs;
	*countp = count;
	return DNS_OK;
}

enum dns_status dns_lookup(const char *name, int type, struct dns_rr **rrp,
			   size_t *countp, struct strbuf *why)
{
	struct __res_state res;
	unsigned char *answer;
	enum dns_status status;
	int n;

	*rrp = NULL;
	*countp = 0;
	if (!dns_name_ok(name)) {
		strbuf_why(why, "malformed domain name");
		return DNS_FAIL;
	}
	memset(&res, 0, sizeof(res));
	if (res_ninit(&res) < 0) {
		strbuf_why(why, "cannot initialize the resolver");
		return DNS_RETRY;
	}
	/* resolv.conf may ask for less, never for more. */
	if (res.retrans <= 0 || res.retrans > DNS_RETRANS)
		res.retrans = DNS_RETRANS;
	if (res.retry <= 0 || res.retry > DNS_TRIES)
		res.retry = DNS_TRIES;
	/* A mail system asks for exactly the name it was given. */
	res.options &= ~(unsigned long)(RES_DEFNAMES | RES_DNSRCH);
	answer = mymalloc(DNS_ANSWER_MAX);
	n = res_nquery(&res, name, ns_c_in, type, answer, DNS_ANSWER_MAX);
	if (n < 0) {
		switch (res.res_h_errno) {
		case HOST_NOT_FOUND:
			strbuf_why(why, "Host not found");
			status = DNS_NOTFOUND;
			break;
		case NO_DATA:
			strbuf_why(why, "No address associated with hostname");
			status = DNS_NODATA;
			break;
		case NO_RECOVERY:
			strbuf_why(why, "Non-recoverable error");
			status = DNS_FAIL;
			break;
		default:
			strbuf_why(why, "Host not found, try again");
			status = DNS_RETRY;
			break;
		}
	} else {
		/* A truncated answer reports its full length. */
		size_t len =
		    (size_t)n < DNS_ANSWER_MAX ? (size_t)n : DNS_ANSWER_MAX;

		status = dns_lookup_parse(answer, len, type, rrp, countp, why);
	}
	myfree(answer);
	res_nclose(&res);
	return status;
}
