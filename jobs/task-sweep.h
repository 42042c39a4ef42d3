/* podcast.sweep (jobs/task-sweep.c): enqueues podcasts left pending without
 * a job, or whose job Redis lost (a failover before replication), and
 * removes abandoned temporary files from local storage. The task
 * takes no arguments and is safe to run at any time, also twice at once. */
#ifndef PP_TASK_SWEEP_H
#define PP_TASK_SWEEP_H

#include "task.h"

struct config;
struct db_pool;

/* One sweep over rows older than MIN_AGE_S seconds: 0 and *enqueued, or
 * -1 and *cause (caller frees); rows enqueued before the failure stay so. */
int task_sweep_once(const struct config *cfg, struct db_pool *db, int min_age_s, int *enqueued,
    char **cause);

/* Removes temporaries under STORAGE_DIR untouched for MIN_AGE_S seconds
 * (storage_local_sweep_temp; nothing with S3) and logs how many: 0 and
 * *removed, or -1 and *cause (caller frees); *removed counts what went
 * before the failure. */
int task_sweep_temp(const struct config *cfg, int min_age_s, int *removed, char **cause);

enum task_result task_sweep_run(struct task_ctx *ctx);

#endif
