/*
 * master_serv - services from master.cf: listeners, child argv, and the
 * reload diff.
 *
 * A service is identified by its name and type columns together (two
 * entries may both be called "smtp": one inet, one unix). On reload:
 *   - a service no longer in master.cf is stopped: listeners closed, its
 *     UNIX socket removed, its children sent SIGTERM (Postfix does the
 *     same: a removed service must stop serving now);
 *   - a service still there gets a new incarnation (a fresh status pipe),
 *     so its running children finish the request in hand and exit, and
 *     every new request is served under the new main.cf and master.cf. Its
 *     listeners are kept when the endpoint did not change, so not one
 *     connection attempt is refused during a reload;
 *   - a new service is started.
 * Listener errors at start-up are fatal (a mail system that silently does
 * not listen on port 25 is worse than one that does not start); on reload
 * they cost that one service and are logged.
 *
 * master never opens anything in the queue but private/, public/ and pid/.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "events.h"
#include "mail_conf.h"
#include "mail_params.h"
#include "master.h"
#include "msg.h"
#include "mymalloc.h"
#include "sock.h"
#include "strbuf.h"

#define MASTER_LISTEN_BACKLOG 100

static struct master_serv *serv_find(const char *name, enum master_type type)
{
	for (struct master_serv *s = master_services; s; s = s->next)
		if (s->type == type && strcmp(s->name, name) == 0)
			return s;
	return NULL;
}

/* Add "host:port" (bracketed for IPv6) to list, once. */
static void serv_add_addr(char ***list, size_t *n, const char *host,
			  const char *port)
{
	char buf[300];

	if (strchr(host, ':') != NULL)
		snprintf(buf, sizeof(buf), "[%s]:%s", host, port);
	else
		snprintf(buf, sizeof(buf), "%s:%s", host, port);
	for (size_t i = 0; i < *n; i++)
		if (strcmp((*list)[i], buf) == 0)
			return;
	*list = myreallocarray(*list, *n + 2, sizeof(**list));
	(*list)[(*n)++] = mystrdup(buf);
	(*list)[*n] = NULL;
}

/* The addresses an inet service listens on. A bare port means every
 * address in inet_interfaces; "all" is the wildcard of each protocol in
 * inet_protocols, "localhost"/"loopback-only" the loopback addresses (no
 * DNS: master must start when the resolver is down). NULL on a syntax
 * error, with the reason in why. */
static char **serv_inet_addrs(const char *service, struct strbuf *why)
{
	char host[256], port[64];
	char **hosts, **protos, **out = NULL;
	size_t n = 0;
	int v4 = 0, v6 = 0;

	if (sock_split_hostport(service, host, sizeof(host), port,
				sizeof(port)) < 0 ||
	    *port == 0) {
		strbuf_printf(why, "bad inet service address \"%s\"", service);
		return NULL;
	}
	protos = conf_list_split(var_inet_protocols);
	for (char **p = protos; *p; p++) {
		if (strcasecmp(*p, "all") == 0)
			v4 = v6 = 1;
		else if (strcasecmp(*p, "ipv4") == 0)
			v4 = 1;
		else if (strcasecmp(*p, "ipv6") == 0)
			v6 = 1;
		else
			msg_warn(
			    "inet_protocols: unknown protocol \"%s\" ignored",
			    *p);
	}
	conf_list_free(&protos);
	if (!v4 && !v6) {
		strbuf_printf(why, "inet_protocols enables no protocol");
		return NULL;
	}
	hosts = conf_list_split(*host ? host : var_inet_interfaces);
	for (char **h = hosts; *h; h++) {
		if (strcasecmp(*h, "all") == 0) {
			if (v4)
				serv_add_addr(&out, &n, "0.0.0.0", port);
			if (v6)
				serv_add_addr(&out, &n, "::", port);
		} else if (strcasecmp(*h, "localhost") == 0 ||
			   strcasecmp(*h, "loopback-only") == 0) {
			if (v4)
				serv_add_addr(&out, &n, "127.0.0.1", port);
			if (v6)
				serv_add_addr(&out, &n, "::1", port);
		} else {
			const char *a = *h;
			size_t len = strlen(a);
			char buf[256];

			/* inet_interfaces may bracket IPv6 addresses. */
			if (a[0] == '[' && len > 2 && a[len - 1] == ']') {
				snprintf(buf, sizeof(buf), "%.*s",
					 (int)(len - 2), a + 1);
				a = buf;
			}
			serv_add_addr(&out, &n, a, port);
		}
	}
	conf_list_free(&hosts);
	if (n == 0) {
		strbuf_printf(why, "service %s: inet_interfaces is empty",
			      service);
		return NULL;
	}
	if (n > MASTER_LISTEN_MAX) {
		strbuf_printf(why, "service %s: more than %d addresses",
			      service, MASTER_LISTEN_MAX);
		for (size_t i = 0; i < n; i++)
			myfree(out[i]);
		myfree(out);
		return NULL;
	}
	return out;
}

/* The socket path of a UNIX or fifo service, relative to the queue. */
static char *serv_unix_path(const struct master_ent *ent, struct strbuf *why)
{
	char *path;
	size_t len;

	/* The name becomes a file name inside private/ or public/. */
	if (*ent->service == 0 || strchr(ent->service, '/') != NULL ||
	    strcmp(ent->service, ".") == 0 || strcmp(ent->service, "..") == 0) {
		strbuf_printf(
		    why,
		    "service \"%s\": a %s service name must be a plain "
		    "file name",
		    ent->service, master_type_name(ent->type));
		return NULL;
	}
	len = mymalloc_add(strlen(ent->service), sizeof("private/"));
	path = mymalloc(len);
	snprintf(path, len, "%s/%s", ent->private_ ? "private" : "public",
		 ent->service);
	return path;
}

/* The endpoint description: what the listeners of this entry bind to. */
static char *serv_endpoint(const struct master_ent *ent, struct strbuf *why)
{
	char **addrs;
	struct strbuf *sb;
	char *out;

	switch (ent->type) {
	case MASTER_INET:
		if ((addrs = serv_inet_addrs(ent->service, why)) == NULL)
			return NULL;
		sb = strbuf_new(STRBUF_NO_MAX);
		for (char **a = addrs; *a; a++) {
			strbuf_printf(sb, "%s%s", a == addrs ? "" : " ", *a);
			myfree(*a);
		}
		myfree(addrs);
		out = strbuf_export(sb);
		strbuf_free(&sb);
		return out;
	case MASTER_UNIX:
	case MASTER_FIFO:
	case MASTER_PASS:
		return serv_unix_path(ent, why);
	case MASTER_UNIX_DGRAM:
	default:
		strbuf_printf(why, "service %s: type %s is not supported yet",
			      ent->service, master_type_name(ent->type));
		return NULL;
	}
}

static void serv_close_listeners(struct master_serv *serv)
{
	master_avail_stop(serv);
	for (int i = 0; i < serv->nlisten; i++)
		close(serv->listen_fd[i]);
	serv->nlisten = 0;
	/* A socket or fifo left behind would let clients connect to nothing. */
	if (serv->type != MASTER_INET && serv->endpoint != NULL)
		(void)unlink(serv->endpoint);
}

/* Give a new socket or fifo to mail_owner: children run as that user. */
static int serv_chown(const char *path, struct strbuf *why)
{
	if (master_unprivileged)
		return 0;
	if (lchown(path, master_owner_uid, master_owner_gid) < 0) {
		strbuf_printf(why, "chown %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* Open the listeners for serv->endpoint. 0, or -1 with nothing open. */
static int serv_open_listeners(struct master_serv *serv, struct strbuf *why)
{
	int fd;

	serv->nlisten = 0;
	if (serv->type == MASTER_INET) {
		char **addrs = conf_list_split(serv->endpoint);
		size_t naddr = 0;
		int failed = 0;

		for (char **a = addrs; *a; a++)
			naddr++;
		for (char **a = addrs; *a && !failed; a++) {
			strbuf_reset(why);
			fd =
			    sock_inet_listen(*a, MASTER_LISTEN_BACKLOG, 1, why);
			if (fd >= 0) {
				serv->listen_fd[serv->nlisten++] = fd;
				continue;
			}
			/* A host without IPv6 still serves IPv4 under "all". */
			if (naddr > 1 && **a == '[' &&
			    (errno == EAFNOSUPPORT || errno == EADDRNOTAVAIL)) {
				msg_warn("service %s: cannot listen on %s "
					 "(%s); skipped",
					 serv->name, *a, strbuf_str(why));
				continue;
			}
			if (strbuf_len(why) == 0)
				strbuf_printf(why, "%s", strerror(errno));
			failed = 1;
		}
		conf_list_free(&addrs);
		if (failed || serv->nlisten == 0) {
			for (int i = 0; i < serv->nlisten; i++)
				close(serv->listen_fd[i]);
			serv->nlisten = 0;
			if (strbuf_len(why) == 0)
				strbuf_printf(why, "no address to listen on");
			return -1;
		}
		return 0;
	}
	if (serv->type == MASTER_FIFO)
		fd = sock_fifo_listen(serv->endpoint,
				      serv->private_ ? 0600 : 0622, why);
	else
		fd = sock_unix_listen(serv->endpoint, MASTER_LISTEN_BACKLOG,
				      serv->private_ ? 0600 : 0666, 1, why);
	if (fd < 0) {
		if (strbuf_len(why) == 0)
			strbuf_printf(why, "%s: %s", serv->endpoint,
				      strerror(errno));
		return -1;
	}
	if (serv_chown(serv->endpoint, why) < 0) {
		close(fd);
		(void)unlink(serv->endpoint);
		return -1;
	}
	serv->listen_fd[serv->nlisten++] = fd;
	return 0;
}

static void serv_free_args(struct master_serv *serv)
{
	if (serv->argv != NULL)
		for (char **a = serv->argv; *a; a++)
			myfree(*a);
	myfree(serv->argv);
	myfree(serv->path);
	myfree(serv->text);
}

/* Take the master.cf columns (everything except the endpoint). */
static void serv_take_entry(struct master_serv *serv,
			    const struct master_ent *ent)
{
	size_t n = 0, max, len;
	char num[32];

	serv_free_args(serv);
	serv->private_ = ent->private_;
	serv->unpriv = ent->unpriv;
	serv->chroot = ent->chroot;
	serv->wakeup = ent->wakeup;
	serv->wakeup_on_use = ent->wakeup_on_use;
	serv->maxproc = ent->maxproc;
	serv->text = mystrdup(ent->text ? ent->text : "");
	/* master_cf guarantees a plain name: programs come from one place. */
	len = mymalloc_add(
	    mymalloc_add(strlen(var_daemon_directory), strlen(ent->command)),
	    2);
	serv->path = mymalloc(len);
	snprintf(serv->path, len, "%s/%s", var_daemon_directory, ent->command);

	/* command -n name -t type [-u] [-c] [-l|-z] -s N args... */
	max = mymalloc_add(ent->nargs, 12);
	serv->argv = mycalloc(max, sizeof(*serv->argv));
	serv->argv[n++] = mystrdup(ent->command);
	serv->argv[n++] = mystrdup("-n");
	serv->argv[n++] = mystrdup(ent->service);
	serv->argv[n++] = mystrdup("-t");
	serv->argv[n++] = mystrdup(master_type_name(ent->type));
	if (ent->unpriv)
		serv->argv[n++] = mystrdup("-u");
	/* chroot needs root; a sandbox master cannot give it (and says so). */
	if (ent->chroot && !master_unprivileged)
		serv->argv[n++] = mystrdup("-c");
	if (ent->maxproc == 1)
		serv->argv[n++] = mystrdup("-l");
	else if (ent->maxproc == 0)
		serv->argv[n++] = mystrdup("-z");
	serv->argv[n++] = mystrdup("-s");
	snprintf(num, sizeof(num), "%d", serv->nlisten > 0 ? serv->nlisten : 1);
	serv->argv[n++] = mystrdup(num);
	for (size_t i = 0; i < ent->nargs; i++)
		serv->argv[n++] = mystrdup(ent->args[i]);
	serv->argv[n] = NULL;

	if (access(serv->path, X_OK) < 0)
		msg_warn("service %s: %s: %m", serv->name, serv->path);
}

/* "-s N" must match the listeners, which are known only after opening. */
static void serv_fix_count(struct master_serv *serv)
{
	char num[32];

	for (char **a = serv->argv; *a; a++) {
		if (strcmp(*a, "-s") == 0 && a[1] != NULL) {
			snprintf(num, sizeof(num), "%d", serv->nlisten);
			myfree(a[1]);
			a[1] = mystrdup(num);
			return;
		}
	}
}

static void serv_free(struct master_serv *serv)
{
	serv_free_args(serv);
	myfree(serv->name);
	myfree(serv->endpoint);
	myfree(serv);
}

/* Stop a service that left master.cf. */
static void serv_stop(struct master_serv *serv)
{
	msg_info("service %s/%s: stopped (removed from master.cf)", serv->name,
		 master_type_name(serv->type));
	master_wakeup_cancel(serv);
	master_unthrottle_cancel(serv);
	serv_close_listeners(serv);
	master_retire_children(serv, SIGTERM);
	master_status_close(serv);
}

void master_serv_new_incarnation(struct master_serv *serv)
{
	master_avail_stop(serv);
	master_retire_children(serv, 0);
	master_status_close(serv);
	master_status_open(serv);
	serv->throttled = 0;
	master_unthrottle_cancel(serv);
}

/* Start a service that is new in master.cf. NULL (logged) on failure. */
static struct master_serv *serv_start(const struct master_ent *ent,
				      char *endpoint, int initial)
{
	struct master_serv *serv = mycalloc(1, sizeof(*serv));
	struct strbuf *why = strbuf_new(STRBUF_NO_MAX);

	serv->name = mystrdup(ent->service);
	serv->type = ent->type;
	serv->private_ = ent->private_;
	serv->endpoint = endpoint;
	serv->status_fd[0] = serv->status_fd[1] = -1;
	if (serv_open_listeners(serv, why) < 0) {
		if (initial)
			msg_fatal("service %s/%s: %s", serv->name,
				  master_type_name(serv->type),
				  strbuf_str(why));
		msg_error("service %s/%s: %s; service not started", serv->name,
			  master_type_name(serv->type), strbuf_str(why));
		strbuf_free(&why);
		myfree(serv->name);
		myfree(serv->endpoint);
		myfree(serv);
		return NULL;
	}
	strbuf_free(&why);
	serv_take_entry(serv, ent);
	serv_fix_count(serv);
	master_status_open(serv);
	if (msg_verbose)
		msg_info("service %s/%s: listening on %s", serv->name,
			 master_type_name(serv->type), serv->endpoint);
	return serv;
}

/* Bring a kept service in line with its (possibly changed) entry. */
static void serv_refresh(struct master_serv *serv, const struct master_ent *ent,
			 char *endpoint)
{
	int changed = strcmp(serv->text, ent->text ? ent->text : "") != 0;

	master_wakeup_cancel(serv);
	master_serv_new_incarnation(serv);
	if (strcmp(serv->endpoint, endpoint) != 0) {
		struct strbuf *why = strbuf_new(STRBUF_NO_MAX);
		char *old = serv->endpoint;

		serv_close_listeners(serv);
		serv->endpoint = endpoint;
		serv->private_ = ent->private_;
		if (serv_open_listeners(serv, why) < 0)
			msg_error("service %s/%s: %s; the service accepts no "
				  "requests until the next reload",
				  serv->name, master_type_name(serv->type),
				  strbuf_str(why));
		strbuf_free(&why);
		myfree(old);
	} else {
		myfree(endpoint);
	}
	serv_take_entry(serv, ent);
	serv_fix_count(serv);
	if (changed)
		msg_info("service %s/%s: configuration changed", serv->name,
			 master_type_name(serv->type));
}

int master_serv_configure(int initial)
{
	struct master_cf cf = {0};
	struct master_serv **link;
	char *err = NULL;
	char *path;
	size_t len;

	len = mymalloc_add(strlen(master_config_dir), sizeof("/master.cf"));
	path = mymalloc(len);
	snprintf(path, len, "%s/master.cf", master_config_dir);
	if (master_cf_read(path, var_default_process_limit, &cf, &err) < 0) {
		if (initial)
			msg_fatal("%s", err ? err : path);
		msg_error("%s; keeping the running services", err ? err : path);
		myfree(err);
		myfree(path);
		return -1;
	}
	myfree(path);
	if (!initial) {
		master_generation++;
		master_build_env();
	}

	for (struct master_serv *s = master_services; s; s = s->next)
		s->marked = 0;
	for (size_t i = 0; i < cf.count; i++) {
		struct master_serv *s =
		    serv_find(cf.ents[i].service, cf.ents[i].type);

		if (s != NULL)
			s->marked = 1;
	}

	/* Removed services go first, so a new one may take their endpoint. */
	for (link = &master_services; *link;) {
		struct master_serv *s = *link;

		if (s->marked) {
			link = &s->next;
			continue;
		}
		*link = s->next;
		serv_stop(s);
		serv_free(s);
	}

	for (size_t i = 0; i < cf.count; i++) {
		const struct master_ent *ent = &cf.ents[i];
		struct strbuf *why = strbuf_new(STRBUF_NO_MAX);
		struct master_serv *s = serv_find(ent->service, ent->type);
		char *endpoint = serv_endpoint(ent, why);

		if (endpoint == NULL) {
			if (initial)
				msg_fatal("master.cf line %d: %s", ent->line,
					  strbuf_str(why));
			msg_error("master.cf line %d: %s; entry ignored",
				  ent->line, strbuf_str(why));
			if (s != NULL)
				s->marked = 0; /* stopped below */
			strbuf_free(&why);
			continue;
		}
		strbuf_free(&why);
		if (s != NULL) {
			serv_refresh(s, ent, endpoint);
		} else if ((s = serv_start(ent, endpoint, initial)) != NULL) {
			for (link = &master_services; *link;
			     link = &(*link)->next)
				/* keep master.cf order */;
			*link = s;
			s->marked = 1;
		}
	}
	master_cf_free(&cf);

	/* An entry that turned invalid on reload stops its old service. */
	for (link = &master_services; *link;) {
		struct master_serv *s = *link;

		if (s->marked) {
			link = &s->next;
			continue;
		}
		*link = s->next;
		serv_stop(s);
		serv_free(s);
	}

	for (struct master_serv *s = master_services; s; s = s->next) {
		master_avail_update(s);
		master_wakeup_init(s);
	}
	return 0;
}

void master_serv_close_all(void)
{
	while (master_services != NULL) {
		struct master_serv *s = master_services;

		master_services = s->next;
		master_wakeup_cancel(s);
		master_unthrottle_cancel(s);
		serv_close_listeners(s);
		master_retire_children(s, 0);
		master_status_close(s);
		serv_free(s);
	}
}
