# SPDX-License-Identifier: Apache-2.0
# The security officer's actions in the audit log: sealgate-token appends
# token_init... pin_change entries (ok and failed attempts) to the log of
# the configuration it reads, under the log's lock, while sealgated writes
# to the same log; the chain stays whole and holds no PIN.
. "$SG_SRCDIR/tests/integration/lib.sh"
W=$SG_WORK
gateway_fixture
make_ca officer
start_gateway
export SEALGATE_CONFIG=$W/sealgate.json
P="--pin-file $W/pin"
J=(-H 'Content-Type: application/json')
echo "document" > "$W/doc"

# Requests to the daemon in the background while the officer works.
(for i in $(seq 1 60); do
    api billing POST /v1/sign "${J[@]}" --data "$(sign_body ec-seal sha256 "$W/doc" raw)" >/dev/null
done) &
load=$!
check "keygen" sealgate-token keygen --label officer-key --type ec:p256 $P --json
key_id=$(jq -r .id "$W/last.out")
check "csr" sealgate-token csr --label officer-key --subject "C=FI,O=Officer Oy,CN=officer" $P --out "$W/o.csr"
issue_cert officer "$W/o.csr" "$W/o.pem"
check "import-cert" sealgate-token import-cert --label officer-key --cert "$W/o.pem" $P
(umask 077; echo 000000 > "$W/bad-pin")
check_exit 1 "keygen with a wrong PIN" sealgate-token keygen --label nope --type ec:p256 --pin-file "$W/bad-pin"
check "retire" sealgate-token retire --label officer-key --yes $P
(umask 077; echo 424242 > "$W/new-pin")
check "change-pin" sealgate-token change-pin $P --new-pin-file "$W/new-pin"
check_exit 2 "usage errors are not audited" sealgate-token keygen --label x --type rsa:1
wait "$load"
stop_gateway

log=$(cat "$W"/audit/audit-*.jsonl)
check "chain verifies with officer and daemon writing together" audit_verify "$W/audit"
types=$(printf '%s\n' "$log" | jq -r 'select(.client|tostring|startswith("officer:")) | "\(.type):\(.outcome)"' | tr '\n' ' ')
expect_eq "officer entries in order" "$types" \
    "keygen:ok csr:ok cert_import:ok keygen:error key_retire:ok pin_change:ok "
expect_eq "daemon entries all there" "$(printf '%s\n' "$log" | jq -s '[.[] | select(.type=="sign" and .outcome=="ok")] | length')" 60
expect_eq "keygen entry names the key id" \
    "$(printf '%s\n' "$log" | jq -r 'select(.type=="keygen" and .outcome=="ok") | .key_id')" "$key_id"
expect_eq "keygen entry names the key type" \
    "$(printf '%s\n' "$log" | jq -r 'select(.type=="keygen" and .outcome=="ok") | .detail')" "ec:p256"
expect_eq "csr entry holds the SHA-256 of the CSR" \
    "$(printf '%s\n' "$log" | jq -r 'select(.type=="csr") | .digest')" \
    "sha256:$(openssl req -in "$W/o.csr" -outform DER | sha256sum | cut -d' ' -f1)"
expect_eq "cert_import entry holds the serial" \
    "$(printf '%s\n' "$log" | jq -r 'select(.type=="cert_import") | .cert_serial')" \
    "$(openssl x509 -in "$W/o.pem" -noout -serial | cut -d= -f2)"
expect_match "failed keygen says why" \
    "$(printf '%s\n' "$log" | jq -r 'select(.type=="keygen" and .outcome=="error") | .error')" 'PIN incorrect'
expect_eq "key_retire names the label" \
    "$(printf '%s\n' "$log" | jq -r 'select(.type=="key_retire") | .label')" officer-key
# Every string in the log but the hashes (hex could hold any digits).
strings=$(printf '%s\n' "$log" | jq -r 'del(.prev, .hash) | .. | strings')
expect_no_match "no PIN in the log" "$strings" "$(cat "$W/pin")|424242|000000"

# When the log cannot be written, the officer is told.
jq --arg d "$W/doc" '.audit.dir = $d' "$W/sealgate.json" > "$W/broken.json"
check_exit 1 "unwritable log: keygen reports it" env SEALGATE_CONFIG="$W/broken.json" \
    sealgate-token keygen --label late --type ec:p256 --pin-file "$W/new-pin"
expect_match "message says the token changed but the log did not" "$(tail -n1 "$W/last.err")" \
    'keygen was done on the token but the audit log could not be written'
finish
