/* Schema migrations (see migrate.h). Files are read and checked before the
 * lock is taken; everything that writes happens under the advisory lock, so
 * two hosts running `podcastpro-ctl migrate` at once apply each file once. */
#include "autoconfig.h"

#include <stdlib.h>
#include <string.h>

#include "migrate.h"

#include <glib.h>

/* pg_advisory_lock key: any fixed number no other code of ours uses.
 * (0x7070006d696772: "pp" and "migr" in ASCII.) */
#define MIGRATE_LOCK_KEY "31648344529528690"

struct migration {
	int version;
	char *file;        /* base name: 0001_initial.sql */
	char *path;
	char *sql;
	char *checksum;    /* hex SHA-256 of the file */
};

struct applied {
	char *file;
	char *checksum;
	char *applied_at;
};

static void
migration_free(gpointer p)
{
	struct migration *m = p;

	g_free(m->file);
	g_free(m->path);
	g_free(m->sql);
	g_free(m->checksum);
	g_free(m);
}

static void
applied_free(gpointer p)
{
	struct applied *a = p;

	g_free(a->file);
	g_free(a->checksum);
	g_free(a->applied_at);
	g_free(a);
}

static gint
migration_compare(gconstpointer a, gconstpointer b)
{
	const struct migration *x = *(struct migration *const *)a, *y = *(struct migration *const *)b;

	return (x->version > y->version) - (x->version < y->version);
}

const char *
migrate_default_dir(void)
{
	const char *dir = g_getenv("MIGRATIONS_DIR");

	return dir != NULL && *dir != '\0' ? dir : PKGDATADIR "/migrations";
}

/* "0001_initial.sql" -> 1; -1 for any other name (editor backups, READMEs). */
static int
migrate_parse_name(const char *name)
{
	size_t digits = strspn(name, "0123456789");

	if (digits < 1 || digits > 9 || name[digits] != '_' || !g_str_has_suffix(name, ".sql") ||
	    strlen(name) <= digits + 1 + 4)
		return -1;
	return atoi(name);
}

/* The migration files of DIR in version order, read and checksummed. */
static GPtrArray *
migrate_read_dir(const char *dir, char **cause)
{
	GPtrArray *list = g_ptr_array_new_with_free_func(migration_free);
	GError *error = NULL;
	GDir *d = g_dir_open(dir, 0, &error);
	const char *name;

	if (d == NULL) {
		*cause = g_strdup_printf("migrations directory: %s", error->message);
		goto fail;
	}
	while ((name = g_dir_read_name(d)) != NULL) {
		struct migration *m;
		int version = migrate_parse_name(name);
		gsize len;

		if (version < 0)
			continue;
		m = g_new0(struct migration, 1);
		m->version = version;
		m->file = g_strdup(name);
		m->path = g_build_filename(dir, name, NULL);
		g_ptr_array_add(list, m);
		if (!g_file_get_contents(m->path, &m->sql, &len, &error)) {
			*cause = g_strdup_printf("%s: %s", m->path, error->message);
			goto fail;
		}
		m->checksum = g_compute_checksum_for_data(G_CHECKSUM_SHA256, (const guchar *)m->sql, len);
	}
	g_ptr_array_sort(list, migration_compare);
	for (guint i = 1; i < list->len; i++) {
		struct migration *a = list->pdata[i - 1], *b = list->pdata[i];

		if (a->version == b->version) {
			*cause = g_strdup_printf("%s and %s have the same number", a->file, b->file);
			goto fail;
		}
	}
	g_dir_close(d);
	return list;
fail:
	if (d != NULL)
		g_dir_close(d);
	g_clear_error(&error);
	g_ptr_array_unref(list);
	return NULL;
}

static int
migrate_exec(PGconn *pg, const char *sql, const char *what, char **cause)
{
	PGresult *res = PQexec(pg, sql);
	ExecStatusType st = PQresultStatus(res);
	int rc = 0;

	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && st != PGRES_EMPTY_QUERY) {
		*cause = g_strdup_printf("%s: %s", what, g_strchomp(PQresultErrorMessage(res)));
		rc = -1;
	}
	PQclear(res);
	return rc;
}

/* Recorded migrations by version (int key), or NULL and *cause. A database
 * without schema_migrations yields an empty table. */
static GHashTable *
migrate_read_applied(PGconn *pg, char **cause)
{
	GHashTable *applied = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, applied_free);
	PGresult *res;

	res = PQexec(pg, "SELECT to_regclass('schema_migrations') IS NOT NULL");
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		*cause = g_strdup_printf("schema_migrations: %s", g_strchomp(PQresultErrorMessage(res)));
		goto fail;
	}
	if (strcmp(PQgetvalue(res, 0, 0), "t") != 0)
		goto out;
	PQclear(res);
	res = PQexec(pg, "SELECT version, name, checksum, "
	    "to_char(applied_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') "
	    "FROM schema_migrations ORDER BY version");
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		*cause = g_strdup_printf("schema_migrations: %s", g_strchomp(PQresultErrorMessage(res)));
		goto fail;
	}
	for (int i = 0; i < PQntuples(res); i++) {
		struct applied *a = g_new0(struct applied, 1);

		a->file = g_strdup(PQgetvalue(res, i, 1));
		a->checksum = g_strdup(PQgetvalue(res, i, 2));
		a->applied_at = g_strdup(PQgetvalue(res, i, 3));
		g_hash_table_replace(applied, GINT_TO_POINTER(atoi(PQgetvalue(res, i, 0))), a);
	}
out:
	PQclear(res);
	return applied;
fail:
	PQclear(res);
	g_hash_table_unref(applied);
	return NULL;
}

/* Every applied file whose text changed since: one message, or NULL. */
static char *
migrate_changed(GPtrArray *files, GHashTable *applied)
{
	GString *msg = NULL;

	for (guint i = 0; i < files->len; i++) {
		struct migration *m = files->pdata[i];
		struct applied *a = g_hash_table_lookup(applied, GINT_TO_POINTER(m->version));

		if (a == NULL || strcmp(a->checksum, m->checksum) == 0)
			continue;
		if (msg == NULL)
			msg = g_string_new("applied migrations changed since (restore them and add a new file instead): ");
		else
			g_string_append(msg, ", ");
		g_string_append(msg, m->file);
	}
	return msg != NULL ? g_string_free(msg, FALSE) : NULL;
}

static int
migrate_apply_one(PGconn *pg, const struct migration *m, char **cause)
{
	char version[16];
	const char *params[3] = { version, m->file, m->checksum };
	PGresult *res;

	g_snprintf(version, sizeof version, "%d", m->version);
	if (migrate_exec(pg, "BEGIN", m->file, cause) != 0)
		return -1;
	/* The simple query protocol runs the whole file, every statement, inside
	 * our transaction; a file must therefore not BEGIN or COMMIT itself. */
	if (migrate_exec(pg, m->sql, m->file, cause) != 0)
		goto fail;
	res = PQexecParams(pg, "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
	    3, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		*cause = g_strdup_printf("%s: recording it: %s", m->file, g_strchomp(PQresultErrorMessage(res)));
		PQclear(res);
		goto fail;
	}
	PQclear(res);
	if (migrate_exec(pg, "COMMIT", m->file, cause) != 0)
		goto fail;
	return 0;
fail:
	PQclear(PQexec(pg, "ROLLBACK"));
	return -1;
}

static int
migrate_lock(PGconn *pg, FILE *out, char **cause)
{
	PGresult *res = PQexec(pg, "SELECT pg_try_advisory_lock(" MIGRATE_LOCK_KEY ")");
	gboolean got;

	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		*cause = g_strdup_printf("advisory lock: %s", g_strchomp(PQresultErrorMessage(res)));
		PQclear(res);
		return -1;
	}
	got = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	PQclear(res);
	if (got)
		return 0;
	fprintf(out, "waiting for another migration to finish\n");
	fflush(out);
	return migrate_exec(pg, "SELECT pg_advisory_lock(" MIGRATE_LOCK_KEY ")", "advisory lock", cause);
}

int
migrate_apply(PGconn *pg, const char *dir, FILE *out, char **cause)
{
	GPtrArray *files;
	GHashTable *applied = NULL;
	gboolean locked = FALSE;
	int rc = -1, count = 0;

	if ((files = migrate_read_dir(dir, cause)) == NULL)
		return -1;
	/* The NOTICEs of CREATE ... IF NOT EXISTS on an adopted database say
	 * nothing an operator needs. */
	if (migrate_exec(pg, "SET client_min_messages TO warning", "session", cause) != 0)
		goto out;
	if (migrate_lock(pg, out, cause) != 0)
		goto out;
	locked = TRUE;
	if (migrate_exec(pg, "CREATE TABLE IF NOT EXISTS schema_migrations ("
	    "version integer PRIMARY KEY, name text NOT NULL, checksum text NOT NULL, "
	    "applied_at timestamptz NOT NULL DEFAULT now())", "schema_migrations", cause) != 0)
		goto out;
	if ((applied = migrate_read_applied(pg, cause)) == NULL)
		goto out;
	if ((*cause = migrate_changed(files, applied)) != NULL)
		goto out;
	for (guint i = 0; i < files->len; i++) {
		struct migration *m = files->pdata[i];
		gint64 start;

		if (g_hash_table_contains(applied, GINT_TO_POINTER(m->version)))
			continue;
		start = g_get_monotonic_time();
		if (migrate_apply_one(pg, m, cause) != 0)
			goto out;
		fprintf(out, "applied %s (%.3f s)\n", m->file,
		    (double)(g_get_monotonic_time() - start) / G_USEC_PER_SEC);
		fflush(out);
		count++;
	}
	if (count == 0)
		fprintf(out, "up to date: %u migration%s applied\n", files->len, files->len == 1 ? "" : "s");
	rc = 0;
out:
	if (locked)
		PQclear(PQexec(pg, "SELECT pg_advisory_unlock(" MIGRATE_LOCK_KEY ")"));
	if (applied != NULL)
		g_hash_table_unref(applied);
	g_ptr_array_unref(files);
	return rc;
}

int
migrate_status(PGconn *pg, const char *dir, FILE *out, char **cause)
{
	GPtrArray *files;
	GHashTable *applied, *known;
	GHashTableIter iter;
	gpointer key, value;
	int rc = -1, changed = 0;

	if ((files = migrate_read_dir(dir, cause)) == NULL)
		return -1;
	if ((applied = migrate_read_applied(pg, cause)) == NULL)
		goto out;
	known = g_hash_table_new(g_direct_hash, g_direct_equal);
	for (guint i = 0; i < files->len; i++) {
		struct migration *m = files->pdata[i];
		struct applied *a = g_hash_table_lookup(applied, GINT_TO_POINTER(m->version));

		g_hash_table_add(known, GINT_TO_POINTER(m->version));
		if (a == NULL)
			fprintf(out, "pending  %s\n", m->file);
		else if (strcmp(a->checksum, m->checksum) != 0) {
			fprintf(out, "CHANGED  %s  applied %s, file modified since\n", m->file, a->applied_at);
			changed++;
		} else
			fprintf(out, "applied  %s  %s\n", m->file, a->applied_at);
	}
	/* Recorded but no longer shipped: worth seeing, not an error. */
	g_hash_table_iter_init(&iter, applied);
	while (g_hash_table_iter_next(&iter, &key, &value)) {
		struct applied *a = value;

		if (!g_hash_table_contains(known, key))
			fprintf(out, "applied  %s  %s, file missing from %s\n", a->file, a->applied_at, dir);
	}
	g_hash_table_unref(known);
	g_hash_table_unref(applied);
	if (changed > 0) {
		*cause = g_strdup_printf("%d applied migration%s changed since", changed, changed == 1 ? "" : "s");
		goto out;
	}
	rc = 0;
out:
	g_ptr_array_unref(files);
	return rc;
}
