"""The built-in accounts' mails (issue 12, doc/auth.md): confirmation,
recovery and e-mail change, with a REAL SMTP server (Debian's aiosmtpd) on
loopback and the worker running the default queue, so each mail goes the
whole way: responder -> one-time token -> email.send job -> worker ->
libcurl -> SMTP -> the mailbox this test reads.

Also: GET /auth/v1/verify's 303 with the session (or GoTrue's error) in the
fragment and its redirect_to allow-list, POST /auth/v1/verify, single-use
and expiring tokens, unconfirmed sign-in, /recover answering the same for
unknown addresses, the rate limits (per client and per address), a mail
server that is down (the job is retried, then delivered) and one that
refuses (the job goes dead), links logged without SMTP_HOST, and
podcastpro-ctl user.
"""
import email
import email.policy
import json
import os
import re
import subprocess
import threading
import time
import urllib.parse
import uuid

import pytest

import pp
import workerkit as wk
from test_auth_gotrue import ANON, AccountStack, legacy, payload
from workerkit import Worker

try:
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import SMTP as SMTPServer
except ImportError:  # pragma: no cover - script/lib.sh installs it
    Controller = None

pytestmark = [
    pytest.mark.skipif(not os.path.exists(pp.binary("podcastpro-fcgi")),
                       reason="podcastpro-fcgi is not built in PP_BUILDDIR"),
    pytest.mark.skipif(Controller is None,
                       reason="aiosmtpd is missing (Debian package python3-aiosmtpd; script/test installs it)"),
]

SITE = "http://127.0.0.1:3000"
ALLOWED = "http://localhost:5173/welcome"
LINK_RX = re.compile(r"https?://\S+/auth/v1/verify\?\S+")


class Mailbox:
    """An SMTP server on 127.0.0.1:PORT keeping what it receives; recipients
    starting with "reject-" are refused with 550 (a permanent failure)."""

    def __init__(self, port):
        self.port = port
        self.mails = []
        self.lock = threading.Lock()
        self.controller = None

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("reject-"):
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        msg = email.message_from_bytes(envelope.original_content or envelope.content,
                                       policy=email.policy.default)
        body = msg.get_body(("plain",)).get_content()
        m = LINK_RX.search(body)
        with self.lock:
            self.mails.append({"from": envelope.mail_from, "to": list(envelope.rcpt_tos),
                               "msg": msg, "raw": envelope.original_content or envelope.content,
                               "body": body, "link": m.group(0) if m else None})
        return "250 Message accepted for delivery"

    def start(self):
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self):
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def wait(self, to, count=1, timeout=20.0):
        """The COUNT-th mail to TO, waiting for it."""
        def got():
            with self.lock:
                mine = [m for m in self.mails if to in m["to"]]
            return mine[count - 1] if len(mine) >= count else None
        return pp.wait_for(got, timeout=timeout, what=f"mail #{count} to {to}")

    def sent_to(self, to):
        with self.lock:
            return [m for m in self.mails if to in m["to"]]


def link_params(link):
    q = urllib.parse.parse_qs(urllib.parse.urlsplit(link).query)
    return {k: v[0] for k, v in q.items()}


def fragment(location):
    return {k: v[0] for k, v in urllib.parse.parse_qs(urllib.parse.urlsplit(location).fragment).items()}


class MailStack:
    """An AccountStack needing confirmation, its mails sent by a worker on
    the stack's Redis to a Mailbox."""

    def __init__(self, services, tmp, name, env=None, worker_env=None, smtp=True):
        self.mailbox = Mailbox(pp.free_port()) if smtp else None
        settings = {"AUTH_MAILER_AUTOCONFIRM": "false", "AUTH_SITE_URL": SITE,
                    "AUTH_REDIRECT_ALLOW_LIST": "http://localhost:*/**",
                    "SMTP_USE_TLS": "false", "SMTP_FROM_EMAIL": "Podcast Pro <noreply@pp.test>",
                    "RATE_LIMIT_ENABLED": "false"}
        if smtp:
            settings.update(SMTP_HOST="127.0.0.1", SMTP_PORT=str(self.mailbox.port))
        settings.update(env or {})
        self.settings = settings
        self.worker = None
        self.accounts = AccountStack(tmp, services, name, env=settings)
        try:
            if smtp:
                self.mailbox.start()
                wenv = wk.env_for(services, redis_url=self.accounts.redis.url,
                                  DATABASE_URL=self.accounts.db.url, **settings)
                wenv.update(worker_env or {})
                self.worker = Worker(tmp, wenv, ["default"], wk.unique("mail"), concurrency=1)
        except Exception:
            self.stop()
            raise

    def stop(self):
        if self.worker is not None:
            self.worker.stop()
        if self.mailbox is not None:
            self.mailbox.stop()
        self.accounts.stop()

    def __getattr__(self, name):
        return getattr(self.accounts, name)


@pytest.fixture(scope="module")
def stack(services, tmp_path_factory):
    s = MailStack(services, tmp_path_factory.mktemp("mail"), "pp_auth_mail",
                  worker_env={"RETRY_BACKOFF": "1", "RETRY_BACKOFF_MAX": "1", "RETRY_JITTER": "false"})
    yield s
    s.stop()


def get(stack, path):
    """GET without an apikey, as a browser follows a mailed link."""
    return stack.call("GET", path, apikey=None)


def test_signup_mails_a_confirmation_and_the_link_signs_in(stack):
    email_ = f"c{uuid.uuid4().hex[:8]}@example.com"
    s, _, doc = stack.call("POST", "/auth/v1/signup", {"email": email_, "password": "password-1"})
    # No session: the account waits for its confirmation.
    assert s == 200, doc
    assert "access_token" not in doc and doc["email"] == email_
    assert doc["confirmation_sent_at"] and doc["email_confirmed_at"] is None
    assert len(doc["identities"]) == 1
    legacy(400, "email_not_confirmed", "Email not confirmed")(stack.login(email_))
    s, _, err = stack.login(email_, headers={"X-Supabase-Api-Version": "2024-01-01"})
    assert (s, err) == (400, {"code": "email_not_confirmed", "message": "Email not confirmed"})

    mail = stack.mailbox.wait(email_)
    msg = mail["msg"]
    # RFC 5322 headers, and MIME text/plain in UTF-8.
    assert msg["Subject"] == "Confirm Your Signup"
    assert msg["From"] == "Podcast Pro <noreply@pp.test>" and mail["from"] == "noreply@pp.test"
    assert msg["To"] == email_
    assert abs(email.utils.parsedate_to_datetime(msg["Date"]).timestamp() - time.time()) < 120
    assert re.fullmatch(r"<[0-9A-Z]{26}@pp\.test>", msg["Message-ID"]), msg["Message-ID"]
    assert msg["MIME-Version"] == "1.0"
    assert msg.get_content_type() == "text/plain" and msg.get_content_charset() == "utf-8"
    assert b"\r\n" in mail["raw"] and not re.search(rb"[^\r]\n", mail["raw"])
    # The link: our /verify, the token, the site URL as redirect (none asked).
    link = mail["link"]
    assert link.startswith(stack.url + "/auth/v1/verify?"), link
    p = link_params(link)
    assert p["type"] == "signup" and p["redirect_to"] == SITE and len(p["token"]) == 43
    # Stored hashed only.
    assert stack.db.sql("SELECT count(*) FROM auth_one_time_tokens WHERE token_hash = :'p0'",
                        p["token"]) == "0"

    s, h, _ = get(stack, link[len(stack.url):])
    assert s == 303, h
    loc = h["location"]
    assert loc.startswith(SITE + "#"), loc
    f = fragment(loc)
    assert f["token_type"] == "bearer" and f["type"] == "signup"
    assert int(f["expires_in"]) == 3600 and abs(int(f["expires_at"]) - time.time() - 3600) < 60
    claims = payload(f["access_token"])
    assert claims["email"] == email_ and claims["amr"][0]["method"] == "otp"
    s, _, user = stack.call("GET", "/auth/v1/user", token=f["access_token"])
    assert s == 200 and user["email_confirmed_at"], user
    assert stack.refresh(f["refresh_token"])[0] == 200
    assert stack.login(email_)[0] == 200

    # Single use: the same link again is GoTrue's error, in the fragment.
    s, h, _ = get(stack, link[len(stack.url):])
    assert s == 303
    f = fragment(h["location"])
    assert h["location"].startswith(SITE + "#")
    assert f == {"error": "access_denied", "error_code": "otp_expired",
                 "error_description": "Email link is invalid or has expired"}


def test_signup_of_a_taken_address_tells_nothing(stack):
    email_ = f"t{uuid.uuid4().hex[:8]}@example.com"
    assert stack.call("POST", "/auth/v1/signup", {"email": email_, "password": "password-1"})[0] == 200
    first = stack.mailbox.wait(email_)
    s, _, doc = stack.call("POST", "/auth/v1/signup", {"email": email_, "password": "password-2"})
    # GoTrue's made-up user (no identities); the unconfirmed owner gets the mail again.
    assert s == 200 and doc["email"] == email_ and doc["identities"] == [], doc
    second = stack.mailbox.wait(email_, 2)
    assert link_params(first["link"])["token"] != link_params(second["link"])["token"]
    # Only the latest link works.
    s, h, _ = get(stack, first["link"][len(stack.url):])
    assert fragment(h["location"])["error_code"] == "otp_expired"
    s, h, _ = get(stack, second["link"][len(stack.url):])
    assert "access_token" in fragment(h["location"])


def test_redirect_to_checked_against_the_allow_list(stack):
    email_ = f"r{uuid.uuid4().hex[:8]}@example.com"
    q = urllib.parse.quote(ALLOWED + "?from=mail", safe="")
    s, _, _ = stack.call("POST", f"/auth/v1/signup?redirect_to={q}", {"email": email_, "password": "password-1"})
    assert s == 200
    link = stack.mailbox.wait(email_)["link"]
    assert link_params(link)["redirect_to"] == ALLOWED + "?from=mail"
    # A link edited to point elsewhere lands on the site URL instead.
    evil = link.replace(q, urllib.parse.quote("https://evil.example/steal", safe=""))
    assert evil != link
    s, h, _ = get(stack, evil[len(stack.url):])
    assert s == 303 and h["location"].startswith(SITE + "#access_token="), h["location"]

    email_ = f"r{uuid.uuid4().hex[:8]}@example.com"
    for bad in ("https://evil.example/", "http://localhost.evil.example:5173/x",
                "http://user@localhost:5173/x", "javascript:alert(1)"):
        q = urllib.parse.quote(bad, safe="")
        stack.call("POST", f"/auth/v1/recover?redirect_to={q}", {"email": email_})
    s, _, _ = stack.call("POST", f"/auth/v1/signup?redirect_to={urllib.parse.quote('https://evil.example/', safe='')}",
                         {"email": email_, "password": "password-1"})
    assert s == 200
    assert link_params(stack.mailbox.wait(email_)["link"])["redirect_to"] == SITE
    # The allowed target keeps its query; a fragment of its own is dropped.
    s, h, _ = get(stack, "/auth/v1/verify?type=signup&token=nope&redirect_to=" +
                  urllib.parse.quote(ALLOWED + "?a=1#old", safe=""))
    assert s == 303 and h["location"].startswith(ALLOWED + "?a=1#error=access_denied"), h["location"]


def test_recover_answers_the_same_for_unknown_addresses(stack):
    known = f"k{uuid.uuid4().hex[:8]}@example.com"
    unknown = f"n{uuid.uuid4().hex[:8]}@example.com"
    assert stack.call("POST", "/auth/v1/signup", {"email": known, "password": "password-1"})[0] == 200
    stack.mailbox.wait(known)
    a = stack.call("POST", "/auth/v1/recover", {"email": known})
    b = stack.call("POST", "/auth/v1/recover", {"email": unknown})
    assert a[0] == b[0] == 200 and a[2] == b[2] == {}
    mail = stack.mailbox.wait(known, 2)
    assert mail["msg"]["Subject"] == "Reset Your Password"
    assert link_params(mail["link"])["type"] == "recovery"
    # Give a wrongly sent mail time to arrive: none does.
    time.sleep(1.0)
    assert stack.mailbox.sent_to(unknown) == []
    # Bad input, GoTrue's answers.
    legacy(422, "validation_failed")(stack.call("POST", "/auth/v1/recover", {}))
    legacy(400, "validation_failed")(stack.call("POST", "/auth/v1/recover", {"email": "not-an-address"}))
    legacy(400, "bad_json")(stack.call("POST", "/auth/v1/recover", raw=b"{"))


def test_recovery_then_new_password_through_post_verify(stack):
    email_ = f"p{uuid.uuid4().hex[:8]}@example.com"
    assert stack.call("POST", "/auth/v1/signup", {"email": email_, "password": "password-1"})[0] == 200
    get(stack, stack.mailbox.wait(email_)["link"][len(stack.url):])
    s, _, old = stack.login(email_)
    assert s == 200
    assert stack.call("POST", "/auth/v1/recover", {"email": email_})[0] == 200
    token = link_params(stack.mailbox.wait(email_, 2)["link"])["token"]
    # The token with another address, or of another type: refused, not spent.
    legacy(403, "otp_expired", "Token has expired or is invalid")(
        stack.call("POST", "/auth/v1/verify", {"type": "recovery", "token": token, "email": "x" + email_}))
    legacy(403, "otp_expired")(stack.call("POST", "/auth/v1/verify", {"type": "signup", "token_hash": token}))
    legacy(400, "validation_failed")(stack.call("POST", "/auth/v1/verify", {"type": "magiclink", "token_hash": token}))
    legacy(400, "validation_failed")(stack.call("POST", "/auth/v1/verify", {"type": "recovery"}))
    legacy(400, "validation_failed")(stack.call("POST", "/auth/v1/verify", {"type": "recovery", "token": token}))
    s, _, sess = stack.call("POST", "/auth/v1/verify", {"type": "recovery", "token": token, "email": email_.upper()})
    assert s == 200, sess
    assert payload(sess["access_token"])["amr"][0]["method"] == "recovery"
    legacy(403, "otp_expired")(stack.call("POST", "/auth/v1/verify", {"type": "recovery", "token_hash": token}))
    s, _, doc = stack.call("PUT", "/auth/v1/user", {"password": "password-new"}, token=sess["access_token"])
    assert s == 200, doc
    legacy(400, "invalid_credentials")(stack.login(email_))
    assert stack.login(email_, "password-new")[0] == 200
    # The password change ended the sessions from before.
    assert stack.refresh(old["refresh_token"])[0] == 400


def test_email_change_takes_effect_when_the_new_address_confirms(stack):
    email_ = f"e{uuid.uuid4().hex[:8]}@example.com"
    new = f"new-{email_}"
    assert stack.call("POST", "/auth/v1/signup", {"email": email_, "password": "password-1"})[0] == 200
    get(stack, stack.mailbox.wait(email_)["link"][len(stack.url):])
    s, _, sess = stack.login(email_)
    tok = sess["access_token"]
    s, _, user = stack.call("PUT", "/auth/v1/user", {"email": new}, token=tok)
    assert s == 200 and user["email"] == email_ and user["new_email"] == new, user
    mail = stack.mailbox.wait(new)
    assert mail["msg"]["Subject"] == "Confirm Email Change" and mail["msg"]["To"] == new
    p = link_params(mail["link"])
    assert p["type"] == "email_change"
    # Not yet: the old address still signs in, the new one does not.
    assert stack.call("GET", "/auth/v1/user", token=tok)[2]["email"] == email_
    legacy(400, "invalid_credentials")(stack.login(new))
    # A taken address is refused at once.
    other = f"o{uuid.uuid4().hex[:8]}@example.com"
    stack.call("POST", "/auth/v1/signup", {"email": other, "password": "password-1"})
    legacy(422, "email_exists")(stack.call("PUT", "/auth/v1/user", {"email": other}, token=tok))
    s, _, sess = stack.call("POST", "/auth/v1/verify", {"type": "email_change", "token": p["token"], "email": new})
    assert s == 200 and sess["user"]["email"] == new, sess
    assert stack.login(new)[0] == 200
    legacy(400, "invalid_credentials")(stack.login(email_))
    ident = stack.call("GET", "/auth/v1/user", token=sess["access_token"])[2]["identities"][0]
    assert ident["identity_data"]["email"] == new


def test_unreachable_mail_server_is_retried_then_delivers(stack):
    email_ = f"d{uuid.uuid4().hex[:8]}@example.com"
    stack.mailbox.stop()
    try:
        assert stack.call("POST", "/auth/v1/signup", {"email": email_, "password": "password-1"})[0] == 200
        r = wk.client(stack.redis.url)

        def retried():
            for _, f in r.xrange("pp:events"):
                if f.get("task") == "email.send" and f.get("event") == "retried":
                    return f
            return None
        ev = pp.wait_for(retried, timeout=30, what="a retry of email.send")
        assert "smtp://127.0.0.1:%d" % stack.mailbox.port in ev["error"], ev
        assert stack.mailbox.sent_to(email_) == []
    finally:
        stack.mailbox.start()
    mail = stack.mailbox.wait(email_, timeout=30)
    assert link_params(mail["link"])["type"] == "signup"


def test_refused_recipient_goes_dead(stack):
    email_ = f"reject-{uuid.uuid4().hex[:8]}@example.com"
    assert stack.call("POST", "/auth/v1/signup", {"email": email_, "password": "password-1"})[0] == 200
    r = wk.client(stack.redis.url)

    def dead():
        for _, f in r.xrange("pp:dead:default"):
            if f.get("task") == "email.send":
                return f
        return None
    f = pp.wait_for(dead, timeout=30, what="email.send in the dead letters")
    assert "550" in f["error"], f
    assert json.loads(f["job"])["attempt"] == 1, f


# --- expiry and no SMTP: links in the responder's log -------------------------

@pytest.fixture(scope="module")
def logged(services, tmp_path_factory):
    s = MailStack(services, tmp_path_factory.mktemp("mail-log"), "pp_auth_mail_log", smtp=False,
                  env={"AUTH_MAILER_OTP_EXP": "2"})
    yield s
    s.stop()


def logged_link(stack, to, count=1):
    def found():
        links = re.findall(r"mail \(\w+\) to " + re.escape(to) + r" not sent, SMTP_HOST is unset: (\S+)",
                           stack.app.log_text())
        return links[count - 1] if len(links) >= count else None
    return pp.wait_for(found, timeout=10, what=f"the logged link to {to}")


def test_without_smtp_the_link_is_logged_and_expires(logged):
    email_ = f"l{uuid.uuid4().hex[:8]}@example.com"
    assert logged.call("POST", "/auth/v1/signup", {"email": email_, "password": "password-1"})[0] == 200
    link = logged_link(logged, email_)
    # No job: nothing was queued.
    assert wk.client(logged.redis.url).exists("pp:q:default") == 0
    time.sleep(2.5)
    s, h, _ = get(logged, link[len(logged.url):])
    assert fragment(h["location"])["error_code"] == "otp_expired"
    legacy(400, "email_not_confirmed")(logged.login(email_))
    # A fresh link, used in time, works.
    logged.call("POST", "/auth/v1/signup", {"email": email_, "password": "password-1"})
    link = logged_link(logged, email_, 2)
    s, _, sess = logged.call("POST", "/auth/v1/verify", {"type": "signup", "token_hash": link_params(link)["token"]})
    assert s == 200 and sess["user"]["email_confirmed_at"], sess


# --- rate limits --------------------------------------------------------------

@pytest.fixture(scope="module")
def limited(services, tmp_path_factory):
    s = MailStack(services, tmp_path_factory.mktemp("mail-rl"), "pp_auth_mail_rl", smtp=False,
                  env={"RATE_LIMIT_ENABLED": "true", "TRUSTED_PROXIES": "127.0.0.1/32,::1/128"})
    yield s
    s.stop()


def test_rate_limits_per_client_and_per_address(limited):
    def recover(addr, client):
        return limited.call("POST", "/auth/v1/recover", {"email": addr}, headers={"X-Forwarded-For": client})
    # forgot_password 3/hour per address, whoever asks (known or not).
    target = f"victim{uuid.uuid4().hex[:6]}@example.com"
    for i in range(3):
        s, h, _ = recover(target, f"10.0.1.{i}")
        assert s == 200 and h["x-ratelimit-limit"] == "3"
    s, h, doc = recover(target, "10.0.1.9")
    assert s == 429 and doc["detail"] == "Rate limit exceeded. Please try again later.", doc
    assert int(h["retry-after"]) > 0
    # ... and 3/hour per client, whatever the address.
    for i in range(3):
        assert recover(f"a{i}-{uuid.uuid4().hex[:6]}@example.com", "10.0.2.1")[0] == 200
    assert recover(f"b-{uuid.uuid4().hex[:6]}@example.com", "10.0.2.1")[0] == 429
    # verify_email 5/hour per client, on POST and GET alike.
    for i in range(5):
        path = "/auth/v1/verify"
        if i % 2:
            s, _, _ = limited.call("GET", path + "?type=signup&token=x", apikey=None,
                                   headers={"X-Forwarded-For": "10.0.3.1"})
            assert s == 303
        else:
            s, _, _ = limited.call("POST", path, {"type": "signup", "token_hash": "x"},
                                   headers={"X-Forwarded-For": "10.0.3.1"})
            assert s == 403
    assert limited.call("POST", "/auth/v1/verify", {"type": "signup", "token_hash": "x"},
                        headers={"X-Forwarded-For": "10.0.3.1"})[0] == 429
    # reset_password 5/hour per client on PUT /user with a password.
    limited.db.sql("SELECT 1")
    s, _, _ = limited.call("POST", "/auth/v1/signup", {"email": f"z{uuid.uuid4().hex[:6]}@example.com",
                                                      "password": "password-1"},
                           headers={"X-Forwarded-For": "10.0.4.1"})
    assert s == 200
    for i in range(5):
        s, h, _ = limited.call("PUT", "/auth/v1/user", {"password": f"password-{i}x"}, token="bad",
                               headers={"X-Forwarded-For": "10.0.5.1"})
        assert s == 403 and h["x-ratelimit-limit"] == "5"
    assert limited.call("PUT", "/auth/v1/user", {"password": "password-9x"}, token="bad",
                        headers={"X-Forwarded-For": "10.0.5.1"})[0] == 429
    # Metadata alone is not a password reset.
    assert limited.call("PUT", "/auth/v1/user", {"data": {}}, token="bad",
                        headers={"X-Forwarded-For": "10.0.5.1"})[0] == 403


# --- podcastpro-ctl user --------------------------------------------------------

def ctl_user(stack, *args, password=None):
    env = dict(os.environ, DATABASE_URL=stack.db.url, REDIS_URL=stack.redis.url, LOG_LEVEL="warning")
    return subprocess.run([pp.binary("podcastpro-ctl"), "user", *args], env=env,
                          input=password if password is not None else "", capture_output=True,
                          text=True, timeout=60)


def test_ctl_user_verbs(logged):
    email_ = f"Op{uuid.uuid4().hex[:8]}@Example.com"
    lower = email_.lower()
    r = ctl_user(logged, "add", email_, password="operator-pass\n")
    assert r.returncode == 0, r.stderr
    uid = r.stdout.strip()
    uuid.UUID(uid)
    r = ctl_user(logged, "add", email_, password="operator-pass\n")
    assert r.returncode == 1 and "already" in r.stderr
    # Too short, or no password at all: refused.
    r = ctl_user(logged, "add", "short@example.com", password="abc\n")
    assert r.returncode == 1 and "AUTH_PASSWORD_MIN_LENGTH" in r.stderr
    assert ctl_user(logged, "add", "none@example.com", password="").returncode == 1
    # Never from the command line.
    r = ctl_user(logged, "add", "argv@example.com", "--password", "operator-pass")
    assert r.returncode == 2
    assert ctl_user(logged, "frobnicate").returncode == 2
    r = ctl_user(logged, "--help")
    assert r.returncode == 0 and "set-password" in r.stdout and "standard input" in r.stdout

    # Made by the operator: confirmed, signs in.
    s, _, sess = logged.login(lower, "operator-pass")
    assert s == 200, sess
    r = ctl_user(logged, "list", "--json")
    assert r.returncode == 0, r.stderr
    row = [u for u in json.loads(r.stdout) if u["email"] == lower][0]
    assert row["id"] == uid and row["disabled"] is False and row["confirmed_at"]
    r = ctl_user(logged, "list")
    assert lower in r.stdout and uid in r.stdout

    # Disabled: no sign-in, its sessions end.
    assert ctl_user(logged, "disable", lower).returncode == 0
    legacy(400, "user_banned")(logged.login(lower, "operator-pass"))
    assert logged.refresh(sess["refresh_token"])[0] == 400
    assert json.loads(ctl_user(logged, "list", "--json").stdout)[0] is not None
    assert ctl_user(logged, "enable", lower).returncode == 0
    assert logged.login(lower, "operator-pass")[0] == 200
    assert ctl_user(logged, "disable", "nobody@example.com").returncode == 1

    s, _, sess = logged.login(lower, "operator-pass")
    r = ctl_user(logged, "set-password", lower, password="another-pass\n")
    assert r.returncode == 0, r.stderr
    legacy(400, "invalid_credentials")(logged.login(lower, "operator-pass"))
    assert logged.login(lower, "another-pass")[0] == 200
    # Every session from before ended.
    assert logged.refresh(sess["refresh_token"])[0] == 400


# --- the official supabase-js through every mail flow -------------------------

BROWSER_DIR = os.path.join(pp.ROOT, "tests", "browser")
JS_STEPS = ["signUp", "unconfirmed", "verify link", "signInWithPassword", "updateUser password",
            "updateUser email", "resetPasswordForEmail", "verifyOtp recovery",
            "updateUser new password", "signInWithPassword new", "signOut", "done"]


def js_missing():
    import shutil
    if shutil.which("node") is None:
        return "node is not installed (Debian package nodejs; script/test installs it)"
    if not os.path.isdir(os.path.join(BROWSER_DIR, "node_modules", "@supabase", "supabase-js")):
        return "tests/browser/node_modules is missing @supabase/supabase-js (script/test runs npm ci there)"
    return None


class MailboxHTTP:
    """GET /?to=ADDRESS&n=N: the N-th mail to ADDRESS as {subject, link,
    token}, waiting up to 20 s for it (404 when it does not come)."""

    def __init__(self, mailbox):
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                q = {k: v[0] for k, v in urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query).items()}
                try:
                    m = mailbox.wait(q["to"], int(q.get("n", "1")))
                    body = json.dumps({"subject": m["msg"]["Subject"], "link": m["link"],
                                       "token": link_params(m["link"])["token"]}).encode()
                    self.send_response(200)
                except Exception:  # the wait timed out
                    body = b"{}"
                    self.send_response(404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.skipif(js_missing() is not None, reason=str(js_missing()))
def test_supabase_js_mail_flows(stack):
    box = MailboxHTTP(stack.mailbox)
    try:
        r = subprocess.run(["node", os.path.join(BROWSER_DIR, "supabase-mail.js")], cwd=BROWSER_DIR,
                           env=dict(os.environ, PP_URL=stack.url, PP_ANON_KEY=ANON, PP_MAILBOX=box.url,
                                    PP_REDIRECT=ALLOWED),
                           capture_output=True, text=True, timeout=180)
    finally:
        box.stop()
    steps = [json.loads(line) for line in r.stdout.splitlines() if line.startswith("{")]
    assert r.returncode == 0, (r.stderr, steps)
    assert [s["step"] for s in steps] == JS_STEPS
    by = {s["step"]: s for s in steps}
    assert by["unconfirmed"]["code"] == "email_not_confirmed"
    assert by["verify link"]["type"] == "signup"
    # One account throughout, now at the new address, with one users row.
    uid = by["signUp"]["user"]
    assert by["verifyOtp recovery"]["user"] == uid
    assert stack.db.sql("SELECT email FROM auth_credentials WHERE user_id = :'p0'", uid) == \
        by["updateUser email"]["email"]
    assert stack.db.sql("SELECT count(*) FROM users WHERE auth_user_id = :'p0'", uid) == "1"
