/* One HTTP request as the responder sees it, and the response it builds.
 *
 * A handler reads the request through request_*() and answers with exactly
 * one response_*() call (the dispatcher answers 500-free defaults if it does
 * not). Strings returned by request_*() belong to the request and live until
 * it is finished. Handlers never write to the FastCGI stream themselves,
 * except streaming readers of large bodies (uploads) through req->fcgx->in.
 *
 * struct app holds what one process shares between its acceptor threads;
 * struct acceptor what one thread owns (its Redis connection). */
#ifndef PP_REQUEST_H
#define PP_REQUEST_H

#include <fcgiapp.h>
#include <glib.h>
#include <jansson.h>
#include <hiredis/hiredis.h>

struct config;
struct db_pool;
struct route;
struct auth;        /* token verification (issue 4) */
struct auth_user;   /* the authenticated caller (issue 4) */
struct ratelimit;   /* rate limiter (issue 5) */
struct storage;     /* local or S3 storage (issue 4) */
struct db_replicas; /* src/db-replica.h */

#define REQUEST_MAX_PARAMS 4

/* Per process, shared by its threads; built after fork. */
struct app {
	const struct config *cfg;
	struct db_pool *db;
	struct db_replicas *replicas;  /* read replicas, or NULL (fcgi/replica.c) */
	struct auth *auth;
	struct ratelimit *limits;
	struct storage *storage;
	json_t *cors_origins;          /* array of strings, parsed from CORS_ORIGINS */
};

/* Per acceptor thread. */
struct acceptor {
	struct app *app;
	int index;
	redisContext *redis;           /* lazily connected; NULL when down */
	gint64 redis_retry_after_us;   /* no reconnect attempt before this */
};

struct request {
	FCGX_Request *fcgx;
	struct app *app;
	struct acceptor *acceptor;
	const char *method;            /* REQUEST_METHOD */
	char *path;                    /* decoded path, no query */
	const char *query;             /* QUERY_STRING, "" if none */
	const char *remote_addr;       /* REMOTE_ADDR */
	char request_id[65];           /* up to 64 characters */
	gint64 start_us;               /* monotonic */
	const struct route *route;     /* NULL when no route matched */
	char *params[REQUEST_MAX_PARAMS];  /* path parameters, in pattern order */
	int nparams;
	struct auth_user *user;        /* set by auth before ROUTE_AUTH handlers */
	/* body, read by request_body() */
	char *body;
	size_t body_len;
	gboolean body_read;
	/* response */
	int status;
	GString *headers;              /* "Name: value\r\n" lines */
	GString *out;                  /* body */
	gboolean file_set;             /* response_file(): the body is file_fd's */
	int file_fd;                   /* the request's; closed by request_clear() */
	gint64 file_first, file_len;   /* the bytes sent: offset and count */
	gboolean responded;
	GHashTable *query_vars;        /* decoded on first request_query() */
};

/* A CGI parameter ("REQUEST_URI", "HTTP_AUTHORIZATION"), or NULL. */
const char *request_env(struct request *req, const char *name);
/* An HTTP header by its name ("Authorization", "Content-Type"), or NULL. */
const char *request_header(struct request *req, const char *name);
/* A decoded query-string value, or NULL. */
const char *request_query(struct request *req, const char *key);
/* Path parameter I (0-based), or NULL. */
const char *request_param(struct request *req, int i);

/* Reads the whole body (bounded by MAX_REQUEST_BODY): 0; or -1 after
 * answering 413 (too large) or 400 (truncated). */
int request_body(struct request *req);
/* The body as a JSON object: a new reference; or NULL after answering 413
 * or 422 in FastAPI's shape ({"detail":[{"loc":["body",...],...}]}). */
json_t *request_json(struct request *req);

/* This thread's Redis connection, connected on demand with back-off after a
 * failure (one attempt a second at most); NULL and *cause when down. */
redisContext *request_redis(struct request *req, char **cause);
/* Call after a failed command so the next caller reconnects. */
void request_redis_reset(struct request *req);

/* A connection from the process's pool (the caller db_release()s it), or
 * NULL after answering 503 (logged). */
struct db_conn *request_db(struct request *req);
/* Logs CAUSE (taken) and answers 503: a query failed. */
void request_db_failed(struct request *req, char *cause);

/* TRUE when the request's If-None-Match names ETAG (weak comparison, RFC
 * 9110 13.1.2: W/ ignored), in a list or alone, or is "*". */
gboolean request_etag_current(struct request *req, const char *etag);

/* Responses. Headers first, then one of the response_* that sets the body. */
void response_header(struct request *req, const char *name, const char *fmt, ...) G_GNUC_PRINTF(3, 4);
/* Steals BODY (may be an object or array). */
void response_json(struct request *req, int status, json_t *body);
/* {"detail": DETAIL} */
void response_error(struct request *req, int status, const char *detail);
/* 422 {"detail":[{"loc":["body", FIELD] or ["query", FIELD],"msg":MSG,"type":TYPE}]}; WHERE is "body", "query" or "path". */
void response_validation(struct request *req, const char *where, const char *field,
    const char *msg, const char *type);
/* The same with a deeper location: LOC (stolen) is the whole "loc" array,
 * e.g. ["body", "hosts", 0, "voice"]. */
void response_validation_at(struct request *req, json_t *loc, const char *msg, const char *type);
void response_empty(struct request *req, int status);
/* STATUS with LEN bytes of the regular file open at FD, from offset FIRST,
 * as the body (Content-Type and other headers set before). FD becomes the
 * request's, also when a response was given already; the bytes are read
 * and written a piece at a time when the response is sent, none for HEAD.
 * A read failing then cuts the body short (the status is out by then) and
 * closes the FastCGI connection. */
void response_file(struct request *req, int status, int fd, gint64 first, gint64 len);

#endif
