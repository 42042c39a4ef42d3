/* Links and messages of the built-in accounts' mails (see account-mail.h). */
#include "autoconfig.h"

#include <string.h>

#include "account-mail.h"

static const struct {
	const char *type;
	const char *token_kind;
	const char *subject;
	const char *action;    /* "Follow this link to ..." */
	const char *unasked;   /* what to do when the reader did not ask */
} account_mail_kinds[] = {
	[ACCOUNT_MAIL_SIGNUP] = { "signup", "confirmation", "Confirm Your Signup",
	    "confirm your e-mail address for Podcast Pro",
	    "If you did not sign up, ignore this mail: nothing happens without the link." },
	[ACCOUNT_MAIL_RECOVERY] = { "recovery", "recovery", "Reset Your Password",
	    "sign in to Podcast Pro and choose a new password",
	    "If you did not ask for it, ignore this mail: your password stays as it is." },
	[ACCOUNT_MAIL_EMAIL_CHANGE] = { "email_change", "email_change_new", "Confirm Email Change",
	    "make this the e-mail address of your Podcast Pro account",
	    "If you did not ask for it, ignore this mail: the account keeps its address." },
};

const char *
account_mail_type(enum account_mail_kind kind)
{
	return account_mail_kinds[kind].type;
}

const char *
account_mail_token_kind(enum account_mail_kind kind)
{
	return account_mail_kinds[kind].token_kind;
}

gboolean
account_mail_type_parse(const char *type, enum account_mail_kind *kind)
{
	if (type == NULL)
		return FALSE;
	if (strcmp(type, "email") == 0) {
		*kind = ACCOUNT_MAIL_SIGNUP;
		return TRUE;
	}
	for (size_t i = 0; i < G_N_ELEMENTS(account_mail_kinds); i++) {
		if (strcmp(type, account_mail_kinds[i].type) == 0) {
			*kind = (enum account_mail_kind)i;
			return TRUE;
		}
	}
	return FALSE;
}

char *
account_mail_link(const char *public_url, const char *token, enum account_mail_kind kind,
    const char *redirect_to)
{
	char *redirect = g_uri_escape_string(redirect_to, NULL, FALSE);
	char *link = g_strdup_printf("%s%sauth/v1/verify?token=%s&type=%s&redirect_to=%s", public_url,
	    g_str_has_suffix(public_url, "/") ? "" : "/", token, account_mail_type(kind), redirect);

	g_free(redirect);
	return link;
}

char *
account_mail_address(const char *from)
{
	const char *lt = strchr(from, '<'), *gt = lt != NULL ? strchr(lt, '>') : NULL;
	char *addr = lt != NULL && gt != NULL ? g_strndup(lt + 1, gt - lt - 1) : g_strdup(from);

	return g_strstrip(addr);
}

char *
account_qp_encode(const char *text)
{
	GString *out = g_string_new(NULL);
	size_t col = 0;

	for (const unsigned char *p = (const unsigned char *)text; *p != '\0'; p++) {
		char enc[4];
		gboolean line_end = p[1] == '\n' || p[1] == '\0';

		if (*p == '\n') {
			g_string_append(out, "\r\n");
			col = 0;
			continue;
		}
		if (*p == '\r' && p[1] == '\n')
			continue;
		/* Printable ASCII but '=' stays; a space or tab only mid-line. */
		if ((*p >= 33 && *p <= 126 && *p != '=') || ((*p == ' ' || *p == '\t') && !line_end))
			g_snprintf(enc, sizeof enc, "%c", *p);
		else
			g_snprintf(enc, sizeof enc, "=%02X", *p);
		/* 75 characters and a soft break '=' at most. */
		if (col + strlen(enc) > 75) {
			g_string_append(out, "=\r\n");
			col = 0;
		}
		g_string_append(out, enc);
		col += strlen(enc);
	}
	return g_string_free(out, FALSE);
}

char *
account_mail_message(enum account_mail_kind kind, const char *from, const char *to,
    const char *link, int expires_in, const char *id, gint64 now)
{
	static const char days[7][4] = { "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun" };
	static const char months[12][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul",
	    "Aug", "Sep", "Oct", "Nov", "Dec" };
	GDateTime *t = g_date_time_new_from_unix_utc(now);
	char *addr = account_mail_address(from), *at = strrchr(addr, '@'), *text, *body, *msg;
	int minutes = (expires_in + 59) / 60;

	text = g_strdup_printf("Hello,\n\nFollow this link to %s:\n\n%s\n\n"
	    "The link works once and expires in %d minute%s.\n%s\n\n-- \nPodcast Pro\n",
	    account_mail_kinds[kind].action, link, minutes, minutes == 1 ? "" : "s",
	    account_mail_kinds[kind].unasked);
	body = account_qp_encode(text);
	/* The day and month names are RFC 5322's, whatever the locale. */
	msg = g_strdup_printf("Date: %s, %02d %s %04d %02d:%02d:%02d +0000\r\n"
	    "From: %s\r\nTo: %s\r\nSubject: %s\r\nMessage-ID: <%s@%s>\r\n"
	    "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n"
	    "Content-Transfer-Encoding: quoted-printable\r\nAuto-Submitted: auto-generated\r\n"
	    "\r\n%s",
	    days[g_date_time_get_day_of_week(t) - 1], g_date_time_get_day_of_month(t),
	    months[g_date_time_get_month(t) - 1], g_date_time_get_year(t), g_date_time_get_hour(t),
	    g_date_time_get_minute(t), g_date_time_get_second(t), from, to,
	    account_mail_kinds[kind].subject, id, at != NULL && at[1] != '\0' ? at + 1 : "localhost",
	    body);
	g_date_time_unref(t);
	g_free(body);
	g_free(text);
	g_free(addr);
	return msg;
}
