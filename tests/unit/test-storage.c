/* Local storage: atomic puts, gets, existence, deletion, keys and URLs,
 * stream URL signatures, upload forms; S3 URL mapping (no network). */
#include "autoconfig.h"

#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "config.h"
#include "http.h"
#include "storage.h"

#ifndef TOP_SRCDIR
#define TOP_SRCDIR "."
#endif
#define PYTHON "/usr/bin/python3"

struct fixture {
	char *dir;
	struct config *cfg;
	struct storage *st;
};

static struct config *
test_config(const char *dir, gboolean s3)
{
	struct config *cfg = g_new0(struct config, 1);

	cfg->storage_dir = g_strdup(dir);
	cfg->public_url = g_strdup("https://api.example.com/");
	cfg->storage_secret = g_strdup("local-test-secret");
	cfg->provider_timeout = 5;
	if (s3) {
		cfg->aws_s3_bucket_name = g_strdup("bucket1");
		cfg->aws_access_key_id = g_strdup("AKIDEXAMPLE");
		cfg->aws_secret_access_key = g_strdup("secret");
		cfg->aws_region = g_strdup("eu-west-1");
	}
	return cfg;
}

static void
fixture_setup(struct fixture *f, gconstpointer data)
{
	char *cause = NULL;

	f->dir = g_dir_make_tmp("pp-storage-XXXXXX", NULL);
	g_assert_nonnull(f->dir);
	f->cfg = test_config(f->dir, FALSE);
	f->st = storage_new(f->cfg, &cause);
	g_assert_null(cause);
	g_assert_nonnull(f->st);
}

static void
remove_tree(const char *path)
{
	GDir *d = g_dir_open(path, 0, NULL);
	const char *name;

	if (d == NULL) {
		g_remove(path);
		return;
	}
	while ((name = g_dir_read_name(d)) != NULL) {
		char *child = g_build_filename(path, name, NULL);

		remove_tree(child);
		g_free(child);
	}
	g_dir_close(d);
	g_rmdir(path);
}

static void
fixture_teardown(struct fixture *f, gconstpointer data)
{
	storage_free(f->st);
	config_free(f->cfg);
	remove_tree(f->dir);
	g_free(f->dir);
}

/* Names in DIR that are not KEEP: leftovers such as temporary files. */
static int
count_other_files(const char *dir, const char *keep)
{
	GDir *d = g_dir_open(dir, 0, NULL);
	const char *name;
	int n = 0;

	if (d == NULL)
		return 0;
	while ((name = g_dir_read_name(d)) != NULL) {
		if (keep == NULL || strcmp(name, keep) != 0)
			n++;
	}
	g_dir_close(d);
	return n;
}

static void
test_put_get_delete(struct fixture *f, gconstpointer data)
{
	const char *key = "podcasts/user-1/20261128_134000_doc.pdf";
	GBytes *got = NULL;
	char *cause = NULL, *path, *dir;
	gint64 size = -1;
	struct stat sb;

	g_assert_cmpint(storage_exists(f->st, key, &size, &cause), ==, STORAGE_NOT_FOUND);
	g_assert_cmpint(storage_get(f->st, key, 0, &got, &cause), ==, STORAGE_NOT_FOUND);
	g_assert_null(got);
	g_assert_cmpint(storage_put(f->st, key, "hello", 5, "application/pdf", &cause), ==, STORAGE_OK);
	g_assert_null(cause);
	g_assert_cmpint(storage_exists(f->st, key, &size, &cause), ==, STORAGE_OK);
	g_assert_cmpint(size, ==, 5);
	g_assert_cmpint(storage_get(f->st, key, 0, &got, &cause), ==, STORAGE_OK);
	g_assert_cmpmem(g_bytes_get_data(got, NULL), g_bytes_get_size(got), "hello", 5);
	g_bytes_unref(got);
	got = NULL;
	/* Bigger than allowed: refused, not truncated. */
	g_assert_cmpint(storage_get(f->st, key, 4, &got, &cause), ==, STORAGE_FAIL);
	g_assert_null(got);
	g_clear_pointer(&cause, g_free);

	/* Replaced whole, readable by the web server, no temporary left. */
	g_assert_cmpint(storage_put(f->st, key, "second version", 14, NULL, &cause), ==, STORAGE_OK);
	path = storage_local_path(f->st, key);
	g_assert_cmpint(stat(path, &sb), ==, 0);
	g_assert_cmpint(sb.st_size, ==, 14);
	g_assert_cmpint(sb.st_mode & 0777, ==, 0644);
	dir = g_path_get_dirname(path);
	g_assert_cmpint(count_other_files(dir, "20261128_134000_doc.pdf"), ==, 0);

	g_assert_cmpint(storage_delete(f->st, key, &cause), ==, STORAGE_OK);
	g_assert_cmpint(storage_exists(f->st, key, NULL, &cause), ==, STORAGE_NOT_FOUND);
	/* Deleting again is fine, as on S3. */
	g_assert_cmpint(storage_delete(f->st, key, &cause), ==, STORAGE_OK);
	g_free(dir);
	g_free(path);
}

static void
test_put_file(struct fixture *f, gconstpointer data)
{
	char *src = g_build_filename(f->dir, "source.bin", NULL);
	GBytes *got = NULL;
	char *cause = NULL;
	guint8 buf[200000];

	for (gsize i = 0; i < sizeof buf; i++)
		buf[i] = (guint8)(i * 7);
	g_assert_true(g_file_set_contents(src, (const char *)buf, sizeof buf, NULL));
	g_assert_cmpint(storage_put_file(f->st, "podcasts/podcast_X.mp3", src, "audio/mpeg", &cause), ==, STORAGE_OK);
	g_assert_cmpint(storage_get(f->st, "podcasts/podcast_X.mp3", 0, &got, &cause), ==, STORAGE_OK);
	g_assert_cmpmem(g_bytes_get_data(got, NULL), g_bytes_get_size(got), buf, sizeof buf);
	g_bytes_unref(got);
	/* A missing source fails and leaves nothing behind. */
	g_assert_cmpint(storage_put_file(f->st, "podcasts/podcast_Y.mp3", "/nonexistent/x", NULL, &cause), <, 0);
	g_clear_pointer(&cause, g_free);
	g_assert_cmpint(storage_exists(f->st, "podcasts/podcast_Y.mp3", NULL, &cause), ==, STORAGE_NOT_FOUND);
	g_free(src);
}

/* A failed write (the temporary abandoned) leaves the old object intact. */
static void
test_failed_upload_keeps_old(struct fixture *f, gconstpointer data)
{
	const char *key = "podcasts/u/a.pdf";
	char *tmp = NULL, *cause = NULL, *path;
	GBytes *got = NULL;
	int fd;

	g_assert_cmpint(storage_put(f->st, key, "old", 3, NULL, &cause), ==, STORAGE_OK);
	fd = storage_local_temp(f->st, key, &tmp, &cause);
	g_assert_cmpint(fd, >=, 0);
	g_assert_cmpint(write(fd, "new but partial", 15), ==, 15);
	close(fd);
	/* Not committed: readers still see the old object. */
	g_assert_cmpint(storage_get(f->st, key, 0, &got, &cause), ==, STORAGE_OK);
	g_assert_cmpmem(g_bytes_get_data(got, NULL), g_bytes_get_size(got), "old", 3);
	g_bytes_unref(got);
	g_unlink(tmp);
	path = storage_local_path(f->st, key);
	{
		char *dir = g_path_get_dirname(path);

		g_assert_cmpint(count_other_files(dir, "a.pdf"), ==, 0);
		g_free(dir);
	}
	g_free(path);
	g_free(tmp);
}

/* Writes a small file at DIR/NAME, last modified AGE seconds ago; its path. */
static char *
old_file(const char *dir, const char *name, int age)
{
	char *path = g_build_filename(dir, name, NULL);
	struct timespec times[2];

	g_assert_true(g_file_set_contents(path, "x", 1, NULL));
	clock_gettime(CLOCK_REALTIME, &times[0]);
	times[0].tv_sec -= age;
	times[1] = times[0];
	g_assert_cmpint(utimensat(AT_FDCWD, path, times, AT_SYMLINK_NOFOLLOW), ==, 0);
	return path;
}

/* Abandoned temporaries go; objects, fresh temporaries, look-alikes,
 * directories and links stay, and nothing outside STORAGE_DIR is reached
 * through a link. */
static void
test_sweep_temp(struct fixture *f, gconstpointer data)
{
	struct storage_sweep sw = { 3600, 100000, 1000, 0, FALSE };
	char *user = g_build_filename(f->dir, "podcasts", "u1", NULL);
	char *outside = g_dir_make_tmp("pp-storage-outside-XXXXXX", NULL);
	char *stale[3], *kept[6], *out_tmp, *link_file, *link_dir, *cause = NULL, *tmp = NULL;
	const char *key = "podcasts/u1/20261128_134000_doc.pdf";
	int fd;

	g_assert_cmpint(g_mkdir_with_parents(user, 0755), ==, 0);
	g_assert_cmpint(storage_put(f->st, key, "doc", 3, NULL, &cause), ==, STORAGE_OK);
	stale[0] = old_file(user, ".tmp-Ab3xZ9", 7200);
	stale[1] = old_file(f->dir, ".tmp-000000", 3700);
	{
		char *deep = g_build_filename(f->dir, "cache", "voice", NULL);

		g_assert_cmpint(g_mkdir_with_parents(deep, 0755), ==, 0);
		stale[2] = old_file(deep, ".tmp-qwerty", 86400);
		g_free(deep);
	}
	/* A fresh temporary (an upload in progress) and look-alikes stay. */
	fd = storage_local_temp(f->st, "podcasts/u1/new.pdf", &tmp, &cause);
	g_assert_cmpint(fd, >=, 0);
	close(fd);
	kept[0] = g_strdup(tmp);
	kept[1] = old_file(user, ".tmp-Ab3xZ", 7200);
	kept[2] = old_file(user, ".tmp-Ab3xZ9x", 7200);
	kept[3] = old_file(user, "x.tmp-Ab3xZ9", 7200);
	kept[4] = old_file(user, ".tmp-Ab3-Z9", 7200);
	/* A directory with a temporary's name is not a file. */
	kept[5] = g_build_filename(user, ".tmp-dir123", NULL);
	g_assert_cmpint(g_mkdir(kept[5], 0755), ==, 0);
	/* Links: a link named like a temporary to an old file outside, and a
	 * link to a directory outside holding an old temporary. */
	out_tmp = old_file(outside, ".tmp-OUTSID", 7200);
	link_file = g_build_filename(user, ".tmp-link01", NULL);
	g_assert_cmpint(symlink(out_tmp, link_file), ==, 0);
	link_dir = g_build_filename(f->dir, "elsewhere", NULL);
	g_assert_cmpint(symlink(outside, link_dir), ==, 0);

	g_assert_cmpint(storage_local_sweep_temp(f->st, &sw, time(NULL), &cause), ==, 0);
	g_assert_null(cause);
	g_assert_cmpuint(sw.removed, ==, 3);
	g_assert_false(sw.truncated);
	for (int i = 0; i < 3; i++)
		g_assert_false(g_file_test(stale[i], G_FILE_TEST_EXISTS));
	for (int i = 0; i < 6; i++)
		g_assert_true(g_file_test(kept[i], G_FILE_TEST_EXISTS));
	g_assert_cmpint(storage_exists(f->st, key, NULL, &cause), ==, STORAGE_OK);
	g_assert_true(g_file_test(out_tmp, G_FILE_TEST_IS_REGULAR));
	g_assert_true(g_file_test(link_file, G_FILE_TEST_IS_SYMLINK));
	g_assert_true(g_file_test(link_dir, G_FILE_TEST_IS_SYMLINK));

	/* Bounds: one removal allowed of two, then the rest on the next call. */
	g_free(stale[0]);
	g_free(stale[1]);
	stale[0] = old_file(user, ".tmp-second", 7200);
	stale[1] = old_file(f->dir, ".tmp-thirdd", 7200);
	sw.max_removals = 1;
	g_assert_cmpint(storage_local_sweep_temp(f->st, &sw, time(NULL), &cause), ==, 0);
	g_assert_cmpuint(sw.removed, ==, 1);
	g_assert_true(sw.truncated);
	g_assert_cmpint(storage_local_sweep_temp(f->st, &sw, time(NULL), &cause), ==, 0);
	g_assert_cmpuint(sw.removed, ==, 1);
	g_assert_false(g_file_test(stale[0], G_FILE_TEST_EXISTS));
	g_assert_false(g_file_test(stale[1], G_FILE_TEST_EXISTS));
	/* Too few entries allowed to reach anything: stopped, nothing removed. */
	g_free(stale[0]);
	stale[0] = old_file(user, ".tmp-fourth", 7200);
	sw.max_removals = 1000;
	sw.max_entries = 1;
	g_assert_cmpint(storage_local_sweep_temp(f->st, &sw, time(NULL), &cause), ==, 0);
	g_assert_true(sw.truncated);
	g_assert_cmpuint(sw.removed, ==, 0);
	g_assert_true(g_file_test(stale[0], G_FILE_TEST_EXISTS));

	/* The links go before the teardown, which would follow them. */
	g_unlink(link_file);
	g_unlink(link_dir);
	g_unlink(out_tmp);
	g_rmdir(outside);
	for (int i = 0; i < 3; i++)
		g_free(stale[i]);
	for (int i = 0; i < 6; i++)
		g_free(kept[i]);
	g_free(tmp);
	g_free(out_tmp);
	g_free(link_file);
	g_free(link_dir);
	g_free(outside);
	g_free(user);
}

/* S3 has no temporaries of ours: nothing to do. */
static void
test_sweep_temp_s3(void)
{
	struct config *cfg = test_config("/nonexistent", TRUE);
	struct storage_sweep sw = { 3600, 10, 10, 7, TRUE };
	char *cause = NULL;
	struct storage *st = storage_new(cfg, &cause);

	g_assert_nonnull(st);
	g_assert_cmpint(storage_local_sweep_temp(st, &sw, time(NULL), &cause), ==, 0);
	g_assert_cmpuint(sw.removed, ==, 0);
	g_assert_false(sw.truncated);
	storage_free(st);
	config_free(cfg);
}

static void
test_key_validation(struct fixture *f, gconstpointer data)
{
	const char *bad[] = { "", "/etc/passwd", "../x", "a/../../x", "a/./b", "a//b", "a/", ".hidden",
	    "a/.tmp-123456", "a\\b", "a\nb", "a\x01", "\xff\xfe", NULL };
	char *cause = NULL;
	GBytes *got = NULL;

	g_assert_true(storage_key_valid("podcasts/u/20261128_134000_My doc (1).pdf"));
	g_assert_true(storage_key_valid("a"));
	for (int i = 0; bad[i] != NULL; i++) {
		g_assert_false(storage_key_valid(bad[i]));
		g_assert_cmpint(storage_put(f->st, bad[i], "x", 1, NULL, &cause), ==, STORAGE_FAIL);
		g_clear_pointer(&cause, g_free);
		g_assert_cmpint(storage_get(f->st, bad[i], 0, &got, &cause), ==, STORAGE_FAIL);
		g_clear_pointer(&cause, g_free);
		g_assert_null(storage_local_path(f->st, bad[i]));
		g_assert_null(storage_object_url(f->st, bad[i]));
	}
	{
		GString *longkey = g_string_new(NULL);

		while (longkey->len <= 1024)
			g_string_append(longkey, "abcdefgh/");
		g_string_append_c(longkey, 'x');
		g_assert_false(storage_key_valid(longkey->str));
		g_string_free(longkey, TRUE);
	}
}

static void
test_local_urls(struct fixture *f, gconstpointer data)
{
	char *url = storage_object_url(f->st, "podcasts/u1/20261128_134000_a b$.pdf");
	char *key;

	g_assert_cmpstr(url, ==, "https://api.example.com/uploads/local/podcasts/u1/20261128_134000_a%20b%24.pdf");
	key = storage_key_from_url(f->st, url);
	g_assert_cmpstr(key, ==, "podcasts/u1/20261128_134000_a b$.pdf");
	g_free(key);
	g_free(url);
	/* The upload form's url joined with the key, with a stray slash. */
	key = storage_key_from_url(f->st, "https://api.example.com/uploads/local//podcasts/u1/x.pdf?x=1");
	g_assert_cmpstr(key, ==, "podcasts/u1/x.pdf");
	g_free(key);
	/* Not ours, or escaping the key space. */
	g_assert_null(storage_key_from_url(f->st, "https://evil.example.com/uploads/local/podcasts/u1/x.pdf"));
	g_assert_null(storage_key_from_url(f->st, "https://api.example.com/uploads/local/../secret"));
	g_assert_null(storage_key_from_url(f->st, "https://api.example.com/uploads/local/podcasts/%2e%2e/x"));
	g_assert_null(storage_key_from_url(f->st, "https://api.example.com/uploads/local/a%2Fb"));
	g_assert_null(storage_key_from_url(f->st, "https://api.example.com/other/podcasts/u1/x.pdf"));
	g_assert_null(storage_key_from_url(f->st, "file:///etc/passwd"));
	g_assert_null(storage_key_from_url(f->st, NULL));
}

static void
test_stream_url(struct fixture *f, gconstpointer data)
{
	char *cause = NULL;
	char *url = storage_stream_url(f->st, "podcasts/podcast_01J.mp3", 3600, &cause);
	char **parts, *q, **kv;
	const char *expires = NULL, *sig = NULL;
	time_t now = time(NULL);

	g_assert_nonnull(url);
	g_assert_true(g_str_has_prefix(url, "https://api.example.com/media/podcasts/podcast_01J.mp3?expires="));
	q = strchr(url, '?') + 1;
	parts = g_strsplit(q, "&", -1);
	for (char **p = parts; *p != NULL; p++) {
		kv = g_strsplit(*p, "=", 2);
		if (strcmp(kv[0], "expires") == 0)
			expires = g_intern_string(kv[1]);
		if (strcmp(kv[0], "sig") == 0)
			sig = g_intern_string(kv[1]);
		g_strfreev(kv);
	}
	g_assert_nonnull(expires);
	g_assert_nonnull(sig);
	g_assert_true(storage_local_stream_valid(f->st, "podcasts/podcast_01J.mp3", expires, sig, now));
	/* Expired, another key, a tampered signature or expiry. */
	g_assert_false(storage_local_stream_valid(f->st, "podcasts/podcast_01J.mp3", expires, sig, now + 3601));
	g_assert_false(storage_local_stream_valid(f->st, "podcasts/podcast_01K.mp3", expires, sig, now));
	g_assert_false(storage_local_stream_valid(f->st, "podcasts/podcast_01J.mp3", "9999999999", sig, now));
	g_assert_false(storage_local_stream_valid(f->st, "podcasts/podcast_01J.mp3", expires, "00", now));
	g_assert_false(storage_local_stream_valid(f->st, "podcasts/podcast_01J.mp3", "-1", sig, now));
	g_assert_false(storage_local_stream_valid(f->st, "podcasts/podcast_01J.mp3", expires, NULL, now));
	g_strfreev(parts);
	g_free(url);
}

static GHashTable *
form_from(json_t *fields)
{
	GHashTable *form = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	const char *k;
	json_t *v;

	json_object_foreach(fields, k, v)
		g_hash_table_insert(form, g_ascii_strdown(k, -1), g_strdup(json_string_value(v)));
	return form;
}

static void
test_presign_post_local(struct fixture *f, gconstpointer data)
{
	struct storage_post_conditions cond = { 1, 10 * 1024 * 1024, "private", "application/pdf",
	    "application/pdf", 3600 };
	time_t now = time(NULL);
	char *cause = NULL;
	json_t *form = storage_presign_post(f->st, "podcasts/u1/x.pdf", &cond, now, &cause);
	json_t *fields = json_object_get(form, "fields");
	GHashTable *h;
	int status = 0;

	g_assert_nonnull(form);
	g_assert_cmpstr(json_string_value(json_object_get(form, "url")), ==, "https://api.example.com/uploads/local/");
	g_assert_cmpstr(json_string_value(json_object_get(fields, "key")), ==, "podcasts/u1/x.pdf");
	{
		/* The frontend's object URL: url + key, nothing added. */
		char *joined = g_strconcat(json_string_value(json_object_get(form, "url")), "podcasts/u1/x.pdf", NULL);
		char *key = storage_key_from_url(f->st, joined);

		g_assert_cmpstr(key, ==, "podcasts/u1/x.pdf");
		g_free(key);
		g_free(joined);
	}
	g_assert_cmpstr(json_string_value(json_object_get(fields, "acl")), ==, "private");
	g_assert_cmpstr(json_string_value(json_object_get(fields, "Content-Type")), ==, "application/pdf");
	g_assert_cmpstr(json_string_value(json_object_get(fields, "x-amz-algorithm")), ==, "AWS4-HMAC-SHA256");
	g_assert_nonnull(json_object_get(fields, "policy"));
	g_assert_nonnull(json_object_get(fields, "x-amz-signature"));
	h = form_from(fields);
	g_assert_cmpint(storage_local_verify_post(f->st, h, now, &status, &cause), ==, 0);
	g_hash_table_insert(h, g_strdup("key"), g_strdup("podcasts/u2/x.pdf"));
	g_assert_cmpint(storage_local_verify_post(f->st, h, now, &status, &cause), ==, -1);
	g_assert_cmpint(status, ==, 403);
	g_free(cause);
	g_hash_table_unref(h);
	json_decref(form);
}

static void
test_s3_urls(void)
{
	struct config *cfg = test_config("/nonexistent", TRUE);
	char *cause = NULL, *url, *key;
	struct storage *st = storage_new(cfg, &cause);
	struct storage_post_conditions cond = { 1, 100, "private", "application/pdf", "application/pdf", 3600 };
	json_t *form;

	g_assert_nonnull(st);
	g_assert_false(storage_is_local(st));
	url = storage_object_url(st, "podcasts/u/a b.pdf");
	g_assert_cmpstr(url, ==, "https://bucket1.s3.eu-west-1.amazonaws.com/podcasts/u/a%20b.pdf");
	g_free(url);
	const char *forms[] = {
		"https://bucket1.s3.eu-west-1.amazonaws.com/podcasts/u/a%20b.pdf",
		"https://bucket1.s3.amazonaws.com/podcasts/u/a%20b.pdf",
		"https://BUCKET1.s3.amazonaws.com//podcasts/u/a%20b.pdf?versionId=1",
		"https://s3.eu-west-1.amazonaws.com/bucket1/podcasts/u/a%20b.pdf",
		"s3://bucket1/podcasts/u/a b.pdf",
		NULL
	};
	for (int i = 0; forms[i] != NULL; i++) {
		key = storage_key_from_url(st, forms[i]);
		g_assert_cmpstr(key, ==, "podcasts/u/a b.pdf");
		g_free(key);
	}
	g_assert_null(storage_key_from_url(st, "https://bucket2.s3.amazonaws.com/podcasts/u/a.pdf"));
	g_assert_null(storage_key_from_url(st, "https://bucket1.s3.amazonaws.com.evil.com/podcasts/u/a.pdf"));
	url = storage_stream_url(st, "podcasts/podcast_1.mp3", 3600, &cause);
	g_assert_true(g_str_has_prefix(url, "https://bucket1.s3.eu-west-1.amazonaws.com/podcasts/podcast_1.mp3?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F"));
	g_assert_nonnull(strstr(url, "&X-Amz-Expires=3600&"));
	g_free(url);
	form = storage_presign_post(st, "podcasts/u/a.pdf", &cond, time(NULL), &cause);
	g_assert_cmpstr(json_string_value(json_object_get(form, "url")), ==, "https://bucket1.s3.eu-west-1.amazonaws.com/");
	json_decref(form);
	storage_free(st);
	config_free(cfg);

	/* Path style at an endpoint. */
	cfg = test_config("/nonexistent", TRUE);
	cfg->aws_s3_endpoint_url = g_strdup("http://127.0.0.1:9000/");
	st = storage_new(cfg, &cause);
	url = storage_object_url(st, "k/x");
	g_assert_cmpstr(url, ==, "http://127.0.0.1:9000/bucket1/k/x");
	key = storage_key_from_url(st, url);
	g_assert_cmpstr(key, ==, "k/x");
	g_free(key);
	g_free(url);
	/* The form's url ends in '/' here too: url + key is the object. */
	form = storage_presign_post(st, "k/x", &cond, time(NULL), &cause);
	g_assert_cmpstr(json_string_value(json_object_get(form, "url")), ==, "http://127.0.0.1:9000/bucket1/");
	url = g_strconcat(json_string_value(json_object_get(form, "url")), "k/x", NULL);
	key = storage_key_from_url(st, url);
	g_assert_cmpstr(key, ==, "k/x");
	g_free(key);
	g_free(url);
	json_decref(form);
	storage_free(st);
	config_free(cfg);

	/* A bucket without credentials is a configuration error. */
	cfg = test_config("/nonexistent", TRUE);
	g_clear_pointer(&cfg->aws_secret_access_key, g_free);
	g_assert_null(storage_new(cfg, &cause));
	g_assert_nonnull(cause);
	g_free(cause);
	config_free(cfg);
}

static void
test_upload_name(void)
{
	static const struct { const char *in, *out; } cases[] = {
		{ "doc.pdf", "doc_TAG.pdf" },
		{ "R\xc3\xa9sum\xc3\xa9 \xc3\xa9t\xc3\xa9 #1 100%?.pdf", "Resume_ete_1_100_TAG.pdf" },
		{ "My report (final).pdf", "My_report_final_TAG.pdf" },
		{ "what?a=1&b=2.pdf", "what_a_1_b_2_TAG.pdf" },
		{ "\xe5\xa0\xb1\xe5\x91\x8a.pdf", "file_TAG.pdf" },            /* no ASCII form */
		{ "  spaced out.PDF  ", "spaced_out_TAG.PDF" },                     /* case kept, ends trimmed */
		{ "", "file_TAG" },
		{ ".pdf", "file_TAG.pdf" },
		{ ".hidden", "file_TAG.hidden" },
		{ "no extension", "no_extension_TAG" },
		{ "archive.tar.gz", "archive.tar_TAG.gz" },
		{ "x.verylongextension17", "x.verylongextension17_TAG" },       /* 19 > 16: not an extension */
		{ "x.p-f", "x.p-f_TAG" },
		{ "../../etc/passwd", "etc_passwd_TAG" },
		{ "a/b\\c.pdf", "a_b_c_TAG.pdf" },
		{ "x..pdf", "x_TAG.pdf" },
		{ "a...b___c---d.pdf", "a.b_c---d_TAG.pdf" },
		{ "-_.lead and trail._-.pdf", "lead_and_trail_TAG.pdf" },
		{ "tab\tnew\nline\x01\x7f.pdf", "tab_new_line_TAG.pdf" },
		{ "bad utf-8 \xff\xfe.pdf", "bad_utf-8_TAG.pdf" },
		{ "%2F..%2Fescape.pdf", "2F._2Fescape_TAG.pdf" },
	};
	GString *longname = g_string_new(NULL);
	char *got;

	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		got = storage_upload_name(cases[i].in, "TAG");
		g_assert_cmpstr(got, ==, cases[i].out);
		g_free(got);
	}
	/* Without a tag, and from NULL. */
	got = storage_upload_name("doc.pdf", NULL);
	g_assert_cmpstr(got, ==, "doc.pdf");
	g_free(got);
	got = storage_upload_name(NULL, "");
	g_assert_cmpstr(got, ==, "file");
	g_free(got);
	/* The part before the extension is cut at 100 characters, then
	 * trimmed: "abc " x 100 gives "abc_" x 24 + "abc". */
	for (int i = 0; i < 100; i++)
		g_string_append(longname, "abc ");
	g_string_append(longname, ".pdf");
	got = storage_upload_name(longname->str, "TAG");
	g_string_truncate(longname, 0);
	for (int i = 0; i < 24; i++)
		g_string_append(longname, "abc_");
	g_string_append(longname, "abc_TAG.pdf");
	g_assert_cmpstr(got, ==, longname->str);
	g_free(got);
	g_string_free(longname, TRUE);
}

static void
test_upload_key(void)
{
	time_t when = 1796472000;   /* 2026-12-05 12:00:00 UTC */
	const char *sub = "3f1c2a9e-0000-4000-8000-000000000001";
	GHashTable *seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	GRegex *shape = g_regex_new("^podcasts/3f1c2a9e-0000-4000-8000-000000000001/20261205_120000_"
	    "Resume_ete_1_100_[0-9a-hjkmnp-tv-z]{8}\\.pdf$", 0, 0, NULL);

	/* The same user, file and second, many times: never the same key. */
	for (int i = 0; i < 1000; i++) {
		char *key = storage_upload_key(sub, "R\xc3\xa9sum\xc3\xa9 \xc3\xa9t\xc3\xa9 #1 100%?.pdf", when);

		g_assert_nonnull(key);
		g_assert_true(g_regex_match(shape, key, 0, NULL));
		g_assert_true(storage_key_valid(key));
		g_assert_false(g_hash_table_contains(seen, key));
		g_hash_table_add(seen, key);
	}
	/* A subject that cannot be in a key. */
	g_assert_null(storage_upload_key("../x", "doc.pdf", when));
	g_assert_null(storage_upload_key("", "doc.pdf", when));
	g_regex_unref(shape);
	g_hash_table_unref(seen);
}

/* Starts tests/stubs/s3_stub.py (which verifies SigV4 on its own): its
 * pid and base URL, or 0 when Python is missing. */
static GPid
s3_stub_start(char **url)
{
	char *script = g_build_filename(TOP_SRCDIR, "tests", "stubs", "s3_stub.py", NULL);
	char *argv[] = { (char *)PYTHON, script, (char *)"--port", (char *)"0", (char *)"--bucket",
	    (char *)"bucket1", (char *)"--access-key", (char *)"AKIDEXAMPLE", (char *)"--secret-key",
	    (char *)"secret", (char *)"--region", (char *)"eu-west-1", NULL };
	GError *error = NULL;
	GPid pid = 0;
	int out = -1;
	char line[128] = "";
	size_t got = 0;

	*url = NULL;
	if (!g_file_test(PYTHON, G_FILE_TEST_IS_EXECUTABLE) || !g_file_test(script, G_FILE_TEST_EXISTS)) {
		g_free(script);
		return 0;
	}
	g_assert_true(g_spawn_async_with_pipes(NULL, argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL,
	    &pid, NULL, &out, NULL, &error));
	while (got < sizeof line - 1) {
		ssize_t n = read(out, line + got, 1);

		if (n <= 0 || line[got] == '\n')
			break;
		got++;
	}
	line[got] = '\0';
	close(out);
	g_assert_true(g_str_has_prefix(line, "listening on "));
	*url = g_strdup_printf("http://127.0.0.1:%s", line + strlen("listening on "));
	g_free(script);
	return pid;
}

static void
s3_stub_stop(GPid pid)
{
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
	g_spawn_close_pid(pid);
}

/* Every S3 operation against a server that checks the signatures. */
static void
test_s3_stub(void)
{
	char *endpoint = NULL, *cause = NULL, *url, *src;
	GPid pid = s3_stub_start(&endpoint);
	struct config *cfg;
	struct storage *st, *wrong;
	GBytes *got = NULL;
	gint64 size = -1;
	struct http_request rq = { 0 };
	struct http_response resp = { 0 };
	char tmpdir[] = "/tmp/pp-s3-test-XXXXXX";

	if (pid == 0) {
		g_test_skip("needs " PYTHON " and tests/stubs/s3_stub.py");
		return;
	}
	cfg = test_config("/nonexistent", TRUE);
	cfg->aws_s3_endpoint_url = g_strdup(endpoint);
	st = storage_new(cfg, &cause);
	g_assert_nonnull(st);

	g_assert_cmpint(storage_exists(st, "podcasts/a b$.pdf", &size, &cause), ==, STORAGE_NOT_FOUND);
	g_assert_cmpint(storage_get(st, "podcasts/a b$.pdf", 0, &got, &cause), ==, STORAGE_NOT_FOUND);
	g_assert_cmpint(storage_put(st, "podcasts/a b$.pdf", "%PDF-1.4 hello", 14, "application/pdf", &cause),
	    ==, STORAGE_OK);
	g_assert_null(cause);
	g_assert_cmpint(storage_exists(st, "podcasts/a b$.pdf", &size, &cause), ==, STORAGE_OK);
	g_assert_cmpint(size, ==, 14);
	g_assert_cmpint(storage_get(st, "podcasts/a b$.pdf", 0, &got, &cause), ==, STORAGE_OK);
	g_assert_cmpmem(g_bytes_get_data(got, NULL), g_bytes_get_size(got), "%PDF-1.4 hello", 14);
	g_bytes_unref(got);
	got = NULL;

	/* A file upload (hash of the file as the payload hash). */
	g_assert_nonnull(g_mkdtemp(tmpdir));
	src = g_build_filename(tmpdir, "f.mp3", NULL);
	g_assert_true(g_file_set_contents(src, "ID3 not really audio", -1, NULL));
	g_assert_cmpint(storage_put_file(st, "podcasts/podcast_1.mp3", src, "audio/mpeg", &cause), ==, STORAGE_OK);
	g_unlink(src);
	g_rmdir(tmpdir);
	g_free(src);

	/* The presigned GET works as it is; altered, it is refused. */
	url = storage_stream_url(st, "podcasts/podcast_1.mp3", 60, &cause);
	g_assert_nonnull(url);
	rq.url = url;
	g_assert_cmpint(http_request(&rq, &resp, &cause), ==, 0);
	g_assert_cmpint(resp.status, ==, 200);
	g_assert_cmpstr(http_response_text(&resp), ==, "ID3 not really audio");
	g_assert_cmpstr(http_response_header(&resp, "content-type"), ==, "audio/mpeg");
	http_response_clear(&resp);
	{
		char *bad = g_strdup(url);

		*strstr(bad, "podcast_1") = 'P';
		rq.url = bad;
		g_assert_cmpint(http_request(&rq, &resp, &cause), ==, 0);
		g_assert_cmpint(resp.status, ==, 403);
		g_assert_nonnull(strstr(http_response_text(&resp), "<Code>SignatureDoesNotMatch</Code>"));
		http_response_clear(&resp);
		g_free(bad);
	}
	g_free(url);

	/* Another secret: refused for good, with S3's code in the cause. */
	g_free(cfg->aws_secret_access_key);
	cfg->aws_secret_access_key = g_strdup("not-the-secret");
	wrong = storage_new(cfg, &cause);
	g_assert_cmpint(storage_put(wrong, "podcasts/x", "x", 1, NULL, &cause), ==, STORAGE_FAIL);
	g_assert_nonnull(strstr(cause, "SignatureDoesNotMatch"));
	g_clear_pointer(&cause, g_free);
	g_assert_cmpint(storage_get(wrong, "podcasts/a b$.pdf", 0, &got, &cause), ==, STORAGE_FAIL);
	g_assert_null(got);
	g_clear_pointer(&cause, g_free);
	storage_free(wrong);

	g_assert_cmpint(storage_delete(st, "podcasts/a b$.pdf", &cause), ==, STORAGE_OK);
	g_assert_cmpint(storage_exists(st, "podcasts/a b$.pdf", NULL, &cause), ==, STORAGE_NOT_FOUND);
	g_assert_cmpint(storage_delete(st, "podcasts/a b$.pdf", &cause), ==, STORAGE_OK);
	storage_free(st);
	config_free(cfg);
	s3_stub_stop(pid);

	/* Nobody listening: a transport error worth retrying. */
	cfg = test_config("/nonexistent", TRUE);
	cfg->aws_s3_endpoint_url = g_strdup(endpoint);
	st = storage_new(cfg, &cause);
	g_assert_cmpint(storage_put(st, "podcasts/x", "x", 1, NULL, &cause), ==, STORAGE_RETRY);
	g_assert_nonnull(cause);
	g_free(cause);
	storage_free(st);
	config_free(cfg);
	g_free(endpoint);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
#define ADD(name, fn) g_test_add(name, struct fixture, NULL, fixture_setup, fn, fixture_teardown)
	ADD("/storage/local/put-get-delete", test_put_get_delete);
	ADD("/storage/local/put-file", test_put_file);
	ADD("/storage/local/failed-upload-keeps-old", test_failed_upload_keeps_old);
	ADD("/storage/local/sweep-temp", test_sweep_temp);
	ADD("/storage/local/key-validation", test_key_validation);
	ADD("/storage/local/urls", test_local_urls);
	ADD("/storage/local/stream-url", test_stream_url);
	ADD("/storage/local/presign-post", test_presign_post_local);
	g_test_add_func("/storage/upload/name", test_upload_name);
	g_test_add_func("/storage/upload/key", test_upload_key);
	g_test_add_func("/storage/s3/urls", test_s3_urls);
	g_test_add_func("/storage/s3/sweep-temp", test_sweep_temp_s3);
	g_test_add_func("/storage/s3/stub", test_s3_stub);
	return g_test_run();
}
