/*
 * mail_params - the parameter variables, generated from mail_params.def.
 *
 * Besides the variables and the table of implemented parameters, this
 * module knows the names of the Postfix parameters that postern reserves
 * (will support, does not use yet), so that main.cf can tell "not yet"
 * from "unknown", and it writes the parameter list of postern.conf(5).
 */
#ifndef POSTERN_MAIL_PARAMS_H
#define POSTERN_MAIL_PARAMS_H

#include <stddef.h>

#define PARAM_STR(n, d, doc)  extern char *var_##n;
#define PARAM_RAW(n, d, doc)  extern char *var_##n;
#define PARAM_INT(n, d, doc)  extern int var_##n;
#define PARAM_LONG(n, d, doc) extern long var_##n;
#define PARAM_BOOL(n, d, doc) extern int var_##n;
#define PARAM_TIME(n, d, doc) extern int var_##n;
#include "mail_params.def"
#undef PARAM_STR
#undef PARAM_RAW
#undef PARAM_INT
#undef PARAM_LONG
#undef PARAM_BOOL
#undef PARAM_TIME

/* The default of a parameter whose value is worked out at run time
 * (mail_conf_default() in mail_conf.h computes it). */
#define PARAM_COMPUTED ((const char *) 0)

enum param_type { PT_STR, PT_RAW, PT_INT, PT_LONG, PT_BOOL, PT_TIME };

/* One row of the table, for postern-conf, the man page and main.cf checks. */
struct param_info {
	const char *name;
	enum param_type type;
	const char *def;	/* default, unexpanded; PARAM_COMPUTED (NULL)
				 * if computed: use mail_conf_default() */
	const char *doc;	/* roff-safe prose */
	void *var;		/* &var_name */
};

extern const struct param_info mail_param_table[];
extern const size_t mail_param_count;
/* The row for name, or NULL. */
const struct param_info *mail_param_find(const char *name);
/* "string", "integer", "boolean", "time" for messages and the man page. */
const char *mail_param_type_name(enum param_type type);
/* 1 if main.cf cannot change the parameter (mail_version). */
int mail_param_readonly(const struct param_info *param);

/* Postfix parameters postern plans to support but does not use yet,
 * sorted; setting one warns "not supported by postern yet". */
extern const char *const mail_param_reserved[];
extern const size_t mail_param_reserved_count;
/* 1 if name is a reserved (planned, not yet used) parameter. */
int mail_param_is_reserved(const char *name);

struct strbuf;

/* Write the man page: template with its marker line ".\" @PARAMETERS@"
 * replaced by one entry per parameter. 0, or -1 with *errp (caller frees)
 * when the template has no marker or the output would be too large. */
int mail_param_manpage(const char *template_text, struct strbuf *out,
		       char **errp);

#endif
