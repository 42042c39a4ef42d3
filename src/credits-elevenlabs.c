/* ElevenLabs' credits: GET /v1/user/subscription, cached. The elevenlabs
 * voice provider's credits check (src/providers.c's row), kept in src/ so
 * the responder calls it without linking the pipeline (providers.h). */
#include "autoconfig.h"

#include <string.h>

#include "config.h"
#include "credits.h"
#include "http.h"
#include "log.h"

/* The credits check sits in the path of POST /podcasts/: it must not hang
 * a request for PROVIDER_TIMEOUT. */
#define CREDITS_TIMEOUT_S 10

static GMutex credits_lock;
static struct credits_info credits_cached;
static char *credits_cached_for;      /* URL + key digest the answer belongs to */
static gint64 credits_cached_at_us;

void
credits_cache_clear(void)
{
	g_mutex_lock(&credits_lock);
	g_clear_pointer(&credits_cached_for, g_free);
	credits_cached_at_us = 0;
	g_mutex_unlock(&credits_lock);
}

static char *
credits_cache_key(const struct config *cfg)
{
	char *digest = g_compute_checksum_for_string(G_CHECKSUM_SHA256, cfg->elevenlabs_api_key, -1);
	char *key = g_strdup_printf("%s %s", cfg->elevenlabs_api_url, digest);

	g_free(digest);
	return key;
}

/* ElevenLabs' error: {"detail":{"status","message"}}, or a 422 list. */
static char *
credits_error_text(const struct http_response *resp)
{
	json_t *doc = json_loads(http_response_text(resp), 0, NULL);
	json_t *detail = json_object_get(doc, "detail");
	char *text;

	if (json_is_object(detail))
		text = g_strdup_printf("HTTP %ld %s: %s", resp->status,
		    json_string_value(json_object_get(detail, "status")) != NULL ?
		    json_string_value(json_object_get(detail, "status")) : "error",
		    json_string_value(json_object_get(detail, "message")) != NULL ?
		    json_string_value(json_object_get(detail, "message")) : "");
	else if (json_is_string(detail))
		text = g_strdup_printf("HTTP %ld: %s", resp->status, json_string_value(detail));
	else
		text = g_strdup_printf("HTTP %ld", resp->status);
	json_decref(doc);
	return text;
}

static int
credits_ask(const struct config *cfg, struct credits_info *out, char **cause)
{
	char *url = NULL, *header = NULL, *text = NULL;
	const char *headers[3] = { NULL, "Accept: application/json", NULL };
	struct http_request rq = { 0 };
	struct http_response resp = { 0 };
	json_t *doc = NULL, *count, *limit;
	const char *status;
	size_t base_len;
	int rc = -1;

	base_len = strlen(cfg->elevenlabs_api_url);
	while (base_len > 0 && cfg->elevenlabs_api_url[base_len - 1] == '/')
		base_len--;
	url = g_strdup_printf("%.*s/v1/user/subscription", (int)base_len, cfg->elevenlabs_api_url);
	header = g_strdup_printf("xi-api-key: %s", cfg->elevenlabs_api_key);
	headers[0] = header;
	rq.url = url;
	rq.headers = headers;
	rq.timeout_s = CREDITS_TIMEOUT_S;
	rq.connect_timeout_s = 5;
	rq.max_response = 1024 * 1024;
	if (http_request(&rq, &resp, cause) != 0)
		goto out;
	if (resp.status != 200) {
		text = credits_error_text(&resp);
		*cause = g_strdup_printf("ElevenLabs subscription: %s", text);
		goto out;
	}
	doc = json_loads(http_response_text(&resp), 0, NULL);
	count = json_object_get(doc, "character_count");
	limit = json_object_get(doc, "character_limit");
	if (!json_is_integer(count) || !json_is_integer(limit)) {
		*cause = g_strdup("ElevenLabs subscription: no character_count or character_limit");
		goto out;
	}
	memset(out, 0, sizeof *out);
	out->character_count = (long)json_integer_value(count);
	out->character_limit = (long)json_integer_value(limit);
	out->characters_available = MAX(0L, out->character_limit - out->character_count);
	status = json_string_value(json_object_get(doc, "status"));
	g_strlcpy(out->status, status != NULL ? status : "active", sizeof out->status);
	rc = 0;
out:
	json_decref(doc);
	http_response_clear(&resp);
	g_free(text);
	if (header != NULL)
		memset(header, 0, strlen(header));
	g_free(header);
	g_free(url);
	return rc;
}

int
credits_elevenlabs(const struct config *cfg, struct credits_info *out, char **cause)
{
	gint64 now = g_get_monotonic_time();
	char *key;
	int rc;

	key = credits_cache_key(cfg);
	g_mutex_lock(&credits_lock);
	if (credits_cached_for != NULL && strcmp(credits_cached_for, key) == 0 &&
	    now - credits_cached_at_us < CREDITS_CACHE_SECONDS * G_USEC_PER_SEC) {
		*out = credits_cached;
		g_mutex_unlock(&credits_lock);
		g_free(key);
		return 0;
	}
	g_mutex_unlock(&credits_lock);
	/* Asked without the lock: a slow ElevenLabs must not hold up threads
	 * that only want the cache; two may ask at once, which is harmless. */
	if ((rc = credits_ask(cfg, out, cause)) == 0) {
		g_mutex_lock(&credits_lock);
		credits_cached = *out;
		g_free(credits_cached_for);
		credits_cached_for = key;
		key = NULL;
		credits_cached_at_us = g_get_monotonic_time();
		g_mutex_unlock(&credits_lock);
	}
	g_free(key);
	return rc;
}
