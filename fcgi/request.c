/* Reading a request: CGI parameters, headers, query, body, JSON, and the
 * acceptor thread's Redis connection. */
#include "autoconfig.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "db.h"
#include "dispatch.h"
#include "log.h"
#include "metrics.h"
#include "redis.h"
#include "request.h"
#include "ulid.h"

/* More than this left unread after a response and the connection is closed
 * rather than drained (reading it would only waste time). */
#define REQUEST_DRAIN_MAX (8 * 1024 * 1024)

const char *
request_env(struct request *req, const char *name)
{
	return FCGX_GetParam(name, req->fcgx->envp);
}

const char *
request_header(struct request *req, const char *name)
{
	char key[128];
	size_t n = 0;

	/* CGI passes these two without the HTTP_ prefix. */
	if (g_ascii_strcasecmp(name, "Content-Type") == 0)
		return request_env(req, "CONTENT_TYPE");
	if (g_ascii_strcasecmp(name, "Content-Length") == 0)
		return request_env(req, "CONTENT_LENGTH");
	if (strlen(name) + 6 > sizeof key)
		return NULL;
	memcpy(key, "HTTP_", 5);
	n = 5;
	for (const char *p = name; *p != '\0'; p++)
		key[n++] = *p == '-' ? '_' : g_ascii_toupper(*p);
	key[n] = '\0';
	return request_env(req, key);
}

/* Percent-decodes LEN bytes of S (and '+' as space when PLUS). NULL when
 * the result would hold a NUL byte, which no path or value may carry.
 * Malformed escapes stay as they are, as Python's unquote leaves them. */
static char *
request_decode(const char *s, size_t len, gboolean plus)
{
	char *out = g_malloc(len + 1), *o = out;

	for (size_t i = 0; i < len; i++) {
		if (s[i] == '%' && i + 2 < len && g_ascii_isxdigit(s[i + 1]) &&
		    g_ascii_isxdigit(s[i + 2])) {
			*o = (char)(g_ascii_xdigit_value(s[i + 1]) << 4 | g_ascii_xdigit_value(s[i + 2]));
			i += 2;
		} else if (plus && s[i] == '+')
			*o = ' ';
		else
			*o = s[i];
		if (*o == '\0') {
			g_free(out);
			return NULL;
		}
		o++;
	}
	*o = '\0';
	return out;
}

static void
request_parse_query(struct request *req)
{
	const char *q = req->query;

	req->query_vars = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	while (*q != '\0') {
		const char *end = strchr(q, '&'), *eq;
		char *key, *value;

		if (end == NULL)
			end = q + strlen(q);
		eq = memchr(q, '=', end - q);
		key = request_decode(q, (eq != NULL ? eq : end) - q, TRUE);
		value = eq != NULL ? request_decode(eq + 1, end - eq - 1, TRUE) : g_strdup("");
		/* Repeated keys: the last one wins, as Starlette's QueryParams[key]. */
		if (key != NULL && value != NULL && *key != '\0')
			g_hash_table_replace(req->query_vars, key, value);
		else {
			g_free(key);
			g_free(value);
		}
		q = *end == '&' ? end + 1 : end;
	}
}

const char *
request_query(struct request *req, const char *key)
{
	if (req->query_vars == NULL)
		request_parse_query(req);
	return g_hash_table_lookup(req->query_vars, key);
}

const char *
request_param(struct request *req, int i)
{
	if (i < 0 || i >= req->nparams)
		return NULL;
	return req->params[i];
}

/* Up to 64 characters a log line and a proxy can carry safely. */
static gboolean
request_id_sane(const char *id)
{
	size_t n = 0;

	if (id == NULL)
		return FALSE;
	for (; id[n] != '\0'; n++) {
		if (n >= 64 || !(g_ascii_isalnum(id[n]) || id[n] == '.' || id[n] == '_' || id[n] == '-'))
			return FALSE;
	}
	return n > 0;
}

int
request_setup(struct request *req, FCGX_Request *fcgx, struct app *app, struct acceptor *acceptor)
{
	GString *headers = req->headers, *out = req->out;
	const char *uri, *qmark, *id, *v;

	memset(req, 0, sizeof *req);
	req->headers = headers != NULL ? headers : g_string_sized_new(256);
	req->out = out != NULL ? out : g_string_sized_new(1024);
	g_string_truncate(req->headers, 0);
	g_string_truncate(req->out, 0);
	req->fcgx = fcgx;
	req->app = app;
	req->acceptor = acceptor;
	req->start_us = g_get_monotonic_time();
	req->status = 0;

	v = request_env(req, "REQUEST_METHOD");
	req->method = v != NULL ? v : "GET";
	v = request_env(req, "REMOTE_ADDR");
	req->remote_addr = v != NULL ? v : "-";
	id = request_header(req, "X-Request-ID");
	if (request_id_sane(id))
		g_strlcpy(req->request_id, id, sizeof req->request_id);
	else
		ulid_new(req->request_id);

	/* REQUEST_URI is the raw target both nginx and lighttpd pass; the
	 * decoded path is ours to make, the same way for both servers. */
	uri = request_env(req, "REQUEST_URI");
	if (uri == NULL)
		uri = request_env(req, "SCRIPT_NAME");
	if (uri == NULL)
		uri = "/";
	qmark = strchr(uri, '?');
	req->query = qmark != NULL ? qmark + 1 : "";
	v = request_env(req, "QUERY_STRING");
	if (v != NULL)
		req->query = v;
	req->path = request_decode(uri, qmark != NULL ? (size_t)(qmark - uri) : strlen(uri), FALSE);
	return req->path != NULL ? 0 : -1;
}

void
request_clear(struct request *req)
{
	g_clear_pointer(&req->path, g_free);
	for (int i = 0; i < req->nparams; i++)
		g_clear_pointer(&req->params[i], g_free);
	req->nparams = 0;
	g_clear_pointer(&req->body, g_free);
	g_clear_pointer(&req->query_vars, g_hash_table_unref);
	if (req->file_set) {
		close(req->file_fd);
		req->file_set = FALSE;
	}
	/* Large bodies should not pin memory in an idle thread. */
	if (req->out != NULL && req->out->allocated_len > 64 * 1024) {
		g_string_free(req->out, TRUE);
		req->out = NULL;
	}
	if (req->headers != NULL && req->headers->allocated_len > 16 * 1024) {
		g_string_free(req->headers, TRUE);
		req->headers = NULL;
	}
}

void
request_destroy(struct request *req)
{
	request_clear(req);
	if (req->out != NULL)
		g_string_free(req->out, TRUE);
	if (req->headers != NULL)
		g_string_free(req->headers, TRUE);
	req->out = req->headers = NULL;
}

gboolean
request_drain(struct request *req)
{
	char scratch[16384];
	size_t total = 0;
	int n;

	if (req->fcgx->in == NULL)
		return TRUE;
	while ((n = FCGX_GetStr(scratch, sizeof scratch, req->fcgx->in)) > 0) {
		total += n;
		if (total > REQUEST_DRAIN_MAX)
			return FALSE;
	}
	return FCGX_GetError(req->fcgx->in) == 0;
}

/* CONTENT_LENGTH as a number: -1 when absent, -2 when not a number. */
static long long
request_content_length(struct request *req)
{
	const char *v = request_env(req, "CONTENT_LENGTH");
	char *end;
	long long n;

	if (v == NULL || *v == '\0')
		return -1;
	errno = 0;
	n = strtoll(v, &end, 10);
	if (errno != 0 || *end != '\0' || n < 0)
		return -2;
	return n;
}

int
request_body(struct request *req)
{
	long long declared, max = req->app->cfg->max_request_body;
	GString *body = NULL;
	char chunk[16384];
	int n;

	if (req->body_read)
		return req->body != NULL ? 0 : -1;
	req->body_read = TRUE;
	declared = request_content_length(req);
	if (declared == -2) {
		response_error(req, 400, "Invalid Content-Length");
		return -1;
	}
	if (declared > max) {
		response_error(req, 413, "Request body too large");
		return -1;
	}
	body = g_string_sized_new(declared > 0 ? (gsize)declared + 1 : 256);
	/* Read one byte past the limit so that a body without a length that
	 * is too large is noticed. */
	while ((long long)body->len <= max &&
	    (n = FCGX_GetStr(chunk, (int)MIN((long long)sizeof chunk, max + 1 - (long long)body->len),
	    req->fcgx->in)) > 0)
		g_string_append_len(body, chunk, n);
	if ((long long)body->len > max) {
		g_string_free(body, TRUE);
		response_error(req, 413, "Request body too large");
		return -1;
	}
	if (declared >= 0 && (long long)body->len != declared) {
		g_string_free(body, TRUE);
		response_error(req, 400, "Request body truncated");
		return -1;
	}
	req->body_len = body->len;
	req->body = g_string_free(body, FALSE);
	return 0;
}

json_t *
request_json(struct request *req)
{
	json_error_t error;
	json_t *doc, *item, *detail;

	if (request_body(req) != 0)
		return NULL;
	if (req->body_len == 0) {
		response_validation(req, "body", NULL, "Field required", "missing");
		return NULL;
	}
	doc = json_loadb(req->body, req->body_len, 0, &error);
	if (doc == NULL) {
		/* FastAPI's shape: loc ["body", character position]. */
		item = json_pack("{s:s, s:[s, I], s:s, s:{}, s:{s:s}}", "type", "json_invalid",
		    "loc", "body", (json_int_t)error.position, "msg", "JSON decode error",
		    "input", "ctx", "error", error.text);
		detail = json_pack("{s:[o]}", "detail", item);
		response_json(req, 422, detail);
		return NULL;
	}
	if (!json_is_object(doc)) {
		item = json_pack("{s:s, s:[s], s:s, s:o}", "type", "model_attributes_type", "loc", "body",
		    "msg", "Input should be a valid dictionary or object to extract fields from",
		    "input", doc);
		response_json(req, 422, json_pack("{s:[o]}", "detail", item));
		return NULL;
	}
	return doc;
}

static gboolean
request_redis_warn_due(gint64 now)
{
	static GMutex lock;
	static gint64 last;
	gboolean due;

	g_mutex_lock(&lock);
	due = last == 0 || now - last >= 60 * G_USEC_PER_SEC;
	if (due)
		last = now;
	g_mutex_unlock(&lock);
	return due;
}

redisContext *
request_redis(struct request *req, char **cause)
{
	struct acceptor *acc = req->acceptor;
	const struct config *cfg = req->app->cfg;
	gint64 now;

	if (acc->redis != NULL)
		return acc->redis;
	now = g_get_monotonic_time();
	if (now < acc->redis_retry_after_us) {
		*cause = g_strdup("Redis unavailable (next attempt within a second)");
		return NULL;
	}
	acc->redis = redis_open(cfg, cfg->redis_timeout_ms, cause);
	if (acc->redis == NULL) {
		metrics_redis_error();
		acc->redis_retry_after_us = now + G_USEC_PER_SEC;
		/* Every thread retries once a second while Redis is down; the
		 * log gets one warning a minute per process, the rest at debug. */
		if (request_redis_warn_due(now))
			log_warn("%s redis: %s (further failures logged at debug for a minute)",
			    req->request_id, *cause);
		else
			log_debug("%s redis: %s", req->request_id, *cause);
	}
	return acc->redis;
}

void
request_redis_reset(struct request *req)
{
	if (req->acceptor->redis != NULL)
		metrics_redis_error();
	g_clear_pointer(&req->acceptor->redis, redisFree);
}

struct db_conn *
request_db(struct request *req)
{
	char *cause = NULL;
	struct db_conn *conn = db_acquire(req->app->db, &cause);

	if (conn == NULL) {
		log_error("%s database: %s", req->request_id, cause);
		response_error(req, 503, "Service temporarily unavailable");
		g_free(cause);
	}
	return conn;
}

void
request_db_failed(struct request *req, char *cause)
{
	log_error("%s %s", req->request_id, cause);
	g_free(cause);
	response_error(req, 503, "Service temporarily unavailable");
}

gboolean
request_etag_current(struct request *req, const char *etag)
{
	const char *header = request_header(req, "If-None-Match");
	gboolean match = FALSE;
	char **tags;

	if (header == NULL)
		return FALSE;
	tags = g_strsplit(header, ",", -1);
	for (char **t = tags; *t != NULL && !match; t++) {
		const char *tag = g_strstrip(*t);

		if (g_str_has_prefix(tag, "W/"))
			tag += 2;
		match = strcmp(tag, "*") == 0 || strcmp(tag, etag) == 0;
	}
	g_strfreev(tags);
	return match;
}
