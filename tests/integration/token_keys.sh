# SPDX-License-Identifier: Apache-2.0
# Token initialisation and key generation: every key type, the attributes
# a key must carry (checked with OpenSC's pkcs11-tool, not our own code),
# one label per key, and the listing.
. "$SG_SRCDIR/tests/integration/lib.sh"
P="--pin-file $SG_WORK/pin"

make_token sealgate
check "slots lists the initialised token" sealgate-token slots --json
slots=$(cat "$SG_WORK/last.out")
expect_eq "token label in slots" "$(printf '%s' "$slots" | jq -r '.[] | select(.label=="sealgate") | .label')" sealgate
expect_match "token flags" "$(printf '%s' "$slots" | jq -c '.[] | select(.label=="sealgate") | .flags')" '"initialized".*"user_pin_initialized"'
check_exit 1 "init refuses a label already in use" \
    sealgate-token init --label sealgate --pin-file "$SG_WORK/pin" --so-pin-file "$SG_WORK/so-pin"
expect_one_line_error "init twice"

for t in rsa:2048 rsa:3072 rsa:4096 ec:p256 ec:p384; do
    label=k-${t/:/-}
    check "keygen $t" sealgate-token keygen --label "$label" --type "$t" $P --json
    expect_eq "keygen $t reports its type" "$(jq -r .type "$SG_WORK/last.out")" "$t"
done
check "keygen with a chosen id" sealgate-token keygen --label k-id --type ec:p256 --id 0a0b0c $P --json
expect_eq "chosen id kept" "$(jq -r .id "$SG_WORK/last.out")" 0a0b0c
check_exit 1 "keygen refuses a label that exists" sealgate-token keygen --label k-rsa-2048 --type ec:p256 $P
expect_one_line_error "duplicate label"
check_exit 2 "keygen refuses an unknown type" sealgate-token keygen --label x --type rsa:1024 $P
check_exit 2 "keygen refuses a bad id" sealgate-token keygen --label x --type ec:p256 --id zz $P

check "keys --json" sealgate-token keys $P --json
keys=$(cat "$SG_WORK/last.out")
expect_eq "six keys listed" "$(printf '%s' "$keys" | jq '[.[] | select(.private_key)] | length')" 6
expect_eq "every key sensitive, never extractable, not extractable" \
    "$(printf '%s' "$keys" | jq '[.[] | select(.private_key and .sensitive and .always_sensitive and .never_extractable and (.extractable|not))] | length')" 6
expect_eq "rsa:4096 size read back from the token" \
    "$(printf '%s' "$keys" | jq -r '.[] | select(.label=="k-rsa-4096") | .type')" rsa:4096
expect_eq "ec:p384 curve read back from the token" \
    "$(printf '%s' "$keys" | jq -r '.[] | select(.label=="k-ec-p384") | .type')" ec:p384

# Independent view: OpenSC's pkcs11-tool reads the attributes itself.
objs=$(pkcs11-tool --module "$MODULE" --token-label sealgate --login --pin "$(cat "$SG_WORK/pin")" \
    --list-objects --type privkey 2>/dev/null)
expect_eq "pkcs11-tool sees six private keys" "$(printf '%s\n' "$objs" | grep -c '^Private Key Object')" 6
expect_eq "pkcs11-tool: all sensitive, always sensitive, never extractable" \
    "$(printf '%s\n' "$objs" | grep -c 'Access: *sensitive, always sensitive, never extractable')" 6
expect_no_match "pkcs11-tool: no key is extractable or decrypts/unwraps/derives" \
    "$(printf '%s\n' "$objs" | grep 'Usage:')" 'decrypt|unwrap|derive'
expect_eq "pkcs11-tool: every key signs" "$(printf '%s\n' "$objs" | grep -c 'Usage:.*sign')" 6

check "keys text listing" sealgate-token keys $P
expect_match "text listing has the RSA-3072 key" "$(cat "$SG_WORK/last.out")" 'k-rsa-3072 +rsa:3072 +yes +yes +no'
finish
