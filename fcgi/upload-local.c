/* POST /uploads/local: what S3's POST object does, for local storage.
 *
 * The body (multipart/form-data) is parsed as it arrives from the FastCGI
 * stream, never held whole: form fields first (small, bounded), then the
 * file, written to a temporary file beside its key and renamed over it only
 * when the whole file arrived within the policy's limits. The form is
 * checked as S3 checks it (signature, expiry, every condition) before a
 * byte of the file is written. Fields after the file are ignored, as S3
 * ignores them. */
#include "autoconfig.h"

#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1   /* memmem */
#endif
#include <errno.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "route.h"
#include "sigv4.h"
#include "storage.h"
#include "uploads.h"

#define MP_BUFFER (64 * 1024)
#define MP_HEADERS_MAX (8 * 1024)
#define MP_FIELD_MAX (16 * 1024)
#define MP_FIELDS_MAX 64
#define MP_BOUNDARY_MAX 70     /* RFC 2046 */

struct mp {
	FCGX_Stream *in;
	char *buf;
	gsize start, len;          /* unread bytes: buf[start .. start + len) */
	gboolean eof;
	char delim[4 + MP_BOUNDARY_MAX + 1];   /* "\r\n--" boundary */
	gsize delim_len;
};

/* Where a part's bytes go; returns 0, or -1 to stop reading. */
typedef int (*mp_sink)(void *ctx, const char *data, gsize len);

static void
mp_fill(struct mp *m)
{
	int n;

	if (m->eof)
		return;
	if (m->start > 0) {
		memmove(m->buf, m->buf + m->start, m->len);
		m->start = 0;
	}
	if (m->len == MP_BUFFER)
		return;
	n = FCGX_GetStr(m->buf + m->len, (int)(MP_BUFFER - m->len), m->in);
	if (n <= 0)
		m->eof = TRUE;
	else
		m->len += (gsize)n;
}

static void
mp_consume(struct mp *m, gsize n)
{
	m->start += n;
	m->len -= n;
}

/* Passes everything up to the next delimiter to SINK (may be NULL) and
 * consumes the delimiter: 0; -1 at the end of input; -2 when SINK stopped. */
static int
mp_until_delim(struct mp *m, mp_sink sink, void *ctx)
{
	for (;;) {
		char *hit = memmem(m->buf + m->start, m->len, m->delim, m->delim_len);

		if (hit != NULL) {
			gsize n = (gsize)(hit - (m->buf + m->start));

			if (n > 0 && sink != NULL && sink(ctx, m->buf + m->start, n) != 0)
				return -2;
			mp_consume(m, n + m->delim_len);
			return 0;
		}
		if (m->eof)
			return -1;
		/* All but a tail that could be the start of the delimiter is data. */
		if (m->len >= m->delim_len) {
			gsize safe = m->len - (m->delim_len - 1);

			if (sink != NULL && sink(ctx, m->buf + m->start, safe) != 0)
				return -2;
			mp_consume(m, safe);
		}
		mp_fill(m);
	}
}

/* After a delimiter: 1 when a part follows, 0 at the closing "--", -1 on
 * malformed or missing input. */
static int
mp_part_follows(struct mp *m)
{
	while (m->len < 2 && !m->eof)
		mp_fill(m);
	if (m->len < 2)
		return -1;
	if (memcmp(m->buf + m->start, "--", 2) == 0)
		return 0;
	if (memcmp(m->buf + m->start, "\r\n", 2) == 0)
		return 1;
	return -1;
}

/* A quoted or plain parameter value from a Content-Disposition header. */
static char *
mp_param(const char *header, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = header; (p = strchr(p, ';')) != NULL; ) {
		p++;
		while (*p == ' ' || *p == '\t')
			p++;
		if (g_ascii_strncasecmp(p, name, n) != 0 || p[n] != '=')
			continue;
		p += n + 1;
		if (*p == '"') {
			GString *v = g_string_new(NULL);

			for (p++; *p != '\0' && *p != '"'; p++) {
				if (*p == '\\' && p[1] != '\0')
					p++;
				g_string_append_c(v, *p);
			}
			return g_string_free(v, FALSE);
		}
		return g_strndup(p, strcspn(p, "; \t"));
	}
	return NULL;
}

/* Reads a part's headers (after mp_part_follows said 1): the field name
 * (lower case) and whether it is the file, or -1 when malformed. */
static int
mp_part_headers(struct mp *m, char **name, gboolean *is_file)
{
	char *end, *text, **lines;
	gsize hlen;
	int rc = -1;

	*name = NULL;
	*is_file = FALSE;
	/* The CRLF ending the delimiter line starts the header block, so an
	 * empty block is the "\r\n\r\n" right there. */
	while ((end = memmem(m->buf + m->start, m->len, "\r\n\r\n", 4)) == NULL) {
		if (m->eof || m->len >= MP_HEADERS_MAX)
			return -1;
		mp_fill(m);
	}
	hlen = (gsize)(end - (m->buf + m->start));
	if (hlen < 2)
		return -1;   /* no headers at all: no field name */
	text = g_strndup(m->buf + m->start + 2, hlen - 2);
	mp_consume(m, hlen + 4);
	lines = g_strsplit(text, "\r\n", -1);
	for (char **l = lines; *l != NULL; l++) {
		char *raw;

		if (g_ascii_strncasecmp(*l, "Content-Disposition:", 20) != 0)
			continue;
		if (g_ascii_strncasecmp(g_strchug(*l + 20), "form-data", 9) != 0)
			break;
		if ((raw = mp_param(*l, "name")) == NULL)
			break;
		/* S3's field names are case-insensitive. */
		*name = g_ascii_strdown(raw, -1);
		g_free(raw);
		*is_file = strcmp(*name, "file") == 0;
		rc = 0;
		break;
	}
	if (rc != 0)
		g_clear_pointer(name, g_free);
	g_strfreev(lines);
	g_free(text);
	return rc;
}

static int
mp_field_sink(void *ctx, const char *data, gsize len)
{
	GString *s = ctx;

	if (s->len + len > MP_FIELD_MAX)
		return -1;
	g_string_append_len(s, data, len);
	return 0;
}

struct file_sink {
	int fd;
	gint64 written, max;
	gboolean too_large;
	int error;
};

static int
mp_file_sink(void *ctx, const char *data, gsize len)
{
	struct file_sink *fs = ctx;

	if (fs->written + (gint64)len > fs->max) {
		fs->too_large = TRUE;
		return -1;
	}
	while (len > 0) {
		ssize_t n = write(fs->fd, data, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fs->error = errno;
			return -1;
		}
		data += n;
		len -= (gsize)n;
		fs->written += n;
	}
	return 0;
}

/* The boundary parameter of a multipart/form-data Content-Type, or NULL. */
static char *
uploads_boundary(const char *ctype)
{
	char *b;

	if (ctype == NULL || g_ascii_strncasecmp(ctype, "multipart/form-data", 19) != 0)
		return NULL;
	b = mp_param(ctype, "boundary");
	if (b != NULL && (*b == '\0' || strlen(b) > MP_BOUNDARY_MAX))
		g_clear_pointer(&b, g_free);
	return b;
}

/* Stores the file part of the form: answers the request either way. */
static void
uploads_store_file(struct request *req, struct mp *m, GHashTable *fields)
{
	struct storage *st = req->app->storage;
	gint64 cfg_max = (gint64)req->app->cfg->max_file_size_mb * 1024 * 1024, lo = 0, hi = cfg_max;
	struct file_sink fs = { -1, 0, 0, FALSE, 0 };
	const char *key = g_hash_table_lookup(fields, "key");
	char *cause = NULL, *tmp = NULL;
	int status = 0, rc;

	if (key == NULL || !storage_key_valid(key)) {
		response_error(req, 400, "InvalidArgument: Bucket POST must contain a field named 'key' "
		    "naming a valid object key");
		goto out;
	}
	if (storage_local_verify_post(st, fields, time(NULL), &status, &cause) != 0) {
		response_error(req, status, cause);
		goto out;
	}
	if (sigv4_policy_length_range(g_hash_table_lookup(fields, "policy"), &lo, &hi))
		hi = MIN(hi, cfg_max);
	fs.max = hi;
	if ((fs.fd = storage_local_temp(st, key, &tmp, &cause)) < 0) {
		log_error("%s upload %s: %s", req->request_id, key, cause);
		response_error(req, 503, "Storage unavailable, please try again later");
		goto out;
	}
	rc = mp_until_delim(m, mp_file_sink, &fs);
	close(fs.fd);
	if (rc == -2 && fs.too_large) {
		response_error(req, 413, "EntityTooLarge: Your proposed upload exceeds the maximum allowed size");
	} else if (rc == -2) {
		log_error("%s upload %s: %s", req->request_id, key, g_strerror(fs.error));
		response_error(req, 503, "Storage unavailable, please try again later");
	} else if (rc != 0) {
		response_error(req, 400, "IncompleteBody: The request body terminated unexpectedly");
	} else if (fs.written < lo) {
		response_error(req, 400, "EntityTooSmall: Your proposed upload is smaller than the minimum allowed size");
	} else {
		enum storage_result sr = storage_local_commit(st, tmp, key, &cause);

		g_clear_pointer(&tmp, g_free);   /* committed or removed by the commit */
		if (sr != STORAGE_OK) {
			log_error("%s upload %s: %s", req->request_id, key, cause);
			response_error(req, 503, "Storage unavailable, please try again later");
		} else {
			log_info("%s uploaded %s (%" G_GINT64_FORMAT " bytes)", req->request_id, key, fs.written);
			response_empty(req, 204);
		}
	}
	if (tmp != NULL)
		unlink(tmp);
out:
	g_free(tmp);
	g_free(cause);
}

void
uploads_local_post(struct request *req)
{
	gint64 max_total = (gint64)req->app->cfg->max_file_size_mb * 1024 * 1024 + UPLOAD_FORM_OVERHEAD;
	const char *length = request_env(req, "CONTENT_LENGTH");
	GHashTable *fields = NULL;
	struct mp m = { 0 };
	char *boundary = NULL, *name = NULL;
	gboolean is_file;
	int follows;

	if (req->app->storage == NULL || !storage_is_local(req->app->storage)) {
		response_error(req, 404, "Not Found");
		return;
	}
	if ((boundary = uploads_boundary(request_env(req, "CONTENT_TYPE"))) == NULL) {
		response_error(req, 400, "Content-Type must be multipart/form-data with a boundary");
		return;
	}
	if (length != NULL && *length != '\0' && g_ascii_strtoll(length, NULL, 10) > max_total) {
		response_error(req, 413, "EntityTooLarge: Your proposed upload exceeds the maximum allowed size");
		goto out;
	}
	m.in = req->fcgx->in;
	m.buf = g_malloc(MP_BUFFER);
	m.delim_len = (gsize)g_snprintf(m.delim, sizeof m.delim, "\r\n--%s", boundary);
	/* The first delimiter has no CRLF before it: supply one. */
	memcpy(m.buf, "\r\n", 2);
	m.len = 2;
	fields = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	if (mp_until_delim(&m, NULL, NULL) != 0)
		goto malformed;
	while ((follows = mp_part_follows(&m)) == 1) {
		GString *value;

		if (mp_part_headers(&m, &name, &is_file) != 0)
			goto malformed;
		if (is_file) {
			uploads_store_file(req, &m, fields);
			goto out;
		}
		if (g_hash_table_size(fields) >= MP_FIELDS_MAX || g_hash_table_contains(fields, name))
			goto malformed;
		value = g_string_new(NULL);
		if (mp_until_delim(&m, mp_field_sink, value) != 0) {
			g_string_free(value, TRUE);
			goto malformed;
		}
		g_hash_table_insert(fields, name, g_string_free(value, FALSE));
		name = NULL;
	}
	if (follows == 0) {
		response_error(req, 400, "InvalidArgument: POST requires exactly one file upload per request.");
		goto out;
	}
malformed:
	response_error(req, 400, "MalformedPOSTRequest: The body of your POST request is not "
	    "well-formed multipart/form-data.");
out:
	if (fields != NULL)
		g_hash_table_unref(fields);
	g_free(name);
	g_free(m.buf);
	g_free(boundary);
}
