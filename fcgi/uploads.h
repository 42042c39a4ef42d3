/* Uploads, streams and credits in the responder (issue 4, api-storage):
 * the storage app module and the handlers behind upload_routes
 * (fcgi/uploads.c), stream_routes (fcgi/stream.c) and credits_routes
 * (fcgi/credits.c), declared in route.h.
 *
 * Ownership: app->storage is built by storage_app_module's init in each
 * process and freed by its fini; handlers borrow it. */
#ifndef PP_FCGI_UPLOADS_H
#define PP_FCGI_UPLOADS_H

#include "app.h"
#include "request.h"

/* Sets app->storage (local or S3, from the config). */
extern const struct app_module storage_app_module;

/* POST /uploads/local: the local storage's form upload (fcgi/upload-local.c). */
void uploads_local_post(struct request *req);

/* Answers with local storage's object KEY (fcgi/stream.c), which the
 * caller has checked the request may read: 404 when it is missing, else
 * handed to the web server as SENDFILE_MODE says (nginx, lighttpd), or
 * sent from here (off) with single byte ranges and HEAD. /media/ and the
 * feeds' episodes (fcgi/feeds.c) answer with it. */
void stream_local_send(struct request *req, const char *key);

/* Bytes of form fields and multipart framing allowed on top of the file. */
#define UPLOAD_FORM_OVERHEAD (64 * 1024)

#endif
