/*
 * maps - a main.cf list of lookup tables ("hash:/etc/postern/transport,
 * pcre:/etc/postern/transport.pcre"), asked in order: the first table
 * that has the key wins. A table that fails is an error for the whole
 * lookup (the caller defers), never a "not found" that would let the
 * next table, or the default, decide.
 */
#ifndef POSTERN_MAPS_H
#define POSTERN_MAPS_H

#include <stddef.h>

struct dict;
struct strbuf;

struct maps {
	char *param; /* the parameter it comes from, for messages */
	struct dict **dicts;
	size_t count;
};

/* Open the tables of value (keys folded to lower case, as Postfix's
 * address tables). NULL for an empty list (*errp NULL), or NULL and a
 * reason in *errp (caller frees) when a table cannot be opened. */
struct maps *maps_open(const char *param, const char *value, char **errp);
void maps_free(struct maps **mapsp);
/* Look key up in every table in order (pattern tables included).
 * DICT_FOUND with *value (owned by the table until its next lookup),
 * DICT_NOTFOUND, or DICT_ERROR with "param: type:name: reason" in why.
 * maps may be NULL (not found). */
int maps_find(struct maps *maps, const char *key, const char **value,
	      struct strbuf *why);
/* The same, but only tables that are not pattern tables (regexp, pcre,
 * cidr): for partial keys such as ".example.com" that a pattern would
 * match by accident. */
int maps_find_exact(struct maps *maps, const char *key, const char **value,
		    struct strbuf *why);

#endif
