/*
 * smtpd_peer - who the client is: its address, port and host name.
 *
 * The name is believed only when DNS agrees both ways (Postfix's rule):
 * the PTR record of the address names a host, and that host's A or AAAA
 * records include the address. Otherwise the name is "unknown", so a
 * client cannot claim a name (for check_client_access, logs or the
 * Received header) by controlling only its reverse zone.
 *
 * The lookups go through the resolver library directly (res_nquery)
 * rather than getnameinfo/getaddrinfo, because the SMTP server must bound
 * the time they take: each query gets at most SMTPD_PEER_RETRANS seconds
 * and SMTPD_PEER_RETRY tries per name server (less when resolv.conf's
 * timeout and attempts options say so). Answers are parsed here with
 * bounds checks on every field (dn_expand checks the names).
 * smtpd_peername_lookup = no skips DNS altogether.
 */
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netinet/in.h>
#include <resolv.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "mail_params.h"
#include "msg.h"
#include "smtpd.h"

#define SMTPD_PEER_RETRANS 5 /* seconds per try */
#define SMTPD_PEER_RETRY 2   /* tries per server */
#define SMTPD_PEER_ANSWER 4096

/* Collect the records of type want from an answer: PTR names into names
 * (one, the first), or addresses compared with target. Returns 1 if
 * (for addresses) target was found or (for PTR) a name was stored. */
static int peer_parse(const unsigned char *msg, int len, int want, char *name,
		      size_t name_size, const unsigned char *target,
		      size_t target_len)
{
	const unsigned char *end = msg + len, *p;
	char buf[NS_MAXDNAME];
	int qd, an, n;

	if (len < NS_HFIXEDSZ)
		return 0;
	qd = (msg[4] << 8) | msg[5];
	an = (msg[6] << 8) | msg[7];
	p = msg + NS_HFIXEDSZ;
	for (; qd > 0; qd--) {
		if ((n = dn_expand(msg, end, p, buf, sizeof(buf))) < 0 ||
		    end - p < n + NS_QFIXEDSZ)
			return 0;
		p += n + NS_QFIXEDSZ;
	}
	for (; an > 0; an--) {
		int type, rdlen;

		if ((n = dn_expand(msg, end, p, buf, sizeof(buf))) < 0 ||
		    end - p < n + NS_RRFIXEDSZ)
			return 0;
		/* UNSAFE: n + NS_RRFIXEDSZ bytes are inside the answer. */
		p += n;
		type = (p[0] << 8) | p[1];
		rdlen = (p[8] << 8) | p[9];
		p += NS_RRFIXEDSZ;
		if (end - p < rdlen)
			return 0;
		if (type == want && want == ns_t_ptr) {
			if (dn_expand(msg, end, p, buf, sizeof(buf)) < 0)
				return 0;
			if (strlen(buf) < name_size) {
				snprintf(name, name_size, "%s", buf);
				return 1;
			}
		} else if (type == want && (size_t)rdlen == target_len &&
			   memcmp(p, target, target_len) == 0) {
			return 1;
		}
		p += rdlen;
	}
	return 0;
}

/* A name made of letters, digits, '-', '_' and dots only: anything else
 * from a PTR record is not a host name and is not believed. */
static int peer_name_ok(const char *name)
{
	if (*name == 0 || strlen(name) > 255)
		return 0;
	for (const char *p = name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' ||
		      *p == '.'))
			return 0;
	return 1;
}

static void peer_lookup(struct smtpd_state *state, int family,
			const unsigned char *bytes)
{
	struct __res_state res;
	unsigned char answer[SMTPD_PEER_ANSWER];
	char qname[128], ptr[256];
	size_t alen = family == AF_INET ? 4 : 16;
	int len;

	memset(&res, 0, sizeof(res));
	if (res_ninit(&res) < 0) {
		msg_warn("cannot initialise the resolver");
		return;
	}
	/* Our bound, unless resolv.conf asks for less ("options timeout:1
	 * attempts:1" is honoured). */
	if (res.retrans <= 0 || res.retrans > SMTPD_PEER_RETRANS)
		res.retrans = SMTPD_PEER_RETRANS;
	if (res.retry <= 0 || res.retry > SMTPD_PEER_RETRY)
		res.retry = SMTPD_PEER_RETRY;
	if (family == AF_INET) {
		snprintf(qname, sizeof(qname), "%u.%u.%u.%u.in-addr.arpa",
			 bytes[3], bytes[2], bytes[1], bytes[0]);
	} else {
		char *q = qname;

		for (int i = 15; i >= 0; i--) {
			/* UNSAFE: 16 x 4 bytes + "ip6.arpa" fit in 128. */
			q +=
			    sprintf(q, "%x.%x.", bytes[i] & 0xf, bytes[i] >> 4);
		}
		strcpy(q, "ip6.arpa");
	}
	len =
	    res_nquery(&res, qname, ns_c_in, ns_t_ptr, answer, sizeof(answer));
	if (len <= 0 || len > (int)sizeof(answer) ||
	    !peer_parse(answer, len, ns_t_ptr, ptr, sizeof(ptr), NULL, 0) ||
	    !peer_name_ok(ptr))
		goto done;
	snprintf(state->reverse_name, sizeof(state->reverse_name), "%s", ptr);
	len = res_nquery(&res, ptr, ns_c_in,
			 family == AF_INET ? ns_t_a : ns_t_aaaa, answer,
			 sizeof(answer));
	if (len > 0 && len <= (int)sizeof(answer) &&
	    peer_parse(answer, len, family == AF_INET ? ns_t_a : ns_t_aaaa,
		       NULL, 0, bytes, alen))
		snprintf(state->name, sizeof(state->name), "%s", ptr);
	else
		msg_warn("hostname %s does not resolve to address %s", ptr,
			 state->addr);
done:
	res_nclose(&res);
}

void smtpd_peer_init(struct smtpd_state *state)
{
	struct sockaddr_storage ss;
	socklen_t sslen = sizeof(ss);
	unsigned char bytes[16];
	int family = AF_UNSPEC;

	snprintf(state->name, sizeof(state->name), "unknown");
	snprintf(state->reverse_name, sizeof(state->reverse_name), "unknown");
	snprintf(state->addr, sizeof(state->addr), "unknown");
	snprintf(state->port, sizeof(state->port), "0");
	if (getpeername(state->fd, (struct sockaddr *)&ss, &sslen) == 0) {
		if (ss.ss_family == AF_INET) {
			struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

			family = AF_INET;
			memcpy(bytes, &sin->sin_addr, 4);
			snprintf(state->port, sizeof(state->port), "%u",
				 ntohs(sin->sin_port));
		} else if (ss.ss_family == AF_INET6) {
			struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
			static const unsigned char mapped[12] = {
			    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

			family = AF_INET6;
			memcpy(bytes, &sin6->sin6_addr, 16);
			if (memcmp(bytes, mapped, 12) == 0) {
				family = AF_INET;
				memmove(bytes, bytes + 12, 4);
			}
			snprintf(state->port, sizeof(state->port), "%u",
				 ntohs(sin6->sin6_port));
		}
	}
	if (family != AF_UNSPEC)
		inet_ntop(family, bytes, state->addr, sizeof(state->addr));
	snprintf(state->rfc_addr, sizeof(state->rfc_addr), "%s%s",
		 family == AF_INET6 ? "IPv6:" : "", state->addr);
	if (family != AF_UNSPEC && var_smtpd_peername_lookup)
		peer_lookup(state, family, bytes);
	snprintf(state->namaddr, sizeof(state->namaddr), "%s[%s]", state->name,
		 state->addr);
}
