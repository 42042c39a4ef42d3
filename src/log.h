/* Logging: one line per event on stderr (or LOG_FILE), safe from any thread.
 * A message never spans lines: its trailing line breaks are dropped and any
 * other newline or control character in it is escaped (\n, \r, \xHH).
 *
 * A line: "2026-11-28T13:40:00.123456Z podcastpro-fcgi[1234] info: text".
 * Nothing here allocates on behalf of the caller; log_fatal() is only for
 * start-up, before serving begins. */
#ifndef PP_LOG_H
#define PP_LOG_H

#include <glib.h>

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARNING, LOG_ERROR };

/* Program name shown on every line; the string must outlive the program. */
void log_init(const char *progname);
void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* Parses "debug", "info", "warning"/"warn", "error" (any case): 0, or -1. */
int log_parse_level(const char *text, enum log_level *out);
/* Sends lines to PATH (appended) instead of stderr; NULL or "" means stderr.
 * Called again (SIGHUP), it reopens the file: 0, or -1 with errno set. */
int log_open_file(const char *path);
gboolean log_enabled(enum log_level level);

void log_msg(enum log_level level, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
#define log_debug(...) do { if (log_enabled(LOG_DEBUG)) log_msg(LOG_DEBUG, __VA_ARGS__); } while (0)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARNING, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)

#endif
