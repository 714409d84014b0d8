# SPDX-License-Identifier: Apache-2.0
# The STIL WS-Security SOAP simulator (tests/sim/stil_sim.py) on its own, no
# gateway: init and issue-client from an OCES3-style openssl CSR; requests
# built and signed here (lxml + python-xmlsec templates, PEM keys) of the
# shape the gateway sends, SOAP 1.2: stil-ipl at IPL's per-operation paths
# (/services/VEU/{Operation}/v1, others 404) answered unsigned like IPL's
# published samples; stil-bpi at /bpi/wsiinst/6 answered with a signed
# response that xmlsec1 verifies (exc-c14n with an InclusiveNamespaces
# PrefixList) carrying only its signer's certificate, which openssl chains
# to service-ca.pem through service-ica.pem; next to each, the rejections
# docs/authorities.md section 3 lists with their sources (client
# certificate, BST = TLS certificate, unsigned or changed parts, Timestamp,
# algorithms, wrapping; Sender faults HTTP 400) and the response fault
# modes for the gateway's response checks.
. "$SG_SRCDIR/tests/integration/lib.sh"
W=$SG_WORK
S=$W/sim
SIM=$SG_SRCDIR/tests/sim/stil_sim.py
PY=${SG_PYTHON:-/usr/bin/python3}
need_python "$PY" "lxml.etree, xmlsec, cryptography" "python3-lxml, python3-xmlsec, python3-cryptography"
need_tools xmlsec1

# mkreq.py: a request as the gateway builds it, signed with lxml + xmlsec.
cat > "$W/mkreq.py" <<'PY'
"""A WS-Security SOAP request of the gateway's shape, signed with a PEM key
(python-xmlsec template), written to --out; options make the bad ones."""
import argparse, base64, datetime, ssl, uuid
import xmlsec
from lxml import etree

WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
WSU = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
WSA = "http://www.w3.org/2005/08/addressing"
UDB = "https://brugerdatabasen.stil.dk/bpi/common/3"
X509V3 = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-x509-token-profile-1.0#X509v3"
B64 = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary"
ENV = {"1.2": "http://www.w3.org/2003/05/soap-envelope", "1.1": "http://schemas.xmlsoap.org/soap/envelope/"}
C = xmlsec.constants
SIG = {"rsa-sha1": C.TransformRsaSha1, "rsa-sha256": C.TransformRsaSha256}
DIG = {"sha1": C.TransformSha1, "sha256": C.TransformSha256}

ap = argparse.ArgumentParser()
ap.add_argument("--soap", choices=ENV, default="1.2")
ap.add_argument("--policy", choices=("ipl", "bpi"), default="ipl")
ap.add_argument("--key", required=True)
ap.add_argument("--cert", required=True, help="the BinarySecurityToken's certificate")
ap.add_argument("--sig", choices=SIG, default="rsa-sha256")
ap.add_argument("--digest", choices=DIG, default="sha256")
ap.add_argument("--created-offset", type=int, default=0, help="seconds from now to Created")
ap.add_argument("--ttl", type=int, default=300, help="seconds from Created to Expires")
ap.add_argument("--message-id", help="wsa:MessageID text (default a fresh urn:uuid; none: leave it out)")
ap.add_argument("--action", default="https://brugerdatabasen.stil.dk/bpi/wsiinst/6/hentInstitution",
                help="wsa:Action text (bpi)")
ap.add_argument("--unsigned", action="append", default=[], help="a part left out of the Signature")
ap.add_argument("--tamper", action="store_true", help="change the Body after signing")
ap.add_argument("--wrap", choices=("move", "duplicate"),
                help="move the signed Body into a header wrapper and put another Body in its place "
                     "(duplicate: the new Body carries the signed wsu:Id as well)")
ap.add_argument("--out", required=True)
a = ap.parse_args()

S = ENV[a.soap]
q = lambda ns, n: "{%s}%s" % (ns, n)


def with_id(el, kind):
    el.set(q(WSU, "Id"), "%s-%s" % (kind, uuid.uuid4()))
    return el


env = etree.Element(q(S, "Envelope"), nsmap={"soap": S})
hdr = etree.SubElement(env, q(S, "Header"))
sec = etree.SubElement(hdr, q(WSSE, "Security"), {q(S, "mustUnderstand"): "1"}, nsmap={"wsse": WSSE, "wsu": WSU})
parts = {}
if a.policy == "bpi":
    for name, ns, text in (("Action", WSA, a.action),
                           ("MessageID", WSA, a.message_id or "urn:uuid:%s" % uuid.uuid4()),
                           ("UdbydersystemId", UDB, "12345")):
        if text != "none":
            el = etree.SubElement(hdr, q(ns, name), nsmap={"wsa" if ns == WSA else "udb": ns})
            el.text = text
            parts[name] = with_id(el, "id")
created = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=a.created_offset)
utc = lambda t: t.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
ts = parts["Timestamp"] = with_id(etree.SubElement(sec, q(WSU, "Timestamp")), "TS")
etree.SubElement(ts, q(WSU, "Created")).text = utc(created)
etree.SubElement(ts, q(WSU, "Expires")).text = utc(created + datetime.timedelta(seconds=a.ttl))
bst = with_id(etree.SubElement(sec, q(WSSE, "BinarySecurityToken"), {"ValueType": X509V3, "EncodingType": B64}), "X509")
with open(a.cert) as f:
    bst.text = base64.b64encode(ssl.PEM_cert_to_DER_cert(f.read())).decode()
body = parts["Body"] = with_id(etree.SubElement(env, q(S, "Body")), "id")
# The operations of the public clients: IPL's HentUdbudRequest
# (PensionDanmark/STIL.ServiceClient), BPI's hentInstitution (LRU-Digital).
if a.policy == "bpi":
    ons = "https://brugerdatabasen.stil.dk/bpi/wsiinst/6"
    op = etree.SubElement(body, q(ons, "hentInstitution"), nsmap={"ns": ons})
    leaf = etree.SubElement(op, q(ons, "instnr"))
else:
    ons = "http://ipl.stil.dk/services/veu/hentudbud/v1.0"
    op = etree.SubElement(body, q(ons, "HentUdbudRequest"), nsmap={"v1": ons})
    leaf = etree.SubElement(etree.SubElement(op, q(ons, "Identifier")), q(ons, "SystemName"))
leaf.text = "hej"

sig = xmlsec.template.create(env, C.TransformExclC14N, SIG[a.sig], ns="ds")
sec.append(sig)
for name, el in parts.items():
    if name not in a.unsigned:
        ref = xmlsec.template.add_reference(sig, DIG[a.digest], uri="#" + el.get(q(WSU, "Id")))
        xmlsec.template.add_transform(ref, C.TransformExclC14N)
str_ = etree.SubElement(xmlsec.template.ensure_key_info(sig), q(WSSE, "SecurityTokenReference"))
etree.SubElement(str_, q(WSSE, "Reference"), {"URI": "#" + bst.get(q(WSU, "Id")), "ValueType": X509V3})
ctx = xmlsec.SignatureContext()
for el in parts.values():
    ctx.register_id(el, "Id", WSU)
ctx.key = xmlsec.Key.from_file(a.key, C.KeyDataFormatPem)
ctx.sign(sig)

if a.tamper:
    leaf.text = "hej!"
if a.wrap:
    wrapper = etree.SubElement(hdr, "{urn:attacker}Wrapper", nsmap={"x": "urn:attacker"})
    env.remove(body)
    wrapper.append(body)
    other = etree.SubElement(env, q(S, "Body"))
    if a.wrap == "duplicate":
        other.set(q(WSU, "Id"), body.get(q(WSU, "Id")))
    etree.SubElement(other, "{urn:attacker}sletAlt")
with open(a.out, "wb") as f:
    f.write(etree.tostring(env, xml_declaration=True, encoding="UTF-8"))
PY
# xq.py FILE XPATH: the XPath's string values, one per line (lxml).
cat > "$W/xq.py" <<'PY'
import sys
from lxml import etree
NS = {"s12": "http://www.w3.org/2003/05/soap-envelope", "s11": "http://schemas.xmlsoap.org/soap/envelope/",
      "wsse": "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd",
      "wsu": "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd",
      "ds": "http://www.w3.org/2000/09/xmldsig#", "ec": "http://www.w3.org/2001/10/xml-exc-c14n#",
      "sim": "urn:sealgate:sim:stil"}
r = etree.parse(sys.argv[1], etree.XMLParser(resolve_entities=False, no_network=True)).xpath(sys.argv[2], namespaces=NS)
for v in r if isinstance(r, list) else [r]:
    print(str(v).lower() if isinstance(v, bool) else int(v) if isinstance(v, float) else
          v if isinstance(v, str) else v.text or "")
PY
# c14n_digest.py FILE: for the Body Reference, whether the DigestValue is
# the SHA-256 of lxml's exc-c14n of the Body with its PrefixList, and
# without it (so a verifier that ignores the PrefixList fails).
cat > "$W/c14n_digest.py" <<'PY'
import base64, hashlib, sys
from lxml import etree
NS = {"ds": "http://www.w3.org/2000/09/xmldsig#", "ec": "http://www.w3.org/2001/10/xml-exc-c14n#",
      "wsu": "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"}
doc = etree.parse(sys.argv[1])
body = doc.getroot()[1]
ref = doc.xpath("//ds:Reference[@URI=$u]", namespaces=NS, u="#" + body.get("{%s}Id" % NS["wsu"]))[0]
prefixes = ref.xpath("string(ds:Transforms/ds:Transform/ec:InclusiveNamespaces/@PrefixList)", namespaces=NS).split()
want = ref.findtext("{%s}DigestValue" % NS["ds"])
for p in (prefixes, []):
    c = etree.tostring(body, method="c14n", exclusive=True, with_comments=False, inclusive_ns_prefixes=p)
    print("match" if base64.b64encode(hashlib.sha256(c).digest()).decode() == want else "differ", end=" ")
print()
PY

sim() { "$PY" "$SIM" "$@"; }
mkreq() { "$PY" "$W/mkreq.py" --key "$W/client.key" --cert "$W/client.pem" "$@"; }
xq() { "$PY" "$W/xq.py" "$@"; }
# bst_pem FILE OUT: the BinarySecurityToken of FILE as a PEM certificate.
bst_pem() {
    { echo '-----BEGIN CERTIFICATE-----'; xq "$1" 'string(//wsse:BinarySecurityToken)' | tr -d ' \n' | fold -w 64
      echo; echo '-----END CERTIFICATE-----'; } > "$2"
}
# wssec_verify FILE CERT: xmlsec1 on a WS-Security message (SOAP 1.1 or
# 1.2), the key from CERT, wsu:Id registered on every part that may be signed.
wssec_verify() {
    xmlsec1 --verify --enabled-reference-uris same-doc --pubkey-cert-pem "$2" \
        --id-attr:Id "$S12:Body" --id-attr:Id "$S11:Body" --id-attr:Id "$WSU:Timestamp" \
        --id-attr:Id "$WSA:MessageID" --id-attr:Id "$WSA:Action" --id-attr:Id "$UDB:UdbydersystemId" "$1"
}
# verify_response FILE: the response's signer chains to service-ca.pem
# through service-ica.pem and xmlsec1 verifies its signature with that
# certificate.
verify_response() {
    bst_pem "$1" "$W/signer.pem" &&
        openssl verify -CAfile "$S/service-ca.pem" -untrusted "$S/service-ica.pem" "$W/signer.pem" &&
        wssec_verify "$1" "$W/signer.pem"
}
IPL=/services/VEU/HentUdbud/v1
BPI=/bpi/wsiinst/6
TLS=(--cacert "$S/server-ca.pem")
CT12='Content-Type: application/soap+xml; charset=utf-8'
CT11='Content-Type: text/xml; charset=utf-8'
# send PATH FILE [curl args...]: POST with the client certificate and
# Content-Type application/soap+xml; status on stdout, the answer in
# $W/resp.xml, its headers in $W/resp.hdr. CT=HEADER sends that
# Content-Type header instead.
send() {
    local path=$1 f=$2 hdrs=(-H "${CT:-$CT12}")
    shift 2
    curl -sS -o "$W/resp.xml" -D "$W/resp.hdr" -w '%{http_code}' "${TLS[@]}" \
        --cert "$W/client.pem" --key "$W/client.key" "${hdrs[@]}" --data-binary @"$f" "$@" "$URL$path"
}
# fault_text: "<code> <subcode> | <reason>" of the SOAP 1.2 Fault in $W/resp.xml.
fault_text() {
    xq "$W/resp.xml" 'concat(//s12:Fault/s12:Code/s12:Value, " ", //s12:Subcode/s12:Value, " | ",
        //s12:Reason/s12:Text)'
}
# expect_fault DESCRIPTION STATUS REGEX GOT_STATUS: the answer is a SOAP Fault
# with that status whose fault_text matches REGEX.
expect_fault() {
    local text
    text=$(fault_text 2>/dev/null)
    if [ "$4" = "$2" ] && printf '%s' "$text" | grep -Eq -- "$3"; then
        pass "$1: $2 $(printf '%s' "$text" | cut -c1-110)"
    else
        fail "$1: got $4 '$(printf '%s' "$text" | head -c 300)', wanted $2 /$3/"
    fi
}
simget() { curl -sS "${TLS[@]}" "$URL/sim/$1"; }
simpost() { curl -sS -o "$W/simbody" -w '%{http_code}' "${TLS[@]}" -H 'Content-Type: application/json' \
    --data-binary "$2" "$URL/sim/$1"; }
# start_sim: serve state $S on a free port; sets URL, SIM_PID.
start_sim() {
    start_sim_serve stil_sim "$W/sim-ready.json" "$PY" "$SIM" "$S"
    URL=$(jq -r .url "$W/sim-ready.json")
}

# --- init and issue-client -------------------------------------------------
check "init" sim init --state "$S"
for f in server-ca.pem server.pem server.key client-ca.pem service-ca.pem service-ica.pem service-chain.pem \
    service.pem service.key foreign-ca.pem foreign.pem foreign.key counts.json; do
    [ -s "$S/$f" ] || fail "init made $f"
done
expect_eq "service key mode 0600" "$(stat -c %a "$S/service.key")" 600
check "server certificate chains to the server CA" openssl verify -CAfile "$S/server-ca.pem" -purpose sslserver "$S/server.pem"
check "server certificate is for 127.0.0.1" openssl x509 -in "$S/server.pem" -noout -checkip 127.0.0.1
check "service signer chains to service-ca.pem through service-ica.pem" \
    openssl verify -CAfile "$S/service-ca.pem" -untrusted "$S/service-ica.pem" "$S/service.pem"
check_exit 2 "  not without it" openssl verify -CAfile "$S/service-ca.pem" "$S/service.pem"
check "  service-chain.pem holds both" openssl verify -CAfile "$S/service-chain.pem" "$S/service.pem"
expect_eq "  in that order, the issuing CA first" \
    "$(openssl crl2pkcs7 -nocrl -certfile "$S/service-chain.pem" | openssl pkcs7 -print_certs -noout | sed -n 's/^subject=.*CN = //p' | tr '\n' ';')" \
    "stil-sim service issuing CA;stil-sim service CA;"
check_exit 2 "foreign signer does not chain to service-chain.pem" openssl verify -CAfile "$S/service-chain.pem" "$S/foreign.pem"
expect_match "service signer is RSA-3072" "$(openssl x509 -in "$S/service.pem" -noout -text)" 'Public-Key: \(3072 bit\)'
expect_eq "foreign signer has the service signer's subject" \
    "$(openssl x509 -in "$S/foreign.pem" -noout -subject)" "$(openssl x509 -in "$S/service.pem" -noout -subject)"
before=$(sha256sum "$S/service.pem" "$S/client-ca.pem")
check "init again" sim init --state "$S"
expect_eq "  keeps what exists" "$(sha256sum "$S/service.pem" "$S/client-ca.pem")" "$before"

uuid=$(cat /proc/sys/kernel/random/uuid)
subject="/C=DK/O=Example ApS/organizationIdentifier=NTRDK-12345678/serialNumber=UI:DK-O:G:$uuid/CN=Example system"
openssl req -new -newkey rsa:3072 -nodes -sha256 -subj "$subject" -keyout "$W/client.key" -out "$W/client.csr" 2>/dev/null
check "issue-client from an OCES3-style CSR (RSA-3072)" sim issue-client --state "$S" --csr "$W/client.csr" --out "$W/client.pem"
expect_eq "  prints the subject" "$(cat "$W/last.out")" \
    "CN=Example system,serialNumber=UI:DK-O:G:$uuid,organizationIdentifier=NTRDK-12345678,O=Example ApS,C=DK"
expect_match "  subject copied" "$(openssl x509 -in "$W/client.pem" -noout -subject -nameopt RFC2253)" \
    "^subject=CN=Example system,serialNumber=UI:DK-O:G:$uuid,organizationIdentifier=NTRDK-12345678,O=Example ApS,C=DK$"
check "  chains to client-ca.pem for clientAuth" openssl verify -CAfile "$S/client-ca.pem" -purpose sslclient "$W/client.pem"
expect_match "  key usage digitalSignature only" "$(openssl x509 -in "$W/client.pem" -noout -ext keyUsage | tr -s ' \n' ' ')" \
    'critical Digital Signature $'
expect_eq "  kept under issued/" "$(find "$S/issued" -name '*.pem' | wc -l)" 1
openssl req -new -newkey rsa:2048 -nodes -sha256 -subj "/C=DK/O=Other ApS/CN=Other system" \
    -keyout "$W/other.key" -out "$W/other.csr" 2>/dev/null
check "issue-client RSA-2048 (a second system)" sim issue-client --state "$S" --csr "$W/other.csr" --out "$W/other.pem"
openssl req -new -newkey rsa:1024 -nodes -sha256 -subj "/CN=weak" -keyout "$W/weak.key" -out "$W/weak.csr" 2>/dev/null
check_exit 1 "issue-client refuses RSA-1024" sim issue-client --state "$S" --csr "$W/weak.csr" --out "$W/weak.pem"
expect_match "  says so" "$(cat "$W/last.err")" '1024 bits'
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=ec" -keyout "$W/ec.key" \
    -out "$W/ec.csr" 2>/dev/null
check_exit 1 "issue-client refuses an EC key" sim issue-client --state "$S" --csr "$W/ec.csr" --out "$W/ec.pem"
openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 2 -subj "/CN=not from the client CA" \
    -keyout "$W/stranger.key" -out "$W/stranger.pem" 2>/dev/null

start_sim
expect_eq "ready file" "$(jq -c '[(.port|type), (.url|test("^https://127\\.0\\.0\\.1:[0-9]+$")), .service_ca_file, .service_chain_file]' \
    "$W/sim-ready.json")" "[\"number\",true,\"$S/service-ca.pem\",\"$S/service-chain.pem\"]"
expect_eq "/sim/health without a client certificate" "$(simget health)" '{"status": "ok"}'

# --- accepted requests, verified responses ----------------------------------
mkreq --policy ipl --sig rsa-sha1 --digest sha1 --out "$W/ipl.xml"
expect_eq "stil-ipl at HentUdbud's URL, rsa-sha1/sha1 (the known clients): 200" "$(send $IPL "$W/ipl.xml")" 200
expect_match "  Content-Type application/soap+xml" "$(grep -i '^content-type:' "$W/resp.hdr")" 'application/soap\+xml; charset=utf-8'
cp "$W/resp.xml" "$W/ipl-resp.xml"
expect_eq "  answered unsigned as IPL's samples: Envelope and Body only" \
    "$(xq "$W/ipl-resp.xml" 'concat(namespace-uri(/*), " ", count(/*/*), " ", local-name(/*/*), " ", count(//wsse:Security), " ", count(//ds:Signature))')" \
    "$S12 1 Body 0 0"
expect_eq "  echoes the operation, policy and client" \
    "$(xq "$W/ipl-resp.xml" 'concat(//sim:Status, " ", //sim:Operation, " ", //sim:Policy, " ", //sim:Client)')" \
    "accepted HentUdbudRequest stil-ipl CN=Example system,serialNumber=UI:DK-O:G:$uuid,organizationIdentifier=NTRDK-12345678,O=Example ApS,C=DK"
mkreq --policy ipl --out "$W/ipl256.xml"
expect_eq "stil-ipl at HentOptagedePladser's URL, rsa-sha256/sha256: 200" \
    "$(send /services/VEU/HentOptagedePladser/v1 "$W/ipl256.xml")" 200

mkreq --policy bpi --out "$W/bpi.xml"
mid=$(xq "$W/bpi.xml" 'string(//*[local-name() = "MessageID"])')
expect_eq "stil-bpi, rsa-sha256/sha256: 200" "$(send $BPI "$W/bpi.xml")" 200
cp "$W/resp.xml" "$W/bpi-resp.xml"
check "  response signer chains to service-ca.pem through service-ica.pem and xmlsec1 verifies the response" \
    verify_response "$W/bpi-resp.xml"
expect_eq "  the answer carries the signer's certificate only" "$(xq "$W/bpi-resp.xml" 'count(//wsse:BinarySecurityToken)')" 1
expect_eq "  echoes the operation and MessageID" "$(xq "$W/bpi-resp.xml" 'concat(//sim:Operation, " ", //sim:Policy, " ", //sim:MessageID)')" \
    "hentInstitution stil-bpi $mid"
expect_eq "  signed: Body and Timestamp, rsa-sha256, sha256" \
    "$(xq "$W/bpi-resp.xml" 'concat(count(//ds:Reference[substring(@URI, 2) = //s12:Body/@wsu:Id or substring(@URI, 2) = //wsu:Timestamp/@wsu:Id]), " ", //ds:SignatureMethod/@Algorithm, " ", count(//ds:DigestMethod[@Algorithm = "http://www.w3.org/2001/04/xmlenc#sha256"]))')" \
    "2 http://www.w3.org/2001/04/xmldsig-more#rsa-sha256 2"
expect_eq "  exc-c14n with an InclusiveNamespaces PrefixList on each Reference" \
    "$(xq "$W/bpi-resp.xml" 'count(//ds:Reference/ds:Transforms/ds:Transform[@Algorithm = "http://www.w3.org/2001/10/xml-exc-c14n#"]/ec:InclusiveNamespaces[@PrefixList])')" 2
expect_eq "  Body digest needs the PrefixList (lxml exc-c14n with it, without it)" \
    "$("$PY" "$W/c14n_digest.py" "$W/bpi-resp.xml")" "match differ "
expect_eq "  KeyInfo is a SecurityTokenReference to the token" \
    "$(xq "$W/bpi-resp.xml" 'string(//ds:KeyInfo/wsse:SecurityTokenReference/wsse:Reference/@URI) = concat("#", //wsse:BinarySecurityToken/@wsu:Id)')" true
created=$(xq "$W/bpi-resp.xml" 'string(//wsu:Created)')
expires=$(xq "$W/bpi-resp.xml" 'string(//wsu:Expires)')
expect_eq "  fresh Timestamp, TTL 300 s" "$(( $(date -u -d "$expires" +%s) - $(date -u -d "$created" +%s) )) $(( $(date -u +%s) - $(date -u -d "$created" +%s) < 30 ))" "300 1"
resp_changed() { sed 's/>accepted</>Accepted</' "$W/bpi-resp.xml" > "$W/changed.xml" && wssec_verify "$W/changed.xml" "$W/signer.pem"; }
check_exit 1 "  xmlsec1 refuses the response once its Body is changed" resp_changed
mkreq --policy bpi --out "$W/bpi-action.xml"
expect_eq "stil-bpi with a matching action parameter: 200" \
    "$(CT="Content-Type: application/soap+xml; charset=UTF-8; action=\"$BPI_ACTION\"" send $BPI "$W/bpi-action.xml")" 200
expect_eq "the same bpi request again: accepted (no replay refusal without a published one)" "$(send $BPI "$W/bpi.xml")" 200
mkreq --policy bpi --message-id "$(cat /proc/sys/kernel/random/uuid)" --out "$W/bare-mid.xml"
expect_eq "bpi MessageID a bare GUID, as LRU's client sends it: 200" "$(send $BPI "$W/bare-mid.xml")" 200
mkreq --policy bpi --action https://brugerdatabasen.stil.dk/bpi/wsiinst/6/hentGrupper --out "$W/grupper.xml"
expect_eq "bpi hentGrupper at the same URL: 200" "$(send $BPI "$W/grupper.xml")" 200

# --- captured requests: the exact bytes, verifiable with xmlsec1 ------------
simget requests > "$W/requests.json"
jq -r '.requests[0].body_b64' "$W/requests.json" | base64 -d > "$W/captured.xml"
check "/sim/requests holds the bytes sent" cmp "$W/captured.xml" "$W/ipl.xml"
bst_pem "$W/captured.xml" "$W/captured-bst.pem"
check "  xmlsec1 verifies the captured request with its BinarySecurityToken" wssec_verify "$W/captured.xml" "$W/captured-bst.pem"
expect_eq "  the record" "$(jq -c '.requests[0] | [.method, .path, .status, .outcome, .fault, .content_type]' "$W/requests.json")" \
    '["POST","/services/VEU/HentUdbud/v1",200,"accepted",null,"application/soap+xml; charset=utf-8"]'
expect_eq "  client_cert_sha256" "$(jq -r '.requests[0].client_cert_sha256' "$W/requests.json")" \
    "$(openssl x509 -in "$W/client.pem" -outform DER | sha256sum | cut -d' ' -f1)"
expect_eq "  seven accepted" "$(jq '[.requests[] | select(.outcome == "accepted")] | length' "$W/requests.json")" 7
expect_eq "/sim/counts" "$(simget counts | jq -c .)" '{"accepted":7,"rejected":0}'

# --- rejections -------------------------------------------------------------
mkreq --policy ipl --out "$W/good.xml"
got=$(curl -sS -o "$W/resp.xml" -w '%{http_code}' "${TLS[@]}" -H "$CT12" --data-binary @"$W/good.xml" "$URL$IPL")
expect_fault "no client certificate" 401 'wsse:FailedAuthentication \| .*client certificate' "$got"
rc=0
got=$(curl -sS -o /dev/null -w '%{http_code}' "${TLS[@]}" --cert "$W/stranger.pem" --key "$W/stranger.key" \
    -H "$CT12" --data-binary @"$W/good.xml" "$URL$IPL" 2>/dev/null) || rc=$?
expect_match "client certificate from another CA: TLS handshake refused" "$rc $got" '^[1-9][0-9]* 000$'
last_outcome() { simget requests | jq -r '.requests[-1].outcome'; }
wait_until 30 "the refused handshake recorded" eval '[ "$(last_outcome)" = tls_handshake_failed ]'
expect_eq "  recorded at /sim/requests" "$(last_outcome)" tls_handshake_failed
"$PY" "$W/mkreq.py" --key "$W/other.key" --cert "$W/other.pem" --out "$W/other-bst.xml"
expect_fault "BinarySecurityToken is another certificate than the TLS one" 400 \
    'wsse:FailedAuthentication \| .*not the TLS client certificate' "$(send $IPL "$W/other-bst.xml")"
mkreq --unsigned Body --out "$W/unsigned-body.xml"
expect_fault "Body not signed" 400 'soap:Sender wsse:InvalidSecurity \| .*Body not signed' "$(send $IPL "$W/unsigned-body.xml")"
mkreq --unsigned Timestamp --out "$W/unsigned-ts.xml"
expect_fault "Timestamp not signed" 400 'wsse:InvalidSecurity \| .*Timestamp not signed' "$(send $IPL "$W/unsigned-ts.xml")"
mkreq --tamper --out "$W/tampered.xml"
expect_fault "Body changed after signing" 400 'wsse:FailedCheck \| .*does not verify' "$(send $IPL "$W/tampered.xml")"
mkreq --created-offset -600 --out "$W/expired.xml"
expect_fault "Timestamp expired" 400 'wsse:MessageExpired \| .*expired' "$(send $IPL "$W/expired.xml")"
mkreq --created-offset 600 --out "$W/future.xml"
expect_fault "Timestamp 10 min in the future" 400 'wsse:MessageExpired \| .*in the future' "$(send $IPL "$W/future.xml")"
mkreq --created-offset 240 --out "$W/near-future.xml"
expect_eq "  4 min in the future is accepted" "$(send $IPL "$W/near-future.xml")" 200
mkreq --created-offset 120 --ttl -60 --out "$W/backwards.xml"
expect_fault "Expires before Created" 400 'wsse:InvalidSecurity \| .*Expires .* before .*Created' "$(send $IPL "$W/backwards.xml")"
mkreq --policy bpi --message-id none --out "$W/no-mid.xml"
expect_fault "bpi without MessageID" 400 'wsa:MessageAddressingHeaderRequired \| .*MessageID' "$(send $BPI "$W/no-mid.xml")"
mkreq --policy bpi --unsigned MessageID --out "$W/unsigned-mid.xml"
expect_fault "bpi MessageID not signed" 400 'wsse:InvalidSecurity \| .*: MessageID not signed' "$(send $BPI "$W/unsigned-mid.xml")"
mkreq --policy bpi --unsigned UdbydersystemId --unsigned Action --out "$W/unsigned-udb.xml"
expect_fault "bpi UdbydersystemId and Action not signed" 400 'UdbydersystemId, Action not signed' "$(send $BPI "$W/unsigned-udb.xml")"
mkreq --policy bpi --sig rsa-sha1 --digest sha1 --out "$W/bpi-sha1.xml"
expect_fault "bpi with rsa-sha1/sha1" 400 'wsse:UnsupportedAlgorithm \| .*SignatureMethod .*rsa-sha1 is not accepted' "$(send $BPI "$W/bpi-sha1.xml")"
mkreq --policy bpi --digest sha1 --out "$W/bpi-digest-sha1.xml"
expect_fault "bpi with sha1 digests" 400 'wsse:UnsupportedAlgorithm \| .*DigestMethod .*#sha1 .*not accepted' "$(send $BPI "$W/bpi-digest-sha1.xml")"
mkreq --policy bpi --out "$W/bpi-mismatch.xml"
expect_fault "bpi action parameter differs from wsa:Action" 400 'wsa:ActionMismatch' \
    "$(CT='Content-Type: application/soap+xml; action="urn:other"' send $BPI "$W/bpi-mismatch.xml")"
mkreq --wrap move --out "$W/wrap-move.xml"
bst_pem "$W/wrap-move.xml" "$W/wrap-bst.pem"
check "wrapping attack (signed Body moved to a header, another Body in its place): xmlsec1 alone accepts it" \
    wssec_verify "$W/wrap-move.xml" "$W/wrap-bst.pem"
expect_fault "  the simulator does not" 400 'wsse:InvalidSecurity \| .*signature wrapping' "$(send $IPL "$W/wrap-move.xml")"
mkreq --wrap duplicate --out "$W/wrap-dup.xml"
expect_fault "wrapping attack with the signed wsu:Id on the new Body too" 400 'wsse:InvalidSecurity \| .*used twice' \
    "$(send $IPL "$W/wrap-dup.xml")"
# Header blocks outside the signature: what a receiver must and must not understand.
sed 's|<soap:Header>|<soap:Header><x:Extra xmlns:x="urn:x" soap:mustUnderstand="1"/>|' "$W/good.xml" > "$W/mu.xml"
expect_fault "unknown header with mustUnderstand" 500 'soap:MustUnderstand .*x:Extra' "$(send $IPL "$W/mu.xml")"
mkreq --out "$W/extra.xml"
sed -i 's|<soap:Header>|<soap:Header><x:Extra xmlns:x="urn:x"/>|' "$W/extra.xml"
expect_eq "  without mustUnderstand it is ignored" "$(send $IPL "$W/extra.xml")" 200
sed 's| soap:mustUnderstand="1"||' "$W/good.xml" > "$W/no-mu.xml"
expect_fault "wsse:Security without mustUnderstand" 400 'wsse:InvalidSecurity \| .*mustUnderstand' \
    "$(send $IPL "$W/no-mu.xml")"
mkreq --soap 1.1 --out "$W/ipl11.xml"
expect_fault "a SOAP 1.1 envelope: STIL's services are SOAP 1.2" 500 'soap:VersionMismatch' \
    "$(send $IPL "$W/ipl11.xml")"
expect_fault "SOAP 1.2 with Content-Type text/xml" 415 'soap:Sender .*Content-Type' "$(CT=$CT11 send $IPL "$W/good.xml")"
for path in /nothing/here /ipl/IntegrationsService /soap11/ipl/x /services/VEU/HentUdbud/v2 \
    /services/VEU/Hent.Udbud/v1 /services/VEU/HentUdbud /services/VEU/HentUdbud/v1/x /services/VEU/a%2Fb/v1 \
    /bpi/x /bpi/wsiinst/6/hentInstitution; do
    expect_fault "no service at $path" 404 'soap:Sender .*no service' "$(send "$path" "$W/good.xml")"
done
printf '<!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>' > "$W/dtd.xml"
expect_fault "a DTD" 400 'soap:Sender .*DTD' "$(send $IPL "$W/dtd.xml")"
expect_eq "  counted: two more accepted, 31 rejected" "$(simget counts | jq -c .)" '{"accepted":9,"rejected":31}'

# --- the simulator's clock ----------------------------------------------------
expect_eq "clock_offset_s +600" "$(simpost config '{"clock_offset_s":600}')" 200
mkreq --out "$W/fresh.xml"
expect_fault "  a fresh request has expired on the simulator's clock" 400 'wsse:MessageExpired' "$(send $IPL "$W/fresh.xml")"
simpost config '{"clock_offset_s":-600}' >/dev/null
mkreq --out "$W/fresh.xml"
expect_fault "clock_offset_s -600: a fresh request is in the future" 400 'wsse:MessageExpired \| .*in the future' \
    "$(send $IPL "$W/fresh.xml")"
expect_eq "  GET /sim/config" "$(simget config | jq -c .)" '{"clock_offset_s":-600}'
expect_eq "config: unknown member refused" "$(simpost config '{"clock_offset":1}')" 400
simpost config '{"clock_offset_s":0}' >/dev/null
mkreq --out "$W/fresh.xml"
expect_eq "  clock_offset_s 0: accepted again" "$(send $IPL "$W/fresh.xml")" 200

# --- response faults ------------------------------------------------------------
expect_eq "faults default" "$(simget faults | jq -cS .)" \
    '{"foreign_signer":false,"stale_response":false,"status":null,"tamper_response":false,"unsigned_response":false}'
simpost faults '{"tamper_response":true}' >/dev/null
mkreq --policy bpi --out "$W/f.xml"
expect_eq "tamper_response: 200" "$(send $BPI "$W/f.xml")" 200
expect_eq "  Status changed after signing" "$(xq "$W/resp.xml" 'string(//sim:Status)')" Accepted
check_exit 1 "  xmlsec1 refuses the response" verify_response "$W/resp.xml"
expect_eq "  recorded" "$(simget requests | jq -c '.requests[-1] | [.outcome, .response_faults]')" '["accepted",["tamper_response"]]'
simpost faults '{"tamper_response":false,"unsigned_response":true}' >/dev/null
mkreq --policy bpi --out "$W/f.xml"
expect_eq "unsigned_response: 200" "$(send $BPI "$W/f.xml")" 200
expect_eq "  no Security header, the Body still there" \
    "$(xq "$W/resp.xml" 'concat(count(//wsse:Security), " ", //sim:Operation)')" "0 hentInstitution"
simpost faults '{"unsigned_response":false,"stale_response":true}' >/dev/null
mkreq --policy bpi --out "$W/f.xml"
expect_eq "stale_response: 200" "$(send $BPI "$W/f.xml")" 200
check "  the signature verifies" verify_response "$W/resp.xml"
expect_eq "  but the Timestamp has expired" \
    "$(( $(date -u -d "$(xq "$W/resp.xml" 'string(//wsu:Expires)')" +%s) < $(date -u +%s) ))" 1
simpost faults '{"stale_response":false,"foreign_signer":true}' >/dev/null
mkreq --policy bpi --out "$W/f.xml"
expect_eq "foreign_signer: 200" "$(send $BPI "$W/f.xml")" 200
bst_pem "$W/resp.xml" "$W/foreign-signer.pem"
check "  the signature verifies with the certificate it carries" wssec_verify "$W/resp.xml" "$W/foreign-signer.pem"
check_exit 2 "  which does not chain to service-chain.pem" openssl verify -CAfile "$S/service-chain.pem" "$W/foreign-signer.pem"
check "  but to foreign-ca.pem" openssl verify -CAfile "$S/foreign-ca.pem" "$W/foreign-signer.pem"
check_exit 1 "  and xmlsec1 with service.pem refuses it" wssec_verify "$W/resp.xml" "$S/service.pem"
simpost faults '{"foreign_signer":false,"tamper_response":true,"unsigned_response":true,"stale_response":true}' >/dev/null
mkreq --out "$W/f.xml"
expect_eq "stil-ipl answers stay unsigned whatever the response faults: 200" "$(send $IPL "$W/f.xml")" 200
expect_eq "  no Security, Status as sent" "$(xq "$W/resp.xml" 'concat(count(//wsse:Security), " ", //sim:Status)')" "0 accepted"
simpost faults '{"tamper_response":false,"unsigned_response":false,"stale_response":false,"status":503}' >/dev/null
expect_fault "status 503: any request with a client certificate" 503 'soap:Receiver .*\| .*injected' \
    "$(send $IPL "$W/dtd.xml")"
expect_eq "  recorded as injected" "$(simget requests | jq -r '.requests[-1].outcome')" injected
expect_eq "status null: back to normal" "$(simpost faults '{"status":null}'; mkreq --policy bpi --out "$W/f.xml"; send $BPI "$W/f.xml")" 200200
check "  with a verifying response" verify_response "$W/resp.xml"
expect_eq "faults: unknown member refused" "$(simpost faults '{"tamper":true}')" 400
expect_eq "faults: status 200 refused" "$(simpost faults '{"status":200}')" 400
expect_eq "faults: a string for a flag refused" "$(simpost faults '{"stale_response":"yes"}')" 400

# --- requests and counts across a restart ---------------------------------------------
counts=$(simget counts | jq -c .)
expect_eq "counts" "$counts" '{"accepted":16,"rejected":34}'
expect_eq "/sim/reset-requests" "$(curl -sS "${TLS[@]}" -X POST "$URL/sim/reset-requests")" '{"requests": []}'
expect_eq "  empty" "$(simget requests | jq '.requests | length')" 0
for i in $(seq 1 205); do printf 'url = "%s/nothing%d"\n' "$URL" "$i"; done > "$W/many.curl"
curl -sS "${TLS[@]}" --cert "$W/client.pem" --key "$W/client.key" -X POST -H "$CT12" -d x -K "$W/many.curl" >/dev/null
simget requests > "$W/requests.json"
expect_eq "/sim/requests keeps the last 200, oldest first" \
    "$(jq -r '[(.requests | length), .requests[0].path, .requests[-1].path] | join(" ")' "$W/requests.json")" \
    "200 /nothing6 /nothing205"
counts=$(simget counts | jq -c .)
stop_sim
check "ready file removed at exit" test ! -e "$W/sim-ready.json"
start_sim
expect_eq "counts survive a restart" "$(simget counts | jq -c .)" "$counts"
stop_sim
finish
