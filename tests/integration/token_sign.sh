# SPDX-License-Identifier: Apache-2.0
# Signatures made on the token verify with openssl against the public key
# exported by pkcs11-tool (RSA PKCS#1 v1.5, RSA-PSS, ECDSA; SHA-256/384/512),
# and fail against a changed document.
. "$SG_SRCDIR/tests/integration/lib.sh"
P="--pin-file $SG_WORK/pin"
W=$SG_WORK

make_token
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
finish
