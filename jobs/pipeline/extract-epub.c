/* EPUB: the book's text in reading order. META-INF/container.xml names
 * the package document (OPF); its spine lists the content documents in
 * reading order (items marked linear="no", such as notes, are left out);
 * each XHTML document goes through extract-html.c's markup parser, one
 * chapter after the other, until there is enough text. */
#include "autoconfig.h"

#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "extract-private.h"

#define EXTRACT_EPUB_MIMETYPE "application/epub+zip"
/* container.xml and the OPF are small; a long book's OPF is some 100 KiB. */
#define EXTRACT_EPUB_MAX_META (4 * 1024 * 1024)

gboolean
extract_epub_sniff(const char *data, gsize len)
{
	struct extract_zip *zip;
	char *mimetype;
	gboolean yes;

	if (!extract_zip_magic(data, len))
		return FALSE;
	/* The EPUB specification puts "mimetype" first, stored: readable even
	 * when the archive is cut short. */
	if (len >= 58 && memcmp(data + 30, "mimetype" EXTRACT_EPUB_MIMETYPE, 28) == 0)
		return TRUE;
	if ((zip = extract_zip_open(data, len, 4096, NULL, NULL)) == NULL)
		return FALSE;
	mimetype = extract_zip_has(zip, "mimetype") ? extract_zip_read(zip, "mimetype", 256, NULL, NULL) : NULL;
	yes = mimetype != NULL && g_str_has_prefix(g_strstrip(mimetype), EXTRACT_EPUB_MIMETYPE);
	g_free(mimetype);
	extract_zip_close(zip);
	return yes;
}

static gboolean
extract_epub_is(const xmlNode *n, const char *name)
{
	return n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, name) == 0;
}

static const xmlNode *
extract_epub_child(const xmlNode *parent, const char *name)
{
	for (const xmlNode *n = parent != NULL ? parent->children : NULL; n != NULL; n = n->next)
		if (extract_epub_is(n, name))
			return n;
	return NULL;
}

/* An attribute's value (new string, xmlFree), or NULL. */
static char *
extract_epub_attr(const xmlNode *n, const char *name)
{
	return (char *)xmlGetProp(n, (const xmlChar *)name);
}

/* A member read and parsed; NULL and *err when missing or not XML. */
static xmlDoc *
extract_epub_xml(struct extract_zip *zip, const char *name, struct pipeline_error *err)
{
	gsize len = 0;
	char *data = extract_zip_read(zip, name, EXTRACT_EPUB_MAX_META, &len, err);
	xmlDoc *doc;

	if (data == NULL)
		return NULL;
	doc = xmlReadMemory(data, (int)len, NULL, NULL,
	    XML_PARSE_RECOVER | XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	g_free(data);
	if (doc == NULL || xmlDocGetRootElement(doc) == NULL) {
		pipeline_error_set(err, TRUE, "The file is not a valid EPUB (%s is not XML)", name);
		xmlFreeDoc(doc);
		return NULL;
	}
	return doc;
}

/* The package document's path, from container.xml. */
static char *
extract_epub_package_path(struct extract_zip *zip, struct pipeline_error *err)
{
	xmlDoc *doc = extract_epub_xml(zip, "META-INF/container.xml", err);
	const xmlNode *rootfiles;
	char *path = NULL;

	if (doc == NULL)
		return NULL;
	rootfiles = extract_epub_child(xmlDocGetRootElement(doc), "rootfiles");
	for (const xmlNode *n = rootfiles != NULL ? rootfiles->children : NULL; n != NULL && path == NULL;
	    n = n->next) {
		char *full = extract_epub_is(n, "rootfile") ? extract_epub_attr(n, "full-path") : NULL;

		if (full != NULL && *full != '\0')
			path = g_strdup(full);
		xmlFree(full);
	}
	xmlFreeDoc(doc);
	if (path == NULL)
		pipeline_error_set(err, TRUE, "The file is not a valid EPUB (META-INF/container.xml names no package document)");
	return path;
}

/* HREF (relative to BASE, the package's directory, percent-encoded, maybe
 * with a fragment) as a member name, or NULL when it points outside. */
static char *
extract_epub_member(const char *base, const char *href)
{
	char *plain, *joined, **parts;
	GPtrArray *kept = g_ptr_array_new();
	char *name = NULL;

	if (strstr(href, "://") != NULL || *href == '/')
		goto out;
	plain = g_strndup(href, strcspn(href, "#?"));
	joined = g_uri_unescape_string(plain, NULL);
	if (joined == NULL)
		joined = g_strdup(plain);
	g_free(plain);
	plain = *base != '\0' ? g_strconcat(base, "/", joined, NULL) : g_strdup(joined);
	g_free(joined);
	parts = g_strsplit(plain, "/", -1);
	g_free(plain);
	for (char **p = parts; *p != NULL; p++) {
		if (**p == '\0' || strcmp(*p, ".") == 0)
			continue;
		if (strcmp(*p, "..") == 0) {
			if (kept->len == 0) {
				g_strfreev(parts);
				goto out;
			}
			g_ptr_array_remove_index(kept, kept->len - 1);
			continue;
		}
		g_ptr_array_add(kept, *p);
	}
	g_ptr_array_add(kept, NULL);
	name = g_strjoinv("/", (char **)kept->pdata);
	g_strfreev(parts);
out:
	g_ptr_array_free(kept, TRUE);
	return name;
}

struct extract_epub_item {
	char *member;           /* NULL: outside the archive */
	gboolean xml;           /* application/xhtml+xml (else text/html) */
};

static void
extract_epub_item_free(gpointer p)
{
	struct extract_epub_item *item = p;

	g_free(item->member);
	g_free(item);
}

/* The spine's readable documents in reading order. */
static GPtrArray *
extract_epub_spine(xmlDoc *opf, const char *base)
{
	const xmlNode *package = xmlDocGetRootElement(opf);
	const xmlNode *manifest = extract_epub_child(package, "manifest");
	const xmlNode *spine = extract_epub_child(package, "spine");
	GHashTable *items = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, extract_epub_item_free);
	GPtrArray *order = g_ptr_array_new();

	for (const xmlNode *n = manifest != NULL ? manifest->children : NULL; n != NULL; n = n->next) {
		char *id, *href, *type;

		if (!extract_epub_is(n, "item"))
			continue;
		id = extract_epub_attr(n, "id");
		href = extract_epub_attr(n, "href");
		type = extract_epub_attr(n, "media-type");
		if (id != NULL && href != NULL && type != NULL &&
		    (strcmp(type, "application/xhtml+xml") == 0 || strcmp(type, "text/html") == 0)) {
			struct extract_epub_item *item = g_new0(struct extract_epub_item, 1);

			item->member = extract_epub_member(base, href);
			item->xml = strcmp(type, "application/xhtml+xml") == 0;
			g_hash_table_replace(items, g_strdup(id), item);
		}
		xmlFree(id);
		xmlFree(href);
		xmlFree(type);
	}
	for (const xmlNode *n = spine != NULL ? spine->children : NULL; n != NULL; n = n->next) {
		char *idref, *linear;
		struct extract_epub_item *item;

		if (!extract_epub_is(n, "itemref"))
			continue;
		idref = extract_epub_attr(n, "idref");
		linear = extract_epub_attr(n, "linear");
		item = idref != NULL ? g_hash_table_lookup(items, idref) : NULL;
		if (item != NULL && (linear == NULL || strcmp(linear, "no") != 0)) {
			struct extract_epub_item *copy = g_new0(struct extract_epub_item, 1);

			copy->member = g_strdup(item->member);
			copy->xml = item->xml;
			g_ptr_array_add(order, copy);
		}
		xmlFree(idref);
		xmlFree(linear);
	}
	g_ptr_array_set_free_func(order, extract_epub_item_free);
	g_hash_table_destroy(items);
	return order;
}

static gboolean
extract_epub_feed(const char *chunk, gsize len, gboolean last, void *arg)
{
	struct extract_markup *markup = arg;

	return extract_markup_feed(markup, chunk, len, last);
}

char *
extract_epub(const struct extract_input *in, struct pipeline_error *err)
{
	struct extract_zip *zip = extract_zip_open(in->data, in->len, in->unpack_limit, "EPUB", err);
	struct extract_sink sink = { 0 };
	GPtrArray *spine = NULL;
	xmlDoc *opf = NULL;
	char *package = NULL, *base = NULL, *missing = NULL, *text = NULL;
	guint read = 0, absent = 0;

	if (zip == NULL)
		return NULL;
	extract_xml_init();
	if ((package = extract_epub_package_path(zip, err)) == NULL)
		goto out;
	if ((opf = extract_epub_xml(zip, package, err)) == NULL)
		goto out;
	base = g_path_get_dirname(package);
	if (strcmp(base, ".") == 0)
		*base = '\0';
	spine = extract_epub_spine(opf, base);
	extract_sink_init(&sink, in->enough);
	for (guint i = 0; i < spine->len && !sink.full; i++) {
		const struct extract_epub_item *item = g_ptr_array_index(spine, i);
		struct extract_markup *markup;
		int rc;

		if (item->member == NULL || !extract_zip_has(zip, item->member)) {
			if (absent++ == 0)
				missing = g_strdup(item->member != NULL ? item->member : "a file outside the book");
			continue;
		}
		/* EPUB content is UTF-8 (or UTF-16, with a BOM the parsers see);
		 * libxml2's HTML parser would take undeclared bytes for Latin-1. */
		markup = extract_markup_new(&sink, item->xml, item->xml ? NULL : "UTF-8");
		rc = extract_zip_stream(zip, item->member, extract_epub_feed, markup, err);
		extract_markup_free(markup);
		if (rc != 0)
			goto out;
		extract_sink_break(&sink);
		read++;
	}
	if (read == 0 && absent > 0)
		pipeline_error_set(err, TRUE, "The EPUB has no readable chapters: its spine lists %u document%s "
		    "missing from the archive, the first %s", absent, absent == 1 ? "" : "s", missing);
	else if (read == 0)
		pipeline_error_set(err, TRUE, "The EPUB has no readable chapters: its spine lists none");
	else
		text = extract_sink_finish(&sink);
out:
	if (sink.out != NULL)
		g_string_free(sink.out, TRUE);
	if (spine != NULL)
		g_ptr_array_unref(spine);
	xmlFreeDoc(opf);
	g_free(package);
	g_free(base);
	g_free(missing);
	extract_zip_close(zip);
	return text;
}
