# SPDX-License-Identifier: Apache-2.0
# scripts/demo end to end with this build's binaries (SEALGATE_DEMO_BINDIR):
# --detach makes the token, identities, CA, client tokens and config and
# starts sealgated over HTTPS only (a listener CA, a server certificate for
# 127.0.0.1 and localhost; plain HTTP and a curl without the CA fail); the
# client billing-cert is served on its client certificate alone and audited
# with its serial, the token clients with their tokens; demo.env (README.md,
# "The two commands") has the variables checked below; the printed examples
# and the README's tour run as printed; signatures verify with openssl alone;
# no PIN leaks into files; a second --detach is refused; --stop stops (twice
# is fine); a restart into the stopped directory reuses the token instead of
# initialising a new one, and one into a directory from before HTTPS adds
# the TLS files and settings.
. "$SG_SRCDIR/tests/integration/lib.sh"

if [ ! -x "$SG_BUILDDIR/gateway/sealgated" ]; then
    echo "SKIP: $SG_BUILDDIR/gateway/sealgated is not built"
    exit 77
fi
export SEALGATE_DEMO_BINDIR="$SG_BUILDDIR"
D=$SG_WORK/demo
W=$SG_WORK

demo() { "$SG_SRCDIR/scripts/demo" "$@"; }
# A process that has not exited, as the kernel tells it (the same helper
# scripts/demo uses; a zombie that nobody reaps has exited).
alive() { ! exited "$1"; }
must_fail() {
    local what=$1
    shift
    if "$@" >"$W/last.out" 2>"$W/last.err"; then fail "$what (it succeeded)"; else pass "$what"; fi
}
mode_of() { stat -c %a "$1"; }
# curl_lines FILE: its curl commands, one per line (continuations joined).
curl_lines() { sed -e ':a' -e '/\\$/N; s/\\\n//; ta' "$1" | grep 'curl '; }
# http BODY_FILE CURL_ARGS...: the status code of one request (000 when no
# answer came, which no expectation accepts).
http() {
    local body=$1
    shift
    curl -sS --cacert "$SEALGATE_CA_FILE" -o "$body" -w '%{http_code}' "$@" 2>>"$W/curl.err" || true
}

check_exit 2 "unknown option is bad usage" demo --bogus
check_exit 2 "--port 0 needs --detach" demo --port 0
check "--help" demo --help
expect_match "--help names --detach" "$(cat "$W/last.out")" '--detach'

check "demo --detach starts" demo --detach --dir "$D"
cp "$W/last.out" "$W/detach.out"
cp "$W/last.err" "$W/detach.err"
if [ ! -f "$D/demo.env" ] || [ ! -f "$D/sealgated.pid" ]; then
    echo "Bail out! scripts/demo --detach did not start: $(tail -n 20 "$W/detach.err")"
    exit 1
fi
pid=$(cat "$D/sealgated.pid")
check "the daemon runs" alive "$pid"

# --- demo.env: the variables scripts/demo writes, exported, nothing else needed ---
set_vars="SEALGATE_URL SEALGATE_CA_FILE SEALGATE_CLIENT_CERT SEALGATE_CLIENT_KEY SEALGATE_CONFIG SEALGATE_STAMP_TOKEN SEALGATE_AUDITOR_TOKEN
    SEALGATE_OFFICER_TOKEN SEALGATE_MONITOR_TOKEN SOFTHSM2_CONF SEALGATE_PKCS11_MODULE
    SEALGATE_TOKEN_LABEL SEALGATE_PIN_FILE SEALGATE_AUDIT_DIR DEMO_SIGN_IDENTITY DEMO_CA_FILE DEMO_STAMP_IDENTITY SIM_CSC_URL
    DEMO_SOAP_AUTHORITY DEMO_SOAP_IDENTITY SIM_STIL_URL DEMO_VERO_IDENTITY
    DEMO_VERO_TRANSFER_ID DEMO_VERO_TRANSFER_PASSWORD_FILE SIM_VERO_URL"
later_vars=""
exported=$(env -i bash -c '. "$1" && env' _ "$D/demo.env")
for v in $set_vars; do
    if printf '%s\n' "$exported" | grep -Eq "^$v=.+"; then pass "demo.env exports $v"; else fail "demo.env lacks $v"; fi
done
for v in $later_vars; do
    if printf '%s\n' "$exported" | grep -qx "$v="; then pass "demo.env exports $v (empty)"; else fail "demo.env lacks empty $v"; fi
done
expect_eq "demo.env mode" "$(mode_of "$D/demo.env")" 600
. "$D/demo.env"
expect_match "SEALGATE_URL is the listening address" "$SEALGATE_URL" '^https://127\.0\.0\.1:[1-9][0-9]*$'
expect_eq "ready file URL" "$(jq -r .url "$D/ready.json")" "$SEALGATE_URL"
expect_eq "ready file PID is the PID file's" "$(jq -r .pid "$D/ready.json")" "$pid"
expect_eq "SEALGATE_CONFIG" "$SEALGATE_CONFIG" "$D/sealgate.json"
expect_eq "SOFTHSM2_CONF" "$SOFTHSM2_CONF" "$D/softhsm2.conf"
expect_eq "SEALGATE_PKCS11_MODULE is the config's" "$SEALGATE_PKCS11_MODULE" "$(jq -r .token.module "$D/sealgate.json")"
expect_eq "DEMO_SIGN_IDENTITY" "$DEMO_SIGN_IDENTITY" local-seal
expect_eq "SEALGATE_AUDIT_DIR" "$SEALGATE_AUDIT_DIR" "$D/audit"
expect_eq "DEMO_SOAP_AUTHORITY and DEMO_SOAP_IDENTITY" "$DEMO_SOAP_AUTHORITY $DEMO_SOAP_IDENTITY" "stil-bpi stil-system"

# --- secrets on disk and the configuration ---
for f in pin so-pin clients/billing.token clients/auditor.token clients/officer.token clients/prometheus.token \
    tls/server.key tls/server-ca.key tls/client-ca.key tls/billing-cert.key; do
    expect_eq "$f is mode 0600" "$(mode_of "$D/$f")" 600
done
expect_match "user PIN is long and random" "$(wc -c < "$D/pin")" '^(3[2-9]|[4-9][0-9])$'
must_fail "user and SO PIN differ" cmp -s "$D/pin" "$D/so-pin"
C=$D/sealgate.json
for pair in billing:SEALGATE_STAMP_TOKEN auditor:SEALGATE_AUDITOR_TOKEN officer:SEALGATE_OFFICER_TOKEN \
    prometheus:SEALGATE_MONITOR_TOKEN; do
    name=${pair%%:*} var=${pair#*:}
    expect_match "$var is 32 bytes of hex" "${!var}" '^[0-9a-f]{64}$'
    expect_eq "$name.token is $var" "$(cat "$D/clients/$name.token")" "${!var}"
    expect_eq "config stores SHA-256 of $name's token" \
        "$(jq -r --arg n "$name" '.clients[] | select(.name == $n) | .token_sha256' "$C")" \
        "$(printf '%s' "${!var}" | sha256sum | cut -c1-64)"
done
expect_eq "client roles and identities" \
    "$(jq -c '[.clients[] | [.name, .roles, (.identities // [])]]' "$C")" \
    '[["billing",["stamp"],["local-seal","dvv-interface","stil-system"]],["auditor",["auditor"],[]],["officer",["officer"],[]],["prometheus",["monitor"],[]],["billing-cert",["stamp"],["local-seal","dvv-interface","stil-system"]]]'
fingerprint() { openssl x509 -in "$1" -noout -fingerprint -sha256 | sed 's/^.*=//'; }
expect_eq "billing-cert is known by its certificate's SHA-256 alone" \
    "$(jq -c '.clients[] | select(.name == "billing-cert") | [.cert_sha256, has("token_sha256")]' "$C")" \
    "[\"$(fingerprint "$SEALGATE_CLIENT_CERT")\",false]"
expect_eq "identities" "$(jq -c '[.identities[] | [.name, .key_label, .uses, .authority // .issuer]]' "$C")" \
    '[["local-seal","local-seal",["sign"],null],["audit-signer","audit-signer",[],null],["dvv-interface","dvv-interface",["stamp"],"dvv-stamp"],["stil-system","stil-system",["soap"],"stil-bpi"],["vero-ws","vero-ws",[],"vero"],["vero-spare","vero-spare",[],"vero"]]'
expect_eq "listen" "$(jq -c .listen "$C")" '{"address":"127.0.0.1","port":0,"threads":8,"tls":{"cert_file":"tls/server.pem","key_file":"tls/server.key","client_ca_file":"tls/client-ca.pem"}}'
expect_eq "SEALGATE_CA_FILE and the client certificate are the demo's" \
    "$SEALGATE_CA_FILE $SEALGATE_CLIENT_CERT $SEALGATE_CLIENT_KEY" \
    "$D/tls/server-ca.pem $D/tls/billing-cert.pem $D/tls/billing-cert.key"
check "the server certificate chains to the listener CA, for TLS servers" \
    openssl verify -purpose sslserver -CAfile "$SEALGATE_CA_FILE" "$D/tls/server.pem"
expect_match "  for 127.0.0.1 and localhost" "$(openssl x509 -in "$D/tls/server.pem" -noout -ext subjectAltName)" \
    'IP Address:127\.0\.0\.1, DNS:localhost'
check "the client certificate chains to the client CA, for TLS clients" \
    openssl verify -purpose sslclient -CAfile "$D/tls/client-ca.pem" "$SEALGATE_CLIENT_CERT"
must_fail "  and not to the listener CA" openssl verify -CAfile "$SEALGATE_CA_FILE" "$SEALGATE_CLIENT_CERT"
expect_eq "token settings" "$(jq -c '.token | [.label, .pin_file]' "$C")" '["sealgate","pin"]'
expect_eq "audit settings" "$(jq -c '.audit | [.dir, .checkpoint_identity]' "$C")" '["audit","audit-signer"]'
expect_eq "the stamp service simulator as authority" \
    "$(jq -c '.authorities["dvv-stamp"] | [.type, .url, .credential_id]' "$C")" "[\"csc-v2\",\"$SIM_CSC_URL\",\"org-stamp-1\"]"
expect_eq "the STIL simulator as SOAP authority, UNI-Login BPI preset" \
    "$(jq -c '.authorities["stil-bpi"] | [.type, .preset, .url, .headers.UdbydersystemId]' "$C")" \
    "[\"wssec-soap\",\"stil-bpi\",\"$SIM_STIL_URL/bpi/wsiinst/6\",\"12345\"]"
check "sealgated --check-config accepts it" sealgated --config "$C" --check-config

# --- the token: keys made there, certificates from the demo CA ---
check "sealgate-token keys through SEALGATE_CONFIG" sealgate-token keys --json
keys=$(cat "$W/last.out")
expect_eq "key types and protection" \
    "$(printf '%s' "$keys" | jq -c '[.[] | select(.private_key) | [.label, .type, .sensitive, .extractable]] | sort')" \
    '[["audit-signer","ec:p256",true,false],["dvv-interface","rsa:2048",true,false],["local-seal","rsa:2048",true,false],["stil-system","rsa:3072",true,false],["vero-ws","rsa:2048",true,false]]'
expect_eq "local certificates issued by the demo CA" \
    "$(printf '%s' "$keys" | jq -r '[.[] | select(.private_key and (.label | IN("local-seal", "audit-signer"))) | .certificate.issuer] | unique | join(";")')" \
    "$(openssl x509 -in "$DEMO_LOCAL_CA_FILE" -noout -subject -nameopt RFC2253 | sed 's/^subject=//')"
expect_eq "interface certificate issued by the stamp service's client CA" \
    "$(printf '%s' "$keys" | jq -r '.[] | select(.label == "dvv-interface" and .private_key) | .certificate.issuer')" \
    "$(openssl x509 -in "$D/sim/client-ca.pem" -noout -subject -nameopt RFC2253 | sed 's/^subject=//')"
expect_eq "certificates last two years" \
    "$(printf '%s' "$keys" | jq '[.[] | select(.private_key and (.label | IN("local-seal", "audit-signer"))) | .certificate.days_left | select(. == 729 or . == 730)] | length')" 2
expect_eq "stil-system's certificate issued by the STIL simulator's client CA" \
    "$(printf '%s' "$keys" | jq -r '.[] | select(.label == "stil-system" and .private_key) | .certificate.issuer')" \
    "$(openssl x509 -in "$D/sim-stil/client-ca.pem" -noout -subject -nameopt RFC2253 | sed 's/^subject=//')"
expect_match "  with an OCES3-style subject" \
    "$(printf '%s' "$keys" | jq -r '.[] | select(.label == "stil-system" and .private_key) | .certificate.subject')" \
    'NTRDK-12345678'

# --- the README-style requests ---
expect_eq "GET /healthz" "$(http "$W/health.json" "$SEALGATE_URL/healthz")" 200
expect_eq "/healthz body" "$(jq -r .status "$W/health.json" 2>/dev/null)" ok
port=${SEALGATE_URL##*:}
expect_eq "GET /healthz at https://localhost" "$(http /dev/null "https://localhost:$port/healthz")" 200
check_exit 60 "curl without --cacert does not trust the listener" \
    curl -sS -o /dev/null "$SEALGATE_URL/healthz"
expect_match "  it says why" "$(cat "$W/last.err")" 'certificate'
expect_eq "plain HTTP to the port gets no answer" \
    "$(curl -sS -o /dev/null -w '%{http_code}' --max-time 10 "http://127.0.0.1:$port/healthz" 2>/dev/null)" 000

mkdir -p "$W/sign" && cd "$W/sign" || exit 1
digest=$(printf 'hello' | openssl dgst -sha256 -binary | base64)
sign_req() { # FORMAT: the example request, with FORMAT
    printf '{"identity":"local-seal","digest":{"alg":"sha256","value":"%s"},"format":"%s"}' "$digest" "$1"
}
expect_eq "POST /v1/sign raw" "$(http sign.json -H "Authorization: Bearer $SEALGATE_STAMP_TOKEN" \
    -H 'Content-Type: application/json' --data "$(sign_req raw)" "$SEALGATE_URL/v1/sign")" 200
expect_eq "raw answer names identity and format" "$(jq -c '[.identity, .format]' sign.json 2>/dev/null)" '["local-seal","raw"]'
jq -r .signature sign.json 2>/dev/null | base64 -d > sig 2>/dev/null
jq -r .certificate sign.json 2>/dev/null | base64 -d > cert.der 2>/dev/null
openssl x509 -inform DER -in cert.der -pubkey -noout > pub.pem 2>/dev/null
check "the answer's certificate is from the demo CA" \
    bash -c 'openssl x509 -inform DER -in cert.der -out cert.pem && openssl verify -CAfile "$1" cert.pem' _ "$DEMO_LOCAL_CA_FILE"
sealgate-token pubkey --label local-seal > token-pub.pem 2>/dev/null
check "its public key is local-seal's on the token" cmp pub.pem token-pub.pem
check "raw signature verifies (openssl dgst)" \
    bash -c "printf 'hello' | openssl dgst -sha256 -verify pub.pem -signature sig"
# The bad-input case counts only when there is a signature and a key to try (99 otherwise).
check_exit 1 "raw signature does not verify other data" \
    bash -c "{ [ -s sig ] && [ -s pub.pem ]; } || exit 99; printf 'hellO' | openssl dgst -sha256 -verify pub.pem -signature sig"

printf 'hello' > hello.txt
printf 'hellO' > other.txt
expect_eq "POST /v1/sign cms" "$(http cms.json -H "Authorization: Bearer $SEALGATE_STAMP_TOKEN" \
    -H 'Content-Type: application/json' --data "$(sign_req cms)" "$SEALGATE_URL/v1/sign")" 200
jq -r .signature cms.json 2>/dev/null | base64 -d > hello.p7s 2>/dev/null
check "CMS verifies against the demo CA (openssl cms)" openssl cms -verify -binary -inform DER -in hello.p7s \
    -content hello.txt -CAfile "$DEMO_LOCAL_CA_FILE" -signer signer.pem -out /dev/null
check "CMS signer is local-seal's certificate" \
    bash -c '[ -s signer.pem ] && [ -s cert.der ] && openssl x509 -in signer.pem -outform DER | cmp - cert.der'
check_exit 4 "CMS does not verify other content" openssl cms -verify -binary -inform DER -in hello.p7s \
    -content other.txt -CAfile "$DEMO_LOCAL_CA_FILE" -out /dev/null

# billing-cert: its client certificate, no token.
CERT=(--cert "$SEALGATE_CLIENT_CERT" --key "$SEALGATE_CLIENT_KEY")
expect_eq "POST /v1/sign raw with the client certificate, no token" "$(http cert-sign.json "${CERT[@]}" \
    -H 'Content-Type: application/json' --data "$(sign_req raw)" "$SEALGATE_URL/v1/sign")" 200
jq -r .signature cert-sign.json 2>/dev/null | base64 -d > cert-sig 2>/dev/null
check "  its signature verifies with local-seal's key (openssl dgst)" \
    bash -c "printf 'hello' | openssl dgst -sha256 -verify token-pub.pem -signature cert-sig"
entry=$(cat "$SEALGATE_AUDIT_DIR"/audit-*.jsonl |
    jq -c --arg r "$(jq -r .request_id cert-sign.json 2>/dev/null)" 'select(.request_id == $r)')
expect_eq "  its audit entry names billing-cert" "$(jq -r .client <<<"$entry")" billing-cert
expect_eq "  with the certificate's serial" "$(jq -r .client_cert_serial <<<"$entry")" \
    "$(openssl x509 -in "$SEALGATE_CLIENT_CERT" -noout -serial | sed 's/^serial=//')"
expect_eq "  and its issuer" "$(jq -r .client_cert_issuer <<<"$entry")" \
    "$(openssl x509 -in "$SEALGATE_CLIENT_CERT" -noout -issuer -nameopt RFC2253 | sed 's/^issuer=//')"
expect_eq "billing-cert may not read /metrics" "$(http /dev/null "${CERT[@]}" "$SEALGATE_URL/metrics")" 403
expect_eq "the server's own certificate is no client certificate" "$(http /dev/null --cert "$D/tls/server.pem" \
    --key "$D/tls/server.key" -H 'Content-Type: application/json' --data "$(sign_req raw)" "$SEALGATE_URL/v1/sign")" 401
cd "$W" || exit 1

# The roles the demo config gives.
expect_eq "/metrics with the monitor token" \
    "$(http "$W/metrics.txt" -H "Authorization: Bearer $SEALGATE_MONITOR_TOKEN" "$SEALGATE_URL/metrics")" 200
expect_match "/metrics has sealgate_ series" "$(cat "$W/metrics.txt")" '^sealgate_'
expect_eq "/metrics with the stamp token" \
    "$(http /dev/null -H "Authorization: Bearer $SEALGATE_STAMP_TOKEN" "$SEALGATE_URL/metrics")" 403
expect_eq "/v1/sign without a token" \
    "$(http /dev/null -H 'Content-Type: application/json' --data "$(sign_req raw)" "$SEALGATE_URL/v1/sign")" 401
expect_eq "/v1/sign with the monitor token" "$(http /dev/null -H "Authorization: Bearer $SEALGATE_MONITOR_TOKEN" \
    -H 'Content-Type: application/json' --data "$(sign_req raw)" "$SEALGATE_URL/v1/sign")" 403
expect_eq "/v1/identities with the stamp token" \
    "$(http "$W/ids.json" -H "Authorization: Bearer $SEALGATE_STAMP_TOKEN" "$SEALGATE_URL/v1/identities")" 200
expect_match "billing may use local-seal" "$(jq -r '.[].name' "$W/ids.json" 2>/dev/null)" '^local-seal$'

# --- the printed examples, exactly as printed, in an environment of their own ---
sed -n 's/^    //p' "$W/detach.out" > "$W/examples.sh"
expect_match "examples source demo.env" "$(head -n 1 "$W/examples.sh")" "^\. '$D/demo.env'$"
expect_eq "every printed request to the gateway checks the listener's certificate" \
    "$(curl_lines "$W/examples.sh" | grep -F '$SEALGATE_URL' | grep -vcF -- '--cacert "$SEALGATE_CA_FILE"')" 0
expect_eq "  one of them signs with the client certificate and no token" \
    "$(curl_lines "$W/examples.sh" | grep -F -- '--cert "$SEALGATE_CLIENT_CERT" --key "$SEALGATE_CLIENT_KEY"' |
        grep -F /v1/sign | grep -vc Authorization)" 1
mkdir -p "$W/ex"
check "the printed examples run" env -i PATH="$PATH" HOME="$W/ex" TMPDIR="$W/ex" \
    bash -e -o pipefail "$W/examples.sh"
ex_out="$(cat "$W/last.out" "$W/last.err")"
expect_match "example: healthz" "$ex_out" '"status": ?"ok"'
expect_match "example: raw signature verified" "$ex_out" '^Verified OK$'
expect_match "example: CMS verified" "$ex_out" 'CMS Verification successful'
expect_eq "example: the local CMS and the stamp both verified" \
    "$(printf '%s\n' "$ex_out" | grep -c 'CMS Verification successful')" 2
expect_match "example: pdfsig: the sealed PDF's signature is valid" "$ex_out" 'Signature is Valid'
expect_match "  its certificate trusted up to the stamp CA" "$ex_out" 'Certificate is Trusted'
expect_match "  the whole document signed" "$ex_out" 'Total document signed'
expect_match "example: xmlsec1 checked the container's signature and both files" "$ex_out" \
    'SignedInfo References \(ok/all\): 3/3'
# The CAdES stamp, the PAdES seal and the ASiC-E container: three stamps.
expect_match "example: the simulator counted the stamps" "$ex_out" '"org-stamp-1": *3'
expect_match "example: the audit log counted them too" "$ex_out" '"identity":"dvv-interface".*"stamps":3'
expect_match "example: token listing" "$ex_out" 'local-seal +rsa:2048'
expect_match "example: the SOAP call was accepted" "$ex_out" '^accepted$'
expect_match "example: another BPI operation at the same URL" "$ex_out" '^hentGrupper accepted$'
expect_match "example: xmlsec1 verified what went on the wire" "$ex_out" '^OK$'

# --- the README's tour, as written there (the demo already runs in $D) ---
awk '/^## / { s = 0 } /^## A five-minute tour/ { s = 1 }
    s && /^```sh$/ { c = 1; next } s && /^```$/ { c = 0 } c' "$SG_SRCDIR/README.md" |
    grep -v -e 'scripts/demo' -e '^top=' -e '^\. /tmp/sg-demo/demo.env$' |
    sed 's|"$top/build/demo-bin/tokens/sealgate-token"|sealgate-token|' > "$W/readme-tour.sh"
expect_match "the tour has a request with the client certificate" "$(cat "$W/readme-tour.sh")" \
    'curl -sS --cacert "\$SEALGATE_CA_FILE" --cert "\$SEALGATE_CLIENT_CERT" --key "\$SEALGATE_CLIENT_KEY" -H'
expect_eq "every request of the tour to the gateway checks the listener's certificate" \
    "$(curl_lines "$W/readme-tour.sh" | grep -F '$SEALGATE_URL' | grep -vcF -- '--cacert "$SEALGATE_CA_FILE"')" 0
check "the README's tour runs" env -i PATH="$PATH" HOME="$W/readme-tour" \
    bash -e -o pipefail -c '. "$1"; mkdir -p "$2"; cd "$2"; . "$3"' _ "$D/demo.env" "$W/readme-tour" "$W/readme-tour.sh"
expect_eq "  the stamp (bearer token) and the local CMS (client certificate) verified" \
    "$(grep -c 'CMS Verification successful' "$W/last.err")" 2
tour_out="$(cat "$W/last.out" "$W/last.err")"
expect_eq "  the PAdES seal's and the container's time-stamps verified with openssl ts" \
    "$(printf '%s\n' "$tour_out" | grep -c '^Verification: OK')" 2
expect_match "  pdfsig: the whole document signed, signature valid" "$tour_out" 'Total document signed'
expect_match "  xmlsec1: the container's signature and both files" "$tour_out" \
    'SignedInfo References \(ok/all\): 3/3'
expect_match "  mimetype is the container's first entry" "$(printf '%s\n' "$tour_out" | grep -m1 -x -e mimetype -e decision.pdf)" '^mimetype$'

# --- the README's SOAP example, as written there ---
awk '/^### / { s = 0 } /^### SOAP calls/ { s = 1 }
    s && /^```sh$/ { c = 1; next } s && /^```$/ { c = 0 } c' "$SG_SRCDIR/README.md" > "$W/readme-soap.sh"
mkdir -p "$W/readme-soap"
check "the README's SOAP example runs" env -i PATH="$PATH" HOME="$W/readme-soap" \
    bash -e -o pipefail -c '. "$1"; cd "$2"; . "$3"' _ "$D/demo.env" "$W/readme-soap" "$W/readme-soap.sh"
expect_match "  xmlsec1 verifies what was sent" "$(cat "$W/last.err")" '^OK$'
expect_eq "  the simulator's signed answer came back" \
    "$(xmllint --xpath 'string(//*[local-name()="Status"])' "$W/readme-soap/answer.xml" 2>/dev/null)" accepted

# --- Vero: vero-ws enrolled by the demo, the README's walkthrough for vero-spare ---
expect_eq "vero-ws was enrolled through the Vero simulator" \
    "$(curl -sS --cacert "$SEALGATE_CA_FILE" -H "Authorization: Bearer $SEALGATE_OFFICER_TOKEN" "$SEALGATE_URL/v1/identities" |
        jq -r '.[] | select(.name=="vero-ws") | .certificate.issuer')" \
    "$(openssl x509 -in "$D/sim-vero/client-ca.pem" -noout -subject -nameopt RFC2253 | sed 's/^subject=//')"
awk '/^### / { s = 0 } /^### Certificates from the Vero service/ { s = 1 }
    s && /^```sh$/ { c = 1; next } s && /^```$/ { c = 0 } c' "$SG_SRCDIR/README.md" > "$W/readme-vero.sh"
mkdir -p "$W/readme-vero"
check "the README's Vero enrolment runs" env -i PATH="$PATH" HOME="$W/readme-vero" \
    bash -e -o pipefail -c '. "$1"; cd "$2"; . "$3"' _ "$D/demo.env" "$W/readme-vero" "$W/readme-vero.sh"
expect_eq "  the job is done" "$(jq -r .state "$W/readme-vero/job.json")" done
expect_match "  both Vero identities have certificates" "$(grep -c '"days_left":7[23][0-9]' "$W/last.out")" '^2$'
expect_match "  renewal outside the window is refused" "$(cat "$W/last.out")" '"error":"conflict"'

# --- no PIN in what the demo writes or prints ---
for f in "$D/demo.env" "$D/sealgated.log" "$C" "$D/check-config.log" "$W/detach.out" "$W/detach.err" \
    "$D/audit"/*; do
    [ -f "$f" ] || continue
    for p in pin so-pin; do
        if grep -qF -f "$D/$p" "$f"; then fail "the $p value appears in $f"; else pass "no $p value in ${f#"$W"/}"; fi
    done
done
if tr '\0' '\n' < "/proc/$pid/cmdline" | grep -qF -f "$D/pin"; then
    fail "the PIN is on sealgated's command line"
else
    pass "no PIN on sealgated's command line"
fi

# --- once only; stop; stop again ---
check_exit 1 "a second --detach is refused" demo --detach --dir "$D"
expect_match "it says already running" "$(cat "$W/last.err")" 'already running'
expect_eq "the first daemon still serves" "$(http /dev/null "$SEALGATE_URL/healthz")" 200
keys_before=$(sealgate-token keys --json | jq -c '[.[] | [.label, .id]]')
check "--stop" demo --stop --dir "$D"
if alive "$pid"; then fail "sealgated (PID $pid) still runs after --stop"; else pass "sealgated is gone"; fi
if [ -e "$D/sealgated.pid" ]; then fail "PID file left behind"; else pass "PID file removed"; fi
check "--stop again" demo --stop --dir "$D"

# --- a restart reuses the token, its keys and the client tokens ---
# The directory as a demo from before HTTPS left it: no TLS files, plain HTTP.
rm -rf "$D/tls"
jq '.listen.tls = null | .clients |= map(select(.name != "billing-cert"))' "$C" > "$W/old.json" &&
    cp "$W/old.json" "$C"
check "--detach into the stopped directory" demo --detach --dir "$D"
expect_match "it reuses the token" "$(cat "$W/last.err")" 'reusing token'
expect_match "it makes the missing TLS files" "$(cat "$W/last.err")" 'made the listener CA'
expect_no_match "it does not initialise a token" "$(cat "$W/last.err")" 'initialised token'
stamp_before=$SEALGATE_STAMP_TOKEN
. "$D/demo.env"
expect_eq "same keys on the token" "$(sealgate-token keys --json | jq -c '[.[] | [.label, .id]]')" "$keys_before"
expect_eq "same client token" "$SEALGATE_STAMP_TOKEN" "$stamp_before"
expect_eq "GET /healthz after the restart" "$(http /dev/null "$SEALGATE_URL/healthz")" 200
expect_eq "sign after the restart" "$(http "$W/sign2.json" -H "Authorization: Bearer $SEALGATE_STAMP_TOKEN" \
    -H 'Content-Type: application/json' --data "$(sign_req raw)" "$SEALGATE_URL/v1/sign")" 200
jq -r .signature "$W/sign2.json" 2>/dev/null | base64 -d > "$W/sig2" 2>/dev/null
check "it verifies with the same public key" \
    bash -c "printf 'hello' | openssl dgst -sha256 -verify '$W/sign/pub.pem' -signature '$W/sig2'"
expect_match "SEALGATE_URL is https again" "$SEALGATE_URL" '^https://'
expect_eq "the new client certificate is billing-cert's" \
    "$(jq -r '.clients[] | select(.name == "billing-cert") | .cert_sha256' "$C")" "$(fingerprint "$SEALGATE_CLIENT_CERT")"
expect_eq "sign with it after the restart" "$(http "$W/sign3.json" --cert "$SEALGATE_CLIENT_CERT" \
    --key "$SEALGATE_CLIENT_KEY" -H 'Content-Type: application/json' --data "$(sign_req raw)" "$SEALGATE_URL/v1/sign")" 200
pid=$(cat "$D/sealgated.pid")
check "--stop after the restart" demo --stop --dir "$D"
if alive "$pid"; then fail "restarted sealgated still runs"; else pass "restarted sealgated is gone"; fi
finish
