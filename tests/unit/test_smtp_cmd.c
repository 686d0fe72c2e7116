/*
 * test_smtp_cmd - the SMTP command reader and verb parser
 * (global/smtp_cmd.c): line ends, the length limit, NUL bytes, bare LF
 * per mode, pipelined input left with the caller, and verbs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "smtp_cmd.h"

#define S(lit) lit, sizeof(lit) - 1

/* Read one line from in; returns the status, *used the bytes taken. */
static enum smtp_cmd_status read_one(struct smtp_cmd_reader *rd, const char *in,
				     size_t len, size_t *used)
{
	return smtp_cmd_read(rd, in, len, used);
}

static void test_crlf_lines_and_pipelining(void **state)
{
	struct smtp_cmd_reader *rd =
	    smtp_cmd_reader_new(2048, SMTP_NEWLINE_NORMALIZE);
	const char in[] = "EHLO a\r\nMAIL FROM:<x>\r\nRCPT";
	size_t used, pos = 0;

	(void)state;
	assert_int_equal(read_one(rd, S(in), &used), SMTP_CMD_LINE);
	assert_string_equal(smtp_cmd_reader_line(rd), "EHLO a");
	/* The reader stopped at the line end: the rest is pipelined input. */
	assert_int_equal(used, 8);
	pos += used;
	assert_int_equal(read_one(rd, in + pos, sizeof(in) - 1 - pos, &used),
			 SMTP_CMD_LINE);
	assert_string_equal(smtp_cmd_reader_line(rd), "MAIL FROM:<x>");
	assert_int_equal(smtp_cmd_reader_bare_lf(rd), 0);
	pos += used;
	assert_int_equal(read_one(rd, in + pos, sizeof(in) - 1 - pos, &used),
			 SMTP_CMD_MORE);
	assert_int_equal(used, 4);
	assert_int_equal(read_one(rd, S(" TO:<y>\r"), &used), SMTP_CMD_MORE);
	assert_int_equal(read_one(rd, S("\n"), &used), SMTP_CMD_LINE);
	assert_string_equal(smtp_cmd_reader_line(rd), "RCPT TO:<y>");
	smtp_cmd_reader_free(&rd);
	assert_null(rd);
}

static void test_one_byte_at_a_time(void **state)
{
	struct smtp_cmd_reader *rd =
	    smtp_cmd_reader_new(16, SMTP_NEWLINE_NORMALIZE);
	const char in[] = "NOOP\r\nHELO\rx\r\n";
	const char *want[] = {"NOOP", "HELO\rx"};
	size_t i, used, n = 0;

	(void)state;
	for (i = 0; i < sizeof(in) - 1; i++) {
		enum smtp_cmd_status st = read_one(rd, in + i, 1, &used);

		assert_int_equal(used, 1);
		if (st == SMTP_CMD_LINE)
			assert_string_equal(smtp_cmd_reader_line(rd),
					    want[n++]);
		else
			assert_int_equal(st, SMTP_CMD_MORE);
	}
	assert_int_equal(n, 2);
	smtp_cmd_reader_free(&rd);
}

static void test_bare_lf_modes(void **state)
{
	struct smtp_cmd_reader *rd =
	    smtp_cmd_reader_new(2048, SMTP_NEWLINE_NORMALIZE);
	size_t used;

	(void)state;
	assert_int_equal(read_one(rd, S("NOOP\nQUIT\r\n"), &used),
			 SMTP_CMD_LINE);
	assert_int_equal(used, 5);
	assert_string_equal(smtp_cmd_reader_line(rd), "NOOP");
	assert_int_equal(smtp_cmd_reader_bare_lf(rd), 1);

	smtp_cmd_reader_set_mode(rd, SMTP_NEWLINE_REJECT);
	assert_int_equal(read_one(rd, S("NOOP\nQUIT\r\n"), &used),
			 SMTP_CMD_BARE_LF);
	assert_int_equal(used, 5);
	assert_string_equal(smtp_cmd_reader_line(rd), "");
	/* The reader is ready for the next line. */
	assert_int_equal(read_one(rd, S("QUIT\r\n"), &used), SMTP_CMD_LINE);
	assert_string_equal(smtp_cmd_reader_line(rd), "QUIT");
	/* CR CR LF: a bare CR then the terminator; no bare LF. */
	assert_int_equal(read_one(rd, S("NOOP\r\r\n"), &used), SMTP_CMD_LINE);
	assert_string_equal(smtp_cmd_reader_line(rd), "NOOP\r");
	smtp_cmd_reader_free(&rd);
}

static void test_too_long(void **state)
{
	struct smtp_cmd_reader *rd =
	    smtp_cmd_reader_new(8, SMTP_NEWLINE_NORMALIZE);
	size_t used, total = 0, i;
	char chunk[1000];

	(void)state;
	/* Exactly the limit fits, CR LF not counted. */
	assert_int_equal(read_one(rd, S("12345678\r\n"), &used), SMTP_CMD_LINE);
	assert_string_equal(smtp_cmd_reader_line(rd), "12345678");
	assert_int_equal(read_one(rd, S("123456789\r\nNOOP\r\n"), &used),
			 SMTP_CMD_TOO_LONG);
	assert_int_equal(used, 11);
	assert_string_equal(smtp_cmd_reader_line(rd), "");
	/* A CR at the limit is held back; followed by data it overflows. */
	assert_int_equal(read_one(rd, S("12345678\rx\r\n"), &used),
			 SMTP_CMD_TOO_LONG);
	/* A megabyte without a line end is consumed, never stored. */
	memset(chunk, 'x', sizeof(chunk));
	for (i = 0; i < 1000; i++) {
		assert_int_equal(read_one(rd, chunk, sizeof(chunk), &used),
				 SMTP_CMD_MORE);
		total += used;
	}
	assert_int_equal(total, 1000 * sizeof(chunk));
	assert_int_equal(read_one(rd, S("\nNOOP\r\n"), &used),
			 SMTP_CMD_TOO_LONG);
	assert_int_equal(used, 1);
	assert_int_equal(read_one(rd, S("NOOP\r\n"), &used), SMTP_CMD_LINE);
	assert_string_equal(smtp_cmd_reader_line(rd), "NOOP");
	smtp_cmd_reader_free(&rd);
}

static void test_nul(void **state)
{
	struct smtp_cmd_reader *rd =
	    smtp_cmd_reader_new(2048, SMTP_NEWLINE_NORMALIZE);
	const char in[] = "MAIL FROM:<a\0b>\r\nNOOP\r\n";
	size_t used;

	(void)state;
	assert_int_equal(read_one(rd, in, sizeof(in) - 1, &used), SMTP_CMD_NUL);
	assert_int_equal(used, 17);
	assert_int_equal(read_one(rd, in + used, sizeof(in) - 1 - used, &used),
			 SMTP_CMD_LINE);
	assert_string_equal(smtp_cmd_reader_line(rd), "NOOP");
	assert_string_equal(smtp_cmd_status_text(SMTP_CMD_NUL),
			    "500 5.5.2 Error: NUL character in command");
	smtp_cmd_reader_free(&rd);
}

static void test_reset(void **state)
{
	struct smtp_cmd_reader *rd =
	    smtp_cmd_reader_new(2048, SMTP_NEWLINE_NORMALIZE);
	size_t used;

	(void)state;
	/* A partial line from before STARTTLS is forgotten. */
	assert_int_equal(read_one(rd, S("RSET\r"), &used), SMTP_CMD_MORE);
	smtp_cmd_reader_reset(rd);
	assert_int_equal(read_one(rd, S("\nNOOP\r\n"), &used), SMTP_CMD_LINE);
	assert_string_equal(smtp_cmd_reader_line(rd), "");
	smtp_cmd_reader_free(&rd);
}

static void test_newline_parse(void **state)
{
	enum smtp_newline m;

	(void)state;
	assert_int_equal(smtp_newline_parse("normalize", &m), 0);
	assert_int_equal(m, SMTP_NEWLINE_NORMALIZE);
	assert_int_equal(smtp_newline_parse("Reject", &m), 0);
	assert_int_equal(m, SMTP_NEWLINE_REJECT);
	assert_int_equal(smtp_newline_parse("yes", &m), 0);
	assert_int_equal(m, SMTP_NEWLINE_REJECT);
	assert_int_equal(smtp_newline_parse("note", &m), 0);
	assert_int_equal(m, SMTP_NEWLINE_NOTE);
	assert_int_equal(smtp_newline_parse("no", &m), 0);
	assert_int_equal(m, SMTP_NEWLINE_NO);
	assert_int_equal(smtp_newline_parse("maybe", &m), -1);
	assert_int_equal(smtp_newline_parse("", &m), -1);
}

static void test_parse_verbs(void **state)
{
	static const struct {
		const char *line;
		enum smtp_verb verb;
		const char *name;
		const char *arg;
	} cases[] = {
	    {"EHLO client.example", SMTP_VERB_EHLO, "EHLO", "client.example"},
	    {"ehlo   client.example  ", SMTP_VERB_EHLO, "EHLO",
	     "client.example"},
	    {"HeLo x", SMTP_VERB_HELO, "HELO", "x"},
	    {"MAIL FROM:<a@b> SIZE=10", SMTP_VERB_MAIL, "MAIL",
	     "FROM:<a@b> SIZE=10"},
	    {"rcpt\tTO:<a@b>", SMTP_VERB_RCPT, "RCPT", "TO:<a@b>"},
	    {"DATA", SMTP_VERB_DATA, "DATA", ""},
	    {"BDAT 10 LAST", SMTP_VERB_BDAT, "BDAT", "10 LAST"},
	    {"RSET", SMTP_VERB_RSET, "RSET", ""},
	    {"noop", SMTP_VERB_NOOP, "NOOP", ""},
	    {"QUIT", SMTP_VERB_QUIT, "QUIT", ""},
	    {"VRFY postmaster", SMTP_VERB_VRFY, "VRFY", "postmaster"},
	    {"HELP", SMTP_VERB_HELP, "HELP", ""},
	    {"StartTLS", SMTP_VERB_STARTTLS, "STARTTLS", ""},
	    {"AUTH PLAIN AGJvYgBzZWNyZXQ=", SMTP_VERB_AUTH, "AUTH",
	     "PLAIN AGJvYgBzZWNyZXQ="},
	    {"  NOOP", SMTP_VERB_NOOP, "NOOP", ""},
	    {"", SMTP_VERB_EMPTY, "", ""},
	    {" \t ", SMTP_VERB_EMPTY, "", ""},
	    {"ETRN x", SMTP_VERB_UNKNOWN, "", "x"},
	    {"XCLIENT ADDR=1.2.3.4", SMTP_VERB_UNKNOWN, "", "ADDR=1.2.3.4"},
	    {"MAIL:FROM", SMTP_VERB_UNKNOWN, "", ""},
	    {"MAILX", SMTP_VERB_UNKNOWN, "", ""},
	    {"NOOP\r", SMTP_VERB_UNKNOWN, "", ""},
	    {"GET / HTTP/1.0", SMTP_VERB_UNKNOWN, "", "/ HTTP/1.0"},
	};
	struct smtp_cmd cmd;
	char line[128];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		strcpy(line, cases[i].line);
		smtp_cmd_parse(line, &cmd);
		assert_int_equal(cmd.verb, cases[i].verb);
		assert_string_equal(cmd.name, cases[i].name);
		assert_string_equal(cmd.arg, cases[i].arg);
	}
	strcpy(line, "XYZZY plugh");
	smtp_cmd_parse(line, &cmd);
	assert_string_equal(cmd.word, "XYZZY");
	assert_string_equal(smtp_verb_name(SMTP_VERB_STARTTLS), "STARTTLS");
	assert_string_equal(smtp_verb_name((enum smtp_verb)999), "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_crlf_lines_and_pipelining),
	    cmocka_unit_test(test_one_byte_at_a_time),
	    cmocka_unit_test(test_bare_lf_modes),
	    cmocka_unit_test(test_too_long),
	    cmocka_unit_test(test_nul),
	    cmocka_unit_test(test_reset),
	    cmocka_unit_test(test_newline_parse),
	    cmocka_unit_test(test_parse_verbs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
