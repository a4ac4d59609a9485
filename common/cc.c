/*
 * cc.c: the CycleCloud REST client's transport: libcurl's multi interface on
 * the caller's libevent loop, retries with a shared throttle limiter, the
 * 409 look-up by requestId, error classification and statistics.
 *
 * Life of a call (struct cc_req): made by one of the cc_* entry points, it
 * starts an attempt at once (or when the shared limiter allows), gets one
 * CURL easy handle per attempt (the multi handle keeps the connections, so
 * attempts reuse them), and when the attempt ends either finishes the call
 * (callback, then freed) or arms its retry timer.  A 409 on a call with a
 * requestId parks the call and starts a child look-up; the child's end
 * finishes the parent.
 */
#include <sys/queue.h>

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <event2/event.h>
#include <event2/event_struct.h>

#include "cc.h"
#include "cc_stream.h"
#include "log.h"
#include "paths.h"
#include "util.h"
#include "xmalloc.h"

#define CC_DEFAULT_TIMEOUT_MS		60000	/* one attempt */
#define CC_DEFAULT_CONNECT_TIMEOUT_MS	10000
#define CC_DEFAULT_MAX_HOST_CONNECTIONS	4
#define CC_DEFAULT_MAX_ATTEMPTS		5
#define CC_DEFAULT_RETRY_BUDGET_MS	120000	/* a whole call */
#define CC_DEFAULT_BACKOFF_BASE_MS	500
#define CC_DEFAULT_BACKOFF_MAX_MS	30000
#define CC_DEFAULT_MAX_BODY		((size_t)1 << 30)

/*
 * When the limiter releases the calls it held, each waits a little more at
 * random (up to this, or a tenth of the wait) so they do not all hit the
 * server in the same instant.
 */
#define CC_RELEASE_SPREAD_MS		1000

const double cc_latency_bounds[CC_LATENCY_NBUCKETS] = {
	0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10
};

enum cc_kind {
	CC_K_STATUS,
	CC_K_NODES,
	CC_K_CREATE,
	CC_K_ACTION,
	CC_K_OPERATION,
};

struct cc_sock {
	struct cc_client	*cc;
	curl_socket_t		 fd;
	struct event		 ev;
};

struct cc_req {
	TAILQ_ENTRY(cc_req)	 entry;
	TAILQ_ENTRY(cc_req)	 qentry;	/* waiting for a connection */
	int			 queued;
	struct cc_client	*cc;
	enum cc_kind		 kind;
	enum cc_endpoint	 ep;
	char			*url;
	char			*what;		/* "POST /clusters/c/..." */
	char			*body;		/* POST body or NULL */
	char			*request_id;	/* POSTs only */
	cc_cb			 cb;
	void			*arg;

	unsigned		 attempts;
	uint64_t		 start_ms;
	uint64_t		 attempt_ms;
	struct event		 timer;		/* retry / limiter wait */
	CURL			*easy;
	char			 errbuf[CURL_ERROR_SIZE];
	char			*resp;
	size_t			 resp_len;
	size_t			 resp_cap;
	int			 too_big;
	/*
	 * A 2xx status or node list is parsed as it arrives (-1: not decided
	 * yet, at the first byte): its ~120 MB at 50,000 nodes are never held.
	 */
	int			 streaming;
	struct cc_stream	*stream;
	int64_t			 retry_after_ms; /* -1: none */

	/* The last failure, reported if the call gives up. */
	long			 last_status;

	/* A 409 look-up: the parked parent, or the look-up child. */
	struct cc_req		*parent;
	struct cc_req		*child;
	enum cc_err		 conflict_err;
	char			*conflict_msg;
};

TAILQ_HEAD(cc_reqs, cc_req);

struct cc_client {
	struct event_base	*base;
	CURLM			*multi;
	struct event		 timer;		/* libcurl's timeout */

	char			*base_url;	/* no trailing '/' */
	char			*cluster_path;	/* "/clusters/<escaped>" */
	char			*username;
	char			*password;	/* wiped on free */
	char			*ca_file;
	char			*proxy;
	char			*user_agent;
	struct curl_slist	*headers;
	struct cc_settings	 s;		/* limits; strings not used */

	struct cc_reqs		 reqs;
	size_t			 npending;
	/*
	 * At most max_host_connections transfers are handed to libcurl; the
	 * rest wait here, so a call's timeout counts from when it really is
	 * sent, not from when it joined a queue inside libcurl.
	 */
	TAILQ_HEAD(, cc_req)	 queue;
	size_t			 nactive;
	uint64_t		 throttle_until_ms; /* monotonic; 0: none */
	struct cc_stats		 stats;
};

static void	attempt_start(struct cc_req *);
static void	check_done(struct cc_client *);

/* ---- Names ------------------------------------------------------------- */

const char *
cc_err_name(enum cc_err e)
{
	static const char *names[CC_ERR_COUNT] = {
		"ok", "auth", "notfound", "conflict", "throttled", "server",
		"network", "timeout", "tls", "bad_response", "client",
		"cancelled"
	};

	if ((unsigned)e >= CC_ERR_COUNT)
		return "unknown";
	return names[e];
}

const char *
cc_endpoint_name(enum cc_endpoint ep)
{
	static const char *names[CC_EP_COUNT] = {
		"status", "nodes", "create", "start", "shutdown", "deallocate",
		"terminate", "remove", "operation"
	};

	if ((unsigned)ep >= CC_EP_COUNT)
		return "unknown";
	return names[ep];
}

const char *
cc_action_name(enum cc_action a)
{
	switch (a) {
	case CC_ACTION_START:
		return "start";
	case CC_ACTION_SHUTDOWN:
		return "shutdown";
	case CC_ACTION_DEALLOCATE:
		return "deallocate";
	case CC_ACTION_TERMINATE:
		return "terminate";
	case CC_ACTION_REMOVE:
		return "remove";
	}
	return NULL;
}

static enum cc_endpoint
action_endpoint(enum cc_action a)
{
	switch (a) {
	case CC_ACTION_START:
		return CC_EP_START;
	case CC_ACTION_SHUTDOWN:
		return CC_EP_SHUTDOWN;
	case CC_ACTION_DEALLOCATE:
		return CC_EP_DEALLOCATE;
	case CC_ACTION_TERMINATE:
		return CC_EP_TERMINATE;
	case CC_ACTION_REMOVE:
		break;
	}
	return CC_EP_REMOVE;
}

void
cc_settings_defaults(struct cc_settings *s)
{
	memset(s, 0, sizeof(*s));
	s->verify_tls = 1;
	s->timeout_ms = CC_DEFAULT_TIMEOUT_MS;
	s->connect_timeout_ms = CC_DEFAULT_CONNECT_TIMEOUT_MS;
	s->max_host_connections = CC_DEFAULT_MAX_HOST_CONNECTIONS;
	s->max_attempts = CC_DEFAULT_MAX_ATTEMPTS;
	s->retry_budget_ms = CC_DEFAULT_RETRY_BUDGET_MS;
	s->backoff_base_ms = CC_DEFAULT_BACKOFF_BASE_MS;
	s->backoff_max_ms = CC_DEFAULT_BACKOFF_MAX_MS;
	s->max_body = CC_DEFAULT_MAX_BODY;
}

/* ---- libcurl on libevent ----------------------------------------------- */

static void
sock_event_cb(evutil_socket_t fd, short what, void *arg)
{
	struct cc_client *cc = arg;
	int flags = 0, running;

	if (what & EV_READ)
		flags |= CURL_CSELECT_IN;
	if (what & EV_WRITE)
		flags |= CURL_CSELECT_OUT;
	curl_multi_socket_action(cc->multi, fd, flags, &running);
	check_done(cc);
}

static int
curl_sock_cb(CURL *easy, curl_socket_t fd, int what, void *userp,
    void *socketp)
{
	struct cc_client *cc = userp;
	struct cc_sock *cs = socketp;
	short kind;

	if (what == CURL_POLL_REMOVE) {
		if (cs != NULL) {
			event_del(&cs->ev);
			curl_multi_assign(cc->multi, fd, NULL);
			free(cs);
		}
		return 0;
	}
	if (cs == NULL) {
		cs = xcalloc(1, sizeof(*cs));
		cs->cc = cc;
		cs->fd = fd;
		curl_multi_assign(cc->multi, fd, cs);
	} else
		event_del(&cs->ev);
	kind = EV_PERSIST;
	if (what & CURL_POLL_IN)
		kind |= EV_READ;
	if (what & CURL_POLL_OUT)
		kind |= EV_WRITE;
	event_assign(&cs->ev, cc->base, fd, kind, sock_event_cb, cc);
	if (event_add(&cs->ev, NULL) == -1)
		fatalx("cc: event_add failed");
	return 0;
}

static void
curl_timer_event_cb(evutil_socket_t fd, short what, void *arg)
{
	struct cc_client *cc = arg;
	int running;

	curl_multi_socket_action(cc->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	check_done(cc);
}

static int
curl_timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	struct cc_client *cc = userp;
	struct timeval tv;

	if (timeout_ms < 0) {
		evtimer_del(&cc->timer);
		return 0;
	}
	/* Even 0 goes through the loop: libcurl must not be re-entered. */
	tv.tv_sec = timeout_ms / 1000;
	tv.tv_usec = (timeout_ms % 1000) * 1000;
	evtimer_add(&cc->timer, &tv);
	return 0;
}

/* ---- Calls -------------------------------------------------------------- */

static void
req_free(struct cc_req *r)
{
	free(r->url);
	free(r->what);
	free(r->body);
	free(r->request_id);
	free(r->resp);
	cc_stream_free(r->stream);
	free(r->conflict_msg);
	free(r);
}

static void
easy_drop(struct cc_req *r)
{
	if (r->easy == NULL)
		return;
	curl_multi_remove_handle(r->cc->multi, r->easy);
	curl_easy_cleanup(r->easy);
	r->easy = NULL;
	r->cc->nactive--;
}

/* Hand waiting calls to libcurl while connections are free. */
static void
pump(struct cc_client *cc)
{
	struct cc_req *r;

	while (cc->nactive < cc->s.max_host_connections &&
	    (r = TAILQ_FIRST(&cc->queue)) != NULL) {
		TAILQ_REMOVE(&cc->queue, r, qentry);
		r->queued = 0;
		attempt_start(r);
	}
}

static struct cc_req *
req_new(struct cc_client *cc, enum cc_kind kind, enum cc_endpoint ep,
    char *url, char *what, cc_cb cb, void *arg)
{
	struct cc_req *r;

	r = xcalloc(1, sizeof(*r));
	r->cc = cc;
	r->kind = kind;
	r->ep = ep;
	r->url = url;
	r->what = what;
	r->cb = cb;
	r->arg = arg;
	r->start_ms = now_mono_ms();
	r->retry_after_ms = -1;
	evtimer_assign(&r->timer, cc->base, NULL, NULL);
	TAILQ_INSERT_TAIL(&cc->reqs, r, entry);
	cc->npending++;
	return r;
}

static void	lookup_finished(struct cc_req *, enum cc_err, void *, int);

/*
 * End a call: out of the list, stats, callback (hands data over), free.
 * A parent parked on a look-up takes its child down with it.
 */
static void
finish(struct cc_req *r, enum cc_err err, void *data, const char *msg,
    int recovered)
{
	struct cc_client *cc = r->cc;
	struct cc_result res;
	struct cc_req *child;

	TAILQ_REMOVE(&cc->reqs, r, entry);
	cc->npending--;
	if (r->queued) {
		TAILQ_REMOVE(&cc->queue, r, qentry);
		r->queued = 0;
	}
	evtimer_del(&r->timer);
	easy_drop(r);
	if ((child = r->child) != NULL) {
		r->child = NULL;
		child->parent = NULL;
		finish(child, CC_ERR_CANCELLED, NULL, "cancelled", 0);
	}

	cc->stats.ep[r->ep].calls[err]++;
	if (err == CC_OK)
		cc->stats.last_success_ms = now_wall_ms();
	else if (err != CC_ERR_CANCELLED) {
		cc->stats.last_error_ms = now_wall_ms();
		snprintf(cc->stats.last_error, sizeof(cc->stats.last_error),
		    "%s", msg != NULL ? msg : cc_err_name(err));
	}

	if (r->parent != NULL) {
		lookup_finished(r, err, data, r->attempts);
		req_free(r);
		return;
	}

	memset(&res, 0, sizeof(res));
	res.err = err;
	res.http_status = r->last_status;
	res.attempts = r->attempts;
	res.elapsed_ms = now_mono_ms() - r->start_ms;
	res.message = err == CC_OK ? NULL : (msg != NULL ? msg : "failed");
	res.recovered = recovered;
	if (err == CC_OK)
		log_debug("cc: %s: ok in %llu ms, %u attempt%s%s",
		    log_esc(r->what), (unsigned long long)res.elapsed_ms,
		    r->attempts, r->attempts == 1 ? "" : "s",
		    recovered ? " (recovered by requestId)" : "");
	else
		log_debug("cc: %s: %s", log_esc(r->what), log_esc(msg));
	if (r->cb != NULL)
		r->cb(&res, data, r->arg);
	req_free(r);
}

/* ---- Attempts ------------------------------------------------------------ */

static size_t
write_cb(char *ptr, size_t size, size_t nmemb, void *userp)
{
	struct cc_req *r = userp;
	size_t len = size * nmemb, cap;

	long status = 0;

	if (len > r->cc->s.max_body - r->resp_len) {
		r->too_big = 1;
		return 0;	/* libcurl aborts with CURLE_WRITE_ERROR */
	}
	if (r->streaming == -1) {
		/* The headers are in: stream only what will be parsed. */
		curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
		r->streaming = status >= 200 && status <= 299 &&
		    (r->kind == CC_K_STATUS || r->kind == CC_K_NODES);
		if (r->streaming)
			r->stream = cc_stream_new(r->kind == CC_K_STATUS ?
			    CC_STREAM_STATUS : CC_STREAM_NODE_LIST);
	}
	if (r->streaming) {
		cc_stream_feed(r->stream, ptr, len);
		r->resp_len += len;
		return len;
	}
	if (r->resp_len + len + 1 > r->resp_cap) {
		cap = r->resp_cap == 0 ? 4096 : r->resp_cap;
		while (cap < r->resp_len + len + 1)
			cap *= 2;
		r->resp = xreallocarray(r->resp, cap, 1);
		r->resp_cap = cap;
	}
	memcpy(r->resp + r->resp_len, ptr, len);
	r->resp_len += len;
	r->resp[r->resp_len] = '\0';
	return len;
}

/* Retry-After: delta seconds or an HTTP date (RFC 9110 10.2.3). */
static int64_t
parse_retry_after(const char *v, size_t len)
{
	char buf[128], *end;
	unsigned long long secs;
	time_t t, now;

	while (len > 0 && isspace((unsigned char)*v)) {
		v++;
		len--;
	}
	while (len > 0 && isspace((unsigned char)v[len - 1]))
		len--;
	if (len == 0 || len >= sizeof(buf))
		return -1;
	memcpy(buf, v, len);
	buf[len] = '\0';
	if (isdigit((unsigned char)buf[0])) {
		errno = 0;
		secs = strtoull(buf, &end, 10);
		if (errno != 0 || *end != '\0' || secs > 7 * 86400)
			return -1;
		return (int64_t)secs * 1000;
	}
	if ((t = curl_getdate(buf, NULL)) == -1)
		return -1;
	now = time(NULL);
	if (t <= now)
		return 0;
	if (t - now > 7 * 86400)
		return -1;
	return (int64_t)(t - now) * 1000;
}

static size_t
header_cb(char *ptr, size_t size, size_t nitems, void *userp)
{
	struct cc_req *r = userp;
	size_t len = size * nitems;
	static const char ra[] = "retry-after:";

	/* A new status line (after a 100 Continue): forget the last one's. */
	if (len >= 5 && strncmp(ptr, "HTTP/", 5) == 0)
		r->retry_after_ms = -1;
	else if (len > sizeof(ra) - 1 &&
	    strncasecmp(ptr, ra, sizeof(ra) - 1) == 0)
		r->retry_after_ms = parse_retry_after(ptr + sizeof(ra) - 1,
		    len - (sizeof(ra) - 1));
	return len;
}

static void
retry_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	attempt_start(arg);
}

static void
arm_timer(struct cc_req *r, uint64_t ms)
{
	struct timeval tv;

	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)((ms % 1000) * 1000);
	evtimer_assign(&r->timer, r->cc->base, retry_timer_cb, r);
	evtimer_add(&r->timer, &tv);
}

static uint64_t
random_below(uint64_t n)
{
	if (n == 0)
		return 0;
	if (n > UINT32_MAX)
		n = UINT32_MAX;
	return arc4random_uniform((uint32_t)n);
}

static void
attempt_start(struct cc_req *r)
{
	struct cc_client *cc = r->cc;
	uint64_t now = now_mono_ms(), wait, spread;
	CURL *e;

	/* The shared limiter: nobody talks while the server said to wait. */
	if (cc->throttle_until_ms > now) {
		wait = cc->throttle_until_ms - now;
		spread = wait / 10 < CC_RELEASE_SPREAD_MS ? wait / 10 :
		    CC_RELEASE_SPREAD_MS;
		cc->stats.throttle_waits++;
		arm_timer(r, wait + random_below(spread + 1));
		return;
	}
	if (cc->nactive >= cc->s.max_host_connections) {
		TAILQ_INSERT_TAIL(&cc->queue, r, qentry);
		r->queued = 1;
		return;
	}

	if ((e = curl_easy_init()) == NULL)
		fatalx("cc: curl_easy_init failed");
	r->easy = e;
	r->attempts++;
	r->attempt_ms = now;
	r->resp_len = 0;
	r->too_big = 0;
	r->streaming = -1;
	cc_stream_free(r->stream);
	r->stream = NULL;
	r->retry_after_ms = -1;
	r->errbuf[0] = '\0';
	cc->stats.ep[r->ep].attempts++;
	if (r->attempts > 1)
		cc->stats.ep[r->ep].retries++;

	curl_easy_setopt(e, CURLOPT_PRIVATE, r);
	curl_easy_setopt(e, CURLOPT_URL, r->url);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, r->errbuf);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, cc->headers);
	curl_easy_setopt(e, CURLOPT_USERAGENT, cc->user_agent);
	curl_easy_setopt(e, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_1);
	curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)cc->s.timeout_ms);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
	    (long)cc->s.connect_timeout_ms);
	/* Basic auth; never CURLOPT_VERBOSE (it would show the header). */
	curl_easy_setopt(e, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
	curl_easy_setopt(e, CURLOPT_USERNAME, cc->username);
	curl_easy_setopt(e, CURLOPT_PASSWORD, cc->password);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, cc->s.verify_tls ? 1L : 0L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, cc->s.verify_tls ? 2L : 0L);
	if (cc->ca_file != NULL)
		curl_easy_setopt(e, CURLOPT_CAINFO, cc->ca_file);
	/* "" disables the environment's proxies: systemd passes none, and a
	 * test's or a shell's must not change where the password goes. */
	curl_easy_setopt(e, CURLOPT_PROXY, cc->proxy != NULL ? cc->proxy : "");
	if (r->body != NULL) {
		curl_easy_setopt(e, CURLOPT_POST, 1L);
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, r->body);
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE,
		    (long)strlen(r->body));
	}
	if (curl_multi_add_handle(cc->multi, e) != CURLM_OK)
		fatalx("cc: curl_multi_add_handle failed");
	cc->nactive++;
}

static void
record_latency(struct cc_client *cc, enum cc_endpoint ep, uint64_t ms)
{
	struct cc_endpoint_stats *es = &cc->stats.ep[ep];
	double s = (double)ms / 1000.0;
	size_t i;

	for (i = 0; i < CC_LATENCY_NBUCKETS; i++)
		if (s <= cc_latency_bounds[i])
			es->latency_bucket[i]++;
	es->latency_count++;
	es->latency_sum += s;
}

static enum cc_err
http_class(long status)
{
	if (status == 401 || status == 403)
		return CC_ERR_AUTH;
	if (status == 404)
		return CC_ERR_NOTFOUND;
	if (status == 409)
		return CC_ERR_CONFLICT;
	if (status == 429)
		return CC_ERR_THROTTLED;
	if (status >= 500 && status <= 599)
		return CC_ERR_SERVER;
	return CC_ERR_CLIENT;
}

static int
retryable(enum cc_err e)
{
	return e == CC_ERR_THROTTLED || e == CC_ERR_SERVER ||
	    e == CC_ERR_NETWORK || e == CC_ERR_TIMEOUT;
}

/* A libcurl failure's class and one-line text (allocated). */
static enum cc_err
curl_class(struct cc_req *r, CURLcode code, char **msg)
{
	struct cc_client *cc = r->cc;
	const char *detail = r->errbuf[0] != '\0' ? r->errbuf :
	    curl_easy_strerror(code);
	const char *ca = cc->ca_file != NULL ? cc->ca_file : "system CAs";

	switch (code) {
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_CRL_BADFILE:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
		*msg = xprintf("TLS certificate of %s not trusted (ca_file "
		    "%s): %s", cc->base_url, ca, detail);
		return CC_ERR_TLS;
	case CURLE_SSL_CONNECT_ERROR:
		*msg = xprintf("TLS handshake with %s failed (ca_file %s): %s",
		    cc->base_url, ca, detail);
		return CC_ERR_TLS;
	case CURLE_OPERATION_TIMEDOUT:
		*msg = xprintf("no answer from %s within %llu ms: %s",
		    cc->base_url, (unsigned long long)cc->s.timeout_ms,
		    detail);
		return CC_ERR_TIMEOUT;
	case CURLE_WRITE_ERROR:
		if (r->too_big) {
			*msg = xprintf("answer larger than %zu bytes",
			    cc->s.max_body);
			return CC_ERR_BAD_RESPONSE;
		}
		break;
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_URL_MALFORMAT:
		*msg = xprintf("bad url %s: %s", cc->base_url, detail);
		return CC_ERR_CLIENT;
	default:
		break;
	}
	*msg = xprintf("cannot reach %s: %s", cc->base_url, detail);
	return CC_ERR_NETWORK;
}

/* Parse a 2xx answer by the call's kind: 0 and *data, or -1 and *cause. */
static int
parse_answer(struct cc_req *r, void **data, char **cause)
{
	const char *buf = r->resp != NULL ? r->resp : "";

	if (r->stream != NULL && r->kind == CC_K_STATUS)
		return cc_stream_finish_status(r->stream,
		    (struct cc_cluster_status **)data, cause);
	if (r->stream != NULL && r->kind == CC_K_NODES)
		return cc_stream_finish_node_list(r->stream,
		    (struct cc_node_list **)data, cause);
	switch (r->kind) {
	case CC_K_STATUS:
		return cc_parse_cluster_status(buf, r->resp_len,
		    (struct cc_cluster_status **)data, cause);
	case CC_K_NODES:
		return cc_parse_node_list(buf, r->resp_len,
		    (struct cc_node_list **)data, cause);
	case CC_K_CREATE:
		return cc_parse_create_result(buf, r->resp_len,
		    (struct cc_create_result **)data, cause);
	case CC_K_ACTION:
		return cc_parse_action_result(buf, r->resp_len,
		    (struct cc_action_result **)data, cause);
	case CC_K_OPERATION:
		return cc_parse_operation(buf, r->resp_len,
		    (struct cc_operation **)data, cause);
	}
	*cause = xstrdup("unknown call");
	return -1;
}

static void	start_lookup(struct cc_req *, char *);

static void
attempt_done(struct cc_req *r, CURLcode code)
{
	struct cc_client *cc = r->cc;
	enum cc_err err;
	long status = 0;
	uint64_t now = now_mono_ms(), ceiling, delay, elapsed;
	char *detail = NULL, *msg, *body, *cause = NULL;
	void *data = NULL;

	record_latency(cc, r->ep, now - r->attempt_ms);
	curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
	easy_drop(r);
	r->last_status = status;

	if (code != CURLE_OK)
		err = curl_class(r, code, &detail);
	else if (status >= 200 && status <= 299) {
		if (parse_answer(r, &data, &cause) == 0) {
			finish(r, CC_OK, data, NULL, 0);
			return;
		}
		err = CC_ERR_BAD_RESPONSE;
		detail = xprintf("HTTP %ld with a bad answer: %s", status,
		    cause);
		free(cause);
	} else {
		err = http_class(status);
		body = cc_error_body_text(r->resp, r->resp_len);
		detail = xprintf("HTTP %ld%s%s", status,
		    *body != '\0' ? ": " : "", body);
		free(body);
	}
	msg = xprintf("%s: %s", r->what, detail);
	free(detail);

	if (err == CC_ERR_THROTTLED)
		cc->stats.ep[r->ep].throttled++;

	/* Our own requestId refused as already used: did it go through? */
	if (err == CC_ERR_CONFLICT && r->request_id != NULL) {
		start_lookup(r, msg);
		return;
	}

	if (!retryable(err) || r->attempts >= cc->s.max_attempts) {
		if (retryable(err) && r->attempts > 1) {
			detail = msg;
			msg = xprintf("%s (gave up after %u attempts)", detail,
			    r->attempts);
			free(detail);
		}
		finish(r, err, NULL, msg, 0);
		free(msg);
		return;
	}

	/* Exponential backoff with full jitter; the server's word wins. */
	ceiling = cc->s.backoff_base_ms;
	if (r->attempts - 1 < 32)
		ceiling <<= r->attempts - 1;
	if (ceiling > cc->s.backoff_max_ms || ceiling == 0)
		ceiling = cc->s.backoff_max_ms;
	delay = random_below(ceiling + 1);
	if (r->retry_after_ms >= 0 && (uint64_t)r->retry_after_ms > delay)
		delay = (uint64_t)r->retry_after_ms;
	if (err == CC_ERR_THROTTLED && delay < cc->s.backoff_base_ms)
		delay = cc->s.backoff_base_ms;
	/* Everyone waits out a throttle, not only this call. */
	if ((err == CC_ERR_THROTTLED || r->retry_after_ms >= 0) &&
	    now + delay > cc->throttle_until_ms)
		cc->throttle_until_ms = now + delay;

	elapsed = now - r->start_ms;
	if (elapsed + delay > cc->s.retry_budget_ms) {
		detail = msg;
		msg = xprintf("%s (gave up after %u attempts in %llu ms; "
		    "next try in %llu ms is past the %llu ms budget)", detail,
		    r->attempts, (unsigned long long)elapsed,
		    (unsigned long long)delay,
		    (unsigned long long)cc->s.retry_budget_ms);
		free(detail);
		finish(r, err, NULL, msg, 0);
		free(msg);
		return;
	}
	log_info("cc: %s; retry %u in %llu ms", log_esc(msg), r->attempts + 1,
	    (unsigned long long)delay);
	free(msg);
	arm_timer(r, delay);
}

static void
check_done(struct cc_client *cc)
{
	struct cc_req *r;
	CURLMsg *m;
	CURL *e;
	char *p;
	int left;

	while ((m = curl_multi_info_read(cc->multi, &left)) != NULL) {
		if (m->msg != CURLMSG_DONE)
			continue;
		e = m->easy_handle;
		p = NULL;
		curl_easy_getinfo(e, CURLINFO_PRIVATE, &p);
		r = (struct cc_req *)(void *)p;
		attempt_done(r, m->data.result);
	}
	pump(cc);
}

/* ---- 409 and the look-up by requestId ------------------------------------ */

static char *
escape(const char *s)
{
	char *e, *out;

	if ((e = curl_easy_escape(NULL, s, 0)) == NULL)
		fatalx("cc: curl_easy_escape failed");
	out = xstrdup(e);
	curl_free(e);
	return out;
}

/* Park r (msg is its conflict text, taken) and look its requestId up. */
static void
start_lookup(struct cc_req *r, char *msg)
{
	struct cc_client *cc = r->cc;
	struct cc_req *c;
	char *rid = escape(r->request_id), *url, *what;

	r->conflict_err = CC_ERR_CONFLICT;
	r->conflict_msg = msg;
	url = xprintf("%s%s/nodes?request_id=%s", cc->base_url,
	    cc->cluster_path, rid);
	what = xprintf("GET %s/nodes?request_id=%s", cc->cluster_path, rid);
	free(rid);
	c = req_new(cc, CC_K_NODES, CC_EP_NODES, url, what, NULL, NULL);
	c->parent = r;
	r->child = c;
	log_info("cc: %s; looking the requestId up", log_esc(msg));
	attempt_start(c);
}

/* The look-up child c ended (data: its node list, taken). */
static void
lookup_finished(struct cc_req *c, enum cc_err err, void *data, int attempts)
{
	struct cc_req *r = c->parent;
	struct cc_node_list *nl = data;
	struct cc_create_result *cr;
	struct cc_action_result *ar;
	const char *opid;
	char *msg;
	size_t i;

	r->child = NULL;
	r->attempts += (unsigned)attempts;
	if (err == CC_OK && (nl->operation != NULL || nl->nnodes > 0)) {
		opid = nl->operation != NULL ? nl->operation->id : NULL;
		if (r->kind == CC_K_CREATE) {
			cr = xcalloc(1, sizeof(*cr));
			cr->operation_id = opid != NULL ? xstrdup(opid) : NULL;
			data = cr;
		} else {
			ar = xcalloc(1, sizeof(*ar));
			ar->operation_id = opid != NULL ? xstrdup(opid) : NULL;
			if (nl->nnodes > 0)
				ar->nodes = xcalloc(nl->nnodes,
				    sizeof(*ar->nodes));
			for (i = 0; i < nl->nnodes; i++) {
				ar->nodes[i].ok = 1;
				ar->nodes[i].name = nl->nodes[i].name;
				nl->nodes[i].name = NULL;
				ar->nodes[i].id = nl->nodes[i].node_id;
				nl->nodes[i].node_id = NULL;
			}
			ar->nnodes = nl->nnodes;
			data = ar;
		}
		cc_node_list_free(nl);
		finish(r, CC_OK, data, NULL, 1);
		return;
	}
	cc_node_list_free(nl);
	if (err == CC_OK || err == CC_ERR_NOTFOUND)
		msg = xstrdup(r->conflict_msg);
	else if (err == CC_ERR_CANCELLED)
		msg = xprintf("%s (look-up cancelled)", r->conflict_msg);
	else
		msg = xprintf("%s (look-up by requestId failed: %s)",
		    r->conflict_msg, r->cc->stats.last_error);
	finish(r, err == CC_ERR_CANCELLED ? err : r->conflict_err, NULL, msg,
	    0);
	free(msg);
}

/* ---- Client ------------------------------------------------------------- */

static int
url_ok(const char *url, char **cause)
{
	const char *p, *auth_end;

	if (strncasecmp(url, "https://", 8) == 0)
		p = url + 8;
	else if (strncasecmp(url, "http://", 7) == 0)
		p = url + 7;
	else {
		*cause = xprintf("cyclecloud url %s: not http:// or https://",
		    log_esc(url));
		return -1;
	}
	auth_end = p + strcspn(p, "/?#");
	if (auth_end == p) {
		*cause = xprintf("cyclecloud url %s: no host", log_esc(url));
		return -1;
	}
	/* Never a password in a URL: it would end up in messages. */
	if (memchr(p, '@', (size_t)(auth_end - p)) != NULL) {
		*cause = xstrdup("cyclecloud url: must not contain a user "
		    "name or password (use username and password_file)");
		return -1;
	}
	if (strpbrk(url, " \t\r\n?#") != NULL) {
		*cause = xprintf("cyclecloud url %s: must be a plain base URL",
		    log_esc(url));
		return -1;
	}
	return 0;
}

struct cc_client *
cc_client_new(struct event_base *base, const struct cc_settings *s,
    char **cause)
{
	struct cc_client *cc;
	char *cl;
	size_t len;

	if (base == NULL) {
		*cause = xstrdup("cc: no event base");
		return NULL;
	}
	if (s->url == NULL || *s->url == '\0') {
		*cause = xstrdup("cyclecloud url: missing");
		return NULL;
	}
	if (url_ok(s->url, cause) == -1)
		return NULL;
	if (s->cluster == NULL || *s->cluster == '\0') {
		*cause = xstrdup("cyclecloud cluster: missing");
		return NULL;
	}
	if (s->username == NULL || *s->username == '\0' ||
	    strchr(s->username, ':') != NULL) {
		*cause = xstrdup("cyclecloud username: missing or contains "
		    "':'");
		return NULL;
	}
	if (s->password == NULL) {
		*cause = xstrdup("cyclecloud password: missing");
		return NULL;
	}
	if (s->max_host_connections == 0 || s->max_attempts == 0 ||
	    s->timeout_ms == 0 || s->timeout_ms > LONG_MAX ||
	    s->connect_timeout_ms > LONG_MAX || s->max_body == 0 ||
	    s->backoff_max_ms == 0) {
		*cause = xstrdup("cc: a limit is zero or out of range");
		return NULL;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		*cause = xstrdup("cc: libcurl failed to initialise");
		return NULL;
	}

	cc = xcalloc(1, sizeof(*cc));
	cc->base = base;
	cc->s = *s;
	cc->s.url = cc->s.cluster = cc->s.username = cc->s.password = NULL;
	cc->s.ca_file = cc->s.proxy = NULL;
	cc->base_url = xstrdup(s->url);
	len = strlen(cc->base_url);
	while (len > 0 && cc->base_url[len - 1] == '/')
		cc->base_url[--len] = '\0';
	cl = escape(s->cluster);
	cc->cluster_path = xprintf("/clusters/%s", cl);
	free(cl);
	cc->username = xstrdup(s->username);
	cc->password = xstrdup(s->password);
	if (s->ca_file != NULL && *s->ca_file != '\0')
		cc->ca_file = xstrdup(s->ca_file);
	if (s->proxy != NULL && *s->proxy != '\0')
		cc->proxy = xstrdup(s->proxy);
	cc->user_agent = xprintf("ccslurmd/%s", CCSLURMD_VERSION);
	cc->headers = curl_slist_append(NULL, "Content-Type: application/json");
	cc->headers = curl_slist_append(cc->headers, "Accept: application/json");
	/* No "Expect: 100-continue" round trip before a POST body. */
	cc->headers = curl_slist_append(cc->headers, "Expect:");
	if (cc->headers == NULL)
		fatalx("cc: curl_slist_append failed");
	TAILQ_INIT(&cc->reqs);
	TAILQ_INIT(&cc->queue);

	if ((cc->multi = curl_multi_init()) == NULL)
		fatalx("cc: curl_multi_init failed");
	curl_multi_setopt(cc->multi, CURLMOPT_SOCKETFUNCTION, curl_sock_cb);
	curl_multi_setopt(cc->multi, CURLMOPT_SOCKETDATA, cc);
	curl_multi_setopt(cc->multi, CURLMOPT_TIMERFUNCTION, curl_timer_cb);
	curl_multi_setopt(cc->multi, CURLMOPT_TIMERDATA, cc);
	curl_multi_setopt(cc->multi, CURLMOPT_MAX_HOST_CONNECTIONS,
	    (long)s->max_host_connections);
	curl_multi_setopt(cc->multi, CURLMOPT_MAXCONNECTS,
	    (long)s->max_host_connections);
	curl_multi_setopt(cc->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_NOTHING);
	evtimer_assign(&cc->timer, base, curl_timer_event_cb, cc);
	return cc;
}

static void
wipe_password(struct cc_client *cc)
{
	if (cc->password == NULL)
		return;
	explicit_bzero(cc->password, strlen(cc->password));
	free(cc->password);
	cc->password = NULL;
}

void
cc_set_password(struct cc_client *cc, const char *password)
{
	wipe_password(cc);
	cc->password = xstrdup(password != NULL ? password : "");
}

void
cc_cancel_all(struct cc_client *cc)
{
	struct cc_req *r;

	/* Children first would only re-park parents: finish from the head;
	 * finish() takes a parked parent's child along. */
	while ((r = TAILQ_FIRST(&cc->reqs)) != NULL)
		finish(r, CC_ERR_CANCELLED, NULL, "cancelled", 0);
}

void
cc_client_free(struct cc_client *cc)
{
	if (cc == NULL)
		return;
	cc_cancel_all(cc);
	evtimer_del(&cc->timer);
	/* Closes the cached connections; CURL_POLL_REMOVE frees our sockets. */
	curl_multi_cleanup(cc->multi);
	curl_slist_free_all(cc->headers);
	wipe_password(cc);
	free(cc->base_url);
	free(cc->cluster_path);
	free(cc->username);
	free(cc->ca_file);
	free(cc->proxy);
	free(cc->user_agent);
	free(cc);
	curl_global_cleanup();
}

size_t
cc_pending(const struct cc_client *cc)
{
	return cc->npending;
}

void
cc_get_stats(const struct cc_client *cc, struct cc_stats *out)
{
	*out = cc->stats;
	out->pending = cc->npending;
}

/* ---- Entry points ------------------------------------------------------- */

int
cc_get_status(struct cc_client *cc, int with_nodes, cc_cb cb, void *arg,
    char **cause)
{
	const char *q = with_nodes ? "true" : "false";
	struct cc_req *r;

	r = req_new(cc, CC_K_STATUS, CC_EP_STATUS,
	    xprintf("%s%s/status?nodes=%s", cc->base_url, cc->cluster_path, q),
	    xprintf("GET %s/status?nodes=%s", cc->cluster_path, q), cb, arg);
	attempt_start(r);
	return 0;
}

int
cc_list_nodes(struct cc_client *cc, const char *operation_id,
    const char *request_id, cc_cb cb, void *arg, char **cause)
{
	struct cc_req *r;
	char *q, *e;

	if (operation_id != NULL && request_id != NULL) {
		*cause = xstrdup("list nodes: both an operation and a "
		    "request id");
		return -1;
	}
	if ((operation_id != NULL && *operation_id == '\0') ||
	    (request_id != NULL && *request_id == '\0')) {
		*cause = xstrdup("list nodes: empty id");
		return -1;
	}
	if (operation_id != NULL) {
		e = escape(operation_id);
		q = xprintf("?operation=%s", e);
	} else if (request_id != NULL) {
		e = escape(request_id);
		q = xprintf("?request_id=%s", e);
	} else {
		e = NULL;
		q = xstrdup("");
	}
	free(e);
	r = req_new(cc, CC_K_NODES, CC_EP_NODES,
	    xprintf("%s%s/nodes%s", cc->base_url, cc->cluster_path, q),
	    xprintf("GET %s/nodes%s", cc->cluster_path, q), cb, arg);
	free(q);
	attempt_start(r);
	return 0;
}

int
cc_create(struct cc_client *cc, const struct cc_create_request *req,
    cc_cb cb, void *arg, char **cause)
{
	struct cc_create_request copy = *req;
	char uuid[UUID_STR_LEN], *body;
	struct cc_req *r;

	if (copy.request_id == NULL) {
		uuid_v4(uuid);
		copy.request_id = uuid;
	}
	if ((body = cc_create_request_json(&copy, cause)) == NULL)
		return -1;
	r = req_new(cc, CC_K_CREATE, CC_EP_CREATE,
	    xprintf("%s%s/nodes/create", cc->base_url, cc->cluster_path),
	    xprintf("POST %s/nodes/create", cc->cluster_path), cb, arg);
	r->body = body;
	r->request_id = xstrdup(copy.request_id);
	attempt_start(r);
	return 0;
}

int
cc_node_action(struct cc_client *cc, enum cc_action action,
    const char *request_id, const char *const *names, size_t n, cc_cb cb,
    void *arg, char **cause)
{
	char uuid[UUID_STR_LEN], *body;
	const char *name = cc_action_name(action);
	struct cc_req *r;

	if (name == NULL) {
		*cause = xprintf("node action: unknown action %d", (int)action);
		return -1;
	}
	if (request_id == NULL) {
		uuid_v4(uuid);
		request_id = uuid;
	}
	if ((body = cc_action_request_json(request_id, names, n,
	    cause)) == NULL)
		return -1;
	r = req_new(cc, CC_K_ACTION, action_endpoint(action),
	    xprintf("%s%s/nodes/%s", cc->base_url, cc->cluster_path, name),
	    xprintf("POST %s/nodes/%s", cc->cluster_path, name), cb, arg);
	r->body = body;
	r->request_id = xstrdup(request_id);
	attempt_start(r);
	return 0;
}

int
cc_get_operation(struct cc_client *cc, const char *operation_id, cc_cb cb,
    void *arg, char **cause)
{
	struct cc_req *r;
	char *e;

	if (operation_id == NULL || *operation_id == '\0') {
		*cause = xstrdup("get operation: no operation id");
		return -1;
	}
	e = escape(operation_id);
	r = req_new(cc, CC_K_OPERATION, CC_EP_OPERATION,
	    xprintf("%s/operations/%s", cc->base_url, e),
	    xprintf("GET /operations/%s", e), cb, arg);
	free(e);
	attempt_start(r);
	return 0;
}

/* ---- Synchronous --------------------------------------------------------- */

struct cc_sync {
	int		 done;
	enum cc_err	 err;
	char		*message;
	void		*data;
};

static void
sync_cb(const struct cc_result *res, void *data, void *arg)
{
	struct cc_sync *sy = arg;

	sy->done = 1;
	sy->err = res->err;
	sy->data = data;
	if (res->message != NULL)
		sy->message = xstrdup(res->message);
}

enum cc_err
cc_sync_get_status(const struct cc_settings *s, int with_nodes,
    struct cc_cluster_status **out, char **cause)
{
	struct event_base *base;
	struct cc_client *cc;
	struct cc_sync sy;

	*out = NULL;
	memset(&sy, 0, sizeof(sy));
	if ((base = event_base_new()) == NULL) {
		*cause = xstrdup("cc: event_base_new failed");
		return CC_ERR_CLIENT;
	}
	if ((cc = cc_client_new(base, s, cause)) == NULL) {
		event_base_free(base);
		return CC_ERR_CLIENT;
	}
	if (cc_get_status(cc, with_nodes, sync_cb, &sy, cause) == -1) {
		cc_client_free(cc);
		event_base_free(base);
		return CC_ERR_CLIENT;
	}
	while (!sy.done)
		if (event_base_loop(base, EVLOOP_ONCE) == -1)
			break;
	cc_client_free(cc);	/* cancels the call if the loop failed */
	event_base_free(base);
	if (sy.err == CC_OK) {
		*out = sy.data;
		return CC_OK;
	}
	*cause = sy.message != NULL ? sy.message : xstrdup("failed");
	return sy.err;
}
