# live-updates with Python's standard library only, written from the lab's README: a Server-Sent Events
# feed with ids, resume from a bounded history with Last-Event-ID, heartbeat comments, and subscribers
# forgotten when their connection ends. On http.server's ThreadingHTTPServer with its defaults (listen
# backlog 5, HTTP/1.0 responses: the stream has no Content-Length and ends when the connection closes).
import json
import os
import queue
import threading
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HEARTBEAT_S = int(os.environ.get("HEARTBEAT_MS", "15000")) / 1000
HISTORY_SIZE = int(os.environ.get("HISTORY_SIZE", "100"))

lock = threading.Lock()
last_id = 0
history = deque(maxlen=HISTORY_SIZE)  # (id, frame), oldest first
subscribers = set()  # one queue of frames per open stream


def publish(item):
    frame = f"id: {item['id']}\nevent: item\ndata: {json.dumps(item)}\n\n"
    with lock:
        history.append((item["id"], frame))
        for q in subscribers:
            q.put(frame)


class Handler(BaseHTTPRequestHandler):
    def send_json(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        path = self.path.split("?", 1)[0]
        if path == "/stats":
            with lock:
                return self.send_json(200, {"subscribers": len(subscribers)})
        if path != "/events":
            return self.send_json(404, {"error": "not found"})
        q = queue.Queue()
        header = (self.headers.get("Last-Event-ID") or "").strip()
        with lock:  # replay and subscribe in one step: no event falls between the two
            backlog = []
            if header.isdigit():
                last = int(header)
                oldest = history[0][0] if history else last_id + 1
                if last < oldest - 1:
                    backlog.append("event: reset\ndata: {}\n\n")
                backlog += [frame for i, frame in history if i > last]
            subscribers.add(q)
        # Headers only once subscribed: a client that sees them and then creates an item gets its event.
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        try:
            self.wfile.write((": connected\n\n" + "".join(backlog)).encode())
            while True:
                try:
                    frame = q.get(timeout=HEARTBEAT_S)
                except queue.Empty:
                    frame = ": heartbeat\n\n"  # also how a closed connection is noticed: the write fails
                self.wfile.write(frame.encode())
        except (BrokenPipeError, ConnectionResetError, OSError):
            pass
        finally:
            with lock:
                subscribers.discard(q)

    def do_POST(self):
        global last_id
        if self.path.split("?", 1)[0] != "/items":
            return self.send_json(404, {"error": "not found"})
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            body = json.loads(raw)
        except ValueError:
            return self.send_json(400, {"error": "the body is not valid JSON"})
        text = body.get("text") if isinstance(body, dict) else None
        if not isinstance(text, str) or text == "":
            return self.send_json(422, {"error": '"text" must be a non-empty string'})
        with lock:
            last_id += 1
            item = {"id": last_id, "text": text}
        publish(item)
        self.send_json(201, item)

    def log_message(self, fmt, *args):
        pass


if __name__ == "__main__":
    server = ThreadingHTTPServer(("0.0.0.0", int(os.environ["PORT"])), Handler)
    server.daemon_threads = True
    print(f"listening on {server.server_address[1]}")
    server.serve_forever()
