/* Token verification: claim checks, leeway, algorithm pinning, JWKS keys. */
#include "autoconfig.h"

#include <stdlib.h>
#include <string.h>

#include <jwt.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "auth-jwt.h"
#include "jwks.h"

#define SECRET "test-secret-with-enough-length-0123456789"
#define NOW 1800000000.0
#define SUB "0b5e3f7c-1d2a-4c8e-9f00-123456789abc"

static const struct auth_policy policy = { "authenticated", NULL, 30 };

/* Keys made once per run: an EC P-256 and an RSA 2048 key pair. */
static EVP_PKEY *ec_key, *ec_other, *rsa_key;
static char *jwks_doc;

static char *
pem_private(EVP_PKEY *k)
{
	BIO *mem = BIO_new(BIO_s_mem());
	char *data, *out;
	long len;

	g_assert_true(PEM_write_bio_PrivateKey(mem, k, NULL, NULL, 0, NULL, NULL) == 1);
	len = BIO_get_mem_data(mem, &data);
	out = g_strndup(data, (gsize)len);
	BIO_free(mem);
	return out;
}

static char *
pem_public(EVP_PKEY *k)
{
	BIO *mem = BIO_new(BIO_s_mem());
	char *data, *out;
	long len;

	g_assert_true(PEM_write_bio_PUBKEY(mem, k) == 1);
	len = BIO_get_mem_data(mem, &data);
	out = g_strndup(data, (gsize)len);
	BIO_free(mem);
	return out;
}

static char *
b64_bn(EVP_PKEY *k, const char *param)
{
	BIGNUM *bn = NULL;
	guchar buf[512];
	int n;

	g_assert_true(EVP_PKEY_get_bn_param(k, param, &bn) == 1);
	n = BN_bn2bin(bn, buf);
	BN_free(bn);
	return auth_b64url_encode(buf, (size_t)n);
}

static json_t *
jwk_ec(EVP_PKEY *k, const char *kid)
{
	guchar pub[65];
	size_t len = 0;
	char *x, *y;
	json_t *jwk;

	g_assert_true(EVP_PKEY_get_octet_string_param(k, OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof pub, &len) == 1);
	g_assert_cmpuint(len, ==, 65);
	x = auth_b64url_encode(pub + 1, 32);
	y = auth_b64url_encode(pub + 33, 32);
	jwk = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "kty", "EC", "crv", "P-256", "kid", kid,
	    "x", x, "y", y, "use", "sig");
	g_free(x);
	g_free(y);
	return jwk;
}

static json_t *
jwk_rsa(EVP_PKEY *k, const char *kid)
{
	char *n = b64_bn(k, OSSL_PKEY_PARAM_RSA_N), *e = b64_bn(k, OSSL_PKEY_PARAM_RSA_E);
	json_t *jwk = json_pack("{s:s, s:s, s:s, s:s, s:s}", "kty", "RSA", "kid", kid, "n", n, "e", e,
	    "alg", "RS256");

	g_free(n);
	g_free(e);
	return jwk;
}

static json_t *
claims_new(double exp_offset)
{
	return json_pack("{s:s, s:s, s:s, s:i, s:i, s:s}", "sub", SUB, "aud", "authenticated",
	    "email", "a@example.com", "iat", (json_int_t)NOW, "exp", (json_int_t)(NOW + exp_offset),
	    "role", "authenticated");
}

/* Signs CLAIMS with libjwt (any algorithm, KID may be NULL). */
static char *
sign(jwt_alg_t alg, const char *key, json_t *claims, const char *kid)
{
	jwt_t *jwt = NULL;
	char *grants = json_dumps(claims, JSON_COMPACT), *tok, *out;

	g_assert_cmpint(jwt_new(&jwt), ==, 0);
	g_assert_cmpint(jwt_add_grants_json(jwt, grants), ==, 0);
	if (kid != NULL)
		g_assert_cmpint(jwt_add_header(jwt, "kid", kid), ==, 0);
	g_assert_cmpint(jwt_set_alg(jwt, alg, (const unsigned char *)key, key != NULL ? (int)strlen(key) : 0), ==, 0);
	tok = jwt_encode_str(jwt);
	g_assert_nonnull(tok);
	out = g_strdup(tok);
	free(tok);
	free(grants);
	jwt_free(jwt);
	return out;
}

/* A token from a hand-made header and claims, with SIG as the signature segment. */
static char *
forge(const char *header_json, json_t *claims, const char *sig)
{
	char *h = auth_b64url_encode((const guchar *)header_json, strlen(header_json));
	char *c = json_dumps(claims, JSON_COMPACT);
	char *p = auth_b64url_encode((const guchar *)c, strlen(c));
	char *tok = g_strdup_printf("%s.%s.%s", h, p, sig);

	g_free(h);
	free(c);
	g_free(p);
	return tok;
}

static char *
hmac_b64(const char *key, const char *input)
{
	guint8 mac[32];
	gsize len = sizeof mac;
	GHmac *h = g_hmac_new(G_CHECKSUM_SHA256, (const guchar *)key, strlen(key));

	g_hmac_update(h, (const guchar *)input, -1);
	g_hmac_get_digest(h, mac, &len);
	g_hmac_unref(h);
	return auth_b64url_encode(mac, len);
}

static enum auth_status
check(json_t *claims, const struct auth_policy *p, double now)
{
	struct auth_claims out;
	enum auth_status st = auth_jwt_check_claims(p, claims, now, &out);

	if (st == AUTH_OK) {
		g_assert_cmpstr(out.sub, ==, json_string_value(json_object_get(claims, "sub")));
		auth_claims_clear(&out);
	} else
		g_assert_null(out.sub);
	json_decref(claims);
	return st;
}

static void
test_claims_exp_leeway(void)
{
	g_assert_cmpint(check(claims_new(60), &policy, NOW), ==, AUTH_OK);
	/* Expired 10 s ago: inside the 30 s leeway. */
	g_assert_cmpint(check(claims_new(-10), &policy, NOW), ==, AUTH_OK);
	g_assert_cmpint(check(claims_new(-30), &policy, NOW), ==, AUTH_EXPIRED);
	g_assert_cmpint(check(claims_new(-3600), &policy, NOW), ==, AUTH_EXPIRED);
	struct auth_policy strict = policy;
	strict.leeway = 0;
	g_assert_cmpint(check(claims_new(-1), &strict, NOW), ==, AUTH_EXPIRED);
	g_assert_cmpint(check(claims_new(1), &strict, NOW), ==, AUTH_OK);
}

static void
test_claims_nbf_iat(void)
{
	json_t *c = claims_new(600);

	json_object_set_new(c, "nbf", json_integer((json_int_t)NOW + 20));
	g_assert_cmpint(check(c, &policy, NOW), ==, AUTH_OK);
	c = claims_new(600);
	json_object_set_new(c, "nbf", json_integer((json_int_t)NOW + 31));
	g_assert_cmpint(check(c, &policy, NOW), ==, AUTH_INVALID);
	c = claims_new(600);
	json_object_set_new(c, "nbf", json_string("soon"));
	g_assert_cmpint(check(c, &policy, NOW), ==, AUTH_INVALID);
	c = claims_new(600);
	json_object_set_new(c, "iat", json_integer((json_int_t)NOW + 120));
	g_assert_cmpint(check(c, &policy, NOW), ==, AUTH_INVALID);
}

static void
test_claims_required(void)
{
	json_t *c = claims_new(600);

	json_object_del(c, "exp");
	g_assert_cmpint(check(c, &policy, NOW), ==, AUTH_INVALID);
	c = claims_new(600);
	json_object_set_new(c, "exp", json_string("tomorrow"));
	g_assert_cmpint(check(c, &policy, NOW), ==, AUTH_INVALID);
	c = claims_new(600);
	json_object_del(c, "sub");
	g_assert_cmpint(check(c, &policy, NOW), ==, AUTH_NO_SUBJECT);
	c = claims_new(600);
	json_object_set_new(c, "sub", json_string(""));
	g_assert_cmpint(check(c, &policy, NOW), ==, AUTH_NO_SUBJECT);
	c = claims_new(600);
	json_object_set_new(c, "email", json_integer(5));
	g_assert_cmpint(check(c, &policy, NOW), ==, AUTH_INVALID);
	/* Several failures: expiry is reported before a missing sub. */
	c = claims_new(-3600);
	json_object_del(c, "sub");
	g_assert_cmpint(check(c, &policy, NOW), ==, AUTH_EXPIRED);
}

static void
test_claims_audience_issuer(void)
{
	struct auth_policy with_iss = { "authenticated", "https://x.supabase.co/auth/v1", 30 };
	json_t *c = claims_new(600);

	json_object_set_new(c, "aud", json_string("anon"));
	g_assert_cmpint(check(c, &policy, NOW), ==, AUTH_INVALID);
	c = claims_new(600);
	json_object_del(c, "aud");
	g_assert_cmpint(check(c, &policy, NOW), ==, AUTH_INVALID);
	c = claims_new(600);
	json_object_set_new(c, "aud", json_pack("[s, s]", "other", "authenticated"));
	g_assert_cmpint(check(c, &policy, NOW), ==, AUTH_OK);
	c = claims_new(600);
	json_object_set_new(c, "aud", json_pack("[s]", "other"));
	g_assert_cmpint(check(c, &policy, NOW), ==, AUTH_INVALID);
	c = claims_new(600);
	g_assert_cmpint(check(c, &with_iss, NOW), ==, AUTH_INVALID);
	c = claims_new(600);
	json_object_set_new(c, "iss", json_string("https://evil.example/auth/v1"));
	g_assert_cmpint(check(c, &with_iss, NOW), ==, AUTH_INVALID);
	c = claims_new(600);
	json_object_set_new(c, "iss", json_string("https://x.supabase.co/auth/v1"));
	g_assert_cmpint(check(c, &with_iss, NOW), ==, AUTH_OK);
}

static enum auth_status
verify(struct auth_jwt *v, const char *token)
{
	struct auth_claims out;
	enum auth_status st = auth_jwt_verify(v, token, NOW, &out);

	if (st == AUTH_OK) {
		g_assert_cmpstr(out.sub, ==, SUB);
		g_assert_cmpstr(out.email, ==, "a@example.com");
	} else
		g_assert_null(out.sub);
	auth_claims_clear(&out);
	return st;
}

static void
test_hs256(void)
{
	struct auth_jwt *v = auth_jwt_new_from(SECRET, NULL, &policy);
	json_t *c = claims_new(600);
	char *tok, *mine, *err = NULL;

	tok = sign(JWT_ALG_HS256, SECRET, c, NULL);
	g_assert_cmpint(verify(v, tok), ==, AUTH_OK);
	g_free(tok);
	/* Our own minting (podcastpro-ctl token) verifies too. */
	mine = auth_jwt_sign_hs256(SECRET, c, &err);
	g_assert_nonnull(mine);
	g_assert_cmpint(verify(v, mine), ==, AUTH_OK);
	/* One flipped character in the signature. */
	mine[strlen(mine) - 2] = mine[strlen(mine) - 2] == 'A' ? 'B' : 'A';
	g_assert_cmpint(verify(v, mine), ==, AUTH_BAD_SIGNATURE);
	g_free(mine);
	tok = sign(JWT_ALG_HS256, "another-secret-entirely-0123456789", c, NULL);
	g_assert_cmpint(verify(v, tok), ==, AUTH_BAD_SIGNATURE);
	g_free(tok);
	/* Bad signature wins over expiry, as PyJWT checks the signature first. */
	json_decref(c);
	c = claims_new(-3600);
	tok = sign(JWT_ALG_HS256, "another-secret-entirely-0123456789", c, NULL);
	g_assert_cmpint(verify(v, tok), ==, AUTH_BAD_SIGNATURE);
	g_free(tok);
	tok = sign(JWT_ALG_HS256, SECRET, c, NULL);
	g_assert_cmpint(verify(v, tok), ==, AUTH_EXPIRED);
	g_free(tok);
	json_decref(c);
	auth_jwt_free(v);
}

/* NumericDates outside the int64 range: refused, never converted (a
 * double beyond int64 cast to one is undefined behaviour). */
static void
test_claims_out_of_range(void)
{
	static const char *const names[] = { "exp", "nbf", "iat" };
	const double bad[] = { 1e300, -1e30, 9223372036854775808.0, -9223372036854777856.0, 1e19 };
	struct auth_claims out;
	json_t *c;

	for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
		for (size_t j = 0; j < G_N_ELEMENTS(bad); j++) {
			c = claims_new(600);
			json_object_set_new(c, names[i], json_real(bad[j]));
			if (check(c, &policy, NOW) != AUTH_INVALID)
				g_error("%s = %g was not refused", names[i], bad[j]);
		}
	}
	/* The int64 range itself is fine: the largest exp, the earliest iat. */
	c = claims_new(600);
	json_object_set_new(c, "exp", json_integer(G_MAXINT64));
	json_object_set_new(c, "iat", json_integer(G_MININT64));
	json_object_set_new(c, "nbf", json_real(-9223372036854775808.0));
	g_assert_cmpint(auth_jwt_check_claims(&policy, c, NOW, &out), ==, AUTH_OK);
	g_assert_cmpint(out.exp, ==, G_MAXINT64);
	auth_claims_clear(&out);
	json_decref(c);
	/* A real inside the range is truncated toward zero, as PyJWT's int(). */
	c = claims_new(600);
	json_object_set_new(c, "exp", json_real(NOW + 600.9));
	g_assert_cmpint(auth_jwt_check_claims(&policy, c, NOW, &out), ==, AUTH_OK);
	g_assert_cmpint(out.exp, ==, (gint64)NOW + 600);
	auth_claims_clear(&out);
	json_decref(c);
}

/* A correctly MAC'd HS256 token whose claims are CLAIMS_TEXT as written. */
static char *
sign_text(const char *claims_text)
{
	const char *header = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
	char *h = auth_b64url_encode((const guchar *)header, strlen(header));
	char *p = auth_b64url_encode((const guchar *)claims_text, strlen(claims_text));
	char *input = g_strdup_printf("%s.%s", h, p), *sig = hmac_b64(SECRET, input);
	char *tok = g_strdup_printf("%s.%s", input, sig);

	g_free(h);
	g_free(p);
	g_free(input);
	g_free(sig);
	return tok;
}

/* The same through the whole verifier, with numbers as a token carries
 * them: those Jansson cannot hold are refused at parsing. */
static void
test_verify_out_of_range(void)
{
	static const char *const values[] = {
		"1e300", "-1e30", "9223372036854775808", "-9223372036854775809",
		"99999999999999999999999999999", "1e400", "-1e400", "NaN", "Infinity", "9.3e18",
	};
	static const char *const names[] = { "exp", "nbf", "iat" };
	struct auth_jwt *v = auth_jwt_new_from(SECRET, NULL, &policy);
	char *text, *tok;

	/* The helper's own token passes. */
	text = g_strdup_printf("{\"sub\":\"%s\",\"email\":\"a@example.com\",\"aud\":\"authenticated\",\"exp\":%.0f}", SUB, NOW + 600);
	tok = sign_text(text);
	g_assert_cmpint(verify(v, tok), ==, AUTH_OK);
	g_free(tok);
	g_free(text);
	for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
		for (size_t j = 0; j < G_N_ELEMENTS(values); j++) {
			if (strcmp(names[i], "exp") == 0)
				text = g_strdup_printf("{\"sub\":\"%s\",\"email\":\"a@example.com\",\"aud\":\"authenticated\",\"exp\":%s}",
				    SUB, values[j]);
			else
				text = g_strdup_printf("{\"sub\":\"%s\",\"email\":\"a@example.com\",\"aud\":\"authenticated\",\"exp\":%.0f,"
				    "\"%s\":%s}", SUB, NOW + 600, names[i], values[j]);
			tok = sign_text(text);
			if (verify(v, tok) != AUTH_INVALID)
				g_error("%s was not refused as invalid", text);
			g_free(tok);
			g_free(text);
		}
	}
	auth_jwt_free(v);
}

static void
test_refused_algorithms(void)
{
	struct auth_jwt *v = auth_jwt_new_from(SECRET, NULL, &policy);
	json_t *c = claims_new(600);
	char *tok, *input, *sig;

	/* alg none, with and without a signature segment. */
	tok = forge("{\"alg\":\"none\",\"typ\":\"JWT\"}", c, "");
	g_assert_cmpint(verify(v, tok), ==, AUTH_INVALID);
	g_free(tok);
	tok = forge("{\"alg\":\"none\",\"typ\":\"JWT\"}", c, "AAAA");
	g_assert_cmpint(verify(v, tok), ==, AUTH_INVALID);
	g_free(tok);
	/* libjwt reads "hs256" as HS256; we do not. A correct MAC, wrong name. */
	tok = forge("{\"alg\":\"hs256\",\"typ\":\"JWT\"}", c, "x");
	input = g_strndup(tok, (gsize)(strrchr(tok, '.') - tok));
	sig = hmac_b64(SECRET, input);
	g_free(tok);
	tok = g_strdup_printf("%s.%s", input, sig);
	g_assert_cmpint(verify(v, tok), ==, AUTH_INVALID);
	g_free(tok);
	g_free(input);
	g_free(sig);
	tok = sign(JWT_ALG_HS512, SECRET, c, NULL);
	g_assert_cmpint(verify(v, tok), ==, AUTH_INVALID);
	g_free(tok);
	/* Garbage of several shapes. */
	g_assert_cmpint(verify(v, ""), ==, AUTH_INVALID);
	g_assert_cmpint(verify(v, "garbage"), ==, AUTH_INVALID);
	g_assert_cmpint(verify(v, "a.b.c"), ==, AUTH_INVALID);
	g_assert_cmpint(verify(v, "a.b.c.d"), ==, AUTH_INVALID);
	g_assert_cmpint(verify(v, "eyJhbGciOiJIUzI1NiJ9.e30."), ==, AUTH_INVALID);
	json_decref(c);
	auth_jwt_free(v);
}

static void
test_es256_jwks(void)
{
	char *cause = NULL, *priv = pem_private(ec_key), *other = pem_private(ec_other), *tok;
	struct auth_jwt *v = auth_jwt_new_from(NULL, jwks_new_json(jwks_doc, &cause), &policy);
	json_t *c = claims_new(600);

	g_assert_null(cause);
	tok = sign(JWT_ALG_ES256, priv, c, "ec-1");
	g_assert_cmpint(verify(v, tok), ==, AUTH_OK);
	g_free(tok);
	tok = sign(JWT_ALG_ES256, other, c, "ec-1");
	g_assert_cmpint(verify(v, tok), ==, AUTH_BAD_SIGNATURE);
	g_free(tok);
	tok = sign(JWT_ALG_ES256, priv, c, "no-such-kid");
	g_assert_cmpint(verify(v, tok), ==, AUTH_INVALID);
	g_free(tok);
	tok = sign(JWT_ALG_ES256, priv, c, NULL);
	g_assert_cmpint(verify(v, tok), ==, AUTH_INVALID);
	g_free(tok);
	/* No HS secret configured: HS256 tokens are refused, whatever they are. */
	tok = sign(JWT_ALG_HS256, SECRET, c, NULL);
	g_assert_cmpint(verify(v, tok), ==, AUTH_INVALID);
	g_free(tok);
	g_free(priv);
	g_free(other);
	json_decref(c);
	auth_jwt_free(v);
}

static void
test_rs256_and_confusion(void)
{
	char *cause = NULL, *priv = pem_private(rsa_key), *pub = pem_public(rsa_key);
	char *ecpriv = pem_private(ec_key), *tok, *input, *sig;
	struct auth_jwt *v = auth_jwt_new_from(SECRET, jwks_new_json(jwks_doc, &cause), &policy);
	struct auth_jwt *v_nosecret = auth_jwt_new_from(NULL, jwks_new_json(jwks_doc, &cause), &policy);
	json_t *c = claims_new(600);
	jwt_alg_t alg;
	char *pem = NULL;
	struct jwks *set = jwks_new_json(jwks_doc, &cause);

	g_assert_null(cause);
	tok = sign(JWT_ALG_RS256, priv, c, "rsa-1");
	g_assert_cmpint(verify(v, tok), ==, AUTH_OK);
	g_free(tok);
	/* An ES256 token naming the RSA key: the key is pinned to RS256. */
	tok = sign(JWT_ALG_ES256, ecpriv, c, "rsa-1");
	g_assert_cmpint(verify(v, tok), ==, AUTH_INVALID);
	g_free(tok);
	/* HS256 MAC'd with the PEM we publish for the RSA key (exactly the PEM
	 * text the verifier holds): never checked against that PEM. */
	g_assert_cmpint(jwks_lookup(set, "rsa-1", &alg, &pem), ==, JWKS_FOUND);
	g_assert_cmpint(alg, ==, JWT_ALG_RS256);
	g_assert_cmpstr(pem, ==, pub);
	tok = forge("{\"alg\":\"HS256\",\"typ\":\"JWT\",\"kid\":\"rsa-1\"}", c, "x");
	input = g_strndup(tok, (gsize)(strrchr(tok, '.') - tok));
	sig = hmac_b64(pem, input);
	g_free(tok);
	tok = g_strdup_printf("%s.%s", input, sig);
	g_assert_cmpint(verify(v, tok), ==, AUTH_BAD_SIGNATURE);
	g_assert_cmpint(verify(v_nosecret, tok), ==, AUTH_INVALID);
	g_free(tok);
	g_free(input);
	g_free(sig);
	g_free(pem);
	g_free(priv);
	g_free(pub);
	g_free(ecpriv);
	json_decref(c);
	jwks_free(set);
	auth_jwt_free(v);
	auth_jwt_free(v_nosecret);
}

static void
test_jwks_parse(void)
{
	static const char odd[] = "{\"keys\":[{\"kty\":\"oct\",\"kid\":\"h\",\"k\":\"c2VjcmV0\"},"
	    "{\"kty\":\"EC\",\"crv\":\"P-384\",\"kid\":\"p384\",\"x\":\"AA\",\"y\":\"AA\"},"
	    "{\"kty\":\"EC\",\"crv\":\"P-256\",\"kid\":\"short\",\"x\":\"AA\",\"y\":\"AA\"}]}";
	char *cause = NULL;
	GPtrArray *keys;

	keys = jwks_parse(jwks_doc, strlen(jwks_doc), &cause);
	g_assert_nonnull(keys);
	g_assert_cmpuint(keys->len, ==, 2);
	g_ptr_array_unref(keys);
	/* Unsupported keys are skipped, not fatal. */
	keys = jwks_parse(odd, strlen(odd), &cause);
	g_assert_nonnull(keys);
	g_assert_cmpuint(keys->len, ==, 0);
	g_ptr_array_unref(keys);
	g_assert_null(jwks_parse("{}", 2, &cause));
	g_assert_nonnull(cause);
	g_free(cause);
	cause = NULL;
	g_assert_null(jwks_parse("not json", 8, &cause));
	g_assert_nonnull(cause);
	g_free(cause);
}

static void
test_b64url(void)
{
	size_t len;
	guchar *raw;
	char *enc;

	raw = auth_b64url_decode("_-8", 3, &len);
	g_assert_nonnull(raw);
	g_assert_cmpuint(len, ==, 2);
	g_assert_cmpint(raw[0], ==, 0xff);
	g_assert_cmpint(raw[1], ==, 0xef);
	enc = auth_b64url_encode(raw, len);
	g_assert_cmpstr(enc, ==, "_-8");
	g_free(enc);
	g_free(raw);
	g_assert_null(auth_b64url_decode("ab+c", 4, &len));
	g_assert_null(auth_b64url_decode("abc=", 4, &len));
	g_assert_null(auth_b64url_decode("abcde", 5, &len));
}

int
main(int argc, char **argv)
{
	json_t *doc;

	g_test_init(&argc, &argv, NULL);
	ec_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	ec_other = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	rsa_key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	g_assert_true(ec_key != NULL && ec_other != NULL && rsa_key != NULL);
	doc = json_pack("{s:[o, o]}", "keys", jwk_ec(ec_key, "ec-1"), jwk_rsa(rsa_key, "rsa-1"));
	jwks_doc = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);

	g_test_add_func("/jwt/claims/exp-leeway", test_claims_exp_leeway);
	g_test_add_func("/jwt/claims/nbf-iat", test_claims_nbf_iat);
	g_test_add_func("/jwt/claims/required", test_claims_required);
	g_test_add_func("/jwt/claims/audience-issuer", test_claims_audience_issuer);
	g_test_add_func("/jwt/claims/out-of-range", test_claims_out_of_range);
	g_test_add_func("/jwt/hs256", test_hs256);
	g_test_add_func("/jwt/verify-out-of-range", test_verify_out_of_range);
	g_test_add_func("/jwt/refused-algorithms", test_refused_algorithms);
	g_test_add_func("/jwt/es256-jwks", test_es256_jwks);
	g_test_add_func("/jwt/rs256-and-confusion", test_rs256_and_confusion);
	g_test_add_func("/jwt/jwks-parse", test_jwks_parse);
	g_test_add_func("/jwt/b64url", test_b64url);
	int rc = g_test_run();

	free(jwks_doc);
	EVP_PKEY_free(ec_key);
	EVP_PKEY_free(ec_other);
	EVP_PKEY_free(rsa_key);
	return rc;
}
