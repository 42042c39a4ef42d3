/* A small synchronous HTTP client on libcurl (one easy handle per call).
 *
 * For S3, ElevenLabs' subscription endpoint, JWKS documents: requests whose
 * bodies fit in memory (or are read from a file). Bulk concurrent work (the
 * pipeline's speech requests) uses its own curl multi handle.
 *
 * Thread safety: http_request() may be called from any thread; libcurl's
 * global state is initialised once, on first use (or by http_global_init()
 * before threads start, which is what programs should do).
 *
 * Ownership: http_request() fills a struct http_response the caller clears
 * with http_response_clear() (also after a failure: harmless). Strings in
 * struct http_request are borrowed for the duration of the call. */
#ifndef PP_HTTP_H
#define PP_HTTP_H

#include <glib.h>

struct http_request {
	const char *method;               /* "GET", "PUT", ...; NULL: GET */
	const char *url;
	const char *const *headers;       /* "Name: value" lines, NULL-terminated; may be NULL */
	const void *body;                 /* request body, or NULL */
	size_t body_len;
	const char *body_file;            /* or: send this file as the body (PUT) */
	int timeout_s;                    /* whole transfer; 0: 60 s */
	int connect_timeout_s;            /* 0: 10 s */
	gsize max_response;               /* larger bodies fail (not retryable); 0: 64 MiB */
	gboolean no_body;                 /* HEAD-like: do not read a body */
};

struct http_response {
	long status;                      /* HTTP status; 0 when no response came */
	GHashTable *headers;              /* lower-case name -> value (last one wins) */
	GByteArray *body;                 /* always NUL-terminated past body->len */
	gboolean retryable;               /* on failure: trying again later may work */
};

/* Initialises libcurl's global state; call once before starting threads. */
void http_global_init(void);

/* Performs the request. Returns 0 when a response arrived, whatever its
 * status; -1 on a transport failure (DNS, connect, TLS, timeout, reset,
 * response too large) with *cause (caller frees) and resp->retryable set:
 * TRUE for network trouble and timeouts, FALSE for a malformed URL, an
 * unreadable body_file or an oversized response. */
int http_request(const struct http_request *rq, struct http_response *resp, char **cause);

/* A response header by name (any case), or NULL. */
const char *http_response_header(const struct http_response *resp, const char *name);
/* The body as a NUL-terminated string ("" when empty); owned by RESP. */
const char *http_response_text(const struct http_response *resp);
/* Frees what RESP holds and zeroes it. */
void http_response_clear(struct http_response *resp);

/* TRUE for statuses worth retrying: 408, 429, 500, 502, 503, 504. */
gboolean http_status_retryable(long status);

#endif
