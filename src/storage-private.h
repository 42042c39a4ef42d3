/* Inside src/storage*.c only: the storage struct and the per-backend
 * operations. Everything public is in storage.h. */
#ifndef PP_STORAGE_PRIVATE_H
#define PP_STORAGE_PRIVATE_H

#include "sigv4.h"
#include "storage.h"

struct storage {
	gboolean local;
	char *public_url;           /* PUBLIC_URL without a trailing '/' */
	int timeout_s;              /* S3 request timeout */
	/* local */
	char *dir;                  /* absolute STORAGE_DIR */
	char *local_secret;         /* NULL: no STORAGE_SECRET nor JWT secret */
	struct sigv4_key local_key; /* signs upload policies with local_secret */
	/* S3 */
	char *bucket, *region, *access_key, *secret_key;
	char *endpoint;             /* AWS_S3_ENDPOINT_URL without '/', or NULL */
	char *base_url;             /* objects are base_url/KEY */
	struct sigv4_key s3_key;
};

/* local: storage-local.c */
enum storage_result storage_local_put(struct storage *st, const char *key, const void *data, gsize len,
    char **cause);
enum storage_result storage_local_put_file(struct storage *st, const char *key, const char *path,
    char **cause);
enum storage_result storage_local_get(struct storage *st, const char *key, gsize max_size,
    GBytes **out, char **cause);
enum storage_result storage_local_exists(struct storage *st, const char *key, gint64 *size, char **cause);
enum storage_result storage_local_delete(struct storage *st, const char *key, char **cause);
char *storage_local_stream_sig(const struct storage *st, const char *key, const char *expires);

/* S3: storage-s3.c */
enum storage_result storage_s3_put(struct storage *st, const char *key, const void *data, gsize len,
    const char *content_type, char **cause);
enum storage_result storage_s3_put_file(struct storage *st, const char *key, const char *path,
    const char *content_type, char **cause);
enum storage_result storage_s3_get(struct storage *st, const char *key, gsize max_size,
    GBytes **out, char **cause);
enum storage_result storage_s3_exists(struct storage *st, const char *key, gint64 *size, char **cause);
enum storage_result storage_s3_delete(struct storage *st, const char *key, char **cause);

#endif
