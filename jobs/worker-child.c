#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1   /* close_range, memfd_create */
#endif
#include "autoconfig.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "log.h"
#include "worker.h"

/* Where podcastpro-job is: PP_JOB_PROGRAM (tests), else next to this
 * program (a build tree, or both installed in one directory), else
 * PKGLIBEXECDIR. NULL and *cause when it is nowhere. */
char *
worker_child_program(char **cause)
{
	const char *forced = g_getenv("PP_JOB_PROGRAM");
	char *self, *path;

	if (forced != NULL && *forced != '\0') {
		if (g_file_test(forced, G_FILE_TEST_IS_EXECUTABLE))
			return g_strdup(forced);
		*cause = g_strdup_printf("PP_JOB_PROGRAM=%s is not an executable", forced);
		return NULL;
	}
	if ((self = g_file_read_link("/proc/self/exe", NULL)) != NULL) {
		char *dir = g_path_get_dirname(self);

		path = g_build_filename(dir, "podcastpro-job", NULL);
		g_free(dir);
		g_free(self);
		if (g_file_test(path, G_FILE_TEST_IS_EXECUTABLE))
			return path;
		g_free(path);
	}
	path = g_build_filename(PKGLIBEXECDIR, "podcastpro-job", NULL);
	if (g_file_test(path, G_FILE_TEST_IS_EXECUTABLE))
		return path;
	*cause = g_strdup_printf("%s is missing: the worker runs its jobs in it", path);
	g_free(path);
	return NULL;
}

void
worker_child_environ(struct worker *w)
{
	g_strfreev(w->job_env);
	w->job_env = config_environ(w->cfg, g_get_environ());
}

/* In any process just forked from the master, first. */
static void
worker_child_detach(struct worker *w)
{
	/* A child never outlives its master: a job would run unsupervised
	 * while another worker reclaims it. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != w->pid)
		_exit(1);
	worker_signals_child();
}

/* In a forked child: FD becomes fd 3, every other descriptor of the
 * master's (children's sockets, Redis, the signalfd, log files) is closed,
 * and podcastpro-job replaces this process. Never returns. */
static void G_GNUC_NORETURN
worker_child_exec(struct worker *w, int fd, const char *mode)
{
	char master[32], max_tasks[32];
	const char *argv[8];
	int n = 0;

	worker_child_detach(w);
	/* fd 3 without close-on-exec (dup2 clears it), everything above it gone. */
	if (fd == WORKER_JOB_FD ? fcntl(fd, F_SETFD, 0) < 0 : dup2(fd, WORKER_JOB_FD) < 0)
		goto fail;
	if (close_range(WORKER_JOB_FD + 1, ~0U, 0) != 0)
		goto fail;
	g_snprintf(master, sizeof master, "--master=%d", (int)w->pid);
	g_snprintf(max_tasks, sizeof max_tasks, "--max-tasks=%d", w->max_tasks_per_child);
	argv[n++] = "podcastpro-job";
	argv[n++] = master;
	argv[n++] = max_tasks;
	if (w->loglevel != NULL)
		argv[n++] = w->loglevel;
	if (mode != NULL)
		argv[n++] = mode;
	argv[n] = NULL;
	execve(w->job_program, (char **)argv, w->job_env);
fail:
	/* The master logs the child's exit status; this says why. */
	log_error("cannot run %s: %s", w->job_program, g_strerror(errno));
	_exit(127);
}

void
worker_child_main(struct worker *w, int fd)
{
	worker_child_exec(w, fd, NULL);
}

void
worker_child_hook(struct worker *w, const char *task, const char *job_id, json_t *args, const char *error)
{
	json_t *desc = json_pack("{s:s, s:s, s:O?, s:s?}", "task", task, "job_id", job_id, "args", args,
	    "error", error);
	char *text = desc != NULL ? json_dumps(desc, JSON_COMPACT) : NULL;
	int fd = memfd_create("podcastpro-hook", MFD_CLOEXEC);
	size_t len = text != NULL ? strlen(text) : 0, off = 0;

	json_decref(desc);
	if (text == NULL || fd < 0)
		_exit(1);
	while (off < len) {
		ssize_t k = write(fd, text + off, len - off);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			_exit(1);
		off += (size_t)k;
	}
	free(text);
	if (lseek(fd, 0, SEEK_SET) != 0)
		_exit(1);
	worker_child_exec(w, fd, "--hook");
}
