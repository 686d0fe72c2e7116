/*
 * dict_db - hash: and btree: tables, Berkeley DB 5.3 files NAME.db that
 * postern-map builds from the text file NAME.
 *
 * Keys and values are stored with their trailing NUL (see dict.h). Without
 * a Berkeley DB environment the library caches pages per process, so an
 * in-place change (postern-map -i or -d) is seen by a reader only after it
 * reopens the table; a daemon checks dict_changed() and restarts, as
 * Postfix's do. A rebuild is atomic (dict_file.h).
 */
#ifndef POSTERN_DICT_DB_H
#define POSTERN_DICT_DB_H

struct dict;
struct strbuf;

struct dict *dict_hash_open(const char *name, int flags, struct strbuf *why);
struct dict *dict_btree_open(const char *name, int flags, struct strbuf *why);

#endif
