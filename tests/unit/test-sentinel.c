/* src/redis-sentinel.c and the failover side of src/redis.c: REDIS_SENTINELS
 * parsing, the sentinels' answer, errors that mean "not the master". The
 * sentinels themselves are tested for real in
 * tests/integration/test_redis_sentinel.py. */
#include "autoconfig.h"

#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <glib.h>

#include "config.h"
#include "redis-sentinel.h"
#include "redis.h"

static void
test_parse_list(void)
{
	char *cause = NULL;
	GArray *a = redis_sentinel_parse(" 10.0.0.1:26380, sentinel-b ,[::1]:26381,", &cause);
	struct redis_sentinel_addr *s;

	g_assert_null(cause);
	g_assert_nonnull(a);
	g_assert_cmpuint(a->len, ==, 3);
	s = &g_array_index(a, struct redis_sentinel_addr, 0);
	g_assert_cmpstr(s->host, ==, "10.0.0.1");
	g_assert_cmpint(s->port, ==, 26380);
	s = &g_array_index(a, struct redis_sentinel_addr, 1);
	g_assert_cmpstr(s->host, ==, "sentinel-b");
	g_assert_cmpint(s->port, ==, REDIS_SENTINEL_PORT);
	s = &g_array_index(a, struct redis_sentinel_addr, 2);
	g_assert_cmpstr(s->host, ==, "::1");
	g_assert_cmpint(s->port, ==, 26381);
	g_array_unref(a);
}

static void
test_parse_refuses(void)
{
	static const struct { const char *list, *why; } bad[] = {
		{ "127.0.0.1:notaport", "\"127.0.0.1:notaport\" is not host:port" },
		{ "127.0.0.1:0", "port \"0\"" },
		{ "127.0.0.1:65536", "port \"65536\"" },
		{ "redis://127.0.0.1:26379", "is not host:port" },
		{ "user:pw@127.0.0.1:26379", "is not host:port" },
		{ "a b:1", "is not a host name" },
		{ "[zz]:1", "IPv6" },
		{ "", "no sentinel address" },
		{ " , ,", "no sentinel address" },
	};

	for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
		char *cause = NULL;

		g_assert_null(redis_sentinel_parse(bad[i].list, &cause));
		g_assert_nonnull(cause);
		if (strstr(cause, bad[i].why) == NULL)
			g_error("\"%s\": \"%s\" lacks \"%s\"", bad[i].list, cause, bad[i].why);
		g_clear_pointer(&cause, g_free);
		g_assert_cmpint(redis_sentinel_check(bad[i].list, &cause), ==, -1);
		g_free(cause);
	}
}

static void
test_master_name(void)
{
	char *cause = NULL;

	g_assert_cmpint(redis_sentinel_check_name("mymaster", &cause), ==, 0);
	g_assert_cmpint(redis_sentinel_check_name("two words", &cause), ==, -1);
	g_free(cause);
	cause = NULL;
	g_assert_cmpint(redis_sentinel_check_name("", &cause), ==, -1);
	g_free(cause);
}

static redisReply *
reply_new(int type, const char *str)
{
	redisReply *r = g_new0(redisReply, 1);

	r->type = type;
	if (str != NULL) {
		r->str = g_strdup(str);
		r->len = strlen(str);
	}
	return r;
}

static void
reply_free(redisReply *r)
{
	for (size_t i = 0; i < r->elements; i++)
		reply_free(r->element[i]);
	g_free(r->element);
	g_free(r->str);
	g_free(r);
}

static redisReply *
addr_reply(const char *host, const char *port)
{
	redisReply *r = reply_new(REDIS_REPLY_ARRAY, NULL);

	r->elements = 2;
	r->element = g_new0(redisReply *, 2);
	r->element[0] = reply_new(REDIS_REPLY_STRING, host);
	r->element[1] = reply_new(REDIS_REPLY_STRING, port);
	return r;
}

static void
test_reply_addr(void)
{
	redisReply *r = addr_reply("10.1.2.3", "6380");
	char *host = NULL, *cause = NULL;
	int port = 0;

	g_assert_cmpint(redis_sentinel_reply_addr(r, "m", &host, &port, &cause), ==, 0);
	g_assert_cmpstr(host, ==, "10.1.2.3");
	g_assert_cmpint(port, ==, 6380);
	g_free(host);
	reply_free(r);

	r = addr_reply("10.1.2.3", "0");
	g_assert_cmpint(redis_sentinel_reply_addr(r, "m", &host, &port, &cause), ==, -1);
	g_assert_cmpstr(cause, ==, "unexpected answer to SENTINEL get-master-addr-by-name");
	g_clear_pointer(&cause, g_free);
	reply_free(r);

	r = reply_new(REDIS_REPLY_NIL, NULL);
	g_assert_cmpint(redis_sentinel_reply_addr(r, "ppmaster", &host, &port, &cause), ==, -1);
	g_assert_cmpstr(cause, ==, "does not know a master named \"ppmaster\"");
	g_clear_pointer(&cause, g_free);
	reply_free(r);

	r = reply_new(REDIS_REPLY_ERROR, "NOAUTH Authentication required.");
	g_assert_cmpint(redis_sentinel_reply_addr(r, "m", &host, &port, &cause), ==, -1);
	g_assert_cmpstr(cause, ==, "NOAUTH Authentication required.");
	g_free(cause);
	reply_free(r);
}

/* READONLY and MASTERDOWN mark the context broken, so every caller that
 * drops a lost connection drops this one too; other errors do not. */
static void
test_failover_errors_break_the_context(void)
{
	int sv[2];
	redisContext *c;
	redisReply *r;
	char *err;

	g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), ==, 0);
	c = redisConnectFd(sv[0]);
	g_assert_nonnull(c);
	g_assert_cmpint(c->err, ==, 0);

	r = reply_new(REDIS_REPLY_ERROR, "ERR unknown command");
	err = redis_reply_error(c, r);
	g_assert_cmpstr(err, ==, "ERR unknown command");
	g_assert_cmpint(c->err, ==, 0);
	g_free(err);
	reply_free(r);

	r = reply_new(REDIS_REPLY_ERROR, "READONLY You can't write against a read only replica.");
	err = redis_reply_error(c, r);
	g_assert_true(g_str_has_prefix(err, "READONLY"));
	g_assert_cmpint(c->err, !=, 0);
	g_assert_true(g_str_has_prefix(c->errstr, "READONLY"));
	g_free(err);
	reply_free(r);
	/* hiredis refuses to use it any more. */
	g_assert_null(redisCommand(c, "PING"));

	g_assert_true(redis_error_is_failover("MASTERDOWN Link with MASTER is down"));
	g_assert_false(redis_error_is_failover("LOADING Redis is loading"));
	redisFree(c);
	close(sv[1]);
}

static void
test_share(void)
{
	g_assert_cmpint(redis_sentinel_share_ms(1000, 3), ==, 333);
	g_assert_cmpint(redis_sentinel_share_ms(150, 3), ==, 100);
	g_assert_cmpint(redis_sentinel_share_ms(500, 0), ==, 500);
}

/* No sentinel listening: a cause that says so, within the budget. */
static void
test_none_answer(void)
{
	struct config cfg = { 0 };
	int s = socket(AF_INET, SOCK_STREAM, 0), port;
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof a;
	char *host = NULL, *cause = NULL;
	gint64 t;

	/* A port that was free a moment ago: connections are refused. */
	g_assert_cmpint(bind(s, (struct sockaddr *)&a, sizeof a), ==, 0);
	g_assert_cmpint(getsockname(s, (struct sockaddr *)&a, &len), ==, 0);
	port = ntohs(a.sin_port);
	close(s);
	cfg.redis_sentinels = g_strdup_printf("127.0.0.1:%d,127.0.0.1:%d", port, port);
	cfg.redis_sentinel_master = (char *)"mymaster";
	cfg.redis_url = (char *)"redis://127.0.0.1:1/0";
	t = g_get_monotonic_time();
	g_assert_cmpint(redis_sentinel_master(&cfg, 500, &host, &port, &cause), ==, -1);
	g_assert_cmpint(g_get_monotonic_time() - t, <, 600000);
	g_assert_nonnull(strstr(cause, "no sentinel named the master \"mymaster\" (2 of 2 asked"));
	g_assert_nonnull(strstr(cause, "Connection refused"));
	g_clear_pointer(&cause, g_free);
	g_assert_null(redis_open(&cfg, 500, &cause));
	g_assert_nonnull(strstr(cause, "no sentinel named the master"));
	g_free(cause);
	g_free(cfg.redis_sentinels);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/sentinel/parse-list", test_parse_list);
	g_test_add_func("/sentinel/parse-refuses", test_parse_refuses);
	g_test_add_func("/sentinel/master-name", test_master_name);
	g_test_add_func("/sentinel/reply-addr", test_reply_addr);
	g_test_add_func("/sentinel/failover-errors-break-the-context", test_failover_errors_break_the_context);
	g_test_add_func("/sentinel/share", test_share);
	g_test_add_func("/sentinel/none-answer", test_none_answer);
	return g_test_run();
}
