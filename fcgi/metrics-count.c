/* Counting into the shared region (fcgi/metrics.h): what the request
 * path does, relaxed atomic adds to this process's slot, no lock. */
#include "autoconfig.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "metrics-private.h"
#include "metrics.h"
#include "route.h"

const gint64 metrics_bounds_us[METRICS_NBOUNDS] = {
	1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000,
	1000000, 2500000, 5000000, 10000000,
};
const double metrics_bounds_s[METRICS_NBOUNDS] = {
	0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
};

struct metrics_slot *metrics_slots;
int metrics_nslots;
struct metrics_slot *metrics_mine;
gboolean metrics_by_pid;

struct metrics_group {
	uintptr_t first, end;   /* addresses of the table's routes */
	int base;
};
static struct metrics_group metrics_groups[32];
static int metrics_ngroups;
const struct route *metrics_routes_seen[METRICS_MAX_ROUTES];
int metrics_nroutes;

static int
metrics_map(int nslots, char **cause)
{
	size_t size = sizeof(struct metrics_slot) * (size_t)nslots;
	void *p;

	if (metrics_slots != NULL)
		return 0;
	/* Shared and anonymous: every process forked afterwards sees the same
	 * pages; they are zero-filled and committed only when touched. */
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		*cause = g_strdup_printf("metrics: mmap %zu bytes: %s", size, g_strerror(errno));
		return -1;
	}
	metrics_slots = p;
	metrics_nslots = nslots;
	return 0;
}

int
metrics_region_create(int nslots, char **cause)
{
	return metrics_map(nslots, cause);
}

void
metrics_region_use_slot(int slot)
{
	if (metrics_slots == NULL || slot < 0 || slot >= metrics_nslots)
		return;
	metrics_mine = &metrics_slots[slot];
	metrics_store(&metrics_mine->pid, (gint64)getpid());
}

int
metrics_region_standalone(char **cause)
{
	if (metrics_slots != NULL)
		return 0;
	if (metrics_map(1, cause) != 0)
		return -1;
	metrics_by_pid = TRUE;
	metrics_region_use_slot(0);
	return 0;
}

static int
metrics_route_index(const struct route *route)
{
	uintptr_t a = (uintptr_t)route;

	if (route == NULL)
		return METRICS_OTHER;
	for (int g = 0; g < metrics_ngroups; g++) {
		if (a >= metrics_groups[g].first && a < metrics_groups[g].end) {
			int i = metrics_groups[g].base + (int)((a - metrics_groups[g].first) / sizeof *route);

			return MIN(i, METRICS_OTHER);
		}
	}
	return METRICS_OTHER;
}

void
metrics_request_done(const struct route *route, int status, gint64 elapsed_us)
{
	struct metrics_route_counters *c;
	int b = 0, cls;

	if (metrics_mine == NULL)
		return;
	c = &metrics_mine->routes[metrics_route_index(route)];
	cls = CLAMP(status / 100, 2, 5) - 2;
	while (b < METRICS_NBOUNDS && elapsed_us > metrics_bounds_us[b])
		b++;
	metrics_add(&c->status[cls], 1);
	metrics_add(&c->buckets[b], 1);
	metrics_add(&c->sum_us, (guint64)MAX(elapsed_us, 0));
}

void
metrics_ratelimit_refused(const struct route *route)
{
	if (metrics_mine != NULL)
		metrics_add(&metrics_mine->routes[metrics_route_index(route)].refused, 1);
}

void
metrics_redis_error(void)
{
	if (metrics_mine != NULL)
		metrics_add(&metrics_mine->redis_errors, 1);
}


void
metrics_index_routes(const struct route *const *groups, const struct route *const *test_groups)
{
	const struct route *const *lists[] = { groups, test_groups };

	metrics_ngroups = 0;
	metrics_nroutes = 0;
	for (size_t l = 0; l < G_N_ELEMENTS(lists); l++) {
		for (const struct route *const *g = lists[l]; g != NULL && *g != NULL; g++) {
			int n = 0;

			while ((*g)[n].method != NULL)
				n++;
			if (metrics_ngroups == (int)G_N_ELEMENTS(metrics_groups))
				return;
			metrics_groups[metrics_ngroups].first = (uintptr_t)*g;
			metrics_groups[metrics_ngroups].end = (uintptr_t)(*g + n);
			metrics_groups[metrics_ngroups].base = metrics_nroutes;
			metrics_ngroups++;
			for (int i = 0; i < n && metrics_nroutes < METRICS_MAX_ROUTES; i++)
				metrics_routes_seen[metrics_nroutes++] = &(*g)[i];
		}
	}
}
