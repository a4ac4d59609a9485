/*
 * control.c: the control socket, the one module that owns it (after tmux's
 * proc.c and OpenBSD ntpd's control.c).
 *
 * One exchange per connection: the peer sends one frame, we answer with one
 * frame (the paired reply or PROTO_ERROR) and close once it has drained.
 * Everything a peer can do wrong ends with that peer logged and dropped,
 * never with the daemon:
 *
 *   - a length above PROTO_MAX_PAYLOAD is refused from the header, before
 *     anything is allocated for the payload;
 *   - a frame of another protocol version gets a PROTO_ERROR of our version
 *     (the shim then spools, decisions.md) and the connection is closed;
 *   - garbage gets one PROTO_ERROR line, if the peer still reads;
 *   - a peer that connects and does not send a whole frame within
 *     CONTROL_READ_TIMEOUT_MS is dropped; one that does not read our reply
 *     within CONTROL_WRITE_TIMEOUT_MS too (its reply sits in its own
 *     bufferevent, so a slow reader blocks nobody else);
 *   - beyond CONTROL_MAX_PEERS connections a newcomer is accepted, told
 *     "busy" (best effort, never blocking) and closed, with a rate-limited
 *     log line.
 *
 * Assumptions (the lead's side of ccslurmd.h): handlers run synchronously
 * and call control_reply() or control_reply_error() exactly once before
 * returning; a handler that does not is answered with an internal error.
 */
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <grp.h>
#include <libgen.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <systemd/sd-daemon.h>

#include "ccslurmd.h"
#include "log.h"
#include "util.h"
#include "xmalloc.h"

/* Log "too many peers" at most this often (ms). */
#define CONTROL_BUSY_LOG_MS 10000
#define CONTROL_BACKLOG 128

struct cpeer {
	struct peer p;
	struct bufferevent *bev;
	struct event *deadline; /* the whole request must arrive */
	struct proto_hdr hdr;
	int have_hdr;
	int replied;          /* reply queued; close when drained */
	int deferred;         /* control_defer(): reply later */
	void (*gone)(void *); /* deferred peer lost */
	void *gone_arg;
	uint64_t since_ms; /* mono: when it connected */
	TAILQ_ENTRY(cpeer) entry;
};
TAILQ_HEAD(cpeers, cpeer);

static struct {
	struct evconnlistener *listener;
	char *bound_path; /* we bound it: unlink at exit */
	struct cpeers peers;
	size_t npeers;
	struct control_stats stats;
	uint64_t busy_logged_ms;
	uint64_t busy_unlogged;
} ctl = {.peers = TAILQ_HEAD_INITIALIZER(ctl.peers)};

static void control_accept(
    struct evconnlistener *, evutil_socket_t, struct sockaddr *, int, void *);
static void peer_read(struct bufferevent *, void *);
static void peer_write(struct bufferevent *, void *);
static void peer_event(struct bufferevent *, short, void *);
static void peer_deadline(evutil_socket_t, short, void *);
static void peer_free(struct cpeer *);

const struct control_stats *
control_stats(void)
{
	return &ctl.stats;
}

size_t
control_npeers(void)
{
	return ctl.npeers;
}

bool
control_peer_privileged(const struct peer *p)
{
	return conf_user_allowed(ccsd.conf, p->uid) != 0;
}

/*
 * Is there a live daemon behind the socket at path?  A socket file left by
 * a crash refuses connections; one that accepts belongs to a running daemon
 * we must not steal it from.
 */
static int
socket_is_live(const char *path)
{
	struct sockaddr_un sun;
	int fd, live;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path))
		return 0;
	memcpy(sun.sun_path, path, strlen(path));
	if ((fd = socket(
	         AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) == -1)
		return 0;
	/* A full backlog (EAGAIN) still means somebody listens there. */
	live = connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0 ||
	       errno == EAGAIN || errno == EINPROGRESS;
	close(fd);
	return live;
}

/*
 * The socket's group: the primary group of the first allowed user (slurm),
 * so that slurmctld's shims, running as that user, may connect to a socket
 * of mode 0660 owned by root.  -1: leave it alone.
 */
static gid_t
socket_group(const struct conf *conf)
{
	struct passwd *pw;

	if (conf->daemon.nallowed == 0)
		return (gid_t)-1;
	if ((pw = getpwuid(conf->daemon.allowed_uids[0])) == NULL)
		return (gid_t)-1;
	return pw->pw_gid;
}

static int
control_bind(const struct conf *conf, char **cause)
{
	const char *path = conf->daemon.socket;
	struct sockaddr_un sun;
	struct stat sb;
	char *dir, *tmp;
	mode_t old;
	gid_t gid;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		*cause = xprintf("control socket path too long (%zu bytes, "
		                 "at most %zu): %s",
		    strlen(path), sizeof(sun.sun_path) - 1, log_esc(path));
		return -1;
	}
	memcpy(sun.sun_path, path, strlen(path));

	/* The directory is the admin's (or systemd's RuntimeDirectory=):
	 * creating it here would hide a typo in daemon.socket. */
	tmp = xstrdup(path);
	dir = dirname(tmp);
	if (stat(dir, &sb) == -1) {
		*cause = xprintf("control socket directory %s: %s",
		    log_esc(dir), strerror(errno));
		free(tmp);
		return -1;
	}
	if (!S_ISDIR(sb.st_mode)) {
		*cause = xprintf("control socket directory %s: not a "
		                 "directory",
		    log_esc(dir));
		free(tmp);
		return -1;
	}
	free(tmp);

	if (lstat(path, &sb) == 0) {
		if (!S_ISSOCK(sb.st_mode)) {
			*cause = xprintf("%s exists and is not a socket; "
			                 "not removing it",
			    log_esc(path));
			return -1;
		}
		if (socket_is_live(path)) {
			*cause = xprintf("%s: another daemon is listening "
			                 "there",
			    log_esc(path));
			return -1;
		}
		log_info("control: removing stale socket %s", log_esc(path));
		if (unlink(path) == -1 && errno != ENOENT) {
			*cause = xprintf(
			    "unlink %s: %s", log_esc(path), strerror(errno));
			return -1;
		}
	}

	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	         0)) == -1) {
		*cause = xprintf("socket: %s", strerror(errno));
		return -1;
	}
	/* Never a moment where the socket is open to everybody. */
	old = umask(0177);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		umask(old);
		*cause = xprintf("bind %s: %s", log_esc(path), strerror(errno));
		close(fd);
		return -1;
	}
	umask(old);
	if ((gid = socket_group(conf)) != (gid_t)-1 &&
	    chown(path, (uid_t)-1, gid) == -1)
		log_warn("control: chown %s to gid %u", log_esc(path),
		    (unsigned)gid);
	if (chmod(path, 0660) == -1 || listen(fd, CONTROL_BACKLOG) == -1) {
		*cause =
		    xprintf("listen %s: %s", log_esc(path), strerror(errno));
		close(fd);
		unlink(path);
		return -1;
	}
	ctl.bound_path = xstrdup(path);
	log_info("control: listening on %s", log_esc(path));
	return fd;
}

int
control_init(const struct conf *conf, char **cause)
{
	int fd = -1, n;

	n = sd_listen_fds(1);
	if (n < 0)
		log_warnx("control: sd_listen_fds: %s", strerror(-n));
	else if (n > 0) {
		fd = SD_LISTEN_FDS_START;
		if (sd_is_socket_unix(fd, SOCK_STREAM, 1, NULL, 0) <= 0) {
			*cause = xprintf("the socket systemd passed (fd %d) is "
			                 "not a listening Unix stream socket",
			    fd);
			return -1;
		}
		if (n > 1)
			log_warnx("control: systemd passed %d sockets; using "
			          "the first",
			    n);
		if (fd_set_nonblock(fd) == -1 || fd_set_cloexec(fd) == -1) {
			*cause =
			    xprintf("socket from systemd: %s", strerror(errno));
			return -1;
		}
		log_info("control: using the socket systemd passed");
	}
	if (fd == -1 && (fd = control_bind(conf, cause)) == -1)
		return -1;

	ctl.listener = evconnlistener_new(ccsd.base, control_accept, NULL,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1, fd);
	if (ctl.listener == NULL) {
		*cause = xprintf("evconnlistener_new failed");
		close(fd);
		return -1;
	}
	return 0;
}

void
control_shutdown(void)
{
	struct cpeer *cp;

	if (ctl.listener != NULL) {
		evconnlistener_free(ctl.listener);
		ctl.listener = NULL;
	}
	if (ctl.bound_path != NULL) {
		unlink(ctl.bound_path);
		free(ctl.bound_path);
		ctl.bound_path = NULL;
	}
	while ((cp = TAILQ_FIRST(&ctl.peers)) != NULL)
		peer_free(cp);
}

/* Over the limit: say so without ever blocking, then close. */
static void
control_refuse_busy(int fd)
{
	json_object *err;
	void *frame;
	size_t len;
	uint64_t now;
	ssize_t r;

	ctl.stats.refused_busy++;
	err = proto_error_json("ccslurmd is busy: %d connections open; "
	                       "try again",
	    CONTROL_MAX_PEERS);
	if (proto_frame_build(PROTO_ERROR, err, &frame, &len, NULL) == 0) {
		r = send(fd, frame, len, MSG_DONTWAIT | MSG_NOSIGNAL);
		(void)r;
		free(frame);
	}
	json_object_put(err);
	close(fd);

	now = now_mono_ms();
	if (ctl.busy_logged_ms == 0 ||
	    now - ctl.busy_logged_ms >= CONTROL_BUSY_LOG_MS) {
		log_warnx("control: %d peers connected; refused %llu "
		          "connection(s)",
		    CONTROL_MAX_PEERS,
		    (unsigned long long)ctl.busy_unlogged + 1);
		ctl.busy_logged_ms = now;
		ctl.busy_unlogged = 0;
	} else
		ctl.busy_unlogged++;
}

/*
 * At the limit, a peer that connected and has sent nothing for a while
 * makes room for the newcomer: otherwise anyone able to connect could hold
 * every slot with silent connections, and every shim would be told "busy"
 * until the read deadline.  Real clients write at once after connecting.
 */
#define CONTROL_EVICT_MIN_AGE_MS 100

static bool
evict_silent_peer(void)
{
	struct cpeer *cp;
	uint64_t now = now_mono_ms();

	TAILQ_FOREACH(cp, &ctl.peers, entry) {
		if (cp->have_hdr || cp->replied || cp->deferred ||
		    now - cp->since_ms < CONTROL_EVICT_MIN_AGE_MS)
			continue;
		if (evbuffer_get_length(bufferevent_get_input(cp->bev)) > 0)
			continue;
		log_debug("control: %s dropped: silent while others wait",
		    cp->p.name);
		ctl.stats.timeouts++;
		peer_free(cp);
		return true;
	}
	return false;
}

static void
control_accept(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct timeval rtv, wtv;
	struct ucred cred;
	socklen_t credlen = sizeof(cred);
	struct cpeer *cp;

	ctl.stats.connections++;
	if (ctl.npeers >= CONTROL_MAX_PEERS && !evict_silent_peer()) {
		control_refuse_busy(fd);
		return;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &credlen) == -1) {
		log_warn("control: SO_PEERCRED");
		close(fd);
		return;
	}

	cp = xcalloc(1, sizeof(*cp));
	cp->since_ms = now_mono_ms();
	cp->p.fd = fd;
	cp->p.uid = cred.uid;
	cp->p.gid = cred.gid;
	cp->p.pid = cred.pid;
	cp->p.priv = cp;
	snprintf(cp->p.name, sizeof(cp->p.name), "uid %u pid %d",
	    (unsigned)cred.uid, (int)cred.pid);

	cp->bev = bufferevent_socket_new(ccsd.base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (cp->bev == NULL) {
		log_warnx(
		    "control: %s: bufferevent_socket_new failed", cp->p.name);
		close(fd);
		free(cp);
		return;
	}
	bufferevent_setcb(cp->bev, peer_read, NULL, peer_event, cp);
	/* The read deadline is a timer (a trickle of bytes does not extend
	 * it); the write timeout is the bufferevent's own. */
	wtv.tv_sec = CONTROL_WRITE_TIMEOUT_MS / 1000;
	wtv.tv_usec = (CONTROL_WRITE_TIMEOUT_MS % 1000) * 1000;
	bufferevent_set_timeouts(cp->bev, NULL, &wtv);
	bufferevent_enable(cp->bev, EV_READ);

	cp->deadline = evtimer_new(ccsd.base, peer_deadline, cp);
	rtv.tv_sec = CONTROL_READ_TIMEOUT_MS / 1000;
	rtv.tv_usec = (CONTROL_READ_TIMEOUT_MS % 1000) * 1000;
	evtimer_add(cp->deadline, &rtv);

	TAILQ_INSERT_TAIL(&ctl.peers, cp, entry);
	ctl.npeers++;
	log_debug("control: %s connected", cp->p.name);
}

static void
peer_free(struct cpeer *cp)
{
	/* A handler still holding this peer must forget it. */
	if (cp->deferred && !cp->replied && cp->gone != NULL)
		cp->gone(cp->gone_arg);
	TAILQ_REMOVE(&ctl.peers, cp, entry);
	ctl.npeers--;
	if (cp->deadline != NULL)
		event_free(cp->deadline);
	bufferevent_free(cp->bev); /* closes the fd */
	free(cp);
}

static void peer_queue(
    struct cpeer *, const void *, size_t, const void *, size_t);

/* Queue one frame; the peer is closed once it has drained. */
static void
peer_send(struct cpeer *cp, uint16_t type, json_object *payload)
{
	json_object *err;
	char *cause = NULL;
	void *frame;
	size_t len;

	if (cp->replied) {
		log_warnx("control: %s: second reply (%s) dropped", cp->p.name,
		    proto_type_name(type));
		return;
	}
	if (proto_frame_build(type, payload, &frame, &len, &cause) == -1) {
		log_warnx("control: %s: cannot send %s: %s", cp->p.name,
		    proto_type_name(type), cause);
		err = proto_error_json("reply not sent: %s", cause);
		free(cause);
		if (proto_frame_build(PROTO_ERROR, err, &frame, &len, NULL) ==
		    -1)
			fatalx("control: cannot build an error frame");
		json_object_put(err);
	}
	peer_queue(cp, frame, len, NULL, 0);
	free(frame);
}

/*
 * Queue a frame given in two parts (b may be NULL) and end the exchange:
 * the peer is closed once it has drained.  Both are copied.
 */
static void
peer_queue(
    struct cpeer *cp, const void *a, size_t alen, const void *b, size_t blen)
{
	cp->replied = 1;
	if (cp->deadline != NULL) {
		event_free(cp->deadline);
		cp->deadline = NULL;
	}
	/* No more input: one request per connection. */
	bufferevent_disable(cp->bev, EV_READ);
	bufferevent_setcb(cp->bev, NULL, peer_write, peer_event, cp);
	if (bufferevent_write(cp->bev, a, alen) == -1 ||
	    (b != NULL && bufferevent_write(cp->bev, b, blen) == -1))
		fatalx("control: bufferevent_write: out of memory");
	bufferevent_enable(cp->bev, EV_WRITE);
}

void
control_defer(struct peer *p, void (*gone)(void *), void *arg)
{
	struct cpeer *cp = p->priv;

	cp->deferred = 1;
	cp->gone = gone;
	cp->gone_arg = arg;
	/* The request is in; only the reply is awaited now. */
	if (cp->deadline != NULL) {
		event_free(cp->deadline);
		cp->deadline = NULL;
	}
}

void
control_reply(struct peer *p, uint16_t type, json_object *payload)
{
	peer_send(p->priv, type, payload);
}

void
control_reply_raw(struct peer *p, uint16_t type, const char *json, size_t len)
{
	struct cpeer *cp = p->priv;
	unsigned char hdr[PROTO_HDR_SIZE];
	char *cause = NULL;

	if (cp->replied) {
		log_warnx("control: %s: second reply (%s) dropped", cp->p.name,
		    proto_type_name(type));
		return;
	}
	/* The header alone: no copy of a payload of megabytes into a frame. */
	if (len == 0 || json[0] != '{' ||
	    proto_header_build(type, len, hdr, &cause) == -1) {
		log_warnx("control: %s: cannot send %s: %s", cp->p.name,
		    proto_type_name(type),
		    cause != NULL ? cause : "payload is not an object");
		control_reply_error(p, "reply not sent: %s",
		    cause != NULL ? cause : "payload is not an object");
		free(cause);
		return;
	}
	peer_queue(cp, hdr, sizeof(hdr), json, len);
}

void
control_reply_error(struct peer *p, const char *fmt, ...)
{
	json_object *err;
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) == -1)
		fatalx("control: vasprintf failed");
	va_end(ap);
	err = proto_error_json("%s", msg);
	free(msg);
	peer_send(p->priv, PROTO_ERROR, err);
	json_object_put(err);
}

/* What a refused privileged request was trying to do, for the message. */
static const char *
request_verb(uint16_t type)
{
	switch (type) {
	case PROTO_RESUME:
		return "resume nodes";
	case PROTO_SUSPEND:
		return "suspend nodes";
	case PROTO_RESUMEFAIL:
		return "fail nodes";
	case PROTO_RELOAD:
		return "reload the configuration";
	case PROTO_CREATE_NODES:
		return "create nodes";
	default:
		return "change node state";
	}
}

static void
peer_refuse_perm(struct cpeer *cp, uint16_t type)
{
	const struct conf *conf = ccsd.conf;
	char *allowed, *tmp;
	size_t i;

	ctl.stats.refused_perm++;
	allowed = xstrdup("root");
	for (i = 0; i < conf->daemon.nallowed; i++) {
		tmp = xprintf("%s, %s", allowed, conf->daemon.allowed_names[i]);
		free(allowed);
		allowed = tmp;
	}
	log_warnx("control: %s: %s refused: uid %u may not %s", cp->p.name,
	    proto_type_name(type), (unsigned)cp->p.uid, request_verb(type));
	control_reply_error(&cp->p,
	    "permission denied: uid %u may not %s "
	    "(allowed: %s)",
	    (unsigned)cp->p.uid, request_verb(type), allowed);
	free(allowed);
}

static void
peer_dispatch(struct cpeer *cp, json_object *payload)
{
	const struct req_handler *h;
	uint16_t type = cp->hdr.type;

	if (!proto_is_request(type) || (h = req_find(type)) == NULL) {
		ctl.stats.bad_frames++;
		log_warnx("control: %s: unsupported request %s (%u)",
		    cp->p.name,
		    proto_type_name(type) != NULL ? proto_type_name(type) : "?",
		    type);
		control_reply_error(
		    &cp->p, "unsupported request type %u", type);
		return;
	}
	if (h - req_handlers < (ptrdiff_t)nitems(ctl.stats.handled))
		ctl.stats.handled[h - req_handlers]++;
	if (h->privileged && !control_peer_privileged(&cp->p)) {
		peer_refuse_perm(cp, type);
		return;
	}
	log_debug("control: %s: %s", cp->p.name, proto_type_name(type));
	h->handle(&cp->p, payload);
	if (!cp->replied && !cp->deferred) {
		log_warnx("control: %s: handler of %s did not reply",
		    cp->p.name, proto_type_name(type));
		control_reply_error(&cp->p, "internal error: no reply");
	}
}

static void
peer_read(struct bufferevent *bev, void *arg)
{
	struct cpeer *cp = arg;
	static unsigned char empty[1];
	struct evbuffer *in = bufferevent_get_input(bev);
	json_object *payload = NULL;
	char *cause = NULL;
	unsigned char *buf;
	int rc;

	if (cp->deferred) {
		/* One request per connection: ignore what follows it. */
		evbuffer_drain(in, evbuffer_get_length(in));
		return;
	}
	if (!cp->have_hdr) {
		if (evbuffer_get_length(in) < PROTO_HDR_SIZE)
			return;
		buf = evbuffer_pullup(in, PROTO_HDR_SIZE);
		rc = proto_header_parse(buf, PROTO_HDR_SIZE, &cp->hdr, &cause);
		if (rc == PROTO_EVERSION) {
			ctl.stats.bad_frames++;
			log_warnx("control: %s: protocol version %u, not %u",
			    cp->p.name, cp->hdr.version, PROTO_VERSION);
			control_reply_error(&cp->p,
			    "protocol version %u not "
			    "supported: ccslurmd %s speaks version %u",
			    cp->hdr.version, CCSLURMD_VERSION, PROTO_VERSION);
			free(cause);
			return;
		}
		if (rc != PROTO_OK) {
			ctl.stats.bad_frames++;
			log_warnx("control: %s: bad frame: %s", cp->p.name,
			    cause != NULL ? cause : "?");
			control_reply_error(&cp->p, "%s",
			    cause != NULL ? cause : "bad frame header");
			free(cause);
			return;
		}
		evbuffer_drain(in, PROTO_HDR_SIZE);
		cp->have_hdr = 1;
		/* Wake up only once the whole payload is here. */
		bufferevent_setwatermark(bev, EV_READ, cp->hdr.length, 0);
	}
	if (evbuffer_get_length(in) < cp->hdr.length)
		return;
	if (evbuffer_get_length(in) > cp->hdr.length) {
		ctl.stats.bad_frames++;
		log_warnx(
		    "control: %s: bytes after the request frame", cp->p.name);
		control_reply_error(&cp->p, "frame: bytes after the request "
		                            "(one request per connection)");
		return;
	}
	if (cp->hdr.length == 0)
		buf = empty;
	else
		buf = evbuffer_pullup(in, cp->hdr.length);
	if (proto_payload_parse(&cp->hdr, buf, &payload, &cause) != PROTO_OK) {
		ctl.stats.bad_frames++;
		log_warnx("control: %s: %s", cp->p.name,
		    cause != NULL ? cause : "bad payload");
		control_reply_error(
		    &cp->p, "%s", cause != NULL ? cause : "bad payload");
		free(cause);
		return;
	}
	evbuffer_drain(in, cp->hdr.length);
	peer_dispatch(cp, payload);
	json_object_put(payload);
}

static void
peer_write(struct bufferevent *bev, void *arg)
{
	struct cpeer *cp = arg;

	/* Called once the output buffer has drained: the exchange is over. */
	if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		peer_free(cp);
}

static void
peer_event(struct bufferevent *bev, short what, void *arg)
{
	struct cpeer *cp = arg;

	if (what & BEV_EVENT_TIMEOUT) {
		ctl.stats.timeouts++;
		log_warnx("control: %s: did not read its reply in %d ms; "
		          "dropped",
		    cp->p.name, CONTROL_WRITE_TIMEOUT_MS);
	} else if (what & BEV_EVENT_ERROR)
		log_debug("control: %s: %s", cp->p.name,
		    evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
	else if ((what & BEV_EVENT_EOF) && !cp->replied && !cp->deferred &&
	         cp->have_hdr)
		log_warnx(
		    "control: %s: closed in the middle of a frame", cp->p.name);
	peer_free(cp);
}

static void
peer_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct cpeer *cp = arg;

	ctl.stats.timeouts++;
	log_warnx("control: %s: no complete request in %d ms; dropped",
	    cp->p.name, CONTROL_READ_TIMEOUT_MS);
	peer_free(cp);
}
