/* HTML to text with libxml2's HTML parser (and XHTML, for EPUB chapters,
 * with its XML parser), through SAX callbacks: no tree is built, text is
 * kept as it arrives, and parsing stops once there is enough of it.
 * What a page shows as prose is kept; what it does not read out is
 * dropped (head, scripts, styles, navigation, forms' widgets, media
 * fallbacks, elements marked hidden). Block elements end paragraphs. */
#include "autoconfig.h"

#include <string.h>

#include <libxml/HTMLparser.h>
#include <libxml/parser.h>

#include "extract-private.h"

#define EXTRACT_HTML_CHUNK 65536
/* HTML's encoding prescan looks at this many bytes for a declaration. */
#define EXTRACT_HTML_PRESCAN 1024

/* ---- the sink ---- */

void
extract_sink_init(struct extract_sink *s, gsize enough)
{
	s->out = g_string_new(NULL);
	s->nonspace = 0;
	s->enough = enough;
	s->full = FALSE;
}

void
extract_sink_text(struct extract_sink *s, const char *text, gsize len)
{
	GString *o = s->out;

	for (gsize i = 0; i < len && !s->full; i++) {
		char c = text[i];

		if (g_ascii_isspace(c)) {
			if (o->len > 0 && !g_ascii_isspace(o->str[o->len - 1]))
				g_string_append_c(o, ' ');
			continue;
		}
		if (((guchar)c & 0xc0) != 0x80) {   /* a character starts here */
			if (s->nonspace >= s->enough) {
				s->full = TRUE;
				break;
			}
			s->nonspace++;
		}
		g_string_append_c(o, c);
	}
}

static void
extract_sink_end_line(struct extract_sink *s, const char *end)
{
	GString *o = s->out;

	while (o->len > 0 && o->str[o->len - 1] == ' ')
		g_string_truncate(o, o->len - 1);
	if (o->len == 0 || g_str_has_suffix(o->str, "\n\n"))
		return;
	g_string_append(o, o->str[o->len - 1] == '\n' ? "\n" : end);
}

void
extract_sink_newline(struct extract_sink *s)
{
	extract_sink_end_line(s, "\n");
}

void
extract_sink_break(struct extract_sink *s)
{
	extract_sink_end_line(s, "\n\n");
}

char *
extract_sink_finish(struct extract_sink *s)
{
	char *text = g_string_free(s->out, FALSE);

	s->out = NULL;
	return text;
}

void
extract_sink_entity(struct extract_sink *s, const char *name)
{
	const htmlEntityDesc *e = htmlEntityLookup((const xmlChar *)name);
	char utf8[8];
	int n;

	if (e == NULL)
		return;
	n = g_unichar_to_utf8((gunichar)e->value, utf8);
	extract_sink_text(s, utf8, (gsize)n);
}

/* ---- markup ---- */

enum extract_role { ROLE_INLINE, ROLE_DROP, ROLE_BLOCK, ROLE_LINE, ROLE_CELL };

static const struct {
	const char *name;
	enum extract_role role;
} extract_html_roles[] = {
	{ "head", ROLE_DROP }, { "script", ROLE_DROP }, { "style", ROLE_DROP }, { "nav", ROLE_DROP },
	{ "noscript", ROLE_DROP }, { "template", ROLE_DROP }, { "svg", ROLE_DROP }, { "math", ROLE_DROP },
	{ "iframe", ROLE_DROP }, { "object", ROLE_DROP }, { "embed", ROLE_DROP }, { "canvas", ROLE_DROP },
	{ "audio", ROLE_DROP }, { "video", ROLE_DROP }, { "select", ROLE_DROP }, { "button", ROLE_DROP },
	{ "textarea", ROLE_DROP }, { "footer", ROLE_DROP }, { "title", ROLE_DROP },
	{ "p", ROLE_BLOCK }, { "div", ROLE_BLOCK }, { "h1", ROLE_BLOCK }, { "h2", ROLE_BLOCK },
	{ "h3", ROLE_BLOCK }, { "h4", ROLE_BLOCK }, { "h5", ROLE_BLOCK }, { "h6", ROLE_BLOCK },
	{ "li", ROLE_BLOCK }, { "ul", ROLE_BLOCK }, { "ol", ROLE_BLOCK }, { "dl", ROLE_BLOCK },
	{ "dt", ROLE_BLOCK }, { "dd", ROLE_BLOCK }, { "blockquote", ROLE_BLOCK }, { "pre", ROLE_BLOCK },
	{ "section", ROLE_BLOCK }, { "article", ROLE_BLOCK }, { "header", ROLE_BLOCK }, { "main", ROLE_BLOCK },
	{ "aside", ROLE_BLOCK }, { "figure", ROLE_BLOCK }, { "figcaption", ROLE_BLOCK }, { "table", ROLE_BLOCK },
	{ "tr", ROLE_BLOCK }, { "caption", ROLE_BLOCK }, { "hr", ROLE_BLOCK }, { "address", ROLE_BLOCK },
	{ "details", ROLE_BLOCK }, { "summary", ROLE_BLOCK }, { "body", ROLE_BLOCK }, { "center", ROLE_BLOCK },
	{ "fieldset", ROLE_BLOCK }, { "legend", ROLE_BLOCK }, { "hgroup", ROLE_BLOCK }, { "menu", ROLE_BLOCK },
	{ "br", ROLE_LINE }, { "td", ROLE_CELL }, { "th", ROLE_CELL },
};

struct extract_markup {
	struct extract_sink *sink;
	xmlParserCtxtPtr ctxt;
	gboolean xml;
	int drop;               /* depth inside a dropped element; 0: outside */
};

static enum extract_role
extract_html_role(const char *name)
{
	for (gsize i = 0; i < G_N_ELEMENTS(extract_html_roles); i++)
		if (g_ascii_strcasecmp(name, extract_html_roles[i].name) == 0)
			return extract_html_roles[i].role;
	return ROLE_INLINE;
}

static void
extract_markup_open(struct extract_markup *m, const char *name, gboolean hidden)
{
	enum extract_role role;

	if (m->drop > 0) {
		m->drop++;
		return;
	}
	role = hidden ? ROLE_DROP : extract_html_role(name);
	if (role == ROLE_DROP)
		m->drop = 1;
	else if (role == ROLE_BLOCK)
		extract_sink_break(m->sink);
	else if (role == ROLE_LINE)
		extract_sink_newline(m->sink);
	else if (role == ROLE_CELL)
		extract_sink_text(m->sink, " ", 1);
}

static void
extract_markup_close(struct extract_markup *m, const char *name)
{
	if (m->drop > 0) {
		m->drop--;
		return;
	}
	if (extract_html_role(name) == ROLE_BLOCK)
		extract_sink_break(m->sink);
}

static void
extract_markup_stop_when_full(struct extract_markup *m)
{
	if (m->sink->full)
		xmlStopParser(m->ctxt);
}

/* HTML's SAX: names lower-cased, attributes as name/value pairs. */
static void
extract_html_start(void *ctx, const xmlChar *name, const xmlChar **atts)
{
	gboolean hidden = FALSE;

	for (int i = 0; atts != NULL && atts[i] != NULL; i += 2)
		if (g_ascii_strcasecmp((const char *)atts[i], "hidden") == 0)
			hidden = TRUE;
	extract_markup_open(ctx, (const char *)name, hidden);
}

static void
extract_html_end(void *ctx, const xmlChar *name)
{
	extract_markup_close(ctx, (const char *)name);
}

/* XML's SAX2: local names; attributes as (local, prefix, URI, value, end). */
static void
extract_xhtml_start(void *ctx, const xmlChar *localname, const xmlChar *prefix, const xmlChar *uri,
    int nb_namespaces, const xmlChar **namespaces, int nb_attributes, int nb_defaulted,
    const xmlChar **attributes)
{
	gboolean hidden = FALSE;

	for (int i = 0; i < nb_attributes; i++)
		if (attributes[i * 5 + 1] == NULL && strcmp((const char *)attributes[i * 5], "hidden") == 0)
			hidden = TRUE;
	extract_markup_open(ctx, (const char *)localname, hidden);
}

static void
extract_xhtml_end(void *ctx, const xmlChar *localname, const xmlChar *prefix, const xmlChar *uri)
{
	extract_markup_close(ctx, (const char *)localname);
}

static void
extract_markup_characters(void *ctx, const xmlChar *text, int len)
{
	struct extract_markup *m = ctx;

	if (m->drop == 0)
		extract_sink_text(m->sink, (const char *)text, (gsize)len);
	extract_markup_stop_when_full(m);
}

/* An entity XML does not know (XHTML 1.1's &nbsp; without its DTD). */
static void
extract_markup_reference(void *ctx, const xmlChar *name)
{
	struct extract_markup *m = ctx;

	if (m->drop == 0)
		extract_sink_entity(m->sink, (const char *)name);
}

static void
extract_xml_quiet(void *ctx, xmlErrorPtr error)
{
	/* Documents are messy; recovery keeps going and nobody reads these. */
}

void
extract_xml_init(void)
{
	static gsize done;

	if (g_once_init_enter(&done)) {
		xmlInitParser();
		g_once_init_leave(&done, 1);
	}
}

struct extract_markup *
extract_markup_new(struct extract_sink *sink, gboolean xml, const char *encoding)
{
	struct extract_markup *m = g_new0(struct extract_markup, 1);
	xmlSAXHandler sax;

	extract_xml_init();
	memset(&sax, 0, sizeof sax);
	sax.initialized = XML_SAX2_MAGIC;   /* errors go to serror, not stderr */
	sax.serror = extract_xml_quiet;
	sax.characters = extract_markup_characters;
	sax.cdataBlock = extract_markup_characters;
	sax.reference = extract_markup_reference;
	m->sink = sink;
	m->xml = xml;
	if (xml) {
		sax.startElementNs = extract_xhtml_start;
		sax.endElementNs = extract_xhtml_end;
		m->ctxt = xmlCreatePushParserCtxt(&sax, m, NULL, 0, NULL);
		if (m->ctxt != NULL)
			xmlCtxtUseOptions(m->ctxt, XML_PARSE_RECOVER | XML_PARSE_NONET | XML_PARSE_NOERROR |
			    XML_PARSE_NOWARNING);
	} else {
		sax.startElement = extract_html_start;
		sax.endElement = extract_html_end;
		m->ctxt = htmlCreatePushParserCtxt(&sax, m, NULL, 0, NULL,
		    encoding != NULL ? xmlParseCharEncoding(encoding) : XML_CHAR_ENCODING_NONE);
		if (m->ctxt != NULL)
			htmlCtxtUseOptions(m->ctxt, HTML_PARSE_RECOVER | HTML_PARSE_NONET | HTML_PARSE_NOERROR |
			    HTML_PARSE_NOWARNING);
	}
	if (m->ctxt == NULL)
		g_error("libxml2 could not make a parser");   /* out of memory */
	return m;
}

gboolean
extract_markup_feed(struct extract_markup *m, const char *chunk, gsize len, gboolean last)
{
	while (!m->sink->full) {
		int n = (int)MIN(len, (gsize)EXTRACT_HTML_CHUNK);
		gboolean end = last && (gsize)n == len;

		if (m->xml)
			xmlParseChunk(m->ctxt, chunk, n, end);
		else
			htmlParseChunk(m->ctxt, chunk, n, end);
		chunk += n;
		len -= (gsize)n;
		if (len == 0 || m->ctxt->disableSAX)
			break;
	}
	return !m->sink->full;
}

void
extract_markup_free(struct extract_markup *m)
{
	if (m == NULL)
		return;
	if (m->xml)
		xmlFreeParserCtxt(m->ctxt);
	else
		htmlFreeParserCtxt(m->ctxt);
	g_free(m);
}

/* ---- the HTML format ---- */

static const char *
extract_html_skip_space(const char *s, const char *end)
{
	if (end - s >= 3 && memcmp(s, "\xef\xbb\xbf", 3) == 0)
		s += 3;
	while (s < end && g_ascii_isspace(*s))
		s++;
	return s;
}

static gboolean
extract_html_starts(const char *s, const char *end, const char *prefix)
{
	gsize n = strlen(prefix);

	return (gsize)(end - s) >= n && g_ascii_strncasecmp(s, prefix, n) == 0;
}

static gboolean
extract_html_window_has(const char *s, const char *end, const char *needle)
{
	gsize n = strlen(needle);

	for (; (gsize)(end - s) >= n; s++)
		if (g_ascii_strncasecmp(s, needle, n) == 0)
			return TRUE;
	return FALSE;
}

gboolean
extract_html_sniff(const char *data, gsize len)
{
	const char *end = data + MIN(len, (gsize)EXTRACT_HTML_PRESCAN);
	const char *s = extract_html_skip_space(data, end);

	if (extract_html_starts(s, end, "<!doctype html") || extract_html_starts(s, end, "<html") ||
	    extract_html_starts(s, end, "<head") || extract_html_starts(s, end, "<body"))
		return TRUE;
	/* An XML declaration or a comment first: XHTML, or HTML with a banner. */
	return (extract_html_starts(s, end, "<?xml") || extract_html_starts(s, end, "<!--")) &&
	    extract_html_window_has(s, end, "<html");
}

/* The encoding of a page that declares none (no BOM, no "charset" or
 * XML "encoding=" in the first 1024 bytes): UTF-8 when it is valid UTF-8
 * (libxml2 would take Latin-1), else windows-1252, as browsers read it.
 * NULL: declared, libxml2 follows the declaration. */
static const char *
extract_html_undeclared(const struct extract_input *in)
{
	const char *end = in->data + MIN(in->len, (gsize)EXTRACT_HTML_PRESCAN);

	if (extract_html_window_has(in->data, end, "charset") || extract_html_window_has(in->data, end, "encoding=") ||
	    (in->len >= 2 && (memcmp(in->data, "\xff\xfe", 2) == 0 || memcmp(in->data, "\xfe\xff", 2) == 0)))
		return NULL;
	return g_utf8_validate(in->data, (gssize)in->len, NULL) ? "UTF-8" : "WINDOWS-1252";
}

char *
extract_html(const struct extract_input *in, struct pipeline_error *err)
{
	struct extract_sink sink;
	struct extract_markup *m;
	const char *encoding = extract_html_undeclared(in);
	char *converted = NULL;
	gsize len = 0;

	if (encoding != NULL && strcmp(encoding, "WINDOWS-1252") == 0) {
		/* iconv's windows-1252 refuses its five unassigned bytes: Latin-1 then. */
		converted = g_convert(in->data, (gssize)in->len, "UTF-8", "WINDOWS-1252", NULL, &len, NULL);
		if (converted == NULL)
			converted = g_convert(in->data, (gssize)in->len, "UTF-8", "ISO-8859-1", NULL, &len, NULL);
		encoding = "UTF-8";
	}
	extract_sink_init(&sink, in->enough);
	m = extract_markup_new(&sink, FALSE, encoding);
	if (converted != NULL)
		extract_markup_feed(m, converted, len, TRUE);
	else
		extract_markup_feed(m, in->data, in->len, TRUE);
	extract_markup_free(m);
	g_free(converted);
	return extract_sink_finish(&sink);
}
