# Rate limiting with Python's standard library only: a token bucket per X-Client-Id (capacity L, refilling
# L tokens per W continuously), on http.server's ThreadingHTTPServer with its defaults (listen backlog 5,
# HTTP/1.0 responses). Written from the lab's README alone.
import json
import math
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LIMIT = int(os.environ["RATE_LIMIT"])
WINDOW_MS = int(os.environ["RATE_WINDOW_MS"])
WINDOW_S = math.ceil(WINDOW_MS / 1000)
RATE = LIMIT / WINDOW_MS  # tokens per millisecond

buckets = {}  # client -> [tokens, last refill time in ms]
lock = threading.Lock()


def take(client):
    """Refill, then take a token if there is one: one atomic step under the lock."""
    now = time.monotonic() * 1000
    with lock:
        tokens, last = buckets.get(client, (float(LIMIT), now))
        tokens = min(LIMIT, tokens + (now - last) * RATE)
        allowed = tokens >= 1
        if allowed:
            tokens -= 1
        buckets[client] = (tokens, now)
    # milliseconds until the next whole token
    next_ms = 0 if tokens >= LIMIT else (math.floor(tokens) + 1 - tokens) / RATE
    return allowed, math.floor(tokens), next_ms


class Handler(BaseHTTPRequestHandler):
    def send(self, status, body, content_type, headers=()):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path.split("?")[0] != "/api/quote":
            return self.send(404, {"type": "about:blank", "title": "Not Found", "status": 404}, "application/problem+json")
        client = self.headers.get("X-Client-Id")
        if not client:
            return self.send(400, {"type": "about:blank", "title": "Bad Request", "status": 400, "detail": "X-Client-Id is required"}, "application/problem+json")
        allowed, remaining, next_ms = take(client)
        t = min(WINDOW_S, math.ceil(next_ms / 1000))
        headers = [
            ("RateLimit-Policy", f'"default";q={LIMIT};w={WINDOW_S}'),
            ("RateLimit", f'"default";r={remaining};t={t}'),
        ]
        if allowed:
            return self.send(200, {"quote": "Make it work, make it right, make it fast.", "author": "Kent Beck"}, "application/json", headers)
        retry = max(1, t)
        detail = f'Client "{client}" may make {LIMIT} requests per {WINDOW_MS} ms.'
        self.send(429, {"type": "about:blank", "title": "Too Many Requests", "status": 429, "detail": detail}, "application/problem+json", headers + [("Retry-After", str(retry))])

    def log_message(self, fmt, *args):
        print(f"{self.address_string()} {fmt % args}")


if __name__ == "__main__":
    server = ThreadingHTTPServer(("0.0.0.0", int(os.environ.get("PORT", "3000"))), Handler)
    print(f"listening on {server.server_address[1]}")
    server.serve_forever()
