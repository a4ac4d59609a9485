/* test_util.c: common/util.c and common/log.c. */
#include <check.h>
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
	suite_add_tcase(s, tc);
	return run_suite(s);
}
