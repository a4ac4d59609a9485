/*
 * main.c: ccslurmd, a table of contents.
 *
 *   ccslurmd [-c CONFIG] [-f] [-d] [-n]
 *
 * Never forks (systemd Type=notify), logs to stderr, one event loop.
 *
 * Assumptions about the lead's side of ccslurmd.h, written down here:
 *   - engine_init() reads ccsd.base and ccsd.conf, logs its own reasons and
 *     returns -1 only when the daemon cannot run at all;
 *   - engine_shutdown() also stops what it started (scontrol children,
 *     journal, spool watch, reconcile timer): main calls nothing else of
 *     the engine's at exit;
 *   - engine_reconfigure() does not keep pointers into the old config,
 *     which is freed right after it returns 0.
 */
#include <sys/prctl.h>
#include <sys/stat.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "ccslurmd.h"
#include "log.h"
#include "paths.h"
#include "util.h"
#include "xmalloc.h"

/* struct ccsd ccsd: daemon/ccsd.c (the core library). */

static void
usage(void)
{
	fprintf(stderr, "usage: ccslurmd [-c CONFIG] [-f] [-d] [-n]\n");
	exit(2);
}

/* The shims slurmctld starts know only the built-in paths. */
static void
warn_paths(const struct conf *conf)
{
	if (strcmp(conf->daemon.socket, CCSLURMD_SOCKET_PATH) != 0)
		log_warnx(
		    "daemon.socket is %s, not the built-in %s: the "
		    "shims slurmctld runs will NOT find this daemon (they "
		    "only know the built-in path)",
		    log_esc(conf->daemon.socket), CCSLURMD_SOCKET_PATH);
	if (strcmp(conf->daemon.spool_dir, CCSLURMD_SPOOL_DIR) != 0)
		log_warnx(
		    "daemon.spool_dir is %s, not the built-in %s: "
		    "requests the shims spool while the daemon is down will "
		    "NOT be seen",
		    log_esc(conf->daemon.spool_dir), CCSLURMD_SPOOL_DIR);
}

static void
apply_log_level(const struct conf *conf)
{
	log_setlevel(ccsd.debug ? LOG_LVL_DEBUG : conf->log.level);
}

static void
notify_running(void)
{
	if (ha_enabled() && !ha_active()) {
		notify_status("passive (the active daemon is on %s)",
		    ha_active_host() != NULL ? ha_active_host() : "unknown");
		return;
	}
	notify_status("%srunning: %zu nodes known, %zu requests queued, "
	              "%zu operations in flight",
	    ha_enabled() ? "active, " : "", nodes.n, engine_queued(),
	    engine_ops_in_flight());
}

/* Append one error without a file line (the engine refused, say). */
static void
errs_add(struct conf_errors *errs, const char *file, const char *msg)
{
	struct conf_error *e;

	errs->v = xreallocarray(errs->v, errs->n + 1, sizeof(*errs->v));
	e = &errs->v[errs->n++];
	memset(e, 0, sizeof(*e));
	e->file = xstrdup(file);
	e->message = xstrdup(msg);
	e->text = xprintf("%s: %s", file, msg);
}

int
ccsd_reload(struct conf_errors *errs)
{
	struct conf *conf = NULL, *old;
	char *cause = NULL;
	size_t i;

	notify_reloading();
	log_info("reloading %s", log_esc(ccsd.config_path));
	if (conf_load(ccsd.config_path, &conf, errs) == -1) {
		for (i = 0; i < errs->n; i++)
			log_warnx("reload: %s", errs->v[i].text);
		log_warnx("reload: %zu error(s); keeping the old "
		          "configuration",
		    errs->n);
		goto fail;
	}
	/* A passive daemon (daemon.ha) has no engine: it starts with the
	 * new config when it becomes active. */
	if (ha_active() && engine_reconfigure(conf, &cause) == -1) {
		log_warnx("reload: %s; keeping the old configuration", cause);
		errs_add(errs, ccsd.config_path, cause);
		free(cause);
		conf_free(conf);
		goto fail;
	}
	/* What cannot change without a restart: say so, do not pretend. */
	if (strcmp(conf->daemon.socket, ccsd.conf->daemon.socket) != 0)
		log_warnx("reload: daemon.socket changed to %s; the daemon "
		          "keeps listening on %s until restarted",
		    log_esc(conf->daemon.socket),
		    log_esc(ccsd.conf->daemon.socket));
	old = ccsd.conf;
	ccsd.conf = conf;
	conf_free(old);
	apply_log_level(conf);
	warn_paths(conf);
	metrics_listen_stop();
	if (metrics_listen_start(conf, &cause) == -1) {
		log_warnx("reload: metrics listener: %s", cause);
		free(cause);
	}
	log_info("reload: configuration %s loaded", log_esc(ccsd.config_path));
	notify_ready();
	notify_running();
	return 0;
fail:
	notify_ready();
	notify_status("running; last reload FAILED (%zu error(s)), old "
	              "configuration kept",
	    errs->n);
	return -1;
}

static void
on_sighup(evutil_socket_t sig, short what, void *arg)
{
	struct conf_errors errs = {NULL, 0};

	ccsd_reload(&errs);
	conf_errors_free(&errs);
}

static void
on_sigterm(evutil_socket_t sig, short what, void *arg)
{
	if (ccsd.stopping)
		return;
	log_info("%s: stopping", strsignal((int)sig));
	ccsd.stopping = 1;
	notify_stopping();
	/* Stop taking requests first; the engine then flushes what it took. */
	control_shutdown();
	event_base_loopbreak(ccsd.base);
}

int
main(int argc, char **argv)
{
	struct conf_errors errs = {NULL, 0};
	struct event *ev_hup, *ev_term, *ev_int;
	const char *env;
	char *cause = NULL;
	int ch, check = 0;
	size_t i;

	fd_ensure_std();
	log_init("ccslurmd", LOG_LVL_INFO, LOG_TO_STDERR);
	ccsd.start_wall_ms = now_wall_ms();
	ccsd.start_mono_ms = now_mono_ms();
	ccsd.config_path = CCSLURMD_CONFIG_PATH;
	if ((env = getenv("CCSLURMD_CONFIG")) != NULL && *env != '\0')
		ccsd.config_path = env;

	while ((ch = getopt(argc, argv, "c:dfnV")) != -1) {
		switch (ch) {
		case 'c':
			ccsd.config_path = optarg;
			break;
		case 'd':
			ccsd.debug = 1;
			break;
		case 'f': /* the only mode; accepted for habit */
			break;
		case 'n':
			check = 1;
			break;
		case 'V':
			printf("ccslurmd %s\n", CCSLURMD_VERSION);
			return 0;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	if (check)
		return conf_check_main(ccsd.config_path);

	/* Configuration. */
	if (conf_load(ccsd.config_path, &ccsd.conf, &errs) == -1) {
		for (i = 0; i < errs.n; i++)
			log_errorx("%s", errs.v[i].text);
		conf_errors_free(&errs);
		fatalx("%s: not loaded; nothing started",
		    log_esc(ccsd.config_path));
	}
	apply_log_level(ccsd.conf);
	log_info("ccslurmd %s starting, config %s", CCSLURMD_VERSION,
	    log_esc(ccsd.config_path));
	warn_paths(ccsd.conf);

	/* Process hygiene: the password lives in our memory. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1)
		log_warn("prctl(PR_SET_DUMPABLE)");
	umask(0077);
	signal(SIGPIPE, SIG_IGN);

	/* The loop and its signals. */
	if ((ccsd.base = event_base_new()) == NULL)
		fatalx("event_base_new failed");
	ev_hup = evsignal_new(ccsd.base, SIGHUP, on_sighup, NULL);
	ev_term = evsignal_new(ccsd.base, SIGTERM, on_sigterm, NULL);
	ev_int = evsignal_new(ccsd.base, SIGINT, on_sigterm, NULL);
	if (ev_hup == NULL || ev_term == NULL || ev_int == NULL ||
	    evsignal_add(ev_hup, NULL) == -1 ||
	    evsignal_add(ev_term, NULL) == -1 ||
	    evsignal_add(ev_int, NULL) == -1)
		fatalx("cannot set up signal events");

	/* The socket, the engine, the rest. */
	if (control_init(ccsd.conf, &cause) == -1)
		fatalx("control socket: %s", cause);
	/* daemon.ha off: engine_init() now; on: passive until a check. */
	if (ha_start() == -1)
		fatalx("the burst engine did not start (see above)");
	reconcile_start();
	if (metrics_listen_start(ccsd.conf, &cause) == -1)
		fatalx("metrics.listen: %s", cause);
	notify_watchdog_start();
	notify_ready();
	notify_running();
	log_info("ready");

	event_base_dispatch(ccsd.base);

	/* Tear down in reverse. */
	if (!ccsd.stopping) {
		notify_stopping();
		control_shutdown();
	}
	metrics_listen_stop();
	ha_stop();	/* engine_shutdown() if active */
	notify_shutdown();
	event_free(ev_int);
	event_free(ev_term);
	event_free(ev_hup);
	event_base_free(ccsd.base);
	conf_free(ccsd.conf);
	log_info("stopped");
	return 0;
}
