/* The dispatcher's limit gate: one Redis round trip per limited request,
 * the rate-limit headers on every limited response, 429 over the limit. */
#include "autoconfig.h"

#include "clientaddr.h"
#include "config.h"
#include "dispatch.h"
#include "log.h"
#include "metrics.h"
#include "ratelimit-hook.h"
#include "ratelimit.h"
#include "request.h"
#include "route.h"

/* A route naming a limit the table does not know is a bug in the route
 * table: say so once per process instead of on every request. */
static gint ratelimit_hook_unknown_warned;

static void
ratelimit_hook_headers(struct request *req, const struct ratelimit_result *r)
{
	response_header(req, "X-RateLimit-Limit", "%d", r->limit);
	response_header(req, "X-RateLimit-Remaining", "%d", r->remaining);
	response_header(req, "X-RateLimit-Reset", "%d", r->reset);
	/* draft-ietf-httpapi-ratelimit-headers-07, see doc/ratelimit.md. */
	response_header(req, "RateLimit-Policy", "%d;w=%d", r->limit, r->window);
	response_header(req, "RateLimit", "limit=%d, remaining=%d, reset=%d", r->limit, r->remaining,
	    r->reset);
}

static gboolean
ratelimit_hook_gate(struct request *req)
{
	if (req->route == NULL || req->route->limit == NULL)
		return TRUE;
	return ratelimit_hook_check(req, req->route->limit);
}

gboolean
ratelimit_hook_check(struct request *req, const char *name)
{
	return ratelimit_hook_check_key(req, name, NULL);
}

gboolean
ratelimit_hook_check_key(struct request *req, const char *name, const char *key)
{
	struct ratelimit *rl = req->app->limits;
	const struct ratelimit_rule *rule;
	struct ratelimit_result r;
	redisContext *redis;
	char *client, *bucket, *cause = NULL, retry[16];
	int rc;

	if (!ratelimit_enabled(rl))
		return TRUE;
	if ((rule = ratelimit_rule(rl, name)) == NULL) {
		if (!ratelimit_known(name) &&
		    g_atomic_int_compare_and_exchange(&ratelimit_hook_unknown_warned, 0, 1))
			log_warn("%s route %s %s names the unknown rate limit \"%s\": not limited",
			    req->request_id, req->method, req->path, name);
		return TRUE;
	}
	client = clientaddr_resolve(ratelimit_trust(rl), req->remote_addr,
	    request_header(req, "X-Forwarded-For"));
	bucket = key != NULL ? g_strdup(key) : clientaddr_bucket(client);
	if ((redis = request_redis(req, &cause)) == NULL)
		ratelimit_warn_redis_down(rl, cause, g_get_monotonic_time());
	g_clear_pointer(&cause, g_free);
	rc = ratelimit_hit(rl, redis, rule, bucket, &r, &cause);
	if (rc != 0) {
		ratelimit_warn_redis_down(rl, cause, g_get_monotonic_time());
		g_free(cause);
	}
	/* A broken connection is dropped; the next request reconnects (with
	 * request_redis's back-off). */
	if (rc < 0)
		request_redis_reset(req);
	ratelimit_hook_headers(req, &r);
	if (!r.allowed) {
		log_debug("%s rate limit %s exceeded by %s", req->request_id, rule->name, client);
		metrics_ratelimit_refused(req->route);
		g_snprintf(retry, sizeof retry, "%d", r.retry_after);
		response_header(req, "Retry-After", "%s", retry);
		response_json(req, 429, json_pack("{s:s, s:s}",
		    "detail", "Rate limit exceeded. Please try again later.", "retry_after", retry));
	}
	g_free(bucket);
	g_free(client);
	return r.allowed;
}

static int
ratelimit_hook_init(struct app *app, char **cause)
{
	if ((app->limits = ratelimit_new(app->cfg, cause)) == NULL)
		return -1;
	dispatch_set_limit_hook(ratelimit_hook_gate);
	return 0;
}

static void
ratelimit_hook_fini(struct app *app)
{
	g_clear_pointer(&app->limits, ratelimit_free);
}

const struct app_module ratelimit_app_module = {
	"ratelimit", ratelimit_hook_init, ratelimit_hook_fini,
};
