-- 0002: what the API needs to hand podcasts to the worker without losing
-- one, and to page through a user's podcasts.
--
-- A podcast row is written first and its job enqueued after; job_id and
-- enqueued_at record the enqueue. A row left 'pending' with no job_id
-- (Redis was down, or the process died between the two) is found by the
-- worker's sweeper (task podcast.sweep) and enqueued then.

ALTER TABLE podcasts
	ADD COLUMN IF NOT EXISTS job_id varchar(26),
	ADD COLUMN IF NOT EXISTS enqueued_at timestamp with time zone;

-- Rows the Python service created were handed to Celery at the time: they
-- are not the sweeper's to enqueue again.
UPDATE podcasts SET enqueued_at = coalesce(created_at, now())
	WHERE job_id IS NULL AND enqueued_at IS NULL;

-- GET /podcasts/ pages a user's podcasts by id (ULIDs sort by time).
CREATE INDEX IF NOT EXISTS ix_podcasts_owner_id_id ON podcasts (owner_id, id);

-- The sweeper's scan: only rows still waiting for their first enqueue.
CREATE INDEX IF NOT EXISTS ix_podcasts_unqueued ON podcasts (created_at)
	WHERE enqueued_at IS NULL AND status = 'pending';

-- Creates a podcast for P_OWNER unless that user's quota is used up:
-- podcasts already made plus those queued and not yet finished must stay
-- below podcast_limit. The owner's row is locked first (NO KEY UPDATE: it
-- does not conflict with the key-share locks the foreign key takes), so two
-- requests of one user cannot both take the last place; each statement
-- after the lock sees what committed before it (READ COMMITTED).
-- An account with more than 100000 podcasts of headroom (operators, load
-- tests) cannot run out within any burst the API can serve, so it skips
-- the lock and the count. Returns the new row, or no row when the quota is
-- used up or the user does not exist.
CREATE OR REPLACE FUNCTION pp_podcast_create(p_id varchar, p_owner varchar,
	p_original_file_url varchar, p_requirements varchar)
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
			duration, created_at)
		VALUES (p_id, p_owner, 'pending', p_original_file_url, p_requirements, 0, now())
		RETURNING *;
END;
$$;

-- Records the job of a podcast. Losing this write in a crash costs one
-- extra enqueue by the sweeper (tasks are idempotent), so its commit does
-- not wait for the disk: the create's own commit did.
CREATE OR REPLACE FUNCTION pp_podcast_enqueued(p_id varchar, p_job_id varchar)
RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
	PERFORM set_config('synchronous_commit', 'off', true);
	UPDATE podcasts SET job_id = p_job_id, enqueued_at = now() WHERE id = p_id;
END;
$$;
