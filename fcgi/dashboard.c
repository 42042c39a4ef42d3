/* The job dashboard's routes, under DASHBOARD_PATH (P, default /dashboard):
 *
 *   GET  P/                 the page (P without the slash redirects to it)
 *   GET  P/static/{name}    its style and script
 *   GET  P/api/state        workers, queues, running jobs with their
 *                           podcast's stage, recent dead jobs, and the
 *                           events after ?after=ID (the page polls it)
 *   POST P/api/dead/retry   {"id": job id, dead entry id or "all", "queue"?}
 *   POST P/api/dead/purge   {"queue"?}
 *
 * Every request answers quickly: no request waits on Redis for events
 * (the acceptors are few); the page asks again a second later. The routes
 * exist only when DASHBOARD_USERS or DASHBOARD_TOKEN is set (else 404 as
 * any unknown path) and every one wants those credentials. The API routes
 * refuse requests another origin sends; the POST routes also want the
 * CSRF token the state carries, in X-CSRF-Token. */
#include "autoconfig.h"

#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "dashboard.h"
#include "fcgi/dashboard-assets.h"
#include "db.h"
#include "jobstate.h"
#include "log.h"
#include "request.h"
#include "route.h"

/* Events sent per answer: the first answer the last ones, later answers
 * what came after the page's cursor. */
#define DASHBOARD_EVENTS_FIRST 100
#define DASHBOARD_EVENTS_MAX   500
#define DASHBOARD_DEAD_SHOWN   50

/* This process's credentials; set by the module's init before the
 * acceptor threads start, read-only afterwards. */
static struct dashboard_auth *dashboard_auth;

/* Queue names for the state, found with SCAN over the whole keyspace (rate
 * limit keys included): found again at most every few seconds per
 * process, not on every poll. The buttons always look afresh. */
#define DASHBOARD_NAMES_TTL_US (5 * G_USEC_PER_SEC)
static GMutex dashboard_names_lock;
static GPtrArray *dashboard_names;       /* guarded by the lock */
static gint64 dashboard_names_at;

/* The table routes.c lists: empty (off) until init fills it in. */
struct route dashboard_routes[6];
static char *dashboard_patterns[G_N_ELEMENTS(dashboard_routes)];

/* Security headers of every dashboard answer: not framed, not sniffed,
 * not cached, nothing loaded from elsewhere. */
static void
dashboard_headers(struct request *req)
{
	response_header(req, "Cache-Control", "no-store");
	response_header(req, "X-Content-Type-Options", "nosniff");
	response_header(req, "Referrer-Policy", "no-referrer");
	response_header(req, "X-Frame-Options", "DENY");
	response_header(req, "Content-Security-Policy", "default-src 'none'; script-src 'self'; "
	    "style-src 'self'; img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; "
	    "frame-ancestors 'none'");
}

/* Credentials: TRUE to go on (*WHO set), FALSE after answering 401. */
static gboolean
dashboard_gate(struct request *req, char **who)
{
	enum dashboard_auth_result r;

	dashboard_headers(req);
	r = dashboard_auth_check(dashboard_auth, request_header(req, "Authorization"), who);
	if (r == DASHBOARD_AUTH_OK)
		return TRUE;
	if (r == DASHBOARD_AUTH_WRONG)
		log_info("%s dashboard: credentials refused from %s", req->request_id, req->remote_addr);
	response_header(req, "WWW-Authenticate", "%s", dashboard_auth_challenge(dashboard_auth));
	response_error(req, 401, r == DASHBOARD_AUTH_WRONG ? "Invalid credentials" : "Not authenticated");
	return FALSE;
}

/* The host of a "host[:port]" (IPv6 in brackets), N bytes. */
static size_t
dashboard_host_len(const char *hostport)
{
	const char *end = hostport[0] == '[' ? strchr(hostport, ']') : NULL;
	const char *colon = strrchr(end != NULL ? end : hostport, ':');

	return colon != NULL ? (size_t)(colon - hostport) : strlen(hostport);
}

/* ORIGIN ("scheme://host[:port]") names HOST (the Host header, which
 * Debian's fastcgi_params passes as nginx's $host: without its port). */
static gboolean
dashboard_origin_is_host(const char *origin, const char *host)
{
	const char *sep = strstr(origin, "://"), *hostport;
	size_t n;

	if (sep == NULL || host == NULL)
		return FALSE;
	hostport = sep + 3;
	if (g_ascii_strcasecmp(hostport, host) == 0)
		return TRUE;
	if (dashboard_host_len(host) != strlen(host))
		return FALSE;    /* Host has a port, and it differs */
	n = dashboard_host_len(hostport);
	return n == strlen(host) && g_ascii_strncasecmp(hostport, host, n) == 0;
}

/* The API is for the page itself: a request another origin's page makes
 * (a browser says so in Sec-Fetch-Site, or Origin) is refused, whatever
 * CORS_ORIGINS allows the API. TRUE to go on. */
static gboolean
dashboard_same_origin(struct request *req)
{
	const char *origin = request_header(req, "Origin"), *site = request_header(req, "Sec-Fetch-Site");
	const char *host = request_header(req, "Host");

	if (site != NULL && strcmp(site, "same-origin") != 0 && strcmp(site, "none") != 0)
		goto refuse;
	if (origin != NULL && !dashboard_origin_is_host(origin, host))
		goto refuse;
	return TRUE;
refuse:
	log_info("%s dashboard: cross-origin request refused (Origin %s, Host %s, Sec-Fetch-Site %s)",
	    req->request_id, origin != NULL ? origin : "-", host != NULL ? host : "-", site != NULL ? site : "-");
	response_error(req, 403, "Cross-origin requests are refused");
	return FALSE;
}

/* POST: same origin, and the CSRF token of these credentials. */
static gboolean
dashboard_csrf_ok(struct request *req)
{
	const char *sent = request_header(req, "X-CSRF-Token");
	char *want;
	gboolean ok;

	if (!dashboard_same_origin(req))
		return FALSE;
	want = dashboard_auth_csrf(dashboard_auth, request_header(req, "Authorization"));
	ok = sent != NULL && dashboard_auth_equal(sent, want);
	g_free(want);
	if (!ok)
		response_error(req, 403, "CSRF token missing or wrong (reload the dashboard)");
	return ok;
}

static void
dashboard_asset(struct request *req, const char *name)
{
	static const struct { const char *suffix, *type; } types[] = {
		{ ".html", "text/html; charset=utf-8" },
		{ ".css", "text/css; charset=utf-8" },
		{ ".js", "text/javascript; charset=utf-8" },
	};

	for (const struct embedded_asset *a = dashboard_assets; a->name != NULL; a++) {
		if (strcmp(a->name, name) != 0)
			continue;
		for (size_t i = 0; i < G_N_ELEMENTS(types); i++) {
			if (g_str_has_suffix(name, types[i].suffix))
				response_header(req, "Content-Type", "%s", types[i].type);
		}
		response_empty(req, 200);
		g_string_append_len(req->out, (const char *)a->data, a->len);
		return;
	}
	response_error(req, 404, "Not Found");
}

static void
dashboard_page(struct request *req)
{
	char *who = NULL;
	const char *uri = request_env(req, "REQUEST_URI"), *q;
	size_t n;

	if (!dashboard_gate(req, &who))
		return;
	g_free(who);
	/* The page's links are relative to P/: send P there. */
	n = strlen(req->path);
	if (n == 0 || req->path[n - 1] != '/') {
		q = uri != NULL ? strchr(uri, '?') : NULL;
		response_header(req, "Location", "%s/%s", req->path, q != NULL ? q : "");
		response_error(req, 308, "Moved to the dashboard's directory");
		return;
	}
	dashboard_asset(req, "index.html");
}

static void
dashboard_static(struct request *req)
{
	char *who = NULL;

	if (!dashboard_gate(req, &who))
		return;
	g_free(who);
	/* index.html only at P/. */
	if (strcmp(request_param(req, 0), "index.html") == 0)
		response_error(req, 404, "Not Found");
	else
		dashboard_asset(req, request_param(req, 0));
}

/* A PostgreSQL text[] literal of IDS: each element quoted, \ and " escaped. */
static char *
dashboard_pg_array(GPtrArray *ids)
{
	GString *s = g_string_new("{");

	for (guint i = 0; i < ids->len; i++) {
		g_string_append(s, i > 0 ? ",\"" : "\"");
		for (const char *p = ids->pdata[i]; *p != '\0'; p++) {
			if (*p == '"' || *p == '\\')
				g_string_append_c(s, '\\');
			g_string_append_c(s, *p);
		}
		g_string_append_c(s, '"');
	}
	g_string_append_c(s, '}');
	return g_string_free(s, FALSE);
}

/* Adds "podcast": {id, status, stage, progress, title, error} to every
 * running job whose args name a podcast: the stage and progress the
 * pipeline writes on its row. FALSE when the database could not answer. */
static gboolean
dashboard_add_podcasts(struct request *req, json_t *running)
{
	GPtrArray *ids = g_ptr_array_new();
	GHashTable *rows = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, (GDestroyNotify)json_decref);
	struct db_conn *conn = NULL;
	PGresult *res = NULL;
	char *cause = NULL, *array = NULL;
	const char *params[1];
	gboolean ok = TRUE;
	size_t i;
	json_t *job;

	json_array_foreach(running, i, job) {
		const char *pid = json_string_value(json_object_get(json_object_get(job, "args"), "podcast_id"));

		if (pid != NULL)
			g_ptr_array_add(ids, (gpointer)pid);
	}
	if (ids->len == 0)
		goto out;
	if ((conn = db_acquire(req->app->db, &cause)) == NULL) {
		ok = FALSE;
		goto out;
	}
	params[0] = array = dashboard_pg_array(ids);
	res = db_exec(conn, "dashboard_podcasts", "SELECT id, status, stage, progress, title, error "
	    "FROM podcasts WHERE id = ANY($1::text[])", 1, params);
	if (!db_ok(res)) {
		cause = g_strdup(PQresultErrorMessage(res));
		ok = FALSE;
		goto out;
	}
	for (int r = 0; r < PQntuples(res); r++) {
		json_t *row = json_pack("{s:s, s:s, s:s, s:i}", "id", PQgetvalue(res, r, 0),
		    "status", PQgetvalue(res, r, 1), "stage", PQgetvalue(res, r, 2),
		    "progress", atoi(PQgetvalue(res, r, 3)));

		json_object_set_new(row, "title", PQgetisnull(res, r, 4) ? json_null() : json_string(PQgetvalue(res, r, 4)));
		json_object_set_new(row, "error", PQgetisnull(res, r, 5) ? json_null() : json_string(PQgetvalue(res, r, 5)));
		g_hash_table_replace(rows, (gpointer)json_string_value(json_object_get(row, "id")), row);
	}
	json_array_foreach(running, i, job) {
		const char *pid = json_string_value(json_object_get(json_object_get(job, "args"), "podcast_id"));
		json_t *row = pid != NULL ? g_hash_table_lookup(rows, pid) : NULL;

		if (row != NULL)
			json_object_set(job, "podcast", row);
	}
out:
	if (!ok)
		log_warn("%s dashboard: podcasts not read: %s", req->request_id, cause != NULL ? g_strchomp(cause) : "?");
	if (res != NULL)
		PQclear(res);
	db_release(conn);
	g_free(array);
	g_free(cause);
	g_hash_table_unref(rows);
	g_ptr_array_unref(ids);
	return ok;
}

/* Every worker's running jobs, each with "worker": its name. */
static json_t *
dashboard_running(json_t *workers)
{
	json_t *out = json_array(), *w, *job;
	size_t i, j;

	json_array_foreach(workers, i, w) {
		json_array_foreach(json_object_get(w, "active"), j, job) {
			json_t *copy = json_deep_copy(job);

			json_object_set(copy, "worker", json_object_get(w, "name"));
			json_array_append_new(out, copy);
		}
	}
	return out;
}

static void
dashboard_redis_down(struct request *req, const char *cause)
{
	log_warn("%s dashboard: redis: %s", req->request_id, cause != NULL ? cause : "?");
	request_redis_reset(req);
	response_error(req, 503, "Redis unavailable");
}

/* The queue names, from the cache when fresh: a new reference, or NULL and
 * *cause. */
static GPtrArray *
dashboard_queue_names(struct request *req, redisContext *c, char **cause)
{
	GPtrArray *names = NULL;
	gint64 now = g_get_monotonic_time();

	g_mutex_lock(&dashboard_names_lock);
	if (dashboard_names != NULL && now - dashboard_names_at < DASHBOARD_NAMES_TTL_US)
		names = g_ptr_array_ref(dashboard_names);
	g_mutex_unlock(&dashboard_names_lock);
	if (names != NULL)
		return names;
	if ((names = jobstate_queue_names(c, req->app->cfg->worker_queues, cause)) == NULL)
		return NULL;
	g_mutex_lock(&dashboard_names_lock);
	if (dashboard_names != NULL)
		g_ptr_array_unref(dashboard_names);
	dashboard_names = g_ptr_array_ref(names);
	dashboard_names_at = now;
	g_mutex_unlock(&dashboard_names_lock);
	return names;
}

static void
dashboard_state(struct request *req)
{
	const char *after = request_query(req, "after");
	redisContext *c;
	GPtrArray *names = NULL;
	json_t *workers = NULL, *queues = NULL, *dead = NULL, *events = NULL, *running;
	char *cause = NULL, *who = NULL, *cursor = NULL, *csrf;
	gboolean db_ok_;

	if (!dashboard_gate(req, &who) || !dashboard_same_origin(req))
		goto out;
	if (after != NULL && *after != '\0' && !jobstate_is_entry_id(after)) {
		response_validation(req, "query", "after", "Input should be an event id (the last cursor)",
		    "value_error");
		goto out;
	}
	if ((c = request_redis(req, &cause)) == NULL) {
		dashboard_redis_down(req, cause);
		goto out;
	}
	if ((events = jobstate_events(c, after, after != NULL && *after != '\0' ? DASHBOARD_EVENTS_MAX :
	    DASHBOARD_EVENTS_FIRST, &cursor, &cause)) == NULL ||
	    (workers = jobstate_workers(c, &cause)) == NULL ||
	    (names = dashboard_queue_names(req, c, &cause)) == NULL ||
	    (queues = jobstate_queues(c, names, &cause)) == NULL ||
	    (dead = jobstate_dead_recent(c, names, DASHBOARD_DEAD_SHOWN, &cause)) == NULL) {
		dashboard_redis_down(req, cause);
		goto out;
	}
	running = dashboard_running(workers);
	db_ok_ = dashboard_add_podcasts(req, running);
	csrf = dashboard_auth_csrf(dashboard_auth, request_header(req, "Authorization"));
	response_json(req, 200, json_pack("{s:f, s:s, s:s, s:b, s:O, s:O, s:o, s:O, s:O, s:s}",
	    "now", (double)g_get_real_time() / 1e6, "user", who, "csrf", csrf, "database", db_ok_,
	    "workers", workers, "queues", queues, "running", running, "dead", dead, "events", events,
	    "cursor", cursor));
	g_free(csrf);
out:
	json_decref(workers);
	json_decref(queues);
	json_decref(dead);
	json_decref(events);
	if (names != NULL)
		g_ptr_array_unref(names);
	g_free(cursor);
	g_free(cause);
	g_free(who);
}

/* The optional "queue" of BODY: TRUE with *QUEUE (NULL: every queue), or
 * FALSE after answering 422. */
static gboolean
dashboard_body_queue(struct request *req, json_t *body, const char **queue)
{
	json_t *q = json_object_get(body, "queue");

	*queue = NULL;
	if (q == NULL || json_is_null(q))
		return TRUE;
	if (!json_is_string(q) || json_string_length(q) == 0) {
		response_validation(req, "body", "queue", "Input should be a queue name", "string_type");
		return FALSE;
	}
	*queue = json_string_value(q);
	return TRUE;
}

struct dashboard_retried {
	json_t *retried, *failed;
};

static void
dashboard_retry_report(const char *stream, const redisReply *entry, enum jobstate_retry outcome,
    const char *job_id, const char *cause, void *data)
{
	struct dashboard_retried *r = data;

	if (outcome == JOBSTATE_RETRIED)
		json_array_append_new(r->retried, json_pack("{s:s, s:s}", "entry", entry->element[0]->str,
		    "id", job_id));
	else
		json_array_append_new(r->failed, json_pack("{s:s, s:s, s:s}", "entry", entry->element[0]->str,
		    "error", cause != NULL ? cause : "failed",
		    "reason", outcome == JOBSTATE_MALFORMED ? "malformed envelope: purge it" : "redis"));
}

/* What the POST actions (retry, purge) share: the caller, the JSON body and
 * its optional queue (borrowed from the body), and Redis with the queue
 * names as they are now (not the state's cached ones: an action looks
 * afresh). Zero-initialise; dashboard_action_done frees what it owns. */
struct dashboard_action {
	char *who;
	json_t *body;
	const char *queue;
	redisContext *c;
	GPtrArray *names;
	char *cause;
};

/* The gate, the CSRF check, the body and its queue: TRUE, or FALSE after
 * answering. */
static gboolean
dashboard_action_start(struct request *req, struct dashboard_action *a)
{
	return dashboard_gate(req, &a->who) && dashboard_csrf_ok(req) && (a->body = request_json(req)) != NULL &&
	    dashboard_body_queue(req, a->body, &a->queue);
}

/* a->c and a->names: TRUE, or FALSE after answering 503. */
static gboolean
dashboard_action_redis(struct request *req, struct dashboard_action *a)
{
	if ((a->c = request_redis(req, &a->cause)) != NULL &&
	    (a->names = jobstate_queue_names(a->c, req->app->cfg->worker_queues, &a->cause)) != NULL)
		return TRUE;
	dashboard_redis_down(req, a->cause);
	return FALSE;
}

static void
dashboard_action_done(struct dashboard_action *a)
{
	json_decref(a->body);
	if (a->names != NULL)
		g_ptr_array_unref(a->names);
	g_free(a->cause);
	g_free(a->who);
}

static void
dashboard_retry(struct request *req)
{
	struct dashboard_retried r = { json_array(), json_array() };
	struct dashboard_action a = { 0 };
	const char *id;
	int found, failed = 0;

	if (!dashboard_action_start(req, &a))
		goto out;
	if ((id = json_string_value(json_object_get(a.body, "id"))) == NULL || *id == '\0') {
		response_validation(req, "body", "id", "Input should be a job id, a dead entry id or \"all\"",
		    "string_type");
		goto out;
	}
	if (!dashboard_action_redis(req, &a))
		goto out;
	if ((found = jobstate_dead_retry(a.c, a.names, a.queue, id, dashboard_retry_report, &r, &failed,
	    &a.cause)) < 0) {
		dashboard_redis_down(req, a.cause);
		goto out;
	}
	log_info("%s dashboard: %s retried dead job %s%s%s: %d matched, %d retried", req->request_id, a.who, id,
	    a.queue != NULL ? " of " : "", a.queue != NULL ? a.queue : "", found, found - failed);
	if (found == 0 && strcmp(id, "all") != 0) {
		response_error(req, 404, "No such dead job");
		goto out;
	}
	response_json(req, failed > 0 ? 409 : 200, json_pack("{s:i, s:O, s:O}", "matched", found,
	    "retried", r.retried, "failed", r.failed));
out:
	json_decref(r.retried);
	json_decref(r.failed);
	dashboard_action_done(&a);
}

static void
dashboard_purge(struct request *req)
{
	struct dashboard_action a = { 0 };
	long long purged;

	if (!dashboard_action_start(req, &a) || !dashboard_action_redis(req, &a))
		goto out;
	if ((purged = jobstate_dead_purge(a.c, a.names, a.queue, &a.cause)) < 0) {
		dashboard_redis_down(req, a.cause);
		goto out;
	}
	log_info("%s dashboard: %s purged %lld dead job(s)%s%s", req->request_id, a.who, purged,
	    a.queue != NULL ? " of " : "", a.queue != NULL ? a.queue : "");
	response_json(req, 200, json_pack("{s:I}", "purged", (json_int_t)purged));
out:
	dashboard_action_done(&a);
}

static void
dashboard_route(int i, const char *method, const char *path, const char *suffix, route_handler handler,
    const char *limit)
{
	dashboard_patterns[i] = g_strconcat(path, suffix, NULL);
	dashboard_routes[i] = (struct route){ .method = method, .pattern = dashboard_patterns[i],
	    .handler = handler, .limit = limit };
}

static int
dashboard_init(struct app *app, char **cause)
{
	const char *path = app->cfg->dashboard_path;

	if ((dashboard_auth = dashboard_auth_new(app->cfg)) == NULL)
		return 0;
	dashboard_route(0, "GET", path, "", dashboard_page, "dashboard");
	dashboard_route(1, "GET", path, "/static/{name}", dashboard_static, "dashboard");
	dashboard_route(2, "GET", path, "/api/state", dashboard_state, "dashboard");
	dashboard_route(3, "POST", path, "/api/dead/retry", dashboard_retry, "dashboard_action");
	dashboard_route(4, "POST", path, "/api/dead/purge", dashboard_purge, "dashboard_action");
	/* dashboard_routes[5] stays the end of the table. */
	log_info("dashboard on at %s/", path);
	return 0;
}

static void
dashboard_fini(struct app *app)
{
	for (size_t i = 0; i < G_N_ELEMENTS(dashboard_routes); i++) {
		dashboard_routes[i] = (struct route){ .method = NULL };
		g_clear_pointer(&dashboard_patterns[i], g_free);
	}
	g_clear_pointer(&dashboard_auth, dashboard_auth_free);
	g_clear_pointer(&dashboard_names, g_ptr_array_unref);
}

const struct app_module dashboard_app_module = {
	"dashboard", dashboard_init, dashboard_fini,
};
