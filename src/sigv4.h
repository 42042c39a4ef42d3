/* AWS Signature Version 4 for S3: presigned URLs, POST policies and signed
 * requests, written from AWS's specification (not CURLOPT_AWS_SIGV4, which
 * omits x-amz-content-sha256 and sorts neither query nor prefixed headers).
 *
 * The same signer also signs our local storage's upload policies (with a
 * server secret, region "local", service "storage"), so one verifier serves
 * both.
 *
 * Ownership: every char * and json_t * returned is new and the caller's
 * (g_free / json_decref). Arguments are borrowed. Nothing keeps state:
 * every function is thread-safe. */
#ifndef PP_SIGV4_H
#define PP_SIGV4_H

#include <time.h>
#include <glib.h>
#include <jansson.h>

#define SIGV4_ALGORITHM "AWS4-HMAC-SHA256"
#define SIGV4_UNSIGNED_PAYLOAD "UNSIGNED-PAYLOAD"
#define SIGV4_EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

struct sigv4_key {
	const char *access_key;
	const char *secret_key;
	const char *region;       /* "us-east-1" */
	const char *service;      /* "s3"; NULL means "s3" */
};

/* Percent-encodes all but A-Za-z0-9-_.~ as %XX (upper case); '/' is kept
 * when KEEP_SLASH (paths) and encoded otherwise (query strings). */
char *sigv4_uri_encode(const char *s, gboolean keep_slash);

/* Hex SHA-256 of DATA (64 characters). */
char *sigv4_sha256_hex(const void *data, gsize len);
/* Hex SHA-256 of a file's content, or NULL and *cause. */
char *sigv4_sha256_file_hex(const char *path, char **cause);

/* "20130524T000000Z" and "20130524" for T (UTC); buffers of 17 and 9. */
void sigv4_format_time(time_t t, char amz_date[17], char date[9]);

/* The signing key: HMAC chain "AWS4"+secret, date, region, service, "aws4_request". */
void sigv4_signing_key(const char *secret, const char *date, const char *region,
    const char *service, guint8 out[32]);

/* Hex HMAC-SHA256 of MESSAGE under the signing key for KEY on DATE. */
char *sigv4_sign_string(const struct sigv4_key *key, const char *date, const char *message);

/* "AKID/20130524/us-east-1/s3/aws4_request" */
char *sigv4_credential(const struct sigv4_key *key, const char *date);

/* The canonical query string of QUERY (raw "a=b&c=d" as in a URL, may be
 * NULL): each name and value decoded, re-encoded, sorted by name then value. */
char *sigv4_canonical_query(const char *query);

/* A presigned URL for METHOD on URL (scheme://host[:port]/path[?query],
 * the path already percent-encoded as it will be sent), valid EXPIRES
 * seconds (1..604800) from NOW. Signs only "host"; payload UNSIGNED-PAYLOAD.
 * NULL and *cause on a bad URL or expiry. */
char *sigv4_presign_url(const struct sigv4_key *key, const char *method, const char *url,
    int expires, time_t now, char **cause);

/* Signs a request with an Authorization header. HEADERS are "Name: value"
 * lines to sign (NULL-terminated; may be NULL); Host comes from URL and
 * x-amz-date from NOW; PAYLOAD_SHA256 is the hex hash of the body (or
 * SIGV4_UNSIGNED_PAYLOAD; NULL means the empty body) and is sent as
 * x-amz-content-sha256 unless HEADERS already has it. Returns the
 * headers to add (a NULL-terminated strv: x-amz-date, x-amz-content-sha256,
 * Authorization), or NULL and *cause on a bad URL. The caller sends HEADERS
 * plus these. */
char **sigv4_sign_request(const struct sigv4_key *key, const char *method, const char *url,
    const char *const *headers, const char *payload_sha256, time_t now, char **cause);

/* The pieces, exposed for tests against AWS's worked examples. */
char *sigv4_canonical_request(const char *method, const char *canonical_uri,
    const char *canonical_query, const char *canonical_headers,
    const char *signed_headers, const char *payload_sha256);
char *sigv4_string_to_sign(const char *amz_date, const char *scope, const char *canonical_request);

/* A POST policy: builds {"expiration", "conditions"} from CONDITIONS (borrowed
 * array; the x-amz-algorithm, x-amz-credential and x-amz-date conditions are
 * appended), encodes it in base64 and signs it. Returns the form fields to
 * add to the caller's own (an object: x-amz-algorithm, x-amz-credential,
 * x-amz-date, policy, x-amz-signature). EXPIRATION is absolute (UTC). */
json_t *sigv4_post_policy(const struct sigv4_key *key, json_t *conditions, time_t expiration,
    time_t now);

/* Checks a submitted POST form against its policy, as S3 does: the
 * signature (recomputed with KEY, whose access_key must match the
 * credential), the expiration against NOW, every condition against FIELDS
 * (lower-case names, except that values are compared exactly) and, when
 * CONTENT_LENGTH >= 0, the content-length-range. Every field but policy,
 * x-amz-signature, file and x-ignore-* must be named by a condition.
 * Returns 0; or -1 with *cause and *status_code: 403 (signature, expired,
 * a condition failed), 400 (malformed policy or form, or a length outside
 * content-length-range; *cause then starts with "EntityTooSmall" or
 * "EntityTooLarge"). A streaming reader passes CONTENT_LENGTH -1 and checks
 * the size it read with sigv4_policy_length_range(). */
int sigv4_post_verify(const struct sigv4_key *key, GHashTable *fields, gint64 content_length,
    time_t now, int *status_code, char **cause);
/* The content-length-range of a policy (base64 as in the form): TRUE and the
 * bounds when it has one. */
gboolean sigv4_policy_length_range(const char *policy_b64, gint64 *min_len, gint64 *max_len);

/* Constant-time comparison of two NUL-terminated strings. */
gboolean sigv4_str_equal_ct(const char *a, const char *b);

#endif
