/*
 * mail_trigger - fire-and-forget wakeups for trigger services.
 *
 * Non-blocking from start to end: a fifo is opened O_NONBLOCK (ENXIO when
 * nobody reads it: the service is down, master will start it), a socket
 * connect that would wait is given up. A lost trigger is only latency.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "mail_trigger.h"
#include "strbuf.h"

int mail_trigger(const char *path, const char *buf, size_t len,
		 struct strbuf *why)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	struct stat st;
	ssize_t n;
	int fd;

	if (stat(path, &st) < 0)
		return strbuf_why(why, "trigger %s: %m", path);
	if (S_ISFIFO(st.st_mode)) {
		fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
		if (fd < 0)
			return strbuf_why(why, "trigger %s: open: %m", path);
	} else {
		if (strlen(path) >= sizeof(sun.sun_path)) {
			errno = ENAMETOOLONG;
			return strbuf_why(why, "trigger %s: %m", path);
		}
		strcpy(sun.sun_path, path);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
			    0);
		if (fd < 0)
			return strbuf_why(why, "trigger %s: socket: %m", path);
		if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
			int saved = errno;

			close(fd);
			errno = saved;
			return strbuf_why(why, "trigger %s: connect: %m",
					  path);
		}
	}
	n = write(fd, buf, len);
	if (n < 0 || (size_t)n != len) {
		int saved = n < 0 ? errno : EAGAIN;

		close(fd);
		errno = saved;
		return strbuf_why(why, "trigger %s: write: %m", path);
	}
	close(fd);
	return 0;
}
