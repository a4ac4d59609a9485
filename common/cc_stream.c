/*
 * cc_stream.c: a ClusterStatus or NodeList answer parsed as it arrives
 * (see cc_stream.h for the design).
 *
 * Three pieces run over the bytes:
 *
 * - a lexer that knows what json-c (non-strict) knows about where strings
 *   ('...' or "...", backslash escapes) and comments (slash-star, slash-
 *   slash) begin and end, and follows the nesting depth.  On any answer
 *   json-c accepts, it sees the same structure json-c does; where json-c
 *   would stop with an error, the bytes up to that point still reach a
 *   json-c tokener, which reports the same error;
 * - key trackers at depth 1 (the top-level object: is this "nodes"?) and 3
 *   (a node element's members: is this one the node parser reads?), which
 *   decode the key as json-c does (escapes, a \u0000 ends it);
 * - a strict RFC 8259 validator for the values cut out of an element.  It
 *   accepts a subset of what json-c accepts; on anything else (a comment, a
 *   single quote, a trailing comma, an error) it hands over to the lexer
 *   and the element goes to json-c whole, raw, which decides.
 *
 * An element's bytes are kept (one reusable buffer) until it closes; the
 * skeleton (everything outside the elements, each replaced by "null",
 * which leaves json-c in the state an object would) is parsed at the end.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "cc.h"
#include "cc_stream.h"
#include "log.h"
#include "xmalloc.h"

/* The nodes array is at depth 1, its elements at 2, their members at 3. */
#define ELEM_DEPTH		2

/* Longest key we need to recognise, decoded, plus room. */
#define KEY_MAX			32

/* Nesting the strict validator follows before it leaves it to json-c. */
#define VALIDATE_MAX_DEPTH	40

enum lexst { LX_NORMAL, LX_STR, LX_ESC, LX_SLASH, LX_BLOCK, LX_STAR,
	LX_LINE };
enum keyst { KS_NONE, KS_WANT, KS_IN, KS_GOT, KS_COLON };
enum elemst { ES_WANT, ES_OTHER, ES_AFTER };
enum vst { V_VALUE, V_KEY0, V_KEY, V_COLON, V_AFTER, V_STR, V_ESC, V_U,
	V_NUM, V_LIT };
enum numst { N_MINUS, N_ZERO, N_INT, N_DOT, N_FRAC, N_E, N_ESIGN, N_EXP };

/* A key, decoded as json-c does, as far as we need it. */
struct keydec {
	char		 buf[KEY_MAX];
	size_t		 len;
	int		 ended;		/* a \u0000: json-c's key ends here */
	int		 nomatch;	/* too long or not plain ASCII */
	int		 esc;
	int		 uleft;
	unsigned	 cp;
};

struct range {
	size_t		 start, end;
};

struct cc_stream {
	enum cc_stream_kind kind;
	size_t		 total;
	int		 nul;
	int		 finished;

	/* Lexer. */
	enum lexst	 lx;
	char		 quote;
	int		 depth;
	int		 top_obj;	/* the depth-1 container is an object */
	enum keyst	 k1, k3;
	int		 key_at;	/* 1 or 3 while reading a tracked key */
	struct keydec	 kd;
	int		 is_nodes;	/* the last depth-1 key was "nodes" */
	int		 is_read;	/* the last depth-3 key is read */

	/* The top-level nodes array. */
	int		 in_nodes;
	enum elemst	 es;
	struct cc_streamed_nodes sn;
	size_t		 capnodes;

	/* The current element. */
	int		 in_elem;
	size_t		 elem_index;
	size_t		 elem_at;	/* its "null" in skel */
	char		*raw;
	size_t		 rawlen, rawcap;
	struct range	*cuts;
	size_t		 ncuts, capcuts;
	int		 fallback;	/* parse it raw: the validator gave up */
	char		*cutbuf;
	size_t		 cutcap;
	struct json_tokener *tok;

	/* The value being cut out, while the validator follows it. */
	int		 validating;
	enum vst	 vs;
	int		 vdepth;
	uint64_t	 vobj;		/* bit d-1: depth d is an object */
	int		 vallow_close;	/* an array just opened */
	int		 vkey;		/* the string is a key */
	enum numst	 vnum;
	const char	*vlit;
	int		 vlitpos;
	int		 vuleft;
	unsigned	 vucp;
	size_t		 cut_start;

	/* Errors, first one kept. */
	char		*elem_err;
	size_t		 elem_err_at;

	/* Everything outside the elements. */
	char		*skel;
	size_t		 skellen, skelcap;
};

/* The members cc_json_parse_node() reads: never cut out. */
static const char *const read_keys[] = {
	"Name", "NodeId", "Template", "MachineType", "Status", "State",
	"TargetState", "PrivateIp", "Hostname", "PlacementGroupId",
	"InstanceId", "ShutdownPolicy", "RequestId", "StatusMessage",
	"KeepAlive", "Fixed", NULL
};

static void
grow(char **buf, size_t *cap, size_t need)
{
	size_t cap2;

	if (need <= *cap)
		return;
	cap2 = *cap == 0 ? 4096 : *cap;
	while (cap2 < need)
		cap2 *= 2;
	*buf = xreallocarray(*buf, cap2, 1);
	*cap = cap2;
}

static void
skel_add(struct cc_stream *s, const char *p, size_t n)
{
	grow(&s->skel, &s->skelcap, s->skellen + n);
	memcpy(s->skel + s->skellen, p, n);
	s->skellen += n;
}

static void
raw_add(struct cc_stream *s, const char *p, size_t n)
{
	grow(&s->raw, &s->rawcap, s->rawlen + n);
	memcpy(s->raw + s->rawlen, p, n);
	s->rawlen += n;
}

struct cc_stream *
cc_stream_new(enum cc_stream_kind kind)
{
	struct cc_stream *s;

	s = xcalloc(1, sizeof(*s));
	s->kind = kind;
	s->sn.bad_index = s->sn.err_index = SIZE_MAX;
	/* The element sits at depth 2 of the answer. */
	s->tok = json_tokener_new_ex(CC_JSON_MAX_DEPTH - ELEM_DEPTH);
	if (s->tok == NULL)
		fatalx("json_tokener_new_ex: out of memory");
	return s;
}

static void
sn_reset(struct cc_stream *s)
{
	size_t i;

	for (i = 0; i < s->sn.nnodes; i++)
		cc_node_clear(&s->sn.nodes[i]);
	s->sn.nnodes = 0;
	s->sn.nelems = 0;
	s->sn.bad_index = s->sn.err_index = SIZE_MAX;
	free(s->sn.err);
	s->sn.err = NULL;
}

void
cc_stream_free(struct cc_stream *s)
{
	if (s == NULL)
		return;
	sn_reset(s);
	free(s->sn.nodes);
	free(s->raw);
	free(s->cuts);
	free(s->cutbuf);
	free(s->elem_err);
	free(s->skel);
	json_tokener_free(s->tok);
	free(s);
}

size_t
cc_stream_len(const struct cc_stream *s)
{
	return s->total;
}

/* ---- Keys ----------------------------------------------------------- */

static void
key_emit(struct keydec *kd, unsigned cp)
{
	if (kd->ended || kd->nomatch)
		return;
	if (cp == 0)
		kd->ended = 1;
	else if (cp >= 0x80 || kd->len >= KEY_MAX - 1)
		kd->nomatch = 1;
	else
		kd->buf[kd->len++] = (char)cp;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* One byte of the key, between its quotes. */
static void
key_add(struct keydec *kd, char c)
{
	int h;

	if (kd->uleft > 0) {
		if ((h = hexval(c)) < 0) {
			kd->nomatch = 1;
			kd->uleft = 0;
			return;
		}
		kd->cp = kd->cp * 16 + (unsigned)h;
		if (--kd->uleft == 0)
			key_emit(kd, kd->cp);
		return;
	}
	if (kd->esc) {
		kd->esc = 0;
		switch (c) {
		case '"':
		case '\\':
		case '/':
			key_emit(kd, (unsigned char)c);
			break;
		case 'b':
			key_emit(kd, '\b');
			break;
		case 'f':
			key_emit(kd, '\f');
			break;
		case 'n':
			key_emit(kd, '\n');
			break;
		case 'r':
			key_emit(kd, '\r');
			break;
		case 't':
			key_emit(kd, '\t');
			break;
		case 'u':
			kd->uleft = 4;
			kd->cp = 0;
			break;
		default:
			kd->nomatch = 1;	/* json-c refuses it anyway */
			break;
		}
		return;
	}
	if (c == '\\')
		kd->esc = 1;
	else
		key_emit(kd, (unsigned char)c);
}

static int
key_is(const struct keydec *kd, const char *name)
{
	return !kd->nomatch && kd->len == strlen(name) &&
	    memcmp(kd->buf, name, kd->len) == 0;
}

static int
key_is_read(const struct keydec *kd)
{
	size_t i;

	for (i = 0; read_keys[i] != NULL; i++)
		if (key_is(kd, read_keys[i]))
			return 1;
	return 0;
}

/* ---- Elements ----------------------------------------------------------- */

static void
elem_error(struct cc_stream *s, const char *msg)
{
	if (s->elem_err != NULL)
		return;
	s->elem_err = xstrdup(msg);
	s->elem_err_at = s->elem_at;
}

static void
add_node(struct cc_stream *s, struct cc_node *n)
{
	if (s->sn.nnodes == s->capnodes) {
		s->capnodes = s->capnodes == 0 ? 256 : s->capnodes * 2;
		s->sn.nodes = xreallocarray(s->sn.nodes, s->capnodes,
		    sizeof(*s->sn.nodes));
	}
	s->sn.nodes[s->sn.nnodes++] = *n;
}

/*
 * Parse the element in raw (complete, or cut short by the end of the answer)
 * with json-c: the cut-out values replaced by null unless the validator
 * gave up on one.
 */
static void
elem_parse(struct cc_stream *s, int complete)
{
	struct json_object *o;
	enum json_tokener_error jerr;
	struct cc_node n;
	const char *buf = s->raw;
	char path[64], *cause = NULL, *msg;
	size_t len = s->rawlen, i, at, used;

	if (s->elem_err != NULL)
		return;		/* an earlier one decides */
	if (complete && !s->fallback && s->ncuts > 0) {
		grow(&s->cutbuf, &s->cutcap, s->rawlen + 4 * s->ncuts);
		at = used = 0;
		for (i = 0; i < s->ncuts; i++) {
			memcpy(s->cutbuf + used, s->raw + at,
			    s->cuts[i].start - at);
			used += s->cuts[i].start - at;
			memcpy(s->cutbuf + used, "null", 4);
			used += 4;
			at = s->cuts[i].end;
		}
		memcpy(s->cutbuf + used, s->raw + at, s->rawlen - at);
		used += s->rawlen - at;
		buf = s->cutbuf;
		len = used;
	}
	json_tokener_reset(s->tok);
	o = json_tokener_parse_ex(s->tok, buf, (int)len);
	jerr = json_tokener_get_error(s->tok);
	if (jerr == json_tokener_continue && !complete)
		return;		/* truncated: the skeleton says so */
	if (o == NULL || jerr != json_tokener_success) {
		if (jerr == json_tokener_continue)
			msg = xprintf("answer is not JSON: nodes[%zu] not "
			    "delimited", s->elem_index);
		else
			msg = xprintf("answer is not JSON: %s",
			    json_tokener_error_desc(jerr));
		elem_error(s, msg);
		free(msg);
		json_object_put(o);
		return;
	}
	if (json_tokener_get_parse_end(s->tok) != len) {
		msg = xprintf("answer is not JSON: nodes[%zu] not delimited",
		    s->elem_index);
		elem_error(s, msg);
		free(msg);
		json_object_put(o);
		return;
	}
	/* Only while every element before this one was a good node. */
	if (s->sn.nnodes == s->elem_index && s->sn.bad_index == SIZE_MAX &&
	    s->sn.err_index == SIZE_MAX) {
		memset(&n, 0, sizeof(n));
		snprintf(path, sizeof(path), "nodes[%zu]", s->elem_index);
		if (cc_json_parse_node(o, path, &n, &cause) == 0)
			add_node(s, &n);
		else {
			cc_node_clear(&n);
			s->sn.err_index = s->elem_index;
			s->sn.err = cause;
		}
	}
	json_object_put(o);
}

static void
elem_start(struct cc_stream *s)
{
	s->in_elem = 1;
	s->es = ES_AFTER;
	s->k3 = KS_WANT;
	s->elem_index = s->sn.nelems++;
	s->elem_at = s->skellen;
	skel_add(s, "null", 4);
	s->rawlen = 0;
	s->ncuts = 0;
	s->fallback = 0;
}

static void
elem_end(struct cc_stream *s)
{
	elem_parse(s, 1);
	s->in_elem = 0;
	s->rawlen = 0;
}

static void
nonobj_elem(struct cc_stream *s)
{
	if (s->sn.bad_index == SIZE_MAX)
		s->sn.bad_index = s->sn.nelems;
	s->sn.nelems++;
	s->es = ES_OTHER;
}

/* ---- The strict validator ---------------------------------------------- */

static void
cut_start(struct cc_stream *s, size_t rawpos)
{
	s->validating = 1;
	s->vs = V_VALUE;
	s->vdepth = 0;
	s->vobj = 0;
	s->vallow_close = 0;
	s->cut_start = rawpos;
}

/* Give up on the value: json-c will see the element whole. */
static void
v_giveup(struct cc_stream *s)
{
	s->validating = 0;
	s->fallback = 1;
	if (s->vs == V_STR || s->vs == V_U) {
		s->lx = LX_STR;
		s->quote = '"';
	} else if (s->vs == V_ESC) {
		s->lx = LX_ESC;
		s->quote = '"';
	} else
		s->lx = LX_NORMAL;
}

static int
is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/*
 * One byte of the cut-out value: 1 when consumed, 0 when the validator gave
 * up (the lexer takes the same byte again).  rawend: raw's length once this
 * byte is in, for the cut's end.
 */
static int
v_step(struct cc_stream *s, char c, size_t rawend)
{
	int h, obj;

again:
	switch (s->vs) {
	case V_STR:
		if (c == '"') {
			s->vs = s->vkey ? V_COLON : V_AFTER;
			return 1;
		}
		if (c == '\\') {
			s->vs = V_ESC;
			return 1;
		}
		if ((unsigned char)c < 0x20)
			break;
		return 1;
	case V_ESC:
		if (strchr("\"\\/bfnrt", c) != NULL && c != '\0') {
			s->vs = V_STR;
			return 1;
		}
		if (c == 'u') {
			s->vs = V_U;
			s->vuleft = 4;
			s->vucp = 0;
			return 1;
		}
		break;
	case V_U:
		if ((h = hexval(c)) < 0)
			break;
		s->vucp = s->vucp * 16 + (unsigned)h;
		if (--s->vuleft == 0) {
			/* json-c's surrogate handling: not ours to judge. */
			if (s->vucp >= 0xD800 && s->vucp <= 0xDFFF)
				break;
			s->vs = V_STR;
		}
		return 1;
	case V_VALUE:
		if (is_ws(c))
			return 1;
		if (c == '{' || c == '[') {
			if (s->vdepth >= VALIDATE_MAX_DEPTH)
				break;
			s->vdepth++;
			s->depth++;
			obj = c == '{';
			if (obj)
				s->vobj |= (uint64_t)1 << (s->vdepth - 1);
			else
				s->vobj &= ~((uint64_t)1 << (s->vdepth - 1));
			s->vs = obj ? V_KEY0 : V_VALUE;
			s->vallow_close = !obj;
			return 1;
		}
		if (c == ']' && s->vallow_close)
			goto close;
		s->vallow_close = 0;
		if (c == '"') {
			s->vs = V_STR;
			s->vkey = 0;
			return 1;
		}
		if (c == '-') {
			s->vs = V_NUM;
			s->vnum = N_MINUS;
			return 1;
		}
		if (c >= '0' && c <= '9') {
			s->vs = V_NUM;
			s->vnum = c == '0' ? N_ZERO : N_INT;
			return 1;
		}
		if (c == 't' || c == 'f' || c == 'n') {
			s->vs = V_LIT;
			s->vlit = c == 't' ? "true" : c == 'f' ? "false" :
			    "null";
			s->vlitpos = 1;
			return 1;
		}
		break;
	case V_KEY0:
	case V_KEY:
		if (is_ws(c))
			return 1;
		if (c == '"') {
			s->vs = V_STR;
			s->vkey = 1;
			return 1;
		}
		if (c == '}' && s->vs == V_KEY0)
			goto close;
		break;
	case V_COLON:
		if (is_ws(c))
			return 1;
		if (c == ':') {
			s->vs = V_VALUE;
			s->vallow_close = 0;
			return 1;
		}
		break;
	case V_AFTER:
		if (is_ws(c))
			return 1;
		obj = (s->vobj >> (s->vdepth - 1)) & 1;
		if (c == ',') {
			s->vs = obj ? V_KEY : V_VALUE;
			s->vallow_close = 0;
			return 1;
		}
		if ((c == '}' && obj) || (c == ']' && !obj))
			goto close;
		break;
	case V_LIT:
		if (s->vlit[s->vlitpos] == c) {
			if (s->vlit[++s->vlitpos] == '\0')
				s->vs = V_AFTER;
			return 1;
		}
		break;
	case V_NUM:
		switch (s->vnum) {
		case N_MINUS:
			if (c == '0')
				s->vnum = N_ZERO;
			else if (c >= '1' && c <= '9')
				s->vnum = N_INT;
			else
				goto giveup;
			return 1;
		case N_ZERO:
		case N_INT:
		case N_FRAC:
			if (c >= '0' && c <= '9') {
				if (s->vnum == N_ZERO)
					goto giveup;
				return 1;
			}
			if (c == '.' && s->vnum != N_FRAC) {
				s->vnum = N_DOT;
				return 1;
			}
			if (c == 'e' || c == 'E') {
				s->vnum = N_E;
				return 1;
			}
			s->vs = V_AFTER;
			goto again;
		case N_DOT:
			if (c >= '0' && c <= '9') {
				s->vnum = N_FRAC;
				return 1;
			}
			goto giveup;
		case N_E:
			if (c == '+' || c == '-') {
				s->vnum = N_ESIGN;
				return 1;
			}
			if (c >= '0' && c <= '9') {
				s->vnum = N_EXP;
				return 1;
			}
			goto giveup;
		case N_ESIGN:
			if (c >= '0' && c <= '9') {
				s->vnum = N_EXP;
				return 1;
			}
			goto giveup;
		case N_EXP:
			if (c >= '0' && c <= '9')
				return 1;
			s->vs = V_AFTER;
			goto again;
		}
		break;
	}
giveup:
	v_giveup(s);
	return 0;
close:
	s->vdepth--;
	s->depth--;
	if (s->vdepth == 0) {
		/* The value is complete and strict JSON: cut it out. */
		s->validating = 0;
		s->lx = LX_NORMAL;
		s->k3 = KS_NONE;
		if (s->ncuts == s->capcuts) {
			s->capcuts = s->capcuts == 0 ? 4 : s->capcuts * 2;
			s->cuts = xreallocarray(s->cuts, s->capcuts,
			    sizeof(*s->cuts));
		}
		s->cuts[s->ncuts].start = s->cut_start;
		s->cuts[s->ncuts].end = rawend;
		s->ncuts++;
	} else
		s->vs = V_AFTER;
	return 1;
}

/* ---- The lexer ------------------------------------------------------------ */

/* A token starts at depth d with c (not white space, ':', ',' or a close). */
static void
token_start(struct cc_stream *s, char c, size_t rawpos)
{
	int quote = c == '"' || c == '\'';

	if (s->depth == 0) {
		if (c == '{' || c == '[') {
			s->top_obj = c == '{';
			s->k1 = s->top_obj ? KS_WANT : KS_NONE;
		}
		return;
	}
	if (s->depth == 1) {
		if (s->k1 == KS_WANT && quote) {
			s->k1 = KS_IN;
			s->key_at = 1;
			memset(&s->kd, 0, sizeof(s->kd));
		} else if (s->k1 == KS_COLON && c == '[' && s->is_nodes) {
			/* Duplicate keys: json-c keeps the last. */
			sn_reset(s);
			s->in_nodes = 1;
			s->es = ES_WANT;
			s->k1 = KS_NONE;
		} else
			s->k1 = KS_NONE;
		return;
	}
	if (s->depth == ELEM_DEPTH && s->in_nodes) {
		if (s->es == ES_WANT) {
			if (c == '{')
				elem_start(s);
			else
				nonobj_elem(s);
		}
		return;
	}
	if (s->depth == ELEM_DEPTH + 1 && s->in_elem) {
		if (s->k3 == KS_WANT && quote) {
			s->k3 = KS_IN;
			s->key_at = 3;
			memset(&s->kd, 0, sizeof(s->kd));
		} else if (s->k3 == KS_COLON && (c == '{' || c == '[') &&
		    !s->is_read && s->elem_err == NULL)
			cut_start(s, rawpos);
		else
			s->k3 = KS_NONE;
	}
}

static void
string_end(struct cc_stream *s)
{
	if (s->key_at == 1) {
		s->k1 = KS_GOT;
		s->is_nodes = key_is(&s->kd, "nodes");
	} else if (s->key_at == 3) {
		s->k3 = KS_GOT;
		s->is_read = key_is_read(&s->kd);
	}
	s->key_at = 0;
}

/* Outside strings and comments: c at the current depth. */
static void
structural(struct cc_stream *s, char c, size_t rawpos)
{
	switch (c) {
	case ' ':
	case '\t':
	case '\n':
	case '\r':
		return;
	case '/':
		s->lx = LX_SLASH;
		return;
	case ':':
		if (s->depth == 1 && s->k1 == KS_GOT)
			s->k1 = KS_COLON;
		else if (s->depth == ELEM_DEPTH + 1 && s->in_elem &&
		    s->k3 == KS_GOT)
			s->k3 = KS_COLON;
		return;
	case ',':
		if (s->depth == 1)
			s->k1 = s->top_obj ? KS_WANT : KS_NONE;
		else if (s->depth == ELEM_DEPTH && s->in_nodes)
			s->es = ES_WANT;
		else if (s->depth == ELEM_DEPTH + 1 && s->in_elem)
			s->k3 = KS_WANT;
		return;
	case '}':
	case ']':
		if (s->depth == 0)
			return;		/* json-c refuses it */
		s->depth--;
		if (s->depth == ELEM_DEPTH && s->in_elem)
			s->k3 = KS_NONE;	/* elem_end() is the caller's */
		if (s->depth == 1) {
			s->k1 = KS_NONE;
			s->in_nodes = 0;
		} else if (s->depth == ELEM_DEPTH + 1 && s->in_elem)
			s->k3 = KS_NONE;
		return;
	}
	token_start(s, c, rawpos);
	if (s->validating) {
		/* The opening byte of a cut-out value. */
		v_step(s, c, rawpos + 1);
		return;
	}
	if (c == '{' || c == '[')
		s->depth++;
	else if (c == '"' || c == '\'') {
		s->lx = LX_STR;
		s->quote = c;
	}
}

void
cc_stream_feed(struct cc_stream *s, const char *p, size_t n)
{
	const char *end = p + n, *seg = NULL, *q;
	size_t rawbase;
	int was_elem;
	char c;

	if (n == 0)
		return;
	if (!s->nul && memchr(p, '\0', n) != NULL)
		s->nul = 1;
	s->total += n;
	/*
	 * Inside an element the bytes are copied to raw in runs: seg is the
	 * run's start, and raw's length for the byte at q is rawbase + (q -
	 * seg).
	 */
	if (s->in_elem)
		seg = p;
	rawbase = s->rawlen;
	while (p < end) {
		c = *p;
		/* The hot loops: a cut-out value's strings, any string. */
		if (s->validating) {
			if (s->vs == V_STR) {
				q = p;
				while (q < end && *q != '"' && *q != '\\' &&
				    (unsigned char)*q >= 0x20)
					q++;
				if (q != p) {
					p = q;
					continue;
				}
			}
			if (v_step(s, c, rawbase + (size_t)(p + 1 - seg)))
				p++;
			continue;
		}
		was_elem = s->in_elem;
		switch (s->lx) {
		case LX_STR:
			if (s->key_at == 0 && c != s->quote && c != '\\') {
				q = p;
				while (q < end && *q != s->quote && *q != '\\')
					q++;
				if (!was_elem)
					skel_add(s, p, (size_t)(q - p));
				p = q;
				continue;
			}
			if (s->key_at != 0 && c != s->quote)
				key_add(&s->kd, c);
			if (c == '\\')
				s->lx = LX_ESC;
			else if (c == s->quote) {
				s->lx = LX_NORMAL;
				string_end(s);
			}
			break;
		case LX_ESC:
			if (s->key_at != 0)
				key_add(&s->kd, c);
			s->lx = LX_STR;
			break;
		case LX_SLASH:
			if (c == '*')
				s->lx = LX_BLOCK;
			else if (c == '/')
				s->lx = LX_LINE;
			else {
				/* json-c stops here; keep the structure. */
				s->lx = LX_NORMAL;
				continue;
			}
			break;
		case LX_BLOCK:
			if (c == '*')
				s->lx = LX_STAR;
			break;
		case LX_STAR:
			/* As json-c: the byte after a '*' is never a '*'. */
			s->lx = c == '/' ? LX_NORMAL : LX_BLOCK;
			break;
		case LX_LINE:
			if (c == '\n')
				s->lx = LX_NORMAL;
			break;
		case LX_NORMAL:
			if (s->in_elem)
				structural(s, c, rawbase + (size_t)(p - seg));
			else {
				structural(s, c, 0);
				if (s->in_elem) {
					/* An element starts with this byte. */
					seg = p;
					rawbase = 0;
					s->rawlen = 0;
					was_elem = 1;
				}
			}
			if (s->validating) {
				p++;
				continue;
			}
			if (was_elem && s->in_elem && s->depth == ELEM_DEPTH &&
			    (c == '}' || c == ']')) {
				raw_add(s, seg, (size_t)(p + 1 - seg));
				elem_end(s);
				seg = NULL;
				p++;
				continue;
			}
			break;
		}
		if (!was_elem)
			skel_add(s, &c, 1);
		p++;
	}
	if (s->in_elem && seg != NULL)
		raw_add(s, seg, (size_t)(end - seg));
}

int
cc_stream_finish_status(struct cc_stream *s, struct cc_cluster_status **out,
    char **cause)
{
	if (s->kind != CC_STREAM_STATUS || s->finished)
		fatalx("%s: wrong kind or finished twice", __func__);
	s->finished = 1;
	if (s->in_elem)
		elem_parse(s, 0);
	return cc_json_finish_status(s->skel != NULL ? s->skel : "",
	    s->skellen, s->total, s->nul, s->elem_err, s->elem_err_at, &s->sn,
	    out, cause);
}

int
cc_stream_finish_node_list(struct cc_stream *s, struct cc_node_list **out,
    char **cause)
{
	if (s->kind != CC_STREAM_NODE_LIST || s->finished)
		fatalx("%s: wrong kind or finished twice", __func__);
	s->finished = 1;
	if (s->in_elem)
		elem_parse(s, 0);
	return cc_json_finish_node_list(s->skel != NULL ? s->skel : "",
	    s->skellen, s->total, s->nul, s->elem_err, s->elem_err_at, &s->sn,
	    out, cause);
}
