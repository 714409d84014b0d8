# SPDX-License-Identifier: Apache-2.0
# POST /v1/timestamp end to end against the strict RFC 3161 simulator
# (tests/sim/tsa_sim.py, tokens made by openssl ts -reply): a token from
# the gateway verifies with openssl ts -verify over the digest against the
# TSA CA (and not over another digest, nor against another CA), with the
# serial and time openssl reads from it; a configured policy is the
# token's; each simulator fault is a 502 or 504 with no token and an
# audit entry of outcome error; bad bodies, unknown authorities and
# clients without the stamp role are refused; the monthly counts move by
# the number of good time-stamps; --check-config names a TSA CA file that
# holds no certificate by its JSON path.
. "$SG_SRCDIR/tests/integration/lib.sh"
W=$SG_WORK
S=$W/tsa
SIM=$SG_SRCDIR/tests/sim/tsa_sim.py
PY=${SG_PYTHON:-python3}
need_python "$PY" cryptography python3-cryptography
need_tools openssl curl jq
gateway_fixture
"$PY" "$SIM" init --state "$S" >/dev/null || { echo "Bail out! tsa_sim init failed"; exit 1; }
start_sim_serve tsa_sim "$W/tsa.json" "$PY" "$SIM" "$S"
TSA_URL=$(jq -r .url "$W/tsa.json")
SIM_URL=$(jq -r .sim_url "$W/tsa.json")
fault() { curl -sS -o /dev/null -w '%{http_code}' --cacert "$S/server-ca.pem" \
    -H 'Content-Type: application/json' --data-binary "$1" "${SIM_URL}fault"; }

jq --arg url "$TSA_URL" --arg ca "$S/server-ca.pem" --arg tsaca "$S/tsa-ca.pem" '
    .authorities.tsa = {type: "rfc3161", url: $url, ca_file: $ca, tsa_ca_file: $tsaca, timeout_ms: 1500} |
    .authorities["tsa-policy"] = {type: "rfc3161", url: $url, ca_file: $ca, tsa_ca_file: $tsaca,
        policy: "1.2.3.4.5.6"} |
    .authorities["dvv-stamp"] = {type: "csc-v2", url: "https://127.0.0.1:1/csc/v2/", ca_file: $ca,
        credential_id: "org-stamp-1"}' "$W/sealgate.json" > "$W/c.json" && mv "$W/c.json" "$W/sealgate.json"

# --check-config: the TSA authorities are listed; a TSA CA file without a
# certificate is named by its path in the configuration.
check "--check-config accepts rfc3161 authorities" sealgated --check-config --config "$W/sealgate.json"
expect_match "  and lists them" "$(cat "$W/last.out")" "time-stamp authority tsa: $TSA_URL"
echo "not a certificate" > "$W/empty-ca.pem"
jq --arg f "$W/empty-ca.pem" '.authorities.tsa.tsa_ca_file = $f' "$W/sealgate.json" > "$W/bad.json"
check_exit 1 "--check-config: a tsa_ca_file without a certificate" sealgated --check-config --config "$W/bad.json"
expect_match "  names the authority's JSON path" "$(cat "$W/last.err")" "\\\$\\.authorities\\['tsa'\\]: tsa_ca_file .*empty-ca\\.pem"

start_gateway
month=$(date -u +%Y-%m)
counted() { sealgate-audit counts --month "$month" --json "$W/audit" | jq '[.counts[].timestamps] | add // 0'; }
before=$(counted)
good=0

head -c 5000 /dev/urandom > "$W/data"
HEX=$(openssl dgst -sha256 -r "$W/data" | cut -c1-64)
B64=$(openssl dgst -sha256 -binary "$W/data" | base64 -w0)
body() { printf '{"authority":"%s","digest":{"alg":"%s","value":"%s"}}' "$1" "$2" "$3"; }
ts() { api "${2:-billing}" POST /v1/timestamp -H 'Content-Type: application/json' --data "$1"; }

expect_eq "a time-stamp" "$(ts "$(body tsa sha256 "$B64")")" 200
good=$((good + 1))
jq -r .token "$W/body" | base64 -d > "$W/token.der"
check "  openssl ts -verify accepts the token over the digest" openssl ts -verify -token_in \
    -in "$W/token.der" -digest "$HEX" -CAfile "$S/tsa-ca.pem"
check "  and over the data" openssl ts -verify -token_in -in "$W/token.der" -data "$W/data" \
    -CAfile "$S/tsa-ca.pem"
check_exit 1 "  not over another digest" openssl ts -verify -token_in -in "$W/token.der" \
    -digest "$(printf '%064d' 0)" -CAfile "$S/tsa-ca.pem"
check_exit 1 "  not against another CA" openssl ts -verify -token_in -in "$W/token.der" \
    -digest "$HEX" -CAfile "$S/rogue-ca.pem"
expect_eq "  answer names the authority and the request" \
    "$(jq -r '.authority + " " + (.request_id | length > 0 | tostring)' "$W/body")" "tsa true"
text=$(openssl ts -reply -token_in -in "$W/token.der" -text 2>/dev/null)
oserial=$(printf '%s\n' "$text" | sed -n 's/^Serial number: 0x//p' | tr 'A-F' 'a-f' | sed 's/^0*//')
serial=$(jq -r .serial "$W/body")
expect_eq "  serial as openssl reads it" "$(printf '%s' "$serial" | sed 's/^0*//')" "$oserial"
otime=$(date -u -d "$(printf '%s\n' "$text" | sed -n 's/^Time stamp: //p')" +%Y-%m-%dT%H:%M:%SZ)
expect_eq "  gen_time as openssl reads it" "$(jq -r .gen_time "$W/body")" "$otime"
expect_eq "  audited: type timestamp, outcome ok" \
    "$(audit_last timestamp outcome) $(audit_last timestamp authority) $(audit_last timestamp client)" "ok tsa billing"
expect_eq "  with the token's serial and time" \
    "$(audit_last timestamp tst_serial) $(audit_last timestamp gen_time)" "$serial $otime"
expect_eq "  and the digest" "$(audit_last timestamp digest)" "sha256:$HEX"

B512=$(openssl dgst -sha512 -binary "$W/data" | base64 -w0)
expect_eq "a sha512 digest with a policy" "$(ts "$(body tsa-policy sha512 "$B512")")" 200
good=$((good + 1))
jq -r .token "$W/body" | base64 -d > "$W/token512.der"
check "  verifies over the data" openssl ts -verify -token_in -in "$W/token512.der" -data "$W/data" \
    -CAfile "$S/tsa-ca.pem"
expect_match "  the token carries the configured policy" \
    "$(openssl ts -reply -token_in -in "$W/token512.der" -text 2>/dev/null)" 'Policy OID: (1\.2\.3\.4\.5\.6|tsa_policy2)'

# Bad bodies, names and clients.
expect_error "bad base64" 400 invalid_request "$(ts "$(body tsa sha256 'not*base64')")"
expect_error "wrong digest length" 400 invalid_request "$(ts "$(body tsa sha384 "$B64")")"
expect_error "unknown alg" 400 invalid_request "$(ts "$(body tsa md5 "$B64")")"
expect_error "missing authority" 400 invalid_request \
    "$(ts '{"digest":{"alg":"sha256","value":"'"$B64"'"}}')"
expect_error "an identity instead of an authority" 400 invalid_request \
    "$(ts '{"identity":"local-seal","authority":"tsa","digest":{"alg":"sha256","value":"'"$B64"'"}}')"
expect_error "not JSON" 400 invalid_request "$(ts 'authority=tsa')"
expect_error "unknown authority" 404 not_found "$(ts "$(body nosuch sha256 "$B64")")"
expect_error "a csc-v2 authority is no time-stamp authority" 404 not_found \
    "$(ts "$(body dvv-stamp sha256 "$B64")")"
expect_error "a client without the stamp role" 403 forbidden "$(ts "$(body tsa sha256 "$B64")" auditor)"
expect_error "no client at all" 401 unauthorized "$(ts "$(body tsa sha256 "$B64")" -)"
expect_eq "  refusals audited as timestamp errors" \
    "$(cat "$W"/audit/audit-*.jsonl | jq -s '[.[] | select(.type == "timestamp" and .outcome == "error")] | length >= 8')" true

# Each fault of the TSA: no token, the right status, an audit entry.
# fault_case FAULT STATUS CODE DETAIL_REGEX
fault_case() {
    local n
    n=$(audit_entries timestamp)
    expect_eq "fault $1: set" "$(fault "{\"fault\":\"$1\",\"delay_ms\":4000}")" 200
    expect_error "fault $1" "$2" "$3" "$(ts "$(body tsa sha256 "$B64")")"
    expect_eq "  no token in the answer" "$(jq -r '.token // "none"' "$W/body")" none
    expect_eq "  one audit entry of outcome error" \
        "$(audit_entries timestamp) $(audit_last timestamp outcome) $(audit_last timestamp error)" \
        "$((n + 1)) error $3"
    expect_match "  whose detail says why" "$(audit_last timestamp detail)" "$4"
}
fault_case reject 502 authority_error 'rejection'
fault_case wrong-imprint 502 authority_error 'imprint'
fault_case wrong-nonce 502 authority_error 'nonce'
fault_case untrusted 502 authority_error 'certificate verify error'
t0=$(now_ms)
fault_case slow 504 authority_timeout 'did not answer within 1500 ms'
elapsed=$(( $(now_ms) - t0 ))
expect_eq "  the timeout is the authority's ($elapsed ms < 4000)" "$([ "$elapsed" -lt 4000 ] && echo yes)" yes
expect_eq "fault none again" "$(fault '{"fault":"none"}')" 200
expect_eq "a time-stamp after the faults" "$(ts "$(body tsa sha256 "$B64")")" 200
good=$((good + 1))
jq -r .token "$W/body" | base64 -d > "$W/token3.der"
check "  verifies" openssl ts -verify -token_in -in "$W/token3.der" -digest "$HEX" -CAfile "$S/tsa-ca.pem"

# The monthly counts: good time-stamps only, in the CLI and the API.
expect_eq "counts: timestamps moved by $good" "$(( $(counted) - before ))" "$good"
expect_eq "GET /v1/audit/counts agrees" \
    "$(api auditor GET "/v1/audit/counts?month=$month&by=client" >/dev/null; jq -c '[.counts[] | select(.client == "billing") | .timestamps]' "$W/body")" \
    "[$good]"
expect_match "counts table has the TIMESTAMPS column" \
    "$(sealgate-audit counts --month "$month" "$W/audit")" "TIMESTAMPS"
check "the audit chain holds" audit_verify "$W/audit"

stop_gateway
end_sim
finish
