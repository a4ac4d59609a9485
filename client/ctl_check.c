/* ctl_check.c: being written (ctladmin). */
#include <stdio.h>

#include "ctl.h"

int
ctl_check(struct ctl *ctl, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	(void)ctl;
	fprintf(stderr, "ccslurmctl: not yet\n");
	return CTL_EXIT_FAILED;
}
