/*
 * postdrop - put a local submission into maildrop/ (see postdrop(1)).
 *
 *     postdrop [-c config_dir] [-v]
 *
 * The only privileged step of local submission: installed set-gid
 * setgid_group (root:postdrop 2755), it can create files in maildrop/
 * (mail_owner:postdrop 0730), which no user can otherwise reach. It
 * reads queue-file records (global/record framing) on standard input,
 * as sendmail writes them, and refuses anything a local user may not
 * send (cleanup_copy_user_rec: the postdrop subset of the record types,
 * their lengths, no client attributes), a second sender, a message
 * larger than message_size_limit, and input that stops before its end
 * record. postdrop adds the arrival time itself.
 *
 * The file is written as the invoking user (postdrop is not set-uid), so
 * its owner is the kernel's statement of who submitted it; pickup uses
 * that. Atomicity: the file is created 0600 (pickup, running as
 * mail_owner, cannot even open it), written, its size record rewritten,
 * then marked complete with mode 0744 and fsynced (queue_file_commit).
 * A crash or a signal before that leaves a 0600 file that pickup never
 * reads and postern-super -p removes after a week; a refused input is
 * removed at once. Then postdrop wakes pickup; if the mail system is not
 * running that fails, the file stays in maildrop/ and pickup takes it
 * when the system starts.
 *
 * Configuration: a set-gid program must not let its user choose what it
 * trusts. A config directory other than the default (-c or MAIL_CONFIG)
 * is refused unless the caller is root or the default main.cf lists it
 * in alternate_config_directories. Run without privileges (a sandbox
 * instance, or an installation without the set-gid bit), there is
 * nothing to protect and the check is skipped.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "cleanup_copy.h"
#include "mail_conf.h"
#include "mail_params.h"
#include "mail_queue.h"
#include "mail_trigger.h"
#include "msg.h"
#include "mymalloc.h"
#include "queue_file.h"
#include "rec_type.h"
#include "record.h"
#include "rstream.h"
#include "strbuf.h"

#define PICKUP_SERVICE_PATH "public/pickup"

#include "setgid_lsan.h"

/* The file being written, for the signal handler and msg_fatal: a path
 * relative to the queue directory (the working directory by then). */
static char postdrop_path[sizeof(MAIL_QUEUE_MAILDROP) + MAIL_QUEUE_ID_MAX +
			  2 * MAIL_QUEUE_HASH_DEPTH_MAX + 2];
static volatile sig_atomic_t postdrop_writing;

static void postdrop_remove(void)
{
	if (postdrop_writing)
		(void)unlink(postdrop_path);
}

static void postdrop_sig(int sig)
{
	(void)sig;
	postdrop_remove();
	_exit(EX_TEMPFAIL);
}

static _Noreturn void usage(void)
{
	fprintf(stderr, "usage: postdrop [-c config_dir] [-v]\n");
	exit(EX_USAGE);
}


/* fsync maildrop/ so the new name is durable. postdrop may not read the
 * directory (0730), so it cannot open it for fsync; syncfs on the queue
 * file system does the same at a higher cost. */
static void postdrop_sync_dir(struct mail_queue *mq)
{
	int fd = openat(mail_queue_dirfd(mq), MAIL_QUEUE_MAILDROP,
			O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd >= 0) {
		if (fsync(fd) < 0)
			msg_warn("fsync %s: %m", MAIL_QUEUE_MAILDROP);
		(void)close(fd);
	} else if (syncfs(mail_queue_dirfd(mq)) < 0) {
		msg_warn("syncfs %s: %m", var_queue_directory);
	}
}

/* Copy the records on stdin into qf. 0, or an exit status with the
 * reason: EX_DATAERR for input refused, EX_TEMPFAIL for a write error. */
static int postdrop_copy(struct queue_file *qf, struct strbuf *why)
{
	struct rstream *in = rstream_fdopen(0, 0);
	struct strbuf *buf = strbuf_new(REC_ATTR_MAX);
	unsigned seg = REC_SEG_ENVELOPE;
	long long content = 0;
	int type, senders = 0, ret = EX_DATAERR;

	for (;;) {
		if (rec_get(in, &type, buf, REC_ATTR_MAX, REC_FLAG_NONE, why) <
		    0)
			goto out;
		if (type == REC_TYPE_EOF) {
			strbuf_why(why, "input ends before the end record");
			goto out;
		}
		if (cleanup_copy_user_rec(type, seg, strbuf_str(buf),
					  strbuf_len(buf), why) < 0)
			goto out;
		if (type == REC_TYPE_END)
			break;
		if (type == REC_TYPE_MESG) {
			seg = REC_SEG_CONTENT;
			if (queue_file_content(qf, why) < 0) {
				ret = EX_TEMPFAIL;
				goto out;
			}
			continue;
		}
		if (type == REC_TYPE_XTRA) {
			seg = REC_SEG_EXTRACTED;
			if (queue_file_extracted(qf, why) < 0) {
				ret = EX_TEMPFAIL;
				goto out;
			}
			continue;
		}
		if (type == REC_TYPE_FROM && senders++) {
			strbuf_why(why, "more than one sender record");
			goto out;
		}
		if (seg == REC_SEG_CONTENT) {
			content += (long long)strbuf_len(buf) +
				   (type == REC_TYPE_NORM);
			if (var_message_size_limit > 0 &&
			    content > var_message_size_limit) {
				strbuf_why(why,
					   "message file too big: more "
					   "than message_size_limit "
					   "(%ld bytes)",
					   var_message_size_limit);
				goto out;
			}
		}
		/* Every field was checked above: a failure here is the
		 * file's. */
		if (queue_file_put(qf, type, strbuf_str(buf), strbuf_len(buf),
				   why) < 0) {
			ret = EX_TEMPFAIL;
			goto out;
		}
	}
	if (senders == 0) {
		strbuf_why(why, "no sender record");
		goto out;
	}
	/* One message per run: anything after E is not ours to ignore. */
	if (rec_get(in, &type, buf, REC_ATTR_MAX, REC_FLAG_NONE, why) < 0 ||
	    type != REC_TYPE_EOF) {
		strbuf_why(why, "data after the end record");
		goto out;
	}
	ret = 0;
out:
	rstream_release(&in);
	strbuf_free(&buf);
	return ret;
}

int main(int argc, char **argv)
{
	struct mail_queue_params params;
	struct strbuf *why = strbuf_new(STRBUF_NO_MAX);
	struct strbuf *path = strbuf_new(STRBUF_NO_MAX);
	struct mail_queue *mq;
	struct queue_file *qf;
	const char *conf_dir = NULL;
	struct timespec now;
	sigset_t sigs, saved;
	char ident[256], id[MAIL_QUEUE_ID_MAX + 1];
	int ch, status;

	/* A set-gid program starts in its caller's environment: nothing
	 * it creates is for anyone else, and stdin is the only input. */
	umask(077);
	msg_open("postdrop");
	msg_set_stderr(1);
	while ((ch = getopt(argc, argv, "c:rv")) != -1) {
		switch (ch) {
		case 'c':
			conf_dir = optarg;
			break;
		case 'r':
			/* Postfix's internal-protocol flag: records on stdin
			 * are the only protocol here. */
			break;
		case 'v':
			/* Postfix: verbose logging is for the superuser. */
			if (getuid() == 0)
				msg_verbose++;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	mail_conf_read_trusted(mail_conf_dir(conf_dir));
	if (*var_maillog_file == 0 || msg_set_output(var_maillog_file) < 0)
		(void)msg_set_facility(var_syslog_facility);
	snprintf(ident, sizeof(ident), "%s/postdrop", var_syslog_name);
	msg_open(ident);

	params = (struct mail_queue_params){
	    .directory = var_queue_directory,
	    .hash_names = var_hash_queue_names,
	    .hash_depth = var_hash_queue_depth,
	    /* The directory is synced below: postdrop may not read it. */
	    .directory_sync = 0,
	};
	if ((mq = mail_queue_open(&params, why)) == NULL)
		msg_fatal_status(EX_TEMPFAIL, "queue_directory %s: %s",
				 var_queue_directory, strbuf_str(why));
	if (fchdir(mail_queue_dirfd(mq)) < 0)
		msg_fatal_status(EX_TEMPFAIL, "chdir %s: %m",
				 var_queue_directory);

	signal(SIGHUP, postdrop_sig);
	signal(SIGINT, postdrop_sig);
	signal(SIGQUIT, postdrop_sig);
	signal(SIGTERM, postdrop_sig);
	signal(SIGPIPE, SIG_IGN);
	msg_set_cleanup(postdrop_remove);
	/* No signal between the file's creation and the handler knowing
	 * its name (sendmail stops postdrop with SIGTERM when it gives a
	 * message up): held until then, it removes the file. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGHUP);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGQUIT);
	sigaddset(&sigs, SIGTERM);
	sigprocmask(SIG_BLOCK, &sigs, &saved);
	if (queue_file_create(mq, MAIL_QUEUE_MAILDROP, &qf, why) < 0)
		msg_fatal_status(EX_TEMPFAIL,
				 "cannot create a file in %s/%s: %s (is "
				 "postdrop set-gid %s?)",
				 var_queue_directory, MAIL_QUEUE_MAILDROP,
				 strbuf_str(why), var_setgid_group);
	snprintf(id, sizeof(id), "%s", queue_file_id(qf));
	/* The path as mail_queue lays it out (maildrop may be hashed). */
	if (mail_queue_path(mq, path, MAIL_QUEUE_MAILDROP, id, why) < 0 ||
	    strbuf_len(path) >= sizeof(postdrop_path))
		msg_panic("maildrop/%s: no path: %s", id, strbuf_str(why));
	memcpy(postdrop_path, strbuf_str(path), strbuf_len(path) + 1);
	postdrop_writing = 1;
	sigprocmask(SIG_SETMASK, &saved, NULL);

	clock_gettime(CLOCK_REALTIME, &now);
	status = queue_file_time(qf, now.tv_sec, now.tv_nsec / 1000, why) < 0
		     ? EX_TEMPFAIL
		     : postdrop_copy(qf, why);
	if (status != 0) {
		postdrop_writing = 0;
		queue_file_abort(&qf);
		msg_fatal_status(status, "uid %ld: message not queued: %s",
				 (long)getuid(), strbuf_str(why));
	}
	if (queue_file_commit(&qf, why) < 0) {
		postdrop_writing = 0;
		msg_fatal_status(EX_TEMPFAIL, "uid %ld: cannot queue: %s",
				 (long)getuid(), strbuf_str(why));
	}
	/* Complete: from here on the file is pickup's, whatever happens. */
	postdrop_writing = 0;
	if (var_queue_directory_sync)
		postdrop_sync_dir(mq);
	if (msg_verbose)
		msg_info("maildrop/%s: queued for uid %ld", id, (long)getuid());
	if (mail_trigger(PICKUP_SERVICE_PATH, "W", 1, why) < 0) {
		/* The mail is safe: pickup scans maildrop/ when it starts. */
		msg_warn("unable to look up %s: %s", PICKUP_SERVICE_PATH,
			 strbuf_str(why));
		msg_warn("mail queued; it will be delivered when the mail "
			 "system is started");
	}
	mail_queue_close(&mq);
	strbuf_free(&path);
	strbuf_free(&why);
	return 0;
}
