#include "autoconfig.h"

#include <stddef.h>

#include "task.h"
#include "tasks.h"
#include "task-sweep.h"

/* Every task the worker runs. Columns: name, run, default queue,
 * max_retries (-1: RETRY_MAX), backoff (-1: RETRY_BACKOFF), backoff_max
 * (-1: RETRY_BACKOFF_MAX), soft and hard limits (0: TASK_*_TIME_LIMIT),
 * on_dead. One row per task; the run function lives in jobs/task-NAME.c. */
const struct task_def task_table[] = {
	{ "ping", task_ping_run, "default", -1, -1, -1, 0, 0, NULL },
	/* Runs every SWEEPER_INTERVAL: a failed sweep is simply the next one's work. */
	{ "podcast.sweep", task_sweep_run, "default", 0, -1, -1, 0, 0, NULL },
	/* The pipeline (issue 6): limits and retries from the configuration. */
	{ "podcast.generate", task_podcast_generate_run, "podcasts", -1, -1, -1, 0, 0,
	    task_podcast_generate_dead },
	{ NULL, NULL, NULL, 0, 0, 0, 0, 0, NULL }
};

/* Only with PP_TEST_TASKS=1 (task.h). */
const struct task_def task_test_table[] = {
	{ "test.echo", task_test_echo_run, "default", -1, -1, -1, 0, 0, NULL },
	{ "test.sleep", task_test_sleep_run, "default", -1, -1, -1, 0, 0, NULL },
	{ "test.fail", task_test_fail_run, "default", -1, -1, -1, 0, 0, NULL },
	/* Crash tests kill its children again and again: it must outlast them. */
	{ "test.record", task_test_record_run, "default", 1000, -1, -1, 0, 0, NULL },
	{ NULL, NULL, NULL, 0, 0, 0, 0, 0, NULL }
};
