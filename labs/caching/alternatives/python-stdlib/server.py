# caching with Python's standard library only, written from the lab's README: cache-aside in Redis (spoken
# in RESP by hand over a socket: the stdlib has no Redis client), TTL set with the value (SET ... EX),
# invalidation after the upstream answered a PUT, one upstream fetch per product at a time (single flight),
# ETag from the bytes served with weak If-None-Match comparison, Cache-Control on every answer.
import base64
import hashlib
import http.client
import os
import re
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import quote, unquote, urlsplit

UPSTREAM = urlsplit(os.environ.get("UPSTREAM_URL", "http://127.0.0.1:4000"))
REDIS = urlsplit(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379"))
TTL = max(1, int(os.environ.get("CACHE_TTL_SECONDS", "30")))
ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")
TAG = re.compile(r'(?:W/)?"[^"]*"')


class RedisError(Exception):
    pass


class RespConnection:
    """One connection to Redis: commands go out as RESP arrays of bulk strings, replies are parsed back."""

    def __init__(self):
        self.sock = socket.create_connection((REDIS.hostname or "127.0.0.1", REDIS.port or 6379), timeout=10)
        self.file = self.sock.makefile("rb")
        if REDIS.password is not None:
            args = ["AUTH", unquote(REDIS.password)]
            if REDIS.username:
                args.insert(1, unquote(REDIS.username))
            self.command(*args)
        db = REDIS.path.strip("/")
        if db:
            self.command("SELECT", db)

    def command(self, *args):
        out = [b"*%d\r\n" % len(args)]
        for a in args:
            b = a if isinstance(a, bytes) else str(a).encode()
            out.append(b"$%d\r\n%s\r\n" % (len(b), b))
        self.sock.sendall(b"".join(out))
        return self.reply()

    def reply(self):
        line = self.file.readline()
        if not line.endswith(b"\r\n"):
            raise ConnectionError("Redis closed the connection")
        kind, rest = line[:1], line[1:-2]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            raise RedisError(rest.decode())
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
            return None if n < 0 else [self.reply() for _ in range(n)]
        raise ConnectionError(f"unexpected RESP reply {line!r}")

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


class RedisPool:
    def __init__(self):
        self.idle = []
        self.lock = threading.Lock()

    def command(self, *args):
        with self.lock:
            conn = self.idle.pop() if self.idle else None
        if conn is None:
            conn = RespConnection()
        try:
            result = conn.command(*args)
        except RedisError:
            with self.lock:
                self.idle.append(conn)  # an error reply leaves the connection usable
            raise
        except Exception:
            conn.close()
            raise
        with self.lock:
            self.idle.append(conn)
        return result


redis = RedisPool()


class HttpError(Exception):
    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.message = message


def decode(segment):
    if ESCAPE.search(segment):
        raise HttpError(400, "malformed percent-escape in the request target")
    try:
        return unquote(segment, errors="strict")
    except UnicodeDecodeError:
        raise HttpError(400, "percent-escapes that are not UTF-8 in the request target")


def upstream(method, pid, body=None, content_type=None):
    conn = http.client.HTTPConnection(UPSTREAM.hostname, UPSTREAM.port or 80, timeout=30)
    try:
        headers = {"Content-Type": content_type or "application/json"} if body is not None else {}
        conn.request(method, f"{UPSTREAM.path.rstrip('/')}/products/{quote(pid, safe='')}", body=body, headers=headers)
        res = conn.getresponse()
        return res.status, res.read(), res.getheader("Content-Type") or "application/json"
    finally:
        conn.close()


def cache_key(pid):
    return "product:" + pid


# Single flight: one upstream fetch per product at a time; the others wait for its result.
flights = {}  # pid -> Flight
generations = {}  # pid -> count of successful PUTs: a fetch that started before one must not be cached
flights_lock = threading.Lock()


class Flight:
    def __init__(self):
        self.done = threading.Event()
        self.result = None
        self.error = None


def read_product(pid):
    """(status, body bytes, content type) for GET /products/<pid>, from Redis or from the upstream."""
    cached = redis.command("GET", cache_key(pid))
    if cached is not None:
        return 200, cached, "application/json"
    with flights_lock:
        flight = flights.get(pid)
        leader = flight is None
        if leader:
            flight = flights[pid] = Flight()
            generation = generations.get(pid, 0)
    if not leader:
        flight.done.wait(60)
        if flight.error is not None or flight.result is None:
            raise HttpError(502, "the upstream could not be read")
        return flight.result
    try:
        cached = redis.command("GET", cache_key(pid))  # stored by a flight that ended since our first look?
        if cached is not None:
            flight.result = (200, cached, "application/json")
        else:
            status, body, ctype = upstream("GET", pid)
            if status == 200:
                # Checked and stored under the lock a PUT takes to count itself: no PUT can slip in between.
                with flights_lock:
                    if generations.get(pid, 0) == generation:
                        redis.command("SET", cache_key(pid), body, "EX", TTL)
            flight.result = (status, body, ctype)
        return flight.result
    except Exception as e:
        flight.error = e
        raise
    finally:
        with flights_lock:
            if flights.get(pid) is flight:
                del flights[pid]
        flight.done.set()


def etag_of(body):
    return '"' + base64.urlsafe_b64encode(hashlib.sha256(body).digest()[:18]).decode() + '"'


def matches(if_none_match, etag):
    if if_none_match.strip() == "*":
        return True
    mine = etag[2:] if etag.startswith("W/") else etag
    for tag in TAG.findall(if_none_match):
        if (tag[2:] if tag.startswith("W/") else tag) == mine:
            return True
    return False


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):
        pass

    def reply(self, status, body=b"", content_type="application/json", headers=()):
        self.send_response(status)
        if status != 304:
            if body:
                self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        if body and status != 304:
            self.wfile.write(body)

    def read_body(self):
        if (self.headers.get("Transfer-Encoding") or "").lower() == "chunked":
            data = bytearray()
            while True:
                size = int(self.rfile.readline(1026).split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(1026) not in (b"\r\n", b"\n", b""):
                        pass
                    return bytes(data)
                data += self.rfile.read(size)
                self.rfile.readline(3)
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def route(self, method):
        target = self.path
        path, _, query = target.partition("?")
        for part in query.split("&"):
            for piece in part.split("=", 1):
                decode(piece.replace("+", " "))
        if not path.startswith("/"):
            raise HttpError(400, "the request target must be a path")
        segments = [decode(s) for s in path.split("/")[1:]]
        body = self.read_body() if method in ("PUT", "POST", "PATCH") else None
        if len(segments) != 2 or segments[0] != "products" or segments[1] == "":
            raise HttpError(404, "no such route")
        pid = segments[1]
        if method == "GET":
            status, data, ctype = read_product(pid)
            if status != 200:
                return self.reply(status, data, ctype)
            etag = etag_of(data)
            headers = [("ETag", etag), ("Cache-Control", f"max-age={TTL}")]
            inm = self.headers.get("If-None-Match")
            if inm is not None and matches(inm, etag):
                return self.reply(304, b"", headers=headers)
            return self.reply(200, data, "application/json", headers)
        if method == "PUT":
            status, data, ctype = upstream("PUT", pid, body, self.headers.get("Content-Type"))
            if 200 <= status < 300:
                # The write is done upstream: only now forget the cached copy (and any fetch begun before it).
                with flights_lock:
                    generations[pid] = generations.get(pid, 0) + 1
                    flights.pop(pid, None)
                redis.command("DEL", cache_key(pid))
            return self.reply(status, data, ctype, [("Cache-Control", "no-store")])
        raise HttpError(405, "method not allowed")

    def handle_any(self, method):
        try:
            self.route(method)
        except HttpError as e:
            self.reply(e.status, ('{"error": "%s"}' % e.message).encode())
            if e.status == 400:
                self.close_connection = True  # an unread body must not be taken for the next request
        except (OSError, http.client.HTTPException, RedisError) as e:
            self.reply(502, b'{"error": "a backing service failed"}')

    def do_GET(self):
        self.handle_any("GET")

    def do_PUT(self):
        self.handle_any("PUT")

    def do_POST(self):
        self.handle_any("POST")

    def do_DELETE(self):
        self.handle_any("DELETE")


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128


if __name__ == "__main__":
    port = int(os.environ.get("PORT", "3000"))
    print(f"caching (python-stdlib) listening on 0.0.0.0:{port}, TTL {TTL}s", flush=True)
    Server(("0.0.0.0", port), Handler).serve_forever()
