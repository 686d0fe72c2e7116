/*
 * dict_file - the file handling that the file-backed table types share:
 * temporary build files, locks, and the atomic install of a rebuilt table.
 *
 * Safety argument. A rebuilt table is written to a temporary file in the
 * directory of the final file, fsynced, then rename()d over it, and the
 * directory is fsynced: a reader that opens the final name gets the old
 * table or the new one, and a crash leaves the old one (plus a stray
 * temporary file). Writers that change a table in place hold an exclusive
 * open-file-description lock (F_OFD_SETLKW) on the table file; the
 * installer takes the same lock on the old file before the rename, so a
 * rebuild never replaces a table under an in-place writer, and a writer that
 * waited on a file that was replaced meanwhile sees that the name now
 * points elsewhere and starts over. OFD locks are used because the database
 * libraries open and close their own descriptors on the same file, which
 * would drop a classic POSIX record lock.
 */
#ifndef POSTERN_DICT_FILE_H
#define POSTERN_DICT_FILE_H

struct strbuf;

/* The file of a table: name followed by suffix (".db"); caller frees. */
char *dict_file_path(const char *name, const char *suffix);
/* Create an empty temporary file next to final ("final.tmpXXXXXX", mode
 * 0644 less umask). Returns its malloc'd path, or NULL with why set. */
char *dict_file_temp(const char *final, struct strbuf *why);
/* Open path read-write and wait for an exclusive lock on it, making sure the
 * locked file is still the one that path names. Returns the locked fd,
 * -2 if path does not exist, or -1 with why set. */
int dict_file_lock(const char *path, struct strbuf *why);
/* fsync tmp, then rename it over final while holding final's lock (when it
 * exists; have_lock says the caller holds it already), then fsync the
 * directory. 0, or -1 with why set (tmp is left for the caller to remove). */
int dict_file_install(const char *tmp, const char *final, int have_lock,
		      struct strbuf *why);
/* Like dict_file_install, but only when final does not exist yet (link, not
 * rename): 0 installed, 1 final already existed (tmp untouched), -1 error. */
int dict_file_install_new(const char *tmp, const char *final,
			  struct strbuf *why);

#endif
