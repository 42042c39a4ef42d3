/* The master's question to the sentinels, asked on the main loop: an async
 * hiredis context per sentinel, one after another, each with its own timer
 * (hiredis 0.14 has no async timeout). Nothing here blocks: the loop keeps
 * supervising children and answering signals while a sentinel is slow.
 *
 * A context here is CONN->sentinel_ac, its ac->data is CONN; once CONN
 * lets go of it (an answer, a timeout, a new question) its late callbacks
 * see that and do nothing. */
#include "autoconfig.h"

#include <string.h>

#include <hiredis/adapters/glib.h>

#include "log.h"
#include "redis-sentinel.h"
#include "worker.h"

static struct worker *worker_sentinel_owner;

static void worker_sentinel_start(struct worker_conn *conn);

/* Lets go of the context under way, if any (its callbacks come back with
 * NULL and find it is no longer CONN's). */
static void
worker_sentinel_drop(struct worker_conn *conn)
{
	redisAsyncContext *ac = conn->sentinel_ac;

	if (conn->sentinel_timer != 0)
		g_source_remove(conn->sentinel_timer);
	conn->sentinel_timer = 0;
	conn->sentinel_ac = NULL;
	if (ac != NULL)
		redisAsyncFree(ac);   /* deferred by hiredis inside its own callback */
}

/* The current sentinel failed (CAUSE): the next one, or back-off when
 * every one has been asked. */
static void
worker_sentinel_next(struct worker_conn *conn, guint n, const char *cause)
{
	struct worker *w = worker_sentinel_owner;

	log_debug("redis (%s): sentinel %u of %u: %s", conn->what, conn->sentinel_index + 1, n, cause);
	worker_sentinel_drop(conn);
	if (++conn->sentinel_tried >= n) {
		log_warn("redis (%s): no sentinel named the master \"%s\" (last: %s); asking again",
		    conn->what, w->cfg->redis_sentinel_master, cause);
		worker_redis_schedule(conn);
		return;
	}
	conn->sentinel_index = (conn->sentinel_index + 1) % n;
	worker_sentinel_start(conn);
}

static guint
worker_sentinel_count(const struct config *cfg)
{
	char *cause = NULL;
	GArray *list = redis_sentinel_parse(cfg->redis_sentinels, &cause);
	guint n = list != NULL ? list->len : 0;

	g_free(cause);
	if (list != NULL)
		g_array_unref(list);
	return n;
}

static void
worker_sentinel_reply(redisAsyncContext *ac, void *r, void *privdata)
{
	struct worker_conn *conn = privdata;
	struct worker *w = worker_sentinel_owner;
	char *host = NULL, *cause = NULL;
	int port = 0;

	if (conn->sentinel_ac != ac)
		return;   /* dropped: a timeout, or shutdown */
	if (r == NULL) {
		worker_sentinel_next(conn, worker_sentinel_count(w->cfg),
		    ac->errstr[0] != '\0' ? ac->errstr : "connection lost");
		return;
	}
	if (redis_sentinel_reply_addr(r, w->cfg->redis_sentinel_master, &host, &port, &cause) != 0) {
		worker_sentinel_next(conn, worker_sentinel_count(w->cfg), cause);
		g_free(cause);
		return;
	}
	redis_sentinel_answered(conn->sentinel_index);
	worker_sentinel_drop(conn);
	worker_redis_connect_to(conn, host, port);
	g_free(host);
}

static void
worker_sentinel_on_connect(const redisAsyncContext *ac, int status)
{
	struct worker_conn *conn = ac->data;

	if (status == REDIS_OK || conn == NULL || conn->sentinel_ac != ac)
		return;
	/* hiredis frees AC after this callback, then flushes the question
	 * with NULL (ignored: AC is no longer ours). */
	conn->sentinel_ac = NULL;
	worker_sentinel_next(conn, worker_sentinel_count(worker_sentinel_owner->cfg), ac->errstr);
}

static gboolean
worker_sentinel_timeout(gpointer data)
{
	struct worker_conn *conn = data;

	conn->sentinel_timer = 0;
	worker_sentinel_next(conn, worker_sentinel_count(worker_sentinel_owner->cfg), "no answer in time");
	return G_SOURCE_REMOVE;
}

/* Asks sentinel number CONN->sentinel_index. */
static void
worker_sentinel_start(struct worker_conn *conn)
{
	struct worker *w = worker_sentinel_owner;
	char *cause = NULL;
	GArray *list = redis_sentinel_parse(w->cfg->redis_sentinels, &cause);
	const struct redis_sentinel_addr *a;
	redisAsyncContext *ac;

	if (list == NULL) {
		/* Checked at start-up and on reload: not reached. */
		log_error("REDIS_SENTINELS: %s", cause);
		g_free(cause);
		worker_redis_schedule(conn);
		return;
	}
	a = &g_array_index(list, struct redis_sentinel_addr, conn->sentinel_index % list->len);
	ac = redisAsyncConnect(a->host, a->port);
	if (ac == NULL || ac->err) {
		char *why = g_strdup_printf("%s:%d: %s", a->host, a->port, ac != NULL ? ac->errstr : "out of memory");

		if (ac != NULL)
			redisAsyncFree(ac);
		worker_sentinel_next(conn, list->len, why);
		g_free(why);
		goto out;
	}
	ac->data = conn;
	conn->sentinel_ac = ac;
	conn->sentinel_source = redis_source_new(ac);
	ac->ev.cleanup = worker_redis_source_cleanup;
	g_source_attach(conn->sentinel_source, NULL);
	redisAsyncSetConnectCallback(ac, worker_sentinel_on_connect);
	/* Pipelined behind the connect. A wrong password makes the question
	 * fail with NOAUTH, which names the cause. */
	if (w->cfg->redis_sentinel_password != NULL)
		redisAsyncCommand(ac, NULL, NULL, "AUTH %s", w->cfg->redis_sentinel_password);
	redisAsyncCommand(ac, worker_sentinel_reply, conn, "SENTINEL get-master-addr-by-name %s",
	    w->cfg->redis_sentinel_master);
	conn->sentinel_timer = g_timeout_add((guint)redis_sentinel_share_ms(w->cfg->redis_timeout_ms, list->len),
	    worker_sentinel_timeout, conn);
out:
	g_array_unref(list);
}

void
worker_sentinel_ask(struct worker *w, struct worker_conn *conn)
{
	worker_sentinel_owner = w;
	worker_sentinel_drop(conn);
	conn->sentinel_tried = 0;
	conn->sentinel_index = redis_sentinel_first(worker_sentinel_count(w->cfg));
	worker_sentinel_start(conn);
}

void
worker_sentinel_cancel(struct worker_conn *conn)
{
	worker_sentinel_drop(conn);
}
