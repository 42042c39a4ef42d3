#include "autoconfig.h"

#include <string.h>

#include "config.h"
#include "log.h"
#include "voice.h"

struct voice_state {
	const struct voice_provider *provider;
	const struct line_cache *cache;
	const struct voice_observer *obs;
	GPtrArray *clips;
	guint done;
};

char *
voice_cache_key(const char *provider, const char *voice, const char *model, const char *text)
{
	const struct voice_provider *v = voice_find(provider);
	GChecksum *sum = g_checksum_new(G_CHECKSUM_SHA256);
	char *key;

	/* NUL separators: no two different tuples hash the same input. */
	g_checksum_update(sum, (const guchar *)provider, (gssize)strlen(provider) + 1);
	g_checksum_update(sum, (const guchar *)voice, (gssize)strlen(voice) + 1);
	g_checksum_update(sum, (const guchar *)model, (gssize)strlen(model) + 1);
	g_checksum_update(sum, (const guchar *)text, (gssize)strlen(text));
	key = g_strdup_printf("cache/voice/%s.%s", g_checksum_get_string(sum),
	    v != NULL ? v->extension : "bin");
	g_checksum_free(sum);
	return key;
}

/* The voice of SPEAKER's role: the listener's host voice, else (espeak-ng)
 * the listener's language's voice, else the configured one. */
static const char *
voice_of(const struct config *cfg, const struct voice_provider *v,
    const struct listener_options *opts, const char *speaker)
{
	int role = strcmp(speaker, SCRIPT_DOROTHY) == 0 ? 0 : 1;
	const char *voice = listener_host_voice(opts, role);

	if (voice == NULL && strcmp(v->name, "espeak") == 0)
		voice = listener_espeak_voice(opts, role);
	return voice != NULL ? voice : v->voice(cfg, speaker);
}

char *
voice_line_key(const struct config *cfg, const struct listener_options *opts,
    const struct script_line *line)
{
	const struct voice_provider *v = voice_for(cfg);

	return voice_cache_key(v->name, voice_of(cfg, v, opts, line->speaker), v->model(cfg), line->text);
}

static void
voice_request_free(gpointer p)
{
	struct voice_request *req = p;

	g_free(req->key);
	g_free(req->request_id);
	if (req->audio != NULL)
		g_bytes_unref(req->audio);
	g_free(req);
}

static gboolean
voice_line_done(struct voice_request *req, void *data)
{
	struct voice_state *st = data;
	char *cause = NULL;
	if (st->cache != NULL &&
	    st->cache->put(st->cache->data, req->key, req->audio, st->provider->content_type, &cause) != 0) {
		/* The audio is still good for this run; only a retry loses it. */
		log_warn("voice: caching line %u failed: %s", req->index, cause);
		g_free(cause);
	}
	g_ptr_array_index(st->clips, req->index) = g_bytes_ref(req->audio);
	st->done++;
	if (st->obs != NULL && st->obs->line_ready != NULL)
		return st->obs->line_ready(st->done, st->clips->len, st->obs->data);
	return TRUE;
}

static gboolean
voice_line_start(struct voice_request *req, void *data)
{
	struct voice_state *st = data;

	if (st->obs != NULL && st->obs->line_start != NULL)
		return st->obs->line_start(req->index, st->obs->data);
	return TRUE;
}

static gboolean
voice_tick(void *data)
{
	struct voice_state *st = data;

	if (st->obs != NULL && st->obs->tick != NULL)
		return st->obs->tick(st->obs->data);
	return TRUE;
}

int
voice_script(const struct config *cfg, const struct listener_options *opts,
    const struct script *script, const struct line_cache *cache,
    const struct voice_observer *obs, GPtrArray **clips, struct pipeline_error *err)
{
	struct voice_state st = { 0 };
	const char *model;
	GPtrArray *reqs = g_ptr_array_new_with_free_func(voice_request_free);
	guint cached = 0;
	int rc = -1;

	st.provider = voice_for(cfg);
	st.cache = cache;
	st.obs = obs;
	st.clips = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
	g_ptr_array_set_size(st.clips, script->lines->len);
	model = st.provider->model(cfg);

	for (guint i = 0; i < script->lines->len; i++) {
		const struct script_line *line = g_ptr_array_index(script->lines, i);
		struct voice_request *req = g_new0(struct voice_request, 1);
		GBytes *hit = NULL;
		char *cause = NULL;
		int found = 0;

		req->index = i;
		req->speaker = line->speaker;
		req->text = line->text;
		req->voice = voice_of(cfg, st.provider, opts, line->speaker);
		req->key = voice_cache_key(st.provider->name, req->voice, model, req->text);
		if (cache != NULL && (found = cache->get(cache->data, req->key, &hit, &cause)) < 0) {
			pipeline_error_set(err, FALSE, "Reading the voice cache failed: %s", cause);
			g_free(cause);
			voice_request_free(req);
			goto out;
		}
		if (found == 1 && hit != NULL && g_bytes_get_size(hit) > 0) {
			g_ptr_array_index(st.clips, i) = hit;
			voice_request_free(req);
			cached++;
			st.done++;
			if (obs != NULL && obs->line_ready != NULL &&
			    !obs->line_ready(st.done, st.clips->len, obs->data)) {
				pipeline_error_set(err, FALSE, "Voicing was interrupted; finished lines are kept");
				goto out;
			}
			continue;
		}
		if (hit != NULL)
			g_bytes_unref(hit);
		g_ptr_array_add(reqs, req);
	}
	log_info("voice: %s, %u lines, %u from the cache", st.provider->name, st.clips->len, cached);
	if (reqs->len > 0) {
		rc = st.provider->synthesise(cfg, reqs, opts, voice_line_start, voice_line_done, voice_tick,
		    &st, err);
		if (rc != 0)
			goto out;
	}
	for (guint i = 0; i < st.clips->len; i++) {
		if (g_ptr_array_index(st.clips, i) == NULL) {
			pipeline_error_set(err, FALSE, "Line %u has no audio", i + 1);
			rc = -1;
			goto out;
		}
	}
	*clips = g_ptr_array_ref(st.clips);
	rc = 0;
out:
	g_ptr_array_unref(reqs);
	g_ptr_array_unref(st.clips);
	return rc;
}

GBytes *
voice_wav_new(const gint16 *samples, gsize n, int rate)
{
	GByteArray *wav = g_byte_array_sized_new((guint)(44 + n * 2));
	guint32 data_len = (guint32)(n * 2), u32;
	guint16 u16;

#define PUT32(v) (u32 = GUINT32_TO_LE(v), g_byte_array_append(wav, (guint8 *)&u32, 4))
#define PUT16(v) (u16 = GUINT16_TO_LE(v), g_byte_array_append(wav, (guint8 *)&u16, 2))
	g_byte_array_append(wav, (const guint8 *)"RIFF", 4);
	PUT32(36 + data_len);
	g_byte_array_append(wav, (const guint8 *)"WAVEfmt ", 8);
	PUT32(16);
	PUT16(1);                      /* PCM */
	PUT16(1);                      /* mono */
	PUT32((guint32)rate);
	PUT32((guint32)rate * 2);      /* bytes a second */
	PUT16(2);                      /* block align */
	PUT16(16);                     /* bits */
	g_byte_array_append(wav, (const guint8 *)"data", 4);
	PUT32(data_len);
#undef PUT32
#undef PUT16
	for (gsize i = 0; i < n; i++) {
		guint16 s = GUINT16_TO_LE((guint16)samples[i]);

		g_byte_array_append(wav, (guint8 *)&s, 2);
	}
	return g_byte_array_free_to_bytes(wav);
}
