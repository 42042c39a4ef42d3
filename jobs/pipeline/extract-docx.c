/* DOCX (Office Open XML): the main document part's paragraphs. The part is
 * the one _rels/.rels names as the office document (word/document.xml in
 * practice), streamed from the ZIP through libxml2's SAX parser: each
 * w:p is a paragraph (headings included), its w:t runs are its text,
 * w:tab is a space, w:br and w:cr break the line (a page break ends the
 * paragraph). Deleted text (w:delText), field codes (w:instrText) and the
 * fallback copy of alternate content are not read; headers, footers,
 * notes and comments live in other parts and are left out. */
#include "autoconfig.h"

#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "extract-private.h"

#define EXTRACT_DOCX_MAIN "word/document.xml"
#define EXTRACT_DOCX_MAX_RELS (1024 * 1024)
#define EXTRACT_DOCX_OFFICE_DOCUMENT "/officeDocument"

/* Transitional and Strict OOXML name WordprocessingML differently. */
static const char *const extract_docx_w[] = {
	"http://schemas.openxmlformats.org/wordprocessingml/2006/main",
	"http://purl.oclc.org/ooxml/wordprocessingml/main",
};
#define EXTRACT_DOCX_MC "http://schemas.openxmlformats.org/markup-compatibility/2006"

gboolean
extract_docx_sniff(const char *data, gsize len)
{
	struct extract_zip *zip;
	gboolean yes;

	if (!extract_zip_magic(data, len) || (zip = extract_zip_open(data, len, 0, NULL, NULL)) == NULL)
		return FALSE;
	yes = extract_zip_has(zip, "[Content_Types].xml") && extract_zip_has(zip, EXTRACT_DOCX_MAIN);
	extract_zip_close(zip);
	return yes;
}

/* The main part named by the package relationships, else the usual name. */
static char *
extract_docx_main_part(struct extract_zip *zip)
{
	char *rels, *part = NULL;
	gsize len = 0;
	xmlDoc *doc;

	if (!extract_zip_has(zip, "_rels/.rels") ||
	    (rels = extract_zip_read(zip, "_rels/.rels", EXTRACT_DOCX_MAX_RELS, &len, NULL)) == NULL)
		return g_strdup(EXTRACT_DOCX_MAIN);
	doc = xmlReadMemory(rels, (int)len, NULL, NULL, XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	g_free(rels);
	for (const xmlNode *n = doc != NULL && xmlDocGetRootElement(doc) != NULL ?
	    xmlDocGetRootElement(doc)->children : NULL; n != NULL && part == NULL; n = n->next) {
		char *type, *target;

		if (n->type != XML_ELEMENT_NODE || strcmp((const char *)n->name, "Relationship") != 0)
			continue;
		type = (char *)xmlGetProp(n, (const xmlChar *)"Type");
		target = (char *)xmlGetProp(n, (const xmlChar *)"Target");
		if (type != NULL && target != NULL && g_str_has_suffix(type, EXTRACT_DOCX_OFFICE_DOCUMENT) &&
		    strstr(target, "://") == NULL)
			part = g_strdup(target + (*target == '/'));
		xmlFree(type);
		xmlFree(target);
	}
	xmlFreeDoc(doc);
	return part != NULL ? part : g_strdup(EXTRACT_DOCX_MAIN);
}

struct extract_docx {
	struct extract_sink *sink;
	xmlParserCtxtPtr ctxt;
	int skip;               /* depth inside mc:Fallback; 0: outside */
	gboolean in_text;       /* inside w:t */
};

static gboolean
extract_docx_is_w(const xmlChar *uri)
{
	for (gsize i = 0; uri != NULL && i < G_N_ELEMENTS(extract_docx_w); i++)
		if (strcmp((const char *)uri, extract_docx_w[i]) == 0)
			return TRUE;
	return FALSE;
}

/* The value of a w: attribute NAME in SAX2's (local, prefix, URI, value,
 * end) tuples, compared with VALUE. */
static gboolean
extract_docx_attr_is(int nb, const xmlChar **attrs, const char *name, const char *value)
{
	for (int i = 0; i < nb; i++) {
		const xmlChar **a = attrs + i * 5;

		if (strcmp((const char *)a[0], name) == 0 && extract_docx_is_w(a[2]))
			return (gsize)(a[4] - a[3]) == strlen(value) && memcmp(a[3], value, strlen(value)) == 0;
	}
	return FALSE;
}

static void
extract_docx_start(void *ctx, const xmlChar *localname, const xmlChar *prefix, const xmlChar *uri,
    int nb_namespaces, const xmlChar **namespaces, int nb_attributes, int nb_defaulted,
    const xmlChar **attributes)
{
	struct extract_docx *d = ctx;
	const char *name = (const char *)localname;

	if (d->skip > 0) {
		d->skip++;
		return;
	}
	if (uri != NULL && strcmp((const char *)uri, EXTRACT_DOCX_MC) == 0 && strcmp(name, "Fallback") == 0) {
		d->skip = 1;
		return;
	}
	if (!extract_docx_is_w(uri))
		return;
	if (strcmp(name, "t") == 0)
		d->in_text = TRUE;
	else if (strcmp(name, "tab") == 0)
		extract_sink_text(d->sink, " ", 1);
	else if (strcmp(name, "noBreakHyphen") == 0)
		extract_sink_text(d->sink, "-", 1);
	else if (strcmp(name, "br") == 0 && extract_docx_attr_is(nb_attributes, attributes, "type", "page"))
		extract_sink_break(d->sink);
	else if (strcmp(name, "br") == 0 || strcmp(name, "cr") == 0)
		extract_sink_newline(d->sink);
}

static void
extract_docx_end(void *ctx, const xmlChar *localname, const xmlChar *prefix, const xmlChar *uri)
{
	struct extract_docx *d = ctx;

	if (d->skip > 0) {
		d->skip--;
		return;
	}
	if (!extract_docx_is_w(uri))
		return;
	if (strcmp((const char *)localname, "t") == 0)
		d->in_text = FALSE;
	else if (strcmp((const char *)localname, "p") == 0)
		extract_sink_break(d->sink);
}

static void
extract_docx_characters(void *ctx, const xmlChar *text, int len)
{
	struct extract_docx *d = ctx;

	if (d->in_text && d->skip == 0)
		extract_sink_text(d->sink, (const char *)text, (gsize)len);
	if (d->sink->full)
		xmlStopParser(d->ctxt);
}

static void
extract_docx_quiet(void *ctx, xmlErrorPtr error)
{
}

static gboolean
extract_docx_feed(const char *chunk, gsize len, gboolean last, void *arg)
{
	struct extract_docx *d = arg;

	xmlParseChunk(d->ctxt, chunk, (int)len, last);
	return !d->sink->full && !d->ctxt->disableSAX;
}

char *
extract_docx(const struct extract_input *in, struct pipeline_error *err)
{
	struct extract_zip *zip = extract_zip_open(in->data, in->len, in->unpack_limit, "DOCX", err);
	struct extract_sink sink;
	struct extract_docx d = { &sink, NULL, 0, FALSE };
	xmlSAXHandler sax;
	char *part, *text = NULL;

	if (zip == NULL)
		return NULL;
	extract_xml_init();
	part = extract_docx_main_part(zip);
	extract_sink_init(&sink, in->enough);
	memset(&sax, 0, sizeof sax);
	sax.initialized = XML_SAX2_MAGIC;
	sax.serror = extract_docx_quiet;
	sax.startElementNs = extract_docx_start;
	sax.endElementNs = extract_docx_end;
	sax.characters = extract_docx_characters;
	if ((d.ctxt = xmlCreatePushParserCtxt(&sax, &d, NULL, 0, NULL)) == NULL)
		g_error("libxml2 could not make a parser");   /* out of memory */
	xmlCtxtUseOptions(d.ctxt, XML_PARSE_RECOVER | XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (extract_zip_stream(zip, part, extract_docx_feed, &d, err) == 0)
		text = extract_sink_finish(&sink);
	else
		g_string_free(sink.out, TRUE);
	xmlFreeParserCtxt(d.ctxt);
	g_free(part);
	extract_zip_close(zip);
	return text;
}
