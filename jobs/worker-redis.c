#include "autoconfig.h"

#include <string.h>

#include <hiredis/adapters/glib.h>

#include "log.h"
#include "redis.h"
#include "worker.h"

/* A command on its way; owned by hiredis's callback list while in flight,
 * by the outbox while Redis is away. */
struct worker_cmd {
	struct worker *w;
	struct worker_conn *conn;
	gboolean durable;
	worker_reply_fn fn;
	void *data;
	int argc;
	char **argv;
	size_t *argvlen;
	const char *script;   /* EVALSHA's body, resent with EVAL on NOSCRIPT */
};

#define WORKER_BACKOFF_MIN_MS 100
#define WORKER_BACKOFF_MAX_MS 2000

static struct worker *worker_redis_owner;

static void worker_redis_connect(struct worker_conn *conn);
static void worker_redis_abort(struct worker_conn *conn, const char *why);

static struct worker_cmd *
worker_cmd_new(struct worker *w, struct worker_conn *conn, gboolean durable, worker_reply_fn fn,
    void *data, int argc, const char **argv)
{
	struct worker_cmd *cmd = g_new0(struct worker_cmd, 1);

	cmd->w = w;
	cmd->conn = conn;
	cmd->durable = durable;
	cmd->fn = fn;
	cmd->data = data;
	cmd->argc = argc;
	cmd->argv = g_new0(char *, argc + 1);
	cmd->argvlen = g_new(size_t, argc);
	for (int i = 0; i < argc; i++) {
		cmd->argv[i] = g_strdup(argv[i]);
		cmd->argvlen[i] = strlen(argv[i]);
	}
	return cmd;
}

static void
worker_cmd_free(struct worker_cmd *cmd)
{
	g_strfreev(cmd->argv);
	g_free(cmd->argvlen);
	g_free(cmd);
}

static void worker_cmd_submit(struct worker_cmd *cmd);

static void
worker_cmd_reply(redisAsyncContext *ac, void *r, void *privdata)
{
	struct worker_cmd *cmd = privdata;
	struct worker_conn *conn = cmd->conn;
	redisReply *reply = r;

	conn->inflight--;
	if (reply != NULL && cmd->script != NULL && reply->type == REDIS_REPLY_ERROR &&
	    g_str_has_prefix(reply->str, "NOSCRIPT")) {
		/* First use since Redis started: EVAL caches it for EVALSHA. */
		g_free(cmd->argv[0]);
		g_free(cmd->argv[1]);
		cmd->argv[0] = g_strdup("EVAL");
		cmd->argv[1] = g_strdup(cmd->script);
		cmd->argvlen[0] = 4;
		cmd->argvlen[1] = strlen(cmd->script);
		cmd->script = NULL;
		conn->last_progress_us = g_get_monotonic_time();
		worker_cmd_submit(cmd);
		return;
	}
	if (reply != NULL && reply->type == REDIS_REPLY_ERROR && redis_error_is_failover(reply->str)) {
		/* The server is a replica now (a failover): this command did
		 * nothing. Drop the connection (hiredis frees it once this
		 * callback returns), ask the sentinels again, and treat the
		 * command as lost with the connection: durable ones are resent
		 * to the new master. */
		if (conn->ac != NULL && !(conn->ac->c.flags & REDIS_FREEING))
			worker_redis_abort(conn, reply->str);
		reply = NULL;
	}
	if (reply == NULL) {
		/* The connection is going away: hiredis flushes every callback
		 * with NULL before it calls the disconnect callback. */
		conn->connected = FALSE;
		if (cmd->durable) {
			g_queue_push_tail(&cmd->w->outbox, cmd);
			return;
		}
	} else
		conn->last_progress_us = g_get_monotonic_time();
	if (cmd->fn != NULL)
		cmd->fn(cmd->w, reply, cmd->data);
	worker_cmd_free(cmd);
}

static void
worker_cmd_submit(struct worker_cmd *cmd)
{
	struct worker_conn *conn = cmd->conn;

	if (!conn->connected || conn->ac == NULL ||
	    redisAsyncCommandArgv(conn->ac, worker_cmd_reply, cmd, cmd->argc,
	    (const char **)cmd->argv, cmd->argvlen) != REDIS_OK) {
		if (cmd->durable) {
			g_queue_push_tail(&cmd->w->outbox, cmd);
			return;
		}
		if (cmd->fn != NULL)
			cmd->fn(cmd->w, NULL, cmd->data);
		worker_cmd_free(cmd);
		return;
	}
	if (conn->inflight++ == 0)
		conn->last_progress_us = g_get_monotonic_time();
}

void
worker_redis_send(struct worker *w, gboolean durable, worker_reply_fn fn, void *data,
    int argc, const char **argv)
{
	worker_cmd_submit(worker_cmd_new(w, &w->cmd, durable, fn, data, argc, argv));
}

void
worker_redis_eval(struct worker *w, gboolean durable, worker_reply_fn fn, void *data, const char *script,
    int argc, const char **argv)
{
	static GHashTable *shas;   /* script body -> its SHA1, computed once */
	const char **full = g_new(const char *, argc + 2);
	const char *sha;
	struct worker_cmd *cmd;

	if (shas == NULL)
		shas = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, g_free);
	if ((sha = g_hash_table_lookup(shas, script)) == NULL) {
		sha = g_compute_checksum_for_string(G_CHECKSUM_SHA1, script, -1);
		g_hash_table_insert(shas, (gpointer)script, (gpointer)sha);
	}
	full[0] = "EVALSHA";
	full[1] = sha;
	memcpy(full + 2, argv, sizeof *argv * (size_t)argc);
	cmd = worker_cmd_new(w, &w->cmd, durable, fn, data, argc + 2, full);
	cmd->script = script;
	g_free(full);
	worker_cmd_submit(cmd);
}

gboolean
worker_redis_send_fetch(struct worker *w, worker_reply_fn fn, void *data, int argc, const char **argv)
{
	if (!w->fetch.connected)
		return FALSE;
	worker_cmd_submit(worker_cmd_new(w, &w->fetch, FALSE, fn, data, argc, argv));
	return TRUE;
}

static void
worker_redis_flush_outbox(struct worker *w)
{
	guint n = g_queue_get_length(&w->outbox);

	if (n > 0)
		log_info("redis: resending %u command(s) held while disconnected", n);
	/* Each is taken once; one that fails again goes back to the tail. */
	while (n-- > 0 && w->cmd.connected) {
		struct worker_cmd *cmd = g_queue_pop_head(&w->outbox);

		worker_cmd_submit(cmd);
	}
}

static gboolean
worker_redis_reconnect_cb(gpointer data)
{
	struct worker_conn *conn = data;

	conn->reconnect_timer = 0;
	worker_redis_connect(conn);
	return G_SOURCE_REMOVE;
}

void
worker_redis_schedule(struct worker_conn *conn)
{
	struct worker *w = worker_redis_owner;

	if (conn->reconnect_timer != 0 || w->quitting)
		return;
	conn->backoff_ms = conn->backoff_ms == 0 ? WORKER_BACKOFF_MIN_MS :
	    MIN(conn->backoff_ms * 2, WORKER_BACKOFF_MAX_MS);
	conn->reconnect_timer = g_timeout_add(conn->backoff_ms, worker_redis_reconnect_cb, conn);
}

/* A context's GSource lives exactly as long as the context. hiredis calls
 * the adapter's cleanup hook once per context, from inside its free,
 * whichever way the context ends: a failed connect (after the connect
 * callback), a disconnect (before the disconnect callback), or
 * redisAsyncFree. So the source is destroyed here, after the adapter's own
 * cleanup has taken its poll fd off it, and never in our callbacks: a source
 * destroyed there reaches the adapter's g_source_remove_poll destroyed
 * (GLib-CRITICAL, fatal under G_DEBUG=fatal-criticals). */
void
worker_redis_source_cleanup(gpointer data)
{
	RedisSource *rs = data;
	struct worker *w = worker_redis_owner;
	struct worker_conn *conns[] = { &w->cmd, &w->fetch };

	redis_source_cleanup(data);
	/* The adapter's dispatch reads revents and ac after a write handler
	 * that may have freed the context: leave it nothing to do. A source
	 * being dispatched holds GLib's own reference until dispatch returns. */
	rs->poll_fd.revents = 0;
	rs->ac = NULL;
	for (size_t i = 0; i < G_N_ELEMENTS(conns); i++) {
		if (conns[i]->source == data)
			conns[i]->source = NULL;
		if (conns[i]->sentinel_source == data)
			conns[i]->sentinel_source = NULL;
	}
	g_source_destroy(data);
	g_source_unref(data);
}

static struct worker_conn *
worker_redis_conn_of(const redisAsyncContext *ac)
{
	struct worker *w = worker_redis_owner;

	if (w->fetch.ac == ac)
		return &w->fetch;
	if (w->cmd.ac == ac)
		return &w->cmd;
	return NULL;
}

static void
worker_redis_on_disconnect(const redisAsyncContext *ac, int status)
{
	struct worker_conn *conn = worker_redis_conn_of(ac);

	if (conn == NULL)
		return;
	if (!worker_redis_owner->quitting)
		log_warn("redis (%s): disconnected%s%s", conn->what, ac->errstr[0] ? ": " : "", ac->errstr);
	conn->ac = NULL;
	conn->connected = conn->connecting = FALSE;
	conn->inflight = 0;
	if (conn == &worker_redis_owner->fetch)
		worker_redis_owner->fetch_inflight = FALSE;
	worker_redis_schedule(conn);
}

static void
worker_redis_setup_reply(struct worker *w, redisReply *reply, void *data)
{
	const char *what = data;

	if (reply != NULL && reply->type == REDIS_REPLY_ERROR)
		log_error("redis: %s: %s", what, reply->str);
}

/* With sentinels, the server they named is asked whether it is the master
 * before anything else is read from it; one that is not is dropped and the
 * sentinels are asked again. A command sent behind ROLE meanwhile gets
 * READONLY, which does the same (worker_cmd_reply). */
static void
worker_redis_role_reply(struct worker *w, redisReply *reply, void *data)
{
	struct worker_conn *conn = data;

	if (reply == NULL || conn->ac == NULL || (conn->ac->c.flags & REDIS_FREEING))
		return;
	if (reply->type == REDIS_REPLY_ARRAY && reply->elements > 0 &&
	    reply->element[0]->type == REDIS_REPLY_STRING && strcmp(reply->element[0]->str, "master") != 0)
		worker_redis_abort(conn, "the server the sentinels named is not the master (yet)");
	else if (reply->type == REDIS_REPLY_ERROR && !g_str_has_prefix(reply->str, "NOPERM"))
		log_warn("redis (%s): ROLE: %s", conn->what, reply->str);
}

static void
worker_redis_on_connect(const redisAsyncContext *cac, int status)
{
	struct worker_conn *conn = worker_redis_conn_of(cac);
	struct worker *w = worker_redis_owner;
	struct redis_url u;
	char *cause = NULL;

	if (conn == NULL)
		return;
	conn->connecting = FALSE;
	if (status != REDIS_OK) {
		/* hiredis frees the context (and, through the cleanup hook,
		 * its source) after this callback. */
		log_warn("redis (%s): cannot connect: %s", conn->what, cac->errstr);
		conn->ac = NULL;
		worker_redis_schedule(conn);
		return;
	}
	conn->connected = TRUE;
	conn->backoff_ms = 0;
	conn->inflight = 0;
	conn->last_progress_us = g_get_monotonic_time();
	if (cac->c.connection_type == REDIS_CONN_TCP)
		log_info("redis (%s): connected to %s:%d", conn->what, cac->c.tcp.host, cac->c.tcp.port);
	else
		log_info("redis (%s): connected", conn->what);
	if (redis_url_parse(w->cfg->redis_url, &u, &cause) == 0) {
		/* Pipelined ahead of everything else on this connection. */
		if (u.password != NULL) {
			const char *argv[] = { "AUTH", u.username != NULL ? u.username : u.password, u.password };

			worker_cmd_submit(worker_cmd_new(w, conn, FALSE, worker_redis_setup_reply, "AUTH",
			    u.username != NULL ? 3 : 2, argv));
		}
		if (u.db != 0) {
			char db[16];
			const char *argv[] = { "SELECT", db };

			g_snprintf(db, sizeof db, "%d", u.db);
			worker_cmd_submit(worker_cmd_new(w, conn, FALSE, worker_redis_setup_reply, "SELECT", 2, argv));
		}
		redis_url_clear(&u);
	}
	g_free(cause);
	if (w->cfg->redis_sentinels != NULL) {
		const char *argv[] = { "ROLE" };

		worker_cmd_submit(worker_cmd_new(w, conn, FALSE, worker_redis_role_reply, conn, 1, argv));
	}
	if (conn == &w->cmd)
		worker_redis_flush_outbox(w);
	conn->on_connect(w);
}

/* Takes AC (a connect under way) as CONN's context. */
static void
worker_redis_attach(struct worker_conn *conn, redisAsyncContext *ac)
{
	if (ac == NULL || ac->err) {
		log_warn("redis (%s): cannot connect: %s", conn->what, ac != NULL ? ac->errstr : "out of memory");
		if (ac != NULL)
			redisAsyncFree(ac);
		worker_redis_schedule(conn);
		return;
	}
	conn->ac = ac;
	conn->connecting = TRUE;
	conn->connect_started_us = g_get_monotonic_time();
	conn->source = redis_source_new(ac);
	ac->ev.cleanup = worker_redis_source_cleanup;
	g_source_attach(conn->source, NULL);
	redisAsyncSetConnectCallback(ac, worker_redis_on_connect);
	redisAsyncSetDisconnectCallback(ac, worker_redis_on_disconnect);
}

void
worker_redis_connect_to(struct worker_conn *conn, const char *host, int port)
{
	log_debug("redis (%s): connecting to %s:%d", conn->what, host, port);
	worker_redis_attach(conn, redisAsyncConnect(host, port));
}

static void
worker_redis_connect(struct worker_conn *conn)
{
	struct worker *w = worker_redis_owner;
	struct redis_url u;
	char *cause = NULL;

	if (w->cfg->redis_sentinels != NULL) {
		worker_sentinel_ask(w, conn);
		return;
	}
	if (redis_url_parse(w->cfg->redis_url, &u, &cause) != 0) {
		log_error("%s", cause);
		g_free(cause);
		worker_redis_schedule(conn);
		return;
	}
	if (u.path != NULL)
		worker_redis_attach(conn, redisAsyncConnectUnix(u.path));
	else
		worker_redis_connect_to(conn, u.host, u.port);
	redis_url_clear(&u);
}

void
worker_redis_init(struct worker *w)
{
	worker_redis_owner = w;
	w->fetch.what = "fetch";
	w->fetch.on_connect = worker_jobs_on_fetch_connect;
	w->cmd.what = "command";
	w->cmd.on_connect = worker_jobs_on_connect;
	g_queue_init(&w->outbox);
}

void
worker_redis_start(struct worker *w)
{
	worker_redis_connect(&w->cmd);
	worker_redis_connect(&w->fetch);
}

static void
worker_redis_abort(struct worker_conn *conn, const char *why)
{
	redisAsyncContext *ac = conn->ac;

	log_warn("redis (%s): %s; reconnecting", conn->what, why);
	if (conn->connecting) {
		/* Not connected yet: no disconnect callback will come. */
		conn->ac = NULL;
		conn->connecting = FALSE;
		redisAsyncFree(ac);
		worker_redis_schedule(conn);
		return;
	}
	redisAsyncFree(ac);   /* replies NULL to each callback, then disconnect */
}

void
worker_redis_watchdog(struct worker *w)
{
	struct worker_conn *conns[] = { &w->cmd, &w->fetch };
	gint64 now = g_get_monotonic_time();
	gint64 limit = (gint64)MAX(w->cfg->redis_timeout_ms * 3, 3000) * 1000;

	for (size_t i = 0; i < G_N_ELEMENTS(conns); i++) {
		struct worker_conn *conn = conns[i];
		/* The fetch connection blocks for up to a second by design. */
		gint64 allowed = limit + (conn == &w->fetch ? 1000000 : 0);

		if (conn->ac == NULL)
			continue;
		if (conn->connecting && now - conn->connect_started_us > limit)
			worker_redis_abort(conn, "connect timed out");
		else if (conn->connected && conn->inflight > 0 && now - conn->last_progress_us > allowed)
			worker_redis_abort(conn, "no reply in time");
	}
}

gboolean
worker_redis_idle(struct worker *w)
{
	return g_queue_is_empty(&w->outbox) && w->cmd.inflight == 0;
}

void
worker_redis_close(struct worker *w)
{
	struct worker_conn *conns[] = { &w->cmd, &w->fetch };

	for (size_t i = 0; i < G_N_ELEMENTS(conns); i++) {
		struct worker_conn *conn = conns[i];

		if (conn->reconnect_timer != 0)
			g_source_remove(conn->reconnect_timer);
		conn->reconnect_timer = 0;
		worker_sentinel_cancel(conn);
		if (conn->ac != NULL) {
			redisAsyncContext *ac = conn->ac;

			/* Connected: the disconnect callback clears conn->ac;
			 * still connecting: no callback comes. */
			if (conn->connecting)
				conn->ac = NULL;
			redisAsyncFree(ac);
		}
	}
	/* Whatever is left is idempotent and stays pending in Redis. */
	while (!g_queue_is_empty(&w->outbox)) {
		struct worker_cmd *cmd = g_queue_pop_head(&w->outbox);

		if (cmd->fn != NULL)
			cmd->fn(w, NULL, cmd->data);
		worker_cmd_free(cmd);
	}
}
