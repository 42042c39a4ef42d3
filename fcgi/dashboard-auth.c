/* The dashboard's own credentials: DASHBOARD_USERS (HTTP Basic, plain or
 * crypt(3)-hashed passwords) and DASHBOARD_TOKEN (Bearer), and the CSRF
 * token its buttons send back. */
#include "autoconfig.h"

#include <crypt.h>
#include <string.h>

#include "config.h"
#include "dashboard.h"
#include "log.h"

/* Accepted hashed credentials a process remembers, so that a page polling
 * every second costs one crypt(3) (tens of milliseconds) per process, not
 * one per request. Only their SHA-256 is kept. */
#define DASHBOARD_AUTH_CACHE_MAX 64

struct dashboard_user {
	char *name;
	char *secret;        /* the password, or its crypt(3) hash */
	gboolean hashed;     /* SECRET starts with '$' */
};

struct dashboard_auth {
	GPtrArray *users;    /* struct dashboard_user * */
	char *token;         /* NULL: no bearer token */
	guchar csrf_key[32];
	const char *challenge;
	GMutex lock;         /* guards verified */
	GHashTable *verified;
};

static void
dashboard_user_free(gpointer data)
{
	struct dashboard_user *u = data;

	g_free(u->name);
	if (u->secret != NULL)
		memset(u->secret, 0, strlen(u->secret));
	g_free(u->secret);
	g_free(u);
}

/* TRUE when libcrypt takes HASH as a setting (it answers "*0" or "*1"
 * for one it does not know, whatever the password). */
static gboolean
dashboard_auth_hash_usable(const char *hash)
{
	struct crypt_data *data = g_new0(struct crypt_data, 1);
	const char *out = crypt_r("", hash, data);
	gboolean ok = out != NULL && out[0] != '*';

	g_free(data);
	return ok;
}

struct dashboard_auth *
dashboard_auth_new(const struct config *cfg)
{
	struct dashboard_auth *auth;
	GChecksum *key;
	gsize len = sizeof auth->csrf_key;

	if (cfg->dashboard_users == NULL && cfg->dashboard_token == NULL)
		return NULL;
	auth = g_new0(struct dashboard_auth, 1);
	auth->users = g_ptr_array_new_with_free_func(dashboard_user_free);
	if (cfg->dashboard_users != NULL) {
		char **pairs = g_strsplit(cfg->dashboard_users, ",", -1);

		/* config.c checked the shape: user:secret, both non-empty. */
		for (int i = 0; pairs[i] != NULL; i++) {
			char *pair = g_strstrip(pairs[i]), *colon = strchr(pair, ':');
			struct dashboard_user *u;

			if (colon == NULL)
				continue;
			u = g_new0(struct dashboard_user, 1);
			u->name = g_strndup(pair, colon - pair);
			u->secret = g_strdup(colon + 1);
			u->hashed = u->secret[0] == '$';
			if (u->hashed && !dashboard_auth_hash_usable(u->secret))
				log_warn("DASHBOARD_USERS: the password of %s is not a crypt(3) hash this system "
				    "knows (mkpasswd -m yescrypt makes one): %s cannot sign in", u->name, u->name);
			g_ptr_array_add(auth->users, u);
		}
		g_strfreev(pairs);
	}
	auth->token = g_strdup(cfg->dashboard_token);
	/* The same key in every process and after a restart, secret as long
	 * as the credentials are: a CSRF token outlives neither. */
	key = g_checksum_new(G_CHECKSUM_SHA256);
	g_checksum_update(key, (const guchar *)"podcast-pro dashboard csrf\n", -1);
	g_checksum_update(key, (const guchar *)(cfg->dashboard_users != NULL ? cfg->dashboard_users : ""), -1);
	g_checksum_update(key, (const guchar *)"\n", 1);
	g_checksum_update(key, (const guchar *)(cfg->dashboard_token != NULL ? cfg->dashboard_token : ""), -1);
	g_checksum_get_digest(key, auth->csrf_key, &len);
	g_checksum_free(key);
	if (auth->users->len > 0 && auth->token != NULL)
		auth->challenge = "Basic realm=\"Podcast Pro dashboard\", charset=\"UTF-8\", Bearer realm=\"Podcast Pro dashboard\"";
	else if (auth->users->len > 0)
		auth->challenge = "Basic realm=\"Podcast Pro dashboard\", charset=\"UTF-8\"";
	else
		auth->challenge = "Bearer realm=\"Podcast Pro dashboard\"";
	g_mutex_init(&auth->lock);
	auth->verified = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	return auth;
}

void
dashboard_auth_free(struct dashboard_auth *auth)
{
	if (auth == NULL)
		return;
	g_ptr_array_unref(auth->users);
	if (auth->token != NULL)
		memset(auth->token, 0, strlen(auth->token));
	g_free(auth->token);
	g_hash_table_unref(auth->verified);
	g_mutex_clear(&auth->lock);
	g_free(auth);
}

const char *
dashboard_auth_challenge(struct dashboard_auth *auth)
{
	return auth->challenge;
}

gboolean
dashboard_auth_equal(const char *a, const char *b)
{
	guchar da[32], db[32];
	gsize la = sizeof da, lb = sizeof db;
	GChecksum *ca = g_checksum_new(G_CHECKSUM_SHA256), *cb = g_checksum_new(G_CHECKSUM_SHA256);
	guchar diff = 0;

	/* Digests first: equal lengths, so nothing is learnt from timing. */
	g_checksum_update(ca, (const guchar *)a, -1);
	g_checksum_update(cb, (const guchar *)b, -1);
	g_checksum_get_digest(ca, da, &la);
	g_checksum_get_digest(cb, db, &lb);
	g_checksum_free(ca);
	g_checksum_free(cb);
	for (size_t i = 0; i < sizeof da; i++)
		diff |= da[i] ^ db[i];
	return diff == 0;
}

/* PASSWORD against a crypt(3) HASH; remembered (by digest) when right. */
static gboolean
dashboard_auth_crypt(struct dashboard_auth *auth, const char *authorization, const char *password,
    const char *hash)
{
	char *digest = g_compute_checksum_for_string(G_CHECKSUM_SHA256, authorization, -1);
	struct crypt_data *data;
	const char *out;
	gboolean ok;

	g_mutex_lock(&auth->lock);
	ok = g_hash_table_contains(auth->verified, digest);
	g_mutex_unlock(&auth->lock);
	if (ok) {
		g_free(digest);
		return TRUE;
	}
	data = g_new0(struct crypt_data, 1);
	out = crypt_r(password, hash, data);
	/* libxcrypt answers a string starting with '*' on failure. */
	ok = out != NULL && out[0] != '*' && dashboard_auth_equal(out, hash);
	memset(data, 0, sizeof *data);
	g_free(data);
	if (ok) {
		g_mutex_lock(&auth->lock);
		if (g_hash_table_size(auth->verified) >= DASHBOARD_AUTH_CACHE_MAX)
			g_hash_table_remove_all(auth->verified);
		g_hash_table_add(auth->verified, digest);
		digest = NULL;
		g_mutex_unlock(&auth->lock);
	}
	g_free(digest);
	return ok;
}

static enum dashboard_auth_result
dashboard_auth_basic(struct dashboard_auth *auth, const char *authorization, const char *b64, char **who)
{
	gsize len = 0;
	guchar *raw;
	char *text, *colon;
	enum dashboard_auth_result result = DASHBOARD_AUTH_WRONG;

	if (auth->users->len == 0 || *b64 == '\0')
		return DASHBOARD_AUTH_WRONG;
	raw = g_base64_decode(b64, &len);
	text = g_strndup((const char *)raw, len);
	g_free(raw);
	if ((colon = strchr(text, ':')) == NULL || strlen(text) != len)
		goto out;
	*colon = '\0';
	for (guint i = 0; i < auth->users->len; i++) {
		struct dashboard_user *u = auth->users->pdata[i];

		if (strcmp(u->name, text) != 0)
			continue;
		if (u->hashed ? dashboard_auth_crypt(auth, authorization, colon + 1, u->secret) :
		    dashboard_auth_equal(colon + 1, u->secret)) {
			if (who != NULL)
				*who = g_strdup(u->name);
			result = DASHBOARD_AUTH_OK;
		}
		break;
	}
out:
	memset(text, 0, len);
	g_free(text);
	return result;
}

enum dashboard_auth_result
dashboard_auth_check(struct dashboard_auth *auth, const char *authorization, char **who)
{
	const char *p = authorization;

	if (who != NULL)
		*who = NULL;
	if (p == NULL)
		return DASHBOARD_AUTH_MISSING;
	while (*p == ' ')
		p++;
	if (g_ascii_strncasecmp(p, "Basic ", 6) == 0) {
		for (p += 6; *p == ' '; p++)
			;
		return dashboard_auth_basic(auth, authorization, p, who);
	}
	if (g_ascii_strncasecmp(p, "Bearer ", 7) == 0) {
		for (p += 7; *p == ' '; p++)
			;
		if (auth->token == NULL || !dashboard_auth_equal(p, auth->token))
			return DASHBOARD_AUTH_WRONG;
		if (who != NULL)
			*who = g_strdup("token");
		return DASHBOARD_AUTH_OK;
	}
	return DASHBOARD_AUTH_MISSING;
}

char *
dashboard_auth_csrf(struct dashboard_auth *auth, const char *authorization)
{
	return g_compute_hmac_for_string(G_CHECKSUM_SHA256, auth->csrf_key, sizeof auth->csrf_key,
	    authorization != NULL ? authorization : "", -1);
}
