/*
 * master.h - the master daemon's internal interfaces.
 *
 * A service is one master.cf entry brought to life: its listen
 * descriptors, its status pipe, its children. An incarnation of a service
 * is one status pipe; a reload gives every surviving service a new one, so
 * the children of the old one finish their current request and exit, and
 * new requests are served by children that read the new configuration.
 *
 * Files: master.c (main, pid lock, signals, reload, shutdown),
 * master_serv.c (services from master.cf, listeners, reload diff),
 * master_spawn.c (fork/exec, reaping, throttling), master_status.c
 * (status pipe and the listen policy), master_wakeup.c (wakeup triggers).
 */
#ifndef POSTERN_MASTER_H
#define POSTERN_MASTER_H

#include <sys/types.h>

#include "master_cf.h"
#include "master_proto.h"

struct master_proc;

struct master_serv {
	/* From master.cf. */
	char *name; /* service column */
	enum master_type type;
	int private_;
	int unpriv;
	int chroot;
	int wakeup;	   /* seconds, 0: none */
	int wakeup_on_use; /* "N?": not before the service was used */
	int maxproc;	   /* 0: unlimited */
	char *path;	   /* program to exec */
	char **argv;	   /* complete child argv (NULL-terminated) */
	char *text;	   /* normalised entry, to detect a changed entry */

	/* Listeners. */
	char *endpoint; /* what the listeners are bound to, for reload */
	int listen_fd[MASTER_LISTEN_MAX];
	int nlisten;
	int listening;	 /* descriptors watched by the event loop */

	/* The current incarnation. */
	int status_fd[2]; /* pipe: [0] master reads, [1] children write */
	int total_proc;	  /* children of this incarnation */
	int avail_proc;	  /* of which idle */
	int throttled;
	int used; /* ever spawned a child (for "N?" wakeups) */

	int marked; /* scratch for the reload diff */
	struct master_serv *next;
};

struct master_proc {
	pid_t pid;
	unsigned gen;
	int avail;
	long use_count;		  /* requests taken, from status records */
	struct master_serv *serv; /* NULL: its incarnation was retired */
	char *serv_name;	  /* for log lines and the solitary rule */
	char *path;
	int solitary; /* maxproc 1 when spawned */
	int killed;   /* signal master sent it, 0: none */
	struct master_proc *next;
};

/* Global state (master.c). */
extern struct master_serv *master_services;
extern unsigned master_generation;
extern const char *master_config_dir;
extern int master_unprivileged; /* not root: no setuid, no chroot */
extern uid_t master_owner_uid;
extern gid_t master_owner_gid;
extern char **master_child_env; /* NULL-terminated, built per generation */

/* master.c */
/* (Re)build master_child_env for master_generation. */
void master_build_env(void);

/* master_serv.c */
/* Read master.cf and bring services in line with it: start new ones,
 * refresh kept ones, stop removed ones. At start-up (initial) an error is
 * fatal; on reload it is logged and the running services are kept
 * (-1). A successful reload starts a new generation. */
int master_serv_configure(int initial);
/* Stop every service: close listeners and status pipes (no signals). */
void master_serv_close_all(void);
/* Start a new incarnation: a fresh status pipe; children of the old one
 * are retired (they exit once idle). */
void master_serv_new_incarnation(struct master_serv *serv);

/* master_status.c */
/* Open the status pipe of a new incarnation and watch it. */
void master_status_open(struct master_serv *serv);
/* Close it: every child still holding the write end sees POLLERR. */
void master_status_close(struct master_serv *serv);
/* Watch the listeners exactly when master must accept for the service:
 * no idle child, below maxproc, not throttled. */
void master_avail_update(struct master_serv *serv);
/* Stop watching the listeners. */
void master_avail_stop(struct master_serv *serv);

/* master_spawn.c */
void master_spawn(struct master_serv *serv);
/* Reap every exited child, log abnormal exits, throttle crash loops. */
void master_reap(void);
/* Detach the children of serv's current incarnation (they keep running
 * and exit by themselves); with sig != 0 also signal them. */
void master_retire_children(struct master_serv *serv, int sig);
/* Signal every child; return the number signalled. */
int master_signal_all(int sig);
int master_child_count(void);
/* A retired solitary child of this service name still runs. */
int master_solitary_busy(const char *serv_name);
struct master_proc *master_proc_find(pid_t pid);
void master_throttle(struct master_serv *serv);
void master_unthrottle_cancel(struct master_serv *serv);

/* master_wakeup.c */
void master_wakeup_init(struct master_serv *serv);
void master_wakeup_cancel(struct master_serv *serv);

#endif
