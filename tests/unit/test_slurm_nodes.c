/*
 * test_slurm_nodes.c: daemon/slurm_nodes.c, Slurm's view of its nodes from
 * `scontrol show nodes -o` (captured from Debian's Slurm 22.05.8) and from
 * `scontrol --json show nodes` in the shapes of 23.02 (state + state_flags)
 * and 23.11+ (one state array), written from Slurm's documentation.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ccslurmd.h"
#include "testutil.h"
#include "util.h"
#include "xmalloc.h"

#define MAXN 16

struct seen {
	char	 name[64][MAXN];
	struct slurm_node_info v[MAXN];
	int	 n;
};

static void
collect(const struct slurm_node_info *sn, void *arg)
{
	struct seen *s = arg;

	ck_assert_int_lt(s->n, MAXN);
	snprintf(s->name[s->n], sizeof(s->name[0]), "%s", sn->name);
	s->v[s->n] = *sn;
	s->v[s->n].name = s->name[s->n];
	s->n++;
}

static const struct slurm_node_info *
find(const struct seen *s, const char *name)
{
	int i;

	for (i = 0; i < s->n; i++)
		if (strcmp(s->v[i].name, name) == 0)
			return &s->v[i];
	ck_abort_msg("node %s not found", name);
	return NULL;
}

static char *
fixture(const char *name, size_t *len)
{
	const char *src = getenv("CCS_SOURCE_DIR");
	char *path, *buf;

	ck_assert_ptr_nonnull(src);
	path = xprintf("%s/tests/unit/slurmnodes/%s", src, name);
	ck_assert_int_eq(read_file(path, 1 << 20, &buf, len), 0);
	free(path);
	return buf;
}

static void
expect(const struct slurm_node_info *sn, bool pd, bool up, bool pdn,
    bool down, bool rt)
{
	ck_assert_msg(sn->powered_down == pd && sn->powering_up == up &&
	    sn->powering_down == pdn && sn->down == down &&
	    sn->resume_timeout == rt, "%s: got pd=%d up=%d pdn=%d down=%d "
	    "rt=%d", sn->name, sn->powered_down, sn->powering_up,
	    sn->powering_down, sn->down, sn->resume_timeout);
}

START_TEST(text_2205)
{
	struct seen s = { .n = 0 };
	size_t len;
	char *buf = fixture("text-2205.txt", &len);

	ck_assert_int_eq(slurm_nodes_parse_text(buf, collect, &s), 3);
	expect(find(&s, "cloud-1"), true, false, false, false, false);
	expect(find(&s, "cloud-2"), true, false, false, false, false);
	/* DOWN with a Reason that has spaces, at the end of the line. */
	expect(find(&s, "onprem1"), false, false, false, true, true);
	free(buf);
}
END_TEST

START_TEST(text_states)
{
	struct seen s = { .n = 0 };

	ck_assert_int_eq(slurm_nodes_parse_text(
	    "NodeName=a Arch=x State=ALLOCATED+CLOUD+NOT_RESPONDING+POWERING_UP "
	    "Weight=1\n"
	    "NodeName=b State=IDLE+CLOUD+POWERING_DOWN Partitions=p\n"
	    "NodeName=c State=IDLE+CLOUD+POWER_DOWN\n"
	    "NodeName=d State=DOWN+CLOUD+POWERED_DOWN+NOT_RESPONDING "
	    "Reason=ResumeTimeout reached [slurm@2026-11-26T08:00:00]\n"
	    "NodeName=e State=IDLE Reason=a NodeName=x State=DOWN in text\n"
	    "garbage line\n\n", collect, &s), 5);
	expect(find(&s, "a"), false, true, false, false, false);
	expect(find(&s, "b"), false, false, true, false, false);
	expect(find(&s, "c"), false, false, true, false, false);
	expect(find(&s, "d"), true, false, false, true, true);
	/* A Reason's text never counts as fields. */
	expect(find(&s, "e"), false, false, false, false, false);
}
END_TEST

START_TEST(json_2302)
{
	struct seen s = { .n = 0 };
	size_t len;
	char *buf = fixture("json-2302.json", &len);

	ck_assert_int_eq(slurm_nodes_parse_json(buf, len, collect, &s), 5);
	expect(find(&s, "hpc-pg0-1"), true, false, false, false, false);
	expect(find(&s, "hpc-pg0-2"), false, true, false, false, false);
	expect(find(&s, "hpc-pg0-3"), true, false, false, true, true);
	expect(find(&s, "hpc-pg0-4"), false, false, true, false, false);
	expect(find(&s, "onprem1"), false, false, false, false, false);
	free(buf);
}
END_TEST

START_TEST(json_2405)
{
	struct seen s = { .n = 0 };
	size_t len;
	char *buf = fixture("json-2405.json", &len);

	ck_assert_int_eq(slurm_nodes_parse_json(buf, len, collect, &s), 5);
	expect(find(&s, "hpc-pg0-1"), true, false, false, false, false);
	expect(find(&s, "hpc-pg0-2"), false, true, false, false, false);
	expect(find(&s, "hpc-pg0-3"), true, false, false, true, true);
	expect(find(&s, "hpc-pg0-4"), false, false, true, false, false);
	expect(find(&s, "onprem1"), false, false, false, false, false);
	free(buf);
}
END_TEST

START_TEST(json_not)
{
	struct seen s = { .n = 0 };
	const char *doc;
	static const char *bad[] = {
		"scontrol: unrecognized option '--json'\n",
		"", "[]", "{\"nodes\": {}}", "{\"nodes\": [", "{}",
	};
	size_t i;

	for (i = 0; i < nitems(bad); i++)
		ck_assert_int_eq(slurm_nodes_parse_json(bad[i], strlen(bad[i]),
		    collect, &s), -1);
	/* Nodes without a name are skipped, not fatal. */
	doc = "{\"nodes\":[{\"state\":\"idle\"},{\"name\":\"z\","
	    "\"state\":7}]}";
	ck_assert_int_eq(slurm_nodes_parse_json(doc, strlen(doc), collect, &s),
	    1);
	expect(find(&s, "z"), false, false, false, false, false);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("slurm_nodes");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, text_2205);
	tcase_add_test(tc, text_states);
	tcase_add_test(tc, json_2302);
	tcase_add_test(tc, json_2405);
	suite_add_tcase(s, tc);
	tc = tcase_create("errors");
	tcase_add_test(tc, json_not);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
