# SPDX-License-Identifier: Apache-2.0
# The token goes away under load and comes back, in each way hardware does
# (tests/fixtures/p11fault.so around the real SoftHSMv2 module): its objects
# away and back with new handles, the token not present and re-inserted, a
# device error, a module that must be re-initialised. Four clients sign
# throughout. For each outage: every answer is a signature that verifies
# with openssl or 503 token_unavailable; while the token is away no
# request thread touches it (only the prober does, by its thread name);
# the gateway signs again within 2 s of the return, without a restart;
# the audit log holds exactly one token_lost and one token_recovered entry
# for it, and the refusals it counts are the 503s nobody else audited;
# checkpoints stop while it is away and go on, verifiable, after it is back.
. "$SG_SRCDIR/tests/integration/lib.sh"
W=$SG_WORK
fault_fixture
# Checkpoints by count: they go on between outages, never during one.
jq '.audit.checkpoint_every_entries = 40' "$W/sealgate.json" > "$W/c.json" && mv "$W/c.json" "$W/sealgate.json"
openssl x509 -in "$W/audit-signer.pem" -pubkey -noout > "$W/audit.pub"
openssl x509 -in "$W/local-seal.pem" -pubkey -noout > "$W/rsa.pub"
start_gateway

# Token calls made by any thread but the prober.
request_calls() { grep -vc '^sg-token-probe$' "$W/calls" 2>/dev/null || true; }
prober_calls() { grep -c '^sg-token-probe$' "$W/calls" 2>/dev/null || true; }
refused_audited() {
    cat "$W"/audit/audit-*.jsonl | jq -s '[.[] | select(.type == "sign" and .error == "token_unavailable")] | length'
}
# A checkpoint after the last token_recovered entry.
checkpoint_since() {
    cat "$W"/audit/audit-*.jsonl | jq -s -e '
        (map(.type) | rindex("token_recovered")) as $r | $r != null and
        ([.[$r:][] | select(.type == "checkpoint")] | length > 0)' >/dev/null
}
asked=0    # refused requests of the test's own, beside the load's
sign_load_start 4

outage() {
    local mode=$1 lost recovered c0 r0 p0 back_at
    lost=$(audit_entries token_lost)
    recovered=$(audit_entries token_recovered)
    wait_until 60 "$mode: signatures before the outage" at_least $(( $(load_answers 200) + 20 )) load_answers 200
    # Checkpoints went on after the last outage (the count is reached).
    [ "$recovered" -eq 0 ] || wait_until 30 "$mode: a checkpoint after the last outage" checkpoint_since
    echo "$mode" > "$W/fault"
    wait_until 30 "$mode: the outage is recorded" at_least $((lost + 1)) audit_entries token_lost
    wait_until 30 "$mode: 503 token_unavailable while the token is away" \
        at_least $(( $(load_answers 503) + 8 )) load_answers 503
    expect_eq "$mode: /metrics says the token is unavailable" "$(metric sealgate_token_available)" 0
    expect_eq "$mode: the monitor's /readyz is not ready" "$(api monitor GET /readyz)" 503
    expect_eq "$mode:   and says why" "$(jq -r '[.token.state, .token.recovery] | join(" ")' "$W/body")" \
        "unavailable failing"
    asked=$((asked + 1))
    expect_match "$mode: the refusal says when to ask again" \
        "$(curl -sS -D - -o /dev/null -H "Authorization: Bearer $(cat "$W/billing.token")" \
            -H 'Content-Type: application/json' --data "$(sign_body local-seal sha256 "$W/rsa.pub" raw)" \
            "$GW_URL/v1/sign" | tr -d '\r')" '^Retry-After: 1$'
    # While it is away, requests are refused without touching the token:
    # only the prober asks it (every 500 ms).
    c0=$(request_calls) p0=$(prober_calls) r0=$(load_answers 503)
    wait_until 60 "$mode: 12 more refusals" at_least $((r0 + 12)) load_answers 503
    expect_eq "$mode: $(( $(load_answers 503) - r0 )) refusals made no token call" "$(request_calls)" "$c0"
    if [ "$(prober_calls)" -gt "$p0" ]; then pass "$mode: the prober kept asking"; else
        fail "$mode: no probe while the token was away"; fi
    back_at=$(now_ms)
    rm -f "$W/fault"
    expect_outage_over "$mode" "$back_at" "$recovered"
    wait_until 30 "$mode: signatures after the return" at_least $(( $(load_answers 200) + 20 )) load_answers 200
    expect_eq "$mode: one token_lost entry" "$(audit_entries token_lost)" $((lost + 1))
    expect_eq "$mode: one token_recovered entry" "$(audit_entries token_recovered)" $((recovered + 1))
    expect_eq "$mode: /metrics says the token is available" "$(metric sealgate_token_available)" 1
}

outage away
expect_match "away: the level that brought the keys back is recorded" \
    "$(audit_last token_recovered level)" '^(find_keys|login|reopen)$'
outage absent
outage device-error
outage dead
expect_eq "dead: recovered by reopening the module" \
    "$(audit_last token_recovered level)" reopen

sign_load_stop
load_check "$W/rsa.pub"
expect_eq "the log says recovered once per outage" "$(grep -c 'token recovered' "$W/sealgated.log")" 4
stop_gateway
check "audit chain verifies" audit_verify "$W/audit"
expect_eq "every 200 audited" \
    "$(jq -s '[.[] | select(.type=="sign" and .outcome=="ok")] | length' "$W"/audit/audit-*.jsonl)" "$LOAD_OK"
# Checkpoints: none while the token was away, some after each return, and
# every one verifies with openssl against the audit certificate's key.
expect_eq "no checkpoint written during an outage" "$(jq -s '
    reduce .[] as $e ({down: false, bad: 0};
        if $e.type == "token_lost" then .down = true
        elif $e.type == "token_recovered" then .down = false
        elif $e.type == "checkpoint" and .down then .bad += 1 else . end) | .bad' \
    "$W"/audit/audit-*.jsonl)" 0
expect_eq "a checkpoint after each return" "$(jq -s '
    [foreach .[] as $e ({after: false, n: 0};
        if $e.type == "token_recovered" then .after = true
        elif $e.type == "checkpoint" and .after then .n += 1 | .after = false else . end;
        .n)] | last' "$W"/audit/audit-*.jsonl)" 4
bad=0 n=0
while read -r line; do
    n=$((n + 1))
    printf '%s' "$line" | jq -r .prev | xxd -r -p > "$W/head.bin"
    printf '%s' "$line" | jq -r .signature | base64 -d > "$W/cp.sig"
    openssl pkeyutl -verify -pubin -inkey "$W/audit.pub" -sigfile "$W/cp.sig" -in "$W/head.bin" \
        -pkeyopt digest:sha256 >/dev/null 2>&1 || bad=$((bad + 1))
done < <(grep -h '"type":"checkpoint"' "$W"/audit/audit-*.jsonl)
expect_eq "each of the $n checkpoints verifies with openssl" "$bad" 0
counted=$(jq -s '[.[] | select(.type == "token_recovered") | .refused | tonumber] | add' "$W"/audit/audit-*.jsonl)
expect_eq "each 503 is audited alone (it touched the token) or counted in its outage's entry" \
    "$(( counted + $(refused_audited) ))" "$(( $(load_answers 503) + asked ))"
finish
