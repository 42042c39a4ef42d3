/* The responder's /metrics (doc/metrics.md): request counts by route and
 * status class, latency histograms, the database pool, rate-limit
 * refusals and Redis errors, plus the job system's numbers read from Redis.
 *
 * Counters live in a region of shared memory with one slot per process
 * slot of the supervisor, mapped before it forks: each process adds to
 * its slot with relaxed atomic adds (no lock on the request path), and
 * whichever process answers /metrics sums every slot. A replacement
 * process adds to its predecessor's slot, so totals never go backwards
 * when a process dies. Run alone (spawn-fcgi, lighttpd bin-path) a
 * process has a slot of its own and labels what it reports with its pid.
 *
 * Thread safety: metrics_region_create and metrics_region_use_slot run
 * before any acceptor thread; the rest may run from any thread. */
#ifndef PP_METRICS_H
#define PP_METRICS_H

#include <glib.h>

#include "app.h"

struct db_pool;
struct route;

/* Maps the region for NSLOTS processes (the supervisor, before forking;
 * inherited by every child): 0, or -1 and *cause. */
int metrics_region_create(int nslots, char **cause);
/* In a forked process: count into slot SLOT (0 .. nslots - 1). */
void metrics_region_use_slot(int slot);
/* In a process that runs alone: a private one-slot region, and a pid label
 * on what it reports. No-op when the supervisor made the region. */
int metrics_region_standalone(char **cause);

/* One answered request: ROUTE (NULL when none matched), STATUS, time from
 * accept to the response written. */
void metrics_request_done(const struct route *route, int status, gint64 elapsed_us);
/* A 429 from ROUTE's rate limit. */
void metrics_ratelimit_refused(const struct route *route);
/* A Redis connection that could not be made, or a command that broke one. */
void metrics_redis_error(void);
/* Copies POOL's numbers into this process's slot (the process's main
 * thread, about once a second). */
void metrics_publish_pool(struct db_pool *pool);

/* The per-process module: indexes the route table (after the dashboard
 * module has filled its part). */
extern const struct app_module metrics_app_module;

#endif
