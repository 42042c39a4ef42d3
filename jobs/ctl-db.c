/* podcastpro-ctl migrate and check-config. */
#include "autoconfig.h"

#include <stdio.h>
#include <string.h>

#include "config.h"
#include "ctl.h"
#include "migrate.h"

int
ctl_cmd_migrate(const struct config *cfg, int argc, char **argv)
{
	gboolean status = FALSE;
	char *dir = NULL, *cause = NULL;
	GOptionEntry entries[] = {
		{ "status", 's', 0, G_OPTION_ARG_NONE, &status, "list applied and pending migrations, change nothing", NULL },
		{ "dir", 'd', 0, G_OPTION_ARG_FILENAME, &dir,
		    "migrations directory (default: $MIGRATIONS_DIR, else the installed one)", "DIR" },
		{ NULL }
	};
	PGconn *pg = NULL;
	int rc = CTL_EXIT_FAILURE;

	if (ctl_parse_options(&argc, &argv, entries) != CTL_EXIT_OK) {
		rc = CTL_EXIT_USAGE;
		goto out;
	}
	if (argc > 1) {
		fprintf(stderr, "podcastpro-ctl migrate: unexpected argument \"%s\"\n", argv[1]);
		rc = CTL_EXIT_USAGE;
		goto out;
	}
	if (cfg->db_transaction_pooler && !status) {
		/* Its advisory lock is a session's: behind a transaction pooler
		 * it would stay on whichever server connection took it. */
		cause = g_strdup("migrations need a session of their own: run them with DATABASE_URL pointing at "
		    "PostgreSQL itself and DB_TRANSACTION_POOLER unset");
		goto out;
	}
	if ((pg = ctl_db_connect(cfg, &cause)) == NULL)
		goto out;
	if (status)
		rc = migrate_status(pg, dir != NULL ? dir : migrate_default_dir(), stdout, &cause);
	else
		rc = migrate_apply(pg, dir != NULL ? dir : migrate_default_dir(), stdout, &cause);
	rc = rc == 0 ? CTL_EXIT_OK : CTL_EXIT_FAILURE;
out:
	if (cause != NULL)
		fprintf(stderr, "podcastpro-ctl migrate: %s\n", cause);
	g_free(cause);
	g_free(dir);
	PQfinish(pg);
	return rc;
}

/* "api,worker" -> CONFIG_FOR_API | CONFIG_FOR_WORKER; 0 for an unknown name. */
static unsigned
ctl_parse_programs(const char *text)
{
	char **names = g_strsplit(text, ",", -1);
	unsigned want = 0;

	for (int i = 0; names[i] != NULL; i++) {
		const char *n = g_strstrip(names[i]);

		if (strcmp(n, "api") == 0 || strcmp(n, "fcgi") == 0)
			want |= CONFIG_FOR_API;
		else if (strcmp(n, "worker") == 0)
			want |= CONFIG_FOR_WORKER;
		else if (strcmp(n, "ctl") == 0)
			want |= CONFIG_FOR_CTL;
		else {
			want = 0;
			break;
		}
	}
	g_strfreev(names);
	return want;
}

/* Checks for the whole deployment unless told otherwise: a configuration
 * that passes here starts every program. */
int
ctl_cmd_check_config(const struct config *unused, int argc, char **argv)
{
	char *programs = NULL;
	GOptionEntry entries[] = {
		{ "for", 'f', 0, G_OPTION_ARG_STRING, &programs,
		    "check only what these programs need: api, worker, ctl, comma-separated (default: all)",
		    "PROGRAMS" },
		{ NULL }
	};
	struct config *cfg = NULL;
	unsigned want = CONFIG_FOR_API | CONFIG_FOR_WORKER | CONFIG_FOR_CTL;
	int rc;

	if (ctl_parse_options(&argc, &argv, entries) != CTL_EXIT_OK) {
		rc = CTL_EXIT_USAGE;
		goto out;
	}
	if (argc > 1) {
		fprintf(stderr, "podcastpro-ctl check-config: unexpected argument \"%s\"\n", argv[1]);
		rc = CTL_EXIT_USAGE;
		goto out;
	}
	if (programs != NULL && (want = ctl_parse_programs(programs)) == 0) {
		fprintf(stderr, "podcastpro-ctl check-config: --for takes api, worker and ctl, not \"%s\"\n",
		    programs);
		rc = CTL_EXIT_USAGE;
		goto out;
	}
	if ((cfg = config_load_or_report(ctl_env_file(), want)) == NULL) {
		rc = CTL_EXIT_CONFIG;
		goto out;
	}
	config_dump(cfg, stdout);
	rc = CTL_EXIT_OK;
out:
	config_free(cfg);
	g_free(programs);
	return rc;
}
