/*
 * dict_regexp - regexp: (POSIX extended regular expressions) and pcre:
 * (PCRE2) tables: text files of pattern rules, first match wins.
 *
 * A rule is "/pattern/flags result" or "!/pattern/flags result" (the
 * result applies when the pattern does NOT match); any delimiter that is
 * not a letter, digit, backslash or whitespace may replace '/'. The blocks
 * "if /pattern/flags" ... "endif" (or "if !/pattern/") guard the rules
 * inside them and nest. In the result, $1..$9 (also ${1}, $(1)) is the
 * text of that subexpression of the match, empty if it did not take part,
 * and $$ is a dollar sign. Keys are matched case-insensitively unless the
 * flag i toggles that off.
 *   regexp flags: i (case), x (extended syntax, on by default), m (newline
 *   is special).
 *   pcre flags: i, m (multiline), s (dot matches newline), x (extended),
 *   A (anchored), E (dollar matches only at the end), U (ungreedy).
 * Bad syntax, a pattern that does not compile, an unknown flag, a $n beyond
 * the pattern's subexpressions, $n after a negated pattern, and unbalanced
 * if/endif fail the open with file:line. A PCRE2 match that exceeds its
 * match or depth limit is a DICT_ERROR on that lookup, not "not found".
 */
#ifndef POSTERN_DICT_REGEXP_H
#define POSTERN_DICT_REGEXP_H

#include <stdio.h>

struct dict;
struct strbuf;

/* PCRE2 backtracking bounds, so no key can make a lookup run for long. */
#define DICT_PCRE_MATCH_LIMIT 1000000
#define DICT_PCRE_DEPTH_LIMIT 10000

struct dict *dict_regexp_open(const char *name, int flags, struct strbuf *why);
struct dict *dict_pcre_open(const char *name, int flags, struct strbuf *why);
/* The same from an open stream (tests, fuzzing); name is for messages. */
struct dict *dict_regexp_open_fp(FILE *fp, const char *name, int flags,
				 struct strbuf *why);
struct dict *dict_pcre_open_fp(FILE *fp, const char *name, int flags,
			       struct strbuf *why);

#endif
