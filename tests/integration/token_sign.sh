# SPDX-License-Identifier: Apache-2.0
# Signatures made on the token verify with openssl against the public key
# exported by pkcs11-tool (RSA PKCS#1 v1.5, RSA-PSS, ECDSA; SHA-256/384/512),
# and fail against a changed document. Each one is in the audit log before
# it is given out; the keys the gateway alone signs with (the audit
# checkpoint key, an authority's credential, an issued identity's key and
# the keys its renewal stages) are refused, and so is signing without the
# configuration that names them.
. "$SG_SRCDIR/tests/integration/lib.sh"
P="--pin-file $SG_WORK/pin"
W=$SG_WORK

make_token
make_ca tls
mkdir -p "$W/audit"
cat > "$W/sealgate.json" <<JSON
{
  "listen": { "address": "127.0.0.1", "port": 0, "threads": 1, "tls": null },
  "token": { "module": "$MODULE", "label": "sealgate", "pin_file": "pin" },
  "audit": { "dir": "audit", "checkpoint_identity": "audit-signer" },
  "authorities": {
    "seal": { "type": "csc-v2", "url": "https://127.0.0.1:1/csc/v2/", "ca_file": "ca-tls.pem",
              "credential_id": "c1" },
    "vero": { "type": "vero-certservice", "url": "https://127.0.0.1:1/2017/10/CertificateServices",
              "ca_file": "ca-tls.pem", "response_signer_ca_file": "ca-tls.pem", "environment": "TEST" }
  },
  "identities": [
    { "name": "audit-signer", "key_label": "audit-key", "uses": [] },
    { "name": "stamper", "key_label": "stamp-key", "authority": "seal", "uses": ["stamp"] },
    { "name": "vero-ws", "key_label": "vero-key", "issuer": "vero", "uses": [], "customer_id": "0123456-7" }
  ],
  "clients": []
}
JSON
export SEALGATE_CONFIG=$W/sealgate.json
sealgate-token keygen --label rsa --type rsa:2048 $P >/dev/null
sealgate-token keygen --label p256 --type ec:p256 $P >/dev/null
sealgate-token keygen --label p384 --type ec:p384 $P >/dev/null
head -c 100000 /dev/urandom > "$W/doc"
cp "$W/doc" "$W/doc.changed"; printf x >> "$W/doc.changed"

# OpenSC 0.23's pkcs11-tool cannot export P-384 public keys; GnuTLS's
# p11tool reads that one.
for label in rsa p256; do
    pkcs11-tool --module "$MODULE" --token-label sealgate --read-object --type pubkey --label "$label" \
        -o "$W/$label.der" >/dev/null 2>&1
    openssl pkey -pubin -inform DER -in "$W/$label.der" -out "$W/$label.pem"
done
GNUTLS_PIN=$(cat "$W/pin") p11tool --provider "$MODULE" --login --export-pubkey \
    "pkcs11:token=sealgate;object=p384;type=public" --outfile "$W/p384.pem" >/dev/null 2>&1
for label in rsa p256 p384; do
    check "tool's pubkey equals pkcs11-tool's ($label)" \
        cmp <(sealgate-token pubkey --label "$label" $P) "$W/$label.pem"
done

for md in sha256 sha384 sha512; do
    for label in rsa p256 p384; do
        check "sign $label $md" sealgate-token sign --label "$label" --digest $md --in "$W/doc" --out "$W/sig" $P
        check "openssl verifies $label $md" openssl dgst -$md -verify "$W/$label.pem" -signature "$W/sig" "$W/doc"
        check_exit 1 "changed document fails $label $md" \
            openssl dgst -$md -verify "$W/$label.pem" -signature "$W/sig" "$W/doc.changed"
    done
    check "sign rsa-pss $md" sealgate-token sign --label rsa --pss --digest $md --in "$W/doc" --out "$W/sig" $P
    check "openssl verifies rsa-pss $md" openssl dgst -$md -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:-1 \
        -verify "$W/rsa.pem" -signature "$W/sig" "$W/doc"
    check_exit 1 "pss signature is not PKCS#1 v1.5" \
        openssl dgst -$md -verify "$W/rsa.pem" -signature "$W/sig" "$W/doc"
done
check_exit 1 "pss with an EC key refused" sealgate-token sign --label p256 --pss --in "$W/doc" $P
check_exit 2 "unknown digest refused" sealgate-token sign --label rsa --digest md5 --in "$W/doc" $P

# Each signature is an officer_sign entry with the key and the digest.
entries=$(cat "$W"/audit/audit-*.jsonl | jq -c 'select(.type == "officer_sign")')
expect_eq "every signature audited (12 made, 1 refused: PSS with EC)" \
    "$(printf '%s\n' "$entries" | jq -s -c 'group_by(.outcome) | map({(.[0].outcome): length}) | add')" \
    '{"error":1,"ok":12}'
expect_eq "the entry names the document's digest" \
    "$(printf '%s\n' "$entries" | jq -r 'select(.outcome == "ok") | .digest' | head -n 1)" \
    "sha256:$(sha256sum < "$W/doc" | cut -d' ' -f1)"
expect_eq "and the officer and the key" \
    "$(printf '%s\n' "$entries" | head -n 1 | jq -r '"\(.client | startswith("officer:")) \(.label) \(.key_id | length > 0)"')" \
    "true rsa true"

# The gateway's own keys are not the officer's to sign with.
for label in audit-key stamp-key vero-key vero-key.next vero-key.retired-20260101T000000Z; do
    sealgate-token keygen --label "$label" --type ec:p256 $P >/dev/null
    check_exit 1 "sign with $label refused" sealgate-token sign --label "$label" --in "$W/doc" --out "$W/nosig" $P
    expect_one_line_error "sign with $label"
    expect_match "  saying whose key it is" "$(cat "$W/last.err")" 'belongs to identity (audit-signer|stamper|vero-ws)'
done
if [ -e "$W/nosig" ]; then fail "a refused key wrote a signature"; else pass "no signature written by a refused key"; fi
expect_eq "each refusal audited" \
    "$(cat "$W"/audit/audit-*.jsonl | jq -r 'select(.type == "officer_sign" and .outcome == "error") | .label' | tr '\n' ' ')" \
    "p256 audit-key stamp-key vero-key vero-key.next vero-key.retired-20260101T000000Z "
check "a key of the same prefix is not the gateway's" sealgate-token keygen --label vero-keyring --type ec:p256 $P
check "and signs" sealgate-token sign --label vero-keyring --in "$W/doc" --out "$W/sig" $P

# Without the configuration there is no log: nothing is signed.
check_exit 1 "sign without a configuration refused" env -u SEALGATE_CONFIG \
    sealgate-token sign --label rsa --in "$W/doc" --out "$W/sig2" $P
expect_one_line_error "sign without a configuration"
# Nor when the log cannot take the entry (a file where its directory was:
# no write gets through, root or not).
mv "$W/audit" "$W/audit.away" && : > "$W/audit"
check_exit 1 "sign while the audit log cannot be written refused" \
    sealgate-token sign --label rsa --in "$W/doc" --out "$W/sig3" $P
if [ -e "$W/sig3" ]; then fail "a signature given out with no audit entry"; else pass "no signature without its entry"; fi
rm -f "$W/audit" && mv "$W/audit.away" "$W/audit"
check "the chain verifies" audit_verify "$W/audit"
finish
