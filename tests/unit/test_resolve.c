/*
 * test_resolve - address classes, default transports and next hops,
 * relayhost, and transport_maps' lookup order (address, domain, .parent,
 * *) with empty halves, from a real main.cf and a real texthash table.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mail_conf.h"
#include "mymalloc.h"
#include "resolve.h"
#include "strbuf.h"

static char tmpdir[] = "/tmp/test_resolve.XXXXXX";

static void write_file(const char *name, const char *text)
{
	char path[256];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	assert_non_null(fp = fopen(path, "w"));
	fputs(text, fp);
	fclose(fp);
}

static int setup(void **state)
{
	char text[1024];
	char *err = NULL;

	(void)state;
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	write_file("transport",
		   "special.test   lmtp:unix:/run/dovecot/lmtp\n"
		   ".sub.test      smtp:[10.0.0.1]:2525\n"
		   "user@route.test error:5.7.1 go away\n"
		   "keep.test      relay:\n"
		   "hop.test       :[192.0.2.9]\n");
	snprintf(text, sizeof(text),
		 "myhostname = mx.example.org\n"
		 "mydestination = example.org, localhost\n"
		 "relay_domains = relay.test\n"
		 "virtual_alias_domains = valias.test\n"
		 "virtual_mailbox_domains = vmbox.test\n"
		 "relayhost = [smarthost.test]:587\n"
		 "transport_maps = texthash:%s/transport\n",
		 tmpdir);
	write_file("main.cf", text);
	if (mail_conf_load(tmpdir, &err) < 0) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	resolve_init();
	return 0;
}

static int teardown(void **state)
{
	char path[256];

	(void)state;
	snprintf(path, sizeof(path), "%s/main.cf", tmpdir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/transport", tmpdir);
	unlink(path);
	rmdir(tmpdir);
	return 0;
}

static void expect(const char *addr, enum resolve_class cls,
		   const char *transport, const char *nexthop)
{
	struct strbuf *why = strbuf_new(STRBUF_NO_MAX);
	struct resolve_reply r;
	enum resolve_class c;

	if (resolve_addr(addr, &r, why) < 0)
		fail_msg("%s: %s", addr, strbuf_str(why));
	if (r.cls != cls || strcmp(r.transport, transport) != 0 ||
	    strcmp(r.nexthop, nexthop) != 0)
		fail_msg("%s: got %s %s:%s, want %s %s:%s", addr,
			 resolve_class_name(r.cls), r.transport, r.nexthop,
			 resolve_class_name(cls), transport, nexthop);
	assert_int_equal(resolve_class(addr, &c, why), 0);
	assert_int_equal(c, cls);
	resolve_reply_free(&r);
	strbuf_free(&why);
}

static void test_classes(void **state)
{
	(void)state;
	expect("joe@example.org", RESOLVE_CLASS_LOCAL, "local", "mx.example.org");
	expect("joe@EXAMPLE.ORG.", RESOLVE_CLASS_LOCAL, "local", "mx.example.org");
	expect("joe", RESOLVE_CLASS_LOCAL, "local", "mx.example.org");
	expect("", RESOLVE_CLASS_LOCAL, "local", "mx.example.org");
	expect("joe@[127.0.0.1]", RESOLVE_CLASS_LOCAL, "local", "mx.example.org");
	expect("joe@valias.test", RESOLVE_CLASS_ALIAS, "error",
	       "5.1.1 User unknown in virtual alias table");
	expect("joe@vmbox.test", RESOLVE_CLASS_VIRTUAL, "virtual", "vmbox.test");
	expect("joe@relay.test", RESOLVE_CLASS_RELAY, "relay",
	       "[smarthost.test]:587");
	/* relay_domains matches subdomains, as smtpd's relay check does. */
	expect("joe@sub.relay.test", RESOLVE_CLASS_RELAY, "relay",
	       "[smarthost.test]:587");
	expect("joe@elsewhere.test", RESOLVE_CLASS_DEFAULT, "smtp",
	       "[smarthost.test]:587");
	expect("joe@[192.0.2.1]", RESOLVE_CLASS_DEFAULT, "smtp",
	       "[smarthost.test]:587");
}

static void test_transport_maps(void **state)
{
	(void)state;
	/* The domain itself. */
	expect("a@special.test", RESOLVE_CLASS_DEFAULT, "lmtp",
	       "unix:/run/dovecot/lmtp");
	/* ".sub.test" is for subdomains only, at any depth. */
	expect("a@x.sub.test", RESOLVE_CLASS_DEFAULT, "smtp", "[10.0.0.1]:2525");
	expect("a@y.x.sub.test", RESOLVE_CLASS_DEFAULT, "smtp",
	       "[10.0.0.1]:2525");
	expect("a@sub.test", RESOLVE_CLASS_DEFAULT, "smtp",
	       "[smarthost.test]:587");
	/* A full address wins over the domain. */
	expect("user@route.test", RESOLVE_CLASS_DEFAULT, "error",
	       "5.7.1 go away");
	expect("other@route.test", RESOLVE_CLASS_DEFAULT, "smtp",
	       "[smarthost.test]:587");
	/* Empty halves keep what the class gave. */
	expect("a@keep.test", RESOLVE_CLASS_DEFAULT, "relay",
	       "[smarthost.test]:587");
	expect("a@hop.test", RESOLVE_CLASS_DEFAULT, "smtp", "[192.0.2.9]");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_classes),
	    cmocka_unit_test(test_transport_maps),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
