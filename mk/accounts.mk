# accounts: the built-in accounts (issue 12, doc/auth.md): GoTrue's API
# under /auth/v1/ in the responder, its tables and secrets.
libpodcastpro_a_SOURCES += \
	src/account-crypto.c src/account-crypto.h \
	src/account-store.c src/account-store.h \
	src/account-identity.c src/account-identity.h \
	src/oidc.c src/oidc.h \
	src/redirect-allow.c src/redirect-allow.h \
	src/account-mail.c src/account-mail.h

dist_migrations_DATA += migrations/0004_accounts.sql
dist_migrations_DATA += migrations/0009_oauth.sql

podcastpro_fcgi_SOURCES += \
	fcgi/gotrue.c fcgi/gotrue.h \
	fcgi/gotrue-token.c fcgi/gotrue-user.c fcgi/gotrue-settings.c \
	fcgi/gotrue-oauth.c fcgi/gotrue-oauth.h \
	fcgi/gotrue-mail.c fcgi/gotrue-mail.h

# The accounts' mails: a task of podcastpro-job, operators' verbs in ctl.
podcastpro_job_SOURCES += jobs/task-email-send.c
podcastpro_ctl_SOURCES += jobs/ctl-user.c

check_PROGRAMS += tests/unit/test-account
tests_unit_test_account_SOURCES = tests/unit/test-account.c
tests_unit_test_account_LDADD = $(UNIT_LDADD)
TESTS += tests/unit/test-account

check_PROGRAMS += tests/unit/test-account-mail
tests_unit_test_account_mail_SOURCES = tests/unit/test-account-mail.c
tests_unit_test_account_mail_LDADD = $(UNIT_LDADD)
TESTS += tests/unit/test-account-mail

check_PROGRAMS += tests/unit/test-oauth
tests_unit_test_oauth_SOURCES = tests/unit/test-oauth.c
tests_unit_test_oauth_LDADD = $(UNIT_LDADD)
TESTS += tests/unit/test-oauth
