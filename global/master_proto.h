/*
 * master_proto - the contract between master(8) and the processes it
 * starts. Both sides include this file; nothing else may assume it.
 *
 * Descriptors in a child (Postfix's layout, so the habits carry over):
 *   0, 1, 2   /dev/null once master has detached
 *   3, 4      reserved for the flow-control pipe (in_flow_delay); postern
 *             does not implement flow control yet and puts /dev/null there
 *   5         the write end of the service's status pipe, shared by all
 *             children of one service incarnation
 *   6 ..      the listen descriptors, as many as "-s N" says
 * The GENERATION environment variable carries master's configuration
 * generation (decimal); a status record must echo it.
 *
 * Status records are fixed-size binary (12 bytes, below PIPE_BUF, so one
 * write() is atomic even with many writers on one pipe). master never
 * trusts them further than the pid it spawned: a record for an unknown pid
 * or with the wrong generation is ignored.
 *
 * The child learns that master went away, or that a reload retired its
 * service incarnation, when its status descriptor reports an error
 * (POLLERR: no reader left on the pipe); it then finishes the request in
 * hand and exits.
 */
#ifndef POSTERN_MASTER_PROTO_H
#define POSTERN_MASTER_PROTO_H

#include <stdint.h>

#define MASTER_FLOW_READ 3
#define MASTER_FLOW_WRITE 4
#define MASTER_STATUS_FD 5
#define MASTER_LISTEN_FD 6

/* Upper bound on listen descriptors per service (a bare port on every
 * interface of a many-homed host would need more; 64 is plenty). */
#define MASTER_LISTEN_MAX 64

#define MASTER_GEN_ENV "GENERATION"

#define MASTER_STAT_TAKEN 0 /* the child is serving a client */
#define MASTER_STAT_AVAIL 1 /* the child is idle again */

struct master_status {
	int32_t pid;
	uint32_t gen;
	int32_t avail;
};

/* One write() per record must be atomic on a shared pipe. */
_Static_assert(sizeof(struct master_status) == 12, "status record is 12 bytes");

#endif
