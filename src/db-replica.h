/* PostgreSQL read replicas (issue 13): DATABASE_REPLICA_URL, one or more.
 *
 * The responder's read-only routes ask for a replica connection; they get
 * one on a replica whose replay lag is under DB_REPLICA_MAX_LAG seconds,
 * else NULL and use the primary (doc/scaling.md). Each replica has its own
 * pool per process, sized like the primary's (DB_POOL_SIZE,
 * DB_MAX_OVERFLOW), opened lazily. The lag is measured on the replica at
 * most once a second per replica and process, by the request that finds
 * the measure stale; a replica that cannot be reached is left alone for
 * DB_REPLICA_RETRY_S seconds, its requests going to the primary.
 *
 * Ownership: db_replicas_new_from_config() returns a set freed by
 * db_replicas_free() (NULL when no replica is configured). A connection
 * from db_replicas_acquire() is returned with db_release() as any other. */
#ifndef PP_DB_REPLICA_H
#define PP_DB_REPLICA_H

#include <glib.h>

#include "db.h"

struct config;
struct db_replicas;

/* A replica that could not be reached is skipped this long. */
#define DB_REPLICA_RETRY_S 5

/* NULL when DATABASE_REPLICA_URL is unset. */
struct db_replicas *db_replicas_new_from_config(const struct config *cfg);
void db_replicas_free(struct db_replicas *set);

/* The URLs of DATABASE_REPLICA_URL: separated by white space, or by
 * commas before a "postgresql://" (a URL may itself hold commas, as
 * libpq's host lists do). A new NULL-terminated vector. */
char **db_replicas_split(const char *text);

/* A connection to a replica that is fresh enough, or NULL (use the
 * primary). Never blocks longer than a pool's timeout. */
struct db_conn *db_replicas_acquire(struct db_replicas *set);

/* The query that measures a replica's lag in seconds (doc/scaling.md). */
extern const char *const db_replicas_lag_sql;

#endif
