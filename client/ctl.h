/*
 * ctl.h: ccslurmctl, the admin CLI.
 *
 *   ccslurmctl [-s SOCKET] [-c CONFIG] [--json] COMMAND [ARGS...]
 *
 * Every command is one file, client/ctl_<name>.c, holding its exec function,
 * plus one line in the command table in ccslurmctl.c:
 *
 *	{ .name = "ping", .usage = "ping", .needs_daemon = 1,
 *	  .exec = ctl_ping },
 *
 * main() parses the global options, finds the command and, when the command
 * needs the daemon, connects to the socket first (exit 3 if it cannot), so a
 * command's exec only talks the protocol over ctl->fd.
 */
#ifndef CCSLURM_CTL_H
#define CCSLURM_CTL_H

#include <stddef.h>
#include <stdint.h>

/* Exit statuses of ccslurmctl (interfaces.md). */
enum ctl_exit {
	CTL_EXIT_OK = 0,		/* success */
	CTL_EXIT_FAILED = 1,		/* the request failed or was refused */
	CTL_EXIT_USAGE = 2,		/* usage error */
	CTL_EXIT_UNREACHABLE = 3,	/* the daemon cannot be reached */
};

/* Global options and state, filled by main() before a command runs. */
struct ctl {
	const char	*socket_path;	/* -s, else $CCSLURMD_SOCKET, else
					   CCSLURMD_SOCKET_PATH */
	const char	*config_path;	/* -c, else $CCSLURMD_CONFIG, else
					   CCSLURMD_CONFIG_PATH */
	int		 json;		/* --json given */
	int		 fd;		/* connected control socket when the
					   command needs_daemon, else -1;
					   main() closes it */
	const struct ctl_cmd *cmd;	/* the command being run */
};

/*
 * A command.  exec gets argc/argv starting at the command name (argv[0] is
 * "hostnames", say), so it can run getopt_long() itself after setting
 * optind = 1 (main() resets optind before the call).  It returns an exit
 * status from enum ctl_exit and prints its own errors on stderr, one line
 * each, prefixed "ccslurmctl: ".
 */
struct ctl_cmd {
	const char	*name;
	const char	*usage;		/* arguments after the name, for -h */
	int		 needs_daemon;	/* main() connects to ctl->fd first */
	int		(*exec)(struct ctl *, int argc, char **argv);
};

/* Print "usage: ccslurmctl NAME USAGE" on stderr; returns CTL_EXIT_USAGE. */
int	 ctl_usage(const struct ctl *);

/*
 * Connect to the daemon's Unix socket at path.  Returns the fd (close-on-
 * exec, blocking) or -1 with *cause set (allocated, caller frees).
 */
int	 ctl_connect(const char *path, char **cause);

/* ---- commands: one per client/ctl_<name>.c -------------------------- */

/* ctl_hostlist.c */
int	 ctl_hostnames(struct ctl *, int, char **);
int	 ctl_hostlist(struct ctl *, int, char **);

/*
 * Commands that talk to the daemon (ctl_ping.c ... ctl_metrics.c) make
 * their own round trips with ctl_call() (their table entries say
 * needs_daemon = 0): `resume --wait` needs many, and proto_call() retries a
 * restarting daemon and bounds every wait.
 */
struct json_object;
#define CTL_CALL_TIMEOUT_MS	30000	/* one request's round trip */
#define CTL_CALL_RETRY_MS	2000	/* a restarting daemon is waited for */

/*
 * Say on stderr why a proto_call*() that did not return PROTO_OK failed,
 * free cause, and return the exit status: CTL_EXIT_UNREACHABLE when the
 * daemon cannot be reached, else CTL_EXIT_FAILED.
 */
int	 ctl_call_failed(const struct ctl *, int rc, char *cause);
/*
 * Send request (NULL: "{}") of type and read its reply.  Returns
 * CTL_EXIT_OK with *reply (a new reference, caller puts it) when the daemon
 * answered with the paired reply type; otherwise prints one line on stderr
 * ("ccslurmctl: ...") and returns CTL_EXIT_UNREACHABLE (no daemon, or no
 * answer in time) or CTL_EXIT_FAILED (a PROTO_ERROR: then *reply is that
 * error's payload, for commands that show more of it; garbage: NULL).
 */
int	 ctl_call(const struct ctl *, uint16_t type, struct json_object *request,
	    struct json_object **reply);
/* "45s", "3m12s", "2h05m", "3d04h": a duration a person reads (ctl_ping.c). */
const char *ctl_fmt_age(int64_t secs, char *buf, size_t len);
int	 ctl_ping(struct ctl *, int, char **);		/* ctl_ping.c */
int	 ctl_status(struct ctl *, int, char **);	/* ctl_status.c */
int	 ctl_nodes(struct ctl *, int, char **);		/* ctl_nodes.c */
int	 ctl_resume(struct ctl *, int, char **);	/* ctl_resume.c */
int	 ctl_suspend(struct ctl *, int, char **);	/* ctl_resume.c */
int	 ctl_reload(struct ctl *, int, char **);	/* ctl_reload.c */
int	 ctl_metrics(struct ctl *, int, char **);	/* ctl_metrics.c */
int	 ctl_generate(struct ctl *, int, char **);	/* ctl_generate.c */
int	 ctl_create_nodes(struct ctl *, int, char **);	/* ctl_create_nodes.c */
int	 ctl_initialize(struct ctl *, int, char **);	/* ctl_initialize.c */
int	 ctl_check(struct ctl *, int, char **);		/* ctl_check.c */

#endif
