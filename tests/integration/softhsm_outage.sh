# SPDX-License-Identifier: Apache-2.0
# The real thing, without a fault-injecting module: the SoftHSMv2 token's
# directory is moved away while four clients sign (the token disappears,
# as an HSM partition does when its appliance restarts) and moved back.
# While it is away every answer is 503 token_unavailable; after it returns
# the daemon signs again within 2 s without a restart; every signature
# verifies with openssl; the audit log holds one token_lost and one
# token_recovered entry per outage. Twice, to show the second outage is
# handled like the first.
. "$SG_SRCDIR/tests/integration/lib.sh"
W=$SG_WORK
gateway_fixture
jq '.audit.checkpoint_every_seconds = 86400' "$W/sealgate.json" > "$W/c.json" &&
    mv "$W/c.json" "$W/sealgate.json"
openssl x509 -in "$W/local-seal.pem" -pubkey -noout > "$W/rsa.pub"
start_gateway
token_dir=$(find "$W/tokens" -mindepth 1 -maxdepth 1 -type d)
[ -n "$token_dir" ] || { echo "Bail out! no token directory under $W/tokens"; exit 1; }
sign_load_start 4

for round in 1 2; do
    lost=$(audit_entries token_lost)
    recovered=$(audit_entries token_recovered)
    wait_until 60 "round $round: signatures before the token goes" \
        at_least $(( $(load_answers 200) + 20 )) load_answers 200
    mv "$token_dir" "$W/away"
    wait_until 30 "round $round: the outage is recorded" at_least $((lost + 1)) audit_entries token_lost
    refused=$(load_answers 503)
    wait_until 30 "round $round: 503 token_unavailable while the token is away" \
        at_least $((refused + 8)) load_answers 503
    expect_eq "round $round: /readyz is not ready while it is away" "$(api - GET /readyz)" 503
    back_at=$(now_ms)
    mv "$W/away" "$token_dir"
    expect_outage_over "round $round" "$back_at" "$recovered"
    wait_until 30 "round $round: signatures after the return" \
        at_least $(( $(load_answers 200) + 20 )) load_answers 200
    expect_eq "round $round: one token_lost entry" "$(audit_entries token_lost)" $((lost + 1))
    expect_eq "round $round: one token_recovered entry" "$(audit_entries token_recovered)" \
        $((recovered + 1))
    expect_eq "round $round: /readyz is ready again" "$(api - GET /readyz)" 200
done
sign_load_stop
load_check "$W/rsa.pub"
expect_eq "the same daemon throughout" "$(jq -r .pid "$W/ready.json")" "$GW_PID"
stop_gateway
check "audit chain verifies" audit_verify "$W/audit"
expect_eq "every 200 audited" \
    "$(jq -s '[.[] | select(.type=="sign" and .outcome=="ok")] | length' "$W"/audit/audit-*.jsonl)" "$LOAD_OK"
finish
