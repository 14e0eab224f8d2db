# Your server, on Python's standard library only (no pip install needed).
#
# The grader gives you a port in the PORT environment variable: always listen on it, on all interfaces.
# `python3 -u` (the start command in labs.json) keeps your prints unbuffered, so the grader shows your
# server's last lines when a check fails.
#
# Moving to a framework later is fine: `pip install flask` (or fastapi + uvicorn), then change "start" in
# labs.json, e.g. "python3 -u app.py" or "uvicorn app:app --host 0.0.0.0 --port $PORT".
import json
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    def send_json(self, status, body, headers=()):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))  # always: HTTP/1.0 clients need it
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        # TODO: see README.md for the contract of this lab.
        self.send_json(404, {"error": "not implemented yet"})

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET


class Server(ThreadingHTTPServer):
    request_queue_size = 128  # the listen backlog (socketserver's default of 5 drops bursts of connections)
    daemon_threads = True


if __name__ == "__main__":
    server = Server(("0.0.0.0", int(os.environ.get("PORT", "3000"))), Handler)
    print(f"listening on http://localhost:{server.server_address[1]}")
    server.serve_forever()
