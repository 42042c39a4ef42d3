/* struct app (request.h): what one responder process shares between its
 * acceptor threads, built after fork so no connection is ever inherited.
 *
 * Areas that need per-process state (auth keys, the rate limiter, storage)
 * add an app module to the list in fcgi/app.c: its init runs in each
 * process before the acceptor threads start (it may set dispatch hooks and
 * fill its field of struct app), its fini after they have stopped, in
 * reverse order.
 *
 * Ownership: app_init() returns an app freed by app_free(); the config it
 * points to is the caller's and must outlive it. */
#ifndef PP_APP_H
#define PP_APP_H

#include "request.h"

struct app_module {
	const char *name;
	/* 0, or -1 and *cause (the caller frees): the process does not serve. */
	int (*init)(struct app *app, char **cause);
	/* May be NULL; must accept a module whose init failed or never ran. */
	void (*fini)(struct app *app);
};

struct app *app_init(const struct config *cfg, char **cause);
void app_free(struct app *app);

#endif
