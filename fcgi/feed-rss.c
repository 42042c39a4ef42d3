/* The feed's RSS document (see feed-rss.h). */
#include "autoconfig.h"

#include <string.h>
#include <time.h>

#include "feed-rss.h"

#define FEED_NS_ITUNES "http://www.itunes.com/dtds/podcast-1.0.dtd"
#define FEED_NS_PODCAST "https://podcastindex.org/namespace/1.0"
#define FEED_NS_ATOM "http://www.w3.org/2005/Atom"

/* A Char of XML 1.0 (section 2.2), for a character of valid UTF-8. */
static gboolean
feed_xml_char_ok(gunichar c)
{
	if (c < 0x20)
		return c == '\t' || c == '\n' || c == '\r';
	return c != 0xFFFE && c != 0xFFFF;
}

char *
feed_xml_escape(const char *text)
{
	char *valid = g_utf8_make_valid(text != NULL ? text : "", -1);
	GString *clean = g_string_sized_new(strlen(valid));
	char *escaped;

	for (const char *p = valid; *p != '\0'; p = g_utf8_next_char(p)) {
		gunichar c = g_utf8_get_char(p);

		if (feed_xml_char_ok(c))
			g_string_append_len(clean, p, g_utf8_next_char(p) - p);
		else
			g_string_append_unichar(clean, 0xFFFD);
	}
	escaped = g_markup_escape_text(clean->str, (gssize)clean->len);
	g_string_free(clean, TRUE);
	g_free(valid);
	return escaped;
}

void
feed_rfc822_date(gint64 t, char out[32])
{
	static const char days[7][4] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char months[12][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug",
	    "Sep", "Oct", "Nov", "Dec" };
	time_t tt = (time_t)t;
	struct tm tm;

	/* Names spelled here: strftime's %a and %b follow the locale. */
	gmtime_r(&tt, &tm);
	g_snprintf(out, 32, "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday], tm.tm_mday,
	    months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* <NAME>escaped TEXT</NAME> and a line break. */
static void
feed_element(GString *out, const char *indent, const char *name, const char *text)
{
	char *esc = feed_xml_escape(text);

	g_string_append_printf(out, "%s<%s>%s</%s>\n", indent, name, esc, name);
	g_free(esc);
}

static void
feed_item_write(GString *out, const char *base, const struct podcast_feed_item *it)
{
	char date[32], *fallback = NULL;

	g_string_append(out, "<item>\n");
	if (it->title == NULL || *it->title == '\0')
		fallback = g_strdup_printf("Podcast %s", it->id);
	feed_element(out, "\t", "title", fallback != NULL ? fallback : it->title);
	/* The id is a ULID: nothing in it to escape. */
	g_string_append_printf(out, "\t<guid isPermaLink=\"false\">%s</guid>\n", it->id);
	feed_rfc822_date(it->created, date);
	g_string_append_printf(out, "\t<pubDate>%s</pubDate>\n", date);
	if (it->summary != NULL && *it->summary != '\0') {
		/* An RSS description is HTML, the summary plain text: escaped
		 * for HTML first, so that apps show it as it was written. */
		char *html = feed_xml_escape(it->summary);

		feed_element(out, "\t", "description", html);
		feed_element(out, "\t", "itunes:summary", it->summary);
		g_free(html);
	}
	g_string_append_printf(out, "\t<enclosure url=\"%s%s" FEED_AUDIO_SUFFIX "\" length=\"%"
	    G_GINT64_FORMAT "\" type=\"audio/mpeg\"/>\n", base, it->id, MAX(it->audio_bytes, 0));
	g_string_append_printf(out, "\t<itunes:duration>%d</itunes:duration>\n", MAX(it->duration, 0));
	g_string_append(out, "\t<itunes:episodeType>full</itunes:episodeType>\n"
	    "\t<itunes:explicit>false</itunes:explicit>\n");
	if (it->vtt_key != NULL)
		g_string_append_printf(out, "\t<podcast:transcript url=\"%s%s" FEED_TRANSCRIPT_SUFFIX
		    "\" type=\"" FEED_TRANSCRIPT_TYPE "\"/>\n", base, it->id);
	if (it->chapters_key != NULL)
		g_string_append_printf(out, "\t<podcast:chapters url=\"%s%s" FEED_CHAPTERS_SUFFIX
		    "\" type=\"" FEED_CHAPTERS_TYPE "\"/>\n", base, it->id);
	g_string_append(out, "</item>\n");
	g_free(fallback);
}

void
feed_rss_write(GString *out, const struct feed_rss_channel *ch, const GPtrArray *items)
{
	char *base = feed_xml_escape(ch->base_url);

	g_string_append(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	    "<rss version=\"2.0\" xmlns:itunes=\"" FEED_NS_ITUNES "\" xmlns:podcast=\"" FEED_NS_PODCAST
	    "\" xmlns:atom=\"" FEED_NS_ATOM "\">\n<channel>\n");
	feed_element(out, "", "title", ch->title);
	feed_element(out, "", "link", ch->link);
	feed_element(out, "", "description", ch->description);
	feed_element(out, "", "language", ch->language);
	feed_element(out, "", "generator", ch->generator);
	g_string_append_printf(out, "<atom:link href=\"%s" FEED_RSS_FILE "\" rel=\"self\" "
	    "type=\"application/rss+xml\"/>\n", base);
	feed_element(out, "", "itunes:author", ch->author);
	/* Private: no directory lists it, no index imports it. */
	g_string_append(out, "<itunes:block>Yes</itunes:block>\n"
	    "<itunes:explicit>false</itunes:explicit>\n"
	    "<itunes:type>episodic</itunes:type>\n"
	    "<podcast:locked>yes</podcast:locked>\n");
	for (guint i = 0; i < items->len; i++)
		feed_item_write(out, base, g_ptr_array_index(items, i));
	g_string_append(out, "</channel>\n</rss>\n");
	g_free(base);
}
