#include "autoconfig.h"

#include <stddef.h>

#include "task.h"
#include "tasks.h"
#include "task-sweep.h"

/* The master (built with WORKER_MASTER) keeps this table for each task's
 * queue, retries, limits and whether it has an on_dead hook, but runs
 * none of them: podcastpro-job, linked with the tasks, does. So the
 * master's copy names no task function and links none of their code. */
#ifdef WORKER_MASTER
#define RUN(fn) task_run_elsewhere
#define HOOK(fn) task_hook_elsewhere
#else
#define RUN(fn) fn
#define HOOK(fn) fn
#endif

/* Every task the worker runs (struct task_def in task.h says what each
 * field means; -1 and 0 mean "from the configuration"). One row per task;
 * the run function lives in jobs/task-NAME.c. */
const struct task_def task_table[] = {
	{ .name = "ping", .run = RUN(task_ping_run), .queue = "default",
	  .max_retries = -1, .backoff = -1, .backoff_max = -1 },
	/* Runs every SWEEPER_INTERVAL: a failed sweep is simply the next one's work. */
	{ .name = "podcast.sweep", .run = RUN(task_sweep_run), .queue = "default",
	  .max_retries = 0, .backoff = -1, .backoff_max = -1 },
	/* The pipeline (issue 6): limits and retries from the configuration. */
	{ .name = "podcast.generate", .run = RUN(task_podcast_generate_run), .queue = "podcasts",
	  .max_retries = -1, .backoff = -1, .backoff_max = -1, .on_dead = HOOK(task_podcast_generate_dead) },
	/* The accounts' mails (doc/auth.md): a mail server may be away for a
	 * while; 12 retries at the configured back-off (600 s at most) span
	 * about the links' hour. */
	{ .name = "email.send", .run = RUN(task_email_send_run), .queue = "default",
	  .max_retries = 12, .backoff = -1, .backoff_max = -1 },
	{ .name = NULL }
};

/* Only with PP_TEST_TASKS=1 (task.h). */
const struct task_def task_test_table[] = {
	{ .name = "test.echo", .run = RUN(task_test_echo_run), .queue = "default",
	  .max_retries = -1, .backoff = -1, .backoff_max = -1 },
	{ .name = "test.sleep", .run = RUN(task_test_sleep_run), .queue = "default",
	  .max_retries = -1, .backoff = -1, .backoff_max = -1 },
	{ .name = "test.fail", .run = RUN(task_test_fail_run), .queue = "default",
	  .max_retries = -1, .backoff = -1, .backoff_max = -1 },
	/* Crash tests kill its children again and again: it must outlast them. */
	{ .name = "test.record", .run = RUN(task_test_record_run), .queue = "default",
	  .max_retries = 1000, .backoff = -1, .backoff_max = -1 },
	{ .name = NULL }
};
