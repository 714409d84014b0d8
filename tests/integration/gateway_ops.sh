# SPDX-License-Identifier: Apache-2.0
# Operating sealgated: --check-config on good and broken configurations
# (errors name the JSON path), PIN from the environment, SIGHUP reload
# (atomic; a broken file keeps the running one), concurrent signing from
# many clients with every signature verified, a slow client that does not
# block others, and SIGTERM draining requests in flight.
. "$SG_SRCDIR/tests/integration/lib.sh"
W=$SG_WORK
gateway_fixture
J=(-H 'Content-Type: application/json')
echo "document" > "$W/doc"

check "--check-config on a good configuration" sealgated --check-config --config "$W/sealgate.json"
expect_match "--check-config lists identities" "$(cat "$W/last.out")" 'identity local-seal: key "local-seal" rsa:2048, certificate until'
broken() {  # broken NAME JQ-FILTER WANTED-PATH
    jq "$2" "$W/sealgate.json" > "$W/$1.json"
    check_exit 1 "--check-config refuses $1" sealgated --check-config --config "$W/$1.json"
    expect_match "$1 names $3" "$(cat "$W/last.err")" "$3"
    expect_one_line_error "$1"
}
broken unknown-key '.listen.prot = 1' '\$\.listen\.prot'
broken bad-reference '.clients[0].identities += ["ghost"]' '\$\.clients\[0\]\.identities\[4\]'
broken sign-with-authority '.authorities = {"a": {"type":"wssec-soap","url":"https://127.0.0.1:1/","ca_file":"x","preset":"stil-bpi","verify_response":false}} | .identities[0].authority = "a"' '\$\.identities\[0\]'
broken missing-key '.identities[0].key_label = "absent"' '\$\.identities\[0\]\.key_label'
broken wrong-pin-file '.token.pin_file = "nope"' 'pin_file'
(umask 077; echo 999999 > "$W/wrong-pin")
broken wrong-pin '.token.pin_file = "wrong-pin"' 'PIN incorrect'
check_exit 2 "unknown option" sealgated --frobnicate

# PIN from the environment when the config names no file.
jq 'del(.token.pin_file)' "$W/sealgate.json" > "$W/env-pin.json"
check_exit 1 "no PIN source" sealgated --check-config --config "$W/env-pin.json"
check "PIN from SEALGATE_PIN" env SEALGATE_PIN="$(cat "$W/pin")" sealgated --check-config --config "$W/env-pin.json"
# A daemon that took its PIN from the environment leaves none there.
SEALGATE_PIN="$(cat "$W/pin")" start_gateway "$W/env-pin.json"
expect_eq "it signs with the PIN from SEALGATE_PIN" \
    "$(api billing POST /v1/sign "${J[@]}" --data "$(sign_body local-seal sha256 "$W/doc" raw)")" 200
expect_no_match "the PIN is gone from /proc/PID/environ" "$(tr '\0' '\n' < "/proc/$GW_PID/environ")" \
    "$(cat "$W/pin")"
expect_no_match "nothing is left of its value" "$(tr '\0' '\n' < "/proc/$GW_PID/environ")" '^SEALGATE_PIN=.'
stop_gateway

start_gateway
expect_eq "signs before reload" "$(api billing POST /v1/sign "${J[@]}" --data "$(sign_body local-seal sha256 "$W/doc" raw)")" 200

# Reload: a new client appears; the old token keeps working.
newc=$(client_token newcomer)
jq --arg h "$newc" '.clients += [{"name":"newcomer","token_sha256":$h,"roles":["stamp"],"identities":["ec-seal"]}]' \
    "$W/sealgate.json" > "$W/next.json" && mv "$W/next.json" "$W/sealgate.json"
expect_error "new client unknown before SIGHUP" 401 unauthorized \
    "$(api newcomer POST /v1/sign "${J[@]}" --data "$(sign_body ec-seal sha256 "$W/doc" raw)")"
reload_gateway ok
expect_eq "new client signs after SIGHUP" "$(api newcomer POST /v1/sign "${J[@]}" --data "$(sign_body ec-seal sha256 "$W/doc" raw)")" 200
expect_error "reloaded grants enforced" 403 forbidden \
    "$(api newcomer POST /v1/sign "${J[@]}" --data "$(sign_body local-seal sha256 "$W/doc" raw)")"
cp "$W/sealgate.json" "$W/good.json"
echo '{ "listen": ' > "$W/sealgate.json"
reload_gateway error
expect_match "broken reload logged" "$(cat "$W/sealgated.log")" 'reload \(SIGHUP\) refused'
expect_eq "running config kept after a broken reload" \
    "$(api newcomer POST /v1/sign "${J[@]}" --data "$(sign_body ec-seal sha256 "$W/doc" raw)")" 200
expect_eq "config loads audited (ok and error)" \
    "$(jq -r 'select(.type=="config_load") | .outcome' "$W"/audit/audit-*.jsonl | tr '\n' ' ')" "ok ok ok error "
cp "$W/good.json" "$W/sealgate.json"

# Many clients at once; every signature verified independently.
openssl x509 -in "$W/local-seal.pem" -pubkey -noout > "$W/rsa.pub"
openssl x509 -in "$W/ec-seal.pem" -pubkey -noout > "$W/ec.pub"
mkdir -p "$W/conc"
for i in $(seq 1 64); do printf 'concurrent %s' "$i" > "$W/conc/$i.doc"; done
pids=()
for i in $(seq 1 64); do
    id=$([ $((i % 2)) -eq 0 ] && echo local-seal || echo ec-seal)
    (curl -sS -o "$W/conc/$i.json" -w '%{http_code}' -H "Authorization: Bearer $(cat "$W/billing.token")" \
        "${J[@]}" --data "$(sign_body $id sha256 "$W/conc/$i.doc" raw)" "$GW_URL/v1/sign" > "$W/conc/$i.status") &
    pids+=($!)
done
wait "${pids[@]}"
ok=0 verified=0
for i in $(seq 1 64); do
    [ "$(cat "$W/conc/$i.status")" = 200 ] && ok=$((ok + 1))
    pub=$([ $((i % 2)) -eq 0 ] && echo rsa || echo ec)
    jq -r .signature "$W/conc/$i.json" | base64 -d > "$W/conc/$i.sig"
    openssl dgst -sha256 -verify "$W/$pub.pub" -signature "$W/conc/$i.sig" "$W/conc/$i.doc" >/dev/null 2>&1 &&
        verified=$((verified + 1))
done
expect_eq "64 concurrent requests answered 200" "$ok" 64
expect_eq "64 concurrent signatures verify" "$verified" 64

# A slow client trickling its body does not hold up anyone else.
python3 - "$GW_URL" "$(cat "$W/billing.token")" "$W/slow.started" > "$W/slow.out" 2>&1 <<'PY' &
import socket, sys, time, urllib.parse
u = urllib.parse.urlparse(sys.argv[1])
s = socket.create_connection((u.hostname, u.port))
body = b'{"identity":"local-seal","digest":{"alg":"sha256","value":"' + b'A' * 43 + b'="},"format":"raw"}'
s.sendall(b"POST /v1/sign HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nAuthorization: Bearer "
          + sys.argv[2].encode() + b"\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n")
for i in range(0, 30):
    s.sendall(body[i:i + 1])
    if i == 0:
        open(sys.argv[3], "w").close()    # the upload has begun
    time.sleep(0.1)
s.sendall(body[30:])
print(s.recv(4096).split(b"\r\n")[0].decode())
PY
slow=$!
wait_until 10 "the slow upload begins" test -e "$W/slow.started"
fast=0
for i in $(seq 1 10); do
    [ "$(api billing POST /v1/sign "${J[@]}" --data "$(sign_body ec-seal sha256 "$W/doc" raw)")" = 200 ] && fast=$((fast + 1))
done
if kill -0 "$slow" 2>/dev/null; then pass "slow client still sending while others were served"; else
    fail "slow client finished too early to show anything"; fi
expect_eq "10 requests served during the slow upload" "$fast" 10
wait "$slow"
expect_eq "slow client answered in the end" "$(cat "$W/slow.out")" "HTTP/1.1 200 OK"

# SIGTERM while requests are in flight: they finish, then a clean exit.
pids=()
for i in $(seq 1 16); do
    (curl -sS -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $(cat "$W/billing.token")" "${J[@]}" \
        --data "$(sign_body local-seal sha256 "$W/doc" raw)" "$GW_URL/v1/sign" > "$W/conc/term.$i") &
    pids+=($!)
done
# SIGTERM once the daemon holds some of them (connected, or answered).
in_flight() {
    local connected
    connected=$(ss -Htn state established "( dport = :${GW_URL##*:} )" | wc -l)
    [ $((connected + $(grep -l 200 "$W"/conc/term.* 2>/dev/null | wc -l))) -ge 4 ]
}
wait_until 10 "requests in flight before SIGTERM" in_flight
stop_gateway
wait "${pids[@]}"
answered=$(cat "$W"/conc/term.* | grep -o 200 | wc -l)
in_log=$(jq -s '[.[] | select(.type=="sign" and .outcome=="ok")] | length' "$W"/audit/audit-*.jsonl)
expect_match "requests in flight at SIGTERM answered or refused, never cut ($answered answered)" \
    "$(cat "$W"/conc/term.* | tr -d '\n')" '^(200|000)+$'
# the env-PIN daemon 1, before reload 1, newcomer 1, after the broken reload 1, concurrent 64,
# during the slow upload 10, the slow one 1, and those answered at SIGTERM.
expect_eq "every answered request audited" "$in_log" "$((1 + 1 + 1 + 1 + 64 + 10 + 1 + answered))"
expect_eq "shutdown entry, then the final checkpoint" \
    "$(tail -n2 "$(ls "$W"/audit/audit-*.jsonl | tail -1)" | jq -r .type | tr '\n' ' ')" "shutdown checkpoint "
check "chain verifies" audit_verify "$W/audit"
finish
