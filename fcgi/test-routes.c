/* Debug-only endpoints the integration tests drive (enabled by
 * PP_TEST_ROUTES=1, see route.h): a slow request for drain tests, a
 * JSON echo for the body limits, and the route table itself (the OpenAPI
 * test checks every route is described). */
#include "autoconfig.h"

#include <stdlib.h>
#include <unistd.h>

#include "request.h"
#include "route.h"

/* GET /_test/sleep?ms=N: answers after N milliseconds (at most a minute). */
static void
test_sleep(struct request *req)
{
	const char *ms = request_query(req, "ms");
	long n = ms != NULL ? strtol(ms, NULL, 10) : 0;

	n = CLAMP(n, 0, 60000);
	g_usleep((gulong)n * 1000);
	response_json(req, 200, json_pack("{s:i, s:i}", "slept_ms", (int)n, "pid", (int)getpid()));
}

/* POST /_test/echo: the JSON object it was sent. */
static void
test_echo(struct request *req)
{
	json_t *doc = request_json(req);

	if (doc != NULL)
		response_json(req, 200, doc);
}

/* GET /_test/pid: which process answered. */
static void
test_pid(struct request *req)
{
	response_json(req, 200, json_pack("{s:i}", "pid", (int)getpid()));
}

/* GET /_test/routes: {"routes": [{method, pattern, limit, auth, test}]},
 * every route of the table in the order route_find tries them. */
static void
test_route_list(struct request *req)
{
	json_t *list = json_array();

	for (int test = 0; test <= 1; test++) {
		for (const struct route *const *g = route_groups_list(test); *g != NULL; g++) {
			for (const struct route *r = *g; r->method != NULL; r++)
				json_array_append_new(list, json_pack("{s:s, s:s, s:s?, s:b, s:b}",
				    "method", r->method, "pattern", r->pattern, "limit", r->limit,
				    "auth", (r->flags & ROUTE_AUTH) != 0, "test", test));
		}
	}
	response_json(req, 200, json_pack("{s:o}", "routes", list));
}

const struct route test_routes[] = {
	{ .method = "GET", .pattern = "/_test/sleep", .handler = test_sleep },
	{ .method = "POST", .pattern = "/_test/echo", .handler = test_echo },
	{ .method = "GET", .pattern = "/_test/pid", .handler = test_pid },
	{ .method = "GET", .pattern = "/_test/items/{id}", .handler = test_pid },
	{ .method = "DELETE", .pattern = "/_test/items/{id}", .handler = test_pid },
	{ .method = "GET", .pattern = "/_test/routes", .handler = test_route_list },
	{ .method = NULL }
};
