/* The built-in accounts' secrets (src/account-crypto.c): argon2id hashes
 * and their verification, the dummy verification for unknown accounts,
 * tokens and their digests, UUIDs, e-mail normalisation, access tokens
 * that our own verifier (src/auth-jwt.c) accepts with GoTrue's claims, and
 * the apikey rule. */
#include "autoconfig.h"

#include <string.h>

#include "account-crypto.h"
#include "auth-jwt.h"

#define SECRET "unit-test-secret-0123456789abcdef0123"

static void
test_password(void)
{
	char hash[ACCOUNT_HASH_MAX], again[ACCOUNT_HASH_MAX];

	g_assert_cmpint(account_password_hash("correct horse", hash), ==, 0);
	g_assert_true(g_str_has_prefix(hash, "$argon2id$"));
	g_assert_true(account_password_verify(hash, "correct horse"));
	g_assert_false(account_password_verify(hash, "correct hors"));
	g_assert_false(account_password_verify(hash, ""));
	/* Salted: the same password never hashes the same twice. */
	g_assert_cmpint(account_password_hash("correct horse", again), ==, 0);
	g_assert_cmpstr(hash, !=, again);
	g_assert_false(account_password_verify(NULL, "anything"));
	g_assert_false(account_password_verify("", "anything"));
	g_assert_false(account_password_verify("not a hash", "anything"));
}

/* An unknown account costs one argon2id verification like a wrong
 * password does: the two take comparable time (within a factor of 3,
 * argon2id's own cost dwarfs the rest). */
static void
test_dummy_timing(void)
{
	char hash[ACCOUNT_HASH_MAX];
	gint64 t0, wrong = G_MAXINT64, unknown = G_MAXINT64;

	g_assert_cmpint(account_password_hash("secret-password", hash), ==, 0);
	for (int i = 0; i < 3; i++) {
		t0 = g_get_monotonic_time();
		g_assert_false(account_password_verify(hash, "wrong-password"));
		wrong = MIN(wrong, g_get_monotonic_time() - t0);
		t0 = g_get_monotonic_time();
		g_assert_false(account_password_verify(NULL, "wrong-password"));
		unknown = MIN(unknown, g_get_monotonic_time() - t0);
	}
	g_assert_cmpint(unknown * 3, >, wrong);
	g_assert_cmpint(wrong * 3, >, unknown);
	/* And it is argon2id's cost, not nothing (at least a millisecond). */
	g_assert_cmpint(unknown, >, 1000);
}

static void
test_tokens(void)
{
	char a[ACCOUNT_TOKEN_LEN + 1], b[ACCOUNT_TOKEN_LEN + 1], d[ACCOUNT_DIGEST_LEN + 1],
	    u[ACCOUNT_UUID_LEN + 1];

	account_token_new(a);
	account_token_new(b);
	g_assert_cmpuint(strlen(a), ==, ACCOUNT_TOKEN_LEN);
	g_assert_cmpstr(a, !=, b);
	for (const char *p = a; *p != '\0'; p++)
		g_assert_true(g_ascii_isalnum(*p) || *p == '-' || *p == '_');
	account_token_digest("abc", d);
	g_assert_cmpstr(d, ==, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	account_uuid_new(u);
	g_assert_cmpuint(strlen(u), ==, 36);
	g_assert_cmpint(u[14], ==, '4');
	g_assert_true(strchr("89ab", u[19]) != NULL);
	g_assert_true(account_equal("same", "same"));
	g_assert_false(account_equal("same", "Same"));
	g_assert_false(account_equal("same", "same-but-longer"));
}

static void
test_email(void)
{
	static const char *const bad[] = { "", "plain", "@example.com", "a@", "a@@b.c", "a b@c.d",
	    "a@b.c.", "a@.b", "a,b@c.d", "<a@b.c>", NULL };
	char *e = account_email_normalise("  Alice.Smith+tag@Example.COM ");

	g_assert_cmpstr(e, ==, "alice.smith+tag@example.com");
	g_free(e);
	g_assert_null(account_email_normalise(NULL));
	for (int i = 0; bad[i] != NULL; i++) {
		e = account_email_normalise(bad[i]);
		if (e != NULL)
			g_error("%s was accepted as %s", bad[i], e);
	}
}

static json_t *
test_payload(const char *token)
{
	const char *p = strchr(token, '.') + 1, *q = strchr(p, '.');
	size_t len;
	guchar *raw = auth_b64url_decode(p, q - p, &len);
	json_t *doc = json_loadb((const char *)raw, len, 0, NULL);

	g_free(raw);
	return doc;
}

static void
test_access_token(void)
{
	json_t *user = json_pack("{s:s, s:s, s:s, s:{s:s, s:[s]}, s:{s:s}}",
	    "id", "0b1c2d3e-4f50-4617-8829-3a4b5c6d7e8f", "email", "a@example.com", "phone", "",
	    "app_metadata", "provider", "email", "providers", "email",
	    "user_metadata", "name", "Ada");
	struct account_token_claims c = { .issuer = "http://127.0.0.1:8080/auth/v1",
	    .session_id = "11111111-2222-4333-8444-555555555555", .method = "password",
	    .signed_in_at = 1700000000, .now = (gint64)(g_get_real_time() / G_USEC_PER_SEC),
	    .expiry = 3600 };
	struct auth_policy policy = { .audience = "authenticated",
	    .issuer = "http://127.0.0.1:8080/auth/v1", .leeway = 0 };
	struct auth_jwt *v = auth_jwt_new_from(SECRET, NULL, &policy);
	struct auth_claims out = { 0 };
	char *cause = NULL, *token = account_access_token(SECRET, user, &c, &cause);
	json_t *claims;

	g_assert_nonnull(token);
	g_assert_cmpint(auth_jwt_verify(v, token, (double)c.now, &out), ==, AUTH_OK);
	g_assert_cmpstr(out.sub, ==, "0b1c2d3e-4f50-4617-8829-3a4b5c6d7e8f");
	g_assert_cmpstr(out.email, ==, "a@example.com");
	g_assert_cmpstr(out.role, ==, "authenticated");
	auth_claims_clear(&out);
	/* Expired once its lifetime is over. */
	g_assert_cmpint(auth_jwt_verify(v, token, (double)(c.now + 3601), &out), ==, AUTH_EXPIRED);
	claims = test_payload(token);
	g_assert_cmpstr(json_string_value(json_object_get(claims, "aal")), ==, "aal1");
	g_assert_cmpstr(json_string_value(json_object_get(claims, "session_id")), ==, c.session_id);
	g_assert_true(json_is_false(json_object_get(claims, "is_anonymous")));
	g_assert_cmpint(json_integer_value(json_object_get(claims, "exp")), ==, c.now + 3600);
	g_assert_cmpstr(json_string_value(json_object_get(json_array_get(json_object_get(claims, "amr"), 0),
	    "method")), ==, "password");
	g_assert_cmpint(json_integer_value(json_object_get(json_array_get(json_object_get(claims, "amr"), 0),
	    "timestamp")), ==, 1700000000);
	g_assert_cmpstr(json_string_value(json_object_get(json_object_get(claims, "user_metadata"), "name")),
	    ==, "Ada");
	g_assert_cmpstr(json_string_value(json_object_get(json_object_get(claims, "app_metadata"), "provider")),
	    ==, "email");
	json_decref(claims);
	g_free(token);
	/* No id, no token. */
	json_object_del(user, "id");
	g_assert_null(account_access_token(SECRET, user, &c, &cause));
	g_assert_nonnull(cause);
	g_free(cause);
	json_decref(user);
	auth_jwt_free(v);
}

static char *
test_key(const char *secret, const char *role, gint64 exp)
{
	json_t *claims = json_pack("{s:s, s:s}", "iss", "supabase", "role", role);
	char *cause = NULL, *t;

	if (exp != 0)
		json_object_set_new(claims, "exp", json_integer(exp));
	t = auth_jwt_sign_hs256(secret, claims, &cause);
	g_assert_nonnull(t);
	json_decref(claims);
	return t;
}

static void
test_apikey(void)
{
	gint64 now = 1800000000;
	char *anon = test_key(SECRET, "anon", now + 100), *service = test_key(SECRET, "service_role", 0),
	    *user = test_key(SECRET, "authenticated", now + 100), *other = test_key("another-secret", "anon", 0),
	    *expired = test_key(SECRET, "anon", now - 1), *tampered = g_strdup(anon);

	g_assert_true(account_apikey_valid(anon, NULL, SECRET, now));
	g_assert_true(account_apikey_valid(service, NULL, SECRET, now));
	g_assert_false(account_apikey_valid(user, NULL, SECRET, now));
	g_assert_false(account_apikey_valid(other, NULL, SECRET, now));
	g_assert_false(account_apikey_valid(expired, NULL, SECRET, now));
	tampered[strlen(tampered) - 2] ^= 1;
	g_assert_false(account_apikey_valid(tampered, NULL, SECRET, now));
	g_assert_false(account_apikey_valid(anon, NULL, NULL, now));
	g_assert_false(account_apikey_valid("", "", SECRET, now));
	g_assert_false(account_apikey_valid("a.b", NULL, SECRET, now));
	/* SUPABASE_ANON_KEY, whatever its form, exactly. */
	g_assert_true(account_apikey_valid("sb_publishable_xyz", "sb_publishable_xyz", NULL, now));
	g_assert_false(account_apikey_valid("sb_publishable_xy", "sb_publishable_xyz", NULL, now));
	g_free(anon);
	g_free(service);
	g_free(user);
	g_free(other);
	g_free(expired);
	g_free(tampered);
}

/* Supabase's bcrypt hashes, imported: verified by libxcrypt, the
 * prefixes it writes ($2a$ as GoTrue's Go library, $2b$, $2y$) alike. */
static void
test_bcrypt_imported(void)
{
	const char *b = "$2b$04$i5kVMxTZmFuB4q1koNbfsO1bSPbx1o4y09Qlgrkuyd16x2R9hmNvW";
	char a[128], y[128];

	g_strlcpy(a, b, sizeof a);
	a[2] = 'a';
	g_strlcpy(y, b, sizeof y);
	y[2] = 'y';
	g_assert_true(account_password_is_bcrypt(b));
	g_assert_true(account_password_is_bcrypt(a));
	g_assert_false(account_password_is_bcrypt("$argon2id$v=19$m=65536,t=2,p=1$x$y"));
	g_assert_false(account_password_is_bcrypt(NULL));
	g_assert_true(account_password_verify(b, "correct horse battery"));
	g_assert_true(account_password_verify(a, "correct horse battery"));
	g_assert_true(account_password_verify(y, "correct horse battery"));
	g_assert_false(account_password_verify(b, "correct horse batter"));
	g_assert_false(account_password_verify(b, ""));
	/* Malformed: verifies nothing, never crashes. */
	g_assert_false(account_password_verify("$2b$04$short", "correct horse battery"));
	g_assert_false(account_password_verify("$2b$99$i5kVMxTZmFuB4q1koNbfsO1bSPbx1o4y09Qlgrkuyd16x2R9hmNvW",
	    "correct horse battery"));
}

int
main(int argc, char **argv)
{
	char *cause = NULL;

	g_test_init(&argc, &argv, NULL);
	if (account_crypto_init(&cause) != 0)
		g_error("%s", cause);
	g_test_add_func("/account/password", test_password);
	g_test_add_func("/account/bcrypt-imported", test_bcrypt_imported);
	g_test_add_func("/account/dummy-timing", test_dummy_timing);
	g_test_add_func("/account/tokens", test_tokens);
	g_test_add_func("/account/email", test_email);
	g_test_add_func("/account/access-token", test_access_token);
	g_test_add_func("/account/apikey", test_apikey);
	return g_test_run();
}
