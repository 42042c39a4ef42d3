/* Document bytes to the plain text the writers read.
 *
 * PDF (poppler-glib), HTML, EPUB, DOCX, plain text and Markdown, one row
 * each in extract.c's table (the HTML, EPUB and DOCX readers live in
 * extract-html.c, extract-epub.c and extract-docx.c, behind
 * extract-private.h). The type is recognised by the content first (PDF's
 * header, an EPUB's "mimetype" member, a DOCX's [Content_Types].xml and
 * word/document.xml, an HTML start tag) and by the name's extension
 * second. Paragraphs are separated by "\n\n", whitespace inside a
 * paragraph collapsed to one space, and the result cut to at most
 * MAX_CHARS characters at a sentence boundary. ZIP-based documents may
 * unpack to at most EXTRACT_UNPACK_LIMIT(MAX_CHARS) bytes in all.
 *
 * Every failure here is permanent (the same bytes fail the same way);
 * doc/pipeline.md lists the messages.
 *
 * Ownership: returned strings are new, the caller g_free()s them. */
#ifndef PP_EXTRACT_H
#define PP_EXTRACT_H

#include <glib.h>

#include "error.h"

enum extract_kind {
	EXTRACT_PDF, EXTRACT_TEXT, EXTRACT_MARKDOWN, EXTRACT_HTML, EXTRACT_EPUB, EXTRACT_DOCX,
	EXTRACT_UNSUPPORTED
};

/* Bytes a ZIP-based document (EPUB, DOCX) may unpack to, all members read
 * together: 16 MiB, plus 256 bytes for every character of text wanted
 * (about 26 MiB for DOCUMENT_MAX_CHARS' 40,000). Markup rarely takes more
 * than a few dozen bytes a character, and reading stops once the text is
 * long enough, so only a ZIP bomb or a document of nearly no text gets
 * there. */
#define EXTRACT_UNPACK_LIMIT(max_chars) ((gint64)16 * 1024 * 1024 + (gint64)256 * (max_chars))

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
