/*
 * dict_unix - the passwd and group databases as tables; see dict_unix.h.
 *
 * getpwnam() returns NULL both for "no such user" and for a failure; errno
 * set to 0 beforehand tells them apart (glibc leaves it 0, or sets ENOENT
 * or ESRCH, for a name that does not exist).
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <string.h>

#include "dict.h"
#include "dict_unix.h"
#include "strbuf.h"

struct dict_unix {
	struct dict dict;
	int group; /* group.byname instead of passwd.byname */
	struct strbuf *value;
};

static int unix_not_found(int err)
{
	return err == 0 || err == ENOENT || err == ESRCH || err == EBADF ||
	       err == EPERM;
}

static int unix_lookup(struct dict *dict, const char *key, const char **value)
{
	struct dict_unix *du = (struct dict_unix *)dict;

	strbuf_reset(du->value);
	errno = 0;
	if (!du->group) {
		struct passwd *pw = getpwnam(key);

		if (pw == NULL)
			goto none;
		strbuf_printf(du->value, "%s:%s:%ld:%ld:%s:%s:%s", pw->pw_name,
			      pw->pw_passwd, (long)pw->pw_uid, (long)pw->pw_gid,
			      pw->pw_gecos, pw->pw_dir, pw->pw_shell);
	} else {
		struct group *gr = getgrnam(key);

		if (gr == NULL)
			goto none;
		strbuf_printf(du->value, "%s:%s:%ld:", gr->gr_name,
			      gr->gr_passwd, (long)gr->gr_gid);
		for (char **mem = gr->gr_mem; *mem; mem++)
			strbuf_printf(du->value, "%s%s",
				      mem == gr->gr_mem ? "" : ",", *mem);
	}
	*value = strbuf_str(du->value);
	return DICT_FOUND;

none:
	if (unix_not_found(errno))
		return DICT_NOTFOUND;
	return dict_set_error(dict, "unix:%s: lookup of \"%s\": %s", dict->name,
			      key, strerror(errno));
}

static void unix_close(struct dict *dict)
{
	strbuf_free(&((struct dict_unix *)dict)->value);
}

struct dict *dict_unix_open(const char *name, int flags, struct strbuf *why)
{
	struct dict *dict;
	int group;

	if (strcmp(name, "passwd.byname") == 0)
		group = 0;
	else if (strcmp(name, "group.byname") == 0)
		group = 1;
	else {
		strbuf_printf(why,
			      "unix:%s: unknown table (use passwd.byname "
			      "or group.byname)",
			      name);
		return NULL;
	}
	dict = dict_alloc("unix", name, flags | DICT_NO_FOLD,
			  sizeof(struct dict_unix));
	((struct dict_unix *)dict)->group = group;
	((struct dict_unix *)dict)->value = strbuf_new(STRBUF_NO_MAX);
	dict->lookup = unix_lookup;
	dict->close = unix_close;
	return dict;
}
