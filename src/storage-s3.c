/* S3 storage: object requests signed with SigV4 (header auth). */
#include "autoconfig.h"

#include <string.h>
#include <time.h>

#include "http.h"
#include "log.h"
#include "storage-private.h"

/* S3's <Code> and <Message> from an XML error body, for the cause. */
static char *
storage_s3_error_text(const struct http_response *resp)
{
	const char *body = http_response_text(resp);
	const char *code = strstr(body, "<Code>"), *msg = strstr(body, "<Message>");
	char *c = NULL, *m = NULL, *text;

	if (code != NULL) {
		code += strlen("<Code>");
		c = g_strndup(code, strcspn(code, "<"));
	}
	if (msg != NULL) {
		msg += strlen("<Message>");
		m = g_strndup(msg, strcspn(msg, "<"));
	}
	text = g_strdup_printf("HTTP %ld%s%s%s%s", resp->status, c != NULL ? " " : "", c != NULL ? c : "",
	    m != NULL ? ": " : "", m != NULL ? m : "");
	g_free(c);
	g_free(m);
	return text;
}

/* Sends one signed request for KEY. BODY/BODY_FILE and PAYLOAD_HASH as for
 * http_request and sigv4_sign_request. 0 with *resp filled, or an error. */
static enum storage_result
storage_s3_call(struct storage *st, const char *method, const char *key, const char *content_type,
    const void *body, gsize body_len, const char *body_file, const char *payload_hash,
    gsize max_response, struct http_response *resp, char **cause)
{
	char *url = storage_object_url(st, key), *ct = NULL;
	const char *sign_headers[2] = { NULL, NULL };
	char **added = NULL;
	GPtrArray *headers = g_ptr_array_new();
	struct http_request rq = { 0 };
	enum storage_result rc = STORAGE_FAIL;

	if (content_type != NULL) {
		ct = g_strdup_printf("Content-Type: %s", content_type);
		sign_headers[0] = ct;
		g_ptr_array_add(headers, ct);
	}
	added = sigv4_sign_request(&st->s3_key, method, url, sign_headers, payload_hash, time(NULL), cause);
	if (added == NULL)
		goto out;
	for (char **h = added; *h != NULL; h++)
		g_ptr_array_add(headers, *h);
	g_ptr_array_add(headers, NULL);
	rq.method = method;
	rq.url = url;
	rq.headers = (const char *const *)headers->pdata;
	rq.body = body;
	rq.body_len = body_len;
	rq.body_file = body_file;
	rq.timeout_s = st->timeout_s;
	rq.max_response = max_response;
	rq.no_body = strcmp(method, "HEAD") == 0;
	if (http_request(&rq, resp, cause) != 0) {
		rc = resp->retryable ? STORAGE_RETRY : STORAGE_FAIL;
		goto out;
	}
	rc = STORAGE_OK;
out:
	g_strfreev(added);
	g_ptr_array_unref(headers);
	g_free(ct);
	g_free(url);
	return rc;
}

/* The result for a response that is not a success. */
static enum storage_result
storage_s3_failed(const char *what, const char *key, const struct http_response *resp, char **cause)
{
	char *text = storage_s3_error_text(resp);

	*cause = g_strdup_printf("S3 %s %s: %s", what, key, text);
	g_free(text);
	return http_status_retryable(resp->status) ? STORAGE_RETRY : STORAGE_FAIL;
}

enum storage_result
storage_s3_put(struct storage *st, const char *key, const void *data, gsize len,
    const char *content_type, char **cause)
{
	struct http_response resp = { 0 };
	char *hash = sigv4_sha256_hex(data != NULL ? data : "", len);
	enum storage_result rc;

	rc = storage_s3_call(st, "PUT", key, content_type, data != NULL ? data : "", len, NULL, hash,
	    0, &resp, cause);
	if (rc == STORAGE_OK && resp.status != 200)
		rc = storage_s3_failed("PUT", key, &resp, cause);
	http_response_clear(&resp);
	g_free(hash);
	return rc;
}

enum storage_result
storage_s3_put_file(struct storage *st, const char *key, const char *path,
    const char *content_type, char **cause)
{
	struct http_response resp = { 0 };
	char *hash = sigv4_sha256_file_hex(path, cause);
	enum storage_result rc;

	if (hash == NULL)
		return STORAGE_FAIL;
	rc = storage_s3_call(st, "PUT", key, content_type, NULL, 0, path, hash, 0, &resp, cause);
	if (rc == STORAGE_OK && resp.status != 200)
		rc = storage_s3_failed("PUT", key, &resp, cause);
	http_response_clear(&resp);
	g_free(hash);
	return rc;
}

enum storage_result
storage_s3_get(struct storage *st, const char *key, gsize max_size, GBytes **out, char **cause)
{
	struct http_response resp = { 0 };
	enum storage_result rc;

	rc = storage_s3_call(st, "GET", key, NULL, NULL, 0, NULL, NULL, max_size, &resp, cause);
	if (rc == STORAGE_OK) {
		if (resp.status == 200) {
			*out = g_byte_array_free_to_bytes(resp.body);
			resp.body = NULL;
		} else if (resp.status == 404) {
			rc = STORAGE_NOT_FOUND;
		} else {
			rc = storage_s3_failed("GET", key, &resp, cause);
		}
	}
	http_response_clear(&resp);
	return rc;
}

enum storage_result
storage_s3_exists(struct storage *st, const char *key, gint64 *size, char **cause)
{
	struct http_response resp = { 0 };
	enum storage_result rc;

	rc = storage_s3_call(st, "HEAD", key, NULL, NULL, 0, NULL, NULL, 0, &resp, cause);
	if (rc == STORAGE_OK) {
		if (resp.status == 200) {
			const char *len = http_response_header(&resp, "Content-Length");

			if (size != NULL)
				*size = len != NULL ? g_ascii_strtoll(len, NULL, 10) : -1;
		} else if (resp.status == 404) {
			rc = STORAGE_NOT_FOUND;
		} else {
			rc = storage_s3_failed("HEAD", key, &resp, cause);
		}
	}
	http_response_clear(&resp);
	return rc;
}

enum storage_result
storage_s3_delete(struct storage *st, const char *key, char **cause)
{
	struct http_response resp = { 0 };
	enum storage_result rc;

	rc = storage_s3_call(st, "DELETE", key, NULL, NULL, 0, NULL, NULL, 0, &resp, cause);
	if (rc == STORAGE_OK && resp.status != 204 && resp.status != 200 && resp.status != 404)
		rc = storage_s3_failed("DELETE", key, &resp, cause);
	http_response_clear(&resp);
	return rc;
}
