/* GET /media/{key}?expires=&sig=: a local stream URL (storage_stream_url).
 *
 * The signature and expiry are checked here; the bytes are sent by the web
 * server (X-Accel-Redirect to nginx's internal /_protected_audio/ location,
 * or X-Sendfile to lighttpd), so Range requests, HEAD and slow clients never
 * occupy an acceptor. SENDFILE_MODE=off sends the file from here (small
 * deployments without either server; no Range support). */
#include "autoconfig.h"

#include <string.h>
#include <time.h>

#include "config.h"
#include "log.h"
#include "route.h"
#include "sigv4.h"
#include "storage.h"
#include "uploads.h"

#define STREAM_PREFIX "/media/"
#define STREAM_ACCEL_LOCATION "/_protected_audio/"
/* SENDFILE_MODE=off only: larger files need a web server in front. */
#define STREAM_INLINE_MAX (256 * 1024 * 1024)

static const char *
stream_content_type(const char *key)
{
	if (g_str_has_suffix(key, ".mp3"))
		return "audio/mpeg";
	if (g_str_has_suffix(key, ".pdf"))
		return "application/pdf";
	return "application/octet-stream";
}

static void
stream_get(struct request *req)
{
	struct storage *st = req->app->storage;
	const char *mode = req->app->cfg->sendfile_mode;
	const char *key = req->path + strlen(STREAM_PREFIX);
	char *cause = NULL, *enc = NULL, *path = NULL;
	GBytes *data = NULL;
	gint64 size = 0;

	if (st == NULL || !storage_is_local(st)) {
		response_error(req, 404, "Not Found");
		return;
	}
	if (!storage_local_stream_valid(st, key, request_query(req, "expires"), request_query(req, "sig"),
	    time(NULL))) {
		response_error(req, 403, "Invalid or expired stream URL");
		return;
	}
	switch (storage_exists(st, key, &size, &cause)) {
	case STORAGE_OK:
		break;
	case STORAGE_NOT_FOUND:
		response_error(req, 404, "Not Found");
		goto out;
	default:
		log_error("%s stream %s: %s", req->request_id, key, cause);
		response_error(req, 503, "Storage unavailable, please try again later");
		goto out;
	}
	response_header(req, "Content-Type", "%s", stream_content_type(key));
	response_header(req, "Cache-Control", "private, max-age=%d", req->app->cfg->stream_url_ttl);
	if (g_strcmp0(mode, "lighttpd") == 0) {
		path = storage_local_path(st, key);
		response_header(req, "X-Sendfile", "%s", path);
		response_empty(req, 200);
	} else if (g_strcmp0(mode, "off") == 0) {
		if (storage_get(st, key, STREAM_INLINE_MAX, &data, &cause) != STORAGE_OK) {
			log_error("%s stream %s: %s", req->request_id, key, cause != NULL ? cause : "gone");
			response_error(req, 503, "Storage unavailable, please try again later");
			goto out;
		}
		response_empty(req, 200);
		if (strcmp(req->method, "HEAD") != 0)
			g_string_append_len(req->out, g_bytes_get_data(data, NULL), (gssize)g_bytes_get_size(data));
	} else {
		enc = sigv4_uri_encode(key, TRUE);
		response_header(req, "X-Accel-Redirect", STREAM_ACCEL_LOCATION "%s", enc);
		response_empty(req, 200);
	}
out:
	if (data != NULL)
		g_bytes_unref(data);
	g_free(path);
	g_free(enc);
	g_free(cause);
}

/* Keys have up to REQUEST_MAX_PARAMS segments here ("podcasts/podcast_<id>.mp3"
 * has two); the handler reads the key from the path itself. */
const struct route stream_routes[] = {
	{ "GET", "/media/{a}", stream_get, NULL, 0 },
	{ "GET", "/media/{a}/{b}", stream_get, NULL, 0 },
	{ "GET", "/media/{a}/{b}/{c}", stream_get, NULL, 0 },
	{ "GET", "/media/{a}/{b}/{c}/{d}", stream_get, NULL, 0 },
	{ "HEAD", "/media/{a}", stream_get, NULL, 0 },
	{ "HEAD", "/media/{a}/{b}", stream_get, NULL, 0 },
	{ "HEAD", "/media/{a}/{b}/{c}", stream_get, NULL, 0 },
	{ "HEAD", "/media/{a}/{b}/{c}/{d}", stream_get, NULL, 0 },
	{ NULL, NULL, NULL, NULL, 0 }
};
