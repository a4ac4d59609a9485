/*
 * hostlist_bench.c: our hostlist code against libslurm's, in one process.
 *
 *   hostlist_bench [NAMES] [REPS]     (default 100000 names, 5 repetitions)
 *
 * Expands realistic expressions (hpc-pg<P>-<N> placement groups, zero-padded
 * gpu nodes) to NAMES names, and compresses those names back, with
 * hostlist_expand()/hostlist_compress() and with slurm_hostlist_create()/
 * _shift() and _push_host()/_ranged_string().  Prints the best time of REPS
 * for each and the ratio ours/libslurm, and checks both agree.
 */
#include <slurm/slurm.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hostlist.h"
#include "xmalloc.h"

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int
main(int argc, char **argv)
{
	long want = argc > 1 ? strtol(argv[1], NULL, 10) : 100000;
	int reps = argc > 2 ? atoi(argv[2]) : 5, r;
	double t, best[4] = { 1e9, 1e9, 1e9, 1e9 };
	struct hostnames hn;
	char *expr, *ours = NULL, *theirs = NULL;
	long groups, per = 1000;
	size_t i;

	if (want < 100 || reps < 1) {
		fprintf(stderr, "usage: hostlist_bench [NAMES>=100] [REPS]\n");
		return 2;
	}
	/* 90% in placement groups of 1000, 10% zero-padded gpu nodes. */
	groups = want * 9 / 10 / per;
	if (groups < 1) {
		groups = 1;
		per = want * 9 / 10;
	}
	expr = xprintf("hpc-pg[0-%ld]-[1-%ld],gpu[%06d-%06ld]", groups - 1,
	    per, 1, want - groups * per);

	for (r = 0; r < reps; r++) {
		hostlist_t hl;
		char *h;
		size_t n = 0;

		/* Expand: ours. */
		t = now_s();
		if (hostlist_expand(expr, &hn, NULL) == -1) {
			fprintf(stderr, "expand failed\n");
			return 1;
		}
		t = now_s() - t;
		if (t < best[0])
			best[0] = t;

		/* Expand: libslurm, every name as its own string. */
		t = now_s();
		hl = slurm_hostlist_create(expr);
		while ((h = slurm_hostlist_shift(hl)) != NULL) {
			if (n < hn.n && r == 0 && strcmp(h, hn.names[n]) != 0) {
				fprintf(stderr, "differ at %zu: %s %s\n", n, h,
				    hn.names[n]);
				return 1;
			}
			n++;
			free(h);
		}
		slurm_hostlist_destroy(hl);
		t = now_s() - t;
		if (t < best[1])
			best[1] = t;
		if (n != hn.n) {
			fprintf(stderr, "count %zu vs %zu\n", hn.n, n);
			return 1;
		}

		/* Compress the names: ours. */
		free(ours);
		t = now_s();
		ours = hostlist_compress(hn.names, hn.n);
		t = now_s() - t;
		if (t < best[2])
			best[2] = t;

		/* Compress: libslurm. */
		free(theirs);
		t = now_s();
		hl = slurm_hostlist_create(NULL);
		for (i = 0; i < hn.n; i++)
			slurm_hostlist_push_host(hl, hn.names[i]);
		theirs = slurm_hostlist_ranged_string_malloc(hl);
		slurm_hostlist_destroy(hl);
		t = now_s() - t;
		if (t < best[3])
			best[3] = t;
		hostnames_free(&hn);
	}
	if (strcmp(ours, theirs) != 0) {
		fprintf(stderr, "compressed forms differ:\n%s\n%s\n", ours,
		    theirs);
		return 1;
	}
	printf("hostlist: %ld names (%s), best of %d\n", want, expr, reps);
	printf("  expand    ours %8.3f ms  libslurm %8.3f ms  ratio %.2fx\n",
	    best[0] * 1e3, best[1] * 1e3, best[0] / best[1]);
	printf("  compress  ours %8.3f ms  libslurm %8.3f ms  ratio %.2fx\n",
	    best[2] * 1e3, best[3] * 1e3, best[2] / best[3]);
	free(ours);
	free(theirs);
	free(expr);
	return 0;
}
