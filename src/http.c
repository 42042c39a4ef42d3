/* A synchronous HTTP client on libcurl's easy interface. */
#include "autoconfig.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <curl/curl.h>

#include "http.h"

#define HTTP_DEFAULT_TIMEOUT 60
#define HTTP_DEFAULT_CONNECT_TIMEOUT 10
#define HTTP_DEFAULT_MAX_RESPONSE (64u * 1024 * 1024)

static gsize http_initialised;

void
http_global_init(void)
{
	if (g_once_init_enter(&http_initialised)) {
		curl_global_init(CURL_GLOBAL_DEFAULT);
		g_once_init_leave(&http_initialised, 1);
	}
}

struct http_sink {
	struct http_response *resp;
	gsize max;
	gboolean too_large;
};

static size_t
http_write_body(char *data, size_t size, size_t nmemb, void *arg)
{
	struct http_sink *sink = arg;
	size_t n = size * nmemb;

	if (sink->resp->body->len + n > sink->max) {
		sink->too_large = TRUE;
		return 0;   /* curl fails the transfer with CURLE_WRITE_ERROR */
	}
	g_byte_array_append(sink->resp->body, (const guint8 *)data, (guint)n);
	return n;
}

static size_t
http_write_header(char *data, size_t size, size_t nmemb, void *arg)
{
	struct http_response *resp = arg;
	size_t n = size * nmemb;
	const char *colon = memchr(data, ':', n);
	char *name, *value;

	/* A new status line (a redirect or 100 Continue) starts a new set. */
	if (n >= 5 && strncmp(data, "HTTP/", 5) == 0) {
		g_hash_table_remove_all(resp->headers);
		return n;
	}
	if (colon == NULL)
		return n;
	name = g_ascii_strdown(data, colon - data);
	value = g_strndup(colon + 1, n - (size_t)(colon + 1 - data));
	g_strstrip(name);
	g_strstrip(value);
	g_hash_table_replace(resp->headers, name, value);
	return n;
}

static gboolean
http_curl_retryable(CURLcode rc)
{
	switch (rc) {
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		return TRUE;
	default:
		return FALSE;
	}
}

int
http_request(const struct http_request *rq, struct http_response *resp, char **cause)
{
	struct http_sink sink = { resp, rq->max_response > 0 ? rq->max_response : HTTP_DEFAULT_MAX_RESPONSE, FALSE };
	const char *method = rq->method != NULL ? rq->method : "GET";
	char errbuf[CURL_ERROR_SIZE] = "";
	struct curl_slist *hdrs = NULL;
	FILE *upload = NULL;
	CURL *curl = NULL;
	CURLcode rc;
	int ret = -1;

	http_global_init();
	memset(resp, 0, sizeof *resp);
	resp->headers = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	resp->body = g_byte_array_new();
	if ((curl = curl_easy_init()) == NULL) {
		*cause = g_strdup("curl_easy_init failed");
		resp->retryable = TRUE;
		goto out;
	}
	curl_easy_setopt(curl, CURLOPT_URL, rq->url);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, (long)(rq->timeout_s > 0 ? rq->timeout_s : HTTP_DEFAULT_TIMEOUT));
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT,
	    (long)(rq->connect_timeout_s > 0 ? rq->connect_timeout_s : HTTP_DEFAULT_CONNECT_TIMEOUT));
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, http_write_body);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &sink);
	curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, http_write_header);
	curl_easy_setopt(curl, CURLOPT_HEADERDATA, resp);
	/* Signed requests must reach the URL that was signed, never another. */
	curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
	for (const char *const *h = rq->headers; h != NULL && *h != NULL; h++)
		hdrs = curl_slist_append(hdrs, *h);
	/* curl's "Expect: 100-continue" costs a round trip; S3 does not need it. */
	hdrs = curl_slist_append(hdrs, "Expect:");
	if (rq->body_file != NULL) {
		struct stat sb;

		if ((upload = fopen(rq->body_file, "rb")) == NULL || fstat(fileno(upload), &sb) != 0) {
			*cause = g_strdup_printf("%s: %s", rq->body_file, g_strerror(errno));
			goto out;
		}
		curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(curl, CURLOPT_READDATA, upload);
		curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE, (curl_off_t)sb.st_size);
		curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
	} else if (rq->body != NULL || strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0) {
		curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)rq->body_len);
		curl_easy_setopt(curl, CURLOPT_POSTFIELDS, rq->body != NULL ? rq->body : "");
		curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
	} else if (strcmp(method, "HEAD") == 0 || rq->no_body) {
		curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
		if (strcmp(method, "HEAD") != 0)
			curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
	} else if (strcmp(method, "GET") != 0) {
		curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
	}
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdrs);
	rc = curl_easy_perform(curl);
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &resp->status);
	if (rc != CURLE_OK) {
		if (sink.too_large) {
			*cause = g_strdup_printf("%s %s: response larger than %zu bytes", method, rq->url,
			    (size_t)sink.max);
			resp->retryable = FALSE;
		} else {
			*cause = g_strdup_printf("%s %s: %s", method, rq->url,
			    errbuf[0] != '\0' ? errbuf : curl_easy_strerror(rc));
			resp->retryable = http_curl_retryable(rc);
		}
		goto out;
	}
	ret = 0;
out:
	/* Keeps http_response_text() valid for any body. */
	g_byte_array_append(resp->body, (const guint8 *)"", 1);
	g_byte_array_set_size(resp->body, resp->body->len - 1);
	if (upload != NULL)
		fclose(upload);
	curl_slist_free_all(hdrs);
	if (curl != NULL)
		curl_easy_cleanup(curl);
	return ret;
}

const char *
http_response_header(const struct http_response *resp, const char *name)
{
	char *lower;
	const char *v;

	if (resp->headers == NULL)
		return NULL;
	lower = g_ascii_strdown(name, -1);
	v = g_hash_table_lookup(resp->headers, lower);
	g_free(lower);
	return v;
}

const char *
http_response_text(const struct http_response *resp)
{
	return resp->body != NULL ? (const char *)resp->body->data : "";
}

void
http_response_clear(struct http_response *resp)
{
	if (resp->headers != NULL)
		g_hash_table_unref(resp->headers);
	if (resp->body != NULL)
		g_byte_array_unref(resp->body);
	memset(resp, 0, sizeof *resp);
}

gboolean
http_status_retryable(long status)
{
	return status == 408 || status == 429 || status == 500 || status == 502 ||
	    status == 503 || status == 504;
}
