#include "autoconfig.h"

#include <stdarg.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "worker.h"

#define WORKER_FETCH_BLOCK_MS "1000"
#define WORKER_MOVE_DUE_BATCH "200"
#define WORKER_RECOVER_COUNT  "1000"

static void worker_finish(struct worker *w, struct worker_job *job, const char *mode,
    const char *payload, const char *extra);

void
worker_job_free(struct worker_job *job)
{
	if (job == NULL)
		return;
	g_free(job->entry_id);
	g_free(job->stream);
	g_free(job->raw);
	queue_job_free(job->job);
	g_free(job);
}

/* Forgets JOB: it is in no queue and no child any more. */
static void
worker_job_done(struct worker *w, struct worker_job *job)
{
	g_hash_table_remove(w->held, job->entry_id);
	worker_job_free(job);
}

static const char *
worker_job_queue(const struct worker_job *job)
{
	if (job->job != NULL)
		return job->job->queue;
	return g_str_has_prefix(job->stream, QUEUE_PREFIX) ? job->stream + strlen(QUEUE_PREFIX) : job->stream;
}

void
worker_event(struct worker *w, const char *type, const struct worker_job *job, ...)
{
	GPtrArray *argv = g_ptr_array_new_with_free_func(g_free);
	const char *key;
	va_list ap;

	g_ptr_array_add(argv, g_strdup("XADD"));
	g_ptr_array_add(argv, g_strdup(QUEUE_EVENTS_KEY));
	g_ptr_array_add(argv, g_strdup("MAXLEN"));
	g_ptr_array_add(argv, g_strdup("~"));
	g_ptr_array_add(argv, g_strdup(G_STRINGIFY(QUEUE_EVENTS_MAXLEN)));
	g_ptr_array_add(argv, g_strdup("*"));
	g_ptr_array_add(argv, g_strdup("event"));
	g_ptr_array_add(argv, g_strdup(type));
	g_ptr_array_add(argv, g_strdup("worker"));
	g_ptr_array_add(argv, g_strdup(w->name));
	g_ptr_array_add(argv, g_strdup("ts"));
	g_ptr_array_add(argv, g_strdup_printf("%.6f", queue_now()));
	if (job != NULL) {
		g_ptr_array_add(argv, g_strdup("id"));
		g_ptr_array_add(argv, g_strdup(job->job != NULL ? job->job->id : job->entry_id));
		g_ptr_array_add(argv, g_strdup("task"));
		g_ptr_array_add(argv, g_strdup(job->job != NULL ? job->job->task : "?"));
		g_ptr_array_add(argv, g_strdup("queue"));
		g_ptr_array_add(argv, g_strdup(worker_job_queue(job)));
		if (job->job != NULL) {
			g_ptr_array_add(argv, g_strdup("attempt"));
			g_ptr_array_add(argv, g_strdup_printf("%d", job->job->attempt));
		}
	}
	va_start(ap, job);
	while ((key = va_arg(ap, const char *)) != NULL) {
		const char *value = va_arg(ap, const char *);

		g_ptr_array_add(argv, g_strdup(key));
		g_ptr_array_add(argv, g_strdup(value != NULL ? value : ""));
	}
	va_end(ap);
	/* Events are for watching: lost while Redis is away, never resent. */
	worker_redis_send(w, FALSE, NULL, NULL, (int)argv->len, (const char **)argv->pdata);
	g_ptr_array_unref(argv);
}

static void
worker_log_reply(struct worker *w, redisReply *reply, void *data)
{
	if (reply != NULL && reply->type == REDIS_REPLY_ERROR && strstr(reply->str, "BUSYGROUP") == NULL)
		log_error("redis: %s: %s", (const char *)data, reply->str);
}

static void
worker_create_groups(struct worker *w)
{
	for (int i = 0; i < w->nqueues; i++) {
		const char *argv[] = { "XGROUP", "CREATE", w->streams[i], QUEUE_GROUP, "0", "MKSTREAM" };

		worker_redis_send(w, FALSE, worker_log_reply, "XGROUP CREATE", G_N_ELEMENTS(argv), argv);
	}
}

/* Sends JOB to the dead-letter stream with ERROR and starts its on_dead hook. */
static void
worker_job_dead(struct worker *w, struct worker_job *job, const char *error)
{
	const struct task_def *def = job->job != NULL ? task_find(job->job->task) : NULL;
	char *payload;

	if (job->job != NULL) {
		g_free(job->job->last_error);
		job->job->last_error = g_strdup(error);
		payload = queue_job_encode(job->job);
	} else
		payload = g_strdup(job->raw != NULL ? job->raw : "");
	log_warn("job %s (%s) is dead: %s", job->job != NULL ? job->job->id : job->entry_id,
	    job->job != NULL ? job->job->task : "?", error);
	w->stats.dead++;
	worker_metrics_job(w, job->job != NULL ? job->job->task : NULL, WORKER_DEAD, -1);
	worker_finish(w, job, "dead", payload, error);
	/* Freed before the hook forks: its process never returns here. */
	g_free(payload);
	worker_event(w, "dead", job, "error", error, NULL);
	if (def != NULL && def->on_dead != NULL)
		worker_hook_run(w, def, job->job->id, job->job->args, error);
	worker_job_done(w, job);
}

static void
worker_finish_reply(struct worker *w, redisReply *reply, void *data)
{
	if (reply != NULL && reply->type == REDIS_REPLY_ERROR)
		log_error("redis: finishing a job: %s", reply->str);
}

/* Acks JOB's entry and, atomically, does MODE's second half (queue.h). */
static void
worker_finish(struct worker *w, struct worker_job *job, const char *mode, const char *payload,
    const char *extra)
{
	char *target;
	const char *argv[14];
	int n = 0;

	if (strcmp(mode, "dead") == 0)
		target = queue_dead_key(worker_job_queue(job));
	else if (strcmp(mode, "retry") == 0)
		target = g_strdup(QUEUE_DELAYED_KEY);
	else
		target = g_strdup(job->stream);
	argv[n++] = "2";
	argv[n++] = job->stream;
	argv[n++] = target;
	argv[n++] = QUEUE_GROUP;
	argv[n++] = job->entry_id;
	argv[n++] = mode;
	argv[n++] = payload != NULL ? payload : "";
	argv[n++] = extra != NULL ? extra : "";
	argv[n++] = job->job != NULL ? job->job->task : "";
	argv[n++] = job->job != NULL ? job->job->id : job->entry_id;
	argv[n++] = worker_job_queue(job);
	/* Durable: the script acks first and does nothing twice. */
	worker_redis_eval(w, TRUE, worker_finish_reply, NULL, queue_lua_finish, n, argv);
	g_free(target);
}

void
worker_job_requeue(struct worker *w, struct worker_job *job)
{
	w->stats.requeued++;
	worker_finish(w, job, "requeue", job->raw, NULL);
	worker_event(w, "requeued", job, NULL);
	worker_job_done(w, job);
}

/* Takes one stream entry delivered to us. */
static void
worker_take_entry(struct worker *w, const char *stream, const redisReply *entry, int deliveries)
{
	struct worker_job *job;
	const redisReply *fields;
	char *cause = NULL;

	if (entry->type != REDIS_REPLY_ARRAY || entry->elements < 2 || entry->element[0]->type != REDIS_REPLY_STRING)
		return;
	if (g_hash_table_contains(w->held, entry->element[0]->str))
		return;   /* already ours: a heartbeat raced a reclaim */
	job = g_new0(struct worker_job, 1);
	job->entry_id = g_strdup(entry->element[0]->str);
	job->stream = g_strdup(stream);
	job->deliveries = deliveries;
	job->received_at = queue_now();
	g_hash_table_insert(w->held, job->entry_id, job);
	fields = entry->element[1];
	if (fields->type == REDIS_REPLY_ARRAY) {
		for (size_t i = 0; i + 1 < fields->elements; i += 2) {
			if (fields->element[i]->type == REDIS_REPLY_STRING && strcmp(fields->element[i]->str, "job") == 0 &&
			    fields->element[i + 1]->type == REDIS_REPLY_STRING) {
				job->raw = g_strndup(fields->element[i + 1]->str, fields->element[i + 1]->len);
				break;
			}
		}
	}
	w->stats.received++;
	if (job->raw == NULL) {
		worker_job_dead(w, job, "stream entry has no job field");
		return;
	}
	if ((job->job = queue_job_decode(job->raw, strlen(job->raw), &cause)) == NULL) {
		worker_job_dead(w, job, cause);
		g_free(cause);
		return;
	}
	worker_event(w, "received", job, NULL);
	if (deliveries > w->cfg->job_max_deliveries) {
		char *error = g_strdup_printf("delivered %d times without an outcome (JOB_MAX_DELIVERIES=%d)%s%s",
		    deliveries, w->cfg->job_max_deliveries, job->job->last_error != NULL ? "; last error: " : "",
		    job->job->last_error != NULL ? job->job->last_error : "");

		worker_job_dead(w, job, error);
		g_free(error);
		return;
	}
	if (w->stopping) {
		worker_job_requeue(w, job);
		return;
	}
	g_queue_push_tail(&w->reserved, job);
}

static void
worker_take_claimed(struct worker *w, const char *stream, const redisReply *reply, const char *how)
{
	if (reply == NULL || reply->type != REDIS_REPLY_ARRAY)
		return;
	for (size_t i = 0; i < reply->elements; i++) {
		const redisReply *e = reply->element[i];

		if (e->type != REDIS_REPLY_ARRAY || e->elements < 3 || e->element[0]->type != REDIS_REPLY_STRING)
			continue;
		if (g_hash_table_contains(w->held, e->element[0]->str))
			continue;
		log_info("%s job entry %s of %s (delivery %lld)", how, e->element[0]->str, stream,
		    e->element[2]->integer);
		w->stats.reclaimed++;
		worker_take_entry(w, stream, e, (int)e->element[2]->integer);
	}
	worker_dispatch(w);
	worker_fetch_maybe(w);
}

static void
worker_claimed_reply(struct worker *w, redisReply *reply, void *data)
{
	char *stream = data;

	if (reply != NULL && reply->type == REDIS_REPLY_ERROR) {
		log_error("redis: reclaiming from %s: %s", stream, reply->str);
		if (strstr(reply->str, "NOGROUP") != NULL)
			worker_create_groups(w);
	} else
		worker_take_claimed(w, stream, reply, "reclaimed");
	g_free(stream);
}

static void
worker_recovered_reply(struct worker *w, redisReply *reply, void *data)
{
	char *stream = data;

	if (reply == NULL)
		w->recover_lost = TRUE;   /* the connection went: again on the next */
	else if (reply->type == REDIS_REPLY_ERROR)
		log_error("redis: recovering jobs of %s: %s", stream, reply->str);
	if (--w->recovering == 0) {
		w->recovered = !w->recover_lost;
		w->recover_lost = FALSE;
	}
	if (reply != NULL && reply->type != REDIS_REPLY_ERROR)
		worker_take_claimed(w, stream, reply, "recovered");   /* and fetches */
	else
		worker_fetch_maybe(w);
	g_free(stream);
}

void
worker_jobs_on_connect(struct worker *w)
{
	worker_create_groups(w);
	if (!w->recovered && w->recovering == 0) {
		/* Entries pending under our own name were left by our previous
		 * run (names are unique per worker): take them back at once
		 * instead of waiting for the visibility timeout. Nothing is
		 * fetched before every reply is in: an entry fetched meanwhile
		 * is pending under our name too, and could come back in this
		 * reply after its job already finished here, and run twice. */
		w->recovering = w->nqueues;
		for (int i = 0; i < w->nqueues; i++) {
			const char *argv[] = { "1", w->streams[i], QUEUE_GROUP, w->name, WORKER_RECOVER_COUNT };

			worker_redis_eval(w, FALSE, worker_recovered_reply, g_strdup(w->streams[i]), queue_lua_recover,
			    G_N_ELEMENTS(argv), argv);
		}
	}
	worker_heartbeat(w);
	worker_publish_state(w);
	worker_fetch_maybe(w);
}

void
worker_jobs_on_fetch_connect(struct worker *w)
{
	worker_fetch_maybe(w);
}

static gboolean
worker_fetch_retry_cb(gpointer data)
{
	worker_fetch_maybe(data);
	return G_SOURCE_REMOVE;
}

static void
worker_fetch_reply(struct worker *w, redisReply *reply, void *data)
{
	w->fetch_inflight = FALSE;
	if (reply == NULL)
		return;   /* reconnecting; on_connect fetches again */
	if (reply->type == REDIS_REPLY_ERROR) {
		log_error("redis: reading jobs: %s", reply->str);
		if (strstr(reply->str, "NOGROUP") != NULL)
			worker_create_groups(w);
		g_timeout_add(250, worker_fetch_retry_cb, w);
		return;
	}
	if (reply->type == REDIS_REPLY_ARRAY) {
		for (size_t i = 0; i < reply->elements; i++) {
			const redisReply *s = reply->element[i];

			if (s->type != REDIS_REPLY_ARRAY || s->elements < 2 || s->element[0]->type != REDIS_REPLY_STRING ||
			    s->element[1]->type != REDIS_REPLY_ARRAY)
				continue;
			for (size_t j = 0; j < s->element[1]->elements; j++)
				worker_take_entry(w, s->element[0]->str, s->element[1]->element[j], 1);
		}
	}
	worker_dispatch(w);
	worker_fetch_maybe(w);
}

void
worker_fetch_maybe(struct worker *w)
{
	GPtrArray *argv;
	int idle;

	if (w->stopping || w->fetch_inflight || !w->fetch.connected || !g_queue_is_empty(&w->reserved) ||
	    !w->recovered)
		return;
	if ((idle = worker_pool_idle(w)) == 0)
		return;
	argv = g_ptr_array_new_with_free_func(g_free);
	g_ptr_array_add(argv, g_strdup("XREADGROUP"));
	g_ptr_array_add(argv, g_strdup("GROUP"));
	g_ptr_array_add(argv, g_strdup(QUEUE_GROUP));
	g_ptr_array_add(argv, g_strdup(w->name));
	g_ptr_array_add(argv, g_strdup("COUNT"));
	g_ptr_array_add(argv, g_strdup_printf("%d", idle));
	g_ptr_array_add(argv, g_strdup("BLOCK"));
	g_ptr_array_add(argv, g_strdup(WORKER_FETCH_BLOCK_MS));
	g_ptr_array_add(argv, g_strdup("STREAMS"));
	for (int i = 0; i < w->nqueues; i++)
		g_ptr_array_add(argv, g_strdup(w->streams[i]));
	for (int i = 0; i < w->nqueues; i++)
		g_ptr_array_add(argv, g_strdup(">"));
	/* Set first: a send that fails at once replies NULL right away, and
	 * that reply clears it. */
	w->fetch_inflight = TRUE;
	if (!worker_redis_send_fetch(w, worker_fetch_reply, NULL, (int)argv->len, (const char **)argv->pdata))
		w->fetch_inflight = FALSE;
	g_ptr_array_unref(argv);
}

void
worker_dispatch(struct worker *w)
{
	while (!w->stopping && !g_queue_is_empty(&w->reserved) && worker_pool_idle(w) > 0) {
		struct worker_job *job = g_queue_pop_head(&w->reserved);
		char pid[16];

		if (task_find(job->job->task) == NULL) {
			char *error = g_str_has_prefix(job->job->task, "test.") && !task_test_tasks_enabled() ?
			    g_strdup_printf("unknown task %s: test tasks run only on a worker started with "
			    "PP_TEST_TASKS=1", job->job->task) :
			    g_strdup_printf("unknown task %s", job->job->task);

			worker_job_dead(w, job, error);
			g_free(error);
			continue;
		}
		job->started_at = queue_now();
		if (worker_pool_run(w, job) != 0) {
			g_queue_push_head(&w->reserved, job);
			break;
		}
		w->stats.started++;
		g_snprintf(pid, sizeof pid, "%d", (int)job->pid);
		worker_event(w, "started", job, "pid", pid, NULL);
	}
}

/* Retry policy of JOB's task, with the configuration's defaults. */
static void
worker_policy(const struct worker *w, const char *task, int *max_retries, int *backoff, int *backoff_max)
{
	const struct task_def *def = task_find(task);

	*max_retries = def != NULL && def->max_retries >= 0 ? def->max_retries : w->cfg->retry_max;
	*backoff = def != NULL && def->backoff >= 0 ? def->backoff : w->cfg->retry_backoff;
	*backoff_max = def != NULL && def->backoff_max >= 0 ? def->backoff_max : w->cfg->retry_backoff_max;
}

static void
worker_job_retry(struct worker *w, struct worker_job *job, const char *error, double min_delay)
{
	int max_retries, backoff, backoff_max, retries = job->job->attempt - 1;
	double countdown;
	char *payload, *reason, score[32], text[32];

	worker_policy(w, job->job->task, &max_retries, &backoff, &backoff_max);
	if (retries >= max_retries) {
		reason = g_strdup_printf("%s (gave up after %d retr%s)", error, retries, retries == 1 ? "y" : "ies");
		worker_job_dead(w, job, reason);
		g_free(reason);
		return;
	}
	countdown = queue_backoff(retries, backoff, backoff_max, w->cfg->retry_jitter, w->rng);
	if (countdown < min_delay)
		countdown = min_delay;
	job->job->attempt++;
	job->job->eta = queue_now() + countdown;
	g_free(job->job->last_error);
	job->job->last_error = g_strdup(error);
	payload = queue_job_encode(job->job);
	g_snprintf(score, sizeof score, "%.0f", job->job->eta * 1000.0);
	g_snprintf(text, sizeof text, "%.3f", countdown);
	w->stats.retried++;
	worker_metrics_job(w, job->job->task, WORKER_RETRIED, -1);
	log_info("job %s (%s) failed, retry %d in %.0f s: %s", job->job->id, job->job->task, retries + 1,
	    countdown, error);
	worker_finish(w, job, "retry", payload, score);
	worker_event(w, "retried", job, "countdown", text, "error", error, NULL);
	g_free(payload);
	worker_job_done(w, job);
}

void
worker_job_outcome(struct worker *w, struct worker_job *job, json_t *result, const char *error)
{
	const char *status = "retry";
	char runtime[32], latency[32];
	double now = queue_now(), started = job->started_at;

	if (result != NULL) {
		status = json_string_value(json_object_get(result, "status"));
		error = json_string_value(json_object_get(result, "error"));
		if (json_is_number(json_object_get(result, "started_at")))
			started = json_number_value(json_object_get(result, "started_at"));
		if (status == NULL)
			status = "retry";
	}
	if (error == NULL)
		error = "failed without a message";
	g_snprintf(runtime, sizeof runtime, "%.6f", now - started);
	g_snprintf(latency, sizeof latency, "%.6f", started - job->job->enqueued_at);
	if (strcmp(status, "ok") == 0) {
		w->stats.succeeded++;
		worker_metrics_job(w, job->job->task, WORKER_SUCCEEDED, now - started);
		worker_finish(w, job, "ack", NULL, NULL);
		worker_event(w, "succeeded", job, "runtime", runtime, "latency", latency, NULL);
		worker_job_done(w, job);
		return;
	}
	w->stats.failed++;
	worker_metrics_job(w, job->job->task, WORKER_FAILED, now - started);
	worker_event(w, "failed", job, "runtime", runtime, "error", error, NULL);
	if (strcmp(status, "fail") == 0)
		worker_job_dead(w, job, error);
	else
		worker_job_retry(w, job, error,
		    result != NULL ? json_number_value(json_object_get(result, "retry_min_delay")) : 0);
}

void
worker_heartbeat(struct worker *w)
{
	for (int i = 0; i < w->nqueues; i++) {
		GPtrArray *argv = g_ptr_array_new();
		GHashTableIter it;
		gpointer key, value;

		g_ptr_array_add(argv, "XCLAIM");
		g_ptr_array_add(argv, w->streams[i]);
		g_ptr_array_add(argv, QUEUE_GROUP);
		g_ptr_array_add(argv, w->name);
		g_ptr_array_add(argv, "0");
		g_hash_table_iter_init(&it, w->held);
		while (g_hash_table_iter_next(&it, &key, &value)) {
			struct worker_job *job = value;

			if (strcmp(job->stream, w->streams[i]) == 0)
				g_ptr_array_add(argv, job->entry_id);
		}
		/* JUSTID: resets the idle time without counting a delivery. */
		g_ptr_array_add(argv, "JUSTID");
		if (argv->len > 6)
			worker_redis_send(w, FALSE, NULL, NULL, (int)argv->len, (const char **)argv->pdata);
		g_ptr_array_unref(argv);
	}
}

void
worker_reclaim(struct worker *w)
{
	char idle[16], count[16];
	int n;

	if (w->stopping || !g_queue_is_empty(&w->reserved) || (n = worker_pool_idle(w)) == 0)
		return;
	g_snprintf(idle, sizeof idle, "%d", w->cfg->job_visibility_timeout * 1000);
	g_snprintf(count, sizeof count, "%d", n);
	for (int i = 0; i < w->nqueues; i++) {
		const char *argv[] = { "1", w->streams[i], QUEUE_GROUP, w->name, idle, count };

		worker_redis_eval(w, FALSE, worker_claimed_reply, g_strdup(w->streams[i]), queue_lua_reclaim,
		    G_N_ELEMENTS(argv), argv);
	}
}

void
worker_move_due(struct worker *w)
{
	char now[32];
	const char *argv[] = { "1", QUEUE_DELAYED_KEY, now, WORKER_MOVE_DUE_BATCH, QUEUE_PREFIX };

	g_snprintf(now, sizeof now, "%.0f", queue_now() * 1000.0);
	worker_redis_eval(w, FALSE, NULL, NULL, queue_lua_move_due, G_N_ELEMENTS(argv), argv);
}

static long
worker_rss_kb(void)
{
	char *text = NULL;
	long pages = 0;

	if (g_file_get_contents("/proc/self/statm", &text, NULL, NULL))
		sscanf(text, "%*s %ld", &pages);
	g_free(text);
	return pages * (sysconf(_SC_PAGESIZE) / 1024);
}

static json_t *
worker_job_json(const struct worker_job *job)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:i, s:i, s:f}", "id", job->job->id, "task", job->job->task,
	    "queue", job->job->queue, "entry", job->entry_id, "attempt", job->job->attempt,
	    "deliveries", job->deliveries, "received_at", job->received_at);

	json_object_set(o, "args", job->job->args);
	if (job->pid != 0) {
		json_object_set_new(o, "pid", json_integer(job->pid));
		json_object_set_new(o, "started_at", json_real(job->started_at));
	}
	return o;
}

void
worker_publish_state(struct worker *w)
{
	json_t *state, *queues = json_array(), *children = json_array(), *active = json_array(),
	    *reserved = json_array();
	char *text, *key, ttl[16];

	for (int i = 0; i < w->nqueues; i++)
		json_array_append_new(queues, json_string(w->queues[i]));
	for (int i = 0; i < w->concurrency; i++) {
		struct worker_child *c = &w->children[i];

		if (c->pid == 0)
			continue;
		json_array_append_new(children, json_pack("{s:i, s:i, s:b}", "pid", (int)c->pid,
		    "tasks_done", c->tasks_done, "busy", c->job != NULL));
		if (c->job != NULL)
			json_array_append_new(active, worker_job_json(c->job));
	}
	for (GList *l = w->reserved.head; l != NULL; l = l->next)
		json_array_append_new(reserved, worker_job_json(l->data));
	state = json_pack("{s:s, s:s, s:i, s:o, s:i, s:i, s:f, s:f, s:I, s:b, s:o, s:o, s:o}",
	    "name", w->name, "hostname", g_get_host_name(), "pid", (int)w->pid, "queues", queues,
	    "concurrency", w->concurrency, "max_tasks_per_child", w->max_tasks_per_child,
	    "started_at", w->started_at, "ts", queue_now(), "rss_kb", (json_int_t)worker_rss_kb(),
	    "stopping", w->stopping, "children", children, "active", active, "reserved", reserved);
	json_object_set_new(state, "stats", json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
	    "received", (json_int_t)w->stats.received, "started", (json_int_t)w->stats.started,
	    "succeeded", (json_int_t)w->stats.succeeded, "failed", (json_int_t)w->stats.failed,
	    "retried", (json_int_t)w->stats.retried, "dead", (json_int_t)w->stats.dead,
	    "requeued", (json_int_t)w->stats.requeued, "reclaimed", (json_int_t)w->stats.reclaimed));
	{
		/* podcastpro-ctl does not link the tasks: it learns their
		 * default queues from here. */
		json_t *tasks = json_object();

		for (const struct task_def *def = task_table; def->name != NULL; def++)
			json_object_set_new(tasks, def->name, json_string(def->queue != NULL ? def->queue : "default"));
		for (const struct task_def *def = task_test_table; task_test_tasks_enabled() && def->name != NULL; def++)
			json_object_set_new(tasks, def->name, json_string(def->queue != NULL ? def->queue : "default"));
		json_object_set_new(state, "tasks", tasks);
	}
	text = json_dumps(state, JSON_COMPACT);
	json_decref(state);
	key = g_strconcat(QUEUE_WORKER_PREFIX, w->name, NULL);
	g_snprintf(ttl, sizeof ttl, "%d", 5);
	{
		const char *set[] = { "SET", key, text, "EX", ttl };
		const char *add[] = { "SADD", QUEUE_WORKERS_KEY, w->name };

		worker_redis_send(w, FALSE, NULL, NULL, G_N_ELEMENTS(set), set);
		worker_redis_send(w, FALSE, NULL, NULL, G_N_ELEMENTS(add), add);
	}
	free(text);
	g_free(key);
}

void
worker_forget_state(struct worker *w)
{
	char *key = g_strconcat(QUEUE_WORKER_PREFIX, w->name, NULL);
	const char *del[] = { "DEL", key };
	const char *rem[] = { "SREM", QUEUE_WORKERS_KEY, w->name };

	worker_redis_send(w, FALSE, NULL, NULL, G_N_ELEMENTS(del), del);
	worker_redis_send(w, FALSE, NULL, NULL, G_N_ELEMENTS(rem), rem);
	g_free(key);
}
