# SPDX-License-Identifier: Apache-2.0
# The auditor's endpoints over a real log written by sealgated: entries
# with filters and paging, verify (and a tampered log caught with the
# seq of the edited entry), monthly counts matching the requests made, and
# only the auditor role let in.
. "$SG_SRCDIR/tests/integration/lib.sh"
W=$SG_WORK
gateway_fixture
start_gateway
J=(-H 'Content-Type: application/json')
echo "document" > "$W/doc"
for i in $(seq 1 7); do
    api billing POST /v1/sign "${J[@]}" --data "$(sign_body local-seal sha256 "$W/doc" raw)" >/dev/null
done
for i in $(seq 1 4); do
    api billing POST /v1/sign "${J[@]}" --data "$(sign_body ec-seal sha384 "$W/doc" cms)" >/dev/null
done
api billing POST /v1/sign "${J[@]}" --data '{"identity":"local-seal"}' >/dev/null
api other POST /v1/sign "${J[@]}" --data "$(sign_body local-seal sha256 "$W/doc" raw)" >/dev/null
month=$(date -u +%Y-%m)

# Role checks.
expect_error "entries without a token" 401 unauthorized "$(api - GET /v1/audit/entries)"
expect_error "entries with a stamp token" 403 forbidden "$(api billing GET /v1/audit/entries)"
expect_error "counts with the monitor token" 403 forbidden "$(api monitor GET "/v1/audit/counts?month=$month")"

# Entries and filters.
expect_eq "entries" "$(api auditor GET '/v1/audit/entries?client=billing&type=sign&outcome=ok')" 200
expect_eq "filtered: the 11 signatures of billing" "$(jq '.entries | length' "$W/body")" 11
expect_eq "no further page" "$(jq -r .next_after_seq "$W/body")" null
expect_eq "filtered by identity" \
    "$(api auditor GET '/v1/audit/entries?identity=ec-seal&type=sign' >/dev/null; jq '.entries | length' "$W/body")" 4
expect_eq "refusals filtered" \
    "$(api auditor GET '/v1/audit/entries?outcome=error' >/dev/null; jq -r '[.entries[].type] | sort | join(",")' "$W/body")" \
    "auth_failure,auth_failure,auth_failure,auth_failure,sign"
expect_eq "entries carry the digest" \
    "$(api auditor GET '/v1/audit/entries?identity=ec-seal&limit=1' >/dev/null; jq -r '.entries[0].digest' "$W/body")" \
    "sha384:$(openssl dgst -sha384 -r "$W/doc" | cut -d' ' -f1)"
# Paging: limit 3 until next_after_seq is null, every entry once.
after=0 seen=0 pages=0
while :; do
    api auditor GET "/v1/audit/entries?limit=3&after_seq=$after" >/dev/null
    seen=$((seen + $(jq '.entries | length' "$W/body")))
    pages=$((pages + 1))
    next=$(jq -r .next_after_seq "$W/body")
    [ "$next" = null ] && break
    after=$next
    [ "$pages" -gt 50 ] && break
done
total=$(cat "$W"/audit/audit-*.jsonl | wc -l)
expect_eq "paging returns every entry once ($pages pages)" "$seen" "$total"
expect_eq "from a time after everything: nothing" \
    "$(api auditor GET '/v1/audit/entries?from=2099-01-01T00:00:00Z' >/dev/null; jq '.entries | length' "$W/body")" 0
expect_eq "up to a time before everything: nothing" \
    "$(api auditor GET '/v1/audit/entries?to=2000-01-01' >/dev/null; jq '.entries | length' "$W/body")" 0
for bad in 'limit=0' 'limit=1001' 'limit=x' 'after_seq=-1' 'from=yesterday' 'outcome=maybe'; do
    expect_error "entries?$bad" 400 invalid_request "$(api auditor GET "/v1/audit/entries?$bad")"
done

# Counts.
expect_eq "counts" "$(api auditor GET "/v1/audit/counts?month=$month")" 200
expect_eq "counts month" "$(jq -r .month "$W/body")" "$month"
expect_eq "signatures of billing with local-seal" \
    "$(jq '.counts[] | select(.identity=="local-seal" and .client=="billing") | .signatures' "$W/body")" 7
expect_eq "signatures of billing with ec-seal" \
    "$(jq '.counts[] | select(.identity=="ec-seal" and .client=="billing") | .signatures' "$W/body")" 4
expect_eq "counts by client" \
    "$(api auditor GET "/v1/audit/counts?month=$month&by=client" >/dev/null; jq -c '[.counts[] | {client, signatures}]' "$W/body")" \
    '[{"client":"billing","signatures":11}]'
expect_eq "another month is empty" \
    "$(api auditor GET '/v1/audit/counts?month=2001-01' >/dev/null; jq '.counts | length' "$W/body")" 0
expect_error "counts without a month" 400 invalid_request "$(api auditor GET /v1/audit/counts)"
expect_error "counts with a bad month" 400 invalid_request "$(api auditor GET '/v1/audit/counts?month=2026-13')"
expect_error "counts by something else" 400 invalid_request "$(api auditor GET "/v1/audit/counts?month=$month&by=day")"

# Verify, then tamper with one entry in the middle.
expect_eq "verify" "$(api auditor GET /v1/audit/verify)" 200
expect_eq "verify: intact, but nothing sealed before the first checkpoint" \
    "$(jq -c '[.ok, .detail, .sealed, .sealed_by]' "$W/body")" '[false,"chain intact",false,null]'
expect_match "  and says so" "$(jq -r .seal_detail "$W/body")" 'no checkpoint signed by the audit key'
expect_eq "verify counts every entry" "$(jq -r .entries "$W/body")" "$(cat "$W"/audit/audit-*.jsonl | wc -l)"
expect_eq "verify?accept_unsealed=1" "$(api auditor GET '/v1/audit/verify?accept_unsealed=1')" 200
expect_eq "  passes the intact chain" "$(jq -c '[.ok, .sealed]' "$W/body")" '[true,false]'
stop_gateway
# The clean stop sealed everything; the restart's entries are young.
cp_seq=$(tail -n1 "$(ls "$W"/audit/audit-*.jsonl | tail -1)" | jq .seq)
start_gateway
expect_eq "verify after a clean stop" "$(api auditor GET /v1/audit/verify)" 200
expect_eq "  sealed by the shutdown checkpoint, the restart's entries on their way" \
    "$(jq -c '[.ok, .sealed, .sealed_by, .unsealed_entries]' "$W/body")" "[true,true,$cp_seq,2]"
stop_gateway
log=$(ls "$W"/audit/audit-*.jsonl | head -1)
victim=$(grep -n '"identity":"ec-seal"' "$log" | head -1 | cut -d: -f1)
victim_seq=$(sed -n "${victim}p" "$log" | jq .seq)
sed -i "${victim}s/\"client\":\"billing\"/\"client\":\"mallory\"/" "$log"
start_gateway
expect_eq "verify after tampering" "$(api auditor GET /v1/audit/verify)" 200
expect_eq "tampering found" "$(jq -r .ok "$W/body")" false
expect_eq "first bad seq is the edited entry" "$(jq -r .first_bad_seq "$W/body")" "$victim_seq"
expect_match "detail says why" "$(jq -r .detail "$W/body")" 'hash mismatch'
stop_gateway
finish
