/*
 * mail_conf - reading main.cf into the parameter variables; see
 * mail_conf.h for the syntax and the rules.
 *
 * State: the explicit settings (main.cf, then overrides), sorted by name,
 * one entry per name (the last assignment replaced earlier ones). Every
 * var_* is derived from them: a table parameter's value is its explicit
 * setting or its default, expanded (except PT_RAW) and parsed for its
 * type.
 *
 * Invariant: a load or override either succeeds completely or leaves the
 * settings and every var_* as they were. New values are computed into
 * scratch arrays first and committed only when all of them parse, so a
 * reload with a broken main.cf never leaves a daemon half-configured.
 *
 * Expansion is bounded three ways, because main.cf is text an admin may
 * get wrong: nesting depth (a loop such as a = $b, b = $a is an error
 * naming the parameter), the length of a result (a = $b$b, b = $c$c, ...
 * would double each level) and the number of references followed in one
 * expansion (values that expand to nothing many times over).
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <strings.h>
#include <unistd.h>

#include "mail_conf.h"
#include "match_list.h"
#include "msg.h"
#include "mymalloc.h"
#include "readlline.h"
#include "strbuf.h"

#define CONF_FILE_MAX (16 * 1024 * 1024) /* main.cf, master.cf */
#define CONF_EXPAND_DEPTH 100
#define CONF_EXPAND_MAX (1024 * 1024)
#define CONF_EXPAND_STEPS 1000000

static struct mail_conf_setting *conf_set; /* sorted by name */
static size_t conf_nset;
static char *conf_file; /* main.cf path, for messages */
static char *conf_dir;	/* what mail_conf_read was given */

/* Strings this module hands out; freed when the configuration changes. */
static char **conf_owned;    /* var_* strings, one per table row */
static char **conf_defaults; /* computed defaults, one per table row */
static char **conf_evals;    /* mail_conf_eval results, one per table row */
static char *conf_busy;	     /* computed default being worked out */
static char **conf_warned;   /* undefined names already warned about */
static size_t conf_nwarned;
static char *conf_hostname; /* gethostname(), once per process */

struct conf_expand {
	const char *param; /* what is being expanded, for messages */
	int steps;	   /* references followed so far */
	char **errp;
};

static char *conf_error(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

static char *conf_error(const char *fmt, ...)
{
	struct strbuf *sb = strbuf_new(STRBUF_NO_MAX);
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	strbuf_vprintf(sb, fmt, ap);
	va_end(ap);
	msg = strbuf_export(sb);
	strbuf_free(&sb);
	return msg;
}

static int conf_name_char(int ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	       (ch >= '0' && ch <= '9') || ch == '_';
}

/* A parameter name in main.cf: letters, digits, '_'; '-' and '.' too,
 * because Postfix allows per-transport names such as
 * "smtp-amavis_destination_recipient_limit". */
static int conf_valid_name(const char *name)
{
	if (*name == 0)
		return 0;
	for (const char *cp = name; *cp; cp++)
		if (!conf_name_char((unsigned char)*cp) && *cp != '-' &&
		    *cp != '.')
			return 0;
	return 1;
}

/* Everything derived from the settings is stale after a change. */
static void conf_forget_derived(void)
{
	if (conf_defaults == NULL) {
		conf_defaults = mycalloc(mail_param_count, sizeof(char *));
		conf_evals = mycalloc(mail_param_count, sizeof(char *));
		conf_owned = mycalloc(mail_param_count, sizeof(char *));
		conf_busy = mycalloc(mail_param_count, 1);
	}
	for (size_t i = 0; i < mail_param_count; i++) {
		myfree(conf_defaults[i]);
		myfree(conf_evals[i]);
	}
}

/* Settings lists: sorted arrays, one entry per name. */

static void settings_free(struct mail_conf_setting **listp, size_t *countp)
{
	for (size_t i = 0; i < *countp; i++) {
		myfree((*listp)[i].name);
		myfree((*listp)[i].value);
		myfree((*listp)[i].file);
	}
	myfree(*listp);
	*countp = 0;
}

static size_t settings_pos(const struct mail_conf_setting *list, size_t count,
			   const char *name, int *found)
{
	size_t lo = 0, hi = count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int cmp = strcmp(name, list[mid].name);

		if (cmp == 0) {
			*found = 1;
			return mid;
		}
		if (cmp < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	*found = 0;
	return lo;
}

static void settings_put(struct mail_conf_setting **listp, size_t *countp,
			 const char *name, const char *value, const char *file,
			 int line)
{
	int found;
	size_t pos = settings_pos(*listp, *countp, name, &found);
	struct mail_conf_setting *s;

	if (!found) {
		*listp = myreallocarray(*listp, mymalloc_add(*countp, 1),
					sizeof(**listp));
		memmove(*listp + pos + 1, *listp + pos,
			(*countp - pos) * sizeof(**listp));
		(*countp)++;
		s = *listp + pos;
		s->name = mystrdup(name);
	} else {
		s = *listp + pos;
		myfree(s->value);
		myfree(s->file);
	}
	s->value = mystrdup(value);
	s->file = file ? mystrdup(file) : NULL;
	s->line = line;
}

static const struct mail_conf_setting *settings_get(const char *name)
{
	int found;
	size_t pos = settings_pos(conf_set, conf_nset, name, &found);

	return found ? conf_set + pos : NULL;
}

const char *mail_conf_lookup_raw(const char *name)
{
	const struct mail_conf_setting *s = settings_get(name);

	return s ? s->value : NULL;
}

const struct mail_conf_setting *mail_conf_settings(size_t *countp)
{
	*countp = conf_nset;
	return conf_set;
}

const char *mail_conf_dir(const char *opt_c)
{
	const char *env;

	if (opt_c != NULL)
		return opt_c;
	if ((env = getenv("MAIL_CONFIG")) != NULL && *env != 0)
		return env;
	return DEF_CONFIG_DIR;
}

/* Expansion. */

static int conf_expand_text(struct conf_expand *ex, const char *text,
			    size_t len, int depth, struct strbuf *out);

/* The raw value that $name stands for, or NULL if name is undefined. */
static const char *conf_raw_value(const char *name,
				  const struct param_info **pp)
{
	const struct mail_conf_setting *s = settings_get(name);
	const struct param_info *p = mail_param_find(name);

	*pp = p;
	if (s != NULL)
		return s->value;
	if (p != NULL)
		return mail_conf_default(p);
	return NULL;
}

static void conf_warn_undefined(const char *name, const char *context)
{
	for (size_t i = 0; i < conf_nwarned; i++)
		if (strcmp(conf_warned[i], name) == 0)
			return;
	conf_warned = myreallocarray(conf_warned, mymalloc_add(conf_nwarned, 1),
				     sizeof(char *));
	conf_warned[conf_nwarned++] = mystrdup(name);
	msg_warn(
	    "%s%sundefined parameter $%s (in the value of %s) expands to empty",
	    conf_file ? conf_file : "", conf_file ? ": " : "", name, context);
}

/* Position just past the bracket that closes the one at text[0], or 0. */
static size_t conf_match(const char *text, size_t len)
{
	char open = text[0], close = open == '{' ? '}' : ')';
	int level = 0;

	for (size_t i = 0; i < len; i++) {
		if (text[i] == open)
			level++;
		else if (text[i] == close && --level == 0)
			return i + 1;
	}
	return 0;
}

/* Strip one layer of "{ }" around a conditional's text (Postfix 3 form),
 * with the whitespace inside and around it; other text stays as it is. */
static void conf_unbrace(const char **text, size_t *len)
{
	const char *t = *text;
	size_t n = *len;

	while (n > 0 && readlline_space((unsigned char)*t))
		t++, n--;
	while (n > 0 && readlline_space((unsigned char)t[n - 1]))
		n--;
	if (n < 2 || t[0] != '{' || conf_match(t, n) != n)
		return;
	t++;
	n -= 2;
	while (n > 0 && readlline_space((unsigned char)*t))
		t++, n--;
	while (n > 0 && readlline_space((unsigned char)t[n - 1]))
		n--;
	*text = t;
	*len = n;
}

/* Expand the reference to name (conditional text in cond, if any). */
static int conf_expand_ref(struct conf_expand *ex, const char *name, char op,
			   const char *t1, size_t l1, const char *t2, size_t l2,
			   int depth, struct strbuf *out)
{
	const struct param_info *p;
	const char *raw;

	if (++ex->steps > CONF_EXPAND_STEPS) {
		*ex->errp =
		    conf_error("parameter %s: expansion follows more than %d "
			       "references",
			       ex->param, CONF_EXPAND_STEPS);
		return -1;
	}
	if (depth >= CONF_EXPAND_DEPTH) {
		*ex->errp =
		    conf_error("parameter %s: expansion nests more than %d "
			       "levels deep at $%s (a loop?)",
			       ex->param, CONF_EXPAND_DEPTH, name);
		return -1;
	}
	raw = conf_raw_value(name, &p);
	if (raw == NULL && p != NULL) {
		*ex->errp =
		    conf_error("parameter %s: the default of %s refers back "
			       "to it; set %s in main.cf",
			       ex->param, name, name);
		return -1;
	}
	if (op == '?' || op == ':') {
		int nonempty = raw != NULL && *raw != 0;

		if (op == '?' && nonempty)
			return conf_expand_text(ex, t1, l1, depth + 1, out);
		if (op == '?' && t2 != NULL)
			return conf_expand_text(ex, t2, l2, depth + 1, out);
		if (op == ':' && !nonempty)
			return conf_expand_text(ex, t1, l1, depth + 1, out);
		return 0;
	}
	if (raw == NULL) {
		conf_warn_undefined(name, ex->param);
		return 0;
	}
	/* A raw parameter's $ belong to whoever uses the value later. */
	if (p != NULL && p->type == PT_RAW && settings_get(name) == NULL) {
		if (strbuf_puts(out, raw) < 0)
			goto too_long;
		return 0;
	}
	return conf_expand_text(ex, raw, strlen(raw), depth + 1, out);

too_long:
	*ex->errp =
	    conf_error("parameter %s: value is longer than %d bytes after "
		       "expansion",
		       ex->param, CONF_EXPAND_MAX);
	return -1;
}

/* Expand a ${...} or $(...) body: "name", "name?text", "name:text",
 * "name?{text}:{text}". */
static int conf_expand_braced(struct conf_expand *ex, const char *body,
			      size_t len, int depth, struct strbuf *out)
{
	char name[256];
	size_t n = 0;
	const char *t1, *t2 = NULL;
	size_t l1, l2 = 0;
	char op;

	while (n < len && conf_name_char((unsigned char)body[n]))
		n++;
	if (n == 0 || n >= sizeof(name)) {
		*ex->errp =
		    conf_error("parameter %s: bad parameter name in "
			       "\"${%.*s}\"",
			       ex->param, (int)(len > 40 ? 40 : len), body);
		return -1;
	}
	memcpy(name, body, n);
	name[n] = 0;
	if (n == len)
		return conf_expand_ref(ex, name, 0, NULL, 0, NULL, 0, depth,
				       out);
	op = body[n];
	if (op != '?' && op != ':') {
		*ex->errp =
		    conf_error("parameter %s: expected '}', '?' or ':' after "
			       "\"${%s\"",
			       ex->param, name);
		return -1;
	}
	t1 = body + n + 1;
	l1 = len - n - 1;
	if (op == '?') {
		/* "{text1}:{text2}": split at the ':' after the first group. */
		size_t i = 0, end;

		while (i < l1 && readlline_space((unsigned char)t1[i]))
			i++;
		if (i < l1 && t1[i] == '{' &&
		    (end = conf_match(t1 + i, l1 - i)) != 0) {
			size_t j = i + end;

			while (j < l1 && readlline_space((unsigned char)t1[j]))
				j++;
			if (j < l1 && t1[j] == ':') {
				t2 = t1 + j + 1;
				l2 = l1 - j - 1;
				l1 = i + end;
				conf_unbrace(&t2, &l2);
			}
		}
	}
	conf_unbrace(&t1, &l1);
	return conf_expand_ref(ex, name, op, t1, l1, t2, l2, depth, out);
}

static int conf_expand_text(struct conf_expand *ex, const char *text,
			    size_t len, int depth, struct strbuf *out)
{
	size_t i = 0;

	while (i < len) {
		/* UNSAFE: i < len bounds every text[i]; lengths handed down
		 * come from conf_match, which stays inside [i, len). */
		const char *dollar = memchr(text + i, '$', len - i);
		size_t plain = dollar ? (size_t)(dollar - (text + i)) : len - i;

		if (strbuf_append(out, text + i, plain) < 0)
			goto too_long;
		i += plain;
		if (i >= len)
			break;
		i++; /* the '$' */
		if (i < len && text[i] == '$') {
			if (strbuf_putc(out, '$') < 0)
				goto too_long;
			i++;
		} else if (i < len && (text[i] == '{' || text[i] == '(')) {
			size_t end = conf_match(text + i, len - i);

			if (end == 0) {
				*ex->errp = conf_error(
				    "parameter %s: missing '%c' in "
				    "\"$%.*s\"",
				    ex->param, text[i] == '{' ? '}' : ')',
				    (int)(len - i > 40 ? 40 : len - i),
				    text + i);
				return -1;
			}
			if (conf_expand_braced(ex, text + i + 1, end - 2, depth,
					       out) < 0)
				return -1;
			i += end;
		} else if (i < len && conf_name_char((unsigned char)text[i])) {
			char name[256];
			size_t n = 0;

			while (i + n < len &&
			       conf_name_char((unsigned char)text[i + n]))
				n++;
			if (n >= sizeof(name)) {
				*ex->errp =
				    conf_error("parameter %s: parameter name "
					       "after $ is too long",
					       ex->param);
				return -1;
			}
			memcpy(name, text + i, n);
			name[n] = 0;
			i += n;
			if (conf_expand_ref(ex, name, 0, NULL, 0, NULL, 0,
					    depth, out) < 0)
				return -1;
		} else if (strbuf_putc(out, '$') < 0) {
			/* A '$' before anything else is itself. */
			goto too_long;
		}
	}
	return 0;

too_long:
	*ex->errp =
	    conf_error("parameter %s: value is longer than %d bytes after "
		       "expansion",
		       ex->param, CONF_EXPAND_MAX);
	return -1;
}

static char *conf_expand_param(const char *param, const char *text, char **errp)
{
	struct strbuf *out = strbuf_new(CONF_EXPAND_MAX);
	struct conf_expand ex = {param, 0, errp};
	char *result = NULL;

	if (conf_expand_text(&ex, text, strlen(text), 0, out) == 0)
		result = strbuf_export(out);
	strbuf_free(&out);
	return result;
}

char *mail_conf_expand(const char *text, char **errp)
{
	return conf_expand_param("(text)", text, errp);
}

/* Defaults. */

static const char *conf_gethostname(void)
{
	char host[256];

	if (conf_hostname == NULL) {
		if (gethostname(host, sizeof(host) - 1) < 0 || *host == 0)
			snprintf(host, sizeof(host), "localhost");
		host[sizeof(host) - 1] = 0;
		conf_hostname = mystrdup(host);
	}
	return conf_hostname;
}

const char *mail_conf_default(const struct param_info *param)
{
	size_t idx = (size_t)(param - mail_param_table);
	struct strbuf *sb;
	char *err = NULL;

	if (strcmp(param->name, "config_directory") == 0 && conf_dir != NULL)
		return conf_dir;
	if (param->def != PARAM_COMPUTED)
		return param->def;
	if (conf_defaults == NULL)
		conf_forget_derived();
	if (conf_defaults[idx] != NULL)
		return conf_defaults[idx];
	/* A default that needs itself (myhostname = mail.$mydomain with
	 * mydomain unset) is a loop: NULL, and the caller says so. */
	if (conf_busy[idx])
		return NULL;
	conf_busy[idx] = 1;
	sb = strbuf_new(STRBUF_NO_MAX);
	if (strcmp(param->name, "myhostname") == 0) {
		const char *host = conf_gethostname();

		/* Like Postfix: a bare host name gets the local domain. */
		strbuf_puts(sb, host);
		if (strchr(host, '.') == NULL)
			strbuf_puts(sb, mail_conf_lookup_raw("mydomain")
					    ? ".$mydomain"
					    : ".localdomain");
	} else if (strcmp(param->name, "mydomain") == 0) {
		char *host = conf_expand_param("mydomain", "$myhostname", &err);
		const char *dot = host ? strchr(host, '.') : NULL;

		/* "example.com" alone would make "com" the local domain. */
		if (dot != NULL && strchr(dot + 1, '.') != NULL)
			strbuf_puts(sb, dot + 1);
		else if (host != NULL)
			strbuf_puts(sb, "localdomain");
		int failed = host == NULL;

		myfree(host);
		myfree(err);
		if (failed) {
			conf_busy[idx] = 0;
			strbuf_free(&sb);
			return NULL;
		}
	} else if (strcmp(param->name, "mynetworks") == 0) {
		char *style = conf_expand_param("mynetworks",
						"$mynetworks_style", &err);
		char *nets = style ? match_list_mynetworks(style, &err) : NULL;

		/* Never fall back to something wider than this host. */
		if (nets == NULL) {
			msg_warn("%s; mynetworks is 127.0.0.0/8 [::1]/128",
				 err ? err : "mynetworks_style");
			nets = mystrdup("127.0.0.0/8 [::1]/128");
		}
		strbuf_puts(sb, nets);
		myfree(nets);
		myfree(style);
		myfree(err);
	} else {
		msg_panic("mail_conf_default: no rule to compute %s",
			  param->name);
	}
	conf_busy[idx] = 0;
	conf_defaults[idx] = strbuf_export(sb);
	strbuf_free(&sb);
	return conf_defaults[idx];
}

/* Typed values. */

int conf_parse_bool(const char *value, int *out)
{
	if (strcasecmp(value, "yes") == 0)
		*out = 1;
	else if (strcasecmp(value, "no") == 0)
		*out = 0;
	else
		return -1;
	return 0;
}

/* Decimal digits with an optional '-': no spaces, '+' or 0x. */
static int conf_parse_number(const char *value, long *out, const char **endp)
{
	const char *cp = value;
	long result = 0;
	int neg = 0;

	if (*cp == '-') {
		neg = 1;
		cp++;
	}
	if (*cp < '0' || *cp > '9')
		return -1;
	for (; *cp >= '0' && *cp <= '9'; cp++) {
		if (__builtin_mul_overflow(result, 10, &result) ||
		    (neg ? __builtin_sub_overflow(result, *cp - '0', &result)
			 : __builtin_add_overflow(result, *cp - '0', &result)))
			return -1;
	}
	*out = result;
	*endp = cp;
	return 0;
}

int conf_parse_int(const char *value, long min, long max, long *out)
{
	const char *end;
	long n;

	if (conf_parse_number(value, &n, &end) < 0 || *end != 0 || n < min ||
	    n > max)
		return -1;
	*out = n;
	return 0;
}

int conf_parse_time(const char *value, int def_unit, long *out)
{
	const char *end;
	long n, mult;
	int unit;

	if (conf_parse_number(value, &n, &end) < 0 || n < 0)
		return -1;
	unit = *end ? *end : def_unit;
	if (*end && end[1] != 0)
		return -1;
	switch (unit) {
	case 's':
		mult = 1;
		break;
	case 'm':
		mult = 60;
		break;
	case 'h':
		mult = 3600;
		break;
	case 'd':
		mult = 86400;
		break;
	case 'w':
		mult = 604800;
		break;
	default:
		return -1;
	}
	if (__builtin_mul_overflow(n, mult, &n))
		return -1;
	*out = n;
	return 0;
}

/* Lists. */

char **conf_list_split(const char *value)
{
	char **list = NULL;
	size_t count = 0;
	const char *cp = value;

	for (;;) {
		const char *start;
		int level = 0;

		while (*cp &&
		       (readlline_space((unsigned char)*cp) || *cp == ','))
			cp++;
		if (*cp == 0)
			break;
		start = cp;
		for (; *cp; cp++) {
			if (*cp == '{')
				level++;
			else if (*cp == '}' && level > 0)
				level--;
			else if (level == 0 &&
				 (readlline_space((unsigned char)*cp) ||
				  *cp == ','))
				break;
		}
		list = myreallocarray(list, mymalloc_add(count, 2),
				      sizeof(char *));
		list[count++] = mystrndup(start, (size_t)(cp - start));
	}
	list = myreallocarray(list, mymalloc_add(count, 1), sizeof(char *));
	list[count] = NULL;
	return list;
}

void conf_list_free(char ***listp)
{
	if (*listp == NULL)
		return;
	for (char **cp = *listp; *cp; cp++)
		myfree(*cp);
	myfree(*listp);
}

/* Evaluating the table into var_*. */

union conf_value {
	char *str;
	long num;
};

/* Where a parameter's value came from, for error messages. */
static void conf_where(struct strbuf *sb, const struct mail_conf_setting *s)
{
	if (s != NULL && s->file != NULL)
		strbuf_printf(sb, "%s, line %d: ", s->file, s->line);
	else if (s != NULL)
		strbuf_puts(sb, "override: ");
	else if (conf_file != NULL)
		strbuf_printf(sb, "%s: ", conf_file);
}

static int conf_eval_param(const struct param_info *p, union conf_value *v,
			   char **errp)
{
	const struct mail_conf_setting *s = settings_get(p->name);
	const char *raw = s ? s->value : mail_conf_default(p);
	struct strbuf *why;
	char *val, *err = NULL;
	const char *what = NULL;
	long n = 0, lo = 0, hi = 0;
	int b;

	if (raw == NULL) {
		val = NULL;
		err = conf_error(
		    "parameter %s: its computed default refers back to "
		    "it; set %s in main.cf",
		    p->name, p->name);
	} else if (p->type == PT_RAW) {
		val = mystrdup(raw);
	} else {
		val = conf_expand_param(p->name, raw, &err);
	}
	if (val == NULL) {
		why = strbuf_new(STRBUF_NO_MAX);
		conf_where(why, s);
		strbuf_puts(why, err);
		myfree(err);
		*errp = strbuf_export(why);
		strbuf_free(&why);
		return -1;
	}
	switch (p->type) {
	case PT_STR:
	case PT_RAW:
		v->str = val;
		return 0;
	case PT_INT:
		what = "integer", hi = INT_MAX;
		if (conf_parse_int(val, 0, INT_MAX, &n) < 0)
			goto bad;
		break;
	case PT_LONG:
		what = "integer", hi = LONG_MAX;
		if (conf_parse_int(val, 0, LONG_MAX, &n) < 0)
			goto bad;
		break;
	case PT_BOOL:
		what = "boolean (yes or no)";
		if (conf_parse_bool(val, &b) < 0)
			goto bad;
		n = b;
		break;
	case PT_TIME:
		what = "time", hi = INT_MAX;
		if (conf_parse_time(val, 's', &n) < 0 || n > INT_MAX)
			goto bad;
		break;
	}
	myfree(val);
	v->num = n;
	return 0;

bad:
	why = strbuf_new(STRBUF_NO_MAX);
	conf_where(why, s);
	strbuf_printf(why, "bad %s value for parameter %s: %s", what, p->name,
		      val);
	/* A number that parses but is out of range: say the range. */
	if (p->type == PT_TIME && conf_parse_time(val, 's', &n) == 0)
		strbuf_printf(why, " (at most %ld seconds)", hi);
	else if ((p->type == PT_INT || p->type == PT_LONG) &&
		 conf_parse_int(val, LONG_MIN, LONG_MAX, &n) == 0)
		strbuf_printf(why, " (must be between %ld and %ld)", lo, hi);
	*errp = strbuf_export(why);
	strbuf_free(&why);
	myfree(val);
	return -1;
}

/* Compute every variable; commit only if all of them are good. */
static int conf_apply(char **errp)
{
	union conf_value *vals = mycalloc(mail_param_count, sizeof(*vals));
	size_t i;

	conf_forget_derived();
	for (i = 0; i < mail_param_count; i++) {
		if (conf_eval_param(mail_param_table + i, vals + i, errp) < 0) {
			while (i-- > 0) {
				if (mail_param_table[i].type == PT_STR ||
				    mail_param_table[i].type == PT_RAW)
					myfree(vals[i].str);
			}
			myfree(vals);
			return -1;
		}
	}
	for (i = 0; i < mail_param_count; i++) {
		const struct param_info *p = mail_param_table + i;

		switch (p->type) {
		case PT_STR:
		case PT_RAW:
			myfree(conf_owned[i]);
			conf_owned[i] = vals[i].str;
			*(char **)p->var = vals[i].str;
			break;
		case PT_LONG:
			*(long *)p->var = vals[i].num;
			break;
		case PT_INT:
		case PT_BOOL:
		case PT_TIME:
			*(int *)p->var = (int)vals[i].num;
			break;
		}
	}
	myfree(vals);
	return 0;
}

/* Reading main.cf. */

/* Collect the names that text refers to with $name, ${name...}, $(name...). */
static void conf_collect_refs(const char *text, struct mail_conf_setting **refs,
			      size_t *nrefs)
{
	for (const char *cp = text; (cp = strchr(cp, '$')) != NULL;) {
		const char *name;
		size_t n = 0;

		cp++;
		if (*cp == '$') {
			cp++;
			continue;
		}
		if (*cp == '{' || *cp == '(')
			cp++;
		name = cp;
		while (conf_name_char((unsigned char)name[n]))
			n++;
		if (n > 0 && n < 256) {
			char buf[256];

			memcpy(buf, name, n);
			buf[n] = 0;
			settings_put(refs, nrefs, buf, "", NULL, 0);
		}
		cp = name + n;
	}
}

static int conf_line_cmp(const void *a, const void *b)
{
	const struct mail_conf_setting *sa =
	    *(const struct mail_conf_setting *const *)a;
	const struct mail_conf_setting *sb =
	    *(const struct mail_conf_setting *const *)b;

	return (sa->line > sb->line) - (sa->line < sb->line);
}

/* Parameters that any master.cf transport name may prefix, as Postfix
 * allows ("relay_destination_concurrency_limit"): qmgr looks them up by
 * name, so they are not unknown. */
static const char *const conf_transport_suffixes[] = {
    "_destination_concurrency_failed_cohort_limit",
    "_destination_concurrency_limit",
    "_destination_rate_delay",
    "_destination_recipient_limit",
    "_initial_destination_concurrency",
    "_time_limit", /* pipe(8): a command's time limit per service */
};

static int conf_is_transport_param(const char *name)
{
	size_t len = strlen(name);

	for (size_t i = 0; i < sizeof(conf_transport_suffixes) /
				    sizeof(conf_transport_suffixes[0]);
	     i++) {
		size_t slen = strlen(conf_transport_suffixes[i]);

		if (len > slen &&
		    strcmp(name + len - slen, conf_transport_suffixes[i]) == 0)
			return 1;
	}
	return 0;
}

/* Warn about every setting that has no effect. A name that some value in
 * main.cf or master.cf refers to is a user-defined parameter (Postfix
 * admins write "-o smtpd_client_restrictions=$mua_client_restrictions"):
 * no warning for it. */
static void conf_warn_unused(const char *dir)
{
	struct mail_conf_setting *refs = NULL;
	size_t nrefs = 0;
	struct strbuf *path = strbuf_new(STRBUF_NO_MAX);
	char *text;
	size_t len;
	int found;

	for (size_t i = 0; i < conf_nset; i++)
		conf_collect_refs(conf_set[i].value, &refs, &nrefs);
	strbuf_printf(path, "%s/master.cf", dir);
	if (readlline_load_file(strbuf_str(path), CONF_FILE_MAX, &text, &len) ==
	    0) {
		conf_collect_refs(text, &refs, &nrefs);
		myfree(text);
	}
	strbuf_free(&path);
	/* In file order, as the admin reads the file. */
	const struct mail_conf_setting **order =
	    mycalloc(conf_nset + 1, sizeof(*order));

	for (size_t i = 0; i < conf_nset; i++)
		order[i] = conf_set + i;
	qsort(order, conf_nset, sizeof(*order), conf_line_cmp);
	for (size_t i = 0; i < conf_nset; i++) {
		const struct mail_conf_setting *s = order[i];

		if (mail_param_find(s->name) != NULL ||
		    conf_is_transport_param(s->name))
			continue;
		if (mail_param_is_reserved(s->name))
			msg_warn(
			    "%s, line %d: parameter %s is not supported by "
			    "postern yet; ignored",
			    s->file, s->line, s->name);
		else if (settings_pos(refs, nrefs, s->name, &found), !found)
			msg_warn("%s, line %d: unknown parameter %s; ignored",
				 s->file, s->line, s->name);
	}
	myfree(order);
	settings_free(&refs, &nrefs);
}

/* Settings that cannot be changed: warn, and do not keep them. */
static int conf_ignored(const char *name, const char *value, const char *dir,
			const char *where)
{
	const struct param_info *p = mail_param_find(name);

	if (p != NULL && mail_param_readonly(p)) {
		msg_warn("%s: parameter %s is read-only; ignored", where, name);
		return 1;
	}
	if (p != NULL && strcmp(name, "config_directory") == 0) {
		if (dir == NULL || strcmp(value, dir) != 0)
			msg_warn("%s: parameter config_directory is chosen "
				 "with -c or "
				 "MAIL_CONFIG, not in main.cf; ignored",
				 where);
		return 1;
	}
	return 0;
}

int mail_conf_parse(const char *config_dir, char **errp)
{
	struct strbuf *path = strbuf_new(STRBUF_NO_MAX);
	struct strbuf *line = strbuf_new(MAIL_CONF_LINE_MAX);
	struct mail_conf_setting *list = NULL;
	size_t count = 0;
	struct readlline rl;
	char *text = NULL, *err = NULL;
	size_t len = 0;
	int first, rc;

	strbuf_printf(path, "%s/main.cf", config_dir);
	if (readlline_load_file(strbuf_str(path), CONF_FILE_MAX, &text, &len) <
	    0) {
		if (errno != ENOENT) {
			*errp = conf_error("open %s: %s", strbuf_str(path),
					   errno == EFBIG
					       ? "file is larger than 16 MiB"
					       : strerror(errno));
			goto fail;
		}
		text = mystrdup("");
	}
	readlline_init(&rl, text, len);
	while ((rc = readlline_next(&rl, line, &first, &err)) > 0) {
		char *lp = line->data, *eq = strchr(lp, '='), *name, *value,
		     *end;

		if (eq == NULL) {
			*errp = conf_error(
			    "%s, line %d: missing '=' after parameter "
			    "name: \"%.40s%s\"",
			    strbuf_str(path), first, lp,
			    strlen(lp) > 40 ? "..." : "");
			goto fail;
		}
		/* UNSAFE: eq points into lp; both trims stop at a bound. */
		*eq = 0;
		name = lp;
		end = eq;
		while (end > name && readlline_space((unsigned char)end[-1]))
			*--end = 0;
		value = eq + 1;
		while (readlline_space((unsigned char)*value))
			value++;
		if (!conf_valid_name(name)) {
			*errp = conf_error(
			    "%s, line %d: bad parameter name: \"%.40s\"",
			    strbuf_str(path), first, name);
			goto fail;
		}
		struct strbuf *where = strbuf_new(STRBUF_NO_MAX);

		strbuf_printf(where, "%s, line %d", strbuf_str(path), first);
		if (!conf_ignored(name, value, config_dir, strbuf_str(where)))
			settings_put(&list, &count, name, value,
				     strbuf_str(path), first);
		strbuf_free(&where);
	}
	if (rc < 0) {
		*errp = conf_error("%s, %s", strbuf_str(path), err);
		myfree(err);
		goto fail;
	}
	settings_free(&conf_set, &conf_nset);
	conf_set = list;
	conf_nset = count;
	myfree(conf_file);
	conf_file = strbuf_export(path);
	if (conf_dir == NULL || strcmp(conf_dir, config_dir) != 0) {
		myfree(conf_dir);
		conf_dir = mystrdup(config_dir);
	}
	conf_forget_derived();
	conf_warn_unused(config_dir);
	myfree(text);
	strbuf_free(&path);
	strbuf_free(&line);
	return 0;

fail:
	settings_free(&list, &count);
	myfree(text);
	strbuf_free(&path);
	strbuf_free(&line);
	return -1;
}

void mail_conf_reset(void)
{
	settings_free(&conf_set, &conf_nset);
	myfree(conf_file);
	myfree(conf_dir);
	conf_forget_derived();
	for (size_t i = 0; i < conf_nwarned; i++)
		myfree(conf_warned[i]);
	myfree(conf_warned);
	conf_nwarned = 0;
}

int mail_conf_load(const char *config_dir, char **errp)
{
	struct mail_conf_setting *old_set = conf_set;
	size_t old_nset = conf_nset;
	char *old_file = conf_file, *old_dir = conf_dir;

	/* Parse into fresh state, keeping the old one to put back. */
	conf_set = NULL;
	conf_nset = 0;
	conf_file = NULL;
	conf_dir = mystrdup(config_dir);
	for (size_t i = 0; i < conf_nwarned; i++)
		myfree(conf_warned[i]);
	myfree(conf_warned);
	conf_nwarned = 0;
	if (mail_conf_parse(config_dir, errp) == 0 && conf_apply(errp) == 0) {
		settings_free(&old_set, &old_nset);
		myfree(old_file);
		myfree(old_dir);
		return 0;
	}
	settings_free(&conf_set, &conf_nset);
	myfree(conf_file);
	myfree(conf_dir);
	conf_set = old_set;
	conf_nset = old_nset;
	conf_file = old_file;
	conf_dir = old_dir;
	conf_forget_derived();
	return -1;
}

void mail_conf_read(const char *config_dir)
{
	char *err = NULL;

	if (mail_conf_load(config_dir, &err) < 0)
		msg_fatal("%s", err);
}

int mail_conf_set(const char *assignment, char **errp)
{
	const char *eq = strchr(assignment, '=');
	char *name, *value, *old_value = NULL, *old_file = NULL;
	const struct mail_conf_setting *s;
	int old_line = 0, had, rc = 0;
	size_t n;

	if (eq == NULL) {
		*errp = conf_error(
		    "bad parameter override \"%s\": expected name=value",
		    assignment);
		return -1;
	}
	n = (size_t)(eq - assignment);
	while (n > 0 && readlline_space((unsigned char)assignment[n - 1]))
		n--;
	name = mystrndup(assignment, n);
	for (eq++; readlline_space((unsigned char)*eq); eq++)
		;
	value = mystrdup(eq);
	n = strlen(value);
	while (n > 0 && readlline_space((unsigned char)value[n - 1]))
		value[--n] = 0;
	if (!conf_valid_name(name)) {
		*errp = conf_error("bad parameter name in override \"%s\"",
				   assignment);
		rc = -1;
		goto done;
	}
	if (conf_ignored(name, value, conf_dir, "override"))
		goto done;
	if (mail_param_find(name) == NULL)
		msg_warn("override %s=%s: %s parameter %s; ignored", name,
			 value,
			 mail_param_is_reserved(name) ? "not yet supported"
						      : "unknown",
			 name);
	if ((had = (s = settings_get(name)) != NULL) != 0) {
		old_value = mystrdup(s->value);
		old_file = s->file ? mystrdup(s->file) : NULL;
		old_line = s->line;
	}
	settings_put(&conf_set, &conf_nset, name, value, NULL, 0);
	if (conf_apply(errp) < 0) {
		int found;
		size_t pos = settings_pos(conf_set, conf_nset, name, &found);

		if (had) {
			settings_put(&conf_set, &conf_nset, name, old_value,
				     old_file, old_line);
		} else {
			myfree(conf_set[pos].name);
			myfree(conf_set[pos].value);
			myfree(conf_set[pos].file);
			memmove(conf_set + pos, conf_set + pos + 1,
				(conf_nset - pos - 1) * sizeof(*conf_set));
			conf_nset--;
		}
		conf_forget_derived();
		rc = -1;
	}
done:
	myfree(old_value);
	myfree(old_file);
	myfree(name);
	myfree(value);
	return rc;
}

void mail_conf_override(const char *assignment)
{
	char *err = NULL;

	if (mail_conf_set(assignment, &err) < 0)
		msg_fatal("%s", err);
}

const char *mail_conf_eval(const char *name)
{
	const struct param_info *p = mail_param_find(name);
	const struct mail_conf_setting *s = settings_get(name);
	char *err = NULL, *val;
	size_t idx;

	if (p == NULL) {
		/* A user-defined name: not cached (rare; callers are tools). */
		static char *last;

		if (s == NULL)
			return NULL;
		myfree(last);
		if ((last = conf_expand_param(name, s->value, &err)) == NULL) {
			msg_warn("%s", err);
			myfree(err);
		}
		return last;
	}
	if (conf_evals == NULL)
		conf_forget_derived();
	idx = (size_t)(p - mail_param_table);
	if (conf_evals[idx] != NULL)
		return conf_evals[idx];
	if (s == NULL && mail_conf_default(p) == NULL)
		return NULL;
	val = p->type == PT_RAW
		  ? mystrdup(s ? s->value : mail_conf_default(p))
		  : conf_expand_param(name, s ? s->value : mail_conf_default(p),
				      &err);
	if (val == NULL) {
		msg_warn("%s", err);
		myfree(err);
		return NULL;
	}
	conf_evals[idx] = val;
	return val;
}

/* The configuration directory this caller may use: the default, or one
 * that the default main.cf trusts, or any for root and the unprivileged. */
void mail_conf_read_trusted(const char *dir)
{
	int privileged = getegid() != getgid() || geteuid() != getuid();
	char **list, *err = NULL;
	int ok = 0;

	if (strcmp(dir, DEF_CONFIG_DIR) != 0 && privileged &&
	    getuid() != 0) {
		if (mail_conf_load(DEF_CONFIG_DIR, &err) < 0)
			msg_fatal_status(EX_NOPERM,
					 "uid %ld may not use configuration "
					 "directory %s: %s",
					 (long)getuid(), dir, err);
		list = conf_list_split(var_alternate_config_directories);
		for (char **cp = list; *cp != NULL && !ok; cp++)
			ok = strcmp(*cp, dir) == 0;
		conf_list_free(&list);
		if (!ok)
			msg_fatal_status(EX_NOPERM,
					 "uid %ld may not use configuration "
					 "directory %s: it is not listed in "
					 "alternate_config_directories of %s/"
					 "main.cf",
					 (long)getuid(), dir,
					 DEF_CONFIG_DIR);
		mail_conf_reset();
	}
	if (mail_conf_load(dir, &err) < 0)
		msg_fatal_status(EX_CONFIG, "%s", err);
}
