/*
 * dict_cidr - cidr: tables, a text file of "network/prefix value" lines.
 *
 * Patterns are IPv4 or IPv6 networks ("192.0.2.0/24", "2001:db8::/32",
 * "[2001:db8::1]"); a bare address is a host (/32 or /128). The first
 * matching line wins. A bad address, a prefix beyond the family's width, or
 * a network with host bits set ("192.0.2.1/24") fails the open with
 * file:line, as does anything the dict_text format rejects. A key that is
 * not an IP address simply matches nothing.
 */
#ifndef POSTERN_DICT_CIDR_H
#define POSTERN_DICT_CIDR_H

#include <stdio.h>

struct dict;
struct strbuf;

struct dict *dict_cidr_open(const char *name, int flags, struct strbuf *why);
/* The same from an open stream (for tests and fuzzing); name is only
 * used in messages. */
struct dict *dict_cidr_open_fp(FILE *fp, const char *name, int flags,
			       struct strbuf *why);

#endif
