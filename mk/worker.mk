# worker: the job queue protocol (in the core library), podcastpro-worker,
# and the job subcommands of podcastpro-ctl.
libpodcastpro_a_SOURCES += src/queue.c src/queue.h

# The master schedules; its children execute podcastpro-job, which runs the
# tasks. So the master links no task code: tasks.c is compiled for it with
# WORKER_MASTER (the table without the functions), and --as-needed drops the
# libraries only the tasks use. A new task goes in podcastpro_job_SOURCES
# (one file) and one row of jobs/tasks.c.
sbin_PROGRAMS += podcastpro-worker
podcastpro_worker_SOURCES = \
	jobs/worker.h jobs/worker-main.c jobs/worker-redis.c jobs/worker-jobs.c \
	jobs/worker-pool.c jobs/worker-child.c jobs/worker-hook.c jobs/worker-beat.c \
	jobs/worker-metrics.c jobs/worker-signals.c jobs/worker-sentinel.c \
	jobs/task.h jobs/task.c jobs/tasks.h jobs/tasks.c
podcastpro_worker_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/jobs -DWORKER_MASTER \
	-DPKGLIBEXECDIR='"$(pkglibexecdir)"'
podcastpro_worker_LDFLAGS = $(AM_LDFLAGS) -Wl,--as-needed
podcastpro_worker_LDADD = $(CORE_LIBS)

pkglibexec_PROGRAMS = podcastpro-job
podcastpro_job_SOURCES = jobs/job-main.c \
	jobs/task.h jobs/task.c jobs/tasks.h jobs/tasks.c jobs/task-ping.c jobs/task-test.c
podcastpro_job_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/jobs
podcastpro_job_LDADD = $(CORE_LIBS)

podcastpro_ctl_SOURCES += jobs/ctl-jobs.c

check_PROGRAMS += tests/unit/test-queue
tests_unit_test_queue_SOURCES = tests/unit/test-queue.c
tests_unit_test_queue_LDADD = $(UNIT_LDADD)
TESTS += tests/unit/test-queue

dist_systemdunit_DATA += systemd/podcast-pro-worker.service
dist_man_MANS += doc/podcastpro-worker.8
