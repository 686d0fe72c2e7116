/*
 * access_lookup - look up addresses, domains and IP addresses in access(5)
 * tables with Postfix's partial keys.
 *
 * For a fixed table (hash, lmdb, cdb, texthash, inline, ...) a key is
 * tried in this order, lowercased, and the first hit wins:
 *   address user@sub.example.com: "user@sub.example.com",
 *     "sub.example.com", ".example.com", ".com", then "user@";
 *   an address without '@' (user): "user", then "user@";
 *   domain sub.example.com: "sub.example.com", ".example.com", ".com";
 *   IPv4 1.2.3.4: "1.2.3.4", "1.2.3", "1.2", "1";
 *   IPv6 2001:db8::1: "2001:db8::1", "2001:db8:", "2001:db8", "2001"
 *     (cut at each colon from the right, as Postfix does).
 * This is Postfix's behaviour when parent_domain_matches_subdomains does not
 * list smtpd_access_maps: "example.com" matches only itself and
 * ".example.com" matches its subdomains. A pattern table (regexp, pcre,
 * cidr) is asked once, with the whole key. An address literal domain
 * ("[192.0.2.1]") has no parents. An error stops the search: it is never
 * taken as "not found" for that key and a try of the next one.
 */
#ifndef POSTERN_ACCESS_LOOKUP_H
#define POSTERN_ACCESS_LOOKUP_H

struct dict;
struct strbuf;

enum access_key_type {
	ACCESS_KEY_ADDRESS, /* user@domain, or a bare local part */
	ACCESS_KEY_DOMAIN,  /* a host or domain name */
	ACCESS_KEY_IPADDR,  /* an IPv4 or IPv6 address, maybe in [] */
};

/* The keys to try for key, in order: a NULL-terminated array of malloc'd
 * strings that the caller frees with access_keys_free. */
char **access_lookup_keys(const char *key, enum access_key_type type);
void access_keys_free(char ***keysp);

/* Look key up in dict in the order above. DICT_FOUND with *value (owned by
 * dict until its next call) and the key that matched in matched (may be
 * NULL); DICT_NOTFOUND; or DICT_ERROR (reason in dict_error(dict)). */
int access_lookup(struct dict *dict, const char *key, enum access_key_type type,
		  const char **value, struct strbuf *matched);

#endif
