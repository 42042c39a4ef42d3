-- 0007: where a podcast's timed transcript and chapters are stored (issue 15).
--
-- transcript_vtt_key  the storage key of its WebVTT transcript, the MP3's key
--                     with .vtt for .mp3 (podcasts/podcast_{id}.vtt), text/vtt
-- chapters_key        the storage key of its Podcasting 2.0 chapters,
--                     podcasts/podcast_{id}.chapters.json, application/json+chapters
--
-- Both are set by the completion that sets final_podcast_url, in the same
-- UPDATE, after both objects are stored; NULL before that and on rows made
-- before this migration (no transcript was made for them). They are keys,
-- not URLs: the API signs a URL for each (transcript_url, chapters_url in
-- the podcast JSON, like stream_url), so the columns themselves are
-- bookkeeping and not shown (src/podcast-store.c).
--
-- Idempotent: IF NOT EXISTS.
ALTER TABLE podcasts
	ADD COLUMN IF NOT EXISTS transcript_vtt_key text,
	ADD COLUMN IF NOT EXISTS chapters_key text;
