# SPDX-License-Identifier: Apache-2.0
# Token trouble under sealgated, injected by tests/fixtures/p11fault.so
# wrapped around the real SoftHSMv2 module: a lost login (all sessions
# closed) is recovered by logging in again; object handles gone stale
# (the objects went away and came back) by finding the keys again; a dead
# module (finalised, CKR_DEVICE_REMOVED) answers 503 token_unavailable and
# comes back after a full re-initialisation, without a restart. Under load, every 200 carries
# a signature that verifies; nothing else than 503 token_unavailable.
. "$SG_SRCDIR/tests/integration/lib.sh"
W=$SG_WORK
fault_fixture
J=(-H 'Content-Type: application/json')
echo "document" > "$W/doc"
openssl x509 -in "$W/local-seal.pem" -pubkey -noout > "$W/rsa.pub"
openssl x509 -in "$W/ec-seal.pem" -pubkey -noout > "$W/ec.pub"
start_gateway

sign_and_verify() {  # identity pubfile → status; 200 only when the signature verifies
    local status
    status=$(api billing POST /v1/sign "${J[@]}" --data "$(sign_body "$1" sha256 "$W/doc" raw)")
    if [ "$status" = 200 ]; then
        jq -r .signature "$W/body" | base64 -d > "$W/sig"
        openssl dgst -sha256 -verify "$W/$2" -signature "$W/sig" "$W/doc" >/dev/null 2>&1 || status=BADSIG
    fi
    echo "$status"
}
expect_eq "signs through the fault module" "$(sign_and_verify local-seal rsa.pub)" 200

echo logout > "$W/fault"
expect_eq "lost login: the request is retried after logging in again" "$(sign_and_verify local-seal rsa.pub)" 200
expect_eq "lost login: EC too" "$(sign_and_verify ec-seal ec.pub)" 200
expect_match "re-login logged" "$(cat "$W/sealgated.log")" 'token recovered \(login\)'
expect_eq "a recovery by logging in again, counted" \
    "$(metric 'sealgate_token_recoveries_total{level="login",outcome="ok"}')" 1
rm -f "$W/fault"

# The token's objects go away and come back with new handles while the
# sessions and the login stay: the keys are found again, no restart.
echo renumber > "$W/fault"
expect_eq "stale object handles: the keys are found again and the request signs" \
    "$(sign_and_verify local-seal rsa.pub)" 200
expect_eq "stale object handles: EC too" "$(sign_and_verify ec-seal ec.pub)" 200
expect_eq "readyz after the handles went stale" "$(api - GET /readyz)" 200
expect_eq "a recovery by finding the keys again, counted" \
    "$(metric 'sealgate_token_recoveries_total{level="find_keys",outcome="ok"}')" 1
expect_eq "  and nothing climbed further" \
    "$(metric 'sealgate_token_recoveries_total{level="login",outcome="ok"}')" 1
rm -f "$W/fault"

echo dead > "$W/fault"
expect_error "dead token" 503 token_unavailable \
    "$(api billing POST /v1/sign "${J[@]}" --data "$(sign_body local-seal sha256 "$W/doc" raw)")"
expect_error "dead token, CMS" 503 token_unavailable \
    "$(api billing POST /v1/sign "${J[@]}" --data "$(sign_body ec-seal sha256 "$W/doc" cms)")"
expect_eq "readyz while the token is dead" "$(api - GET /readyz)" 503
# Anyone may ask /readyz: after a failed test signature the token is left
# alone for a while (READY_RETRY_S, 5 s), however often it is asked.
# The prober (a thread of its own) asks the token every 500 ms meanwhile;
# requests, /readyz included, do not.
token_calls() { grep -vc '^sg-token-probe$' "$W/calls" 2>/dev/null || true; }
calls=$(token_calls)
for i in 1 2 3 4; do api - GET /readyz >/dev/null; done
expect_eq "four more /readyz at once ask the token nothing" "$(token_calls)" "$calls"
expect_eq "  an anonymous /readyz shows no token detail" "$(jq -c 'has("token")' "$W/body")" false
expect_eq "the monitor's /readyz while dead" "$(api monitor GET /readyz)" 503
expect_eq "  says the recovery is failing, at the reopen level" \
    "$(jq -r '[.token.recovery, .token.last_recovery_level, .token.last_recovery_outcome] | join(" ")' "$W/body")" \
    "failing reopen error"
expect_eq "healthz while the token is dead" "$(api - GET /healthz)" 200
rm -f "$W/fault"
signs_again() { [ "$(sign_and_verify local-seal rsa.pub)" = 200 ]; }
wait_until 30 "back after re-initialisation, without a restart" signs_again &&
    pass "back after re-initialisation, without a restart"
expect_match "module reopened" "$(cat "$W/sealgated.log")" 'token recovered \(reopen\)'
if [ "$(metric 'sealgate_token_recoveries_total{level="reopen",outcome="error"}')" -ge 1 ] &&
    [ "$(metric 'sealgate_token_recoveries_total{level="reopen",outcome="ok"}')" -ge 1 ]; then
    pass "reopening counted: failed while dead, then ok"
else
    fail "reopening counted: $(api monitor GET /metrics >/dev/null; grep recoveries "$W/body")"
fi
started=$(date +%s)
expect_eq "a signature now" "$(sign_and_verify local-seal rsa.pub)" 200
last_good=$(metric sealgate_token_last_good_signature_timestamp_seconds)
if [ "$last_good" -ge "$started" ] && [ "$last_good" -le "$(date +%s)" ]; then
    pass "the last good signature's time is that signature's ($last_good)"
else
    fail "the last good signature's time: $last_good, signed at $started or later"
fi
expect_eq "EC key found again" "$(sign_and_verify ec-seal ec.pub)" 200
expect_eq "CMS again" "$(api billing POST /v1/sign "${J[@]}" --data "$(sign_body ec-seal sha256 "$W/doc" cms)")" 200
jq -r .signature "$W/body" | base64 -d > "$W/doc.p7s"
check "CMS after recovery verifies" openssl cms -verify -binary -inform DER -in "$W/doc.p7s" -content "$W/doc" \
    -CAfile "$W/ca-gw.pem" -out /dev/null
expect_eq "readyz after recovery" "$(api - GET /readyz)" 200
expect_eq "the monitor's /readyz after recovery" "$(api monitor GET /readyz)" 200
expect_eq "  says the recovery is ok, by reopening" \
    "$(jq -r '[.token.recovery, .token.last_recovery_level, .token.last_recovery_outcome] | join(" ")' "$W/body")" \
    "ok reopen ok"
expect_match "  with the last good signature's time" "$(jq -r .token.last_good_signature "$W/body")" \
    '^20[0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9]Z$'

# Under load: 8 clients while the token dies and comes back twice. Each
# client signs until told to stop (at most 400 requests); each phase waits
# for what the clients see: signatures, then refusals, then signatures.
mkdir -p "$W/load"
load() {
    local n=$1 i status sent=0
    for i in $(seq 1 400); do
        [ -e "$W/load.stop" ] && break
        sent=$((sent + 1))
        status=$(curl -sS -o "$W/load/$n.$i.json" -w '%{http_code}' -H "Authorization: Bearer $(cat "$W/billing.token")" \
            "${J[@]}" --data "$(sign_body local-seal sha256 "$W/doc" raw)" "$GW_URL/v1/sign")
        echo "$status" > "$W/load/$n.$i.status"
    done
    echo "$sent" > "$W/load/$n.sent"
}
answers() { cat "$W"/load/*.status 2>/dev/null | grep -c "^$1\$"; }
pids=()
for n in $(seq 1 8); do load "$n" & pids+=($!); done
for round in 1 2; do
    wait_until 60 "round $round: signatures before the token dies" at_least $(( $(answers 200) + 16 )) answers 200
    echo dead > "$W/fault"
    wait_until 60 "round $round: refusals while it is dead" at_least $(( $(answers 503) + 8 )) answers 503
    rm -f "$W/fault"
    wait_until 60 "round $round: signatures after it is back" at_least $(( $(answers 200) + 16 )) answers 200
done
touch "$W/load.stop"
wait "${pids[@]}"
sent=0
for f in "$W"/load/*.sent; do sent=$((sent + $(cat "$f"))); done
ok=0 unavailable=0 other=0 bad=0
for f in "$W"/load/*.status; do
    case "$(cat "$f")" in
    200)
        ok=$((ok + 1))
        jq -r .signature "${f%.status}.json" | base64 -d > "$W/sig"
        openssl dgst -sha256 -verify "$W/rsa.pub" -signature "$W/sig" "$W/doc" >/dev/null 2>&1 || bad=$((bad + 1)) ;;
    503)
        [ "$(jq -r .error "${f%.status}.json")" = token_unavailable ] && unavailable=$((unavailable + 1)) ||
            other=$((other + 1)) ;;
    *) other=$((other + 1)) ;;
    esac
done
expect_eq "every request under load answered ($sent)" "$((ok + unavailable + other))" "$sent"
expect_eq "no wrong or partial signature under load ($ok signed, $unavailable unavailable)" "$bad" 0
expect_eq "nothing but 200 or 503 token_unavailable" "$other" 0
if [ "$ok" -gt 0 ]; then pass "signing went on under load"; else fail "nothing signed under load"; fi
expect_eq "signs after the load" "$(sign_and_verify local-seal rsa.pub)" 200

expect_eq "metrics" "$(api monitor GET /metrics)" 200
expect_match "token errors counted by CK_RV" "$(cat "$W/body")" 'sealgate_token_errors_total\{ckr="CKR_DEVICE_REMOVED"\} [1-9]'
stop_gateway
check "audit chain verifies" audit_verify "$W/audit"
expect_eq "every 200 under load audited" \
    "$(jq -s '[.[] | select(.type=="sign" and .outcome=="ok")] | length' "$W"/audit/audit-*.jsonl)" \
    "$((ok + 1 + 2 + 2 + 1 + 1 + 1 + 1 + 1))"
finish
