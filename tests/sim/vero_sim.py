#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""vero_sim: a strict local stand-in for the Finnish Tax Administration's
certificate service (Incomes Register "vero-certservice").

It speaks the SOAP 1.1 interface of CertificateServices.wsdl/.xsd v1.01
(tests/sim/vero-certservice/) as docs/authorities.md section 2 describes it:
signNewCertificate, renewCertificate and getCertificate, over HTTPS. Every
check uses library APIs: lxml (libxml2) for parsing and XSD validation,
python-xmlsec (libxmlsec1) for XML-DSig, `cryptography` for CSRs and
certificates. Run it with /usr/bin/python3 (Debian's python3-lxml,
python3-xmlsec, python3-cryptography).

Sub-commands:
  init          --state DIR
  add-transfer  --state DIR --customer-id ID [--transfer-id ID] [--days N]
                [--password-file FILE]
  issue         --state DIR --csr FILE --customer-id ID [--customer-name N]
                --out FILE [--lifetime-s N] [--not-before-offset-s N]
  serve         --state DIR [--host 127.0.0.1] [--port N] [--ready-file FILE]
                [--environment TEST|PRODUCTION] [--cert-lifetime-s N]
                [--not-ready-polls N] [--fail-polls N] [--clock-offset-s N]

init makes what is missing in DIR and keeps what exists: server-ca.pem/.key,
server.pem/.key (127.0.0.1, ::1, localhost; the gateway's ca_file is
server-ca.pem), client-ca.pem/.key (issues the customer certificates),
service-ca.pem/.key and service.pem/.key (RSA-2048, signs every response;
the gateway's response_signer_ca_file is service-ca.pem), transfers.json,
retrievals.json, counts.json and issued/ (<serial hex>.pem of every customer
certificate issued). State files are written atomically (temporary file,
fsync, rename) under an flock on DIR/.lock, so the sub-commands may run
while serve does; everything in DIR survives a restart.

add-transfer makes a transfer credential: a random TransferId (24 of A-Z0-9)
unless --transfer-id is given, a random 16-character TransferPassword,
valid --days (default 14; 0 expires at once) from now. It prints
{"transfer_id","password","customer_id","expires"} and, with
--password-file, writes the password (no newline) to FILE, mode 0600.

issue issues a customer certificate from a CSR (PEM or DER, same key rules
as the service) without the SOAP interface, for tests that need a
certificate that is expired or inside the renewal window: notBefore = now +
--not-before-offset-s (default 0, may be negative), notAfter = notBefore +
--lifetime-s (default 730 days). It is recorded under issued/ like the
certificates the service issues (it is not counted) and prints
{"serial","not_before","not_after"}.

serve listens on --host (loopback only) and --port (0 = ephemeral) and
writes --ready-file atomically once the socket listens: {"url":
"https://127.0.0.1:PORT/2017/10/CertificateServices","port","pid","sim_url",
"ca_file","response_signer_ca_file","client_ca_file","state"}; removed at
exit (SIGTERM/SIGINT). TLS 1.2 and 1.3 with server.pem; no client
certificate is requested anywhere.

Sim clock: real UTC time + clock_offset_s. It decides transfer expiry (also
for transfers made by POST /sim/transfers), certificate validity and the
renewal window, and dates the certificates the service issues (notBefore =
sim now, notAfter = sim now + cert_lifetime_s): with an offset the issued
certificates are dated in the sim's future or past. The sub-commands use
the real clock.

The service: POST /2017/10/CertificateServices (no query string).
Request framing, in this order; each refusal is a SOAP 1.1 Fault (HTTP 500
with faultcode soap:Client, or the status named) and is not signed:
  - body larger than 1 MiB: 413; other paths 404, other methods 405;
  - Content-Type text/xml, optionally with charset=utf-8 (case-insensitive,
    quotes allowed) and no other parameter;
  - exactly one SOAPAction header, signNewCertificate | renewCertificate |
    getCertificate, with or without surrounding double quotes;
  - well-formed XML, UTF-8, no DOCTYPE, no processing instructions;
  - root {http://schemas.xmlsoap.org/soap/envelope/}Envelope (a SOAP 1.2
    envelope: faultcode soap:VersionMismatch); its element children an
    optional Header and one Body; a Header entry with mustUnderstand="1":
    faultcode soap:MustUnderstand; no text in Envelope or Body;
  - exactly one Body child, {http://certificates.vero.fi/2017/10/
    certificateservices}SignNewCertificateRequest | RenewCertificateRequest |
    GetCertificateRequest, matching the SOAPAction;
  - that element, copied out into a document of its own, valid against
    CertificateServices.xsd (and CertificateRequest strictly base64, which
    libxml2 does not enforce); the faultstring names the schema error.
An internal error is HTTP 500 faultcode soap:Server.

Business answers are HTTP 200 <ns2:*Response> with Result/Status OK or
FAIL; a FAIL has one ErrorInfo {ErrorCode, ErrorMessage} (more with the
extra_errors fault) and no RetrievalId or Certificate. The ErrorCode is
always PKI020, the one code a public client shows (docs/authorities.md);
the ErrorMessage says what was refused, and /sim/requests records which
check did as a reason label (never sent):
  environment       Environment is not the one serve runs as (--environment)
  transfer_invalid  unknown TransferId, or wrong TransferPassword (one message
                    for both; /sim/requests says which). Nothing is consumed.
  transfer_used     the transfer credential was used already
  transfer_expired  the transfer credential is past its expiry
  customer_id       CustomerId differs from the transfer's, the retrieval's or
                    the renewal certificate's CN
  csr_invalid       CertificateRequest is not a DER PKCS#10 request or its
                    self-signature does not verify
  csr_key           the CSR's key is not RSA of exactly 2048 bits
  csr_sigalg        the CSR is not signed with sha256WithRSAEncryption
  key_not_new       renewal CSR has the key of the current certificate
  signature         renewal XML signature: not the profile below, no usable
                    KeyInfo certificate, or it does not verify
  cert_unknown      the KeyInfo certificate is not one this service issued
                    (issued/) or does not chain to client-ca.pem
  cert_not_valid    the KeyInfo certificate is not valid yet (sim clock)
  cert_expired      the KeyInfo certificate has expired (sim clock)
  too_early         renewal before notAfter - 60 days (sim clock)
  retrieval_id      unknown RetrievalId
  not_ready         getCertificate within fail_polls (below)
Each operation checks in the order given below; the first failure answers.
Only a fully successful SignNew uses up its transfer. The count
"transfer_rejects" records the transfer_* and transfer customer_id refusals;
a transfer's "password_failures" its wrong passwords (it is never locked).

signNewCertificate: Environment; transfer known and password equal
(constant-time); CustomerId equal to the transfer's; not used; not expired;
the CSR. On success: the transfer is marked used, a certificate is issued
at once (subject C=FI, O=CustomerName when given, CN=CustomerId; only the
CSR's public key is used; issuer client-ca.pem; random serial; keyUsage
digitalSignature (critical), extendedKeyUsage clientAuth), and the answer
is RetrievalId (32 hex digits) + Result OK.
renewCertificate: Environment; the signature (profile, then verification
with python-xmlsec using only the key of the KeyInfo certificate, over the
RenewCertificateRequest element copied out into its own document); the
certificate issued by this service and chaining to client-ca.pem; valid
now; CN = CustomerId; inside the renewal window; the new CSR (as SignNew)
with a key other than the certificate's. Success: a retrieval as SignNew.
getCertificate: Environment; RetrievalId known; CustomerId equal to the
retrieval's. Then, counting the Gets of that retrieval: the first
fail_polls (default 0, --fail-polls) answer FAIL (reason not_ready), the
next not_ready_polls (default 2, --not-ready-polls) Status OK with no
Certificate and no ErrorInfo; later Gets (any number) answer Certificate
(base64 DER, no line breaks) + Result OK. A retrieval can be fetched again
and again; the simulator never declares it dead.

Signature profile (renewal requests, and every response the service
signs): one ds:Signature, the last child of the request/response element;
enveloped over that element as a document of its own; SignedInfo:
CanonicalizationMethod http://www.w3.org/2001/10/xml-exc-c14n#,
SignatureMethod http://www.w3.org/2001/04/xmldsig-more#rsa-sha256, exactly
one Reference URI="" with Transforms exactly [enveloped-signature,
exc-c14n] (no InclusiveNamespaces) and DigestMethod
http://www.w3.org/2001/04/xmlenc#sha256; KeyInfo exactly one X509Data with
exactly one X509Certificate (base64 DER); no ds:Object.

Responses: Content-Type text/xml; charset=utf-8; the body is
  <?xml version="1.0" encoding="utf-8"?>LF
  <soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>
  RESPONSE</soap:Body></soap:Envelope>
(no other line breaks outside RESPONSE) where RESPONSE is
<ns2:SignNewCertificateResponse xmlns:ns2="http://certificates.vero.fi/
2017/10/certificateservices"> (or Renew.../Get...) with unqualified
children, built as a document of its own, checked against the XSD, signed
with service.key (KeyInfo: service.pem; xmlsec puts line breaks inside
ds:Signature) and embedded byte for byte; a client that copies it out of
the Body verifies it with the service CA.

Test interface (same origin, no client certificate; JSON; errors are 4xx
{"error": "..."}; POST bodies are JSON objects, Content-Type
application/json):
  GET  /sim/health          {"status":"ok","environment"}
  GET  /sim/requests        {"requests":[... last 200 SOAP requests, oldest
                            first: {"seq","time","path","operation",
                            "soap_action","status","outcome","body_b64",
                            "body_bytes","response_b64"} ...]}; body_b64 holds
                            the exact bytes received (at most 64 KiB, then
                            "body_truncated":true); outcome is "OK ...",
                            "FAIL CODE: reason" or "FAULT faultcode: reason"
  POST /sim/reset-requests  forget them
  GET  /sim/config          {"cert_lifetime_s","not_ready_polls","fail_polls",
                            "clock_offset_s","tamper_responses","extra_errors"}
                            (tamper_responses 1: every signed response gets a
                            space inside Result after signing, so its signature
                            no longer verifies; extra_errors: a list of at most
                            20 {"code","message"} added as ErrorInfo elements
                            after the refusal's own to every FAIL answer)
  POST /sim/config          the same members (those given are changed);
                            answers the new settings. Not persisted.
  GET  /sim/transfers       {"transfers":[{"transfer_id","customer_id","used",
                            "used_at","expires","created","password_failures"}]}
                            (never the passwords)
  POST /sim/transfers       {"customer_id", "days"?} -> {"transfer_id",
                            "password","customer_id","expires"} (sim clock)
  GET  /sim/counts          {"sign_new","renew","get","issued","transfer_rejects"}:
                            business requests per operation (those past the
                            framing and schema checks, whatever their
                            result), certificates issued by the service, and
                            transfer credential refusals; kept in counts.json.
"""

import argparse
import base64
import binascii
import contextlib
import copy
import datetime
import fcntl
import hmac
import http
import itertools
import json
import os
import re
import secrets
import string
import sys
import threading
import traceback

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, SignatureAlgorithmOID
from lxml import etree
import xmlsec

import simcommon
from simcommon import (add_serve_arguments, atomic_write, build_cert, cert_not_after,
                       cert_not_before, check_listen_address, days_from_now, die, dump_json,
                       ensure_ca, ensure_leaf, init_tls_state, iso_utc, ku, listen, load_cert,
                       load_key, log, name_from, require_state, run_command, serve_until_signal,
                       server_tls_context, signed_by, strict_json, utcnow, write_cert)

PROG = "vero_sim"
simcommon.set_prog(PROG)
SERVICE_PATH = "/2017/10/CertificateServices"
NS = "http://certificates.vero.fi/2017/10/certificateservices"
SOAP_NS = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12_NS = "http://www.w3.org/2003/05/soap-envelope"
DS_NS = "http://www.w3.org/2000/09/xmldsig#"
ALG_EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#"
ALG_ENVELOPED = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
ALG_RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
ALG_SHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"
SCHEMA_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                           "vero-certservice", "CertificateServices.xsd")

# SOAPAction -> (request element, response element, counts key)
OPERATIONS = {
    "signNewCertificate": ("SignNewCertificateRequest", "SignNewCertificateResponse", "sign_new"),
    "renewCertificate": ("RenewCertificateRequest", "RenewCertificateResponse", "renew"),
    "getCertificate": ("GetCertificateRequest", "GetCertificateResponse", "get"),
}
COUNT_KEYS = ("sign_new", "renew", "get", "issued", "transfer_rejects")

DAY = 86400
DEFAULT_LIFETIME_S = 730 * DAY
MAX_LIFETIME_S = 20 * 365 * DAY
RENEWAL_WINDOW = datetime.timedelta(days=60)
DEFAULT_TRANSFER_DAYS = 14
MAX_BODY = 1024 * 1024          # request bodies
CAPTURE_MAX = 200               # requests kept for /sim/requests
CAPTURE_BODY_MAX = 64 * 1024    # body bytes kept per captured request
ID_ALPHABET = string.ascii_uppercase + string.digits
PASSWORD_ALPHABET = string.ascii_letters + string.digits
BASE64_RE = re.compile(r"(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?")


def parse_iso_utc(s):
    return datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)


# ---------------------------------------------------------------- files and state

class StateDir:
    """The files in --state DIR. load/save only inside `with locked():`,
    which takes an flock on DIR/.lock (between processes and threads)."""

    def __init__(self, d):
        self.dir = d

    def path(self, *parts):
        return os.path.join(self.dir, *parts)

    @contextlib.contextmanager
    def locked(self):
        fd = os.open(self.path(".lock"), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def load(self, name):
        with open(self.path(name), "rb") as f:
            obj = strict_json(f.read())
        if not isinstance(obj, dict):
            raise ValueError("%s: not a JSON object" % self.path(name))
        return obj

    def save(self, name, obj):
        atomic_write(self.path(name), dump_json(obj), 0o600)

    def bump(self, key, n=1):
        counts = self.load("counts.json")
        counts[key] = counts.get(key, 0) + n
        self.save("counts.json", counts)

    def record_issued(self, cert):
        write_cert(self.path("issued", "%x.pem" % cert.serial_number), cert)

    def issued_cert(self, serial):
        """The certificate recorded under issued/ for SERIAL, or None."""
        try:
            return load_cert(self.path("issued", "%x.pem" % serial))
        except FileNotFoundError:
            return None


def der(cert):
    return cert.public_bytes(serialization.Encoding.DER)


# ---------------------------------------------------------------- certificates

def customer_subject(customer_id, customer_name):
    pairs = [(NameOID.COUNTRY_NAME, "FI")]
    if customer_name:
        pairs.append((NameOID.ORGANIZATION_NAME, customer_name))
    pairs.append((NameOID.COMMON_NAME, customer_id))
    return name_from(pairs)


def issue_customer_cert(state, ca_key, ca_cert, pubkey, customer_id, customer_name,
                        not_before, lifetime_s):
    """A customer (interface) certificate from the client CA, recorded under issued/."""
    cert = build_cert(customer_subject(customer_id, customer_name), pubkey, ca_cert, ca_key,
                      not_before, not_before + datetime.timedelta(seconds=lifetime_s), ca=False,
                      key_usage=ku(sign=True), eku=[ExtendedKeyUsageOID.CLIENT_AUTH])
    state.record_issued(cert)
    return cert


# The one ErrorCode a public source shows: OCA-Finland/dev-test
# account_vat_periods/tools/test_vero_test_certificate.py answers a
# SignNewCertificate with FAIL PKI020. What the real service sends for each
# case is not public, so every business refusal carries it; REASON (which
# check refused) goes to /sim/requests only, never on the wire.
ERROR_CODE = "PKI020"


class ServiceFail(Exception):
    """A business refusal: Result FAIL with ErrorInfo ERROR_CODE/MESSAGE.
    REASON and DETAIL (when given) are only recorded at /sim/requests."""

    def __init__(self, reason, message, detail=None):
        super().__init__(message)
        self.reason, self.message, self.detail = reason, message, detail
        self.code = ERROR_CODE


def check_csr(der_bytes):
    """A PKCS#10 request the service accepts: RSA-2048, sha256WithRSA, valid
    self-signature. Returns its public key; raises ServiceFail."""
    try:
        csr = x509.load_der_x509_csr(der_bytes)
    except ValueError:
        raise ServiceFail("csr_invalid", "CertificateRequest is not a DER PKCS#10 request") from None
    try:
        pub = csr.public_key()
    except (ValueError, UnsupportedAlgorithm):
        raise ServiceFail("csr_key", "the request's key type is not supported (RSA 2048 only)") from None
    if not isinstance(pub, rsa.RSAPublicKey):
        raise ServiceFail("csr_key", "the request's key is not RSA (RSA 2048 only)")
    if pub.key_size != 2048:
        raise ServiceFail("csr_key", "the request's RSA key has %d bits (2048 only)" % pub.key_size)
    if csr.signature_algorithm_oid != SignatureAlgorithmOID.RSA_WITH_SHA256:
        raise ServiceFail("csr_sigalg", "the request is not signed with sha256WithRSAEncryption (%s)"
                          % csr.signature_algorithm_oid.dotted_string)
    if not csr.is_signature_valid:
        raise ServiceFail("csr_invalid", "the request's self-signature does not verify")
    return pub


def public_key_der(key):
    return key.public_bytes(serialization.Encoding.DER,
                            serialization.PublicFormat.SubjectPublicKeyInfo)


def read_csr_file(path):
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as e:
        die("%s: %s" % (path, e.strerror))
    if raw.lstrip().startswith(b"-----BEGIN"):
        try:
            return x509.load_pem_x509_csr(raw).public_bytes(serialization.Encoding.DER)
        except ValueError:
            die("%s is not a PEM certificate request" % path)
    return raw


# ---------------------------------------------------------------- transfers

def is_normalized_string(s, max_len):
    return 1 <= len(s) <= max_len and not re.search(r"[\t\r\n]", s)


def new_transfer(state, customer_id, days, now, transfer_id=None):
    """Make and persist a transfer credential; returns its public JSON
    (with the password). Raises ValueError for bad parameters."""
    if not isinstance(customer_id, str) or not is_normalized_string(customer_id, 30):
        raise ValueError("customer id must be 1..30 characters without tab or line breaks")
    if not isinstance(days, int) or isinstance(days, bool) or not 0 <= days <= 3650:
        raise ValueError("days must be an integer from 0 to 3650")
    if transfer_id is not None and not is_normalized_string(transfer_id, 32):
        raise ValueError("transfer id must be 1..32 characters without tab or line breaks")
    password = "".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(16))
    expires = iso_utc(now + datetime.timedelta(days=days))
    with state.locked():
        transfers = state.load("transfers.json")
        tid = transfer_id or "".join(secrets.choice(ID_ALPHABET) for _ in range(24))
        if tid in transfers:
            raise ValueError("transfer id %s exists already" % tid)
        transfers[tid] = {"customer_id": customer_id, "password": password, "created": iso_utc(now),
                          "expires": expires, "used_at": None, "password_failures": 0}
        state.save("transfers.json", transfers)
    return {"transfer_id": tid, "password": password, "customer_id": customer_id, "expires": expires}


def transfer_list(state):
    with state.locked():
        transfers = state.load("transfers.json")
    return [{"transfer_id": tid, "customer_id": t["customer_id"], "used": t["used_at"] is not None,
             "used_at": t["used_at"], "expires": t["expires"], "created": t["created"],
             "password_failures": t["password_failures"]} for tid, t in sorted(transfers.items())]


# ---------------------------------------------------------------- sub-commands

def cmd_init(args):
    d = args.state
    test_o = (NameOID.ORGANIZATION_NAME, "vero-sim test")
    fi = (NameOID.COUNTRY_NAME, "FI")
    init_tls_state(d, [fi, test_o], "vero-sim", "vero-sim client CA")

    vkey, vcert = ensure_ca(d, "service-ca", name_from([fi, test_o, (NameOID.COMMON_NAME, "vero-sim service CA")]))
    ensure_leaf(d, "service", vkey, vcert, 2048, lambda pub: build_cert(
        name_from([fi, test_o, (NameOID.COMMON_NAME, "vero-sim certificate service")]), pub, vcert, vkey,
        *days_from_now(730), ca=False, key_usage=ku(sign=True)))

    state = StateDir(d)
    with state.locked():
        for name in ("transfers.json", "retrievals.json"):
            if not os.path.exists(state.path(name)):
                state.save(name, {})
        if not os.path.exists(state.path("counts.json")):
            state.save("counts.json", {k: 0 for k in COUNT_KEYS})
    return 0


def require_init(d):
    require_state(d, ("server.pem", "server.key", "client-ca.pem", "client-ca.key", "service.pem",
                      "service.key", "service-ca.pem", "transfers.json", "retrievals.json",
                      "counts.json"), prefix="")
    return StateDir(d)


def cmd_add_transfer(args):
    state = require_init(args.state)
    try:
        out = new_transfer(state, args.customer_id, args.days, utcnow(), args.transfer_id)
    except ValueError as e:
        die("add-transfer: %s" % e)
    if args.password_file:
        atomic_write(args.password_file, out["password"].encode(), 0o600)
    print(json.dumps(out))
    return 0


def cmd_issue(args):
    state = require_init(args.state)
    if not is_normalized_string(args.customer_id, 30):
        die("issue: --customer-id must be 1..30 characters without tab or line breaks")
    if args.customer_name is not None and not is_normalized_string(args.customer_name, 100):
        die("issue: --customer-name must be 1..100 characters without tab or line breaks")
    if not 1 <= args.lifetime_s <= MAX_LIFETIME_S:
        die("issue: --lifetime-s must be 1..%d" % MAX_LIFETIME_S)
    try:
        pub = check_csr(read_csr_file(args.csr))
    except ServiceFail as e:
        die("issue: %s: %s" % (args.csr, e.message))
    not_before = utcnow() + datetime.timedelta(seconds=args.not_before_offset_s)
    cert = issue_customer_cert(state, load_key(state.path("client-ca.key")),
                               load_cert(state.path("client-ca.pem")), pub, args.customer_id,
                               args.customer_name, not_before, args.lifetime_s)
    write_cert(args.out, cert)
    print(json.dumps({"serial": "%x" % cert.serial_number, "not_before": iso_utc(cert_not_before(cert)),
                      "not_after": iso_utc(cert_not_after(cert))}))
    return 0


# ---------------------------------------------------------------- SOAP and XML

class SoapFault(Exception):
    def __init__(self, faultstring, status=500, faultcode="soap:Client"):
        super().__init__(faultstring)
        self.faultstring, self.status, self.faultcode = faultstring, status, faultcode


def element_children(el):
    return [c for c in el if isinstance(c.tag, str)]


def has_text(el):
    """Non-whitespace character data directly inside EL."""
    parts = [el.text] + [c.tail for c in el]
    return any(p and p.strip() for p in parts)


def check_content_type(value):
    if value is None:
        raise SoapFault("Content-Type must be text/xml; charset=utf-8 (none was sent)")
    parts = [p.strip() for p in value.split(";")]
    if parts[0].lower() != "text/xml":
        raise SoapFault("Content-Type must be text/xml (SOAP 1.1), not %s" % parts[0][:60])
    for p in parts[1:]:
        if p.replace(" ", "").lower() not in ("charset=utf-8", 'charset="utf-8"'):
            raise SoapFault("Content-Type parameter %s not accepted (only charset=utf-8)" % p[:60])


def soap_action(values):
    """The operation named by the SOAPAction header (quotes optional)."""
    if not values:
        raise SoapFault("SOAPAction header is missing")
    if len(values) > 1:
        raise SoapFault("more than one SOAPAction header")
    v = values[0].strip()
    if len(v) >= 2 and v[0] == v[-1] == '"':
        v = v[1:-1]
    if v not in OPERATIONS:
        raise SoapFault("SOAPAction %r is not one of %s" % (values[0][:80], ", ".join(OPERATIONS)))
    return v


def parse_envelope(body):
    """The Body's single child element of a SOAP 1.1 envelope in BODY."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                             huge_tree=False)
    try:
        root = etree.fromstring(body, parser)
    except etree.XMLSyntaxError as e:
        raise SoapFault("malformed XML: %s" % e) from None
    tree = root.getroottree()
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        raise SoapFault("a SOAP message must not contain a document type declaration")
    if (tree.docinfo.encoding or "UTF-8").upper() != "UTF-8":
        raise SoapFault("the XML declaration names encoding %s; only UTF-8 is accepted"
                        % tree.docinfo.encoding)
    nodes = itertools.chain(root.itersiblings(preceding=True), root.itersiblings(), root.iter())
    if any(isinstance(n, etree._ProcessingInstruction) for n in nodes):
        raise SoapFault("a SOAP message must not contain processing instructions")
    if root.tag == "{%s}Envelope" % SOAP12_NS:
        raise SoapFault("SOAP 1.2 envelope; this service speaks SOAP 1.1", faultcode="soap:VersionMismatch")
    if root.tag != "{%s}Envelope" % SOAP_NS:
        raise SoapFault("the root element is %s, not a SOAP 1.1 Envelope" % root.tag[:120],
                        faultcode="soap:VersionMismatch")
    kids = element_children(root)
    if kids and kids[0].tag == "{%s}Header" % SOAP_NS:
        for entry in element_children(kids[0]):
            if entry.get("{%s}mustUnderstand" % SOAP_NS) == "1":
                raise SoapFault("header entry %s with mustUnderstand=\"1\" is not understood"
                                % entry.tag[:120], faultcode="soap:MustUnderstand")
        kids = kids[1:]
    if len(kids) != 1 or kids[0].tag != "{%s}Body" % SOAP_NS:
        raise SoapFault("the Envelope must hold an optional Header and then exactly one Body")
    if has_text(root):
        raise SoapFault("character data inside the Envelope")
    soap_body = kids[0]
    if has_text(soap_body):
        raise SoapFault("character data inside the Body")
    parts = element_children(soap_body)
    if len(parts) != 1:
        raise SoapFault("the Body must hold exactly one element, not %d" % len(parts))
    return parts[0]


def load_schema():
    try:
        return etree.XMLSchema(etree.parse(SCHEMA_FILE, etree.XMLParser(no_network=True)))
    except (OSError, etree.XMLSchemaParseError, etree.XMLSyntaxError) as e:
        die("serve: cannot load %s: %s" % (SCHEMA_FILE, e))


def standalone(el):
    """EL copied out as the root of a document of its own (lxml keeps the
    namespace declarations it uses from the ancestors)."""
    root = copy.deepcopy(el)
    root.tail = None
    return root


def schema_error(schema, root):
    """The first reason ROOT's document is not valid against the XSD, or
    None. libxml2 lets characters outside the base64 alphabet through
    xs:base64Binary, so CertificateRequest is checked once more."""
    if not schema.validate(root.getroottree()):
        return schema.error_log[0].message
    value = root.findtext("CertificateRequest")
    if value is not None and not BASE64_RE.fullmatch(re.sub(r"[ \t\r\n]", "", value)):
        return "Element 'CertificateRequest': the value is not a valid xs:base64Binary"
    return None


def normalized_text(el, name):
    """Text of child NAME (xs:normalizedString: tab, CR, LF read as spaces)."""
    v = el.findtext(name)
    return None if v is None else re.sub(r"[\t\r\n]", " ", v)


def decode_base64(text):
    """xs:base64Binary to bytes (XML white space dropped); binascii.Error."""
    return base64.b64decode(re.sub(r"[ \t\r\n]", "", text), validate=True)


def ds(name):
    return "{%s}%s" % (DS_NS, name)


def check_signature_profile(sig):
    """The request signature has exactly the profile of the docstring.
    Returns the KeyInfo certificate; raises ServiceFail SIGNATURE."""
    def fail(why):
        raise ServiceFail("signature", "the request signature does not follow the profile: " + why)

    def only(el, tags, what):
        kids = element_children(el)
        if [k.tag for k in kids] != [ds(t) for t in tags]:
            fail("%s must hold exactly %s" % (what, ", ".join(tags) or "nothing"))
        return kids

    def algorithm(el, want, what):
        if el.get("Algorithm") != want:
            fail("%s must be %s, not %s" % (what, want, (el.get("Algorithm") or "none")[:100]))
        only(el, [], what)

    kids = element_children(sig)
    if [k.tag for k in kids] != [ds("SignedInfo"), ds("SignatureValue"), ds("KeyInfo")]:
        fail("Signature must hold SignedInfo, SignatureValue and KeyInfo (no Object)")
    signed_info, _, key_info = kids
    c14n, method, *refs = element_children(signed_info)
    algorithm(c14n, ALG_EXC_C14N, "CanonicalizationMethod")
    algorithm(method, ALG_RSA_SHA256, "SignatureMethod")
    if len(refs) != 1:
        fail("SignedInfo must hold exactly one Reference, not %d" % len(refs))
    ref = refs[0]
    if ref.get("URI") != "":
        fail("the Reference URI must be \"\" (the whole request element)")
    transforms, digest, _ = only(ref, ["Transforms", "DigestMethod", "DigestValue"], "Reference")
    t1, t2 = only(transforms, ["Transform", "Transform"], "Transforms")
    algorithm(t1, ALG_ENVELOPED, "the first Transform")
    algorithm(t2, ALG_EXC_C14N, "the second Transform")
    algorithm(digest, ALG_SHA256, "DigestMethod")
    (x509_data,) = only(key_info, ["X509Data"], "KeyInfo")
    (x509_cert,) = only(x509_data, ["X509Certificate"], "X509Data")
    try:
        return x509.load_der_x509_certificate(decode_base64(x509_cert.text or ""))
    except (ValueError, binascii.Error):
        raise ServiceFail("signature", "KeyInfo X509Certificate is not a base64 DER certificate") from None


def xmlsec_key_from_cert(cert):
    pem = cert.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo)
    return xmlsec.Key.from_memory(pem, xmlsec.constants.KeyDataFormatPem, None)


def signature_context():
    """A python-xmlsec context restricted to the profile's algorithms."""
    ctx = xmlsec.SignatureContext()
    for t in (xmlsec.constants.TransformEnveloped, xmlsec.constants.TransformExclC14N,
              xmlsec.constants.TransformSha256):
        ctx.enable_reference_transform(t)
    for t in (xmlsec.constants.TransformExclC14N, xmlsec.constants.TransformRsaSha256):
        ctx.enable_signature_transform(t)
    return ctx


def verify_request_signature(request):
    """Verify the enveloped signature of the standalone REQUEST element
    with the key of its KeyInfo certificate; returns that certificate."""
    sig = element_children(request)[-1]     # the schema makes it ds:Signature
    cert = check_signature_profile(sig)
    if not isinstance(cert.public_key(), rsa.RSAPublicKey):
        raise ServiceFail("signature", "the KeyInfo certificate does not hold an RSA key")
    ctx = signature_context()
    ctx.key = xmlsec_key_from_cert(cert)
    try:
        ctx.verify(sig)
    except xmlsec.Error as e:
        raise ServiceFail("signature", "the request signature does not verify with the KeyInfo certificate",
                          "xmlsec: %s" % e) from None
    return cert


def sign_response(root, key):
    """Append an enveloped signature (the profile) to ROOT, signed with
    KEY (an xmlsec.Key holding the signer certificate)."""
    c = xmlsec.constants
    sig = xmlsec.template.create(root, c.TransformExclC14N, c.TransformRsaSha256, ns="ds")
    root.append(sig)
    ref = xmlsec.template.add_reference(sig, c.TransformSha256, uri="")
    xmlsec.template.add_transform(ref, c.TransformEnveloped)
    xmlsec.template.add_transform(ref, c.TransformExclC14N)
    x509_data = xmlsec.template.add_x509_data(xmlsec.template.ensure_key_info(sig))
    xmlsec.template.x509_data_add_certificate(x509_data)
    ctx = signature_context()
    ctx.key = key
    ctx.sign(sig)


def soap_envelope(inner):
    return (b'<?xml version="1.0" encoding="utf-8"?>\n<soap:Envelope xmlns:soap="' + SOAP_NS.encode()
            + b'"><soap:Body>' + inner + b"</soap:Body></soap:Envelope>")


def soap_fault_body(faultcode, faultstring):
    fault = etree.Element("{%s}Fault" % SOAP_NS, nsmap={"soap": SOAP_NS})
    etree.SubElement(fault, "faultcode").text = faultcode
    etree.SubElement(fault, "faultstring").text = faultstring
    return soap_envelope(etree.tostring(fault, encoding="utf-8"))


def error_message(text):
    """An ErrorMessage value: String255 without tab or line breaks."""
    return re.sub(r"[\t\r\n]", " ", text)[:255]


# ---------------------------------------------------------------- the service

class Sim:
    """What the handlers share: keys, schema, settings, captured requests."""

    def __init__(self, args):
        self.state = require_init(args.state)
        self.environment = args.environment
        self.schema = load_schema()
        self.ca_key = load_key(self.state.path("client-ca.key"))
        self.ca_cert = load_cert(self.state.path("client-ca.pem"))
        self.signer_key = xmlsec.Key.from_file(self.state.path("service.key"), xmlsec.constants.KeyDataFormatPem)
        self.signer_key.load_cert_from_file(self.state.path("service.pem"), xmlsec.constants.KeyDataFormatCertPem)
        self.lock = threading.Lock()
        # libxmlsec1 keeps global state and the schema its error log: one
        # signature or validation at a time.
        self.xml_lock = threading.Lock()
        self.config = {"cert_lifetime_s": args.cert_lifetime_s, "not_ready_polls": args.not_ready_polls,
                       "fail_polls": args.fail_polls, "clock_offset_s": args.clock_offset_s,
                       "tamper_responses": 0, "extra_errors": []}
        check_config(self.config)
        self.requests = simcommon.RequestLog(CAPTURE_MAX)

    def now(self):
        with self.lock:
            offset = self.config["clock_offset_s"]
        return utcnow() + datetime.timedelta(seconds=offset)

    def get_config(self):
        with self.lock:
            return dict(self.config)

    def set_config(self, upd):
        with self.lock:
            self.config.update(upd)
            return dict(self.config)

    # -- requests

    def handle(self, action, body):
        """Answer one SOAP request. Returns (response body bytes, outcome).
        Raises SoapFault for framing and schema refusals."""
        req_name, resp_name, count_key = OPERATIONS[action]
        part = parse_envelope(body)
        if part.tag != "{%s}%s" % (NS, req_name):
            raise SoapFault("the Body holds %s, but SOAPAction %s needs {%s}%s"
                            % (part.tag[:120], action, NS, req_name))
        request = standalone(part)
        with self.xml_lock:
            err = schema_error(self.schema, request)
        if err is not None:
            raise SoapFault("%s does not conform to CertificateServices.xsd: %s" % (req_name, err))
        with self.state.locked():
            self.state.bump(count_key)
        try:
            env = request.findtext("Environment")
            if env != self.environment:
                raise ServiceFail("environment", "this is the %s environment, the request is for %s"
                                  % (self.environment, env))
            fields, outcome = {"sign_new": self.sign_new, "renew": self.renew,
                               "get": self.get}[count_key](request)
            fields.append(("Result", [("Status", "OK")]))
        except ServiceFail as e:
            infos = [("ErrorInfo", [("ErrorCode", e.code), ("ErrorMessage", error_message(e.message))])]
            # Fault: more ErrorInfo elements after the refusal's own (the
            # schema allows any number).
            for extra in self.get_config()["extra_errors"]:
                infos.append(("ErrorInfo", [("ErrorCode", extra["code"]),
                                            ("ErrorMessage", error_message(extra["message"]))]))
            fields = [("Result", [("Status", "FAIL")] + infos)]
            outcome = "FAIL %s %s: %s" % (e.code, e.reason, e.detail or e.message)
            if len(infos) > 1:
                outcome += " (+%d ErrorInfo)" % (len(infos) - 1)
        signed = self.signed_response(resp_name, fields)
        if self.get_config()["tamper_responses"]:
            # A space inside Result after signing: still schema-valid, but
            # the canonical form, so the digest, no longer matches.
            signed = signed.replace(b"<Result>", b"<Result> ", 1)
            outcome += " (response tampered)"
        return soap_envelope(signed), outcome

    def signed_response(self, name, fields):
        """The response element as a document of its own, checked against
        the XSD and signed; its exact serialisation."""
        root = etree.Element("{%s}%s" % (NS, name), nsmap={"ns2": NS})

        def add(parent, items):
            for tag, value in items:
                child = etree.SubElement(parent, tag)
                if isinstance(value, list):
                    add(child, value)
                else:
                    child.text = value
        add(root, fields)
        with self.xml_lock:
            sign_response(root, self.signer_key)
            err = schema_error(self.schema, root)
        if err is not None:
            raise RuntimeError("own %s does not conform to the schema: %s" % (name, err))
        return etree.tostring(root, encoding="utf-8")

    def new_retrieval(self, request, pub, operation):
        """Issue the certificate for PUB now and make its retrieval (call
        with the state lock held). Returns the RetrievalId."""
        customer_id = normalized_text(request, "CustomerId")
        now = self.now()
        cert = issue_customer_cert(self.state, self.ca_key, self.ca_cert, pub, customer_id,
                                   normalized_text(request, "CustomerName"), now,
                                   self.get_config()["cert_lifetime_s"])
        rid = secrets.token_hex(16)
        retrievals = self.state.load("retrievals.json")
        retrievals[rid] = {"customer_id": customer_id, "operation": operation,
                           "created": iso_utc(now), "serial": "%x" % cert.serial_number,
                           "polls": 0}
        self.state.save("retrievals.json", retrievals)
        self.state.bump("issued")
        return rid

    def sign_new(self, request):
        customer_id = normalized_text(request, "CustomerId")
        tid = normalized_text(request, "TransferId")
        password = normalized_text(request, "TransferPassword")
        now = self.now()
        with self.state.locked():
            transfers = self.state.load("transfers.json")
            t = transfers.get(tid)
            reject = None
            if t is None:
                reject = ServiceFail("transfer_invalid", "unknown transfer id or wrong password",
                                     "unknown transfer id %s" % tid)
            elif not hmac.compare_digest(password.encode(), t["password"].encode()):
                t["password_failures"] += 1
                self.state.save("transfers.json", transfers)
                reject = ServiceFail("transfer_invalid", "unknown transfer id or wrong password",
                                     "wrong password for transfer %s" % tid)
            elif customer_id != t["customer_id"]:
                reject = ServiceFail("customer_id", "the transfer id was not issued to customer %s"
                                     % customer_id)
            elif t["used_at"] is not None:
                reject = ServiceFail("transfer_used", "the transfer id was used already at %s" % t["used_at"])
            elif now > parse_iso_utc(t["expires"]):
                reject = ServiceFail("transfer_expired", "the transfer id expired at %s" % t["expires"])
            if reject is not None:
                self.state.bump("transfer_rejects")
                raise reject
            pub = check_csr(decode_base64(request.findtext("CertificateRequest")))
            rid = self.new_retrieval(request, pub, "sign_new")
            t["used_at"] = iso_utc(now)
            self.state.save("transfers.json", transfers)
        return [("RetrievalId", rid)], "OK retrieval %s (transfer %s)" % (rid, tid)

    def renew(self, request):
        customer_id = normalized_text(request, "CustomerId")
        with self.xml_lock:
            cert = verify_request_signature(request)
        issued = self.state.issued_cert(cert.serial_number)
        if issued is None or der(issued) != der(cert) or not signed_by(cert, self.ca_cert):
            raise ServiceFail("cert_unknown", "the signing certificate was not issued by this service",
                              "serial %x, issuer %s" % (cert.serial_number, cert.issuer.rfc4514_string()[:200]))
        now = self.now()
        not_after = cert_not_after(cert)
        if now < cert_not_before(cert):
            raise ServiceFail("cert_not_valid", "the signing certificate is valid from %s"
                              % iso_utc(cert_not_before(cert)))
        if now > not_after:
            raise ServiceFail("cert_expired", "the signing certificate expired at %s; enrol anew"
                              % iso_utc(not_after))
        cns = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        if len(cns) != 1 or cns[0].value != customer_id:
            raise ServiceFail("customer_id", "the signing certificate is not for customer %s" % customer_id)
        if now < not_after - RENEWAL_WINDOW:
            raise ServiceFail("too_early", "renewal is possible from %s (60 days before expiry)"
                              % iso_utc(not_after - RENEWAL_WINDOW))
        pub = check_csr(decode_base64(request.findtext("CertificateRequest")))
        if public_key_der(pub) == public_key_der(cert.public_key()):
            raise ServiceFail("key_not_new", "the new request has the key of the current certificate")
        with self.state.locked():
            rid = self.new_retrieval(request, pub, "renew")
        return [("RetrievalId", rid)], "OK retrieval %s (renews %x)" % (rid, cert.serial_number)

    def get(self, request):
        customer_id = normalized_text(request, "CustomerId")
        rid = normalized_text(request, "RetrievalId")
        with self.state.locked():
            retrievals = self.state.load("retrievals.json")
            r = retrievals.get(rid)
            if r is None:
                raise ServiceFail("retrieval_id", "unknown retrieval id")
            if r["customer_id"] != customer_id:
                raise ServiceFail("customer_id", "the retrieval id is not for customer %s" % customer_id)
            r["polls"] += 1
            self.state.save("retrievals.json", retrievals)
            cfg = self.get_config()
            fails, wait = cfg["fail_polls"], cfg["not_ready_polls"]
            if r["polls"] <= fails:
                raise ServiceFail("not_ready", "the certificate cannot be retrieved yet; try again later",
                                  "poll %d of %d answered FAIL (fail_polls)" % (r["polls"], fails))
            if r["polls"] <= fails + wait:
                return [], "OK not ready (poll %d of %d)" % (r["polls"] - fails, wait)
            cert = self.state.issued_cert(int(r["serial"], 16))
        if cert is None:
            raise RuntimeError("issued/%s.pem is missing" % r["serial"])
        return ([("Certificate", base64.b64encode(der(cert)).decode("ascii"))],
                "OK certificate %s" % r["serial"])


def check_extra_errors(v):
    """Raises ValueError unless V is a list of at most 20 {"code" (String16),
    "message" (String255)}."""
    if not isinstance(v, list) or len(v) > 20:
        raise ValueError("extra_errors must be a list of at most 20 {\"code\", \"message\"}")
    for e in v:
        if (not isinstance(e, dict) or set(e) != {"code", "message"} or not isinstance(e["code"], str)
                or not isinstance(e["message"], str) or not is_normalized_string(e["code"], 16)
                or not is_normalized_string(e["message"], 255)):
            raise ValueError("extra_errors: each one {\"code\": 1-16, \"message\": 1-255 characters}")


def check_config(cfg):
    """Raises ValueError unless CFG's members are in range."""
    limits = {"cert_lifetime_s": (1, MAX_LIFETIME_S), "not_ready_polls": (0, 1000),
              "fail_polls": (0, 1000), "clock_offset_s": (-MAX_LIFETIME_S, MAX_LIFETIME_S),
              "tamper_responses": (0, 1)}
    for k, v in cfg.items():
        if k == "extra_errors":
            check_extra_errors(v)
            continue
        lo, hi = limits[k]
        if not isinstance(v, int) or isinstance(v, bool) or not lo <= v <= hi:
            raise ValueError("%s must be an integer from %d to %d" % (k, lo, hi))


# ---------------------------------------------------------------- HTTP

class HttpError(Exception):
    """A refusal on the /sim/ interface: STATUS {"error": DESC}."""

    def __init__(self, status, desc, headers=None):
        super().__init__(desc)
        self.status, self.desc, self.headers = status, desc, headers or {}


class Handler(simcommon.BaseHandler):
    server_version = "vero-sim/1"
    max_body = MAX_BODY
    absolute_path_only = False

    def send_error(self, code, message=None, explain=None):
        # http.server's own refusals (bad request line, 414, 431, 501...).
        self.close_connection = True
        self.send(code, "text/xml; charset=utf-8",
                  soap_fault_body("soap:Client", message or http.HTTPStatus(code).phrase),
                  {"Connection": "close"})

    def handle_expect_100(self):
        # No "100 Continue" for an oversized body: the 413 answer (recorded
        # like any refusal) comes before the client sends it.
        cl = self.headers.get("Content-Length", "")
        if cl.isdigit() and int(cl) > MAX_BODY:
            return True
        return super().handle_expect_100()

    def send(self, status, ctype, body, headers=None):
        headers = dict(headers or {})
        if not self.body_read:
            self.close_connection = True      # the body (if any) was not consumed
            headers["Connection"] = "close"
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        for k, v in headers.items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def read_body(self):
        """The request body (Content-Length or chunked, at most MAX_BODY).
        Raises SoapFault; the /sim/ routes turn it into JSON."""
        try:
            return super().read_body()
        except simcommon.BodyError as e:
            raise SoapFault(e.desc, e.status) from None

    # -- the service

    def service(self, url):
        rec = {"time": iso_utc(utcnow()), "path": self.path[:200], "operation": None,
               "soap_action": self.headers.get("SOAPAction"), "status": None, "outcome": None,
               "body_b64": None, "body_bytes": 0, "response_b64": None}
        headers = {}
        try:
            if url.path != SERVICE_PATH:
                raise SoapFault("no such endpoint: %s (the service is at %s)" % (url.path[:100], SERVICE_PATH), 404)
            if self.command != "POST":
                headers["Allow"] = "POST"
                raise SoapFault("%s needs POST" % SERVICE_PATH, 405)
            body = self.read_body()
            rec["body_bytes"] = len(body)
            rec["body_b64"] = base64.b64encode(body[:CAPTURE_BODY_MAX]).decode("ascii")
            if len(body) > CAPTURE_BODY_MAX:
                rec["body_truncated"] = True
            if url.query:
                raise SoapFault("no query string is accepted")
            check_content_type(self.headers.get("Content-Type"))
            action = soap_action(self.headers.get_all("SOAPAction"))
            rec["operation"] = action
            answer, rec["outcome"] = self.sim.handle(action, body)
            status = 200
        except SoapFault as e:
            status, answer = e.status, soap_fault_body(e.faultcode, e.faultstring)
            rec["outcome"] = "FAULT %s: %s" % (e.faultcode, e.faultstring)
        except Exception as e:      # a simulator bug: say so, keep serving
            log("internal error: %s" % traceback.format_exc())
            status, answer = 500, soap_fault_body("soap:Server", "internal error: %s" % e)
            rec["outcome"] = "FAULT soap:Server: %s" % e
        rec["status"] = status
        rec["response_b64"] = base64.b64encode(answer).decode("ascii")
        # Captured before the answer leaves, so a client that got it finds it.
        self.sim.requests.capture(rec)
        log("%s %s %s -> %d %s" % (self.client_address[0], self.command, self.path[:100],
                                   status, rec["outcome"][:200]))
        self.send(status, "text/xml; charset=utf-8", answer, headers)

    # -- /sim/

    def reply_json(self, status, obj, headers=None):
        self.send(status, "application/json", (json.dumps(obj) + "\n").encode(), headers)

    def json_object(self, body):
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if ctype != "application/json":
            raise HttpError(400, "Content-Type must be application/json")
        try:
            obj = strict_json(body)
        except ValueError as e:
            raise HttpError(400, str(e)) from None
        if not isinstance(obj, dict):
            raise HttpError(400, "the body must be a JSON object")
        return obj

    def sim_route(self, path, query):
        routes = {"/sim/health": ("GET",), "/sim/requests": ("GET",), "/sim/reset-requests": ("POST",),
                  "/sim/config": ("GET", "POST"), "/sim/transfers": ("GET", "POST"),
                  "/sim/counts": ("GET",)}
        try:
            if path not in routes:
                raise HttpError(404, "no such endpoint: %s" % path[:100])
            if self.command not in routes[path]:
                raise HttpError(405, "%s needs %s" % (path, " or ".join(routes[path])),
                                {"Allow": ", ".join(routes[path])})
            try:
                body = self.read_body()
            except SoapFault as e:
                raise HttpError(e.status, e.faultstring) from None
            if query:
                raise HttpError(400, "no query parameters are accepted")
            if path == "/sim/health":
                self.reply_json(200, {"status": "ok", "environment": self.sim.environment})
            elif path == "/sim/requests":
                self.reply_json(200, {"requests": self.sim.requests.list()})
            elif path == "/sim/reset-requests":
                self.sim.requests.clear()
                self.reply_json(200, {"requests": []})
            elif path == "/sim/counts":
                with self.sim.state.locked():
                    counts = self.sim.state.load("counts.json")
                self.reply_json(200, {k: counts.get(k, 0) for k in COUNT_KEYS})
            elif path == "/sim/config" and self.command == "GET":
                self.reply_json(200, self.sim.get_config())
            elif path == "/sim/config":
                upd = self.json_object(body)
                unknown = set(upd) - set(self.sim.get_config())
                if unknown:
                    raise HttpError(400, "unknown member %s" % sorted(unknown)[0][:60])
                try:
                    check_config(upd)
                except ValueError as e:
                    raise HttpError(400, str(e)) from None
                self.reply_json(200, self.sim.set_config(upd))
            elif self.command == "GET":
                self.reply_json(200, {"transfers": transfer_list(self.sim.state)})
            else:
                req = self.json_object(body)
                unknown = set(req) - {"customer_id", "days"}
                if unknown or "customer_id" not in req:
                    raise HttpError(400, "want {\"customer_id\", \"days\"?}")
                try:
                    out = new_transfer(self.sim.state, req["customer_id"],
                                       req.get("days", DEFAULT_TRANSFER_DAYS), self.sim.now())
                except ValueError as e:
                    raise HttpError(400, str(e)) from None
                self.reply_json(200, out)
        except HttpError as e:
            self.reply_json(e.status, {"error": e.desc}, e.headers)


def cmd_serve(args):
    check_listen_address(args.host, args.port, why="")
    try:
        sim = Sim(args)
    except ValueError as e:
        die("serve: %s" % e)

    # No client certificate is requested.
    ctx = server_tls_context(sim.state.path("server.pem"), sim.state.path("server.key"))

    server, host, port = listen(simcommon.TLSServer, args, Handler, sim, ctx)
    ready = {"url": "https://%s:%d%s" % (host, port, SERVICE_PATH), "port": port, "pid": os.getpid(),
             "sim_url": "https://%s:%d/sim/" % (host, port),
             "ca_file": os.path.abspath(sim.state.path("server-ca.pem")),
             "response_signer_ca_file": os.path.abspath(sim.state.path("service-ca.pem")),
             "client_ca_file": os.path.abspath(sim.state.path("client-ca.pem")),
             "state": os.path.abspath(args.state)}

    return serve_until_signal(server, ready, args.ready_file,
                              "listening on %s (%s environment)" % (ready["url"], sim.environment))


# ---------------------------------------------------------------- main

def main(argv=None):
    ap = argparse.ArgumentParser(prog=PROG, description="Strict Vero certificate service simulator.")
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("init", help="make the CAs, the server and service certificates, the state files")
    p.add_argument("--state", required=True)
    p = sub.add_parser("add-transfer", help="make a TransferId/TransferPassword pair")
    p.add_argument("--state", required=True)
    p.add_argument("--customer-id", required=True)
    p.add_argument("--transfer-id")
    p.add_argument("--days", type=int, default=DEFAULT_TRANSFER_DAYS)
    p.add_argument("--password-file")
    p = sub.add_parser("issue", help="issue a customer certificate from a CSR directly")
    p.add_argument("--state", required=True)
    p.add_argument("--csr", required=True)
    p.add_argument("--customer-id", required=True)
    p.add_argument("--customer-name")
    p.add_argument("--out", required=True)
    p.add_argument("--lifetime-s", type=int, default=DEFAULT_LIFETIME_S)
    p.add_argument("--not-before-offset-s", type=int, default=0)
    p = sub.add_parser("serve", help="serve HTTPS on a loopback address")
    add_serve_arguments(p)
    p.add_argument("--environment", choices=("TEST", "PRODUCTION"), default="TEST")
    p.add_argument("--cert-lifetime-s", type=int, default=DEFAULT_LIFETIME_S)
    p.add_argument("--not-ready-polls", type=int, default=2)
    p.add_argument("--fail-polls", type=int, default=0)
    p.add_argument("--clock-offset-s", type=int, default=0)
    args = ap.parse_args(argv)
    return run_command({"init": cmd_init, "add-transfer": cmd_add_transfer, "issue": cmd_issue,
                        "serve": cmd_serve}, args)


if __name__ == "__main__":
    sys.exit(main())
