/*
 * master_spawn - starting, tracking and reaping service processes.
 *
 * Every child is fork() + execve() of the program master.cf names, never a
 * bare fork: each gets a fresh address space (and ASLR), and nothing of
 * master's memory. Between fork and exec the child only rearranges
 * descriptors into the master_proto.h layout, closes everything else,
 * resets signals and execs; it reads no configuration and no input.
 *
 * A child that exits abnormally before it took a single request is a bad
 * start (a broken binary, a configuration it rejects, a missing
 * library): the service is throttled for service_throttle_time instead of
 * being restarted in a tight loop.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "events.h"
#include "mail_params.h"
#include "master.h"
#include "msg.h"
#include "mymalloc.h"

static struct master_proc *master_procs;

struct master_proc *master_proc_find(pid_t pid)
{
	for (struct master_proc *p = master_procs; p; p = p->next)
		if (p->pid == pid)
			return p;
	return NULL;
}

int master_child_count(void)
{
	int n = 0;

	for (struct master_proc *p = master_procs; p; p = p->next)
		n++;
	return n;
}

int master_solitary_busy(const char *serv_name)
{
	for (struct master_proc *p = master_procs; p; p = p->next)
		if (p->serv == NULL && p->solitary &&
		    strcmp(p->serv_name, serv_name) == 0)
			return 1;
	return 0;
}

/* In the child, between fork and exec. */
static _Noreturn void spawn_exec(struct master_serv *serv)
{
	int lowest = MASTER_LISTEN_FD + serv->nlisten;
	int null_fd, status_fd, listen_fd[MASTER_LISTEN_MAX];
	sigset_t none;

	msg_set_cleanup(NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGCHLD, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGQUIT, SIG_DFL);
	signal(SIGPIPE, SIG_DFL);

	/* Move every source above the target range first, so that no dup2()
	 * below can overwrite a source that is still needed. */
	if ((null_fd = open("/dev/null", O_RDWR | O_CLOEXEC)) < 0 ||
	    (null_fd = fcntl(null_fd, F_DUPFD_CLOEXEC, lowest)) < 0 ||
	    (status_fd = fcntl(serv->status_fd[1], F_DUPFD_CLOEXEC, lowest)) <
		0)
		msg_fatal("spawn %s: descriptor setup: %m", serv->name);
	for (int i = 0; i < serv->nlisten; i++)
		if ((listen_fd[i] = fcntl(serv->listen_fd[i], F_DUPFD_CLOEXEC,
					  lowest)) < 0)
			msg_fatal("spawn %s: descriptor setup: %m", serv->name);
	if (dup2(null_fd, MASTER_FLOW_READ) < 0 ||
	    dup2(null_fd, MASTER_FLOW_WRITE) < 0 ||
	    dup2(status_fd, MASTER_STATUS_FD) < 0)
		msg_fatal("spawn %s: dup2: %m", serv->name);
	for (int i = 0; i < serv->nlisten; i++)
		if (dup2(listen_fd[i], MASTER_LISTEN_FD + i) < 0)
			msg_fatal("spawn %s: dup2: %m", serv->name);
	/* Nothing else of master's may leak into a service. */
	if (close_range((unsigned)lowest, ~0U, 0) < 0)
		for (int fd = lowest; fd < 1024; fd++)
			(void)close(fd);

	execve(serv->path, serv->argv, master_child_env);
	msg_fatal("exec %s: %m", serv->path);
}

void master_spawn(struct master_serv *serv)
{
	struct master_proc *proc;
	char key[512];
	pid_t pid;

	if (serv->throttled || serv->status_fd[1] < 0)
		return;
	pid = fork();
	if (pid < 0) {
		msg_warn("fork: %m");
		master_throttle(serv);
		return;
	}
	if (pid == 0)
		spawn_exec(serv);

	snprintf(key, sizeof(key), "%s/%s", serv->name,
		 master_type_name(serv->type));
	proc = mycalloc(1, sizeof(*proc));
	proc->pid = pid;
	proc->gen = master_generation;
	/* Counted idle until it says otherwise: it is about to accept. */
	proc->avail = 1;
	proc->serv = serv;
	proc->serv_name = mystrdup(key);
	proc->path = mystrdup(serv->path);
	proc->solitary = serv->maxproc == 1;
	proc->next = master_procs;
	master_procs = proc;
	serv->total_proc++;
	serv->avail_proc++;
	serv->used = 1;
	if (msg_verbose)
		msg_info("spawn %s pid %ld for service %s", serv->path,
			 (long)pid, key);
}

static void unthrottle(void *ctx)
{
	struct master_serv *serv = ctx;

	serv->throttled = 0;
	if (msg_verbose)
		msg_info("service %s: throttle lifted", serv->name);
	master_avail_update(serv);
}

void master_throttle(struct master_serv *serv)
{
	if (serv->throttled)
		return;
	msg_warn(
	    "%s: bad command startup -- throttling service %s for %d seconds",
	    serv->path, serv->name, var_service_throttle_time);
	serv->throttled = 1;
	events_timer(unthrottle, serv, var_service_throttle_time);
	master_avail_update(serv);
}

void master_unthrottle_cancel(struct master_serv *serv)
{
	events_timer_cancel(unthrottle, serv);
}

void master_retire_children(struct master_serv *serv, int sig)
{
	for (struct master_proc *p = master_procs; p; p = p->next) {
		if (p->serv != serv)
			continue;
		p->serv = NULL;
		if (sig != 0) {
			p->killed = sig;
			(void)kill(p->pid, sig);
		}
	}
	serv->total_proc = 0;
	serv->avail_proc = 0;
}

int master_signal_all(int sig)
{
	int n = 0;

	for (struct master_proc *p = master_procs; p; p = p->next) {
		p->killed = sig;
		if (kill(p->pid, sig) == 0)
			n++;
	}
	return n;
}

/* After a retired solitary child is gone, its service may start anew. */
static void reap_solitary(const char *key)
{
	char buf[512];

	for (struct master_serv *s = master_services; s; s = s->next) {
		snprintf(buf, sizeof(buf), "%s/%s", s->name,
			 master_type_name(s->type));
		if (strcmp(buf, key) == 0)
			master_avail_update(s);
	}
}

void master_reap(void)
{
	struct master_proc **link, *proc;
	int status, normal;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (link = &master_procs; *link && (*link)->pid != pid;
		     link = &(*link)->next)
			/* search */;
		if ((proc = *link) == NULL) {
			msg_warn("reaped unknown process pid %ld", (long)pid);
			continue;
		}
		*link = proc->next;

		normal = WIFEXITED(status) && WEXITSTATUS(status) == 0;
		if (WIFSIGNALED(status) && proc->killed == WTERMSIG(status)) {
			/* We asked for it (stop, abort, removed service). */
			if (msg_verbose)
				msg_info(
				    "process %s pid %ld stopped by signal %d",
				    proc->path, (long)pid, WTERMSIG(status));
		} else if (WIFSIGNALED(status)) {
			msg_warn("process %s pid %ld killed by signal %d",
				 proc->path, (long)pid, WTERMSIG(status));
		} else if (!normal) {
			msg_warn("process %s pid %ld exit status %d",
				 proc->path, (long)pid, WEXITSTATUS(status));
		} else if (msg_verbose) {
			msg_info("process %s pid %ld exited", proc->path,
				 (long)pid);
		}

		if (proc->serv != NULL) {
			struct master_serv *serv = proc->serv;

			serv->total_proc--;
			if (proc->avail)
				serv->avail_proc--;
			if (!normal && proc->use_count == 0 &&
			    proc->killed == 0)
				master_throttle(serv);
			master_avail_update(serv);
		} else if (proc->solitary) {
			reap_solitary(proc->serv_name);
		}
		myfree(proc->serv_name);
		myfree(proc->path);
		myfree(proc);
	}
}
