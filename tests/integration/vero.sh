# SPDX-License-Identifier: Apache-2.0
# Certificate enrolment and renewal with the Vero certificate service,
# end to end against the strict simulator (tests/sim/vero_sim.py): an
# officer enrols an identity with a transfer id and password (RSA-2048 key
# made on the token, SignNewCertificate once, GetCertificate polled until
# the simulator has the certificate, stored next to the key) and renews it
# inside the window (new key under a staged label, RenewCertificate signed
# with the current key, keys switched, the old one kept retired). Every
# request the gateway sent validates against the published XSD and the
# renewal signature verifies with xmlsec1; used or wrong transfer
# credentials fail without a second SignNew; renewal outside the window is
# refused; a response from an untrusted signer or changed after signing
# fails the job; a restart between SignNew and GetCertificate resumes
# polling; auto_renew renews inside the window by itself; a failed
# renewal shows in /readyz and /metrics.
. "$SG_SRCDIR/tests/integration/lib.sh"
W=$SG_WORK
PY=${SG_PYTHON:-/usr/bin/python3}
need_python "$PY" "lxml, xmlsec, cryptography" "python3-lxml python3-xmlsec python3-cryptography"
SIMPY=$SG_SRCDIR/tests/sim/vero_sim.py
XSD=$SG_SRCDIR/tests/sim/vero-certservice/CertificateServices.xsd
SIM=$W/vero
CUSTOMER=0123456-7
gateway_fixture
"$PY" "$SIMPY" init --state "$SIM" >/dev/null || { echo "Bail out! simulator init"; exit 1; }
officer=$(client_token officer)

start_sim() {
    start_sim_serve simulator "$W/sim.json" "$PY" "$SIMPY" "$SIM" --port "${1:-0}" --not-ready-polls 2 \
        --cert-lifetime-s $((30 * 86400))
    SIM_URL=$(jq -r .url "$W/sim.json")
    SIM_ROOT=${SIM_URL%/2017/10/CertificateServices}
}
simcurl() { curl -sS --cacert "$SIM/server-ca.pem" "$@"; }
sim_reset() { simcurl -X POST -H 'Content-Type: application/json' -d '{}' "$SIM_ROOT/sim/reset-requests" >/dev/null; }
sim_config() { simcurl -X POST -H 'Content-Type: application/json' -d "$1" "$SIM_ROOT/sim/config" >/dev/null; }
transfer() {  # → "ID PASSWORD" of a new transfer credential
    simcurl -X POST -H 'Content-Type: application/json' -d "{\"customer_id\":\"$CUSTOMER\"}" \
        "$SIM_ROOT/sim/transfers" | jq -r '"\(.transfer_id) \(.password)"'
}
start_sim
# The token through tests/fixtures/p11fault.so, which passes everything on
# until a test breaks the token.
export P11FAULT_MODULE=$MODULE P11FAULT_CONTROL=$W/fault
jq --arg url "$SIM_URL" --arg ca "$SIM/server-ca.pem" --arg sca "$SIM/service-ca.pem" \
    --arg officer "$officer" --arg cust "$CUSTOMER" --arg fault "$SG_BUILDDIR/tests/fixtures/p11fault.so" '
    .authorities.vero = {type: "vero-certservice", url: $url, ca_file: $ca, response_signer_ca_file: $sca,
        environment: "TEST", poll_interval_s: 1, poll_max: 10} |
    .identities += [
        {name: "vero-ws", key_label: "vero-ws", issuer: "vero", uses: [], customer_id: $cust,
         customer_name: "Example Oy"},
        {name: "vero-long", key_label: "vero-long", issuer: "vero", uses: [], customer_id: $cust},
        {name: "vero-reuse", key_label: "vero-reuse", issuer: "vero", uses: [], customer_id: $cust},
        {name: "vero-crash", key_label: "vero-crash", issuer: "vero", uses: [], customer_id: $cust},
        {name: "vero-fail", key_label: "vero-fail", issuer: "vero", uses: [], customer_id: $cust},
        {name: "vero-tamper", key_label: "vero-tamper", issuer: "vero", uses: [], customer_id: $cust},
        {name: "vero-closed", key_label: "vero-closed", issuer: "vero", uses: [], customer_id: $cust},
        {name: "vero-auto", key_label: "vero-auto", issuer: "vero", uses: [], customer_id: $cust,
         auto_renew: true},
        {name: "vero-outage", key_label: "vero-outage", issuer: "vero", uses: [], customer_id: $cust}] |
    .token.module = $fault |
    .clients += [{name: "officer", token_sha256: $officer, roles: ["officer"]}]' \
    "$W/sealgate.json" > "$W/c.json" && mv "$W/c.json" "$W/sealgate.json"
start_gateway

expect_eq "ready before enrolment" "$(api monitor GET /readyz)" 200
expect_eq "an identity waiting for enrolment says so" "$(jq -r '.checks["identity:vero-ws"]' "$W/body")" \
    "not enrolled yet"

# wait_job ID: poll GET /v1/jobs/ID until it is done or failed; prints the state.
job_finished() {
    api officer GET "/v1/jobs/$1" >/dev/null && jq -e '.state == "done" or .state == "failed"' "$W/body"
}
wait_job() {
    wait_until 60 "job $1 done or failed" job_finished "$1"
    cp "$W/body" "$W/job.json"
    jq -r .state "$W/job.json"
}
enroll() {  # IDENTITY ID PASSWORD [curl args] → status; the answer in $W/body
    local name=$1 tid=$2 tpw=$3
    shift 3
    api officer POST "/v1/identities/$name/enroll" -H 'Content-Type: application/json' \
        -d "{\"transfer_id\":\"$tid\",\"transfer_password\":\"$tpw\"}" "$@"
}
job_id() { jq -r '.job // empty' "$W/body"; }
# sent OPERATION: the request bodies the simulator received for an operation, one file each.
sent() {
    rm -rf "$W/sent" && mkdir -p "$W/sent"
    simcurl "$SIM_ROOT/sim/requests" | jq -r --arg op "$1" '.requests[] | select(.operation == $op) | .body_b64' |
        while read -r b; do printf '%s' "$b" | base64 -d > "$W/sent/$(ls "$W/sent" | wc -l).xml"; done
    ls "$W/sent" | wc -l
}
# body_element FILE OUT: the SOAP Body's request element as a document of its own.
body_element() {
    "$PY" - "$1" "$2" <<'PY'
import sys
from lxml import etree
doc = etree.parse(sys.argv[1], etree.XMLParser(resolve_entities=False, no_network=True))
body = doc.getroot().find("{http://schemas.xmlsoap.org/soap/envelope/}Body")
el = [c for c in body if isinstance(c.tag, str)][0]
open(sys.argv[2], "wb").write(etree.tostring(el))
PY
}

# --- bad requests ---
read -r TID TPW <<< "$(transfer)"
expect_error "a missing password" 400 invalid_request \
    "$(api officer POST /v1/identities/vero-ws/enroll -H 'Content-Type: application/json' -d "{\"transfer_id\":\"$TID\"}")"
expect_error "a password longer than the schema's 16" 400 invalid_request "$(enroll vero-ws "$TID" 12345678901234567)"
expect_error "an unknown member" 400 invalid_request \
    "$(api officer POST /v1/identities/vero-ws/enroll -H 'Content-Type: application/json' \
        -d "{\"transfer_id\":\"$TID\",\"transfer_password\":\"$TPW\",\"x\":1}")"
expect_error "an unknown identity" 404 not_found "$(enroll nobody "$TID" "$TPW")"
expect_error "an identity without an issuer" 409 conflict "$(enroll local-seal "$TID" "$TPW")"
expect_error "a client without the officer role" 403 forbidden \
    "$(api billing POST /v1/identities/vero-ws/enroll -H 'Content-Type: application/json' \
        -d "{\"transfer_id\":\"$TID\",\"transfer_password\":\"$TPW\"}")"
expect_eq "the simulator saw none of them" "$(simcurl "$SIM_ROOT/sim/counts" | jq .sign_new)" 0

# --- enrolment ---
expect_eq "enrolment accepted" "$(enroll vero-ws "$TID" "$TPW")" 202
JOB=$(job_id)
ENROLL_JOB=$JOB
expect_match "a job id" "$ENROLL_JOB" '^[0-9a-f]{32}$'
expect_eq "a second enrolment while the first runs is refused" "$(enroll vero-ws "$TID" "$TPW")" 409
expect_eq "the enrolment finishes" "$(wait_job "$ENROLL_JOB")" done
expect_eq "the job names the identity and type" "$(jq -r '"\(.identity) \(.type)"' "$W/job.json")" "vero-ws enroll"
expect_match "and shows the certificate" "$(jq -r .certificate.subject "$W/job.json")" "CN=$CUSTOMER"
expect_eq "SignNewCertificate sent once" "$(sent signNewCertificate)" 1
check "it validates against the Vero XSD" sh -c "$(declare -f body_element); PY=$PY; body_element '$W/sent/0.xml' '$W/signnew.xml' && xmllint --noout --schema '$XSD' '$W/signnew.xml'"
expect_eq "the polls until the certificate came" "$(sent getCertificate)" 3
for f in "$W"/sent/*.xml; do
    body_element "$f" "$f.el"
    check "GetCertificate $(basename "$f") validates against the XSD" xmllint --noout --schema "$XSD" "$f.el"
done
pkcs11-tool --module "$MODULE" --token-label sealgate --read-object --type cert --label vero-ws \
    -o "$W/vero-ws.der" >/dev/null 2>&1
check "the certificate is on the token next to the key, issued by the service's CA" \
    openssl verify -CAfile "$SIM/client-ca.pem" <(openssl x509 -inform DER -in "$W/vero-ws.der")
expect_eq "its key is the token's key" \
    "$(openssl x509 -inform DER -in "$W/vero-ws.der" -pubkey -noout | openssl pkey -pubin -outform DER | sha256sum)" \
    "$(sealgate-token pubkey --label vero-ws --pin-file "$W/pin" | openssl pkey -pubin -outform DER | sha256sum)"
keys=$(sealgate-token keys --pin-file "$W/pin" --json)
expect_eq "the enrolled key is RSA-2048, sensitive and never extractable" \
    "$(printf '%s' "$keys" | jq -r '.[] | select(.label=="vero-ws" and .private_key) | "\(.type) \(.sensitive) \(.never_extractable) \(.extractable)"')" \
    "rsa:2048 true true false"
expect_eq "the gateway uses the certificate" "$(api officer GET /v1/identities)" 200
expect_eq "GET /v1/identities shows it" "$(jq -r '.[] | select(.name=="vero-ws") | .certificate.serial | ascii_downcase' "$W/body")" \
    "$(openssl x509 -inform DER -in "$W/vero-ws.der" -noout -serial | cut -d= -f2 | tr 'A-F' 'a-f')"
expect_error "enrolling an identity that has a certificate" 409 conflict "$(enroll vero-ws "$TID" "$TPW")"

# --- one-use transfer credentials, never resent ---
sim_reset
expect_eq "the used transfer credentials are accepted by the gateway" "$(enroll vero-reuse "$TID" "$TPW")" 202
JOB=$(job_id)
expect_eq "but the job fails" "$(wait_job "$JOB")" failed
expect_match "with the service's refusal" "$(jq -r .detail "$W/job.json")" 'PKI020: the transfer id was used already'
expect_eq "and SignNewCertificate was sent once, not retried" "$(sent signNewCertificate)" 1
read -r TID2 TPW2 <<< "$(transfer)"
expect_eq "a wrong password" "$(enroll vero-reuse "$TID2" wrong-password)" 202
JOB=$(job_id)
expect_eq "fails the job" "$(wait_job "$JOB")" failed
expect_match "with the service's PKI020" "$(jq -r .detail "$W/job.json")" 'PKI020: unknown transfer id or wrong password'
expect_eq "again sent once only" "$(sent signNewCertificate)" 2

# --- the token away while an enrolment runs: the job waits, nothing is sent ---
read -r TID4 TPW4 <<< "$(transfer)"
sim_reset
echo dead > "$W/fault"
expect_eq "an enrolment while the token is away is accepted" "$(enroll vero-outage "$TID4" "$TPW4")" 202
JOB=$(job_id)
job_waits() { api officer GET "/v1/jobs/$JOB" >/dev/null && jq -e '.detail | test("waiting for it")' "$W/body"; }
wait_until 30 "the job waits for the token" job_waits && pass "the job waits for the token"
expect_eq "  without failing" "$(jq -r '.state == "failed"' "$W/body")" false
expect_eq "  and nothing was sent meanwhile" "$(sent signNewCertificate)" 0
rm -f "$W/fault"
expect_eq "the job finishes once the token is back" "$(wait_job "$JOB")" done
expect_eq "  SignNewCertificate sent once" "$(sent signNewCertificate)" 1
expect_match "  and the certificate is on the token beside the key it made" \
    "$(pkcs11-tool --module "$MODULE" --token-label sealgate --login --pin "$(cat "$W/pin")" \
        --list-objects --type cert 2>/dev/null)" 'label: +vero-outage$'

# --- renewal ---
sim_config '{"cert_lifetime_s": 63072000}'
read -r TID3 TPW3 <<< "$(transfer)"
expect_eq "a two-year certificate" "$(enroll vero-long "$TID3" "$TPW3")" 202
JOB=$(job_id)
expect_eq "is enrolled" "$(wait_job "$JOB")" done
expect_error "renewal outside the 60-day window" 409 conflict "$(api officer POST /v1/identities/vero-long/renew)"
expect_error "force does not open it" 409 conflict \
    "$(api officer POST /v1/identities/vero-long/renew -H 'Content-Type: application/json' -d '{"force":true}')"
expect_error "renewal of an identity never enrolled" 409 conflict "$(api officer POST /v1/identities/vero-crash/renew)"
old_serial=$(openssl x509 -inform DER -in "$W/vero-ws.der" -noout -serial)
sim_reset
expect_eq "renewal of the 30-day certificate accepted" "$(api officer POST /v1/identities/vero-ws/renew)" 202
RENEW_JOB=$(jq -r .job "$W/body")
expect_eq "the renewal finishes" "$(wait_job "$RENEW_JOB")" done
expect_eq "RenewCertificate sent once" "$(sent renewCertificate)" 1
body_element "$W/sent/0.xml" "$W/renew.xml"
check "the renewal request validates against the XSD" xmllint --noout --schema "$XSD" "$W/renew.xml"
check "its signature verifies with xmlsec1, made by the old certificate" \
    xmlsec1 --verify --trusted-pem "$SIM/client-ca.pem" "$W/renew.xml"
expect_eq "KeyInfo holds the old certificate" \
    "$(xmllint --xpath 'string(//*[local-name()="X509Certificate"])' "$W/renew.xml" | base64 -d | sha256sum)" \
    "$(sha256sum < "$W/vero-ws.der")"
sed 's/<CustomerName>Example Oy</<CustomerName>Other Oy</' "$W/renew.xml" > "$W/renew-changed.xml"
check_exit 1 "a changed request does not verify" xmlsec1 --verify --trusted-pem "$SIM/client-ca.pem" "$W/renew-changed.xml"
pkcs11-tool --module "$MODULE" --token-label sealgate --read-object --type cert --label vero-ws \
    -o "$W/vero-ws-new.der" >/dev/null 2>&1
expect_no_match "the identity's label holds a new certificate" \
    "$(openssl x509 -inform DER -in "$W/vero-ws-new.der" -noout -serial)" "^$old_serial\$"
expect_eq "for the key now under the label" \
    "$(openssl x509 -inform DER -in "$W/vero-ws-new.der" -pubkey -noout | openssl pkey -pubin -outform DER | sha256sum)" \
    "$(sealgate-token pubkey --label vero-ws --pin-file "$W/pin" | openssl pkey -pubin -outform DER | sha256sum)"
keys=$(sealgate-token keys --pin-file "$W/pin" --json)
expect_eq "the new key is RSA-2048, sensitive, never extractable" \
    "$(printf '%s' "$keys" | jq -r '.[] | select(.label=="vero-ws" and .private_key) | "\(.type) \(.sensitive) \(.never_extractable) \(.extractable)"')" \
    "rsa:2048 true true false"
retired=$(printf '%s' "$keys" | jq -r '.[] | select(.private_key and (.label | startswith("vero-ws.retired-"))) | .label')
expect_match "the old key is kept under a retired label" "$retired" '^vero-ws\.retired-[0-9]{8}T[0-9]{6}Z$'
expect_eq "no staged key is left" "$(printf '%s' "$keys" | jq '[.[] | select(.label=="vero-ws.next")] | length')" 0
check "the officer retires the old key" sealgate-token retire --label "$retired" --yes --pin-file "$W/pin"
expect_eq "the gateway serves the new certificate" "$(api officer GET /v1/identities)" 200
expect_eq "GET /v1/identities shows the new serial" \
    "$(jq -r '.[] | select(.name=="vero-ws") | .certificate.serial | ascii_downcase' "$W/body")" \
    "$(openssl x509 -inform DER -in "$W/vero-ws-new.der" -noout -serial | cut -d= -f2 | tr 'A-F' 'a-f')"

# --- auto_renew: the scheduler renews inside the window, nobody asks ---
sim_config '{"cert_lifetime_s": 2592000}'
read -r TID6 TPW6 <<< "$(transfer)"
expect_eq "an auto_renew identity with a 30-day certificate" "$(enroll vero-auto "$TID6" "$TPW6")" 202
JOB=$(job_id)
expect_eq "is enrolled" "$(wait_job "$JOB")" done
sim_config '{"cert_lifetime_s": 63072000}'
renewed_by_scheduler() {
    api auditor GET '/v1/audit/entries?type=renew&identity=vero-auto&outcome=ok&limit=100' >/dev/null &&
        [ "$(jq '[.entries[] | select(.detail | startswith("renewed"))] | length' "$W/body")" -ge 1 ]
}
wait_until 60 "the scheduler renews vero-auto" renewed_by_scheduler
expect_eq "the scheduler renewed it (audited, no client)" \
    "$(jq -r '[.entries[] | select(.detail | startswith("renewed"))][0].client // "none"' "$W/body")" none
auto_days_left() {
    api officer GET /v1/identities >/dev/null
    jq -r '.[] | select(.name=="vero-auto") | .certificate.days_left // 0' "$W/body"
}
wait_until 30 "vero-auto's new certificate in use" at_least 61 auto_days_left
days=$(auto_days_left)
expect_match "until its certificate is outside the window" "$days" '^[0-9]{3}$'
api auditor GET '/v1/audit/entries?type=renew&identity=vero-auto&limit=100' >/dev/null
n_auto=$(jq '[.entries[] | select(.detail | startswith("renewed"))] | length' "$W/body")
# Two more passes of the scheduler: at least one saw the new certificate.
passes=$(metric sealgate_renewal_scheduler_passes_total)
wait_until 30 "two more auto_renew passes" at_least $((passes + 2)) metric sealgate_renewal_scheduler_passes_total
api auditor GET '/v1/audit/entries?type=renew&identity=vero-auto&limit=100' >/dev/null
expect_eq "and then leaves it alone" "$(jq '[.entries[] | select(.detail | startswith("renewed"))] | length' "$W/body")" "$n_auto"
sim_config '{"cert_lifetime_s": 2592000}'

# --- a failed renewal shows in /readyz and /metrics ---
read -r TID8 TPW8 <<< "$(transfer)"
expect_eq "a 30-day certificate for vero-fail" "$(enroll vero-fail "$TID8" "$TPW8")" 202
JOB=$(job_id)
expect_eq "is enrolled" "$(wait_job "$JOB")" done
sim_config '{"clock_offset_s": 2764800}'    # the service's clock 32 days ahead: expired there
expect_eq "a renewal the service refuses" "$(api officer POST /v1/identities/vero-fail/renew)" 202
JOB=$(job_id)
expect_eq "fails" "$(wait_job "$JOB")" failed
expect_match "with the service's reason" "$(jq -r .detail "$W/job.json")" 'PKI020: the signing certificate expired'
sim_config '{"clock_offset_s": 0}'
expect_eq "the gateway stays ready (the certificate still works)" "$(api monitor GET /readyz)" 200
expect_match "and /readyz names the failed renewal" "$(jq -r '.renewal_failures["vero-fail"] // ""' "$W/body")" 'signing certificate expired'
api monitor GET /metrics >/dev/null
expect_match "/metrics counts it" "$(cat "$W/body")" \
    'sealgate_authority_requests_total\{authority="vero",outcome="renew_failed"\} [1-9]'

# --- a response whose signature does not come from the service's CA ---
jq --arg ca "$W/ca-gw.pem" '.authorities.vero.response_signer_ca_file = $ca' "$W/sealgate.json" > "$W/other.json"
cp "$W/sealgate.json" "$W/good.json" && cp "$W/other.json" "$W/sealgate.json"
reload_gateway
read -r TID4 TPW4 <<< "$(transfer)"
expect_eq "an enrolment against an untrusted response signer" "$(enroll vero-crash "$TID4" "$TPW4")" 202
JOB=$(job_id)
expect_eq "fails" "$(wait_job "$JOB")" failed
expect_match "because the response signer is not trusted" "$(jq -r .detail "$W/job.json")" 'not trusted'
api monitor GET /metrics >/dev/null
expect_match "failed jobs are counted in /metrics" "$(cat "$W/body")" \
    'sealgate_authority_requests_total\{authority="vero",outcome="enroll_failed"\} [1-9]'
cp "$W/good.json" "$W/sealgate.json"
reload_gateway

# --- a response changed after the service signed it ---
sim_config '{"tamper_responses": 1}'
read -r TID7 TPW7 <<< "$(transfer)"
expect_eq "an enrolment whose response is tampered with" "$(enroll vero-tamper "$TID7" "$TPW7")" 202
JOB=$(job_id)
expect_eq "fails" "$(wait_job "$JOB")" failed
expect_match "because the response signature does not verify" "$(jq -r .detail "$W/job.json")" 'does not verify'
simcurl "$SIM_ROOT/sim/requests" | jq -r '[.requests[] | select(.operation=="signNewCertificate")][-1].response_b64' |
    base64 -d > "$W/tampered-resp.xml"
body_element "$W/tampered-resp.xml" "$W/tampered-el.xml"
check_exit 1 "xmlsec1 refuses that response too" xmlsec1 --verify --trusted-pem "$SIM/service-ca.pem" "$W/tampered-el.xml"
expect_eq "and nothing is stored for the key" "$(pkcs11-tool --module "$MODULE" --token-label sealgate --list-objects \
    --type cert 2>/dev/null | grep -c "label: *vero-tamper$")" 0
sim_config '{"tamper_responses": 0}'

# --- fail-closed: no job starts unless its entry is durable ---
read -r TID9 TPW9 <<< "$(transfer)"
sent_before=$(simcurl "$SIM_ROOT/sim/counts" | jq .sign_new)
size=$(stat -c %s "$(ls "$W"/audit/audit-*.jsonl | tail -1)")
prlimit --pid "$GW_PID" --fsize="$size":unlimited || fail "prlimit not usable"
expect_error "an enrolment while the audit log cannot be written" 503 audit_unavailable \
    "$(enroll vero-closed "$TID9" "$TPW9")"
expect_error "a renewal too" 503 audit_unavailable "$(api officer POST /v1/identities/vero-fail/renew)"
prlimit --pid "$GW_PID" --fsize=unlimited:unlimited
expect_eq "nothing reached the service" "$(simcurl "$SIM_ROOT/sim/counts" | jq .sign_new)" "$sent_before"
expect_eq "and no key was made" "$(sealgate-token keys --pin-file "$W/pin" --json | jq '[.[] | select(.label == "vero-closed")] | length')" 0
enrolled_closed() { [ "$(enroll vero-closed "$TID9" "$TPW9" -D "$W/hdr")" = 202 ]; }
wait_until 30 "the same transfer credentials accepted once the log takes writes" enrolled_closed
JOB=$(job_id)
rid=$(sed -n 's/^[Xx]-[Rr]equest-[Ii]d: *\([^[:space:]]*\).*/\1/p' "$W/hdr")
expect_eq "and enrolled" "$(wait_job "$JOB")" done
expect_eq "every entry of the job names the officer and the request" \
    "$(jq -r --arg j "$JOB" 'select(.job == $j) | "\(.client) \(.request_id)"' "$W"/audit/audit-*.jsonl | sort -u)" \
    "officer $rid"
expect_eq "the job says who asked" "$(jq -r '"\(.client) \(.request_id)"' "$W/job.json")" "officer $rid"

# --- a restart between SignNewCertificate and GetCertificate ---
sim_reset
sim_config '{"not_ready_polls": 1000}'
read -r TID5 TPW5 <<< "$(transfer)"
expect_eq "enrolment before a crash" "$(enroll vero-crash "$TID5" "$TPW5")" 202
JOB=$(job_id)
CRASH_JOB=$JOB
job_state_is() { api officer GET "/v1/jobs/$1" >/dev/null && [ "$(jq -r .state "$W/body")" = "$2" ]; }
wait_until 30 "the job waits for the authority" job_state_is "$CRASH_JOB" waiting_authority
expect_eq "waits for the authority" "$(jq -r .state "$W/body")" waiting_authority
expect_match "with a retrieval id" "$(jq -r .retrieval_id "$W/body")" '^[0-9a-f]{32}$'
kill -9 "$GW_PID"; wait "$GW_PID" 2>/dev/null
sim_config '{"not_ready_polls": 0}'
start_gateway
expect_eq "after the restart the job resumes polling and finishes" "$(wait_job "$CRASH_JOB")" done
simcurl "$SIM_ROOT/sim/requests" > "$W/reqs.json"
expect_eq "SignNewCertificate was not sent again" \
    "$(jq '[.requests[] | select(.operation=="signNewCertificate" and (.outcome|startswith("OK")))] | length' "$W/reqs.json")" 1

# --- what the log and the audit say ---
api auditor GET '/v1/audit/entries?type=enroll&limit=100' >/dev/null
expect_match "enrolments are audited with their outcome" "$(jq -r '[.entries[] | "\(.identity):\(.outcome)"] | join(" ")' "$W/body")" \
    'vero-ws:ok.*vero-reuse:error'
api auditor GET '/v1/audit/entries?type=renew&limit=100' >/dev/null
expect_match "the renewal is audited" "$(jq -r '[.entries[] | "\(.identity):\(.outcome)"] | join(" ")' "$W/body")" 'vero-ws:ok'
expect_no_secret "$TPW" "$TPW2" "$TPW3" "$TPW5"
check "the audit chain verifies" audit_verify "$W/audit"
stop_gateway
end_sim
finish
