/* on_dead hooks, run beside the master's loop, never in it.
 *
 * A task's on_dead (task.h) may block on the network: podcast.generate's
 * marks the row failed in PostgreSQL, and a database that hangs would hang
 * whatever runs it. The master must not block: heartbeats, fetches, time
 * limits and every other job depend on its loop. So each hook runs in a
 * short-lived process forked for it, which executes podcastpro-job --hook
 * (jobs/job-main.c) like a job child, watched by the loop and killed after
 * WORKER_HOOK_TIMEOUT_S. A hook that fails (exit status 1, killed, timed
 * out) is tried again after 1 s, doubling to a minute, until an hour has
 * passed since the job died. The master itself never opens a database
 * connection, so nothing it forks can inherit one. */
#include "autoconfig.h"

#include <errno.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "worker.h"

#define WORKER_HOOK_TIMEOUT_S 30
#define WORKER_HOOK_BACKOFF_MAX_S 60
#define WORKER_HOOK_GIVE_UP_US ((gint64)3600 * G_USEC_PER_SEC)

struct worker_hook {
	struct worker *w;
	const struct task_def *def;
	char *job_id;
	json_t *args;              /* own reference */
	char *error;
	int tries;
	gint64 first_us;           /* monotonic: when the job died */
	pid_t pid;                 /* running process, or 0 */
	guint timer;               /* kill timer while running, retry timer while waiting */
	gboolean timed_out;
};

static void worker_hook_start(struct worker_hook *h);

static void
worker_hook_free(struct worker_hook *h)
{
	if (h->timer != 0)
		g_source_remove(h->timer);
	if (h->pid != 0)
		worker_unwatch_child(h->pid);
	json_decref(h->args);
	g_free(h->job_id);
	g_free(h->error);
	g_free(h);
}

static void
worker_hook_done(struct worker_hook *h)
{
	g_queue_remove(&h->w->hooks, h);
	worker_hook_free(h);
}

static gboolean
worker_hook_retry_cb(gpointer data)
{
	struct worker_hook *h = data;

	h->timer = 0;
	worker_hook_start(h);
	return G_SOURCE_REMOVE;
}

/* The try failed for WHY: waits and tries again, or gives up. */
static void
worker_hook_failed(struct worker_hook *h, const char *why)
{
	struct worker *w = h->w;
	int delay;

	if (w->stopping || g_get_monotonic_time() - h->first_us >= WORKER_HOOK_GIVE_UP_US) {
		log_error("job %s (%s): on_dead hook failed (%s) after %d tr%s; giving up", h->job_id, h->def->name,
		    why, h->tries, h->tries == 1 ? "y" : "ies");
		worker_hook_done(h);
		return;
	}
	delay = h->tries >= 7 ? WORKER_HOOK_BACKOFF_MAX_S : MIN(1 << (h->tries - 1), WORKER_HOOK_BACKOFF_MAX_S);
	log_warn("job %s (%s): on_dead hook failed (%s); trying again in %d s", h->job_id, h->def->name, why, delay);
	h->timer = g_timeout_add_seconds((guint)delay, worker_hook_retry_cb, h);
}

static gboolean
worker_hook_timeout_cb(gpointer data)
{
	struct worker_hook *h = data;

	h->timer = 0;
	h->timed_out = TRUE;
	log_warn("job %s (%s): on_dead hook still running after %d s; killing process %d", h->job_id,
	    h->def->name, WORKER_HOOK_TIMEOUT_S, (int)h->pid);
	kill(h->pid, SIGKILL);
	return G_SOURCE_REMOVE;
}

static void
worker_hook_exited(GPid pid, gint status, gpointer data)
{
	struct worker_hook *h = data;
	struct worker *w = h->w;
	char *why;

	g_spawn_close_pid(pid);
	h->pid = 0;
	if (h->timer != 0) {
		g_source_remove(h->timer);
		h->timer = 0;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		log_info("job %s (%s): on_dead hook done", h->job_id, h->def->name);
		worker_hook_done(h);
		worker_maybe_finish(w);
		return;
	}
	if (h->timed_out)
		why = g_strdup_printf("no answer within %d s", WORKER_HOOK_TIMEOUT_S);
	else if (WIFSIGNALED(status))
		why = g_strdup_printf("killed by signal %d (%s)", WTERMSIG(status), g_strsignal(WTERMSIG(status)));
	else
		why = g_strdup_printf("exit status %d", WEXITSTATUS(status));
	h->timed_out = FALSE;
	worker_hook_failed(h, why);
	g_free(why);
	worker_maybe_finish(w);
}

static void
worker_hook_start(struct worker_hook *h)
{
	struct worker *w = h->w;
	pid_t pid;

	h->tries++;
	if ((pid = fork()) < 0) {
		char *why = g_strdup_printf("fork: %s", g_strerror(errno));

		worker_hook_failed(h, why);
		g_free(why);
		return;
	}
	if (pid == 0)
		worker_child_hook(w, h->def->name, h->job_id, h->args, h->error);
	h->pid = pid;
	worker_watch_child(pid, worker_hook_exited, h);
	h->timer = g_timeout_add_seconds(WORKER_HOOK_TIMEOUT_S, worker_hook_timeout_cb, h);
	log_debug("job %s (%s): on_dead hook running in process %d", h->job_id, h->def->name, (int)pid);
}

void
worker_hook_run(struct worker *w, const struct task_def *def, const char *job_id, json_t *args,
    const char *error)
{
	struct worker_hook *h = g_new0(struct worker_hook, 1);

	h->w = w;
	h->def = def;
	h->job_id = g_strdup(job_id);
	h->args = json_incref(args);
	h->error = g_strdup(error);
	h->first_us = g_get_monotonic_time();
	g_queue_push_tail(&w->hooks, h);
	worker_hook_start(h);
}

int
worker_hooks_running(struct worker *w)
{
	int n = 0;

	for (GList *l = w->hooks.head; l != NULL; l = l->next)
		n += ((struct worker_hook *)l->data)->pid != 0;
	return n;
}

void
worker_hooks_stop(struct worker *w)
{
	/* Those waiting for another try get it now: the last one. */
	for (GList *l = w->hooks.head, *next; l != NULL; l = next) {
		struct worker_hook *h = l->data;

		next = l->next;
		if (h->pid == 0 && h->timer != 0) {
			g_source_remove(h->timer);
			h->timer = 0;
			worker_hook_start(h);
		}
	}
}

void
worker_hooks_close(struct worker *w)
{
	while (!g_queue_is_empty(&w->hooks)) {
		struct worker_hook *h = g_queue_pop_head(&w->hooks);

		log_error("job %s (%s): on_dead hook not done before exit%s", h->job_id, h->def->name,
		    h->pid != 0 ? "; killing it" : "");
		if (h->pid != 0)
			kill(h->pid, SIGKILL);
		worker_hook_free(h);
	}
}
