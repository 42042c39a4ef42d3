/* The PostgreSQL pool against a real server (PP_TEST_DATABASE_URL). */
#include "autoconfig.h"

#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "db.h"
#include "db-replica.h"
#include "log.h"

#define SKIP_WITHOUT_DB() do { \
	if (test_url() == NULL) { \
		g_test_skip("PP_TEST_DATABASE_URL is not set (script/test sets it)"); \
		return; \
	} \
} while (0)

static const char *
test_url(void)
{
	const char *url = g_getenv("PP_TEST_DATABASE_URL");

	return url != NULL && *url != '\0' ? url : NULL;
}

/* The test URL with an application_name, so a test can count its own
 * connections in pg_stat_activity. */
static char *
test_url_named(const char *app)
{
	const char *url = test_url();

	return g_strdup_printf("%s%c%s", url, strchr(url, '?') != NULL ? '&' : '?', app);
}

static PGconn *
test_admin(void)
{
	PGconn *pg = PQconnectdb(test_url());

	g_assert_cmpint(PQstatus(pg), ==, CONNECTION_OK);
	return pg;
}

/* Runs SQL returning one value; the caller frees it. */
static char *
test_value(struct db_conn *conn, const char *sql)
{
	PGresult *res = db_exec(conn, NULL, sql, 0, NULL);
	char *v;

	g_assert_true(db_ok(res));
	g_assert_cmpint(PQntuples(res), ==, 1);
	v = g_strdup(PQgetvalue(res, 0, 0));
	PQclear(res);
	return v;
}

static char *
admin_value(PGconn *pg, const char *sql, const char *param)
{
	const char *params[1] = { param };
	PGresult *res = PQexecParams(pg, sql, param != NULL ? 1 : 0, NULL, params, NULL, NULL, 0);
	char *v;

	g_assert_cmpint(PQresultStatus(res), ==, PGRES_TUPLES_OK);
	v = g_strdup(PQgetvalue(res, 0, 0));
	PQclear(res);
	return v;
}

static void
check_option(const char *conninfo, const char *key, const char *want)
{
	char *err = NULL;
	PQconninfoOption *opts = PQconninfoParse(conninfo, &err);
	const char *got = NULL;

	g_assert_nonnull(opts);
	for (PQconninfoOption *o = opts; o->keyword != NULL; o++) {
		if (strcmp(o->keyword, key) == 0)
			got = o->val;
	}
	g_assert_cmpstr(got, ==, want);
	PQconninfoFree(opts);
}

static void
test_conninfo_url(void)
{
	char *s = db_conninfo_with_defaults("postgresql://u:pw@db.example:5432/pp");

	g_assert_cmpstr(s, ==, "postgresql://u:pw@db.example:5432/pp?keepalives=1&keepalives_idle=30"
	    "&keepalives_interval=10&connect_timeout=10&options=-c%20DateStyle%3DISO%20-c%20TimeZone%3DUTC");
	check_option(s, "sslmode", NULL);
	check_option(s, "options", "-c DateStyle=ISO -c TimeZone=UTC");
	g_free(s);

	/* The Python service's bug: a second '?' after an existing query. */
	s = db_conninfo_with_defaults("postgresql://u@h/pp?sslmode=verify-full&application_name=x");
	g_assert_cmpstr(s, ==, "postgresql://u@h/pp?sslmode=verify-full&application_name=x&keepalives=1"
	    "&keepalives_idle=30&keepalives_interval=10&connect_timeout=10&options=-c%20DateStyle%3DISO%20-c%20TimeZone%3DUTC");
	g_assert_cmpint(strchr(s, '?') - s, ==, strrchr(s, '?') - s);
	check_option(s, "sslmode", "verify-full");
	check_option(s, "connect_timeout", "10");
	g_free(s);

	/* What the URL sets itself stays as it is and is not repeated. */
	s = db_conninfo_with_defaults("postgres://h/pp?connect_timeout=3&keepalives=0");
	g_assert_cmpstr(s, ==, "postgres://h/pp?connect_timeout=3&keepalives=0&keepalives_idle=30"
	    "&keepalives_interval=10&options=-c%20DateStyle%3DISO%20-c%20TimeZone%3DUTC");
	check_option(s, "connect_timeout", "3");
	check_option(s, "keepalives", "0");
	g_free(s);

	/* SQLAlchemy's driver suffix, as the Python service's .env may have it. */
	s = db_conninfo_with_defaults("postgresql+psycopg2://u@h/pp?sslmode=require");
	g_assert_cmpstr(s, ==, "postgresql://u@h/pp?sslmode=require&keepalives=1&keepalives_idle=30"
	    "&keepalives_interval=10&connect_timeout=10&options=-c%20DateStyle%3DISO%20-c%20TimeZone%3DUTC");
	g_free(s);

	s = db_conninfo_with_defaults("postgresql://h/pp?");
	g_assert_cmpstr(s, ==, "postgresql://h/pp?keepalives=1&keepalives_idle=30&keepalives_interval=10"
	    "&connect_timeout=10&options=-c%20DateStyle%3DISO%20-c%20TimeZone%3DUTC");
	g_free(s);

	/* Options of the operator's own win: ours are not added. */
	s = db_conninfo_with_defaults("postgresql://h/pp?options=-c%20statement_timeout%3D5s");
	check_option(s, "options", "-c statement_timeout=5s");
	g_free(s);
}

static void
test_conninfo_keywords(void)
{
	char *s = db_conninfo_with_defaults("host=h dbname=pp sslmode=require");

	g_assert_cmpstr(s, ==, "host=h dbname=pp sslmode=require keepalives=1 keepalives_idle=30 "
	    "keepalives_interval=10 connect_timeout=10 options='-c DateStyle=ISO -c TimeZone=UTC'");
	check_option(s, "sslmode", "require");
	check_option(s, "options", "-c DateStyle=ISO -c TimeZone=UTC");
	g_free(s);

	s = db_conninfo_with_defaults("host=h keepalives_idle=60 connect_timeout = 2");
	g_assert_cmpstr(s, ==, "host=h keepalives_idle=60 connect_timeout = 2 keepalives=1 keepalives_interval=10 options='-c DateStyle=ISO -c TimeZone=UTC'");
	check_option(s, "keepalives_idle", "60");
	check_option(s, "connect_timeout", "2");
	check_option(s, "sslmode", NULL);
	g_free(s);

	s = db_conninfo_with_defaults("");
	g_assert_cmpstr(s, ==, "keepalives=1 keepalives_idle=30 keepalives_interval=10 connect_timeout=10 "
	    "options='-c DateStyle=ISO -c TimeZone=UTC'");
	g_free(s);

	/* Unparseable: handed on untouched, so connecting reports the error. */
	s = db_conninfo_with_defaults("host='unterminated");
	g_assert_cmpstr(s, ==, "host='unterminated");
	g_free(s);
}

static void
test_pre_ping_replaces_terminated(void)
{
	struct db_pool *pool;
	struct db_conn *conn;
	struct db_pool_stats st;
	PGconn *admin;
	char *pid, *pid2, *cause = NULL, *gone;

	SKIP_WITHOUT_DB();
	pool = db_pool_new(test_url(), 1, 0, 5, 0, 0, FALSE);
	admin = test_admin();
	conn = db_acquire(pool, &cause);
	g_assert_null(cause);
	g_assert_nonnull(conn);
	pid = test_value(conn, "SELECT pg_backend_pid()");
	db_release(conn);

	g_free(admin_value(admin, "SELECT pg_terminate_backend($1::int)", pid));
	for (int i = 0; i < 200; i++) {
		gone = admin_value(admin, "SELECT count(*) FROM pg_stat_activity WHERE pid = $1::int", pid);
		if (strcmp(gone, "0") == 0) {
			g_free(gone);
			break;
		}
		g_free(gone);
		g_usleep(20000);
	}

	conn = db_acquire(pool, &cause);
	g_assert_null(cause);
	g_assert_nonnull(conn);
	g_assert_cmpint(PQstatus(conn->pg), ==, CONNECTION_OK);
	pid2 = test_value(conn, "SELECT pg_backend_pid()");
	g_assert_cmpstr(pid, !=, pid2);
	db_release(conn);
	db_pool_stats(pool, &st);
	g_assert_cmpuint(st.opened, ==, 2);
	g_assert_cmpuint(st.closed, ==, 1);
	g_assert_cmpint(st.idle, ==, 1);
	g_free(pid);
	g_free(pid2);
	PQfinish(admin);
	db_pool_free(pool);
}

static void
test_broken_connection_closed(void)
{
	struct db_pool *pool;
	struct db_conn *conn;
	struct db_pool_stats st;
	PGconn *admin;
	PGresult *res;
	char *pid, *cause = NULL;

	SKIP_WITHOUT_DB();
	/* No pre-ping: the failure shows up in the query itself. */
	pool = db_pool_new(test_url(), 1, 0, 5, 0, 3600, FALSE);
	admin = test_admin();
	conn = db_acquire(pool, &cause);
	g_assert_nonnull(conn);
	pid = test_value(conn, "SELECT pg_backend_pid()");
	g_free(admin_value(admin, "SELECT pg_terminate_backend($1::int)", pid));
	res = db_exec(conn, NULL, "SELECT 1", 0, NULL);
	g_assert_false(db_ok(res));
	PQclear(res);
	g_assert_true(conn->broken);
	db_release(conn);
	db_pool_stats(pool, &st);
	g_assert_cmpuint(st.closed, ==, 1);
	g_assert_cmpint(st.idle, ==, 0);

	conn = db_acquire(pool, &cause);
	g_assert_nonnull(conn);
	g_free(test_value(conn, "SELECT 1"));
	db_release(conn);
	g_free(pid);
	PQfinish(admin);
	db_pool_free(pool);
}

static void
test_recycle(void)
{
	struct db_pool *pool;
	struct db_conn *conn;
	char *pid, *pid2, *pid3, *cause = NULL;

	SKIP_WITHOUT_DB();
	pool = db_pool_new(test_url(), 1, 0, 5, 1, 3600, FALSE);
	conn = db_acquire(pool, &cause);
	pid = test_value(conn, "SELECT pg_backend_pid()");
	db_release(conn);
	/* Still young: the same backend. */
	conn = db_acquire(pool, &cause);
	pid2 = test_value(conn, "SELECT pg_backend_pid()");
	db_release(conn);
	g_usleep(1200 * 1000);
	conn = db_acquire(pool, &cause);
	g_assert_nonnull(conn);
	pid3 = test_value(conn, "SELECT pg_backend_pid()");
	db_release(conn);
	g_assert_cmpstr(pid, ==, pid2);
	g_assert_cmpstr(pid, !=, pid3);
	g_free(pid);
	g_free(pid2);
	g_free(pid3);
	db_pool_free(pool);
}

static void
test_rollback_on_return(void)
{
	struct db_pool *pool;
	struct db_conn *conn;
	PGconn *admin;
	PGresult *res;
	char *count, *cause = NULL;

	SKIP_WITHOUT_DB();
	admin = test_admin();
	PQclear(PQexec(admin, "CREATE UNLOGGED TABLE IF NOT EXISTS test_db_rollback (n int)"));
	PQclear(PQexec(admin, "TRUNCATE test_db_rollback"));
	pool = db_pool_new(test_url(), 1, 0, 5, 0, 3600, FALSE);
	conn = db_acquire(pool, &cause);
	res = db_exec(conn, NULL, "BEGIN", 0, NULL);
	g_assert_true(db_ok(res));
	PQclear(res);
	res = db_exec(conn, NULL, "INSERT INTO test_db_rollback VALUES (1)", 0, NULL);
	g_assert_true(db_ok(res));
	PQclear(res);
	g_assert_cmpint(PQtransactionStatus(conn->pg), ==, PQTRANS_INTRANS);
	db_release(conn);

	conn = db_acquire(pool, &cause);
	g_assert_cmpint(PQtransactionStatus(conn->pg), ==, PQTRANS_IDLE);
	count = test_value(conn, "SELECT count(*) FROM test_db_rollback");
	g_assert_cmpstr(count, ==, "0");
	g_free(count);

	/* A failed transaction (INERROR) is rolled back as well. */
	PQclear(db_exec(conn, NULL, "BEGIN", 0, NULL));
	res = db_exec(conn, NULL, "SELECT 1/0", 0, NULL);
	g_assert_cmpstr(db_sqlstate(res), ==, "22012");
	PQclear(res);
	g_assert_false(conn->broken);
	db_release(conn);
	conn = db_acquire(pool, &cause);
	g_assert_cmpint(PQtransactionStatus(conn->pg), ==, PQTRANS_IDLE);
	db_release(conn);

	PQclear(PQexec(admin, "DROP TABLE test_db_rollback"));
	PQfinish(admin);
	db_pool_free(pool);
}

static void
test_timeout(void)
{
	struct db_pool *pool;
	struct db_conn *a, *b;
	struct db_pool_stats st;
	char *cause = NULL;
	gint64 start, took;

	SKIP_WITHOUT_DB();
	pool = db_pool_new(test_url(), 1, 0, 1, 0, 3600, FALSE);
	a = db_acquire(pool, &cause);
	g_assert_nonnull(a);
	start = g_get_monotonic_time();
	b = db_acquire(pool, &cause);
	took = g_get_monotonic_time() - start;
	g_assert_null(b);
	g_assert_cmpstr(cause, ==, "Database unavailable: timed out waiting for a connection");
	g_assert_cmpint(took, >=, 900 * 1000);
	g_assert_cmpint(took, <, 5 * G_USEC_PER_SEC);
	g_free(cause);
	db_pool_stats(pool, &st);
	g_assert_cmpuint(st.timeouts, ==, 1);
	g_assert_cmpint(st.in_use, ==, 1);
	g_assert_cmpint(st.waiting, ==, 0);
	db_release(a);
	db_pool_free(pool);
}

static void
test_connect_failure(void)
{
	struct db_pool *pool;
	struct db_pool_stats st;
	char *cause = NULL;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof sa;
	char *conninfo;

	/* A port that was just free: connection refused. */
	g_assert_cmpint(bind(fd, (struct sockaddr *)&sa, sizeof sa), ==, 0);
	g_assert_cmpint(getsockname(fd, (struct sockaddr *)&sa, &len), ==, 0);
	close(fd);
	conninfo = g_strdup_printf("host=127.0.0.1 port=%d dbname=x", ntohs(sa.sin_port));
	pool = db_pool_new(conninfo, 1, 0, 1, 0, 0, FALSE);
	g_assert_null(db_acquire(pool, &cause));
	g_assert_nonnull(cause);
	g_assert_true(g_str_has_prefix(cause, "Database unavailable: "));
	g_free(cause);
	cause = NULL;
	db_pool_stats(pool, &st);
	g_assert_cmpint(st.in_use, ==, 0);
	g_assert_cmpint(st.overflow_open, ==, 0);
	g_assert_cmpint(db_pool_check(pool, 500, &cause), ==, -1);
	g_assert_nonnull(cause);
	g_free(cause);
	db_pool_free(pool);
	g_free(conninfo);
}

static void
test_check_bounded(void)
{
	struct db_pool *pool;
	char *cause = NULL, *conninfo;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof sa;
	gint64 start, took;

	/* A server that accepts TCP but never speaks, like a stopped postmaster. */
	g_assert_cmpint(bind(fd, (struct sockaddr *)&sa, sizeof sa), ==, 0);
	g_assert_cmpint(listen(fd, 8), ==, 0);
	g_assert_cmpint(getsockname(fd, (struct sockaddr *)&sa, &len), ==, 0);
	conninfo = g_strdup_printf("host=127.0.0.1 port=%d dbname=x sslmode=disable", ntohs(sa.sin_port));
	pool = db_pool_new(conninfo, 1, 0, 1, 0, 0, FALSE);
	start = g_get_monotonic_time();
	g_assert_cmpint(db_pool_check(pool, 300, &cause), ==, -1);
	took = g_get_monotonic_time() - start;
	g_assert_nonnull(cause);
	g_assert_cmpint(took, <, 3 * G_USEC_PER_SEC);
	g_free(cause);
	db_pool_free(pool);
	g_free(conninfo);
	close(fd);

	if (test_url() == NULL)
		return;
	cause = NULL;
	pool = db_pool_new(test_url(), 1, 0, 1, 0, 0, FALSE);
	g_assert_cmpint(db_pool_check(pool, 2000, &cause), ==, 0);   /* fresh connection */
	g_assert_null(cause);
	db_release(db_acquire(pool, &cause));
	g_assert_cmpint(db_pool_check(pool, 2000, &cause), ==, 0);   /* the idle one */
	g_assert_null(cause);
	db_pool_free(pool);
}

/* A backend that stops answering (SIGSTOP) mid-session: the check gives up
 * on that connection within its bound, closes it, and asks a fresh one. */
static void
test_check_stopped_backend(void)
{
	struct db_pool *pool;
	struct db_conn *conn;
	struct db_pool_stats st;
	char *pid, *cause = NULL;
	gint64 start, took;
	int rc;

	SKIP_WITHOUT_DB();
	pool = db_pool_new(test_url(), 1, 0, 1, 0, 3600, FALSE);
	conn = db_acquire(pool, &cause);
	g_assert_nonnull(conn);
	pid = test_value(conn, "SELECT pg_backend_pid()");
	db_release(conn);
	if (kill(atoi(pid), SIGSTOP) != 0) {
		g_test_skip("cannot signal the PostgreSQL backend (tests not run as root or postgres)");
		g_free(pid);
		db_pool_free(pool);
		return;
	}
	start = g_get_monotonic_time();
	rc = db_pool_check(pool, 700, &cause);
	took = g_get_monotonic_time() - start;
	kill(atoi(pid), SIGCONT);
	/* The idle connection timed out; whether a fresh one also answered in
	 * the time left depends on the machine's load, so both are fine. */
	if (rc != 0) {
		g_assert_nonnull(cause);
		g_clear_pointer(&cause, g_free);
	}
	g_assert_cmpint(took, <, 3 * G_USEC_PER_SEC);
	db_pool_stats(pool, &st);
	g_assert_cmpuint(st.closed, ==, 1);
	g_assert_cmpint(st.idle, ==, 0);
	g_assert_cmpint(st.in_use, ==, 0);
	g_free(pid);
	db_pool_free(pool);
}

/* A child of fork() opens its own connections and leaves the parent's alone. */
static void
test_fork(void)
{
	struct db_pool *pool;
	struct db_conn *conn;
	char *pid, *pid2, *cause = NULL;
	pid_t child;
	int status;

	SKIP_WITHOUT_DB();
	pool = db_pool_new(test_url(), 1, 0, 5, 0, 3600, FALSE);
	conn = db_acquire(pool, &cause);
	pid = test_value(conn, "SELECT pg_backend_pid()");
	db_release(conn);
	child = fork();
	g_assert_cmpint(child, >=, 0);
	if (child == 0) {
		struct db_conn *c = db_acquire(pool, &cause);
		PGresult *res;
		int same;

		if (c == NULL)
			_exit(2);
		res = db_exec(c, NULL, "SELECT pg_backend_pid()", 0, NULL);
		same = db_ok(res) ? strcmp(PQgetvalue(res, 0, 0), pid) == 0 : 1;
		PQclear(res);
		db_release(c);
		_exit(same ? 1 : 0);
	}
	g_assert_cmpint(waitpid(child, &status, 0), ==, child);
	g_assert_true(WIFEXITED(status));
	g_assert_cmpint(WEXITSTATUS(status), ==, 0);
	/* The parent's session survived the child. */
	conn = db_acquire(pool, &cause);
	g_assert_nonnull(conn);
	pid2 = test_value(conn, "SELECT pg_backend_pid()");
	g_assert_cmpstr(pid, ==, pid2);
	db_release(conn);
	g_free(pid);
	g_free(pid2);
	db_pool_free(pool);
}

static void
test_overflow_closed(void)
{
	struct db_pool *pool;
	struct db_conn *conns[4];
	struct db_pool_stats st;
	char *cause = NULL;

	SKIP_WITHOUT_DB();
	pool = db_pool_new(test_url(), 2, 2, 1, 0, 3600, FALSE);
	for (int i = 0; i < 4; i++) {
		conns[i] = db_acquire(pool, &cause);
		g_assert_nonnull(conns[i]);
	}
	g_assert_false(conns[1]->overflow);
	g_assert_true(conns[3]->overflow);
	db_pool_stats(pool, &st);
	g_assert_cmpint(st.overflow_open, ==, 2);
	g_assert_cmpint(st.in_use, ==, 4);
	g_assert_null(db_acquire(pool, &cause));
	g_clear_pointer(&cause, g_free);
	for (int i = 0; i < 4; i++)
		db_release(conns[i]);
	db_pool_stats(pool, &st);
	g_assert_cmpint(st.idle, ==, 2);
	g_assert_cmpint(st.overflow_open, ==, 0);
	g_assert_cmpint(st.in_use, ==, 0);
	g_assert_cmpuint(st.opened, ==, 4);
	g_assert_cmpuint(st.closed, ==, 2);
	db_pool_free(pool);
}

static void
test_prepared_reused(void)
{
	struct db_pool *pool;
	struct db_conn *conn;
	PGresult *res;
	const char *params[1] = { "41" };
	char *n, *cause = NULL;

	SKIP_WITHOUT_DB();
	pool = db_pool_new(test_url(), 1, 0, 5, 0, 3600, FALSE);
	conn = db_acquire(pool, &cause);
	for (int i = 0; i < 3; i++) {
		res = db_exec(conn, "test_add", "SELECT $1::int + 1", 1, params);
		g_assert_true(db_ok(res));
		g_assert_cmpstr(PQgetvalue(res, 0, 0), ==, "42");
		PQclear(res);
	}
	n = test_value(conn, "SELECT count(*) FROM pg_prepared_statements WHERE name = 'test_add'");
	g_assert_cmpstr(n, ==, "1");
	g_free(n);
	g_assert_true(g_hash_table_contains(conn->prepared, "test_add"));
	db_release(conn);

	/* Same connection from the pool: still prepared, still right. */
	conn = db_acquire(pool, &cause);
	g_assert_true(g_hash_table_contains(conn->prepared, "test_add"));
	/* Statements dropped behind our back are prepared again. */
	PQclear(db_exec(conn, NULL, "DEALLOCATE ALL", 0, NULL));
	res = db_exec(conn, "test_add", "SELECT $1::int + 1", 1, params);
	g_assert_true(db_ok(res));
	g_assert_cmpstr(PQgetvalue(res, 0, 0), ==, "42");
	PQclear(res);
	/* A statement that does not prepare is an error, not remembered. */
	res = db_exec(conn, "test_bad", "SELEC 1", 0, NULL);
	g_assert_false(db_ok(res));
	g_assert_cmpstr(db_sqlstate(res), ==, "42601");
	PQclear(res);
	g_assert_false(g_hash_table_contains(conn->prepared, "test_bad"));
	g_assert_false(conn->broken);
	db_release(conn);
	db_pool_free(pool);
}

/* A migration adds a column to a table a prepared "SELECT t.*" reads, while
 * the pool runs: the next execution prepares it again and sees the column,
 * rather than failing with "cached plan must not change result type". The
 * session's DateStyle and TimeZone are ours whatever the server's. */
static void
test_prepared_result_type_changed(void)
{
	struct db_pool *pool;
	struct db_conn *conn;
	PGconn *admin;
	PGresult *res;
	char *table, *sql, *v, *cause = NULL;

	SKIP_WITHOUT_DB();
	admin = test_admin();
	table = g_strdup_printf("pp_test_star_%d", (int)getpid());
	sql = g_strdup_printf("CREATE TABLE %s (a int); INSERT INTO %s VALUES (1)",
	    table, table);
	PQclear(PQexec(admin, sql));
	g_free(sql);
	pool = db_pool_new(test_url(), 1, 0, 5, 0, 3600, FALSE);
	conn = db_acquire(pool, &cause);
	g_assert_nonnull(conn);
	sql = g_strdup_printf("SELECT t.* FROM %s t", table);
	res = db_exec(conn, "test_star", sql, 0, NULL);
	g_assert_true(db_ok(res));
	g_assert_cmpint(PQnfields(res), ==, 1);
	PQclear(res);

	v = g_strdup_printf("ALTER TABLE %s ADD COLUMN b text DEFAULT 'x'", table);
	res = PQexec(admin, v);
	g_assert_cmpint(PQresultStatus(res), ==, PGRES_COMMAND_OK);
	PQclear(res);
	g_free(v);
	res = db_exec(conn, "test_star", sql, 0, NULL);
	g_assert_true(db_ok(res));
	g_assert_cmpint(PQnfields(res), ==, 2);
	g_assert_cmpstr(PQgetvalue(res, 0, 1), ==, "x");
	PQclear(res);
	g_assert_false(conn->broken);

	v = test_value(conn, "SELECT current_setting('TimeZone') || ' ' || current_setting('DateStyle')");
	g_assert_cmpstr(v, ==, "UTC ISO, MDY");
	g_free(v);
	db_release(conn);
	db_pool_free(pool);
	v = g_strdup_printf("DROP TABLE %s", table);
	PQclear(PQexec(admin, v));
	g_free(v);
	g_free(sql);
	g_free(table);
	PQfinish(admin);
}

struct hammer {
	struct db_pool *pool;
	gint in_use, max_in_use, failures;
};

static gpointer
hammer_thread(gpointer data)
{
	struct hammer *h = data;

	for (int i = 0; i < 40; i++) {
		char *cause = NULL;
		struct db_conn *conn = db_acquire(h->pool, &cause);
		PGresult *res;
		gint now, max;

		if (conn == NULL) {
			g_atomic_int_inc(&h->failures);
			g_free(cause);
			continue;
		}
		now = g_atomic_int_add(&h->in_use, 1) + 1;
		do {
			max = g_atomic_int_get(&h->max_in_use);
		} while (now > max && !g_atomic_int_compare_and_exchange(&h->max_in_use, max, now));
		res = db_exec(conn, i % 2 ? "hammer" : NULL, "SELECT pg_backend_pid()", 0, NULL);
		if (!db_ok(res))
			g_atomic_int_inc(&h->failures);
		PQclear(res);
		g_atomic_int_add(&h->in_use, -1);
		db_release(conn);
	}
	return NULL;
}

static void
test_threads(void)
{
	struct hammer h = { 0 };
	struct db_pool_stats st;
	GThread *threads[10];
	PGconn *admin;
	char *url, *n;

	SKIP_WITHOUT_DB();
	url = test_url_named("application_name=pp_test_threads");
	h.pool = db_pool_new(url, 3, 2, 20, 0, 3600, FALSE);
	for (size_t i = 0; i < G_N_ELEMENTS(threads); i++)
		threads[i] = g_thread_new("hammer", hammer_thread, &h);
	for (size_t i = 0; i < G_N_ELEMENTS(threads); i++)
		g_thread_join(threads[i]);
	g_assert_cmpint(h.failures, ==, 0);
	g_assert_cmpint(h.max_in_use, <=, 5);
	g_assert_cmpint(h.max_in_use, >=, 1);
	db_pool_stats(h.pool, &st);
	g_assert_cmpint(st.in_use, ==, 0);
	g_assert_cmpint(st.waiting, ==, 0);
	g_assert_cmpint(st.idle, <=, 3);
	g_assert_cmpint(st.overflow_open, ==, 0);
	g_assert_cmpuint(st.opened - st.closed, ==, (guint64)st.idle);
	g_assert_cmpuint(st.opened, <=, 5 + st.closed);

	/* The server agrees: no connection leaked. */
	admin = test_admin();
	n = admin_value(admin, "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pp_test_threads'", NULL);
	g_assert_cmpint(atoi(n), ==, st.idle);
	g_free(n);
	db_pool_free(h.pool);
	/* Backends leave pg_stat_activity a moment after the client closes. */
	for (int i = 0; i < 250; i++) {
		n = admin_value(admin, "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pp_test_threads'", NULL);
		if (strcmp(n, "0") == 0)
			break;
		g_clear_pointer(&n, g_free);
		g_usleep(20000);
	}
	g_assert_cmpstr(n, ==, "0");
	g_free(n);
	PQfinish(admin);
	g_free(url);
}

/* DATABASE_REPLICA_URL: spaces or ",postgresql://" separate, a libpq
 * host list's commas do not. */
static void
test_replica_split(void)
{
	char **v = db_replicas_split(" postgresql://a/db\tpostgresql://b,c:5433/db,postgres://d/db\n");

	g_assert_cmpuint(g_strv_length(v), ==, 3);
	g_assert_cmpstr(v[0], ==, "postgresql://a/db");
	g_assert_cmpstr(v[1], ==, "postgresql://b,c:5433/db");
	g_assert_cmpstr(v[2], ==, "postgres://d/db");
	g_strfreev(v);
	v = db_replicas_split(NULL);
	g_assert_cmpuint(g_strv_length(v), ==, 0);
	g_strfreev(v);
	v = db_replicas_split("host=r1 dbname=x");   /* a conninfo is not split on its spaces... */
	g_assert_cmpuint(g_strv_length(v), ==, 2);    /* ...so keyword form is not supported: URLs */
	g_strfreev(v);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	log_init("test-db");
	log_set_level(LOG_WARNING);
	g_test_add_func("/db/conninfo/url", test_conninfo_url);
	g_test_add_func("/db/conninfo/keywords", test_conninfo_keywords);
	g_test_add_func("/db/replica/split", test_replica_split);
	g_test_add_func("/db/pool/pre-ping", test_pre_ping_replaces_terminated);
	g_test_add_func("/db/pool/broken", test_broken_connection_closed);
	g_test_add_func("/db/pool/recycle", test_recycle);
	g_test_add_func("/db/pool/rollback", test_rollback_on_return);
	g_test_add_func("/db/pool/timeout", test_timeout);
	g_test_add_func("/db/pool/connect-failure", test_connect_failure);
	g_test_add_func("/db/pool/check-bounded", test_check_bounded);
	g_test_add_func("/db/pool/check-stopped-backend", test_check_stopped_backend);
	g_test_add_func("/db/pool/fork", test_fork);
	g_test_add_func("/db/pool/overflow", test_overflow_closed);
	g_test_add_func("/db/pool/prepared", test_prepared_reused);
	g_test_add_func("/db/pool/prepared-result-type", test_prepared_result_type_changed);
	g_test_add_func("/db/pool/threads", test_threads);
	return g_test_run();
}
