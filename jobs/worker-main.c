#include "autoconfig.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <glib-unix.h>
#include <systemd/sd-daemon.h>

#include "log.h"
#include "worker.h"

/* Extra time after the grace period to hand jobs back and flush Redis. */
#define WORKER_DRAIN_US (5 * G_USEC_PER_SEC)

static struct worker worker;

/* Command-line values, which win over the configuration on every reload. */
static char *opt_queues, *opt_loglevel, *opt_hostname, *opt_env_file;
static int opt_concurrency, opt_max_tasks;
static gboolean opt_version;

static const GOptionEntry worker_options[] = {
	{ "queues", 'Q', 0, G_OPTION_ARG_STRING, &opt_queues, "queues to consume, in priority order (WORKER_QUEUES)", "podcasts,default" },
	{ "concurrency", 'c', 0, G_OPTION_ARG_INT, &opt_concurrency, "job children (WORKER_CONCURRENCY)", "N" },
	{ "max-tasks-per-child", 0, 0, G_OPTION_ARG_INT, &opt_max_tasks, "jobs before a child is replaced (WORKER_MAX_TASKS_PER_CHILD)", "N" },
	{ "loglevel", 'l', 0, G_OPTION_ARG_STRING, &opt_loglevel, "debug, info, warning or error (LOG_LEVEL)", "LEVEL" },
	{ "hostname", 'n', 0, G_OPTION_ARG_STRING, &opt_hostname, "worker name, unique per worker across hosts; %h is the host name, %p the pid (WORKER_NAME, default pp@%h)", "NAME" },
	{ "env-file", 0, 0, G_OPTION_ARG_FILENAME, &opt_env_file, "read settings from this file (environment wins)", "FILE" },
	{ "version", 'V', 0, G_OPTION_ARG_NONE, &opt_version, "print the version and exit", NULL },
	{ NULL }
};

static void
worker_apply_log(const struct config *cfg)
{
	enum log_level level = LOG_INFO;

	if (log_parse_level(opt_loglevel != NULL ? opt_loglevel : cfg->log_level, &level) == 0)
		log_set_level(level);
	if (log_open_file(cfg->log_file) != 0)
		log_error("LOG_FILE %s: %s", cfg->log_file, g_strerror(errno));
}

void
worker_maybe_finish(struct worker *w)
{
	gint64 now = g_get_monotonic_time();
	static gboolean forgot;

	if (!w->stopping || w->quitting)
		return;
	if (worker_pool_busy(w) > 0) {
		/* Once: the killed children stay busy until they are reaped. */
		if (now >= w->stop_deadline_us && !w->grace_over) {
			w->grace_over = TRUE;
			log_warn("shutdown: grace period (%d s) over; handing running jobs back",
			    w->cfg->worker_shutdown_grace);
			worker_pool_kill(w, "shutdown grace period over");
		}
		return;
	}
	if (!forgot) {
		forgot = TRUE;
		worker_forget_state(w);
	}
	/* A dead job's hook (a database write) gets the drain time too. */
	if (worker_hooks_running(w) > 0 && now < w->stop_deadline_us + WORKER_DRAIN_US)
		return;
	if ((worker_redis_idle(w) && !w->fetch_inflight) || now >= w->stop_deadline_us + WORKER_DRAIN_US ||
	    (!w->cmd.connected && now >= w->stop_deadline_us)) {
		if (!worker_redis_idle(w))
			log_warn("shutdown: Redis did not take every outcome; those jobs stay pending and are redelivered");
		w->quitting = TRUE;
		g_main_loop_quit(w->loop);
	}
}

static gboolean
worker_on_term(gpointer data)
{
	struct worker *w = &worker;

	if (w->stopping) {
		/* Second signal: go now. Running jobs stay pending in their
		 * streams under our name and are taken back by the next start
		 * (or reclaimed by another worker). */
		log_warn("second stop signal: exiting now; running jobs will be redelivered");
		for (int i = 0; i < w->concurrency; i++) {
			if (w->children[i].pid != 0)
				kill(w->children[i].pid, SIGKILL);
		}
		w->quitting = TRUE;
		g_main_loop_quit(w->loop);
		return G_SOURCE_CONTINUE;
	}
	log_info("stop signal: finishing running jobs (up to %d s), taking no new ones",
	    w->cfg->worker_shutdown_grace);
	sd_notify(0, "STOPPING=1");
	w->stopping = TRUE;
	w->stop_deadline_us = g_get_monotonic_time() + (gint64)w->cfg->worker_shutdown_grace * G_USEC_PER_SEC;
	while (!g_queue_is_empty(&w->reserved))
		worker_job_requeue(w, g_queue_pop_head(&w->reserved));
	worker_pool_stop(w);
	worker_hooks_stop(w);
	worker_publish_state(w);
	worker_maybe_finish(w);
	return G_SOURCE_CONTINUE;
}

static gboolean
worker_on_hup(gpointer data)
{
	struct worker *w = &worker;
	struct config *cfg;

	log_info("SIGHUP: reloading configuration and replacing children");
	if ((cfg = config_load_or_report(opt_env_file, CONFIG_FOR_WORKER)) == NULL) {
		log_error("reload failed; keeping the running configuration");
		return G_SOURCE_CONTINUE;
	}
	w->cfg = cfg;
	config_set(cfg);
	worker_apply_log(cfg);
	worker_child_environ(w);
	if (!w->stopping)
		worker_pool_roll(w);
	return G_SOURCE_CONTINUE;
}

static gboolean
worker_tick_fast(gpointer data)
{
	struct worker *w = data;

	if (!w->stopping && w->cmd.connected)
		worker_move_due(w);
	return G_SOURCE_CONTINUE;
}

static gboolean
worker_tick_limits(gpointer data)
{
	struct worker *w = data;

	worker_pool_check_limits(w);
	worker_redis_watchdog(w);
	worker_maybe_finish(w);
	/* Children replaced while Redis was away, or a fetch retry. */
	worker_dispatch(w);
	worker_fetch_maybe(w);
	return G_SOURCE_CONTINUE;
}

static gboolean
worker_tick_second(gpointer data)
{
	struct worker *w = data;

	if (w->cmd.connected) {
		worker_publish_state(w);
		worker_metrics_publish(w);
		worker_beat_tick(w);
	}
	return G_SOURCE_CONTINUE;
}

static gboolean
worker_tick_heartbeat(gpointer data)
{
	struct worker *w = data;

	if (w->cmd.connected)
		worker_heartbeat(w);
	return G_SOURCE_CONTINUE;
}

static gboolean
worker_tick_reclaim(gpointer data)
{
	struct worker *w = data;

	if (w->cmd.connected)
		worker_reclaim(w);
	return G_SOURCE_CONTINUE;
}

static char *
worker_expand_name(const char *pattern)
{
	GString *s = g_string_new(NULL);

	for (const char *p = pattern; *p != '\0'; p++) {
		if (p[0] == '%' && p[1] == 'h') {
			g_string_append(s, g_get_host_name());
			p++;
		} else if (p[0] == '%' && p[1] == 'p') {
			g_string_append_printf(s, "%d", (int)getpid());
			p++;
		} else
			g_string_append_c(s, *p);
	}
	return g_string_free(s, FALSE);
}

static int
worker_setup_queues(struct worker *w, const char *list)
{
	char **parts = g_strsplit(list, ",", -1);
	GPtrArray *names = g_ptr_array_new(), *streams = g_ptr_array_new();

	for (int i = 0; parts[i] != NULL; i++) {
		char *q = g_strstrip(parts[i]);

		if (*q != '\0') {
			g_ptr_array_add(names, g_strdup(q));
			g_ptr_array_add(streams, queue_stream_key(q));
		}
	}
	g_strfreev(parts);
	w->nqueues = (int)names->len;
	g_ptr_array_add(names, NULL);
	g_ptr_array_add(streams, NULL);
	w->queues = (char **)g_ptr_array_free(names, FALSE);
	w->streams = (char **)g_ptr_array_free(streams, FALSE);
	return w->nqueues > 0 ? 0 : -1;
}

int
main(int argc, char **argv)
{
	struct worker *w = &worker;
	GOptionContext *octx;
	GError *error = NULL;
	char *cause = NULL;
	struct config *cfg;
	int status = 0;

	log_init("podcastpro-worker");
	octx = g_option_context_new("- the Podcast Pro job worker");
	g_option_context_set_summary(octx, "Runs jobs from Redis streams in preforked children. "
	    "Settings come from the environment (and --env-file); options win over them.");
	g_option_context_add_main_entries(octx, worker_options, NULL);
	if (!g_option_context_parse(octx, &argc, &argv, &error)) {
		fprintf(stderr, "podcastpro-worker: %s (try --help)\n", error->message);
		g_error_free(error);
		g_option_context_free(octx);
		return 2;
	}
	g_option_context_free(octx);
	if (opt_version) {
		printf("podcastpro-worker %s\n", PACKAGE_VERSION);
		return 0;
	}
	if (opt_loglevel != NULL) {
		enum log_level level;

		if (log_parse_level(opt_loglevel, &level) != 0) {
			fprintf(stderr, "podcastpro-worker: --loglevel: must be debug, info, warning or error\n");
			return 2;
		}
	}
	if ((cfg = config_load_or_report(opt_env_file, CONFIG_FOR_WORKER)) == NULL)
		return CONFIG_EXIT_INVALID;
	config_set(cfg);
	w->cfg = cfg;
	worker_apply_log(cfg);

	w->concurrency = opt_concurrency > 0 ? opt_concurrency : cfg->worker_concurrency;
	w->max_tasks_per_child = opt_max_tasks > 0 ? opt_max_tasks : cfg->worker_max_tasks_per_child;
	if (worker_setup_queues(w, opt_queues != NULL ? opt_queues : cfg->worker_queues) != 0) {
		fprintf(stderr, "podcastpro-worker: no queue to consume\n");
		return 2;
	}
	if ((w->job_program = worker_child_program(&cause)) == NULL) {
		fprintf(stderr, "podcastpro-worker: %s\n", cause);
		g_free(cause);
		return 1;
	}
	if (opt_loglevel != NULL)
		w->loglevel = g_strdup_printf("--loglevel=%s", opt_loglevel);
	worker_child_environ(w);
	w->name = worker_expand_name(opt_hostname != NULL ? opt_hostname : cfg->worker_name);
	w->pid = getpid();
	w->started_at = queue_now();
	w->rng = g_rand_new();
	w->held = g_hash_table_new(g_str_hash, g_str_equal);
	worker_metrics_init(w);
	g_queue_init(&w->reserved);
	g_queue_init(&w->hooks);
	/* Like the responder's PP_TEST_ROUTES: read from the environment only,
	 * once, before the children are forked. */
	if (g_strcmp0(g_getenv("PP_TEST_TASKS"), "1") == 0) {
		task_enable_test_tasks(TRUE);
		log_warn("PP_TEST_TASKS=1: the test tasks (test.*) are enabled");
	}
	w->loop = g_main_loop_new(NULL, FALSE);
	signal(SIGPIPE, SIG_IGN);

	/* Before the first fork: a SIGHUP or SIGTERM that comes once children
	 * exist waits, pending, for the loop (SIGHUP's default action used to
	 * end the master). */
	if (worker_signals_start(worker_on_term, worker_on_hup, w) != 0)
		return 1;
	worker_pool_start(w);
	worker_redis_init(w);
	worker_redis_start(w);

	w->timers[0] = g_timeout_add(100, worker_tick_fast, w);
	w->timers[1] = g_timeout_add(250, worker_tick_limits, w);
	w->timers[2] = g_timeout_add(1000, worker_tick_second, w);
	w->timers[3] = g_timeout_add(MAX(cfg->job_visibility_timeout * 1000 / 3, 500), worker_tick_heartbeat, w);
	w->timers[4] = g_timeout_add(MAX(cfg->job_visibility_timeout * 1000 / 2, 1000), worker_tick_reclaim, w);

	log_info("worker %s: queues %s, concurrency %d, max tasks per child %d", w->name,
	    opt_queues != NULL ? opt_queues : cfg->worker_queues, w->concurrency, w->max_tasks_per_child);
	sd_notify(0, "READY=1");
	g_main_loop_run(w->loop);

	for (size_t i = 0; i < G_N_ELEMENTS(w->timers); i++) {
		if (w->timers[i] != 0)
			g_source_remove(w->timers[i]);
	}
	for (int i = 0; i < w->concurrency; i++) {
		if (w->children[i].pid != 0)
			kill(w->children[i].pid, SIGKILL);
		if (w->children[i].fd >= 0)
			close(w->children[i].fd);
		g_free(w->children[i].kill_reason);
		/* A job still held here stays pending in Redis: redelivered. */
		worker_job_free(w->children[i].job);
	}
	while (!g_queue_is_empty(&w->reserved))
		worker_job_free(g_queue_pop_head(&w->reserved));
	worker_hooks_close(w);
	worker_redis_close(w);
	worker_signals_stop();
	log_info("worker %s stopped", w->name);
	g_hash_table_unref(w->held);
	worker_metrics_free(w);
	g_free(w->children);
	g_strfreev(w->queues);
	g_strfreev(w->streams);
	g_free(w->name);
	g_free(w->job_program);
	g_free(w->loglevel);
	g_strfreev(w->job_env);
	g_rand_free(w->rng);
	g_main_loop_unref(w->loop);
	config_set(NULL);
	return status;
}
