/* proto.c: frames, typed payloads and the blocking client; see proto.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "proto.h"
#include "util.h"
#include "xmalloc.h"

static const struct {
	uint16_t type;
	const char *name;
} proto_types[] = {
    {PROTO_RESUME, "RESUME"},
    {PROTO_SUSPEND, "SUSPEND"},
    {PROTO_RESUMEFAIL, "RESUMEFAIL"},
    {PROTO_STATUS, "STATUS"},
    {PROTO_NODES, "NODES"},
    {PROTO_METRICS, "METRICS"},
    {PROTO_PING, "PING"},
    {PROTO_CLUSTER, "CLUSTER"},
    {PROTO_RELOAD, "RELOAD"},
    {PROTO_CREATE_NODES, "CREATE_NODES"},
    {PROTO_NODE_ACTION, "NODE_ACTION"},
    {PROTO_RESUME_REPLY, "RESUME_REPLY"},
    {PROTO_SUSPEND_REPLY, "SUSPEND_REPLY"},
    {PROTO_RESUMEFAIL_REPLY, "RESUMEFAIL_REPLY"},
    {PROTO_STATUS_REPLY, "STATUS_REPLY"},
    {PROTO_NODES_REPLY, "NODES_REPLY"},
    {PROTO_METRICS_REPLY, "METRICS_REPLY"},
    {PROTO_PING_REPLY, "PING_REPLY"},
    {PROTO_CLUSTER_REPLY, "CLUSTER_REPLY"},
    {PROTO_RELOAD_REPLY, "RELOAD_REPLY"},
    {PROTO_CREATE_NODES_REPLY, "CREATE_NODES_REPLY"},
    {PROTO_NODE_ACTION_REPLY, "NODE_ACTION_REPLY"},
    {PROTO_ERROR, "ERROR"},
    {PROTO_PROGRESS, "PROGRESS"},
};

const char *
proto_type_name(uint16_t type)
{
	size_t i;

	for (i = 0; i < nitems(proto_types); i++) {
		if (proto_types[i].type == type)
			return proto_types[i].name;
	}
	return NULL;
}

bool
proto_type_valid(uint16_t type)
{
	return proto_type_name(type) != NULL;
}

bool
proto_is_request(uint16_t type)
{
	return type < PROTO_REPLY_BASE && proto_type_valid(type);
}

uint16_t
proto_reply_type(uint16_t request)
{
	if (!proto_is_request(request))
		return 0;
	return (uint16_t)(request + PROTO_REPLY_BASE);
}

const char *
proto_node_action_name(uint16_t type)
{
	switch (type) {
	case PROTO_RESUME:
		return "resume";
	case PROTO_SUSPEND:
		return "suspend";
	case PROTO_RESUMEFAIL:
		return "resumefail";
	}
	return NULL;
}

uint16_t
proto_node_action_type(const char *name)
{
	static const uint16_t t[] = {
	    PROTO_RESUME, PROTO_SUSPEND, PROTO_RESUMEFAIL};
	size_t i;

	if (name == NULL)
		return 0;
	for (i = 0; i < nitems(t); i++) {
		if (strcmp(name, proto_node_action_name(t[i])) == 0)
			return t[i];
	}
	return 0;
}

/* ---- Frames -------------------------------------------------------------- */

int
proto_frame_build(uint16_t type, json_object *payload, void **framep,
    size_t *lenp, char **cause)
{
	struct proto_wire_hdr wh;
	const char *js;
	size_t jlen;
	char *frame;

	if (!proto_type_valid(type)) {
		cause_printf(
		    cause, "frame: unknown message type %u", (unsigned)type);
		return -1;
	}
	if (payload == NULL) {
		js = "{}";
		jlen = 2;
	} else {
		if (!json_object_is_type(payload, json_type_object)) {
			cause_printf(cause, "frame: payload is not an object");
			return -1;
		}
		js = json_object_to_json_string_length(payload,
		    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE,
		    &jlen);
	}
	if (jlen > PROTO_MAX_PAYLOAD) {
		cause_printf(cause,
		    "frame: %s payload of %zu bytes exceeds the "
		    "maximum of %u",
		    proto_type_name(type), jlen, (unsigned)PROTO_MAX_PAYLOAD);
		return -1;
	}
	wh.magic = htonl(PROTO_MAGIC);
	wh.version = htons(PROTO_VERSION);
	wh.type = htons(type);
	wh.length = htonl((uint32_t)jlen);
	frame = xmalloc(PROTO_HDR_SIZE + jlen);
	memcpy(frame, &wh, PROTO_HDR_SIZE);
	memcpy(frame + PROTO_HDR_SIZE, js, jlen);
	*framep = frame;
	*lenp = PROTO_HDR_SIZE + jlen;
	return 0;
}

int
proto_header_parse(
    const void *buf, size_t len, struct proto_hdr *hdr, char **cause)
{
	struct proto_wire_hdr wh;

	if (len < PROTO_HDR_SIZE) {
		cause_printf(cause, "frame: truncated header (%zu of %d bytes)",
		    len, PROTO_HDR_SIZE);
		return PROTO_EFRAME;
	}
	memcpy(&wh, buf, PROTO_HDR_SIZE);
	hdr->magic = ntohl(wh.magic);
	hdr->version = ntohs(wh.version);
	hdr->type = ntohs(wh.type);
	hdr->length = ntohl(wh.length);

	if (hdr->magic != PROTO_MAGIC) {
		cause_printf(cause,
		    "frame: bad magic 0x%08x (not a ccslurmd "
		    "peer)",
		    (unsigned)hdr->magic);
		return PROTO_EFRAME;
	}
	/* Before type and length: another version may have other ones. */
	if (hdr->version != PROTO_VERSION) {
		cause_printf(cause,
		    "frame: protocol version %u, this side speaks "
		    "%d",
		    (unsigned)hdr->version, PROTO_VERSION);
		return PROTO_EVERSION;
	}
	if (hdr->length > PROTO_MAX_PAYLOAD) {
		cause_printf(cause,
		    "frame: payload of %u bytes exceeds the "
		    "maximum of %u",
		    (unsigned)hdr->length, (unsigned)PROTO_MAX_PAYLOAD);
		return PROTO_EFRAME;
	}
	if (!proto_type_valid(hdr->type)) {
		cause_printf(cause, "frame: unknown message type %u",
		    (unsigned)hdr->type);
		return PROTO_EFRAME;
	}
	return PROTO_OK;
}

int
proto_payload_parse(const struct proto_hdr *hdr, const void *payload,
    json_object **out, char **cause)
{
	struct json_tokener *tok;
	enum json_tokener_error jerr;
	json_object *obj;
	size_t used;

	*out = NULL;
	if (hdr->length == 0) {
		cause_printf(cause, "frame: empty %s payload",
		    proto_type_name(hdr->type));
		return PROTO_EFRAME;
	}
	/* json-c would stop at a NUL and call the rest trailing bytes. */
	if (memchr(payload, '\0', hdr->length) != NULL) {
		cause_printf(cause, "frame: %s payload contains a NUL byte",
		    proto_type_name(hdr->type));
		return PROTO_EFRAME;
	}
	if ((tok = json_tokener_new_ex(PROTO_MAX_DEPTH)) == NULL)
		abort();
	json_tokener_set_flags(
	    tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	obj = json_tokener_parse_ex(tok, payload, (int)hdr->length);
	jerr = json_tokener_get_error(tok);
	used = json_tokener_get_parse_end(tok);
	if (jerr == json_tokener_continue) {
		/*
		 * The input is complete: tell the tokener so (a NUL), so that
		 * a bare number ends instead of waiting for more digits.  An
		 * object cannot end this way: it still reads as truncated.
		 */
		obj = json_tokener_parse_ex(tok, "", 1);
		if ((jerr = json_tokener_get_error(tok)) ==
		    json_tokener_success)
			used = hdr->length;
		else
			jerr = json_tokener_continue;
	}
	json_tokener_free(tok);
	if (jerr == json_tokener_continue) {
		json_object_put(obj);
		cause_printf(cause,
		    "frame: truncated %s payload (JSON ends "
		    "early)",
		    proto_type_name(hdr->type));
		return PROTO_EFRAME;
	}
	if (jerr == json_tokener_success && obj == NULL) {
		cause_printf(cause,
		    "frame: %s payload is a JSON null, not an "
		    "object",
		    proto_type_name(hdr->type));
		return PROTO_EFRAME;
	}
	if (jerr != json_tokener_success) {
		json_object_put(obj);
		cause_printf(cause, "frame: bad %s payload: %s at byte %zu",
		    proto_type_name(hdr->type), json_tokener_error_desc(jerr),
		    used);
		return PROTO_EFRAME;
	}
	if (used != hdr->length) {
		json_object_put(obj);
		cause_printf(cause,
		    "frame: %s payload has %zu bytes after the "
		    "JSON",
		    proto_type_name(hdr->type), (size_t)hdr->length - used);
		return PROTO_EFRAME;
	}
	if (!json_object_is_type(obj, json_type_object)) {
		cause_printf(cause,
		    "frame: %s payload is a JSON %s, not an "
		    "object",
		    proto_type_name(hdr->type),
		    json_type_to_name(json_object_get_type(obj)));
		json_object_put(obj);
		return PROTO_EFRAME;
	}
	*out = obj;
	return PROTO_OK;
}

/* ---- Pre-serialised payloads --------------------------------------------- */

/*
 * The length of the well-formed UTF-8 sequence (RFC 3629: no overlong
 * forms, no surrogates, nothing above U+10FFFF) at p, n > 0 bytes
 * available; 0 if there is none.
 */
static size_t
utf8_seq(const unsigned char *p, size_t n)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t need, i;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		need = 2;
	else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		need = 3;
		if (p[0] == 0xe0)
			lo = 0xa0; /* overlong */
		else if (p[0] == 0xed)
			hi = 0x9f; /* surrogates */
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		need = 4;
		if (p[0] == 0xf0)
			lo = 0x90; /* overlong */
		else if (p[0] == 0xf4)
			hi = 0x8f; /* above U+10FFFF */
	} else
		return 0;
	if (n < need || p[1] < lo || p[1] > hi)
		return 0;
	for (i = 2; i < need; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	}
	return need;
}

static void
jbuf_grow(struct proto_jbuf *b, size_t more)
{
	size_t want = b->len + more + 1; /* and the NUL */

	if (want <= b->cap)
		return;
	if (want < b->len)
		abort(); /* size_t wrapped: a caller's bug */
	while (b->cap < want)
		b->cap = b->cap < 256 ? 256 : b->cap * 2;
	b->s = xreallocarray(b->s, 1, b->cap);
}

void
proto_jbuf_init(struct proto_jbuf *b, size_t hint)
{
	memset(b, 0, sizeof(*b));
	jbuf_grow(b, hint);
	b->s[0] = '\0';
}

void
proto_jbuf_free(struct proto_jbuf *b)
{
	if (b == NULL)
		return;
	free(b->s);
	memset(b, 0, sizeof(*b));
}

void
proto_jbuf_add(struct proto_jbuf *b, const char *s, size_t n)
{
	jbuf_grow(b, n);
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

void
proto_jbuf_puts(struct proto_jbuf *b, const char *s)
{
	proto_jbuf_add(b, s, strlen(s));
}

void
proto_jbuf_int(struct proto_jbuf *b, int64_t v)
{
	char tmp[24], *p = tmp + sizeof(tmp);
	/* Through unsigned: -INT64_MIN does not fit in an int64_t. */
	uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;

	do {
		*--p = (char)('0' + u % 10);
		u /= 10;
	} while (u != 0);
	if (v < 0)
		*--p = '-';
	proto_jbuf_add(b, p, (size_t)(tmp + sizeof(tmp) - p));
}

/* Bytes json-c writes as they are: printable ASCII but " and \, and DEL. */
static inline bool
json_plain(unsigned char c)
{
	return c >= 0x20 && c < 0x80 && c != '"' && c != '\\';
}

void
proto_jbuf_string(struct proto_jbuf *b, const char *str)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = (const unsigned char *)str, *run;
	char esc[7];
	size_t n, k;

	if (str == NULL) {
		proto_jbuf_add(b, "null", 4);
		return;
	}
	n = strlen(str);
	/* The worst case (\u00XX for every byte), so appends below fit. */
	jbuf_grow(b, n * 6 + 2);
	b->s[b->len++] = '"';
	while (n > 0) {
		for (run = s; n > 0 && json_plain(*s); s++, n--)
			;
		memcpy(b->s + b->len, run, (size_t)(s - run));
		b->len += (size_t)(s - run);
		if (n == 0)
			break;
		if (*s >= 0x80) {
			if ((k = utf8_seq(s, n)) == 0) {
				/* Not UTF-8: the reader refuses the frame. */
				memcpy(b->s + b->len, "\\ufffd", 6);
				b->len += 6;
				k = 1;
			} else {
				memcpy(b->s + b->len, s, k);
				b->len += k;
			}
			s += k;
			n -= k;
			continue;
		}
		/* json-c's escapes: the short forms, else \u00xx. */
		esc[0] = '\\';
		k = 2;
		switch (*s) {
		case '"':
		case '\\':
			esc[1] = (char)*s;
			break;
		case '\b':
			esc[1] = 'b';
			break;
		case '\f':
			esc[1] = 'f';
			break;
		case '\n':
			esc[1] = 'n';
			break;
		case '\r':
			esc[1] = 'r';
			break;
		case '\t':
			esc[1] = 't';
			break;
		default:
			memcpy(esc + 1, "u00", 3);
			esc[4] = hex[*s >> 4];
			esc[5] = hex[*s & 0xf];
			k = 6;
			break;
		}
		memcpy(b->s + b->len, esc, k);
		b->len += k;
		s++;
		n--;
	}
	b->s[b->len++] = '"';
	b->s[b->len] = '\0';
}

/* ---- A JSON checker that builds nothing ---------------------------------- */

static size_t
skip_ws(const unsigned char *s, size_t len, size_t i)
{
	while (i < len &&
	       (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r'))
		i++;
	return i;
}

static bool
is_hex(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
	       (c >= 'A' && c <= 'F');
}

static bool
is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

/* The string whose opening quote is at s[*i]; *i ends after its closing
 * quote.  NULL, or what is wrong with it. */
static const char *
check_string(const unsigned char *s, size_t len, size_t *i)
{
	size_t p = *i + 1, k;

	for (;;) {
		while (p < len && json_plain(s[p]))
			p++;
		if (p >= len) {
			*i = p;
			return "unterminated string";
		}
		if (s[p] == '"')
			break;
		if (s[p] == '\\') {
			if (p + 1 >= len) {
				*i = p;
				return "unterminated string";
			}
			if (s[p + 1] == 'u') {
				if (p + 5 >= len || !is_hex(s[p + 2]) ||
				    !is_hex(s[p + 3]) || !is_hex(s[p + 4]) ||
				    !is_hex(s[p + 5])) {
					*i = p;
					return "bad \\u escape";
				}
				p += 6;
				continue;
			}
			if (strchr("\"\\/bfnrt", s[p + 1]) == NULL ||
			    s[p + 1] == '\0') {
				*i = p;
				return "bad escape";
			}
			p += 2;
			continue;
		}
		if (s[p] < 0x20) {
			*i = p;
			return s[p] == '\0' ? "NUL byte"
			                    : "control character in a string";
		}
		if ((k = utf8_seq(s + p, len - p)) == 0) {
			*i = p;
			return "invalid UTF-8";
		}
		p += k;
	}
	*i = p + 1;
	return NULL;
}

static const char *
check_number(const unsigned char *s, size_t len, size_t *i)
{
	size_t p = *i;

	if (p < len && s[p] == '-')
		p++;
	if (p < len && s[p] == '0')
		p++;
	else if (p < len && s[p] >= '1' && s[p] <= '9') {
		while (p < len && is_digit(s[p]))
			p++;
	} else
		goto bad;
	if (p < len && s[p] == '.') {
		if (++p >= len || !is_digit(s[p]))
			goto bad;
		while (p < len && is_digit(s[p]))
			p++;
	}
	if (p < len && (s[p] == 'e' || s[p] == 'E')) {
		p++;
		if (p < len && (s[p] == '+' || s[p] == '-'))
			p++;
		if (p >= len || !is_digit(s[p]))
			goto bad;
		while (p < len && is_digit(s[p]))
			p++;
	}
	*i = p;
	return NULL;
bad:
	*i = p;
	return "bad number";
}

int
proto_json_check(const char *text, size_t len, char **cause)
{
	enum {
		S_VALUE,          /* a value */
		S_VALUE_OR_CLOSE, /* after [ */
		S_KEY_OR_CLOSE,   /* after { */
		S_KEY,            /* after , in an object */
		S_COLON,
		S_NEXT, /* after a value: , or the closing bracket */
	} st = S_VALUE;
	const unsigned char *s = (const unsigned char *)text;
	unsigned char stack[PROTO_MAX_DEPTH];
	const char *err = NULL;
	size_t i = 0, depth = 0;

	i = skip_ws(s, len, 0);
	if (i >= len || s[i] != '{') {
		err = i >= len ? "empty" : "not a JSON object";
		goto fail;
	}
	for (;;) {
		i = skip_ws(s, len, i);
		if (st == S_NEXT && depth == 0)
			break;
		if (i >= len) {
			err = "truncated (JSON ends early)";
			goto fail;
		}
		switch (st) {
		case S_VALUE_OR_CLOSE:
			if (s[i] == ']') {
				depth--;
				i++;
				st = S_NEXT;
				break;
			}
			__attribute__((fallthrough)); /* gcc and clang */
		case S_VALUE:
			switch (s[i]) {
			case '{':
			case '[':
				if (depth == PROTO_MAX_DEPTH) {
					err = "nested too deeply";
					goto fail;
				}
				stack[depth++] = s[i];
				st = s[i++] == '{' ? S_KEY_OR_CLOSE
				                   : S_VALUE_OR_CLOSE;
				break;
			case '"':
				if ((err = check_string(s, len, &i)) != NULL)
					goto fail;
				st = S_NEXT;
				break;
			case 't':
			case 'f':
			case 'n': {
				const char *w = s[i] == 't'   ? "true"
				                : s[i] == 'f' ? "false"
				                              : "null";
				size_t wl = strlen(w);

				if (len - i < wl || memcmp(s + i, w, wl) != 0) {
					err = "unexpected character";
					goto fail;
				}
				i += wl;
				st = S_NEXT;
				break;
			}
			default:
				if (s[i] != '-' && !is_digit(s[i])) {
					err = s[i] == '\0'
					          ? "NUL byte"
					          : "unexpected character";
					goto fail;
				}
				if ((err = check_number(s, len, &i)) != NULL)
					goto fail;
				st = S_NEXT;
				break;
			}
			break;
		case S_KEY_OR_CLOSE:
			if (s[i] == '}') {
				depth--;
				i++;
				st = S_NEXT;
				break;
			}
			__attribute__((fallthrough)); /* gcc and clang */
		case S_KEY:
			if (s[i] != '"') {
				err = "expected a key";
				goto fail;
			}
			if ((err = check_string(s, len, &i)) != NULL)
				goto fail;
			st = S_COLON;
			break;
		case S_COLON:
			if (s[i] != ':') {
				err = "expected ':'";
				goto fail;
			}
			i++;
			st = S_VALUE;
			break;
		case S_NEXT:
			if (s[i] == ',') {
				i++;
				st = stack[depth - 1] == '{' ? S_KEY : S_VALUE;
			} else if ((s[i] == '}' && stack[depth - 1] == '{') ||
			           (s[i] == ']' && stack[depth - 1] == '[')) {
				i++;
				depth--;
			} else {
				err = "expected ',' or a closing bracket";
				goto fail;
			}
			break;
		}
	}
	if (i != len) {
		err = "bytes after the JSON";
		goto fail;
	}
	return 0;
fail:
	cause_printf(cause, "bad JSON: %s at byte %zu", err, i);
	return -1;
}

int
proto_header_build(
    uint16_t type, size_t len, unsigned char hdr[PROTO_HDR_SIZE], char **cause)
{
	struct proto_wire_hdr wh;

	if (!proto_type_valid(type)) {
		cause_printf(
		    cause, "frame: unknown message type %u", (unsigned)type);
		return -1;
	}
	if (len > PROTO_MAX_PAYLOAD) {
		cause_printf(cause,
		    "frame: %s payload of %zu bytes exceeds the "
		    "maximum of %u",
		    proto_type_name(type), len, (unsigned)PROTO_MAX_PAYLOAD);
		return -1;
	}
	wh.magic = htonl(PROTO_MAGIC);
	wh.version = htons(PROTO_VERSION);
	wh.type = htons(type);
	wh.length = htonl((uint32_t)len);
	memcpy(hdr, &wh, PROTO_HDR_SIZE);
	return 0;
}

int
proto_frame_build_raw(uint16_t type, const char *json, size_t len,
    void **framep, size_t *flen, char **cause)
{
	unsigned char hdr[PROTO_HDR_SIZE];
	char *frame;

	if (json == NULL || len == 0 || json[0] != '{') {
		cause_printf(cause, "frame: payload is not an object");
		return -1;
	}
	if (proto_header_build(type, len, hdr, cause) == -1)
		return -1;
	frame = xmalloc(PROTO_HDR_SIZE + len);
	memcpy(frame, hdr, PROTO_HDR_SIZE);
	memcpy(frame + PROTO_HDR_SIZE, json, len);
	*framep = frame;
	*flen = PROTO_HDR_SIZE + len;
	return 0;
}

/* ---- Typed payloads ------------------------------------------------------ */

/* Get key as a string; absent is fine unless required. */
static int
get_string(
    json_object *obj, const char *key, bool required, char **out, char **cause)
{
	json_object *v;

	*out = NULL;
	if (!json_object_object_get_ex(obj, key, &v) || v == NULL) {
		if (!required)
			return 0;
		cause_printf(cause, "payload: missing \"%s\"", key);
		return -1;
	}
	if (!json_object_is_type(v, json_type_string)) {
		cause_printf(cause, "payload: \"%s\" is not a string", key);
		return -1;
	}
	/* A \u0000 inside would cut the string short without a word. */
	if (strlen(json_object_get_string(v)) !=
	    (size_t)json_object_get_string_len(v)) {
		cause_printf(cause, "payload: \"%s\" holds a NUL", key);
		return -1;
	}
	*out = xstrdup(json_object_get_string(v));
	return 0;
}

static int
get_int(json_object *obj, const char *key, bool required, int64_t *out,
    char **cause)
{
	json_object *v;

	*out = 0;
	if (!json_object_object_get_ex(obj, key, &v) || v == NULL) {
		if (!required)
			return 0;
		cause_printf(cause, "payload: missing \"%s\"", key);
		return -1;
	}
	if (!json_object_is_type(v, json_type_int)) {
		cause_printf(cause, "payload: \"%s\" is not an integer", key);
		return -1;
	}
	errno = 0;
	*out = json_object_get_int64(v);
	/* json-c clamps out-of-range numbers and says so in errno. */
	if (errno != 0 || *out < 0) {
		cause_printf(cause, "payload: \"%s\" is out of range", key);
		return -1;
	}
	return 0;
}

static bool
valid_id(const char *id)
{
	size_t n = strlen(id);
	const char *p;

	if (n == 0 || n > PROTO_ID_MAX)
		return false;
	for (p = id; *p != '\0'; p++) {
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') ||
		        (*p >= 'A' && *p <= 'Z') || *p == '-'))
			return false;
	}
	return true;
}

json_object *
proto_node_req_to_json(const struct proto_node_req *req)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "id", json_object_new_string(req->id));
	json_object_object_add(
	    o, "hostlist", json_object_new_string(req->hostlist));
	if (req->resume_file != NULL)
		json_object_object_add(
		    o, "resume_file", json_object_get(req->resume_file));
	if (req->program != NULL)
		json_object_object_add(
		    o, "program", json_object_new_string(req->program));
	json_object_object_add(o, "pid", json_object_new_int64(req->pid));
	json_object_object_add(o, "wait", json_object_new_boolean(req->wait));
	return o;
}

int
proto_node_req_from_json(
    json_object *obj, struct proto_node_req *req, char **cause)
{
	json_object *v;

	memset(req, 0, sizeof(*req));
	if (obj == NULL || !json_object_is_type(obj, json_type_object)) {
		cause_printf(cause, "payload: not an object");
		return -1;
	}
	if (get_string(obj, "id", true, &req->id, cause) == -1)
		goto fail;
	if (!valid_id(req->id)) {
		cause_printf(cause,
		    "payload: \"id\" must be 1 to %d letters, "
		    "digits or dashes",
		    PROTO_ID_MAX);
		goto fail;
	}
	if (get_string(obj, "hostlist", true, &req->hostlist, cause) == -1)
		goto fail;
	if (req->hostlist[0] == '\0' ||
	    strpbrk(req->hostlist, "\r\n") != NULL) {
		cause_printf(cause, "payload: \"hostlist\" is empty or holds a "
		                 "line break");
		goto fail;
	}
	if (get_string(obj, "program", false, &req->program, cause) == -1)
		goto fail;
	if (get_int(obj, "pid", false, &req->pid, cause) == -1)
		goto fail;
	if (json_object_object_get_ex(obj, "wait", &v) && v != NULL) {
		if (!json_object_is_type(v, json_type_boolean)) {
			cause_printf(
			    cause, "payload: \"wait\" is not a boolean");
			goto fail;
		}
		req->wait = json_object_get_boolean(v);
	}
	/* null stands for absent: a resume file slurmctld left empty. */
	if (json_object_object_get_ex(obj, "resume_file", &v) && v != NULL) {
		if (!json_object_is_type(v, json_type_object)) {
			cause_printf(cause,
			    "payload: \"resume_file\" is not an object");
			goto fail;
		}
		req->resume_file = json_object_get(v);
	}
	return 0;
fail:
	proto_node_req_free(req);
	return -1;
}

void
proto_node_req_free(struct proto_node_req *req)
{
	if (req == NULL)
		return;
	free(req->id);
	free(req->hostlist);
	free(req->program);
	json_object_put(req->resume_file);
	memset(req, 0, sizeof(*req));
}

json_object *
proto_reply_to_json(const struct proto_reply *reply)
{
	json_object *o = json_object_new_object();

	json_object_object_add(
	    o, "accepted", json_object_new_int64(reply->accepted));
	json_object_object_add(o, "nodes", json_object_new_int64(reply->nodes));
	json_object_object_add(o, "message",
	    json_object_new_string(
	        reply->message != NULL ? reply->message : ""));
	return o;
}

int
proto_reply_from_json(json_object *obj, struct proto_reply *reply, char **cause)
{
	memset(reply, 0, sizeof(*reply));
	if (obj == NULL || !json_object_is_type(obj, json_type_object)) {
		cause_printf(cause, "payload: not an object");
		return -1;
	}
	if (get_int(obj, "accepted", true, &reply->accepted, cause) == -1 ||
	    get_int(obj, "nodes", true, &reply->nodes, cause) == -1 ||
	    get_string(obj, "message", false, &reply->message, cause) == -1) {
		proto_reply_free(reply);
		return -1;
	}
	return 0;
}

void
proto_reply_free(struct proto_reply *reply)
{
	if (reply == NULL)
		return;
	free(reply->message);
	memset(reply, 0, sizeof(*reply));
}

json_object *
proto_error_json(const char *fmt, ...)
{
	json_object *o;
	va_list ap;
	char *s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) == -1)
		s = xstrdup("out of memory");
	va_end(ap);
	s[strcspn(s, "\r\n")] = '\0'; /* one line, whatever the caller had */
	o = json_object_new_object();
	json_object_object_add(o, "error", json_object_new_string(s));
	free(s);
	return o;
}

const char *
proto_error_message(json_object *obj)
{
	json_object *v;

	if (obj != NULL && json_object_object_get_ex(obj, "error", &v) &&
	    json_object_is_type(v, json_type_string))
		return json_object_get_string(v);
	return "request refused (no reason given)";
}

/* ---- Blocking client ----------------------------------------------------- */

/* Milliseconds left until deadline (monotonic), at least 0. */
static int
ms_left(uint64_t deadline)
{
	uint64_t now = now_mono_ms();

	if (now >= deadline)
		return 0;
	return deadline - now > INT32_MAX ? INT32_MAX : (int)(deadline - now);
}

/* Wait for events on fd until deadline: 1 ready, 0 timed out, -1 error. */
static int
wait_fd(int fd, short events, uint64_t deadline)
{
	struct pollfd pfd = {.fd = fd, .events = events};
	int n;

	for (;;) {
		n = poll(&pfd, 1, ms_left(deadline));
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return -1;
		return n > 0 ? 1 : 0;
	}
}

static void
pause_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* One connect attempt: fd, or -1 with errno (ETIMEDOUT for a timeout). */
static int
connect_once(const struct sockaddr_un *sun, int timeout_ms)
{
	int fd, err;
	socklen_t elen = sizeof(err);

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd == -1)
		return -1;
	if (connect(fd, (const struct sockaddr *)sun, sizeof(*sun)) == 0)
		return fd;
	if (errno != EINPROGRESS && errno != EAGAIN && errno != EINTR)
		goto fail;
	/*
	 * A Unix stream connect that would block means the listen backlog is
	 * full (EAGAIN; nothing is in progress, so try again) or, rarely,
	 * EINPROGRESS: wait for it then.
	 */
	if (errno == EAGAIN)
		goto fail;
	switch (wait_fd(fd, POLLOUT, now_mono_ms() + (uint64_t)timeout_ms)) {
	case 0:
		errno = ETIMEDOUT;
		goto fail;
	case -1:
		goto fail;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) == -1)
		goto fail;
	if (err != 0) {
		errno = err;
		goto fail;
	}
	return fd;
fail:
	err = errno;
	close(fd);
	errno = err;
	return -1;
}

int
proto_connect(const char *path, int timeout_ms, int retry_ms, char **cause)
{
	struct sockaddr_un sun;
	uint64_t deadline;
	int fd, pause = 50, left;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		cause_printf(cause, "socket path too long: %s", path);
		return PROTO_EUNREACH;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	deadline = now_mono_ms() + (uint64_t)(retry_ms > 0 ? retry_ms : 0);

	for (;;) {
		if ((fd = connect_once(&sun, timeout_ms)) != -1)
			return fd;
		if (errno == ETIMEDOUT) {
			cause_printf(cause, "connect %s: timed out", path);
			return PROTO_ETIMEOUT;
		}
		/* Only a daemon that is (re)starting is worth waiting for. */
		if (errno != ENOENT && errno != ECONNREFUSED && errno != EAGAIN)
			break;
		if ((left = ms_left(deadline)) == 0)
			break;
		pause_ms(pause < left ? pause : left);
		pause = pause * 2 > 1000 ? 1000 : pause * 2;
	}
	cause_printf(cause, "connect %s: %s", path, strerror(errno));
	return PROTO_EUNREACH;
}

int
proto_send(
    int fd, uint16_t type, json_object *payload, int timeout_ms, char **cause)
{
	uint64_t deadline = now_mono_ms() + (uint64_t)timeout_ms;
	size_t len, off = 0;
	void *frame;
	ssize_t n;
	int rc = PROTO_OK;

	if (proto_frame_build(type, payload, &frame, &len, cause) == -1)
		return PROTO_EFRAME;
	while (off < len) {
		/* MSG_NOSIGNAL: a peer gone is an error, not a SIGPIPE. */
		n = send(fd, (char *)frame + off, len - off,
		    MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n >= 0) {
			off += (size_t)n;
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK) {
			cause_printf(cause, "send: %s", strerror(errno));
			rc = PROTO_EIO;
			break;
		}
		if (wait_fd(fd, POLLOUT, deadline) != 1) {
			cause_printf(cause, "send: timed out");
			rc = PROTO_ETIMEOUT;
			break;
		}
	}
	free(frame);
	return rc;
}

/* Read exactly len bytes before deadline. */
static int
recv_full(int fd, void *buf, size_t len, uint64_t deadline, char **cause)
{
	size_t off = 0;
	ssize_t n;

	while (off < len) {
		n = recv(fd, (char *)buf + off, len - off, MSG_DONTWAIT);
		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		if (n == 0) {
			cause_printf(cause,
			    "receive: connection closed after "
			    "%zu of %zu bytes",
			    off, len);
			return PROTO_EIO;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK) {
			cause_printf(cause, "receive: %s", strerror(errno));
			return PROTO_EIO;
		}
		if (wait_fd(fd, POLLIN, deadline) != 1) {
			cause_printf(cause, "receive: timed out");
			return PROTO_ETIMEOUT;
		}
	}
	return PROTO_OK;
}

int
proto_recv(
    int fd, int timeout_ms, uint16_t *type, json_object **payload, char **cause)
{
	uint64_t deadline = now_mono_ms() + (uint64_t)timeout_ms;
	unsigned char hbuf[PROTO_HDR_SIZE];
	struct proto_hdr hdr;
	char *body;
	int rc;

	*payload = NULL;
	*type = 0;
	if ((rc = recv_full(fd, hbuf, sizeof(hbuf), deadline, cause)) != 0)
		return rc;
	rc = proto_header_parse(hbuf, sizeof(hbuf), &hdr, cause);
	if (rc == PROTO_EVERSION)
		*type = hdr.type;
	if (rc != PROTO_OK)
		return rc;
	/* The length is bounded by proto_header_parse(): safe to allocate. */
	body = xmalloc(hdr.length > 0 ? hdr.length : 1);
	if ((rc = recv_full(fd, body, hdr.length, deadline, cause)) == 0)
		rc = proto_payload_parse(&hdr, body, payload, cause);
	free(body);
	if (rc == PROTO_OK)
		*type = hdr.type;
	return rc;
}

/*
 * A send that failed (EPIPE, reset) may still have an answer waiting: the
 * daemon refuses a peer over its limit with "busy" before reading it, then
 * closes.  Read it for this long before giving up.
 */
#define SEND_FAILED_READ_MS	1000

int
proto_call(const char *path, int timeout_ms, int retry_ms, uint16_t type,
    json_object *request, uint16_t *rtype, json_object **reply, char **cause)
{
	int fd, rc;

	*reply = NULL;
	*rtype = 0;
	if ((fd = proto_connect(path, timeout_ms, retry_ms, cause)) < 0)
		return fd;
	rc = proto_send(fd, type, request, timeout_ms, cause);
	if (rc == PROTO_OK)
		rc = proto_recv(fd, timeout_ms, rtype, reply, cause);
	else if (rc == PROTO_EIO && proto_recv(fd, SEND_FAILED_READ_MS, rtype,
	    reply, NULL) == PROTO_OK) {
		/* The daemon answered before reading us ("busy"): its word. */
		if (cause != NULL) {
			free(*cause);
			*cause = NULL;
		}
		rc = PROTO_OK;
	}
	close(fd);
	return rc;
}

int
proto_recv_raw(int fd, int timeout_ms, uint16_t *type, char **payload,
    size_t *len, char **cause)
{
	uint64_t deadline = now_mono_ms() + (uint64_t)timeout_ms;
	unsigned char hbuf[PROTO_HDR_SIZE];
	struct proto_hdr hdr;
	char *body;
	int rc;

	*payload = NULL;
	*len = 0;
	*type = 0;
	if ((rc = recv_full(fd, hbuf, sizeof(hbuf), deadline, cause)) != 0)
		return rc;
	rc = proto_header_parse(hbuf, sizeof(hbuf), &hdr, cause);
	if (rc == PROTO_EVERSION)
		*type = hdr.type;
	if (rc != PROTO_OK)
		return rc;
	if (hdr.length == 0) {
		cause_printf(cause, "frame: empty %s payload",
		    proto_type_name(hdr.type));
		return PROTO_EFRAME;
	}
	/* Bounded by proto_header_parse(); one more byte for the NUL. */
	body = xmalloc((size_t)hdr.length + 1);
	if ((rc = recv_full(fd, body, hdr.length, deadline, cause)) != 0) {
		free(body);
		return rc;
	}
	if (memchr(body, '\0', hdr.length) != NULL) {
		cause_printf(cause, "frame: %s payload contains a NUL byte",
		    proto_type_name(hdr.type));
		free(body);
		return PROTO_EFRAME;
	}
	body[hdr.length] = '\0';
	*payload = body;
	*len = hdr.length;
	*type = hdr.type;
	return PROTO_OK;
}

int
proto_call_raw(const char *path, int timeout_ms, int retry_ms, uint16_t type,
    json_object *request, uint16_t *rtype, char **reply, size_t *len,
    char **cause)
{
	int fd, rc;

	*reply = NULL;
	*len = 0;
	*rtype = 0;
	if ((fd = proto_connect(path, timeout_ms, retry_ms, cause)) < 0)
		return fd;
	rc = proto_send(fd, type, request, timeout_ms, cause);
	if (rc == PROTO_OK)
		rc = proto_recv_raw(fd, timeout_ms, rtype, reply, len, cause);
	else if (rc == PROTO_EIO && proto_recv_raw(fd, SEND_FAILED_READ_MS,
	    rtype, reply, len, NULL) == PROTO_OK) {
		if (cause != NULL) {
			free(*cause);
			*cause = NULL;
		}
		rc = PROTO_OK;
	}
	close(fd);
	return rc;
}
