/* SigV4 against AWS's published worked examples (S3 API reference,
 * "Signature Calculations for the Authorization Header" and "Authenticating
 * Requests: Using Query Parameters"), and POST policies round-tripped
 * through the verifier the local upload route uses. */
#include "autoconfig.h"

#include <string.h>

#include "sigv4.h"

/* 2013-05-24T00:00:00Z, the examples' time. */
#define EXAMPLE_TIME ((time_t)1369353600)

static const struct sigv4_key example_key = {
	.access_key = "AKIAIOSFODNN7EXAMPLE",
	.secret_key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
	.region = "us-east-1",
	.service = "s3",
};

static void
test_uri_encode(void)
{
	char *s = sigv4_uri_encode("a b/c~d$e%f+g=h", TRUE);

	g_assert_cmpstr(s, ==, "a%20b/c~d%24e%25f%2Bg%3Dh");
	g_free(s);
	s = sigv4_uri_encode("a/b", FALSE);
	g_assert_cmpstr(s, ==, "a%2Fb");
	g_free(s);
	s = sigv4_uri_encode("\xc3\xa9", FALSE);
	g_assert_cmpstr(s, ==, "%C3%A9");
	g_free(s);
}

static void
test_canonical_query(void)
{
	char *q = sigv4_canonical_query("prefix=J&max-keys=2&b=a%2fb&a&z=%20");

	g_assert_cmpstr(q, ==, "a=&b=a%2Fb&max-keys=2&prefix=J&z=%20");
	g_free(q);
	q = sigv4_canonical_query(NULL);
	g_assert_cmpstr(q, ==, "");
	g_free(q);
}

static void
test_signing_key(void)
{
	guint8 k[32];

	/* AWS General Reference, "Examples of how to derive a signing key"
	 * (service iam, 20120215): the published key. */
	sigv4_signing_key("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20120215", "us-east-1", "iam", k);
	{
		GString *s = g_string_new(NULL);

		for (int i = 0; i < 32; i++)
			g_string_append_printf(s, "%02x", k[i]);
		g_assert_cmpstr(s->str, ==,
		    "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d");
		g_string_free(s, TRUE);
	}
}

/* Presigned GET of test.txt for 86400 s: the published URL and signature. */
static void
test_presign_example(void)
{
	char *cause = NULL;
	char *url = sigv4_presign_url(&example_key, "GET", "https://examplebucket.s3.amazonaws.com/test.txt",
	    86400, EXAMPLE_TIME, &cause);

	g_assert_null(cause);
	g_assert_cmpstr(url, ==, "https://examplebucket.s3.amazonaws.com/test.txt"
	    "?X-Amz-Algorithm=AWS4-HMAC-SHA256"
	    "&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"
	    "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host"
	    "&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404");
	g_free(url);

	g_assert_null(sigv4_presign_url(&example_key, "GET", "https://examplebucket.s3.amazonaws.com/x",
	    604801, EXAMPLE_TIME, &cause));
	g_assert_nonnull(cause);
	g_free(cause);
	cause = NULL;
	g_assert_null(sigv4_presign_url(&example_key, "GET", "not a url", 60, EXAMPLE_TIME, &cause));
	g_assert_nonnull(cause);
	g_free(cause);
}

static const char *
find_header(char **headers, const char *prefix)
{
	for (char **h = headers; *h != NULL; h++) {
		if (g_str_has_prefix(*h, prefix))
			return *h + strlen(prefix);
	}
	return NULL;
}

/* GET object with a Range header: the published Authorization. */
static void
test_get_range_example(void)
{
	const char *const headers[] = { "Range: bytes=0-9", NULL };
	char *cause = NULL;
	char **out = sigv4_sign_request(&example_key, "GET", "https://examplebucket.s3.amazonaws.com/test.txt",
	    headers, NULL, EXAMPLE_TIME, &cause);

	g_assert_nonnull(out);
	g_assert_cmpstr(find_header(out, "x-amz-date: "), ==, "20130524T000000Z");
	g_assert_cmpstr(find_header(out, "x-amz-content-sha256: "), ==, SIGV4_EMPTY_SHA256);
	g_assert_cmpstr(find_header(out, "Authorization: "), ==, "AWS4-HMAC-SHA256 "
	    "Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
	    "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,"
	    "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
	g_strfreev(out);
}

/* PUT of test$file.text with Date and a storage class: the published one. */
static void
test_put_example(void)
{
	const char *const headers[] = {
		"Date: Fri, 24 May 2013 00:00:00 GMT",
		"x-amz-storage-class: REDUCED_REDUNDANCY",
		NULL
	};
	const char *body = "Welcome to Amazon S3.";
	char *hash = sigv4_sha256_hex(body, strlen(body));
	char *cause = NULL;
	char **out;

	g_assert_cmpstr(hash, ==, "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
	out = sigv4_sign_request(&example_key, "PUT", "https://examplebucket.s3.amazonaws.com/test%24file.text",
	    headers, hash, EXAMPLE_TIME, &cause);
	g_assert_nonnull(out);
	g_assert_cmpstr(find_header(out, "x-amz-content-sha256: "), ==, hash);
	g_assert_cmpstr(find_header(out, "Authorization: "), ==, "AWS4-HMAC-SHA256 "
	    "Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
	    "SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class,"
	    "Signature=98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");
	g_strfreev(out);
	g_free(hash);
}

/* GET bucket lifecycle and list objects: sub-resources and sorted query. */
static void
test_query_examples(void)
{
	char *cause = NULL;
	char **out;

	out = sigv4_sign_request(&example_key, "GET", "https://examplebucket.s3.amazonaws.com/?lifecycle",
	    NULL, NULL, EXAMPLE_TIME, &cause);
	g_assert_nonnull(out);
	g_assert_true(g_str_has_suffix(find_header(out, "Authorization: "),
	    "Signature=fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543"));
	g_strfreev(out);
	out = sigv4_sign_request(&example_key, "GET",
	    "https://examplebucket.s3.amazonaws.com/?prefix=J&max-keys=2", NULL, NULL, EXAMPLE_TIME, &cause);
	g_assert_nonnull(out);
	g_assert_true(g_str_has_suffix(find_header(out, "Authorization: "),
	    "Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7"));
	g_strfreev(out);
}

/* Headers sharing a prefix sort by name alone (curl's CURLOPT_AWS_SIGV4
 * gets this wrong); a repeated header is comma-joined. */
static void
test_header_order(void)
{
	const char *const h1[] = { "x-amz-meta-a-b: 2", "X-Amz-Meta-A:   1  two", NULL };
	const char *const h2[] = { "X-Amz-Meta-A: 1 two", "x-amz-meta-a-b: 2", NULL };
	char *cause = NULL;
	char **a = sigv4_sign_request(&example_key, "PUT", "http://127.0.0.1:9000/b/k", h1, NULL,
	    EXAMPLE_TIME, &cause);
	char **b = sigv4_sign_request(&example_key, "PUT", "http://127.0.0.1:9000/b/k", h2, NULL,
	    EXAMPLE_TIME, &cause);

	g_assert_nonnull(a);
	g_assert_nonnull(b);
	g_assert_cmpstr(find_header(a, "Authorization: "), ==, find_header(b, "Authorization: "));
	g_assert_nonnull(strstr(find_header(a, "Authorization: "),
	    "SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-meta-a;x-amz-meta-a-b,"));
	g_strfreev(a);
	g_strfreev(b);
}

/* A POST policy worked example (s3-post-policy's documented output for
 * AWS's example credentials): the signature of a given base64 policy. */
static void
test_post_policy_signature_example(void)
{
	const char *policy = "eyJleHBpcmF0aW9uIjoiMjAxMy0wOC0wNlQxMjowMDowMC4wMDBaIiwiY29uZGl0aW9ucyI6W3siYWNs"
	    "IjoicHVibGljLXJlYWQifSxbInN0YXJ0cy13aXRoIiwiJENvbnRlbnQtVHlwZSIsImltYWdlLyJdLFsic3Rh"
	    "cnRzLXdpdGgiLCIka2V5IiwidXNlci91c2VyMS8iXSxbInN0YXJ0cy13aXRoIiwiJHgtYW16LW1ldGEtdGFn"
	    "IiwiIl0seyJ4LWFtei1tZXRhLXV1aWQiOiIxNDM2NTEyMzY1MTI3NCJ9LHsiYnVja2V0IjoiZXhhbXBsZWJ1"
	    "Y2tldCJ9LHsieC1hbXotYWxnb3JpdGhtIjoiQVdTNC1ITUFDLVNIQTI1NiJ9LHsieC1hbXotY3JlZGVudGlh"
	    "bCI6IkFLSUFJT1NGT0ROTjdFWEFNUExFLzIwMTMwODA2L3VzLWVhc3QtMS9zMy9hd3M0X3JlcXVlc3QifSx7"
	    "IngtYW16LWRhdGUiOiIyMDEzMDgwNlQxMjAwMDBaIn1dfQ==";
	char *sig = sigv4_sign_string(&example_key, "20130806", policy);

	g_assert_cmpstr(sig, ==, "5bc8a7be4a6fc6445b94d0f4096f8cf3dfa00303529f8a68ea7dc0c23bb83cd9");
	g_free(sig);
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

static json_t *
example_policy_fields(time_t now)
{
	json_t *conds = json_pack("[{ss}{ss}[sss][sIi]]", "acl", "private", "key", "podcasts/u/x.pdf",
	    "starts-with", "$Content-Type", "application/pdf", "content-length-range", (json_int_t)1, 100);
	json_t *fields = sigv4_post_policy(&example_key, conds, now + 3600, now);

	json_object_set_new(fields, "acl", json_string("private"));
	json_object_set_new(fields, "key", json_string("podcasts/u/x.pdf"));
	json_object_set_new(fields, "Content-Type", json_string("application/pdf"));
	json_decref(conds);
	return fields;
}

static void
test_post_policy_roundtrip(void)
{
	time_t now = 1764337200;   /* 2025-11-28T13:40:00Z */
	json_t *fields = example_policy_fields(now);
	GHashTable *form;
	char *cause = NULL;
	gint64 lo = 0, hi = 0;
	int status = 0;

	g_assert_cmpstr(json_string_value(json_object_get(fields, "x-amz-credential")), ==,
	    "AKIAIOSFODNN7EXAMPLE/20251128/us-east-1/s3/aws4_request");
	g_assert_cmpstr(json_string_value(json_object_get(fields, "x-amz-date")), ==, "20251128T134000Z");
	g_assert_true(sigv4_policy_length_range(json_string_value(json_object_get(fields, "policy")), &lo, &hi));
	g_assert_cmpint(lo, ==, 1);
	g_assert_cmpint(hi, ==, 100);

	form = form_from(fields);
	g_assert_cmpint(sigv4_post_verify(&example_key, form, 50, now, &status, &cause), ==, 0);
	g_assert_null(cause);
	/* Too big, too small: S3's codes. */
	g_assert_cmpint(sigv4_post_verify(&example_key, form, 101, now, &status, &cause), ==, -1);
	g_assert_cmpint(status, ==, 400);
	g_assert_true(g_str_has_prefix(cause, "EntityTooLarge"));
	g_clear_pointer(&cause, g_free);
	g_assert_cmpint(sigv4_post_verify(&example_key, form, 0, now, &status, &cause), ==, -1);
	g_assert_true(g_str_has_prefix(cause, "EntityTooSmall"));
	g_clear_pointer(&cause, g_free);
	/* Expired. */
	g_assert_cmpint(sigv4_post_verify(&example_key, form, 50, now + 3601, &status, &cause), ==, -1);
	g_assert_cmpint(status, ==, 403);
	g_clear_pointer(&cause, g_free);
	/* Another key for the same object: a condition fails. */
	g_hash_table_insert(form, g_strdup("key"), g_strdup("podcasts/other/x.pdf"));
	g_assert_cmpint(sigv4_post_verify(&example_key, form, 50, now, &status, &cause), ==, -1);
	g_assert_cmpint(status, ==, 403);
	g_assert_true(g_str_has_prefix(cause, "AccessDenied"));
	g_clear_pointer(&cause, g_free);
	g_hash_table_insert(form, g_strdup("key"), g_strdup("podcasts/u/x.pdf"));
	/* Content-Type outside the prefix. */
	g_hash_table_insert(form, g_strdup("content-type"), g_strdup("text/html"));
	g_assert_cmpint(sigv4_post_verify(&example_key, form, 50, now, &status, &cause), ==, -1);
	g_assert_cmpint(status, ==, 403);
	g_clear_pointer(&cause, g_free);
	g_hash_table_insert(form, g_strdup("content-type"), g_strdup("application/pdf"));
	/* A field no condition names. */
	g_hash_table_insert(form, g_strdup("x-amz-meta-evil"), g_strdup("1"));
	g_assert_cmpint(sigv4_post_verify(&example_key, form, 50, now, &status, &cause), ==, -1);
	g_assert_cmpint(status, ==, 403);
	g_clear_pointer(&cause, g_free);
	g_hash_table_remove(form, "x-amz-meta-evil");
	g_hash_table_insert(form, g_strdup("x-ignore-anything"), g_strdup("1"));
	g_assert_cmpint(sigv4_post_verify(&example_key, form, 50, now, &status, &cause), ==, 0);
	/* A tampered policy, or a signature from another secret. */
	{
		struct sigv4_key other = example_key;
		char *p = g_strdup(g_hash_table_lookup(form, "policy"));

		p[10] = p[10] == 'A' ? 'B' : 'A';
		g_hash_table_insert(form, g_strdup("policy"), p);
		g_assert_cmpint(sigv4_post_verify(&example_key, form, 50, now, &status, &cause), ==, -1);
		g_assert_cmpint(status, ==, 403);
		g_assert_true(g_str_has_prefix(cause, "SignatureDoesNotMatch"));
		g_clear_pointer(&cause, g_free);
		g_hash_table_unref(form);
		form = form_from(fields);
		other.secret_key = "another secret";
		g_assert_cmpint(sigv4_post_verify(&other, form, 50, now, &status, &cause), ==, -1);
		g_assert_true(g_str_has_prefix(cause, "SignatureDoesNotMatch"));
		g_clear_pointer(&cause, g_free);
	}
	/* A missing signature field. */
	g_hash_table_remove(form, "x-amz-signature");
	g_assert_cmpint(sigv4_post_verify(&example_key, form, 50, now, &status, &cause), ==, -1);
	g_assert_cmpint(status, ==, 400);
	g_clear_pointer(&cause, g_free);
	g_hash_table_unref(form);
	json_decref(fields);
}

static void
test_str_equal_ct(void)
{
	g_assert_true(sigv4_str_equal_ct("abc", "abc"));
	g_assert_false(sigv4_str_equal_ct("abc", "abd"));
	g_assert_false(sigv4_str_equal_ct("abc", "ab"));
	g_assert_true(sigv4_str_equal_ct("", ""));
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/sigv4/uri-encode", test_uri_encode);
	g_test_add_func("/sigv4/canonical-query", test_canonical_query);
	g_test_add_func("/sigv4/signing-key", test_signing_key);
	g_test_add_func("/sigv4/aws-presigned-get", test_presign_example);
	g_test_add_func("/sigv4/aws-get-range", test_get_range_example);
	g_test_add_func("/sigv4/aws-put", test_put_example);
	g_test_add_func("/sigv4/aws-query", test_query_examples);
	g_test_add_func("/sigv4/header-order", test_header_order);
	g_test_add_func("/sigv4/post-policy-signature", test_post_policy_signature_example);
	g_test_add_func("/sigv4/post-policy-roundtrip", test_post_policy_roundtrip);
	g_test_add_func("/sigv4/str-equal-ct", test_str_equal_ct);
	return g_test_run();
}
