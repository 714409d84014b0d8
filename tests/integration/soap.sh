# SPDX-License-Identifier: Apache-2.0
# POST /v1/soap/{authority} end to end against the strict STIL simulator
# (tests/sim/stil_sim.py): OCES3-style identities (RSA-3072, CSR made on
# the token, issued by the simulator's client CA); for stil-bpi an
# unsigned envelope comes back as the simulator's signed answer, whose
# signer certificate alone is in it and chains through the intermediate
# in response_signer_ca_file (checked with openssl and xmlsec1; refused
# when the file lacks the intermediate); for stil-ipl, one authority
# reaches each operation's own URL (?operation=, the simulator's path
# asserted; hostile names refused with nothing sent) and its unsigned
# answers pass with the preset's default, from a server whose key is
# pinned (another key: 502, nothing sent); verify_response overrides the
# default both ways. What went on the wire verifies with xmlsec1 with the
# identity's certificate as BinarySecurityToken and TLS client
# certificate. Then the simulator's rejections through the gateway (stale
# Timestamp either way, an algorithm the policy refuses, a certificate
# from another CA, injected faults), the response checks (tampered,
# unsigned, stale, foreign signer: 502), timeouts (504), the caller's
# mistakes (400, 403, 404, 413, 415), the config rule that Body is always
# signed, token trouble (lost login, dead module: 503, then fresh
# adapters), the audit entries (operation and URL) and metrics.
. "$SG_SRCDIR/tests/integration/lib.sh"
W=$SG_WORK
PY=${SG_PYTHON:-/usr/bin/python3}
SIMPY=$SG_SRCDIR/tests/sim/stil_sim.py
SIM=$W/sim
need_python "$PY" "lxml.etree, xmlsec, cryptography" "python3-lxml, python3-xmlsec, python3-cryptography"
need_tools xmlsec1 xmllint

gateway_fixture
"$PY" "$SIMPY" init --state "$SIM" >/dev/null || { echo "Bail out! simulator init"; exit 1; }
# oces3_identity LABEL CVR: RSA-3072 key on the token, OCES3-style CSR made
# there, certificate from the simulator's client CA, imported.
sim_issue() { "$PY" "$SIMPY" issue-client --state "$SIM" --csr "$1" --out "$2" >/dev/null; }
oces3_identity() {
    token_identity "$1" rsa:3072 sim_issue --profile oces3 --customer-id "$2" --customer-name "Example ApS"
}
oces3_identity stil-oces3 12345678
oces3_identity stil-ipl 12345678
oces3_identity stil-ipl11 12345678
oces3_identity stil-iplv 12345678
oces3_identity stil-bpinv 12345678
oces3_identity stil-root 12345678
oces3_identity stil-badpin 12345678
oces3_identity stil-legacy 12345678
expect_match "the CSR has the OCES3 subject" "$(openssl req -in "$W/stil-oces3.csr" -noout -subject)" \
    'organizationIdentifier = NTRDK-12345678'
expect_match "and an RSA-3072 key" "$(openssl req -in "$W/stil-oces3.csr" -noout -text)" 'Public-Key: \(3072 bit\)'
# One from another CA: the simulator's TLS refuses it.
make_identity stil-foreign rsa:2048 gw

start_sim_serve simulator "$W/sim.json" "$PY" "$SIMPY" "$SIM"
SIM_URL=$(jq -r .url "$W/sim.json")
simcurl() { curl -sS --cacert "$SIM/server-ca.pem" "$@"; }
simpost() { simcurl -o /dev/null -H 'Content-Type: application/json' --data "$2" "$SIM_URL/sim/$1"; }

# The token through tests/fixtures/p11fault.so, which passes everything on
# until told to break it (for the token trouble at the end).
export P11FAULT_MODULE=$MODULE P11FAULT_CONTROL=$W/fault
# stil-bpi's response_signer_ca_file holds the signer's issuing CA and the
# root (service-chain.pem); stil-root's only the root (service-ca.pem).
# stil-ipl pins the simulator's TLS server key (what vouches for IPL's
# unsigned answers); stil-badpin pins another key.
IPL_URL=$SIM_URL/services/VEU/{operation}/v1
spki_pin() { openssl x509 -in "$1" -pubkey -noout | openssl pkey -pubin -outform DER |
    openssl dgst -sha256 -binary | base64; }
PIN="sha256//$(spki_pin "$SIM/server.pem")"
BADPIN="sha256//$(spki_pin "$SIM/service.pem")"
jq --arg sim "$SIM_URL" --arg ca "$SIM/server-ca.pem" --arg rs "$SIM/service-chain.pem" \
    --arg root "$SIM/service-ca.pem" --arg ipl "$IPL_URL" --arg pin "$PIN" --arg badpin "$BADPIN" \
    --arg fault "$SG_BUILDDIR/tests/fixtures/p11fault.so" '
    .token.module = $fault |
    .limits.max_soap_bytes = 65536 |
    .authorities = {
      "stil-bpi": {type: "wssec-soap", preset: "stil-bpi", url: ($sim + "/bpi/wsiinst/6"), ca_file: $ca,
                   headers: {UdbydersystemId: "12345"}, response_signer_ca_file: $rs, timeout_ms: 2000},
      "stil-ipl": {type: "wssec-soap", preset: "stil-ipl", url: $ipl, ca_file: $ca, server_pins: [$badpin, $pin],
                   operations: ["HentUdbud", "HentOptagedePladser", "HentTilmeldingerVeuInteressenter"]},
      "stil-badpin": {type: "wssec-soap", preset: "stil-ipl", url: $ipl, ca_file: $ca, server_pins: [$badpin]},
      "stil-ipl11": {type: "wssec-soap", preset: "stil-ipl", soap_version: "1.1",
                     url: ($sim + "/services/VEU/HentUdbud/v1"), ca_file: $ca},
      "stil-iplv": {type: "wssec-soap", preset: "stil-ipl", url: $ipl, ca_file: $ca,
                    verify_response: true, response_signer_ca_file: $rs},
      "stil-bpinv": {type: "wssec-soap", preset: "stil-bpi", url: ($sim + "/bpi/wsiinst/6"), ca_file: $ca,
                     headers: {UdbydersystemId: "12345"}, verify_response: false},
      "stil-root": {type: "wssec-soap", preset: "stil-bpi", url: ($sim + "/bpi/wsiinst/6"), ca_file: $ca,
                    headers: {UdbydersystemId: "12345"}, response_signer_ca_file: $root},
      "stil-legacy": {type: "wssec-soap", preset: "stil-bpi", signature: "rsa-sha1", digest: "sha1",
                      url: ($sim + "/bpi/wsiinst/6"), ca_file: $ca, headers: {UdbydersystemId: "12345"},
                      response_signer_ca_file: $rs},
      "stil-foreign": {type: "wssec-soap", preset: "stil-ipl", url: ($sim + "/services/VEU/HentUdbud/v1"),
                       ca_file: $ca, retries: 0}} |
    .identities += [
      {name: "stil-system", key_label: "stil-oces3", authority: "stil-bpi", uses: ["soap"]},
      {name: "stil-ipl", key_label: "stil-ipl", authority: "stil-ipl", uses: ["soap"]},
      {name: "stil-ipl11", key_label: "stil-ipl11", authority: "stil-ipl11", uses: ["soap"]},
      {name: "stil-iplv", key_label: "stil-iplv", authority: "stil-iplv", uses: ["soap"]},
      {name: "stil-bpinv", key_label: "stil-bpinv", authority: "stil-bpinv", uses: ["soap"]},
      {name: "stil-root", key_label: "stil-root", authority: "stil-root", uses: ["soap"]},
      {name: "stil-badpin", key_label: "stil-badpin", authority: "stil-badpin", uses: ["soap"]},
      {name: "stil-legacy", key_label: "stil-legacy", authority: "stil-legacy", uses: ["soap"]},
      {name: "stil-foreign", key_label: "stil-foreign", authority: "stil-foreign", uses: ["soap"]}] |
    (.clients[] | select(.name == "billing") | .identities) +=
      ["stil-system", "stil-ipl", "stil-ipl11", "stil-iplv", "stil-bpinv", "stil-root", "stil-badpin",
       "stil-legacy", "stil-foreign"]' \
    "$W/sealgate.json" > "$W/c.json" && mv "$W/c.json" "$W/sealgate.json"

# The configuration: Body is always signed.
jq '.authorities["stil-bpi"].sign_parts = ["Timestamp", "MessageID"]' "$W/sealgate.json" > "$W/nobody.json"
check_exit 1 "a profile that leaves the Body unsigned is refused" sealgated --config "$W/nobody.json" --check-config
expect_match "  naming sign_parts" "$(cat "$W/last.out" "$W/last.err")" "sign_parts.*Body"
jq '.authorities["stil-ipl"].signature = "ecdsa-sha256" | .authorities["stil-ipl"].digest = "sha256"' \
    "$W/sealgate.json" > "$W/ecdsa.json"
check_exit 1 "an ECDSA profile for an RSA key is refused" sealgated --config "$W/ecdsa.json" --check-config
expect_match "  saying so" "$(cat "$W/last.out" "$W/last.err")" 'stil-ipl.*ECDSA.*rsa:3072'
check "the test configuration loads" sealgated --config "$W/sealgate.json" --check-config
start_gateway

CT12='Content-Type: application/soap+xml; charset=utf-8'
CT11='Content-Type: text/xml; charset=utf-8'
# soap AUTHORITY[?QUERY] FILE [curl args...]: POST as billing; status on stdout,
# the answer in $W/body, its headers in $W/hdr.
soap() {
    local a=$1 f=$2
    shift 2
    curl -sS -o "$W/body" -D "$W/hdr" -w '%{http_code}' -H "Authorization: Bearer $(cat "$W/billing.token")" \
        --data-binary @"$f" "$@" "$GW_URL/v1/soap/$a"
}
content_type() { sed -n 's/^[Cc]ontent-[Tt]ype: *//p' "$W/hdr" | tr -d '\r'; }
# envelope NS [HEADER-XML]: an unsigned envelope with BPI's hentInstitution
# (LRU-Digital/STIL.ServiceClient, DTOs/BPI/WsiInst/HentInstitution.cs).
envelope() {
    printf '<?xml version="1.0" encoding="UTF-8"?>\n<soap:Envelope xmlns:soap="%s"><soap:Header>%s</soap:Header><soap:Body><ns:hentInstitution xmlns:ns="%s"><ns:instnr>hej  &amp; farvel</ns:instnr></ns:hentInstitution></soap:Body></soap:Envelope>\n' "$1" "${2:-}" "$BPI_NS"
}
envelope "$S12" > "$W/e12.xml"
envelope "$S11" > "$W/e11.xml"
# ipl_envelope: IPL's HentUdbudRequest (PensionDanmark/STIL.ServiceClient,
# DTOs/VEU/HentUdbud/HentUdbudRequest.cs).
printf '<?xml version="1.0" encoding="UTF-8"?>\n<soap:Envelope xmlns:soap="%s"><soap:Body><v1:HentUdbudRequest xmlns:v1="http://ipl.stil.dk/services/veu/hentudbud/v1.0"><v1:Identifier><v1:SystemName>sealgate</v1:SystemName><v1:SystemTransactionID>%s</v1:SystemTransactionID></v1:Identifier></v1:HentUdbudRequest></soap:Body></soap:Envelope>\n' \
    "$S12" "$(cat /proc/sys/kernel/random/uuid)" > "$W/ipl.xml"
# ipl OPERATION [curl args...]: POST $W/ipl.xml to stil-ipl's OPERATION.
ipl() { local op=$1; shift; soap "stil-ipl?operation=$op" "$W/ipl.xml" -H "$CT12" "$@"; }
sim_count() { simcurl "$SIM_URL/sim/requests" | jq '.requests | length'; }
last_path() { simcurl "$SIM_URL/sim/requests" | jq -r '.requests[-1].path'; }
authority_url() { sed -n 's/^[Xx]-[Aa]uthority-[Uu][Rr][Ll]: *//p' "$W/hdr" | tr -d '\r'; }
xp() { xmllint --xpath "$2" "$1" 2>/dev/null; }
# last_wire: the bytes of the simulator's last captured request in $W/wire.xml.
last_wire() { simcurl "$SIM_URL/sim/requests" | jq -r '.requests[-1].body_b64' | base64 -d > "$W/wire.xml"; }
# token_pem FILE OUT: the BinarySecurityToken of FILE as a PEM certificate.
token_pem() {
    xp "$1" 'string(//*[local-name()="BinarySecurityToken"])' | base64 -d | openssl x509 -inform DER -out "$2"
}
# xmlsec_ws FILE CERT: xmlsec1 on a WS-Security message, the key from CERT,
# wsu:Id registered on every part that may be signed.
xmlsec_ws() {
    xmlsec1 --verify --enabled-reference-uris same-doc --pubkey-cert-pem "$2" \
        --id-attr:Id "$S12:Body" --id-attr:Id "$S11:Body" --id-attr:Id "$WSU:Timestamp" \
        --id-attr:Id "$WSA:MessageID" --id-attr:Id "$WSA:Action" --id-attr:Id "$UDB:UdbydersystemId" "$1"
}
# answer_verifies: the answer's signer chains to the service CA through
# its issuing CA and xmlsec1 verifies the answer with it (the bytes are the
# simulator's, unchanged).
answer_verifies() {
    token_pem "$W/body" "$W/signer.pem" &&
        openssl verify -CAfile "$SIM/service-ca.pem" -untrusted "$SIM/service-ica.pem" "$W/signer.pem" &&
        xmlsec_ws "$W/body" "$W/signer.pem"
}
# wire_checks LABEL IDENTITY-PEM SIGALG NREFS: what went on the wire.
wire_checks() {
    last_wire
    token_pem "$W/wire.xml" "$W/wire-bst.pem"
    check "$1: xmlsec1 verifies what was sent with its BinarySecurityToken" xmlsec_ws "$W/wire.xml" "$W/wire-bst.pem"
    expect_eq "$1: the BinarySecurityToken is the identity's certificate" \
        "$(openssl x509 -in "$W/wire-bst.pem" -outform DER 2>/dev/null | sha256sum)" \
        "$(openssl x509 -in "$2" -outform DER | sha256sum)"
    expect_eq "$1: and the TLS client certificate" \
        "$(simcurl "$SIM_URL/sim/requests" | jq -r '.requests[-1].client_cert_sha256')" \
        "$(openssl x509 -in "$2" -outform DER | sha256sum | cut -d' ' -f1)"
    expect_eq "$1: SignatureMethod" \
        "$(xp "$W/wire.xml" 'string(//*[local-name()="SignatureMethod"]/@Algorithm)')" "$3"
    expect_eq "$1: References" "$(xp "$W/wire.xml" 'count(//*[local-name()="Reference" and starts-with(@URI,"#") and parent::*[local-name()="SignedInfo"]])')" "$4"
    expect_eq "$1: mustUnderstand on wsse:Security" \
        "$(xp "$W/wire.xml" 'string(//*[local-name()="Security"]/@*[local-name()="mustUnderstand"])')" 1
    expect_eq "$1: Timestamp lives ~300 s" "$("$PY" - "$W/wire.xml" <<'PYEOF'
import sys, datetime, re
t = open(sys.argv[1]).read()
c, e = (datetime.datetime.strptime(re.search(r"<wsu:%s>([^<]*)<" % n, t).group(1), "%Y-%m-%dT%H:%M:%S.%fZ")
        for n in ("Created", "Expires"))
print(int((e - c).total_seconds()))
PYEOF
)" 300
}

# --- each preset, SOAP 1.2 and 1.1: signed, sent, answered ---------------------
expect_eq "stil-bpi (SOAP 1.2): 200" "$(soap stil-bpi "$W/e12.xml" -H "$CT12; action=\"$BPI_ACTION\"")" 200
expect_eq "  the simulator's Content-Type" "$(content_type)" "application/soap+xml; charset=utf-8"
expect_eq "  its answer: accepted under stil-bpi" \
    "$(xp "$W/body" 'concat(//*[local-name()="Status"], " ", //*[local-name()="Policy"])')" "accepted stil-bpi"
check "  the answer verifies (signer chains to the service CA; xmlsec1)" answer_verifies
cp "$W/body" "$W/bpi-answer.xml"
wire_checks "stil-bpi" "$W/stil-oces3.pem" http://www.w3.org/2001/04/xmldsig-more#rsa-sha256 5
cp "$W/wire.xml" "$W/bpi-wire.xml"
expect_eq "  wsa:Action added from the action parameter" \
    "$(xp "$W/bpi-wire.xml" 'string(//*[local-name()="Header"]/*[local-name()="Action"])')" "$BPI_ACTION"
expect_eq "  UdbydersystemId added from the configuration" \
    "$(xp "$W/bpi-wire.xml" "string(//*[local-name()=\"Header\"]/*[local-name()=\"UdbydersystemId\" and namespace-uri()=\"$UDB\"])")" 12345
bpi_mid=$(xp "$W/bpi-wire.xml" 'string(//*[local-name()="Header"]/*[local-name()="MessageID"])')
expect_match "  wsa:MessageID added, a urn:uuid" "$bpi_mid" '^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$'
expect_eq "  the answer names that MessageID" "$(xp "$W/body" 'string(//*[local-name()="MessageID"])')" "$bpi_mid"
expect_eq "  the Body sent is the caller's" \
    "$(xp "$W/bpi-wire.xml" 'string(//*[local-name()="instnr"])')" "hej  & farvel"

expect_eq "  the answer carries only its signer's certificate" \
    "$(xp "$W/bpi-answer.xml" 'count(//*[local-name()="BinarySecurityToken"])')" 1
check_exit 2 "  which alone does not chain to the root" \
    openssl verify -CAfile "$SIM/service-ca.pem" "$W/signer.pem"
expect_eq "  the answer names the URL reached" "$(authority_url)" "$SIM_URL/bpi/wsiinst/6"

# --- response_signer_ca_file without the signer's issuing CA: refused -----------
expect_error "stil-bpi, the CA file holding only the root: 502" 502 authority_error \
    "$(soap stil-root "$W/e12.xml" -H "$CT12; action=\"$BPI_ACTION\"")"
expect_match "  the signer is not trusted" "$(jq -r .error_description "$W/body")" 'not trusted.*issuer'
expect_no_match "  without the authority's body" "$(cat "$W/body")" 'Received|Envelope'

# --- stil-ipl: one URL per operation, unsigned answers --------------------------
n0=$(sim_count)
expect_eq "stil-ipl HentUdbud: the unsigned answer passes with the preset's default, 200" "$(ipl HentUdbud)" 200
expect_eq "  the simulator was asked at HentUdbud's URL" "$(last_path)" /services/VEU/HentUdbud/v1
expect_eq "  the answer names that URL" "$(authority_url)" "$SIM_URL/services/VEU/HentUdbud/v1"
expect_eq "  its answer: accepted under stil-ipl, unsigned" \
    "$(xp "$W/body" 'concat(//*[local-name()="Policy"], " ", //*[local-name()="Operation"], " ", count(//*[local-name()="Security"]), " ", count(//*[local-name()="Header"]))')" \
    "stil-ipl HentUdbudRequest 0 0"
wire_checks "stil-ipl" "$W/stil-ipl.pem" http://www.w3.org/2000/09/xmldsig#rsa-sha1 2
expect_eq "  no WS-Addressing added" "$(xp "$W/wire.xml" 'count(//*[namespace-uri()="'$WSA'"])')" 0
expect_eq "stil-ipl HentOptagedePladser, the same authority and identity: 200" "$(ipl HentOptagedePladser)" 200
expect_eq "  at its own URL" "$(last_path)" /services/VEU/HentOptagedePladser/v1
expect_eq "stil-ipl HentTilmeldingerVeuInteressenter: 200" "$(ipl HentTilmeldingerVeuInteressenter)" 200
expect_eq "  at its own URL" "$(last_path)" /services/VEU/HentTilmeldingerVeuInteressenter/v1
expect_eq "  three requests reached the simulator" "$(( $(sim_count) - n0 ))" 3
n0=$(sim_count)
for op in '..%2Fbpi%2Fwsiinst%2F6' 'HentUdbud%2F..%2F..' 'HentUdbud%3Fx%3D1' 'HentUdbud%23x' 'Hent%2525Udbud' \
    'Hent.Udbud' '..' '' 'HentUdbud%0d%0aX-Evil:%201' "$(printf 'A%.0s' {1..65})"; do
    expect_error "a hostile operation name \"$op\": 400" 400 invalid_request "$(ipl "$op")"
done
expect_match "  saying what a name is" "$(jq -r .error_description "$W/body")" 'not an operation name'
expect_error "an operation the allow-list does not name: 400" 400 invalid_request "$(ipl HentAlt)"
expect_match "  saying so" "$(jq -r .error_description "$W/body")" 'not one stil-ipl allows'
expect_error "stil-ipl without an operation: 400" 400 invalid_request "$(soap stil-ipl "$W/ipl.xml" -H "$CT12")"
expect_match "  saying how to name it" "$(jq -r .error_description "$W/body")" '\?operation='
expect_error "an operation for stil-bpi, which has one URL: 400" 400 invalid_request \
    "$(soap 'stil-bpi?operation=hentInstitution' "$W/e12.xml" -H "$CT12; action=\"$BPI_ACTION\"")"
expect_eq "  none of those reached the simulator" "$(sim_count)" "$n0"
expect_error "a TLS server key other than the pinned one: 502" 502 authority_error \
    "$(soap 'stil-badpin?operation=HentUdbud' "$W/ipl.xml" -H "$CT12")"
expect_match "  saying it is not reachable over TLS" "$(jq -r .error_description "$W/body")" 'not reachable over TLS'
expect_match "  the log says why" "$(cat "$W/sealgated.log")" 'does not match pinned public key'
expect_eq "  and nothing reached the simulator" "$(sim_count)" "$n0"

# --- verify_response overrides the preset's default, both ways --------------------
expect_error "stil-ipl with verify_response true: the unsigned answer is refused, 502" 502 authority_error \
    "$(soap 'stil-iplv?operation=HentUdbud' "$W/ipl.xml" -H "$CT12")"
expect_match "  as not signed" "$(jq -r .error_description "$W/body")" 'not signed'
simpost faults '{"tamper_response": true}'
expect_eq "stil-bpi with verify_response false: a tampered answer is relayed, 200" \
    "$(soap stil-bpinv "$W/e12.xml" -H "$CT12; action=\"$BPI_ACTION\"")" 200
check_exit 1 "  (xmlsec1 refuses that answer)" xmlsec_ws "$W/body" "$W/signer.pem"
expect_error "  while stil-bpi's default refuses it: 502" 502 authority_error \
    "$(soap stil-bpi "$W/e12.xml" -H "$CT12; action=\"$BPI_ACTION\"")"
simpost faults '{"tamper_response": false}'

# An Envelope in the default namespace, without a Header, with comments.
printf '<Envelope xmlns="%s"><!-- c --><Body>\n  <v1:HentUdbudRequest xmlns:v1="http://ipl.stil.dk/services/veu/hentudbud/v1.0"/></Body></Envelope>' "$S12" > "$W/plain.xml"
expect_eq "an envelope in the default namespace: 200" "$(soap 'stil-ipl?operation=HentUdbud' "$W/plain.xml" -H "$CT12")" 200
last_wire
token_pem "$W/wire.xml" "$W/plain-bst.pem"
check "  and what was sent verifies with xmlsec1" xmlsec_ws "$W/wire.xml" "$W/plain-bst.pem"

# The caller's own headers are kept and signed.
envelope "$S12" "<wsa:Action xmlns:wsa=\"$WSA\">$BPI_ACTION</wsa:Action><u:UdbydersystemId xmlns:u=\"$UDB\">777</u:UdbydersystemId>" > "$W/own.xml"
expect_eq "caller's wsa:Action and UdbydersystemId: 200" "$(soap stil-bpi "$W/own.xml" -H "$CT12")" 200
last_wire
expect_eq "  the caller's UdbydersystemId, once" \
    "$(xp "$W/wire.xml" "string(//*[local-name()=\"UdbydersystemId\"])")/$(xp "$W/wire.xml" 'count(//*[local-name()="UdbydersystemId"])')" 777/1

# --- the simulator's rejections, returned as they came -----------------------
mid="urn:uuid:$(cat /proc/sys/kernel/random/uuid)"
envelope "$S12" "<wsa:MessageID xmlns:wsa=\"$WSA\">$mid</wsa:MessageID>" > "$W/mid.xml"
expect_eq "the caller's wsa:MessageID: 200" "$(soap stil-bpi "$W/mid.xml" -H "$CT12; action=\"$BPI_ACTION\"")" 200
expect_eq "  kept as given" "$(xp "$W/body" 'string(//*[local-name()="MessageID"])')" "$mid"

simpost config '{"clock_offset_s": 400}'
expect_eq "Timestamp expired by the simulator's clock: its fault, as it came" "$(ipl HentUdbud)" 400
expect_match "  MessageExpired" "$(xp "$W/body" 'string(//*[local-name()="Fault"])')" 'MessageExpired.*expired'
expect_eq "  with the simulator's Content-Type" "$(content_type)" "application/soap+xml; charset=utf-8"
simpost config '{"clock_offset_s": -400}'
expect_eq "Timestamp from the simulator's future: its fault" "$(ipl HentUdbud)" 400
expect_match "  in the future" "$(xp "$W/body" 'string(//*[local-name()="Fault"])')" 'future'
simpost config '{"clock_offset_s": 0}'

expect_eq "rsa-sha1 where stil-bpi wants rsa-sha256: the simulator's fault" \
    "$(soap stil-legacy "$W/e12.xml" -H "$CT12; action=\"$BPI_ACTION\"")" 400
expect_match "  UnsupportedAlgorithm" "$(xp "$W/body" 'string(//*[local-name()="Fault"])')" 'UnsupportedAlgorithm'

expect_error "a certificate from another CA: the simulator's TLS refuses it" 502 authority_error \
    "$(soap stil-foreign "$W/ipl.xml" -H "$CT12")"
expect_eq "  the handshake failed there" \
    "$(simcurl "$SIM_URL/sim/requests" | jq -r '.requests[-1].outcome')" tls_handshake_failed

simpost faults '{"status": 503}'
expect_eq "an injected 503 comes back as it is" "$(ipl HentUdbud)" 503
expect_match "  with its Fault" "$(xp "$W/body" 'string(//*[local-name()="Fault"])')" 'injected'
simpost faults '{"status": null}'

# --- the response checks: 502, the authority's body withheld -------------------
for fault in tamper_response:'does not verify' unsigned_response:'not signed' stale_response:'expired' \
    foreign_signer:'not trusted'; do
    name=${fault%%:*} why=${fault#*:}
    simpost faults "{\"$name\": true}"
    expect_error "$name: 502" 502 authority_error "$(soap stil-bpi "$W/e12.xml" -H "$CT12; action=\"$BPI_ACTION\"")"
    expect_match "  saying why" "$(jq -r .error_description "$W/body")" "$why"
    expect_no_match "  without the authority's body" "$(cat "$W/body")" 'Received|Envelope'
    simpost faults "{\"$name\": false}"
done

# --- the caller's mistakes --------------------------------------------------------
printf '<a:x xmlns:a="urn:a"/>' > "$W/notsoap.xml"
expect_error "not a SOAP envelope" 400 invalid_request "$(soap 'stil-ipl?operation=HentUdbud' "$W/notsoap.xml" -H "$CT12")"
expect_error "a SOAP 1.1 envelope for a SOAP 1.2 authority" 400 invalid_request \
    "$(soap 'stil-ipl?operation=HentUdbud' "$W/e11.xml" -H "$CT12")"
expect_match "  naming the versions" "$(jq -r .error_description "$W/body")" 'SOAP 1.1 envelope.*SOAP 1.2'
expect_error "text/xml for a SOAP 1.2 authority" 415 unsupported_media_type "$(soap 'stil-ipl?operation=HentUdbud' "$W/e12.xml" -H "$CT11")"
expect_error "application/soap+xml for a SOAP 1.1 authority" 415 unsupported_media_type \
    "$(soap stil-ipl11 "$W/e11.xml" -H "$CT12")"
expect_error "a charset other than UTF-8" 415 unsupported_media_type \
    "$(soap 'stil-ipl?operation=HentUdbud' "$W/e12.xml" -H 'Content-Type: application/soap+xml; charset=iso-8859-1')"
expect_error "JSON" 415 unsupported_media_type "$(soap 'stil-ipl?operation=HentUdbud' "$W/e12.xml" -H 'Content-Type: application/json')"
last_wire
cp "$W/wire.xml" "$W/before.xml"
envelope "$S12" "<wsse:Security xmlns:wsse=\"http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd\"/>" > "$W/secured.xml"
expect_error "an envelope with wsse:Security already" 400 invalid_request "$(soap 'stil-ipl?operation=HentUdbud' "$W/secured.xml" -H "$CT12")"
{ printf '<?xml version="1.0"?>\n<!DOCTYPE soap:Envelope [<!ENTITY a "aaaaaaaaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;">]>\n'
  sed 1d "$W/e12.xml" | sed 's/farvel/\&c;/'; } > "$W/doctype.xml"
expect_error "a DOCTYPE" 400 invalid_request "$(soap 'stil-ipl?operation=HentUdbud' "$W/doctype.xml" -H "$CT12")"
expect_match "  named" "$(jq -r .error_description "$W/body")" 'DOCTYPE'
{ sed -n 1p "$W/e12.xml"; printf '<?pi x?>'; sed 1d "$W/e12.xml"; } > "$W/pi.xml"
expect_error "a processing instruction" 400 invalid_request "$(soap 'stil-ipl?operation=HentUdbud' "$W/pi.xml" -H "$CT12")"
sed 's/<\/soap:Body>//' "$W/e12.xml" > "$W/broken.xml"
expect_error "malformed XML" 400 invalid_request "$(soap 'stil-ipl?operation=HentUdbud' "$W/broken.xml" -H "$CT12")"
printf '<soap:Envelope xmlns:soap="%s"><soap:Header/></soap:Envelope>' "$S12" > "$W/nobody.xml"
expect_error "no Body" 400 invalid_request "$(soap 'stil-ipl?operation=HentUdbud' "$W/nobody.xml" -H "$CT12")"
expect_error "stil-bpi without any action" 400 invalid_request "$(soap stil-bpi "$W/e12.xml" -H "$CT12")"
expect_match "  says where to give it" "$(jq -r .error_description "$W/body")" 'wsa:Action'
expect_error "wsa:Action differing from the HTTP action" 400 invalid_request \
    "$(soap stil-bpi "$W/own.xml" -H "$CT12; action=\"urn:other\"")"
envelope "$S12" "<wsa:MessageID xmlns:wsa=\"$WSA\">a</wsa:MessageID><wsa:MessageID xmlns:wsa=\"$WSA\">b</wsa:MessageID>" > "$W/twomid.xml"
expect_error "two wsa:MessageID headers" 400 invalid_request "$(soap stil-bpi "$W/twomid.xml" -H "$CT12; action=\"$BPI_ACTION\"")"
last_wire
check "none of those reached the simulator" cmp -s "$W/wire.xml" "$W/before.xml"
expect_error "unknown authority" 404 not_found "$(soap nosuch "$W/e12.xml" -H "$CT12")"
expect_error "identity of another authority" 403 forbidden "$(soap 'stil-bpi?identity=stil-ipl' "$W/e12.xml" -H "$CT12")"
expect_error "an identity for local signing" 403 forbidden "$(soap 'stil-bpi?identity=local-seal' "$W/e12.xml" -H "$CT12")"
expect_error "an unknown identity" 404 not_found "$(soap 'stil-bpi?identity=nobody' "$W/e12.xml" -H "$CT12")"
expect_eq "the identity named explicitly" "$(soap 'stil-ipl?identity=stil-ipl&operation=HentUdbud' "$W/e12.xml" -H "$CT12")" 200
expect_error "identity not granted to the client" 403 forbidden \
    "$(curl -sS -o "$W/body" -w '%{http_code}' -H "Authorization: Bearer $(cat "$W/other.token")" -H "$CT12" \
        --data-binary @"$W/e12.xml" "$GW_URL/v1/soap/stil-ipl?identity=stil-ipl&operation=HentUdbud")"
expect_error "without a token" 401 unauthorized \
    "$(curl -sS -o "$W/body" -w '%{http_code}' -H "$CT12" --data-binary @"$W/e12.xml" "$GW_URL/v1/soap/stil-ipl")"
{ sed 's/<ns:instnr>.*<\/ns:instnr>/<ns:instnr>/' "$W/e12.xml" | head -c -1; head -c 70000 /dev/zero | tr '\0' x
  printf '</ns:instnr></ns:hentInstitution></soap:Body></soap:Envelope>'; } > "$W/big.xml"
expect_error "an envelope over max_soap_bytes" 413 payload_too_large "$(soap 'stil-ipl?operation=HentUdbud' "$W/big.xml" -H "$CT12")"
expect_eq "the gateway still serves" "$(soap 'stil-ipl?operation=HentUdbud' "$W/e12.xml" -H "$CT12")" 200

# --- no answer in time: 504 ------------------------------------------------------
kill -STOP "$SIM_PID"
expect_error "the authority does not answer within timeout_ms" 504 authority_timeout \
    "$(soap stil-bpi "$W/e12.xml" -H "$CT12; action=\"$BPI_ACTION\"")"
kill -CONT "$SIM_PID"

# --- token trouble: the message is signed again after recovery ------------------
echo logout > "$W/fault"
expect_eq "lost login: signed again after logging in, 200" \
    "$(soap stil-bpi "$W/e12.xml" -H "$CT12; action=\"$BPI_ACTION\"")" 200
check "  and that answer verifies" answer_verifies
expect_match "  after a new login" "$(cat "$W/sealgated.log")" 'token recovered \(login\)'
rm -f "$W/fault"
echo dead > "$W/fault"
expect_error "dead token: nothing is sent" 503 token_unavailable "$(soap 'stil-ipl?operation=HentUdbud' "$W/e12.xml" -H "$CT12")"
rm -f "$W/fault"
wait_until 30 "back after the module is reopened, with fresh adapters" \
    eval '[ "$(soap 'stil-ipl?operation=HentUdbud' "$W/e12.xml" -H "$CT12")" = 200 ]' &&
    pass "back after the module is reopened, with fresh adapters"
expect_match "  module reopened" "$(cat "$W/sealgated.log")" 'token recovered \(reopen\)'
expect_eq "  and that answer is the simulator's" "$(xp "$W/body" 'string(//*[local-name()="Policy"])')" stil-ipl
# The token's objects came back with new handles: the signing key and the
# TLS client key (libp11's) are found again; the call goes through.
echo renumber > "$W/fault"
expect_eq "stale key handles: found again, the call goes through" "$(soap 'stil-ipl?operation=HentUdbud' "$W/e12.xml" -H "$CT12")" 200
expect_eq "  and that answer is the simulator's" "$(xp "$W/body" 'string(//*[local-name()="Policy"])')" stil-ipl
wire_checks "after stale handles" "$W/stil-ipl.pem" http://www.w3.org/2000/09/xmldsig#rsa-sha1 2
rm -f "$W/fault"

# --- metrics and the audit log ----------------------------------------------------
curl -sS -H "Authorization: Bearer $(cat "$W/monitor.token")" "$GW_URL/metrics" > "$W/metrics.txt"
expect_match "authority requests counted" "$(cat "$W/metrics.txt")" \
    'sealgate_authority_requests_total\{authority="stil-bpi",outcome="ok"\} [1-9]'
expect_match "faults counted" "$(cat "$W/metrics.txt")" \
    'sealgate_authority_requests_total\{authority="stil-ipl",outcome="fault"\} 3'
expect_match "timeouts counted" "$(cat "$W/metrics.txt")" \
    'sealgate_authority_requests_total\{authority="stil-bpi",outcome="timeout"\} 1'
expect_match "signatures counted" "$(cat "$W/metrics.txt")" \
    'sealgate_signatures_total\{identity="stil-system",operation="soap"\} [1-9]'
stop_gateway
end_sim

A=$W/audit
first=$(jq -c 'select(.type == "soap" and .identity == "stil-system" and .outcome == "ok")' "$A"/audit-*.jsonl | head -n 1)
expect_eq "the first stil-bpi call audited: authority, MessageID, status" \
    "$(printf '%s' "$first" | jq -r '[.authority, .authority_ref, .http_status] | join(" ")')" "stil-bpi $bpi_mid 200"
expect_eq "  with the sha256 of the bytes sent" "$(printf '%s' "$first" | jq -r .digest)" \
    "sha256:$(sha256sum < "$W/bpi-wire.xml" | cut -d' ' -f1)"
expect_eq "  the certificate serial" "$(printf '%s' "$first" | jq -r .cert_serial)" \
    "$(openssl x509 -in "$W/stil-oces3.pem" -noout -serial | cut -d= -f2)"
expect_match "  and the key id" "$(printf '%s' "$first" | jq -r .key_id)" '^[0-9a-f]+$'
expect_eq "the caller's MessageID audited" \
    "$(jq -r "select(.type == \"soap\" and .authority_ref == \"$mid\") | [.http_status, .outcome, .error // \"-\"] | join(\" \")" \
        "$A"/audit-*.jsonl | tr '\n' ';')" "200 ok -;"
expect_eq "stil-ipl calls audited with the operation and the URL reached" \
    "$(jq -r 'select(.type == "soap" and .identity == "stil-ipl" and .outcome == "ok" and .operation != null) | "\(.operation) \(.url)"' "$A"/audit-*.jsonl | head -n 3 | tr '\n' ';')" \
    "HentUdbud $SIM_URL/services/VEU/HentUdbud/v1;HentOptagedePladser $SIM_URL/services/VEU/HentOptagedePladser/v1;HentTilmeldingerVeuInteressenter $SIM_URL/services/VEU/HentTilmeldingerVeuInteressenter/v1;"
expect_eq "stil-bpi calls audited with their one URL" \
    "$(printf '%s' "$first" | jq -r '"\(.url) \(.operation)"')" "$SIM_URL/bpi/wsiinst/6 null"
expect_eq "hostile operation names audited as refusals, no URL reached" \
    "$(jq -s '[.[] | select(.type == "soap" and .identity == "stil-ipl" and .error == "invalid_request" and .url == null and (.detail | test("operation")))] | length' "$A"/audit-*.jsonl)" 12
expect_eq "response check failures audited as authority_error" \
    "$(jq -s '[.[] | select(.type == "soap" and .error == "authority_error" and .http_status == "200")] | length' "$A"/audit-*.jsonl)" 7
expect_eq "the timeout audited" \
    "$(jq -s '[.[] | select(.type == "soap" and .error == "authority_timeout")] | length' "$A"/audit-*.jsonl)" 1
expect_eq "refusals audited (400, 413, 415, 404, 403)" \
    "$(jq -s '[.[] | select(.type == "soap" and .outcome == "error" and (.error | IN("invalid_request", "payload_too_large", "unsupported_media_type", "not_found", "forbidden")))] | length' "$A"/audit-*.jsonl)" 32
expect_eq "the client not granted: an auth_failure" \
    "$(jq -s '[.[] | select(.type == "auth_failure" and .client == "other" and .identity == "stil-ipl")] | length' "$A"/audit-*.jsonl)" 1
expect_eq "monthly soap count of stil-system" \
    "$(sealgate-audit counts --month "$(date -u +%Y-%m)" --json "$A" | jq '[.counts[] | select(.identity == "stil-system") | .soap] | add')" \
    "$(jq -s '[.[] | select(.type == "soap" and .identity == "stil-system" and .outcome == "ok")] | length' "$A"/audit-*.jsonl)"
check "chain verifies" audit_verify "$A"
finish
