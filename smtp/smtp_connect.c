/*
 * smtp_connect - from a next hop to an open, greeted session.
 *
 * Next hops, as qmgr hands them over from the transport's nexthop:
 *   domain          MX lookup, then the hosts in preference order (equal
 *                   preferences in random order); A/AAAA of the domain
 *                   itself when it has no MX; port 25
 *   domain:port     the same on another port
 *   [host]          no MX lookup: host's addresses (or the address)
 *   [host]:port
 * and for LMTP "unix:/path" (a UNIX socket; relative to the queue
 * directory), "inet:host:port" or "host[:port]" (no MX, port
 * lmtp_tcp_port).
 *
 * What a lookup result means for the mail (as in Postfix): a domain that
 * does not exist (NXDOMAIN) bounces (5.4.4), a null MX (RFC 7505: "." as
 * the exchange) bounces (5.1.10), a lookup that could not be completed
 * (SERVFAIL, timeout) defers (4.4.3). With smtp_dns_support_level =
 * disabled nothing here asks DNS: no MX, and addresses come from the
 * system's getaddrinfo (files, /etc/hosts).
 *
 * Then the addresses are tried in order, at most smtp_mx_address_limit
 * of them and smtp_mx_session_limit greeted sessions: a failed connect,
 * a 4xx (or, with smtp_skip_5xx_greeting, a 5xx) greeting or a refused
 * EHLO/HELO moves on to the next, each failure logged as Postfix does
 * ("connect to H[A]:P: Connection refused"). smtp_fallback_relay hosts
 * come last. The caller gets the last failure when none worked.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "dns_lookup.h"
#include "mail_conf.h"
#include "mail_params.h"
#include "msg.h"
#include "mymalloc.h"
#include "smtp.h"
#include "sock.h"
#include "strbuf.h"

/* Most targets collected for one destination, whatever the limits. */
#define SMTP_TARGETS_MAX 100

struct targets {
	struct smtp_target t[SMTP_TARGETS_MAX];
	size_t count;
};

static int port_ok(const char *port)
{
	size_t n = strlen(port);

	if (n == 0 || n >= sizeof(((struct smtp_target *)0)->port))
		return 0;
	for (const char *p = port; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') ||
		      *p == '-'))
			return 0;
	return 1;
}

static int host_chars_ok(const char *host)
{
	if (*host == 0)
		return 0;
	for (const char *p = host; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == '[' || *p == ']' ||
		    (unsigned char)*p >= 0x7f)
			return 0;
	return 1;
}

int smtp_nexthop_parse(const char *nexthop, int lmtp, char *host,
		       size_t hostlen, char *port, size_t portlen,
		       int *bracketed, int *is_unix)
{
	const char *p = nexthop, *colon;
	size_t n;

	*bracketed = 0;
	*is_unix = 0;
	port[0] = 0;
	if (lmtp && strncmp(p, "unix:", 5) == 0) {
		p += 5;
		n = strlen(p);
		if (n == 0 || n >= hostlen ||
		    n >= sizeof(((struct sockaddr_un *)0)->sun_path))
			return -1;
		for (const char *q = p; *q; q++)
			if ((unsigned char)*q < ' ')
				return -1;
		memcpy(host, p, n + 1);
		*is_unix = 1;
		return 0;
	}
	if (lmtp && strncmp(p, "inet:", 5) == 0)
		p += 5;
	if (*p == '[') {
		const char *close = strchr(p, ']');

		if (close == NULL)
			return -1;
		n = (size_t)(close - p - 1);
		if (n == 0 || n >= hostlen)
			return -1;
		memcpy(host, p + 1, n);
		host[n] = 0;
		*bracketed = 1;
		p = close + 1;
		if (*p == ':')
			colon = p;
		else if (*p == 0)
			colon = NULL;
		else
			return -1;
	} else {
		colon = strchr(p, ':');
		if (colon != NULL && strchr(colon + 1, ':') != NULL)
			return -1; /* an IPv6 address must be bracketed */
		n = colon ? (size_t)(colon - p) : strlen(p);
		if (n == 0 || n >= hostlen)
			return -1;
		memcpy(host, p, n);
		host[n] = 0;
	}
	if (colon != NULL) {
		n = strlen(colon + 1);
		if (n >= portlen || !port_ok(colon + 1))
			return -1;
		memcpy(port, colon + 1, n + 1);
	}
	return host_chars_ok(host) ? 0 : -1;
}

/* The port as a number; a name from /etc/services. 0 if unknown. */
static unsigned port_number(const char *port)
{
	char *end;
	unsigned long v = strtoul(port, &end, 10);
	struct servent *se;

	if (*port && *end == 0)
		return v > 0 && v < 65536 ? (unsigned)v : 0;
	if ((se = getservbyname(port, "tcp")) != NULL)
		return ntohs((uint16_t)se->s_port);
	return 0;
}

static void add_target(struct targets *ts, const char *host, int family,
		       const void *addr, unsigned port)
{
	struct smtp_target *t;

	if (ts->count >= SMTP_TARGETS_MAX)
		return;
	if ((family == AF_INET && !smtp_params.want_ipv4) ||
	    (family == AF_INET6 && !smtp_params.want_ipv6))
		return;
	t = ts->t + ts->count;
	memset(t, 0, sizeof(*t));
	snprintf(t->host, sizeof(t->host), "%s", host);
	snprintf(t->port, sizeof(t->port), "%u", port);
	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&t->sa;

		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		memcpy(&sin->sin_addr, addr, 4);
		t->salen = sizeof(*sin);
		inet_ntop(AF_INET, addr, t->addr, sizeof(t->addr));
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&t->sa;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		memcpy(&sin6->sin6_addr, addr, 16);
		t->salen = sizeof(*sin6);
		inet_ntop(AF_INET6, addr, t->addr, sizeof(t->addr));
	}
	ts->count++;
}

/* The system's resolver (getaddrinfo): files, then whatever nsswitch
 * says. */
static enum dns_status lookup_native(struct targets *ts, const char *host,
				     unsigned port, struct strbuf *why)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res, *ai;
	size_t before = ts->count;
	int err;

	hints.ai_family = smtp_params.want_ipv4 && smtp_params.want_ipv6
			      ? AF_UNSPEC
			  : smtp_params.want_ipv6 ? AF_INET6
						  : AF_INET;
	err = getaddrinfo(host, NULL, &hints, &res);
	if (err != 0) {
		strbuf_why(why, "%s", gai_strerror(err));
		if (err == EAI_NONAME)
			return DNS_NOTFOUND;
#ifdef EAI_NODATA
		if (err == EAI_NODATA)
			return DNS_NODATA;
#endif
		return DNS_RETRY;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if (ai->ai_family == AF_INET)
			add_target(
			    ts, host, AF_INET,
			    &((struct sockaddr_in *)ai->ai_addr)->sin_addr,
			    port);
		else if (ai->ai_family == AF_INET6)
			add_target(
			    ts, host, AF_INET6,
			    &((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr,
			    port);
	}
	freeaddrinfo(res);
	if (ts->count == before) {
		strbuf_why(why, "No address associated with hostname");
		return DNS_NODATA;
	}
	return DNS_OK;
}

/* The addresses of host (a name or a numeric address). *qtype says
 * which question failed, for the reason. */
static enum dns_status lookup_host(struct targets *ts, const char *host,
				   unsigned port, const char **qtype,
				   struct strbuf *why)
{
	unsigned char addr[16];
	enum dns_status st = DNS_NODATA, st4 = DNS_NODATA, st6 = DNS_NODATA;
	size_t before = ts->count;

	*qtype = "A";
	if (inet_pton(AF_INET, host, addr) == 1) {
		add_target(ts, host, AF_INET, addr, port);
		goto done;
	}
	if (inet_pton(AF_INET6, host, addr) == 1) {
		add_target(ts, host, AF_INET6, addr, port);
		goto done;
	}
	if (smtp_params.dns_enabled && smtp_params.lookup_dns) {
		struct dns_rr *rr;
		size_t n;

		if (smtp_params.want_ipv6) {
			st6 = dns_lookup(host, DNS_TYPE_AAAA, &rr, &n, why);
			for (size_t i = 0; st6 == DNS_OK && i < n; i++)
				add_target(ts, host, AF_INET6, rr[i].addr,
					   port);
			myfree(rr);
			*qtype = "AAAA";
		}
		if (smtp_params.want_ipv4 && st6 != DNS_NOTFOUND) {
			st4 = dns_lookup(host, DNS_TYPE_A, &rr, &n, why);
			for (size_t i = 0; st4 == DNS_OK && i < n; i++)
				add_target(ts, host, AF_INET, rr[i].addr, port);
			myfree(rr);
			*qtype = "A";
		}
		if (st4 == DNS_OK || st6 == DNS_OK)
			st = DNS_OK;
		else if (st4 == DNS_NOTFOUND || st6 == DNS_NOTFOUND)
			st = DNS_NOTFOUND;
		else if (st4 == DNS_NODATA && st6 == DNS_NODATA)
			st = DNS_NODATA;
		else
			st = DNS_RETRY;
		if (st == DNS_OK || !smtp_params.lookup_native)
			return st;
	}
	if (!smtp_params.dns_enabled || smtp_params.lookup_native)
		return lookup_native(ts, host, port, why);
	return st;
done:
	if (ts->count == before) {
		/* Our configuration, not the destination: defer. */
		strbuf_why(why, "address family not enabled by "
				"inet_protocols");
		return DNS_RETRY;
	}
	return DNS_OK;
}

/* Record a failure to find any server. */
static void fail_set(struct smtp_fail *fail, const char *dsn, int site,
		     const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void fail_set(struct smtp_fail *fail, const char *dsn, int site,
		     const char *fmt, ...)
{
	va_list ap;

	snprintf(fail->dsn, sizeof(fail->dsn), "%s", dsn);
	strbuf_reset(fail->reason);
	va_start(ap, fmt);
	strbuf_vprintf(fail->reason, fmt, ap);
	va_end(ap);
	strbuf_reset(fail->dtext);
	fail->mname[0] = 0;
	fail->site = site;
}

static void fail_lookup(struct smtp_fail *fail, enum dns_status st,
			const char *name, const char *qtype, struct strbuf *why)
{
	if (st == DNS_NOTFOUND || st == DNS_NODATA)
		fail_set(fail, "5.4.4", 0,
			 "Host or domain name not found. Name service error "
			 "for name=%s type=%s: %s",
			 name, qtype, strbuf_str(why));
	else
		fail_set(fail, "4.4.3", 1,
			 "Host or domain name not found. Name service error "
			 "for name=%s type=%s: %s",
			 name, qtype, strbuf_str(why));
}

struct mx_sort {
	struct dns_rr *rr;
	long key;
};

static int mx_cmp(const void *a, const void *b)
{
	const struct mx_sort *x = a, *y = b;

	if (x->rr->pref != y->rr->pref)
		return x->rr->pref < y->rr->pref ? -1 : 1;
	return x->key < y->key ? -1 : x->key > y->key;
}

/* MX hosts of domain, then their addresses. 0 with targets, or -1 and
 * fail. */
static int lookup_mx(struct targets *ts, const char *domain, unsigned port,
		     struct smtp_fail *fail)
{
	struct strbuf *why = strbuf_new(1024);
	struct dns_rr *rr = NULL;
	struct mx_sort *order = NULL;
	size_t n = 0, before = ts->count;
	enum dns_status st, worst = DNS_NODATA;
	const char *qtype = "A", *failed_host = domain;
	int ret = -1;

	st = dns_lookup(domain, DNS_TYPE_MX, &rr, &n, why);
	if (st == DNS_NODATA) {
		/* No MX: the domain's own addresses (RFC 5321 5.1). */
		st = lookup_host(ts, domain, port, &qtype, why);
		if (st != DNS_OK)
			fail_lookup(fail, st, domain, qtype, why);
		ret = st == DNS_OK ? 0 : -1;
		goto out;
	}
	if (st != DNS_OK) {
		fail_lookup(fail, st, domain, "MX", why);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		if (rr[i].name[0] == 0) {
			fail_set(fail, "5.1.10", 0,
				 "Domain %s does not accept mail (nullMX)",
				 domain);
			goto out;
		}
	}
	order = mycalloc(n, sizeof(*order));
	for (size_t i = 0; i < n; i++) {
		order[i].rr = rr + i;
		order[i].key = random();
	}
	qsort(order, n, sizeof(*order), mx_cmp);
	for (size_t i = 0; i < n; i++) {
		enum dns_status hs;

		hs = lookup_host(ts, order[i].rr->name, port, &qtype, why);
		if (hs == DNS_OK)
			continue;
		msg_info("%s: Name service error for name=%s type=%s: %s",
			 domain, order[i].rr->name, qtype, strbuf_str(why));
		if (hs == DNS_RETRY || hs == DNS_FAIL || worst == DNS_NODATA) {
			worst = hs;
			failed_host = order[i].rr->name;
		}
	}
	if (ts->count > before) {
		ret = 0;
		goto out;
	}
	if (worst == DNS_RETRY || worst == DNS_FAIL)
		fail_lookup(fail, DNS_RETRY, failed_host, qtype, why);
	else
		fail_set(fail, "5.4.4", 0,
			 "Host or domain name not found. Name service error "
			 "for name=%s type=%s: %s",
			 failed_host, qtype, strbuf_str(why));
out:
	myfree(order);
	myfree(rr);
	strbuf_free(&why);
	return ret;
}

/* Targets for one next hop (the destination or a fallback relay). */
static int resolve(struct targets *ts, const char *host, const char *port,
		   int bracketed, struct smtp_fail *fail)
{
	unsigned pnum = port_number(port[0] ? port : smtp_params.default_port);
	struct strbuf *why;
	const char *qtype;
	enum dns_status st;
	int ret;

	if (pnum == 0) {
		fail_set(fail, "4.3.5", 0, "unknown service port: %s", port);
		return -1;
	}
	if (!bracketed && !smtp_params.lmtp && smtp_params.dns_enabled &&
	    smtp_params.lookup_dns)
		return lookup_mx(ts, host, pnum, fail);
	why = strbuf_new(1024);
	st = lookup_host(ts, host, pnum, &qtype, why);
	if (st != DNS_OK)
		fail_lookup(fail, st, host, qtype, why);
	ret = st == DNS_OK ? 0 : -1;
	strbuf_free(&why);
	return ret;
}

/* Connect within timeout seconds (<= 0: the kernel's). fd or -1 and
 * errno. */
static int connect_target(const struct smtp_target *t)
{
	int family = t->sa.ss_family, fd, err = 0;
	const char *bind_addr = family == AF_INET6 ? smtp_params.bind_address6
						   : smtp_params.bind_address;
	socklen_t len = sizeof(err);

	fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -1;
	if (family != AF_UNIX && bind_addr != NULL && *bind_addr) {
		struct sockaddr_storage ss;
		socklen_t sslen;

		memset(&ss, 0, sizeof(ss));
		if (family == AF_INET) {
			struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

			sin->sin_family = AF_INET;
			sslen = sizeof(*sin);
			if (inet_pton(AF_INET, bind_addr, &sin->sin_addr) != 1)
				msg_fatal("bad smtp_bind_address: %s",
					  bind_addr);
		} else {
			struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

			sin6->sin6_family = AF_INET6;
			sslen = sizeof(*sin6);
			if (inet_pton(AF_INET6, bind_addr, &sin6->sin6_addr) !=
			    1)
				msg_fatal("bad smtp_bind_address6: %s",
					  bind_addr);
		}
		if (bind(fd, (struct sockaddr *)&ss, sslen) < 0) {
			err = errno;
			msg_warn("bind %s: %m", bind_addr);
			close(fd);
			errno = err;
			return -1;
		}
	}
	if (connect(fd, (const struct sockaddr *)&t->sa, t->salen) == 0)
		return fd;
	if (errno != EINPROGRESS && errno != EAGAIN) {
		err = errno;
		close(fd);
		errno = err;
		return -1;
	}
	if (sock_wait_write(fd, smtp_params.connect_timeout > 0
				    ? smtp_params.connect_timeout
				    : -1) < 0) {
		err = errno;
		close(fd);
		errno = err;
		return -1;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err != 0) {
		if (err == 0)
			err = errno;
		close(fd);
		errno = err;
		return -1;
	}
	return fd;
}

static void conn_fail(struct smtp_fail *fail, const struct smtp_target *t,
		      int err)
{
	char what[768];

	if (t->port[0])
		snprintf(what, sizeof(what), "connect to %s[%s]:%s: %s",
			 t->host, t->addr, t->port,
			 err == ETIMEDOUT ? "Connection timed out"
					  : strerror(err));
	else
		snprintf(what, sizeof(what), "connect to %s[%s]: %s", t->host,
			 t->addr, strerror(err));
	msg_info("%s", what);
	fail_set(fail, "4.4.1", 1, "%s", what);
}

/* Try one target: connect and greet. */
static struct smtp_session *try_target(const struct smtp_target *t,
				       struct smtp_fail *fail, int *greeted)
{
	struct smtp_session *sess;
	int fd;

	*greeted = 0;
	if ((fd = connect_target(t)) < 0) {
		conn_fail(fail, t, errno);
		return NULL;
	}
	sess = smtp_session_new(fd, t);
	if (smtp_proto_hello(sess, fail) == 0)
		return sess;
	*greeted = 1;
	msg_info("%s", strbuf_str(fail->reason));
	smtp_session_free(&sess);
	return NULL;
}

struct smtp_session *smtp_connect_nexthop(const char *nexthop,
					  const char *queue_id,
					  struct smtp_fail *fail)
{
	char host[256], port[32];
	int bracketed, is_unix, greeted, sessions = 0;
	struct targets *ts;
	struct smtp_session *sess = NULL;
	size_t limit;

	(void)queue_id;
	if (smtp_nexthop_parse(nexthop, smtp_params.lmtp, host, sizeof(host),
			       port, sizeof(port), &bracketed, &is_unix) < 0) {
		fail_set(fail, "4.3.5", 0, "malformed next hop: %s", nexthop);
		return NULL;
	}
	if (is_unix) {
		struct smtp_target t;
		struct sockaddr_un *sun = (struct sockaddr_un *)&t.sa;

		memset(&t, 0, sizeof(t));
		snprintf(t.host, sizeof(t.host), "%s", var_myhostname);
		/* Shorter than sun_path, so than addr (smtp_nexthop_parse). */
		memcpy(t.addr, host, strlen(host) + 1);
		sun->sun_family = AF_UNIX;
		/* Length checked by smtp_nexthop_parse. */
		memcpy(sun->sun_path, host, strlen(host) + 1);
		t.salen = sizeof(*sun);
		return try_target(&t, fail, &greeted);
	}

	ts = mycalloc(1, sizeof(*ts));
	if (resolve(ts, host, port, bracketed, fail) < 0 && !fail->site &&
	    fail->dsn[0] == '5') {
		/* The destination itself does not exist: no fallback. */
		goto out;
	}
	if (!bracketed && *smtp_params.fallback_relay) {
		char **relays = conf_list_split(smtp_params.fallback_relay);
		struct smtp_fail ignore = {.reason = strbuf_new(STRBUF_NO_MAX),
					   .dtext = strbuf_new(STRBUF_NO_MAX)};

		for (char **r = relays; *r; r++) {
			char fhost[256], fport[32];
			int fbr, funix;

			if (smtp_nexthop_parse(*r, 0, fhost, sizeof(fhost),
					       fport, sizeof(fport), &fbr,
					       &funix) < 0) {
				msg_warn("malformed smtp_fallback_relay entry: "
					 "%s",
					 *r);
				continue;
			}
			if (resolve(ts, fhost, fport, fbr, &ignore) < 0)
				msg_info("fallback relay %s: %s", *r,
					 strbuf_str(ignore.reason));
		}
		conf_list_free(&relays);
		strbuf_free(&ignore.reason);
		strbuf_free(&ignore.dtext);
	}
	if (ts->count == 0) {
		if (fail->dsn[0] == 0)
			fail_set(fail, "4.4.4", 1,
				 "no usable address for %s (inet_protocols)",
				 host);
		goto out;
	}
	limit = ts->count;
	if (smtp_params.mx_address_limit > 0 &&
	    limit > (size_t)smtp_params.mx_address_limit)
		limit = (size_t)smtp_params.mx_address_limit;
	for (size_t i = 0; i < limit; i++) {
		sess = try_target(ts->t + i, fail, &greeted);
		if (sess != NULL)
			break;
		/* A final refusal (5xx greeting without
		 * smtp_skip_5xx_greeting, 5xx to EHLO/HELO) ends it. */
		if (greeted && fail->dsn[0] == '5')
			break;
		sessions += greeted;
		if (smtp_params.mx_session_limit > 0 &&
		    sessions >= smtp_params.mx_session_limit)
			break;
	}
out:
	myfree(ts);
	return sess;
}
