/* podcastpro-worker: the master's state and the modules that share it.
 *
 *   worker-main.c    options, configuration, signals, the main loop, shutdown
 *   worker-redis.c   two async Redis connections on the GLib loop (one for the
 *                    blocking fetch, one for everything else), reconnect with
 *                    back-off, a watchdog for replies that never come, and an
 *                    outbox that keeps durable commands across outages
 *   worker-jobs.c    fetch, dispatch, outcomes (ack, retry, dead), reclaim,
 *                    heartbeats, delayed jobs, events, published state
 *   worker-pool.c    preforked children: spawn, replace, time limits
 *   worker-child.c   a child's start: it executes podcastpro-job (job-main.c),
 *                    which runs the tasks, so the master links none of them
 *   worker-hook.c    tasks' on_dead hooks, each in a process of its own
 *   worker-signals.c SIGTERM/SIGINT/SIGHUP and child exits from a signalfd on
 *                    the main loop (no GLib helper thread: forks stay safe)
 *   worker-beat.c    periodic jobs
 *   worker-metrics.c job outcomes, durations, restarts and kills for the
 *                    responder's /metrics, published to Redis
 *
 * Ownership: the single struct worker lives for the whole program; jobs in
 * it (struct worker_job) belong to exactly one place at a time: the reserved
 * queue, a child, or nowhere (freed once their outcome is sent). */
#ifndef PP_WORKER_H
#define PP_WORKER_H

#include <signal.h>
#include <sys/types.h>

#include <glib.h>
#include <hiredis/async.h>
#include <jansson.h>

#include "config.h"
#include "queue.h"
#include "task.h"

struct worker;

/* A job the master holds: fetched, reserved or running. */
struct worker_job {
	char *entry_id;            /* stream entry id */
	char *stream;              /* stream key */
	char *raw;                 /* envelope as read from the stream */
	struct queue_job *job;     /* decoded envelope */
	int deliveries;
	double received_at;        /* UNIX seconds */
	double started_at;
	pid_t pid;                 /* child running it, or 0 */
};

struct worker_child {
	pid_t pid;                 /* 0: slot empty */
	int fd;                    /* master's end of the socketpair */
	guint io_watch;
	struct worker_job *job;    /* running job, or NULL */
	int job_serial;            /* its serial number, sent with stop requests */
	gint64 job_started_us;     /* monotonic */
	int tasks_done;
	gboolean ready;            /* said it is ready (its program started) */
	gboolean retiring;         /* exits after its current job; no new jobs */
	gboolean soft_sent;
	char *kill_reason;         /* why the master killed it, or NULL (owned) */
	gboolean requeue_on_exit;  /* killed by shutdown: hand its job back */
	/* Asked to stop by shutdown before its soft limit: a TASK_RETRY answer
	 * hands the job back unchanged instead of counting an attempt. */
	gboolean handback_on_retry;
};

/* A Redis command with its reply handler. */
typedef void (*worker_reply_fn)(struct worker *w, redisReply *reply, void *data);

struct worker_conn {
	const char *what;          /* "fetch" or "command", for logs */
	redisAsyncContext *ac;
	GSource *source;           /* ac's, destroyed with it (hiredis's cleanup hook) */
	gboolean connected;
	gboolean connecting;
	gint64 connect_started_us;
	int inflight;
	gint64 last_progress_us;
	int backoff_ms;
	guint reconnect_timer;
	void (*on_connect)(struct worker *w);
	/* With REDIS_SENTINELS, each connect first asks them (worker-sentinel.c):
	 * the question under way, on the loop like the rest. */
	redisAsyncContext *sentinel_ac;
	GSource *sentinel_source;        /* sentinel_ac's, as source is ac's */
	guint sentinel_timer;            /* the current sentinel's time is up */
	guint sentinel_index;            /* the one asked now */
	guint sentinel_tried;
};

/* Job outcomes for /metrics, as the events name them. */
enum worker_outcome { WORKER_SUCCEEDED, WORKER_FAILED, WORKER_RETRIED, WORKER_DEAD, WORKER_OUTCOMES };

/* The master's numbers for /metrics (worker-metrics.c). */
struct worker_metrics {
	GHashTable *tasks;               /* task name -> its outcomes and durations */
	guint64 child_restarts[2];       /* replaced children: recycled (exited 0), died */
	guint64 time_limit_kills;        /* children killed past their hard limit */
};

struct worker_stats {
	guint64 received, started, succeeded, failed, retried, dead, requeued, reclaimed;
};

struct worker {
	struct config *cfg;        /* owned (config_set) */
	char *env_file;
	char *name;
	char **queues;             /* names, in priority order */
	char **streams;            /* their stream keys */
	int nqueues;
	int concurrency;
	int max_tasks_per_child;
	char *loglevel;                  /* "--loglevel=L" for the children, or NULL */
	char *job_program;               /* podcastpro-job's path (worker-child.c) */
	char **job_env;                  /* the children's environment: cfg exported */
	GMainLoop *loop;
	GRand *rng;

	struct worker_child *children;   /* [concurrency] */
	GQueue reserved;                 /* struct worker_job *, not yet running */
	GHashTable *held;                /* entry id -> struct worker_job *, all we hold */
	GQueue hooks;                    /* on_dead hooks running or waiting (worker-hook.c) */

	struct worker_conn fetch, cmd;
	GQueue outbox;                   /* durable commands waiting for a connection */
	gboolean fetch_inflight;
	gboolean recovered;              /* own pending entries claimed after start */
	int recovering;                  /* replies to those claims still to come */
	gboolean recover_lost;           /* one was lost with the connection: again */

	struct worker_stats stats;
	struct worker_metrics metrics;
	double started_at;
	pid_t pid;

	gboolean stopping;
	gboolean quitting;
	gint64 stop_deadline_us;         /* monotonic: grace period ends */
	gboolean grace_over;             /* running jobs' children killed (once) */
	int exit_status;
	guint timers[8];
};

/* worker-redis.c */
void worker_redis_init(struct worker *w);
/* Connects CONN to HOST:PORT (a sentinel's answer), or schedules another
 * try of the whole connect with back-off. */
void worker_redis_connect_to(struct worker_conn *conn, const char *host, int port);
void worker_redis_schedule(struct worker_conn *conn);
/* A context's GSource cleanup: every context the master opens uses it. */
void worker_redis_source_cleanup(gpointer data);
void worker_redis_start(struct worker *w);
void worker_redis_close(struct worker *w);
/* Sends ARGV on the command connection. DURABLE: kept in the outbox while
 * Redis is away and resent (the command must be idempotent); otherwise
 * dropped then, and FN (may be NULL) sees a NULL reply. Copies ARGV. */
void worker_redis_send(struct worker *w, gboolean durable, worker_reply_fn fn, void *data,
    int argc, const char **argv);
/* Runs SCRIPT (a static string) with EVALSHA, falling back to EVAL once
 * when Redis does not know it yet; ARGV starts with numkeys. */
void worker_redis_eval(struct worker *w, gboolean durable, worker_reply_fn fn, void *data, const char *script,
    int argc, const char **argv);
/* Sends on the fetch connection (blocking reads); FALSE when it is down. */
gboolean worker_redis_send_fetch(struct worker *w, worker_reply_fn fn, void *data,
    int argc, const char **argv);
/* Checks for replies overdue and connections stuck connecting. */
void worker_redis_watchdog(struct worker *w);
gboolean worker_redis_idle(struct worker *w);

/* worker-jobs.c */
void worker_jobs_on_connect(struct worker *w);
void worker_jobs_on_fetch_connect(struct worker *w);
void worker_fetch_maybe(struct worker *w);
void worker_dispatch(struct worker *w);
/* A child answered (RESULT borrowed) or died (RESULT NULL, ERROR why). */
void worker_job_outcome(struct worker *w, struct worker_job *job, json_t *result, const char *error);
/* Hands a job back for redelivery without counting an attempt. */
void worker_job_requeue(struct worker *w, struct worker_job *job);
void worker_job_free(struct worker_job *job);
void worker_event(struct worker *w, const char *type, const struct worker_job *job, ...) G_GNUC_NULL_TERMINATED;
void worker_heartbeat(struct worker *w);
void worker_reclaim(struct worker *w);
void worker_move_due(struct worker *w);
void worker_publish_state(struct worker *w);
void worker_forget_state(struct worker *w);

/* worker-pool.c */
void worker_pool_start(struct worker *w);
int worker_pool_idle(struct worker *w);
int worker_pool_busy(struct worker *w);
/* Gives JOB to an idle child: 0, or -1 when none could take it. */
int worker_pool_run(struct worker *w, struct worker_job *job);
void worker_pool_check_limits(struct worker *w);
/* Asks running tasks to stop (task_should_stop) and idle children to exit. */
void worker_pool_stop(struct worker *w);
void worker_pool_kill(struct worker *w, const char *reason);
void worker_pool_roll(struct worker *w);

/* worker-child.c. Children are forked by the master and execute
 * podcastpro-job with FD (their end of the socketpair) as fd 3; a hook's
 * process executes it with --hook and the hook described on fd 3. */
#define WORKER_JOB_FD 3
/* podcastpro-job's path (new string), or NULL and *cause. */
char *worker_child_program(char **cause);
/* (Re)builds w->job_env from w->cfg: after every configuration load. */
void worker_child_environ(struct worker *w);
/* In a forked child: never return. */
void worker_child_main(struct worker *w, int fd) G_GNUC_NORETURN;
void worker_child_hook(struct worker *w, const char *task, const char *job_id, json_t *args,
    const char *error) G_GNUC_NORETURN;

/* worker-signals.c: blocks SIGTERM, SIGINT, SIGHUP and SIGCHLD and reads
 * them on the default main context: ON_TERM(DATA) for SIGTERM and SIGINT,
 * ON_HUP(DATA) for SIGHUP, and each watched child's callback once when it
 * ends. 0, or -1 (logged) before serving. */
int worker_signals_start(GSourceFunc on_term, GSourceFunc on_hup, gpointer data);
void worker_signals_stop(void);
/* In a process just forked from the master: closes the master's signalfd
 * (the signal mask is the caller's to reset). */
void worker_signals_child(void);
/* FN(pid, wait status, DATA) runs once, on the main loop, when PID ends;
 * unwatching forgets it (the process is still reaped). */
void worker_watch_child(pid_t pid, GChildWatchFunc fn, gpointer data);
void worker_unwatch_child(pid_t pid);

/* worker-hook.c: runs DEF's on_dead for a dead job in a process of its own
 * (copies JOB_ID and ERROR, references ARGS); retried until done. */
void worker_hook_run(struct worker *w, const struct task_def *def, const char *job_id, json_t *args,
    const char *error);
/* Hooks whose process is running now. */
int worker_hooks_running(struct worker *w);
/* At shutdown: hooks waiting for another try run now, and are not retried. */
void worker_hooks_stop(struct worker *w);
/* At exit: kills the hooks' processes still running; logs what was not done. */
void worker_hooks_close(struct worker *w);


/* worker-metrics.c: counts (RUNTIME_S < 0: the job did not run) and
 * publishes them to Redis for the responder's /metrics. */
void worker_metrics_init(struct worker *w);
void worker_metrics_free(struct worker *w);
void worker_metrics_job(struct worker *w, const char *task, enum worker_outcome outcome, double runtime_s);
void worker_metrics_publish(struct worker *w);

/* worker-sentinel.c: asks the sentinels, one after another, for the
 * master's address, then worker_redis_connect_to(CONN, ...), or
 * worker_redis_schedule(CONN) when none named it. Never blocks the loop. */
void worker_sentinel_ask(struct worker *w, struct worker_conn *conn);
/* Drops a question under way (shutdown). */
void worker_sentinel_cancel(struct worker_conn *conn);

/* worker-beat.c */
void worker_beat_tick(struct worker *w);

/* worker-main.c */
void worker_maybe_finish(struct worker *w);

#endif
