-- 0004: the built-in accounts (issue 12): what the responder's GoTrue-shaped
-- /auth/v1/ endpoints keep (doc/auth.md). Our own tables, beside the Python
-- schema's users (which still gets its row, keyed by auth_user_id = user_id).
--
-- auth_credentials      one row per account: the e-mail (lower-cased, unique),
--                       the argon2id hash (libsodium's crypto_pwhash_str text;
--                       NULL for an account that only signs in with OAuth),
--                       confirmation, the operator's disable switch, metadata
-- auth_identities       how an account signs in: "email" now, OIDC providers
--                       later (provider + the provider's subject, unique)
-- auth_sessions         one per sign-in; deleting one ends it (its refresh
--                       tokens go with it)
-- auth_refresh_tokens   SHA-256 of each opaque refresh token, single use: a
--                       used one has used_at and revoked set, its successor
--                       names it as parent
-- auth_one_time_tokens  SHA-256 of confirmation, recovery and e-mail-change
--                       tokens (the mail work): single use, expiring
--
-- Idempotent like the others: IF NOT EXISTS throughout.
CREATE TABLE IF NOT EXISTS auth_credentials (
	user_id uuid PRIMARY KEY,
	email text NOT NULL CHECK (email = lower(email)),
	password_hash text,
	confirmed_at timestamptz,
	disabled boolean NOT NULL DEFAULT false,
	user_metadata jsonb NOT NULL DEFAULT '{}',
	app_metadata jsonb NOT NULL DEFAULT '{"provider": "email", "providers": ["email"]}',
	last_sign_in_at timestamptz,
	created_at timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX IF NOT EXISTS auth_credentials_email ON auth_credentials (email);

CREATE TABLE IF NOT EXISTS auth_identities (
	id uuid PRIMARY KEY,
	user_id uuid NOT NULL REFERENCES auth_credentials (user_id) ON DELETE CASCADE,
	provider text NOT NULL,
	provider_id text NOT NULL,
	identity_data jsonb NOT NULL DEFAULT '{}',
	last_sign_in_at timestamptz,
	created_at timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz NOT NULL DEFAULT now(),
	UNIQUE (provider, provider_id)
);
CREATE INDEX IF NOT EXISTS auth_identities_user ON auth_identities (user_id);

CREATE TABLE IF NOT EXISTS auth_sessions (
	id uuid PRIMARY KEY,
	user_id uuid NOT NULL REFERENCES auth_credentials (user_id) ON DELETE CASCADE,
	aal text NOT NULL DEFAULT 'aal1',
	method text NOT NULL DEFAULT 'password',
	signed_in_at timestamptz NOT NULL DEFAULT now(),
	created_at timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS auth_sessions_user ON auth_sessions (user_id);

CREATE TABLE IF NOT EXISTS auth_refresh_tokens (
	id bigserial PRIMARY KEY,
	token_hash text NOT NULL UNIQUE,
	session_id uuid NOT NULL REFERENCES auth_sessions (id) ON DELETE CASCADE,
	parent bigint REFERENCES auth_refresh_tokens (id) ON DELETE SET NULL,
	revoked boolean NOT NULL DEFAULT false,
	used_at timestamptz,
	created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS auth_refresh_tokens_session ON auth_refresh_tokens (session_id);

CREATE TABLE IF NOT EXISTS auth_one_time_tokens (
	id bigserial PRIMARY KEY,
	user_id uuid NOT NULL REFERENCES auth_credentials (user_id) ON DELETE CASCADE,
	kind text NOT NULL CHECK (kind IN ('confirmation', 'recovery', 'email_change_new',
	    'email_change_current', 'pkce')),
	token_hash text NOT NULL UNIQUE,
	relates_to text,
	expires_at timestamptz NOT NULL,
	used_at timestamptz,
	created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS auth_one_time_tokens_user ON auth_one_time_tokens (user_id, kind);
