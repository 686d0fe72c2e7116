/*
 * smtp_cmd - SMTP command lines: reading them from a byte stream with a
 * hard length limit, and splitting one into its verb and argument.
 *
 * The reader is incremental: it is fed whatever bytes arrived, consumes
 * up to and including the end of one line, and tells the caller how many
 * bytes it used. It never consumes a byte past the end of the line it
 * reports, so whatever the caller still holds afterwards is input the
 * client sent ahead of our reply (pipelining), and the bytes after DATA or
 * STARTTLS are never swallowed by the command reader.
 *
 * Line ends (see doc/smtp-input.md):
 *   - CR LF ends a line.
 *   - A bare LF ends a line too (Postfix accepts LF-terminated commands),
 *     unless the bare-newline mode is "reject": then the line is consumed
 *     and reported as SMTP_CMD_BARE_LF, never executed.
 *   - A CR that is not followed by LF is data of the line (it is kept, and
 *     the verb or argument it lands in will then not parse).
 * Errors that consume the whole offending line and leave the reader ready
 * for the next one: a line longer than the limit (its excess is skipped,
 * never buffered), a NUL byte anywhere in the line.
 */
#ifndef POSTERN_SMTP_CMD_H
#define POSTERN_SMTP_CMD_H

#include <stddef.h>

struct strbuf;

/* smtpd_forbid_bare_newline, shared by the command reader and smtp_data. */
enum smtp_newline {
	SMTP_NEWLINE_NORMALIZE, /* bare LF ends a line (never end-of-DATA) */
	SMTP_NEWLINE_NOTE,	/* as normalize; the caller logs a note */
	SMTP_NEWLINE_REJECT,	/* bare LF makes the command/message fail */
	SMTP_NEWLINE_NO,	/* "legacy": postern treats it as normalize */
};

/* Map a smtpd_forbid_bare_newline value ("normalize", "note", "reject",
 * "yes" = reject, "no") to the mode. 0, or -1 if the value is unknown. */
int smtp_newline_parse(const char *value, enum smtp_newline *mode);

/* Postfix's line_length_limit, the default command line limit. */
#define SMTP_CMD_LINE_LIMIT 2048

enum smtp_cmd_status {
	SMTP_CMD_MORE,	   /* all input used, no complete line yet */
	SMTP_CMD_LINE,	   /* a line is ready in smtp_cmd_reader_line() */
	SMTP_CMD_TOO_LONG, /* a line over the limit was consumed to its end */
	SMTP_CMD_NUL,	   /* a line with a NUL byte was consumed */
	SMTP_CMD_BARE_LF,  /* reject mode: a line ended with a bare LF */
};

struct smtp_cmd_reader;

/* A reader for lines of at most limit bytes (terminator not counted).
 * Never NULL; free with smtp_cmd_reader_free. */
struct smtp_cmd_reader *smtp_cmd_reader_new(size_t limit,
					    enum smtp_newline mode);
void smtp_cmd_reader_free(struct smtp_cmd_reader **rdp);
/* Change the bare-newline mode (per client: the exclusions list). */
void smtp_cmd_reader_set_mode(struct smtp_cmd_reader *rd,
			      enum smtp_newline mode);

/* Consume bytes of data[0..len) up to the end of one line; *used is set to
 * the bytes consumed. Any status but SMTP_CMD_MORE means one line ended
 * at data[*used - 1]; the next call starts a new line. */
enum smtp_cmd_status smtp_cmd_read(struct smtp_cmd_reader *rd,
				   const void *data, size_t len, size_t *used);
/* After SMTP_CMD_LINE: the line without its terminator, NUL-terminated
 * (it contains no NUL). The reader owns it; valid until the next read. */
char *smtp_cmd_reader_line(struct smtp_cmd_reader *rd);
/* 1 if the last line ended with a bare LF (for logging in note mode). */
int smtp_cmd_reader_bare_lf(const struct smtp_cmd_reader *rd);
/* Forget a partial line (STARTTLS: nothing from before the handshake may
 * be used after it). */
void smtp_cmd_reader_reset(struct smtp_cmd_reader *rd);

/* The suggested reply for an error status: "500 5.5.2 Error: ...". The
 * reject code for SMTP_CMD_BARE_LF is the caller's (smtpd_forbid_bare_
 * newline_reject_code); this returns the text only for it. */
const char *smtp_cmd_status_text(enum smtp_cmd_status status);

enum smtp_verb {
	SMTP_VERB_EMPTY,   /* an empty or all-blank line */
	SMTP_VERB_UNKNOWN, /* anything else we do not implement */
	SMTP_VERB_EHLO,
	SMTP_VERB_HELO,
	SMTP_VERB_MAIL,
	SMTP_VERB_RCPT,
	SMTP_VERB_DATA,
	SMTP_VERB_BDAT,
	SMTP_VERB_RSET,
	SMTP_VERB_NOOP,
	SMTP_VERB_QUIT,
	SMTP_VERB_VRFY,
	SMTP_VERB_HELP,
	SMTP_VERB_STARTTLS,
	SMTP_VERB_AUTH,
};

struct smtp_cmd {
	enum smtp_verb verb;
	const char *name; /* canonical upper-case verb, "" if unknown/empty */
	const char *word; /* the verb as sent (points into the line) */
	const char *arg;  /* the rest, blanks trimmed at both ends; "" if none */
};

/* Split a line from the reader into verb and argument. The line is
 * modified in place (the verb is cut off with a NUL, trailing blanks
 * removed); cmd points into it. Blanks are SP and TAB. */
void smtp_cmd_parse(char *line, struct smtp_cmd *cmd);
/* Canonical name of a verb ("MAIL"), "" for EMPTY/UNKNOWN. */
const char *smtp_verb_name(enum smtp_verb verb);

#endif
