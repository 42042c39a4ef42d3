/* OpenID Connect providers of the built-in accounts (doc/auth.md): the
 * relying party's side of the authorization code flow.
 *
 * Providers are configured by name (AUTH_OIDC_PROVIDERS) with an issuer,
 * a client id and secret and scopes (AUTH_OIDC_<NAME>_*). Each provider's
 * discovery document ({issuer}/.well-known/openid-configuration) is fetched
 * on first use and kept for the life of the process (a failed fetch is
 * tried again at most every few seconds); its JWKS is src/jwks.c's cache.
 * Every request to a provider is libcurl with AUTH_OIDC_TIMEOUT_MS: callers
 * are request threads, which may block that long.
 *
 * id_tokens are verified with src/auth-jwt.c (RS256/ES256 by kid from the
 * provider's JWKS, iss = the issuer, aud = the client id, exp with
 * JWT_LEEWAY), then the nonce is compared here.
 *
 * Ownership: oidc_set_new() returns a set freed by oidc_set_free(), safe to
 * share between threads; providers belong to the set. Strings and json_t
 * handed back are the caller's (g_free, json_decref); *cause too. */
#ifndef PP_OIDC_H
#define PP_OIDC_H

#include <glib.h>
#include <jansson.h>

struct config;
struct oidc_set;
struct oidc_provider;

/* The providers of CFG (none: an empty set). NULL and *cause when the
 * settings are unusable (config_load has already checked them). */
struct oidc_set *oidc_set_new(const struct config *cfg, char **cause);
void oidc_set_free(struct oidc_set *set);

/* The provider NAME (as configured, lower-case), or NULL. */
struct oidc_provider *oidc_find(struct oidc_set *set, const char *name);
/* The configured names, in order (borrowed, NULL-terminated). */
const char *const *oidc_names(struct oidc_set *set);

/* The provider's authorization endpoint URL for one sign-in: response_type
 * code, client_id, REDIRECT_URI, the configured scopes plus EXTRA_SCOPES
 * (space-separated, may be NULL), STATE and NONCE. NULL and *cause when
 * the discovery document cannot be had. */
char *oidc_authorize_url(struct oidc_provider *p, const char *redirect_uri,
    const char *extra_scopes, const char *state, const char *nonce, char **cause);

enum oidc_result {
	OIDC_OK,
	OIDC_REFUSED,       /* the provider said no (4xx, an error body) or sent a bad id_token */
	OIDC_UNAVAILABLE,   /* network, timeout, 5xx, unusable discovery or JWKS */
};

/* Exchanges CODE at the token endpoint (client_secret_basic, or
 * client_secret_post when that is the only one the provider lists) and
 * verifies the id_token against the provider's keys, issuer, client id,
 * expiry and NONCE: OIDC_OK with *CLAIMS (the id_token's claims) and
 * *ACCESS_TOKEN (may be NULL); otherwise *cause says why. */
enum oidc_result oidc_sign_in(struct oidc_provider *p, const char *code, const char *redirect_uri,
    const char *nonce, json_t **claims, char **access_token, char **cause);

#endif
