# SPDX-License-Identifier: Apache-2.0
# POST /v1/sign end to end: raw and CMS signatures from a daemon on port 0
# over a fresh token, for RSA and EC and every digest, each checked with
# openssl (pkeyutl -verify, cms -verify); the answer's certificate is the
# one on the token; health, readiness, identities and metrics.
. "$SG_SRCDIR/tests/integration/lib.sh"
W=$SG_WORK
gateway_fixture
start_gateway
head -c 65536 /dev/urandom > "$W/doc"
cp "$W/doc" "$W/doc2"; printf 'x' >> "$W/doc2"
openssl x509 -in "$W/local-seal.pem" -pubkey -noout > "$W/local-seal.pub"
openssl x509 -in "$W/ec-seal.pem" -pubkey -noout > "$W/ec-seal.pub"

expect_eq "healthz" "$(api - GET /healthz)" 200
expect_eq "healthz body" "$(jq -r .status "$W/body")" ok
expect_eq "readyz" "$(api - GET /readyz)" 200
expect_eq "readyz status" "$(jq -r .status "$W/body")" ready
expect_eq "without the monitor role, the status alone" "$(jq -c . "$W/body")" '{"status":"ready"}'
expect_eq "readyz as monitor" "$(api monitor GET /readyz)" 200
expect_eq "readyz checks each identity" "$(jq -r '.checks["identity:ec-seal"]' "$W/body")" ok
expect_eq "a stamp client sees the status alone" "$(api billing GET /readyz; jq -c . "$W/body")" '200{"status":"ready"}'
expect_eq "so does an unknown token, without a refusal" \
    "$(curl -sS -o "$W/body" -w '%{http_code}' -H 'Authorization: Bearer nope' "$GW_URL/readyz"; jq -c . "$W/body")" \
    '200{"status":"ready"}'
curl -sS -D "$W/hdr" -o /dev/null -H 'X-Request-Id: abc-123' "$GW_URL/healthz"
expect_match "the client's X-Request-Id comes back as X-Client-Request-Id" "$(cat "$W/hdr")" \
    '[Xx]-[Cc]lient-[Rr]equest-[Ii]d: abc-123'
expect_match "X-Request-Id is the gateway's own" "$(cat "$W/hdr")" '[Xx]-[Rr]equest-[Ii]d: [0-9a-f]{16}'
# Two requests with the same client id are two entries with two ids.
for i in 1 2; do
    api billing POST /v1/sign -H 'Content-Type: application/json' -H 'X-Request-Id: same-id' \
        --data "$(sign_body ec-seal sha256 "$W/doc" raw)" > /dev/null
done
expect_eq "a repeated client id gives unique request ids in the log" \
    "$(jq -r 'select(.client_request_id == "same-id") | .request_id' "$W"/audit/audit-*.jsonl | sort -u | wc -l)" 2

for id in local-seal ec-seal; do
    for md in sha256 sha384 sha512; do
        openssl dgst -$md -binary "$W/doc" > "$W/digest"
        status=$(api billing POST /v1/sign -H 'Content-Type: application/json' \
            --data "$(sign_body $id $md "$W/doc" raw)")
        expect_eq "sign raw $id $md" "$status" 200
        jq -r .signature "$W/body" | base64 -d > "$W/sig"
        check "pkeyutl verifies raw $id $md" openssl pkeyutl -verify -pubin -inkey "$W/$id.pub" \
            -sigfile "$W/sig" -in "$W/digest" -pkeyopt digest:$md
        openssl dgst -$md -binary "$W/doc2" > "$W/digest2"
        check_exit 1 "raw $id $md fails for another digest" openssl pkeyutl -verify -pubin \
            -inkey "$W/$id.pub" -sigfile "$W/sig" -in "$W/digest2" -pkeyopt digest:$md
        expect_eq "answer names the identity" "$(jq -r .identity "$W/body")" "$id"
        jq -r .certificate "$W/body" | base64 -d | openssl x509 -inform DER -out "$W/answer.pem"
        check "answer certificate is the token's" cmp <(openssl x509 -in "$W/answer.pem" -outform DER) \
            <(openssl x509 -in "$W/$id.pem" -outform DER)

        status=$(api billing POST /v1/sign -H 'Content-Type: application/json' \
            --data "$(sign_body $id $md "$W/doc" cms)")
        expect_eq "sign cms $id $md" "$status" 200
        jq -r .signature "$W/body" | base64 -d > "$W/sig.cms"
        check "cms -verify $id $md" openssl cms -verify -binary -inform DER -in "$W/sig.cms" \
            -content "$W/doc" -CAfile "$W/ca-gw.pem" -out /dev/null
        check_exit 4 "cms $id $md fails for a changed document" openssl cms -verify -binary -inform DER \
            -in "$W/sig.cms" -content "$W/doc2" -CAfile "$W/ca-gw.pem" -out /dev/null
    done
done
attrs=$(openssl cms -cmsout -print -inform DER -in "$W/sig.cms")
for a in contentType messageDigest signingTime id-smime-aa-signingCertificateV2; do
    expect_match "CMS signed attribute $a" "$attrs" "object: $a"
done

expect_eq "raw signature without a certificate" "$(api billing POST /v1/sign -H 'Content-Type: application/json' \
    --data "$(sign_body bare sha256 "$W/doc" raw)")" 200
expect_eq "certificate is null" "$(jq -r .certificate "$W/body")" null

expect_eq "identities" "$(api billing GET /v1/identities)" 200
expect_eq "identities the client may use" "$(jq -r '[.[].name] | sort | join(",")' "$W/body")" "bare,ec-seal,local-seal,spare"
expect_eq "identity key type" "$(jq -r '.[] | select(.name=="ec-seal") | .key_type' "$W/body")" ec:p256
expect_eq "identity certificate serial" "$(jq -r '.[] | select(.name=="local-seal") | .certificate.serial' "$W/body")" \
    "$(openssl x509 -in "$W/local-seal.pem" -noout -serial | cut -d= -f2)"
expect_eq "client without grants sees none" "$(api other GET /v1/identities; jq length "$W/body")" "2000"

expect_eq "metrics" "$(api monitor GET /metrics)" 200
m=$(cat "$W/body")
expect_match "signatures counted" "$m" 'sealgate_signatures_total\{identity="local-seal",operation="cms"\} 3'
expect_match "requests counted" "$m" 'sealgate_requests_total\{route="sign",status="200"\} 1[0-9]'
expect_match "certificate expiry exported" "$m" 'sealgate_certificate_expiry_seconds\{identity="local-seal"\} [0-9]+'
expect_match "audit entries exported" "$m" 'sealgate_audit_entries_total [0-9]+'
expect_match "audit syncs exported" "$m" 'sealgate_audit_syncs_total [1-9][0-9]*'
entries=$(printf '%s\n' "$m" | awk '/^sealgate_audit_entries_total /{print $2}')
syncs=$(printf '%s\n' "$m" | awk '/^sealgate_audit_syncs_total /{print $2}')
fsync_s=$(printf '%s\n' "$m" | awk '/^sealgate_audit_fdatasync_seconds_total /{print $2}')
expect_eq "time in fdatasync exported, positive" "$(awk -v s="${fsync_s:-0}" 'BEGIN{print (s > 0) ? "yes" : s}')" yes
expect_match "no announcement outstanding without a group commit" "$m" '^sealgate_audit_announced 0$'
expect_eq "no more syncs than entries" "$([ "$syncs" -le "$entries" ] && echo yes || echo "$syncs > $entries")" yes
expect_match "latency histogram" "$m" 'sealgate_request_seconds_bucket\{route="sign",le="\+Inf"\}'
stop_gateway
finish
