/* GET /openapi.json and GET /docs: the API's OpenAPI 3.1 description and the
 * page that renders it.
 *
 * Both are compiled in: doc/openapi.json (the one source of the description)
 * and doc/api-docs.html (plain HTML with its style and script inline) become
 * byte arrays in fcgi/openapi-data.h, which mk/fcgi.mk generates in the
 * build tree. So what a build serves is what it was built with, from the build
 * tree and installed alike, and nothing is read from disk at run time.
 *
 * Each process prepares the answers once, on the first request for either
 * (g_once): the description gets info.version = PACKAGE_VERSION and is
 * written compact; each body gets a strong ETag (a hash of its bytes), and
 * the page a Content-Security-Policy allowing only its own inline script
 * and style (their SHA-256 hashes) and fetches from its own origin. The
 * prepared answers live as long as the process. */
#include "autoconfig.h"

#include <string.h>

#include "log.h"
#include "request.h"
#include "route.h"

/* Generated (mk/fcgi.mk): openapi_json_data and openapi_page_data, the
 * files' bytes NUL-terminated, and their sizes without the NUL. */
#include "fcgi/openapi-data.h"

#define OPENAPI_CACHE_CONTROL "no-cache"

struct openapi_asset {
	const char *body;      /* NULL when the document could not be prepared */
	gsize len;
	char *etag;            /* "\"<hex>\"" */
	char *csp;             /* the page's only */
};

static struct openapi_asset openapi_doc, openapi_page;

static char *
openapi_etag(const char *body, gsize len)
{
	char *hex = g_compute_checksum_for_data(G_CHECKSUM_SHA256, (const guchar *)body, len);
	char *etag = g_strdup_printf("\"%.32s\"", hex);

	g_free(hex);
	return etag;
}

/* "'sha256-<base64>'" of the text between OPEN and CLOSE in PAGE (the first
 * such element), or NULL when there is none. */
static char *
openapi_inline_hash(const char *page, const char *open, const char *close)
{
	const char *start = strstr(page, open), *end;
	GChecksum *sum;
	guint8 digest[32];
	gsize digest_len = sizeof digest;
	char *b64, *out;

	if (start == NULL)
		return NULL;
	start += strlen(open);
	if ((end = strstr(start, close)) == NULL)
		return NULL;
	sum = g_checksum_new(G_CHECKSUM_SHA256);
	g_checksum_update(sum, (const guchar *)start, end - start);
	g_checksum_get_digest(sum, digest, &digest_len);
	g_checksum_free(sum);
	b64 = g_base64_encode(digest, digest_len);
	out = g_strdup_printf("'sha256-%s'", b64);
	g_free(b64);
	return out;
}

static void
openapi_prepare_doc(void)
{
	json_error_t error;
	json_t *doc = json_loadb((const char *)openapi_json_data, openapi_json_size, 0, &error);
	json_t *info;
	char *body;

	if (doc == NULL || !json_is_object(info = json_object_get(doc, "info"))) {
		/* A broken file fails the build's tests; never a crash here. */
		log_error("openapi: doc/openapi.json as built is not a valid document: %s (line %d)",
		    doc == NULL ? error.text : "no info object", doc == NULL ? error.line : 0);
		json_decref(doc);
		return;
	}
	json_object_set_new(info, "version", json_string(PACKAGE_VERSION));
	body = json_dumps(doc, JSON_COMPACT | JSON_REAL_PRECISION(15));
	json_decref(doc);
	if (body == NULL)
		return;
	openapi_doc.len = strlen(body);
	openapi_doc.etag = openapi_etag(body, openapi_doc.len);
	openapi_doc.body = body;   /* kept for the process's life */
}

static void
openapi_prepare_page(void)
{
	char *script, *style;

	openapi_page.body = (const char *)openapi_page_data;
	openapi_page.len = openapi_page_size;
	openapi_page.etag = openapi_etag(openapi_page.body, openapi_page.len);
	script = openapi_inline_hash(openapi_page.body, "<script>", "</script>");
	style = openapi_inline_hash(openapi_page.body, "<style>", "</style>");
	openapi_page.csp = g_strdup_printf("default-src 'none'; script-src %s; style-src %s; "
	    "connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; "
	    "frame-ancestors 'none'", script != NULL ? script : "'none'",
	    style != NULL ? style : "'none'");
	g_free(script);
	g_free(style);
}

static void
openapi_prepare(void)
{
	static gsize done;

	if (g_once_init_enter(&done)) {
		openapi_prepare_doc();
		openapi_prepare_page();
		g_once_init_leave(&done, 1);
	}
}

static void
openapi_answer(struct request *req, const struct openapi_asset *a, const char *type)
{
	if (a->body == NULL) {
		response_error(req, 500, "Internal Server Error");
		return;
	}
	response_header(req, "ETag", "%s", a->etag);
	response_header(req, "Cache-Control", OPENAPI_CACHE_CONTROL);
	response_header(req, "X-Content-Type-Options", "nosniff");
	if (a->csp != NULL)
		response_header(req, "Content-Security-Policy", "%s", a->csp);
	if (request_etag_current(req, a->etag)) {
		response_empty(req, 304);
		return;
	}
	response_header(req, "Content-Type", "%s", type);
	response_empty(req, 200);
	g_string_append_len(req->out, a->body, (gssize)a->len);
}

static void
openapi_get_json(struct request *req)
{
	openapi_prepare();
	openapi_answer(req, &openapi_doc, "application/json");
}

static void
openapi_get_docs(struct request *req)
{
	openapi_prepare();
	openapi_answer(req, &openapi_page, "text/html; charset=utf-8");
}

/* No rate limit: constant answers that cost less than a limit check. */
const struct route openapi_routes[] = {
	{ .method = "GET", .pattern = "/openapi.json", .handler = openapi_get_json },
	{ .method = "GET", .pattern = "/docs", .handler = openapi_get_docs },
	{ .method = NULL }
};
