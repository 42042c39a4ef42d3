/* Writing Prometheus' text exposition format (src/promtext.h). */
#include "autoconfig.h"

#include <math.h>
#include <string.h>

#include "promtext.h"

const char promtext_content_type[] = "text/plain; version=0.0.4; charset=utf-8";

static void
promtext_escape(GString *out, const char *s, gboolean quotes)
{
	for (; *s != '\0'; s++) {
		if (*s == '\\')
			g_string_append(out, "\\\\");
		else if (*s == '\n')
			g_string_append(out, "\\n");
		else if (*s == '"' && quotes)
			g_string_append(out, "\\\"");
		else
			g_string_append_c(out, *s);
	}
}

void
promtext_escape_label(GString *out, const char *value)
{
	promtext_escape(out, value, TRUE);
}

void
promtext_family(GString *out, const char *name, const char *type, const char *help)
{
	g_string_append_printf(out, "# HELP %s ", name);
	promtext_escape(out, help, FALSE);
	g_string_append_printf(out, "\n# TYPE %s %s\n", name, type);
}

/* NAME{LABELS[,EXTRA="EXTRA_VALUE"]} and a space. */
static void
promtext_series(GString *out, const char *name, const char *suffix, const char *const *labels,
    const char *extra, const char *extra_value)
{
	gboolean any = FALSE;

	g_string_append(out, name);
	if (suffix != NULL)
		g_string_append(out, suffix);
	for (int i = 0; labels != NULL && labels[i] != NULL && labels[i + 1] != NULL; i += 2) {
		g_string_append_c(out, any ? ',' : '{');
		g_string_append_printf(out, "%s=\"", labels[i]);
		promtext_escape(out, labels[i + 1], TRUE);
		g_string_append_c(out, '"');
		any = TRUE;
	}
	if (extra != NULL) {
		g_string_append_c(out, any ? ',' : '{');
		g_string_append_printf(out, "%s=\"%s\"", extra, extra_value);
		any = TRUE;
	}
	if (any)
		g_string_append_c(out, '}');
	g_string_append_c(out, ' ');
}

/* A float as Prometheus reads it, locale-free; 15 digits write 0.005 as
 * 0.005, not 0.0050000000000000001. */
static void
promtext_double(GString *out, double v)
{
	char buf[G_ASCII_DTOSTR_BUF_SIZE];

	if (isnan(v))
		g_string_append(out, "NaN");
	else if (isinf(v))
		g_string_append(out, v > 0 ? "+Inf" : "-Inf");
	else
		g_string_append(out, g_ascii_formatd(buf, sizeof buf, "%.15g", v));
}

void
promtext_sample_u64(GString *out, const char *name, const char *const *labels, guint64 value)
{
	promtext_series(out, name, NULL, labels, NULL, NULL);
	g_string_append_printf(out, "%" G_GUINT64_FORMAT "\n", value);
}

void
promtext_sample(GString *out, const char *name, const char *const *labels, double value)
{
	promtext_series(out, name, NULL, labels, NULL, NULL);
	promtext_double(out, value);
	g_string_append_c(out, '\n');
}

void
promtext_histogram(GString *out, const char *name, const char *const *labels,
    const double *bounds, int n, const guint64 *counts, double sum)
{
	char le[G_ASCII_DTOSTR_BUF_SIZE];
	guint64 cumulative = 0;

	for (int i = 0; i <= n; i++) {
		cumulative += counts[i];
		if (i < n)
			g_ascii_formatd(le, sizeof le, "%.15g", bounds[i]);
		else
			g_strlcpy(le, "+Inf", sizeof le);
		promtext_series(out, name, "_bucket", labels, "le", le);
		g_string_append_printf(out, "%" G_GUINT64_FORMAT "\n", cumulative);
	}
	promtext_series(out, name, "_sum", labels, NULL, NULL);
	promtext_double(out, sum);
	g_string_append_c(out, '\n');
	promtext_series(out, name, "_count", labels, NULL, NULL);
	g_string_append_printf(out, "%" G_GUINT64_FORMAT "\n", cumulative);
}

const struct promtext_worker_family promtext_worker_families[] = {
	{ "podcastpro_worker_jobs_total", "counter",
	  "Jobs finished by the worker's children, by task and outcome (succeeded, failed, retried, dead)" },
	{ "podcastpro_worker_job_duration_seconds", "histogram",
	  "Time a job ran in a child, by task, from start to outcome" },
	{ "podcastpro_worker_child_restarts_total", "counter",
	  "Job children that ended and were replaced (recycled, crashed or killed)" },
	{ "podcastpro_worker_time_limit_kills_total", "counter",
	  "Children killed for running past TASK_HARD_TIME_LIMIT" },
	{ NULL, NULL, NULL }
};
