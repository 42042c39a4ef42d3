/* The run functions of the built-in tasks, one file each (jobs/task-*.c),
 * listed in task_table[] or task_test_table[] (jobs/tasks.c). */
#ifndef PP_TASKS_H
#define PP_TASKS_H

#include "task.h"

/* jobs/task-ping.c */
enum task_result task_ping_run(struct task_ctx *ctx);

/* jobs/task-test.c: for the worker's tests, never enqueued by the API;
 * in task_test_table[], run only with PP_TEST_TASKS=1. */
enum task_result task_test_echo_run(struct task_ctx *ctx);
enum task_result task_test_sleep_run(struct task_ctx *ctx);
enum task_result task_test_fail_run(struct task_ctx *ctx);
enum task_result task_test_record_run(struct task_ctx *ctx);

/* jobs/task-email-send.c (issue 12): one mail of the built-in accounts. */
enum task_result task_email_send_run(struct task_ctx *ctx);

/* jobs/task-podcast-generate.c (issue 6): the pipeline, and its on_dead
 * hook that marks the podcast failed when the job dies without saying so. */
enum task_result task_podcast_generate_run(struct task_ctx *ctx);
int task_podcast_generate_dead(const struct config *cfg, const char *job_id, json_t *args,
    const char *error);

/* jobs/task.c, in the master only: what its table names instead. */
enum task_result task_run_elsewhere(struct task_ctx *ctx);
int task_hook_elsewhere(const struct config *cfg, const char *job_id, json_t *args, const char *error);

#endif
