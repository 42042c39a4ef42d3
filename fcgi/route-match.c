/* Matching a method and a decoded path against tables of routes. */
#include "autoconfig.h"

#include <string.h>

#include "route.h"

/* Length of PATH without one trailing slash ("/" itself stays "/"), so that
 * "/podcasts" and "/podcasts/" name the same resource. */
static size_t
route_trimmed_len(const char *path)
{
	size_t n = strlen(path);

	if (n > 1 && path[n - 1] == '/')
		n--;
	return n;
}

/* TRUE when PATH (N bytes) matches PATTERN segment by segment; with PARAMS
 * non-NULL, each "{name}" segment is copied into it. */
static gboolean
route_pattern_match(const char *pattern, const char *path, size_t n, char **params, int *nparams)
{
	size_t pn = route_trimmed_len(pattern), pi = 0, si = 0;
	int captured = 0;

	while (pi < pn && si < n) {
		size_t pe, se;

		if (pattern[pi] != path[si])
			return FALSE;
		if (pattern[pi] == '/') {
			pi++;
			si++;
			if (pi == pn || si == n)
				break;
		}
		for (pe = pi; pe < pn && pattern[pe] != '/'; pe++)
			;
		for (se = si; se < n && path[se] != '/'; se++)
			;
		if (pe - pi >= 2 && pattern[pi] == '{' && pattern[pe - 1] == '}') {
			if (se == si)
				return FALSE;
			if (params != NULL && captured < REQUEST_MAX_PARAMS)
				params[captured] = g_strndup(path + si, se - si);
			captured++;
		} else if (pe - pi != se - si || memcmp(pattern + pi, path + si, pe - pi) != 0)
			return FALSE;
		pi = pe;
		si = se;
	}
	if (pi != pn || si != n)
		return FALSE;
	if (nparams != NULL)
		*nparams = MIN(captured, REQUEST_MAX_PARAMS);
	return TRUE;
}

/* Appends METHOD to the Allow list unless it is there already. */
static void
route_allow_add(GString *allow, const char *method)
{
	const char *p = allow->str;
	size_t len = strlen(method);

	while ((p = strstr(p, method)) != NULL) {
		if ((p == allow->str || p[-1] == ' ') && (p[len] == ',' || p[len] == '\0'))
			return;
		p += len;
	}
	if (allow->len > 0)
		g_string_append(allow, ", ");
	g_string_append(allow, method);
}

enum route_match
route_find_in(const struct route *const *groups, const char *method, const char *path,
    const struct route **out, char **params, int *nparams, GString *allow)
{
	size_t n;
	gboolean known = FALSE;

	*out = NULL;
	*nparams = 0;
	if (path == NULL || path[0] != '/')
		return ROUTE_NOT_FOUND;
	n = route_trimmed_len(path);
	for (int g = 0; groups[g] != NULL; g++) {
		for (const struct route *r = groups[g]; r->method != NULL; r++) {
			if (!route_pattern_match(r->pattern, path, n, NULL, NULL))
				continue;
			if (strcmp(r->method, method) == 0) {
				route_pattern_match(r->pattern, path, n, params, nparams);
				*out = r;
				return ROUTE_FOUND;
			}
			known = TRUE;
			if (allow != NULL)
				route_allow_add(allow, r->method);
		}
	}
	return known ? ROUTE_BAD_METHOD : ROUTE_NOT_FOUND;
}
