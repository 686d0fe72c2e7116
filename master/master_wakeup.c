/*
 * master_wakeup - the wakeup column: a one-byte "W" trigger sent to a
 * service every N seconds (qmgr and pickup rely on it to rescan the queue
 * even when a trigger from cleanup or postdrop was lost).
 *
 * master sends the trigger without ever blocking: a non-blocking connect
 * to the service's own UNIX socket (or a non-blocking open of its fifo),
 * one write, close. If the service's backlog is full it is busy anyway
 * and this wakeup is skipped. The trigger goes through the listener like
 * any client's, so it also starts the service's process when none runs.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "events.h"
#include "master.h"
#include "msg.h"

static void wakeup_send(struct master_serv *serv)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	int fd;

	if (serv->type == MASTER_FIFO) {
		if ((fd = open(serv->endpoint,
			       O_WRONLY | O_NONBLOCK | O_CLOEXEC)) < 0) {
			msg_warn("service %s: wakeup: open %s: %m", serv->name,
				 serv->endpoint);
			return;
		}
	} else {
		if (strlen(serv->endpoint) >= sizeof(sun.sun_path)) {
			msg_warn("service %s: socket path too long",
				 serv->name);
			return;
		}
		strcpy(sun.sun_path, serv->endpoint);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
			    0);
		if (fd < 0) {
			msg_warn("service %s: wakeup: socket: %m", serv->name);
			return;
		}
		if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
			if (errno != EAGAIN)
				msg_warn("service %s: wakeup: connect %s: %m",
					 serv->name, serv->endpoint);
			close(fd);
			return;
		}
	}
	if (write(fd, "W", 1) != 1 && errno != EAGAIN)
		msg_warn("service %s: wakeup: write: %m", serv->name);
	close(fd);
}

static void wakeup_event(void *ctx)
{
	struct master_serv *serv = ctx;

	/* "N?": a service nobody used yet need not be woken. */
	if (!(serv->wakeup_on_use && !serv->used) && serv->nlisten > 0)
		wakeup_send(serv);
	events_timer(wakeup_event, serv, serv->wakeup);
}

void master_wakeup_init(struct master_serv *serv)
{
	if (serv->wakeup <= 0)
		return;
	if (serv->type == MASTER_INET) {
		msg_warn("service %s: wakeup is not supported for inet "
			 "services; ignored",
			 serv->name);
		return;
	}
	/* The first wakeup goes out at once, as Postfix's does: that is
	 * what starts qmgr with the mail system, so mail left in the queue
	 * moves without waiting a whole wakeup period. */
	events_timer(wakeup_event, serv, 0);
}

void master_wakeup_cancel(struct master_serv *serv)
{
	events_timer_cancel(wakeup_event, serv);
}
