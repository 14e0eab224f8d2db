# config with Python's standard library only, written from the lab's README: validate the environment
# before listening (exit non-zero naming the variable), never reveal SIGNING_SECRET.
import hashlib
import hmac
import json
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def env(name):
    value = os.environ.get(name, "")
    return value if value != "" else None


def fail(message):
    print(f"configuration error: {message}", file=sys.stderr)
    sys.exit(1)


APP_NAME = env("APP_NAME") or fail("APP_NAME is required (the service's name)")
SIGNING_SECRET = env("SIGNING_SECRET") or fail("SIGNING_SECRET is required (the signing key)")
GREETING = env("GREETING") or "Hello"
flag = env("FEATURE_REPORTS")
if flag not in (None, "true", "false"):
    fail(f"FEATURE_REPORTS must be exactly true or false, got {flag!r}")
REPORTS = flag == "true"


class Handler(BaseHTTPRequestHandler):
    def send(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        path = self.path.split("?")[0]
        if path == "/health":
            return self.send(200, {"status": "ok"})
        if path == "/api/config":
            return self.send(200, {"app_name": APP_NAME, "greeting": GREETING, "features": {"reports": REPORTS}})
        if path == "/api/reports" and REPORTS:
            return self.send(200, {"reports": []})
        self.send(404, {"error": "not found"})

    def do_POST(self):
        if self.path.split("?")[0] != "/api/sign":
            return self.send(404, {"error": "not found"})
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            body = json.loads(raw)
        except ValueError:
            return self.send(400, {"error": "send JSON"})
        message = body.get("message") if isinstance(body, dict) else None
        if not isinstance(message, str):
            return self.send(400, {"error": 'send {"message": "<text>"}'})
        signature = hmac.new(SIGNING_SECRET.encode(), message.encode("utf-8"), hashlib.sha256).hexdigest()
        self.send(200, {"signature": signature})

    def log_message(self, fmt, *args):
        print(f"{self.command} {self.path.split('?')[0]} -> {args[1] if len(args) > 1 else ''}")


if __name__ == "__main__":
    server = ThreadingHTTPServer(("0.0.0.0", int(os.environ["PORT"])), Handler)
    print(f"{APP_NAME} listening on {server.server_address[1]}")
    server.serve_forever()
