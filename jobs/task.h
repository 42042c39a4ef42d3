/* Tasks: C functions in a table (jobs/tasks.c), one file per task.
 *
 * A task runs in a worker child, one job at a time. It returns TASK_OK,
 * TASK_RETRY (retryable: rescheduled by the retry policy) or TASK_FAIL
 * (permanent: dead at once). On failure it sets ctx->error (a new string the
 * runner frees) to a readable message. A task must be idempotent: the queue
 * delivers at least once.
 *
 * Long tasks call task_heartbeat() now and then (cheap; it keeps the job
 * from being reclaimed) and check task_should_stop() between steps: it turns
 * true when the soft time limit passed or the worker is shutting down, and
 * the task should save what it has and return TASK_RETRY. */
#ifndef PP_TASK_H
#define PP_TASK_H

#include <signal.h>

#include <glib.h>
#include <jansson.h>

struct config;
struct db_pool;

enum task_result { TASK_OK, TASK_RETRY, TASK_FAIL };

struct task_ctx {
	const char *job_id;
	const char *task;
	const char *queue;
	json_t *args;              /* borrowed: the envelope's "args" */
	int retries;               /* retries already made (0 on the first run) */
	int delivery;              /* times the job was delivered, 1 first */
	const struct config *cfg;
	struct db_pool *db;        /* the child's pool (opened after fork) */
	gboolean last_attempt;     /* no retry left after this run */
	/* set by the task */
	char *error;               /* readable message on failure */
	double retry_min_delay;    /* seconds: the provider said "not before" */
	json_t *result;            /* optional result (new reference) */
	/* private to the runner */
	void *runner;
};

struct task_def {
	const char *name;
	enum task_result (*run)(struct task_ctx *ctx);
	const char *queue;         /* default queue for `ctl call` */
	int max_retries;           /* -1: RETRY_MAX */
	int backoff;               /* -1: RETRY_BACKOFF (seconds, factor) */
	int backoff_max;           /* -1: RETRY_BACKOFF_MAX */
	int soft_limit;            /* 0: TASK_SOFT_TIME_LIMIT */
	int hard_limit;            /* 0: TASK_HARD_TIME_LIMIT */
	/* Called when the job is dead (no retry left, or permanent failure),
	 * with the last error; may be NULL. It runs in a short-lived process
	 * the master forks for it (jobs/worker-hook.c), never in the master
	 * itself, so it may block on the network; it is killed after
	 * WORKER_HOOK_TIMEOUT_S. Returns 0 when done (or nothing to do), -1 to
	 * be called again later (back-off up to a minute, for up to an hour).
	 * It must be idempotent. */
	int (*on_dead)(const struct config *cfg, const char *job_id, json_t *args, const char *error);
};

/* The task named NAME, or NULL. Test tasks (task_test_table) are found
 * only after task_enable_test_tasks(TRUE). */
const struct task_def *task_find(const char *name);
/* The production tasks, ending with a NULL name. */
extern const struct task_def task_table[];
/* Tasks for the worker's tests (names "test.*"), ending with a NULL name.
 * A worker runs them only when started with PP_TEST_TASKS=1: they sleep,
 * fail and write to Redis on request, nothing a production worker should do
 * for whoever can enqueue. */
extern const struct task_def task_test_table[];
void task_enable_test_tasks(gboolean enable);
gboolean task_test_tasks_enabled(void);

/* Set in a job child by SIGUSR1 (soft time limit or shutdown); read by
 * task_should_stop(). */
extern volatile sig_atomic_t task_stop_requested;

void task_heartbeat(struct task_ctx *ctx);
gboolean task_should_stop(struct task_ctx *ctx);
/* Sets ctx->error from a printf format; returns RESULT for `return task_fail(...)`. */
enum task_result task_error(struct task_ctx *ctx, enum task_result result, const char *fmt, ...) G_GNUC_PRINTF(3, 4);

#endif
