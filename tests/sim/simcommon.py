# SPDX-License-Identifier: Apache-2.0
"""simcommon: what the strict simulators in tests/sim (csc_sim, vero_sim,
stil_sim) share word for word. A plain module, not a program: each
simulator imports it (its own directory is first on sys.path) and calls
set_prog(PROG) before anything logs.

It holds the command-line failure (Fatal, die), the UTC clock and the log
line; atomic state-file writes and strict JSON; PEM keys and certificates
and the making of the test CAs and certificates with `cryptography`; the
parts of init, issue-client and serve that every simulator has (the TLS
CAs and server certificate, the client-certificate request checks and
issuing, the state files serve needs, listening); and the HTTPS plumbing: the TLS server context, the threading server (TLS
handshake in the connection's own thread, lingering close), the request
handler base (header limits, Content-Length or chunked bodies, dispatch of
/sim/ and service paths) and the serve loop (ready file, SIGTERM/SIGINT,
letting requests in progress finish). What each simulator answers, and
how it words a refusal, stays in the simulator.
"""

import collections
import datetime
import http.server
import ipaddress
import json
import os
import re
import signal
import socket
import socketserver
import ssl
import sys
import threading
import time
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

MAX_HEADER_BYTES = 16 * 1024    # all request header lines together
HANDSHAKE_TIMEOUT = 10.0        # seconds for the TLS handshake
IDLE_TIMEOUT = 30.0             # seconds a socket read may block (keep-alive idle)
BODY_DEADLINE = 30.0            # seconds to receive one whole body

_prog = "sim"


def set_prog(name):
    """Name the simulator in log lines (its PROG)."""
    global _prog
    _prog = name


class Fatal(Exception):
    """A command-line failure: one line on stderr, exit 1."""


def die(msg):
    raise Fatal(msg)


def utcnow():
    return datetime.datetime.now(datetime.timezone.utc)


def iso_utc(t=None):
    return (t or utcnow()).strftime("%Y-%m-%dT%H:%M:%SZ")


def log(msg):
    sys.stderr.write("%s %s: %s\n" % (iso_utc(), _prog, msg))
    sys.stderr.flush()


# ---------------------------------------------------------------- files

def atomic_write(path, data, mode=0o644):
    """Write DATA to PATH via a temporary file, fsync and rename."""
    path = os.fspath(path)
    d = os.path.dirname(os.path.abspath(path))
    tmp = os.path.join(d, ".%s.tmp.%d.%d" % (os.path.basename(path), os.getpid(),
                                             threading.get_ident()))
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    dfd = os.open(d, os.O_RDONLY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)


def strict_json(data):
    """Parse JSON (bytes, or text) strictly: UTF-8, no duplicate members,
    no NaN/Infinity. Raises ValueError with a short reason."""
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError:
            raise ValueError("body is not UTF-8") from None

    def pairs(items):
        obj = {}
        for k, v in items:
            if k in obj:
                raise ValueError("duplicate member %r" % k)
            obj[k] = v
        return obj

    def constant(name):
        raise ValueError("%s is not JSON" % name)

    try:
        return json.loads(data, object_pairs_hook=pairs, parse_constant=constant)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None
    except json.JSONDecodeError as e:
        raise ValueError("malformed JSON: %s" % e.msg) from None


def dump_json(obj):
    return (json.dumps(obj, indent=2, sort_keys=True) + "\n").encode()


# ---------------------------------------------------------------- keys and certificates

def load_key(path):
    with open(path, "rb") as f:
        return serialization.load_pem_private_key(f.read(), None)


def load_cert(path):
    with open(path, "rb") as f:
        return x509.load_pem_x509_certificate(f.read())


def write_key(path, key):
    atomic_write(path, key.private_bytes(serialization.Encoding.PEM,
                                         serialization.PrivateFormat.PKCS8,
                                         serialization.NoEncryption()), 0o600)


def write_cert(path, cert):
    atomic_write(path, cert.public_bytes(serialization.Encoding.PEM))


def cert_not_before(cert):
    t = getattr(cert, "not_valid_before_utc", None)
    return t if t is not None else cert.not_valid_before.replace(tzinfo=datetime.timezone.utc)


def cert_not_after(cert):
    t = getattr(cert, "not_valid_after_utc", None)
    return t if t is not None else cert.not_valid_after.replace(tzinfo=datetime.timezone.utc)


def name_from(pairs):
    return x509.Name([x509.NameAttribute(oid, value) for oid, value in pairs])


def ku(*, sign=False, nonrep=False, encipher=False, ca=False):
    """A keyUsage extension value."""
    return x509.KeyUsage(digital_signature=sign, content_commitment=nonrep,
                         key_encipherment=encipher, data_encipherment=False,
                         key_agreement=False, key_cert_sign=ca, crl_sign=ca,
                         encipher_only=False, decipher_only=False)


def days_from_now(days):
    """(notBefore, notAfter): five minutes ago, DAYS days from now."""
    now = utcnow()
    return now - datetime.timedelta(minutes=5), now + datetime.timedelta(days=days)


def build_cert(subject, pubkey, issuer_cert, issuer_key, not_before, not_after, *, ca,
               key_usage, eku=None, san=None, path_length=0):
    """A certificate signed with ISSUER_KEY (SHA-256); ISSUER_CERT None
    makes it self-signed. basicConstraints (a CA's pathLenConstraint is
    PATH_LENGTH) and keyUsage are critical."""
    b = (x509.CertificateBuilder()
         .subject_name(subject)
         .issuer_name(issuer_cert.subject if issuer_cert is not None else subject)
         .public_key(pubkey)
         .serial_number(x509.random_serial_number())
         .not_valid_before(not_before)
         .not_valid_after(not_after)
         .add_extension(x509.BasicConstraints(ca=ca, path_length=path_length if ca else None), critical=True)
         .add_extension(key_usage, critical=True)
         .add_extension(x509.SubjectKeyIdentifier.from_public_key(pubkey), critical=False))
    aki_key = issuer_cert.public_key() if issuer_cert is not None else pubkey
    b = b.add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(aki_key), critical=False)
    if eku:
        b = b.add_extension(x509.ExtendedKeyUsage(eku), critical=False)
    if san:
        b = b.add_extension(x509.SubjectAlternativeName(san), critical=False)
    return b.sign(issuer_key, hashes.SHA256())


def ensure_ca(d, name, subject, path_length=0):
    """Load DIR/NAME.pem+.key or make a new self-signed RSA-2048 CA (ten
    years; PATH_LENGTH CAs may be below it). Returns (key, cert)."""
    pem, keyf = os.path.join(d, name + ".pem"), os.path.join(d, name + ".key")
    if os.path.exists(pem) and os.path.exists(keyf):
        return load_key(keyf), load_cert(pem)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = build_cert(subject, key.public_key(), None, key, *days_from_now(3650), ca=True,
                      key_usage=ku(sign=True, ca=True), path_length=path_length)
    write_key(keyf, key)
    write_cert(pem, cert)
    return key, cert


def signed_by(cert, issuer):
    """True when CERT names ISSUER and ISSUER's RSA key verifies its
    signature (an issuer with any other key type: False)."""
    pub = issuer.public_key()
    if not isinstance(pub, rsa.RSAPublicKey):
        return False
    try:
        pub.verify(cert.signature, cert.tbs_certificate_bytes, padding.PKCS1v15(),
                   cert.signature_hash_algorithm)
    except (InvalidSignature, UnsupportedAlgorithm, ValueError, TypeError):
        return False
    return cert.issuer == issuer.subject


def ensure_leaf(d, name, ca_key, ca_cert, bits, make):
    """Keep DIR/NAME.pem+.key when both exist and the certificate is CA's
    (signed_by) for that key; otherwise write MAKE(public key) as the
    certificate, with a new key only when none exists: RSA of BITS, or
    BITS() when it is a function (another key type)."""
    pem, keyf = os.path.join(d, name + ".pem"), os.path.join(d, name + ".key")
    key = load_key(keyf) if os.path.exists(keyf) else None
    if key is not None and os.path.exists(pem):
        cert = load_cert(pem)
        if signed_by(cert, ca_cert) and cert.public_key().public_numbers() == \
                key.public_key().public_numbers():
            return
    if key is None:
        key = bits() if callable(bits) else rsa.generate_private_key(public_exponent=65537,
                                                                      key_size=bits)
        write_key(keyf, key)
    write_cert(pem, make(key.public_key()))


# ---------------------------------------------------------------- init

def init_tls_state(d, attrs, sim_name, client_ca_cn):
    """init's start, the same in every simulator: DIR and DIR/issued (mode
    0700); server-ca.pem/.key ("SIM_NAME server CA"); server.pem/.key
    (RSA-2048, serverAuth, for localhost, 127.0.0.1 and ::1, signed by
    server-ca); client-ca.pem/.key (CN CLIENT_CA_CN). Every name is the
    ATTRS (name_from pairs) followed by its CN. What exists is kept."""
    os.makedirs(d, mode=0o700, exist_ok=True)
    os.makedirs(os.path.join(d, "issued"), mode=0o700, exist_ok=True)
    skey, scert = ensure_ca(d, "server-ca", name_from(attrs + [(NameOID.COMMON_NAME,
                                                                 sim_name + " server CA")]))
    ensure_leaf(d, "server", skey, scert, 2048, lambda pub: build_cert(
        name_from(attrs + [(NameOID.COMMON_NAME, "localhost")]), pub, scert, skey,
        *days_from_now(825), ca=False, key_usage=ku(sign=True, encipher=True),
        eku=[ExtendedKeyUsageOID.SERVER_AUTH],
        san=[x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
             x509.IPAddress(ipaddress.ip_address("::1"))]))
    ensure_ca(d, "client-ca", name_from(attrs + [(NameOID.COMMON_NAME, client_ca_cn)]))


# ---------------------------------------------------------------- issue-client

def client_csr(args, check_key):
    """issue-client's checks, in this order, each failure a die() naming
    it: the client CA in --state, --days 1..3650, --csr a readable PKCS#10
    request (PEM or DER) with a supported public key, which CHECK_KEY(pub)
    accepts (it dies in the simulator's own words otherwise), signed with
    SHA-256, -384 or -512, a valid self-signature, a non-empty subject.
    Returns (ca_key, ca_cert, csr, pub)."""
    d = args.state
    try:
        ca_key = load_key(os.path.join(d, "client-ca.key"))
        ca_cert = load_cert(os.path.join(d, "client-ca.pem"))
    except (OSError, ValueError) as e:
        die("issue-client: no client CA in %s (run init first): %s" % (d, e))
    if not 1 <= args.days <= 3650:
        die("issue-client: --days must be 1..3650")
    try:
        with open(args.csr, "rb") as f:
            raw = f.read()
    except OSError as e:
        die("issue-client: %s: %s" % (args.csr, e.strerror))
    try:
        if raw.lstrip().startswith(b"-----BEGIN"):
            csr = x509.load_pem_x509_csr(raw)
        else:
            csr = x509.load_der_x509_csr(raw)
    except ValueError:
        die("issue-client: %s is not a PKCS#10 certificate request (PEM or DER)" % args.csr)
    try:
        pub = csr.public_key()
    except (ValueError, UnsupportedAlgorithm):
        die("issue-client: the CSR's public key is not supported")
    check_key(pub)
    try:
        alg = csr.signature_hash_algorithm
    except UnsupportedAlgorithm:
        alg = None
    if not isinstance(alg, (hashes.SHA256, hashes.SHA384, hashes.SHA512)):
        die("issue-client: the CSR must be signed with SHA-256, SHA-384 or SHA-512")
    if not csr.is_signature_valid:
        die("issue-client: the CSR's self-signature does not verify")
    if len(csr.subject) == 0:
        die("issue-client: the CSR has an empty subject")
    return ca_key, ca_cert, csr, pub


def issue_client_cert(args, ca_key, ca_cert, csr, pub):
    """The client certificate for a CSR that client_csr accepted: its
    subject and key, signed by the client CA, valid --days from now,
    digitalSignature and clientAuth. Written to --out and to
    DIR/issued/<serial hex>.pem; returned."""
    cert = build_cert(csr.subject, pub, ca_cert, ca_key, *days_from_now(args.days), ca=False,
                      key_usage=ku(sign=True), eku=[ExtendedKeyUsageOID.CLIENT_AUTH])
    write_cert(args.out, cert)
    os.makedirs(os.path.join(args.state, "issued"), mode=0o700, exist_ok=True)
    write_cert(os.path.join(args.state, "issued", "%x.pem" % cert.serial_number), cert)
    return cert


# ---------------------------------------------------------------- command line

def add_issue_client_arguments(p):
    """issue-client's --state, --csr, --out and --days (default 365), as
    client_csr and issue_client_cert read them (argparse)."""
    p.add_argument("--state", required=True)
    p.add_argument("--csr", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--days", type=int, default=365)


def add_serve_arguments(p):
    """serve's --state, --host, --port and --ready-file (argparse)."""
    p.add_argument("--state", required=True)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--ready-file")


def run_command(commands, args):
    """COMMANDS[args.cmd](args); a Fatal or an OSError is one line on
    stderr and exit status 1."""
    try:
        return commands[args.cmd](args)
    except Fatal as e:
        print("%s: %s" % (_prog, e), file=sys.stderr)
        return 1
    except OSError as e:
        print("%s: %s: %s" % (_prog, getattr(e, "filename", "") or "", e.strerror or e), file=sys.stderr)
        return 1


# ---------------------------------------------------------------- serve

def check_listen_address(host, port, why=" (the simulator serves 127.0.0.1 only)"):
    """serve's --host (a loopback IP address) and --port (0..65535); WHY
    ends the refusal of an address that is not loopback."""
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        die("serve: --host must be a loopback IP address")
    if not ip.is_loopback:
        die("serve: --host must be a loopback address" + why)
    if not 0 <= port <= 65535:
        die("serve: --port must be 0..65535")


def require_state(d, names, prefix="serve: "):
    """Dies "PREFIX DIR has no NAME (run init first)" for the first of
    NAMES missing in DIR."""
    for f in names:
        if not os.path.exists(os.path.join(d, f)):
            die("%s%s has no %s (run init first)" % (prefix, d, f))


def listen(server_class, args, handler, sim, ctx):
    """A SERVER_CLASS(addr, HANDLER, SIM, CTX) on --host and --port (dies
    when it cannot listen). Returns (server, host as it stands in a URL,
    the port it listens on)."""
    try:
        server = server_class((args.host, args.port), handler, sim, ctx)
    except OSError as e:
        die("serve: cannot listen on %s port %d: %s" % (args.host, args.port, e.strerror))
    host = "[%s]" % args.host if ":" in args.host else args.host
    return server, host, server.server_address[1]


def server_tls_context(cert_file, key_file, client_ca_file=None):
    """TLS 1.2 and 1.3 with CERT_FILE/KEY_FILE, no compression. With
    CLIENT_CA_FILE a client certificate is requested, not required, at the
    TLS layer (so /sim/* works without one); one that is presented must
    chain to that CA, or the handshake fails. Without it none is requested."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.maximum_version = ssl.TLSVersion.TLSv1_3
    ctx.load_cert_chain(cert_file, key_file)
    if client_ca_file is not None:
        ctx.verify_mode = ssl.CERT_OPTIONAL
        ctx.verify_flags |= ssl.VERIFY_X509_STRICT
        ctx.load_verify_locations(client_ca_file)
    ctx.options |= ssl.OP_NO_COMPRESSION
    return ctx


class BodyError(Exception):
    """The request's framing or body is refused: STATUS, DESC. Each
    simulator turns it into its own kind of answer."""

    def __init__(self, status, desc):
        super().__init__(desc)
        self.status, self.desc = status, desc


class BaseHandler(http.server.BaseHTTPRequestHandler):
    """HTTP/1.1 plumbing: header limits, bodies, dispatch. A subclass sets
    server_version and max_body and has send_error, sim_route(path, query)
    and service(url)."""

    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; without TCP_NODELAY the
    # second waits for the client's delayed ACK (40 ms) on every answer.
    disable_nagle_algorithm = True
    sys_version = ""
    timeout = IDLE_TIMEOUT
    max_body = 1024 * 1024
    length_required = True          # POST/PUT/PATCH without a body framing: 411
    absolute_path_only = True       # a request target other than /...: 400

    def version_string(self):
        return self.server_version

    def setup(self):
        super().setup()
        self.sim = self.server.sim
        self.body_read = False

    def log_message(self, fmt, *a):
        pass    # the simulator logs one line per request instead

    def log_error(self, fmt, *a):
        log("%s: %s" % (self.address_string(), fmt % a))

    def parse_request(self):
        self.body_read = False
        if not super().parse_request():
            return False
        if sum(len(k) + len(v) + 4 for k, v in self.headers.items()) > MAX_HEADER_BYTES:
            self.send_error(431, "request headers larger than %d bytes" % MAX_HEADER_BYTES)
            return False
        if self.request_version == "HTTP/1.1" and len(self.headers.get_all("Host") or []) != 1:
            self.send_error(400, "HTTP/1.1 request needs exactly one Host header")
            return False
        for h in ("Content-Length", "Content-Type", "Transfer-Encoding"):
            if len(self.headers.get_all(h) or []) > 1:
                self.send_error(400, "more than one %s header" % h)
                return False
        if self.absolute_path_only and not self.path.startswith("/"):
            self.send_error(400, "request target must be an absolute path")
            return False
        return True

    def read_exact(self, n, deadline):
        chunks, left = [], n
        while left > 0:
            if time.monotonic() > deadline:
                raise BodyError(408, "request body not received in time")
            b = self.rfile.read(min(left, 65536))
            if not b:
                raise BodyError(400, "connection closed inside the body")
            chunks.append(b)
            left -= len(b)
        return b"".join(chunks)

    def read_body(self):
        """The request body (Content-Length or chunked, at most max_body).
        Raises BodyError."""
        deadline = time.monotonic() + BODY_DEADLINE
        cl = self.headers.get("Content-Length")
        te = self.headers.get("Transfer-Encoding")
        if cl is not None and te is not None:
            raise BodyError(400, "both Content-Length and Transfer-Encoding")
        if cl is not None:
            if not cl.isascii() or not cl.strip().isdigit():
                raise BodyError(400, "malformed Content-Length")
            if int(cl) > self.max_body:
                raise BodyError(413, "request body larger than %d bytes" % self.max_body)
            body = self.read_exact(int(cl), deadline)
        elif te is not None:
            if te.strip().lower() != "chunked":
                raise BodyError(501, "Transfer-Encoding %s not supported" % te[:40])
            body = self.read_chunked(deadline)
        elif self.length_required and self.command in ("POST", "PUT", "PATCH"):
            raise BodyError(411, "Content-Length required")
        else:
            body = b""      # neither header: no body (RFC 9112 section 6.3)
        self.body_read = True
        return body

    def read_chunked(self, deadline):
        out = bytearray()
        while True:
            line = self.rfile.readline(1024)
            if not line.endswith(b"\r\n"):
                raise BodyError(400, "malformed chunk size line")
            size = line[:-2].split(b";", 1)[0].strip()
            if not re.fullmatch(rb"[0-9A-Fa-f]{1,8}", size):
                raise BodyError(400, "malformed chunk size")
            n = int(size, 16)
            if n == 0:
                break
            if len(out) + n > self.max_body:
                raise BodyError(413, "request body larger than %d bytes" % self.max_body)
            out += self.read_exact(n, deadline)
            if self.read_exact(2, deadline) != b"\r\n":
                raise BodyError(400, "chunk not followed by CRLF")
        for _ in range(32):     # trailers
            line = self.rfile.readline(1024)
            if line == b"\r\n":
                return bytes(out)
            if not line.endswith(b"\r\n"):
                break
        raise BodyError(400, "malformed chunked trailer")

    def dispatch(self):
        with self.server.active_lock:
            self.server.active += 1
        try:
            url = urlsplit(self.path)
            if url.path.startswith("/sim/"):
                self.sim_route(url.path, url.query)
            else:
                self.service(url)
        finally:
            with self.server.active_lock:
                self.server.active -= 1

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_HEAD = dispatch


class RequestLog:
    """The last MAXLEN captured requests (dicts) for /sim/requests, oldest
    first, each given "seq" 1, 2, ... as it is captured."""

    def __init__(self, maxlen):
        self.lock = threading.Lock()
        self.records = collections.deque(maxlen=maxlen)
        self.seq = 0

    def capture(self, rec):
        with self.lock:
            self.seq += 1
            rec["seq"] = self.seq
            self.records.append(rec)

    def list(self):
        with self.lock:
            return list(self.records)

    def clear(self):
        with self.lock:
            self.records.clear()


def close_tls(tls):
    """close_notify (unless drop_hard marked TLS), then a lingering close:
    half-close and drain briefly so unread client bytes (a refused large
    body) do not turn the last answer into a reset."""
    try:
        if not getattr(tls, "_sim_drop", False):
            tls.settimeout(1.0)
            try:
                tls.unwrap()     # close_notify
            except (OSError, ssl.SSLError, ValueError):
                pass
        raw = socket.socket(fileno=os.dup(tls.fileno())) if tls.fileno() >= 0 else None
        if raw is not None:
            try:
                raw.shutdown(socket.SHUT_WR)
                raw.settimeout(0.5)
                end = time.monotonic() + 1.0
                while time.monotonic() < end and raw.recv(65536):
                    pass
            except OSError:
                pass
            finally:
                raw.close()
    finally:
        try:
            tls.close()
        except OSError:
            pass


class TLSServer(socketserver.ThreadingMixIn, http.server.HTTPServer):
    """The threading HTTPS server: SIM and the TLS context CTX for HANDLER.
    A subclass may record failed handshakes (handshake_failed)."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, addr, handler, sim, ctx):
        self.sim, self.ctx = sim, ctx
        self.active, self.active_lock = 0, threading.Lock()
        if ":" in addr[0]:
            self.address_family = socket.AF_INET6
        super().__init__(addr, handler)

    def server_bind(self):
        socketserver.TCPServer.server_bind(self)      # no reverse DNS lookup
        self.server_name, self.server_port = self.server_address[:2]

    def drop_hard(self, tls):
        """Mark TLS so finish_request closes it without a close_notify."""
        tls._sim_drop = True

    def handshake_failed(self, client_address, reason):
        """Called when a TLS handshake fails, before it is logged."""

    def finish_request(self, request, client_address):
        # The TLS handshake runs here, in the connection's own thread, with a
        # timeout, so a slow or hostile client cannot stall the accept loop.
        request.settimeout(HANDSHAKE_TIMEOUT)
        try:
            tls = self.ctx.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError) as e:
            reason = getattr(e, "reason", None) or str(e)
            if getattr(e, "verify_message", None):
                reason += ": " + e.verify_message
            self.handshake_failed(client_address, reason)
            log("%s:%s TLS handshake failed: %s" % (client_address[0], client_address[1], reason))
            return
        try:
            self.RequestHandlerClass(tls, client_address, self)
        except (OSError, ssl.SSLError):
            pass
        finally:
            close_tls(tls)

    def shutdown_request(self, request):
        # finish_request closed the TLS socket; the raw one is detached.
        try:
            request.close()
        except OSError:
            pass

    def handle_error(self, request, client_address):
        log("%s: %s" % (client_address, sys.exc_info()[1]))


def serve_until_signal(server, ready, ready_file, listening):
    """Write READY (JSON) to READY_FILE (atomically) and stdout, log
    LISTENING and serve until SIGTERM/SIGINT; then let requests in progress
    finish (5 s at most), close, remove READY_FILE. Returns 0."""
    stopping = threading.Event()

    def on_signal(signum, frame):
        if not stopping.is_set():
            stopping.set()
            threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    if ready_file:
        atomic_write(ready_file, (json.dumps(ready) + "\n").encode())
    print(json.dumps(ready), flush=True)
    log(listening)
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        end = time.monotonic() + 5.0      # let requests in progress finish
        while time.monotonic() < end:
            with server.active_lock:
                if server.active == 0:
                    break
            time.sleep(0.05)
        server.server_close()
        if ready_file:
            try:
                os.unlink(ready_file)
            except OSError:
                pass
        log("stopped")
    return 0
