"""Issue 11: a podcast is its owner's alone.

1. A user row belongs to the token subject in its auth_user_id: a token of
   another subject carrying the same e-mail, or the `<sub>@unknown.invalid`
   address we store for tokens without one, gets a row of its own.
"""
import os
import threading
import uuid

import psycopg2
import pytest

import pp
from test_api_auth import ApiStack, Keys, claims, detail, hs256

pytestmark = pytest.mark.skipif(not os.path.exists(pp.binary("podcastpro-fcgi")),
                                reason="podcastpro-fcgi is not built in PP_BUILDDIR")

SAMPLE = os.path.join(pp.ROOT, "tests", "data", "sample.pdf")
LINES = 12


def make_stack(tmp_path_factory, services, name):
    s = ApiStack(tmp_path_factory.mktemp(name), services, Keys(), "pp_" + name.replace("-", "_"))
    s.pg = psycopg2.connect(s.db.url)
    s.pg.autocommit = True
    return s


@pytest.fixture(scope="module")
def stack(services, tmp_path_factory):
    s = make_stack(tmp_path_factory, services, "api-ownership")
    yield s
    s.pg.close()
    s.stop()


def query(stack, sql, *params):
    with stack.pg.cursor() as c:
        c.execute(sql, params)
        return c.fetchall() if c.description else None


class Token:
    """A subject with a token; EMAIL None means a token without the claim."""

    def __init__(self, stack, email="", sub=None):
        self.stack = stack
        self.sub = sub or str(uuid.uuid4())
        self.email = f"{self.sub[:8]}@example.com" if email == "" else email
        self.token = hs256(claims(sub=self.sub, email=self.email))

    def call(self, method, path, body=None):
        return self.stack.call(method, path, self.token, body=body)

    def row(self):
        """(id, email) of this subject's user row, after a first request."""
        assert self.call("GET", "/podcasts/")[0] == 200
        rows = query(self.stack, "SELECT id, email FROM users WHERE auth_user_id = %s", self.sub)
        assert len(rows) == 1, rows
        return rows[0]

    def limit(self, n):
        query(self.stack, "UPDATE users SET podcast_limit = %s WHERE auth_user_id = %s", n, self.sub)

    def create(self):
        with open(SAMPLE, "rb") as f:
            url, _ = self.stack.upload(self.sub, name=f"{uuid.uuid4().hex[:8]}.pdf", data=f.read())
        return self.call("POST", "/podcasts/", {"original_file_url": url})

    def created(self):
        return query(self.stack, "SELECT podcasts_created FROM users WHERE auth_user_id = %s",
                     self.sub)[0][0]


def sees_nothing_of(intruder, owner_pid):
    r = intruder.call("GET", "/podcasts/")
    assert r[0] == 200 and owner_pid not in [p["id"] for p in r[2]], r
    r = intruder.call("GET", f"/podcasts/{owner_pid}")
    assert r[0] == 404 and detail(r) == "Podcast not found", r
    r = intruder.call("DELETE", f"/podcasts/{owner_pid}")
    assert r[0] == 404 and detail(r) == "Podcast not found", r


# --- 1. a row belongs to its subject ---------------------------------------

def test_token_with_another_users_email_gets_a_row_of_its_own(stack):
    a = Token(stack)
    a_id, _ = a.row()
    pa = a.create()
    assert pa[0] == 202, pa
    b = Token(stack, email=a.email)
    b_id, b_email = b.row()
    assert b_id != a_id
    # users.email is unique: B's row keeps an address that is nobody's.
    assert b_email != a.email and b_email.endswith("@unknown.invalid"), b_email
    sees_nothing_of(b, pa[2]["id"])
    assert a.call("GET", f"/podcasts/{pa[2]['id']}")[0] == 200
    # B's own podcasts are B's, not A's.
    pb = b.create()
    assert pb[0] == 202 and pb[2]["owner_id"] == b_id, pb
    assert pb[2]["id"] not in [p["id"] for p in a.call("GET", "/podcasts/")[2]]
    assert query(stack, "SELECT auth_user_id::text, email FROM users WHERE id = %s", a_id) == \
        [(a.sub, a.email)]


def test_placeholder_address_claims_nothing(stack):
    # A has no e-mail claim: stored as <sub>@unknown.invalid.
    a = Token(stack, email=None)
    a_id, a_email = a.row()
    assert a_email == f"{a.sub}@unknown.invalid"
    pa = a.create()
    assert pa[0] == 202, pa
    c = Token(stack, email=a_email)
    c_id, _ = c.row()
    assert c_id != a_id
    sees_nothing_of(c, pa[2]["id"])
    # The other way round: the address is claimed before its subject comes.
    d_sub = str(uuid.uuid4())
    squatter = Token(stack, email=f"{d_sub}@unknown.invalid")
    sq_id, _ = squatter.row()
    psq = squatter.create()
    assert psq[0] == 202, psq
    d = Token(stack, email=None, sub=d_sub)
    d_id, d_email = d.row()
    assert d_id != sq_id and d_email != squatter.email
    assert [p["id"] for p in d.call("GET", "/podcasts/")[2]] == []
    sees_nothing_of(d, psq[2]["id"])


def test_concurrent_first_requests_make_one_row(stack):
    a = Token(stack)
    a.row()
    # A new subject (carrying A's e-mail, the harder case) and a new one
    # without conflicts, each sending ten first requests at once.
    for t in (Token(stack, email=a.email), Token(stack)):
        codes = []
        threads = [threading.Thread(target=lambda: codes.append(t.call("GET", "/podcasts/")[0]))
                   for _ in range(10)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        assert codes == [200] * 10
        assert len(query(stack, "SELECT id FROM users WHERE auth_user_id = %s", t.sub)) == 1
