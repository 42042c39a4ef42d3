# The core library both programs link, and its unit tests.
noinst_LIBRARIES += libpodcastpro.a
libpodcastpro_a_SOURCES = \
	src/config.c src/config.h \
	src/log.c src/log.h \
	src/redis.c src/redis.h \
	src/redis-sentinel.c src/redis-sentinel.h \
	src/ulid.c src/ulid.h \
	src/promtext.c src/promtext.h

# Unit tests: GLib's test framework, TAP through automake's driver.
LOG_DRIVER = env AM_TAP_AWK='$(AWK)' $(SHELL) $(top_srcdir)/build-aux/tap-driver.sh
UNIT_LDADD = $(CORE_LIBS)

check_PROGRAMS += tests/unit/test-config
tests_unit_test_config_SOURCES = tests/unit/test-config.c
tests_unit_test_config_LDADD = $(UNIT_LDADD)
TESTS += tests/unit/test-config

check_PROGRAMS += tests/unit/test-log
tests_unit_test_log_SOURCES = tests/unit/test-log.c
tests_unit_test_log_LDADD = $(UNIT_LDADD)
TESTS += tests/unit/test-log

EXTRA_DIST += tests/integration tests/stubs tests/cluster

# Redis Sentinel (doc/scaling.md): an example of its settings.
dist_examples_DATA += etc/podcast-pro-sentinel.env.example

check_PROGRAMS += tests/unit/test-sentinel
tests_unit_test_sentinel_SOURCES = tests/unit/test-sentinel.c
tests_unit_test_sentinel_LDADD = $(UNIT_LDADD)
TESTS += tests/unit/test-sentinel
