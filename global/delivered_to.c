/*
 * delivered_to - does a queued message already carry Delivered-To: addr?
 *
 * Header lines may be stored in pieces (L records, then N); the pieces
 * of one line are joined, up to a bound, before they are compared.
 */
#include <string.h>
#include <strings.h>

#include "delivered_to.h"
#include "queue_file.h"
#include "rec_type.h"
#include "strbuf.h"

#define DELIVERED_TO_LINE_MAX 1024

int delivered_to_seen(struct queue_file *qf, off_t data_offset,
		      const char *addr, struct strbuf *why)
{
	static const char tag[] = "Delivered-To:";
	const size_t tag_len = sizeof(tag) - 1;
	struct strbuf *line = strbuf_new(STRBUF_NO_MAX);
	struct queue_rec rec;
	int found = -1, cont = 0;

	if (queue_file_to_content(qf, data_offset, why) != QUEUE_FILE_OK)
		goto out;
	for (;;) {
		if (queue_file_read_content(qf, &rec, why) != QUEUE_FILE_OK)
			goto out;
		if (rec.type == REC_TYPE_XTRA)
			break;
		if (!cont)
			strbuf_reset(line);
		if (strbuf_len(line) < DELIVERED_TO_LINE_MAX)
			(void)strbuf_append(line, rec.data, rec.len);
		cont = rec.type == REC_TYPE_CONT;
		if (cont)
			continue;
		if (strbuf_len(line) == 0)
			break; /* the end of the headers */
		if (strbuf_len(line) > tag_len &&
		    strncasecmp(strbuf_str(line), tag, tag_len) == 0) {
			const char *v = strbuf_str(line) + tag_len;
			size_t vlen;

			while (*v == ' ' || *v == '\t')
				v++;
			vlen = strlen(v);
			while (vlen > 0 &&
			       (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
				vlen--;
			if (vlen == strlen(addr) &&
			    strncasecmp(v, addr, vlen) == 0) {
				found = 1;
				goto out;
			}
		}
	}
	found = 0;
out:
	strbuf_free(&line);
	return found;
}
