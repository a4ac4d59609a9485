/*
 * ccslurmctl.c: the admin CLI's main(): global options, the command table,
 * and the connection to the daemon for the commands that need it.
 *
 * Adding a command: write client/ctl_<name>.c with its exec function,
 * declare it in ctl.h, add one line to ctl_cmds[] below and one source
 * line to client/CMakeLists.txt.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"
#include "log.h"
#include "paths.h"
#include "util.h"
#include "xmalloc.h"

static const struct ctl_cmd ctl_cmds[] = {
	{ .name = "hostnames", .usage = "HOSTLIST", .needs_daemon = 0,
	  .exec = ctl_hostnames },
	{ .name = "hostlist", .usage = "NAME[,NAME...]", .needs_daemon = 0,
	  .exec = ctl_hostlist },
	/* These make their own round trips with ctl_call() (ctl.h). */
	{ .name = "ping", .usage = "", .needs_daemon = 0, .exec = ctl_ping },
	{ .name = "status", .usage = "[--json]", .needs_daemon = 0,
	  .exec = ctl_status },
	{ .name = "nodes", .usage = "[--json] [HOSTLIST]", .needs_daemon = 0,
	  .exec = ctl_nodes },
	{ .name = "resume", .usage = "HOSTLIST [--wait]", .needs_daemon = 0,
	  .exec = ctl_resume },
	{ .name = "suspend", .usage = "HOSTLIST [--wait]", .needs_daemon = 0,
	  .exec = ctl_suspend },
	{ .name = "reload", .usage = "", .needs_daemon = 0,
	  .exec = ctl_reload },
	{ .name = "metrics", .usage = "", .needs_daemon = 0,
	  .exec = ctl_metrics },
	{ .name = "generate", .usage = "[--output-dir DIR] [--dry-run] "
	  "[--json]", .needs_daemon = 0, .exec = ctl_generate },
	{ .name = "create-nodes", .usage = "[--policy error|allow-existing] "
	  "[--dry-run] [--json]", .needs_daemon = 0, .exec = ctl_create_nodes },
	{ .name = "initialize", .usage = "--url U --cluster C --username N "
	  "--password-file F [--ca-file F] [--no-verify-tls] [--force]",
	  .needs_daemon = 0, .exec = ctl_initialize },
	{ .name = "check", .usage = "[--slurm-conf FILE] [--no-daemon] "
	  "[--json]",
	  .needs_daemon = 0, .exec = ctl_check },
};

static void
usage_all(FILE *f)
{
	size_t i;

	fprintf(f, "usage: ccslurmctl [-s SOCKET] [-c CONFIG] [--json] "
	    "COMMAND [ARGS...]\n       ccslurmctl --version\ncommands:\n");
	for (i = 0; i < nitems(ctl_cmds); i++)
		fprintf(f, "  %s %s\n", ctl_cmds[i].name, ctl_cmds[i].usage);
}

int
ctl_usage(const struct ctl *ctl)
{
	fprintf(stderr, "usage: ccslurmctl %s %s\n", ctl->cmd->name,
	    ctl->cmd->usage);
	return CTL_EXIT_USAGE;
}

int
ctl_connect(const char *path, char **cause)
{
	struct sockaddr_un sun;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		*cause = xprintf("socket path too long: %s", log_esc(path));
		return -1;
	}
	strcpy(sun.sun_path, path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		*cause = xprintf("socket: %s", strerror(errno));
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		*cause = xprintf("cannot connect to %s: %s", log_esc(path),
		    strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static const struct ctl_cmd *
find_cmd(const char *name)
{
	size_t i;

	for (i = 0; i < nitems(ctl_cmds); i++) {
		if (strcmp(ctl_cmds[i].name, name) == 0)
			return &ctl_cmds[i];
	}
	return NULL;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "socket", required_argument, NULL, 's' },
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct ctl ctl;
	char *cause = NULL;
	const char *env;
	int ch, rc;

	fd_ensure_std();
	log_init("ccslurmctl", LOG_LVL_WARNING, LOG_TO_STDERR);
	memset(&ctl, 0, sizeof(ctl));
	ctl.fd = -1;
	ctl.socket_path = CCSLURMD_SOCKET_PATH;
	if ((env = getenv("CCSLURMD_SOCKET")) != NULL && *env != '\0')
		ctl.socket_path = env;
	ctl.config_path = CCSLURMD_CONFIG_PATH;
	if ((env = getenv("CCSLURMD_CONFIG")) != NULL && *env != '\0')
		ctl.config_path = env;

	/* "+": stop at the command name; its options are its own. */
	while ((ch = getopt_long(argc, argv, "+c:hs:V", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'c':
			ctl.config_path = optarg;
			break;
		case 's':
			ctl.socket_path = optarg;
			break;
		case 'j':
			ctl.json = 1;
			break;
		case 'h':
			usage_all(stdout);
			return CTL_EXIT_OK;
		case 'V':
			printf("ccslurmctl %s\n", CCSLURMD_VERSION);
			return CTL_EXIT_OK;
		default:
			usage_all(stderr);
			return CTL_EXIT_USAGE;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1) {
		usage_all(stderr);
		return CTL_EXIT_USAGE;
	}
	if ((ctl.cmd = find_cmd(argv[0])) == NULL) {
		fprintf(stderr, "ccslurmctl: unknown command: %s\n",
		    log_esc(argv[0]));
		usage_all(stderr);
		return CTL_EXIT_USAGE;
	}
	if (ctl.cmd->needs_daemon) {
		if ((ctl.fd = ctl_connect(ctl.socket_path, &cause)) == -1) {
			fprintf(stderr, "ccslurmctl: ccslurmd unreachable: "
			    "%s\n", cause);
			free(cause);
			return CTL_EXIT_UNREACHABLE;
		}
	}
	optind = 1;
	rc = ctl.cmd->exec(&ctl, argc, argv);
	if (ctl.fd != -1)
		close(ctl.fd);
	if (fflush(stdout) == EOF || ferror(stdout)) {
		fprintf(stderr, "ccslurmctl: writing output: %s\n",
		    strerror(errno));
		return CTL_EXIT_FAILED;
	}
	return rc;
}
