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

/* Appends TEXT to LINE (at *N, at most LIMIT bytes in all) on one line:
 * newlines and other control characters become visible escapes (\n, \r,
 * \xHH; a tab stays) and trailing line breaks go, so a message that
 * carries them (libpq's end in "\n", some span lines) is still one record. */
static void
log_append_one_line(char *line, int *n, int limit, const char *text)
{
	size_t len = strlen(text);

	while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r'))
		len--;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)text[i];
		char esc[8];
		int k;

		if (c >= 0x20 && c != 0x7f) {
			esc[0] = (char)c;
			k = 1;
		} else if (c == '\t') {
			esc[0] = '\t';
			k = 1;
		} else if (c == '\n' || c == '\r') {
			esc[0] = '\\';
			esc[1] = c == '\n' ? 'n' : 'r';
			k = 2;
		} else
			k = snprintf(esc, sizeof esc, "\\x%02x", c);
		if (*n + k > limit)
			break;   /* truncated, never in the middle of an escape */
		memcpy(line + *n, esc, (size_t)k);
		*n += k;
	}
}

void
log_msg(enum log_level level, const char *fmt, ...)
{
	char line[4096], text[4096], stamp[32];
	struct timeval tv;
	struct tm tm;
	va_list ap;
	int n;

	if (!log_enabled(level))
		return;
	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
	n = snprintf(line, sizeof line, "%s.%06ldZ %s[%ld] %s: ", stamp,
	    (long)tv.tv_usec, log_progname, (long)getpid(), log_names[level]);
	va_start(ap, fmt);
	if (vsnprintf(text, sizeof text, fmt, ap) < 0)
		text[0] = '\0';
	va_end(ap);
	log_append_one_line(line, &n, (int)sizeof line - 1, text);
	line[n++] = '\n';
	/* One write(2) per line: lines from threads and processes never interleave. */
	while (write(STDERR_FILENO, line, n) == -1 && errno == EINTR)
		;
}
