/* Mixing and offline voicing: decoding WAV and MP3, resampling, pauses,
 * LAME encoding that decodes back to the same length, espeak-ng's two
 * voices, and the line cache sparing a second synthesis. */
#include "autoconfig.h"

#include <math.h>
#include <string.h>

#include <glib.h>

#include "audio.h"
#include "config.h"
#include "script.h"
#include "voice.h"

static GBytes *
sine_wav(int rate, double seconds)
{
	gsize n = (gsize)(rate * seconds);
	gint16 *pcm = g_new(gint16, n);
	GBytes *wav;

	for (gsize i = 0; i < n; i++)
		pcm[i] = (gint16)(8000 * sin(2 * G_PI * 440 * (double)i / rate));
	wav = voice_wav_new(pcm, n, rate);
	g_free(pcm);
	return wav;
}

static void
test_mix_and_encode(void)
{
	struct audio_mix *mix = audio_mix_new(), *back = audio_mix_new();
	GBytes *a = sine_wav(22050, 1.0), *b = sine_wav(AUDIO_RATE, 0.5), *mp3;
	char *cause = NULL;
	double seconds;

	g_assert_cmpint(audio_mix_add(mix, a, &cause), ==, 0);
	g_assert_cmpuint(audio_mix_samples(mix), ==, AUDIO_RATE);   /* 22.05 kHz doubled */
	audio_mix_pause(mix, AUDIO_PAUSE_SPEAKER_MS);
	g_assert_cmpuint(audio_mix_samples(mix), ==, AUDIO_RATE + AUDIO_RATE * AUDIO_PAUSE_SPEAKER_MS / 1000);
	g_assert_cmpint(audio_mix_add(mix, b, &cause), ==, 0);
	seconds = audio_mix_seconds(mix);
	g_assert_cmpfloat_with_epsilon(seconds, 1.0 + AUDIO_PAUSE_SPEAKER_MS / 1000.0 + 0.5, 1e-4);

	mp3 = audio_mix_encode(mix, &cause);
	g_assert_nonnull(mp3);
	g_assert_cmpuint(g_bytes_get_size(mp3), >, 10000);
	/* The LAME tag lets the decoder give back exactly what went in. */
	g_assert_cmpfloat_with_epsilon(audio_mp3_seconds(g_bytes_get_data(mp3, NULL),
	    g_bytes_get_size(mp3), &cause), seconds, seconds * 0.01);
	/* And an MP3 clip mixes like any other. */
	g_assert_cmpint(audio_mix_add(back, mp3, &cause), ==, 0);
	g_assert_cmpfloat_with_epsilon(audio_mix_seconds(back), seconds, seconds * 0.01);

	audio_mix_free(mix);
	audio_mix_free(back);
	audio_mix_free(NULL);
	g_bytes_unref(a);
	g_bytes_unref(b);
	g_bytes_unref(mp3);
}

static void
test_bad_clip(void)
{
	struct audio_mix *mix = audio_mix_new();
	GBytes *junk = g_bytes_new_static("this is not audio at all, not even close", 41);
	char *cause = NULL;

	g_assert_cmpint(audio_mix_add(mix, junk, &cause), ==, -1);
	g_assert_nonnull(cause);
	g_free(cause);
	g_bytes_unref(junk);
	audio_mix_free(mix);
}

struct mem_cache {
	GHashTable *store;
	int gets, hits, puts;
};

static int
mem_get(void *data, const char *key, GBytes **out, char **cause)
{
	struct mem_cache *c = data;
	GBytes *b = g_hash_table_lookup(c->store, key);

	c->gets++;
	if (b == NULL)
		return 0;
	c->hits++;
	*out = g_bytes_ref(b);
	return 1;
}

static int
mem_put(void *data, const char *key, GBytes *bytes, const char *type, char **cause)
{
	struct mem_cache *c = data;

	g_assert_true(strcmp(type, "audio/wav") == 0);
	c->puts++;
	g_hash_table_replace(c->store, g_strdup(key), g_bytes_ref(bytes));
	return 0;
}

static gboolean
count_ready(guint done, guint total, void *data)
{
	guint *last = data;

	g_assert_cmpuint(done, >, *last);   /* progress only moves forward */
	g_assert_cmpuint(done, <=, total);
	*last = done;
	return TRUE;
}

static void
test_espeak_and_cache(void)
{
	struct config cfg = { 0 };
	struct mem_cache mc = { 0 };
	struct line_cache cache = { mem_get, mem_put, &mc };
	guint last = 0;
	struct voice_observer obs = { count_ready, NULL, &last };
	struct script *s = script_new();
	struct pipeline_error err = { 0 };
	GPtrArray *clips = NULL, *again = NULL;
	char *k1, *k2;

	cfg.espeak_voice_dorothy = (char *)"en-us+f3";
	cfg.espeak_voice_will = (char *)"en-gb+m3";
	mc.store = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify)g_bytes_unref);
	script_add_line(s, "Dorothy", "The same words.");
	script_add_line(s, "Will", "The same words.");
	script_add_line(s, "Dorothy", "Something else entirely.");

	g_assert_cmpstr(voice_provider(&cfg), ==, "espeak");
	if (voice_script(&cfg, NULL, s, &cache, &obs, &clips, &err) != 0)
		g_error("voicing failed: %s", err.message);
	g_assert_cmpuint(clips->len, ==, 3);
	g_assert_cmpuint(last, ==, 3);
	g_assert_cmpint(mc.puts, ==, 3);
	/* Two hosts, two voices: the same text sounds different. */
	g_assert_false(g_bytes_equal(g_ptr_array_index(clips, 0), g_ptr_array_index(clips, 1)));
	g_assert_cmpuint(g_bytes_get_size(g_ptr_array_index(clips, 0)), >, 10000);

	last = 0;
	g_assert_cmpint(voice_script(&cfg, NULL, s, &cache, &obs, &again, &err), ==, 0);
	g_assert_cmpint(mc.puts, ==, 3);    /* nothing synthesised twice */
	g_assert_cmpint(mc.hits, ==, 3);
	g_assert_true(g_bytes_equal(g_ptr_array_index(clips, 2), g_ptr_array_index(again, 2)));

	k1 = voice_cache_key("espeak", "en-us+f3", "espeak-ng", "x");
	k2 = voice_cache_key("espeak", "en-us+f", "3espeak-ng", "x");
	g_assert_cmpstr(k1, !=, k2);
	g_assert_true(g_str_has_prefix(k1, "cache/voice/") && g_str_has_suffix(k1, ".wav"));
	g_free(k1);
	g_free(k2);

	cfg.espeak_voice_will = (char *)"no-such-voice-xx";
	script_add_line(s, "Will", "A new line for a missing voice.");
	g_assert_cmpint(voice_script(&cfg, NULL, s, NULL, NULL, &clips, &err), ==, -1);
	g_assert_true(err.permanent);
	g_assert_nonnull(strstr(err.message, "no-such-voice-xx"));
	pipeline_error_clear(&err);

	g_ptr_array_unref(clips);
	g_ptr_array_unref(again);
	g_hash_table_unref(mc.store);
	script_free(s);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/audio/mix-and-encode", test_mix_and_encode);
	g_test_add_func("/audio/bad-clip", test_bad_clip);
	g_test_add_func("/audio/espeak-and-cache", test_espeak_and_cache);
	return g_test_run();
}
