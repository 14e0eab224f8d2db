"""stateless-scaling in Python's standard library, written from the README alone.

State lives in Redis, spoken over a socket with a small RESP client (one connection per thread, as the
server runs a thread per request). Atomic updates: INCR, and for the rate limit MULTI/INCR/EXPIRE NX/TTL/EXEC.
Drain on SIGTERM: close the listening socket at once, wait for in-flight requests, then exit.
"""
import urllib.parse
import json
import os
import re
import secrets
import signal
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlparse

PORT = int(os.environ.get("PORT", "3000"))
INSTANCE = os.environ.get("INSTANCE_ID", "1")
USERS = json.loads(os.environ.get("USERS", "{}"))
RATE_LIMIT = int(os.environ.get("RATE_LIMIT", "5"))
RATE_WINDOW_S = int(os.environ.get("RATE_WINDOW_S", "60"))
REDIS = urlparse(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))


class Redis:
    """Just enough RESP2: send a command as an array of bulk strings, read one reply."""

    def __init__(self):
        self.sock = socket.create_connection((REDIS.hostname or "127.0.0.1", REDIS.port or 6379))
        self.file = self.sock.makefile("rb")
        db = (REDIS.path or "/0").lstrip("/") or "0"
        self.call("SELECT", db)

    def call(self, *args):
        parts = [b"*%d\r\n" % len(args)]
        for a in args:
            b = a if isinstance(a, bytes) else str(a).encode()
            parts.append(b"$%d\r\n%s\r\n" % (len(b), b))
        self.sock.sendall(b"".join(parts))
        return self.read()

    def read(self):
        line = self.file.readline()
        if not line:
            raise ConnectionError("redis closed the connection")
        kind, rest = line[:1], line[1:-2]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            raise RuntimeError(rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            if n < 0:
                return None
            data = self.file.read(n + 2)
            return data[:-2]
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self.read() for _ in range(n)]
        raise RuntimeError("unexpected reply %r" % line)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


local = threading.local()
connections = []
connections_lock = threading.Lock()


def redis():
    r = getattr(local, "redis", None)
    if r is None:
        r = local.redis = Redis()
        with connections_lock:
            connections.append(r)
    return r


inflight = 0
inflight_lock = threading.Condition()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

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
        sys.stdout.write("%s %s\n" % (INSTANCE, fmt % args))

    def send(self, status, body=None, headers=None, content_type="application/json"):
        data = b"" if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        if body is not None:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if data:
            self.wfile.write(data)

    def body(self, limit):
        n = int(self.headers.get("Content-Length") or 0)
        data = self.rfile.read(n) if n else b""
        return None if n > limit else data

    def bearer(self):
        m = re.fullmatch(r"Bearer (\S+)", self.headers.get("Authorization", ""))
        return m.group(1) if m else None

    def do_GET(self):
        self.counted("GET")

    def do_POST(self):
        self.counted("POST")

    def do_PUT(self):
        self.counted("PUT")

    def counted(self, method):
        # In flight from a parsed request line to the response written (an idle keep-alive connection is not).
        global inflight
        with inflight_lock:
            inflight += 1
        try:
            self.route(method)
        finally:
            with inflight_lock:
                inflight -= 1
                inflight_lock.notify_all()

    def route(self, method):
        url = urlparse(self.path)
        path = url.path
        r = redis()
        if method == "GET" and path == "/health":
            return self.send(200, {"status": "ok", "instance": INSTANCE})
        if method == "POST" and path == "/login":
            try:
                creds = json.loads(self.body(65536) or b"")
            except ValueError:
                return self.send(400, {"error": "JSON body expected"})
            user = creds.get("user") if isinstance(creds, dict) else None
            password = creds.get("password") if isinstance(creds, dict) else None
            if not isinstance(user, str) or not isinstance(password, str) or USERS.get(user) != password or user not in USERS:
                return self.send(401, {"error": "wrong user or password"})
            token = secrets.token_urlsafe(32)
            r.call("SET", "session:" + token, user, "EX", 86400)
            return self.send(200, {"token": token})
        if method == "GET" and path == "/me":
            token = self.bearer()
            user = r.call("GET", "session:" + token) if token else None
            if user is None:
                return self.send(401, {"error": "log in first"})
            return self.send(200, {"user": user.decode(), "instance": INSTANCE})
        if method == "POST" and path == "/logout":
            token = self.bearer()
            if not token or r.call("DEL", "session:" + token) == 0:
                return self.send(401, {"error": "not logged in"})
            return self.send(204)
        m = re.fullmatch(r"/counters/([^/]+)(/increment)?", path)
        if m:
            name = unquote(m.group(1))
            if m.group(2) and method == "POST":
                return self.send(200, {"name": name, "value": r.call("INCR", "counter:" + name)})
            if not m.group(2) and method == "GET":
                value = r.call("GET", "counter:" + name)
                return self.send(200, {"name": name, "value": int(value or 0)})
        if method == "GET" and path == "/limited":
            client = self.headers.get("X-Client-Id")
            if not client:
                return self.send(400, {"error": "X-Client-Id required"})
            key = "ratelimit:" + client
            r.call("MULTI")
            r.call("INCR", key)
            r.call("EXPIRE", key, RATE_WINDOW_S, "NX")
            r.call("TTL", key)
            count, _, ttl = r.call("EXEC")
            if count <= RATE_LIMIT:
                return self.send(200, {"ok": True})
            return self.send(429, {"error": "rate limit exceeded"}, {"Retry-After": str(max(1, ttl))})
        m = re.fullmatch(r"/notes/([^/]+)", path)
        if m:
            key = "note:" + unquote(m.group(1))
            if method == "PUT":
                data = self.body(65536)
                if data is None:
                    return self.send(413, {"error": "too large"})
                r.call("SET", key, data)
                return self.send(204)
            if method == "GET":
                data = r.call("GET", key)
                if data is None:
                    return self.send(404, {"error": "no such note"})
                return self.send(200, data, content_type="text/plain; charset=utf-8")
        if method == "GET" and path == "/slow":
            try:
                ms = float(parse_qs(url.query).get("ms", ["0"])[0])
            except ValueError:
                ms = 0
            time.sleep(min(5000, max(0, ms)) / 1000)
            return self.send(200, {"done": True})
        self.send(404, {"error": "not found"})


class Server(ThreadingHTTPServer):
    request_queue_size = 128
    daemon_threads = True


server = Server(("0.0.0.0", PORT), Handler)


def drain(signum, frame):
    # Stop accepting at once: close the listening socket (new connections are refused)...
    print("instance %s: SIGTERM, draining" % INSTANCE, flush=True)
    server.socket.close()

    def finish():
        # ...then wait for the requests in flight, close Redis and leave.
        with inflight_lock:
            inflight_lock.wait_for(lambda: inflight == 0, timeout=10)
        with connections_lock:
            for c in connections:
                c.close()
        os._exit(0)

    threading.Thread(target=finish, daemon=True).start()


signal.signal(signal.SIGTERM, drain)
print("instance %s listening on http://localhost:%d" % (INSTANCE, PORT), flush=True)
try:
    server.serve_forever(poll_interval=0.1)
except (OSError, ValueError):
    pass  # the listening socket was closed by drain(); finish() exits
while True:
    time.sleep(1)
