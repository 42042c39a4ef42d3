#include "autoconfig.h"

#include <string.h>

#include <curl/curl.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

#include "auth-jwt.h"
#include "jwks.h"
#include "log.h"

/* An unknown kid refetches at most this often; a failed fetch is retried
 * sooner so a short outage of the issuer at start-up does not last long. */
#define JWKS_REFETCH_US      (60 * G_USEC_PER_SEC)
#define JWKS_RETRY_FAILED_US (5 * G_USEC_PER_SEC)
#define JWKS_MAX_DOCUMENT    (1024 * 1024)
#define JWKS_MIN_RSA_BITS    2048

struct jwks {
	GMutex lock;
	char *url;                 /* NULL: a fixed set (file or memory) */
	int timeout_ms;
	GHashTable *keys;          /* kid -> struct jwks_key */
	gboolean loaded;
	gint64 next_fetch_us;      /* monotonic: no fetch before this */
};

static void
jwks_key_free(gpointer p)
{
	struct jwks_key *k = p;

	if (k == NULL)
		return;
	g_free(k->kid);
	g_free(k->pem);
	g_free(k);
}

static BIGNUM *
jwks_b64_bignum(json_t *jwk, const char *field, char **cause)
{
	const char *text = json_string_value(json_object_get(jwk, field));
	guchar *raw;
	size_t len;
	BIGNUM *bn;

	if (text == NULL || (raw = auth_b64url_decode(text, strlen(text), &len)) == NULL || len == 0) {
		*cause = g_strdup_printf("JWK field %s missing or not base64url", field);
		return NULL;
	}
	bn = BN_bin2bn(raw, (int)len, NULL);
	g_free(raw);
	if (bn == NULL)
		*cause = g_strdup_printf("JWK field %s: out of memory", field);
	return bn;
}

/* A public key of TYPE ("EC", "RSA") from the parameters in BLD, which
 * PUSHED says were all pushed (FALSE also when BLD is NULL); BLD is freed
 * here. NULL and *cause = INVALID when they make no usable key. */
static EVP_PKEY *
jwks_public_key(OSSL_PARAM_BLD *bld, gboolean pushed, const char *type, const char *invalid,
    char **cause)
{
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pkey = NULL;

	if (!pushed || (params = OSSL_PARAM_BLD_to_param(bld)) == NULL ||
	    (ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(ctx) <= 0 ||
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0) {
		*cause = g_strdup(invalid);
		EVP_PKEY_free(pkey);
		pkey = NULL;
	}
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	return pkey;
}

static EVP_PKEY *
jwks_ec_key(json_t *jwk, char **cause)
{
	const char *crv = json_string_value(json_object_get(jwk, "crv"));
	const char *xs = json_string_value(json_object_get(jwk, "x"));
	const char *ys = json_string_value(json_object_get(jwk, "y"));
	guchar *x = NULL, *y = NULL, point[65];
	size_t xl = 0, yl = 0;
	OSSL_PARAM_BLD *bld;
	EVP_PKEY *pkey = NULL;

	if (crv == NULL || strcmp(crv, "P-256") != 0) {
		*cause = g_strdup("EC JWK: only crv P-256 is supported");
		goto out;
	}
	if (xs == NULL || ys == NULL ||
	    (x = auth_b64url_decode(xs, strlen(xs), &xl)) == NULL ||
	    (y = auth_b64url_decode(ys, strlen(ys), &yl)) == NULL || xl != 32 || yl != 32) {
		*cause = g_strdup("EC JWK: x and y must be 32 bytes of base64url");
		goto out;
	}
	point[0] = 0x04;   /* uncompressed point: 04 || x || y */
	memcpy(point + 1, x, 32);
	memcpy(point + 33, y, 32);
	bld = OSSL_PARAM_BLD_new();
	pkey = jwks_public_key(bld, bld != NULL &&
	    OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) &&
	    OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof point),
	    "EC", "EC JWK: not a point on P-256", cause);
out:
	g_free(x);
	g_free(y);
	return pkey;
}

static EVP_PKEY *
jwks_rsa_key(json_t *jwk, char **cause)
{
	BIGNUM *n = NULL, *e = NULL;
	OSSL_PARAM_BLD *bld;
	EVP_PKEY *pkey = NULL;

	if ((n = jwks_b64_bignum(jwk, "n", cause)) == NULL || (e = jwks_b64_bignum(jwk, "e", cause)) == NULL)
		goto out;
	if (BN_num_bits(n) < JWKS_MIN_RSA_BITS) {
		*cause = g_strdup_printf("RSA JWK: modulus under %d bits", JWKS_MIN_RSA_BITS);
		goto out;
	}
	bld = OSSL_PARAM_BLD_new();
	pkey = jwks_public_key(bld, bld != NULL &&
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) &&
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e),
	    "RSA", "RSA JWK: not a usable public key", cause);
out:
	BN_free(n);
	BN_free(e);
	return pkey;
}

char *
jwks_jwk_to_pem(json_t *jwk, jwt_alg_t *alg, char **cause)
{
	const char *kty = json_string_value(json_object_get(jwk, "kty"));
	const char *want = json_string_value(json_object_get(jwk, "alg"));
	EVP_PKEY *pkey = NULL;
	BIO *mem = NULL;
	char *data, *pem = NULL;
	long len;

	if (kty != NULL && strcmp(kty, "EC") == 0) {
		*alg = JWT_ALG_ES256;
		pkey = jwks_ec_key(jwk, cause);
	} else if (kty != NULL && strcmp(kty, "RSA") == 0) {
		*alg = JWT_ALG_RS256;
		pkey = jwks_rsa_key(jwk, cause);
	} else {
		*cause = g_strdup_printf("JWK kty %s is not supported", kty != NULL ? kty : "(missing)");
		return NULL;
	}
	if (pkey == NULL)
		goto out;
	/* A key that names an algorithm is pinned to it; we only use the one
	 * algorithm its type allows here, so any other name is a mismatch. */
	if (want != NULL && strcmp(want, jwt_alg_str(*alg)) != 0) {
		*cause = g_strdup_printf("JWK alg %s is not supported for kty %s", want, kty);
		goto out;
	}
	if ((mem = BIO_new(BIO_s_mem())) == NULL || PEM_write_bio_PUBKEY(mem, pkey) != 1) {
		*cause = g_strdup("cannot write the key as PEM");
		goto out;
	}
	len = BIO_get_mem_data(mem, &data);
	pem = g_strndup(data, (gsize)len);
out:
	BIO_free(mem);
	EVP_PKEY_free(pkey);
	return pem;
}

GPtrArray *
jwks_parse(const char *json, size_t len, char **cause)
{
	json_error_t err;
	json_t *doc = json_loadb(json, len, 0, &err), *keys, *jwk;
	GPtrArray *out = NULL;
	size_t i;

	if (doc == NULL) {
		*cause = g_strdup_printf("JWKS is not JSON: %s", err.text);
		return NULL;
	}
	keys = json_object_get(doc, "keys");
	if (!json_is_array(keys)) {
		*cause = g_strdup("JWKS has no \"keys\" array");
		goto out;
	}
	out = g_ptr_array_new_with_free_func(jwks_key_free);
	json_array_foreach(keys, i, jwk) {
		const char *kid = json_string_value(json_object_get(jwk, "kid"));
		const char *use = json_string_value(json_object_get(jwk, "use"));
		struct jwks_key *k;
		char *why = NULL, *pem;
		jwt_alg_t alg;

		if (kid == NULL || (use != NULL && strcmp(use, "sig") != 0))
			continue;
		if ((pem = jwks_jwk_to_pem(jwk, &alg, &why)) == NULL) {
			log_warn("jwks: key %s skipped: %s", kid, why);
			g_free(why);
			continue;
		}
		k = g_new0(struct jwks_key, 1);
		k->kid = g_strdup(kid);
		k->alg = alg;
		k->pem = pem;
		g_ptr_array_add(out, k);
	}
out:
	json_decref(doc);
	return out;
}

static struct jwks *
jwks_alloc(void)
{
	struct jwks *j = g_new0(struct jwks, 1);

	g_mutex_init(&j->lock);
	j->keys = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, jwks_key_free);
	return j;
}

/* Replaces the key table with KEYS (emptied: the table takes the keys). */
static void
jwks_install(struct jwks *j, GPtrArray *keys)
{
	g_hash_table_remove_all(j->keys);
	for (guint i = 0; i < keys->len; i++) {
		struct jwks_key *k = g_ptr_array_index(keys, i);

		g_hash_table_replace(j->keys, k->kid, k);
	}
	g_ptr_array_set_free_func(keys, NULL);
	g_ptr_array_unref(keys);
	j->loaded = TRUE;
}

struct jwks *
jwks_new_json(const char *json, char **cause)
{
	GPtrArray *keys = jwks_parse(json, strlen(json), cause);
	struct jwks *j;

	if (keys == NULL)
		return NULL;
	j = jwks_alloc();
	jwks_install(j, keys);
	return j;
}

struct jwks *
jwks_new_file(const char *path, char **cause)
{
	GError *error = NULL;
	char *text = NULL, *why = NULL;
	struct jwks *j;

	if (!g_file_get_contents(path, &text, NULL, &error)) {
		*cause = g_strdup_printf("%s: %s", path, error->message);
		g_error_free(error);
		return NULL;
	}
	j = jwks_new_json(text, &why);
	g_free(text);
	if (j == NULL) {
		*cause = g_strdup_printf("%s: %s", path, why);
		g_free(why);
	}
	return j;
}

struct jwks *
jwks_new_url(const char *url, int timeout_ms)
{
	struct jwks *j = jwks_alloc();

	j->url = g_strdup(url);
	j->timeout_ms = timeout_ms;
	return j;
}

void
jwks_free(struct jwks *j)
{
	if (j == NULL)
		return;
	g_hash_table_unref(j->keys);
	g_mutex_clear(&j->lock);
	g_free(j->url);
	g_free(j);
}

static size_t
jwks_curl_write(char *data, size_t size, size_t n, void *user)
{
	GString *body = user;

	if (body->len + size * n > JWKS_MAX_DOCUMENT)
		return 0;   /* aborts the transfer */
	g_string_append_len(body, data, (gssize)(size * n));
	return size * n;
}

/* Fetches the set: its keys, or NULL and *cause. */
static GPtrArray *
jwks_fetch(const char *url, int timeout_ms, char **cause)
{
	CURL *curl = curl_easy_init();
	GString *body = g_string_new(NULL);
	GPtrArray *keys = NULL;
	CURLcode rc;
	long status = 0;

	if (curl == NULL) {
		*cause = g_strdup("curl_easy_init failed");
		goto out;
	}
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, (long)timeout_ms);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, jwks_curl_write);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, body);
	curl_easy_setopt(curl, CURLOPT_USERAGENT, "podcastpro/" PACKAGE_VERSION);
	if ((rc = curl_easy_perform(curl)) != CURLE_OK) {
		*cause = g_strdup_printf("%s: %s", url, curl_easy_strerror(rc));
		goto out;
	}
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	if (status != 200) {
		*cause = g_strdup_printf("%s: HTTP %ld", url, status);
		goto out;
	}
	keys = jwks_parse(body->str, body->len, cause);
out:
	if (curl != NULL)
		curl_easy_cleanup(curl);
	g_string_free(body, TRUE);
	return keys;
}

enum jwks_result
jwks_lookup(struct jwks *j, const char *kid, jwt_alg_t *alg, char **pem)
{
	enum jwks_result res = JWKS_UNKNOWN_KID;
	struct jwks_key *k;
	GPtrArray *keys;
	char *cause = NULL, *url;
	gint64 now;

	*pem = NULL;
	g_mutex_lock(&j->lock);
	if ((k = g_hash_table_lookup(j->keys, kid)) != NULL)
		goto found;
	now = g_get_monotonic_time();
	if (j->url == NULL || now < j->next_fetch_us) {
		res = j->loaded ? JWKS_UNKNOWN_KID : JWKS_UNAVAILABLE;
		goto out;
	}
	/* Claim the fetch, then run it unlocked: other threads meanwhile see
	 * the old set (or "unavailable") instead of waiting on the network. */
	j->next_fetch_us = now + JWKS_REFETCH_US;
	url = g_strdup(j->url);
	g_mutex_unlock(&j->lock);
	keys = jwks_fetch(url, j->timeout_ms, &cause);
	g_free(url);
	g_mutex_lock(&j->lock);
	if (keys == NULL) {
		log_warn("jwks: fetch failed: %s", cause);
		g_free(cause);
		j->next_fetch_us = g_get_monotonic_time() + JWKS_RETRY_FAILED_US;
		res = j->loaded ? JWKS_UNKNOWN_KID : JWKS_UNAVAILABLE;
		goto out;
	}
	log_info("jwks: %u usable keys from %s", keys->len, j->url);
	jwks_install(j, keys);
	if ((k = g_hash_table_lookup(j->keys, kid)) == NULL)
		goto out;
found:
	*alg = k->alg;
	*pem = g_strdup(k->pem);
	res = JWKS_FOUND;
out:
	g_mutex_unlock(&j->lock);
	return res;
}
