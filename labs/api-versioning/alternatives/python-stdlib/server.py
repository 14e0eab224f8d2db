# api-versioning with Python's standard library only, written from the lab's README: one model in cents,
# two representations (/v1 dollars, /v2 cents), Accept negotiation on /products, Deprecation/Sunset on v1.
# On http.server's ThreadingHTTPServer with its defaults (listen backlog 5, HTTP/1.0 responses).
import json
import os
import re
import secrets
import threading
from datetime import datetime, timezone
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def instant(name):
    return datetime.fromisoformat(os.environ[name]).astimezone(timezone.utc)  # 3.11 reads "...Z" and fractions


DEPRECATION = f"@{int(instant('V1_DEPRECATED_AT').timestamp())}"
SUNSET = format_datetime(instant("V1_SUNSET_AT"), usegmt=True)
products = {}  # id -> {"id", "name", "cents"}, in creation order
lock = threading.Lock()


def v1(p):
    return {"id": p["id"], "name": p["name"], "price": p["cents"] / 100}


def v2(p):
    return {"id": p["id"], "name": p["name"], "price_cents": p["cents"], "currency": "USD"}


SHOP = re.compile(r"^application/vnd\.shop\.v(\d+)\+json$")


def negotiate(accept):
    """1 or 2, or None for 406: the first shop media type naming a version we have wins."""
    named = []
    for part in (accept or "").split(","):
        m = SHOP.match(part.split(";")[0].strip().lower())
        if m:
            named.append(int(m.group(1)))
    for v in named:
        if v in (1, 2):
            return v
    return None if named else 1


class Handler(BaseHTTPRequestHandler):
    def send(self, status, body, headers=(), content_type="application/json"):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def problem(self, status, title, detail, headers=()):
        self.send(status, {"type": "about:blank", "title": title, "status": status, "detail": detail}, headers, "application/problem+json")

    def body(self):
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            value = json.loads(raw)
        except ValueError:
            return None
        return value if isinstance(value, dict) else None

    def answer(self, version, pid, extra=()):
        headers = list(extra)
        if version == 1:
            headers += [("Deprecation", DEPRECATION), ("Sunset", SUNSET)]
        shape = v1 if version == 1 else v2
        if pid is None:
            items = [shape(p) for p in products.values()]
            return self.send(200, items if version == 1 else {"items": items}, headers)
        p = products.get(pid)
        if p is None:
            return self.problem(404, "Not Found", f"There is no product {pid}.", headers)
        self.send(200, shape(p), headers)

    def do_GET(self):
        path = self.path.split("?")[0]
        m = re.match(r"^/v(\d+)/products(?:/([^/]+))?$", path)
        if m:
            version = int(m.group(1))
            if version not in (1, 2):
                return self.problem(404, "Not Found", f"There is no version {version} of this API.")
            return self.answer(version, m.group(2))
        m = re.match(r"^/products(?:/([^/]+))?$", path)
        if m:
            version = negotiate(self.headers.get("Accept"))
            if version is None:
                return self.problem(406, "Not Acceptable", "Only application/vnd.shop.v1+json and application/vnd.shop.v2+json exist.", [("Vary", "Accept")])
            return self.answer(version, m.group(1), [("Vary", "Accept")])
        self.problem(404, "Not Found", f"No route for {path}.")

    def do_POST(self):
        path = self.path.split("?")[0]
        if path not in ("/v1/products", "/v2/products"):
            return self.problem(404, "Not Found", f"No route for {path}.")
        body = self.body()
        version = 1 if path.startswith("/v1") else 2
        name = body.get("name") if body else None
        if not isinstance(name, str) or not name.strip():
            return self.problem(422, "Unprocessable Content", "`name` must be a non-empty string.")
        if version == 1:
            price = body.get("price")
            if isinstance(price, bool) or not isinstance(price, (int, float)) or price < 0:
                return self.problem(422, "Unprocessable Content", "`price` must be a number >= 0.")
            cents = round(price * 100)  # never int(): 19.99 * 100 is 1998.9999999999998
        else:
            cents = body.get("price_cents")
            if isinstance(cents, bool) or not isinstance(cents, int) or cents < 0:
                return self.problem(422, "Unprocessable Content", "`price_cents` must be an integer >= 0.")
        with lock:
            p = {"id": secrets.token_urlsafe(12), "name": name, "cents": cents}
            products[p["id"]] = p
        headers = [("Location", f"/v{version}/products/{p['id']}")]
        if version == 1:
            headers += [("Deprecation", DEPRECATION), ("Sunset", SUNSET)]
        self.send(201, (v1 if version == 1 else v2)(p), headers)


if __name__ == "__main__":
    server = ThreadingHTTPServer(("0.0.0.0", int(os.environ["PORT"])), Handler)
    print(f"listening on {server.server_address[1]}")
    server.serve_forever()
