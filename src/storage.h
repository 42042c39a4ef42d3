/* Object storage: a local directory (the default) or an S3 bucket.
 *
 * Keys are relative paths such as "podcasts/<sub>/20261128_134000_doc.pdf"
 * or "podcasts/podcast_<id>.mp3": segments of printable characters, no
 * "." or ".." segment, no empty segment, no leading '/', no backslash, at
 * most 1024 bytes (storage_key_valid). Every function refuses other keys.
 *
 * Local storage keeps KEY at STORAGE_DIR/KEY; a put writes a temporary file
 * in the same directory and renames it over the key, so a reader sees the
 * old object or the new one, never a part. Its upload forms and stream URLs
 * are signed with STORAGE_SECRET (default: a key derived from
 * SUPABASE_JWT_SECRET); see doc/storage.md.
 *
 * S3: SigV4-signed requests (src/sigv4.h) to AWS (virtual-hosted) or to
 * AWS_S3_ENDPOINT_URL (path-style {endpoint}/{bucket}/{key}).
 *
 * Thread safety: a struct storage is read-only after storage_new(); every
 * call may run in any thread at once.
 *
 * Ownership: storage_new() returns a storage freed by storage_free()
 * (NULL harmless). Every char *, GBytes * and json_t * returned is new and the
 * caller's (g_free / g_bytes_unref / json_decref); *cause too. */
#ifndef PP_STORAGE_H
#define PP_STORAGE_H

#include <time.h>
#include <glib.h>
#include <jansson.h>

struct config;
struct storage;

/* Results of the object operations. Errors are negative. */
enum storage_result {
	STORAGE_OK = 0,
	STORAGE_NOT_FOUND = 1,   /* get, exists: no such object */
	STORAGE_RETRY = -1,      /* failed; trying again later may work (network, 5xx, disk full) */
	STORAGE_FAIL = -2        /* failed for good (bad key, access denied, bad configuration) */
};

/* S3 when AWS_S3_BUCKET_NAME is set (then AWS_ACCESS_KEY_ID and
 * AWS_SECRET_ACCESS_KEY are required), the directory STORAGE_DIR otherwise
 * (created if missing). NULL and *cause on failure. */
struct storage *storage_new(const struct config *cfg, char **cause);
void storage_free(struct storage *st);

gboolean storage_is_local(const struct storage *st);
/* "local" or "s3", for logs and /health. */
const char *storage_kind(const struct storage *st);

gboolean storage_key_valid(const char *key);

/* Upload keys (doc/storage.md, "Upload keys"): podcasts/{sub}/{YYYYmmdd_HHMMSS}_{name},
 * where {name} is FILENAME normalised to [A-Za-z0-9._-] with a random tag
 * before its extension, so that a URL made by plain concatenation needs no
 * escaping and two forms never share a key. */

/* Characters in the random tag storage_upload_key() puts in {name}. */
#define STORAGE_UPLOAD_TAG_LEN 8

/* {name} for FILENAME (any string, NULL as ""): transliterated to ASCII,
 * every character outside [A-Za-z0-9._-] made '_', runs of '_' and of '.'
 * made one, '.', '_' and '-' trimmed from both ends, at most 100
 * characters ("file" when nothing is left), then "_" TAG (when TAG is
 * neither NULL nor empty), then the extension: "." and the 1 to 16 ASCII
 * letters and digits after the last '.', if that is what follows it. */
char *storage_upload_name(const char *filename, const char *tag);
/* podcasts/{SUB}/{NOW as YYYYmmdd_HHMMSS, UTC}_{storage_upload_name(FILENAME,
 * a new random tag of STORAGE_UPLOAD_TAG_LEN characters of [0-9a-z])}, or
 * NULL when SUB makes the key invalid. */
char *storage_upload_key(const char *sub, const char *filename, time_t now);

/* Stores LEN bytes of DATA under KEY (CONTENT_TYPE may be NULL). */
enum storage_result storage_put(struct storage *st, const char *key, const void *data, gsize len,
    const char *content_type, char **cause);
/* Stores the file at PATH under KEY (locally: copied, then renamed). */
enum storage_result storage_put_file(struct storage *st, const char *key, const char *path,
    const char *content_type, char **cause);
/* Reads KEY into *OUT. Objects larger than MAX_SIZE bytes (0: no limit)
 * fail with STORAGE_FAIL. STORAGE_NOT_FOUND leaves *OUT NULL. */
enum storage_result storage_get(struct storage *st, const char *key, gsize max_size,
    GBytes **out, char **cause);
/* STORAGE_OK (and *size when SIZE is not NULL) or STORAGE_NOT_FOUND. */
enum storage_result storage_exists(struct storage *st, const char *key, gint64 *size, char **cause);
/* Removes KEY; removing a missing object is STORAGE_OK (as S3 answers). */
enum storage_result storage_delete(struct storage *st, const char *key, char **cause);

/* The URL we hand out for KEY as original_file_url / final_podcast_url:
 * S3: https://{bucket}.s3.{region}.amazonaws.com/{key} or
 * {endpoint}/{bucket}/{key}; local: {PUBLIC_URL}/uploads/local/{key}
 * (key percent-encoded). The upload form's url ends in '/', so its url +
 * key names the same object. NULL for an invalid key. */
char *storage_object_url(const struct storage *st, const char *key);
/* The key of an object URL of ours (any of the forms above, S3's other
 * spellings, s3://bucket/key, query string ignored), or NULL when URL is not
 * in our storage or names an invalid key. */
char *storage_key_from_url(const struct storage *st, const char *url);

/* A URL to stream KEY for TTL seconds: an S3 presigned GET, or locally
 * {PUBLIC_URL}/media/{key}?expires={unix}&sig={hex}. NULL and *cause on
 * failure (invalid key, no local secret). */
char *storage_stream_url(const struct storage *st, const char *key, int ttl, char **cause);

/* What an upload form must satisfy (storage_presign_post). */
struct storage_post_conditions {
	gint64 min_size, max_size;     /* content-length-range, bytes */
	const char *acl;               /* e.g. "private"; NULL: no acl field */
	const char *content_type;      /* Content-Type field; NULL: none */
	const char *content_type_prefix; /* starts-with $Content-Type; NULL: exact content_type */
	int expires_in;                /* seconds */
};

/* A presigned POST form for KEY, as boto3's generate_presigned_post gives:
 * {"url": ..., "fields": {"key", "acl"?, "Content-Type"?, "x-amz-algorithm",
 * "x-amz-credential", "x-amz-date", "policy", "x-amz-signature"}}.
 * url always ends in '/' (https://{bucket}.s3.{region}.amazonaws.com/,
 * {endpoint}/{bucket}/, locally {PUBLIC_URL}/uploads/local/), so that
 * url + key is the object's URL; locally the policy is signed with the
 * local secret. NULL and *cause on failure. */
json_t *storage_presign_post(const struct storage *st, const char *key,
    const struct storage_post_conditions *cond, time_t now, char **cause);

/* Local storage only (NULL / FALSE / -1 with S3). */

/* STORAGE_DIR/KEY as an absolute path, or NULL (invalid key, or S3). */
char *storage_local_path(const struct storage *st, const char *key);
/* TRUE when SIG is the signature of a stream URL for KEY expiring at
 * EXPIRES and EXPIRES is not past NOW. */
gboolean storage_local_stream_valid(const struct storage *st, const char *key,
    const char *expires, const char *sig, time_t now);
/* Checks a submitted local upload form (FIELDS: lower-case names -> values)
 * as S3 would; see sigv4_post_verify(). 0, or -1 with *status_code and *cause. */
int storage_local_verify_post(const struct storage *st, GHashTable *fields, time_t now,
    int *status_code, char **cause);
/* Creates a temporary file beside where KEY will live (directories made as
 * needed): an fd open for writing and *tmp_path (caller frees), or -1 and *cause. */
int storage_local_temp(const struct storage *st, const char *key, char **tmp_path, char **cause);
/* fsyncs and renames TMP_PATH to KEY: STORAGE_OK, or an error (then TMP_PATH
 * is removed). */
enum storage_result storage_local_commit(const struct storage *st, const char *tmp_path,
    const char *key, char **cause);

/* What storage_local_sweep_temp() may do, and what it did. */
struct storage_sweep {
	int min_age_s;          /* remove temporaries last modified this long ago or more */
	guint max_entries;      /* directory entries examined at most */
	guint max_removals;     /* files removed at most */
	guint removed;          /* set: files removed */
	gboolean truncated;     /* set: a bound stopped the walk; the rest waits for the next */
};
/* Removes temporaries abandoned by a writer that died before its commit
 * (a responder killed mid-upload): regular files named like those of
 * storage_local_temp() anywhere under STORAGE_DIR, last modified at least
 * SW->min_age_s before NOW. Never follows a symbolic link below STORAGE_DIR,
 * never removes anything else (objects, directories, links). With S3:
 * nothing, 0. 0, or -1 and *cause (the first failure: an unreadable
 * directory, a failed unlink) after sweeping what it could; SW->removed
 * is right in both cases. */
int storage_local_sweep_temp(const struct storage *st, struct storage_sweep *sw, time_t now,
    char **cause);

#endif
