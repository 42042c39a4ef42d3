/* JSON Web Key Sets: asymmetric token keys (ES256 on P-256, RS256), turned
 * into PEM public keys for libjwt, each pinned to the one algorithm its key
 * type allows.
 *
 * A set comes from a file (read once) or a URL (fetched with libcurl on
 * first use and again when a token names a kid we do not know, at most once
 * a minute, so a stream of made-up kids cannot make us hammer the issuer).
 *
 * Ownership: jwks_new_*() return a cache freed by jwks_free(); it is safe
 * to share between threads. jwks_lookup() hands back a new PEM string the
 * caller frees. jwks_parse() returns an array of struct jwks_key owned by
 * the array (g_ptr_array_unref frees them). */
#ifndef PP_JWKS_H
#define PP_JWKS_H

#include <glib.h>
#include <jansson.h>
#include <jwt.h>

struct jwks_key {
	char *kid;
	jwt_alg_t alg;         /* JWT_ALG_ES256 or JWT_ALG_RS256 */
	char *pem;             /* SubjectPublicKeyInfo PEM */
};

struct jwks;

/* TIMEOUT_MS bounds one fetch. */
struct jwks *jwks_new_url(const char *url, int timeout_ms);
/* Reads and parses PATH now: NULL and *cause when it is not a usable set. */
struct jwks *jwks_new_file(const char *path, char **cause);
/* From a document already in memory (tests). NULL and *cause. */
struct jwks *jwks_new_json(const char *json, char **cause);
void jwks_free(struct jwks *jwks);

enum jwks_result { JWKS_FOUND, JWKS_UNKNOWN_KID, JWKS_UNAVAILABLE };

/* The key named KID: its PEM (new string) and algorithm. JWKS_UNAVAILABLE
 * when the set could not be fetched at all. */
enum jwks_result jwks_lookup(struct jwks *jwks, const char *kid, jwt_alg_t *alg, char **pem);

/* Parses a JWKS document: keys of other types, curves or uses are skipped
 * (an empty result is not an error); NULL and *cause when it is not a
 * JWKS document. */
GPtrArray *jwks_parse(const char *json, size_t len, char **cause);

/* One JWK (kty EC crv P-256 x y, or kty RSA n e) as a PEM public key:
 * new string and *alg, or NULL and *cause. */
char *jwks_jwk_to_pem(json_t *jwk, jwt_alg_t *alg, char **cause);

#endif
