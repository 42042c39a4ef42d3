/* Acceptor threads: wait, accept, dispatch, finish. */
#include "autoconfig.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "acceptor.h"
#include "dispatch.h"
#include "log.h"

struct acceptor_thread {
	struct acceptor acc;
	struct acceptor_set *set;
	pthread_t tid;
	gboolean started;
	int epfd;
	FCGX_Request fcgx;
};

struct acceptor_set {
	struct app *app;
	int listen_fd;
	int stop_fd;                  /* eventfd: readable once stopping */
	volatile sig_atomic_t stopping;
	int nthreads;
	struct acceptor_thread *threads;
	pthread_mutex_t lock;
	pthread_cond_t ended;
	int running;                  /* threads not yet ended, under lock */
	gboolean unix_listener;       /* listen_fd is an AF_UNIX socket */
};

enum acceptor_wake { ACCEPTOR_READY, ACCEPTOR_STOP };

/* Blocks until the thread's connection (or, without one, the listening
 * socket) is readable, or a stop was asked for. A request already sent on
 * a kept connection is served even when stopping: nginx counts it as in
 * flight. */
static enum acceptor_wake
acceptor_wait(struct acceptor_thread *t)
{
	struct acceptor_set *set = t->set;

	for (;;) {
		if (t->fcgx.ipcFd >= 0) {
			struct pollfd p[2] = {
				{ .fd = t->fcgx.ipcFd, .events = POLLIN },
				{ .fd = set->stop_fd, .events = POLLIN },
			};

			if (poll(p, 2, -1) == -1) {
				if (errno == EINTR)
					continue;
				log_error("acceptor %d: poll: %s", t->acc.index, g_strerror(errno));
				return ACCEPTOR_STOP;
			}
			if (p[0].revents != 0)
				return ACCEPTOR_READY;
			if (p[1].revents != 0)
				return ACCEPTOR_STOP;
		} else {
			struct epoll_event ev[2];
			int n = epoll_wait(t->epfd, ev, G_N_ELEMENTS(ev), -1);

			if (n == -1) {
				if (errno == EINTR)
					continue;
				log_error("acceptor %d: epoll_wait: %s", t->acc.index, g_strerror(errno));
				return ACCEPTOR_STOP;
			}
			if (set->stopping)
				return ACCEPTOR_STOP;
			if (n > 0)
				return ACCEPTOR_READY;
		}
	}
}

static void
acceptor_serve(struct acceptor_thread *t, struct request *req)
{
	struct acceptor_set *set = t->set;
	gboolean drained;

	if (request_setup(req, &t->fcgx, set->app, &t->acc) != 0)
		log_debug("acceptor %d: undecodable path", t->acc.index);
	dispatch_request(req);
	drained = request_drain(req);
	/* While stopping, a kept connection is closed after its last request
	 * so that nginx opens the next one to a process that stays. */
	if (set->stopping || !drained)
		t->fcgx.keepConnection = 0;
	request_clear(req);
	/* libfcgi closes a connection lingering: shutdown, then reading until
	 * the peer closes (up to 2 s), lest a TCP reset destroy the answer.
	 * A unix socket has no resets to fear once the request was read to
	 * its end, and the wait would keep this thread from the next
	 * connection until nginx gets round to closing: close at once. */
	if (set->unix_listener && drained && !t->fcgx.keepConnection)
		FCGX_Detach(&t->fcgx);
	FCGX_Finish_r(&t->fcgx);
}

static void *
acceptor_main(void *data)
{
	struct acceptor_thread *t = data;
	struct acceptor_set *set = t->set;
	struct request req;
	int rc;

	memset(&req, 0, sizeof req);
	while (!set->stopping) {
		if (acceptor_wait(t) == ACCEPTOR_STOP)
			break;
		rc = FCGX_Accept_r(&t->fcgx);
		if (rc == -EAGAIN || rc == -EWOULDBLOCK || rc == -EINTR)
			continue;   /* another thread took it, or a kept connection ended */
		if (rc < 0) {
			/* EMFILE and friends: back off rather than spin. */
			log_error("acceptor %d: accept failed: %s", t->acc.index, g_strerror(-rc));
			g_usleep(100 * 1000);
			continue;
		}
		acceptor_serve(t, &req);
	}
	if (t->fcgx.ipcFd >= 0) {
		t->fcgx.keepConnection = 0;
		FCGX_Free(&t->fcgx, TRUE);
	}
	request_destroy(&req);
	g_clear_pointer(&t->acc.redis, redisFree);
	pthread_mutex_lock(&set->lock);
	set->running--;
	pthread_cond_broadcast(&set->ended);
	pthread_mutex_unlock(&set->lock);
	return NULL;
}

struct acceptor_set *
acceptor_start(struct app *app, int listen_fd, int threads, char **cause)
{
	struct acceptor_set *set = g_new0(struct acceptor_set, 1);
	struct sockaddr_storage addr;
	socklen_t addr_len = sizeof addr;
	struct epoll_event ev;
	int flags;

	set->app = app;
	set->listen_fd = listen_fd;
	set->unix_listener = getsockname(listen_fd, (struct sockaddr *)&addr, &addr_len) == 0 &&
	    addr.ss_family == AF_UNIX;
	set->nthreads = threads;
	set->threads = g_new0(struct acceptor_thread, threads);
	pthread_mutex_init(&set->lock, NULL);
	pthread_cond_init(&set->ended, NULL);
	for (int i = 0; i < threads; i++)
		set->threads[i].epfd = -1;
	set->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (set->stop_fd == -1) {
		*cause = g_strdup_printf("eventfd: %s", g_strerror(errno));
		goto fail;
	}
	/* Non-blocking: a thread woken for a connection another one took
	 * gets EAGAIN instead of sleeping in accept() past a stop. The flag
	 * is shared with sibling processes, which are all this program. */
	flags = fcntl(listen_fd, F_GETFL);
	if (flags == -1 || fcntl(listen_fd, F_SETFL, flags | O_NONBLOCK) == -1) {
		*cause = g_strdup_printf("listening socket: %s", g_strerror(errno));
		goto fail;
	}
	for (int i = 0; i < threads; i++) {
		struct acceptor_thread *t = &set->threads[i];

		t->set = set;
		t->acc.app = app;
		t->acc.index = i;
		t->epfd = epoll_create1(EPOLL_CLOEXEC);
		if (t->epfd == -1) {
			*cause = g_strdup_printf("epoll_create1: %s", g_strerror(errno));
			goto fail;
		}
		memset(&ev, 0, sizeof ev);
		ev.events = EPOLLIN | EPOLLEXCLUSIVE;
		ev.data.fd = listen_fd;
		if (epoll_ctl(t->epfd, EPOLL_CTL_ADD, listen_fd, &ev) == -1) {
			*cause = g_strdup_printf("epoll_ctl: %s", g_strerror(errno));
			goto fail;
		}
		ev.events = EPOLLIN;
		ev.data.fd = set->stop_fd;
		if (epoll_ctl(t->epfd, EPOLL_CTL_ADD, set->stop_fd, &ev) == -1) {
			*cause = g_strdup_printf("epoll_ctl: %s", g_strerror(errno));
			goto fail;
		}
		if (FCGX_InitRequest(&t->fcgx, listen_fd, 0) != 0) {
			*cause = g_strdup("FCGX_InitRequest failed");
			goto fail;
		}
	}
	for (int i = 0; i < threads; i++) {
		struct acceptor_thread *t = &set->threads[i];
		int err;

		pthread_mutex_lock(&set->lock);
		set->running++;
		pthread_mutex_unlock(&set->lock);
		if ((err = pthread_create(&t->tid, NULL, acceptor_main, t)) != 0) {
			pthread_mutex_lock(&set->lock);
			set->running--;
			pthread_mutex_unlock(&set->lock);
			if (i == 0) {
				*cause = g_strdup_printf("pthread_create: %s", g_strerror(err));
				goto fail;
			}
			log_warn("only %d of %d acceptor threads started: %s", i, threads, g_strerror(err));
			break;
		}
		t->started = TRUE;
	}
	return set;
fail:
	acceptor_free(set);
	return NULL;
}

void
acceptor_stop(struct acceptor_set *set)
{
	guint64 one = 1;

	set->stopping = 1;
	/* The event stays readable: every thread sees it, now and later. */
	if (write(set->stop_fd, &one, sizeof one) == -1) {
		/* Only EAGAIN (counter full) is possible: it is readable already. */
	}
}

int
acceptor_join(struct acceptor_set *set, int timeout_s)
{
	struct timespec deadline;
	int left;

	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += timeout_s;
	pthread_mutex_lock(&set->lock);
	while (set->running > 0) {
		if (pthread_cond_timedwait(&set->ended, &set->lock, &deadline) == ETIMEDOUT)
			break;
	}
	left = set->running;
	pthread_mutex_unlock(&set->lock);
	if (left > 0)
		return left;
	for (int i = 0; i < set->nthreads; i++) {
		if (set->threads[i].started) {
			pthread_join(set->threads[i].tid, NULL);
			set->threads[i].started = FALSE;
		}
	}
	return 0;
}

void
acceptor_free(struct acceptor_set *set)
{
	if (set == NULL)
		return;
	for (int i = 0; i < set->nthreads; i++) {
		if (set->threads[i].started) {
			/* Only reached when start-up failed half way. */
			acceptor_stop(set);
			pthread_join(set->threads[i].tid, NULL);
		}
		if (set->threads[i].epfd != -1)
			close(set->threads[i].epfd);
	}
	if (set->stop_fd != -1)
		close(set->stop_fd);
	pthread_mutex_destroy(&set->lock);
	pthread_cond_destroy(&set->ended);
	g_free(set->threads);
	g_free(set);
}
