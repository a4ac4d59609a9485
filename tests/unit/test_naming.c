/* test_naming.c: common/naming.c, node names and the name map. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "naming.h"
#include "testutil.h"
#include "util.h"
#include "xmalloc.h"

/* A writable copy of n string literals (-Wwrite-strings). */
static char **
dupv(const char *const *v, size_t n)
{
	char **out = xcalloc(n + 1, sizeof(*out));
	size_t i;

	for (i = 0; i < n; i++)
		out[i] = xstrdup(v[i]);
	return out;
}

static void
mk(struct ccs_nodearray *a, const char *name, const char *mt, unsigned max,
    bool hpc)
{
	ccs_nodearray_init(a);
	a->name = xstrdup(name);
	a->machine_type = xstrdup(mt);
	a->vcpu = 120;
	a->pcpu = 120;
	a->memory_gb = 448;
	a->max_count = max;
	a->hpc = hpc;
	a->autoscale = true;
}

START_TEST(defaults)
{
	struct ccs_nodearray a;

	ccs_nodearray_init(&a);
	ck_assert_uint_eq(a.max_scaleset_size, 40);
	ck_assert(a.hpc);
	ck_assert(a.use_pcpu);
	ck_assert(!a.autoscale);
	ck_assert(a.dampen_memory == 5.0);
	ck_assert_int_eq(a.shutdown_policy, CCS_SHUTDOWN_TERMINATE);
	a.name = xstrdup("hpc");
	ck_assert_str_eq(ccs_nodearray_partition(&a), "hpc");
	a.partition = xstrdup("mpi");
	ck_assert_str_eq(ccs_nodearray_partition(&a), "mpi");
	ccs_nodearray_clear(&a);
	ck_assert_ptr_null(a.name);
}
END_TEST

START_TEST(hpc_names)
{
	struct ccs_nodearray a;
	char **v, *s;
	size_t n;

	mk(&a, "hpc", "Standard_HB120rs_v3", 100, true);
	ck_assert_uint_eq(ccs_nodearray_pg_count(&a), 3);
	ck_assert_uint_eq(ccs_nodearray_pg_size(&a, 0), 40);
	ck_assert_uint_eq(ccs_nodearray_pg_size(&a, 2), 20);
	ck_assert_uint_eq(ccs_nodearray_pg_size(&a, 3), 0);
	v = ccs_nodearray_names(&a, &n);
	ck_assert_uint_eq(n, 100);
	ck_assert_str_eq(v[0], "hpc-pg0-1");
	ck_assert_str_eq(v[39], "hpc-pg0-40");
	ck_assert_str_eq(v[40], "hpc-pg1-1");
	ck_assert_str_eq(v[99], "hpc-pg2-20");
	ck_assert_ptr_null(v[100]);
	ccs_strv_free(v);
	v = ccs_nodearray_pg_names(&a, 2, &n);
	ck_assert_uint_eq(n, 20);
	ck_assert_str_eq(v[19], "hpc-pg2-20");
	ccs_strv_free(v);
	s = ccs_placement_group_id(&a, 1);
	ck_assert_str_eq(s, "hpc-Standard_HB120rs_v3-pg1");
	free(s);
	ccs_nodearray_clear(&a);
}
END_TEST

START_TEST(htc_names)
{
	struct ccs_nodearray a;
	char **v;
	size_t n;

	mk(&a, "htc", "Standard_F2s_v2", 50, false);
	ck_assert_uint_eq(ccs_nodearray_pg_count(&a), 0);
	v = ccs_nodearray_names(&a, &n);
	ck_assert_uint_eq(n, 50);
	ck_assert_str_eq(v[0], "htc-1");
	ck_assert_str_eq(v[49], "htc-50");
	ccs_strv_free(v);
	ck_assert_ptr_null(ccs_placement_group_id(&a, 0));
	ccs_nodearray_clear(&a);
}
END_TEST

START_TEST(sizes)
{
	struct ccs_nodearray a;

	/* Standard_F2s_v2: 2 vCPU, 1 pCPU, 4 GB -> 3 GB (1 GB floor). */
	mk(&a, "htc", "Standard_F2s_v2", 4, false);
	a.vcpu = 2;
	a.pcpu = 1;
	a.memory_gb = 4.0;
	ck_assert_uint_eq(ccs_real_memory_mib(&a), 3072);
	ck_assert_uint_eq(ccs_slurm_cpus(&a), 1);
	ck_assert_uint_eq(ccs_slurm_threads_per_core(&a), 2);
	a.use_pcpu = false;
	ck_assert_uint_eq(ccs_slurm_cpus(&a), 2);
	ck_assert_uint_eq(ccs_slurm_threads_per_core(&a), 2);
	/* 448 GB at 5%: (448 - 22.4) * 1024 = 435814.4. */
	a.memory_gb = 448;
	ck_assert_uint_eq(ccs_real_memory_mib(&a), 435814);
	/* 220 GB at 5%: 209 * 1024, exact; no off-by-one from rounding. */
	a.memory_gb = 220;
	ck_assert_uint_eq(ccs_real_memory_mib(&a), 214016);
	/* 40 GB at 5% keeps exactly 2 GB. */
	a.memory_gb = 40;
	ck_assert_uint_eq(ccs_real_memory_mib(&a), 38 * 1024);
	/* 0.5 GB would go negative: the floor is 1024 MiB. */
	a.memory_gb = 0.5;
	ck_assert_uint_eq(ccs_real_memory_mib(&a), 1024);
	a.memory_gb = 100;
	a.dampen_memory = 20;
	ck_assert_uint_eq(ccs_real_memory_mib(&a), 80 * 1024);
	/* pCPU unknown or not dividing vCPU: one thread per core. */
	a.pcpu = 0;
	a.use_pcpu = true;
	ck_assert_uint_eq(ccs_slurm_cpus(&a), 2);
	ck_assert_uint_eq(ccs_slurm_threads_per_core(&a), 1);
	a.vcpu = 6;
	a.pcpu = 4;
	ck_assert_uint_eq(ccs_slurm_threads_per_core(&a), 1);
	ccs_nodearray_clear(&a);
}
END_TEST

START_TEST(map_lookup)
{
	struct ccs_nodearray a[3];
	struct ccs_namemap *m;
	struct ccs_node_ref r;
	char *cause = NULL;

	mk(&a[0], "hpc", "Standard_HB120rs_v3", 100, true);
	mk(&a[1], "htc", "Standard_F2s_v2", 10, false);
	mk(&a[2], "hpc-pg0", "Standard_F2s_v2", 5, true);
	m = ccs_namemap_new(a, 3, &cause);
	ck_assert_msg(m != NULL, "%s", cause);
	/* The arrays may go away: the map keeps its own copy. */
	ccs_nodearray_clear(&a[0]);

	ck_assert_int_eq(ccs_namemap_lookup(m, "hpc-pg0-1", &r), 0);
	ck_assert_uint_eq(r.array, 0);
	ck_assert_uint_eq(r.pg, 0);
	ck_assert_uint_eq(r.index, 1);
	ck_assert_uint_eq(r.ordinal, 0);
	ck_assert_int_eq(ccs_namemap_lookup(m, "hpc-pg2-20", &r), 0);
	ck_assert_uint_eq(r.pg, 2);
	ck_assert_uint_eq(r.index, 20);
	ck_assert_uint_eq(r.ordinal, 99);
	ck_assert_int_eq(ccs_namemap_lookup(m, "htc-10", &r), 0);
	ck_assert_uint_eq(r.array, 1);
	ck_assert_uint_eq(r.index, 10);
	ck_assert_int_eq(ccs_namemap_lookup(m, "hpc-pg0-pg0-5", &r), 0);
	ck_assert_uint_eq(r.array, 2);
	ck_assert_uint_eq(r.index, 5);
	ccs_namemap_free(m);
	ccs_nodearray_clear(&a[1]);
	ccs_nodearray_clear(&a[2]);
}
END_TEST

START_TEST(create_sets)
{
	struct ccs_nodearray a[2];
	struct ccs_namemap *m;
	struct ccs_create_set *s;
	char *cause = NULL;
	size_t n;
	/* Unordered, with a duplicate, a gap and a group boundary. */
	static const char *lit[] = { "hpc-pg0-3", "htc-2", "hpc-pg0-1", "hpc-pg0-2",
	    "hpc-pg1-1", "hpc-pg0-40", "hpc-pg0-2", "htc-3", "hpc-pg0-7" };
	char **names = dupv(lit, nitems(lit));

	mk(&a[0], "hpc", "Standard_HB120rs_v3", 100, true);
	mk(&a[1], "htc", "Standard_F2s_v2", 10, false);
	m = ccs_namemap_new(a, 2, &cause);
	ck_assert_ptr_nonnull(m);
	ck_assert_int_eq(ccs_create_sets(m, names, nitems(lit), &s, &n,
	    &cause), 0);
	ck_assert_uint_eq(n, 5);
	ck_assert_str_eq(s[0].name_format, "hpc-pg0-%d");
	ck_assert_uint_eq(s[0].name_offset, 1);
	ck_assert_uint_eq(s[0].count, 3);
	ck_assert_str_eq(s[0].placement_group_id,
	    "hpc-Standard_HB120rs_v3-pg0");
	ck_assert_str_eq(s[0].nodearray, "hpc");
	ck_assert_str_eq(s[0].machine_type, "Standard_HB120rs_v3");
	ck_assert_uint_eq(s[1].name_offset, 7);
	ck_assert_uint_eq(s[1].count, 1);
	ck_assert_uint_eq(s[2].name_offset, 40);
	ck_assert_str_eq(s[3].name_format, "hpc-pg1-%d");
	ck_assert_uint_eq(s[3].name_offset, 1);
	ck_assert_str_eq(s[3].placement_group_id,
	    "hpc-Standard_HB120rs_v3-pg1");
	ck_assert_str_eq(s[4].name_format, "htc-%d");
	ck_assert_uint_eq(s[4].name_offset, 2);
	ck_assert_uint_eq(s[4].count, 2);
	ck_assert_ptr_null(s[4].placement_group_id);
	ck_assert_uint_eq(s[4].array, 1);
	ccs_create_sets_free(s, n);
	ccs_namemap_free(m);
	ccs_strv_free(names);
	ccs_nodearray_clear(&a[0]);
	ccs_nodearray_clear(&a[1]);
}
END_TEST

/* Every name of a 50,000-node array maps back to itself, in order. */
START_TEST(map_roundtrip_large)
{
	struct ccs_nodearray a[2];
	struct ccs_namemap *m;
	struct ccs_node_ref r;
	char **v, *cause = NULL, *back;
	size_t n, i, bad = 0;
	uint64_t t0, t;

	mk(&a[0], "big", "Standard_HB120rs_v3", 50000, true);
	mk(&a[1], "wide", "Standard_F2s_v2", 50000, false);
	m = ccs_namemap_new(a, 2, &cause);
	ck_assert_ptr_nonnull(m);
	for (size_t k = 0; k < 2; k++) {
		v = ccs_nodearray_names(&a[k], &n);
		for (i = 0; i < n; i++) {
			ck_assert_int_eq(ccs_namemap_lookup(m, v[i], &r), 0);
			ck_assert_uint_eq(r.array, k);
			ck_assert_uint_eq(r.ordinal, i);
		}
		/*
		 * The figure only: a time bound would fail under valgrind or
		 * the sanitizers, not on slow code.
		 */
		t0 = now_mono_ms();
		for (i = 0; i < n; i++)
			bad += ccs_namemap_lookup(m, v[i], &r) != 0;
		t = now_mono_ms() - t0;
		ck_assert_uint_eq(bad, 0);
		fprintf(stderr, "naming: %zu look-ups of %s names in %llu ms\n",
		    n, a[k].hpc ? "HPC" : "HTC", (unsigned long long)t);
		ck_assert_int_eq(ccs_namemap_lookup(m, v[n - 1], &r), 0);
		back = ccs_node_name(&a[k], r.pg, r.index);
		ck_assert_str_eq(back, v[n - 1]);
		free(back);
		ccs_strv_free(v);
	}
	ccs_namemap_free(m);
	ccs_nodearray_clear(&a[0]);
	ccs_nodearray_clear(&a[1]);
}
END_TEST

START_TEST(map_edges)
{
	struct ccs_nodearray a[2];
	struct ccs_namemap *m;
	struct ccs_node_ref r;
	char *cause = NULL;

	mk(&a[0], "hpc", "Standard_HB120rs_v3", 41, true);
	mk(&a[1], "htc", "Standard_F2s_v2", 1, false);
	m = ccs_namemap_new(a, 2, &cause);
	ck_assert_ptr_nonnull(m);
	ck_assert_int_eq(ccs_namemap_lookup(m, "hpc-pg1-1", &r), 0);
	ck_assert_int_eq(ccs_namemap_lookup(m, "htc-1", &r), 0);
	/* Just past the ends. */
	ck_assert_int_eq(ccs_namemap_lookup(m, "hpc-pg1-2", &r), -1);
	ck_assert_int_eq(ccs_namemap_lookup(m, "hpc-pg0-41", &r), -1);
	ck_assert_int_eq(ccs_namemap_lookup(m, "hpc-pg0-0", &r), -1);
	ck_assert_int_eq(ccs_namemap_lookup(m, "htc-2", &r), -1);
	ck_assert_int_eq(ccs_namemap_lookup(m, "htc-0", &r), -1);
	ccs_namemap_free(m);
	ccs_nodearray_clear(&a[0]);
	ccs_nodearray_clear(&a[1]);
}
END_TEST

START_TEST(map_not_ours)
{
	static const char *bad[] = { "", "hpc", "hpc-", "hpc-pg0", "hpc-pg0-",
	    "hpc-pg0-01", "hpc-pg00-1", "hpc-pg-1", "hpc-1", "htc-pg0-1",
	    "htc-01", "htc-1x", "xhtc-1", "HTC-1", "hpc-pg0-1 ",
	    "hpc-pg99999999999-1", "htc-99999999999", "htc--1", "-1",
	    "hpc-pg0-1-1", "onprem-1", "hpc-px0-1" };
	struct ccs_nodearray a[2];
	struct ccs_namemap *m;
	struct ccs_node_ref r = { 7, 7, 7, 7 };
	char *cause = NULL;
	size_t i;

	mk(&a[0], "hpc", "Standard_HB120rs_v3", 100, true);
	mk(&a[1], "htc", "Standard_F2s_v2", 100, false);
	m = ccs_namemap_new(a, 2, &cause);
	ck_assert_ptr_nonnull(m);
	for (i = 0; i < nitems(bad); i++) {
		ck_assert_msg(ccs_namemap_lookup(m, bad[i], &r) == -1,
		    "accepted \"%s\"", bad[i]);
		ck_assert_uint_eq(r.array, 7);
	}
	ck_assert_int_eq(ccs_namemap_lookup(m, NULL, &r), -1);
	ccs_namemap_free(m);
	ccs_nodearray_clear(&a[0]);
	ccs_nodearray_clear(&a[1]);
}
END_TEST

START_TEST(check_errors)
{
	struct ccs_nodearray a;
	char *cause = NULL;

	mk(&a, "hpc", "Standard_HB120rs_v3", 10, true);
	ck_assert_int_eq(ccs_nodearray_check(&a, &cause), 0);

	a.max_count = 0;
	ck_assert_int_eq(ccs_nodearray_check(&a, &cause), -1);
	ck_assert_str_eq(cause, "nodearray hpc: the bucket for "
	    "Standard_HB120rs_v3 has maxCount 0, no node can be created");
	free(cause);
	a.max_count = 10;

	free(a.machine_type);
	a.machine_type = NULL;
	ck_assert_int_eq(ccs_nodearray_check(&a, &cause), -1);
	ck_assert_str_eq(cause, "nodearray hpc has no machine type (no "
	    "bucket)");
	free(cause);
	a.machine_type = xstrdup("Standard_X");

	a.vcpu = 0;
	ck_assert_int_eq(ccs_nodearray_check(&a, &cause), -1);
	ck_assert_ptr_nonnull(strstr(cause, "has no VM size"));
	free(cause);
	a.vcpu = 4;
	a.memory_gb = 0;
	ck_assert_int_eq(ccs_nodearray_check(&a, &cause), -1);
	free(cause);
	a.memory_gb = 16;

	a.max_scaleset_size = 0;
	ck_assert_int_eq(ccs_nodearray_check(&a, &cause), -1);
	free(cause);
	a.max_scaleset_size = 40;

	a.dampen_memory = 100;
	ck_assert_int_eq(ccs_nodearray_check(&a, &cause), -1);
	free(cause);
	a.dampen_memory = 5;

	free(a.name);
	a.name = xstrdup("hpc,evil");
	ck_assert_int_eq(ccs_nodearray_check(&a, &cause), -1);
	ck_assert_ptr_nonnull(strstr(cause, "\"hpc,evil\""));
	free(cause);
	free(a.name);
	a.name = xstrdup("fmt%d");
	ck_assert_int_eq(ccs_nodearray_check(&a, &cause), -1);
	free(cause);
	free(a.name);
	a.name = xstrdup("hpc");
	a.partition = xstrdup("p q");
	ck_assert_int_eq(ccs_nodearray_check(&a, &cause), -1);
	ck_assert_ptr_nonnull(strstr(cause, "partition name \"p q\""));
	free(cause);
	ccs_nodearray_clear(&a);
}
END_TEST

START_TEST(map_errors)
{
	struct ccs_nodearray a[2];
	struct ccs_namemap *m;
	char *cause = NULL;

	/* Same name twice. */
	mk(&a[0], "hpc", "Standard_HB120rs_v3", 10, true);
	mk(&a[1], "hpc", "Standard_F2s_v2", 10, false);
	m = ccs_namemap_new(a, 2, &cause);
	ck_assert_ptr_null(m);
	ck_assert_str_eq(cause, "two nodearrays are named hpc");
	free(cause);
	ccs_nodearray_clear(&a[1]);

	/* HTC "hpc-pg3" would share names with HPC "hpc" once it grows. */
	mk(&a[1], "hpc-pg3", "Standard_F2s_v2", 10, false);
	m = ccs_namemap_new(a, 2, &cause);
	ck_assert_ptr_null(m);
	ck_assert_ptr_nonnull(strstr(cause, "would share node names"));
	free(cause);

	/* Either order. */
	m = ccs_namemap_new(&a[1], 1, &cause);
	ck_assert_ptr_nonnull(m);
	ccs_namemap_free(m);
	{
		struct ccs_nodearray b[2] = { a[1], a[0] };

		m = ccs_namemap_new(b, 2, &cause);
		ck_assert_ptr_null(m);
		free(cause);
	}

	/* A bad array is refused with its own reason. */
	a[1].max_count = 0;
	m = ccs_namemap_new(&a[1], 1, &cause);
	ck_assert_ptr_null(m);
	ck_assert_ptr_nonnull(strstr(cause, "maxCount 0"));
	free(cause);
	ccs_nodearray_clear(&a[0]);
	ccs_nodearray_clear(&a[1]);
}
END_TEST

START_TEST(create_sets_errors)
{
	struct ccs_nodearray a;
	struct ccs_namemap *m;
	struct ccs_create_set *s = (void *)1;
	char *cause = NULL;
	size_t n = 99;
	static const char *lit[] = { "hpc-pg0-1", "hpc-pg0-41", "hpc-pg0-2" };
	char **names = dupv(lit, nitems(lit));

	mk(&a, "hpc", "Standard_HB120rs_v3", 100, true);
	m = ccs_namemap_new(&a, 1, &cause);
	ck_assert_int_eq(ccs_create_sets(m, names, 3, &s, &n, &cause), -1);
	ck_assert_str_eq(cause, "hpc-pg0-41 is not a node of any autoscale "
	    "nodearray");
	free(cause);
	ck_assert_ptr_eq(s, (void *)1);
	ck_assert_uint_eq(n, 99);
	ck_assert_int_eq(ccs_create_sets(m, names, 0, &s, &n, &cause), 0);
	ck_assert_uint_eq(n, 0);
	ccs_create_sets_free(s, n);
	ccs_namemap_free(m);
	ccs_strv_free(names);
	ccs_nodearray_clear(&a);
}
END_TEST

static Suite *
naming_suite(void)
{
	Suite *s = suite_create("naming");
	TCase *tc;

	tc = tcase_create("core");
	tcase_add_test(tc, defaults);
	tcase_add_test(tc, hpc_names);
	tcase_add_test(tc, htc_names);
	tcase_add_test(tc, sizes);
	tcase_add_test(tc, map_lookup);
	tcase_add_test(tc, create_sets);
	suite_add_tcase(s, tc);

	tc = tcase_create("limits");
	tcase_add_test(tc, map_roundtrip_large);
	tcase_add_test(tc, map_edges);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_add_test(tc, map_not_ours);
	tcase_add_test(tc, check_errors);
	tcase_add_test(tc, map_errors);
	tcase_add_test(tc, create_sets_errors);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return run_suite(naming_suite());
}
