/* email.send {"kind": "signup"|"recovery"|"email_change", "to": ADDRESS,
 * "link": URL, "expires_in": S}: one mail of the built-in accounts
 * (fcgi/gotrue-mail.c enqueues it on the default queue), sent over SMTP
 * with libcurl under the Python service's settings (SMTP_HOST, SMTP_PORT,
 * SMTP_USERNAME, SMTP_PASSWORD, SMTP_USE_TLS, SMTP_FROM_EMAIL).
 *
 * A server that cannot be reached, or answers 4xx (try later), is retried
 * with the worker's back-off; a 5xx answer (the address, the sender or the
 * login refused) is permanent: the job goes dead with the server's reply.
 * The Message-ID is the job's id, so a mail sent twice (a child killed
 * after the server took it) is recognisably the same mail. */
#include "autoconfig.h"

#include <string.h>

#include <curl/curl.h>

#include "account-mail.h"
#include "config.h"
#include "http.h"
#include "task.h"
#include "tasks.h"

#define TASK_EMAIL_TIMEOUT_S 60
#define TASK_EMAIL_CONNECT_TIMEOUT_S 10

struct task_email_upload {
	const char *data;
	size_t left;
};

static size_t
task_email_read(char *buf, size_t size, size_t n, void *arg)
{
	struct task_email_upload *up = arg;
	size_t len = MIN(size * n, up->left);

	memcpy(buf, up->data, len);
	up->data += len;
	up->left -= len;
	return len;
}

/* The SMTP URL of the settings: smtps:// on port 465 with SMTP_USE_TLS
 * (TLS from the first byte), else smtp:// (STARTTLS required with
 * SMTP_USE_TLS). Caller frees. */
static char *
task_email_url(const struct config *cfg)
{
	gboolean implicit = cfg->smtp_use_tls && cfg->smtp_port == 465;
	const char *host = cfg->smtp_host;

	return g_strdup_printf(strchr(host, ':') != NULL ? "%s://[%s]:%d" : "%s://%s:%d",
	    implicit ? "smtps" : "smtp", host, cfg->smtp_port);
}

enum task_result
task_email_send_run(struct task_ctx *ctx)
{
	const struct config *cfg = ctx->cfg;
	const char *kind_name = json_string_value(json_object_get(ctx->args, "kind")),
	    *to = json_string_value(json_object_get(ctx->args, "to")),
	    *link = json_string_value(json_object_get(ctx->args, "link"));
	json_int_t expires_in = json_integer_value(json_object_get(ctx->args, "expires_in"));
	enum account_mail_kind kind;
	char *url = NULL, *from = NULL, *rcpt = NULL, *message = NULL, errbuf[CURL_ERROR_SIZE] = "";
	struct curl_slist *rcpts = NULL;
	struct task_email_upload up;
	enum task_result res;
	CURL *curl = NULL;
	CURLcode rc;
	long reply = 0;

	if (!account_mail_type_parse(kind_name, &kind) || to == NULL || link == NULL ||
	    strpbrk(to, "\r\n<>") != NULL || strchr(to, '@') == NULL)
		return task_error(ctx, TASK_FAIL, "email.send: args need kind, to (an address) and link");
	if (cfg->smtp_host == NULL || *cfg->smtp_host == '\0')
		return task_error(ctx, TASK_RETRY, "email.send: SMTP_HOST is not set on this worker");
	url = task_email_url(cfg);
	from = account_mail_address(cfg->smtp_from_email);
	message = account_mail_message(kind, cfg->smtp_from_email, to, link,
	    expires_in > 0 ? (int)expires_in : cfg->auth_mailer_otp_exp, ctx->job_id,
	    g_get_real_time() / G_USEC_PER_SEC);
	up.data = message;
	up.left = strlen(message);
	rcpt = g_strdup_printf("<%s>", to);
	rcpts = curl_slist_append(NULL, rcpt);
	http_global_init();
	if ((curl = curl_easy_init()) == NULL) {
		res = task_error(ctx, TASK_RETRY, "email.send: curl_easy_init failed");
		goto out;
	}
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_MAIL_FROM, from);
	curl_easy_setopt(curl, CURLOPT_MAIL_RCPT, rcpts);
	curl_easy_setopt(curl, CURLOPT_READFUNCTION, task_email_read);
	curl_easy_setopt(curl, CURLOPT_READDATA, &up);
	curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, (long)TASK_EMAIL_TIMEOUT_S);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, (long)TASK_EMAIL_CONNECT_TIMEOUT_S);
	if (cfg->smtp_use_tls)
		curl_easy_setopt(curl, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
	if (cfg->smtp_username != NULL && *cfg->smtp_username != '\0') {
		curl_easy_setopt(curl, CURLOPT_USERNAME, cfg->smtp_username);
		curl_easy_setopt(curl, CURLOPT_PASSWORD, cfg->smtp_password != NULL ?
		    cfg->smtp_password : "");
	}
	rc = curl_easy_perform(curl);
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &reply);
	if (rc == CURLE_OK) {
		ctx->result = json_pack("{s:s, s:s}", "to", to, "kind", kind_name);
		res = TASK_OK;
		goto out;
	}
	/* The last reply code says whose fault it is: 5xx is a refusal that
	 * will not change by itself, anything else may pass later. */
	res = task_error(ctx, reply >= 500 && reply < 600 ? TASK_FAIL : TASK_RETRY,
	    "email.send (%s) via %s: %s (SMTP reply %ld)", kind_name, url,
	    *errbuf != '\0' ? g_strchomp(errbuf) : curl_easy_strerror(rc), reply);
out:
	curl_easy_cleanup(curl);
	curl_slist_free_all(rcpts);
	g_free(rcpt);
	g_free(message);
	g_free(from);
	g_free(url);
	return res;
}
