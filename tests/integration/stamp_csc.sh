# SPDX-License-Identifier: Apache-2.0
# The seal service as CSC API v2 describes it (docs/authorities.md §1),
# through tests/sim/csc_sim.py: info at load, credentials/info facts
# (key/status, cert/status, auth/mode, SCAL) in /readyz and as 503s,
# signAlgo from key/algo (rsaEncryption with hashAlgorithmOID; RSASSA-PSS
# alone refused), credentials/authorize with a SAD from an owner-only
# authorisation file (never logged), EC answers in DER and r||s, the
# request id in clientData and X-Request-ID only when configured, and bad
# answers (no signatures, too many, one that does not verify) as 502s,
# never a stamp. Every stamp that passes verifies with openssl cms; the
# simulator's counts equal the audit log's.
. "$SG_SRCDIR/tests/integration/lib.sh"
W=$SG_WORK
SIMPY="$SG_SRCDIR/tests/sim/csc_sim.py"
gateway_fixture
SIM=$W/sim
python3 "$SIMPY" init --state "$SIM" >/dev/null || { echo "Bail out! simulator init"; exit 1; }
csc_interface dvv-interface
SIM=$W/sim-ec
python3 "$SIMPY" init --state "$SIM" --stamp-key ec >/dev/null || { echo "Bail out! EC simulator init"; exit 1; }
csc_interface dvv-ec
# A real CSC service knows nothing of X-Request-Signature: neither
# simulator asks for it.
start_sim_serve "EC simulator" "$W/sim-ec.json" python3 "$SIMPY" "$W/sim-ec" --no-request-signature
EC_PID=$SIM_PID
start_sim_serve simulator "$W/sim.json" python3 "$SIMPY" "$W/sim" --no-request-signature
SIM=$W/sim
SIM_URL=$(jq -r .url "$W/sim.json")
SIM_ROOT=${SIM_URL%/csc/v2/}
EC_URL=$(jq -r .url "$W/sim-ec.json")
simcurl() { curl -sS --cacert "$SIM/server-ca.pem" "$@"; }
faults() { simcurl -o /dev/null -H 'Content-Type: application/json' --data "$1" "$SIM_ROOT/sim/faults"; }
requests() { simcurl "$SIM_ROOT/sim/requests"; }
count() { simcurl "$SIM_ROOT/sim/counts" | jq '.counts["org-stamp-1"] // 0'; }
# credential FILTER: change the simulator's credential (re-read on change).
credential() {
    jq ".[\"org-stamp-1\"] |= ($1)" "$SIM/credentials.json" > "$W/cred.json" && mv "$W/cred.json" "$SIM/credentials.json"
}
# settings FILTER: change the dvv-stamp authority and reload.
settings() {
    jq ".authorities[\"dvv-stamp\"] |= ($1)" "$W/sealgate.json" > "$W/c.json" && mv "$W/c.json" "$W/sealgate.json"
    reload_gateway ok
}
jq --arg url "$SIM_URL" --arg ca "$SIM/server-ca.pem" --arg ecurl "$EC_URL" --arg ecca "$W/sim-ec/server-ca.pem" '
    .limits.max_json_bytes = 65536 |
    .authorities["dvv-stamp"] = {type: "csc-v2", url: $url, ca_file: $ca, credential_id: "org-stamp-1",
        timeout_ms: 3000, retries: 1} |
    .authorities["ec-stamp"] = {type: "csc-v2", url: $ecurl, ca_file: $ecca, credential_id: "org-stamp-1",
        timeout_ms: 3000, retries: 1} |
    .identities += [{name: "dvv-interface", key_label: "dvv-interface", authority: "dvv-stamp", uses: ["stamp"]},
        {name: "dvv-ec", key_label: "dvv-ec", authority: "ec-stamp", uses: ["stamp"]}] |
    (.clients[] | select(.name == "billing") | .identities) += ["dvv-interface", "dvv-ec"]' \
    "$W/sealgate.json" > "$W/c.json" && mv "$W/c.json" "$W/sealgate.json"
start_gateway
head -c 50000 /dev/urandom > "$W/doc.pdf"

# stamp [IDENTITY [CA]]: a document stamp; status, body in $W/body. A 200
# must verify with openssl cms against CA (one check).
stamp() {
    local id=${1:-dvv-interface} ca=${2:-$SIM/stamp-ca.pem} st
    st=$(api billing POST "/v1/stamp?identity=$id" -H 'Content-Type: application/pdf' --data-binary @"$W/doc.pdf")
    if [ "$st" = 200 ]; then
        jq -r .cms "$W/body" | base64 -d > "$W/stamp.p7s"
        check "  the stamp verifies with openssl cms" openssl cms -verify -binary -inform DER -in "$W/stamp.p7s" \
            -content "$W/doc.pdf" -CAfile "$ca" -out /dev/null
    fi
    echo "$st" > "$W/st"
    return 0
}
st() { cat "$W/st"; }
readyz() { api monitor GET /readyz >/dev/null; jq -r '.checks["identity:dvv-interface"]' "$W/body"; }
last_req() {  # PATH: the body of the last captured request to PATH
    requests | jq -r --arg p "/csc/v2/$1" '[.requests[] | select(.path == $p)] | last | .body'
}
last_headers() { requests | jq -c --arg p "/csc/v2/$1" '[.requests[] | select(.path == $p)] | last | .headers'; }

# --- discovery and the basics ------------------------------------------------
expect_match "info was asked when the authority was loaded" "$(requests | jq -r '[.requests[].path] | join(" ")')" '/csc/v2/info'
stamp; expect_eq "a stamp with the v2 defaults" "$(st)" 200
rid=$(jq -r .request_id "$W/body")
req=$(last_req signatures/signHash)
expect_eq "signAlgo sha256WithRSAEncryption from key/algo, with hashAlgorithmOID" \
    "$(jq -c '[.signAlgo, .hashAlgorithmOID, (.hashes | length)]' <<<"$req")" '["1.2.840.113549.1.1.11","2.16.840.1.101.3.4.2.1",1]'
expect_eq "the request id in clientData" "$(jq -r .clientData <<<"$req")" "$rid"
expect_eq "authority_reference is that request id" "$(jq -r .authority_reference "$W/body")" "$rid"
expect_eq "no X-Request-ID or X-Request-Signature unless configured" \
    "$(last_headers signatures/signHash | jq -c '[has("x-request-id"), has("x-request-signature")]')" '[false,false]'
expect_eq "credentials/info asked with certInfo and authInfo" \
    "$(last_req credentials/info | jq -c '[.certInfo, .authInfo, .certificates]')" '[true,true,"chain"]'
expect_eq "/readyz: ready" "$(api monitor GET /readyz)" 200
settings '.sign_request_body = true | .request_id_header = true'
stamp; expect_eq "with our own headers configured" "$(st)" 200
expect_eq "  X-Request-ID is the request id" "$(last_headers signatures/signHash | jq -r '.["x-request-id"]')" \
    "$(jq -r .request_id "$W/body")"
expect_match "  X-Request-Signature is a detached JWS (the simulator checked it)" \
    "$(last_headers signatures/signHash | jq -r '.["x-request-signature"]')" '^[A-Za-z0-9_-]+\.\.[A-Za-z0-9_-]+$'
settings 'del(.sign_request_body, .request_id_header)'

# --- signAlgo ----------------------------------------------------------------
credential '.algos = ["1.2.840.113549.1.1.1"]'
reload_gateway ok
stamp; expect_eq "a key listing rsaEncryption alone (the spec's samples)" "$(st)" 200
expect_eq "  signAlgo rsaEncryption with hashAlgorithmOID" \
    "$(last_req signatures/signHash | jq -c '[.signAlgo, .hashAlgorithmOID]')" '["1.2.840.113549.1.1.1","2.16.840.1.101.3.4.2.1"]'
before=$(count)
credential '.algos = ["1.2.840.113549.1.1.10"]'
reload_gateway ok
stamp; expect_error "a key offering RSASSA-PSS alone" 503 authority_unavailable "$(st)"
expect_match "  says why" "$(jq -r .error_description "$W/body")" 'RSASSA-PSS alone'
expect_match "/readyz says so too" "$(readyz)" 'RSASSA-PSS'
expect_eq "  /readyz is 503" "$(api monitor GET /readyz)" 503
credential 'del(.algos)'

# --- credential facts ----------------------------------------------------------
credential '.key_status = "disabled"'
reload_gateway ok
expect_match "/readyz: the key is disabled" "$(readyz)" 'key is disabled'
stamp; expect_error "a stamp with the key disabled" 503 authority_unavailable "$(st)"
credential 'del(.key_status) | .cert_status = "revoked"'
reload_gateway ok
expect_match "/readyz: the certificate is revoked" "$(readyz)" 'revoked'
stamp; expect_error "a stamp with the certificate revoked" 503 authority_unavailable "$(st)"
expect_eq "  nothing reached signHash meanwhile" "$(count)" "$before"
credential 'del(.cert_status)'
faults '{"info_methods":["info","credentials/info"]}'
reload_gateway ok
log_names() { grep -q "identity dvv-interface: authority dvv-stamp cannot stamp yet: .*$1" "$W/sealgated.log"; }
wait_until 30 "the reload's discovery names the missing method in the log" log_names 'methods lack'
stamp; expect_error "a service whose info lacks signatures/signHash" 503 authority_unavailable "$(st)"
expect_match "  says why" "$(jq -r .error_description "$W/body")" 'methods lack'
faults '{"info_methods":null,"info_auth_type":["oauth2client"]}'
reload_gateway ok
stamp; expect_error "a service whose authType lacks TLS" 503 authority_unavailable "$(st)"
faults '{"info_auth_type":null}'
# A facts change at the service after the gateway cached good ones: the
# service refuses (502), and the next stamp sees the facts anew (503).
reload_gateway ok
expect_eq "/readyz: ready again" "$(api monitor GET /readyz)" 200
credential '.key_status = "disabled"'
stamp; expect_error "the service refuses the disabled key" 502 authority_error "$(st)"
stamp; expect_error "  then the facts are read again" 503 authority_unavailable "$(st)"
credential 'del(.key_status)'
wait_until 20 "the key is usable again" sh -c 'curl -sS -o /dev/null -w "%{http_code}" -H "Authorization: Bearer $(cat '"$W"'/billing.token)" \
    -H "Content-Type: application/pdf" --data-binary @'"$W"'/doc.pdf "'"$GW_URL"'/v1/stamp?identity=dvv-interface" | grep -qx 200'

# --- credentials/authorize -------------------------------------------------------
credential '.auth_mode = "explicit" | .pin = "482915" | .scal = "2"'
reload_gateway ok
stamp; expect_error "an explicit credential without authorization_file" 503 authority_unavailable "$(st)"
expect_match "  says what to set" "$(jq -r .error_description "$W/body")" 'authorization_file'
printf '482915\n' > "$W/auth-pin"; chmod 600 "$W/auth-pin"
settings '.authorization_file = "'"$W/auth-pin"'"'
stamp; expect_eq "with the PIN from authorization_file" "$(st)" 200
auth=$(last_req credentials/authorize)
expect_eq "  authorize: numSignatures 1 and, for SCAL 2, the hash signHash carries" \
    "$(jq -c '[.numSignatures, .hashes, .hashAlgorithmOID]' <<<"$auth")" \
    "$(last_req signatures/signHash | jq -c '[1, .hashes, .hashAlgorithmOID]')"
expect_match "  signHash carries the SAD" "$(last_req signatures/signHash | jq -r .SAD)" '^[A-Za-z0-9_-]{20,}$'
for i in 1 2 3; do printf 'batch document %s' "$i" > "$W/b$i"; done
batch_body() {  # FILE...: the /v1/stamp/batch body for their SHA-256 digests
    local f sep=""
    printf '{"identity":"dvv-interface","digests":['
    for f in "$@"; do
        printf '%s{"alg":"sha256","value":"%s"}' "$sep" "$(openssl dgst -sha256 -binary "$f" | base64 -w0)"; sep=,
    done
    printf ']}'
}
authorizes=$(requests | jq '[.requests[] | select(.path == "/csc/v2/credentials/authorize")] | length')
expect_eq "a batch of three with the explicit credential" \
    "$(api billing POST /v1/stamp/batch -H 'Content-Type: application/json' --data "$(batch_body "$W/b1" "$W/b2" "$W/b3")")" 200
expect_eq "  one credentials/authorize for all three" \
    "$(( $(requests | jq '[.requests[] | select(.path == "/csc/v2/credentials/authorize")] | length') - authorizes ))" 1
expect_eq "  its numSignatures is 3 and its hashes those signHash carries" \
    "$(last_req credentials/authorize | jq -c '[.numSignatures, .hashes]')" "$(last_req signatures/signHash | jq -c '[3, .hashes]')"
printf '000000\n' > "$W/auth-pin"
stamp; expect_error "a wrong PIN" 502 authority_error "$(st)"
expect_match "  the service's error in the description" "$(jq -r .error_description "$W/body")" 'invalid_pin'
printf '482915\n' > "$W/auth-pin"; chmod 644 "$W/auth-pin"
stamp; expect_error "an authorisation file others may read" 503 authority_unavailable "$(st)"
chmod 600 "$W/auth-pin"
stamp; expect_eq "  fine again at mode 600" "$(st)" 200
expect_no_match "the PIN is in no log or audit file" \
    "$(grep -rl -- 482915 "$W/audit" "$W/sealgated.log" 2>/dev/null)" .
credential 'del(.auth_mode, .pin, .scal)'
settings 'del(.authorization_file)'

# --- bad answers -------------------------------------------------------------
before=$(count)
faults '{"bad_answer":"missing"}'
stamp; expect_error "signHash without signatures" 502 authority_error "$(st)"
expect_match "  says so" "$(jq -r .error_description "$W/body")" 'without signatures'
faults '{"bad_answer":"count"}'
stamp; expect_error "signHash with one signature too many" 502 authority_error "$(st)"
expect_match "  says so" "$(jq -r .error_description "$W/body")" '2 signatures for 1 hashes'
faults '{"bad_answer":"wrong"}'
stamp; expect_error "a signature that does not verify" 502 authority_error "$(st)"
expect_match "  says so" "$(jq -r .error_description "$W/body")" 'does not verify'
faults '{"bad_answer":null}'
expect_eq "  none was counted by the service" "$(count)" "$before"
stamp; expect_eq "good answers again" "$(st)" 200

# --- batches -------------------------------------------------------------------
before=$(count); signhashes=$(requests | jq '[.requests[] | select(.path == "/csc/v2/signatures/signHash")] | length')
expect_eq "a batch of three digests" \
    "$(api billing POST /v1/stamp/batch -H 'Content-Type: application/json' --data "$(batch_body "$W/b1" "$W/b2" "$W/b3")")" 200
cp "$W/body" "$W/batch.json"
for i in 1 2 3; do
    jq -r ".stamps[$((i - 1))].cms" "$W/batch.json" | base64 -d > "$W/b$i.p7s"
    check "  stamp $i verifies with openssl cms over its own document" openssl cms -verify -binary -inform DER \
        -in "$W/b$i.p7s" -content "$W/b$i" -CAfile "$SIM/stamp-ca.pem" -out /dev/null
done
check_exit 4 "  and not over another's" openssl cms -verify -binary -inform DER -in "$W/b1.p7s" -content "$W/b2" \
    -CAfile "$SIM/stamp-ca.pem" -out /dev/null
expect_eq "  in one signHash of three hashes" "$(( $(requests | jq '[.requests[] | select(.path == "/csc/v2/signatures/signHash")] | length') - signhashes )) $(last_req signatures/signHash | jq '.hashes | length')" "1 3"
expect_eq "  counted as three by the service" "$(( $(count) - before ))" 3
rid=$(jq -r .request_id "$W/batch.json")
expect_eq "  audited as three stamps, 1/3 to 3/3" \
    "$(jq -s -c --arg r "$rid" '[.[] | select(.type=="stamp" and .request_id==$r and .outcome=="ok") | .batch]' "$W"/audit/audit-*.jsonl)" '["1/3","2/3","3/3"]'
hundred=$(for i in $(seq 100); do printf 'doc %s' "$i" > "$W/h$i"; echo "$W/h$i"; done)
expect_eq "a batch of 100 (the simulator's multisign)" \
    "$(api billing POST /v1/stamp/batch -H 'Content-Type: application/json' --data "$(batch_body $hundred)")" 200
jq -r '.stamps[99].cms' "$W/body" | base64 -d > "$W/h100.p7s"
check "  the 100th verifies over its document" openssl cms -verify -binary -inform DER -in "$W/h100.p7s" \
    -content "$W/h100" -CAfile "$SIM/stamp-ca.pem" -out /dev/null
expect_error "a batch of 101" 400 invalid_request \
    "$(api billing POST /v1/stamp/batch -H 'Content-Type: application/json' --data "$(batch_body $hundred "$W/b1")")"
expect_error "an empty batch" 400 invalid_request \
    "$(api billing POST /v1/stamp/batch -H 'Content-Type: application/json' --data '{"identity":"dvv-interface","digests":[]}')"
expect_error "a batch mixing hash algorithms" 400 invalid_request \
    "$(api billing POST /v1/stamp/batch -H 'Content-Type: application/json' --data '{"identity":"dvv-interface","digests":[{"alg":"sha256","value":"'"$(openssl dgst -sha256 -binary "$W/b1" | base64 -w0)"'"},{"alg":"sha384","value":"'"$(openssl dgst -sha384 -binary "$W/b1" | base64 -w0)"'"}]}')"
expect_error "a batch with an unknown member" 400 invalid_request \
    "$(api billing POST /v1/stamp/batch -H 'Content-Type: application/json' --data '{"identity":"dvv-interface","digests":[],"x":1}')"
expect_error "a batch with an Idempotency-Key" 400 invalid_request \
    "$(api billing POST /v1/stamp/batch -H 'Content-Type: application/json' -H 'Idempotency-Key: k1' --data "$(batch_body "$W/b1")")"
expect_error "a batch by a client not granted" 403 forbidden \
    "$(api other POST /v1/stamp/batch -H 'Content-Type: application/json' --data "$(batch_body "$W/b1")")"
faults '{"bad_answer":"count"}'
expect_error "a batch answered with one signature too many" 502 authority_error \
    "$(api billing POST /v1/stamp/batch -H 'Content-Type: application/json' --data "$(batch_body "$W/b1" "$W/b2")")"
expect_match "  says so" "$(jq -r .error_description "$W/body")" '3 signatures for 2 hashes'
faults '{"bad_answer":null}'
expect_eq "  both audited as errors" \
    "$(jq -s '[.[] | select(.type=="stamp" and .outcome=="error" and .batch != null and .error=="authority_error")] | length' "$W"/audit/audit-*.jsonl)" 2

# --- ECDSA: DER or r||s ----------------------------------------------------------
ecfaults() { curl -sS -o /dev/null --cacert "$W/sim-ec/server-ca.pem" -H 'Content-Type: application/json' \
    --data "$1" "${EC_URL%/csc/v2/}/sim/faults"; }
stamp dvv-ec "$W/sim-ec/stamp-ca.pem"; expect_eq "an EC stamp answered in DER" "$(st)" 200
expect_eq "  signAlgo ecdsa-with-SHA256" "$(curl -sS --cacert "$W/sim-ec/server-ca.pem" "${EC_URL%/csc/v2/}/sim/requests" |
    jq -r '[.requests[] | select(.path == "/csc/v2/signatures/signHash")] | last | .body | fromjson | .signAlgo')" 1.2.840.10045.4.3.2
ecfaults '{"ec_encoding":"raw"}'
stamp dvv-ec "$W/sim-ec/stamp-ca.pem"; expect_eq "an EC stamp answered as r||s" "$(st)" 200

# --- OAuth 2.0 client credentials with a JWT assertion (RFC 7523) ----------------
port=$(jq -r .port "$W/sim.json")
end_sim
start_sim_serve "simulator wanting tokens" "$W/sim.json" python3 "$SIMPY" "$SIM" --no-request-signature \
    --require-token --port "$port"
reload_gateway ok
stamp; expect_error "mutual TLS alone where the service wants a bearer token" 502 authority_error "$(st)"
expect_match "  the service's refusal named" "$(jq -r .error_description "$W/body")" 'invalid_token'
tokens() { requests | jq '[.requests[] | select(.path == "/oauth2/token" and .status == 200)] | length'; }
t0=$(tokens)
settings '.oauth2_token_url = "'"$(jq -r .token_url "$W/sim.json")"'" | .oauth2_client_id = "sealgate-test"'
stamp; expect_eq "a stamp with a token from the client-credentials grant" "$(st)" 200
expect_eq "  the token request was a jwt-bearer client assertion" \
    "$(requests | jq -r '[.requests[] | select(.path == "/oauth2/token")] | last | .body' | tr '&' '\n' | sed -n 's/^client_assertion_type=//p')" \
    'urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer'
stamp; expect_eq "a second stamp" "$(st)" 200
expect_eq "  one token for the load's discovery and both stamps (cached until it expires)" "$(( $(tokens) - t0 ))" 1
expect_eq "the simulator expires its tokens" "$(simcurl -o /dev/null -w '%{http_code}' --data '' "$SIM_ROOT/sim/expire-tokens")" 200
stamp; expect_error "the service calls the token expired" 502 authority_error "$(st)"
expect_match "  says so" "$(jq -r .error_description "$W/body")" 'invalid_token'
stamp; expect_eq "  the next stamp fetches a new token" "$(st)" 200
expect_eq "  a second token was issued" "$(( $(tokens) - t0 ))" 2
expect_no_match "no bearer token in the daemon's log or the audit log" \
    "$(grep -rhoE 'Bearer [A-Za-z0-9_-]{20,}' "$W/sealgated.log" "$W/audit" 2>/dev/null)" .
expect_eq "/readyz: ready with the token" "$(api monitor GET /readyz)" 200

stop_gateway
# The auditor's count equals the simulators'.
month=$(date -u +%Y-%m)
sim_count=$(( $(count) + $(curl -sS --cacert "$W/sim-ec/server-ca.pem" "${EC_URL%/csc/v2/}/sim/counts" | jq '.counts["org-stamp-1"] // 0') ))
audit_count=$(sealgate-audit counts --month "$month" --json "$W/audit" | jq '[.counts[] | select(.identity | startswith("dvv-")) | .stamps] | add // 0')
expect_eq "audit log's stamps equal the simulators' count ($sim_count)" "$audit_count" "$sim_count"
n503=$(jq -s '[.[] | select(.type=="stamp" and .error=="authority_unavailable")] | length' "$W"/audit/audit-*.jsonl)
if [ "$n503" -ge 8 ]; then pass "the 503s audited as authority_unavailable ($n503)"; else
    fail "the 503s audited as authority_unavailable: $n503, wanted 8 or more"; fi
check "chain verifies" audit_verify "$W/audit"
end_sim
SIM_PID=$EC_PID
end_sim
finish
