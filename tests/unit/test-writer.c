/* The script model and the offline writer: shape, determinism, the
 * listener's wishes, and JSON round trips. */
#include "autoconfig.h"

#include <string.h>

#include <glib.h>
#include <jansson.h>

#include "extract.h"
#include "script.h"
#include "writer.h"

static char *
sample_text(void)
{
	char *path = g_build_filename(PP_TEST_DATA, "sample.pdf", NULL);
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

static char *
script_dump(const struct script *s)
{
	json_t *j = script_to_json(s);
	char *text = json_dumps(j, JSON_COMPACT);

	json_decref(j);
	return text;
}

static guint
count_words(const char *s)
{
	char **w = g_strsplit_set(s, " ", -1);
	guint n = 0;

	for (char **p = w; *p != NULL; p++)
		n += **p != '\0';
	g_strfreev(w);
	return n;
}

static void
test_builtin_shape(void)
{
	char *text = sample_text();
	struct pipeline_error err = { 0 };
	struct script *s = writer_builtin_write(NULL, text, NULL, NULL, &err);
	guint dorothy = 0, will = 0;
	const struct script_line *first, *last;

	g_assert_nonnull(s);
	g_assert_cmpuint(s->lines->len, >=, 20);
	for (guint i = 0; i < s->lines->len; i++) {
		const struct script_line *l = g_ptr_array_index(s->lines, i);

		g_assert_true(*l->text != '\0');
		if (strcmp(l->speaker, SCRIPT_DOROTHY) == 0)
			dorothy++;
		else if (strcmp(l->speaker, SCRIPT_WILL) == 0)
			will++;
		else
			g_assert_not_reached();
	}
	g_assert_cmpuint(dorothy, >=, 5);
	g_assert_cmpuint(will, >=, 5);
	first = g_ptr_array_index(s->lines, 0);
	last = g_ptr_array_index(s->lines, s->lines->len - 1);
	g_assert_cmpstr(first->speaker, ==, SCRIPT_DOROTHY);
	g_assert_nonnull(strstr(first->text, "Welcome"));
	g_assert_nonnull(strstr(last->text, "next time"));
	g_assert_cmpuint(count_words(s->title), >=, 5);
	g_assert_cmpuint(count_words(s->title), <=, 10);
	g_assert_true(s->summary != NULL && strlen(s->summary) > 50);
	if (g_test_verbose()) {
		g_test_message("title: %s", s->title);
		for (guint i = 0; i < s->lines->len; i++) {
			const struct script_line *l = g_ptr_array_index(s->lines, i);

			g_test_message("%s: %s", l->speaker, l->text);
		}
	}
	script_free(s);
	g_free(text);
}

static void
test_builtin_deterministic(void)
{
	char *text = sample_text();
	struct script *a = writer_builtin_write(NULL, text, "focus on the keepers", NULL, NULL);
	struct script *b = writer_builtin_write(NULL, text, "focus on the keepers", NULL, NULL);
	char *ja = script_dump(a), *jb = script_dump(b);

	g_assert_cmpstr(ja, ==, jb);
	g_free(ja);
	g_free(jb);
	script_free(a);
	script_free(b);
	g_free(text);
}

static gboolean
script_mentions(const struct script *s, const char *word)
{
	for (guint i = 0; i < s->lines->len; i++) {
		const struct script_line *l = g_ptr_array_index(s->lines, i);

		if (strstr(l->text, word) != NULL)
			return TRUE;
	}
	return FALSE;
}

static void
test_builtin_requirements(void)
{
	char *text = sample_text();
	struct script *plain = writer_builtin_write(NULL, text, NULL, NULL, NULL);
	struct script *brief = writer_builtin_write(NULL, text, "Keep it short please", NULL, NULL);
	struct script *detailed = writer_builtin_write(NULL, text, "a long, detailed episode", NULL, NULL);
	struct script *fog = writer_builtin_write(NULL, text, "I care most about fog horns and sound signals", NULL, NULL);

	g_assert_cmpuint(brief->lines->len, <, plain->lines->len);
	g_assert_cmpuint(detailed->lines->len, >, plain->lines->len);
	g_assert_true(script_mentions(fog, "signal"));
	g_assert_true(script_mentions(fog, "listener asked"));
	g_assert_false(script_mentions(plain, "listener asked"));
	script_free(plain);
	script_free(brief);
	script_free(detailed);
	script_free(fog);
	g_free(text);
}

static void
test_builtin_tiny(void)
{
	struct pipeline_error err = { 0 };
	struct script *s = writer_builtin_write(NULL, "Just one short sentence here.", NULL, NULL, &err);

	g_assert_nonnull(s);
	g_assert_true(script_mentions(s, "Just one short sentence here."));
	script_free(s);
	s = writer_builtin_write(NULL, "", NULL, NULL, &err);
	g_assert_null(s);
	g_assert_true(err.permanent);
	pipeline_error_clear(&err);
}

static void
test_split_sentences(void)
{
	GPtrArray *s = writer_split_sentences(
	    "Dr. Smith met J. Doe at 5 p.m. in town. \"Really?\" she asked! Yes.\n\nNew paragraph e.g. this one");

	g_assert_cmpuint(s->len, ==, 4);
	g_assert_cmpstr(g_ptr_array_index(s, 0), ==, "Dr. Smith met J. Doe at 5 p.m. in town.");
	g_assert_cmpstr(g_ptr_array_index(s, 1), ==, "\"Really?\" she asked!");
	g_assert_cmpstr(g_ptr_array_index(s, 2), ==, "Yes.");
	g_assert_cmpstr(g_ptr_array_index(s, 3), ==, "New paragraph e.g. this one");
	g_ptr_array_unref(s);
}

static void
test_script_json(void)
{
	const char *in = "{\"title\":\" A Title \",\"summary\":\"S\",\"lines\":["
	    "{\"speaker\":\"dorothy\",\"text\":\"Dorothy: Hello there.\"},"
	    "{\"speaker\":\"Bob\",\"text\":\"Not a host.\"},"
	    "{\"speaker\":\"WILL:\",\"text\":\"  Hi!  \"},"
	    "{\"speaker\":\"Will\",\"text\":\"   \"},"
	    "{\"speaker\":\"Will\"}]}";
	json_t *j = json_loads(in, 0, NULL), *out;
	char *cause = NULL;
	struct script *s = script_from_json(j, &cause), *again;
	const struct script_line *l;

	g_assert_nonnull(s);
	g_assert_cmpstr(s->title, ==, "A Title");
	g_assert_cmpuint(s->lines->len, ==, 2);
	l = g_ptr_array_index(s->lines, 0);
	g_assert_cmpstr(l->speaker, ==, "Dorothy");
	g_assert_cmpstr(l->text, ==, "Hello there.");
	l = g_ptr_array_index(s->lines, 1);
	g_assert_cmpstr(l->speaker, ==, "Will");
	g_assert_cmpstr(l->text, ==, "Hi!");
	g_assert_cmpuint(script_char_count(s), ==, strlen("Hello there.Hi!"));
	out = script_to_json(s);
	again = script_from_json(out, &cause);
	g_assert_nonnull(again);
	g_assert_cmpuint(again->lines->len, ==, 2);
	g_assert_cmpstr(again->title, ==, "A Title");
	json_decref(out);
	json_decref(j);
	script_free(again);
	script_free(s);

	j = json_loads("{\"title\":\"t\",\"lines\":[{\"speaker\":\"Narrator\",\"text\":\"x\"}]}", 0, NULL);
	g_assert_null(script_from_json(j, &cause));
	g_assert_cmpstr(cause, ==, "The script has no usable lines");
	g_free(cause);
	cause = NULL;
	json_decref(j);
	j = json_loads("[1,2]", 0, NULL);
	g_assert_null(script_from_json(j, &cause));
	g_assert_nonnull(cause);
	g_free(cause);
	json_decref(j);
	script_free(NULL);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/writer/builtin-shape", test_builtin_shape);
	g_test_add_func("/writer/builtin-deterministic", test_builtin_deterministic);
	g_test_add_func("/writer/builtin-requirements", test_builtin_requirements);
	g_test_add_func("/writer/builtin-tiny", test_builtin_tiny);
	g_test_add_func("/writer/split-sentences", test_split_sentences);
	g_test_add_func("/script/json", test_script_json);
	return g_test_run();
}
