/* GET /auth/v1/authorize, GET /auth/v1/callback and the pkce grant: sign-in
 * through an OpenID Connect provider, as GoTrue serves it (doc/auth.md).
 *
 *   browser -> /authorize?provider&redirect_to&code_challenge  (302)
 *           -> the provider's authorization endpoint (state, nonce)
 *           -> /callback?code&state: code exchanged, id_token verified,
 *              account found, linked or made                     (302)
 *           -> redirect_to?code=AUTH_CODE (PKCE) or
 *              redirect_to#access_token=... (implicit)
 *   client  -> POST /token?grant_type=pkce {auth_code, code_verifier}
 *
 * The provider's calls block this acceptor thread for at most
 * AUTH_OIDC_TIMEOUT_MS each (src/oidc.c). */
#include "autoconfig.h"

#include <string.h>

#include "account-identity.h"
#include "config.h"
#include "gotrue-oauth.h"
#include "gotrue.h"
#include "log.h"
#include "oidc.h"
#include "redirect-allow.h"
#include "route.h"

/* GoTrue's flow state lifetime (FlowStateExpiryDuration): the time to get
 * through the provider, and then to redeem the auth code. */
#define OAUTH_FLOW_TTL 300
#define OAUTH_CHALLENGE_MIN 43
#define OAUTH_CHALLENGE_MAX 128

/* This process's providers; written by the module's init before acceptor
 * threads run. */
static struct oidc_set *oauth_providers;
static const char *const oauth_no_providers[] = { NULL };

static int
oauth_app_init(struct app *app, char **cause)
{
	const struct config *cfg = app->cfg;

	if (cfg->supabase_jwt_secret == NULL || *cfg->supabase_jwt_secret == '\0')
		return 0;
	oauth_providers = oidc_set_new(cfg, cause);
	return oauth_providers != NULL ? 0 : -1;
}

static void
oauth_app_fini(struct app *app)
{
	(void)app;
	g_clear_pointer(&oauth_providers, oidc_set_free);
}

const struct app_module gotrue_oauth_app_module = { "gotrue-oauth", oauth_app_init, oauth_app_fini };

const char *const *
gotrue_oauth_providers(void)
{
	return oauth_providers != NULL ? oidc_names(oauth_providers) : oauth_no_providers;
}

/* The browser's routes carry no apikey (Supabase's gateway lets them
 * through): only the service itself must be configured. */
static gboolean
oauth_begin(struct request *req)
{
	response_header(req, "X-Supabase-Api-Version", "2024-01-01");
	response_header(req, "Cache-Control", "no-store");
	if (oauth_providers != NULL)
		return TRUE;
	gotrue_error(req, 501, "not_implemented", "The built-in accounts need SUPABASE_JWT_SECRET");
	return FALSE;
}

/* {PUBLIC_URL}/auth/v1/callback: where providers send the browser back. */
static char *
oauth_callback_uri(const struct config *cfg)
{
	return g_strdup_printf("%s%sauth/v1/callback", cfg->public_url,
	    g_str_has_suffix(cfg->public_url, "/") ? "" : "/");
}

/* TARGET with PARAMS (form-encoded "k=v&...") added to its query (before
 * any fragment) or, when IN_FRAGMENT, as its fragment. */
static char *
oauth_target(const char *target, const char *params, gboolean in_fragment)
{
	const char *hash = strchr(target, '#');
	size_t base = hash != NULL ? (size_t)(hash - target) : strlen(target);

	if (in_fragment)
		return g_strdup_printf("%.*s#%s", (int)base, target, params);
	return g_strdup_printf("%.*s%c%s%s", (int)base, target,
	    memchr(target, '?', base) != NULL ? '&' : '?', params, hash != NULL ? hash : "");
}

static void
oauth_param(GString *out, const char *key, const char *value)
{
	char *v = g_uri_escape_string(value, NULL, FALSE);

	g_string_append_printf(out, "%s%s=%s", out->len > 0 ? "&" : "", key, v);
	g_free(v);
}

static void
oauth_redirect(struct request *req, const char *url)
{
	response_header(req, "Location", "%s", url);
	response_empty(req, 302);
}

/* GoTrue's OAuth error names by HTTP status (its oauthErrorMap). */
static const char *
oauth_error_name(int status)
{
	switch (status) {
	case 401: return "unauthorized_client";
	case 403: return "access_denied";
	case 500: return "server_error";
	case 503: return "temporarily_unavailable";
	default:  return "invalid_request";
	}
}

/* Ends a callback with GoTrue's error redirect to TARGET: error,
 * error_code, error_description in the query (PKCE) or the fragment
 * (implicit). Without a TARGET: the JSON error. */
static void
oauth_fail(struct request *req, const char *target, gboolean pkce, int status, const char *code,
    const char *msg)
{
	GString *q;
	char *url;

	if (target == NULL) {
		gotrue_error(req, status, code, msg);
		return;
	}
	q = g_string_new(NULL);
	oauth_param(q, "error", oauth_error_name(status));
	oauth_param(q, "error_code", code);
	oauth_param(q, "error_description", msg);
	url = oauth_target(target, q->str, !pkce);
	oauth_redirect(req, url);
	g_free(url);
	g_string_free(q, TRUE);
}

/* GoTrue's validatePKCEParams: both or neither. FALSE after answering. */
static gboolean
oauth_pkce_params(struct request *req, const char *challenge, const char *method)
{
	size_t n;

	if (challenge == NULL && method == NULL)
		return TRUE;
	if (challenge == NULL || method == NULL || *challenge == '\0' || *method == '\0') {
		gotrue_error(req, 400, "validation_failed",
		    "PKCE flow requires code_challenge_method and code_challenge");
		return FALSE;
	}
	if (g_ascii_strcasecmp(method, "s256") != 0 && g_ascii_strcasecmp(method, "plain") != 0) {
		gotrue_error(req, 400, "validation_failed", "code challenge method not supported");
		return FALSE;
	}
	n = strlen(challenge);
	if (n < OAUTH_CHALLENGE_MIN || n > OAUTH_CHALLENGE_MAX) {
		gotrue_error(req, 400, "validation_failed",
		    "code challenge has to be between 43 and 128 characters");
		return FALSE;
	}
	return TRUE;
}

static void
gotrue_authorize(struct request *req)
{
	const struct config *cfg = req->app->cfg;
	const char *name = request_query(req, "provider"), *target,
	    *challenge = request_query(req, "code_challenge"),
	    *method = request_query(req, "code_challenge_method");
	char state[ACCOUNT_TOKEN_LEN + 1], nonce[ACCOUNT_TOKEN_LEN + 1],
	    digest[ACCOUNT_DIGEST_LEN + 1], flow_id[ACCOUNT_UUID_LEN + 1],
	    *callback = NULL, *url = NULL, *cause = NULL, *msg, *lower = NULL;
	struct oidc_provider *p;
	struct db_conn *c = NULL;

	if (!oauth_begin(req))
		return;
	if ((p = oidc_find(oauth_providers, name)) == NULL) {
		msg = g_strdup_printf("Unsupported provider: provider %s could not be found",
		    name != NULL ? name : "");
		gotrue_error(req, 400, "validation_failed", msg);
		g_free(msg);
		return;
	}
	if (!oauth_pkce_params(req, challenge, method))
		return;
	/* GoTrue: an unlisted redirect_to (or none) ends at the site URL. */
	if ((target = redirect_choose(cfg, request_query(req, "redirect_to"))) == NULL) {
		gotrue_error(req, 400, "validation_failed",
		    "redirect_to is not allowed by AUTH_REDIRECT_ALLOW_LIST and AUTH_SITE_URL is not set");
		return;
	}
	account_token_new(state);
	account_token_new(nonce);
	callback = oauth_callback_uri(cfg);
	if ((url = oidc_authorize_url(p, callback, request_query(req, "scopes"), state, nonce,
	    &cause)) == NULL) {
		log_error("%s authorize: %s", req->request_id, cause);
		g_free(cause);
		gotrue_error(req, 503, "provider_unavailable", "The OAuth provider cannot be reached");
		goto out;
	}
	if ((c = gotrue_db(req)) == NULL)
		goto out;
	account_uuid_new(flow_id);
	account_token_digest(state, digest);
	lower = method != NULL ? g_ascii_strdown(method, -1) : NULL;
	if (account_flow_new(c, flow_id, digest, name, target, challenge, lower, nonce,
	    OAUTH_FLOW_TTL, &cause) != 0) {
		gotrue_fail(req, "flow state", cause);
		goto out;
	}
	log_info("%s authorize: %s flow %s via %s", req->request_id, lower != NULL ? "pkce" : "implicit",
	    flow_id, name);
	oauth_redirect(req, url);
out:
	db_release(c);
	g_free(lower);
	g_free(url);
	g_free(callback);
}

/* The implicit flow's ending: the session in redirect_to's fragment. */
static void
oauth_implicit(struct request *req, struct db_conn *c, const char *user_id, const char *target,
    const char *provider_token)
{
	json_t *session = gotrue_session_start(req, c, user_id, "oauth");
	GString *q;
	char *url, num[24];

	if (session == NULL)
		return;
	q = g_string_new(NULL);
	oauth_param(q, "access_token", json_string_value(json_object_get(session, "access_token")));
	g_snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT,
	    json_integer_value(json_object_get(session, "expires_at")));
	oauth_param(q, "expires_at", num);
	g_snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT,
	    json_integer_value(json_object_get(session, "expires_in")));
	oauth_param(q, "expires_in", num);
	if (provider_token != NULL)
		oauth_param(q, "provider_token", provider_token);
	oauth_param(q, "refresh_token", json_string_value(json_object_get(session, "refresh_token")));
	oauth_param(q, "token_type", "bearer");
	url = oauth_target(target, q->str, TRUE);
	oauth_redirect(req, url);
	g_free(url);
	g_string_free(q, TRUE);
	json_decref(session);
}

/* The verified claims as GoTrue keeps them in identity_data. */
static json_t *
oauth_identity_data(json_t *claims, const char *email)
{
	json_t *d = json_object(), *v;
	static const char *const copied[] = { "iss", "sub", "name", "picture", "email_verified",
	    "phone_verified", "preferred_username", "given_name", "family_name" };

	for (size_t i = 0; i < G_N_ELEMENTS(copied); i++) {
		if ((v = json_object_get(claims, copied[i])) != NULL && !json_is_null(v))
			json_object_set(d, copied[i], v);
	}
	if (email != NULL)
		json_object_set_new(d, "email", json_string(email));
	json_object_set(d, "provider_id", json_object_get(claims, "sub"));
	if ((v = json_object_get(claims, "name")) != NULL && json_is_string(v))
		json_object_set(d, "full_name", v);
	if ((v = json_object_get(claims, "picture")) != NULL && json_is_string(v))
		json_object_set(d, "avatar_url", v);
	if (json_object_get(d, "email_verified") == NULL)
		json_object_set_new(d, "email_verified", json_false());
	if (json_object_get(d, "phone_verified") == NULL)
		json_object_set_new(d, "phone_verified", json_false());
	return d;
}

/* email_verified as providers send it: true, or "true" (some do). */
static gboolean
oauth_verified(json_t *claims)
{
	json_t *v = json_object_get(claims, "email_verified");

	return json_is_true(v) || (json_is_string(v) && strcmp(json_string_value(v), "true") == 0);
}

/* Finds or makes the account and ends the flow. */
static void
oauth_finish(struct request *req, struct db_conn *c, const struct account_flow *flow,
    json_t *claims, const char *provider_token)
{
	const char *email_in = json_string_value(json_object_get(claims, "email"));
	char *email = email_in != NULL ? account_email_normalise(email_in) : NULL, *cause = NULL, *url;
	struct account_external x = {
		.provider = flow->provider,
		.subject = json_string_value(json_object_get(claims, "sub")),
		.email = email, .email_verified = oauth_verified(claims),
		.allow_signup = !req->app->cfg->auth_disable_signup,
	};
	char user_id[ACCOUNT_UUID_LEN + 1], code[ACCOUNT_TOKEN_LEN + 1],
	    digest[ACCOUNT_DIGEST_LEN + 1];
	GString *q;
	enum account_link link;

	x.identity_data = oauth_identity_data(claims, email);
	link = account_identity_sign_in(c, &x, user_id, &cause);
	switch (link) {
	case ACCOUNT_LINK_SIGNED_IN:
	case ACCOUNT_LINK_LINKED:
	case ACCOUNT_LINK_CREATED:
		break;
	case ACCOUNT_LINK_NEED_EMAIL:
		url = g_strdup_printf("Unverified email with %s", flow->provider);
		oauth_fail(req, flow->redirect_to, flow->pkce, 403, "provider_email_needs_verification", url);
		g_free(url);
		goto out;
	case ACCOUNT_LINK_SIGNUP_DISABLED:
		oauth_fail(req, flow->redirect_to, flow->pkce, 403, "signup_disabled",
		    "Signups not allowed for this instance");
		goto out;
	case ACCOUNT_LINK_BANNED:
		oauth_fail(req, flow->redirect_to, flow->pkce, 401, "user_banned", "User is banned");
		goto out;
	case ACCOUNT_LINK_ERROR:
	default:
		log_error("%s callback: %s", req->request_id, cause != NULL ? cause : "identity failed");
		g_free(cause);
		oauth_fail(req, flow->redirect_to, flow->pkce, 500, "unexpected_failure",
		    "Database error saving new user");
		goto out;
	}
	log_info("%s callback: %s identity of %s (%s)", req->request_id, flow->provider, user_id,
	    link == ACCOUNT_LINK_CREATED ? "new account" : link == ACCOUNT_LINK_LINKED ? "linked" :
	    "known");
	if (!flow->pkce) {
		oauth_implicit(req, c, user_id, flow->redirect_to, provider_token);
		goto out;
	}
	account_token_new(code);
	account_token_digest(code, digest);
	if (account_flow_set_code(c, flow->id, user_id, digest, OAUTH_FLOW_TTL, &cause) != 0) {
		log_error("%s callback: %s", req->request_id, cause);
		g_free(cause);
		oauth_fail(req, flow->redirect_to, TRUE, 500, "unexpected_failure",
		    "Database error saving the auth code");
		goto out;
	}
	q = g_string_new(NULL);
	oauth_param(q, "code", code);
	url = oauth_target(flow->redirect_to, q->str, FALSE);
	oauth_redirect(req, url);
	g_free(url);
	g_string_free(q, TRUE);
out:
	json_decref(x.identity_data);
	g_free(email);
}

static void
gotrue_callback(struct request *req)
{
	const struct config *cfg = req->app->cfg;
	const char *state = request_query(req, "state"), *code = request_query(req, "code"),
	    *error = request_query(req, "error");
	char digest[ACCOUNT_DIGEST_LEN + 1], *cause = NULL, *callback = NULL, *access = NULL;
	struct account_flow flow = { .id = "" };
	struct oidc_provider *p;
	struct db_conn *c = NULL;
	json_t *claims = NULL;
	GString *q;

	if (!oauth_begin(req))
		return;
	if (state == NULL || *state == '\0') {
		oauth_fail(req, cfg->auth_site_url, TRUE, 400, "bad_oauth_state", "OAuth state parameter missing");
		return;
	}
	if ((c = gotrue_db(req)) == NULL)
		return;
	account_token_digest(state, digest);
	switch (account_flow_spend_state(c, digest, &flow, &cause)) {
	case ACCOUNT_FLOW_OK:
		break;
	case ACCOUNT_FLOW_UNKNOWN:
		oauth_fail(req, cfg->auth_site_url, TRUE, 400, "bad_oauth_state",
		    "OAuth callback with invalid state");
		goto out;
	case ACCOUNT_FLOW_EXPIRED:
		oauth_fail(req, flow.redirect_to, flow.pkce, 400, "bad_oauth_state",
		    "OAuth callback with expired state");
		goto out;
	case ACCOUNT_FLOW_ERROR:
		gotrue_fail(req, "flow state", cause);
		goto out;
	}
	/* The provider's own refusal (the user said no): passed on as it is. */
	if (error != NULL) {
		q = g_string_new(NULL);
		oauth_param(q, "error", error);
		oauth_param(q, "error_description", request_query(req, "error_description") != NULL ?
		    request_query(req, "error_description") : error);
		callback = oauth_target(flow.redirect_to, q->str, !flow.pkce);
		oauth_redirect(req, callback);
		g_string_free(q, TRUE);
		goto out;
	}
	if (code == NULL || *code == '\0') {
		oauth_fail(req, flow.redirect_to, flow.pkce, 400, "bad_oauth_callback",
		    "OAuth callback with missing authorization code");
		goto out;
	}
	if ((p = oidc_find(oauth_providers, flow.provider)) == NULL) {
		oauth_fail(req, flow.redirect_to, flow.pkce, 400, "validation_failed",
		    "Unsupported provider: the provider of this sign-in is no longer configured");
		goto out;
	}
	callback = oauth_callback_uri(cfg);
	switch (oidc_sign_in(p, code, callback, flow.nonce, &claims, &access, &cause)) {
	case OIDC_OK:
		oauth_finish(req, c, &flow, claims, access);
		break;
	case OIDC_REFUSED:
		log_warn("%s callback: %s: %s", req->request_id, flow.provider, cause);
		oauth_fail(req, flow.redirect_to, flow.pkce, 500, "unexpected_failure",
		    "Error getting user profile from external provider");
		break;
	case OIDC_UNAVAILABLE:
		log_error("%s callback: %s: %s", req->request_id, flow.provider, cause);
		oauth_fail(req, flow.redirect_to, flow.pkce, 500, "unexpected_failure",
		    "Unable to exchange external code");
		break;
	}
	g_free(cause);
out:
	db_release(c);
	json_decref(claims);
	g_free(access);
	g_free(callback);
	account_flow_clear(&flow);
}

void
gotrue_grant_pkce(struct request *req, json_t *body)
{
	const char *code, *verifier;
	char digest[ACCOUNT_DIGEST_LEN + 1], user_id[ACCOUNT_UUID_LEN + 1], provider[64],
	    *cause = NULL;
	struct db_conn *c = NULL;

	if (!gotrue_string(req, body, "auth_code", &code) ||
	    !gotrue_string(req, body, "code_verifier", &verifier))
		return;
	if (code == NULL || *code == '\0' || verifier == NULL || *verifier == '\0') {
		gotrue_error(req, 400, "validation_failed",
		    "invalid request: both auth code and code verifier should be non-empty");
		return;
	}
	if ((c = gotrue_db(req)) == NULL)
		return;
	account_token_digest(code, digest);
	switch (account_flow_redeem(c, digest, verifier, user_id, provider, &cause)) {
	case ACCOUNT_PKCE_OK:
		log_info("%s pkce: %s sign-in of %s", req->request_id, provider, user_id);
		gotrue_sign_in(req, c, user_id, "oauth");
		break;
	case ACCOUNT_PKCE_NOT_FOUND:
		gotrue_error(req, 404, "flow_state_not_found", "invalid flow state, no valid flow state found");
		break;
	case ACCOUNT_PKCE_EXPIRED:
		gotrue_error(req, 422, "flow_state_expired", "invalid flow state, flow state has expired");
		break;
	case ACCOUNT_PKCE_BAD_VERIFIER:
		gotrue_error(req, 400, "bad_code_verifier",
		    "code challenge does not match previously saved code verifier");
		break;
	case ACCOUNT_PKCE_ERROR:
		gotrue_fail(req, "pkce", cause);
		break;
	}
	db_release(c);
}

const struct route gotrue_oauth_routes[] = {
	{ .method = "GET", .pattern = "/auth/v1/authorize", .handler = gotrue_authorize, .limit = "login_oauth" },
	{ .method = "GET", .pattern = "/auth/v1/callback", .handler = gotrue_callback },
	{ .method = NULL }
};
