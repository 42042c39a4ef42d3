/* One request from accept to log line: route, CORS, rate limit, auth,
 * handler, response.
 *
 * Other areas plug in through hooks set at start-up (from an app module's
 * init, see app.h, before acceptor threads run; the setters are not
 * synchronised). A NULL hook does nothing. Order for every request:
 *
 *   cors(req, NULL)            adds CORS headers (default: fcgi/cors.c)
 *   route lookup               404 / 405 with Allow
 *     OPTIONS on a known path: cors(req, allow) answers the preflight
 *   limit(req)                 issue 5: FALSE after it answered (429)
 *   auth(req)                  issue 4, ROUTE_AUTH routes only: FALSE after it answered (401)
 *   the route's handler
 *
 * The hooks see req->route set (except cors), and may add headers with
 * response_header() that stay on whatever response follows. */
#ifndef PP_DISPATCH_H
#define PP_DISPATCH_H

#include "request.h"

/* A gate: TRUE to go on, FALSE after it answered the request itself. */
typedef gboolean (*dispatch_gate)(struct request *req);
/* ALLOW is NULL on an ordinary request; on a preflight (OPTIONS on a known
 * path) it is the path's methods ("GET, POST") and the hook answers; if it
 * does not, the dispatcher answers 200 with Allow. */
typedef void (*dispatch_cors)(struct request *req, const char *allow);

void dispatch_set_limit_hook(dispatch_gate limit);
void dispatch_set_auth_hook(dispatch_gate auth);
void dispatch_set_cors_hook(dispatch_cors cors);

/* Routes and answers REQ (set up by request_setup), writes the response to
 * the FastCGI stream and logs one line. */
void dispatch_request(struct request *req);

/* The acceptor's side of struct request (fcgi/request.c, fcgi/response.c). */

/* Fills REQ for the request FCGX just accepted: method, decoded path,
 * query, client address, request id, start time. REQ is zeroed first
 * except for its reusable buffers. -1 when the path cannot be decoded. */
int request_setup(struct request *req, FCGX_Request *fcgx, struct app *app,
    struct acceptor *acceptor);
/* Frees what the request allocated, keeping REQ's buffers for the next. */
void request_clear(struct request *req);
/* Frees the buffers too (thread exit). */
void request_destroy(struct request *req);
/* Reads and discards what is left of the body so that a kept FastCGI
 * connection stays in step: FALSE when too much is left (then the
 * connection must be closed instead). */
gboolean request_drain(struct request *req);
/* Writes status, headers and body to the FastCGI stream: 0, or -1 when
 * the web server has gone. */
int response_send(struct request *req);
/* "OK", "Not Found", ...: a constant string. */
const char *response_reason(int status);

#endif
