/* The job system's state as Redis holds it (the keys of src/queue.h):
 * workers, queue depths, events and dead letters, read and steered by
 * podcastpro-ctl (jobs/ctl-jobs.c) and by the responder's dashboard
 * (fcgi/dashboard.c). One implementation, so that both show the same thing
 * and their retry and purge do the same thing.
 *
 * Every function takes a synchronous hiredis context it borrows; a function
 * that fails on Redis returns NULL or -1 with *cause (the caller frees).
 *
 * Ownership: json_t results are new references (caller decrefs); a
 * GPtrArray of names frees its strings with itself; strings returned are
 * the caller's to g_free(). redisReply arguments are borrowed. */
#ifndef PP_JOBSTATE_H
#define PP_JOBSTATE_H

#include <glib.h>
#include <hiredis/hiredis.h>
#include <jansson.h>

/* The live workers' published states (pp:worker:NAME), one object each, in
 * pp:workers order. A name whose state expired is removed from the set. */
json_t *jobstate_workers(redisContext *c, char **cause);

/* Every queue in use: those in CONFIGURED (comma-separated, as
 * WORKER_QUEUES; may be NULL) first, then any other queue that has a stream
 * or a dead-letter stream. */
GPtrArray *jobstate_queue_names(redisContext *c, const char *configured, char **cause);

/* Depths of each queue of NAMES: an array of {"queue", "waiting" (XLEN -
 * pending), "running" (pending: delivered, not yet acknowledged),
 * "delayed" (in pp:delayed), "dead"}. */
json_t *jobstate_queues(redisContext *c, GPtrArray *names, char **cause);

/* One pp:events entry's fields (a flat name, value array) as an object of
 * strings, in stream order: the event as `podcastpro-ctl events --json`
 * prints it and the dashboard receives it. */
json_t *jobstate_event_json(const redisReply *fields);

/* TRUE when S has the shape of a stream entry id ("1765000000000-0"). */
gboolean jobstate_is_entry_id(const char *s);

/* Events after the entry AFTER ("": the last LIMIT), oldest first, at most
 * LIMIT: an array of jobstate_event_json() objects. *LAST gets the id of
 * the last entry returned, or AFTER again when there is none ("0-0" for an
 * empty stream; caller frees). AFTER must be "" or an entry id. */
json_t *jobstate_events(redisContext *c, const char *after, int limit, char **last, char **cause);

/* The value of field NAME of a stream entry ({id, [name, value, ...]}), or
 * NULL. */
const char *jobstate_entry_field(const redisReply *entry, const char *name);

/* A dead entry as {"entry": ID, "id", "task", "queue", "error", "job", ...}. */
json_t *jobstate_dead_json(const redisReply *entry);

/* The most recent dead jobs of every queue of NAMES, newest first, at most
 * LIMIT, each as jobstate_dead_json(). */
json_t *jobstate_dead_recent(redisContext *c, GPtrArray *names, int limit, char **cause);

/* Calls FN for each dead entry of QUEUE (NULL: every queue of NAMES),
 * oldest first, a page at a time, until FN returns FALSE. 0, or -1 and
 * *cause when Redis failed. */
typedef gboolean (*jobstate_dead_fn)(redisContext *c, const char *stream, const redisReply *entry,
    void *data);
int jobstate_dead_each(redisContext *c, GPtrArray *names, const char *queue, jobstate_dead_fn fn,
    void *data, char **cause);

/* The outcome of retrying one dead entry. */
enum jobstate_retry {
	JOBSTATE_RETRIED,     /* back on its queue: JOB_ID is its id */
	JOBSTATE_MALFORMED,   /* its envelope cannot be read: it stays dead */
	JOBSTATE_FAILED,      /* Redis failed: it stays dead */
};

/* Called for every dead entry a retry matched. CAUSE is NULL when
 * RETRIED. */
typedef void (*jobstate_retry_fn)(const char *stream, const redisReply *entry, enum jobstate_retry outcome,
    const char *job_id, const char *cause, void *data);

/* Retries the dead jobs matching ID ("all", a job id or a dead entry id)
 * of QUEUE (NULL: every queue of NAMES): each goes back on its queue as a
 * fresh job (attempt 1, due now, same id) and leaves the dead stream, both
 * in one MULTI. Anything but "all" stops at the first match. REPORT (may be
 * NULL) hears about each match. Returns the number of matches (retried or
 * not), or -1 and *cause when the dead streams could not be read;
 * *FAILED (may be NULL) counts the matches not retried. */
int jobstate_dead_retry(redisContext *c, GPtrArray *names, const char *queue, const char *id,
    jobstate_retry_fn report, void *data, int *failed, char **cause);

/* Removes every dead job of QUEUE (NULL: every queue of NAMES): the number
 * removed (each stream's length and its deletion in one MULTI), or -1 and
 * *cause. */
long long jobstate_dead_purge(redisContext *c, GPtrArray *names, const char *queue, char **cause);

#endif
