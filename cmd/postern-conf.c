/*
 * postern-conf - show and edit postern's configuration (Postfix's postconf).
 *
 * Without an edit option it prints parameters as "name = value": every
 * parameter of the table (its main.cf value, else its default), only
 * those main.cf sets (-n), the defaults (-d), values alone (-h), or
 * values with $name expanded (-x). -e and -X edit main.cf; -M prints
 * master.cf entries; -m lists the lookup table types; --man-page writes
 * postern.conf(5) from its template and the parameter table.
 *
 * Editing keeps main.cf as its owner wrote it: comments, blank lines and
 * the order of the other settings stay; an assignment being replaced is
 * replaced with its continuation lines, at the place of the assignment
 * that takes effect (the last one). The new file is written next to the
 * old one, fsync'ed and renamed over it, so a crash or a full disk leaves
 * either the old main.cf or the new one, never a truncated file. Mode and
 * (when run as root) owner are kept.
 *
 * See postern-conf(1).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include "mail_conf.h"
#include "mail_params.h"
#include "master_cf.h"
#include "msg.h"
#include "mymalloc.h"
#include "readlline.h"
#include "strbuf.h"

#define CONF_FILE_MAX (16 * 1024 * 1024)

/* The lookup table types of dict (ARCHITECTURE.md section 7), sorted. */
static const char *const table_types[] = {
	"btree", "cdb", "cidr", "hash", "inline", "lmdb", "pcre", "regexp",
	"static", "texthash", "unix",
};

#define SHOW_DEFAULTS	(1 << 0)	/* -d */
#define SHOW_NONDEF	(1 << 1)	/* -n */
#define SHOW_VALUES	(1 << 2)	/* -h */
#define SHOW_EXPAND	(1 << 3)	/* -x */

static char *temp_path;		/* removed by the fatal-error hook */

static void cleanup_temp(void)
{
	if (temp_path != NULL)
		unlink(temp_path);
}

static _Noreturn void usage(void)
{
	msg_fatal_status(EX_USAGE, "usage: postern-conf [-c config_dir] [-d] [-h] "
			 "[-n] [-x] [name ...] | -e name=value ... | -X name ... "
			 "| -M [service[/type] ...] | -m | --man-page template");
}

static void print_param(const char *name, const char *value, int flags)
{
	char *expanded = NULL, *err = NULL;

	if (flags & SHOW_EXPAND) {
		if ((expanded = mail_conf_expand(value, &err)) == NULL)
			msg_fatal("%s", err);
		value = expanded;
	}
	if (flags & SHOW_VALUES)
		printf("%s\n", value);
	else
		printf("%s =%s%s\n", name, *value ? " " : "", value);
	myfree(expanded);
}

/* The value postern-conf shows for name, or NULL if it is unknown. */
static const char *param_value(const char *name, int flags)
{
	const struct param_info *p = mail_param_find(name);
	const char *raw;

	if (!(flags & SHOW_DEFAULTS) && (raw = mail_conf_lookup_raw(name)) != NULL)
		return raw;
	if (p == NULL)
		return NULL;
	if ((raw = mail_conf_default(p)) == NULL)
		msg_fatal("parameter %s: its default refers back to it; set it in main.cf",
			  name);
	return raw;
}

static void show_params(const char *dir, int flags, char **names)
{
	char *err = NULL;

	if (flags & SHOW_DEFAULTS)
		mail_conf_reset();
	else if (mail_conf_parse(dir, &err) < 0)
		msg_fatal("%s", err);
	if (*names != NULL) {
		for (; *names; names++) {
			const char *value = param_value(*names, flags);

			if (value == NULL)
				msg_warn("%s: unknown parameter", *names);
			else if (!(flags & SHOW_NONDEF) || mail_conf_lookup_raw(*names))
				print_param(*names, value, flags);
		}
	} else if (flags & SHOW_NONDEF) {
		size_t count;
		const struct mail_conf_setting *set = mail_conf_settings(&count);

		for (size_t i = 0; i < count; i++)
			print_param(set[i].name, set[i].value, flags);
	} else {
		for (size_t i = 0; i < mail_param_count; i++)
			print_param(mail_param_table[i].name,
				    param_value(mail_param_table[i].name, flags), flags);
	}
}

static void show_master(const char *dir, char **selectors)
{
	struct strbuf *path = strbuf_new(STRBUF_NO_MAX);
	struct master_cf cf;
	char *err = NULL;
	const char *limit;
	long maxproc = 100;

	if (mail_conf_parse(dir, &err) < 0)
		msg_fatal("%s", err);
	if ((limit = mail_conf_eval("default_process_limit")) == NULL
	    || conf_parse_int(limit, 0, 1000000000, &maxproc) < 0)
		msg_fatal("bad default_process_limit value: %s", limit ? limit : "");
	strbuf_printf(path, "%s/master.cf", dir);
	if (master_cf_read(strbuf_str(path), (int) maxproc, &cf, &err) < 0)
		msg_fatal("%s", err);
	for (size_t i = 0; i < cf.count; i++) {
		const struct master_ent *ent = cf.ents + i;
		int show = *selectors == NULL;

		for (char **sel = selectors; *sel && !show; sel++) {
			const char *slash = strrchr(*sel, '/');
			size_t slen = slash ? (size_t) (slash - *sel) : strlen(*sel);

			show = strlen(ent->service) == slen
				&& strncmp(ent->service, *sel, slen) == 0
				&& (slash == NULL
				    || strcmp(slash + 1, master_type_name(ent->type)) == 0);
		}
		if (show)
			printf("%s\n", ent->text);
	}
	master_cf_free(&cf);
	strbuf_free(&path);
}

static void show_man_page(const char *template_path)
{
	struct strbuf *out = strbuf_new(STRBUF_NO_MAX);
	char *text, *err = NULL;
	size_t len;

	if (readlline_load_file(template_path, CONF_FILE_MAX, &text, &len) < 0)
		msg_fatal("open %s: %m", template_path);
	if (memchr(text, 0, len) != NULL)
		msg_fatal("%s: NUL byte in template", template_path);
	if (mail_param_manpage(text, out, &err) < 0)
		msg_fatal("%s: %s", template_path, err);
	fwrite(strbuf_str(out), 1, strbuf_len(out), stdout);
	myfree(text);
	strbuf_free(&out);
}

/* Editing main.cf. */

struct edit {
	char *name;
	char *value;		/* NULL: remove (-X) */
	int done;
};

/* One physical line of main.cf and what happens to it. */
struct phys {
	const char *text;
	size_t len;		/* without the newline */
	char *replace;		/* new text for this line, or NULL */
	int drop;
};

static int name_char(int ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z')
		|| (ch >= '0' && ch <= '9') || ch == '_' || ch == '-' || ch == '.';
}

/* Check an edit before anything is written: a value main.cf would refuse
 * is refused now, not at the next daemon start. */
static void check_edit(const struct edit *e)
{
	const struct param_info *p = mail_param_find(e->name);
	long n;
	int b;

	if (*e->name == 0 || strspn(e->name, "abcdefghijklmnopqrstuvwxyz"
				    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.")
	    != strlen(e->name))
		msg_fatal_status(EX_USAGE, "bad parameter name: \"%s\"", e->name);
	if (e->value != NULL && strpbrk(e->value, "\r\n") != NULL)
		msg_fatal_status(EX_USAGE, "parameter %s: value must not contain a "
				 "line break", e->name);
	if (p == NULL) {
		if (e->value != NULL)
			msg_warn("%s: %s", e->name, mail_param_is_reserved(e->name)
				 ? "parameter not supported by postern yet"
				 : "unknown parameter");
		return;
	}
	if (e->value != NULL && mail_param_readonly(p))
		msg_fatal("parameter %s is read-only", e->name);
	if (e->value == NULL || strchr(e->value, '$') != NULL)
		return;
	if (((p->type == PT_INT || p->type == PT_LONG)
	     && conf_parse_int(e->value, 0, p->type == PT_INT ? INT_MAX : LONG_MAX, &n) < 0)
	    || (p->type == PT_BOOL && conf_parse_bool(e->value, &b) < 0)
	    || (p->type == PT_TIME && (conf_parse_time(e->value, 's', &n) < 0
				       || n > INT_MAX)))
		msg_fatal("bad %s value for parameter %s: %s",
			  mail_param_type_name(p->type), e->name, e->value);
}

/* The parameter name a logical line's first physical line assigns, or
 * NULL: "name = value" with the name at the start of the line. */
static char *assigned_name(const char *text, size_t len)
{
	size_t n = 0, i;

	while (n < len && name_char((unsigned char) text[n]))
		n++;
	for (i = n; i < len && readlline_space((unsigned char) text[i]); i++)
		;
	if (n == 0 || i >= len || text[i] != '=')
		return NULL;
	return mystrndup(text, n);
}

static void write_atomically(const char *path, const char *data, size_t len)
{
	struct strbuf *tmp = strbuf_new(STRBUF_NO_MAX);
	char *dir, *slash;
	struct stat st;
	mode_t mode = 0644;
	int fd, have_old;

	have_old = stat(path, &st) == 0;
	if (have_old)
		mode = st.st_mode & 07777;
	strbuf_printf(tmp, "%s.XXXXXX", path);
	temp_path = strbuf_export(tmp);
	strbuf_free(&tmp);
	if ((fd = mkostemp(temp_path, O_CLOEXEC)) < 0) {
		myfree(temp_path);
		msg_fatal("create a temporary file next to %s: %m", path);
	}
	if (fchmod(fd, mode) < 0)
		msg_fatal("set the mode of %s: %m", temp_path);
	if (have_old && geteuid() == 0 && fchown(fd, st.st_uid, st.st_gid) < 0)
		msg_fatal("set the owner of %s: %m", temp_path);
	for (size_t done = 0; done < len;) {
		ssize_t n = write(fd, data + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			msg_fatal("write %s: %m", temp_path);
		done += (size_t) n;
	}
	/* The data must be on disk before the name points at it. */
	if (fsync(fd) < 0 || close(fd) < 0)
		msg_fatal("write %s: %m", temp_path);
	if (rename(temp_path, path) < 0)
		msg_fatal("rename %s to %s: %m", temp_path, path);
	myfree(temp_path);
	dir = mystrdup(path);
	if ((slash = strrchr(dir, '/')) != NULL)
		*(slash == dir ? slash + 1 : slash) = 0;
	else
		strcpy(dir, ".");
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		if (fsync(fd) < 0)
			msg_warn("fsync %s: %m", dir);
		close(fd);
	}
	myfree(dir);
}

static void edit_main_cf(const char *dir, char **args, int remove)
{
	struct strbuf *path = strbuf_new(STRBUF_NO_MAX);
	struct strbuf *out = strbuf_new(STRBUF_NO_MAX);
	struct phys *lines = NULL;
	struct edit *edits;
	size_t nlines = 0, nedits = 0, i, pos;
	char *text, *cur_name = NULL;
	size_t len, cur_start = 0;

	for (char **ap = args; *ap; ap++)
		nedits++;
	if (nedits == 0)
		usage();
	edits = mycalloc(nedits, sizeof(*edits));
	for (i = 0; i < nedits; i++) {
		const char *eq = remove ? NULL : strchr(args[i], '=');
		size_t n;

		if (!remove && eq == NULL)
			msg_fatal_status(EX_USAGE, "-e %s: expected name=value", args[i]);
		n = remove ? strlen(args[i]) : (size_t) (eq - args[i]);
		while (n > 0 && readlline_space((unsigned char) args[i][n - 1]))
			n--;
		edits[i].name = mystrndup(args[i], n);
		if (!remove) {
			size_t vlen;

			for (eq++; readlline_space((unsigned char) *eq); eq++)
				;
			edits[i].value = mystrdup(eq);
			vlen = strlen(edits[i].value);
			while (vlen > 0 && readlline_space((unsigned char) edits[i].value[vlen - 1]))
				edits[i].value[--vlen] = 0;
		}
		check_edit(edits + i);
		for (size_t j = 0; j < i; j++)
			if (strcmp(edits[j].name, edits[i].name) == 0)
				msg_fatal_status(EX_USAGE, "parameter %s is given twice",
						 edits[i].name);
	}

	strbuf_printf(path, "%s/main.cf", dir);
	if (readlline_load_file(strbuf_str(path), CONF_FILE_MAX, &text, &len) < 0) {
		if (errno != ENOENT || remove)
			msg_fatal("open %s: %m", strbuf_str(path));
		text = mystrdup("");
		len = 0;
	}
	if (memchr(text, 0, len) != NULL)
		msg_fatal("%s: NUL byte in file; fix it with an editor", strbuf_str(path));
	for (pos = 0; pos < len;) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t plen = nl ? (size_t) (nl - (text + pos)) : len - pos;

		lines = myreallocarray(lines, mymalloc_add(nlines, 1), sizeof(*lines));
		lines[nlines].text = text + pos;
		lines[nlines].len = plen;
		lines[nlines].replace = NULL;
		lines[nlines].drop = 0;
		nlines++;
		pos += plen + (nl ? 1 : 0);
	}

	/*
	 * Walk the logical lines. For each edited name remember the last
	 * assignment (the one in effect); -X drops every assignment.
	 * Continuation lines follow their first line; comment and blank
	 * lines in between stay where they are.
	 */
	size_t *last = mycalloc(nedits, sizeof(size_t));

	for (i = 0; i <= nlines; i++) {
		const char *t = i < nlines ? lines[i].text : "";
		size_t tl = i < nlines ? lines[i].len : 0, b = 0;
		int blank, cont;

		while (b < tl && readlline_space((unsigned char) t[b]))
			b++;
		blank = b == tl || t[b] == '#';
		cont = !blank && b > 0;
		if (i < nlines && (blank || cont))
			continue;
		if (cur_name != NULL) {
			for (size_t e = 0; e < nedits; e++) {
				if (strcmp(edits[e].name, cur_name) != 0)
					continue;
				if (remove) {
					for (size_t k = cur_start; k < i; k++) {
						size_t kb = 0;

						while (kb < lines[k].len
						       && readlline_space((unsigned char) lines[k].text[kb]))
							kb++;
						if (k == cur_start || (kb > 0 && kb < lines[k].len
								       && lines[k].text[kb] != '#'))
							lines[k].drop = 1;
					}
				}
				last[e] = cur_start + 1;
				edits[e].done = 1;
			}
			myfree(cur_name);
		}
		if (i < nlines) {
			cur_name = assigned_name(t, tl);
			cur_start = i;
		}
	}
	for (size_t e = 0; e < nedits && !remove; e++) {
		size_t start = last[e];

		if (start == 0)
			continue;
		start--;
		struct strbuf *sb = strbuf_new(STRBUF_NO_MAX);

		strbuf_printf(sb, "%s = %s", edits[e].name, edits[e].value);
		lines[start].replace = strbuf_export(sb);
		strbuf_free(&sb);
		/* Its continuation lines go with it. */
		for (size_t k = start + 1; k < nlines; k++) {
			size_t kb = 0;

			while (kb < lines[k].len && readlline_space((unsigned char) lines[k].text[kb]))
				kb++;
			if (kb == lines[k].len || lines[k].text[kb] == '#')
				continue;
			if (kb == 0)
				break;
			lines[k].drop = 1;
		}
	}
	for (i = 0; i < nlines; i++) {
		if (lines[i].drop)
			continue;
		if (lines[i].replace)
			strbuf_puts(out, lines[i].replace);
		else
			strbuf_append(out, lines[i].text, lines[i].len);
		strbuf_putc(out, '\n');
	}
	for (size_t e = 0; e < nedits && !remove; e++)
		if (!edits[e].done)
			strbuf_printf(out, "%s = %s\n", edits[e].name, edits[e].value);
	write_atomically(strbuf_str(path), strbuf_str(out), strbuf_len(out));

	for (i = 0; i < nlines; i++)
		myfree(lines[i].replace);
	myfree(lines);
	for (i = 0; i < nedits; i++) {
		myfree(edits[i].name);
		myfree(edits[i].value);
	}
	myfree(edits);
	myfree(last);
	myfree(text);
	strbuf_free(&path);
	strbuf_free(&out);
}

int main(int argc, char **argv)
{
	const char *opt_c = NULL;
	int flags = 0, edit = 0, remove = 0, master = 0, types = 0, ch;

	msg_open("postern/postern-conf");
	msg_set_stderr(1);
	msg_set_cleanup(cleanup_temp);

	if (argc == 3 && strcmp(argv[1], "--man-page") == 0) {
		show_man_page(argv[2]);
		return fflush(stdout) == 0 ? 0 : 1;
	}
	while ((ch = getopt(argc, argv, "c:dehmMnvxX")) != -1) {
		switch (ch) {
		case 'c':
			opt_c = optarg;
			break;
		case 'd':
			flags |= SHOW_DEFAULTS;
			break;
		case 'e':
			edit = 1;
			break;
		case 'h':
			flags |= SHOW_VALUES;
			break;
		case 'm':
			types = 1;
			break;
		case 'M':
			master = 1;
			break;
		case 'n':
			flags |= SHOW_NONDEF;
			break;
		case 'v':
			msg_verbose++;
			break;
		case 'x':
			flags |= SHOW_EXPAND;
			break;
		case 'X':
			remove = 1;
			break;
		default:
			usage();
		}
	}
	if (edit + remove + master + types > 1
	    || ((flags & SHOW_DEFAULTS) && (flags & SHOW_NONDEF)))
		usage();
	const char *dir = mail_conf_dir(opt_c);

	if (types) {
		for (size_t i = 0; i < sizeof(table_types) / sizeof(table_types[0]); i++)
			printf("%s\n", table_types[i]);
	} else if (master) {
		show_master(dir, argv + optind);
	} else if (edit || remove) {
		edit_main_cf(dir, argv + optind, remove);
	} else {
		show_params(dir, flags, argv + optind);
	}
	if (fflush(stdout) != 0)
		msg_fatal("write standard output: %m");
	mail_conf_reset();
	return 0;
}
