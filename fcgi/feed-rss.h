/* A private feed's document: RSS 2.0 with the iTunes and Podcasting 2.0
 * namespaces (doc/feeds.md). Pure: no database, no FastCGI, so the unit
 * test checks it as it is.
 *
 * Every text taken from a podcast (titles and summaries come from the
 * documents) goes through feed_xml_escape(), which makes any string
 * well-formed XML 1.0 character data or attribute value.
 *
 * Ownership: char * results are the caller's to g_free(). */
#ifndef PP_FEED_RSS_H
#define PP_FEED_RSS_H

#include <glib.h>

#include "podcast-store.h"

#define FEED_RSS_TYPE "application/rss+xml; charset=utf-8"
/* What each file of a feed is called after BASE_URL (see below). */
#define FEED_RSS_FILE "rss.xml"
#define FEED_AUDIO_SUFFIX ".mp3"
#define FEED_TRANSCRIPT_SUFFIX ".vtt"
#define FEED_CHAPTERS_SUFFIX ".chapters.json"
#define FEED_TRANSCRIPT_TYPE "text/vtt"
#define FEED_CHAPTERS_TYPE "application/json+chapters"

struct feed_rss_channel {
	const char *title;
	const char *link;           /* the service's (or the frontend's) page */
	const char *description;
	const char *language;       /* e.g. "en" */
	const char *author;
	const char *generator;      /* e.g. "podcastpro 0.1.0" */
	/* "{PUBLIC_URL}/feeds/{secret}/": the feed is BASE_URL "rss.xml", an
	 * episode's files BASE_URL + its id + ".mp3", ".vtt", ".chapters.json". */
	const char *base_url;
};

/* TEXT (any bytes, NULL as "") as XML 1.0 text: invalid UTF-8 and the
 * characters XML 1.0 does not allow (C0 controls other than tab, line feed
 * and carriage return; U+FFFE, U+FFFF) become U+FFFD, then & < > " ' are
 * escaped (g_markup_escape_text). Fit for element text and for attribute
 * values in either quote. */
char *feed_xml_escape(const char *text);

/* T (Unix seconds) as an RFC 822 date in GMT, the form RSS's pubDate and
 * HTTP's Last-Modified share: "Mon, 07 Dec 2026 06:16:33 GMT". OUT gets
 * at most 29 characters and a NUL. */
void feed_rfc822_date(gint64 t, char out[32]);

/* Appends the feed of ITEMS (struct podcast_feed_item, newest first) to
 * OUT. An item's summary is plain text: itunes:summary has it, and
 * description (HTML in RSS) has it escaped for HTML, so that it shows as
 * written. An item whose audio_bytes is unknown (-1) gets length 0;
 * podcast:transcript and podcast:chapters only for items that have them. */
void feed_rss_write(GString *out, const struct feed_rss_channel *ch, const GPtrArray *items);

#endif
