/*
 * dict_unix - unix: tables, the system's user and group databases.
 *
 * unix:passwd.byname looks a user name up with getpwnam() and answers the
 * passwd(5) line "name:passwd:uid:gid:gecos:dir:shell"; unix:group.byname
 * answers the group(5) line "name:passwd:gid:member,member". Keys are not
 * folded (user names are case-sensitive). A failing name service is a
 * DICT_ERROR, not "not found".
 */
#ifndef POSTERN_DICT_UNIX_H
#define POSTERN_DICT_UNIX_H

struct dict;
struct strbuf;

struct dict *dict_unix_open(const char *name, int flags, struct strbuf *why);

#endif
