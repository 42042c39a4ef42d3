/* OpenID Connect providers (see oidc.h). */
#include "autoconfig.h"

#include <string.h>

#include "auth-jwt.h"
#include "config.h"
#include "http.h"
#include "jwks.h"
#include "log.h"
#include "oidc.h"

/* A failed discovery is tried again after this long, not at every sign-in. */
#define OIDC_RETRY_US (5 * G_USEC_PER_SEC)
#define OIDC_MAX_DOCUMENT (256 * 1024)
#define OIDC_DEFAULT_SCOPES "openid email profile"

struct oidc_provider {
	char *name;
	char *issuer;              /* as configured, no trailing slash */
	char *client_id;
	char *client_secret;       /* NULL: a public client */
	char *scopes;
	int timeout_ms;
	int leeway;
	GMutex lock;               /* guards what follows */
	gboolean discovered;
	gint64 retry_at_us;        /* monotonic: no discovery before this */
	char *authorization_endpoint;
	char *token_endpoint;
	gboolean client_secret_post; /* else client_secret_basic */
	struct auth_jwt *verifier; /* id_tokens: the JWKS, iss, aud */
};

struct oidc_set {
	GPtrArray *providers;
	char **names;
};

static void
oidc_provider_free(gpointer data)
{
	struct oidc_provider *p = data;

	g_free(p->name);
	g_free(p->issuer);
	g_free(p->client_id);
	g_free(p->client_secret);
	g_free(p->scopes);
	g_free(p->authorization_endpoint);
	g_free(p->token_endpoint);
	if (p->verifier != NULL)
		auth_jwt_free(p->verifier);
	g_mutex_clear(&p->lock);
	g_free(p);
}

static const char *
oidc_setting(const struct config *cfg, const char *upper, const char *part)
{
	char *key = g_strdup_printf("AUTH_OIDC_%s_%s", upper, part);
	const char *v = cfg->auth_oidc != NULL ? g_hash_table_lookup(cfg->auth_oidc, key) : NULL;

	g_free(key);
	return v;
}

struct oidc_set *
oidc_set_new(const struct config *cfg, char **cause)
{
	struct oidc_set *set = g_new0(struct oidc_set, 1);
	char **names = cfg->auth_oidc_providers != NULL ?
	    g_strsplit(cfg->auth_oidc_providers, ",", -1) : g_new0(char *, 1);
	GPtrArray *kept = g_ptr_array_new();

	set->providers = g_ptr_array_new_with_free_func(oidc_provider_free);
	for (int i = 0; names[i] != NULL; i++) {
		const char *name = g_strstrip(names[i]), *issuer, *client_id;
		char *upper = g_ascii_strup(name, -1);
		struct oidc_provider *p;

		issuer = oidc_setting(cfg, upper, "ISSUER");
		client_id = oidc_setting(cfg, upper, "CLIENT_ID");
		if (issuer == NULL || client_id == NULL) {
			*cause = g_strdup_printf("provider %s: AUTH_OIDC_%s_ISSUER and _CLIENT_ID are required",
			    name, upper);
			g_free(upper);
			g_strfreev(names);
			g_ptr_array_free(kept, TRUE);
			oidc_set_free(set);
			return NULL;
		}
		p = g_new0(struct oidc_provider, 1);
		g_mutex_init(&p->lock);
		p->name = g_strdup(name);
		p->issuer = g_strdup(issuer);
		while (g_str_has_suffix(p->issuer, "/"))
			p->issuer[strlen(p->issuer) - 1] = '\0';
		p->client_id = g_strdup(client_id);
		p->client_secret = g_strdup(oidc_setting(cfg, upper, "CLIENT_SECRET"));
		p->scopes = g_strdup(oidc_setting(cfg, upper, "SCOPES") != NULL ?
		    oidc_setting(cfg, upper, "SCOPES") : OIDC_DEFAULT_SCOPES);
		p->timeout_ms = cfg->auth_oidc_timeout_ms;
		p->leeway = cfg->jwt_leeway;
		g_ptr_array_add(set->providers, p);
		g_ptr_array_add(kept, p->name);
		g_free(upper);
	}
	g_strfreev(names);
	g_ptr_array_add(kept, NULL);
	set->names = (char **)g_ptr_array_free(kept, FALSE);
	return set;
}

void
oidc_set_free(struct oidc_set *set)
{
	if (set == NULL)
		return;
	g_free(set->names);   /* the strings are the providers' */
	g_ptr_array_unref(set->providers);
	g_free(set);
}

struct oidc_provider *
oidc_find(struct oidc_set *set, const char *name)
{
	for (guint i = 0; name != NULL && i < set->providers->len; i++) {
		struct oidc_provider *p = set->providers->pdata[i];

		if (strcmp(p->name, name) == 0)
			return p;
	}
	return NULL;
}

const char *const *
oidc_names(struct oidc_set *set)
{
	return (const char *const *)set->names;
}

/* An http(s) URL member of DOC, or NULL. */
static const char *
oidc_url_member(json_t *doc, const char *key)
{
	const char *v = json_string_value(json_object_get(doc, key));

	return v != NULL && (g_str_has_prefix(v, "https://") || g_str_has_prefix(v, "http://")) ? v : NULL;
}

static gboolean
oidc_lists(json_t *doc, const char *key, const char *want)
{
	json_t *item;
	size_t i;

	json_array_foreach(json_object_get(doc, key), i, item) {
		if (g_strcmp0(json_string_value(item), want) == 0)
			return TRUE;
	}
	return FALSE;
}

/* Fetches and checks the discovery document; the caller holds p->lock. */
static int
oidc_discover_locked(struct oidc_provider *p, char **cause)
{
	char *url = g_strdup_printf("%s/.well-known/openid-configuration", p->issuer);
	struct http_request rq = {
		.url = url, .timeout_s = (p->timeout_ms + 999) / 1000,
		.connect_timeout_s = (p->timeout_ms + 999) / 1000, .max_response = OIDC_MAX_DOCUMENT,
	};
	struct http_response resp = { 0 };
	json_t *doc = NULL;
	const char *issuer, *authz, *token, *jwks_uri;
	struct auth_policy policy = { .audience = p->client_id, .leeway = p->leeway };
	int rc = -1;

	if (http_request(&rq, &resp, cause) != 0)
		goto out;
	if (resp.status != 200) {
		*cause = g_strdup_printf("%s: HTTP %ld", url, resp.status);
		goto out;
	}
	doc = json_loadb((const char *)resp.body->data, resp.body->len, 0, NULL);
	issuer = json_string_value(json_object_get(doc, "issuer"));
	authz = oidc_url_member(doc, "authorization_endpoint");
	token = oidc_url_member(doc, "token_endpoint");
	jwks_uri = oidc_url_member(doc, "jwks_uri");
	if (!json_is_object(doc) || issuer == NULL || authz == NULL || token == NULL || jwks_uri == NULL) {
		*cause = g_strdup_printf("%s: not a discovery document (issuer, authorization_endpoint, "
		    "token_endpoint and jwks_uri are required)", url);
		goto out;
	}
	/* OpenID Connect Discovery 1.0, 4.3: the issuer must be the one asked. */
	if (strncmp(issuer, p->issuer, strlen(p->issuer)) != 0 ||
	    strspn(issuer + strlen(p->issuer), "/") != strlen(issuer + strlen(p->issuer))) {
		*cause = g_strdup_printf("%s: issuer is %s, not %s", url, issuer, p->issuer);
		goto out;
	}
	policy.issuer = issuer;
	p->authorization_endpoint = g_strdup(authz);
	p->token_endpoint = g_strdup(token);
	/* RFC 8414: client_secret_basic when the provider lists none. */
	p->client_secret_post = json_object_get(doc, "token_endpoint_auth_methods_supported") != NULL &&
	    !oidc_lists(doc, "token_endpoint_auth_methods_supported", "client_secret_basic") &&
	    oidc_lists(doc, "token_endpoint_auth_methods_supported", "client_secret_post");
	p->verifier = auth_jwt_new_from(NULL, jwks_new_url(jwks_uri, p->timeout_ms), &policy);
	p->discovered = TRUE;
	log_info("oidc %s: discovered %s (token endpoint %s, %s)", p->name, issuer, token,
	    p->client_secret_post ? "client_secret_post" : "client_secret_basic");
	rc = 0;
out:
	json_decref(doc);
	http_response_clear(&resp);
	g_free(url);
	return rc;
}

/* The provider's endpoints are known: 0, or -1 and *cause. */
static int
oidc_discover(struct oidc_provider *p, char **cause)
{
	gint64 now = g_get_monotonic_time();
	int rc = 0;

	g_mutex_lock(&p->lock);
	if (p->discovered)
		goto out;
	if (now < p->retry_at_us) {
		*cause = g_strdup_printf("provider %s: discovery failed moments ago", p->name);
		rc = -1;
		goto out;
	}
	if ((rc = oidc_discover_locked(p, cause)) != 0) {
		p->retry_at_us = g_get_monotonic_time() + OIDC_RETRY_US;
		log_warn("oidc %s: discovery failed: %s", p->name, *cause);
	}
out:
	g_mutex_unlock(&p->lock);
	return rc;
}

/* Appends KEY=VALUE, form-encoded, to OUT (with '&' unless OUT is empty
 * or ends in '?'). */
static void
oidc_param(GString *out, const char *key, const char *value)
{
	char *v = g_uri_escape_string(value, NULL, FALSE);

	if (out->len > 0 && out->str[out->len - 1] != '?')
		g_string_append_c(out, '&');
	g_string_append_printf(out, "%s=%s", key, v);
	g_free(v);
}

/* The configured scopes, EXTRA ones and openid, each once. */
static char *
oidc_scopes(const char *configured, const char *extra)
{
	char *all = g_strdup_printf("openid %s %s", configured, extra != NULL ? extra : "");
	char **words = g_strsplit_set(all, " ,", -1);
	GString *out = g_string_new(NULL);

	for (int i = 0; words[i] != NULL; i++) {
		gboolean seen = *words[i] == '\0';

		for (int j = 0; j < i && !seen; j++)
			seen = strcmp(words[i], words[j]) == 0;
		if (!seen)
			g_string_append_printf(out, "%s%s", out->len > 0 ? " " : "", words[i]);
	}
	g_strfreev(words);
	g_free(all);
	return g_string_free(out, FALSE);
}

char *
oidc_authorize_url(struct oidc_provider *p, const char *redirect_uri, const char *extra_scopes,
    const char *state, const char *nonce, char **cause)
{
	GString *url;
	char *scopes;

	if (oidc_discover(p, cause) != 0)
		return NULL;
	url = g_string_new(p->authorization_endpoint);
	g_string_append_c(url, strchr(url->str, '?') != NULL ? '&' : '?');
	scopes = oidc_scopes(p->scopes, extra_scopes);
	oidc_param(url, "response_type", "code");
	oidc_param(url, "client_id", p->client_id);
	oidc_param(url, "redirect_uri", redirect_uri);
	oidc_param(url, "scope", scopes);
	oidc_param(url, "state", state);
	oidc_param(url, "nonce", nonce);
	g_free(scopes);
	return g_string_free(url, FALSE);
}

/* POSTs the code to the token endpoint: OIDC_OK and the response's JSON
 * object in *DOC, or why not. */
static enum oidc_result
oidc_token_request(struct oidc_provider *p, const char *code, const char *redirect_uri,
    json_t **doc, char **cause)
{
	GString *form = g_string_new(NULL);
	char *basic = NULL, *id = NULL, *secret = NULL, *pair, *b64;
	const char *headers[] = { "Content-Type: application/x-www-form-urlencoded",
	    "Accept: application/json", NULL, NULL };
	struct http_request rq = {
		.method = "POST", .url = p->token_endpoint, .headers = headers,
		.timeout_s = (p->timeout_ms + 999) / 1000, .connect_timeout_s = (p->timeout_ms + 999) / 1000,
		.max_response = OIDC_MAX_DOCUMENT,
	};
	struct http_response resp = { 0 };
	enum oidc_result res = OIDC_UNAVAILABLE;
	const char *err;

	oidc_param(form, "grant_type", "authorization_code");
	oidc_param(form, "code", code);
	oidc_param(form, "redirect_uri", redirect_uri);
	if (p->client_secret == NULL || p->client_secret_post) {
		oidc_param(form, "client_id", p->client_id);
		if (p->client_secret != NULL)
			oidc_param(form, "client_secret", p->client_secret);
	} else {
		/* RFC 6749, 2.3.1: each part form-encoded, then base64. */
		id = g_uri_escape_string(p->client_id, NULL, FALSE);
		secret = g_uri_escape_string(p->client_secret, NULL, FALSE);
		pair = g_strdup_printf("%s:%s", id, secret);
		b64 = g_base64_encode((const guchar *)pair, strlen(pair));
		basic = g_strdup_printf("Authorization: Basic %s", b64);
		headers[2] = basic;
		g_free(b64);
		g_free(pair);
	}
	rq.body = form->str;
	rq.body_len = form->len;
	if (http_request(&rq, &resp, cause) != 0)
		goto out;
	*doc = json_loadb((const char *)resp.body->data, resp.body->len, 0, NULL);
	if (resp.status == 200 && json_is_object(*doc)) {
		res = OIDC_OK;
		goto out;
	}
	err = json_string_value(json_object_get(*doc, "error"));
	*cause = g_strdup_printf("token endpoint: HTTP %ld%s%s%s%s", resp.status,
	    err != NULL ? " " : "", err != NULL ? err : "",
	    json_string_value(json_object_get(*doc, "error_description")) != NULL ? ": " : "",
	    json_string_value(json_object_get(*doc, "error_description")) != NULL ?
	    json_string_value(json_object_get(*doc, "error_description")) : "");
	if (resp.status >= 400 && resp.status < 500)
		res = OIDC_REFUSED;
	g_clear_pointer(doc, json_decref);
out:
	http_response_clear(&resp);
	g_string_free(form, TRUE);
	g_free(basic);
	g_free(id);
	g_free(secret);
	return res;
}

/* Verifies ID_TOKEN: OIDC_OK and *CLAIMS, or why not. */
static enum oidc_result
oidc_verify(struct oidc_provider *p, const char *id_token, const char *nonce, json_t **claims,
    char **cause)
{
	struct auth_claims ac = { 0 };
	enum auth_status st;
	json_t *doc;
	const char *got;

	st = auth_jwt_verify(p->verifier, id_token, (double)g_get_real_time() / G_USEC_PER_SEC, &ac);
	auth_claims_clear(&ac);
	if (st == AUTH_FAILED) {
		*cause = g_strdup("id_token: the provider's JWKS is unavailable");
		return OIDC_UNAVAILABLE;
	}
	if (st != AUTH_OK) {
		*cause = g_strdup_printf("id_token refused: %s (signature, iss, aud, exp or sub)",
		    auth_status_detail(st));
		return OIDC_REFUSED;
	}
	doc = auth_jwt_payload(id_token);
	got = json_string_value(json_object_get(doc, "nonce"));
	if (got == NULL || strcmp(got, nonce) != 0) {
		*cause = g_strdup("id_token refused: its nonce is not this sign-in's");
		json_decref(doc);
		return OIDC_REFUSED;
	}
	*claims = doc;
	return OIDC_OK;
}

enum oidc_result
oidc_sign_in(struct oidc_provider *p, const char *code, const char *redirect_uri,
    const char *nonce, json_t **claims, char **access_token, char **cause)
{
	json_t *doc = NULL;
	const char *id_token, *at;
	enum oidc_result res;

	*claims = NULL;
	*access_token = NULL;
	if (oidc_discover(p, cause) != 0)
		return OIDC_UNAVAILABLE;
	if ((res = oidc_token_request(p, code, redirect_uri, &doc, cause)) != OIDC_OK)
		return res;
	id_token = json_string_value(json_object_get(doc, "id_token"));
	if (id_token == NULL) {
		*cause = g_strdup("token endpoint: no id_token (is openid among the scopes?)");
		res = OIDC_REFUSED;
	} else if ((res = oidc_verify(p, id_token, nonce, claims, cause)) == OIDC_OK) {
		at = json_string_value(json_object_get(doc, "access_token"));
		*access_token = at != NULL ? g_strdup(at) : NULL;
	}
	json_decref(doc);
	return res;
}
