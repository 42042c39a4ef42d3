/* podcastpro-job: a worker child, executed by the worker master.
 *
 * The master (podcastpro-worker) forks a child for each slot and the child
 * executes this program, so the master itself links none of what tasks
 * need (the pipeline's PDF, speech and MP3 libraries, libcurl, libpq's
 * users): its memory stays that of a scheduler (issue 15). Two modes:
 *
 *   podcastpro-job --master PID [--max-tasks N] [--loglevel L]
 *       says {"ready":true} on the SOCK_SEQPACKET socket on fd 3, then
 *       reads jobs from it, one message a job, runs each task and answers
 *       with one result message, until the socket closes or N jobs are done (jobs/worker.h: worker-pool.c
 *       holds the other end).
 *   podcastpro-job --master PID --hook
 *       reads {"task", "job_id", "args", "error"} from fd 3 and runs that
 *       task's on_dead hook once; exit status 0 done, 1 try again later.
 *
 * The settings come from the environment only: the master exports its
 * loaded configuration (config_environ()) into the child's, so a child
 * sees exactly the master's settings even if the env file changed since.
 * Not meant to be run by hand: it refuses to start unless PID is its
 * parent. */
#include "autoconfig.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "config.h"
#include "db.h"
#include "log.h"
#include "queue.h"
#include "task.h"

#define JOB_FD 3
#define JOB_MSG_MAX (1024 * 1024)
#define JOB_READY "{\"ready\":true}"


/* The serial number of the job running (0: none), and of the job the last
 * stop request was for. The master sends SIGUSR1 with sigqueue() and the
 * job's serial: a request for a job that has already ended (the soft limit
 * crossing its end) is stale, and one that comes before its job started
 * here (a shutdown right after the job was handed over) still counts. */
static volatile sig_atomic_t job_serial, job_stop_for;

static void
job_on_usr1(int sig, siginfo_t *info, void *uctx)
{
	/* Anyone but the master (kill -USR1) means the running job. */
	int serial = info != NULL && info->si_code == SI_QUEUE ? info->si_value.sival_int : job_serial;

	(void)sig;
	(void)uctx;
	job_stop_for = serial;
	if (serial != 0 && serial == job_serial)
		task_stop_requested = 1;
}

/* The master forks with SIGUSR1, SIGTERM, SIGINT and SIGHUP blocked; the
 * mask survives exec. They are unblocked once SIGUSR1 has its handler. */
static void
job_signals(void)
{
	struct sigaction sa;
	sigset_t none;

	memset(&sa, 0, sizeof sa);
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	sa.sa_handler = NULL;
	sa.sa_sigaction = job_on_usr1;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGUSR1, &sa, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

/* Runs one job described by MSG; returns the result message (new string). */
static char *
job_run(const struct config *cfg, struct db_pool *db, const char *msg, size_t len)
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
	max_retries = def->max_retries >= 0 ? def->max_retries : cfg->retry_max;
	serial = (int)json_integer_value(json_object_get(in, "serial"));
	job_serial = serial;
	task_stop_requested = serial != 0 && job_stop_for == serial;
	ctx.job_id = job->id;
	ctx.task = job->task;
	ctx.queue = job->queue;
	ctx.args = job->args;
	ctx.retries = job->attempt - 1;
	ctx.delivery = (int)json_integer_value(json_object_get(in, "deliveries"));
	ctx.cfg = cfg;
	ctx.db = db;
	ctx.last_attempt = ctx.retries >= max_retries;
	res = def->run(&ctx);
	job_serial = 0;
	out = json_pack("{s:s, s:f, s:f}", "status", res == TASK_OK ? "ok" : res == TASK_RETRY ? "retry" : "fail",
	    "started_at", started, "retry_min_delay", ctx.retry_min_delay);
	if (res != TASK_OK)
		json_object_set_new(out, "error", json_string(ctx.error != NULL ? ctx.error : "failed without a message"));
	if (ctx.result != NULL)
		json_object_set_new(out, "result", ctx.result);
	g_free(ctx.error);
out:
	text = json_dumps(out, JSON_COMPACT);
	if (text == NULL || strlen(text) >= JOB_MSG_MAX) {
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

static int
job_serve(const struct config *cfg, int max_tasks)
{
	struct db_pool *db = NULL;
	char *buf = g_malloc(JOB_MSG_MAX);
	int done = 0;

	if (cfg->database_url != NULL)
		db = db_pool_new_from_config(cfg);   /* connects on first use */
	/* The master gives jobs only to children that said this. */
	if (send(JOB_FD, JOB_READY, strlen(JOB_READY), MSG_NOSIGNAL) < 0)
		goto out;
	for (;;) {
		ssize_t n = recv(JOB_FD, buf, JOB_MSG_MAX, 0);
		char *result;

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		result = job_run(cfg, db, buf, (size_t)n);
		while (send(JOB_FD, result, strlen(result), MSG_NOSIGNAL) < 0 && errno == EINTR)
			;
		g_free(result);
		if (max_tasks > 0 && ++done >= max_tasks)
			break;
	}
out:
	db_pool_free(db);
	g_free(buf);
	return 0;
}

/* The hook's description is the whole of fd 3 (a memfd the master wrote). */
static int
job_hook(const struct config *cfg)
{
	json_error_t jerr;
	json_t *in = json_loadfd(JOB_FD, 0, &jerr);
	const char *name = json_string_value(json_object_get(in, "task"));
	const char *job_id = json_string_value(json_object_get(in, "job_id"));
	const struct task_def *def = task_find(name);
	int rc = 1;

	if (in == NULL) {
		log_error("on_dead hook: unreadable description: %s", jerr.text);
		goto out;
	}
	if (def == NULL || def->on_dead == NULL || job_id == NULL) {
		log_error("on_dead hook: no hook for task %s", name != NULL ? name : "(none)");
		goto out;
	}
	rc = def->on_dead(cfg, job_id, json_object_get(in, "args"),
	    json_string_value(json_object_get(in, "error"))) == 0 ? 0 : 1;
out:
	json_decref(in);
	return rc;
}

int
main(int argc, char **argv)
{
	static int opt_master, opt_max_tasks;
	static char *opt_loglevel;
	static gboolean opt_hook;
	const GOptionEntry options[] = {
		{ "master", 0, 0, G_OPTION_ARG_INT, &opt_master, "the worker master's pid (required)", "PID" },
		{ "max-tasks", 0, 0, G_OPTION_ARG_INT, &opt_max_tasks, "exit after N jobs (0: never)", "N" },
		{ "loglevel", 0, 0, G_OPTION_ARG_STRING, &opt_loglevel, "debug, info, warning or error", "LEVEL" },
		{ "hook", 0, 0, G_OPTION_ARG_NONE, &opt_hook, "run one on_dead hook, described on fd 3", NULL },
		{ NULL }
	};
	GOptionContext *octx = g_option_context_new(NULL);
	GError *error = NULL;
	GPtrArray *problems = NULL;
	struct config *cfg = NULL;
	enum log_level level = LOG_INFO;
	int rc = 1;

	log_init("podcastpro-worker");
	g_option_context_set_summary(octx, "A podcastpro-worker job child; the worker master starts it.");
	g_option_context_add_main_entries(octx, options, NULL);
	if (!g_option_context_parse(octx, &argc, &argv, &error)) {
		fprintf(stderr, "podcastpro-job: %s\n", error->message);
		g_error_free(error);
		rc = 2;
		goto out;
	}
	/* A child never outlives its master: a job would run unsupervised
	 * while another worker reclaims it. The setting survives exec, but
	 * the master may have died in between. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (opt_master <= 0 || getppid() != (pid_t)opt_master) {
		fprintf(stderr, "podcastpro-job: started by podcastpro-worker only (--master is not the parent)\n");
		rc = 2;
		goto out;
	}
	job_signals();
	if ((cfg = config_load(NULL, CONFIG_FOR_WORKER, &problems)) == NULL) {
		for (guint i = 0; i < problems->len; i++)
			log_error("configuration: %s", (char *)problems->pdata[i]);
		g_ptr_array_unref(problems);
		goto out;
	}
	config_set(cfg);
	if (log_parse_level(opt_loglevel != NULL ? opt_loglevel : cfg->log_level, &level) == 0)
		log_set_level(level);
	if (log_open_file(cfg->log_file) != 0)
		log_error("LOG_FILE %s: %s", cfg->log_file, g_strerror(errno));
	if (g_strcmp0(g_getenv("PP_TEST_TASKS"), "1") == 0)
		task_enable_test_tasks(TRUE);
	rc = opt_hook ? job_hook(cfg) : job_serve(cfg, opt_max_tasks);
out:
	g_option_context_free(octx);
	g_free(opt_loglevel);
	/* _exit: the master's children have never run exit handlers (leak
	 * checks of a process killed mid-job would only be noise). */
	_exit(rc);
}
