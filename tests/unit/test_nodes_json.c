/*
 * test_nodes_json.c: `nodes --json` written as text (common/proto.c's
 * proto_jbuf, daemon/nodes.c's node_json_write(), engine_nodes_json()) and
 * the tree-free checker ccslurmctl runs on it (proto_json_check()).
 *
 * The reference is json-c itself: every text the writer produces is
 * compared byte for byte with json_object_to_json_string_ext(PLAIN |
 * NOSLASHESCAPE) of the tree node_to_json() builds for the same node, which
 * is what the daemon sent before the writer existed.  The checker is
 * compared with proto_payload_parse() (json-c's strict tokener) on a corpus
 * of good and bad payloads.
 */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "ccslurmd.h"
#include "hostlist.h"
#include "log.h"
#include "proto.h"
#include "testutil.h"
#include "util.h"
#include "xmalloc.h"

#define JSONC_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

/* ---- The table: an HPC and an HTC nodearray ----------------------------- */

static void
array_init(struct cc_nodearray *a, const char *name, int max_count, int hpc)
{
	memset(a, 0, sizeof(*a));
	a->name = xstrdup(name);
	a->max_count = max_count;
	a->machine_type = xstrdup("Standard_F4s_v2");
	a->autoscale = 1;
	a->hpc = hpc;
	a->dampen_memory = 5;
	a->use_pcpu = 1;
	a->max_scaleset_size = 4;
	a->shutdown_policy = xstrdup("Terminate");
	a->nbuckets = 1;
	a->buckets = xcalloc(1, sizeof(*a->buckets));
	a->buckets[0].machine_type = xstrdup(a->machine_type);
	a->buckets[0].max_count = max_count;
	a->buckets[0].valid = 1;
	a->buckets[0].last_capacity_failure = -1;
	a->buckets[0].vm.vcpu_count = 4;
	a->buckets[0].vm.pcpu_count = 2;
	a->buckets[0].vm.memory_gb = 16;
}

static void
array_clear(struct cc_nodearray *a)
{
	free(a->name);
	free(a->machine_type);
	free(a->shutdown_policy);
	free(a->buckets[0].machine_type);
	free(a->buckets);
}

static void
setup(void)
{
	struct cc_nodearray arrays[2];
	struct cc_cluster_status st;
	char *cause = NULL;

	log_init("test_nodes_json", LOG_LVL_ERROR, LOG_TO_STDERR);
	array_init(&arrays[0], "hpc", 8, 1);
	array_init(&arrays[1], "htc", 8, 0);
	memset(&st, 0, sizeof(st));
	st.nodearrays = arrays;
	st.nnodearrays = 2;
	ck_assert_msg(nodes_load(&st, &cause) == 0, "nodes_load: %s", cause);
	array_clear(&arrays[0]);
	array_clear(&arrays[1]);
	ck_assert_uint_eq(nodes.n, 16);
}

static void
teardown(void)
{
	nodes_free();
}

/* Strings with everything json-c escapes, and UTF-8 it copies. */
static const char *const nasty[] = {
    "",
    "plain text",
    "say \"no\"",
    "C:\\path\\to",
    "a/b/c </script>",
    "line1\nline2\r\n\ttab\bback\ffeed",
    "\x01\x02\x1f\x7f end",
    "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x92\xa5 \xef\xbf\xbf \xf4\x8f\xbf\xbf",
    "\"\\\"\\\\\"",
    "\\u0041 is not an escape here",
};

/* Set a string member (NULL: none), freeing the old one. */
static void
set(char **field, const char *v)
{
	free(*field);
	*field = v != NULL ? xstrdup(v) : NULL;
}

/* node_json_write(n) must print exactly what json-c prints for the tree. */
static void
check_node(const struct node *n)
{
	struct proto_jbuf b;
	json_object *o;
	const char *want;

	o = node_to_json(n);
	want = json_object_to_json_string_ext(o, JSONC_FLAGS);
	proto_jbuf_init(&b, 0);
	node_json_write(n, &b);
	ck_assert_msg(strcmp(b.s, want) == 0, "node %s:\n got  %s\n want %s",
	    n->name, b.s, want);
	ck_assert_uint_eq(b.len, strlen(want));
	proto_jbuf_free(&b);
	json_object_put(o);
}

/* A reference for engine_nodes_json(): the tree it used to build. */
static char *
reference(const char *const *names, size_t n)
{
	json_object *o = json_object_new_object(), *arr;
	char *s;
	size_t i;

	arr = json_object_new_array();
	for (i = 0; i < n; i++)
		json_object_array_add(arr, node_to_json(node_find(names[i])));
	json_object_object_add(o, "nodes", arr);
	s = xstrdup(json_object_to_json_string_ext(o, JSONC_FLAGS));
	json_object_put(o);
	return s;
}

/* ---- core ---------------------------------------------------------------- */

START_TEST(strings_as_jsonc)
{
	struct proto_jbuf b;
	json_object *o;
	char all[256];
	size_t i;

	for (i = 0; i < nitems(nasty); i++) {
		o = json_object_new_string(nasty[i]);
		proto_jbuf_init(&b, 0);
		proto_jbuf_string(&b, nasty[i]);
		ck_assert_str_eq(
		    b.s, json_object_to_json_string_ext(o, JSONC_FLAGS));
		proto_jbuf_free(&b);
		json_object_put(o);
	}
	/* Every ASCII byte, one string. */
	for (i = 1; i < 128; i++)
		all[i - 1] = (char)i;
	all[127] = '\0';
	o = json_object_new_string(all);
	proto_jbuf_init(&b, 0);
	proto_jbuf_string(&b, all);
	ck_assert_str_eq(b.s, json_object_to_json_string_ext(o, JSONC_FLAGS));
	proto_jbuf_free(&b);
	json_object_put(o);

	proto_jbuf_init(&b, 0);
	proto_jbuf_string(&b, NULL);
	ck_assert_str_eq(b.s, "null");
	proto_jbuf_free(&b);
}
END_TEST

START_TEST(ints_as_jsonc)
{
	static const int64_t v[] = {0, 1, -1, 9, 10, 4294967295LL, 1700000000LL,
	    INT64_MAX, INT64_MIN, INT64_MIN + 1};
	struct proto_jbuf b;
	json_object *o;
	size_t i;

	for (i = 0; i < nitems(v); i++) {
		o = json_object_new_int64(v[i]);
		proto_jbuf_init(&b, 0);
		proto_jbuf_int(&b, v[i]);
		ck_assert_str_eq(
		    b.s, json_object_to_json_string_ext(o, JSONC_FLAGS));
		proto_jbuf_free(&b);
		json_object_put(o);
	}
}
END_TEST

/*
 * Every state, every member null, absent or set, strings that need
 * escaping, HPC (placement_group) and HTC nodes, jobs empty or many.
 */
START_TEST(node_every_state_and_field)
{
	struct node *n;
	size_t i, s, k;

	for (i = 0; i < nodes.n; i++)
		check_node(&nodes.v[i]); /* as loaded: nulls, no jobs */
	for (s = 0; s < NS_COUNT; s++) {
		for (i = 0; i < nodes.n; i++) {
			n = &nodes.v[i];
			k = (s + i) % nitems(nasty);
			n->state = (enum node_state)s;
			n->since_ms = (uint64_t)1700000000123ULL + i * 1000;
			set(&n->cc_status, i % 3 == 0 ? NULL : nasty[k]);
			set(&n->ip, i % 2 == 0 ? NULL : "10.1.2.3");
			set(&n->error,
			    i % 4 == 1 ? NULL : nasty[(k + 3) % nitems(nasty)]);
			set(&n->op_id,
			    i % 5 == 0 ? NULL : nasty[(k + 5) % nitems(nasty)]);
			free(n->jobs);
			n->jobs = NULL;
			n->njobs = (i + s) % 4;
			if (n->njobs > 0) {
				n->jobs = xcalloc(n->njobs, sizeof(*n->jobs));
				n->jobs[0] = 4294967295u;
				for (k = 1; k < n->njobs; k++)
					n->jobs[k] = (uint32_t)(k * 1000 + s);
			}
			check_node(n);
		}
	}
	/* since 0 (never changed) and a pg past the first. */
	n = node_find("hpc-pg1-2");
	ck_assert_ptr_nonnull(n);
	n->since_ms = 0;
	check_node(n);
	ck_assert_uint_eq(n->pg, 1);
}
END_TEST

START_TEST(table_as_jsonc)
{
	struct proto_jbuf b;
	struct hostnames hn;
	char *cause = NULL, *want, **all;
	size_t i;

	nodes.v[3].state = NS_FAILED;
	set(&nodes.v[3].error, "cloud said: \"no\"\n\\ again");
	set(&nodes.v[9].ip, "10.0.0.9");
	set(&nodes.v[9].cc_status, "Ready");

	/* All of them. */
	all = xcalloc(nodes.n, sizeof(*all));
	for (i = 0; i < nodes.n; i++)
		all[i] = nodes.v[i].name;
	want = reference((const char *const *)all, nodes.n);
	proto_jbuf_init(&b, 0);
	ck_assert_int_eq(engine_nodes_json(NULL, &b, &cause), 0);
	ck_assert_str_eq(b.s, want);
	proto_jbuf_free(&b);
	free(want);
	/* "" is all of them too (req_nodes passes NULL, but still). */
	want = reference((const char *const *)all, nodes.n);
	proto_jbuf_init(&b, 0);
	ck_assert_int_eq(engine_nodes_json("", &b, &cause), 0);
	ck_assert_str_eq(b.s, want);
	proto_jbuf_free(&b);
	free(want);
	free(all);

	/* A hostlist, in its order, across both arrays. */
	ck_assert_int_eq(
	    hostlist_expand("htc-3,htc-1,hpc-pg0-[1-2]", &hn, &cause), 0);
	want = reference((const char *const *)hn.names, hn.n);
	proto_jbuf_init(&b, 0);
	ck_assert_int_eq(
	    engine_nodes_json("htc-3,htc-1,hpc-pg0-[1-2]", &b, &cause), 0);
	ck_assert_str_eq(b.s, want);
	proto_jbuf_free(&b);
	free(want);
	hostnames_free(&hn);
}
END_TEST

/* ---- limits -------------------------------------------------------------- */

START_TEST(invalid_utf8_replaced)
{
	static const struct {
		const char *in, *out;
	} v[] = {
	    {"a\xff"
	     "b",
	        "\"a\\ufffdb\""},
	    {"\xc0\x80", "\"\\ufffd\\ufffd\""},            /* overlong NUL */
	    {"\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\""}, /* surrogate */
	    {"\xf4\x90\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\""},
	    {"\xe2\x82", "\"\\ufffd\\ufffd\""}, /* cut short */
	    {"x\xc3", "\"x\\ufffd\""},
	    {"\xc3\xa9\x80", "\"\xc3\xa9\\ufffd\""},
	};
	struct proto_jbuf b;
	struct proto_hdr hdr = {
	    PROTO_MAGIC, PROTO_VERSION, PROTO_NODES_REPLY, 0};
	json_object *o;
	size_t i;

	for (i = 0; i < nitems(v); i++) {
		proto_jbuf_init(&b, 0);
		proto_jbuf_string(&b, v[i].in);
		ck_assert_str_eq(b.s, v[i].out);
		proto_jbuf_free(&b);
	}
	/* So a node with such an error still reaches ccslurmctl. */
	set(&nodes.v[0].error, "bad \xff\xfe bytes \xc3");
	proto_jbuf_init(&b, 0);
	ck_assert_int_eq(engine_nodes_json(NULL, &b, NULL), 0);
	hdr.length = (uint32_t)b.len;
	ck_assert_int_eq(proto_payload_parse(&hdr, b.s, &o, NULL), PROTO_OK);
	json_object_put(o);
	ck_assert_int_eq(proto_json_check(b.s, b.len, NULL), 0);
	proto_jbuf_free(&b);
}
END_TEST

START_TEST(large_strings_grow)
{
	size_t n = 1 << 20, i;
	struct proto_jbuf b;
	json_object *o;
	char *s = xmalloc(n + 1);

	/* Escapes six times the input: the growth path, then a long run. */
	for (i = 0; i < n; i++)
		s[i] = (char)(i % 2 == 0 ? '\x01' : 'a' + (char)(i % 26));
	s[n] = '\0';
	o = json_object_new_string(s);
	proto_jbuf_init(&b, 0);
	proto_jbuf_puts(&b, "[");
	proto_jbuf_string(&b, s);
	proto_jbuf_puts(&b, "]");
	ck_assert_uint_eq(b.len, strlen(b.s));
	ck_assert_uint_eq(
	    b.len, strlen(json_object_to_json_string_ext(o, JSONC_FLAGS)) + 2);
	ck_assert(
	    memcmp(b.s + 1, json_object_to_json_string_ext(o, JSONC_FLAGS),
	        b.len - 2) == 0);
	proto_jbuf_free(&b);
	proto_jbuf_free(&b); /* a zeroed buffer is fine */
	json_object_put(o);
	free(s);
}
END_TEST

/* Nesting: PROTO_MAX_DEPTH levels pass the checker, one more does not. */
START_TEST(check_depth)
{
	char buf[4 * PROTO_MAX_DEPTH + 16];
	size_t d, i, len;

	for (d = PROTO_MAX_DEPTH - 1; d <= PROTO_MAX_DEPTH + 1; d++) {
		len = 0;
		buf[len++] = '{';
		buf[len++] = '"';
		buf[len++] = 'k';
		buf[len++] = '"';
		buf[len++] = ':';
		for (i = 1; i < d; i++)
			buf[len++] = '[';
		buf[len++] = '1';
		for (i = 1; i < d; i++)
			buf[len++] = ']';
		buf[len++] = '}';
		ck_assert_int_eq(proto_json_check(buf, len, NULL),
		    d <= PROTO_MAX_DEPTH ? 0 : -1);
	}
}
END_TEST

/* ---- errors -------------------------------------------------------------- */

/* Good payloads: the checker and json-c (strict) accept them all. */
static const char *const good[] = {
    "{}",
    " \t\r\n{ } \n",
    "{\"nodes\":[]}",
    "{\"a\":1,\"b\":-0,\"c\":-12.5e+3,\"d\":0.0E-0,\"e\":1E9}",
    "{\"a\":true,\"b\":false,\"c\":null,\"d\":[true,[],{}]}",
    "{\"s\":\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\uD83D\\uDCA5\"}",
    "{\"u\":\"caf\xc3\xa9 \xf0\x9f\x92\xa5\"}",
    "{\"k\" : [ 1 , 2 ] , \"l\" : { \"m\" : \"n\" } }",
    "{\"\":\"\"}",
};

/* Bad ones: both refuse them. */
static const char *const bad[] = {
    "",
    "   ",
    "[]",
    "\"s\"",
    "1",
    "null",
    "{",
    "{\"a\"",
    "{\"a\":",
    "{\"a\":1",
    "{\"a\":1,}",
    "{\"a\":[1,]}",
    "{\"a\" 1}",
    "{a:1}",
    "{\"a\":01}",
    "{\"a\":.5}",
    "{\"a\":1e}",
    "{\"a\":+1}",
    "{\"a\":-}",
    "{\"a\":tru}",
    "{\"a\":True}",
    "{\"a\":nul}",
    "{\"a\":\"\\x\"}",
    "{\"a\":\"\\u12G4\"}",
    "{\"a\":\"\\u12\"}",
    "{\"a\":\"\xff\"}",
    "{\"a\":\"\xc3\"}",
    "{\"a\":\"unterminated}",
    "{\"a\":1}}",
    "{\"a\":1} x",
    "{\"a\":1}{}",
    "{\"a\":[1}",
    "{\"a\":{1:2}}",
    "{\"a\":1 /* c */}",
};

/*
 * Refused by the checker though json-c (0.16, even strict) takes them: the
 * checker holds to RFC 8259, and the daemon's writer never produces them.
 */
static const char *const stricter[] = {
    "{'a':1}",
    "{\"a\":'b'}",
    "{\"a\":\"\xc0\x80\"}",     /* overlong */
    "{\"a\":\"\xed\xa0\x80\"}", /* surrogate */
    "{\"a\":1.}",
    "{\"a\":NaN}",
    "{\"a\":\"tab\there\"}", /* control characters raw */
    "{\"a\":\"nl\nhere\"}",
};

static int
jsonc_parse(const char *s, size_t len)
{
	struct proto_hdr hdr = {
	    PROTO_MAGIC, PROTO_VERSION, PROTO_NODES_REPLY, (uint32_t)len};
	json_object *o = NULL;
	int rc;

	rc = proto_payload_parse(&hdr, s, &o, NULL);
	json_object_put(o);
	return rc;
}

START_TEST(check_agrees_with_jsonc)
{
	char *cause = NULL;
	size_t i;

	for (i = 0; i < nitems(good); i++) {
		ck_assert_msg(jsonc_parse(good[i], strlen(good[i])) == PROTO_OK,
		    "json-c refused good[%zu]", i);
		ck_assert_msg(
		    proto_json_check(good[i], strlen(good[i]), &cause) == 0,
		    "good[%zu] %s: %s", i, good[i], cause);
	}
	for (i = 0; i < nitems(bad); i++) {
		ck_assert_msg(jsonc_parse(bad[i], strlen(bad[i])) != PROTO_OK,
		    "json-c took bad[%zu]", i);
		cause = NULL;
		ck_assert_msg(
		    proto_json_check(bad[i], strlen(bad[i]), &cause) == -1,
		    "bad[%zu] accepted: %s", i, bad[i]);
		ck_assert_ptr_nonnull(cause);
		ck_assert_msg(strncmp(cause, "bad JSON: ", 10) == 0 &&
		                  strchr(cause, '\n') == NULL,
		    "cause: %s", cause);
		free(cause);
	}
	for (i = 0; i < nitems(stricter); i++)
		ck_assert_msg(proto_json_check(
		                  stricter[i], strlen(stricter[i]), NULL) == -1,
		    "stricter[%zu] accepted", i);
	/* A NUL inside the length, in a string or outside one. */
	ck_assert_int_eq(proto_json_check("{\"a\":\"x\0y\"}", 11, NULL), -1);
	ck_assert_int_eq(proto_json_check("{\"a\":1}\0", 8, NULL), -1);
	ck_assert_int_eq(proto_json_check("{\"a\":\0}", 7, NULL), -1);
	/* Every prefix of a good payload is truncated. */
	for (i = 0; i < strlen(good[5]); i++)
		ck_assert_int_eq(proto_json_check(good[5], i, NULL), -1);
}
END_TEST

START_TEST(engine_bad_hostlist)
{
	struct proto_jbuf b;
	char *cause = NULL;

	proto_jbuf_init(&b, 0);
	proto_jbuf_puts(&b, "kept");
	ck_assert_int_eq(engine_nodes_json("htc-[1-", &b, &cause), -1);
	ck_assert_ptr_nonnull(cause);
	free(cause);
	cause = NULL;
	ck_assert_str_eq(b.s, "kept");
	ck_assert_uint_eq(b.len, 4);
	/* One unknown name among known ones: nothing written. */
	ck_assert_int_eq(engine_nodes_json("htc-1,nosuch-9", &b, &cause), -1);
	ck_assert_str_eq(cause, "unknown node nosuch-9");
	free(cause);
	ck_assert_str_eq(b.s, "kept");
	proto_jbuf_free(&b);
}
END_TEST

START_TEST(raw_frames)
{
	unsigned char hdr[PROTO_HDR_SIZE];
	struct proto_hdr h;
	char *cause = NULL;
	void *frame;
	size_t len;
	json_object *o;

	ck_assert_int_eq(proto_frame_build_raw(PROTO_NODES_REPLY,
	                     "{\"nodes\":[]}", 12, &frame, &len, &cause),
	    0);
	ck_assert_uint_eq(len, PROTO_HDR_SIZE + 12);
	ck_assert_int_eq(proto_header_parse(frame, len, &h, NULL), PROTO_OK);
	ck_assert_uint_eq(h.type, PROTO_NODES_REPLY);
	ck_assert_uint_eq(h.length, 12);
	ck_assert_int_eq(
	    proto_payload_parse(&h, (char *)frame + PROTO_HDR_SIZE, &o, NULL),
	    PROTO_OK);
	json_object_put(o);
	free(frame);

	ck_assert_int_eq(proto_frame_build_raw(
	                     PROTO_NODES_REPLY, "[]", 2, &frame, &len, &cause),
	    -1);
	ck_assert_str_eq(cause, "frame: payload is not an object");
	free(cause);
	cause = NULL;
	ck_assert_int_eq(
	    proto_frame_build_raw(7, "{}", 2, &frame, &len, &cause), -1);
	ck_assert_str_eq(cause, "frame: unknown message type 7");
	free(cause);
	cause = NULL;
	ck_assert_int_eq(proto_header_build(PROTO_NODES_REPLY,
	                     (size_t)PROTO_MAX_PAYLOAD + 1, hdr, &cause),
	    -1);
	ck_assert_ptr_nonnull(strstr(cause, "exceeds the maximum"));
	free(cause);
	ck_assert_int_eq(
	    proto_header_build(PROTO_NODES_REPLY, PROTO_MAX_PAYLOAD, hdr, NULL),
	    0);
}
END_TEST

static Suite *
nodes_json_suite(void)
{
	Suite *s = suite_create("nodes_json");
	TCase *tc;

	tc = tcase_create("core");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, strings_as_jsonc);
	tcase_add_test(tc, ints_as_jsonc);
	tcase_add_test(tc, node_every_state_and_field);
	tcase_add_test(tc, table_as_jsonc);
	suite_add_tcase(s, tc);

	tc = tcase_create("limits");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, invalid_utf8_replaced);
	tcase_add_test(tc, large_strings_grow);
	tcase_add_test(tc, check_depth);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, check_agrees_with_jsonc);
	tcase_add_test(tc, engine_bad_hostlist);
	tcase_add_test(tc, raw_frames);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return run_suite(nodes_json_suite());
}
