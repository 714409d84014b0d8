# SPDX-License-Identifier: Apache-2.0
# Certificates next to keys: the walkthrough (keygen → csr → CA → import),
# refusal of a certificate for another key, expiry in the listing, and
# retire removing key, public key and certificate objects.
. "$SG_SRCDIR/tests/integration/lib.sh"
P="--pin-file $SG_WORK/pin"
W=$SG_WORK

make_token
make_ca test
sealgate-token keygen --label seal --type rsa:3072 $P >/dev/null
sealgate-token keygen --label other --type ec:p256 $P >/dev/null
sealgate-token csr --label seal --subject "C=FI,O=Example Oy,CN=seal" $P --out "$W/seal.csr"
sealgate-token csr --label other --subject "CN=other" $P --out "$W/other.csr"
issue_cert test "$W/seal.csr" "$W/seal.pem" 20
issue_cert test "$W/other.csr" "$W/other.pem" 20

check_exit 1 "import refuses a certificate for another key" \
    sealgate-token import-cert --label seal --cert "$W/other.pem" $P
expect_eq "mismatch message" "$(cat "$W/last.err")" \
    'sealgate-token: import-cert: the certificate'"'"'s public key is not the public key of "seal"'
check_exit 1 "import refuses a file without a certificate" \
    sealgate-token import-cert --label seal --cert "$W/seal.csr" $P
check_exit 1 "import for a missing key" sealgate-token import-cert --label nokey --cert "$W/seal.pem" $P
expect_one_line_error "import for a missing key"

openssl x509 -in "$W/seal.pem" -outform DER -out "$W/seal.der"
check "import DER certificate with its chain" \
    sealgate-token import-cert --label seal --cert "$W/seal.der" --chain "$W/ca-test.pem" $P
check_exit 1 "second import refused" sealgate-token import-cert --label seal --cert "$W/seal.pem" $P

check "keys --json after import" sealgate-token keys $P --json
cert=$(jq -c '.[] | select(.label=="seal") | .certificate' "$W/last.out")
expect_eq "certificate subject" "$(printf '%s' "$cert" | jq -r .subject)" "CN=seal,O=Example Oy,C=FI"
expect_eq "certificate not_after matches openssl" "$(printf '%s' "$cert" | jq -r .not_after)" \
    "$(date -u -d "$(openssl x509 -in "$W/seal.pem" -noout -enddate | cut -d= -f2)" +%Y-%m-%dT%H:%M:%SZ)"
expect_match "days left about 20" "$(printf '%s' "$cert" | jq -r .days_left)" '^(19|20)$'
expect_eq "serial matches openssl" "$(printf '%s' "$cert" | jq -r .serial)" \
    "$(openssl x509 -in "$W/seal.pem" -noout -serial | cut -d= -f2)"
# The stored certificate, read back by pkcs11-tool, is the one issued.
pkcs11-tool --module "$MODULE" --token-label sealgate --read-object --type cert --label seal \
    -o "$W/back.der" >/dev/null 2>&1
check "stored certificate is the issued one" cmp "$W/back.der" "$W/seal.der"

check_exit 2 "retire without --yes off a terminal" sealgate-token retire --label seal $P
check "retire" sealgate-token retire --label seal --yes $P
left=$(pkcs11-tool --module "$MODULE" --token-label sealgate --login --pin "$(cat "$W/pin")" --list-objects 2>/dev/null)
expect_no_match "no object labelled seal remains" "$left" 'label: +seal'
expect_match "the other key is untouched" "$left" 'label: +other'
check_exit 1 "retire of a missing label" sealgate-token retire --label seal --yes $P
expect_one_line_error "retire missing"
finish
