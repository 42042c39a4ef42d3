/* How a pipeline step failed: the message a user reads on the podcast,
 * whether trying again can help, and the least delay before that retry
 * when the provider named one (Gemini's RetryInfo, ElevenLabs' busy answers).
 *
 * Ownership: the message belongs to the struct; pipeline_error_clear()
 * frees it and leaves the struct reusable. */
#ifndef PP_PIPELINE_ERROR_H
#define PP_PIPELINE_ERROR_H

#include <glib.h>

struct pipeline_error {
	char *message;
	gboolean permanent;
	double retry_after;     /* seconds; 0: the retry policy decides */
};

/* Replaces any earlier message. */
void pipeline_error_set(struct pipeline_error *err, gboolean permanent, const char *fmt, ...)
    G_GNUC_PRINTF(3, 4);
void pipeline_error_clear(struct pipeline_error *err);

#endif
