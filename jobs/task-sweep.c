/* podcast.sweep: enqueues podcasts whose row was written but whose job
 * never was (Redis down during POST /podcasts/, or the responder died
 * between the two), and removes temporary files that writers killed
 * mid-write left in STORAGE_DIR. Runs every SWEEPER_INTERVAL seconds.
 *
 * Each row is claimed first (enqueued_at set only while still NULL), so
 * two sweeps at once cannot both enqueue it; a failed enqueue gives the
 * claim back. Rows younger than TASK_SWEEP_MIN_AGE seconds are left to the
 * request that is still enqueuing them. */
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
	if ((ids = podcast_store_unqueued(conn, min_age_s, TASK_SWEEP_BATCH, cause)) == NULL)
		goto out;
	if (ids->len == 0) {
		rc = 0;
		goto out;
	}
	if ((redis = redis_open(cfg, cfg->redis_timeout_ms, cause)) == NULL)
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
