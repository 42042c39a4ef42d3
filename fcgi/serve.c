/* A responder process: app, acceptors, and waiting for a signal. */
#include "autoconfig.h"

#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "acceptor.h"
#include "app.h"
#include "config.h"
#include "log.h"
#include "metrics.h"
#include "serve.h"

static void
serve_signal_set(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGHUP);
}

void
serve_block_signals(void)
{
	sigset_t set;

	serve_signal_set(&set);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
}

int
serve_run(const struct config *cfg, int listen_fd, int threads, gboolean supervised)
{
	struct acceptor_set *acceptors = NULL;
	struct app *app = NULL;
	char *cause = NULL;
	struct timespec second = { 1, 0 };
	sigset_t set;
	int sig, left, status = 1;

	serve_block_signals();
	serve_signal_set(&set);
	/* A write to a web server that has gone must be an error, not death. */
	signal(SIGPIPE, SIG_IGN);
	if (supervised) {
		/* A supervisor killed with -9 must not leave orphans serving. */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() == 1)
			return 0;
	}
	/* Acceptor threads would each get a malloc arena; two are plenty for
	 * requests this small and keep the process's memory flat. */
	mallopt(M_ARENA_MAX, 2);
	/* Forked by the supervisor, the process counts into its slot of the
	 * supervisor's region; alone, into one of its own. */
	if (!supervised && metrics_region_standalone(&cause) != 0) {
		log_error("cannot start: %s", cause);
		goto out;
	}
	if (FCGX_Init() != 0) {
		log_error("FCGX_Init failed");
		goto out;
	}
	if ((app = app_init(cfg, &cause)) == NULL) {
		log_error("cannot start: %s", cause);
		goto out;
	}
	if ((acceptors = acceptor_start(app, listen_fd, threads, &cause)) == NULL) {
		log_error("cannot start: %s", cause);
		goto out;
	}
	log_info("serving with %d acceptor threads", threads);
	for (;;) {
		/* Woken once a second to publish the pool's numbers for /metrics. */
		metrics_publish_pool(app->db);
		sig = sigtimedwait(&set, NULL, &second);
		if (sig == -1) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			log_error("sigwaitinfo: %s", g_strerror(errno));
			break;
		}
		if (sig != SIGHUP)
			break;
		if (supervised)
			continue;
		if (log_open_file(cfg->log_file) != 0)
			log_error("cannot reopen %s: %s", cfg->log_file, g_strerror(errno));
		log_info("SIGHUP: log reopened (configuration changes need a restart in this mode)");
	}
	log_info("stopping: finishing requests in hand (up to %d s)", cfg->shutdown_timeout);
	acceptor_stop(acceptors);
	if ((left = acceptor_join(acceptors, cfg->shutdown_timeout)) != 0) {
		/* Threads still inside a handler cannot be joined: leave without
		 * freeing what they use. */
		log_warn("%d request%s still running after SHUTDOWN_TIMEOUT; exiting", left,
		    left == 1 ? "" : "s");
		_exit(0);
	}
	metrics_publish_pool(app->db);
	status = 0;
	log_info("stopped");
out:
	g_free(cause);
	acceptor_free(acceptors);
	app_free(app);
	return status;
}
