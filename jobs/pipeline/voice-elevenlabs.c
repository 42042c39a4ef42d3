/* ElevenLabs text-to-speech with several lines in flight (libcurl multi).
 *
 * Stitching against concurrency: a line is sent with the request-ids of up
 * to three earlier lines of the same host that have finished when it
 * starts. Lines start in script order and a host's lines alternate with
 * the other's, so with four in flight a line usually has its host's lines
 * from two turns back; the latest one may still be running and is then
 * left out. That keeps the voice's prosody continuous where it can without
 * serialising each host's chain (which would halve throughput).
 *
 * A failing line stops new starts; lines already in flight are allowed to
 * finish so that what was paid for reaches the cache. Busy answers (429
 * too_many_concurrent_requests, system_busy) put the line back in the
 * queue with a back-off and one less line in flight; after a few of those
 * the task retries later, not before the delay ElevenLabs named. */
#include "autoconfig.h"

#include <string.h>

#include <curl/curl.h>
#include <jansson.h>

#include "config.h"
#include "log.h"
#include "voice.h"

#define EL_BUSY_ATTEMPTS 4
#define EL_STITCH_MAX 3

struct el_transfer {
	CURL *easy;
	struct voice_request *req;
	GByteArray *body;
	char *payload;
	struct curl_slist *headers;
	char *request_id;
	double retry_after;
	char error[CURL_ERROR_SIZE];
};

struct el_run {
	const struct config *cfg;
	GPtrArray *reqs;
	GQueue queue;              /* of struct voice_request *, script order */
	GHashTable *not_before;    /* req -> gint64 monotonic µs */
	CURLM *multi;
	int active, limit;
	gboolean stop;
	struct pipeline_error *err;
};

gboolean
voice_elevenlabs_error(long status, const char *body, gsize len, struct pipeline_error *err)
{
	json_t *root = json_loadb(body != NULL ? body : "", len, 0, NULL);
	const json_t *detail = json_object_get(root, "detail");
	const char *code = NULL, *message = NULL;
	gboolean again = FALSE, permanent;

	if (json_is_object(detail)) {
		code = json_string_value(json_object_get(detail, "status"));
		message = json_string_value(json_object_get(detail, "message"));
	} else if (json_is_array(detail)) {
		message = json_string_value(json_object_get(json_array_get(detail, 0), "msg"));
	} else if (json_is_string(detail)) {
		message = json_string_value(detail);
	}
	if (status == 0) {
		permanent = FALSE;
	} else if (status == 429) {
		permanent = FALSE;
		again = TRUE;
	} else if (status == 408 || status >= 500) {
		permanent = FALSE;
	} else {
		/* 401 (quota_exceeded, invalid_api_key, ...), 400, 404, 422: the
		 * same request would fail the same way. */
		permanent = TRUE;
	}
	if (status == 0)
		pipeline_error_set(err, FALSE, "ElevenLabs could not be reached: %s", body != NULL ? body : "");
	else
		pipeline_error_set(err, permanent, "ElevenLabs answered %ld%s%s%s%s", status,
		    code != NULL ? " " : "", code != NULL ? code : "",
		    message != NULL ? ": " : "", message != NULL ? message : "");
	json_decref(root);
	return again;
}

static size_t
el_write(char *data, size_t size, size_t n, void *user)
{
	g_byte_array_append(user, (const guint8 *)data, (guint)(size * n));
	return size * n;
}

static size_t
el_header(char *data, size_t size, size_t n, void *user)
{
	struct el_transfer *t = user;
	size_t len = size * n;
	char *line = g_strstrip(g_strndup(data, len));
	char *colon = strchr(line, ':');

	if (colon != NULL) {
		*colon = '\0';
		if (g_ascii_strcasecmp(line, "request-id") == 0) {
			g_free(t->request_id);
			t->request_id = g_strdup(g_strstrip(colon + 1));
		} else if (g_ascii_strcasecmp(line, "retry-after") == 0) {
			t->retry_after = g_ascii_strtod(g_strstrip(colon + 1), NULL);
		}
	}
	g_free(line);
	return len;
}

static void
el_transfer_free(struct el_transfer *t)
{
	if (t == NULL)
		return;
	if (t->easy != NULL)
		curl_easy_cleanup(t->easy);
	curl_slist_free_all(t->headers);
	g_byte_array_unref(t->body);
	g_free(t->payload);
	g_free(t->request_id);
	g_free(t);
}

/* Request-ids of up to three earlier finished lines of the same host. */
static json_t *
el_previous_ids(struct el_run *run, const struct voice_request *req)
{
	json_t *ids = json_array();
	GPtrArray *found = g_ptr_array_new();

	for (guint i = run->reqs->len; i-- > 0 && found->len < EL_STITCH_MAX;) {
		struct voice_request *r = g_ptr_array_index(run->reqs, i);

		if (r->index < req->index && r->speaker == req->speaker && r->request_id != NULL)
			g_ptr_array_add(found, r->request_id);
	}
	for (guint i = found->len; i-- > 0;)   /* oldest first */
		json_array_append_new(ids, json_string(g_ptr_array_index(found, i)));
	g_ptr_array_unref(found);
	return ids;
}

static void
el_start(struct el_run *run, struct voice_request *req)
{
	struct el_transfer *t = g_new0(struct el_transfer, 1);
	char *base = g_strdup(run->cfg->elevenlabs_api_url), *voice, *url, *key;
	json_t *body;

	while (g_str_has_suffix(base, "/"))
		base[strlen(base) - 1] = '\0';
	t->req = req;
	t->body = g_byte_array_new();
	t->easy = curl_easy_init();
	voice = curl_easy_escape(t->easy, req->voice, 0);
	url = g_strdup_printf("%s/v1/text-to-speech/%s?output_format=mp3_44100_128", base, voice);
	body = json_pack("{s:s, s:s, s:{s:f, s:f, s:f, s:b}}", "text", req->text,
	    "model_id", run->cfg->elevenlabs_model, "voice_settings", "stability", 0.5,
	    "similarity_boost", 0.75, "style", 0.0, "use_speaker_boost", 1);
	/* eleven_v3 does not take request stitching. */
	if (!g_str_has_prefix(run->cfg->elevenlabs_model, "eleven_v3")) {
		json_t *ids = el_previous_ids(run, req);

		if (json_array_size(ids) > 0)
			json_object_set(body, "previous_request_ids", ids);
		json_decref(ids);
	}
	t->payload = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	key = g_strdup_printf("xi-api-key: %s", run->cfg->elevenlabs_api_key);
	t->headers = curl_slist_append(t->headers, key);
	t->headers = curl_slist_append(t->headers, "Content-Type: application/json");
	t->headers = curl_slist_append(t->headers, "Accept: audio/mpeg");
	curl_easy_setopt(t->easy, CURLOPT_URL, url);
	curl_easy_setopt(t->easy, CURLOPT_HTTPHEADER, t->headers);
	curl_easy_setopt(t->easy, CURLOPT_POSTFIELDS, t->payload);
	curl_easy_setopt(t->easy, CURLOPT_WRITEFUNCTION, el_write);
	curl_easy_setopt(t->easy, CURLOPT_WRITEDATA, t->body);
	curl_easy_setopt(t->easy, CURLOPT_HEADERFUNCTION, el_header);
	curl_easy_setopt(t->easy, CURLOPT_HEADERDATA, t);
	curl_easy_setopt(t->easy, CURLOPT_ERRORBUFFER, t->error);
	curl_easy_setopt(t->easy, CURLOPT_TIMEOUT, (long)run->cfg->provider_timeout);
	curl_easy_setopt(t->easy, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(t->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(t->easy, CURLOPT_PRIVATE, t);
	curl_multi_add_handle(run->multi, t->easy);
	run->active++;
	req->attempts++;
	curl_free(voice);
	g_free(key);
	g_free(url);
	g_free(base);
}

static void
el_fail(struct el_run *run, const struct pipeline_error *e)
{
	if (run->err->message == NULL || (!run->err->permanent && e->permanent)) {
		pipeline_error_set(run->err, e->permanent, "%s", e->message);
		run->err->retry_after = e->retry_after;
	}
	run->stop = TRUE;
}

static void
el_finish(struct el_run *run, struct el_transfer *t, CURLcode result, voice_done_fn done, void *data)
{
	struct voice_request *req = t->req;
	struct pipeline_error e = { 0 };
	long status = 0;

	if (result == CURLE_OK)
		curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
	if (result == CURLE_OK && status == 200) {
		char *type = NULL;

		curl_easy_getinfo(t->easy, CURLINFO_CONTENT_TYPE, &type);
		/* Only audio goes to the cache: anything else would be kept and
		 * fail every later mix. */
		if (t->body->len == 0 || (type != NULL && !g_str_has_prefix(type, "audio/"))) {
			pipeline_error_set(&e, FALSE, "ElevenLabs returned no audio (%s)",
			    type != NULL ? type : "no type");
			el_fail(run, &e);
			goto out;
		}
		req->audio = g_bytes_new(t->body->data, t->body->len);
		g_free(req->request_id);
		req->request_id = g_steal_pointer(&t->request_id);
		if (!done(req, data)) {
			e.message = g_strdup("Voicing was interrupted; finished lines are kept");
			el_fail(run, &e);
		}
		goto out;
	}
	if (result != CURLE_OK) {
		pipeline_error_set(&e, FALSE, "ElevenLabs could not be reached: %s",
		    t->error[0] != '\0' ? t->error : curl_easy_strerror(result));
		el_fail(run, &e);
		goto out;
	}
	if (voice_elevenlabs_error(status, (const char *)t->body->data, t->body->len, &e) &&
	    req->attempts < EL_BUSY_ATTEMPTS && !run->stop) {
		double delay = MAX(t->retry_after, (double)(1 << req->attempts) * 0.5);

		/* Busy: fewer in flight, this line again after a pause. */
		run->limit = MAX(1, run->limit - 1);
		g_hash_table_insert(run->not_before, req,
		    g_memdup2(&(gint64){ g_get_monotonic_time() + (gint64)(delay * G_USEC_PER_SEC) }, sizeof(gint64)));
		g_queue_push_head(&run->queue, req);
		log_warn("elevenlabs: line %u: %s; again in %.1f s with %d in flight", req->index + 1,
		    e.message, delay, run->limit);
		goto out;
	}
	if (status == 429)
		e.retry_after = MAX(t->retry_after, 10);
	el_fail(run, &e);
out:
	pipeline_error_clear(&e);
}

const char *
voice_elevenlabs_voice(const struct config *cfg, const char *speaker)
{
	return strcmp(speaker, SCRIPT_DOROTHY) == 0 ? cfg->elevenlabs_voice_dorothy : cfg->elevenlabs_voice_will;
}

const char *
voice_elevenlabs_model(const struct config *cfg)
{
	return cfg->elevenlabs_model;
}

int
voice_elevenlabs_synthesise(const struct config *cfg, GPtrArray *reqs,
    const struct listener_options *opts, voice_start_fn start, voice_done_fn done,
    voice_tick_fn tick, void *data, struct pipeline_error *err)
{
	struct el_run run = { 0 };
	gint64 last_tick = g_get_monotonic_time();

	(void)opts;

	run.cfg = cfg;
	run.reqs = reqs;
	run.err = err;
	run.limit = MAX(1, cfg->elevenlabs_concurrency);
	run.multi = curl_multi_init();
	run.not_before = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, g_free);
	g_queue_init(&run.queue);
	for (guint i = 0; i < reqs->len; i++)
		g_queue_push_tail(&run.queue, g_ptr_array_index(reqs, i));

	while (run.active > 0 || (!run.stop && !g_queue_is_empty(&run.queue))) {
		gint64 now = g_get_monotonic_time();
		int running = 0, timeout_ms = 500, left, finished = 0;
		CURLMsg *msg;

		while (!run.stop && run.active < run.limit && !g_queue_is_empty(&run.queue)) {
			struct voice_request *req = g_queue_peek_head(&run.queue);
			gint64 *nb = g_hash_table_lookup(run.not_before, req);

			if (nb != NULL && *nb > now) {
				timeout_ms = (int)MIN(timeout_ms, (*nb - now) / 1000 + 1);
				break;
			}
			if (!start(req, data)) {
				struct pipeline_error e = { .message = g_strdup(
				    "Voicing was interrupted; finished lines are kept") };

				el_fail(&run, &e);
				pipeline_error_clear(&e);
				break;
			}
			g_queue_pop_head(&run.queue);
			el_start(&run, req);
		}
		curl_multi_perform(run.multi, &running);
		while ((msg = curl_multi_info_read(run.multi, &left)) != NULL) {
			struct el_transfer *t = NULL;

			if (msg->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&t);
			curl_multi_remove_handle(run.multi, msg->easy_handle);
			run.active--;
			el_finish(&run, t, msg->data.result, done, data);
			el_transfer_free(t);
			finished++;
		}
		if (run.active == 0 && (run.stop || g_queue_is_empty(&run.queue)))
			break;
		if (g_get_monotonic_time() - last_tick >= G_USEC_PER_SEC) {
			last_tick = g_get_monotonic_time();
			if (tick != NULL && !run.stop && !tick(data)) {
				struct pipeline_error e = { .message = g_strdup(
				    "Voicing was interrupted; finished lines are kept") };

				el_fail(&run, &e);
				pipeline_error_clear(&e);
			}
		}
		/* A finished line frees a slot: start the next one now, not
		 * after the poll times out. */
		if (finished == 0)
			curl_multi_poll(run.multi, NULL, 0, timeout_ms, NULL);
	}
	g_queue_clear(&run.queue);
	g_hash_table_unref(run.not_before);
	curl_multi_cleanup(run.multi);
	return err->message != NULL ? -1 : 0;
}
