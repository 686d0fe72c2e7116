/*
 * priv - dropping privileges; see priv.h.
 *
 * Safety argument. Groups go before the uid, because after setuid() we no
 * longer may change them. As root, setuid() sets real, effective and saved
 * uid alike, so afterwards setuid(0) must fail: we test exactly that, and
 * compare all three uids and gids, instead of trusting the return values.
 * The supplementary groups are computed with getgrouplist() before the
 * chroot: initgroups() after it would read the jail's /etc/group (or none)
 * and silently give the wrong groups. Refusing uid 0 as a target keeps a
 * configuration mistake (mail_owner = root) from running every daemon as
 * root.
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <string.h>
#include <unistd.h>

#include "msg.h"
#include "mymalloc.h"
#include "priv.h"

int priv_lookup_user(const char *name, uid_t *uid, gid_t *gid)
{
	struct passwd *pw;

	errno = 0;
	if ((pw = getpwnam(name)) == NULL)
		return -1;
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	return 0;
}

int priv_lookup_group(const char *name, gid_t *gid)
{
	struct group *gr;

	errno = 0;
	if ((gr = getgrnam(name)) == NULL)
		return -1;
	*gid = gr->gr_gid;
	return 0;
}

/* Verify that the ids are exactly uid/gid and root cannot come back. */
static void priv_verify(uid_t uid, gid_t gid)
{
	uid_t ruid, euid, suid;
	gid_t rgid, egid, sgid;

	if (getresuid(&ruid, &euid, &suid) < 0 ||
	    getresgid(&rgid, &egid, &sgid) < 0)
		msg_fatal("getresuid/getresgid: %m");
	if (ruid != uid || euid != uid || suid != uid)
		msg_fatal(
		    "privilege drop failed: uids %lu/%lu/%lu, expected %lu",
		    (unsigned long)ruid, (unsigned long)euid,
		    (unsigned long)suid, (unsigned long)uid);
	if (rgid != gid || egid != gid || sgid != gid)
		msg_fatal(
		    "privilege drop failed: gids %lu/%lu/%lu, expected %lu",
		    (unsigned long)rgid, (unsigned long)egid,
		    (unsigned long)sgid, (unsigned long)gid);
	if (setuid(0) == 0 || seteuid(0) == 0)
		msg_fatal("privilege drop failed: root can be regained");
}

static void priv_set_ids(uid_t uid, gid_t gid, const gid_t *groups,
			 size_t ngroups)
{
	if (uid == 0)
		msg_fatal("refusing to run as uid 0 after a privilege drop");
	if (setgroups(ngroups, groups) < 0)
		msg_fatal("setgroups: %m");
	if (setgid(gid) < 0)
		msg_fatal("setgid %lu: %m", (unsigned long)gid);
	if (setuid(uid) < 0)
		msg_fatal("setuid %lu: %m", (unsigned long)uid);
	priv_verify(uid, gid);
}

void priv_drop(const char *root_dir, const char *user)
{
	gid_t *groups;
	uid_t uid;
	gid_t gid;
	int ngroups = 16;

	if (geteuid() != 0)
		return;
	if (user == NULL || *user == 0)
		msg_fatal("priv_drop: no user name given");
	if (priv_lookup_user(user, &uid, &gid) < 0)
		msg_fatal("unknown user \"%s\"%s%s", user, errno ? ": " : "",
			  errno ? strerror(errno) : "");
	groups = mycalloc((size_t)ngroups, sizeof(*groups));
	while (getgrouplist(user, gid, groups, &ngroups) < 0) {
		/* ngroups now says how many there are; retry once sized. */
		if (ngroups <= 0 || ngroups > 65536)
			msg_fatal("getgrouplist %s: bad group count %d", user,
				  ngroups);
		groups =
		    myreallocarray(groups, (size_t)ngroups, sizeof(*groups));
	}
	if (root_dir != NULL && *root_dir != 0) {
		if (chroot(root_dir) < 0)
			msg_fatal("chroot %s: %m", root_dir);
		if (chdir("/") < 0)
			msg_fatal("chdir / in %s: %m", root_dir);
	}
	priv_set_ids(uid, gid, groups, (size_t)ngroups);
	myfree(groups);
}

void priv_drop_ids(uid_t uid, gid_t gid)
{
	if (geteuid() != 0)
		return;
	priv_set_ids(uid, gid, &gid, 1);
}
