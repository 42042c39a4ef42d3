/* The queue protocol: envelopes, Celery's retry countdown, enqueueing. */
#include "autoconfig.h"

#include <string.h>
#include <unistd.h>

#include "queue.h"
#include "redis.h"

static void
test_envelope_round_trip(void)
{
	json_t *args = json_pack("{s:s, s:i}", "podcast_id", "01ABC", "n", 3);
	struct queue_job *job = queue_job_new("podcasts", "podcast.generate", args), *back;
	char *text, *cause = NULL;

	g_assert_true(ulid_valid(job->id));
	g_assert_cmpint(job->attempt, ==, 1);
	job->attempt = 3;
	job->eta = 1800000000.25;
	job->last_error = g_strdup("quota \"exceeded\"\n");
	text = queue_job_encode(job);
	back = queue_job_decode(text, strlen(text), &cause);
	g_assert_null(cause);
	g_assert_nonnull(back);
	g_assert_cmpstr(back->id, ==, job->id);
	g_assert_cmpstr(back->task, ==, "podcast.generate");
	g_assert_cmpstr(back->queue, ==, "podcasts");
	g_assert_cmpint(back->attempt, ==, 3);
	g_assert_cmpfloat_with_epsilon(back->eta, 1800000000.25, 1e-3);
	g_assert_cmpfloat_with_epsilon(back->enqueued_at, job->enqueued_at, 1e-3);
	g_assert_cmpstr(back->last_error, ==, "quota \"exceeded\"\n");
	g_assert_true(json_equal(back->args, args));
	g_free(text);
	queue_job_free(back);
	queue_job_free(job);
	json_decref(args);
}

static void
test_envelope_minimal_and_bad(void)
{
	const char *minimal = "{\"id\":\"X\",\"task\":\"ping\"}";
	const char *bad[] = { "", "[1,2]", "{\"id\":\"X\"}", "{\"task\":\"ping\"}", "{\"id\":\"\",\"task\":\"ping\"}", "{nope" };
	struct queue_job *job;
	char *cause = NULL;

	job = queue_job_decode(minimal, strlen(minimal), &cause);
	g_assert_nonnull(job);
	g_assert_cmpint(job->attempt, ==, 1);
	g_assert_cmpstr(job->queue, ==, "default");
	g_assert_true(json_is_object(job->args));
	g_assert_null(job->last_error);
	g_assert_cmpfloat(job->eta, ==, 0);
	queue_job_free(job);
	for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
		job = queue_job_decode(bad[i], strlen(bad[i]), &cause);
		g_assert_null(job);
		g_assert_nonnull(cause);
		g_clear_pointer(&cause, g_free);
	}
	queue_job_free(NULL);
}

static void
test_backoff_no_jitter(void)
{
	/* Celery: min(retry_backoff_max, factor * 2 ** retries). */
	const double want[] = { 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 600, 600 };

	for (int r = 0; r < (int)G_N_ELEMENTS(want); r++)
		g_assert_cmpfloat(queue_backoff(r, 1, 600, FALSE, NULL), ==, want[r]);
	g_assert_cmpfloat(queue_backoff(2, 5, 600, FALSE, NULL), ==, 20);
	g_assert_cmpfloat(queue_backoff(0, 0, 600, FALSE, NULL), ==, 0);
	g_assert_cmpfloat(queue_backoff(5000, 1, 600, FALSE, NULL), ==, 600);
	g_assert_cmpfloat(queue_backoff(3, 1, 0, FALSE, NULL), ==, 0);
	g_assert_cmpfloat(queue_backoff(-1, 3, 600, FALSE, NULL), ==, 3);
}

static void
test_backoff_jitter_bounds_and_spread(void)
{
	GRand *rng = g_rand_new_with_seed(42);
	int counts[9] = { 0 }, draws = 18000;
	double sum = 0;

	/* retries 3, factor 1: countdown 8, jitter uniform over 0..8 whole seconds. */
	for (int i = 0; i < draws; i++) {
		double d = queue_backoff(3, 1, 600, TRUE, rng);

		g_assert_cmpfloat(d, >=, 0);
		g_assert_cmpfloat(d, <=, 8);
		g_assert_cmpfloat(d, ==, (double)(int)d);
		counts[(int)d]++;
		sum += d;
	}
	for (int v = 0; v <= 8; v++) {
		/* 2000 expected per value; 1700..2300 is over 6 sigma wide. */
		g_assert_cmpint(counts[v], >, 1700);
		g_assert_cmpint(counts[v], <, 2300);
	}
	g_assert_cmpfloat(sum / draws, >, 3.8);
	g_assert_cmpfloat(sum / draws, <, 4.2);
	/* The cap bounds the jittered value too. */
	for (int i = 0; i < 1000; i++)
		g_assert_cmpfloat(queue_backoff(20, 1, 600, TRUE, rng), <=, 600);
	g_rand_free(rng);
}

static void
test_keys(void)
{
	char *s = queue_stream_key("podcasts"), *d = queue_dead_key("podcasts");

	g_assert_cmpstr(s, ==, "pp:q:podcasts");
	g_assert_cmpstr(d, ==, "pp:dead:podcasts");
	g_free(s);
	g_free(d);
}

static void
test_enqueue_redis(void)
{
	const char *url = g_getenv("PP_TEST_REDIS_URL");
	redisContext *c;
	redisReply *r;
	char id[ULID_LEN + 1], id2[ULID_LEN + 1], *cause = NULL, queue[64];
	json_t *args = json_pack("{s:s}", "podcast_id", "P1");
	struct queue_job *job;
	double before = queue_now();

	if (url == NULL) {
		g_test_skip("PP_TEST_REDIS_URL is not set (script/test sets it)");
		json_decref(args);
		return;
	}
	c = redis_connect(url, 2000, &cause);
	g_assert_null(cause);
	g_snprintf(queue, sizeof queue, "unit-%d", (int)getpid());
	g_assert_cmpint(queue_enqueue(c, queue, "ping", args, 0, id, &cause), ==, 0);
	g_assert_true(ulid_valid(id));
	r = redisCommand(c, "XRANGE pp:q:%s - +", queue);
	g_assert_cmpint(r->elements, ==, 1);
	g_assert_cmpstr(r->element[0]->element[1]->element[0]->str, ==, "job");
	job = queue_job_decode(r->element[0]->element[1]->element[1]->str, r->element[0]->element[1]->element[1]->len, &cause);
	g_assert_nonnull(job);
	g_assert_cmpstr(job->id, ==, id);
	g_assert_cmpstr(job->queue, ==, queue);
	g_assert_true(json_equal(job->args, args));
	queue_job_free(job);
	freeReplyObject(r);

	/* With a countdown it waits in the delayed set, scored by its due time. */
	g_assert_cmpint(queue_enqueue(c, queue, "ping", NULL, 30, id2, &cause), ==, 0);
	r = redisCommand(c, "ZRANGE %s 0 -1 WITHSCORES", QUEUE_DELAYED_KEY);
	{
		gboolean found = FALSE;

		for (size_t i = 0; i + 1 < r->elements; i += 2) {
			if (strstr(r->element[i]->str, id2) != NULL) {
				double due = g_ascii_strtod(r->element[i + 1]->str, NULL) / 1000;

				g_assert_cmpfloat(due, >=, before + 29.9);
				g_assert_cmpfloat(due, <=, queue_now() + 30.1);
				found = TRUE;
				freeReplyObject(redisCommand(c, "ZREM %s %s", QUEUE_DELAYED_KEY, r->element[i]->str));
			}
		}
		g_assert_true(found);
	}
	freeReplyObject(r);
	freeReplyObject(redisCommand(c, "DEL pp:q:%s", queue));
	redisFree(c);
	json_decref(args);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/queue/envelope/round-trip", test_envelope_round_trip);
	g_test_add_func("/queue/envelope/minimal-and-bad", test_envelope_minimal_and_bad);
	g_test_add_func("/queue/backoff/no-jitter", test_backoff_no_jitter);
	g_test_add_func("/queue/backoff/jitter", test_backoff_jitter_bounds_and_spread);
	g_test_add_func("/queue/keys", test_keys);
	g_test_add_func("/queue/enqueue", test_enqueue_redis);
	return g_test_run();
}
