/* podcastpro-ctl user add|list|disable|enable|set-password: the operator's
 * hand on the built-in accounts (doc/auth.md). Passwords are read from
 * standard input (its first line) when it is not a terminal, else typed at
 * a prompt without echo, twice; never from the command line, where other
 * users of the host could read them (ps, /proc, shell history). */
#include "autoconfig.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "account-crypto.h"
#include "account-store.h"
#include "config.h"
#include "ctl.h"
#include "db.h"

#define CTL_USER_PASSWORD_MAX 4096

struct ctl_user {
	const struct config *cfg;
	struct db_conn *c;
	gboolean json;
	gboolean unconfirmed;
};

/* One line of FP without its line end, at most CTL_USER_PASSWORD_MAX
 * bytes: caller frees (and wipes); NULL at end of file. */
static char *
ctl_user_read_line(FILE *fp)
{
	char buf[CTL_USER_PASSWORD_MAX + 2];
	char *line;

	if (fgets(buf, sizeof buf, fp) == NULL)
		return NULL;
	buf[strcspn(buf, "\r\n")] = '\0';
	line = g_strdup(buf);
	memset(buf, 0, sizeof buf);
	return line;
}

/* PROMPT on the terminal, the answer read with echo off. */
static char *
ctl_user_prompt(const char *prompt)
{
	struct termios old, quiet;
	gboolean restore;
	char *line;

	fputs(prompt, stderr);
	fflush(stderr);
	restore = tcgetattr(STDIN_FILENO, &old) == 0;
	if (restore) {
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		quiet.c_lflag |= ECHONL;
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
	}
	line = ctl_user_read_line(stdin);
	if (restore)
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
	return line;
}

/* The new password, checked against AUTH_PASSWORD_MIN_LENGTH, hashed into
 * HASH: 0, or -1 after saying why. */
static int
ctl_user_password(const struct ctl_user *u, const char *verb, char hash[ACCOUNT_HASH_MAX])
{
	char *pw, *again = NULL;
	int rc = -1;

	if (isatty(STDIN_FILENO)) {
		pw = ctl_user_prompt("New password: ");
		if (pw != NULL && (again = ctl_user_prompt("Again: ")) != NULL &&
		    strcmp(pw, again) != 0) {
			fprintf(stderr, "podcastpro-ctl user %s: the passwords differ\n", verb);
			goto out;
		}
	} else {
		pw = ctl_user_read_line(stdin);
	}
	if (pw == NULL) {
		fprintf(stderr, "podcastpro-ctl user %s: no password on standard input\n", verb);
		goto out;
	}
	if (!g_utf8_validate(pw, -1, NULL) ||
	    g_utf8_strlen(pw, -1) < u->cfg->auth_password_min_length) {
		fprintf(stderr, "podcastpro-ctl user %s: the password needs at least %d characters "
		    "(AUTH_PASSWORD_MIN_LENGTH)\n", verb, u->cfg->auth_password_min_length);
		goto out;
	}
	if (account_password_hash(pw, hash) != 0) {
		fprintf(stderr, "podcastpro-ctl user %s: argon2id: out of memory\n", verb);
		goto out;
	}
	rc = 0;
out:
	if (pw != NULL)
		memset(pw, 0, strlen(pw));
	if (again != NULL)
		memset(again, 0, strlen(again));
	g_free(pw);
	g_free(again);
	return rc;
}

/* The normalised address of ARG, or NULL after saying why. */
static char *
ctl_user_email(const char *verb, const char *arg)
{
	char *email = account_email_normalise(arg);

	if (email == NULL)
		fprintf(stderr, "podcastpro-ctl user %s: \"%s\" is not an e-mail address\n", verb, arg);
	return email;
}

static int
ctl_user_add(struct ctl_user *u, const char *arg)
{
	char user_id[ACCOUNT_UUID_LEN + 1], hash[ACCOUNT_HASH_MAX], *email, *cause = NULL;
	json_t *user = NULL;
	int rc = CTL_EXIT_FAILURE, made;

	if ((email = ctl_user_email("add", arg)) == NULL)
		return CTL_EXIT_USAGE;
	if (ctl_user_password(u, "add", hash) != 0)
		goto out;
	account_uuid_new(user_id);
	made = account_store_create(u->c, user_id, email, hash, !u->unconfirmed, NULL, &user, &cause);
	if (made < 0) {
		fprintf(stderr, "podcastpro-ctl user add: %s\n", cause);
		goto out;
	}
	if (made == 0) {
		fprintf(stderr, "podcastpro-ctl user add: %s already has an account\n", email);
		goto out;
	}
	printf("%s\n", user_id);
	rc = CTL_EXIT_OK;
out:
	json_decref(user);
	g_free(cause);
	g_free(email);
	return rc;
}

static int
ctl_user_list(struct ctl_user *u, const char *arg)
{
	json_t *list = NULL, *row;
	char *cause = NULL, *text;
	size_t i;

	(void)arg;
	if (account_store_list(u->c, &list, &cause) != 0) {
		fprintf(stderr, "podcastpro-ctl user list: %s\n", cause);
		g_free(cause);
		return CTL_EXIT_FAILURE;
	}
	if (u->json) {
		text = json_dumps(list, JSON_INDENT(2));
		printf("%s\n", text);
		free(text);
	} else {
		printf("%-36s  %-9s  %-8s  %-20s  %s\n", "ID", "CONFIRMED", "DISABLED", "LAST SIGN-IN",
		    "E-MAIL");
		json_array_foreach(list, i, row) {
			const char *last = json_string_value(json_object_get(row, "last_sign_in_at"));

			printf("%-36s  %-9s  %-8s  %-20.19s  %s\n",
			    json_string_value(json_object_get(row, "id")),
			    json_is_null(json_object_get(row, "confirmed_at")) ? "no" : "yes",
			    json_is_true(json_object_get(row, "disabled")) ? "yes" : "no",
			    last != NULL ? last : "never", json_string_value(json_object_get(row, "email")));
		}
	}
	json_decref(list);
	return CTL_EXIT_OK;
}

static int
ctl_user_switch(struct ctl_user *u, const char *verb, const char *arg, gboolean disabled)
{
	char *email, *cause = NULL;
	int rc;

	if ((email = ctl_user_email(verb, arg)) == NULL)
		return CTL_EXIT_USAGE;
	rc = account_store_set_disabled(u->c, email, disabled, &cause);
	if (rc < 0)
		fprintf(stderr, "podcastpro-ctl user %s: %s\n", verb, cause);
	else if (rc == 0)
		fprintf(stderr, "podcastpro-ctl user %s: no account has %s\n", verb, email);
	g_free(cause);
	g_free(email);
	return rc == 1 ? CTL_EXIT_OK : CTL_EXIT_FAILURE;
}

static int
ctl_user_disable(struct ctl_user *u, const char *arg)
{
	return ctl_user_switch(u, "disable", arg, TRUE);
}

static int
ctl_user_enable(struct ctl_user *u, const char *arg)
{
	return ctl_user_switch(u, "enable", arg, FALSE);
}

static int
ctl_user_set_password(struct ctl_user *u, const char *arg)
{
	char user_id[ACCOUNT_UUID_LEN + 1], hash[ACCOUNT_HASH_MAX], *email, *old = NULL,
	    *cause = NULL;
	gboolean disabled, confirmed;
	int rc = CTL_EXIT_FAILURE, found;

	if ((email = ctl_user_email("set-password", arg)) == NULL)
		return CTL_EXIT_USAGE;
	found = account_store_find_email(u->c, email, user_id, &old, &disabled, &confirmed, &cause);
	if (found == 0)
		fprintf(stderr, "podcastpro-ctl user set-password: no account has %s\n", email);
	if (found <= 0 || ctl_user_password(u, "set-password", hash) != 0)
		goto out;
	/* Every session ends: whoever knew the old password is signed out. */
	if (account_store_update(u->c, user_id, hash, ACCOUNT_NO_SESSION, NULL, &cause) <= 0)
		goto out;
	rc = CTL_EXIT_OK;
out:
	if (cause != NULL)
		fprintf(stderr, "podcastpro-ctl user set-password: %s\n", cause);
	g_free(cause);
	g_free(old);
	g_free(email);
	return rc;
}

/* The verbs: name, whether they take an e-mail address, run. */
static const struct {
	const char *name;
	gboolean needs_email;
	int (*run)(struct ctl_user *u, const char *arg);
} ctl_user_verbs[] = {
	{ "add", TRUE, ctl_user_add },
	{ "list", FALSE, ctl_user_list },
	{ "disable", TRUE, ctl_user_disable },
	{ "enable", TRUE, ctl_user_enable },
	{ "set-password", TRUE, ctl_user_set_password },
};

int
ctl_cmd_user(const struct config *cfg, int argc, char **argv)
{
	struct ctl_user u = { .cfg = cfg };
	GOptionEntry entries[] = {
		{ "json", 'j', 0, G_OPTION_ARG_NONE, &u.json, "list: one JSON array", NULL },
		{ "unconfirmed", 0, 0, G_OPTION_ARG_NONE, &u.unconfirmed,
		    "add: leave the address unconfirmed (no sign-in until a confirmation)", NULL },
		{ NULL }
	};
	struct db_pool *pool = NULL;
	char *cause = NULL;
	int rc = CTL_EXIT_USAGE;
	size_t i;

	if (ctl_parse_options(&argc, &argv, entries) != CTL_EXIT_OK)
		return CTL_EXIT_USAGE;
	for (i = 0; i < G_N_ELEMENTS(ctl_user_verbs); i++)
		if (argc >= 2 && strcmp(argv[1], ctl_user_verbs[i].name) == 0)
			break;
	if (i == G_N_ELEMENTS(ctl_user_verbs) || argc != (ctl_user_verbs[i].needs_email ? 3 : 2)) {
		fprintf(stderr, "podcastpro-ctl user: usage: user add EMAIL [--unconfirmed] | list [--json] "
		    "| disable EMAIL | enable EMAIL | set-password EMAIL (see --help)\n");
		return CTL_EXIT_USAGE;
	}
	if (account_crypto_init(&cause) != 0) {
		fprintf(stderr, "podcastpro-ctl user: %s\n", cause);
		rc = CTL_EXIT_FAILURE;
		goto out;
	}
	pool = db_pool_new_from_config(cfg);
	if ((u.c = db_acquire(pool, &cause)) == NULL) {
		fprintf(stderr, "podcastpro-ctl user: %s\n", cause);
		rc = CTL_EXIT_FAILURE;
		goto out;
	}
	rc = ctl_user_verbs[i].run(&u, argc == 3 ? argv[2] : NULL);
out:
	db_release(u.c);
	db_pool_free(pool);
	g_free(cause);
	return rc;
}
