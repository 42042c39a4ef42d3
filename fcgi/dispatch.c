/* From an accepted request to its response and its log line. */
#include "autoconfig.h"

#include <string.h>

#include "cors.h"
#include "dispatch.h"
#include "log.h"
#include "metrics.h"
#include "route.h"

/* Set at start-up, read by every acceptor thread afterwards. */
static dispatch_gate dispatch_limit;
static dispatch_gate dispatch_auth;
static dispatch_cors dispatch_cors_hook = cors_apply;

void
dispatch_set_limit_hook(dispatch_gate limit)
{
	dispatch_limit = limit;
}

void
dispatch_set_auth_hook(dispatch_gate auth)
{
	dispatch_auth = auth;
}

void
dispatch_set_cors_hook(dispatch_cors cors)
{
	dispatch_cors_hook = cors;
}

static void
dispatch_route(struct request *req)
{
	GString *allow = g_string_sized_new(32);
	enum route_match match;
	const struct route *route;

	match = route_find(req->method, req->path, &route, req->params, &req->nparams, allow);
	req->route = route;
	if (match == ROUTE_BAD_METHOD && strcmp(req->method, "OPTIONS") == 0) {
		if (dispatch_cors_hook != NULL)
			dispatch_cors_hook(req, allow->str);
		if (!req->responded) {
			response_header(req, "Allow", "%s", allow->str);
			response_empty(req, 200);
		}
		goto out;
	}
	if (dispatch_cors_hook != NULL)
		dispatch_cors_hook(req, NULL);
	if (req->responded)
		goto out;
	switch (match) {
	case ROUTE_NOT_FOUND:
		response_error(req, 404, "Not Found");
		goto out;
	case ROUTE_BAD_METHOD:
		response_header(req, "Allow", "%s", allow->str);
		response_error(req, 405, "Method Not Allowed");
		goto out;
	case ROUTE_FOUND:
		break;
	}
	if (dispatch_limit != NULL && !dispatch_limit(req))
		goto out;
	if ((route->flags & ROUTE_AUTH) && dispatch_auth != NULL && !dispatch_auth(req))
		goto out;
	if ((route->flags & ROUTE_AUTH) && dispatch_auth == NULL) {
		/* Never serve a protected route when no verifier is installed. */
		log_error("%s %s %s needs authentication but no auth hook is set", req->request_id,
		    req->method, route->pattern);
		response_error(req, 503, "Authentication unavailable");
		goto out;
	}
	route->handler(req);
out:
	g_string_free(allow, TRUE);
}

/* The path for the log line: at most 200 bytes of the raw target, without
 * its query (which may carry tokens); a route's pattern when its path
 * carries a secret. */
static int
dispatch_log_path(struct request *req, const char **path)
{
	const char *uri = request_env(req, "REQUEST_URI");
	const char *q;

	if (req->route != NULL && (req->route->flags & ROUTE_SECRET_PATH)) {
		*path = req->route->pattern;
		return (int)strlen(*path);
	}
	if (uri == NULL)
		uri = req->path != NULL ? req->path : "-";
	q = strchr(uri, '?');
	*path = uri;
	return (int)MIN(q != NULL ? (size_t)(q - uri) : strlen(uri), 200);
}

void
dispatch_request(struct request *req)
{
	const char *log_path;
	int log_path_len;
	gint64 elapsed_us;

	if (req->path == NULL)
		response_error(req, 400, "Invalid path");
	else
		dispatch_route(req);
	if (!req->responded) {
		log_error("%s %s %s: handler did not respond", req->request_id, req->method, req->path);
		g_string_truncate(req->headers, 0);
		response_error(req, 500, "Internal Server Error");
	}
	if (response_send(req) != 0)
		log_debug("%s client went away before the response was written", req->request_id);
	elapsed_us = g_get_monotonic_time() - req->start_us;
	metrics_request_done(req->route, req->status, elapsed_us);
	if (log_enabled(LOG_INFO)) {
		log_path_len = dispatch_log_path(req, &log_path);
		log_msg(LOG_INFO, "%s %s %.*s %d %" G_GINT64_FORMAT "us %s", req->request_id,
		    req->method, log_path_len, log_path, req->status, elapsed_us, req->remote_addr);
	}
}
