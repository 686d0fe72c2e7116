/*
 * smtp_data - the DATA and BDAT phase: raw bytes from the client in,
 * message lines (and the end of the message) out.
 *
 * The one rule this module exists to keep (SMTP smuggling, CVE-2023-51764):
 * in DATA, the message ends at <CR><LF>.<CR><LF> and nowhere else. A line
 * consisting of a single dot ends the message only when both it and the
 * line before it were terminated by CR LF (the DATA command itself counts
 * as such a line). A bare LF may end a line for storage (normalize), but
 * the line it ends can never be the end of the message, nor can the line
 * after it; a bare CR never ends a line at all. doc/smtp-input.md has the
 * argument in full.
 *
 * Other invariants:
 *   - The machine is incremental and byte-exact: feeding a stream in any
 *     number of chunks, split anywhere, produces the same output records
 *     and the same result as feeding it at once.
 *   - It never consumes a byte after the end of the message (or past the
 *     BDAT chunk), so pipelined commands stay with the caller.
 *   - Memory is one buffer of line_limit bytes: a longer line is handed
 *     out in pieces (SMTP_DATA_REC_PART, the queue file's 'L' record)
 *     followed by the rest (SMTP_DATA_REC_LINE, 'N').
 *   - Once the message cannot be accepted (too big, bare LF in reject
 *     mode, the output function failed) nothing more is handed out, but
 *     input is still consumed to the end, so the reply comes at the right
 *     moment and the session stays in step.
 * Dot-unstuffing: in DATA, a line that begins with '.' loses that dot.
 * NUL bytes and bare CRs are message data; they are counted, not changed
 * (replacing stray CR and LF is cleanup's job: cleanup_replace_stray_cr_lf).
 */
#ifndef POSTERN_SMTP_DATA_H
#define POSTERN_SMTP_DATA_H

#include <stddef.h>
#include <stdint.h>

#include "smtp_cmd.h"

enum smtp_data_rec {
	SMTP_DATA_REC_LINE, /* the (last piece of a) line: record 'N' */
	SMTP_DATA_REC_PART, /* a piece of a longer line: record 'L' */
};

/* Receives each record; return 0, or -1 to make the message fail with
 * SMTP_DATA_OUTPUT_ERR (say, the queue file could not be written). */
typedef int (*smtp_data_out_fn)(void *ctx, enum smtp_data_rec type,
				const char *data, size_t len);

enum smtp_data_kind {
	SMTP_DATA_DOT,	/* DATA: dot-stuffed, ends at CRLF.CRLF */
	SMTP_DATA_BDAT, /* BDAT: counted chunks, bytes taken as they are */
};

/* Why the message cannot be accepted; the first reason sticks. */
enum smtp_data_result {
	SMTP_DATA_OK,
	SMTP_DATA_TOO_BIG,    /* 552 5.3.4 Message size exceeds fixed limit */
	SMTP_DATA_BARE_LF,    /* reject mode: "<code> 5.5.2 Error: bare <LF>
			       * received"; with 521 close the session */
	SMTP_DATA_OUTPUT_ERR, /* 451 4.3.0 Error: queue file write error */
};

struct smtp_data_params {
	size_t line_limit;   /* line_length_limit (> 0) */
	uint64_t size_limit; /* message_size_limit; 0 = none */
	enum smtp_newline mode;
	smtp_data_out_fn out;
	void *ctx;
};

struct smtp_data_stats {
	enum smtp_data_result result;
	uint64_t size;	    /* bytes of content, 2 per line end (as CR LF) */
	uint64_t lines;	    /* complete lines */
	uint64_t bare_lf;   /* lines that ended with a bare LF */
	uint64_t bare_cr;   /* CRs not followed by LF (kept as data) */
	uint64_t nul_bytes; /* NUL bytes (kept as data) */
};

enum smtp_data_status {
	SMTP_DATA_MORE, /* all input used; the message (or chunk) goes on */
	SMTP_DATA_END,	/* DATA: end of message seen; BDAT: chunk complete */
};

struct smtp_data;

/* A machine with the given limits and output; never NULL. */
struct smtp_data *smtp_data_new(const struct smtp_data_params *params);
void smtp_data_free(struct smtp_data **sdp);
/* Change the bare-newline mode for the next message. */
void smtp_data_set_mode(struct smtp_data *sd, enum smtp_newline mode);

/* Start a new message (resets the line state and the statistics). */
void smtp_data_begin(struct smtp_data *sd, enum smtp_data_kind kind);
/* Consume data[0..len) until the message (DATA) or chunk (BDAT) ends;
 * *used is set to the bytes consumed. After SMTP_DATA_END in DATA mode
 * nothing more is consumed until smtp_data_begin. */
enum smtp_data_status smtp_data_feed(struct smtp_data *sd, const void *data,
				     size_t len, size_t *used);
/* BDAT: expect a chunk of size bytes (after the previous one ended).
 * Returns 0, or -1 if the previous chunk is not consumed yet. */
int smtp_data_bdat_chunk(struct smtp_data *sd, uint64_t size);
/* BDAT LAST after its chunk: hand out an unterminated last line (a held
 * back CR included). Returns 0, or -1 if the chunk is not consumed yet. */
int smtp_data_bdat_finish(struct smtp_data *sd);
/* The result and counters of the current (or just finished) message. */
const struct smtp_data_stats *smtp_data_stats(const struct smtp_data *sd);

/* Parse the argument of "BDAT chunk-size [LAST]": size 1*DIGIT without
 * overflow, LAST case-insensitive. 0, or -1 (reply "501 5.5.4 Syntax:
 * BDAT count [LAST]"). */
int smtp_data_bdat_parse(const char *arg, uint64_t *size, int *last);

#endif
