/* The built-in accounts' mails (doc/auth.md): confirmation, recovery and
 * e-mail change. fcgi/gotrue-mail.c serves POST /auth/v1/recover and
 * GET/POST /auth/v1/verify and sends the mails the other handlers need
 * (signup, PUT /user): a one-time token stored hashed, its link, and a job
 * email.send on the worker's default queue (jobs/task-email-send.c), or,
 * without SMTP_HOST, the link in the log at info level.
 *
 * Ownership: nothing handed back. */
#ifndef PP_FCGI_GOTRUE_MAIL_H
#define PP_FCGI_GOTRUE_MAIL_H

#include "account-crypto.h"
#include "account-mail.h"
#include "db.h"
#include "request.h"

/* Mails KIND to TO, the address of account USER_ID (for an e-mail change:
 * the new address, which the token remembers): TRUE, or FALSE after
 * answering 500. The link leads to the request's redirect_to when it is
 * allowed (src/redirect-allow.h), else to the site URL. */
gboolean gotrue_mail_send(struct request *req, struct db_conn *c, enum account_mail_kind kind,
    const char *user_id, const char *to);

/* Counts a mail to EMAIL (normalised) against the rate limit NAME, per
 * address rather than per client: TRUE, or FALSE after answering 429. */
gboolean gotrue_mail_limit(struct request *req, const char *name, const char *email);

/* Answers a signup when accounts need confirming (AUTH_MAILER_AUTOCONFIRM
 * false): USER, the new account (borrowed), gets the confirmation mail and
 * is answered without a session; USER NULL (EMAIL was taken) gets GoTrue's
 * made-up user, and an unconfirmed owner of EMAIL the mail again. */
void gotrue_signup_unconfirmed(struct request *req, struct db_conn *c, json_t *user,
    const char *email);

#endif
