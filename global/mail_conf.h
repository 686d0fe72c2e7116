/*
 * mail_conf - reading main.cf into the parameter variables.
 *
 * main.cf syntax is Postfix's: "name = value" lines, # comments on lines of
 * their own, a line starting with whitespace continues the previous one,
 * the last assignment wins. Values are expanded lazily and recursively with
 * $name, ${name}, $(name), ${name?text} (text if name is non-empty),
 * ${name:text} (text if name is empty), bounded in depth so a loop is an
 * error, not a hang. A name not in mail_params.def warns with file and
 * line; a value of the wrong type is fatal, naming file, line and parameter.
 *
 * Where main.cf lives: the -c option of every command, else the
 * MAIL_CONFIG environment variable, else the compiled-in DEF_CONFIG_DIR.
 */
#ifndef POSTERN_MAIL_CONF_H
#define POSTERN_MAIL_CONF_H

#include "mail_params.h"

/* Pick the configuration directory: opt_c (from -c) if non-NULL, else
 * $MAIL_CONFIG, else DEF_CONFIG_DIR. The string is static/borrowed. */
const char *mail_conf_dir(const char *opt_c);

/* Read config_dir/main.cf and set every var_*: msg_fatal when main.cf
 * cannot be read or a value does not parse. A missing main.cf is not an
 * error (all defaults). Sets var_config_directory to config_dir. */
void mail_conf_read(const char *config_dir);
/* Apply a "name=value" override (master.cf -o, command -o) and re-evaluate
 * every variable. msg_fatal on a malformed assignment or bad value. */
void mail_conf_override(const char *assignment);

/* The raw (unexpanded) value as set in main.cf or by an override, or NULL
 * if the parameter is not set explicitly. */
const char *mail_conf_lookup_raw(const char *name);
/* The expanded value of any parameter (explicit, else default), or NULL if
 * the name is unknown and unset. Borrowed until the next read/override. */
const char *mail_conf_eval(const char *name);
/* Expand $name references in text against the current configuration; the
 * result is the caller's to free. NULL and a reason on a loop/too deep. */
char *mail_conf_expand(const char *text, char **errp);

/* Typed parsing of a value string, shared with master.cf -o handling. */
int conf_parse_bool(const char *value, int *out);
int conf_parse_int(const char *value, long min, long max, long *out);
/* "30", "30s", "5m", "2h", "1d", "1w"; def_unit is 's' for most. */
int conf_parse_time(const char *value, int def_unit, long *out);

/* Split a list value on commas and whitespace into a NULL-terminated array
 * (caller frees with conf_list_free). */
char **conf_list_split(const char *value);
void conf_list_free(char ***listp);

#endif
