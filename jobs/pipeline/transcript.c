#include "autoconfig.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "transcript.h"

/* Whole milliseconds of SECONDS, never negative. */
static gint64
transcript_ms(double seconds)
{
	if (!(seconds > 0))   /* also NaN */
		return 0;
	return (gint64)llround(seconds * 1000.0);
}

void
transcript_time(double seconds, char out[TRANSCRIPT_TIME_MAX])
{
	gint64 ms = transcript_ms(seconds);

	g_snprintf(out, TRANSCRIPT_TIME_MAX, "%02" G_GINT64_FORMAT ":%02d:%02d.%03d",
	    ms / 3600000, (int)(ms / 60000 % 60), (int)(ms / 1000 % 60), (int)(ms % 1000));
}

char *
transcript_escape(const char *text)
{
	GString *out = g_string_sized_new(strlen(text) + 16);

	for (const char *p = text; *p != '\0'; p++) {
		switch (*p) {
		case '&':
			g_string_append(out, "&amp;");
			break;
		case '<':
			g_string_append(out, "&lt;");
			break;
		case '>':
			g_string_append(out, "&gt;");
			break;
		case '\r':
		case '\n':
		case '\t':
			g_string_append_c(out, ' ');
			break;
		default:
			g_string_append_c(out, *p);
		}
	}
	return g_string_free(out, FALSE);
}

char *
transcript_vtt(const struct script *s, const struct transcript_cue *cues, const char *const names[2])
{
	GString *out = g_string_new("WEBVTT\n");
	char *who[2];

	for (int r = 0; r < 2; r++) {
		const char *role = r == 0 ? SCRIPT_DOROTHY : SCRIPT_WILL;

		who[r] = transcript_escape(names != NULL && names[r] != NULL && *names[r] != '\0' ?
		    names[r] : role);
	}
	for (guint i = 0; i < s->lines->len; i++) {
		const struct script_line *line = g_ptr_array_index(s->lines, i);
		char start[TRANSCRIPT_TIME_MAX], end[TRANSCRIPT_TIME_MAX];
		gint64 a = transcript_ms(cues[i].start), b = transcript_ms(cues[i].end);
		char *text = transcript_escape(line->text);

		transcript_time((double)a / 1000.0, start);
		transcript_time((double)MAX(b, a + 1) / 1000.0, end);
		g_string_append_printf(out, "\n%u\n%s --> %s\n<v %s>%s</v>\n", i + 1, start, end,
		    who[strcmp(line->speaker, SCRIPT_DOROTHY) == 0 ? 0 : 1], text);
		g_free(text);
	}
	g_free(who[0]);
	g_free(who[1]);
	return g_string_free(out, FALSE);
}

char *
transcript_chapters(const struct script *s, const struct transcript_cue *cues)
{
	json_t *chapters = json_array(), *root;
	const char *current = NULL;
	char *dumped, *text;

	for (guint i = 0; i < s->lines->len; i++) {
		const struct script_line *line = g_ptr_array_index(s->lines, i);
		const char *title = line->topic;

		if (i == 0 && title == NULL)
			title = s->title != NULL && *s->title != '\0' ? s->title : "Introduction";
		if (title == NULL || (current != NULL && strcmp(title, current) == 0))
			continue;
		current = title;
		json_array_append_new(chapters, json_pack("{s:f, s:s}", "startTime",
		    i == 0 ? 0.0 : (double)transcript_ms(cues[i].start) / 1000.0, "title", title));
	}
	root = json_pack("{s:s, s:o}", "version", TRANSCRIPT_CHAPTERS_VERSION, "chapters", chapters);
	dumped = json_dumps(root, JSON_COMPACT | JSON_REAL_PRECISION(12));
	text = g_strdup(dumped);   /* jansson's allocator, ours to the caller */
	free(dumped);
	json_decref(root);
	return text;
}
