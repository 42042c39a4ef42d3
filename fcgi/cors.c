/* Cross-origin headers and preflight answers. */
#include "autoconfig.h"

#include <string.h>

#include "cors.h"
#include "request.h"

json_t *
cors_parse_origins(const char *text, char **cause)
{
	json_error_t error;
	json_t *list = json_loads(text != NULL ? text : "[]", 0, &error), *item;
	size_t i;

	if (list == NULL) {
		*cause = g_strdup_printf("CORS_ORIGINS: %s", error.text);
		return NULL;
	}
	if (!json_is_array(list))
		goto fail;
	json_array_foreach(list, i, item) {
		if (!json_is_string(item))
			goto fail;
	}
	return list;
fail:
	json_decref(list);
	*cause = g_strdup("CORS_ORIGINS: must be a JSON list of strings");
	return NULL;
}

enum cors_match { CORS_REFUSED, CORS_ANY, CORS_LISTED };

/* "*", " * " and the like: any origin, without credentials. */
static gboolean
cors_is_wildcard(const char *allowed)
{
	while (g_ascii_isspace(*allowed))
		allowed++;
	if (*allowed++ != '*')
		return FALSE;
	while (g_ascii_isspace(*allowed))
		allowed++;
	return *allowed == '\0';
}

/* An origin listed by name wins over "*": it keeps credentials. */
static enum cors_match
cors_origin_match(const json_t *origins, const char *origin)
{
	enum cors_match m = CORS_REFUSED;
	const json_t *item;
	size_t i;

	if (origins == NULL)
		return CORS_REFUSED;
	json_array_foreach(origins, i, item) {
		const char *allowed = json_string_value(item);

		if (strcmp(allowed, origin) == 0)
			return CORS_LISTED;
		if (cors_is_wildcard(allowed))
			m = CORS_ANY;
	}
	return m;
}

void
cors_apply(struct request *req, const char *allow)
{
	const char *origin = request_header(req, "Origin"), *wanted_headers;
	gboolean preflight = allow != NULL &&
	    request_header(req, "Access-Control-Request-Method") != NULL;
	enum cors_match m;

	if (origin == NULL)
		return;
	/* Answers differ by Origin: caches must key on it. */
	response_header(req, "Vary", "Origin");
	if ((m = cors_origin_match(req->app->cors_origins, origin)) == CORS_REFUSED) {
		if (preflight)
			response_error(req, 400, "Disallowed CORS origin");
		return;
	}
	if (m == CORS_LISTED) {
		/* With credentials the origin is echoed: "*" is not allowed then. */
		response_header(req, "Access-Control-Allow-Origin", "%s", origin);
		response_header(req, "Access-Control-Allow-Credentials", "true");
	} else {
		/* Allowed only through "*": any site may read the answer, so
		 * never with the browser's credentials (cookies, HTTP auth). */
		response_header(req, "Access-Control-Allow-Origin", "*");
	}
	if (!preflight) {
		/* X-Supabase-Api-Version: supabase-js reads it to tell GoTrue's
		 * error shapes apart (/auth/v1/, doc/auth.md). */
		if (allow == NULL)
			response_header(req, "Access-Control-Expose-Headers",
			    "X-Request-ID, Link, Retry-After, X-RateLimit-Limit, X-RateLimit-Remaining, "
			    "X-RateLimit-Reset, RateLimit, RateLimit-Policy, X-Supabase-Api-Version");
		return;
	}
	response_header(req, "Access-Control-Allow-Methods", "%s", allow);
	wanted_headers = request_header(req, "Access-Control-Request-Headers");
	if (wanted_headers != NULL && *wanted_headers != '\0')
		response_header(req, "Access-Control-Allow-Headers", "%s", wanted_headers);
	response_header(req, "Access-Control-Max-Age", "%d", CORS_MAX_AGE);
	response_empty(req, 200);
}
