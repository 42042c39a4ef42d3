#include "autoconfig.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "clientaddr.h"
#include "config.h"
#include "log.h"
#include "ratelimit.h"
#include "redis.h"

#define RATELIMIT_KEY_PREFIX "pp:rl:"
#define RATELIMIT_WARN_EVERY_US (60 * G_USEC_PER_SEC)
/* After Redis fails, the process counts in memory for this long before it
 * asks again: a Redis that hangs rather than refuses would otherwise cost
 * every request REDIS_TIMEOUT_MS. */
#define RATELIMIT_REDIS_PAUSE_US G_USEC_PER_SEC
/* The in-process fallback forgets idle clients every so many requests, and
 * starts over rather than grow past a bound (a flood of distinct clients
 * while Redis is down must not eat the process's memory). */
#define RATELIMIT_LOCAL_SWEEP_EVERY 4096
#define RATELIMIT_LOCAL_MAX_BUCKETS 100000
#define RATELIMIT_BLOCKED_SWEEP_AT 10000

/* The deployment guide's table. Routes that do not exist yet (the sign-up
 * and log-in family) have their entries already. */
static const struct {
	const char *name;
	int limit;
	gint64 period_ms;
} ratelimit_defaults[] = {
	{ "login_oauth", 10, 3600000 },
	{ "login_email", 5, 3600000 },
	{ "signup_email", 3, 3600000 },
	{ "forgot_password", 3, 3600000 },
	{ "reset_password", 5, 3600000 },
	{ "verify_email", 5, 3600000 },
	/* Not in the guide: GoTrue's own default for token refreshes
	 * (GOTRUE_RATE_LIMIT_TOKEN_REFRESH, 150 per 5 minutes). */
	{ "token_refresh", 150, 300000 },
	{ "sign_url", 20, 3600000 },
	{ "create_podcast", 10, 3600000 },
	{ "get_podcast", 100, 3600000 },
	{ "list_podcasts", 50, 3600000 },
	{ "delete_podcast", 100, 3600000 },	/* not in the guide: get_podcast's figure */
	{ "get_credits", 100, 3600000 },
	/* Not in the guide: private feeds (doc/feeds.md). The feed and its
	 * episodes count per feed, not per client: a podcast app polls every
	 * hour or so, and a player asks for many ranges of one episode. */
	{ "manage_feed", 20, 3600000 },
	{ "feed", 120, 3600000 },
	{ "feed_media", 2000, 3600000 },
	{ "health", 1000, 3600000 },
	/* Not in the guide: the job dashboard (doc/dashboard.md) polls once
	 * a second per open page; its buttons are rarer. */
	{ "dashboard", 600, 60000 },
	{ "dashboard_action", 30, 60000 },
};

/* KEYS[1] the client's list of accepted request times (ms, oldest first).
 * ARGV: limit, period in ms, and optionally "now" in ms (tests only; else
 * Redis's clock, so that hosts with skewed clocks still agree).
 * Returns {allowed 0/1, requests in the window, ms until the oldest leaves,
 * ms until a rejected request would pass}. Old entries are popped from the
 * head: each is popped once, so the loop costs one step per request on
 * average; a list idle for a whole period has expired with its key. Every
 * redis.call costs time inside Redis's one thread, hence the few of them:
 * five when a request is accepted, three or four when refused. */
const char ratelimit_lua[] =
	"local key = KEYS[1]\n"
	"local limit = tonumber(ARGV[1])\n"
	"local period = tonumber(ARGV[2])\n"
	"local now = tonumber(ARGV[3])\n"
	"if not now then\n"
	"  local t = redis.call('TIME')\n"
	"  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
	"end\n"
	"local horizon = now - period\n"
	"local head = redis.call('LINDEX', key, 0)\n"
	"while head and tonumber(head) <= horizon do\n"
	"  redis.call('LPOP', key)\n"
	"  head = redis.call('LINDEX', key, 0)\n"
	"end\n"
	"local count = 0\n"
	"if head then count = redis.call('LLEN', key) end\n"
	"if count < limit then\n"
	"  redis.call('RPUSH', key, string.format('%d', now))\n"
	"  redis.call('PEXPIRE', key, period)\n"
	"  if not head then head = now end\n"
	"  return {1, count + 1, tonumber(head) + period - now, 0}\n"
	"end\n"
	"local first = head\n"
	"if count > limit then first = redis.call('LINDEX', key, count - limit) end\n"
	"return {0, count, tonumber(head) + period - now, tonumber(first) + period - now}\n";

/* One client's accepted request times under one rule, in this process. */
struct ratelimit_window {
	gint64 period_ms;
	GArray *times;                  /* gint64 ms, oldest first */
};

struct ratelimit {
	gboolean enabled;
	GHashTable *rules;              /* name -> struct ratelimit_rule */
	struct clientaddr_trust *trust;
	char sha[41];                   /* SHA-1 of ratelimit_lua, for EVALSHA */
	_Atomic gint64 redis_pause_until_us;  /* monotonic; Redis not asked before */
	GMutex blocked_lock;            /* guards blocked */
	GHashTable *blocked;            /* key -> gint64 monotonic us it stays refused until */
	GMutex lock;                    /* guards everything below */
	GHashTable *local;              /* key -> struct ratelimit_window */
	guint local_hits;
	gint64 last_warning_us;
	gboolean warned_once;
};

static void
ratelimit_rule_free(gpointer p)
{
	struct ratelimit_rule *rule = p;

	g_free(rule->name);
	g_free(rule);
}

static void
ratelimit_window_free(gpointer p)
{
	struct ratelimit_window *w = p;

	g_array_unref(w->times);
	g_free(w);
}

gboolean
ratelimit_known(const char *name)
{
	if (name == NULL)
		return FALSE;
	for (size_t i = 0; i < G_N_ELEMENTS(ratelimit_defaults); i++) {
		if (strcmp(ratelimit_defaults[i].name, name) == 0)
			return TRUE;
	}
	return FALSE;
}

/* "N/unit", "N/Kunit", "N per K units": 0, or -1. */
static int
ratelimit_parse_rate(const char *text, int *limit, gint64 *period_ms)
{
	static const struct { const char *word; gint64 ms; } units[] = {
		{ "second", 1000 }, { "minute", 60000 }, { "hour", 3600000 }, { "day", 86400000 },
	};
	const char *p = text;
	char *end, *unit;
	gint64 count = 1, n;
	size_t len;

	errno = 0;
	n = g_ascii_strtoll(p, &end, 10);
	if (errno != 0 || end == p || n < 1 || n > G_MAXINT)
		return -1;
	p = end;
	while (g_ascii_isspace(*p))
		p++;
	if (*p == '/')
		p++;
	else if (g_ascii_strncasecmp(p, "per", 3) == 0)
		p += 3;
	else
		return -1;
	while (g_ascii_isspace(*p))
		p++;
	if (g_ascii_isdigit(*p)) {
		count = g_ascii_strtoll(p, &end, 10);
		if (errno != 0 || count < 1 || count > 1000000)
			return -1;
		p = end;
		while (g_ascii_isspace(*p))
			p++;
	}
	unit = g_ascii_strdown(p, -1);
	len = strlen(unit);
	if (len > 1 && unit[len - 1] == 's')
		unit[len - 1] = '\0';
	for (size_t i = 0; i < G_N_ELEMENTS(units); i++) {
		if (strcmp(unit, units[i].word) == 0) {
			*limit = (int)n;
			*period_ms = count * units[i].ms;
			g_free(unit);
			return 0;
		}
	}
	g_free(unit);
	return -1;
}

/* Applies SPEC to RULES (NULL: only checks it): 0, or -1 and *cause. */
static int
ratelimit_apply_spec(const char *spec, GHashTable *rules, char **cause)
{
	char **items = g_strsplit(spec != NULL ? spec : "", ",", -1);
	int rc = -1;

	for (int i = 0; items[i] != NULL; i++) {
		char *item = g_strstrip(items[i]), *eq, *name, *value;
		struct ratelimit_rule *rule;
		int limit = 0;
		gint64 period_ms = 0;
		gboolean off;

		if (*item == '\0')
			continue;
		eq = strchr(item, '=');
		if (eq == NULL) {
			*cause = g_strdup_printf("\"%s\": expected name=N/unit or name=off", item);
			goto out;
		}
		*eq = '\0';
		name = g_strstrip(item);
		value = g_strstrip(eq + 1);
		if (!ratelimit_known(name)) {
			GString *known = g_string_new(NULL);

			for (size_t k = 0; k < G_N_ELEMENTS(ratelimit_defaults); k++)
				g_string_append_printf(known, "%s%s", k > 0 ? ", " : "", ratelimit_defaults[k].name);
			*cause = g_strdup_printf("\"%s\": no such limit (known: %s)", name, known->str);
			g_string_free(known, TRUE);
			goto out;
		}
		off = g_ascii_strcasecmp(value, "off") == 0;
		if (!off && ratelimit_parse_rate(value, &limit, &period_ms) != 0) {
			*cause = g_strdup_printf("%s=\"%s\": expected N/unit (second, minute, hour, day) "
			    "or off", name, value);
			goto out;
		}
		if (rules == NULL)
			continue;
		rule = g_hash_table_lookup(rules, name);
		rule->off = off;
		if (!off) {
			rule->limit = limit;
			rule->period_ms = period_ms;
		}
	}
	rc = 0;
out:
	g_strfreev(items);
	return rc;
}

int
ratelimit_check_spec(const char *spec, char **cause)
{
	return ratelimit_apply_spec(spec, NULL, cause);
}

struct ratelimit *
ratelimit_new(const struct config *cfg, char **cause)
{
	struct ratelimit *rl = g_new0(struct ratelimit, 1);
	char *why = NULL, *sha;

	g_mutex_init(&rl->lock);
	g_mutex_init(&rl->blocked_lock);
	rl->blocked = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	rl->enabled = cfg->rate_limit_enabled;
	rl->rules = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, ratelimit_rule_free);
	rl->local = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, ratelimit_window_free);
	for (size_t i = 0; i < G_N_ELEMENTS(ratelimit_defaults); i++) {
		struct ratelimit_rule *rule = g_new0(struct ratelimit_rule, 1);

		rule->name = g_strdup(ratelimit_defaults[i].name);
		rule->limit = ratelimit_defaults[i].limit;
		rule->period_ms = ratelimit_defaults[i].period_ms;
		g_hash_table_insert(rl->rules, rule->name, rule);
	}
	if (ratelimit_apply_spec(cfg->rate_limits, rl->rules, &why) != 0) {
		*cause = g_strdup_printf("RATE_LIMITS %s", why);
		goto fail;
	}
	if ((rl->trust = clientaddr_trust_new(cfg->trusted_proxies, &why)) == NULL) {
		*cause = g_strdup_printf("TRUSTED_PROXIES %s", why);
		goto fail;
	}
	sha = g_compute_checksum_for_string(G_CHECKSUM_SHA1, ratelimit_lua, -1);
	g_strlcpy(rl->sha, sha, sizeof rl->sha);
	g_free(sha);
	return rl;
fail:
	g_free(why);
	ratelimit_free(rl);
	return NULL;
}

void
ratelimit_free(struct ratelimit *rl)
{
	if (rl == NULL)
		return;
	g_hash_table_unref(rl->rules);
	g_hash_table_unref(rl->local);
	g_hash_table_unref(rl->blocked);
	clientaddr_trust_free(rl->trust);
	g_mutex_clear(&rl->lock);
	g_mutex_clear(&rl->blocked_lock);
	g_free(rl);
}

gboolean
ratelimit_enabled(const struct ratelimit *rl)
{
	return rl != NULL && rl->enabled;
}

const struct clientaddr_trust *
ratelimit_trust(const struct ratelimit *rl)
{
	return rl->trust;
}

const struct ratelimit_rule *
ratelimit_rule(const struct ratelimit *rl, const char *name)
{
	const struct ratelimit_rule *rule;

	if (!ratelimit_enabled(rl) || name == NULL)
		return NULL;
	rule = g_hash_table_lookup(rl->rules, name);
	return rule != NULL && !rule->off ? rule : NULL;
}

/* Whole seconds, rounded up: a client told to wait 0 s while 300 ms
 * remain would only be refused again. */
static int
ratelimit_ceil_seconds(gint64 ms)
{
	if (ms <= 0)
		return 0;
	return (int)MIN((ms + 999) / 1000, (gint64)G_MAXINT);
}

static void
ratelimit_fill(const struct ratelimit_rule *rule, gboolean allowed, gint64 count, gint64 reset_ms,
    gint64 retry_ms, struct ratelimit_result *out)
{
	out->allowed = allowed;
	out->limit = rule->limit;
	out->remaining = count >= rule->limit ? 0 : rule->limit - (int)count;
	out->reset = ratelimit_ceil_seconds(reset_ms);
	out->retry_after = allowed ? 0 : MAX(1, ratelimit_ceil_seconds(retry_ms));
	out->retry_after_ms = allowed ? 0 : MAX(1, retry_ms);
	out->window = ratelimit_ceil_seconds(rule->period_ms);
	out->local = FALSE;
}

int
ratelimit_redis_hit(struct ratelimit *rl, redisContext *redis, const struct ratelimit_rule *rule,
    const char *key, gint64 now_ms, struct ratelimit_result *out, char **cause)
{
	char limit[24], period[24], now[24];
	const char *argv[7];
	redisReply *reply;
	char *err = NULL;
	int argc = 0, rc = -1;

	g_snprintf(limit, sizeof limit, "%d", rule->limit);
	g_snprintf(period, sizeof period, "%" G_GINT64_FORMAT, rule->period_ms);
	g_snprintf(now, sizeof now, "%" G_GINT64_FORMAT, now_ms);
	argv[argc++] = "EVALSHA";
	argv[argc++] = rl->sha;
	argv[argc++] = "1";
	argv[argc++] = key;
	argv[argc++] = limit;
	argv[argc++] = period;
	if (now_ms >= 0)
		argv[argc++] = now;
	reply = redisCommandArgv(redis, argc, argv, NULL);
	/* A Redis that restarted or flushed its script cache: send the body,
	 * which caches it again for the next EVALSHA. */
	if (reply != NULL && reply->type == REDIS_REPLY_ERROR && g_str_has_prefix(reply->str, "NOSCRIPT")) {
		freeReplyObject(reply);
		argv[0] = "EVAL";
		argv[1] = ratelimit_lua;
		reply = redisCommandArgv(redis, argc, argv, NULL);
	}
	if ((err = redis_reply_error(redis, reply)) != NULL) {
		*cause = g_strdup_printf("rate limit script: %s", err);
		goto out;
	}
	if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 4) {
		*cause = g_strdup("rate limit script: unexpected reply");
		goto out;
	}
	for (size_t i = 0; i < 4; i++) {
		if (reply->element[i]->type != REDIS_REPLY_INTEGER) {
			*cause = g_strdup("rate limit script: unexpected reply");
			goto out;
		}
	}
	ratelimit_fill(rule, reply->element[0]->integer == 1, reply->element[1]->integer,
	    reply->element[2]->integer, reply->element[3]->integer, out);
	rc = 0;
out:
	g_free(err);
	if (reply != NULL)
		freeReplyObject(reply);
	return rc;
}

/* Drops windows no request of which is still inside its period. Called
 * with the lock held. */
static void
ratelimit_local_sweep(struct ratelimit *rl, gint64 now_ms)
{
	GHashTableIter it;
	gpointer value;

	g_hash_table_iter_init(&it, rl->local);
	while (g_hash_table_iter_next(&it, NULL, &value)) {
		struct ratelimit_window *w = value;

		if (w->times->len == 0 ||
		    g_array_index(w->times, gint64, w->times->len - 1) <= now_ms - w->period_ms)
			g_hash_table_iter_remove(&it);
	}
	if (g_hash_table_size(rl->local) >= RATELIMIT_LOCAL_MAX_BUCKETS) {
		log_warn("rate limit: %u clients counted in memory while Redis is unreachable; "
		    "forgetting them all", g_hash_table_size(rl->local));
		g_hash_table_remove_all(rl->local);
	}
}

void
ratelimit_local_hit(struct ratelimit *rl, const struct ratelimit_rule *rule, const char *key,
    gint64 now_ms, struct ratelimit_result *out)
{
	gint64 horizon = now_ms - rule->period_ms, reset_ms, retry_ms = 0;
	gboolean allowed = FALSE;
	guint expired = 0;
	struct ratelimit_window *w;
	GArray *t;

	g_mutex_lock(&rl->lock);
	if (++rl->local_hits % RATELIMIT_LOCAL_SWEEP_EVERY == 0 ||
	    g_hash_table_size(rl->local) >= RATELIMIT_LOCAL_MAX_BUCKETS)
		ratelimit_local_sweep(rl, now_ms);
	w = g_hash_table_lookup(rl->local, key);
	if (w == NULL) {
		w = g_new0(struct ratelimit_window, 1);
		w->times = g_array_new(FALSE, FALSE, sizeof(gint64));
		g_hash_table_insert(rl->local, g_strdup(key), w);
	}
	w->period_ms = rule->period_ms;
	t = w->times;
	while (expired < t->len && g_array_index(t, gint64, expired) <= horizon)
		expired++;
	if (expired > 0)
		g_array_remove_range(t, 0, expired);
	if ((int)t->len < rule->limit) {
		g_array_append_val(t, now_ms);
		allowed = TRUE;
	}
	reset_ms = g_array_index(t, gint64, 0) + rule->period_ms - now_ms;
	if (!allowed)
		retry_ms = g_array_index(t, gint64, t->len - rule->limit) + rule->period_ms - now_ms;
	ratelimit_fill(rule, allowed, t->len, reset_ms, retry_ms, out);
	g_mutex_unlock(&rl->lock);
	out->local = TRUE;
}

guint
ratelimit_local_size(struct ratelimit *rl)
{
	guint n;

	g_mutex_lock(&rl->lock);
	n = g_hash_table_size(rl->local);
	g_mutex_unlock(&rl->lock);
	return n;
}

gboolean
ratelimit_warn_redis_down(struct ratelimit *rl, const char *cause, gint64 now_us)
{
	gboolean due;

	g_mutex_lock(&rl->lock);
	due = !rl->warned_once || now_us - rl->last_warning_us >= RATELIMIT_WARN_EVERY_US;
	if (due) {
		rl->warned_once = TRUE;
		rl->last_warning_us = now_us;
	}
	g_mutex_unlock(&rl->lock);
	if (due)
		log_warn("rate limit: Redis unreachable (%s); counting in this process only "
		    "(this warning repeats at most once a minute)", cause);
	return due;
}

/* A client Redis refused stays refused until its oldest counted request
 * leaves the window: other processes and hosts can only add requests,
 * never take one away. So until then it is refused here, without a round
 * trip, which is what keeps a flood cheap. */
static gboolean
ratelimit_blocked_check(struct ratelimit *rl, const struct ratelimit_rule *rule, const char *key,
    gint64 now_us, struct ratelimit_result *out)
{
	gint64 *until, left_ms = 0;

	g_mutex_lock(&rl->blocked_lock);
	until = g_hash_table_lookup(rl->blocked, key);
	if (until != NULL) {
		left_ms = (*until - now_us) / 1000;
		if (left_ms <= 0)
			g_hash_table_remove(rl->blocked, key);
	}
	g_mutex_unlock(&rl->blocked_lock);
	if (left_ms <= 0)
		return FALSE;
	ratelimit_fill(rule, FALSE, rule->limit, left_ms, left_ms, out);
	return TRUE;
}

static void
ratelimit_blocked_remember(struct ratelimit *rl, const char *key, gint64 until_us, gint64 now_us)
{
	GHashTableIter it;
	gpointer value;
	gint64 *until = g_new(gint64, 1);

	*until = until_us;
	g_mutex_lock(&rl->blocked_lock);
	if (g_hash_table_size(rl->blocked) >= RATELIMIT_BLOCKED_SWEEP_AT) {
		g_hash_table_iter_init(&it, rl->blocked);
		while (g_hash_table_iter_next(&it, NULL, &value)) {
			if (*(gint64 *)value <= now_us)
				g_hash_table_iter_remove(&it);
		}
		/* Still full: forgetting costs only round trips, never correctness. */
		if (g_hash_table_size(rl->blocked) >= RATELIMIT_BLOCKED_SWEEP_AT)
			g_hash_table_remove_all(rl->blocked);
	}
	g_hash_table_replace(rl->blocked, g_strdup(key), until);
	g_mutex_unlock(&rl->blocked_lock);
}

int
ratelimit_hit(struct ratelimit *rl, redisContext *redis, const struct ratelimit_rule *rule,
    const char *bucket, struct ratelimit_result *out, char **cause)
{
	char *key = g_strconcat(RATELIMIT_KEY_PREFIX, rule->name, ":", bucket, NULL);
	gint64 now_us = g_get_monotonic_time();
	int rc = 0;

	if (redis != NULL && ratelimit_blocked_check(rl, rule, key, now_us, out))
		goto out;
	if (now_us < atomic_load(&rl->redis_pause_until_us))
		redis = NULL;
	if (redis == NULL || ratelimit_redis_hit(rl, redis, rule, key, -1, out, cause) != 0) {
		/* The wall clock, as Redis's would be: a fallback window then
		 * means the same thing as a shared one. */
		ratelimit_local_hit(rl, rule, key, g_get_real_time() / 1000, out);
		if (redis == NULL)
			goto out;
		atomic_store(&rl->redis_pause_until_us, g_get_monotonic_time() + RATELIMIT_REDIS_PAUSE_US);
		/* An error reply leaves the connection in step; a failed read or
		 * write (hiredis sets err) does not. */
		rc = redis->err != 0 ? -1 : 1;
		goto out;
	}
	/* Measured from before the round trip, so it ends no later than
	 * Redis's own answer would. */
	if (!out->allowed)
		ratelimit_blocked_remember(rl, key, now_us + out->retry_after_ms * 1000, now_us);
out:
	g_free(key);
	return rc;
}
