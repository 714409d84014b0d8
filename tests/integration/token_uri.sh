# SPDX-License-Identifier: Apache-2.0
# PKCS#11 URIs (RFC 7512): the URIs `sealgate-token keys` prints name the
# same objects p11tool lists, paste into sealgate-token commands and the
# configuration, and sign through the gateway (openssl verifies); a bad URI
# is refused naming the attribute, one that matches no key or several is
# refused naming the URI, and a label and a URI for one key are one key
# where key separation is checked.
. "$SG_SRCDIR/tests/integration/lib.sh"
W=$SG_WORK
P="--pin-file $W/pin"
gateway_fixture
check "keygen with an id" sealgate-token keygen --label uri-a --type ec:p256 --id 0102 $P
check "a second key with another id" sealgate-token keygen --label uri-b --type rsa:2048 --id 0103 $P

# --- the printed URIs ---------------------------------------------------------
check "keys --json" sealgate-token keys --json $P
uri_a=$(jq -r '.[] | select(.label == "uri-a") | .uri' "$W/last.out")
expect_match "uri-a's URI names token, object, id and type" "$uri_a" \
    '^pkcs11:.*token=sealgate.*;id=%01%02;.*object=uri-a.*type=private'
expect_match "the URI names the token's serial" "$uri_a" ';serial=[^;]+'
check "keys (text) prints the URI" sealgate-token keys $P
cp "$W/last.out" "$W/keys.txt"
check "  the same URI" grep -qxF "  uri: $uri_a" "$W/keys.txt"
# p11tool (GnuTLS) lists the same object under the same URI attributes.
p11=$(GNUTLS_PIN=$(cat "$W/pin") p11tool --provider "$MODULE" --login --list-privkeys "pkcs11:token=sealgate" 2>/dev/null)
expect_match "p11tool lists uri-a with id %01%02" "$p11" 'URL: pkcs11:.*token=sealgate.*id=%01%02;object=uri-a;type=private'
# Every key's URI parsed back by p11tool names one private key.
p11a=$(GNUTLS_PIN=$(cat "$W/pin") p11tool --provider "$MODULE" --login --list-privkeys "$uri_a" 2>/dev/null | grep -c '^Object')
expect_eq "p11tool finds exactly one key for the printed URI" "$p11a" 1

# --- URIs in sealgate-token commands ------------------------------------------
echo "document" > "$W/doc"
# refused DESCRIPTION PATTERN COMMAND...: COMMAND exits 1 with one line on
# stderr matching PATTERN.
refused() {
    local what=$1 want=$2
    shift 2
    check_exit 1 "$what" "$@"
    expect_one_line_error "$what"
    expect_match "  names $want" "$(cat "$W/last.err")" "$want"
}
check "pubkey by URI" sealgate-token pubkey --label "$uri_a" $P --out "$W/a.pem"
check "pubkey by label" sealgate-token pubkey --label uri-a $P --out "$W/a-label.pem"
check "  the same key" cmp "$W/a.pem" "$W/a-label.pem"
check "sign by URI" sealgate-token --config "$W/sealgate.json" sign --label "$uri_a" --in "$W/doc" --out "$W/sig" $P
check "  openssl verifies it" openssl dgst -sha256 -verify "$W/a.pem" -signature "$W/sig" "$W/doc"
check "sign by id alone" sealgate-token --config "$W/sealgate.json" sign \
    --label "pkcs11:id=%01%03" --in "$W/doc" --out "$W/sig-b" $P
check "uri-b's public key" sealgate-token pubkey --label uri-b $P --out "$W/b.pem"
check "  openssl verifies it" openssl dgst -sha256 -verify "$W/b.pem" -signature "$W/sig-b" "$W/doc"
check "--token as a URI" sealgate-token keys --token "pkcs11:token=sealgate" $P
check "--token as a URI with module-path of the module in use" sealgate-token keys \
    --token "pkcs11:token=sealgate?module-path=$MODULE" $P
check "--token as a URI with module-name of the module in use" sealgate-token keys \
    --token "pkcs11:token=sealgate?module-name=$(basename "$MODULE" | sed 's/^lib//; s/\..*//')" $P
refused "--token URI with another module-name" 'module-name' sealgate-token keys \
    --token "pkcs11:token=sealgate?module-name=opensc-pkcs11" $P
refused "--token URI with another module-path" 'module-path' sealgate-token keys \
    --token "pkcs11:token=sealgate?module-path=/usr/lib/nosuch.so" $P
refused "--token URI matching no token" 'pkcs11:token=nosuch' \
    sealgate-token keys --token "pkcs11:token=nosuch" $P
refused "--token URI with a bad attribute" 'attribute colour' \
    sealgate-token keys --token "pkcs11:token=sealgate;colour=blue" $P
refused "a URI matching several keys" 'pkcs11:token=sealgate;type=private.*more than one' \
    sealgate-token pubkey --label "pkcs11:token=sealgate;type=private" $P
refused "a URI matching no key" 'pkcs11:object=nosuch' \
    sealgate-token pubkey --label "pkcs11:object=nosuch;type=private" $P
refused "a bad id encoding" 'attribute id' sealgate-token pubkey --label "pkcs11:object=uri-a;id=%zz" $P
refused "pin-value" 'attribute pin-value' \
    sealgate-token pubkey --label "pkcs11:object=uri-a?pin-value=246810" $P
refused "a URI for a certificate" 'non-private' sealgate-token pubkey --label "pkcs11:object=uri-a;type=cert" $P

# --- key separation by URI -----------------------------------------------------
audit_uri=$(sealgate-token keys --json $P | jq -r '.[] | select(.label == "audit-signer") | .uri')
check_exit 1 "the checkpoint key by URI is refused for officer signing" \
    sealgate-token --config "$W/sealgate.json" sign --label "$audit_uri" --in "$W/doc" --out "$W/nosig" $P
expect_match "  as the checkpoint key" "$(cat "$W/last.err")" 'audit checkpoint key'
jq --arg u "$audit_uri" '(.identities[] | select(.name == "audit-signer")).key_label = $u' \
    "$W/sealgate.json" > "$W/c-audit.json"
check "a checkpoint key named by URI passes --check-config" sealgated --check-config --config "$W/c-audit.json"
check_exit 1 "... and its label is still refused for officer signing" \
    sealgate-token --config "$W/c-audit.json" sign --label audit-signer --in "$W/doc" --out "$W/nosig" $P
expect_match "  as the checkpoint key" "$(cat "$W/last.err")" 'audit checkpoint key'
# spare's key named by label in one identity and by URI in another.
spare_uri=$(sealgate-token keys --json $P | jq -r '.[] | select(.label == "spare") | .uri')
jq --arg u "$spare_uri" '.identities += [{name: "spare2", key_label: $u, uses: ["sign"]}]' \
    "$W/sealgate.json" > "$W/bad.json"
check_exit 1 "a label and a URI for one key in two identities refused" \
    sealgated --check-config --config "$W/bad.json"
expect_match "  naming the JSON path" "$(cat "$W/last.err")" '\$\.identities\[5\]\.key_label: .*one key, one identity'
jq '.identities[0].key_label = "pkcs11:object=local-seal;flavour=x"' "$W/sealgate.json" > "$W/bad.json"
check_exit 1 "a bad URI in the configuration" sealgated --check-config --config "$W/bad.json"
expect_match "  naming the JSON path and the attribute" "$(cat "$W/last.err")" \
    '\$\.identities\[0\]\.key_label: bad PKCS#11 URI .*attribute flavour'
jq '.token.label = "pkcs11:token=sealgate;serial=%zz"' "$W/sealgate.json" > "$W/bad.json"
check_exit 1 "a bad token URI in the configuration" sealgated --check-config --config "$W/bad.json"
expect_match "  naming the JSON path and the attribute" "$(cat "$W/last.err")" '\$\.token\.label: .*attribute serial'

make_ca vero
jq --arg ca "$W/ca-vero.pem" '.authorities.vero = {type: "vero-certservice",
        url: "https://127.0.0.1:1/2017/10/CertificateServices", ca_file: $ca,
        response_signer_ca_file: $ca, environment: "TEST"} |
    .identities += [{name: "vero-ws", key_label: "pkcs11:object=vero-ws", issuer: "vero", uses: [],
        customer_id: "0123456-7"}]' "$W/sealgate.json" > "$W/bad.json"
check_exit 1 "a URI for an identity with an issuer (renewal makes keys by label)" \
    sealgated --check-config --config "$W/bad.json"
expect_match "  naming the JSON path" "$(cat "$W/last.err")" '\$\.identities\[5\]\.key_label: .*by label'

# --- the gateway signs with keys named by URI -----------------------------------
seal_uri=$(sealgate-token keys --json $P | jq -r '.[] | select(.label == "ec-seal") | .uri')
serial=$(printf '%s' "$seal_uri" | grep -o 'serial=[^;]*')
jq --arg u "$seal_uri" --arg t "pkcs11:token=sealgate;$serial" \
    '.token.label = $t | (.identities[] | select(.name == "ec-seal")).key_label = $u' \
    "$W/sealgate.json" > "$W/c.json" && mv "$W/c.json" "$W/sealgate.json"
check "URIs for the token and a key pass --check-config" sealgated --check-config --config "$W/sealgate.json"
start_gateway
expect_eq "the gateway signs with the key named by URI" \
    "$(api billing POST /v1/sign -H 'Content-Type: application/json' \
        --data "$(sign_body ec-seal sha256 "$W/doc" raw)")" 200
jq -r .signature "$W/body" | base64 -d > "$W/gw.sig"
check "ec-seal's public key" sealgate-token pubkey --label ec-seal $P --out "$W/ec-seal.pem"
check "openssl verifies the gateway's signature" openssl dgst -sha256 -verify "$W/ec-seal.pem" \
    -signature "$W/gw.sig" "$W/doc"
stop_gateway
finish
