/*
 * ha.c: high availability (daemon.ha, docs/high-availability.md).
 *
 * One ccslurmd runs beside each slurmctld.  Only the one beside the
 * slurmctld in control acts; the other is passive: its control socket
 * answers ping, status, nodes and metrics, it refuses node requests as
 * "busy" (the shims then spool them, client/shim.c), and it neither opens
 * the journal nor talks to CycleCloud.
 *
 * Who is in control is Slurm's word: every daemon.ha_check_interval we run
 * `scontrol ping` (through scontrol.c, never blocking the loop) and take the
 * first controller it lists as UP.  We are active iff that controller's host
 * is daemon.ha_hostname.  A ping that fails or cannot be read changes
 * nothing: flapping roles on a slurmctld hiccup would cost more than
 * waiting one more interval.
 *
 * The state_dir (shared storage) lock taken by journal_open() is the
 * guarantee that two daemons never act at once: a daemon that should become
 * active but finds the lock still held (the other has not noticed yet) stays
 * passive and tries again at the next check.  Role changes run from a
 * deferred event, never inside the scontrol callback, because
 * engine_shutdown() stops scontrol.c itself.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <event2/event.h>

#include "ccslurmd.h"
#include "log.h"
#include "util.h"
#include "xmalloc.h"

#define HA_HOST_MAX 256

static struct {
	bool enabled; /* daemon.ha at start */
	bool started;
	enum ha_role role;
	bool in_ping;     /* a `scontrol ping` is out */
	bool want_active; /* what the last good ping said */
	bool known;       /* active_host is set */
	char active_host[HA_HOST_MAX];
	char self[HA_HOST_MAX];
	struct event *ev_check;
	struct event *ev_apply;
} H;

/* ---- Parsing `scontrol ping` -------------------------------------------- */

/*
 * One line, as Slurm 22.05 and later print it:
 *   Slurmctld(primary) at ctl1 is UP
 *   Slurmctld(backup) at ctl2 is DOWN
 * Read leniently: the "(primary)"/"(backup)" tag is optional, the host is
 * the word after " at ", the state the word after " is ".  Returns 1 (UP),
 * 0 (DOWN or another state), -1 (not such a line).
 */
static int
parse_line(const char *line, size_t linelen, char *host, size_t len)
{
	char buf[1024];
	const char *at, *is, *h, *e;
	size_t n;

	if (linelen >= sizeof(buf))
		return -1;
	memcpy(buf, line, linelen);
	buf[linelen] = '\0';
	if (strstr(buf, "Slurmctld") == NULL &&
	    strstr(buf, "(primary)") == NULL && strstr(buf, "(backup)") == NULL)
		return -1;
	if ((at = strstr(buf, " at ")) == NULL ||
	    (is = strstr(at + 3, " is ")) == NULL)
		return -1;
	h = at + 4;
	while (*h == ' ')
		h++;
	e = h;
	while (*e != '\0' && *e != ' ')
		e++;
	n = (size_t)(e - h);
	if (n == 0 || n >= len || e > is)
		return -1;
	memcpy(host, h, n);
	host[n] = '\0';
	is += 4;
	while (*is == ' ')
		is++;
	if (strncmp(is, "UP", 2) == 0 &&
	    (is[2] == '\0' || isspace((unsigned char)is[2])))
		return 1;
	return 0;
}

int
ha_parse_ping(const char *output, char *host, size_t len, char **cause)
{
	const char *p = output, *nl;
	char h[HA_HOST_MAX];
	size_t n, lines = 0;
	int r;

	if (output == NULL)
		output = p = "";
	for (; *p != '\0'; p = nl + (*nl != '\0')) {
		if ((nl = strchr(p, '\n')) == NULL)
			nl = p + strlen(p);
		n = (size_t)(nl - p);
		if ((r = parse_line(p, n, h, sizeof(h))) == -1)
			continue;
		lines++;
		if (r == 1) {
			if (strlen(h) >= len) {
				*cause = xstrdup("controller host name too "
				                 "long");
				return -1;
			}
			snprintf(host, len, "%s", h);
			return 0;
		}
	}
	if (lines == 0)
		xasprintf(cause,
		    "no \"Slurmctld(...) at HOST is UP|DOWN\" "
		    "line in scontrol ping's output: \"%s\"",
		    log_esc(output));
	else
		xasprintf(cause,
		    "scontrol ping lists %zu controller(s), "
		    "none UP",
		    lines);
	return -1;
}

/* ---- Roles ----------------------------------------------------------- */

static void
ha_notify(void)
{
	if (H.role == HA_ACTIVE)
		notify_status("active (slurmctld in control on %s)",
		    H.known ? H.active_host : "?");
	else
		notify_status("passive (the active daemon is on %s)",
		    H.known ? H.active_host : "unknown: no check yet");
}

static void
become_active(void)
{
	/*
	 * Exactly a daemon start: journal (and its lock), cluster read,
	 * recovery, spool.  If the lock is still held by the daemon that is
	 * giving up control, engine_init() fails; undo what it did and try
	 * again at the next check.
	 */
	if (engine_init() == -1) {
		engine_shutdown();
		log_warnx(
		    "ha: %s is in control but the engine could not "
		    "start (see above; the other daemon may still hold the "
		    "state_dir lock): staying passive, retrying in %llu ms",
		    H.active_host,
		    (unsigned long long)ccsd.conf->daemon.ha_check_interval_ms);
		return;
	}
	H.role = HA_ACTIVE;
	log_info("ha: slurmctld in control is on %s (this host): ACTIVE",
	    H.active_host);
	ha_notify();
}

static void
become_passive(void)
{
	/* The journal keeps what is in flight; journal_close() (in
	 * engine_shutdown()) releases the lock for the other daemon. */
	engine_shutdown();
	H.role = HA_PASSIVE;
	log_info("ha: slurmctld in control is on %s, not %s: PASSIVE "
	         "(journal closed, state_dir lock released)",
	    H.known ? H.active_host : "?", H.self);
	ha_notify();
}

static void
on_apply(evutil_socket_t fd, short what, void *arg)
{
	if (ccsd.stopping || !H.started)
		return;
	if (H.want_active && H.role == HA_PASSIVE)
		become_active();
	else if (!H.want_active && H.role == HA_ACTIVE)
		become_passive();
}

static void
on_ping(int status, const char *output, void *arg)
{
	char host[HA_HOST_MAX], *cause = NULL;
	bool want, changed;

	H.in_ping = false;
	if (ccsd.stopping || !H.started)
		return;
	if (status != 0) {
		log_warnx("ha: scontrol ping failed (status %d): staying %s",
		    status, ha_role_name());
		return;
	}
	if (ha_parse_ping(output, host, sizeof(host), &cause) == -1) {
		log_warnx("ha: %s: staying %s", cause, ha_role_name());
		free(cause);
		return;
	}
	want = strcasecmp(host, H.self) == 0;
	changed = !H.known || strcmp(host, H.active_host) != 0;
	snprintf(H.active_host, sizeof(H.active_host), "%s", host);
	H.known = true;
	if (changed) {
		log_info("ha: scontrol ping: slurmctld in control on %s", host);
		if (H.role == HA_PASSIVE && !want)
			ha_notify();
	}
	H.want_active = want;
	if (want != (H.role == HA_ACTIVE))
		event_active(H.ev_apply, EV_TIMEOUT, 0);
}

static void
arm_check(uint64_t ms)
{
	struct timeval tv;

	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)((ms % 1000) * 1000);
	evtimer_add(H.ev_check, &tv);
}

static void
on_check(evutil_socket_t fd, short what, void *arg)
{
	static char a0[] = "ping";
	char *argv[] = {a0, NULL};

	if (ccsd.stopping || !H.started)
		return;
	/* One ping at a time: a slow slurmctld must not pile them up. */
	if (!H.in_ping) {
		if (scontrol_run(argv, on_ping, NULL) == 0)
			H.in_ping = true;
		else
			log_warnx("ha: cannot run scontrol ping: staying %s",
			    ha_role_name());
	}
	arm_check(ccsd.conf->daemon.ha_check_interval_ms);
}

/* ---- Life cycle ------------------------------------------------------ */

static void
set_self(void)
{
	char name[HA_HOST_MAX];
	char *dot;

	if (ccsd.conf->daemon.ha_hostname != NULL) {
		snprintf(H.self, sizeof(H.self), "%s",
		    ccsd.conf->daemon.ha_hostname);
		return;
	}
	if (gethostname(name, sizeof(name)) == -1) {
		log_warn("ha: gethostname");
		name[0] = '\0';
	}
	name[sizeof(name) - 1] = '\0';
	/* SlurmctldHost names are short names. */
	if ((dot = strchr(name, '.')) != NULL)
		*dot = '\0';
	snprintf(H.self, sizeof(H.self), "%s", name);
}

int
ha_start(void)
{
	memset(&H, 0, sizeof(H));
	H.enabled = ccsd.conf->daemon.ha != 0;
	if (!H.enabled) {
		if (engine_init() == -1)
			return -1;
		H.role = HA_ACTIVE;
		H.started = true;
		return 0;
	}
	set_self();
	H.role = HA_PASSIVE;
	H.ev_check = evtimer_new(ccsd.base, on_check, NULL);
	H.ev_apply = evtimer_new(ccsd.base, on_apply, NULL);
	if (H.ev_check == NULL || H.ev_apply == NULL)
		fatalx("ha: cannot create timers");
	H.started = true;
	log_info(
	    "ha: high availability on, this host is \"%s\": passive "
	    "until scontrol ping says its slurmctld is in control (checked "
	    "every %llu ms)",
	    H.self, (unsigned long long)ccsd.conf->daemon.ha_check_interval_ms);
	arm_check(0);
	return 0;
}

void
ha_stop(void)
{
	if (!H.started)
		return;
	H.started = false;
	if (H.ev_check != NULL)
		event_free(H.ev_check);
	if (H.ev_apply != NULL)
		event_free(H.ev_apply);
	H.ev_check = H.ev_apply = NULL;
	if (H.role == HA_ACTIVE)
		engine_shutdown();
	else
		scontrol_shutdown(); /* a ping still out */
	H.role = HA_PASSIVE;
}

bool
ha_enabled(void)
{
	return H.enabled;
}

bool
ha_active(void)
{
	return H.role == HA_ACTIVE;
}

const char *
ha_active_host(void)
{
	return H.known ? H.active_host : NULL;
}

const char *
ha_hostname(void)
{
	return H.self;
}

const char *
ha_role_name(void)
{
	return H.role == HA_ACTIVE ? "active" : "passive";
}
