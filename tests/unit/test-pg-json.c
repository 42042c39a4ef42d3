/* Result rows as JSON text: every value kind, checked by parsing the
 * output back with Jansson. Results are built by hand with libpq's
 * PQsetResultAttrs/PQsetvalue, so no server is needed. */
#include "autoconfig.h"

#include <jansson.h>
#include <string.h>

#include "pg-json.h"

struct column {
	const char *name;
	Oid type;
	const char *value;      /* NULL: SQL NULL */
};

/* Sets row ROW of RES to N values (NULL: SQL NULL). */
static void
result_set_row(PGresult *res, int row, const char *const *values, int n)
{
	for (int i = 0; i < n; i++) {
		const char *v = values[i];

		g_assert_true(PQsetvalue(res, row, i, (char *)v, v != NULL ? (int)strlen(v) : -1));
	}
}

/* A result with the names and types of N COLUMNS and one row of their
 * values; the caller PQclear()s it. */
static PGresult *
result_new(const struct column *columns, int n)
{
	PGresult *res = PQmakeEmptyPGresult(NULL, PGRES_TUPLES_OK);
	PGresAttDesc attrs[16];
	const char *values[16];

	g_assert_cmpint(n, <=, (int)G_N_ELEMENTS(attrs));
	memset(attrs, 0, sizeof attrs);
	for (int i = 0; i < n; i++) {
		attrs[i].name = (char *)columns[i].name;
		attrs[i].typid = columns[i].type;
		attrs[i].typlen = -1;
		attrs[i].atttypmod = -1;
		values[i] = columns[i].value;
	}
	g_assert_true(PQsetResultAttrs(res, n, attrs));
	result_set_row(res, 0, values, n);
	return res;
}

/* One row of COLUMNS as the text pg_json_append_members makes of it,
 * wrapped in braces and parsed; the caller json_decref()s it. */
static json_t *
row_json(const struct column *columns, int n, const char *const *skip, char **text)
{
	PGresult *res = result_new(columns, n);
	GString *out = g_string_new("{");
	json_error_t err;
	json_t *obj;

	pg_json_append_members(out, res, 0, skip);
	g_string_append_c(out, '}');
	PQclear(res);
	obj = json_loads(out->str, 0, &err);
	if (obj == NULL)
		g_error("not JSON (%s): %s", err.text, out->str);
	if (text != NULL)
		*text = g_string_free(out, FALSE);
	else
		g_string_free(out, TRUE);
	return obj;
}

static void
test_types(void)
{
	static const struct column cols[] = {
		{ "id", 1043, "01JBENCHPOD000000000000001" },
		{ "ok", 16, "t" },
		{ "no", 16, "f" },
		{ "small", 21, "-7" },
		{ "big", 20, "9007199254740993" },
		{ "ratio", 701, "1.5e+20" },
		{ "nan", 701, "NaN" },
		{ "inf", 700, "-Infinity" },
		{ "money", 1700, "12.50" },
		{ "doc", 3802, "{\"lines\": [{\"speaker\": \"A\", \"text\": \"hi\"}]}" },
		{ "raw", 114, "[1, 2 ,3]" },
		{ "gone", 25, NULL },
	};
	char *text;
	json_t *o = row_json(cols, G_N_ELEMENTS(cols), NULL, &text);

	g_assert_cmpstr(json_string_value(json_object_get(o, "id")), ==, "01JBENCHPOD000000000000001");
	g_assert_true(json_is_true(json_object_get(o, "ok")));
	g_assert_true(json_is_false(json_object_get(o, "no")));
	g_assert_cmpint(json_integer_value(json_object_get(o, "small")), ==, -7);
	/* Written as PostgreSQL printed it: no rounding through a double. */
	g_assert_nonnull(strstr(text, "\"big\":9007199254740993"));
	g_assert_cmpfloat(json_real_value(json_object_get(o, "ratio")), ==, 1.5e20);
	g_assert_cmpstr(json_string_value(json_object_get(o, "nan")), ==, "NaN");
	g_assert_cmpstr(json_string_value(json_object_get(o, "inf")), ==, "-Infinity");
	g_assert_cmpfloat(json_real_value(json_object_get(o, "money")), ==, 12.5);
	g_assert_cmpstr(json_string_value(json_object_get(
	    json_array_get(json_object_get(json_object_get(o, "doc"), "lines"), 0), "text")), ==, "hi");
	g_assert_cmpint(json_array_size(json_object_get(o, "raw")), ==, 3);
	g_assert_true(json_is_null(json_object_get(o, "gone")));
	g_assert_cmpint(json_object_size(o), ==, G_N_ELEMENTS(cols));
	/* Column order is kept. */
	g_assert_true(g_str_has_prefix(text, "{\"id\":"));
	json_decref(o);
	g_free(text);
}

static void
test_strings(void)
{
	static const struct column cols[] = {
		{ "quote", 25, "say \"hi\"\\ now" },
		{ "controls", 25, "a\nb\tc\rd\be\ff\001g\037" },
		{ "unicode", 25, "caf\xc3\xa9 \xe2\x80\xa8 \xf0\x9f\x8e\x99" },
		{ "broken", 25, "bad \xff\xfe byte" },
		{ "we\"ird", 25, "name" },
	};
	json_t *o = row_json(cols, G_N_ELEMENTS(cols), NULL, NULL);

	g_assert_cmpstr(json_string_value(json_object_get(o, "quote")), ==, "say \"hi\"\\ now");
	g_assert_cmpstr(json_string_value(json_object_get(o, "controls")), ==, "a\nb\tc\rd\be\ff\001g\037");
	g_assert_cmpstr(json_string_value(json_object_get(o, "unicode")), ==,
	    "caf\xc3\xa9 \xe2\x80\xa8 \xf0\x9f\x8e\x99");
	/* Invalid UTF-8 is replaced, never passed on (it would not be JSON). */
	g_assert_true(g_str_has_prefix(json_string_value(json_object_get(o, "broken")), "bad "));
	g_assert_true(g_utf8_validate(json_string_value(json_object_get(o, "broken")), -1, NULL));
	g_assert_cmpstr(json_string_value(json_object_get(o, "we\"ird")), ==, "name");
	json_decref(o);
}

static void
test_timestamps(void)
{
	static const struct column cols[] = {
		{ "plain", 1184, "2025-01-01 00:00:00+00" },
		{ "fraction", 1184, "2025-01-01 12:34:56.78+00" },
		{ "micro", 1184, "2025-06-30 23:59:59.123456+00" },
		{ "east", 1184, "2025-01-01 01:30:00.5+05:30" },
		{ "west", 1184, "2024-12-31 23:00:00-03" },
		{ "odd", 1184, "1900-01-01 00:00:00+00:19:32" },
		{ "local", 1114, "2025-01-01 08:00:00.25" },
		{ "forever", 1184, "infinity" },
		{ "ancient", 1184, "0044-03-15 12:00:00+00 BC" },
		{ "german", 1184, "01.01.2025 00:00:00 UTC" },
	};
	json_t *o = row_json(cols, G_N_ELEMENTS(cols), NULL, NULL);
#define TS(name) json_string_value(json_object_get(o, name))

	g_assert_cmpstr(TS("plain"), ==, "2025-01-01T00:00:00.000000+00:00");
	g_assert_cmpstr(TS("fraction"), ==, "2025-01-01T12:34:56.780000+00:00");
	g_assert_cmpstr(TS("micro"), ==, "2025-06-30T23:59:59.123456+00:00");
	g_assert_cmpstr(TS("east"), ==, "2024-12-31T20:00:00.500000+00:00");
	g_assert_cmpstr(TS("west"), ==, "2025-01-01T02:00:00.000000+00:00");
	g_assert_cmpstr(TS("odd"), ==, "1899-12-31T23:40:28.000000+00:00");
	g_assert_cmpstr(TS("local"), ==, "2025-01-01T08:00:00.25");
	/* What is not a plain ISO timestamp goes out as it came. */
	g_assert_cmpstr(TS("forever"), ==, "infinity");
	g_assert_cmpstr(TS("ancient"), ==, "0044-03-15 12:00:00+00 BC");
	g_assert_cmpstr(TS("german"), ==, "01.01.2025 00:00:00 UTC");
#undef TS
	json_decref(o);
}

static void
test_skip(void)
{
	static const struct column cols[] = {
		{ "id", 1043, "x" },
		{ "job_id", 1043, "j" },
		{ "title", 1043, "t" },
		{ "enqueued_at", 1184, "2025-01-01 00:00:00+00" },
	};
	static const char *const skip[] = { "job_id", "enqueued_at", NULL };
	char *text;
	json_t *o = row_json(cols, G_N_ELEMENTS(cols), skip, &text);

	g_assert_cmpstr(text, ==, "{\"id\":\"x\",\"title\":\"t\"}");
	json_decref(o);
	g_free(text);

	/* Everything skipped: no members, and the count says so. */
	{
		static const char *const all[] = { "id", "job_id", "title", "enqueued_at", NULL };
		PGresult *res = result_new(cols, G_N_ELEMENTS(cols));
		GString *out = g_string_new(NULL);

		g_assert_cmpint(pg_json_append_members(out, res, 0, all), ==, 0);
		g_assert_cmpuint(out->len, ==, 0);
		g_assert_cmpint(pg_json_append_members(out, res, 0, NULL), ==, 4);
		g_string_free(out, TRUE);
		PQclear(res);
	}
}

/* Every byte that needs escaping (and a UTF-8 character) at every offset
 * around the eight-byte steps of the plain-ASCII scan: the output parses
 * back to the input, and bytes that need nothing come out as they are. */
static void
test_string_offsets(void)
{
	static const char *const specials[] = { "\x01", "\x1f", "\"", "\\", "\n", "\xc3\xa9", "\x7f" };
	static const char plain[] = " !#[]~\x7f" "0aZ";

	for (gsize sp = 0; sp < G_N_ELEMENTS(specials); sp++) {
		for (int pos = 0; pos < 20; pos++) {
			GString *in = g_string_new(NULL), *out = g_string_new("[");
			json_error_t err;
			json_t *arr;

			for (int i = 0; i < pos; i++)
				g_string_append_c(in, (char)('a' + i % 26));
			g_string_append(in, specials[sp]);
			g_string_append(in, "tail-of-it");
			pg_json_append_string(out, in->str, (gssize)in->len);
			g_string_append_c(out, ']');
			arr = json_loads(out->str, 0, &err);
			if (arr == NULL)
				g_error("not JSON (%s): %s", err.text, out->str);
			g_assert_cmpstr(json_string_value(json_array_get(arr, 0)), ==, in->str);
			json_decref(arr);
			g_string_free(in, TRUE);
			g_string_free(out, TRUE);
		}
	}
	for (int pos = 0; pos < 20; pos++) {
		GString *in = g_string_new(NULL), *out = g_string_new(NULL);

		for (int i = 0; i < pos; i++)
			g_string_append_c(in, plain[i % (sizeof plain - 1)]);
		pg_json_append_string(out, in->str, (gssize)in->len);
		g_assert_cmpuint(out->len, ==, in->len + 2);
		g_assert_cmpint(memcmp(out->str + 1, in->str, in->len), ==, 0);
		g_string_free(in, TRUE);
		g_string_free(out, TRUE);
	}
}

/* One plan for a whole result: each row's text exactly, whichever path a
 * value takes (plain ASCII, escapes, UTF-8, NULL, numbers, timestamps). */
static void
test_plan_rows(void)
{
	static const struct column cols[] = {
		{ "id", 1043, "a" },
		{ "hidden", 1043, "x" },
		{ "n", 23, "1" },
		{ "at", 1184, "2025-01-01 00:00:00+00" },
		{ "s", 25, "plain text" },
	};
	static const char *const rows[][5] = {   /* rows 1 and 2 */
		{ "b", "y", NULL, "2025-01-01 01:00:00.5+01", "tab\there \"q\" \001" },
		{ "c", "z", "-3", NULL, "na\xc3\xafve\n" },
	};
	static const char *const expect[] = {
		"\"id\":\"a\",\"n\":1,\"at\":\"2025-01-01T00:00:00.000000+00:00\",\"s\":\"plain text\"",
		"\"id\":\"b\",\"n\":null,\"at\":\"2025-01-01T00:00:00.500000+00:00\","
		    "\"s\":\"tab\\there \\\"q\\\" \\u0001\"",
		"\"id\":\"c\",\"n\":-3,\"at\":null,\"s\":\"na\xc3\xafve\\n\"",
	};
	static const char *const skip[] = { "hidden", NULL };
	PGresult *res = result_new(cols, G_N_ELEMENTS(cols));
	struct pg_json_plan *plan;

	for (int r = 0; r < 2; r++)
		result_set_row(res, r + 1, rows[r], G_N_ELEMENTS(rows[r]));
	plan = pg_json_plan_new(res, skip);
	for (int r = 0; r < 3; r++) {
		GString *out = g_string_new("prefix:");

		g_assert_cmpint(pg_json_append_row(out, plan, res, r), ==, 4);
		g_assert_cmpstr(out->str + 7, ==, expect[r]);
		g_string_free(out, TRUE);
	}
	pg_json_plan_free(plan);
	PQclear(res);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/pg-json/types", test_types);
	g_test_add_func("/pg-json/strings", test_strings);
	g_test_add_func("/pg-json/timestamps", test_timestamps);
	g_test_add_func("/pg-json/skip", test_skip);
	g_test_add_func("/pg-json/plan-rows", test_plan_rows);
	g_test_add_func("/pg-json/string-offsets", test_string_offsets);
	return g_test_run();
}
