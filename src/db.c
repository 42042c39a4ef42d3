/* The PostgreSQL pool (see db.h). One mutex guards the bookkeeping; every
 * network round trip (connect, ping, rollback, close) happens outside it, so
 * a slow server never stalls threads that only want an idle connection. */
#include "autoconfig.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "db.h"
#include "log.h"

/* A pre-ping that takes longer than this means the connection (or the
 * server) is not worth handing out: it is closed and a new one opened. */
#define DB_PING_TIMEOUT_MS 5000

struct db_pool {
	char *conninfo;
	int size, max_overflow, timeout_s, recycle_s, pre_ping_idle_s;
	gboolean sql_echo;
	pid_t pid;              /* the process whose connections these are */

	GMutex lock;
	GCond available;        /* signalled when a connection is returned or a slot frees */
	GQueue idle;            /* struct db_conn *, most recently returned first */
	int total;              /* open or being opened, idle or not */
	int in_use, waiting;
	guint64 opened, closed, timeouts;
	guint64 waits;          /* acquires that had to wait for a connection */
};

/* DB_TRANSACTION_POOLER (db_conninfo_from_config): set once at start-up,
 * before any thread, read everywhere after. */
static gboolean db_transaction_pooler;

static const char *const db_default_params[][2] = {
	{ "keepalives", "1" },
	{ "keepalives_idle", "30" },
	{ "keepalives_interval", "10" },
	{ "connect_timeout", "10" },
	/* Timestamps come back in ISO 8601 and UTC, whatever the server's
	 * defaults, so that pg-json.c reads them without converting. */
	{ "options", "-c DateStyle=ISO -c TimeZone=UTC" },
};

char *
db_conninfo_with_defaults(const char *conninfo)
{
	PQconninfoOption *opts, *o;
	char *err = NULL;
	gboolean url;
	GString *out;

	if (conninfo == NULL)
		conninfo = "";
	out = g_string_new(conninfo);
	/* SQLAlchemy's spelling in the Python service's .env files:
	 * postgresql+psycopg2://... means postgresql://... to libpq. */
	if (g_str_has_prefix(out->str, "postgresql+") || g_str_has_prefix(out->str, "postgres+")) {
		const char *plus = strchr(out->str, '+'), *scheme_end = strstr(out->str, "://");

		if (scheme_end != NULL && plus < scheme_end)
			g_string_erase(out, plus - out->str, scheme_end - plus);
	}
	opts = PQconninfoParse(out->str, &err);
	if (opts == NULL) {
		/* Leave it alone: connecting reports the same error with context. */
		PQfreemem(err);
		return g_string_free(out, FALSE);
	}
	url = g_str_has_prefix(out->str, "postgresql://") || g_str_has_prefix(out->str, "postgres://");
	for (size_t i = 0; i < G_N_ELEMENTS(db_default_params); i++) {
		const char *key = db_default_params[i][0], *val = db_default_params[i][1];
		gboolean present = FALSE;

		/* PgBouncer refuses the options startup parameter (and would not
		 * keep it per client): DateStyle and TimeZone go as parameters
		 * of their own instead, which it tracks (db_conninfo_from_config). */
		if (db_transaction_pooler && strcmp(key, "options") == 0)
			continue;
		for (o = opts; o->keyword != NULL; o++) {
			if (strcmp(o->keyword, key) == 0 && o->val != NULL) {
				present = TRUE;
				break;
			}
		}
		if (present)
			continue;
		if (url) {
			char last = out->len > 0 ? out->str[out->len - 1] : '\0';

			if (strchr(out->str, '?') == NULL)
				g_string_append_c(out, '?');
			else if (last != '?' && last != '&')
				g_string_append_c(out, '&');
		} else if (out->len > 0 && !g_ascii_isspace(out->str[out->len - 1]))
			g_string_append_c(out, ' ');
		if (url) {
			char *escaped = g_uri_escape_string(val, NULL, FALSE);

			g_string_append_printf(out, "%s=%s", key, escaped);
			g_free(escaped);
		} else {
			/* Ours have no quote or backslash to escape. */
			g_string_append_printf(out, strchr(val, ' ') != NULL ? "%s='%s'" : "%s=%s", key, val);
		}
	}
	PQconninfoFree(opts);
	return g_string_free(out, FALSE);
}

struct db_pool *
db_pool_new(const char *conninfo, int pool_size, int max_overflow, int pool_timeout_s,
    int recycle_s, int pre_ping_idle_s, gboolean sql_echo)
{
	struct db_pool *pool = g_new0(struct db_pool, 1);

	pool->conninfo = db_conninfo_with_defaults(conninfo);
	pool->size = MAX(pool_size, 1);
	pool->max_overflow = MAX(max_overflow, 0);
	pool->timeout_s = MAX(pool_timeout_s, 0);
	pool->recycle_s = recycle_s;
	pool->pre_ping_idle_s = MAX(pre_ping_idle_s, 0);
	pool->sql_echo = sql_echo;
	pool->pid = getpid();
	g_mutex_init(&pool->lock);
	g_cond_init(&pool->available);
	g_queue_init(&pool->idle);
	return pool;
}

char *
db_conninfo_from_config(const struct config *cfg)
{
	if (cfg->db_transaction_pooler && !db_transaction_pooler) {
		/* libpq sends these as the DateStyle and TimeZone startup
		 * parameters, which PgBouncer accepts and sets on whichever
		 * server connection runs each transaction. */
		g_setenv("PGDATESTYLE", "ISO", TRUE);
		g_setenv("PGTZ", "UTC", TRUE);
	}
	db_transaction_pooler = cfg->db_transaction_pooler;
	return db_conninfo_with_defaults(cfg->database_url);
}

struct db_pool *
db_pool_new_from_config(const struct config *cfg)
{
	char *conninfo = db_conninfo_from_config(cfg);
	struct db_pool *pool = db_pool_new(conninfo, cfg->db_pool_size, cfg->db_max_overflow,
	    cfg->db_pool_timeout, cfg->db_pool_recycle, cfg->db_pre_ping_idle, cfg->sql_echo);

	g_free(conninfo);
	return pool;
}

static void
db_conn_close(struct db_conn *conn)
{
	if (conn == NULL)
		return;
	PQfinish(conn->pg);
	if (conn->prepared != NULL)
		g_hash_table_unref(conn->prepared);
	g_free(conn);
}

/* Connections inherited through fork() share their sockets with the parent:
 * closing them here would send Terminate on the parent's session, so the
 * child forgets them (a few bytes) and opens its own. Called locked. */
static void
db_pool_forget_inherited(struct db_pool *pool)
{
	if (pool->pid == getpid())
		return;
	g_queue_clear(&pool->idle);
	pool->total = pool->in_use = pool->waiting = 0;
	pool->pid = getpid();
}

void
db_pool_free(struct db_pool *pool)
{
	struct db_conn *conn;

	if (pool == NULL)
		return;
	g_mutex_lock(&pool->lock);
	db_pool_forget_inherited(pool);
	if (pool->in_use > 0)
		log_warn("db: pool freed with %d connection(s) still in use", pool->in_use);
	g_mutex_unlock(&pool->lock);
	while ((conn = g_queue_pop_head(&pool->idle)) != NULL)
		db_conn_close(conn);
	g_mutex_clear(&pool->lock);
	g_cond_clear(&pool->available);
	g_free(pool->conninfo);
	g_free(pool);
}

const char *
db_pool_conninfo(struct db_pool *pool)
{
	return pool->conninfo;
}

/* Gives back a slot after a connection was closed or never opened. */
static void
db_pool_drop_slot(struct db_pool *pool, gboolean was_open)
{
	g_mutex_lock(&pool->lock);
	pool->total--;
	pool->in_use--;
	if (was_open)
		pool->closed++;
	g_cond_signal(&pool->available);
	g_mutex_unlock(&pool->lock);
}

/* Waits up to DEADLINE_US (monotonic) for EVENTS on the connection's socket:
 * 1 ready, 0 timed out, -1 error. */
static int
db_wait_socket(PGconn *pg, short events, gint64 deadline_us)
{
	struct pollfd pfd = { .fd = PQsocket(pg), .events = events };

	if (pfd.fd < 0)
		return -1;
	for (;;) {
		gint64 left_ms = (deadline_us - g_get_monotonic_time() + 999) / 1000;
		int n;

		if (left_ms <= 0)
			return 0;
		n = poll(&pfd, 1, (int)MIN(left_ms, G_MAXINT));
		if (n > 0)
			return 1;
		if (n == 0)
			return 0;
		if (errno != EINTR)
			return -1;
	}
}

/* Runs a trivial query without ever blocking past DEADLINE_US. On timeout
 * the caller must close the connection: PQcancel() is not used because it
 * waits, unbounded, for the server to close the cancel socket, which a
 * stopped server never does. 0, or -1 and *cause. */
static int
db_ping_bounded(PGconn *pg, gint64 deadline_us, char **cause)
{
	PGresult *res;
	int rc = 0, flushed;

	/* Non-blocking, so that not even sending can wait on the server. */
	if (PQsetnonblocking(pg, 1) != 0 || !PQsendQuery(pg, "SELECT 1"))
		goto broken;
	while ((flushed = PQflush(pg)) == 1) {
		if (db_wait_socket(pg, POLLOUT | POLLIN, deadline_us) <= 0)
			goto timeout;
		/* Reading while waiting to write keeps the server from stalling. */
		if (!PQconsumeInput(pg))
			goto broken;
	}
	if (flushed == -1)
		goto broken;
	for (;;) {
		if (!PQconsumeInput(pg))
			goto broken;
		/* Every result until the NULL that ends the query, none waited for. */
		while (!PQisBusy(pg)) {
			if ((res = PQgetResult(pg)) == NULL) {
				PQsetnonblocking(pg, 0);
				return rc;
			}
			if (PQresultStatus(res) != PGRES_TUPLES_OK && rc == 0) {
				*cause = g_strdup_printf("Database unavailable: %s",
				    g_strchomp(PQresultErrorMessage(res)));
				rc = -1;
			}
			PQclear(res);
		}
		if (db_wait_socket(pg, POLLIN, deadline_us) <= 0)
			goto timeout;
	}
timeout:
	if (rc == 0)
		*cause = g_strdup("Database unavailable: no answer in time");
	return -1;
broken:
	if (rc == 0)
		*cause = g_strdup_printf("Database unavailable: %s", g_strchomp(PQerrorMessage(pg)));
	return -1;
}

static struct db_conn *
db_conn_open(struct db_pool *pool, gboolean overflow, char **cause)
{
	struct db_conn *conn;
	PGconn *pg = PQconnectdb(pool->conninfo);

	if (pg == NULL || PQstatus(pg) != CONNECTION_OK) {
		*cause = g_strdup_printf("Database unavailable: %s",
		    pg != NULL ? g_strchomp(PQerrorMessage(pg)) : "out of memory");
		PQfinish(pg);
		return NULL;
	}
	conn = g_new0(struct db_conn, 1);
	conn->pg = pg;
	conn->pool = pool;
	conn->created_us = conn->last_used_us = g_get_monotonic_time();
	conn->prepared = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	conn->overflow = overflow;
	return conn;
}

/* Whether an idle connection may be handed out; pings it when it sat idle
 * long enough to have been dropped by a server restart or a firewall. */
static gboolean
db_conn_usable(struct db_pool *pool, struct db_conn *conn)
{
	gint64 now = g_get_monotonic_time();
	char *cause = NULL;

	if (PQstatus(conn->pg) != CONNECTION_OK)
		return FALSE;
	if (pool->recycle_s > 0 && now - conn->created_us >= (gint64)pool->recycle_s * G_USEC_PER_SEC)
		return FALSE;
	if (now - conn->last_used_us < (gint64)pool->pre_ping_idle_s * G_USEC_PER_SEC)
		return TRUE;
	if (db_ping_bounded(conn->pg, now + DB_PING_TIMEOUT_MS * 1000, &cause) != 0) {
		log_info("db: pre-ping failed, replacing the connection (%s)", cause);
		g_free(cause);
		return FALSE;
	}
	return TRUE;
}

struct db_conn *
db_acquire(struct db_pool *pool, char **cause)
{
	gint64 deadline = g_get_monotonic_time() + (gint64)pool->timeout_s * G_USEC_PER_SEC;
	struct db_conn *conn;
	gboolean overflow, waited = FALSE;

	g_mutex_lock(&pool->lock);
	db_pool_forget_inherited(pool);
	for (;;) {
		if ((conn = g_queue_pop_head(&pool->idle)) != NULL) {
			pool->in_use++;
			g_mutex_unlock(&pool->lock);
			if (db_conn_usable(pool, conn))
				goto out;
			db_conn_close(conn);
			db_pool_drop_slot(pool, TRUE);
			g_mutex_lock(&pool->lock);
			continue;
		}
		if (pool->total < pool->size + pool->max_overflow) {
			overflow = pool->total >= pool->size;
			pool->total++;
			pool->in_use++;
			g_mutex_unlock(&pool->lock);
			if ((conn = db_conn_open(pool, overflow, cause)) == NULL) {
				db_pool_drop_slot(pool, FALSE);
				return NULL;
			}
			g_mutex_lock(&pool->lock);
			pool->opened++;
			g_mutex_unlock(&pool->lock);
			goto out;
		}
		if (!waited)
			pool->waits++;
		waited = TRUE;
		pool->waiting++;
		if (!g_cond_wait_until(&pool->available, &pool->lock, deadline) &&
		    g_queue_is_empty(&pool->idle) && pool->total >= pool->size + pool->max_overflow) {
			pool->waiting--;
			pool->timeouts++;
			g_mutex_unlock(&pool->lock);
			*cause = g_strdup("Database unavailable: timed out waiting for a connection");
			return NULL;
		}
		pool->waiting--;
	}
out:
	conn->broken = FALSE;
	return conn;
}

void
db_release(struct db_conn *conn)
{
	struct db_pool *pool;
	gboolean keep;
	PGresult *res;

	if (conn == NULL)
		return;
	pool = conn->pool;
	if (!conn->broken && PQstatus(conn->pg) == CONNECTION_OK) {
		switch (PQtransactionStatus(conn->pg)) {
		case PQTRANS_IDLE:
			break;
		case PQTRANS_INTRANS:
		case PQTRANS_INERROR:
			/* Reset on return: the next user must not inherit a transaction. */
			res = PQexec(conn->pg, "ROLLBACK");
			if (!db_ok(res))
				conn->broken = TRUE;
			PQclear(res);
			break;
		default:
			/* A query still running or a state we cannot trust. */
			conn->broken = TRUE;
			break;
		}
	}
	conn->last_used_us = g_get_monotonic_time();
	keep = !conn->broken && PQstatus(conn->pg) == CONNECTION_OK &&
	    (pool->recycle_s <= 0 ||
	    conn->last_used_us - conn->created_us < (gint64)pool->recycle_s * G_USEC_PER_SEC);

	g_mutex_lock(&pool->lock);
	if (pool->pid != getpid()) {
		/* Acquired before a fork: not ours to keep or to close. */
		g_mutex_unlock(&pool->lock);
		return;
	}
	pool->in_use--;
	/* Beyond pool_size idle connections the extra ones are overflow: closed. */
	if (keep && (int)g_queue_get_length(&pool->idle) < pool->size) {
		conn->overflow = FALSE;
		g_queue_push_head(&pool->idle, conn);
		conn = NULL;
	} else {
		pool->total--;
		pool->closed++;
	}
	g_cond_signal(&pool->available);
	g_mutex_unlock(&pool->lock);
	db_conn_close(conn);
}

gboolean
db_ok(const PGresult *res)
{
	ExecStatusType st = PQresultStatus(res);

	return res != NULL && (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK);
}

const char *
db_sqlstate(const PGresult *res)
{
	const char *state = res != NULL ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

	return state != NULL ? state : "";
}

/* Whether a failed result means the connection cannot be trusted again:
 * lost (class 08), or the server shutting down or killing the session
 * (57P01-57P03). */
static gboolean
db_result_breaks_connection(PGconn *pg, const PGresult *res)
{
	const char *state;

	if (res == NULL || PQstatus(pg) != CONNECTION_OK)
		return TRUE;
	state = db_sqlstate(res);
	return g_str_has_prefix(state, "08") || g_str_has_prefix(state, "57P");
}

static gboolean
db_statement_stale(const PGresult *res)
{
	const char *state = db_sqlstate(res);
	const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);

	return strcmp(state, "26000") == 0 ||
	    (strcmp(state, "0A000") == 0 && msg != NULL && strstr(msg, "result type") != NULL);
}

/* DEALLOCATE NAME (an identifier: quoted by libpq). 0, or -1. */
static int
db_deallocate(PGconn *pg, const char *name)
{
	char *ident = PQescapeIdentifier(pg, name, strlen(name));
	char *sql;
	PGresult *res;
	int rc;

	if (ident == NULL)
		return -1;
	sql = g_strconcat("DEALLOCATE ", ident, NULL);
	PQfreemem(ident);
	res = PQexec(pg, sql);
	g_free(sql);
	rc = PQresultStatus(res) == PGRES_COMMAND_OK ? 0 : -1;
	PQclear(res);
	return rc;
}

static PGresult *
db_exec_prepared(struct db_conn *conn, const char *name, const char *sql, int nparams,
    const char *const *params)
{
	PGresult *res;

	if (!g_hash_table_contains(conn->prepared, name)) {
		res = PQprepare(conn->pg, name, sql, nparams, NULL);
		if (!db_ok(res))
			return res;
		PQclear(res);
		g_hash_table_add(conn->prepared, g_strdup(name));
	}
	res = PQexecPrepared(conn->pg, name, nparams, params, NULL, NULL, 0);
	/* 26000: the statement is gone (DEALLOCATE ALL, a pooler between us and
	 * the server). 0A000 "cached plan must not change result type": a
	 * migration changed a table a "SELECT p.*" reads, while we ran. Either
	 * way, prepare it again when no transaction was aborted by the
	 * failure. */
	if (!db_ok(res) && db_statement_stale(res)) {
		gboolean exists = strcmp(db_sqlstate(res), "26000") != 0;

		g_hash_table_remove(conn->prepared, name);
		if (PQtransactionStatus(conn->pg) == PQTRANS_IDLE) {
			PQclear(res);
			if (exists && db_deallocate(conn->pg, name) != 0)
				return PQmakeEmptyPGresult(conn->pg, PGRES_FATAL_ERROR);
			res = PQprepare(conn->pg, name, sql, nparams, NULL);
			if (!db_ok(res))
				return res;
			PQclear(res);
			g_hash_table_add(conn->prepared, g_strdup(name));
			res = PQexecPrepared(conn->pg, name, nparams, params, NULL, NULL, 0);
		}
	}
	return res;
}

PGresult *
db_exec(struct db_conn *conn, const char *name, const char *sql, int nparams,
    const char *const *params)
{
	gint64 start = g_get_monotonic_time();
	PGresult *res;

	/* Behind a transaction pooler a statement prepared on one server
	 * connection is unknown to the next: only unnamed ones, each parsed
	 * with its execution. */
	if (name != NULL && !db_transaction_pooler)
		res = db_exec_prepared(conn, name, sql, nparams, params);
	else
		res = PQexecParams(conn->pg, sql, nparams, NULL, params, NULL, NULL, 0);
	if (res == NULL)
		res = PQmakeEmptyPGresult(conn->pg, PGRES_FATAL_ERROR);
	if (!db_ok(res) && db_result_breaks_connection(conn->pg, res))
		conn->broken = TRUE;
	if (conn->pool->sql_echo)
		log_info("sql: %s [%s, %d param%s] %" G_GINT64_FORMAT " us %s", sql,
		    name != NULL ? name : "unprepared", nparams, nparams == 1 ? "" : "s",
		    g_get_monotonic_time() - start, PQresStatus(PQresultStatus(res)));
	return res;
}

void
db_pool_stats(struct db_pool *pool, struct db_pool_stats *out)
{
	g_mutex_lock(&pool->lock);
	db_pool_forget_inherited(pool);
	out->size = pool->size;
	out->overflow_open = MAX(pool->total - pool->size, 0);
	out->idle = (int)g_queue_get_length(&pool->idle);
	out->in_use = pool->in_use;
	out->waiting = pool->waiting;
	out->opened = pool->opened;
	out->closed = pool->closed;
	out->timeouts = pool->timeouts;
	out->waits = pool->waits;
	g_mutex_unlock(&pool->lock);
}

/* Connects without blocking past DEADLINE_US (PQconnectdb would wait up to
 * connect_timeout). libpq resolves a host name before the first poll, so
 * the bound is strict for addresses and sockets, not for a slow DNS. */
static PGconn *
db_connect_bounded(const char *conninfo, gint64 deadline_us, char **cause)
{
	PGconn *pg = PQconnectStart(conninfo);
	PostgresPollingStatusType st = PGRES_POLLING_WRITING;

	if (pg == NULL) {
		*cause = g_strdup("Database unavailable: out of memory");
		return NULL;
	}
	if (PQstatus(pg) == CONNECTION_BAD)
		goto fail;
	while (st != PGRES_POLLING_OK) {
		int ready;

		if (st == PGRES_POLLING_FAILED)
			goto fail;
		ready = db_wait_socket(pg, st == PGRES_POLLING_READING ? POLLIN : POLLOUT, deadline_us);
		if (ready == 0) {
			*cause = g_strdup("Database unavailable: connecting timed out");
			PQfinish(pg);
			return NULL;
		}
		if (ready < 0)
			goto fail;
		st = PQconnectPoll(pg);
	}
	return pg;
fail:
	*cause = g_strdup_printf("Database unavailable: %s", g_strchomp(PQerrorMessage(pg)));
	PQfinish(pg);
	return NULL;
}

int
db_pool_check(struct db_pool *pool, int timeout_ms, char **cause)
{
	gint64 deadline = g_get_monotonic_time() + (gint64)MAX(timeout_ms, 1) * 1000;
	struct db_conn *conn;
	PGconn *pg;
	char *idle_cause = NULL;
	int rc;

	/* An idle connection answers fastest; if it fails, the server may have
	 * restarted since, so a fresh connection has the last word. */
	g_mutex_lock(&pool->lock);
	db_pool_forget_inherited(pool);
	if ((conn = g_queue_pop_head(&pool->idle)) != NULL)
		pool->in_use++;
	g_mutex_unlock(&pool->lock);
	if (conn != NULL) {
		if (db_ping_bounded(conn->pg, deadline, &idle_cause) == 0) {
			conn->last_used_us = g_get_monotonic_time();
			db_release(conn);
			return 0;
		}
		conn->broken = TRUE;
		db_release(conn);
		if (g_get_monotonic_time() >= deadline) {
			*cause = idle_cause;
			return -1;
		}
		g_free(idle_cause);
	}
	if ((pg = db_connect_bounded(pool->conninfo, deadline, cause)) == NULL)
		return -1;
	rc = db_ping_bounded(pg, deadline, cause);
	PQfinish(pg);
	return rc;
}
