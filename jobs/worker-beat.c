#include "autoconfig.h"

#include "log.h"
#include "worker.h"

/* Periodic jobs. Every worker keeps the table; each tick one of them wins
 * a lock (SET NX PX, a little shorter than the interval) and enqueues, in
 * the same script, so two workers never both enqueue one tick. A row whose
 * task is not in the task table is skipped: the row can exist before its
 * task does. */
struct worker_beat {
	const char *task;
	const char *queue;
	int (*interval)(const struct config *cfg);
	gint64 next_us;       /* monotonic; 0: not yet */
	gboolean warned;
};

static int
worker_beat_sweeper_interval(const struct config *cfg)
{
	return cfg->sweeper_interval;
}

static struct worker_beat worker_beat_table[] = {
	{ "podcast.sweep", "default", worker_beat_sweeper_interval, 0, FALSE },
};

static const char worker_beat_lua[] =
	"if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', tonumber(ARGV[2])) then\n"
	"  redis.call('XADD', KEYS[2], '*', 'job', ARGV[3])\n"
	"  return 1\n"
	"end\n"
	"return 0\n";

static void
worker_beat_reply(struct worker *w, redisReply *reply, void *data)
{
	const char *task = data;

	if (reply != NULL && reply->type == REDIS_REPLY_INTEGER && reply->integer == 1)
		log_debug("beat: enqueued %s", task);
	else if (reply != NULL && reply->type == REDIS_REPLY_ERROR)
		log_error("beat: %s: %s", task, reply->str);
}

void
worker_beat_tick(struct worker *w)
{
	gint64 now = g_get_monotonic_time();

	if (w->stopping || !w->cmd.connected)
		return;
	for (size_t i = 0; i < G_N_ELEMENTS(worker_beat_table); i++) {
		struct worker_beat *b = &worker_beat_table[i];
		int interval = b->interval(w->cfg);
		struct queue_job *job;
		char *lock, *stream, *payload, px[16];

		if (task_find(b->task) == NULL) {
			if (!b->warned)
				log_debug("beat: no task %s in this build; not scheduled", b->task);
			b->warned = TRUE;
			continue;
		}
		if (b->next_us == 0) {
			/* The first run is one interval after start: a restart
			 * loop must not turn into an enqueue loop. */
			b->next_us = now + (gint64)interval * 1000000;
			continue;
		}
		if (now < b->next_us)
			continue;
		b->next_us = now + (gint64)interval * 1000000;
		job = queue_job_new(b->queue, b->task, NULL);
		payload = queue_job_encode(job);
		lock = g_strconcat(QUEUE_BEAT_PREFIX, b->task, NULL);
		stream = queue_stream_key(b->queue);
		g_snprintf(px, sizeof px, "%d", MAX(interval * 1000 - 200, 100));
		{
			const char *argv[] = { "2", lock, stream, w->name, px, payload };

			worker_redis_eval(w, FALSE, worker_beat_reply, (gpointer)b->task, worker_beat_lua,
			    G_N_ELEMENTS(argv), argv);
		}
		g_free(lock);
		g_free(stream);
		g_free(payload);
		queue_job_free(job);
	}
}
