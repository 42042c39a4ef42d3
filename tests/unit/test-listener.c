/* The listener's options (jobs/pipeline/listener.c): every field valid and
 * refused with FastAPI's location and type, the stored form's round trip,
 * and the language table against the real espeak-ng. */
#include "autoconfig.h"

#include <string.h>

#include <espeak-ng/speak_lib.h>
#include <glib.h>
#include <jansson.h>

#include "extract.h"
#include "listener.h"
#include "writer.h"

static json_t *
body(const char *text)
{
	json_error_t e;
	json_t *j = json_loads(text, 0, &e);

	if (j == NULL)
		g_error("bad test JSON %s: %s", text, e.text);
	return j;
}

/* Parses TEXT for PROVIDER: the options, or NULL with *bad. */
static gboolean
parse(const char *text, const char *provider, struct listener_options *o, struct listener_invalid *bad)
{
	json_t *j = body(text);
	int rc = listener_options_parse(j, provider, o, bad);

	json_decref(j);
	return rc == 0;
}

static void
test_absent_is_nothing(void)
{
	struct listener_options o;
	struct listener_invalid bad;
	json_t *j;

	g_assert_true(parse("{\"original_file_url\": \"x\", \"length\": null, \"language\": null, "
	    "\"style\": null, \"hosts\": null}", "espeak", &o, &bad));
	g_assert_false(listener_options_any(&o));
	g_assert_false(listener_options_any(NULL));
	g_assert_cmpstr(listener_style(&o), ==, "conversational");
	g_assert_cmpstr(listener_style(NULL), ==, "conversational");
	g_assert_null(listener_language_name(&o));
	g_assert_null(listener_espeak_voice(&o, 0));
	g_assert_cmpstr(listener_host_name(&o, 1, "Will"), ==, "Will");
	g_assert_null(listener_host_voice(NULL, 0));
	j = listener_options_to_json(&o);
	g_assert_true(json_is_null(json_object_get(j, "length")) && json_is_null(json_object_get(j, "hosts")));
	json_decref(j);
	listener_options_clear(&o);
	listener_options_clear(NULL);
}

static void
test_every_field(void)
{
	struct listener_options o, back;
	struct listener_invalid bad;
	json_t *j;
	char *text = NULL, *cause = NULL;

	g_assert_true(parse("{\"length\": \"long\", \"language\": \"DE\", \"style\": \"debate\", "
	    "\"hosts\": [{\"name\": \"  Ada \", \"voice\": \"de+f2\"}, {\"name\": \"Jean-Luc O'Neil\"}]}",
	    "espeak", &o, &bad));
	g_assert_cmpfloat(o.minutes, ==, 12);
	g_assert_cmpstr(o.length, ==, "long");
	g_assert_cmpstr(o.language, ==, "de");
	g_assert_cmpstr(o.style, ==, "debate");
	g_assert_cmpstr(listener_host_name(&o, 0, "Dorothy"), ==, "Ada");
	g_assert_cmpstr(listener_host_voice(&o, 0), ==, "de+f2");
	g_assert_cmpstr(listener_host_name(&o, 1, "Will"), ==, "Jean-Luc O'Neil");
	g_assert_null(listener_host_voice(&o, 1));
	g_assert_cmpstr(listener_language_name(&o), ==, "German");
	g_assert_cmpstr(listener_espeak_voice(&o, 0), ==, "de+f3");
	g_assert_cmpstr(listener_espeak_voice(&o, 1), ==, "de+m3");

	/* The stored form reads back the same. */
	j = listener_options_to_json(&o);
	text = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	g_assert_cmpstr(text, ==, "{\"hosts\":[{\"name\":\"Ada\",\"voice\":\"de+f2\"},{\"name\":"
	    "\"Jean-Luc O'Neil\",\"voice\":null}],\"language\":\"de\",\"length\":\"long\",\"style\":\"debate\"}");
	g_assert_cmpint(listener_options_from_json(j, &back, &cause), ==, 0);
	g_assert_cmpfloat(back.minutes, ==, 12);
	g_assert_cmpstr(back.hosts[0].voice, ==, "de+f2");
	listener_options_clear(&back);
	json_decref(j);
	free(text);
	listener_options_clear(&o);

	/* Minutes: whole numbers stay whole, fractions stay. */
	g_assert_true(parse("{\"length\": 7}", NULL, &o, &bad));
	j = listener_options_to_json(&o);
	g_assert_true(json_is_integer(json_object_get(j, "length")));
	g_assert_null(o.length);
	json_decref(j);
	listener_options_clear(&o);
	g_assert_true(parse("{\"length\": 2.5, \"language\": \"pt-br\"}", NULL, &o, &bad));
	g_assert_cmpfloat(o.minutes, ==, 2.5);
	g_assert_cmpstr(o.language, ==, "pt-BR");
	j = listener_options_to_json(&o);
	g_assert_cmpfloat(json_real_value(json_object_get(j, "length")), ==, 2.5);
	json_decref(j);
	listener_options_clear(&o);

	/* ElevenLabs ids by shape. */
	g_assert_true(parse("{\"hosts\": [{\"voice\": \"21m00Tcm4TlvDq8ikWAM\"}, {}]}", "elevenlabs", &o, &bad));
	g_assert_cmpstr(listener_host_voice(&o, 0), ==, "21m00Tcm4TlvDq8ikWAM");
	listener_options_clear(&o);
}

struct refusal {
	const char *body;
	const char *provider;
	const char *field;
	int index;
	const char *key;
	const char *type;
};

static void
test_refusals(void)
{
	static const struct refusal cases[] = {
		{ "{\"length\": \"epic\"}", NULL, "length", -1, NULL, "enum" },
		{ "{\"length\": \"Short\"}", NULL, "length", -1, NULL, "enum" },
		{ "{\"length\": 0.5}", NULL, "length", -1, NULL, "greater_than_equal" },
		{ "{\"length\": -3}", NULL, "length", -1, NULL, "greater_than_equal" },
		{ "{\"length\": 31}", NULL, "length", -1, NULL, "less_than_equal" },
		{ "{\"length\": true}", NULL, "length", -1, NULL, "float_type" },
		{ "{\"length\": [5]}", NULL, "length", -1, NULL, "float_type" },
		{ "{\"language\": \"xx\"}", NULL, "language", -1, NULL, "enum" },
		{ "{\"language\": \"de_DE\"}", NULL, "language", -1, NULL, "enum" },
		{ "{\"language\": 7}", NULL, "language", -1, NULL, "string_type" },
		{ "{\"style\": \"rap battle\"}", NULL, "style", -1, NULL, "enum" },
		{ "{\"style\": {}}", NULL, "style", -1, NULL, "string_type" },
		{ "{\"hosts\": {}}", NULL, "hosts", -1, NULL, "list_type" },
		{ "{\"hosts\": [{}]}", NULL, "hosts", -1, NULL, "too_short" },
		{ "{\"hosts\": [{}, {}, {}]}", NULL, "hosts", -1, NULL, "too_long" },
		{ "{\"hosts\": [{}, \"Bob\"]}", NULL, "hosts", 1, NULL, "model_attributes_type" },
		{ "{\"hosts\": [null, {}]}", NULL, "hosts", 0, NULL, "model_attributes_type" },
		{ "{\"hosts\": [{\"name\": 5}, {}]}", NULL, "hosts", 0, "name", "string_type" },
		{ "{\"hosts\": [{}, {\"voice\": []}]}", NULL, "hosts", 1, "voice", "string_type" },
		{ "{\"hosts\": [{\"name\": \"   \"}, {}]}", NULL, "hosts", 0, "name", "value_error" },
		{ "{\"hosts\": [{\"name\": \"<b>Bo</b>\"}, {}]}", NULL, "hosts", 0, "name", "value_error" },
		{ "{\"hosts\": [{\"name\": \"Bo\\nB\"}, {}]}", NULL, "hosts", 0, "name", "value_error" },
		{ "{\"hosts\": [{\"name\": \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}, {}]}", NULL, "hosts", 0,
		    "name", "value_error" },
		{ "{\"hosts\": [{}, {\"voice_id\": \"x\"}]}", NULL, "hosts", 1, "voice_id", "extra_forbidden" },
		{ "{\"hosts\": [{\"voice\": \"klingon\"}, {}]}", "espeak", "hosts", 0, "voice", "value_error" },
		{ "{\"hosts\": [{\"voice\": \"de+nosuch\"}, {}]}", "espeak", "hosts", 0, "voice", "value_error" },
		{ "{\"hosts\": [{\"voice\": \"21m00Tcm4TlvDq8ikWAM\"}, {}]}", "espeak", "hosts", 0, "voice",
		    "value_error" },
		{ "{\"hosts\": [{}, {\"voice\": \"en-us+f3\"}]}", "elevenlabs", "hosts", 1, "voice", "value_error" },
		{ "{\"hosts\": [{}, {\"voice\": \"21m00Tcm4TlvDq8ikWA!\"}]}", "elevenlabs", "hosts", 1, "voice",
		    "value_error" },
	};

	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		struct listener_options o;
		struct listener_invalid bad = { 0 };
		json_t *j = body(cases[i].body);

		if (listener_options_parse(j, cases[i].provider, &o, &bad) == 0)
			g_error("accepted: %s", cases[i].body);
		g_assert_cmpstr(bad.field, ==, cases[i].field);
		g_assert_cmpint(bad.index, ==, cases[i].index);
		g_assert_cmpstr(bad.key, ==, cases[i].key);
		g_assert_cmpstr(bad.type, ==, cases[i].type);
		g_assert_nonnull(bad.msg);
		/* Cleared on refusal: nothing to free, nothing asked. */
		g_assert_false(listener_options_any(&o));
		json_decref(j);
	}
}

static void
test_from_json_refuses_junk(void)
{
	struct listener_options o;
	char *cause = NULL;
	json_t *j = body("{\"style\": \"opera\"}");

	g_assert_cmpint(listener_options_from_json(j, &o, &cause), ==, -1);
	g_assert_nonnull(strstr(cause, "style"));
	g_free(cause);
	json_decref(j);
	cause = NULL;
	j = json_string("short");
	g_assert_cmpint(listener_options_from_json(j, &o, &cause), ==, -1);
	g_free(cause);
	json_decref(j);
	/* No stored options at all: nothing asked. */
	g_assert_cmpint(listener_options_from_json(NULL, &o, &cause), ==, 0);
	g_assert_false(listener_options_any(&o));
}

/* The tags the 422 message lists, each accepted, and espeak-ng speaking
 * every language's two voices and every host voice a tag allows. */
static void
test_languages_speak(void)
{
	struct listener_options o;
	struct listener_invalid bad;
	const char *msg, *list;
	char **tags;
	guint n = 0;

	g_assert_false(parse("{\"language\": \"nope\"}", NULL, &o, &bad));
	msg = bad.msg;
	list = strstr(msg, ": ");
	g_assert_nonnull(list);
	tags = g_regex_split_simple(", | or ", list + 2, 0, 0);
	g_assert_cmpint(espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, 0, NULL, espeakINITIALIZE_DONT_EXIT), >, 0);
	for (char **t = tags; *t != NULL; t++) {
		char *tag = g_strstrip(*t), *text;

		if (*tag == '\0')
			continue;
		text = g_strdup_printf("{\"language\": \"%s\"}", tag);
		g_assert_true(parse(text, NULL, &o, &bad));
		g_assert_cmpstr(o.language, ==, tag);
		g_assert_nonnull(listener_language_name(&o));
		for (int role = 0; role < LISTENER_HOSTS; role++) {
			const char *voice = listener_espeak_voice(&o, role);
			char *host;
			struct listener_options h;

			if (strcmp(tag, "en") == 0) {
				g_assert_null(voice);   /* the configured ones */
				continue;
			}
			g_assert_nonnull(voice);
			if (espeak_SetVoiceByName(voice) != EE_OK)
				g_error("espeak-ng has no voice %s (for %s)", voice, tag);
			/* A host may name the same voice. */
			host = g_strdup_printf("{\"hosts\": [{\"voice\": \"%s\"}, {}]}", voice);
			g_assert_true(parse(host, "espeak", &h, &bad));
			listener_options_clear(&h);
			g_free(host);
		}
		listener_options_clear(&o);
		g_free(text);
		n++;
	}
	g_assert_cmpuint(n, >=, 30);
	g_strfreev(tags);
	espeak_Terminate();
}

static char *
pdf_text(const char *name)
{
	char *path = g_build_filename(PP_TEST_DATA, name, NULL);
	char *data = NULL, *text;
	gsize len = 0;
	struct pipeline_error err = { 0 };

	g_assert_true(g_file_get_contents(path, &data, &len, NULL));
	text = extract_text(data, len, path, 40000, &err);
	g_assert_nonnull(text);
	g_free(data);
	g_free(path);
	return text;
}

static struct script *
builtin(const char *text, const char *options)
{
	struct listener_options o;
	struct listener_invalid bad;
	struct pipeline_error err = { 0 };
	struct script *s;

	g_assert_true(parse(options, "espeak", &o, &bad));
	s = writer_builtin_write(NULL, text, NULL, &o, &err);
	g_assert_nonnull(s);
	listener_options_clear(&o);
	return s;
}

static GString *
script_text(const struct script *s)
{
	GString *all = g_string_new(s->title);

	for (guint i = 0; i < s->lines->len; i++) {
		const struct script_line *l = g_ptr_array_index(s->lines, i);

		g_string_append_printf(all, "\n%s: %s", l->speaker, l->text);
	}
	return all;
}

/* The builtin writer: the estimate meets the length asked (the real audio
 * is measured in tests/integration/test_pipeline.py), names replace the
 * roles' in what is said, each style stages differently. */
static void
test_builtin_honours_options(void)
{
	char *text = pdf_text("ten-pages.pdf");
	struct script *plain = builtin(text, "{}"), *s;
	GString *all, *base = script_text(plain);
	static const char *const lengths[] = { "{\"length\": \"short\"}", "{\"length\": 5}",
	    "{\"length\": \"medium\"}", "{\"length\": \"long\"}" };
	static const double minutes[] = { 3, 5, 6, 12 };
	static const char *const styles[] = { "interview", "debate", "storytelling", "lecture" };

	for (gsize i = 0; i < G_N_ELEMENTS(lengths); i++) {
		double est;

		s = builtin(text, lengths[i]);
		est = writer_builtin_seconds(s, 0.0595);
		if (est < minutes[i] * 60 * 0.95 || est > minutes[i] * 60 * 1.05)
			g_error("%s: %.0f s estimated", lengths[i], est);
		script_free(s);
	}

	s = builtin(text, "{\"hosts\": [{\"name\": \"Ada\"}, {\"name\": \"Bo\"}]}");
	all = script_text(s);
	g_assert_nonnull(strstr(all->str, "I'm Ada"));
	g_assert_nonnull(strstr(all->str, "Thanks, Ada"));
	g_assert_null(strstr(all->str, "I'm Dorothy"));
	g_assert_true(g_str_has_prefix(s->title, "Ada and Bo") || strstr(base->str, "Dorothy and Will") == NULL);
	/* The roles stay the script's. */
	g_assert_cmpstr(((struct script_line *)g_ptr_array_index(s->lines, 0))->speaker, ==, "Dorothy");
	g_string_free(all, TRUE);
	script_free(s);

	for (gsize i = 0; i < G_N_ELEMENTS(styles); i++) {
		char *opt = g_strdup_printf("{\"style\": \"%s\"}", styles[i]);

		s = builtin(text, opt);
		all = script_text(s);
		g_assert_cmpstr(all->str, !=, base->str);
		if (strcmp(styles[i], "interview") == 0) {
			/* Will asks before each point Dorothy makes. */
			g_assert_nonnull(strstr(all->str, "is asking the questions"));
			g_assert_null(strstr(all->str, "I noticed something myself"));
		}
		if (strcmp(styles[i], "debate") == 0)
			g_assert_nonnull(strstr(all->str, "argue with me"));
		g_string_free(all, TRUE);
		script_free(s);
		g_free(opt);
	}
	/* The same options, the same script. */
	s = builtin(text, "{}");
	all = script_text(s);
	g_assert_cmpstr(all->str, ==, base->str);
	g_string_free(all, TRUE);
	script_free(s);
	g_string_free(base, TRUE);
	script_free(plain);
	g_free(text);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/listener/absent", test_absent_is_nothing);
	g_test_add_func("/listener/every-field", test_every_field);
	g_test_add_func("/listener/refusals", test_refusals);
	g_test_add_func("/listener/from-json", test_from_json_refuses_junk);
	g_test_add_func("/listener/languages-speak", test_languages_speak);
	g_test_add_func("/listener/builtin-writer", test_builtin_honours_options);
	return g_test_run();
}
