/* OAuth sign-in's SQL (see account-identity.h). */
#include "autoconfig.h"

#include <stdlib.h>
#include <string.h>

#include "account-identity.h"
#include "account-store.h"
#include "auth-jwt.h"
#include "podcast-store.h"

void
account_flow_clear(struct account_flow *f)
{
	g_free(f->provider);
	g_free(f->redirect_to);
	g_free(f->nonce);
	memset(f, 0, sizeof *f);
}

int
account_flow_new(struct db_conn *c, const char *flow_id, const char *state_digest,
    const char *provider, const char *redirect_to, const char *challenge, const char *method,
    const char *nonce, int ttl, char **cause)
{
	char ttl_text[16];
	const char *params[] = { flow_id, state_digest, provider, redirect_to, challenge, method,
	    nonce, ttl_text };

	g_snprintf(ttl_text, sizeof ttl_text, "%d", ttl);
	/* Flows dead for a day go on the way: the table stays small. */
	return account_run(c, "acct_flow_new",
	    "WITH gone AS (DELETE FROM auth_flow_states WHERE expires_at < now() - interval '1 day' "
	    "AND coalesce(auth_code_expires_at, expires_at) < now() - interval '1 day') "
	    "INSERT INTO auth_flow_states (id, state_hash, provider, redirect_to, code_challenge, "
	    "code_challenge_method, nonce, expires_at) VALUES ($1::uuid, $2, $3, $4, $5, $6, $7, "
	    "now() + make_interval(secs => $8::int))", 8, params, "flow insert", cause);
}

enum account_flow_state
account_flow_spend_state(struct db_conn *c, const char *state_digest, struct account_flow *out,
    char **cause)
{
	const char *params[] = { state_digest };
	PGresult *res = account_exec(c, "acct_flow_spend",
	    "UPDATE auth_flow_states SET state_used_at = now() "
	    "WHERE state_hash = $1 AND state_used_at IS NULL "
	    "RETURNING id, provider, redirect_to, nonce, code_challenge IS NOT NULL, expires_at <= now()",
	    1, params, "flow state", cause);
	enum account_flow_state rc = ACCOUNT_FLOW_UNKNOWN;

	if (res == NULL)
		return ACCOUNT_FLOW_ERROR;
	if (PQntuples(res) == 1) {
		g_strlcpy(out->id, PQgetvalue(res, 0, 0), sizeof out->id);
		out->provider = g_strdup(PQgetvalue(res, 0, 1));
		out->redirect_to = g_strdup(PQgetvalue(res, 0, 2));
		out->nonce = g_strdup(PQgetvalue(res, 0, 3));
		out->pkce = PQgetvalue(res, 0, 4)[0] == 't';
		rc = PQgetvalue(res, 0, 5)[0] == 't' ? ACCOUNT_FLOW_EXPIRED : ACCOUNT_FLOW_OK;
	}
	PQclear(res);
	return rc;
}

/* One row's first column into USER_ID and its second (a boolean) into
 * *FLAG: 1, 0 when there is no row, -1. */
static int
account_identity_row(struct db_conn *c, const char *name, const char *sql, int n,
    const char *const *params, char user_id[ACCOUNT_UUID_LEN + 1], gboolean *flag, char **cause)
{
	PGresult *res = account_exec(c, name, sql, n, params, "identity lookup", cause);
	int rc;

	if (res == NULL)
		return -1;
	if ((rc = PQntuples(res) == 1)) {
		g_strlcpy(user_id, PQgetvalue(res, 0, 0), ACCOUNT_UUID_LEN + 1);
		*flag = PQgetvalue(res, 0, 1)[0] == 't';
	}
	PQclear(res);
	return rc;
}

/* Inserts the identity of X for USER_ID: 1, 0 when it already exists (a
 * concurrent callback made it), -1. */
static int
account_identity_insert(struct db_conn *c, const struct account_external *x, const char *user_id,
    const char *data, char **cause)
{
	char id[ACCOUNT_UUID_LEN + 1];
	const char *params[] = { id, user_id, x->provider, x->subject, data };
	PGresult *res;
	int rc;

	account_uuid_new(id);
	res = account_exec(c, "acct_identity_insert",
	    "INSERT INTO auth_identities (id, user_id, provider, provider_id, identity_data, "
	    "last_sign_in_at) VALUES ($1::uuid, $2::uuid, $3, $4, $5::jsonb, now()) "
	    "ON CONFLICT (provider, provider_id) DO NOTHING RETURNING id", 5, params,
	    "identity insert", cause);
	if (res == NULL)
		return -1;
	rc = PQntuples(res) == 1;
	PQclear(res);
	return rc;
}

#define ACCOUNT_LINK_RETRY ((enum account_link)-1)

/* One attempt inside an open transaction; ACCOUNT_LINK_RETRY when a
 * concurrent sign-in of the same identity or address won a race. */
static enum account_link
account_identity_attempt(struct db_conn *c, const struct account_external *x, const char *data,
    char user_id[ACCOUNT_UUID_LEN + 1], char **cause)
{
	const char *params[5];
	char users_id[ULID_LEN + 1];
	gboolean disabled = FALSE;
	PGresult *res;
	int rc;

	params[0] = x->provider;
	params[1] = x->subject;
	rc = account_identity_row(c, "acct_identity_find",
	    "SELECT i.user_id, c.disabled FROM auth_identities i "
	    "JOIN auth_credentials c ON c.user_id = i.user_id "
	    "WHERE i.provider = $1 AND i.provider_id = $2 FOR UPDATE OF i, c", 2, params, user_id,
	    &disabled, cause);
	if (rc < 0)
		return ACCOUNT_LINK_ERROR;
	if (rc == 1) {
		if (disabled)
			return ACCOUNT_LINK_BANNED;
		/* GoTrue refreshes the identity and merges it into user_metadata. */
		params[2] = data;
		params[3] = user_id;
		if (account_run(c, "acct_identity_touch",
		    "WITH i AS (UPDATE auth_identities SET identity_data = $3::jsonb, "
		    "last_sign_in_at = now(), updated_at = now() WHERE provider = $1 AND provider_id = $2) "
		    "UPDATE auth_credentials SET user_metadata = user_metadata || $3::jsonb, "
		    "updated_at = now() WHERE user_id = $4::uuid", 4, params, "identity update", cause) != 0)
			return ACCOUNT_LINK_ERROR;
		return ACCOUNT_LINK_SIGNED_IN;
	}
	if (x->email == NULL || !x->email_verified)
		return ACCOUNT_LINK_NEED_EMAIL;
	params[0] = x->email;
	rc = account_identity_row(c, "acct_ident_by_email",
	    "SELECT user_id, disabled FROM auth_credentials WHERE email = $1 FOR UPDATE", 1, params,
	    user_id, &disabled, cause);
	if (rc < 0)
		return ACCOUNT_LINK_ERROR;
	if (rc == 1) {
		if (disabled)
			return ACCOUNT_LINK_BANNED;
		if ((rc = account_identity_insert(c, x, user_id, data, cause)) <= 0)
			return rc == 0 ? ACCOUNT_LINK_RETRY : ACCOUNT_LINK_ERROR;
		/* The provider vouches for the address: an unconfirmed account's
		 * password may be a stranger's, so it goes (GoTrue does the same). */
		params[0] = user_id;
		params[1] = x->provider;
		if (account_run(c, "acct_identity_link",
		    "UPDATE auth_credentials SET app_metadata = jsonb_set(app_metadata, '{providers}', "
		    "CASE WHEN coalesce(app_metadata->'providers', '[]') ? $2 "
		    "THEN coalesce(app_metadata->'providers', '[]') "
		    "ELSE coalesce(app_metadata->'providers', '[]') || to_jsonb($2::text) END), "
		    "password_hash = CASE WHEN confirmed_at IS NULL THEN NULL ELSE password_hash END, "
		    "confirmed_at = coalesce(confirmed_at, now()), updated_at = now() "
		    "WHERE user_id = $1::uuid", 2, params, "identity link", cause) != 0)
			return ACCOUNT_LINK_ERROR;
		return ACCOUNT_LINK_LINKED;
	}
	if (!x->allow_signup)
		return ACCOUNT_LINK_SIGNUP_DISABLED;
	account_uuid_new(user_id);
	params[0] = user_id;
	params[1] = x->email;
	params[2] = data;
	params[3] = x->provider;
	res = account_exec(c, "acct_identity_create",
	    "INSERT INTO auth_credentials (user_id, email, confirmed_at, user_metadata, app_metadata) "
	    "VALUES ($1::uuid, $2, now(), $3::jsonb, "
	    "jsonb_build_object('provider', $4::text, 'providers', jsonb_build_array($4::text))) "
	    "ON CONFLICT (email) DO NOTHING RETURNING user_id", 4, params, "account insert", cause);
	if (res == NULL)
		return ACCOUNT_LINK_ERROR;
	rc = PQntuples(res);
	PQclear(res);
	if (rc == 0)
		return ACCOUNT_LINK_RETRY;
	if ((rc = account_identity_insert(c, x, user_id, data, cause)) <= 0)
		return rc == 0 ? ACCOUNT_LINK_RETRY : ACCOUNT_LINK_ERROR;
	if (podcast_store_user(c, user_id, x->email, users_id, cause) != 0)
		return ACCOUNT_LINK_ERROR;
	return ACCOUNT_LINK_CREATED;
}

enum account_link
account_identity_sign_in(struct db_conn *c, const struct account_external *x,
    char user_id[ACCOUNT_UUID_LEN + 1], char **cause)
{
	char *data = json_dumps(x->identity_data, JSON_COMPACT);
	enum account_link rc = ACCOUNT_LINK_ERROR;

	/* A lost race is tried once more: the winner's rows are then found. */
	for (int attempt = 0; attempt < 2; attempt++) {
		if (account_run(c, NULL, "BEGIN", 0, NULL, "begin", cause) != 0)
			break;
		rc = account_identity_attempt(c, x, data, user_id, cause);
		if (rc == ACCOUNT_LINK_SIGNED_IN || rc == ACCOUNT_LINK_LINKED ||
		    rc == ACCOUNT_LINK_CREATED) {
			if (account_run(c, NULL, "COMMIT", 0, NULL, "commit", cause) != 0) {
				account_rollback(c);
				rc = ACCOUNT_LINK_ERROR;
			}
			break;
		}
		account_rollback(c);
		if (rc != ACCOUNT_LINK_RETRY)
			break;
		rc = ACCOUNT_LINK_ERROR;
		if (attempt == 1)
			*cause = g_strdup("identity: lost the same race twice");
	}
	free(data);
	return rc;
}

int
account_flow_set_code(struct db_conn *c, const char *flow_id, const char *user_id,
    const char *code_digest, int ttl, char **cause)
{
	char ttl_text[16];
	const char *params[] = { flow_id, user_id, code_digest, ttl_text };

	g_snprintf(ttl_text, sizeof ttl_text, "%d", ttl);
	return account_run(c, "acct_flow_code",
	    "UPDATE auth_flow_states SET user_id = $2::uuid, auth_code_hash = $3, "
	    "auth_code_expires_at = now() + make_interval(secs => $4::int) WHERE id = $1::uuid",
	    4, params, "auth code", cause);
}

gboolean
account_pkce_matches(const char *method, const char *challenge, const char *verifier)
{
	guint8 digest[32];
	gsize len = sizeof digest;
	GChecksum *sum;
	char *encoded;
	gboolean ok;

	if (g_ascii_strcasecmp(method, "plain") == 0)
		return account_equal(challenge, verifier);
	sum = g_checksum_new(G_CHECKSUM_SHA256);
	g_checksum_update(sum, (const guchar *)verifier, (gssize)strlen(verifier));
	g_checksum_get_digest(sum, digest, &len);
	g_checksum_free(sum);
	encoded = auth_b64url_encode(digest, len);
	ok = account_equal(challenge, encoded);
	g_free(encoded);
	return ok;
}

enum account_pkce
account_flow_redeem(struct db_conn *c, const char *code_digest, const char *verifier,
    char user_id[ACCOUNT_UUID_LEN + 1], char provider[64], char **cause)
{
	const char *params[] = { code_digest };
	PGresult *res = NULL;
	enum account_pkce rc = ACCOUNT_PKCE_ERROR;
	gboolean expired, matches;
	char id[ACCOUNT_UUID_LEN + 1];

	if (account_run(c, NULL, "BEGIN", 0, NULL, "begin", cause) != 0)
		return ACCOUNT_PKCE_ERROR;
	res = account_exec(c, "acct_flow_redeem",
	    "SELECT id, user_id, provider, code_challenge, code_challenge_method, "
	    "auth_code_expires_at <= now() FROM auth_flow_states "
	    "WHERE auth_code_hash = $1 AND user_id IS NOT NULL AND code_challenge IS NOT NULL "
	    "FOR UPDATE", 1, params, "auth code lookup", cause);
	if (res == NULL)
		goto fail;
	if (PQntuples(res) == 0) {
		rc = ACCOUNT_PKCE_NOT_FOUND;
		goto fail;
	}
	g_strlcpy(id, PQgetvalue(res, 0, 0), sizeof id);
	g_strlcpy(user_id, PQgetvalue(res, 0, 1), ACCOUNT_UUID_LEN + 1);
	g_strlcpy(provider, PQgetvalue(res, 0, 2), 64);
	expired = PQgetvalue(res, 0, 5)[0] == 't';
	matches = !expired && account_pkce_matches(PQgetvalue(res, 0, 4), PQgetvalue(res, 0, 3),
	    verifier);
	g_clear_pointer(&res, PQclear);
	if (!expired && !matches) {
		rc = ACCOUNT_PKCE_BAD_VERIFIER;
		goto fail;
	}
	/* Redeemed or dead: either way the code works no more. */
	params[0] = id;
	if (account_run(c, "acct_flow_delete", "DELETE FROM auth_flow_states WHERE id = $1::uuid",
	    1, params, "flow delete", cause) != 0 ||
	    account_run(c, NULL, "COMMIT", 0, NULL, "commit", cause) != 0)
		goto fail;
	return expired ? ACCOUNT_PKCE_EXPIRED : ACCOUNT_PKCE_OK;
fail:
	PQclear(res);
	account_rollback(c);
	return rc;
}
