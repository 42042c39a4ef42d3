/* The built-in accounts' mails (src/account-mail.c): verify types, the
 * link, the From address, quoted-printable bodies and the RFC 5322 message
 * the email.send task hands to the SMTP server. */
#include "autoconfig.h"

#include <string.h>

#include "account-mail.h"

static void
test_types(void)
{
	enum account_mail_kind k;

	g_assert_true(account_mail_type_parse("signup", &k));
	g_assert_cmpint(k, ==, ACCOUNT_MAIL_SIGNUP);
	g_assert_true(account_mail_type_parse("email", &k));
	g_assert_cmpint(k, ==, ACCOUNT_MAIL_SIGNUP);
	g_assert_true(account_mail_type_parse("recovery", &k));
	g_assert_cmpint(k, ==, ACCOUNT_MAIL_RECOVERY);
	g_assert_true(account_mail_type_parse("email_change", &k));
	g_assert_cmpint(k, ==, ACCOUNT_MAIL_EMAIL_CHANGE);
	g_assert_false(account_mail_type_parse("magiclink", &k));
	g_assert_false(account_mail_type_parse("", &k));
	g_assert_false(account_mail_type_parse(NULL, &k));
	g_assert_cmpstr(account_mail_token_kind(ACCOUNT_MAIL_SIGNUP), ==, "confirmation");
	g_assert_cmpstr(account_mail_token_kind(ACCOUNT_MAIL_EMAIL_CHANGE), ==, "email_change_new");
	g_assert_cmpstr(account_mail_type(ACCOUNT_MAIL_RECOVERY), ==, "recovery");
}

static void
test_link(void)
{
	char *a = account_mail_link("https://pp.example", "tok_en-1", ACCOUNT_MAIL_RECOVERY,
	    "https://app.example/reset?x=1&y=2#frag");
	char *b = account_mail_link("https://pp.example/", "t", ACCOUNT_MAIL_SIGNUP, "https://app.example");

	/* redirect_to is one escaped parameter: its & ? # cannot leak out. */
	g_assert_cmpstr(a, ==, "https://pp.example/auth/v1/verify?token=tok_en-1&type=recovery"
	    "&redirect_to=https%3A%2F%2Fapp.example%2Freset%3Fx%3D1%26y%3D2%23frag");
	g_assert_cmpstr(b, ==, "https://pp.example/auth/v1/verify?token=t&type=signup"
	    "&redirect_to=https%3A%2F%2Fapp.example");
	g_free(a);
	g_free(b);
}

static void
test_address(void)
{
	char *a = account_mail_address("Podcast Pro <noreply@pp.example>");
	char *b = account_mail_address("  noreply@pp.example ");

	g_assert_cmpstr(a, ==, "noreply@pp.example");
	g_assert_cmpstr(b, ==, "noreply@pp.example");
	g_free(a);
	g_free(b);
}

/* Every line of S ends in CRLF and has at most MAX characters. */
static void
assert_lines(const char *s, size_t max)
{
	for (const char *p = s, *nl; *p != '\0'; p = nl + 1) {
		g_assert_nonnull((nl = strchr(p, '\n')));
		g_assert_true(nl > p && nl[-1] == '\r');
		g_assert_cmpuint((size_t)(nl - 1 - p), <=, max);
	}
}

/* QP decoded (soft breaks removed, =XX turned back into bytes). */
static char *
qp_decode(const char *qp)
{
	GString *d = g_string_new(NULL);

	for (const char *p = qp; *p != '\0'; p++) {
		if (p[0] == '=' && p[1] == '\r' && p[2] == '\n') {
			p += 2;
		} else if (p[0] == '=') {
			g_string_append_c(d, (char)(g_ascii_xdigit_value(p[1]) * 16 +
			    g_ascii_xdigit_value(p[2])));
			p += 2;
		} else {
			g_string_append_c(d, *p);
		}
	}
	return g_string_free(d, FALSE);
}

static void
test_quoted_printable(void)
{
	char long_line[301], *qp, *plain, *lines;

	/* '=' and bytes above 126 are encoded, as is a space before a line end. */
	qp = account_qp_encode("a=b caf\xc3\xa9 \nend\t\n");
	g_assert_cmpstr(qp, ==, "a=3Db caf=C3=A9=20\r\nend=09\r\n");
	g_free(qp);
	/* Long lines get soft breaks, none over 76 characters, and no =XX is
	 * split by one. */
	memset(long_line, 'x', 300);
	long_line[300] = '\0';
	long_line[74] = '=';
	qp = account_qp_encode(long_line);
	lines = g_strconcat(qp, "\r\n", NULL);
	assert_lines(lines, 76);
	g_free(lines);
	g_assert_nonnull(strstr(qp, "=\r\n"));
	plain = qp_decode(qp);
	g_assert_cmpstr(plain, ==, long_line);
	g_free(plain);
	g_free(qp);
}

static void
test_message(void)
{
	/* 2026-12-07 06:30:05 UTC, a Monday. */
	char *m = account_mail_message(ACCOUNT_MAIL_SIGNUP, "Podcast Pro <noreply@pp.example>",
	    "ada@example.com", "https://pp.example/auth/v1/verify?token=abc&type=signup&redirect_to=x",
	    3600, "01JEXAMPLE", 1796625005);
	char *body = strstr(m, "\r\n\r\n");

	g_assert_nonnull(body);
	g_assert_true(g_str_has_prefix(m, "Date: Mon, 07 Dec 2026 06:30:05 +0000\r\n"));
	g_assert_nonnull(strstr(m, "\r\nFrom: Podcast Pro <noreply@pp.example>\r\n"));
	g_assert_nonnull(strstr(m, "\r\nTo: ada@example.com\r\n"));
	g_assert_nonnull(strstr(m, "\r\nSubject: Confirm Your Signup\r\n"));
	g_assert_nonnull(strstr(m, "\r\nMessage-ID: <01JEXAMPLE@pp.example>\r\n"));
	g_assert_nonnull(strstr(m, "\r\nMIME-Version: 1.0\r\n"));
	g_assert_nonnull(strstr(m, "\r\nContent-Type: text/plain; charset=UTF-8\r\n"));
	g_assert_nonnull(strstr(m, "\r\nContent-Transfer-Encoding: quoted-printable\r\n"));
	g_assert_nonnull(strstr(body, "expires in 60 minutes"));
	/* The link survives in the body ('=' encoded as =3D). */
	g_assert_nonnull(strstr(body, "token=3Dabc&type=3Dsignup"));
	assert_lines(m, 998);
	assert_lines(body + 4, 76);
	g_assert_null(strstr(m, "\n\n"));
	g_free(m);
	m = account_mail_message(ACCOUNT_MAIL_EMAIL_CHANGE, "bare", "b@example.com", "l", 30, "ID", 0);
	g_assert_true(g_str_has_prefix(m, "Date: Thu, 01 Jan 1970 00:00:00 +0000\r\n"));
	g_assert_nonnull(strstr(m, "Message-ID: <ID@localhost>\r\n"));
	g_assert_nonnull(strstr(m, "Subject: Confirm Email Change\r\n"));
	g_assert_nonnull(strstr(m, "expires in 1 minute."));
	g_free(m);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/account-mail/types", test_types);
	g_test_add_func("/account-mail/link", test_link);
	g_test_add_func("/account-mail/address", test_address);
	g_test_add_func("/account-mail/quoted-printable", test_quoted_printable);
	g_test_add_func("/account-mail/message", test_message);
	return g_test_run();
}
