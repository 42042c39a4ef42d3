/* The responder's route groups: one table per file of endpoints. Add a
 * group by declaring its table in route.h and listing it here. */
#include "autoconfig.h"

#include "route.h"

static const struct route *const route_groups[] = {
	index_routes,
	health_routes,
	podcast_routes,
	upload_routes,
	stream_routes,
	credits_routes,
	feed_routes,
	dashboard_routes,
	openapi_routes,
	metrics_routes,
	gotrue_token_routes,
	gotrue_user_routes,
	gotrue_settings_routes,
	gotrue_oauth_routes,
	gotrue_mail_routes,
	NULL
};

static const struct route *const route_test_groups[] = {
	test_routes,
	NULL
};

/* Written once at start-up, before any acceptor thread exists. */
static gboolean route_test_enabled;

void
route_enable_test_routes(gboolean enable)
{
	route_test_enabled = enable;
}

const struct route *const *
route_groups_list(gboolean test)
{
	return test ? route_test_groups : route_groups;
}

enum route_match
route_find(const char *method, const char *path, const struct route **out,
    char **params, int *nparams, GString *allow)
{
	enum route_match m = route_find_in(route_groups, method, path, out, params, nparams, allow);

	/* Test routes come after the real ones so they can never shadow them. */
	if (m == ROUTE_NOT_FOUND && route_test_enabled)
		m = route_find_in(route_test_groups, method, path, out, params, nparams, allow);
	return m;
}
