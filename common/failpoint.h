/*
 * failpoint.h: test-only crash points (decisions.md, "Tests that prove what
 * they claim").  In a build with -DCCSLURMD_FAILPOINTS=ON, FAILPOINT("x")
 * kills the process with SIGKILL when $CCSLURMD_FAILPOINT equals "x", so a
 * test can crash the daemon at an exact moment (after the journal write,
 * after a POST is sent, before scontrol) and check what a restart does.
 * In a release build the macro is empty.
 */
#ifndef CCSLURM_FAILPOINT_H
#define CCSLURM_FAILPOINT_H

#ifdef CCSLURMD_FAILPOINTS
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#define FAILPOINT(name) do {						\
	const char *fp_ = getenv("CCSLURMD_FAILPOINT");			\
	if (fp_ != NULL && strcmp(fp_, (name)) == 0)			\
		kill(getpid(), SIGKILL);				\
} while (0)
#else
#define FAILPOINT(name) do { } while (0)
#endif

#endif
