#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""stil_sim: a strict local stand-in for STIL's WS-Security SOAP services
(Integrationsplatformen and UNI-Login BPI; "wssec-soap", docs/authorities.md
section 3).

It takes SOAP 1.2 over HTTPS with TLS client authentication, checks the
WS-Security 1.0 header (X.509 token profile) of every request and answers
as the services' public clients show them (docs/authorities.md names the
source of each behaviour): IPL unsigned, BPI signed, or with a SOAP Fault
naming what was wrong.
XML is parsed with lxml, signatures are verified and made with python-xmlsec
(libxmlsec1), certificates are handled with `cryptography`: never with
sealgate's code. Needs Debian's python3-lxml, python3-xmlsec and
python3-cryptography (/usr/bin/python3).

Sub-commands:
  init          --state DIR
  issue-client  --state DIR --csr FILE --out FILE [--days N]
  serve         --state DIR [--host 127.0.0.1] [--port N] [--ready-file FILE]
                [--clock-offset-s N]

Files in DIR (init keeps whatever already exists, except a service-ca from
before service-ica, which could not issue it):
  server-ca.pem/.key, server.pem/.key   TLS server (localhost, 127.0.0.1, ::1)
  client-ca.pem/.key     issues the OCES3-style system certificates that
                         clients present in TLS and in the BinarySecurityToken
  service-ca.pem/.key    the BPI response signer's root
  service-ica.pem/.key   its issuing CA, under service-ca
  service.pem/.key       the BPI response signer (RSA-3072), under service-ica;
                         an answer carries only this certificate
  service-chain.pem      service-ica.pem then service-ca.pem: the gateway's
                         response_signer_ca_file (service-ca.pem alone
                         cannot chain an answer)
  foreign-ca.pem/.key, foreign.pem/.key  a signer with the same subject from
                         another CA (fault foreign_signer)
  counts.json            {"accepted": N, "rejected": N}
  issued/<serial>.pem    every certificate issue-client made
State files are written atomically (temporary file, fsync, rename).

issue-client signs a PKCS#10 CSR (PEM or DER) with client-ca: the subject is
copied as it is (an OCES3 system subject: C=DK, O=..., organizationIdentifier=
NTRDK-<CVR>, serialNumber=UI:DK-O:G:<uuid>, CN=...); RSA of 2048 bits or
more only (OCES3 uses 3072), CSR signed with SHA-256/384/512; keyUsage
digitalSignature, extendedKeyUsage clientAuth; --days (default 365).

serve prints {"url":"https://127.0.0.1:PORT","port","pid","state","ca_file",
"client_ca_file","service_ca_file","service_chain_file"} on stdout and, once
listening, writes it atomically to --ready-file (removed at exit). --port 0
picks a free port. --clock-offset-s shifts the simulator's clock (used for
Timestamps and the response Timestamp).

Services (POST only, SOAP 1.2; the path picks the policy, any other is 404):
  /services/VEU/{Operation}/v1   policy stil-ipl (IPL: one URL per operation;
                                 Operation [A-Za-z][A-Za-z0-9]{0,63})
  /bpi/{service}/{version}       policy stil-bpi (UNI-Login BPI, e.g.
                                 /bpi/wsiinst/6; [a-z]{1,32} and [0-9]{1,4})
  policy     signed parts (all required)                 SignatureMethod       DigestMethod
  stil-ipl   Body, Timestamp                             rsa-sha1, rsa-sha256  sha1, sha256
  stil-bpi   Body, Timestamp, wsa:MessageID,             rsa-sha256            sha256
             UdbydersystemId, wsa:Action

Request shape accepted (anything else is a SOAP Fault):
  HTTP: Content-Type application/soap+xml (parameters charset=utf-8 and
    action="..." optional) -- otherwise 415. A non-empty action must equal
    wsa:Action when both are present. No query string; body <= 4 MiB (413).
  XML: UTF-8, no DTD, no processing instructions. Envelope (SOAP 1.2, else
    VersionMismatch) with exactly Header and Body; Body with exactly one
    child element (the operation).
  Header: namespace-qualified blocks; exactly one wsse:Security, with
    mustUnderstand "1" (or "true") and no role/actor; other
    blocks with mustUnderstand true must be wsa:* or UdbydersystemId, else
    MustUnderstand. stil-bpi: wsa:MessageID (any text), wsa:Action and
    UdbydersystemId (namespace https://brugerdatabasen.stil.dk/bpi/common/3),
    each once, as direct children of Header.
  wsse:Security holds exactly, in order:
    wsu:Timestamp (wsu:Id; wsu:Created, wsu:Expires: UTC
      YYYY-MM-DDThh:mm:ss[.fff]Z),
    wsse:BinarySecurityToken (wsu:Id; ValueType ...x509-token-profile-1.0#X509v3;
      EncodingType ...soap-message-security-1.0#Base64Binary; base64 DER),
    ds:Signature: SignedInfo (CanonicalizationMethod exc-c14n; SignatureMethod;
      Reference+ each URI="#<wsu:Id>" with exactly one Transform, exc-c14n
      (an InclusiveNamespaces PrefixList is allowed), DigestMethod,
      DigestValue), SignatureValue, KeyInfo with exactly
      wsse:SecurityTokenReference/wsse:Reference URI="#<BST wsu:Id>"
      ValueType X509v3. No ds:Object.

Order of checks on a service request, each failure a SOAP Fault (Sender
faults HTTP 400, the others 500, unless said otherwise; Sender code with a
subcode, Reason "<subcode>: <why>"):
   1. path (404), method POST (405), framing (400/413), no query string
   2. TLS client certificate present (401 wsse:FailedAuthentication). One
      that does not chain to client-ca.pem (clientAuth) fails the handshake.
   3. fault "status" (any request from here on)
   4. Content-Type (415)
   5. XML, Envelope, Header blocks (VersionMismatch, MustUnderstand, Sender)
   6. wsse:Security layout (wsse:InvalidSecurity)
   7. BinarySecurityToken: types (wsse:UnsupportedSecurityToken), decoding
      (wsse:InvalidSecurityToken), byte-identical to the TLS client
      certificate (wsse:FailedAuthentication)
   8. wsu:Id values unique in the document (wrapping guard; wsse:InvalidSecurity)
   9. Signature layout, exc-c14n everywhere, KeyInfo -> the BST
      (wsse:InvalidSecurity); algorithms of the policy (wsse:UnsupportedAlgorithm)
  10. every Reference points at a signable part in its place: the Envelope's
      Body, the Security header's Timestamp or BinarySecurityToken, or a
      direct child of Header (else "signature wrapping", wsse:InvalidSecurity)
  11. stil-bpi: wsa:MessageID, wsa:Action present
      (wsa:MessageAddressingHeaderRequired), UdbydersystemId present;
      wsa:Action against the HTTP action (wsa:ActionMismatch)
  12. every part of the policy referenced ("Body not signed",
      wsse:InvalidSecurity)
  13. signature verified with xmlsec, key = the BST certificate, ids
      registered from wsu:Id only, only the policy's algorithms and exc-c14n
      enabled (wsse:FailedCheck)
  14. Timestamp (sim clock): Expires before Created (wsse:InvalidSecurity);
      Expires not after now (wsse:MessageExpired); Created more than 300 s
      after now (wsse:MessageExpired, "in the future")
Then HTTP 200:
  stil-ipl: Envelope and Body only, no Header, no signature (as IPL's
    sample answers), whatever the response faults below say.
  stil-bpi: Header/wsse:Security(mustUnderstand 1){wsu:Timestamp (now, +300 s),
    wsse:BinarySecurityToken (service.pem), ds:Signature rsa-sha256 over Body
    and Timestamp: sha256 digests; exc-c14n with an InclusiveNamespaces
    PrefixList of every prefix in scope, on each Reference's Transform and
    on the CanonicalizationMethod (as STIL does); KeyInfo
    SecurityTokenReference -> the BST}
  Body (wsu:Id): <sim:Received xmlns:sim="urn:sealgate:sim:stil">
    <sim:Status>accepted</sim:Status><sim:Operation>{local name of the
    request Body's child}</sim:Operation><sim:Policy>stil-bpi</sim:Policy>
    [<sim:MessageID>...</sim:MessageID>]<sim:Client>{RFC 4514 subject of
    the TLS client certificate}</sim:Client></sim:Received>
  Faults carry Content-Type application/soap+xml: Code/Value soap:Sender|
  Receiver|VersionMismatch|MustUnderstand with Subcode/Value e.g.
  wsse:InvalidSecurity.

Faults for testing the client's response checks (POST /sim/faults, members
given are changed, the others kept; they stay until changed; the first four
change stil-bpi answers only):
  tamper_response    true: sign, then change Status "accepted" to
                     "Accepted" (the signature no longer verifies)
  unsigned_response  true: answer without a Security header
  stale_response     true: response Timestamp Created now-600 s, Expires now-300 s
  foreign_signer     true: sign with foreign.key/foreign.pem (foreign-ca.pem)
  status             null or 400..599: every service request that presents a
                     client certificate is answered with this HTTP status and
                     a SOAP Fault (Receiver/Server) without any other check

Test interface (same origin, no client certificate needed; JSON):
  GET  /sim/health            {"status":"ok"}
  GET  /sim/requests          {"requests":[...last 200, oldest first...]}, each
                              {"seq","time","method","path","status","outcome"
                              (accepted|rejected|injected|tls_handshake_failed),
                              "fault" (text or null),"response_faults" ([names]),
                              "content_type","soap_action","body_b64" (the request
                              bytes as received),"client_cert_sha256" (hex or null)}
  POST /sim/reset-requests    forget the captured requests
  GET  /sim/faults            the fault settings
  POST /sim/faults  {"tamper_response","unsigned_response","stale_response",
                     "foreign_signer","status"}
  GET  /sim/config            {"clock_offset_s":N}
  POST /sim/config  {"clock_offset_s":N}
  GET  /sim/counts            {"accepted":N,"rejected":N} (200 answers and all
                              other answers to service paths; persisted)
  GET  /sim/service           {"requests":N,"seconds":S}: service requests answered
                              and the time spent in them, from the parsed request to
                              the answer sent (TLS and HTTP parsing excluded)
"""

import argparse
import base64
import binascii
import collections
import datetime
import hashlib
import http
import json
import os
import re
import sys
import threading
import time
import traceback
import uuid

try:
    import xmlsec
    from lxml import etree
except ImportError as e:
    sys.exit("stil_sim: %s (needs python3-lxml and python3-xmlsec; use /usr/bin/python3)" % e)
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

import simcommon
from simcommon import (add_issue_client_arguments, add_serve_arguments, atomic_write, build_cert,
                       check_listen_address, client_csr, days_from_now, die, dump_json, ensure_ca,
                       ensure_leaf, init_tls_state, issue_client_cert, iso_utc, ku, listen,
                       load_cert, load_key, log, name_from, require_state, run_command, serve_until_signal,
                       server_tls_context, strict_json, utcnow)

PROG = "stil_sim"
simcommon.set_prog(PROG)
MAX_BODY = 4 * 1024 * 1024      # the gateway's default max_soap_bytes
CAPTURE_MAX = 200
FUTURE_SKEW_S = 300             # Created may be this far ahead of the sim clock
RESPONSE_TTL_S = 300

S11 = "http://schemas.xmlsoap.org/soap/envelope/"
S12 = "http://www.w3.org/2003/05/soap-envelope"
WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
WSU = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
WSA = "http://www.w3.org/2005/08/addressing"
DS = "http://www.w3.org/2000/09/xmldsig#"
EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#"
UDB = "https://brugerdatabasen.stil.dk/bpi/common/3"
SIM_NS = "urn:sealgate:sim:stil"
X509V3 = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-x509-token-profile-1.0#X509v3"
BASE64_BINARY = ("http://docs.oasis-open.org/wss/2004/01/"
                 "oasis-200401-wss-soap-message-security-1.0#Base64Binary")
WSU_ID = "{%s}Id" % WSU

RSA_SHA1 = "http://www.w3.org/2000/09/xmldsig#rsa-sha1"
RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
SHA1 = "http://www.w3.org/2000/09/xmldsig#sha1"
SHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"
# Algorithm URI -> (short name, xmlsec transform)
SIGNATURE_ALGS = {RSA_SHA1: ("rsa-sha1", xmlsec.constants.TransformRsaSha1),
                  RSA_SHA256: ("rsa-sha256", xmlsec.constants.TransformRsaSha256)}
DIGEST_ALGS = {SHA1: ("sha1", xmlsec.constants.TransformSha1),
               SHA256: ("sha256", xmlsec.constants.TransformSha256)}

Policy = collections.namedtuple("Policy", "name parts signature digest addressing")
POLICIES = {
    "ipl": Policy("stil-ipl", ("Body", "Timestamp"), (RSA_SHA1, RSA_SHA256), (SHA1, SHA256), False),
    "bpi": Policy("stil-bpi", ("Body", "Timestamp", "MessageID", "UdbydersystemId", "Action"),
                  (RSA_SHA256,), (SHA256,), True),
}
# Signed header parts by element name (Body and Timestamp are found by place).
HEADER_PARTS = {"{%s}MessageID" % WSA: "MessageID", "{%s}Action" % WSA: "Action",
                "{%s}UdbydersystemId" % UDB: "UdbydersystemId"}

Soap = collections.namedtuple("Soap", "version ns content_type sender receiver true_values")
SOAP12 = Soap("1.2", S12, "application/soap+xml", "Sender", "Receiver", ("1", "true"))
# IPL: {base}/services/VEU/{Operation}/v1 (PensionDanmark/STIL.ServiceClient,
# StilServiceClient.cs BuildUrl, StilVeuServiceClient.cs); BPI: one URL per
# service, {base}/bpi/{service}/{version} (LRU-Digital/STIL.ServiceClient,
# StilWsiInstServiceClient.cs: https://brugerdatabasen.stil.dk/bpi/wsiinst/6).
IPL_ROUTE_RE = re.compile(r"/services/VEU/([A-Za-z][A-Za-z0-9]{0,63})/v1")
BPI_ROUTE_RE = re.compile(r"/bpi/([a-z]{1,32})/([0-9]{1,4})")

# Fault subcodes: (prefix, namespace, local name)
WSSE_INVALID = ("wsse", WSSE, "InvalidSecurity")
WSSE_BAD_TOKEN = ("wsse", WSSE, "InvalidSecurityToken")
WSSE_TOKEN_TYPE = ("wsse", WSSE, "UnsupportedSecurityToken")
WSSE_ALGORITHM = ("wsse", WSSE, "UnsupportedAlgorithm")
WSSE_AUTH = ("wsse", WSSE, "FailedAuthentication")
WSSE_CHECK = ("wsse", WSSE, "FailedCheck")
WSSE_EXPIRED = ("wsse", WSSE, "MessageExpired")
WSA_REQUIRED = ("wsa", WSA, "MessageAddressingHeaderRequired")
WSA_ACTION = ("wsa", WSA, "ActionMismatch")

TIME_RE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]{1,9}))?Z")
NCNAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")
CT_PARAM_RE = re.compile(r';\s*([A-Za-z0-9!#$%&\'*+.^_`|~-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;\s"]*)\s*')
ORGANIZATION_IDENTIFIER = x509.ObjectIdentifier("2.5.4.97")
# One parser per serving thread: lxml advises against sharing a parser
# between threads, and documents keep the parser's dictionary.
_PARSERS = threading.local()


def xml_parser():
    p = getattr(_PARSERS, "parser", None)
    if p is None:
        p = _PARSERS.parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                                              dtd_validation=False, huge_tree=False, collect_ids=False)
    return p


# ---------------------------------------------------------------- files

def read_json_file(path):
    with open(path, "rb") as f:
        return strict_json(f.read())


# ---------------------------------------------------------------- certificates

def dn(name):
    """RFC 4514 text of NAME, with the OCES3 attribute names spelt out."""
    return name.rfc4514_string({NameOID.SERIAL_NUMBER: "serialNumber",
                                ORGANIZATION_IDENTIFIER: "organizationIdentifier"})


def cmd_init(args):
    d = args.state
    dk = (NameOID.COUNTRY_NAME, "DK")
    test_o = (NameOID.ORGANIZATION_NAME, "stil-sim test")
    init_tls_state(d, [dk, test_o], "stil-sim", "stil-sim OCES3 system test CA")

    # The foreign signer has the service signer's subject: only the chain
    # to service-ca.pem tells them apart.
    signer_subject = name_from([dk, (NameOID.ORGANIZATION_NAME, "stil-sim test service"),
                                (ORGANIZATION_IDENTIFIER, "NTRDK-00000000"),
                                (NameOID.COMMON_NAME, "stil-sim service signer")])
    # BPI's answers carry only the signer's own certificate (LRU-Digital/
    # STIL.ServiceClient, Tests/Samples/HentBrugersInstitutionstilknytninger
    # Response_ValidResponse.xml: one BinarySecurityToken), so the service
    # signer is issued by an intermediate the client must already hold:
    # service-ca (root) -> service-ica -> service.
    root = os.path.join(d, "service-ca.pem")
    if os.path.exists(root) and (load_cert(root).extensions.get_extension_for_class(x509.BasicConstraints)
                                 .value.path_length or 0) < 1:
        # A state from before service-ica: that root may not issue CAs.
        for f in ("service-ca.pem", "service-ca.key"):
            os.remove(os.path.join(d, f))
    rkey, rcert = ensure_ca(d, "service-ca", name_from([dk, test_o, (NameOID.COMMON_NAME, "stil-sim service CA")]),
                            path_length=1)
    ensure_leaf(d, "service-ica", rkey, rcert, 2048, lambda pub: build_cert(
        name_from([dk, test_o, (NameOID.COMMON_NAME, "stil-sim service issuing CA")]), pub, rcert, rkey,
        *days_from_now(1825), ca=True, key_usage=ku(sign=True, ca=True)))
    icert = load_cert(os.path.join(d, "service-ica.pem"))
    ikey = load_key(os.path.join(d, "service-ica.key"))
    fkey, fcert = ensure_ca(d, "foreign-ca", name_from([dk, test_o, (NameOID.COMMON_NAME, "stil-sim foreign CA")]))
    for name, ckey, ccert in (("service", ikey, icert), ("foreign", fkey, fcert)):
        ensure_leaf(d, name, ckey, ccert, 3072, lambda pub, ckey=ckey, ccert=ccert: build_cert(
            signer_subject, pub, ccert, ckey, *days_from_now(730), ca=False, key_usage=ku(sign=True)))
    with open(os.path.join(d, "service-ica.pem"), "rb") as f, open(os.path.join(d, "service-ca.pem"), "rb") as g:
        atomic_write(os.path.join(d, "service-chain.pem"), f.read() + g.read())

    for fname, empty in (("counts.json", {"accepted": 0, "rejected": 0}),):
        path = os.path.join(d, fname)
        if not os.path.exists(path):
            atomic_write(path, dump_json(empty))
    return 0


def accept_client_key(pub):
    """issue-client's key rule: RSA of 2048 bits or more."""
    if not isinstance(pub, rsa.RSAPublicKey):
        die("issue-client: only RSA keys are accepted (OCES3 system certificates are RSA)")
    if pub.key_size < 2048:
        die("issue-client: RSA key of %d bits (2048 or more required; OCES3 uses 3072)" % pub.key_size)


def cmd_issue_client(args):
    ca_key, ca_cert, csr, pub = client_csr(args, accept_client_key)
    issue_client_cert(args, ca_key, ca_cert, csr, pub)
    print(dn(csr.subject))
    return 0


# ---------------------------------------------------------------- SOAP faults

class SoapFault(Exception):
    """A refusal: CODE is Sender, Receiver, VersionMismatch or MustUnderstand
    (SOAP 1.2 names); SUBCODE one of the tuples above."""

    def __init__(self, reason, subcode=None, code="Sender", status=None, outcome="rejected", headers=None):
        super().__init__(reason)
        # SOAP 1.2 Part 2, the HTTP binding: a Sender fault is HTTP 400, the others 500
        # (as IPL's HentUdbud_ErrorResponse_400.xml / _500.xml samples).
        if status is None:
            status = 400 if code == "Sender" else 500
        self.reason, self.subcode, self.code = reason, subcode, code
        self.status, self.outcome, self.headers = status, outcome, headers or {}

    def text(self, soap):
        if self.subcode:
            return "%s:%s: %s" % (self.subcode[0], self.subcode[2], self.reason)
        return "soap:%s: %s" % (soap_code(soap, self.code), self.reason)


def soap_code(soap, code):
    return {"Sender": soap.sender, "Receiver": soap.receiver}.get(code, code)


def invalid(reason):
    return SoapFault(reason, WSSE_INVALID)


def sender(reason):
    return SoapFault(reason)


def fault_envelope(soap, fault):
    """The SOAP Fault document for FAULT in SOAP version SOAP."""
    nsmap = {"soap": soap.ns}
    if fault.subcode:
        nsmap[fault.subcode[0]] = fault.subcode[1]
    env = etree.Element("{%s}Envelope" % soap.ns, nsmap=nsmap)
    f = etree.SubElement(etree.SubElement(env, "{%s}Body" % soap.ns), "{%s}Fault" % soap.ns)
    code = "soap:" + soap_code(soap, fault.code)
    c = etree.SubElement(f, "{%s}Code" % S12)
    etree.SubElement(c, "{%s}Value" % S12).text = code
    if fault.subcode:
        sc = etree.SubElement(c, "{%s}Subcode" % S12)
        etree.SubElement(sc, "{%s}Value" % S12).text = "%s:%s" % (fault.subcode[0], fault.subcode[2])
    r = etree.SubElement(f, "{%s}Reason" % S12)
    etree.SubElement(r, "{%s}Text" % S12, {"{http://www.w3.org/XML/1998/namespace}lang": "en"}).text = \
        fault.text(soap)
    return etree.tostring(env, xml_declaration=True, encoding="UTF-8")


# ---------------------------------------------------------------- request checks

def q(ns, local):
    return "{%s}%s" % (ns, local)


def describe(el):
    """ELEMENT's name for messages: prefix:local or {ns}local."""
    qn = etree.QName(el)
    return "%s:%s" % (el.prefix, qn.localname) if el.prefix else el.tag


def element_children(el, where):
    """EL's child elements (comments skipped); character data other than
    white space between them is refused."""
    if el.text and el.text.strip():
        raise sender("character data directly in %s" % where)
    out = []
    for c in el:
        if c.tail and c.tail.strip():
            raise sender("character data directly in %s" % where)
        if isinstance(c.tag, str):
            out.append(c)
        elif c.tag is not etree.Comment:
            raise sender("%s holds a processing instruction or entity reference" % where)
    return out


def expect_children(el, tags, where, fault=invalid):
    """EL's child elements must be exactly TAGS (Clark names), in order."""
    kids = element_children(el, where)
    if [c.tag for c in kids] != list(tags):
        want = ", ".join(etree.QName(t).localname for t in tags) or "nothing"
        got = ", ".join(describe(c) for c in kids) or "nothing"
        raise fault("%s must hold %s; it holds %s" % (where, want, got))
    return kids


def parse_envelope(raw, soap):
    """Parse RAW (no DTD, no PIs, UTF-8) and return (Envelope, Header, Body)."""
    try:
        root = etree.fromstring(raw, xml_parser())
    except etree.XMLSyntaxError as e:
        raise sender("malformed XML: %s" % e) from None
    tree = root.getroottree()
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        raise sender("a DTD is not allowed in a SOAP message")
    if (tree.docinfo.encoding or "UTF-8").upper() != "UTF-8":
        raise sender("the message must be UTF-8, not %s" % tree.docinfo.encoding)
    outside = list(root.itersiblings(preceding=True)) + list(root.itersiblings())
    if any(n.tag is etree.PI for n in outside) or next(root.iter(etree.PI), None) is not None:
        raise sender("processing instructions are not allowed in a SOAP message")
    if root.tag != q(soap.ns, "Envelope"):
        if root.tag in (q(S11, "Envelope"), q(S12, "Envelope")):
            other = "1.1" if root.tag == q(S11, "Envelope") else "1.2"
            raise SoapFault("a SOAP %s envelope on a SOAP %s endpoint" % (other, soap.version),
                            code="VersionMismatch")
        raise sender("the document element is %s, not a SOAP %s Envelope" % (describe(root), soap.version))
    header, body = expect_children(root, (q(soap.ns, "Header"), q(soap.ns, "Body")), "the Envelope", sender)
    return root, header, body


def body_operation(body):
    kids = element_children(body, "the Body")
    if len(kids) != 1:
        raise sender("the Body must hold exactly one element (the operation); it holds %d" % len(kids))
    return etree.QName(kids[0]).localname


def must_understand(el, soap):
    v = el.get(q(soap.ns, "mustUnderstand"))
    if v is None:
        return False
    v = v.strip()
    if v in soap.true_values:
        return True
    if v in ("0", "false") and (soap is SOAP12 or v == "0"):
        return False
    raise sender("mustUnderstand=%r on %s is not a SOAP %s boolean" % (v, describe(el), soap.version))


def header_blocks(header, soap):
    """The Security header and the addressing headers, each at most once;
    an unknown header with mustUnderstand true is a MustUnderstand fault."""
    blocks = {}
    for h in element_children(header, "the Header"):
        if not etree.QName(h).namespace:
            raise sender("header block %s is not namespace-qualified" % h.tag)
        known = h.tag == q(WSSE, "Security") or h.tag in HEADER_PARTS or etree.QName(h).namespace == WSA
        understood = must_understand(h, soap)
        if not known:
            if understood:
                raise SoapFault("header %s is not understood" % describe(h), code="MustUnderstand")
            continue
        if h.tag in blocks:
            raise sender("more than one %s header" % describe(h))
        blocks[h.tag] = h
    sec = blocks.get(q(WSSE, "Security"))
    if sec is None:
        raise invalid("no wsse:Security header")
    if not must_understand(sec, soap):
        raise invalid("wsse:Security must carry the Envelope namespace's mustUnderstand=\"1\"")
    for role in (q(S12, "role"), q(S11, "actor")):
        if sec.get(role) is not None:
            raise invalid("wsse:Security must be for the ultimate receiver (no role or actor)")
    return blocks


def parse_time(text, what):
    m = TIME_RE.fullmatch((text or "").strip())
    if not m:
        raise invalid("%s %r is not a UTC time YYYY-MM-DDThh:mm:ss[.fff]Z" % (what, (text or "")[:40]))
    frac = (m.group(7) or "").ljust(6, "0")[:6]
    try:
        return datetime.datetime(*(int(g) for g in m.groups()[:6]), int(frac),
                                 tzinfo=datetime.timezone.utc)
    except ValueError:
        raise invalid("%s %r is not a valid time" % (what, text.strip()[:40])) from None


def bst_certificate(bst, tls_der):
    """The DER certificate in the BinarySecurityToken; it must be the TLS
    client certificate."""
    if bst.get("ValueType") != X509V3:
        raise SoapFault("BinarySecurityToken ValueType must be %s" % X509V3, WSSE_TOKEN_TYPE)
    if bst.get("EncodingType") != BASE64_BINARY:
        raise SoapFault("BinarySecurityToken EncodingType must be %s" % BASE64_BINARY, WSSE_TOKEN_TYPE)
    if len(bst):
        raise SoapFault("BinarySecurityToken holds elements", WSSE_BAD_TOKEN)
    text = re.sub(r"\s+", "", bst.text or "")
    try:
        der = base64.b64decode(text.encode("ascii"), validate=True)
        x509.load_der_x509_certificate(der)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise SoapFault("BinarySecurityToken is not a base64 DER X.509 certificate", WSSE_BAD_TOKEN) from None
    if der != tls_der:
        raise SoapFault("the BinarySecurityToken is not the TLS client certificate", WSSE_AUTH)
    return der


def wsu_ids(root):
    """{id: element} for every wsu:Id in the document; a value used twice
    is refused, so "#id" can name only one element."""
    ids = {}
    for el in root.iter(etree.Element):
        v = el.get(WSU_ID)
        if v is None:
            continue
        if not NCNAME_RE.fullmatch(v):
            raise invalid("wsu:Id %r is not an NCName" % v[:60])
        if v in ids:
            raise invalid("wsu:Id %r is used twice (signature wrapping?)" % v[:60])
        ids[v] = el
    return ids


def check_exc_c14n(el, where):
    """EL names exc-c14n and holds at most an InclusiveNamespaces."""
    if el.get("Algorithm") != EXC_C14N:
        raise invalid("%s must be exc-c14n (%s), not %s" % (where, EXC_C14N, el.get("Algorithm")))
    kids = element_children(el, where)
    if kids and (len(kids) > 1 or kids[0].tag != q(EXC_C14N, "InclusiveNamespaces")):
        raise invalid("%s may hold only an ec:InclusiveNamespaces" % where)


def signature_layout(sig, policy, ids, bst):
    """Check ds:Signature's shape and algorithms against POLICY; return
    [(uri, target element)] for its References."""
    signed_info, _, key_info = expect_children(
        sig, (q(DS, "SignedInfo"), q(DS, "SignatureValue"), q(DS, "KeyInfo")), "ds:Signature")
    kids = element_children(signed_info, "ds:SignedInfo")
    if len(kids) < 3 or [k.tag for k in kids[:2]] != [q(DS, "CanonicalizationMethod"), q(DS, "SignatureMethod")] \
            or any(k.tag != q(DS, "Reference") for k in kids[2:]):
        raise invalid("ds:SignedInfo must hold CanonicalizationMethod, SignatureMethod, Reference+")
    check_exc_c14n(kids[0], "CanonicalizationMethod")
    alg = kids[1].get("Algorithm")
    if alg not in policy.signature:
        raise SoapFault("SignatureMethod %s is not accepted by %s (%s)" % (
            alg, policy.name, ", ".join(SIGNATURE_ALGS[a][0] for a in policy.signature)), WSSE_ALGORITHM)
    if element_children(kids[1], "SignatureMethod"):
        raise invalid("SignatureMethod must be empty")
    refs = []
    for ref in kids[2:]:
        uri = ref.get("URI") or ""
        if not uri.startswith("#") or not NCNAME_RE.fullmatch(uri[1:]):
            raise invalid("Reference URI %r is not \"#<wsu:Id>\"" % uri[:80])
        target = ids.get(uri[1:])
        if target is None:
            raise invalid("Reference %s names no wsu:Id in the message" % uri[:80])
        if any(uri == u for u, _ in refs):
            raise invalid("Reference %s appears twice" % uri[:80])
        transforms, digest, _ = expect_children(
            ref, (q(DS, "Transforms"), q(DS, "DigestMethod"), q(DS, "DigestValue")), "Reference %s" % uri)
        tlist = element_children(transforms, "Reference %s Transforms" % uri)
        if len(tlist) != 1 or tlist[0].tag != q(DS, "Transform"):
            raise invalid("Reference %s must have exactly one Transform (exc-c14n)" % uri)
        check_exc_c14n(tlist[0], "the Transform of Reference %s" % uri)
        if digest.get("Algorithm") not in policy.digest:
            raise SoapFault("DigestMethod %s of Reference %s is not accepted by %s (%s)" % (
                digest.get("Algorithm"), uri, policy.name,
                ", ".join(DIGEST_ALGS[a][0] for a in policy.digest)), WSSE_ALGORITHM)
        refs.append((uri, target))
    str_ = expect_children(key_info, (q(WSSE, "SecurityTokenReference"),), "ds:KeyInfo")[0]
    r = expect_children(str_, (q(WSSE, "Reference"),), "wsse:SecurityTokenReference")[0]
    if r.get("URI") != "#" + bst.get(WSU_ID, "") or r.get("ValueType") != X509V3:
        raise invalid("KeyInfo must be a SecurityTokenReference to #%s with ValueType X509v3"
                      % bst.get(WSU_ID, ""))
    return refs


def signed_part(target, body, header, sec, ts, bst):
    """The part name of a Reference target in its proper place, else None."""
    if target is body:
        return "Body"
    if target is ts:
        return "Timestamp"
    if target is bst:
        return "BinarySecurityToken"
    if target.getparent() is header and target is not sec:
        return HEADER_PARTS.get(target.tag, describe(target))
    return None


def addressing(blocks, policy, soap, http_action):
    """wsa:MessageID and wsa:Action (required by stil-bpi, checked when
    present); returns the MessageID text or None."""
    mid_el, act_el = blocks.get(q(WSA, "MessageID")), blocks.get(q(WSA, "Action"))
    if policy.addressing:
        for el, name in ((mid_el, "MessageID"), (act_el, "Action")):
            if el is None or not (el.text or "").strip():
                raise SoapFault("wsa:%s header is required by %s" % (name, policy.name), WSA_REQUIRED)
        udb = blocks.get(q(UDB, "UdbydersystemId"))
        if udb is None or not (udb.text or "").strip():
            raise sender("UdbydersystemId header ({%s}UdbydersystemId) is required by %s" % (UDB, policy.name))
    mid = (mid_el.text or "").strip() if mid_el is not None else None
    if act_el is not None and http_action:
        action = (act_el.text or "").strip()
        if action != http_action:
            raise SoapFault("wsa:Action %r differs from the HTTP %s %r" % (
                action[:100], "action parameter", http_action[:100]),
                WSA_ACTION)
    return mid


def verify_signature(sig, ids, cert_der, policy):
    """xmlsec verification with the BST certificate's key, ids taken from
    wsu:Id only, and only exc-c14n and the policy's algorithms enabled."""
    ctx = xmlsec.SignatureContext()
    for el in ids.values():
        ctx.register_id(el, "Id", WSU)
    ctx.key = xmlsec.Key.from_memory(cert_der, xmlsec.constants.KeyDataFormatCertDer)
    ctx.enable_reference_transform(xmlsec.constants.TransformExclC14N)
    ctx.enable_signature_transform(xmlsec.constants.TransformExclC14N)
    for a in policy.digest:
        ctx.enable_reference_transform(DIGEST_ALGS[a][1])
    for a in policy.signature:
        ctx.enable_signature_transform(SIGNATURE_ALGS[a][1])
    try:
        ctx.verify(sig)
    except xmlsec.Error as e:
        raise SoapFault("signature does not verify (%s)" % (e.args[-1] if e.args else e), WSSE_CHECK) from None


def check_timestamp(ts, now):
    created_el, expires_el = expect_children(ts, (q(WSU, "Created"), q(WSU, "Expires")), "wsu:Timestamp")
    created = parse_time(created_el.text, "wsu:Created")
    expires = parse_time(expires_el.text, "wsu:Expires")
    if expires < created:
        raise invalid("wsu:Expires %s is before wsu:Created %s" % (iso_utc(expires), iso_utc(created)))
    if expires <= now:
        raise SoapFault("the message expired at %s (now %s)" % (iso_utc(expires), iso_utc(now)), WSSE_EXPIRED)
    if (created - now).total_seconds() > FUTURE_SKEW_S:
        raise SoapFault("wsu:Created %s is in the future (now %s, %d s allowed)" % (
            iso_utc(created), iso_utc(now), FUTURE_SKEW_S), WSSE_EXPIRED)


Received = collections.namedtuple("Received", "operation message_id")


def check_request(raw, soap, policy, tls_der, http_action, now):
    """Every WS-Security check of the module docstring (steps 5-14) on the
    request bytes RAW; returns Received or raises SoapFault."""
    root, header, body = parse_envelope(raw, soap)
    operation = body_operation(body)
    blocks = header_blocks(header, soap)
    sec = blocks[q(WSSE, "Security")]
    ts, bst, sig = expect_children(
        sec, (q(WSU, "Timestamp"), q(WSSE, "BinarySecurityToken"), q(DS, "Signature")), "wsse:Security")
    for el, what in ((ts, "wsu:Timestamp"), (bst, "wsse:BinarySecurityToken")):
        if not el.get(WSU_ID):
            raise invalid("%s has no wsu:Id" % what)
    cert_der = bst_certificate(bst, tls_der)
    ids = wsu_ids(root)
    refs = signature_layout(sig, policy, ids, bst)
    covered = set()
    for uri, target in refs:
        part = signed_part(target, body, header, sec, ts, bst)
        if part is None:
            parent = target.getparent()
            raise invalid("signature wrapping: Reference %s points at %s inside %s, not at a signable part "
                          "(the Envelope's Body, the Security header's Timestamp or token, a Header child)"
                          % (uri, describe(target), "the document" if parent is None else describe(parent)))
        covered.add(part)
    message_id = addressing(blocks, policy, soap, http_action)
    missing = [p for p in policy.parts if p not in covered]
    if missing:
        raise invalid("%s not signed (%s requires %s)" % (", ".join(missing), policy.name, ", ".join(policy.parts)))
    verify_signature(sig, ids, cert_der, policy)
    check_timestamp(ts, now)
    return Received(operation, message_id)


def parse_content_type(value):
    """(media type lowercased, {param: value}) or None when malformed."""
    if not value:
        return None
    m = re.match(r"\s*([A-Za-z0-9!#$%&'*+.^_`|~-]+/[A-Za-z0-9!#$%&'*+.^_`|~-]+)\s*", value)
    if not m:
        return None
    params, pos = {}, m.end()
    while pos < len(value):
        pm = CT_PARAM_RE.match(value, pos)
        if not pm:
            return None
        v = pm.group(2)
        if v.startswith('"'):
            v = re.sub(r"\\(.)", r"\1", v[1:-1])
        name = pm.group(1).lower()
        if name in params:
            return None
        params[name] = v
        pos = pm.end()
    return m.group(1).lower(), params


def http_action(headers, soap):
    """Check Content-Type (415); return the HTTP-level action
    ("" when none)."""
    ct = parse_content_type(headers.get("Content-Type"))
    if ct is None or ct[0] != soap.content_type:
        raise SoapFault("Content-Type must be %s for SOAP %s, not %r" % (
            soap.content_type, soap.version, (headers.get("Content-Type") or "")[:80]), status=415)
    params = ct[1]
    allowed = ("charset", "action")
    for p in params:
        if p not in allowed:
            raise SoapFault("Content-Type parameter %s is not accepted" % p[:40], status=415)
    if params.get("charset", "utf-8").lower() != "utf-8":
        raise SoapFault("charset must be utf-8", status=415)
    return params.get("action", "")


# ---------------------------------------------------------------- responses

def in_scope_prefixes(el):
    return sorted(p for p in el.nsmap if p)


def new_id(kind):
    return "%s-%s" % (kind, uuid.uuid4())


def signed_response(soap, policy, received, client_subject, signer, now, faults):
    """The response document (bytes) per the module docstring; SIGNER is
    (key PEM bytes, certificate DER); FAULTS the fault settings. stil-ipl
    answers are never signed: Envelope and Body only, as IPL's published
    sample answers (PensionDanmark/STIL.ServiceClient, Tests/Samples/
    HentUdbud_ValidResponse.xml and the other *_ValidResponse.xml)."""
    if not policy.addressing:
        env = etree.Element(q(soap.ns, "Envelope"), nsmap={"soap": soap.ns})
        body = etree.SubElement(env, q(soap.ns, "Body"))
    else:
        env = etree.Element(q(soap.ns, "Envelope"), nsmap={"soap": soap.ns, "wsse": WSSE, "wsu": WSU})
        header = etree.SubElement(env, q(soap.ns, "Header"))
        body = etree.SubElement(env, q(soap.ns, "Body"), {WSU_ID: new_id("id")})
    rcv = etree.SubElement(body, q(SIM_NS, "Received"), nsmap={"sim": SIM_NS})
    etree.SubElement(rcv, q(SIM_NS, "Status")).text = "accepted"
    etree.SubElement(rcv, q(SIM_NS, "Operation")).text = received.operation
    etree.SubElement(rcv, q(SIM_NS, "Policy")).text = policy.name
    if received.message_id is not None:
        etree.SubElement(rcv, q(SIM_NS, "MessageID")).text = received.message_id
    etree.SubElement(rcv, q(SIM_NS, "Client")).text = client_subject
    if not policy.addressing:
        return etree.tostring(env, xml_declaration=True, encoding="UTF-8")
    if faults["unsigned_response"]:
        env.remove(header)
        return etree.tostring(env, xml_declaration=True, encoding="UTF-8")

    sec = etree.SubElement(header, q(WSSE, "Security"), {q(soap.ns, "mustUnderstand"): "1"})
    ts = etree.SubElement(sec, q(WSU, "Timestamp"), {WSU_ID: new_id("TS")})
    created = now - datetime.timedelta(seconds=600) if faults["stale_response"] else now
    etree.SubElement(ts, q(WSU, "Created")).text = created.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    expires = created + datetime.timedelta(seconds=RESPONSE_TTL_S)
    etree.SubElement(ts, q(WSU, "Expires")).text = expires.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    key_pem, cert_der = signer
    bst_id = new_id("X509")
    bst = etree.SubElement(sec, q(WSSE, "BinarySecurityToken"),
                           {"ValueType": X509V3, "EncodingType": BASE64_BINARY, WSU_ID: bst_id})
    bst.text = base64.b64encode(cert_der).decode("ascii")

    sig = xmlsec.template.create(env, xmlsec.constants.TransformExclC14N,
                                 xmlsec.constants.TransformRsaSha256, ns="ds", id=new_id("SIG"))
    sec.append(sig)
    c14n = sig.find("%s/%s" % (q(DS, "SignedInfo"), q(DS, "CanonicalizationMethod")))
    xmlsec.template.transform_add_c14n_inclusive_namespaces(c14n, in_scope_prefixes(c14n))
    for target in (ts, body):
        ref = xmlsec.template.add_reference(sig, xmlsec.constants.TransformSha256, uri="#" + target.get(WSU_ID))
        tr = xmlsec.template.add_transform(ref, xmlsec.constants.TransformExclC14N)
        xmlsec.template.transform_add_c14n_inclusive_namespaces(tr, in_scope_prefixes(target))
    key_info = xmlsec.template.ensure_key_info(sig)
    str_ = etree.SubElement(key_info, q(WSSE, "SecurityTokenReference"))
    etree.SubElement(str_, q(WSSE, "Reference"), {"URI": "#" + bst_id, "ValueType": X509V3})

    ctx = xmlsec.SignatureContext()
    ctx.register_id(body, "Id", WSU)
    ctx.register_id(ts, "Id", WSU)
    ctx.key = xmlsec.Key.from_memory(key_pem, xmlsec.constants.KeyDataFormatPem)
    ctx.sign(sig)
    if faults["tamper_response"]:
        rcv.find(q(SIM_NS, "Status")).text = "Accepted"
    return etree.tostring(env, xml_declaration=True, encoding="UTF-8")


# ---------------------------------------------------------------- serve: state

class HttpError(Exception):
    def __init__(self, status, desc, headers=None):
        super().__init__(desc)
        self.status, self.desc, self.headers = status, desc, headers or {}


def bad(desc):
    return HttpError(400, desc)


FAULT_FLAGS = ("tamper_response", "unsigned_response", "stale_response", "foreign_signer")


class Sim:
    """What the handlers share; one lock guards the mutable parts (the
    request log has its own)."""

    def __init__(self, args):
        self.dir = args.state
        self.lock = threading.Lock()
        self.faults = dict({f: False for f in FAULT_FLAGS}, status=None)
        self.clock_offset_s = args.clock_offset_s
        self.requests = simcommon.RequestLog(CAPTURE_MAX)
        self.served, self.service_seconds = 0, 0.0
        self.signers = {}
        for name in ("service", "foreign"):
            with open(os.path.join(self.dir, name + ".key"), "rb") as f:
                key_pem = f.read()
            cert = load_cert(os.path.join(self.dir, name + ".pem"))
            self.signers[name] = (key_pem, cert.public_bytes(serialization.Encoding.DER))
        self.counts_path = os.path.join(self.dir, "counts.json")
        self.counts = self.load_state(self.counts_path, {"accepted": 0, "rejected": 0})
        if set(self.counts) != {"accepted", "rejected"} or not all(
                isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in self.counts.values()):
            die("serve: %s: not {\"accepted\":N,\"rejected\":N}" % self.counts_path)

    @staticmethod
    def load_state(path, default):
        if not os.path.exists(path):
            return default
        try:
            obj = read_json_file(path)
        except (OSError, ValueError) as e:
            die("serve: %s: %s" % (path, e))
        if not isinstance(obj, dict):
            die("serve: %s: not a JSON object" % path)
        return obj

    def now(self):
        with self.lock:
            return utcnow() + datetime.timedelta(seconds=self.clock_offset_s)

    def count(self, outcome):
        with self.lock:
            self.counts["accepted" if outcome == "accepted" else "rejected"] += 1
            atomic_write(self.counts_path, dump_json(self.counts))

    def add_service(self, seconds):
        with self.lock:
            self.served += 1
            self.service_seconds += seconds

    def service_time(self):
        with self.lock:
            return {"requests": self.served, "seconds": round(self.service_seconds, 6)}

    def get_counts(self):
        with self.lock:
            return dict(self.counts)

    def get_faults(self):
        with self.lock:
            return dict(self.faults)

    def set_faults(self, upd):
        with self.lock:
            self.faults.update(upd)
            return dict(self.faults)

    def get_config(self):
        with self.lock:
            return {"clock_offset_s": self.clock_offset_s}

    def set_config(self, offset):
        with self.lock:
            self.clock_offset_s = offset
            return {"clock_offset_s": self.clock_offset_s}


def parse_faults(req):
    upd = {}
    for k, v in req.items():
        if k in FAULT_FLAGS:
            if not isinstance(v, bool):
                raise bad("%s must be true or false" % k)
            upd[k] = v
        elif k == "status":
            if v is not None and (not isinstance(v, int) or isinstance(v, bool) or not (v == 0 or 400 <= v <= 599)):
                raise bad("status must be null, 0 (off) or 400..599")
            upd[k] = v or None
        else:
            raise bad("unknown member %s" % k[:60])
    return upd


def parse_config(req):
    if set(req) - {"clock_offset_s"}:
        raise bad("unknown member %s" % sorted(set(req) - {"clock_offset_s"})[0][:60])
    v = req.get("clock_offset_s")
    if not isinstance(v, int) or isinstance(v, bool) or abs(v) > 10 * 365 * 86400:
        raise bad("clock_offset_s must be an integer number of seconds (within 10 years)")
    return v


# ---------------------------------------------------------------- HTTP

class Handler(simcommon.BaseHandler):
    server_version = "stil-sim/1"
    max_body = MAX_BODY
    length_required = False

    def send_error(self, code, message=None, explain=None):
        # http.server's own refusals (bad request line, 414, 431, 501...).
        self.close_connection = True
        self.reply(code, "application/json", json.dumps(
            {"error": message or http.HTTPStatus(code).phrase}).encode(), {"Connection": "close"})

    def reply(self, status, content_type, body, headers=None):
        if status >= 400 and not self.body_read:
            self.close_connection = True      # the body (if any) was not consumed
            headers = dict(headers or {}, Connection="close")
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def reply_json(self, status, obj, headers=None):
        self.reply(status, "application/json", json.dumps(obj).encode(), headers)

    def read_body(self):
        try:
            return super().read_body()
        except simcommon.BodyError as e:
            raise HttpError(e.status, e.desc) from None

    # -- services

    def service(self, u):
        t0 = time.monotonic()
        try:
            self.soap_service(u)
        finally:
            self.sim.add_service(time.monotonic() - t0)

    def soap_service(self, u):
        m = IPL_ROUTE_RE.fullmatch(u.path) or BPI_ROUTE_RE.fullmatch(u.path)
        soap = SOAP12
        der = self.connection.getpeercert(binary_form=True)
        rec = {"time": iso_utc(), "method": self.command, "path": self.path, "status": 200,
               "outcome": "accepted", "fault": None, "response_faults": [],
               "content_type": self.headers.get("Content-Type"),
               "soap_action": self.headers.get("SOAPAction"), "body_b64": "",
               "client_cert_sha256": hashlib.sha256(der).hexdigest() if der else None}
        headers = {}
        try:
            answer = self.answer_service(u, m, soap, der, rec)
        except Exception as e:     # every refusal, and a bug here as a Receiver fault
            if not isinstance(e, SoapFault):
                log("%s: %s" % (self.path[:100], "".join(traceback.format_exception(e)).rstrip()))
                e = SoapFault("simulator error: %s: %s" % (type(e).__name__, e), code="Receiver")
            rec.update(status=e.status, outcome=e.outcome, fault=e.text(soap))
            answer, headers = fault_envelope(soap, e), e.headers
        # Counted and captured before the answer leaves, so a client that got
        # it finds it at /sim/requests.
        self.sim.count(rec["outcome"])
        self.sim.requests.capture(rec)
        log("%s:%s %s %s SOAP %s -> %s %s" % (self.client_address[0], self.client_address[1], self.command,
                                              self.path[:100], soap.version, rec["status"],
                                              rec["fault"] or "accepted"))
        self.reply(rec["status"], soap.content_type + "; charset=utf-8", answer, headers)

    def answer_service(self, u, m, soap, der, rec):
        """Steps 1-15 of the module docstring; the signed response, or SoapFault."""
        try:
            if m is None:
                raise HttpError(404, "no service at %s (POST /services/VEU/{Operation}/v1 or "
                                     "/bpi/{service}/{version})" % u.path[:100])
            if self.command != "POST":
                raise HttpError(405, "%s needs POST" % u.path[:100], {"Allow": "POST"})
            body = self.read_body()
        except HttpError as e:
            raise SoapFault(e.desc, status=e.status, headers=e.headers) from None
        rec["body_b64"] = base64.b64encode(body).decode("ascii")
        if u.query:
            raise sender("no query string is accepted")
        if der is None:
            raise SoapFault("a TLS client certificate issued by the client CA is required", WSSE_AUTH, status=401)
        faults = self.sim.get_faults()
        if faults["status"]:
            raise SoapFault("injected failure (fault status %d)" % faults["status"], code="Receiver",
                            status=faults["status"], outcome="injected")
        policy = POLICIES["ipl" if m.re is IPL_ROUTE_RE else "bpi"]
        action = http_action(self.headers, soap)
        now = self.sim.now()
        received = check_request(body, soap, policy, der, action, now)
        subject = dn(x509.load_der_x509_certificate(der).subject)
        signer = self.sim.signers["foreign" if faults["foreign_signer"] else "service"]
        rec["response_faults"] = [f for f in FAULT_FLAGS if faults[f]]
        return signed_response(soap, policy, received, subject, signer, now, faults)

    # -- /sim/

    def sim_route(self, path, query):
        routes = {"/sim/health": ("GET",), "/sim/requests": ("GET",), "/sim/reset-requests": ("POST",),
                  "/sim/faults": ("GET", "POST"), "/sim/config": ("GET", "POST"), "/sim/counts": ("GET",),
                  "/sim/service": ("GET",)}
        try:
            if path not in routes:
                raise HttpError(404, "no such endpoint: %s" % path[:100])
            if self.command not in routes[path]:
                raise HttpError(405, "%s needs %s" % (path, " or ".join(routes[path])),
                                {"Allow": ", ".join(routes[path])})
            body = self.read_body()
            if query:
                raise bad("no query parameters are accepted")
            req = None
            if self.command == "POST" and path != "/sim/reset-requests":
                ct = parse_content_type(self.headers.get("Content-Type"))
                if ct is None or ct[0] != "application/json":
                    raise bad("Content-Type must be application/json")
                try:
                    req = strict_json(body)
                except ValueError as e:
                    raise bad(str(e)) from None
                if not isinstance(req, dict):
                    raise bad("the body must be a JSON object")
            if path == "/sim/health":
                self.reply_json(200, {"status": "ok"})
            elif path == "/sim/requests":
                self.reply_json(200, {"requests": self.sim.requests.list()})
            elif path == "/sim/reset-requests":
                self.sim.requests.clear()
                self.reply_json(200, {"requests": []})
            elif path == "/sim/counts":
                self.reply_json(200, self.sim.get_counts())
            elif path == "/sim/service":
                self.reply_json(200, self.sim.service_time())
            elif path == "/sim/faults":
                self.reply_json(200, self.sim.set_faults(parse_faults(req)) if req is not None
                                else self.sim.get_faults())
            else:
                self.reply_json(200, self.sim.set_config(parse_config(req)) if req is not None
                                else self.sim.get_config())
        except HttpError as e:
            self.reply_json(e.status, {"error": e.desc}, e.headers)


class Server(simcommon.TLSServer):
    def handshake_failed(self, client_address, reason):
        self.sim.requests.capture({
            "time": iso_utc(), "method": None, "path": None, "status": None,
            "outcome": "tls_handshake_failed", "fault": reason, "response_faults": [],
            "content_type": None, "soap_action": None, "body_b64": "",
            "client_cert_sha256": None})


def cmd_serve(args):
    d = args.state
    check_listen_address(args.host, args.port)
    require_state(d, ("server.pem", "server.key", "client-ca.pem", "service.pem", "service.key",
                      "foreign.pem", "foreign.key"))
    sim = Sim(args)

    ctx = server_tls_context(os.path.join(d, "server.pem"), os.path.join(d, "server.key"),
                             os.path.join(d, "client-ca.pem"))

    server, host, port = listen(Server, args, Handler, sim, ctx)
    ready = {"url": "https://%s:%d" % (host, port), "port": port, "pid": os.getpid(),
             "state": os.path.abspath(d), "ca_file": os.path.abspath(os.path.join(d, "server-ca.pem")),
             "client_ca_file": os.path.abspath(os.path.join(d, "client-ca.pem")),
             "service_ca_file": os.path.abspath(os.path.join(d, "service-ca.pem")),
             "service_chain_file": os.path.abspath(os.path.join(d, "service-chain.pem"))}

    return serve_until_signal(server, ready, args.ready_file, "listening on %s" % ready["url"])


def main(argv=None):
    ap = argparse.ArgumentParser(prog=PROG, description="Strict STIL WS-Security SOAP simulator.")
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("init", help="make the CAs, server, service and foreign certificates")
    p.add_argument("--state", required=True)
    p = sub.add_parser("issue-client", help="issue an OCES3-style system certificate from a CSR")
    add_issue_client_arguments(p)
    p = sub.add_parser("serve", help="serve HTTPS on a loopback address")
    add_serve_arguments(p)
    p.add_argument("--clock-offset-s", type=int, default=0)
    args = ap.parse_args(argv)
    return run_command({"init": cmd_init, "issue-client": cmd_issue_client, "serve": cmd_serve}, args)


if __name__ == "__main__":
    sys.exit(main())
