/* The Gemini writer: one generateContent call with structured output gives
 * the title, the summary and the dialogue at once (one round trip instead
 * of the Python service's three; the title is saved as soon as it returns). */
#include "autoconfig.h"

#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "http.h"
#include "log.h"
#include "writer.h"

static json_t *
writer_gemini_schema(void)
{
	/* topic is optional: most lines go on with the topic before them. */
	return json_pack("{s:s, s:{s:{s:s}, s:{s:s}, s:{s:s, s:{s:s, s:{s:{s:s, s:[s,s]}, s:{s:s}, s:{s:s}},"
	    " s:[s,s], s:[s,s,s]}}}, s:[s,s,s], s:[s,s,s]}",
	    "type", "OBJECT",
	    "properties",
	    "title", "type", "STRING",
	    "summary", "type", "STRING",
	    "lines", "type", "ARRAY", "items", "type", "OBJECT", "properties",
	    "speaker", "type", "STRING", "enum", SCRIPT_DOROTHY, SCRIPT_WILL,
	    "text", "type", "STRING",
	    "topic", "type", "STRING",
	    "required", "speaker", "text",
	    "propertyOrdering", "speaker", "topic", "text",
	    "required", "title", "summary", "lines",
	    "propertyOrdering", "title", "summary", "lines");
}

json_t *
writer_gemini_request(const char *model, const char *document, const char *requirements,
    const struct listener_options *opts)
{
	json_t *parts = json_array(), *config, *request;
	char *doc = writer_prompt_document(document), *wish = writer_prompt_wishes(requirements);
	char *system = writer_prompt_system(opts);

	json_array_append_new(parts, json_pack("{s:s}", "text", doc));
	if (wish != NULL)
		json_array_append_new(parts, json_pack("{s:s}", "text", wish));
	config = json_pack("{s:f, s:i, s:s, s:o}", "temperature", 0.7,
	    "maxOutputTokens", 8192, "responseMimeType", "application/json",
	    "responseSchema", writer_gemini_schema());
	/* 2.5 Flash thinks by default and thinking eats the output budget; Pro
	 * models cannot turn it off, so they keep their default and more room. */
	if (model != NULL && strstr(model, "flash") != NULL)
		json_object_set_new(config, "thinkingConfig", json_pack("{s:i}", "thinkingBudget", 0));
	else
		json_object_set_new(config, "maxOutputTokens", json_integer(32768));
	request = json_pack("{s:{s:[{s:s}]}, s:[{s:s, s:o}], s:o}",
	    "systemInstruction", "parts", "text", system,
	    "contents", "role", "user", "parts", parts,
	    "generationConfig", config);
	g_free(system);
	g_free(wish);
	g_free(doc);
	return request;
}

double
writer_gemini_duration(const char *text)
{
	char *end = NULL;
	double v;

	if (text == NULL)
		return -1;
	v = g_ascii_strtod(text, &end);
	if (end == text || v < 0 || (*end != 's' && *end != '\0'))
		return -1;
	return v;
}

/* The RetryInfo delay in an error's details, or 0. */
static double
writer_gemini_retry_delay(const json_t *error)
{
	const json_t *detail;
	size_t i;

	json_array_foreach(json_object_get(error, "details"), i, detail) {
		const char *type = json_string_value(json_object_get(detail, "@type"));
		double d;

		if (type != NULL && g_str_has_suffix(type, "google.rpc.RetryInfo") &&
		    (d = writer_gemini_duration(json_string_value(json_object_get(detail, "retryDelay")))) >= 0)
			return d;
	}
	return 0;
}

static void
writer_gemini_http_error(long status, json_t *root, struct pipeline_error *err)
{
	const json_t *error = json_object_get(root, "error");
	const char *message = json_string_value(json_object_get(error, "message"));
	const char *code = json_string_value(json_object_get(error, "status"));
	gboolean permanent = status >= 400 && status < 500 && status != 408 && status != 429;

	pipeline_error_set(err, permanent, "Gemini answered %ld%s%s%s%s", status,
	    code != NULL ? " " : "", code != NULL ? code : "",
	    message != NULL ? ": " : "", message != NULL ? message : "");
	if (status == 429)
		err->retry_after = writer_gemini_retry_delay(error);
}

struct script *
writer_gemini_parse(long status, const char *body, gsize len, struct pipeline_error *err)
{
	json_t *root = NULL, *script_json = NULL;
	const json_t *candidate, *part;
	const char *finish, *block;
	struct script *script = NULL;
	GString *text = NULL;
	char *cause = NULL;
	size_t i;

	if (status == 0) {
		pipeline_error_set(err, FALSE, "Gemini could not be reached: %s", body != NULL ? body : "");
		return NULL;
	}
	root = json_loadb(body != NULL ? body : "", len, 0, NULL);
	if (status != 200) {
		writer_gemini_http_error(status, root, err);
		goto out;
	}
	if (root == NULL) {
		pipeline_error_set(err, FALSE, "Gemini's answer is not JSON");
		goto out;
	}
	block = json_string_value(json_object_get(json_object_get(root, "promptFeedback"), "blockReason"));
	if (block != NULL) {
		pipeline_error_set(err, TRUE, "Gemini refused the document (blockReason %s)", block);
		goto out;
	}
	candidate = json_array_get(json_object_get(root, "candidates"), 0);
	if (candidate == NULL) {
		pipeline_error_set(err, FALSE, "Gemini returned no candidates");
		goto out;
	}
	finish = json_string_value(json_object_get(candidate, "finishReason"));
	text = g_string_new(NULL);
	json_array_foreach(json_object_get(json_object_get(candidate, "content"), "parts"), i, part) {
		if (json_is_true(json_object_get(part, "thought")))
			continue;   /* a thought summary, not the answer */
		if (json_is_string(json_object_get(part, "text")))
			g_string_append(text, json_string_value(json_object_get(part, "text")));
	}
	if (finish != NULL && strcmp(finish, "STOP") != 0 && strcmp(finish, "MAX_TOKENS") != 0) {
		pipeline_error_set(err, TRUE, "Gemini stopped writing (finishReason %s)", finish);
		goto out;
	}
	if (text->len == 0 || (finish != NULL && strcmp(finish, "MAX_TOKENS") == 0)) {
		if (finish != NULL && strcmp(finish, "MAX_TOKENS") == 0)
			pipeline_error_set(err, TRUE, "Gemini ran out of output tokens before finishing the script");
		else
			pipeline_error_set(err, FALSE, "Gemini returned no text");
		goto out;
	}
	if ((script_json = json_loadb(text->str, text->len, 0, NULL)) == NULL) {
		pipeline_error_set(err, FALSE, "Gemini's script is not valid JSON");
		goto out;
	}
	if ((script = writer_script_from_json(script_json, &cause)) == NULL)
		pipeline_error_set(err, TRUE, "%s", cause);
out:
	g_free(cause);
	if (text != NULL)
		g_string_free(text, TRUE);
	json_decref(script_json);
	json_decref(root);
	return script;
}

struct script *
writer_gemini_write(const struct config *cfg, const char *document, const char *requirements,
    const struct listener_options *opts, struct pipeline_error *err)
{
	json_t *request = writer_gemini_request(cfg->gemini_model, document, requirements, opts);
	char *body = json_dumps(request, JSON_COMPACT);
	char *base = g_strdup(cfg->gemini_api_url);
	char *url, *key, *cause = NULL;
	const char *headers[3];
	struct http_request rq = { 0 };
	struct http_response resp = { 0 };
	struct script *script;

	while (g_str_has_suffix(base, "/"))
		base[strlen(base) - 1] = '\0';
	url = g_strdup_printf("%s/v1beta/models/%s:generateContent", base, cfg->gemini_model);
	key = g_strdup_printf("x-goog-api-key: %s", cfg->google_api_key != NULL ? cfg->google_api_key : "");
	headers[0] = "Content-Type: application/json";
	headers[1] = key;
	headers[2] = NULL;
	rq.method = "POST";
	rq.url = url;
	rq.headers = headers;
	rq.body = body;
	rq.body_len = strlen(body);
	rq.timeout_s = cfg->provider_timeout;
	if (http_request(&rq, &resp, &cause) != 0) {
		script = writer_gemini_parse(0, cause, strlen(cause), err);
	} else {
		log_info("gemini %s: %ld (%u bytes)", cfg->gemini_model, resp.status, resp.body->len);
		script = writer_gemini_parse(resp.status, (const char *)resp.body->data, resp.body->len, err);
	}
	http_response_clear(&resp);
	g_free(cause);
	g_free(key);
	g_free(url);
	g_free(base);
	free(body);
	json_decref(request);
	return script;
}
