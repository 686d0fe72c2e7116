/*
 * sigs - signal handling with a self-pipe; see sigs.h.
 *
 * The pipe is created before the first handler is installed, so a handler
 * never sees an unset descriptor. Both ends are non-blocking: if a storm of
 * signals fills the pipe the extra bytes are dropped (EAGAIN), which loses
 * nothing, because the flags say which signals came and one readable byte
 * is enough to wake the loop.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "msg.h"
#include "sigs.h"

static volatile sig_atomic_t sigs_flags[NSIG];
static int sigs_pipe[2] = {-1, -1};

static void sigs_handler(int sig)
{
	int saved_errno = errno;
	char byte = (char)sig;

	if (sig > 0 && sig < NSIG)
		sigs_flags[sig] = 1;
	if (write(sigs_pipe[1], &byte, 1) < 0) {
		/* EAGAIN: the pipe is full, the loop will wake anyway. */
	}
	errno = saved_errno;
}

static void sigs_check(const char *fn, int sig)
{
	if (sig <= 0 || sig >= NSIG)
		msg_panic("%s: bad signal number %d", fn, sig);
}

int sigs_wakeup_fd(void)
{
	if (sigs_pipe[0] < 0 && pipe2(sigs_pipe, O_CLOEXEC | O_NONBLOCK) < 0)
		msg_fatal("sigs: pipe2: %m");
	return sigs_pipe[0];
}

void sigs_drain(void)
{
	char buf[64];

	if (sigs_pipe[0] < 0)
		return;
	while (read(sigs_pipe[0], buf, sizeof(buf)) > 0)
		;
}

static void sigs_set(int sig, void (*handler)(int), int flags)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = handler;
	sa.sa_flags = flags;
	sigemptyset(&sa.sa_mask);
	if (sigaction(sig, &sa, NULL) < 0)
		msg_fatal("sigaction signal %d: %m", sig);
}

void sigs_catch(int sig)
{
	sigs_check("sigs_catch", sig);
	(void)sigs_wakeup_fd();
	sigs_set(sig, sigs_handler, sig == SIGCHLD ? SA_NOCLDSTOP : 0);
}

int sigs_pending(int sig)
{
	sigs_check("sigs_pending", sig);
	if (!sigs_flags[sig])
		return 0;
	sigs_flags[sig] = 0;
	return 1;
}

void sigs_ignore(int sig)
{
	sigs_check("sigs_ignore", sig);
	sigs_set(sig, SIG_IGN, 0);
}

void sigs_default(int sig)
{
	sigs_check("sigs_default", sig);
	sigs_set(sig, SIG_DFL, 0);
}
