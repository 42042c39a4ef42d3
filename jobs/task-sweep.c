/* podcast.sweep: enqueues podcasts whose row was written but whose job
 * never was (Redis down during POST /podcasts/, or the responder died
 * between the two), and removes temporary files that writers killed
 * mid-write left in STORAGE_DIR. Runs every SWEEPER_INTERVAL seconds.
 *
 * Each row is claimed first (enqueued_at set only while still NULL), so
 * two sweeps at once cannot both enqueue it; a failed enqueue gives the
 * claim back. Rows younger than TASK_SWEEP_MIN_AGE seconds are left to the
 * request that is still enqueuing them.
 *
 * A row can also say "enqueued" while Redis no longer has its job: a Redis
 * master that died before replicating the XADD (a Sentinel failover,
 * doc/scaling.md). Acked entries are deleted from the stream, so every job
 * still waiting or running is in it, and stream ids are times: a row still
 * pending that was enqueued TASK_SWEEP_MIN_AGE seconds before the oldest
 * entry of pp:q:podcasts (or with the stream empty) has no job there any
 * more. Such rows are made unqueued again and swept like the others. A job
 * waiting in pp:delayed for a row still pending (its first run could not
 * even reach the database) may so run twice: tasks are idempotent. */
#include "autoconfig.h"

#include "config.h"
#include "db.h"
#include "log.h"
#include "podcast-store.h"
#include "queue.h"
#include "redis.h"
#include "storage.h"
#include "task.h"
#include "task-sweep.h"

#define TASK_SWEEP_MIN_AGE 10
#define TASK_SWEEP_BATCH 500
/* A temporary is written in one go (a put, an upload nginx has buffered
 * whole): one untouched for an hour has lost its writer. The walk's bounds
 * keep a sweep cheap on a large STORAGE_DIR. */
#define TASK_SWEEP_TEMP_AGE 3600
#define TASK_SWEEP_TEMP_ENTRIES 200000
#define TASK_SWEEP_TEMP_REMOVALS 1000

/* 1 claimed, 0 someone else has it, -1 error. */
static int
task_sweep_claim(struct db_conn *conn, const char *id, gboolean claim, char **cause)
{
	const char *params[] = { id };
	PGresult *res = claim ?
	    db_exec(conn, NULL, "UPDATE podcasts SET enqueued_at = now() "
		"WHERE id = $1 AND enqueued_at IS NULL AND status = 'pending' RETURNING id", 1, params) :
	    db_exec(conn, NULL, "UPDATE podcasts SET enqueued_at = NULL "
		"WHERE id = $1 AND job_id IS NULL RETURNING id", 1, params);
	int rc = -1;

	if (!db_ok(res))
		*cause = g_strdup_printf("sweep claim: %s", PQresultErrorMessage(res));
	else
		rc = PQntuples(res) == 1;
	PQclear(res);
	return rc;
}

static int
task_sweep_set_job(struct db_conn *conn, const char *id, const char *job_id, char **cause)
{
	const char *params[] = { id, job_id };
	PGresult *res = db_exec(conn, NULL, "UPDATE podcasts SET job_id = $2 WHERE id = $1", 2, params);
	int rc = db_ok(res) ? 0 : -1;

	if (rc != 0)
		*cause = g_strdup_printf("sweep record: %s", PQresultErrorMessage(res));
	PQclear(res);
	return rc;
}

/* The time (ms) of the oldest entry of the podcasts stream, -1 when it is
 * empty: 0, or -1 and *cause. */
static int
task_sweep_oldest_job(redisContext *redis, gint64 *oldest_ms, char **cause)
{
	char *key = queue_stream_key("podcasts"), *err;
	redisReply *reply = redisCommand(redis, "XRANGE %s - + COUNT 1", key);
	int rc = -1;

	if ((err = redis_reply_error(redis, reply)) != NULL) {
		*cause = g_strdup_printf("sweep: XRANGE: %s", err);
		g_free(err);
		goto out;
	}
	*oldest_ms = -1;
	if (reply->type == REDIS_REPLY_ARRAY && reply->elements > 0 &&
	    reply->element[0]->type == REDIS_REPLY_ARRAY && reply->element[0]->elements > 0 &&
	    reply->element[0]->element[0]->type == REDIS_REPLY_STRING)
		*oldest_ms = g_ascii_strtoll(reply->element[0]->element[0]->str, NULL, 10);
	rc = 0;
out:
	if (reply != NULL)
		freeReplyObject(reply);
	g_free(key);
	return rc;
}

/* Rows pending whose job Redis lost (see the top of this file) become
 * unqueued again: 0, or -1 and *cause. */
static int
task_sweep_lost(struct db_conn *conn, redisContext *redis, int min_age_s, char **cause)
{
	char age[16], oldest[24];
	const char *params[] = { age, oldest };
	gint64 oldest_ms;
	PGresult *res;
	int rc = -1;

	if (task_sweep_oldest_job(redis, &oldest_ms, cause) != 0)
		return -1;
	g_snprintf(age, sizeof age, "%d", min_age_s);
	g_snprintf(oldest, sizeof oldest, "%" G_GINT64_FORMAT, oldest_ms);
	res = db_exec(conn, NULL, "UPDATE podcasts SET enqueued_at = NULL, job_id = NULL "
	    "WHERE status = 'pending' AND enqueued_at IS NOT NULL "
	    "AND enqueued_at < now() - make_interval(secs => $1::int) "
	    "AND ($2::bigint < 0 OR enqueued_at < to_timestamp($2::bigint / 1000.0) - make_interval(secs => $1::int)) "
	    "RETURNING id", 2, params);
	if (!db_ok(res)) {
		*cause = g_strdup_printf("sweep lost jobs: %s", PQresultErrorMessage(res));
		goto out;
	}
	for (int i = 0; i < PQntuples(res); i++)
		log_warn("sweep: podcast %s was enqueued but its job is not in Redis (lost in a failover?): "
		    "enqueuing it again", PQgetvalue(res, i, 0));
	rc = 0;
out:
	PQclear(res);
	return rc;
}

int
task_sweep_once(const struct config *cfg, struct db_pool *db, int min_age_s, int *enqueued,
    char **cause)
{
	struct db_conn *conn = NULL;
	redisContext *redis = NULL;
	GPtrArray *ids = NULL;
	char job_id[ULID_LEN + 1], *why = NULL;
	json_t *args = NULL;
	int rc = -1;

	*enqueued = 0;
	if ((conn = db_acquire(db, cause)) == NULL)
		goto out;
	if ((redis = redis_open(cfg, cfg->redis_timeout_ms, cause)) == NULL)
		goto out;
	if (task_sweep_lost(conn, redis, min_age_s, cause) != 0)
		goto out;
	if ((ids = podcast_store_unqueued(conn, min_age_s, TASK_SWEEP_BATCH, cause)) == NULL)
		goto out;
	for (guint i = 0; i < ids->len; i++) {
		const char *id = g_ptr_array_index(ids, i);
		int claimed = task_sweep_claim(conn, id, TRUE, cause);

		if (claimed < 0)
			goto out;
		if (claimed == 0)
			continue;
		args = json_pack("{s:s}", "podcast_id", id);
		if (queue_enqueue(redis, "podcasts", "podcast.generate", args, 0, job_id, cause) != 0) {
			if (task_sweep_claim(conn, id, FALSE, &why) < 0) {
				log_error("sweep: podcast %s: %s", id, why);
				g_clear_pointer(&why, g_free);
			}
			goto out;
		}
		json_decref(g_steal_pointer(&args));
		if (task_sweep_set_job(conn, id, job_id, &why) != 0) {
			log_warn("sweep: podcast %s enqueued as %s: %s", id, job_id, why);
			g_clear_pointer(&why, g_free);
		}
		log_info("sweep: podcast %s enqueued as job %s", id, job_id);
		(*enqueued)++;
	}
	rc = 0;
out:
	json_decref(args);
	if (redis != NULL)
		redisFree(redis);
	if (ids != NULL)
		g_ptr_array_unref(ids);
	db_release(conn);
	return rc;
}

int
task_sweep_temp(const struct config *cfg, int min_age_s, int *removed, char **cause)
{
	struct storage_sweep sw = { min_age_s, TASK_SWEEP_TEMP_ENTRIES, TASK_SWEEP_TEMP_REMOVALS, 0, FALSE };
	struct storage *st;
	int rc = -1;

	*removed = 0;
	if ((st = storage_new(cfg, cause)) == NULL)
		goto out;
	if (!storage_is_local(st)) {   /* S3 has no temporaries of ours */
		rc = 0;
		goto out;
	}
	rc = storage_local_sweep_temp(st, &sw, time(NULL), cause);
	*removed = (int)sw.removed;
	if (sw.removed > 0)
		log_info("sweep: removed %u temporary file%s older than %d s from %s", sw.removed,
		    sw.removed == 1 ? "" : "s", min_age_s, cfg->storage_dir);
	if (sw.truncated)
		log_warn("sweep: stopped after %u entries or %u removals in %s; the rest waits",
		    sw.max_entries, sw.max_removals, cfg->storage_dir);
out:
	storage_free(st);
	return rc;
}

enum task_result
task_sweep_run(struct task_ctx *ctx)
{
	char *cause = NULL;
	int n = 0, removed = 0;

	/* Independent of the database: done even when the rows' sweep fails. */
	if (task_sweep_temp(ctx->cfg, TASK_SWEEP_TEMP_AGE, &removed, &cause) != 0) {
		log_warn("sweep: temporary files: %s", cause);
		g_clear_pointer(&cause, g_free);
	}
	if (task_sweep_once(ctx->cfg, ctx->db, TASK_SWEEP_MIN_AGE, &n, &cause) != 0) {
		enum task_result r = task_error(ctx, TASK_RETRY, "sweep: %s", cause);

		g_free(cause);
		return r;
	}
	ctx->result = json_pack("{s:i, s:i}", "enqueued", n, "temp_removed", removed);
	return TASK_OK;
}
