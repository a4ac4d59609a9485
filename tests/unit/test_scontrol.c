/*
 * test_scontrol.c: daemon/scontrol.c, scontrol runs as children of the loop.
 *
 * A real event_base and a stand-in "scontrol" (a shell script written into
 * a fresh temporary directory) that records every call with nanosecond
 * timestamps, then does what its first argument asks: exit with a status,
 * hang, print a megabyte, die of a signal.
 */
#define _XOPEN_SOURCE 700
#include <check.h>
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/event.h>

#include <valgrind/valgrind.h>

#include "ccslurmd.h"
#include "log.h"
#include "testutil.h"
#include "util.h"
#include "xmalloc.h"

#define TIMEOUT_MS	600	/* slurm.scontrol_timeout in these tests */
#define WAIT_MS		10000	/* a test gives up waiting after */

static char dir[PATH_MAX];
static char script[PATH_MAX + 16];
static char calls[PATH_MAX + 16];

/* The stand-in.  "start"/"end" lines bracket each run in the calls file. */
static const char script_text[] =
    "#!/bin/sh\n"
    "log=\"$(dirname \"$0\")/calls\"\n"
    "echo \"start $(date +%s%N) $*\" >> \"$log\"\n"
    "code=0\n"
    "case \"$1\" in\n"
    "exit) echo \"out $2\"; echo \"err $2\" >&2; code=$2 ;;\n"
    "slow) sleep 0.2; echo \"slow $2\" ;;\n"
    "hang) sleep 30 ;;\n"
    "big) head -c 1048576 /dev/zero | tr '\\000' 'x' ;;\n"
    "signal) kill -9 $$ ;;\n"
    /* A helper outside the run's process group holds the output pipe. */
    "held) setsid sleep 30 & echo $! >> \"$(dirname \"$0\")/holders\" ;;\n"
    "heldhang) setsid sleep 30 & echo $! >> \"$(dirname \"$0\")/holders\";"
    " sleep 30 ;;\n"
    "esac\n"
    "echo \"end $(date +%s%N) $*\" >> \"$log\"\n"
    "exit $code\n";

/* One callback's record. */
struct done {
	int	 called;
	int	 status;
	char	*output;
	int	 order;		/* 1 for the first callback, ... */
};
static int ncallbacks;

static void
on_done(int status, const char *output, void *arg)
{
	struct done *d = arg;

	ck_assert_msg(d->called == 0, "callback called twice");
	d->called = 1;
	d->status = status;
	d->output = xstrdup(output != NULL ? output : "");
	d->order = ++ncallbacks;
}

static void
done_clear(struct done *d, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(d[i].output);
}

static void
tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
}

/* Run the loop until every d[i] was called back, at most WAIT_MS. */
static void
wait_for(struct done *d, size_t n)
{
	struct timeval tv = { 0, 50 * 1000 };
	struct event *ev;
	uint64_t deadline = now_mono_ms() + WAIT_MS;
	size_t i, got;

	/* A tick, so that EVLOOP_ONCE wakes up to look at the clock. */
	ev = event_new(ccsd.base, -1, EV_PERSIST, tick, NULL);
	event_add(ev, &tv);
	for (;;) {
		for (got = 0, i = 0; i < n; i++)
			got += d[i].called;
		if (got == n || now_mono_ms() > deadline)
			break;
		event_base_loop(ccsd.base, EVLOOP_ONCE);
	}
	event_free(ev);
	ck_assert_msg(got == n, "%zu of %zu callbacks after %d ms", got, n,
	    WAIT_MS);
}

static void
run(struct done *d, const char *a1, const char *a2)
{
	char *argv[3];

	argv[0] = xstrdup(a1);
	argv[1] = a2 != NULL ? xstrdup(a2) : NULL;
	argv[2] = NULL;
	ck_assert_int_eq(scontrol_run(argv, on_done, d), 0);
	free(argv[0]);
	free(argv[1]);
}

static void
setup(void)
{
	FILE *f;

	log_init("test_scontrol", LOG_LVL_ERROR, LOG_TO_STDERR);
	signal(SIGPIPE, SIG_IGN);
	snprintf(dir, sizeof(dir), "%s/test_scontrol.XXXXXX",
	    getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(script, sizeof(script), "%s/scontrol", dir);
	snprintf(calls, sizeof(calls), "%s/calls", dir);
	ck_assert_ptr_nonnull(f = fopen(script, "w"));
	fputs(script_text, f);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(chmod(script, 0755), 0);

	/* One base for the process: scontrol.c binds SIGCHLD to it once. */
	if (ccsd.base == NULL)
		ck_assert_ptr_nonnull(ccsd.base = event_base_new());
	ccsd.conf = xcalloc(1, sizeof(*ccsd.conf));
	ccsd.conf->slurm.scontrol = xstrdup(script);
	ccsd.conf->slurm.scontrol_timeout_ms = TIMEOUT_MS;
	ncallbacks = 0;
}

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void
teardown(void)
{
	/*
	 * Nothing may be left running: every test waits for its callbacks.
	 * The SIGCHLD event stays bound to this base inside scontrol.c, so
	 * the base is kept for the process (CK_FORK=no runs every test in
	 * one process) and only the config goes.
	 */
	ck_assert_uint_eq(scontrol_running(), 0);
	conf_free(ccsd.conf);
	ccsd.conf = NULL;
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* The calls file: one line a start or end of a run. */
struct line {
	char	 what[8];
	unsigned long long ns;
	char	 args[64];
};

static size_t
read_calls(struct line *v, size_t max)
{
	char buf[256];
	size_t n = 0;
	FILE *f;

	if ((f = fopen(calls, "r")) == NULL)
		return 0;
	while (n < max && fgets(buf, sizeof(buf), f) != NULL) {
		buf[strcspn(buf, "\n")] = '\0';
		ck_assert_int_ge(sscanf(buf, "%7s %llu %63[^\n]", v[n].what,
		    &v[n].ns, v[n].args), 2);
		n++;
	}
	fclose(f);
	return n;
}

/* ---- core --------------------------------------------------------------- */

START_TEST(one_at_a_time_in_order)
{
	struct done d[6];
	struct line l[16];
	char arg[8], want[32];
	size_t i, n;

	memset(d, 0, sizeof(d));
	for (i = 0; i < nitems(d); i++) {
		snprintf(arg, sizeof(arg), "%zu", i);
		run(&d[i], "slow", arg);
	}
	/* Queued, not all started at once. */
	ck_assert_uint_eq(scontrol_running(), nitems(d));
	wait_for(d, nitems(d));
	for (i = 0; i < nitems(d); i++) {
		ck_assert_int_eq(d[i].status, 0);
		ck_assert_int_eq(d[i].order, (int)i + 1);
		snprintf(want, sizeof(want), "slow %zu\n", i);
		ck_assert_str_eq(d[i].output, want);
	}
	n = read_calls(l, nitems(l));
	ck_assert_uint_eq(n, 2 * nitems(d));
	for (i = 0; i < nitems(d); i++) {
		snprintf(want, sizeof(want), "slow %zu", i);
		ck_assert_str_eq(l[2 * i].what, "start");
		ck_assert_str_eq(l[2 * i].args, want);
		ck_assert_str_eq(l[2 * i + 1].what, "end");
		ck_assert_str_eq(l[2 * i + 1].args, want);
		/* Never overlapping: each starts after the previous ended. */
		if (i > 0)
			ck_assert_uint_ge(l[2 * i].ns, l[2 * i - 1].ns);
	}
	ck_assert_uint_eq(scontrol_running(), 0);
	done_clear(d, nitems(d));
}
END_TEST

START_TEST(status_and_output)
{
	struct done d[3];

	memset(d, 0, sizeof(d));
	run(&d[0], "exit", "0");
	run(&d[1], "exit", "3");
	run(&d[2], "exit", "255");
	wait_for(d, nitems(d));
	ck_assert_int_eq(d[0].status, 0);
	ck_assert_int_eq(d[1].status, 3);
	ck_assert_int_eq(d[2].status, 255);
	/* stdout and stderr both reach the callback. */
	ck_assert_ptr_nonnull(strstr(d[1].output, "out 3\n"));
	ck_assert_ptr_nonnull(strstr(d[1].output, "err 3\n"));
	ck_assert_ptr_nonnull(strstr(d[2].output, "err 255\n"));
	done_clear(d, nitems(d));
}
END_TEST

START_TEST(argv_passed_whole)
{
	struct done d;
	struct line l[4];
	char *argv[] = { (char *)(uintptr_t)"update",
	    (char *)(uintptr_t)"NodeName=htc-[1-3]",
	    (char *)(uintptr_t)"Reason=ccslurmd: a b; $(x) `y`", NULL };

	memset(&d, 0, sizeof(d));
	ck_assert_int_eq(scontrol_run(argv, on_done, &d), 0);
	wait_for(&d, 1);
	ck_assert_int_eq(d.status, 0);
	ck_assert_uint_eq(read_calls(l, nitems(l)), 2);
	/* No shell between us and scontrol: the text arrives verbatim. */
	ck_assert_str_eq(l[0].args, "update NodeName=htc-[1-3] Reason=ccslurmd:"
	    " a b; $(x) `y`");
	done_clear(&d, 1);
}
END_TEST

/* ---- limits ------------------------------------------------------------- */

START_TEST(hang_killed_at_timeout)
{
	struct done d[2];
	uint64_t t0 = now_mono_ms(), ms;

	memset(d, 0, sizeof(d));
	run(&d[0], "hang", NULL);
	run(&d[1], "exit", "0");	/* the queue moves on afterwards */
	wait_for(d, nitems(d));
	ms = now_mono_ms() - t0;
	ck_assert_int_eq(d[0].status, -1);
	ck_assert_int_eq(d[1].status, 0);
	ck_assert_int_eq(d[0].order, 1);
	/* Killed at the timeout, not when sleep 30 ends. */
	ck_assert_msg(ms >= TIMEOUT_MS && ms < TIMEOUT_MS + 3000,
	    "the hanging run ended after %llu ms", (unsigned long long)ms);
	done_clear(d, nitems(d));
}
END_TEST

START_TEST(big_output)
{
	struct done d;
	size_t i, len;

	memset(&d, 0, sizeof(d));
	run(&d, "big", NULL);
	wait_for(&d, 1);
	ck_assert_int_eq(d.status, 0);
	len = strlen(d.output);
	ck_assert_uint_eq(len, 1048576);
	for (i = 0; i < len; i++)
		if (d.output[i] != 'x')
			ck_abort_msg("byte %zu is 0x%02x", i,
			    (unsigned char)d.output[i]);
	done_clear(&d, 1);
}
END_TEST

/* ---- errors ------------------------------------------------------------- */

START_TEST(missing_binary)
{
	struct done d[2];
	char missing[PATH_MAX + 32];

	memset(d, 0, sizeof(d));
	snprintf(missing, sizeof(missing), "%s/no-such-scontrol", dir);
	free(ccsd.conf->slurm.scontrol);
	ccsd.conf->slurm.scontrol = xstrdup(missing);
	run(&d[0], "exit", "0");
	/* The path is taken when the run is queued. */
	free(ccsd.conf->slurm.scontrol);
	ccsd.conf->slurm.scontrol = xstrdup(script);
	run(&d[1], "exit", "4");
	wait_for(d, nitems(d));
	/*
	 * glibc's posix_spawn reports the failed exec; under valgrind it
	 * cannot, and the child exits 127 (silently) like a shell does.
	 */
	if (RUNNING_ON_VALGRIND && d[0].status == 127)
		d[0].status = -1;
	else
		ck_assert_msg(d[0].output[0] != '\0', "no message");
	ck_assert_int_eq(d[0].status, -1);
	ck_assert_int_eq(d[1].status, 4);
	ck_assert_int_eq(d[0].order, 1);
	done_clear(d, nitems(d));
}
END_TEST

START_TEST(killed_by_signal)
{
	struct done d;

	memset(&d, 0, sizeof(d));
	run(&d, "signal", NULL);
	wait_for(&d, 1);
	ck_assert_int_eq(d.status, -1);
	done_clear(&d, 1);
}
END_TEST

/*
 * scontrol_shutdown() is for good (it refuses runs afterwards), so each
 * shutdown case runs in a child of its own, whatever CK_FORK says; the
 * child reports through its exit status.
 */
static void
in_child(void (*fn)(void), int want_ms_max)
{
	uint64_t t0 = now_mono_ms(), ms;
	int status;
	pid_t pid;

	fflush(NULL);
	ck_assert_int_ne(pid = fork(), -1);
	if (pid == 0) {
		if (event_reinit(ccsd.base) == -1)
			_exit(90);
		fn();
		_exit(0);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ms = now_mono_ms() - t0;
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "child: status 0x%x (exit %d)", status, WEXITSTATUS(status));
	ck_assert_msg(ms < (uint64_t)want_ms_max, "shutdown took %llu ms",
	    (unsigned long long)ms);
}

#define CHILD_CHECK(cond, code) do { if (!(cond)) _exit(code); } while (0)

static void
shutdown_queued_child(void)
{
	struct done d[4];
	struct line l[8];
	size_t i;

	memset(d, 0, sizeof(d));
	run(&d[0], "slow", "first");	/* running when shutdown comes */
	run(&d[1], "exit", "0");
	run(&d[2], "exit", "1");
	run(&d[3], "exit", "2");
	CHILD_CHECK(scontrol_running() == 4, 10);
	scontrol_shutdown();
	CHILD_CHECK(scontrol_running() == 0, 11);
	/* The running one finished (what Slurm must know), whole. */
	CHILD_CHECK(d[0].called && d[0].status == 0 && d[0].order == 1, 12);
	CHILD_CHECK(strcmp(d[0].output, "slow first\n") == 0, 13);
	/* The queued ones were cancelled, each told. */
	for (i = 1; i < 4; i++) {
		CHILD_CHECK(d[i].called && d[i].status == -1, 14);
		CHILD_CHECK(d[i].order == (int)i + 1, 15);
		CHILD_CHECK(d[i].output[0] != '\0', 16);
	}
	/* Only the first ever ran. */
	CHILD_CHECK(read_calls(l, nitems(l)) == 2, 17);
	CHILD_CHECK(strcmp(l[0].args, "slow first") == 0, 18);
	/* And nothing runs after shutdown: refused or at least told. */
	done_clear(d, nitems(d));
}

START_TEST(shutdown_cancels_queued)
{
	in_child(shutdown_queued_child, WAIT_MS);
}
END_TEST

static void
shutdown_hang_child(void)
{
	struct done d[2];

	memset(d, 0, sizeof(d));
	run(&d[0], "hang", NULL);
	run(&d[1], "exit", "0");
	scontrol_shutdown();
	CHILD_CHECK(d[0].called && d[0].status == -1, 20);
	CHILD_CHECK(d[1].called && d[1].status == -1, 21);
	CHILD_CHECK(scontrol_running() == 0, 22);
	done_clear(d, nitems(d));
}

/* Kill (by pid) the pipe holders the "held" runs left behind. */
static size_t
kill_holders(void)
{
	char path[PATH_MAX + 16];
	long pid;
	size_t n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/holders", dir);
	if ((f = fopen(path, "r")) == NULL)
		return 0;
	while (fscanf(f, "%ld", &pid) == 1) {
		if (pid > 1 && kill((pid_t)pid, SIGKILL) == 0)
			n++;
	}
	fclose(f);
	return n;
}

/*
 * scontrol exited, but a process it started outside its group (setsid)
 * still holds the output pipe: the run ends shortly after the exit, with
 * the exit status, and the queue moves on.  (It used to wait for the
 * holder's EOF, so every later update stalled for as long as it lived.)
 */
START_TEST(exited_pipe_held)
{
	struct done d[2];
	uint64_t t0 = now_mono_ms(), ms;

	memset(d, 0, sizeof(d));
	run(&d[0], "held", NULL);
	run(&d[1], "exit", "0");
	wait_for(d, nitems(d));
	ms = now_mono_ms() - t0;
	ck_assert_int_eq(d[0].status, 0);
	ck_assert_int_eq(d[0].order, 1);
	ck_assert_int_eq(d[1].status, 0);
	ck_assert_msg(ms < 5000, "the held run ended after %llu ms",
	    (unsigned long long)ms);
	/* The holder was still alive: the run did not wait for it. */
	ck_assert_uint_eq(kill_holders(), 1);
	done_clear(d, nitems(d));
}
END_TEST

/* The same when the run hangs and is killed at the timeout: the holder is
 * outside the killed group, and the run must end anyway. */
START_TEST(killed_pipe_held)
{
	struct done d[2];
	uint64_t t0 = now_mono_ms(), ms;

	memset(d, 0, sizeof(d));
	run(&d[0], "heldhang", NULL);
	run(&d[1], "exit", "0");
	wait_for(d, nitems(d));
	ms = now_mono_ms() - t0;
	ck_assert_int_eq(d[0].status, -1);
	ck_assert_int_eq(d[1].status, 0);
	ck_assert_msg(ms >= TIMEOUT_MS && ms < TIMEOUT_MS + 3000,
	    "the held, hanging run ended after %llu ms",
	    (unsigned long long)ms);
	ck_assert_uint_eq(kill_holders(), 1);
	done_clear(d, nitems(d));
}
END_TEST

/* A wedged scontrol must not hold the daemon's exit beyond its timeout. */
START_TEST(shutdown_hang_bounded)
{
	in_child(shutdown_hang_child, TIMEOUT_MS + 3000);
}
END_TEST

static Suite *
scontrol_suite(void)
{
	Suite *s = suite_create("scontrol");
	TCase *tc;

	tc = tcase_create("core");
	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, one_at_a_time_in_order);
	tcase_add_test(tc, status_and_output);
	tcase_add_test(tc, argv_passed_whole);
	tcase_add_test(tc, shutdown_cancels_queued);
	suite_add_tcase(s, tc);

	tc = tcase_create("limits");
	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, hang_killed_at_timeout);
	tcase_add_test(tc, big_output);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, missing_binary);
	tcase_add_test(tc, killed_by_signal);
	tcase_add_test(tc, shutdown_hang_bounded);
	tcase_add_test(tc, exited_pipe_held);
	tcase_add_test(tc, killed_pipe_held);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return run_suite(scontrol_suite());
}
