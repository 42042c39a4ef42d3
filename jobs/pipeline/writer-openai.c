/* The OpenAI-compatible writer: one POST {OPENAI_BASE_URL}/chat/completions
 * whose answer's choices[0].message.content is the script JSON.
 *
 * OPENAI_BASE_URL includes the API version, as OpenAI's own SDKs read the
 * variable: https://api.openai.com/v1 (the default), a llama.cpp
 * llama-server at http://127.0.0.1:8080/v1, Ollama at
 * http://127.0.0.1:11434/v1. So a base URL copied from another tool works
 * as it is; a 404 says when "/v1" may be missing.
 *
 * Output: response_format json_schema with strict: the script's shape
 * (script.h), every member required, topic nullable (strict mode has no
 * optional members). A server that refuses json_schema (400 naming
 * response_format or json_schema) is asked again at once with json_object,
 * the prompt describing the shape; contents are read leniently (a Markdown
 * fence or text around the object is dropped), as small local models add
 * them.
 *
 * Errors: 429 is retried no sooner than Retry-After (or retry-after-ms),
 * except insufficient_quota, which is permanent (money, not time, fixes
 * it); 408, 5xx and the network are retried; 401/403 are permanent with a
 * message naming OPENAI_API_KEY; a document over the model's context
 * (OpenAI's code context_length_exceeded, llama-server's
 * exceed_context_size_error) is permanent: "The document is too long for
 * the model". Cutting the document and trying again would make a podcast
 * of part of it without saying so; the message names the remedies
 * (DOCUMENT_MAX_CHARS, a longer context). finish_reason "length" (the
 * output budget or the context ran out) and "content_filter", and a
 * refusal, are permanent: the same request ends the same way. A content
 * that is not the script is asked for once more in the same run, then is
 * permanent. */
#include "autoconfig.h"

#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "config.h"
#include "http.h"
#include "log.h"
#include "writer.h"

#define WRITER_OPENAI_BASE "https://api.openai.com/v1"

static json_t *
writer_openai_schema(void)
{
	return json_pack("{s:s, s:{s:{s:s}, s:{s:s}, s:{s:s, s:{s:s, s:{s:{s:s, s:[s,s]}, s:{s:[s,s]},"
	    " s:{s:s}}, s:[s,s,s], s:b}}}, s:[s,s,s], s:b}",
	    "type", "object",
	    "properties",
	    "title", "type", "string",
	    "summary", "type", "string",
	    "lines", "type", "array", "items", "type", "object", "properties",
	    "speaker", "type", "string", "enum", SCRIPT_DOROTHY, SCRIPT_WILL,
	    "topic", "type", "string", "null",
	    "text", "type", "string",
	    "required", "speaker", "topic", "text",
	    "additionalProperties", 0,
	    "required", "title", "summary", "lines",
	    "additionalProperties", 0);
}

json_t *
writer_openai_request(const char *model, const char *document, const char *requirements,
    const struct listener_options *opts, gboolean schema)
{
	char *system = writer_prompt_system(opts), *doc = writer_prompt_document(document);
	char *wish = writer_prompt_wishes(requirements);
	json_t *messages = json_array(), *format;

	json_array_append_new(messages, json_pack("{s:s, s:s}", "role", "system", "content", system));
	json_array_append_new(messages, json_pack("{s:s, s:s}", "role", "user", "content", doc));
	if (wish != NULL)
		json_array_append_new(messages, json_pack("{s:s, s:s}", "role", "user", "content", wish));
	if (schema)
		format = json_pack("{s:s, s:{s:s, s:b, s:o}}", "type", "json_schema", "json_schema",
		    "name", "podcast_script", "strict", 1, "schema", writer_openai_schema());
	else
		format = json_pack("{s:s}", "type", "json_object");
	g_free(system);
	g_free(doc);
	g_free(wish);
	return json_pack("{s:s, s:o, s:o}", "model", model, "messages", messages, "response_format", format);
}

/* Seconds in a Retry-After value (delta-seconds or an HTTP date), or 0. */
double
writer_openai_retry_after(const char *value)
{
	char *end = NULL;
	double v;
	time_t when;

	if (value == NULL || *value == '\0')
		return 0;
	v = g_ascii_strtod(value, &end);
	if (end != value && *end == '\0')
		return v > 0 ? v : 0;
	if ((when = curl_getdate(value, NULL)) < 0)
		return 0;
	v = difftime(when, time(NULL));
	return v > 0 ? v : 0;
}

/* The error object's code: a string (OpenAI) or a number (llama-server). */
static char *
writer_openai_code(const json_t *error)
{
	const json_t *code = json_object_get(error, "code");

	if (json_is_string(code))
		return g_strdup(json_string_value(code));
	if (json_is_integer(code))
		return g_strdup_printf("%" JSON_INTEGER_FORMAT, json_integer_value(code));
	return NULL;
}

static gboolean
writer_openai_is(const char *a, const char *b)
{
	return a != NULL && strcmp(a, b) == 0;
}

static void
writer_openai_http_error(long status, const char *body, gsize len, double retry_after,
    enum writer_openai_again *again, struct pipeline_error *err)
{
	json_t *root = json_loadb(body != NULL ? body : "", len, 0, NULL);
	const json_t *error = json_object_get(root, "error");
	const char *message = json_string_value(json_is_object(error) ? json_object_get(error, "message") : error);
	const char *type = json_string_value(json_object_get(error, "type"));
	const char *param = json_string_value(json_object_get(error, "param"));
	char *code = writer_openai_code(error), *what;

	what = g_strdup_printf("%ld%s%s%s%s", status, code != NULL && !g_ascii_isdigit(*code) ? " " : "",
	    code != NULL && !g_ascii_isdigit(*code) ? code : "", message != NULL ? ": " : "",
	    message != NULL ? message : "");
	if (status == 401 || status == 403) {
		pipeline_error_set(err, TRUE, "The OpenAI-compatible API refused the key (%s); "
		    "check OPENAI_API_KEY", what);
	} else if (writer_openai_is(code, "context_length_exceeded") ||
	    writer_openai_is(type, "exceed_context_size_error")) {
		pipeline_error_set(err, TRUE, "The document is too long for the model (%s); lower "
		    "DOCUMENT_MAX_CHARS or use a model or server with a longer context", what);
	} else if (status == 429 && (writer_openai_is(code, "insufficient_quota") ||
	    writer_openai_is(type, "insufficient_quota"))) {
		pipeline_error_set(err, TRUE, "The OpenAI-compatible API account is out of quota (%s)", what);
	} else if (status == 400 && (writer_openai_is(param, "response_format") ||
	    (message != NULL && (strstr(message, "response_format") != NULL ||
	    strstr(message, "json_schema") != NULL)))) {
		pipeline_error_set(err, TRUE, "The OpenAI-compatible API refused the JSON schema (%s)", what);
		*again = WRITER_OPENAI_PLAIN_JSON;
	} else if (status == 404) {
		pipeline_error_set(err, TRUE, "The OpenAI-compatible API answered %s (check OPENAI_MODEL, "
		    "and that OPENAI_BASE_URL ends with the API version, e.g. /v1)", what);
	} else {
		pipeline_error_set(err, !http_status_retryable(status) && status < 500,
		    "The OpenAI-compatible API answered %s", what);
		if (status == 429)
			err->retry_after = retry_after;
	}
	g_free(what);
	g_free(code);
	json_decref(root);
}

/* The script object in CONTENT: all of it, or what lies between its first
 * '{' and its last '}' (a fence or a sentence around it). */
static json_t *
writer_openai_content_json(const char *content)
{
	json_t *j = json_loads(content, 0, NULL);
	const char *open, *close;

	if (j != NULL || (open = strchr(content, '{')) == NULL || (close = strrchr(content, '}')) == NULL ||
	    close < open)
		return j;
	return json_loadb(open, (size_t)(close - open + 1), 0, NULL);
}

struct script *
writer_openai_parse(long status, const char *body, gsize len, double retry_after,
    enum writer_openai_again *again, struct pipeline_error *err)
{
	json_t *root = NULL, *script_json = NULL;
	const json_t *choice, *message;
	const char *finish, *content, *refusal;
	struct script *script = NULL;
	char *cause = NULL;

	*again = WRITER_OPENAI_DONE;
	if (status == 0) {
		pipeline_error_set(err, FALSE, "The OpenAI-compatible API could not be reached: %s",
		    body != NULL ? body : "");
		return NULL;
	}
	if (status != 200) {
		writer_openai_http_error(status, body, len, retry_after, again, err);
		return NULL;
	}
	if ((root = json_loadb(body != NULL ? body : "", len, 0, NULL)) == NULL) {
		pipeline_error_set(err, FALSE, "The OpenAI-compatible API's answer is not JSON");
		goto out;
	}
	choice = json_array_get(json_object_get(root, "choices"), 0);
	message = json_object_get(choice, "message");
	finish = json_string_value(json_object_get(choice, "finish_reason"));
	content = json_string_value(json_object_get(message, "content"));
	refusal = json_string_value(json_object_get(message, "refusal"));
	if (choice == NULL) {
		pipeline_error_set(err, FALSE, "The OpenAI-compatible API returned no choices");
	} else if (refusal != NULL) {
		pipeline_error_set(err, TRUE, "The model refused to write the script: %s", refusal);
	} else if (writer_openai_is(finish, "length")) {
		pipeline_error_set(err, TRUE, "The model ran out of tokens before finishing the script "
		    "(finish_reason length)");
	} else if (writer_openai_is(finish, "content_filter")) {
		pipeline_error_set(err, TRUE, "The model refused the document (finish_reason content_filter)");
	} else if (content == NULL || *content == '\0') {
		pipeline_error_set(err, FALSE, "The model returned no text");
		*again = WRITER_OPENAI_SAME;
	} else if ((script_json = writer_openai_content_json(content)) == NULL) {
		pipeline_error_set(err, FALSE, "The model's script is not valid JSON");
		*again = WRITER_OPENAI_SAME;
	} else if ((script = writer_script_from_json(script_json, &cause)) == NULL) {
		pipeline_error_set(err, FALSE, "The model's script is not usable: %s", cause);
		*again = WRITER_OPENAI_SAME;
	}
out:
	g_free(cause);
	json_decref(script_json);
	json_decref(root);
	return script;
}

/* One request; its answer interpreted. */
static struct script *
writer_openai_call(const struct config *cfg, const char *url, const char *body,
    enum writer_openai_again *again, struct pipeline_error *err)
{
	char *auth = NULL, *cause = NULL;
	const char *headers[4] = { "Content-Type: application/json", "Accept: application/json", NULL, NULL };
	struct http_request rq = { 0 };
	struct http_response resp = { 0 };
	struct script *script;

	/* A local server needs no key: none is sent. */
	if (cfg->openai_api_key != NULL && *cfg->openai_api_key != '\0')
		headers[2] = auth = g_strdup_printf("Authorization: Bearer %s", cfg->openai_api_key);
	rq.method = "POST";
	rq.url = url;
	rq.headers = headers;
	rq.body = body;
	rq.body_len = strlen(body);
	rq.timeout_s = cfg->provider_timeout;
	if (http_request(&rq, &resp, &cause) != 0) {
		script = writer_openai_parse(0, cause, strlen(cause), 0, again, err);
	} else {
		const char *ms = http_response_header(&resp, "retry-after-ms");
		double after = ms != NULL ? writer_openai_retry_after(ms) / 1000.0 :
		    writer_openai_retry_after(http_response_header(&resp, "retry-after"));

		log_info("openai %s: %ld (%u bytes)", cfg->openai_model, resp.status, resp.body->len);
		script = writer_openai_parse(resp.status, (const char *)resp.body->data, resp.body->len,
		    after, again, err);
	}
	http_response_clear(&resp);
	if (auth != NULL)
		memset(auth, 0, strlen(auth));
	g_free(auth);
	g_free(cause);
	return script;
}

struct script *
writer_openai_write(const struct config *cfg, const char *document, const char *requirements,
    const struct listener_options *opts, struct pipeline_error *err)
{
	const char *base = cfg->openai_base_url != NULL && *cfg->openai_base_url != '\0' ?
	    cfg->openai_base_url : WRITER_OPENAI_BASE;
	size_t base_len = strlen(base);
	gboolean schema = TRUE;
	int unusable = 0;
	struct script *script = NULL;
	char *url;

	while (base_len > 0 && base[base_len - 1] == '/')
		base_len--;
	url = g_strdup_printf("%.*s/chat/completions", (int)base_len, base);
	for (;;) {
		json_t *request = writer_openai_request(cfg->openai_model, document, requirements, opts, schema);
		char *body = json_dumps(request, JSON_COMPACT);
		enum writer_openai_again again;

		json_decref(request);
		script = writer_openai_call(cfg, url, body, &again, err);
		free(body);
		if (script != NULL || again == WRITER_OPENAI_DONE)
			break;
		if (again == WRITER_OPENAI_PLAIN_JSON) {
			if (!schema)
				break;   /* refused without a schema too: the 400 stands */
			log_info("openai: the server refused json_schema; asking for json_object");
			schema = FALSE;
		} else if (++unusable >= 2) {
			err->permanent = TRUE;   /* twice: the model cannot do it */
			break;
		} else {
			log_warn("openai: %s; asking once more", err->message);
		}
	}
	if (script != NULL)
		pipeline_error_clear(err);
	g_free(url);
	return script;
}
