/* Reading a request from its CGI parameters (path decoding, query, headers,
 * request id) and building error bodies, without a FastCGI connection. */
#include "autoconfig.h"

#include <string.h>

#include "dispatch.h"
#include "request.h"

struct fake {
	FCGX_Request fcgx;
	struct app app;
	struct acceptor acceptor;
	struct request req;
};

/* ENV: NULL-terminated "NAME=value" strings, as libfcgi hands them over. */
static int
fake_setup(struct fake *f, char **env)
{
	memset(f, 0, sizeof *f);
	f->fcgx.envp = env;
	f->acceptor.app = &f->app;
	return request_setup(&f->req, &f->fcgx, &f->app, &f->acceptor);
}

static json_t *
fake_body(struct fake *f)
{
	json_error_t error;
	json_t *doc = json_loadb(f->req.out->str, f->req.out->len, 0, &error);

	g_assert_nonnull(doc);
	return doc;
}

static void
test_path_and_query(void)
{
	char *env[] = {
		"REQUEST_METHOD=GET",
		"REQUEST_URI=/caf%C3%A9/a%2Fb/x+y?q=hello+world&n=1&n=2&empty=&=skip&bad=%zz",
		"QUERY_STRING=q=hello+world&n=1&n=2&empty=&=skip&bad=%zz",
		"REMOTE_ADDR=127.0.0.1",
		NULL
	};
	struct fake f;

	g_assert_cmpint(fake_setup(&f, env), ==, 0);
	g_assert_cmpstr(f.req.method, ==, "GET");
	/* %2F decodes to '/', '+' stays '+' in a path. */
	g_assert_cmpstr(f.req.path, ==, "/café/a/b/x+y");
	g_assert_cmpstr(request_query(&f.req, "q"), ==, "hello world");
	g_assert_cmpstr(request_query(&f.req, "n"), ==, "2");
	g_assert_cmpstr(request_query(&f.req, "empty"), ==, "");
	g_assert_cmpstr(request_query(&f.req, "bad"), ==, "%zz");
	g_assert_null(request_query(&f.req, "missing"));
	g_assert_cmpstr(f.req.remote_addr, ==, "127.0.0.1");
	request_destroy(&f.req);
}

static void
test_nul_in_path(void)
{
	char *env[] = { "REQUEST_METHOD=GET", "REQUEST_URI=/health%00.json", NULL };
	struct fake f;

	g_assert_cmpint(fake_setup(&f, env), ==, -1);
	g_assert_null(f.req.path);
	request_destroy(&f.req);
}

static void
test_headers(void)
{
	char *env[] = {
		"REQUEST_URI=/",
		"HTTP_AUTHORIZATION=Bearer abc",
		"HTTP_X_FORWARDED_FOR=10.0.0.1",
		"CONTENT_TYPE=application/json",
		"CONTENT_LENGTH=12",
		NULL
	};
	struct fake f;

	g_assert_cmpint(fake_setup(&f, env), ==, 0);
	g_assert_cmpstr(f.req.method, ==, "GET");
	g_assert_cmpstr(request_header(&f.req, "Authorization"), ==, "Bearer abc");
	g_assert_cmpstr(request_header(&f.req, "x-forwarded-for"), ==, "10.0.0.1");
	g_assert_cmpstr(request_header(&f.req, "Content-Type"), ==, "application/json");
	g_assert_cmpstr(request_header(&f.req, "content-length"), ==, "12");
	g_assert_null(request_header(&f.req, "Cookie"));
	request_destroy(&f.req);
}

static void
test_request_id(void)
{
	char *good[] = { "REQUEST_URI=/", "HTTP_X_REQUEST_ID=abc-1.2_3", NULL };
	char *spaces[] = { "REQUEST_URI=/", "HTTP_X_REQUEST_ID=abc 123", NULL };
	char long_id[100] = "HTTP_X_REQUEST_ID=";
	char *too_long[] = { "REQUEST_URI=/", long_id, NULL };
	char id64[100] = "HTTP_X_REQUEST_ID=";
	char *just_fits[] = { "REQUEST_URI=/", id64, NULL };
	struct fake f;

	fake_setup(&f, good);
	g_assert_cmpstr(f.req.request_id, ==, "abc-1.2_3");
	request_destroy(&f.req);

	fake_setup(&f, spaces);
	g_assert_cmpuint(strlen(f.req.request_id), ==, 26);
	request_destroy(&f.req);

	memset(long_id + strlen(long_id), 'a', 65);
	fake_setup(&f, too_long);
	g_assert_cmpuint(strlen(f.req.request_id), ==, 26);
	request_destroy(&f.req);

	memset(id64 + strlen(id64), 'b', 64);
	fake_setup(&f, just_fits);
	g_assert_cmpuint(strlen(f.req.request_id), ==, 64);
	request_destroy(&f.req);
}

static void
test_error_bodies(void)
{
	char *env[] = { "REQUEST_URI=/", NULL };
	struct fake f;
	json_t *doc, *item;

	fake_setup(&f, env);
	response_header(&f.req, "X-Evil", "a\r\nSet-Cookie: %s", "x=1");
	g_assert_null(strstr(f.req.headers->str, "\r\nSet-Cookie"));
	response_validation(&f.req, "query", "limit", "Input should be a valid integer", "int_parsing");
	g_assert_cmpint(f.req.status, ==, 422);
	doc = fake_body(&f);
	item = json_array_get(json_object_get(doc, "detail"), 0);
	g_assert_cmpstr(json_string_value(json_object_get(item, "type")), ==, "int_parsing");
	g_assert_cmpstr(json_string_value(json_array_get(json_object_get(item, "loc"), 0)), ==, "query");
	g_assert_cmpstr(json_string_value(json_array_get(json_object_get(item, "loc"), 1)), ==, "limit");
	json_decref(doc);
	/* A second answer is refused; the first one stands. */
	response_error(&f.req, 500, "late");
	g_assert_cmpint(f.req.status, ==, 422);
	request_destroy(&f.req);

	fake_setup(&f, env);
	response_error(&f.req, 404, "Not Found");
	g_assert_cmpstr(f.req.out->str, ==, "{\"detail\":\"Not Found\"}");
	g_assert_cmpstr(response_reason(404), ==, "Not Found");
	request_destroy(&f.req);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/request/path-and-query", test_path_and_query);
	g_test_add_func("/request/nul-in-path", test_nul_in_path);
	g_test_add_func("/request/headers", test_headers);
	g_test_add_func("/request/request-id", test_request_id);
	g_test_add_func("/request/error-bodies", test_error_bodies);
	return g_test_run();
}
