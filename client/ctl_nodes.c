/*
 * ctl_nodes.c: `ccslurmctl nodes [--json] [HOSTLIST]`: one row a node,
 * aligned so a person reads it at a glance:
 *
 *	NAME        NODEARRAY  STATE    CC-STATUS  IP         AGE    ERROR
 *	hpc-pg0-1   hpc        ready    Ready      10.88.0.4  3m12s  -
 *
 * AGE is how long the node has been in its STATE.  --json prints the
 * daemon's answer as given ({"nodes": [...]}, interfaces.md): the payload is
 * checked (proto_json_check(): one JSON object, valid UTF-8) and written out
 * as received, since building a json-c tree of 50,000 nodes only to print
 * it back was most of the command's time (docs/performance.md, "Scale").
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "ctl.h"
#include "log.h"
#include "proto.h"
#include "xmalloc.h"

enum { C_NAME, C_ARRAY, C_STATE, C_CC, C_IP, C_AGE, C_ERROR, C_N };
static const char *const headers[C_N] = {
    "NAME", "NODEARRAY", "STATE", "CC-STATUS", "IP", "AGE", "ERROR"};
#define CELL_MAX 128 /* a cell is cut (log_esc) at about this */

/* A string member, escaped for a terminal, "-" when null or absent. */
static void
cell(json_object *node, const char *key, char *buf, size_t len)
{
	json_object *v;

	if (!json_object_object_get_ex(node, key, &v) || v == NULL ||
	    json_object_is_type(v, json_type_null)) {
		snprintf(buf, len, "-");
		return;
	}
	log_esc_buf(json_object_get_string(v), buf, len);
}

/* Append s and pad it with spaces to w columns (cells are escaped ASCII). */
static void
put_cell(struct proto_jbuf *out, const char *s, size_t w, int last)
{
	static const char spaces[] = "                                ";
	size_t n = strlen(s), pad, k;

	proto_jbuf_add(out, s, n);
	if (last) {
		proto_jbuf_add(out, "\n", 1);
		return;
	}
	for (pad = w - n + 2; pad > 0; pad -= k) {
		k = pad < sizeof(spaces) - 1 ? pad : sizeof(spaces) - 1;
		proto_jbuf_add(out, spaces, k);
	}
}

/* Write all of buf to stdout; 0, or -1 with *cause. */
static int
write_out(const char *buf, size_t len, char **cause)
{
	if (fwrite(buf, 1, len, stdout) != len || fflush(stdout) == EOF) {
		xasprintf(cause, "nodes: cannot write the answer: %s",
		    strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * The table, built in one buffer and written at once.  The cells of all
 * rows are kept (the widths depend on every row) as offsets into one text
 * arena: 7 fixed-size cells a row would be 45 MB at 50,000 nodes.
 */
static int
print_table(json_object *arr, char **cause)
{
	size_t n = json_object_array_length(arr), i, c, w[C_N], (*off)[C_N];
	struct proto_jbuf arena, out;
	char buf[CELL_MAX];
	time_t now = time(NULL);
	json_object *node, *v;
	int rc;

	off = xreallocarray(NULL, n > 0 ? n : 1, sizeof(*off));
	proto_jbuf_init(&arena, n * 64);
	for (c = 0; c < C_N; c++)
		w[c] = strlen(headers[c]);
	for (i = 0; i < n; i++) {
		node = json_object_array_get_idx(arr, i);
		for (c = 0; c < C_N; c++) {
			switch (c) {
			case C_NAME:
				cell(node, "name", buf, sizeof(buf));
				break;
			case C_ARRAY:
				cell(node, "nodearray", buf, sizeof(buf));
				break;
			case C_STATE:
				cell(node, "state", buf, sizeof(buf));
				break;
			case C_CC:
				cell(node, "cc_status", buf, sizeof(buf));
				break;
			case C_IP:
				cell(node, "ip", buf, sizeof(buf));
				break;
			case C_ERROR:
				cell(node, "error", buf, sizeof(buf));
				break;
			case C_AGE:
				if (json_object_object_get_ex(
				        node, "since", &v) &&
				    v != NULL && json_object_get_int64(v) > 0)
					ctl_fmt_age(
					    (int64_t)now -
					        json_object_get_int64(v),
					    buf, sizeof(buf));
				else
					snprintf(buf, sizeof(buf), "-");
				break;
			}
			off[i][c] = arena.len;
			/* With its NUL: the cell is read back as a C string. */
			proto_jbuf_add(&arena, buf, strlen(buf) + 1);
			if (strlen(buf) > w[c])
				w[c] = strlen(buf);
		}
	}
	proto_jbuf_init(&out, arena.len + (n + 1) * (C_N * 2 + 16));
	for (c = 0; c < C_N; c++)
		put_cell(&out, headers[c], w[c], c == C_N - 1);
	for (i = 0; i < n; i++) {
		for (c = 0; c < C_N; c++)
			put_cell(&out, arena.s + off[i][c], w[c], c == C_N - 1);
	}
	rc = write_out(out.s, out.len, cause);
	proto_jbuf_free(&out);
	proto_jbuf_free(&arena);
	free(off);
	return rc;
}

/*
 * The round trip, as ctl_call() does it but keeping the answer as text.
 * Returns CTL_EXIT_OK with *text (allocated, caller frees) and *len of a
 * NODES_REPLY, or prints one line and returns another exit status.
 */
static int
call_nodes(const struct ctl *ctl, json_object *req, char **text, size_t *len)
{
	struct proto_hdr hdr;
	json_object *err;
	uint16_t rtype = 0;
	char *cause = NULL;
	int rc;

	rc = proto_call_raw(ctl->socket_path, CTL_CALL_TIMEOUT_MS,
	    CTL_CALL_RETRY_MS, PROTO_NODES, req, &rtype, text, len, &cause);
	if (rc != PROTO_OK)
		return ctl_call_failed(ctl, rc, cause);
	if (rtype == PROTO_ERROR) {
		/* Small: parsed and checked as any other frame. */
		hdr.magic = PROTO_MAGIC;
		hdr.version = PROTO_VERSION;
		hdr.type = rtype;
		hdr.length = (uint32_t)*len;
		if (proto_payload_parse(&hdr, *text, &err, &cause) !=
		    PROTO_OK) {
			fprintf(stderr, "ccslurmctl: %s\n", cause);
			free(cause);
		} else {
			fprintf(stderr, "ccslurmctl: %s: %s\n", ctl->cmd->name,
			    log_esc(proto_error_message(err)));
			json_object_put(err);
		}
		free(*text);
		*text = NULL;
		return CTL_EXIT_FAILED;
	}
	if (rtype != PROTO_NODES_REPLY) {
		fprintf(stderr, "ccslurmctl: unexpected answer %s to %s\n",
		    proto_type_name(rtype), proto_type_name(PROTO_NODES));
		free(*text);
		*text = NULL;
		return CTL_EXIT_FAILED;
	}
	return CTL_EXIT_OK;
}

int
ctl_nodes(struct ctl *ctl, int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"json", no_argument, NULL, 'j'},
	    {NULL, 0, NULL, 0},
	};
	struct proto_hdr hdr;
	json_object *req, *reply, *arr;
	char *text = NULL, *cause = NULL;
	size_t len = 0;
	int ch, rc, json = ctl->json;

	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (ch != 'j')
			return ctl_usage(ctl);
		json = 1;
	}
	if (argc - optind > 1)
		return ctl_usage(ctl);
	req = json_object_new_object();
	if (optind < argc)
		json_object_object_add(
		    req, "hostlist", json_object_new_string(argv[optind]));
	rc = call_nodes(ctl, req, &text, &len);
	json_object_put(req);
	if (rc != CTL_EXIT_OK)
		return rc;
	if (json) {
		/* Checked before a byte is printed: all of it or nothing. */
		if (proto_json_check(text, len, &cause) == -1) {
			fprintf(stderr,
			    "ccslurmctl: nodes: bad answer from "
			    "ccslurmd: %s\n",
			    cause);
			goto fail;
		}
		text[len] = '\n'; /* over the NUL proto_recv_raw() added */
		if (write_out(text, len + 1, &cause) == -1) {
			fprintf(stderr, "ccslurmctl: %s\n", cause);
			goto fail;
		}
		free(text);
		return CTL_EXIT_OK;
	}
	hdr.magic = PROTO_MAGIC;
	hdr.version = PROTO_VERSION;
	hdr.type = PROTO_NODES_REPLY;
	hdr.length = (uint32_t)len;
	rc = proto_payload_parse(&hdr, text, &reply, &cause);
	free(text);
	text = NULL;
	if (rc != PROTO_OK) {
		fprintf(stderr,
		    "ccslurmctl: nodes: bad answer from ccslurmd: "
		    "%s\n",
		    cause);
		goto fail;
	}
	if (!json_object_object_get_ex(reply, "nodes", &arr) ||
	    !json_object_is_type(arr, json_type_array)) {
		fprintf(stderr, "ccslurmctl: nodes: no \"nodes\" array in the "
		                "answer\n");
		json_object_put(reply);
		return CTL_EXIT_FAILED;
	}
	rc = print_table(arr, &cause);
	json_object_put(reply);
	if (rc == -1) {
		fprintf(stderr, "ccslurmctl: %s\n", cause);
		goto fail;
	}
	return CTL_EXIT_OK;
fail:
	free(cause);
	free(text);
	return CTL_EXIT_FAILED;
}
