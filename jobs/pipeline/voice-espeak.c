/* Offline speech with libespeak-ng. The library keeps global state and is
 * not thread-safe: one synthesis at a time per process, behind a mutex
 * (worker children are separate processes, so they do not wait on each
 * other). It is initialised once, on first use, in the process that uses it. */
#include "autoconfig.h"

#include <string.h>

#include <espeak-ng/speak_lib.h>

#include "config.h"
#include "log.h"
#include "voice.h"

static GMutex voice_espeak_lock;
static int voice_espeak_rate;   /* 0: not initialised; -1: failed */

static int
voice_espeak_collect(short *wav, int n, espeak_EVENT *events)
{
	GArray *pcm = events != NULL ? events->user_data : NULL;

	if (wav != NULL && n > 0 && pcm != NULL)
		g_array_append_vals(pcm, wav, (guint)n);
	return 0;
}

static int
voice_espeak_init(void)
{
	if (voice_espeak_rate == 0) {
		voice_espeak_rate = espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, 0, NULL,
		    espeakINITIALIZE_DONT_EXIT);
		if (voice_espeak_rate <= 0)
			voice_espeak_rate = -1;
		else
			espeak_SetSynthCallback(voice_espeak_collect);
	}
	return voice_espeak_rate;
}

/* Selects VOICE: a voice name or file ("en-us", "gmw/en"), or a language
 * code ("en-gb"), each optionally with a "+variant". Language codes are
 * looked up, since espeak-ng only takes names and files directly. */
static espeak_ERROR
voice_espeak_select(const char *voice)
{
	espeak_ERROR rc = espeak_SetVoiceByName(voice);
	const char *plus;
	char *lang, *name;
	espeak_VOICE spec = { 0 };
	const espeak_VOICE **found;

	if (rc == EE_OK)
		return rc;
	plus = strchr(voice, '+');
	lang = plus != NULL ? g_strndup(voice, (gsize)(plus - voice)) : g_strdup(voice);
	spec.languages = lang;
	found = espeak_ListVoices(&spec);
	/* ListVoices ranks voices by closeness and may offer unrelated ones;
	 * languages is (priority byte, name) pairs. */
	if (found != NULL && found[0] != NULL && found[0]->identifier != NULL &&
	    found[0]->languages != NULL && g_ascii_strcasecmp(found[0]->languages + 1, lang) == 0) {
		name = g_strconcat(found[0]->identifier, plus != NULL ? plus : "", NULL);
		rc = espeak_SetVoiceByName(name);
		g_free(name);
	}
	g_free(lang);
	return rc;
}

/* One line to a WAV clip, or NULL and *err. Called with the lock held. */
static GBytes *
voice_espeak_line(const char *voice, const char *text, int rate, struct pipeline_error *err)
{
	GArray *pcm = g_array_new(FALSE, FALSE, sizeof(gint16));
	GBytes *wav = NULL;
	espeak_ERROR rc;

	if ((rc = voice_espeak_select(voice)) != EE_OK) {
		pipeline_error_set(err, TRUE, "espeak-ng has no voice \"%s\"", voice);
		goto out;
	}
	rc = espeak_Synth(text, strlen(text) + 1, 0, POS_CHARACTER, 0, espeakCHARS_UTF8, NULL, pcm);
	if (rc == EE_OK)
		rc = espeak_Synchronize();
	if (rc != EE_OK || pcm->len == 0) {
		pipeline_error_set(err, FALSE, "espeak-ng could not synthesise a line (error %d)", (int)rc);
		goto out;
	}
	wav = voice_wav_new((const gint16 *)(void *)pcm->data, pcm->len, rate);
out:
	g_array_free(pcm, TRUE);
	return wav;
}

const char *
voice_espeak_voice(const struct config *cfg, const char *speaker)
{
	return strcmp(speaker, SCRIPT_DOROTHY) == 0 ? cfg->espeak_voice_dorothy : cfg->espeak_voice_will;
}

const char *
voice_espeak_model(const struct config *cfg)
{
	(void)cfg;
	return "espeak-ng";
}

int
voice_espeak_synthesise(const struct config *cfg, GPtrArray *reqs,
    const struct listener_options *opts, voice_start_fn start, voice_done_fn done,
    voice_tick_fn tick, void *data, struct pipeline_error *err)
{
	int rate, rc = -1;

	g_mutex_lock(&voice_espeak_lock);
	if ((rate = voice_espeak_init()) < 0) {
		pipeline_error_set(err, TRUE, "espeak-ng could not start (is espeak-ng-data installed?)");
		goto out;
	}
	for (guint i = 0; i < reqs->len; i++) {
		struct voice_request *req = g_ptr_array_index(reqs, i);

		if ((tick != NULL && !tick(data)) || !start(req, data)) {
			pipeline_error_set(err, FALSE, "Voicing was interrupted; finished lines are kept");
			goto out;
		}
		if ((req->audio = voice_espeak_line(req->voice, req->text, rate, err)) == NULL)
			goto out;
		if (!done(req, data)) {
			pipeline_error_set(err, FALSE, "Voicing was interrupted; finished lines are kept");
			goto out;
		}
	}
	rc = 0;
out:
	g_mutex_unlock(&voice_espeak_lock);
	(void)cfg;
	(void)opts;
	return rc;
}
