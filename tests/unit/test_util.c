/* test_util.c: common/util.c and common/log.c. */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "testutil.h"
#include "util.h"

START_TEST(duration_ok)
{
	uint64_t ms;

	ck_assert_int_eq(parse_duration_ms("500ms", &ms), 0);
	ck_assert_uint_eq(ms, 500);
	ck_assert_int_eq(parse_duration_ms("5", &ms), 0);
	ck_assert_uint_eq(ms, 5000);
	ck_assert_int_eq(parse_duration_ms("1.5s", &ms), 0);
	ck_assert_uint_eq(ms, 1500);
	ck_assert_int_eq(parse_duration_ms("5m", &ms), 0);
	ck_assert_uint_eq(ms, 300000);
	ck_assert_int_eq(parse_duration_ms("2h", &ms), 0);
	ck_assert_uint_eq(ms, 7200000);
	ck_assert_int_eq(parse_duration_ms("0", &ms), 0);
	ck_assert_uint_eq(ms, 0);
}
END_TEST

START_TEST(duration_bad)
{
	static const char *bad[] = { "", "-1", "5x", "ms", "1e3", "0x10",
	    " 5", "5 s", "1.2.3s", "169h", "+5", "5mss", "inf", "nan" };
	uint64_t ms = 42;
	size_t i;

	for (i = 0; i < nitems(bad); i++) {
		ck_assert_msg(parse_duration_ms(bad[i], &ms) == -1,
		    "accepted \"%s\"", bad[i]);
		ck_assert_uint_eq(ms, 42);
	}
}
END_TEST

START_TEST(esc)
{
	char buf[64];

	ck_assert_str_eq(log_esc("hpc-pg0-1"), "hpc-pg0-1");
	ck_assert_str_eq(log_esc("a\nb"), "a\\x0ab");
	ck_assert_str_eq(log_esc("\x1b[31m"), "\\x1b[31m");
	ck_assert_str_eq(log_esc("back\\slash"), "back\\\\slash");
	ck_assert_str_eq(log_esc_buf("0123456789", buf, 8), "012...");
}
END_TEST

START_TEST(atomic_write)
{
	char dir[] = "/tmp/ccs-util-XXXXXX", path[64], *buf;
	struct stat st;
	size_t len;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/f", dir);
	ck_assert_int_eq(write_file_atomic(path, "one", 3, 0600), 0);
	ck_assert_int_eq(write_file_atomic(path, "two!", 4, 0640), 0);
	ck_assert_int_eq(read_file(path, 100, &buf, &len), 0);
	ck_assert_str_eq(buf, "two!");
	ck_assert_uint_eq(len, 4);
	free(buf);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 0777, 0640);
	ck_assert_int_eq(read_file(path, 2, &buf, &len), -1);
	ck_assert_int_eq(errno, EFBIG);
	unlink(path);
	rmdir(dir);
}
END_TEST

/*
 * A planted file or hard link at a temporary name must not be truncated or
 * chmod'ed: the old "path.tmp.PID" name was predictable and opened with
 * O_TRUNC, so anyone who could write the directory could aim it at a file.
 */
START_TEST(atomic_write_planted)
{
	char dir[] = "/tmp/ccs-util-XXXXXX", path[64], victim[64], plant[96];
	char *buf;
	struct stat st;
	size_t len;
	DIR *d;
	struct dirent *de;
	int n = 0;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/f", dir);
	snprintf(victim, sizeof(victim), "%s/victim", dir);
	ck_assert_int_eq(write_file_atomic(victim, "precious", 8, 0644), 0);
	snprintf(plant, sizeof(plant), "%s.tmp.%ld", path, (long)getpid());
	ck_assert_int_eq(link(victim, plant), 0);

	ck_assert_int_eq(write_file_atomic(path, "new", 3, 0600), 0);
	ck_assert_int_eq(read_file(victim, 100, &buf, &len), 0);
	ck_assert_str_eq(buf, "precious");
	free(buf);
	ck_assert_int_eq(stat(victim, &st), 0);
	ck_assert_uint_eq(st.st_mode & 0777, 0644);
	ck_assert_int_eq(read_file(path, 100, &buf, &len), 0);
	ck_assert_str_eq(buf, "new");
	free(buf);
	/* Nothing left behind: f, victim and the planted link only. */
	ck_assert_ptr_nonnull(d = opendir(dir));
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	ck_assert_int_eq(n, 3);
	unlink(plant);
	unlink(victim);
	unlink(path);
	rmdir(dir);
}
END_TEST

/* A FIFO is refused at once, not waited on (a shim must never hang). */
START_TEST(read_file_fifo)
{
	char dir[] = "/tmp/ccs-util-XXXXXX", path[64], *buf = NULL;
	uint64_t t0;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/fifo", dir);
	ck_assert_int_eq(mkfifo(path, 0600), 0);
	t0 = now_mono_ms();
	ck_assert_int_eq(read_file(path, 100, &buf, NULL), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_ptr_null(buf);
	ck_assert_uint_lt(now_mono_ms() - t0, 1000);
	unlink(path);
	rmdir(dir);
}
END_TEST

/* Whatever a message holds, it is one log line. */
START_TEST(log_one_line)
{
	char path[] = "/tmp/ccs-log-XXXXXX", *buf;
	size_t len;
	int fd, saved;

	ck_assert_int_ne(fd = mkstemp(path), -1);
	unsetenv("JOURNAL_STREAM");
	saved = dup(STDERR_FILENO);
	ck_assert_int_ne(dup2(fd, STDERR_FILENO), -1);
	log_init("t", LOG_LVL_INFO, LOG_TO_STDERR);
	log_warnx("cause: %s", "line1\nforged: error: x\r\x1b[2J");
	log_info("second");
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	close(fd);
	ck_assert_int_eq(read_file(path, 1000, &buf, &len), 0);
	ck_assert_str_eq(buf, "t: warning: cause: line1 forged: error: x  [2J\n"
	    "t: second\n");
	free(buf);
	unlink(path);
}
END_TEST

START_TEST(cause)
{
	char *c = NULL;

	cause_printf(NULL, "ignored %d", 1);
	cause_printf(&c, "n=%d %s", 42, "x");
	ck_assert_str_eq(c, "n=42 x");
	free(c);
}
END_TEST

START_TEST(uuid)
{
	char a[UUID_STR_LEN], b[UUID_STR_LEN];

	uuid_v4(a);
	uuid_v4(b);
	ck_assert_uint_eq(strlen(a), 36);
	ck_assert_int_eq(a[14], '4');
	ck_assert_str_ne(a, b);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("util");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, duration_ok);
	tcase_add_test(tc, esc);
	tcase_add_test(tc, atomic_write);
	tcase_add_test(tc, uuid);
	suite_add_tcase(s, tc);
	tc = tcase_create("errors");
	tcase_add_test(tc, duration_bad);
	tcase_add_test(tc, atomic_write_planted);
	tcase_add_test(tc, read_file_fifo);
	tcase_add_test(tc, log_one_line);
	tcase_add_test(tc, cause);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
