/*
 * pickup - hand local submissions from maildrop/ to cleanup (see
 * pickup(8)).
 *
 * A trigger service (master.cf: pickup unix n - n 60 1 pickup): postdrop
 * wakes it after each submission and master every 60 seconds, so a lost
 * trigger only delays mail. On each wakeup it lists maildrop/ and, for
 * each complete file:
 *   1. opens it (no symlinks, regular, one link) and takes the owner's
 *      uid from fstat: postdrop is only set-gid, so the kernel attests
 *      who submitted the file; that uid, not anything written in the
 *      file, is the identity in the log ("ID: uid=N from=<sender>");
 *   2. reads the whole file and checks every record against what
 *      postdrop accepts from a user (cleanup_copy_check): nothing in the
 *      file is trusted, as anyone who can reach maildrop/ could have
 *      written it;
 *   3. sends it to cleanup (CLEANUP_FLAG_FILTER | MAP_OK, plus EXTRACT
 *      when sendmail -t asked for it), re-checking on the way;
 *   4. removes it only after cleanup answered "queued", so a crash or a
 *      cleanup failure leaves it for the next wakeup (at worst the
 *      message is queued twice, never lost).
 * A file that fails the checks, or that cleanup rejects for good (no
 * recipients, too big, content rejected), is moved to corrupt/ with a
 * log line: nothing is deleted silently, and it is not retried forever.
 * A file that is not complete (postdrop still writing: mode 0600, which
 * pickup cannot even open) is left alone.
 *
 * pickup runs as mail_owner: it never needs the submitter's privileges,
 * and cleanup does all the rewriting.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup_clnt.h"
#include "cleanup_copy.h"
#include "mail_params.h"
#include "mail_queue.h"
#include "mail_server.h"
#include "msg.h"
#include "mymalloc.h"
#include "queue_file.h"
#include "queue_scan.h"
#include "strbuf.h"

static struct mail_queue *pickup_mq;

/* Put a maildrop file in corrupt/ and say why. */
static void pickup_corrupt(const char *id, uid_t uid, const char *reason)
{
	struct strbuf *why = strbuf_new(STRBUF_NO_MAX);

	if (mail_queue_rename(pickup_mq, MAIL_QUEUE_MAILDROP,
			      MAIL_QUEUE_CORRUPT, id, why) < 0)
		msg_warn("maildrop/%s: uid=%ld: %s; cannot move it to "
			 "corrupt/: %s",
			 id, (long)uid, reason, strbuf_str(why));
	else
		msg_warn("maildrop/%s: uid=%ld: %s: moved to corrupt/", id,
			 (long)uid, reason);
	strbuf_free(&why);
}

/* Open a second reader on fd, from its start. The queue_file owns the
 * new descriptor. */
static int pickup_reader(int fd, const char *id, struct queue_file **qfp,
			 struct strbuf *why)
{
	int fd2 = fcntl(fd, F_DUPFD_CLOEXEC, 0);

	if (fd2 < 0) {
		strbuf_why(why, "dup: %s", strerror(errno));
		return QUEUE_FILE_ERROR;
	}
	/* dup shares the offset: every pass starts at 0. */
	if (lseek(fd2, 0, SEEK_SET) < 0) {
		strbuf_why(why, "lseek: %s", strerror(errno));
		(void)close(fd2);
		return QUEUE_FILE_ERROR;
	}
	return queue_file_fdopen(fd2, MAIL_QUEUE_MAILDROP, id, 0, qfp, why);
}

/* Copy one file to cleanup. Its status decides what happens to the file. */
static void pickup_file(const char *id)
{
	struct strbuf *why = strbuf_new(STRBUF_NO_MAX);
	struct cleanup_copy_info info = {0};
	struct cleanup_clnt *cc = NULL;
	struct queue_file *qf = NULL;
	struct stat st;
	int fd, status, flags;
	char new_id[MAIL_QUEUE_ID_MAX + 1];

	fd = mail_queue_open_file(pickup_mq, MAIL_QUEUE_MAILDROP, id, O_RDONLY,
				  why);
	if (fd < 0) {
		/* EACCES: postdrop is still writing it (mode 0600).
		 * ENOENT: gone already (another pickup, postern-super). */
		if (errno != EACCES && errno != ENOENT)
			msg_warn("%s", strbuf_str(why));
		goto out;
	}
	if (fstat(fd, &st) < 0) {
		msg_warn("maildrop/%s: fstat: %m", id);
		goto out;
	}
	if ((st.st_mode & S_IRWXU) != (MAIL_QUEUE_STAT_READY & S_IRWXU)) {
		if (msg_verbose)
			msg_info("maildrop/%s: not complete yet", id);
		goto out;
	}
	status = pickup_reader(fd, id, &qf, why);
	if (status == QUEUE_FILE_OK)
		status = cleanup_copy_check(qf, &info, why);
	if (qf != NULL)
		(void)queue_file_close(&qf);
	if (status == QUEUE_FILE_ERROR) {
		msg_warn("maildrop/%s: %s", id, strbuf_str(why));
		goto out;
	}
	if (status != QUEUE_FILE_OK) {
		/* Complete mark but not a whole postdrop file: not written
		 * by postdrop, or damaged. */
		pickup_corrupt(id, st.st_uid, strbuf_str(why));
		goto out;
	}
	flags = CLEANUP_FLAG_FILTER | CLEANUP_FLAG_MAP_OK;
	if (info.extract)
		flags |= CLEANUP_FLAG_EXTRACT;
	cc = cleanup_clnt_open(CLEANUP_SERVICE_PATH, flags, var_ipc_timeout,
			       why);
	if (cc == NULL) {
		msg_warn("maildrop/%s: cleanup service: %s", id,
			 strbuf_str(why));
		goto out;
	}
	snprintf(new_id, sizeof(new_id), "%s", cleanup_clnt_queue_id(cc));
	if ((status = pickup_reader(fd, id, &qf, why)) != QUEUE_FILE_OK ||
	    cleanup_copy(qf, cc, CLEANUP_COPY_MAILDROP, why) < 0) {
		cleanup_clnt_abort(&cc);
		msg_warn("maildrop/%s: %s", id, strbuf_str(why));
		goto out;
	}
	(void)queue_file_close(&qf);
	/* The uid is the kernel's word for who submitted it. */
	msg_info("%s: uid=%ld from=<%s>", new_id, (long)st.st_uid, info.sender);
	status = cleanup_clnt_finish(&cc, why);
	if (status == CLEANUP_STAT_OK) {
		if (mail_queue_remove(pickup_mq, MAIL_QUEUE_MAILDROP, id, why) <
			0 &&
		    errno != ENOENT)
			msg_warn("maildrop/%s: queued as %s, but not "
				 "removed: %s",
				 id, new_id, strbuf_str(why));
	} else if (status & (CLEANUP_STAT_BAD | CLEANUP_STAT_WRITE |
			     CLEANUP_STAT_DEFER)) {
		msg_warn("maildrop/%s: not queued, will try again: %s", id,
			 strbuf_str(why));
	} else {
		struct strbuf *reason = strbuf_new(STRBUF_NO_MAX);

		(void)strbuf_printf(reason, "rejected by cleanup: %s",
				    strbuf_str(why));
		pickup_corrupt(id, st.st_uid, strbuf_str(reason));
		strbuf_free(&reason);
	}
out:
	if (qf != NULL)
		(void)queue_file_close(&qf);
	if (fd >= 0)
		(void)close(fd);
	cleanup_copy_info_free(&info);
	strbuf_free(&why);
}

static void pickup_scan(void)
{
	struct strbuf *why = strbuf_new(STRBUF_NO_MAX);
	struct queue_scan_ids ids = {0};

	if (queue_scan(pickup_mq, MAIL_QUEUE_MAILDROP, &ids, why) < 0)
		msg_warn("scan maildrop: %s", strbuf_str(why));
	for (size_t i = 0; i < ids.count; i++)
		pickup_file(ids.id[i]);
	queue_scan_free(&ids);
	strbuf_free(&why);
}

static void pickup_trigger(const char *buf, size_t len, const char *service,
			   char **argv)
{
	(void)buf;
	(void)len;
	(void)service;
	(void)argv;
	/* Every request means the same: look at maildrop/. */
	pickup_scan();
}

static void pickup_post_jail(const char *service, char **argv)
{
	struct strbuf *why = strbuf_new(STRBUF_NO_MAX);

	(void)service;
	(void)argv;
	if ((pickup_mq = mail_queue_open_main(".", why)) == NULL)
		msg_fatal("open queue: %s", strbuf_str(why));
	strbuf_free(&why);
	/* Mail that waited while the system was down. */
	pickup_scan();
}

int main(int argc, char **argv)
{
	static const struct server_def def = {
	    .name = "pickup",
	    .kind = SERVER_TRIGGER,
	    .trigger = pickup_trigger,
	    .post_jail = pickup_post_jail,
	    .solitary = 1,
	};

	mail_server_main(argc, argv, &def);
}
