#include "autoconfig.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <jwt.h>

#include "auth-jwt.h"
#include "config.h"
#include "jwks.h"
#include "log.h"

#define AUTH_JWKS_TIMEOUT_MS 5000
/* Longer tokens are not Supabase's; refusing them bounds the work. */
#define AUTH_MAX_TOKEN 16384

struct auth_jwt {
	char *secret;              /* HS256 key, or NULL: HS256 tokens refused */
	size_t secret_len;
	struct jwks *jwks;         /* ES256/RS256 keys, or NULL */
	char *audience;
	char *issuer;
	int leeway;
};

const char *
auth_status_detail(enum auth_status st)
{
	switch (st) {
	case AUTH_OK: return "OK";
	case AUTH_EXPIRED: return "Token expired";
	case AUTH_BAD_SIGNATURE: return "Invalid token signature";
	case AUTH_INVALID: return "Invalid token";
	case AUTH_NO_SUBJECT: return "Invalid token: missing user ID";
	case AUTH_FAILED: break;
	}
	return "Authentication failed";
}

guchar *
auth_b64url_decode(const char *text, size_t text_len, size_t *len)
{
	gint state = 0;
	guint save = 0;
	char *std;
	guchar *out;
	size_t i, padded;

	if (text_len % 4 == 1)
		return NULL;
	padded = (text_len + 3) / 4 * 4;
	std = g_malloc(padded + 1);
	for (i = 0; i < text_len; i++) {
		char c = text[i];

		if (c == '-')
			c = '+';
		else if (c == '_')
			c = '/';
		else if (!g_ascii_isalnum(c)) {
			g_free(std);
			return NULL;
		}
		std[i] = c;
	}
	for (; i < padded; i++)
		std[i] = '=';
	std[padded] = '\0';
	out = g_malloc(padded / 4 * 3 + 1);
	*len = g_base64_decode_step(std, padded, out, &state, &save);
	out[*len] = '\0';
	g_free(std);
	return out;
}

char *
auth_b64url_encode(const guchar *data, size_t len)
{
	char *s = g_base64_encode(data, len);
	char *w = s;

	for (char *r = s; *r != '\0'; r++) {
		if (*r == '=')
			continue;
		*w++ = *r == '+' ? '-' : *r == '/' ? '_' : *r;
	}
	*w = '\0';
	return s;
}

static char *
auth_b64url_json(json_t *obj)
{
	char *text = json_dumps(obj, JSON_COMPACT);
	char *enc;

	if (text == NULL)
		return NULL;
	enc = auth_b64url_encode((const guchar *)text, strlen(text));
	free(text);
	return enc;
}

char *
auth_jwt_sign_hs256(const char *secret, json_t *claims, char **cause)
{
	json_t *header = json_pack("{s:s, s:s}", "alg", "HS256", "typ", "JWT");
	char *h = auth_b64url_json(header), *p = auth_b64url_json(claims), *s, *token = NULL;
	guint8 mac[32];
	gsize mac_len = sizeof mac;
	GString *input;
	GHmac *hmac;

	json_decref(header);
	if (secret == NULL || *secret == '\0' || h == NULL || p == NULL) {
		*cause = g_strdup(secret == NULL || *secret == '\0' ? "no secret to sign with" :
		    "claims are not serialisable");
		goto out;
	}
	input = g_string_new(h);
	g_string_append_c(input, '.');
	g_string_append(input, p);
	hmac = g_hmac_new(G_CHECKSUM_SHA256, (const guchar *)secret, strlen(secret));
	g_hmac_update(hmac, (const guchar *)input->str, (gssize)input->len);
	g_hmac_get_digest(hmac, mac, &mac_len);
	g_hmac_unref(hmac);
	s = auth_b64url_encode(mac, mac_len);
	g_string_append_c(input, '.');
	g_string_append(input, s);
	g_free(s);
	token = g_string_free(input, FALSE);
out:
	g_free(h);
	g_free(p);
	return token;
}

struct auth_jwt *
auth_jwt_new_from(const char *secret, struct jwks *jwks, const struct auth_policy *policy)
{
	struct auth_jwt *v = g_new0(struct auth_jwt, 1);

	/* An empty secret would make libjwt accept any HS256 MAC: treat it as none. */
	if (secret != NULL && *secret != '\0') {
		v->secret = g_strdup(secret);
		v->secret_len = strlen(secret);
	}
	v->jwks = jwks;
	v->audience = g_strdup(policy->audience != NULL ? policy->audience : "authenticated");
	v->issuer = policy->issuer != NULL && *policy->issuer != '\0' ? g_strdup(policy->issuer) : NULL;
	v->leeway = policy->leeway;
	return v;
}

struct auth_jwt *
auth_jwt_new(const struct config *cfg, char **cause)
{
	struct auth_policy policy = {
		.audience = cfg->supabase_jwt_audience,
		.issuer = cfg->supabase_jwt_issuer,
		.leeway = cfg->jwt_leeway,
	};
	struct jwks *jwks = NULL;
	char *url = NULL;

	if (cfg->supabase_jwks_file != NULL && *cfg->supabase_jwks_file != '\0') {
		if ((jwks = jwks_new_file(cfg->supabase_jwks_file, cause)) == NULL)
			return NULL;
	} else if (cfg->supabase_jwks_url != NULL && *cfg->supabase_jwks_url != '\0') {
		jwks = jwks_new_url(cfg->supabase_jwks_url, AUTH_JWKS_TIMEOUT_MS);
	} else if (cfg->supabase_url != NULL && *cfg->supabase_url != '\0') {
		size_t n = strlen(cfg->supabase_url);

		while (n > 0 && cfg->supabase_url[n - 1] == '/')
			n--;
		url = g_strdup_printf("%.*s/auth/v1/.well-known/jwks.json", (int)n, cfg->supabase_url);
		jwks = jwks_new_url(url, AUTH_JWKS_TIMEOUT_MS);
		g_free(url);
	}
	if (jwks == NULL && (cfg->supabase_jwt_secret == NULL || *cfg->supabase_jwt_secret == '\0')) {
		*cause = g_strdup("no SUPABASE_JWT_SECRET and no JWKS: no token could be verified");
		return NULL;
	}
	return auth_jwt_new_from(cfg->supabase_jwt_secret, jwks, &policy);
}

void
auth_jwt_free(struct auth_jwt *v)
{
	if (v == NULL)
		return;
	if (v->secret != NULL)
		memset(v->secret, 0, v->secret_len);
	g_free(v->secret);
	jwks_free(v->jwks);
	g_free(v->audience);
	g_free(v->issuer);
	g_free(v);
}

void
auth_claims_clear(struct auth_claims *c)
{
	g_free(c->sub);
	g_free(c->email);
	g_free(c->role);
	memset(c, 0, sizeof *c);
}

/* A NumericDate: TRUE and *OUT when VALUE is a JSON number that fits an
 * int64 (seconds), so that converting it is defined. Jansson has already
 * refused integers beyond json_int_t and reals beyond a double's range;
 * a real such as 1e300 or -1e30 is refused here. An integer is taken as
 * it is: INT64_MAX as a double rounds up to 2^63, outside the range. */
static gboolean
auth_numeric_date(json_t *value, gint64 *out)
{
	double d;

	if (json_is_integer(value)) {
		*out = (gint64)json_integer_value(value);
		return TRUE;
	}
	if (!json_is_real(value))
		return FALSE;
	d = json_real_value(value);
	/* -2^63 <= d < 2^63, both exact as doubles; false for NaN. */
	if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0))
		return FALSE;
	*out = (gint64)d;
	return TRUE;
}

static gboolean
auth_audience_ok(json_t *aud, const char *want)
{
	json_t *item;
	size_t i;

	if (json_is_string(aud))
		return strcmp(json_string_value(aud), want) == 0;
	if (!json_is_array(aud))
		return FALSE;
	json_array_foreach(aud, i, item) {
		if (json_is_string(item) && strcmp(json_string_value(item), want) == 0)
			return TRUE;
	}
	return FALSE;
}

enum auth_status
auth_jwt_check_claims(const struct auth_policy *policy, json_t *claims, double now,
    struct auth_claims *out)
{
	json_t *v;
	gint64 t, exp;
	const char *sub, *email, *role;

	memset(out, 0, sizeof *out);
	if (!json_is_object(claims))
		return AUTH_INVALID;
	/* The order PyJWT checks in, so a token failing several checks gets
	 * the same detail as from the Python service. */
	if ((v = json_object_get(claims, "iat")) != NULL &&
	    (!auth_numeric_date(v, &t) || t > now + policy->leeway))
		return AUTH_INVALID;
	if ((v = json_object_get(claims, "nbf")) != NULL &&
	    (!auth_numeric_date(v, &t) || t > now + policy->leeway))
		return AUTH_INVALID;
	/* PyJWT lets a token without exp live for ever; ours must expire. */
	if (!auth_numeric_date(json_object_get(claims, "exp"), &exp))
		return AUTH_INVALID;
	if (exp <= now - policy->leeway)
		return AUTH_EXPIRED;
	if (policy->issuer != NULL && *policy->issuer != '\0') {
		v = json_object_get(claims, "iss");
		if (!json_is_string(v) || strcmp(json_string_value(v), policy->issuer) != 0)
			return AUTH_INVALID;
	}
	if (!auth_audience_ok(json_object_get(claims, "aud"), policy->audience))
		return AUTH_INVALID;
	sub = json_string_value(json_object_get(claims, "sub"));
	if (sub == NULL || *sub == '\0')
		return AUTH_NO_SUBJECT;
	v = json_object_get(claims, "email");
	if (v != NULL && !json_is_null(v) && !json_is_string(v))
		return AUTH_INVALID;
	email = json_string_value(v);
	role = json_string_value(json_object_get(claims, "role"));
	out->sub = g_strdup(sub);
	out->email = email != NULL && *email != '\0' ? g_strdup(email) : NULL;
	out->role = role != NULL ? g_strdup(role) : NULL;
	out->exp = exp;
	return AUTH_OK;
}

/* Decodes one base64url JSON segment into an object, or NULL. */
static json_t *
auth_segment_json(const char *seg, size_t len)
{
	size_t raw_len;
	guchar *raw = auth_b64url_decode(seg, len, &raw_len);
	json_t *obj;

	if (raw == NULL)
		return NULL;
	obj = json_loadb((const char *)raw, raw_len, JSON_REJECT_DUPLICATES, NULL);
	g_free(raw);
	if (obj != NULL && !json_is_object(obj)) {
		json_decref(obj);
		obj = NULL;
	}
	return obj;
}

json_t *
auth_jwt_payload(const char *token)
{
	const char *dot1 = strchr(token, '.'), *dot2 = dot1 != NULL ? strchr(dot1 + 1, '.') : NULL;

	if (dot2 == NULL)
		return NULL;
	return auth_segment_json(dot1 + 1, (size_t)(dot2 - dot1 - 1));
}

enum auth_status
auth_jwt_verify(struct auth_jwt *v, const char *token, double now, struct auth_claims *out)
{
	struct auth_policy policy = { v->audience, v->issuer, v->leeway };
	enum auth_status st = AUTH_INVALID;
	const char *dot1, *dot2, *alg_name, *typ, *kid;
	json_t *header = NULL, *claims = NULL;
	jwt_alg_t alg, key_alg;
	char *pem = NULL;
	const unsigned char *key;
	size_t key_len, token_len = strlen(token);
	jwt_t *jwt = NULL;

	memset(out, 0, sizeof *out);
	if (token_len == 0 || token_len > AUTH_MAX_TOKEN ||
	    (dot1 = strchr(token, '.')) == NULL || (dot2 = strchr(dot1 + 1, '.')) == NULL ||
	    strchr(dot2 + 1, '.') != NULL || dot2[1] == '\0')
		goto out;
	if ((header = auth_segment_json(token, (size_t)(dot1 - token))) == NULL ||
	    (claims = auth_segment_json(dot1 + 1, (size_t)(dot2 - dot1 - 1))) == NULL)
		goto out;
	/* The algorithm names are case-sensitive (RFC 7518); libjwt's are not,
	 * so only the exact spellings we pin keys to get through. */
	alg_name = json_string_value(json_object_get(header, "alg"));
	typ = json_string_value(json_object_get(header, "typ"));
	kid = json_string_value(json_object_get(header, "kid"));
	if (alg_name == NULL || (typ != NULL && g_ascii_strcasecmp(typ, "JWT") != 0) ||
	    json_object_get(header, "crit") != NULL)
		goto out;
	if (strcmp(alg_name, "HS256") == 0) {
		if (v->secret == NULL)
			goto out;
		alg = JWT_ALG_HS256;
		key = (const unsigned char *)v->secret;
		key_len = v->secret_len;
	} else if (strcmp(alg_name, "ES256") == 0 || strcmp(alg_name, "RS256") == 0) {
		alg = alg_name[0] == 'E' ? JWT_ALG_ES256 : JWT_ALG_RS256;
		if (v->jwks == NULL || kid == NULL)
			goto out;
		switch (jwks_lookup(v->jwks, kid, &key_alg, &pem)) {
		case JWKS_FOUND:
			break;
		case JWKS_UNAVAILABLE:
			st = AUTH_FAILED;
			goto out;
		case JWKS_UNKNOWN_KID:
			goto out;
		}
		/* A key serves the one algorithm it was published for. */
		if (key_alg != alg)
			goto out;
		key = (const unsigned char *)pem;
		key_len = strlen(pem);
	} else
		goto out;   /* none, HS384, PS256, ...: never accepted */
	if (key_len == 0)
		goto out;
	/* The header and claims parsed above, so a refusal here is the signature. */
	if (jwt_decode(&jwt, token, key, (int)key_len) != 0 || jwt == NULL) {
		st = AUTH_BAD_SIGNATURE;
		goto out;
	}
	if (jwt_get_alg(jwt) != alg)
		goto out;
	st = auth_jwt_check_claims(&policy, claims, floor(now), out);
out:
	jwt_free(jwt);
	g_free(pem);
	json_decref(header);
	json_decref(claims);
	return st;
}
