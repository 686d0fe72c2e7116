/*
 * priv - dropping privileges.
 *
 * Order matters and is fixed here once: look up the user and its groups
 * (while /etc is still visible), chroot (while still root), setgroups,
 * setgid, setuid; then verify that no saved id can bring root back. When
 * the process is not root (a sandbox instance run by an ordinary user)
 * there is nothing to drop and nothing we could switch to: every call is a
 * no-op, so the whole system runs as that one user.
 */
#ifndef POSTERN_PRIV_H
#define POSTERN_PRIV_H

#include <sys/types.h>

/* Look up a user: 0 with uid/gid filled, -1 if unknown (errno 0) or the
 * lookup failed (errno set). */
int priv_lookup_user(const char *name, uid_t *uid, gid_t *gid);
/* Look up a group: 0 with gid filled, or -1 as priv_lookup_user. */
int priv_lookup_group(const char *name, gid_t *gid);
/* As root: chroot to root_dir (NULL or "": none), then become user with its
 * supplementary groups. msg_fatal on any failure, an unknown user or a user
 * with uid 0: a daemon that cannot drop privileges must not run. Not root:
 * a no-op (root_dir is ignored too). */
void priv_drop(const char *root_dir, const char *user);
/* Become uid/gid with gid as the only group (local delivery as the
 * recipient). msg_fatal as priv_drop, uid 0 included; no-op when not root. */
void priv_drop_ids(uid_t uid, gid_t gid);

#endif
