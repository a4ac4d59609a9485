/* test_spool.c: common/spool.c, the requests shims leave for the daemon. */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "spool.h"
#include "testutil.h"
#include "util.h"
#include "xmalloc.h"

static char dir[64];

static void
setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/ccs-spool-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void
teardown(void)
{
	struct dirent *de;
	char path[512];
	DIR *d;

	if ((d = opendir(dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (unlink(path) == -1)
			rmdir(path);
	}
	closedir(d);
	rmdir(dir);
}

/* The names in dir, sorted, joined by spaces ("" when empty). */
static char *
listing(void)
{
	struct dirent **nl;
	char *out = xstrdup(""), *t;
	int n, i;

	n = scandir(dir, &nl, NULL, alphasort);
	ck_assert_int_ge(n, 0);
	for (i = 0; i < n; i++) {
		if (nl[i]->d_name[0] != '.' ||
		    (strcmp(nl[i]->d_name, ".") != 0 &&
		        strcmp(nl[i]->d_name, "..") != 0)) {
			t = xprintf(
			    "%s%s%s", out, *out ? " " : "", nl[i]->d_name);
			free(out);
			out = t;
		}
		free(nl[i]);
	}
	free(nl);
	return out;
}

static void
put_file(const char *name, const char *content)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	ck_assert_int_eq(
	    write_file_atomic(path, content, strlen(content), 0600), 0);
}

/* What the callback saw. */
struct seen {
	int n;
	int stop_after; /* return -1 after this many; 0: never */
	char ids[8][PROTO_ID_MAX + 1];
	uint16_t types[8];
};

static int
collect(const struct spool_entry *e, void *arg)
{
	struct seen *s = arg;

	ck_assert_int_lt(s->n, 8);
	snprintf(s->ids[s->n], sizeof(s->ids[0]), "%s", e->req.id);
	s->types[s->n] = e->type;
	ck_assert_int_eq(access(e->path, R_OK), 0);
	ck_assert_ptr_nonnull(strstr(e->path, e->name));
	s->n++;
	return s->stop_after != 0 && s->n >= s->stop_after ? -1 : 0;
}

static int
remove_each(const struct spool_entry *e, void *arg)
{
	char *cause = NULL;

	ck_assert_int_eq(spool_remove(e, &cause), 0);
	(*(int *)arg)++;
	return 0;
}

static char *
good_json(const char *id, const char *type)
{
	return xprintf(
	    "{\"id\":\"%s\",\"hostlist\":\"n[1-2]\",\"program\":"
	    "\"ccslurm-resume\",\"pid\":7,\"wait\":false,\"version\":1,"
	    "\"type\":\"%s\",\"time\":5,\"uid\":%u}",
	    id, type, (unsigned)getuid());
}

/* ---- core ---------------------------------------------------------------- */

START_TEST(write_then_scan)
{
	struct proto_node_req req = {0};
	struct seen s = {0};
	json_object *rf;
	struct stat st;
	char *path, *cause = NULL, *names;
	uint64_t before = now_wall_ms();
	int removed = 0;

	rf = json_tokener_parse("{\"jobs\":[{\"job_id\":12,\"nodes\":"
	                        "\"n[1-2]\"}],\"all_nodes\":\"n[1-2]\"}");
	req.id = (char *)(uintptr_t) "4a1e0c6e-7f6e-4c1a-9e0c-1d2b3c4d5e6f";
	req.hostlist = (char *)(uintptr_t) "n[1-2]";
	req.resume_file = rf;
	req.program = (char *)(uintptr_t) "ccslurm-resume";
	req.pid = 99;
	ck_assert_int_eq(
	    spool_write(dir, PROTO_RESUME, &req, &path, &cause), 0);
	/* One final file, 0600, and no temporary left behind. */
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0600);
	names = listing();
	ck_assert_str_eq(names, path + strlen(dir) + 1);
	ck_assert_int_eq((int)strlen(names), 16 + 1 + 36 + 4);
	free(names);
	free(path);

	ck_assert_int_eq(spool_scan(dir, collect, &s, &cause), 1);
	ck_assert_str_eq(s.ids[0], req.id);
	ck_assert_uint_eq(s.types[0], PROTO_RESUME);

	ck_assert_int_eq(spool_scan(dir, remove_each, &removed, &cause), 1);
	ck_assert_int_eq(removed, 1);
	names = listing();
	ck_assert_str_eq(names, "");
	free(names);
	ck_assert_int_eq(spool_scan(dir, collect, &s, &cause), 0);
	ck_assert_uint_ge(now_wall_ms(), before);
	json_object_put(rf);
}
END_TEST

static int
check_fields(const struct spool_entry *e, void *arg)
{
	uint64_t before = *(uint64_t *)arg;

	ck_assert_uint_eq(e->type, PROTO_SUSPEND);
	ck_assert_int_eq(e->version, PROTO_VERSION);
	ck_assert_uint_eq(e->uid, getuid());
	ck_assert_uint_ge(e->time_ms, before);
	ck_assert_uint_le(e->time_ms, now_wall_ms());
	ck_assert_str_eq(e->req.id, "abc-1");
	ck_assert_str_eq(e->req.hostlist, "gpu[01-02],hpc-3");
	ck_assert_str_eq(e->req.program, "ccslurm-suspend");
	ck_assert_int_eq(e->req.pid, 1234);
	ck_assert(e->req.wait);
	ck_assert_ptr_nonnull(e->req.resume_file);
	ck_assert_int_eq(json_object_get_int(
	                     json_object_object_get(e->req.resume_file, "k")),
	    3);
	return 0;
}

START_TEST(fields_survive)
{
	struct proto_node_req req = {0};
	uint64_t before = now_wall_ms();
	char *cause = NULL;

	req.id = (char *)(uintptr_t) "abc-1";
	req.hostlist = (char *)(uintptr_t) "gpu[01-02],hpc-3";
	req.program = (char *)(uintptr_t) "ccslurm-suspend";
	req.pid = 1234;
	req.wait = true;
	req.resume_file = json_tokener_parse("{\"k\":3}");
	ck_assert_int_eq(
	    spool_write(dir, PROTO_SUSPEND, &req, NULL, &cause), 0);
	json_object_put(req.resume_file);
	ck_assert_int_eq(spool_scan(dir, check_fields, &before, &cause), 1);
}
END_TEST

START_TEST(oldest_first)
{
	struct seen s = {0};
	char *j, *cause = NULL;

	/* Created out of order; the time in the name decides. */
	j = good_json("c", "suspend");
	put_file("0000000000000300-c.req", j);
	free(j);
	j = good_json("a", "resume");
	put_file("0000000000000100-a.req", j);
	free(j);
	j = good_json("b", "resumefail");
	put_file("0000000000000200-b.req", j);
	free(j);
	ck_assert_int_eq(spool_scan(dir, collect, &s, &cause), 3);
	ck_assert_str_eq(s.ids[0], "a");
	ck_assert_str_eq(s.ids[1], "b");
	ck_assert_str_eq(s.ids[2], "c");
	ck_assert_uint_eq(s.types[0], PROTO_RESUME);
	ck_assert_uint_eq(s.types[1], PROTO_RESUMEFAIL);
	ck_assert_uint_eq(s.types[2], PROTO_SUSPEND);

	/* A callback can stop the scan; nothing is removed by scanning. */
	memset(&s, 0, sizeof(s));
	s.stop_after = 2;
	ck_assert_int_eq(spool_scan(dir, collect, &s, &cause), 2);
	ck_assert_str_eq(s.ids[1], "b");
	memset(&s, 0, sizeof(s));
	ck_assert_int_eq(spool_scan(dir, collect, &s, &cause), 3);
}
END_TEST

START_TEST(others_ignored)
{
	struct seen s = {0};
	char *j, *cause = NULL, *names;

	j = good_json("a", "resume");
	put_file(".tmp-123", j);                   /* a write in progress */
	put_file("0000000000000100-a.req.bad", j); /* already set aside */
	put_file("README", "not a request");
	put_file(".req", j); /* hidden */
	free(j);
	ck_assert_int_eq(spool_scan(dir, collect, &s, &cause), 0);
	names = listing();
	ck_assert_str_eq(names, ".req .tmp-123 0000000000000100-a.req.bad "
	                        "README");
	free(names);
}
END_TEST

/* ---- limits -------------------------------------------------------------- */

START_TEST(too_big)
{
	struct proto_node_req req = {0};
	char *big, *cause = NULL, *names;
	json_object *rf = json_object_new_object();

	big = xmalloc(SPOOL_MAX_FILE + 1);
	memset(big, 'x', SPOOL_MAX_FILE);
	big[SPOOL_MAX_FILE] = '\0';
	json_object_object_add(rf, "pad", json_object_new_string(big));
	free(big);
	req.id = (char *)(uintptr_t) "a";
	req.hostlist = (char *)(uintptr_t) "n1";
	req.resume_file = rf;
	ck_assert_int_eq(
	    spool_write(dir, PROTO_RESUME, &req, NULL, &cause), -1);
	ck_assert_ptr_nonnull(strstr(cause, "too large"));
	free(cause);
	json_object_put(rf);
	names = listing();
	ck_assert_str_eq(names, "");
	free(names);
}
END_TEST

START_TEST(many_unique)
{
	struct proto_node_req req = {0};
	char id[UUID_STR_LEN], *cause = NULL;
	int i, removed = 0;

	/* Same millisecond, different ids: never one over another. */
	req.hostlist = (char *)(uintptr_t) "n1";
	for (i = 0; i < 50; i++) {
		uuid_v4(id);
		req.id = id;
		ck_assert_int_eq(
		    spool_write(dir, PROTO_SUSPEND, &req, NULL, &cause), 0);
	}
	ck_assert_int_eq(spool_scan(dir, remove_each, &removed, &cause), 50);
	ck_assert_int_eq(removed, 50);
}
END_TEST

/* ---- errors -------------------------------------------------------------- */

START_TEST(corrupt_moved_aside)
{
	static const struct {
		const char *name, *content;
	} bad[] = {
	    {"0000000000000001-garbage.req", "\x01\x02garbage"},
	    {"0000000000000002-empty.req", ""},
	    {"0000000000000003-array.req", "[1,2]"},
	    {"0000000000000004-trunc.req", "{\"id\":\"a\",\"hostl"},
	    {"0000000000000005-notype.req", "{\"id\":\"a\",\"hostlist\":"
	                                    "\"n1\",\"time\":1,\"uid\":0}"},
	    {"0000000000000006-badtype.req",
	        "{\"id\":\"a\",\"hostlist\":"
	        "\"n1\",\"type\":\"reboot\",\"time\":1,\"uid\":0}"},
	    {"0000000000000007-uid.req",
	        "{\"id\":\"a\",\"hostlist\":"
	        "\"n1\",\"type\":\"resume\",\"time\":1,\"uid\":4242}"},
	    {"0000000000000008-version.req",
	        "{\"id\":\"a\",\"hostlist\":"
	        "\"n1\",\"type\":\"resume\",\"time\":1,\"uid\":0,"
	        "\"version\":99}"},
	    {"0000000000000009-noid.req",
	        "{\"hostlist\":"
	        "\"n1\",\"type\":\"resume\",\"time\":1,\"uid\":0}"},
	    {"0000000000000010-notime.req",
	        "{\"id\":\"a\",\"hostlist\":"
	        "\"n1\",\"type\":\"resume\",\"uid\":0}"},
	    {"0000000000000011-utf8.req",
	        "{\"id\":\"a\",\"hostlist\":"
	        "\"n\xff\",\"type\":\"resume\",\"time\":1,\"uid\":0}"},
	};
	struct seen s = {0};
	char *j, *cause = NULL, path[512], *names, *want;
	size_t i;

	ck_assert_uint_eq(getuid(), 0); /* the "uid":0 lines above */
	for (i = 0; i < nitems(bad); i++)
		put_file(bad[i].name, bad[i].content);
	/* A directory and a symlink with a request's name. */
	snprintf(path, sizeof(path), "%s/0000000000000012-dir.req", dir);
	ck_assert_int_eq(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/0000000000000013-link.req", dir);
	ck_assert_int_eq(symlink("/etc/passwd", path), 0);
	/* A good one among them still arrives. */
	j = good_json("good", "resume");
	put_file("0000000000000006-good.req", j);
	free(j);

	ck_assert_int_eq(spool_scan(dir, collect, &s, &cause), 1);
	ck_assert_str_eq(s.ids[0], "good");
	names = listing();
	want = xprintf(
	    "0000000000000001-garbage.req.bad "
	    "0000000000000002-empty.req.bad 0000000000000003-array.req.bad "
	    "0000000000000004-trunc.req.bad 0000000000000005-notype.req.bad "
	    "0000000000000006-badtype.req.bad 0000000000000006-good.req "
	    "0000000000000007-uid.req.bad 0000000000000008-version.req "
	    "0000000000000009-noid.req.bad 0000000000000010-notime.req.bad "
	    "0000000000000011-utf8.req.bad 0000000000000012-dir.req.bad "
	    "0000000000000013-link.req.bad");
	ck_assert_str_eq(names, want);
	free(names);
	free(want);
	/*
	 * Set aside once: the next scan does not see them again.  A request
	 * from a newer version stays for the newer daemon (an upgrade in
	 * progress), unread and untouched.
	 */
	memset(&s, 0, sizeof(s));
	ck_assert_int_eq(spool_scan(dir, collect, &s, &cause), 1);
}
END_TEST

START_TEST(bad_dirs)
{
	struct proto_node_req req = {0};
	struct seen s = {0};
	char *cause = NULL, missing[128];

	req.id = (char *)(uintptr_t) "a";
	req.hostlist = (char *)(uintptr_t) "n1";
	snprintf(missing, sizeof(missing), "%s/nope", dir);
	ck_assert_int_eq(
	    spool_write(missing, PROTO_RESUME, &req, NULL, &cause), -1);
	ck_assert_ptr_nonnull(strstr(cause, "No such file or directory"));
	free(cause);
	ck_assert_int_eq(spool_scan(missing, collect, &s, &cause), -1);
	ck_assert_ptr_nonnull(strstr(cause, "No such file or directory"));
	free(cause);
	ck_assert_int_eq(spool_write(dir, PROTO_PING, &req, NULL, &cause), -1);
	ck_assert_str_eq(cause, "spool: 203 is not a node request");
	free(cause);
}
END_TEST

START_TEST(remove_gone)
{
	struct spool_entry e = {0};
	char *cause = NULL;

	/* Removing what is already gone is fine (two scans raced). */
	e.path = xprintf("%s/0000000000000001-x.req", dir);
	ck_assert_int_eq(spool_remove(&e, &cause), 0);
	free(e.path);
	e.path = xstrdup("/nonexistent-dir/x.req");
	ck_assert_int_eq(spool_remove(&e, &cause), -1);
	ck_assert_ptr_nonnull(strstr(cause, "fsync /nonexistent-dir"));
	free(cause);
	free(e.path);
	spool_entry_free(NULL);
}
END_TEST

static Suite *
spool_suite(void)
{
	Suite *s = suite_create("spool");
	TCase *tc;

	tc = tcase_create("core");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, write_then_scan);
	tcase_add_test(tc, fields_survive);
	tcase_add_test(tc, oldest_first);
	tcase_add_test(tc, others_ignored);
	suite_add_tcase(s, tc);

	tc = tcase_create("limits");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, too_big);
	tcase_add_test(tc, many_unique);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, corrupt_moved_aside);
	tcase_add_test(tc, bad_dirs);
	tcase_add_test(tc, remove_gone);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return run_suite(spool_suite());
}
