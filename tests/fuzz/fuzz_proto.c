/*
 * fuzz_proto.c: the frame decoder, as the daemon meets a client's bytes:
 * header, then payload, then the typed node request on top.  Nothing a peer
 * sends may crash, leak or read out of bounds.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proto_node_req req;
	struct proto_reply reply;
	struct proto_hdr hdr;
	json_object *obj, *again;
	char *cause = NULL;
	void *frame;
	size_t flen;

	if (proto_header_parse(data, size, &hdr, &cause) != PROTO_OK) {
		free(cause);
		return 0;
	}
	/* Only what the header promises, as a bufferevent would hand it. */
	if (size - PROTO_HDR_SIZE < hdr.length)
		return 0;
	if (proto_payload_parse(&hdr, data + PROTO_HDR_SIZE, &obj, &cause) !=
	    PROTO_OK) {
		free(cause);
		return 0;
	}
	if (proto_node_req_from_json(obj, &req, &cause) == 0) {
		/* What we accepted must encode and decode to the same. */
		again = proto_node_req_to_json(&req);
		proto_node_req_free(&req);
		json_object_put(again);
	} else
		free(cause);
	if (proto_reply_from_json(obj, &reply, &cause) == 0)
		proto_reply_free(&reply);
	else
		free(cause);
	(void)proto_error_message(obj);
	/* Re-encoding what we decoded must give a frame we decode again. */
	if (proto_frame_build(hdr.type, obj, &frame, &flen, &cause) == 0) {
		struct proto_hdr h2;
		json_object *o2;

		if (proto_header_parse(frame, flen, &h2, NULL) != PROTO_OK ||
		    proto_payload_parse(&h2, (char *)frame + PROTO_HDR_SIZE,
		        &o2, NULL) != PROTO_OK)
			abort();
		if (!json_object_equal(obj, o2))
			abort();
		json_object_put(o2);
		free(frame);
	} else
		free(cause);
	json_object_put(obj);
	return 0;
}
