#include "autoconfig.h"

#include <string.h>

#include "config.h"
#include "redis.h"
#include "task.h"
#include "tasks.h"

/* Tasks the worker's tests drive (tests/integration/test_worker*.py).
 * They are in their own table (task_test_table), which a worker consults
 * only when started with PP_TEST_TASKS=1; nothing in the API enqueues them;
 * their names all start with "test.". */

enum task_result
task_test_echo_run(struct task_ctx *ctx)
{
	ctx->result = json_deep_copy(ctx->args);
	return TASK_OK;
}

/* {"seconds": S, "ignore_stop": bool}: sleeps, noticing task_should_stop. */
enum task_result
task_test_sleep_run(struct task_ctx *ctx)
{
	double seconds = json_number_value(json_object_get(ctx->args, "seconds"));
	gboolean ignore = json_is_true(json_object_get(ctx->args, "ignore_stop"));
	gint64 end = g_get_monotonic_time() + (gint64)(seconds * 1e6);

	while (g_get_monotonic_time() < end) {
		if (!ignore && task_should_stop(ctx))
			return task_error(ctx, TASK_RETRY, "stopped after being asked to (soft limit or shutdown)");
		task_heartbeat(ctx);
		g_usleep(10000);
	}
	return TASK_OK;
}

/* {"error": TEXT, "permanent": bool}: fails, naming the attempt. */
enum task_result
task_test_fail_run(struct task_ctx *ctx)
{
	const char *error = json_string_value(json_object_get(ctx->args, "error"));

	return task_error(ctx, json_is_true(json_object_get(ctx->args, "permanent")) ? TASK_FAIL : TASK_RETRY,
	    "%s (attempt %d)", error != NULL ? error : "failed on purpose", ctx->retries + 1);
}

static redisContext *task_test_redis;

/* {"key": PREFIX, "sleep_ms": N}: records a completion idempotently
 * (SADD PREFIX:done id) and counts executions (INCR PREFIX:runs) in one
 * transaction, so duplicates show as runs > done. */
enum task_result
task_test_record_run(struct task_ctx *ctx)
{
	const char *prefix = json_string_value(json_object_get(ctx->args, "key"));
	json_int_t sleep_ms = json_integer_value(json_object_get(ctx->args, "sleep_ms"));
	char *runs = NULL, *done = NULL, *cause = NULL;
	redisReply *reply = NULL;
	enum task_result res = TASK_OK;

	if (prefix == NULL)
		return task_error(ctx, TASK_FAIL, "args need a key");
	if (sleep_ms > 0)
		g_usleep((gulong)sleep_ms * 1000);
	if (task_test_redis == NULL &&
	    (task_test_redis = redis_open(ctx->cfg, ctx->cfg->redis_timeout_ms, &cause)) == NULL) {
		res = task_error(ctx, TASK_RETRY, "%s", cause);
		goto out;
	}
	runs = g_strconcat(prefix, ":runs", NULL);
	done = g_strconcat(prefix, ":done", NULL);
	redisAppendCommand(task_test_redis, "MULTI");
	redisAppendCommand(task_test_redis, "INCR %s", runs);
	redisAppendCommand(task_test_redis, "SADD %s %s", done, ctx->job_id);
	redisAppendCommand(task_test_redis, "EXEC");
	for (int i = 0; i < 4; i++) {
		if (redisGetReply(task_test_redis, (void **)&reply) != REDIS_OK || reply == NULL ||
		    reply->type == REDIS_REPLY_ERROR || (i == 3 && reply->type != REDIS_REPLY_ARRAY)) {
			char *err = redis_reply_error(task_test_redis, reply);

			res = task_error(ctx, TASK_RETRY, "recording: %s", err != NULL ? err : "transaction aborted");
			g_free(err);
			if (reply != NULL)
				freeReplyObject(reply);
			redisFree(task_test_redis);
			task_test_redis = NULL;
			goto out;
		}
		freeReplyObject(reply);
		reply = NULL;
	}
out:
	g_free(runs);
	g_free(done);
	g_free(cause);
	return res;
}
