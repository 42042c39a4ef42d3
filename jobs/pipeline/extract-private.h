/* Between extract.c and its per-format files (extract-html.c,
 * extract-epub.c, extract-docx.c) and the ZIP reader they share
 * (extract-zip.c). Nothing else in the pipeline includes this.
 *
 * A format is one row of extract.c's table: its kind, the extensions that
 * name it, sniff() (the bytes say it is one) and extract() (bytes to raw
 * text; extract.c then normalises and truncates it).
 *
 * Ownership: extract() returns a new string (g_free) or NULL with a
 * permanent *err. A sink owns its GString until extract_sink_finish()
 * hands the text over. A markup parser and a ZIP archive are freed by
 * their _free/_close (NULL is harmless); the archive does not copy the
 * caller's bytes, which must outlive it. */
#ifndef PP_EXTRACT_PRIVATE_H
#define PP_EXTRACT_PRIVATE_H

#include <glib.h>

#include "error.h"
#include "extract.h"

/* What a format's extractor gets. */
struct extract_input {
	const char *data;
	gsize len;
	gsize enough;           /* non-space characters after which more text changes nothing */
	gint64 unpack_limit;    /* bytes all ZIP members read may inflate to, together */
};

/* A ZIP archive holds at most this many entries (an EPUB of a long book
 * with its images has a few hundred). */
#define EXTRACT_ZIP_MAX_ENTRIES 10000

/* Markup text as parsers deliver it: runs of ASCII whitespace become one
 * space, extract_sink_break() ends a paragraph ("\n\n"), and the sink is
 * full (further text is dropped) once ENOUGH non-space characters are in. */
struct extract_sink {
	GString *out;
	gsize nonspace;
	gsize enough;
	gboolean full;
};

void extract_sink_init(struct extract_sink *sink, gsize enough);
void extract_sink_text(struct extract_sink *sink, const char *text, gsize len);
void extract_sink_newline(struct extract_sink *sink);
void extract_sink_break(struct extract_sink *sink);
/* The text; the sink is empty afterwards. */
char *extract_sink_finish(struct extract_sink *sink);
/* Appends the character an HTML entity NAME stands for ("eacute");
 * unknown names add nothing. */
void extract_sink_entity(struct extract_sink *sink, const char *name);

/* HTML (libxml2's HTML parser) or XHTML (its XML parser) pushed in
 * chunks into SINK: head, script, style, nav and the like dropped, block
 * elements ending paragraphs, entities decoded, the declared charset
 * honoured. ENCODING forces one (NULL: declared or detected). */
struct extract_markup;

struct extract_markup *extract_markup_new(struct extract_sink *sink, gboolean xml, const char *encoding);
/* FALSE once the sink is full: feeding more is useless. LAST ends the document. */
gboolean extract_markup_feed(struct extract_markup *markup, const char *chunk, gsize len, gboolean last);
void extract_markup_free(struct extract_markup *markup);

/* libxml2 parser set-up shared by the XML users: once per process. */
void extract_xml_init(void);

/* ZIP archives (libzip) read from memory within the input's limits. */
struct extract_zip;

/* TRUE when DATA starts like a ZIP archive ("PK\3\4", or an empty one). */
gboolean extract_zip_magic(const char *data, gsize len);
/* The archive, or NULL and *err (may be NULL, for sniffing): "The file is
 * not a valid FORMAT (not a ZIP archive)", "The document is corrupt: ...",
 * "The document is too large: ..." (entry count). */
struct extract_zip *extract_zip_open(const char *data, gsize len, gint64 unpack_limit,
    const char *format, struct pipeline_error *err);
void extract_zip_close(struct extract_zip *zip);
/* Whether NAME is a member (exactly, else in any case). */
gboolean extract_zip_has(struct extract_zip *zip, const char *name);
/* A whole member of at most MAX bytes, NUL-terminated, *LEN its length;
 * NULL and *err when missing ("The file is not a valid FORMAT (NAME
 * missing)"), larger, damaged or over the unpack limit. */
char *extract_zip_read(struct extract_zip *zip, const char *name, gsize max, gsize *len,
    struct pipeline_error *err);
/* Feeds member NAME to FN in chunks (the last call with LAST set) until FN
 * returns FALSE. 0, or -1 and *err (missing, damaged, over the limit). */
typedef gboolean (*extract_zip_chunk_fn)(const char *chunk, gsize len, gboolean last, void *arg);
int extract_zip_stream(struct extract_zip *zip, const char *name, extract_zip_chunk_fn fn, void *arg,
    struct pipeline_error *err);

/* The formats (one file each). */
gboolean extract_html_sniff(const char *data, gsize len);
char *extract_html(const struct extract_input *in, struct pipeline_error *err);
gboolean extract_epub_sniff(const char *data, gsize len);
char *extract_epub(const struct extract_input *in, struct pipeline_error *err);
gboolean extract_docx_sniff(const char *data, gsize len);
char *extract_docx(const struct extract_input *in, struct pipeline_error *err);

#endif
