/*
 * pipe_args - what master.cf tells the pipe agent, and what the agent
 * makes of it for one request: the command's argv, the prepended
 * headers, and the meaning of the command's exit status.
 *
 * Safety argument: envelope data (sender, recipients, client names) only
 * ever become whole argv entries or header values. An argv= word is
 * expanded on its own; a macro value is inserted as bytes and never
 * split, re-parsed or handed to a shell, so "$(touch x)" or ";" in an
 * address is just text to the command (the OpenSMTPD CVE-2020-7247
 * lesson). Header values come from queue file fields, which cannot hold
 * CR, LF or NUL, so a prepended header cannot turn into two.
 *
 * Nothing here makes a system call, so the unit test includes this file.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <sys/wait.h>

#include "deliver_request.h"
#include "mymalloc.h"
#include "pipe.h"
#include "strbuf.h"

/* ${name} macros; per_rcpt ones make an argument repeat per recipient. */
enum pipe_macro {
	PM_CLIENT_ADDRESS,
	PM_CLIENT_HELO,
	PM_CLIENT_HOSTNAME,
	PM_CLIENT_PORT,
	PM_CLIENT_PROTOCOL,
	PM_DOMAIN,
	PM_EXTENSION,
	PM_MAILBOX,
	PM_NEXTHOP,
	PM_ORIGINAL_RECIPIENT,
	PM_QUEUE_ID,
	PM_RECIPIENT,
	PM_SASL_METHOD,
	PM_SASL_SENDER,
	PM_SASL_USERNAME,
	PM_SENDER,
	PM_SIZE,
	PM_USER,
	PM_COUNT
};

static const struct {
	const char *name;
	int per_rcpt;
} pipe_macros[PM_COUNT] = {
    [PM_CLIENT_ADDRESS] = {"client_address", 0},
    [PM_CLIENT_HELO] = {"client_helo", 0},
    [PM_CLIENT_HOSTNAME] = {"client_hostname", 0},
    [PM_CLIENT_PORT] = {"client_port", 0},
    [PM_CLIENT_PROTOCOL] = {"client_protocol", 0},
    [PM_DOMAIN] = {"domain", 1},
    [PM_EXTENSION] = {"extension", 1},
    [PM_MAILBOX] = {"mailbox", 1},
    [PM_NEXTHOP] = {"nexthop", 0},
    [PM_ORIGINAL_RECIPIENT] = {"original_recipient", 1},
    [PM_QUEUE_ID] = {"queue_id", 0},
    [PM_RECIPIENT] = {"recipient", 1},
    [PM_SASL_METHOD] = {"sasl_method", 0},
    [PM_SASL_SENDER] = {"sasl_sender", 0},
    [PM_SASL_USERNAME] = {"sasl_username", 0},
    [PM_SENDER] = {"sender", 0},
    [PM_SIZE] = {"size", 0},
    [PM_USER] = {"user", 1},
};

static const struct {
	int letter;
	int flag;
} pipe_flag_letters[] = {
    {'B', PIPE_FLAG_BLANK},  {'D', PIPE_FLAG_DELIVERED},
    {'F', PIPE_FLAG_FROM},   {'O', PIPE_FLAG_ORIG},
    {'R', PIPE_FLAG_RETURN}, {'X', PIPE_FLAG_FINAL},
    {'h', PIPE_FLAG_LC_HOST}, {'q', PIPE_FLAG_QUOTE},
    {'u', PIPE_FLAG_LC_USER}, {'.', PIPE_FLAG_DOT},
    {'>', PIPE_FLAG_QUOTE_FROM},
};

static int macro_name_char(int ch)
{
	return isalnum(ch) || ch == '_';
}

static int macro_find(const char *name, size_t len)
{
	for (int m = 0; m < PM_COUNT; m++)
		if (strlen(pipe_macros[m].name) == len &&
		    memcmp(pipe_macros[m].name, name, len) == 0)
			return m;
	return -1;
}

/*
 * Walk one argv= word: "$$" is a "$", "${name}" and "$name" are macros.
 * With out == NULL only check the word; *per_rcpt says whether a
 * per-recipient macro occurs. value() appends macro m's value to out.
 * 0, or -1 and a reason.
 */
typedef void (*macro_value_fn)(int m, const void *ctx, struct strbuf *out);

static int macro_walk(const char *word, macro_value_fn value, const void *ctx,
		      struct strbuf *out, int *per_rcpt, struct strbuf *why)
{
	const char *cp = word;

	*per_rcpt = 0;
	while (*cp) {
		const char *name, *end;
		int m;

		if (*cp != '$') {
			size_t n = strcspn(cp, "$");

			if (out != NULL && (strbuf_append(out, cp, n) < 0 ||
					    strbuf_len(out) > PIPE_ARG_MAX))
				goto toolong;
			cp += n;
			continue;
		}
		if (cp[1] == '$') {
			if (out != NULL && strbuf_putc(out, '$') < 0)
				goto toolong;
			cp += 2;
			continue;
		}
		if (cp[1] == '{') {
			name = cp + 2;
			end = strchr(name, '}');
			if (end == NULL)
				return strbuf_why(why, "argv word \"%s\": "
					"missing \"}\"", word), -1;
			cp = end + 1;
		} else {
			name = end = cp + 1;
			while (macro_name_char((unsigned char)*end))
				end++;
			cp = end;
		}
		if ((m = macro_find(name, (size_t)(end - name))) < 0)
			return strbuf_why(why, "argv word \"%s\": unknown "
				"macro \"$%.*s\"", word, (int)(end - name),
				name), -1;
		if (pipe_macros[m].per_rcpt)
			*per_rcpt = 1;
		if (out != NULL) {
			value(m, ctx, out);
			if (strbuf_len(out) > PIPE_ARG_MAX)
				goto toolong;
		}
	}
	return 0;
toolong:
	return strbuf_why(why, "argv word \"%s\" expands to more than %d "
			  "bytes", word, PIPE_ARG_MAX), -1;
}

/* eol= value: \n, \r, \t and \\ are decoded; anything else stays. */
static char *eol_decode(const char *text)
{
	char *out = mymalloc(strlen(text) + 1), *op = out;

	for (const char *cp = text; *cp; cp++) {
		if (*cp == '\\' && cp[1]) {
			switch (*++cp) {
			case 'n':
				*op++ = '\n';
				break;
			case 'r':
				*op++ = '\r';
				break;
			case 't':
				*op++ = '\t';
				break;
			default:
				*op++ = *cp;
				break;
			}
		} else {
			*op++ = *cp;
		}
	}
	*op = 0;
	return out;
}

static int attr_flags(const char *value, int *flags, struct strbuf *why)
{
	for (const char *cp = value; *cp; cp++) {
		size_t k;

		for (k = 0; k < sizeof(pipe_flag_letters) /
				    sizeof(pipe_flag_letters[0]);
		     k++)
			if (pipe_flag_letters[k].letter == *cp)
				break;
		if (k == sizeof(pipe_flag_letters) /
			     sizeof(pipe_flag_letters[0]))
			return strbuf_why(why, "unknown flag \"%c\" in "
					  "flags=%s", *cp, value), -1;
		*flags |= pipe_flag_letters[k].flag;
	}
	return 0;
}

#define PREFIX(arg, name) (strncmp(arg, name, sizeof(name) - 1) == 0)
#define VALUE(arg, name) ((arg) + sizeof(name) - 1)

int pipe_attr_parse(char **args, struct pipe_attr *attr, struct strbuf *why)
{
	char **ap;

	memset(attr, 0, sizeof(*attr));
	for (ap = args; *ap != NULL; ap++) {
		const char *arg = *ap;

		if (PREFIX(arg, "flags=")) {
			if (attr_flags(VALUE(arg, "flags="), &attr->flags,
				       why) < 0)
				goto bad;
		} else if (PREFIX(arg, "user=")) {
			const char *v = VALUE(arg, "user=");
			const char *colon = strchr(v, ':');

			myfree(attr->user);
			myfree(attr->group);
			if (colon != NULL) {
				attr->user = mystrndup(v, (size_t)(colon - v));
				attr->group = mystrdup(colon + 1);
			} else {
				attr->user = mystrdup(v);
			}
			if (*attr->user == 0 ||
			    (attr->group != NULL && *attr->group == 0)) {
				strbuf_why(why, "empty user or group in %s",
					   arg);
				goto bad;
			}
		} else if (PREFIX(arg, "size=")) {
			char *end;
			long long n = strtoll(VALUE(arg, "size="), &end, 10);

			if (*VALUE(arg, "size=") == 0 || *end != 0 || n < 0) {
				strbuf_why(why, "bad %s: not a byte count",
					   arg);
				goto bad;
			}
			attr->size_limit = (off_t)n;
		} else if (PREFIX(arg, "eol=")) {
			myfree(attr->eol);
			attr->eol = eol_decode(VALUE(arg, "eol="));
		} else if (PREFIX(arg, "directory=")) {
			myfree(attr->directory);
			if (*VALUE(arg, "directory=") != 0)
				attr->directory =
				    mystrdup(VALUE(arg, "directory="));
		} else if (PREFIX(arg, "null_sender=")) {
			myfree(attr->null_sender);
			attr->null_sender =
			    mystrdup(VALUE(arg, "null_sender="));
		} else if (PREFIX(arg, "argv=")) {
			break;
		} else {
			strbuf_why(why, "unknown argument \"%s\" (expected "
				   "flags=, user=, size=, eol=, directory=, "
				   "null_sender= or argv=)", arg);
			goto bad;
		}
	}
	if (attr->user == NULL) {
		strbuf_why(why, "missing user= argument");
		goto bad;
	}
	if (*ap == NULL || *VALUE(*ap, "argv=") == 0) {
		strbuf_why(why, "missing argv= command");
		goto bad;
	}
	/* argv=cmd, then every remaining word is the command's. */
	for (char **cp = ap; *cp != NULL; cp++)
		attr->argc++;
	attr->argv = mycalloc(attr->argc + 1, sizeof(char *));
	attr->argv[0] = mystrdup(VALUE(*ap, "argv="));
	for (size_t i = 1; i < attr->argc; i++)
		attr->argv[i] = mystrdup(ap[i]);
	for (size_t i = 0; i < attr->argc; i++) {
		int per_rcpt;

		if (macro_walk(attr->argv[i], NULL, NULL, NULL, &per_rcpt,
			       why) < 0)
			goto bad;
	}
	if (attr->eol == NULL)
		attr->eol = mystrdup("\n");
	if (attr->null_sender == NULL)
		attr->null_sender = mystrdup("MAILER-DAEMON");
	return 0;
bad:
	pipe_attr_free(attr);
	return -1;
}

void pipe_attr_free(struct pipe_attr *attr)
{
	myfree(attr->user);
	myfree(attr->group);
	if (attr->argv != NULL)
		for (size_t i = 0; i < attr->argc; i++)
			myfree(attr->argv[i]);
	myfree(attr->argv);
	myfree(attr->eol);
	myfree(attr->directory);
	myfree(attr->null_sender);
	memset(attr, 0, sizeof(*attr));
}

int pipe_attr_per_rcpt(const struct pipe_attr *attr)
{
	struct strbuf *why = strbuf_new(STRBUF_NO_MAX);
	int any = 0;

	for (size_t i = 0; i < attr->argc; i++) {
		int per_rcpt = 0;

		if (macro_walk(attr->argv[i], NULL, NULL, NULL, &per_rcpt,
			       why) == 0 && per_rcpt)
			any = 1;
	}
	strbuf_free(&why);
	return any;
}

/* RFC 5322 atext, with 8-bit octets let through (Postfix's q flag is
 * 8-bit transparent). */
static int local_atext(int ch)
{
	return isalnum(ch) || ch >= 0x80 || strchr("!#$%&'*+-/=?^_`{|}~", ch);
}

/* Does this local part need quotes to be read back as one local part? */
static int local_needs_quote(const char *lp, size_t len)
{
	if (len == 0)
		return 1;
	if (lp[0] == '.' || lp[len - 1] == '.')
		return 1;
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)lp[i];

		if (ch == '.') {
			if (lp[i + 1] == '.')
				return 1;
		} else if (!local_atext(ch)) {
			return 1;
		}
	}
	return 0;
}

/* Append addr with the local part (left of the last "@") folded and
 * quoted as flags ask, and the domain folded with fold_host. */
static void addr_text(const char *addr, int fold_user, int fold_host,
		      int quote, struct strbuf *out)
{
	const char *at = strrchr(addr, '@');
	size_t lplen = at ? (size_t)(at - addr) : strlen(addr);
	size_t start;

	/* The null sender never gets here: callers substitute first. */
	if (quote && local_needs_quote(addr, lplen)) {
		(void)strbuf_putc(out, '"');
		for (size_t i = 0; i < lplen; i++) {
			if (addr[i] == '"' || addr[i] == '\\')
				(void)strbuf_putc(out, '\\');
			(void)strbuf_putc(out,
					  fold_user ? tolower((unsigned char)
							      addr[i])
						    : addr[i]);
		}
		(void)strbuf_putc(out, '"');
	} else {
		start = strbuf_len(out);
		(void)strbuf_append(out, addr, lplen);
		if (fold_user)
			for (size_t i = start; i < strbuf_len(out); i++)
				out->data[i] = (char)tolower(
				    (unsigned char)out->data[i]);
	}
	if (at != NULL) {
		start = strbuf_len(out);
		(void)strbuf_puts(out, at);
		if (fold_host)
			for (size_t i = start; i < strbuf_len(out); i++)
				out->data[i] = (char)tolower(
				    (unsigned char)out->data[i]);
	}
}

void pipe_rcpt_text(const struct pipe_attr *attr, const char *addr,
		    struct strbuf *out)
{
	addr_text(addr, attr->flags & PIPE_FLAG_LC_USER,
		  attr->flags & PIPE_FLAG_LC_HOST,
		  attr->flags & PIPE_FLAG_QUOTE, out);
}

static void sender_text(const struct pipe_attr *attr, const char *sender,
			struct strbuf *out)
{
	if (*sender == 0)
		(void)strbuf_puts(out, attr->null_sender);
	else
		addr_text(sender, 0, 0, attr->flags & PIPE_FLAG_QUOTE, out);
}

struct expand_ctx {
	const struct pipe_attr *attr;
	const struct deliver_request *req;
	const char *delim; /* recipient_delimiter characters */
	size_t rcpt;	   /* the recipient per-recipient macros show */
};

/* Split the (case-folded as u asks) local part of addr into user and
 * extension at the first delimiter character that is not the first
 * character (so "+foo" or "-owner" stay whole). */
static void local_split(const struct expand_ctx *x, const char *addr,
			struct strbuf *lp, size_t *user_len)
{
	const char *at = strrchr(addr, '@');
	size_t len = at ? (size_t)(at - addr) : strlen(addr);

	(void)strbuf_append(lp, addr, len);
	if (x->attr->flags & PIPE_FLAG_LC_USER)
		for (size_t i = 0; i < len; i++)
			lp->data[i] = (char)tolower((unsigned char)lp->data[i]);
	*user_len = len;
	if (*x->delim != 0 && len > 1) {
		size_t n = strcspn(lp->data + 1, x->delim) + 1;

		if (n < len)
			*user_len = n;
	}
}

static void expand_value(int m, const void *vctx, struct strbuf *out)
{
	const struct expand_ctx *x = vctx;
	const struct deliver_request *req = x->req;
	const struct deliver_rcpt *rcpt = req->rcpt + x->rcpt;
	struct strbuf *lp;
	size_t user_len;
	const char *at;

	switch ((enum pipe_macro)m) {
	case PM_CLIENT_ADDRESS:
		(void)strbuf_puts(out, req->client_addr);
		break;
	case PM_CLIENT_HOSTNAME:
		(void)strbuf_puts(out, req->client_name);
		break;
	case PM_CLIENT_HELO:
	case PM_CLIENT_PORT:
	case PM_CLIENT_PROTOCOL:
	case PM_SASL_METHOD:
	case PM_SASL_SENDER:
	case PM_SASL_USERNAME:
		/* Not carried in a delivery request: empty, as Postfix
		 * shows what it does not know. */
		break;
	case PM_NEXTHOP: {
		size_t start = strbuf_len(out);

		(void)strbuf_puts(out, req->nexthop);
		if (x->attr->flags & PIPE_FLAG_LC_HOST)
			for (size_t i = start; i < strbuf_len(out); i++)
				out->data[i] = (char)tolower(
				    (unsigned char)out->data[i]);
		break;
	}
	case PM_QUEUE_ID:
		(void)strbuf_puts(out, req->queue_id);
		break;
	case PM_SIZE:
		(void)strbuf_printf(out, "%lld", (long long)req->data_size);
		break;
	case PM_SENDER:
		sender_text(x->attr, req->sender, out);
		break;
	case PM_RECIPIENT:
		pipe_rcpt_text(x->attr, rcpt->address, out);
		break;
	case PM_ORIGINAL_RECIPIENT:
		pipe_rcpt_text(x->attr, *rcpt->orig ? rcpt->orig
						    : rcpt->address,
			       out);
		break;
	case PM_DOMAIN: {
		size_t start = strbuf_len(out);

		if ((at = strrchr(rcpt->address, '@')) != NULL)
			(void)strbuf_puts(out, at + 1);
		if (x->attr->flags & PIPE_FLAG_LC_HOST)
			for (size_t i = start; i < strbuf_len(out); i++)
				out->data[i] = (char)tolower(
				    (unsigned char)out->data[i]);
		break;
	}
	case PM_MAILBOX:
	case PM_USER:
	case PM_EXTENSION:
		lp = strbuf_new(STRBUF_NO_MAX);
		local_split(x, rcpt->address, lp, &user_len);
		if (m == PM_MAILBOX)
			(void)strbuf_append(out, strbuf_str(lp),
					    strbuf_len(lp));
		else if (m == PM_USER)
			(void)strbuf_append(out, strbuf_str(lp), user_len);
		else if (user_len < strbuf_len(lp))
			(void)strbuf_puts(out, strbuf_str(lp) + user_len + 1);
		strbuf_free(&lp);
		break;
	case PM_COUNT:
		break;
	}
}

char **pipe_expand(const struct pipe_attr *attr,
		   const struct deliver_request *req, const char *delim,
		   struct strbuf *why)
{
	struct expand_ctx x = {attr, req, delim ? delim : "", 0};
	/* Unbounded: macro_walk checks the length after every piece (a
	 * bounded buffer would drop a piece silently and stay short). */
	struct strbuf *buf = strbuf_new(STRBUF_NO_MAX);
	char **out;
	size_t n = 0, cap;

	/* At most argc * rcpt_count words; rcpt_count <= DELIVER_RCPT_MAX. */
	cap = mymalloc_add(mymalloc_mul(attr->argc, req->rcpt_count), 1);
	out = mycalloc(cap, sizeof(char *));
	for (size_t i = 0; i < attr->argc; i++) {
		int per_rcpt;

		if (macro_walk(attr->argv[i], NULL, NULL, NULL, &per_rcpt,
			       why) < 0)
			goto bad;
		for (x.rcpt = 0; x.rcpt < (per_rcpt ? req->rcpt_count : 1);
		     x.rcpt++) {
			strbuf_reset(buf);
			if (macro_walk(attr->argv[i], expand_value, &x, buf,
				       &per_rcpt, why) < 0)
				goto bad;
			out[n++] = mystrndup(strbuf_str(buf), strbuf_len(buf));
		}
	}
	strbuf_free(&buf);
	return out;
bad:
	strbuf_free(&buf);
	pipe_argv_free(&out);
	return NULL;
}

void pipe_argv_free(char ***argvp)
{
	char **argv = *argvp;

	if (argv == NULL)
		return;
	for (char **ap = argv; *ap != NULL; ap++)
		myfree(*ap);
	myfree(*argvp);
}

void pipe_headers(const struct pipe_attr *attr,
		  const struct deliver_request *req, size_t i, time_t now,
		  struct strbuf *out)
{
	const struct deliver_rcpt *rcpt = req->rcpt + i;

	if (attr->flags & PIPE_FLAG_FROM) {
		char date[64];
		struct tm tm;

		/* The mbox separator: "From sender  asctime-date". */
		if (localtime_r(&now, &tm) == NULL ||
		    strftime(date, sizeof(date), "%a %b %e %H:%M:%S %Y",
			     &tm) == 0)
			snprintf(date, sizeof(date), "Thu Jan  1 00:00:00 1970");
		(void)strbuf_puts(out, "From ");
		sender_text(attr, req->sender, out);
		(void)strbuf_printf(out, "  %s%s", date, attr->eol);
	}
	if (attr->flags & PIPE_FLAG_RETURN) {
		(void)strbuf_puts(out, "Return-Path: <");
		sender_text(attr, req->sender, out);
		(void)strbuf_printf(out, ">%s", attr->eol);
	}
	if (attr->flags & PIPE_FLAG_ORIG) {
		(void)strbuf_puts(out, "X-Original-To: ");
		pipe_rcpt_text(attr, *rcpt->orig ? rcpt->orig : rcpt->address,
			       out);
		(void)strbuf_puts(out, attr->eol);
	}
	if (attr->flags & PIPE_FLAG_DELIVERED) {
		(void)strbuf_puts(out, "Delivered-To: ");
		pipe_rcpt_text(attr, rcpt->address, out);
		(void)strbuf_puts(out, attr->eol);
	}
}

/* sysexits.h codes: the RFC 3463 status and text Postfix gives each.
 * Only EX_OSERR and EX_TEMPFAIL are temporary. */
static const struct {
	int code;
	const char *status;
	const char *text;
} pipe_sysexits[] = {
    {EX_USAGE, "5.3.0", "command line usage error"},
    {EX_DATAERR, "5.6.0", "data format error"},
    {EX_NOINPUT, "5.3.0", "cannot open input"},
    {EX_NOUSER, "5.1.1", "user unknown"},
    {EX_NOHOST, "5.1.2", "host name unknown"},
    {EX_UNAVAILABLE, "5.3.0", "service unavailable"},
    {EX_SOFTWARE, "5.3.0", "internal software error"},
    {EX_OSERR, "4.3.0", "system resource problem"},
    {EX_OSFILE, "5.3.0", "critical OS file missing"},
    {EX_CANTCREAT, "5.2.0", "can't create user output file"},
    {EX_IOERR, "5.3.0", "input/output error"},
    {EX_TEMPFAIL, "4.3.0", "temporary failure"},
    {EX_PROTOCOL, "5.5.0", "remote error in protocol"},
    {EX_NOPERM, "5.7.0", "permission denied"},
    {EX_CONFIG, "5.3.5", "local configuration error"},
};

int pipe_exit_status(int wait_status, char *status, size_t status_len,
		     char *text, size_t text_len)
{
	if (WIFEXITED(wait_status)) {
		int code = WEXITSTATUS(wait_status);

		if (code == 0)
			return 0;
		for (size_t k = 0;
		     k < sizeof(pipe_sysexits) / sizeof(pipe_sysexits[0]); k++)
			if (pipe_sysexits[k].code == code) {
				snprintf(status, status_len, "%s",
					 pipe_sysexits[k].status);
				snprintf(text, text_len, "%s",
					 pipe_sysexits[k].text);
				return -1;
			}
		snprintf(status, status_len, "5.3.0");
		snprintf(text, text_len, "Command died with status %d", code);
		return -1;
	}
	/* A crash or a kill is not the message's fault: try again. */
	snprintf(status, status_len, "4.3.0");
	if (WIFSIGNALED(wait_status))
		snprintf(text, text_len, "Command died with signal %d",
			 WTERMSIG(wait_status));
	else
		snprintf(text, text_len, "Command ended abnormally");
	return -1;
}
