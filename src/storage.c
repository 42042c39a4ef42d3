/* Storage: the backend choice, keys, URLs and upload forms. */
#include "autoconfig.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "storage-private.h"

#define STORAGE_KEY_MAX 1024
#define STORAGE_UPLOAD_STEM_MAX 100
#define STORAGE_UPLOAD_EXT_MAX 16
/* Derives the local signing secret from the JWT secret, so a deployment
 * with only SUPABASE_JWT_SECRET works, without ever using that secret
 * itself for a second purpose. */
#define STORAGE_SECRET_LABEL "podcastpro local storage v1"

static char *
storage_strip_slash(const char *url)
{
	char *s = g_strdup(url);
	size_t n = strlen(s);

	while (n > 0 && s[n - 1] == '/')
		s[--n] = '\0';
	return s;
}

struct storage *
storage_new(const struct config *cfg, char **cause)
{
	struct storage *st = g_new0(struct storage, 1);

	st->public_url = storage_strip_slash(cfg->public_url != NULL ? cfg->public_url : "http://127.0.0.1:8080");
	st->timeout_s = cfg->provider_timeout > 0 ? cfg->provider_timeout : 120;
	if (cfg->aws_s3_bucket_name != NULL && *cfg->aws_s3_bucket_name != '\0') {
		if (cfg->aws_access_key_id == NULL || cfg->aws_secret_access_key == NULL) {
			*cause = g_strdup("AWS_S3_BUCKET_NAME is set: AWS_ACCESS_KEY_ID and "
			    "AWS_SECRET_ACCESS_KEY are required too");
			goto fail;
		}
		st->bucket = g_strdup(cfg->aws_s3_bucket_name);
		st->region = g_strdup(cfg->aws_region != NULL ? cfg->aws_region : "us-east-1");
		st->access_key = g_strdup(cfg->aws_access_key_id);
		st->secret_key = g_strdup(cfg->aws_secret_access_key);
		if (cfg->aws_s3_endpoint_url != NULL && *cfg->aws_s3_endpoint_url != '\0') {
			st->endpoint = storage_strip_slash(cfg->aws_s3_endpoint_url);
			st->base_url = g_strdup_printf("%s/%s", st->endpoint, st->bucket);
		} else {
			st->base_url = g_strdup_printf("https://%s.s3.%s.amazonaws.com", st->bucket, st->region);
		}
		st->s3_key = (struct sigv4_key){ st->access_key, st->secret_key, st->region, "s3" };
		return st;
	}
	st->local = TRUE;
	if (g_path_is_absolute(cfg->storage_dir)) {
		st->dir = storage_strip_slash(cfg->storage_dir);
	} else {
		char *cwd = g_get_current_dir();

		st->dir = g_build_filename(cwd, cfg->storage_dir, NULL);
		g_free(cwd);
	}
	if (*st->dir == '\0') {
		g_free(st->dir);
		st->dir = g_strdup("/");
	}
	if (g_mkdir_with_parents(st->dir, 0755) != 0) {
		*cause = g_strdup_printf("STORAGE_DIR %s: %s", st->dir, g_strerror(errno));
		goto fail;
	}
	if (cfg->storage_secret != NULL && *cfg->storage_secret != '\0')
		st->local_secret = g_strdup(cfg->storage_secret);
	else if (cfg->supabase_jwt_secret != NULL && *cfg->supabase_jwt_secret != '\0')
		st->local_secret = g_compute_hmac_for_string(G_CHECKSUM_SHA256,
		    (const guchar *)cfg->supabase_jwt_secret, strlen(cfg->supabase_jwt_secret),
		    STORAGE_SECRET_LABEL, -1);
	st->local_key = (struct sigv4_key){ "podcastpro-local", st->local_secret, "local", "storage" };
	return st;
fail:
	storage_free(st);
	return NULL;
}

void
storage_free(struct storage *st)
{
	if (st == NULL)
		return;
	g_free(st->public_url);
	g_free(st->dir);
	if (st->local_secret != NULL)
		memset(st->local_secret, 0, strlen(st->local_secret));
	g_free(st->local_secret);
	g_free(st->bucket);
	g_free(st->region);
	g_free(st->access_key);
	if (st->secret_key != NULL)
		memset(st->secret_key, 0, strlen(st->secret_key));
	g_free(st->secret_key);
	g_free(st->endpoint);
	g_free(st->base_url);
	g_free(st);
}

gboolean
storage_is_local(const struct storage *st)
{
	return st->local;
}

const char *
storage_kind(const struct storage *st)
{
	return st->local ? "local" : "s3";
}

gboolean
storage_key_valid(const char *key)
{
	size_t n;
	const char *seg;

	if (key == NULL || (n = strlen(key)) == 0 || n > STORAGE_KEY_MAX || key[0] == '/')
		return FALSE;
	if (!g_utf8_validate(key, (gssize)n, NULL))
		return FALSE;
	for (const unsigned char *p = (const unsigned char *)key; *p != '\0'; p++) {
		if (*p < 0x20 || *p == 0x7f || *p == '\\')
			return FALSE;
	}
	/* No empty, "." or ".." segment; no segment starting with '.', which
	 * keeps keys clear of our temporary files and of hidden names. */
	for (seg = key; seg != NULL; seg = strchr(seg, '/') != NULL ? strchr(seg, '/') + 1 : NULL) {
		if (*seg == '/' || *seg == '\0' || *seg == '.')
			return FALSE;
	}
	return TRUE;
}

/* TRUE when EXT (after a '.') is 1 to 16 ASCII letters and digits. */
static gboolean
storage_upload_ext_ok(const char *ext)
{
	size_t n = strlen(ext);

	if (n == 0 || n > STORAGE_UPLOAD_EXT_MAX)
		return FALSE;
	for (const char *p = ext; *p != '\0'; p++) {
		if (!g_ascii_isalnum(*p))
			return FALSE;
	}
	return TRUE;
}

char *
storage_upload_name(const char *filename, const char *tag)
{
	char *valid = g_utf8_make_valid(filename != NULL ? filename : "", -1);
	/* "C": the same letters whatever the process's locale ("é" -> "e");
	 * what has no ASCII form becomes '?', then '_'. */
	char *ascii = g_str_to_ascii(valid, "C");
	char *dot, *ext = NULL;
	GString *name = g_string_new(NULL);

	g_strstrip(ascii);
	if ((dot = strrchr(ascii, '.')) != NULL && storage_upload_ext_ok(dot + 1)) {
		ext = dot + 1;
		*dot = '\0';
	}
	for (const char *p = ascii; *p != '\0' && name->len < STORAGE_UPLOAD_STEM_MAX; p++) {
		char c = g_ascii_isalnum(*p) || *p == '.' || *p == '-' ? *p : '_';

		if (name->len == 0 && (c == '.' || c == '_' || c == '-'))
			continue;
		if ((c == '_' || c == '.') && name->str[name->len - 1] == c)
			continue;
		g_string_append_c(name, c);
	}
	while (name->len > 0 && strchr("._-", name->str[name->len - 1]) != NULL)
		g_string_truncate(name, name->len - 1);
	if (name->len == 0)
		g_string_append(name, "file");
	if (tag != NULL && *tag != '\0')
		g_string_append_printf(name, "_%s", tag);
	if (ext != NULL)
		g_string_append_printf(name, ".%s", ext);
	g_free(ascii);
	g_free(valid);
	return g_string_free(name, FALSE);
}

/* Fills TAG with LEN random characters of [0-9a-z] (Crockford's base32
 * letters, lower case: no i, l, o, u) and a NUL. From the kernel, not
 * g_random: preforked processes would share one g_random sequence. */
static void
storage_upload_tag(char *tag, size_t len)
{
	static const char alphabet[] = "0123456789abcdefghjkmnpqrstvwxyz";
	guint8 rnd[64];
	size_t got = 0;

	g_assert(len <= sizeof rnd);
	while (got < len) {
		ssize_t n = getrandom(rnd + got, len - got, 0);

		if (n > 0) {
			got += (size_t)n;
		} else if (errno != EINTR) {
			/* No getrandom: still unique enough for a key, which is no secret. */
			for (; got < len; got++)
				rnd[got] = (guint8)g_random_int();
		}
	}
	for (size_t i = 0; i < len; i++)
		tag[i] = alphabet[rnd[i] & 31];
	tag[len] = '\0';
}

char *
storage_upload_key(const char *sub, const char *filename, time_t now)
{
	char tag[STORAGE_UPLOAD_TAG_LEN + 1], stamp[32], *name, *key;
	struct tm tm;

	storage_upload_tag(tag, STORAGE_UPLOAD_TAG_LEN);
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof stamp, "%Y%m%d_%H%M%S", &tm);
	name = storage_upload_name(filename, tag);
	key = g_strdup_printf("podcasts/%s/%s_%s", sub, stamp, name);
	g_free(name);
	if (!storage_key_valid(key))
		g_clear_pointer(&key, g_free);
	return key;
}

static enum storage_result
storage_refuse_key(const char *key, char **cause)
{
	*cause = g_strdup_printf("invalid storage key \"%s\"", key != NULL ? key : "(null)");
	return STORAGE_FAIL;
}

enum storage_result
storage_put(struct storage *st, const char *key, const void *data, gsize len,
    const char *content_type, char **cause)
{
	if (!storage_key_valid(key))
		return storage_refuse_key(key, cause);
	if (st->local)
		return storage_local_put(st, key, data, len, cause);
	return storage_s3_put(st, key, data, len, content_type, cause);
}

enum storage_result
storage_put_file(struct storage *st, const char *key, const char *path,
    const char *content_type, char **cause)
{
	if (!storage_key_valid(key))
		return storage_refuse_key(key, cause);
	if (st->local)
		return storage_local_put_file(st, key, path, cause);
	return storage_s3_put_file(st, key, path, content_type, cause);
}

enum storage_result
storage_get(struct storage *st, const char *key, gsize max_size, GBytes **out, char **cause)
{
	*out = NULL;
	if (!storage_key_valid(key))
		return storage_refuse_key(key, cause);
	if (st->local)
		return storage_local_get(st, key, max_size, out, cause);
	return storage_s3_get(st, key, max_size, out, cause);
}

enum storage_result
storage_exists(struct storage *st, const char *key, gint64 *size, char **cause)
{
	if (!storage_key_valid(key))
		return storage_refuse_key(key, cause);
	if (st->local)
		return storage_local_exists(st, key, size, cause);
	return storage_s3_exists(st, key, size, cause);
}

enum storage_result
storage_delete(struct storage *st, const char *key, char **cause)
{
	if (!storage_key_valid(key))
		return storage_refuse_key(key, cause);
	if (st->local)
		return storage_local_delete(st, key, cause);
	return storage_s3_delete(st, key, cause);
}

char *
storage_object_url(const struct storage *st, const char *key)
{
	char *enc, *url;

	if (!storage_key_valid(key))
		return NULL;
	enc = sigv4_uri_encode(key, TRUE);
	if (st->local)
		url = g_strdup_printf("%s/uploads/local/%s", st->public_url, enc);
	else
		url = g_strdup_printf("%s/%s", st->base_url, enc);
	g_free(enc);
	return url;
}

/* The rest of URL after PREFIX (scheme and host compared in any case), or NULL. */
static const char *
storage_after_prefix(const char *url, const char *prefix)
{
	size_t n = strlen(prefix);

	if (g_ascii_strncasecmp(url, prefix, n) != 0)
		return NULL;
	/* The frontend may join url and key with one '/' too many. */
	while (url[n] == '/')
		n++;
	return url + n;
}

char *
storage_key_from_url(const struct storage *st, const char *url)
{
	GPtrArray *prefixes = g_ptr_array_new_with_free_func(g_free);
	const char *rest = NULL;
	char *path = NULL, *key = NULL;

	if (url == NULL)
		goto out;
	if (st->local) {
		g_ptr_array_add(prefixes, g_strdup_printf("%s/uploads/local/", st->public_url));
		g_ptr_array_add(prefixes, g_strdup_printf("%s/media/", st->public_url));
	} else {
		g_ptr_array_add(prefixes, g_strdup_printf("%s/", st->base_url));
		g_ptr_array_add(prefixes, g_strdup_printf("s3://%s/", st->bucket));
		if (st->endpoint == NULL) {
			g_ptr_array_add(prefixes, g_strdup_printf("https://%s.s3.amazonaws.com/", st->bucket));
			g_ptr_array_add(prefixes, g_strdup_printf("https://%s.s3-%s.amazonaws.com/", st->bucket, st->region));
			g_ptr_array_add(prefixes, g_strdup_printf("https://s3.%s.amazonaws.com/%s/", st->region, st->bucket));
			g_ptr_array_add(prefixes, g_strdup_printf("https://s3.amazonaws.com/%s/", st->bucket));
		}
	}
	for (guint i = 0; i < prefixes->len && rest == NULL; i++)
		rest = storage_after_prefix(url, prefixes->pdata[i]);
	if (rest == NULL)
		goto out;
	path = g_strndup(rest, strcspn(rest, "?#"));
	/* An escaped '/' would make one key look like another: refused. */
	key = g_uri_unescape_string(path, "/");
	if (key != NULL && !storage_key_valid(key))
		g_clear_pointer(&key, g_free);
out:
	g_free(path);
	g_ptr_array_unref(prefixes);
	return key;
}

char *
storage_stream_url(const struct storage *st, const char *key, int ttl, char **cause)
{
	char *enc, *url, *sig, *expires;
	time_t now = time(NULL);

	if (!storage_key_valid(key)) {
		storage_refuse_key(key, cause);
		return NULL;
	}
	if (!st->local) {
		char *object = storage_object_url(st, key);

		url = sigv4_presign_url(&st->s3_key, "GET", object, ttl, now, cause);
		g_free(object);
		return url;
	}
	if (st->local_secret == NULL) {
		*cause = g_strdup("no STORAGE_SECRET (or SUPABASE_JWT_SECRET) to sign stream URLs with");
		return NULL;
	}
	expires = g_strdup_printf("%lld", (long long)now + ttl);
	sig = storage_local_stream_sig(st, key, expires);
	enc = sigv4_uri_encode(key, TRUE);
	url = g_strdup_printf("%s/media/%s?expires=%s&sig=%s", st->public_url, enc, expires, sig);
	g_free(enc);
	g_free(sig);
	g_free(expires);
	return url;
}

json_t *
storage_presign_post(const struct storage *st, const char *key,
    const struct storage_post_conditions *cond, time_t now, char **cause)
{
	const struct sigv4_key *sk = st->local ? &st->local_key : &st->s3_key;
	json_t *conds, *fields, *result;

	if (!storage_key_valid(key)) {
		storage_refuse_key(key, cause);
		return NULL;
	}
	if (st->local && st->local_secret == NULL) {
		*cause = g_strdup("no STORAGE_SECRET (or SUPABASE_JWT_SECRET) to sign upload forms with");
		return NULL;
	}
	/* The order boto3 writes: the caller's conditions, bucket, key. */
	conds = json_array();
	if (cond->acl != NULL)
		json_array_append_new(conds, json_pack("{ss}", "acl", cond->acl));
	if (cond->content_type_prefix != NULL)
		json_array_append_new(conds, json_pack("[sss]", "starts-with", "$Content-Type",
		    cond->content_type_prefix));
	else if (cond->content_type != NULL)
		json_array_append_new(conds, json_pack("{ss}", "Content-Type", cond->content_type));
	json_array_append_new(conds, json_pack("[sII]", "content-length-range",
	    (json_int_t)cond->min_size, (json_int_t)cond->max_size));
	if (!st->local)
		json_array_append_new(conds, json_pack("{ss}", "bucket", st->bucket));
	json_array_append_new(conds, json_pack("{ss}", "key", key));
	fields = json_object();
	json_object_set_new(fields, "key", json_string(key));
	if (cond->acl != NULL)
		json_object_set_new(fields, "acl", json_string(cond->acl));
	if (cond->content_type != NULL)
		json_object_set_new(fields, "Content-Type", json_string(cond->content_type));
	result = sigv4_post_policy(sk, conds, now + cond->expires_in, now);
	json_object_update(fields, result);
	json_decref(result);
	json_decref(conds);
	/* Ending in '/': the frontend makes the object's URL as url + key. */
	if (st->local)
		result = json_pack("{s:s+,s:o}", "url", st->public_url, "/uploads/local/", "fields", fields);
	else
		result = json_pack("{s:s+,s:o}", "url", st->base_url, "/", "fields", fields);
	return result;
}

char *
storage_local_path(const struct storage *st, const char *key)
{
	if (!st->local || !storage_key_valid(key))
		return NULL;
	return g_build_filename(st->dir, key, NULL);
}

gboolean
storage_local_stream_valid(const struct storage *st, const char *key,
    const char *expires, const char *sig, time_t now)
{
	char *end = NULL, *want;
	gint64 when;
	gboolean ok;

	if (!st->local || st->local_secret == NULL || !storage_key_valid(key) || expires == NULL ||
	    sig == NULL || *expires == '\0' || !g_ascii_isdigit(*expires))
		return FALSE;
	errno = 0;
	when = g_ascii_strtoll(expires, &end, 10);
	if (errno != 0 || *end != '\0' || when < (gint64)now)
		return FALSE;
	want = storage_local_stream_sig(st, key, expires);
	ok = sigv4_str_equal_ct(want, sig);
	g_free(want);
	return ok;
}

int
storage_local_verify_post(const struct storage *st, GHashTable *fields, time_t now,
    int *status_code, char **cause)
{
	if (!st->local || st->local_secret == NULL) {
		*status_code = 403;
		*cause = g_strdup("AccessDenied: local uploads are not enabled");
		return -1;
	}
	return sigv4_post_verify(&st->local_key, fields, -1, now, status_code, cause);
}
