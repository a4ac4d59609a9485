/* test_proto.c: common/proto.c, the wire protocol and its blocking client. */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "proto.h"
#include "testutil.h"
#include "util.h"
#include "xmalloc.h"

static const uint16_t all_types[] = {
    PROTO_RESUME,
    PROTO_SUSPEND,
    PROTO_RESUMEFAIL,
    PROTO_STATUS,
    PROTO_NODES,
    PROTO_METRICS,
    PROTO_PING,
    PROTO_CLUSTER,
    PROTO_RELOAD,
    PROTO_CREATE_NODES,
    PROTO_NODE_ACTION,
    PROTO_RESUME_REPLY,
    PROTO_SUSPEND_REPLY,
    PROTO_RESUMEFAIL_REPLY,
    PROTO_STATUS_REPLY,
    PROTO_NODES_REPLY,
    PROTO_METRICS_REPLY,
    PROTO_PING_REPLY,
    PROTO_CLUSTER_REPLY,
    PROTO_RELOAD_REPLY,
    PROTO_CREATE_NODES_REPLY,
    PROTO_NODE_ACTION_REPLY,
    PROTO_ERROR,
    PROTO_PROGRESS,
};

/* A raw frame: header fields as given, then len bytes of body. */
static unsigned char *
raw_frame(uint32_t magic, uint16_t version, uint16_t type, uint32_t length,
    const void *body, size_t blen, size_t *outlen)
{
	struct proto_wire_hdr wh;
	unsigned char *f = xmalloc(PROTO_HDR_SIZE + blen + 1);

	wh.magic = htonl(magic);
	wh.version = htons(version);
	wh.type = htons(type);
	wh.length = htonl(length);
	memcpy(f, &wh, PROTO_HDR_SIZE);
	if (blen > 0)
		memcpy(f + PROTO_HDR_SIZE, body, blen);
	*outlen = PROTO_HDR_SIZE + blen;
	return f;
}

/* Parse a payload string as if it came with a good header. */
static int
parse_body(const char *body, size_t len, json_object **out, char **cause)
{
	struct proto_hdr h = {
	    PROTO_MAGIC, PROTO_VERSION, PROTO_STATUS, (uint32_t)len};

	return proto_payload_parse(&h, body, out, cause);
}

/* ---- core ---------------------------------------------------------------- */

START_TEST(every_type_round_trips)
{
	struct proto_hdr h;
	json_object *in, *out;
	char *cause = NULL;
	size_t i, len;
	void *frame;

	for (i = 0; i < nitems(all_types); i++) {
		in = json_object_new_object();
		json_object_object_add(
		    in, "n", json_object_new_int(all_types[i]));
		json_object_object_add(
		    in, "s", json_object_new_string("caf\xc3\xa9 \"q\" /"));
		ck_assert_int_eq(
		    proto_frame_build(all_types[i], in, &frame, &len, &cause),
		    0);
		ck_assert_int_eq(
		    proto_header_parse(frame, len, &h, &cause), PROTO_OK);
		ck_assert_uint_eq(h.magic, PROTO_MAGIC);
		ck_assert_uint_eq(h.version, PROTO_VERSION);
		ck_assert_uint_eq(h.type, all_types[i]);
		ck_assert_uint_eq(h.length, len - PROTO_HDR_SIZE);
		ck_assert_int_eq(
		    proto_payload_parse(
		        &h, (char *)frame + PROTO_HDR_SIZE, &out, &cause),
		    PROTO_OK);
		ck_assert_msg(json_object_equal(in, out), "type %u differs",
		    all_types[i]);
		ck_assert_ptr_nonnull(proto_type_name(all_types[i]));
		json_object_put(in);
		json_object_put(out);
		free(frame);
	}
	/* NULL sends an empty object. */
	ck_assert_int_eq(
	    proto_frame_build(PROTO_PING, NULL, &frame, &len, &cause), 0);
	ck_assert_uint_eq(len, PROTO_HDR_SIZE + 2);
	ck_assert_mem_eq((char *)frame + PROTO_HDR_SIZE, "{}", 2);
	free(frame);
}
END_TEST

START_TEST(wire_layout)
{
	static const unsigned char want[] = {
	    'C', 'C', 'S', 'D', 0, 1, 0, 100, 0, 0, 0, 2, '{', '}'};
	size_t len;
	void *frame;

	ck_assert_int_eq(PROTO_VERSION, 1);
	ck_assert_int_eq(
	    proto_frame_build(PROTO_RESUME, NULL, &frame, &len, NULL), 0);
	ck_assert_uint_eq(len, sizeof(want));
	ck_assert_mem_eq(frame, want, sizeof(want));
	free(frame);
}
END_TEST

START_TEST(pairs)
{
	size_t i;

	for (i = 0; i < nitems(all_types); i++) {
		uint16_t t = all_types[i], r = proto_reply_type(t);

		if (proto_is_request(t)) {
			ck_assert(proto_type_valid(r));
			ck_assert(!proto_is_request(r));
			ck_assert_uint_eq(r, t + PROTO_REPLY_BASE);
		} else
			ck_assert_uint_eq(r, 0);
	}
	ck_assert_str_eq(proto_type_name(PROTO_NODES_REPLY), "NODES_REPLY");
	ck_assert_ptr_null(proto_type_name(0));
	ck_assert_ptr_null(proto_type_name(103));
	ck_assert_str_eq(
	    proto_node_action_name(PROTO_RESUMEFAIL), "resumefail");
	ck_assert_ptr_null(proto_node_action_name(PROTO_PING));
	ck_assert_uint_eq(proto_node_action_type("suspend"), PROTO_SUSPEND);
	ck_assert_uint_eq(proto_node_action_type("ping"), 0);
	ck_assert_uint_eq(proto_node_action_type(NULL), 0);
}
END_TEST

START_TEST(node_req_round_trip)
{
	struct proto_node_req r = {0}, back;
	json_object *o, *rf;
	char id[UUID_STR_LEN], *cause = NULL;

	uuid_v4(id);
	rf = json_tokener_parse("{\"jobs\":[{\"job_id\":1,\"nodes\":"
	                        "\"hpc-[1-2]\"}],\"all_nodes\":\"hpc-[1-2]\"}");
	ck_assert_ptr_nonnull(rf);
	r.id = id;
	r.hostlist = (char *)(uintptr_t) "hpc-[1-2]";
	r.resume_file = rf;
	r.program = (char *)(uintptr_t) "ccslurm-resume";
	r.pid = 4242;
	r.wait = true;
	o = proto_node_req_to_json(&r);
	ck_assert_int_eq(proto_node_req_from_json(o, &back, &cause), 0);
	ck_assert_str_eq(back.id, id);
	ck_assert_str_eq(back.hostlist, "hpc-[1-2]");
	ck_assert_str_eq(back.program, "ccslurm-resume");
	ck_assert_int_eq(back.pid, 4242);
	ck_assert(back.wait);
	ck_assert(json_object_equal(back.resume_file, rf));
	json_object_put(o);
	json_object_put(rf); /* back holds its own reference */
	ck_assert_str_eq(json_object_get_string(json_object_object_get(
	                     back.resume_file, "all_nodes")),
	    "hpc-[1-2]");
	proto_node_req_free(&back);
	ck_assert_ptr_null(back.id);
	proto_node_req_free(NULL);

	/* Optional keys absent; null resume_file is absent; unknown ignored. */
	o = json_tokener_parse("{\"id\":\"a-1\",\"hostlist\":\"n1\","
	                       "\"resume_file\":null,\"future_key\":[1]}");
	ck_assert_int_eq(proto_node_req_from_json(o, &back, &cause), 0);
	ck_assert_ptr_null(back.resume_file);
	ck_assert_ptr_null(back.program);
	ck_assert_int_eq(back.pid, 0);
	ck_assert(!back.wait);
	proto_node_req_free(&back);
	json_object_put(o);
}
END_TEST

START_TEST(reply_and_error)
{
	struct proto_reply r = {3, 4, (char *)(uintptr_t) "ok"}, back;
	json_object *o;
	char *cause = NULL;

	o = proto_reply_to_json(&r);
	ck_assert_int_eq(proto_reply_from_json(o, &back, &cause), 0);
	ck_assert_int_eq(back.accepted, 3);
	ck_assert_int_eq(back.nodes, 4);
	ck_assert_str_eq(back.message, "ok");
	proto_reply_free(&back);
	json_object_put(o);

	o = proto_error_json("unknown node %s\nforged line", "gpu9");
	ck_assert_str_eq(proto_error_message(o), "unknown node gpu9");
	json_object_put(o);
	o = json_object_new_object();
	ck_assert_str_eq(
	    proto_error_message(o), "request refused (no reason given)");
	json_object_put(o);
	ck_assert_str_eq(
	    proto_error_message(NULL), "request refused (no reason given)");
}
END_TEST

/* A one-shot server in a child: answers the first request as told. */
enum srv_mode { SRV_ECHO, SRV_ERROR, SRV_VERSION, SRV_CLOSE, SRV_GARBAGE };

static pid_t
serve_once(const char *path, enum srv_mode mode)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	int lfd, fd;
	pid_t pid;

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	ck_assert_int_ge(lfd, 0);
	ck_assert_int_eq(bind(lfd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	ck_assert_int_eq(listen(lfd, 4), 0);
	if ((pid = fork()) != 0) {
		close(lfd);
		return pid;
	}
	if ((fd = accept(lfd, NULL, NULL)) == -1)
		_exit(1);
	{
		json_object *req, *rep;
		uint16_t type;
		size_t len;
		void *f;
		unsigned char *raw;

		if (proto_recv(fd, 5000, &type, &req, NULL) != PROTO_OK)
			_exit(2);
		switch (mode) {
		case SRV_ECHO:
			proto_send(fd, proto_reply_type(type), req, 5000, NULL);
			break;
		case SRV_ERROR:
			rep = proto_error_json("node x is unknown");
			proto_send(fd, PROTO_ERROR, rep, 5000, NULL);
			json_object_put(rep);
			break;
		case SRV_VERSION:
			raw = raw_frame(PROTO_MAGIC, PROTO_VERSION + 1,
			    PROTO_ERROR, 2, "{}", 2, &len);
			write_full(fd, raw, len);
			free(raw);
			break;
		case SRV_CLOSE:
			ck_assert_int_eq(proto_frame_build(PROTO_PING_REPLY,
			                     NULL, &f, &len, NULL),
			    0);
			write_full(fd, f, len - 1); /* one byte short */
			free(f);
			break;
		case SRV_GARBAGE:
			write_full(fd, "HTTP/1.1 400 Bad\r\n\r\n", 20);
			break;
		}
		json_object_put(req);
	}
	close(fd);
	_exit(0);
}

static void
reap(pid_t pid)
{
	int st;

	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

START_TEST(client_call)
{
	char dir[] = "/tmp/ccs-proto-XXXXXX", path[128], *cause = NULL;
	json_object *req, *rep;
	uint16_t rtype;
	pid_t pid;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/s", dir);

	pid = serve_once(path, SRV_ECHO);
	req = json_tokener_parse("{\"hostlist\":\"n[1-3]\"}");
	ck_assert_int_eq(
	    proto_call(path, 5000, 0, PROTO_NODES, req, &rtype, &rep, &cause),
	    PROTO_OK);
	ck_assert_uint_eq(rtype, PROTO_NODES_REPLY);
	ck_assert(json_object_equal(req, rep));
	json_object_put(rep);
	reap(pid);
	unlink(path);

	pid = serve_once(path, SRV_ERROR);
	ck_assert_int_eq(
	    proto_call(path, 5000, 0, PROTO_RESUME, req, &rtype, &rep, &cause),
	    PROTO_OK);
	ck_assert_uint_eq(rtype, PROTO_ERROR);
	ck_assert_str_eq(proto_error_message(rep), "node x is unknown");
	json_object_put(rep);
	reap(pid);
	unlink(path);

	json_object_put(req);
	rmdir(dir);
}
END_TEST

/* ---- limits -------------------------------------------------------------- */

START_TEST(size_limits)
{
	unsigned char *f;
	struct proto_hdr h;
	char *cause = NULL;
	size_t len;

	/* A header that claims 4 GiB: refused before anything else. */
	f = raw_frame(PROTO_MAGIC, PROTO_VERSION, PROTO_NODES_REPLY,
	    0xffffffffU, NULL, 0, &len);
	ck_assert_int_eq(proto_header_parse(f, len, &h, &cause), PROTO_EFRAME);
	ck_assert_ptr_nonnull(strstr(cause, "exceeds the maximum"));
	free(cause);
	free(f);

	f = raw_frame(PROTO_MAGIC, PROTO_VERSION, PROTO_NODES_REPLY,
	    PROTO_MAX_PAYLOAD + 1, NULL, 0, &len);
	ck_assert_int_eq(proto_header_parse(f, len, &h, NULL), PROTO_EFRAME);
	free(f);
	f = raw_frame(PROTO_MAGIC, PROTO_VERSION, PROTO_NODES_REPLY,
	    PROTO_MAX_PAYLOAD, NULL, 0, &len);
	ck_assert_int_eq(proto_header_parse(f, len, &h, NULL), PROTO_OK);
	ck_assert_uint_eq(h.length, PROTO_MAX_PAYLOAD);
	free(f);
}
END_TEST

START_TEST(build_too_big)
{
	json_object *o = json_object_new_object();
	char *big = xmalloc(PROTO_MAX_PAYLOAD + 1), *cause = NULL;
	void *frame = NULL;
	size_t len;

	memset(big, 'a', PROTO_MAX_PAYLOAD);
	big[PROTO_MAX_PAYLOAD] = '\0';
	json_object_object_add(o, "x", json_object_new_string(big));
	free(big);
	ck_assert_int_eq(
	    proto_frame_build(PROTO_NODES_REPLY, o, &frame, &len, &cause), -1);
	ck_assert_ptr_null(frame);
	ck_assert_ptr_nonnull(strstr(cause, "exceeds the maximum"));
	free(cause);
	json_object_put(o);

	ck_assert_int_eq(
	    proto_frame_build(999, NULL, &frame, &len, &cause), -1);
	ck_assert_str_eq(cause, "frame: unknown message type 999");
	free(cause);
}
END_TEST

START_TEST(depth_limit)
{
	char buf[2 * (PROTO_MAX_DEPTH + 2) + 16], *cause = NULL;
	json_object *out;
	size_t n = 0;
	int i, depth;

	/* Nesting exactly at the limit passes, one deeper is refused. */
	for (depth = PROTO_MAX_DEPTH; depth <= PROTO_MAX_DEPTH + 1; depth++) {
		n = 0;
		buf[n++] = '{';
		memcpy(buf + n, "\"a\":", 4);
		n += 4;
		for (i = 2; i < depth; i++)
			buf[n++] = '[';
		buf[n++] = '1';
		for (i = 2; i < depth; i++)
			buf[n++] = ']';
		buf[n++] = '}';
		buf[n] = '\0';
		if (depth <= PROTO_MAX_DEPTH) {
			ck_assert_int_eq(
			    parse_body(buf, n, &out, &cause), PROTO_OK);
			json_object_put(out);
		} else {
			ck_assert_int_eq(
			    parse_body(buf, n, &out, &cause), PROTO_EFRAME);
			ck_assert_ptr_null(out);
			free(cause);
		}
	}
}
END_TEST

START_TEST(recv_timeout)
{
	json_object *out;
	uint16_t type;
	char *cause = NULL;
	uint64_t t0;
	int sv[2];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	t0 = now_mono_ms();
	ck_assert_int_eq(
	    proto_recv(sv[0], 100, &type, &out, &cause), PROTO_ETIMEOUT);
	ck_assert_uint_ge(now_mono_ms() - t0, 100);
	ck_assert_ptr_null(out);
	ck_assert_str_eq(cause, "receive: timed out");
	free(cause);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

START_TEST(connect_retry_window)
{
	char *cause = NULL;
	uint64_t t0, dt;

	/* No socket at all: retried for the window, then unreachable. */
	t0 = now_mono_ms();
	ck_assert_int_eq(
	    proto_connect("/nonexistent/ccs.sock", 1000, 300, &cause),
	    PROTO_EUNREACH);
	dt = now_mono_ms() - t0;
	ck_assert_uint_ge(dt, 300);
	ck_assert_uint_lt(dt, 2000);
	ck_assert_ptr_nonnull(strstr(cause, "No such file"));
	free(cause);

	/* retry 0: one attempt, at once. */
	t0 = now_mono_ms();
	ck_assert_int_eq(
	    proto_connect("/nonexistent/ccs.sock", 1000, 0, &cause),
	    PROTO_EUNREACH);
	ck_assert_uint_lt(now_mono_ms() - t0, 100);
	free(cause);
}
END_TEST

START_TEST(connect_late_daemon)
{
	char dir[] = "/tmp/ccs-proto-XXXXXX", path[128], *cause = NULL;
	json_object *rep;
	uint16_t rtype;
	int pfd[2];
	pid_t pid;
	char c;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/s", dir);
	ck_assert_int_eq(pipe(pfd), 0);
	/*
	 * The "daemon" starts listening only once the client has failed at
	 * least once (it tells us through the pipe after its first try).
	 */
	if ((pid = fork()) == 0) {
		close(pfd[1]);
		if (read(pfd[0], &c, 1) != 1)
			_exit(3);
		reap(serve_once(path, SRV_ECHO));
		_exit(0);
	}
	close(pfd[0]);
	ck_assert_int_eq(proto_connect(path, 1000, 0, &cause), PROTO_EUNREACH);
	free(cause);
	ck_assert_int_eq(write(pfd[1], "x", 1), 1);
	ck_assert_int_eq(proto_call(path, 5000, 5000, PROTO_PING, NULL, &rtype,
	                     &rep, &cause),
	    PROTO_OK);
	ck_assert_uint_eq(rtype, PROTO_PING_REPLY);
	json_object_put(rep);
	reap(pid);
	close(pfd[1]);
	unlink(path);
	rmdir(dir);
}
END_TEST

/* ---- errors -------------------------------------------------------------- */

START_TEST(header_errors)
{
	unsigned char *f;
	struct proto_hdr h;
	char *cause = NULL;
	size_t len, i;

	f = raw_frame(0x47455420U /* "GET " */, PROTO_VERSION, PROTO_PING, 2,
	    "{}", 2, &len);
	ck_assert_int_eq(proto_header_parse(f, len, &h, &cause), PROTO_EFRAME);
	ck_assert_str_eq(cause, "frame: bad magic 0x47455420 (not a ccslurmd "
	                        "peer)");
	free(cause);
	for (i = 0; i < PROTO_HDR_SIZE; i++) {
		ck_assert_int_eq(
		    proto_header_parse(f, i, &h, &cause), PROTO_EFRAME);
		ck_assert_ptr_nonnull(strstr(cause, "truncated header"));
		free(cause);
	}
	free(f);

	f = raw_frame(
	    PROTO_MAGIC, PROTO_VERSION + 1, 9999, 0xffffffffU, NULL, 0, &len);
	ck_assert_int_eq(
	    proto_header_parse(f, len, &h, &cause), PROTO_EVERSION);
	ck_assert_str_eq(cause, "frame: protocol version 2, this side "
	                        "speaks 1");
	ck_assert_uint_eq(h.version, PROTO_VERSION + 1);
	ck_assert_uint_eq(h.type, 9999);
	free(cause);
	free(f);
	f = raw_frame(PROTO_MAGIC, 0, PROTO_PING, 2, "{}", 2, &len);
	ck_assert_int_eq(proto_header_parse(f, len, &h, NULL), PROTO_EVERSION);
	free(f);

	f = raw_frame(PROTO_MAGIC, PROTO_VERSION, 103, 2, "{}", 2, &len);
	ck_assert_int_eq(proto_header_parse(f, len, &h, &cause), PROTO_EFRAME);
	ck_assert_str_eq(cause, "frame: unknown message type 103");
	free(cause);
	free(f);
}
END_TEST

START_TEST(payload_errors)
{
	static const struct {
		const char *body;
		size_t len;
		const char *want; /* in the cause */
	} bad[] = {
	    {"", 0, "empty"},
	    {"[]", 2, "a JSON array, not an object"},
	    {"1", 1, "a JSON int, not an object"},
	    {"\"s\"", 3, "a JSON string, not an object"},
	    {"null", 4, "a JSON null, not an object"},
	    {"{", 1, "truncated"},
	    {"{\"a\":[1,2", 8, "truncated"},
	    {"{\"a\":}", 6, "bad"},
	    {"}{", 2, "bad"},
	    {"{}{}", 4, "unexpected character at byte 2"},
	    {"{} x", 4, "unexpected character at byte 3"},
	    {"{\"a\":1}\0junk", 12, "NUL"},
	    {"{\"a\":\"\xff\"}", 9, "bad"},
	    {"{\"a\":\"\xc3\"}", 9, "bad"},
	    {"{\"a\":01}", 8, "bad"},
	    {"\xef\xbb\xbf{}", 5, "bad"},
	    {"GARBAGE", 7, "bad"},
	};
	json_object *out;
	char *cause;
	size_t i;

	for (i = 0; i < nitems(bad); i++) {
		cause = NULL;
		out = (json_object *)(uintptr_t)1;
		ck_assert_msg(parse_body(bad[i].body, bad[i].len, &out,
		                  &cause) == PROTO_EFRAME,
		    "accepted case %zu", i);
		ck_assert_ptr_null(out);
		ck_assert_ptr_nonnull(cause);
		ck_assert_msg(strstr(cause, bad[i].want) != NULL,
		    "case %zu: \"%s\" lacks \"%s\"", i, cause, bad[i].want);
		ck_assert_ptr_null(strchr(cause, '\n'));
		free(cause);
	}
	/* White space around the object is JSON, and harmless. */
	ck_assert_int_eq(parse_body(" {\"a\":1}\n", 9, &out, &cause), PROTO_OK);
	ck_assert_int_eq(
	    json_object_get_int(json_object_object_get(out, "a")), 1);
	json_object_put(out);
}
END_TEST

START_TEST(node_req_errors)
{
	static const struct {
		const char *json;
		const char *want;
	} bad[] = {
	    {"{\"hostlist\":\"n1\"}", "missing \"id\""},
	    {"{\"id\":1,\"hostlist\":\"n1\"}", "\"id\" is not a string"},
	    {"{\"id\":\"\",\"hostlist\":\"n1\"}", "\"id\" must be"},
	    {"{\"id\":\"a b\",\"hostlist\":\"n1\"}", "\"id\" must be"},
	    {"{\"id\":\"../x\",\"hostlist\":\"n1\"}", "\"id\" must be"},
	    {"{\"id\":\"a\"}", "missing \"hostlist\""},
	    {"{\"id\":\"a\",\"hostlist\":\"\"}", "empty"},
	    {"{\"id\":\"a\",\"hostlist\":\"n1\\nn2\"}", "line break"},
	    {"{\"id\":\"a\",\"hostlist\":\"n1\\u0000x\"}", "NUL"},
	    {"{\"id\":\"a\",\"hostlist\":[\"n1\"]}", "not a string"},
	    {"{\"id\":\"a\",\"hostlist\":\"n1\",\"pid\":\"1\"}",
	        "not an integer"},
	    {"{\"id\":\"a\",\"hostlist\":\"n1\",\"pid\":-1}", "out of range"},
	    {"{\"id\":\"a\",\"hostlist\":\"n1\",\"pid\":1e3}",
	        "not an integer"},
	    {"{\"id\":\"a\",\"hostlist\":\"n1\",\"wait\":1}", "not a boolean"},
	    {"{\"id\":\"a\",\"hostlist\":\"n1\",\"program\":7}",
	        "not a string"},
	    {"{\"id\":\"a\",\"hostlist\":\"n1\",\"resume_file\":\"/p\"}",
	        "not an object"},
	};
	struct proto_node_req r;
	struct proto_reply rep;
	json_object *o;
	char *cause, longid[PROTO_ID_MAX + 32];
	size_t i;

	for (i = 0; i < nitems(bad); i++) {
		cause = NULL;
		o = json_tokener_parse(bad[i].json);
		ck_assert_ptr_nonnull(o);
		ck_assert_int_eq(proto_node_req_from_json(o, &r, &cause), -1);
		ck_assert_ptr_null(r.id);
		ck_assert_ptr_null(r.hostlist);
		ck_assert_msg(strstr(cause, bad[i].want) != NULL,
		    "case %zu: \"%s\" lacks \"%s\"", i, cause, bad[i].want);
		free(cause);
		json_object_put(o);
	}
	memset(longid, 'a', PROTO_ID_MAX + 1);
	longid[PROTO_ID_MAX + 1] = '\0';
	o = json_object_new_object();
	json_object_object_add(o, "id", json_object_new_string(longid));
	json_object_object_add(o, "hostlist", json_object_new_string("n1"));
	ck_assert_int_eq(proto_node_req_from_json(o, &r, &cause), -1);
	free(cause);
	longid[PROTO_ID_MAX] = '\0';
	json_object_object_add(o, "id", json_object_new_string(longid));
	ck_assert_int_eq(proto_node_req_from_json(o, &r, NULL), 0);
	proto_node_req_free(&r);
	json_object_put(o);

	o = json_object_new_array();
	ck_assert_int_eq(proto_node_req_from_json(o, &r, &cause), -1);
	free(cause);
	ck_assert_int_eq(proto_reply_from_json(o, &rep, &cause), -1);
	free(cause);
	json_object_put(o);
	o = json_tokener_parse("{\"accepted\":1}");
	ck_assert_int_eq(proto_reply_from_json(o, &rep, &cause), -1);
	ck_assert_str_eq(cause, "payload: missing \"nodes\"");
	ck_assert_ptr_null(rep.message);
	free(cause);
	json_object_put(o);
}
END_TEST

START_TEST(client_errors)
{
	char dir[] = "/tmp/ccs-proto-XXXXXX", path[128], *cause = NULL;
	json_object *rep;
	uint16_t rtype;
	pid_t pid;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/s", dir);

	pid = serve_once(path, SRV_VERSION);
	ck_assert_int_eq(
	    proto_call(path, 5000, 0, PROTO_PING, NULL, &rtype, &rep, &cause),
	    PROTO_EVERSION);
	ck_assert_ptr_null(rep);
	ck_assert_uint_eq(rtype, PROTO_ERROR);
	ck_assert_ptr_nonnull(strstr(cause, "protocol version 2"));
	free(cause);
	reap(pid);
	unlink(path);

	pid = serve_once(path, SRV_CLOSE);
	ck_assert_int_eq(
	    proto_call(path, 5000, 0, PROTO_PING, NULL, &rtype, &rep, &cause),
	    PROTO_EIO);
	ck_assert_ptr_null(rep);
	ck_assert_ptr_nonnull(strstr(cause, "connection closed after 1 of 2"));
	free(cause);
	reap(pid);
	unlink(path);

	pid = serve_once(path, SRV_GARBAGE);
	ck_assert_int_eq(
	    proto_call(path, 5000, 0, PROTO_PING, NULL, &rtype, &rep, &cause),
	    PROTO_EFRAME);
	ck_assert_ptr_nonnull(strstr(cause, "bad magic"));
	free(cause);
	reap(pid);
	unlink(path);

	/* A permanent error (a path too long) is not retried. */
	{
		char lp[200];
		uint64_t t0 = now_mono_ms();

		memset(lp, 'x', sizeof(lp) - 1);
		lp[0] = '/';
		lp[sizeof(lp) - 1] = '\0';
		ck_assert_int_eq(proto_call(lp, 5000, 5000, PROTO_PING, NULL,
		                     &rtype, &rep, &cause),
		    PROTO_EUNREACH);
		ck_assert_uint_lt(now_mono_ms() - t0, 1000);
		ck_assert_ptr_nonnull(strstr(cause, "socket path too long"));
		free(cause);
	}
	rmdir(dir);
}
END_TEST

static Suite *
proto_suite(void)
{
	Suite *s = suite_create("proto");
	TCase *tc;

	tc = tcase_create("core");
	tcase_add_test(tc, every_type_round_trips);
	tcase_add_test(tc, wire_layout);
	tcase_add_test(tc, pairs);
	tcase_add_test(tc, node_req_round_trip);
	tcase_add_test(tc, reply_and_error);
	tcase_add_test(tc, client_call);
	suite_add_tcase(s, tc);

	tc = tcase_create("limits");
	tcase_add_test(tc, size_limits);
	tcase_add_test(tc, build_too_big);
	tcase_add_test(tc, depth_limit);
	tcase_add_test(tc, recv_timeout);
	tcase_add_test(tc, connect_retry_window);
	tcase_add_test(tc, connect_late_daemon);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_add_test(tc, header_errors);
	tcase_add_test(tc, payload_errors);
	tcase_add_test(tc, node_req_errors);
	tcase_add_test(tc, client_errors);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	signal(SIGPIPE, SIG_IGN);
	return run_suite(proto_suite());
}
