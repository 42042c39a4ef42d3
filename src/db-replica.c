#include "autoconfig.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "db-replica.h"
#include "log.h"

/* 0 on the primary (a replica promoted); +inf when the replica is not
 * streaming (its primary may have moved on without it); 0 when it has
 * replayed everything it received; else the age of the last transaction
 * it replayed. */
const char *const db_replicas_lag_sql =
    "SELECT CASE WHEN NOT pg_is_in_recovery() THEN 0::float8 "
    "WHEN NOT EXISTS (SELECT 1 FROM pg_stat_wal_receiver WHERE status = 'streaming') "
    "THEN 'Infinity'::float8 "
    "WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0::float8 "
    "ELSE coalesce(extract(epoch FROM clock_timestamp() - pg_last_xact_replay_timestamp())::float8, "
    "'Infinity'::float8) END";

struct db_replica {
	struct db_pool *pool;
	GMutex lock;               /* guards the three below */
	double lag_s;              /* last measure; +inf: unknown or not usable */
	gint64 measured_us;        /* monotonic; 0: never */
	gint64 down_until_us;      /* unreachable: skipped until then */
};

struct db_replicas {
	struct db_replica *r;
	guint n;
	guint next;                /* round robin start (racy on purpose: only spreads load) */
	double max_lag_s;
};

char **
db_replicas_split(const char *text)
{
	GPtrArray *out = g_ptr_array_new();
	char **words = g_strsplit_set(text != NULL ? text : "", " \t\r\n", -1);

	for (int i = 0; words[i] != NULL; i++) {
		const char *w = words[i], *cut;

		while (*w != '\0') {
			/* The next ",postgres" that starts another URL. */
			for (cut = strchr(w, ','); cut != NULL; cut = strchr(cut + 1, ','))
				if (g_str_has_prefix(cut + 1, "postgresql://") || g_str_has_prefix(cut + 1, "postgres://"))
					break;
			if (cut == NULL) {
				g_ptr_array_add(out, g_strdup(w));
				break;
			}
			if (cut > w)
				g_ptr_array_add(out, g_strndup(w, (gsize)(cut - w)));
			w = cut + 1;
		}
	}
	g_strfreev(words);
	g_ptr_array_add(out, NULL);
	return (char **)g_ptr_array_free(out, FALSE);
}

struct db_replicas *
db_replicas_new_from_config(const struct config *cfg)
{
	char **urls = db_replicas_split(cfg->database_replica_url);
	struct db_replicas *set = NULL;
	guint n = g_strv_length(urls);

	if (n == 0)
		goto out;
	set = g_new0(struct db_replicas, 1);
	set->n = n;
	set->r = g_new0(struct db_replica, n);
	set->max_lag_s = cfg->db_replica_max_lag;
	for (guint i = 0; i < n; i++) {
		char *conninfo = db_conninfo_with_defaults(urls[i]);

		set->r[i].pool = db_pool_new(conninfo, cfg->db_pool_size, cfg->db_max_overflow,
		    MIN(cfg->db_pool_timeout, 2), cfg->db_pool_recycle, cfg->db_pre_ping_idle, cfg->sql_echo);
		set->r[i].lag_s = INFINITY;
		g_mutex_init(&set->r[i].lock);
		g_free(conninfo);
	}
out:
	g_strfreev(urls);
	return set;
}

void
db_replicas_free(struct db_replicas *set)
{
	if (set == NULL)
		return;
	for (guint i = 0; i < set->n; i++) {
		db_pool_free(set->r[i].pool);
		g_mutex_clear(&set->r[i].lock);
	}
	g_free(set->r);
	g_free(set);
}

/* Measures R's lag on CONN (one of its connections). -1 when it failed. */
static int
db_replica_measure(struct db_replica *r, struct db_conn *conn)
{
	PGresult *res = db_exec(conn, NULL, db_replicas_lag_sql, 0, NULL);
	double lag = INFINITY;
	int rc = -1;

	if (db_ok(res) && PQntuples(res) == 1) {
		lag = g_ascii_strtod(PQgetvalue(res, 0, 0), NULL);
		if (isnan(lag))
			lag = INFINITY;
		rc = 0;
	}
	PQclear(res);
	g_mutex_lock(&r->lock);
	r->lag_s = lag;
	r->measured_us = g_get_monotonic_time();
	g_mutex_unlock(&r->lock);
	return rc;
}

struct db_conn *
db_replicas_acquire(struct db_replicas *set)
{
	guint start;

	if (set == NULL)
		return NULL;
	start = set->next++;
	for (guint k = 0; k < set->n; k++) {
		struct db_replica *r = &set->r[(start + k) % set->n];
		gint64 now = g_get_monotonic_time();
		gboolean stale, usable;
		struct db_conn *conn;
		char *cause = NULL;

		g_mutex_lock(&r->lock);
		if (now < r->down_until_us) {
			g_mutex_unlock(&r->lock);
			continue;
		}
		stale = r->measured_us == 0 || now - r->measured_us >= G_USEC_PER_SEC;
		usable = r->lag_s <= set->max_lag_s;
		if (stale)
			r->measured_us = now;   /* one request measures; the others use the last figure */
		g_mutex_unlock(&r->lock);
		if (!stale && !usable)
			continue;
		if ((conn = db_acquire(r->pool, &cause)) == NULL) {
			log_warn("read replica %u: %s; reading from the primary for %d s", (start + k) % set->n,
			    cause, DB_REPLICA_RETRY_S);
			g_free(cause);
			g_mutex_lock(&r->lock);
			r->down_until_us = now + DB_REPLICA_RETRY_S * G_USEC_PER_SEC;
			r->lag_s = INFINITY;
			g_mutex_unlock(&r->lock);
			continue;
		}
		if (stale) {
			if (db_replica_measure(r, conn) != 0) {
				db_release(conn);   /* closed if the failure broke it */
				continue;
			}
			g_mutex_lock(&r->lock);
			usable = r->lag_s <= set->max_lag_s;
			g_mutex_unlock(&r->lock);
		}
		if (usable)
			return conn;
		db_release(conn);
	}
	return NULL;
}
