/*
 * pipe_command - run one external command for the pipe agent.
 *
 * The child: a new session (so the time limit can kill the command and
 * everything it started, by process group), default signal handling,
 * the user= ids (group list = that one group, as priv_drop_ids does,
 * then a check that root cannot come back), the directory= chdir as that
 * user, the given environment, and exec by argv - never a shell. A
 * failure before exec is written to the output pipe (so it reaches the
 * delivery status) and exits EX_OSERR: a temporary failure, since a
 * broken configuration must not bounce mail.
 *
 * The parent writes the message to the command's stdin and reads its
 * stdout and stderr (one pipe) at the same time with poll(): a command
 * that writes much before it reads its input can never deadlock us. It
 * keeps the first output_max bytes of the output and drains the rest.
 * A command that stops reading (EPIPE) is not an error by itself: its
 * exit status says how it went. The whole run is bounded by time_limit.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "msg.h"
#include "pipe.h"
#include "strbuf.h"

/* Refill the input buffer when less than this is waiting. */
#define PIPE_FEED_CHUNK 65536

extern char **environ;

/* In the child, before exec: report on fd 2 (the output pipe), exit. */
static _Noreturn void child_fail(const char *what, const char *arg)
{
	char buf[512];
	int n = snprintf(buf, sizeof(buf), "pipe: %s %s: %s\n", what, arg,
			 strerror(errno));

	if (n > 0)
		(void)!write(2, buf, (size_t)n < sizeof(buf) ? (size_t)n
							    : sizeof(buf) - 1);
	_exit(EX_OSERR);
}

static _Noreturn void child_run(const struct pipe_run *run, int in_fd,
				int out_fd)
{
	sigset_t none;
	char idbuf[32];

	/* stdin from our pipe; stdout and stderr to the other (dup2 clears
	 * close-on-exec on the copies; every other descriptor we have is
	 * close-on-exec). */
	if (dup2(in_fd, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(out_fd, 2) < 0)
		_exit(EX_OSERR);
	(void)setsid();
	for (int sig = 1; sig < NSIG; sig++)
		(void)signal(sig, SIG_DFL);
	sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);

	/* The privilege order of priv.h: groups, gid, uid, then verify. */
	if (geteuid() == 0) {
		snprintf(idbuf, sizeof(idbuf), "%lu", (unsigned long)run->uid);
		if (run->uid == 0) {
			errno = EPERM;
			child_fail("refusing to run as uid", idbuf);
		}
		if (setgroups(1, &run->gid) < 0)
			child_fail("setgroups", idbuf);
		if (setgid(run->gid) < 0)
			child_fail("setgid", idbuf);
		if (setuid(run->uid) < 0)
			child_fail("setuid", idbuf);
		if (setuid(0) == 0 || geteuid() != run->uid ||
		    getegid() != run->gid) {
			errno = EPERM;
			child_fail("privileges still held after setuid", idbuf);
		}
	}
	if (run->directory != NULL && chdir(run->directory) < 0)
		child_fail("chdir", run->directory);
	environ = run->envp;
	execvp(run->argv[0], run->argv);
	child_fail("execvp", run->argv[0]);
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void kill_group(pid_t pid)
{
	(void)kill(-pid, SIGKILL);
	(void)kill(pid, SIGKILL);
}

static void close_fd(int *fd)
{
	if (*fd >= 0) {
		(void)close(*fd);
		*fd = -1;
	}
}

enum pipe_run_end pipe_command_run(const struct pipe_run *run,
				   int *wait_status, struct strbuf *output,
				   struct strbuf *why)
{
	int in_pipe[2], out_pipe[2];
	struct strbuf *inbuf = strbuf_new(STRBUF_NO_MAX);
	size_t in_done = 0;
	int feed_end = 0, exited = 0;
	enum pipe_run_end end = PIPE_RUN_EXITED;
	long deadline;
	pid_t pid;

	if (pipe2(in_pipe, O_CLOEXEC) < 0) {
		strbuf_why(why, "pipe: %m");
		strbuf_free(&inbuf);
		return PIPE_RUN_ERROR;
	}
	if (pipe2(out_pipe, O_CLOEXEC) < 0) {
		strbuf_why(why, "pipe: %m");
		close(in_pipe[0]);
		close(in_pipe[1]);
		strbuf_free(&inbuf);
		return PIPE_RUN_ERROR;
	}
	if ((pid = fork()) < 0) {
		strbuf_why(why, "fork: %m");
		for (int i = 0; i < 2; i++) {
			close(in_pipe[i]);
			close(out_pipe[i]);
		}
		strbuf_free(&inbuf);
		return PIPE_RUN_ERROR;
	}
	if (pid == 0)
		child_run(run, in_pipe[0], out_pipe[1]);
	close(in_pipe[0]);
	close(out_pipe[1]);
	int in_fd = in_pipe[1], out_fd = out_pipe[0];

	(void)fcntl(in_fd, F_SETFL, fcntl(in_fd, F_GETFL) | O_NONBLOCK);
	(void)fcntl(out_fd, F_SETFL, fcntl(out_fd, F_GETFL) | O_NONBLOCK);
	deadline = now_ms() + (long)run->time_limit * 1000;

	while (!exited) {
		struct pollfd pfd[2];
		nfds_t n = 0;
		long left;
		int in_idx = -1, out_idx = -1;

		/* Keep something to write while the message lasts. */
		while (in_fd >= 0 && !feed_end &&
		       strbuf_len(inbuf) - in_done < PIPE_FEED_CHUNK) {
			if (in_done > 0) {
				memmove(inbuf->data, inbuf->data + in_done,
					strbuf_len(inbuf) - in_done);
				strbuf_truncate(inbuf,
						strbuf_len(inbuf) - in_done);
				in_done = 0;
			}
			int rc = run->feed(run->feed_ctx, inbuf);

			if (rc < 0) {
				end = PIPE_RUN_FEED_ERROR;
				goto kill;
			}
			if (rc > 0)
				feed_end = 1;
		}
		if (in_fd >= 0 && feed_end && in_done == strbuf_len(inbuf))
			close_fd(&in_fd); /* the command sees end of input */
		if (in_fd >= 0) {
			pfd[n] = (struct pollfd){in_fd, POLLOUT, 0};
			in_idx = (int)n++;
		}
		if (out_fd >= 0) {
			pfd[n] = (struct pollfd){out_fd, POLLIN, 0};
			out_idx = (int)n++;
		}
		if ((left = deadline - now_ms()) <= 0) {
			end = PIPE_RUN_TIMEOUT;
			goto kill;
		}
		if (n == 0) {
			/* Input done, output closed: wait for the exit. */
			pid_t w = waitpid(pid, wait_status, WNOHANG);

			if (w == pid) {
				exited = 1;
				break;
			}
			if (w < 0 && errno != EINTR) {
				strbuf_why(why, "waitpid: %m");
				end = PIPE_RUN_ERROR;
				goto kill;
			}
			(void)poll(NULL, 0, left < 50 ? (int)left : 50);
			continue;
		}
		if (poll(pfd, n, left > 1000 ? 1000 : (int)left) < 0) {
			if (errno == EINTR)
				continue;
			strbuf_why(why, "poll: %m");
			end = PIPE_RUN_ERROR;
			goto kill;
		}
		if (in_idx >= 0 && pfd[in_idx].revents) {
			ssize_t w = write(in_fd, inbuf->data + in_done,
					  strbuf_len(inbuf) - in_done);

			if (w > 0) {
				in_done += (size_t)w;
			} else if (w < 0 && errno != EAGAIN &&
				   errno != EINTR) {
				/* EPIPE: it stopped reading; its exit
				 * status will tell. */
				close_fd(&in_fd);
			}
		}
		if (out_idx >= 0 && pfd[out_idx].revents) {
			char buf[4096];
			ssize_t r = read(out_fd, buf, sizeof(buf));

			if (r > 0) {
				size_t keep = strbuf_len(output) <
						      run->output_max
						  ? run->output_max -
							strbuf_len(output)
						  : 0;

				if (keep > (size_t)r)
					keep = (size_t)r;
				(void)strbuf_append(output, buf, keep);
			} else if (r == 0 ||
				   (errno != EAGAIN && errno != EINTR)) {
				close_fd(&out_fd);
			}
		}
	}
	close_fd(&in_fd);
	close_fd(&out_fd);
	strbuf_free(&inbuf);
	return PIPE_RUN_EXITED;

kill:
	kill_group(pid);
	close_fd(&in_fd);
	close_fd(&out_fd);
	while (waitpid(pid, wait_status, 0) < 0 && errno == EINTR)
		;
	strbuf_free(&inbuf);
	return end;
}
