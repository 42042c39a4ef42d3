/* The auth hook and the per-process user cache (see auth.h). */
#include "autoconfig.h"

#include <string.h>

#include "auth-jwt.h"
#include "auth.h"
#include "config.h"
#include "db.h"
#include "dispatch.h"
#include "log.h"
#include "podcast-store.h"

struct auth {
	struct auth_jwt *jwt;
	GMutex lock;
	GHashTable *users;       /* "sub\nemail" -> struct auth_cached */
	GHashTable *tokens;      /* hex SHA-256 of a verified token -> struct auth_token */
	int leeway;              /* JWT_LEEWAY */
};

/* A token that verified: a client sends the same one for up to an hour,
 * and checking its signature and claims again each time is most of what
 * an authenticated request costs. Keyed by the token's SHA-256, so a
 * lookup compares digests, never secrets. Kept until the token expires,
 * and at most AUTH_TOKEN_CACHE_TTL seconds (a key removed from the JWKS
 * stops being honoured that soon). */
struct auth_token {
	char sub[64];
	char email[321];
	double exp;              /* the token's exp plus the leeway */
	gint64 expires_us;       /* monotonic */
};

#define AUTH_TOKEN_CACHE_TTL 300
#define AUTH_TOKEN_CACHE_MAX 20000

struct auth_cached {
	char id[ULID_LEN + 1];
	gint64 expires_us;       /* monotonic */
};

/* One request per acceptor thread at a time: its caller lives here. */
static __thread struct auth_user auth_thread_user;

static int
auth_app_init(struct app *app, char **cause)
{
	struct auth *a;
	struct auth_jwt *jwt = auth_jwt_new(app->cfg, cause);

	if (jwt == NULL)
		return -1;
	a = g_new0(struct auth, 1);
	a->jwt = jwt;
	a->leeway = app->cfg->jwt_leeway;
	g_mutex_init(&a->lock);
	a->users = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	a->tokens = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	app->auth = a;
	dispatch_set_auth_hook(auth_gate);
	return 0;
}

static void
auth_app_fini(struct app *app)
{
	struct auth *a = app->auth;

	if (a == NULL)
		return;
	auth_jwt_free(a->jwt);
	g_hash_table_unref(a->users);
	g_hash_table_unref(a->tokens);
	g_mutex_clear(&a->lock);
	g_free(a);
	app->auth = NULL;
}

const struct app_module auth_app_module = { "auth", auth_app_init, auth_app_fini };

static gboolean
auth_refuse(struct request *req, enum auth_status st)
{
	response_header(req, "WWW-Authenticate", "Bearer");
	response_error(req, 401, auth_status_detail(st));
	return FALSE;
}

static gboolean
auth_cache_get(struct auth *a, const char *key, char id[ULID_LEN + 1])
{
	struct auth_cached *c;
	gboolean hit = FALSE;

	g_mutex_lock(&a->lock);
	c = g_hash_table_lookup(a->users, key);
	if (c != NULL && c->expires_us > g_get_monotonic_time()) {
		memcpy(id, c->id, ULID_LEN + 1);
		hit = TRUE;
	}
	g_mutex_unlock(&a->lock);
	return hit;
}

static void
auth_cache_put(struct auth *a, const char *key, const char id[ULID_LEN + 1])
{
	struct auth_cached *c = g_new(struct auth_cached, 1);

	memcpy(c->id, id, ULID_LEN + 1);
	c->expires_us = g_get_monotonic_time() + AUTH_USER_CACHE_TTL * G_USEC_PER_SEC;
	g_mutex_lock(&a->lock);
	/* Crude but bounded: a process that has seen this many users in one
	 * TTL simply starts over. */
	if (g_hash_table_size(a->users) >= AUTH_USER_CACHE_MAX)
		g_hash_table_remove_all(a->users);
	g_hash_table_replace(a->users, g_strdup(key), c);
	g_mutex_unlock(&a->lock);
}

/* Fills U->id from the cache or the database: 0, or -1 after answering. */
static int
auth_resolve_user(struct request *req, struct auth *a, struct auth_user *u)
{
	char *key = g_strdup_printf("%s\n%s", u->sub, u->email), *cause = NULL;
	struct db_conn *conn = NULL;
	int rc = -1;

	if (auth_cache_get(a, key, u->id)) {
		rc = 0;
		goto out;
	}
	if ((conn = db_acquire(req->app->db, &cause)) == NULL) {
		log_error("%s auth: database: %s", req->request_id, cause);
		response_error(req, 503, "Service temporarily unavailable");
		goto out;
	}
	if (podcast_store_user(conn, u->sub, u->email[0] != '\0' ? u->email : NULL, u->id, &cause) != 0) {
		log_error("%s auth: %s", req->request_id, cause);
		response_error(req, 503, "Service temporarily unavailable");
		goto out;
	}
	auth_cache_put(a, key, u->id);
	rc = 0;
out:
	db_release(conn);
	g_free(cause);
	g_free(key);
	return rc;
}

/* Fills U (sub, email) from a cached verification of the token whose
 * digest is KEY: TRUE when found and still valid at NOW. */
static gboolean
auth_token_get(struct auth *a, const char *key, double now, struct auth_user *u)
{
	struct auth_token *t;
	gboolean hit = FALSE;

	g_mutex_lock(&a->lock);
	t = g_hash_table_lookup(a->tokens, key);
	if (t != NULL && now < t->exp && t->expires_us > g_get_monotonic_time()) {
		memcpy(u->sub, t->sub, sizeof u->sub);
		memcpy(u->email, t->email, sizeof u->email);
		hit = TRUE;
	} else if (t != NULL)
		g_hash_table_remove(a->tokens, key);
	g_mutex_unlock(&a->lock);
	return hit;
}

static void
auth_token_put(struct auth *a, const char *key, const struct auth_user *u, double exp)
{
	struct auth_token *t = g_new(struct auth_token, 1);

	memcpy(t->sub, u->sub, sizeof t->sub);
	memcpy(t->email, u->email, sizeof t->email);
	t->exp = exp;
	t->expires_us = g_get_monotonic_time() + AUTH_TOKEN_CACHE_TTL * G_USEC_PER_SEC;
	g_mutex_lock(&a->lock);
	if (g_hash_table_size(a->tokens) >= AUTH_TOKEN_CACHE_MAX)
		g_hash_table_remove_all(a->tokens);
	g_hash_table_replace(a->tokens, g_strdup(key), t);
	g_mutex_unlock(&a->lock);
}

static gboolean
auth_sub_is_uuid(const char *s)
{
	if (strlen(s) != 36)
		return FALSE;
	for (int i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return FALSE;
		} else if (!g_ascii_isxdigit(s[i]))
			return FALSE;
	}
	return TRUE;
}

gboolean
auth_gate(struct request *req)
{
	struct auth *a = req->app->auth;
	struct auth_user *u = &auth_thread_user;
	const char *header = request_header(req, "Authorization"), *space;
	struct auth_claims claims = { NULL, NULL, NULL, 0 };
	enum auth_status st;
	gboolean ok = FALSE;
	char *digest = NULL;
	double now;

	req->user = NULL;
	if (a == NULL) {
		response_error(req, 503, "Authentication unavailable");
		return FALSE;
	}
	if (header == NULL || *header == '\0') {
		response_header(req, "WWW-Authenticate", "Bearer");
		response_error(req, 401, "Authorization header missing");
		return FALSE;
	}
	/* The Python service split on single spaces and wanted exactly two
	 * parts, the first "bearer" in any case. */
	space = strchr(header, ' ');
	if (space == NULL || strchr(space + 1, ' ') != NULL || space - header != 6 ||
	    g_ascii_strncasecmp(header, "bearer", 6) != 0) {
		response_header(req, "WWW-Authenticate", "Bearer");
		response_error(req, 401, "Invalid authorization format");
		return FALSE;
	}
	now = (double)g_get_real_time() / G_USEC_PER_SEC;
	digest = g_compute_checksum_for_string(G_CHECKSUM_SHA256, space + 1, -1);
	memset(u, 0, sizeof *u);
	if (auth_token_get(a, digest, now, u))
		goto resolve;
	st = auth_jwt_verify(a->jwt, space + 1, now, &claims);
	if (st != AUTH_OK) {
		log_debug("%s auth: refused: %s", req->request_id, auth_status_detail(st));
		auth_refuse(req, st);
		goto out;
	}
	/* users.auth_user_id is a uuid, as Supabase's subjects are; an e-mail
	 * longer than any address can be is not a real one. */
	if (!auth_sub_is_uuid(claims.sub) ||
	    (claims.email != NULL && strlen(claims.email) >= sizeof u->email)) {
		auth_refuse(req, AUTH_INVALID);
		goto out;
	}
	g_strlcpy(u->sub, claims.sub, sizeof u->sub);
	if (claims.email != NULL)
		g_strlcpy(u->email, claims.email, sizeof u->email);
	auth_token_put(a, digest, u, (double)claims.exp + a->leeway);
resolve:
	if (auth_resolve_user(req, a, u) != 0)
		goto out;
	req->user = u;
	ok = TRUE;
out:
	auth_claims_clear(&claims);
	g_free(digest);
	return ok;
}
