"""A product origin behind Gatehouse, in Python with the standard library only.

Run it, then Gatehouse in front of it (docs/integrate.md):

    python3 examples/python-origin/origin.py            # listens on http://localhost:5000
    ORIGIN_URL=http://localhost:5000 ASSERTION_AUDIENCE=my-app npm start

Settings (environment): PORT (5000; 0 picks a free port), GATEHOUSE_URL (where this server
reaches Gatehouse, http://localhost:8787), GATEHOUSE_PATH (/_gatehouse), ASSERTION_AUDIENCE
(my-app), ASSERTION_ISSUER (gatehouse), PRODUCT_API_TOKEN (one of Gatehouse's
PRODUCT_API_TOKENS; without it the delete route answers 501).

Routes:
    GET  /                  a page: who is signed in, a delete button, a sign-out form
    GET  /whoami            the verified claims and the proxy headers Gatehouse sent (JSON)
    POST /notes/<id>/delete step-up NOTE_DELETE through Gatehouse's product API, then the
                            app.note.deleted audit event; a 428 goes back to the browser as is

The identity assertion (the Gatehouse-Jwt-Assertion header) is the only thing this server
trusts about the caller. It is verified here by hand, as any verifier that is not built on
jose must: ES256 only (never the token's own choice), a key of Gatehouse's JWKS by `kid`,
`iss`, `aud`, `exp`, and an `iat` at most 60 s old whatever `exp` says, each with 5 s of
clock skew. A JWKS that cannot be read is 503, never "anonymous". Use a maintained JWT
library where you can (PyJWT with `cryptography` does the same checks, given
`algorithms=["ES256"]`, `issuer`, `audience`, `leeway=5` and the `iat` age check below); this
file carries its own P-256 verification only so that it runs with nothing installed.
"""

import base64
import hashlib
import html
import json
import os
import re
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ASSERTION_HEADER = "Gatehouse-Jwt-Assertion"
MAX_AGE_SECONDS = 60  # Gatehouse signs an assertion for at most this long
CLOCK_SKEW_SECONDS = 5  # allowed between Gatehouse's clock and this server's
JWKS_MAX_AGE_SECONDS = 300  # Gatehouse's JWKS Cache-Control max-age
JWKS_REFETCH_COOLDOWN_SECONDS = 30  # an unknown kid refetches at most this often

GATEHOUSE_URL = os.environ.get("GATEHOUSE_URL", "http://localhost:8787").rstrip("/")
GATEHOUSE_PATH = os.environ.get("GATEHOUSE_PATH", "/_gatehouse")
AUDIENCE = os.environ.get("ASSERTION_AUDIENCE", "my-app")
ISSUER = os.environ.get("ASSERTION_ISSUER", "gatehouse")
PRODUCT_API_TOKEN = os.environ.get("PRODUCT_API_TOKEN", "")

# --- ECDSA P-256 (FIPS 186-4) verification: public values only, so no constant-time need ---
P = 0xFFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFF
A = P - 3
B = 0x5AC635D8AA3A93E7B3EBBD55769886BC651D06B0CC53B0F63BCE3C3E27D2604B
N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
G = (0x6B17D1F2E12C4247F8BCE6E563A440F277037D812DEB33A0F4A13945D898C296,
     0x4FE342E2FE1A7F9B8EE7EB4A7C0F9E162BCE33576B315ECECBB6406837BF51F5)


def _add(p1, p2):
    if p1 is None:
        return p2
    if p2 is None:
        return p1
    (x1, y1), (x2, y2) = p1, p2
    if x1 == x2:
        if (y1 + y2) % P == 0:
            return None
        slope = (3 * x1 * x1 + A) * pow(2 * y1, -1, P) % P
    else:
        slope = (y2 - y1) * pow(x2 - x1, -1, P) % P
    x3 = (slope * slope - x1 - x2) % P
    return (x3, (slope * (x1 - x3) - y1) % P)


def _mul(k, point):
    result = None
    while k:
        if k & 1:
            result = _add(result, point)
        point = _add(point, point)
        k >>= 1
    return result


def _on_curve(x, y):
    return 0 <= x < P and 0 <= y < P and (y * y - (x * x * x + A * x + B)) % P == 0


def es256_verify(jwk, signing_input: bytes, signature: bytes) -> bool:
    if jwk.get("kty") != "EC" or jwk.get("crv") != "P-256" or len(signature) != 64:
        return False
    x, y = int.from_bytes(b64url(jwk["x"]), "big"), int.from_bytes(b64url(jwk["y"]), "big")
    r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
    if not _on_curve(x, y) or not (1 <= r < N and 1 <= s < N):
        return False
    e = int.from_bytes(hashlib.sha256(signing_input).digest(), "big")
    w = pow(s, -1, N)
    point = _add(_mul(e * w % N, G), _mul(r * w % N, (x, y)))
    return point is not None and point[0] % N == r


def b64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


# --- Gatehouse's JWKS, cached; refetched for an unknown kid (key rotation) ---
class JwksUnavailable(Exception):
    pass


class Jwks:
    def __init__(self, url):
        self.url, self.keys, self.fetched_at, self.lock = url, {}, None, threading.Lock()

    def _fetch(self):
        try:
            with urllib.request.urlopen(self.url, timeout=5) as res:
                document = json.load(res)
            self.keys = {k["kid"]: k for k in document["keys"] if "kid" in k}
            self.fetched_at = time.monotonic()
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise JwksUnavailable(str(error)) from error

    def key(self, kid):
        with self.lock:
            age = None if self.fetched_at is None else time.monotonic() - self.fetched_at
            if age is None or age > JWKS_MAX_AGE_SECONDS or (kid not in self.keys and age > JWKS_REFETCH_COOLDOWN_SECONDS):
                self._fetch()
            return self.keys.get(kid)


JWKS = Jwks(f"{GATEHOUSE_URL}{GATEHOUSE_PATH}/.well-known/jwks.json")


class Refused(Exception):
    def __init__(self, status, error, message):
        super().__init__(message)
        self.status, self.body = status, {"error": error, "message": message}


def verify_assertion(token, now=None):
    """The verified claims, or Refused (401 for a bad token, 503 when the JWKS cannot be read)."""
    def bad(why):
        return Refused(401, "UNAUTHORIZED", f"The identity assertion {why}")
    if not token or len(token) > 8192 or token.count(".") != 2:
        raise bad("is missing or malformed")
    now = time.time() if now is None else now
    head_b64, payload_b64, signature_b64 = token.split(".")
    try:
        header, claims = json.loads(b64url(head_b64)), json.loads(b64url(payload_b64))
        signature = b64url(signature_b64)
    except ValueError:
        raise bad("is malformed")
    if not isinstance(header, dict) or not isinstance(claims, dict) or header.get("alg") != "ES256":
        raise bad("is not ES256")  # never the token's own choice of algorithm
    try:
        jwk = JWKS.key(header.get("kid"))
    except JwksUnavailable:
        raise Refused(503, "IDENTITY_UNAVAILABLE", "Cannot verify identity right now")
    if jwk is None or not es256_verify(jwk, f"{head_b64}.{payload_b64}".encode(), signature):
        raise bad("has no valid signature")
    audience = claims.get("aud")
    if claims.get("iss") != ISSUER or (audience != AUDIENCE and not (isinstance(audience, list) and AUDIENCE in audience)):
        raise bad("is for another issuer or audience")
    exp, iat = claims.get("exp"), claims.get("iat")
    if not isinstance(exp, (int, float)) or not isinstance(iat, (int, float)):
        raise bad("has no exp or iat")
    if exp <= now - CLOCK_SKEW_SECONDS:
        raise bad("has expired")
    # The iat age, checked by hand: at most 60 s old (plus the skew), whatever exp says.
    if now - iat > MAX_AGE_SECONDS + CLOCK_SKEW_SECONDS or iat > now + CLOCK_SKEW_SECONDS:
        raise bad("is too old, or from the future")
    if not all(isinstance(claims.get(name), str) and claims[name] for name in ("sub", "tid", "sid", "jti")):
        raise bad("lacks required claims")
    return claims


def product_api(path, assertion, body):
    """POST to Gatehouse's product API as this server (never a browser): (status, answer)."""
    request = urllib.request.Request(
        f"{GATEHOUSE_URL}{GATEHOUSE_PATH}/api/product/{path}",
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Authorization": f"Bearer {PRODUCT_API_TOKEN}", ASSERTION_HEADER: assertion, "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as res:
            return res.status, json.load(res)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


# The signed-in page: a delete that needs step-up (sent with Gatehouse's client module, which
# opens the step-up dialog on a 428 and retries), and a sign-out form.
PAGE = """<!doctype html><meta charset="utf-8"><title>My app</title>
<p>Signed in as {name}. <a href="/whoami">/whoami</a></p>
<button id="delete">Delete note n1</button> <output id="result"></output>
<form method="post" action="{gatehouse}/sign-out"><button>Sign out</button></form>
<script type="module">
  import { gatehouseFetch } from "{gatehouse}/client.js";
  document.getElementById("delete").onclick = async () => {
    const res = await gatehouseFetch("/notes/n1/delete", { method: "POST" });
    document.getElementById("result").textContent = `${res.status} ${await res.text()}`;
  };
</script>
"""

PROXY_HEADERS = ("CF-Connecting-IP", "X-Forwarded-For", "X-Real-IP", "X-Forwarded-Host", "X-Forwarded-Proto", "Forwarded")


class Origin(BaseHTTPRequestHandler):
    def answer(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def page(self, claims):
        name = html.escape(claims["name"])
        body = PAGE.replace("{name}", name).replace("{gatehouse}", GATEHOUSE_PATH).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def identity(self):
        return verify_assertion(self.headers.get(ASSERTION_HEADER))

    def do_GET(self):
        try:
            if self.path == "/":
                return self.page(self.identity())
            if self.path == "/whoami":
                received = {name.lower(): self.headers.get(name) for name in PROXY_HEADERS}
                return self.answer(200, {"claims": self.identity(), "received": received})
            self.answer(404, {"error": "NOT_FOUND", "message": "No such page"})
        except Refused as refusal:
            self.answer(refusal.status, refusal.body)

    def do_POST(self):
        try:
            deletion = re.fullmatch(r"/notes/([\w-]+)/delete", self.path)
            if not deletion:
                return self.answer(404, {"error": "NOT_FOUND", "message": "No such page"})
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            claims, assertion = self.identity(), self.headers.get(ASSERTION_HEADER)
            if not PRODUCT_API_TOKEN:
                return self.answer(501, {"error": "NOT_CONFIGURED", "message": "Set PRODUCT_API_TOKEN"})
            status, step_up = product_api("step-up", assertion, {"purpose": "NOTE_DELETE"})
            if status != 200:  # 428: client.js opens Gatehouse's step-up dialog and retries
                return self.answer(status, step_up)
            event = {"action": "app.note.deleted", "outcome": "SUCCESS", "targetType": "note", "targetId": deletion[1]}
            if self.headers.get("X-Forwarded-For"):
                event["ip"] = self.headers["X-Forwarded-For"]
            status, recorded = product_api("audit-events", assertion, event)
            if status != 200:
                return self.answer(503, {"error": "AUDIT_UNAVAILABLE", "message": "Not deleted: the audit log did not take it"})
            self.answer(200, {"deleted": deletion[1], "by": claims["sub"], "audit": {"id": recorded["id"], "seq": recorded.get("seq")}})
        except Refused as refusal:
            self.answer(refusal.status, refusal.body)

    def log_message(self, format, *args):  # one line per request, never the assertion
        print(f"{self.command} {self.path} {args[1] if len(args) > 1 else ''}", flush=True)


if __name__ == "__main__":
    server = ThreadingHTTPServer(("127.0.0.1", int(os.environ.get("PORT", "5000"))), Origin)
    print(f"listening on http://localhost:{server.server_address[1]}", flush=True)
    server.serve_forever()
