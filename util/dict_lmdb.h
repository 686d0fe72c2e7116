/*
 * dict_lmdb - lmdb: tables, LMDB files NAME.lmdb (one file, MDB_NOSUBDIR,
 * plus LMDB's lock file NAME.lmdb-lock) that postern-map builds from NAME.
 *
 * Changes made through one open table happen in a single LMDB write
 * transaction that dict_commit() commits, so readers see all of a
 * postern-map -i load or none of it. The map size is fixed when the table
 * is opened for writing (DICT_LMDB_MAP_SIZE, or twice the file if larger);
 * a table that outgrows it fails with an error, never silently.
 */
#ifndef POSTERN_DICT_LMDB_H
#define POSTERN_DICT_LMDB_H

struct dict;
struct strbuf;

#define DICT_LMDB_MAP_SIZE ((size_t)256 * 1024 * 1024)

struct dict *dict_lmdb_open(const char *name, int flags, struct strbuf *why);

#endif
