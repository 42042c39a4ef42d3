/* podcastpro-fcgi: the Podcast Pro API as a FastCGI responder.
 *
 * The listening socket comes from --listen, else from systemd socket
 * activation, else fd 0 (spawn-fcgi, lighttpd bin-path). With the first two
 * a supervisor preforks --processes processes; on fd 0 the process serves
 * alone, as its spawner expects. */
#include "autoconfig.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "listen.h"
#include "log.h"
#include "route.h"
#include "serve.h"
#include "supervisor.h"

#define EXIT_USAGE 64   /* EX_USAGE */

static char *main_env_file;
static char *main_listen;
static char *main_socket_mode = NULL;
static char *main_socket_group;
static int main_processes = 2;
/* Two per process: on small machines more threads than cores lengthen the
 * tail (bench/health.sh: p99 5.9x the bare responder at 2 x 4 on 2 cores,
 * 1.5x at 2 x 2) and the database-bound routes gained nothing from more. */
static int main_threads = 2;
static int main_backlog = 1024;
static gboolean main_check_config;
static gboolean main_version;

static const GOptionEntry main_options[] = {
	{ "env-file", 'e', 0, G_OPTION_ARG_FILENAME, &main_env_file,
	  "Read settings from FILE (KEY=VALUE lines; the environment wins)", "FILE" },
	{ "listen", 'l', 0, G_OPTION_ARG_STRING, &main_listen,
	  "Listen on unix:PATH or HOST:PORT and supervise --processes processes", "ADDRESS" },
	{ "processes", 'p', 0, G_OPTION_ARG_INT, &main_processes,
	  "Processes forked by the supervisor (default 2)", "N" },
	{ "threads", 't', 0, G_OPTION_ARG_INT, &main_threads,
	  "Acceptor threads per process (default 2)", "T" },
	{ "socket-mode", 0, 0, G_OPTION_ARG_STRING, &main_socket_mode,
	  "Permissions of a --listen unix socket (octal, default 0660)", "MODE" },
	{ "socket-group", 0, 0, G_OPTION_ARG_STRING, &main_socket_group,
	  "Group of a --listen unix socket (e.g. www-data)", "GROUP" },
	{ "backlog", 0, 0, G_OPTION_ARG_INT, &main_backlog,
	  "Listen queue length for --listen (default 1024)", "N" },
	{ "check-config", 0, 0, G_OPTION_ARG_NONE, &main_check_config,
	  "Load the configuration, print its problems, exit 0 or 78", NULL },
	{ "version", 'V', 0, G_OPTION_ARG_NONE, &main_version, "Print the version and exit", NULL },
	{ NULL }
};

static void
main_free_options(void)
{
	g_free(main_env_file);
	g_free(main_listen);
	g_free(main_socket_mode);
	g_free(main_socket_group);
}

/* Parses the options: 0, or an exit status. */
static int
main_parse_options(int argc, char **argv, mode_t *mode)
{
	GOptionContext *ctx = g_option_context_new("- the Podcast Pro API as a FastCGI responder");
	GError *error = NULL;
	char *end;
	int status = 0;
	long m = 0660;

	g_option_context_add_main_entries(ctx, main_options, NULL);
	g_option_context_set_description(ctx,
	    "Without --listen the socket comes from systemd (LISTEN_FDS) or fd 0 (spawn-fcgi,\n"
	    "lighttpd bin-path). Signals: SIGTERM/SIGINT drain and stop, SIGHUP reloads.\n"
	    "See podcastpro-fcgi(8).");
	if (!g_option_context_parse(ctx, &argc, &argv, &error)) {
		fprintf(stderr, "podcastpro-fcgi: %s (try --help)\n", error->message);
		status = EXIT_USAGE;
		goto out;
	}
	if (argc > 1) {
		fprintf(stderr, "podcastpro-fcgi: unexpected argument \"%s\" (try --help)\n", argv[1]);
		status = EXIT_USAGE;
		goto out;
	}
	if (main_processes < 1 || main_processes > 256 || main_threads < 1 || main_threads > 256 ||
	    main_backlog < 1) {
		fprintf(stderr, "podcastpro-fcgi: --processes and --threads must be 1 to 256, --backlog positive\n");
		status = EXIT_USAGE;
		goto out;
	}
	if (main_socket_mode != NULL) {
		m = strtol(main_socket_mode, &end, 8);
		if (*main_socket_mode == '\0' || *end != '\0' || m < 0 || m > 0777) {
			fprintf(stderr, "podcastpro-fcgi: --socket-mode \"%s\" is not an octal mode\n",
			    main_socket_mode);
			status = EXIT_USAGE;
			goto out;
		}
	}
	*mode = (mode_t)m;
out:
	g_clear_error(&error);
	g_option_context_free(ctx);
	return status;
}

static int
main_check(void)
{
	GPtrArray *problems = NULL;
	struct config *cfg = config_load(main_env_file, CONFIG_FOR_API, &problems);

	if (cfg == NULL) {
		for (guint i = 0; i < problems->len; i++)
			printf("%s\n", (char *)problems->pdata[i]);
		g_ptr_array_unref(problems);
		return CONFIG_EXIT_INVALID;
	}
	printf("configuration OK\n");
	config_free(cfg);
	return 0;
}

int
main(int argc, char **argv)
{
	struct supervisor_opts sv;
	struct config *cfg;
	enum log_level level;
	char *cause = NULL;
	const char *test_env;
	int status, fd = -1;
	mode_t mode = 0660;

	log_init("podcastpro-fcgi");
	if ((status = main_parse_options(argc, argv, &mode)) != 0)
		goto out;
	if (main_version) {
		printf("podcastpro-fcgi %s\n", PACKAGE_VERSION);
		goto out;
	}
	if (main_check_config) {
		status = main_check();
		goto out;
	}
	if ((cfg = config_load_or_report(main_env_file, CONFIG_FOR_API)) == NULL) {
		status = CONFIG_EXIT_INVALID;
		goto out;
	}
	config_set(cfg);
	if (log_parse_level(cfg->log_level, &level) == 0)
		log_set_level(level);
	if (log_open_file(cfg->log_file) != 0) {
		fprintf(stderr, "podcastpro-fcgi: LOG_FILE %s: %s\n", cfg->log_file, g_strerror(errno));
		status = CONFIG_EXIT_INVALID;
		goto out;
	}
	test_env = g_getenv("PP_TEST_ROUTES");
	if (test_env != NULL && strcmp(test_env, "1") == 0) {
		route_enable_test_routes(TRUE);
		log_warn("PP_TEST_ROUTES=1: debug routes under /_test/ are enabled");
	}

	if (main_listen != NULL) {
		if ((fd = listen_open(main_listen, main_backlog, mode, main_socket_group, &cause)) == -1) {
			log_error("--listen %s", cause);
			status = 1;
			goto out;
		}
	} else if ((fd = listen_from_systemd(&cause)) == -1 && cause != NULL) {
		log_error("%s", cause);
		status = 1;
		goto out;
	}
	if (fd == -1) {
		if (!listen_fd_is_listening(0)) {
			log_error("no socket: give --listen, or start under systemd socket activation, "
			    "spawn-fcgi or lighttpd (listening socket on fd 0)");
			status = EXIT_USAGE;
			goto out;
		}
		status = serve_run(cfg, 0, main_threads, FALSE);
		goto out;
	}
	sv.listen_fd = fd;
	sv.processes = main_processes;
	sv.threads = main_threads;
	sv.env_file = main_env_file;
	sv.listen_spec = main_listen;
	status = supervisor_run(&sv);
out:
	g_free(cause);
	main_free_options();
	config_set(NULL);
	return status;
}
