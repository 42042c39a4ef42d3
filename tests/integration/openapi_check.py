"""Checking a served answer against doc/openapi.json (tests/integration/
test_openapi.py; other tests may use it too).

    spec = Spec(doc)                      # the document as /openapi.json serves it
    spec.check("GET", "/podcasts/01J...", status, headers, body)

check() finds the documented operation for the concrete path (with or
without its trailing slash, as the responder matches), then the documented
response for the status (or a components.responses entry given by name, for
405 and unknown paths, which belong to no operation), and validates: the
Content-Type against the documented media types, a JSON body against the
schema (JSON Schema 2020-12, python3-jsonschema), and each documented header
that is present against its schema. It raises AssertionError saying what
did not match.
"""
import json
import re

import jsonschema

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def template_regex(template):
    """A regex for a path template: {name} is one non-empty segment, and a
    trailing slash is optional (the responder matches both spellings)."""
    parts = re.split(r"(\{[^}/]+\})", template.rstrip("/"))
    rx = "".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts if p)
    return re.compile("^" + (rx or "") + "/?$")


class Spec:
    def __init__(self, doc):
        self.doc = doc
        self.paths = [(template_regex(p), p) for p in doc["paths"]]

    def deref(self, obj):
        """OBJ, or what its $ref (a local JSON pointer) names, followed."""
        for _ in range(20):
            if not isinstance(obj, dict) or "$ref" not in obj:
                return obj
            obj = self.pointer(obj["$ref"])
        raise AssertionError("a $ref loop")

    def pointer(self, ref):
        assert ref.startswith("#/"), f"not a local reference: {ref}"
        node = self.doc
        for raw in ref[2:].split("/"):
            key = raw.replace("~1", "/").replace("~0", "~")
            assert isinstance(node, dict) and key in node, f"{ref} names nothing"
            node = node[key]
        return node

    def template(self, path):
        """The documented path template of a concrete PATH, or None."""
        path = path.split("?", 1)[0]
        found = [t for rx, t in self.paths if rx.match(path)]
        # A literal template wins over one with parameters.
        found.sort(key=lambda t: t.count("{"))
        return found[0] if found else None

    def operation(self, method, path):
        template = self.template(path)
        assert template is not None, f"{path}: no documented path"
        op = self.doc["paths"][template].get(method.lower())
        assert op is not None, f"{method} {template}: not documented"
        return template, op

    def validator(self, schema):
        """A 2020-12 validator of SCHEMA whose $refs resolve in the document
        (the document's components ride along as an unknown keyword, which
        JSON pointers reach in every jsonschema version Debian has)."""
        root = dict(schema) if isinstance(schema, dict) else {"allOf": [schema]}
        root.setdefault("$schema", "https://json-schema.org/draft/2020-12/schema")
        root["components"] = self.doc["components"]
        return jsonschema.Draft202012Validator(root)

    def validate(self, schema, value, what):
        errors = sorted(self.validator(schema).iter_errors(value), key=lambda e: list(e.path))
        if errors:
            raise AssertionError(f"{what} does not match its schema: " +
                                 "; ".join(f"at {list(e.path)}: {e.message}" for e in errors[:5]))

    def response(self, method, path, status, component=None):
        """(what, the documented response object) for STATUS."""
        if component is not None:
            return f"components.responses.{component}", self.deref(
                self.doc["components"]["responses"][component])
        template, op = self.operation(method, path)
        responses = op["responses"]
        key = str(status)
        if key not in responses:
            key = f"{key[0]}XX" if f"{key[0]}XX" in responses else "default"
        assert key in responses, (f"{method} {template} answered {status}, which is not "
                                  f"documented (documented: {sorted(responses)})")
        return f"{method} {template} {status}", self.deref(responses[key])

    def check(self, method, path, status, headers, body, component=None):
        """Validates one answer; BODY is bytes, HEADERS a lower-cased dict.
        Returns the parsed JSON body, or None."""
        what, resp = self.response(method, path, status, component)
        for name, header in (resp.get("headers") or {}).items():
            header = self.deref(header)
            value = headers.get(name.lower())
            if value is not None and "schema" in header:
                self.validate(header["schema"], value, f"{what}: header {name}")
        content = resp.get("content") or {}
        if not body:
            return None
        assert content, f"{what}: a body ({len(body)} bytes) where none is documented"
        ctype = (headers.get("content-type") or "").split(";")[0].strip().lower()
        assert ctype in content, f"{what}: Content-Type {ctype!r}, documented {sorted(content)}"
        schema = content[ctype].get("schema")
        if ctype != "application/json":
            return None
        doc = json.loads(body)
        if schema is not None:
            self.validate(schema, doc, what)
        return doc

    def operations(self):
        """(METHOD, template, operation) for every documented operation."""
        for template, item in self.doc["paths"].items():
            for method in METHODS:
                if method in item:
                    yield method.upper(), template, item[method]


_SPECS = {}


def served_spec(base_url, fetch):
    """The document BASE_URL serves (FETCH(url) -> (status, headers, body)),
    fetched once per base URL."""
    if base_url not in _SPECS:
        status, _, body = fetch(base_url + "/openapi.json")
        assert status == 200, f"{base_url}/openapi.json answered {status}"
        _SPECS[base_url] = Spec(json.loads(body))
    return _SPECS[base_url]


def check_answer(spec, method, path, status, headers, body):
    """What the API tests' calls go through: every answer to a documented
    operation must be one the document gives; an unknown path's 404 and a
    405 must match their components. Debug routes (/_test/) and CORS
    preflights (OPTIONS) are not part of the document."""
    if path.startswith("/_test/") or method.upper() == "OPTIONS":
        return
    if status == 405:
        spec.check(method, path, status, headers, body, component="MethodNotAllowed")
    elif spec.template(path) is None:
        assert status == 404, f"{method} {path} answered {status}: not a documented path"
        spec.check(method, path, status, headers, body, component="NotFound")
    else:
        spec.check(method, path, status, headers, body)


def checked_call(base_url, fetch, method, path, body=None, headers=None):
    """One request through FETCH (servers.http_raw's signature), its answer
    checked against the document BASE_URL serves: (status, headers, parsed
    JSON or None)."""
    status, rh, data = fetch(base_url + path, method=method, body=body, headers=headers or {})
    check_answer(served_spec(base_url, fetch), method, path, status, rh, data)
    try:
        doc = json.loads(data) if data else None
    except ValueError:
        doc = None
    return status, rh, doc
