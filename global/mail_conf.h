/*
 * mail_conf - reading main.cf into the parameter variables.
 *
 * main.cf syntax is Postfix's: "name = value" lines, # comments on lines of
 * their own, a line starting with whitespace continues the previous one,
 * the last assignment wins. Values are expanded lazily and recursively with
 * $name, ${name}, $(name), ${name?text} (text if name is non-empty),
 * ${name:text} (text if name is empty), ${name?{text1}:{text2}}, and $$
 * for a literal $; bounded in depth (100) and size (1 MiB) so a loop is
 * an error, not a hang. An undefined $name expands to empty with a
 * warning. A name not in mail_params.def warns with file and line
 * (reserved Postfix names: "not supported by postern yet"), unless it is
 * a per-transport limit ("<transport>_destination_concurrency_limit" and
 * the other qmgr limits Postfix lets a master.cf name prefix, and
 * pipe's "<transport>_time_limit"), or
 * another value in main.cf or master.cf refers to it: then it is a
 * user-defined parameter, as in Postfix. A value of the wrong type is an
 * error naming file, line and parameter.
 *
 * Where main.cf lives: the -c option of every command, else the
 * MAIL_CONFIG environment variable, else the compiled-in DEF_CONFIG_DIR.
 *
 * Strings handed out (var_* strings, mail_conf_eval results, setting
 * lists) are owned by this module and stay valid until the next
 * read/load/override.
 */
#ifndef POSTERN_MAIL_CONF_H
#define POSTERN_MAIL_CONF_H

#include <stddef.h>

#include "mail_params.h"

/* A logical line of main.cf may be this long (continuations included). */
#define MAIL_CONF_LINE_MAX (1024 * 1024)

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

/* mail_conf_read for a set-gid program (postdrop, postern-queue): a
 * configuration directory other than the default is refused
 * (EX_NOPERM) unless the caller is root or the default main.cf lists it
 * in alternate_config_directories, so a user cannot point the program's
 * privilege at a main.cf of their own. Without set-gid/set-uid there is
 * nothing to protect and any directory is read. */
void mail_conf_read_trusted(const char *conf_dir);
/* The non-fatal forms of the two above, for reload and tests: 0, or -1
 * with *errp (caller frees) and the previous configuration unchanged. */
int mail_conf_load(const char *config_dir, char **errp);
int mail_conf_set(const char *assignment, char **errp);
/* Only the syntax step of mail_conf_load: read and check main.cf, record
 * the settings (and warn about unknown names), but leave var_* alone.
 * postern-conf uses it to show a main.cf whose values may be wrong. */
int mail_conf_parse(const char *config_dir, char **errp);
/* Forget every setting (back to all defaults; var_* untouched). */
void mail_conf_reset(void);

/* The raw (unexpanded) value as set in main.cf or by an override, or NULL
 * if the parameter is not set explicitly. */
const char *mail_conf_lookup_raw(const char *name);
/* The expanded value of any parameter (explicit, else default), or NULL if
 * the name is unknown and unset; this is how per-transport parameters are
 * read. Borrowed until the next read/override (for a name not in the
 * table: until the next such call). */
const char *mail_conf_eval(const char *name);
/* Expand $name references in text against the current configuration; the
 * result is the caller's to free. NULL and a reason on a loop/too deep. */
char *mail_conf_expand(const char *text, char **errp);
/* The default of a table parameter, unexpanded; a PARAM_COMPUTED default
 * is worked out now (myhostname from gethostname(2), mydomain from
 * $myhostname). Borrowed until the next read/override. */
const char *mail_conf_default(const struct param_info *param);

/* One explicit setting. file is NULL (and line 0) for an override. */
struct mail_conf_setting {
	char *name;
	char *value;		/* raw, as written */
	char *file;
	int line;
};
/* The explicit settings, sorted by name; *countp gets their number. */
const struct mail_conf_setting *mail_conf_settings(size_t *countp);

/* Typed parsing of a value string, shared with master.cf -o handling.
 * Each returns 0, or -1 when the value does not parse or is out of range
 * (*out unchanged). */
int conf_parse_bool(const char *value, int *out);
int conf_parse_int(const char *value, long min, long max, long *out);
/* "30", "30s", "5m", "2h", "1d", "1w"; def_unit is 's' for most. */
int conf_parse_time(const char *value, int def_unit, long *out);

/* Split a list value on commas and whitespace into a NULL-terminated array
 * (caller frees with conf_list_free). A "{ ... }" group is one element,
 * braces kept, so "inline:{ a=b, c=d }" survives. */
char **conf_list_split(const char *value);
void conf_list_free(char ***listp);

#endif
