/* Passwords, tokens and access tokens of the built-in accounts (see
 * account-crypto.h). */
#include "autoconfig.h"

#include <string.h>

#include <crypt.h>
#include <sodium.h>

#include "account-crypto.h"
#include "auth-jwt.h"

/* Verified in place of a missing account's hash, so an unknown address
 * costs one argon2id verification like a wrong password does. A constant
 * (of a random password nobody knows) at libsodium's interactive cost, so
 * starting a process costs no hashing; account_crypto_init() makes a new
 * one only if this libsodium's interactive cost differs from it. Written
 * before any thread reads it. */
static char account_dummy_hash[ACCOUNT_HASH_MAX] =
    "$argon2id$v=19$m=65536,t=2,p=1$wYVR3OEkR7Lc7HowKzqFUw$Fx7Ft5/wLq/6+D7UDQesa0vez5Q4hF7+gq3el6HRjng";

static gboolean account_bcrypt_verify(const char *hash, const char *password);

int
account_crypto_init(char **cause)
{
	char pw[ACCOUNT_TOKEN_LEN + 1];

	if (sodium_init() < 0) {
		*cause = g_strdup("libsodium failed to initialise");
		return -1;
	}
	if (crypto_pwhash_str_needs_rehash(account_dummy_hash, crypto_pwhash_OPSLIMIT_INTERACTIVE,
	    crypto_pwhash_MEMLIMIT_INTERACTIVE) == 0)
		return 0;
	account_token_new(pw);
	if (account_password_hash(pw, account_dummy_hash) != 0) {
		*cause = g_strdup("argon2id: out of memory");
		return -1;
	}
	return 0;
}

int
account_password_hash(const char *password, char out[ACCOUNT_HASH_MAX])
{
	G_STATIC_ASSERT(ACCOUNT_HASH_MAX == crypto_pwhash_STRBYTES);
	return crypto_pwhash_str(out, password, strlen(password), crypto_pwhash_OPSLIMIT_INTERACTIVE,
	    crypto_pwhash_MEMLIMIT_INTERACTIVE) == 0 ? 0 : -1;
}

gboolean
account_password_verify(const char *hash, const char *password)
{
	/* crypto_pwhash_str_verify compares the derived key in constant time. */
	if (hash == NULL || *hash == '\0') {
		volatile int spent = crypto_pwhash_str_verify(account_dummy_hash, password,
		    strlen(password));

		(void)spent;
		return FALSE;
	}
	if (account_password_is_bcrypt(hash))
		return account_bcrypt_verify(hash, password);
	return crypto_pwhash_str_verify(hash, password, strlen(password)) == 0;
}

gboolean
account_password_is_bcrypt(const char *hash)
{
	return hash != NULL && (g_str_has_prefix(hash, "$2a$") || g_str_has_prefix(hash, "$2b$") ||
	    g_str_has_prefix(hash, "$2y$"));
}

/* libxcrypt's bcrypt, compared in constant time. A hash it cannot read
 * (malformed) verifies nothing. */
static gboolean
account_bcrypt_verify(const char *hash, const char *password)
{
	struct crypt_data *data = g_new0(struct crypt_data, 1);
	const char *out = crypt_rn(password, hash, data, (int)sizeof *data);
	size_t len = strlen(hash);
	gboolean ok = out != NULL && out[0] != '*' && strlen(out) == len &&
	    sodium_memcmp(out, hash, len) == 0;

	sodium_memzero(data, sizeof *data);
	g_free(data);
	return ok;
}

void
account_token_new(char out[ACCOUNT_TOKEN_LEN + 1])
{
	guchar raw[32];
	char *text;

	randombytes_buf(raw, sizeof raw);
	text = auth_b64url_encode(raw, sizeof raw);
	g_strlcpy(out, text, ACCOUNT_TOKEN_LEN + 1);
	g_free(text);
	sodium_memzero(raw, sizeof raw);
}

void
account_token_digest(const char *token, char out[ACCOUNT_DIGEST_LEN + 1])
{
	char *hex = g_compute_checksum_for_string(G_CHECKSUM_SHA256, token, -1);

	g_strlcpy(out, hex, ACCOUNT_DIGEST_LEN + 1);
	g_free(hex);
}

void
account_uuid_new(char out[ACCOUNT_UUID_LEN + 1])
{
	guchar b[16];

	randombytes_buf(b, sizeof b);
	b[6] = (guchar)((b[6] & 0x0f) | 0x40);
	b[8] = (guchar)((b[8] & 0x3f) | 0x80);
	g_snprintf(out, ACCOUNT_UUID_LEN + 1,
	    "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
	    b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
	    b[14], b[15]);
}

gboolean
account_equal(const char *a, const char *b)
{
	guchar da[32], db[32];
	gsize la = sizeof da, lb = sizeof db;
	GChecksum *ca = g_checksum_new(G_CHECKSUM_SHA256), *cb = g_checksum_new(G_CHECKSUM_SHA256);

	/* Digests first: equal lengths, so sodium_memcmp's time depends on
	 * neither the strings' lengths nor where they differ. */
	g_checksum_update(ca, (const guchar *)a, (gssize)strlen(a));
	g_checksum_update(cb, (const guchar *)b, (gssize)strlen(b));
	g_checksum_get_digest(ca, da, &la);
	g_checksum_get_digest(cb, db, &lb);
	g_checksum_free(ca);
	g_checksum_free(cb);
	return sodium_memcmp(da, db, sizeof da) == 0;
}

char *
account_email_normalise(const char *email)
{
	char *e, *at;
	size_t len;

	if (email == NULL)
		return NULL;
	e = g_ascii_strdown(email, -1);
	g_strstrip(e);
	len = strlen(e);
	at = strchr(e, '@');
	if (len == 0 || len > 255 || at == NULL || at == e || strchr(at + 1, '@') != NULL ||
	    at[1] == '\0' || at[1] == '.' || e[len - 1] == '.')
		goto bad;
	for (const char *p = e; *p != '\0'; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f || *p == ',' || *p == ';' || *p == '<' ||
		    *p == '>' || *p == '"' || *p == '(' || *p == ')' || *p == '\\')
			goto bad;
	if (!g_utf8_validate(e, -1, NULL))
		goto bad;
	return e;
bad:
	g_free(e);
	return NULL;
}

char *
account_access_token(const char *secret, json_t *user, const struct account_token_claims *c,
    char **cause)
{
	json_t *claims, *app = json_object_get(user, "app_metadata"),
	    *meta = json_object_get(user, "user_metadata");
	const char *email = json_string_value(json_object_get(user, "email")),
	    *phone = json_string_value(json_object_get(user, "phone"));
	char *token;

	claims = json_pack("{s:s, s:O, s:s, s:I, s:I, s:s, s:s, s:O?, s:O?, s:s, s:s, s:[{s:s, s:I}],"
	    " s:s, s:b}",
	    "iss", c->issuer,
	    "sub", json_object_get(user, "id"),
	    "aud", "authenticated",
	    "exp", (json_int_t)(c->now + c->expiry),
	    "iat", (json_int_t)c->now,
	    "email", email != NULL ? email : "",
	    "phone", phone != NULL ? phone : "",
	    "app_metadata", app,
	    "user_metadata", meta,
	    "role", "authenticated",
	    "aal", "aal1",
	    "amr", "method", c->method, "timestamp", (json_int_t)c->signed_in_at,
	    "session_id", c->session_id,
	    "is_anonymous", 0);
	if (claims == NULL) {
		*cause = g_strdup("access token claims: the user has no id");
		return NULL;
	}
	token = auth_jwt_sign_hs256(secret, claims, cause);
	json_decref(claims);
	return token;
}

gboolean
account_apikey_valid(const char *apikey, const char *anon_key, const char *secret, gint64 now)
{
	const char *dot1, *dot2;
	guchar *raw = NULL, mac[32];
	gsize mac_len = sizeof mac;
	size_t raw_len;
	json_t *doc = NULL;
	const char *alg, *role;
	char *expected = NULL;
	GHmac *hmac;
	gboolean ok = FALSE;

	if (apikey == NULL || *apikey == '\0')
		return FALSE;
	if (anon_key != NULL && *anon_key != '\0' && account_equal(apikey, anon_key))
		return TRUE;
	if (secret == NULL || *secret == '\0' || (dot1 = strchr(apikey, '.')) == NULL ||
	    (dot2 = strchr(dot1 + 1, '.')) == NULL || strchr(dot2 + 1, '.') != NULL)
		return FALSE;
	/* The signature first: nothing of an unsigned key is parsed further. */
	hmac = g_hmac_new(G_CHECKSUM_SHA256, (const guchar *)secret, strlen(secret));
	g_hmac_update(hmac, (const guchar *)apikey, dot2 - apikey);
	g_hmac_get_digest(hmac, mac, &mac_len);
	g_hmac_unref(hmac);
	expected = auth_b64url_encode(mac, mac_len);
	if (!account_equal(expected, dot2 + 1))
		goto out;
	if ((raw = auth_b64url_decode(apikey, dot1 - apikey, &raw_len)) == NULL ||
	    (doc = json_loadb((const char *)raw, raw_len, 0, NULL)) == NULL ||
	    (alg = json_string_value(json_object_get(doc, "alg"))) == NULL || strcmp(alg, "HS256") != 0)
		goto out;
	g_clear_pointer(&raw, g_free);
	g_clear_pointer(&doc, json_decref);
	if ((raw = auth_b64url_decode(dot1 + 1, dot2 - dot1 - 1, &raw_len)) == NULL ||
	    (doc = json_loadb((const char *)raw, raw_len, 0, NULL)) == NULL ||
	    (role = json_string_value(json_object_get(doc, "role"))) == NULL)
		goto out;
	if (strcmp(role, "anon") != 0 && strcmp(role, "service_role") != 0)
		goto out;
	if (json_object_get(doc, "exp") != NULL &&
	    (!json_is_number(json_object_get(doc, "exp")) ||
	    json_number_value(json_object_get(doc, "exp")) <= (double)now))
		goto out;
	ok = TRUE;
out:
	g_free(expected);
	g_free(raw);
	json_decref(doc);
	return ok;
}
