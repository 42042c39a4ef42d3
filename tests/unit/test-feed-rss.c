/* The private feed's document (fcgi/feed-rss.c): XML escaping of hostile
 * text, RFC 822 dates, and a whole feed that GLib's strict XML parser
 * (GMarkup, which refuses what XML 1.0 refuses) reads back field by field. */
#include "autoconfig.h"

#include <string.h>

#include "feed-rss.h"

static void
test_escape(void)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "plain", "plain" },
		{ "</title><script>alert(1)</script>", "&lt;/title&gt;&lt;script&gt;alert(1)&lt;/script&gt;" },
		{ "a & b &amp; \"q\" 'a'", "a &amp; b &amp;amp; &quot;q&quot; &apos;a&apos;" },
		{ "]]> <![CDATA[x]]>", "]]&gt; &lt;![CDATA[x]]&gt;" },
		/* C0 controls XML 1.0 forbids even as references; tab, LF, CR stay. */
		{ "a\x01" "b\x1f" "c\td\ne\rf", "a\xef\xbf\xbd" "b\xef\xbf\xbd" "c\td\ne\rf" },
		/* Invalid UTF-8, and U+FFFE. */
		{ "x\xff" "y\xef\xbf\xbe", "x\xef\xbf\xbd" "y\xef\xbf\xbd" },
		{ "Caf\xc3\xa9 \xf0\x9f\x8e\x99", "Caf\xc3\xa9 \xf0\x9f\x8e\x99" },
		{ "", "" },
		{ NULL, "" },
	};

	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		char *got = feed_xml_escape(cases[i].in);

		g_assert_cmpstr(got, ==, cases[i].out);
		g_free(got);
	}
}

static void
test_dates(void)
{
	char out[32];

	feed_rfc822_date(0, out);
	g_assert_cmpstr(out, ==, "Thu, 01 Jan 1970 00:00:00 GMT");
	feed_rfc822_date(1796624193, out);
	g_assert_cmpstr(out, ==, "Mon, 07 Dec 2026 06:16:33 GMT");
	feed_rfc822_date(951782400, out);
	g_assert_cmpstr(out, ==, "Tue, 29 Feb 2000 00:00:00 GMT");
}

/* What the parser saw: element paths ("rss/channel/item/title") with
 * their text, and each element's attributes as "path@name=value". */
struct seen {
	GPtrArray *stack;
	GString *log;
};

static void
seen_start(GMarkupParseContext *ctx, const char *name, const char **attr_names,
    const char **attr_values, gpointer data, GError **error)
{
	struct seen *s = data;

	(void)ctx;
	(void)error;
	g_ptr_array_add(s->stack, g_strdup(name));
	for (int i = 0; attr_names[i] != NULL; i++)
		g_string_append_printf(s->log, "%s@%s=%s\n", name, attr_names[i], attr_values[i]);
}

static void
seen_end(GMarkupParseContext *ctx, const char *name, gpointer data, GError **error)
{
	struct seen *s = data;

	(void)ctx;
	(void)name;
	(void)error;
	g_ptr_array_remove_index(s->stack, s->stack->len - 1);
}

static void
seen_text(GMarkupParseContext *ctx, const char *text, gsize len, gpointer data, GError **error)
{
	struct seen *s = data;

	(void)ctx;
	(void)error;
	if (s->stack->len == 0 || strspn(text, " \t\r\n") == len)
		return;
	g_string_append_printf(s->log, "%s=%.*s\n", (char *)g_ptr_array_index(s->stack, s->stack->len - 1),
	    (int)len, text);
}

/* The feed as "element=text" and "element@attribute=value" lines, or
 * fails the test when it is not well-formed. */
static char *
parse(const char *xml)
{
	static const GMarkupParser parser = { seen_start, seen_end, seen_text, NULL, NULL };
	struct seen s = { g_ptr_array_new_with_free_func(g_free), g_string_new(NULL) };
	GMarkupParseContext *ctx = g_markup_parse_context_new(&parser, 0, &s, NULL);
	GError *error = NULL;
	/* GMarkup does not take the XML declaration. */
	const char *body = strstr(xml, "?>\n");

	g_assert_true(g_str_has_prefix(xml, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"));
	g_assert_nonnull(body);
	g_markup_parse_context_parse(ctx, body + 3, -1, &error);
	if (error == NULL)
		g_markup_parse_context_end_parse(ctx, &error);
	g_assert_no_error(error);
	g_markup_parse_context_free(ctx);
	g_assert_cmpuint(s.stack->len, ==, 0);
	g_ptr_array_unref(s.stack);
	return g_string_free(s.log, FALSE);
}

static struct podcast_feed_item *
item(const char *id, const char *title, const char *summary, gint64 bytes, gboolean extras)
{
	struct podcast_feed_item *it = g_new0(struct podcast_feed_item, 1);

	g_strlcpy(it->id, id, sizeof it->id);
	it->title = g_strdup(title);
	it->summary = g_strdup(summary);
	it->created = 1796624193;
	it->modified = 1796624200;
	it->duration = 754;
	it->audio_bytes = bytes;
	if (extras) {
		it->vtt_key = g_strdup_printf("podcasts/podcast_%s.vtt", id);
		it->chapters_key = g_strdup_printf("podcasts/podcast_%s.chapters.json", id);
	}
	return it;
}

static void
test_feed(void)
{
	const char *hostile = "</title></item><item><title>pwned & \"x\" \x02 ]]>";
	struct feed_rss_channel ch = { "Podcast <Pro>", "http://127.0.0.1:8080", "D & d", "en",
	    "Podcast Pro", "podcastpro 0.1.0", "http://127.0.0.1:8080/feeds/abc_-/" };
	GPtrArray *items = g_ptr_array_new_with_free_func(podcast_feed_item_free);
	GString *out = g_string_new(NULL);
	char *log, *want;

	g_ptr_array_add(items, item("01KBZ0000000000000000000AA", hostile, "Sum <b>mary</b>", 12345, TRUE));
	g_ptr_array_add(items, item("01KBZ0000000000000000000AB", NULL, NULL, -1, FALSE));
	feed_rss_write(out, &ch, items);
	g_assert_nonnull(strstr(out->str, "xmlns:itunes=\"http://www.itunes.com/dtds/podcast-1.0.dtd\""));
	g_assert_nonnull(strstr(out->str, "xmlns:podcast=\"https://podcastindex.org/namespace/1.0\""));
	log = parse(out->str);
	want = g_strdup_printf(
	    "rss@version=2.0\n"
	    "rss@xmlns:itunes=http://www.itunes.com/dtds/podcast-1.0.dtd\n"
	    "rss@xmlns:podcast=https://podcastindex.org/namespace/1.0\n"
	    "rss@xmlns:atom=http://www.w3.org/2005/Atom\n"
	    "title=Podcast <Pro>\n"
	    "link=http://127.0.0.1:8080\n"
	    "description=D & d\n"
	    "language=en\n"
	    "generator=podcastpro 0.1.0\n"
	    "atom:link@href=http://127.0.0.1:8080/feeds/abc_-/rss.xml\n"
	    "atom:link@rel=self\n"
	    "atom:link@type=application/rss+xml\n"
	    "itunes:author=Podcast Pro\n"
	    "itunes:block=Yes\n"
	    "itunes:explicit=false\n"
	    "itunes:type=episodic\n"
	    "podcast:locked=yes\n"
	    /* The hostile title is one title, its control character replaced. */
	    "title=</title></item><item><title>pwned & \"x\" \xef\xbf\xbd ]]>\n"
	    "guid@isPermaLink=false\n"
	    "guid=01KBZ0000000000000000000AA\n"
	    "pubDate=Mon, 07 Dec 2026 06:16:33 GMT\n"
	    /* HTML, showing the summary's text as it is. */
	    "description=Sum &lt;b&gt;mary&lt;/b&gt;\n"
	    "itunes:summary=Sum <b>mary</b>\n"
	    "enclosure@url=http://127.0.0.1:8080/feeds/abc_-/01KBZ0000000000000000000AA.mp3\n"
	    "enclosure@length=12345\n"
	    "enclosure@type=audio/mpeg\n"
	    "itunes:duration=754\n"
	    "itunes:episodeType=full\n"
	    "itunes:explicit=false\n"
	    "podcast:transcript@url=http://127.0.0.1:8080/feeds/abc_-/01KBZ0000000000000000000AA.vtt\n"
	    "podcast:transcript@type=text/vtt\n"
	    "podcast:chapters@url=http://127.0.0.1:8080/feeds/abc_-/01KBZ0000000000000000000AA.chapters.json\n"
	    "podcast:chapters@type=application/json+chapters\n"
	    /* No title: one made from the id; no summary, transcript or
	     * chapters: none of their elements; an unknown size: 0. */
	    "title=Podcast 01KBZ0000000000000000000AB\n"
	    "guid@isPermaLink=false\n"
	    "guid=01KBZ0000000000000000000AB\n"
	    "pubDate=Mon, 07 Dec 2026 06:16:33 GMT\n"
	    "enclosure@url=http://127.0.0.1:8080/feeds/abc_-/01KBZ0000000000000000000AB.mp3\n"
	    "enclosure@length=0\n"
	    "enclosure@type=audio/mpeg\n"
	    "itunes:duration=754\n"
	    "itunes:episodeType=full\n"
	    "itunes:explicit=false\n");
	g_assert_cmpstr(log, ==, want);
	g_free(want);
	g_free(log);
	g_string_free(out, TRUE);
	g_ptr_array_unref(items);
}

static void
test_empty_feed(void)
{
	struct feed_rss_channel ch = { "T", "L", "D", "en", "A", "G", "B/" };
	GPtrArray *items = g_ptr_array_new();
	GString *out = g_string_new(NULL);
	char *log;

	feed_rss_write(out, &ch, items);
	log = parse(out->str);
	g_assert_null(strstr(log, "item"));
	g_assert_nonnull(strstr(log, "itunes:block=Yes\n"));
	g_free(log);
	g_string_free(out, TRUE);
	g_ptr_array_unref(items);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/feed-rss/escape", test_escape);
	g_test_add_func("/feed-rss/dates", test_dates);
	g_test_add_func("/feed-rss/feed", test_feed);
	g_test_add_func("/feed-rss/empty", test_empty_feed);
	return g_test_run();
}
