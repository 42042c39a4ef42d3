/* Per-process state of the responder. */
#include "autoconfig.h"

#include "app.h"
#include "auth.h"
#include "gotrue.h"
#include "gotrue-oauth.h"
#include "config.h"
#include "cors.h"
#include "dashboard.h"
#include "db.h"
#include "log.h"
#include "replica.h"
#include "metrics.h"
#include "ratelimit-hook.h"
#include "uploads.h"

/* Per-process modules of other areas, in start-up order. */
static const struct app_module *const app_modules[] = {
	&ratelimit_app_module,
	&auth_app_module,
	&gotrue_app_module,
	&gotrue_oauth_app_module,
	&storage_app_module,
	&replica_app_module,
	&dashboard_app_module,
	&metrics_app_module,      /* last: indexes the routes the others filled in */
	NULL
};

struct app *
app_init(const struct config *cfg, char **cause)
{
	struct app *app = g_new0(struct app, 1);
	char *why = NULL;
	int i;

	app->cfg = cfg;
	if ((app->cors_origins = cors_parse_origins(cfg->cors_origins, cause)) == NULL)
		goto fail;
	/* The pool connects lazily: a database that is down now only makes
	 * /health/ready answer 503 until it is back. */
	if ((app->db = db_pool_new_from_config(cfg)) == NULL) {
		*cause = g_strdup("cannot create the database pool");
		goto fail;
	}
	for (i = 0; app_modules[i] != NULL; i++) {
		if (app_modules[i]->init != NULL && app_modules[i]->init(app, &why) != 0) {
			*cause = g_strdup_printf("%s: %s", app_modules[i]->name, why != NULL ? why : "failed");
			g_free(why);
			goto fail;
		}
	}
	return app;
fail:
	app_free(app);
	return NULL;
}

void
app_free(struct app *app)
{
	int n = 0;

	if (app == NULL)
		return;
	while (app_modules[n] != NULL)
		n++;
	for (int i = n - 1; i >= 0; i--) {
		if (app_modules[i]->fini != NULL)
			app_modules[i]->fini(app);
	}
	g_clear_pointer(&app->db, db_pool_free);
	json_decref(app->cors_origins);
	g_free(app);
}
