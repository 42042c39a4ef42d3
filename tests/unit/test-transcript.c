/* The timed transcript and chapters (jobs/pipeline/transcript.h): WebVTT
 * timestamps and escaping, the file's exact shape, chapters from topics,
 * topics through the script's JSON, and the mix's voiced spans landing on
 * the same samples after an MP3 encode and a gapless decode. */
#include "autoconfig.h"

#include <math.h>
#include <string.h>

#include <glib.h>
#include <jansson.h>

#include "audio.h"
#include "extract.h"
#include "script.h"
#include "transcript.h"
#include "voice.h"
#include "writer.h"

static void
test_time(void)
{
	static const struct {
		double seconds;
		const char *want;
	} cases[] = {
		{ 0, "00:00:00.000" }, { 0.0004, "00:00:00.000" }, { 0.0006, "00:00:00.001" },
		{ 1.2344, "00:00:01.234" }, { 1.2346, "00:00:01.235" }, { 59.9996, "00:01:00.000" },
		{ 61.5, "00:01:01.500" }, { 3599.999, "00:59:59.999" }, { 3600, "01:00:00.000" },
		{ 36061.007, "10:01:01.007" }, { 360000.25, "100:00:00.250" }, { -3, "00:00:00.000" },
		{ NAN, "00:00:00.000" },
	};
	char out[TRANSCRIPT_TIME_MAX];

	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		transcript_time(cases[i].seconds, out);
		g_assert_cmpstr(out, ==, cases[i].want);
	}
}

static void
test_escape(void)
{
	char *e = transcript_escape("Fish & chips <b>bold</b> --> next\r\nline\tend");

	g_assert_cmpstr(e, ==, "Fish &amp; chips &lt;b&gt;bold&lt;/b&gt; --&gt; next  line end");
	g_free(e);
	e = transcript_escape("");
	g_assert_cmpstr(e, ==, "");
	g_free(e);
}

static struct script *
sample_script(void)
{
	struct script *s = script_new();

	s->title = g_strdup("Lights & Lenses");
	g_assert_true(script_add_line(s, SCRIPT_DOROTHY, "Welcome <everyone> & hello."));
	g_assert_true(script_add_line_topic(s, "will", "So, the Pharos?", "The Pharos"));
	g_assert_true(script_add_line(s, SCRIPT_DOROTHY, "It stood for\na thousand years."));
	g_assert_true(script_add_line_topic(s, SCRIPT_WILL, "Same topic again.", " The Pharos "));
	g_assert_true(script_add_line_topic(s, SCRIPT_DOROTHY, "Now lenses.", "Fresnel's lens"));
	g_assert_true(script_add_line_topic(s, SCRIPT_WILL, "Bye.", "   "));
	return s;
}

static const struct transcript_cue sample_cues[] = {
	{ 0.0123, 2.5 }, { 2.95, 4.0004 }, { 4.15, 3661.25 }, { 3661.7, 3662 }, { 3662.45, 3663 },
	{ 3663.45, 3663.45 },
};

static void
test_vtt(void)
{
	struct script *s = sample_script();
	const char *const names[2] = { "Ada <A&B>", NULL };
	char *vtt = transcript_vtt(s, sample_cues, names);

	g_assert_cmpstr(vtt, ==,
	    "WEBVTT\n"
	    "\n1\n00:00:00.012 --> 00:00:02.500\n<v Ada &lt;A&amp;B&gt;>Welcome &lt;everyone&gt; &amp; hello.</v>\n"
	    "\n2\n00:00:02.950 --> 00:00:04.000\n<v Will>So, the Pharos?</v>\n"
	    "\n3\n00:00:04.150 --> 01:01:01.250\n<v Ada &lt;A&amp;B&gt;>It stood for a thousand years.</v>\n"
	    "\n4\n01:01:01.700 --> 01:01:02.000\n<v Will>Same topic again.</v>\n"
	    "\n5\n01:01:02.450 --> 01:01:03.000\n<v Ada &lt;A&amp;B&gt;>Now lenses.</v>\n"
	    /* An empty span still gets a millisecond: a cue ends after it starts. */
	    "\n6\n01:01:03.450 --> 01:01:03.451\n<v Will>Bye.</v>\n");
	g_free(vtt);
	/* No names: the roles' own. */
	vtt = transcript_vtt(s, sample_cues, NULL);
	g_assert_nonnull(strstr(vtt, "\n<v Dorothy>Welcome"));
	g_assert_nonnull(strstr(vtt, "\n<v Will>Bye.</v>\n"));
	g_free(vtt);
	script_free(s);
}

static void
test_chapters(void)
{
	struct script *s = sample_script();
	char *text = transcript_chapters(s, sample_cues);

	/* The first line has no topic: the title's chapter at 0; a repeated
	 * topic is no new chapter; a blank topic is none. */
	g_assert_cmpstr(text, ==, "{\"version\":\"1.2.0\",\"chapters\":["
	    "{\"startTime\":0.0,\"title\":\"Lights & Lenses\"},"
	    "{\"startTime\":2.95,\"title\":\"The Pharos\"},"
	    "{\"startTime\":3662.45,\"title\":\"Fresnel's lens\"}]}");
	g_free(text);
	/* A first line with a topic names the first chapter, still at 0. */
	g_free(((struct script_line *)g_ptr_array_index(s->lines, 0))->topic);
	((struct script_line *)g_ptr_array_index(s->lines, 0))->topic = g_strdup("Introduction");
	g_free(s->title);
	s->title = NULL;
	text = transcript_chapters(s, sample_cues);
	g_assert_true(g_str_has_prefix(text, "{\"version\":\"1.2.0\",\"chapters\":["
	    "{\"startTime\":0.0,\"title\":\"Introduction\"},{\"startTime\":2.95,"));
	g_free(text);
	script_free(s);
}

static void
test_topic_json(void)
{
	struct script *s = sample_script(), *back;
	json_t *j = script_to_json(s), *lines = json_object_get(j, "lines");
	char *cause = NULL;

	/* Written out only when set, trimmed. */
	g_assert_null(json_object_get(json_array_get(lines, 0), "topic"));
	g_assert_cmpstr(json_string_value(json_object_get(json_array_get(lines, 1), "topic")), ==,
	    "The Pharos");
	g_assert_cmpstr(json_string_value(json_object_get(json_array_get(lines, 3), "topic")), ==,
	    "The Pharos");
	g_assert_null(json_object_get(json_array_get(lines, 5), "topic"));
	/* null and non-strings read as no topic. */
	json_object_set_new(json_array_get(lines, 0), "topic", json_null());
	json_object_set_new(json_array_get(lines, 2), "topic", json_integer(3));
	back = script_from_json(j, &cause);
	g_assert_nonnull(back);
	g_assert_cmpuint(back->lines->len, ==, 6);
	g_assert_null(((struct script_line *)g_ptr_array_index(back->lines, 0))->topic);
	g_assert_null(((struct script_line *)g_ptr_array_index(back->lines, 2))->topic);
	g_assert_cmpstr(((struct script_line *)g_ptr_array_index(back->lines, 4))->topic, ==,
	    "Fresnel's lens");
	json_decref(j);
	script_free(s);
	script_free(back);
}

/* The builtin writer's topics for the text of tests/data/NAME. */
static GPtrArray *
builtin_topics(const char *name)
{
	struct pipeline_error err = { 0 };
	char *path = g_build_filename(PP_TEST_DATA, name, NULL), *data = NULL, *text;
	gsize len = 0;
	struct script *s;
	GPtrArray *topics = g_ptr_array_new_with_free_func(g_free);

	g_assert_true(g_file_get_contents(path, &data, &len, NULL));
	text = extract_text(data, len, name, 40000, &err);
	g_assert_nonnull(text);
	s = writer_builtin_write(NULL, text, NULL, NULL, &err);
	g_assert_nonnull(s);
	for (guint i = 0; i < s->lines->len; i++) {
		const struct script_line *line = g_ptr_array_index(s->lines, i);

		if (line->topic != NULL)
			g_ptr_array_add(topics, g_strdup_printf("%u:%s", i, line->topic));
	}
	script_free(s);
	g_free(text);
	g_free(data);
	g_free(path);
	return topics;
}

static void
test_builtin_topics(void)
{
	GPtrArray *t = builtin_topics("notes.md");
	gboolean heading = FALSE;

	/* The welcome, the document's headings the picks move under (never its
	 * title line), the close. */
	g_assert_cmpuint(t->len, >=, 3);
	g_assert_cmpstr(g_ptr_array_index(t, 0), ==, "0:Introduction");
	g_assert_true(g_str_has_suffix(g_ptr_array_index(t, t->len - 1), ":Wrapping up"));
	for (guint i = 1; i + 1 < t->len; i++) {
		const char *topic = strchr(g_ptr_array_index(t, i), ':') + 1;

		g_assert_true(strcmp(topic, "Fire, Coal and Candles") == 0 ||
		    strcmp(topic, "The Problem of Direction") == 0);
		heading = TRUE;
	}
	g_assert_true(heading);
	g_ptr_array_unref(t);
}

/* A clip of SECONDS at RATE: LEAD and TAIL seconds of near-silence (below
 * AUDIO_VOICED_LEVEL) around a 300 Hz tone. */
static GBytes *
burst_wav(int rate, double lead, double seconds, double tail)
{
	gsize n = (gsize)(rate * (lead + seconds + tail)), a = (gsize)(rate * lead), b = a + (gsize)(rate * seconds);
	gint16 *pcm = g_new(gint16, n);
	GBytes *wav;

	for (gsize i = 0; i < n; i++) {
		double t = (double)i / rate;

		pcm[i] = (gint16)(i >= a && i < b ? 12000 * sin(2 * G_PI * 300 * t) : 60 * sin(2 * G_PI * 50 * t));
	}
	wav = voice_wav_new(pcm, n, rate);
	g_free(pcm);
	return wav;
}

/* First and one-past-last sample at or above the voiced level in PCM[from, to). */
static void
decoded_span(const GArray *pcm, gsize from, gsize to, gsize *first, gsize *end)
{
	const gint16 *p = (const gint16 *)(void *)pcm->data;
	gsize a = from, b = MIN(to, pcm->len);

	while (a < b && ABS((int)p[a]) < AUDIO_VOICED_LEVEL)
		a++;
	while (b > a && ABS((int)p[b - 1]) < AUDIO_VOICED_LEVEL)
		b--;
	*first = a;
	*end = b;
}

static void
test_voiced_spans_survive_encoding(void)
{
	struct audio_mix *mix = audio_mix_new();
	/* 22.05 kHz is resampled; 44.1 kHz goes in as it is. */
	GBytes *clips[] = { burst_wav(22050, 0.2, 1.0, 0.3), burst_wav(AUDIO_RATE, 0.05, 0.7, 0.1),
	    burst_wav(22050, 0.0, 0.5, 0.0), burst_wav(AUDIO_RATE, 0.5, 0, 0.5) };
	double want[][2] = { { 0.2, 1.2 }, { 0.05, 0.75 }, { 0, 0.5 } };
	gsize spans[G_N_ELEMENTS(clips)][2];
	char *cause = NULL;
	GBytes *mp3;
	GArray *pcm;
	int rate = 0;

	for (gsize i = 0; i < G_N_ELEMENTS(clips); i++) {
		gsize from = audio_mix_samples(mix);
		gboolean voiced;

		g_assert_cmpint(audio_mix_add(mix, clips[i], &cause), ==, 0);
		voiced = audio_mix_voiced(mix, from, &spans[i][0], &spans[i][1]);
		if (i < 3) {
			g_assert_true(voiced);
			/* Within 2 samples of where the tone starts and stops in the clip. */
			g_assert_cmpfloat(fabs((double)(spans[i][0] - from) / AUDIO_RATE - want[i][0]), <, 0.001);
			g_assert_cmpfloat(fabs((double)(spans[i][1] - from) / AUDIO_RATE - want[i][1]), <, 0.001);
		} else {
			/* No voice at all: the whole clip. */
			g_assert_false(voiced);
			g_assert_cmpuint(spans[i][0], ==, from);
			g_assert_cmpuint(spans[i][1], ==, audio_mix_samples(mix));
		}
		audio_mix_pause(mix, i % 2 == 0 ? AUDIO_PAUSE_SPEAKER_MS : AUDIO_PAUSE_SAME_MS);
	}
	mp3 = audio_mix_encode(mix, &cause);
	g_assert_nonnull(mp3);
	pcm = audio_decode(mp3, &rate, &cause);
	g_assert_nonnull(pcm);
	g_assert_cmpint(rate, ==, AUDIO_RATE);
	/* The encoder's delay and padding are gone: same length, sample for sample. */
	g_assert_cmpuint(pcm->len, ==, audio_mix_samples(mix));
	for (gsize i = 0; i < 3; i++) {
		gsize a, b;

		/* Searched from 0.1 s before the span to 0.1 s after it (the
		 * pauses around it are silent). MP3's pre-echo and ringing move an
		 * edge by a few milliseconds at most. */
		decoded_span(pcm, spans[i][0] - MIN(spans[i][0], AUDIO_RATE / 10), spans[i][1] + AUDIO_RATE / 10, &a, &b);
		g_assert_cmpfloat(fabs((double)a - (double)spans[i][0]) / AUDIO_RATE, <, 0.005);
		g_assert_cmpfloat(fabs((double)b - (double)spans[i][1]) / AUDIO_RATE, <, 0.005);
	}
	g_array_free(pcm, TRUE);
	g_bytes_unref(mp3);
	for (gsize i = 0; i < G_N_ELEMENTS(clips); i++)
		g_bytes_unref(clips[i]);
	audio_mix_free(mix);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/transcript/time", test_time);
	g_test_add_func("/transcript/escape", test_escape);
	g_test_add_func("/transcript/vtt", test_vtt);
	g_test_add_func("/transcript/chapters", test_chapters);
	g_test_add_func("/transcript/topic-json", test_topic_json);
	g_test_add_func("/transcript/builtin-topics", test_builtin_topics);
	g_test_add_func("/transcript/voiced-spans-survive-encoding", test_voiced_spans_survive_encoding);
	return g_test_run();
}
