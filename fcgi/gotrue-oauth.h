/* OAuth sign-in through OpenID Connect providers (fcgi/gotrue-oauth.c,
 * doc/auth.md): GET /auth/v1/authorize, GET /auth/v1/callback and
 * POST /auth/v1/token?grant_type=pkce. The providers (src/oidc.h) are made
 * per process by the app module from AUTH_OIDC_PROVIDERS. */
#ifndef PP_FCGI_GOTRUE_OAUTH_H
#define PP_FCGI_GOTRUE_OAUTH_H

#include <jansson.h>

#include "app.h"
#include "request.h"

extern const struct app_module gotrue_oauth_app_module;

/* The enabled providers' names (borrowed, NULL-terminated; empty without
 * providers or before the module's init). */
const char *const *gotrue_oauth_providers(void);

/* POST /auth/v1/token?grant_type=pkce with BODY {auth_code, code_verifier}:
 * answers the session, or GoTrue's error. */
void gotrue_grant_pkce(struct request *req, json_t *body);

#endif
