#include "autoconfig.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "db.h"
#include "log.h"
#include "worker.h"

#define WORKER_MSG_MAX (1024 * 1024)

/* The serial number of the job running (0: none), and of the job the last
 * stop request was for. The master sends SIGUSR1 with sigqueue() and the
 * job's serial: a request for a job that has already ended (the soft limit
 * crossing its end) is stale, and one that comes before its job started
 * here (a shutdown right after the job was handed over) still counts. */
static volatile sig_atomic_t worker_child_serial, worker_child_stop_for;

static void
worker_child_on_usr1(int sig, siginfo_t *info, void *uctx)
{
	/* Anyone but the master (kill -USR1) means the running job. */
	int serial = info != NULL && info->si_code == SI_QUEUE ? info->si_value.sival_int : worker_child_serial;

	worker_child_stop_for = serial;
	if (serial != 0 && serial == worker_child_serial)
		task_stop_requested = 1;
}

static void
worker_child_signals(void)
{
	struct sigaction sa;
	sigset_t all;

	memset(&sa, 0, sizeof sa);
	sigemptyset(&sa.sa_mask);
	/* The master's GLib handlers write to its wakeup pipe: not ours. */
	sa.sa_handler = SIG_DFL;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGCHLD, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	sa.sa_handler = NULL;
	sa.sa_sigaction = worker_child_on_usr1;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGUSR1, &sa, NULL);
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
}

/* Runs one job described by MSG; returns the result message. */
static char *
worker_child_run(struct worker *w, struct db_pool *db, const char *msg, size_t len)
{
	json_t *in = json_loadb(msg, len, 0, NULL), *out;
	const char *raw = json_string_value(json_object_get(in, "raw"));
	struct queue_job *job = NULL;
	const struct task_def *def;
	struct task_ctx ctx;
	enum task_result res;
	char *cause = NULL, *text, *copy;
	int max_retries, serial;
	double started = queue_now();

	memset(&ctx, 0, sizeof ctx);
	if (raw == NULL || (job = queue_job_decode(raw, strlen(raw), &cause)) == NULL) {
		out = json_pack("{s:s, s:s, s:f}", "status", "fail", "error",
		    cause != NULL ? cause : "bad message from the master", "started_at", started);
		goto out;
	}
	if ((def = task_find(job->task)) == NULL) {
		out = json_pack("{s:s, s:s, s:f}", "status", "fail", "error", "unknown task", "started_at", started);
		goto out;
	}
	max_retries = def->max_retries >= 0 ? def->max_retries : w->cfg->retry_max;
	serial = (int)json_integer_value(json_object_get(in, "serial"));
	worker_child_serial = serial;
	task_stop_requested = serial != 0 && worker_child_stop_for == serial;
	ctx.job_id = job->id;
	ctx.task = job->task;
	ctx.queue = job->queue;
	ctx.args = job->args;
	ctx.retries = job->attempt - 1;
	ctx.delivery = (int)json_integer_value(json_object_get(in, "deliveries"));
	ctx.cfg = w->cfg;
	ctx.db = db;
	ctx.last_attempt = ctx.retries >= max_retries;
	res = def->run(&ctx);
	worker_child_serial = 0;
	out = json_pack("{s:s, s:f, s:f}", "status", res == TASK_OK ? "ok" : res == TASK_RETRY ? "retry" : "fail",
	    "started_at", started, "retry_min_delay", ctx.retry_min_delay);
	if (res != TASK_OK)
		json_object_set_new(out, "error", json_string(ctx.error != NULL ? ctx.error : "failed without a message"));
	if (ctx.result != NULL)
		json_object_set_new(out, "result", ctx.result);
	g_free(ctx.error);
out:
	text = json_dumps(out, JSON_COMPACT);
	if (text == NULL || strlen(text) >= WORKER_MSG_MAX) {
		free(text);
		text = strdup("{\"status\":\"retry\",\"error\":\"task result too large\"}");
	}
	copy = g_strdup(text);
	free(text);
	json_decref(out);
	json_decref(in);
	queue_job_free(job);
	g_free(cause);
	return copy;
}

void
worker_child_detach(struct worker *w)
{
	/* A child never outlives its master: a job would run unsupervised
	 * while another worker reclaims it. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != w->pid)
		_exit(1);
	worker_signals_child();
	worker_child_signals();
	/* The master's ends of the children's sockets and of Redis: never
	 * ours to write, and closed here so nothing does by mistake. */
	for (int i = 0; i < w->concurrency; i++) {
		if (w->children[i].pid != 0 && w->children[i].fd >= 0)
			close(w->children[i].fd);
	}
	if (w->cmd.ac != NULL)
		close(w->cmd.ac->c.fd);
	if (w->fetch.ac != NULL)
		close(w->fetch.ac->c.fd);
}

void
worker_child_main(struct worker *w, int fd)
{
	struct db_pool *db = NULL;
	char *buf;
	int done = 0;

	worker_child_detach(w);
	if (w->cfg->database_url != NULL)
		db = db_pool_new_from_config(w->cfg);   /* connects on first use */
	buf = g_malloc(WORKER_MSG_MAX);
	for (;;) {
		ssize_t n = recv(fd, buf, WORKER_MSG_MAX, 0);
		char *result;

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		result = worker_child_run(w, db, buf, (size_t)n);
		while (send(fd, result, strlen(result), MSG_NOSIGNAL) < 0 && errno == EINTR)
			;
		g_free(result);
		if (++done >= w->max_tasks_per_child)
			break;
	}
	/* _exit: nothing of the master's (atexit, leak checks) runs here. */
	_exit(0);
}
