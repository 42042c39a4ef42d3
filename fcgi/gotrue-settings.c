/* GET /auth/v1/settings and GET /auth/v1/health: what this auth server
 * offers, and that it answers. */
#include "autoconfig.h"

#include "config.h"
#include "gotrue.h"
#include "gotrue-oauth.h"
#include "route.h"

static void
gotrue_settings(struct request *req)
{
	const struct config *cfg = req->app->cfg;
	json_t *external;

	if (!gotrue_begin(req))
		return;
	/* E-mail and password; GoTrue's built-in provider names off... */
	external = json_pack("{s:b, s:b, s:b, s:b, s:b, s:b, s:b, s:b, s:b, s:b, s:b}",
	    "anonymous_users", 0, "apple", 0, "azure", 0, "discord", 0, "email", 1, "facebook", 0,
	    "github", 0, "gitlab", 0, "google", 0, "phone", 0, "saml", 0);
	/* ...unless one is an OpenID Connect provider of AUTH_OIDC_PROVIDERS. */
	for (const char *const *name = gotrue_oauth_providers(); *name != NULL; name++)
		json_object_set_new(external, *name, json_true());
	response_json(req, 200, json_pack("{s:o, s:b, s:b, s:b, s:s, s:b}",
	    "external", external,
	    "disable_signup", cfg->auth_disable_signup,
	    "mailer_autoconfirm", cfg->auth_mailer_autoconfirm,
	    "phone_autoconfirm", 0,
	    "sms_provider", "",
	    "saml_enabled", 0));
}

static void
gotrue_health(struct request *req)
{
	if (!gotrue_begin(req))
		return;
	response_json(req, 200, json_pack("{s:s, s:s, s:s}",
	    "version", "podcastpro-" PACKAGE_VERSION,
	    "name", "GoTrue",
	    "description", "GoTrue is a user registration and authentication API"));
}

const struct route gotrue_settings_routes[] = {
	{ .method = "GET", .pattern = "/auth/v1/settings", .handler = gotrue_settings },
	{ .method = "GET", .pattern = "/auth/v1/health", .handler = gotrue_health },
	{ .method = NULL }
};
