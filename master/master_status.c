/*
 * master_status - the status pipe of each service incarnation and the
 * listen policy that follows from it.
 *
 * The policy (Postfix's): idle children of a service all wait in accept()
 * on the same listen descriptors and the kernel hands each connection to
 * one of them. master itself watches those descriptors only while the
 * service has no idle child, is below its process limit and is not
 * throttled; a pending connection then makes it start one more child. So
 * master never accepts a connection and never touches client data.
 *
 * Records come from processes we started, but they are still input:
 * a short read, an unknown pid, a pid of another service or a stale
 * generation is ignored (and logged when verbose), never trusted.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "events.h"
#include "master.h"
#include "msg.h"
#include "sock.h"

static void status_event(int fd, int events, void *ctx)
{
	struct master_serv *serv = ctx;
	struct master_status st;
	struct master_proc *proc;
	ssize_t n;

	(void)events;
	for (;;) {
		n = read(fd, &st, sizeof(st));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				msg_warn("service %s: status pipe read: %m",
					 serv->name);
			break;
		}
		/* master holds a write end itself, so EOF cannot happen. */
		if (n == 0)
			msg_panic("service %s: unexpected EOF on status pipe",
				  serv->name);
		if (n != (ssize_t)sizeof(st)) {
			msg_warn("service %s: short status record (%zd bytes) "
				 "ignored",
				 serv->name, n);
			continue;
		}
		proc = master_proc_find((pid_t)st.pid);
		if (proc == NULL || proc->serv != serv || st.gen != proc->gen) {
			if (msg_verbose)
				msg_info("service %s: status record for pid "
					 "%ld gen %u ignored",
					 serv->name, (long)st.pid,
					 (unsigned)st.gen);
			continue;
		}
		if (st.avail == MASTER_STAT_AVAIL) {
			if (!proc->avail) {
				proc->avail = 1;
				serv->avail_proc++;
			}
		} else if (st.avail == MASTER_STAT_TAKEN) {
			if (proc->avail) {
				proc->avail = 0;
				serv->avail_proc--;
			}
			proc->use_count++;
		} else {
			msg_warn("service %s: pid %ld: bad status %d ignored",
				 serv->name, (long)st.pid, (int)st.avail);
		}
	}
	master_avail_update(serv);
}

void master_status_open(struct master_serv *serv)
{
	if (pipe2(serv->status_fd, O_CLOEXEC) < 0)
		msg_fatal("pipe: %m");
	if (sock_nonblock(serv->status_fd[0], 1) < 0)
		msg_fatal("status pipe: non-blocking mode: %m");
	serv->total_proc = 0;
	serv->avail_proc = 0;
	events_watch(serv->status_fd[0], EVENT_READ, status_event, serv);
}

void master_status_close(struct master_serv *serv)
{
	if (serv->status_fd[0] >= 0) {
		events_unwatch(serv->status_fd[0]);
		close(serv->status_fd[0]);
	}
	if (serv->status_fd[1] >= 0)
		close(serv->status_fd[1]);
	serv->status_fd[0] = serv->status_fd[1] = -1;
}

static void listen_event(int fd, int events, void *ctx)
{
	struct master_serv *serv = ctx;

	(void)fd;
	(void)events;
	/* A child may have become idle in this same event batch: read its
	 * AVAIL first, or we would start a process nobody needs. */
	status_event(serv->status_fd[0], EVENT_READ, serv);
	if (!serv->listening)
		return;
	master_spawn(serv);
	master_avail_update(serv);
}

void master_avail_stop(struct master_serv *serv)
{
	if (!serv->listening)
		return;
	for (int i = 0; i < serv->nlisten; i++)
		events_unwatch(serv->listen_fd[i]);
	serv->listening = 0;
}

void master_avail_update(struct master_serv *serv)
{
	char key[512];
	int want;

	snprintf(key, sizeof(key), "%s/%s", serv->name,
		 master_type_name(serv->type));
	want = serv->nlisten > 0 && serv->status_fd[0] >= 0 &&
	       !serv->throttled && serv->avail_proc == 0 &&
	       (serv->maxproc == 0 || serv->total_proc < serv->maxproc)
	       /* A solitary service (qmgr) never has two processes, not
		* even while the old generation finishes after a reload. */
	       && !(serv->maxproc == 1 && master_solitary_busy(key));
	if (want && !serv->listening) {
		for (int i = 0; i < serv->nlisten; i++)
			events_watch(serv->listen_fd[i], EVENT_READ,
				     listen_event, serv);
		serv->listening = 1;
	} else if (!want && serv->listening) {
		master_avail_stop(serv);
	}
}
