/* Document bytes to the plain text the writers read.
 *
 * PDF (poppler-glib), plain text and Markdown, recognised by their content
 * first and by the name's extension second. Page text is joined with
 * paragraph breaks ("\n\n"), whitespace inside a paragraph collapsed to one
 * space, words hyphenated across lines rejoined, and the result cut to at
 * most MAX_CHARS characters at a sentence boundary.
 *
 * Every failure here is permanent (the same bytes fail the same way):
 * "The PDF is encrypted", "The file is not a readable PDF", "The document
 * contains no extractable text", "Unsupported document type".
 *
 * Ownership: returned strings are new, the caller g_free()s them. */
#ifndef PP_EXTRACT_H
#define PP_EXTRACT_H

#include <glib.h>

#include "error.h"

enum extract_kind { EXTRACT_PDF, EXTRACT_TEXT, EXTRACT_MARKDOWN, EXTRACT_UNSUPPORTED };

/* What DATA is, given NAME (a key or file name; may be NULL). */
enum extract_kind extract_sniff(const void *data, gsize len, const char *name);

/* The document's text, or NULL and a permanent *err. */
char *extract_text(const void *data, gsize len, const char *name, int max_chars,
    struct pipeline_error *err);

/* Collapses whitespace inside paragraphs; paragraphs (separated by a blank
 * line) are kept apart by exactly one blank line. */
char *extract_normalise(const char *text);

/* TEXT cut to at most MAX_CHARS characters, at the last sentence end when
 * one lies in the second half of that span, else at the last space. */
char *extract_truncate(const char *text, int max_chars);

/* Markdown markup removed, the words kept (headings become paragraphs). */
char *extract_markdown_to_text(const char *md);

#endif
