# webhooks with Python's standard library only, written from the lab's README: Standard Webhooks in both
# directions. Receiving: the signature over the raw bytes, a 5-minute timestamp window, dedupe by
# webhook-id (check and apply in one step). Sending: 202 at once, delivery in a background thread with
# exponential backoff and a fresh timestamp and signature per attempt. On http.server's
# ThreadingHTTPServer with its defaults (listen backlog 5, HTTP/1.0 responses).
import urllib.parse
import base64
import hashlib
import hmac
import json
import os
import secrets
import threading
import time
import urllib.error
import urllib.request
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit


def key_of(secret):
    return base64.b64decode(secret.removeprefix("whsec_"))


WEBHOOK_KEY = key_of(os.environ["WEBHOOK_SECRET"])
DELIVERY_KEY = key_of(os.environ["DELIVERY_SECRET"])
DELIVERY_URL = os.environ["DELIVERY_URL"]
RETRY_BASE_S = int(os.environ["DELIVERY_RETRY_BASE_MS"]) / 1000
TIMEOUT_S = int(os.environ["DELIVERY_TIMEOUT_MS"]) / 1000
ATTEMPTS = 6
TOLERANCE_S = 5 * 60

balances = {}
processed = set()  # webhook-ids already applied
lock = threading.Lock()


def sign(key, msg_id, timestamp, body):
    mac = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return base64.b64encode(mac).decode()


def verified(headers, body):
    msg_id, ts, signatures = headers.get("webhook-id"), headers.get("webhook-timestamp"), headers.get("webhook-signature")
    if not msg_id or not ts or not signatures:
        return False
    try:
        when = int(ts)
    except ValueError:
        return False
    if abs(time.time() - when) > TOLERANCE_S:
        return False
    expected = sign(WEBHOOK_KEY, msg_id, ts, body)
    for entry in signatures.split(" "):
        version, _, sig = entry.partition(",")
        if version == "v1" and hmac.compare_digest(sig.encode(), expected.encode()):
            return True
    return False


def deliver(msg_id, body):
    """Background delivery: 2xx done, 410 stop, anything else retried with exponential backoff."""
    for attempt in range(1, ATTEMPTS + 1):
        ts = str(int(time.time()))
        request = urllib.request.Request(DELIVERY_URL, data=body, method="POST", headers={
            "Content-Type": "application/json",
            "webhook-id": msg_id,
            "webhook-timestamp": ts,
            "webhook-signature": f"v1,{sign(DELIVERY_KEY, msg_id, ts, body)}",
        })
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_S) as res:
                res.read()
                return  # 2xx (urlopen raises HTTPError for the others)
        except urllib.error.HTTPError as err:
            if err.code == 410:
                print(f"{msg_id}: the endpoint is gone (410), not retrying")
                return
            print(f"{msg_id}: attempt {attempt} answered {err.code}")
        except (OSError, ValueError) as err:
            print(f"{msg_id}: attempt {attempt} failed: {err}")
        if attempt < ATTEMPTS:
            time.sleep(RETRY_BASE_S * 2 ** (attempt - 1))
    print(f"{msg_id}: giving up after {ATTEMPTS} attempts")


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

    def send(self, status, body=None):
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        if body is not None:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        path = urlsplit(self.path).path
        if path.startswith("/accounts/"):
            account = unquote(path[len("/accounts/"):])
            with lock:
                return self.send(200, {"account": account, "balance": balances.get(account, 0)})
        self.send(404, {"error": "not found"})

    def do_POST(self):
        path = urlsplit(self.path).path
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))  # the exact bytes, never re-serialized
        if path == "/webhooks":
            if not verified(self.headers, raw):
                return self.send(401, {"error": "missing or invalid signature, or stale timestamp"})
            try:
                message = json.loads(raw)
            except ValueError:
                return self.send(400, {"error": "the body is not JSON"})
            data = message.get("data") if isinstance(message, dict) else None
            with lock:  # dedupe and apply in one step: copies arriving at once apply once
                msg_id = self.headers["webhook-id"]
                if msg_id in processed:
                    return self.send(200, {"duplicate": True})
                if message.get("type") == "account.credited":
                    account, amount = (data or {}).get("account"), (data or {}).get("amount")
                    if not isinstance(account, str) or isinstance(amount, bool) or not isinstance(amount, int):
                        return self.send(400, {"error": "data must be {account: string, amount: integer}"})
                    balances[account] = balances.get(account, 0) + amount
                processed.add(msg_id)
            return self.send(204)
        if path == "/events":
            try:
                event = json.loads(raw)
            except ValueError:
                return self.send(400, {"error": "the body is not JSON"})
            if not isinstance(event, dict) or not isinstance(event.get("type"), str):
                return self.send(400, {"error": "expected {type: string, data: object}"})
            msg_id = f"msg_{secrets.token_hex(12)}"
            timestamp = datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
            body = json.dumps({"type": event["type"], "timestamp": timestamp, "data": event.get("data", {})}).encode()
            threading.Thread(target=deliver, args=(msg_id, body), daemon=True).start()
            return self.send(202, {"id": msg_id})
        self.send(404, {"error": "not found"})


if __name__ == "__main__":
    server = ThreadingHTTPServer(("0.0.0.0", int(os.environ["PORT"])), Handler)
    print(f"listening on {server.server_address[1]}")
    server.serve_forever()
