#include "autoconfig.h"

#include <string.h>

#include "script.h"

static void
script_line_free(gpointer p)
{
	struct script_line *line = p;

	g_free(line->text);
	g_free(line->topic);
	g_free(line);
}

struct script *
script_new(void)
{
	struct script *s = g_new0(struct script, 1);

	s->lines = g_ptr_array_new_with_free_func(script_line_free);
	return s;
}

void
script_free(struct script *s)
{
	if (s == NULL)
		return;
	g_free(s->title);
	g_free(s->summary);
	g_ptr_array_unref(s->lines);
	g_free(s);
}

const char *
script_speaker(const char *name)
{
	char *n;
	const char *found = NULL;
	gsize len;

	if (name == NULL)
		return NULL;
	n = g_strstrip(g_strdup(name));
	len = strlen(n);
	if (len > 0 && n[len - 1] == ':')
		n[len - 1] = '\0';
	g_strstrip(n);
	if (g_ascii_strcasecmp(n, SCRIPT_DOROTHY) == 0)
		found = SCRIPT_DOROTHY;
	else if (g_ascii_strcasecmp(n, SCRIPT_WILL) == 0)
		found = SCRIPT_WILL;
	g_free(n);
	return found;
}

gboolean
script_add_line(struct script *s, const char *speaker, const char *text)
{
	return script_add_line_topic(s, speaker, text, NULL);
}

gboolean
script_add_line_topic(struct script *s, const char *speaker, const char *text, const char *topic)
{
	const char *who = script_speaker(speaker);
	struct script_line *line;
	char *t;
	gsize n;

	if (who == NULL || text == NULL)
		return FALSE;
	t = g_strstrip(g_strdup(text));
	/* Models sometimes repeat the "Name:" form of the old prompt. */
	n = strlen(who);
	if (g_ascii_strncasecmp(t, who, n) == 0 && t[n] == ':') {
		char *rest = g_strstrip(g_strdup(t + n + 1));

		g_free(t);
		t = rest;
	}
	if (*t == '\0') {
		g_free(t);
		return FALSE;
	}
	line = g_new0(struct script_line, 1);
	line->speaker = who;
	line->text = t;
	if (topic != NULL && *(line->topic = g_strstrip(g_strdup(topic))) == '\0')
		g_clear_pointer(&line->topic, g_free);
	g_ptr_array_add(s->lines, line);
	return TRUE;
}

json_t *
script_to_json(const struct script *s)
{
	json_t *lines = json_array();

	for (guint i = 0; i < s->lines->len; i++) {
		const struct script_line *line = g_ptr_array_index(s->lines, i);
		json_t *o = json_pack("{s:s, s:s}", "speaker", line->speaker, "text", line->text);

		if (line->topic != NULL)
			json_object_set_new(o, "topic", json_string(line->topic));
		json_array_append_new(lines, o);
	}
	return json_pack("{s:s, s:s, s:o}", "title", s->title != NULL ? s->title : "",
	    "summary", s->summary != NULL ? s->summary : "", "lines", lines);
}

struct script *
script_from_json(const json_t *root, char **cause)
{
	struct script *s;
	const json_t *lines, *title, *summary, *item;
	size_t i;

	if (!json_is_object(root) || !json_is_array(lines = json_object_get(root, "lines"))) {
		*cause = g_strdup("The script is not an object with a list of lines");
		return NULL;
	}
	s = script_new();
	title = json_object_get(root, "title");
	summary = json_object_get(root, "summary");
	if (json_is_string(title))
		s->title = g_strstrip(g_strdup(json_string_value(title)));
	if (json_is_string(summary))
		s->summary = g_strstrip(g_strdup(json_string_value(summary)));
	json_array_foreach(lines, i, item) {
		script_add_line_topic(s, json_string_value(json_object_get(item, "speaker")),
		    json_string_value(json_object_get(item, "text")),
		    json_string_value(json_object_get(item, "topic")));
	}
	if (s->lines->len == 0) {
		script_free(s);
		*cause = g_strdup("The script has no usable lines");
		return NULL;
	}
	return s;
}

gsize
script_char_count(const struct script *s)
{
	gsize n = 0;

	for (guint i = 0; i < s->lines->len; i++) {
		const struct script_line *line = g_ptr_array_index(s->lines, i);

		n += (gsize)g_utf8_strlen(line->text, -1);
	}
	return n;
}
