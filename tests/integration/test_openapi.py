"""GET /openapi.json and GET /docs (issue 14), through the shipped nginx file:

- the document is served as built (doc/openapi.json, info.version from
  configure) with a strong ETag, Cache-Control and 304 on revalidation, and
  the page (doc/api-docs.html) with a Content-Security-Policy that allows its
  own inline script and style by hash and nothing from another host;
- every route of the responder's table (GET /_test/routes lists it) is in
  the document with its method, rate limit and authentication, and every
  documented operation is served (a real request is routed, and its answer
  matches what the document says of that status);
- the document is OpenAPI 3.1 in structure: the fields each object may have,
  path templates and their parameters, unique operation ids, every $ref
  resolving, every schema a valid JSON Schema 2020-12 (python3-jsonschema's
  metaschema; no Debian package ships the OpenAPI 3.1 schema itself);
- answers of real requests (GET /, /health, /health/ready, sign-url, the
  local upload, POST/GET/list/DELETE podcasts, a stream URL, credits, and
  401, 403, 404, 405, 413, 422, 429 and 429-quota) match the document's
  response schemas and headers;
- GET / points at both.

The page in headless Chromium is test_openapi_docs_page_in_chromium, at the
end (skipped, saying why, without node, chromium or tests/browser's npm
packages).
"""
import base64
import hashlib
import json
import os
import re
import shutil
import subprocess
import uuid

import jsonschema
import pytest

import pp
from openapi_check import METHODS, Spec
from servers import Lighttpd, http, http_json, stop_all
from test_api_auth import ApiStack, Keys, claims, hs256
from test_api_uploads import post_form

pytestmark = pytest.mark.skipif(not os.path.exists(pp.binary("podcastpro-fcgi")),
                                reason="podcastpro-fcgi is not built in PP_BUILDDIR")

DOC_PATH = os.path.join(pp.ROOT, "doc", "openapi.json")
PAGE_PATH = os.path.join(pp.ROOT, "doc", "api-docs.html")
BROWSER_DIR = os.path.join(pp.ROOT, "tests", "browser")
CHROMIUM = os.environ.get("PP_CHROMIUM", "/usr/bin/chromium")
SHOTS = os.path.join(pp.ROOT, "build", "browser")
CREDITS_LIMIT = 3


def configure_version():
    with open(os.path.join(pp.ROOT, "configure.ac")) as f:
        return re.search(r"AC_INIT\(\[[^]]+\],\s*\[([^]]+)\]", f.read()).group(1)


@pytest.fixture(scope="module")
def api(services, tmp_path_factory):
    # Rate limits on (a private Redis: nothing shared with other tests), the
    # credits' tight so that a 429 is one request away.
    s = ApiStack(tmp_path_factory.mktemp("openapi"), services, Keys(), "pp_api_openapi",
                 env={"RATE_LIMIT_ENABLED": "true",
                      "RATE_LIMITS": f"get_credits={CREDITS_LIMIT}/hour"})
    yield s
    s.stop()


@pytest.fixture(scope="module")
def spec(api):
    status, headers, body = http(api.url + "/openapi.json")
    assert status == 200, body[:500]
    return Spec(json.loads(body))


def user_token():
    sub = str(uuid.uuid4())
    return sub, hs256(claims(sub=sub, email=f"{sub[:8]}@example.com"))


# --- served as built ---------------------------------------------------------

def test_document_served_as_built_with_etag(api):
    status, headers, body = http(api.url + "/openapi.json")
    assert status == 200
    assert headers["content-type"] == "application/json"
    served = json.loads(body)
    with open(DOC_PATH) as f:
        source = json.load(f)
    assert served["info"]["version"] == configure_version()
    source["info"]["version"] = served["info"]["version"]
    assert served == source
    etag = headers["etag"]
    assert re.fullmatch(r'"[0-9a-f]{32}"', etag), etag       # strong: no W/
    assert headers["cache-control"] == "no-cache"
    assert headers["x-content-type-options"] == "nosniff"
    # Revalidation: 304 without a body, for the tag, its weak form, a list, *.
    for sent in (etag, "W/" + etag, f'"other", {etag}', "*"):
        status, h, again = http(api.url + "/openapi.json", headers={"If-None-Match": sent})
        assert status == 304 and again == b"" and h["etag"] == etag, sent
    status, _, again = http(api.url + "/openapi.json", headers={"If-None-Match": '"other"'})
    assert status == 200 and again == body
    # Every process serves the same bytes, so the same tag.
    tags = {http(api.url + "/openapi.json")[1]["etag"] for _ in range(6)}
    assert tags == {etag}


def csp_hash(text):
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def test_docs_page_served_with_its_csp(api):
    status, headers, body = http(api.url + "/docs")
    assert status == 200
    assert headers["content-type"] == "text/html; charset=utf-8"
    with open(PAGE_PATH, "rb") as f:
        assert body == f.read()
    # The page loads nothing from another host: no URL with a scheme in it.
    assert not re.search(rb"(src|href)\s*=\s*[\"']?(https?:)?//", body)
    page = body.decode()
    script = re.search(r"<script>(.*?)</script>", page, re.S).group(1)
    style = re.search(r"<style>(.*?)</style>", page, re.S).group(1)
    assert page.count("<script") == 1 and page.count("<style") == 1
    csp = dict(d.strip().split(" ", 1) for d in headers["content-security-policy"].split(";"))
    assert csp["default-src"] == "'none'"
    assert csp["script-src"] == csp_hash(script)
    assert csp["style-src"] == csp_hash(style)
    assert csp["connect-src"] == "'self'"
    assert "http" not in headers["content-security-policy"]
    etag = headers["etag"]
    assert re.fullmatch(r'"[0-9a-f]{32}"', etag)
    status, h, again = http(api.url + "/docs/", headers={"If-None-Match": etag})
    assert status == 304 and again == b""


def test_served_through_lighttpd_too(api, tmpdir_world):
    """The shipped lighttpd file passes both to the responder, as nginx's."""
    web = Lighttpd(tmpdir_world, socket_path=api.app.socket, storage_dir=api.storage)
    try:
        for path in ("/openapi.json", "/docs"):
            via_nginx = http(api.url + path)
            status, headers, body = http(web.url + path)
            assert status == 200 and body == via_nginx[2]
            assert headers["etag"] == via_nginx[1]["etag"]
            assert headers["content-type"] == via_nginx[1]["content-type"]
            status, _, body = http(web.url + path, headers={"If-None-Match": headers["etag"]})
            assert status == 304 and body == b""
    finally:
        stop_all(web)


def test_root_points_at_docs_and_openapi(api, spec):
    status, headers, body = http(api.url + "/")
    doc = spec.check("GET", "/", status, headers, body)
    assert doc["api_reference"] == "/docs" and doc["openapi"] == "/openapi.json"
    assert http(api.url + doc["api_reference"])[0] == 200
    assert http(api.url + doc["openapi"])[0] == 200


# --- the route table and the document ----------------------------------------

def shape(pattern):
    """A route pattern or path template without parameter names and without
    its trailing slash: "/podcasts/{}"."""
    return re.sub(r"\{[^}]*\}", "{}", pattern.rstrip("/")) or "/"


def test_every_route_documented_and_every_operation_served(api, spec):
    status, _, table = http_json(api.url + "/_test/routes")
    assert status == 200, table
    routes = [r for r in table["routes"] if not r["test"]]
    assert len(routes) >= 15, routes
    documented = {(m, shape(t)): op for m, t, op in spec.operations()}
    served = {(r["method"], shape(r["pattern"])): r for r in routes}

    # Every route, with its limit and its authentication.
    for key, r in served.items():
        assert key in documented, f"{r['method']} {r['pattern']} is not in doc/openapi.json"
        op = documented[key]
        assert op.get("x-rate-limit") == r["limit"], (key, op.get("x-rate-limit"), r["limit"])
        security = op.get("security", spec.doc.get("security", []))
        assert bool(security) == r["auth"], (key, security)
        if r["auth"]:
            assert {"bearerAuth": []} in security
            assert "401" in op["responses"], key
        if r["limit"]:
            assert "429" in op["responses"], key
    # Nothing documented that is not served, and no debug route documented.
    for key in documented:
        assert key in served, f"{key[0]} {key[1]} is documented but not in the route table"
    assert not [t for t in spec.doc["paths"] if t.startswith("/_test")]

    # Each documented operation, asked for real (parameters filled in, no
    # token, no body), is routed (neither the router's 404 nor 405), and
    # its answer is one the document gives for it.
    for method, template, op in spec.operations():
        path = re.sub(r"\{[^}]+\}", "x", template)
        status, headers, body = http(api.url + path, method=method)
        assert status != 405, (method, template)
        if status == 404 and body:
            # The router's 404 says "Not Found"; /media/ says it too for a
            # missing object (and with S3 storage, for every key).
            # /metrics is off here (METRICS_LISTEN unset) and then answers
            # just as an unknown path does, on purpose (doc/metrics.md).
            assert json.loads(body) != {"detail": "Not Found"} or template.startswith("/media/") \
                or template == "/metrics", \
                (method, template, body)
        spec.check(method, path, status, headers, body)
    # And the router's own refusals match their components.
    status, headers, body = http(api.url + "/no/such/path")
    assert status == 404
    spec.check("GET", "/no/such/path", status, headers, body, component="NotFound")
    status, headers, body = http(api.url + "/health", method="DELETE")
    assert status == 405 and headers["allow"] == "GET"
    spec.check("DELETE", "/health", status, headers, body, component="MethodNotAllowed")


# --- OpenAPI 3.1 structure ---------------------------------------------------

ROOT_FIELDS = {"openapi", "info", "jsonSchemaDialect", "servers", "paths", "webhooks",
               "components", "security", "tags", "externalDocs"}
INFO_FIELDS = {"title", "summary", "description", "termsOfService", "contact", "license", "version"}
PATH_ITEM_FIELDS = {"$ref", "summary", "description", "servers", "parameters", *METHODS}
OPERATION_FIELDS = {"tags", "summary", "description", "externalDocs", "operationId", "parameters",
                    "requestBody", "responses", "callbacks", "deprecated", "security", "servers"}
PARAMETER_FIELDS = {"name", "in", "description", "required", "deprecated", "allowEmptyValue",
                    "style", "explode", "allowReserved", "schema", "example", "examples", "content"}
HEADER_FIELDS = PARAMETER_FIELDS - {"name", "in", "allowEmptyValue", "allowReserved"}
RESPONSE_FIELDS = {"description", "headers", "content", "links"}
MEDIA_FIELDS = {"schema", "example", "examples", "encoding"}
REQUEST_BODY_FIELDS = {"description", "content", "required"}
COMPONENT_FIELDS = {"schemas", "responses", "parameters", "examples", "requestBodies", "headers",
                    "securitySchemes", "links", "callbacks", "pathItems"}


def fields_ok(obj, allowed, where):
    extra = {k for k in obj if k not in allowed and not k.startswith("x-")}
    assert not extra, f"{where}: fields OpenAPI 3.1 does not have: {sorted(extra)}"


def test_document_is_openapi_3_1(spec):
    doc = spec.doc
    d = spec.deref
    fields_ok(doc, ROOT_FIELDS, "the document")
    assert re.fullmatch(r"3\.1\.\d+", doc["openapi"])
    fields_ok(doc["info"], INFO_FIELDS, "info")
    assert isinstance(doc["info"]["title"], str) and isinstance(doc["info"]["version"], str)
    fields_ok(doc["components"], COMPONENT_FIELDS, "components")
    for name in doc["components"]:
        for key in doc["components"][name]:
            assert re.fullmatch(r"[a-zA-Z0-9._-]+", key), f"components.{name}.{key}"
    schemes = doc["components"]["securitySchemes"]
    assert schemes["bearerAuth"]["type"] == "http" and schemes["bearerAuth"]["scheme"] == "bearer"
    tags = {t["name"] for t in doc["tags"]}

    # Every $ref resolves, wherever it is.
    def walk(node, where):
        if isinstance(node, dict):
            if isinstance(node.get("$ref"), str):
                spec.pointer(node["$ref"])
            for k, v in node.items():
                walk(v, f"{where}/{k}")
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, f"{where}/{i}")
    walk(doc, "#")

    schemas = [(f"components.schemas.{n}", s) for n, s in doc["components"]["schemas"].items()]

    def media(content, where):
        assert content, f"{where}: empty content"
        for ctype, m in content.items():
            assert re.fullmatch(r"[a-z]+/[a-z0-9.+-]+", ctype), f"{where}: {ctype}"
            fields_ok(m, MEDIA_FIELDS, f"{where} {ctype}")
            if "schema" in m:
                schemas.append((f"{where} {ctype}", m["schema"]))

    def header(h, where):
        h = d(h)
        fields_ok(h, HEADER_FIELDS, where)
        assert "schema" in h or "content" in h, where
        if "schema" in h:
            schemas.append((where, h["schema"]))

    def parameter(p, where):
        p = d(p)
        fields_ok(p, PARAMETER_FIELDS, where)
        assert p["in"] in ("query", "header", "path", "cookie"), where
        assert isinstance(p["name"], str) and p["name"], where
        if p["in"] == "path":
            assert p.get("required") is True, f"{where}: a path parameter must be required"
        assert ("schema" in p) != ("content" in p), f"{where}: schema or content, one of them"
        if "schema" in p:
            schemas.append((where, p["schema"]))
        return p

    operation_ids = set()
    for template, item in doc["paths"].items():
        assert template.startswith("/"), template
        fields_ok(item, PATH_ITEM_FIELDS, template)
        in_template = re.findall(r"\{([^}/]+)\}", template)
        assert len(in_template) == len(set(in_template)), template
        shared = [parameter(p, f"{template} parameters") for p in item.get("parameters", [])]
        ops = [m for m in METHODS if m in item]
        assert ops, f"{template}: no operation"
        for m in ops:
            op = item[m]
            where = f"{m.upper()} {template}"
            fields_ok(op, OPERATION_FIELDS, where)
            assert op.get("operationId") and op["operationId"] not in operation_ids, where
            operation_ids.add(op["operationId"])
            assert set(op.get("tags", [])) <= tags, where
            own = [parameter(p, where) for p in op.get("parameters", [])]
            seen = {}
            for p in shared + own:
                seen[(p["name"], p["in"])] = p          # an operation's own wins
            path_params = {n for n, i in seen if i == "path"}
            assert path_params == set(in_template), \
                f"{where}: template parameters {in_template}, declared {sorted(path_params)}"
            for req in op.get("security", []):
                assert set(req) <= set(schemes), where
            if "requestBody" in op:
                rb = d(op["requestBody"])
                fields_ok(rb, REQUEST_BODY_FIELDS, where)
                media(rb["content"], f"{where} request body")
            assert op["responses"], f"{where}: no responses"
            for code, r in op["responses"].items():
                assert re.fullmatch(r"[1-5](\d\d|XX)|default", code), f"{where} {code}"
                r = d(r)
                fields_ok(r, RESPONSE_FIELDS, f"{where} {code}")
                assert isinstance(r.get("description"), str), f"{where} {code}: no description"
                for name, h in (r.get("headers") or {}).items():
                    assert name.lower() != "content-type", f"{where} {code}: Content-Type header"
                    header(h, f"{where} {code} header {name}")
                if "content" in r:
                    media(r["content"], f"{where} {code}")
    for name, r in doc["components"]["responses"].items():
        fields_ok(r, RESPONSE_FIELDS, f"components.responses.{name}")
        assert isinstance(r.get("description"), str)
        for hname, h in (r.get("headers") or {}).items():
            header(h, f"components.responses.{name} header {hname}")
        if "content" in r:
            media(r["content"], f"components.responses.{name}")
    for name, p in doc["components"]["parameters"].items():
        parameter(p, f"components.parameters.{name}")
    for name, h in doc["components"]["headers"].items():
        header(h, f"components.headers.{name}")

    # Every schema is JSON Schema 2020-12 (OpenAPI 3.1's dialect).
    for where, schema in schemas:
        try:
            jsonschema.Draft202012Validator.check_schema(schema)
        except jsonschema.SchemaError as e:
            raise AssertionError(f"{where}: not a valid JSON Schema 2020-12: {e.message}")
    assert len(schemas) > 40


def test_structure_check_catches_mistakes(spec):
    """The structural test above fails on the mistakes it is there for."""
    broken = json.loads(json.dumps(spec.doc))
    broken["paths"]["/podcasts/{id}"]["get"]["summery"] = "typo"
    with pytest.raises(AssertionError, match="summery"):
        test_document_is_openapi_3_1(Spec(broken))
    broken = json.loads(json.dumps(spec.doc))
    broken["paths"]["/podcasts/{id}"]["parameters"] = []
    with pytest.raises(AssertionError, match="template parameters"):
        test_document_is_openapi_3_1(Spec(broken))
    broken = json.loads(json.dumps(spec.doc))
    broken["components"]["schemas"]["Podcast"]["properties"]["id"] = {"type": "strin"}
    with pytest.raises(AssertionError, match="JSON Schema"):
        test_document_is_openapi_3_1(Spec(broken))


# --- real answers against the document ----------------------------------------

def call(api, spec, method, path, token=None, body=None, headers=None, component=None):
    h = dict(headers or {})
    if token:
        h["Authorization"] = "Bearer " + token
    status, rh, data = http(api.url + path, method=method, body=body, headers=h)
    doc = spec.check(method, path, status, rh, data, component=component)
    return status, rh, doc


def rate_headers(headers):
    for name in ("x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset", "ratelimit",
                 "ratelimit-policy"):
        assert name in headers, f"{name} missing: {sorted(headers)}"


def test_real_answers_match_the_document(api, spec):
    # Service.
    status, h, _ = call(api, spec, "GET", "/")
    assert status == 200
    status, h, body = http(api.url + "/", method="HEAD")
    assert status == 200 and body == b""
    status, h, doc = call(api, spec, "GET", "/health")
    assert status == 200 and doc == {"status": "healthy"}
    rate_headers(h)
    status, h, doc = call(api, spec, "GET", "/health/ready")
    assert status == 200 and doc["status"] == "ready"

    # Uploads: the form, then the form posted to its url.
    sub, tok = user_token()
    status, h, _ = call(api, spec, "POST", "/uploads/sign-url/", body={"filename": "a.pdf"})
    assert status == 401 and h["www-authenticate"] == "Bearer"
    status, h, doc = call(api, spec, "POST", "/uploads/sign-url/", tok, body={})
    assert status == 422 and doc["detail"][0]["loc"] == ["body", "filename"]
    status, h, form = call(api, spec, "POST", "/uploads/sign-url/", tok,
                           body={"filename": "Notes #1.pdf"})
    assert status == 200
    rate_headers(h)
    assert form["url"] == api.url + "/uploads/local/"
    status, h, data = post_form(form["url"], form["fields"], b"%PDF-1.4 openapi\n")
    assert status == 204, data
    spec.check("POST", "/uploads/local/", status, h, b"")
    bad = dict(form["fields"], **{"x-amz-signature": "0" * 64})
    status, h, data = post_form(form["url"], bad, b"%PDF-1.4 openapi\n")
    assert status == 403
    spec.check("POST", "/uploads/local/", status, h, json.dumps(data).encode())
    original = form["url"] + form["fields"]["key"]

    # Podcasts: 422s, create, get, list, a complete one with its stream, delete.
    status, h, doc = call(api, spec, "POST", "/podcasts/", tok, body=b"{not json",
                          headers={"Content-Type": "application/json"})
    assert status == 422 and doc["detail"][0]["type"] == "json_invalid"
    status, h, doc = call(api, spec, "POST", "/podcasts/", tok,
                          body={"original_file_url": original, "requirements": "x" * 2001})
    assert status == 422 and doc["detail"][0]["loc"] == ["body", "requirements"]
    status, h, doc = call(api, spec, "POST", "/podcasts/", tok, body=b"{" + b" " * (1 << 20) + b"}",
                          headers={"Content-Type": "application/json"})
    assert status == 413
    status, h, podcast = call(api, spec, "POST", "/podcasts/", tok,
                              body={"original_file_url": original, "requirements": "Short."})
    assert status == 202, podcast
    rate_headers(h)
    pid = podcast["id"]
    status, h, got = call(api, spec, "GET", f"/podcasts/{pid}", tok)
    assert status == 200 and got["id"] == pid and got["stream_url"] is None
    status, h, page = call(api, spec, "GET", "/podcasts/?limit=1", tok)
    assert status == 200 and [p["id"] for p in page] == [pid]
    status, h, doc = call(api, spec, "GET", "/podcasts/?limit=0", tok)
    assert status == 422 and doc["detail"][0]["loc"] == ["query", "limit"]

    # The pipeline's columns filled in, as a finished run leaves them.
    key = f"podcasts/podcast_{pid}.mp3"
    os.makedirs(os.path.join(api.storage, "podcasts"), exist_ok=True)
    with open(os.path.join(api.storage, key), "wb") as f:
        f.write(b"\xff\xfb\x90\x00" * 256)
    transcript = {"title": "T", "summary": "S", "lines": [{"speaker": "Dorothy", "text": "Hi."},
                                                          {"speaker": "Will", "text": "Hello."}]}
    api.db.sql("UPDATE podcasts SET status = 'complete', stage = 'complete', progress = 100, "
               "title = 'T', duration = 12, attempts = 1, transcript = :'p1'::jsonb, "
               "final_podcast_url = :'p2', updated_at = now() WHERE id = :'p0'",
               pid, json.dumps(transcript), f"{api.url}/uploads/local/{key}")
    status, h, got = call(api, spec, "GET", f"/podcasts/{pid}", tok)
    assert status == 200 and got["transcript"] == transcript and got["stream_url"]
    stream = got["stream_url"][len(api.url):]
    status, h, body = http(got["stream_url"])
    assert status == 200 and h["content-type"] == "audio/mpeg" and len(body) == 1024
    spec.check("GET", stream, status, h, body)         # audio/mpeg is documented
    status, h, _ = call(api, spec, "GET", stream.replace("sig=", "sig=0"))
    assert status == 403

    other_sub, other = user_token()
    status, h, doc = call(api, spec, "GET", f"/podcasts/{pid}", other)
    assert status == 404 and doc == {"detail": "Podcast not found"}
    status, h, _ = call(api, spec, "DELETE", f"/podcasts/{pid}", tok)
    assert status == 204
    status, h, doc = call(api, spec, "DELETE", f"/podcasts/{pid}", tok)
    assert status == 404

    # The quota's 429 (no retry_after) and the rate limit's (with it).
    api.db.sql("UPDATE users SET podcast_limit = 0 WHERE auth_user_id = :'p0'", sub)
    status, h, doc = call(api, spec, "POST", "/podcasts/", tok, body={"original_file_url": original})
    assert status == 429 and doc == {"detail": "You have reached your podcast creation limit"}
    # (An earlier test may have used some of the credits' places.)
    statuses = []
    for _ in range(CREDITS_LIMIT + 1):
        status, h, doc = call(api, spec, "GET", "/elevenlabs/credits")
        rate_headers(h)
        statuses.append(status)
        if status == 429:
            assert doc["retry_after"] == h["retry-after"]
            break
        assert doc["status"] == "offline"
    assert statuses[0] == 200 and statuses[-1] == 429, statuses

    # The router's own: unknown path, wrong method; auth's 401 with a bad token.
    call(api, spec, "GET", "/nothing-here", component="NotFound")
    status, h, doc = call(api, spec, "PUT", "/podcasts/", tok, component="MethodNotAllowed")
    assert status == 405 and doc == {"detail": "Method Not Allowed"}
    status, h, doc = call(api, spec, "GET", "/podcasts/", "not-a-token")
    assert status == 401


def test_validation_catches_a_wrong_answer(api, spec):
    """The checks above would fail on an answer unlike the document's."""
    status, headers, body = http(api.url + "/health")
    wrong = json.dumps({"status": "healthy", "extra": 1}).encode()
    with pytest.raises(AssertionError, match="extra"):
        spec.check("GET", "/health", status, headers, wrong)
    with pytest.raises(AssertionError, match="not documented"):
        spec.check("GET", "/health", 418, headers, body)
    with pytest.raises(AssertionError, match="Content-Type"):
        spec.check("GET", "/health", status, dict(headers, **{"content-type": "text/plain"}), body)


# --- the page in a browser ------------------------------------------------------

def missing_browser_tools():
    if shutil.which("node") is None:
        return "node is not installed (Debian package nodejs; script/test installs it)"
    if not os.access(CHROMIUM, os.X_OK):
        return f"{CHROMIUM} is not installed (Debian package chromium; script/test installs it)"
    if not os.path.isdir(os.path.join(BROWSER_DIR, "node_modules", "playwright-core")):
        return "tests/browser/node_modules is missing (script/test runs npm ci there)"
    return None


@pytest.mark.skipif(missing_browser_tools() is not None, reason=str(missing_browser_tools()))
def test_openapi_docs_page_in_chromium(api, spec):
    shot = os.path.join(SHOTS, "api-docs.png")
    if os.path.exists(shot):
        os.unlink(shot)
    opts = {"page": api.url + "/docs", "screenshot": shot, "open": "createPodcast", "filter": "ElevenLabs",
            "timeoutMs": 30000, "chromium": CHROMIUM}
    proc = subprocess.run(["node", os.path.join(BROWSER_DIR, "docs.js"), json.dumps(opts)],
                          cwd=BROWSER_DIR, capture_output=True, text=True, timeout=60,
                          stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    why = json.dumps(out, indent=1)[:6000]
    os.makedirs(SHOTS, exist_ok=True)
    with open(os.path.join(SHOTS, "api-docs.json"), "w") as f:
        json.dump(out, f, indent=1)

    assert out["state"]["loaded"] is True and out["state"]["error"] is None, why
    # Nothing thrown, nothing refused (a CSP refusal is a console error),
    # and nothing asked of any other host.
    assert out["pageErrors"] == [] and out["failedRequests"] == [], why
    assert [m for m in out["console"] if m.startswith("error")] == [], why
    assert out["requests"] and all(u.startswith(api.url + "/") for u in out["requests"]), why
    # Every operation of the document, shown with its method and path.
    want = {op["operationId"]: (m, t) for m, t, op in spec.operations()}
    shown = {o["id"]: (o["method"], o["path"]) for o in out["operations"]}
    assert shown == want, why
    assert out["state"]["operations"] == len(want)
    assert out["title"] == spec.doc["info"]["title"]
    assert out["version"] == "version " + configure_version()
    # The opened operation shows its body's schema and every response.
    opened = out["opened"]
    assert opened["visible"] is True, why
    assert opened["statuses"] == list(spec.doc["paths"]["/podcasts/"]["post"]["responses"]), why
    assert "original_file_url" in opened["text"] and "requirements" in opened["text"], why
    assert "Bearer token" in opened["text"] and "create_podcast" in opened["text"], why
    # The filter narrows the list to the operations whose words have it.
    words = {op["operationId"]: " ".join([m, t, op.get("summary", ""), op.get("description", ""),
                                          op["operationId"]]).lower()
             for m, t, op in spec.operations()}
    assert out["filtered"] == sorted(i for i, w in words.items() if "elevenlabs" in w), why
    assert "getCredits" in out["filtered"] and len(out["filtered"]) < len(want)
    assert os.path.getsize(shot) > 10000
