# SPDX-License-Identifier: Apache-2.0
# Collecting an ordered Vero certificate (issue 15, items 1 and 2), through
# the strict simulator (tests/sim/vero_sim.py) with its faults fail_polls
# (FAIL to the first GetCertificate calls of a retrieval, then the
# certificate) and extra_errors (several ErrorInfo in one answer):
#  - FAIL answers to GetCertificate are "not ready yet": the enrolment
#    polls on and finishes, the certificate on the token, one SignNew;
#  - the poll budget spent, the job keeps its RetrievalId as
#    collect_pending (shown by GET /v1/jobs/{id} and /readyz, audited),
#    survives a restart of the daemon, and POST /v1/jobs/{id}/resume (the
#    officer only) collects the certificate without a second SignNew;
#  - every ErrorInfo's code and message is in the job and in its audit
#    entry, whose members keep their fixed order;
#  - a final answer (SignNewCertificate FAIL: no RetrievalId to collect)
#    still ends the job;
#  - POST /v1/jobs/{id}/abandon (the officer only) gives a waiting job up:
#    it fails, audited, polls no more, and its identity may enrol again.
. "$SG_SRCDIR/tests/integration/lib.sh"
W=$SG_WORK
PY=${SG_PYTHON:-/usr/bin/python3}
need_python "$PY" "lxml, xmlsec, cryptography" "python3-lxml python3-xmlsec python3-cryptography"
need_tools jq curl pkcs11-tool openssl
SIMPY=$SG_SRCDIR/tests/sim/vero_sim.py
SIM=$W/vero
CUSTOMER=0123456-7
POLL_MAX=3
gateway_fixture
"$PY" "$SIMPY" init --state "$SIM" >/dev/null || { echo "Bail out! simulator init"; exit 1; }
officer=$(client_token officer)

start_sim_serve simulator "$W/sim.json" "$PY" "$SIMPY" "$SIM" --not-ready-polls 0 \
    --cert-lifetime-s $((30 * 86400))
SIM_URL=$(jq -r .url "$W/sim.json")
SIM_ROOT=${SIM_URL%/2017/10/CertificateServices}
simcurl() { curl -sS --cacert "$SIM/server-ca.pem" "$@"; }
sim_config() {
    [ "$(simcurl -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' -d "$1" \
        "$SIM_ROOT/sim/config")" = 200 ] || echo "Bail out! /sim/config $1"
}
sim_count() { simcurl "$SIM_ROOT/sim/counts" | jq -r ".$1"; }
transfer() {  # → "ID PASSWORD" of a new transfer credential
    simcurl -X POST -H 'Content-Type: application/json' -d "{\"customer_id\":\"$CUSTOMER\"}" \
        "$SIM_ROOT/sim/transfers" | jq -r '"\(.transfer_id) \(.password)"'
}

jq --arg url "$SIM_URL" --arg ca "$SIM/server-ca.pem" --arg sca "$SIM/service-ca.pem" \
    --arg officer "$officer" --arg cust "$CUSTOMER" --argjson max "$POLL_MAX" '
    .authorities.vero = {type: "vero-certservice", url: $url, ca_file: $ca, response_signer_ca_file: $sca,
        environment: "TEST", poll_interval_s: 1, poll_max: $max} |
    .identities += [
        {name: "vero-late", key_label: "vero-late", issuer: "vero", uses: [], customer_id: $cust},
        {name: "vero-park", key_label: "vero-park", issuer: "vero", uses: [], customer_id: $cust},
        {name: "vero-refused", key_label: "vero-refused", issuer: "vero", uses: [], customer_id: $cust},
        {name: "vero-abandon", key_label: "vero-abandon", issuer: "vero", uses: [], customer_id: $cust}] |
    .clients += [{name: "officer", token_sha256: $officer, roles: ["officer"]}]' \
    "$W/sealgate.json" > "$W/c.json" && mv "$W/c.json" "$W/sealgate.json"
start_gateway

enroll() {  # IDENTITY ID PASSWORD → status; the answer in $W/body
    api officer POST "/v1/identities/$1/enroll" -H 'Content-Type: application/json' \
        -d "{\"transfer_id\":\"$2\",\"transfer_password\":\"$3\"}" -D "$W/hdr"
}
request_id() { sed -n 's/^[Xx]-[Rr]equest-[Ii]d: *\([^[:space:]]*\).*/\1/p' "$W/hdr"; }
job_state_is() { api officer GET "/v1/jobs/$1" >/dev/null && [ "$(jq -r .state "$W/body")" = "$2" ]; }
job_finished() {
    api officer GET "/v1/jobs/$1" >/dev/null && jq -e '.state == "done" or .state == "failed"' "$W/body"
}
wait_job() {  # ID → the final state; the job in $W/job.json
    wait_until 60 "job $1 done or failed" job_finished "$1"
    cp "$W/body" "$W/job.json"
    jq -r .state "$W/job.json"
}
# sent OPERATION: how many requests of OPERATION the simulator took (since
# the last reset-requests).
sent() {
    simcurl "$SIM_ROOT/sim/requests" | jq --arg op "$1" '[.requests[] | select(.operation == $op)] | length'
}
on_token() {  # LABEL: the certificate the token holds under LABEL, as DER in $W/LABEL.der
    rm -f "$W/$1.der"
    pkcs11-tool --module "$MODULE" --token-label sealgate --read-object --type cert --label "$1" \
        -o "$W/$1.der" >/dev/null 2>&1 && [ -s "$W/$1.der" ]
}
pubkey_hash() { openssl pkey -pubin -outform DER | sha256sum; }
# audit_job JOB STATE: the job's audit entry that recorded STATE (the last
# one), one line, into $W/entry.json.
audit_job() {
    cat "$W"/audit/audit-*.jsonl | jq -c --arg j "$1" --arg s "$2" 'select(.job == $j and .state == $s)' |
        tail -n 1 > "$W/entry.json"
    [ -s "$W/entry.json" ]
}
FIXED='["seq","time","type","request_id","client","identity","key_id","cert_serial","digest","authority","authority_ref","outcome","error"'
EXTRA_ERRORS='[{"code":"PKI021","message":"second problem"},{"code":"PKI022","message":"third problem, with a comma"}]'

# --- FAIL to the first GetCertificate calls, then the certificate ----------------------
sim_config '{"fail_polls": 2}'
read -r TID TPW <<< "$(transfer)"
expect_eq "an enrolment while GetCertificate answers FAIL twice" "$(enroll vero-late "$TID" "$TPW")" 202
LATE_JOB=$(jq -r .job "$W/body")
expect_eq "finishes: FAIL is 'not ready yet'" "$(wait_job "$LATE_JOB")" done
expect_eq "after three GetCertificate calls, the first two answered FAIL" \
    "$(simcurl "$SIM_ROOT/sim/requests" | jq -r '[.requests[] | select(.operation == "getCertificate") | .outcome |
        if startswith("OK certificate") then "OK certificate" else sub(":.*"; "") end] | join(",")')" \
    "FAIL PKI020 not_ready,FAIL PKI020 not_ready,OK certificate"
expect_eq "SignNewCertificate sent exactly once" "$(sent signNewCertificate)" 1
check "pkcs11-tool reads the certificate on the token" on_token vero-late
expect_eq "  for the key the job made there" \
    "$(openssl x509 -inform DER -in "$W/vero-late.der" -pubkey -noout | pubkey_hash)" \
    "$(sealgate-token pubkey --label vero-late --pin-file "$W/pin" | pubkey_hash)"
check "  issued by the service's client CA" \
    openssl verify -CAfile "$SIM/client-ca.pem" <(openssl x509 -inform DER -in "$W/vero-late.der")
expect_eq "the finished job keeps no stale ErrorInfo" "$(jq -c '.authority_errors // []' "$W/job.json")" '[]'

# --- the poll budget spent: the job waits to be collected ------------------------------
simcurl -X POST -H 'Content-Type: application/json' -d '{}' "$SIM_ROOT/sim/reset-requests" >/dev/null
sim_config "{\"fail_polls\": 1000, \"extra_errors\": $EXTRA_ERRORS}"
read -r TID2 TPW2 <<< "$(transfer)"
expect_eq "an enrolment whose certificate never comes within the budget" "$(enroll vero-park "$TID2" "$TPW2")" 202
PARK_JOB=$(jq -r .job "$W/body")
wait_until 60 "the job waits to be collected" job_state_is "$PARK_JOB" collect_pending &&
    pass "the job is collect_pending"
cp "$W/body" "$W/park.json"
RID=$(jq -r .retrieval_id "$W/park.json")
expect_match "  it keeps its RetrievalId" "$RID" '^[0-9a-f]{32}$'
expect_match "  its detail says how it resumes" "$(jq -r .detail "$W/park.json")" \
    "retrieval id $RID kept after $POLL_MAX polls\\): resume with POST /v1/jobs/$PARK_JOB/resume"
expect_eq "  every ErrorInfo of the last answer, code and message" \
    "$(jq -c '.authority_errors' "$W/park.json")" \
    "[{\"code\":\"PKI020\",\"message\":\"the certificate cannot be retrieved yet; try again later\"},$(printf '%s' "$EXTRA_ERRORS" | jq -c '.[]' | paste -sd,)]"
expect_eq "  after poll_max GetCertificate calls" "$(sent getCertificate)" "$POLL_MAX"
check "  audited as waiting, with every ErrorInfo" audit_job "$PARK_JOB" collect_pending
expect_eq "    outcome, error and the client who enrolled" "$(jq -r '"\(.outcome) \(.error) \(.client)"' "$W/entry.json")" \
    "error authority_timeout officer"
expect_eq "    authority_errors, every code" "$(jq -c '.authority_errors | fromjson | map(.code)' "$W/entry.json")" \
    '["PKI020","PKI021","PKI022"]'
expect_eq "    and every message" "$(jq -c '.authority_errors | fromjson | map(.message)' "$W/entry.json")" \
    '["the certificate cannot be retrieved yet; try again later","second problem","third problem, with a comma"]'
expect_eq "    members in the fixed order, extras before prev and hash" "$(jq -c keys_unsorted "$W/entry.json")" \
    "$FIXED,\"job\",\"state\",\"detail\",\"authority_errors\",\"prev\",\"hash\"]"
expect_eq "/readyz stays ready (nothing that signs depends on it)" "$(api monitor GET /readyz)" 200
expect_eq "  and names the identity whose certificate waits, its job and RetrievalId" \
    "$(jq -c '.collect_pending["vero-park"] | [.job, .retrieval_id]' "$W/body")" "[\"$PARK_JOB\",\"$RID\"]"
expect_eq "  not to an anonymous caller" "$(api - GET /readyz; echo " $(jq -c . "$W/body")")" '200 {"status":"ready"}'
passes=$(metric sealgate_renewal_scheduler_passes_total)
wait_until 30 "two more worker passes" at_least $((passes + 2)) metric sealgate_renewal_scheduler_passes_total
expect_eq "a waiting job polls no more" "$(sent getCertificate)" "$POLL_MAX"

# --- a restart keeps it --------------------------------------------------------------
stop_gateway
start_gateway
expect_eq "after a restart the job is still collect_pending" \
    "$(api officer GET "/v1/jobs/$PARK_JOB" >/dev/null; jq -r '"\(.state) \(.retrieval_id)"' "$W/body")" \
    "collect_pending $RID"
expect_eq "  with its ErrorInfo" "$(jq -c '.authority_errors | map(.code)' "$W/body")" '["PKI020","PKI021","PKI022"]'
expect_eq "  /readyz still names it" "$(api monitor GET /readyz >/dev/null; jq -r '.collect_pending["vero-park"].job' "$W/body")" \
    "$PARK_JOB"
expect_eq "  and nothing was sent" "$(sent getCertificate) $(sent signNewCertificate)" "$POLL_MAX 1"

# --- resuming: the officer only, once, never a second SignNew --------------------------
expect_error "resume without a token" 401 unauthorized "$(api - POST "/v1/jobs/$PARK_JOB/resume")"
expect_error "resume by a stamp client" 403 forbidden "$(api billing POST "/v1/jobs/$PARK_JOB/resume")"
expect_error "resume by the monitor" 403 forbidden "$(api monitor POST "/v1/jobs/$PARK_JOB/resume")"
expect_error "resume of a job that is done" 409 conflict "$(api officer POST "/v1/jobs/$LATE_JOB/resume")"
expect_error "resume of an unknown job" 404 not_found "$(api officer POST "/v1/jobs/0123456789abcdef0123456789abcdef/resume")"
expect_error "resume with a body" 400 invalid_request \
    "$(api officer POST "/v1/jobs/$PARK_JOB/resume" -H 'Content-Type: application/json' -d '{}')"
expect_eq "  refusals are audited (401, 403 as auth_failure; 409, 404 under enroll; the 400 for a body as everywhere, not)" \
    "$(cat "$W"/audit/audit-*.jsonl | jq -r 'select(.type == "auth_failure" and (.detail | test("/resume"))) | .error' | sort | uniq -c | awk '{print $2 $1}' | paste -sd' ') $(cat "$W"/audit/audit-*.jsonl | jq -r 'select(.type == "enroll" and .outcome == "error" and .error != "authority_timeout" and .error != "authority_error") | .error' | sort | paste -sd' ')" \
    "forbidden2 unauthorized1 conflict not_found"
expect_eq "  the job still waits" "$(api officer GET "/v1/jobs/$PARK_JOB" >/dev/null; jq -r .state "$W/body")" collect_pending
sim_config '{"fail_polls": 0, "extra_errors": []}'
expect_eq "the officer resumes it" "$(api officer POST "/v1/jobs/$PARK_JOB/resume" -D "$W/hdr")" 202
RESUME_RID=$(request_id)
expect_eq "  answered with the job and its state" "$(jq -c . "$W/body")" "{\"job\":\"$PARK_JOB\",\"state\":\"waiting_authority\"}"
expect_eq "  the certificate is collected" "$(wait_job "$PARK_JOB")" done
expect_eq "  with one more GetCertificate and no second SignNewCertificate" \
    "$(sent getCertificate) $(sent signNewCertificate) $(sim_count sign_new)" "$((POLL_MAX + 1)) 1 2"
check "pkcs11-tool reads the certificate on the token" on_token vero-park
expect_eq "  for the key made before the SignNewCertificate" \
    "$(openssl x509 -inform DER -in "$W/vero-park.der" -pubkey -noout | pubkey_hash)" \
    "$(sealgate-token pubkey --label vero-park --pin-file "$W/pin" | pubkey_hash)"
check "the resume is audited" audit_job "$PARK_JOB" waiting_authority
expect_eq "  in the officer's name and request" "$(jq -r '"\(.type) \(.outcome) \(.client) \(.request_id)"' "$W/entry.json")" \
    "enroll ok officer $RESUME_RID"
expect_match "  saying what was done" "$(jq -r .detail "$W/entry.json")" "^resumed by officer: GetCertificate again with retrieval id $RID"
expect_eq "/readyz no longer lists it" "$(api monitor GET /readyz; jq -c '.collect_pending // {}' "$W/body")" '200{}'
expect_error "a second resume" 409 conflict "$(api officer POST "/v1/jobs/$PARK_JOB/resume")"

# --- a final answer ends the job, with every ErrorInfo ---------------------------------
sim_config "{\"extra_errors\": $EXTRA_ERRORS}"
read -r TID3 TPW3 <<< "$(transfer)"
expect_eq "an enrolment with a wrong transfer password" "$(enroll vero-refused "$TID3" wrong-password)" 202
REFUSED_JOB=$(jq -r .job "$W/body")
expect_eq "fails: a refused SignNewCertificate leaves nothing to collect" "$(wait_job "$REFUSED_JOB")" failed
expect_match "  the detail has every code and message" "$(jq -r .detail "$W/job.json")" \
    '^SignNewCertificate refused: PKI020: unknown transfer id or wrong password; PKI021: second problem; PKI022: third problem, with a comma$'
expect_eq "  the job lists them" "$(jq -c '[.authority_errors[] | "\(.code)=\(.message)"]' "$W/job.json")" \
    '["PKI020=unknown transfer id or wrong password","PKI021=second problem","PKI022=third problem, with a comma"]'
check "  its audit entry" audit_job "$REFUSED_JOB" failed
expect_eq "    says error authority_error" "$(jq -r '"\(.outcome) \(.error)"' "$W/entry.json")" "error authority_error"
expect_eq "    with every code and message" "$(jq -c '[.authority_errors | fromjson | .[] | "\(.code)=\(.message)"]' "$W/entry.json")" \
    '["PKI020=unknown transfer id or wrong password","PKI021=second problem","PKI022=third problem, with a comma"]'
expect_eq "    members in the fixed order" "$(jq -c keys_unsorted "$W/entry.json")" \
    "$FIXED,\"job\",\"state\",\"detail\",\"authority_errors\",\"prev\",\"hash\"]"
expect_eq "  no GetCertificate for it, SignNewCertificate once" "$(sent getCertificate) $(sim_count sign_new)" \
    "$((POLL_MAX + 1)) 3"
expect_error "  and it does not resume" 409 conflict "$(api officer POST "/v1/jobs/$REFUSED_JOB/resume")"
sim_config '{"extra_errors": []}'

# --- abandoning a waiting job: the officer only; the identity may enrol again -----------
simcurl -X POST -H 'Content-Type: application/json' -d '{}' "$SIM_ROOT/sim/reset-requests" >/dev/null
sim_config '{"fail_polls": 1000}'
read -r TID4 TPW4 <<< "$(transfer)"
expect_eq "an enrolment whose certificate is never collected" "$(enroll vero-abandon "$TID4" "$TPW4")" 202
GONE_JOB=$(jq -r .job "$W/body")
wait_until 60 "the job waits to be collected" job_state_is "$GONE_JOB" collect_pending &&
    pass "the job is collect_pending"
expect_match "  its detail names the way out" "$(jq -r .detail "$W/body")" "or give it up with \\.\\.\\./abandon"
read -r TID5 TPW5 <<< "$(transfer)"
expect_error "  a second enrolment of the identity meanwhile" 409 conflict "$(enroll vero-abandon "$TID5" "$TPW5")"
expect_error "abandon by the monitor" 403 forbidden "$(api monitor POST "/v1/jobs/$GONE_JOB/abandon")"
expect_error "abandon of a job that is done" 409 conflict "$(api officer POST "/v1/jobs/$LATE_JOB/abandon")"
expect_error "abandon of an unknown job" 404 not_found "$(api officer POST "/v1/jobs/0123456789abcdef0123456789abcdef/abandon")"
expect_eq "  the job still waits" "$(api officer GET "/v1/jobs/$GONE_JOB" >/dev/null; jq -r .state "$W/body")" collect_pending
expect_eq "the officer abandons it" "$(api officer POST "/v1/jobs/$GONE_JOB/abandon" -D "$W/hdr")" 200
GONE_RID=$(request_id)
expect_eq "  answered with the job and its state" "$(jq -c . "$W/body")" "{\"job\":\"$GONE_JOB\",\"state\":\"failed\"}"
expect_eq "  the job is failed" "$(api officer GET "/v1/jobs/$GONE_JOB" >/dev/null; jq -r .state "$W/body")" failed
expect_match "  saying so" "$(jq -r .detail "$W/body")" "^abandoned by officer: the certificate ordered under retrieval id [0-9a-f]{32} was not collected"
check "the abandonment is audited" audit_job "$GONE_JOB" failed
expect_eq "  in the officer's name and request" "$(jq -r '"\(.type) \(.outcome) \(.error) \(.client) \(.request_id)"' "$W/entry.json")" \
    "enroll error abandoned officer $GONE_RID"
expect_eq "/readyz no longer lists it" "$(api monitor GET /readyz; jq -c '.collect_pending // {}' "$W/body")" '200{}'
expect_error "a second abandon" 409 conflict "$(api officer POST "/v1/jobs/$GONE_JOB/abandon")"
expect_error "an abandoned job does not resume" 409 conflict "$(api officer POST "/v1/jobs/$GONE_JOB/resume")"
expect_eq "  and nothing more was sent for it" "$(sent getCertificate) $(sent signNewCertificate)" "$POLL_MAX 1"
sim_config '{"fail_polls": 0}'
expect_eq "the identity enrols again, with new transfer codes" "$(enroll vero-abandon "$TID5" "$TPW5")" 202
expect_eq "  and that enrolment finishes" "$(wait_job "$(jq -r .job "$W/body")")" done
check "pkcs11-tool reads its certificate on the token" on_token vero-abandon

expect_no_secret "$TPW" "$TPW2" "$TPW3" "$TPW4" "$TPW5"
check "the audit chain verifies" audit_verify "$W/audit"
stop_gateway
end_sim
finish
