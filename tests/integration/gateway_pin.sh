# SPDX-License-Identifier: Apache-2.0
# A PIN the token refused is never presented again by the daemon: when a
# lost login meets a PIN that was changed behind its back, the one refused
# C_Login is all the token sees (tests/fixtures/p11fault.so counts them),
# however often signing and /readyz come; /readyz says why it is not ready.
# The operator puts the right PIN in token.pin_file and sends SIGHUP: the
# daemon logs in with it and signs again, without a restart.
. "$SG_SRCDIR/tests/integration/lib.sh"
W=$SG_WORK
gateway_fixture
jq --arg m "$SG_BUILDDIR/tests/fixtures/p11fault.so" '.token.module = $m' "$W/sealgate.json" > "$W/c.json" &&
    mv "$W/c.json" "$W/sealgate.json"
export P11FAULT_MODULE=$MODULE P11FAULT_CONTROL=$W/fault P11FAULT_LOGINS=$W/logins P11FAULT_NEW_PIN=$W/changed
J=(-H 'Content-Type: application/json')
echo "document" > "$W/doc"
sign() { api billing POST /v1/sign "${J[@]}" --data "$(sign_body local-seal sha256 "$W/doc" raw)"; }
# CKR_OK and CKR_USER_ALREADY_LOGGED_IN (256) are logins that took.
refused_logins() { grep -cvE '^(0|256)$' "$W/logins"; }
start_gateway
expect_eq "signs" "$(sign)" 200
expect_eq "no login refused so far" "$(refused_logins)" 0

# The user PIN changes behind the daemon's back (the fault module's
# pin-changed: only the new PIN logs in from now on), and the login is
# lost; the daemon's next login presents the old one.
(umask 077; echo 97531864 > "$W/new-pin"; printf '97531864\n%s\n' "$(cat "$W/pin")" > "$W/changed")
echo pin-changed > "$W/fault"
expect_error "the old PIN is refused" 503 token_unavailable "$(sign)"
expect_eq "the token saw the refused PIN once" "$(refused_logins)" 1
for i in 1 2 3; do
    expect_error "signing stays refused ($i)" 503 token_unavailable "$(sign)"
    expect_eq "/readyz is not ready ($i)" "$(api monitor GET /readyz)" 503
done
expect_match "and says why" "$(jq -r .checks.token "$W/body")" 'refused the PIN'
expect_eq "the refused PIN was not presented again" "$(refused_logins)" 1
cp "$W/pin" "$W/old-pin"
reload_gateway ok
expect_eq "a reload with the same PIN file does not present it either" "$(refused_logins)" 1
expect_error "and changes nothing" 503 token_unavailable "$(sign)"

# The operator fixes the PIN file and reloads.
cp "$W/new-pin" "$W/pin"
reload_gateway ok
expect_match "logged in with the new PIN" "$(cat "$W/sealgated.log")" 'logged in with the PIN from'
expect_eq "signs again without a restart" "$(sign)" 200
expect_eq "ready again" "$(api - GET /readyz)" 200
expect_eq "still one refused login in all" "$(refused_logins)" 1
expect_no_match "no PIN in the daemon's log" "$(cat "$W/sealgated.log")" "$(cat "$W/old-pin")|97531864"
stop_gateway
check "the chain verifies" audit_verify "$W/audit"
finish
