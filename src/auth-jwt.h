/* Access-token verification (Supabase-shaped JWTs), pure: no FastCGI, no
 * database.
 *
 * libjwt 1.10 only checks signatures, and only safely when given the right
 * key for the right algorithm, so everything else is ours: the header is
 * parsed here first, the key is chosen by the algorithm it is pinned to
 * (HS256 only ever against SUPABASE_JWT_SECRET, ES256/RS256 only against a
 * JWKS key of that type selected by kid; anything else refused before
 * libjwt sees it), and every claim is checked here after the signature:
 * exp (required) and nbf with the leeway, aud (a string or an array
 * containing it), iss when configured, sub required.
 *
 * Ownership: auth_jwt_new() returns a verifier freed by auth_jwt_free(); it
 * is safe to share between threads (the JWKS cache has its own lock).
 * auth_jwt_verify() fills a struct auth_claims whose strings the caller
 * frees with auth_claims_clear(). */
#ifndef PP_AUTH_JWT_H
#define PP_AUTH_JWT_H

#include <glib.h>
#include <jansson.h>

struct config;
struct jwks;

/* Outcomes, in the order the Python service reports them. */
enum auth_status {
	AUTH_OK = 0,
	AUTH_EXPIRED,          /* "Token expired" */
	AUTH_BAD_SIGNATURE,    /* "Invalid token signature" */
	AUTH_INVALID,          /* "Invalid token" */
	AUTH_NO_SUBJECT,       /* "Invalid token: missing user ID" */
	AUTH_FAILED,           /* "Authentication failed": a key source is unavailable */
};

struct auth_policy {
	const char *audience;  /* required aud */
	const char *issuer;    /* required iss, or NULL */
	int leeway;            /* seconds, for exp and nbf */
};

struct auth_claims {
	char *sub;
	char *email;           /* NULL when the token has none */
	char *role;            /* NULL when the token has none */
	gint64 exp;
};

struct auth_jwt;

/* A verifier from SUPABASE_JWT_SECRET and the JWKS settings. NULL and
 * *cause when there is no key source at all or a JWKS file is unreadable. */
struct auth_jwt *auth_jwt_new(const struct config *cfg, char **cause);
/* The same from parts (tests): SECRET may be NULL; JWKS (may be NULL) is
 * taken over and freed with the verifier. */
struct auth_jwt *auth_jwt_new_from(const char *secret, struct jwks *jwks,
    const struct auth_policy *policy);
void auth_jwt_free(struct auth_jwt *v);

/* Verifies TOKEN at time NOW (seconds since the epoch). On AUTH_OK fills
 * OUT; otherwise OUT is left empty. */
enum auth_status auth_jwt_verify(struct auth_jwt *v, const char *token, double now,
    struct auth_claims *out);
void auth_claims_clear(struct auth_claims *c);

/* Checks decoded claims against POLICY at NOW (seconds): what
 * auth_jwt_verify does after the signature. Fills OUT on AUTH_OK. */
enum auth_status auth_jwt_check_claims(const struct auth_policy *policy, json_t *claims,
    double now, struct auth_claims *out);

/* The claims of TOKEN (a new object), decoded but not verified: for the
 * claims struct auth_claims does not carry, read after auth_jwt_verify()
 * said AUTH_OK. NULL when TOKEN is not a JWT. */
json_t *auth_jwt_payload(const char *token);

/* The 401 detail text for a status (a constant string). */
const char *auth_status_detail(enum auth_status st);

/* Decodes base64url without padding (RFC 7515): a new buffer with *len
 * set and a NUL after the data, or NULL when the text is not base64url. */
guchar *auth_b64url_decode(const char *text, size_t text_len, size_t *len);
/* Encodes base64url without padding; caller frees. */
char *auth_b64url_encode(const guchar *data, size_t len);

/* Mints an HS256 token (podcastpro-ctl token, tests): caller frees; NULL
 * and *cause on failure. CLAIMS is borrowed. */
char *auth_jwt_sign_hs256(const char *secret, json_t *claims, char **cause);

#endif
