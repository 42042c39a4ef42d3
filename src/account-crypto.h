/* The built-in accounts' secrets (doc/auth.md), pure: no database, no
 * FastCGI. Passwords are argon2id through libsodium's crypto_pwhash_str
 * (OPSLIMIT/MEMLIMIT_INTERACTIVE: 2 passes over 64 MiB), verified in
 * constant time; a login for an unknown address verifies against a dummy
 * hash of the same cost so both cost the same. Refresh and one-time tokens
 * are 32 random bytes, base64url; only their SHA-256 (hex) is stored.
 * Access tokens are Supabase's: HS256 JWTs with GoTrue's claims.
 *
 * account_crypto_init() must run once before any other call (it calls
 * sodium_init and checks that the dummy hash has the current cost, making
 * a new one only if not); every other function is safe from several
 * threads at once.
 *
 * Ownership: char * results are the caller's to g_free(); *cause too. */
#ifndef PP_ACCOUNT_CRYPTO_H
#define PP_ACCOUNT_CRYPTO_H

#include <glib.h>
#include <jansson.h>

#define ACCOUNT_HASH_MAX   128   /* crypto_pwhash_STRBYTES */
#define ACCOUNT_TOKEN_LEN  43    /* base64url of 32 bytes */
#define ACCOUNT_DIGEST_LEN 64    /* hex SHA-256 */
#define ACCOUNT_UUID_LEN   36

/* 0, or -1 and *cause (libsodium failed to initialise). */
int account_crypto_init(char **cause);

/* The argon2id hash of PASSWORD into OUT: 0, or -1 (out of memory). */
int account_password_hash(const char *password, char out[ACCOUNT_HASH_MAX]);
/* TRUE when PASSWORD matches HASH. HASH NULL (no such account, or one
 * without a password): the dummy hash is checked instead, taking as long,
 * and the answer is FALSE. */
gboolean account_password_verify(const char *hash, const char *password);
/* TRUE for a bcrypt hash ($2a$, $2b$, $2y$: Supabase's, imported into
 * auth_credentials): account_password_verify() checks it with libxcrypt,
 * and a login that succeeds replaces it with argon2id (doc/auth.md). */
gboolean account_password_is_bcrypt(const char *hash);

/* A fresh opaque token (refresh, one-time) into OUT (NUL-terminated). */
void account_token_new(char out[ACCOUNT_TOKEN_LEN + 1]);
/* The stored form of TOKEN: hex SHA-256 into OUT. */
void account_token_digest(const char *token, char out[ACCOUNT_DIGEST_LEN + 1]);
/* A random (version 4) UUID into OUT. */
void account_uuid_new(char out[ACCOUNT_UUID_LEN + 1]);
/* TRUE when A and B are equal strings, compared in time that does not
 * depend on where they differ. */
gboolean account_equal(const char *a, const char *b);

/* The e-mail address as stored: trimmed and lower-cased; NULL when it is
 * not an address GoTrue accepts (one '@', a dot-free local part is fine,
 * a domain, no spaces or controls, at most 255 bytes). Caller frees. */
char *account_email_normalise(const char *email);

/* What goes into an access token beyond the user. */
struct account_token_claims {
	const char *issuer;       /* "{PUBLIC_URL}/auth/v1" */
	const char *session_id;
	const char *method;       /* amr method: "password" */
	gint64 signed_in_at;      /* amr timestamp (s) */
	gint64 now;               /* iat (s) */
	int expiry;               /* seconds: exp = now + expiry */
};

/* An HS256 access token for USER (GoTrue's user object: id, email, phone,
 * app_metadata, user_metadata) signed with SECRET: caller frees; NULL and
 * *cause on failure. */
char *account_access_token(const char *secret, json_t *user, const struct account_token_claims *c,
    char **cause);

/* Whether APIKEY is a key for the /auth/v1/ endpoints: ANON_KEY (may be
 * NULL) exactly, or an HS256 JWT signed with SECRET (may be NULL) whose
 * role is "anon" or "service_role" and which has not expired at NOW. */
gboolean account_apikey_valid(const char *apikey, const char *anon_key, const char *secret,
    gint64 now);

#endif
