/*
 * proto.h: the wire protocol between the shims / ccslurmctl and ccslurmd.
 *
 * This one header is the protocol.  Every message is a frame:
 *
 *	+-------------+-------------+-------------+-----------------+
 *	| magic (u32) | version(u16)| type (u16)  | length (u32)    |  12 bytes,
 *	+-------------+-------------+-------------+-----------------+  network
 *	| payload: `length` bytes of UTF-8 JSON, one object, no NUL |  byte order
 *	+-----------------------------------------------------------+
 *
 * One request, then one reply of the paired type (or PROTO_ERROR), on one
 * connection.  A request with "wait": true may be answered by any number of
 * PROTO_PROGRESS frames before its paired reply.  The length is checked
 * against PROTO_MAX_PAYLOAD before anything is allocated.
 *
 * A peer of another version is recognised (PROTO_EVERSION) apart from a
 * broken one (PROTO_EFRAME): during a package upgrade a shim spools what the
 * daemon cannot read instead of failing it (decisions.md).  The daemon
 * answers a frame of another version with a PROTO_ERROR of its own version
 * and closes the connection.
 *
 * Adding an optional key to a payload needs no new version: readers ignore
 * keys they do not know.  Anything else does:
 *
 *	*** bump PROTO_VERSION if any of the numbers, the header layout or the
 *	*** meaning of an existing key change.  Retired types stay listed as
 *	*** unused; their numbers are never reused.
 */
#ifndef CCSLURM_PROTO_H
#define CCSLURM_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#define PROTO_MAGIC	0x43435344U	/* "CCSD" */
#define PROTO_VERSION	1

/* The header as it travels (all fields big-endian). */
struct proto_wire_hdr {
	uint32_t	magic;
	uint16_t	version;
	uint16_t	type;
	uint32_t	length;		/* payload bytes after the header */
} __attribute__((packed));
#define PROTO_HDR_SIZE	12
_Static_assert(sizeof(struct proto_wire_hdr) == PROTO_HDR_SIZE,
    "wire header must be 12 bytes");

/* A frame (header and payload) is at most this big: a node list is large. */
#define PROTO_MAX_FRAME		(16U * 1024 * 1024)	/* bytes */
#define PROTO_MAX_PAYLOAD	(PROTO_MAX_FRAME - PROTO_HDR_SIZE)
/* JSON nesting a payload may have (json-c's default is 32). */
#define PROTO_MAX_DEPTH		64

/*
 * Message types.  Requests sit in numbered ranges by what they do; each
 * request's reply is the request's number plus PROTO_REPLY_BASE.
 */
#define PROTO_REPLY_BASE	1000
enum proto_type {
	/* 100s: node state changes (payload: struct proto_node_req). */
	PROTO_RESUME = 100,
	PROTO_SUSPEND = 101,
	PROTO_RESUMEFAIL = 102,

	/* 200s: questions; they change nothing. */
	PROTO_STATUS = 200,
	PROTO_NODES = 201,	/* {"hostlist": "..."} optional filter */
	PROTO_METRICS = 202,
	PROTO_PING = 203,
	PROTO_CLUSTER = 204,	/* the CycleCloud cluster, for `generate` */

	/* 300s: administration. */
	PROTO_RELOAD = 300,
	PROTO_CREATE_NODES = 301,
	PROTO_NODE_ACTION = 302,

	/* 1100s..1300s: the paired replies. */
	PROTO_RESUME_REPLY = PROTO_RESUME + PROTO_REPLY_BASE,
	PROTO_SUSPEND_REPLY = PROTO_SUSPEND + PROTO_REPLY_BASE,
	PROTO_RESUMEFAIL_REPLY = PROTO_RESUMEFAIL + PROTO_REPLY_BASE,
	PROTO_STATUS_REPLY = PROTO_STATUS + PROTO_REPLY_BASE,
	PROTO_NODES_REPLY = PROTO_NODES + PROTO_REPLY_BASE,
	PROTO_METRICS_REPLY = PROTO_METRICS + PROTO_REPLY_BASE,
	PROTO_PING_REPLY = PROTO_PING + PROTO_REPLY_BASE,
	PROTO_CLUSTER_REPLY = PROTO_CLUSTER + PROTO_REPLY_BASE,
	PROTO_RELOAD_REPLY = PROTO_RELOAD + PROTO_REPLY_BASE,
	PROTO_CREATE_NODES_REPLY = PROTO_CREATE_NODES + PROTO_REPLY_BASE,
	PROTO_NODE_ACTION_REPLY = PROTO_NODE_ACTION + PROTO_REPLY_BASE,

	/* 2000s: answers to any request. */
	PROTO_ERROR = 2000,	/* {"error": "one-line reason"}: refused */
	PROTO_PROGRESS = 2001,	/* interim news on a "wait": true request */
};

/* Results of the functions below; 0 is success. */
enum proto_result {
	PROTO_OK = 0,
	PROTO_EFRAME = -1,	/* garbage: bad magic, type, size or JSON */
	PROTO_EVERSION = -2,	/* a well-formed frame of another version */
	PROTO_EUNREACH = -3,	/* no daemon: socket absent or refusing */
	PROTO_ETIMEOUT = -4,	/* the peer did not answer in time */
	PROTO_EIO = -5,		/* read/write error or early close */
};

/* A parsed header, in host byte order. */
struct proto_hdr {
	uint32_t	magic;
	uint16_t	version;
	uint16_t	type;
	uint32_t	length;
};

/* Type names ("RESUME", "NODES_REPLY", ...), or NULL for an unknown type. */
const char	*proto_type_name(uint16_t type);
bool		 proto_type_valid(uint16_t type);
bool		 proto_is_request(uint16_t type);
/* The paired reply of a request type; 0 if type is not a request. */
uint16_t	 proto_reply_type(uint16_t request);
/* "resume", "suspend", "resumefail" for the node requests, else NULL. */
const char	*proto_node_action_name(uint16_t type);
/* The inverse: 0 if name is none of them. */
uint16_t	 proto_node_action_type(const char *name);

/* ---- Byte buffers (for the daemon's bufferevents and for tests) -------- */

/*
 * Build a frame of type with payload (NULL sends "{}").  *frame is
 * allocated, the caller frees it; *len is its size.  Returns 0, or -1 with
 * *cause set when the encoded payload would exceed PROTO_MAX_PAYLOAD or the
 * type is unknown.  payload is not consumed.
 */
int	 proto_frame_build(uint16_t type, json_object *payload, void **frame,
	    size_t *len, char **cause);

/*
 * Parse the first PROTO_HDR_SIZE bytes of buf into hdr.  Returns PROTO_OK;
 * PROTO_EVERSION (hdr filled in; the payload cannot be read) for another
 * protocol version; PROTO_EFRAME for fewer than PROTO_HDR_SIZE bytes, a bad
 * magic, an unknown type or a length above PROTO_MAX_PAYLOAD.  On error
 * *cause (allocated, caller frees; may be NULL) says which, in one line.
 */
int	 proto_header_parse(const void *buf, size_t len, struct proto_hdr *hdr,
	    char **cause);

/*
 * Parse hdr->length bytes at payload into a JSON object.  Refused
 * (PROTO_EFRAME, *cause as above): an embedded NUL, invalid UTF-8, anything
 * that is not exactly one JSON object (white space around it is fine;
 * any other byte after it is not), nesting
 * deeper than PROTO_MAX_DEPTH.  On success *out is a new reference the
 * caller releases with json_object_put().
 */
int	 proto_payload_parse(const struct proto_hdr *hdr, const void *payload,
	    json_object **out, char **cause);

/* ---- Pre-serialised payloads (large replies) ---------------------------- */

/*
 * A reply too large to build as a json-c tree cheaply (`nodes --json` at
 * 50,000 nodes: 8 MB) is written as text into a proto_jbuf and sent as is.
 * The writer escapes strings exactly as json-c does with
 * JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, so the text is
 * byte for byte what proto_frame_build() would have sent for the same
 * tree, except that bytes that are not UTF-8 become \ufffd (json-c copies
 * them, and the reader's UTF-8 check would then refuse the whole frame).
 * Appending never fails (xmalloc.h); the caller writes the punctuation.
 */
struct proto_jbuf {
	char		*s;		/* the text, NUL-terminated; owned */
	size_t		 len;		/* bytes of text */
	size_t		 cap;		/* bytes allocated at s */
};
/* Start empty with room for hint bytes (0: a small default). */
void	 proto_jbuf_init(struct proto_jbuf *, size_t hint);
/* Free the text and zero the buffer; a zeroed buffer is fine. */
void	 proto_jbuf_free(struct proto_jbuf *);
/* Append n raw bytes / a raw C string (punctuation, keys known safe). */
void	 proto_jbuf_add(struct proto_jbuf *, const char *s, size_t n);
void	 proto_jbuf_puts(struct proto_jbuf *, const char *s);
/* Append s as a quoted, escaped JSON string; NULL appends null. */
void	 proto_jbuf_string(struct proto_jbuf *, const char *s);
/* Append a JSON integer. */
void	 proto_jbuf_int(struct proto_jbuf *, int64_t v);

/*
 * Check, without building anything, that the len bytes at s are exactly one
 * JSON object: RFC 8259 to the letter, white space around it only, nesting
 * at most PROTO_MAX_DEPTH, no NUL, strings of valid UTF-8 (RFC 3629).  It
 * refuses all proto_payload_parse() refuses and more: json-c, even strict,
 * lets by 'quotes', NaN, "1.", raw control characters in strings, overlong
 * UTF-8 and encoded surrogates.
 * Returns 0, or -1 with *cause (allocated, caller frees; may be NULL) in one
 * line naming the byte offset.
 */
int	 proto_json_check(const char *s, size_t len, char **cause);

/*
 * Write the 12-byte header of a frame of type carrying len payload bytes
 * into hdr.  Returns 0, or -1 with *cause for an unknown type or a length
 * above PROTO_MAX_PAYLOAD.
 */
int	 proto_header_build(uint16_t type, size_t len,
	    unsigned char hdr[PROTO_HDR_SIZE], char **cause);
/*
 * As proto_frame_build() with a payload already serialised: json (len
 * bytes, not consumed) must be one JSON object; only its first byte is
 * checked here (the writer is trusted, the reader checks).  *frame is
 * allocated, the caller frees it.
 */
int	 proto_frame_build_raw(uint16_t type, const char *json, size_t len,
	    void **frame, size_t *flen, char **cause);

/* ---- Typed payloads ----------------------------------------------------- */

/*
 * RESUME / SUSPEND / RESUMEFAIL:
 *   {"id": "<uuid made by the client>", "hostlist": "...",
 *    "resume_file": {...SLURM_RESUME_FILE's content...} (optional),
 *    "program": "ccslurm-resume", "pid": N, "wait": false}
 * The spool adds "type", "time" and "uid" (spool.h).
 */
#define PROTO_ID_MAX		64	/* characters in a request id */
struct proto_node_req {
	char		*id;		/* [A-Za-z0-9-], 1..PROTO_ID_MAX */
	char		*hostlist;	/* not empty; validated by the daemon */
	json_object	*resume_file;	/* an object, or NULL: a reference */
	char		*program;	/* who asked, for the log; may be NULL */
	int64_t		 pid;		/* its pid, 0 if unknown */
	bool		 wait;		/* follow progress (ccslurmctl --wait) */
};

/* Returns a new object (caller puts it).  req's fields are copied. */
json_object	*proto_node_req_to_json(const struct proto_node_req *req);
/*
 * Fill req (allocated members; free with proto_node_req_free()) from obj.
 * Returns 0, or -1 with *cause for a missing or mistyped key; req is then
 * left empty.
 */
int	 proto_node_req_from_json(json_object *obj,
	    struct proto_node_req *req, char **cause);
/* Free req's members and zero it.  NULL is fine. */
void	 proto_node_req_free(struct proto_node_req *req);

/*
 * The reply to a node request:
 *   {"accepted": N, "nodes": N, "message": "..."}
 * accepted: nodes newly taken on; nodes: how many the hostlist named.
 */
struct proto_reply {
	int64_t		 accepted;
	int64_t		 nodes;
	char		*message;	/* may be NULL */
};
json_object	*proto_reply_to_json(const struct proto_reply *reply);
int	 proto_reply_from_json(json_object *obj, struct proto_reply *reply,
	    char **cause);
void	 proto_reply_free(struct proto_reply *reply);

/*
 * PROTO_ERROR: {"error": "one-line reason"}.  proto_error_json() returns a
 * new object (caller puts it); the text is cut at its first newline.
 * proto_error_message() returns the reason, borrowed from obj (valid while
 * obj is), or a fixed text when obj has none.
 */
json_object	*proto_error_json(const char *fmt, ...)
		    __attribute__((format(printf, 1, 2)));
const char	*proto_error_message(json_object *obj);

/* ---- Blocking client (shims and ccslurmctl) ----------------------------- */

/*
 * Connect to the Unix socket at path.  A daemon that is restarting (socket
 * absent, connection refused, backlog full) is retried with a growing pause
 * (50 ms doubling to 1 s) until retry_ms have passed; 0 tries once.  A
 * permanent error (permission denied, path too long) is not retried.  Each
 * attempt waits at most timeout_ms.  Returns the connected fd (close-on-exec,
 * non-blocking), or PROTO_EUNREACH / PROTO_ETIMEOUT with *cause.
 */
int	 proto_connect(const char *path, int timeout_ms, int retry_ms,
	    char **cause);

/* Send one frame within timeout_ms.  Returns 0 or a proto_result. */
int	 proto_send(int fd, uint16_t type, json_object *payload,
	    int timeout_ms, char **cause);

/*
 * Read one frame within timeout_ms.  On PROTO_OK, *type and *payload (a new
 * reference; caller puts it) are set.  PROTO_EVERSION: the peer speaks
 * another version (*type is set, *payload NULL).  PROTO_EFRAME, PROTO_EIO
 * (closed early), PROTO_ETIMEOUT: *cause says why.
 */
int	 proto_recv(int fd, int timeout_ms, uint16_t *type,
	    json_object **payload, char **cause);

/*
 * One round trip: connect (with retry_ms as proto_connect()), send the
 * request, read the reply, close.  Return and out-parameters as
 * proto_recv(); a PROTO_ERROR reply is PROTO_OK with *type == PROTO_ERROR.
 */
int	 proto_call(const char *path, int timeout_ms, int retry_ms,
	    uint16_t type, json_object *request, uint16_t *rtype,
	    json_object **reply, char **cause);

/*
 * As proto_recv() / proto_call(), but the payload is handed back as the
 * text received, not parsed: *payload (allocated, NUL-terminated, caller
 * frees) and *len.  The frame is checked as proto_recv() does; the payload
 * is refused (PROTO_EFRAME) only when empty or holding a NUL byte: call
 * proto_json_check() (cheap) or proto_payload_parse() on it.  A caller
 * that prints a large answer verbatim (`ccslurmctl nodes --json`) saves
 * building and serialising a tree.
 */
int	 proto_recv_raw(int fd, int timeout_ms, uint16_t *type,
	    char **payload, size_t *len, char **cause);
int	 proto_call_raw(const char *path, int timeout_ms, int retry_ms,
	    uint16_t type, json_object *request, uint16_t *rtype,
	    char **reply, size_t *len, char **cause);

#endif
