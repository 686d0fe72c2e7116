/*
 * dict_cdb - cdb: tables, constant databases NAME.cdb (tinycdb) that
 * postern-map builds from NAME.
 *
 * A cdb file cannot change in place: an update or delete (postern-map -i,
 * -d) loads the table into memory under the table's lock and dict_commit()
 * writes a new file that replaces the old one atomically.
 */
#ifndef POSTERN_DICT_CDB_H
#define POSTERN_DICT_CDB_H

struct dict;
struct strbuf;

struct dict *dict_cdb_open(const char *name, int flags, struct strbuf *why);

#endif
