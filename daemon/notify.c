/*
 * notify.c: telling systemd how we are (sd_notify(3), daemon(7)).
 *
 * Without systemd ($NOTIFY_SOCKET unset) every call is a no-op.  The
 * watchdog is kept from a timer of the main event loop, not a thread, so a
 * wedged loop stops the pings and systemd restarts us.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <systemd/sd-daemon.h>

#include "ccslurmd.h"
#include "log.h"
#include "xmalloc.h"

static struct event *watchdog_ev;

static void
notify(const char *state)
{
	int r;

	if ((r = sd_notify(0, state)) < 0)
		log_warnx("notify: sd_notify: %s", strerror(-r));
}

void
notify_ready(void)
{
	notify("READY=1");
}

void
notify_reloading(void)
{
	notify("RELOADING=1");
}

void
notify_stopping(void)
{
	notify("STOPPING=1");
}

void
notify_status(const char *fmt, ...)
{
	va_list ap;
	char *msg, *line;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) == -1)
		fatalx("notify: vasprintf failed");
	va_end(ap);
	/* One line: a newline would start another assignment. */
	msg[strcspn(msg, "\n")] = '\0';
	line = xprintf("STATUS=%s", msg);
	notify(line);
	free(line);
	free(msg);
}

static void
notify_watchdog(evutil_socket_t fd, short what, void *arg)
{
	notify("WATCHDOG=1");
}

void
notify_watchdog_start(void)
{
	struct timeval tv;
	uint64_t usec;
	int r;

	if ((r = sd_watchdog_enabled(0, &usec)) <= 0) {
		if (r < 0)
			log_warnx("notify: WATCHDOG_USEC: %s", strerror(-r));
		return;
	}
	/* Half the interval, as sd_watchdog_enabled(3) advises. */
	usec /= 2;
	tv.tv_sec = (time_t)(usec / 1000000);
	tv.tv_usec = (suseconds_t)(usec % 1000000);
	watchdog_ev =
	    event_new(ccsd.base, -1, EV_PERSIST, notify_watchdog, NULL);
	event_add(watchdog_ev, &tv);
	notify("WATCHDOG=1");
	log_info("notify: watchdog every %llu ms",
	    (unsigned long long)(usec / 1000));
}

void
notify_shutdown(void)
{
	if (watchdog_ev != NULL) {
		event_free(watchdog_ev);
		watchdog_ev = NULL;
	}
}
