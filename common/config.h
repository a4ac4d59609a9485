/*
 * config.h: the YAML configuration of ccslurmd (docs/configuration.md).
 *
 * The file is parsed once into a struct conf, checked completely, and then
 * read-only: a reload parses a new one and swaps it whole, or keeps the old
 * one and prints why.  Every problem found is collected (not only the first)
 * as "FILE:LINE: message", so `ccslurmd -n` shows them all in one go.
 *
 * The CycleCloud password is not part of struct conf: conf_read_password()
 * fetches it when it is needed and the caller wipes it after use.  Nothing
 * in this module ever puts the password in an error text or a log line.
 */
#ifndef CCSLURM_CONFIG_H
#define CCSLURM_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "log.h"
#include "paths.h"

/* Defaults (the key each is for).  Durations in milliseconds. */
#define CONF_DEFAULT_VERIFY_TLS		1	/* cyclecloud.verify_tls */
#define CONF_DEFAULT_CC_TIMEOUT_MS	60000	/* cyclecloud.timeout */
#define CONF_DEFAULT_MAX_CONNECTIONS	4	/* cyclecloud.max_connections */
#define CONF_DEFAULT_RETRY_MAX_ATTEMPTS	5	/* .retry_max_attempts */
#define CONF_DEFAULT_RETRY_MAX_TIME_MS	300000	/* .retry_max_time: 5m */
#define CONF_DEFAULT_SCONTROL		"scontrol" /* slurm.scontrol ($PATH) */
#define CONF_DEFAULT_SLURM_CONFIG_DIR	"/sched" /* slurm.config_dir */
#define CONF_DEFAULT_SCONTROL_TIMEOUT_MS 60000	/* slurm.scontrol_timeout */
#define CONF_DEFAULT_SOCKET		CCSLURMD_SOCKET_PATH /* daemon.socket */
#define CONF_DEFAULT_STATE_DIR		CCSLURMD_STATE_DIR /* .state_dir */
#define CONF_DEFAULT_SPOOL_DIR		CCSLURMD_SPOOL_DIR /* .spool_dir */
#define CONF_DEFAULT_BATCH_WINDOW_MS	500	/* daemon.batch_window */
#define CONF_DEFAULT_POLL_INTERVAL_MS	5000	/* daemon.poll_interval: 5s */
#define CONF_DEFAULT_SHUTDOWN		CONF_SHUTDOWN_POLICY /* .shutdown */
/*
 * daemon.allowed_users: "slurm" when that user exists on this machine; when
 * it does not (a controller whose SlurmUser is another account), the default
 * is nobody but root, without an error: the admin did not write the name.
 */
#define CONF_DEFAULT_ALLOWED_USER	"slurm"
#define CONF_DEFAULT_RECONCILE_MS	300000	/* .reconcile_interval: 5m */
#define CONF_DEFAULT_ORPHAN_GRACE_MS	600000	/* daemon.orphan_grace: 10m */
#define CONF_DEFAULT_AUTH_GRACE_MS	60000	/* daemon.auth_grace: 60s */
/* daemon.ha: off; daemon.ha_hostname: NULL, i.e. gethostname()'s short name */
#define CONF_DEFAULT_HA_CHECK_INTERVAL_MS 5000	/* daemon.ha_check_interval */
#define CONF_DEFAULT_LOG_LEVEL		LOG_LVL_INFO /* log.level */
/* metrics.listen: off (NULL) unless configured, e.g. "127.0.0.1:9469". */

/* The systemd credential that, when present, wins over password_file. */
#define CONF_CREDENTIAL_NAME		"cyclecloud-password"
/* Larger config files are refused rather than parsed. */
#define CONF_MAX_FILE_SIZE		(1024 * 1024)
/* Longest password accepted, in bytes. */
#define CONF_MAX_PASSWORD_LEN		4096

enum conf_shutdown {
	CONF_SHUTDOWN_POLICY = 0,	/* each node's ShutdownPolicy */
	CONF_SHUTDOWN_TERMINATE,	/* always terminate (delete the VM) */
	CONF_SHUTDOWN_DEALLOCATE,	/* always deallocate (keep the disk) */
};

struct conf {
	char	*path;			/* file it was loaded from */

	struct {
		char	*url;		/* required; http:// or https:// */
		char	*cluster;	/* required; CycleCloud cluster name */
		char	*username;	/* required */
		char	*password_file;	/* absolute path; NULL when only the
					   credential is used */
		int	 has_credential; /* 1: $CREDENTIALS_DIRECTORY held
					   CONF_CREDENTIAL_NAME at load time */
		int	 verify_tls;	/* bool; CONF_DEFAULT_VERIFY_TLS */
		char	*ca_file;	/* absolute path; NULL: system CAs */
		uint64_t timeout_ms;	/* per HTTP request, ms;
					   CONF_DEFAULT_CC_TIMEOUT_MS */
		char	*proxy;		/* proxy URL; NULL: no proxy */
		unsigned max_connections; /* to the CycleCloud host, 1..64;
					   CONF_DEFAULT_MAX_CONNECTIONS */
		unsigned retry_max_attempts; /* tries of one retryable request
					   (429, 5xx, network), first
					   included, 1..100;
					   CONF_DEFAULT_RETRY_MAX_ATTEMPTS */
		uint64_t retry_max_time_ms; /* give up retrying after, ms;
					   CONF_DEFAULT_RETRY_MAX_TIME_MS */
	} cc;

	struct {
		char	*scontrol;	/* absolute path or a name looked up in
					   $PATH; CONF_DEFAULT_SCONTROL */
		char	*config_dir;	/* absolute; where generate writes;
					   CONF_DEFAULT_SLURM_CONFIG_DIR */
		uint64_t scontrol_timeout_ms; /* one scontrol run is killed
					   after, ms;
					   CONF_DEFAULT_SCONTROL_TIMEOUT_MS */
	} slurm;

	struct {
		char	*socket;	/* absolute; CONF_DEFAULT_SOCKET */
		char	*state_dir;	/* absolute; CONF_DEFAULT_STATE_DIR */
		char	*spool_dir;	/* absolute; CONF_DEFAULT_SPOOL_DIR */
		uint64_t batch_window_ms; /* ms; CONF_DEFAULT_BATCH_WINDOW_MS */
		uint64_t poll_interval_ms; /* ms;
					   CONF_DEFAULT_POLL_INTERVAL_MS */
		enum conf_shutdown shutdown; /* CONF_DEFAULT_SHUTDOWN */
		size_t	 nallowed;	/* entries in the two arrays below */
		char	**allowed_names; /* user names as written (or the
					   default), root not included */
		uid_t	*allowed_uids;	/* their uids, same order */
		uint64_t reconcile_interval_ms;	/* ms;
					   CONF_DEFAULT_RECONCILE_MS */
		uint64_t orphan_grace_ms; /* ms;
					   CONF_DEFAULT_ORPHAN_GRACE_MS */
		uint64_t auth_grace_ms;	/* ms; CONF_DEFAULT_AUTH_GRACE_MS */
		int	 ha;		/* bool; off: always active */
		char	*ha_hostname;	/* as in `scontrol ping`; NULL: the
					   short gethostname() */
		uint64_t ha_check_interval_ms; /* ms;
					   CONF_DEFAULT_HA_CHECK_INTERVAL_MS */
	} daemon;

	struct {
		enum log_level level;	/* CONF_DEFAULT_LOG_LEVEL */
	} log;

	struct {
		char	*listen;	/* "HOST:PORT" as written; NULL: off */
		char	*host;		/* HOST without brackets; NULL: off */
		uint16_t port;		/* PORT; 0: off */
	} metrics;
};

/* One problem found in a config file. */
struct conf_error {
	char		*file;		/* the file's name as given */
	unsigned long	 line;		/* 1-based; 0: the file as a whole */
	char		*message;	/* without file and line */
	char		*text;		/* "FILE:LINE: message" ("FILE: message"
					   when line is 0) */
};

/* All problems found, in the order of their lines.  Zero-initialise. */
struct conf_errors {
	struct conf_error *v;
	size_t		 n;
};

/*
 * Load and check a config file.  On success returns 0 and *out is a new
 * struct conf (free with conf_free()) and errs is untouched.  On failure
 * returns -1, *out is NULL, and every problem is appended to errs (the
 * caller prints and then frees them with conf_errors_free()).
 * CONF_MAX_FILE_SIZE bounds the file.
 */
int	 conf_load(const char *path, struct conf **out,
	    struct conf_errors *errs);

/*
 * The same with flags.  CONF_LOAD_NO_SECRET: skip everything about the
 * password (its presence, the file's owner and mode), for tools that read
 * only paths and settings (ccslurmctl generate as root, while the file
 * belongs to the daemon's user).
 */
#define CONF_LOAD_NO_SECRET	0x1
int	 conf_load_flags(const char *path, unsigned flags, struct conf **out,
	    struct conf_errors *errs);

/*
 * The same from a memory buffer (tests, fuzzing); name is used as the FILE
 * in errors and as conf->path.  buf need not be NUL-terminated.
 */
int	 conf_load_buffer(const char *name, const char *buf, size_t len,
	    struct conf **out, struct conf_errors *errs);

void	 conf_free(struct conf *);
void	 conf_errors_free(struct conf_errors *);	/* and re-zero it */

/* Print each error's text on its own line. */
void	 conf_errors_print(const struct conf_errors *, FILE *);

/*
 * `ccslurmd -n -c FILE`: load FILE, print "configuration OK" on out, or
 * every error on err.  Returns the exit status: 0 OK, 1 errors.
 */
int	 conf_check_print(const char *path, FILE *out, FILE *err);
int	 conf_check_main(const char *path);	/* stdout and stderr */

/* 1 when uid may resume/suspend/reload: root or daemon.allowed_users. */
int	 conf_user_allowed(const struct conf *, uid_t);

/* "policy", "terminate" or "deallocate". */
const char *conf_shutdown_name(enum conf_shutdown);

/*
 * Read the CycleCloud password: $CREDENTIALS_DIRECTORY/cyclecloud-password
 * when that exists, else cyclecloud.password_file, whose owner (the
 * effective user) and mode (0600 or stricter) are checked again on the open
 * file.  One trailing newline ("\n" or "\r\n") is removed; an empty password
 * is refused.  On success *password is allocated and the caller must
 * explicit_bzero() it before free().  On failure returns -1 and *cause
 * (allocated, the caller frees) says why without ever quoting the file's
 * content.
 */
int	 conf_read_password(const struct conf *, char **password,
	    char **cause);

#endif
