/* /feeds/: a private podcast feed per user (doc/feeds.md).
 *
 * POST /feeds/rotate, GET /feeds/ and DELETE /feeds/ take the user's token
 * like every API route. The feed itself, GET and HEAD
 * /feeds/{secret}/rss.xml, and its episodes' files,
 * /feeds/{secret}/{podcast id}.mp3 (.vtt, .chapters.json), take no header
 * at all, because podcast apps send none: the secret in the path is the
 * credential. It is 32 random bytes (base64url), shown once by the
 * rotation and stored only as its SHA-256 (src/feed-store.h), so the URLs
 * stay valid for as long as the feed is, and no longer: a rotation or a
 * revocation ends them at once. */
#include "autoconfig.h"

#include <string.h>
#include <sodium.h>

#include "account-crypto.h"
#include "auth.h"
#include "config.h"
#include "feed-rss.h"
#include "feed-store.h"
#include "log.h"
#include "podcast-store.h"
#include "ratelimit-hook.h"
#include "route.h"
#include "storage.h"
#include "uploads.h"

#define FEED_ITEMS_MAX 300
/* Sizes of MP3s from before migration 0008 measured (and recorded) per
 * feed request: with S3 each is a HEAD request. */
#define FEED_MEASURE_MAX 50
#define FEED_RATE_KEY_HEX 32     /* digest characters naming a feed's rate bucket */

/* libsodium's generator, initialised once (sodium_init may run again
 * harmlessly, but not concurrently before its first return). */
static gboolean
feeds_random_ready(void)
{
	static gsize done;
	static gboolean ok;

	if (g_once_init_enter(&done)) {
		ok = sodium_init() >= 0;
		g_once_init_leave(&done, 1);
	}
	return ok;
}

static void
feeds_rotate(struct request *req)
{
	char token[ACCOUNT_TOKEN_LEN + 1], digest[ACCOUNT_DIGEST_LEN + 1];
	char *created_at = NULL, *cause = NULL;
	struct db_conn *conn;

	if (!feeds_random_ready()) {
		log_error("%s feeds: libsodium could not be initialised", req->request_id);
		response_error(req, 503, "Service temporarily unavailable");
		return;
	}
	if ((conn = request_db(req)) == NULL)
		return;
	account_token_new(token);
	account_token_digest(token, digest);
	if (feed_store_rotate(conn, req->user->id, digest, &created_at, &cause) != 0) {
		db_release(conn);
		request_db_failed(req, cause);
		goto out;
	}
	db_release(conn);
	/* The secret is in the body: no cache may keep it. */
	response_header(req, "Cache-Control", "no-store");
	response_json(req, 200, json_pack("{s:s+++, s:s}", "url", req->app->cfg->public_url,
	    "/feeds/", token, "/" FEED_RSS_FILE, "created_at", created_at));
out:
	sodium_memzero(token, sizeof token);
	g_free(created_at);
}

/* TRUE when a feed_store lookup FOUND the caller's feed; otherwise
 * answers 503 (CAUSE, taken) or 404. */
static gboolean
feeds_found(struct request *req, int found, char *cause)
{
	if (found < 0)
		request_db_failed(req, cause);
	else if (found == 0)
		response_error(req, 404, "No feed");
	return found > 0;
}

static void
feeds_get(struct request *req)
{
	char *created_at = NULL, *cause = NULL;
	struct db_conn *conn;
	int found;

	if ((conn = request_db(req)) == NULL)
		return;
	found = feed_store_get(conn, req->user->id, &created_at, &cause);
	db_release(conn);
	if (feeds_found(req, found, cause))
		response_json(req, 200, json_pack("{s:s}", "created_at", created_at));
	g_free(created_at);
}

static void
feeds_delete(struct request *req)
{
	char *cause = NULL;
	struct db_conn *conn;
	int found;

	if ((conn = request_db(req)) == NULL)
		return;
	found = feed_store_revoke(conn, req->user->id, &cause);
	db_release(conn);
	if (feeds_found(req, found, cause))
		response_empty(req, 204);
}

/* TRUE when TOKEN has the form of a feed secret (account_token_new's). */
static gboolean
feeds_token_valid(const char *token)
{
	if (token == NULL || strlen(token) != ACCOUNT_TOKEN_LEN)
		return FALSE;
	for (const char *p = token; *p != '\0'; p++) {
		if (!g_ascii_isalnum(*p) && *p != '-' && *p != '_')
			return FALSE;
	}
	return TRUE;
}

/* The storage key of a complete podcast's MP3: its final URL's, or the
 * Python service's rule for rows whose URL is not in our storage. */
static char *
feeds_audio_key(struct storage *st, const struct podcast_feed_item *it)
{
	char *key = storage_key_from_url(st, it->final_url);

	return key != NULL ? key : g_strdup_printf("podcasts/podcast_%s.mp3", it->id);
}

/* Items from before migration 0008 have no recorded size: measured in
 * storage (at most FEED_MEASURE_MAX a request) and recorded, so each MP3
 * is measured once. A failure leaves the size unknown (length 0). */
static void
feeds_measure(struct request *req, GPtrArray *items)
{
	struct storage *st = req->app->storage;
	GPtrArray *measured = g_ptr_array_new();
	struct db_conn *conn = NULL;
	char *cause = NULL;

	for (guint i = 0; st != NULL && i < items->len && measured->len < FEED_MEASURE_MAX; i++) {
		struct podcast_feed_item *it = g_ptr_array_index(items, i);
		char *key;

		if (it->audio_bytes >= 0)
			continue;
		key = feeds_audio_key(st, it);
		if (storage_exists(st, key, &it->audio_bytes, &cause) == STORAGE_OK)
			g_ptr_array_add(measured, it);
		else
			it->audio_bytes = -1;
		if (cause != NULL)
			log_warn("%s feed: size of %s: %s", req->request_id, key, cause);
		g_clear_pointer(&cause, g_free);
		g_free(key);
	}
	if (measured->len > 0 && (conn = db_acquire(req->app->db, &cause)) == NULL)
		log_warn("%s feed: sizes not recorded: %s", req->request_id, cause);
	for (guint i = 0; conn != NULL && i < measured->len; i++) {
		struct podcast_feed_item *it = g_ptr_array_index(measured, i);

		if (podcast_store_set_audio_bytes(conn, it->id, it->audio_bytes, &cause) != 0) {
			log_warn("%s feed: size of %s not recorded: %s", req->request_id, it->id, cause);
			break;
		}
	}
	db_release(conn);
	g_free(cause);
	g_ptr_array_unref(measured);
}

/* TRUE when the client's copy is current: If-None-Match names ETAG; or,
 * without If-None-Match (RFC 9110 13.2.2), If-Modified-Since is exactly
 * LAST_MODIFIED (a feed can change without getting newer: a deleted
 * episode). */
static gboolean
feeds_not_modified(struct request *req, const char *etag, const char *last_modified)
{
	const char *ims = request_header(req, "If-Modified-Since");

	if (request_header(req, "If-None-Match") != NULL)
		return request_etag_current(req, etag);
	return ims != NULL && strcmp(ims, last_modified) == 0;
}

static void
feeds_rss(struct request *req, const char *token, const char *owner, gint64 created)
{
	const struct config *cfg = req->app->cfg;
	char *cause = NULL, *base, *hex, etag[40], last_modified[32];
	struct feed_rss_channel ch = { .title = "Podcast Pro",
	    .link = cfg->public_url,
	    .description = "Your podcasts from Podcast Pro. This feed is private: its address is "
	        "its password, so do not share it.",
	    .language = "en", .author = "Podcast Pro",
	    .generator = PACKAGE_NAME " " PACKAGE_VERSION };
	struct db_conn *conn;
	GPtrArray *items;
	GString *body;
	gint64 newest = created;

	if ((conn = request_db(req)) == NULL)
		return;
	items = podcast_store_feed_items(conn, owner, NULL, FEED_ITEMS_MAX, &cause);
	db_release(conn);
	if (items == NULL) {
		request_db_failed(req, cause);
		return;
	}
	feeds_measure(req, items);
	for (guint i = 0; i < items->len; i++)
		newest = MAX(newest, ((struct podcast_feed_item *)g_ptr_array_index(items, i))->modified);
	base = g_strdup_printf("%s/feeds/%s/", cfg->public_url, token);
	ch.base_url = base;
	body = g_string_sized_new(4096 + 1024 * items->len);
	feed_rss_write(body, &ch, items);
	hex = g_compute_checksum_for_string(G_CHECKSUM_SHA256, body->str, (gssize)body->len);
	g_snprintf(etag, sizeof etag, "\"%.32s\"", hex);
	feed_rfc822_date(newest, last_modified);
	response_header(req, "ETag", "%s", etag);
	response_header(req, "Last-Modified", "%s", last_modified);
	response_header(req, "Cache-Control", "private, no-cache");
	response_header(req, "X-Robots-Tag", "noindex, nofollow");
	response_header(req, "Referrer-Policy", "no-referrer");
	if (feeds_not_modified(req, etag, last_modified)) {
		response_empty(req, 304);
	} else {
		response_header(req, "Content-Type", FEED_RSS_TYPE);
		response_empty(req, 200);
		g_string_append_len(req->out, body->str, (gssize)body->len);
	}
	g_string_free(body, TRUE);
	g_free(hex);
	g_free(base);
	g_ptr_array_unref(items);
}

/* The storage key FILE ("<id>.mp3", "<id>.vtt", "<id>.chapters.json")
 * names among OWNER's complete podcasts, or NULL after answering. */
static char *
feeds_episode_key(struct request *req, const char *owner, const char *file)
{
	static const char *const suffixes[] = { FEED_AUDIO_SUFFIX, FEED_TRANSCRIPT_SUFFIX,
	    FEED_CHAPTERS_SUFFIX };
	const struct podcast_feed_item *it;
	char id[ULID_LEN + 1], *cause = NULL, *key = NULL;
	struct db_conn *conn;
	GPtrArray *items;
	guint kind;

	for (kind = 0; kind < G_N_ELEMENTS(suffixes); kind++) {
		if (strlen(file) == ULID_LEN + strlen(suffixes[kind]) &&
		    strcmp(file + ULID_LEN, suffixes[kind]) == 0)
			break;
	}
	g_strlcpy(id, file, sizeof id);
	if (kind == G_N_ELEMENTS(suffixes) || !ulid_valid(id)) {
		response_error(req, 404, "Episode not found");
		return NULL;
	}
	if ((conn = request_db(req)) == NULL)
		return NULL;
	items = podcast_store_feed_items(conn, owner, id, 1, &cause);
	db_release(conn);
	if (items == NULL) {
		request_db_failed(req, cause);
		return NULL;
	}
	it = items->len == 1 ? g_ptr_array_index(items, 0) : NULL;
	if (it != NULL && kind == 0)
		key = feeds_audio_key(req->app->storage, it);
	else if (it != NULL)
		key = g_strdup(kind == 1 ? it->vtt_key : it->chapters_key);
	if (key == NULL)
		response_error(req, 404, "Episode not found");
	g_ptr_array_unref(items);
	return key;
}

/* An episode's file: local storage answers as /media/ does (the web
 * server sends it, with Range and HEAD); S3 redirects to a URL presigned
 * now, so an app coming back weeks later still gets one that works. */
static void
feeds_episode(struct request *req, const char *owner, const char *file)
{
	struct storage *st = req->app->storage;
	char *key, *url, *cause = NULL;

	if (st == NULL) {
		response_error(req, 503, "Storage unavailable, please try again later");
		return;
	}
	if ((key = feeds_episode_key(req, owner, file)) == NULL)
		return;
	if (storage_is_local(st)) {
		stream_local_send(req, key);
	} else if ((url = storage_stream_url(st, key, req->app->cfg->stream_url_ttl, &cause)) != NULL) {
		response_header(req, "Location", "%s", url);
		response_header(req, "Cache-Control", "private, no-store");
		response_empty(req, 302);
		g_free(url);
	} else {
		log_error("%s feed episode %s: %s", req->request_id, key, cause);
		response_error(req, 503, "Storage unavailable, please try again later");
		g_free(cause);
	}
	g_free(key);
}

static void
feeds_serve(struct request *req)
{
	const char *token = request_param(req, 0), *file = request_param(req, 1);
	gboolean rss = g_strcmp0(file, FEED_RSS_FILE) == 0;
	char digest[ACCOUNT_DIGEST_LEN + 1], owner[ULID_LEN + 1], *bucket, *cause = NULL;
	gint64 created = 0;
	struct db_conn *conn;
	int found;

	if (!feeds_token_valid(token) || file == NULL) {
		response_error(req, 404, "Feed not found");
		return;
	}
	account_token_digest(token, digest);
	/* Limited per feed, not per client: podcast apps poll from servers
	 * that fetch many people's feeds from one address. */
	bucket = g_strdup_printf("feed:%.*s", FEED_RATE_KEY_HEX, digest);
	if (!ratelimit_hook_check_key(req, rss ? "feed" : "feed_media", bucket)) {
		g_free(bucket);
		return;
	}
	g_free(bucket);
	if ((conn = request_db(req)) == NULL)
		return;
	found = feed_store_find(conn, digest, owner, &created, &cause);
	db_release(conn);
	if (found < 0)
		request_db_failed(req, cause);
	else if (found == 0)
		response_error(req, 404, "Feed not found");
	else if (rss)
		feeds_rss(req, token, owner, created);
	else
		feeds_episode(req, owner, file);
}

const struct route feed_routes[] = {
	{ .method = "POST", .pattern = "/feeds/rotate", .handler = feeds_rotate, .limit = "manage_feed", .flags = ROUTE_AUTH },
	{ .method = "GET", .pattern = "/feeds", .handler = feeds_get, .limit = "manage_feed", .flags = ROUTE_AUTH },
	{ .method = "DELETE", .pattern = "/feeds", .handler = feeds_delete, .limit = "manage_feed", .flags = ROUTE_AUTH },
	/* No token and no route limit: the secret is the credential, and the
	 * handler counts requests per feed ("feed", "feed_media"). */
	{ .method = "GET", .pattern = "/feeds/{secret}/{file}", .handler = feeds_serve, .flags = ROUTE_SECRET_PATH },
	{ .method = "HEAD", .pattern = "/feeds/{secret}/{file}", .handler = feeds_serve, .flags = ROUTE_SECRET_PATH },
	{ .method = NULL }
};
