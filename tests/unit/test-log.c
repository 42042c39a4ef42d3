/* Logging: every message is exactly one line, whatever it carries. */
#include "autoconfig.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <glib/gstdio.h>

#include "log.h"

/* Runs log_msg(LEVEL, "%s", TEXT) with stderr sent to a file; returns what
 * was written (caller frees). */
static char *
logged(enum log_level level, const char *text)
{
	char *path = NULL, *out = NULL;
	int fd = g_file_open_tmp("pp-test-log-XXXXXX", &path, NULL), saved = dup(STDERR_FILENO);

	g_assert_cmpint(fd, >=, 0);
	g_assert_cmpint(saved, >=, 0);
	g_assert_cmpint(dup2(fd, STDERR_FILENO), ==, STDERR_FILENO);
	log_msg(level, "%s", text);
	g_assert_cmpint(dup2(saved, STDERR_FILENO), ==, STDERR_FILENO);
	close(saved);
	close(fd);
	g_assert_true(g_file_get_contents(path, &out, NULL, NULL));
	g_unlink(path);
	g_free(path);
	return out;
}

/* The message part of one logged line (after "LEVEL: "), without the final newline. */
static char *
message_of(const char *line, const char *level)
{
	char *marker = g_strdup_printf(" %s: ", level);
	const char *p = strstr(line, marker);
	size_t len;

	g_assert_nonnull(p);
	p += strlen(marker);
	g_free(marker);
	len = strlen(p);
	g_assert_cmpint(len, >, 0);
	g_assert_cmpint(p[len - 1], ==, '\n');
	return g_strndup(p, len - 1);
}

static int
count_newlines(const char *s)
{
	int n = 0;

	for (; *s != '\0'; s++)
		n += *s == '\n';
	return n;
}

static void
test_plain_message_unchanged(void)
{
	char *out = logged(LOG_INFO, "redis (command): connected \xc3\xa9t\xc3\xa9\tok");
	char *msg = message_of(out, "info");

	g_assert_cmpint(count_newlines(out), ==, 1);
	/* UTF-8 and tabs pass through as they are. */
	g_assert_cmpstr(msg, ==, "redis (command): connected \xc3\xa9t\xc3\xa9\tok");
	g_assert_true(g_str_has_prefix(out, "20"));
	g_assert_nonnull(strstr(out, "Z test-log["));
	g_free(msg);
	g_free(out);
}

static void
test_libpq_style_message_is_one_line(void)
{
	/* What PQerrorMessage gives for a refused connection: two lines and a
	 * trailing newline. */
	const char *pq = "connection to server at \"127.0.0.1\", port 1 failed: Connection refused\n"
	    "\tIs the server running on that host and accepting TCP/IP connections?\n";
	char *text = g_strdup_printf("podcast X: cannot mark it failed: %s", pq);
	char *out = logged(LOG_ERROR, text);
	char *msg = message_of(out, "error");

	g_assert_cmpint(count_newlines(out), ==, 1);
	g_assert_cmpstr(msg, ==, "podcast X: cannot mark it failed: connection to server at \"127.0.0.1\", "
	    "port 1 failed: Connection refused\\n\tIs the server running on that host and accepting TCP/IP "
	    "connections?");
	g_free(msg);
	g_free(out);
	g_free(text);
}

static void
test_carriage_returns_and_controls_escaped(void)
{
	char *out = logged(LOG_WARNING, "a\r\nb\rc\x1b[31md\x7f\r\n\n");
	char *msg = message_of(out, "warning");

	g_assert_cmpint(count_newlines(out), ==, 1);
	g_assert_null(strchr(out, '\r'));
	g_assert_cmpstr(msg, ==, "a\\r\\nb\\rc\\x1b[31md\\x7f");
	g_free(msg);
	g_free(out);
}

static void
test_only_newlines_gives_empty_message(void)
{
	char *out = logged(LOG_INFO, "\n\n\r\n");
	char *msg = message_of(out, "info");

	g_assert_cmpint(count_newlines(out), ==, 1);
	g_assert_cmpstr(msg, ==, "");
	g_free(msg);
	g_free(out);
}

static void
test_long_message_truncated_on_one_line(void)
{
	/* Escapes make the message longer than the line: it is cut at the
	 * line's size, never in the middle of an escape, and still ends in
	 * exactly one newline. */
	GString *big = g_string_new(NULL);
	char *out, *msg;

	for (int i = 0; i < 3000; i++)
		g_string_append(big, "\n");
	g_string_append(big, "end");
	out = logged(LOG_INFO, big->str);
	msg = message_of(out, "info");
	g_assert_cmpint(count_newlines(out), ==, 1);
	g_assert_cmpint(strlen(out), <=, 4096);
	g_assert_cmpint(strlen(msg) % 2, ==, 0);   /* whole "\n" pairs only */
	for (size_t i = 0; i < strlen(msg); i += 2)
		g_assert_true(msg[i] == '\\' && msg[i + 1] == 'n');
	g_free(msg);
	g_free(out);
	g_string_free(big, TRUE);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	log_init("test-log");
	log_set_level(LOG_DEBUG);
	g_test_add_func("/log/plain", test_plain_message_unchanged);
	g_test_add_func("/log/libpq-message-one-line", test_libpq_style_message_is_one_line);
	g_test_add_func("/log/controls-escaped", test_carriage_returns_and_controls_escaped);
	g_test_add_func("/log/only-newlines", test_only_newlines_gives_empty_message);
	g_test_add_func("/log/long-truncated", test_long_message_truncated_on_one_line);
	return g_test_run();
}
