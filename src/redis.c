#include "autoconfig.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

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

int
redis_url_parse(const char *url, struct redis_url *out, char **cause)
{
	const char *rest, *at, *slash, *colon, *q;
	char *end;

	memset(out, 0, sizeof *out);
	out->port = 6379;
	if (g_str_has_prefix(url, "unix://")) {
		rest = url + strlen("unix://");
		q = strchr(rest, '?');
		out->path = q != NULL ? g_strndup(rest, q - rest) : g_strdup(rest);
		if (q != NULL && g_str_has_prefix(q, "?db="))
			out->db = atoi(q + 4);
		if (*out->path != '/') {
			*cause = g_strdup_printf("REDIS_URL %s: a unix socket needs an absolute path", url);
			redis_url_clear(out);
			return -1;
		}
		return 0;
	}
	if (!g_str_has_prefix(url, "redis://")) {
		*cause = g_strdup_printf("REDIS_URL %s: must start with redis:// or unix://", url);
		return -1;
	}
	rest = url + strlen("redis://");
	slash = strchr(rest, '/');
	at = strrchr(rest, '@');
	if (at != NULL && (slash == NULL || at < slash)) {
		colon = memchr(rest, ':', at - rest);
		if (colon != NULL) {
			if (colon > rest)
				out->username = g_uri_unescape_segment(rest, colon, NULL);
			out->password = g_uri_unescape_segment(colon + 1, at, NULL);
		} else
			out->password = g_uri_unescape_segment(rest, at, NULL);
		rest = at + 1;
	}
	if (slash == NULL)
		slash = rest + strlen(rest);
	colon = memchr(rest, ':', slash - rest);
	if (colon != NULL) {
		out->host = g_strndup(rest, colon - rest);
		out->port = (int)strtol(colon + 1, &end, 10);
		if (end != slash || out->port <= 0 || out->port > 65535) {
			*cause = g_strdup_printf("REDIS_URL %s: bad port", url);
			redis_url_clear(out);
			return -1;
		}
	} else
		out->host = g_strndup(rest, slash - rest);
	if (*out->host == '\0') {
		g_free(out->host);
		out->host = g_strdup("127.0.0.1");
	}
	if (*slash == '/' && slash[1] != '\0') {
		out->db = (int)strtol(slash + 1, &end, 10);
		if (*end != '\0' && *end != '?') {
			*cause = g_strdup_printf("REDIS_URL %s: bad database number", url);
			redis_url_clear(out);
			return -1;
		}
	}
	return 0;
}

char *
redis_reply_error(redisContext *c, const redisReply *reply)
{
	if (reply == NULL)
		return g_strdup(c->errstr[0] != '\0' ? c->errstr : "connection lost");
	if (reply->type == REDIS_REPLY_ERROR)
		return g_strndup(reply->str, reply->len);
	return NULL;
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

redisContext *
redis_connect(const char *url, int timeout_ms, char **cause)
{
	struct redis_url u;
	struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
	redisContext *c = NULL;

	if (redis_url_parse(url, &u, cause) != 0)
		return NULL;
	if (u.path != NULL)
		c = redisConnectUnixWithTimeout(u.path, tv);
	else
		c = redisConnectWithTimeout(u.host, u.port, tv);
	if (c == NULL || c->err) {
		*cause = g_strdup_printf("Redis %s:%d: %s", u.path != NULL ? u.path : u.host,
		    u.path != NULL ? 0 : u.port, c != NULL ? c->errstr : "out of memory");
		goto fail;
	}
	if (redisSetTimeout(c, tv) != REDIS_OK) {
		*cause = g_strdup("Redis: cannot set the command timeout");
		goto fail;
	}
	if (u.password != NULL) {
		if (u.username != NULL) {
			if (redis_setup(c, cause, "AUTH", "AUTH %s %s", u.username, u.password) != 0)
				goto fail;
		} else if (redis_setup(c, cause, "AUTH", "AUTH %s", u.password) != 0)
			goto fail;
	}
	if (u.db != 0 && redis_setup(c, cause, "SELECT", "SELECT %d", u.db) != 0)
		goto fail;
	redis_url_clear(&u);
	return c;
fail:
	if (c != NULL)
		redisFree(c);
	redis_url_clear(&u);
	return NULL;
}
