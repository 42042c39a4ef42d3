/* AWS Signature Version 4, as S3 specifies it. */
#include "autoconfig.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "sigv4.h"

#define SIGV4_TERMINATOR "aws4_request"

static const char *
sigv4_service(const struct sigv4_key *key)
{
	return key->service != NULL ? key->service : "s3";
}

char *
sigv4_uri_encode(const char *s, gboolean keep_slash)
{
	static const char hex[] = "0123456789ABCDEF";
	GString *out = g_string_sized_new(strlen(s) + 16);

	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
		if (g_ascii_isalnum(*p) || *p == '-' || *p == '_' || *p == '.' || *p == '~' ||
		    (keep_slash && *p == '/')) {
			g_string_append_c(out, (char)*p);
		} else {
			g_string_append_c(out, '%');
			g_string_append_c(out, hex[*p >> 4]);
			g_string_append_c(out, hex[*p & 0xf]);
		}
	}
	return g_string_free(out, FALSE);
}

char *
sigv4_sha256_hex(const void *data, gsize len)
{
	return g_compute_checksum_for_data(G_CHECKSUM_SHA256, data, len);
}

char *
sigv4_sha256_file_hex(const char *path, char **cause)
{
	GChecksum *sum = NULL;
	char *hex = NULL;
	guchar buf[65536];
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		*cause = g_strdup_printf("%s: %s", path, g_strerror(errno));
		return NULL;
	}
	sum = g_checksum_new(G_CHECKSUM_SHA256);
	while ((n = read(fd, buf, sizeof buf)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			*cause = g_strdup_printf("%s: %s", path, g_strerror(errno));
			goto out;
		}
		g_checksum_update(sum, buf, (gssize)n);
	}
	hex = g_strdup(g_checksum_get_string(sum));
out:
	g_checksum_free(sum);
	close(fd);
	return hex;
}

void
sigv4_format_time(time_t t, char amz_date[17], char date[9])
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(amz_date, 17, "%Y%m%dT%H%M%SZ", &tm);
	strftime(date, 9, "%Y%m%d", &tm);
}

static void
sigv4_hmac(const guint8 *key, gsize key_len, const char *msg, guint8 out[32])
{
	GHmac *h = g_hmac_new(G_CHECKSUM_SHA256, key, key_len);
	gsize len = 32;

	g_hmac_update(h, (const guchar *)msg, (gssize)strlen(msg));
	g_hmac_get_digest(h, out, &len);
	g_hmac_unref(h);
}

void
sigv4_signing_key(const char *secret, const char *date, const char *region,
    const char *service, guint8 out[32])
{
	char *first = g_strconcat("AWS4", secret, NULL);
	guint8 k[32];

	sigv4_hmac((const guint8 *)first, strlen(first), date, k);
	sigv4_hmac(k, sizeof k, region, k);
	sigv4_hmac(k, sizeof k, service, k);
	sigv4_hmac(k, sizeof k, SIGV4_TERMINATOR, out);
	memset(k, 0, sizeof k);
	memset(first, 0, strlen(first));
	g_free(first);
}

char *
sigv4_sign_string(const struct sigv4_key *key, const char *date, const char *message)
{
	guint8 k[32];
	char *hex;

	sigv4_signing_key(key->secret_key, date, key->region, sigv4_service(key), k);
	hex = g_compute_hmac_for_string(G_CHECKSUM_SHA256, k, sizeof k, message, -1);
	memset(k, 0, sizeof k);
	return hex;
}

char *
sigv4_credential(const struct sigv4_key *key, const char *date)
{
	return g_strdup_printf("%s/%s/%s/%s/" SIGV4_TERMINATOR, key->access_key, date, key->region,
	    sigv4_service(key));
}

static char *
sigv4_scope(const struct sigv4_key *key, const char *date)
{
	return g_strdup_printf("%s/%s/%s/" SIGV4_TERMINATOR, date, key->region, sigv4_service(key));
}

struct sigv4_pair {
	char *name, *value;
};

static gint
sigv4_pair_cmp(gconstpointer a, gconstpointer b)
{
	const struct sigv4_pair *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c != 0 ? c : strcmp(x->value, y->value);
}

static void
sigv4_pair_clear(gpointer p)
{
	struct sigv4_pair *pair = p;

	g_free(pair->name);
	g_free(pair->value);
}

static char *
sigv4_unescape(const char *s, gssize len)
{
	char *raw = g_strndup(s, len < 0 ? strlen(s) : (gsize)len);
	char *dec = g_uri_unescape_string(raw, NULL);

	/* An invalid escape is kept as written: S3 would sign what it got. */
	if (dec == NULL)
		return raw;
	g_free(raw);
	return dec;
}

char *
sigv4_canonical_query(const char *query)
{
	GArray *pairs = g_array_new(FALSE, FALSE, sizeof(struct sigv4_pair));
	GString *out = g_string_new(NULL);
	char **parts;

	g_array_set_clear_func(pairs, sigv4_pair_clear);
	if (query == NULL || *query == '\0')
		goto out;
	parts = g_strsplit(query, "&", -1);
	for (char **p = parts; *p != NULL; p++) {
		const char *eq = strchr(*p, '=');
		char *name, *value;
		struct sigv4_pair pair;

		if (**p == '\0')
			continue;
		name = sigv4_unescape(*p, eq != NULL ? eq - *p : -1);
		value = sigv4_unescape(eq != NULL ? eq + 1 : "", -1);
		pair.name = sigv4_uri_encode(name, FALSE);
		pair.value = sigv4_uri_encode(value, FALSE);
		g_free(name);
		g_free(value);
		g_array_append_val(pairs, pair);
	}
	g_strfreev(parts);
	g_array_sort(pairs, sigv4_pair_cmp);
	for (guint i = 0; i < pairs->len; i++) {
		struct sigv4_pair *pair = &g_array_index(pairs, struct sigv4_pair, i);

		g_string_append_printf(out, "%s%s=%s", i > 0 ? "&" : "", pair->name, pair->value);
	}
out:
	g_array_unref(pairs);
	return g_string_free(out, FALSE);
}

char *
sigv4_canonical_request(const char *method, const char *canonical_uri,
    const char *canonical_query, const char *canonical_headers,
    const char *signed_headers, const char *payload_sha256)
{
	return g_strdup_printf("%s\n%s\n%s\n%s\n%s\n%s", method, canonical_uri, canonical_query,
	    canonical_headers, signed_headers, payload_sha256);
}

char *
sigv4_string_to_sign(const char *amz_date, const char *scope, const char *canonical_request)
{
	char *hash = sigv4_sha256_hex(canonical_request, strlen(canonical_request));
	char *sts = g_strdup_printf(SIGV4_ALGORITHM "\n%s\n%s\n%s", amz_date, scope, hash);

	g_free(hash);
	return sts;
}

/* The parts of URL a signature covers. The path stays as it will be sent
 * (already encoded): S3 signs the request line's path, not a re-encoding. */
struct sigv4_url {
	char *scheme, *host, *path, *query;
	int port;
};

static int
sigv4_url_parse(const char *url, struct sigv4_url *u, char **cause)
{
	GError *error = NULL;

	memset(u, 0, sizeof *u);
	if (!g_uri_split(url, G_URI_FLAGS_ENCODED, &u->scheme, NULL, &u->host, &u->port, &u->path,
	    &u->query, NULL, &error) || u->host == NULL || *u->host == '\0') {
		*cause = g_strdup_printf("bad URL %s: %s", url,
		    error != NULL ? error->message : "no host");
		g_clear_error(&error);
		g_free(u->scheme);
		g_free(u->host);
		g_free(u->path);
		g_free(u->query);
		memset(u, 0, sizeof *u);
		return -1;
	}
	return 0;
}

static void
sigv4_url_clear(struct sigv4_url *u)
{
	g_free(u->scheme);
	g_free(u->host);
	g_free(u->path);
	g_free(u->query);
}

/* The Host header as curl sends it: the port only when not the default. */
static char *
sigv4_host_header(const struct sigv4_url *u)
{
	gboolean dflt = u->port < 0 ||
	    (g_ascii_strcasecmp(u->scheme, "https") == 0 && u->port == 443) ||
	    (g_ascii_strcasecmp(u->scheme, "http") == 0 && u->port == 80);

	return dflt ? g_ascii_strdown(u->host, -1) : g_strdup_printf("%s:%d", u->host, u->port);
}

char *
sigv4_presign_url(const struct sigv4_key *key, const char *method, const char *url,
    int expires, time_t now, char **cause)
{
	struct sigv4_url u;
	char amz_date[17], date[9];
	char *host = NULL, *cred = NULL, *cred_enc = NULL, *query = NULL, *cquery = NULL;
	char *headers = NULL, *creq = NULL, *scope = NULL, *sts = NULL, *sig = NULL;
	char *result = NULL;
	const char *base_end;

	if (expires < 1 || expires > 604800) {
		*cause = g_strdup_printf("presigned URL expiry %d outside 1..604800", expires);
		return NULL;
	}
	if (sigv4_url_parse(url, &u, cause) != 0)
		return NULL;
	sigv4_format_time(now, amz_date, date);
	host = sigv4_host_header(&u);
	cred = sigv4_credential(key, date);
	cred_enc = sigv4_uri_encode(cred, FALSE);
	query = g_strdup_printf("%s%sX-Amz-Algorithm=" SIGV4_ALGORITHM "&X-Amz-Credential=%s"
	    "&X-Amz-Date=%s&X-Amz-Expires=%d&X-Amz-SignedHeaders=host",
	    u.query != NULL ? u.query : "", u.query != NULL && *u.query != '\0' ? "&" : "",
	    cred_enc, amz_date, expires);
	cquery = sigv4_canonical_query(query);
	headers = g_strdup_printf("host:%s\n", host);
	creq = sigv4_canonical_request(method, *u.path != '\0' ? u.path : "/", cquery, headers,
	    "host", SIGV4_UNSIGNED_PAYLOAD);
	scope = sigv4_scope(key, date);
	sts = sigv4_string_to_sign(amz_date, scope, creq);
	sig = sigv4_sign_string(key, date, sts);
	/* The URL up to its query (or fragment), then the canonical query. */
	base_end = url + strcspn(url, "?#");
	result = g_strdup_printf("%.*s?%s&X-Amz-Signature=%s", (int)(base_end - url), url, cquery, sig);
	g_free(host);
	g_free(cred);
	g_free(cred_enc);
	g_free(query);
	g_free(cquery);
	g_free(headers);
	g_free(creq);
	g_free(scope);
	g_free(sts);
	g_free(sig);
	sigv4_url_clear(&u);
	return result;
}

/* Trims VALUE and folds runs of spaces into one, as the canonical form wants. */
static char *
sigv4_header_value(const char *value)
{
	GString *out = g_string_new(NULL);
	gboolean space = FALSE;

	while (*value == ' ' || *value == '\t')
		value++;
	for (const char *p = value; *p != '\0'; p++) {
		if (*p == ' ' || *p == '\t') {
			space = TRUE;
			continue;
		}
		if (space && out->len > 0)
			g_string_append_c(out, ' ');
		space = FALSE;
		g_string_append_c(out, *p);
	}
	return g_string_free(out, FALSE);
}

char **
sigv4_sign_request(const struct sigv4_key *key, const char *method, const char *url,
    const char *const *headers, const char *payload_sha256, time_t now, char **cause)
{
	GArray *pairs = g_array_new(FALSE, FALSE, sizeof(struct sigv4_pair));
	GString *canon = g_string_new(NULL), *signed_names = g_string_new(NULL);
	GPtrArray *extra = g_ptr_array_new();
	struct sigv4_url u;
	gboolean have_date = FALSE, have_hash = FALSE;
	char amz_date[17], date[9];
	char *cquery = NULL, *creq = NULL, *scope = NULL, *sts = NULL, *sig = NULL;
	const char *payload = payload_sha256 != NULL ? payload_sha256 : SIGV4_EMPTY_SHA256;
	struct sigv4_pair pair;
	char **result = NULL;

	g_array_set_clear_func(pairs, sigv4_pair_clear);
	if (sigv4_url_parse(url, &u, cause) != 0)
		goto out;
	sigv4_format_time(now, amz_date, date);
	for (const char *const *h = headers; h != NULL && *h != NULL; h++) {
		const char *colon = strchr(*h, ':');

		if (colon == NULL || colon == *h) {
			*cause = g_strdup_printf("bad header line \"%s\"", *h);
			goto out;
		}
		pair.name = g_ascii_strdown(*h, colon - *h);
		g_strstrip(pair.name);
		pair.value = sigv4_header_value(colon + 1);
		if (strcmp(pair.name, "x-amz-date") == 0)
			have_date = TRUE;
		if (strcmp(pair.name, "x-amz-content-sha256") == 0) {
			have_hash = TRUE;
			payload = colon + 1;
			while (*payload == ' ')
				payload++;
		}
		if (strcmp(pair.name, "host") == 0) {
			sigv4_pair_clear(&pair);
			continue;
		}
		g_array_append_val(pairs, pair);
	}
	pair.name = g_strdup("host");
	pair.value = sigv4_host_header(&u);
	g_array_append_val(pairs, pair);
	if (!have_date) {
		pair.name = g_strdup("x-amz-date");
		pair.value = g_strdup(amz_date);
		g_array_append_val(pairs, pair);
		g_ptr_array_add(extra, g_strdup_printf("x-amz-date: %s", amz_date));
	}
	if (!have_hash) {
		pair.name = g_strdup("x-amz-content-sha256");
		pair.value = g_strdup(payload);
		g_array_append_val(pairs, pair);
		g_ptr_array_add(extra, g_strdup_printf("x-amz-content-sha256: %s", payload));
	}
	g_array_sort(pairs, sigv4_pair_cmp);
	for (guint i = 0; i < pairs->len; i++) {
		struct sigv4_pair *p = &g_array_index(pairs, struct sigv4_pair, i);
		gboolean same = i > 0 &&
		    strcmp(p->name, g_array_index(pairs, struct sigv4_pair, i - 1).name) == 0;

		/* A repeated header is one canonical line, values comma-joined. */
		if (same) {
			g_string_truncate(canon, canon->len - 1);
			g_string_append_printf(canon, ",%s\n", p->value);
			continue;
		}
		g_string_append_printf(canon, "%s:%s\n", p->name, p->value);
		g_string_append_printf(signed_names, "%s%s", i > 0 ? ";" : "", p->name);
	}
	cquery = sigv4_canonical_query(u.query);
	creq = sigv4_canonical_request(method, *u.path != '\0' ? u.path : "/", cquery, canon->str,
	    signed_names->str, payload);
	scope = sigv4_scope(key, date);
	sts = sigv4_string_to_sign(amz_date, scope, creq);
	sig = sigv4_sign_string(key, date, sts);
	g_ptr_array_add(extra, g_strdup_printf("Authorization: " SIGV4_ALGORITHM
	    " Credential=%s/%s,SignedHeaders=%s,Signature=%s", key->access_key, scope,
	    signed_names->str, sig));
	g_ptr_array_add(extra, NULL);
	result = (char **)g_ptr_array_free(extra, FALSE);
	extra = NULL;
out:
	if (extra != NULL)
		g_ptr_array_free(extra, TRUE);
	if (u.host != NULL)
		sigv4_url_clear(&u);
	g_array_unref(pairs);
	g_string_free(canon, TRUE);
	g_string_free(signed_names, TRUE);
	g_free(cquery);
	g_free(creq);
	g_free(scope);
	g_free(sts);
	g_free(sig);
	return result;
}

static char *
sigv4_iso8601(time_t t)
{
	struct tm tm;
	char buf[32];

	gmtime_r(&t, &tm);
	strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S.000Z", &tm);
	return g_strdup(buf);
}

json_t *
sigv4_post_policy(const struct sigv4_key *key, json_t *conditions, time_t expiration,
    time_t now)
{
	char amz_date[17], date[9];
	char *cred, *expires, *text, *b64, *sig;
	json_t *policy, *conds, *fields;

	sigv4_format_time(now, amz_date, date);
	cred = sigv4_credential(key, date);
	expires = sigv4_iso8601(expiration);
	conds = json_deep_copy(conditions);
	json_array_append_new(conds, json_pack("{ss}", "x-amz-algorithm", SIGV4_ALGORITHM));
	json_array_append_new(conds, json_pack("{ss}", "x-amz-credential", cred));
	json_array_append_new(conds, json_pack("{ss}", "x-amz-date", amz_date));
	policy = json_pack("{sssO}", "expiration", expires, "conditions", conds);
	text = json_dumps(policy, JSON_COMPACT);
	b64 = g_base64_encode((const guchar *)text, strlen(text));
	sig = sigv4_sign_string(key, date, b64);
	fields = json_pack("{ssssssssss}", "x-amz-algorithm", SIGV4_ALGORITHM,
	    "x-amz-credential", cred, "x-amz-date", amz_date, "policy", b64,
	    "x-amz-signature", sig);
	json_decref(conds);
	json_decref(policy);
	free(text);
	g_free(b64);
	g_free(sig);
	g_free(cred);
	g_free(expires);
	return fields;
}

gboolean
sigv4_str_equal_ct(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	unsigned char diff = la != lb;

	for (size_t i = 0; i < la && i < lb; i++)
		diff |= (unsigned char)a[i] ^ (unsigned char)b[i];
	return diff == 0;
}

/* The decoded policy document, or NULL when it is not base64 JSON. */
static json_t *
sigv4_policy_decode(const char *policy_b64)
{
	guchar *raw;
	gsize len;
	json_t *doc;

	/* g_base64_decode skips junk; a round trip proves the text was base64. */
	raw = g_base64_decode(policy_b64, &len);
	if (raw == NULL || len == 0) {
		g_free(raw);
		return NULL;
	}
	doc = json_loadb((const char *)raw, len, JSON_REJECT_DUPLICATES, NULL);
	g_free(raw);
	if (doc != NULL && !json_is_object(doc)) {
		json_decref(doc);
		return NULL;
	}
	return doc;
}

gboolean
sigv4_policy_length_range(const char *policy_b64, gint64 *min_len, gint64 *max_len)
{
	json_t *doc = sigv4_policy_decode(policy_b64), *cond;
	gboolean found = FALSE;
	size_t i;

	if (doc == NULL)
		return FALSE;
	json_array_foreach(json_object_get(doc, "conditions"), i, cond) {
		if (json_is_array(cond) && json_array_size(cond) == 3 &&
		    g_strcmp0(json_string_value(json_array_get(cond, 0)), "content-length-range") == 0 &&
		    json_is_integer(json_array_get(cond, 1)) && json_is_integer(json_array_get(cond, 2))) {
			*min_len = json_integer_value(json_array_get(cond, 1));
			*max_len = json_integer_value(json_array_get(cond, 2));
			found = TRUE;
		}
	}
	json_decref(doc);
	return found;
}

static gboolean
sigv4_field_exempt(const char *name)
{
	return strcmp(name, "policy") == 0 || strcmp(name, "x-amz-signature") == 0 ||
	    strcmp(name, "file") == 0 || g_str_has_prefix(name, "x-ignore-");
}

/* Checks one condition; on failure sets *cause and *status_code. Names the
 * field it covers in COVERED. */
static int
sigv4_condition_check(json_t *cond, GHashTable *fields, gint64 content_length,
    GHashTable *covered, int *status_code, char **cause)
{
	const char *op, *name, *want, *have;
	char *lname;
	int rc = -1;

	if (json_is_object(cond) && json_object_size(cond) == 1) {
		const char *k;
		json_t *v;

		json_object_foreach(cond, k, v) {
			if (!json_is_string(v))
				break;
			lname = g_ascii_strdown(k, -1);
			have = g_hash_table_lookup(fields, lname);
			g_hash_table_add(covered, lname);
			if (have == NULL || strcmp(have, json_string_value(v)) != 0) {
				*status_code = 403;
				*cause = g_strdup_printf("AccessDenied: Invalid according to Policy: "
				    "Policy Condition failed: [\"eq\", \"$%s\", \"%s\"]", k,
				    json_string_value(v));
				return -1;
			}
			return 0;
		}
		goto malformed;
	}
	if (!json_is_array(cond) || json_array_size(cond) != 3 ||
	    (op = json_string_value(json_array_get(cond, 0))) == NULL)
		goto malformed;
	if (g_ascii_strcasecmp(op, "content-length-range") == 0) {
		json_int_t lo = json_integer_value(json_array_get(cond, 1));
		json_int_t hi = json_integer_value(json_array_get(cond, 2));

		if (!json_is_integer(json_array_get(cond, 1)) || !json_is_integer(json_array_get(cond, 2)))
			goto malformed;
		if (content_length >= 0 && content_length < lo) {
			*status_code = 400;
			*cause = g_strdup("EntityTooSmall: Your proposed upload is smaller than the minimum allowed size");
			return -1;
		}
		if (content_length >= 0 && content_length > hi) {
			*status_code = 400;
			*cause = g_strdup("EntityTooLarge: Your proposed upload exceeds the maximum allowed size");
			return -1;
		}
		return 0;
	}
	name = json_string_value(json_array_get(cond, 1));
	want = json_string_value(json_array_get(cond, 2));
	if (name == NULL || want == NULL || name[0] != '$')
		goto malformed;
	lname = g_ascii_strdown(name + 1, -1);
	g_hash_table_add(covered, lname);
	have = g_hash_table_lookup(fields, lname);
	if (have == NULL)
		have = "";
	if (g_ascii_strcasecmp(op, "eq") == 0)
		rc = strcmp(have, want) == 0 ? 0 : -1;
	else if (g_ascii_strcasecmp(op, "starts-with") == 0)
		rc = g_str_has_prefix(have, want) ? 0 : -1;
	else
		goto malformed;
	if (rc != 0) {
		*status_code = 403;
		*cause = g_strdup_printf("AccessDenied: Invalid according to Policy: "
		    "Policy Condition failed: [\"%s\", \"%s\", \"%s\"]", op, name, want);
	}
	return rc;
malformed:
	*status_code = 400;
	*cause = g_strdup("InvalidPolicyDocument: Invalid Policy: Invalid conditions");
	return -1;
}

int
sigv4_post_verify(const struct sigv4_key *key, GHashTable *fields, gint64 content_length,
    time_t now, int *status_code, char **cause)
{
	const char *policy = g_hash_table_lookup(fields, "policy");
	const char *sig = g_hash_table_lookup(fields, "x-amz-signature");
	const char *cred = g_hash_table_lookup(fields, "x-amz-credential");
	const char *alg = g_hash_table_lookup(fields, "x-amz-algorithm");
	GHashTable *covered = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	GDateTime *expiry = NULL;
	char **parts = NULL;
	char *expected = NULL, *lsig = NULL;
	json_t *doc = NULL, *cond;
	GHashTableIter it;
	gpointer name;
	size_t i;
	int rc = -1;

	*status_code = 400;
	if (policy == NULL || sig == NULL || cred == NULL || alg == NULL) {
		*cause = g_strdup("InvalidArgument: Bucket POST must contain the fields policy, "
		    "x-amz-algorithm, x-amz-credential and x-amz-signature");
		goto out;
	}
	if (strcmp(alg, SIGV4_ALGORITHM) != 0) {
		*cause = g_strdup("InvalidArgument: unsupported x-amz-algorithm");
		goto out;
	}
	parts = g_strsplit(cred, "/", -1);
	if (g_strv_length(parts) != 5 || strcmp(parts[4], SIGV4_TERMINATOR) != 0 ||
	    strlen(parts[1]) != 8) {
		*cause = g_strdup("AuthorizationQueryParametersError: malformed x-amz-credential");
		goto out;
	}
	*status_code = 403;
	if (strcmp(parts[0], key->access_key) != 0) {
		*cause = g_strdup("InvalidAccessKeyId: The AWS Access Key Id you provided does not exist in our records.");
		goto out;
	}
	if (strcmp(parts[2], key->region) != 0 || strcmp(parts[3], sigv4_service(key)) != 0) {
		*cause = g_strdup("SignatureDoesNotMatch: credential scope does not match");
		goto out;
	}
	expected = sigv4_sign_string(key, parts[1], policy);
	lsig = g_ascii_strdown(sig, -1);
	if (!sigv4_str_equal_ct(expected, lsig)) {
		*cause = g_strdup("SignatureDoesNotMatch: The request signature we calculated does not "
		    "match the signature you provided.");
		goto out;
	}
	if ((doc = sigv4_policy_decode(policy)) == NULL ||
	    !json_is_string(json_object_get(doc, "expiration")) ||
	    !json_is_array(json_object_get(doc, "conditions"))) {
		*status_code = 400;
		*cause = g_strdup("InvalidPolicyDocument: Invalid Policy: Invalid JSON.");
		goto out;
	}
	expiry = g_date_time_new_from_iso8601(json_string_value(json_object_get(doc, "expiration")), NULL);
	if (expiry == NULL) {
		*status_code = 400;
		*cause = g_strdup("InvalidPolicyDocument: Invalid Policy: Invalid 'expiration' value");
		goto out;
	}
	if (g_date_time_to_unix(expiry) < (gint64)now) {
		*cause = g_strdup("AccessDenied: Invalid according to Policy: Policy expired.");
		goto out;
	}
	json_array_foreach(json_object_get(doc, "conditions"), i, cond) {
		if (sigv4_condition_check(cond, fields, content_length, covered, status_code, cause) != 0)
			goto out;
	}
	g_hash_table_iter_init(&it, fields);
	while (g_hash_table_iter_next(&it, &name, NULL)) {
		if (!sigv4_field_exempt(name) && strcmp(name, "bucket") != 0 &&
		    !g_hash_table_contains(covered, name)) {
			*status_code = 403;
			*cause = g_strdup_printf("AccessDenied: Invalid according to Policy: "
			    "Extra input fields: %s", (const char *)name);
			goto out;
		}
	}
	rc = 0;
out:
	if (expiry != NULL)
		g_date_time_unref(expiry);
	g_hash_table_unref(covered);
	g_strfreev(parts);
	g_free(expected);
	g_free(lsig);
	json_decref(doc);
	return rc;
}
