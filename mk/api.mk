# api: the HTTP API (issue 4): tokens, users and podcasts first, then
# storage and uploads.

# --- tokens, users, podcasts ----------------------------------------------
libpodcastpro_a_SOURCES += \
	src/auth-jwt.c src/auth-jwt.h \
	src/jwks.c src/jwks.h \
	src/podcast-store.c src/podcast-store.h

dist_migrations_DATA += migrations/0002_jobs.sql

podcastpro_fcgi_SOURCES += fcgi/auth.c fcgi/auth.h fcgi/podcasts.c
# Read replicas (issue 13, doc/scaling.md): the sets of pools in the core
# library, the responder's choice per request in fcgi/replica.c.
libpodcastpro_a_SOURCES += src/db-replica.c src/db-replica.h
podcastpro_fcgi_SOURCES += fcgi/replica.c fcgi/replica.h
podcastpro_ctl_SOURCES += jobs/ctl-token.c
podcastpro_job_SOURCES += jobs/task-sweep.c jobs/task-sweep.h

check_PROGRAMS += tests/unit/test-jwt
tests_unit_test_jwt_SOURCES = tests/unit/test-jwt.c
tests_unit_test_jwt_LDADD = $(UNIT_LDADD)
TESTS += tests/unit/test-jwt

# --- SigV4, storage, uploads, credits ---------------------------------------
libpodcastpro_a_SOURCES += \
	src/sigv4.c src/sigv4.h \
	src/http.c src/http.h \
	src/storage.c src/storage.h src/storage-private.h \
	src/storage-local.c src/storage-s3.c \
	src/credits.c src/credits.h src/credits-elevenlabs.c \
	src/providers.c src/providers.h

podcastpro_fcgi_SOURCES += \
	fcgi/uploads.c fcgi/uploads.h fcgi/upload-local.c \
	fcgi/stream.c fcgi/credits.c

check_PROGRAMS += tests/unit/test-sigv4
tests_unit_test_sigv4_SOURCES = tests/unit/test-sigv4.c
tests_unit_test_sigv4_LDADD = $(UNIT_LDADD)
TESTS += tests/unit/test-sigv4

check_PROGRAMS += tests/unit/test-storage
tests_unit_test_storage_SOURCES = tests/unit/test-storage.c
tests_unit_test_storage_CPPFLAGS = $(AM_CPPFLAGS) -DTOP_SRCDIR='"$(abs_top_srcdir)"'
tests_unit_test_storage_LDADD = $(UNIT_LDADD)
TESTS += tests/unit/test-storage

# --- private feeds (issue 15, doc/feeds.md) ----------------------------------
libpodcastpro_a_SOURCES += src/feed-store.c src/feed-store.h
dist_migrations_DATA += migrations/0008_feeds.sql
podcastpro_fcgi_SOURCES += fcgi/feeds.c fcgi/feed-rss.c fcgi/feed-rss.h

check_PROGRAMS += tests/unit/test-feed-rss
tests_unit_test_feed_rss_SOURCES = tests/unit/test-feed-rss.c fcgi/feed-rss.c
tests_unit_test_feed_rss_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/fcgi
tests_unit_test_feed_rss_LDADD = $(UNIT_LDADD)
TESTS += tests/unit/test-feed-rss
