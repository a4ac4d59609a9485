/*
 * ctl_hostlist.c: `ccslurmctl hostnames HOSTLIST` and `ccslurmctl hostlist
 * NAMES`, which print exactly what `scontrol show hostnames` and `scontrol
 * show hostlist` print, without needing Slurm or the daemon.  Unlike
 * scontrol, a bad hostlist exits 1.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "hostlist.h"

/* Both take exactly one argument; "--" lets a name start with '-'. */
static const char *
one_arg(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "--") == 0)
		return argv[2];
	if (argc != 2 || (argv[1][0] == '-' && argv[1][1] != '\0'))
		return NULL;
	return argv[1];
}

int
ctl_hostnames(struct ctl *ctl, int argc, char **argv)
{
	struct hostnames hn;
	const char *expr;
	char *cause;
	size_t i;

	if ((expr = one_arg(argc, argv)) == NULL)
		return ctl_usage(ctl);
	if (hostlist_expand(expr, &hn, &cause) == -1) {
		fprintf(stderr, "ccslurmctl: %s\n", cause);
		free(cause);
		return CTL_EXIT_FAILED;
	}
	for (i = 0; i < hn.n; i++) {
		fputs(hn.names[i], stdout);
		putchar('\n');
	}
	hostnames_free(&hn);
	return CTL_EXIT_OK;
}

int
ctl_hostlist(struct ctl *ctl, int argc, char **argv)
{
	const char *expr;
	char *out, *cause;

	if ((expr = one_arg(argc, argv)) == NULL)
		return ctl_usage(ctl);
	if (hostlist_normalize(expr, &out, &cause) == -1) {
		fprintf(stderr, "ccslurmctl: %s\n", cause);
		free(cause);
		return CTL_EXIT_FAILED;
	}
	puts(out);
	free(out);
	return CTL_EXIT_OK;
}
