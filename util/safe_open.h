/*
 * safe_open - open files where an attacker may plant links.
 *
 * Inside the queue, log and data directories a symlink or hard link put in
 * place by someone else must never redirect a privileged write. safe_open()
 * refuses symlinks (O_NOFOLLOW), refuses files with more than one link, and
 * checks with fstat that the file is a regular file owned by the expected
 * user when one is given; on O_CREAT|O_EXCL nothing can be redirected.
 * Only the last path component is protected: the directories on the way
 * must be trusted (owned by root or mail_owner), or use safe_openat() with
 * a directory descriptor opened once.
 */
#ifndef POSTERN_SAFE_OPEN_H
#define POSTERN_SAFE_OPEN_H

#include <stddef.h>
#include <sys/types.h>

struct strbuf;

/* Open path (flags as open(2), O_CLOEXEC|O_NOFOLLOW added; O_TRUNC is
 * applied only after the checks pass). owner == (uid_t) -1: any owner.
 * Returns fd, or -1 with errno set and the reason written to why (may be
 * NULL): ELOOP for a symlink, EINVAL for a non-regular file, EMLINK for a
 * hard-linked file, EPERM for the wrong owner, else open's errno. */
int safe_open(const char *path, int flags, mode_t mode, uid_t owner,
	      struct strbuf *why);
/* Same relative to dirfd (openat). */
int safe_openat(int dirfd, const char *path, int flags, mode_t mode,
		uid_t owner, struct strbuf *why);
/* Write a whole file atomically: temp file in the same directory, fsync,
 * rename over path, fsync the directory. 0, or -1 with the reason in why;
 * on failure path keeps its old content and no temp file is left. */
int safe_write_file(const char *path, const void *data, size_t len, mode_t mode,
		    struct strbuf *why);

#endif
