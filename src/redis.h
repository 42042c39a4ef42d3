/* Redis connections from REDIS_URL.
 *
 * redis://[:password@]host[:port][/db], redis://user:password@host/db,
 * unix:///path/to/socket[?db=N]. Each thread or process keeps its own
 * connection (hiredis contexts are not thread-safe).
 *
 * Ownership: redis_connect() returns a context the caller frees with
 * redisFree(). A redisReply from redisCommand() is the caller's to
 * freeReplyObject(). */
#ifndef PP_REDIS_H
#define PP_REDIS_H

#include <glib.h>
#include <hiredis/hiredis.h>

struct config;

struct redis_url {
	char *host;       /* NULL for a unix socket */
	int port;
	char *path;       /* unix socket path, or NULL */
	char *username;   /* may be NULL */
	char *password;   /* may be NULL */
	int db;
};

/* The largest database number REDIS_URL may name. */
#define REDIS_URL_MAX_DB 65535

/* Parses URL into OUT (strings owned by OUT, freed by redis_url_clear).
 * -1 and *cause (caller frees) for anything else: another scheme, a port
 * outside 1..65535, a database outside 0..REDIS_URL_MAX_DB, a bad host,
 * bad percent-encoding. *cause never quotes the URL's user information,
 * so it may be logged. */
int redis_url_parse(const char *url, struct redis_url *out, char **cause);
void redis_url_clear(struct redis_url *u);

/* Connects with a connect and command timeout, authenticates and selects
 * the database. NULL and *cause (caller frees) on failure. */
redisContext *redis_connect(const char *url, int timeout_ms, char **cause);

/* Connects as CFG says: to REDIS_URL, or, with REDIS_SENTINELS, to the
 * master the sentinels name (src/redis-sentinel.h), checked with ROLE,
 * with REDIS_URL's user, password and database. The sentinels' answer and
 * the connection fit in TIMEOUT_MS together (50 ms at least for the
 * connection). Nothing is cached: a caller that drops a broken context
 * and calls this again finds the master of the moment. */
redisContext *redis_open(const struct config *cfg, int timeout_ms, char **cause);

/* Sends ROLE: 0 when C's server is a master (or the user may not ask:
 * NOPERM), else -1 and *cause, and C is marked broken (C->err). */
int redis_check_master(redisContext *c, char **cause);

/* A reply that is an error, or NULL (a dead connection): a message for
 * logs, caller frees. NULL reply means C->errstr. A READONLY or MASTERDOWN
 * error (the server is a replica now: a failover) also marks C broken
 * (C->err set): callers drop it as they drop a lost connection, and hiredis
 * fails any further command on it. */
char *redis_reply_error(redisContext *c, const redisReply *reply);

/* TRUE for the errors that mean "not the master any more". */
gboolean redis_error_is_failover(const char *err);

#endif
