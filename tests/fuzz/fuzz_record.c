/*
 * fuzz_record - fuzz the record reader (rec_get), the queue-file
 * reader (queue_file_open/queue_file_read) and the envelope reader
 * (queue_envelope_read) with arbitrary bytes.
 *
 * Each input is read three times: as a raw record stream (following
 * pointer records), and twice as a queue file with the complete mark in
 * a private queue directory (record by record, then its envelope). Both loops are bounded by the input size, so a hang
 * is a bug. Inputs are capped at 64 KiB.
 *
 * Build and run with libFuzzer (from the top of the tree):
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -std=gnu17 \
 *     -D_GNU_SOURCE -Iutil -Iglobal tests/fuzz/fuzz_record.c \
 *     global/rec_type.c global/record.c global/mail_queue.c \
 *     global/queue_file.c global/queue_envelope.c util/rstream.c \
 *     util/strbuf.c util/mymalloc.c util/msg.c -o tests/fuzz/fuzz_record
 *   tests/fuzz/fuzz_record -max_total_time=60 tests/fuzz/corpus/fuzz_record
 * Built with -DFUZZ_STANDALONE instead of -fsanitize=fuzzer, it runs the
 * files named on its command line once each (a corpus replay for CI).
 */
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mail_queue.h"
#include "queue_envelope.h"
#include "queue_file.h"
#include "record.h"
#include "rstream.h"
#include "strbuf.h"

#define FUZZ_MAX_INPUT 65536
#define FUZZ_ID "0000000000z1" /* a fixed, valid queue ID */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct mail_queue *fuzz_mq;
static char fuzz_dir[256];

static void fuzz_cleanup(void)
{
	char path[512];

	mail_queue_close(&fuzz_mq);
	snprintf(path, sizeof(path), "%s/incoming/%s", fuzz_dir, FUZZ_ID);
	unlink(path);
	snprintf(path, sizeof(path), "%s/incoming", fuzz_dir);
	rmdir(path);
	rmdir(fuzz_dir);
}

static void fuzz_init(void)
{
	struct mail_queue_params p = {.hash_names = "", .hash_depth = 1};
	const char *tmp = getenv("TMPDIR");
	char path[512];

	snprintf(fuzz_dir, sizeof(fuzz_dir), "%s/fuzz_record.XXXXXX",
		 tmp ? tmp : "/tmp");
	if (mkdtemp(fuzz_dir) == NULL)
		abort();
	snprintf(path, sizeof(path), "%s/incoming", fuzz_dir);
	if (mkdir(path, 0700) < 0)
		abort();
	p.directory = fuzz_dir;
	if ((fuzz_mq = mail_queue_open(&p, NULL)) == NULL)
		abort();
	atexit(fuzz_cleanup);
}

static void fuzz_records(const uint8_t *data, size_t size)
{
	struct strbuf *buf = strbuf_new(REC_ATTR_MAX);
	struct strbuf *why = strbuf_new(1024);
	int fd = memfd_create("fuzz", MFD_CLOEXEC);
	struct rstream *s;
	size_t n;
	int type;

	if (fd < 0 || write(fd, data, size) != (ssize_t)size)
		abort();
	s = rstream_fdopen(fd, 0);
	if (rstream_seek(s, 0) < 0)
		abort();
	/* Every record is at least 2 bytes: size + 1 calls reach the end,
	 * unless pointers loop, which REC_PTR_CHAIN_MAX cuts off per call. */
	for (n = 0; n <= size; n++)
		if (rec_get(s, &type, buf, SIZE_MAX, REC_FLAG_FOLLOW_PTR, why) <
			0 ||
		    type == REC_TYPE_EOF)
			break;
	rstream_close(&s);
	strbuf_free(&buf);
	strbuf_free(&why);
}

static void fuzz_queue_file(const uint8_t *data, size_t size)
{
	struct strbuf *why = strbuf_new(1024);
	struct queue_file *qf;
	struct queue_rec rec;
	char path[512];
	size_t n = 0;
	int fd;

	snprintf(path, sizeof(path), "%s/incoming/%s", fuzz_dir, FUZZ_ID);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0700);
	if (fd < 0 || write(fd, data, size) != (ssize_t)size || close(fd))
		abort();
	if (queue_file_open(fuzz_mq, "incoming", FUZZ_ID, 0, &qf, why) ==
	    QUEUE_FILE_OK) {
		while (queue_file_read(qf, &rec, why) == QUEUE_FILE_OK &&
		       rec.type != REC_TYPE_EOF)
			if (++n > size)
				abort(); /* the reader failed to end */
		queue_file_close(&qf);
	}
	/* The envelope reader on the same bytes, content skipped. */
	if (queue_file_open(fuzz_mq, "incoming", FUZZ_ID, 0, &qf, why) ==
	    QUEUE_FILE_OK) {
		struct queue_envelope env;
		struct queue_envelope_params params = {.rcpt_limit = 100};

		(void)queue_envelope_read(qf, &params, &env, why);
		queue_envelope_free(&env);
		queue_file_close(&qf);
	}
	strbuf_free(&why);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (fuzz_mq == NULL)
		fuzz_init();
	if (size > FUZZ_MAX_INPUT)
		return 0;
	fuzz_records(data, size);
	fuzz_queue_file(data, size);
	return 0;
}

#include "standalone.h"
