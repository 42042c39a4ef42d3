/* Where the built-in accounts may send a browser back to (redirect_to of
 * /auth/v1/authorize, the mails' links): GoTrue's site URL and URI allow
 * list, as AUTH_SITE_URL and AUTH_REDIRECT_ALLOW_LIST (doc/auth.md).
 *
 * A URL is allowed when it has the origin (scheme, host, port) of
 * AUTH_SITE_URL, or matches one pattern of AUTH_REDIRECT_ALLOW_LIST
 * (comma-separated, matched against the whole URL): '*' matches any run of
 * characters but '.' and '/', '**' any run at all, '?' one character but
 * '.' and '/'; everything else matches itself (a pattern may name an app's
 * own scheme, myapp://callback). URLs with user information and the
 * javascript:, data:, vbscript:, file: and blob: schemes are never allowed.
 *
 * Pure: no FastCGI, no database; safe from any thread. */
#ifndef PP_REDIRECT_ALLOW_H
#define PP_REDIRECT_ALLOW_H

#include <glib.h>

struct config;

/* TRUE when URL may be a redirect target under CFG. */
gboolean redirect_allowed(const struct config *cfg, const char *url);

/* GoTrue's choice of target: URL when it is allowed, else AUTH_SITE_URL,
 * else NULL (nowhere allowed). Borrowed from URL or CFG. */
const char *redirect_choose(const struct config *cfg, const char *url);

/* The glob of AUTH_REDIRECT_ALLOW_LIST's patterns (exported for tests). */
gboolean redirect_glob(const char *pattern, const char *text);

#endif
