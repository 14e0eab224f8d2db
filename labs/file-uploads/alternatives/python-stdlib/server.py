# file-uploads with Python's standard library only, written from the lab's README: multipart/form-data
# parsed by hand (the stdlib's cgi module is deprecated), the size limit enforced before reading a body far
# over it, the declared type checked against the file's signature, stored under a generated name, and
# served back with nosniff and an RFC 6266/8187 Content-Disposition. On http.server's ThreadingHTTPServer
# with its defaults (listen backlog 5, HTTP/1.0 responses).
import urllib.parse
import hashlib
import json
import os
import re
import secrets
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import quote, urlsplit

UPLOAD_DIR = os.environ["UPLOAD_DIR"]
MAX_UPLOAD_BYTES = int(os.environ["MAX_UPLOAD_BYTES"])
MULTIPART_SLACK = 64 * 1024  # room for the part headers, boundaries and the other fields
SIGNATURES = {
    "image/png": [b"\x89PNG\r\n\x1a\n"],
    "image/jpeg": [b"\xff\xd8\xff"],
    "image/gif": [b"GIF87a", b"GIF89a"],
    "application/pdf": [b"%PDF-"],
}
files = {}  # id -> {"owner", "name", "type", "path"}
lock = threading.Lock()


class Refused(Exception):
    def __init__(self, status, error):
        super().__init__(error)
        self.status, self.error = status, error


def parse_multipart(content_type, body):
    """The parts of a multipart/form-data body: a list of (headers text, content bytes)."""
    m = re.search(r'boundary=(?:"([^"]+)"|([^;\s]+))', content_type or "")
    if not (content_type or "").lower().startswith("multipart/form-data") or not m:
        raise Refused(400, "expected a multipart/form-data body")
    delimiter = b"\r\n--" + (m.group(1) or m.group(2)).encode()
    parts = []
    for chunk in (b"\r\n" + body).split(delimiter)[1:]:
        if chunk.startswith(b"--"):
            return parts  # the closing delimiter
        head, sep, content = chunk.partition(b"\r\n\r\n")
        if not sep:
            raise Refused(400, "malformed multipart body")
        parts.append((head.decode("utf-8", "replace"), content))
    raise Refused(400, "malformed multipart body (no closing boundary)")


def param(headers, name):
    m = re.search(rf'{name}="((?:[^"\\]|\\.)*)"', headers, re.IGNORECASE)
    return re.sub(r"\\(.)", r"\1", m.group(1)) if m else None


def display_name(raw):
    """The name without any directory part or control character, at most 200 characters."""
    name = re.split(r"[/\\]", raw or "")[-1]
    name = "".join(ch for ch in name if ch >= " " and ch != "\x7f").strip()
    return name[:200] or "file"


def content_disposition(name):
    fallback = "".join(ch if " " <= ch < "\x7f" and ch not in '"\\' else "_" for ch in name)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='!#$&+^`|')}"


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

    def send(self, status, body, headers=()):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        if urlsplit(self.path).path != "/files":
            return self.send(404, {"error": "not found"})
        user = self.headers.get("X-User")
        length = int(self.headers.get("Content-Length") or 0)
        try:
            if not user:
                raise Refused(401, "X-User is required")
            if length > MAX_UPLOAD_BYTES + MULTIPART_SLACK:
                self.close_connection = True  # the body is not read: this connection cannot carry another request
                raise Refused(413, f"files are limited to {MAX_UPLOAD_BYTES} bytes")
            parts = parse_multipart(self.headers.get("Content-Type"), self.rfile.read(length))
            part = next(((h, c) for h, c in parts if param(h, "name") == "file" and param(h, "filename") is not None), None)
            if part is None:
                raise Refused(400, 'expected a file part named "file"')
            headers, content = part
            if len(content) > MAX_UPLOAD_BYTES:
                raise Refused(413, f"files are limited to {MAX_UPLOAD_BYTES} bytes")
            m = re.search(r"^content-type:\s*([^;\r\n]+)", headers, re.IGNORECASE | re.MULTILINE)
            declared = m.group(1).strip().lower() if m else "application/octet-stream"
            if declared not in SIGNATURES:
                raise Refused(415, f"{declared} is not accepted")
            if not any(content.startswith(sig) for sig in SIGNATURES[declared]):
                raise Refused(415, f"the bytes are not a {declared} file")
        except Refused as r:
            return self.send(r.status, {"error": r.error})
        file_id = secrets.token_hex(16)
        path = os.path.join(UPLOAD_DIR, file_id)  # our name: nothing of the client's filename
        with open(path, "xb") as out:
            out.write(content)
        name = display_name(param(headers, "filename"))
        with lock:
            files[file_id] = {"owner": user, "name": name, "type": declared, "path": path}
        self.send(201, {"id": file_id, "name": name, "size": len(content), "type": declared, "sha256": hashlib.sha256(content).hexdigest()}, [("Location", f"/files/{file_id}")])

    def do_GET(self):
        m = re.fullmatch(r"/files/([^/]+)", urlsplit(self.path).path)
        if not m:
            return self.send(404, {"error": "not found"})
        user = self.headers.get("X-User")
        if not user:
            return self.send(401, {"error": "X-User is required"})
        with lock:
            meta = files.get(m.group(1))
        if meta is None or meta["owner"] != user:
            return self.send(404, {"error": "no such file"})
        with open(meta["path"], "rb") as f:
            data = f.read()
        self.send_response(200)
        self.send_header("Content-Type", meta["type"])
        self.send_header("Content-Length", str(len(data)))
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Content-Disposition", content_disposition(meta["name"]))
        self.end_headers()
        self.wfile.write(data)


if __name__ == "__main__":
    server = ThreadingHTTPServer(("0.0.0.0", int(os.environ["PORT"])), Handler)
    print(f"listening on {server.server_address[1]}")
    server.serve_forever()
