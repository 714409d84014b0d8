# SPDX-License-Identifier: Apache-2.0
# Signed checkpoints in sealgated's audit log: every N entries and at
# shutdown, each signed on the token by the audit identity over the hash of
# the entry before it, checked here with openssl against the audit
# certificate; a forged signature does not verify. The log rotates by size
# with the chain going on across files, and a torn last line left by a
# crash is set aside at the next start and reported in its startup entry.
. "$SG_SRCDIR/tests/integration/lib.sh"
W=$SG_WORK
gateway_fixture
jq '.audit.checkpoint_every_entries = 5 | .audit.checkpoint_every_seconds = 3600 | .audit.rotate_bytes = 4096' \
    "$W/sealgate.json" > "$W/c.json" &&
    mv "$W/c.json" "$W/sealgate.json"
openssl x509 -in "$W/audit-signer.pem" -pubkey -noout > "$W/audit.pub"
J=(-H 'Content-Type: application/json')
echo "document" > "$W/doc"
start_gateway
for i in $(seq 1 12); do
    api billing POST /v1/sign "${J[@]}" --data "$(sign_body ec-seal sha256 "$W/doc" raw)" >/dev/null
done
# Checked once a second: wait (bounded) for the count-triggered ones.
wait_until 30 "a checkpoint by count" at_least 1 audit_entries checkpoint
n=$(audit_entries checkpoint)
if [ "$n" -ge 1 ]; then pass "a checkpoint after 5 entries ($n)"; else fail "no checkpoint after 14 entries"; fi
stop_gateway
check "chain verifies" audit_verify "$W/audit"
nfiles=$(ls "$W"/audit/audit-*.jsonl | wc -l)
if [ "$nfiles" -ge 3 ]; then pass "log rotated by size ($nfiles files)"; else fail "only $nfiles log files"; fi
expect_eq "each later file starts where the one before ended" \
    "$(head -n1 "$W/audit/audit-000002.jsonl" | jq -r .prev)" "$(tail -n1 "$W/audit/audit-000001.jsonl" | jq -r .hash)"

log=$(cat "$W"/audit/audit-*.jsonl)
expect_eq "the log ends with a checkpoint" "$(printf '%s\n' "$log" | tail -n1 | jq -r .type)" checkpoint
ncp=$(printf '%s\n' "$log" | jq -s '[.[] | select(.type=="checkpoint")] | length')
verified=0
while read -r line; do
    printf '%s' "$line" | jq -r .prev | xxd -r -p > "$W/head.bin"
    printf '%s' "$line" | jq -r .signature | base64 -d > "$W/cp.sig"
    openssl pkeyutl -verify -pubin -inkey "$W/audit.pub" -sigfile "$W/cp.sig" -in "$W/head.bin" \
        -pkeyopt digest:sha256 >/dev/null 2>&1 && verified=$((verified + 1))
done < <(printf '%s\n' "$log" | jq -c 'select(.type=="checkpoint")')
expect_eq "every checkpoint signature verifies with the audit certificate ($ncp)" "$verified" "$ncp"
last=$(printf '%s\n' "$log" | tail -n1)
expect_eq "final checkpoint seals the shutdown entry" "$(printf '%s' "$last" | jq -r .prev)" \
    "$(printf '%s\n' "$log" | tail -n2 | head -n1 | jq -r .hash)"
expect_eq "checkpoint names the audit identity" "$(printf '%s' "$last" | jq -r .identity)" audit-signer
expect_eq "checkpoint names the certificate serial" "$(printf '%s' "$last" | jq -r .cert_serial)" \
    "$(openssl x509 -in "$W/audit-signer.pem" -noout -serial | cut -d= -f2)"
expect_eq "checkpoint algorithm" "$(printf '%s' "$last" | jq -r .alg)" ecdsa-sha256
# A signature over another head does not verify.
printf '%s' "$last" | jq -r .hash | xxd -r -p > "$W/other.bin"
printf '%s' "$last" | jq -r .signature | base64 -d > "$W/cp.sig"
check_exit 1 "signature does not verify over another head" openssl pkeyutl -verify -pubin -inkey "$W/audit.pub" \
    -sigfile "$W/cp.sig" -in "$W/other.bin" -pkeyopt digest:sha256

# A crash in the middle of a write leaves a torn last line: set aside at
# the next start, reported, and the chain goes on from the last whole entry.
newest=$(ls "$W"/audit/audit-*.jsonl | tail -1)
printf '{"seq":999,"time":"2026-' >> "$newest"
start_gateway
expect_eq "signs after the torn tail" "$(api billing POST /v1/sign "${J[@]}" --data "$(sign_body ec-seal sha256 "$W/doc" raw)")" 200
stop_gateway
torn=$(ls "$W"/audit | grep '\.torn-' || true)
if [ -n "$torn" ]; then pass "torn tail set aside in $torn"; else fail "no .torn file"; fi
expect_eq "the torn bytes are kept as they were" "$(cat "$W/audit/$torn" 2>/dev/null)" '{"seq":999,"time":"2026-'
expect_match "startup entry reports it" \
    "$(jq -r 'select(.type=="startup") | .detail' "$W"/audit/audit-*.jsonl | tail -n1)" "torn audit tail set aside in $torn"
check "chain verifies after the torn tail" audit_verify "$W/audit"
finish
