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

/* A reply that is an error, or NULL (a dead connection): a message for
 * logs, caller frees. NULL reply means C->errstr. */
char *redis_reply_error(redisContext *c, const redisReply *reply);

#endif
