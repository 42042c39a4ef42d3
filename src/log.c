#include "autoconfig.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static const char *log_progname = "podcastpro";
static volatile int log_level = LOG_INFO;
static const char *const log_names[] = { "debug", "info", "warning", "error" };

void
log_init(const char *progname)
{
	log_progname = progname;
}

void
log_set_level(enum log_level level)
{
	log_level = level;
}

enum log_level
log_get_level(void)
{
	return log_level;
}

gboolean
log_enabled(enum log_level level)
{
	return (int)level >= log_level;
}

int
log_parse_level(const char *text, enum log_level *out)
{
	if (text == NULL)
		return -1;
	for (int i = 0; i < (int)G_N_ELEMENTS(log_names); i++) {
		if (g_ascii_strcasecmp(text, log_names[i]) == 0) {
			*out = i;
			return 0;
		}
	}
	if (g_ascii_strcasecmp(text, "warn") == 0) {
		*out = LOG_WARNING;
		return 0;
	}
	return -1;
}

int
log_open_file(const char *path)
{
	int fd;

	if (path == NULL || *path == '\0')
		return 0;
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (fd == -1)
		return -1;
	/* dup2 swaps the file under stderr atomically for every thread. */
	if (dup2(fd, STDERR_FILENO) == -1) {
		int saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	close(fd);
	return 0;
}

void
log_msg(enum log_level level, const char *fmt, ...)
{
	char line[4096], stamp[32];
	struct timeval tv;
	struct tm tm;
	va_list ap;
	int n, m;

	if (!log_enabled(level))
		return;
	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
	n = snprintf(line, sizeof line, "%s.%06ldZ %s[%ld] %s: ", stamp,
	    (long)tv.tv_usec, log_progname, (long)getpid(), log_names[level]);
	va_start(ap, fmt);
	m = vsnprintf(line + n, sizeof line - n - 1, fmt, ap);
	va_end(ap);
	if (m < 0)
		m = 0;
	n += m;
	if (n > (int)sizeof line - 2)
		n = sizeof line - 2;
	line[n++] = '\n';
	/* One write(2) per line: lines from threads and processes never interleave. */
	while (write(STDERR_FILENO, line, n) == -1 && errno == EINTR)
		;
}
