/*
 * fuzz_smtpd_session - fuzz a whole SMTP server session: the real smtpd
 * code (commands, restrictions, access actions, DATA and BDAT, the
 * hand-off to cleanup), with the fuzzer's bytes as everything a client
 * sends.
 *
 * smtpd talks to a socket and to the cleanup service, so the harness gives
 * it both without a network: the client is one end of a socketpair (a
 * thread writes the input, then half-closes, and reads the replies until
 * smtpd closes), and cleanup is a thread behind a UNIX socket at
 * public/cleanup in a temporary directory that is smtpd's working
 * directory, as the queue directory is in production. The fake cleanup
 * speaks the real protocol (handshake, queue ID, flags, records, status)
 * and checks what smtpd sends it:
 *   - every record is well framed and of a type a client may send, in
 *     segment order (envelope, M, content, X, extracted, E);
 *   - no envelope record holds CR, LF or NUL (the 21Nails class of bug:
 *     client data must never become a second record or header);
 *   - nothing follows E.
 * smtpd's own invariants (bounded buffers, no crash, no leak) are checked
 * by ASan/UBSan. The session is smtpd.c's smtpd_service(), reached by
 * including smtpd.c with its main() renamed; the other smtpd files are
 * included too, so this is one translation unit.
 *
 * The first input byte picks per-session settings (pipelining
 * enforcement, whether the client waits for the greeting, the bare
 * newline mode and its reply code); the rest is the client's bytes.
 *
 * main.cf (written to the temporary directory) turns DNS and the error
 * tarpit off and sets an access table with every action, so that the
 * fuzzer can reach them: recipients hold@, discard@, prepend@, redirect@,
 * filter@, bcc@, reject@ at localhost.
 *
 * Build and run with libFuzzer (from the top of the tree): make fuzz, or
 *   tests/fuzz/fuzz_smtpd_session -max_total_time=60 \
 *     tests/fuzz/corpus/fuzz_smtpd_session
 * Built with -DFUZZ_STANDALONE instead of -fsanitize=fuzzer, it runs the
 * files named on its command line once each. Inputs are capped at 64 KiB.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define main smtpd_main_unused
#include "../../smtpd/smtpd.c"
#undef main
#include "../../smtpd/smtpd_chat.c"
#include "../../smtpd/smtpd_check.c"
#include "../../smtpd/smtpd_data.c"
#include "../../smtpd/smtpd_peer.c"

#include "attr.h"
#include "cleanup_clnt.h"
#include "mail_conf.h"
#include "record.h"
#include "rstream.h"

#define FUZZ_MAX_INPUT 65536
/* A syntactically valid queue ID (doc/queue.md) for every message. */
#define FUZZ_QUEUE_ID "4hQJmW0Bcdz5Tr"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char fuzz_main_cf[] =
    "myhostname = mx.fuzz.example\n"
    "mydomain = fuzz.example\n"
    "smtpd_peername_lookup = no\n"
    "smtpd_error_sleep_time = 0\n"
    "smtpd_timeout = 10s\n"
    "ipc_timeout = 10s\n"
    "queue_minfree = 0\n"
    "message_size_limit = 20000\n"
    "line_length_limit = 1000\n"
    "smtpd_recipient_limit = 20\n"
    "alias_maps =\n"
    "local_recipient_maps = inline:{ root=x, hold=x, discard=x, "
    "prepend=x, redirect=x, filter=x, bcc=x }\n"
    "relay_domains = relay.example\n"
    "virtual_alias_domains = valias.example\n"
    "virtual_alias_maps = inline:{ known@valias.example=root@localhost }\n"
    "smtpd_reject_unlisted_sender = yes\n"
    "smtpd_recipient_restrictions = check_recipient_access "
    "texthash:rcpt_access, reject_unauth_destination\n";

static const char fuzz_rcpt_access[] =
    "hold@localhost HOLD\n"
    "discard@localhost DISCARD\n"
    "prepend@localhost PREPEND X-Fuzz: yes\n"
    "redirect@localhost REDIRECT root@localhost\n"
    "filter@localhost FILTER smtp:[127.0.0.1]:10025\n"
    "bcc@localhost BCC root@localhost\n"
    "reject@localhost 550 5.7.1 go away\n";

static int cleanup_listen_fd = -1;
/* The temporary directory (smtpd's working directory during a session)
 * and the caller's, restored after each input so that relative corpus
 * paths keep working. */
static int work_dir_fd = -1, orig_dir_fd = -1;

/* What the fake cleanup insists on; a violation is a finding. */
static void fuzz_check(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_smtpd_session: %s\n", what);
		abort();
	}
}

/* One cleanup conversation, as cleanup(8) has it. */
static void fake_cleanup_conn(int fd)
{
	struct strbuf *why = strbuf_new(STRBUF_NO_MAX);
	struct strbuf *rec = strbuf_new(REC_ATTR_MAX);
	struct strbuf *flags = strbuf_new(STRBUF_NO_MAX);
	struct attr_value id[CLEANUP_ID_COUNT] = {0};
	struct attr_value req[CLEANUP_REQ_COUNT] = {0};
	struct attr_value reply[CLEANUP_REPLY_COUNT] = {0};
	struct rstream *in = NULL;
	unsigned seg = REC_SEG_ENVELOPE;
	int type, ended = 0;
	ssize_t rc = 0;

	id[CLEANUP_ID_QUEUE_ID].present = 1;
	id[CLEANUP_ID_QUEUE_ID].str = FUZZ_QUEUE_ID;
	id[CLEANUP_ID_QUEUE_ID].len = strlen(FUZZ_QUEUE_ID);
	if (attr_handshake_send(fd, 10, CLEANUP_PROTOCOL, why) < 0 ||
	    attr_write_fd(fd, 10, &cleanup_id_schema, id, why) < 0)
		goto out;
	/* The flags list, byte by byte: records follow it at once. */
	while (rc == 0) {
		char ch;

		if (read(fd, &ch, 1) != 1 || strbuf_putc(flags, ch) < 0)
			goto out;
		rc = attr_scan(&cleanup_req_schema, strbuf_str(flags),
			       strbuf_len(flags), req, why);
	}
	fuzz_check(rc > 0, "malformed request flags");
	attr_values_free(req, CLEANUP_REQ_COUNT);
	in = rstream_fdopen(fd, 0);
	while (!ended) {
		if (rec_get(in, &type, rec, REC_ATTR_MAX, REC_FLAG_NONE, why) <
		    0) {
			/* smtpd may abort a transaction at any time, but what
			 * it did send must be well framed. */
			fuzz_check(rstream_error(in) != 0 ||
				       strstr(strbuf_str(why), "truncated") !=
					   NULL,
				   strbuf_str(why));
			goto out;
		}
		if (type == REC_TYPE_EOF)
			goto out; /* aborted between records */
		switch (seg) {
		case REC_SEG_ENVELOPE:
			fuzz_check(strchr("TFSROonis<VAMf>", type) != NULL,
				   "record type not allowed in the envelope");
			fuzz_check(memchr(strbuf_str(rec), '\r',
					  strbuf_len(rec)) == NULL &&
				       memchr(strbuf_str(rec), '\n',
					      strbuf_len(rec)) == NULL &&
				       memchr(strbuf_str(rec), 0,
					      strbuf_len(rec)) == NULL,
				   "CR, LF or NUL in an envelope record");
			if (type == REC_TYPE_MESG)
				seg = REC_SEG_CONTENT;
			break;
		case REC_SEG_CONTENT:
			if (strchr("NLX", type) == NULL)
				fprintf(stderr, "record type '%c' after M\n",
					type);
			fuzz_check(strchr("NLX", type) != NULL,
				   "record type not allowed in the content");
			if (type == REC_TYPE_XTRA)
				seg = REC_SEG_EXTRACTED;
			break;
		default:
			fuzz_check(strchr("ROonAE", type) != NULL,
				   "record type not allowed after X");
			if (type == REC_TYPE_END)
				ended = 1;
			break;
		}
	}
	reply[CLEANUP_REPLY_STATUS].present = 1;
	reply[CLEANUP_REPLY_STATUS].num = CLEANUP_STAT_OK;
	reply[CLEANUP_REPLY_REASON].present = 1;
	reply[CLEANUP_REPLY_REASON].str = "";
	reply[CLEANUP_REPLY_REASON].len = 0;
	(void)attr_write_fd(fd, 10, &cleanup_reply_schema, reply, why);
out:
	if (in != NULL)
		rstream_release(&in);
	strbuf_free(&why);
	strbuf_free(&rec);
	strbuf_free(&flags);
}

static void *fake_cleanup(void *arg)
{
	(void)arg;
	for (;;) {
		int fd = accept4(cleanup_listen_fd, NULL, NULL, SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			return NULL;
		}
		fake_cleanup_conn(fd);
		close(fd);
	}
}

struct client {
	int fd;
	const uint8_t *data;
	size_t size;
	int wait_greeting; /* send nothing before the 220 line */
};

/* Write the input (then half-close), read replies until smtpd closes. */
static void *client_thread(void *arg)
{
	struct client *c = arg;
	size_t sent = 0;
	char buf[4096];
	int greeted = !c->wait_greeting;

	if (c->size == 0)
		shutdown(c->fd, SHUT_WR);
	for (;;) {
		struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
		ssize_t n;

		if (sent < c->size && greeted)
			pfd.events |= POLLOUT;
		if (poll(&pfd, 1, 30000) <= 0)
			break;
		if (pfd.revents & POLLOUT) {
			n = send(c->fd, c->data + sent, c->size - sent,
				 MSG_DONTWAIT | MSG_NOSIGNAL);
			if (n > 0 && (sent += (size_t)n) == c->size)
				shutdown(c->fd, SHUT_WR);
			if (n < 0 && errno != EAGAIN && errno != EINTR)
				sent = c->size; /* smtpd has gone */
		}
		if (pfd.revents & (POLLIN | POLLHUP | POLLERR)) {
			n = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);
			if (n == 0 ||
			    (n < 0 && errno != EAGAIN && errno != EINTR))
				break;
			if (n > 0 && memchr(buf, '\n', (size_t)n) != NULL)
				greeted = 1;
		}
	}
	return NULL;
}

static char work_dir[] = "/tmp/fuzz_smtpd_XXXXXX";

/* Remove the temporary directory at exit. */
static void fuzz_cleanup(void)
{
	static const char *const files[] = {"public/cleanup", "main.cf",
					    "rcpt_access"};
	int dfd = open(work_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (dfd < 0)
		return;
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		(void)unlinkat(dfd, files[i], 0);
	(void)unlinkat(dfd, "public", AT_REMOVEDIR);
	close(dfd);
	(void)rmdir(work_dir);
}

static void fuzz_init(void)
{
	static int done;
	char *dir = work_dir;
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	pthread_t tid;
	char *err = NULL;
	FILE *fp;

	if (done)
		return;
	done = 1;
	if ((orig_dir_fd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 ||
	    mkdtemp(dir) == NULL || chdir(dir) < 0 ||
	    (work_dir_fd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 ||
	    mkdir("public", 0700) < 0 || (fp = fopen("main.cf", "w")) == NULL)
		msg_fatal("fuzz_smtpd_session: set-up in %s: %m", dir);
	atexit(fuzz_cleanup);
	fputs(fuzz_main_cf, fp);
	fclose(fp);
	if ((fp = fopen("rcpt_access", "w")) == NULL)
		msg_fatal("fuzz_smtpd_session: rcpt_access: %m");
	fputs(fuzz_rcpt_access, fp);
	fclose(fp);
	if (mail_conf_load(".", &err) < 0)
		msg_fatal("fuzz_smtpd_session: main.cf: %s", err);
	/* FUZZ_SMTPD_LOG=1: smtpd's log lines on stderr, for a replay. */
	msg_set_output(getenv("FUZZ_SMTPD_LOG") ? "/dev/stderr" : "/dev/null");
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s",
		 CLEANUP_SERVICE_PATH);
	cleanup_listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (cleanup_listen_fd < 0 ||
	    bind(cleanup_listen_fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
	    listen(cleanup_listen_fd, 16) < 0)
		msg_fatal("fuzz_smtpd_session: cleanup socket: %m");
	if (pthread_create(&tid, NULL, fake_cleanup, NULL) != 0)
		msg_fatal("fuzz_smtpd_session: thread: %m");
	pthread_detach(tid);
	smtpd_pre_jail("smtp", NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct client c = {0};
	int sv[2];
	pthread_t tid;

	if (size > FUZZ_MAX_INPUT || size < 1)
		return 0;
	fuzz_init();
	if (fchdir(work_dir_fd) < 0)
		msg_fatal("fchdir: %m");
	/* The first byte picks the session's settings: pipelining
	 * enforcement, whether the client waits for the greeting, and the
	 * bare newline mode; the rest is what the client sends. */
	var_smtpd_forbid_unauth_pipelining = data[0] & 1;
	c.wait_greeting = (data[0] & 2) != 0;
	smtpd_newline_mode = (data[0] & 4)   ? SMTP_NEWLINE_REJECT
			     : (data[0] & 8) ? SMTP_NEWLINE_NOTE
					     : SMTP_NEWLINE_NORMALIZE;
	var_smtpd_forbid_bare_newline_reject_code = (data[0] & 16) ? 521 : 550;
	c.data = data + 1;
	c.size = size - 1;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		msg_fatal("socketpair: %m");
	c.fd = sv[1];
	if (pthread_create(&tid, NULL, client_thread, &c) != 0)
		msg_fatal("thread: %m");
	smtpd_service(sv[0], "smtp", NULL);
	close(sv[0]);
	pthread_join(tid, NULL);
	close(sv[1]);
	if (fchdir(orig_dir_fd) < 0)
		msg_fatal("fchdir: %m");
	return 0;
}

#include "standalone.h"
