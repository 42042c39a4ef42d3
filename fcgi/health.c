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

/* A reused Redis connection that failed is replaced at once when at least
 * this much of its budget is left. */
#define HEALTH_RETRY_MIN_MS 50

/* A check's answer. It is public: a failure says "down", never the
 * driver's message (addresses, ports); the caller logs that. */
static json_t *
health_result(int rc, gint64 started_us)
{
	double ms = (g_get_monotonic_time() - started_us) / 1000.0;

	if (rc == 0)
		return json_pack("{s:s, s:f}", "status", "up", "latency_ms", ms);
	return json_pack("{s:s, s:f, s:s}", "status", "down", "latency_ms", ms, "error", "down");
}

static const char *
health_cause(const char *cause)
{
	return cause != NULL ? cause : "unknown error";
}

static struct timeval
health_timeval(int ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	return tv;
}

/* One PING on C within TIMEOUT_MS; the thread's usual command timeout is
 * put back after an answer. With sentinels, ROLE instead: a server that
 * became a replica answers PING but is not ready for us. 0, or -1 and
 * *cause. */
static int
health_redis_ping_once(redisContext *c, int timeout_ms, const struct config *cfg, char **cause)
{
	int usual_ms = cfg->redis_timeout_ms;
	redisReply *reply = NULL;
	int rc = -1;

	if (redisSetTimeout(c, health_timeval(timeout_ms)) != REDIS_OK) {
		*cause = g_strdup("Redis: cannot set the command timeout");
		return -1;
	}
	if (cfg->redis_sentinels != NULL)
		rc = redis_check_master(c, cause);
	else if ((reply = redisCommand(c, "PING")) != NULL && reply->type == REDIS_REPLY_STATUS)
		rc = 0;
	else if ((*cause = redis_reply_error(c, reply)) == NULL)
		*cause = g_strdup("Redis: unexpected answer to PING");
	if (reply != NULL)
		freeReplyObject(reply);
	if (rc == 0 && redisSetTimeout(c, health_timeval(usual_ms)) != REDIS_OK) {
		*cause = g_strdup("Redis: cannot set the command timeout");
		rc = -1;
	}
	return rc;
}

/* PING on this thread's own Redis connection (the one the rate limiter
 * uses), connected when there is none, within TIMEOUT_MS: no connection is
 * opened per call. A failed one is dropped; when it was an old connection
 * (Redis restarted, the server closed it) a fresh one gets the time left.
 * A failed connect waits a second before the next, as request_redis(). */
static int
health_redis_ping(struct request *req, int timeout_ms, char **cause)
{
	struct acceptor *acc = req->acceptor;
	const struct config *cfg = req->app->cfg;
	gint64 started = g_get_monotonic_time(), left_ms = timeout_ms;

	if (acc->redis != NULL) {
		if (health_redis_ping_once(acc->redis, timeout_ms, cfg, cause) == 0)
			return 0;
		request_redis_reset(req);
		left_ms = timeout_ms - (g_get_monotonic_time() - started) / 1000;
		if (left_ms < HEALTH_RETRY_MIN_MS)
			return -1;
		g_clear_pointer(cause, g_free);
	} else if (started < acc->redis_retry_after_us) {
		*cause = g_strdup("Redis unavailable (next attempt within a second)");
		return -1;
	}
	if ((acc->redis = redis_open(cfg, (int)left_ms, cause)) == NULL) {
		acc->redis_retry_after_us = g_get_monotonic_time() + G_USEC_PER_SEC;
		return -1;
	}
	left_ms = MAX(timeout_ms - (g_get_monotonic_time() - started) / 1000, 10);
	if (health_redis_ping_once(acc->redis, (int)left_ms, cfg, cause) == 0)
		return 0;
	request_redis_reset(req);
	return -1;
}

static void
health_ready(struct request *req)
{
	const struct config *cfg = req->app->cfg;
	int budget = cfg->health_ready_timeout_ms, redis_ms, db_ms, rc_db, rc_redis;
	gint64 deadline = g_get_monotonic_time() + (gint64)budget * 1000, t;
	char *db_cause = NULL, *redis_cause = NULL;
	json_t *db, *redis;

	/* Split the budget: Redis answers in a millisecond when it is up, so
	 * it gets a third at most and PostgreSQL the rest, less a margin for
	 * writing the answer. */
	redis_ms = MIN(cfg->redis_timeout_ms, budget / 3);
	db_ms = MAX(budget - redis_ms - 50, 50);

	t = g_get_monotonic_time();
	rc_db = db_pool_check(req->app->db, db_ms, &db_cause);
	db = health_result(rc_db, t);

	t = g_get_monotonic_time();
	redis_ms = (int)MAX(MIN((gint64)redis_ms, (deadline - t) / 1000 - 20), 10);
	rc_redis = health_redis_ping(req, redis_ms, &redis_cause);
	redis = health_result(rc_redis, t);

	/* The causes go to the log only, one line per answer. */
	if (rc_db != 0 || rc_redis != 0)
		log_warn("%s not ready: database %s%s%s, redis %s%s%s", req->request_id,
		    rc_db == 0 ? "up" : "down (", rc_db == 0 ? "" : health_cause(db_cause), rc_db == 0 ? "" : ")",
		    rc_redis == 0 ? "up" : "down (", rc_redis == 0 ? "" : health_cause(redis_cause),
		    rc_redis == 0 ? "" : ")");
	g_free(db_cause);
	g_free(redis_cause);
	response_json(req, rc_db == 0 && rc_redis == 0 ? 200 : 503,
	    json_pack("{s:s, s:{s:o, s:o}}", "status", rc_db == 0 && rc_redis == 0 ? "ready" : "not_ready",
	    "checks", "database", db, "redis", redis));
}

const struct route health_routes[] = {
	{ .method = "GET", .pattern = "/health", .handler = health_live, .limit = "health" },
	{ .method = "GET", .pattern = "/health/ready", .handler = health_ready },
	{ .method = NULL }
};
