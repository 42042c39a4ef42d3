/* Redirect targets of the built-in accounts (see redirect-allow.h). */
#include "autoconfig.h"

#include <string.h>

#include "config.h"
#include "redirect-allow.h"

static gboolean
redirect_separator(char c)
{
	return c == '.' || c == '/';
}

gboolean
redirect_glob(const char *p, const char *t)
{
	/* Backtracking over stars; patterns are short and few. */
	for (; *p != '\0'; p++, t++) {
		if (p[0] == '*' && p[1] == '*') {
			while (*p == '*')
				p++;
			for (;; t++) {
				if (redirect_glob(p, t))
					return TRUE;
				if (*t == '\0')
					return FALSE;
			}
		}
		if (*p == '*') {
			p++;
			for (;; t++) {
				if (redirect_glob(p, t))
					return TRUE;
				if (*t == '\0' || redirect_separator(*t))
					return FALSE;
			}
		}
		if (*t == '\0')
			return FALSE;
		if (*p == '?' ? redirect_separator(*t) : *p != *t)
			return FALSE;
	}
	return *t == '\0';
}

/* URL parsed strictly: a scheme, no user information, and never a
 * scheme that runs or reads something in the browser itself. */
static GUri *
redirect_parse(const char *url)
{
	static const char *const refused[] = { "javascript", "data", "vbscript", "file", "blob" };
	GUri *uri = g_uri_parse(url, G_URI_FLAGS_NONE, NULL);

	if (uri == NULL)
		return NULL;
	for (size_t i = 0; i < G_N_ELEMENTS(refused); i++) {
		if (g_ascii_strcasecmp(g_uri_get_scheme(uri), refused[i]) == 0)
			goto bad;
	}
	if (g_uri_get_userinfo(uri) != NULL)
		goto bad;
	return uri;
bad:
	g_uri_unref(uri);
	return NULL;
}

static gboolean
redirect_is_web(GUri *uri)
{
	return (g_ascii_strcasecmp(g_uri_get_scheme(uri), "http") == 0 ||
	    g_ascii_strcasecmp(g_uri_get_scheme(uri), "https") == 0) &&
	    g_uri_get_host(uri) != NULL && *g_uri_get_host(uri) != '\0';
}

static int
redirect_port(GUri *uri)
{
	int port = g_uri_get_port(uri);

	if (port != -1)
		return port;
	return g_ascii_strcasecmp(g_uri_get_scheme(uri), "https") == 0 ? 443 : 80;
}

static gboolean
redirect_same_origin(GUri *a, GUri *b)
{
	return g_ascii_strcasecmp(g_uri_get_scheme(a), g_uri_get_scheme(b)) == 0 &&
	    g_ascii_strcasecmp(g_uri_get_host(a), g_uri_get_host(b)) == 0 &&
	    redirect_port(a) == redirect_port(b);
}

gboolean
redirect_allowed(const struct config *cfg, const char *url)
{
	GUri *uri, *site = NULL;
	char **patterns = NULL;
	gboolean ok = FALSE;

	if (url == NULL || *url == '\0' || (uri = redirect_parse(url)) == NULL)
		return FALSE;
	if (cfg->auth_site_url != NULL && (site = redirect_parse(cfg->auth_site_url)) != NULL &&
	    redirect_is_web(uri) && redirect_is_web(site) && redirect_same_origin(uri, site)) {
		ok = TRUE;
		goto out;
	}
	if (cfg->auth_redirect_allow_list == NULL)
		goto out;
	patterns = g_strsplit(cfg->auth_redirect_allow_list, ",", -1);
	for (int i = 0; patterns[i] != NULL && !ok; i++) {
		const char *p = g_strstrip(patterns[i]);

		ok = *p != '\0' && redirect_glob(p, url);
	}
out:
	g_strfreev(patterns);
	if (site != NULL)
		g_uri_unref(site);
	g_uri_unref(uri);
	return ok;
}

const char *
redirect_choose(const struct config *cfg, const char *url)
{
	if (redirect_allowed(cfg, url))
		return url;
	return cfg->auth_site_url;
}
