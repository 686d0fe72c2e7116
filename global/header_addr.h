/*
 * header_addr - find and replace the addresses in an RFC 5322 address
 * list (the value of From:, To:, Cc:, Reply-To:, Resent-*: ...), keeping
 * everything else of the header as it was.
 *
 * The value is split into RFC 5322 tokens: atoms, quoted strings,
 * comments (nested, with quoted pairs), domain literals, specials and
 * white space (folding included). Top-level commas separate the
 * addresses; "name: a, b;" is a group, whose name is kept. In a mailbox
 * with an angle address ("Display Name <user@example.com>") the part
 * between the brackets is the address (an obsolete source route in it is
 * dropped when the address is replaced); otherwise the mailbox is a bare
 * addr-spec, and comments around it ("user@example.com (Name)") stay.
 *
 * Only what is certainly an address is touched: a value with an
 * unterminated quoted string, comment or literal, or unbalanced angle
 * brackets, is left entirely as it was; so is a mailbox that is a phrase
 * rather than an address, or one whose address would hold a control
 * character. A replacement is written in external form (the local part
 * quoted when it is not a dot-atom), so a rewritten address cannot break
 * the list apart. Memory is proportional to the value, which the caller
 * bounds (header_size_limit).
 */
#ifndef POSTERN_HEADER_ADDR_H
#define POSTERN_HEADER_ADDR_H

#include <stddef.h>

struct strbuf;

/* Called with each address in internal form (local part unquoted). Put
 * the new address (internal form) in out and return 1 to replace it, 0
 * to keep it, -1 to stop with an error. */
typedef int (*header_addr_fn)(void *ctx, const char *addr, struct strbuf *out);

/* Rewrite the addresses in value[0..len) (the header value, without its
 * name and colon). out gets the new value. Returns the number of
 * addresses replaced (0: out is a copy of value), or -1 when fn failed or
 * out's maximum was reached (out is then undefined). */
int header_addr_rewrite(const char *value, size_t len, header_addr_fn fn,
			void *ctx, struct strbuf *out);

#endif
