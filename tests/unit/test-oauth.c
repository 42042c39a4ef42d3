/* OAuth sign-in's pure parts: the redirect allow-list
 * (src/redirect-allow.c: AUTH_SITE_URL's origin, AUTH_REDIRECT_ALLOW_LIST's
 * globs, refused schemes), RFC 7636's check of a code_verifier
 * (src/account-identity.c), and the providers' settings as config_load
 * reads them (AUTH_OIDC_<NAME>_*) and src/oidc.c takes them. */
#include "autoconfig.h"

#include <string.h>

#include "account-crypto.h"
#include "account-identity.h"
#include "config.h"
#include "oidc.h"
#include "redirect-allow.h"

static void
test_glob(void)
{
	g_assert_true(redirect_glob("http://a.test/x", "http://a.test/x"));
	g_assert_false(redirect_glob("http://a.test/x", "http://a.test/xy"));
	/* '*' stays within a label or a segment, '**' does not. */
	g_assert_true(redirect_glob("http://*.a.test/x", "http://www.a.test/x"));
	g_assert_false(redirect_glob("http://*.a.test/x", "http://evil.test/.a.test/x"));
	g_assert_false(redirect_glob("http://*.a.test/x", "http://b.c.a.test/x"));
	g_assert_true(redirect_glob("http://a.test/**", "http://a.test/x/y?z=1"));
	g_assert_false(redirect_glob("http://a.test/*", "http://a.test/x/y"));
	g_assert_true(redirect_glob("http://a.test:300?/", "http://a.test:3001/"));
	g_assert_false(redirect_glob("http://a.test:300?/", "http://a.test:300/"));
	g_assert_true(redirect_glob("**", ""));
	g_assert_false(redirect_glob("", "x"));
}

static void
test_allowed(void)
{
	struct config cfg = { 0 };

	/* Nothing configured: nowhere. */
	g_assert_false(redirect_allowed(&cfg, "http://app.test/"));
	g_assert_null(redirect_choose(&cfg, "http://app.test/"));
	cfg.auth_site_url = "https://app.test";
	cfg.auth_redirect_allow_list = " http://localhost:3000/** , myapp://callback";
	g_assert_true(redirect_allowed(&cfg, "https://app.test/any/path?x=1#y"));
	g_assert_true(redirect_allowed(&cfg, "https://APP.test:443/"));
	g_assert_false(redirect_allowed(&cfg, "http://app.test/"));        /* scheme */
	g_assert_false(redirect_allowed(&cfg, "https://app.test:8443/"));  /* port */
	g_assert_false(redirect_allowed(&cfg, "https://app.test.evil.test/"));
	g_assert_false(redirect_allowed(&cfg, "https://user@app.test/"));
	g_assert_true(redirect_allowed(&cfg, "http://localhost:3000/auth/done"));
	g_assert_false(redirect_allowed(&cfg, "http://localhost:3001/auth/done"));
	g_assert_true(redirect_allowed(&cfg, "myapp://callback"));
	g_assert_false(redirect_allowed(&cfg, "javascript:alert(1)"));
	g_assert_false(redirect_allowed(&cfg, "not a url"));
	g_assert_false(redirect_allowed(&cfg, NULL));
	g_assert_cmpstr(redirect_choose(&cfg, "https://evil.test/"), ==, "https://app.test");
	g_assert_cmpstr(redirect_choose(&cfg, NULL), ==, "https://app.test");
	cfg.auth_redirect_allow_list = "javascript:**";
	g_assert_false(redirect_allowed(&cfg, "javascript:alert(1)"));
}

static void
test_pkce(void)
{
	/* RFC 7636, appendix B. */
	const char *verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
	const char *challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

	g_assert_true(account_pkce_matches("s256", challenge, verifier));
	g_assert_true(account_pkce_matches("S256", challenge, verifier));
	g_assert_false(account_pkce_matches("s256", challenge, "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXj"));
	g_assert_false(account_pkce_matches("s256", verifier, verifier));
	g_assert_true(account_pkce_matches("plain", verifier, verifier));
	g_assert_false(account_pkce_matches("plain", challenge, verifier));
}

static void
clear_env(void)
{
	static const char *const names[] = { "AUTH_OIDC_PROVIDERS", "AUTH_OIDC_GOOGLE_ISSUER",
	    "AUTH_OIDC_GOOGLE_CLIENT_ID", "AUTH_OIDC_GOOGLE_CLIENT_SECRET", "AUTH_OIDC_GOOGLE_SCOPES",
	    "AUTH_OIDC_CORP_ISSUER", "AUTH_OIDC_CORP_CLIENT_ID" };

	for (size_t i = 0; i < G_N_ELEMENTS(names); i++)
		g_unsetenv(names[i]);
	g_setenv("SUPABASE_JWT_SECRET", "s3cret", TRUE);
}

static GPtrArray *
load_problems(struct config **cfg)
{
	GPtrArray *problems = NULL;

	*cfg = config_load(NULL, 0, &problems);
	return problems;
}

static void
test_provider_settings(void)
{
	struct config *cfg;
	struct oidc_set *set;
	GPtrArray *problems;
	char *cause = NULL, *dump = NULL;
	size_t len;
	FILE *out;

	clear_env();
	g_setenv("AUTH_OIDC_PROVIDERS", "google, corp", TRUE);
	g_setenv("AUTH_OIDC_GOOGLE_ISSUER", "https://accounts.google.com", TRUE);
	g_setenv("AUTH_OIDC_GOOGLE_CLIENT_ID", "id.apps.googleusercontent.com", TRUE);
	g_setenv("AUTH_OIDC_GOOGLE_CLIENT_SECRET", "very-secret", TRUE);
	g_setenv("AUTH_OIDC_CORP_ISSUER", "ftp://corp.test", TRUE);
	problems = load_problems(&cfg);
	/* corp: a bad issuer and no client id, both reported. */
	g_assert_null(cfg);
	g_assert_nonnull(problems);
	g_assert_cmpuint(problems->len, ==, 2);
	g_assert_nonnull(strstr(problems->pdata[0], "AUTH_OIDC_CORP_ISSUER"));
	g_assert_nonnull(strstr(problems->pdata[1], "AUTH_OIDC_CORP_CLIENT_ID: required"));
	g_ptr_array_unref(problems);

	g_setenv("AUTH_OIDC_PROVIDERS", "google", TRUE);
	problems = load_problems(&cfg);
	g_assert_null(problems);
	set = oidc_set_new(cfg, &cause);
	g_assert_nonnull(set);
	g_assert_cmpstr(oidc_names(set)[0], ==, "google");
	g_assert_null(oidc_names(set)[1]);
	g_assert_nonnull(oidc_find(set, "google"));
	g_assert_null(oidc_find(set, "Google"));
	g_assert_null(oidc_find(set, NULL));
	/* The dump names the provider's settings and hides the secret. */
	out = open_memstream(&dump, &len);
	config_dump(cfg, out);
	fclose(out);
	g_assert_nonnull(strstr(dump, "AUTH_OIDC_GOOGLE_ISSUER=https://accounts.google.com\n"));
	g_assert_nonnull(strstr(dump, "AUTH_OIDC_GOOGLE_CLIENT_SECRET=****"));
	g_assert_null(strstr(dump, "very-secret"));
	free(dump);
	oidc_set_free(set);
	config_free(cfg);

	g_setenv("AUTH_OIDC_PROVIDERS", "Bad-Name", TRUE);
	problems = load_problems(&cfg);
	g_assert_null(cfg);
	g_assert_nonnull(strstr(problems->pdata[0], "not a provider name"));
	g_ptr_array_unref(problems);

	/* No providers: an empty set. */
	clear_env();
	problems = load_problems(&cfg);
	g_assert_null(problems);
	set = oidc_set_new(cfg, &cause);
	g_assert_null(oidc_names(set)[0]);
	oidc_set_free(set);
	config_free(cfg);
}

int
main(int argc, char **argv)
{
	char *cause = NULL;

	g_test_init(&argc, &argv, NULL);
	if (account_crypto_init(&cause) != 0)
		g_error("%s", cause);
	g_test_add_func("/oauth/glob", test_glob);
	g_test_add_func("/oauth/allowed", test_allowed);
	g_test_add_func("/oauth/pkce", test_pkce);
	g_test_add_func("/oauth/provider-settings", test_provider_settings);
	return g_test_run();
}
