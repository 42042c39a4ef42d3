/* podcastpro-ctl: global options, the command table, dispatch (see ctl.h). */
#include "autoconfig.h"

#include <stdio.h>
#include <string.h>

#include "config.h"
#include "ctl.h"
#include "db.h"
#include "log.h"

/* One row per command, in the order --help lists them. */
static const struct ctl_command ctl_commands[] = {
	{ "migrate", "[--status] [--dir DIR]", "apply pending database migrations, or list them",
	    CONFIG_FOR_CTL | CTL_NEEDS_DATABASE, ctl_cmd_migrate },
	{ "check-config", "[--for api,worker,ctl]", "print the effective configuration (secrets masked), or every problem",
	    CTL_NO_CONFIG, ctl_cmd_check_config },
	{ "token", "EMAIL [--sub UUID] [--ttl S]", "mint an HS256 access token with SUPABASE_JWT_SECRET",
	    CONFIG_FOR_CTL, ctl_cmd_token },
	{ "user", "add EMAIL [--unconfirmed] | list [--json] | disable EMAIL | enable EMAIL | set-password EMAIL",
	    "the built-in accounts (password from standard input or a prompt, never argv)",
	    CONFIG_FOR_CTL | CTL_NEEDS_DATABASE, ctl_cmd_user },
	{ "call", "TASK [JSON_ARGS] [-Q QUEUE] [--countdown S] [--force]", "enqueue a job and print its id", CONFIG_FOR_CTL, ctl_cmd_call },
	{ "inspect", "active|scheduled|reserved|stats [--json]", "what live workers are doing", CONFIG_FOR_CTL, ctl_cmd_inspect },
	{ "events", "[--json] [-n N] [--count N]", "follow job events as they happen", CONFIG_FOR_CTL, ctl_cmd_events },
	{ "queues", "[--json]", "waiting, running, delayed and dead jobs per queue", CONFIG_FOR_CTL, ctl_cmd_queues },
	{ "dead", "list|retry ID|retry all|purge [-Q QUEUE] [--json]", "dead jobs: list, run again, or drop", CONFIG_FOR_CTL, ctl_cmd_dead },
};

static char *ctl_env_path;

const char *
ctl_env_file(void)
{
	return ctl_env_path;
}

static const struct ctl_command *
ctl_find(const char *name)
{
	for (size_t i = 0; i < G_N_ELEMENTS(ctl_commands); i++) {
		if (strcmp(ctl_commands[i].name, name) == 0)
			return &ctl_commands[i];
	}
	return NULL;
}

static char *
ctl_command_list(void)
{
	GString *s = g_string_new("Commands:\n");

	for (size_t i = 0; i < G_N_ELEMENTS(ctl_commands); i++)
		g_string_append_printf(s, "  %-14s %s\n", ctl_commands[i].name, ctl_commands[i].summary);
	g_string_append(s, "\nExit status: 0 ok, 1 failure, 2 usage, 78 configuration invalid.\n"
	    "`podcastpro-ctl COMMAND --help` describes a command's options.");
	return g_string_free(s, FALSE);
}

int
ctl_parse_options(int *argc, char ***argv, const GOptionEntry *entries)
{
	const struct ctl_command *cmd = ctl_find((*argv)[0]);
	char *param = g_strdup_printf("%s %s", (*argv)[0], cmd != NULL ? cmd->usage : "");
	GOptionContext *ctx = g_option_context_new(param);
	GError *error = NULL;
	int rc = CTL_EXIT_OK;

	if (cmd != NULL)
		g_option_context_set_summary(ctx, cmd->summary);
	if (entries != NULL)
		g_option_context_add_main_entries(ctx, entries, NULL);
	if (!g_option_context_parse(ctx, argc, argv, &error)) {
		fprintf(stderr, "podcastpro-ctl %s: %s\n", (*argv)[0], error->message);
		g_error_free(error);
		rc = CTL_EXIT_USAGE;
	}
	g_option_context_free(ctx);
	g_free(param);
	return rc;
}

PGconn *
ctl_db_connect(const struct config *cfg, char **cause)
{
	char *conninfo = db_conninfo_from_config(cfg);
	PGconn *pg = PQconnectdb(conninfo);

	g_free(conninfo);
	if (pg != NULL && PQstatus(pg) == CONNECTION_OK)
		return pg;
	*cause = g_strdup_printf("cannot connect to the database: %s",
	    pg != NULL ? g_strchomp(PQerrorMessage(pg)) : "out of memory");
	PQfinish(pg);
	return NULL;
}

int
main(int argc, char **argv)
{
	gboolean version = FALSE;
	GOptionEntry entries[] = {
		{ "env-file", 'e', 0, G_OPTION_ARG_FILENAME, &ctl_env_path,
		    "read settings from FILE (KEY=VALUE lines, as systemd's EnvironmentFile=); "
		    "the environment wins", "FILE" },
		{ "version", 'V', 0, G_OPTION_ARG_NONE, &version, "print the version and exit", NULL },
		{ NULL }
	};
	GOptionContext *ctx = g_option_context_new("COMMAND [ARGS...]");
	const struct ctl_command *cmd;
	struct config *cfg = NULL;
	GError *error = NULL;
	char *list = ctl_command_list();
	enum log_level level;
	int rc;

	log_init("podcastpro-ctl");
	g_option_context_add_main_entries(ctx, entries, NULL);
	g_option_context_set_summary(ctx, "The operator's tool of Podcast Pro.");
	g_option_context_set_description(ctx, list);
	/* Options after the command belong to the command. */
	g_option_context_set_strict_posix(ctx, TRUE);
	if (!g_option_context_parse(ctx, &argc, &argv, &error)) {
		fprintf(stderr, "podcastpro-ctl: %s (see --help)\n", error->message);
		g_error_free(error);
		rc = CTL_EXIT_USAGE;
		goto out;
	}
	if (version) {
		printf("podcastpro-ctl %s\n", PACKAGE_VERSION);
		rc = CTL_EXIT_OK;
		goto out;
	}
	if (argc < 2) {
		fprintf(stderr, "podcastpro-ctl: a command is required (see --help)\n%s\n", list);
		rc = CTL_EXIT_USAGE;
		goto out;
	}
	if (strcmp(argv[1], "help") == 0) {
		char *help = g_option_context_get_help(ctx, TRUE, NULL);

		fputs(help, stdout);
		g_free(help);
		rc = CTL_EXIT_OK;
		goto out;
	}
	if ((cmd = ctl_find(argv[1])) == NULL) {
		fprintf(stderr, "podcastpro-ctl: unknown command \"%s\" (see --help)\n", argv[1]);
		rc = CTL_EXIT_USAGE;
		goto out;
	}
	if (cmd->config_for != CTL_NO_CONFIG) {
		if ((cfg = config_load_or_report(ctl_env_path, cmd->config_for | CONFIG_FOR_CTL)) == NULL) {
			rc = CTL_EXIT_CONFIG;
			goto out;
		}
		if ((cmd->config_for & CTL_NEEDS_DATABASE) && cfg->database_url == NULL) {
			fprintf(stderr, "configuration: DATABASE_URL: required but not set (podcastpro-ctl %s "
			    "works on the database)\n", cmd->name);
			rc = CTL_EXIT_CONFIG;
			goto out;
		}
		if (log_parse_level(cfg->log_level, &level) == 0)
			log_set_level(level);
	}
	rc = cmd->run(cfg, argc - 1, argv + 1);
out:
	config_free(cfg);
	g_option_context_free(ctx);
	g_free(list);
	g_free(ctl_env_path);
	return rc;
}
