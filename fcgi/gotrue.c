/* What the /auth/v1/ handlers share (see gotrue.h). */
#include "autoconfig.h"

#include <string.h>

#include "account-store.h"
#include "auth-jwt.h"
#include "config.h"
#include "gotrue.h"
#include "log.h"

/* This process's verifier of our own access tokens (HS256 with
 * SUPABASE_JWT_SECRET only), or NULL without a secret. Written by the app
 * module's init before acceptor threads run. */
static struct auth_jwt *gotrue_jwt;

static int
gotrue_app_init(struct app *app, char **cause)
{
	const struct config *cfg = app->cfg;
	struct auth_policy policy = { .audience = "authenticated", .issuer = NULL,
	    .leeway = cfg->jwt_leeway };

	if (cfg->supabase_jwt_secret == NULL || *cfg->supabase_jwt_secret == '\0')
		return 0;
	if (account_crypto_init(cause) != 0)
		return -1;
	gotrue_jwt = auth_jwt_new_from(cfg->supabase_jwt_secret, NULL, &policy);
	return 0;
}

static void
gotrue_app_fini(struct app *app)
{
	(void)app;
	g_clear_pointer(&gotrue_jwt, auth_jwt_free);
}

const struct app_module gotrue_app_module = { "gotrue", gotrue_app_init, gotrue_app_fini };

/* Whether the client asked for the 2024-01-01 error shape. */
static gboolean
gotrue_api_2024(struct request *req)
{
	const char *v = request_header(req, "X-Supabase-Api-Version");

	return v != NULL && strlen(v) == 10 && strcmp(v, "2024-01-01") >= 0;
}

void
gotrue_error(struct request *req, int status, const char *code, const char *msg)
{
	if (gotrue_api_2024(req))
		response_json(req, status, json_pack("{s:s, s:s}", "code", code, "message", msg));
	else
		response_json(req, status, json_pack("{s:i, s:s, s:s}", "code", status,
		    "error_code", code, "msg", msg));
}

void
gotrue_weak_password(struct request *req, int min_length)
{
	char *msg = g_strdup_printf("Password should be at least %d characters.", min_length);
	json_t *body;

	if (gotrue_api_2024(req))
		body = json_pack("{s:s, s:s}", "code", "weak_password", "message", msg);
	else
		body = json_pack("{s:i, s:s, s:s}", "code", 422, "error_code", "weak_password",
		    "msg", msg);
	json_object_set_new(body, "weak_password", json_pack("{s:[s]}", "reasons", "length"));
	response_json(req, 422, body);
	g_free(msg);
}

gboolean
gotrue_begin(struct request *req)
{
	const struct config *cfg = req->app->cfg;
	const char *key = request_header(req, "apikey");

	response_header(req, "X-Supabase-Api-Version", "2024-01-01");
	if (gotrue_jwt == NULL) {
		gotrue_error(req, 501, "not_implemented",
		    "The built-in accounts need SUPABASE_JWT_SECRET");
		return FALSE;
	}
	if (key == NULL)
		key = request_query(req, "apikey");
	/* Supabase's gateway answers these two, in its own shape. */
	if (key == NULL || *key == '\0') {
		response_json(req, 401, json_pack("{s:s, s:s}", "message", "No API key found in request",
		    "hint", "No `apikey` request header or url param was found."));
		return FALSE;
	}
	if (!account_apikey_valid(key, cfg->supabase_anon_key, cfg->supabase_jwt_secret,
	    (gint64)(g_get_real_time() / G_USEC_PER_SEC))) {
		response_json(req, 401, json_pack("{s:s, s:s}", "message", "Invalid API key",
		    "hint", "Double check your Supabase `anon` or `service_role` API key."));
		return FALSE;
	}
	return TRUE;
}

json_t *
gotrue_body(struct request *req)
{
	json_error_t err;
	json_t *body;
	char *msg;

	if (request_body(req) != 0)
		return NULL;
	if (req->body_len == 0)
		return json_object();
	body = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &err);
	if (body != NULL && json_is_object(body))
		return body;
	msg = g_strdup_printf("Could not parse request body as JSON: %s",
	    body != NULL ? "not an object" : err.text);
	json_decref(body);
	gotrue_error(req, 400, "bad_json", msg);
	g_free(msg);
	return NULL;
}

gboolean
gotrue_string(struct request *req, json_t *body, const char *key, const char **out)
{
	json_t *v = json_object_get(body, key);
	char *msg;

	*out = NULL;
	if (v == NULL || json_is_null(v))
		return TRUE;
	if (json_is_string(v) && memchr(json_string_value(v), '\0', json_string_length(v)) == NULL) {
		*out = json_string_value(v);
		return TRUE;
	}
	msg = g_strdup_printf("Could not parse request body as JSON: %s must be a string", key);
	gotrue_error(req, 400, "bad_json", msg);
	g_free(msg);
	return FALSE;
}

void
gotrue_fail(struct request *req, const char *what, char *cause)
{
	log_error("%s %s: %s", req->request_id, what, cause != NULL ? cause : "failed");
	g_free(cause);
	gotrue_error(req, 500, "unexpected_failure", "Unexpected failure, please check server logs for more information");
}

struct db_conn *
gotrue_db(struct request *req)
{
	char *cause = NULL;
	struct db_conn *c = db_acquire(req->app->db, &cause);

	if (c == NULL)
		gotrue_fail(req, "database", cause);
	return c;
}

gboolean
gotrue_password_ok(struct request *req, const char *password)
{
	int min = req->app->cfg->auth_password_min_length;

	if (g_utf8_validate(password, -1, NULL) && g_utf8_strlen(password, -1) >= min)
		return TRUE;
	gotrue_weak_password(req, min);
	return FALSE;
}

/* The session_id claim of a verified TOKEN into OUT: TRUE when present. */
static gboolean
gotrue_token_session(const char *token, char out[ACCOUNT_UUID_LEN + 1])
{
	const char *p = strchr(token, '.'), *q = p != NULL ? strchr(p + 1, '.') : NULL;
	guchar *raw;
	size_t len;
	json_t *doc;
	const char *sid;
	gboolean ok = FALSE;

	if (q == NULL || (raw = auth_b64url_decode(p + 1, q - p - 1, &len)) == NULL)
		return FALSE;
	doc = json_loadb((const char *)raw, len, 0, NULL);
	sid = json_string_value(json_object_get(doc, "session_id"));
	if (sid != NULL && strlen(sid) == ACCOUNT_UUID_LEN) {
		g_strlcpy(out, sid, ACCOUNT_UUID_LEN + 1);
		ok = TRUE;
	}
	json_decref(doc);
	g_free(raw);
	return ok;
}

gboolean
gotrue_caller(struct request *req, struct db_conn *c,
    char user_id[ACCOUNT_UUID_LEN + 1], char session_id[ACCOUNT_UUID_LEN + 1])
{
	const char *h = request_header(req, "Authorization");
	struct auth_claims claims = { 0 };
	enum auth_status st;
	char *cause = NULL, *hash = NULL, *msg;
	gboolean ok = FALSE;
	int rc;

	if (h == NULL || g_ascii_strncasecmp(h, "Bearer ", 7) != 0 || h[7] == '\0') {
		gotrue_error(req, 401, "no_authorization", "This endpoint requires a valid Bearer token");
		return FALSE;
	}
	h += 7;
	st = auth_jwt_verify(gotrue_jwt, h, (double)g_get_real_time() / G_USEC_PER_SEC, &claims);
	if (st != AUTH_OK || strlen(claims.sub) != ACCOUNT_UUID_LEN) {
		msg = g_strdup_printf("invalid JWT: unable to parse or verify signature, %s",
		    st == AUTH_EXPIRED ? "token has invalid claims: token is expired" :
		    st == AUTH_OK ? "token has an invalid subject" : auth_status_detail(st));
		gotrue_error(req, 403, "bad_jwt", msg);
		g_free(msg);
		goto out;
	}
	g_strlcpy(user_id, claims.sub, ACCOUNT_UUID_LEN + 1);
	/* The account still exists (its hash is the cheapest look at it). */
	if ((rc = account_store_password_hash(c, user_id, &hash, &cause)) < 0) {
		gotrue_fail(req, "account lookup", cause);
		goto out;
	}
	if (rc == 0) {
		gotrue_error(req, 403, "user_not_found", "User from sub claim in JWT does not exist");
		goto out;
	}
	if (!gotrue_token_session(h, session_id) ||
	    (rc = account_store_session_live(c, session_id, user_id, &cause)) == 0) {
		gotrue_error(req, 403, "session_not_found",
		    "Session from session_id claim in JWT does not exist");
		goto out;
	}
	if (rc < 0) {
		gotrue_fail(req, "session lookup", cause);
		goto out;
	}
	ok = TRUE;
out:
	g_free(hash);
	auth_claims_clear(&claims);
	return ok;
}

json_t *
gotrue_session_body(struct request *req, json_t *user, const char *session_id, const char *method,
    gint64 signed_in_at, const char *refresh)
{
	const struct config *cfg = req->app->cfg;
	gint64 now = g_get_real_time() / G_USEC_PER_SEC;
	char *issuer = g_strdup_printf("%s/auth/v1", cfg->public_url), *cause = NULL, *token;
	struct account_token_claims claims = {
		.issuer = issuer, .session_id = session_id, .method = method,
		.signed_in_at = signed_in_at, .now = now, .expiry = cfg->auth_jwt_expiry,
	};
	json_t *body = NULL;

	/* PUBLIC_URL may end in a slash; the issuer never has two. */
	if (g_str_has_suffix(cfg->public_url, "/")) {
		g_free(issuer);
		issuer = g_strdup_printf("%sauth/v1", cfg->public_url);
		claims.issuer = issuer;
	}
	if ((token = account_access_token(cfg->supabase_jwt_secret, user, &claims, &cause)) == NULL) {
		gotrue_fail(req, "access token", cause);
		goto out;
	}
	body = json_pack("{s:s, s:s, s:i, s:I, s:s, s:O}",
	    "access_token", token, "token_type", "bearer", "expires_in", cfg->auth_jwt_expiry,
	    "expires_at", (json_int_t)(now + cfg->auth_jwt_expiry), "refresh_token", refresh,
	    "user", user);
	g_free(token);
out:
	g_free(issuer);
	return body;
}

void
gotrue_session(struct request *req, json_t *user, const char *session_id, const char *method,
    gint64 signed_in_at, const char *refresh)
{
	json_t *body = gotrue_session_body(req, user, session_id, method, signed_in_at, refresh);

	if (body != NULL)
		response_json(req, 200, body);
}

json_t *
gotrue_session_start(struct request *req, struct db_conn *c, const char *user_id,
    const char *method)
{
	char session_id[ACCOUNT_UUID_LEN + 1], refresh[ACCOUNT_TOKEN_LEN + 1],
	    digest[ACCOUNT_DIGEST_LEN + 1], *cause = NULL;
	gint64 signed_in_at;
	json_t *user = NULL, *body;
	int rc;

	account_uuid_new(session_id);
	account_token_new(refresh);
	account_token_digest(refresh, digest);
	if (account_store_session_new(c, session_id, user_id, method, digest, &signed_in_at,
	    &cause) != 0) {
		gotrue_fail(req, "session", cause);
		return NULL;
	}
	/* After the session: the user object carries the new last_sign_in_at. */
	if ((rc = account_store_user(c, user_id, &user, &cause)) <= 0) {
		gotrue_fail(req, "account", rc == 0 ? g_strdup("the account vanished") : cause);
		return NULL;
	}
	body = gotrue_session_body(req, user, session_id, method, signed_in_at, refresh);
	json_decref(user);
	return body;
}

void
gotrue_sign_in(struct request *req, struct db_conn *c, const char *user_id, const char *method)
{
	json_t *body = gotrue_session_start(req, c, user_id, method);

	if (body != NULL)
		response_json(req, 200, body);
}
