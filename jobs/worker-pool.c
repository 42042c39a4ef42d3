#include "autoconfig.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib-unix.h>

#include "log.h"
#include "worker.h"

/* Largest message either way; envelopes are small (ids, not documents). */
#define WORKER_MSG_MAX (1024 * 1024)

static void worker_child_spawn(struct worker *w, int slot);

/* Asks C's running task to stop (task_should_stop), naming its job so the
 * child can tell a request for it from one meant for the job before. */
static void
worker_pool_ask_stop(const struct worker_child *c)
{
	union sigval v;

	v.sival_int = c->job_serial;
	sigqueue(c->pid, SIGUSR1, v);
}

static struct worker_child *
worker_pool_find(struct worker *w, pid_t pid)
{
	for (int i = 0; i < w->concurrency; i++) {
		if (w->children[i].pid == pid)
			return &w->children[i];
	}
	return NULL;
}

static int
worker_task_limit(const struct worker *w, const char *task, gboolean hard)
{
	const struct task_def *def = task_find(task);
	int v = def == NULL ? 0 : hard ? def->hard_limit : def->soft_limit;

	return v > 0 ? v : hard ? w->cfg->task_hard_time_limit : w->cfg->task_soft_time_limit;
}

/* Reads every message the child sent; FALSE when the socket is finished. */
static gboolean
worker_child_read(struct worker *w, struct worker_child *c)
{
	/* One buffer for the life of the master, which has one thread. */
	static char *buf;
	gboolean alive = TRUE;

	if (buf == NULL)
		buf = g_malloc(WORKER_MSG_MAX);

	for (;;) {
		ssize_t n = recv(c->fd, buf, WORKER_MSG_MAX, MSG_DONTWAIT);
		json_t *result;
		struct worker_job *job;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0) {
			alive = FALSE;
			break;
		}
		if (!c->ready) {
			/* Its first message: podcastpro-job has started and waits
			 * for jobs. Until then it is not idle, so no job's time
			 * limit runs while the child is still starting. */
			c->ready = TRUE;
			log_debug("worker child %d ready", (int)c->pid);
			continue;
		}
		if ((job = c->job) == NULL) {
			log_warn("child %d: message without a job", (int)c->pid);
			continue;
		}
		result = json_loadb(buf, (size_t)n, 0, NULL);
		c->job = NULL;
		job->pid = 0;
		c->tasks_done++;
		if (c->tasks_done >= w->max_tasks_per_child || w->stopping)
			c->retiring = TRUE;   /* it exits by itself after its last one */
		if (c->handback_on_retry &&
		    g_strcmp0(json_string_value(json_object_get(result, "status")), "retry") == 0) {
			/* It stopped because we asked it to (shutdown), not because it
			 * failed: that costs the job no attempt. */
			log_info("job %s (%s) stopped for shutdown; handed back without counting an attempt",
			    job->job->id, job->job->task);
			worker_job_requeue(w, job);
		} else
			worker_job_outcome(w, job, result, result == NULL ? "child sent an unreadable result" : NULL);
		c->handback_on_retry = FALSE;
		json_decref(result);
		if (c->retiring && (w->stopping || c->tasks_done < w->max_tasks_per_child))
			kill(c->pid, SIGTERM);
	}
	return alive;
}

static gboolean
worker_child_io(gint fd, GIOCondition cond, gpointer data)
{
	struct worker *w = data;
	struct worker_child *c = NULL;

	for (int i = 0; i < w->concurrency; i++) {
		if (w->children[i].pid != 0 && w->children[i].fd == fd)
			c = &w->children[i];
	}
	if (c == NULL)
		return G_SOURCE_REMOVE;
	if (!worker_child_read(w, c)) {
		c->io_watch = 0;
		worker_dispatch(w);
		worker_fetch_maybe(w);
		return G_SOURCE_REMOVE;   /* the child watch finishes it */
	}
	worker_dispatch(w);
	worker_fetch_maybe(w);
	worker_maybe_finish(w);
	return G_SOURCE_CONTINUE;
}

static void
worker_child_exited(GPid pid, gint status, gpointer data)
{
	struct worker *w = data;
	struct worker_child *c = worker_pool_find(w, pid);
	int slot;

	g_spawn_close_pid(pid);
	if (c == NULL)
		return;
	slot = (int)(c - w->children);
	worker_child_read(w, c);   /* a last result may still be waiting */
	if (c->job != NULL) {
		struct worker_job *job = c->job;
		char *error;

		c->job = NULL;
		job->pid = 0;
		if (c->requeue_on_exit) {
			log_warn("job %s (%s) stopped by shutdown; handed back", job->job->id, job->job->task);
			worker_job_requeue(w, job);
		} else {
			if (c->kill_reason != NULL)
				error = g_strdup(c->kill_reason);
			else if (WIFSIGNALED(status))
				error = g_strdup_printf("worker child %d killed by signal %d (%s)", (int)pid,
				    WTERMSIG(status), g_strsignal(WTERMSIG(status)));
			else
				error = g_strdup_printf("worker child %d exited with status %d while running the job",
				    (int)pid, WEXITSTATUS(status));
			log_warn("job %s (%s): %s", job->job->id, job->job->task, error);
			worker_job_outcome(w, job, NULL, error);
			g_free(error);
		}
	} else if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0) && !c->retiring && !w->stopping)
		log_warn("worker child %d died while idle (status %d)", (int)pid, status);
	if (c->io_watch != 0)
		g_source_remove(c->io_watch);
	close(c->fd);
	g_free(c->kill_reason);
	memset(c, 0, sizeof *c);
	c->fd = -1;
	if (!w->stopping) {
		w->metrics.child_restarts[WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1]++;
		worker_child_spawn(w, slot);
	}
	worker_dispatch(w);
	worker_fetch_maybe(w);
	worker_maybe_finish(w);
}

static void
worker_child_spawn(struct worker *w, int slot)
{
	struct worker_child *c = &w->children[slot];
	int sv[2], size = 2 * WORKER_MSG_MAX;
	sigset_t startup, saved;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
		log_error("socketpair: %s", g_strerror(errno));
		return;
	}
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
	setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
	/* The child starts with SIGUSR1, SIGTERM, SIGINT and SIGHUP blocked
	 * and unblocks them once its own handlers are in place: a stop
	 * request sent right after a job was handed to a child still starting
	 * must not kill it (SIGUSR1's default action), and a SIGTERM must not
	 * reach the master's GLib handlers, inherited until the child resets
	 * them (they would only wake the master's loop). */
	sigemptyset(&startup);
	sigaddset(&startup, SIGUSR1);
	sigaddset(&startup, SIGTERM);
	sigaddset(&startup, SIGINT);
	sigaddset(&startup, SIGHUP);
	sigprocmask(SIG_BLOCK, &startup, &saved);
	if ((pid = fork()) < 0) {
		log_error("fork: %s", g_strerror(errno));
		sigprocmask(SIG_SETMASK, &saved, NULL);
		close(sv[0]);
		close(sv[1]);
		return;
	}
	if (pid == 0) {
		close(sv[0]);
		worker_child_main(w, sv[1]);
	}
	sigprocmask(SIG_SETMASK, &saved, NULL);
	close(sv[1]);
	memset(c, 0, sizeof *c);
	c->pid = pid;
	c->fd = sv[0];
	g_unix_set_fd_nonblocking(c->fd, TRUE, NULL);
	c->io_watch = g_unix_fd_add(c->fd, G_IO_IN | G_IO_HUP | G_IO_ERR, worker_child_io, w);
	worker_watch_child(pid, worker_child_exited, w);
	log_debug("started worker child %d", (int)pid);
}

void
worker_pool_start(struct worker *w)
{
	w->children = g_new0(struct worker_child, w->concurrency);
	for (int i = 0; i < w->concurrency; i++) {
		w->children[i].fd = -1;
		worker_child_spawn(w, i);
	}
}

int
worker_pool_idle(struct worker *w)
{
	int n = 0;

	for (int i = 0; i < w->concurrency; i++) {
		const struct worker_child *c = &w->children[i];

		n += c->pid != 0 && c->ready && c->job == NULL && !c->retiring && c->io_watch != 0;
	}
	return n;
}

int
worker_pool_busy(struct worker *w)
{
	int n = 0;

	for (int i = 0; i < w->concurrency; i++)
		n += w->children[i].pid != 0 && w->children[i].job != NULL;
	return n;
}

int
worker_pool_run(struct worker *w, struct worker_job *job)
{
	static int serial;

	for (int i = 0; i < w->concurrency; i++) {
		struct worker_child *c = &w->children[i];
		json_t *msg;
		char *text;
		ssize_t n;

		if (c->pid == 0 || !c->ready || c->job != NULL || c->retiring || c->io_watch == 0)
			continue;
		serial = serial == INT_MAX ? 1 : serial + 1;
		msg = json_pack("{s:s, s:i, s:i}", "raw", job->raw, "deliveries", job->deliveries, "serial", serial);
		text = json_dumps(msg, JSON_COMPACT);
		json_decref(msg);
		n = send(c->fd, text, strlen(text), MSG_DONTWAIT | MSG_NOSIGNAL);
		free(text);
		if (n < 0) {
			log_warn("worker child %d: cannot send a job: %s; replacing it", (int)c->pid, g_strerror(errno));
			c->retiring = TRUE;
			kill(c->pid, SIGKILL);
			continue;
		}
		c->job = job;
		c->job_serial = serial;
		c->job_started_us = g_get_monotonic_time();
		c->soft_sent = FALSE;
		c->handback_on_retry = FALSE;
		job->pid = c->pid;
		return 0;
	}
	return -1;
}

void
worker_pool_check_limits(struct worker *w)
{
	gint64 now = g_get_monotonic_time();

	for (int i = 0; i < w->concurrency; i++) {
		struct worker_child *c = &w->children[i];
		double elapsed;
		int soft, hard;

		if (c->pid == 0 || c->job == NULL || c->kill_reason != NULL)
			continue;
		elapsed = (double)(now - c->job_started_us) / 1e6;
		soft = worker_task_limit(w, c->job->job->task, FALSE);
		hard = worker_task_limit(w, c->job->job->task, TRUE);
		if (elapsed >= hard) {
			c->kill_reason = g_strdup_printf("hard time limit (%d s) exceeded", hard);
			w->metrics.time_limit_kills++;
			log_warn("job %s (%s): %s; killing child %d", c->job->job->id, c->job->job->task,
			    c->kill_reason, (int)c->pid);
			kill(c->pid, SIGKILL);
		} else if (elapsed >= soft && !c->soft_sent) {
			c->soft_sent = TRUE;
			log_warn("job %s (%s): soft time limit (%d s) exceeded", c->job->job->id, c->job->job->task, soft);
			worker_pool_ask_stop(c);
		}
	}
}

void
worker_pool_stop(struct worker *w)
{
	for (int i = 0; i < w->concurrency; i++) {
		struct worker_child *c = &w->children[i];

		if (c->pid == 0)
			continue;
		c->retiring = TRUE;
		/* Past its soft limit already, the stop is the limit's: it counts. */
		if (c->job != NULL && !c->soft_sent)
			c->handback_on_retry = TRUE;
		if (c->job != NULL)
			worker_pool_ask_stop(c);
		else
			kill(c->pid, SIGTERM);
	}
}

void
worker_pool_kill(struct worker *w, const char *reason)
{
	for (int i = 0; i < w->concurrency; i++) {
		struct worker_child *c = &w->children[i];

		if (c->pid == 0 || c->requeue_on_exit)
			continue;   /* gone, or killed already */
		if (c->job != NULL) {
			log_warn("job %s (%s): %s; killing child %d", c->job->job->id, c->job->job->task, reason,
			    (int)c->pid);
			c->requeue_on_exit = TRUE;
		}
		c->retiring = TRUE;
		kill(c->pid, SIGKILL);
	}
}

void
worker_pool_roll(struct worker *w)
{
	for (int i = 0; i < w->concurrency; i++) {
		struct worker_child *c = &w->children[i];

		if (c->pid == 0)
			continue;
		c->retiring = TRUE;
		if (c->job == NULL)
			kill(c->pid, SIGTERM);
	}
}
