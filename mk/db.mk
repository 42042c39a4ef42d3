# db: the PostgreSQL pool, migrations and the operator's tool podcastpro-ctl.
libpodcastpro_a_SOURCES += src/db.c src/db.h src/migrate.c src/migrate.h \
	src/pg-json.c src/pg-json.h

# Other areas add their commands' files with
# podcastpro_ctl_SOURCES += jobs/ctl-AREA.c (see jobs/ctl.h).
bin_PROGRAMS += podcastpro-ctl
podcastpro_ctl_SOURCES = jobs/ctl.c jobs/ctl.h jobs/ctl-db.c
podcastpro_ctl_LDADD = $(CORE_LIBS)

dist_migrations_DATA += migrations/0001_initial.sql
dist_examples_DATA += etc/podcast-pro.env.example
dist_man_MANS += doc/podcastpro-ctl.8

check_PROGRAMS += tests/unit/test-db
tests_unit_test_db_SOURCES = tests/unit/test-db.c
tests_unit_test_db_LDADD = $(UNIT_LDADD)
TESTS += tests/unit/test-db

check_PROGRAMS += tests/unit/test-pg-json
tests_unit_test_pg_json_SOURCES = tests/unit/test-pg-json.c
tests_unit_test_pg_json_LDADD = $(UNIT_LDADD)
TESTS += tests/unit/test-pg-json
