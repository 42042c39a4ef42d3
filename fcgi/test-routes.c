/* Debug-only endpoints the integration tests drive (enabled by
 * PP_TEST_ROUTES=1, see route.h): a slow request for drain tests and a
 * JSON echo for the body limits. */
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

const struct route test_routes[] = {
	{ .method = "GET", .pattern = "/_test/sleep", .handler = test_sleep },
	{ .method = "POST", .pattern = "/_test/echo", .handler = test_echo },
	{ .method = "GET", .pattern = "/_test/pid", .handler = test_pid },
	{ .method = "GET", .pattern = "/_test/items/{id}", .handler = test_pid },
	{ .method = "DELETE", .pattern = "/_test/items/{id}", .handler = test_pid },
	{ .method = NULL }
};
