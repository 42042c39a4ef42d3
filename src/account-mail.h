/* The built-in accounts' mails (doc/auth.md), pure: no database, no
 * network. Which link a mail carries (the /auth/v1/verify URL with its
 * one-time token and a redirect_to, which src/redirect-allow.h checks), and
 * the RFC 5322 message the worker's email.send task hands to the SMTP
 * server.
 *
 * Ownership: char * results are the caller's to g_free(). Every function is
 * safe from several threads at once. */
#ifndef PP_ACCOUNT_MAIL_H
#define PP_ACCOUNT_MAIL_H

#include <glib.h>

enum account_mail_kind {
	ACCOUNT_MAIL_SIGNUP,         /* confirm the address of a new account */
	ACCOUNT_MAIL_RECOVERY,       /* sign in once to set a new password */
	ACCOUNT_MAIL_EMAIL_CHANGE,   /* confirm the new address of an account */
};

/* The verify type of KIND as GoTrue spells it: "signup", "recovery",
 * "email_change". */
const char *account_mail_type(enum account_mail_kind kind);
/* The kind of the one-time token row (auth_one_time_tokens.kind):
 * "confirmation", "recovery", "email_change_new". */
const char *account_mail_token_kind(enum account_mail_kind kind);
/* The kind of a verify TYPE ("email" is supabase-js's newer name for a
 * signup confirmation): TRUE, or FALSE when TYPE is not one we serve. */
gboolean account_mail_type_parse(const char *type, enum account_mail_kind *kind);

/* The link of a mail: {PUBLIC_URL}/auth/v1/verify?token=TOKEN&type=TYPE
 * &redirect_to=REDIRECT (escaped). */
char *account_mail_link(const char *public_url, const char *token, enum account_mail_kind kind,
    const char *redirect_to);

/* The bare address of FROM: what is between < and > when it has them
 * ("Podcast Pro <noreply@example.com>"), else FROM trimmed. */
char *account_mail_address(const char *from);

/* TEXT (UTF-8, lines ending in \n) as quoted-printable (RFC 2045): lines
 * end in CRLF and are at most 76 characters. */
char *account_qp_encode(const char *text);

/* The whole message (RFC 5322 with CRLF line ends): Date (NOW, UNIX
 * seconds, in UTC), From FROM as given, To TO, Subject, Message-ID
 * <ID@domain of FROM>, MIME-Version, text/plain UTF-8 in quoted-printable,
 * Auto-Submitted; the body says what LINK does for KIND and that it
 * expires in EXPIRES_IN seconds. */
char *account_mail_message(enum account_mail_kind kind, const char *from, const char *to,
    const char *link, int expires_in, const char *id, gint64 now);

#endif
