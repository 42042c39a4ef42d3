/* Forking, replacing, rolling and stopping the responder processes. */
#include "autoconfig.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "listen.h"
#include "log.h"
#include "metrics.h"
#include "serve.h"
#include "supervisor.h"

struct supervisor_child {
	pid_t pid;               /* 0: the slot waits for respawn_at_us */
	gint64 started_us;
	gint64 respawn_at_us;
	int failures;            /* deaths in a row, each young */
};

static void
supervisor_describe(int status, char *buf, size_t size)
{
	if (WIFEXITED(status))
		snprintf(buf, size, "exited with status %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, size, "was killed by signal %d (%s)", WTERMSIG(status),
		    strsignal(WTERMSIG(status)));
	else
		snprintf(buf, size, "ended (status 0x%x)", status);
}

/* Reloads the configuration for the processes forked from now on: FALSE
 * when it has problems and the current one stays. */
static gboolean
supervisor_reload(const struct supervisor_opts *o)
{
	GPtrArray *problems = NULL;
	struct config *cfg = config_load(o->env_file, CONFIG_FOR_API, &problems);
	enum log_level level;

	if (cfg == NULL) {
		for (guint i = 0; i < problems->len; i++)
			log_error("reload: %s", (char *)problems->pdata[i]);
		log_error("reload: configuration has problems; keeping the current one");
		g_ptr_array_unref(problems);
		return FALSE;
	}
	config_set(cfg);
	if (log_parse_level(cfg->log_level, &level) == 0)
		log_set_level(level);
	if (log_open_file(cfg->log_file) != 0)
		log_error("reload: cannot open %s: %s", cfg->log_file, g_strerror(errno));
	log_info("reload: configuration loaded; replacing processes one at a time");
	return TRUE;
}

static int
supervisor_count(const struct supervisor_child *kids, int n, pid_t retiring)
{
	int alive = retiring > 0;

	for (int i = 0; i < n; i++)
		alive += kids[i].pid > 0;
	return alive;
}

static void
supervisor_signal_all(const struct supervisor_child *kids, int n, pid_t retiring, int sig)
{
	for (int i = 0; i < n; i++) {
		if (kids[i].pid > 0)
			kill(kids[i].pid, sig);
	}
	if (retiring > 0)
		kill(retiring, sig);
}

/* A dead child's slot: when to start its replacement. */
static void
supervisor_child_died(struct supervisor_child *kid, int status, gint64 now)
{
	gint64 lived_us = now - kid->started_us;
	char what[96];
	int delay_ms;

	supervisor_describe(status, what, sizeof what);
	if (lived_us < SUPERVISOR_STABLE_S * G_USEC_PER_SEC)
		kid->failures = MIN(kid->failures + 1, 20);
	else
		kid->failures = 0;
	delay_ms = kid->failures == 0 ? 0 : MIN(100 << (kid->failures - 1), SUPERVISOR_MAX_DELAY_MS);
	log_warn("process %ld %s after %.1f s; replacing it in %d ms", (long)kid->pid, what,
	    lived_us / 1e6, delay_ms);
	kid->pid = 0;
	kid->respawn_at_us = now + (gint64)delay_ms * 1000;
}

int
supervisor_run(const struct supervisor_opts *o)
{
	struct supervisor_child *kids = g_new0(struct supervisor_child, o->processes);
	gboolean stopping = FALSE, killed = FALSE;
	gint64 now, stop_deadline = 0, wake;
	int roll_next = -1, n = o->processes, sig, status, slot = 0;
	char *cause = NULL;
	pid_t retiring = 0, pid;
	struct timespec ts;
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGCHLD);
	/* Blocked before the first fork: a child inherits the mask, so a
	 * SIGTERM that arrives while it starts waits for its sigwaitinfo. */
	sigprocmask(SIG_BLOCK, &set, NULL);
	log_info("supervisor: %d processes x %d acceptor threads", n, o->threads);
	/* /metrics: one slot per process slot, shared by every process forked
	 * from now on; a replacement counts on from its predecessor's totals
	 * (a rolling replacement shares the slot with the process it
	 * replaces while that one drains: the adds are atomic). */
	if (metrics_region_create(n, &cause) != 0) {
		log_error("%s", cause);
		g_free(cause);
		g_free(kids);
		return 1;
	}

	for (;;) {
		now = g_get_monotonic_time();
		for (int i = 0; i < n && !stopping; i++) {
			if (kids[i].pid != 0 || now < kids[i].respawn_at_us)
				continue;
			slot = i;
			if ((pid = fork()) == 0)
				goto child;
			if (pid < 0) {
				log_error("fork: %s", g_strerror(errno));
				kids[i].respawn_at_us = now + G_USEC_PER_SEC;
				continue;
			}
			kids[i].pid = pid;
			kids[i].started_us = now;
		}
		/* Rolling after a reload: start the new process, then drain the
		 * old one, and wait for it to end before the next slot. */
		if (!stopping && roll_next >= 0 && retiring == 0) {
			while (roll_next < n && kids[roll_next].pid <= 0)
				roll_next++;
			if (roll_next >= n) {
				log_info("reload: every process runs the new configuration");
				roll_next = -1;
			} else if ((slot = roll_next, pid = fork()) == 0)
				goto child;
			else if (pid > 0) {
				retiring = kids[roll_next].pid;
				kill(retiring, SIGTERM);
				kids[roll_next].pid = pid;
				kids[roll_next].started_us = now;
				kids[roll_next].failures = 0;
				roll_next++;
			} else
				log_error("fork: %s", g_strerror(errno));
		}
		if (stopping && supervisor_count(kids, n, retiring) == 0)
			break;
		if (stopping && !killed && now >= stop_deadline) {
			log_warn("processes still running past SHUTDOWN_TIMEOUT: killing them");
			supervisor_signal_all(kids, n, retiring, SIGKILL);
			killed = TRUE;
		}

		wake = now + G_USEC_PER_SEC;
		for (int i = 0; i < n && !stopping; i++) {
			if (kids[i].pid == 0)
				wake = MIN(wake, kids[i].respawn_at_us);
		}
		if (stopping && !killed)
			wake = MIN(wake, stop_deadline);
		wake = MAX(wake - now, 1000);
		ts.tv_sec = wake / G_USEC_PER_SEC;
		ts.tv_nsec = (wake % G_USEC_PER_SEC) * 1000;
		sig = sigtimedwait(&set, NULL, &ts);
		now = g_get_monotonic_time();
		if ((sig == SIGTERM || sig == SIGINT) && !stopping) {
			log_info("supervisor: %s, stopping every process (up to %d s)",
			    sig == SIGTERM ? "SIGTERM" : "SIGINT", config_get()->shutdown_timeout);
			stopping = TRUE;
			stop_deadline = now + (gint64)(config_get()->shutdown_timeout + 5) * G_USEC_PER_SEC;
			supervisor_signal_all(kids, n, retiring, SIGTERM);
		} else if (sig == SIGHUP && !stopping) {
			log_info("supervisor: SIGHUP, reloading");
			if (supervisor_reload(o))
				roll_next = 0;
		}
		while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
			if (pid == retiring) {
				retiring = 0;
				continue;
			}
			for (int i = 0; i < n; i++) {
				if (kids[i].pid != pid)
					continue;
				if (stopping)
					kids[i].pid = 0;
				else
					supervisor_child_died(&kids[i], status, now);
				break;
			}
		}
	}
	listen_cleanup(o->listen_spec);
	log_info("supervisor: stopped");
	g_free(kids);
	return 0;
child:
	g_free(kids);
	metrics_region_use_slot(slot);
	return serve_run(config_get(), o->listen_fd, o->threads, TRUE);
}
