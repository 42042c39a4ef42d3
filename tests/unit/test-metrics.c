/* /metrics' pieces: the exposition writer (escaping, histogram buckets,
 * numbers) and the shared counting region (route index, status classes,
 * latency buckets, slots shared across fork). */
#include "autoconfig.h"

#include <math.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "metrics-private.h"
#include "metrics.h"
#include "promtext.h"
#include "route.h"

static void
test_family_and_escaping(void)
{
	GString *out = g_string_new(NULL);
	const char *labels[] = { "route", "a\\b\"c\nd", "method", "GET", NULL };

	promtext_family(out, "x_total", "counter", "Back\\slash and\nnewline, \"quotes\" kept");
	promtext_sample_u64(out, "x_total", labels, 18446744073709551615ULL);
	g_assert_cmpstr(out->str, ==,
	    "# HELP x_total Back\\\\slash and\\nnewline, \"quotes\" kept\n"
	    "# TYPE x_total counter\n"
	    "x_total{route=\"a\\\\b\\\"c\\nd\",method=\"GET\"} 18446744073709551615\n");
	g_string_truncate(out, 0);
	promtext_escape_label(out, "plain/{id}");
	g_assert_cmpstr(out->str, ==, "plain/{id}");
	g_string_free(out, TRUE);
}

static void
test_samples(void)
{
	GString *out = g_string_new(NULL);

	promtext_sample_u64(out, "up", NULL, 1);
	promtext_sample(out, "ratio", NULL, 0.25);
	promtext_sample(out, "nan", NULL, NAN);
	promtext_sample(out, "inf", NULL, -INFINITY);
	promtext_sample(out, "small", NULL, 0.005);
	g_assert_cmpstr(out->str, ==, "up 1\nratio 0.25\nnan NaN\ninf -Inf\nsmall 0.005\n");
	g_string_free(out, TRUE);
}

static void
test_histogram(void)
{
	static const double bounds[] = { 0.005, 0.1, 1 };
	static const guint64 counts[] = { 2, 0, 3, 1 };   /* not cumulative; last above 1 s */
	const char *labels[] = { "route", "/x", NULL };
	GString *out = g_string_new(NULL);

	promtext_histogram(out, "d_seconds", labels, bounds, 3, counts, 4.5);
	g_assert_cmpstr(out->str, ==,
	    "d_seconds_bucket{route=\"/x\",le=\"0.005\"} 2\n"
	    "d_seconds_bucket{route=\"/x\",le=\"0.1\"} 2\n"
	    "d_seconds_bucket{route=\"/x\",le=\"1\"} 5\n"
	    "d_seconds_bucket{route=\"/x\",le=\"+Inf\"} 6\n"
	    "d_seconds_sum{route=\"/x\"} 4.5\n"
	    "d_seconds_count{route=\"/x\"} 6\n");
	g_string_truncate(out, 0);
	promtext_histogram(out, "e", NULL, bounds, 1, counts, 0);
	g_assert_cmpstr(out->str, ==, "e_bucket{le=\"0.005\"} 2\ne_bucket{le=\"+Inf\"} 2\ne_sum 0\ne_count 2\n");
	g_string_free(out, TRUE);
}

static void
handler(struct request *req)
{
	(void)req;
}

static const struct route group_a[] = {
	{ .method = "GET", .pattern = "/a", .handler = handler },
	{ .method = "POST", .pattern = "/a", .handler = handler, .limit = "alpha" },
	{ .method = NULL }
};
static const struct route group_b[] = {
	{ .method = "GET", .pattern = "/b/{id}", .handler = handler },
	{ .method = NULL }
};
static const struct route *const groups[] = { group_a, NULL };
static const struct route *const test_groups[] = { group_b, NULL };

static guint64
status_sum(const struct metrics_route_counters *c)
{
	return c->status[0] + c->status[1] + c->status[2] + c->status[3];
}

static void
test_counting_across_fork(void)
{
	const struct route other = { .method = "GET", .pattern = "/elsewhere", .handler = handler };
	struct metrics_slot *s0, *s1;
	char *cause = NULL;
	int status;
	pid_t pid;

	metrics_index_routes(groups, test_groups);
	g_assert_cmpint(metrics_nroutes, ==, 3);
	g_assert_true(metrics_routes_seen[2] == &group_b[0]);
	g_assert_cmpint(metrics_region_create(2, &cause), ==, 0);
	g_assert_null(cause);
	/* Before a slot is chosen nothing is counted. */
	metrics_request_done(&group_a[0], 200, 10);
	metrics_region_use_slot(0);
	s0 = &metrics_slots[0];
	s1 = &metrics_slots[1];
	g_assert_cmpuint(status_sum(&s0->routes[0]), ==, 0);

	metrics_request_done(&group_a[0], 200, 1000);       /* le 0.001 exactly */
	metrics_request_done(&group_a[0], 204, 1001);       /* the next bucket */
	metrics_request_done(&group_a[1], 429, 20000000);   /* above 10 s */
	metrics_ratelimit_refused(&group_a[1]);
	metrics_request_done(&group_b[0], 302, 5);
	metrics_request_done(NULL, 404, 5);
	metrics_request_done(&other, 503, 5);               /* not in the table: with the unmatched */
	metrics_request_done(&group_b[0], 100, 5);          /* no 1xx class: counted as 2xx */
	metrics_request_done(&group_b[0], 600, 5);          /* nor 6xx: as 5xx */
	metrics_redis_error();

	g_assert_cmpuint(s0->routes[0].status[0], ==, 2);
	g_assert_cmpuint(s0->routes[0].buckets[0], ==, 1);
	g_assert_cmpuint(s0->routes[0].buckets[1], ==, 1);
	g_assert_cmpuint(s0->routes[0].sum_us, ==, 2001);
	g_assert_cmpuint(s0->routes[1].status[2], ==, 1);
	g_assert_cmpuint(s0->routes[1].buckets[METRICS_NBOUNDS], ==, 1);
	g_assert_cmpuint(s0->routes[1].refused, ==, 1);
	g_assert_cmpuint(s0->routes[2].status[1], ==, 1);
	g_assert_cmpuint(s0->routes[2].status[0], ==, 1);
	g_assert_cmpuint(s0->routes[2].status[3], ==, 1);
	g_assert_cmpuint(s0->routes[METRICS_OTHER].status[2], ==, 1);
	g_assert_cmpuint(s0->routes[METRICS_OTHER].status[3], ==, 1);
	g_assert_cmpuint(s0->redis_errors, ==, 1);

	/* A forked process counts into its slot of the same pages. */
	if ((pid = fork()) == 0) {
		metrics_region_use_slot(1);
		for (int i = 0; i < 1000; i++)
			metrics_request_done(&group_a[0], 200, 3);
		_exit(0);
	}
	g_assert_cmpint(pid, >, 0);
	g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
	g_assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	g_assert_cmpint(s1->pid, ==, pid);
	g_assert_cmpuint(s1->routes[0].status[0], ==, 1000);
	g_assert_cmpuint(s1->routes[0].buckets[0], ==, 1000);
	g_assert_cmpuint(s0->routes[0].status[0], ==, 2);
	/* A replacement in the dead process's slot counts on from its totals. */
	if ((pid = fork()) == 0) {
		metrics_region_use_slot(1);
		metrics_request_done(&group_a[0], 200, 3);
		_exit(0);
	}
	g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
	g_assert_cmpuint(s1->routes[0].status[0], ==, 1001);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/promtext/family-and-escaping", test_family_and_escaping);
	g_test_add_func("/promtext/samples", test_samples);
	g_test_add_func("/promtext/histogram", test_histogram);
	g_test_add_func("/metrics/counting-across-fork", test_counting_across_fork);
	return g_test_run();
}
