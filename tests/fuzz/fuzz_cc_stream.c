/*
 * fuzz_cc_stream.c: libFuzzer target for the streamed parse of status and
 * node list answers (common/cc_stream.c), checked against the whole-answer
 * parsers (common/cc_json.c).
 *
 * The first byte picks the kind (bit 0) and the chunk size (the rest, 1 to
 * 128), the rest is the answer.  Both parsers must agree: both refuse with
 * the same text, or both accept with the same nodes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cc.h"
#include "cc_stream.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static int
streq(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

static void
same_nodes(const struct cc_node *a, const struct cc_node *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++, a++, b++)
		if (!streq(a->name, b->name) ||
		    !streq(a->node_id, b->node_id) ||
		    !streq(a->template_name, b->template_name) ||
		    !streq(a->machine_type, b->machine_type) ||
		    !streq(a->status, b->status) ||
		    !streq(a->state, b->state) ||
		    !streq(a->target_state, b->target_state) ||
		    !streq(a->private_ip, b->private_ip) ||
		    !streq(a->hostname, b->hostname) ||
		    !streq(a->placement_group_id, b->placement_group_id) ||
		    !streq(a->instance_id, b->instance_id) ||
		    !streq(a->shutdown_policy, b->shutdown_policy) ||
		    !streq(a->request_id, b->request_id) ||
		    !streq(a->status_message, b->status_message) ||
		    a->keep_alive != b->keep_alive || a->fixed != b->fixed)
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cc_cluster_status *cs1 = NULL, *cs2 = NULL;
	struct cc_node_list *nl1 = NULL, *nl2 = NULL;
	const char *buf = (const char *)data + 1;
	char *c1 = NULL, *c2 = NULL;
	struct cc_stream *s;
	size_t len, chunk, at, n;
	int list, rc1, rc2;

	if (size < 1)
		return 0;
	len = size - 1;
	list = data[0] & 1;
	chunk = (size_t)(data[0] >> 1) + 1;
	s = cc_stream_new(list ? CC_STREAM_NODE_LIST : CC_STREAM_STATUS);
	for (at = 0; at < len; at += n) {
		n = len - at < chunk ? len - at : chunk;
		cc_stream_feed(s, buf + at, n);
	}
	if (!list) {
		rc1 = cc_parse_cluster_status(buf, len, &cs1, &c1);
		rc2 = cc_stream_finish_status(s, &cs2, &c2);
	} else {
		rc1 = cc_parse_node_list(buf, len, &nl1, &c1);
		rc2 = cc_stream_finish_node_list(s, &nl2, &c2);
	}
	cc_stream_free(s);
	if (rc1 != rc2 || !streq(c1, c2))
		abort();
	if (rc1 == 0 && !list) {
		if (cs1->nnodes != cs2->nnodes || cs1->has_nodes !=
		    cs2->has_nodes || cs1->nnodearrays != cs2->nnodearrays ||
		    !streq(cs1->state, cs2->state))
			abort();
		same_nodes(cs1->nodes, cs2->nodes, cs1->nnodes);
	}
	if (rc1 == 0 && list) {
		if (nl1->nnodes != nl2->nnodes ||
		    (nl1->operation == NULL) != (nl2->operation == NULL))
			abort();
		same_nodes(nl1->nodes, nl2->nodes, nl1->nnodes);
	}
	cc_cluster_status_free(cs1);
	cc_cluster_status_free(cs2);
	cc_node_list_free(nl1);
	cc_node_list_free(nl2);
	free(c1);
	free(c2);
	return 0;
}
