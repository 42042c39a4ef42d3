#include "autoconfig.h"

#include <stdlib.h>
#include <string.h>

#include "redis-sentinel.h"
#include "redis.h"

/* The sentinel that answered last; every thread of the process starts
 * there, so a dead first sentinel costs each thread nothing after one
 * has found a live one. */
static guint redis_sentinel_last;

static void
redis_sentinel_addr_clear(gpointer data)
{
	struct redis_sentinel_addr *a = data;

	g_free(a->host);
}

/* One entry is read as the host and port of a redis:// URL, so a sentinel
 * address and REDIS_URL's host accept exactly the same spellings. */
static int
redis_sentinel_parse_one(const char *entry, struct redis_sentinel_addr *out, char **cause)
{
	struct redis_url u;
	char *url, *err = NULL;
	gboolean has_port;

	if (*entry == '\0' || strpbrk(entry, "@/?#") != NULL) {
		*cause = g_strdup_printf("\"%s\" is not host:port", entry);
		return -1;
	}
	has_port = entry[0] == '[' ? strstr(entry, "]:") != NULL : strchr(entry, ':') != NULL;
	url = g_strconcat("redis://", entry, NULL);
	if (redis_url_parse(url, &u, &err) != 0) {
		*cause = g_strdup_printf("\"%s\" is not host:port: %s", entry, err);
		g_free(err);
		g_free(url);
		return -1;
	}
	g_free(url);
	out->host = g_steal_pointer(&u.host);
	out->port = has_port ? u.port : REDIS_SENTINEL_PORT;
	redis_url_clear(&u);
	return 0;
}

GArray *
redis_sentinel_parse(const char *list, char **cause)
{
	GArray *out = g_array_new(FALSE, TRUE, sizeof(struct redis_sentinel_addr));
	char **parts = g_strsplit(list, ",", -1);

	g_array_set_clear_func(out, redis_sentinel_addr_clear);
	for (int i = 0; parts[i] != NULL; i++) {
		struct redis_sentinel_addr a = { NULL, 0 };
		char *entry = g_strstrip(parts[i]);

		if (*entry == '\0')
			continue;   /* a trailing or doubled comma */
		if (redis_sentinel_parse_one(entry, &a, cause) != 0) {
			g_array_unref(out);
			out = NULL;
			goto out;
		}
		g_array_append_val(out, a);
	}
	if (out->len == 0) {
		*cause = g_strdup("no sentinel address (expected host:port,host:port,...)");
		g_array_unref(out);
		out = NULL;
	}
out:
	g_strfreev(parts);
	return out;
}

int
redis_sentinel_check(const char *list, char **cause)
{
	GArray *a = redis_sentinel_parse(list, cause);

	if (a == NULL)
		return -1;
	g_array_unref(a);
	return 0;
}

int
redis_sentinel_check_name(const char *name, char **cause)
{
	if (*name == '\0')
		goto bad;
	for (const char *p = name; *p != '\0'; p++) {
		if (!g_ascii_isgraph(*p))
			goto bad;
	}
	return 0;
bad:
	*cause = g_strdup("must be the master's name as sentinel.conf's \"sentinel monitor\" gives it "
	    "(printable, no spaces)");
	return -1;
}

int
redis_sentinel_reply_addr(const redisReply *reply, const char *master, char **host, int *port,
    char **cause)
{
	char *end;
	long n;

	if (reply->type == REDIS_REPLY_NIL) {
		*cause = g_strdup_printf("does not know a master named \"%s\"", master);
		return -1;
	}
	if (reply->type == REDIS_REPLY_ERROR) {
		*cause = g_strndup(reply->str, reply->len);
		return -1;
	}
	if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 ||
	    reply->element[0]->type != REDIS_REPLY_STRING || reply->element[1]->type != REDIS_REPLY_STRING)
		goto bad;
	n = strtol(reply->element[1]->str, &end, 10);
	if (*end != '\0' || n < 1 || n > 65535 || reply->element[0]->len == 0)
		goto bad;
	*host = g_strndup(reply->element[0]->str, reply->element[0]->len);
	*port = (int)n;
	return 0;
bad:
	*cause = g_strdup("unexpected answer to SENTINEL get-master-addr-by-name");
	return -1;
}

guint
redis_sentinel_first(guint n)
{
	return n > 0 ? g_atomic_int_get(&redis_sentinel_last) % n : 0;
}

void
redis_sentinel_answered(guint index)
{
	g_atomic_int_set(&redis_sentinel_last, index);
}

int
redis_sentinel_share_ms(int timeout_ms, guint n)
{
	return MAX(timeout_ms / (int)MAX(n, 1u), 100);
}

static struct timeval
redis_sentinel_tv(gint64 ms)
{
	struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)((ms % 1000) * 1000) };

	return tv;
}

/* One sentinel's answer within MS: 0, or -1 and *cause. */
static int
redis_sentinel_ask(const struct config *cfg, const struct redis_sentinel_addr *a, gint64 ms,
    char **host, int *port, char **cause)
{
	redisContext *c = redisConnectWithTimeout(a->host, a->port, redis_sentinel_tv(ms));
	redisReply *reply = NULL;
	char *err = NULL;
	int rc = -1;

	if (c == NULL || c->err) {
		err = g_strdup(c != NULL ? c->errstr : "out of memory");
		goto out;
	}
	if (redisSetTimeout(c, redis_sentinel_tv(ms)) != REDIS_OK) {
		err = g_strdup("cannot set the timeout");
		goto out;
	}
	if (cfg->redis_sentinel_password != NULL) {
		reply = redisCommand(c, "AUTH %s", cfg->redis_sentinel_password);
		if ((err = redis_reply_error(c, reply)) != NULL)
			goto out;
		g_clear_pointer(&reply, freeReplyObject);
	}
	reply = redisCommand(c, "SENTINEL get-master-addr-by-name %s", cfg->redis_sentinel_master);
	if (reply == NULL) {
		err = g_strdup(c->errstr[0] != '\0' ? c->errstr : "connection lost");
		goto out;
	}
	rc = redis_sentinel_reply_addr(reply, cfg->redis_sentinel_master, host, port, &err);
out:
	if (rc != 0)
		*cause = g_strdup_printf("sentinel %s:%d: %s", a->host, a->port, err);
	g_free(err);
	if (reply != NULL)
		freeReplyObject(reply);
	if (c != NULL)
		redisFree(c);
	return rc;
}

int
redis_sentinel_master(const struct config *cfg, int timeout_ms, char **host, int *port, char **cause)
{
	GArray *list = redis_sentinel_parse(cfg->redis_sentinels, cause);
	gint64 deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000, left_ms;
	guint first, i;
	char *last = NULL;
	int share, rc = -1;

	if (list == NULL)
		return -1;
	first = redis_sentinel_first(list->len);
	share = redis_sentinel_share_ms(timeout_ms, list->len);
	for (i = 0; i < list->len; i++) {
		guint k = (first + i) % list->len;

		left_ms = (deadline - g_get_monotonic_time()) / 1000;
		if (left_ms < 10)
			break;
		g_clear_pointer(&last, g_free);
		if (redis_sentinel_ask(cfg, &g_array_index(list, struct redis_sentinel_addr, k),
		    MIN((gint64)share, left_ms), host, port, &last) == 0) {
			redis_sentinel_answered(k);
			rc = 0;
			break;
		}
	}
	if (rc != 0)
		*cause = g_strdup_printf("no sentinel named the master \"%s\" (%u of %u asked within %d ms; "
		    "last: %s)", cfg->redis_sentinel_master, i, list->len, timeout_ms,
		    last != NULL ? last : "none answered in time");
	g_free(last);
	g_array_unref(list);
	return rc;
}
