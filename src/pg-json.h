/* PostgreSQL result rows as JSON text, built here rather than by the
 * server.
 *
 * PostgreSQL's to_jsonb(row)::text costs about 20 us a row of server time
 * (a page of 20 podcasts: 0.5 ms, ten times the query itself), and the
 * server is the busiest process under load. Plain columns in libpq's text
 * format cost the server almost nothing, and writing them out as JSON here
 * takes a few microseconds a page.
 *
 * Values follow the column's type, as to_jsonb would give them: booleans,
 * numbers (NaN and infinities as strings), json and jsonb embedded as they
 * are, NULL as null, timestamps with time zone as ISO 8601 in UTC with
 * microseconds ("2025-01-01T00:00:00.000000+00:00"), timestamps without
 * one as ISO 8601 without an offset, everything else as a string
 * (invalid UTF-8 replaced). Timestamps are read in the ISO DateStyle,
 * which db.c asks for on every connection; one in another style is passed
 * on as a string unchanged.
 *
 * Appending allocates nothing beyond OUT's growth (and a copy of a value
 * that is not valid UTF-8); no ownership changes hands. */
#ifndef PP_PG_JSON_H
#define PP_PG_JSON_H

#include <glib.h>
#include <libpq-fe.h>

/* Appends TEXT (LEN bytes, or -1 for up to its NUL) as a JSON string,
 * quotes included. */
void pg_json_append_string(GString *out, const char *text, gssize len);

/* What writing RES's rows needs to know of its columns (types, which are
 * left out, each name already written as a JSON key), worked out once per
 * result. Owned by the caller: pg_json_plan_free(). */
struct pg_json_plan;

/* A plan for RES, leaving out the columns named in SKIP (NULL-terminated,
 * or NULL). Never NULL. */
struct pg_json_plan *pg_json_plan_new(const PGresult *res, const char *const *skip);
void pg_json_plan_free(struct pg_json_plan *plan);

/* Appends the columns of ROW in RES (the result PLAN was made for) as JSON
 * object members ("name":value,...), without braces, in column order.
 * Returns how many were written, so that a caller adding its own members
 * knows whether a comma is needed. */
int pg_json_append_row(GString *out, const struct pg_json_plan *plan, const PGresult *res, int row);

/* The same for one row, with a plan made and freed here. */
int pg_json_append_members(GString *out, const PGresult *res, int row, const char *const *skip);

#endif
