# csrf with Python's standard library only, written from the lab's README: a session cookie (HttpOnly,
# SameSite=Lax, Secure behind HTTPS), a synchronizer token bound to the session, and Origin /
# Sec-Fetch-Site checks on the state-changing POST. On http.server's ThreadingHTTPServer with its defaults
# (listen backlog 5, HTTP/1.0 responses).
import urllib.parse
import hmac
import json
import os
import secrets
import threading
from http.cookies import SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

APP_ORIGIN = os.environ["APP_ORIGIN"].rstrip("/")
USERS = {u["username"]: u["password"] for u in json.loads(os.environ["USERS"])}
emails = {name: f"{name}@example.org" for name in USERS}
sessions = {}  # sid -> {"username", "csrf"}
lock = threading.Lock()


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

    def send(self, status, body=None, headers=()):
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        if body is not None:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def session(self):
        cookie = SimpleCookie()
        try:
            cookie.load(self.headers.get("Cookie", ""))
        except Exception:
            return None
        sid = cookie["sid"].value if "sid" in cookie else None
        with lock:
            return sessions.get(sid) if sid else None

    def form(self):
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode("utf-8", "replace")
        return {k: v[0] for k, v in parse_qs(raw, keep_blank_values=True).items()}

    def do_GET(self):
        path = urlsplit(self.path).path
        s = self.session()
        if path in ("/api/account", "/api/csrf-token"):
            if s is None:
                return self.send(401, {"error": "log in first"})
            if path == "/api/account":
                with lock:
                    return self.send(200, {"username": s["username"], "email": emails[s["username"]]})
            return self.send(200, {"csrf_token": s["csrf"]})
        if path == "/account/email":
            return self.send(405, {"error": "change your email with POST"}, [("Allow", "POST")])
        self.send(404, {"error": "not found"})

    def do_POST(self):
        path = urlsplit(self.path).path
        if path == "/login":
            f = self.form()
            user, password = f.get("username", ""), f.get("password", "")
            if user not in USERS or not hmac.compare_digest(USERS[user].encode(), password.encode()):
                return self.send(401, {"error": "wrong username or password"})
            sid = secrets.token_urlsafe(32)
            with lock:
                sessions[sid] = {"username": user, "csrf": secrets.token_urlsafe(32)}
            secure = "; Secure" if self.headers.get("X-Forwarded-Proto", "").lower() == "https" else ""
            return self.send(200, {"username": user}, [("Set-Cookie", f"sid={sid}; Path=/; HttpOnly; SameSite=Lax{secure}")])
        if path == "/account/email":
            s = self.session()
            if s is None:
                return self.send(401, {"error": "log in first"})
            f = self.form()
            if self.headers.get("Sec-Fetch-Site") == "cross-site":
                return self.send(403, {"error": "cross-site request refused"})
            origin = self.headers.get("Origin")
            if origin is not None and origin != APP_ORIGIN:
                return self.send(403, {"error": f"origin {origin} may not submit this form"})
            token = self.headers.get("X-CSRF-Token") or f.get("csrf_token", "")
            if not token or not hmac.compare_digest(token.encode(), s["csrf"].encode()):
                return self.send(403, {"error": "missing or invalid CSRF token"})
            with lock:
                emails[s["username"]] = f.get("email", "")
            return self.send(204)
        self.send(404, {"error": "not found"})


if __name__ == "__main__":
    server = ThreadingHTTPServer(("0.0.0.0", int(os.environ["PORT"])), Handler)
    print(f"listening on {server.server_address[1]}")
    server.serve_forever()
