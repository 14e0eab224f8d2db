# middleware-logging with Python's standard library only, written from the lab's README: a request id on
# every response, one JSON access-log line per request (after the response), a Bearer guard on /api/admin/,
# no secrets in the output. On http.server's ThreadingHTTPServer with its defaults (listen backlog 5,
# HTTP/1.0 responses); its own text log is replaced by ours.
import urllib.parse
import hmac
import json
import os
import re
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

ADMIN_TOKEN = os.environ["ADMIN_TOKEN"]
VALID_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
counter = 0
counter_lock = threading.Lock()
log_lock = threading.Lock()


def authorized(header):
    """Exactly `Bearer <ADMIN_TOKEN>`: not a prefix of it, nothing after it, no other scheme."""
    scheme, _, token = (header or "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(token.encode(), ADMIN_TOKEN.encode())


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

    def log_message(self, fmt, *args):
        pass  # http.server's own line would print the raw request line; ours is below

    def respond(self, status, body, headers=()):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("X-Request-Id", self.request_id)
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()
        self.status = status

    def handle_method(self, method):
        started = time.perf_counter()
        incoming = self.headers.get("X-Request-Id") or ""
        self.request_id = incoming if VALID_ID.fullmatch(incoming) else str(uuid.uuid4())
        self.status = 500
        url = urlsplit(self.path)
        try:
            self.route(method, url)
        finally:
            line = {
                "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "method": method,
                "path": url.path,
                "status": self.status,
                "duration_ms": round((time.perf_counter() - started) * 1000, 3),
                "request_id": self.request_id,
            }
            with log_lock:
                sys.stdout.write(json.dumps(line) + "\n")
                sys.stdout.flush()

    def route(self, method, url):
        global counter
        routes = {"/health": "GET", "/api/counter": "GET", "/api/admin/counter/increment": "POST", "/api/slow": "GET"}
        if url.path.startswith("/api/admin/") and not authorized(self.headers.get("Authorization")):
            return self.respond(401, {"error": "a valid admin token is required"}, [("WWW-Authenticate", 'Bearer realm="admin"')])
        allowed = routes.get(url.path)
        if allowed is None:
            return self.respond(404, {"error": f"no route {url.path}"})
        if method != allowed:
            return self.respond(405, {"error": f"{method} is not allowed here"}, [("Allow", allowed)])
        if url.path == "/health":
            return self.respond(200, {"status": "ok"})
        if url.path == "/api/counter":
            with counter_lock:
                return self.respond(200, {"count": counter})
        if url.path == "/api/admin/counter/increment":
            with counter_lock:
                counter += 1
                value = counter
            return self.respond(200, {"count": value})
        try:
            ms = int(parse_qs(url.query).get("ms", ["0"])[0])
        except ValueError:
            ms = -1
        if not 0 <= ms <= 5000:
            return self.respond(400, {"error": "ms must be an integer from 0 to 5000"})
        time.sleep(ms / 1000)
        self.respond(200, {"waited_ms": ms})

    def do_GET(self):
        self.handle_method("GET")

    def do_POST(self):
        self.handle_method("POST")

    def do_PUT(self):
        self.handle_method("PUT")

    def do_DELETE(self):
        self.handle_method("DELETE")


if __name__ == "__main__":
    server = ThreadingHTTPServer(("0.0.0.0", int(os.environ["PORT"])), Handler)
    print(f"listening on {server.server_address[1]}", flush=True)
    server.serve_forever()
