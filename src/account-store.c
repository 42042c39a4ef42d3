/* The built-in accounts' SQL (see account-store.h). */
#include "autoconfig.h"

#include <stdlib.h>
#include <string.h>

#include "account-store.h"
#include "podcast-store.h"

/* GoTrue's timestamps: UTC with microseconds and a Z. */
#define ACCOUNT_TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"

/* GoTrue's user object of the credentials row c. */
#define ACCOUNT_USER_JSON \
	"json_build_object('id', c.user_id, 'aud', 'authenticated', 'role', 'authenticated', " \
	"'email', c.email, 'email_confirmed_at', " ACCOUNT_TS("c.confirmed_at") ", 'phone', '', " \
	"'confirmed_at', " ACCOUNT_TS("c.confirmed_at") ", " \
	"'last_sign_in_at', " ACCOUNT_TS("c.last_sign_in_at") ", " \
	"'app_metadata', c.app_metadata, 'user_metadata', c.user_metadata, " \
	"'identities', coalesce((SELECT json_agg(json_build_object('identity_id', i.id, " \
	"'id', i.provider_id, 'user_id', i.user_id, 'identity_data', i.identity_data, " \
	"'provider', i.provider, 'last_sign_in_at', " ACCOUNT_TS("i.last_sign_in_at") ", " \
	"'created_at', " ACCOUNT_TS("i.created_at") ", 'updated_at', " ACCOUNT_TS("i.updated_at") ", " \
	"'email', i.identity_data->>'email') ORDER BY i.created_at) " \
	"FROM auth_identities i WHERE i.user_id = c.user_id), '[]'::json), " \
	"'created_at', " ACCOUNT_TS("c.created_at") ", 'updated_at', " ACCOUNT_TS("c.updated_at") ", " \
	"'is_anonymous', false)::text"

PGresult *
account_exec(struct db_conn *c, const char *name, const char *sql, int n,
    const char *const *params, const char *what, char **cause)
{
	PGresult *res = db_exec(c, name, sql, n, params);

	if (db_ok(res))
		return res;
	*cause = g_strdup_printf("%s: %s", what, g_strchomp(PQresultErrorMessage(res)));
	PQclear(res);
	return NULL;
}

int
account_run(struct db_conn *c, const char *name, const char *sql, int n,
    const char *const *params, const char *what, char **cause)
{
	PGresult *res = account_exec(c, name, sql, n, params, what, cause);

	PQclear(res);
	return res != NULL ? 0 : -1;
}

void
account_rollback(struct db_conn *c)
{
	PQclear(db_exec(c, NULL, "ROLLBACK", 0, NULL));
}

int
account_store_user(struct db_conn *c, const char *user_id, json_t **user, char **cause)
{
	const char *params[] = { user_id };
	PGresult *res = account_exec(c, "acct_user", "SELECT " ACCOUNT_USER_JSON
	    " FROM auth_credentials c WHERE c.user_id = $1::uuid", 1, params, "account", cause);
	int rc = -1;

	if (res == NULL)
		return -1;
	if (PQntuples(res) == 0) {
		rc = 0;
		goto out;
	}
	if ((*user = json_loads(PQgetvalue(res, 0, 0), 0, NULL)) == NULL) {
		*cause = g_strdup("account: the user object is not JSON");
		goto out;
	}
	rc = 1;
out:
	PQclear(res);
	return rc;
}

int
account_store_create(struct db_conn *c, const char *user_id, const char *email,
    const char *hash, gboolean confirmed, json_t *meta, json_t **user, char **cause)
{
	char identity[ACCOUNT_UUID_LEN + 1], users_id[ULID_LEN + 1], *meta_text;
	const char *params[5];
	json_t *empty;
	PGresult *res = NULL;
	int rc = -1;

	empty = meta == NULL ? json_object() : NULL;
	meta_text = json_dumps(meta != NULL ? meta : empty, JSON_COMPACT);
	json_decref(empty);
	if (account_run(c, NULL, "BEGIN", 0, NULL, "begin", cause) != 0)
		goto out;
	params[0] = user_id;
	params[1] = email;
	params[2] = hash;
	params[3] = confirmed ? "t" : "f";
	params[4] = meta_text;
	res = account_exec(c, "acct_create",
	    "INSERT INTO auth_credentials (user_id, email, password_hash, confirmed_at, user_metadata) "
	    "VALUES ($1::uuid, $2, $3, CASE WHEN $4::boolean THEN now() END, $5::jsonb) "
	    "ON CONFLICT (email) DO NOTHING RETURNING user_id", 5, params, "account insert", cause);
	if (res == NULL)
		goto fail;
	if (PQntuples(res) == 0) {
		rc = 0;
		goto fail;
	}
	account_uuid_new(identity);
	params[0] = identity;
	params[1] = user_id;
	params[2] = email;
	if (account_run(c, "acct_identity_email",
	    "INSERT INTO auth_identities (id, user_id, provider, provider_id, identity_data) "
	    "VALUES ($1::uuid, $2::uuid, 'email', $2, json_build_object('sub', $2::text, "
	    "'email', $3::text, 'email_verified', false, 'phone_verified', false))",
	    3, params, "identity insert", cause) != 0)
		goto fail;
	if (podcast_store_user(c, user_id, email, users_id, cause) != 0)
		goto fail;
	if (account_run(c, NULL, "COMMIT", 0, NULL, "commit", cause) != 0)
		goto fail;
	if ((rc = account_store_user(c, user_id, user, cause)) == 0) {
		*cause = g_strdup("account vanished after it was made");
		rc = -1;
	}
	goto out;
fail:
	account_rollback(c);
out:
	PQclear(res);
	free(meta_text);
	return rc;
}

int
account_store_find_email(struct db_conn *c, const char *email,
    char user_id[ACCOUNT_UUID_LEN + 1], char **hash, gboolean *disabled, gboolean *confirmed,
    char **cause)
{
	const char *params[] = { email };
	PGresult *res = account_exec(c, "acct_find_email",
	    "SELECT user_id, password_hash, disabled, confirmed_at IS NOT NULL "
	    "FROM auth_credentials WHERE email = $1", 1, params, "account lookup", cause);
	int rc = 0;

	*hash = NULL;
	if (res == NULL)
		return -1;
	if (PQntuples(res) == 1) {
		g_strlcpy(user_id, PQgetvalue(res, 0, 0), ACCOUNT_UUID_LEN + 1);
		if (!PQgetisnull(res, 0, 1))
			*hash = g_strdup(PQgetvalue(res, 0, 1));
		*disabled = PQgetvalue(res, 0, 2)[0] == 't';
		*confirmed = PQgetvalue(res, 0, 3)[0] == 't';
		rc = 1;
	}
	PQclear(res);
	return rc;
}

int
account_store_password_hash(struct db_conn *c, const char *user_id, char **hash, char **cause)
{
	const char *params[] = { user_id };
	PGresult *res = account_exec(c, "acct_password_hash",
	    "SELECT password_hash FROM auth_credentials WHERE user_id = $1::uuid", 1, params,
	    "account lookup", cause);
	int rc = 0;

	*hash = NULL;
	if (res == NULL)
		return -1;
	if (PQntuples(res) == 1) {
		if (!PQgetisnull(res, 0, 0))
			*hash = g_strdup(PQgetvalue(res, 0, 0));
		rc = 1;
	}
	PQclear(res);
	return rc;
}

int
account_store_rehash(struct db_conn *c, const char *user_id, const char *old_hash, const char *new_hash,
    char **cause)
{
	const char *params[] = { user_id, old_hash, new_hash };

	return account_run(c, "acct_rehash",
	    "UPDATE auth_credentials SET password_hash = $3, updated_at = now() "
	    "WHERE user_id = $1::uuid AND password_hash = $2", 3, params, "password rehash", cause);
}

int
account_store_session_new(struct db_conn *c, const char *session_id, const char *user_id,
    const char *method, const char *digest, gint64 *signed_in_at, char **cause)
{
	const char *params[] = { session_id, user_id, method, digest };
	PGresult *res;

	/* One statement: the session, its first token and the sign-in time. */
	res = account_exec(c, "acct_session_new",
	    "WITH s AS (INSERT INTO auth_sessions (id, user_id, method) "
	    "VALUES ($1::uuid, $2::uuid, $3) RETURNING id, signed_in_at), "
	    "t AS (INSERT INTO auth_refresh_tokens (token_hash, session_id) SELECT $4, id FROM s), "
	    "u AS (UPDATE auth_credentials SET last_sign_in_at = now() WHERE user_id = $2::uuid) "
	    "SELECT floor(extract(epoch FROM signed_in_at))::bigint FROM s", 4, params,
	    "session insert", cause);
	if (res == NULL)
		return -1;
	*signed_in_at = g_ascii_strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return 0;
}

int
account_store_session_live(struct db_conn *c, const char *session_id, const char *user_id,
    char **cause)
{
	const char *params[] = { session_id, user_id };
	PGresult *res = account_exec(c, "acct_session_live",
	    "SELECT 1 FROM auth_sessions WHERE id = $1::uuid AND user_id = $2::uuid", 2, params,
	    "session lookup", cause);
	int rc;

	if (res == NULL)
		return -1;
	rc = PQntuples(res) == 1;
	PQclear(res);
	return rc;
}

/* The usual refresh in one statement and one round trip: a token that
 * is unspent (or spent within the reuse interval) of an enabled account
 * is spent, its successor stored and the session touched. 1 and OUT
 * filled, 0 when the token is anything else (the caller then finds out
 * what, in a transaction), -1 and *cause. Its COMMIT does not wait for
 * the WAL flush (synchronous_commit off for this statement's
 * transaction): a refresh is the hot path of every signed-in client, and
 * the flush was most of its cost. A database crash can forget the last
 * fraction of a second of rotations; those clients' new tokens are then
 * unknown and they sign in again. No token becomes valid that was not. */
static int
account_refresh_fast(struct db_conn *c, const char *const params[3], struct account_refreshed *out,
    char **cause)
{
	PGresult *res = account_exec(c, "acct_refresh_fast",
	    "WITH relaxed AS (SELECT set_config('synchronous_commit', 'off', true)), "
	    "cur AS (SELECT t.id, t.session_id, s.user_id, s.method, "
	    "floor(extract(epoch FROM s.signed_in_at))::bigint AS signed_in "
	    "FROM auth_refresh_tokens t JOIN auth_sessions s ON s.id = t.session_id "
	    "JOIN auth_credentials cr ON cr.user_id = s.user_id "
	    "WHERE t.token_hash = $1 AND NOT cr.disabled AND (NOT t.revoked OR "
	    "(t.used_at IS NOT NULL AND t.used_at >= now() - make_interval(secs => $2::int))) "
	    "FOR UPDATE OF t, s), "
	    "spent AS (UPDATE auth_refresh_tokens SET revoked = true, used_at = coalesce(used_at, now()) "
	    "WHERE id = (SELECT id FROM cur)), "
	    "touched AS (UPDATE auth_sessions SET updated_at = now() WHERE id = (SELECT session_id FROM cur)), "
	    "successor AS (INSERT INTO auth_refresh_tokens (token_hash, session_id, parent) "
	    "SELECT $3, session_id, id FROM cur, relaxed) "
	    "SELECT session_id, user_id, method, signed_in FROM cur", 3, params, "refresh token rotate", cause);
	int rc;

	if (res == NULL)
		return -1;
	if ((rc = PQntuples(res) == 1) == 1) {
		g_strlcpy(out->session_id, PQgetvalue(res, 0, 0), sizeof out->session_id);
		g_strlcpy(out->user_id, PQgetvalue(res, 0, 1), sizeof out->user_id);
		g_strlcpy(out->method, PQgetvalue(res, 0, 2), sizeof out->method);
		out->signed_in_at = g_ascii_strtoll(PQgetvalue(res, 0, 3), NULL, 10);
	}
	PQclear(res);
	return rc;
}

enum account_refresh
account_store_refresh(struct db_conn *c, const char *digest, const char *new_digest,
    int reuse_interval, struct account_refreshed *out, char **cause)
{
	char interval[16], id[32];
	const char *params[3];
	PGresult *res = NULL;
	enum account_refresh rc = ACCOUNT_REFRESH_ERROR;
	gboolean used, within;

	g_snprintf(interval, sizeof interval, "%d", reuse_interval);
	params[0] = digest;
	params[1] = interval;
	params[2] = new_digest;
	switch (account_refresh_fast(c, params, out, cause)) {
	case 1:
		return ACCOUNT_REFRESH_OK;
	case -1:
		return ACCOUNT_REFRESH_ERROR;
	}
	/* Not found, reused or disabled: which, and its consequence, in a
	 * transaction (and a token a concurrent refresh has just made usable
	 * is rotated here after all). */
	if (account_run(c, NULL, "BEGIN", 0, NULL, "begin", cause) != 0)
		return ACCOUNT_REFRESH_ERROR;
	params[0] = digest;
	params[1] = interval;
	res = account_exec(c, "acct_refresh_find",
	    "SELECT t.id, t.session_id, s.user_id, s.method, "
	    "floor(extract(epoch FROM s.signed_in_at))::bigint, t.revoked, "
	    "t.used_at IS NOT NULL AND t.used_at >= now() - make_interval(secs => $2::int), "
	    "cr.disabled "
	    "FROM auth_refresh_tokens t JOIN auth_sessions s ON s.id = t.session_id "
	    "JOIN auth_credentials cr ON cr.user_id = s.user_id "
	    "WHERE t.token_hash = $1 FOR UPDATE OF t, s", 2, params, "refresh token lookup", cause);
	if (res == NULL)
		goto fail;
	if (PQntuples(res) == 0) {
		rc = ACCOUNT_REFRESH_NOT_FOUND;
		goto fail;
	}
	g_strlcpy(id, PQgetvalue(res, 0, 0), sizeof id);
	g_strlcpy(out->session_id, PQgetvalue(res, 0, 1), sizeof out->session_id);
	g_strlcpy(out->user_id, PQgetvalue(res, 0, 2), sizeof out->user_id);
	g_strlcpy(out->method, PQgetvalue(res, 0, 3), sizeof out->method);
	out->signed_in_at = g_ascii_strtoll(PQgetvalue(res, 0, 4), NULL, 10);
	used = PQgetvalue(res, 0, 5)[0] == 't';
	within = PQgetvalue(res, 0, 6)[0] == 't';
	if (PQgetvalue(res, 0, 7)[0] == 't') {
		rc = ACCOUNT_REFRESH_DISABLED;
		goto fail;
	}
	g_clear_pointer(&res, PQclear);
	if (used && !within) {
		/* A spent token again, past the grace period: someone else may
		 * hold its successor. End the session (its tokens cascade). */
		params[0] = out->session_id;
		if (account_run(c, "acct_session_end", "DELETE FROM auth_sessions WHERE id = $1::uuid",
		    1, params, "session delete", cause) != 0 ||
		    account_run(c, NULL, "COMMIT", 0, NULL, "commit", cause) != 0)
			goto fail;
		return ACCOUNT_REFRESH_REUSED;
	}
	params[0] = id;
	params[1] = new_digest;
	params[2] = out->session_id;
	if (account_run(c, "acct_refresh_rotate",
	    "WITH spent AS (UPDATE auth_refresh_tokens SET revoked = true, "
	    "used_at = coalesce(used_at, now()) WHERE id = $1::bigint), "
	    "touched AS (UPDATE auth_sessions SET updated_at = now() WHERE id = $3::uuid) "
	    "INSERT INTO auth_refresh_tokens (token_hash, session_id, parent) "
	    "VALUES ($2, $3::uuid, $1::bigint)", 3, params, "refresh token rotate", cause) != 0 ||
	    account_run(c, NULL, "COMMIT", 0, NULL, "commit", cause) != 0)
		goto fail;
	return ACCOUNT_REFRESH_OK;
fail:
	PQclear(res);
	account_rollback(c);
	return rc;
}

int
account_store_update(struct db_conn *c, const char *user_id, const char *hash,
    const char *keep_session, json_t *meta, char **cause)
{
	char *meta_text = meta != NULL ? json_dumps(meta, JSON_COMPACT) : NULL;
	const char *params[3] = { user_id, hash, meta_text };
	PGresult *res = NULL;
	int rc = -1;

	if (account_run(c, NULL, "BEGIN", 0, NULL, "begin", cause) != 0)
		goto out;
	/* jsonb_strip_nulls after the merge: a key set to null is removed. */
	res = account_exec(c, "acct_update",
	    "UPDATE auth_credentials SET password_hash = coalesce($2, password_hash), "
	    "user_metadata = CASE WHEN $3::jsonb IS NULL THEN user_metadata "
	    "ELSE jsonb_strip_nulls(user_metadata || $3::jsonb) END, updated_at = now() "
	    "WHERE user_id = $1::uuid RETURNING user_id", 3, params, "account update", cause);
	if (res == NULL)
		goto fail;
	if (PQntuples(res) == 0) {
		rc = 0;
		goto fail;
	}
	if (hash != NULL) {
		params[1] = keep_session;
		if (account_run(c, "acct_end_others",
		    "DELETE FROM auth_sessions WHERE user_id = $1::uuid AND id <> $2::uuid", 2, params,
		    "session delete", cause) != 0)
			goto fail;
	}
	if (account_run(c, NULL, "COMMIT", 0, NULL, "commit", cause) != 0)
		goto fail;
	rc = 1;
	goto out;
fail:
	account_rollback(c);
out:
	PQclear(res);
	free(meta_text);
	return rc;
}

int
account_store_logout(struct db_conn *c, const char *user_id, const char *session_id,
    enum account_logout_scope scope, char **cause)
{
	const char *params[] = { user_id, session_id };

	switch (scope) {
	case ACCOUNT_LOGOUT_GLOBAL:
		return account_run(c, "acct_logout_global",
		    "DELETE FROM auth_sessions WHERE user_id = $1::uuid", 1, params, "logout", cause);
	case ACCOUNT_LOGOUT_LOCAL:
		return account_run(c, "acct_logout_local",
		    "DELETE FROM auth_sessions WHERE user_id = $1::uuid AND id = $2::uuid", 2, params,
		    "logout", cause);
	case ACCOUNT_LOGOUT_OTHERS:
		return account_run(c, "acct_end_others",
		    "DELETE FROM auth_sessions WHERE user_id = $1::uuid AND id <> $2::uuid", 2, params,
		    "logout", cause);
	}
	return 0;
}

int
account_store_otp_new(struct db_conn *c, const char *user_id, const char *kind,
    const char *digest, const char *relates_to, int expiry, char **cause)
{
	char secs[16];
	const char *params[] = { user_id, kind, digest, relates_to, secs };

	g_snprintf(secs, sizeof secs, "%d", expiry);
	/* One statement: the older links of this kind stop working. */
	return account_run(c, "acct_otp_new",
	    "WITH old AS (DELETE FROM auth_one_time_tokens WHERE user_id = $1::uuid AND kind = $2 "
	    "AND used_at IS NULL) "
	    "INSERT INTO auth_one_time_tokens (user_id, kind, token_hash, relates_to, expires_at) "
	    "VALUES ($1::uuid, $2, $3, $4, now() + make_interval(secs => $5::int))", 5, params,
	    "one-time token insert", cause);
}

enum account_verify
account_store_otp_use(struct db_conn *c, const char *digest, const char *kind, const char *email,
    char user_id[ACCOUNT_UUID_LEN + 1], char **cause)
{
	const char *params[3] = { digest, kind, email };
	char *new_email = NULL;
	PGresult *res = NULL;
	enum account_verify rc = ACCOUNT_VERIFY_ERROR;

	if (account_run(c, NULL, "BEGIN", 0, NULL, "begin", cause) != 0)
		return ACCOUNT_VERIFY_ERROR;
	/* The row lock makes one of two concurrent uses find it spent. */
	res = account_exec(c, "acct_otp_use",
	    "UPDATE auth_one_time_tokens t SET used_at = now() FROM auth_credentials cr "
	    "WHERE t.token_hash = $1 AND t.kind = $2 AND t.used_at IS NULL AND t.expires_at > now() "
	    "AND cr.user_id = t.user_id AND ($3::text IS NULL OR $3 = CASE "
	    "WHEN t.kind = 'email_change_new' THEN t.relates_to ELSE cr.email END) "
	    "RETURNING t.user_id, t.relates_to, cr.disabled", 3, params, "one-time token", cause);
	if (res == NULL)
		goto fail;
	if (PQntuples(res) == 0) {
		rc = ACCOUNT_VERIFY_INVALID;
		goto fail;
	}
	if (PQgetvalue(res, 0, 2)[0] == 't') {
		rc = ACCOUNT_VERIFY_DISABLED;
		goto fail;
	}
	g_strlcpy(user_id, PQgetvalue(res, 0, 0), ACCOUNT_UUID_LEN + 1);
	if (strcmp(kind, "email_change_new") == 0 && !PQgetisnull(res, 0, 1))
		new_email = g_strdup(PQgetvalue(res, 0, 1));
	g_clear_pointer(&res, PQclear);
	params[0] = user_id;
	params[1] = new_email;
	res = account_exec(c, "acct_otp_apply",
	    "WITH cr AS (UPDATE auth_credentials SET confirmed_at = coalesce(confirmed_at, now()), "
	    "email = coalesce($2, email), updated_at = now() WHERE user_id = $1::uuid "
	    "RETURNING email) "
	    "UPDATE auth_identities i SET identity_data = i.identity_data || "
	    "jsonb_build_object('email', cr.email, 'email_verified', true), updated_at = now() "
	    "FROM cr WHERE i.user_id = $1::uuid AND i.provider = 'email'", 2, params,
	    "account confirm", cause);
	if (res == NULL) {
		/* 23505: the new address became another account's meanwhile. */
		if (*cause != NULL && strstr(*cause, "auth_credentials_email") != NULL) {
			g_clear_pointer(cause, g_free);
			rc = ACCOUNT_VERIFY_EMAIL_TAKEN;
		}
		goto fail;
	}
	if (account_run(c, NULL, "COMMIT", 0, NULL, "commit", cause) != 0)
		goto fail;
	rc = ACCOUNT_VERIFY_OK;
	goto out;
fail:
	account_rollback(c);
out:
	PQclear(res);
	g_free(new_email);
	return rc;
}

int
account_store_list(struct db_conn *c, json_t **out, char **cause)
{
	PGresult *res = account_exec(c, NULL,
	    "SELECT coalesce(json_agg(json_build_object('id', user_id, 'email', email, "
	    "'confirmed_at', " ACCOUNT_TS("confirmed_at") ", 'disabled', disabled, "
	    "'created_at', " ACCOUNT_TS("created_at") ", "
	    "'last_sign_in_at', " ACCOUNT_TS("last_sign_in_at") ") ORDER BY created_at, email), "
	    "'[]')::text FROM auth_credentials", 0, NULL, "account list", cause);
	int rc = -1;

	if (res == NULL)
		return -1;
	if ((*out = json_loads(PQgetvalue(res, 0, 0), 0, NULL)) == NULL)
		*cause = g_strdup("account list: not JSON");
	else
		rc = 0;
	PQclear(res);
	return rc;
}

int
account_store_set_disabled(struct db_conn *c, const char *email, gboolean disabled, char **cause)
{
	const char *params[] = { email, disabled ? "t" : "f" };
	PGresult *res = account_exec(c, NULL,
	    "WITH cr AS (UPDATE auth_credentials SET disabled = $2::boolean, updated_at = now() "
	    "WHERE email = $1 RETURNING user_id), "
	    "s AS (DELETE FROM auth_sessions WHERE $2::boolean AND user_id IN (SELECT user_id FROM cr)) "
	    "SELECT count(*) FROM cr", 2, params, "account disable", cause);
	int rc;

	if (res == NULL)
		return -1;
	rc = strcmp(PQgetvalue(res, 0, 0), "0") != 0;
	PQclear(res);
	return rc;
}
