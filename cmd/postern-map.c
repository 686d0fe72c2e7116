/*
 * postern-map - build, query and change lookup tables (Postfix's postmap
 * and postalias in one command); see postern-map(1).
 *
 * A build never changes the table in place: dict builds into a temporary
 * file and renames it over the old table only after every line of the
 * source parsed and the file is on disk, so a daemon reads the old table
 * or the new one, and a bad line leaves the old table untouched. In-place
 * changes (-i, -d) hold the table's lock (dict_file.h), so two postern-map
 * runs never interleave their writes.
 *
 * Exit status: 0 done or found; 1 not found (-q, -d); 64 usage; 65 bad
 * source text; 66 source cannot be opened; 75 a table cannot be opened,
 * read or written (a caller may retry later).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "dict.h"
#include "dict_text.h"
#include "mail_conf.h"
#include "mail_params.h"
#include "msg.h"
#include "mymalloc.h"
#include "strbuf.h"

struct options {
	int dict_flags; /* DICT_FOLD_KEYS, DICT_DUP_REPLACE */
	int text_flags; /* DICT_TEXT_ALIAS */
	int quiet_dups; /* -w */
};

static void usage(void)
{
	msg_fatal_status(EX_USAGE,
			 "usage: postern-map [-c config_dir] [-N] [-a] [-f] "
			 "[-r] [-w] [-v] [-i | -q key | -d key | -s] "
			 "[type:]file ...");
}

/* "type:name" for a command-line table: the type given, or
 * default_database_type for a plain file name. Caller frees. */
static char *table_spec(const char *arg)
{
	const char *colon = strchr(arg, ':');
	struct strbuf *spec = strbuf_new(STRBUF_NO_MAX);
	char *type = colon ? mystrndup(arg, (size_t)(colon - arg)) : NULL;
	char *result;

	if (type && dict_type_known(type))
		strbuf_puts(spec, arg);
	else
		strbuf_printf(spec, "%s:%s", var_default_database_type, arg);
	myfree(type);
	result = strbuf_export(spec);
	strbuf_free(&spec);
	return result;
}

struct load_ctx {
	struct dict *dict;
	const struct options *opt;
	const char *origin;
	int status; /* exit status of a failed update */
};

static int load_entry(void *ctx, const char *key, const char *value, int lineno,
		      struct strbuf *why)
{
	struct load_ctx *lc = ctx;
	int ret = dict_update(lc->dict, key, value);

	if (ret == DICT_ERROR) {
		strbuf_printf(why, "%s:%d: %s", lc->origin, lineno,
			      dict_error(lc->dict));
		lc->status = EX_TEMPFAIL;
		return -1;
	}
	if (ret == DICT_EXISTS && !lc->opt->quiet_dups)
		msg_warn("%s:%d: duplicate entry for \"%s\", keeping the first "
			 "(use -r to replace)",
			 lc->origin, lineno, key);
	return 0;
}

/* Read entries from src into dict; 0 or an exit status. */
static int load(struct dict *dict, FILE *src, const char *origin,
		const struct options *opt)
{
	struct load_ctx lc = {dict, opt, origin, EX_DATAERR};
	struct strbuf *why = strbuf_new(STRBUF_NO_MAX);
	int status = 0;

	if (dict_text_parse(src, origin, opt->text_flags, load_entry, &lc,
			    why) < 0) {
		msg_error("%s", strbuf_str(why));
		status = lc.status;
	}
	strbuf_free(&why);
	return status;
}

static int build(const char *arg, const struct options *opt)
{
	char *spec = table_spec(arg);
	const char *name = strchr(spec, ':') + 1;
	char *type = mystrndup(spec, (size_t)(name - 1 - spec));
	struct dict *dict = NULL;
	char *err = NULL;
	FILE *src = NULL;
	int status = 0;

	if (!dict_type_buildable(type, NULL)) {
		msg_error("%s: a %s table is read directly and not built; "
			  "use -q to test it",
			  spec, type);
		status = EX_USAGE;
	} else if ((src = fopen(name, "re")) == NULL) {
		/* Never replace a table with an empty one because its source
		 * went missing. */
		msg_error("open source file %s: %s", name, strerror(errno));
		status = EX_NOINPUT;
	} else if ((dict = dict_open(spec, DICT_TRUNC | opt->dict_flags,
				     &err)) == NULL) {
		msg_error("%s", err);
		status = EX_TEMPFAIL;
	} else if ((status = load(dict, src, name, opt)) == 0 &&
		   dict_commit(dict) < 0) {
		msg_error("%s", dict_error(dict));
		status = EX_TEMPFAIL;
	}
	if (src)
		fclose(src);
	dict_close(&dict); /* discards the build unless committed */
	myfree(err);
	myfree(type);
	myfree(spec);
	return status;
}

static struct dict **open_all(int argc, char **argv, int flags)
{
	struct dict **dicts = mycalloc((size_t)argc + 1, sizeof(*dicts));
	char *spec, *err = NULL;

	for (int i = 0; i < argc; i++) {
		spec = table_spec(argv[i]);
		if ((dicts[i] = dict_open(spec, flags, &err)) == NULL)
			msg_fatal_status(EX_TEMPFAIL, "%s", err);
		myfree(spec);
	}
	return dicts;
}

static void close_all(struct dict ***dictsp)
{
	for (struct dict **dp = *dictsp; *dp; dp++)
		dict_close(dp);
	myfree(*dictsp);
}

/* Keys from -q/-d: the one given, or one per line of stdin for "-". */
static int next_key(const char *arg, struct strbuf *line, int *done)
{
	int ch;

	if (*done)
		return 0;
	if (strcmp(arg, "-") != 0) {
		strbuf_set(line, arg);
		*done = 1;
		return 1;
	}
	for (;;) {
		strbuf_reset(line);
		while ((ch = getchar()) != EOF && ch != '\n')
			if (strbuf_putc(line, ch) < 0)
				msg_fatal_status(EX_DATAERR,
						 "stdin: key longer "
						 "than %d bytes",
						 DICT_KEY_MAX);
		if (ch == EOF && strbuf_len(line) == 0) {
			*done = 1;
			return 0;
		}
		while (strbuf_len(line) > 0 &&
		       strchr(" \t\r", line->data[strbuf_len(line) - 1]))
			strbuf_truncate(line, strbuf_len(line) - 1);
		if (strbuf_len(line) > 0)
			return 1;
	}
}

static int query(const char *key_arg, int argc, char **argv,
		 const struct options *opt)
{
	struct dict **dicts =
	    open_all(argc, argv, opt->dict_flags & DICT_FOLD_KEYS);
	struct strbuf *key = strbuf_new(DICT_KEY_MAX);
	int many = strcmp(key_arg, "-") == 0;
	int done = 0, found = 0;
	const char *value;

	while (next_key(key_arg, key, &done)) {
		for (struct dict **dp = dicts; *dp; dp++) {
			int ret = dict_lookup(*dp, strbuf_str(key), &value);

			if (ret == DICT_ERROR)
				msg_fatal_status(EX_TEMPFAIL, "%s",
						 dict_error(*dp));
			if (ret == DICT_FOUND) {
				if (many)
					printf("%s\t%s\n", strbuf_str(key),
					       value);
				else
					printf("%s\n", value);
				found = 1;
				break;
			}
		}
	}
	if (fflush(stdout) != 0)
		msg_fatal_status(EX_IOERR, "write to stdout: %s",
				 strerror(errno));
	strbuf_free(&key);
	close_all(&dicts);
	return found ? 0 : 1;
}

static int delete (const char *key_arg, int argc, char **argv,
		   const struct options *opt)
{
	struct dict **dicts = open_all(
	    argc, argv, DICT_WRITE | (opt->dict_flags & DICT_FOLD_KEYS));
	struct strbuf *key = strbuf_new(DICT_KEY_MAX);
	int done = 0, found = 0;

	while (next_key(key_arg, key, &done)) {
		for (struct dict **dp = dicts; *dp; dp++) {
			int ret = dict_delete(*dp, strbuf_str(key));

			if (ret == DICT_ERROR)
				msg_fatal_status(EX_TEMPFAIL, "%s",
						 dict_error(*dp));
			found |= ret == DICT_FOUND;
		}
	}
	for (struct dict **dp = dicts; *dp; dp++)
		if (dict_commit(*dp) < 0)
			msg_fatal_status(EX_TEMPFAIL, "%s", dict_error(*dp));
	strbuf_free(&key);
	close_all(&dicts);
	return found ? 0 : 1;
}

static int incremental(const char *arg, const struct options *opt)
{
	char *spec = table_spec(arg);
	char *err = NULL;
	struct dict *dict;
	int status;

	dict =
	    dict_open(spec, DICT_WRITE | DICT_CREATE | opt->dict_flags, &err);
	if (dict == NULL)
		msg_fatal_status(EX_TEMPFAIL, "%s", err);
	/* Nothing is committed unless all of stdin was good. */
	if ((status = load(dict, stdin, "stdin", opt)) == 0 &&
	    dict_commit(dict) < 0) {
		msg_error("%s", dict_error(dict));
		status = EX_TEMPFAIL;
	}
	dict_close(&dict);
	myfree(spec);
	return status;
}

static int dump(int argc, char **argv, const struct options *opt)
{
	struct dict **dicts = open_all(argc, argv, 0);
	const char *key, *value;
	int ret;

	for (struct dict **dp = dicts; *dp; dp++) {
		for (ret = dict_sequence(*dp, 1, &key, &value);
		     ret == DICT_FOUND;
		     ret = dict_sequence(*dp, 0, &key, &value))
			printf((opt->text_flags & DICT_TEXT_ALIAS) ? "%s: %s\n"
								   : "%s\t%s\n",
			       key, value);
		if (ret == DICT_ERROR)
			msg_fatal_status(EX_TEMPFAIL, "%s", dict_error(*dp));
	}
	if (fflush(stdout) != 0)
		msg_fatal_status(EX_IOERR, "write to stdout: %s",
				 strerror(errno));
	close_all(&dicts);
	return 0;
}

int main(int argc, char **argv)
{
	struct options opt = {DICT_FOLD_KEYS, 0, 0};
	const char *conf_dir = NULL;
	const char *key = NULL;
	int mode = 0;
	int ch, status = 0;

	msg_open("postern-map");
	msg_set_stderr(1);
	while ((ch = getopt(argc, argv, "ac:d:fiNq:rsvw")) != -1) {
		switch (ch) {
		case 'a':
			opt.text_flags |= DICT_TEXT_ALIAS;
			break;
		case 'c':
			conf_dir = optarg;
			break;
		case 'f':
			opt.dict_flags &= ~DICT_FOLD_KEYS;
			break;
		case 'N':
			/* Keys and values always carry their NUL. */
			break;
		case 'r':
			opt.dict_flags |= DICT_DUP_REPLACE;
			break;
		case 'v':
			msg_verbose++;
			break;
		case 'w':
			opt.quiet_dups = 1;
			break;
		case 'd':
		case 'q':
			key = optarg;
			/* FALLTHROUGH */
		case 'i':
		case 's':
			if (mode != 0 && mode != ch)
				msg_fatal_status(EX_USAGE,
						 "-%c and -%c cannot "
						 "be combined",
						 mode, ch);
			mode = ch;
			break;
		default:
			usage();
		}
	}
	if (optind >= argc)
		usage();
	if (mode == 'i' && argc - optind != 1)
		msg_fatal_status(EX_USAGE, "-i takes exactly one table");
	if (mode == 'q' && *key == 0)
		msg_fatal_status(EX_USAGE, "-q: empty key");

	/* The configuration only decides the default table type and where
	 * messages go. */
	mail_conf_read(mail_conf_dir(conf_dir));
	if (*var_maillog_file && msg_set_output(var_maillog_file) < 0)
		msg_warn("open %s: %s", var_maillog_file, strerror(errno));
	if (!dict_type_buildable(var_default_database_type, NULL))
		msg_fatal_status(EX_CONFIG,
				 "default_database_type = %s: not "
				 "a table type that postern-map builds (hash, "
				 "btree, lmdb, cdb)",
				 var_default_database_type);

	argc -= optind;
	argv += optind;
	switch (mode) {
	case 'q':
		return query(key, argc, argv, &opt);
	case 'd':
		return delete (key, argc, argv, &opt);
	case 'i':
		return incremental(argv[0], &opt);
	case 's':
		return dump(argc, argv, &opt);
	default:
		for (int i = 0; i < argc; i++) {
			int ret = build(argv[i], &opt);

			if (ret != 0 && status == 0)
				status = ret;
		}
		return status;
	}
}
