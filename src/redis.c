#include "autoconfig.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "redis-sentinel.h"
#include "redis.h"

void
redis_url_clear(struct redis_url *u)
{
	g_free(u->host);
	g_free(u->path);
	g_free(u->username);
	g_free(u->password);
	memset(u, 0, sizeof *u);
}

/* A whole number from LO to HI in [S, E): 0 and *OUT, or -1. */
static int
redis_url_number(const char *s, const char *e, long lo, long hi, int *out)
{
	long n = 0;

	if (s == e || e - s > 9)
		return -1;
	for (const char *p = s; p < e; p++) {
		if (!g_ascii_isdigit(*p))
			return -1;
		n = n * 10 + (*p - '0');
	}
	if (n < lo || n > hi)
		return -1;
	*out = (int)n;
	return 0;
}

/* A host name or IPv4 address: letters, digits, '.', '-', '_'. */
static gboolean
redis_url_host_ok(const char *s, const char *e)
{
	if (s == e)
		return FALSE;
	for (const char *p = s; p < e; p++) {
		if (!g_ascii_isalnum(*p) && *p != '.' && *p != '-' && *p != '_')
			return FALSE;
	}
	return TRUE;
}

/* Error messages never quote the URL: it may hold a password. The parts
 * quoted come after the last '@', where no password can be. */
int
redis_url_parse(const char *url, struct redis_url *out, char **cause)
{
	const char *rest, *at, *slash, *colon, *q, *host, *host_end, *end;
	char *text;

	memset(out, 0, sizeof *out);
	out->port = 6379;
	if (g_str_has_prefix(url, "unix://")) {
		rest = url + strlen("unix://");
		q = strchr(rest, '?');
		end = q != NULL ? q : rest + strlen(rest);
		if (*rest != '/' || memchr(rest, '@', (size_t)(end - rest)) != NULL) {
			*cause = g_strdup("unix:// needs an absolute socket path (unix:///path/to/redis.sock[?db=N])");
			return -1;
		}
		if (q != NULL && (!g_str_has_prefix(q, "?db=") ||
		    redis_url_number(q + 4, q + strlen(q), 0, REDIS_URL_MAX_DB, &out->db) != 0)) {
			*cause = g_strdup_printf("unix:// takes one parameter, ?db=N with N from 0 to %d",
			    REDIS_URL_MAX_DB);
			return -1;
		}
		out->path = g_strndup(rest, (size_t)(end - rest));
		return 0;
	}
	if (!g_str_has_prefix(url, "redis://")) {
		*cause = g_strdup("must start with redis:// or unix:// (rediss:// is not supported)");
		return -1;
	}
	rest = url + strlen("redis://");
	/* The user information ends at the last '@': a password may hold '/'
	 * or '@' that were not percent-encoded. */
	if ((at = strrchr(rest, '@')) != NULL) {
		colon = memchr(rest, ':', (size_t)(at - rest));
		if (colon != NULL) {
			if (colon > rest && (out->username = g_uri_unescape_segment(rest, colon, NULL)) == NULL)
				goto bad_escape;
			if ((out->password = g_uri_unescape_segment(colon + 1, at, NULL)) == NULL)
				goto bad_escape;
		} else if ((out->password = g_uri_unescape_segment(rest, at, NULL)) == NULL)
			goto bad_escape;
		rest = at + 1;
	}
	slash = rest + strcspn(rest, "/?#");
	if (*rest == '[') {
		/* [IPv6 address] */
		host = rest + 1;
		host_end = memchr(host, ']', (size_t)(slash - host));
		if (host_end == NULL || host_end == host ||
		    strspn(host, "0123456789abcdefABCDEF:.") != (size_t)(host_end - host)) {
			*cause = g_strdup("a bracketed host must be an IPv6 address, e.g. redis://[::1]:6379/0");
			goto fail;
		}
		colon = host_end + 1 < slash ? host_end + 1 : NULL;
		if (colon != NULL && *colon != ':') {
			*cause = g_strdup("expected :port after the bracketed IPv6 address");
			goto fail;
		}
	} else {
		host = rest;
		colon = memchr(rest, ':', (size_t)(slash - rest));
		host_end = colon != NULL ? colon : slash;
		if (host != host_end && !redis_url_host_ok(host, host_end)) {
			text = g_strndup(host, (size_t)(host_end - host));
			*cause = g_strdup_printf("\"%s\" is not a host name or address", text);
			g_free(text);
			goto fail;
		}
	}
	out->host = host == host_end ? g_strdup("127.0.0.1") : g_strndup(host, (size_t)(host_end - host));
	if (colon != NULL && redis_url_number(colon + 1, slash, 1, 65535, &out->port) != 0) {
		text = g_strndup(colon + 1, (size_t)(slash - colon - 1));
		*cause = g_strdup_printf("port \"%s\" is not a whole number from 1 to 65535", text);
		g_free(text);
		goto fail;
	}
	if (*slash == '/') {
		end = slash + 1 + strcspn(slash + 1, "?#");
		if (end > slash + 1 && redis_url_number(slash + 1, end, 0, REDIS_URL_MAX_DB, &out->db) != 0) {
			text = g_strndup(slash + 1, (size_t)(end - slash - 1));
			*cause = g_strdup_printf("database \"%s\" is not a whole number from 0 to %d",
			    text, REDIS_URL_MAX_DB);
			g_free(text);
			goto fail;
		}
	} else if (*slash != '\0') {
		*cause = g_strdup("parameters after the host are not supported");
		goto fail;
	}
	return 0;
bad_escape:
	*cause = g_strdup("bad percent-encoding in the user name or password");
fail:
	redis_url_clear(out);
	return -1;
}

gboolean
redis_error_is_failover(const char *err)
{
	return g_str_has_prefix(err, "READONLY") || g_str_has_prefix(err, "MASTERDOWN");
}

/* Marks C broken as a lost connection does: hiredis then fails every
 * further command on it, and callers drop it. */
static void
redis_mark_broken(redisContext *c, const char *why)
{
	c->err = REDIS_ERR_OTHER;
	g_strlcpy(c->errstr, why, sizeof c->errstr);
}

char *
redis_reply_error(redisContext *c, const redisReply *reply)
{
	if (reply == NULL)
		return g_strdup(c->errstr[0] != '\0' ? c->errstr : "connection lost");
	if (reply->type != REDIS_REPLY_ERROR)
		return NULL;
	if (redis_error_is_failover(reply->str))
		redis_mark_broken(c, reply->str);
	return g_strndup(reply->str, reply->len);
}

/* Runs one setup command; 0, or -1 and *cause. */
static int
redis_setup(redisContext *c, char **cause, const char *what, const char *fmt, ...)
{
	redisReply *reply;
	va_list ap;
	char *err;

	va_start(ap, fmt);
	reply = redisvCommand(c, fmt, ap);
	va_end(ap);
	err = redis_reply_error(c, reply);
	if (reply != NULL)
		freeReplyObject(reply);
	if (err == NULL)
		return 0;
	*cause = g_strdup_printf("Redis %s: %s", what, err);
	g_free(err);
	return -1;
}

/* Connects to U's address, authenticates and selects its database. */
static redisContext *
redis_connect_parsed(const struct redis_url *u, int timeout_ms, char **cause)
{
	struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
	redisContext *c = NULL;

	if (u->path != NULL)
		c = redisConnectUnixWithTimeout(u->path, tv);
	else
		c = redisConnectWithTimeout(u->host, u->port, tv);
	if (c == NULL || c->err) {
		*cause = g_strdup_printf("Redis %s:%d: %s", u->path != NULL ? u->path : u->host,
		    u->path != NULL ? 0 : u->port, c != NULL ? c->errstr : "out of memory");
		goto fail;
	}
	if (redisSetTimeout(c, tv) != REDIS_OK) {
		*cause = g_strdup("Redis: cannot set the command timeout");
		goto fail;
	}
	if (u->password != NULL) {
		if (u->username != NULL) {
			if (redis_setup(c, cause, "AUTH", "AUTH %s %s", u->username, u->password) != 0)
				goto fail;
		} else if (redis_setup(c, cause, "AUTH", "AUTH %s", u->password) != 0)
			goto fail;
	}
	if (u->db != 0 && redis_setup(c, cause, "SELECT", "SELECT %d", u->db) != 0)
		goto fail;
	return c;
fail:
	if (c != NULL)
		redisFree(c);
	return NULL;
}

redisContext *
redis_connect(const char *url, int timeout_ms, char **cause)
{
	struct redis_url u;
	redisContext *c;
	char *err = NULL;

	if (redis_url_parse(url, &u, &err) != 0) {
		*cause = g_strdup_printf("REDIS_URL: %s", err);
		g_free(err);
		return NULL;
	}
	c = redis_connect_parsed(&u, timeout_ms, cause);
	redis_url_clear(&u);
	return c;
}

int
redis_check_master(redisContext *c, char **cause)
{
	redisReply *reply = redisCommand(c, "ROLE");
	int rc = -1;

	if (reply == NULL) {
		*cause = g_strdup_printf("Redis ROLE: %s", c->errstr[0] != '\0' ? c->errstr : "connection lost");
		return -1;
	}
	if (reply->type == REDIS_REPLY_ERROR && g_str_has_prefix(reply->str, "NOPERM"))
		rc = 0;   /* an ACL user without ROLE: READONLY replies still tell */
	else if (reply->type == REDIS_REPLY_ARRAY && reply->elements > 0 &&
	    reply->element[0]->type == REDIS_REPLY_STRING && strcmp(reply->element[0]->str, "master") == 0)
		rc = 0;
	else {
		*cause = g_strdup_printf("Redis is not the master (ROLE: %s)",
		    reply->type == REDIS_REPLY_ERROR ? reply->str :
		    reply->type == REDIS_REPLY_ARRAY && reply->elements > 0 &&
		    reply->element[0]->type == REDIS_REPLY_STRING ? reply->element[0]->str : "unexpected answer");
		redis_mark_broken(c, "not the master");
	}
	freeReplyObject(reply);
	return rc;
}

redisContext *
redis_open(const struct config *cfg, int timeout_ms, char **cause)
{
	gint64 deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
	struct redis_url u;
	redisContext *c = NULL;
	char *err = NULL, *host = NULL;
	int port = 0;

	if (cfg->redis_sentinels == NULL)
		return redis_connect(cfg->redis_url, timeout_ms, cause);
	if (redis_url_parse(cfg->redis_url, &u, &err) != 0) {
		*cause = g_strdup_printf("REDIS_URL: %s", err);
		g_free(err);
		return NULL;
	}
	if (redis_sentinel_master(cfg, timeout_ms, &host, &port, cause) != 0)
		goto out;
	/* The sentinels' answer replaces REDIS_URL's address; its user,
	 * password and database stay. */
	g_free(u.host);
	g_clear_pointer(&u.path, g_free);
	u.host = g_steal_pointer(&host);
	u.port = port;
	c = redis_connect_parsed(&u, (int)MAX((deadline - g_get_monotonic_time()) / 1000, 50), cause);
	if (c != NULL && redis_check_master(c, &err) != 0) {
		*cause = g_strdup_printf("%s:%d, named by the sentinels: %s", u.host, u.port, err);
		g_free(err);
		g_clear_pointer(&c, redisFree);
	}
out:
	redis_url_clear(&u);
	return c;
}
