/* GET /metrics (doc/metrics.md): the responder's counters from shared
 * memory, the job system's numbers from Redis, in Prometheus' text format.
 *
 * Served only when METRICS_LISTEN is set and the request came through the
 * web server's listener it names (SERVER_ADDR and SERVER_PORT, which the
 * web server sets and no client can), and with METRICS_TOKEN when that is
 * set; anything else gets the 404 of an unknown path. */
#include "autoconfig.h"

#include <string.h>
#include <unistd.h>

#include "config.h"
#include "db.h"
#include "jobstate.h"
#include "log.h"
#include "metrics-private.h"
#include "metrics.h"
#include "promtext.h"
#include "request.h"
#include "route.h"

static const char *const metrics_class_names[METRICS_CLASSES] = { "2xx", "3xx", "4xx", "5xx" };

void
metrics_publish_pool(struct db_pool *pool)
{
	/* The main thread's alone: what it added so far from this pool. */
	static guint64 waits_added, timeouts_added;
	struct db_pool_stats st;

	if (metrics_mine == NULL || pool == NULL)
		return;
	db_pool_stats(pool, &st);
	if (st.waits > waits_added)
		metrics_add(&metrics_mine->db_waits, st.waits - waits_added);
	if (st.timeouts > timeouts_added)
		metrics_add(&metrics_mine->db_timeouts, st.timeouts - timeouts_added);
	waits_added = MAX(waits_added, st.waits);
	timeouts_added = MAX(timeouts_added, st.timeouts);
	metrics_store(&metrics_mine->db_size, (gint64)st.size + st.overflow_open);
	metrics_store(&metrics_mine->db_in_use, (gint64)st.in_use);
	metrics_store(&metrics_mine->db_idle, (gint64)st.idle);
	metrics_store(&metrics_mine->db_waiting, (gint64)st.waiting);
}

/* The sum of every slot (each read field by field: a scrape racing a
 * request may see its count before its histogram, never a total lower
 * than an earlier scrape's). */
static void
metrics_sum(struct metrics_slot *sum)
{
	memset(sum, 0, sizeof *sum);
	for (int s = 0; s < metrics_nslots; s++) {
		struct metrics_slot *slot = &metrics_slots[s];

		sum->redis_errors += metrics_load(&slot->redis_errors);
		sum->db_waits += metrics_load(&slot->db_waits);
		sum->db_timeouts += metrics_load(&slot->db_timeouts);
		sum->db_size += metrics_load(&slot->db_size);
		sum->db_in_use += metrics_load(&slot->db_in_use);
		sum->db_idle += metrics_load(&slot->db_idle);
		sum->db_waiting += metrics_load(&slot->db_waiting);
		for (int r = 0; r <= METRICS_MAX_ROUTES; r++) {
			struct metrics_route_counters *from = &slot->routes[r], *to = &sum->routes[r];

			for (int c = 0; c < METRICS_CLASSES; c++)
				to->status[c] += metrics_load(&from->status[c]);
			for (int b = 0; b <= METRICS_NBOUNDS; b++)
				to->buckets[b] += metrics_load(&from->buckets[b]);
			to->sum_us += metrics_load(&from->sum_us);
			to->refused += metrics_load(&from->refused);
		}
	}
}

/* LABELS with the pid first when the process reports alone: a label
 * array of at most 4 pairs. */
struct metrics_labels {
	const char *v[2 * 5 + 1];
	int n;
	char pid[24];
};

static void
metrics_labels_init(struct metrics_labels *l)
{
	l->n = 0;
	if (metrics_by_pid) {
		g_snprintf(l->pid, sizeof l->pid, "%ld", (long)getpid());
		l->v[l->n++] = "pid";
		l->v[l->n++] = l->pid;
	}
	l->v[l->n] = NULL;
}

static const char *const *
metrics_labels(struct metrics_labels *l, const char *a, const char *av, const char *b, const char *bv,
    const char *c, const char *cv)
{
	int n = metrics_by_pid ? 2 : 0;

	if (a != NULL) {
		l->v[n++] = a;
		l->v[n++] = av;
	}
	if (b != NULL) {
		l->v[n++] = b;
		l->v[n++] = bv;
	}
	if (c != NULL) {
		l->v[n++] = c;
		l->v[n++] = cv;
	}
	l->v[n] = NULL;
	return l->v;
}

static void
metrics_route_names(int r, const char **pattern, const char **method)
{
	if (r < metrics_nroutes) {
		*pattern = metrics_routes_seen[r]->pattern;
		*method = metrics_routes_seen[r]->method;
	} else {
		*pattern = "(unmatched)";
		*method = "-";
	}
}

static gboolean
metrics_route_used(const struct metrics_route_counters *c)
{
	for (int i = 0; i < METRICS_CLASSES; i++) {
		if (c->status[i] != 0)
			return TRUE;
	}
	return FALSE;
}

static void
metrics_render_http(GString *out, const struct metrics_slot *sum)
{
	struct metrics_labels l;
	const char *pattern, *method;
	GPtrArray *rules = g_ptr_array_new();

	metrics_labels_init(&l);
	promtext_family(out, "podcastpro_http_requests_total", "counter",
	    "Requests answered, by route (its pattern, or (unmatched)), method and status class");
	for (int r = 0; r <= METRICS_MAX_ROUTES; r++) {
		if (!metrics_route_used(&sum->routes[r]))
			continue;
		metrics_route_names(r, &pattern, &method);
		for (int c = 0; c < METRICS_CLASSES; c++)
			promtext_sample_u64(out, "podcastpro_http_requests_total", metrics_labels(&l, "route", pattern,
			    "method", method, "code", metrics_class_names[c]), sum->routes[r].status[c]);
	}
	promtext_family(out, "podcastpro_http_request_duration_seconds", "histogram",
	    "Time from accepting a request to its response written, by route and method");
	for (int r = 0; r <= METRICS_MAX_ROUTES; r++) {
		if (!metrics_route_used(&sum->routes[r]))
			continue;
		metrics_route_names(r, &pattern, &method);
		promtext_histogram(out, "podcastpro_http_request_duration_seconds",
		    metrics_labels(&l, "route", pattern, "method", method, NULL, NULL), metrics_bounds_s,
		    METRICS_NBOUNDS, sum->routes[r].buckets, sum->routes[r].sum_us / 1e6);
	}
	/* Every limit a route names, summed over the routes that share it. */
	for (int r = 0; r < metrics_nroutes; r++) {
		const char *rule = metrics_routes_seen[r]->limit;
		gboolean seen = FALSE;

		for (guint i = 0; rule != NULL && i < rules->len && !seen; i++)
			seen = strcmp(rules->pdata[i], rule) == 0;
		if (rule != NULL && !seen)
			g_ptr_array_add(rules, (gpointer)rule);
	}
	promtext_family(out, "podcastpro_ratelimit_refused_total", "counter",
	    "Requests refused with 429, by rate-limit rule (RATE_LIMITS)");
	for (guint i = 0; i < rules->len; i++) {
		guint64 n = 0;

		for (int r = 0; r < metrics_nroutes; r++) {
			if (metrics_routes_seen[r]->limit != NULL && strcmp(metrics_routes_seen[r]->limit, rules->pdata[i]) == 0)
				n += sum->routes[r].refused;
		}
		promtext_sample_u64(out, "podcastpro_ratelimit_refused_total",
		    metrics_labels(&l, "rule", rules->pdata[i], NULL, NULL, NULL, NULL), n);
	}
	g_ptr_array_free(rules, TRUE);
}

static void
metrics_render_process(GString *out, const struct metrics_slot *sum)
{
	struct metrics_labels l;
	const char *const *none;

	metrics_labels_init(&l);
	none = metrics_labels(&l, NULL, NULL, NULL, NULL, NULL, NULL);
	promtext_family(out, "podcastpro_redis_errors_total", "counter",
	    "Redis connections that failed and commands that broke one, in the responder");
	promtext_sample_u64(out, "podcastpro_redis_errors_total", none, sum->redis_errors);
	promtext_family(out, "podcastpro_db_pool_connections", "gauge",
	    "PostgreSQL connections of the responder's pools, by state (in_use, idle), at most a second old");
	promtext_sample_u64(out, "podcastpro_db_pool_connections",
	    metrics_labels(&l, "state", "in_use", NULL, NULL, NULL, NULL), (guint64)MAX(sum->db_in_use, 0));
	promtext_sample_u64(out, "podcastpro_db_pool_connections",
	    metrics_labels(&l, "state", "idle", NULL, NULL, NULL, NULL), (guint64)MAX(sum->db_idle, 0));
	none = metrics_labels(&l, NULL, NULL, NULL, NULL, NULL, NULL);
	promtext_family(out, "podcastpro_db_pool_size", "gauge",
	    "PostgreSQL connections the responder's pools may hold now (DB_POOL_SIZE and open overflow, summed)");
	promtext_sample_u64(out, "podcastpro_db_pool_size", none, (guint64)MAX(sum->db_size, 0));
	promtext_family(out, "podcastpro_db_pool_waiting", "gauge",
	    "Requests waiting for a PostgreSQL connection now");
	promtext_sample_u64(out, "podcastpro_db_pool_waiting", none, (guint64)MAX(sum->db_waiting, 0));
	promtext_family(out, "podcastpro_db_pool_waits_total", "counter",
	    "Requests that had to wait for a PostgreSQL connection");
	promtext_sample_u64(out, "podcastpro_db_pool_waits_total", none, sum->db_waits);
	promtext_family(out, "podcastpro_db_pool_timeouts_total", "counter",
	    "Requests that gave up waiting for a PostgreSQL connection (DB_POOL_TIMEOUT, answered 503)");
	promtext_sample_u64(out, "podcastpro_db_pool_timeouts_total", none, sum->db_timeouts);
}

/* Queue depths and the workers' published numbers: FALSE when Redis
 * could not be read (nothing of it written then). */
static gboolean
metrics_render_jobs(struct request *req, GString *out)
{
	static const char *const states[] = { "waiting", "running", "delayed", "dead" };
	redisContext *c;
	redisReply *names = NULL, **hashes = NULL;
	GPtrArray *queues = NULL;
	json_t *depths = NULL, *q;
	GString *jobs = g_string_new(NULL);
	char *cause = NULL;
	gboolean ok = FALSE;
	size_t i, k;

	if ((c = request_redis(req, &cause)) == NULL)
		goto out;
	if ((queues = jobstate_queue_names(c, req->app->cfg->worker_queues, &cause)) == NULL ||
	    (depths = jobstate_queues(c, queues, &cause)) == NULL)
		goto broken;
	promtext_family(jobs, "podcastpro_queue_jobs", "gauge",
	    "Jobs in each queue by state: waiting, running (delivered, not acknowledged), delayed (retries), dead");
	json_array_foreach(depths, i, q) {
		for (k = 0; k < G_N_ELEMENTS(states); k++) {
			const char *labels[] = { "queue", json_string_value(json_object_get(q, "queue")),
			    "state", states[k], NULL };

			promtext_sample_u64(jobs, "podcastpro_queue_jobs", labels,
			    (guint64)MAX(json_integer_value(json_object_get(q, states[k])), 0));
		}
	}
	names = redisCommand(c, "SMEMBERS %s", PROMTEXT_WORKER_SET);
	if (names == NULL || names->type != REDIS_REPLY_ARRAY) {
		cause = g_strdup(names == NULL ? c->errstr : "SMEMBERS: unexpected reply");
		goto broken;
	}
	for (i = 0; i < names->elements; i++)
		redisAppendCommand(c, "HGETALL %s%s", PROMTEXT_WORKER_KEY_PREFIX, names->element[i]->str);
	hashes = g_new0(redisReply *, names->elements + 1);
	for (i = 0; i < names->elements; i++) {
		if (redisGetReply(c, (void **)&hashes[i]) != REDIS_OK) {
			cause = g_strdup(c->errstr);
			goto broken;
		}
	}
	/* A worker whose hash expired has stopped publishing: forget it. */
	for (i = 0; i < names->elements; i++) {
		if (hashes[i]->type == REDIS_REPLY_ARRAY && hashes[i]->elements == 0)
			freeReplyObject(redisCommand(c, "SREM %s %s", PROMTEXT_WORKER_SET, names->element[i]->str));
	}
	for (const struct promtext_worker_family *f = promtext_worker_families; f->name != NULL; f++) {
		promtext_family(jobs, f->name, f->type, f->help);
		for (i = 0; i < names->elements; i++) {
			for (k = 0; hashes[i]->type == REDIS_REPLY_ARRAY && k + 1 < hashes[i]->elements; k += 2) {
				if (strcmp(hashes[i]->element[k]->str, f->name) == 0)
					g_string_append(jobs, hashes[i]->element[k + 1]->str);
			}
		}
	}
	g_string_append(out, jobs->str);
	ok = TRUE;
	goto out;
broken:
	request_redis_reset(req);
out:
	/* A failed connect or a broken connection was counted where it
	 * happened (request_redis, request_redis_reset). */
	if (!ok) {
		log_info("%s metrics: job numbers left out: %s", req->request_id, cause != NULL ? cause : "Redis failed");
	}
	for (i = 0; hashes != NULL && i < names->elements; i++)
		if (hashes[i] != NULL)
			freeReplyObject(hashes[i]);
	g_free(hashes);
	if (names != NULL)
		freeReplyObject(names);
	json_decref(depths);
	if (queues != NULL)
		g_ptr_array_unref(queues);
	g_string_free(jobs, TRUE);
	g_free(cause);
	return ok;
}

/* SERVER_ADDR and SERVER_PORT name the listener METRICS_LISTEN names. */
static gboolean
metrics_listener_matches(struct request *req, const char *spec)
{
	const char *colon = strrchr(spec, ':'), *addr = request_env(req, "SERVER_ADDR");
	const char *port = request_env(req, "SERVER_PORT");
	const char *host = spec;
	size_t host_len = colon != NULL ? (size_t)(colon - spec) : 0;

	if (colon == NULL || port == NULL || strcmp(port, colon + 1) != 0)
		return FALSE;
	if (host_len == 1 && host[0] == '*')
		return TRUE;
	if (host_len >= 2 && host[0] == '[') {
		host++;
		host_len -= 2;
	}
	return addr != NULL && strlen(addr) == host_len && g_ascii_strncasecmp(addr, host, host_len) == 0;
}

static gboolean
metrics_token_ok(struct request *req, const char *token)
{
	const char *auth = request_header(req, "Authorization");
	size_t n = strlen(token), got;
	unsigned diff = 0;

	if (auth == NULL || g_ascii_strncasecmp(auth, "Bearer ", 7) != 0)
		return FALSE;
	auth += 7;
	got = strlen(auth);
	for (size_t i = 0; i < n; i++)
		diff |= (unsigned char)token[i] ^ (unsigned char)(i < got ? auth[i] : 0);
	return diff == 0 && got == n;
}

static void
metrics_get(struct request *req)
{
	const struct config *cfg = req->app->cfg;
	struct metrics_slot *sum = NULL;
	struct metrics_labels l;
	GString *out, *jobs;
	gboolean jobs_ok;

	if (cfg->metrics_listen == NULL || !metrics_listener_matches(req, cfg->metrics_listen)) {
		response_error(req, 404, "Not Found");
		return;
	}
	if (cfg->metrics_token != NULL && !metrics_token_ok(req, cfg->metrics_token)) {
		log_info("%s metrics: token missing or wrong from %s", req->request_id, req->remote_addr);
		response_header(req, "WWW-Authenticate", "Bearer realm=\"metrics\"");
		response_error(req, 401, "Not authenticated");
		return;
	}
	out = g_string_sized_new(16384);
	/* Redis first, so that a failure now is in this answer's counters. */
	jobs = g_string_new(NULL);
	jobs_ok = metrics_render_jobs(req, jobs);
	if (metrics_slots != NULL) {
		sum = g_new(struct metrics_slot, 1);
		metrics_sum(sum);
		metrics_render_http(out, sum);
		metrics_render_process(out, sum);
		g_free(sum);
	}
	g_string_append_len(out, jobs->str, (gssize)jobs->len);
	g_string_free(jobs, TRUE);
	metrics_labels_init(&l);
	promtext_family(out, "podcastpro_jobs_scrape_ok", "gauge",
	    "1 when the queue and worker numbers could be read from Redis for this answer, else 0");
	promtext_sample_u64(out, "podcastpro_jobs_scrape_ok",
	    metrics_labels(&l, NULL, NULL, NULL, NULL, NULL, NULL), jobs_ok ? 1 : 0);
	response_header(req, "Content-Type", "%s", promtext_content_type);
	response_header(req, "Cache-Control", "no-store");
	response_empty(req, 200);
	g_string_append_len(req->out, out->str, (gssize)out->len);
	g_string_free(out, TRUE);
}

const struct route metrics_routes[] = {
	{ .method = "GET", .pattern = "/metrics", .handler = metrics_get },
	{ .method = NULL }
};

static int
metrics_init(struct app *app, char **cause)
{
	(void)app;
	(void)cause;
	metrics_index_routes(route_groups_list(FALSE), route_groups_list(TRUE));
	return 0;
}

const struct app_module metrics_app_module = {
	"metrics", metrics_init, NULL,
};
