-- 0006: the listener's options of POST /podcasts/ (issue 15): how long,
-- in which language and style, and who the two hosts are. doc/api.md lists
-- the values; the responder checks them (jobs/pipeline/listener.c) before
-- the row is written, the worker reads them back for the writer and voices.
--
-- length    jsonb: as asked, "short" | "medium" | "long" or a number of
--           minutes (1 to 30)
-- language  a BCP 47 tag of the supported list, in its usual spelling
-- style     conversational | interview | debate | storytelling | lecture
-- hosts     jsonb: [{name, voice}, {name, voice}], Dorothy's role first;
--           either member may be null
--
-- NULL means "not asked": the podcast is made exactly as before. The
-- podcast JSON shows every column, so these four appear in it, null when
-- not asked (a client that does not know them ignores them).
--
-- Idempotent like the others: IF NOT EXISTS, constraints added once, the
-- function replaced. Rows made before keep NULLs.
ALTER TABLE podcasts
	ADD COLUMN IF NOT EXISTS length jsonb,
	ADD COLUMN IF NOT EXISTS language varchar(16),
	ADD COLUMN IF NOT EXISTS style varchar(16),
	ADD COLUMN IF NOT EXISTS hosts jsonb;

DO $$
BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'podcasts_length_shape') THEN
		ALTER TABLE podcasts ADD CONSTRAINT podcasts_length_shape
			CHECK (length IS NULL OR jsonb_typeof(length) IN ('string', 'number'));
	END IF;
	IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'podcasts_hosts_shape') THEN
		ALTER TABLE podcasts ADD CONSTRAINT podcasts_hosts_shape
			CHECK (hosts IS NULL OR (jsonb_typeof(hosts) = 'array' AND jsonb_array_length(hosts) = 2));
	END IF;
END;
$$;

-- pp_podcast_create (0002) with the options: the same quota rule and lock,
-- the four columns written in the insert.
CREATE OR REPLACE FUNCTION pp_podcast_create(p_id varchar, p_owner varchar,
	p_original_file_url varchar, p_requirements varchar, p_length jsonb, p_language varchar,
	p_style varchar, p_hosts jsonb)
RETURNS SETOF podcasts
LANGUAGE plpgsql AS $$
DECLARE
	made integer;
	cap integer;
	queued bigint;
BEGIN
	SELECT coalesce(podcasts_created, 0), coalesce(podcast_limit, 1) INTO made, cap
		FROM users WHERE id = p_owner;
	IF NOT FOUND THEN
		RETURN;
	END IF;
	IF cap::bigint - made <= 100000 THEN
		SELECT coalesce(podcasts_created, 0), coalesce(podcast_limit, 1) INTO made, cap
			FROM users WHERE id = p_owner FOR NO KEY UPDATE;
		SELECT count(*) INTO queued FROM podcasts
			WHERE owner_id = p_owner AND status IN ('pending', 'processing');
		IF made + queued >= cap THEN
			RETURN;
		END IF;
	END IF;
	RETURN QUERY INSERT INTO podcasts (id, owner_id, status, original_file_url, requirements,
			duration, created_at, length, language, style, hosts)
		VALUES (p_id, p_owner, 'pending', p_original_file_url, p_requirements, 0, now(),
			p_length, p_language, p_style, p_hosts)
		RETURNING *;
END;
$$;

-- The previous signature, for a responder of the previous release during
-- an upgrade: the same function without options.
CREATE OR REPLACE FUNCTION pp_podcast_create(p_id varchar, p_owner varchar,
	p_original_file_url varchar, p_requirements varchar)
RETURNS SETOF podcasts
LANGUAGE sql AS $$
	SELECT * FROM pp_podcast_create(p_id, p_owner, p_original_file_url, p_requirements,
		NULL::jsonb, NULL::varchar, NULL::varchar, NULL::jsonb);
$$;
