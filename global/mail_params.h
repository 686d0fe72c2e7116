/*
 * mail_params - the parameter variables, generated from mail_params.def.
 */
#ifndef POSTERN_MAIL_PARAMS_H
#define POSTERN_MAIL_PARAMS_H

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

enum param_type { PT_STR, PT_RAW, PT_INT, PT_LONG, PT_BOOL, PT_TIME };

/* One row of the table, for postern-conf, the man page and main.cf checks. */
struct param_info {
	const char *name;
	enum param_type type;
	const char *def;	/* default, unexpanded */
	const char *doc;	/* roff-safe prose */
	void *var;		/* &var_name */
};

extern const struct param_info mail_param_table[];
extern const size_t mail_param_count;
/* The row for name, or NULL. */
const struct param_info *mail_param_find(const char *name);

#endif
