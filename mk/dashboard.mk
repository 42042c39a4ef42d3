# The job dashboard (issue 14): served by the responder under DASHBOARD_PATH,
# reading the worker's state from Redis through src/jobstate.c, which
# podcastpro-ctl shares. Its page, style and script (fcgi/dashboard/) are
# compiled into the responder as byte arrays (a header made by
# mk/embed-assets.sh with od and sed): nothing to install or find.
libpodcastpro_a_SOURCES += src/jobstate.c src/jobstate.h

DASHBOARD_ASSETS = \
	fcgi/dashboard/index.html \
	fcgi/dashboard/dashboard.css \
	fcgi/dashboard/dashboard.js
podcastpro_fcgi_SOURCES += fcgi/dashboard.c fcgi/dashboard.h fcgi/dashboard-auth.c
podcastpro_fcgi_LDADD += $(CRYPT_LIBS)
EXTRA_DIST += $(DASHBOARD_ASSETS)
CLEANFILES += fcgi/dashboard-assets.h

fcgi/dashboard.$(OBJEXT): fcgi/dashboard-assets.h
fcgi/dashboard-assets.h: $(DASHBOARD_ASSETS) $(srcdir)/mk/embed-assets.sh
	$(AM_V_GEN)$(MKDIR_P) fcgi && \
	(cd $(srcdir) && $(SHELL) mk/embed-assets.sh dashboard_assets $(DASHBOARD_ASSETS)) >$@.tmp && \
	mv $@.tmp $@

check_PROGRAMS += tests/unit/test-dashboard-auth
tests_unit_test_dashboard_auth_SOURCES = tests/unit/test-dashboard-auth.c fcgi/dashboard-auth.c
tests_unit_test_dashboard_auth_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/fcgi
tests_unit_test_dashboard_auth_LDADD = $(UNIT_LDADD) $(CRYPT_LIBS) $(FCGI_LIBS)
TESTS += tests/unit/test-dashboard-auth
