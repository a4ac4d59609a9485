/*
 * test_cc_stream.c: the streamed parse (common/cc_stream.c) against the
 * whole-answer parsers (cc_parse_cluster_status(), cc_parse_node_list()):
 * every document, fed in chunks of every size, must give the same result
 * or the same error text.
 */
#include <check.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cc.h"
#include "cc_stream.h"
#include "testutil.h"
#include "xmalloc.h"

/* ---- Results as text, to compare them ---------------------------------- */

struct sbuf {
	char	*s;
	size_t	 len, cap;
};

static void
sb_add(struct sbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
sb_add(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	char *t;
	size_t n;

	va_start(ap, fmt);
	if (vasprintf(&t, fmt, ap) == -1)
		abort();
	va_end(ap);
	n = strlen(t);
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->s = xreallocarray(b->s, b->cap, 1);
	}
	memcpy(b->s + b->len, t, n + 1);
	b->len += n;
	free(t);
}

#define S(x) ((x) != NULL ? (x) : "(null)")

static void
dump_nodes(struct sbuf *b, const struct cc_node *n, size_t nn)
{
	size_t i;

	sb_add(b, "nnodes=%zu\n", nn);
	for (i = 0; i < nn; i++, n++)
		sb_add(b, "%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%d|%d\n",
		    S(n->name), S(n->node_id), S(n->template_name),
		    S(n->machine_type), S(n->status), S(n->state),
		    S(n->target_state), S(n->private_ip), S(n->hostname),
		    S(n->placement_group_id), S(n->instance_id),
		    S(n->shutdown_policy), S(n->request_id),
		    S(n->status_message), n->keep_alive, n->fixed);
}

static void
dump_status(struct sbuf *b, const struct cc_cluster_status *cs)
{
	const struct cc_nodearray *na;
	const struct cc_bucket *bk;
	size_t i, j, k;

	sb_add(b, "%s|%s|%d|%d|%d|%zu\n", S(cs->state), S(cs->target_state),
	    cs->max_count, cs->max_core_count, cs->has_nodes,
	    cs->nnodearrays);
	for (i = 0; i < cs->nnodearrays; i++) {
		na = &cs->nodearrays[i];
		sb_add(b, "na %s|%d|%d|%s|%d|%s|%d|%d|%g|%d|%d|%s|%zu\n",
		    S(na->name), na->max_count, na->max_core_count,
		    S(na->machine_type), na->autoscale, S(na->partition),
		    na->default_partition, na->hpc, na->dampen_memory,
		    na->use_pcpu, na->max_scaleset_size,
		    S(na->shutdown_policy), na->nbuckets);
		for (j = 0; j < na->nbuckets; j++) {
			bk = &na->buckets[j];
			sb_add(b, "bk %s|%s|%d|%d|%d|%g|%zu\n",
			    S(bk->bucket_id), S(bk->machine_type),
			    bk->max_count, bk->valid, bk->vm.vcpu_count,
			    bk->vm.memory_gb, bk->npgs);
			for (k = 0; k < bk->npgs; k++)
				sb_add(b, "pg %s|%d\n", S(bk->pgs[k].name),
				    bk->pgs[k].active_count);
		}
	}
	dump_nodes(b, cs->nodes, cs->nnodes);
}

/* The whole-answer parser's verdict, as text ("E:" + cause on error). */
static char *
whole(int list, const char *doc, size_t len)
{
	struct cc_cluster_status *cs;
	struct cc_node_list *nl;
	struct sbuf b = { NULL, 0, 0 };
	char *cause = NULL;

	if (!list) {
		if (cc_parse_cluster_status(doc, len, &cs, &cause) == -1) {
			sb_add(&b, "E:%s", cause);
			free(cause);
			return b.s;
		}
		dump_status(&b, cs);
		cc_cluster_status_free(cs);
	} else {
		if (cc_parse_node_list(doc, len, &nl, &cause) == -1) {
			sb_add(&b, "E:%s", cause);
			free(cause);
			return b.s;
		}
		dump_nodes(&b, nl->nodes, nl->nnodes);
		if (nl->operation != NULL)
			sb_add(&b, "op %s|%s|%s\n", S(nl->operation->id),
			    S(nl->operation->action),
			    S(nl->operation->start_time));
		cc_node_list_free(nl);
	}
	return b.s;
}

/* The streamed parser's verdict, fed in chunks of chunk bytes. */
static char *
streamed(int list, const char *doc, size_t len, size_t chunk)
{
	struct cc_cluster_status *cs;
	struct cc_node_list *nl;
	struct cc_stream *s;
	struct sbuf b = { NULL, 0, 0 };
	char *cause = NULL;
	size_t at, n;

	s = cc_stream_new(list ? CC_STREAM_NODE_LIST : CC_STREAM_STATUS);
	for (at = 0; at < len; at += n) {
		n = len - at < chunk ? len - at : chunk;
		cc_stream_feed(s, doc + at, n);
	}
	ck_assert_uint_eq(cc_stream_len(s), len);
	if (!list) {
		if (cc_stream_finish_status(s, &cs, &cause) == -1) {
			sb_add(&b, "E:%s", cause);
			free(cause);
		} else {
			dump_status(&b, cs);
			cc_cluster_status_free(cs);
		}
	} else {
		if (cc_stream_finish_node_list(s, &nl, &cause) == -1) {
			sb_add(&b, "E:%s", cause);
			free(cause);
		} else {
			dump_nodes(&b, nl->nodes, nl->nnodes);
			if (nl->operation != NULL)
				sb_add(&b, "op %s|%s|%s\n",
				    S(nl->operation->id),
				    S(nl->operation->action),
				    S(nl->operation->start_time));
			cc_node_list_free(nl);
		}
	}
	cc_stream_free(s);
	return b.s;
}

/*
 * Both kinds, chunks of 1 .. maxchunk bytes (and the whole): the same
 * verdict.  Returns the whole-answer verdict of the status parse (caller
 * frees) so a test can also check it is what it expects.
 */
static char *
same(const char *doc, size_t len, size_t maxchunk)
{
	char *want[2], *got;
	size_t chunk;
	int list;

	for (list = 0; list < 2; list++) {
		want[list] = whole(list, doc, len);
		for (chunk = 1; chunk <= maxchunk + 1; chunk++) {
			got = streamed(list, doc, len,
			    chunk > maxchunk ? len + 1 : chunk);
			if (strcmp(want[list], got) != 0)
				ck_abort_msg("%s, chunk %zu, doc [%.*s]:\n"
				    "whole:    %s\nstreamed: %s",
				    list ? "node list" : "status", chunk,
				    (int)(len > 400 ? 400 : len), doc,
				    want[list], got);
			free(got);
		}
	}
	free(want[1]);
	return want[0];
}

/* ---- Documents ------------------------------------------------------------ */

#define NODE_A "{\"Name\":\"hpc-1\",\"NodeId\":\"id1\",\"Template\":\"hpc\"," \
	"\"MachineType\":[\"Standard_F2s_v2\",\"x\"],\"Status\":\"Ready\"," \
	"\"State\":\"Started\",\"TargetState\":\"Started\",\"PrivateIp\":" \
	"\"10.0.0.4\",\"Hostname\":\"h1\",\"PlacementGroupId\":\"pg0\"," \
	"\"InstanceId\":\"i1\",\"ShutdownPolicy\":\"Deallocate\"," \
	"\"RequestId\":\"r1\",\"StatusMessage\":null,\"KeepAlive\":true," \
	"\"Fixed\":false,\"Configuration\":{\"slurm\":{\"autoscale\":true," \
	"\"x\":[1,-2.5e+3,0,true,false,null,\"}]{[\\\"\\\\\"]},\"s\":" \
	"\"\\u00e9\\ud83d\\ude00 \\/\\b\\f\\n\\r\\t\"}}"

#define NODE_B "{\"Configuration\":{\"a\":{\"b\":{\"c\":[[[]],{}]}}}," \
	"\"Name\":\"htc-2\",\"Status\":\"Off\",\"Extra\":[{\"k\":\"}\"}]," \
	"\"MachineType\":\"Standard_D2, Standard_D4\"}"

#define ARRAYS "\"nodearrays\":[{\"name\":\"hpc\",\"maxCount\":10," \
	"\"nodearray\":{\"MachineType\":\"F2\",\"Configuration\":{\"slurm\":" \
	"{\"autoscale\":true,\"hpc\":false}},\"Azure\":{\"MaxScalesetSize\":" \
	"20}},\"buckets\":[{\"bucketId\":\"b1\",\"definition\":" \
	"{\"machineType\":\"F2\"},\"maxCount\":10,\"virtualMachine\":" \
	"{\"vcpuCount\":2,\"memory\":4.0},\"placementGroups\":[{\"name\":" \
	"\"pg0\",\"activeCount\":1}]}]}]"

static const char *const good_docs[] = {
	"{" ARRAYS ",\"state\":\"Started\",\"nodes\":[" NODE_A "," NODE_B
	    "],\"operation\":{\"action\":\"create\",\"startTime\":12}}",
	"{\"nodes\":[]," ARRAYS "}",
	"{" ARRAYS "}",
	"{\"nodes\":[" NODE_B "]," ARRAYS ",\"nodes\":[" NODE_A "]}",
	" \n\t{ \"nodes\" : [ \r\n" NODE_B " , \n " NODE_A " \t] , " ARRAYS
	    " } \n ",
	/* Comments and single quotes json-c accepts, outside and inside. */
	"/* c */{/*\"nodes\":[*/'nodes'/**/:/*x*/[//l\n" NODE_B ",{'Name':'a',"
	    "'Configuration':{/* } */'a':'}'}},]," ARRAYS "}// end",
	"{\"no\\u0064es\":[" NODE_B "]," ARRAYS "}",
	"{\"nodes\\u0000x\":[" NODE_B "]," ARRAYS "}",
	"{\"nodes\":[{\"Name\":\"a\",\"Conf\\u0069guration\":{\"x\":1},"
	    "\"Name\\u0000\":\"b\"}]," ARRAYS "}",
	"{\"nodes\":[{\"Name\":\"a\",\"Configuration\":{\"x\":[1,2,]}}],"
	    ARRAYS "}",
	"{\"nodes\":[{\"Name\":\"a\",\"Configuration\":{\"x\":NaN,\"y\":"
	    "TRUE,\"z\":'q'}}]," ARRAYS "}",
	"{\"nodes\":[{\"Name\":\"a\",\"Configuration\":{\"x\":\"\\ud800\"}}],"
	    ARRAYS "}",
	"{\"nodes\":[{\"Name\":\"a\",\"Configuration\":{\"x\":\"a\tb\"}}],"
	    ARRAYS "}",
	"{\"nodes\":[{\"Name\":\"a\",\"Configuration\":[1,{\"a\":[]}],"
	    "\"Configuration\":7}]," ARRAYS "}",
	"{\"nodes\":[{\"Name\":\"a\",\"Configuration\":{\"x\":1e5,\"y\":-0,"
	    "\"z\":0.5E-2}}]," ARRAYS "}",
	"{\"nodes\":[{\"Name\":\"a\",\"Configuration\":{}}]," ARRAYS "}",
	"{" ARRAYS ",\"nodes\":[{\"Name\":\"b\",}]}",
	"{\"nodes\":[{\"Name\":\"a\",\"Configuration\":{\"a\":/**/1}}],"
	    ARRAYS "}",
	"{\"nodes\":[{\"Name\":\"a\",\"Configuration\":{\"a\":\"**/\"}}],"
	    ARRAYS "}",
};

static const char *const bad_docs[] = {
	"",
	"   ",
	"[]",
	"null",
	"{\"nodes\":[" NODE_A "]}",
	"{" ARRAYS ",\"nodes\":{}}",
	"{" ARRAYS ",\"nodes\":[1," NODE_A "]}",
	"{" ARRAYS ",\"nodes\":[" NODE_A ",null]}",
	"{" ARRAYS ",\"nodes\":[" NODE_A ",[{}]]}",
	"{" ARRAYS ",\"nodes\":[{\"Name\":5}]}",
	"{" ARRAYS ",\"nodes\":[{\"Status\":\"Off\"}]}",
	"{" ARRAYS ",\"nodes\":[" NODE_A ",{\"Name\":\"b\",\"KeepAlive\":"
	    "\"yes\"}]}",
	"{" ARRAYS ",\"nodes\":[{\"Name\":\"b\",\"Configuration\":{\"a\":}}]}",
	"{" ARRAYS ",\"nodes\":[{\"Name\":\"b\",\"Configuration\":{\"a\":1]}]}",
	"{" ARRAYS ",\"nodes\":[{\"Name\":\"b\",\"Configuration\":{\"a\":"
	    "\"\\x\"}}]}",
	"{" ARRAYS ",\"nodes\":[{\"Name\":\"b\",\"Configuration\":{/x}}]}",
	"{" ARRAYS ",\"nodes\":[{\"Name\":\"b\"} {\"Name\":\"c\"}]}",
	"{" ARRAYS ",\"nodes\":[{\"Name\":\"b\"}]} x",
	"{" ARRAYS ",\"nodes\":[{\"Name\":\"b\"}]} {\"nodes\":[{\"a\":}]}",
	"{\"state\":5," ARRAYS ",\"nodes\":[{\"Name\":\"b\",\"x\":}]}",
	"{\"state\":5,\"nodes\":[{\"Name\":6}]," ARRAYS "}",
	"{\"state\":5 \"nodes\":[{\"Name\":\"b\",\"x\":}]," ARRAYS "}",
	"{" ARRAYS ",\"nodes\":[{\"Name\":\"b\"}",
	"{" ARRAYS ",\"nodes\":[{\"Name\":\"b\",\"Configuration\":{\"a\":[",
	"{" ARRAYS ",\"nodes\":[{\"Name\":\"b\",\"Configuration\":{\"a\":[}",
	"{" ARRAYS ",\"nodes\":[{\"Name\":\"b\",\"Configuration\":{\"a\":1}",
	"{" ARRAYS ",\"nodes\":[{\"Name\":\"b\" /",
	"{" ARRAYS ",\"nodes\":[{\"Name\":\"b\"}]}/",
	"{\"nodes\":[" NODE_B "]," ARRAYS ",\"nodes\":5}",
};

START_TEST(good_documents)
{
	size_t i;
	char *v;

	for (i = 0; i < sizeof(good_docs) / sizeof(good_docs[0]); i++) {
		v = same(good_docs[i], strlen(good_docs[i]),
		    strlen(good_docs[i]));
		/* [5]: json-c's comment handling refuses it; both agree. */
		if (strncmp(v, "E:", 2) == 0 && i != 5)
			ck_abort_msg("good_docs[%zu] refused: %s", i, v);
		free(v);
	}
}
END_TEST

START_TEST(what_good_gives)
{
	char *v;

	/* The first document's nodes, as the streamed parse sees them. */
	v = streamed(0, good_docs[0], strlen(good_docs[0]), 3);
	ck_assert_ptr_nonnull(strstr(v, "nnodes=2\nhpc-1|id1|hpc|"
	    "Standard_F2s_v2|Ready|Started|Started|10.0.0.4|h1|pg0|i1|"
	    "Deallocate|r1|(null)|1|0\n"));
	ck_assert_ptr_nonnull(strstr(v, "htc-2|(null)|(null)|Standard_D2|"
	    "Off|"));
	free(v);
	/* The last "nodes" wins, as in json-c. */
	v = streamed(0, good_docs[3], strlen(good_docs[3]), 5);
	ck_assert_ptr_nonnull(strstr(v, "nnodes=1\nhpc-1|"));
	free(v);
	/* Keys decoded as json-c does. */
	v = streamed(0, good_docs[6], strlen(good_docs[6]), 2);
	ck_assert_ptr_nonnull(strstr(v, "nnodes=1\nhtc-2|"));
	free(v);
	v = streamed(1, good_docs[8], strlen(good_docs[8]), 1);
	ck_assert_ptr_nonnull(strstr(v, "nnodes=1\nb|"));
	free(v);
}
END_TEST

START_TEST(empty_and_absent)
{
	char *v;

	v = streamed(0, good_docs[1], strlen(good_docs[1]), 4);
	ck_assert_ptr_nonnull(strstr(v, "|1|1\nna hpc"));	/* has_nodes */
	ck_assert_ptr_nonnull(strstr(v, "nnodes=0\n"));
	free(v);
	v = streamed(0, good_docs[2], strlen(good_docs[2]), 4);
	ck_assert_ptr_nonnull(strstr(v, "|0|1\nna hpc"));
	free(v);
	v = streamed(1, good_docs[2], strlen(good_docs[2]), 4);
	ck_assert_str_eq(v, "E:nodes: missing");
	free(v);
}
END_TEST

/* Many nodes, streamed in odd chunks. */
START_TEST(many_nodes)
{
	struct sbuf b = { NULL, 0, 0 };
	char *v;
	int i;

	sb_add(&b, "{" ARRAYS ",\"nodes\":[");
	for (i = 0; i < 2000; i++)
		sb_add(&b, "%s{\"Name\":\"n%d\",\"Configuration\":{\"s\":"
		    "\"%0*d\"},\"Status\":\"Off\"}", i > 0 ? "," : "", i,
		    i % 300, 0);
	sb_add(&b, "]}");
	v = same(b.s, b.len, 17);
	ck_assert_ptr_nonnull(strstr(v, "nnodes=2000\n"));
	ck_assert_ptr_nonnull(strstr(v, "\nn1999|"));
	free(v);
	free(b.s);
}
END_TEST

/* Deep nesting around json-c's limit, inside a Configuration and outside. */
START_TEST(deep_nesting)
{
	struct sbuf b;
	char *v;
	int depth, i;

	for (depth = 55; depth <= 66; depth++) {
		memset(&b, 0, sizeof(b));
		sb_add(&b, "{" ARRAYS ",\"nodes\":[{\"Name\":\"a\","
		    "\"Configuration\":");
		for (i = 0; i < depth; i++)
			sb_add(&b, "[");
		for (i = 0; i < depth; i++)
			sb_add(&b, "]");
		sb_add(&b, "}]}");
		free(same(b.s, b.len, 3));
		free(b.s);

		memset(&b, 0, sizeof(b));
		sb_add(&b, "{" ARRAYS ",\"nodes\":[{\"Name\":\"a\",\"Tags\":");
		for (i = 0; i < depth; i++)
			sb_add(&b, "{\"a\":");
		sb_add(&b, "1");
		for (i = 0; i < depth; i++)
			sb_add(&b, "}");
		sb_add(&b, "}]}");
		v = same(b.s, b.len, 2);
		free(v);
		free(b.s);
	}
}
END_TEST

START_TEST(bad_documents)
{
	size_t i;
	char *v;

	for (i = 0; i < sizeof(bad_docs) / sizeof(bad_docs[0]); i++) {
		v = same(bad_docs[i], strlen(bad_docs[i]),
		    strlen(bad_docs[i]));
		if (strncmp(v, "E:", 2) != 0)
			ck_abort_msg("bad_docs[%zu] accepted", i);
		free(v);
	}
}
END_TEST

START_TEST(error_texts)
{
	char *v;

	v = streamed(0, bad_docs[11], strlen(bad_docs[11]), 1);
	ck_assert_str_eq(v, "E:nodes[1].KeepAlive: expected a boolean, got "
	    "string");
	free(v);
	v = streamed(0, bad_docs[12], strlen(bad_docs[12]), 9);
	ck_assert_str_eq(v, "E:answer is not JSON: unexpected character");
	free(v);
	v = streamed(0, bad_docs[23], strlen(bad_docs[23]), 9);
	ck_assert_str_eq(v, "E:answer is not JSON: truncated");
	free(v);
	v = streamed(0, bad_docs[6], strlen(bad_docs[6]), 9);
	ck_assert_str_eq(v, "E:nodes[0]: expected an object, got int");
	free(v);
}
END_TEST

/* A NUL byte anywhere wins over an earlier syntax error, as whole. */
START_TEST(nul_byte)
{
	static const char doc[] = "{\"nodes\":[{\"Name\":}],\"x\":\"\0\"}";

	free(same(doc, sizeof(doc) - 1, sizeof(doc) - 1));
	free(same(doc + 1, sizeof(doc) - 2, 3));
}
END_TEST

/*
 * Every prefix, and every one-byte change of a good document (a deletion,
 * or a byte replaced by one of the characters that matter to the scanner).
 */
START_TEST(mutations)
{
	static const char repl[] = "{}[]\"'\\,:/*x0 \n";
	const char *src = good_docs[_i];
	size_t len = strlen(src), at, k;
	char *doc = xmalloc(len + 1);

	for (at = 0; at <= len; at++)
		free(same(src, at, 3));
	for (at = 0; at < len; at++) {
		memcpy(doc, src, at);
		memcpy(doc + at, src + at + 1, len - at - 1);
		free(same(doc, len - 1, 2));
		for (k = 0; k < sizeof(repl) - 1; k++) {
			memcpy(doc, src, len);
			doc[at] = repl[k];
			free(same(doc, len, 2));
		}
	}
	free(doc);
}
END_TEST

static Suite *
cc_stream_suite(void)
{
	Suite *s = suite_create("cc_stream");
	TCase *tc;

	tc = tcase_create("core");
	tcase_add_test(tc, good_documents);
	tcase_add_test(tc, what_good_gives);
	tcase_add_test(tc, empty_and_absent);
	suite_add_tcase(s, tc);

	tc = tcase_create("limits");
	tcase_add_test(tc, many_nodes);
	tcase_add_test(tc, deep_nesting);
	tcase_set_timeout(tc, 300);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_add_test(tc, bad_documents);
	tcase_add_test(tc, error_texts);
	tcase_add_test(tc, nul_byte);
	tcase_add_loop_test(tc, mutations, 0,
	    (int)(sizeof(good_docs) / sizeof(good_docs[0])));
	tcase_set_timeout(tc, 600);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return run_suite(cc_stream_suite());
}
