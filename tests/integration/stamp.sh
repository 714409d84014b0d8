# SPDX-License-Identifier: Apache-2.0
# POST /v1/stamp end to end against the strict CSC v2 simulator
# (tests/sim/csc_sim.py): the interface key is made on the token, its CSR
# signed by the simulator's client CA; a stamped document verifies with
# openssl cms against the stamp CA and not for a changed document; the
# digest form, DER answers, Idempotency-Key (same CMS, counted once,
# conflict on another digest), the simulator's count equal to the audit
# log's, authority failures as 502/504, and a 100 MB upload refused with
# 413 without the daemon's memory growing by the document.
. "$SG_SRCDIR/tests/integration/lib.sh"
W=$SG_WORK
SIMPY="$SG_SRCDIR/tests/sim/csc_sim.py"
SIM=$W/sim
gateway_fixture
python3 "$SIMPY" init --state "$SIM" >/dev/null || { echo "Bail out! simulator init"; exit 1; }
csc_interface dvv-interface
# A second stamp identity on the same credential, granted later.
csc_interface dvv-interface-2

start_sim() {
    start_sim_serve simulator "$W/sim.json" python3 "$SIMPY" "$SIM" --port "${1:-0}"
    SIM_URL=$(jq -r .url "$W/sim.json")
    SIM_ROOT=${SIM_URL%/csc/v2/}
}
# The simulator's test interface, trusted through its own server CA.
simcurl() { curl -sS --cacert "$SIM/server-ca.pem" "$@"; }
start_sim
jq --arg url "$SIM_URL" --arg ca "$SIM/server-ca.pem" '
    .limits.max_document_bytes = 67108864 |
    .authorities["dvv-stamp"] = {type: "csc-v2", url: $url, ca_file: $ca, credential_id: "org-stamp-1",
        sign_request_body: true, timeout_ms: 2000, retries: 1} |
    .identities += [{name: "dvv-interface", key_label: "dvv-interface", authority: "dvv-stamp", uses: ["stamp"]},
        {name: "dvv-interface-2", key_label: "dvv-interface-2", authority: "dvv-stamp", uses: ["stamp"]}] |
    (.clients[] | select(.name == "billing") | .identities) += ["dvv-interface"]' \
    "$W/sealgate.json" > "$W/c.json" && mv "$W/c.json" "$W/sealgate.json"
# The token through the fault-injecting wrapper (it passes everything
# through until told otherwise): the interface key's handles go stale below.
jq --arg m "$SG_BUILDDIR/tests/fixtures/p11fault.so" '.token.module = $m' "$W/sealgate.json" > "$W/c.json" &&
    mv "$W/c.json" "$W/sealgate.json"
export P11FAULT_MODULE=$MODULE P11FAULT_CONTROL=$W/fault
start_gateway
AUTH=(-H "Authorization: Bearer $(cat "$W/billing.token")")
head -c 200000 /dev/urandom > "$W/doc.pdf"
cp "$W/doc.pdf" "$W/doc2.pdf"; printf x >> "$W/doc2.pdf"

stamp_doc() {  # FILE [curl args] → status; body in $W/body
    local f=$1; shift
    curl -sS -o "$W/body" -w '%{http_code}' "${AUTH[@]}" -H 'Content-Type: application/pdf' \
        --data-binary @"$f" "$@" "$GW_URL/v1/stamp?identity=dvv-interface"
}

expect_eq "stamp a document" "$(stamp_doc "$W/doc.pdf")" 200
jq -r .cms "$W/body" | base64 -d > "$W/doc.p7s"
check "openssl cms -verify accepts the stamp" openssl cms -verify -binary -inform DER -in "$W/doc.p7s" \
    -content "$W/doc.pdf" -CAfile "$SIM/stamp-ca.pem" -out /dev/null
check_exit 4 "a changed document fails" openssl cms -verify -binary -inform DER -in "$W/doc.p7s" \
    -content "$W/doc2.pdf" -CAfile "$SIM/stamp-ca.pem" -out /dev/null
check_exit 4 "another CA does not vouch for it" openssl cms -verify -binary -inform DER -in "$W/doc.p7s" \
    -content "$W/doc.pdf" -CAfile "$W/ca-gw.pem" -out /dev/null
expect_eq "answer format" "$(jq -r .format "$W/body")" cades-b-b
expect_eq "answer digest is the document's" "$(jq -r .digest.value "$W/body")" \
    "$(openssl dgst -sha256 -binary "$W/doc.pdf" | base64 -w0)"
expect_eq "stamp certificate in the answer is the simulator's" \
    "$(jq -r .stamp_certificate "$W/body" | base64 -d | openssl x509 -inform DER -noout -subject -nameopt RFC2253)" \
    "$(openssl x509 -in "$SIM/stamp.pem" -noout -subject -nameopt RFC2253)"
attrs=$(openssl cms -cmsout -print -inform DER -in "$W/doc.p7s")
for a in contentType messageDigest signingTime id-smime-aa-signingCertificateV2; do
    expect_match "signed attribute $a" "$attrs" "object: $a"
done

expect_eq "identity may be left out when the client has one stamp identity" \
    "$(curl -sS -o "$W/body" -w '%{http_code}' "${AUTH[@]}" -H 'Content-Type: text/plain' --data-binary @"$W/doc.pdf" "$GW_URL/v1/stamp")" 200
expect_eq "DER answer with Accept: application/pkcs7-signature" \
    "$(curl -sS -o "$W/der.p7s" -w '%{http_code} %{content_type}' "${AUTH[@]}" -H 'Content-Type: application/pdf' \
        -H 'Accept: application/pkcs7-signature' --data-binary @"$W/doc.pdf" "$GW_URL/v1/stamp?identity=dvv-interface")" \
    "200 application/pkcs7-signature"
check "the DER answer verifies" openssl cms -verify -binary -inform DER -in "$W/der.p7s" -content "$W/doc.pdf" \
    -CAfile "$SIM/stamp-ca.pem" -out /dev/null

digest=$(openssl dgst -sha256 -binary "$W/doc.pdf" | base64 -w0)
expect_eq "digest form" "$(api billing POST /v1/stamp -H 'Content-Type: application/json' \
    --data "{\"identity\":\"dvv-interface\",\"digest\":{\"alg\":\"sha256\",\"value\":\"$digest\"},\"name\":\"doc.pdf\"}")" 200
jq -r .cms "$W/body" | base64 -d > "$W/digest.p7s"
check "digest form verifies against the same document" openssl cms -verify -binary -inform DER \
    -in "$W/digest.p7s" -content "$W/doc.pdf" -CAfile "$SIM/stamp-ca.pem" -out /dev/null
expect_error "digest form with a wrong length" 400 invalid_request "$(api billing POST /v1/stamp \
    -H 'Content-Type: application/json' --data '{"identity":"dvv-interface","digest":{"alg":"sha384","value":"'"$digest"'"}}')"
# The digest form is read as strictly as a sign request.
dj() { api billing POST /v1/stamp -H 'Content-Type: application/json' --data "$1"; }
good_digest='"digest":{"alg":"sha256","value":"'"$digest"'"}'
expect_error "digest form: a member twice" 400 invalid_request \
    "$(dj '{"identity":"dvv-interface","identity":"local-seal",'"$good_digest"'}')"
expect_error "digest form: data after the object" 400 invalid_request \
    "$(dj '{"identity":"dvv-interface",'"$good_digest"'} {}')"
expect_error "digest form: a name with a control character" 400 invalid_request \
    "$(dj '{"identity":"dvv-interface",'"$good_digest"',"name":"a\u0007b"}')"
expect_error "digest form: format belongs to /v1/sign" 400 invalid_request \
    "$(dj '{"identity":"dvv-interface",'"$good_digest"',"format":"cms"}')"
expect_error "document form: ?identity= not a name" 400 invalid_request \
    "$(api billing POST '/v1/stamp?identity=dvv%0Ainterface' -H 'Content-Type: application/pdf' \
        --data-binary @"$W/doc.pdf")"
expect_error "stamp with a sign identity" 403 forbidden "$(api billing POST /v1/stamp -H 'Content-Type: application/json' \
    --data "{\"identity\":\"local-seal\",\"digest\":{\"alg\":\"sha256\",\"value\":\"$digest\"}}")"
expect_error "sign with the stamp identity" 403 forbidden \
    "$(api billing POST /v1/sign -H 'Content-Type: application/json' --data "$(sign_body dvv-interface sha256 "$W/doc.pdf" raw)")"
expect_error "stamp by a client not granted" 403 forbidden "$(api other POST '/v1/stamp?identity=dvv-interface' \
    -H 'Content-Type: application/pdf' --data-binary @"$W/doc.pdf")"
expect_error "a client without a stamp identity must name one" 400 invalid_request \
    "$(api other POST /v1/stamp -H 'Content-Type: application/pdf' --data-binary @"$W/doc.pdf")"

# Idempotency-Key: the same CMS, counted once by the simulator.
before=$(simcurl "$SIM_ROOT/sim/counts?month=$(date -u +%Y-%m)" | jq '.counts["org-stamp-1"] // 0')
expect_eq "first with a key" "$(stamp_doc "$W/doc.pdf" -H 'Idempotency-Key: order-4711')" 200
cp "$W/body" "$W/first.json"
expect_eq "repeat with the key" "$(stamp_doc "$W/doc.pdf" -H 'Idempotency-Key: order-4711')" 200
expect_eq "the repeat returns the same CMS" "$(jq -r .cms "$W/body")" "$(jq -r .cms "$W/first.json")"
after=$(simcurl "$SIM_ROOT/sim/counts?month=$(date -u +%Y-%m)" | jq '.counts["org-stamp-1"] // 0')
expect_eq "the simulator counted it once" "$((after - before))" 1
expect_error "the key with another document" 409 conflict "$(stamp_doc "$W/doc2.pdf" -H 'Idempotency-Key: order-4711')"
expect_error "a bad key" 400 invalid_request "$(stamp_doc "$W/doc.pdf" -H 'Idempotency-Key: has space')"
# Kept across a restart of the daemon.
stop_gateway
start_gateway
expect_eq "repeat after a restart" "$(stamp_doc "$W/doc.pdf" -H 'Idempotency-Key: order-4711')" 200
expect_eq "the same CMS after the restart" "$(jq -r .cms "$W/body")" "$(jq -r .cms "$W/first.json")"
expect_eq "still counted once" \
    "$(( $(simcurl "$SIM_ROOT/sim/counts?month=$(date -u +%Y-%m)" | jq '.counts["org-stamp-1"] // 0') - before ))" 1
# The key names one stamp: under another identity of the same client it is
# a conflict, not the first identity's CMS.
jq '(.clients[] | select(.name == "billing") | .identities) += ["dvv-interface-2"]' "$W/sealgate.json" \
    > "$W/c.json" && mv "$W/c.json" "$W/sealgate.json"
reload_gateway ok
expect_error "the key under another identity" 409 conflict \
    "$(curl -sS -o "$W/body" -w '%{http_code}' "${AUTH[@]}" -H 'Content-Type: application/pdf' \
        -H 'Idempotency-Key: order-4711' --data-binary @"$W/doc.pdf" "$GW_URL/v1/stamp?identity=dvv-interface-2")"
expect_eq "that identity stamps under a key of its own" \
    "$(curl -sS -o "$W/body" -w '%{http_code}' "${AUTH[@]}" -H 'Content-Type: application/pdf' \
        -H 'Idempotency-Key: order-4712' --data-binary @"$W/doc.pdf" "$GW_URL/v1/stamp?identity=dvv-interface-2")" 200
expect_eq "the answer names that identity" "$(jq -r .identity "$W/body")" dvv-interface-2

# Authority trouble: failing, slow, gone. Never a hang, always audited.
simcurl -o /dev/null -H 'Content-Type: application/json' --data '{"fail_rate":1}' "$SIM_ROOT/sim/faults"
expect_error "authority failing" 502 authority_error "$(stamp_doc "$W/doc.pdf")"
expect_match "the authority's error code in the description" "$(jq -r .error_description "$W/body")" 'server_error'
simcurl -o /dev/null -H 'Content-Type: application/json' --data '{"fail_rate":0,"delay_ms":4000}' "$SIM_ROOT/sim/faults"
expect_error "authority too slow" 504 authority_timeout "$(stamp_doc "$W/doc.pdf")"
simcurl -o /dev/null -H 'Content-Type: application/json' --data '{"fail_rate":0,"delay_ms":0}' "$SIM_ROOT/sim/faults"
expect_eq "authority back to normal" "$(stamp_doc "$W/doc.pdf")" 200
port=$(jq -r .port "$W/sim.json")
end_sim
expect_error "authority down" 502 authority_error "$(stamp_doc "$W/doc.pdf")"
start_sim "$port"

# 100 MB streamed with a 64 MiB cap: 413, and memory does not follow the document.
rss() { awk '/VmRSS/ {print $2}' "/proc/$GW_PID/status"; }
before_kb=$(rss)
status=$(head -c 100000000 /dev/zero | curl -sS -o "$W/body" -w '%{http_code}' "${AUTH[@]}" -H 'Content-Type: application/pdf' \
    -H 'Transfer-Encoding: chunked' -T - -X POST "$GW_URL/v1/stamp?identity=dvv-interface")
after_kb=$(rss)
expect_error "100 MB document over the 64 MiB cap" 413 payload_too_large "$status"
growth=$((after_kb - before_kb))
if [ "$growth" -lt 16384 ]; then pass "RSS grew by $growth KiB for a 100 MB upload"; else
    fail "RSS grew by $growth KiB for a 100 MB upload"; fi
# With Expect: 100-continue the client sends nothing until the answer, as a
# client announcing a large body does; without it the refusal can race its
# own upload (curl: "Send failure: Broken pipe" before it reads the 413).
expect_error "announced 100 MB refused at once" 413 payload_too_large \
    "$(curl -sS -o "$W/body" -w '%{http_code}' "${AUTH[@]}" -H 'Content-Type: application/pdf' \
        -H 'Expect: 100-continue' --expect100-timeout 30 \
        -H 'Content-Length: 100000000' --data-binary @"$W/doc.pdf" "$GW_URL/v1/stamp?identity=dvv-interface")"
expect_eq "still stamps after that" "$(stamp_doc "$W/doc.pdf")" 200
# The token's objects went away and came back with new handles: the
# interface key (TLS client key and JWS signer) is found again.
echo renumber > "$W/fault"
expect_eq "stamps after the key handles went stale" "$(stamp_doc "$W/doc.pdf")" 200
check "and that stamp verifies" sh -c "jq -r .cms '$W/body' | base64 -d > '$W/renum.p7s' &&
    openssl cms -verify -binary -inform DER -in '$W/renum.p7s' -content '$W/doc.pdf' -CAfile '$SIM/stamp-ca.pem' -out /dev/null"
rm -f "$W/fault"
# The token goes away (a module that must be re-initialised): stamps are
# refused with 503 and nothing reaches the authority; once it is back the
# next stamp goes through, without a restart.
before=$(simcurl "$SIM_ROOT/sim/counts?month=$(date -u +%Y-%m)" | jq '.counts["org-stamp-1"] // 0')
recovered=$(audit_entries token_recovered)
echo dead > "$W/fault"
expect_error "while the token is away, a stamp" 503 token_unavailable "$(stamp_doc "$W/doc.pdf")"
expect_error "  and the next one, at once" 503 token_unavailable "$(stamp_doc "$W/doc.pdf")"
expect_eq "  nothing reached the authority" \
    "$(simcurl "$SIM_ROOT/sim/counts?month=$(date -u +%Y-%m)" | jq '.counts["org-stamp-1"] // 0')" "$before"
rm -f "$W/fault"
wait_until 30 "the token is back" at_least $((recovered + 1)) audit_entries token_recovered
expect_eq "stamps again after the token returned" "$(stamp_doc "$W/doc.pdf")" 200
check "and that stamp verifies" sh -c "jq -r .cms '$W/body' | base64 -d > '$W/back.p7s' &&
    openssl cms -verify -binary -inform DER -in '$W/back.p7s' -content '$W/doc.pdf' -CAfile '$SIM/stamp-ca.pem' -out /dev/null"
stop_gateway

# The auditor's count equals the simulator's.
month=$(date -u +%Y-%m)
sim_count=$(simcurl "$SIM_ROOT/sim/counts?month=$month" | jq '.counts["org-stamp-1"] // 0')
audit_count=$(sealgate-audit counts --month "$month" --json "$W/audit" | jq '[.counts[] | select(.identity | startswith("dvv-interface")) | .stamps] | add // 0')
expect_eq "audit log's stamps equal the simulator's count ($sim_count)" "$audit_count" "$sim_count"
expect_eq "failures audited with the authority" \
    "$(jq -s '[.[] | select(.type=="stamp" and .outcome=="error" and .authority=="dvv-stamp")] | length' "$W"/audit/audit-*.jsonl)" 4
expect_eq "  the one the token failed as token_unavailable" \
    "$(jq -s '[.[] | select(.type=="stamp" and .error=="token_unavailable")] | length' "$W"/audit/audit-*.jsonl)" 1
expect_eq "  the refusal made without the token is counted in its outage" \
    "$(jq -s -r '[.[] | select(.type=="token_recovered")] | last | .refused' "$W"/audit/audit-*.jsonl)" 1
expect_eq "the repeats audited as replays" \
    "$(jq -s '[.[] | select(.type=="stamp" and .replay != null)] | length' "$W"/audit/audit-*.jsonl)" 2
check "chain verifies" audit_verify "$W/audit"
end_sim
finish
