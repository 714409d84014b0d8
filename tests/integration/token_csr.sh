# SPDX-License-Identifier: Apache-2.0
# CSRs made on the token: each profile's subject, the self-signature
# checked by openssl, and the request's public key equal to the token's
# (read out with pkcs11-tool). Bad subjects and wrong key types refused.
. "$SG_SRCDIR/tests/integration/lib.sh"
P="--pin-file $SG_WORK/pin"
W=$SG_WORK

make_token
sealgate-token keygen --label vero-ws --type rsa:2048 $P >/dev/null
sealgate-token keygen --label stil --type rsa:3072 $P >/dev/null
sealgate-token keygen --label dvv --type ec:p256 $P >/dev/null
sealgate-token keygen --label small --type rsa:2048 $P >/dev/null

token_pubkey() {  # label → PEM public key as pkcs11-tool reads it from the token
    pkcs11-tool --module "$MODULE" --token-label sealgate --read-object --type pubkey \
        --label "$1" -o "$W/$1.pub.der" >/dev/null 2>&1 &&
        openssl pkey -pubin -inform DER -in "$W/$1.pub.der" -outform PEM
}

subject_of() { openssl req -in "$1" -noout -subject -nameopt RFC2253,-esc_msb 2>/dev/null | sed 's/^subject=//'; }

check "vero CSR" sealgate-token csr --label vero-ws --profile vero --customer-id 1234567-8 \
    --customer-name "Esimerkki Oy" $P --out "$W/vero.csr"
check "vero CSR self-signature verifies" openssl req -in "$W/vero.csr" -verify -noout
expect_eq "vero subject" "$(subject_of "$W/vero.csr")" "CN=1234567-8,O=Esimerkki Oy,C=FI"
expect_match "vero CSR signed with SHA-256 and RSA" "$(openssl req -in "$W/vero.csr" -noout -text)" 'sha256WithRSAEncryption'
expect_eq "vero CSR public key is the token key" \
    "$(openssl req -in "$W/vero.csr" -noout -pubkey)" "$(token_pubkey vero-ws)"

check "oces3 CSR" sealgate-token csr --label stil --profile oces3 --customer-id 12345678 \
    --customer-name "Skole A/S" $P --out "$W/oces3.csr"
check "oces3 CSR verifies" openssl req -in "$W/oces3.csr" -verify -noout
expect_eq "oces3 subject has organizationIdentifier" "$(subject_of "$W/oces3.csr")" \
    "CN=Skole A/S,organizationIdentifier=NTRDK-12345678,O=Skole A/S,C=DK"
expect_eq "oces3 CSR public key is the token key" \
    "$(openssl req -in "$W/oces3.csr" -noout -pubkey)" "$(token_pubkey stil)"

check "dvv-interface CSR (EC, DER)" sealgate-token csr --label dvv --profile dvv-interface \
    --customer-id 7654321-0 --customer-name "Kunta" --der $P --out "$W/dvv.der"
check "DER CSR verifies" openssl req -inform DER -in "$W/dvv.der" -verify -noout
expect_match "EC CSR signed with ecdsa-with-SHA256" \
    "$(openssl req -inform DER -in "$W/dvv.der" -noout -text)" 'ecdsa-with-SHA256'
expect_eq "dvv-interface subject" \
    "$(openssl req -inform DER -in "$W/dvv.der" -noout -subject -nameopt RFC2253 | sed 's/^subject=//')" \
    "CN=Kunta,serialNumber=7654321-0,O=Kunta,C=FI"
expect_eq "dvv CSR public key is the token key" \
    "$(openssl req -inform DER -in "$W/dvv.der" -noout -pubkey)" "$(token_pubkey dvv)"

check "free-form subject to stdout" sealgate-token csr --label small \
    --subject 'C=FI,O=Example\, Inc,OU=Integrations,serialNumber=42,CN=system-1' $P
cp "$W/last.out" "$W/free.csr"
check "free-form CSR verifies" openssl req -in "$W/free.csr" -verify -noout
expect_eq "free-form subject with an escaped comma" "$(subject_of "$W/free.csr")" \
    'CN=system-1,serialNumber=42,OU=Integrations,O=Example\, Inc,C=FI'

check_exit 1 "vero profile refuses an EC key" sealgate-token csr --label dvv --profile vero \
    --customer-id 1234567-8 --customer-name X $P
expect_one_line_error "vero with EC"
check_exit 1 "oces3 refuses RSA-2048" sealgate-token csr --label small --profile oces3 \
    --customer-id 12345678 --customer-name X $P
check_exit 1 "vero refuses a malformed business id" sealgate-token csr --label vero-ws --profile vero \
    --customer-id 12345678 --customer-name X $P
check_exit 2 "unknown subject key" sealgate-token csr --label small --subject 'C=FI,XX=1' $P
check_exit 2 "empty subject value" sealgate-token csr --label small --subject 'C=FI,O=' $P
check_exit 2 "subject and profile together" sealgate-token csr --label small --subject CN=a \
    --profile vero $P
check_exit 1 "country must be two letters" sealgate-token csr --label small --subject 'C=Finland' $P
expect_one_line_error "bad country"
check_exit 1 "CSR for a missing key" sealgate-token csr --label nokey --subject CN=a $P
expect_eq "missing key named" "$(cat "$W/last.err")" 'sealgate-token: nokey: no key with this label on the token'
[ ! -e "$W/none.csr" ] && sealgate-token csr --label nokey --subject CN=a $P --out "$W/none.csr" 2>/dev/null
if [ -e "$W/none.csr" ]; then fail "failed CSR left a file"; else pass "failed CSR leaves no file"; fi
finish
