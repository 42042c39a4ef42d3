/* What the listener asked for: POST /podcasts/'s optional length,
 * language, style and hosts (issue 15), as the pipeline sees them.
 *
 * Every field is optional; a zeroed struct (or a NULL pointer where one is
 * passed) means "as before": the provider's default length, English, the
 * conversational style, Dorothy and Will with the configured voices.
 * Writers and voice providers read it; none may keep pointers into it past
 * the call.
 *
 * One module for both sides: the responder validates a request body with
 * listener_options_parse() (and stores listener_options_to_json()), the
 * worker reads the stored columns back with listener_options_from_json().
 * The lists (lengths, languages, styles, espeak-ng variants) live here only;
 * doc/api.md describes them.
 *
 * Ownership: the strings belong to whoever filled the struct (the
 * generate task, from the podcast row); listener_options_clear() frees
 * what listener_options_parse() / _from_json() allocated. Returned json_t
 * are new references; listener_* lookups return static strings. */
#ifndef PP_LISTENER_H
#define PP_LISTENER_H

#include <glib.h>
#include <jansson.h>

/* The two hosts' roles in the script (SCRIPT_DOROTHY, SCRIPT_WILL). */
#define LISTENER_HOSTS 2

/* A length in minutes, when given as a number. */
#define LISTENER_MINUTES_MIN 1
#define LISTENER_MINUTES_MAX 30
/* A host's name, in characters. */
#define LISTENER_NAME_MAX 40

struct listener_host {
	char *name;          /* shown in the script and transcript; NULL: the role's name */
	char *voice;         /* provider voice (ElevenLabs id, espeak-ng name); NULL: configured */
};

struct listener_options {
	double minutes;      /* target spoken length; 0: the writer's default */
	const char *length;  /* "short", "medium", "long" when asked by name (static), else NULL */
	char *language;      /* BCP 47 tag ("en", "de-DE"); NULL: English */
	char *style;         /* a style name (doc/api.md lists them); NULL: conversational */
	struct listener_host hosts[LISTENER_HOSTS];   /* [0] Dorothy's role, [1] Will's */
};

/* Why a body's options were refused, in FastAPI's terms: the location
 * under "body" (FIELD, then host INDEX and KEY when >= 0 / non-NULL), a
 * message and an error type. Static strings, but for KEY of an unknown
 * member of a host, which points into the parsed object. */
struct listener_invalid {
	const char *field;
	int index;
	const char *key;
	const char *msg;
	const char *type;
};

/* Reads "length", "language", "style" and "hosts" of OBJ (other members
 * are ignored; absent or null means not asked). VOICE_PROVIDER
 * ("espeak", "elevenlabs") checks host voices against what that provider
 * can take (espeak-ng: a language of ours or espeak's English voices, with
 * an optional known "+variant"; ElevenLabs: the shape of a voice id);
 * NULL checks no voice. 0 and *OUT filled (clear it), or -1 with *BAD
 * and *OUT cleared. */
int listener_options_parse(const json_t *obj, const char *voice_provider,
    struct listener_options *out, struct listener_invalid *bad);

/* The stored form (a podcast row's columns, made an object: see the
 * task), without voice checks: the provider may have changed since the
 * request. 0, or -1 and *cause (caller frees). */
int listener_options_from_json(const json_t *obj, struct listener_options *out, char **cause);

/* {"length", "language", "style", "hosts"} as the podcast JSON shows them:
 * length as asked ("short" or a number), hosts as two {name, voice}
 * objects; null for what was not asked. */
json_t *listener_options_to_json(const struct listener_options *o);

void listener_options_clear(struct listener_options *o);

/* TRUE when O (may be NULL) asks for anything. */
gboolean listener_options_any(const struct listener_options *o);

/* The style, never NULL ("conversational" by default). */
const char *listener_style(const struct listener_options *o);

/* The language's English name ("German") for prompts, or NULL when O
 * asks for none. */
const char *listener_language_name(const struct listener_options *o);

/* The espeak-ng voice for ROLE (0 Dorothy, 1 Will) in O's language, or
 * NULL when O asks for no language, or English: the configured voices. */
const char *listener_espeak_voice(const struct listener_options *o, int role);

/* The host's name for ROLE, or DEFAULT_NAME. */
const char *listener_host_name(const struct listener_options *o, int role, const char *default_name);

/* The host's voice for ROLE, or NULL (the configured one). */
const char *listener_host_voice(const struct listener_options *o, int role);

#endif
