# SPDX-License-Identifier: Apache-2.0
# The csc-v2 seal service simulator (tests/sim/csc_sim.py) on its own,
# driven with curl and openssl only (no gateway): init and issue-client from
# an openssl CSR, then every check docs/authorities.md section 1 asks of it —
# client certificate from its client CA, detached JWS request signature
# against that certificate, credential allow-list, strict JSON and signHash
# parameters, signatures that verify with openssl against the stamp
# certificate, monthly counts (kept across a restart) and fault injection.
. "$SG_SRCDIR/tests/integration/lib.sh"
W=$SG_WORK
S=$W/sim
SIM=$SG_SRCDIR/tests/sim/csc_sim.py
PY=${SG_PYTHON:-python3}
need_python "$PY" cryptography python3-cryptography
sim() { "$PY" "$SIM" "$@"; }
month=$(date -u +%Y-%m)

b64url() { base64 -w0 | tr '+/' '-_' | tr -d '='; }
der_b64() { openssl x509 -in "$1" -outform DER | base64 -w0; }
# hex2bin: hex digits on stdin to bytes on stdout (bash printf only).
hex2bin() { local h; h=$(tr -d ' \n'); printf "$(printf '%s' "$h" | sed 's/../\\x&/g')"; }
# es256_raw: a DER ECDSA-Sig-Value on stdin to the JWS form r||s (32+32 bytes).
es256_raw() {
    openssl asn1parse -inform DER 2>/dev/null | sed -n 's/.*prim: INTEGER *://p' | while read -r v; do
        printf '%064s' "$v" | tr ' ' 0
    done | hex2bin
}
# jws KEY X5C_CERT BODYFILE [ALG] [RAW]: the detached JWS (RFC 7515
# appendix F) over BODYFILE's exact bytes, made with openssl. RAW=der
# leaves an ES256 signature in DER (which the simulator must refuse).
jws() {
    local key=$1 cert=$2 body=$3 alg=${4:-RS256} raw=${5:-} h input
    h=$(printf '{"alg":"%s","x5c":["%s"]}' "$alg" "$(der_b64 "$cert")" | b64url)
    input="$h.$(b64url < "$body")"
    if [ "$alg" = ES256 ] && [ "$raw" != der ]; then
        printf '%s..%s' "$h" "$(printf '%s' "$input" | openssl dgst -sha256 -sign "$key" -binary | es256_raw | b64url)"
    else
        printf '%s..%s' "$h" "$(printf '%s' "$input" | openssl dgst -sha256 -sign "$key" -binary | b64url)"
    fi
}
TLS=(--cacert "$S/server-ca.pem")
JSON=(-H 'Content-Type: application/json')
# post PATH BODYFILE [curl args...]: status on stdout, body in $W/body.
post() {
    local path=$1 f=$2
    shift 2
    curl -sS -o "$W/body" -w '%{http_code}' "${TLS[@]}" --data-binary @"$f" "$@" "$URL/csc/v2/$path"
}
# as WHO PATH BODYFILE [ALG] [curl args...]: WHO's TLS client certificate and a
# correct JWS made with WHO's key (WHO = client, other).
as() {
    local who=$1 path=$2 f=$3 alg=${4:-RS256}
    shift 3; [ $# -gt 0 ] && shift
    post "$path" "$f" "${JSON[@]}" --cert "$W/$who.pem" --key "$W/$who.key" \
        -H "X-Request-Signature: $(jws "$W/$who.key" "$W/$who.pem" "$f" "$alg")" "$@"
}
simget() { curl -sS "${TLS[@]}" "$SIM_URL$1"; }
simpost() { curl -sS -o "$W/body" -w '%{http_code}' "${TLS[@]}" "${JSON[@]}" --data-binary "$2" "$SIM_URL$1"; }
count() { simget "counts?month=$month" | jq -r '.counts["org-stamp-1"]'; }
# start_sim STATE [serve args...]: sets URL, SIM_URL, SIM_PID.
start_sim() {
    start_sim_serve csc_sim "$W/sim-ready.json" "$PY" "$SIM" "$@"
    URL=$(jq -r .url "$W/sim-ready.json")
    URL=${URL%/csc/v2/}
    SIM_URL=$URL/sim/
}
digest_b64() { printf '%s' "$1" | openssl dgst -"${2:-sha256}" -binary | base64 -w0; }
sign_req() { # sign_req CRED SIGNALGO HASHOID HASH... > body
    local cred=$1 algo=$2 hoid=$3 hs
    shift 3
    hs=$(printf '"%s",' "$@")
    printf '{"credentialID":"%s","hashes":[%s],"hashAlgorithmOID":"%s","signAlgo":"%s"}' \
        "$cred" "${hs%,}" "$hoid" "$algo"
}
SHA256=2.16.840.1.101.3.4.2.1
SHA384=2.16.840.1.101.3.4.2.2
RSA256=1.2.840.113549.1.1.11
RSA384=1.2.840.113549.1.1.12
ECDSA256=1.2.840.10045.4.3.2

# --- init and issue-client -------------------------------------------------
check "init" sim init --state "$S"
for f in server-ca.pem server.pem server.key client-ca.pem stamp-ca.pem stamp.pem stamp.key credentials.json; do
    [ -s "$S/$f" ] || fail "init made $f"
done
expect_eq "credentials.json" "$(jq -c . "$S/credentials.json")" '{"org-stamp-1":{"allowed_clients":[]}}'
expect_eq "stamp key mode 0600" "$(stat -c %a "$S/stamp.key")" 600
check "server certificate chains to the server CA" openssl verify -CAfile "$S/server-ca.pem" -purpose sslserver "$S/server.pem"
check "server certificate is for 127.0.0.1" openssl x509 -in "$S/server.pem" -noout -checkip 127.0.0.1
check "stamp certificate chains to the stamp CA" openssl verify -CAfile "$S/stamp-ca.pem" "$S/stamp.pem"
expect_match "stamp subject" "$(openssl x509 -in "$S/stamp.pem" -noout -subject -nameopt RFC2253)" 'CN=Example Oy stamp,O=Example Oy,C=FI'
expect_match "stamp key usage" "$(openssl x509 -in "$S/stamp.pem" -noout -ext keyUsage)" 'Digital Signature, Non Repudiation'
expect_match "stamp key is RSA-2048" "$(openssl x509 -in "$S/stamp.pem" -noout -text)" 'Public-Key: \(2048 bit\)'
sums=$(cd "$S" && sha256sum ./*.pem ./*.key ./*.json)
check "init again" sim init --state "$S"
expect_eq "init is idempotent" "$(cd "$S" && sha256sum ./*.pem ./*.key ./*.json)" "$sums"

# The interface certificate "the real way": key and CSR with openssl, signed by the client CA.
openssl req -new -newkey rsa:2048 -nodes -keyout "$W/client.key" -subj "/C=FI/O=sealgate tests/CN=gw-interface" \
    -out "$W/client.csr" 2>/dev/null
check "issue-client --allow" sim issue-client --state "$S" --csr "$W/client.csr" --out "$W/client.pem" --allow org-stamp-1
expect_eq "issue-client prints the subject" "$(cat "$W/last.out")" "CN=gw-interface,O=sealgate tests,C=FI"
expect_eq "subject allowed" "$(jq -c '.["org-stamp-1"].allowed_clients' "$S/credentials.json")" '["CN=gw-interface,O=sealgate tests,C=FI"]'
check "interface certificate is a client certificate of the client CA" \
    openssl verify -CAfile "$S/client-ca.pem" -purpose sslclient "$W/client.pem"
expect_eq "interface certificate keeps the CSR's key" "$(openssl x509 -in "$W/client.pem" -noout -pubkey | sha256sum)" \
    "$(openssl req -in "$W/client.csr" -noout -pubkey | sha256sum)"
# A second, EC client (DER CSR) not on the allow-list.
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$W/other.key" \
    -subj "/C=FI/O=sealgate tests/CN=not-allowed" -outform DER -out "$W/other.csr" 2>/dev/null
check "issue-client from a DER CSR" sim issue-client --state "$S" --csr "$W/other.csr" --out "$W/other.pem" --days 10
expect_eq "allow-list unchanged" "$(jq -c '.["org-stamp-1"].allowed_clients | length' "$S/credentials.json")" 1
# A CSR whose signature does not verify: flip a bit of its last byte.
cp "$W/other.csr" "$W/bad.csr"
last=$(( $(stat -c %s "$W/bad.csr") - 1 ))
b=$(od -An -tu1 -j "$last" -N1 "$W/bad.csr" | tr -d ' ')
printf "$(printf '\\x%02x' $(( b ^ 1 )))" | dd of="$W/bad.csr" bs=1 seek="$last" conv=notrunc 2>/dev/null
check_exit 1 "issue-client refuses a CSR with a bad self-signature" \
    sim issue-client --state "$S" --csr "$W/bad.csr" --out "$W/bad.pem"
expect_match "  with a reason" "$(cat "$W/last.err")" 'self-signature'
[ ! -e "$W/bad.pem" ] && pass "  and writes no certificate" || fail "  and writes no certificate"
check_exit 1 "issue-client refuses an unknown credential" \
    sim issue-client --state "$S" --csr "$W/client.csr" --out "$W/x.pem" --allow no-such
# A certificate from another CA, for the same key as client.pem.
make_ca foreign
openssl req -new -key "$W/client.key" -subj "/C=FI/O=sealgate tests/CN=gw-interface" -out "$W/foreign.csr" 2>/dev/null
issue_cert foreign "$W/foreign.csr" "$W/foreign.pem"

# --- serve ---------------------------------------------------------------
start_sim "$S"
expect_match "ready file" "$(cat "$W/sim-ready.json")" '"url": "https://127\.0\.0\.1:[0-9]+/csc/v2/"'
expect_eq "ready file pid" "$(jq -r .pid "$W/sim-ready.json")" "$SIM_PID"
expect_eq "/sim/health without a client certificate" "$(simget health | jq -r .status)" ok
expect_eq "count starts at 0" "$(count)" 0

# credentials/info
printf '{"credentialID":"org-stamp-1","certificates":"chain","certInfo":true,"authInfo":true}' > "$W/info.json"
expect_eq "credentials/info" "$(as client credentials/info "$W/info.json")" 200
expect_eq "  two certificates" "$(jq '.cert.certificates | length' "$W/body")" 2
expect_eq "  leaf is the stamp certificate" "$(jq -r '.cert.certificates[0]' "$W/body")" "$(der_b64 "$S/stamp.pem")"
expect_eq "  then the stamp CA" "$(jq -r '.cert.certificates[1]' "$W/body")" "$(der_b64 "$S/stamp-ca.pem")"
expect_eq "  key" "$(jq -c '[.key.status, .key.algo[0], .key.len]' "$W/body")" "[\"enabled\",\"$RSA256\",2048]"
expect_eq "  cert DNs and status" "$(jq -c '[.cert.status, .cert.subjectDN, .cert.issuerDN]' "$W/body")" \
    '["valid","CN=Example Oy stamp,O=Example Oy,C=FI","CN=csc-sim stamp CA,O=csc-sim test,C=FI"]'
expect_eq "  serialNumber" "$(jq -r .cert.serialNumber "$W/body" | tr a-f A-F)" \
    "$(openssl x509 -in "$S/stamp.pem" -noout -serial | sed 's/serial=0*//')"
expect_match "  validFrom/validTo" "$(jq -r '.cert.validFrom + " " + .cert.validTo' "$W/body")" '^[0-9]{14}Z [0-9]{14}Z$'
expect_eq "  v2's auth object, SCAL, no v1 authMode" "$(jq -c '[.auth.mode, .SCAL, has("authMode")]' "$W/body")" \
    '["implicit","1",false]'
jq -r '.cert.certificates[0]' "$W/body" | base64 -d > "$W/stamp-leaf.der"
printf '{"credentialID":"org-stamp-1"}' > "$W/info1.json"
expect_eq "credentials/info without certInfo: the DNs left out (CSC v2.0.0.2 11.5)" \
    "$(as client credentials/info "$W/info1.json" >/dev/null; jq -c '[.cert.status, has("cert"), (.cert | has("subjectDN"))]' "$W/body")" \
    '["valid",true,false]'
expect_eq "credentials/info default is the leaf only" \
    "$(as client credentials/info "$W/info1.json" >/dev/null; jq '.cert.certificates | length' "$W/body")" 1

# signHash: a correct request, and the signature verifies with openssl.
printf 'document one' > "$W/doc1"
openssl dgst -sha256 -binary "$W/doc1" > "$W/doc1.sha256"
sign_req org-stamp-1 $RSA256 $SHA256 "$(base64 -w0 < "$W/doc1.sha256")" > "$W/sign.json"
expect_eq "signHash with a correct JWS" "$(as client signatures/signHash "$W/sign.json")" 200
expect_eq "  one signature" "$(jq '.signatures | length' "$W/body")" 1
jq -r '.signatures[0]' "$W/body" | base64 -d > "$W/sig1"
check "  verifies with openssl pkeyutl against the returned stamp certificate" \
    openssl pkeyutl -verify -certin -inkey "$W/stamp-leaf.der" -keyform DER -pkeyopt digest:sha256 \
    -in "$W/doc1.sha256" -sigfile "$W/sig1"
check "  and is the PKCS#1 v1.5 signature of the document" \
    openssl dgst -sha256 -verify <(openssl x509 -in "$S/stamp.pem" -pubkey -noout) -signature "$W/sig1" "$W/doc1"
printf 'document two' | openssl dgst -sha256 -binary > "$W/doc2.sha256"
check_exit 1 "  and not for another digest" \
    openssl pkeyutl -verify -certin -inkey "$S/stamp.pem" -pkeyopt digest:sha256 -in "$W/doc2.sha256" -sigfile "$W/sig1"
expect_eq "count 1" "$(count)" 1
# Three hashes, SHA-384.
h1=$(digest_b64 a sha384) h2=$(digest_b64 b sha384) h3=$(digest_b64 c sha384)
sign_req org-stamp-1 $RSA384 $SHA384 "$h1" "$h2" "$h3" > "$W/sign3.json"
expect_eq "signHash with 3 SHA-384 hashes" "$(as client signatures/signHash "$W/sign3.json")" 200
jq -r '.signatures[2]' "$W/body" | base64 -d > "$W/sig3"
printf c | openssl dgst -sha384 -binary > "$W/c.sha384"
check "  the third verifies" openssl pkeyutl -verify -certin -inkey "$S/stamp.pem" -pkeyopt digest:sha384 \
    -in "$W/c.sha384" -sigfile "$W/sig3"
expect_eq "count 4" "$(count)" 4
# hashAlgorithmOID may be left out (signAlgo implies it).
printf '{"credentialID":"org-stamp-1","hashes":["%s"],"signAlgo":"%s"}' "$(digest_b64 d)" $RSA256 > "$W/noh.json"
expect_eq "signHash without hashAlgorithmOID" "$(as client signatures/signHash "$W/noh.json")" 200
expect_eq "count 5" "$(count)" 5
# Keep-alive: two requests over one connection.
expect_eq "keep-alive: the second request reuses the connection" \
    "$(as client signatures/signHash "$W/sign.json" RS256 -w '%{http_code} %{num_connects}\n' -o /dev/null "$URL/csc/v2/signatures/signHash" | tr -d '\n')" \
    "200 1200 0"
expect_eq "count 7" "$(count)" 7
expect_eq "TLS 1.2" "$(as client credentials/info "$W/info.json" RS256 --tlsv1.2 --tls-max 1.2)" 200
expect_eq "TLS 1.3" "$(as client credentials/info "$W/info.json" RS256 --tlsv1.3)" 200
check_exit 35 "TLS 1.1 refused" curl -sS -o /dev/null "${TLS[@]}" --tlsv1.1 --tls-max 1.1 "${SIM_URL}health"

# --- refusals ----------------------------------------------------------------
expect_error "no client certificate" 401 invalid_client \
    "$(post signatures/signHash "$W/sign.json" "${JSON[@]}" -H "X-Request-Signature: $(jws "$W/client.key" "$W/client.pem" "$W/sign.json")")"
rc=0
got=$(post signatures/signHash "$W/sign.json" "${JSON[@]}" --cert "$W/foreign.pem" --key "$W/client.key" \
    -H "X-Request-Signature: $(jws "$W/client.key" "$W/foreign.pem" "$W/sign.json")" 2>"$W/foreign.err") || rc=$?
if [ "$rc" -ne 0 ] && [ "$got" = 000 ]; then
    pass "client certificate from another CA: TLS handshake refused (curl exit $rc)"
else
    fail "client certificate from another CA: curl exit $rc, status $got"
fi
# The simulator records the refusal just after its alert went out: wait for it.
last_verdict() { simget requests | jq -r '.requests[-1].verdict'; }
wait_until 30 "the refused handshake recorded" eval '[[ "$(last_verdict)" == tls_handshake_failed* ]]'
expect_match "  recorded at /sim/requests" "$(last_verdict)" '^tls_handshake_failed: CERTIFICATE_VERIFY_FAILED'
expect_error "JWS missing" 401 invalid_request \
    "$(post signatures/signHash "$W/sign.json" "${JSON[@]}" --cert "$W/client.pem" --key "$W/client.key")"
printf '%s' "$(cat "$W/sign.json")" | sed 's/org-stamp-1/org-stamp-1 /' > "$W/sign-other.json"
expect_error "JWS over a different body" 401 invalid_request \
    "$(post signatures/signHash "$W/sign.json" "${JSON[@]}" --cert "$W/client.pem" --key "$W/client.key" \
        -H "X-Request-Signature: $(jws "$W/client.key" "$W/client.pem" "$W/sign-other.json")")"
expect_match "  says so" "$(jq -r .error_description "$W/body")" 'does not verify'
expect_error "JWS with x5c of another certificate" 401 invalid_request \
    "$(post signatures/signHash "$W/sign.json" "${JSON[@]}" --cert "$W/client.pem" --key "$W/client.key" \
        -H "X-Request-Signature: $(jws "$W/client.key" "$W/other.pem" "$W/sign.json")")"
expect_match "  says so" "$(jq -r .error_description "$W/body")" 'x5c'
expect_error "JWS made by another key" 401 invalid_request \
    "$(post signatures/signHash "$W/sign.json" "${JSON[@]}" --cert "$W/client.pem" --key "$W/client.key" \
        -H "X-Request-Signature: $(jws "$W/ca-foreign.key" "$W/client.pem" "$W/sign.json")")"
expect_error "JWS alg ES256 with an RSA certificate" 401 invalid_request \
    "$(post signatures/signHash "$W/sign.json" "${JSON[@]}" --cert "$W/client.pem" --key "$W/client.key" \
        -H "X-Request-Signature: $(jws "$W/client.key" "$W/client.pem" "$W/sign.json" ES256 der)")"
good=$(jws "$W/client.key" "$W/client.pem" "$W/sign.json")
expect_error "JWS with the payload attached" 401 invalid_request \
    "$(post signatures/signHash "$W/sign.json" "${JSON[@]}" --cert "$W/client.pem" --key "$W/client.key" \
        -H "X-Request-Signature: ${good%%.*}.$(b64url < "$W/sign.json").${good##*.}")"
expect_error "JWS alg none" 401 invalid_request \
    "$(post signatures/signHash "$W/sign.json" "${JSON[@]}" --cert "$W/client.pem" --key "$W/client.key" \
        -H "X-Request-Signature: $(printf '{"alg":"none","x5c":["%s"]}' "$(der_b64 "$W/client.pem")" | b64url)..")"
# The EC client: a correct ES256 JWS gets past the signature check to the
# allow-list; DER instead of r||s does not.
expect_error "client not allowed (correct ES256 JWS)" 403 access_denied \
    "$(as other signatures/signHash "$W/sign.json" ES256)"
expect_error "ES256 signature in DER form" 401 invalid_request \
    "$(post signatures/signHash "$W/sign.json" "${JSON[@]}" --cert "$W/other.pem" --key "$W/other.key" \
        -H "X-Request-Signature: $(jws "$W/other.key" "$W/other.pem" "$W/sign.json" ES256 der)")"
expect_error "client not allowed for credentials/info" 403 access_denied \
    "$(as other credentials/info "$W/info.json" ES256)"

d32=$(base64 -w0 < "$W/doc1.sha256")
bad_req() { # bad_req WHAT STATUS CODE BODY
    printf '%s' "$4" > "$W/bad.json"
    expect_error "$1" "$2" "$3" "$(as client signatures/signHash "$W/bad.json")"
}
bad_req "unknown credential" 400 invalid_request "$(sign_req org-stamp-9 $RSA256 $SHA256 "$d32")"
expect_match "  named" "$(jq -r .error_description "$W/body")" 'org-stamp-9'
bad_req "wrong hash length" 400 invalid_request "$(sign_req org-stamp-1 $RSA256 $SHA256 "$(digest_b64 x sha384)")"
bad_req "hash length of SHA-1" 400 invalid_request "$(sign_req org-stamp-1 $RSA256 $SHA256 "$(digest_b64 x sha1)")"
bad_req "wrong signAlgo (ECDSA for an RSA key)" 400 invalid_request "$(sign_req org-stamp-1 $ECDSA256 $SHA256 "$d32")"
bad_req "signAlgo rsaEncryption" 400 invalid_request "$(sign_req org-stamp-1 1.2.840.113549.1.1.1 $SHA256 "$d32")"
bad_req "hashAlgorithmOID does not match signAlgo" 400 invalid_request "$(sign_req org-stamp-1 $RSA384 $SHA256 "$d32")"
bad_req "unknown member" 400 invalid_request \
    '{"credentialID":"org-stamp-1","hashes":["'"$d32"'"],"signAlgo":"'$RSA256'","SAD":"x"}'
bad_req "no hashes" 400 invalid_request '{"credentialID":"org-stamp-1","hashes":[],"signAlgo":"'$RSA256'"}'
bad_req "101 hashes (multisign is 100)" 400 invalid_request "$(sign_req org-stamp-1 $RSA256 $SHA256 $(for i in $(seq 101); do echo "$d32"; done))"
bad_req "hash not base64" 400 invalid_request "$(sign_req org-stamp-1 $RSA256 $SHA256 '!!!!')"
bad_req "hash without base64 padding" 400 invalid_request "$(sign_req org-stamp-1 $RSA256 $SHA256 "${d32%=}")"
bad_req "signAlgo missing" 400 invalid_request '{"credentialID":"org-stamp-1","hashes":["'"$d32"'"]}'
bad_req "credentialID a number" 400 invalid_request '{"credentialID":1,"hashes":["'"$d32"'"],"signAlgo":"'$RSA256'"}'
bad_req "duplicate member" 400 invalid_request \
    '{"credentialID":"org-stamp-1","credentialID":"org-stamp-1","hashes":["'"$d32"'"],"signAlgo":"'$RSA256'"}'
bad_req "not an object" 400 invalid_request '["org-stamp-1"]'
bad_req "not JSON" 400 invalid_request 'credentialID=org-stamp-1'
bad_req "operationMode A" 400 invalid_request \
    '{"credentialID":"org-stamp-1","hashes":["'"$d32"'"],"signAlgo":"'$RSA256'","operationMode":"A"}'
expect_error "Content-Type text/plain" 400 invalid_request \
    "$(as client signatures/signHash "$W/sign.json" RS256 -H 'Content-Type: text/plain')"
expect_error "credentials/info unknown member" 400 invalid_request \
    "$(printf '{"credentialID":"org-stamp-1","certificates":"chain","x":1}' > "$W/bad.json"; as client credentials/info "$W/bad.json")"
expect_error "credentials/info certificates=all" 400 invalid_request \
    "$(printf '{"credentialID":"org-stamp-1","certificates":"all"}' > "$W/bad.json"; as client credentials/info "$W/bad.json")"
expect_error "unknown endpoint" 404 invalid_request "$(as client signatures/signDoc "$W/sign.json")"
expect_error "GET signHash" 405 invalid_request \
    "$(curl -sS -o "$W/body" -w '%{http_code}' "${TLS[@]}" --cert "$W/client.pem" --key "$W/client.key" "$URL/csc/v2/signatures/signHash")"
head -c $((1024 * 1024 + 1)) /dev/zero > "$W/big"
expect_error "body over 1 MiB" 413 invalid_request "$(as client signatures/signHash "$W/big")"
expect_eq "no refusal was counted" "$(count)" 7

# --- captured requests ---------------------------------------------------------
simget requests > "$W/requests.json"
expect_match "  with subject, body and verdict" \
    "$(jq -r '.requests[] | select(.status == 403) | .client_subject + " | " + .verdict' "$W/requests.json" | head -1)" \
    '^CN=not-allowed,O=sealgate tests,C=FI \| access_denied: '
expect_match "  and the request signature header" \
    "$(jq -r '[.requests[] | select(.status == 200)][0].headers["x-request-signature"]' "$W/requests.json")" '^eyJ[A-Za-z0-9_-]+\.\.[A-Za-z0-9_-]+$'
printf '{"credentialID":"org-stamp-1"}' > "$W/auth.json"
as client credentials/info "$W/auth.json" RS256 -H 'Authorization: Bearer sekrit' >/dev/null
expect_eq "  Authorization redacted" "$(simget requests | jq -r '.requests[-1].headers.authorization')" '[redacted]'
curl -sS "${TLS[@]}" $(for i in $(seq 1 100); do printf '%s ' "$URL/csc/v2/nope$i"; done) >/dev/null
simget requests > "$W/requests.json"
expect_eq "/sim/requests keeps the last 100" "$(jq '.requests | length' "$W/requests.json")" 100
expect_eq "  oldest first" "$(jq -r '.requests[0].path + " " + .requests[-1].path' "$W/requests.json")" \
    "/csc/v2/nope1 /csc/v2/nope100"

# --- faults ----------------------------------------------------------------------
expect_eq "fail_rate 1" "$(simpost faults '{"fail_rate":1}')" 200
expect_error "  signHash answers 500" 500 server_error "$(as client signatures/signHash "$W/sign.json")"
expect_eq "  credentials/info still works" "$(as client credentials/info "$W/info.json")" 200
expect_eq "  nothing counted" "$(count)" 7
simpost faults '{"fail_rate":1,"fail_status":503}' >/dev/null
expect_error "  fail_status 503" 503 server_error "$(as client signatures/signHash "$W/sign.json")"
expect_eq "fail_rate 0" "$(simpost faults '{"fail_rate":0}')" 200
expect_eq "  signHash works again" "$(as client signatures/signHash "$W/sign.json")" 200
expect_eq "  counted" "$(count)" 8
expect_error "faults: unknown member" 400 invalid_request "$(simpost faults '{"fail_rte":1}')"
expect_error "faults: fail_rate 2" 400 invalid_request "$(simpost faults '{"fail_rate":2}')"

simpost faults '{"delay_ms":2500}' >/dev/null
rc=0; as client signatures/signHash "$W/sign.json" RS256 --max-time 1 >/dev/null 2>&1 || rc=$?
expect_eq "delay: curl --max-time 1 times out" "$rc" 28
# The simulator answers after its delay and only then finds the client gone.
wait_until 30 "the abandoned request recorded" eval '[[ "$(last_verdict)" == abandoned* ]]'
expect_match "  and is recorded as abandoned" "$(last_verdict)" '^abandoned'
expect_eq "  the abandoned request was not counted" "$(count)" 8
start=$(date +%s%N)
expect_eq "  a patient client gets its answer" "$(as client signatures/signHash "$W/sign.json" RS256 --max-time 10)" 200
expect_eq "  after the delay" "$(( ($(date +%s%N) - start) / 1000000 >= 2500 ))" 1
expect_eq "  and it is counted" "$(count)" 9
simpost faults '{"delay_ms":0}' >/dev/null

expect_eq "close_after 2" "$(simpost faults '{"close_after":2}' >/dev/null; jq -c '[.close_after, .delay_ms, .fail_rate, .fail_status]' "$W/body")" \
    '[2,0,0,503]'
expect_eq "  first request answered" "$(as client signatures/signHash "$W/sign.json")" 200
rc=0; got=$(as client signatures/signHash "$W/sign.json" 2>"$W/close.err") || rc=$?
expect_eq "  second: empty reply (curl exit 52)" "$rc $got" "52 000"
expect_eq "  third answered" "$(as client signatures/signHash "$W/sign.json")" 200
expect_eq "  the dropped one was not counted" "$(count)" 11
simpost faults '{"close_after":null,"fail_status":500}' >/dev/null
expect_eq "  switched off" "$(as client signatures/signHash "$W/sign.json")$(as client signatures/signHash "$W/sign.json")" 200200
expect_eq "count 13" "$(count)" 13
expect_eq "other months are empty" "$(simget 'counts?month=2001-01' | jq -c .)" '{"month":"2001-01","counts":{"org-stamp-1":0}}'
expect_error "counts: bad month" 400 invalid_request "$(curl -sS -o "$W/body" -w '%{http_code}' "${TLS[@]}" "${SIM_URL}counts?month=2024-13")"

# --- restart -----------------------------------------------------------------------
stop_sim
[ ! -e "$W/sim-ready.json" ] && pass "ready file removed at exit" || fail "ready file removed at exit"
expect_eq "counts.json" "$(jq -c --arg m "$month" '.[$m]' "$S/counts.json")" '{"org-stamp-1":13}'
start_sim "$S"
expect_eq "counts survive a restart" "$(count)" 13
expect_eq "  and keep counting" "$(as client signatures/signHash "$W/sign.json")" 200
expect_eq "  14" "$(count)" 14
expect_eq "reset-counts" "$(simpost reset-counts '{}')" 200
expect_eq "  to 0" "$(count)" 0
stop_sim

# --- EC stamp key, request signature not required, faults from the command line --
S2=$W/sim-ec
check "init --stamp-key ec" sim init --state "$S2" --stamp-key ec
expect_match "EC stamp key" "$(openssl x509 -in "$S2/stamp.pem" -noout -text)" 'NIST CURVE: P-256|prime256v1'
check "issue-client for the EC simulator" sim issue-client --state "$S2" --csr "$W/client.csr" \
    --out "$W/client2.pem" --allow org-stamp-1
TLS=(--cacert "$S2/server-ca.pem")
start_sim "$S2" --no-request-signature --fail-rate 1
sign_req org-stamp-1 $ECDSA256 $SHA256 "$d32" > "$W/sign-ec.json"
expect_error "--fail-rate 1 from the command line" 500 server_error \
    "$(post signatures/signHash "$W/sign-ec.json" "${JSON[@]}" --cert "$W/client2.pem" --key "$W/client.key")"
simpost faults '{"fail_rate":0}' >/dev/null
expect_eq "--no-request-signature: signHash without a JWS" \
    "$(post signatures/signHash "$W/sign-ec.json" "${JSON[@]}" --cert "$W/client2.pem" --key "$W/client.key")" 200
jq -r '.signatures[0]' "$W/body" | base64 -d > "$W/sig-ec"
check "  ECDSA signature verifies with openssl" openssl pkeyutl -verify -certin -inkey "$S2/stamp.pem" \
    -pkeyopt digest:sha256 -in "$W/doc1.sha256" -sigfile "$W/sig-ec"
expect_error "  a JWS that is sent is still checked" 401 invalid_request \
    "$(post signatures/signHash "$W/sign-ec.json" "${JSON[@]}" --cert "$W/client2.pem" --key "$W/client.key" \
        -H "X-Request-Signature: $(jws "$W/client.key" "$W/client2.pem" "$W/sign.json")")"
expect_error "  RSA signAlgo for the EC key" 400 invalid_request \
    "$(sign_req org-stamp-1 $RSA256 $SHA256 "$d32" > "$W/bad.json"
       post signatures/signHash "$W/bad.json" "${JSON[@]}" --cert "$W/client2.pem" --key "$W/client.key")"
printf '{"credentialID":"org-stamp-1","certificates":"chain","certInfo":true,"authInfo":true}' > "$W/info.json"
post credentials/info "$W/info.json" "${JSON[@]}" --cert "$W/client2.pem" --key "$W/client.key" >/dev/null
expect_eq "  credentials/info for the EC key" "$(jq -c '[.key.algo[0], .key.len, .key.curve]' "$W/body")" \
    "[\"$ECDSA256\",256,\"1.2.840.10045.3.1.7\"]"
rc=0; got=$(post credentials/info "$W/info.json" "${JSON[@]}" --cert "$W/client.pem" --key "$W/client.key" 2>/dev/null) || rc=$?
expect_match "  the first simulator's client certificate is refused in the handshake here" "$rc $got" '^[1-9][0-9]* 000$'
stop_sim
finish
