-- 0003: what the generation pipeline records on a podcast (issue 6).
--
-- stage     where the pipeline is: pending, fetching, extracting, writing,
--           voicing, mixing, uploading, complete (it stays where a failure
--           happened when status becomes 'failed')
-- progress  0-100, only ever raised
-- error     the last failure, readable; cleared on completion
-- attempts  runs of the task so far (retries and redeliveries included)
-- transcript the script as JSON: {title, summary, lines:[{speaker, text}]}
-- updated_at when the pipeline last wrote the row
--
-- Idempotent like 0001: IF NOT EXISTS, and the backfill touches only rows
-- the Python service finished before these columns existed.
ALTER TABLE podcasts
	ADD COLUMN IF NOT EXISTS stage varchar(16) NOT NULL DEFAULT 'pending',
	ADD COLUMN IF NOT EXISTS progress smallint NOT NULL DEFAULT 0,
	ADD COLUMN IF NOT EXISTS error text,
	ADD COLUMN IF NOT EXISTS attempts integer NOT NULL DEFAULT 0,
	ADD COLUMN IF NOT EXISTS transcript jsonb,
	ADD COLUMN IF NOT EXISTS updated_at timestamp with time zone;

DO $$
BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'podcasts_progress_range') THEN
		ALTER TABLE podcasts ADD CONSTRAINT podcasts_progress_range
			CHECK (progress BETWEEN 0 AND 100);
	END IF;
END;
$$;

UPDATE podcasts SET stage = 'complete', progress = 100
	WHERE status = 'complete' AND stage = 'pending';
