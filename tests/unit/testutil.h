/* testutil.h: small helpers for the Check unit tests. */
#ifndef CCSLURM_TESTUTIL_H
#define CCSLURM_TESTUTIL_H

#include <check.h>
#include <stdlib.h>

/* Run one suite, print Check's summary, return the process exit code. */
static inline int
run_suite(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

#endif
