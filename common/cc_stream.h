/*
 * cc_stream.h: parse a ClusterStatus (GET status?nodes=true) or a NodeList
 * (GET nodes) answer while it arrives, in memory bounded by one node record
 * instead of the whole answer (docs/performance.md, "Scale").
 *
 * A small scanner follows the JSON's strings, comments and nesting as the
 * bytes come in.  Each object element of the top-level "nodes" array is cut
 * out into one reusable buffer and parsed alone (json-c, then the same
 * per-node parser as cc_parse_cluster_status()), with the values of members
 * the daemon never reads (Configuration: ~2 KB a node) checked by a strict
 * scanner and replaced by null before json-c sees them.  Everything outside
 * the node elements (small) is kept and parsed at the end, where the nodes
 * gathered are attached.
 *
 * The result, or the error text, is exactly what cc_parse_cluster_status()
 * or cc_parse_node_list() gives on the whole answer (tests/unit/
 * test_cc_stream.c and tests/fuzz/fuzz_cc_stream.c check it): anything the
 * strict scanner does not accept (a comment, a single-quoted string, an
 * error) sends that one element to json-c whole, which decides.
 */
#ifndef CCSLURM_CC_STREAM_H
#define CCSLURM_CC_STREAM_H

#include <stddef.h>

#include "cc.h"

enum cc_stream_kind {
	CC_STREAM_STATUS,	/* ClusterStatus: cc_stream_finish_status() */
	CC_STREAM_NODE_LIST,	/* NodeList: cc_stream_finish_node_list() */
};

struct cc_stream;

/* A new parser (caller frees with cc_stream_free()). */
struct cc_stream *cc_stream_new(enum cc_stream_kind);

/*
 * The next len bytes of the answer, in order, in chunks of any size.  Never
 * fails: a bad answer is reported by the finish call, once all of it is in
 * (the whole-answer parser's errors have an order, e.g. a NUL byte anywhere
 * is reported before a syntax error earlier on).
 */
void	 cc_stream_feed(struct cc_stream *, const char *, size_t len);

/* Bytes fed so far. */
size_t	 cc_stream_len(const struct cc_stream *);

/*
 * The answer is complete: 0 and *out (caller frees with
 * cc_cluster_status_free() / cc_node_list_free()), or -1 and *cause (caller
 * frees), exactly as cc_parse_cluster_status() / cc_parse_node_list() on the
 * whole answer.  Once per stream, of its kind.
 */
int	 cc_stream_finish_status(struct cc_stream *,
	    struct cc_cluster_status **out, char **cause);
int	 cc_stream_finish_node_list(struct cc_stream *,
	    struct cc_node_list **out, char **cause);

/* NULL is fine. */
void	 cc_stream_free(struct cc_stream *);

/* ---- Between cc_json.c and cc_stream.c only --------------------------- */

/* nodes[] as the stream gathered it, handed to the typed conversion. */
struct cc_streamed_nodes {
	struct cc_node	*nodes;		/* elements 0..nnodes-1, parsed */
	size_t		 nnodes;
	size_t		 nelems;	/* elements of the last nodes[] */
	size_t		 bad_index;	/* first one not an object; or
					   SIZE_MAX */
	size_t		 err_index;	/* first one the node parser refused;
					   or SIZE_MAX */
	char		*err;		/* its cause */
};

/*
 * The end of a streamed parse (cc_json.c): skel (len bytes) is the answer
 * with every cut-out node element replaced by "null"; total is the answer's
 * length, nul whether it held a NUL byte; elem_err (or NULL), the first
 * syntax error json-c found in a node element, whose "null" stands at
 * elem_err_at in skel.  sn's nodes are taken (sn->nodes set to NULL) on
 * success.  Same outcomes as cc_parse_cluster_status()/_node_list().
 */
int	 cc_json_finish_status(const char *skel, size_t len, size_t total,
	    int nul, const char *elem_err, size_t elem_err_at,
	    struct cc_streamed_nodes *sn, struct cc_cluster_status **out,
	    char **cause);
int	 cc_json_finish_node_list(const char *skel, size_t len, size_t total,
	    int nul, const char *elem_err, size_t elem_err_at,
	    struct cc_streamed_nodes *sn, struct cc_node_list **out,
	    char **cause);

/* The node parser and the depth limit both paths share. */
struct json_object;
int	 cc_json_parse_node(struct json_object *, const char *path,
	    struct cc_node *, char **cause);
#define CC_JSON_MAX_DEPTH	64

#endif
