/* The master's signals and child exits, read on its own main loop.
 *
 * GLib 2.74's g_unix_signal_add and g_child_watch_add hand SIGCHLD and the
 * unix signals to a helper thread of GLib's. The master forks job children
 * and hook processes all its life, and a fork while that thread holds a lock
 * (an allocator's: seen with ASan's, whose lock a child then waited for
 * forever in its first free) leaves the child that lock taken. So the master
 * blocks the signals it handles and reads them from a signalfd watched by its
 * main loop: it has no thread besides the main one, and every fork is safe.
 * SIGCHLD reaps with waitpid(-1) and calls the callback registered for that
 * pid; a process nobody watches any more is reaped and forgotten. */
#include "autoconfig.h"

#include <errno.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib-unix.h>

#include "log.h"
#include "worker.h"

struct worker_watch {
	GChildWatchFunc fn;
	gpointer data;
};

static int signals_fd = -1;
static guint signals_source;
static GSourceFunc signals_on_term, signals_on_hup;
static gpointer signals_data;
static GHashTable *signals_watches;    /* pid -> struct worker_watch (owned) */

static void
worker_signals_reap(void)
{
	pid_t pid;
	int status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		struct worker_watch *watch, copy;

		watch = g_hash_table_lookup(signals_watches, GINT_TO_POINTER(pid));
		if (watch == NULL)
			continue;
		copy = *watch;
		g_hash_table_remove(signals_watches, GINT_TO_POINTER(pid));
		copy.fn(pid, status, copy.data);
	}
}

static gboolean
worker_signals_ready(gint fd, GIOCondition cond, gpointer unused)
{
	struct signalfd_siginfo si;
	gboolean chld = FALSE;
	ssize_t n;

	while ((n = read(fd, &si, sizeof si)) == (ssize_t)sizeof si) {
		switch (si.ssi_signo) {
		case SIGTERM:
		case SIGINT:
			signals_on_term(signals_data);
			break;
		case SIGHUP:
			signals_on_hup(signals_data);
			break;
		case SIGCHLD:
			chld = TRUE;
			break;
		}
	}
	if (n < 0 && errno != EAGAIN && errno != EINTR)
		log_error("signalfd: %s", g_strerror(errno));
	/* SIGCHLDs coalesce: one reap takes every child that has ended. */
	if (chld)
		worker_signals_reap();
	return G_SOURCE_CONTINUE;
}

int
worker_signals_start(GSourceFunc on_term, GSourceFunc on_hup, gpointer data)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGCHLD);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signals_fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (signals_fd < 0) {
		log_error("signalfd: %s", g_strerror(errno));
		return -1;
	}
	signals_on_term = on_term;
	signals_on_hup = on_hup;
	signals_data = data;
	signals_watches = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, g_free);
	signals_source = g_unix_fd_add(signals_fd, G_IO_IN, worker_signals_ready, NULL);
	return 0;
}

void
worker_signals_stop(void)
{
	if (signals_source != 0)
		g_source_remove(signals_source);
	signals_source = 0;
	if (signals_fd >= 0)
		close(signals_fd);
	signals_fd = -1;
	g_clear_pointer(&signals_watches, g_hash_table_unref);
}

void
worker_signals_child(void)
{
	if (signals_fd >= 0)
		close(signals_fd);
	signals_fd = -1;
}

void
worker_watch_child(pid_t pid, GChildWatchFunc fn, gpointer data)
{
	struct worker_watch *watch = g_new(struct worker_watch, 1);

	watch->fn = fn;
	watch->data = data;
	g_hash_table_replace(signals_watches, GINT_TO_POINTER(pid), watch);
}

void
worker_unwatch_child(pid_t pid)
{
	if (signals_watches != NULL)
		g_hash_table_remove(signals_watches, GINT_TO_POINTER(pid));
}
