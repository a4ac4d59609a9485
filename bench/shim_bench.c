/*
 * shim_bench.c: the wall time of a shim call as slurmctld makes it, against
 * /bin/true run the same way.
 *
 *   shim_bench [-n CALLS] SHIM HOSTLIST
 *
 * Runs SHIM once per name of HOSTLIST (CALLS names, default 1000: each call
 * resumes a different node, the realistic path) and /bin/true as many times,
 * interleaved so that both see the same machine load.  Each run is
 * posix_spawn() + waitpid() with what slurmctld (slurmscriptd) gives its
 * power-saving programs: one hostlist argument, a near-empty environment
 * (SLURM_CONF, PWD; plus CCSLURMD_SOCKET and CCSLURMD_SPOOL passed on from
 * ours, since the benchmark's daemon listens on a private socket, as a
 * site's wrapper script would set them), stdin a pipe, stdout and stderr
 * closed.  Every call must exit 0.
 *
 * Prints the median, p99 (nearest rank), mean and maximum of both, and the
 * ratio shim/true of the medians and of the p99s.  The daemon is the
 * caller's business (bench/shim_bench.sh starts one against the fake
 * CycleCloud).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hostlist.h"
#include "xmalloc.h"

#define TRUE_PATH "/bin/true"
#define DEFAULT_CALLS 1000
#define MAX_ENV 8

struct series {
	const char *what;
	double *us; /* one wall time a call, microseconds */
	size_t n;
};

static double
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/*
 * Run path with argv { argv0, arg } and env the way slurmscriptd does;
 * returns the wall time in microseconds, or -1 (with a message on our
 * stderr) when the program could not run or did not exit 0.
 */
static double
run_once(const char *path, const char *argv0, const char *arg, char *const *env,
    int stdin_fd)
{
	posix_spawn_file_actions_t fa;
	char *argv[3];
	double t0, t;
	pid_t pid;
	int rc, status;

	argv[0] = xstrdup(argv0);
	argv[1] = xstrdup(arg);
	argv[2] = NULL;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, stdin_fd, STDIN_FILENO);
	posix_spawn_file_actions_addclose(&fa, STDOUT_FILENO);
	posix_spawn_file_actions_addclose(&fa, STDERR_FILENO);

	t0 = now_us();
	rc = posix_spawn(&pid, path, &fa, NULL, argv, env);
	if (rc == 0) {
		while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
			;
	}
	t = now_us() - t0;

	posix_spawn_file_actions_destroy(&fa);
	free(argv[0]);
	free(argv[1]);
	if (rc != 0) {
		fprintf(stderr, "shim_bench: %s: %s\n", path, strerror(rc));
		return -1;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "shim_bench: %s %s: %s %d\n", path, arg,
		    WIFEXITED(status) ? "exit" : "signal",
		    WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
		return -1;
	}
	return t;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of a sorted series (p in (0, 100]). */
static double
percentile(const struct series *s, double p)
{
	size_t rank = (size_t)((p / 100.0) * (double)s->n + 0.999999);

	if (rank < 1)
		rank = 1;
	if (rank > s->n)
		rank = s->n;
	return s->us[rank - 1];
}

static void
report(struct series *s, double *median, double *p99)
{
	double sum = 0;
	size_t i;

	qsort(s->us, s->n, sizeof(*s->us), cmp_double);
	for (i = 0; i < s->n; i++)
		sum += s->us[i];
	*median = percentile(s, 50);
	*p99 = percentile(s, 99);
	printf("  %-16s median %8.0f us  p99 %8.0f us  mean %8.0f us  "
	       "max %8.0f us\n",
	    s->what, *median, *p99, sum / (double)s->n, s->us[s->n - 1]);
}

static void
usage(void)
{
	fprintf(stderr, "usage: shim_bench [-n CALLS] SHIM HOSTLIST\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	struct series shim = {"shim", NULL, 0}, tru = {TRUE_PATH, NULL, 0};
	struct hostnames hn;
	char *env[MAX_ENV], cwd[4096], *cause, *v;
	const char *shim_path, *shim_name;
	double t, med[2], p99[2];
	size_t calls = DEFAULT_CALLS, i, ne = 0;
	int ch, pfd[2], pass;

	while ((ch = getopt(argc, argv, "n:")) != -1) {
		switch (ch) {
		case 'n':
			calls = strtoul(optarg, &v, 10);
			if (*v != '\0' || calls < 1 || calls > 1000000)
				usage();
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 2)
		usage();
	shim_path = argv[0];
	shim_name = strrchr(shim_path, '/') != NULL
	                ? strrchr(shim_path, '/') + 1
	                : shim_path;
	if (hostlist_expand(argv[1], &hn, &cause) == -1) {
		fprintf(stderr, "shim_bench: %s\n", cause);
		free(cause);
		return 2;
	}
	if (hn.n < calls) {
		fprintf(stderr,
		    "shim_bench: %zu calls need as many names; "
		    "the hostlist has %zu\n",
		    calls, hn.n);
		return 2;
	}

	/* slurmscriptd's environment, and ours for the private socket. */
	if (getcwd(cwd, sizeof(cwd)) == NULL)
		snprintf(cwd, sizeof(cwd), "/");
	env[ne++] = xprintf("SLURM_CONF=%s", getenv("SLURM_CONF") != NULL
	                                         ? getenv("SLURM_CONF")
	                                         : "/etc/slurm/slurm.conf");
	env[ne++] = xprintf("PWD=%s", cwd);
	if ((v = getenv("CCSLURMD_SOCKET")) != NULL)
		env[ne++] = xprintf("CCSLURMD_SOCKET=%s", v);
	if ((v = getenv("CCSLURMD_SPOOL")) != NULL)
		env[ne++] = xprintf("CCSLURMD_SPOOL=%s", v);
	env[ne] = NULL;

	/* stdin: a pipe whose writer is gone, as good as slurmscriptd's. */
	if (pipe2(pfd, O_CLOEXEC) == -1) {
		perror("shim_bench: pipe2");
		return 1;
	}
	close(pfd[1]);
	signal(SIGPIPE, SIG_IGN);

	shim.us = xcalloc(calls, sizeof(*shim.us));
	tru.us = xcalloc(calls, sizeof(*tru.us));
	for (i = 0; i < calls; i++) {
		/* Alternate which goes first so neither gets the warm cache. */
		for (pass = 0; pass < 2; pass++) {
			if ((pass == 0) == (i % 2 == 0)) {
				t = run_once(shim_path, shim_name, hn.names[i],
				    env, pfd[0]);
				if (t < 0)
					return 1;
				shim.us[shim.n++] = t;
			} else {
				t = run_once(TRUE_PATH, "true", hn.names[i],
				    env, pfd[0]);
				if (t < 0)
					return 1;
				tru.us[tru.n++] = t;
			}
		}
	}

	printf("shim: %zu calls of %s, one node each (%s ... %s), "
	       "interleaved with %s\n",
	    calls, shim_name, hn.names[0], hn.names[calls - 1], TRUE_PATH);
	report(&shim, &med[0], &p99[0]);
	report(&tru, &med[1], &p99[1]);
	printf("  ratio shim/true  median %.2fx  p99 %.2fx\n", med[0] / med[1],
	    p99[0] / p99[1]);

	for (i = 0; i < ne; i++)
		free(env[i]);
	free(shim.us);
	free(tru.us);
	hostnames_free(&hn);
	close(pfd[0]);
	return 0;
}
