-- 0009: OAuth sign-in through OpenID Connect providers (issue 12, doc/auth.md).
--
-- auth_flow_states  one row per GET /auth/v1/authorize: the state sent to the
--                   provider (stored as its SHA-256, spent by the callback,
--                   expiring), the nonce the id_token must carry, where the
--                   flow ends (redirect_to, already checked against the
--                   allow-list) and, for PKCE, the client's code_challenge.
--                   The callback fills in the user and the auth code (its
--                   SHA-256; spent by POST /token?grant_type=pkce, expiring).
--
-- A provider's identities are rows of auth_identities (0004) with provider =
-- the configured name and provider_id = the id_token's sub.
--
-- Idempotent like the others: IF NOT EXISTS throughout.
CREATE TABLE IF NOT EXISTS auth_flow_states (
	id uuid PRIMARY KEY,
	state_hash text NOT NULL UNIQUE,
	provider text NOT NULL,
	redirect_to text NOT NULL,
	code_challenge text,
	code_challenge_method text CHECK (code_challenge_method IN ('s256', 'plain')),
	nonce text NOT NULL,
	expires_at timestamptz NOT NULL,
	state_used_at timestamptz,
	user_id uuid REFERENCES auth_credentials (user_id) ON DELETE CASCADE,
	auth_code_hash text UNIQUE,
	auth_code_expires_at timestamptz,
	created_at timestamptz NOT NULL DEFAULT now(),
	CHECK ((code_challenge IS NULL) = (code_challenge_method IS NULL))
);
CREATE INDEX IF NOT EXISTS auth_flow_states_expires ON auth_flow_states (expires_at);
