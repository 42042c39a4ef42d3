/* POST /uploads/sign-url/: a presigned POST form for the caller's upload;
 * the storage app module. */
#include "autoconfig.h"

#include <string.h>
#include <time.h>

#include "auth.h"
#include "config.h"
#include "http.h"
#include "log.h"
#include "route.h"
#include "storage.h"
#include "uploads.h"

#define UPLOAD_FORM_TTL 3600

static int
storage_app_init(struct app *app, char **cause)
{
	/* libcurl's global state, before the acceptor threads start. */
	http_global_init();
	if ((app->storage = storage_new(app->cfg, cause)) == NULL)
		return -1;
	log_info("storage: %s", storage_kind(app->storage));
	return 0;
}

static void
storage_app_fini(struct app *app)
{
	g_clear_pointer(&app->storage, storage_free);
}

const struct app_module storage_app_module = { "storage", storage_app_init, storage_app_fini };

/* The document types the pipeline reads (jobs/pipeline/extract.c), by
 * the extension a browser's file name has. */
static const struct {
	const char *extension;
	const char *type;
} uploads_types[] = {
	{ "pdf", "application/pdf" },
	{ "txt", "text/plain" }, { "text", "text/plain" },
	{ "md", "text/markdown" }, { "markdown", "text/markdown" },
	{ "html", "text/html" }, { "htm", "text/html" }, { "xhtml", "application/xhtml+xml" },
	{ "epub", "application/epub+zip" },
	{ "docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document" },
};

/* Whether the configured TYPE is the one for extension EXT: the type the
 * table gives it, or one whose subtype is the extension itself. */
static gboolean
uploads_type_fits(const char *type, const char *ext)
{
	const char *slash = strchr(type, '/');

	for (gsize i = 0; i < G_N_ELEMENTS(uploads_types); i++)
		if (g_ascii_strcasecmp(uploads_types[i].extension, ext) == 0 &&
		    g_ascii_strcasecmp(uploads_types[i].type, type) == 0)
			return TRUE;
	return slash != NULL && g_ascii_strcasecmp(slash + 1, ext) == 0;
}

/* The Content-Type for NAME: the configured type that fits its extension
 * (".docx": application/vnd.openxmlformats-...; ".pdf": application/pdf),
 * else the first one. */
static char *
uploads_content_type(const char *types, const char *name)
{
	char **list = g_strsplit(types != NULL ? types : "application/pdf", ",", -1);
	const char *ext = strrchr(name, '.');
	char *chosen = NULL;

	for (char **t = list; *t != NULL; t++) {
		g_strstrip(*t);
		if (**t == '\0')
			continue;
		if (chosen == NULL)
			chosen = g_strdup(*t);
		if (ext != NULL && uploads_type_fits(*t, ext + 1)) {
			g_free(chosen);
			chosen = g_strdup(*t);
			break;
		}
	}
	g_strfreev(list);
	return chosen != NULL ? chosen : g_strdup("application/pdf");
}

static void
uploads_sign_url(struct request *req)
{
	const struct config *cfg = req->app->cfg;
	struct storage_post_conditions cond = { 0 };
	json_t *body, *filename, *form;
	char *key = NULL, *ctype = NULL, *cause = NULL;
	time_t now = time(NULL);

	if ((body = request_json(req)) == NULL)
		return;
	filename = json_object_get(body, "filename");
	if (filename == NULL || json_is_null(filename)) {
		response_validation(req, "body", "filename", "Field required", "missing");
		goto out;
	}
	if (!json_is_string(filename)) {
		response_validation(req, "body", "filename", "Input should be a valid string", "string_type");
		goto out;
	}
	/* Any string: the key's name part is normalised, never refused, so
	 * that url + key is a URL without escaping (doc/storage.md). */
	if ((key = storage_upload_key(req->user->sub, json_string_value(filename), now)) == NULL) {
		log_error("%s sign-url: no valid key for subject %s", req->request_id, req->user->sub);
		response_error(req, 500, "Failed to generate upload URL");
		goto out;
	}
	ctype = uploads_content_type(cfg->upload_content_types, strrchr(key, '/') + 1);
	cond.min_size = 1;
	cond.max_size = (gint64)cfg->max_file_size_mb * 1024 * 1024;
	cond.acl = "private";
	cond.content_type = ctype;
	cond.content_type_prefix = ctype;
	cond.expires_in = UPLOAD_FORM_TTL;
	if ((form = storage_presign_post(req->app->storage, key, &cond, now, &cause)) == NULL) {
		log_error("%s sign-url: %s", req->request_id, cause);
		response_error(req, 500, "Failed to generate upload URL");
		goto out;
	}
	response_json(req, 200, form);
out:
	json_decref(body);
	g_free(cause);
	g_free(ctype);
	g_free(key);
}

const struct route upload_routes[] = {
	{ .method = "POST", .pattern = "/uploads/sign-url", .handler = uploads_sign_url, .limit = "sign_url", .flags = ROUTE_AUTH },
	{ .method = "POST", .pattern = "/uploads/local", .handler = uploads_local_post },
	{ .method = NULL }
};
