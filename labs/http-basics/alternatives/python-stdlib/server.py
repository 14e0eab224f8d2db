# http-basics with Python's standard library only, written from the lab's README: ThreadingHTTPServer
# with its defaults (HTTP/1.0 responses, listen backlog 5).
import urllib.parse
import json
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

ROUTES = {"/health": ["GET"], "/": ["GET"], "/api/greet": ["GET"], "/api/echo": ["POST"]}
PAGE = b"<!doctype html><html><head><title>http-basics</title></head><body><h1>Hello from Python</h1></body></html>"


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

    def send(self, status, body, content_type="application/json", headers=()):
        data = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def route(self, method):
        url = urlsplit(self.path)
        allowed = ROUTES.get(url.path)
        if allowed is None:
            return self.send(404, {"error": f"no route for {url.path}"})
        if method not in allowed:
            return self.send(405, {"error": f"{method} is not supported here"}, headers=[("Allow", ", ".join(allowed))])
        if url.path == "/health":
            return self.send(200, {"status": "ok"})
        if url.path == "/":
            return self.send(200, PAGE, "text/html; charset=utf-8")
        if url.path == "/api/greet":
            name = parse_qs(url.query).get("name", [""])[0]
            if not name:
                return self.send(400, {"error": "the query parameter name is required"})
            return self.send(200, {"message": f"Hello, {name}!"})
        # POST /api/echo
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        media = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if media != "application/json":
            return self.send(415, {"error": "send application/json"})
        try:
            value = json.loads(raw.decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            return self.send(400, {"error": "the body is not valid JSON"})
        return self.send(200, value)

    def do_GET(self):
        self.route("GET")

    def do_POST(self):
        self.route("POST")

    def do_PUT(self):
        self.route("PUT")

    def do_DELETE(self):
        self.route("DELETE")

    def do_PATCH(self):
        self.route("PATCH")


if __name__ == "__main__":
    server = ThreadingHTTPServer(("0.0.0.0", int(os.environ["PORT"])), Handler)
    print(f"listening on {server.server_address[1]}")
    server.serve_forever()
