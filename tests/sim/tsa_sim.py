#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""tsa_sim: a strict local time-stamp authority (RFC 3161) over HTTPS.

The time-stamp tokens are made by OpenSSL's own TSA, `openssl ts -reply`,
so a client tested against this simulator is checked against an
implementation that shares no code with it. This program only carries
the HTTP transport (RFC 3161 section 3.4: POST, application/timestamp-query
in, application/timestamp-reply out) and the fault injection.

Sub-commands:
  init   --state DIR
  serve  --state DIR [--host 127.0.0.1] [--port N] [--ready-file FILE]
         [--fault NAME] [--delay-ms N]

init makes what is missing in DIR and keeps what exists: server-ca.pem/.key
and server.pem/.key (the HTTPS server; a client's TLS ca_file is
server-ca.pem), client-ca.pem/.key (unused: no client certificate is asked
for), tsa-ca.pem/.key (the TSA's CA; a client's signer trust anchor),
tsa.pem/.key (RSA-2048, signed by tsa-ca, keyUsage digitalSignature and
nonRepudiation, extendedKeyUsage id-kp-timeStamping marked critical as RFC
3161 section 2.3 requires), rogue-ca.pem/.key and rogue.pem/.key (the same
kind of TSA certificate under a CA no client trusts) and tsaserial.

serve listens on --host (loopback only) and --port (0 = ephemeral) and
writes --ready-file atomically once the socket listens: {"url":
"https://127.0.0.1:PORT/tsa","port","pid","sim_url","ca_file",
"tsa_ca_file","state"}; removed at exit (SIGTERM/SIGINT).

Which behaviour comes from where:
  openssl ts -reply (OpenSSL's TS_RESP_CTX): parsing the TimeStampReq,
    accepted digests (sha256, sha384, sha512), policy (default 1.2.3.4.1;
    others accepted: 1.2.3.4.5.6, 1.2.3.4.5.7; any other requested policy
    is answered with status rejection, failInfo unacceptedPolicy), the
    nonce copied from the request, the certificate included only when
    certReq is true, genTime with one-second accuracy, the serial (from
    DIR/tsaserial), the SignedData signed with SHA-256 and the signer
    identified with ESSCertIDv2 (RFC 5816, ess_cert_id_alg sha256).
  RFC 3161 itself: the HTTP transport; a body that is not a TimeStampReq
    is answered (HTTP 200) with a TimeStampResp of status rejection and
    failInfo badDataFormat made here, as section 2.4.2 describes.
  this program: the faults (below), which change what goes into or comes
    out of openssl ts -reply; HTTP 400 for a Content-Type other than
    application/timestamp-query, 405 for a method other than POST, 404
    for any other path.

Faults (--fault at start, or POST /sim/fault {"fault": NAME,
"delay_ms": N} while serving; GET /sim/fault shows them):
  none            correct answers
  reject          TimeStampResp status rejection, failInfo systemFailure
  wrong-imprint   the token's messageImprint differs from the request's
                  (one bit of the hashed message is flipped before the
                  request goes to openssl ts -reply)
  wrong-nonce     the token's nonce differs from the request's (one bit)
  untrusted       the token is signed by rogue.pem (not under tsa-ca)
  slow            the answer waits delay_ms (default 5000) first
GET /sim/health answers {"status":"ok"}; GET /sim/requests the last 100
requests ({"seq","fault","status","http"}).
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import simcommon  # noqa: E402
from simcommon import (BaseHandler, Fatal, RequestLog, TLSServer, add_serve_arguments,  # noqa: E402
                       check_listen_address, days_from_now, die, ensure_ca,
                       ensure_leaf, init_tls_state, ku, listen, log, name_from, require_state,
                       run_command, serve_until_signal, atomic_write)
from cryptography import x509  # noqa: E402
from cryptography.hazmat.primitives import hashes  # noqa: E402
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID  # noqa: E402

PROG = "tsa_sim"
simcommon.set_prog(PROG)
ATTRS = [(NameOID.COUNTRY_NAME, "FI"), (NameOID.ORGANIZATION_NAME, "tsa-sim test")]
FAULTS = ("none", "reject", "wrong-imprint", "wrong-nonce", "untrusted", "slow")
QUERY_TYPE = "application/timestamp-query"
REPLY_TYPE = "application/timestamp-reply"
MAX_QUERY = 64 * 1024
OPENSSL = os.environ.get("OPENSSL", "openssl")

# TimeStampResp with only a PKIStatusInfo: status rejection (2) and a
# one-bit PKIFailureInfo (RFC 3161 section 2.4.2).
BAD_DATA_FORMAT = bytes.fromhex("3009" "3007" "020102" "03020204")    # bit 5
SYSTEM_FAILURE = bytes.fromhex("300c" "300a" "020102" "03050600000040")   # bit 25


# ---------------------------------------------------------------- DER

def der_tlv(buf, pos):
    """(tag, value start, value end) of the DER element at POS; ValueError
    when it does not fit in BUF (definite lengths only)."""
    if pos + 2 > len(buf):
        raise ValueError("truncated")
    tag, n = buf[pos], buf[pos + 1]
    pos += 2
    if n & 0x80:
        k = n & 0x7F
        if k == 0 or k > 3 or pos + k > len(buf):
            raise ValueError("bad length")
        n = int.from_bytes(buf[pos:pos + k], "big")
        pos += k
    if pos + n > len(buf):
        raise ValueError("truncated")
    return tag, pos, pos + n


def query_offsets(q):
    """Offsets of the last byte of the hashedMessage and of the nonce in
    the TimeStampReq Q (None for an absent nonce); ValueError when Q is
    not shaped as RFC 3161 section 2.4.1 says."""
    tag, start, end = der_tlv(q, 0)
    if tag != 0x30 or end != len(q):
        raise ValueError("not a SEQUENCE")
    tag, _, pos = der_tlv(q, start)               # version
    if tag != 0x02:
        raise ValueError("no version")
    tag, mi, mi_end = der_tlv(q, pos)             # messageImprint
    if tag != 0x30:
        raise ValueError("no messageImprint")
    _, _, hp = der_tlv(q, mi)                     # hashAlgorithm
    tag, hs, he = der_tlv(q, hp)
    if tag != 0x04 or he == hs:
        raise ValueError("no hashedMessage")
    imprint, nonce, pos = he - 1, None, mi_end
    while pos < end:
        tag, vs, ve = der_tlv(q, pos)
        if tag == 0x02 and ve > vs:
            nonce = ve - 1
        pos = ve
    return imprint, nonce


def flip_last_bit(q, off):
    b = bytearray(q)
    b[off] ^= 0x01
    return bytes(b)


# ---------------------------------------------------------------- init

def critical_eku_cert(state, name, ca_name, ca_cn):
    """DIR/NAME.pem: a TSA certificate under DIR/CA_NAME whose only
    extendedKeyUsage is id-kp-timeStamping, critical. build_cert marks
    EKU non-critical, so this one is built here."""
    ca_key, ca_cert = ensure_ca(state, ca_name, name_from(ATTRS + [(NameOID.COMMON_NAME, ca_cn)]))

    def make(pub):
        now_nb, now_na = days_from_now(825)
        b = (x509.CertificateBuilder()
             .subject_name(name_from(ATTRS + [(NameOID.COMMON_NAME, name + " TSA")]))
             .issuer_name(ca_cert.subject).public_key(pub)
             .serial_number(x509.random_serial_number())
             .not_valid_before(now_nb).not_valid_after(now_na)
             .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
             .add_extension(ku(sign=True, nonrep=True), critical=True)
             .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]),
                            critical=True)
             .add_extension(x509.SubjectKeyIdentifier.from_public_key(pub), critical=False)
             .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                 ca_cert.public_key()), critical=False))
        return b.sign(ca_key, hashes.SHA256())
    ensure_leaf(state, name, ca_key, ca_cert, 2048, make)


def cmd_init(args):
    d = args.state
    init_tls_state(d, ATTRS, "tsa-sim", "tsa-sim client CA")
    critical_eku_cert(d, "tsa", "tsa-ca", "tsa-sim TSA CA")
    critical_eku_cert(d, "rogue", "rogue-ca", "tsa-sim rogue CA")
    if not os.path.exists(os.path.join(d, "tsaserial")):
        atomic_write(os.path.join(d, "tsaserial"), b"01\n")
    print(json.dumps({"state": d, "ca_file": os.path.join(d, "server-ca.pem"),
                      "tsa_ca_file": os.path.join(d, "tsa-ca.pem")}))
    return 0


# ---------------------------------------------------------------- the TSA

TS_CONFIG = """\
[ tsa ]
default_tsa = tsa_sim
[ tsa_sim ]
serial = {state}/tsaserial
crypto_device = builtin
signer_cert = {state}/{signer}.pem
certs = {state}/{signer}-ca.pem
signer_key = {state}/{signer}.key
signer_digest = sha256
default_policy = 1.2.3.4.1
other_policies = 1.2.3.4.5.6, 1.2.3.4.5.7
digests = sha256, sha384, sha512
accuracy = secs:1
clock_precision_digits = 0
ordering = no
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = sha256
"""


class Sim:
    def __init__(self, state, fault, delay_ms):
        self.state = state
        self.fault, self.delay_ms = fault, delay_ms
        self.lock = threading.Lock()        # faults; openssl ts -reply (tsaserial)
        self.requests = RequestLog(100)
        self.configs = {}
        for signer in ("tsa", "rogue"):
            path = os.path.join(state, ".%s.cnf" % signer)
            atomic_write(path, TS_CONFIG.format(state=os.path.abspath(state),
                                                signer=signer).encode())
            self.configs[signer] = path

    def faults(self):
        with self.lock:
            return {"fault": self.fault, "delay_ms": self.delay_ms}

    def reply(self, query, fault):
        """The TimeStampResp DER for QUERY under FAULT."""
        try:
            imprint, nonce = query_offsets(query)
        except ValueError:
            return BAD_DATA_FORMAT
        if fault == "reject":
            return SYSTEM_FAILURE
        if fault == "wrong-imprint":
            query = flip_last_bit(query, imprint)
        elif fault == "wrong-nonce" and nonce is not None:
            query = flip_last_bit(query, nonce)
        signer = "rogue" if fault == "untrusted" else "tsa"
        with tempfile.TemporaryDirectory(prefix="tsa-sim.") as tmp:
            qf, rf = os.path.join(tmp, "q.tsq"), os.path.join(tmp, "r.tsr")
            with open(qf, "wb") as f:
                f.write(query)
            with self.lock:
                p = subprocess.run([OPENSSL, "ts", "-reply", "-config", self.configs[signer],
                                    "-queryfile", qf, "-out", rf],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
            if p.returncode != 0:
                log("openssl ts -reply failed: %s" % p.stderr.decode(errors="replace").strip()[:300])
                return BAD_DATA_FORMAT
            with open(rf, "rb") as f:
                return f.read()


class Handler(BaseHandler):
    server_version = "tsa-sim"
    max_body = MAX_QUERY

    def send_error(self, code, message=None, explain=None):
        self.answer(code, "text/plain", ((message or "error") + "\n").encode())

    def answer(self, code, ctype, body):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def json(self, code, obj):
        self.answer(code, "application/json", simcommon.dump_json(obj))

    def read_or_refuse(self):
        try:
            return self.read_body()
        except simcommon.BodyError as e:
            self.send_error(e.status, e.desc)
            self.close_connection = True
            return None

    def sim_route(self, path, query):
        if path == "/sim/health" and self.command == "GET":
            return self.json(200, {"status": "ok"})
        if path == "/sim/requests" and self.command == "GET":
            return self.json(200, {"requests": self.sim.requests.list()})
        if path == "/sim/fault" and self.command == "GET":
            return self.json(200, self.sim.faults())
        if path == "/sim/fault" and self.command == "POST":
            body = self.read_or_refuse()
            if body is None:
                return None
            try:
                obj = simcommon.strict_json(body)
                if not isinstance(obj, dict) or set(obj) - {"fault", "delay_ms"}:
                    raise ValueError("members are fault and delay_ms")
                fault = obj.get("fault", "none")
                delay = obj.get("delay_ms", 5000)
                if fault not in FAULTS:
                    raise ValueError("fault must be one of " + ", ".join(FAULTS))
                if not isinstance(delay, int) or isinstance(delay, bool) or not 0 <= delay <= 600000:
                    raise ValueError("delay_ms must be an integer 0..600000")
            except ValueError as e:
                return self.json(400, {"error": "invalid_request", "error_description": str(e)})
            with self.sim.lock:
                self.sim.fault, self.sim.delay_ms = fault, delay
            log("fault %s delay_ms %d" % (fault, delay))
            return self.json(200, self.sim.faults())
        return self.json(404, {"error": "not_found", "error_description": "no such endpoint"})

    def service(self, url):
        if url.path != "/tsa":
            return self.send_error(404, "no such path")
        if self.command != "POST":
            self.send_response(405)
            self.send_header("Allow", "POST")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return None
        body = self.read_or_refuse()
        if body is None:
            return None
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if ctype != QUERY_TYPE:
            return self.send_error(400, "Content-Type must be " + QUERY_TYPE)
        f = self.sim.faults()
        if f["fault"] == "slow":
            time.sleep(f["delay_ms"] / 1000.0)
        resp = self.sim.reply(body, f["fault"])
        try:
            _, s, _ = der_tlv(resp, 0)
            _, s, _ = der_tlv(resp, s)
            _, vs, ve = der_tlv(resp, s)
            status = int.from_bytes(resp[vs:ve], "big")
        except ValueError:
            status = -1
        self.sim.requests.capture({"fault": f["fault"], "status": status, "http": 200})
        log("%s POST /tsa fault %s status %s" % (self.address_string(), f["fault"], status))
        return self.answer(200, REPLY_TYPE, resp)


def cmd_serve(args):
    check_listen_address(args.host, args.port)
    if args.fault not in FAULTS:
        die("serve: --fault must be one of " + ", ".join(FAULTS))
    if not 0 <= args.delay_ms <= 600000:
        die("serve: --delay-ms must be 0..600000")
    d = args.state
    require_state(d, ["server.pem", "server.key", "server-ca.pem", "tsa.pem", "tsa.key",
                      "tsa-ca.pem", "rogue.pem", "rogue.key", "rogue-ca.pem", "tsaserial"])
    ctx = simcommon.server_tls_context(os.path.join(d, "server.pem"), os.path.join(d, "server.key"))
    sim = Sim(d, args.fault, args.delay_ms)
    server, host, port = listen(TLSServer, args, Handler, sim, ctx)
    base = "https://%s:%d" % (host, port)
    ready = {"url": base + "/tsa", "port": port, "pid": os.getpid(), "sim_url": base + "/sim/",
             "ca_file": os.path.abspath(os.path.join(d, "server-ca.pem")),
             "tsa_ca_file": os.path.abspath(os.path.join(d, "tsa-ca.pem")),
             "state": os.path.abspath(d)}
    return serve_until_signal(server, ready, args.ready_file, "listening on %s" % base)


def main(argv=None):
    ap = argparse.ArgumentParser(prog=PROG, description="Strict RFC 3161 time-stamp authority "
                                 "simulator built on openssl ts -reply.")
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("init", help="make the CAs, the HTTPS server and TSA certificates")
    p.add_argument("--state", required=True)
    p = sub.add_parser("serve", help="serve HTTPS on a loopback address")
    add_serve_arguments(p)
    p.add_argument("--fault", default="none")
    p.add_argument("--delay-ms", type=int, default=5000)
    args = ap.parse_args(argv)
    return run_command({"init": cmd_init, "serve": cmd_serve}, args)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Fatal as e:
        print("%s: %s" % (PROG, e), file=sys.stderr)
        sys.exit(1)
