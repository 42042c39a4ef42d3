/* The route table: method + path pattern -> handler.
 *
 * Patterns are literal segments and "{name}" segments that capture one
 * non-empty segment into req->params in order. A path matches with or
 * without its trailing slash. Unknown path: 404 {"detail":"Not Found"};
 * known path, other method: 405 {"detail":"Method Not Allowed"} with Allow.
 * OPTIONS is answered for every known path (CORS preflight).
 *
 * Each group of endpoints lives in its own file and exports a table ending
 * with an entry whose method is NULL; fcgi/routes.c lists the groups. */
#ifndef PP_ROUTE_H
#define PP_ROUTE_H

#include "request.h"

typedef void (*route_handler)(struct request *req);

#define ROUTE_AUTH 0x1u   /* a valid bearer token is required before the handler */
/* The path carries a secret (a private feed's): the log line shows the
 * route's pattern instead of the path. */
#define ROUTE_SECRET_PATH 0x2u

struct route {
	const char *method;
	const char *pattern;
	route_handler handler;
	const char *limit;    /* rate-limit name (RATE_LIMITS), or NULL */
	unsigned flags;
};

/* Result of matching METHOD and PATH against the table. */
enum route_match { ROUTE_FOUND, ROUTE_NOT_FOUND, ROUTE_BAD_METHOD };

/* Finds the route; on ROUTE_FOUND fills params (new strings, caller frees
 * each) and *nparams; on ROUTE_BAD_METHOD writes the allowed methods,
 * comma-separated, into ALLOW (a GString the caller owns). */
enum route_match route_find(const char *method, const char *path, const struct route **out,
    char **params, int *nparams, GString *allow);

/* The same over GROUPS (a NULL-terminated list of tables), for tests and
 * for route_find (fcgi/route-match.c; route_find is in fcgi/routes.c). */
enum route_match route_find_in(const struct route *const *groups, const char *method,
    const char *path, const struct route **out, char **params, int *nparams, GString *allow);

extern const struct route index_routes[];    /* fcgi/index.c: GET / */
extern const struct route health_routes[];
extern const struct route podcast_routes[];   /* fcgi/podcasts.c */
extern const struct route upload_routes[];    /* fcgi/uploads.c */
extern const struct route stream_routes[];    /* fcgi/stream.c */
extern const struct route credits_routes[];   /* fcgi/credits.c */
extern const struct route feed_routes[];      /* fcgi/feeds.c: /feeds/ (doc/feeds.md) */
/* fcgi/dashboard.c: filled in at start-up under DASHBOARD_PATH when the
 * dashboard is on, before acceptor threads run; empty when it is off. */
extern struct route dashboard_routes[];
extern const struct route openapi_routes[];   /* fcgi/openapi.c: /openapi.json, /docs */
extern const struct route metrics_routes[];   /* fcgi/metrics.c: /metrics */
/* The built-in accounts under /auth/v1/ (fcgi/gotrue.h). */
extern const struct route gotrue_token_routes[];     /* fcgi/gotrue-token.c */
extern const struct route gotrue_user_routes[];      /* fcgi/gotrue-user.c */
extern const struct route gotrue_settings_routes[];  /* fcgi/gotrue-settings.c */
extern const struct route gotrue_oauth_routes[];     /* fcgi/gotrue-oauth.c */
extern const struct route gotrue_mail_routes[];      /* fcgi/gotrue-mail.c */
/* Debug-only routes under /_test/ (fcgi/test-routes.c), matched only after
 * route_enable_test_routes(TRUE): podcastpro-fcgi calls it when the
 * environment has PP_TEST_ROUTES=1. Never enable it in production. */
extern const struct route test_routes[];
void route_enable_test_routes(gboolean enable);

/* The groups route_find searches (TEST: the debug groups instead), a
 * NULL-terminated list of tables, for listing them (GET /_test/routes). */
const struct route *const *route_groups_list(gboolean test);

#endif
