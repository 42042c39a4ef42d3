-- 0001: the Python service's schema, created as SQLAlchemy created it, or
-- adopted as it is when that service's database is already there.
--
-- Every statement is idempotent (IF NOT EXISTS, SET DEFAULT) and none
-- touches a row: adopting a live database changes its schema only.
-- podcastpro-ctl migrate runs this file inside one transaction.

-- Ids are ULIDs as 26-character strings, as the Python service makes them.
CREATE TABLE IF NOT EXISTS users (
	id varchar(26) NOT NULL,
	email varchar NOT NULL,
	created_at timestamp with time zone DEFAULT now(),
	auth_user_id uuid NOT NULL,
	podcast_limit integer,
	podcasts_created integer,
	PRIMARY KEY (id),
	UNIQUE (auth_user_id)
);

-- SQLAlchemy's index=True on the primary key made this redundant index;
-- kept so a fresh database is the same as an adopted one.
CREATE INDEX IF NOT EXISTS ix_users_id ON users (id);
-- unique=True with index=True: a unique index, not a UNIQUE constraint. It
-- is also the users(email) index the deployment guide recommends, so no
-- second index on email is made.
CREATE UNIQUE INDEX IF NOT EXISTS ix_users_email ON users (email);

CREATE TABLE IF NOT EXISTS podcasts (
	id varchar(26) NOT NULL,
	status varchar,
	original_file_url varchar,
	final_podcast_url varchar,
	created_at timestamp with time zone DEFAULT now(),
	title varchar,
	duration integer,
	requirements varchar,
	owner_id varchar(26),
	PRIMARY KEY (id),
	FOREIGN KEY (owner_id) REFERENCES users (id)
);

CREATE INDEX IF NOT EXISTS ix_podcasts_id ON podcasts (id);

-- The Python models set these defaults in Python, not in the database.
-- Server defaults make rows inserted by any client (ours, psql) agree; an
-- existing row is not rewritten by SET DEFAULT.
ALTER TABLE users
	ALTER COLUMN podcast_limit SET DEFAULT 1,
	ALTER COLUMN podcasts_created SET DEFAULT 0;
ALTER TABLE podcasts
	ALTER COLUMN status SET DEFAULT 'pending',
	ALTER COLUMN duration SET DEFAULT 0;

-- The deployment guide's indexes: a user's podcast list filters on
-- owner_id, the worker's sweeper and the dashboards on status.
CREATE INDEX IF NOT EXISTS ix_podcasts_owner_id ON podcasts (owner_id);
CREATE INDEX IF NOT EXISTS ix_podcasts_status ON podcasts (status);
