#include "autoconfig.h"

#include <string.h>

#include "queue.h"
#include "redis.h"

const char queue_lua_move_due[] =
	"local due = redis.call('ZRANGE', KEYS[1], '-inf', ARGV[1], 'BYSCORE', 'LIMIT', 0, tonumber(ARGV[2]))\n"
	"for _, m in ipairs(due) do\n"
	"  local ok, job = pcall(cjson.decode, m)\n"
	"  local q = 'default'\n"
	"  if ok and type(job) == 'table' and type(job['queue']) == 'string' then q = job['queue'] end\n"
	"  redis.call('XADD', ARGV[3] .. q, '*', 'job', m)\n"
	"  redis.call('ZREM', KEYS[1], m)\n"
	"end\n"
	"return #due\n";

const char queue_lua_finish[] =
	"local n = redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])\n"
	"if n == 1 then\n"
	"  redis.call('XDEL', KEYS[1], ARGV[2])\n"
	"  if ARGV[3] == 'retry' then\n"
	"    redis.call('ZADD', KEYS[2], ARGV[5], ARGV[4])\n"
	"  elseif ARGV[3] == 'dead' then\n"
	"    redis.call('XADD', KEYS[2], 'MAXLEN', '~', '" G_STRINGIFY(QUEUE_DEAD_MAXLEN) "', '*',\n"
	"      'id', ARGV[7], 'task', ARGV[6], 'queue', ARGV[8], 'error', ARGV[5], 'job', ARGV[4])\n"
	"  elseif ARGV[3] == 'requeue' then\n"
	"    redis.call('XADD', KEYS[1], '*', 'job', ARGV[4])\n"
	"  end\n"
	"end\n"
	"return n\n";

const char queue_lua_reclaim[] =
	"local r = redis.call('XAUTOCLAIM', KEYS[1], ARGV[1], ARGV[2], ARGV[3], '0-0', 'COUNT', tonumber(ARGV[4]))\n"
	"local out = {}\n"
	"for _, e in ipairs(r[2]) do\n"
	"  if type(e) == 'table' and e[2] then\n"
	"    local p = redis.call('XPENDING', KEYS[1], ARGV[1], e[1], e[1], 1)\n"
	"    local n = 1\n"
	"    if p[1] then n = p[1][4] end\n"
	"    table.insert(out, {e[1], e[2], n})\n"
	"  end\n"
	"end\n"
	"return out\n";

const char queue_lua_recover[] =
	"local p = redis.call('XPENDING', KEYS[1], ARGV[1], '-', '+', tonumber(ARGV[3]), ARGV[2])\n"
	"local out = {}\n"
	"for _, e in ipairs(p) do\n"
	"  local r = redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, e[1])\n"
	"  if r[1] and r[1][2] then table.insert(out, {r[1][1], r[1][2], e[4] + 1})\n"
	"  else redis.call('XACK', KEYS[1], ARGV[1], e[1]) end\n"
	"end\n"
	"return out\n";

double
queue_now(void)
{
	return (double)g_get_real_time() / 1e6;
}

char *
queue_stream_key(const char *queue)
{
	return g_strconcat(QUEUE_PREFIX, queue, NULL);
}

char *
queue_dead_key(const char *queue)
{
	return g_strconcat(QUEUE_DEAD_PREFIX, queue, NULL);
}

double
queue_backoff(int retries, int backoff, int backoff_max, gboolean jitter, GRand *rng)
{
	gint64 countdown = MAX(backoff, 0);

	/* Doubling stops at the cap, so nothing overflows (and no libm). */
	for (int i = 0; i < retries && countdown > 0 && countdown < backoff_max; i++)
		countdown *= 2;
	if (countdown > backoff_max)
		countdown = MAX(backoff_max, 0);
	if (jitter && countdown > 0) {
		/* Celery: random.randrange(countdown + 1), whole seconds. */
		gint32 hi = countdown >= G_MAXINT32 ? G_MAXINT32 : (gint32)countdown + 1;

		countdown = rng != NULL ? g_rand_int_range(rng, 0, hi) : g_random_int_range(0, hi);
	}
	return (double)countdown;
}

struct queue_job *
queue_job_new(const char *queue, const char *task, json_t *args)
{
	struct queue_job *job = g_new0(struct queue_job, 1);
	char id[ULID_LEN + 1];

	ulid_new(id);
	job->id = g_strdup(id);
	job->task = g_strdup(task);
	job->queue = g_strdup(queue);
	job->args = args != NULL ? json_incref(args) : json_object();
	job->attempt = 1;
	job->enqueued_at = queue_now();
	return job;
}

void
queue_job_free(struct queue_job *job)
{
	if (job == NULL)
		return;
	g_free(job->id);
	g_free(job->task);
	g_free(job->queue);
	json_decref(job->args);
	g_free(job->last_error);
	g_free(job);
}

char *
queue_job_encode(const struct queue_job *job)
{
	json_t *o = json_object();
	char *text, *out;

	json_object_set_new(o, "id", json_string(job->id));
	json_object_set_new(o, "task", json_string(job->task));
	json_object_set(o, "args", job->args != NULL ? job->args : json_null());
	json_object_set_new(o, "queue", json_string(job->queue));
	json_object_set_new(o, "attempt", json_integer(job->attempt));
	json_object_set_new(o, "enqueued_at", json_real(job->enqueued_at));
	if (job->eta > 0)
		json_object_set_new(o, "eta", json_real(job->eta));
	if (job->last_error != NULL)
		json_object_set_new(o, "last_error", json_string(job->last_error));
	text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	/* json_dumps memory comes from Jansson's allocator: hand back GLib's. */
	out = g_strdup(text);
	free(text);
	return out;
}

struct queue_job *
queue_job_decode(const char *json, size_t len, char **cause)
{
	json_error_t err;
	json_t *o = json_loadb(json, len, 0, &err), *v;
	struct queue_job *job = NULL;
	const char *id, *task, *queue;

	if (o == NULL) {
		*cause = g_strdup_printf("envelope is not JSON: %s", err.text);
		return NULL;
	}
	id = json_string_value(json_object_get(o, "id"));
	task = json_string_value(json_object_get(o, "task"));
	queue = json_string_value(json_object_get(o, "queue"));
	if (!json_is_object(o) || id == NULL || *id == '\0' || task == NULL || *task == '\0') {
		*cause = g_strdup("envelope lacks id or task");
		goto out;
	}
	job = g_new0(struct queue_job, 1);
	job->id = g_strdup(id);
	job->task = g_strdup(task);
	job->queue = g_strdup(queue != NULL ? queue : "default");
	v = json_object_get(o, "args");
	job->args = v != NULL ? json_incref(v) : json_object();
	v = json_object_get(o, "attempt");
	job->attempt = json_is_integer(v) && json_integer_value(v) >= 1 && json_integer_value(v) < G_MAXINT ?
	    (int)json_integer_value(v) : 1;
	job->enqueued_at = json_number_value(json_object_get(o, "enqueued_at"));
	job->eta = json_number_value(json_object_get(o, "eta"));
	if (json_is_string(json_object_get(o, "last_error")))
		job->last_error = g_strdup(json_string_value(json_object_get(o, "last_error")));
out:
	json_decref(o);
	return job;
}

int
queue_enqueue(redisContext *c, const char *queue, const char *task, json_t *args,
    double countdown_s, char job_id[ULID_LEN + 1], char **cause)
{
	struct queue_job *job = queue_job_new(queue, task, args);
	char *text = NULL, *key = NULL, *err = NULL, score[32];
	redisReply *reply = NULL;
	int rc = -1;

	if (countdown_s > 0) {
		job->eta = job->enqueued_at + countdown_s;
		text = queue_job_encode(job);
		g_snprintf(score, sizeof score, "%.0f", job->eta * 1000.0);
		reply = redisCommand(c, "ZADD %s %s %s", QUEUE_DELAYED_KEY, score, text);
	} else {
		text = queue_job_encode(job);
		key = queue_stream_key(queue);
		reply = redisCommand(c, "XADD %s * job %s", key, text);
	}
	if ((err = redis_reply_error(c, reply)) != NULL) {
		*cause = g_strdup_printf("enqueue %s on %s: %s", task, queue, err);
		goto out;
	}
	if (job_id != NULL)
		g_strlcpy(job_id, job->id, ULID_LEN + 1);
	rc = 0;
out:
	if (reply != NULL)
		freeReplyObject(reply);
	g_free(err);
	g_free(key);
	g_free(text);
	queue_job_free(job);
	return rc;
}
