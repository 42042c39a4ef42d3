-- 0008: a private podcast feed per user (issue 15, doc/feeds.md).
--
-- feeds                one row per user who ever made a feed. token_hash is
--                      the hex SHA-256 of the secret in the feed's URL (the
--                      secret itself is never stored: it is shown once, by
--                      POST /feeds/rotate); NULL once revoked. A rotation
--                      replaces the hash in place, so the old URL stops
--                      working in the same statement that makes the new one.
--   created_at         when the current secret was made
--   rotations          how many secrets the user made before this one
--   revoked_at         set by DELETE /feeds/ (token_hash NULL then); a
--                      rotation clears it
--
-- podcasts.audio_bytes the MP3's size in bytes (the feed's enclosure length),
--                      written with final_podcast_url; NULL on rows finished
--                      before, whose size the feed reads from storage once
--                      and records. Bookkeeping: not in the podcast JSON.
--
-- Idempotent like the others: IF NOT EXISTS throughout.
CREATE TABLE IF NOT EXISTS feeds (
	owner_id varchar(26) PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
	token_hash text UNIQUE CHECK (token_hash ~ '^[0-9a-f]{64}$'),
	created_at timestamptz NOT NULL DEFAULT now(),
	rotations integer NOT NULL DEFAULT 0,
	revoked_at timestamptz,
	CHECK ((token_hash IS NULL) = (revoked_at IS NOT NULL))
);

ALTER TABLE podcasts ADD COLUMN IF NOT EXISTS audio_bytes bigint CHECK (audio_bytes >= 0);
