/* Route matching: literal and parameter segments, trailing slashes,
 * 404 versus 405 with Allow. */
#include "autoconfig.h"

#include <string.h>

#include "route.h"

static void
handler_a(struct request *req)
{
	(void)req;
}

static void
handler_b(struct request *req)
{
	(void)req;
}

static const struct route group_one[] = {
	{ "GET", "/health", handler_a, NULL, 0 },
	{ "GET", "/podcasts/", handler_a, NULL, ROUTE_AUTH },
	{ "POST", "/podcasts/", handler_b, "create_podcast", ROUTE_AUTH },
	{ "GET", "/podcasts/{id}", handler_b, NULL, ROUTE_AUTH },
	{ "DELETE", "/podcasts/{id}", handler_a, NULL, ROUTE_AUTH },
	{ "GET", "/podcasts/{id}/audio", handler_a, NULL, 0 },
	{ NULL, NULL, NULL, NULL, 0 }
};

static const struct route group_two[] = {
	{ "GET", "/users/{user}/files/{file}", handler_a, NULL, 0 },
	{ "PUT", "/podcasts/{id}", handler_a, NULL, 0 },
	{ "GET", "/", handler_b, NULL, 0 },
	{ NULL, NULL, NULL, NULL, 0 }
};

static const struct route *const groups[] = { group_one, group_two, NULL };

struct lookup {
	enum route_match match;
	const struct route *route;
	char *params[REQUEST_MAX_PARAMS];
	int nparams;
	GString *allow;
};

static void
lookup(struct lookup *l, const char *method, const char *path)
{
	memset(l, 0, sizeof *l);
	l->allow = g_string_new(NULL);
	l->match = route_find_in(groups, method, path, &l->route, l->params, &l->nparams, l->allow);
}

static void
lookup_clear(struct lookup *l)
{
	for (int i = 0; i < l->nparams; i++)
		g_free(l->params[i]);
	g_string_free(l->allow, TRUE);
}

static void
test_literal(void)
{
	struct lookup l;

	lookup(&l, "GET", "/health");
	g_assert_cmpint(l.match, ==, ROUTE_FOUND);
	g_assert_true(l.route == &group_one[0]);
	g_assert_cmpint(l.nparams, ==, 0);
	lookup_clear(&l);

	lookup(&l, "GET", "/");
	g_assert_cmpint(l.match, ==, ROUTE_FOUND);
	g_assert_true(l.route == &group_two[2]);
	lookup_clear(&l);

	/* A prefix of a route is not that route. */
	lookup(&l, "GET", "/heal");
	g_assert_cmpint(l.match, ==, ROUTE_NOT_FOUND);
	lookup_clear(&l);
	lookup(&l, "GET", "/healthz");
	g_assert_cmpint(l.match, ==, ROUTE_NOT_FOUND);
	lookup_clear(&l);
	lookup(&l, "GET", "/health/extra");
	g_assert_cmpint(l.match, ==, ROUTE_NOT_FOUND);
	lookup_clear(&l);
}

static void
test_trailing_slash(void)
{
	struct lookup l;

	/* Both spellings reach the route, whichever the pattern uses. */
	lookup(&l, "GET", "/podcasts");
	g_assert_cmpint(l.match, ==, ROUTE_FOUND);
	g_assert_true(l.route == &group_one[1]);
	lookup_clear(&l);
	lookup(&l, "GET", "/podcasts/");
	g_assert_cmpint(l.match, ==, ROUTE_FOUND);
	g_assert_true(l.route == &group_one[1]);
	lookup_clear(&l);
	lookup(&l, "GET", "/health/");
	g_assert_cmpint(l.match, ==, ROUTE_FOUND);
	g_assert_true(l.route == &group_one[0]);
	lookup_clear(&l);
	/* Only one slash is forgiven. */
	lookup(&l, "GET", "/health//");
	g_assert_cmpint(l.match, ==, ROUTE_NOT_FOUND);
	lookup_clear(&l);
	lookup(&l, "GET", "//health");
	g_assert_cmpint(l.match, ==, ROUTE_NOT_FOUND);
	lookup_clear(&l);
}

static void
test_params(void)
{
	struct lookup l;

	lookup(&l, "GET", "/podcasts/01HZX3");
	g_assert_cmpint(l.match, ==, ROUTE_FOUND);
	g_assert_true(l.route == &group_one[3]);
	g_assert_cmpint(l.nparams, ==, 1);
	g_assert_cmpstr(l.params[0], ==, "01HZX3");
	lookup_clear(&l);

	lookup(&l, "GET", "/podcasts/abc/audio/");
	g_assert_cmpint(l.match, ==, ROUTE_FOUND);
	g_assert_true(l.route == &group_one[5]);
	g_assert_cmpstr(l.params[0], ==, "abc");
	lookup_clear(&l);

	lookup(&l, "GET", "/users/u1/files/f.mp3");
	g_assert_cmpint(l.match, ==, ROUTE_FOUND);
	g_assert_cmpint(l.nparams, ==, 2);
	g_assert_cmpstr(l.params[0], ==, "u1");
	g_assert_cmpstr(l.params[1], ==, "f.mp3");
	lookup_clear(&l);

	/* A parameter never matches an empty segment. */
	lookup(&l, "GET", "/users//files/x");
	g_assert_cmpint(l.match, ==, ROUTE_NOT_FOUND);
	lookup_clear(&l);
	lookup(&l, "GET", "/podcasts/abc/video");
	g_assert_cmpint(l.match, ==, ROUTE_NOT_FOUND);
	lookup_clear(&l);
}

static void
test_bad_method(void)
{
	struct lookup l;

	lookup(&l, "DELETE", "/health");
	g_assert_cmpint(l.match, ==, ROUTE_BAD_METHOD);
	g_assert_null(l.route);
	g_assert_cmpstr(l.allow->str, ==, "GET");
	lookup_clear(&l);

	/* Allow gathers the methods of every group, each once. */
	lookup(&l, "PATCH", "/podcasts/xyz/");
	g_assert_cmpint(l.match, ==, ROUTE_BAD_METHOD);
	g_assert_cmpstr(l.allow->str, ==, "GET, DELETE, PUT");
	g_assert_cmpint(l.nparams, ==, 0);
	lookup_clear(&l);

	lookup(&l, "PUT", "/podcasts");
	g_assert_cmpint(l.match, ==, ROUTE_BAD_METHOD);
	g_assert_cmpstr(l.allow->str, ==, "GET, POST");
	lookup_clear(&l);

	/* Method names are case-sensitive, as HTTP says. */
	lookup(&l, "get", "/health");
	g_assert_cmpint(l.match, ==, ROUTE_BAD_METHOD);
	lookup_clear(&l);

	lookup(&l, "POST", "/nowhere");
	g_assert_cmpint(l.match, ==, ROUTE_NOT_FOUND);
	g_assert_cmpuint(l.allow->len, ==, 0);
	lookup_clear(&l);
}

static void
test_odd_paths(void)
{
	struct lookup l;
	GString *long_path = g_string_new(NULL);

	lookup(&l, "GET", "");
	g_assert_cmpint(l.match, ==, ROUTE_NOT_FOUND);
	lookup_clear(&l);
	lookup(&l, "GET", "health");
	g_assert_cmpint(l.match, ==, ROUTE_NOT_FOUND);
	lookup_clear(&l);
	for (int i = 0; i < 10000; i++)
		g_string_append(long_path, "/podcasts");
	lookup(&l, "GET", long_path->str);
	g_assert_cmpint(l.match, ==, ROUTE_NOT_FOUND);
	lookup_clear(&l);
	g_string_free(long_path, TRUE);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/routes/literal", test_literal);
	g_test_add_func("/routes/trailing-slash", test_trailing_slash);
	g_test_add_func("/routes/params", test_params);
	g_test_add_func("/routes/bad-method", test_bad_method);
	g_test_add_func("/routes/odd-paths", test_odd_paths);
	return g_test_run();
}
