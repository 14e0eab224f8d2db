# A layer-7 load balancer with Python's standard library only: ThreadingHTTPServer (one thread per
# connection, HTTP/1.1 keep-alive), http.client for the backends, a health-check thread. Round robin over
# the backends in rotation; active health checks; passive ejection on connection errors; one retry of
# GET/HEAD/PUT/DELETE on another backend; 503 + Retry-After when none is in rotation. Written from the
# lab's README alone.
import http.client
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

HEALTH_PATH = os.environ.get("HEALTH_PATH", "/health")
INTERVAL_S = int(os.environ.get("HEALTH_INTERVAL_MS", "1000")) / 1000
PROBE_TIMEOUT_S = max(2.0, 2 * INTERVAL_S)
IDEMPOTENT = {"GET", "HEAD", "PUT", "DELETE", "OPTIONS"}
HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade", "content-length"}


class Backend:
    def __init__(self, url):
        parts = urlsplit(url.strip())
        self.host = parts.hostname
        self.port = parts.port or 80
        self.up = True


BACKENDS = [Backend(u) for u in os.environ.get("BACKENDS", "").split(",") if u.strip()]
lock = threading.Lock()
cursor = 0


def pick(exclude=None):
    """Round robin over the backends in rotation, skipping `exclude`."""
    global cursor
    with lock:
        n = len(BACKENDS)
        for i in range(n):
            index = (cursor + i) % n
            b = BACKENDS[index]
            if b.up and b is not exclude:
                cursor = (index + 1) % n
                return b
    return None


def set_up(b, up):
    with lock:
        b.up = up


def forward(b, method, target, headers, body):
    """One attempt: (status, reason, headers, body), or None on a connection error."""
    conn = http.client.HTTPConnection(b.host, b.port, timeout=30)
    try:
        conn.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
        for name, value in headers:
            conn.putheader(name, value)
        if body or method in ("POST", "PUT", "PATCH"):
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body if body else None)
        res = conn.getresponse()
        data = res.read()
        return res.status, res.reason, res.getheaders(), data
    except (OSError, http.client.HTTPException):
        return None
    finally:
        conn.close()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out as separate writes: no 40 ms delayed-ACK stall

    def handle_any(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = [(k, v) for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP]
        headers.append(("X-Forwarded-For", self.client_address[0]))
        first = pick()
        if first is None:
            return self.reply(503, [("Content-Type", "application/json"), ("Retry-After", "1")], b'{"error":"no backend is available"}')
        answer = forward(first, self.command, self.path, headers, body)
        if answer is None:
            set_up(first, False)  # passive ejection until a health probe passes
            second = pick(exclude=first) if self.command in IDEMPOTENT else None
            if second is not None:
                answer = forward(second, self.command, self.path, headers, body)
                if answer is None:
                    set_up(second, False)
        if answer is None:
            return self.reply(502, [("Content-Type", "application/json")], b'{"error":"the backend did not answer"}')
        status, reason, res_headers, data = answer
        out = [(k, v) for k, v in res_headers if k.lower() not in HOP_BY_HOP]
        declared = next((v for k, v in res_headers if k.lower() == "content-length"), None)
        length = declared if self.command == "HEAD" and declared is not None else str(len(data))
        self.send_response(status, reason)
        for k, v in out:
            self.send_header(k, v)
        self.send_header("Content-Length", length)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def reply(self, status, headers, data):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    # Every method goes the same way.
    do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = handle_any

    def send_response(self, code, message=None):
        # No Server/Date headers of our own: the backend's are passed back.
        self.log_request(code)
        self.send_response_only(code, message)

    def log_message(self, fmt, *args):
        pass


def probe(b):
    conn = http.client.HTTPConnection(b.host, b.port, timeout=PROBE_TIMEOUT_S)
    try:
        conn.request("GET", HEALTH_PATH)
        res = conn.getresponse()
        res.read()
        healthy = 200 <= res.status < 300
    except (OSError, http.client.HTTPException):
        healthy = False
    finally:
        conn.close()
    set_up(b, healthy)


def health_loop(b):
    """One thread per backend: a hanging backend cannot delay the probes of the others."""
    while True:
        started = time.monotonic()
        probe(b)
        time.sleep(max(0.0, INTERVAL_S - (time.monotonic() - started)))


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128


if __name__ == "__main__":
    for b in BACKENDS:
        threading.Thread(target=health_loop, args=(b,), daemon=True).start()
    server = Server(("0.0.0.0", int(os.environ.get("PORT", "3000"))), Handler)
    print(f"listening on {server.server_address[1]}, balancing {len(BACKENDS)} backends")
    server.serve_forever()
