/* Voicing: every script line to audio, through a line cache in storage.
 *
 * The voice table (voices.c) has one row per provider: its name, the
 * audio it makes (extension, Content-Type), the configured voice of each
 * host role, the model that goes into the cache key, and synthesise().
 * VOICE_PROVIDER, or "auto", picks one through the provider catalogue
 * (src/providers.h, which also holds each provider's credits check, since
 * the responder calls it). Adding a provider: one voice-NAME.c, one row in
 * voices.c and one in src/providers.c.
 *
 * Providers: "elevenlabs" (MP3, several lines in flight through libcurl's
 * multi interface), "espeak" (libespeak-ng, WAV). A line's audio is stored
 * under cache/voice/<sha256(provider, voice, model, text)>.<extension> as
 * soon as it exists, so a retry pays for no line twice.
 *
 * Ownership: clips handed back are GBytes in a GPtrArray that owns them
 * (g_ptr_array_unref). Keys are new strings. */
#ifndef PP_VOICE_H
#define PP_VOICE_H

#include <glib.h>

#include "error.h"
#include "listener.h"
#include "script.h"

struct config;

/* Where line audio is kept. get: 1 and a new *out when KEY is stored, 0
 * when not, -1 and *cause on a storage error. put: 0, or -1 and *cause. */
struct line_cache {
	int (*get)(void *data, const char *key, GBytes **out, char **cause);
	int (*put)(void *data, const char *key, GBytes *bytes, const char *content_type, char **cause);
	void *data;
};

/* Told after each line is ready (DONE of TOTAL, cached ones included) and
 * now and then while waiting (TICK): FALSE asks voicing to stop, keeping
 * what is cached. Asked before each line goes to the provider
 * (LINE_START, INDEX in the script): a synthesis is paid for, so FALSE
 * stops voicing before it (lines in flight finish and are cached). Any
 * may be NULL. */
struct voice_observer {
	gboolean (*line_ready)(guint done, guint total, void *data);
	gboolean (*tick)(void *data);
	void *data;
	gboolean (*line_start)(guint index, void *data);
};

/* One line a provider must synthesise. */
struct voice_request {
	guint index;           /* in the script */
	const char *speaker;
	const char *voice;
	const char *text;
	char *key;             /* cache key */
	GBytes *audio;         /* set when done (owned) */
	char *request_id;      /* ElevenLabs' request-id (owned), for stitching */
	int attempts;
};

/* A provider calls START before it sends a line (FALSE: send no more)
 * and DONE for each line it finished (its audio in REQ->audio); DONE
 * caches it and says whether to go on. */
typedef gboolean (*voice_start_fn)(struct voice_request *req, void *data);
typedef gboolean (*voice_done_fn)(struct voice_request *req, void *data);
typedef gboolean (*voice_tick_fn)(void *data);

/* A provider synthesises REQS (struct voice_request *, their voices
 * already chosen) in order. OPTS (NULL: defaults) is the listener's. */
typedef int (*voice_synthesise_fn)(const struct config *cfg, GPtrArray *reqs,
    const struct listener_options *opts, voice_start_fn start, voice_done_fn done,
    voice_tick_fn tick, void *data, struct pipeline_error *err);

struct voice_provider {
	const char *name;          /* as in VOICE_PROVIDER and src/providers.c */
	const char *extension;     /* of its clips and cache keys: "mp3", "wav" */
	const char *content_type;  /* of its clips: "audio/mpeg", "audio/wav" */
	/* The configured voice of a host (SCRIPT_DOROTHY or SCRIPT_WILL). */
	const char *(*voice)(const struct config *cfg, const char *speaker);
	/* The model, part of the cache key. */
	const char *(*model)(const struct config *cfg);
	voice_synthesise_fn synthesise;
};

/* Every provider; the array ends with a row whose name is NULL. */
extern const struct voice_provider voice_table[];

/* The row called NAME, or NULL. */
const struct voice_provider *voice_find(const char *name);

/* The provider the settings choose (never NULL for a loaded config). */
const struct voice_provider *voice_for(const struct config *cfg);

/* Its name: "elevenlabs" or "espeak". */
const char *voice_provider(const struct config *cfg);

/* The cache key for one line (new string). */
char *voice_cache_key(const char *provider, const char *voice, const char *model, const char *text);

/* The cache key of LINE with the configured provider and voices, OPTS
 * (NULL: defaults) being the listener's (new string). */
char *voice_line_key(const struct config *cfg, const struct listener_options *opts,
    const struct script_line *line);

/* Voices every line of SCRIPT; *clips gets one GBytes per line, in order
 * (the provider's format). OPTS may be NULL. 0, or -1 and *err. */
int voice_script(const struct config *cfg, const struct listener_options *opts,
    const struct script *script, const struct line_cache *cache,
    const struct voice_observer *obs, GPtrArray **clips, struct pipeline_error *err);

/* Providers (the voice_synthesise_fn shape) and their configured voices
 * and models. */
int voice_espeak_synthesise(const struct config *cfg, GPtrArray *reqs,
    const struct listener_options *opts, voice_start_fn start, voice_done_fn done,
    voice_tick_fn tick, void *data, struct pipeline_error *err);
const char *voice_espeak_voice(const struct config *cfg, const char *speaker);
const char *voice_espeak_model(const struct config *cfg);
int voice_elevenlabs_synthesise(const struct config *cfg, GPtrArray *reqs,
    const struct listener_options *opts, voice_start_fn start, voice_done_fn done,
    voice_tick_fn tick, void *data, struct pipeline_error *err);
const char *voice_elevenlabs_voice(const struct config *cfg, const char *speaker);
const char *voice_elevenlabs_model(const struct config *cfg);

/* Interprets an ElevenLabs error answer (STATUS, BODY) into *err; also
 * used for the in-run decision to back off (returns TRUE when the line
 * may be tried again in this run: 429 busy answers). */
gboolean voice_elevenlabs_error(long status, const char *body, gsize len, struct pipeline_error *err);

/* espeak-ng's audio as a WAV file (16-bit mono at RATE). */
GBytes *voice_wav_new(const gint16 *samples, gsize n, int rate);

#endif
