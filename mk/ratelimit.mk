# ratelimit: per-client limits in Redis (src/ratelimit.c), the client's
# address behind trusted proxies (src/clientaddr.c), and their unit tests.
libpodcastpro_a_SOURCES += \
	src/clientaddr.c src/clientaddr.h \
	src/ratelimit.c src/ratelimit.h

check_PROGRAMS += tests/unit/test-ratelimit
tests_unit_test_ratelimit_SOURCES = tests/unit/test-ratelimit.c
tests_unit_test_ratelimit_LDADD = $(UNIT_LDADD)
TESTS += tests/unit/test-ratelimit

# The responder's limit gate (an app module listed in fcgi/app.c).
podcastpro_fcgi_SOURCES += fcgi/ratelimit-hook.c fcgi/ratelimit-hook.h

dist_nginxexamples_DATA += etc/nginx/real-ip.conf.example
