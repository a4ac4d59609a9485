/* test_hostlist.c: common/hostlist.c (the oracle test covers scontrol). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hostlist.h"
#include "testutil.h"
#include "util.h"
#include "xmalloc.h"

/* Expand expr and compare with the names in want, joined by spaces. */
static void
expect_names(const char *expr, const char *want)
{
	struct hostnames hn;
	char *cause = NULL, *got = xstrdup("");
	size_t i;

	ck_assert_msg(hostlist_expand(expr, &hn, &cause) == 0,
	    "\"%s\" refused: %s", expr, cause ? cause : "?");
	for (i = 0; i < hn.n; i++) {
		char *t = xprintf("%s%s%s", got, i ? " " : "", hn.names[i]);

		free(got);
		got = t;
	}
	ck_assert_msg(strcmp(got, want) == 0, "\"%s\" gave \"%s\", not \"%s\"",
	    expr, got, want);
	free(got);
	hostnames_free(&hn);
	ck_assert_ptr_null(hn.names);
}

static void
expect_norm(const char *expr, const char *want)
{
	char *out = NULL, *cause = NULL;

	ck_assert_msg(hostlist_normalize(expr, &out, &cause) == 0,
	    "\"%s\" refused: %s", expr, cause ? cause : "?");
	ck_assert_msg(strcmp(out, want) == 0, "\"%s\" compressed to \"%s\", "
	    "not \"%s\"", expr, out, want);
	free(out);
}

static void
expect_bad(const char *expr, const char *why)
{
	struct hostnames hn = { (char **)1, 42 };
	char *cause = NULL, *out = (char *)1;

	ck_assert_msg(hostlist_expand(expr, &hn, &cause) == -1,
	    "\"%s\" accepted", expr);
	ck_assert_ptr_null(hn.names);
	ck_assert_uint_eq(hn.n, 0);
	ck_assert_ptr_nonnull(cause);
	ck_assert_msg(strstr(cause, why) != NULL, "cause \"%s\" lacks \"%s\"",
	    cause, why);
	ck_assert_ptr_null(strchr(cause, '\n'));
	free(cause);
	ck_assert_int_eq(hostlist_normalize(expr, &out, NULL), -1);
	ck_assert_ptr_null(out);
}

START_TEST(expand_core)
{
	expect_names("n[001-003]", "n001 n002 n003");
	expect_names("n[8-10]", "n8 n9 n10");
	expect_names("n[08-10]", "n08 n09 n10");
	expect_names("n[8-010]", "n8 n9 n10");
	expect_names("hpc-pg0-[1-3]", "hpc-pg0-1 hpc-pg0-2 hpc-pg0-3");
	expect_names("r[1-2]-n[1-2]", "r1-n1 r1-n2 r2-n1 r2-n2");
	expect_names("n[1,3-4,7]", "n1 n3 n4 n7");
	expect_names("a,b,,c d\te", "a b c d e");
	expect_names("n3,n1,n3", "n3 n1 n3");	/* no sort, no dedup */
	expect_names("n[1-3,2]", "n1 n2 n3 n2");
	expect_names("", "");
	expect_names(",, ", "");
	expect_names("n[1-]", "n1");
	expect_names("n[ 1-2]", "n01 n02");	/* Slurm: width is the text */
	expect_names("n[1, 3]", "n1 n03");	/* " 3" is two wide */
	expect_names("[1-3]", "1 2 3");
	expect_names("n[1-2]x[3]", "n1x3 n2x3");
	/* Slurm's handling of an unclosed bracket. */
	expect_names("n[1", "n]");
	expect_names("[1", "1");
	expect_names("n]", "n]");
}
END_TEST

START_TEST(compress_core)
{
	static char text[][4] = { "n1", "n2", "n3", "n5", "n1", "a", "a",
	    "n01", "n02", "n9", "n10" };
	char *names[nitems(text)], *s;
	size_t i;

	for (i = 0; i < nitems(text); i++)
		names[i] = text[i];
	s = hostlist_compress(names, nitems(names));
	ck_assert_str_eq(s, "n[1-3,5,1],a,a,n[01-02,9-10]");
	free(s);
	s = hostlist_compress(names, 0);
	ck_assert_str_eq(s, "");
	free(s);

	expect_norm("n[1-3],n4", "n[1-4]");
	expect_norm("n5[1-2]", "n5[1-2]");
	expect_norm("n51,n52", "n[51-52]");
	expect_norm("n009,n10", "n[009,10]");
	expect_norm("n09,n10", "n[09-10]");
	expect_norm("r1-n1,r1-n2,r2-n1", "r1-n[1-2],r2-n1");
	expect_norm("n[1-2]-[3-4]", "n1-[3-4],n2-[3-4]");
	expect_norm("1,2,3", "[1-3]");
	expect_norm("a1,a,a2", "a1,a,a2");
	expect_norm("", "");
	expect_norm("[", "");
}
END_TEST

START_TEST(uniq_find)
{
	struct hostnames hn;

	ck_assert_int_eq(hostlist_expand("n[1-3],n2,m1,n1,m1,n4", &hn, NULL),
	    0);
	ck_assert_int_eq(hostnames_find(&hn, "m1"), 4);
	ck_assert_int_eq(hostnames_find(&hn, "n9"), -1);
	ck_assert_uint_eq(hostnames_uniq(&hn), 5);
	ck_assert_str_eq(hn.names[0], "n1");
	ck_assert_str_eq(hn.names[2], "n3");
	ck_assert_str_eq(hn.names[3], "m1");
	ck_assert_str_eq(hn.names[4], "n4");
	hostnames_free(&hn);
	hostnames_free(NULL);
}
END_TEST

START_TEST(round_trip)
{
	struct hostnames hn;
	char *s;

	/* compress(expand(x)) == normalize(x) when prefixes end in letters */
	ck_assert_int_eq(hostlist_expand("hpc-pg[0-3]-[1-250],gpu[01-16]",
	    &hn, NULL), 0);
	ck_assert_uint_eq(hn.n, 1016);
	s = hostlist_compress(hn.names, hn.n);
	ck_assert_str_eq(s, "hpc-pg0-[1-250],hpc-pg1-[1-250],hpc-pg2-[1-250],"
	    "hpc-pg3-[1-250],gpu[01-16]");
	free(s);
	hostnames_free(&hn);
}
END_TEST

START_TEST(limits)
{
	struct hostnames hn;
	char *cause = NULL, *big;
	size_t i;

	/* One range: 65536 names fine, 65537 refused (Slurm's bound). */
	ck_assert_int_eq(hostlist_expand("n[1-65536]", &hn, NULL), 0);
	ck_assert_uint_eq(hn.n, 65536);
	ck_assert_str_eq(hn.names[65535], "n65536");
	hostnames_free(&hn);
	expect_bad("n[0-65536]", "more than 65536 names in range");
	/* Total: refused before allocating billions of names. */
	expect_bad("a[1-65536]b[1-65536]", "more than 1000000 names");
	expect_bad("a[1-65536]b[1-16],c", "more than 1000000 names");
	ck_assert_int_eq(hostlist_expand("a[1-1000]b[1-1000]", &hn, NULL), 0);
	ck_assert_uint_eq(hn.n, HOSTLIST_MAX_NAMES);
	ck_assert_str_eq(hn.names[HOSTLIST_MAX_NAMES - 1], "a1000b1000");
	hostnames_free(&hn);
	expect_bad("a[1-1000]b[1-1000],x", "more than 1000000 names");
	/* Numbers that do not fit are refused, not saturated. */
	expect_bad("n[18446744073709551615]", "number too large");
	expect_bad("n[1-99999999999999999999]", "number too large");
	expect_names("n[18446744073709551614]", "n18446744073709551614");
	expect_names("n99999999999999999999", "n99999999999999999999");
	/* Long names and long bracket lists: Slurm 22.05 has no bound. */
	big = xmalloc(4000);
	for (i = 0; i < 3000; i++)
		big[i] = 'a';
	memcpy(big + 3000, "[1-2]", 6);
	ck_assert_int_eq(hostlist_expand(big, &hn, &cause), 0);
	ck_assert_uint_eq(hn.n, 2);
	ck_assert_uint_eq(strlen(hn.names[1]), 3001);
	hostnames_free(&hn);
	free(big);
	/* ... but at most 65536 items in one bracket (Slurm's bound). */
	big = xmalloc(65537 * 2 + 8);
	memcpy(big, "n[", 2);
	for (i = 0; i < 65537; i++)
		memcpy(big + 2 + 2 * i, "1,", 2);
	memcpy(big + 2 + 2 * 65537 - 1, "]", 2);
	expect_bad(big, "more than 65536 items");
	big[2 + 2 * 65536 - 1] = ']';
	big[2 + 2 * 65536] = '\0';
	ck_assert_int_eq(hostlist_expand(big, &hn, NULL), 0);
	ck_assert_uint_eq(hn.n, 65536);
	hostnames_free(&hn);
	free(big);
	/*
	 * A long flat list with a bracket at its end: Slurm's tokenizer
	 * rescans the rest of the string per name (quadratic); ours must
	 * not (Check's timeout would catch ~10^11 steps).
	 */
	big = xmalloc(300000 * 8 + 16);
	for (i = 0; i < 300000; i++)
		snprintf(big + i * 8, 9, "n%06zu,", i);
	memcpy(big + 300000 * 8, "x[1-2]", 7);
	ck_assert_int_eq(hostlist_expand(big, &hn, NULL), 0);
	ck_assert_uint_eq(hn.n, 300002);
	ck_assert_str_eq(hn.names[299999], "n299999");
	ck_assert_str_eq(hn.names[300001], "x2");
	hostnames_free(&hn);
	free(big);
	/*
	 * Bracket groups in one name: each is a level of recursion and a
	 * copy of the name, so 40,000 "[1]"s took 12 s and a 16 MB frame of
	 * them would overflow the daemon's stack.  64 pass, 65 are refused.
	 */
	big = xmalloc(1 + 3 * 40000 + 1);
	big[0] = 'n';
	for (i = 0; i < 64; i++)
		memcpy(big + 1 + 3 * i, "[1]", 4);
	ck_assert_int_eq(hostlist_expand(big, &hn, &cause), 0);
	ck_assert_uint_eq(hn.n, 1);
	ck_assert_uint_eq(strlen(hn.names[0]), 65);
	hostnames_free(&hn);
	memcpy(big + 1 + 3 * 64, "[1]", 4);
	expect_bad(big, "more than 64 bracket groups");
	for (i = 65; i < 40000; i++)
		memcpy(big + 1 + 3 * i, "[1]", 4);
	expect_bad(big, "more than 64 bracket groups");
	free(big);
}
END_TEST

START_TEST(errors)
{
	expect_bad("n[3-1]", "invalid range \"3-1\"");
	expect_bad("n[1-2]-ib", "text after");
	expect_bad("[1-3]n", "text after");
	expect_bad("n[]", "invalid range");
	expect_bad("n[a-b]", "invalid range");
	expect_bad("n[-1]", "invalid range");
	expect_bad("n[1--2]", "invalid range \"1--2\"");
	expect_bad("n[1,,2]", "invalid range");
	expect_bad("n[1x2]", "invalid range");
	expect_bad("n[1-2 ]", "invalid range");
	expect_bad("n[1-3]]", "text after");
	/* Slurm only logs this one (an error in an inner group); we refuse. */
	expect_bad("a[x]b[1]c[1]", "invalid range \"x\"");
	/* The cause escapes what it quotes. */
	expect_bad("n[\x1b]", "\\x1b");
}
END_TEST

/* Inputs the fuzzer found or that once broke an invariant. */
START_TEST(regressions)
{
	expect_names("[", "");
	expect_names("x[1]y[", "x[1]y]");
	expect_names("n[1-3]x[[", "n[1-3]x[]");
	expect_bad("n[1-2]]x[1]", "invalid range \"1-2]\"");
	expect_names("a]b[1-2]", "a]b1 a]b2");
	/*
	 * Found by fuzz_hostlist: compressing these 444 names gives one
	 * 2334-character name, which a 1024-byte limit (Slurm's of old)
	 * refused; scontrol 22.05 expands it back.
	 */
	{
		struct hostnames hn, again;
		char *c;
		size_t i;

		ck_assert_int_eq(hostlist_expand("n[1-73,44444][1,33,7][1,7]",
		    &hn, NULL), 0);
		ck_assert_uint_eq(hn.n, 444);
		c = hostlist_compress(hn.names, hn.n);
		ck_assert_uint_eq(strlen(c), 2334);
		ck_assert_int_eq(hostlist_expand(c, &again, NULL), 0);
		ck_assert_uint_eq(again.n, hn.n);
		for (i = 0; i < hn.n; i++)
			ck_assert_str_eq(again.names[i], hn.names[i]);
		hostnames_free(&again);
		hostnames_free(&hn);
		free(c);
	}
}
END_TEST

static Suite *
hostlist_suite(void)
{
	Suite *s = suite_create("hostlist");
	TCase *tc;

	tc = tcase_create("core");
	tcase_add_test(tc, expand_core);
	tcase_add_test(tc, compress_core);
	tcase_add_test(tc, uniq_find);
	tcase_add_test(tc, round_trip);
	tcase_add_test(tc, regressions);
	suite_add_tcase(s, tc);
	tc = tcase_create("limits");
	tcase_add_test(tc, limits);
	suite_add_tcase(s, tc);
	tc = tcase_create("errors");
	tcase_add_test(tc, errors);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return run_suite(hostlist_suite());
}
