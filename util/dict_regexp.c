/*
 * dict_regexp - pattern tables with POSIX regex or PCRE2; see dict_regexp.h.
 *
 * Both engines share the file syntax, the if/endif structure and the
 * result substitution; only compile and match differ. Rules are kept in
 * file order; an "if" rule records the index of its "endif" so a lookup
 * skips a whole block in one step, without recursion.
 */
#include <ctype.h>
#include <errno.h>
#include <pcre2.h>
#include <regex.h>
#include <string.h>

#include "dict.h"
#include "dict_regexp.h"
#include "dict_text.h"
#include "mymalloc.h"
#include "strbuf.h"

#define MAX_SUB 9 /* $1..$9 */

enum rule_kind { RULE_MATCH, RULE_IF, RULE_ENDIF };

struct rx_rule {
	enum rule_kind kind;
	int negate;
	int compiled;
	regex_t re;	  /* regexp: */
	pcre2_code *code; /* pcre: */
	int nsub;	  /* subexpressions in the pattern */
	char *result;	  /* RULE_MATCH */
	size_t endif;	  /* RULE_IF: index of its endif */
	int lineno;
};

struct dict_rx {
	struct dict dict;
	int pcre;
	struct rx_rule *rule;
	size_t count;
	pcre2_match_data *md;
	pcre2_match_context *mctx;
	struct strbuf *result;
};

/* Where each subexpression matched: start and end offsets, or -1. */
struct rx_match {
	long so[MAX_SUB + 1];
	long eo[MAX_SUB + 1];
};

/* Match key against rule: 1 match, 0 no match, -1 error (in dict). */
static int rx_exec(struct dict_rx *dx, struct rx_rule *r, const char *key,
		   struct rx_match *m)
{
	int i, rc;

	for (i = 0; i <= MAX_SUB; i++)
		m->so[i] = m->eo[i] = -1;
	if (!dx->pcre) {
		regmatch_t pm[MAX_SUB + 1];

		rc = regexec(&r->re, key, MAX_SUB + 1, pm, 0);
		if (rc == REG_NOMATCH)
			return 0;
		if (rc != 0) {
			char err[256];

			regerror(rc, &r->re, err, sizeof(err));
			return dict_set_error(&dx->dict, "regexp:%s:%d: %s",
					      dx->dict.name, r->lineno, err);
		}
		for (i = 0; i <= MAX_SUB && i <= r->nsub; i++) {
			m->so[i] = pm[i].rm_so;
			m->eo[i] = pm[i].rm_eo;
		}
		return 1;
	}
	rc = pcre2_match(r->code, (PCRE2_SPTR)key, PCRE2_ZERO_TERMINATED, 0, 0,
			 dx->md, dx->mctx);
	if (rc == PCRE2_ERROR_NOMATCH)
		return 0;
	if (rc < 0) {
		PCRE2_UCHAR err[256];

		pcre2_get_error_message(rc, err, sizeof(err));
		return dict_set_error(&dx->dict, "pcre:%s:%d: match failed: %s",
				      dx->dict.name, r->lineno, (char *)err);
	}
	{
		PCRE2_SIZE *ov = pcre2_get_ovector_pointer(dx->md);
		uint32_t npairs = pcre2_get_ovector_count(dx->md);

		/* UNSAFE: i < npairs bounds the 2*npairs ovector. */
		for (i = 0; i <= MAX_SUB && (uint32_t)i < npairs && i < rc;
		     i++) {
			if (ov[2 * i] == PCRE2_UNSET)
				continue;
			m->so[i] = (long)ov[2 * i];
			m->eo[i] = (long)ov[2 * i + 1];
		}
	}
	return 1;
}

/* Expand $n in result with the match of key. Syntax was checked at open. */
static const char *rx_expand(struct dict_rx *dx, const char *result,
			     const char *key, const struct rx_match *m)
{
	struct strbuf *out = dx->result;
	const char *cp = result;
	int n;

	strbuf_reset(out);
	while (*cp) {
		if (*cp != '$') {
			strbuf_putc(out, *cp++);
			continue;
		}
		cp++;
		if (*cp == '$') {
			strbuf_putc(out, *cp++);
			continue;
		}
		if (*cp == '{' || *cp == '(')
			cp++;
		n = *cp++ - '0';
		if (*cp == '}' || *cp == ')')
			cp++;
		/* UNSAFE: so/eo come from the engine and lie within key. */
		if (m->so[n] >= 0 && m->eo[n] >= m->so[n])
			strbuf_append(out, key + m->so[n],
				      (size_t)(m->eo[n] - m->so[n]));
	}
	return strbuf_str(out);
}

static int rx_lookup(struct dict *dict, const char *key, const char **value)
{
	struct dict_rx *dx = (struct dict_rx *)dict;
	struct rx_match m;
	size_t i = 0;
	int rc;

	while (i < dx->count) {
		struct rx_rule *r = &dx->rule[i];

		if (r->kind == RULE_ENDIF) {
			i++;
			continue;
		}
		if ((rc = rx_exec(dx, r, key, &m)) < 0)
			return DICT_ERROR;
		if (r->kind == RULE_IF) {
			/* Enter the block when the condition holds, else
			 * continue after its endif. */
			i = (rc != r->negate) ? i + 1 : r->endif + 1;
			continue;
		}
		if (rc != r->negate) {
			*value = rx_expand(dx, r->result, key, &m);
			return DICT_FOUND;
		}
		i++;
	}
	return DICT_NOTFOUND;
}

static void rx_close(struct dict *dict)
{
	struct dict_rx *dx = (struct dict_rx *)dict;

	for (size_t i = 0; i < dx->count; i++) {
		if (dx->rule[i].compiled)
			regfree(&dx->rule[i].re);
		pcre2_code_free(dx->rule[i].code);
		myfree(dx->rule[i].result);
	}
	myfree(dx->rule);
	pcre2_match_data_free(dx->md);
	pcre2_match_context_free(dx->mctx);
	strbuf_free(&dx->result);
}

/* Check the $ syntax of a result against a pattern with nsub groups. */
static int rx_check_result(const char *result, int nsub, int negate,
			   struct strbuf *why)
{
	const char *cp;
	int n;

	for (cp = result; (cp = strchr(cp, '$')) != NULL;) {
		cp++;
		if (*cp == '$') {
			cp++;
			continue;
		}
		char open = (*cp == '{' || *cp == '(') ? *cp++ : 0;

		if (!isdigit((unsigned char)*cp) || *cp == '0') {
			strbuf_puts(why, "'$' must be followed by 1-9 or '$' "
					 "in the result");
			return -1;
		}
		n = *cp++ - '0';
		if (open && *cp++ != (open == '{' ? '}' : ')')) {
			strbuf_printf(why, "unbalanced \"%c\" in the result",
				      open);
			return -1;
		}
		if (negate) {
			strbuf_printf(why,
				      "$%d in the result of a negated "
				      "pattern, which has no match",
				      n);
			return -1;
		}
		if (n > nsub) {
			strbuf_printf(why,
				      "$%d in the result, but the pattern "
				      "has %d subexpression%s",
				      n, nsub, nsub == 1 ? "" : "s");
			return -1;
		}
	}
	return 0;
}

/* Compile pattern with flags into r; 0 or -1 with the reason in why. */
static int rx_compile(struct dict_rx *dx, struct rx_rule *r,
		      const char *pattern, const char *flags,
		      struct strbuf *why)
{
	if (!dx->pcre) {
		int cflags = REG_EXTENDED | REG_ICASE;
		int rc;

		for (const char *f = flags; *f; f++) {
			switch (*f) {
			case 'i':
				cflags ^= REG_ICASE;
				break;
			case 'x':
				cflags ^= REG_EXTENDED;
				break;
			case 'm':
				cflags ^= REG_NEWLINE;
				break;
			default:
				strbuf_printf(why, "unknown regexp flag '%c'",
					      *f);
				return -1;
			}
		}
		if ((rc = regcomp(&r->re, pattern, cflags)) != 0) {
			char err[256];

			regerror(rc, &r->re, err, sizeof(err));
			strbuf_printf(why, "bad regular expression \"%s\": %s",
				      pattern, err);
			return -1;
		}
		r->compiled = 1;
		r->nsub = (int)r->re.re_nsub;
		return 0;
	} else {
		uint32_t opts = PCRE2_CASELESS;
		uint32_t ncap;
		int errcode;
		PCRE2_SIZE erroff;

		for (const char *f = flags; *f; f++) {
			switch (*f) {
			case 'i':
				opts ^= PCRE2_CASELESS;
				break;
			case 'm':
				opts ^= PCRE2_MULTILINE;
				break;
			case 's':
				opts ^= PCRE2_DOTALL;
				break;
			case 'x':
				opts ^= PCRE2_EXTENDED;
				break;
			case 'A':
				opts ^= PCRE2_ANCHORED;
				break;
			case 'E':
				opts ^= PCRE2_DOLLAR_ENDONLY;
				break;
			case 'U':
				opts ^= PCRE2_UNGREEDY;
				break;
			default:
				strbuf_printf(why, "unknown pcre flag '%c'",
					      *f);
				return -1;
			}
		}
		r->code =
		    pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED,
				  opts, &errcode, &erroff, NULL);
		if (r->code == NULL) {
			PCRE2_UCHAR err[256];

			pcre2_get_error_message(errcode, err, sizeof(err));
			strbuf_printf(why,
				      "bad regular expression \"%s\": %s "
				      "at offset %zu",
				      pattern, (char *)err, (size_t)erroff);
			return -1;
		}
		(void)pcre2_pattern_info(r->code, PCRE2_INFO_CAPTURECOUNT,
					 &ncap);
		r->nsub = (int)ncap;
		return 0;
	}
}

/* Parse "[!]DpatternDflags" at *cpp into pattern and flags (pointing into
 * line, NUL-terminated in place); *cpp is left after the flags. */
static int rx_pattern(char **cpp, int *negate, char **pattern, char **flags,
		      struct strbuf *why)
{
	char *cp = *cpp;
	char delim;
	char *dst;

	*negate = 0;
	if (*cp == '!') {
		*negate = 1;
		cp++;
	}
	delim = *cp;
	if (delim == 0 || isalnum((unsigned char)delim) || delim == '\\' ||
	    isspace((unsigned char)delim)) {
		strbuf_puts(why, "expected \"/pattern/flags result\"");
		return -1;
	}
	*pattern = dst = ++cp;
	/* Copy in place; "\D" (D the delimiter) stands for D, every other
	 * backslash sequence is left to the regex engine. */
	for (; *cp && *cp != delim; cp++) {
		if (*cp == '\\' && cp[1] == delim)
			cp++;
		else if (*cp == '\\' && cp[1])
			*dst++ = *cp++;
		*dst++ = *cp;
	}
	if (*cp != delim) {
		strbuf_printf(why, "missing closing '%c' of the pattern",
			      delim);
		return -1;
	}
	*dst = 0;
	*flags = ++cp;
	while (*cp && !isspace((unsigned char)*cp))
		cp++;
	if (*cp) {
		*cp++ = 0;
		while (isspace((unsigned char)*cp))
			cp++;
	}
	*cpp = cp;
	return 0;
}

static int rx_line(struct dict_rx *dx, char *line, int lineno, size_t **stack,
		   size_t *depth, struct strbuf *why)
{
	struct rx_rule r;
	char *cp = line, *pattern, *flags;

	memset(&r, 0, sizeof(r));
	r.lineno = lineno;
	if (strcmp(line, "endif") == 0) {
		if (*depth == 0) {
			strbuf_puts(why, "endif without a matching if");
			return -1;
		}
		dx->rule[(*stack)[--*depth]].endif = dx->count;
		r.kind = RULE_ENDIF;
	} else {
		if (strncmp(line, "if", 2) == 0 &&
		    isspace((unsigned char)line[2])) {
			r.kind = RULE_IF;
			for (cp = line + 2; isspace((unsigned char)*cp); cp++)
				;
		} else {
			r.kind = RULE_MATCH;
		}
		if (rx_pattern(&cp, &r.negate, &pattern, &flags, why) < 0 ||
		    rx_compile(dx, &r, pattern, flags, why) < 0)
			goto fail;
		if (r.kind == RULE_IF && *cp) {
			strbuf_puts(why, "text after the pattern of an if");
			goto fail;
		}
		if (r.kind == RULE_MATCH) {
			if (*cp == 0) {
				strbuf_puts(why, "missing result after the "
						 "pattern");
				goto fail;
			}
			if (rx_check_result(cp, r.nsub, r.negate, why) < 0)
				goto fail;
			r.result = mystrdup(cp);
		}
		if (r.kind == RULE_IF) {
			*stack =
			    myreallocarray(*stack, *depth + 1, sizeof(**stack));
			(*stack)[(*depth)++] = dx->count;
		}
	}
	dx->rule = myreallocarray(dx->rule, dx->count + 1, sizeof(*dx->rule));
	dx->rule[dx->count++] = r;
	return 0;

fail:
	if (r.compiled)
		regfree(&r.re);
	pcre2_code_free(r.code);
	return -1;
}

static struct dict *rx_open_fp(int pcre, FILE *fp, const char *name, int flags,
			       struct strbuf *why)
{
	struct dict *dict = dict_alloc(pcre ? "pcre" : "regexp", name,
				       flags | DICT_PATTERN | DICT_NO_FOLD,
				       sizeof(struct dict_rx));
	struct dict_rx *dx = (struct dict_rx *)dict;
	struct dict_text_reader *rd = dict_text_reader_new(fp, name);
	struct strbuf *reason = strbuf_new(STRBUF_NO_MAX);
	size_t *stack = NULL, depth = 0;
	char *line;
	int lineno = 0, ret;

	dx->pcre = pcre;
	dx->result = strbuf_new(STRBUF_NO_MAX);
	dict->lookup = rx_lookup;
	dict->close = rx_close;
	if (pcre) {
		dx->md = pcre2_match_data_create(MAX_SUB + 1, NULL);
		dx->mctx = pcre2_match_context_create(NULL);
		pcre2_set_match_limit(dx->mctx, DICT_PCRE_MATCH_LIMIT);
		pcre2_set_depth_limit(dx->mctx, DICT_PCRE_DEPTH_LIMIT);
	}
	while ((ret = dict_text_read(rd, &line, &lineno, why)) > 0) {
		strbuf_reset(reason);
		if (rx_line(dx, line, lineno, &stack, &depth, reason) < 0) {
			strbuf_printf(why, "%s:%d: %s", name, lineno,
				      strbuf_str(reason));
			ret = -1;
			break;
		}
	}
	if (ret == 0 && depth > 0) {
		strbuf_printf(why, "%s:%d: if without a matching endif", name,
			      dx->rule[stack[depth - 1]].lineno);
		ret = -1;
	}
	myfree(stack);
	dict_text_reader_free(&rd);
	strbuf_free(&reason);
	if (ret < 0)
		dict_close(&dict);
	return dict;
}

static struct dict *rx_open(int pcre, const char *name, int flags,
			    struct strbuf *why)
{
	struct dict *dict;
	FILE *fp;

	if ((fp = fopen(name, "re")) == NULL) {
		strbuf_printf(why, "open %s: %s", name, strerror(errno));
		return NULL;
	}
	if ((dict = rx_open_fp(pcre, fp, name, flags, why)) != NULL)
		dict_watch(dict, name);
	fclose(fp);
	return dict;
}

struct dict *dict_regexp_open(const char *name, int flags, struct strbuf *why)
{
	return rx_open(0, name, flags, why);
}

struct dict *dict_pcre_open(const char *name, int flags, struct strbuf *why)
{
	return rx_open(1, name, flags, why);
}

struct dict *dict_regexp_open_fp(FILE *fp, const char *name, int flags,
				 struct strbuf *why)
{
	return rx_open_fp(0, fp, name, flags, why);
}

struct dict *dict_pcre_open_fp(FILE *fp, const char *name, int flags,
			       struct strbuf *why)
{
	return rx_open_fp(1, fp, name, flags, why);
}
