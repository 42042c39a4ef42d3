/* podcastpro-ctl's job commands: call, inspect, events, queues, dead.
 * They speak the protocol of src/queue.h with synchronous hiredis. */
#include "autoconfig.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl.h"
#include "jobstate.h"
#include "queue.h"
#include "redis.h"

static redisContext *
ctl_jobs_connect(const struct config *cfg)
{
	char *cause = NULL;
	redisContext *c = redis_open(cfg, cfg->redis_timeout_ms, &cause);

	if (c == NULL) {
		fprintf(stderr, "podcastpro-ctl: %s\n", cause);
		g_free(cause);
	}
	return c;
}

/* Runs a command; prints the error and returns NULL on failure. */
static redisReply *
ctl_jobs_cmd(redisContext *c, const char *fmt, ...)
{
	redisReply *reply;
	va_list ap;
	char *err;

	va_start(ap, fmt);
	reply = redisvCommand(c, fmt, ap);
	va_end(ap);
	if ((err = redis_reply_error(c, reply)) != NULL) {
		fprintf(stderr, "podcastpro-ctl: redis: %s\n", err);
		g_free(err);
		if (reply != NULL)
			freeReplyObject(reply);
		return NULL;
	}
	return reply;
}

/* The live workers' published states (a JSON array, caller decrefs; empty
 * after saying why when Redis failed). */
static json_t *
ctl_jobs_workers(redisContext *c)
{
	char *cause = NULL;
	json_t *out = jobstate_workers(c, &cause);

	if (out == NULL) {
		fprintf(stderr, "podcastpro-ctl: redis: %s\n", cause);
		g_free(cause);
		out = json_array();
	}
	return out;
}

static int
ctl_jobs_strcmp_p(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The default queue of TASK according to a live worker, or NULL. */
static const char *
ctl_jobs_task_queue(json_t *workers, const char *task)
{
	size_t i;
	json_t *w;

	json_array_foreach(workers, i, w) {
		const char *q = json_string_value(json_object_get(json_object_get(w, "tasks"), task));

		if (q != NULL)
			return q;
	}
	return NULL;
}

/* The names of every task some live worker runs, sorted, comma-separated
 * (caller frees). */
static char *
ctl_jobs_known_tasks(json_t *workers)
{
	GPtrArray *names = g_ptr_array_new();
	GString *out = g_string_new(NULL);
	size_t i;
	json_t *w;

	json_array_foreach(workers, i, w) {
		const char *name;
		json_t *v;

		json_object_foreach(json_object_get(w, "tasks"), name, v) {
			gboolean seen = FALSE;

			for (guint j = 0; j < names->len && !seen; j++)
				seen = strcmp(names->pdata[j], name) == 0;
			if (!seen)
				g_ptr_array_add(names, (gpointer)name);
		}
	}
	g_ptr_array_sort(names, (GCompareFunc)ctl_jobs_strcmp_p);
	for (guint j = 0; j < names->len; j++)
		g_string_append_printf(out, "%s%s", j > 0 ? ", " : "", (const char *)names->pdata[j]);
	g_ptr_array_unref(names);
	return g_string_free(out, FALSE);
}

int
ctl_cmd_call(const struct config *cfg, int argc, char **argv)
{
	static char *queue;
	static double countdown;
	static gboolean force;
	static const GOptionEntry entries[] = {
		{ "queue", 'Q', 0, G_OPTION_ARG_STRING, &queue, "queue (default: the task's own)", "QUEUE" },
		{ "countdown", 0, 0, G_OPTION_ARG_DOUBLE, &countdown, "run no sooner than S seconds from now", "S" },
		{ "force", 0, 0, G_OPTION_ARG_NONE, &force, "enqueue even if no live worker runs TASK", NULL },
		{ NULL }
	};
	redisContext *c = NULL;
	json_t *args = NULL, *workers = NULL;
	json_error_t jerr;
	char id[ULID_LEN + 1], *cause = NULL;
	const char *q;
	int rc;

	if ((rc = ctl_parse_options(&argc, &argv, entries)) != CTL_EXIT_OK)
		return rc;
	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: podcastpro-ctl call TASK [JSON_ARGS] [-Q queue] [--countdown S] [--force]\n");
		return CTL_EXIT_USAGE;
	}
	if (argc == 3 && (args = json_loads(argv[2], 0, &jerr)) == NULL) {
		fprintf(stderr, "podcastpro-ctl call: JSON_ARGS: %s\n", jerr.text);
		return CTL_EXIT_USAGE;
	}
	rc = CTL_EXIT_FAILURE;
	if ((c = ctl_jobs_connect(cfg)) == NULL)
		goto out;
	workers = ctl_jobs_workers(c);
	q = ctl_jobs_task_queue(workers, argv[1]);
	if (q == NULL && json_array_size(workers) > 0) {
		/* The live workers publish the tasks they run: one none of them
		 * knows would only be dead-lettered as an unknown task. */
		char *known = ctl_jobs_known_tasks(workers);

		fprintf(stderr, "podcastpro-ctl call: %s: unknown task: no live worker runs it (they run: %s)%s\n",
		    argv[1], known, g_str_has_prefix(argv[1], "test.") ?
		    "; test tasks run only on a worker started with PP_TEST_TASKS=1" : "");
		g_free(known);
		if (!force) {
			fprintf(stderr, "podcastpro-ctl call: not enqueued (--force enqueues it anyway)\n");
			goto out;
		}
	}
	if (queue_enqueue(c, queue != NULL ? queue : q != NULL ? q : "default", argv[1], args, countdown, id,
	    &cause) != 0) {
		fprintf(stderr, "podcastpro-ctl call: %s\n", cause);
		goto out;
	}
	printf("%s\n", id);
	rc = CTL_EXIT_OK;
out:
	g_free(cause);
	json_decref(args);
	json_decref(workers);
	if (c != NULL)
		redisFree(c);
	return rc;
}

/* WORKER's name and HOST (its host name: a name need not contain it). */
static void
ctl_jobs_print_job(const char *worker, const char *host, json_t *job, double now)
{
	json_t *started = json_object_get(job, "started_at");
	char *args = json_dumps(json_object_get(job, "args"), JSON_COMPACT | JSON_ENCODE_ANY);

	printf("%s %s %s %s attempt=%d", worker, json_string_value(json_object_get(job, "id")),
	    json_string_value(json_object_get(job, "task")), json_string_value(json_object_get(job, "queue")),
	    (int)json_integer_value(json_object_get(job, "attempt")));
	printf(" host=%s", host != NULL ? host : "?");
	if (json_is_number(started))
		printf(" pid=%d runtime=%.3f", (int)json_integer_value(json_object_get(job, "pid")),
		    now - json_number_value(started));
	printf(" args=%s\n", args != NULL ? args : "null");
	free(args);
}

static int
ctl_jobs_scheduled(redisContext *c, gboolean as_json)
{
	redisReply *r = ctl_jobs_cmd(c, "ZRANGE %s 0 -1 WITHSCORES", QUEUE_DELAYED_KEY);
	double now = queue_now();

	if (r == NULL)
		return CTL_EXIT_FAILURE;
	for (size_t i = 0; i + 1 < r->elements; i += 2) {
		struct queue_job *job;
		char *cause = NULL;
		double due = g_ascii_strtod(r->element[i + 1]->str, NULL) / 1000.0;

		if (as_json) {
			printf("%s\n", r->element[i]->str);
			continue;
		}
		if ((job = queue_job_decode(r->element[i]->str, r->element[i]->len, &cause)) == NULL) {
			printf("? ? ? eta_in=%.3f (%s)\n", due - now, cause);
			g_free(cause);
			continue;
		}
		printf("%s %s %s attempt=%d eta_in=%.3f last_error=%s\n", job->id, job->task, job->queue, job->attempt,
		    due - now, job->last_error != NULL ? job->last_error : "");
		queue_job_free(job);
	}
	freeReplyObject(r);
	return CTL_EXIT_OK;
}

int
ctl_cmd_inspect(const struct config *cfg, int argc, char **argv)
{
	static gboolean as_json;
	static const GOptionEntry entries[] = {
		{ "json", 0, 0, G_OPTION_ARG_NONE, &as_json, "print JSON", NULL },
		{ NULL }
	};
	redisContext *c;
	json_t *workers, *w;
	const char *what;
	double now = queue_now();
	size_t i, j;
	int rc;

	if ((rc = ctl_parse_options(&argc, &argv, entries)) != CTL_EXIT_OK)
		return rc;
	what = argc >= 2 ? argv[1] : "";
	if (argc != 2 || (strcmp(what, "active") != 0 && strcmp(what, "scheduled") != 0 &&
	    strcmp(what, "reserved") != 0 && strcmp(what, "stats") != 0)) {
		fprintf(stderr, "usage: podcastpro-ctl inspect active|scheduled|reserved|stats [--json]\n");
		return CTL_EXIT_USAGE;
	}
	if ((c = ctl_jobs_connect(cfg)) == NULL)
		return CTL_EXIT_FAILURE;
	if (strcmp(what, "scheduled") == 0) {
		rc = ctl_jobs_scheduled(c, as_json);
		redisFree(c);
		return rc;
	}
	workers = ctl_jobs_workers(c);
	json_array_foreach(workers, i, w) {
		const char *name = json_string_value(json_object_get(w, "name"));
		const char *host = json_string_value(json_object_get(w, "hostname"));
		json_t *list, *job;

		if (strcmp(what, "stats") == 0) {
			if (as_json) {
				char *text = json_dumps(w, JSON_COMPACT);

				printf("%s\n", text);
				free(text);
				continue;
			}
			printf("%s host=%s pid=%d concurrency=%d rss_kb=%d stopping=%s children=", name,
			    host != NULL ? host : "?",
			    (int)json_integer_value(json_object_get(w, "pid")),
			    (int)json_integer_value(json_object_get(w, "concurrency")),
			    (int)json_integer_value(json_object_get(w, "rss_kb")),
			    json_is_true(json_object_get(w, "stopping")) ? "yes" : "no");
			json_array_foreach(json_object_get(w, "children"), j, job)
				printf("%s%d", j > 0 ? "," : "", (int)json_integer_value(json_object_get(job, "pid")));
			{
				const char *key;
				json_t *v;

				json_object_foreach(json_object_get(w, "stats"), key, v)
					printf(" %s=%lld", key, (long long)json_integer_value(v));
			}
			printf("\n");
			continue;
		}
		list = json_object_get(w, what);
		json_array_foreach(list, j, job) {
			if (as_json) {
				char *text = json_dumps(job, JSON_COMPACT);

				printf("%s\n", text);
				free(text);
			} else
				ctl_jobs_print_job(name, host, job, now);
		}
	}
	if (json_array_size(workers) == 0)
		fprintf(stderr, "podcastpro-ctl inspect: no live workers\n");
	json_decref(workers);
	redisFree(c);
	return CTL_EXIT_OK;
}

/* Prints one event entry (fields: a flat array of name, value). */
static void
ctl_jobs_print_event(const redisReply *fields, gboolean as_json)
{
	if (as_json) {
		/* The dashboard sends the same objects (src/jobstate.h). */
		json_t *o = jobstate_event_json(fields);
		char *text;

		text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
		printf("%s\n", text);
		free(text);
		json_decref(o);
		return;
	}
	{
		const char *ev = "", *id = "", *task = "", *queue = "", *worker = "", *ts = "0";
		GString *rest = g_string_new(NULL);
		time_t secs;
		struct tm tm;
		char when[32];

		for (size_t i = 0; i + 1 < fields->elements; i += 2) {
			const char *k = fields->element[i]->str, *v = fields->element[i + 1]->str;

			if (strcmp(k, "event") == 0) ev = v;
			else if (strcmp(k, "id") == 0) id = v;
			else if (strcmp(k, "task") == 0) task = v;
			else if (strcmp(k, "queue") == 0) queue = v;
			else if (strcmp(k, "worker") == 0) worker = v;
			else if (strcmp(k, "ts") == 0) ts = v;
			else g_string_append_printf(rest, " %s=%s", k, v);
		}
		secs = (time_t)g_ascii_strtod(ts, NULL);
		gmtime_r(&secs, &tm);
		strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
		printf("%s %-9s %s %s %s %s%s\n", when, ev, id, task, queue, worker, rest->str);
		g_string_free(rest, TRUE);
	}
}

int
ctl_cmd_events(const struct config *cfg, int argc, char **argv)
{
	static gboolean as_json;
	static int history, count;
	static const GOptionEntry entries[] = {
		{ "json", 0, 0, G_OPTION_ARG_NONE, &as_json, "one JSON object a line", NULL },
		{ "history", 'n', 0, G_OPTION_ARG_INT, &history, "first print the last N events", "N" },
		{ "count", 0, 0, G_OPTION_ARG_INT, &count, "exit after N events", "N" },
		{ NULL }
	};
	redisContext *c;
	char *last = g_strdup("$");
	int rc, printed = 0;
	struct timeval tv;

	if ((rc = ctl_parse_options(&argc, &argv, entries)) != CTL_EXIT_OK)
		return rc;
	if (argc != 1) {
		fprintf(stderr, "usage: podcastpro-ctl events [--json] [-n N] [--count N]\n");
		return CTL_EXIT_USAGE;
	}
	if ((c = ctl_jobs_connect(cfg)) == NULL)
		return CTL_EXIT_FAILURE;
	/* Blocking reads wait a second; the command timeout must outlast it. */
	tv.tv_sec = 1 + cfg->redis_timeout_ms / 1000 + 1;
	tv.tv_usec = 0;
	redisSetTimeout(c, tv);
	setvbuf(stdout, NULL, _IOLBF, 0);
	rc = CTL_EXIT_FAILURE;
	if (history > 0) {
		redisReply *r = ctl_jobs_cmd(c, "XREVRANGE %s + - COUNT %d", QUEUE_EVENTS_KEY, history);

		if (r == NULL)
			goto out;
		for (size_t i = r->elements; i-- > 0;) {
			ctl_jobs_print_event(r->element[i]->element[1], as_json);
			if (i == 0) {
				g_free(last);
				last = g_strdup(r->element[i]->element[0]->str);
			}
			if (count > 0 && ++printed >= count)
				break;
		}
		freeReplyObject(r);
	}
	while (count == 0 || printed < count) {
		redisReply *r = ctl_jobs_cmd(c, "XREAD COUNT 100 BLOCK 1000 STREAMS %s %s", QUEUE_EVENTS_KEY, last);

		if (r == NULL)
			goto out;
		if (r->type == REDIS_REPLY_ARRAY && r->elements > 0) {
			redisReply *entries_r = r->element[0]->element[1];

			for (size_t i = 0; i < entries_r->elements && (count == 0 || printed < count); i++) {
				ctl_jobs_print_event(entries_r->element[i]->element[1], as_json);
				g_free(last);
				last = g_strdup(entries_r->element[i]->element[0]->str);
				printed++;
			}
		}
		freeReplyObject(r);
	}
	rc = CTL_EXIT_OK;
out:
	g_free(last);
	redisFree(c);
	return rc;
}

/* Every queue name in use: the configured ones and any stream found; NULL
 * after saying why when Redis failed. */
static GPtrArray *
ctl_jobs_queue_names(const struct config *cfg, redisContext *c)
{
	char *cause = NULL;
	GPtrArray *names = jobstate_queue_names(c, cfg->worker_queues, &cause);

	if (names == NULL) {
		fprintf(stderr, "podcastpro-ctl: redis: %s\n", cause);
		g_free(cause);
	}
	return names;
}

int
ctl_cmd_queues(const struct config *cfg, int argc, char **argv)
{
	static gboolean as_json;
	static const GOptionEntry entries[] = {
		{ "json", 0, 0, G_OPTION_ARG_NONE, &as_json, "print JSON", NULL },
		{ NULL }
	};
	redisContext *c;
	GPtrArray *names;
	json_t *queues = NULL, *q;
	char *cause = NULL;
	size_t i;
	int rc;

	if ((rc = ctl_parse_options(&argc, &argv, entries)) != CTL_EXIT_OK)
		return rc;
	if ((c = ctl_jobs_connect(cfg)) == NULL)
		return CTL_EXIT_FAILURE;
	rc = CTL_EXIT_FAILURE;
	if ((names = ctl_jobs_queue_names(cfg, c)) == NULL)
		goto out;
	if ((queues = jobstate_queues(c, names, &cause)) == NULL) {
		fprintf(stderr, "podcastpro-ctl: redis: %s\n", cause);
		goto out;
	}
	if (!as_json)
		printf("%-20s %10s %10s %10s %10s\n", "QUEUE", "WAITING", "RUNNING", "DELAYED", "DEAD");
	json_array_foreach(queues, i, q) {
		if (as_json) {
			char *text = json_dumps(q, JSON_COMPACT | JSON_PRESERVE_ORDER);

			printf("%s\n", text);
			free(text);
			continue;
		}
		printf("%-20s %10lld %10lld %10lld %10lld\n", json_string_value(json_object_get(q, "queue")),
		    (long long)json_integer_value(json_object_get(q, "waiting")),
		    (long long)json_integer_value(json_object_get(q, "running")),
		    (long long)json_integer_value(json_object_get(q, "delayed")),
		    (long long)json_integer_value(json_object_get(q, "dead")));
	}
	rc = CTL_EXIT_OK;
out:
	json_decref(queues);
	if (names != NULL)
		g_ptr_array_unref(names);
	g_free(cause);
	redisFree(c);
	return rc;
}

static const char *
ctl_jobs_field_or(const redisReply *entry, const char *name, const char *fallback)
{
	const char *v = jobstate_entry_field(entry, name);

	return v != NULL ? v : fallback;
}

static gboolean
ctl_dead_print(redisContext *c, const char *stream, const redisReply *entry, void *data)
{
	gboolean as_json = *(gboolean *)data;

	if (as_json) {
		json_t *o = jobstate_dead_json(entry);
		char *text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);

		printf("%s\n", text);
		free(text);
		json_decref(o);
		return TRUE;
	}
	printf("%s %s %s %s error=%s\n", ctl_jobs_field_or(entry, "id", "?"), ctl_jobs_field_or(entry, "task", "?"),
	    ctl_jobs_field_or(entry, "queue", "?"), entry->element[0]->str, ctl_jobs_field_or(entry, "error", ""));
	return TRUE;
}

/* What 'dead retry' says about each dead job it matched. */
static void
ctl_dead_retry_report(const char *stream, const redisReply *entry, enum jobstate_retry outcome,
    const char *job_id, const char *cause, void *data)
{
	const char *id = jobstate_entry_field(entry, "id");

	switch (outcome) {
	case JOBSTATE_RETRIED:
		printf("%s\n", job_id);
		break;
	case JOBSTATE_MALFORMED:
		/* Found, but nothing a worker could run: say so, and how to
		 * get rid of it. */
		fprintf(stderr, "podcastpro-ctl dead retry: dead job %s (entry %s of %s) has a malformed envelope: "
		    "%s; it cannot be retried. 'podcastpro-ctl dead list --json' shows it; "
		    "'redis-cli XDEL %s %s' removes it, 'podcastpro-ctl dead purge -Q %s' every dead job of its queue\n",
		    id != NULL ? id : entry->element[0]->str, entry->element[0]->str, stream, cause, stream,
		    entry->element[0]->str,
		    g_str_has_prefix(stream, QUEUE_DEAD_PREFIX) ? stream + strlen(QUEUE_DEAD_PREFIX) : stream);
		break;
	case JOBSTATE_FAILED:
		fprintf(stderr, "podcastpro-ctl dead retry: %s\n", cause);
		break;
	}
}

int
ctl_cmd_dead(const struct config *cfg, int argc, char **argv)
{
	static gboolean as_json;
	static char *queue;
	static const GOptionEntry entries[] = {
		{ "json", 0, 0, G_OPTION_ARG_NONE, &as_json, "print JSON (list)", NULL },
		{ "queue", 'Q', 0, G_OPTION_ARG_STRING, &queue, "only this queue", "QUEUE" },
		{ NULL }
	};
	redisContext *c;
	GPtrArray *names;
	char *cause = NULL;
	int rc;

	if ((rc = ctl_parse_options(&argc, &argv, entries)) != CTL_EXIT_OK)
		return rc;
	if (argc < 2 || (strcmp(argv[1], "list") == 0 && argc != 2) || (strcmp(argv[1], "retry") == 0 && argc != 3) ||
	    (strcmp(argv[1], "purge") == 0 && argc != 2) ||
	    (strcmp(argv[1], "list") != 0 && strcmp(argv[1], "retry") != 0 && strcmp(argv[1], "purge") != 0)) {
		fprintf(stderr, "usage: podcastpro-ctl dead list|retry ID|retry all|purge [-Q queue] [--json]\n");
		return CTL_EXIT_USAGE;
	}
	if ((c = ctl_jobs_connect(cfg)) == NULL)
		return CTL_EXIT_FAILURE;
	if ((names = ctl_jobs_queue_names(cfg, c)) == NULL) {
		redisFree(c);
		return CTL_EXIT_FAILURE;
	}
	rc = CTL_EXIT_OK;
	/* The same calls as the dashboard's buttons (fcgi/dashboard.c). */
	if (strcmp(argv[1], "list") == 0) {
		if (jobstate_dead_each(c, names, queue, ctl_dead_print, &as_json, &cause) != 0)
			rc = CTL_EXIT_FAILURE;
	} else if (strcmp(argv[1], "retry") == 0) {
		int failed = 0, found = jobstate_dead_retry(c, names, queue, argv[2], ctl_dead_retry_report, NULL,
		    &failed, &cause);

		if (found == 0 && strcmp(argv[2], "all") != 0) {
			fprintf(stderr, "podcastpro-ctl dead retry: no dead job %s\n", argv[2]);
			rc = CTL_EXIT_FAILURE;
		} else if (found < 0 || failed > 0)
			rc = CTL_EXIT_FAILURE;
	} else {
		long long total = jobstate_dead_purge(c, names, queue, &cause);

		if (total < 0)
			rc = CTL_EXIT_FAILURE;
		else
			printf("purged %lld dead job(s)\n", total);
	}
	if (cause != NULL)
		fprintf(stderr, "podcastpro-ctl dead %s: redis: %s\n", argv[1], cause);
	g_free(cause);
	g_ptr_array_unref(names);
	redisFree(c);
	return rc;
}
