/*
 * ccslurmd.h: the daemon's internal header, one banner per file, so that
 * "who owns what" is answered here.
 *
 * The daemon is one thread around one libevent loop:
 *
 *   control.c   the control socket: accept, frames, peer credentials,
 *               dispatch to the request table (req_*.c), replies
 *   req_*.c     one file per request type (resume, suspend, status, ...)
 *   engine.c    the burst engine: batching of node requests into few
 *               CycleCloud calls, polling of operations, failures, the
 *               periodic cluster sweep
 *   nodes.c     the node table and THE node state machine (node_event())
 *   journal.c   durability: accepted requests and in-flight cloud calls,
 *               fsync'd before they are acknowledged or sent
 *   scontrol.c  telling Slurm: scontrol runs as child processes watched by
 *               the loop, never blocking it
 *   reconcile.c drift between Slurm and the cloud
 *   metrics.c   counters and Prometheus text
 *   notify.c    sd_notify and the watchdog
 *   main.c      a table of contents
 */
#ifndef CCSLURMD_H
#define CCSLURMD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <json-c/json.h>

#include "cc.h"
#include "config.h"
#include "naming.h"
#include "proto.h"

struct event_base;
struct evbuffer;

/* ---- The daemon as a whole (main.c) ----------------------------------- */

struct ccsd {
	struct event_base *base;
	struct conf	*conf;		/* current config; swapped on reload */
	const char	*config_path;
	uint64_t	 start_wall_ms;	/* for uptime */
	uint64_t	 start_mono_ms;
	int		 debug;		/* -d */
	int		 stopping;	/* SIGTERM seen */
};
extern struct ccsd ccsd;

/*
 * Re-read ccsd.config_path (SIGHUP and the RELOAD request).  A new config
 * that loads is offered to engine_reconfigure() first; only if that takes it
 * is ccsd.conf swapped (the old one freed at once: nothing may keep pointers
 * into it) and 0 returned.  Otherwise the old config stays, -1 is returned
 * and every reason is appended to errs (caller conf_errors_free()s it).
 */
int	 ccsd_reload(struct conf_errors *errs);

/* ---- control.c -------------------------------------------------------- */

/* A connected client of the control socket. */
struct peer {
	int		 fd;
	uid_t		 uid;		/* SO_PEERCRED */
	gid_t		 gid;
	pid_t		 pid;
	char		 name[64];	/* "uid 1000 pid 4242" for the log */
	void		*priv;		/* control.c's */
};

/*
 * Open the control socket: the one systemd passed (sd_listen_fds), else
 * bind conf->daemon.socket (stale socket unlinked, mode 0660).  Warns when
 * the path differs from the built-in CCSLURMD_SOCKET_PATH the shims use.
 */
int	 control_init(const struct conf *, char **cause);
void	 control_shutdown(void);
/* Send one frame to a peer; the reply ends the exchange (peer closed
 * after the write drains).  Payload is not consumed. */
void	 control_reply(struct peer *, uint16_t type, json_object *payload);
void	 control_reply_error(struct peer *, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* As control_reply() with a payload already serialised (proto_jbuf):
 * json (len bytes, one JSON object) is copied, not consumed. */
void	 control_reply_raw(struct peer *, uint16_t type, const char *json,
	    size_t len);
/*
 * A handler that answers later (it waits for CycleCloud) calls this before
 * returning, then control_reply*() exactly once from a callback.  If the
 * peer goes away first (it closed, the daemon stops), gone(arg) is called
 * and the peer must not be used afterwards.
 */
void	 control_defer(struct peer *, void (*gone)(void *), void *arg);
/* Is this peer allowed to change node state (root or allowed_users)? */
bool	 control_peer_privileged(const struct peer *);
size_t	 control_npeers(void);

/* What the control socket saw since start (status, metrics). */
#define CONTROL_MAX_PEERS	512	/* beyond: accepted and closed at once */
#define CONTROL_READ_TIMEOUT_MS	5000	/* a peer must send its frame by */
#define CONTROL_WRITE_TIMEOUT_MS 10000	/* and read our reply by */
struct control_stats {
	uint64_t	 connections;	/* accepted */
	uint64_t	 refused_busy;	/* over CONTROL_MAX_PEERS */
	uint64_t	 refused_perm;	/* privileged request, uid not allowed */
	uint64_t	 bad_frames;	/* garbage, other version, unknown type */
	uint64_t	 timeouts;	/* read or write timed out */
	uint64_t	 handled[16];	/* by index in req_handlers[] */
};
const struct control_stats *control_stats(void);

/* ---- req_*.c: one file per request type ------------------------------- */

struct req_handler {
	uint16_t	 type;		/* PROTO_RESUME, ... */
	bool		 privileged;	/* refused unless root/allowed_users */
	void		(*handle)(struct peer *, json_object *payload);
};
/* The table, in req.c; NULL-terminated by type 0. */
extern const struct req_handler req_handlers[];
const struct req_handler *req_find(uint16_t type);

/*
 * The body of resume/suspend/resumefail (req.c): parse the node request,
 * engine_submit() it, log who asked, reply with the paired type or an error.
 */
void	 req_node_action(struct peer *, json_object *,
	    int action);	/* enum node_action (declared below) */

void	 req_resume(struct peer *, json_object *);	/* req_resume.c */
void	 req_suspend(struct peer *, json_object *);	/* req_suspend.c */
void	 req_resumefail(struct peer *, json_object *);	/* req_resumefail.c */
void	 req_status(struct peer *, json_object *);	/* req_status.c */
void	 req_nodes(struct peer *, json_object *);	/* req_nodes.c */
void	 req_metrics(struct peer *, json_object *);	/* req_metrics.c */
void	 req_ping(struct peer *, json_object *);	/* req_ping.c */
void	 req_reload(struct peer *, json_object *);	/* req_reload.c */
void	 req_cluster(struct peer *, json_object *);	/* req_cluster.c */
void	 req_create_nodes(struct peer *, json_object *); /* req_create_nodes.c */

/* ---- nodes.c: the node table and the node state machine --------------- */

/*
 * The public states (interfaces.md, `nodes --json` "state").  Add states
 * only with a line in docs/architecture.md.
 */
enum node_state {
	NS_POWERED_DOWN = 0,	/* no VM wanted; Slurm has it powered down */
	NS_QUEUED,		/* resume accepted, waiting for the batch */
	NS_REQUESTED,		/* create/start sent, cloud accepted it */
	NS_BOOTING,		/* cloud shows it Acquiring/Preparing */
	NS_READY,		/* cloud Ready with an IP; Slurm told */
	NS_STOPPING,		/* shutdown requested or sent */
	NS_FAILED,		/* start failed; Slurm told POWER_DOWN_FORCE */
	NS_COUNT
};
const char *node_state_name(enum node_state);

/* What can happen to a node: the inputs of node_event(). */
enum node_ev {
	EV_RESUME,		/* a resume request named it */
	EV_SUSPEND,		/* a suspend request named it */
	EV_RESUMEFAIL,		/* Slurm gave up waiting (ResumeTimeout) */
	EV_SENT,		/* its create/start/shutdown was accepted */
	EV_CLOUD_BOOTING,	/* cloud: Acquiring / Preparing */
	EV_CLOUD_READY,		/* cloud: Ready with a PrivateIp */
	EV_CLOUD_FAILED,	/* cloud: Failed, fewer added, start Error */
	EV_CLOUD_GONE,		/* cloud: Off, Deallocated, removed */
	EV_GIVE_UP,		/* our own give-up (auth_grace, retries) */
};
const char *node_ev_name(enum node_ev);

/* Which cloud call a queued node waits for. */
enum node_pending {
	NP_NONE = 0,
	NP_START,		/* exists in the cloud: start by name */
	NP_CREATE,		/* does not exist: create (then it boots) */
	NP_SHUTDOWN,		/* shutdown family, per daemon.shutdown */
};

struct nodearray;

struct node {
	char		*name;
	struct nodearray *na;
	unsigned	 pg;		/* placement group (HPC) */
	unsigned	 index;		/* i of the name */
	enum node_state	 state;
	uint64_t	 since_ms;	/* wall clock of the last state change */
	uint64_t	 resume_ms;	/* mono: when the resume was accepted */
	enum node_pending pending;	/* call this node waits for */
	/* What the cloud last said (NULL: absent / node does not exist). */
	bool		 in_cloud;	/* a CycleCloud node record exists */
	char		*cc_status;	/* Status */
	char		*cc_message;	/* StatusMessage (why Failed) */
	char		*cc_node_id;	/* NodeId */
	char		*ip;		/* PrivateIp */
	bool		 fixed;
	bool		 keep_alive;
	char		*shutdown_policy;
	char		*op_id;		/* operation in flight for it */
	char		*request_id;	/* cloud requestId of that call */
	bool		 addr_set;	/* we gave Slurm a NodeAddr */
	char		*error;		/* last error, NULL if none */
	uint32_t	*jobs;		/* from SLURM_RESUME_FILE */
	size_t		 njobs;
	uint64_t	 orphan_since_ms; /* mono: VM up, Slurm down; 0: no */
	unsigned	 sweep_gen;	/* engine: last sweep that listed it */
};

struct nodearray {
	struct ccs_nodearray desc;	/* naming, sizes */
	size_t		 first;		/* its nodes: table.v[first..+n) */
	size_t		 n;
	uint64_t	 failures;	/* start failures since start */
	char		*last_failure;
};

struct nodetable {
	struct nodearray *arrays;
	size_t		 narrays;
	struct node	*v;		/* every node, array by array */
	size_t		 n;
	struct ccs_namemap *map;
	size_t		 count[NS_COUNT];
	bool		 loaded;	/* filled from a cluster status */
};
extern struct nodetable nodes;

/* Build (or rebuild, keeping the state of names that remain) the table
 * from the autoscale nodearrays of a cluster status. */
int	 nodes_load(const struct cc_cluster_status *, char **cause);
void	 nodes_free(void);
struct node *node_find(const char *name);
/*
 * THE state machine: apply ev to n.  Returns true when it moved n (the
 * caller then does the side effects the new state asks for), false when ev
 * means nothing in n's state (logged at debug).  detail: the cloud's error
 * for EV_CLOUD_FAILED / EV_GIVE_UP, the IP for EV_CLOUD_READY.
 */
bool	 node_event(struct node *, enum node_ev, const char *detail);
/* Update what the cloud says about n (status, ip, ids); no transition. */
void	 node_set_cloud(struct node *, const struct cc_node *);
json_object *node_to_json(const struct node *);
/* Append n's `nodes --json` object to buf: the same text as node_to_json()
 * serialised by json-c (plain, no slash escape), without the tree. */
void	 node_json_write(const struct node *, struct proto_jbuf *buf);
/* Does the cloud hold a VM (running or failed) for n? */
bool	 node_vm_exists(const struct node *);
/*
 * At start, a node no journal record speaks for takes the state its cloud
 * status implies (Ready: ready, Acquiring: booting, ...).
 */
void	 node_adopt(struct node *);
/* Fill a naming description from a CycleCloud nodearray (-1: unusable). */
int	 nodes_desc_from_cc(const struct cc_nodearray *,
	    struct ccs_nodearray *, char **cause);

/* ---- engine.c: the burst engine ---------------------------------------- */

enum node_action {
	ACT_RESUME = 0,
	ACT_SUSPEND,
	ACT_RESUMEFAIL,
};

/* Why nodes failed to start (metrics label "reason"). */
enum engine_fail {
	FAIL_CAPACITY = 0,	/* create added fewer / start refused */
	FAIL_CLOUD,		/* CycleCloud showed the node Failed */
	FAIL_API,		/* the API call itself failed */
	FAIL_AUTH,		/* authentication failed beyond auth_grace */
	FAIL_VM_GONE,		/* the VM vanished while wanted */
	FAIL_RESUME_TIMEOUT,	/* Slurm's ResumeFailProgram */
	FAIL_COUNT
};
const char *engine_fail_name(enum engine_fail);	/* "capacity", ... */

/* Resume-to-ready histogram bounds, seconds (+Inf implicit). */
#define ENGINE_READY_NBUCKETS 10
extern const double engine_ready_bounds[ENGINE_READY_NBUCKETS];

struct engine_counts {			/* for status and metrics */
	uint64_t	 requests[3];	/* accepted, by node_action */
	uint64_t	 requests_refused;
	uint64_t	 requests_duplicate; /* an id already taken */
	uint64_t	 spooled_taken;	/* requests read from the spool */
	uint64_t	 failures_by_reason[FAIL_COUNT];
	uint64_t	 scontrol_calls;
	uint64_t	 scontrol_failures;
	uint64_t	 sweeps;
	uint64_t	 resume_to_ready_bucket[ENGINE_READY_NBUCKETS]; /* cumul. */
	uint64_t	 resume_to_ready_count;
	double		 resume_to_ready_sum;	/* seconds */
};

int	 engine_init(void);		/* cc client, journal, spool, sweep */
void	 engine_shutdown(void);		/* flush journal, cancel calls */
/*
 * Take a node request (from a peer or the spool).  Validates the hostlist
 * (every name must be a node of an autoscale nodearray) and journals it
 * (fsync) before returning 0; only then may the caller acknowledge it.
 * A request id already taken is a success that changes nothing.
 * On error returns -1 with *cause (one line) and changes nothing.
 */
int	 engine_submit(enum node_action, const struct proto_node_req *,
	    uid_t uid, const char *who, struct proto_reply *, char **cause);
/* Apply a new config (reload): cc settings, intervals. */
int	 engine_reconfigure(const struct conf *, char **cause);
json_object *engine_status_json(void);
/*
 * Nodes matching hostlist (NULL: all), as `nodes --json` prints them: the
 * text {"nodes":[...]} appended to out (proto_jbuf_init()ed by the caller,
 * who frees it).  Returns 0, or -1 with *cause (a bad hostlist, an unknown
 * node); out is then left as it was.
 */
int	 engine_nodes_json(const char *hostlist, struct proto_jbuf *out,
	    char **cause);
/* The autoscale nodearrays as `generate` needs them. */
json_object *engine_cluster_json(char **cause);
const struct engine_counts *engine_counts(void);
size_t	 engine_queued(void);		/* requests waiting for a batch */
size_t	 engine_ops_in_flight(void);
size_t	 engine_spool_depth(void);
struct cc_client *engine_cc(void);
/* For reconcile.c: queue Slurm updates (sent with the next batch). */
void	 engine_queue_resume_state(const char *name);
void	 engine_queue_power_down(const char *name, const char *msg);
/* For reconcile.c: shut a node's VM down (orphan), through the batch. */
void	 engine_shutdown_orphan(struct node *);
bool	 engine_recovering(void);
/* Read the cluster status again now (after nodes were created aside). */
void	 engine_sweep_soon(void);

/* ---- journal.c ---------------------------------------------------------- */

/*
 * An append-only file of JSON lines in state_dir, each fsync'd before the
 * caller goes on; compacted to the live records when it grows.  Replay
 * hands every live record to the callback in order.
 */
int	 journal_open(const char *state_dir, char **cause);
void	 journal_close(void);
int	 journal_append(json_object *rec, char **cause);	/* fsync'd */
typedef void (*journal_replay_cb)(json_object *rec, void *arg);
int	 journal_replay(journal_replay_cb, void *arg, char **cause);
/* Rewrite the journal as exactly these records (compaction). */
int	 journal_rewrite(json_object **recs, size_t n, char **cause);
size_t	 journal_records(void);

/* ---- scontrol.c --------------------------------------------------------- */

/*
 * Run `scontrol ARGV...` as a child process watched by the loop; done is
 * called with its exit status (-1: could not run, or killed at
 * slurm.scontrol_timeout) and its output (stdout+stderr, cut).  Runs are
 * queued and at most a few run at once.
 */
typedef void (*scontrol_cb)(int status, const char *output, void *arg);
int	 scontrol_run(char *const *argv, scontrol_cb, void *arg);
size_t	 scontrol_running(void);
void	 scontrol_shutdown(void);

/* ---- slurm_nodes.c ------------------------------------------------------ */

/* One node as Slurm shows it (name borrowed: valid during the callback). */
struct slurm_node_info {
	const char	*name;
	bool		 powered_down;	/* POWERED_DOWN (idle~ / down~) */
	bool		 powering_up;	/* POWERING_UP (#) */
	bool		 powering_down;	/* POWERING_DOWN (%) or POWER_DOWN (!) */
	bool		 down;		/* base state DOWN */
	bool		 resume_timeout; /* Reason "ResumeTimeout reached..." */
};
typedef void (*slurm_node_cb)(const struct slurm_node_info *, void *arg);
/* `scontrol show nodes -o` (every version); returns the nodes seen. */
long	 slurm_nodes_parse_text(const char *, slurm_node_cb, void *);
/* `scontrol --json show nodes` (23.02+); -1 when it is not that JSON. */
long	 slurm_nodes_parse_json(const char *, size_t, slurm_node_cb, void *);

/* ---- reconcile.c -------------------------------------------------------- */

void	 reconcile_start(void);		/* arms the periodic pass */
void	 reconcile_now(void);

/* ---- metrics.c ---------------------------------------------------------- */

/* The Prometheus text exposition of everything (caller frees). */
char	*metrics_text(void);
int	 metrics_listen_start(const struct conf *, char **cause);
void	 metrics_listen_stop(void);

/* ---- notify.c ----------------------------------------------------------- */

void	 notify_ready(void);
void	 notify_reloading(void);
void	 notify_stopping(void);
void	 notify_status(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));
void	 notify_watchdog_start(void);	/* if WATCHDOG_USEC is set */
void	 notify_shutdown(void);		/* stop the watchdog timer */

/* ---- ha.c: high availability (daemon.ha) ------------------------------ */

/*
 * With daemon.ha off none of this acts: ha_start() starts the engine at
 * once and ha_active() is always true once it has.  With it on, the daemon
 * asks `scontrol ping` every daemon.ha_check_interval which slurmctld is in
 * control and is active (holds the state_dir lock, runs the engine) only
 * while that controller's host is daemon.ha_hostname; otherwise passive
 * (no journal, no CycleCloud calls; node requests are refused "busy").
 */
enum ha_role {
	HA_PASSIVE = 0,
	HA_ACTIVE,
};
/* Start: non-HA, engine_init() now (-1: it failed); HA, passive and the
 * first check is run at once. */
int	 ha_start(void);
/* Stop the checks and, when active, the engine (engine_shutdown()). */
void	 ha_stop(void);
bool	 ha_enabled(void);		/* daemon.ha of the running config */
bool	 ha_active(void);		/* the engine runs */
/* The host `scontrol ping` last named in control; NULL if unknown. */
const char *ha_active_host(void);
/* Our own name as compared with the ping's host (static storage). */
const char *ha_hostname(void);
/* "active" or "passive". */
const char *ha_role_name(void);
/*
 * Parse `scontrol ping` output: the host of the first controller listed as
 * UP, into host (size len).  Returns 0, or -1 with *cause (allocated) when
 * no line can be read or none is UP.  Exposed for the unit test.
 */
int	 ha_parse_ping(const char *output, char *host, size_t len,
	    char **cause);

#endif
