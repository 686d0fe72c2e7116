/*
 * cleanup_checks - parsing check-table actions; see cleanup_checks.h.
 *
 * The keywords and their meaning are Postfix's header_checks(5): a
 * keyword is case-insensitive and ends at whitespace; what follows the
 * whitespace is the action's text. Actions that need text (REPLACE,
 * PREPEND, REDIRECT, FILTER) refuse to run without it, and REPLACE and
 * PREPEND refuse text that is not a header ("Name: value"), because
 * writing it would turn header lines into body lines.
 */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "cleanup_checks.h"
#include "mime_state.h"
#include "strbuf.h"

static const struct {
	const char *word;
	enum check_act act;
	int needs_text;
	int header_only;
} check_words[] = {
    {"DUNNO", CHECK_ACT_DUNNO, 0, 0},
    {"OK", CHECK_ACT_DUNNO, 0, 0},
    {"REJECT", CHECK_ACT_REJECT, 0, 0},
    {"DEFER", CHECK_ACT_DEFER, 0, 0},
    {"DISCARD", CHECK_ACT_DISCARD, 0, 0},
    {"HOLD", CHECK_ACT_HOLD, 0, 0},
    {"WARN", CHECK_ACT_WARN, 0, 0},
    {"IGNORE", CHECK_ACT_IGNORE, 0, 1},
    {"REPLACE", CHECK_ACT_REPLACE, 1, 1},
    {"PREPEND", CHECK_ACT_PREPEND, 1, 0},
    {"REDIRECT", CHECK_ACT_REDIRECT, 1, 0},
    {"FILTER", CHECK_ACT_FILTER, 1, 0},
};

void check_action_parse(const char *value, int header, struct check_action *out,
			struct strbuf *why)
{
	size_t wlen;
	const char *text;

	out->act = CHECK_ACT_BAD;
	out->keyword = "?";
	out->text = "";
	strbuf_reset(why);
	while (isspace((unsigned char)*value))
		value++;
	wlen = strcspn(value, " \t");
	text = value + wlen;
	while (isspace((unsigned char)*text))
		text++;
	for (size_t i = 0; i < sizeof(check_words) / sizeof(check_words[0]);
	     i++) {
		if (strlen(check_words[i].word) != wlen ||
		    strncasecmp(value, check_words[i].word, wlen) != 0)
			continue;
		out->keyword = check_words[i].word;
		if (check_words[i].header_only && !header) {
			(void)strbuf_printf(why, "%s is for header checks only",
					    out->keyword);
			return;
		}
		if (check_words[i].needs_text && *text == 0) {
			(void)strbuf_printf(why, "%s needs an argument",
					    out->keyword);
			return;
		}
		if ((check_words[i].act == CHECK_ACT_REPLACE ||
		     check_words[i].act == CHECK_ACT_PREPEND) &&
		    mime_header_name_len(text, strlen(text)) == 0) {
			(void)strbuf_printf(why,
					    "%s text is not a header: \"%s\"",
					    out->keyword, text);
			return;
		}
		if (check_words[i].act == CHECK_ACT_FILTER &&
		    (strchr(text, ':') == NULL || *text == ':')) {
			(void)strbuf_printf(why,
					    "FILTER needs transport:destination, "
					    "not \"%s\"",
					    text);
			return;
		}
		if (check_words[i].act == CHECK_ACT_REDIRECT &&
		    strpbrk(text, " \t") != NULL) {
			(void)strbuf_printf(why,
					    "REDIRECT needs one address, not "
					    "\"%s\"",
					    text);
			return;
		}
		out->act = check_words[i].act;
		out->text = text;
		return;
	}
	(void)strbuf_printf(why, "unknown action \"%.*s\"", (int)wlen, value);
}

/* "d.d.d" with one-digit class and up to three digits per part? */
static size_t check_dsn_len(const char *text)
{
	const char *cp = text;
	size_t n;

	if (*cp < '2' || *cp > '5' || cp[1] != '.')
		return 0;
	cp += 2;
	for (n = 0; isdigit((unsigned char)*cp) && n < 3; n++)
		cp++;
	if (n == 0 || *cp != '.')
		return 0;
	cp++;
	for (n = 0; isdigit((unsigned char)*cp) && n < 3; n++)
		cp++;
	if (n == 0 || (*cp != ' ' && *cp != 0))
		return 0;
	return (size_t)(cp - text);
}

void check_reply_text(const struct check_action *act, struct strbuf *out)
{
	int defer = act->act == CHECK_ACT_DEFER;
	const char *text = act->text;
	char cls = defer ? '4' : '5';

	strbuf_reset(out);
	if (check_dsn_len(text) > 0 && text[0] == cls) {
		(void)strbuf_puts(out, text);
		return;
	}
	if (check_dsn_len(text) > 0) /* wrong class: drop the code */
		text += check_dsn_len(text) + (text[check_dsn_len(text)] != 0);
	(void)strbuf_printf(out, "%s %s", defer ? "4.7.1" : "5.7.1",
			    *text ? text
			    : defer ? "Service unavailable"
				    : "Message content rejected");
}
