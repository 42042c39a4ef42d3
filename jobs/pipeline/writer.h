/* Writers: document text (and the listener's wishes) to a script.
 *
 * The writer table (writers.c) has one row per writer; SCRIPT_WRITER, or
 * "auto", picks one through the provider catalogue (src/providers.h, which
 * holds the settings each needs). Adding a writer: one writer-NAME.c with
 * a function of the writer_write_fn shape, one row in writers.c and one in
 * src/providers.c.
 *
 * builtin: offline and deterministic, picks the document's most
 *   informative sentences and stages them as a conversation (doc/pipeline.md
 *   explains the scoring).
 * gemini: one generateContent call with structured output.
 * openai: one chat completion (OpenAI, llama.cpp's llama-server, Ollama...)
 *   with JSON output.
 *
 * Ownership: returned scripts are the caller's (script_free); requests
 * (json_t) are new references. Errors go to *err: permanent or retryable,
 * with the provider's minimum retry delay when it gave one. */
#ifndef PP_WRITER_H
#define PP_WRITER_H

#include <glib.h>
#include <jansson.h>

#include "error.h"
#include "listener.h"
#include "script.h"

struct config;

/* Writes the script of DOCUMENT. REQUIREMENTS (the listener's free text)
 * and OPTS (NULL: defaults) may be NULL; CFG may be NULL for writers that
 * need no settings (builtin). NULL and *err on failure. */
typedef struct script *(*writer_write_fn)(const struct config *cfg, const char *document,
    const char *requirements, const struct listener_options *opts, struct pipeline_error *err);

struct writer {
	const char *name;        /* as in SCRIPT_WRITER and src/providers.c */
	writer_write_fn write;
};

/* Every writer; the array ends with a row whose name is NULL. */
extern const struct writer writer_table[];

/* The row called NAME, or NULL. */
const struct writer *writer_find(const char *name);

/* The writer the settings choose (never NULL for a loaded config). */
const struct writer *writer_for(const struct config *cfg);

/* Never fails for a document with at least one sentence; NULL and a
 * permanent *err otherwise. CFG may be NULL. */
struct script *writer_builtin_write(const struct config *cfg, const char *document,
    const char *requirements, const struct listener_options *opts, struct pipeline_error *err);

/* The builtin writer's estimate of S's spoken length in seconds, with
 * the mixer's pauses, at SECONDS_PER_LETTER (espeak-ng: 0.0595). */
double writer_builtin_seconds(const struct script *s, double seconds_per_letter);

/* The sentences of TEXT in order (new strings; free with g_ptr_array_unref). */
GPtrArray *writer_split_sentences(const char *text);

/* The language-model writers' prompt (writer-prompt.c), new strings: the
 * system instruction for OPTS (NULL: defaults), the document in
 * <document> tags, the wishes in <listener_wishes> tags (NULL when
 * REQUIREMENTS is NULL or empty). */
char *writer_prompt_system(const struct listener_options *opts);
char *writer_prompt_document(const char *document);
char *writer_prompt_wishes(const char *requirements);

/* script_from_json() for a model's answer: an empty title gets a default. */
struct script *writer_script_from_json(const json_t *root, char **cause);

/* The generateContent body for DOCUMENT, REQUIREMENTS and OPTS (both may
 * be NULL). */
json_t *writer_gemini_request(const char *model, const char *document, const char *requirements,
    const struct listener_options *opts);

/* Interprets a generateContent answer: HTTP STATUS (0: no answer, BODY is
 * then the transport error) and its body. */
struct script *writer_gemini_parse(long status, const char *body, gsize len,
    struct pipeline_error *err);

/* Seconds in a google.protobuf.Duration string ("57s", "1.5s"), or -1. */
double writer_gemini_duration(const char *text);

/* Calls GEMINI_API_URL/v1beta/models/{GEMINI_MODEL}:generateContent. */
struct script *writer_gemini_write(const struct config *cfg, const char *document,
    const char *requirements, const struct listener_options *opts, struct pipeline_error *err);


/* The OpenAI-compatible writer (writer-openai.c). The chat completions
 * body; SCHEMA: response_format json_schema (strict), else json_object. */
json_t *writer_openai_request(const char *model, const char *document, const char *requirements,
    const struct listener_options *opts, gboolean schema);

/* What a failed answer asks of the writer: nothing more, the same request
 * once more (the content was not the script), or the request again with
 * json_object (the server refused json_schema). */
enum writer_openai_again {
	WRITER_OPENAI_DONE,
	WRITER_OPENAI_SAME,
	WRITER_OPENAI_PLAIN_JSON
};

/* Interprets an answer: STATUS (0: none, BODY is the transport error), its
 * body and its Retry-After in seconds (0: none). */
struct script *writer_openai_parse(long status, const char *body, gsize len, double retry_after,
    enum writer_openai_again *again, struct pipeline_error *err);

/* Seconds in a Retry-After value (delta-seconds or an HTTP date); 0 when
 * absent, past or unreadable. */
double writer_openai_retry_after(const char *value);

/* POSTs to {OPENAI_BASE_URL}/chat/completions with OPENAI_MODEL. */
struct script *writer_openai_write(const struct config *cfg, const char *document,
    const char *requirements, const struct listener_options *opts, struct pipeline_error *err);
#endif
