/* The dashboard's credentials (fcgi/dashboard-auth.c): Basic against plain
 * and crypt(3) passwords, Bearer, what is missing or malformed, and the
 * CSRF token every process computes alike. */
#include "autoconfig.h"

#include <string.h>

#include "config.h"
#include "dashboard.h"

/* openssl passwd -6 -salt saltsalt 'pa:ss word' */
#define HASHED "$6$saltsalt$54T9v/kTyIMTpKydh.1ZufaHVxoZLrPIoM6FbtIP3mxaXXtm5JZCZ56WYkSICqdArq1ENE32/f5nbQH5N8JNy0"
#define TOKEN "a-dashboard-token-0123456789"

static struct dashboard_auth *
auth_for(const char *users, const char *token)
{
	struct config cfg;

	memset(&cfg, 0, sizeof cfg);
	cfg.dashboard_users = (char *)users;
	cfg.dashboard_token = (char *)token;
	return dashboard_auth_new(&cfg);
}

static char *
basic(const char *user_pass, gssize len)
{
	char *b64 = g_base64_encode((const guchar *)user_pass, len < 0 ? strlen(user_pass) : (gsize)len);
	char *out = g_strconcat("Basic ", b64, NULL);

	g_free(b64);
	return out;
}

static enum dashboard_auth_result
check(struct dashboard_auth *auth, const char *header, const char *want_who)
{
	char *who = NULL;
	enum dashboard_auth_result r = dashboard_auth_check(auth, header, &who);

	if (r == DASHBOARD_AUTH_OK)
		g_assert_cmpstr(who, ==, want_who);
	else
		g_assert_null(who);
	g_free(who);
	return r;
}

static void
test_off(void)
{
	g_assert_null(auth_for(NULL, NULL));
	dashboard_auth_free(NULL);
}

static void
test_basic(void)
{
	struct dashboard_auth *auth = auth_for("ops:plain pass, hashed:" HASHED, NULL);
	char *h;

	h = basic("ops:plain pass", -1);
	g_assert_cmpint(check(auth, h, "ops"), ==, DASHBOARD_AUTH_OK);
	g_free(h);
	/* The password may hold ':' (the first one ends the name). */
	for (int i = 0; i < 2; i++) {   /* the second time from the cache */
		h = basic("hashed:pa:ss word", -1);
		g_assert_cmpint(check(auth, h, "hashed"), ==, DASHBOARD_AUTH_OK);
		g_free(h);
	}
	/* "basic" in any case, spaces around. */
	h = basic("ops:plain pass", -1);
	memcpy(h, "bASIC", 5);
	g_assert_cmpint(check(auth, h, "ops"), ==, DASHBOARD_AUTH_OK);
	g_free(h);
	/* Wrong password, unknown user, a user's password for another,
	 * the hash itself as the password, a NUL inside, no colon. */
	const char *wrong[] = { "ops:plain", "nobody:plain pass", "hashed:plain pass", "ops:pa:ss word",
	    "hashed:" HASHED, "ops" };
	for (size_t i = 0; i < G_N_ELEMENTS(wrong); i++) {
		h = basic(wrong[i], -1);
		g_assert_cmpint(check(auth, h, NULL), ==, DASHBOARD_AUTH_WRONG);
		g_free(h);
	}
	h = basic("ops:plain pass\0x", 16);
	g_assert_cmpint(check(auth, h, NULL), ==, DASHBOARD_AUTH_WRONG);
	g_free(h);
	g_assert_cmpint(check(auth, "Basic ", NULL), ==, DASHBOARD_AUTH_WRONG);
	g_assert_cmpint(check(auth, "Basic !!!not base64", NULL), ==, DASHBOARD_AUTH_WRONG);
	/* No token configured: a bearer is wrong; other schemes are missing. */
	g_assert_cmpint(check(auth, "Bearer " TOKEN, NULL), ==, DASHBOARD_AUTH_WRONG);
	g_assert_cmpint(check(auth, NULL, NULL), ==, DASHBOARD_AUTH_MISSING);
	g_assert_cmpint(check(auth, "Digest username=\"ops\"", NULL), ==, DASHBOARD_AUTH_MISSING);
	g_assert_cmpstr(dashboard_auth_challenge(auth), ==, "Basic realm=\"Podcast Pro dashboard\", charset=\"UTF-8\"");
	dashboard_auth_free(auth);
}

/* A '$' value libcrypt does not know: nobody signs in with it, not even
 * with the value itself (and start-up says so in the log). */
static void
test_unknown_hash(void)
{
	struct dashboard_auth *auth = auth_for("odd:$nope$abc", NULL);
	char *h = basic("odd:$nope$abc", -1);

	g_assert_cmpint(check(auth, h, NULL), ==, DASHBOARD_AUTH_WRONG);
	g_free(h);
	h = basic("odd:", -1);
	g_assert_cmpint(check(auth, h, NULL), ==, DASHBOARD_AUTH_WRONG);
	g_free(h);
	dashboard_auth_free(auth);
}

static void
test_bearer(void)
{
	struct dashboard_auth *auth = auth_for(NULL, TOKEN);
	char *h = basic("ops:" TOKEN, -1);

	g_assert_cmpint(check(auth, "Bearer " TOKEN, "token"), ==, DASHBOARD_AUTH_OK);
	g_assert_cmpint(check(auth, "bearer  " TOKEN, "token"), ==, DASHBOARD_AUTH_OK);
	g_assert_cmpint(check(auth, "Bearer " TOKEN "x", NULL), ==, DASHBOARD_AUTH_WRONG);
	g_assert_cmpint(check(auth, "Bearer a-dashboard-token", NULL), ==, DASHBOARD_AUTH_WRONG);
	/* No users configured: Basic is wrong whatever it says. */
	g_assert_cmpint(check(auth, h, NULL), ==, DASHBOARD_AUTH_WRONG);
	g_assert_cmpstr(dashboard_auth_challenge(auth), ==, "Bearer realm=\"Podcast Pro dashboard\"");
	g_free(h);
	dashboard_auth_free(auth);
}

static void
test_csrf(void)
{
	struct dashboard_auth *a = auth_for("ops:pw", TOKEN), *b = auth_for("ops:pw", TOKEN);
	struct dashboard_auth *other = auth_for("ops:pw2", TOKEN);
	char *ta = dashboard_auth_csrf(a, "Basic b3BzOnB3"), *tb = dashboard_auth_csrf(b, "Basic b3BzOnB3");
	char *t2 = dashboard_auth_csrf(a, "Bearer " TOKEN), *to = dashboard_auth_csrf(other, "Basic b3BzOnB3");

	/* Two processes agree; other credentials or settings disagree. */
	g_assert_cmpuint(strlen(ta), ==, 64);
	g_assert_cmpstr(ta, ==, tb);
	g_assert_cmpstr(ta, !=, t2);
	g_assert_cmpstr(ta, !=, to);
	g_assert_true(dashboard_auth_equal(ta, tb));
	g_assert_false(dashboard_auth_equal(ta, t2));
	g_assert_false(dashboard_auth_equal(ta, ""));
	g_free(ta);
	g_free(tb);
	g_free(t2);
	g_free(to);
	dashboard_auth_free(a);
	dashboard_auth_free(b);
	dashboard_auth_free(other);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/dashboard-auth/off", test_off);
	g_test_add_func("/dashboard-auth/basic", test_basic);
	g_test_add_func("/dashboard-auth/unknown-hash", test_unknown_hash);
	g_test_add_func("/dashboard-auth/bearer", test_bearer);
	g_test_add_func("/dashboard-auth/csrf", test_csrf);
	return g_test_run();
}
