/* Writers: document text (and the listener's wishes) to a script.
 *
 * builtin: offline and deterministic, picks the document's most
 *   informative sentences and stages them as a conversation (doc/pipeline.md
 *   explains the scoring).
 * gemini: one generateContent call with structured output.
 *
 * Ownership: returned scripts are the caller's (script_free); requests
 * (json_t) are new references. Errors go to *err: permanent or retryable,
 * with the provider's minimum retry delay when it gave one. */
#ifndef PP_WRITER_H
#define PP_WRITER_H

#include <glib.h>
#include <jansson.h>

#include "error.h"
#include "script.h"

struct config;

/* Never fails for a document with at least one sentence; NULL and a
 * permanent *err otherwise. REQUIREMENTS may be NULL. */
struct script *writer_builtin_write(const char *document, const char *requirements,
    struct pipeline_error *err);

/* The sentences of TEXT in order (new strings; free with g_ptr_array_unref). */
GPtrArray *writer_split_sentences(const char *text);

/* The generateContent body for DOCUMENT and REQUIREMENTS (may be NULL). */
json_t *writer_gemini_request(const char *model, const char *document, const char *requirements);

/* Interprets a generateContent answer: HTTP STATUS (0: no answer, BODY is
 * then the transport error) and its body. */
struct script *writer_gemini_parse(long status, const char *body, gsize len,
    struct pipeline_error *err);

/* Seconds in a google.protobuf.Duration string ("57s", "1.5s"), or -1. */
double writer_gemini_duration(const char *text);

/* Calls GEMINI_API_URL/v1beta/models/{GEMINI_MODEL}:generateContent. */
struct script *writer_gemini_write(const struct config *cfg, const char *document,
    const char *requirements, struct pipeline_error *err);

#endif
