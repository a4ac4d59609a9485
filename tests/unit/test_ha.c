/*
 * test_ha.c: reading `scontrol ping` (daemon/ha.c, ha_parse_ping()): which
 * controller is in control decides which ccslurmd acts, so every shape of
 * the output, and every way it can be unreadable, is pinned here.
 */
#include <stdlib.h>
#include <string.h>

#include "ccslurmd.h"
#include "testutil.h"

static char host[256];

/* The host ha_parse_ping() finds in out, or fails the test. */
static const char *
in_control(const char *out)
{
	char *cause = NULL;

	memset(host, 'X', sizeof(host));
	if (ha_parse_ping(out, host, sizeof(host), &cause) == -1)
		ck_abort_msg("unexpected error: %s", cause);
	ck_assert_ptr_null(cause);
	return host;
}

/* The error ha_parse_ping() gives for out (static; the test frees). */
static char *
refused(const char *out)
{
	static char *last;
	char *cause = NULL;

	strcpy(host, "unchanged");
	ck_assert_int_eq(ha_parse_ping(out, host, sizeof(host), &cause), -1);
	ck_assert_ptr_nonnull(cause);
	ck_assert_str_eq(host, "unchanged");
	ck_assert_ptr_null(strchr(cause, '\n')); /* one line */
	free(last);
	last = cause;
	return cause;
}

START_TEST(slurm_2205)
{
	ck_assert_str_eq(in_control("Slurmctld(primary) at ctl1 is UP\n"
	                            "Slurmctld(backup) at ctl2 is UP\n"),
	    "ctl1");
	ck_assert_str_eq(in_control("Slurmctld(primary) at ctl1 is DOWN\n"
	                            "Slurmctld(backup) at ctl2 is UP\n"),
	    "ctl2");
	/* A single controller, no newline at the end. */
	ck_assert_str_eq(
	    in_control("Slurmctld(primary) at ctl1 is UP"), "ctl1");
	/* Backup #2 (23.x prints more than one backup). */
	ck_assert_str_eq(
	    in_control("Slurmctld(primary) at a is DOWN\n"
	               "Slurmctld(backup) at b is DOWN\n"
	               "Slurmctld(backup) at c.example.com is UP\n"),
	    "c.example.com");
}
END_TEST

START_TEST(lenient)
{
	/* Other lines (warnings) around it, no role tag, extra spaces. */
	ck_assert_str_eq(in_control("scontrol: warning: something\n"
	                            "Slurmctld at  h1 is  UP\n"),
	    "h1");
	ck_assert_str_eq(in_control("Slurmctld(primary) at h1 is UP "
	                            "(reply in 3 ms)\n"),
	    "h1");
	/* "UPPER" is not UP. */
	ck_assert_str_eq(in_control("Slurmctld(primary) at h1 is UPPER\n"
	                            "Slurmctld(backup) at h2 is UP\n"),
	    "h2");
}
END_TEST

START_TEST(limits)
{
	char small[4], *cause = NULL;
	char line[600];

	/* A name longer than the caller's buffer is an error, not a cut. */
	ck_assert_int_eq(ha_parse_ping("Slurmctld(primary) at ctl1 is UP\n",
	                     small, sizeof(small), &cause),
	    -1);
	ck_assert_ptr_nonnull(cause);
	free(cause);
	/* A host of 255 bytes fits; a line over 1 KiB is skipped. */
	memset(line, 0, sizeof(line));
	strcpy(line, "Slurmctld(primary) at ");
	memset(line + strlen(line), 'h', 255);
	strcat(line, " is UP\n");
	ck_assert_uint_eq(strlen(in_control(line)), 255);
}
END_TEST

START_TEST(errors)
{
	ck_assert_ptr_nonnull(strstr(refused(""), "no \"Slurmctld"));
	ck_assert_ptr_nonnull(strstr(refused(NULL), "no \"Slurmctld"));
	ck_assert_ptr_nonnull(
	    strstr(refused("slurm_load_ctl_conf error: "
	                   "Unable to contact slurm controller\n"),
	        "Unable to contact"));
	ck_assert_ptr_nonnull(
	    strstr(refused("Slurmctld(primary) at ctl1 is DOWN\n"
	                   "Slurmctld(backup) at ctl2 is DOWN\n"),
	        "lists 2 controller(s), none UP"));
	/* No host, or no state: not a line. */
	refused("Slurmctld(primary) at  is UP\n");
	refused("Slurmctld(primary) at ctl1\n");
	refused("Slurmctld(primary) ctl1 is UP\n");
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("ha");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, slurm_2205);
	tcase_add_test(tc, lenient);
	suite_add_tcase(s, tc);
	tc = tcase_create("limits");
	tcase_add_test(tc, limits);
	suite_add_tcase(s, tc);
	tc = tcase_create("errors");
	tcase_add_test(tc, errors);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
