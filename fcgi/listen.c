/* Opening or inheriting the listening socket. */
#include "autoconfig.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netdb.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "listen.h"

/* The path of a unix socket spec, or NULL for HOST:PORT. */
static const char *
listen_unix_path(const char *spec)
{
	if (g_str_has_prefix(spec, "unix:"))
		return spec + 5;
	if (spec[0] == '/')
		return spec;
	return NULL;
}

static int
listen_unix(const char *path, int backlog, mode_t mode, const char *group, char **cause)
{
	struct sockaddr_un sa;
	struct stat st;
	struct group *gr = NULL;
	int fd = -1;

	memset(&sa, 0, sizeof sa);
	sa.sun_family = AF_UNIX;
	if (*path == '\0' || strlen(path) >= sizeof sa.sun_path) {
		*cause = g_strdup_printf("unix socket path \"%s\" is empty or too long", path);
		return -1;
	}
	strcpy(sa.sun_path, path);
	if (group != NULL && (gr = getgrnam(group)) == NULL) {
		*cause = g_strdup_printf("unknown group \"%s\"", group);
		return -1;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		goto fail_errno;
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			*cause = g_strdup_printf("%s exists and is not a socket", path);
			goto fail;
		}
		/* A socket file that still answers belongs to a running server. */
		if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0) {
			*cause = g_strdup_printf("%s is in use by another process", path);
			goto fail;
		}
		close(fd);
		unlink(path);
		if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
			goto fail_errno;
	}
	if (bind(fd, (struct sockaddr *)&sa, sizeof sa) == -1)
		goto fail_errno;
	if (chmod(path, mode) == -1)
		goto fail_errno;
	if (gr != NULL && chown(path, (uid_t)-1, gr->gr_gid) == -1)
		goto fail_errno;
	if (listen(fd, backlog) == -1)
		goto fail_errno;
	return fd;
fail_errno:
	*cause = g_strdup_printf("%s: %s", path, g_strerror(errno));
fail:
	if (fd != -1)
		close(fd);
	return -1;
}

static int
listen_inet(const char *spec, int backlog, char **cause)
{
	struct addrinfo hints, *res = NULL;
	char *host = NULL;
	const char *port;
	int fd = -1, one = 1, rc;

	if (spec[0] == '[') {
		const char *end = strchr(spec, ']');

		if (end == NULL || end[1] != ':') {
			*cause = g_strdup_printf("\"%s\": expected [ADDRESS]:PORT", spec);
			return -1;
		}
		host = g_strndup(spec + 1, end - spec - 1);
		port = end + 2;
	} else {
		const char *colon = strrchr(spec, ':');

		if (colon == NULL) {
			*cause = g_strdup_printf("\"%s\": expected unix:PATH or HOST:PORT", spec);
			return -1;
		}
		host = g_strndup(spec, colon - spec);
		port = colon + 1;
	}
	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if ((rc = getaddrinfo(*host != '\0' ? host : NULL, port, &hints, &res)) != 0) {
		*cause = g_strdup_printf("\"%s\": %s", spec, gai_strerror(rc));
		goto out;
	}
	if ((fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == -1 ||
	    bind(fd, res->ai_addr, res->ai_addrlen) == -1 || listen(fd, backlog) == -1) {
		*cause = g_strdup_printf("%s: %s", spec, g_strerror(errno));
		if (fd != -1)
			close(fd);
		fd = -1;
	}
out:
	if (res != NULL)
		freeaddrinfo(res);
	g_free(host);
	return fd;
}

int
listen_open(const char *spec, int backlog, mode_t mode, const char *group, char **cause)
{
	const char *path = listen_unix_path(spec);

	if (path != NULL)
		return listen_unix(path, backlog, mode, group, cause);
	return listen_inet(spec, backlog, cause);
}

int
listen_from_systemd(char **cause)
{
	int n = sd_listen_fds(1);

	*cause = NULL;
	if (n < 0) {
		*cause = g_strdup_printf("socket activation: %s", g_strerror(-n));
		return -1;
	}
	if (n == 0)
		return -1;
	if (n > 1) {
		*cause = g_strdup_printf("socket activation: %d sockets passed, expected one", n);
		return -1;
	}
	if (sd_is_socket(SD_LISTEN_FDS_START, AF_UNSPEC, SOCK_STREAM, 1) <= 0) {
		*cause = g_strdup("socket activation: the passed descriptor is not a listening stream socket");
		return -1;
	}
	return SD_LISTEN_FDS_START;
}

gboolean
listen_fd_is_listening(int fd)
{
	int listening = 0;
	socklen_t len = sizeof listening;

	return getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) == 0 && listening;
}

void
listen_cleanup(const char *spec)
{
	const char *path = spec != NULL ? listen_unix_path(spec) : NULL;
	struct stat st;

	if (path != NULL && lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
		unlink(path);
}
