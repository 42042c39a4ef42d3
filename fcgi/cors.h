/* CORS from CORS_ORIGINS (a JSON list), as the Python service's
 * CORSMiddleware answered for listed origins: the request's Origin echoed
 * back with credentials allowed, Vary: Origin. "*" in the list lets any
 * other origin in WITHOUT credentials (Access-Control-Allow-Origin: *, no
 * Allow-Credentials): Starlette echoed any origin with credentials there.
 * Unknown origins get no CORS headers; their preflight gets 400
 * {"detail":"Disallowed CORS origin"}. */
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
