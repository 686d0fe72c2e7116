/*
 * local - the postern local delivery agent (Postfix's local(8)); see
 * local(8).
 *
 * One delivery request per connection from qmgr (local_destination_
 * recipient_limit is 1), master.cf "local unix - n n - - local": the
 * process stays root (privileged) so that it can become each recipient
 * in turn; everything it does as root is read the queue file, look up
 * tables and the password file, and talk to cleanup and qmgr. Every
 * step that touches a user's files or runs a command runs in a child
 * with that user's (or default_privs') rights: local_run.c.
 *
 * For each recipient user+ext@domain:
 *   1. a Delivered-To: header naming the recipient already in the
 *      message means a forwarding loop: bounce 5.4.6;
 *   2. alias_maps, with the local part, then without the extension: the
 *      value is a list of addresses, /files, |commands and :include:
 *      files; addresses are forwarded as one new message through cleanup
 *      (same sender, a Delivered-To: header added), the others are
 *      delivered with default_privs. A name that lists itself gets its
 *      own mailbox;
 *   3. the password file: unknown users go to luser_relay, or bounce
 *      5.1.1;
 *   4. ~/.forward, read as the user, same syntax as aliases; "\user" or
 *      the user's own name means the mailbox;
 *   5. the mailbox: mailbox_transport (the recipient is passed to that
 *      delivery agent, which settles it: local_pass), else
 *      mailbox_command, else home_mailbox (mbox or Maildir/ in the
 *      home), else mail_spool_directory/user (mbox).
 * When one recipient has several destinations, the worst result counts
 * (defer over bounce over sent), so nothing is lost; a deferred
 * recipient may get the destinations that worked once more later.
 */
#include <ctype.h>
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <signal.h>
#include <stddef.h>
#include <sys/time.h>
#include <unistd.h>

#include "alias_items.h"
#include "attr.h"
#include "cleanup_clnt.h"
#include "deliver_request.h"
#include "delivered_to.h"
#include "dict.h"
#include "local.h"
#include "mail_conf.h"
#include "mail_params.h"
#include "mail_queue.h"
#include "mail_server.h"
#include "maps.h"
#include "msg.h"
#include "mymalloc.h"
#include "priv.h"
#include "queue_file.h"
#include "rec_type.h"
#include "sock.h"
#include "strbuf.h"

/* Bounds on expansion: nesting of :include: and addresses per alias. */
#define LOCAL_DEPTH_MAX 10
#define LOCAL_ITEMS_MAX 1000

static struct mail_queue *local_queue;
static struct maps *alias_maps;
static char *alias_error; /* alias_maps could not be opened */

/* Where a destination came from, for allow_mail_to_*. */
enum local_origin { ORIGIN_ALIAS, ORIGIN_FORWARD, ORIGIN_INCLUDE };
static const char *const origin_name[] = {"alias", "forward", "include"};

struct local_state {
	struct local_msg m;
	struct local_result res; /* the worst so far */
	int have_res;
	size_t idx; /* of the recipient in the request */
	int passed; /* handed to mailbox_transport's agent */
	char **fwd; /* addresses to forward */
	size_t fwd_count;
	size_t items;
};

struct queue_file *local_queue_open(struct deliver_request *req,
				    struct strbuf *why)
{
	struct queue_file *qf = NULL;

	if (queue_file_open(local_queue, req->queue_name, req->queue_id, 0, &qf,
			    why) != QUEUE_FILE_OK)
		return NULL;
	return qf;
}

/* Keep the worse of the result so far and r: 4 beats 5 beats 2. */
static void merge(struct local_state *s, const char *status, const char *text)
{
	static const int rank[10] = {
	    ['2' - '0'] = 0, ['5' - '0'] = 1, ['4' - '0'] = 2};
	int r_new =
	    status[0] >= '2' && status[0] <= '5' ? rank[status[0] - '0'] : 2;
	int r_old = s->have_res ? rank[s->res.status[0] - '0'] : -1;

	if (msg_verbose)
		msg_info("%s: %s: %s", s->m.recipient, status, text);
	if (r_new > r_old) {
		snprintf(s->res.status, sizeof(s->res.status), "%s", status);
		strbuf_set(s->res.text, text);
		s->have_res = 1;
	}
}

static void merge_result(struct local_state *s, struct local_result *r)
{
	merge(s, r->status, strbuf_str(r->text));
}

static int allowed(const char *list, enum local_origin origin)
{
	char **words = conf_list_split(list);
	int yes = 0;

	for (char **w = words; *w; w++)
		if (strcasecmp(*w, origin_name[origin]) == 0)
			yes = 1;
	conf_list_free(&words);
	return yes;
}

static void deliver_user(struct local_state *s, const char *user, int depth,
			 int skip_forward);

/* Whether item names self: "bob", or "bob@domain" with the domain the
 * mail came in for. */
static int is_self(const char *item, const char *self, const char *domain)
{
	size_t n = strlen(self);

	if (strcasecmp(item, self) == 0)
		return 1;
	return *domain && strncasecmp(item, self, n) == 0 && item[n] == '@' &&
	       strcasecmp(item + n + 1, domain) == 0;
}

static void expand(struct local_state *s, const char *value,
		   enum local_origin origin, const struct local_privs *privs,
		   const char *self, int depth)
{
	struct local_result r = {.text = strbuf_new(STRBUF_NO_MAX)};
	size_t count;
	char **items = alias_items_split(value, &count);

	if (depth > LOCAL_DEPTH_MAX) {
		merge(s, "5.4.6", "too many nested :include: files");
		goto out;
	}
	for (size_t i = 0; i < count; i++) {
		const char *item = items[i];

		if (++s->items > LOCAL_ITEMS_MAX) {
			merge(s, "5.4.6", "alias expansion too large");
			break;
		}
		if (item[0] == '|') {
			if (!allowed(var_allow_mail_to_commands, origin)) {
				strbuf_printf(r.text,
					      "mail to command is "
					      "restricted (%s)",
					      origin_name[origin]);
				merge(s, "5.7.1", strbuf_str(r.text));
				strbuf_reset(r.text);
				continue;
			}
			local_run_command(&s->m, privs, item + 1, &r);
			merge_result(s, &r);
		} else if (item[0] == '/') {
			if (!allowed(var_allow_mail_to_files, origin)) {
				strbuf_printf(r.text,
					      "mail to file is "
					      "restricted (%s)",
					      origin_name[origin]);
				merge(s, "5.7.1", strbuf_str(r.text));
				strbuf_reset(r.text);
				continue;
			}
			local_run_file(&s->m, privs, item, &r);
			merge_result(s, &r);
		} else if (strncasecmp(item, ":include:", 9) == 0) {
			const char *path = item + 9;
			char *text = NULL;
			int rc;

			while (isspace((unsigned char)*path))
				path++;
			if (*path != '/') {
				merge(s, "5.3.5",
				      ":include: needs an "
				      "absolute path");
				continue;
			}
			rc = local_run_read(privs, path, (uid_t)-1, &text, &r);
			if (rc < 0) {
				merge_result(s, &r);
			} else if (rc == 0) {
				strbuf_set(r.text, "");
				strbuf_printf(r.text,
					      ":include: %s: no such "
					      "file",
					      path);
				merge(s, "5.3.5", strbuf_str(r.text));
			} else {
				expand(s, text, ORIGIN_INCLUDE, privs, NULL,
				       depth + 1);
			}
			myfree(text);
		} else if (item[0] == '\\') {
			deliver_user(s, item + 1, depth + 1, 1);
		} else if (self && is_self(item, self, s->m.domain)) {
			/* "bob: bob, other" and bob's own name in his
			 * .forward: his mailbox, not another round. */
			deliver_user(s, self, depth + 1, 1);
		} else {
			s->fwd = myreallocarray(s->fwd, s->fwd_count + 1,
						sizeof(*s->fwd));
			s->fwd[s->fwd_count++] = mystrdup(item);
		}
	}
out:
	alias_items_free(&items, count);
	strbuf_free(&r.text);
}

/* Forward the collected addresses as one new message; Delivered-To:
 * goes first so that the copy that comes back here is caught. */
static void forward(struct local_state *s)
{
	struct strbuf *why = strbuf_new(STRBUF_NO_MAX);
	struct strbuf *line = strbuf_new(STRBUF_NO_MAX);
	struct deliver_request *req = s->m.req;
	struct queue_file *qf = NULL;
	struct cleanup_clnt *cc;
	struct queue_rec rec;
	struct timeval tv;
	int st;
	char id[MAIL_QUEUE_ID_MAX + 1];

	if (s->fwd_count == 0)
		goto out;
	if ((qf = local_queue_open(req, why)) == NULL ||
	    queue_file_to_content(qf, req->data_offset, why) !=
		QUEUE_FILE_OK) {
		merge(s, "4.3.0", strbuf_str(why));
		goto out;
	}
	cc = cleanup_clnt_open(CLEANUP_SERVICE_PATH, CLEANUP_FLAG_MAP_OK,
			       var_ipc_timeout, why);
	if (cc == NULL) {
		merge(s, "4.3.0", strbuf_str(why));
		goto out;
	}
	snprintf(id, sizeof(id), "%s", cleanup_clnt_queue_id(cc));
	gettimeofday(&tv, NULL);
	(void)cleanup_clnt_printf(cc, REC_TYPE_TIME, "%ld %ld", (long)tv.tv_sec,
				  (long)tv.tv_usec);
	(void)cleanup_clnt_rec(cc, REC_TYPE_FROM, req->sender,
			       strlen(req->sender));
	for (size_t i = 0; i < s->fwd_count; i++)
		(void)cleanup_clnt_rec(cc, REC_TYPE_RCPT, s->fwd[i],
				       strlen(s->fwd[i]));
	(void)cleanup_clnt_rec(cc, REC_TYPE_MESG, "", 0);
	strbuf_printf(line, "Delivered-To: %s", s->m.recipient);
	(void)cleanup_clnt_rec(cc, REC_TYPE_NORM, strbuf_str(line),
			       strbuf_len(line));
	for (;;) {
		if (queue_file_read_content(qf, &rec, why) != QUEUE_FILE_OK) {
			cleanup_clnt_abort(&cc);
			merge(s, "4.3.0", strbuf_str(why));
			goto out;
		}
		if (rec.type == REC_TYPE_XTRA)
			break;
		(void)cleanup_clnt_rec(cc, rec.type, rec.data, rec.len);
	}
	(void)cleanup_clnt_rec(cc, REC_TYPE_XTRA, "", 0);
	strbuf_reset(line);
	st = cleanup_clnt_finish(&cc, line);
	if (st != CLEANUP_STAT_OK) {
		strbuf_reset(why);
		strbuf_printf(why, "cannot forward: %s",
			      strbuf_len(line) ? strbuf_str(line)
					       : "cleanup failed");
		merge(s,
		      (st & (CLEANUP_STAT_DEFER | CLEANUP_STAT_WRITE |
			     CLEANUP_STAT_BAD))
			  ? "4.3.0"
			  : "5.3.0",
		      strbuf_str(why));
		goto out;
	}
	strbuf_reset(why);
	strbuf_printf(why, "forwarded as %s", id);
	msg_info("%s: %s: %s to %zu address%s", req->queue_id, s->m.recipient,
		 strbuf_str(why), s->fwd_count, s->fwd_count == 1 ? "" : "es");
	merge(s, "2.0.0", strbuf_str(why));
out:
	if (qf)
		queue_file_close(&qf);
	strbuf_free(&line);
	strbuf_free(&why);
}

/* Pass the recipient to mailbox_transport's delivery agent, which
 * settles it in the queue file and logs it; we report its outcome.
 * Returns the outcome, or DELIVER_RCPT_PENDING when it could not be
 * asked (s says why, and we settle the recipient ourselves). */
static enum deliver_outcome pass(struct local_state *s, size_t idx)
{
	struct deliver_request *req = s->m.req, one;
	struct strbuf *why = strbuf_new(STRBUF_NO_MAX);
	struct strbuf *out = strbuf_new(STRBUF_NO_MAX);
	struct strbuf *in = strbuf_new(1024 * 1024);
	struct attr_stream *st = NULL;
	char *transport = mystrdup(var_mailbox_transport);
	char *nexthop = strchr(transport, ':');
	enum deliver_outcome outcome = DELIVER_RCPT_PENDING;
	int fd = -1, status;
	size_t len;
	const char *buf;
	char path[512];

	if (nexthop)
		*nexthop++ = 0;
	one = *req;
	one.nexthop = nexthop && *nexthop ? nexthop : var_myhostname;
	one.rcpt_count = 1;
	one.rcpt = mymemdup(&req->rcpt[idx], sizeof(*req->rcpt));
	one.rcpt->outcome = DELIVER_RCPT_PENDING;
	one.site_reason = NULL;
	snprintf(path, sizeof(path), "private/%s", transport);
	if ((fd = sock_unix_connect(path, var_ipc_timeout, why)) < 0)
		goto fail;
	st = attr_stream_new(fd, 0);
	if (attr_handshake_expect(st, var_ipc_timeout, DELIVER_PROTOCOL, why) <
		0 ||
	    deliver_request_format(&one, out, why) < 0)
		goto fail;
	for (const char *p = strbuf_str(out), *e = p + strbuf_len(out);
	     p < e;) {
		ssize_t n = write(fd, p, (size_t)(e - p));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			strbuf_why(why, "write to %s: %m", path);
			goto fail;
		}
		/* UNSAFE: 0 < n <= e - p. */
		p += n;
	}
	/* Whatever the stream already buffered comes first. */
	buf = attr_stream_peek(st, &len);
	strbuf_append(in, buf, len);
	for (;;) {
		ssize_t n, used;
		char chunk[4096];

		used = deliver_reply_scan(&one, strbuf_str(in), strbuf_len(in),
					  &status, why);
		if (used < 0)
			goto fail;
		if (used > 0)
			break;
		if (sock_wait_read(fd, var_ipc_timeout) < 0) {
			strbuf_why(why, "timeout reading from %s", path);
			goto fail;
		}
		n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || strbuf_append(in, chunk, (size_t)n) < 0) {
			strbuf_why(why, "%s closed the connection", path);
			goto fail;
		}
	}
	outcome = one.rcpt->outcome;
	req->rcpt[idx].outcome = outcome;
	snprintf(req->rcpt[idx].dsn, sizeof(req->rcpt[idx].dsn), "%s",
		 one.rcpt->dsn);
	if (outcome == DELIVER_RCPT_PENDING)
		outcome = req->rcpt[idx].outcome = DELIVER_RCPT_DEFERRED;
	goto out;
fail:
	strbuf_reset(out);
	strbuf_printf(out, "mailbox_transport %s: %s", var_mailbox_transport,
		      strbuf_str(why));
	merge(s, "4.3.0", strbuf_str(out));
out:
	attr_stream_free(&st);
	if (fd >= 0)
		close(fd);
	myfree(one.rcpt);
	myfree(one.site_reason);
	myfree(transport);
	strbuf_free(&in);
	strbuf_free(&out);
	strbuf_free(&why);
	return outcome;
}

/* Rights for alias destinations: default_privs, never root. */
static int default_privs(struct local_privs *p)
{
	static char *name, *dir, *shell;
	struct passwd *pw = getpwnam(var_default_privs);

	if (pw == NULL || pw->pw_uid == 0)
		return -1;
	myfree(name);
	myfree(dir);
	myfree(shell);
	name = mystrdup(pw->pw_name);
	dir = mystrdup(pw->pw_dir);
	shell = mystrdup(pw->pw_shell);
	*p = (struct local_privs){.uid = pw->pw_uid,
				  .gid = pw->pw_gid,
				  .user = name,
				  .home = dir,
				  .shell = shell};
	return 0;
}

/* luser_relay with $user, $extension, $domain, $local and $recipient
 * (or ${name}) replaced by the parts of the recipient. Caller frees. */
static char *luser_relay(const struct local_msg *m)
{
	static const struct {
		const char *name;
		size_t off;
	} vars[] = {
	    {"user", offsetof(struct local_msg, user)},
	    {"extension", offsetof(struct local_msg, extension)},
	    {"domain", offsetof(struct local_msg, domain)},
	    {"local", offsetof(struct local_msg, local)},
	    {"recipient", offsetof(struct local_msg, recipient)},
	};
	struct strbuf *out = strbuf_new(STRBUF_NO_MAX);
	char *result;

	for (const char *p = var_luser_relay; *p; p++) {
		int brace = p[0] == '$' && p[1] == '{';
		size_t i, n;

		if (*p != '$') {
			strbuf_putc(out, *p);
			continue;
		}
		for (i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
			n = strlen(vars[i].name);
			if (strncmp(p + 1 + brace, vars[i].name, n) == 0 &&
			    (!brace || p[2 + n] == '}'))
				break;
		}
		if (i == sizeof(vars) / sizeof(vars[0])) {
			strbuf_putc(out, *p);
			continue;
		}
		/* UNSAFE: off is a member offset of struct local_msg that
		 * holds a const char *. */
		strbuf_puts(
		    out, *(const char *const *)((const char *)m + vars[i].off));
		p += n + (brace ? 2 : 0);
	}
	result = strbuf_export(out);
	strbuf_free(&out);
	return result;
}

/* The user's own mailbox (step 5), or .forward first (step 4). */
static void deliver_user(struct local_state *s, const char *user, int depth,
			 int skip_forward)
{
	struct local_result r = {.text = strbuf_new(STRBUF_NO_MAX)};
	struct strbuf *path = strbuf_new(STRBUF_NO_MAX);
	struct local_privs privs;
	struct passwd *pw;
	char *name = NULL, *home = NULL, *shell = NULL, *text = NULL;
	size_t len;

	errno = 0;
	if ((pw = getpwnam(user)) == NULL) {
		if (errno != 0 && errno != ENOENT && errno != ESRCH) {
			merge(s, "4.3.0", "cannot read the password file");
		} else if (*var_luser_relay && depth == 0) {
			s->fwd = myreallocarray(s->fwd, s->fwd_count + 1,
						sizeof(*s->fwd));
			s->fwd[s->fwd_count++] = luser_relay(&s->m);
		} else {
			strbuf_printf(r.text, "unknown user: \"%s\"", user);
			merge(s, "5.1.1", strbuf_str(r.text));
		}
		goto out;
	}
	name = mystrdup(pw->pw_name);
	home = mystrdup(pw->pw_dir);
	shell = mystrdup(pw->pw_shell);
	privs = (struct local_privs){.uid = pw->pw_uid,
				     .gid = pw->pw_gid,
				     .user = name,
				     .home = home,
				     .shell = shell};
	if (!skip_forward) {
		int rc;

		strbuf_printf(path, "%s/.forward", home);
		rc = local_run_read(&privs, strbuf_str(path), privs.uid, &text,
				    &r);
		if (rc < 0) {
			merge_result(s, &r);
			goto out;
		}
		if (rc > 0 && strspn(text, " \t\r\n") < strlen(text)) {
			struct local_privs fp = privs;

			/* Root's .forward runs nothing as root. */
			if (fp.uid == 0 && default_privs(&fp) < 0) {
				merge(s, "4.3.0", "bad default_privs");
				goto out;
			}
			expand(s, text, ORIGIN_FORWARD, &fp, name, depth + 1);
			goto out;
		}
	}
	if (*var_mailbox_transport) {
		s->passed = 1;
		(void)pass(s, s->idx);
		goto out;
	}
	if (*var_mailbox_command) {
		if (privs.uid == 0 && default_privs(&privs) < 0) {
			merge(s, "4.3.0", "bad default_privs");
			goto out;
		}
		local_run_command(&s->m, &privs, var_mailbox_command, &r);
		merge_result(s, &r);
		goto out;
	}
	strbuf_reset(path);
	if (*var_home_mailbox) {
		strbuf_printf(path, "%s/%s", home, var_home_mailbox);
		len = strlen(var_home_mailbox);
		local_run_mbox(&s->m, &privs, privs.uid == 0, strbuf_str(path),
			       var_home_mailbox[len - 1] == '/', &r);
	} else {
		strbuf_printf(path, "%s/%s", var_mail_spool_directory, name);
		len = strlen(var_mail_spool_directory);
		local_run_mbox(
		    &s->m, &privs, 1, strbuf_str(path),
		    len > 0 && var_mail_spool_directory[len - 1] == '/', &r);
	}
	merge_result(s, &r);
out:
	myfree(text);
	myfree(name);
	myfree(home);
	myfree(shell);
	strbuf_free(&path);
	strbuf_free(&r.text);
}

/* Whether the message already has Delivered-To: rcpt (a loop). -1 when
 * the file cannot be read. */
static int delivered_already(struct deliver_request *req, const char *rcpt,
			     struct strbuf *why)
{
	struct queue_file *qf = local_queue_open(req, why);
	int found;

	if (qf == NULL)
		return -1;
	found = delivered_to_seen(qf, req->data_offset, rcpt, why);
	queue_file_close(&qf);
	return found;
}

static void local_deliver_one(struct deliver_request *req, size_t i,
			      struct queue_file *qf)
{
	const char *addr = req->rcpt[i].address;
	const char *at = strrchr(addr, '@');
	char *local =
	    at ? mystrndup(addr, (size_t)(at - addr)) : mystrdup(addr);
	char *user = mystrdup(local), *ext = NULL;
	struct strbuf *why = strbuf_new(STRBUF_NO_MAX);
	struct local_state s = {.res.text = strbuf_new(STRBUF_NO_MAX)};
	const char *value;
	int rc;

	for (char *p = local; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	myfree(user);
	user = mystrdup(local);
	if (*var_recipient_delimiter) {
		size_t n = strcspn(user, var_recipient_delimiter);

		if (user[n] && n > 0) {
			ext = mystrdup(user + n + 1);
			user[n] = 0;
		}
	}
	s.m = (struct local_msg){.req = req,
				 .recipient = addr,
				 .user = user,
				 .extension = ext ? ext : "",
				 .local = local,
				 .domain = at ? at + 1 : ""};
	s.idx = i;

	if ((rc = delivered_already(req, addr, why)) < 0) {
		merge(&s, "4.3.0", strbuf_str(why));
	} else if (rc > 0) {
		merge(&s, "5.4.6", "mail forwarding loop for this address");
	} else {
		struct local_privs privs;

		if (alias_error) {
			strbuf_set(why, alias_error);
			rc = DICT_ERROR;
		} else {
			rc = maps_find(alias_maps, local, &value, why);
		}
		if (rc == DICT_NOTFOUND && ext)
			rc = maps_find(alias_maps, user, &value, why);
		if (rc == DICT_ERROR) {
			merge(&s, "4.3.0", strbuf_str(why));
		} else if (rc == DICT_FOUND) {
			char *copy = mystrdup(value);

			if (default_privs(&privs) < 0)
				merge(&s, "4.3.0",
				      "default_privs names no unprivileged "
				      "user");
			else
				expand(&s, copy, ORIGIN_ALIAS, &privs, user, 0);
			myfree(copy);
		} else {
			deliver_user(&s, user, 0, 0);
		}
		if (!(s.have_res && s.res.status[0] == '4'))
			forward(&s);
	}
	if (s.passed && !s.have_res) {
		/* mailbox_transport settled it; nothing else to say. */
	} else {
		const char *status = s.have_res ? s.res.status : "4.3.0";
		struct dsn dsn = {
		    .status = status,
		    .action = status[0] == '2'	 ? "delivered"
			      : status[0] == '4' ? "delayed"
						 : "failed",
		    .reason = s.have_res ? strbuf_str(s.res.text)
					 : "nothing to deliver to",
		    .dtype = "",
		    .dtext = "",
		    .mtype = "",
		    .mname = "",
		};

		if (s.passed && req->rcpt[i].outcome != DELIVER_RCPT_PENDING)
			msg_warn("%s: %s: delivered by mailbox_transport and "
				 "also to: %s",
				 req->queue_id, addr, dsn.reason);
		else
			deliver_completed(req, i, qf, &dsn, "local", 0);
	}
	for (size_t k = 0; k < s.fwd_count; k++)
		myfree(s.fwd[k]);
	myfree(s.fwd);
	strbuf_free(&s.res.text);
	strbuf_free(&why);
	myfree(local);
	myfree(user);
	myfree(ext);
}

static void local_deliver(struct deliver_request *req, struct queue_file *qf,
			  const char *service, void *ctx)
{
	(void)service;
	(void)ctx;
	for (size_t i = 0; i < req->rcpt_count; i++)
		local_deliver_one(req, i, qf);
}

static void local_service(int fd, const char *service, char **argv)
{
	(void)argv;
	deliver_request_serve(fd, local_queue, service, local_deliver, NULL);
}

static void local_post_jail(const char *service, char **argv)
{
	struct mail_queue_params params = {
	    .directory = ".",
	    .hash_names = var_hash_queue_names,
	    .hash_depth = var_hash_queue_depth,
	    .directory_sync = var_queue_directory_sync,
	};
	struct strbuf *why = strbuf_new(STRBUF_NO_MAX);
	char *err = NULL;

	(void)service;
	(void)argv;
	signal(SIGPIPE, SIG_IGN);
	if ((local_queue = mail_queue_open(&params, why)) == NULL)
		msg_fatal("open queue: %s", strbuf_str(why));
	alias_maps = maps_open("alias_maps", var_alias_maps, &err);
	if (alias_maps == NULL && err != NULL) {
		/* Every delivery defers until it is fixed: without the
		 * aliases we cannot know where mail should go. */
		msg_warn("%s", err);
		alias_error = err;
	}
	strbuf_free(&why);
}

int main(int argc, char **argv)
{
	static const struct server_def def = {
	    .name = "local",
	    .kind = SERVER_SINGLE,
	    .service = local_service,
	    .post_jail = local_post_jail,
	    .privileged = 1,
	};

	mail_server_main(argc, argv, &def);
}
