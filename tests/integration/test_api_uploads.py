"""Uploads and streams through nginx (and lighttpd): POST /uploads/sign-url/,
the local storage's POST /uploads/local (policy, signature, expiry, every
condition, atomic writes), signed /media/ stream URLs handed to the web
server (Range through nginx and lighttpd) or, with SENDFILE_MODE=off, sent by
the responder itself (Range, HEAD, the signature), and the same presigned
POST against an S3 stub that verifies SigV4 POST policies itself."""
import base64
import datetime
import hashlib
import hmac
import json
import os
import re
import subprocess
import sys
import time
import urllib.parse
import uuid

import pytest

import pp
import openapi_check
from servers import Lighttpd, Nginx, Responder, http, http_json, rss_kib, stop_all

sys.path.insert(0, os.path.join(pp.ROOT, "tests", "stubs"))
import s3_stub  # noqa: E402

JWT_SECRET = "test-secret-for-the-responder-tests-0123456789"
STORAGE_SECRET = "storage-secret-for-upload-tests-42"
MAX_MB = 1


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def token(sub):
    """An HS256 access token shaped like Supabase's."""
    now = int(time.time())
    header = {"alg": "HS256", "typ": "JWT"}
    claims = {"sub": sub, "aud": "authenticated", "role": "authenticated", "iat": now,
              "exp": now + 3600, "email": f"{sub[:8]}@example.com"}
    signing_input = b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(claims).encode())
    sig = hmac.new(JWT_SECRET.encode(), signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + b64url(sig)


def multipart(fields, file_data, file_field="file", filename="doc.pdf", close=True, boundary=None):
    """(body, content type) of a browser's form POST: FIELDS then the file."""
    boundary = boundary or "----ppBoundary" + uuid.uuid4().hex
    out = []
    for k, v in fields.items():
        out.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n'.encode()
                   + v.encode() + b"\r\n")
    if file_data is not None:
        out.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{file_field}"; '
                   f'filename="{filename}"\r\nContent-Type: application/pdf\r\n\r\n'.encode()
                   + file_data + b"\r\n")
    if close:
        out.append(f"--{boundary}--\r\n".encode())
    return b"".join(out), "multipart/form-data; boundary=" + boundary


def post_form(url, fields, data, **kw):
    body, ctype = multipart(fields, data, **kw)
    return http_json(url, method="POST", body=body, headers={"Content-Type": ctype})


def temp_files(root):
    return [os.path.join(d, f) for d, _, files in os.walk(root) for f in files if f.startswith(".")]


def migrated_database(services, name):
    admin = services["DATABASE_URL"]
    base = admin.rsplit("/", 1)[0]
    url = f"{base}/{name}?sslmode=disable"
    for sql in (f"DROP DATABASE IF EXISTS {name} WITH (FORCE)", f"CREATE DATABASE {name}"):
        subprocess.run(["psql", f"{base}/postgres?sslmode=disable", "-X", "-qc", sql], check=True,
                       capture_output=True, timeout=30)
    subprocess.run([pp.binary("podcastpro-ctl"), "migrate", "--dir", os.path.join(pp.ROOT, "migrations")],
                   env=dict(os.environ, DATABASE_URL=url), check=True, capture_output=True, timeout=60)
    return url


def drop_database(services, name):
    base = services["DATABASE_URL"].rsplit("/", 1)[0]
    subprocess.run(["psql", f"{base}/postgres?sslmode=disable", "-X", "-qc",
                    f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"], capture_output=True, timeout=30)


def world_dir(path):
    os.makedirs(path, exist_ok=True)
    os.chmod(path, 0o777)
    p = os.path.dirname(path)
    while p.startswith("/tmp/") and p != "/tmp":
        os.chmod(p, os.stat(p).st_mode | 0o055)
        p = os.path.dirname(p)
    return path


class Stack:
    """A migrated database, podcastpro-fcgi and nginx (or lighttpd)."""

    def __init__(self, tmp, services, dbname, env=None, web="nginx"):
        self.tmp = world_dir(str(tmp))
        self.services, self.dbname = services, dbname
        self.port = pp.free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        # The web server's storage directory is where the responder stores.
        self.storage = world_dir(os.path.join(self.tmp, web, "storage"))
        self.env = {
            "DATABASE_URL": migrated_database(services, dbname),
            "STORAGE_DIR": self.storage,
            "STORAGE_SECRET": STORAGE_SECRET,
            "PUBLIC_URL": self.url,
            "MAX_FILE_SIZE_MB": str(MAX_MB),
            "SENDFILE_MODE": web,
        }
        self.env.update(env or {})
        self.app = self.web = None
        try:
            self.app = Responder.listen(self.tmp, services, processes=1, threads=2, env=self.env)
            if web == "nginx":
                self.web = Nginx(self.tmp, self.app.socket, port=self.port,
                                 storage_dir=self.storage)
            else:
                self.web = Lighttpd(self.tmp, socket_path=self.app.socket, port=self.port)
        except Exception:
            self.stop()
            raise

    def stop(self):
        stop_all(self.web, self.app)
        drop_database(self.services, self.dbname)

    def sign_url(self, sub, filename="doc.pdf"):
        """(status, headers, parsed JSON), the answer checked against the
        API's OpenAPI document (tests/integration/openapi_check.py)."""
        status, headers, data = http(self.url + "/uploads/sign-url/", method="POST",
                                     body={"filename": filename},
                                     headers={"Authorization": "Bearer " + token(sub)})
        openapi_check.check_answer(openapi_check.served_spec(self.url, http), "POST",
                                   "/uploads/sign-url/", status, headers, data)
        return status, headers, json.loads(data) if data else None

    def stream_url(self, key, expires=None):
        """A /media/ URL signed as doc/storage.md describes."""
        expires = str(expires if expires is not None else int(time.time()) + 600)
        sig = hmac.new(STORAGE_SECRET.encode(), f"GET\n{key}\n{expires}".encode(), hashlib.sha256).hexdigest()
        return f"{self.url}/media/{urllib.parse.quote(key)}?expires={expires}&sig={sig}"

    def put(self, key, data):
        path = os.path.join(self.storage, key)
        os.makedirs(os.path.dirname(path), mode=0o755, exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)
        os.chmod(path, 0o644)
        return path


@pytest.fixture(scope="module")
def stack(services, tmp_path_factory):
    s = Stack(tmp_path_factory.mktemp("api-uploads"), services, "pp_api_uploads")
    yield s
    s.stop()


def test_sign_url_needs_a_token(stack):
    status, _, doc = http_json(stack.url + "/uploads/sign-url/", method="POST", body={"filename": "a.pdf"})
    assert (status, doc) == (401, {"detail": "Authorization header missing"})


# What the frontend does with its File's name, and what the key's name
# part becomes (doc/storage.md, "Upload keys"); TAG is the random part.
NAMES = [
    ("Résumé été #1 100%?.pdf", "Resume_ete_1_100_TAG.pdf"),
    ("My report (final).pdf", "My_report_final_TAG.pdf"),
    ("100%.pdf", "100_TAG.pdf"),
    ("what?a=1&b=2.pdf", "what_a_1_b_2_TAG.pdf"),
    ("#hash.pdf", "hash_TAG.pdf"),
    ("報告書.pdf", "file_TAG.pdf"),
    ("Übersicht – Q1 “final”.PDF", "Ubersicht_-_Q1_final_TAG.PDF"),
    ("%2F..%2Fescape.pdf", "2F._2Fescape_TAG.pdf"),
    ("no extension", "no_extension_TAG"),
    ("", "file_TAG"),
    (".pdf", "file_TAG.pdf"),
    ("../../etc/passwd", "etc_passwd_TAG"),
    ("a/b\\c.pdf", "a_b_c_TAG.pdf"),
    ("x..pdf", "x_TAG.pdf"),
    ("tab\tnew\nline\x01.pdf", "tab_new_line_TAG.pdf"),
    ("x" * 300 + ".pdf", "x" * 100 + "_TAG.pdf"),
]


def name_part(key, sub):
    """The key's {name} with its random part replaced by TAG, after checking
    the key's shape: podcasts/{sub}/{YYYYmmdd_HHMMSS}_{name}."""
    m = re.fullmatch(rf"podcasts/{re.escape(sub)}/\d{{8}}_\d{{6}}_([A-Za-z0-9._-]+)", key)
    assert m, key
    name = m.group(1)
    m = re.fullmatch(r"(.*)_([0-9a-hjkmnp-tv-z]{8})((?:\.[A-Za-z0-9]{1,16})?)", name)
    assert m, name
    return m.group(1) + "_TAG" + m.group(3)


@pytest.mark.parametrize("name,expect", NAMES)
def test_sign_url_normalises_filenames(stack, name, expect):
    """Any string is a filename: the key's name part is normalised, never refused."""
    sub = str(uuid.uuid4())
    status, _, doc = stack.sign_url(sub, name)
    assert status == 200, doc
    assert name_part(doc["fields"]["key"], sub) == expect


def test_sign_url_refuses_missing_or_non_string_filename(stack):
    headers = {"Authorization": "Bearer " + token(str(uuid.uuid4()))}
    for body in ({}, {"filename": 3}, {"filename": None}):
        status, _, doc = http_json(stack.url + "/uploads/sign-url/", method="POST", body=body, headers=headers)
        assert status == 422, (body, doc)
        assert doc["detail"][0]["loc"] == ["body", "filename"], doc


def browser_form(fields, data, filename):
    """The body of the frontend's fetch(url, {method: "POST", body: formData}):
    every field in order, then the File last, its name escaped as browsers
    escape it in Content-Disposition (WHATWG: " CR LF as %22 %0D %0A)."""
    shown = filename.replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A")
    return multipart(fields, data, filename=shown or "blob")


def frontend_flow(base, sub, filename, data):
    """What the frontend does, exactly: sign-url, the form to `url`,
    original_file_url = url + key (no slash added, nothing encoded),
    POST /podcasts/, GET /podcasts/{id}. Returns (form, original_file_url)."""
    auth = {"Authorization": "Bearer " + token(sub)}
    status, _, form = http_json(base + "/uploads/sign-url/", method="POST", body={"filename": filename},
                                headers=auth)
    assert status == 200, form
    body, ctype = browser_form(form["fields"], data, filename)
    status, _, resp = http(form["url"], method="POST", body=body, headers={"Content-Type": ctype})
    assert status == 204, (filename, form["url"], resp)
    file_url = form["url"] + form["fields"]["key"]
    status, _, created = http_json(base + "/podcasts/", method="POST", body={"original_file_url": file_url},
                                   headers=auth)
    assert status == 202, (filename, file_url, created)
    assert created["original_file_url"] == file_url
    status, _, got = http_json(f"{base}/podcasts/{created['id']}", headers=auth)
    assert status == 200 and got["original_file_url"] == file_url, got
    return form, file_url


FRONTEND_NAMES = ["Résumé été #1 100%?.pdf", "100%.pdf", "what?a=1&b=2.pdf", "#hash.pdf", "a b.pdf",
                  "報告書.pdf", "", "../../x.pdf", "x" * 300 + ".pdf"]


@pytest.mark.parametrize("name", FRONTEND_NAMES)
def test_frontend_flow_through_nginx(stack, name):
    """url ends in "/", url + key is accepted by POST /podcasts/ and names
    the object that holds the uploaded bytes, whatever the file is called."""
    sub = str(uuid.uuid4())
    data = b"%PDF-1.4 " + name.encode() + os.urandom(5000)
    form, file_url = frontend_flow(stack.url, sub, name, data)
    assert form["url"] == stack.url + "/uploads/local/"
    assert file_url == stack.url + "/uploads/local/" + form["fields"]["key"]
    with open(os.path.join(stack.storage, form["fields"]["key"]), "rb") as fh:
        assert fh.read() == data
    assert temp_files(stack.storage) == []


def test_frontend_flow_through_lighttpd(services, tmp_path_factory):
    """The same through the shipped lighttpd file: the form POSTed to the
    url with its trailing slash, and to the old spelling without it."""
    s = Stack(tmp_path_factory.mktemp("api-uploads-flow-l"), services, "pp_api_uploads_flow_l",
              web="lighttpd")
    try:
        sub = str(uuid.uuid4())
        data = b"%PDF-1.4 through lighttpd\n" + os.urandom(3000)
        form, file_url = frontend_flow(s.url, sub, "Résumé été #1 100%?.pdf", data)
        assert form["url"] == s.url + "/uploads/local/"
        with open(os.path.join(s.storage, form["fields"]["key"]), "rb") as fh:
            assert fh.read() == data
        # The old spelling: the form to .../uploads/local, the object URL
        # joined with a "/" and percent-encoded.
        sub2 = str(uuid.uuid4())
        status, _, doc = s.sign_url(sub2, "old client.pdf")
        assert status == 200, doc
        key = doc["fields"]["key"]
        status, _, body = post_form(doc["url"].rstrip("/"), doc["fields"], b"%PDF old")
        assert status == 204, body
        with open(os.path.join(s.storage, key), "rb") as fh:
            assert fh.read() == b"%PDF old"
        old_url = doc["url"].rstrip("/") + "/" + urllib.parse.quote(key)
        status, _, created = http_json(s.url + "/podcasts/", method="POST", body={"original_file_url": old_url},
                                       headers={"Authorization": "Bearer " + token(sub2)})
        assert status == 202, created
    finally:
        s.stop()


def test_sign_url_same_second_same_name_different_keys(stack):
    """Two forms for the same file in the same second never share a key:
    the second upload does not replace the first."""
    sub = str(uuid.uuid4())
    for _ in range(20):
        docs = [stack.sign_url(sub, "same.pdf")[2] for _ in range(2)]
        keys = [d["fields"]["key"] for d in docs]
        if keys[0].split("/")[2][:15] == keys[1].split("/")[2][:15]:
            break      # both in the same second
    else:
        pytest.fail("no two sign-url answers in the same second")
    assert keys[0] != keys[1], keys
    assert [name_part(k, sub) for k in keys] == ["same_TAG.pdf"] * 2
    for d, data in zip(docs, (b"%PDF first", b"%PDF second")):
        assert post_form(d["url"], d["fields"], data)[0] == 204
    for k, data in zip(keys, (b"%PDF first", b"%PDF second")):
        with open(os.path.join(stack.storage, k), "rb") as fh:
            assert fh.read() == data


def test_upload_round_trip(stack):
    sub = str(uuid.uuid4())
    status, _, doc = stack.sign_url(sub, "My report (final).pdf")
    assert status == 200, doc
    assert set(doc) == {"url", "fields"}
    assert doc["url"] == stack.url + "/uploads/local/"
    f = doc["fields"]
    assert set(f) == {"key", "acl", "Content-Type", "x-amz-algorithm", "x-amz-credential", "x-amz-date",
                      "policy", "x-amz-signature"}
    assert name_part(f["key"], sub) == "My_report_final_TAG.pdf"
    assert f["acl"] == "private" and f["Content-Type"] == "application/pdf"
    policy = json.loads(base64.b64decode(f["policy"]))
    conds = policy["conditions"]
    assert ["content-length-range", 1, MAX_MB * 1024 * 1024] in conds
    assert {"key": f["key"]} in conds and {"acl": "private"} in conds
    assert ["starts-with", "$Content-Type", "application/pdf"] in conds
    expires = datetime.datetime.strptime(policy["expiration"], "%Y-%m-%dT%H:%M:%S.000Z")
    left = (expires.replace(tzinfo=datetime.timezone.utc) - datetime.datetime.now(datetime.timezone.utc))
    assert 3500 < left.total_seconds() <= 3600

    data = b"%PDF-1.4\n" + os.urandom(200000)
    status, _, body = post_form(doc["url"], f, data)
    assert status == 204, body
    path = os.path.join(stack.storage, f["key"])
    with open(path, "rb") as fh:
        assert fh.read() == data
    assert temp_files(stack.storage) == []
    # The URL the frontend sends back names this object: POST /podcasts/ takes it.
    file_url = doc["url"] + f["key"]
    status, _, created = http_json(stack.url + "/podcasts/", method="POST",
                                   body={"original_file_url": file_url},
                                   headers={"Authorization": "Bearer " + token(sub)})
    assert status == 202, created


DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@pytest.mark.parametrize("name,ctype", [
    ("report.pdf", "application/pdf"), ("Report.PDF", "application/pdf"),
    ("notes.txt", "text/plain"), ("notes.md", "text/markdown"), ("notes.markdown", "text/markdown"),
    ("page.html", "text/html"), ("page.HTM", "text/html"), ("page.xhtml", "application/xhtml+xml"),
    ("book.epub", "application/epub+zip"), ("Letter.DOCX", DOCX_TYPE),
    ("archive.zip", "application/pdf"), ("no extension", "application/pdf"),
])
def test_sign_url_content_type_follows_the_extension(stack, name, ctype):
    """Every type the pipeline reads gets its own Content-Type in the form
    and its policy; anything else the first configured one, as before. The
    form then uploads (the frontend posts the fields as given)."""
    sub = str(uuid.uuid4())
    status, _, doc = stack.sign_url(sub, name)
    assert status == 200, doc
    assert doc["fields"]["Content-Type"] == ctype
    conds = json.loads(base64.b64decode(doc["fields"]["policy"]))["conditions"]
    assert ["starts-with", "$Content-Type", ctype] in conds
    status, _, body = post_form(doc["url"], doc["fields"], b"PK\3\4 some document")
    assert status == 204, body


def test_upload_refusals_leave_nothing_behind(stack):
    sub = str(uuid.uuid4())
    status, _, doc = stack.sign_url(sub, "doc.pdf")
    assert status == 200
    url, fields = doc["url"], doc["fields"]
    good = b"%PDF-1.4 the original\n"
    assert post_form(url, fields, good)[0] == 204
    path = os.path.join(stack.storage, fields["key"])

    def refused(expect_status, expect_code, form, data, **kw):
        status, _, body = post_form(url, form, data, **kw)
        assert status == expect_status, (expect_code, body)
        assert body["detail"].startswith(expect_code), body
        with open(path, "rb") as fh:
            assert fh.read() == good          # the existing object is intact
        assert temp_files(stack.storage) == []

    refused(403, "AccessDenied", dict(fields, key=f"podcasts/{sub}/other.pdf"), good)
    refused(403, "AccessDenied", dict(fields, key=f"podcasts/{uuid.uuid4()}/doc.pdf"), good)
    refused(403, "AccessDenied", dict(fields, **{"Content-Type": "text/html"}), good)
    refused(403, "AccessDenied", dict(fields, acl="public-read"), good)
    refused(403, "AccessDenied", dict(fields, **{"x-amz-meta-extra": "1"}), good)
    refused(403, "SignatureDoesNotMatch", dict(fields, **{"x-amz-signature": "0" * 64}), good)
    tampered = json.loads(base64.b64decode(fields["policy"]))
    tampered["conditions"] = [c for c in tampered["conditions"] if not (isinstance(c, list) and c[0] == "content-length-range")]
    refused(403, "SignatureDoesNotMatch",
            dict(fields, policy=base64.b64encode(json.dumps(tampered).encode()).decode()), good)
    refused(413, "EntityTooLarge", fields, b"x" * (MAX_MB * 1024 * 1024 + 1))
    refused(400, "EntityTooSmall", fields, b"")
    refused(400, "InvalidArgument", fields, None)              # no file part
    refused(400, "IncompleteBody", fields, good + b"more", close=False)
    without_policy = {k: v for k, v in fields.items() if k != "policy"}
    refused(400, "InvalidArgument", without_policy, good)

    # A form signed correctly but already expired (crafted with the same
    # secret, as the server would have signed it an hour ago).
    now = datetime.datetime.now(datetime.timezone.utc)
    conds = [{"acl": "private"}, ["starts-with", "$Content-Type", "application/pdf"],
             ["content-length-range", 1, 1048576], {"key": fields["key"]}]
    old = s3_stub.post_policy_fields("podcastpro-local", STORAGE_SECRET, "local", "storage", conds,
                                     now - datetime.timedelta(seconds=5), now - datetime.timedelta(hours=1))
    expired = dict(key=fields["key"], acl="private", **{"Content-Type": "application/pdf"}, **old)
    refused(403, "AccessDenied", expired, good)
    # The same, unexpired, is accepted: the refusal above was the expiry.
    fresh = s3_stub.post_policy_fields("podcastpro-local", STORAGE_SECRET, "local", "storage", conds,
                                       now + datetime.timedelta(minutes=5), now)
    assert post_form(url, dict(expired, **fresh), b"%PDF new")[0] == 204
    with open(path, "rb") as fh:
        assert fh.read() == b"%PDF new"


def test_upload_streaming_parser_edges(stack):
    """The file's end lands at every offset around the parser's 64 KiB
    window, and the content holds near-delimiters: every byte survives."""
    sub = str(uuid.uuid4())
    status, _, doc = stack.sign_url(sub, "edge.pdf")
    assert status == 200
    url, fields = doc["url"], doc["fields"]
    path = os.path.join(stack.storage, fields["key"])
    boundary = "----ppEdge" + uuid.uuid4().hex
    # Bytes before the file's content: the fields and the file part's head.
    prefix = len(multipart(fields, b"", boundary=boundary, close=False)[0]) - 2
    near = b"\r\n--" + boundary[:-1].encode() + b"X"
    for delta in range(-90, 12):
        size = 65536 - prefix + delta
        data = ((near + os.urandom(97)) * (size // (len(near) + 97) + 1))[:size]
        status, _, resp = post_form(url, fields, data, boundary=boundary)
        assert status == 204, (delta, resp)
        with open(path, "rb") as fh:
            assert fh.read() == data, delta


def test_upload_needs_multipart_and_bounds_the_body(stack):
    status, _, doc = http_json(stack.url + "/uploads/local", method="POST", body={"a": 1})
    assert status == 400
    body, ctype = multipart({"key": "podcasts/x/y.pdf"}, b"x")
    status, _, doc = http_json(stack.url + "/uploads/local", method="POST", body=b"x" * (3 * 1024 * 1024),
                               headers={"Content-Type": ctype})
    assert status == 413 and doc["detail"].startswith("EntityTooLarge")
    # Garbage framing.
    status, _, doc = http_json(stack.url + "/uploads/local", method="POST", body=b"no boundary here",
                               headers={"Content-Type": ctype})
    assert status == 400 and doc["detail"].startswith("MalformedPOSTRequest")


def test_stream_url_through_nginx(stack):
    key = "podcasts/podcast_01JSTREAMTEST0000000000000.mp3"
    audio = bytes(range(256)) * 64
    stack.put(key, audio)
    url = stack.stream_url(key)

    status, headers, body = http(url)
    assert status == 200 and body == audio
    assert headers["content-type"] == "audio/mpeg"
    assert "x-accel-redirect" not in headers

    status, headers, body = http(url, headers={"Range": "bytes=100-199"})
    assert status == 206
    assert body == audio[100:200]
    assert headers["content-range"] == f"bytes 100-199/{len(audio)}"

    status, headers, body = http(url, method="HEAD")
    assert status == 200 and int(headers["content-length"]) == len(audio)

    expired = stack.stream_url(key, expires=int(time.time()) - 1)
    assert http_json(expired)[::2] == (403, {"detail": "Invalid or expired stream URL"})
    tampered = url.replace("sig=", "sig=0")
    assert http_json(tampered)[::2] == (403, {"detail": "Invalid or expired stream URL"})
    # A valid signature for one key does not open another.
    other = url.replace("podcast_01J", "podcast_01K")
    assert http_json(other)[0] == 403
    assert http_json(url.split("?")[0])[0] == 403
    # Signed but absent.
    gone = stack.stream_url("podcasts/podcast_missing.mp3")
    assert http_json(gone)[::2] == (404, {"detail": "Not Found"})
    # Keys with characters that need escaping reach the same file.
    odd = "podcasts/odd name+%.mp3"
    stack.put(odd, b"odd audio")
    status, _, body = http(stack.stream_url(odd))
    assert (status, body) == (200, b"odd audio")
    # The protected location itself is not reachable from outside.
    assert http(stack.url + "/_protected_audio/" + key)[0] == 404


def test_stream_url_through_lighttpd(services, tmp_path_factory):
    s = Stack(tmp_path_factory.mktemp("api-uploads-lighttpd"), services, "pp_api_uploads_l", web="lighttpd")
    try:
        key = "podcasts/podcast_01JLIGHTTPD000000000000000.mp3"
        audio = os.urandom(50000)
        s.put(key, audio)
        status, headers, body = http(s.stream_url(key), headers={"Range": "bytes=0-9"})
        assert status == 206 and body == audio[:10]
        status, headers, body = http(s.stream_url(key))
        assert status == 200 and body == audio
        assert headers["content-type"] == "audio/mpeg"
        assert "x-sendfile" not in headers
        assert http_json(s.stream_url(key, expires=int(time.time()) - 5))[0] == 403
        odd = "podcasts/odd name+%.mp3"
        s.put(odd, b"odd audio")
        assert http(s.stream_url(odd))[::2] == (200, b"odd audio")
    finally:
        s.stop()


def psql(url, sql, *params):
    """Runs SQL; :'p0', :'p1' ... are PARAMS, quoted by psql."""
    args = ["psql", url, "-X", "-qAt", "-v", "ON_ERROR_STOP=1"]
    for i, v in enumerate(params):
        args += ["-v", f"p{i}={v}"]
    out = subprocess.run(args, input=sql, capture_output=True, text=True, timeout=30, check=True)
    return out.stdout.strip()


@pytest.fixture(scope="module")
def stack_off(services, tmp_path_factory):
    """SENDFILE_MODE=off: the responder sends the audio itself (nginx only relays)."""
    s = Stack(tmp_path_factory.mktemp("api-uploads-off"), services, "pp_api_uploads_off",
              env={"SENDFILE_MODE": "off"})
    yield s
    s.stop()


def complete_podcast(s, audio):
    """A podcast of a new user, complete with AUDIO in storage: (its stream_url, token)."""
    sub = str(uuid.uuid4())
    auth = {"Authorization": "Bearer " + token(sub)}
    doc_key = f"podcasts/{sub}/20261128_120000_doc.pdf"
    s.put(doc_key, b"%PDF-1.4 doc\n")
    status, _, created = http_json(s.url + "/podcasts/", method="POST", headers=auth,
                                   body={"original_file_url": f"{s.url}/uploads/local/{doc_key}"})
    assert status == 202, created
    pid = created["id"]
    key = f"podcasts/podcast_{pid}.mp3"
    s.put(key, audio)
    psql(s.env["DATABASE_URL"], "UPDATE podcasts SET status = 'complete', final_podcast_url = :'p1' "
         "WHERE id = :'p0'", pid, f"{s.url}/uploads/local/{key}")
    status, _, got = http_json(f"{s.url}/podcasts/{pid}", headers=auth)
    assert status == 200 and got["status"] == "complete", got
    assert got["stream_url"].startswith(f"{s.url}/media/{key}?"), got["stream_url"]
    return got["stream_url"], key


def test_stream_sendfile_off_sends_the_audio(stack_off):
    audio = os.urandom(300000)
    url, key = complete_podcast(stack_off, audio)
    n = len(audio)

    status, headers, body = http(url)
    assert status == 200 and body == audio
    assert headers["content-type"] == "audio/mpeg"
    assert int(headers["content-length"]) == n
    assert headers["accept-ranges"] == "bytes"
    assert "x-accel-redirect" not in headers and "x-sendfile" not in headers

    # HEAD: the length of what GET would send, no body.
    status, headers, body = http(url, method="HEAD")
    assert status == 200 and int(headers["content-length"]) == n and body == b""


def test_stream_sendfile_off_large_file_is_not_held_in_memory(stack_off):
    """A file of 40 MiB goes out a piece at a time: no responder process's
    peak RSS grows by anything near its size (reading it whole would)."""
    audio = os.urandom(40 * 1024 * 1024 + 12345)
    url, _ = complete_podcast(stack_off, audio)
    pids = stack_off.app.pids()
    assert pids
    before = {p: rss_kib(p, "VmHWM") for p in pids}
    status, headers, body = http(url, timeout=120)
    assert status == 200 and int(headers["content-length"]) == len(audio)
    assert hashlib.sha256(body).digest() == hashlib.sha256(audio).digest()
    status, headers, body = http(url, headers={"Range": "bytes=1000000-30000000"}, timeout=120)
    assert status == 206 and body == audio[1000000:30000001]
    grown = {p: rss_kib(p, "VmHWM") - before[p] for p in pids}
    assert max(grown.values()) < 16 * 1024, f"peak RSS grew (KiB): {grown}"


@pytest.mark.parametrize("spec,first,last", [
    ("bytes=100-199", 100, 199),
    ("bytes=0-0", 0, 0),
    ("bytes=299990-", 299990, 299999),
    ("bytes=-10", 299990, 299999),
    ("bytes=299000-999999", 299000, 299999),   # the end is clipped to the size
    ("bytes=-400000", 0, 299999),              # a suffix longer than the file is all of it
    ("BYTES = 5-9", 5, 9),                     # the unit is case-insensitive, spaces are allowed
])
def test_stream_sendfile_off_range(stack_off, spec, first, last):
    audio = os.urandom(300000)
    url, _ = complete_podcast(stack_off, audio)
    status, headers, body = http(url, headers={"Range": spec})
    assert status == 206, (status, body[:200])
    assert body == audio[first:last + 1]
    assert headers["content-range"] == f"bytes {first}-{last}/{len(audio)}"
    assert int(headers["content-length"]) == last - first + 1
    assert headers["content-type"] == "audio/mpeg"
    status, headers, body = http(url, method="HEAD", headers={"Range": spec})
    assert status == 206 and int(headers["content-length"]) == last - first + 1 and body == b""


def test_stream_sendfile_off_unsatisfiable_and_ignored_ranges(stack_off):
    audio = os.urandom(5000)
    url, _ = complete_podcast(stack_off, audio)
    for spec in ("bytes=5000-", "bytes=9000-9100", "bytes=-0"):
        status, headers, body = http(url, headers={"Range": spec})
        assert status == 416, (spec, status)
        assert headers["content-range"] == "bytes */5000", spec
        assert audio not in body
    # Ranges a server may ignore (RFC 9110 14.2): the whole file, 200.
    for spec in ("bytes=10-5", "bytes=0-1,5-6", "items=0-1", "bytes=abc", "bytes=1-2x", "bytes="):
        status, headers, body = http(url, headers={"Range": spec})
        assert (status, body) == (200, audio), spec
    # If-Range without a validator of ours to compare: the whole file.
    status, _, body = http(url, headers={"Range": "bytes=0-9", "If-Range": '"x"'})
    assert (status, body) == (200, audio)


def test_stream_sendfile_off_checks_the_signature(stack_off):
    audio = os.urandom(4000)
    url, key = complete_podcast(stack_off, audio)
    denied = (403, {"detail": "Invalid or expired stream URL"})
    for bad in (url.replace("sig=", "sig=0"), url.split("?")[0],
                stack_off.stream_url(key, expires=int(time.time()) - 1),
                url.replace("expires=", "expires=1")):
        assert http_json(bad)[::2] == denied, bad
        # Neither a range nor HEAD gets past it.
        status, _, body = http(bad, headers={"Range": "bytes=0-9"})
        assert status == 403 and audio[:10] not in body
        assert http(bad, method="HEAD")[0] == 403
    # A valid signature for one key does not open another.
    other_key = "podcasts/podcast_01JOTHER000000000000000000.mp3"
    stack_off.put(other_key, b"other audio")
    other = url.replace(urllib.parse.quote(key), urllib.parse.quote(other_key))
    assert other != url and http_json(other)[::2] == denied
    assert http_json(stack_off.stream_url("podcasts/podcast_missing.mp3"))[0] == 404


def test_presigned_post_against_s3_stub(services, tmp_path_factory):
    server, endpoint = s3_stub.start(buckets=("pp-bucket",), access_key="AKIDPPTEST",
                                     secret_key="pp-test-s3-secret", region="eu-central-1")
    env = {"AWS_S3_BUCKET_NAME": "pp-bucket", "AWS_ACCESS_KEY_ID": "AKIDPPTEST",
           "AWS_SECRET_ACCESS_KEY": "pp-test-s3-secret", "AWS_REGION": "eu-central-1",
           "AWS_S3_ENDPOINT_URL": endpoint}
    s = Stack(tmp_path_factory.mktemp("api-uploads-s3"), services, "pp_api_uploads_s3", env=env)
    try:
        sub = str(uuid.uuid4())
        status, _, doc = s.sign_url(sub, "paper.pdf")
        assert status == 200, doc
        assert doc["url"] == endpoint + "/pp-bucket/"
        f = doc["fields"]
        assert f["x-amz-credential"].startswith("AKIDPPTEST/") and f["x-amz-credential"].endswith(
            "/eu-central-1/s3/aws4_request")
        assert {"bucket": "pp-bucket"} in json.loads(base64.b64decode(f["policy"]))["conditions"]
        data = b"%PDF-1.7 through the stub\n" * 10
        body_bytes, ctype = multipart(f, data)
        status, _, body = http(doc["url"], method="POST", body=body_bytes, headers={"Content-Type": ctype})
        assert status == 204, body
        objects = json.loads(http(endpoint + "/_stub/objects")[2])
        assert objects[f"pp-bucket/{f['key']}"]["sha256"] == hashlib.sha256(data).hexdigest()
        assert objects[f"pp-bucket/{f['key']}"]["content_type"] == "application/pdf"

        # The frontend joins url and key; POST /podcasts/ finds the object
        # with a signed HEAD (the stub verifies it), and not someone else's.
        file_url = doc["url"] + f["key"]
        status, _, created = http_json(s.url + "/podcasts/", method="POST",
                                       body={"original_file_url": file_url},
                                       headers={"Authorization": "Bearer " + token(sub)})
        assert status == 202, created
        assert created["original_file_url"] == file_url
        status, _, _ = http_json(s.url + "/podcasts/", method="POST", body={"original_file_url": file_url},
                                 headers={"Authorization": "Bearer " + token(str(uuid.uuid4()))})
        assert status == 422
        # (Another user: the first one's quota is used up by now.)
        sub2 = str(uuid.uuid4())
        missing = doc["url"] + f"podcasts/{sub2}/never-uploaded.pdf"
        status, _, _ = http_json(s.url + "/podcasts/", method="POST", body={"original_file_url": missing},
                                 headers={"Authorization": "Bearer " + token(sub2)})
        assert status == 422
        assert any(m == "HEAD" and st == 200 for m, _, st in server.store.requests)

        # The stub checks what S3 checks.
        for form, blob, code in ((dict(f, key=f"podcasts/{sub}/x.pdf"), data, b"AccessDenied"),
                                 (dict(f, **{"x-amz-signature": "1" * 64}), data, b"SignatureDoesNotMatch"),
                                 (f, b"x" * (MAX_MB * 1024 * 1024 + 1), b"EntityTooLarge")):
            bb, ct = multipart(form, blob)
            status, _, body = http(doc["url"], method="POST", body=bb, headers={"Content-Type": ct})
            assert status in (400, 403) and b"<Code>" + code in body, body
        # The frontend's flow with names that need care in a URL: the
        # stub holds the uploaded bytes under the key url + key names.
        for name in ("Résumé été #1 100%?.pdf", "a b+c%20d.pdf", "報告書.pdf"):
            sub3 = str(uuid.uuid4())
            data = b"%PDF-1.7 " + name.encode() + os.urandom(2000)
            form, file_url = frontend_flow(s.url, sub3, name, data)
            assert file_url == endpoint + "/pp-bucket/" + form["fields"]["key"]
            objects = json.loads(http(endpoint + "/_stub/objects")[2])
            assert objects[f"pp-bucket/{form['fields']['key']}"]["sha256"] == hashlib.sha256(data).hexdigest()
        # Local upload route is not there with S3.
        assert http_json(s.url + "/uploads/local", method="POST", body=b"x",
                         headers={"Content-Type": "multipart/form-data; boundary=x"})[0] == 404
    finally:
        s.stop()
        server.shutdown()
