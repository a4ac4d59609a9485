/*
 * fuzz_cc_json.c: libFuzzer target for the CycleCloud client's parsers
 * (common/cc_json.c).
 *
 * The first byte picks the parser (status, node list, create result, action
 * result, operation, error body text), the rest is the answer.  Any input
 * must give a result or a one-line reason, never a crash, a leak or a hang;
 * the error body text is always one line.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cc.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* A reason is a non-empty line without control characters. */
static void
check_cause(int rc, char *cause)
{
	const char *p;

	if (rc == 0) {
		if (cause != NULL)
			abort();
		return;
	}
	if (cause == NULL || *cause == '\0')
		abort();
	for (p = cause; *p != '\0'; p++)
		if (*p == '\n' || *p == '\r')
			abort();
	free(cause);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cc_cluster_status *cs;
	struct cc_node_list *nl;
	struct cc_create_result *cr;
	struct cc_action_result *ar;
	struct cc_operation *op;
	const char *buf = (const char *)data + 1, *p;
	char *cause = NULL, *text;
	size_t len;

	if (size < 1)
		return 0;
	len = size - 1;
	switch (data[0] % 6) {
	case 0:
		check_cause(cc_parse_cluster_status(buf, len, &cs, &cause),
		    cause);
		cc_cluster_status_free(cs);
		break;
	case 1:
		check_cause(cc_parse_node_list(buf, len, &nl, &cause), cause);
		cc_node_list_free(nl);
		break;
	case 2:
		check_cause(cc_parse_create_result(buf, len, &cr, &cause),
		    cause);
		cc_create_result_free(cr);
		break;
	case 3:
		check_cause(cc_parse_action_result(buf, len, &ar, &cause),
		    cause);
		cc_action_result_free(ar);
		break;
	case 4:
		check_cause(cc_parse_operation(buf, len, &op, &cause), cause);
		cc_operation_free(op);
		break;
	default:
		text = cc_error_body_text(buf, len);
		for (p = text; *p != '\0'; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				abort();
		free(text);
		break;
	}
	return 0;
}
