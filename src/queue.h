/* The job queue protocol on Redis, shared by the responder (enqueue), the
 * worker (consume) and podcastpro-ctl (inspect). doc/worker.md describes it.
 *
 * Keys (all under "pp:"):
 *   pp:q:QUEUE         stream of ready jobs, field "job" = envelope JSON,
 *                      consumer group "workers"; acked entries are deleted,
 *                      so XLEN - pending = jobs waiting
 *   pp:delayed         sorted set: envelope JSON scored by due time (ms)
 *   pp:dead:QUEUE      stream of dead jobs: job, error, task, id, died_at
 *   pp:events          capped stream of job events (MAXLEN ~ 10000)
 *   pp:workers         set of worker names; pp:worker:NAME their state (EX)
 *   pp:beat:TASK       the lock one worker takes to enqueue a periodic job
 *
 * Envelope: {"id": ULID, "task": NAME, "args": JSON, "queue": NAME,
 *   "attempt": 1 on the first run (retries = attempt - 1),
 *   "enqueued_at": UNIX seconds (float), "eta": UNIX seconds (optional),
 *   "last_error": text (optional, set by a retry)}.
 *
 * Ownership: strings returned are the caller's to g_free(); a struct
 * queue_job from queue_job_decode() is freed with queue_job_free() (NULL is
 * harmless). Functions taking a json_t borrow it. */
#ifndef PP_QUEUE_H
#define PP_QUEUE_H

#include <glib.h>
#include <hiredis/hiredis.h>
#include <jansson.h>

#include "ulid.h"

#define QUEUE_PREFIX        "pp:q:"
#define QUEUE_DEAD_PREFIX   "pp:dead:"
#define QUEUE_DELAYED_KEY   "pp:delayed"
#define QUEUE_EVENTS_KEY    "pp:events"
#define QUEUE_WORKERS_KEY   "pp:workers"
#define QUEUE_WORKER_PREFIX "pp:worker:"
#define QUEUE_BEAT_PREFIX   "pp:beat:"
#define QUEUE_GROUP         "workers"
#define QUEUE_EVENTS_MAXLEN 10000
#define QUEUE_DEAD_MAXLEN   100000

struct queue_job {
	char *id;
	char *task;
	char *queue;
	json_t *args;          /* owned */
	int attempt;           /* 1 on the first run */
	double enqueued_at;
	double eta;            /* 0: none */
	char *last_error;      /* NULL: none */
};

/* Enqueues TASK with ARGS (borrowed; NULL means {}) on QUEUE, due in
 * COUNTDOWN_S seconds (0: now), in one round trip. Writes the new job id
 * into JOB_ID (may be NULL). 0, or -1 and *cause. */
int queue_enqueue(redisContext *c, const char *queue, const char *task, json_t *args,
    double countdown_s, char job_id[ULID_LEN + 1], char **cause);

/* The envelope of JOB as compact JSON. */
char *queue_job_encode(const struct queue_job *job);
/* Parses an envelope: a new job, or NULL and *cause. */
struct queue_job *queue_job_decode(const char *json, size_t len, char **cause);
/* A new job (fresh id, attempt 1, enqueued now); ARGS borrowed. */
struct queue_job *queue_job_new(const char *queue, const char *task, json_t *args);
void queue_job_free(struct queue_job *job);

/* The stream key of QUEUE ("pp:q:QUEUE") and its dead-letter stream. */
char *queue_stream_key(const char *queue);
char *queue_dead_key(const char *queue);

/* The retry countdown in seconds before retry number RETRIES + 1, Celery's
 * formula: min(backoff_max, backoff * 2^retries), then, with JITTER, a
 * uniform whole number in [0, countdown] drawn from RNG (NULL: GLib's). */
double queue_backoff(int retries, int backoff, int backoff_max, gboolean jitter, GRand *rng);

/* Current time as UNIX seconds with microseconds. */
double queue_now(void);

/* Lua scripts (EVAL bodies), described in doc/worker.md. */
/* KEYS[1] delayed zset; ARGV now_ms, limit, stream prefix: moves due jobs. */
extern const char queue_lua_move_due[];
/* KEYS[1] stream, KEYS[2] target; ARGV group, entry id, mode
 * (ack|retry|dead|requeue), payload, score-or-error, task, job id, queue:
 * acks and deletes the entry, and only if it was still pending, does the
 * mode's second half. Returns 1 or 0. Repeating it is harmless. */
extern const char queue_lua_finish[];
/* KEYS[1] stream; ARGV group, consumer, min idle ms, count: XAUTOCLAIM with
 * delivery counts: {{id, fields, deliveries}, ...}. */
extern const char queue_lua_reclaim[];
/* KEYS[1] stream; ARGV group, consumer, count: claims this consumer's own
 * pending entries (left by a previous run under the same name). */
extern const char queue_lua_recover[];

#endif
