/* What the listener asked for: POST /podcasts/'s optional length,
 * language, style and hosts (issue 15), as the pipeline sees them.
 *
 * Every field is optional; a zeroed struct (or a NULL pointer where one is
 * passed) means "as before": the provider's default length, English, the
 * conversational style, Dorothy and Will with the configured voices.
 * Writers and voice providers read it; none may keep pointers into it past
 * the call.
 *
 * Ownership: the strings belong to whoever filled the struct (the
 * generate task, from the podcast row); listener_options_clear() frees
 * what listener_options_from_json() allocated. */
#ifndef PP_LISTENER_H
#define PP_LISTENER_H

#include <jansson.h>

/* The two hosts' roles in the script (SCRIPT_DOROTHY, SCRIPT_WILL). */
#define LISTENER_HOSTS 2

struct listener_host {
	char *name;          /* shown in the script and transcript; NULL: the role's name */
	char *voice;         /* provider voice (ElevenLabs id, espeak-ng name); NULL: configured */
};

struct listener_options {
	double minutes;      /* target spoken length; 0: the writer's default */
	char *language;      /* BCP 47 tag ("en", "de-DE"); NULL: English */
	char *style;         /* a style name (doc/api.md lists them); NULL: conversational */
	struct listener_host hosts[LISTENER_HOSTS];   /* [0] Dorothy's role, [1] Will's */
};

#endif
