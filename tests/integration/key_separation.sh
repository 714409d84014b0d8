# SPDX-License-Identifier: Apache-2.0
# Key separation: a key that speaks for an authority or seals the audit log
# is never a general-purpose signer. The configuration refuses "sign" on an
# identity with an issuer or an authority, an issuer or authority on the
# checkpoint identity, and key labels that renewal reserves, naming the JSON
# path; and a token recovery keeps the running configuration's grants (an
# edited file takes effect with SIGHUP, not with a recovery).
. "$SG_SRCDIR/tests/integration/lib.sh"
W=$SG_WORK
gateway_fixture
make_ca vero
jq --arg m "$SG_BUILDDIR/tests/fixtures/p11fault.so" --arg ca "$W/ca-vero.pem" '
    .token.module = $m |
    .authorities.vero = {type: "vero-certservice", url: "https://127.0.0.1:1/2017/10/CertificateServices",
        ca_file: $ca, response_signer_ca_file: $ca, environment: "TEST"} |
    .identities += [{name: "vero-ws", key_label: "vero-ws", issuer: "vero", uses: [], customer_id: "0123456-7"}]' \
    "$W/sealgate.json" > "$W/c.json" && mv "$W/c.json" "$W/sealgate.json"
export P11FAULT_MODULE=$MODULE P11FAULT_CONTROL=$W/fault
J=(-H 'Content-Type: application/json')
echo "document" > "$W/doc"
check "the fixture's configuration is good" sealgated --check-config --config "$W/sealgate.json"

# bad_config DESCRIPTION PATH JQ: the fixture changed by JQ is refused by
# --check-config with one line naming PATH.
bad_config() {
    jq "$3" "$W/sealgate.json" > "$W/bad.json"
    check_exit 1 "$1 refused" sealgated --check-config --config "$W/bad.json"
    expect_one_line_error "$1"
    expect_match "  naming $2" "$(cat "$W/last.err")" "$(printf '%s' "$2" | sed 's/[][$.]/\\&/g'): "
}
vero=5    # the index of vero-ws in $.identities
bad_config "sign on an identity with an issuer" "\$.identities[$vero].uses" \
    '(.identities[] | select(.name == "vero-ws")).uses = ["sign"]'
bad_config "the checkpoint identity with an issuer" '$.audit.checkpoint_identity' \
    '.audit.checkpoint_identity = "vero-ws"'
bad_config "a key label renewal stages under" '$.identities[4].key_label' \
    '(.identities[] | select(.name == "spare")).key_label = "vero-ws.next"'
bad_config "a key label renewal retires under" '$.identities[4].key_label' \
    '(.identities[] | select(.name == "spare")).key_label = "vero-ws.retired-20260101T000000Z"'
bad_config "two identities on one key" '$.identities[4].key_label' \
    '(.identities[] | select(.name == "spare")).key_label = "audit-signer"'

# --- a token recovery keeps the running configuration -----------------------
# The file now takes ec-seal away from billing and reorders the identities
# (grants are indexes). Without a SIGHUP a recovery must not load it: it
# finds the keys again for the configuration that is running, and the
# grants change only when the operator says so.
start_gateway
expect_eq "ec-seal signs for billing" \
    "$(api billing POST /v1/sign "${J[@]}" --data "$(sign_body ec-seal sha256 "$W/doc" raw)")" 200
jq '(.clients[] | select(.name == "billing")).identities = ["local-seal"] | .identities |= reverse' \
    "$W/sealgate.json" > "$W/c.json" && mv "$W/c.json" "$W/sealgate.json"
loads=$(metric 'sealgate_config_loads_total{outcome="ok"}')
echo dead > "$W/fault"
expect_error "while the token is away" 503 token_unavailable \
    "$(api billing POST /v1/sign "${J[@]}" --data "$(sign_body ec-seal sha256 "$W/doc" raw)")"
rm -f "$W/fault"
wait_until 30 "the token recovers" at_least 1 audit_entries token_recovered
expect_eq "after the recovery ec-seal still signs for billing: the running grants stand" \
    "$(api billing POST /v1/sign "${J[@]}" --data "$(sign_body ec-seal sha256 "$W/doc" raw)")" 200
expect_eq "  and the recovery loaded no configuration" \
    "$(metric 'sealgate_config_loads_total{outcome="ok"}')" "$loads"
reload_gateway
expect_error "after the SIGHUP ec-seal is refused to billing" 403 forbidden \
    "$(api billing POST /v1/sign "${J[@]}" --data "$(sign_body ec-seal sha256 "$W/doc" raw)")"
expect_error "and so is the next request" 403 forbidden \
    "$(api billing POST /v1/sign "${J[@]}" --data "$(sign_body ec-seal sha256 "$W/doc" raw)")"
expect_eq "local-seal, still granted, signs" \
    "$(api billing POST /v1/sign "${J[@]}" --data "$(sign_body local-seal sha256 "$W/doc" raw)")" 200
stop_gateway
expect_eq "no signature by ec-seal after the reload" \
    "$(jq -s '[.[] | select(.type == "sign" and .identity == "ec-seal" and .outcome == "ok")] | length' "$W"/audit/audit-*.jsonl)" 2
expect_match "the refusals are audited as auth failures" \
    "$(jq -r 'select(.type == "auth_failure" and .identity == "ec-seal") | .client' "$W"/audit/audit-*.jsonl | sort -u)" '^billing$'
check "the chain verifies" audit_verify "$W/audit"
finish
