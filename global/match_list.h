/*
 * match_list - the address and domain lists of main.cf: mynetworks,
 * mydestination, relay_domains, smtpd_forbid_bare_newline_exclusions.
 *
 * A list is Postfix's: elements separated by commas or blanks, tried in
 * order, the first that matches decides; "!element" matches as "not in
 * the list" and stops the search. Elements:
 *   address lists (MATCH_LIST_ADDR): an IPv4 or IPv6 address, a network
 *     "addr/len" (IPv6 may be written "[addr]/len" or "[addr]"), or a
 *     "type:table" that is looked up with the client address (a cidr:
 *     table is the usual choice);
 *   domain lists (MATCH_LIST_DOMAIN): a domain, which also matches its
 *     subdomains when the list was made with MATCH_LIST_PARENT (Postfix's
 *     parent_domain_matches_subdomains for relay_domains and mynetworks'
 *     kin), ".domain" which matches only subdomains, or a "type:table" in
 *     which the domain (then, with MATCH_LIST_PARENT, its parents) is a
 *     key.
 * "/file/name" elements (a file of elements) are not supported yet: the
 * list is refused, never silently shortened.
 *
 * A table that cannot be opened or answer is an error (-1), never a
 * "no match": a caller that controls relaying must defer, not permit.
 */
#ifndef POSTERN_MATCH_LIST_H
#define POSTERN_MATCH_LIST_H

struct strbuf;
struct match_list;

#define MATCH_LIST_ADDR (1 << 0)
#define MATCH_LIST_DOMAIN (1 << 1)
#define MATCH_LIST_PARENT (1 << 2) /* "example.com" matches subdomains */

/* Parse value (the expanded main.cf text) into a list. NULL, with a
 * reason in why, on a malformed element; tables are opened here. The
 * name is for messages ("mynetworks"). */
struct match_list *match_list_new(const char *name, const char *value,
				  int flags, struct strbuf *why);
void match_list_free(struct match_list **listp);

/* 1 if string (a numeric address, or a domain) is in the list, 0 if not,
 * -1 with a reason in why if a table lookup failed. */
int match_list_match(struct match_list *list, const char *string,
		     struct strbuf *why);

/* The mynetworks default for mynetworks_style ("host", "subnet" or
 * "class"): this machine's interface addresses (host), their networks
 * (subnet) or their class A/B/C networks (class), loopback included, as
 * "127.0.0.1/32 [::1]/128 ..." text. NULL with a reason in *errp (caller
 * frees) for an unknown style or when the interfaces cannot be listed.
 * The result is the caller's to free. */
char *match_list_mynetworks(const char *style, char **errp);

#endif
