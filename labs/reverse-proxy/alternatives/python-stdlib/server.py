# A reverse proxy with Python's standard library only: http.server's ThreadingHTTPServer (one thread per
# request, so a hanging backend holds only its own) and http.client towards the backends, bodies streamed in
# 64 KiB pieces both ways (chunked where the length is unknown). WebSocket upgrades go over a raw socket to the
# backend: the handshake is relayed, then two threads copy bytes both ways. Written from the lab's README alone.
import os
import re
import socket
import sys
import threading
from http.client import HTTPConnection, HTTPException
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

PORT = int(os.environ.get("PORT", "3000"))
TIMEOUT_S = int(os.environ.get("UPSTREAM_TIMEOUT_MS", "1000")) / 1000
PIECE = 64 * 1024


def parse_routes(value):
    routes = []
    for pair in value.split(","):
        pair = pair.strip()
        if not pair:
            continue
        prefix, url = pair.split("=", 1)
        u = urlsplit(url)
        routes.append((prefix, u.hostname, u.port or 80, u.netloc))
    # Longest prefix first: the first route that matches is the longest match.
    routes.sort(key=lambda r: len(r[0]), reverse=True)
    return routes


ROUTES = parse_routes(os.environ.get("ROUTES", ""))
if not ROUTES:
    sys.exit("ROUTES (prefix=url,...) is required")

HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding",
              "upgrade", "proxy-authorization", "proxy-authenticate"}
TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")


def end_to_end(items):
    """Header (name, value) pairs without the hop-by-hop ones (the fixed list and those named in Connection)."""
    drop = set(HOP_BY_HOP)
    for name, value in items:
        if name.lower() == "connection":
            drop.update(t.strip().lower() for t in value.split(",") if t.strip())
    return [(n, v) for n, v in items if n.lower() not in drop]


def has_dot_segment(path):
    for segment in path.split("/"):
        decoded = re.sub(r"%2e", ".", segment, flags=re.IGNORECASE)
        if decoded in (".", ".."):
            return True
    return False


def forwarded_value(v):
    if TOKEN.match(v):
        return v
    return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'


class Proxy(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def own_answer(self, status, text):
        data = text.encode()
        self.send_response_only(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        if self.headers.get("Content-Length") or self.headers.get("Transfer-Encoding"):
            # The body was not read: this connection cannot carry another request.
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(data)

    def body_pieces(self):
        """The client's request body, in pieces, whatever its framing."""
        te = (self.headers.get("Transfer-Encoding") or "").lower()
        if "chunked" in te:
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return
                left = size
                while left:
                    piece = self.rfile.read(min(left, PIECE))
                    if not piece:
                        raise ConnectionError("client went away")
                    left -= len(piece)
                    yield piece
                self.rfile.readline()
            return
        left = int(self.headers.get("Content-Length") or 0)
        while left:
            piece = self.rfile.read(min(left, PIECE))
            if not piece:
                raise ConnectionError("client went away")
            left -= len(piece)
            yield piece

    def forward_headers(self, authority):
        """The headers the backend receives, and whether the body is chunked."""
        peer = self.client_address[0]
        client_host = self.headers.get("Host", "")
        chunked = "chunked" in (self.headers.get("Transfer-Encoding") or "").lower()
        headers, xff, fwd = [], [], []
        for name, value in end_to_end(self.headers.items()):
            low = name.lower()
            if low == "x-forwarded-for":
                xff.append(value)
            elif low == "forwarded":
                fwd.append(value)
            elif low in ("host", "x-forwarded-proto", "x-forwarded-host", "expect"):
                continue
            else:
                headers.append((name, value))
        xff.append(peer)
        fwd.append("for=%s;host=%s;proto=http" % ('"[%s]"' % peer if ":" in peer else peer, forwarded_value(client_host)))
        headers += [("Host", authority), ("X-Forwarded-For", ", ".join(xff)), ("X-Forwarded-Proto", "http"),
                    ("X-Forwarded-Host", client_host), ("Forwarded", ", ".join(fwd))]
        if chunked and self.headers.get("Content-Length") is None:
            headers.append(("Transfer-Encoding", "chunked"))
        return headers, chunked

    def is_websocket_upgrade(self):
        upgrade = [t.strip().lower() for v in self.headers.get_all("Upgrade", []) for t in v.split(",")]
        connection = [t.strip().lower() for v in self.headers.get_all("Connection", []) for t in v.split(",")]
        return "websocket" in upgrade and "upgrade" in connection

    def proxy(self):
        target = self.path
        path = target.split("?", 1)[0]
        if has_dot_segment(path):
            return self.own_answer(400, "dot-segments are not allowed in the path\n")
        route = next((r for r in ROUTES if path.startswith(r[0])), None)
        if route is None:
            return self.own_answer(404, "no route for %s\n" % path)
        _, host, port, authority = route
        headers, chunked = self.forward_headers(authority)
        if self.is_websocket_upgrade():
            return self.tunnel(host, port, target, headers)

        # No timeout while connecting and sending: UPSTREAM_TIMEOUT_MS counts from the end of the request.
        conn = HTTPConnection(host, port)
        try:
            try:
                conn.putrequest(self.command, target, skip_host=True, skip_accept_encoding=True)
                for name, value in headers:
                    conn.putheader(name, value)
                conn.endheaders()
                for piece in self.body_pieces():
                    conn.send(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
                if chunked:
                    conn.send(b"0\r\n\r\n")
                # The request is sent: now the socket timeout bounds the wait for the response headers.
                conn.sock.settimeout(TIMEOUT_S)
                resp = conn.getresponse()
            except (socket.timeout, TimeoutError):
                self.close_connection = True
                return self.own_answer(504, "the backend did not answer in time\n")
            except (OSError, HTTPException) as err:
                self.close_connection = True
                return self.own_answer(502, "the backend failed: %s\n" % err)
            if conn.sock is not None:
                conn.sock.settimeout(None)  # headers arrived: the body may take its time
            self.relay(resp)
        finally:
            conn.close()

    def relay(self, resp):
        items = end_to_end(resp.getheaders())
        has_length = any(n.lower() == "content-length" for n, _ in items)
        no_body = self.command == "HEAD" or resp.status in (204, 304) or 100 <= resp.status < 200
        chunk = not has_length and not no_body
        self.send_response_only(resp.status, resp.reason)
        for name, value in items:
            self.send_header(name, value)
        if chunk:
            self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        try:
            while True:
                piece = resp.read1(PIECE)
                if not piece:
                    break
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece) if chunk else piece)
            if chunk:
                self.wfile.write(b"0\r\n\r\n")
        except (OSError, HTTPException):
            self.close_connection = True  # the backend or the client broke off mid-body

    def tunnel(self, host, port, target, headers):
        """A WebSocket upgrade: the handshake to the backend with Connection/Upgrade kept, its answer back, then
        bytes both ways until one side closes."""
        self.close_connection = True  # this connection is the tunnel's, never another request's
        headers = headers + [("Connection", "Upgrade"), ("Upgrade", self.headers.get("Upgrade"))]
        head = "%s %s HTTP/1.1\r\n" % (self.command, target)
        head += "".join("%s: %s\r\n" % (n, v) for n, v in headers) + "\r\n"
        try:
            upstream = socket.create_connection((host, port))
        except OSError as err:
            return self.own_answer(502, "the backend failed: %s\n" % err)
        try:
            upstream.sendall(head.encode("latin-1"))
            upstream.settimeout(TIMEOUT_S)
            data = b""
            while b"\r\n\r\n" not in data:
                piece = upstream.recv(PIECE)
                if not piece:
                    raise ConnectionError("the backend closed the connection before answering")
                data += piece
            upstream.settimeout(None)
        except (socket.timeout, TimeoutError):
            upstream.close()
            return self.own_answer(504, "the backend did not answer the upgrade in time\n")
        except OSError as err:
            upstream.close()
            return self.own_answer(502, "the backend failed: %s\n" % err)
        response_head, rest = data.split(b"\r\n\r\n", 1)
        lines = response_head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ")[1])
        if status == 101:
            # The 101 as the backend sent it (Upgrade, Connection, Sec-WebSocket-Accept, Sec-WebSocket-Protocol).
            self.wfile.write(response_head + b"\r\n\r\n" + rest)
        else:
            # A refusal (403...) is a plain response: hop-by-hop headers dropped; its body is copied as it comes
            # (Transfer-Encoding kept, the bytes are the backend's own framing) until the backend closes.
            items = [tuple(x.strip() for x in line.split(":", 1)) for line in lines[1:] if ":" in line]
            kept = end_to_end(items) + [(n, v) for n, v in items if n.lower() == "transfer-encoding"]
            out = lines[0] + "\r\n" + "".join("%s: %s\r\n" % (n, v) for n, v in kept) + "Connection: close\r\n\r\n"
            self.wfile.write(out.encode("latin-1") + rest)
            try:
                while True:
                    piece = upstream.recv(PIECE)
                    if not piece:
                        break
                    self.wfile.write(piece)
            except OSError:
                pass
            upstream.close()
            return
        client = self.connection

        def backend_to_client():
            try:
                while True:
                    piece = upstream.recv(PIECE)
                    if not piece:
                        break
                    client.sendall(piece)
                client.shutdown(socket.SHUT_WR)  # the backend ended: end the client's side too
            except OSError:
                hard_close(client)  # reset or broken: cut the client at once (this also wakes the other thread)

        copier = threading.Thread(target=backend_to_client, daemon=True)
        copier.start()
        try:
            while True:
                # read1: what the request's buffered reader already holds first, then the socket.
                piece = self.rfile.read1(PIECE)
                if not piece:
                    break
                upstream.sendall(piece)
            upstream.shutdown(socket.SHUT_WR)  # the client ended: end the backend's side too
        except (OSError, ValueError):
            hard_close(upstream)
        copier.join(5)
        hard_close(upstream)
        upstream.close()

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = proxy

    def log_message(self, fmt, *args):
        sys.stdout.write("%s %s\n" % (self.address_string(), fmt % args))


def hard_close(sock):
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 64


if __name__ == "__main__":
    print("listening on http://localhost:%d, routes: %s" % (PORT, ", ".join("%s -> %s" % (r[0], r[3]) for r in ROUTES)))
    Server(("0.0.0.0", PORT), Proxy).serve_forever()
