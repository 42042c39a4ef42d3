#include "autoconfig.h"

#include <stdarg.h>
#include <string.h>

#include "log.h"
#include "task.h"
#include "tasks.h"

volatile sig_atomic_t task_stop_requested;

#ifdef WORKER_MASTER
/* Placeholders in the master's task table (jobs/tasks.c): never called. */
enum task_result
task_run_elsewhere(struct task_ctx *ctx)
{
	return task_error(ctx, TASK_FAIL, "task %s run by the worker master (a bug)", ctx->task);
}

int
task_hook_elsewhere(const struct config *cfg, const char *job_id, json_t *args, const char *error)
{
	(void)cfg, (void)args, (void)error;
	log_error("job %s: on_dead hook run by the worker master (a bug)", job_id);
	return 0;
}
#endif

/* Set once at start-up, before any child is forked. */
static gboolean task_tests_enabled;

void
task_enable_test_tasks(gboolean enable)
{
	task_tests_enabled = enable;
}

gboolean
task_test_tasks_enabled(void)
{
	return task_tests_enabled;
}

static const struct task_def *
task_find_in(const struct task_def *table, const char *name)
{
	for (const struct task_def *def = table; def->name != NULL; def++) {
		if (strcmp(def->name, name) == 0)
			return def;
	}
	return NULL;
}

const struct task_def *
task_find(const char *name)
{
	const struct task_def *def;

	if (name == NULL)
		return NULL;
	if ((def = task_find_in(task_table, name)) == NULL && task_tests_enabled)
		def = task_find_in(task_test_table, name);
	return def;
}

void
task_heartbeat(struct task_ctx *ctx)
{
	/* Nothing to send: the master keeps every running job's entry fresh
	 * (XCLAIM JUSTID) for as long as the child running it is alive, and
	 * the hard time limit bounds how long that is. Kept so tasks mark
	 * their long loops and a later design can hook in here. */
	(void)ctx;
}

gboolean
task_should_stop(struct task_ctx *ctx)
{
	(void)ctx;
	return task_stop_requested != 0;
}

enum task_result
task_error(struct task_ctx *ctx, enum task_result result, const char *fmt, ...)
{
	va_list ap;

	g_free(ctx->error);
	va_start(ap, fmt);
	ctx->error = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	return result;
}
