/* Building a response and writing it to the FastCGI stream. */
#include "autoconfig.h"

#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>

#include "dispatch.h"
#include "log.h"
#include "request.h"

const char *
response_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 204: return "No Content";
	case 206: return "Partial Content";
	case 301: return "Moved Permanently";
	case 302: return "Found";
	case 303: return "See Other";
	case 304: return "Not Modified";
	case 307: return "Temporary Redirect";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 402: return "Payment Required";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 410: return "Gone";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 415: return "Unsupported Media Type";
	case 416: return "Range Not Satisfiable";
	case 422: return "Unprocessable Content";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	default: return status < 400 ? "OK" : "Error";
	}
}

void
response_header(struct request *req, const char *name, const char *fmt, ...)
{
	va_list ap;
	gsize start;

	g_string_append(req->headers, name);
	g_string_append(req->headers, ": ");
	start = req->headers->len;
	va_start(ap, fmt);
	g_string_append_vprintf(req->headers, fmt, ap);
	va_end(ap);
	/* A value carrying a line break would let it forge headers. */
	for (gsize i = start; i < req->headers->len; i++) {
		if (req->headers->str[i] == '\r' || req->headers->str[i] == '\n')
			req->headers->str[i] = ' ';
	}
	g_string_append(req->headers, "\r\n");
}

static int
response_append(const char *buffer, size_t size, void *data)
{
	g_string_append_len(data, buffer, size);
	return 0;
}

/* TRUE when nothing has answered yet; logs a handler that answers twice. */
static gboolean
response_begin(struct request *req, int status)
{
	if (req->responded) {
		log_error("%s second response (%d) ignored for %s %s", req->request_id, status,
		    req->method, req->path != NULL ? req->path : "?");
		return FALSE;
	}
	req->responded = TRUE;
	req->status = status;
	g_string_truncate(req->out, 0);
	return TRUE;
}

void
response_json(struct request *req, int status, json_t *body)
{
	if (body == NULL) {
		/* json_pack failed: a bug, but the client still gets JSON. */
		log_error("%s response body missing (status %d)", req->request_id, status);
		status = 500;
		body = json_pack("{s:s}", "detail", "Internal Server Error");
	}
	if (response_begin(req, status))
		json_dump_callback(body, response_append, req->out, JSON_COMPACT | JSON_REAL_PRECISION(15));
	json_decref(body);
}

void
response_error(struct request *req, int status, const char *detail)
{
	response_json(req, status, json_pack("{s:s}", "detail", detail));
}

void
response_validation(struct request *req, const char *where, const char *field,
    const char *msg, const char *type)
{
	json_t *loc = json_pack("[s]", where);

	if (field != NULL)
		json_array_append_new(loc, json_string(field));
	response_validation_at(req, loc, msg, type);
}

void
response_validation_at(struct request *req, json_t *loc, const char *msg, const char *type)
{
	response_json(req, 422, json_pack("{s:[{s:s, s:o, s:s, s:n}]}", "detail",
	    "type", type, "loc", loc, "msg", msg, "input"));
}

void
response_empty(struct request *req, int status)
{
	response_begin(req, status);
}

void
response_file(struct request *req, int status, int fd, gint64 first, gint64 len)
{
	if (!response_begin(req, status)) {
		close(fd);
		return;
	}
	req->file_set = TRUE;
	req->file_fd = fd;
	req->file_first = first;
	req->file_len = len;
}

/* The file body of response_file(), RESPONSE_FILE_PIECE bytes at a time:
 * 0, or -1 when the web server has gone or the file could not be read. */
#define RESPONSE_FILE_PIECE (64 * 1024)
static int
response_send_file(struct request *req)
{
	char *piece = g_malloc(RESPONSE_FILE_PIECE);
	gint64 sent = 0;
	int rc = 0;

	while (sent < req->file_len) {
		size_t want = (size_t)MIN((gint64)RESPONSE_FILE_PIECE, req->file_len - sent);
		ssize_t n = pread(req->file_fd, piece, want, (off_t)(req->file_first + sent));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			log_error("%s file body cut short after %" G_GINT64_FORMAT " of %" G_GINT64_FORMAT
			    " bytes: %s", req->request_id, sent, req->file_len,
			    n < 0 ? g_strerror(errno) : "the file shrank while being sent");
			req->fcgx->keepConnection = 0;
			rc = -1;
			break;
		}
		if (FCGX_PutStr(piece, (int)n, req->fcgx->out) < 0) {
			rc = -1;
			break;
		}
		sent += n;
	}
	g_free(piece);
	return rc;
}

/* TRUE when a handler set its own Content-Type. */
static gboolean
response_has_content_type(const GString *headers)
{
	const char *p = headers->str;

	while (*p != '\0') {
		if (g_ascii_strncasecmp(p, "Content-Type:", 13) == 0)
			return TRUE;
		p = strstr(p, "\r\n");
		if (p == NULL)
			break;
		p += 2;
	}
	return FALSE;
}

int
response_send(struct request *req)
{
	GString *head = g_string_sized_new(256 + req->headers->len);
	gboolean bodyless = req->status == 204 || req->status == 304;
	gint64 length = req->file_set ? req->file_len : (gint64)req->out->len;
	int rc = 0;

	g_string_append_printf(head, "Status: %d %s\r\n", req->status, response_reason(req->status));
	if (!bodyless && length > 0 && !response_has_content_type(req->headers))
		g_string_append(head, "Content-Type: application/json\r\n");
	if (!bodyless)
		g_string_append_printf(head, "Content-Length: %" G_GINT64_FORMAT "\r\n", length);
	g_string_append_printf(head, "X-Request-ID: %s\r\n", req->request_id);
	g_string_append_len(head, req->headers->str, req->headers->len);
	g_string_append(head, "\r\n");
	/* The web server drops a HEAD answer's body: a file's is not read. */
	if (FCGX_PutStr(head->str, (int)head->len, req->fcgx->out) < 0)
		rc = -1;
	else if (!bodyless && req->file_set && strcmp(req->method, "HEAD") != 0)
		rc = response_send_file(req);
	else if (!bodyless && !req->file_set && req->out->len > 0 &&
	    FCGX_PutStr(req->out->str, (int)req->out->len, req->fcgx->out) < 0)
		rc = -1;
	g_string_free(head, TRUE);
	return rc;
}
