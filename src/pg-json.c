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

struct pg_json_col {
	Oid type;
	gboolean skip;
	const char *key;           /* the name as a JSON key ("name":), in keys */
	gsize key_len;
};

struct pg_json_plan {
	int ncols;
	struct pg_json_col *cols;  /* ncols of them */
	char *keys;                /* every column's key, one after the other */
};

/* Makes room for N more bytes at the end of OUT (its length grows by N,
 * a NUL follows) and returns where they go. Inline while OUT has room:
 * g_string_set_size() is a call a value, and there are many values. */
static inline char *
pg_json_grow(GString *out, gsize n)
{
	gsize at = out->len;

	if (at + n < out->allocated_len) {
		out->len = at + n;
		out->str[out->len] = '\0';
	} else {
		g_string_set_size(out, at + n);
	}
	return out->str + at;
}

/* Appends N bytes at S: one copy, no check for S inside OUT. */
static inline void
pg_json_put(GString *out, const char *s, gsize n)
{
	memcpy(pg_json_grow(out, n), s, n);
}

/* A byte a JSON string holds as it is (and an ASCII one: bytes from 0x80
 * are checked as UTF-8 apart). */
static inline gboolean
pg_json_plain_byte(unsigned char c)
{
	return c >= 0x20 && c < 0x80 && c != '"' && c != '\\';
}

/* Whether all eight bytes of W are plain bytes, tested at once: a byte
 * below 0x20 and a byte equal to '"' or '\\' each set the high bit of some
 * byte of the result (the "has less" and "has zero" word tricks, exact
 * about whether any byte matches); W's own high bits are non-ASCII. */
static inline gboolean
pg_json_plain_word(guint64 w)
{
	const guint64 ones = G_GUINT64_CONSTANT(0x0101010101010101), highs = ones * 0x80;
	guint64 quote = w ^ (ones * '"'), bslash = w ^ (ones * '\\');
	guint64 bad = (w - ones * 0x20) & ~w;

	bad |= (quote - ones) & ~quote;
	bad |= (bslash - ones) & ~bslash;
	return ((bad | w) & highs) == 0;
}

/* S (valid UTF-8) with what JSON needs escaped escaped; no quotes. */
static void
pg_json_append_escaped(GString *out, const char *s, gsize len)
{
	static const char hex[] = "0123456789abcdef";
	gsize run = 0;

	for (gsize i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		pg_json_put(out, s + run, i - run);
		run = i + 1;
		switch (c) {
		case '"': pg_json_put(out, "\\\"", 2); break;
		case '\\': pg_json_put(out, "\\\\", 2); break;
		case '\n': pg_json_put(out, "\\n", 2); break;
		case '\r': pg_json_put(out, "\\r", 2); break;
		case '\t': pg_json_put(out, "\\t", 2); break;
		case '\b': pg_json_put(out, "\\b", 2); break;
		case '\f': pg_json_put(out, "\\f", 2); break;
		default: {
			char u[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };

			pg_json_put(out, u, sizeof u);
		}
		}
	}
	pg_json_put(out, s + run, len - run);
}

void
pg_json_append_string(GString *out, const char *text, gssize len)
{
	gsize n = len < 0 ? strlen(text) : (gsize)len, i = 0;

	/* Most values are plain ASCII: found in one pass, eight bytes a step,
	 * and copied in one. */
	for (guint64 w; i + 8 <= n; i += 8) {
		memcpy(&w, text + i, 8);
		if (!pg_json_plain_word(w))
			break;
	}
	while (i < n && pg_json_plain_byte((unsigned char)text[i]))
		i++;
	if (i == n) {
		char *p = pg_json_grow(out, n + 2);

		p[0] = '"';
		memcpy(p + 1, text, n);
		p[n + 1] = '"';
		return;
	}
	pg_json_put(out, "\"", 1);
	if (g_utf8_validate_len(text + i, n - i, NULL)) {   /* what went before is ASCII */
		pg_json_append_escaped(out, text, n);
	} else {
		char *valid = g_utf8_make_valid(text, (gssize)n);

		pg_json_append_escaped(out, valid, strlen(valid));
		g_free(valid);
	}
	pg_json_put(out, "\"", 1);
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

/* V as N decimal digits at P (V fits); returns the end. */
static char *
pg_json_write_digits(char *p, int v, int n)
{
	for (int i = n - 1; i >= 0; i--) {
		p[i] = (char)('0' + v % 10);
		v /= 10;
	}
	return p + n;
}

/* "YYYY-MM-DDTHH:MM:SS" at P; returns the end. */
static char *
pg_json_write_datetime(char *p, int y, int mo, int d, int h, int mi, int sec)
{
	p = pg_json_write_digits(p, y, 4);
	*p++ = '-';
	p = pg_json_write_digits(p, mo, 2);
	*p++ = '-';
	p = pg_json_write_digits(p, d, 2);
	*p++ = 'T';
	p = pg_json_write_digits(p, h, 2);
	*p++ = ':';
	p = pg_json_write_digits(p, mi, 2);
	*p++ = ':';
	return pg_json_write_digits(p, sec, 2);
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
	char buf[48], *q;
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
		q = buf;
		*q++ = '"';
		q = pg_json_write_datetime(q, y, mo, d, h, mi, sec);
		if (nfrac > 0) {
			*q++ = '.';
			memcpy(q, frac, (size_t)nfrac);
			q += nfrac;
		}
		*q++ = '"';
		pg_json_put(out, buf, (gsize)(q - buf));
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
	q = buf;
	*q++ = '"';
	q = pg_json_write_datetime(q, y, mo, d, h, mi, sec);
	*q++ = '.';
	memcpy(q, frac, 6);
	q += 6;
	memcpy(q, "+00:00\"", 7);
	q += 7;
	pg_json_put(out, buf, (gsize)(q - buf));
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

struct pg_json_plan *
pg_json_plan_new(const PGresult *res, const char *const *skip)
{
	struct pg_json_plan *plan = g_new0(struct pg_json_plan, 1);
	GString *keys = g_string_sized_new(256);
	gsize *at;

	plan->ncols = PQnfields(res);
	plan->cols = g_new0(struct pg_json_col, plan->ncols);
	at = g_newa(gsize, plan->ncols + 1);
	for (int col = 0; col < plan->ncols; col++) {
		struct pg_json_col *c = &plan->cols[col];

		c->type = PQftype(res, col);
		c->skip = pg_json_skipped(PQfname(res, col), skip);
		at[col] = keys->len;
		pg_json_append_string(keys, PQfname(res, col), -1);
		g_string_append_c(keys, ':');
		c->key_len = keys->len - at[col];
	}
	/* Pointers only now: the string may have moved while growing. */
	plan->keys = g_string_free(keys, FALSE);
	for (int col = 0; col < plan->ncols; col++)
		plan->cols[col].key = plan->keys + at[col];
	return plan;
}

void
pg_json_plan_free(struct pg_json_plan *plan)
{
	if (plan == NULL)
		return;
	g_free(plan->keys);
	g_free(plan->cols);
	g_free(plan);
}

int
pg_json_append_row(GString *out, const struct pg_json_plan *plan, const PGresult *res, int row)
{
	int n = 0;

	for (int col = 0; col < plan->ncols; col++) {
		const struct pg_json_col *c = &plan->cols[col];
		const char *value;
		int len;

		if (c->skip)
			continue;
		if (n++ > 0)
			pg_json_put(out, ",", 1);
		pg_json_put(out, c->key, c->key_len);
		if (PQgetisnull(res, row, col)) {
			pg_json_put(out, "null", 4);
			continue;
		}
		value = PQgetvalue(res, row, col);
		len = PQgetlength(res, row, col);
		switch (c->type) {
		case PG_JSON_BOOL:
			if (value[0] == 't')
				pg_json_put(out, "true", 4);
			else
				pg_json_put(out, "false", 5);
			continue;
		case PG_JSON_INT2: case PG_JSON_INT4: case PG_JSON_INT8: case PG_JSON_OID:
		case PG_JSON_FLOAT4: case PG_JSON_FLOAT8: case PG_JSON_NUMERIC:
			if (pg_json_is_number(value)) {
				pg_json_put(out, value, (gsize)len);
				continue;
			}
			break;
		case PG_JSON_JSON: case PG_JSON_JSONB:
			pg_json_put(out, value, (gsize)len);
			continue;
		case PG_JSON_TIMESTAMPTZ:
		case PG_JSON_TIMESTAMP:
			if (pg_json_append_timestamp(out, value, c->type == PG_JSON_TIMESTAMPTZ))
				continue;
			break;
		default:
			break;
		}
		pg_json_append_string(out, value, len);
	}
	return n;
}

int
pg_json_append_members(GString *out, const PGresult *res, int row, const char *const *skip)
{
	struct pg_json_plan *plan = pg_json_plan_new(res, skip);
	int n = pg_json_append_row(out, plan, res, row);

	pg_json_plan_free(plan);
	return n;
}
