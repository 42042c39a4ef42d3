/* GET /media/{key}?expires=&sig=: a local stream URL (storage_stream_url).
 *
 * The signature and expiry are checked here; the bytes are sent by the web
 * server (X-Accel-Redirect to nginx's internal /_protected_audio/ location,
 * or X-Sendfile to lighttpd), so Range requests, HEAD and slow clients never
 * occupy an acceptor. SENDFILE_MODE=off sends the bytes from here (small
 * deployments without either server), with single byte ranges (RFC 9110
 * 14): the bytes are read and written 64 KiB at a time (response_file), so
 * memory stays small whatever the file's size, but the acceptor is busy
 * until the web server has taken the whole answer. */
#include "autoconfig.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "route.h"
#include "sigv4.h"
#include "storage.h"
#include "uploads.h"

#define STREAM_PREFIX "/media/"
#define STREAM_ACCEL_LOCATION "/_protected_audio/"

static const char *
stream_content_type(const char *key)
{
	if (g_str_has_suffix(key, ".mp3"))
		return "audio/mpeg";
	if (g_str_has_suffix(key, ".vtt"))
		return "text/vtt; charset=utf-8";
	if (g_str_has_suffix(key, ".chapters.json"))
		return "application/json+chapters";
	if (g_str_has_suffix(key, ".pdf"))
		return "application/pdf";
	return "application/octet-stream";
}

/* Digits at *P as a number (saturating), *P moved past them; FALSE when
 * there are none. */
static gboolean
stream_range_number(const char **p, gint64 *value)
{
	gint64 v = 0;

	if (!g_ascii_isdigit(**p))
		return FALSE;
	for (; g_ascii_isdigit(**p); (*p)++)
		v = v > (G_MAXINT64 - 9) / 10 ? G_MAXINT64 : v * 10 + (**p - '0');
	*value = v;
	return TRUE;
}

static const char *
stream_range_space(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

/* The Range header RANGE against a file of SIZE bytes: 1 and the bytes
 * [*first, *last]; 0 to send it all (no header, a malformed one, another
 * unit, several ranges: a server may ignore those, RFC 9110 14.2); -1 when
 * the range is unsatisfiable (starts at or past the end, or an empty
 * suffix). */
static int
stream_range(const char *range, gint64 size, gint64 *first, gint64 *last)
{
	const char *p;
	gint64 a, b = G_MAXINT64;

	if (range == NULL)
		return 0;
	p = stream_range_space(range);
	if (g_ascii_strncasecmp(p, "bytes", 5) != 0)
		return 0;
	p = stream_range_space(p + 5);
	if (*p++ != '=')
		return 0;
	p = stream_range_space(p);
	if (*p == '-') {
		p++;
		if (!stream_range_number(&p, &b) || *stream_range_space(p) != '\0')
			return 0;
		if (b == 0 || size == 0)
			return -1;
		*first = b >= size ? 0 : size - b;
		*last = size - 1;
		return 1;
	}
	if (!stream_range_number(&p, &a) || *p++ != '-')
		return 0;
	if (g_ascii_isdigit(*p) && !stream_range_number(&p, &b))
		return 0;
	if (*stream_range_space(p) != '\0' || b < a)
		return 0;
	if (a >= size)
		return -1;
	*first = a;
	*last = MIN(b, size - 1);
	return 1;
}

/* SENDFILE_MODE=off: KEY's bytes (or the requested range of them) into the
 * response. The file is opened without following a link, as storage_get. */
static void
stream_inline(struct request *req, const char *key)
{
	char *path = storage_local_path(req->app->storage, key);
	const char *range = request_header(req, "Range");
	gint64 first = 0, last = -1;
	struct stat sb;
	int fd, ranged;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0) {
		/* Gone since storage_exists(), or a link put in its place. */
		if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP) {
			response_error(req, 404, "Not Found");
		} else {
			log_error("%s stream %s: %s", req->request_id, key, g_strerror(errno));
			response_error(req, 503, "Storage unavailable, please try again later");
		}
		goto out;
	}
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		response_error(req, 404, "Not Found");
		goto out;
	}
	/* If-Range names a validator; we hand out none, so it cannot match. */
	ranged = request_header(req, "If-Range") != NULL ? 0 :
	    stream_range(range, (gint64)sb.st_size, &first, &last);
	if (ranged < 0) {
		response_header(req, "Content-Range", "bytes */%lld", (long long)sb.st_size);
		response_error(req, 416, "Range Not Satisfiable");
		goto out;
	}
	if (ranged == 0)
		last = (gint64)sb.st_size - 1;
	response_header(req, "Content-Type", "%s", stream_content_type(key));
	response_header(req, "Cache-Control", "private, max-age=%d", req->app->cfg->stream_url_ttl);
	response_header(req, "Accept-Ranges", "bytes");
	if (ranged > 0)
		response_header(req, "Content-Range", "bytes %lld-%lld/%lld", (long long)first,
		    (long long)last, (long long)sb.st_size);
	/* The descriptor goes with the response, which sends the bytes. */
	response_file(req, ranged > 0 ? 206 : 200, fd, first, last - first + 1);
	fd = -1;
out:
	if (fd >= 0)
		close(fd);
	g_free(path);
}

void
stream_local_send(struct request *req, const char *key)
{
	struct storage *st = req->app->storage;
	const char *mode = req->app->cfg->sendfile_mode;
	char *cause = NULL, *enc = NULL, *path = NULL;
	gint64 size = 0;

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
	if (g_strcmp0(mode, "off") == 0) {
		stream_inline(req, key);   /* its own headers: a 416 is no audio/mpeg */
		goto out;
	}
	response_header(req, "Content-Type", "%s", stream_content_type(key));
	response_header(req, "Cache-Control", "private, max-age=%d", req->app->cfg->stream_url_ttl);
	if (g_strcmp0(mode, "lighttpd") == 0) {
		path = storage_local_path(st, key);
		response_header(req, "X-Sendfile", "%s", path);
		response_empty(req, 200);
	} else {
		enc = sigv4_uri_encode(key, TRUE);
		response_header(req, "X-Accel-Redirect", STREAM_ACCEL_LOCATION "%s", enc);
		response_empty(req, 200);
	}
out:
	g_free(path);
	g_free(enc);
	g_free(cause);
}

static void
stream_get(struct request *req)
{
	struct storage *st = req->app->storage;
	const char *key = req->path + strlen(STREAM_PREFIX);

	if (st == NULL || !storage_is_local(st)) {
		response_error(req, 404, "Not Found");
		return;
	}
	if (!storage_local_stream_valid(st, key, request_query(req, "expires"), request_query(req, "sig"),
	    time(NULL))) {
		response_error(req, 403, "Invalid or expired stream URL");
		return;
	}
	stream_local_send(req, key);
}

/* Keys have up to REQUEST_MAX_PARAMS segments here ("podcasts/podcast_<id>.mp3"
 * has two); the handler reads the key from the path itself. */
const struct route stream_routes[] = {
	{ .method = "GET", .pattern = "/media/{a}", .handler = stream_get },
	{ .method = "GET", .pattern = "/media/{a}/{b}", .handler = stream_get },
	{ .method = "GET", .pattern = "/media/{a}/{b}/{c}", .handler = stream_get },
	{ .method = "GET", .pattern = "/media/{a}/{b}/{c}/{d}", .handler = stream_get },
	{ .method = "HEAD", .pattern = "/media/{a}", .handler = stream_get },
	{ .method = "HEAD", .pattern = "/media/{a}/{b}", .handler = stream_get },
	{ .method = "HEAD", .pattern = "/media/{a}/{b}/{c}", .handler = stream_get },
	{ .method = "HEAD", .pattern = "/media/{a}/{b}/{c}/{d}", .handler = stream_get },
	{ .method = NULL }
};
