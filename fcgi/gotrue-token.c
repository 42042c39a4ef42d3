/* POST /auth/v1/signup and POST /auth/v1/token (grant_type password and
 * refresh_token): how an account is made and a session begins or goes on. */
#include "autoconfig.h"

#include <string.h>

#include "account-store.h"
#include "config.h"
#include "gotrue-mail.h"
#include "gotrue.h"
#include "gotrue-oauth.h"
#include "log.h"
#include "ratelimit-hook.h"
#include "route.h"

static void
gotrue_signup(struct request *req)
{
	const struct config *cfg = req->app->cfg;
	json_t *body = NULL, *data, *user = NULL;
	const char *email_in, *password;
	char *email = NULL, *cause = NULL, user_id[ACCOUNT_UUID_LEN + 1], hash[ACCOUNT_HASH_MAX];
	struct db_conn *c = NULL;
	int rc;

	if (!gotrue_begin(req) || (body = gotrue_body(req)) == NULL)
		goto out;
	if (!gotrue_string(req, body, "email", &email_in) ||
	    !gotrue_string(req, body, "password", &password))
		goto out;
	data = json_object_get(body, "data");
	if (data != NULL && !json_is_null(data) && !json_is_object(data)) {
		gotrue_error(req, 400, "bad_json", "Could not parse request body as JSON: data must be an object");
		goto out;
	}
	if (cfg->auth_disable_signup) {
		gotrue_error(req, 422, "signup_disabled", "Signups not allowed for this instance");
		goto out;
	}
	/* GoTrue's order: the password, then the address. */
	if (password == NULL || *password == '\0') {
		gotrue_error(req, 422, "validation_failed", "Signup requires a valid password");
		goto out;
	}
	if (!gotrue_password_ok(req, password))
		goto out;
	if (email_in == NULL || *email_in == '\0') {
		gotrue_error(req, 400, "validation_failed", "An email address is required");
		goto out;
	}
	if ((email = account_email_normalise(email_in)) == NULL) {
		gotrue_error(req, 400, "validation_failed", "Unable to validate email address: invalid format");
		goto out;
	}
	if (account_password_hash(password, hash) != 0) {
		gotrue_fail(req, "password hash", g_strdup("argon2id: out of memory"));
		goto out;
	}
	if ((c = gotrue_db(req)) == NULL)
		goto out;
	account_uuid_new(user_id);
	/* Confirmed at once with AUTH_MAILER_AUTOCONFIRM, else by the link
	 * mailed (gotrue-mail.c). */
	rc = account_store_create(c, user_id, email, hash, cfg->auth_mailer_autoconfirm,
	    json_is_object(data) ? data : NULL, &user, &cause);
	if (rc < 0) {
		gotrue_fail(req, "signup", cause);
		goto out;
	}
	if (rc == 1)
		log_info("%s signup: account %s", req->request_id, user_id);
	if (!cfg->auth_mailer_autoconfirm)
		gotrue_signup_unconfirmed(req, c, rc == 1 ? user : NULL, email);
	else if (rc == 0)
		gotrue_error(req, 422, "user_already_exists", "User already registered");
	else
		gotrue_sign_in(req, c, user_id, "password");
out:
	db_release(c);
	json_decref(user);
	json_decref(body);
	g_free(email);
}

/* An imported bcrypt hash (Supabase's) that just verified becomes
 * argon2id, as every hash we make. A failure only leaves it bcrypt (it
 * still verifies), so the login goes on either way. */
static void
gotrue_rehash(struct request *req, struct db_conn *c, const char *user_id, const char *old_hash,
    const char *password)
{
	char hash[ACCOUNT_HASH_MAX], *cause = NULL;

	if (account_password_hash(password, hash) != 0)
		return;
	if (account_store_rehash(c, user_id, old_hash, hash, &cause) != 0) {
		log_warn("%s password rehash: %s", req->request_id, cause);
		g_free(cause);
		return;
	}
	log_info("%s account %s: imported bcrypt hash replaced by argon2id", req->request_id, user_id);
}

static void
gotrue_grant_password(struct request *req, json_t *body)
{
	const char *email_in, *password;
	char *email = NULL, *hash = NULL, *cause = NULL, user_id[ACCOUNT_UUID_LEN + 1];
	gboolean disabled = FALSE, confirmed = FALSE, match;
	struct db_conn *c = NULL;
	int rc;

	if (!gotrue_string(req, body, "email", &email_in) ||
	    !gotrue_string(req, body, "password", &password))
		goto out;
	if (email_in == NULL || *email_in == '\0') {
		gotrue_error(req, 400, "validation_failed", "missing email or phone");
		goto out;
	}
	if (password == NULL)
		password = "";
	if ((c = gotrue_db(req)) == NULL)
		goto out;
	email = account_email_normalise(email_in);
	rc = email != NULL ? account_store_find_email(c, email, user_id, &hash, &disabled, &confirmed,
	    &cause) : 0;
	if (rc < 0) {
		gotrue_fail(req, "login", cause);
		goto out;
	}
	/* Always one argon2id verification: an unknown address (hash NULL)
	 * costs what a wrong password costs. */
	match = account_password_verify(rc == 1 ? hash : NULL, password);
	if (!match) {
		gotrue_error(req, 400, "invalid_credentials", "Invalid login credentials");
		goto out;
	}
	if (disabled) {
		gotrue_error(req, 400, "user_banned", "User is banned");
		goto out;
	}
	if (!confirmed) {
		gotrue_error(req, 400, "email_not_confirmed", "Email not confirmed");
		goto out;
	}
	if (account_password_is_bcrypt(hash))
		gotrue_rehash(req, c, user_id, hash, password);
	gotrue_sign_in(req, c, user_id, "password");
out:
	db_release(c);
	g_free(hash);
	g_free(email);
}

static void
gotrue_grant_refresh(struct request *req, json_t *body)
{
	const char *token;
	char digest[ACCOUNT_DIGEST_LEN + 1], refresh[ACCOUNT_TOKEN_LEN + 1],
	    new_digest[ACCOUNT_DIGEST_LEN + 1], *cause = NULL;
	struct account_refreshed r;
	struct db_conn *c = NULL;
	json_t *user = NULL;
	int rc;

	if (!gotrue_string(req, body, "refresh_token", &token))
		goto out;
	if (token == NULL || *token == '\0') {
		gotrue_error(req, 400, "validation_failed", "refresh_token required");
		goto out;
	}
	if ((c = gotrue_db(req)) == NULL)
		goto out;
	account_token_digest(token, digest);
	account_token_new(refresh);
	account_token_digest(refresh, new_digest);
	switch (account_store_refresh(c, digest, new_digest, req->app->cfg->auth_refresh_reuse_interval,
	    &r, &cause)) {
	case ACCOUNT_REFRESH_OK:
		break;
	case ACCOUNT_REFRESH_NOT_FOUND:
		gotrue_error(req, 400, "refresh_token_not_found", "Invalid Refresh Token: Refresh Token Not Found");
		goto out;
	case ACCOUNT_REFRESH_REUSED:
		log_warn("%s refresh token reused: session %s of %s ended", req->request_id,
		    r.session_id, r.user_id);
		gotrue_error(req, 400, "refresh_token_already_used", "Invalid Refresh Token: Already Used");
		goto out;
	case ACCOUNT_REFRESH_DISABLED:
		gotrue_error(req, 400, "user_banned", "User is banned");
		goto out;
	case ACCOUNT_REFRESH_ERROR:
		gotrue_fail(req, "refresh", cause);
		goto out;
	}
	if ((rc = account_store_user(c, r.user_id, &user, &cause)) <= 0) {
		gotrue_fail(req, "account", rc == 0 ? g_strdup("the account vanished") : cause);
		goto out;
	}
	gotrue_session(req, user, r.session_id, r.method, r.signed_in_at, refresh);
out:
	json_decref(user);
	db_release(c);
}

static void
gotrue_token(struct request *req)
{
	const char *grant = request_query(req, "grant_type");
	json_t *body = NULL;

	if (!gotrue_begin(req))
		return;
	/* The limit depends on the grant: log-ins are the guide's
	 * login_email, refreshes GoTrue's own token_refresh. */
	if (grant != NULL && strcmp(grant, "password") == 0) {
		if (!ratelimit_hook_check(req, "login_email"))
			return;
	} else if (grant != NULL && (strcmp(grant, "refresh_token") == 0 ||
	    strcmp(grant, "pkce") == 0)) {
		if (!ratelimit_hook_check(req, "token_refresh"))
			return;
	} else {
		gotrue_error(req, 400, "validation_failed", "unsupported_grant_type");
		return;
	}
	if ((body = gotrue_body(req)) == NULL)
		return;
	if (strcmp(grant, "password") == 0)
		gotrue_grant_password(req, body);
	else if (strcmp(grant, "pkce") == 0)
		gotrue_grant_pkce(req, body);
	else
		gotrue_grant_refresh(req, body);
	json_decref(body);
}

const struct route gotrue_token_routes[] = {
	{ .method = "POST", .pattern = "/auth/v1/signup", .handler = gotrue_signup, .limit = "signup_email" },
	{ .method = "POST", .pattern = "/auth/v1/token", .handler = gotrue_token },
	{ .method = NULL }
};
