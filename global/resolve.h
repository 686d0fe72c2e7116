/*
 * resolve - where an address goes: its address class, transport and
 * next hop, as Postfix's trivial-rewrite resolve service decides them
 * (ADDRESS_CLASS_README), but as a library called in-process by qmgr and
 * smtpd (REFERENCE.md 1.9: tables are opened once, before the privilege
 * drop).
 *
 * Class of the domain (after the last '@'; an address without one is
 * local):
 *   local           mydestination, or an [address literal] of
 *                   inet_interfaces       -> local_transport
 *   virtual alias   virtual_alias_domains -> error:5.1.1 User unknown in
 *                                            virtual alias table (the
 *                                            address survived expansion)
 *   virtual mailbox virtual_mailbox_domains -> virtual_transport
 *   relay           relay_domains         -> relay_transport
 *   default         anything else         -> default_transport
 * The next hop is the transport's own (local_transport = local:$myhostname)
 * or else relayhost for the relay and default classes, or else the
 * domain. transport_maps then overrides: searched with the full address,
 * then the domain and each parent as ".parent", then "*"; a result
 * "transport:nexthop" replaces either half that is not empty. A nexthop
 * "[host]:port" means no MX lookup.
 */
#ifndef POSTERN_RESOLVE_H
#define POSTERN_RESOLVE_H

struct strbuf;

enum resolve_class {
	RESOLVE_CLASS_LOCAL,
	RESOLVE_CLASS_ALIAS,
	RESOLVE_CLASS_VIRTUAL,
	RESOLVE_CLASS_RELAY,
	RESOLVE_CLASS_DEFAULT,
};

struct resolve_reply {
	enum resolve_class cls;
	char *transport; /* master.cf service name: "smtp", "error" */
	char *nexthop;	 /* "example.com", "[192.0.2.1]:25", for error:
			  * the reason text */
};

/* Open transport_maps and the domain lists from main.cf (call before the
 * privilege drop). msg_fatal on a configuration error. */
void resolve_init(void);
/* Resolve addr (internal form, "" is the null address = local). 0 and
 * *reply filled (free with resolve_reply_free); -1 and a reason when a
 * table failed: treat as a temporary error. */
int resolve_addr(const char *addr, struct resolve_reply *reply,
		 struct strbuf *why);
/* Just the class of addr's domain (smtpd: reject_unauth_destination,
 * reject_unlisted_recipient). -1 on a table error. */
int resolve_class(const char *addr, enum resolve_class *cls,
		  struct strbuf *why);
void resolve_reply_free(struct resolve_reply *reply);
const char *resolve_class_name(enum resolve_class cls);

#endif
