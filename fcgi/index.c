/* GET / and HEAD /: what this service is and where its documentation is
 * (the API's own reference at /docs, its OpenAPI document at
 * /openapi.json), for someone who opens the base URL first. A constant
 * answer: no database, no Redis, no rate limit (it costs less than a limit
 * check would). */
#include "autoconfig.h"

#include "request.h"
#include "route.h"

static void
index_get(struct request *req)
{
	response_json(req, 200, json_pack("{s:s, s:s, s:s, s:s, s:s, s:{s:s, s:s, s:s, s:s}, s:s, s:s}",
	    "name", PACKAGE_NAME,
	    "description", "Podcast Pro API: documents in, two-host audio podcasts out",
	    "version", PACKAGE_VERSION,
	    "api_reference", "/docs",
	    "openapi", "/openapi.json",
	    "docs",
	        "readme", "README.md",
	        "api", "doc/api.md",
	        "storage", "doc/storage.md",
	        "man", "podcastpro-fcgi(8)",
	    "health", "/health",
	    "ready", "/health/ready"));
}

/* The path "/" only: the matcher never lets "/" stand for a longer path. */
const struct route index_routes[] = {
	{ .method = "GET", .pattern = "/", .handler = index_get },
	{ .method = "HEAD", .pattern = "/", .handler = index_get },
	{ .method = NULL }
};
