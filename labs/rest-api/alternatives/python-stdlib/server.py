# rest-api with Python's standard library only, written from the lab's README: todos in memory, server-made
# random ids, PUT replaces, PATCH changes the members sent, problem details for every error. On
# http.server's ThreadingHTTPServer with its defaults (listen backlog 5, HTTP/1.0 responses).
import json
import os
import re
import secrets
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

todos = {}  # id -> todo; dicts keep insertion order, so the list is oldest first
lock = threading.Lock()
ITEM = re.compile(r"^/todos/([^/]+)$")


class Problem(Exception):
    def __init__(self, status, detail):
        super().__init__(detail)
        self.status = status
        self.detail = detail


def check_title(body, required):
    if "title" not in body:
        if required:
            raise Problem(422, '"title" is required.')
        return
    title = body["title"]
    if not isinstance(title, str):
        raise Problem(422, '"title" must be a string.')
    if title.strip() == "":
        raise Problem(422, '"title" must not be blank.')
    if len(title) > 200:
        raise Problem(422, f'"title" must be at most 200 characters, got {len(title)}.')


def check_completed(body, required):
    if "completed" not in body:
        if required:
            raise Problem(422, '"completed" is required.')
        return
    if not isinstance(body["completed"], bool):  # JSON true/false only (null, 0, "true" are not booleans)
        raise Problem(422, '"completed" must be true or false.')


class Handler(BaseHTTPRequestHandler):
    def send_json(self, status, body, content_type="application/json", headers=()):
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        if body is not None:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def problem(self, status, detail):
        title = HTTPStatus(status).phrase
        self.send_json(status, {"type": "about:blank", "title": title, "status": status, "detail": detail}, "application/problem+json")

    def read_object(self):
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            body = json.loads(raw)
        except ValueError:
            raise Problem(400, "The body is not valid JSON.")
        if not isinstance(body, dict):
            raise Problem(422, "The body must be a JSON object.")
        return body

    def handle_any(self, method):
        path = self.path.split("?", 1)[0]
        try:
            if path == "/todos":
                if method == "GET":
                    with lock:
                        return self.send_json(200, list(todos.values()))
                if method == "POST":
                    body = self.read_object()
                    check_title(body, True)
                    check_completed(body, False)
                    todo = {"id": secrets.token_urlsafe(16), "title": body["title"], "completed": body.get("completed", False)}
                    with lock:
                        todos[todo["id"]] = todo
                    return self.send_json(201, todo, headers=[("Location", f"/todos/{todo['id']}")])
                raise Problem(405, f"{method} is not allowed on /todos.")
            m = ITEM.match(path)
            if not m:
                raise Problem(404, f"There is no route {path}.")
            tid = m.group(1)
            with lock:
                todo = todos.get(tid)
            if todo is None:
                raise Problem(404, f'There is no todo with id "{tid}".')
            if method == "GET":
                return self.send_json(200, todo)
            if method == "DELETE":
                with lock:
                    todos.pop(tid, None)
                return self.send_json(204, None)
            if method in ("PUT", "PATCH"):
                body = self.read_object()
                full = method == "PUT"
                check_title(body, full)
                check_completed(body, full)
                updated = {**todo, **{k: body[k] for k in ("title", "completed") if k in body}}
                with lock:
                    if tid not in todos:
                        raise Problem(404, f'There is no todo with id "{tid}".')
                    todos[tid] = updated
                return self.send_json(200, updated)
            raise Problem(405, f"{method} is not allowed on /todos/<id>.")
        except Problem as p:
            self.problem(p.status, p.detail)

    def do_GET(self):
        self.handle_any("GET")

    def do_POST(self):
        self.handle_any("POST")

    def do_PUT(self):
        self.handle_any("PUT")

    def do_PATCH(self):
        self.handle_any("PATCH")

    def do_DELETE(self):
        self.handle_any("DELETE")


if __name__ == "__main__":
    server = ThreadingHTTPServer(("0.0.0.0", int(os.environ["PORT"])), Handler)
    print(f"listening on {server.server_address[1]}")
    server.serve_forever()
