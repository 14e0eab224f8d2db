# oauth2-server with Python's standard library only, written from the lab's README: authorization code with
# PKCE S256, exact redirect_uri matching, single-use codes, refresh rotation with reuse detection, and
# opaque access and refresh tokens (secrets.token_urlsafe, stored as SHA-256 hashes). On http.server's
# ThreadingHTTPServer with its defaults (HTTP/1.0 responses).
import urllib.parse
import base64
import hashlib
import hmac
import html
import json
import os
import re
import secrets
import threading
import time
from http.cookies import SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, unquote_plus, urlencode, urlsplit, urlunsplit

PORT = int(os.environ.get("PORT", "3000"))
ISSUER = f"http://127.0.0.1:{PORT}"
TTL = int(os.environ.get("ACCESS_TOKEN_TTL_SECONDS", "600"))
CODE_TTL = 60
CLIENTS = {c["client_id"]: c for c in json.loads(os.environ.get("CLIENTS", "[]"))}
USERS = {u["username"]: u["password"] for u in json.loads(os.environ.get("USERS", "[]"))}

CHALLENGE = re.compile(r"^[A-Za-z0-9_-]{43}$")
VERIFIER = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")

lock = threading.Lock()
sessions = {}  # sid -> username
codes = {}  # code -> dict(client_id, redirect_uri, challenge, username, expires, used, grant)
grants = {}  # grant id -> dict(client_id, username, revoked)
refresh_tokens = {}  # sha256(token) -> dict(grant, used)
access_tokens = {}  # sha256(token) -> dict(grant, expires)


def digest(s):
    return hashlib.sha256(s.encode()).hexdigest()


def same(a, b):
    return hmac.compare_digest(a.encode(), b.encode())


def s256(verifier):
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).rstrip(b"=").decode()


def single(pairs):
    """A dict of the parameters, or (None, name) when a name is repeated (RFC 6749 3.1)."""
    out = {}
    for k, v in pairs:
        if k in out:
            return None, k
        out[k] = v
    return out, None


def with_params(uri, values):
    parts = urlsplit(uri)
    extra = urlencode([(k, v) for k, v in values if v is not None])
    query = f"{parts.query}&{extra}" if parts.query else extra
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


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

    def reply(self, status, body=b"", ctype=None, headers=()):
        self.send_response(status)
        if ctype:
            self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def json(self, status, obj, headers=()):
        self.reply(status, json.dumps(obj).encode(), "application/json", headers)

    def page(self, status, text):
        self.reply(status, f"<!doctype html><meta charset=utf-8><title>Sign in</title>{text}".encode(), "text/html; charset=utf-8")

    def token_reply(self, status, obj, headers=()):
        self.json(status, obj, [("Cache-Control", "no-store"), ("Pragma", "no-cache"), *headers])

    def oauth_error(self, error, description, status=400, headers=()):
        self.token_reply(status, {"error": error, "error_description": description}, headers)

    def redirect(self, uri, values):
        self.reply(302, headers=[("Location", with_params(uri, values)), ("Cache-Control", "no-store")])

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n).decode("utf-8", "replace") if n else ""

    def session_user(self):
        cookie = SimpleCookie()
        try:
            cookie.load(self.headers.get("Cookie", ""))
        except Exception:
            return None
        sid = cookie["sid"].value if "sid" in cookie else None
        with lock:
            return sessions.get(sid) if sid else None

    def do_GET(self):
        url = urlsplit(self.path)
        if url.path == "/.well-known/oauth-authorization-server":
            return self.json(200, {
                "issuer": ISSUER,
                "authorization_endpoint": f"{ISSUER}/authorize",
                "token_endpoint": f"{ISSUER}/token",
                "response_types_supported": ["code"],
                "grant_types_supported": ["authorization_code", "refresh_token"],
                "code_challenge_methods_supported": ["S256"],
                "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
            })
        if url.path == "/authorize":
            return self.authorize(url)
        if url.path == "/me":
            return self.me()
        self.json(404, {"error": "not found"})

    def do_POST(self):
        path = urlsplit(self.path).path
        if path == "/login":
            return self.login()
        if path == "/token":
            return self.token()
        self.json(404, {"error": "not found"})

    def authorize(self, url):
        p, repeated = single(parse_qsl(url.query, keep_blank_values=True))
        if p is None:
            return self.page(400, f"<p>The parameter {html.escape(repeated)} is given more than once.</p>")
        client = CLIENTS.get(p.get("client_id", ""))
        if client is None:
            return self.page(400, "<p>Unknown client.</p>")
        redirect_uri = p.get("redirect_uri")
        if redirect_uri is None or redirect_uri not in client["redirect_uris"]:
            return self.page(400, "<p>This redirect_uri is not registered for the client.</p>")
        state = p.get("state")
        if p.get("response_type") != "code":
            return self.redirect(redirect_uri, [("error", "unsupported_response_type"), ("state", state)])
        challenge = p.get("code_challenge")
        if challenge is None or not CHALLENGE.match(challenge) or p.get("code_challenge_method") != "S256":
            return self.redirect(redirect_uri, [("error", "invalid_request"), ("error_description", "PKCE with S256 is required"), ("state", state)])
        user = self.session_user()
        if user is None:
            return_to = html.escape(self.path)
            return self.page(200, f'<form method="post" action="/login"><input type="hidden" name="return_to" value="{return_to}">'
                                  '<input name="username"> <input name="password" type="password"> <button>Sign in and allow</button></form>')
        code = secrets.token_urlsafe(32)
        with lock:
            codes[code] = {"client_id": client["client_id"], "redirect_uri": redirect_uri, "challenge": challenge,
                           "username": user, "expires": time.time() + CODE_TTL, "used": False, "grant": secrets.token_hex(16)}
        self.redirect(redirect_uri, [("code", code), ("state", state)])

    def login(self):
        form = dict(parse_qsl(self.body(), keep_blank_values=True))
        return_to = form.get("return_to", "")
        if not return_to.startswith("/authorize?"):
            return self.page(400, "<p>Invalid return_to.</p>")
        username = form.get("username", "")
        password = USERS.get(username)
        if password is None or not same(password, form.get("password", "")):
            return self.page(401, "<p>Wrong username or password.</p>")
        sid = secrets.token_urlsafe(32)
        with lock:
            sessions[sid] = username
        self.reply(303, headers=[("Location", return_to), ("Set-Cookie", f"sid={sid}; Path=/; HttpOnly; SameSite=Lax")])

    def client(self, p):
        auth = self.headers.get("Authorization", "")
        basic = auth[:6].lower() == "basic "
        cid = secret = None
        if basic:
            try:
                raw = base64.b64decode(auth[6:].strip(), validate=True).decode()
                i = raw.index(":")
                cid, secret = unquote_plus(raw[:i]), unquote_plus(raw[i + 1:])
            except Exception:
                cid = None
            if "client_secret" in p:
                cid = None
        else:
            cid, secret = p.get("client_id"), p.get("client_secret")
        client = CLIENTS.get(cid) if cid is not None else None
        if client is not None:
            if "client_secret" in client:
                ok = secret is not None and same(secret, client["client_secret"])
            else:
                ok = secret is None and not basic
        else:
            ok = False
        if ok and "client_id" in p and p["client_id"] != client["client_id"]:
            ok = False
        if not ok:
            self.oauth_error("invalid_client", "client authentication failed", 401, [("WWW-Authenticate", 'Basic realm="token"')] if basic else [])
            return None
        return client

    def issue(self, grant_id):
        access, refresh = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        with lock:
            access_tokens[digest(access)] = {"grant": grant_id, "expires": time.time() + TTL}
            refresh_tokens[digest(refresh)] = {"grant": grant_id, "used": False}
        self.token_reply(200, {"access_token": access, "token_type": "Bearer", "expires_in": TTL, "refresh_token": refresh})

    def token(self):
        raw = self.body()
        ctype = self.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if ctype != "application/x-www-form-urlencoded":
            return self.oauth_error("invalid_request", "send the parameters form-encoded")
        p, repeated = single(parse_qsl(raw, keep_blank_values=True))
        if p is None:
            return self.oauth_error("invalid_request", f"the parameter {repeated} is given more than once")
        client = self.client(p)
        if client is None:
            return
        grant_type = p.get("grant_type")
        if grant_type is None:
            return self.oauth_error("invalid_request", "grant_type is required")
        if grant_type == "authorization_code":
            with lock:
                code = codes.get(p.get("code", ""))
                if code is None or code["client_id"] != client["client_id"]:
                    return self.oauth_error("invalid_grant", "unknown authorization code")
                if code["used"]:
                    if code["grant"] in grants:
                        grants[code["grant"]]["revoked"] = True
                    return self.oauth_error("invalid_grant", "authorization code already used")
                if time.time() > code["expires"]:
                    return self.oauth_error("invalid_grant", "authorization code expired")
                if p.get("redirect_uri") != code["redirect_uri"]:
                    return self.oauth_error("invalid_grant", "redirect_uri does not match the authorization request")
                verifier = p.get("code_verifier", "")
                if not VERIFIER.match(verifier) or not same(s256(verifier), code["challenge"]):
                    return self.oauth_error("invalid_grant", "code_verifier does not match the code_challenge")
                code["used"] = True
                grants[code["grant"]] = {"client_id": client["client_id"], "username": code["username"], "revoked": False}
            return self.issue(code["grant"])
        if grant_type == "refresh_token":
            with lock:
                record = refresh_tokens.get(digest(p.get("refresh_token", "")))
                grant = grants.get(record["grant"]) if record else None
                if grant is None or grant["client_id"] != client["client_id"]:
                    return self.oauth_error("invalid_grant", "unknown refresh token")
                if grant["revoked"]:
                    return self.oauth_error("invalid_grant", "refresh token revoked")
                if record["used"]:
                    grant["revoked"] = True  # reuse: revoke the whole family
                    return self.oauth_error("invalid_grant", "refresh token already used")
                record["used"] = True
            return self.issue(record["grant"])
        self.oauth_error("unsupported_grant_type", f"grant_type {grant_type} is not supported")

    def me(self):
        m = re.match(r"^Bearer ([A-Za-z0-9\-._~+/]+=*)$", self.headers.get("Authorization", ""), re.I)
        with lock:
            record = access_tokens.get(digest(m.group(1))) if m else None
            grant = grants.get(record["grant"]) if record else None
            valid = grant is not None and not grant["revoked"] and time.time() < record["expires"]
        if not valid:
            return self.json(401, {"error": "invalid_token"}, [("WWW-Authenticate", 'Bearer realm="api", error="invalid_token"')])
        self.json(200, {"sub": grant["username"], "client_id": grant["client_id"]})

    def log_message(self, fmt, *args):
        pass


print(f"authorization server {ISSUER}", flush=True)
ThreadingHTTPServer(("0.0.0.0", PORT), Handler).serve_forever()
