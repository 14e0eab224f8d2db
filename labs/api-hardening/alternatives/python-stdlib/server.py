# api-hardening with Python's standard library only, written from the lab's README: API keys stored as
# sha256 hashes, scoped and revocable; CORS for exactly one origin; nosniff/HSTS on every answer; bodies
# counted as they arrive (Content-Length or chunked) and refused with 413 past MAX_BODY_BYTES.
import hashlib
import hmac
import json
import os
import re
import secrets
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote

ADMIN_TOKEN = os.environ.get("ADMIN_TOKEN", "")
CORS_ORIGIN = os.environ.get("CORS_ORIGIN", "")
MAX_BODY = int(os.environ.get("MAX_BODY_BYTES", "4096"))
SCOPES = ("notes:read", "notes:write")
# Past this many bytes we stop draining an oversized body and close the connection instead.
DRAIN_LIMIT = 1024 * 1024

lock = threading.Lock()
keys = {}  # sha256(key) hex -> {"id", "name", "scopes", "prefix"}
key_ids = {}  # id -> sha256 hex
notes = []
ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")


class HttpError(Exception):
    def __init__(self, status, message, close=False):
        super().__init__(message)
        self.status = status
        self.message = message
        self.close = close


def decode(segment):
    """Strict percent-decoding: a bad or cut escape is the client's error."""
    if ESCAPE.search(segment):
        raise HttpError(400, "malformed percent-escape in the request target")
    try:
        return unquote(segment, errors="strict")
    except UnicodeDecodeError:
        raise HttpError(400, "percent-escapes that are not UTF-8 in the request target")


def sha256(text):
    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "notes"
    sys_version = ""

    def log_message(self, format, *args):
        pass  # no access log: nothing secret can end up in the output

    # One place for the headers every answer carries, errors from http.server itself included.
    def end_headers(self):
        self.send_header("X-Content-Type-Options", "nosniff")
        headers = getattr(self, "headers", None)
        if headers is not None:
            if (headers.get("X-Forwarded-Proto") or "").strip().lower() == "https":
                self.send_header("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
            if (getattr(self, "path", "") or "").startswith("/api/"):
                self.send_header("Vary", "Origin")
                if headers.get("Origin") == CORS_ORIGIN and CORS_ORIGIN:
                    self.send_header("Access-Control-Allow-Origin", CORS_ORIGIN)
        super().end_headers()

    def reply(self, status, body=None, headers=(), close=False):
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        if status != 204:
            if body is not None:
                self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
        for k, v in headers:
            self.send_header(k, v)
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if data:
            self.wfile.write(data)

    # ---- the body, counted as it arrives ----
    def read_body(self):
        self.body_read = True
        te = (self.headers.get("Transfer-Encoding") or "").strip().lower()
        if te:
            if te != "chunked":
                raise HttpError(400, "unsupported Transfer-Encoding", close=True)
            return self.read_chunked()
        length = self.headers.get("Content-Length")
        if length is None:
            return b""
        try:
            n = int(length)
            if n < 0:
                raise ValueError
        except ValueError:
            raise HttpError(400, "invalid Content-Length", close=True)
        if n > MAX_BODY:
            if n <= DRAIN_LIMIT:
                self.rfile.read(n)  # drain it, so the connection stays usable and the client reads the 413
                raise HttpError(413, f"the body is larger than {MAX_BODY} bytes")
            raise HttpError(413, f"the body is larger than {MAX_BODY} bytes", close=True)
        return self.rfile.read(n)

    def read_chunked(self):
        body = bytearray()
        total = 0
        too_big = False
        while True:
            line = self.rfile.readline(1026)
            if not line.endswith(b"\n"):
                raise HttpError(400, "malformed chunked body", close=True)
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise HttpError(400, "malformed chunk size", close=True)
            if size == 0:
                while self.rfile.readline(1026) not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                break
            total += size
            if total > DRAIN_LIMIT:
                raise HttpError(413, f"the body is larger than {MAX_BODY} bytes", close=True)
            chunk = self.rfile.read(size)
            self.rfile.readline(3)  # CRLF after the chunk
            if total > MAX_BODY:
                too_big = True  # keep reading (and dropping) so the client can read our answer
                body = bytearray()
            elif not too_big:
                body += chunk
        if too_big:
            raise HttpError(413, f"the body is larger than {MAX_BODY} bytes")
        return bytes(body)

    def json_object(self, raw):
        try:
            body = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise HttpError(400, "the body is not valid JSON")
        if not isinstance(body, dict):
            raise HttpError(400, "the body must be a JSON object")
        return body

    # ---- authentication ----
    def require_admin(self):
        auth = self.headers.get("Authorization") or ""
        expected = f"Bearer {ADMIN_TOKEN}"
        if not ADMIN_TOKEN or not hmac.compare_digest(auth.encode("utf-8", "surrogateescape"), expected.encode()):
            raise HttpError(401, "admin token required")

    def require_scope(self, scope):
        presented = self.headers.get("X-API-Key")
        if not presented:
            raise HttpError(401, "API key required")
        with lock:
            record = keys.get(sha256(presented))
        if record is None:
            raise HttpError(401, "invalid API key")
        if scope not in record["scopes"]:
            raise HttpError(403, f"this key lacks the {scope} scope")

    # ---- routes ----
    def route(self, method):
        target = self.path
        path = target.split("?", 1)[0]
        query = target.split("?", 1)[1] if "?" in target else ""
        for part in query.split("&"):
            for piece in part.split("=", 1):
                decode(piece.replace("+", " "))
        if not path.startswith("/"):
            raise HttpError(400, "the request target must be a path")
        segments = [decode(s) for s in path.split("/")[1:]]

        if segments[:1] == ["api"]:
            if method == "OPTIONS":
                return self.preflight()
        body = self.read_body() if method in ("POST", "PUT", "PATCH", "DELETE") else b""

        if segments == ["admin", "keys"]:
            self.require_admin()
            if method == "POST":
                return self.create_key(self.json_object(body))
            if method == "GET":
                with lock:
                    listing = [dict(r) for r in keys.values()]
                return self.reply(200, {"keys": listing}, [("Cache-Control", "no-store")])
            raise HttpError(405, "method not allowed")
        if len(segments) == 3 and segments[:2] == ["admin", "keys"]:
            self.require_admin()
            if method != "DELETE":
                raise HttpError(405, "method not allowed")
            with lock:
                digest = key_ids.pop(segments[2], None)
                if digest is not None:
                    keys.pop(digest, None)
            if digest is None:
                raise HttpError(404, "no such key")
            return self.reply(204)
        if segments == ["api", "notes"]:
            if method == "GET":
                self.require_scope("notes:read")
                with lock:
                    listing = list(notes)
                return self.reply(200, {"notes": listing})
            if method == "POST":
                self.require_scope("notes:write")
                data = self.json_object(body)
                text = data.get("text")
                if not isinstance(text, str):
                    raise HttpError(400, '"text" must be a string')
                note = {"id": secrets.token_hex(8), "text": text}
                with lock:
                    notes.append(note)
                return self.reply(201, note)
            raise HttpError(405, "method not allowed")
        raise HttpError(404, "no such route")

    def preflight(self):
        headers = [("Access-Control-Max-Age", "600")]
        if self.headers.get("Origin") == CORS_ORIGIN and CORS_ORIGIN:
            headers += [
                ("Access-Control-Allow-Methods", "GET, POST"),
                ("Access-Control-Allow-Headers", "Content-Type, X-API-Key"),
            ]
        self.reply(204, None, headers)

    def create_key(self, data):
        name = data.get("name")
        scopes = data.get("scopes")
        if not isinstance(name, str) or not name.strip():
            raise HttpError(400, '"name" must be a non-empty string')
        if not isinstance(scopes, list) or not scopes or any(s not in SCOPES for s in scopes):
            raise HttpError(400, f'"scopes" must be a non-empty list of {", ".join(SCOPES)}')
        key = "nk_" + secrets.token_urlsafe(32)
        record = {"id": secrets.token_hex(8), "name": name, "scopes": sorted(set(scopes)), "prefix": key[:7]}
        digest = sha256(key)
        with lock:
            keys[digest] = record
            key_ids[record["id"]] = digest
        return self.reply(201, {**record, "key": key}, [("Cache-Control", "no-store")])

    def handle_any(self, method):
        self.body_read = False
        try:
            self.route(method)
        except HttpError as e:
            # A body we did not read would be taken for the next request: close instead.
            unread = not self.body_read and (self.headers.get("Transfer-Encoding") or self.headers.get("Content-Length", "0") != "0")
            self.reply(e.status, {"error": e.message}, close=e.close or bool(unread))
        except Exception:
            self.reply(500, {"error": "internal error"}, close=True)

    def do_GET(self):
        self.handle_any("GET")

    def do_POST(self):
        self.handle_any("POST")

    def do_PUT(self):
        self.handle_any("PUT")

    def do_PATCH(self):
        self.handle_any("PATCH")

    def do_DELETE(self):
        self.handle_any("DELETE")

    def do_OPTIONS(self):
        self.handle_any("OPTIONS")


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128


if __name__ == "__main__":
    port = int(os.environ.get("PORT", "3000"))
    print(f"api-hardening (python-stdlib) listening on 0.0.0.0:{port}", flush=True)
    Server(("0.0.0.0", port), Handler).serve_forever()
