/* GET /auth/v1/user, PUT /auth/v1/user and POST /auth/v1/logout: what the
 * holder of an access token may do with their account and sessions. */
#include "autoconfig.h"

#include <string.h>

#include "account-store.h"
#include "gotrue-mail.h"
#include "gotrue.h"
#include "log.h"
#include "ratelimit-hook.h"
#include "route.h"

/* The account USER_ID as GoTrue's user object (a new reference), or NULL
 * when the answer (an error) has been sent. */
static json_t *
gotrue_user_load(struct request *req, struct db_conn *c, const char *user_id)
{
	json_t *user = NULL;
	char *cause = NULL;
	int rc;

	if ((rc = account_store_user(c, user_id, &user, &cause)) <= 0) {
		gotrue_fail(req, "account", rc == 0 ? g_strdup("the account vanished") : cause);
		return NULL;
	}
	return user;
}

static void
gotrue_user_get(struct request *req)
{
	char user_id[ACCOUNT_UUID_LEN + 1], session_id[ACCOUNT_UUID_LEN + 1];
	struct db_conn *c = NULL;
	json_t *user = NULL;

	if (!gotrue_begin(req) || (c = gotrue_db(req)) == NULL ||
	    !gotrue_caller(req, c, user_id, session_id))
		goto out;
	if ((user = gotrue_user_load(req, c, user_id)) == NULL)
		goto out;
	response_json(req, 200, json_incref(user));
out:
	json_decref(user);
	db_release(c);
}

/* Whether EMAIL may become an account's address: 1, or 0 after answering
 * 422 email_exists (another account has it) or 429 (too many mails to it),
 * or -1 after answering 500. */
static int
gotrue_email_free(struct request *req, struct db_conn *c, const char *email)
{
	char other[ACCOUNT_UUID_LEN + 1], *hash = NULL, *cause = NULL;
	gboolean disabled, confirmed;
	int rc = account_store_find_email(c, email, other, &hash, &disabled, &confirmed, &cause);

	g_free(hash);
	if (rc < 0) {
		gotrue_fail(req, "account lookup", cause);
		return -1;
	}
	if (rc == 1) {
		gotrue_error(req, 422, "email_exists",
		    "A user with this email address has already been registered");
		return 0;
	}
	return gotrue_mail_limit(req, "verify_email", email) ? 1 : 0;
}

static void
gotrue_user_put(struct request *req)
{
	char user_id[ACCOUNT_UUID_LEN + 1], session_id[ACCOUNT_UUID_LEN + 1], hash[ACCOUNT_HASH_MAX],
	    *cause = NULL, *old_hash = NULL, *email = NULL;
	const char *password, *email_in;
	struct db_conn *c = NULL;
	json_t *body = NULL, *data, *user = NULL;
	gboolean change = FALSE;
	int rc;

	if (!gotrue_begin(req) || (body = gotrue_body(req)) == NULL)
		goto out;
	if (!gotrue_string(req, body, "password", &password) ||
	    !gotrue_string(req, body, "email", &email_in))
		goto out;
	data = json_object_get(body, "data");
	if (data != NULL && !json_is_null(data) && !json_is_object(data)) {
		gotrue_error(req, 400, "bad_json", "Could not parse request body as JSON: data must be an object");
		goto out;
	}
	/* A password set after a recovery mail is the guide's reset_password;
	 * nothing tells it from any other change, so each counts. */
	if (password != NULL && !ratelimit_hook_check(req, "reset_password"))
		goto out;
	if ((c = gotrue_db(req)) == NULL || !gotrue_caller(req, c, user_id, session_id))
		goto out;
	if ((rc = account_store_user(c, user_id, &user, &cause)) <= 0) {
		gotrue_fail(req, "account", rc == 0 ? g_strdup("the account vanished") : cause);
		goto out;
	}
	if (email_in != NULL && *email_in != '\0') {
		email = account_email_normalise(email_in);
		if (email == NULL) {
			gotrue_error(req, 400, "validation_failed", "Unable to validate email address: invalid format");
			goto out;
		}
		/* A new address changes once the link mailed to it is followed. */
		if (strcmp(email, json_string_value(json_object_get(user, "email"))) != 0) {
			if ((rc = gotrue_email_free(req, c, email)) <= 0)
				goto out;
			change = TRUE;
		}
	}
	if (password != NULL) {
		if (!gotrue_password_ok(req, password))
			goto out;
		if (account_store_password_hash(c, user_id, &old_hash, &cause) < 0) {
			gotrue_fail(req, "account", cause);
			goto out;
		}
		if (old_hash != NULL && account_password_verify(old_hash, password)) {
			gotrue_error(req, 422, "same_password",
			    "New password should be different from the old password.");
			goto out;
		}
		if (account_password_hash(password, hash) != 0) {
			gotrue_fail(req, "password hash", g_strdup("argon2id: out of memory"));
			goto out;
		}
	}
	if (password != NULL || json_is_object(data)) {
		if ((rc = account_store_update(c, user_id, password != NULL ? hash : NULL, session_id,
		    json_is_object(data) ? data : NULL, &cause)) <= 0) {
			gotrue_fail(req, "account update", rc == 0 ? g_strdup("the account vanished") : cause);
			goto out;
		}
		if (password != NULL)
			log_info("%s account %s: password changed, other sessions ended", req->request_id,
			    user_id);
		g_clear_pointer(&user, json_decref);
		if ((user = gotrue_user_load(req, c, user_id)) == NULL)
			goto out;
	}
	if (change) {
		if (!gotrue_mail_send(req, c, ACCOUNT_MAIL_EMAIL_CHANGE, user_id, email))
			goto out;
		json_object_set_new(user, "new_email", json_string(email));
		json_object_set(user, "email_change_sent_at", json_object_get(user, "updated_at"));
	}
	response_json(req, 200, json_incref(user));
out:
	json_decref(user);
	json_decref(body);
	db_release(c);
	g_free(old_hash);
	g_free(email);
}

static void
gotrue_logout(struct request *req)
{
	const char *scope_in = request_query(req, "scope");
	char user_id[ACCOUNT_UUID_LEN + 1], session_id[ACCOUNT_UUID_LEN + 1], *cause = NULL, *msg;
	enum account_logout_scope scope;
	struct db_conn *c = NULL;

	if (!gotrue_begin(req))
		return;
	if (scope_in == NULL || *scope_in == '\0' || strcmp(scope_in, "global") == 0)
		scope = ACCOUNT_LOGOUT_GLOBAL;
	else if (strcmp(scope_in, "local") == 0)
		scope = ACCOUNT_LOGOUT_LOCAL;
	else if (strcmp(scope_in, "others") == 0)
		scope = ACCOUNT_LOGOUT_OTHERS;
	else {
		msg = g_strdup_printf("Unsupported logout scope %s", scope_in);
		gotrue_error(req, 400, "validation_failed", msg);
		g_free(msg);
		return;
	}
	if ((c = gotrue_db(req)) == NULL || !gotrue_caller(req, c, user_id, session_id))
		goto out;
	if (account_store_logout(c, user_id, session_id, scope, &cause) != 0) {
		gotrue_fail(req, "logout", cause);
		goto out;
	}
	response_empty(req, 204);
out:
	db_release(c);
}

const struct route gotrue_user_routes[] = {
	{ .method = "GET", .pattern = "/auth/v1/user", .handler = gotrue_user_get },
	{ .method = "PUT", .pattern = "/auth/v1/user", .handler = gotrue_user_put },
	{ .method = "POST", .pattern = "/auth/v1/logout", .handler = gotrue_logout },
	{ .method = NULL }
};
