#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""csc_sim: a strict local stand-in for the remote seal service (csc-v2).

It speaks the subset of the Cloud Signature Consortium API v2 that
docs/authorities.md section 1 describes (info, credentials/info,
credentials/authorize, signatures/signHash, and an OAuth 2.0 token endpoint
at /oauth2/token) as the v2.0.0.2 text, the CZERTAINLY server and the eudi
client have them, over HTTPS with TLS client authentication, verifies the
detached JWS request signature (X-Request-Signature, ours, not CSC's)
against the TLS client certificate, signs
with its own stamp key and counts signatures per credential and calendar
month (UTC). Every check is made with Python's ssl module and the
`cryptography` library, never with sealgate's code.

Sub-commands:
  init          --state DIR [--stamp-key rsa|ec]
  issue-client  --state DIR --csr FILE --out FILE [--days N] [--allow CRED]...
  serve         --state DIR [--host 127.0.0.1] [--port N] [--ready-file FILE]
                [--fail-rate F] [--delay-ms N] [--close-after N]
                [--fail-status S] [--no-request-signature] [--require-token]

Files in DIR: server-ca.pem/.key, server.pem/.key (127.0.0.1, ::1,
localhost), client-ca.pem/.key (issues interface certificates),
stamp-ca.pem/.key, stamp.pem/.key (credential org-stamp-1: RSA-2048 or
P-256, C=FI, O=Example Oy, CN=Example Oy stamp, nonRepudiation +
digitalSignature, 2 years), credentials.json ({"CRED":{"allowed_clients":
[RFC 4514 subject, ...]}}, optionally "key", "cert", "chain" file names;
re-read when it changes), counts.json ({"YYYY-MM":{"CRED":N}}, written
atomically), issued/<serial>.pem. init keeps whatever already exists.

TLS: 1.2 and 1.3. A client certificate is requested (CERT_OPTIONAL) so the
/sim/ interface works without one; one that is presented must chain to
client-ca.pem with the ssl_client purpose (clientAuth EKU), otherwise the
handshake fails (an alert; recorded at /sim/requests as
tls_handshake_failed). Without a certificate /csc/v2/* answers 401
invalid_client.

credentials.json entries may also set "algos" (key/algo), "key_status",
"cert_status", "auth_mode" (implicit, explicit with "pin", oauth2code) and
"scal"; docs/authorities.md lists what each endpoint takes and answers.

Order of checks on POST /csc/v2/{credentials/info,credentials/authorize,signatures/signHash}
(info needs no client certificate; --require-token adds a bearer token check
after the client certificate):
framing (Content-Length or chunked, body <= 1 MiB else 413) -> client
certificate (401 invalid_client) -> faults close_after, delay_ms -> request
signature (401 invalid_request) -> Content-Type application/json (400) ->
strict JSON object, no unknown or duplicate members, types (400) ->
credentialID known (400) -> client's subject in allowed_clients (403
access_denied) -> parameters (400) -> fault fail_rate (signHash only) ->
sign, count, answer. Errors are {"error","error_description"}.

Request signature: X-Request-Signature = b64url(header) + ".." +
b64url(signature), base64url without padding, payload part empty; the
signing input is b64url(header) + "." + b64url(exact body bytes) (RFC 7515
appendix F). Header: "alg" RS256 (RSA key) or ES256 (P-256 key; the
signature is the 64-byte r||s), "x5c" [standard base64 DER, ...] whose
first element is byte-identical to the TLS client certificate; "crit" and
"b64" other than true are refused. Required unless --no-request-signature
(then it is still checked when present).

Faults (command line or POST /sim/faults, changeable at run time):
  fail_rate F    that share of otherwise valid signHash calls answer
                 fail_status (default 500) {"error":"server_error"}; nothing
                 is signed or counted.
  delay_ms N     every CSC call sleeps N ms after its body is read; if the
                 client has closed the connection by then the request is
                 abandoned (no answer, nothing signed or counted).
  close_after N  the Nth, 2Nth, ... CSC call (with a valid client
                 certificate, counted from when the setting was made) is read
                 and then the connection is closed without any answer and
                 without TLS close_notify (curl: "Empty reply from server");
                 the drop comes before any check or signature, so nothing is
                 counted. null or 0 switches it off.

Test interface (same origin, no client certificate needed):
  GET  /sim/health                    {"status":"ok"}
  GET  /sim/counts[?month=YYYY-MM]    {"month","counts":{"org-stamp-1":N}}
  GET  /sim/requests                  {"requests":[... last 100, oldest first ...]}
  POST /sim/reset-requests            forget the captured requests
  GET  /sim/faults                    the fault settings
  POST /sim/expire-tokens             every access token issued so far expires
  POST /sim/faults  {"fail_rate","delay_ms","close_after","fail_status",
                     "ec_encoding","bad_answer","info_methods","info_auth_type",
                     "token_ttl_s"}
                                      (members given are changed, others kept)
  POST /sim/reset-counts              all counts to zero (persisted)
  GET  /sim/service                   {"requests":N,"seconds":S}: /csc/v2/ requests answered
                                      and the time spent in them, from the parsed request
                                      to the answer sent (TLS and HTTP parsing excluded)
"""

import argparse
import base64
import binascii
import http
import json
import os
import random
import re
import select
import sys
import threading
import time
from urllib.parse import parse_qs

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import (
    Prehashed, decode_dss_signature, encode_dss_signature)
from cryptography.x509.oid import NameOID

import simcommon
from simcommon import (Fatal, add_issue_client_arguments, add_serve_arguments, atomic_write,
                       build_cert, cert_not_after, cert_not_before, check_listen_address,
                       client_csr, days_from_now, die, dump_json, ensure_ca, ensure_leaf,
                       init_tls_state, iso_utc, issue_client_cert, ku, listen, load_cert, load_key,
                       log, name_from, require_state, run_command, serve_until_signal,
                       server_tls_context, utcnow)

PROG = "csc_sim"
simcommon.set_prog(PROG)
MAX_BODY = 1024 * 1024          # request bodies
CAPTURE_MAX = 100               # requests kept for /sim/requests
CAPTURE_BODY_MAX = 64 * 1024    # body bytes kept per captured request
MAX_HASHES = 100                # signHash: 1..MAX_HASHES hashes per call (multisign)
DEFAULT_CREDENTIAL = "org-stamp-1"

# Hash algorithm OID -> (name, hash class, digest length)
HASH_OIDS = {
    "2.16.840.1.101.3.4.2.1": ("sha256", hashes.SHA256, 32),
    "2.16.840.1.101.3.4.2.2": ("sha384", hashes.SHA384, 48),
    "2.16.840.1.101.3.4.2.3": ("sha512", hashes.SHA512, 64),
}
# signAlgo OID -> hash OID it implies, per key type (what credentials/info lists)
SIGN_ALGOS = {
    "rsa": {
        "1.2.840.113549.1.1.11": "2.16.840.1.101.3.4.2.1",   # sha256WithRSAEncryption
        "1.2.840.113549.1.1.12": "2.16.840.1.101.3.4.2.2",   # sha384WithRSAEncryption
        "1.2.840.113549.1.1.13": "2.16.840.1.101.3.4.2.3",   # sha512WithRSAEncryption
    },
    "ec": {
        "1.2.840.10045.4.3.2": "2.16.840.1.101.3.4.2.1",     # ecdsa-with-SHA256
        "1.2.840.10045.4.3.3": "2.16.840.1.101.3.4.2.2",     # ecdsa-with-SHA384
        "1.2.840.10045.4.3.4": "2.16.840.1.101.3.4.2.3",     # ecdsa-with-SHA512
    },
}
# Algorithms that name no hash: signHash needs hashAlgorithmOID with them
# (CSC v2.0.0.2 11.9; the spec's own samples send rsaEncryption so, and the
# eudi-lib-jvm-rqes-csc-kt tests list only 1.2.840.113549.1.1.1 in key/algo).
RSA_ENCRYPTION = "1.2.840.113549.1.1.1"
RSASSA_PSS = "1.2.840.113549.1.1.10"
EC_PUBLIC_KEY = "1.2.840.10045.2.1"
HASHLESS_ALGOS = {"rsa": [RSA_ENCRYPTION, RSASSA_PSS], "ec": [EC_PUBLIC_KEY]}
CSC_METHODS = ["info", "credentials/info", "credentials/authorize", "signatures/signHash"]
SAD_TTL_S = 300
CURVE_OIDS = {"secp256r1": "1.2.840.10045.3.1.7", "secp384r1": "1.3.132.0.34",
              "secp521r1": "1.3.132.0.35"}
REDACT_HEADER = re.compile(r"authorization|cookie|token|secret|password|passwd|api-?key", re.I)
B64URL_RE = re.compile(r"[A-Za-z0-9_-]*")
MONTH_RE = re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])")


# ---------------------------------------------------------------- files

def strict_json(data):
    """simcommon.strict_json, refusing a byte order mark as well."""
    if isinstance(data, bytes) and data.startswith(b"\xef\xbb\xbf"):
        raise ValueError("byte order mark before the JSON text")
    return simcommon.strict_json(data)


def read_json_file(path):
    with open(path, "rb") as f:
        return strict_json(f.read())


def key_type(key):
    if isinstance(key, (rsa.RSAPrivateKey, rsa.RSAPublicKey)):
        return "rsa"
    if isinstance(key, (ec.EllipticCurvePrivateKey, ec.EllipticCurvePublicKey)):
        return "ec"
    return "other"


# ---------------------------------------------------------------- init

def new_key(kind):
    if kind == "ec":
        return ec.generate_private_key(ec.SECP256R1())
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def cmd_init(args):
    d = args.state
    test_o = (NameOID.ORGANIZATION_NAME, "csc-sim test")
    init_tls_state(d, [test_o], "csc-sim", "csc-sim client CA")

    ckey, ccert = ensure_ca(d, "stamp-ca", name_from([(NameOID.COUNTRY_NAME, "FI"), test_o,
                                                         (NameOID.COMMON_NAME, "csc-sim stamp CA")]))
    existing = os.path.join(d, "stamp.key")
    if os.path.exists(existing) and args.stamp_key:
        have = key_type(load_key(existing))
        if have != args.stamp_key:
            print("%s: init: keeping the existing %s stamp key (remove %s to make a new one)"
                  % (PROG, have.upper(), existing), file=sys.stderr)
    ensure_leaf(d, "stamp", ckey, ccert, lambda: new_key(args.stamp_key or "rsa"), lambda pub: build_cert(
        name_from([(NameOID.COUNTRY_NAME, "FI"), (NameOID.ORGANIZATION_NAME, "Example Oy"),
                   (NameOID.COMMON_NAME, "Example Oy stamp")]),
        pub, ccert, ckey, *days_from_now(730), ca=False, key_usage=ku(sign=True, nonrep=True)))

    creds = os.path.join(d, "credentials.json")
    if not os.path.exists(creds):
        atomic_write(creds, dump_json({DEFAULT_CREDENTIAL: {"allowed_clients": []}}))
    counts = os.path.join(d, "counts.json")
    if not os.path.exists(counts):
        atomic_write(counts, dump_json({}))
    return 0


# ---------------------------------------------------------------- issue-client

def accept_client_key(pub):
    """issue-client's key rule: RSA of 2048 bits or more, or EC on P-256,
    P-384 or P-521."""
    if isinstance(pub, rsa.RSAPublicKey):
        if pub.key_size < 2048:
            die("issue-client: RSA key of %d bits (2048 or more required)" % pub.key_size)
    elif isinstance(pub, ec.EllipticCurvePublicKey):
        if pub.curve.name not in CURVE_OIDS:
            die("issue-client: EC curve %s not accepted (P-256, P-384, P-521)" % pub.curve.name)
    else:
        die("issue-client: only RSA and EC keys are accepted")


def cmd_issue_client(args):
    d = args.state
    ca_key, ca_cert, csr, pub = client_csr(args, accept_client_key)
    subject = csr.subject.rfc4514_string()

    creds_path = os.path.join(d, "credentials.json")
    creds = None
    if args.allow:
        try:
            creds = read_json_file(creds_path)
        except (OSError, ValueError) as e:
            die("issue-client: %s: %s" % (creds_path, e))
        for c in args.allow:
            if c not in creds:
                die("issue-client: unknown credential %s" % c)

    issue_client_cert(args, ca_key, ca_cert, csr, pub)
    if creds is not None:
        for c in args.allow:
            allowed = creds[c].setdefault("allowed_clients", [])
            if subject not in allowed:
                allowed.append(subject)
        atomic_write(creds_path, dump_json(creds))
    print(subject)
    return 0


# ---------------------------------------------------------------- serve: state

class HttpError(Exception):
    def __init__(self, status, code, desc, headers=None):
        super().__init__(desc)
        self.status, self.code, self.desc, self.headers = status, code, desc, headers or {}


def bad(desc):
    return HttpError(400, "invalid_request", desc)


class Credential:
    def __init__(self, cid, key, cert, chain, allowed, entry):
        self.id, self.key, self.cert, self.chain, self.allowed = cid, key, cert, chain, allowed
        self.kind = key_type(key)
        self.algos = SIGN_ALGOS[self.kind]
        # What credentials/info lists in key/algo (default: the OID forms
        # that name their hash); "algos" in credentials.json replaces it.
        self.listed = list(entry.get("algos", list(self.algos)))
        self.key_status = entry.get("key_status", "enabled")
        self.cert_status = entry.get("cert_status")      # None: from the validity dates
        self.auth_mode = entry.get("auth_mode", "implicit")
        self.scal = entry.get("scal", "1")
        self.pin = entry.get("pin")
        for a in self.listed:
            if a not in self.algos and a not in HASHLESS_ALGOS[self.kind]:
                raise ValueError("credential %s: algo %s does not fit its %s key" % (cid, a, self.kind))
        if self.key_status not in ("enabled", "disabled"):
            raise ValueError("credential %s: key_status is enabled or disabled" % cid)
        if self.cert_status not in (None, "valid", "expired", "revoked", "suspended"):
            raise ValueError("credential %s: cert_status is valid, expired, revoked or suspended" % cid)
        if self.auth_mode not in ("implicit", "explicit", "oauth2code"):
            raise ValueError("credential %s: auth_mode is implicit, explicit or oauth2code" % cid)
        if self.scal not in ("1", "2"):
            raise ValueError("credential %s: scal is \"1\" or \"2\"" % cid)
        if self.auth_mode == "explicit" and not isinstance(self.pin, str):
            raise ValueError("credential %s: auth_mode explicit needs a pin" % cid)


class Sim:
    """Everything the handlers share; one lock guards the mutable parts
    (the request log has its own)."""

    def __init__(self, args):
        self.dir = args.state
        self.require_jws = not args.no_request_signature
        self.lock = threading.Lock()
        self.faults = {"fail_rate": args.fail_rate, "delay_ms": args.delay_ms,
                       "close_after": args.close_after or None, "fail_status": args.fail_status,
                       "ec_encoding": "der", "bad_answer": None, "info_methods": None,
                       "info_auth_type": None, "token_ttl_s": 3600}
        self.sads = {}          # SAD -> {"cred","left","hashes","expires"}
        self.require_token = args.require_token
        self.tokens = {}        # access token -> (client subject, expires)
        self.token_ttl = 3600
        self.jtis = set()
        self.close_seen = 0
        self.requests = simcommon.RequestLog(CAPTURE_MAX)
        self.material = {}      # path -> (mtime_ns, size, object)
        self.active = 0
        self.served, self.service_seconds = 0, 0.0
        self.counts_path = os.path.join(self.dir, "counts.json")
        try:
            self.counts = read_json_file(self.counts_path) if os.path.exists(self.counts_path) else {}
        except (OSError, ValueError) as e:
            die("serve: %s: %s" % (self.counts_path, e))
        if not isinstance(self.counts, dict) or not all(
                MONTH_RE.fullmatch(m) and isinstance(v, dict) and
                all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in v.values())
                for m, v in self.counts.items()):
            die("serve: %s: not {\"YYYY-MM\":{\"credential\":N}}" % self.counts_path)
        self.credentials()      # fail at start, not on the first request

    # Files are re-read when they change, so issue-client --allow works on a
    # running simulator.
    def _cached(self, path, loader):
        st = os.stat(path)
        sig = (st.st_mtime_ns, st.st_size, st.st_ino)
        with self.lock:
            hit = self.material.get(path)
            if hit and hit[0] == sig:
                return hit[1]
        obj = loader(path)
        with self.lock:
            self.material[path] = (sig, obj)
        return obj

    def credentials(self):
        path = os.path.join(self.dir, "credentials.json")
        try:
            raw = self._cached(path, read_json_file)
            if not isinstance(raw, dict):
                raise ValueError("not a JSON object")
            out = {}
            for cid, entry in raw.items():
                if not isinstance(entry, dict) or not isinstance(entry.get("allowed_clients", []), list):
                    raise ValueError("credential %s: want {\"allowed_clients\":[subject...]}" % cid)
                rel = lambda name, default: os.path.join(self.dir, entry.get(name, default))
                key = self._cached(rel("key", "stamp.key"), load_key)
                cert = self._cached(rel("cert", "stamp.pem"), load_cert)
                chain = [self._cached(os.path.join(self.dir, p), load_cert)
                         for p in entry.get("chain", ["stamp-ca.pem"])]
                if key_type(key) not in SIGN_ALGOS:
                    raise ValueError("credential %s: key type not supported" % cid)
                out[cid] = Credential(cid, key, cert, chain, list(entry.get("allowed_clients", [])), entry)
            return out
        except (OSError, ValueError, TypeError) as e:
            raise Fatal("serve: %s: %s" % (path, e)) from None

    def count(self, cid, n):
        month = utcnow().strftime("%Y-%m")
        with self.lock:
            per = self.counts.setdefault(month, {})
            per[cid] = per.get(cid, 0) + n
            atomic_write(self.counts_path, dump_json(self.counts))

    def month_counts(self, month, cids):
        with self.lock:
            per = dict(self.counts.get(month, {}))
        out = {c: 0 for c in cids}
        out.update(per)
        return out

    def add_service(self, seconds):
        with self.lock:
            self.served += 1
            self.service_seconds += seconds

    def service_time(self):
        with self.lock:
            return {"requests": self.served, "seconds": round(self.service_seconds, 6)}

    def reset_counts(self):
        with self.lock:
            self.counts = {}
            atomic_write(self.counts_path, dump_json(self.counts))

    def get_faults(self):
        with self.lock:
            return dict(self.faults)

    def set_faults(self, upd):
        with self.lock:
            self.faults.update(upd)
            self.token_ttl = self.faults["token_ttl_s"]
            if "close_after" in upd:
                self.close_seen = 0
            return dict(self.faults)

    def new_token(self, subject):
        tok = b64url(os.urandom(32))
        with self.lock:
            now = time.time()
            self.tokens = {k: v for k, v in self.tokens.items() if v[1] > now}
            self.tokens[tok] = (subject, now + self.token_ttl)
            return tok, self.token_ttl

    def check_token(self, header, subject):
        """Authorization: Bearer TOKEN, issued to this TLS client and not expired."""
        if not header or not header.startswith("Bearer "):
            raise HttpError(401, "invalid_token", "an OAuth 2.0 bearer token is required",
                            {"WWW-Authenticate": "Bearer"})
        with self.lock:
            v = self.tokens.get(header[7:].strip())
        if v is None or v[1] <= time.time():
            raise HttpError(401, "invalid_token", "the access token is unknown or expired",
                            {"WWW-Authenticate": 'Bearer error="invalid_token"'})
        if v[0] != subject:
            raise HttpError(401, "invalid_token", "the access token was issued to another client")

    def new_sad(self, cid, n, hashes):
        sad = b64url(os.urandom(24))
        with self.lock:
            now = time.time()
            self.sads = {k: v for k, v in self.sads.items() if v["expires"] > now}
            self.sads[sad] = {"cred": cid, "left": n, "hashes": hashes, "expires": now + SAD_TTL_S}
        return sad

    def use_sad(self, sad, cid, hashes):
        """Spend len(hashes) of the SAD's signatures; ValueError with the reason."""
        with self.lock:
            v = self.sads.get(sad)
            if v is None or v["expires"] <= time.time():
                raise ValueError("SAD unknown or expired")
            if v["cred"] != cid:
                raise ValueError("SAD was issued for another credential")
            if v["hashes"] is not None and sorted(hashes) != sorted(v["hashes"]):
                raise ValueError("SAD does not authorise these hashes (SCAL 2)")
            if len(hashes) > v["left"]:
                raise ValueError("SAD authorises %d more signatures, not %d" % (v["left"], len(hashes)))
            v["left"] -= len(hashes)
            if v["left"] == 0:
                del self.sads[sad]

    def take_close_after(self):
        """True when this request is the Nth (2Nth, ...) since close_after was set."""
        with self.lock:
            n = self.faults["close_after"]
            if not n:
                return False
            self.close_seen += 1
            return self.close_seen % n == 0


# ---------------------------------------------------------------- JWS

def b64url_decode(s, what):
    if not s or not B64URL_RE.fullmatch(s) or len(s) % 4 == 1:
        raise ValueError("%s is not unpadded base64url" % what)
    data = base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))
    if b64url(data) != s:
        raise ValueError("%s is not canonical base64url" % what)
    return data


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64std_decode(s, what):
    if not isinstance(s, str) or not s:
        raise ValueError("%s is not a base64 string" % what)
    try:
        data = base64.b64decode(s.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        raise ValueError("%s is not standard base64" % what) from None
    if base64.b64encode(data).decode("ascii") != s:
        raise ValueError("%s is not canonical base64" % what)
    return data


def verify_request_signature(values, body, tls_der, tls_cert):
    """RFC 7515 compact JWS with a detached payload (appendix F): the
    header value is b64url(header) + ".." + b64url(signature) and the
    signature covers b64url(header) + "." + b64url(BODY). The header's
    x5c[0] must be the TLS client certificate, alg RS256 (RSA) or ES256
    (P-256, 64-byte r||s). Raises ValueError with the reason."""
    if not values:
        raise ValueError("X-Request-Signature header is missing")
    if len(values) > 1:
        raise ValueError("more than one X-Request-Signature header")
    parts = values[0].strip().split(".")
    if len(parts) != 3:
        raise ValueError("not a JWS in compact serialisation")
    h64, p64, s64 = parts
    if p64:
        raise ValueError("the payload part must be empty (detached JWS)")
    try:
        hdr = strict_json(b64url_decode(h64, "JWS header"))
    except ValueError as e:
        raise ValueError("JWS header: %s" % e) from None
    if not isinstance(hdr, dict):
        raise ValueError("JWS header is not a JSON object")
    if "crit" in hdr:
        raise ValueError("JWS header: crit is not supported")
    if "b64" in hdr and hdr["b64"] is not True:
        raise ValueError("JWS header: unencoded payload (b64) is not supported")
    verify_jws(hdr, (h64 + "." + b64url(body)).encode("ascii"), b64url_decode(s64, "JWS signature"),
               tls_der, tls_cert)


def verify_jws(hdr, signing_input, sig, tls_der, tls_cert):
    """A JWS header's alg and x5c, and its signature over signing_input:
    x5c[0] must be the TLS client certificate, alg RS256 (RSA) or ES256
    (P-256, 64-byte r||s). Raises ValueError with the reason."""
    if not isinstance(hdr, dict):
        raise ValueError("the JWS header is not a JSON object")
    alg = hdr.get("alg")
    if not isinstance(alg, str):
        raise ValueError("JWS header has no alg")
    x5c = hdr.get("x5c")
    if not isinstance(x5c, list) or not x5c:
        raise ValueError("JWS header has no x5c")
    ders = [b64std_decode(c, "x5c[%d]" % i) for i, c in enumerate(x5c)]
    for i, der in enumerate(ders):
        try:
            x509.load_der_x509_certificate(der)
        except ValueError:
            raise ValueError("x5c[%d] is not a DER certificate" % i) from None
    if ders[0] != tls_der:
        raise ValueError("x5c[0] is not the TLS client certificate")
    pub = tls_cert.public_key()
    try:
        if alg == "RS256":
            if not isinstance(pub, rsa.RSAPublicKey):
                raise ValueError("alg RS256 does not fit the certificate's %s key" % key_type(pub).upper())
            pub.verify(sig, signing_input, padding.PKCS1v15(), hashes.SHA256())
        elif alg == "ES256":
            if not isinstance(pub, ec.EllipticCurvePublicKey) or pub.curve.name != "secp256r1":
                raise ValueError("alg ES256 does not fit the certificate's key (needs EC P-256)")
            if len(sig) != 64:
                raise ValueError("ES256 signature must be 64 bytes (r||s), got %d" % len(sig))
            der = encode_dss_signature(int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big"))
            pub.verify(der, signing_input, ec.ECDSA(hashes.SHA256()))
        else:
            raise ValueError("alg %r is not accepted (RS256, ES256)" % alg)
    except InvalidSignature:
        raise ValueError("signature does not verify over the request body") from None


# ---------------------------------------------------------------- request checks

def check_object(body, members, required):
    """The body as a JSON object whose members are all in MEMBERS (name ->
    type) and include REQUIRED."""
    try:
        obj = strict_json(body)
    except ValueError as e:
        raise bad(str(e)) from None
    if not isinstance(obj, dict):
        raise bad("the body must be a JSON object")
    for k, v in obj.items():
        if k not in members:
            raise bad("unknown member %s" % k)
        want = members[k]
        ok = isinstance(v, want) and not (want is not bool and isinstance(v, bool))
        if not ok:
            raise bad("member %s must be a %s" % (k, {str: "string", bool: "boolean", list: "array"}.get(want, "value")))
        if want is str and len(v) > 1024:
            raise bad("member %s is too long" % k)
    for k in required:
        if k not in obj:
            raise bad("missing member %s" % k)
    return obj


def check_content_type(value, allow_none=False):
    if value is None and allow_none:
        return
    if value is None:
        raise bad("Content-Type must be application/json")
    parts = [p.strip() for p in value.split(";")]
    if parts[0].lower() != "application/json":
        raise bad("Content-Type must be application/json, not %s" % parts[0][:60])
    for p in parts[1:]:
        if p.replace(" ", "").lower() not in ("charset=utf-8", 'charset="utf-8"'):
            raise bad("Content-Type parameter %s not accepted" % p[:60])


def dn(name):
    return name.rfc4514_string()


def gen_time(t):
    return t.strftime("%Y%m%d%H%M%SZ")


def b64der(cert):
    return base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode("ascii")


def cred_cert_status(cred):
    """cert/status: valid, expired, revoked or suspended are the four values
    CSC v2.0.0.2 11.5 has (as the eudi and asitplus clients enumerate them);
    none says "not yet valid", and the member is optional, so for such a
    certificate it is left out (None) and validFrom tells."""
    if cred.cert_status is not None:
        return cred.cert_status
    now = utcnow()
    if now > cert_not_after(cred.cert):
        return "expired"
    if now < cert_not_before(cred.cert):
        return None
    return "valid"


# ---------------------------------------------------------------- HTTP

class Handler(simcommon.BaseHandler):
    server_version = "csc-sim/1"
    max_body = MAX_BODY

    # -- plumbing

    def setup(self):
        super().setup()
        self.rec, self.status, self.verdict = None, None, None

    def send_error(self, code, message=None, explain=None):
        # http.server's own refusals (bad request line, 414, 431, 501...), as JSON.
        self.close_connection = True
        desc = message or http.HTTPStatus(code).phrase
        codes = {501: "invalid_request", 505: "invalid_request"}
        self.reply(code, {"error": codes.get(code, "invalid_request" if code < 500 else "server_error"),
                          "error_description": desc}, {"Connection": "close"})

    def handle_expect_100(self):
        # Refuse an oversized body before the client sends it.
        cl = self.headers.get("Content-Length", "")
        if cl.isdigit() and int(cl) > MAX_BODY:
            self.close_connection = True
            self.reply(413, {"error": "invalid_request",
                             "error_description": "request body larger than %d bytes" % MAX_BODY},
                       {"Connection": "close"})
            return False
        return super().handle_expect_100()

    def parse_request(self):
        self.rec = None
        self.status = None
        self.verdict = None
        return super().parse_request()

    def reply(self, status, obj, headers=None):
        body = b"" if obj is None else json.dumps(obj).encode()
        self.status = status
        if obj is not None and status >= 400 and self.verdict is None:
            self.verdict = "%s: %s" % (obj.get("error"), obj.get("error_description"))
        if self.verdict is None:
            self.verdict = "ok"
        if status >= 400 and not self.body_read:
            self.close_connection = True      # the body (if any) was not consumed
            headers = dict(headers or {}, Connection="close")
        self.finish_capture()     # before the answer leaves, so a client that
        self.send_response(status)  # got it finds it at /sim/requests
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def fail(self, e):
        self.reply(e.status, {"error": e.code, "error_description": e.desc}, e.headers)

    def read_body(self):
        try:
            return super().read_body()
        except simcommon.BodyError as e:
            raise HttpError(e.status, "invalid_request", e.desc) from None

    def client_gone(self):
        p = select.poll()
        p.register(self.connection.fileno(), select.POLLRDHUP | select.POLLHUP | select.POLLERR)
        return any(ev & (select.POLLRDHUP | select.POLLHUP | select.POLLERR) for _, ev in p.poll(0))

    # -- capture

    def start_capture(self, url_path):
        hdrs = {}
        for k, v in self.headers.items():
            k = k.lower()
            v = "[redacted]" if REDACT_HEADER.search(k) else v
            hdrs[k] = hdrs[k] + ", " + v if k in hdrs else v
        self.rec = {"time": iso_utc(), "client": "%s:%s" % self.client_address[:2],
                    "tls": self.connection.version(), "method": self.command, "path": self.path,
                    "headers": hdrs, "body": None, "body_bytes": 0, "client_subject": None,
                    "status": None, "verdict": None}

    def finish_capture(self):
        if self.rec is None:
            return
        self.rec["status"] = self.status
        self.rec["verdict"] = self.verdict
        self.sim.requests.capture(self.rec)
        rec, self.rec = self.rec, None
        log("%s %s %s -> %s %s" % (rec["client"], self.command, self.path,
                                   self.status if self.status else "-", self.verdict))

    def set_body(self, body):
        self.rec["body_bytes"] = len(body)
        self.rec["body"] = body[:CAPTURE_BODY_MAX].decode("utf-8", "replace")
        if len(body) > CAPTURE_BODY_MAX:
            self.rec["body_truncated"] = True

    # -- dispatch

    def service(self, url):
        t0 = time.monotonic()
        self.start_capture(url.path)
        try:
            self.csc(url.path, url.query)
        except HttpError as e:
            self.fail(e)
        finally:
            self.finish_capture()
            self.sim.add_service(time.monotonic() - t0)

    # -- /csc/v2/

    def csc(self, path, query):
        der = self.connection.getpeercert(binary_form=True)
        cert = x509.load_der_x509_certificate(der) if der else None
        if cert is not None:
            self.rec["client_subject"] = dn(cert.subject)
        endpoints = {"/csc/v2/info": self.info,
                     "/csc/v2/credentials/info": self.credentials_info,
                     "/csc/v2/credentials/authorize": self.authorize,
                     "/csc/v2/signatures/signHash": self.sign_hash}
        if path == "/oauth2/token":
            handler = self.oauth2_token
        else:
            handler = endpoints.get(path)
        if handler is None:
            raise HttpError(404, "invalid_request", "no such endpoint: %s" % path[:100])
        if self.command != "POST":
            raise HttpError(405, "invalid_request", "%s needs POST" % path, {"Allow": "POST"})
        body = self.read_body()
        self.set_body(body)
        if query:
            raise bad("no query parameters are accepted")
        if handler == self.info:
            # info needs no authentication (CSC v2.0.0.2 11.1; CZERTAINLY
            # serves it to anyone).
            check_content_type(self.headers.get("Content-Type"), allow_none=not body)
            return handler(body, cert)
        if cert is None:
            raise HttpError(401, "invalid_client", "a TLS client certificate issued by the client CA is required")
        # Faults: a dropped connection is decided before anything is checked
        # or signed, so nothing is counted for it.
        if self.sim.take_close_after():
            self.verdict = "dropped: connection closed without an answer (close_after)"
            self.close_connection = True
            self.server.drop_hard(self.connection)
            return
        delay = self.sim.get_faults()["delay_ms"]
        if delay:
            time.sleep(delay / 1000.0)
            if self.client_gone():
                self.verdict = "abandoned: the client closed the connection during the delay"
                self.close_connection = True
                return
        if handler == self.oauth2_token:
            return handler(body, cert)
        if self.sim.require_token:
            self.sim.check_token(self.headers.get("Authorization"), dn(cert.subject))
        if self.sim.require_jws or self.headers.get_all("X-Request-Signature"):
            try:
                verify_request_signature(self.headers.get_all("X-Request-Signature") or [], body, der, cert)
            except ValueError as e:
                raise HttpError(401, "invalid_request", "request signature: %s" % e) from None
        check_content_type(self.headers.get("Content-Type"))
        handler(body, cert)

    def credential_for(self, cid, cert):
        try:
            creds = self.sim.credentials()
        except Fatal as e:
            raise HttpError(500, "server_error", str(e)) from None
        cred = creds.get(cid)
        if cred is None:
            raise bad("unknown credentialID %s" % cid[:100])
        if dn(cert.subject) not in cred.allowed:
            raise HttpError(403, "access_denied", "client %s may not use credential %s"
                            % (dn(cert.subject)[:200], cid))
        return cred

    def info(self, body, cert):
        """info (CSC v2.0.0.2 11.1): an empty body or {"lang"}. The members
        are those CZERTAINLY's InfoDto answers; the "specs" string is the
        version this simulator follows."""
        if body:
            check_object(body, {"lang": str}, [])
        try:
            creds = self.sim.credentials()
        except Fatal as e:
            raise HttpError(500, "server_error", str(e)) from None
        f = self.sim.get_faults()
        extra = {"oauth2": "https://%s:%d/oauth2" % self.server.server_address[:2]} \
            if self.sim.require_token else {}
        algos = []
        for c in creds.values():
            algos += [a for a in c.listed if a not in algos]
        self.reply(200, {"specs": "2.0.0.2", "name": "csc-sim", "logo": "https://127.0.0.1/logo.png",
                         "region": "FI", "lang": "en-US", "description": "CSC API v2 simulator",
                         "authType": f["info_auth_type"] if f["info_auth_type"] is not None else
                         (["TLS", "oauth2client"] if self.sim.require_token else ["TLS"]),
                         "methods": f["info_methods"] if f["info_methods"] is not None else CSC_METHODS,
                         "validationInfo": False, "asynchronousOperationMode": False,
                         "signAlgorithms": {"algos": algos, "algoParams": []},
                         "signature_formats": {"formats": ["C"], "envelope_properties": [["Detached"]]},
                         "conformance_levels": ["Ades-B-B"], **extra})

    def oauth2_token(self, body, cert):
        """POST /oauth2/token: RFC 6749 4.4 client credentials, the client
        authenticated by an RFC 7523 2.2 JWT assertion whose x5c[0] is the
        TLS client certificate and whose signature it verifies (as the eudi
        client's client-credentials flow asks a token of the service's
        OAuth 2.0 server). Answers {"access_token","token_type","expires_in"}."""
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if ctype != "application/x-www-form-urlencoded":
            raise HttpError(400, "invalid_request", "Content-Type must be application/x-www-form-urlencoded")
        try:
            form = parse_qs(body.decode("ascii"), keep_blank_values=True, strict_parsing=True)
        except (UnicodeDecodeError, ValueError):
            raise HttpError(400, "invalid_request", "the body is not a form") from None
        if any(len(v) != 1 for v in form.values()):
            raise HttpError(400, "invalid_request", "a parameter appears more than once")
        form = {k: v[0] for k, v in form.items()}
        unknown = set(form) - {"grant_type", "client_id", "client_assertion_type", "client_assertion", "scope"}
        if unknown:
            raise HttpError(400, "invalid_request", "unknown parameter %s" % sorted(unknown)[0][:40])
        if form.get("grant_type") != "client_credentials":
            raise HttpError(400, "unsupported_grant_type", "only client_credentials is granted")
        if form.get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer":
            raise HttpError(401, "invalid_client", "a jwt-bearer client_assertion is required")
        der = self.connection.getpeercert(binary_form=True)
        parts = form.get("client_assertion", "").split(".")
        if len(parts) != 3 or not parts[1]:
            raise HttpError(401, "invalid_client", "client_assertion is not a compact JWS")
        try:
            hdr = strict_json(b64url_decode(parts[0], "JWT header"))
            claims = strict_json(b64url_decode(parts[1], "JWT claims"))
            verify_jws(hdr, (parts[0] + "." + parts[1]).encode("ascii"), b64url_decode(parts[2], "JWT signature"),
                       der, cert)
        except ValueError as e:
            raise HttpError(401, "invalid_client", "client_assertion: %s" % e) from None
        now = time.time()
        want_aud = "https://%s:%d/oauth2/token" % self.server.server_address[:2]
        cid = form.get("client_id")
        if not isinstance(claims, dict) or claims.get("iss") != claims.get("sub") or \
                (cid is not None and claims.get("iss") != cid):
            raise HttpError(401, "invalid_client", "client_assertion: iss and sub must name the client")
        if claims.get("aud") != want_aud:
            raise HttpError(401, "invalid_client", "client_assertion: aud must be %s" % want_aud)
        exp, iat = claims.get("exp"), claims.get("iat")
        if not isinstance(exp, (int, float)) or exp <= now or not isinstance(iat, (int, float)) or \
                iat > now + 60 or exp - iat > 3600:
            raise HttpError(401, "invalid_client", "client_assertion: expired or with bad iat/exp")
        jti = claims.get("jti")
        with self.sim.lock:
            if not isinstance(jti, str) or jti in self.sim.jtis:
                raise HttpError(401, "invalid_client", "client_assertion: jti missing or used before")
            self.sim.jtis.add(jti)
        tok, ttl = self.sim.new_token(dn(cert.subject))
        self.reply(200, {"access_token": tok, "token_type": "Bearer", "expires_in": ttl})

    def credentials_info(self, body, cert):
        """credentials/info (CSC v2.0.0.2 11.5): key, cert (status always;
        the DNs, serial and dates with certInfo), auth (mode always;
        expression and objects with authInfo), SCAL, multisign. v1's top-
        level authMode is gone in v2."""
        req = check_object(body, {"credentialID": str, "certificates": str, "certInfo": bool,
                                  "authInfo": bool, "lang": str, "clientData": str}, ["credentialID"])
        cred = self.credential_for(req["credentialID"], cert)
        which = req.get("certificates", "single")
        if which not in ("none", "single", "chain"):
            raise bad("certificates must be none, single or chain")
        pub = cred.key.public_key()
        key = {"status": cred.key_status, "algo": cred.listed, "len": pub.key_size}
        if cred.kind == "ec":
            key["curve"] = CURVE_OIDS.get(pub.curve.name, "")
        c = cred.cert
        out_cert = {}
        status = cred_cert_status(cred)
        if status is not None:
            out_cert["status"] = status
        if which != "none":
            out_cert["certificates"] = [b64der(c)] + ([b64der(x) for x in cred.chain] if which == "chain" else [])
        if req.get("certInfo"):
            out_cert.update({"issuerDN": dn(c.issuer), "serialNumber": "%x" % c.serial_number,
                             "subjectDN": dn(c.subject), "validFrom": gen_time(cert_not_before(c)),
                             "validTo": gen_time(cert_not_after(c))})
        auth = {"mode": cred.auth_mode}
        if req.get("authInfo") and cred.auth_mode == "explicit":
            auth["expression"] = "PIN"
            auth["objects"] = [{"type": "Password", "id": "PIN", "format": "N", "label": "PIN",
                                "description": "the credential's PIN"}]
        self.reply(200, {"key": key, "cert": out_cert, "auth": auth, "SCAL": cred.scal,
                         "multisign": MAX_HASHES, "lang": "en-US"})

    def authorize(self, body, cert):
        """credentials/authorize (CSC v2.0.0.2 11.6): numSignatures, for
        SCAL 2 the hashes (and hashAlgorithmOID), authData [{id, value}]
        for an explicit credential. Answers {"SAD","expiresIn"}."""
        req = check_object(body, {"credentialID": str, "numSignatures": int, "hashes": list,
                                  "hashAlgorithmOID": str, "authData": list, "description": str,
                                  "clientData": str}, ["credentialID", "numSignatures"])
        cred = self.credential_for(req["credentialID"], cert)
        n = req["numSignatures"]
        if not 1 <= n <= MAX_HASHES:
            raise bad("numSignatures must be 1 to %d" % MAX_HASHES)
        hashes = None
        if cred.scal == "2":
            if "hashes" not in req or "hashAlgorithmOID" not in req:
                raise bad("credential %s is SCAL 2: hashes and hashAlgorithmOID are required" % cred.id)
            hashes = req["hashes"]
            if len(hashes) != n or not all(isinstance(h, str) for h in hashes):
                raise bad("hashes must be numSignatures base64 strings")
        if cred.auth_mode == "explicit":
            given = {}
            for o in req.get("authData", []):
                if not isinstance(o, dict) or set(o) != {"id", "value"} or \
                        not all(isinstance(v, str) for v in o.values()):
                    raise bad("authData holds {\"id\",\"value\"} objects")
                given[o["id"]] = o["value"]
            if "PIN" not in given:
                raise bad("authData needs the PIN")
            if given["PIN"] != cred.pin:
                raise HttpError(400, "invalid_pin", "the PIN is wrong")
        self.reply(200, {"SAD": self.sim.new_sad(cred.id, n, hashes), "expiresIn": SAD_TTL_S})

    def sign_hash(self, body, cert):
        """signatures/signHash (CSC v2.0.0.2 11.9). signAlgo is one key/algo
        lists; one that names no hash (rsaEncryption) needs
        hashAlgorithmOID; RSASSA-PSS needs signAlgoParams and is refused
        here (this simulator signs PKCS#1 v1.5 and ECDSA only). A SAD is
        required unless auth/mode is implicit (CZERTAINLY refuses signHash
        without one)."""
        req = check_object(body, {"credentialID": str, "SAD": str, "hashes": list,
                                  "hashAlgorithmOID": str, "signAlgo": str, "signAlgoParams": str,
                                  "operationMode": str, "validity_period": int, "response_uri": str,
                                  "clientData": str},
                           ["credentialID", "hashes", "signAlgo"])
        cred = self.credential_for(req["credentialID"], cert)
        if req.get("operationMode", "S") != "S":
            raise bad("only operationMode S (synchronous) is supported")
        sign_algo = req["signAlgo"]
        if sign_algo not in cred.listed:
            raise bad("signAlgo %s is not one credential %s lists in key/algo (%s)"
                      % (sign_algo[:60], cred.id, ", ".join(cred.listed)))
        if sign_algo == RSASSA_PSS:
            if "signAlgoParams" not in req:
                raise bad("RSASSA-PSS needs signAlgoParams")
            raise bad("this service does not sign with RSASSA-PSS")
        if sign_algo in cred.algos:
            hash_oid = cred.algos[sign_algo]
            if "hashAlgorithmOID" in req and req["hashAlgorithmOID"] != hash_oid:
                raise bad("hashAlgorithmOID %s does not match signAlgo %s" % (req["hashAlgorithmOID"][:60], sign_algo))
        else:
            if "hashAlgorithmOID" not in req:
                raise bad("signAlgo %s names no hash: hashAlgorithmOID is required" % sign_algo)
            hash_oid = req["hashAlgorithmOID"]
        if hash_oid not in HASH_OIDS:
            raise bad("hashAlgorithmOID %s not supported" % hash_oid[:60])
        name, hcls, hlen = HASH_OIDS[hash_oid]
        hl = req["hashes"]
        if not 1 <= len(hl) <= MAX_HASHES:
            raise bad("hashes must hold 1 to %d values" % MAX_HASHES)
        digests = []
        for i, h in enumerate(hl):
            try:
                d = b64std_decode(h, "hashes[%d]" % i)
            except ValueError as e:
                raise bad(str(e)) from None
            if len(d) != hlen:
                raise bad("hashes[%d] is %d bytes, %s needs %d" % (i, len(d), name, hlen))
            digests.append(d)
        if cred.key_status != "enabled":
            raise bad("the key of credential %s is %s" % (cred.id, cred.key_status))
        status = cred_cert_status(cred)
        if status != "valid":
            raise bad("the certificate of credential %s is %s" % (cred.id, status or "not yet valid"))
        if cred.auth_mode != "implicit" or "SAD" in req:
            if "SAD" not in req:
                raise bad("credential %s needs a SAD from credentials/authorize" % cred.id)
            try:
                self.sim.use_sad(req["SAD"], cred.id, hl)
            except ValueError as e:
                raise bad(str(e)) from None
        f = self.sim.get_faults()
        if f["fail_rate"] > 0 and random.random() < f["fail_rate"]:
            raise HttpError(f["fail_status"], "server_error", "injected failure (fail_rate)")
        if f["bad_answer"] == "missing":
            self.verdict = "bad answer: no signatures (bad_answer)"
            return self.reply(200, {})
        if f["bad_answer"] == "wrong":
            digests = [bytes([d[0] ^ 1]) + d[1:] for d in digests]
        sigs = []
        for d in digests:
            if cred.kind == "rsa":
                s = cred.key.sign(d, padding.PKCS1v15(), Prehashed(hcls()))
            else:
                s = cred.key.sign(d, ec.ECDSA(Prehashed(hcls())))
                if f["ec_encoding"] == "raw":
                    r_, s_ = decode_dss_signature(s)
                    size = (cred.key.curve.key_size + 7) // 8
                    s = r_.to_bytes(size, "big") + s_.to_bytes(size, "big")
            sigs.append(base64.b64encode(s).decode("ascii"))
        if f["bad_answer"] == "count":
            self.verdict = "bad answer: one signature too many (bad_answer)"
            return self.reply(200, {"signatures": sigs + sigs[:1]})
        if f["bad_answer"] == "wrong":
            self.verdict = "bad answer: signatures over other hashes (bad_answer)"
            return self.reply(200, {"signatures": sigs})
        self.sim.count(cred.id, len(sigs))
        self.reply(200, {"signatures": sigs})

    # -- /sim/

    def sim_route(self, path, query):
        try:
            routes = {"/sim/health": "GET", "/sim/counts": "GET", "/sim/requests": "GET",
                      "/sim/faults": ("GET", "POST"), "/sim/reset-counts": "POST",
                      "/sim/reset-requests": "POST", "/sim/expire-tokens": "POST",
                      "/sim/service": "GET"}
            if path not in routes:
                raise HttpError(404, "invalid_request", "no such endpoint: %s" % path[:100])
            allowed = routes[path] if isinstance(routes[path], tuple) else (routes[path],)
            if self.command not in allowed:
                raise HttpError(405, "invalid_request", "%s needs %s" % (path, " or ".join(allowed)),
                                {"Allow": ", ".join(allowed)})
            body = self.read_body()
            q = parse_qs(query, keep_blank_values=True, strict_parsing=False)
            if path != "/sim/counts" and q:
                raise bad("no query parameters are accepted")
            if path == "/sim/health":
                self.reply(200, {"status": "ok"})
            elif path == "/sim/counts":
                if set(q) - {"month"} or len(q.get("month", [])) > 1:
                    raise bad("the only query parameter is month")
                month = q.get("month", [utcnow().strftime("%Y-%m")])[0]
                if not MONTH_RE.fullmatch(month):
                    raise bad("month must be YYYY-MM")
                try:
                    cids = list(self.sim.credentials())
                except Fatal as e:
                    raise HttpError(500, "server_error", str(e)) from None
                self.reply(200, {"month": month, "counts": self.sim.month_counts(month, cids)})
            elif path == "/sim/service":
                self.reply(200, self.sim.service_time())
            elif path == "/sim/requests":
                self.reply(200, {"requests": self.sim.requests.list()})
            elif path == "/sim/reset-requests":
                self.sim.requests.clear()
                self.reply(200, {"requests": []})
            elif path == "/sim/expire-tokens":
                with self.sim.lock:
                    self.sim.tokens = {k: (v[0], 0) for k, v in self.sim.tokens.items()}
                self.reply(200, {"tokens": len(self.sim.tokens)})
            elif path == "/sim/reset-counts":
                self.sim.reset_counts()
                self.reply(200, {"counts": {}})
            elif self.command == "GET":
                self.reply(200, self.sim.get_faults())
            else:
                check_content_type(self.headers.get("Content-Type"))
                req = check_object(body, {"fail_rate": object, "delay_ms": object,
                                          "close_after": object, "fail_status": object,
                                          "ec_encoding": object, "bad_answer": object,
                                          "info_methods": object, "info_auth_type": object,
                                          "token_ttl_s": object}, [])
                self.reply(200, self.sim.set_faults(parse_faults(req)))
        except HttpError as e:
            self.fail(e)


def parse_faults(req):
    def num(v):
        return isinstance(v, (int, float)) and not isinstance(v, bool)
    upd = {}
    if "fail_rate" in req:
        if not num(req["fail_rate"]) or not 0 <= req["fail_rate"] <= 1:
            raise bad("fail_rate must be a number from 0 to 1")
        upd["fail_rate"] = req["fail_rate"]
    if "delay_ms" in req:
        v = req["delay_ms"]
        if not isinstance(v, int) or isinstance(v, bool) or not 0 <= v <= 600000:
            raise bad("delay_ms must be an integer from 0 to 600000")
        upd["delay_ms"] = v
    if "close_after" in req:
        v = req["close_after"]
        if v is not None and (not isinstance(v, int) or isinstance(v, bool) or v < 0):
            raise bad("close_after must be null or a non-negative integer (0 = off)")
        upd["close_after"] = v or None
    if "fail_status" in req:
        v = req["fail_status"]
        if not isinstance(v, int) or isinstance(v, bool) or not 500 <= v <= 599:
            raise bad("fail_status must be 500..599")
        upd["fail_status"] = v
    if "ec_encoding" in req:
        if req["ec_encoding"] not in ("der", "raw"):
            raise bad("ec_encoding must be der or raw")
        upd["ec_encoding"] = req["ec_encoding"]
    if "bad_answer" in req:
        if req["bad_answer"] not in (None, "missing", "count", "wrong"):
            raise bad("bad_answer must be null, missing, count or wrong")
        upd["bad_answer"] = req["bad_answer"]
    if "token_ttl_s" in req:
        v = req["token_ttl_s"]
        if not isinstance(v, int) or isinstance(v, bool) or not 1 <= v <= 86400:
            raise bad("token_ttl_s must be 1 to 86400")
        upd["token_ttl_s"] = v
    for k in ("info_methods", "info_auth_type"):
        if k in req:
            v = req[k]
            if v is not None and (not isinstance(v, list) or not all(isinstance(x, str) for x in v)):
                raise bad("%s must be null or a list of strings" % k)
            upd[k] = v
    return upd


class Server(simcommon.TLSServer):
    def handshake_failed(self, client_address, reason):
        self.sim.requests.capture({
            "time": iso_utc(), "client": "%s:%s" % client_address[:2], "tls": None,
            "method": None, "path": None, "headers": {}, "body": None,
            "body_bytes": 0, "client_subject": None, "status": None,
            "verdict": "tls_handshake_failed: %s" % reason})


def cmd_serve(args):
    d = args.state
    check_listen_address(args.host, args.port)
    if not 0 <= args.fail_rate <= 1:
        die("serve: --fail-rate must be 0..1")
    if args.delay_ms < 0 or (args.close_after is not None and args.close_after < 0):
        die("serve: --delay-ms and --close-after must not be negative")
    if not 500 <= args.fail_status <= 599:
        die("serve: --fail-status must be 500..599")
    require_state(d, ("server.pem", "server.key", "client-ca.pem"))
    sim = Sim(args)

    # A client certificate is requested, not required (/csc/v2/* without
    # one is 401 invalid_client); one that does not chain fails the handshake.
    ctx = server_tls_context(os.path.join(d, "server.pem"), os.path.join(d, "server.key"),
                             os.path.join(d, "client-ca.pem"))

    server, host, port = listen(Server, args, Handler, sim, ctx)
    ready = {"port": port, "url": "https://%s:%d/csc/v2/" % (host, port), "pid": os.getpid(),
             "sim_url": "https://%s:%d/sim/" % (host, port),
             "token_url": "https://%s:%d/oauth2/token" % (host, port),
             "ca_file": os.path.abspath(os.path.join(d, "server-ca.pem")),
             "state": os.path.abspath(d)}

    return serve_until_signal(server, ready, args.ready_file, "listening on %s" % ready["url"])


# ---------------------------------------------------------------- main

def main(argv=None):
    ap = argparse.ArgumentParser(prog=PROG, description="Strict CSC API v2 seal service simulator.")
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("init", help="make the CAs, server and stamp certificates")
    p.add_argument("--state", required=True)
    p.add_argument("--stamp-key", choices=("rsa", "ec"), default=None,
                   help="stamp key type for a new stamp key (default rsa = RSA-2048; ec = P-256)")
    p = sub.add_parser("issue-client", help="issue an interface certificate from a CSR")
    add_issue_client_arguments(p)
    p.add_argument("--allow", action="append", default=[], metavar="CREDENTIAL")
    p = sub.add_parser("serve", help="serve HTTPS on a loopback address")
    add_serve_arguments(p)
    p.add_argument("--fail-rate", type=float, default=0)
    p.add_argument("--delay-ms", type=int, default=0)
    p.add_argument("--close-after", type=int, default=None)
    p.add_argument("--fail-status", type=int, default=500)
    p.add_argument("--no-request-signature", action="store_true")
    p.add_argument("--require-token", action="store_true",
                   help="CSC calls but info need an OAuth 2.0 bearer token from /oauth2/token")
    args = ap.parse_args(argv)
    return run_command({"init": cmd_init, "issue-client": cmd_issue_client, "serve": cmd_serve}, args)


if __name__ == "__main__":
    sys.exit(main())
