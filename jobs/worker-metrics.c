/* The worker's numbers for /metrics (doc/metrics.md): kept by the master,
 * published to Redis once a second on its own loop (one HSET and one
 * EXPIRE, not durable: a second missed while Redis is away is made up by
 * the next, since every value is a running total), and rendered by the
 * responder, which reads them from there. The worker serves no HTTP. */
#include "autoconfig.h"

#include <string.h>

#include "log.h"
#include "promtext.h"
#include "worker.h"

#define WORKER_METRICS_NBOUNDS 12
static const double worker_metrics_bounds[WORKER_METRICS_NBOUNDS] = {
	0.1, 0.5, 1, 5, 10, 30, 60, 120, 300, 600, 1800, 3600,
};
static const char *const worker_metrics_outcomes[WORKER_OUTCOMES] = {
	"succeeded", "failed", "retried", "dead",
};

struct worker_task_metrics {
	guint64 outcomes[WORKER_OUTCOMES];
	guint64 buckets[WORKER_METRICS_NBOUNDS + 1];   /* not cumulative */
	double sum;
};

void
worker_metrics_init(struct worker *w)
{
	w->metrics.tasks = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
}

void
worker_metrics_free(struct worker *w)
{
	g_clear_pointer(&w->metrics.tasks, g_hash_table_unref);
}

void
worker_metrics_job(struct worker *w, const char *task, enum worker_outcome outcome, double runtime_s)
{
	struct worker_task_metrics *m;
	int b = 0;

	/* Task names come from envelopes anyone with Redis may write: only
	 * the task table's become labels. */
	if (task == NULL || task_find(task) == NULL)
		task = "(unknown)";
	if ((m = g_hash_table_lookup(w->metrics.tasks, task)) == NULL) {
		m = g_new0(struct worker_task_metrics, 1);
		g_hash_table_insert(w->metrics.tasks, g_strdup(task), m);
	}
	m->outcomes[outcome]++;
	if (runtime_s < 0)
		return;
	while (b < WORKER_METRICS_NBOUNDS && runtime_s > worker_metrics_bounds[b])
		b++;
	m->buckets[b]++;
	m->sum += runtime_s;
}

static gint
worker_metrics_cmp(gconstpointer a, gconstpointer b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The family's sample lines, as the responder appends them. */
static char *
worker_metrics_family(struct worker *w, const char *family, GPtrArray *tasks)
{
	GString *out = g_string_new(NULL);

	for (guint i = 0; i < tasks->len; i++) {
		const char *task = tasks->pdata[i];
		struct worker_task_metrics *m = g_hash_table_lookup(w->metrics.tasks, task);

		if (strcmp(family, "podcastpro_worker_jobs_total") == 0) {
			for (int o = 0; o < WORKER_OUTCOMES; o++) {
				const char *labels[] = { "worker", w->name, "task", task,
				    "outcome", worker_metrics_outcomes[o], NULL };

				promtext_sample_u64(out, family, labels, m->outcomes[o]);
			}
		} else {
			const char *labels[] = { "worker", w->name, "task", task, NULL };

			promtext_histogram(out, family, labels, worker_metrics_bounds, WORKER_METRICS_NBOUNDS,
			    m->buckets, m->sum);
		}
	}
	return g_string_free(out, FALSE);
}

void
worker_metrics_publish(struct worker *w)
{
	GPtrArray *tasks = g_ptr_array_new();
	GHashTableIter it;
	gpointer key;
	char *key_name = g_strconcat(PROMTEXT_WORKER_KEY_PREFIX, w->name, NULL);
	char *jobs, *durations, ttl[16];
	GString *restarts = g_string_new(NULL), *kills = g_string_new(NULL);
	const char *restart_labels[] = { "worker", w->name, "reason", "recycled", NULL };
	const char *kill_labels[] = { "worker", w->name, NULL };

	g_hash_table_iter_init(&it, w->metrics.tasks);
	while (g_hash_table_iter_next(&it, &key, NULL))
		g_ptr_array_add(tasks, key);
	g_ptr_array_sort(tasks, worker_metrics_cmp);
	jobs = worker_metrics_family(w, "podcastpro_worker_jobs_total", tasks);
	durations = worker_metrics_family(w, "podcastpro_worker_job_duration_seconds", tasks);
	promtext_sample_u64(restarts, "podcastpro_worker_child_restarts_total", restart_labels,
	    w->metrics.child_restarts[0]);
	restart_labels[3] = "died";
	promtext_sample_u64(restarts, "podcastpro_worker_child_restarts_total", restart_labels,
	    w->metrics.child_restarts[1]);
	promtext_sample_u64(kills, "podcastpro_worker_time_limit_kills_total", kill_labels,
	    w->metrics.time_limit_kills);
	g_snprintf(ttl, sizeof ttl, "%d", PROMTEXT_WORKER_TTL_S);
	{
		const char *hset[] = { "HSET", key_name,
		    "podcastpro_worker_jobs_total", jobs,
		    "podcastpro_worker_job_duration_seconds", durations,
		    "podcastpro_worker_child_restarts_total", restarts->str,
		    "podcastpro_worker_time_limit_kills_total", kills->str };
		const char *expire[] = { "EXPIRE", key_name, ttl };
		const char *sadd[] = { "SADD", PROMTEXT_WORKER_SET, w->name };

		worker_redis_send(w, FALSE, NULL, NULL, G_N_ELEMENTS(hset), hset);
		worker_redis_send(w, FALSE, NULL, NULL, G_N_ELEMENTS(expire), expire);
		worker_redis_send(w, FALSE, NULL, NULL, G_N_ELEMENTS(sadd), sadd);
	}
	g_string_free(restarts, TRUE);
	g_string_free(kills, TRUE);
	g_free(jobs);
	g_free(durations);
	g_free(key_name);
	g_ptr_array_free(tasks, TRUE);
}
