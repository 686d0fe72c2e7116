/*
 * cleanup_rewrite - envelope address rewriting: completing bare names,
 * canonical mapping, and virtual alias expansion.
 *
 * Order, as Postfix's cleanup does it: every address is first put in
 * user@domain form (a bare "user" gets @$myorigin; with
 * append_dot_mydomain a domain without a dot gets .$mydomain); then the
 * sender goes through sender_canonical_maps and canonical_maps, and each
 * recipient through recipient_canonical_maps, canonical_maps and then
 * virtual_alias_maps, which may turn one address into many.
 *
 * Lookups use Postfix's address keys: "user@domain", then "user" only
 * when domain is local (listed in mydestination), then "@domain"; a
 * pattern table (regexp:, pcre:) is asked once with the whole address.
 * A table error is never "not found": the caller defers the message.
 *
 * Virtual alias expansion is bounded in depth (virtual_alias_recursion_
 * limit) and size (virtual_alias_expansion_limit); exceeding either is an
 * error (the message is deferred, as Postfix does). An address that maps
 * to itself (directly or through a loop back to an address already
 * expanded) is kept as a final recipient, so a loop never loses mail.
 */
#ifndef POSTERN_CLEANUP_REWRITE_H
#define POSTERN_CLEANUP_REWRITE_H

#include <stddef.h>

#include "maps.h"

struct strbuf;
struct dict;

struct cleanup_rewrite_conf {
	const char *myorigin;
	const char *mydomain;
	const char *mydestination; /* list of local domain names */
	int append_dot_mydomain;
	struct maps *canonical;
	struct maps *sender_canonical;
	struct maps *recipient_canonical;
	struct maps *virtual_alias;
	int recursion_limit;
	int expansion_limit;
};

/* Look addr up with the address keys above. DICT_FOUND with *value
 * (owned by the table until its next call), DICT_NOTFOUND, or DICT_ERROR
 * with a reason in why. maps may be NULL (not found). */
int cleanup_maps_find(const struct cleanup_rewrite_conf *conf,
		      struct maps *maps, const char *addr,
		      const char **value, struct strbuf *why);

/* 1 if domain is one of mydestination's names (case-insensitive). */
int cleanup_rewrite_local_domain(const struct cleanup_rewrite_conf *conf,
				 const char *domain);
/* out = addr in user@domain form. "" (the null sender) stays "". */
void cleanup_rewrite_qualify(const struct cleanup_rewrite_conf *conf,
			     const char *addr, struct strbuf *out);
/* out = the sender after qualification and canonical mapping.
 * 0, or -1 with a reason (a table error). */
int cleanup_rewrite_sender(const struct cleanup_rewrite_conf *conf,
			   const char *addr, struct strbuf *out,
			   struct strbuf *why);
/* The same for a recipient (recipient_canonical_maps, canonical_maps). */
int cleanup_rewrite_rcpt(const struct cleanup_rewrite_conf *conf,
			 const char *addr, struct strbuf *out,
			 struct strbuf *why);

/* Expand a (canonical) recipient through virtual_alias_maps. *result is a
 * NULL-terminated malloc'd array of malloc'd addresses, duplicates
 * removed (free with cleanup_rewrite_list_free); an address not in the
 * table expands to itself. 0, or -1 with a reason: a table error, or the
 * expansion went past a limit (*limit_hit set to 1 then). */
int cleanup_rewrite_virtual(const struct cleanup_rewrite_conf *conf,
			    const char *addr, char ***result, int *limit_hit,
			    struct strbuf *why);
void cleanup_rewrite_list_free(char ***listp);

#endif
