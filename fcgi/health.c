/* GET /health (liveness, touches nothing) and GET /health/ready (each
 * dependency checked, the answer bounded by HEALTH_READY_TIMEOUT_MS). */
#include "autoconfig.h"

#include "config.h"
#include "db.h"
#include "log.h"
#include "redis.h"
#include "request.h"
#include "route.h"

static void
health_live(struct request *req)
{
	response_json(req, 200, json_pack("{s:s}", "status", "healthy"));
}

static json_t *
health_result(int rc, gint64 started_us, char *cause)
{
	double ms = (g_get_monotonic_time() - started_us) / 1000.0;
	json_t *r;

	if (rc == 0)
		r = json_pack("{s:s, s:f}", "status", "up", "latency_ms", ms);
	else
		r = json_pack("{s:s, s:f, s:s}", "status", "down", "latency_ms", ms,
		    "error", cause != NULL ? cause : "unknown error");
	g_free(cause);
	return r;
}

/* A fresh connection each time: a probe must not disturb the thread's
 * connection, and its own timeout keeps it inside the budget. */
static int
health_redis_ping(const struct config *cfg, int timeout_ms, char **cause)
{
	redisContext *c = redis_connect(cfg->redis_url, timeout_ms, cause);
	redisReply *reply;
	int rc = -1;

	if (c == NULL)
		return -1;
	reply = redisCommand(c, "PING");
	if (reply != NULL && reply->type == REDIS_REPLY_STATUS)
		rc = 0;
	else
		*cause = redis_reply_error(c, reply);
	if (reply != NULL)
		freeReplyObject(reply);
	redisFree(c);
	return rc;
}

static void
health_ready(struct request *req)
{
	const struct config *cfg = req->app->cfg;
	int budget = cfg->health_ready_timeout_ms, redis_ms, db_ms, rc_db, rc_redis;
	gint64 deadline = g_get_monotonic_time() + (gint64)budget * 1000, t;
	char *cause = NULL;
	json_t *db, *redis;

	/* Split the budget: Redis answers in a millisecond when it is up, so
	 * it gets a third at most and PostgreSQL the rest, less a margin for
	 * writing the answer. */
	redis_ms = MIN(cfg->redis_timeout_ms, budget / 3);
	db_ms = MAX(budget - redis_ms - 50, 50);

	t = g_get_monotonic_time();
	rc_db = db_pool_check(req->app->db, db_ms, &cause);
	db = health_result(rc_db, t, cause);
	cause = NULL;

	t = g_get_monotonic_time();
	redis_ms = (int)MAX(MIN((gint64)redis_ms, (deadline - t) / 1000 - 20), 10);
	rc_redis = health_redis_ping(cfg, redis_ms, &cause);
	redis = health_result(rc_redis, t, cause);

	if (rc_db != 0 || rc_redis != 0)
		log_warn("%s not ready: database %s, redis %s", req->request_id,
		    rc_db == 0 ? "up" : "down", rc_redis == 0 ? "up" : "down");
	response_json(req, rc_db == 0 && rc_redis == 0 ? 200 : 503,
	    json_pack("{s:s, s:{s:o, s:o}}", "status", rc_db == 0 && rc_redis == 0 ? "ready" : "not_ready",
	    "checks", "database", db, "redis", redis));
}

const struct route health_routes[] = {
	{ "GET", "/health", health_live, "health", 0 },
	{ "GET", "/health/ready", health_ready, NULL, 0 },
	{ NULL, NULL, NULL, NULL, 0 }
};
