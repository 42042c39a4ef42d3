# fcgi: the FastCGI responder podcastpro-fcgi, its deployment files and tests.
# Other areas add their endpoint files with podcastpro_fcgi_SOURCES += ...
# (their mk files are included after this one).
sbin_PROGRAMS += podcastpro-fcgi
podcastpro_fcgi_SOURCES = \
	fcgi/main.c \
	fcgi/supervisor.c fcgi/supervisor.h \
	fcgi/serve.c fcgi/serve.h \
	fcgi/listen.c fcgi/listen.h \
	fcgi/acceptor.c fcgi/acceptor.h \
	fcgi/app.c fcgi/app.h \
	fcgi/dispatch.c fcgi/dispatch.h \
	fcgi/request.c fcgi/request.h \
	fcgi/response.c \
	fcgi/cors.c fcgi/cors.h \
	fcgi/route-match.c fcgi/routes.c fcgi/route.h \
	fcgi/health.c \
	fcgi/test-routes.c
podcastpro_fcgi_LDADD = $(CORE_LIBS) $(FCGI_LIBS)
# GET / (what the service is, where its docs are).
podcastpro_fcgi_SOURCES += fcgi/index.c

check_PROGRAMS += tests/unit/test-routes
tests_unit_test_routes_SOURCES = tests/unit/test-routes.c fcgi/route-match.c
tests_unit_test_routes_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/fcgi
tests_unit_test_routes_LDADD = $(UNIT_LDADD) $(FCGI_LIBS)
TESTS += tests/unit/test-routes

check_PROGRAMS += tests/unit/test-request
tests_unit_test_request_SOURCES = tests/unit/test-request.c fcgi/request.c fcgi/response.c
tests_unit_test_request_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/fcgi
tests_unit_test_request_LDADD = $(UNIT_LDADD) $(FCGI_LIBS)
TESTS += tests/unit/test-request

dist_man_MANS += doc/podcastpro-fcgi.8
# Two files of one name: each web server's example gets its own directory.
nginxexamplesdir = $(examplesdir)/nginx
dist_nginxexamples_DATA = etc/nginx/podcast-pro.conf
lighttpdexamplesdir = $(examplesdir)/lighttpd
dist_lighttpdexamples_DATA = etc/lighttpd/podcast-pro.conf
dist_systemdunit_DATA += systemd/podcast-pro-api.service systemd/podcast-pro-api.socket
