/* Rate limiting: the sliding log against a fake clock (in memory and in the
 * Lua script on a real Redis), RATE_LIMITS parsing, CIDR matching and the
 * X-Forwarded-For walk. */
#include "autoconfig.h"

#include <string.h>
#include <unistd.h>

#include "clientaddr.h"
#include "config.h"
#include "log.h"
#include "ratelimit.h"
#include "redis.h"

static struct ratelimit *
new_limiter(gboolean enabled, const char *spec, const char *proxies)
{
	struct config cfg;
	struct ratelimit *rl;
	char *cause = NULL;

	memset(&cfg, 0, sizeof cfg);
	cfg.rate_limit_enabled = enabled;
	cfg.rate_limits = (char *)spec;
	cfg.trusted_proxies = (char *)proxies;
	rl = ratelimit_new(&cfg, &cause);
	if (rl == NULL)
		g_error("ratelimit_new: %s", cause);
	return rl;
}

static char *
new_limiter_error(const char *spec, const char *proxies)
{
	struct config cfg;
	struct ratelimit *rl;
	char *cause = NULL;

	memset(&cfg, 0, sizeof cfg);
	cfg.rate_limit_enabled = TRUE;
	cfg.rate_limits = (char *)spec;
	cfg.trusted_proxies = (char *)proxies;
	rl = ratelimit_new(&cfg, &cause);
	g_assert_null(rl);
	g_assert_nonnull(cause);
	return cause;
}

static void
test_defaults(void)
{
	static const struct { const char *name; int limit; } guide[] = {
		{ "login_oauth", 10 }, { "login_email", 5 }, { "signup_email", 3 },
		{ "forgot_password", 3 }, { "reset_password", 5 }, { "verify_email", 5 },
		{ "sign_url", 20 }, { "create_podcast", 10 }, { "get_podcast", 100 },
		{ "list_podcasts", 50 }, { "delete_podcast", 100 }, { "get_credits", 100 },
		{ "health", 1000 },
	};
	struct ratelimit *rl = new_limiter(TRUE, "", "");

	for (size_t i = 0; i < G_N_ELEMENTS(guide); i++) {
		const struct ratelimit_rule *rule = ratelimit_rule(rl, guide[i].name);

		g_assert_nonnull(rule);
		g_assert_cmpint(rule->limit, ==, guide[i].limit);
		g_assert_cmpint(rule->period_ms, ==, 3600 * 1000);
	}
	g_assert_null(ratelimit_rule(rl, "no_such_route"));
	g_assert_null(ratelimit_rule(rl, NULL));
	ratelimit_free(rl);
	ratelimit_free(NULL);
}

static void
test_overrides(void)
{
	struct ratelimit *rl = new_limiter(TRUE,
	    " create_podcast=2/minute, health=off,get_podcast=7/Seconds ,sign_url=5/10second,"
	    "get_credits=3 per 2 hours,list_podcasts=1/day", NULL);

	g_assert_cmpint(ratelimit_rule(rl, "create_podcast")->limit, ==, 2);
	g_assert_cmpint(ratelimit_rule(rl, "create_podcast")->period_ms, ==, 60000);
	g_assert_null(ratelimit_rule(rl, "health"));
	g_assert_cmpint(ratelimit_rule(rl, "get_podcast")->limit, ==, 7);
	g_assert_cmpint(ratelimit_rule(rl, "get_podcast")->period_ms, ==, 1000);
	g_assert_cmpint(ratelimit_rule(rl, "sign_url")->limit, ==, 5);
	g_assert_cmpint(ratelimit_rule(rl, "sign_url")->period_ms, ==, 10000);
	g_assert_cmpint(ratelimit_rule(rl, "get_credits")->limit, ==, 3);
	g_assert_cmpint(ratelimit_rule(rl, "get_credits")->period_ms, ==, 2 * 3600000);
	g_assert_cmpint(ratelimit_rule(rl, "list_podcasts")->period_ms, ==, 86400000);
	/* Untouched entries keep the guide's values. */
	g_assert_cmpint(ratelimit_rule(rl, "login_email")->limit, ==, 5);
	ratelimit_free(rl);
}

static void
test_disabled(void)
{
	struct ratelimit *rl = new_limiter(FALSE, "health=5/second", "");

	g_assert_false(ratelimit_enabled(rl));
	g_assert_null(ratelimit_rule(rl, "health"));
	g_assert_null(ratelimit_rule(rl, "create_podcast"));
	ratelimit_free(rl);
}

static void
test_bad_specs(void)
{
	static const char *const bad[] = {
		"health", "health=", "health=10", "health=10/fortnight", "helth=10/hour",
		"health=0/hour", "health=-1/hour", "health=ten/hour", "health=10/0second",
		"health=10/hour,=off", "health=99999999999/hour",
	};

	char *cause = NULL;

	for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_assert_cmpint(ratelimit_check_spec(bad[i], &cause), ==, -1);
		g_assert_nonnull(cause);
		g_free(cause);
		cause = new_limiter_error(bad[i], "");
		g_assert_true(g_str_has_prefix(cause, "RATE_LIMITS "));
		g_free(cause);
	}
	g_assert_cmpint(ratelimit_check_spec("", NULL), ==, 0);
	g_assert_cmpint(ratelimit_check_spec("health=off, ,login_oauth=1/day", NULL), ==, 0);
	cause = new_limiter_error("", "10.0.0.0/33");
	g_assert_true(g_str_has_prefix(cause, "TRUSTED_PROXIES "));
	g_free(cause);
}

/* The config table checks both settings, so a typo stops start-up and
 * `--check-config` reports it, with every other problem. */
static void
test_config_checks(void)
{
	GPtrArray *problems = NULL;
	struct config *cfg;
	GString *all = g_string_new(NULL);

	g_setenv("RATE_LIMITS", "health=10/fortnight", TRUE);
	g_setenv("TRUSTED_PROXIES", "10.0.0.0/8, 300.1.1.1", TRUE);
	cfg = config_load(NULL, 0, &problems);
	g_assert_null(cfg);
	for (guint i = 0; i < problems->len; i++)
		g_string_append_printf(all, "%s\n", (char *)problems->pdata[i]);
	g_assert_nonnull(strstr(all->str, "RATE_LIMITS: health=\"10/fortnight\""));
	g_assert_nonnull(strstr(all->str, "TRUSTED_PROXIES: \"300.1.1.1\""));
	g_ptr_array_unref(problems);
	g_string_free(all, TRUE);

	g_setenv("RATE_LIMITS", "health=5/second,create_podcast=off", TRUE);
	g_setenv("TRUSTED_PROXIES", "10.0.0.0/8,::1", TRUE);
	cfg = config_load(NULL, 0, &problems);
	g_assert_nonnull(cfg);
	g_assert_cmpstr(cfg->rate_limits, ==, "health=5/second,create_podcast=off");
	config_free(cfg);
	g_unsetenv("RATE_LIMITS");
	g_unsetenv("TRUSTED_PROXIES");
}

/* The in-memory sliding log, 3 per 10 s, on a fake clock in ms. */
static void
test_local_window(void)
{
	struct ratelimit *rl = new_limiter(TRUE, "create_podcast=3/10second", "");
	const struct ratelimit_rule *rule = ratelimit_rule(rl, "create_podcast");
	struct ratelimit_result r;
	gint64 t0 = 1000000;

	ratelimit_local_hit(rl, rule, "k", t0, &r);
	g_assert_true(r.allowed);
	g_assert_true(r.local);
	g_assert_cmpint(r.limit, ==, 3);
	g_assert_cmpint(r.remaining, ==, 2);
	g_assert_cmpint(r.reset, ==, 10);
	g_assert_cmpint(r.window, ==, 10);
	g_assert_cmpint(r.retry_after, ==, 0);
	ratelimit_local_hit(rl, rule, "k", t0 + 1000, &r);
	g_assert_true(r.allowed);
	g_assert_cmpint(r.remaining, ==, 1);
	ratelimit_local_hit(rl, rule, "k", t0 + 2000, &r);
	g_assert_true(r.allowed);
	g_assert_cmpint(r.remaining, ==, 0);
	g_assert_cmpint(r.reset, ==, 8);
	/* The fourth in the window is refused until the first is 10 s old. */
	ratelimit_local_hit(rl, rule, "k", t0 + 3000, &r);
	g_assert_false(r.allowed);
	g_assert_cmpint(r.remaining, ==, 0);
	g_assert_cmpint(r.retry_after, ==, 7);
	/* Refusals are not counted: hammering does not push the time back. */
	for (int i = 0; i < 50; i++) {
		ratelimit_local_hit(rl, rule, "k", t0 + 3000 + i * 100, &r);
		g_assert_false(r.allowed);
	}
	ratelimit_local_hit(rl, rule, "k", t0 + 9999, &r);
	g_assert_false(r.allowed);
	g_assert_cmpint(r.retry_after, ==, 1);   /* 1 ms rounds up, never 0 */
	ratelimit_local_hit(rl, rule, "k", t0 + 10000, &r);
	g_assert_true(r.allowed);
	g_assert_cmpint(r.remaining, ==, 0);
	g_assert_cmpint(r.reset, ==, 1);         /* the t0+1000 entry leaves next */
	ratelimit_local_hit(rl, rule, "k", t0 + 10001, &r);
	g_assert_false(r.allowed);
	g_assert_cmpint(r.retry_after, ==, 1);
	/* Another client has its own window. */
	ratelimit_local_hit(rl, rule, "other", t0 + 10001, &r);
	g_assert_true(r.allowed);
	g_assert_cmpint(r.remaining, ==, 2);
	/* After a whole idle period everything is available again. */
	ratelimit_local_hit(rl, rule, "k", t0 + 60000, &r);
	g_assert_true(r.allowed);
	g_assert_cmpint(r.remaining, ==, 2);
	ratelimit_free(rl);
}

/* A fixed window lets 2x the limit through around its edge; a sliding log
 * must not, whatever the phase. */
static void
test_no_double_burst_at_edges(void)
{
	struct ratelimit *rl = new_limiter(TRUE, "health=10/minute", "");
	const struct ratelimit_rule *rule = ratelimit_rule(rl, "health");
	struct ratelimit_result r;
	int passed = 0;

	/* 10 at the very end of one minute, then a burst at the start of the next. */
	for (int i = 0; i < 10; i++) {
		ratelimit_local_hit(rl, rule, "edge", 59990 + i, &r);
		passed += r.allowed;
	}
	for (int i = 0; i < 20; i++) {
		ratelimit_local_hit(rl, rule, "edge", 60000 + i, &r);
		passed += r.allowed;
	}
	g_assert_cmpint(passed, ==, 10);
	ratelimit_free(rl);
}

/* Random arrivals: in every window of one period at most LIMIT pass, and a
 * request is refused only when LIMIT already passed in its window. */
static void
test_sliding_property(void)
{
	struct ratelimit *rl = new_limiter(TRUE, "get_podcast=5/second", "");
	const struct ratelimit_rule *rule = ratelimit_rule(rl, "get_podcast");
	GArray *accepted = g_array_new(FALSE, FALSE, sizeof(gint64));
	GRand *rand = g_rand_new_with_seed(42);
	gint64 now = 5000;

	for (int i = 0; i < 2000; i++) {
		struct ratelimit_result r;
		int in_window = 0;

		now += g_rand_int_range(rand, 0, 400);
		for (guint j = 0; j < accepted->len; j++)
			in_window += g_array_index(accepted, gint64, j) > now - 1000;
		ratelimit_local_hit(rl, rule, "p", now, &r);
		g_assert_cmpint(r.allowed, ==, in_window < 5);
		g_assert_cmpint(r.remaining, ==, 5 - in_window - (r.allowed ? 1 : 0));
		if (r.allowed)
			g_array_append_val(accepted, now);
	}
	g_rand_free(rand);
	g_array_unref(accepted);
	ratelimit_free(rl);
}

static gpointer
local_thread(gpointer data)
{
	struct ratelimit *rl = data;
	const struct ratelimit_rule *rule = ratelimit_rule(rl, "get_podcast");
	int passed = 0;

	for (int i = 0; i < 500; i++) {
		struct ratelimit_result r;

		ratelimit_local_hit(rl, rule, "shared", 1000, &r);
		passed += r.allowed;
	}
	return GINT_TO_POINTER(passed);
}

static void
test_local_threads(void)
{
	struct ratelimit *rl = new_limiter(TRUE, "get_podcast=1000/hour", "");
	GThread *threads[4];
	int passed = 0;

	for (int i = 0; i < 4; i++)
		threads[i] = g_thread_new("hit", local_thread, rl);
	for (int i = 0; i < 4; i++)
		passed += GPOINTER_TO_INT(g_thread_join(threads[i]));
	g_assert_cmpint(passed, ==, 1000);
	ratelimit_free(rl);
}

static void
test_local_sweep(void)
{
	struct ratelimit *rl = new_limiter(TRUE, "health=1000/second", "");
	const struct ratelimit_rule *rule = ratelimit_rule(rl, "health");
	struct ratelimit_result r;

	for (int i = 0; i < 100; i++) {
		char key[32];

		g_snprintf(key, sizeof key, "client-%d", i);
		ratelimit_local_hit(rl, rule, key, 0, &r);
	}
	g_assert_cmpuint(ratelimit_local_size(rl), ==, 100);
	/* Idle clients are forgotten once their window is empty. */
	for (int i = 0; i < 5000; i++)
		ratelimit_local_hit(rl, rule, "busy", 2000 + i, &r);
	g_assert_cmpuint(ratelimit_local_size(rl), ==, 1);
	ratelimit_free(rl);
}

static void
test_warn_once_a_minute(void)
{
	struct ratelimit *rl = new_limiter(TRUE, "", "");
	gint64 t = 5 * G_USEC_PER_SEC;

	g_assert_true(ratelimit_warn_redis_down(rl, "test: connection refused", t));
	g_assert_false(ratelimit_warn_redis_down(rl, "test: connection refused", t + 1));
	g_assert_false(ratelimit_warn_redis_down(rl, "test: connection refused", t + 59 * G_USEC_PER_SEC));
	g_assert_true(ratelimit_warn_redis_down(rl, "test: connection refused", t + 60 * G_USEC_PER_SEC));
	ratelimit_free(rl);
}

static void
test_cidr_parse(void)
{
	static const char *const bad[] = {
		"10.0.0.0/33", "2001:db8::/129", "10.0.0/8", "10.0.0.0/", "10.0.0.0/x",
		"example.com", "10.0.0.0/8,nope", "::ffff:10.0.0.0/64", "10.0.0.0/-1",
	};
	struct clientaddr_trust *t;
	char *cause = NULL;

	for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_assert_null(clientaddr_trust_new(bad[i], &cause));
		g_assert_nonnull(cause);
		g_clear_pointer(&cause, g_free);
		g_assert_cmpint(clientaddr_check_cidrs(bad[i], &cause), ==, -1);
		g_clear_pointer(&cause, g_free);
	}
	t = clientaddr_trust_new("", &cause);
	g_assert_nonnull(t);
	g_assert_false(clientaddr_trusted(t, "127.0.0.1"));
	clientaddr_trust_free(t);
	clientaddr_trust_free(NULL);
}

static void
test_cidr_match(void)
{
	struct clientaddr_trust *t = clientaddr_trust_new(
	    " 10.0.0.0/8, 192.168.1.128/25 ,172.16.0.5, 2001:db8:abcd::/48, ::1, ::ffff:100.64.0.0/106", NULL);

	g_assert_nonnull(t);
	g_assert_true(clientaddr_trusted(t, "10.0.0.1"));
	g_assert_true(clientaddr_trusted(t, "10.255.255.255"));
	g_assert_false(clientaddr_trusted(t, "11.0.0.0"));
	g_assert_false(clientaddr_trusted(t, "9.255.255.255"));
	g_assert_true(clientaddr_trusted(t, "192.168.1.128"));
	g_assert_true(clientaddr_trusted(t, "192.168.1.255"));
	g_assert_false(clientaddr_trusted(t, "192.168.1.127"));
	g_assert_true(clientaddr_trusted(t, "172.16.0.5"));
	g_assert_false(clientaddr_trusted(t, "172.16.0.4"));
	g_assert_true(clientaddr_trusted(t, "2001:db8:abcd:12::1"));
	g_assert_true(clientaddr_trusted(t, "2001:DB8:ABCD:ffff:ffff:ffff:ffff:ffff"));
	g_assert_false(clientaddr_trusted(t, "2001:db8:abce::1"));
	g_assert_true(clientaddr_trusted(t, "::1"));
	g_assert_false(clientaddr_trusted(t, "::2"));
	/* IPv4-mapped IPv6 is the same client as plain IPv4, both ways. */
	g_assert_true(clientaddr_trusted(t, "::ffff:10.1.2.3"));
	g_assert_true(clientaddr_trusted(t, "100.64.0.1"));
	g_assert_true(clientaddr_trusted(t, "100.127.255.255"));
	g_assert_false(clientaddr_trusted(t, "100.128.0.0"));
	/* IPv4 networks never match IPv6 addresses and vice versa. */
	g_assert_false(clientaddr_trusted(t, "::a00:1"));
	g_assert_false(clientaddr_trusted(t, "not an address"));
	g_assert_false(clientaddr_trusted(t, NULL));
	clientaddr_trust_free(t);

	t = clientaddr_trust_new("0.0.0.0/0", NULL);
	g_assert_true(clientaddr_trusted(t, "203.0.113.9"));
	g_assert_false(clientaddr_trusted(t, "2001:db8::1"));
	clientaddr_trust_free(t);
}

static void
check_resolve(const struct clientaddr_trust *t, const char *remote, const char *xff, const char *want)
{
	char *got = clientaddr_resolve(t, remote, xff);

	g_assert_cmpstr(got, ==, want);
	g_free(got);
}

static void
test_xff_walk(void)
{
	struct clientaddr_trust *none = clientaddr_trust_new("", NULL);
	struct clientaddr_trust *lb = clientaddr_trust_new("127.0.0.1/32,10.0.0.0/8,fd00::/8", NULL);

	/* No trusted proxies: X-Forwarded-For is ignored entirely. */
	check_resolve(none, "203.0.113.7", "1.1.1.1", "203.0.113.7");
	check_resolve(none, "203.0.113.7", NULL, "203.0.113.7");
	/* A peer that is not a trusted proxy cannot speak for anyone. */
	check_resolve(lb, "203.0.113.7", "1.1.1.1", "203.0.113.7");
	/* One trusted hop: the entry it appended is the client. */
	check_resolve(lb, "127.0.0.1", "198.51.100.4", "198.51.100.4");
	check_resolve(lb, "127.0.0.1", NULL, "127.0.0.1");
	check_resolve(lb, "127.0.0.1", "", "127.0.0.1");
	/* A forged left-most entry is never reached. */
	check_resolve(lb, "127.0.0.1", "6.6.6.6, 198.51.100.4", "198.51.100.4");
	check_resolve(lb, "127.0.0.1", "6.6.6.6,7.7.7.7,198.51.100.4", "198.51.100.4");
	/* Several trusted hops are skipped from the right. */
	check_resolve(lb, "127.0.0.1", "6.6.6.6, 198.51.100.4, 10.1.1.1, 10.2.2.2", "198.51.100.4");
	/* ... and a forged trusted-looking entry left of the client changes nothing. */
	check_resolve(lb, "127.0.0.1", "10.9.9.9, 198.51.100.4, 10.2.2.2", "198.51.100.4");
	/* Every hop trusted: the left-most is as far as we can see. */
	check_resolve(lb, "127.0.0.1", "10.3.3.3, 10.2.2.2", "10.3.3.3");
	/* Garbage stops the walk at the proxy that passed it on. */
	check_resolve(lb, "127.0.0.1", "198.51.100.4, garbage", "127.0.0.1");
	check_resolve(lb, "127.0.0.1", "garbage, 10.2.2.2", "10.2.2.2");
	check_resolve(lb, "127.0.0.1", "unknown", "127.0.0.1");
	/* Ports and brackets as some proxies write them. */
	check_resolve(lb, "127.0.0.1", "198.51.100.4:5555", "198.51.100.4");
	check_resolve(lb, "127.0.0.1", "[2001:db8::7]:443", "2001:db8::7");
	check_resolve(lb, "127.0.0.1", "[2001:db8::7]", "2001:db8::7");
	/* IPv6, canonicalised so spellings of one address share a bucket. */
	check_resolve(lb, "fd00::1", "2001:DB8:0:0::7", "2001:db8::7");
	check_resolve(lb, "::ffff:127.0.0.1", "6.6.6.6, 2001:db8::8, fd12::3", "2001:db8::8");
	check_resolve(none, "2001:0db8::0001", NULL, "2001:db8::1");
	check_resolve(none, "::ffff:198.51.100.4", NULL, "198.51.100.4");
	/* A peer that is not an IP address (unix socket) stays as it is. */
	check_resolve(lb, "", "1.2.3.4", "unknown");
	check_resolve(lb, NULL, "1.2.3.4", "unknown");
	check_resolve(lb, "unix:", "1.2.3.4", "unix:");
	clientaddr_trust_free(none);
	clientaddr_trust_free(lb);
}

static void
test_bucket(void)
{
	char *b;

	b = clientaddr_bucket("198.51.100.4");
	g_assert_cmpstr(b, ==, "198.51.100.4");
	g_free(b);
	b = clientaddr_bucket("2001:db8:1:2:aaaa:bbbb:cccc:dddd");
	g_assert_cmpstr(b, ==, "2001:db8:1:2::/64");
	g_free(b);
	b = clientaddr_bucket("2001:db8:1:2::9");
	g_assert_cmpstr(b, ==, "2001:db8:1:2::/64");
	g_free(b);
	b = clientaddr_bucket("unknown");
	g_assert_cmpstr(b, ==, "unknown");
	g_free(b);
}

/* --- the Lua script on a real Redis --- */

static redisContext *
test_redis(void)
{
	const char *url = g_getenv("PP_TEST_REDIS_URL");
	redisContext *c;
	char *cause = NULL;

	if (url == NULL) {
		g_test_skip("PP_TEST_REDIS_URL is not set (script/test sets it)");
		return NULL;
	}
	c = redis_connect(url, 2000, &cause);
	if (c == NULL)
		g_error("%s", cause);
	return c;
}

static char *
test_key(const char *what)
{
	return g_strdup_printf("pp:rl:test:%s:%d:%" G_GINT64_FORMAT, what, (int)getpid(),
	    g_get_real_time());
}

/* The same arrivals through the script and through the in-memory log give
 * the same answers, field by field. */
static void
test_redis_matches_local(void)
{
	redisContext *c = test_redis();
	struct ratelimit *rl;
	const struct ratelimit_rule *rule;
	GRand *rand;
	char *key;
	gint64 now = 1700000000000;

	if (c == NULL)
		return;
	rl = new_limiter(TRUE, "get_podcast=4/2second", "");
	rule = ratelimit_rule(rl, "get_podcast");
	key = test_key("same");
	rand = g_rand_new_with_seed(7);
	for (int i = 0; i < 300; i++) {
		struct ratelimit_result a, b;
		char *cause = NULL;

		now += g_rand_int_range(rand, 0, 900);
		if (ratelimit_redis_hit(rl, c, rule, key, now, &a, &cause) != 0)
			g_error("%s", cause);
		ratelimit_local_hit(rl, rule, key, now, &b);
		g_assert_false(a.local);
		g_assert_cmpint(a.allowed, ==, b.allowed);
		g_assert_cmpint(a.remaining, ==, b.remaining);
		g_assert_cmpint(a.reset, ==, b.reset);
		g_assert_cmpint(a.retry_after, ==, b.retry_after);
		g_assert_cmpint(a.limit, ==, 4);
	}
	g_rand_free(rand);
	freeReplyObject(redisCommand(c, "DEL %s", key));
	g_free(key);
	ratelimit_free(rl);
	redisFree(c);
}

/* On Redis's own clock, with the key's lifetime bounded by the period. */
static void
test_redis_clock(void)
{
	redisContext *c = test_redis();
	struct ratelimit *rl;
	const struct ratelimit_rule *rule;
	struct ratelimit_result r;
	redisReply *ttl;
	char *key, *cause = NULL;

	if (c == NULL)
		return;
	rl = new_limiter(TRUE, "create_podcast=3/hour", "");
	rule = ratelimit_rule(rl, "create_podcast");
	key = test_key("clock");
	for (int i = 0; i < 3; i++) {
		g_assert_cmpint(ratelimit_redis_hit(rl, c, rule, key, -1, &r, &cause), ==, 0);
		g_assert_true(r.allowed);
		g_assert_cmpint(r.remaining, ==, 2 - i);
	}
	g_assert_cmpint(ratelimit_redis_hit(rl, c, rule, key, -1, &r, &cause), ==, 0);
	g_assert_false(r.allowed);
	g_assert_cmpint(r.retry_after, >, 3500);
	g_assert_cmpint(r.retry_after, <=, 3600);
	ttl = redisCommand(c, "PTTL %s", key);
	g_assert_cmpint(ttl->type, ==, REDIS_REPLY_INTEGER);
	g_assert_cmpint(ttl->integer, >, 3500 * 1000);
	g_assert_cmpint(ttl->integer, <=, 3600 * 1000);
	freeReplyObject(ttl);
	freeReplyObject(redisCommand(c, "DEL %s", key));
	g_free(key);
	ratelimit_free(rl);
	redisFree(c);
}

struct redis_thread {
	struct ratelimit *rl;
	const char *key;
	int passed;
};

static gpointer
redis_thread(gpointer data)
{
	struct redis_thread *rt = data;
	const struct ratelimit_rule *rule = ratelimit_rule(rt->rl, "list_podcasts");
	redisContext *c = redis_connect(g_getenv("PP_TEST_REDIS_URL"), 2000, NULL);

	g_assert_nonnull(c);
	for (int i = 0; i < 60; i++) {
		struct ratelimit_result r;
		char *cause = NULL;

		if (ratelimit_redis_hit(rt->rl, c, rule, rt->key, -1, &r, &cause) != 0)
			g_error("%s", cause);
		rt->passed += r.allowed;
	}
	redisFree(c);
	return NULL;
}

/* Four connections racing on one key: exactly the limit passes. */
static void
test_redis_atomic(void)
{
	redisContext *c = test_redis();
	struct ratelimit *rl;
	struct redis_thread rt[4];
	GThread *threads[4];
	char *key;
	int passed = 0;

	if (c == NULL)
		return;
	rl = new_limiter(TRUE, "list_podcasts=100/hour", "");
	key = test_key("atomic");
	for (int i = 0; i < 4; i++) {
		rt[i] = (struct redis_thread){ rl, key, 0 };
		threads[i] = g_thread_new("redis", redis_thread, &rt[i]);
	}
	for (int i = 0; i < 4; i++) {
		g_thread_join(threads[i]);
		passed += rt[i].passed;
	}
	g_assert_cmpint(passed, ==, 100);
	freeReplyObject(redisCommand(c, "DEL %s", key));
	g_free(key);
	ratelimit_free(rl);
	redisFree(c);
}

/* Once Redis has refused a client, this process refuses it without asking
 * again until its oldest request leaves the window. */
static void
test_redis_refusal_remembered(void)
{
	redisContext *c = test_redis();
	struct ratelimit *rl;
	const struct ratelimit_rule *rule;
	struct ratelimit_result r;
	char *bucket, *key, *cause = NULL;

	if (c == NULL)
		return;
	rl = new_limiter(TRUE, "verify_email=2/hour", "");
	rule = ratelimit_rule(rl, "verify_email");
	bucket = g_strdup_printf("198.51.100.%d", g_random_int_range(1, 255));
	key = g_strdup_printf("pp:rl:verify_email:%s", bucket);
	freeReplyObject(redisCommand(c, "DEL %s", key));
	for (int i = 0; i < 2; i++) {
		g_assert_cmpint(ratelimit_hit(rl, c, rule, bucket, &r, &cause), ==, 0);
		g_assert_true(r.allowed);
	}
	g_assert_cmpint(ratelimit_hit(rl, c, rule, bucket, &r, &cause), ==, 0);
	g_assert_false(r.allowed);
	g_assert_false(r.local);
	/* Redis forgets the client; this process still knows it is refused,
	 * so it did not ask. */
	freeReplyObject(redisCommand(c, "DEL %s", key));
	g_assert_cmpint(ratelimit_hit(rl, c, rule, bucket, &r, &cause), ==, 0);
	g_assert_false(r.allowed);
	g_assert_false(r.local);
	g_assert_cmpint(r.remaining, ==, 0);
	g_assert_cmpint(r.retry_after, >, 3500);
	g_assert_cmpint(r.retry_after, <=, 3600);
	g_assert_cmpint(r.reset, ==, r.retry_after);
	/* A fresh process (a new limiter) asks Redis, which now says yes. */
	ratelimit_free(rl);
	rl = new_limiter(TRUE, "verify_email=2/hour", "");
	g_assert_cmpint(ratelimit_hit(rl, c, ratelimit_rule(rl, "verify_email"), bucket, &r, &cause), ==, 0);
	g_assert_true(r.allowed);
	freeReplyObject(redisCommand(c, "DEL %s", key));
	g_free(key);
	g_free(bucket);
	ratelimit_free(rl);
	redisFree(c);
}

/* An error reply (here a key of the wrong type): counted in memory, and the
 * connection is kept, since it is still in step. */
static void
test_redis_error_reply(void)
{
	redisContext *c = test_redis();
	struct ratelimit *rl;
	struct ratelimit_result r;
	redisReply *pong;
	char *bucket, *key, *cause = NULL;

	if (c == NULL)
		return;
	rl = new_limiter(TRUE, "signup_email=1/hour", "");
	bucket = g_strdup_printf("wrongtype-%d", (int)getpid());
	key = g_strdup_printf("pp:rl:signup_email:%s", bucket);
	freeReplyObject(redisCommand(c, "SET %s x EX 60", key));
	g_assert_cmpint(ratelimit_hit(rl, c, ratelimit_rule(rl, "signup_email"), bucket, &r, &cause), ==, 1);
	g_assert_nonnull(strstr(cause, "WRONGTYPE"));
	g_clear_pointer(&cause, g_free);
	g_assert_true(r.allowed);
	g_assert_true(r.local);
	pong = redisCommand(c, "PING");
	g_assert_nonnull(pong);
	g_assert_cmpstr(pong->str, ==, "PONG");
	freeReplyObject(pong);
	freeReplyObject(redisCommand(c, "DEL %s", key));
	g_free(key);
	g_free(bucket);
	ratelimit_free(rl);
	redisFree(c);
}

/* A dead connection: counted in memory, and the caller is told. */
static void
test_redis_down_falls_back(void)
{
	struct ratelimit *rl = new_limiter(TRUE, "health=2/hour", "");
	const struct ratelimit_rule *rule = ratelimit_rule(rl, "health");
	struct timeval tv = { 0, 200000 };
	redisContext *c;
	struct ratelimit_result r;
	char *cause = NULL;

	/* Port 1: nothing listens there, so the context comes back failed. */
	c = redisConnectWithTimeout("127.0.0.1", 1, tv);
	g_assert_nonnull(c);
	g_assert_cmpint(ratelimit_hit(rl, c, rule, "198.51.100.1", &r, &cause), ==, -1);
	g_assert_cmpint(c->err, !=, 0);
	g_assert_nonnull(cause);
	g_clear_pointer(&cause, g_free);
	g_assert_true(r.allowed);
	g_assert_true(r.local);
	g_assert_cmpint(ratelimit_hit(rl, NULL, rule, "198.51.100.1", &r, &cause), ==, 0);
	g_assert_true(r.allowed);
	/* Within a second of the failure Redis is not even asked: the dead
	 * context is not touched and no error comes back. */
	g_assert_cmpint(ratelimit_hit(rl, c, rule, "198.51.100.1", &r, &cause), ==, 0);
	g_assert_null(cause);
	g_assert_false(r.allowed);
	g_assert_true(r.local);
	g_assert_cmpint(r.retry_after, >, 3500);
	redisFree(c);
	ratelimit_free(rl);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	log_init("test-ratelimit");
	log_set_level(LOG_ERROR);
	g_test_add_func("/ratelimit/defaults", test_defaults);
	g_test_add_func("/ratelimit/overrides", test_overrides);
	g_test_add_func("/ratelimit/disabled", test_disabled);
	g_test_add_func("/ratelimit/bad-specs", test_bad_specs);
	g_test_add_func("/ratelimit/config-checks", test_config_checks);
	g_test_add_func("/ratelimit/local/window", test_local_window);
	g_test_add_func("/ratelimit/local/no-double-burst", test_no_double_burst_at_edges);
	g_test_add_func("/ratelimit/local/sliding-property", test_sliding_property);
	g_test_add_func("/ratelimit/local/threads", test_local_threads);
	g_test_add_func("/ratelimit/local/sweep", test_local_sweep);
	g_test_add_func("/ratelimit/warn-once-a-minute", test_warn_once_a_minute);
	g_test_add_func("/clientaddr/parse", test_cidr_parse);
	g_test_add_func("/clientaddr/match", test_cidr_match);
	g_test_add_func("/clientaddr/xff-walk", test_xff_walk);
	g_test_add_func("/clientaddr/bucket", test_bucket);
	g_test_add_func("/ratelimit/redis/matches-local", test_redis_matches_local);
	g_test_add_func("/ratelimit/redis/clock", test_redis_clock);
	g_test_add_func("/ratelimit/redis/atomic", test_redis_atomic);
	g_test_add_func("/ratelimit/redis/refusal-remembered", test_redis_refusal_remembered);
	g_test_add_func("/ratelimit/redis/error-reply", test_redis_error_reply);
	g_test_add_func("/ratelimit/redis/down-falls-back", test_redis_down_falls_back);
	return g_test_run();
}
