#include "autoconfig.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "clientaddr.h"
#include "config.h"
#include "log.h"
#include "providers.h"
#include "ratelimit.h"
#include "redis-sentinel.h"
#include "redis.h"

enum config_type { CONFIG_STRING, CONFIG_BOOL, CONFIG_INT };

#define SECRET   0x01u   /* masked by config_dump */
#define URL_PASS 0x02u   /* a URL whose password is masked */

struct config_entry {
	const char *name;
	enum config_type type;
	size_t offset;
	const char *def;      /* default as text; NULL: unset */
	unsigned flags;
	unsigned required;    /* CONFIG_FOR_* programs that need it set */
	long min, max;        /* CONFIG_INT bounds */
	int (*check)(const char *value, char **cause);
	const char *help;
};

static int config_check_db_url(const char *, char **);
static int config_check_redis_url(const char *, char **);
static int config_check_log_level(const char *, char **);
static int config_check_sendfile(const char *, char **);
static int config_check_http_url(const char *, char **);
static int config_check_json_list(const char *, char **);
static int config_check_dashboard_path(const char *, char **);
static int config_check_dashboard_users(const char *, char **);
static int config_check_dashboard_token(const char *, char **);
static int config_check_metrics_listen(const char *, char **);

#define S(n, f, d, fl, req, chk, h) { n, CONFIG_STRING, offsetof(struct config, f), d, fl, req, 0, 0, chk, h }
#define B(n, f, d, h) { n, CONFIG_BOOL, offsetof(struct config, f), d, 0, 0, 0, 0, NULL, h }
#define I(n, f, d, lo, hi, h) { n, CONFIG_INT, offsetof(struct config, f), d, 0, 0, lo, hi, NULL, h }
#define ALL (CONFIG_FOR_API | CONFIG_FOR_WORKER | CONFIG_FOR_CTL)
#define SERVERS (CONFIG_FOR_API | CONFIG_FOR_WORKER)

/* Every setting, its type and default. Names shared with the Python service
 * keep its spelling; the rest are ours. etc/podcast-pro.env.example and
 * README.md list the same table. */
static const struct config_entry config_table[] = {
	S("DATABASE_URL", database_url, NULL, URL_PASS, SERVERS, config_check_db_url,
	    "PostgreSQL URL or conninfo; keepalives and connect_timeout are added unless set"),
	B("SQL_ECHO", sql_echo, "false", "log every statement with its duration"),
	I("DB_POOL_SIZE", db_pool_size, "5", 1, 1000, "connections kept per process"),
	I("DB_MAX_OVERFLOW", db_max_overflow, "5", 0, 1000, "extra connections per process under load"),
	I("DB_POOL_TIMEOUT", db_pool_timeout, "30", 0, 3600, "seconds to wait for a connection, then 503"),
	I("DB_POOL_RECYCLE", db_pool_recycle, "1800", 0, 86400, "seconds before a connection is replaced"),
	I("DB_PRE_PING_IDLE", db_pre_ping_idle, "5", 0, 3600, "ping connections idle longer than this (s)"),
	S("DATABASE_REPLICA_URL", database_replica_url, NULL, URL_PASS, 0, NULL,
	    "read replicas for the API's list and get (URLs separated by spaces), used while their lag is under DB_REPLICA_MAX_LAG"),
	I("DB_REPLICA_MAX_LAG", db_replica_max_lag, "1", 0, 3600, "seconds a read replica may lag and still serve reads"),
	B("DB_TRANSACTION_POOLER", db_transaction_pooler, "false",
	    "DATABASE_URL is a transaction-pooling PgBouncer: no named prepared statements, no session settings"),
	S("REDIS_URL", redis_url, "redis://127.0.0.1:6379/0", URL_PASS, 0, config_check_redis_url,
	    "redis://[:password@]host[:port][/db] or unix:///path/to/socket"),
	I("REDIS_TIMEOUT_MS", redis_timeout_ms, "1000", 10, 60000, "Redis connect and command timeout"),
	S("REDIS_SENTINELS", redis_sentinels, NULL, 0, 0, redis_sentinel_check,
	    "host:port,... of Redis Sentinels; set: the master is the one they name, REDIS_URL gives only "
	    "user, password and db"),
	S("REDIS_SENTINEL_MASTER", redis_sentinel_master, "mymaster", 0, 0, redis_sentinel_check_name,
	    "the master's name in the sentinels' \"sentinel monitor\""),
	S("REDIS_SENTINEL_PASSWORD", redis_sentinel_password, NULL, SECRET, 0, NULL,
	    "the sentinels' own password (their requirepass), when they have one"),
	S("SUPABASE_JWT_SECRET", supabase_jwt_secret, NULL, SECRET, 0, NULL,
	    "HS256 secret for access tokens (this or a JWKS is required by the API)"),
	S("SUPABASE_JWT_AUDIENCE", supabase_jwt_audience, "authenticated", 0, 0, NULL, "required aud claim"),
	S("SUPABASE_JWT_ISSUER", supabase_jwt_issuer, NULL, 0, 0, NULL, "required iss claim, when set"),
	S("SUPABASE_URL", supabase_url, NULL, 0, 0, config_check_http_url, "https://<ref>.supabase.co"),
	S("SUPABASE_ANON_KEY", supabase_anon_key, NULL, SECRET, 0, NULL, "Supabase anon key (auth endpoints)"),
	S("SUPABASE_JWKS_URL", supabase_jwks_url, NULL, 0, 0, config_check_http_url,
	    "JWKS for ES256/RS256 tokens; default {SUPABASE_URL}/auth/v1/.well-known/jwks.json"),
	S("SUPABASE_JWKS_FILE", supabase_jwks_file, NULL, 0, 0, NULL, "a JWKS document on disk instead of a URL"),
	I("JWT_LEEWAY", jwt_leeway, "30", 0, 3600, "seconds of clock skew allowed for exp and nbf"),
	I("AUTH_PASSWORD_MIN_LENGTH", auth_password_min_length, "6", 1, 1024,
	    "built-in accounts: shortest password accepted (GoTrue's GOTRUE_PASSWORD_MIN_LENGTH)"),
	I("AUTH_JWT_EXPIRY", auth_jwt_expiry, "3600", 30, 604800,
	    "built-in accounts: access token lifetime in seconds (GoTrue's GOTRUE_JWT_EXP)"),
	I("AUTH_REFRESH_REUSE_INTERVAL", auth_refresh_reuse_interval, "10", 0, 3600,
	    "built-in accounts: seconds a spent refresh token may still be exchanged before reuse ends its session"),
	B("AUTH_DISABLE_SIGNUP", auth_disable_signup, "false", "built-in accounts: refuse new signups"),
	B("AUTH_MAILER_AUTOCONFIRM", auth_mailer_autoconfirm, "true",
	    "built-in accounts: false: a new account signs in only after the link mailed to it (GoTrue's GOTRUE_MAILER_AUTOCONFIRM)"),
	I("AUTH_MAILER_OTP_EXP", auth_mailer_otp_exp, "3600", 1, 86400,
	    "built-in accounts: seconds a mailed link works (GoTrue's GOTRUE_MAILER_OTP_EXP)"),
	S("SMTP_HOST", smtp_host, NULL, 0, 0, NULL,
	    "mail server for the accounts' mails; unset: the responder logs the links instead"),
	I("SMTP_PORT", smtp_port, "587", 1, 65535, "mail server port (465: TLS from the start)"),
	S("SMTP_USERNAME", smtp_username, NULL, 0, 0, NULL, "mail server login; unset: none"),
	S("SMTP_PASSWORD", smtp_password, NULL, SECRET, 0, NULL, "mail server password"),
	B("SMTP_USE_TLS", smtp_use_tls, "true", "require STARTTLS (port 465: TLS from the start)"),
	S("SMTP_FROM_EMAIL", smtp_from_email, "noreply@podcast-pro.com", 0, 0, NULL,
	    "From: of the mails (an address, or Name <address>)"),
	S("AUTH_SITE_URL", auth_site_url, NULL, 0, 0, config_check_http_url,
	    "built-in accounts: the frontend's URL; redirects to its origin are allowed, and it is where they go otherwise (GoTrue's SITE_URL)"),
	S("AUTH_REDIRECT_ALLOW_LIST", auth_redirect_allow_list, NULL, 0, 0, NULL,
	    "built-in accounts: comma-separated URL patterns redirect_to may match (* ** ?; GoTrue's URI_ALLOW_LIST)"),
	S("AUTH_OIDC_PROVIDERS", auth_oidc_providers, NULL, 0, 0, NULL,
	    "built-in accounts: OpenID Connect providers by name (e.g. google); each needs AUTH_OIDC_<NAME>_ISSUER and _CLIENT_ID, "
	    "may have _CLIENT_SECRET and _SCOPES"),
	I("AUTH_OIDC_TIMEOUT_MS", auth_oidc_timeout_ms, "5000", 100, 60000,
	    "built-in accounts: one request to an OpenID Connect provider (discovery, token, JWKS)"),
	S("AWS_ACCESS_KEY_ID", aws_access_key_id, NULL, 0, 0, NULL, "S3 credentials; unset: local storage"),
	S("AWS_SECRET_ACCESS_KEY", aws_secret_access_key, NULL, SECRET, 0, NULL, "S3 secret key"),
	S("AWS_S3_BUCKET_NAME", aws_s3_bucket_name, NULL, 0, 0, NULL, "S3 bucket; unset: local storage"),
	S("AWS_REGION", aws_region, "us-east-1", 0, 0, NULL, "S3 region"),
	S("AWS_S3_ENDPOINT_URL", aws_s3_endpoint_url, NULL, 0, 0, config_check_http_url,
	    "S3-compatible endpoint, path-style (default: AWS virtual-hosted)"),
	S("STORAGE_DIR", storage_dir, "./var/storage", 0, 0, NULL, "local storage root when S3 is not set"),
	S("STORAGE_SECRET", storage_secret, NULL, SECRET, 0, NULL,
	    "HMAC key for local upload forms and stream URLs (default: derived from SUPABASE_JWT_SECRET)"),
	S("PUBLIC_URL", public_url, "http://127.0.0.1:8080", 0, 0, config_check_http_url,
	    "the API's public base URL, used in upload and stream URLs"),
	I("MAX_FILE_SIZE_MB", max_file_size_mb, "10", 1, 4096, "largest upload, MiB"),
	S("UPLOAD_CONTENT_TYPES", upload_content_types,
	    "application/pdf,text/plain,text/markdown,text/html,application/xhtml+xml,application/epub+zip,"
	    "application/vnd.openxmlformats-officedocument.wordprocessingml.document", 0, 0, NULL,
	    "comma-separated Content-Types of upload forms: the one fitting the file's extension, else the first"),
	I("STREAM_URL_TTL", stream_url_ttl, "3600", 1, 604800, "seconds a stream URL stays valid"),
	S("SENDFILE_MODE", sendfile_mode, "nginx", 0, 0, config_check_sendfile,
	    "how local audio is handed to the web server: nginx (X-Accel-Redirect), lighttpd (X-Sendfile), off"),
	S("SCRIPT_WRITER", script_writer, "auto", 0, 0, provider_check_writer_name,
	    "auto (gemini with GOOGLE_API_KEY, else openai with OPENAI_API_KEY or OPENAI_BASE_URL, else builtin), "
	    "gemini, openai or builtin (doc/pipeline.md)"),
	S("VOICE_PROVIDER", voice_provider, "auto", 0, 0, provider_check_voice_name,
	    "auto (elevenlabs with ELEVENLABS_API_KEY, else espeak), elevenlabs or espeak"),
	S("GOOGLE_API_KEY", google_api_key, NULL, SECRET, 0, NULL, "Gemini key; unset: the offline writer"),
	S("GEMINI_MODEL", gemini_model, "gemini-2.5-flash", 0, 0, NULL, "Gemini model name"),
	S("GEMINI_API_URL", gemini_api_url, "https://generativelanguage.googleapis.com", 0, 0,
	    config_check_http_url, "Gemini API base URL"),
	S("OPENAI_API_KEY", openai_api_key, NULL, SECRET, 0, NULL,
	    "key of an OpenAI-compatible API (sent as Authorization: Bearer); a local server may need none"),
	S("OPENAI_BASE_URL", openai_base_url, NULL, 0, 0, config_check_http_url,
	    "its base URL with the version: https://api.openai.com/v1 (unset), http://127.0.0.1:11434/v1 (Ollama)"),
	S("OPENAI_MODEL", openai_model, "gpt-4o-mini", 0, 0, NULL, "model of the OpenAI-compatible writer"),
	S("ELEVENLABS_API_KEY", elevenlabs_api_key, NULL, SECRET, 0, NULL, "ElevenLabs key; unset: espeak-ng"),
	S("ELEVENLABS_API_URL", elevenlabs_api_url, "https://api.elevenlabs.io", 0, 0, config_check_http_url,
	    "ElevenLabs API base URL"),
	S("ELEVENLABS_MODEL", elevenlabs_model, "eleven_multilingual_v2", 0, 0, NULL, "ElevenLabs model_id"),
	S("ELEVENLABS_VOICE_DOROTHY", elevenlabs_voice_dorothy, "ThT5KcBeYPX3keUQqHPh", 0, 0, NULL, "voice of Dorothy"),
	S("ELEVENLABS_VOICE_WILL", elevenlabs_voice_will, "bIHbv24MWmeRgasZH58o", 0, 0, NULL, "voice of Will"),
	I("ELEVENLABS_CONCURRENCY", elevenlabs_concurrency, "4", 1, 15, "lines synthesised at once"),
	S("ESPEAK_VOICE_DOROTHY", espeak_voice_dorothy, "en-us+f3", 0, 0, NULL, "espeak-ng voice of Dorothy"),
	S("ESPEAK_VOICE_WILL", espeak_voice_will, "en-gb+m3", 0, 0, NULL, "espeak-ng voice of Will"),
	I("DOCUMENT_MAX_CHARS", document_max_chars, "40000", 1000, 10000000, "document text kept for the script"),
	I("PROVIDER_TIMEOUT", provider_timeout, "120", 1, 3600, "seconds for one provider request"),
	S("CORS_ORIGINS", cors_origins, "[\"http://localhost:3000\",\"http://127.0.0.1:3000\"]", 0, 0,
	    config_check_json_list, "JSON list of allowed origins"),
	B("RATE_LIMIT_ENABLED", rate_limit_enabled, "true", "per-client limits (RATE_LIMITS)"),
	S("RATE_LIMITS", rate_limits, "", 0, 0, ratelimit_check_spec, "overrides, e.g. create_podcast=10/hour,health=off"),
	S("TRUSTED_PROXIES", trusted_proxies, "", 0, 0, clientaddr_check_cidrs, "CIDR list whose X-Forwarded-For is believed"),
	B("API_GENERATION_ENABLED", api_generation_enabled, "true", "false: POST /podcasts/ answers 503"),
	I("MAX_REQUEST_BODY", max_request_body, "1048576", 1024, 1073741824, "largest JSON body, bytes (413 above)"),
	I("HEALTH_READY_TIMEOUT_MS", health_ready_timeout_ms, "2000", 100, 60000, "/health/ready answers within this"),
	I("SHUTDOWN_TIMEOUT", shutdown_timeout, "30", 0, 3600, "seconds in-flight requests get on SIGTERM"),
	S("DASHBOARD_PATH", dashboard_path, "/dashboard", 0, 0, config_check_dashboard_path,
	    "where the responder serves the job dashboard (doc/dashboard.md)"),
	S("DASHBOARD_USERS", dashboard_users, NULL, SECRET, 0, config_check_dashboard_users,
	    "user:password,... for the dashboard (basic auth; a password may be a crypt(3) hash); unset with no token: off"),
	S("DASHBOARD_TOKEN", dashboard_token, NULL, SECRET, 0, config_check_dashboard_token,
	    "bearer token for the dashboard (at least 16 characters); unset with no users: off"),
	S("METRICS_LISTEN", metrics_listen, NULL, 0, 0, config_check_metrics_listen,
	    "HOST:PORT (or *:PORT) of the web server's listener that may ask for /metrics (doc/metrics.md); unset: off"),
	S("METRICS_TOKEN", metrics_token, NULL, SECRET, 0, config_check_dashboard_token,
	    "bearer token /metrics also wants, when set (at least 16 characters)"),
	S("LOG_LEVEL", log_level, "info", 0, 0, config_check_log_level, "debug, info, warning or error"),
	S("LOG_FILE", log_file, NULL, 0, 0, NULL, "append logs to this file (reopened on SIGHUP); unset: stderr"),
	S("WORKER_QUEUES", worker_queues, "podcasts,default", 0, 0, NULL, "queues the worker consumes"),
	S("WORKER_NAME", worker_name, "pp@%h", 0, 0, NULL,
	    "the worker's name, unique across hosts (%h: host name, %p: pid); --hostname wins"),
	I("WORKER_CONCURRENCY", worker_concurrency, "4", 1, 256, "job children"),
	I("WORKER_MAX_TASKS_PER_CHILD", worker_max_tasks_per_child, "1000", 1, 100000000, "jobs before a child is replaced"),
	I("WORKER_SHUTDOWN_GRACE", worker_shutdown_grace, "60", 0, 86400, "seconds running jobs get on SIGTERM"),
	I("JOB_VISIBILITY_TIMEOUT", job_visibility_timeout, "60", 2, 86400, "seconds without heartbeat before a job is reclaimed"),
	I("JOB_MAX_DELIVERIES", job_max_deliveries, "10", 1, 1000, "deliveries before a job is dead (poison)"),
	I("TASK_SOFT_TIME_LIMIT", task_soft_time_limit, "1800", 1, 604800, "seconds before a task is asked to stop"),
	I("TASK_HARD_TIME_LIMIT", task_hard_time_limit, "2100", 1, 604800, "seconds before a task's child is killed"),
	I("RETRY_MAX", retry_max, "3", 0, 1000, "default max_retries"),
	I("RETRY_BACKOFF", retry_backoff, "1", 0, 86400, "default backoff factor, seconds"),
	I("RETRY_BACKOFF_MAX", retry_backoff_max, "600", 0, 604800, "default backoff cap, seconds"),
	B("RETRY_JITTER", retry_jitter, "true", "full jitter on retry delays"),
	I("SWEEPER_INTERVAL", sweeper_interval, "30", 1, 86400, "seconds between sweeps for unqueued podcasts"),
};

static struct config *config_current;

const struct config *
config_get(void)
{
	return config_current;
}

void
config_set(struct config *cfg)
{
	struct config *old = config_current;

	config_current = cfg;
	config_free(old);
}

void
config_free(struct config *cfg)
{
	if (cfg == NULL)
		return;
	for (size_t i = 0; i < G_N_ELEMENTS(config_table); i++) {
		if (config_table[i].type == CONFIG_STRING)
			g_free(G_STRUCT_MEMBER(char *, cfg, config_table[i].offset));
	}
	if (cfg->auth_oidc != NULL)
		g_hash_table_unref(cfg->auth_oidc);
	g_free(cfg);
}

static int
config_check_db_url(const char *value, char **cause)
{
	char *err = NULL;
	PQconninfoOption *opts = PQconninfoParse(value, &err);

	if (opts == NULL) {
		*cause = g_strdup_printf("not a PostgreSQL URL or conninfo: %s",
		    err != NULL ? g_strchomp(err) : "out of memory");
		PQfreemem(err);
		return -1;
	}
	PQconninfoFree(opts);
	return 0;
}

/* The whole URL, as redis_connect() will read it; the cause never quotes
 * the password. */
static int
config_check_redis_url(const char *value, char **cause)
{
	struct redis_url u;

	if (redis_url_parse(value, &u, cause) != 0)
		return -1;
	redis_url_clear(&u);
	return 0;
}

static int
config_check_log_level(const char *value, char **cause)
{
	enum log_level level;

	if (log_parse_level(value, &level) == 0)
		return 0;
	*cause = g_strdup("must be debug, info, warning or error");
	return -1;
}

static int
config_check_sendfile(const char *value, char **cause)
{
	if (strcmp(value, "nginx") == 0 || strcmp(value, "lighttpd") == 0 || strcmp(value, "off") == 0)
		return 0;
	*cause = g_strdup("must be nginx, lighttpd or off");
	return -1;
}

static int
config_check_http_url(const char *value, char **cause)
{
	if (g_str_has_prefix(value, "http://") || g_str_has_prefix(value, "https://"))
		return 0;
	*cause = g_strdup("must be an http:// or https:// URL");
	return -1;
}

static int
config_check_json_list(const char *value, char **cause)
{
	/* A JSON list of strings; checked without a JSON library to keep this
	 * file free of one: the API parses it with Jansson and reports again. */
	const char *p = value;

	while (g_ascii_isspace(*p))
		p++;
	if (*p == '[')
		return 0;
	*cause = g_strdup("must be a JSON list, e.g. [\"https://app.example.com\"]");
	return -1;
}

/* "/a" or "/a/b": segments of URL-safe characters, no trailing slash. */
static int
config_check_dashboard_path(const char *value, char **cause)
{
	const char *p = value;

	if (*p != '/' || p[1] == '\0')
		goto bad;
	for (; *p != '\0'; p++) {
		if (*p == '/' && (p[1] == '/' || p[1] == '\0' || p[1] == '.'))
			goto bad;
		if (*p != '/' && !g_ascii_isalnum(*p) && strchr("-._~", *p) == NULL)
			goto bad;
	}
	return 0;
bad:
	*cause = g_strdup("must be a path such as /dashboard or /ops/jobs (letters, digits, - . _ ~; "
	    "no trailing slash)");
	return -1;
}

/* HOST:PORT, [IPv6]:PORT or *:PORT, as the web server reports its
 * listener in SERVER_ADDR and SERVER_PORT. */
static int
config_check_metrics_listen(const char *value, char **cause)
{
	const char *colon = strrchr(value, ':');
	char *end;
	long port;

	if (colon == NULL || colon == value)
		goto bad;
	port = strtol(colon + 1, &end, 10);
	if (colon[1] == '\0' || *end != '\0' || port < 1 || port > 65535)
		goto bad;
	if (value[0] == '[' ? colon[-1] != ']' : memchr(value, ':', (size_t)(colon - value)) != NULL)
		goto bad;
	return 0;
bad:
	*cause = g_strdup("must be HOST:PORT of the web server's metrics listener, e.g. 127.0.0.1:9464, "
	    "[::1]:9464 or *:9464");
	return -1;
}

/* user:password[,user:password...]; names without ':' or ','. */
static int
config_check_dashboard_users(const char *value, char **cause)
{
	char **pairs = g_strsplit(value, ",", -1);
	int rc = 0;

	for (int i = 0; pairs[i] != NULL && rc == 0; i++) {
		const char *pair = g_strstrip(pairs[i]), *colon = strchr(pair, ':');

		if (colon == NULL || colon == pair || colon[1] == '\0') {
			*cause = g_strdup_printf("entry %d is not user:password", i + 1);
			rc = -1;
		}
	}
	g_strfreev(pairs);
	return rc;
}

static int
config_check_dashboard_token(const char *value, char **cause)
{
	if (strlen(value) >= 16)
		return 0;
	*cause = g_strdup("must be at least 16 characters long");
	return -1;
}

static int
config_parse_bool(const char *text, gboolean *out)
{
	static const char *const yes[] = { "1", "true", "yes", "on" };
	static const char *const no[] = { "0", "false", "no", "off" };

	for (size_t i = 0; i < G_N_ELEMENTS(yes); i++) {
		if (g_ascii_strcasecmp(text, yes[i]) == 0) {
			*out = TRUE;
			return 0;
		}
		if (g_ascii_strcasecmp(text, no[i]) == 0) {
			*out = FALSE;
			return 0;
		}
	}
	return -1;
}

/* Unquotes one value as systemd does: '...' literally, "..." with \-escapes. */
static char *
config_unquote(const char *v)
{
	size_t n = strlen(v);
	GString *out;

	if (n >= 2 && v[0] == '\'' && v[n - 1] == '\'')
		return g_strndup(v + 1, n - 2);
	if (!(n >= 2 && v[0] == '"' && v[n - 1] == '"'))
		return g_strdup(v);
	out = g_string_sized_new(n);
	for (size_t i = 1; i < n - 1; i++) {
		if (v[i] == '\\' && i + 1 < n - 1) {
			i++;
			switch (v[i]) {
			case 'n': g_string_append_c(out, '\n'); break;
			case 't': g_string_append_c(out, '\t'); break;
			default: g_string_append_c(out, v[i]); break;
			}
		} else
			g_string_append_c(out, v[i]);
	}
	return g_string_free(out, FALSE);
}

GHashTable *
config_read_env_file(const char *path, char **cause)
{
	GHashTable *vars = NULL;
	GError *error = NULL;
	char *text = NULL, **lines = NULL;
	GString *logical = g_string_new(NULL);

	if (!g_file_get_contents(path, &text, NULL, &error)) {
		*cause = g_strdup_printf("%s: %s", path, error->message);
		goto out;
	}
	vars = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	lines = g_strsplit(text, "\n", -1);
	for (int i = 0; lines[i] != NULL; i++) {
		char *line = g_strstrip(lines[i]), *eq, *key;
		size_t len = strlen(line);

		/* A trailing backslash joins the next line, as systemd reads it. */
		if (len > 0 && line[len - 1] == '\\') {
			g_string_append_len(logical, line, len - 1);
			continue;
		}
		g_string_append(logical, line);
		line = g_strstrip(logical->str);
		if (*line == '\0' || *line == '#' || *line == ';') {
			g_string_truncate(logical, 0);
			continue;
		}
		eq = strchr(line, '=');
		if (eq == NULL) {
			*cause = g_strdup_printf("%s:%d: expected KEY=VALUE", path, i + 1);
			g_hash_table_unref(vars);
			vars = NULL;
			goto out;
		}
		*eq = '\0';
		key = g_strstrip(g_strdup(line));
		g_hash_table_replace(vars, key, config_unquote(g_strstrip(eq + 1)));
		g_string_truncate(logical, 0);
	}
out:
	g_string_free(logical, TRUE);
	g_strfreev(lines);
	g_free(text);
	g_clear_error(&error);
	return vars;
}

/* The settings of each provider named in AUTH_OIDC_PROVIDERS
 * (AUTH_OIDC_<NAME>_ISSUER, _CLIENT_ID, _CLIENT_SECRET, _SCOPES; NAME
 * upper-cased) from the environment over FILE, into cfg->auth_oidc (full
 * variable name -> value); what is missing or malformed goes to ERRS. */
static void
config_load_oidc(struct config *cfg, GHashTable *file, GPtrArray *errs)
{
	static const char *const parts[] = { "ISSUER", "CLIENT_ID", "CLIENT_SECRET", "SCOPES" };
	char **names;

	if (cfg->auth_oidc_providers == NULL)
		return;
	cfg->auth_oidc = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	names = g_strsplit(cfg->auth_oidc_providers, ",", -1);
	for (int i = 0; names[i] != NULL; i++) {
		const char *name = g_strstrip(names[i]);
		char *upper = g_ascii_strup(name, -1), *cause = NULL;

		if (*name == '\0' || strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_") != strlen(name))
			g_ptr_array_add(errs, g_strdup_printf("AUTH_OIDC_PROVIDERS: \"%s\" is not a provider name "
			    "(lower-case letters, digits and _)", name));
		for (size_t j = 0; j < G_N_ELEMENTS(parts); j++) {
			char *key = g_strdup_printf("AUTH_OIDC_%s_%s", upper, parts[j]);
			const char *v = g_getenv(key);

			if (v == NULL && file != NULL)
				v = g_hash_table_lookup(file, key);
			if (v != NULL && *v != '\0')
				g_hash_table_replace(cfg->auth_oidc, g_strdup(key), g_strdup(v));
			else if (j < 2)
				g_ptr_array_add(errs, g_strdup_printf("%s: required by AUTH_OIDC_PROVIDERS", key));
			if (j == 0 && v != NULL && *v != '\0' && config_check_http_url(v, &cause) != 0) {
				g_ptr_array_add(errs, g_strdup_printf("%s: %s", key, cause));
				g_clear_pointer(&cause, g_free);
			}
			g_free(key);
		}
		g_free(upper);
	}
	g_strfreev(names);
}

struct config *
config_load(const char *env_file, unsigned want, GPtrArray **problems)
{
	struct config *cfg = g_new0(struct config, 1);
	GHashTable *file = NULL;
	GPtrArray *errs = g_ptr_array_new_with_free_func(g_free);
	char *cause = NULL;

	if (env_file != NULL && (file = config_read_env_file(env_file, &cause)) == NULL) {
		g_ptr_array_add(errs, cause);
		cause = NULL;
	}
	for (size_t i = 0; i < G_N_ELEMENTS(config_table); i++) {
		const struct config_entry *e = &config_table[i];
		const char *v = g_getenv(e->name);
		char *end;
		long n;

		if (v == NULL && file != NULL)
			v = g_hash_table_lookup(file, e->name);
		if (v != NULL && *v == '\0' && e->type != CONFIG_STRING)
			v = NULL;   /* an empty number or flag means "the default" */
		if (v == NULL)
			v = e->def;
		if (v != NULL && *v == '\0' && e->def != NULL && *e->def != '\0')
			v = e->def;
		switch (e->type) {
		case CONFIG_STRING:
			if (v != NULL && *v == '\0' && e->def == NULL)
				v = NULL;
			if (v == NULL) {
				if (e->required & want)
					g_ptr_array_add(errs, g_strdup_printf("%s: required but not set (%s)", e->name, e->help));
				break;
			}
			if (e->check != NULL && e->check(v, &cause) != 0) {
				g_ptr_array_add(errs, g_strdup_printf("%s: %s", e->name, cause));
				g_clear_pointer(&cause, g_free);
				break;
			}
			G_STRUCT_MEMBER(char *, cfg, e->offset) = g_strdup(v);
			break;
		case CONFIG_BOOL:
			if (config_parse_bool(v, &G_STRUCT_MEMBER(gboolean, cfg, e->offset)) != 0)
				g_ptr_array_add(errs, g_strdup_printf("%s: \"%s\" is not true or false", e->name, v));
			break;
		case CONFIG_INT:
			errno = 0;
			n = strtol(v, &end, 10);
			if (errno != 0 || end == v || *end != '\0' || n < e->min || n > e->max) {
				g_ptr_array_add(errs, g_strdup_printf("%s: \"%s\" is not a whole number from %ld to %ld",
				    e->name, v, e->min, e->max));
				break;
			}
			G_STRUCT_MEMBER(int, cfg, e->offset) = (int)n;
			break;
		}
	}
	config_load_oidc(cfg, file, errs);
	/* Rules that tie settings together. */
	if ((want & CONFIG_FOR_API) && cfg->supabase_jwt_secret == NULL &&
	    cfg->supabase_jwks_url == NULL && cfg->supabase_jwks_file == NULL && cfg->supabase_url == NULL)
		g_ptr_array_add(errs, g_strdup("SUPABASE_JWT_SECRET: required (or SUPABASE_JWKS_URL, SUPABASE_JWKS_FILE, SUPABASE_URL): "
		    "the API refuses to accept tokens it cannot verify"));
	provider_check_config(cfg, errs);
	if (cfg->task_hard_time_limit < cfg->task_soft_time_limit)
		g_ptr_array_add(errs, g_strdup("TASK_HARD_TIME_LIMIT: must not be below TASK_SOFT_TIME_LIMIT"));
	if ((cfg->aws_s3_bucket_name != NULL) != (cfg->aws_access_key_id != NULL && cfg->aws_secret_access_key != NULL))
		g_ptr_array_add(errs, g_strdup("AWS_S3_BUCKET_NAME: S3 needs AWS_S3_BUCKET_NAME, AWS_ACCESS_KEY_ID and "
		    "AWS_SECRET_ACCESS_KEY together (none of them: local storage)"));
	if (file != NULL)
		g_hash_table_unref(file);
	if (errs->len > 0) {
		config_free(cfg);
		*problems = errs;
		return NULL;
	}
	g_ptr_array_unref(errs);
	*problems = NULL;
	return cfg;
}

struct config *
config_load_or_report(const char *env_file, unsigned want)
{
	GPtrArray *problems = NULL;
	struct config *cfg = config_load(env_file, want, &problems);

	if (cfg != NULL)
		return cfg;
	for (guint i = 0; i < problems->len; i++)
		fprintf(stderr, "configuration: %s\n", (char *)problems->pdata[i]);
	fprintf(stderr, "configuration: %u problem%s; not starting\n", problems->len,
	    problems->len == 1 ? "" : "s");
	g_ptr_array_unref(problems);
	return NULL;
}

char **
config_environ(const struct config *cfg, char **envp)
{
	for (size_t i = 0; i < G_N_ELEMENTS(config_table); i++) {
		const struct config_entry *e = &config_table[i];
		char number[32];
		const char *v = NULL;

		switch (e->type) {
		case CONFIG_STRING:
			v = G_STRUCT_MEMBER(char *, cfg, e->offset);
			break;
		case CONFIG_BOOL:
			v = G_STRUCT_MEMBER(gboolean, cfg, e->offset) ? "true" : "false";
			break;
		case CONFIG_INT:
			g_snprintf(number, sizeof number, "%d", G_STRUCT_MEMBER(int, cfg, e->offset));
			v = number;
			break;
		}
		/* Unset: the reader's default, which is what unset meant here. */
		envp = v != NULL ? g_environ_setenv(envp, e->name, v, TRUE) : g_environ_unsetenv(envp, e->name);
	}
	return envp;
}

/* postgresql://user:secret@host/db -> postgresql://user:****@host/db */
static char *
config_mask_url(const char *url)
{
	const char *scheme = strstr(url, "://"), *at, *colon;

	if (scheme == NULL)
		return g_strdup(strstr(url, "password") != NULL ? "**** (conninfo with a password)" : url);
	/* The last '@': a password may hold one that was not percent-encoded. */
	at = strrchr(scheme + 3, '@');
	if (at == NULL)
		return g_strdup(url);
	colon = memchr(scheme + 3, ':', at - (scheme + 3));
	if (colon == NULL)
		return g_strdup(url);
	return g_strdup_printf("%.*s****%s", (int)(colon + 1 - url), url, at);
}

/* The providers' settings, sorted, client secrets masked. */
static void
config_dump_oidc(const struct config *cfg, FILE *out)
{
	GList *keys;

	if (cfg->auth_oidc == NULL)
		return;
	keys = g_list_sort(g_hash_table_get_keys(cfg->auth_oidc), (GCompareFunc)strcmp);
	for (GList *k = keys; k != NULL; k = k->next) {
		const char *v = g_hash_table_lookup(cfg->auth_oidc, k->data);

		if (g_str_has_suffix(k->data, "_CLIENT_SECRET"))
			fprintf(out, "%s=****  # set, %zu characters\n", (char *)k->data, strlen(v));
		else
			fprintf(out, "%s=%s\n", (char *)k->data, v);
	}
	g_list_free(keys);
}

void
config_dump(const struct config *cfg, FILE *out)
{
	for (size_t i = 0; i < G_N_ELEMENTS(config_table); i++) {
		const struct config_entry *e = &config_table[i];
		const char *s;
		char *masked;

		switch (e->type) {
		case CONFIG_STRING:
			s = G_STRUCT_MEMBER(char *, cfg, e->offset);
			if (s == NULL)
				fprintf(out, "%s=  # unset\n", e->name);
			else if (e->flags & SECRET)
				fprintf(out, "%s=****  # set, %zu characters\n", e->name, strlen(s));
			else if (e->flags & URL_PASS) {
				masked = config_mask_url(s);
				fprintf(out, "%s=%s\n", e->name, masked);
				g_free(masked);
			} else
				fprintf(out, "%s=%s\n", e->name, s);
			break;
		case CONFIG_BOOL:
			fprintf(out, "%s=%s\n", e->name, G_STRUCT_MEMBER(gboolean, cfg, e->offset) ? "true" : "false");
			break;
		case CONFIG_INT:
			fprintf(out, "%s=%d\n", e->name, G_STRUCT_MEMBER(int, cfg, e->offset));
			break;
		}
	}
	config_dump_oidc(cfg, out);
}
