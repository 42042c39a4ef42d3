/* Building a response and writing it to the FastCGI stream. */
#include "autoconfig.h"

#include <stdarg.h>
#include <string.h>

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
	response_json(req, 422, json_pack("{s:[{s:s, s:o, s:s, s:n}]}", "detail",
	    "type", type, "loc", loc, "msg", msg, "input"));
}

void
response_empty(struct request *req, int status)
{
	response_begin(req, status);
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
	int rc = 0;

	g_string_append_printf(head, "Status: %d %s\r\n", req->status, response_reason(req->status));
	if (!bodyless && req->out->len > 0 && !response_has_content_type(req->headers))
		g_string_append(head, "Content-Type: application/json\r\n");
	if (!bodyless)
		g_string_append_printf(head, "Content-Length: %" G_GSIZE_FORMAT "\r\n", req->out->len);
	g_string_append_printf(head, "X-Request-ID: %s\r\n", req->request_id);
	g_string_append_len(head, req->headers->str, req->headers->len);
	g_string_append(head, "\r\n");
	if (FCGX_PutStr(head->str, (int)head->len, req->fcgx->out) < 0 ||
	    (!bodyless && req->out->len > 0 &&
	    FCGX_PutStr(req->out->str, (int)req->out->len, req->fcgx->out) < 0))
		rc = -1;
	g_string_free(head, TRUE);
	return rc;
}
