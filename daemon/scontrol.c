/*
 * scontrol.c: telling Slurm, without ever blocking the loop.
 *
 * Each run is a child process (posix_spawn) whose stdout and stderr go to
 * one pipe the loop reads; SIGCHLD (a libevent signal event) reaps it.  Runs
 * are queued and executed one at a time, in order: an address reset must
 * never overtake the address set it undoes.  A run is killed after
 * slurm.scontrol_timeout.  Every run is timed; above one second it is a
 * warning, since slurmctld serialises other commands behind a slow update
 * (slurm-power-save.md: ~10 s per unresolvable NodeAddr on 22.05).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/event.h>

#include "ccslurmd.h"
#include "failpoint.h"
#include "log.h"
#include "util.h"
#include "xmalloc.h"

extern char **environ;

#define SCONTROL_OUTPUT_MAX	(64U * 1024 * 1024) /* bytes of output kept */
#define SCONTROL_SLOW_MS	1000
/* After its exit or our SIGKILL, how long a run may take to end (EOF,
 * reaping) before we stop waiting for it. */
#define SCONTROL_KILL_GRACE_MS	1000

struct run {
	TAILQ_ENTRY(run) entry;
	char		**argv;		/* NULL-terminated, owned */
	scontrol_cb	 cb;
	void		*arg;
	pid_t		 pid;
	int		 fd;		/* read end of the output pipe */
	struct event	*ev_read;
	struct event	*ev_timeout;
	char		*out;		/* output, NUL-terminated */
	size_t		 outlen, outcap;
	int		 eof;
	int		 exited;
	int		 status;
	int		 killed;
	uint64_t	 start_ms;
};
TAILQ_HEAD(runq, run);

static struct runq	 queue = TAILQ_HEAD_INITIALIZER(queue);
static struct run	*current;
static struct event	*ev_sigchld;
static int		 stopping;

static void	 run_next(void);

static char *
argv_text(char *const *argv)
{
	size_t len = 0, i;
	char *s;

	for (i = 0; argv[i] != NULL; i++)
		len += strlen(argv[i]) + 1;
	s = xmalloc(len + 1);
	s[0] = '\0';
	for (i = 0; argv[i] != NULL; i++) {
		if (i > 0)
			strcat(s, " ");
		strcat(s, argv[i]);
	}
	return s;
}

static void
run_free(struct run *r)
{
	size_t i;

	for (i = 0; r->argv[i] != NULL; i++)
		free(r->argv[i]);
	free(r->argv);
	if (r->ev_read != NULL)
		event_free(r->ev_read);
	if (r->ev_timeout != NULL)
		event_free(r->ev_timeout);
	if (r->fd != -1)
		close(r->fd);
	free(r->out);
	free(r);
}

static void
run_finish(struct run *r)
{
	uint64_t ms = now_mono_ms() - r->start_ms;
	int status;
	char *cmd;

	if (r->killed)
		status = -1;
	else if (WIFEXITED(r->status))
		status = WEXITSTATUS(r->status);
	else
		status = -1;
	cmd = argv_text(r->argv);
	if (status != 0)
		log_warnx("scontrol: \"%s\" failed (%s) after %llu ms: %s",
		    log_esc(cmd), r->killed ? "killed at timeout" :
		    WIFEXITED(r->status) ? "exit status" : "signal",
		    (unsigned long long)ms, log_esc(r->out));
	else if (ms > SCONTROL_SLOW_MS)
		log_warnx("scontrol: \"%s\" took %llu ms: slurmctld is slow "
		    "to answer (unresolvable NodeAddr?)", log_esc(cmd),
		    (unsigned long long)ms);
	else
		log_debug("scontrol: \"%s\" done in %llu ms", log_esc(cmd),
		    (unsigned long long)ms);
	free(cmd);
	current = NULL;
	if (r->cb != NULL)
		r->cb(status, r->out, r->arg);
	run_free(r);
	run_next();
}

/*
 * Done once it exited and its output ended.  A run we killed is done when
 * it exited: its output no longer matters, and a process that left its
 * group may hold the pipe open for ever.  A run that exited by itself keeps
 * its timeout armed, so that such a holder cannot stall the queue either.
 */
static void
run_maybe_done(struct run *r)
{
	if (r->exited && (r->eof || r->killed))
		run_finish(r);
}

/* Read what the child wrote; sets r->eof at its end.  Never frees r. */
static void
read_some(struct run *r)
{
	char buf[4096];
	ssize_t n;
	size_t room;

	n = read(r->fd, buf, sizeof(buf));
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		event_del(r->ev_read);
		r->eof = 1;
		return;
	}
	room = SCONTROL_OUTPUT_MAX - r->outlen;
	if ((size_t)n > room)
		n = (ssize_t)room;
	if (r->outlen + (size_t)n + 1 > r->outcap) {
		r->outcap = (r->outlen + (size_t)n + 1) * 2;
		r->out = xreallocarray(r->out, r->outcap, 1);
	}
	memcpy(r->out + r->outlen, buf, (size_t)n);
	r->outlen += (size_t)n;
	r->out[r->outlen] = '\0';
}

static void
on_read(evutil_socket_t fd, short what, void *arg)
{
	struct run *r = arg;

	read_some(r);
	run_maybe_done(r);
}

static void
on_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct run *r = arg;
	struct timeval tv;

	if (r->exited) {
		/*
		 * It exited, but something it started (outside its process
		 * group: setsid, a daemonised helper) still holds the output
		 * pipe.  Waiting for that EOF would stall every later update
		 * behind this run for as long as that process lives.
		 */
		log_warnx("scontrol: pid %ld exited but its output is still "
		    "held open by another process after %llu ms: not "
		    "waiting for it", (long)r->pid,
		    (unsigned long long)(now_mono_ms() - r->start_ms));
		r->eof = 1;
		run_finish(r);
		return;
	}
	if (r->killed) {
		/* Killed and still not reaped (stuck in the kernel): give
		 * up on it; on_sigchld() reaps it whenever it goes. */
		log_warnx("scontrol: pid %ld did not die %d ms after "
		    "SIGKILL: abandoning it", (long)r->pid,
		    SCONTROL_KILL_GRACE_MS);
		r->eof = 1;
		run_finish(r);
		return;
	}
	log_warnx("scontrol: pid %ld still running after %llu ms: killing it",
	    (long)r->pid,
	    (unsigned long long)ccsd.conf->slurm.scontrol_timeout_ms);
	r->killed = 1;
	/* The whole group: a child of the script (a sleep) would keep the
	 * pipe open, and the run would wait for it, not for the timeout. */
	kill(-r->pid, SIGKILL);
	/* Bounded either way: a process outside the group may hold the
	 * pipe (run_maybe_done() does not wait for it once killed), or the
	 * child may not die at all. */
	tv.tv_sec = SCONTROL_KILL_GRACE_MS / 1000;
	tv.tv_usec = (SCONTROL_KILL_GRACE_MS % 1000) * 1000;
	evtimer_add(r->ev_timeout, &tv);
}

static void
on_sigchld(evutil_socket_t sig, short what, void *arg)
{
	pid_t pid;
	int status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if (current != NULL && current->pid == pid) {
			struct run *r = current;
			struct timeval tv;

			r->exited = 1;
			r->status = status;
			if (r->eof || r->killed) {
				run_finish(r);	/* frees r, starts the next */
				continue;
			}
			/* Its output is in the pipe already: EOF is due at
			 * once unless another process holds the pipe. */
			tv.tv_sec = SCONTROL_KILL_GRACE_MS / 1000;
			tv.tv_usec = (SCONTROL_KILL_GRACE_MS % 1000) * 1000;
			evtimer_del(r->ev_timeout);
			evtimer_add(r->ev_timeout, &tv);
		}
	}
}

static void
run_next(void)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t sa;
	struct timeval tv;
	struct run *r;
	int p[2], err;
	uint64_t ms;

	if (stopping || current != NULL ||
	    (r = TAILQ_FIRST(&queue)) == NULL)
		return;
	TAILQ_REMOVE(&queue, r, entry);
	if (ev_sigchld == NULL) {
		ev_sigchld = evsignal_new(ccsd.base, SIGCHLD, on_sigchld, NULL);
		event_add(ev_sigchld, NULL);
	}
	FAILPOINT("before-scontrol");
	if (pipe2(p, O_CLOEXEC) == -1) {
		log_warn("scontrol: pipe");
		goto fail;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, p[1], 1);
	posix_spawn_file_actions_adddup2(&fa, p[1], 2);
	/* Its own process group, so that the timeout kills all of it. */
	posix_spawnattr_init(&sa);
	posix_spawnattr_setflags(&sa, POSIX_SPAWN_SETPGROUP);
	posix_spawnattr_setpgroup(&sa, 0);
	r->start_ms = now_mono_ms();
	err = posix_spawnp(&r->pid, r->argv[0], &fa, &sa, r->argv, environ);
	posix_spawnattr_destroy(&sa);
	posix_spawn_file_actions_destroy(&fa);
	close(p[1]);
	if (err != 0) {
		close(p[0]);
		log_warnx("scontrol: cannot run %s: %s", log_esc(r->argv[0]),
		    strerror(err));
		goto fail;
	}
	r->fd = p[0];
	fd_set_nonblock(r->fd);
	current = r;
	r->ev_read = event_new(ccsd.base, r->fd, EV_READ | EV_PERSIST,
	    on_read, r);
	event_add(r->ev_read, NULL);
	ms = ccsd.conf->slurm.scontrol_timeout_ms;
	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)((ms % 1000) * 1000);
	r->ev_timeout = evtimer_new(ccsd.base, on_timeout, r);
	evtimer_add(r->ev_timeout, &tv);
	/* A child that exited before the signal event was armed. */
	on_sigchld(SIGCHLD, 0, NULL);
	return;
fail:
	if (r->cb != NULL)
		r->cb(-1, "could not run scontrol", r->arg);
	run_free(r);
	run_next();
}

int
scontrol_run(char *const *argv, scontrol_cb cb, void *arg)
{
	struct run *r;
	size_t n, i;

	for (n = 0; argv[n] != NULL; n++)
		;
	r = xcalloc(1, sizeof(*r));
	r->argv = xcalloc(n + 2, sizeof(char *));
	r->argv[0] = xstrdup(ccsd.conf->slurm.scontrol);
	for (i = 0; i < n; i++)
		r->argv[i + 1] = xstrdup(argv[i]);
	r->cb = cb;
	r->arg = arg;
	r->fd = -1;
	r->out = xstrdup("");
	r->outcap = 1;
	TAILQ_INSERT_TAIL(&queue, r, entry);
	run_next();
	return 0;
}

size_t
scontrol_running(void)
{
	struct run *r;
	size_t n = current != NULL;

	TAILQ_FOREACH(r, &queue, entry)
		n++;
	return n;
}

void
scontrol_shutdown(void)
{
	struct run *r;

	stopping = 1;
	if (current != NULL) {
		/*
		 * Let the last update finish: it is what Slurm must know.  But
		 * not beyond its timeout, and reading its output meanwhile: a
		 * child blocked on a full pipe would never exit.
		 */
		struct run *c = current;
		uint64_t now, end;

		end = c->start_ms + ccsd.conf->slurm.scontrol_timeout_ms;
		while (!c->eof) {
			struct pollfd pfd = { c->fd, POLLIN, 0 };

			if ((now = now_mono_ms()) >= end) {
				/* Killed: a grandchild left the group. */
				if (c->killed)
					break;
				c->killed = 1;
				kill(-c->pid, SIGKILL);
				end = now + 1000;
				continue;
			}
			if (poll(&pfd, 1, (int)(end - now)) > 0)
				read_some(c);
		}
		while (!current->exited) {
			int status;
			if (waitpid(current->pid, &status, 0) == current->pid) {
				current->exited = 1;
				current->status = status;
			} else if (errno != EINTR)
				break;
		}
		current->eof = 1;
		run_finish(current);
	}
	while ((r = TAILQ_FIRST(&queue)) != NULL) {
		TAILQ_REMOVE(&queue, r, entry);
		if (r->cb != NULL)
			r->cb(-1, "daemon stopping", r->arg);
		run_free(r);
	}
	if (ev_sigchld != NULL)
		event_free(ev_sigchld);
	ev_sigchld = NULL;
	/* ha.c stops the engine and starts it again in one process. */
	stopping = 0;
}
