/* Configuration: one typed table of every setting (src/config.c), read from
 * the environment and optionally from an env file in the format systemd's
 * EnvironmentFile= reads. The environment wins over the file (as the Python
 * service's pydantic settings do with its .env file).
 *
 * Ownership: config_load() returns a struct config the caller frees with
 * config_free(); every string in it belongs to the struct. Programs keep one
 * loaded config (config_get()) and swap it on SIGHUP. */
#ifndef PP_CONFIG_H
#define PP_CONFIG_H

#include <stdio.h>
#include <glib.h>

/* Which program asks: settings required by one are checked only for it. */
#define CONFIG_FOR_API    0x1u
#define CONFIG_FOR_WORKER 0x2u
#define CONFIG_FOR_CTL    0x4u

struct config {
	/* Database */
	char *database_url;
	gboolean sql_echo;
	int db_pool_size;
	int db_max_overflow;
	int db_pool_timeout;     /* seconds to wait for a connection */
	int db_pool_recycle;     /* seconds before a connection is replaced */
	int db_pre_ping_idle;    /* ping a connection idle longer than this (s) */
	gboolean db_transaction_pooler;   /* DATABASE_URL is PgBouncer, pool_mode=transaction */
	char *database_replica_url;       /* read replicas (src/db-replica.h), or NULL */
	int db_replica_max_lag;           /* seconds a replica may lag and still serve reads */
	/* Redis */
	char *redis_url;
	int redis_timeout_ms;
	char *redis_sentinels;          /* NULL: REDIS_URL's host alone */
	char *redis_sentinel_master;
	char *redis_sentinel_password;
	/* Authentication */
	char *supabase_jwt_secret;
	char *supabase_jwt_audience;
	char *supabase_jwt_issuer;
	char *supabase_url;
	char *supabase_anon_key;
	char *supabase_jwks_url;
	char *supabase_jwks_file;
	int jwt_leeway;
	/* Built-in accounts (fcgi/gotrue-*.c, doc/auth.md) */
	int auth_password_min_length;
	int auth_jwt_expiry;
	int auth_refresh_reuse_interval;
	gboolean auth_disable_signup;
	gboolean auth_mailer_autoconfirm;
	int auth_mailer_otp_exp;
	/* Mail (jobs/task-email-send.c): off unless SMTP_HOST is set */
	char *smtp_host;
	int smtp_port;
	char *smtp_username;
	char *smtp_password;
	gboolean smtp_use_tls;
	char *smtp_from_email;
	char *auth_site_url;           /* src/redirect-allow.c */
	char *auth_redirect_allow_list;
	char *auth_oidc_providers;     /* src/oidc.c */
	int auth_oidc_timeout_ms;
	/* AUTH_OIDC_<NAME>_{ISSUER,CLIENT_ID,CLIENT_SECRET,SCOPES} of the
	 * providers named in AUTH_OIDC_PROVIDERS: variable name -> value (set
	 * ones only); NULL without providers. */
	GHashTable *auth_oidc;
	/* Storage */
	char *aws_access_key_id;
	char *aws_secret_access_key;
	char *aws_s3_bucket_name;
	char *aws_region;
	char *aws_s3_endpoint_url;
	char *storage_dir;
	char *storage_secret;
	char *public_url;
	int max_file_size_mb;
	char *upload_content_types;
	int stream_url_ttl;
	char *sendfile_mode;
	/* Providers (src/providers.h chooses) */
	char *script_writer;
	char *voice_provider;
	char *google_api_key;
	char *gemini_model;
	char *gemini_api_url;
	char *openai_api_key;
	char *openai_base_url;
	char *openai_model;
	char *elevenlabs_api_key;
	char *elevenlabs_api_url;
	char *elevenlabs_model;
	char *elevenlabs_voice_dorothy;
	char *elevenlabs_voice_will;
	int elevenlabs_concurrency;
	char *espeak_voice_dorothy;
	char *espeak_voice_will;
	int document_max_chars;
	int provider_timeout;
	/* HTTP API */
	char *cors_origins;
	gboolean rate_limit_enabled;
	char *rate_limits;
	char *trusted_proxies;
	gboolean api_generation_enabled;
	int max_request_body;
	int health_ready_timeout_ms;
	int shutdown_timeout;
	/* Dashboard (fcgi/dashboard.c): off unless users or a token are set */
	char *dashboard_path;
	char *dashboard_users;
	char *dashboard_token;
	/* /metrics (fcgi/metrics.c): off unless METRICS_LISTEN is set */
	char *metrics_listen;
	char *metrics_token;
	/* Logging */
	char *log_level;
	char *log_file;
	/* Worker */
	char *worker_queues;
	char *worker_name;
	int worker_concurrency;
	int worker_max_tasks_per_child;
	int worker_shutdown_grace;
	int job_visibility_timeout;
	int job_max_deliveries;
	int task_soft_time_limit;
	int task_hard_time_limit;
	int retry_max;
	int retry_backoff;
	int retry_backoff_max;
	gboolean retry_jitter;
	int sweeper_interval;
};

/* Loads the environment over ENV_FILE (NULL: none) for the programs in WANT.
 * On success returns the config; on failure returns NULL and *problems (an
 * array of messages, one per problem, all of them, owned by the caller). */
struct config *config_load(const char *env_file, unsigned want, GPtrArray **problems);
void config_free(struct config *cfg);

/* Prints "NAME=value" for every setting, secrets masked, in table order. */
void config_dump(const struct config *cfg, FILE *out);

/* The program's current configuration (set once at start-up, swapped by a
 * reload in the process that owns it; children get it through fork). */
const struct config *config_get(void);
void config_set(struct config *cfg);   /* takes ownership; frees the old one */

/* Reads KEY=VALUE lines as systemd's EnvironmentFile= does into a table of
 * new strings (caller frees with g_hash_table_unref). -1 and *cause on error. */
GHashTable *config_read_env_file(const char *path, char **cause);

/* Loads everything and, on problems, prints each to stderr: the common
 * start-up path. Returns NULL when start-up must stop (exit status 78). */
struct config *config_load_or_report(const char *env_file, unsigned want);

/* ENVP (g_get_environ(), taken) with every setting of CFG in it, as text
 * config_load() reads back to the same values; settings CFG leaves unset
 * are removed. For a program that starts another with the same settings
 * (the worker's job children). Free with g_strfreev(). */
char **config_environ(const struct config *cfg, char **envp);

#define CONFIG_EXIT_INVALID 78  /* EX_CONFIG */

#endif
