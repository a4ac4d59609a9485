/*
 * cc.h: the CycleCloud REST client, the daemon's only way to the cloud
 * (docs: /work/shared/spec/cyclecloud-api.md, decisions.md "Batching and the
 * cloud calls", "Credentials").
 *
 * Asynchronous: libcurl's multi interface driven by the caller's libevent
 * event_base; nothing here blocks or starts a thread (libcurl's resolver
 * thread aside).  Each call either refuses at once (-1 and *cause: bad
 * input, nothing sent, callback never called) or returns 0 and calls its
 * callback exactly once, later, from the event loop (never from inside the
 * call itself), or from cc_cancel_all()/cc_client_free().
 *
 * Retries: throttled (429), server (5xx), network and timeout failures are
 * retried with exponential backoff and full jitter, honouring Retry-After,
 * bounded by cc_settings.max_attempts and .retry_budget_ms.  One limiter is
 * shared by the whole client: once any answer carries 429 or a Retry-After,
 * no request is sent before that time.  Authentication and other 4xx errors
 * are never retried.  Every create and node action carries a requestId (the
 * caller's, journaled before the call; one is made up when NULL), so a retry
 * is safe: a 409 is followed by GET nodes?request_id= and, when that
 * operation exists, the call succeeded (result->recovered is set).
 *
 * The password is held in this client's memory only, wiped when replaced or
 * freed, and never logged, printed or put into a message.
 */
#ifndef CCSLURM_CC_H
#define CCSLURM_CC_H

#include <stddef.h>
#include <stdint.h>

struct event_base;
struct cc_client;

/* ---- Settings ------------------------------------------------------- */

struct cc_settings {
	const char	*url;		/* https://cc.example.com (no userinfo) */
	const char	*cluster;	/* CycleCloud cluster name */
	const char	*username;
	const char	*password;	/* copied; the copy is wiped on free */
	const char	*ca_file;	/* CA bundle; NULL: the system's CAs */
	int		 verify_tls;	/* 1 (default): verify peer and host */
	const char	*proxy;		/* NULL or "" : none (no env proxy) */
	uint64_t	 timeout_ms;	/* one HTTP attempt; default 60 s */
	uint64_t	 connect_timeout_ms; /* default 10 s */
	unsigned	 max_host_connections; /* default 4 */
	unsigned	 max_attempts;	/* per call, first included; default 5 */
	uint64_t	 retry_budget_ms; /* a call gives up after; default 120 s */
	uint64_t	 backoff_base_ms; /* first backoff ceiling; default 500 ms */
	uint64_t	 backoff_max_ms; /* backoff ceiling; default 30 s */
	size_t		 max_body;	/* largest answer accepted; default 1 GiB */
};

/* Fill in the defaults; the caller then sets url, cluster, credentials. */
void	 cc_settings_defaults(struct cc_settings *);

/* ---- Outcomes ------------------------------------------------------- */

enum cc_err {
	CC_OK = 0,
	CC_ERR_AUTH,		/* 401/403: not retried */
	CC_ERR_NOTFOUND,	/* 404 */
	CC_ERR_CONFLICT,	/* 409 not explained by our own requestId */
	CC_ERR_THROTTLED,	/* 429 until attempts or budget ran out */
	CC_ERR_SERVER,		/* 5xx until attempts or budget ran out */
	CC_ERR_NETWORK,		/* connect, reset, dropped, DNS, proxy */
	CC_ERR_TIMEOUT,		/* no complete answer within timeout_ms */
	CC_ERR_TLS,		/* certificate not trusted, expired, bad CA */
	CC_ERR_BAD_RESPONSE,	/* 2xx whose body is not what the API says */
	CC_ERR_CLIENT,		/* any other 4xx: not retried */
	CC_ERR_CANCELLED,	/* cc_cancel_all() or cc_client_free() */
	CC_ERR_COUNT
};

/* "ok", "auth", "notfound", ... (stable: used as a metric label). */
const char *cc_err_name(enum cc_err);

/*
 * What a call came to.  Valid only during the callback (copy what you keep).
 */
struct cc_result {
	enum cc_err	 err;
	long		 http_status;	/* of the last attempt; 0: none */
	unsigned	 attempts;	/* HTTP attempts made (409 look-up too) */
	uint64_t	 elapsed_ms;	/* call start to callback */
	const char	*message;	/* one line, no control characters;
					   NULL when err == CC_OK */
	int		 recovered;	/* CC_OK from a 409 + request_id look-up */
};

/*
 * The callback of every asynchronous call.  On CC_OK, data is the typed
 * result named at each call, and it is HANDED OVER: the callback owns it and
 * frees it with its _free() (or keeps it).  On error, data is NULL.
 */
typedef void	(*cc_cb)(const struct cc_result *, void *data, void *arg);

/* ---- Results (PascalCase wire names in comments) --------------------- */

struct cc_vm {				/* buckets[].virtualMachine */
	int		 vcpu_count;
	int		 pcpu_count;
	int		 gpu_count;
	double		 memory_gb;
	int		 infiniband;
};

struct cc_placement_group {
	char		*name;
	int		 active_count;
};

struct cc_bucket {
	char		*bucket_id;		/* NULL when absent */
	char		*machine_type;		/* definition.machineType */
	int		 max_count;
	int		 max_core_count;
	int		 active_count;
	int		 active_core_count;
	int		 available_count;
	int		 available_core_count;
	int		 quota_count;
	int		 max_placement_group_size;
	int		 valid;			/* default 1 */
	char		*invalid_reason;
	double		 last_capacity_failure;	/* s since; < 0: never */
	struct cc_vm	 vm;
	struct cc_placement_group *pgs;
	size_t		 npgs;
};

struct cc_nodearray {
	char		*name;
	int		 max_count;
	int		 max_core_count;
	/* From the PascalCase "nodearray" record: */
	char		*machine_type;		/* first of MachineType; or NULL */
	int		 autoscale;		/* Configuration.slurm.autoscale, 0 */
	char		*partition;		/* .slurm.partition, default name */
	int		 default_partition;	/* .slurm.default_partition, 0 */
	int		 hpc;			/* .slurm.hpc, default 1 */
	double		 dampen_memory;		/* .slurm.dampen_memory, default 5 */
	int		 use_pcpu;		/* .slurm.use_pcpu, default 1 */
	int		 max_scaleset_size;	/* Azure.MaxScalesetSize, 40 */
	char		*shutdown_policy;	/* ShutdownPolicy, "Terminate" */
	struct cc_bucket *buckets;
	size_t		 nbuckets;
};

/*
 * A node: only the fields the daemon reads (it holds 50,000 of them), never
 * the node's Configuration.  Strings are NULL when the field is absent (or
 * null).  keep_alive and fixed are 0 when absent.
 */
struct cc_node {
	char		*name;			/* Name (required) */
	char		*node_id;		/* NodeId */
	char		*template_name;		/* Template: its nodearray */
	char		*machine_type;		/* first of MachineType */
	char		*status;		/* Status: Off, Acquiring, ... */
	char		*state;			/* State */
	char		*target_state;		/* TargetState */
	char		*private_ip;		/* PrivateIp */
	char		*hostname;		/* Hostname */
	char		*placement_group_id;	/* PlacementGroupId */
	char		*instance_id;		/* InstanceId */
	char		*shutdown_policy;	/* ShutdownPolicy */
	char		*request_id;		/* RequestId */
	char		*status_message;	/* StatusMessage: why Failed */
	int		 keep_alive;		/* KeepAlive */
	int		 fixed;			/* Fixed */
};

struct cc_cluster_status {		/* GET /clusters/C/status */
	char		*state;
	char		*target_state;
	int		 max_count;
	int		 max_core_count;
	struct cc_nodearray *nodearrays;
	size_t		 nnodearrays;
	int		 has_nodes;		/* nodes[] was present */
	struct cc_node	*nodes;
	size_t		 nnodes;
};

struct cc_operation {			/* GET /operations/ID, NodeList.operation */
	char		*id;		/* operationId/id when given; else NULL */
	char		*action;
	char		*start_time;	/* as sent (a string, or a number
					   printed with %.17g) */
};

struct cc_node_list {			/* GET /clusters/C/nodes[?...] */
	struct cc_node	*nodes;
	size_t		 nnodes;
	struct cc_operation *operation;	/* NULL when absent */
};

struct cc_create_set_result {
	int		 added;
	char		*message;	/* NULL when absent */
};

struct cc_create_result {		/* POST .../nodes/create */
	char		*operation_id;	/* NULL only when recovered */
	struct cc_create_set_result *sets; /* request order; 0 if recovered */
	size_t		 nsets;
};

struct cc_node_outcome {
	char		*id;
	char		*name;
	int		 ok;		/* status == "OK" */
	char		*error;		/* NULL when absent */
};

struct cc_action_result {		/* POST .../nodes/{start,...} */
	char		*operation_id;	/* NULL only when recovered */
	struct cc_node_outcome *nodes;	/* 0 nodes when recovered */
	size_t		 nnodes;
};

void	 cc_cluster_status_free(struct cc_cluster_status *);
void	 cc_node_list_free(struct cc_node_list *);
void	 cc_create_result_free(struct cc_create_result *);
void	 cc_action_result_free(struct cc_action_result *);
void	 cc_operation_free(struct cc_operation *);
/* Free what a cc_node owns (not the struct: nodes live in arrays). */
void	 cc_node_clear(struct cc_node *);

/* ---- Requests -------------------------------------------------------- */

struct cc_create_set {
	const char	*nodearray;		/* required */
	unsigned	 count;			/* required, >= 1 */
	const char	*machine_type;		/* definition.machineType or NULL */
	const char	*name_format;		/* e.g. "hpc-pg0-%d" or NULL */
	int		 name_offset;		/* < 0: not sent */
	const char	*placement_group_id;	/* NULL: not sent */
	int		 fixed;			/* nodeAttributes.Fixed; <0 not sent */
	int		 start_automatically;	/* .StartAutomatically; <0 not sent */
};

struct cc_create_request {
	const char	*request_id;		/* NULL: one is made up */
	const struct cc_create_set *sets;
	size_t		 nsets;			/* >= 1 */
};

enum cc_action {
	CC_ACTION_START,
	CC_ACTION_SHUTDOWN,
	CC_ACTION_DEALLOCATE,
	CC_ACTION_TERMINATE,
	CC_ACTION_REMOVE,
};

/* "start", "shutdown", ... (the path's last element). */
const char *cc_action_name(enum cc_action);

/* ---- The client ------------------------------------------------------ */

/*
 * A client on base (borrowed: it must outlive the client).  Settings are
 * copied.  NULL and *cause (caller frees) on bad settings: no url or
 * cluster, a url that is not http(s) or carries user:password, zero limits.
 * The caller owns the client; cc_client_free() it.
 */
struct cc_client *cc_client_new(struct event_base *base,
	    const struct cc_settings *, char **cause);

/*
 * Cancel every pending call (callbacks run with CC_ERR_CANCELLED before this
 * returns), wipe the password, free everything.  NULL is fine.  Not from
 * inside a callback of this client.
 */
void	 cc_client_free(struct cc_client *);

/* Replace the password (reload); applies to attempts started from now. */
void	 cc_set_password(struct cc_client *, const char *password);

/*
 * Finish every pending call with CC_ERR_CANCELLED (callbacks called from
 * here, in no particular order) and drop their connections' transfers.
 */
void	 cc_cancel_all(struct cc_client *);

/* Calls in flight or waiting for a retry. */
size_t	 cc_pending(const struct cc_client *);

/* data: struct cc_cluster_status *.  with_nodes adds nodes[]. */
int	 cc_get_status(struct cc_client *, int with_nodes, cc_cb, void *arg,
	    char **cause);

/*
 * data: struct cc_node_list *.  At most one of operation_id and request_id
 * (both NULL: every node).
 */
int	 cc_list_nodes(struct cc_client *, const char *operation_id,
	    const char *request_id, cc_cb, void *arg, char **cause);

/* data: struct cc_create_result *.  The request is copied. */
int	 cc_create(struct cc_client *, const struct cc_create_request *,
	    cc_cb, void *arg, char **cause);

/*
 * data: struct cc_action_result *.  names (n >= 1) are copied.  The caller
 * splits large batches (decisions.md: above 1,000 names).
 */
int	 cc_node_action(struct cc_client *, enum cc_action,
	    const char *request_id, const char *const *names, size_t n,
	    cc_cb, void *arg, char **cause);

/* data: struct cc_operation *. */
int	 cc_get_operation(struct cc_client *, const char *operation_id,
	    cc_cb, void *arg, char **cause);

/* ---- Statistics (the daemon exports them as Prometheus metrics) ------- */

enum cc_endpoint {
	CC_EP_STATUS,
	CC_EP_NODES,
	CC_EP_CREATE,
	CC_EP_START,
	CC_EP_SHUTDOWN,
	CC_EP_DEALLOCATE,
	CC_EP_TERMINATE,
	CC_EP_REMOVE,
	CC_EP_OPERATION,
	CC_EP_COUNT
};

/* "status", "nodes", "create", ... (the fake's counter keys too). */
const char *cc_endpoint_name(enum cc_endpoint);

/* Upper bounds (seconds) of the latency histogram's buckets; +Inf is
 * implicit (latency_count). */
#define CC_LATENCY_NBUCKETS 8
extern const double cc_latency_bounds[CC_LATENCY_NBUCKETS];

struct cc_endpoint_stats {
	uint64_t	 calls[CC_ERR_COUNT];	/* finished calls by outcome */
	uint64_t	 attempts;		/* HTTP attempts sent */
	uint64_t	 retries;		/* attempts after the first */
	uint64_t	 throttled;		/* 429 answers */
	/* Per attempt, Prometheus style: bucket[i] counts latencies <=
	 * cc_latency_bounds[i] (cumulative). */
	uint64_t	 latency_bucket[CC_LATENCY_NBUCKETS];
	uint64_t	 latency_count;
	double		 latency_sum;		/* seconds */
};

struct cc_stats {
	struct cc_endpoint_stats ep[CC_EP_COUNT];
	uint64_t	 throttle_waits;	/* attempts held by the limiter */
	uint64_t	 last_success_ms;	/* wall clock; 0: never */
	uint64_t	 last_error_ms;		/* wall clock; 0: never */
	char		 last_error[256];	/* "" or the last call's message */
	size_t		 pending;
};

void	 cc_get_stats(const struct cc_client *, struct cc_stats *);

/* ---- Synchronous convenience (ccslurmctl initialize) ------------------ */

/*
 * Run one GET status on a private event_base until it is done.  Returns
 * CC_OK and *out (caller frees with cc_cluster_status_free), or the error
 * and *cause (caller frees).  Never for the daemon: it blocks.
 */
enum cc_err cc_sync_get_status(const struct cc_settings *, int with_nodes,
	    struct cc_cluster_status **out, char **cause);

/* ---- Parsers and builders (exposed for the unit tests and the fuzzer) -- */

/*
 * Each parses one JSON document of len bytes into a new typed result
 * (caller frees), or returns -1 with *cause naming the offending field, e.g.
 * "nodes[3].KeepAlive: expected a boolean, got string".  Unknown fields are
 * ignored; a null is treated as absent; absent required fields are errors.
 */
int	 cc_parse_cluster_status(const char *, size_t,
	    struct cc_cluster_status **, char **cause);
int	 cc_parse_node_list(const char *, size_t, struct cc_node_list **,
	    char **cause);
int	 cc_parse_create_result(const char *, size_t,
	    struct cc_create_result **, char **cause);
int	 cc_parse_action_result(const char *, size_t,
	    struct cc_action_result **, char **cause);
int	 cc_parse_operation(const char *, size_t, struct cc_operation **,
	    char **cause);

/*
 * The JSON bodies sent (caller frees).  request_id must be set here.
 * NULL and *cause on bad input (no sets, a count of 0, no nodearray, ...).
 */
char	*cc_create_request_json(const struct cc_create_request *,
	    char **cause);
char	*cc_action_request_json(const char *request_id,
	    const char *const *names, size_t n, char **cause);

/*
 * The one-line error text of an HTTP error answer: the server's JSON
 * {"Message","Detail"} when present, else the body cut to 200 bytes, with
 * control characters replaced.  Caller frees.
 */
char	*cc_error_body_text(const char *body, size_t len);

#endif
