/* CORS as the Python service's CORSMiddleware answered it: origins from
 * CORS_ORIGINS (a JSON list; "*" allows any), credentials allowed, the
 * request's Origin echoed back, Vary: Origin. Unknown origins get no CORS
 * headers; their preflight gets 400 {"detail":"Disallowed CORS origin"}. */
#ifndef PP_CORS_H
#define PP_CORS_H

#include "request.h"

/* Seconds a browser may cache a preflight answer. */
#define CORS_MAX_AGE 600

/* The default dispatch cors hook (dispatch.h). */
void cors_apply(struct request *req, const char *allow);

/* CORS_ORIGINS parsed: a new array of strings, or NULL and *cause. */
json_t *cors_parse_origins(const char *text, char **cause);

#endif
