/* What fcgi/metrics-count.c (counting, linked into unit tests too) and
 * fcgi/metrics.c (publishing and rendering) share: the layout of the
 * shared region. Not for other modules: they use metrics.h. */
#ifndef PP_METRICS_PRIVATE_H
#define PP_METRICS_PRIVATE_H

#include <stdint.h>

#include <glib.h>

struct route;

/* Routes counted one by one; the rest, and requests no route matched,
 * share the last index. */
#define METRICS_MAX_ROUTES 128
#define METRICS_OTHER METRICS_MAX_ROUTES
#define METRICS_CLASSES 4           /* 2xx 3xx 4xx 5xx */
#define METRICS_NBOUNDS 13

extern const gint64 metrics_bounds_us[METRICS_NBOUNDS];
extern const double metrics_bounds_s[METRICS_NBOUNDS];   /* the same in seconds */

struct metrics_route_counters {
	guint64 status[METRICS_CLASSES];
	guint64 buckets[METRICS_NBOUNDS + 1];   /* not cumulative; the last: above 10 s */
	guint64 sum_us;
	guint64 refused;                        /* 429 from the route's rate limit */
};

/* One process slot. Counters only grow; the gauges are the last process's
 * last publication. Aligned so that two slots never share a cache line. */
struct metrics_slot {
	gint64 pid;                    /* the process counting here now */
	guint64 redis_errors;
	guint64 db_waits, db_timeouts;
	gint64 db_size, db_in_use, db_idle, db_waiting;
	struct metrics_route_counters routes[METRICS_MAX_ROUTES + 1];
} __attribute__((aligned(64)));

/* The region: mapped once, before forking (or before serving alone). */
extern struct metrics_slot *metrics_slots;
extern int metrics_nslots;
extern struct metrics_slot *metrics_mine;   /* this process's slot, or NULL: not counting */
extern gboolean metrics_by_pid;             /* alone: label with the pid */

/* The routes by index, as metrics_index_routes() found them; read-only
 * once acceptor threads run. */
extern const struct route *metrics_routes_seen[METRICS_MAX_ROUTES];
extern int metrics_nroutes;

/* Indexes the routes of GROUPS then TEST_GROUPS (NULL-terminated lists of
 * tables) in the order route_find tries them: the same order in every
 * process of one configuration, so that one index is one route in every
 * slot. */
void metrics_index_routes(const struct route *const *groups, const struct route *const *test_groups);

#define metrics_add(p, v) __atomic_fetch_add((p), (v), __ATOMIC_RELAXED)
#define metrics_load(p) __atomic_load_n((p), __ATOMIC_RELAXED)
#define metrics_store(p, v) __atomic_store_n((p), (v), __ATOMIC_RELAXED)


#endif
