/*
 * smtp_addr - MAIL FROM / RCPT TO argument parser; see smtp_addr.h.
 *
 * The parser works on the argument as one C string (the command reader
 * already refused NUL bytes) in three steps: find the path token, check
 * and split the path into local part and domain (building the internal
 * and external forms), then the parameters. The 8-bit check comes last
 * because SMTPUTF8 may appear after the address. Every character class is
 * an allow-list, so control characters fail by not being listed rather
 * than by being remembered in a deny-list.
 */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "mymalloc.h"
#include "smtp_addr.h"
#include "strbuf.h"

#define ERR_SYNTAX_ENH "5.5.4"

static int __attribute__((format(printf, 4, 5)))
addr_fail(struct smtp_addr_err *err, int code, const char *enh,
	  const char *fmt, ...)
{
	va_list ap;

	err->code = code;
	err->enh = enh;
	va_start(ap, fmt);
	vsnprintf(err->text, sizeof(err->text), fmt, ap);
	va_end(ap);
	return -1;
}

static int is_blank(int ch)
{
	return ch == ' ' || ch == '\t';
}

static int is_alnum(int ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	       (ch >= '0' && ch <= '9');
}

/* RFC 5322 atext (ASCII part). */
static int is_atext(int ch)
{
	return is_alnum(ch) || (ch != 0 && strchr("!#$%&'*+-/=?^_`{|}~", ch));
}

/* RFC 5321 qtextSMTP: printable ASCII but '"' and '\'. */
static int is_qtext(int ch)
{
	return ch >= 32 && ch <= 126 && ch != '"' && ch != '\\';
}

int smtp_addr_utf8_valid(const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, n, k;
	unsigned long cp, min;

	while (i < len) {
		/* UNSAFE: i < len; continuation bytes are checked against
		 * len before they are read. */
		unsigned char c = s[i];

		if (c < 0x80) {
			i++;
			continue;
		} else if (c >= 0xc2 && c <= 0xdf) {
			n = 1, cp = c & 0x1f, min = 0x80;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2, cp = c & 0x0f, min = 0x800;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3, cp = c & 0x07, min = 0x10000;
		} else {
			return 0;
		}
		if (len - i - 1 < n)
			return 0;
		for (k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += n + 1;
	}
	return 1;
}

static int hexval(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	return -1;
}

int smtp_addr_xtext_decode(const char *in, struct strbuf *out)
{
	const unsigned char *cp = (const unsigned char *)in;
	int hi, lo;

	strbuf_reset(out);
	for (; *cp; cp++) {
		if (*cp == '+') {
			/* UNSAFE: cp[1] is read only when cp[0] is not the
			 * terminating NUL, cp[2] only when cp[1] is a hex
			 * digit (so not NUL either). */
			if ((hi = hexval(cp[1])) < 0 || (lo = hexval(cp[2])) < 0)
				return -1;
			if (strbuf_putc(out, hi * 16 + lo) < 0)
				return -1;
			cp += 2;
		} else if (*cp >= 33 && *cp <= 126 && *cp != '=') {
			if (strbuf_putc(out, *cp) < 0)
				return -1;
		} else {
			return -1;
		}
	}
	return 0;
}

int smtp_addr_xtext_encode(const void *in, size_t len, struct strbuf *out)
{
	const unsigned char *cp = in;
	size_t i;

	for (i = 0; i < len; i++) {
		if (cp[i] >= 33 && cp[i] <= 126 && cp[i] != '+' && cp[i] != '=') {
			if (strbuf_putc(out, cp[i]) < 0)
				return -1;
		} else if (strbuf_printf(out, "+%02X", cp[i]) < 0) {
			return -1;
		}
	}
	return 0;
}

/* 1 if the local part can go out without quotes: a dot-atom (UTF-8 is
 * atext under SMTPUTF8). */
static int local_is_dot_atom(const char *local, size_t len)
{
	size_t i;

	if (len == 0 || local[0] == '.' || local[len - 1] == '.')
		return 0;
	for (i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)local[i];

		/* UNSAFE: a dot at len - 1 returned above, so i + 1 < len. */
		if (ch == '.' && local[i + 1] == '.')
			return 0;
		if (ch != '.' && ch < 0x80 && !is_atext(ch))
			return 0;
	}
	return 1;
}

static int quote_local(const char *local, size_t len, struct strbuf *out)
{
	size_t i;

	if (local_is_dot_atom(local, len))
		return strbuf_append(out, local, len);
	if (strbuf_putc(out, '"') < 0)
		return -1;
	for (i = 0; i < len; i++) {
		if ((local[i] == '"' || local[i] == '\\') &&
		    strbuf_putc(out, '\\') < 0)
			return -1;
		if (strbuf_putc(out, local[i]) < 0)
			return -1;
	}
	return strbuf_putc(out, '"');
}

int smtp_addr_externalize(const char *internal, struct strbuf *out)
{
	const char *at = strrchr(internal, '@');
	size_t llen = at ? (size_t)(at - internal) : strlen(internal);

	if (*internal == 0)
		return 0;
	if (quote_local(internal, llen, out) < 0)
		return -1;
	return at ? strbuf_puts(out, at) : 0;
}

/* A domain or address literal of len bytes; *eightbit set if it has
 * 8-bit bytes. 0 or -1. */
static int domain_check(const char *dom, size_t len, int *eightbit)
{
	char lit[64];
	const char *inner;
	size_t i, label = 0, ilen;
	int family;
	unsigned char buf[16];

	if (len == 0 || len > SMTP_ADDR_DOMAIN_MAX)
		return -1;
	if (dom[0] == '[') {
		if (len < 3 || dom[len - 1] != ']' || len - 2 >= sizeof(lit))
			return -1;
		inner = dom + 1;
		ilen = len - 2;
		family = AF_INET;
		if (ilen > 5 && strncasecmp(inner, "IPv6:", 5) == 0) {
			family = AF_INET6;
			inner += 5;
			ilen -= 5;
		}
		memcpy(lit, inner, ilen);
		lit[ilen] = 0;
		return inet_pton(family, lit, buf) == 1 ? 0 : -1;
	}
	for (i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)dom[i];

		if (ch == '.') {
			if (label == 0)
				return -1;
			label = 0;
			continue;
		}
		if (ch >= 0x80)
			*eightbit = 1;
		else if (!is_alnum(ch) && ch != '-' && ch != '_')
			return -1;
		if (++label > SMTP_ADDR_LABEL_MAX)
			return -1;
	}
	return label == 0 ? -1 : 0;
}

/* Check the path p[0..len) (not empty, no brackets) and store the local
 * part (unquoted) and domain. *has_domain says whether there was "@dom";
 * *eightbit whether there are 8-bit bytes. A source route is skipped. */
static int path_check(const char *p, size_t len, int strict,
		      struct strbuf *local, const char **domain,
		      size_t *domain_len, int *eightbit)
{
	size_t i = 0, start;
	int quoted = 0;

	/* UNSAFE (this whole function): every p[i] is read with i < len. */
	if (p[0] == '@') {
		for (;;) {
			if (i >= len || p[i] != '@')
				return -1;
			start = ++i;
			while (i < len && p[i] != ',' && p[i] != ':')
				i++;
			if (i >= len || domain_check(p + start, i - start,
						     eightbit) < 0)
				return -1;
			if (p[i++] == ':')
				break;
		}
		if (i >= len)
			return -1;
	}
	if (p[i] == '"') {
		quoted = 1;
		for (i++;; i++) {
			if (i >= len)
				return -1;
			unsigned char ch = (unsigned char)p[i];
			if (ch == '"')
				break;
			if (ch == '\\') {
				if (++i >= len)
					return -1;
				ch = (unsigned char)p[i];
				if (ch < 32 || ch == 127)
					return -1;
			} else if (!is_qtext(ch) && ch < 0x80) {
				return -1;
			}
			if (ch >= 0x80)
				*eightbit = 1;
			if (strbuf_putc(local, ch) < 0)
				return -1;
		}
		i++;
	} else {
		for (; i < len && p[i] != '@'; i++) {
			unsigned char ch = (unsigned char)p[i];

			if (ch >= 0x80)
				*eightbit = 1;
			else if (ch != '.' && !is_atext(ch))
				return -1;
			if (strbuf_putc(local, ch) < 0)
				return -1;
		}
	}
	if (strbuf_len(local) == 0)
		return -1;
	if (strict && !quoted &&
	    !local_is_dot_atom(strbuf_str(local), strbuf_len(local)))
		return -1;
	*domain = NULL;
	*domain_len = 0;
	if (i == len) {
		/* RFC 5321 lets only Postmaster go without a domain. */
		return strict && strcasecmp(strbuf_str(local), "postmaster") != 0
			   ? -1
			   : 0;
	}
	if (p[i] != '@')
		return -1;
	i++;
	if (domain_check(p + i, len - i, eightbit) < 0)
		return -1;
	*domain = p + i;
	*domain_len = len - i;
	return 0;
}

/* Find the path token at *cpp: "<...>" (a '>' inside a quoted string
 * does not end it) or, unbracketed, up to a blank outside quotes. Sets
 * the path (brackets removed) and moves *cpp past the token. */
static int path_token(const char **cpp, int bracket, const char **path,
		      size_t *len)
{
	const char *cp = *cpp, *start;
	int quote = 0;

	if (bracket)
		cp++;
	for (start = cp;; cp++) {
		if (*cp == 0) {
			if (bracket || quote)
				return -1;
			break;
		}
		if (quote && *cp == '\\') {
			if (*++cp == 0)
				return -1;
			continue;
		}
		if (*cp == '"')
			quote = !quote;
		else if (!quote && bracket && *cp == '>')
			break;
		else if (!quote && !bracket && is_blank(*cp))
			break;
	}
	*path = start;
	*len = (size_t)(cp - start);
	*cpp = bracket ? cp + 1 : cp;
	return 0;
}

/* Parameters, in bits for the duplicate check. */
enum {
	P_SIZE, P_BODY, P_SMTPUTF8, P_RET, P_ENVID, P_AUTH, P_NOTIFY,
	P_ORCPT,
};

static const struct param_def {
	const char *name;
	enum smtp_addr_cmd cmd;
} param_defs[] = {
	[P_SIZE] = {"SIZE", SMTP_ADDR_MAIL},
	[P_BODY] = {"BODY", SMTP_ADDR_MAIL},
	[P_SMTPUTF8] = {"SMTPUTF8", SMTP_ADDR_MAIL},
	[P_RET] = {"RET", SMTP_ADDR_MAIL},
	[P_ENVID] = {"ENVID", SMTP_ADDR_MAIL},
	[P_AUTH] = {"AUTH", SMTP_ADDR_MAIL},
	[P_NOTIFY] = {"NOTIFY", SMTP_ADDR_RCPT},
	[P_ORCPT] = {"ORCPT", SMTP_ADDR_RCPT},
};

/* 1 if the param is offered under opts. */
static int param_offered(int p, const struct smtp_addr_opts *opts)
{
	switch (p) {
	case P_SMTPUTF8:
		return opts->smtputf8_enable;
	case P_RET:
	case P_ENVID:
	case P_NOTIFY:
	case P_ORCPT:
		return opts->dsn_enable;
	case P_AUTH:
		return opts->auth_enable;
	default:
		return 1;
	}
}

/* Decoded xtext value: every byte in [lo, 126] and at most max bytes. */
static char *xtext_value(const char *val, int lo, size_t max)
{
	struct strbuf *buf = strbuf_new(max);
	size_t i;
	char *res = NULL;

	if (smtp_addr_xtext_decode(val, buf) == 0 && strbuf_len(buf) > 0) {
		for (i = 0; i < strbuf_len(buf); i++) {
			unsigned char ch = (unsigned char)strbuf_str(buf)[i];
			if (ch < lo || ch > 126)
				break;
		}
		if (i == strbuf_len(buf))
			res = strbuf_export(buf);
	}
	strbuf_free(&buf);
	return res;
}

static int parse_size(const char *val, uint64_t limit, uint64_t *size,
		      struct smtp_addr_err *err)
{
	uint64_t n = 0;
	const char *cp;

	if (val == NULL || *val == 0)
		return addr_fail(err, 501, ERR_SYNTAX_ENH,
				 "Bad message size syntax");
	for (cp = val; *cp; cp++)
		if (*cp < '0' || *cp > '9')
			return addr_fail(err, 501, ERR_SYNTAX_ENH,
					 "Bad message size syntax");
	for (cp = val; *cp; cp++) {
		if (__builtin_mul_overflow(n, 10, &n) ||
		    __builtin_add_overflow(n, (uint64_t)(*cp - '0'), &n))
			return addr_fail(err, 552, "5.3.4",
					 "Message size exceeds fixed limit");
	}
	if (limit > 0 && n > limit)
		return addr_fail(err, 552, "5.3.4",
				 "Message size exceeds fixed limit");
	*size = n;
	return 0;
}

static int parse_notify(const char *val, int *notify)
{
	static const struct {
		const char *name;
		int bit;
	} words[] = {{"NEVER", SMTP_NOTIFY_NEVER},
		     {"SUCCESS", SMTP_NOTIFY_SUCCESS},
		     {"FAILURE", SMTP_NOTIFY_FAILURE},
		     {"DELAY", SMTP_NOTIFY_DELAY}};
	const char *cp = val, *end;
	size_t i, n;
	int bits = 0;

	if (val == NULL || *val == 0)
		return -1;
	for (;;) {
		end = strchr(cp, ',');
		n = end ? (size_t)(end - cp) : strlen(cp);
		for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
			if (strlen(words[i].name) == n &&
			    strncasecmp(cp, words[i].name, n) == 0)
				break;
		if (i == sizeof(words) / sizeof(words[0]))
			return -1;
		bits |= words[i].bit;
		if (end == NULL)
			break;
		cp = end + 1;
	}
	if ((bits & SMTP_NOTIFY_NEVER) && bits != SMTP_NOTIFY_NEVER)
		return -1;
	*notify = bits;
	return 0;
}

static int parse_orcpt(const char *val, struct smtp_addr_args *args)
{
	const char *semi;
	size_t i, tlen;

	if (val == NULL || (semi = strchr(val, ';')) == NULL)
		return -1;
	tlen = (size_t)(semi - val);
	if (tlen == 0 || tlen > 32)
		return -1;
	for (i = 0; i < tlen; i++)
		if (!is_alnum(val[i]) && val[i] != '-')
			return -1;
	if ((args->orcpt_addr = xtext_value(semi + 1, 32,
					    SMTP_ADDR_ORCPT_MAX)) == NULL)
		return -1;
	args->orcpt_type = mystrndup(val, tlen);
	return 0;
}

/* One "KEYWORD[=value]" token (the '=' already replaced by NUL). */
static int param_one(enum smtp_addr_cmd cmd, const char *key,
		     const char *val, const struct smtp_addr_opts *opts,
		     unsigned *seen, struct smtp_addr_args *args,
		     struct smtp_addr_err *err)
{
	size_t p, np = sizeof(param_defs) / sizeof(param_defs[0]);

	for (p = 0; p < np; p++)
		if (strcasecmp(key, param_defs[p].name) == 0)
			break;
	if (p == np || param_defs[p].cmd != cmd ||
	    !param_offered((int)p, opts))
		return addr_fail(err, 555, ERR_SYNTAX_ENH,
				 "Unsupported option: %.64s", key);
	if (*seen & (1u << p))
		return addr_fail(err, 501, ERR_SYNTAX_ENH,
				 "Duplicate %s parameter", param_defs[p].name);
	*seen |= 1u << p;
	switch (p) {
	case P_SIZE:
		args->has_size = 1;
		return parse_size(val, opts->size_limit, &args->size, err);
	case P_BODY:
		if (val && strcasecmp(val, "7BIT") == 0)
			args->body = SMTP_BODY_7BIT;
		else if (val && strcasecmp(val, "8BITMIME") == 0)
			args->body = SMTP_BODY_8BITMIME;
		else if (val && strcasecmp(val, "BINARYMIME") == 0)
			args->body = SMTP_BODY_BINARYMIME;
		else
			return addr_fail(err, 501, ERR_SYNTAX_ENH,
					 "Unsupported BODY parameter value");
		return 0;
	case P_SMTPUTF8:
		if (val != NULL)
			return addr_fail(err, 501, ERR_SYNTAX_ENH,
					 "Bad SMTPUTF8 parameter syntax");
		args->smtputf8 = 1;
		return 0;
	case P_RET:
		if (val && strcasecmp(val, "FULL") == 0)
			args->ret = SMTP_RET_FULL;
		else if (val && strcasecmp(val, "HDRS") == 0)
			args->ret = SMTP_RET_HDRS;
		else
			return addr_fail(err, 501, ERR_SYNTAX_ENH,
					 "Bad RET parameter syntax");
		return 0;
	case P_ENVID:
		if (val == NULL || (args->envid = xtext_value(
					    val, 32, SMTP_ADDR_ENVID_MAX)) ==
				       NULL)
			return addr_fail(err, 501, ERR_SYNTAX_ENH,
					 "Bad ENVID parameter syntax");
		return 0;
	case P_AUTH:
		if (val && strcmp(val, "<>") == 0)
			args->auth = mystrdup("<>");
		else if (val == NULL ||
			 (args->auth = xtext_value(val, 33,
						   SMTP_ADDR_AUTH_MAX)) == NULL)
			return addr_fail(err, 501, ERR_SYNTAX_ENH,
					 "Bad AUTH parameter syntax");
		return 0;
	case P_NOTIFY:
		if (parse_notify(val, &args->notify) < 0)
			return addr_fail(err, 501, ERR_SYNTAX_ENH,
					 "Bad NOTIFY parameter syntax");
		return 0;
	case P_ORCPT:
		if (parse_orcpt(val, args) < 0)
			return addr_fail(err, 501, ERR_SYNTAX_ENH,
					 "Bad ORCPT parameter syntax");
		return 0;
	}
	return 0;
}

/* esmtp-keyword: ALPHA/DIGIT then ALPHA/DIGIT/'-'. */
static int keyword_ok(const char *key)
{
	const char *cp;

	if (!is_alnum(*key))
		return 0;
	for (cp = key; *cp; cp++)
		if (!is_alnum(*cp) && *cp != '-')
			return 0;
	return 1;
}

/* esmtp-value: printable ASCII but '=' (and SP, the separator). */
static int value_ok(const char *val)
{
	const unsigned char *cp = (const unsigned char *)val;

	if (*cp == 0)
		return 0;
	for (; *cp; cp++)
		if (*cp < 33 || *cp > 126 || *cp == '=')
			return 0;
	return 1;
}

static int params_parse(enum smtp_addr_cmd cmd, const char *cp,
			const struct smtp_addr_opts *opts,
			struct smtp_addr_args *args, struct smtp_addr_err *err)
{
	char tok[SMTP_ADDR_PATH_MAX + 1];
	unsigned seen = 0;
	const char *start;
	char *eq, *val;
	size_t len;

	for (;;) {
		while (is_blank(*cp))
			cp++;
		if (*cp == 0)
			return 0;
		for (start = cp; *cp && !is_blank(*cp); cp++)
			;
		len = (size_t)(cp - start);
		if (len >= sizeof(tok))
			return addr_fail(err, 501, ERR_SYNTAX_ENH,
					 "Bad parameter syntax");
		memcpy(tok, start, len);
		tok[len] = 0;
		val = NULL;
		if ((eq = strchr(tok, '=')) != NULL) {
			*eq = 0;
			val = eq + 1;
		}
		if (!keyword_ok(tok) || (val != NULL && !value_ok(val)))
			return addr_fail(err, 501, ERR_SYNTAX_ENH,
					 "Bad parameter syntax");
		if (param_one(cmd, tok, val, opts, &seen, args, err) < 0)
			return -1;
	}
}

void smtp_addr_args_free(struct smtp_addr_args *args)
{
	myfree(args->addr);
	myfree(args->ext);
	myfree(args->envid);
	myfree(args->auth);
	myfree(args->orcpt_type);
	myfree(args->orcpt_addr);
	memset(args, 0, sizeof(*args));
}

static int addr_syntax(enum smtp_addr_cmd cmd, struct smtp_addr_err *err)
{
	if (cmd == SMTP_ADDR_MAIL)
		return addr_fail(err, 501, "5.1.7", "Bad sender address syntax");
	return addr_fail(err, 501, "5.1.3", "Bad recipient address syntax");
}

int smtp_addr_parse(enum smtp_addr_cmd cmd, const char *arg,
		    const struct smtp_addr_opts *opts,
		    struct smtp_addr_args *args, struct smtp_addr_err *err)
{
	const char *prefix = cmd == SMTP_ADDR_MAIL ? "FROM:" : "TO:";
	const char *cp = arg, *path = NULL, *domain = NULL;
	struct strbuf *local = strbuf_new(SMTP_ADDR_PATH_MAX);
	struct strbuf *ext = strbuf_new(2 * SMTP_ADDR_PATH_MAX + 2);
	size_t plen = 0, dlen = 0;
	int eightbit = 0, rc = -1;

	memset(args, 0, sizeof(*args));
	if (strncasecmp(cp, prefix, strlen(prefix)) != 0) {
		addr_fail(err, 501, ERR_SYNTAX_ENH, "Syntax: %s",
			  cmd == SMTP_ADDR_MAIL ? "MAIL FROM:<address>"
						: "RCPT TO:<address>");
		goto out;
	}
	cp += strlen(prefix);
	if (is_blank(*cp)) {
		if (opts->strict_rfc821) {
			addr_syntax(cmd, err);
			goto out;
		}
		while (is_blank(*cp))
			cp++;
	}
	if (*cp == 0) {
		addr_fail(err, 501, ERR_SYNTAX_ENH, "Syntax: %s",
			  cmd == SMTP_ADDR_MAIL ? "MAIL FROM:<address>"
						: "RCPT TO:<address>");
		goto out;
	}
	if ((*cp != '<' && opts->strict_rfc821) ||
	    path_token(&cp, *cp == '<', &path, &plen) < 0 ||
	    (*cp != 0 && !is_blank(*cp)) || plen > SMTP_ADDR_PATH_MAX) {
		addr_syntax(cmd, err);
		goto out;
	}
	if (plen == 0) {
		if (cmd == SMTP_ADDR_RCPT) {
			addr_syntax(cmd, err);
			goto out;
		}
	} else if (path_check(path, plen, opts->strict_rfc821, local, &domain,
			      &dlen, &eightbit) < 0 ||
		   quote_local(strbuf_str(local), strbuf_len(local), ext) < 0 ||
		   (domain && (strbuf_putc(ext, '@') < 0 ||
			       strbuf_append(ext, domain, dlen) < 0))) {
		addr_syntax(cmd, err);
		goto out;
	}
	if (params_parse(cmd, cp, opts, args, err) < 0)
		goto out;
	if (eightbit) {
		int declared = cmd == SMTP_ADDR_MAIL ? args->smtputf8
						     : opts->smtputf8_declared;
		if (!opts->smtputf8_enable || !declared) {
			addr_fail(err, 553, "5.6.7",
				  "Must declare SMTPUTF8 to send unicode "
				  "address");
			goto out;
		}
		if (!smtp_addr_utf8_valid(path, plen)) {
			addr_syntax(cmd, err);
			goto out;
		}
	}
	if (domain && plen > 0) {
		if (strbuf_putc(local, '@') < 0 ||
		    strbuf_append(local, domain, dlen) < 0) {
			addr_syntax(cmd, err);
			goto out;
		}
	}
	args->addr = plen ? strbuf_export(local) : mystrdup("");
	args->ext = plen ? strbuf_export(ext) : mystrdup("");
	rc = 0;
out:
	if (rc < 0)
		smtp_addr_args_free(args);
	strbuf_free(&local);
	strbuf_free(&ext);
	return rc;
}
