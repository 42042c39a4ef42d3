/* podcastpro-ctl, the operator's tool: `podcastpro-ctl [--env-file FILE]
 * COMMAND [ARGS...]`. Each command lives in a jobs/ctl-*.c file of its area
 * and is one row of the table in jobs/ctl.c.
 *
 * Adding a command (one line here, one row there):
 *   1. write `int ctl_cmd_NAME(const struct config *cfg, int argc, char **argv)`
 *      in your own jobs/ctl-AREA.c (argv[0] is the command's name);
 *   2. declare it below (CTL_COMMAND_DECL(NAME);) and add one row to
 *      ctl_commands[] in jobs/ctl.c: { "name", "usage", "summary", CONFIG_FOR_..., ctl_cmd_NAME };
 *   3. add jobs/ctl-AREA.c to podcastpro_ctl_SOURCES in your mk/AREA.mk with +=.
 *
 * config_for says what the frame loads before calling run(): the
 * CONFIG_FOR_* programs whose required settings the command needs (config
 * problems then end in exit status 78 before run() is called), plus
 * CTL_NEEDS_DATABASE when DATABASE_URL must be set; CTL_NO_CONFIG passes
 * cfg == NULL and the command loads the configuration itself (ctl_env_file()).
 * Secrets such as SUPABASE_JWT_SECRET are required only when a command asks
 * for them through CONFIG_FOR_API.
 *
 * run() returns the exit status: CTL_EXIT_OK, CTL_EXIT_FAILURE (the command
 * failed: say why on stderr), CTL_EXIT_USAGE or CTL_EXIT_CONFIG.
 *
 * Ownership: everything the frame passes (cfg, argv) belongs to the frame
 * and outlives run(). */
#ifndef PP_CTL_H
#define PP_CTL_H

#include <glib.h>
#include <libpq-fe.h>

#include "config.h"

#define CTL_EXIT_OK      0
#define CTL_EXIT_FAILURE 1
#define CTL_EXIT_USAGE   2
#define CTL_EXIT_CONFIG  CONFIG_EXIT_INVALID   /* 78 */

#define CTL_NO_CONFIG      0u
#define CTL_NEEDS_DATABASE 0x100u   /* with CONFIG_FOR_*: DATABASE_URL must be set */

struct ctl_command {
	const char *name;
	const char *usage;      /* arguments after the name: "[--status] [--dir DIR]" */
	const char *summary;    /* one line for --help */
	unsigned config_for;
	int (*run)(const struct config *cfg, int argc, char **argv);
};

#define CTL_COMMAND_DECL(name) int ctl_cmd_##name(const struct config *, int, char **)

/* jobs/ctl-db.c */
CTL_COMMAND_DECL(migrate);
CTL_COMMAND_DECL(check_config);
/* jobs/ctl-jobs.c */
CTL_COMMAND_DECL(call); CTL_COMMAND_DECL(inspect); CTL_COMMAND_DECL(events); CTL_COMMAND_DECL(queues); CTL_COMMAND_DECL(dead);
/* jobs/ctl-token.c */
CTL_COMMAND_DECL(token);
/* jobs/ctl-user.c */
CTL_COMMAND_DECL(user);

/* The --env-file given before the command, or NULL. */
const char *ctl_env_file(void);

/* Parses the command's own options with GLib (--help included) and leaves
 * the remaining arguments in *argc and *argv. CTL_EXIT_OK, or CTL_EXIT_USAGE
 * after printing the problem. */
int ctl_parse_options(int *argc, char ***argv, const GOptionEntry *entries);

/* A connection to DATABASE_URL (with the pool's keepalive and timeout
 * defaults), or NULL and *cause (caller frees). Caller PQfinish()es it. */
PGconn *ctl_db_connect(const struct config *cfg, char **cause);

#endif
