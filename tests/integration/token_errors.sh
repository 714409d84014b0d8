# SPDX-License-Identifier: Apache-2.0
# Failure paths of sealgate-token: wrong PIN, missing module, token and
# key, PIN sources (file mode, environment, never argv), PIN change. Each
# failure is one line on stderr with exit 1 (2 for usage), and no PIN ever
# appears in output.
. "$SG_SRCDIR/tests/integration/lib.sh"
W=$SG_WORK
TEST_PIN=482910
make_token
P="--pin-file $W/pin"
sealgate-token keygen --label k --type ec:p256 $P >/dev/null

(umask 077; echo 000000 > "$W/wrong")
check_exit 1 "wrong PIN" sealgate-token keys --pin-file "$W/wrong"
expect_eq "wrong PIN message" "$(cat "$W/last.err")" "sealgate-token: log in: PIN incorrect"
check "right PIN still works after one wrong try" sealgate-token keys $P

check_exit 1 "missing module" sealgate-token keys --module "$W/nope.so" $P
expect_one_line_error "missing module"
expect_match "missing module named" "$(cat "$W/last.err")" "nope.so"
check_exit 1 "module that is not a PKCS#11 library" sealgate-token keys --module /bin/true $P
expect_one_line_error "not a module"
check_exit 1 "missing token" sealgate-token keys --token nosuch $P
expect_eq "missing token message" "$(cat "$W/last.err")" \
    "sealgate-token: open token: no initialised token labelled \"nosuch\" in $MODULE"
check_exit 1 "missing key" sealgate-token pubkey --label nokey $P
expect_eq "missing key message" "$(cat "$W/last.err")" "sealgate-token: nokey: no key with this label on the token"

cp "$W/pin" "$W/open-pin"; chmod 644 "$W/open-pin"
check_exit 1 "world-readable PIN file refused" sealgate-token keys --pin-file "$W/open-pin"
expect_one_line_error "open PIN file"
check_exit 1 "missing PIN file" sealgate-token keys --pin-file "$W/nofile"
check_exit 2 "PIN on the command line refused" sealgate-token keys --pin 482910
check_exit 1 "no PIN source and no terminal" setsid sealgate-token keys </dev/null
expect_one_line_error "no PIN source"
check "PIN from SEALGATE_PIN" env SEALGATE_PIN=482910 sealgate-token keys --json
check_exit 2 "unknown command" sealgate-token frobnicate
check_exit 2 "no command" sealgate-token
check "--help" sealgate-token --help
check "--version" sealgate-token --version
expect_match "version printed" "$(cat "$W/last.out")" '^sealgate-token [0-9]'

(umask 077; echo 135790 > "$W/new-pin")
check "change user PIN" sealgate-token change-pin $P --new-pin-file "$W/new-pin"
check_exit 1 "old PIN no longer works" sealgate-token keys $P
check "new PIN works" sealgate-token keys --pin-file "$W/new-pin"
check "change SO PIN" sealgate-token change-pin --so --so-pin-file "$W/so-pin" --new-pin-file "$W/new-pin"
check_exit 1 "old SO PIN no longer works" sealgate-token change-pin --so --so-pin-file "$W/so-pin" \
    --new-pin-file "$W/new-pin"

# Configuration supplies module, token label and PIN file.
cat > "$W/sealgate.json" <<JSON
{ "listen": {"address": "127.0.0.1", "port": 0, "threads": 2, "tls": null},
  "token": {"module": "$MODULE", "label": "sealgate", "pin_file": "new-pin", "max_sessions": 4},
  "audit": {"dir": "audit"}, "authorities": {}, "identities": [], "clients": [] }
JSON
check "module, token and PIN file from --config" env -u SEALGATE_TOKEN_LABEL sealgate-token --config "$W/sealgate.json" keys --json
expect_eq "key listed through config" "$(jq -r '.[0].label' "$W/last.out")" k
check_exit 1 "broken config refused" sealgate-token --config /dev/null keys
expect_one_line_error "broken config"

# PIN hygiene, with tests/fixtures/p11fault.so reporting the token's PIN
# counter state: refuse before trying when the next wrong PIN would lock.
F="$SG_BUILDDIR/tests/fixtures/p11fault.so"
export P11FAULT_MODULE=$MODULE P11FAULT_CONTROL=$W/fault
echo final-try > "$W/fault"
check_exit 1 "final try: refuses to log in" sealgate-token keys --module "$F" --pin-file "$W/new-pin"
expect_eq "final try message" "$(cat "$W/last.err")" \
    "sealgate-token: log in: next wrong PIN locks the token; refusing to try"
check "slots shows the final-try flag" sealgate-token slots --module "$F" --json
expect_match "user_pin_final_try flag" "$(jq -c '.[] | select(.label=="sealgate") | .flags' "$W/last.out")" 'user_pin_final_try'
echo locked > "$W/fault"
check_exit 1 "locked: refuses" sealgate-token keys --module "$F" --pin-file "$W/new-pin"
expect_eq "locked message" "$(cat "$W/last.err")" "sealgate-token: log in: PIN locked"
rm -f "$W/fault"
check "through the fault module when nothing is injected" sealgate-token keys --module "$F" --pin-file "$W/new-pin"

# No PIN in anything the tool printed during this test.
for pin in 482910 135790 13579111; do
    if grep -rq -- "$pin" "$W"/last.out "$W"/last.err; then fail "PIN $pin appears in output"; else pass "PIN $pin not in output"; fi
done
finish
