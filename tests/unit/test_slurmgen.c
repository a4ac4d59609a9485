/*
 * test_slurmgen.c: common/slurmgen.c against golden files.
 *
 * The golden files under tests/unit/golden/ were checked by hand (and the
 * hostlists against `scontrol show hostlist`); after a deliberate change of
 * the output, regenerate them with CCS_UPDATE_GOLDEN=1 and review the diff.
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "naming.h"
#include "slurmgen.h"
#include "testutil.h"
#include "util.h"
#include "xmalloc.h"

/* 2026-11-26 10:15:00 UTC: the backup names below depend on it. */
#define NOW ((time_t)1795688100)

static void
arr(struct ccs_nodearray *a, const char *name, const char *mt,
    unsigned vcpu, unsigned pcpu, unsigned gpu, double gb, unsigned max,
    bool hpc)
{
	ccs_nodearray_init(a);
	a->name = xstrdup(name);
	a->machine_type = xstrdup(mt);
	a->vcpu = vcpu;
	a->pcpu = pcpu;
	a->gpu = gpu;
	a->memory_gb = gb;
	a->max_count = max;
	a->hpc = hpc;
	a->autoscale = true;
}

static void
hb120(struct ccs_nodearray *a, unsigned max)
{
	arr(a, "hpc", "Standard_HB120rs_v3", 120, 120, 0, 448, max, true);
}

static void
f2(struct ccs_nodearray *a, const char *name, unsigned max)
{
	arr(a, name, "Standard_F2s_v2", 2, 1, 0, 4.0, max, false);
}

static void
nc96(struct ccs_nodearray *a)
{
	arr(a, "gpu", "Standard_NC96ads_A100_v4", 96, 96, 4, 880, 6, false);
}

static void
clear_all(struct ccs_nodearray *a, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		ccs_nodearray_clear(&a[i]);
}

static char *
golden_path(const char *name)
{
	const char *src = getenv("CCS_SOURCE_DIR");

	return xprintf("%s/tests/unit/golden/%s", src != NULL ? src : ".",
	    name);
}

/* Compare text with the golden file name (or write it when updating). */
static void
golden(const char *name, const char *text)
{
	char *path = golden_path(name), *want;
	size_t len;

	if (getenv("CCS_UPDATE_GOLDEN") != NULL) {
		ck_assert_int_eq(write_file_atomic(path, text, strlen(text),
		    0644), 0);
		fprintf(stderr, "updated %s\n", path);
	}
	ck_assert_msg(read_file(path, 1 << 20, &want, &len) == 0,
	    "%s: %s", path, strerror(errno));
	ck_assert_msg(strcmp(want, text) == 0,
	    "%s differs; got:\n%s", name, text);
	free(want);
	free(path);
}

static void
golden_all(const char *prefix, struct ccs_nodearray *a, size_t n)
{
	struct ccs_slurm_texts *t;
	char *cause = NULL, *name;

	ck_assert_msg(ccs_slurm_texts_make(a, n, &t, &cause) == 0, "%s",
	    cause);
	name = xprintf("%s.cyclecloud.conf", prefix);
	golden(name, t->cyclecloud_conf);
	free(name);
	name = xprintf("%s.topology.conf", prefix);
	golden(name, t->topology_block);
	free(name);
	name = xprintf("%s.gres.conf", prefix);
	golden(name, t->gres_conf);
	free(name);
	name = xprintf("%s.hpc-partitions", prefix);
	golden(name, t->hpc_partitions);
	free(name);
	ccs_slurm_texts_free(t);
}

START_TEST(hpc_three_groups)
{
	struct ccs_nodearray a[1];

	hb120(&a[0], 100);
	a[0].default_partition = true;
	golden_all("hpc", a, 1);
	clear_all(a, 1);
}
END_TEST

START_TEST(htc)
{
	struct ccs_nodearray a[1];

	f2(&a[0], "htc", 50);
	golden_all("htc", a, 1);
	clear_all(a, 1);
}
END_TEST

START_TEST(gpu)
{
	struct ccs_nodearray a[2];
	struct ccs_slurm_texts *t;
	char *cause;

	nc96(&a[0]);
	/* One GPU, HPC: one gres line per array, File=/dev/nvidia0. */
	arr(&a[1], "a100", "Standard_NC24ads_A100_v4", 24, 24, 1, 220, 3,
	    true);
	a[1].max_scaleset_size = 2;
	golden_all("gpu", a, 2);
	ck_assert_int_eq(ccs_slurm_texts_make(a, 2, &t, &cause), 0);
	ck_assert(t->gres_types_needed);
	ccs_slurm_texts_free(t);
	clear_all(a, 2);
}
END_TEST

START_TEST(mix)
{
	struct ccs_nodearray a[5];
	struct ccs_slurm_texts *t;
	char *cause;

	hb120(&a[0], 100);
	a[0].default_partition = true;
	f2(&a[1], "htc", 50);
	/* A second, bigger HTC array in the same partition. */
	arr(&a[2], "htcbig", "Standard_D8s_v5", 8, 4, 0, 32, 10, false);
	a[2].partition = xstrdup("htc");
	a[2].use_pcpu = false;
	nc96(&a[3]);
	/* Not autoscale: not in Slurm at all. */
	f2(&a[4], "login", 2);
	a[4].autoscale = false;
	golden_all("mix", a, 5);
	ck_assert_int_eq(ccs_slurm_texts_make(a, 5, &t, &cause), 0);
	ck_assert_ptr_null(strstr(t->cyclecloud_conf, "login"));
	ck_assert_ptr_null(strstr(t->topology_block, "login"));
	ccs_slurm_texts_free(t);
	clear_all(a, 5);
}
END_TEST

/* The site's own switches survive generation byte for byte. */
START_TEST(topology_site_lines)
{
	struct ccs_nodearray a[2];
	struct ccs_slurm_texts *t;
	char *path, *site, *out, *again, *cause = NULL;
	const char *b, *e;
	size_t len;

	hb120(&a[0], 100);
	f2(&a[1], "htc", 50);
	ck_assert_int_eq(ccs_slurm_texts_make(a, 2, &t, &cause), 0);

	/* A site file with a stale block between its own lines. */
	path = golden_path("topology.site.in");
	ck_assert_int_eq(read_file(path, 1 << 20, &site, &len), 0);
	free(path);
	out = ccs_topology_merge(site, t->topology_block, &cause);
	ck_assert_msg(out != NULL, "%s", cause);
	golden("topology.site.out", out);

	/* Outside the block, the file is the site's, to the byte. */
	b = strstr(site, CCS_TOPOLOGY_BEGIN);
	e = strstr(site, CCS_TOPOLOGY_END);
	ck_assert_ptr_nonnull(b);
	ck_assert_ptr_nonnull(e);
	e += strlen(CCS_TOPOLOGY_END);
	while (*e != '\n')	/* trailing blanks of the END line go too */
		e++;
	e++;
	ck_assert_int_eq(strncmp(out, site, (size_t)(b - site)), 0);
	ck_assert_str_eq(out + strlen(out) - strlen(e), e);
	ck_assert_ptr_nonnull(strstr(out, t->topology_block));

	/* Regenerating is a fixed point. */
	again = ccs_topology_merge(out, t->topology_block, &cause);
	ck_assert_str_eq(again, out);
	free(again);

	/* No block yet: appended, after a newline the file lacked. */
	again = ccs_topology_merge("SwitchName=s1 Nodes=n[1-4]",
	    "# BEGIN ccslurmd generated -- do not edit inside this block\n"
	    "# END ccslurmd generated\n", &cause);
	ck_assert_str_eq(again, "SwitchName=s1 Nodes=n[1-4]\n"
	    "# BEGIN ccslurmd generated -- do not edit inside this block\n"
	    "# END ccslurmd generated\n");
	free(again);
	again = ccs_topology_merge(NULL, "X\n", &cause);
	ck_assert_str_eq(again, "X\n");
	free(again);

	free(out);
	free(site);
	ccs_slurm_texts_free(t);
	clear_all(a, 2);
}
END_TEST

static char *
mkdtemp_dir(void)
{
	char *dir = xstrdup("/tmp/ccs-slurmgen-XXXXXX");

	ck_assert_ptr_nonnull(mkdtemp(dir));
	return dir;
}

static size_t
count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t n = 0;

	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] != '.')
			n++;
	}
	closedir(d);
	return n;
}

static char *
slurp(const char *dir, const char *name)
{
	char *path = xprintf("%s/%s", dir, name), *buf;
	size_t len;

	ck_assert_msg(read_file(path, 1 << 20, &buf, &len) == 0, "%s", path);
	free(path);
	return buf;
}

static void
rm_rf(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char *p;

	while (d != NULL && (de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		p = xprintf("%s/%s", dir, de->d_name);
		unlink(p);
		free(p);
	}
	if (d != NULL)
		closedir(d);
	rmdir(dir);
}

#define SITE "SwitchName=onprem Nodes=cn[1-8]\n"

START_TEST(write_and_backup)
{
	struct ccs_nodearray a[2];
	struct ccs_gen_result *r;
	char *dir = mkdtemp_dir(), *cause = NULL, *s, *old, *site;
	size_t i;

	setenv("TZ", "UTC", 1);
	tzset();
	hb120(&a[0], 100);
	f2(&a[1], "htc", 50);

	/* The site's topology.conf exists before the first run. */
	site = xprintf("%s/topology.conf", dir);
	ck_assert_int_eq(write_file_atomic(site, SITE, strlen(SITE), 0644), 0);

	ck_assert_msg(ccs_slurmgen(dir, a, 2, 0, NOW, &r, &cause) == 0, "%s",
	    cause);
	ck_assert(r->node_set_changed);
	ck_assert(!r->gres_types_needed);
	ck_assert_uint_eq(r->nnodes, 150);
	ck_assert_uint_eq(r->nfiles, 4);
	for (i = 0; i < r->nfiles; i++)
		ck_assert(r->files[i].changed);
	ck_assert(!r->files[0].existed);
	ck_assert(r->files[1].existed);
	/* The site's file changed: its old version is kept beside it. */
	old = xprintf("%s.20261126T101500", site);
	ck_assert_str_eq(r->files[1].backup, old);
	free(old);
	ck_assert_ptr_null(r->files[0].backup);
	ccs_gen_result_free(r);
	free(site);
	ck_assert_uint_eq(count_entries(dir), 5);
	s = slurp(dir, "topology.conf.20261126T101500");
	ck_assert_str_eq(s, SITE);
	free(s);
	s = slurp(dir, "topology.conf");
	ck_assert_int_eq(strncmp(s, SITE CCS_TOPOLOGY_BEGIN "\n",
	    strlen(SITE CCS_TOPOLOGY_BEGIN "\n")), 0);
	free(s);
	s = slurp(dir, "cyclecloud-hpc-partitions");
	ck_assert_ptr_nonnull(strstr(s, "\nhpc\n"));
	ck_assert_ptr_null(strstr(s, "htc"));
	free(s);

	/* Unchanged cluster: no file touched, no backup. */
	ck_assert_int_eq(ccs_slurmgen(dir, a, 2, 0, NOW + 60, &r, &cause), 0);
	ck_assert(!r->node_set_changed);
	for (i = 0; i < r->nfiles; i++) {
		ck_assert(!r->files[i].changed);
		ck_assert_ptr_null(r->files[i].backup);
	}
	ccs_gen_result_free(r);
	ck_assert_uint_eq(count_entries(dir), 5);

	/* Only the memory share changes: new text, same node set. */
	a[0].dampen_memory = 10;
	old = slurp(dir, "cyclecloud.conf");
	ck_assert_int_eq(ccs_slurmgen(dir, a, 2, 0, NOW + 120, &r, &cause), 0);
	ck_assert(r->files[0].changed);
	ck_assert(!r->files[1].changed);
	ck_assert(!r->node_set_changed);
	ck_assert_ptr_nonnull(strstr(r->files[0].backup,
	    "/cyclecloud.conf.20261126T101700"));
	s = slurp(dir, "cyclecloud.conf.20261126T101700");
	ck_assert_str_eq(s, old);
	free(s);
	free(old);
	ccs_gen_result_free(r);

	/* More nodes, within the same second twice: -1 suffix. */
	a[0].max_count = 120;
	ck_assert_int_eq(ccs_slurmgen(dir, a, 2, 0, NOW + 120, &r, &cause), 0);
	ck_assert(r->node_set_changed);
	ck_assert(r->files[1].changed);
	ck_assert_ptr_nonnull(strstr(r->files[0].backup,
	    "/cyclecloud.conf.20261126T101700-1"));
	ccs_gen_result_free(r);
	s = slurp(dir, "cyclecloud.conf");
	ck_assert_ptr_nonnull(strstr(s, "NodeName=hpc-pg2-[1-40] "));
	free(s);

	rm_rf(dir);
	free(dir);
	clear_all(a, 2);
}
END_TEST

START_TEST(dry_run_and_json)
{
	struct ccs_nodearray a[2];
	struct ccs_gen_result *r;
	json_object *j, *files, *f, *v;
	char *dir = mkdtemp_dir(), *cause = NULL;

	hb120(&a[0], 100);
	nc96(&a[1]);
	ck_assert_int_eq(ccs_slurmgen(dir, a, 2, CCS_GEN_DRY_RUN, NOW, &r,
	    &cause), 0);
	ck_assert_uint_eq(count_entries(dir), 0);
	ck_assert(r->dry_run);
	ck_assert(r->gres_types_needed);
	ck_assert_ptr_nonnull(strstr(r->files[0].content,
	    "PartitionName=gpu Nodes=gpu-[1-6] "));
	ck_assert_ptr_nonnull(strstr(r->files[2].content,
	    "NodeName=gpu-[1-6] Name=gpu Count=4 File=/dev/nvidia[0-3]\n"));

	j = ccs_gen_result_json(r, true);
	ck_assert(json_object_object_get_ex(j, "restart_needed", &v));
	ck_assert(json_object_get_boolean(v));
	ck_assert(json_object_object_get_ex(j, "gres_types_needed", &v));
	ck_assert(json_object_get_boolean(v));
	ck_assert(json_object_object_get_ex(j, "nodes", &v));
	ck_assert_int_eq(json_object_get_int(v), 106);
	ck_assert(json_object_object_get_ex(j, "files", &files));
	ck_assert_uint_eq(json_object_array_length(files), 4);
	f = json_object_array_get_idx(files, 1);
	ck_assert(json_object_object_get_ex(f, "name", &v));
	ck_assert_str_eq(json_object_get_string(v), "topology.conf");
	ck_assert(json_object_object_get_ex(f, "content", &v));
	ck_assert_str_eq(json_object_get_string(v), r->files[1].content);
	ck_assert(json_object_object_get_ex(f, "backup", &v));
	ck_assert_ptr_null(v);
	json_object_put(j);
	j = ccs_gen_result_json(r, false);
	f = json_object_array_get_idx(json_object_object_get(j, "files"), 0);
	ck_assert(!json_object_object_get_ex(f, "content", &v));
	json_object_put(j);
	ccs_gen_result_free(r);
	rm_rf(dir);
	free(dir);
	clear_all(a, 2);
}
END_TEST

/* A large cluster: 50,000 HPC nodes in 1,250 placement groups. */
START_TEST(large)
{
	struct ccs_nodearray a[1];
	struct ccs_slurm_texts *t;
	char *cause = NULL;
	uint64_t t0 = now_mono_ms();

	hb120(&a[0], 50000);
	ck_assert_int_eq(ccs_slurm_texts_make(a, 1, &t, &cause), 0);
	ck_assert_ptr_nonnull(strstr(t->cyclecloud_conf,
	    "NodeName=hpc-pg1249-[1-40] "));
	ck_assert_ptr_nonnull(strstr(t->topology_block,
	    "SwitchName=hpc-Standard_HB120rs_v3-pg1249 "
	    "Nodes=hpc-pg1249-[1-40]\n"));
	ck_assert_msg(now_mono_ms() - t0 < 5000, "took %llu ms",
	    (unsigned long long)(now_mono_ms() - t0));
	ccs_slurm_texts_free(t);
	clear_all(a, 1);
}
END_TEST

static void
expect_error(struct ccs_nodearray *a, size_t n, const char *want)
{
	struct ccs_slurm_texts *t = NULL;
	char *cause = NULL;

	ck_assert_int_eq(ccs_slurm_texts_make(a, n, &t, &cause), -1);
	ck_assert_ptr_null(t);
	ck_assert_msg(cause != NULL && strcmp(cause, want) == 0,
	    "got \"%s\", want \"%s\"", cause, want);
	ck_assert_ptr_null(strchr(cause, '\n'));
	free(cause);
}

START_TEST(errors)
{
	struct ccs_nodearray a[2];

	hb120(&a[0], 100);
	a[0].autoscale = false;
	expect_error(a, 1, "no nodearray has slurm.autoscale set: nothing to "
	    "generate");
	expect_error(a, 0, "no nodearray has slurm.autoscale set: nothing to "
	    "generate");
	a[0].autoscale = true;

	free(a[0].machine_type);
	a[0].machine_type = NULL;
	expect_error(a, 1, "nodearray hpc has no machine type (no bucket)");
	a[0].machine_type = xstrdup("Standard_Unknown");
	a[0].vcpu = 0;
	a[0].memory_gb = 0;
	expect_error(a, 1, "nodearray hpc: machine type Standard_Unknown has "
	    "no VM size (vCPU count and memory unknown)");
	clear_all(a, 1);

	hb120(&a[0], 0);
	expect_error(a, 1, "nodearray hpc: the bucket for Standard_HB120rs_v3 "
	    "has maxCount 0, no node can be created");
	clear_all(a, 1);

	hb120(&a[0], 10);
	f2(&a[1], "htc", 10);
	a[0].default_partition = a[1].default_partition = true;
	expect_error(a, 2, "more than one default partition: hpc and htc");
	a[1].default_partition = false;
	a[1].partition = xstrdup("hpc");
	expect_error(a, 2, "partition hpc mixes HPC and HTC nodearrays (htc "
	    "is HTC)");
	clear_all(a, 2);
}
END_TEST

/* A failure changes no file. */
START_TEST(errors_write)
{
	struct ccs_nodearray a[1];
	struct ccs_gen_result *r = NULL;
	char *dir = mkdtemp_dir(), *cause = NULL, *path, *s;
	static const char broken[] = "SwitchName=s1 Nodes=n1\n"
	    CCS_TOPOLOGY_BEGIN "\nSwitchName=x Nodes=y\n";

	hb120(&a[0], 10);
	path = xprintf("%s/topology.conf", dir);
	ck_assert_int_eq(write_file_atomic(path, broken, strlen(broken), 0644),
	    0);
	ck_assert_int_eq(ccs_slurmgen(dir, a, 1, 0, NOW, &r, &cause), -1);
	ck_assert_ptr_null(r);
	ck_assert_msg(strstr(cause, "topology.conf: topology.conf line 2: the "
	    "generated block has no END marker") != NULL, "%s", cause);
	free(cause);
	ck_assert_uint_eq(count_entries(dir), 1);
	s = slurp(dir, "topology.conf");
	ck_assert_str_eq(s, broken);
	free(s);
	free(path);

	ck_assert_ptr_null(ccs_topology_merge(CCS_TOPOLOGY_END "\n", "x\n",
	    &cause));
	ck_assert_str_eq(cause, "topology.conf line 1: an END marker without "
	    "its BEGIN");
	free(cause);
	ck_assert_ptr_null(ccs_topology_merge(CCS_TOPOLOGY_BEGIN "\n"
	    CCS_TOPOLOGY_END "\n" CCS_TOPOLOGY_BEGIN "\n" CCS_TOPOLOGY_END "\n",
	    "x\n", &cause));
	ck_assert_str_eq(cause, "topology.conf line 3: a second generated "
	    "block begins; remove one by hand");
	free(cause);

	ck_assert_int_eq(ccs_slurmgen("/nonexistent/ccs", a, 1, 0, NOW, &r,
	    &cause), -1);
	ck_assert_str_eq(cause, "/nonexistent/ccs: No such file or directory");
	free(cause);
	rm_rf(dir);
	free(dir);
	clear_all(a, 1);
}
END_TEST

static Suite *
slurmgen_suite(void)
{
	Suite *s = suite_create("slurmgen");
	TCase *tc;

	tc = tcase_create("core");
	tcase_add_test(tc, hpc_three_groups);
	tcase_add_test(tc, htc);
	tcase_add_test(tc, gpu);
	tcase_add_test(tc, mix);
	tcase_add_test(tc, topology_site_lines);
	tcase_add_test(tc, write_and_backup);
	tcase_add_test(tc, dry_run_and_json);
	suite_add_tcase(s, tc);

	tc = tcase_create("limits");
	tcase_add_test(tc, large);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_add_test(tc, errors);
	tcase_add_test(tc, errors_write);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return run_suite(slurmgen_suite());
}
