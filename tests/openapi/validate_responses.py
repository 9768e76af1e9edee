#!/usr/bin/env python3
"""Real responses of hookd's admin API against its OpenAPI document (api/openapi.yaml, as
GET /api/v1/openapi.json serves it).

Starts `hookd serve --listen 127.0.0.1:0` on a temporary data folder with an account's
and an operator's token and two local receivers (one answering 200 or 500 by path, one
holding requests until released), then drives every route through every status a test
can provoke: successes, and 400, 401, 403, 404, 405, 409, 413, 415, 422 and 431; 503
by sending the last bytes of three requests after SIGTERM (hookd stops taking new work
but finishes requests it has begun reading); 507 from a restart whose --min-free-space
is twice the free space. Each response's body is validated against the schema the
document gives for its route and status (python3-jsonschema, Draft 2020-12, $ref
resolved inside the document), its Content-Type against the documented media types and
its documented headers (X-Request-Id, Allow, Retry-After) against theirs; the JSON bodies of the
requests that succeeded against the documented request body, and the deliveries the
receivers got against the document's `webhooks` section (body, headers, and both
signatures during a secret rotation's grace).

Fails, naming the route, status and JSON path, on any mismatch, on a status the document
does not list for the route, and on a documented (route, status) never seen unless it is
in UNREACHABLE below with the reason a test cannot produce it.

Usage: validate_responses.py --hookd PATH_TO_HOOKD [--keep]
Environment: none read (ASAN_OPTIONS/UBSAN_OPTIONS pass through to hookd).
"""
import argparse
import base64
import hashlib
import hmac
import http.client
import json
import os
import queue
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

try:
    import jsonschema
except ImportError:
    sys.exit("validate_responses: python3-jsonschema is missing (tools/lib/setup.sh installs it)")

TOKENS = "acme:tok_acme,beta:tok_beta,@operator:tok_ops"
ACCOUNT = "tok_acme"
OPERATOR = "tok_ops"
ANY = "*"

# Documented (method, pattern, status) that no test can produce, each with its reason.
# ANY matches every method or pattern. A pair listed here but seen anyway fails the run,
# so the list cannot go stale.
UNREACHABLE = [
    (ANY, ANY, 500,
     "internal: a storage I/O error or corruption, or an exception in a handler (a bug, "
     "memory exhaustion); no request can cause one"),
    # 503 is reached for publish, retry and recover (shutting_down, below); elsewhere the
    # only 503 is storage_busy, RocksDB answering busy / try again, which requests cannot
    # provoke.
    ("GET", "/api/v1/webhooks", 503, "storage_busy only"),
    ("POST", "/api/v1/webhooks", 503, "storage_busy only"),
    ("GET", "/api/v1/webhooks/{id}", 503, "storage_busy only"),
    ("PUT", "/api/v1/webhooks/{id}", 503, "storage_busy only"),
    ("PATCH", "/api/v1/webhooks/{id}", 503, "storage_busy only"),
    ("DELETE", "/api/v1/webhooks/{id}", 503, "storage_busy only"),
    ("GET", "/api/v1/webhooks/{id}/secret", 503, "storage_busy only"),
    ("POST", "/api/v1/webhooks/{id}/secret/rotate", 503, "storage_busy only"),
    ("GET", "/api/v1/webhooks/{id}/deliveries", 503, "storage_busy only"),
    ("GET", "/api/v1/webhooks/{id}/stats", 503, "storage_busy only"),
    ("GET", "/api/v1/overview", 503, "storage_busy only"),
    ("GET", "/api/v1/deliveries/{uuid}", 503, "storage_busy only"),
    ("DELETE", "/api/v1/webhooks/{id}", 507,
     "a delete is refused only below a quarter of --min-free-space, where hookd does not "
     "start: it needs a disk filled after the start (tests/integration/full_disk_test.cpp)"),
    ("POST", "/api/v1/webhooks/{id}/recover", 409,
     "needs one of the failed deliveries to be in flight at the very moment of the "
     "recover: a race between two attempts, not a repeatable test"),
]

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def log(message):
    print(f"validate_responses: {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- HTTP plumbing


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers  # lower-case names
        self.body = body  # bytes

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return f"{self.status} {self.body[:300]!r}"


def parse_raw_response(data):
    if not data:
        raise AssertionError("the connection closed without an answer")
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = headers.get("content-length")
    if length is not None:
        body = body[: int(length)]
    return Response(status, headers, body)


def read_until_close(sock, limit=15.0):
    sock.settimeout(limit)
    chunks = []
    while True:
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            raise AssertionError("the server did not close the connection in time")
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)


class Client:
    def __init__(self, port):
        self.port = port

    def call(self, method, target, body=None, token=ACCOUNT, headers=None,
             content_type="application/json"):
        """One request on a fresh connection. `body` a dict/list is sent as JSON, a
        str/bytes as is."""
        h = dict(headers or {})
        if token:
            h["X-Token"] = token
        data = None
        if body is not None:
            data = body if isinstance(body, (bytes, str)) else json.dumps(body)
            if isinstance(data, str):
                data = data.encode()
            if content_type:
                h["Content-Type"] = content_type
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request(method, target, body=data, headers=h)
            r = conn.getresponse()
            return Response(r.status, {k.lower(): v for k, v in r.getheaders()}, r.read())
        finally:
            conn.close()

    def raw(self, data):
        with socket.create_connection(("127.0.0.1", self.port), timeout=15) as s:
            s.sendall(data)
            return parse_raw_response(read_until_close(s))


# ---------------------------------------------------------------- receivers


class Receiver:
    """A local HTTP receiver: /fail answers 500, /hang waits until release(), anything
    else 200. Records every request."""

    def __init__(self):
        self.requests = []
        self.lock = threading.Lock()
        self.released = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def handle_any(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                with receiver.lock:
                    receiver.requests.append({
                        "method": self.command,
                        "target": self.path,
                        "headers": {k.lower(): v for k, v in self.headers.items()},
                        "body": body,
                    })
                status = 200
                if self.path.startswith("/fail"):
                    status = 500
                elif self.path.startswith("/hang"):
                    receiver.released.wait(30)
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = handle_any

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path):
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def requests_to(self, prefix):
        with self.lock:
            return [r for r in self.requests if r["target"].startswith(prefix)]

    def release(self):
        self.released.set()

    def close(self):
        self.released.set()
        self.server.shutdown()
        self.server.server_close()


# ---------------------------------------------------------------- hookd


# Every hookd started, so that none outlives a failed run.
STARTED = []


class Hookd:
    def __init__(self, binary, data, stderr_path, extra=()):
        env = dict(os.environ, HOOKD_TOKENS=TOKENS)
        self.stderr_path = stderr_path
        self.stderr = open(stderr_path, "ab")
        self.proc = subprocess.Popen(
            [binary, "serve", "--listen", "127.0.0.1:0", "--data", data,
             "--allow-private-targets", "--shutdown-grace", "5s", *extra],
            stdout=subprocess.PIPE, stderr=self.stderr, env=env)
        STARTED.append(self)
        lines = queue.Queue()
        threading.Thread(target=lambda: lines.put(self.proc.stdout.readline()),
                         daemon=True).start()
        try:
            line = lines.get(timeout=60).decode().strip()
        except queue.Empty:
            line = ""
        prefix = "hookd listening on http://127.0.0.1:"
        if not line.startswith(prefix):
            self.proc.kill()
            raise SystemExit(f"validate_responses: hookd did not start ({line!r}); its log:\n"
                             + self.log())
        self.port = int(line[len(prefix):])

    def log(self):
        self.stderr.flush()
        with open(self.stderr_path, errors="replace") as f:
            return f.read()[-4000:]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
        self.stderr.close()
        return code


# ---------------------------------------------------------------- the document


def unescape(token):
    return token.replace("~1", "/").replace("~0", "~")


def escape(token):
    return token.replace("~", "~0").replace("/", "~1")


def pointer(path):
    return "#/" + "/".join(escape(p) for p in path)


def format_checker():
    v = jsonschema.Draft202012Validator
    return getattr(v, "FORMAT_CHECKER", None) or jsonschema.draft202012_format_checker


class Document:
    def __init__(self, doc):
        self.doc = doc
        self.validators = {}
        self.failures = []
        self.seen = {}  # (method, pattern, status) -> how many responses
        self.checks = 0

    def fail(self, message):
        self.failures.append(message)
        log("FAIL " + message)

    def lookup(self, path):
        node = self.doc
        for p in path:
            node = node[p]
        return node

    def resolve(self, node, path):
        """Follows $ref to components; returns the node and its path from the root."""
        while isinstance(node, dict) and "$ref" in node:
            ref = node["$ref"]
            if not ref.startswith("#/"):
                raise AssertionError(f"only local $refs are expected, got {ref}")
            path = [unescape(p) for p in ref[2:].split("/")]
            node = self.lookup(path)
        return node, path

    def validator(self, path):
        where = pointer(path)
        if where not in self.validators:
            root = dict(self.doc)
            root["$ref"] = where
            self.validators[where] = jsonschema.Draft202012Validator(
                root, format_checker=format_checker())
        return self.validators[where]

    def errors(self, instance, path):
        out = []
        for e in self.validator(path).iter_errors(instance):
            at = "$" + "".join(f"[{p!r}]" if isinstance(p, str) else f"[{p}]"
                               for p in e.absolute_path)
            out.append(f"at {at}: {e.message[:300]}")
        return out

    def operations(self):
        for pattern, item in self.doc["paths"].items():
            for method, op in item.items():
                if method in METHODS:
                    yield method.upper(), pattern, op

    def operation(self, method, pattern):
        item = self.doc["paths"].get(pattern)
        if item is None or method.lower() not in item:
            return None, None
        return item[method.lower()], ["paths", pattern, method.lower()]

    def check(self, method, pattern, r, sent=None, request_valid=None, what=""):
        """Validates response `r` to `method pattern` against the document. `sent`: the
        JSON request body, checked against the documented request body when the answer
        is a success (must be valid) or when `request_valid` says what to expect."""
        self.checks += 1
        name = f"{method} {pattern} -> {r.status}{' (' + what + ')' if what else ''}"
        op, op_path = self.operation(method, pattern)
        if op is None:
            self.fail(f"{name}: no such operation in the document")
            return
        key = str(r.status)
        if key not in op.get("responses", {}):
            self.fail(f"{name}: status {r.status} is not documented for this route; "
                      f"body {r.body[:200]!r}")
            return
        self.seen[(method, pattern, r.status)] = self.seen.get((method, pattern, r.status), 0) + 1
        response, response_path = self.resolve(op["responses"][key],
                                               op_path + ["responses", key])
        self.check_headers(name, response, response_path, r)
        content = response.get("content")
        if not content:
            if r.body:
                self.fail(f"{name}: the document has no body for it, got {r.body[:200]!r}")
        else:
            media = r.headers.get("content-type", "")
            media_key = media if media in content else None
            if media_key is None:
                base = media.split(";")[0].strip()
                media_key = base if base in content else None
            if media_key is None:
                self.fail(f"{name}: Content-Type {media!r} is none of {sorted(content)}")
            else:
                schema_path = response_path + ["content", media_key, "schema"]
                if media_key.startswith("application/json"):
                    try:
                        instance = json.loads(r.body)
                    except ValueError as e:
                        self.fail(f"{name}: the body is not JSON ({e}): {r.body[:200]!r}")
                        instance = None
                else:
                    instance = r.body.decode()
                if instance is not None:
                    for e in self.errors(instance, schema_path):
                        self.fail(f"{name}: response body {e}")
        if sent is not None:
            expect = request_valid if request_valid is not None else (200 <= r.status < 300)
            if expect or request_valid is False:
                self.check_request(name, op, op_path, sent, expect)

    def check_headers(self, name, response, response_path, r):
        if "X-Request-Id" not in response.get("headers", {}):
            self.fail(f"{name}: every answer carries X-Request-Id; the document omits it")
        for header, spec in response.get("headers", {}).items():
            spec, spec_path = self.resolve(spec, response_path + ["headers", header])
            value = r.headers.get(header.lower())
            if value is None:
                if spec.get("required"):
                    self.fail(f"{name}: header {header} is documented as required, not sent")
                continue
            schema, schema_path = self.resolve(spec["schema"], spec_path + ["schema"])
            instance = value
            if schema.get("type") == "integer":
                if not value.isdigit():
                    self.fail(f"{name}: header {header} {value!r} is not an integer")
                    continue
                instance = int(value)
            for e in self.errors(instance, schema_path):
                self.fail(f"{name}: header {header} {e}")

    def check_request(self, name, op, op_path, sent, expect_valid):
        if "requestBody" not in op:
            self.fail(f"{name}: a body was sent but the operation documents none")
            return
        body, body_path = self.resolve(op["requestBody"], op_path + ["requestBody"])
        errors = self.errors(sent, body_path + ["content", "application/json", "schema"])
        if expect_valid and errors:
            for e in errors:
                self.fail(f"{name}: the request hookd accepted fails the request schema {e}")
        if not expect_valid and not errors:
            self.fail(f"{name}: the request hookd refused passes the request schema: {sent}")

    def check_schemas(self):
        """Every schema of components/schemas is a valid Draft 2020-12 schema."""
        for key, schema in self.doc.get("components", {}).get("schemas", {}).items():
            try:
                jsonschema.Draft202012Validator.check_schema(schema)
            except jsonschema.SchemaError as e:
                self.fail(f"components/schemas/{key} is not a valid schema: {e.message}")

    def mark_method_not_allowed(self, pattern, r):
        """A 405 answers every method a path lacks, so it is documented on each of the
        path's operations: validate and count it for each."""
        for method in self.doc["paths"][pattern]:
            if method in METHODS:
                self.check(method.upper(), pattern, r, what="another method")

    def unexercised(self):
        missing, stale = [], []
        for method, pattern, op in self.operations():
            for key in op.get("responses", {}):
                status = int(key)
                reason = next((why for m, p, s, why in UNREACHABLE
                               if m in (ANY, method) and p in (ANY, pattern) and s == status),
                              None)
                seen = (method, pattern, status) in self.seen
                if not seen and reason is None:
                    missing.append(f"{method} {pattern} {status}")
                if seen and reason is not None:
                    stale.append(f"{method} {pattern} {status} (listed as: {reason})")
        return missing, stale


# ---------------------------------------------------------------- the run


def wait_for(what, predicate, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def webhook(name, url, settings, method="POST", **extra):
    w = {"name": name, "active": True, "settings": settings, "url": url, "http_method": method}
    w.update(extra)
    return {"webhook": w}


def secret_key(secret):
    return base64.b64decode(secret[len("whsec_"):])


def signature(secret, msg_id, timestamp, content):
    mac = hmac.new(secret_key(secret), f"{msg_id}.{timestamp}.".encode() + content,
                   hashlib.sha256)
    return "v1," + base64.b64encode(mac.digest()).decode()


def check_delivery(d, req, form, secrets, what):
    """A request a receiver got against the webhooks section of the document."""
    method = req["method"].lower()
    op_path = ["webhooks", "delivery", method]
    op = d.doc["webhooks"]["delivery"].get(method)
    name = f"delivery {req['method']} ({what})"
    if op is None:
        d.fail(f"{name}: the webhooks section has no {method}")
        return
    d.checks += 1
    target = urllib.parse.urlsplit(req["target"])
    query = urllib.parse.parse_qs(target.query, keep_blank_values=True)
    for i, param in enumerate(op.get("parameters", [])):
        spec, spec_path = d.resolve(param, op_path + ["parameters", str(i)])
        if spec["in"] == "header":
            value = req["headers"].get(spec["name"].lower())
        elif spec["in"] == "query" and spec.get("style") != "deepObject":
            value = query.get(spec["name"], [None])[0]
        else:
            continue
        if value is None:
            if spec.get("required"):
                d.fail(f"{name}: {spec['in']} parameter {spec['name']} is missing")
            continue
        schema, schema_path = d.resolve(spec["schema"], spec_path + ["schema"])
        instance = int(value) if schema.get("type") == "integer" and value.isdigit() else value
        for e in d.errors(instance, schema_path):
            d.fail(f"{name}: {spec['name']} {e}")
    if form == "body":
        body, body_path = d.resolve(op["requestBody"], op_path + ["requestBody"])
        for e in d.errors(json.loads(req["body"]),
                          body_path + ["content", "application/json", "schema"]):
            d.fail(f"{name}: body {e}")
        signed = req["body"]
    else:
        signed = target.query.encode()
    headers = req["headers"]
    expected = [signature(s, headers["webhook-id"], headers["webhook-timestamp"], signed)
                for s in secrets]
    got = headers["webhook-signature"].split(" ")
    if got != expected:
        d.fail(f"{name}: webhook-signature {got} is not the documented HMAC of the "
               f"{len(secrets)} secret(s) {expected}")


def run(binary, workdir):
    data = os.path.join(workdir, "data")
    stderr_path = os.path.join(workdir, "hookd.log")
    rx = Receiver()
    rx_hang = Receiver()
    hookd = Hookd(binary, data, stderr_path)
    c = Client(hookd.port)

    r = c.call("GET", "/api/v1/openapi.json", token=None)
    if r.status != 200:
        raise SystemExit(f"validate_responses: GET /api/v1/openapi.json answered {r}")
    d = Document(r.json())
    d.check_schemas()
    d.check("GET", "/api/v1/openapi.json", r)
    d.check("GET", "/api/v1/openapi.json", c.call("GET", "/api/v1/openapi.json", token="tok_x"))
    d.check("GET", "/healthz", c.call("GET", "/healthz", token=None))
    for given, expected in [("trace-1.a:b_C", "trace-1.a:b_C"), ("not usable!", None)]:
        r = c.call("GET", "/healthz", token=None, headers={"X-Request-Id": given})
        d.check("GET", "/healthz", r, what=f"X-Request-Id {given!r}")
        got = r.headers.get("x-request-id", "")
        if (expected is not None and got != expected) or (expected is None and
                                                          not got.startswith("req_")):
            d.fail(f"X-Request-Id {given!r} came back as {got!r}")
    d.check("GET", "/metrics", c.call("GET", "/metrics", token=OPERATOR))

    # ---- webhooks
    def create(body, what=""):
        r = c.call("POST", "/api/v1/webhooks", body)
        d.check("POST", "/api/v1/webhooks", r, sent=body, what=what)
        if r.status != 201:
            raise SystemExit(f"validate_responses: create answered {r}")
        return r.json()

    sonar = {"webhook": {"name": "webhook to capture customer state changes", "active": "true",
                         "settings": {"customer_created": "true"}, "url": rx.url("/ok"),
                         "http_method": "POST"}}
    w_ok = create(sonar, "Sonar's example")
    w_get = create(webhook("get", rx.url("/get"), {"customer_subscribed": True}, "get"),
                   "GET webhook")
    w_fail = create(webhook("fail", rx.url("/fail"), {"user_assignment": "true"},
                            retry_schedule="10ms"), "retry schedule")
    w_hang = create(webhook("hang", rx_hang.url("/hang"), {"tag_added_to_message": True},
                            "Put"), "PUT webhook")
    w_del = create(webhook("to delete", rx.url("/ok"), {}, "delete", active="false",
                           retry_schedule=None, unknown_field=1), "null schedule")

    page = c.call("GET", "/api/v1/webhooks?limit=2")
    d.check("GET", "/api/v1/webhooks", page, what="first page")
    rest = c.call("GET", f"/api/v1/webhooks?after={page.json()['next_after']}&limit=500")
    d.check("GET", "/api/v1/webhooks", rest, what="last page")
    d.check("GET", "/api/v1/webhooks", c.call("GET", "/api/v1/webhooks", token="tok_beta"),
            what="another account's: empty")

    wid = f"/api/v1/webhooks/{w_del['id']}"
    d.check("GET", "/api/v1/webhooks/{id}", c.call("GET", wid))
    body = webhook("replaced", rx.url("/ok"), {"customer_created": "false"}, "put",
                   retry_schedule="1m, 60s")
    d.check("PUT", "/api/v1/webhooks/{id}", c.call("PUT", wid, body), sent=body)
    body = {"webhook": {"active": "false", "settings": {"outbound_message": True}},
            "ignored": True}
    d.check("PATCH", "/api/v1/webhooks/{id}", c.call("PATCH", wid, body), sent=body)

    ok_secret = f"/api/v1/webhooks/{w_ok['id']}/secret"
    d.check("GET", "/api/v1/webhooks/{id}/secret", c.call("GET", ok_secret),
            what="no rotation")
    body = {"grace": "1h"}
    r = c.call("POST", ok_secret + "/rotate", body)
    d.check("POST", "/api/v1/webhooks/{id}/secret/rotate", r, sent=body, what="1h grace")
    ok_secrets = [r.json()["secret"], w_ok["secret"]]  # during the grace: new, then old
    d.check("GET", "/api/v1/webhooks/{id}/secret", c.call("GET", ok_secret), what="in grace")
    d.check("POST", "/api/v1/webhooks/{id}/secret/rotate",
            c.call("POST", wid + "/secret/rotate", token=ACCOUNT), what="no body")
    given = "whsec_" + base64.b64encode(bytes(range(32))).decode()
    body = {"secret": given, "grace": "0s"}
    d.check("POST", "/api/v1/webhooks/{id}/secret/rotate",
            c.call("POST", wid + "/secret/rotate", body), sent=body, what="given secret")

    # ---- events and deliveries
    def publish(body, headers=None, what=""):
        r = c.call("POST", "/api/v1/events", body, headers=headers)
        d.check("POST", "/api/v1/events", r, sent=body, what=what)
        if r.status != 202:
            raise SystemExit(f"validate_responses: publish answered {r}")
        return r.json()["event"]

    event = {"event": {"type": "customer_created",
                       "payload": {"customer": {"first_name": "Ann"}, "n": 1.50E+2}}}
    publish(event, {"Idempotency-Key": "order-17"}, "Idempotency-Key")
    publish(event, {"Idempotency-Key": "order-17"}, "the same key again")
    publish({"event": {"type": "customer_subscribed", "id": "evt-get",
                       "payload": {"customer": {"tags": ["a", "b"], "none": None}, "e": []}}},
            what="to a GET webhook")
    publish({"event": {"type": "user_assignment", "payload": {}}}, what="to a failing receiver")
    publish({"event": {"type": "tag_added_to_message", "payload": {"tag": "x"}}},
            what="to a hanging receiver")
    publish({"event": {"type": "outbound_message", "payload": {}}}, what="no subscriber")

    req = wait_for("the POST delivery", lambda: rx.requests_to("/ok"))[0]
    check_delivery(d, req, "body", ok_secrets, "two signatures during a rotation")
    req = wait_for("the GET delivery", lambda: rx.requests_to("/get"))[0]
    check_delivery(d, req, "query", [w_get["secret"]], "Rack query")

    def deliveries(w, status=None):
        q = f"?status={status}" if status else ""
        r = c.call("GET", f"/api/v1/webhooks/{w['id']}/deliveries{q}")
        d.check("GET", "/api/v1/webhooks/{id}/deliveries", r, what=status or "")
        return r.json()["deliveries"]

    def show(uuid, what=""):
        r = c.call("GET", f"/api/v1/deliveries/{uuid}")
        d.check("GET", "/api/v1/deliveries/{uuid}", r, what=what)
        return r.json()

    # An attempt out right now: in_flight, and a retry of it is a conflict.
    hang_uuid = wait_for("the PUT delivery", lambda: deliveries(w_hang))[0]["uuid"]
    wait_for("in_flight", lambda: show(hang_uuid, "in_flight")["status"] == "in_flight")
    d.check("POST", "/api/v1/deliveries/{uuid}/retry",
            c.call("POST", f"/api/v1/deliveries/{hang_uuid}/retry"), what="in flight")
    rx_hang.release()
    wait_for("the PUT delivery to succeed",
             lambda: show(hang_uuid, "succeeded")["status"] == "succeeded")
    check_delivery(d, rx_hang.requests_to("/hang")[0], "body", [w_hang["secret"]], "PUT")

    # A failing receiver: failed after its two attempts, then a retry and a recover.
    fail_uuid = wait_for("a failed delivery", lambda: deliveries(w_fail, "failed"))[0]["uuid"]
    show(fail_uuid, "failed, with attempts")
    d.check("POST", "/api/v1/deliveries/{uuid}/retry",
            c.call("POST", f"/api/v1/deliveries/{fail_uuid}/retry"), what="failed")
    # Failed again once its third attempt is on record: a manual retry of a failed
    # delivery shows "failed" while it is out, and the receiver may count the request
    # before hookd has its answer.
    def failed_after(attempts):
        v = show(fail_uuid)
        return v["status"] == "failed" and len(v.get("attempts", [])) >= attempts

    wait_for("the retry to fail", lambda: len(rx.requests_to("/fail")) >= 3 and failed_after(3))
    body = {"since": "2000-01-01T00:00:00Z"}
    r = c.call("POST", f"/api/v1/webhooks/{w_fail['id']}/recover", body)
    d.check("POST", "/api/v1/webhooks/{id}/recover", r, sent=body)
    if r.json().get("recovered") != 1:
        d.fail(f"recover: expected 1 recovered delivery, got {r.body!r}")
    wait_for("the recovery to fail", lambda: len(rx.requests_to("/fail")) >= 4 and failed_after(4))
    deliveries(w_ok)
    deliveries(w_ok, "succeeded")
    # ---- portal links: made by a token, opened once
    r = c.call("POST", "/api/v1/portal-sessions", {"read_only": True, "expires_in": "10m"})
    d.check("POST", "/api/v1/portal-sessions", r, sent={"read_only": True, "expires_in": "10m"})
    link = r.json()["url"] if r.status == 201 else ""
    target = link[link.index("/portal/"):] if "/portal/" in link else "/portal/session?code=x"
    r = c.call("GET", target, token=None)
    d.check("GET", "/portal/session", r, what="first use")
    if r.status != 303 or "hookd_portal=" not in r.headers.get("set-cookie", ""):
        d.fail(f"opening a portal link: expected 303 with a cookie, got {r}")
    d.check("GET", "/portal/session", c.call("GET", target, token=None), what="second use")
    r = c.call("GET", target, token=None, headers={"Accept": "text/html,*/*;q=0.8"})
    d.check("GET", "/portal/session", r, what="second use, by a browser")
    if r.status != 410 or not r.headers.get("content-type", "").startswith("text/html"):
        d.fail(f"a used portal link opened by a browser: expected a 410 page, got {r}")
    # ---- the portal's page and files: served with their headers, revalidated by ETag
    for pattern, path in (("/portal", "/portal/"), ("/portal/{path}", "/portal/app.js"),
                          ("/portal/{path}", "/portal/app.css")):
        r = c.call("GET", path, token=None)
        d.check("GET", pattern, r, what=path)
        csp = r.headers.get("content-security-policy", "")
        if r.status != 200 or "script-src 'self'" not in csp or "frame-ancestors 'none'" not in csp:
            d.fail(f"GET {path}: expected 200 with a strict CSP, got {r} {csp!r}")
        r = c.call("GET", path, token=None, headers={"If-None-Match": r.headers.get("etag", "")})
        d.check("GET", pattern, r, what=path + " revalidated")
    d.check("GET", "/portal/{path}", c.call("GET", "/portal/nothing.js", token=None),
            what="no such file")
    r = c.call("GET", "/portal", token=None)
    d.check("GET", "/portal", r, what="without its slash")
    if r.status != 308 or r.headers.get("location") != "/portal/":
        d.fail(f"GET /portal: expected 308 to /portal/, got {r}")
    r = c.call("GET", "/api/v1/event-types")
    d.check("GET", "/api/v1/event-types", r)
    if r.status == 200 and "customer_created" not in r.json()["event_types"]:
        d.fail(f"event types: the catalog's types are missing: {r.body!r}")
    r = c.call("GET", "/api/v1/overview?window=24h&limit=2")
    d.check("GET", "/api/v1/overview", r, what="first page")
    if r.status == 200:
        page = r.json()
        r = c.call("GET", f"/api/v1/overview?after={page['next_after']}")
        d.check("GET", "/api/v1/overview", r, what="next page")
        shown = {w["webhook"]["id"]: w for w in page["webhooks"] + r.json()["webhooks"]}
        # Its newest delivery may still be retrying at this moment: present is what counts.
        if not shown.get(w_fail["id"], {}).get("last_delivery"):
            d.fail(f"overview: the failing webhook's last delivery is missing: {shown}")
    r = c.call("GET", f"/api/v1/webhooks/{w_ok['id']}/deliveries?order=newest&limit=1")
    d.check("GET", "/api/v1/webhooks/{id}/deliveries", r, what="newest first")
    d.check("GET", "/api/v1/portal-session", c.call("GET", "/api/v1/portal-session"))
    for window in ("", "?window=1h", "?window=7d"):
        r = c.call("GET", f"/api/v1/webhooks/{w_fail['id']}/stats{window}")
        d.check("GET", "/api/v1/webhooks/{id}/stats", r, what=window or "default window")
        if r.status == 200 and r.json()["totals"]["failed_attempts"] < 1:
            d.fail(f"stats{window}: the failed attempts are not counted: {r.body!r}")

    # ---- errors on every route
    ids = {"{id}": str(w_ok["id"]), "{uuid}": fail_uuid, "{path}": "app.js"}

    def concrete(pattern, values=ids):
        for k, v in values.items():
            pattern = pattern.replace(k, v)
        return pattern

    def token_for(pattern):
        op = d.operation("GET", pattern)[0] or {}
        if op.get("security") == []:
            return None
        return OPERATOR if pattern == "/metrics" else ACCOUNT

    routes = [(m, p) for m, p, _ in d.operations()]
    valid_body = {
        ("POST", "/api/v1/events"): {"event": {"type": "customer_created", "payload": {}}},
        ("POST", "/api/v1/webhooks"): webhook("x", rx.url("/ok"), {}),
        ("PUT", "/api/v1/webhooks/{id}"): webhook("x", rx.url("/ok"), {}),
        ("PATCH", "/api/v1/webhooks/{id}"): {"webhook": {"name": "x"}},
        ("POST", "/api/v1/webhooks/{id}/recover"): {"since": "2000-01-01T00:00:00Z"},
        ("POST", "/api/v1/webhooks/{id}/secret/rotate"): {"grace": "0s"},
        ("POST", "/api/v1/portal-sessions"): {"read_only": True},
    }
    for method, pattern in routes:
        path = concrete(pattern)
        token = token_for(pattern)
        auth = f"X-Token: {token}\r\n" if token else ""
        # 400: a target that is no valid origin form (bad percent-encoding in the query).
        d.check(method, pattern, c.call(method, path + "?x=%zz", token=token),
                what="bad target")
        # 413: a Content-Length over 1 MiB, answered on the headers.
        d.check(method, pattern, c.raw(
            f"{method} {path} HTTP/1.1\r\nHost: x\r\n{auth}Content-Type: application/json\r\n"
            f"Content-Length: {1024 * 1024 + 1}\r\n\r\n".encode()), what="body over 1 MiB")
        # 431: headers over 16 KiB.
        d.check(method, pattern, c.raw(
            f"{method} {path} HTTP/1.1\r\nHost: x\r\n{auth}X-Pad: {'a' * 17000}\r\n\r\n"
            .encode()), what="headers over 16 KiB")
        if token is None:
            continue
        # 401 without a token and with one that is no token; 403 with the other kind.
        d.check(method, pattern, c.call(method, path, token=None), what="no token")
        d.check(method, pattern, c.call(method, path, token="tok_wrong"), what="wrong token")
        other = ACCOUNT if token == OPERATOR else OPERATOR
        d.check(method, pattern, c.call(method, path, token=other), what="other kind of token")
        if (method, pattern) in valid_body:
            # 400 malformed_json: a key twice, and text that is no JSON.
            body = '{"a": 1, "a": 2}'
            d.check(method, pattern, c.call(method, path, body), what="duplicate key")
            d.check(method, pattern, c.call(method, path, '{"x": '), what="truncated JSON")
            # 415: a body that is not JSON by its Content-Type.
            d.check(method, pattern,
                    c.call(method, path, "x=1", content_type="application/x-www-form-urlencoded"),
                    what="form body")
        if "{id}" in pattern or "{uuid}" in pattern:
            # 404: nobody's id or uuid, another account's, and ids that cannot be one.
            body = valid_body.get((method, pattern))
            missing = {"{id}": "999999", "{uuid}": "0190163d-8694-739b-aea5-966c26f8ad91"}
            d.check(method, pattern, c.call(method, concrete(pattern, missing), body),
                    what="unknown")
            d.check(method, pattern, c.call(method, path, body, token="tok_beta"),
                    what="another account's")
            junk = {"{id}": "abc", "{uuid}": "not-a-uuid"}
            d.check(method, pattern, c.call(method, concrete(pattern, junk), body),
                    what="not an id")

    # 405: a method each path lacks.
    for pattern, item in d.doc["paths"].items():
        allowed = {m.upper() for m in item if m in METHODS}
        other = next(m for m in ("DELETE", "PUT", "POST", "GET") if m not in allowed)
        d.mark_method_not_allowed(pattern, c.call(other, concrete(pattern),
                                                  token=token_for(pattern)))

    # 422: a field or query parameter of each kind wrong. `request_valid=False` where
    # the document's request schema can say so by itself.
    def invalid(method, pattern, target, body=None, schema_says=None, what=""):
        r = c.call(method, target, body)
        d.check(method, pattern, r, sent=body, request_valid=schema_says, what=what)
        if r.status != 422:
            d.fail(f"{method} {pattern} ({what}): expected 422, got {r}")

    wid = f"/api/v1/webhooks/{w_ok['id']}"
    invalid("POST", "/api/v1/events", "/api/v1/events",
            {"event": {"type": "nope", "payload": {"uuid": 1}}}, False, "type, reserved key")
    invalid("POST", "/api/v1/events", "/api/v1/events", {"event": {"payload": []}}, False,
            "no type, payload an array")
    invalid("GET", "/api/v1/webhooks", "/api/v1/webhooks?limit=0", what="limit 0")
    invalid("GET", "/api/v1/overview", "/api/v1/overview?limit=0&window=1y", what="limit, window")
    invalid("GET", "/api/v1/webhooks/{id}/deliveries", wid + "/deliveries?order=random",
            what="order")
    invalid("GET", "/api/v1/webhooks", "/api/v1/webhooks?after=x&limit=501", what="after x")
    invalid("POST", "/api/v1/webhooks", "/api/v1/webhooks",
            webhook("", "ftp://h/", {"nope": "yes"}, "FETCH", active="maybe"), False,
            "every field")
    invalid("POST", "/api/v1/webhooks", "/api/v1/webhooks", {"hook": {}}, False, "no webhook")
    invalid("PUT", "/api/v1/webhooks/{id}", wid, {"webhook": {"name": "only"}}, False,
            "missing fields")
    invalid("PATCH", "/api/v1/webhooks/{id}", wid, {"webhook": {"active": "yes"}}, False,
            "active yes")
    invalid("PATCH", "/api/v1/webhooks/{id}", wid,
            {"webhook": {"retry_schedule": "0s", "http_method": "fetch"}}, False,
            "schedule 0s")
    invalid("POST", "/api/v1/webhooks/{id}/secret/rotate", wid + "/secret/rotate",
            {"grace": "31d", "secret": "whsec_short", "extra": 1}, False, "rotation")
    invalid("POST", "/api/v1/webhooks/{id}/secret/rotate", wid + "/secret/rotate",
            {"secret": ok_secrets[0]}, None, "the current secret")
    invalid("GET", "/api/v1/webhooks/{id}/deliveries", wid + "/deliveries?status=in_flight",
            what="status in_flight")
    invalid("GET", "/api/v1/webhooks/{id}/deliveries",
            wid + "/deliveries?after=x&limit=abc", what="after x")
    invalid("GET", "/api/v1/webhooks/{id}/stats", wid + "/stats?window=31d", what="window 31d")
    invalid("GET", "/api/v1/webhooks/{id}/stats", wid + "/stats?window=soon", what="window soon")
    invalid("POST", "/api/v1/portal-sessions", "/api/v1/portal-sessions",
            {"read_only": "yes", "expires_in": "2d", "extra": 1}, False, "portal link fields")
    invalid("POST", "/api/v1/webhooks/{id}/recover", wid + "/recover", {"since": 5}, False,
            "since a number")
    invalid("POST", "/api/v1/webhooks/{id}/recover", wid + "/recover", {}, False, "no since")

    # 204 last: the webhook is gone after it.
    d.check("DELETE", "/api/v1/webhooks/{id}", c.call("DELETE", f"/api/v1/webhooks/{w_del['id']}"))

    # ---- 503: requests begun before SIGTERM and finished after it meet a stopping engine
    partial = [
        ("POST", "/api/v1/events", {"event": {"type": "customer_created", "payload": {}}}),
        ("POST", f"/api/v1/deliveries/{fail_uuid}/retry", None),
        ("POST", f"/api/v1/webhooks/{w_fail['id']}/recover", {"since": "2000-01-01T00:00:00Z"}),
    ]
    socks = []
    for method, target, body in partial:
        payload = json.dumps(body).encode() if body is not None else b""
        head = (f"{method} {target} HTTP/1.1\r\nHost: x\r\nX-Token: {ACCOUNT}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n"
                ).encode()
        s = socket.create_connection(("127.0.0.1", hookd.port), timeout=15)
        s.sendall(head[:20])
        socks.append((s, head[20:] + payload))
    # Once the server has read their first bytes these requests are under way: SIGTERM
    # leaves them to finish (within --shutdown-grace, 5 s) while the engine stops at once.
    time.sleep(1.0)
    hookd.proc.send_signal(signal.SIGTERM)
    time.sleep(1.5)
    patterns = ["/api/v1/events", "/api/v1/deliveries/{uuid}/retry",
                "/api/v1/webhooks/{id}/recover"]
    for (s, rest), pattern in zip(socks, patterns):
        with s:
            s.sendall(rest)
            r = parse_raw_response(read_until_close(s))
        d.check("POST", pattern, r, what="while hookd stops")
    code = hookd.stop()
    if code != 0:
        d.fail(f"hookd exited {code} after SIGTERM; its log:\n{hookd.log()}")

    # ---- 507: a restart keeping more free space than there is
    st = os.statvfs(data)
    free = st.f_bavail * st.f_frsize
    keep = max(2 * free, 64 << 20)
    log(f"restarting with --min-free-space {keep} ({free} bytes free)")
    hookd = Hookd(binary, data, stderr_path, ["--min-free-space", str(keep)])
    c = Client(hookd.port)
    wid = f"/api/v1/webhooks/{w_ok['id']}"
    for method, pattern, target, body in [
            ("POST", "/api/v1/events", "/api/v1/events",
             {"event": {"type": "customer_created", "payload": {}}}),
            ("POST", "/api/v1/webhooks", "/api/v1/webhooks", webhook("x", rx.url("/ok"), {})),
            ("PUT", "/api/v1/webhooks/{id}", wid, webhook("x", rx.url("/ok"), {})),
            ("PATCH", "/api/v1/webhooks/{id}", wid, {"webhook": {"name": "y"}}),
            ("POST", "/api/v1/webhooks/{id}/secret/rotate", wid + "/secret/rotate", None)]:
        r = c.call(method, target, body)
        d.check(method, pattern, r, sent=body, request_valid=True if body else None,
                what="disk full")
        if r.status != 507:
            d.fail(f"{method} {pattern}: expected 507 under --min-free-space, got {r}")
    d.check("GET", "/api/v1/webhooks/{id}", c.call("GET", wid), what="reads go on")
    code = hookd.stop()
    if code != 0:
        d.fail(f"hookd exited {code} after SIGTERM; its log:\n{hookd.log()}")
    rx.close()
    rx_hang.close()
    return d


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hookd", required=True, help="the hookd binary")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args()
    started = time.monotonic()
    workdir = tempfile.mkdtemp(prefix="hookd-openapi-")
    # ctest's timeout ends this script with SIGTERM: stop hookd on the way out.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("validate_responses: terminated"))
    d = None
    try:
        d = run(args.hookd, workdir)
    except (AssertionError, KeyError, ValueError, IndexError, OSError) as e:
        log(f"FAIL the run stopped: {type(e).__name__}: {e}")
        sys.exit(1)
    finally:
        for h in STARTED:
            if h.proc.poll() is None:
                h.proc.kill()
                h.proc.wait()
        if d is None or args.keep:
            log(f"hookd's data and log kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    missing, stale = d.unexercised()
    for m in missing:
        d.fail(f"{m}: documented but never exercised (provoke it, or list it in UNREACHABLE "
               "with the reason)")
    for s in stale:
        d.fail(f"{s}: exercised, yet listed in UNREACHABLE: remove it from the list")
    pairs = sum(len(op.get("responses", {})) for _, _, op in d.operations())
    unreachable = pairs - len({k for k in d.seen}) - len(missing)
    log(f"{d.checks} responses checked, {len(d.seen)} of {pairs} documented (route, status) "
        f"pairs exercised, {unreachable} listed as unreachable, "
        f"{time.monotonic() - started:.1f} s")
    if d.failures:
        log(f"{len(d.failures)} mismatches")
        sys.exit(1)
    print("openapi: 1 passed, 0 failed")


if __name__ == "__main__":
    main()
