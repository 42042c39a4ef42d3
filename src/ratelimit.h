/* Per-client rate limits shared by every responder process and host.
 *
 * A sliding log: a client may make LIMIT requests in any PERIOD; each
 * accepted request is remembered (its time, in a Redis list per route and
 * client) until it is PERIOD old. One Lua script does the whole check in
 * one round trip, atomically, on Redis's clock. Rejected requests are not
 * remembered, so hammering a closed door does not keep it closed. When
 * Redis cannot be reached the same algorithm runs in this process's memory,
 * so limits still hold per process. doc/ratelimit.md says why.
 *
 * Rules: the deployment guide's table (ratelimit.c) with RATE_LIMITS
 * overrides ("create_podcast=10/hour,health=off", units second, minute,
 * hour, day, optionally with a count: "5/10second"); RATE_LIMIT_ENABLED
 * false turns every rule off.
 *
 * Ownership: ratelimit_new() returns a limiter freed by ratelimit_free()
 * (NULL is harmless). It is safe to use from several threads at once; a
 * redisContext passed in belongs to the caller and is used by one thread.
 * Rules returned by ratelimit_rule() live as long as the limiter. */
#ifndef PP_RATELIMIT_H
#define PP_RATELIMIT_H

#include <glib.h>
#include <hiredis/hiredis.h>

struct config;
struct clientaddr_trust;
struct ratelimit;

struct ratelimit_rule {
	char *name;
	int limit;           /* requests per period, at least 1 */
	gint64 period_ms;
	gboolean off;
};

struct ratelimit_result {
	gboolean allowed;
	int limit;
	int remaining;       /* requests left in the window after this one */
	int reset;           /* seconds until the oldest counted request leaves the window */
	int retry_after;     /* seconds until a rejected request would pass; 0 when allowed */
	gint64 retry_after_ms;  /* the same in ms, not rounded */
	int window;          /* the rule's period in seconds (RateLimit-Policy w=) */
	gboolean local;      /* counted by this process alone (Redis unreachable) */
};

/* Rules from RATE_LIMITS over the defaults, RATE_LIMIT_ENABLED and the
 * TRUSTED_PROXIES list. NULL and *cause on a bad setting. */
struct ratelimit *ratelimit_new(const struct config *cfg, char **cause);
void ratelimit_free(struct ratelimit *rl);

/* The config table's check for RATE_LIMITS: 0, or -1 and *cause. */
int ratelimit_check_spec(const char *spec, char **cause);

gboolean ratelimit_enabled(const struct ratelimit *rl);
const struct clientaddr_trust *ratelimit_trust(const struct ratelimit *rl);
/* Whether NAME is in the table at all (on or off). */
gboolean ratelimit_known(const char *name);
/* The rule named NAME, or NULL when it is off, unknown or limits are disabled. */
const struct ratelimit_rule *ratelimit_rule(const struct ratelimit *rl, const char *name);

/* Counts one request by BUCKET (a client, see clientaddr_bucket()) against
 * RULE and fills OUT (always: the request is never failed). With REDIS (may
 * be NULL: counted in this process) in at most one round trip: 0. When
 * Redis fails, the request is counted in this process instead and *cause
 * says why: 1 after an error reply (the connection is still usable), -1
 * when the connection broke (the caller drops it). For a second after a
 * failure the process counts in memory without asking Redis (0). */
int ratelimit_hit(struct ratelimit *rl, redisContext *redis, const struct ratelimit_rule *rule,
    const char *bucket, struct ratelimit_result *out, char **cause);

/* Logs CAUSE as a warning unless one was logged in the last minute
 * (NOW_US monotonic). TRUE when it logged. */
gboolean ratelimit_warn_redis_down(struct ratelimit *rl, const char *cause, gint64 now_us);

/* The two halves of ratelimit_hit, exposed for tests. KEY is the whole
 * Redis key. NOW_MS < 0 means Redis's own clock (what production uses);
 * tests pass a fake one. */
int ratelimit_redis_hit(struct ratelimit *rl, redisContext *redis, const struct ratelimit_rule *rule,
    const char *key, gint64 now_ms, struct ratelimit_result *out, char **cause);
void ratelimit_local_hit(struct ratelimit *rl, const struct ratelimit_rule *rule, const char *key,
    gint64 now_ms, struct ratelimit_result *out);
/* Buckets the in-process fallback holds right now. */
guint ratelimit_local_size(struct ratelimit *rl);

/* The Lua script's source (for tests and for doc/ratelimit.md). */
extern const char ratelimit_lua[];

#endif
