"""replicated-kv in Python's standard library, written from the README alone.

CP: an ABD register per key (majority quorums for the version read, the store, and the read's write-back).
AP: a grow-only counter per name (one count per node, merged by maximum, gossiped every GOSSIP_MS), and a
last-writer-wins register per key stamped by a hybrid logical clock [ms, counter, node].
Peers are reached only through PEERS, with a timeout on every call.
"""
import urllib.parse
import json
import os
import sys
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import quote, unquote, urlparse

PORT = int(os.environ.get("PORT", "3000"))
ME = os.environ.get("INSTANCE_ID", "1")
TIMEOUT = int(os.environ.get("CP_TIMEOUT_MS", "500")) / 1000
GOSSIP = int(os.environ.get("GOSSIP_MS", "200")) / 1000
PEERS = []
for item in filter(None, os.environ.get("PEERS", "").split(",")):
    pid, addr = item.split("=", 1)
    PEERS.append((pid, "http://" + addr))
MAJORITY = (len(PEERS) + 1) // 2 + 1
pool = ThreadPoolExecutor(max_workers=32)

lock = threading.Lock()
registers = {}  # key -> (version tuple (counter, node), value or None)
counters = {}  # name -> {node: count}
lww = {}  # key -> (version [ms, counter, node], value)
hlc = [0, 0]  # this node's hybrid logical clock: [ms, counter]
ME_INT = int(ME)


def tick():
    """The next timestamp: above everything this node has seen, and at least its wall clock."""
    now = int(time.time() * 1000)
    if now > hlc[0]:
        hlc[0], hlc[1] = now, 0
    else:
        hlc[1] += 1
    return [hlc[0], hlc[1], ME_INT]


def keep(key, version, value):
    """Keeps the higher version per key; moves the clock past what it has seen. Call with the lock held."""
    version = [int(x) for x in version]
    mine = lww.get(key)
    if mine is None or version > mine[0]:
        lww[key] = (version, value)
    if version[:2] > hlc:
        hlc[0], hlc[1] = version[0], version[1]


def newer(a, b):
    return (a[0], a[1]) > (b[0], b[1])


def local(key):
    with lock:
        return registers.get(key, ((0, ""), None))


def store(key, version, value):
    with lock:
        if newer(version, registers.get(key, ((0, ""), None))[0]):
            registers[key] = (tuple(version), value)


def call(url, method="GET", body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=TIMEOUT) as res:
        raw = res.read()
        return json.loads(raw) if raw else None


def quorum(need, fn):
    """Runs fn(peer_url) on every peer; the first `need` results, or None when that many cannot answer in time."""
    if need <= 0:
        return []
    results, failures = [], [0]
    done = threading.Event()
    guard = threading.Lock()

    def one(url):
        try:
            r = fn(url)
            with guard:
                results.append(r)
                if len(results) >= need:
                    done.set()
        except Exception:
            with guard:
                failures[0] += 1
                if failures[0] > len(PEERS) - need:
                    done.set()

    for _, url in PEERS:
        pool.submit(one, url)
    done.wait(TIMEOUT + 0.5)
    with guard:
        return list(results[:need]) if len(results) >= need else None


def read_quorum(key):
    answers = quorum(MAJORITY - 1, lambda url: call(url + "/internal/cp/" + quote(key, safe="")))
    if answers is None:
        return None
    best = local(key)
    for a in answers:
        v = (a["version"][0], a["version"][1])
        if newer(v, best[0]):
            best = (v, a["value"])
    return best


def write_quorum(key, version, value):
    store(key, version, value)
    body = {"version": list(version), "value": value}
    return quorum(MAJORITY - 1, lambda url: call(url + "/internal/cp/" + quote(key, safe=""), "PUT", body)) is not None


def total(name):
    with lock:
        return sum(counters.get(name, {}).values())


def merge(state):
    with lock:
        for name, by_node in state.items():
            mine = counters.setdefault(name, {})
            for node, n in by_node.items():
                if isinstance(n, int) and n > mine.get(node, 0):
                    mine[node] = n


def gossip():
    while True:
        time.sleep(GOSSIP)
        with lock:
            state = {k: dict(v) for k, v in counters.items()}
            registers_state = {k: {"version": v, "value": val} for k, (v, val) in lww.items()}
        for _, url in PEERS:
            pool.submit(lambda u=url: call(u + "/internal/ap/state", "POST", state))
            pool.submit(lambda u=url: call(u + "/internal/ap/registers", "POST", registers_state))


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
        pass

    def send(self, status, body=None, content_type="application/json"):
        data = b"" if body is None else (body.encode() if isinstance(body, str) and content_type.startswith("text/") else json.dumps(body).encode())
        self.send_response(status)
        if body is not None:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def parts(self):
        return [unquote(p) for p in urlparse(self.path).path.split("/") if p]

    def do_GET(self):
        p = self.parts()
        if len(p) == 3 and p[:2] == ["internal", "cp"]:
            version, value = local(p[2])
            return self.send(200, {"version": list(version), "value": value})
        if len(p) == 3 and p[:2] == ["cp", "kv"]:
            seen = read_quorum(p[2])
            if seen is None:
                return self.send(503, {"error": "no majority"})
            version, value = seen
            if value is None:
                return self.send(404, {"error": "no such key"})
            if not write_quorum(p[2], version, value):  # write back before answering
                return self.send(503, {"error": "no majority"})
            return self.send(200, value, "text/plain; charset=utf-8")
        if len(p) == 3 and p[:2] == ["ap", "counters"]:
            return self.send(200, {"name": p[2], "value": total(p[2])})
        if len(p) == 3 and p[:2] == ["ap", "kv"]:
            with lock:
                entry = lww.get(p[2])
            if entry is None:
                return self.send(404, {"error": "no such key"})
            return self.send(200, {"key": p[2], "value": entry[1], "version": entry[0]})
        if p == ["health"]:
            return self.send(200, {"status": "ok", "node": ME})
        self.send(404, {"error": "not found"})

    def do_PUT(self):
        p = self.parts()
        raw = self.body()
        if len(p) == 3 and p[:2] == ["internal", "cp"]:
            e = json.loads(raw)
            store(p[2], tuple(e["version"]), e["value"])
            return self.send(204)
        if len(p) == 3 and p[:2] == ["cp", "kv"]:
            seen = read_quorum(p[2])
            if seen is None:
                return self.send(503, {"error": "no majority"})
            ok = write_quorum(p[2], (seen[0][0] + 1, ME), raw.decode("utf-8"))
            return self.send(204) if ok else self.send(503, {"error": "no majority"})
        if len(p) == 3 and p[:2] == ["ap", "kv"]:
            with lock:
                version = tick()
                keep(p[2], version, raw.decode("utf-8"))
            return self.send(200, {"key": p[2], "version": version})
        self.send(404, {"error": "not found"})

    def do_POST(self):
        p = self.parts()
        raw = self.body()
        if p == ["internal", "ap", "state"]:
            merge(json.loads(raw or b"{}"))
            return self.send(204)
        if p == ["internal", "ap", "registers"]:
            received = json.loads(raw or b"{}")
            with lock:
                for key, e in received.items():
                    keep(key, e["version"], e["value"])
            return self.send(204)
        if len(p) == 4 and p[:2] == ["ap", "counters"] and p[3] == "increment":
            with lock:
                mine = counters.setdefault(p[2], {})
                mine[ME] = mine.get(ME, 0) + 1
            return self.send(200, {"name": p[2], "value": total(p[2])})
        self.send(404, {"error": "not found"})


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128


threading.Thread(target=gossip, daemon=True).start()
server = Server(("0.0.0.0", PORT), Handler)
print("node %s listening on %d; peers %s" % (ME, PORT, ", ".join("%s@%s" % p for p in PEERS)), flush=True)
server.serve_forever()
