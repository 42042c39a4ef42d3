#!/usr/bin/env python3
"""A local S3 that checks signatures: path-style PUT, GET, HEAD, DELETE
object and browser POST uploads, with SigV4 (Authorization header and
presigned query) and POST policies verified independently of our C signer,
with Python's hmac and hashlib. Errors are S3's XML bodies and statuses:
SignatureDoesNotMatch 403, AccessDenied 403 (expired, policy conditions),
NoSuchKey 404, NoSuchBucket 404, EntityTooLarge / EntityTooSmall 400,
XAmzContentSHA256Mismatch 400, MalformedPOSTRequest 400.

    python3 s3_stub.py --port 0 --bucket b --access-key AK --secret-key SK
prints "listening on PORT" and serves until SIGTERM. Tests may import it
and use start() instead. GET /_stub/objects lists what is stored (JSON),
outside S3's API, for assertions.
"""
import argparse
import base64
import datetime
import hashlib
import hmac
import json
import re
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

UNSIGNED = "UNSIGNED-PAYLOAD"
SKEW = datetime.timedelta(minutes=15)


# --- SigV4, written from AWS's specification ---------------------------------

def uri_encode(s, keep_slash):
    safe = "-_.~" + ("/" if keep_slash else "")
    return urllib.parse.quote(s, safe=safe)


def signing_key(secret, date, region, service):
    k = hmac.new(("AWS4" + secret).encode(), date.encode(), hashlib.sha256).digest()
    for part in (region, service, "aws4_request"):
        k = hmac.new(k, part.encode(), hashlib.sha256).digest()
    return k


def sign(secret, date, region, service, string_to_sign):
    return hmac.new(signing_key(secret, date, region, service), string_to_sign.encode(),
                    hashlib.sha256).hexdigest()


def canonical_query(raw_query, drop=()):
    pairs = []
    for item in raw_query.split("&") if raw_query else []:
        if not item:
            continue
        name, _, value = item.partition("=")
        name, value = urllib.parse.unquote(name), urllib.parse.unquote(value)
        if name in drop:
            continue
        pairs.append((uri_encode(name, False), uri_encode(value, False)))
    pairs.sort()
    return "&".join(f"{n}={v}" for n, v in pairs)


def post_policy_fields(access_key, secret, region, service, conditions, expiration, now):
    """What a correct signer produces for a POST policy (tests craft forms with it)."""
    amz_date = now.strftime("%Y%m%dT%H%M%SZ")
    date = amz_date[:8]
    cred = f"{access_key}/{date}/{region}/{service}/aws4_request"
    doc = {"expiration": expiration.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
           "conditions": list(conditions) + [{"x-amz-algorithm": "AWS4-HMAC-SHA256"},
                                             {"x-amz-credential": cred}, {"x-amz-date": amz_date}]}
    policy = base64.b64encode(json.dumps(doc).encode()).decode()
    return {"x-amz-algorithm": "AWS4-HMAC-SHA256", "x-amz-credential": cred, "x-amz-date": amz_date,
            "policy": policy, "x-amz-signature": sign(secret, date, region, service, policy)}


def parse_amz_date(text):
    return datetime.datetime.strptime(text, "%Y%m%dT%H%M%SZ").replace(tzinfo=datetime.timezone.utc)


class S3Error(Exception):
    def __init__(self, status, code, message):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def check_policy(fields, content_length, bucket, access_key, secret, region, service="s3",
                 now=None):
    """Checks a POST form's FIELDS (lower-case names) as S3 does; raises S3Error."""
    now = now or datetime.datetime.now(datetime.timezone.utc)
    for need in ("policy", "x-amz-signature", "x-amz-credential", "x-amz-algorithm", "x-amz-date"):
        if need not in fields:
            raise S3Error(400, "InvalidArgument", f"Bucket POST must contain a field named '{need}'.")
    if fields["x-amz-algorithm"] != "AWS4-HMAC-SHA256":
        raise S3Error(400, "InvalidArgument", "unsupported algorithm")
    parts = fields["x-amz-credential"].split("/")
    if len(parts) != 5 or parts[4] != "aws4_request":
        raise S3Error(400, "InvalidArgument", "malformed credential")
    if parts[0] != access_key:
        raise S3Error(403, "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records.")
    if parts[2] != region or parts[3] != service:
        raise S3Error(403, "SignatureDoesNotMatch", "credential scope mismatch")
    want = sign(secret, parts[1], region, service, fields["policy"])
    if not hmac.compare_digest(want, fields["x-amz-signature"].lower()):
        raise S3Error(403, "SignatureDoesNotMatch",
                      "The request signature we calculated does not match the signature you provided.")
    try:
        doc = json.loads(base64.b64decode(fields["policy"], validate=True))
        expiration = datetime.datetime.strptime(doc["expiration"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(
            tzinfo=datetime.timezone.utc)
        conditions = doc["conditions"]
    except (ValueError, KeyError, TypeError):
        raise S3Error(400, "InvalidPolicyDocument", "Invalid Policy: Invalid JSON.")
    if expiration < now:
        raise S3Error(403, "AccessDenied", "Invalid according to Policy: Policy expired.")
    values = dict(fields, bucket=bucket)
    covered = set()
    for cond in conditions:
        if isinstance(cond, dict) and len(cond) == 1:
            (name, value), = cond.items()
            covered.add(name.lower())
            if values.get(name.lower()) != value:
                raise S3Error(403, "AccessDenied",
                              f'Invalid according to Policy: Policy Condition failed: ["eq", "${name}", "{value}"]')
        elif isinstance(cond, list) and len(cond) == 3 and str(cond[0]).lower() == "content-length-range":
            lo, hi = int(cond[1]), int(cond[2])
            if content_length < lo:
                raise S3Error(400, "EntityTooSmall", "Your proposed upload is smaller than the minimum allowed size")
            if content_length > hi:
                raise S3Error(400, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size")
        elif isinstance(cond, list) and len(cond) == 3 and str(cond[1]).startswith("$"):
            op, name, value = str(cond[0]).lower(), cond[1][1:].lower(), cond[2]
            covered.add(name)
            have = values.get(name, "")
            ok = have == value if op == "eq" else have.startswith(value) if op == "starts-with" else None
            if ok is None:
                raise S3Error(400, "InvalidPolicyDocument", "Invalid Policy: Invalid conditions")
            if not ok:
                raise S3Error(403, "AccessDenied",
                              f'Invalid according to Policy: Policy Condition failed: ["{op}", "${name}", "{value}"]')
        else:
            raise S3Error(400, "InvalidPolicyDocument", "Invalid Policy: Invalid conditions")
    for name in fields:
        if name in ("policy", "x-amz-signature", "file") or name.startswith("x-ignore-"):
            continue
        if name not in covered:
            raise S3Error(403, "AccessDenied", f"Invalid according to Policy: Extra input fields: {name}")


def parse_multipart(body, content_type):
    """[(name, filename or None, value bytes)] of a multipart/form-data body."""
    m = re.search(r'boundary="?([^";]+)"?', content_type or "")
    if not content_type or not content_type.lower().startswith("multipart/form-data") or not m:
        raise S3Error(400, "MalformedPOSTRequest", "not multipart/form-data")
    delim = b"--" + m.group(1).encode()
    parts = []
    chunks = body.split(delim)
    if len(chunks) < 3 or not chunks[-1].startswith(b"--"):
        raise S3Error(400, "MalformedPOSTRequest",
                      "The body of your POST request is not well-formed multipart/form-data.")
    for chunk in chunks[1:-1]:
        if not chunk.startswith(b"\r\n") or not chunk.endswith(b"\r\n"):
            raise S3Error(400, "MalformedPOSTRequest", "bad part framing")
        head, sep, value = chunk[2:-2].partition(b"\r\n\r\n")
        if not sep:
            raise S3Error(400, "MalformedPOSTRequest", "part without headers")
        disp = ""
        for line in head.decode("utf-8", "replace").split("\r\n"):
            if line.lower().startswith("content-disposition:"):
                disp = line
        nm = re.search(r';\s*name="([^"]*)"', disp)
        fn = re.search(r';\s*filename="([^"]*)"', disp)
        if not nm:
            raise S3Error(400, "MalformedPOSTRequest", "part without a name")
        parts.append((nm.group(1), fn.group(1) if fn else None, value))
    return parts


# --- the server ---------------------------------------------------------------

class Store:
    def __init__(self, buckets, access_key, secret_key, region):
        self.buckets = set(buckets)
        self.access_key, self.secret_key, self.region = access_key, secret_key, region
        self.objects = {}        # (bucket, key) -> (bytes, content type)
        self.requests = []       # (method, path, status) for assertions
        self.lock = threading.Lock()


def xml_error(code, message, resource=""):
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Error><Code>{code}</Code><Message>{message}</Message>"
            f"<Resource>{resource}</Resource><RequestId>STUB</RequestId></Error>").encode()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "AmazonS3"

    def log_message(self, fmt, *args):
        pass

    @property
    def store(self):
        return self.server.store

    def _send(self, status, body=b"", headers=None, head_only=False):
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        if status != 204:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body and not head_only and status != 204:
            self.wfile.write(body)
        with self.store.lock:
            self.store.requests.append((self.command, self.path, status))

    def _error(self, err, head_only=False):
        self._send(err.status, xml_error(err.code, err.message, self.path),
                   {"Content-Type": "application/xml"}, head_only)

    def _read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def _split(self):
        u = urllib.parse.urlsplit(self.path)
        raw_path, query = u.path, u.query
        path = urllib.parse.unquote(raw_path)
        bucket, _, key = path.lstrip("/").partition("/")
        return raw_path, query, bucket, key

    def _verify(self, body):
        """Checks the request's SigV4 (header or presigned query)."""
        raw_path, query, _, _ = self._split()
        q = urllib.parse.parse_qs(query, keep_blank_values=True)
        now = datetime.datetime.now(datetime.timezone.utc)
        if "X-Amz-Signature" in q:
            cred = q["X-Amz-Credential"][0]
            amz_date = q["X-Amz-Date"][0]
            signed = q["X-Amz-SignedHeaders"][0].split(";")
            given = q["X-Amz-Signature"][0]
            expires = int(q["X-Amz-Expires"][0])
            if not 1 <= expires <= 604800:
                raise S3Error(400, "AuthorizationQueryParametersError", "X-Amz-Expires out of range")
            if parse_amz_date(amz_date) + datetime.timedelta(seconds=expires) < now:
                raise S3Error(403, "AccessDenied", "Request has expired")
            payload = UNSIGNED
            cquery = canonical_query(query, drop=("X-Amz-Signature",))
        else:
            auth = self.headers.get("Authorization", "")
            m = re.fullmatch(r"AWS4-HMAC-SHA256 Credential=([^,]+),\s*SignedHeaders=([^,]+),\s*Signature=([0-9a-f]{64})", auth)
            if not m:
                raise S3Error(403, "AccessDenied", "Access Denied")
            cred, signed, given = m.group(1), m.group(2).split(";"), m.group(3)
            amz_date = self.headers.get("x-amz-date", "")
            payload = self.headers.get("x-amz-content-sha256")
            if payload is None:
                raise S3Error(400, "InvalidRequest", "Missing required header for this request: x-amz-content-sha256")
            if abs(parse_amz_date(amz_date) - now) > SKEW:
                raise S3Error(403, "RequestTimeTooSkewed", "The difference between the request time and the current time is too large.")
            if payload != UNSIGNED and hashlib.sha256(body).hexdigest() != payload:
                raise S3Error(400, "XAmzContentSHA256Mismatch", "The provided 'x-amz-content-sha256' header does not match what was computed.")
            cquery = canonical_query(query)
        ak, date, region, service, term = cred.split("/")
        if ak != self.store.access_key:
            raise S3Error(403, "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records.")
        if "host" not in signed:
            raise S3Error(403, "AccessDenied", "host must be signed")
        lines = []
        for name in signed:
            values = self.headers.get_all(name) or []
            lines.append(name + ":" + ",".join(" ".join(v.split()) for v in values))
        creq = "\n".join([self.command, raw_path or "/", cquery, "\n".join(lines) + "\n",
                          ";".join(signed), payload])
        sts = "\n".join(["AWS4-HMAC-SHA256", amz_date, f"{date}/{region}/{service}/{term}",
                         hashlib.sha256(creq.encode()).hexdigest()])
        want = sign(self.store.secret_key, date, region, service, sts)
        if region != self.store.region or not hmac.compare_digest(want, given):
            raise S3Error(403, "SignatureDoesNotMatch",
                          "The request signature we calculated does not match the signature you provided.")

    def _object_request(self):
        body = self._read_body() if self.command in ("PUT", "POST") else b""
        head_only = self.command == "HEAD"
        try:
            _, _, bucket, key = self._split()
            if bucket == "_stub" and key == "objects" and self.command == "GET":
                with self.store.lock:
                    listing = {f"{b}/{k}": {"size": len(v[0]), "content_type": v[1],
                                            "sha256": hashlib.sha256(v[0]).hexdigest()}
                               for (b, k), v in self.store.objects.items()}
                return self._send(200, json.dumps(listing).encode(), {"Content-Type": "application/json"})
            if bucket not in self.store.buckets:
                raise S3Error(404, "NoSuchBucket", "The specified bucket does not exist")
            if self.command == "POST" and not key:
                return self._post_form(bucket, body)
            if not key:
                raise S3Error(400, "InvalidRequest", "no key")
            self._verify(body)
            with self.store.lock:
                if self.command == "PUT":
                    self.store.objects[(bucket, key)] = (body, self.headers.get("Content-Type", "binary/octet-stream"))
                    etag = '"' + hashlib.md5(body).hexdigest() + '"'
                    found = None
                elif self.command == "DELETE":
                    self.store.objects.pop((bucket, key), None)
                    found = None
                else:
                    found = self.store.objects.get((bucket, key))
                    if found is None:
                        raise S3Error(404, "NoSuchKey", "The specified key does not exist.")
            if self.command == "PUT":
                return self._send(200, b"", {"ETag": etag})
            if self.command == "DELETE":
                return self._send(204)
            data, ctype = found
            return self._send(200, data, {"Content-Type": ctype, "ETag": '"' + hashlib.md5(data).hexdigest() + '"'},
                              head_only=head_only)
        except S3Error as err:
            self._error(err, head_only)

    def _post_form(self, bucket, body):
        parts = parse_multipart(body, self.headers.get("Content-Type"))
        fields, file_value = {}, None
        for name, filename, value in parts:
            if name.lower() == "file":
                file_value = value
                break          # S3 ignores fields after the file
            fields[name.lower()] = value.decode("utf-8")
        if file_value is None:
            raise S3Error(400, "InvalidArgument", "POST requires exactly one file upload per request.")
        check_policy(fields, len(file_value), bucket, self.store.access_key, self.store.secret_key,
                     self.store.region)
        key = fields.get("key")
        if not key:
            raise S3Error(400, "InvalidArgument", "Bucket POST must contain a field named 'key'.")
        with self.store.lock:
            self.store.objects[(bucket, key)] = (file_value, fields.get("content-type", "binary/octet-stream"))
        status = int(fields.get("success_action_status", "204"))
        self._send(status if status in (200, 201, 204) else 204)

    def _wrapped(self):
        try:
            self._object_request()
        except S3Error as err:
            self._error(err)

    do_GET = do_PUT = do_HEAD = do_DELETE = do_POST = _wrapped


def start(port=0, buckets=("test-bucket",), access_key="AKIDSTUB", secret_key="stub-secret",
          region="us-east-1"):
    """Serves on 127.0.0.1:PORT in a thread: (server, url). server.store holds
    the objects; server.shutdown() stops it."""
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    server.store = Store(buckets, access_key, secret_key, region)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--bucket", action="append", default=[])
    ap.add_argument("--access-key", default="AKIDSTUB")
    ap.add_argument("--secret-key", default="stub-secret")
    ap.add_argument("--region", default="us-east-1")
    a = ap.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", a.port), Handler)
    server.daemon_threads = True
    server.store = Store(a.bucket or ["test-bucket"], a.access_key, a.secret_key, a.region)
    print(f"listening on {server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
