/* Prometheus' text exposition format, version 0.0.4 (what /metrics
 * answers, Content-Type promtext_content_type): a family's HELP and TYPE
 * lines, then its samples, "name{label="value",...} value" one a line.
 *
 * Label values are escaped (backslash, double quote, line feed), HELP
 * text too (backslash, line feed). A histogram's buckets are written
 * cumulative, "le" ascending and ending with "+Inf", then _sum and _count.
 *
 * LABELS arguments are NULL-terminated arrays of name, value pairs
 * ({"route", "/health", "method", "GET", NULL}), or NULL for none; names
 * are ours (never escaped), values anything. Everything is appended to
 * OUT, which the caller owns. */
#ifndef PP_PROMTEXT_H
#define PP_PROMTEXT_H

#include <glib.h>

extern const char promtext_content_type[];

/* "# HELP NAME HELP" and "# TYPE NAME TYPE" ("counter", "gauge",
 * "histogram"). */
void promtext_family(GString *out, const char *name, const char *type, const char *help);

/* Appends VALUE escaped for a label value (without the quotes). */
void promtext_escape_label(GString *out, const char *value);

/* One sample of an integer value. */
void promtext_sample_u64(GString *out, const char *name, const char *const *labels, guint64 value);
/* One sample of any value (NaN and infinities as Prometheus spells them). */
void promtext_sample(GString *out, const char *name, const char *const *labels, double value);

/* NAME_bucket{LABELS,le="B"} for each of the N ascending BOUNDS and
 * le="+Inf", then NAME_sum and NAME_count. COUNTS has N + 1 entries, not
 * cumulative: COUNTS[i] observations were at most BOUNDS[i] (and above
 * BOUNDS[i - 1]), COUNTS[N] above the last bound. */
void promtext_histogram(GString *out, const char *name, const char *const *labels,
    const double *bounds, int n, const guint64 *counts, double sum);

#endif

/* The worker's numbers reach /metrics through Redis (doc/metrics.md): its
 * master keeps a hash PROMTEXT_WORKER_KEY_PREFIX NAME whose fields are the
 * family names below and whose values are that family's sample lines,
 * labelled worker="NAME", as this writer makes them; the hash expires
 * unless published again, and NAME is in the set PROMTEXT_WORKER_SET. The
 * responder writes each family's HELP and TYPE (from this list) and then
 * every live worker's lines. */
#define PROMTEXT_WORKER_SET        "pp:metrics:workers"
#define PROMTEXT_WORKER_KEY_PREFIX "pp:metrics:worker:"
#define PROMTEXT_WORKER_TTL_S      30

struct promtext_worker_family {
	const char *name;
	const char *type;
	const char *help;
};

extern const struct promtext_worker_family promtext_worker_families[];   /* ends with a NULL name */
