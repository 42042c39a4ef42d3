/* ZIP members for the EPUB and DOCX extractors, read from memory with
 * libzip, within limits that make a ZIP bomb a quick, clear failure: a
 * cap on entries, and one budget of inflated bytes for everything read,
 * counted as the bytes come out (declared sizes can lie). Members are
 * read in chunks, so memory stays at one chunk plus what the caller
 * keeps. Nothing is ever written to disk, so member names are only
 * looked up, never used as paths. */
#include "autoconfig.h"

#include <string.h>

#include <zip.h>

#include "extract-private.h"

#define EXTRACT_ZIP_CHUNK 65536
#define MIB (1024 * 1024)

struct extract_zip {
	zip_t *zip;
	gint64 left;            /* inflated bytes still allowed */
	gint64 limit;
	char *format;           /* "EPUB", for messages; NULL when sniffing */
};

gboolean
extract_zip_magic(const char *data, gsize len)
{
	return len >= 4 && (memcmp(data, "PK\3\4", 4) == 0 || memcmp(data, "PK\5\6", 4) == 0);
}

struct extract_zip *
extract_zip_open(const char *data, gsize len, gint64 unpack_limit, const char *format,
    struct pipeline_error *err)
{
	struct extract_zip *z;
	zip_error_t zerr;
	zip_source_t *src;
	zip_t *zip;
	zip_int64_t entries;

	if (!extract_zip_magic(data, len)) {
		pipeline_error_set(err, TRUE, "The file is not a valid %s (not a ZIP archive)", format);
		return NULL;
	}
	zip_error_init(&zerr);
	if ((src = zip_source_buffer_create(data, len, 0, &zerr)) == NULL) {
		pipeline_error_set(err, TRUE, "The document is corrupt: %s", zip_error_strerror(&zerr));
		zip_error_fini(&zerr);
		return NULL;
	}
	if ((zip = zip_open_from_source(src, ZIP_RDONLY, &zerr)) == NULL) {
		/* A ZIP that starts well but has no readable directory at its
		 * end: cut short, or damaged. */
		pipeline_error_set(err, TRUE, "The document is corrupt: the ZIP archive is truncated or damaged");
		zip_source_free(src);
		zip_error_fini(&zerr);
		return NULL;
	}
	zip_error_fini(&zerr);
	entries = zip_get_num_entries(zip, 0);
	if (entries > EXTRACT_ZIP_MAX_ENTRIES) {
		pipeline_error_set(err, TRUE, "The document is too large: its ZIP archive holds more than %d files",
		    EXTRACT_ZIP_MAX_ENTRIES);
		zip_discard(zip);
		return NULL;
	}
	z = g_new0(struct extract_zip, 1);
	z->zip = zip;
	z->left = z->limit = unpack_limit;
	z->format = g_strdup(format);
	return z;
}

void
extract_zip_close(struct extract_zip *z)
{
	if (z == NULL)
		return;
	zip_discard(z->zip);
	g_free(z->format);
	g_free(z);
}

static zip_int64_t
extract_zip_find(struct extract_zip *z, const char *name)
{
	zip_int64_t i = zip_name_locate(z->zip, name, 0);

	return i >= 0 ? i : zip_name_locate(z->zip, name, ZIP_FL_NOCASE);
}

gboolean
extract_zip_has(struct extract_zip *z, const char *name)
{
	return extract_zip_find(z, name) >= 0;
}

static void
extract_zip_too_large(struct extract_zip *z, struct pipeline_error *err)
{
	pipeline_error_set(err, TRUE, "The document is too large: it unpacks to more than %d MiB",
	    (int)((z->limit + MIB - 1) / MIB));
}

int
extract_zip_stream(struct extract_zip *z, const char *name, extract_zip_chunk_fn fn, void *arg,
    struct pipeline_error *err)
{
	zip_int64_t index = extract_zip_find(z, name);
	zip_file_t *f;
	char *buf = NULL;
	int rc = -1;

	if (index < 0) {
		pipeline_error_set(err, TRUE, "The file is not a valid %s (%s missing)", z->format, name);
		return -1;
	}
	if ((f = zip_fopen_index(z->zip, (zip_uint64_t)index, 0)) == NULL) {
		pipeline_error_set(err, TRUE, "The document is corrupt: %s cannot be unpacked (%s)", name,
		    zip_strerror(z->zip));
		return -1;
	}
	buf = g_malloc(EXTRACT_ZIP_CHUNK);
	for (;;) {
		/* Never inflate past the budget: ask for one byte more than is
		 * left, so going over is seen without unpacking the rest. */
		zip_uint64_t want = (zip_uint64_t)MIN((gint64)EXTRACT_ZIP_CHUNK, z->left + 1);
		zip_int64_t n = zip_fread(f, buf, want);

		if (n < 0) {
			pipeline_error_set(err, TRUE, "The document is corrupt: %s cannot be unpacked (%s)", name,
			    zip_file_strerror(f));
			goto out;
		}
		z->left -= n;
		if (z->left < 0) {
			extract_zip_too_large(z, err);
			goto out;
		}
		if (!fn(buf, (gsize)n, n == 0, arg) || n == 0)
			break;
	}
	rc = 0;
out:
	g_free(buf);
	zip_fclose(f);
	return rc;
}

struct extract_zip_whole {
	GString *data;
	gsize max;
	gboolean over;
};

static gboolean
extract_zip_collect(const char *chunk, gsize len, gboolean last, void *arg)
{
	struct extract_zip_whole *w = arg;

	if (w->data->len + len > w->max) {
		w->over = TRUE;
		return FALSE;
	}
	g_string_append_len(w->data, chunk, (gssize)len);
	return TRUE;
}

char *
extract_zip_read(struct extract_zip *z, const char *name, gsize max, gsize *len,
    struct pipeline_error *err)
{
	struct extract_zip_whole w = { g_string_new(NULL), max, FALSE };

	if (extract_zip_stream(z, name, extract_zip_collect, &w, err) != 0)
		goto fail;
	if (w.over) {
		pipeline_error_set(err, TRUE, "The file is not a valid %s (%s is larger than %d KiB)", z->format,
		    name, (int)(max / 1024));
		goto fail;
	}
	if (len != NULL)
		*len = w.data->len;
	return g_string_free(w.data, FALSE);
fail:
	g_string_free(w.data, TRUE);
	return NULL;
}
