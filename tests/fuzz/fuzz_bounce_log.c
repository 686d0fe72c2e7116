/*
 * fuzz_bounce_log - fuzz the status log reader (global/bounce_log.c):
 * arbitrary bytes as a whole log file (bounce_log_read, which must skip
 * bad records and terminate) and as one record (bounce_log_parse).
 *
 * For every record the reader accepts the harness checks that no field
 * holds a control byte, and that writing the record again with
 * bounce_log_format and parsing that gives the same fields (what bounce
 * reads back is what it would write). Inputs are capped at 64 KiB.
 *
 * Build and run with libFuzzer (from the top of the tree): make fuzz, or
 *   tests/fuzz/fuzz_bounce_log -max_total_time=60
 * tests/fuzz/corpus/fuzz_bounce_log. Built with -DFUZZ_STANDALONE
 * instead of -fsanitize=fuzzer, it runs the files named on its command
 * line once each.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "bounce_clnt.h"
#include "bounce_log.h"
#include "dsn.h"
#include "strbuf.h"

#define FUZZ_MAX_INPUT 65536

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_str(const char *s)
{
	for (const unsigned char *cp = (const unsigned char *)s; *cp; cp++)
		if (*cp < 32 || *cp == 127)
			abort();
}

static void check_entry(const struct bounce_log_entry *e)
{
	struct bounce_rcpt r = {e->recipient, e->orig_rcpt, e->dsn_orcpt,
				e->notify, e->offset};
	struct dsn d = {e->status,    e->action,   e->reason,  e->diag_type,
			e->diag_text, e->mta_type, e->mta_name};
	struct strbuf *out = strbuf_new(STRBUF_NO_MAX);
	struct strbuf *why = strbuf_new(STRBUF_NO_MAX);
	struct bounce_log_entry again;

	check_str(e->recipient);
	check_str(e->orig_rcpt);
	check_str(e->dsn_orcpt);
	check_str(e->status);
	check_str(e->action);
	check_str(e->reason);
	check_str(e->diag_type);
	check_str(e->diag_text);
	check_str(e->mta_type);
	check_str(e->mta_name);
	if (!dsn_status_ok(e->status) || *e->recipient == 0)
		abort();
	if (bounce_log_format(out, &r, &d, e->when) < 0 ||
	    bounce_log_parse(strbuf_str(out), strbuf_len(out) - 1, &again,
			     why) < 0)
		abort();
	if (strcmp(again.recipient, e->recipient) != 0 ||
	    strcmp(again.reason, e->reason) != 0 ||
	    strcmp(again.status, e->status) != 0 || again.when != e->when ||
	    again.offset != e->offset || again.notify != e->notify)
		abort();
	bounce_log_entry_free(&again);
	strbuf_free(&out);
	strbuf_free(&why);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct strbuf *why = strbuf_new(STRBUF_NO_MAX);
	struct bounce_log_entry e;
	struct bounce_log *bl;
	int fd, rc;
	size_t rounds = 0;

	if (size > FUZZ_MAX_INPUT)
		goto out;
	if (bounce_log_parse((const char *)data, size, &e, why) == 0) {
		check_entry(&e);
		bounce_log_entry_free(&e);
	}
	if ((fd = memfd_create("fuzz_bounce_log", MFD_CLOEXEC)) < 0)
		abort();
	if (size > 0 && write(fd, data, size) != (ssize_t)size)
		abort();
	(void)lseek(fd, 0, SEEK_SET);
	bl = bounce_log_fdopen(fd);
	while ((rc = bounce_log_read(bl, &e, why)) != 0 && rc != -2) {
		/* Each call consumes at least one byte: no hang. */
		if (++rounds > size + 1)
			abort();
		if (rc == 1) {
			check_entry(&e);
			bounce_log_entry_free(&e);
		}
	}
	bounce_log_close(&bl);
out:
	strbuf_free(&why);
	return 0;
}

#include "standalone.h"
