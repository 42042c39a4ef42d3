/* podcastpro-ctl token EMAIL [--sub UUID] [--ttl S]: an access token
 * shaped like Supabase's, signed with SUPABASE_JWT_SECRET (HS256), for
 * operators, tests and the demo. */
#include "autoconfig.h"

#include <stdio.h>
#include <string.h>

#include "auth-jwt.h"
#include "config.h"
#include "ctl.h"

#define CTL_TOKEN_TTL_DEFAULT 3600
#define CTL_TOKEN_TTL_MAX (366 * 86400)

int
ctl_cmd_token(const struct config *cfg, int argc, char **argv)
{
	char *sub = NULL, *session = NULL, *cause = NULL, *token = NULL, *issuer = NULL;
	int ttl = CTL_TOKEN_TTL_DEFAULT, rc = CTL_EXIT_FAILURE;
	GOptionEntry entries[] = {
		{ "sub", 's', 0, G_OPTION_ARG_STRING, &sub, "the user's id (default: a new random UUID)", "UUID" },
		{ "ttl", 't', 0, G_OPTION_ARG_INT, &ttl, "seconds the token stays valid (default 3600)", "S" },
		{ NULL }
	};
	gint64 now = g_get_real_time() / G_USEC_PER_SEC;
	json_t *claims = NULL;

	if (ctl_parse_options(&argc, &argv, entries) != CTL_EXIT_OK) {
		rc = CTL_EXIT_USAGE;
		goto out;
	}
	if (argc != 2 || strchr(argv[1], '@') == NULL) {
		fprintf(stderr, "podcastpro-ctl token: usage: token EMAIL [--sub UUID] [--ttl S]\n");
		rc = CTL_EXIT_USAGE;
		goto out;
	}
	if (ttl < 1 || ttl > CTL_TOKEN_TTL_MAX) {
		fprintf(stderr, "podcastpro-ctl token: --ttl must be 1 to %d seconds\n", CTL_TOKEN_TTL_MAX);
		rc = CTL_EXIT_USAGE;
		goto out;
	}
	if (sub != NULL && !g_uuid_string_is_valid(sub)) {
		fprintf(stderr, "podcastpro-ctl token: --sub must be a UUID\n");
		rc = CTL_EXIT_USAGE;
		goto out;
	}
	if (cfg->supabase_jwt_secret == NULL || *cfg->supabase_jwt_secret == '\0') {
		fprintf(stderr, "podcastpro-ctl token: SUPABASE_JWT_SECRET is not set: "
		    "tokens for asymmetric keys come from Supabase itself\n");
		rc = CTL_EXIT_CONFIG;
		goto out;
	}
	if (sub == NULL)
		sub = g_uuid_string_random();
	session = g_uuid_string_random();
	claims = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:s, s:s, s:b, s:{s:s, s:[s]}, s:{}}",
	    "sub", sub, "email", argv[1], "aud", cfg->supabase_jwt_audience, "role", "authenticated",
	    "iat", (json_int_t)now, "exp", (json_int_t)(now + ttl), "aal", "aal1",
	    "session_id", session, "is_anonymous", 0,
	    "app_metadata", "provider", "email", "providers", "email", "user_metadata");
	if (cfg->supabase_jwt_issuer != NULL && *cfg->supabase_jwt_issuer != '\0')
		issuer = g_strdup(cfg->supabase_jwt_issuer);
	else if (cfg->supabase_url != NULL && *cfg->supabase_url != '\0')
		issuer = g_strdup_printf("%s/auth/v1", cfg->supabase_url);
	if (issuer != NULL)
		json_object_set_new(claims, "iss", json_string(issuer));
	if ((token = auth_jwt_sign_hs256(cfg->supabase_jwt_secret, claims, &cause)) == NULL) {
		fprintf(stderr, "podcastpro-ctl token: %s\n", cause);
		goto out;
	}
	printf("%s\n", token);
	rc = CTL_EXIT_OK;
out:
	json_decref(claims);
	g_free(token);
	g_free(cause);
	g_free(issuer);
	g_free(session);
	g_free(sub);
	return rc;
}
