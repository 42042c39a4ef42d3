#include "autoconfig.h"

#include <string.h>

#include "pg-json.h"

/* Built-in type OIDs (fixed by PostgreSQL's catalog; the server headers
 * that name them are not part of libpq-dev). */
#define PG_JSON_BOOL        16
#define PG_JSON_INT8        20
#define PG_JSON_INT2        21
#define PG_JSON_INT4        23
#define PG_JSON_OID         26
#define PG_JSON_JSON        114
#define PG_JSON_FLOAT4      700
#define PG_JSON_FLOAT8      701
#define PG_JSON_TIMESTAMP   1114
#define PG_JSON_TIMESTAMPTZ 1184
#define PG_JSON_NUMERIC     1700
#define PG_JSON_JSONB       3802

static void
pg_json_append_escaped(GString *out, const char *s, gsize len)
{
	static const char hex[] = "0123456789abcdef";
	gsize run = 0;

	for (gsize i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		g_string_append_len(out, s + run, (gssize)(i - run));
		run = i + 1;
		switch (c) {
		case '"': g_string_append_len(out, "\\\"", 2); break;
		case '\\': g_string_append_len(out, "\\\\", 2); break;
		case '\n': g_string_append_len(out, "\\n", 2); break;
		case '\r': g_string_append_len(out, "\\r", 2); break;
		case '\t': g_string_append_len(out, "\\t", 2); break;
		case '\b': g_string_append_len(out, "\\b", 2); break;
		case '\f': g_string_append_len(out, "\\f", 2); break;
		default:
			g_string_append_len(out, "\\u00", 4);
			g_string_append_c(out, hex[c >> 4]);
			g_string_append_c(out, hex[c & 15]);
		}
	}
	g_string_append_len(out, s + run, (gssize)(len - run));
}

void
pg_json_append_string(GString *out, const char *text, gssize len)
{
	gsize n = len < 0 ? strlen(text) : (gsize)len;

	g_string_append_c(out, '"');
	if (g_utf8_validate_len(text, n, NULL)) {
		pg_json_append_escaped(out, text, n);
	} else {
		char *valid = g_utf8_make_valid(text, (gssize)n);

		pg_json_append_escaped(out, valid, strlen(valid));
		g_free(valid);
	}
	g_string_append_c(out, '"');
}

/* A JSON number as PostgreSQL prints one: -?digits[.digits][e[+-]digits].
 * (JSON forbids leading zeros; PostgreSQL never prints them.) */
static gboolean
pg_json_is_number(const char *s)
{
	const char *p = s;

	if (*p == '-')
		p++;
	if (!g_ascii_isdigit(*p))
		return FALSE;
	while (g_ascii_isdigit(*p))
		p++;
	if (*p == '.') {
		if (!g_ascii_isdigit(*++p))
			return FALSE;
		while (g_ascii_isdigit(*p))
			p++;
	}
	if (*p == 'e' || *p == 'E') {
		p++;
		if (*p == '+' || *p == '-')
			p++;
		if (!g_ascii_isdigit(*p))
			return FALSE;
		while (g_ascii_isdigit(*p))
			p++;
	}
	return *p == '\0';
}

/* N digits at *P into *OUT, advancing *P. */
static gboolean
pg_json_digits(const char **p, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (!g_ascii_isdigit((*p)[i]))
			return FALSE;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*out = v;
	return TRUE;
}

/* "YYYY-MM-DD HH:MM:SS[.f{1,6}][+-HH[:MM[:SS]]]" (the ISO DateStyle, years
 * 1 to 9999 AD) to ISO 8601: with an offset in UTC (+00:00) and always
 * six fractional digits, without one as it is with a 'T'. FALSE for
 * anything else (infinity, BC, five-digit years, another DateStyle). */
static gboolean
pg_json_append_timestamp(GString *out, const char *s, gboolean with_zone)
{
	const char *p = s;
	int y, mo, d, h, mi, sec, oh = 0, om = 0, os = 0, sign = 0;
	char frac[7] = "000000";
	int nfrac = 0;

	if (!pg_json_digits(&p, 4, &y) || *p++ != '-' || !pg_json_digits(&p, 2, &mo) || *p++ != '-' ||
	    !pg_json_digits(&p, 2, &d) || *p++ != ' ' || !pg_json_digits(&p, 2, &h) || *p++ != ':' ||
	    !pg_json_digits(&p, 2, &mi) || *p++ != ':' || !pg_json_digits(&p, 2, &sec))
		return FALSE;
	if (*p == '.') {
		p++;
		while (g_ascii_isdigit(*p) && nfrac < 6)
			frac[nfrac++] = *p++;
		if (nfrac == 0 || g_ascii_isdigit(*p))
			return FALSE;
	}
	if (!with_zone) {
		if (*p != '\0')
			return FALSE;
		g_string_append_printf(out, "\"%04d-%02d-%02dT%02d:%02d:%02d", y, mo, d, h, mi, sec);
		if (nfrac > 0)
			g_string_append_printf(out, ".%.*s", nfrac, frac);
		g_string_append_c(out, '"');
		return TRUE;
	}
	if (*p != '+' && *p != '-')
		return FALSE;
	sign = *p++ == '-' ? -1 : 1;
	if (!pg_json_digits(&p, 2, &oh))
		return FALSE;
	if (*p == ':' && (p++, !pg_json_digits(&p, 2, &om)))
		return FALSE;
	if (*p == ':' && (p++, !pg_json_digits(&p, 2, &os)))
		return FALSE;
	if (*p != '\0')
		return FALSE;
	if (oh != 0 || om != 0 || os != 0) {
		/* Another session time zone than ours: convert. */
		GTimeZone *tz = g_time_zone_new_offset(sign * (oh * 3600 + om * 60 + os));
		GDateTime *local = g_date_time_new(tz, y, mo, d, h, mi, sec), *utc = NULL;

		g_time_zone_unref(tz);
		if (local == NULL)
			return FALSE;
		utc = g_date_time_to_utc(local);
		g_date_time_unref(local);
		if (utc == NULL)
			return FALSE;
		y = g_date_time_get_year(utc);
		mo = g_date_time_get_month(utc);
		d = g_date_time_get_day_of_month(utc);
		h = g_date_time_get_hour(utc);
		mi = g_date_time_get_minute(utc);
		sec = g_date_time_get_second(utc);
		g_date_time_unref(utc);
	}
	g_string_append_printf(out, "\"%04d-%02d-%02dT%02d:%02d:%02d.%s+00:00\"", y, mo, d, h, mi, sec, frac);
	return TRUE;
}

static gboolean
pg_json_skipped(const char *name, const char *const *skip)
{
	for (; skip != NULL && *skip != NULL; skip++) {
		if (strcmp(name, *skip) == 0)
			return TRUE;
	}
	return FALSE;
}

int
pg_json_append_members(GString *out, const PGresult *res, int row, const char *const *skip)
{
	int n = 0;

	for (int col = 0; col < PQnfields(res); col++) {
		const char *name = PQfname(res, col), *value;
		int len;

		if (pg_json_skipped(name, skip))
			continue;
		if (n++ > 0)
			g_string_append_c(out, ',');
		pg_json_append_string(out, name, -1);
		g_string_append_c(out, ':');
		if (PQgetisnull(res, row, col)) {
			g_string_append_len(out, "null", 4);
			continue;
		}
		value = PQgetvalue(res, row, col);
		len = PQgetlength(res, row, col);
		switch (PQftype(res, col)) {
		case PG_JSON_BOOL:
			g_string_append(out, value[0] == 't' ? "true" : "false");
			continue;
		case PG_JSON_INT2: case PG_JSON_INT4: case PG_JSON_INT8: case PG_JSON_OID:
		case PG_JSON_FLOAT4: case PG_JSON_FLOAT8: case PG_JSON_NUMERIC:
			if (pg_json_is_number(value)) {
				g_string_append_len(out, value, len);
				continue;
			}
			break;
		case PG_JSON_JSON: case PG_JSON_JSONB:
			g_string_append_len(out, value, len);
			continue;
		case PG_JSON_TIMESTAMPTZ:
		case PG_JSON_TIMESTAMP:
			if (pg_json_append_timestamp(out, value, PQftype(res, col) == PG_JSON_TIMESTAMPTZ))
				continue;
			break;
		default:
			break;
		}
		pg_json_append_string(out, value, len);
	}
	return n;
}
