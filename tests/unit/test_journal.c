/*
 * test_journal.c: daemon/journal.c, the append-only journal of JSON lines.
 *
 * Each test works in its own fresh state_dir (mkdtemp) and looks at the
 * file the journal really wrote; damage (a torn last line, garbage, other
 * versions) is written by hand the way a crash or a bad disk leaves it.
 */
#define _XOPEN_SOURCE 700
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <json-c/json.h>

#include "ccslurmd.h"
#include "log.h"
#include "testutil.h"
#include "util.h"
#include "xmalloc.h"

static char dir[PATH_MAX];
static char jpath[PATH_MAX + 16];

static void
setup(void)
{
	log_init("test_journal", LOG_LVL_ERROR, LOG_TO_STDERR);
	snprintf(dir, sizeof(dir), "%s/test_journal.XXXXXX",
	    getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(jpath, sizeof(jpath), "%s/journal", dir);
}

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void
teardown(void)
{
	journal_close();
	chmod(dir, 0700);
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static json_object *
rec(int i)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "t", json_object_new_string("req"));
	json_object_object_add(o, "i", json_object_new_int(i));
	return o;
}

static void
append(int i)
{
	json_object *o = rec(i);
	char *cause = NULL;

	ck_assert_msg(journal_append(o, &cause) == 0, "append: %s", cause);
	json_object_put(o);
}

/* What a replay handed over: the "i" of each record, in order. */
struct seen {
	int	 i[64];
	size_t	 n;
};

static void
collect(json_object *o, void *arg)
{
	struct seen *s = arg;
	json_object *v;

	ck_assert(json_object_is_type(o, json_type_object));
	ck_assert_msg(json_object_object_get_ex(o, "v", &v), "no version");
	ck_assert_msg(json_object_object_get_ex(o, "i", &v), "no i");
	ck_assert_uint_lt(s->n, nitems(s->i));
	s->i[s->n++] = json_object_get_int(v);
}

static struct seen
replay(void)
{
	struct seen s;
	char *cause = NULL;

	memset(&s, 0, sizeof(s));
	ck_assert_msg(journal_replay(collect, &s, &cause) == 0, "replay: %s",
	    cause);
	ck_assert_uint_eq(journal_records(), s.n);
	return s;
}

static void
expect(const struct seen *s, const int *want, size_t n)
{
	size_t k;

	ck_assert_uint_eq(s->n, n);
	for (k = 0; k < n; k++)
		ck_assert_msg(s->i[k] == want[k], "record %zu is %d, not %d",
		    k, s->i[k], want[k]);
}

static void
open_dir(void)
{
	char *cause = NULL;

	ck_assert_msg(journal_open(dir, &cause) == 0, "open: %s", cause);
}

/* Write the journal file by hand (what a crash or a bad disk left). */
static void
write_raw(const char *text)
{
	int fd;

	fd = open(jpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ne(fd, -1);
	ck_assert_int_eq(write_full(fd, text, strlen(text)), 0);
	close(fd);
}

static char *
slurp(const char *path)
{
	char *buf;
	size_t len;

	ck_assert_msg(read_file(path, 1 << 20, &buf, &len) == 0, "%s: %s",
	    path, strerror(errno));
	return buf;
}

static void
check_mode(const char *path)
{
	struct stat st;

	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_msg((st.st_mode & 07777) == 0600, "%s has mode %04o", path,
	    (unsigned)(st.st_mode & 07777));
}

START_TEST(append_replay_order)
{
	static const int want[] = { 0, 1, 2, 3, 4, 5, 6, 7 };
	struct seen s;
	char *text;
	size_t k, lines = 0;
	int i;

	open_dir();
	/* No file yet is an empty journal, not an error. */
	s = replay();
	ck_assert_uint_eq(s.n, 0);
	for (i = 0; i < 8; i++)
		append(i);
	ck_assert_uint_eq(journal_records(), 8);
	s = replay();
	expect(&s, want, nitems(want));

	/* One line each, every one versioned. */
	text = slurp(jpath);
	for (k = 0; text[k] != '\0'; k++)
		lines += text[k] == '\n';
	ck_assert_uint_eq(lines, 8);
	ck_assert_ptr_nonnull(strstr(text, "\"v\":1"));
	ck_assert_int_eq(text[strlen(text) - 1], '\n');
	free(text);

	/* What a restart reads: close, open again, same records. */
	journal_close();
	open_dir();
	s = replay();
	expect(&s, want, nitems(want));
	append(8);
	s = replay();
	ck_assert_uint_eq(s.n, 9);
	ck_assert_int_eq(s.i[8], 8);
}
END_TEST

START_TEST(file_mode)
{
	mode_t old = umask(0);

	open_dir();
	append(1);
	check_mode(jpath);
	/* The compacted file too. */
	ck_assert_int_eq(journal_rewrite(NULL, 0, &(char *){ NULL }), 0);
	check_mode(jpath);
	umask(old);
}
END_TEST

START_TEST(torn_last_line)
{
	static const int want[] = { 1, 2, 3 };
	static const int after[] = { 1, 2, 3, 4 };
	struct seen s;

	write_raw("{\"t\":\"req\",\"i\":1,\"v\":1}\n"
	    "{\"t\":\"req\",\"i\":2,\"v\":1}\n"
	    "{\"t\":\"req\",\"i\":3,\"v\":1}\n"
	    "{\"t\":\"req\",\"i\":99,\"v");
	open_dir();
	s = replay();
	expect(&s, want, nitems(want));

	/*
	 * The daemon goes on appending after such a replay: the next record
	 * must not be glued to the torn bytes (and lost at the next start).
	 */
	append(4);
	journal_close();
	open_dir();
	s = replay();
	expect(&s, after, nitems(after));
}
END_TEST

START_TEST(torn_complete_json)
{
	static const int want[] = { 1 };
	struct seen s;

	/* A whole object but no newline: still torn (the fsync never
	 * finished), so not trusted. */
	write_raw("{\"t\":\"req\",\"i\":1,\"v\":1}\n"
	    "{\"t\":\"req\",\"i\":2,\"v\":1}");
	open_dir();
	s = replay();
	expect(&s, want, nitems(want));
}
END_TEST

START_TEST(garbage_in_middle)
{
	static const int want[] = { 1, 2, 3, 4 };
	struct seen s;

	write_raw("{\"t\":\"req\",\"i\":1,\"v\":1}\n"
	    "garbage{\n"
	    "{\"t\":\"req\",\"i\":2,\"v\":1}\n"
	    "\n"
	    "[1,2,3]\n"
	    "\"a string\"\n"
	    "{\"t\":\"req\",\"i\":77}\n"		/* no version */
	    "{\"t\":\"req\",\"i\":3,\"v\":1}\n"
	    "{\"t\":\"req\",\"i\":78,\"v\":1} trailing\n"
	    "\x01\x02\xff\n"
	    "{\"t\":\"req\",\"i\":4,\"v\":1}\n");
	open_dir();
	s = replay();
	expect(&s, want, nitems(want));
}
END_TEST

START_TEST(unknown_version)
{
	static const int want[] = { 1, 5 };
	struct seen s;

	write_raw("{\"t\":\"req\",\"i\":1,\"v\":1}\n"
	    "{\"t\":\"req\",\"i\":2,\"v\":2}\n"
	    "{\"t\":\"req\",\"i\":3,\"v\":99}\n"
	    "{\"t\":\"req\",\"i\":4,\"v\":-1}\n"
	    "{\"t\":\"req\",\"i\":6,\"v\":\"x\"}\n"
	    "{\"t\":\"req\",\"i\":7,\"v\":null}\n"
	    "{\"t\":\"req\",\"i\":8,\"v\":4294967297}\n"
	    "{\"t\":\"req\",\"i\":5,\"v\":1}\n");
	open_dir();
	s = replay();
	expect(&s, want, nitems(want));
}
END_TEST

START_TEST(rewrite_then_append)
{
	static const int kept[] = { 10, 11 };
	static const int after[] = { 10, 11, 12, 13 };
	json_object *recs[2];
	struct seen s;
	char *cause = NULL;
	int i;

	open_dir();
	for (i = 0; i < 6; i++)
		append(i);
	recs[0] = rec(10);
	recs[1] = rec(11);
	ck_assert_msg(journal_rewrite(recs, 2, &cause) == 0, "rewrite: %s",
	    cause);
	json_object_put(recs[0]);
	json_object_put(recs[1]);
	ck_assert_uint_eq(journal_records(), 2);
	s = replay();
	expect(&s, kept, nitems(kept));
	/* Appends go to the new file, after the kept records. */
	append(12);
	append(13);
	ck_assert_uint_eq(journal_records(), 4);
	s = replay();
	expect(&s, after, nitems(after));
	journal_close();
	open_dir();
	s = replay();
	expect(&s, after, nitems(after));
	/* No temporary file is left behind. */
	ck_assert_int_eq(access(jpath, F_OK), 0);
	{
		char tmp[PATH_MAX + 32];

		snprintf(tmp, sizeof(tmp), "%s.new", jpath);
		ck_assert_int_eq(access(tmp, F_OK), -1);
	}
	/* Rewriting to nothing empties it. */
	ck_assert_int_eq(journal_rewrite(NULL, 0, &cause), 0);
	s = replay();
	ck_assert_uint_eq(s.n, 0);
}
END_TEST

START_TEST(stale_new_file)
{
	static const int want[] = { 20 };
	char tmp[PATH_MAX + 32], victim[PATH_MAX + 32], *text;
	json_object *r;
	struct seen s;
	char *cause = NULL;

	open_dir();
	append(1);
	snprintf(tmp, sizeof(tmp), "%s.new", jpath);
	snprintf(victim, sizeof(victim), "%s/victim", dir);

	/* A stale journal.new with garbage, from a crash mid-compaction. */
	ck_assert_int_eq(write_file_atomic(tmp, "half a compaction{", 18,
	    0644), 0);
	r = rec(20);
	ck_assert_msg(journal_rewrite(&r, 1, &cause) == 0, "rewrite: %s",
	    cause);
	s = replay();
	expect(&s, want, nitems(want));
	check_mode(jpath);

	/* A symlink planted there is never followed. */
	ck_assert_int_eq(write_file_atomic(victim, "precious\n", 9, 0600),
	    0);
	ck_assert_int_eq(symlink(victim, tmp), 0);
	ck_assert_msg(journal_rewrite(&r, 1, &cause) == 0, "rewrite: %s",
	    cause);
	json_object_put(r);
	text = slurp(victim);
	ck_assert_str_eq(text, "precious\n");
	free(text);
	s = replay();
	expect(&s, want, nitems(want));
	ck_assert_int_eq(access(tmp, F_OK), -1);
}
END_TEST

/* ---- errors ------------------------------------------------------------- */

START_TEST(missing_dir)
{
	char path[PATH_MAX + 16];
	char *cause = NULL;

	snprintf(path, sizeof(path), "%s/nope", dir);
	ck_assert_int_eq(journal_open(path, &cause), -1);
	ck_assert_ptr_nonnull(cause);
	ck_assert_ptr_nonnull(strstr(cause, path));
	ck_assert_ptr_nonnull(strstr(cause, strerror(ENOENT)));
	ck_assert_ptr_null(strchr(cause, '\n'));
	free(cause);
	ck_assert_int_eq(access(path, F_OK), -1);	/* not created */
	/* Appending to a journal that did not open: refused, not a crash. */
	cause = NULL;
	{
		json_object *o = rec(1);

		ck_assert_int_eq(journal_append(o, &cause), -1);
		ck_assert_ptr_nonnull(cause);
		free(cause);
		json_object_put(o);
	}
}
END_TEST

START_TEST(not_a_dir)
{
	char path[PATH_MAX + 16];
	char *cause = NULL;

	snprintf(path, sizeof(path), "%s/file", dir);
	ck_assert_int_eq(write_file_atomic(path, "x", 1, 0600), 0);
	ck_assert_int_eq(journal_open(path, &cause), -1);
	ck_assert_ptr_nonnull(strstr(cause, path));
	ck_assert_ptr_nonnull(strstr(cause, "not a directory"));
	free(cause);
}
END_TEST

/*
 * A state_dir the daemon may not write.  root writes anywhere, so as root
 * the check runs in a child that dropped to nobody (a real fork, whatever
 * CK_FORK says); the child reports the cause through a pipe.
 */
START_TEST(read_only_dir)
{
	char ro[PATH_MAX + 16], buf[512];
	char *cause = NULL;
	struct passwd *pw;
	int p[2], status, rc;
	ssize_t got;
	size_t len = 0;
	pid_t pid;

	snprintf(ro, sizeof(ro), "%s/ro", dir);
	ck_assert_int_eq(mkdir(ro, 0555), 0);
	ck_assert_int_eq(chmod(ro, 0555), 0);
	ck_assert_int_eq(chmod(dir, 0755), 0);
	if (geteuid() != 0) {
		ck_assert_int_eq(journal_open(ro, &cause), -1);
		ck_assert_ptr_nonnull(strstr(cause, strerror(EACCES)));
		ck_assert_ptr_nonnull(strstr(cause, ro));
		free(cause);
		return;
	}
	ck_assert_ptr_nonnull(pw = getpwnam("nobody"));
	ck_assert_int_eq(pipe(p), 0);
	fflush(NULL);
	pid = fork();
	ck_assert_int_ne(pid, -1);
	if (pid == 0) {
		close(p[0]);
		if (setgid(pw->pw_gid) == -1 || setuid(pw->pw_uid) == -1)
			_exit(3);
		rc = journal_open(ro, &cause);
		if (rc == -1)
			(void)write_full(p[1], cause, strlen(cause));
		_exit(rc == -1 ? 0 : 1);
	}
	close(p[1]);
	while ((got = read(p[0], buf + len, sizeof(buf) - 1 - len)) > 0)
		len += (size_t)got;
	buf[len] = '\0';
	close(p[0]);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "journal_open in a read-only dir: status %d", status);
	ck_assert_msg(strstr(buf, strerror(EACCES)) != NULL, "cause: %s", buf);
	ck_assert_ptr_nonnull(strstr(buf, ro));
	ck_assert_ptr_null(strchr(buf, '\n'));
}
END_TEST

/* A state_dir that turns read-only later: compaction fails cleanly, the
 * journal keeps its records and still takes appends. */
START_TEST(rewrite_fails_cleanly)
{
	static const int want[] = { 1, 2, 3 };
	char blocker[PATH_MAX + 32];
	json_object *r;
	struct seen s;
	char *cause = NULL;

	open_dir();
	append(1);
	append(2);
	/* A directory where journal.new must go: the create fails. */
	snprintf(blocker, sizeof(blocker), "%s.new", jpath);
	ck_assert_int_eq(mkdir(blocker, 0700), 0);
	ck_assert_int_eq(mkdir(strcat(blocker, "/sub"), 0700), 0);
	r = rec(9);
	ck_assert_int_eq(journal_rewrite(&r, 1, &cause), -1);
	json_object_put(r);
	ck_assert_ptr_nonnull(cause);
	ck_assert_ptr_nonnull(strstr(cause, "journal.new"));
	free(cause);
	append(3);
	s = replay();
	expect(&s, want, nitems(want));
}
END_TEST

static Suite *
journal_suite(void)
{
	Suite *s = suite_create("journal");
	TCase *tc;

	tc = tcase_create("core");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, append_replay_order);
	tcase_add_test(tc, file_mode);
	tcase_add_test(tc, rewrite_then_append);
	tcase_add_test(tc, stale_new_file);
	suite_add_tcase(s, tc);

	tc = tcase_create("limits");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, torn_last_line);
	tcase_add_test(tc, torn_complete_json);
	tcase_add_test(tc, garbage_in_middle);
	tcase_add_test(tc, unknown_version);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, missing_dir);
	tcase_add_test(tc, not_a_dir);
	tcase_add_test(tc, read_only_dir);
	tcase_add_test(tc, rewrite_fails_cleanly);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return run_suite(journal_suite());
}
