# SPDX-License-Identifier: Apache-2.0
# Every refusal of sealgated with its status and JSON error body: the auth
# matrix (no token, bad token, wrong role, identity not granted, identity
# not for signing), malformed requests, limits, unknown routes; each
# refused /v1/sign and each auth failure is in the audit log.
. "$SG_SRCDIR/tests/integration/lib.sh"
W=$SG_WORK
gateway_fixture
start_gateway
echo "document" > "$W/doc"
J=(-H 'Content-Type: application/json')
good=$(sign_body local-seal sha256 "$W/doc" raw)

# Authentication and authorisation.
expect_error "sign without a token" 401 unauthorized "$(api - POST /v1/sign "${J[@]}" --data "$good")"
expect_error "sign with a bad token" 401 unauthorized \
    "$(curl -sS -o "$W/body" -w '%{http_code}' -H 'Authorization: Bearer nope' "${J[@]}" --data "$good" "$GW_URL/v1/sign")"
expect_error "sign with a malformed Authorization" 401 unauthorized \
    "$(curl -sS -o "$W/body" -w '%{http_code}' -H "Authorization: Basic $(cat "$W/billing.token")" "${J[@]}" --data "$good" "$GW_URL/v1/sign")"
expect_error "sign with the auditor's token" 403 forbidden "$(api auditor POST /v1/sign "${J[@]}" --data "$good")"
expect_error "metrics with a stamp token" 403 forbidden "$(api billing GET /metrics)"
expect_error "metrics without a token" 401 unauthorized "$(api - GET /metrics)"
expect_error "identities with the monitor token" 403 forbidden "$(api monitor GET /v1/identities)"
expect_error "identity not granted" 403 forbidden "$(api other POST /v1/sign "${J[@]}" --data "$good")"
expect_error "identity not for signing" 403 forbidden \
    "$(api billing POST /v1/sign "${J[@]}" --data "$(sign_body spare sha256 "$W/doc" raw)")"
expect_error "unknown identity" 404 not_found \
    "$(api billing POST /v1/sign "${J[@]}" --data "$(sign_body nosuch sha256 "$W/doc" raw)")"

# Malformed requests.
d256=$(openssl dgst -sha256 -binary "$W/doc" | base64 -w0)
bad_bodies=(
    'not json'
    '[1,2]'
    '{"identity":"local-seal"}'
    '{"identity":"local-seal","digest":{"alg":"md5","value":"'"$d256"'"},"format":"raw"}'
    '{"identity":"local-seal","digest":{"alg":"sha256","value":"!!!"},"format":"raw"}'
    '{"identity":"local-seal","digest":{"alg":"sha384","value":"'"$d256"'"},"format":"raw"}'
    '{"identity":"local-seal","digest":{"alg":"sha256","value":"'"$d256"'"},"format":"pdf"}'
    '{"identity":"local-seal","digest":{"alg":"sha256","value":"'"$d256"'"},"extra":1}'
    '{"identity":7,"digest":{"alg":"sha256","value":"'"$d256"'"}}'
    '{"identity":"local-seal","digest":{"alg":"sha256","value":"'"$d256"'","x":1}}'
    '{"identity":"local-seal","digest":"'"$d256"'"}'
)
for body in "${bad_bodies[@]}"; do
    expect_error "bad body ${body:0:60}" 400 invalid_request "$(api billing POST /v1/sign "${J[@]}" --data "$body")"
done
expect_error "wrong content type" 415 unsupported_media_type \
    "$(api billing POST /v1/sign -H 'Content-Type: text/plain' --data "$good")"
expect_error "no content type" 415 unsupported_media_type \
    "$(curl -sS -o "$W/body" -w '%{http_code}' -H "Authorization: Bearer $(cat "$W/billing.token")" -H 'Content-Type:' --data-binary "$good" "$GW_URL/v1/sign")"
head -c 5000 /dev/zero | tr '\0' 'a' > "$W/big"
expect_error "body over max_json_bytes" 413 payload_too_large \
    "$(api billing POST /v1/sign "${J[@]}" --data-binary @"$W/big")"
expect_error "chunked body over max_json_bytes" 413 payload_too_large \
    "$(api billing POST /v1/sign "${J[@]}" -H 'Transfer-Encoding: chunked' --data-binary @"$W/big")"
expect_error "cms without a certificate" 409 conflict \
    "$(api billing POST /v1/sign "${J[@]}" --data "$(sign_body bare sha256 "$W/doc" cms)")"
expect_error "unknown path" 404 not_found "$(api billing GET /v1/nothing)"
expect_error "wrong method" 405 method_not_allowed "$(api billing GET /v1/sign)"
expect_eq "405 names the allowed method" \
    "$(curl -sS -D - -o /dev/null "$GW_URL/v1/sign" | tr -d '\r' | grep -i '^allow:' | cut -d' ' -f2)" POST
big_header=$(head -c 20000 /dev/zero | tr '\0' 'h')
expect_eq "headers over 16 KiB refused" \
    "$(curl -sS -o "$W/body" -w '%{http_code}' -H "X-Big: $big_header" "$GW_URL/healthz")" 431
expect_eq "daemon still healthy" "$(api - GET /healthz)" 200
expect_eq "good request still signs" "$(api billing POST /v1/sign "${J[@]}" --data "$good")" 200

# Every refusal is in the audit log, with the client where one was known.
stop_gateway
log=$(cat "$W"/audit/audit-*.jsonl)
expect_eq "auth failures audited" "$(printf '%s\n' "$log" | jq -s '[.[] | select(.type=="auth_failure")] | length')" 8
expect_eq "forbidden auditor audited with its name" \
    "$(printf '%s\n' "$log" | jq -rs '[.[] | select(.type=="auth_failure" and .client=="auditor")] | length')" 1
expect_eq "refused sign requests audited" \
    "$(printf '%s\n' "$log" | jq -s '[.[] | select(.type=="sign" and .outcome=="error")] | length')" 18
expect_eq "successful sign audited with digest" \
    "$(printf '%s\n' "$log" | jq -r 'select(.type=="sign" and .outcome=="ok") | .digest')" "sha256:$(openssl dgst -sha256 -r "$W/doc" | cut -d' ' -f1)"
expect_no_match "no client token in the log" "$log" "$(cat "$W/billing.token")"
check "audit chain verifies" audit_verify "$W/audit"
finish
