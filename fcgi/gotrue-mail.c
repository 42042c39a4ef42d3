/* POST /auth/v1/recover, POST /auth/v1/verify and GET /auth/v1/verify, and
 * the mails behind them (see gotrue-mail.h). */
#include "autoconfig.h"

#include <stdarg.h>
#include <string.h>

#include "account-store.h"
#include "config.h"
#include "gotrue-mail.h"
#include "gotrue.h"
#include "log.h"
#include "queue.h"
#include "ratelimit-hook.h"
#include "redirect-allow.h"
#include "route.h"

#define GOTRUE_MAIL_TASK  "email.send"
#define GOTRUE_MAIL_QUEUE "default"

/* Where a link or a verification may send the browser: REQUESTED when
 * allowed, else AUTH_SITE_URL, else PUBLIC_URL; without a fragment (the
 * session goes there). Caller frees. */
static char *
gotrue_mail_target(struct request *req, const char *requested)
{
	const struct config *cfg = req->app->cfg;
	const char *to = redirect_choose(cfg, requested);

	if (to == NULL)
		to = cfg->public_url;
	return g_strndup(to, strcspn(to, "#"));
}

gboolean
gotrue_mail_limit(struct request *req, const char *name, const char *email)
{
	char digest[ACCOUNT_DIGEST_LEN + 1], *key;
	gboolean ok;

	/* Hashed: the key says nothing of the address, and never looks like
	 * a client's bucket. */
	account_token_digest(email, digest);
	key = g_strconcat("email:", digest, NULL);
	ok = ratelimit_hook_check_key(req, name, key);
	g_free(key);
	return ok;
}

gboolean
gotrue_mail_send(struct request *req, struct db_conn *c, enum account_mail_kind kind,
    const char *user_id, const char *to)
{
	const struct config *cfg = req->app->cfg;
	char token[ACCOUNT_TOKEN_LEN + 1], digest[ACCOUNT_DIGEST_LEN + 1], job_id[ULID_LEN + 1],
	    *cause = NULL, *target = gotrue_mail_target(req, request_query(req, "redirect_to")),
	    *link = NULL;
	json_t *args = NULL;
	redisContext *redis;
	gboolean ok = FALSE;

	account_token_new(token);
	account_token_digest(token, digest);
	if (account_store_otp_new(c, user_id, account_mail_token_kind(kind), digest,
	    kind == ACCOUNT_MAIL_EMAIL_CHANGE ? to : NULL, cfg->auth_mailer_otp_exp, &cause) != 0) {
		gotrue_fail(req, "one-time token", cause);
		goto out;
	}
	link = account_mail_link(cfg->public_url, token, kind, target);
	if (cfg->smtp_host == NULL || *cfg->smtp_host == '\0') {
		/* No mail server (a one-machine trial, script/run): the link is
		 * what the mail would have carried, for the operator to pass on. */
		log_info("%s mail (%s) to %s not sent, SMTP_HOST is unset: %s", req->request_id,
		    account_mail_type(kind), to, link);
		ok = TRUE;
		goto out;
	}
	args = json_pack("{s:s, s:s, s:s, s:i}", "kind", account_mail_type(kind), "to", to,
	    "link", link, "expires_in", cfg->auth_mailer_otp_exp);
	if ((redis = request_redis(req, &cause)) == NULL ||
	    queue_enqueue(redis, GOTRUE_MAIL_QUEUE, GOTRUE_MAIL_TASK, args, 0, job_id, &cause) != 0) {
		if (redis != NULL)
			request_redis_reset(req);
		gotrue_fail(req, "mail enqueue", cause);
		goto out;
	}
	log_info("%s mail (%s) for account %s: job %s", req->request_id, account_mail_type(kind),
	    user_id, job_id);
	ok = TRUE;
out:
	json_decref(args);
	g_free(link);
	g_free(target);
	return ok;
}

/* Now as GoTrue writes timestamps. Caller frees. */
static char *
gotrue_mail_now(void)
{
	GDateTime *now = g_date_time_new_now_utc();
	char *s = g_date_time_format_iso8601(now);

	g_date_time_unref(now);
	return s;
}

void
gotrue_signup_unconfirmed(struct request *req, struct db_conn *c, json_t *user, const char *email)
{
	char *hash = NULL, *cause = NULL, *now = gotrue_mail_now(), user_id[ACCOUNT_UUID_LEN + 1],
	    fake_id[ACCOUNT_UUID_LEN + 1];
	gboolean disabled = FALSE, confirmed = TRUE;
	int rc;

	if (user != NULL) {
		if (!gotrue_mail_send(req, c, ACCOUNT_MAIL_SIGNUP,
		    json_string_value(json_object_get(user, "id")), email))
			goto out;
		json_object_set_new(user, "confirmation_sent_at", json_string(now));
		response_json(req, 200, json_incref(user));
		goto out;
	}
	/* The address is taken. GoTrue's answer then is a made-up user
	 * without identities, so signup does not tell who has an account;
	 * an unconfirmed owner gets the confirmation again. */
	if ((rc = account_store_find_email(c, email, user_id, &hash, &disabled, &confirmed,
	    &cause)) < 0) {
		gotrue_fail(req, "signup", cause);
		goto out;
	}
	if (rc == 1 && !confirmed && !disabled &&
	    !gotrue_mail_send(req, c, ACCOUNT_MAIL_SIGNUP, user_id, email))
		goto out;
	account_uuid_new(fake_id);
	response_json(req, 200, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:{s:s, s:[s]}, s:{}, "
	    "s:[], s:s, s:s, s:b}",
	    "id", fake_id, "aud", "authenticated", "role", "authenticated", "email", email,
	    "phone", "", "confirmation_sent_at", now,
	    "app_metadata", "provider", "email", "providers", "email", "user_metadata",
	    "identities", "created_at", now, "updated_at", now, "is_anonymous", 0));
out:
	g_free(now);
	g_free(hash);
}

static void
gotrue_recover(struct request *req)
{
	const char *email_in;
	char *email = NULL, *hash = NULL, *cause = NULL, user_id[ACCOUNT_UUID_LEN + 1];
	gboolean disabled = FALSE, confirmed = FALSE;
	struct db_conn *c = NULL;
	json_t *body = NULL;
	int rc;

	if (!gotrue_begin(req) || (body = gotrue_body(req)) == NULL ||
	    !gotrue_string(req, body, "email", &email_in))
		goto out;
	if (email_in == NULL || *email_in == '\0') {
		gotrue_error(req, 422, "validation_failed", "Password recovery requires an email");
		goto out;
	}
	if ((email = account_email_normalise(email_in)) == NULL) {
		gotrue_error(req, 400, "validation_failed", "Unable to validate email address: invalid format");
		goto out;
	}
	/* Counted for every address alike: a refusal says nothing of whether
	 * it has an account. */
	if (!gotrue_mail_limit(req, "forgot_password", email) || (c = gotrue_db(req)) == NULL)
		goto out;
	if ((rc = account_store_find_email(c, email, user_id, &hash, &disabled, &confirmed,
	    &cause)) < 0) {
		gotrue_fail(req, "recover", cause);
		goto out;
	}
	/* The same answer whether or not the address has an account. */
	if (rc == 1 && !disabled && !gotrue_mail_send(req, c, ACCOUNT_MAIL_RECOVERY, user_id, email))
		goto out;
	response_json(req, 200, json_object());
out:
	db_release(c);
	json_decref(body);
	g_free(hash);
	g_free(email);
}

/* How a verification signs in, as GoTrue's amr names it. */
static const char *
gotrue_verify_method(enum account_mail_kind kind)
{
	switch (kind) {
	case ACCOUNT_MAIL_SIGNUP:
		return "otp";
	case ACCOUNT_MAIL_RECOVERY:
		return "recovery";
	case ACCOUNT_MAIL_EMAIL_CHANGE:
		return "email_change";
	}
	return "otp";
}

/* Spends TOKEN (as mailed) of KIND, for EMAIL when given, and starts the
 * session it signs in: the session object, or NULL with *STATUS, *CODE and
 * *MSG set for the refusal (*STATUS 0: answered already, a 500). */
static json_t *
gotrue_verify_token(struct request *req, struct db_conn *c, enum account_mail_kind kind,
    const char *token, const char *email, int *status, const char **code, const char **msg)
{
	char digest[ACCOUNT_DIGEST_LEN + 1], user_id[ACCOUNT_UUID_LEN + 1], *cause = NULL;

	*status = 0;
	account_token_digest(token, digest);
	switch (account_store_otp_use(c, digest, account_mail_token_kind(kind), email, user_id,
	    &cause)) {
	case ACCOUNT_VERIFY_OK:
		log_info("%s verify (%s): account %s", req->request_id, account_mail_type(kind), user_id);
		return gotrue_session_start(req, c, user_id, gotrue_verify_method(kind));
	case ACCOUNT_VERIFY_INVALID:
		*status = 403;
		*code = "otp_expired";
		*msg = "Token has expired or is invalid";
		return NULL;
	case ACCOUNT_VERIFY_DISABLED:
		*status = 400;
		*code = "user_banned";
		*msg = "User is banned";
		return NULL;
	case ACCOUNT_VERIFY_EMAIL_TAKEN:
		*status = 422;
		*code = "email_exists";
		*msg = "A user with this email address has already been registered";
		return NULL;
	case ACCOUNT_VERIFY_ERROR:
		break;
	}
	gotrue_fail(req, "verify", cause);
	return NULL;
}

static void
gotrue_verify_post(struct request *req)
{
	const char *type, *token, *token_hash, *email_in;
	char *email = NULL;
	enum account_mail_kind kind;
	struct db_conn *c = NULL;
	json_t *body = NULL, *session = NULL;
	const char *code = NULL, *msg = NULL;
	int status;

	if (!gotrue_begin(req) || (body = gotrue_body(req)) == NULL ||
	    !gotrue_string(req, body, "type", &type) || !gotrue_string(req, body, "token", &token) ||
	    !gotrue_string(req, body, "token_hash", &token_hash) ||
	    !gotrue_string(req, body, "email", &email_in))
		goto out;
	if (!account_mail_type_parse(type, &kind)) {
		gotrue_error(req, 400, "validation_failed", "Unsupported verification type");
		goto out;
	}
	/* token_hash is the link's token; token comes with the address it
	 * was mailed to (supabase-js's verifyOtp({email, token, type})). */
	if (token_hash != NULL && *token_hash != '\0') {
		token = token_hash;
	} else if (token == NULL || *token == '\0') {
		gotrue_error(req, 400, "validation_failed", "Verify requires either a token or a token hash");
		goto out;
	} else if (email_in == NULL || *email_in == '\0') {
		gotrue_error(req, 400, "validation_failed", "Verify requires an email with a token");
		goto out;
	} else if ((email = account_email_normalise(email_in)) == NULL) {
		gotrue_error(req, 400, "validation_failed", "Unable to validate email address: invalid format");
		goto out;
	}
	if ((c = gotrue_db(req)) == NULL)
		goto out;
	session = gotrue_verify_token(req, c, kind, token, email, &status, &code, &msg);
	if (session != NULL)
		response_json(req, 200, json_incref(session));
	else if (status != 0)
		gotrue_error(req, status, code, msg);
out:
	json_decref(session);
	db_release(c);
	json_decref(body);
	g_free(email);
}

/* 303 to TARGET with PARAMS (name, value, ..., NULL) in the fragment, as
 * GoTrue's implicit flow answers a followed link. */
static void
gotrue_verify_redirect(struct request *req, const char *target, ...)
{
	GString *frag = g_string_new(NULL);
	const char *name;
	va_list ap;

	va_start(ap, target);
	while ((name = va_arg(ap, const char *)) != NULL) {
		const char *value = va_arg(ap, const char *);
		char *escaped = g_uri_escape_string(value, NULL, FALSE);

		g_string_append_printf(frag, "%s%s=%s", frag->len > 0 ? "&" : "", name, escaped);
		g_free(escaped);
	}
	va_end(ap);
	response_header(req, "Location", "%s#%s", target, frag->str);
	response_header(req, "Cache-Control", "no-store");
	response_empty(req, 303);
	g_string_free(frag, TRUE);
}

static void
gotrue_verify_get(struct request *req)
{
	const struct config *cfg = req->app->cfg;
	const char *type = request_query(req, "type"), *token = request_query(req, "token"),
	    *code = "otp_expired", *msg = "Email link is invalid or has expired";
	char *target = NULL, at[24], in[16];
	enum account_mail_kind kind;
	struct db_conn *c = NULL;
	json_t *session = NULL;
	int status = 403;

	/* A followed link carries no apikey (Supabase's gateway lets
	 * /verify through without one, as it does the OAuth callback). */
	response_header(req, "X-Supabase-Api-Version", "2024-01-01");
	if (cfg->supabase_jwt_secret == NULL || *cfg->supabase_jwt_secret == '\0') {
		gotrue_error(req, 501, "not_implemented", "The built-in accounts need SUPABASE_JWT_SECRET");
		return;
	}
	target = gotrue_mail_target(req, request_query(req, "redirect_to"));
	if (!account_mail_type_parse(type, &kind) || token == NULL || *token == '\0') {
		code = "validation_failed";
		msg = "Verify requires a token and a supported type";
	} else if ((c = gotrue_db(req)) == NULL) {
		goto out;
	} else if ((session = gotrue_verify_token(req, c, kind, token, NULL, &status, &code,
	    &msg)) == NULL && status == 0) {
		goto out;
	}
	if (session == NULL) {
		/* GoTrue words a refused link this way, a refused token the other. */
		if (strcmp(code, "otp_expired") == 0)
			msg = "Email link is invalid or has expired";
		gotrue_verify_redirect(req, target, "error", status == 403 ? "access_denied" :
		    "unauthorized_client", "error_code", code, "error_description", msg, NULL);
		goto out;
	}
	g_snprintf(at, sizeof at, "%" JSON_INTEGER_FORMAT,
	    json_integer_value(json_object_get(session, "expires_at")));
	g_snprintf(in, sizeof in, "%" JSON_INTEGER_FORMAT,
	    json_integer_value(json_object_get(session, "expires_in")));
	gotrue_verify_redirect(req, target,
	    "access_token", json_string_value(json_object_get(session, "access_token")),
	    "expires_at", at, "expires_in", in,
	    "refresh_token", json_string_value(json_object_get(session, "refresh_token")),
	    "token_type", "bearer", "type", account_mail_type(kind), NULL);
out:
	json_decref(session);
	db_release(c);
	g_free(target);
}

const struct route gotrue_mail_routes[] = {
	{ .method = "POST", .pattern = "/auth/v1/recover", .handler = gotrue_recover, .limit = "forgot_password" },
	{ .method = "POST", .pattern = "/auth/v1/verify", .handler = gotrue_verify_post, .limit = "verify_email" },
	{ .method = "GET", .pattern = "/auth/v1/verify", .handler = gotrue_verify_get, .limit = "verify_email" },
	{ .method = NULL }
};
