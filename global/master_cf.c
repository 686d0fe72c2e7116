/*
 * master_cf - reading master.cf; see master_cf.h for the format.
 *
 * master acts on the result with root privileges (it creates sockets,
 * chooses who a program runs as and execs it), so every column is checked
 * here and nothing that fails a check reaches it: the parse builds a new
 * list and hands it over only when the whole file is good. A service name
 * that names a socket must not contain '/' (it would leave private/ or
 * public/), and the command must not either (it would leave
 * daemon_directory).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <string.h>

#include "mail_conf.h"
#include "master_cf.h"
#include "mymalloc.h"
#include "readlline.h"
#include "strbuf.h"

#define MASTER_CF_FILE_MAX (16 * 1024 * 1024)

static const struct {
	const char *name;
	enum master_type type;
} master_types[] = {
	{"inet", MASTER_INET}, {"unix", MASTER_UNIX}, {"fifo", MASTER_FIFO},
	{"pass", MASTER_PASS}, {"unix-dgram", MASTER_UNIX_DGRAM},
};

const char *master_type_name(enum master_type type)
{
	for (size_t i = 0; i < sizeof(master_types) / sizeof(master_types[0]); i++)
		if (master_types[i].type == type)
			return master_types[i].name;
	return "unknown";
}

/* One word of an entry; braced words had their "{ }" removed. */
struct master_tok {
	char *text;
	int braced;
};

struct master_parse {
	const char *name;	/* file name for messages */
	int line;
	char **errp;
};

static int master_error(struct master_parse *mp, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int master_error(struct master_parse *mp, const char *fmt, ...)
{
	struct strbuf *sb = strbuf_new(STRBUF_NO_MAX);
	va_list ap;

	strbuf_printf(sb, "%s, line %d: ", mp->name, mp->line);
	va_start(ap, fmt);
	strbuf_vprintf(sb, fmt, ap);
	va_end(ap);
	*mp->errp = strbuf_export(sb);
	strbuf_free(&sb);
	return -1;
}

static void master_toks_free(struct master_tok *toks, size_t n)
{
	for (size_t i = 0; i < n; i++)
		myfree(toks[i].text);
	myfree(toks);
}

/* Split a logical line into words; "{ ... }" is one word (nesting
 * counted), its inside trimmed. */
static int master_split(struct master_parse *mp, const char *line,
			struct master_tok **toksp, size_t *np)
{
	struct master_tok *toks = NULL;
	size_t n = 0;
	const char *cp = line;

	for (;;) {
		const char *start, *end;
		int braced = 0;

		while (readlline_space((unsigned char) *cp))
			cp++;
		if (*cp == 0)
			break;
		if (*cp == '{') {
			int level = 0;

			braced = 1;
			for (end = cp; *end; end++) {
				if (*end == '{')
					level++;
				else if (*end == '}' && --level == 0)
					break;
			}
			if (*end != '}') {
				master_toks_free(toks, n);
				return master_error(mp, "missing '}' after \"%.30s\"", cp);
			}
			if (end[1] != 0 && !readlline_space((unsigned char) end[1])) {
				master_toks_free(toks, n);
				return master_error(mp, "text after '}': \"%.30s\"", end + 1);
			}
			start = cp + 1;
			cp = end + 1;
			while (start < end && readlline_space((unsigned char) *start))
				start++;
			while (end > start && readlline_space((unsigned char) end[-1]))
				end--;
		} else {
			start = cp;
			while (*cp && !readlline_space((unsigned char) *cp))
				cp++;
			end = cp;
		}
		toks = myreallocarray(toks, mymalloc_add(n, 1), sizeof(*toks));
		toks[n].text = mystrndup(start, (size_t) (end - start));
		toks[n].braced = braced;
		n++;
	}
	*toksp = toks;
	*np = n;
	return 0;
}

static int master_yn(struct master_parse *mp, const char *column,
		     const char *text, int def, int *out)
{
	if (strcmp(text, "-") == 0)
		*out = def;
	else if (strcmp(text, "y") == 0)
		*out = 1;
	else if (strcmp(text, "n") == 0)
		*out = 0;
	else
		return master_error(mp, "bad %s column \"%.30s\": expected y, n or -",
				    column, text);
	return 0;
}

/* Port of an inet service: a number 1..65535 or a service name. */
static int master_valid_port(const char *port)
{
	long n;

	if (*port >= '0' && *port <= '9')
		return conf_parse_int(port, 1, 65535, &n) == 0;
	if (!((*port >= 'a' && *port <= 'z') || (*port >= 'A' && *port <= 'Z')))
		return 0;
	return strspn(port, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		      "0123456789-_") == strlen(port);
}

static int master_check_service(struct master_parse *mp, const char *service,
				enum master_type type)
{
	const char *colon;

	if (strlen(service) > MASTER_CF_SERVICE_MAX)
		return master_error(mp, "service name is longer than %d bytes",
				    MASTER_CF_SERVICE_MAX);
	if (type != MASTER_INET) {
		if (strchr(service, '/') != NULL || strcmp(service, ".") == 0
		    || strcmp(service, "..") == 0)
			return master_error(mp, "bad %s service name \"%s\": a socket "
					    "name must not contain '/'",
					    master_type_name(type), service);
		return 0;
	}
	if (service[0] == '[') {
		const char *close = strchr(service, ']');
		char addr[INET6_ADDRSTRLEN + 1];
		unsigned char bin[16];
		size_t alen;

		if (close == NULL || close[1] != ':')
			return master_error(mp, "bad inet service \"%s\": expected "
					    "[address]:port", service);
		alen = (size_t) (close - service - 1);
		if (alen >= sizeof(addr))
			return master_error(mp, "bad IPv6 address in \"%s\"", service);
		memcpy(addr, service + 1, alen);
		addr[alen] = 0;
		if (inet_pton(AF_INET6, addr, bin) != 1)
			return master_error(mp, "bad IPv6 address in \"%s\"", service);
		colon = close + 1;
	} else if ((colon = strrchr(service, ':')) != NULL) {
		if (colon == service || memchr(service, ':', (size_t) (colon - service)))
			return master_error(mp, "bad inet service \"%s\": expected port, "
					    "host:port or [ipv6]:port", service);
	}
	if (!master_valid_port(colon ? colon + 1 : service))
		return master_error(mp, "bad port in inet service \"%s\"", service);
	return 0;
}

/* Append one argument to the normalised text, braced if it must be. */
static void master_text_arg(struct strbuf *text, const char *arg)
{
	if (*arg == 0 || *arg == '{' || strpbrk(arg, " \t") != NULL)
		strbuf_printf(text, " { %s }", arg);
	else
		strbuf_printf(text, " %s", arg);
}

/* "name=value" or "name = value" into "name=value"; NULL if malformed. */
static char *master_override(const char *text)
{
	const char *eq = strchr(text, '='), *v;
	size_t n;

	if (eq == NULL)
		return NULL;
	n = (size_t) (eq - text);
	while (n > 0 && readlline_space((unsigned char) text[n - 1]))
		n--;
	if (n == 0)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (readlline_space((unsigned char) text[i]) || text[i] == '{'
		    || text[i] == '}')
			return NULL;
	for (v = eq + 1; readlline_space((unsigned char) *v); v++)
		;
	struct strbuf *sb = strbuf_new(STRBUF_NO_MAX);
	char *result;

	strbuf_append(sb, text, n);
	strbuf_putc(sb, '=');
	strbuf_puts(sb, v);
	result = strbuf_export(sb);
	strbuf_free(&sb);
	return result;
}

static void master_ent_free(struct master_ent *ent)
{
	myfree(ent->service);
	myfree(ent->command);
	for (size_t i = 0; i < ent->nargs; i++)
		myfree(ent->args[i]);
	myfree(ent->args);
	for (size_t i = 0; i < ent->noverrides; i++)
		myfree(ent->overrides[i]);
	myfree(ent->overrides);
	myfree(ent->text);
}

static void master_push(char ***listp, size_t *np, char *str)
{
	*listp = myreallocarray(*listp, mymalloc_add(*np, 2), sizeof(char *));
	(*listp)[(*np)++] = str;
	(*listp)[*np] = NULL;
}

static int master_parse_ent(struct master_parse *mp, const char *line,
			    int default_maxproc, struct master_ent *ent)
{
	static const char *const columns[] = {
		"service", "type", "private", "unpriv", "chroot", "wakeup", "maxproc",
		"command",
	};
	struct master_tok *toks = NULL;
	struct strbuf *text;
	size_t n = 0, i;
	long num;
	int found = 0;

	memset(ent, 0, sizeof(*ent));
	ent->line = mp->line;
	if (master_split(mp, line, &toks, &n) < 0)
		return -1;
	if (n < 8) {
		master_toks_free(toks, n);
		return master_error(mp, "expected at least 8 columns (service type "
				    "private unpriv chroot wakeup maxproc command), "
				    "found %zu", n);
	}
	for (i = 0; i < 8; i++) {
		if (toks[i].braced) {
			master_error(mp, "the %s column must not be in braces", columns[i]);
			goto fail;
		}
	}
	for (i = 0; i < sizeof(master_types) / sizeof(master_types[0]); i++) {
		if (strcmp(toks[1].text, master_types[i].name) == 0) {
			ent->type = master_types[i].type;
			found = 1;
		}
	}
	if (!found) {
		master_error(mp, "bad service type \"%.30s\": expected inet, unix, "
			     "unix-dgram, fifo or pass", toks[1].text);
		goto fail;
	}
	if (master_check_service(mp, toks[0].text, ent->type) < 0)
		goto fail;
	ent->service = mystrdup(toks[0].text);
	if (master_yn(mp, "private", toks[2].text, ent->type != MASTER_INET,
		      &ent->private_) < 0
	    || master_yn(mp, "unpriv", toks[3].text, 1, &ent->unpriv) < 0
	    || master_yn(mp, "chroot", toks[4].text, 0, &ent->chroot) < 0)
		goto fail;
	if (ent->type == MASTER_INET && ent->private_) {
		master_error(mp, "an inet service cannot be private: use n or -");
		goto fail;
	}
	if (strcmp(toks[5].text, "-") != 0) {
		size_t len = strlen(toks[5].text);
		char *digits = mystrdup(toks[5].text);

		if (len > 0 && digits[len - 1] == '?') {
			digits[len - 1] = 0;
			ent->wakeup_on_use = 1;
		}
		if (conf_parse_int(digits, 0, INT_MAX, &num) < 0) {
			myfree(digits);
			master_error(mp, "bad wakeup column \"%.30s\": expected seconds, "
				     "seconds followed by ?, or -", toks[5].text);
			goto fail;
		}
		myfree(digits);
		ent->wakeup = (int) num;
	}
	if (strcmp(toks[6].text, "-") == 0) {
		ent->maxproc = default_maxproc;
	} else if (conf_parse_int(toks[6].text, 0, INT_MAX, &num) < 0) {
		master_error(mp, "bad maxproc column \"%.30s\": expected a number "
			     "(0: no limit) or -", toks[6].text);
		goto fail;
	} else {
		ent->maxproc = (int) num;
	}
	if (strchr(toks[7].text, '/') != NULL || toks[7].text[0] == '.'
	    || toks[7].text[0] == '-') {
		master_error(mp, "bad command \"%.30s\": expected a program name in "
			     "daemon_directory", toks[7].text);
		goto fail;
	}
	ent->command = mystrdup(toks[7].text);

	text = strbuf_new(STRBUF_NO_MAX);
	for (i = 0; i < 8; i++)
		strbuf_printf(text, "%s%s", i ? " " : "", toks[i].text);
	ent->args = mycalloc(1, sizeof(char *));
	ent->overrides = mycalloc(1, sizeof(char *));
	for (i = 8; i < n; i++) {
		const char *arg = toks[i].text, *ov_text = NULL;
		char *ov;

		if (!toks[i].braced && strcmp(arg, "-o") == 0) {
			if (i + 1 >= n) {
				master_error(mp, "-o at the end of the entry: expected "
					     "name=value after it");
				goto fail_text;
			}
			ov_text = toks[++i].text;
		} else if (!toks[i].braced && strncmp(arg, "-o", 2) == 0) {
			ov_text = arg + 2;
		}
		if (ov_text == NULL) {
			master_push(&ent->args, &ent->nargs, mystrdup(arg));
			master_text_arg(text, arg);
			continue;
		}
		if ((ov = master_override(ov_text)) == NULL) {
			master_error(mp, "bad -o argument \"%.40s\": expected name=value "
				     "or { name = value }", ov_text);
			goto fail_text;
		}
		master_push(&ent->args, &ent->nargs, mystrdup("-o"));
		master_push(&ent->args, &ent->nargs, mystrdup(ov));
		master_push(&ent->overrides, &ent->noverrides, ov);
		if (strpbrk(ov, " \t") != NULL || strchr(ov, '=')[1] == 0) {
			/* Keep the value's whitespace (or emptiness) visible. */
			char *eq = strchr(ov, '=');

			strbuf_printf(text, " -o { %.*s = %s }", (int) (eq - ov), ov, eq + 1);
		} else {
			strbuf_printf(text, " -o %s", ov);
		}
	}
	ent->text = strbuf_export(text);
	strbuf_free(&text);
	master_toks_free(toks, n);
	return 0;

fail_text:
	strbuf_free(&text);
fail:
	master_toks_free(toks, n);
	master_ent_free(ent);
	return -1;
}

int master_cf_parse(const char *name, const char *text, int default_maxproc,
		    struct master_cf *cfp, char **errp)
{
	struct strbuf *line = strbuf_new(MASTER_CF_LINE_MAX);
	struct master_parse mp = {name, 0, errp};
	struct master_cf cf = {NULL, 0};
	struct readlline rl;
	char *err = NULL;
	int rc;

	readlline_init(&rl, text, strlen(text));
	while ((rc = readlline_next(&rl, line, &mp.line, &err)) > 0) {
		struct master_ent ent;
		size_t i;

		if (master_parse_ent(&mp, strbuf_str(line), default_maxproc, &ent) < 0)
			goto fail;
		/* The last entry for a service/type pair wins. */
		for (i = 0; i < cf.count; i++) {
			if (cf.ents[i].type == ent.type
			    && strcmp(cf.ents[i].service, ent.service) == 0) {
				master_ent_free(cf.ents + i);
				memmove(cf.ents + i, cf.ents + i + 1,
					(cf.count - i - 1) * sizeof(*cf.ents));
				cf.count--;
				break;
			}
		}
		cf.ents = myreallocarray(cf.ents, mymalloc_add(cf.count, 1),
					 sizeof(*cf.ents));
		cf.ents[cf.count++] = ent;
	}
	if (rc < 0) {
		struct strbuf *sb = strbuf_new(STRBUF_NO_MAX);

		strbuf_printf(sb, "%s, %s", name, err);
		*errp = strbuf_export(sb);
		strbuf_free(&sb);
		myfree(err);
		goto fail;
	}
	strbuf_free(&line);
	*cfp = cf;
	return 0;

fail:
	strbuf_free(&line);
	master_cf_free(&cf);
	return -1;
}

int master_cf_read(const char *path, int default_maxproc, struct master_cf *cfp,
		   char **errp)
{
	char *text;
	size_t len;
	int rc;

	if (readlline_load_file(path, MASTER_CF_FILE_MAX, &text, &len) < 0) {
		struct strbuf *sb = strbuf_new(STRBUF_NO_MAX);

		strbuf_printf(sb, "open %s: %s", path, errno == EFBIG ?
			      "file is larger than 16 MiB" : strerror(errno));
		*errp = strbuf_export(sb);
		strbuf_free(&sb);
		return -1;
	}
	/* strlen() in the parser would stop at a NUL: find it here. */
	if (memchr(text, 0, len) != NULL) {
		struct strbuf *sb = strbuf_new(STRBUF_NO_MAX);
		const char *nul = memchr(text, 0, len);
		int lineno = 1;

		for (const char *cp = text; cp < nul; cp++)
			lineno += *cp == '\n';
		strbuf_printf(sb, "%s, line %d: NUL byte in text", path, lineno);
		*errp = strbuf_export(sb);
		strbuf_free(&sb);
		myfree(text);
		return -1;
	}
	rc = master_cf_parse(path, text, default_maxproc, cfp, errp);
	myfree(text);
	return rc;
}

void master_cf_free(struct master_cf *cf)
{
	for (size_t i = 0; i < cf->count; i++)
		master_ent_free(cf->ents + i);
	myfree(cf->ents);
	cf->count = 0;
}
