/* Configuration: defaults, types, bounds, env files, all problems at once. */
#include "autoconfig.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <glib/gstdio.h>

#include "config.h"
#include "redis.h"
#include "ulid.h"

static void
clear_env(void)
{
	const char *names[] = { "DATABASE_URL", "SUPABASE_JWT_SECRET", "DB_POOL_SIZE", "SQL_ECHO",
	    "LOG_LEVEL", "REDIS_URL", "AWS_S3_BUCKET_NAME", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
	    "SUPABASE_URL", "SUPABASE_JWKS_URL", "SUPABASE_JWKS_FILE", "TASK_SOFT_TIME_LIMIT" };
	for (size_t i = 0; i < G_N_ELEMENTS(names); i++)
		g_unsetenv(names[i]);
}

static void
test_defaults(void)
{
	GPtrArray *problems = NULL;
	struct config *cfg;

	clear_env();
	g_setenv("DATABASE_URL", "postgresql://u:pw@127.0.0.1/db", TRUE);
	g_setenv("SUPABASE_JWT_SECRET", "s3cret", TRUE);
	cfg = config_load(NULL, CONFIG_FOR_API, &problems);
	g_assert_nonnull(cfg);
	g_assert_null(problems);
	g_assert_cmpint(cfg->db_pool_size, ==, 5);
	g_assert_cmpint(cfg->db_max_overflow, ==, 5);
	g_assert_cmpint(cfg->db_pool_timeout, ==, 30);
	g_assert_cmpint(cfg->db_pool_recycle, ==, 1800);
	g_assert_cmpint(cfg->max_request_body, ==, 1048576);
	g_assert_cmpstr(cfg->supabase_jwt_audience, ==, "authenticated");
	g_assert_true(cfg->rate_limit_enabled);
	g_assert_true(cfg->api_generation_enabled);
	g_assert_false(cfg->sql_echo);
	g_assert_null(cfg->aws_s3_bucket_name);
	config_free(cfg);
}

static void
test_all_problems_at_once(void)
{
	GPtrArray *problems = NULL;
	struct config *cfg;
	GString *all = g_string_new(NULL);

	clear_env();
	g_setenv("DB_POOL_SIZE", "zero", TRUE);
	g_setenv("SQL_ECHO", "maybe", TRUE);
	g_setenv("LOG_LEVEL", "loud", TRUE);
	g_setenv("REDIS_URL", "http://x", TRUE);
	cfg = config_load(NULL, CONFIG_FOR_API, &problems);
	g_assert_null(cfg);
	g_assert_nonnull(problems);
	for (guint i = 0; i < problems->len; i++)
		g_string_append_printf(all, "%s\n", (char *)problems->pdata[i]);
	/* DATABASE_URL missing, secret missing, and the four bad values. */
	g_assert_cmpuint(problems->len, ==, 6);
	g_assert_nonnull(strstr(all->str, "DATABASE_URL: required"));
	g_assert_nonnull(strstr(all->str, "SUPABASE_JWT_SECRET"));
	g_assert_nonnull(strstr(all->str, "DB_POOL_SIZE"));
	g_assert_nonnull(strstr(all->str, "SQL_ECHO"));
	g_assert_nonnull(strstr(all->str, "LOG_LEVEL"));
	g_assert_nonnull(strstr(all->str, "REDIS_URL"));
	g_string_free(all, TRUE);
	g_ptr_array_unref(problems);
	clear_env();
}

static void
test_bounds(void)
{
	GPtrArray *problems = NULL;
	struct config *cfg;

	clear_env();
	g_setenv("DATABASE_URL", "host=127.0.0.1 dbname=x", TRUE);
	g_setenv("DB_POOL_SIZE", "0", TRUE);
	cfg = config_load(NULL, CONFIG_FOR_WORKER, &problems);
	g_assert_null(cfg);
	g_assert_cmpuint(problems->len, ==, 1);
	g_assert_nonnull(strstr(problems->pdata[0], "from 1 to 1000"));
	g_ptr_array_unref(problems);
	g_setenv("DB_POOL_SIZE", "12", TRUE);
	cfg = config_load(NULL, CONFIG_FOR_WORKER, &problems);
	g_assert_nonnull(cfg);
	g_assert_cmpint(cfg->db_pool_size, ==, 12);
	config_free(cfg);
	clear_env();
}

static void
test_env_file(void)
{
	GPtrArray *problems = NULL;
	struct config *cfg;
	char *path = NULL;
	int fd = g_file_open_tmp("pp-env-XXXXXX", &path, NULL);
	const char *text =
	    "# comment\n"
	    "; also a comment\n"
	    "DATABASE_URL=\"postgresql://a:b@127.0.0.1/x\"\n"
	    "SUPABASE_JWT_SECRET='quoted \\n literally'\n"
	    "DB_POOL_SIZE=7\n"
	    "GEMINI_MODEL=gemini-\\\n"
	    "2.5-pro\n"
	    "SQL_ECHO=yes\n";

	g_assert_cmpint(fd, >=, 0);
	g_assert_cmpint(write(fd, text, strlen(text)), ==, (gssize)strlen(text));
	close(fd);
	clear_env();
	g_setenv("DB_POOL_SIZE", "9", TRUE);   /* the environment wins */
	cfg = config_load(path, CONFIG_FOR_API, &problems);
	g_assert_nonnull(cfg);
	g_assert_cmpstr(cfg->database_url, ==, "postgresql://a:b@127.0.0.1/x");
	g_assert_cmpstr(cfg->supabase_jwt_secret, ==, "quoted \\n literally");
	g_assert_cmpint(cfg->db_pool_size, ==, 9);
	g_assert_cmpstr(cfg->gemini_model, ==, "gemini-2.5-pro");
	g_assert_true(cfg->sql_echo);
	config_free(cfg);
	g_unlink(path);
	g_free(path);
	clear_env();
}

/* A worker's job children get the master's settings through the
 * environment alone (config_environ), the env file's included: loaded
 * from what it exports, the configuration dumps the same. */
static void
test_environ_round_trip(void)
{
	GPtrArray *problems = NULL;
	struct config *cfg, *again;
	char *path = NULL, *one = NULL, *two = NULL, **envp;
	size_t len = 0;
	int fd = g_file_open_tmp("pp-env-XXXXXX", &path, NULL);
	const char *text = "DATABASE_URL=postgresql://a:b@127.0.0.1/x\nDB_POOL_SIZE=7\n"
	    "SQL_ECHO=yes\nGEMINI_MODEL=from-the-file\n";
	FILE *out;

	g_assert_cmpint(write(fd, text, strlen(text)), ==, (gssize)strlen(text));
	close(fd);
	clear_env();
	g_setenv("TASK_SOFT_TIME_LIMIT", "77", TRUE);
	cfg = config_load(path, CONFIG_FOR_WORKER, &problems);
	g_assert_nonnull(cfg);
	envp = config_environ(cfg, g_get_environ());
	g_assert_cmpstr(g_environ_getenv(envp, "GEMINI_MODEL"), ==, "from-the-file");
	g_assert_cmpstr(g_environ_getenv(envp, "SQL_ECHO"), ==, "true");
	g_assert_cmpstr(g_environ_getenv(envp, "TASK_SOFT_TIME_LIMIT"), ==, "77");
	g_assert_null(g_environ_getenv(envp, "AWS_S3_BUCKET_NAME"));   /* unset stays unset */
	/* The child: no env file, only what was exported. */
	clear_env();
	g_unsetenv("GEMINI_MODEL");
	for (char **e = envp; *e != NULL; e++) {
		char **kv = g_strsplit(*e, "=", 2);

		g_setenv(kv[0], kv[1] != NULL ? kv[1] : "", TRUE);
		g_strfreev(kv);
	}
	again = config_load(NULL, CONFIG_FOR_WORKER, &problems);
	g_assert_nonnull(again);
	out = open_memstream(&one, &len);
	config_dump(cfg, out);
	fclose(out);
	out = open_memstream(&two, &len);
	config_dump(again, out);
	fclose(out);
	g_assert_cmpstr(one, ==, two);
	g_assert_cmpint(again->db_pool_size, ==, 7);
	free(one);
	free(two);
	g_strfreev(envp);
	config_free(cfg);
	config_free(again);
	g_unlink(path);
	g_free(path);
	g_unsetenv("GEMINI_MODEL");
	g_unsetenv("DB_POOL_SIZE");
	g_unsetenv("SQL_ECHO");
	clear_env();
}

/* config_dump's text for the configuration the environment gives WANT (it
 * must load); the caller frees it with free(). */
static char *
dump_text(unsigned want)
{
	GPtrArray *problems = NULL;
	struct config *cfg = config_load(NULL, want, &problems);
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);

	g_assert_nonnull(cfg);
	g_assert_nonnull(out);
	config_dump(cfg, out);
	fclose(out);
	config_free(cfg);
	return text;
}

static void
test_dump_masks_secrets(void)
{
	char *text;

	clear_env();
	g_setenv("DATABASE_URL", "postgresql://user:hunter2@db/x", TRUE);
	g_setenv("SUPABASE_JWT_SECRET", "topsecretvalue", TRUE);
	text = dump_text(CONFIG_FOR_API);
	g_assert_null(strstr(text, "hunter2"));
	g_assert_null(strstr(text, "topsecretvalue"));
	g_assert_nonnull(strstr(text, "DATABASE_URL=postgresql://user:****@db/x"));
	g_assert_nonnull(strstr(text, "SUPABASE_JWT_SECRET=****"));
	g_assert_nonnull(strstr(text, "DB_POOL_SIZE=5"));
	free(text);
	clear_env();
}

static void
test_s3_all_or_nothing(void)
{
	GPtrArray *problems = NULL;
	struct config *cfg;

	clear_env();
	g_setenv("AWS_S3_BUCKET_NAME", "bucket", TRUE);
	cfg = config_load(NULL, CONFIG_FOR_CTL, &problems);
	g_assert_null(cfg);
	g_assert_cmpuint(problems->len, ==, 1);
	g_assert_nonnull(strstr(problems->pdata[0], "AWS_ACCESS_KEY_ID"));
	g_ptr_array_unref(problems);
	clear_env();
}

/* REDIS_URL is read whole at start-up: a URL redis_connect() could not use
 * is refused here, and no message quotes its password. */
static void
test_redis_url_refused(void)
{
	static const char *const bad[] = {
		"http://:hunter2@127.0.0.1:6379/0",
		"rediss://:hunter2@127.0.0.1:6379/0",
		"redis://:hunter2@127.0.0.1:99999/0",
		"redis://:hunter2@127.0.0.1:abc/0",
		"redis://:hunter2@127.0.0.1:0/0",
		"redis://:hunter2@127.0.0.1:/0",
		"redis://:hunter2@127.0.0.1:6379/x",
		"redis://:hunter2@127.0.0.1:6379/-1",
		"redis://:hunter2@127.0.0.1:6379/99999999999",
		"redis://:hunter2@127.0.0.1:6379/70000",
		"redis://:hunter2@ho st:6379/0",
		"redis://:hunter2@[::1:6379/0",
		"redis://:hunter%zz2@127.0.0.1:6379/0",
		"redis://:hunter2/@127.0.0.1:6379#x",
		"unix://relative/redis.sock",
		"unix://:hunter2@/run/redis.sock",
		"unix:///run/redis.sock?db=abc",
		"unix:///run/redis.sock?password=hunter2",
		"hunter2",
		"redis:/:hunter2@x",
	};

	for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
		GPtrArray *problems = NULL;
		struct config *cfg;

		clear_env();
		g_setenv("REDIS_URL", bad[i], TRUE);
		cfg = config_load(NULL, CONFIG_FOR_CTL, &problems);
		if (cfg != NULL)
			g_error("REDIS_URL=%s was accepted", bad[i]);
		g_assert_cmpuint(problems->len, ==, 1);
		g_assert_true(g_str_has_prefix(problems->pdata[0], "REDIS_URL: "));
		if (strstr(problems->pdata[0], "hunter") != NULL)
			g_error("the message quotes the password: %s", (char *)problems->pdata[0]);
		g_ptr_array_unref(problems);
	}
	clear_env();
}

static void
test_redis_url_parse(void)
{
	struct redis_url u;
	char *cause = NULL;

	g_assert_cmpint(redis_url_parse("redis://:p%40ss@cache.example:6380/3", &u, &cause), ==, 0);
	g_assert_cmpstr(u.host, ==, "cache.example");
	g_assert_cmpint(u.port, ==, 6380);
	g_assert_cmpint(u.db, ==, 3);
	g_assert_null(u.username);
	g_assert_cmpstr(u.password, ==, "p@ss");
	redis_url_clear(&u);
	/* An unencoded '@' or '/' in the password: the last '@' ends it. */
	g_assert_cmpint(redis_url_parse("redis://app:a/b@c@10.0.0.1/2", &u, &cause), ==, 0);
	g_assert_cmpstr(u.username, ==, "app");
	g_assert_cmpstr(u.password, ==, "a/b@c");
	g_assert_cmpstr(u.host, ==, "10.0.0.1");
	g_assert_cmpint(u.port, ==, 6379);
	g_assert_cmpint(u.db, ==, 2);
	redis_url_clear(&u);
	g_assert_cmpint(redis_url_parse("redis://[::1]:7000", &u, &cause), ==, 0);
	g_assert_cmpstr(u.host, ==, "::1");
	g_assert_cmpint(u.port, ==, 7000);
	redis_url_clear(&u);
	g_assert_cmpint(redis_url_parse("redis://", &u, &cause), ==, 0);
	g_assert_cmpstr(u.host, ==, "127.0.0.1");
	g_assert_cmpint(u.db, ==, 0);
	redis_url_clear(&u);
	g_assert_cmpint(redis_url_parse("unix:///run/redis/redis.sock?db=5", &u, &cause), ==, 0);
	g_assert_cmpstr(u.path, ==, "/run/redis/redis.sock");
	g_assert_cmpint(u.db, ==, 5);
	redis_url_clear(&u);
	g_assert_null(cause);
}

static void
test_redis_url_masked_in_dump(void)
{
	char *text;

	clear_env();
	g_setenv("REDIS_URL", "redis://:hunter@2@127.0.0.1:6379/0", TRUE);
	text = dump_text(CONFIG_FOR_CTL);
	g_assert_null(strstr(text, "hunter"));
	g_assert_nonnull(strstr(text, "REDIS_URL=redis://:****@127.0.0.1:6379/0"));
	free(text);
	clear_env();
}

static void
test_ulid(void)
{
	char a[ULID_LEN + 1], b[ULID_LEN + 1];

	ulid_new(a);
	ulid_new(b);
	g_assert_cmpuint(strlen(a), ==, 26);
	g_assert_true(ulid_valid(a));
	g_assert_cmpstr(a, !=, b);
	/* Same millisecond or later: the time part sorts. */
	g_assert_cmpint(strncmp(a, b, 10), <=, 0);
	g_assert_false(ulid_valid("01ARZ3NDEKTSV4RRFFQ69G5FAI"));  /* I is not Crockford */
	g_assert_false(ulid_valid("short"));
	g_assert_true(ulid_valid("01ARZ3NDEKTSV4RRFFQ69G5FAV"));
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/config/defaults", test_defaults);
	g_test_add_func("/config/all-problems-at-once", test_all_problems_at_once);
	g_test_add_func("/config/bounds", test_bounds);
	g_test_add_func("/config/env-file", test_env_file);
	g_test_add_func("/config/environ-round-trip", test_environ_round_trip);
	g_test_add_func("/config/dump-masks-secrets", test_dump_masks_secrets);
	g_test_add_func("/config/s3-all-or-nothing", test_s3_all_or_nothing);
	g_test_add_func("/config/redis-url-refused", test_redis_url_refused);
	g_test_add_func("/config/redis-url-parse", test_redis_url_parse);
	g_test_add_func("/config/redis-url-masked-in-dump", test_redis_url_masked_in_dump);
	g_test_add_func("/ulid/format", test_ulid);
	return g_test_run();
}
