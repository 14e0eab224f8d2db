# error-handling with Python's standard library only, written from the lab's README: problem details for
# every error, a request id on every response, 500s that reveal nothing (details go to the log), and a
# deadline on the call to the inventory service. On http.server's ThreadingHTTPServer with its defaults
# (listen backlog 5, HTTP/1.0 responses).
import json
import os
import re
import secrets
import sys
import threading
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DEPENDENCY_URL = os.environ.get("DEPENDENCY_URL", "http://127.0.0.1:9")
DEPENDENCY_TIMEOUT_S = int(os.environ.get("DEPENDENCY_TIMEOUT_MS", "1000")) / 1000
orders = {}
lock = threading.Lock()
background = ThreadPoolExecutor(max_workers=4)
ALLOWED = {"/health": "GET", "/orders": "POST", "/fault/sync": "GET", "/fault/async": "GET", "/fault/dependency": "GET"}


class Problem(Exception):
    def __init__(self, status, detail, headers=(), **members):
        super().__init__(detail)
        self.status, self.detail, self.headers, self.members = status, detail, headers, members


def failing_query(detail):
    """Like the starter's failingQuery: work done elsewhere that fails (a future that raises)."""
    def run():
        raise RuntimeError(f"query failed: SELECT * FROM accounts WHERE api_key = '{detail}'")
    return background.submit(run)


def validate_order(body):
    errors = []
    item = body.get("item")
    if not isinstance(item, str) or item == "" or len(item) > 100:
        errors.append({"pointer": "#/item", "detail": "must be a non-empty string of at most 100 characters"})
    quantity = body.get("quantity")
    # bool is a subclass of int in Python: true is not a quantity
    if isinstance(quantity, bool) or not isinstance(quantity, int) or not 1 <= quantity <= 100:
        errors.append({"pointer": "#/quantity", "detail": "must be an integer from 1 to 100"})
    if errors:
        raise Problem(422, "The order is not valid.", errors=errors)


class Handler(BaseHTTPRequestHandler):
    def parse_request(self):
        if not super().parse_request():
            return False
        try:
            urllib.parse.urlsplit(self.path)
        except ValueError:
            # A target that is not a URL (http://[/) is the client's error: 400, not a dropped connection.
            self.send_error(400, "malformed request target")
            return False
        return True

    def setup(self):
        super().setup()
        self.request_id = None

    def send(self, status, body, content_type="application/json", headers=()):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("X-Request-Id", self.request_id)
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def problem(self, status, detail, headers=(), **members):
        body = {"type": "about:blank", "title": HTTPStatus(status).phrase, "status": status, "detail": detail, "request_id": self.request_id, **members}
        self.send(status, body, "application/problem+json", headers)

    def handle_method(self, method):
        self.request_id = secrets.token_hex(16)
        url = urllib.parse.urlsplit(self.path)
        try:
            allowed = ALLOWED.get(url.path)
            order = re.fullmatch(r"/orders/([^/]+)", url.path)
            if order:
                allowed = "GET"
            if allowed is None:
                raise Problem(404, f"There is no route {url.path}.")
            if method != allowed:
                raise Problem(405, f"{method} is not supported on {url.path}.", headers=[("Allow", allowed)])
            if order:
                with lock:
                    found = orders.get(order.group(1))
                if found is None:
                    raise Problem(404, f"There is no order {order.group(1)}.")
                return self.send(200, found)
            if url.path == "/health":
                return self.send(200, {"status": "ok"})
            if url.path == "/orders":
                return self.create_order()
            detail = urllib.parse.parse_qs(url.query).get("detail", [""])[0]
            if url.path == "/fault/sync":
                raise RuntimeError(f"query failed: SELECT * FROM accounts WHERE api_key = '{detail}'")
            if url.path == "/fault/async":
                failing_query(detail).result()  # re-raises the error of the background work
            if url.path == "/fault/dependency":
                return self.call_dependency()
        except Problem as p:
            self.problem(p.status, p.detail, p.headers, **p.members)
        except Exception as err:  # anything unexpected: log it whole, tell the client nothing about it
            print(f"request_id={self.request_id} error: {err!r}", file=sys.stderr, flush=True)
            self.problem(500, "Something went wrong on our side. Quote the request id if you report it.")

    def create_order(self):
        if self.headers.get("Content-Type", "").split(";")[0].strip().lower() != "application/json":
            raise Problem(415, "POST /orders takes application/json.")
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            body = json.loads(raw)
        except ValueError:
            raise Problem(400, "The body is not valid JSON.")
        if not isinstance(body, dict):
            raise Problem(422, "The body must be a JSON object.", errors=[{"pointer": "#", "detail": "must be an object"}])
        validate_order(body)
        created = {"id": secrets.token_urlsafe(12), "item": body["item"], "quantity": body["quantity"]}
        with lock:
            orders[created["id"]] = created
        self.send(201, created, headers=[("Location", f"/orders/{created['id']}")])

    def call_dependency(self):
        try:
            with urllib.request.urlopen(f"{DEPENDENCY_URL}/stock", timeout=DEPENDENCY_TIMEOUT_S) as res:
                stock = json.loads(res.read())
        except TimeoutError:
            print(f"request_id={self.request_id} inventory service timed out after {DEPENDENCY_TIMEOUT_S} s", file=sys.stderr, flush=True)
            raise Problem(504, "The inventory service did not answer in time.")
        except (OSError, ValueError) as err:
            if isinstance(getattr(err, "reason", None), TimeoutError):
                raise Problem(504, "The inventory service did not answer in time.")
            print(f"request_id={self.request_id} inventory service failed: {err!r}", file=sys.stderr, flush=True)
            raise Problem(502, "The inventory service failed.")
        self.send(200, {"dependency": stock})

    def do_GET(self):
        self.handle_method("GET")

    def do_POST(self):
        self.handle_method("POST")

    def do_PUT(self):
        self.handle_method("PUT")

    def do_PATCH(self):
        self.handle_method("PATCH")

    def do_DELETE(self):
        self.handle_method("DELETE")


if __name__ == "__main__":
    server = ThreadingHTTPServer(("0.0.0.0", int(os.environ["PORT"])), Handler)
    print(f"listening on {server.server_address[1]}")
    server.serve_forever()
