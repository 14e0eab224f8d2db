# jwt-auth with Python's standard library only, written from the lab's README. The stdlib has no RSA, but
# RS256 is short with Python's big integers: read the PKCS#8 key with a small DER reader, sign with
# pow(m, d, n) over the EMSA-PKCS1-v1_5 encoding of the SHA-256 digest (RFC 8017), verify with pow(s, e, n).
# (Fine for learning how it works; in production use a vetted library: PyJWT with cryptography.)
# On http.server's ThreadingHTTPServer with its defaults (listen backlog 5, HTTP/1.0 responses).
import urllib.parse
import base64
import hashlib
import hmac
import json
import os
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

# --- RSA from the PEM key ----------------------------------------------------------------------------


def der_read(data, pos):
    """One DER element at `pos`: (tag, value bytes, position after it)."""
    tag, length = data[pos], data[pos + 1]
    pos += 2
    if length & 0x80:  # long form: the next (length & 0x7f) bytes hold the length
        count = length & 0x7F
        length = int.from_bytes(data[pos:pos + count], "big")
        pos += count
    return tag, data[pos:pos + length], pos + length


def der_sequence(data):
    """The elements of a DER SEQUENCE's contents."""
    items, pos = [], 0
    while pos < len(data):
        tag, value, pos = der_read(data, pos)
        items.append((tag, value))
    return items


def load_private_key(pem):
    body = "".join(line for line in pem.strip().splitlines() if not line.startswith("-----"))
    _, pkcs8, _ = der_read(base64.b64decode(body), 0)
    # PrivateKeyInfo: version, AlgorithmIdentifier (rsaEncryption), OCTET STRING holding RSAPrivateKey
    _, _, (_, rsa_der) = der_sequence(pkcs8)[:3]
    _, rsa, _ = der_read(rsa_der, 0)
    ints = [int.from_bytes(v, "big") for tag, v in der_sequence(rsa) if tag == 0x02]
    _, n, e, d = ints[:4]
    return n, e, d


N, E, D = load_private_key(os.environ["JWT_PRIVATE_KEY"])
K = (N.bit_length() + 7) // 8
SHA256_DIGEST_INFO = bytes.fromhex("3031300d060960864801650304020105000420")


def emsa_pkcs1_v15(message):
    t = SHA256_DIGEST_INFO + hashlib.sha256(message).digest()
    return b"\x00\x01" + b"\xff" * (K - len(t) - 3) + b"\x00" + t


def rs256_sign(message):
    return pow(int.from_bytes(emsa_pkcs1_v15(message), "big"), D, N).to_bytes(K, "big")


def rs256_verify(message, signature):
    if len(signature) != K or int.from_bytes(signature, "big") >= N:
        return False
    em = pow(int.from_bytes(signature, "big"), E, N).to_bytes(K, "big")
    return hmac.compare_digest(em, emsa_pkcs1_v15(message))


# --- tokens ------------------------------------------------------------------------------------------

KID = os.environ["JWT_KID"]
ISSUER = os.environ["JWT_ISSUER"]
AUDIENCE = os.environ["JWT_AUDIENCE"]
TTL = int(os.environ["ACCESS_TOKEN_TTL_SECONDS"])
USERS = {u["username"]: u for u in json.loads(os.environ["USERS"])}
refresh_tokens = {}  # opaque token -> username; used once
lock = threading.Lock()


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text):
    if not isinstance(text, str) or not all(c.isalnum() or c in "-_" for c in text):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def issue(username):
    now = int(time.time())
    header = {"alg": "RS256", "typ": "JWT", "kid": KID}
    claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": username, "roles": USERS[username].get("roles", []), "iat": now, "exp": now + TTL, "jti": secrets.token_hex(8)}
    signing_input = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(claims).encode())}"
    access = f"{signing_input}.{b64url(rs256_sign(signing_input.encode()))}"
    refresh = secrets.token_urlsafe(32)
    with lock:
        refresh_tokens[refresh] = username
    return {"access_token": access, "token_type": "Bearer", "expires_in": TTL, "refresh_token": refresh}


def verify(token):
    """The claims of a valid access token, or None. Only RS256, only our kid, keys in the token ignored."""
    try:
        h, p, s = token.split(".")
        header, claims = json.loads(b64url_decode(h)), json.loads(b64url_decode(p))
        signature = b64url_decode(s)
    except ValueError:
        return None
    if not isinstance(header, dict) or not isinstance(claims, dict):
        return None
    if header.get("alg") != "RS256" or header.get("kid") != KID:
        return None
    if not rs256_verify(f"{h}.{p}".encode(), signature):
        return None
    now = time.time()
    exp, nbf = claims.get("exp"), claims.get("nbf")
    if isinstance(exp, bool) or not isinstance(exp, (int, float)) or exp <= now:
        return None
    if nbf is not None and (isinstance(nbf, bool) or not isinstance(nbf, (int, float)) or nbf > now + 60):
        return None
    if claims.get("iss") != ISSUER:
        return None
    aud = claims.get("aud")
    if not (aud == AUDIENCE or (isinstance(aud, list) and AUDIENCE in aud)):
        return None
    return claims


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

    def send(self, status, body, headers=()):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def unauthorized(self, why):
        self.send(401, {"error": why}, [("WWW-Authenticate", 'Bearer realm="api", error="invalid_token"')])

    def json_body(self):
        try:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
        except ValueError:
            return {}
        return body if isinstance(body, dict) else {}

    def do_GET(self):
        path = urlsplit(self.path).path
        if path == "/.well-known/jwks.json":
            key = {"kty": "RSA", "kid": KID, "use": "sig", "alg": "RS256", "n": b64url(N.to_bytes(K, "big")), "e": b64url(E.to_bytes((E.bit_length() + 7) // 8, "big"))}
            return self.send(200, {"keys": [key]})
        if path not in ("/me", "/admin/users"):
            return self.send(404, {"error": "not found"})
        scheme, _, token = (self.headers.get("Authorization") or "").partition(" ")
        claims = verify(token.strip()) if scheme.lower() == "bearer" else None
        if claims is None:
            return self.unauthorized("a valid access token is required")
        if path == "/me":
            return self.send(200, {"sub": claims.get("sub"), "roles": claims.get("roles")})
        roles = claims.get("roles")
        if not isinstance(roles, list) or "admin" not in roles:
            return self.send(403, {"error": "the admin role is required"})
        self.send(200, {"users": list(USERS)})

    def do_POST(self):
        path = urlsplit(self.path).path
        body = self.json_body()
        if path == "/login":
            user = USERS.get(body.get("username")) if isinstance(body.get("username"), str) else None
            password = body.get("password")
            if user is None or not isinstance(password, str) or not hmac.compare_digest(user["password"].encode(), password.encode()):
                return self.send(401, {"error": "wrong username or password"})
            return self.send(200, issue(user["username"]))
        if path == "/refresh":
            token = body.get("refresh_token")
            with lock:
                username = refresh_tokens.pop(token, None) if isinstance(token, str) else None
            if username is None:
                return self.send(401, {"error": "unknown or used refresh token"})
            return self.send(200, issue(username))
        self.send(404, {"error": "not found"})


if __name__ == "__main__":
    server = ThreadingHTTPServer(("0.0.0.0", int(os.environ["PORT"])), Handler)
    print(f"listening on {server.server_address[1]}")
    server.serve_forever()
