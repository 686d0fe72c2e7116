/*
 * priv - dropping privileges.
 *
 * Order matters and is fixed here once: look up the user, chroot (while
 * still root), setgid, initgroups, setuid; then verify that the saved ids
 * cannot bring root back. When the process is not root (a sandbox instance)
 * every step is a checked no-op: the caller must already be the target user
 * or the same unprivileged user that started master.
 */
#ifndef POSTERN_PRIV_H
#define POSTERN_PRIV_H

#include <sys/types.h>

/* Look up a user: 0 with uid/gid filled, -1 if unknown. */
int priv_lookup_user(const char *name, uid_t *uid, gid_t *gid);
/* Look up a group: 0 or -1. */
int priv_lookup_group(const char *name, gid_t *gid);
/* chroot to root_dir (NULL: none) and become user; msg_fatal on failure:
 * a daemon that cannot drop privileges must not run. */
void priv_drop(const char *root_dir, const char *user);
/* Same by ids (local delivery to a recipient): setgid, setgroups, setuid. */
void priv_drop_ids(uid_t uid, gid_t gid);

#endif
