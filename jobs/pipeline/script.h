/* The podcast script: a title, a summary and the hosts' lines in order.
 *
 * JSON form (stored as podcasts.transcript, and what Gemini is asked for):
 *   {"title": str, "summary": str,
 *    "lines": [{"speaker": "Dorothy"|"Will", "text": str, "topic"?: str}]}
 * A line's optional topic says the conversation turns to that topic there
 * (a chapter starts: transcript.h); lines without one stay on the topic
 * before them. Absent, null or empty is no topic; it is written out only
 * when set.
 *
 * Ownership: a struct script owns its strings and lines; script_free(NULL)
 * is harmless. script_to_json() returns a new reference. */
#ifndef PP_SCRIPT_H
#define PP_SCRIPT_H

#include <glib.h>
#include <jansson.h>

#define SCRIPT_DOROTHY "Dorothy"
#define SCRIPT_WILL "Will"

struct script_line {
	const char *speaker;   /* SCRIPT_DOROTHY or SCRIPT_WILL (static) */
	char *text;
	char *topic;           /* a new topic starts here; NULL: the one before goes on */
};

struct script {
	char *title;
	char *summary;
	GPtrArray *lines;      /* of struct script_line *, owned */
};

struct script *script_new(void);
void script_free(struct script *s);

/* The canonical speaker for NAME (any case, surrounding spaces and a
 * trailing colon ignored), or NULL when it is neither host. */
const char *script_speaker(const char *name);

/* Adds a line; FALSE (nothing added) when SPEAKER is not a host or TEXT is
 * empty after trimming. A "Name:" prefix repeated in TEXT is removed. */
gboolean script_add_line(struct script *s, const char *speaker, const char *text);
/* The same, the line starting TOPIC (NULL, or empty after trimming: none). */
gboolean script_add_line_topic(struct script *s, const char *speaker, const char *text,
    const char *topic);

json_t *script_to_json(const struct script *s);

/* Reads the JSON form. Lines with an unknown speaker or no text are
 * dropped; NULL and *cause (caller frees) when it is not that shape or no
 * usable line is left ("The script has no usable lines"). */
struct script *script_from_json(const json_t *root, char **cause);

/* Total characters spoken (what ElevenLabs bills). */
gsize script_char_count(const struct script *s);

#endif
