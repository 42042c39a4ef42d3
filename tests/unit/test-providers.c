/* The provider tables: the catalogue (src/providers.c) and the pipeline's
 * writer and voice tables agree row for row; "auto" keeps the old choice
 * (remote when its key is set, offline otherwise); an explicit choice wins
 * over the keys, and one without its settings is a configuration error;
 * the credits of an offline choice are the offline answer. */
#include "autoconfig.h"

#include <string.h>

#include <glib.h>

#include "config.h"
#include "credits.h"
#include "providers.h"
#include "voice.h"
#include "writer.h"

static guint
catalogue_count(enum provider_kind kind)
{
	guint n = 0;

	for (const struct provider *p = provider_table; p->name != NULL; p++)
		n += p->kind == kind;
	return n;
}

static void
test_tables_agree(void)
{
	guint writers = 0, voices = 0;

	for (const struct writer *w = writer_table; w->name != NULL; w++, writers++) {
		g_assert_nonnull(provider_find(PROVIDER_WRITER, w->name));
		g_assert_nonnull(w->write);
		g_assert_true(writer_find(w->name) == w);
	}
	for (const struct voice_provider *v = voice_table; v->name != NULL; v++, voices++) {
		const struct provider *p = provider_find(PROVIDER_VOICE, v->name);

		g_assert_nonnull(p);
		g_assert_true(strcmp(v->extension, "mp3") == 0 || strcmp(v->extension, "wav") == 0);
		g_assert_true(g_str_has_prefix(v->content_type, "audio/"));
		g_assert_nonnull(v->voice);
		g_assert_nonnull(v->model);
		g_assert_nonnull(v->synthesise);
		g_assert_true(voice_find(v->name) == v);
	}
	g_assert_cmpuint(writers, ==, catalogue_count(PROVIDER_WRITER));
	g_assert_cmpuint(voices, ==, catalogue_count(PROVIDER_VOICE));
	g_assert_null(writer_find("nonesuch"));
	g_assert_null(voice_find(NULL));
}

static void
test_auto_choice(void)
{
	struct config cfg = { 0 };

	/* No keys: the offline pair, as before the tables. */
	g_assert_cmpstr(writer_for(&cfg)->name, ==, "builtin");
	g_assert_cmpstr(voice_for(&cfg)->name, ==, "espeak");
	cfg.script_writer = (char *)"auto";
	cfg.voice_provider = (char *)"auto";
	cfg.google_api_key = (char *)"";
	g_assert_cmpstr(writer_for(&cfg)->name, ==, "builtin");
	cfg.google_api_key = (char *)"g";
	cfg.elevenlabs_api_key = (char *)"e";
	g_assert_cmpstr(writer_for(&cfg)->name, ==, "gemini");
	g_assert_cmpstr(voice_for(&cfg)->name, ==, "elevenlabs");
	g_assert_cmpstr(voice_provider(&cfg), ==, "elevenlabs");

	/* Named: the keys do not matter. */
	cfg.script_writer = (char *)"builtin";
	cfg.voice_provider = (char *)"espeak";
	g_assert_cmpstr(writer_for(&cfg)->name, ==, "builtin");
	g_assert_cmpstr(voice_for(&cfg)->name, ==, "espeak");
}

static void
test_config_errors(void)
{
	struct config cfg = { 0 };
	GPtrArray *problems = g_ptr_array_new_with_free_func(g_free);
	char *cause = NULL;

	g_assert_cmpint(provider_check_writer_name("auto", &cause), ==, 0);
	g_assert_cmpint(provider_check_writer_name("gemini", &cause), ==, 0);
	g_assert_cmpint(provider_check_voice_name("espeak", &cause), ==, 0);
	g_assert_cmpint(provider_check_voice_name("gemini", &cause), ==, -1);
	g_assert_nonnull(strstr(cause, "elevenlabs"));
	g_clear_pointer(&cause, g_free);
	g_assert_cmpint(provider_check_writer_name("Gemini", &cause), ==, -1);
	g_assert_nonnull(strstr(cause, "must be auto, gemini"));
	g_clear_pointer(&cause, g_free);

	cfg.script_writer = (char *)"gemini";
	cfg.voice_provider = (char *)"elevenlabs";
	provider_check_config(&cfg, problems);
	g_assert_cmpuint(problems->len, ==, 2);
	g_assert_cmpstr(g_ptr_array_index(problems, 0), ==, "SCRIPT_WRITER: gemini needs GOOGLE_API_KEY");
	g_assert_cmpstr(g_ptr_array_index(problems, 1), ==, "VOICE_PROVIDER: elevenlabs needs ELEVENLABS_API_KEY");
	g_ptr_array_set_size(problems, 0);

	/* auto never is an error; nor is a named provider with its key. */
	cfg.google_api_key = (char *)"g";
	cfg.voice_provider = (char *)"auto";
	provider_check_config(&cfg, problems);
	g_assert_cmpuint(problems->len, ==, 0);
	g_ptr_array_unref(problems);
}

static gboolean
has_problem(GPtrArray *problems, const char *prefix)
{
	for (guint i = 0; problems != NULL && i < problems->len; i++) {
		if (g_str_has_prefix(g_ptr_array_index(problems, i), prefix))
			return TRUE;
	}
	return FALSE;
}

/* Through config_load, as the programs start: the error is reported. */
static void
test_config_load(void)
{
	GPtrArray *problems = NULL;

	g_setenv("SCRIPT_WRITER", "gemini", TRUE);
	g_unsetenv("GOOGLE_API_KEY");
	g_assert_null(config_load(NULL, CONFIG_FOR_CTL, &problems));
	g_assert_true(has_problem(problems, "SCRIPT_WRITER: gemini needs GOOGLE_API_KEY"));
	g_ptr_array_unref(problems);

	g_setenv("SCRIPT_WRITER", "chatty", TRUE);
	g_assert_null(config_load(NULL, CONFIG_FOR_CTL, &problems));
	g_assert_true(has_problem(problems, "SCRIPT_WRITER: must be auto, gemini"));
	g_ptr_array_unref(problems);
	g_unsetenv("SCRIPT_WRITER");
}

/* Choosing espeak with an ElevenLabs key set answers the offline credits
 * without asking anyone (the URL leads nowhere). */
static void
test_offline_credits(void)
{
	struct config cfg = { 0 };
	struct credits_info info;
	char *cause = NULL;

	cfg.voice_provider = (char *)"espeak";
	cfg.elevenlabs_api_key = (char *)"e";
	cfg.elevenlabs_api_url = (char *)"http://127.0.0.1:1";
	g_assert_cmpint(credits_fetch(&cfg, &info, &cause), ==, 0);
	g_assert_true(info.offline);
	g_assert_cmpint(info.characters_available, ==, CREDITS_OFFLINE_CHARACTERS);
	g_assert_cmpstr(info.status, ==, "offline");

	cfg.voice_provider = (char *)"elevenlabs";
	g_assert_cmpint(credits_fetch(&cfg, &info, &cause), ==, -1);
	g_assert_nonnull(cause);
	g_free(cause);
}

static void
test_cache_key_extension(void)
{
	char *mp3 = voice_cache_key("elevenlabs", "v", "m", "t");
	char *wav = voice_cache_key("espeak", "v", "m", "t");

	g_assert_true(g_str_has_suffix(mp3, ".mp3"));
	g_assert_true(g_str_has_suffix(wav, ".wav"));
	g_free(mp3);
	g_free(wav);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/providers/tables-agree", test_tables_agree);
	g_test_add_func("/providers/auto-choice", test_auto_choice);
	g_test_add_func("/providers/config-errors", test_config_errors);
	g_test_add_func("/providers/config-load", test_config_load);
	g_test_add_func("/providers/offline-credits", test_offline_credits);
	g_test_add_func("/providers/cache-key-extension", test_cache_key_extension);
	return g_test_run();
}
