# put-vs-patch with Python's standard library only, written from the lab's README: PUT replaces, PATCH
# applies a JSON Merge Patch (RFC 7396), strong ETags and If-Match (412). On http.server's
# ThreadingHTTPServer with its defaults (listen backlog 5, HTTP/1.0 responses).
import hashlib
import json
import os
import re
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

documents = {}  # id -> document (a dict)
lock = threading.Lock()  # a read-check-write of one request is one step
ROUTE = re.compile(r"^/documents/([A-Za-z0-9_-]{1,64})$")
MERGE_PATCH = "application/merge-patch+json"


class Problem(Exception):
    def __init__(self, status, detail, headers=()):
        super().__init__(detail)
        self.status, self.detail, self.headers = status, detail, headers


def etag(doc):
    canonical = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return '"' + hashlib.sha256(canonical.encode()).hexdigest()[:20] + '"'


def merge_patch(target, patch):
    """RFC 7396: null removes, an object merges recursively, anything else (arrays too) replaces."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def media_type(header):
    return (header or "").split(";", 1)[0].strip().lower()


def check_if_match(header, current):
    """None: no precondition. Otherwise the request proceeds only if the document exists and matches."""
    if header is None:
        return
    if current is None:
        raise Problem(412, "If-Match: the document does not exist.")
    value = header.strip()
    if value == "*":
        return
    tags = [t.strip() for t in value.split(",")]
    if etag(current) not in tags:  # strong comparison: a W/ tag never matches
        raise Problem(412, f"If-Match {value} does not match the current ETag {etag(current)}.")


class Handler(BaseHTTPRequestHandler):
    def send(self, status, body=None, content_type="application/json", headers=()):
        data = b"" if body is None else json.dumps(body, ensure_ascii=False).encode()
        self.send_response(status)
        if body is not None:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def read_object(self):
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            body = json.loads(raw)
        except ValueError:
            raise Problem(400, "The body is not valid JSON.")
        if not isinstance(body, dict):
            raise Problem(422, "The body must be a JSON object.")
        return body

    def route(self, method):
        try:
            m = ROUTE.match(self.path.split("?", 1)[0])
            if not m:
                raise Problem(404, f"No route {self.path}.")
            doc_id = m.group(1)
            if method == "GET":
                with lock:
                    doc = documents.get(doc_id)
                if doc is None:
                    raise Problem(404, f'There is no document "{doc_id}".')
                return self.send(200, doc, headers=[("ETag", etag(doc))])
            if method == "PATCH" and media_type(self.headers.get("Content-Type")) != MERGE_PATCH:
                raise Problem(415, f"PATCH takes {MERGE_PATCH}.", [("Accept-Patch", MERGE_PATCH)])
            body = self.read_object()
            with lock:
                current = documents.get(doc_id)
                check_if_match(self.headers.get("If-Match"), current)
                if method == "PUT":
                    documents[doc_id] = body
                    status = 200 if current is not None else 201
                else:
                    if current is None:
                        raise Problem(404, f'There is no document "{doc_id}".')
                    documents[doc_id] = merge_patch(current, body)
                    status = 200
                doc = documents[doc_id]
            headers = [("ETag", etag(doc))]
            if status == 201:
                headers.append(("Location", f"/documents/{doc_id}"))
            self.send(status, doc, headers=headers)
        except Problem as p:
            self.send(p.status, {"type": "about:blank", "title": HTTPStatus(p.status).phrase, "status": p.status, "detail": p.detail}, "application/problem+json", p.headers)

    def do_GET(self):
        self.route("GET")

    def do_PUT(self):
        self.route("PUT")

    def do_PATCH(self):
        self.route("PATCH")


if __name__ == "__main__":
    server = ThreadingHTTPServer(("0.0.0.0", int(os.environ["PORT"])), Handler)
    print(f"listening on {server.server_address[1]}")
    server.serve_forever()
