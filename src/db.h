/* The PostgreSQL pool: one per process, shared by its threads.
 *
 * pool_size connections are kept; up to max_overflow more are opened under
 * load and closed when returned. A connection idle longer than pre_ping_idle
 * seconds is pinged before it is handed out (replaced if dead); one older
 * than recycle seconds is replaced; one returned inside a transaction is
 * rolled back; a broken one is closed. Waiting is bounded by pool_timeout.
 * Connections are opened lazily, after fork, never inherited.
 *
 * Ownership: db_pool_new() returns a pool freed by db_pool_free(). A struct
 * db_conn from db_acquire() belongs to the caller until db_release(); its
 * PGconn must not be kept past that. PGresults returned here are the
 * caller's to PQclear() (NULL is never returned: a failure is a PGresult
 * with an error status, or NULL only with *cause set where stated). */
#ifndef PP_DB_H
#define PP_DB_H

#include <glib.h>
#include <libpq-fe.h>

struct config;
struct db_pool;

struct db_conn {
	PGconn *pg;
	/* private to the pool */
	struct db_pool *pool;
	gint64 created_us, last_used_us;
	GHashTable *prepared;   /* statement names prepared on this connection */
	gboolean overflow;
	gboolean broken;        /* set by db_exec: db_release closes it */
};

struct db_pool_stats {
	int size, overflow_open, idle, in_use, waiting;
	guint64 opened, closed, timeouts;
	guint64 waits;          /* acquires that waited for a connection (at most one each) */
};

/* CONNINFO is DATABASE_URL; keepalives=1, keepalives_idle=30,
 * keepalives_interval=10 and connect_timeout=10 are added unless it sets
 * them. sql_echo logs each statement and its duration. recycle_s 0 never
 * recycles; pre_ping_idle_s 0 pings on every acquire. */
struct db_pool *db_pool_new(const char *conninfo, int pool_size, int max_overflow,
    int pool_timeout_s, int recycle_s, int pre_ping_idle_s, gboolean sql_echo);
/* From the config's DB_* settings. */
struct db_pool *db_pool_new_from_config(const struct config *cfg);
void db_pool_free(struct db_pool *pool);

/* The connection string actually used (with the added parameters). */
const char *db_pool_conninfo(struct db_pool *pool);

/* A healthy connection, or NULL and *cause (caller frees) after
 * pool_timeout or when the server cannot be reached. */
struct db_conn *db_acquire(struct db_pool *pool, char **cause);
/* Returns it: rolled back if a transaction is open, closed if broken or
 * overflow or past recycle. NULL is harmless. */
void db_release(struct db_conn *conn);

/* Runs SQL with parameters (text format). NAME non-NULL: prepared once per
 * connection under that name, then executed (hot queries); unnamed behind
 * a transaction pooler. Logs when
 * SQL_ECHO. Marks the connection broken when the connection failed. */
PGresult *db_exec(struct db_conn *conn, const char *name, const char *sql,
    int nparams, const char *const *params);
/* TRUE when RES is PGRES_COMMAND_OK or PGRES_TUPLES_OK. */
gboolean db_ok(const PGresult *res);
/* SQLSTATE of a failed result ("23505" unique violation), or "". */
const char *db_sqlstate(const PGresult *res);

void db_pool_stats(struct db_pool *pool, struct db_pool_stats *out);
/* Pings with a bound in milliseconds, without using a pool connection slot
 * for longer than that: 0 healthy, -1 and *cause otherwise. */
int db_pool_check(struct db_pool *pool, int timeout_ms, char **cause);

/* DATABASE_URL with the parameters below added, for CFG's database: with
 * DB_TRANSACTION_POOLER (PgBouncer in transaction mode) it also switches
 * this process to no named prepared statements and no session settings
 * (DateStyle and TimeZone then go as tracked startup parameters, through
 * PGDATESTYLE and PGTZ). Call at start-up, before threads. Caller frees. */
char *db_conninfo_from_config(const struct config *cfg);

/* Adds the keepalive and timeout parameters to a URL or conninfo unless
 * present, without touching sslmode or anything else. Caller frees. */
char *db_conninfo_with_defaults(const char *conninfo);

#endif
