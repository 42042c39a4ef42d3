/* Schema migrations: numbered SQL files (NNNN_name.sql) in a directory,
 * applied in order, one transaction per file, under a PostgreSQL advisory
 * lock, recorded in schema_migrations(version, name, applied_at, checksum). */
#ifndef PP_MIGRATE_H
#define PP_MIGRATE_H

#include <stdio.h>
#include <libpq-fe.h>

/* Applies pending files from DIR; prints one line per file to OUT.
 * 0 on success, -1 and *cause (caller frees). */
int migrate_apply(PGconn *pg, const char *dir, FILE *out, char **cause);
/* Prints "applied"/"pending" for every file: 0, or -1 and *cause. */
int migrate_status(PGconn *pg, const char *dir, FILE *out, char **cause);

/* The installed migrations directory (MIGRATIONS_DIR env or PKGDATADIR/migrations). */
const char *migrate_default_dir(void);

#endif
