/* The job dashboard (doc/dashboard.md): a page of ours under DASHBOARD_PATH
 * that shows the worker's state from Redis and retries or purges dead
 * jobs, behind credentials of its own.
 *
 *   fcgi/dashboard.c        routes, the page's JSON, the buttons' actions
 *   fcgi/dashboard-auth.c   DASHBOARD_USERS / DASHBOARD_TOKEN, CSRF tokens
 *   fcgi/dashboard/         the page, its style and script, compiled in
 *                           (fcgi/dashboard-assets.h, by mk/embed-assets.sh)
 *
 * Ownership: struct dashboard_auth from dashboard_auth_new() is freed by
 * dashboard_auth_free() (NULL is harmless); strings returned are the
 * caller's to g_free(). dashboard_auth_check is safe from any thread. */
#ifndef PP_DASHBOARD_H
#define PP_DASHBOARD_H

#include <glib.h>

#include "app.h"

struct config;

struct embedded_asset {
	const char *name;             /* file name, "dashboard.js" */
	const unsigned char *data;    /* LEN bytes and a NUL */
	size_t len;
};

/* The per-process module: fills dashboard_routes when the dashboard is on. */
extern const struct app_module dashboard_app_module;

struct dashboard_auth;

/* The credentials of CFG, or NULL when neither DASHBOARD_USERS nor
 * DASHBOARD_TOKEN is set (the dashboard is off). */
struct dashboard_auth *dashboard_auth_new(const struct config *cfg);
void dashboard_auth_free(struct dashboard_auth *auth);

enum dashboard_auth_result {
	DASHBOARD_AUTH_OK,
	DASHBOARD_AUTH_MISSING,    /* no Authorization header of a known scheme */
	DASHBOARD_AUTH_WRONG,      /* credentials given, not accepted */
};

/* Checks an Authorization header (may be NULL): Basic against
 * DASHBOARD_USERS (plain or crypt(3) hashed passwords), Bearer against
 * DASHBOARD_TOKEN. On OK, *WHO (may be NULL) gets the user name, or
 * "token". */
enum dashboard_auth_result dashboard_auth_check(struct dashboard_auth *auth, const char *authorization,
    char **who);

/* The WWW-Authenticate challenges to send with a 401 (constant). */
const char *dashboard_auth_challenge(struct dashboard_auth *auth);

/* The CSRF token for a caller who authenticated with AUTHORIZATION: an
 * HMAC of it under a key derived from the dashboard's secrets, so every
 * process computes the same one and no page of another origin can. */
char *dashboard_auth_csrf(struct dashboard_auth *auth, const char *authorization);

/* Compares two strings in time independent of where they differ. */
gboolean dashboard_auth_equal(const char *a, const char *b);

#endif
