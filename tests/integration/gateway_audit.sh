# SPDX-License-Identifier: Apache-2.0
# The audit log behind /v1/sign: entries chained and verifiable with the
# documented hash form; every answered request is in the log even when the
# daemon is killed with SIGKILL right after answering; when the log cannot
# be written (file size limit, as on a full disk) signing answers 503
# audit_unavailable with no signature, and recovers when writes work again.
. "$SG_SRCDIR/tests/integration/lib.sh"
W=$SG_WORK
gateway_fixture
start_gateway
J=(-H 'Content-Type: application/json')
echo "document" > "$W/doc"
# missing_answered: how many client request ids in $W/answered have no
# successful sign entry in the log.
missing_answered() {
    local rid missing=0
    while read -r rid; do
        jq -se --arg r "$rid" 'any(.[]; .client_request_id==$r and .type=="sign" and .outcome=="ok")' \
            "$W"/audit/audit-*.jsonl >/dev/null || missing=$((missing + 1))
    done < "$W/answered"
    echo "$missing"
}

expect_match "startup and config_load entries" "$(jq -r .type "$W"/audit/audit-*.jsonl | head -2 | tr '\n' ' ')" \
    '^startup config_load $'

# Answers, then SIGKILL: every request id answered 200 must be in the log.
: > "$W/answered"
pids=()
for i in $(seq 1 40); do
    printf 'doc %s' "$i" > "$W/d$i"
    api billing POST /v1/sign "${J[@]}" -H "X-Request-Id: kill-$i" --data "$(sign_body ec-seal sha256 "$W/d$i" raw)" \
        > "$W/status.$i" &
    pids+=($!)
done
wait "${pids[@]}"
for i in $(seq 1 40); do [ "$(cat "$W/status.$i")" = 200 ] && echo "kill-$i" >> "$W/answered"; done
kill -KILL "$GW_PID"; wait "$GW_PID" 2>/dev/null
expect_eq "all 40 concurrent requests answered" "$(wc -l < "$W/answered")" 40
expect_eq "every answered request is in the log after SIGKILL" "$(missing_answered)" 0
n=$(audit_verify "$W/audit")
expect_match "chain verifies after SIGKILL ($n entries)" "$n" '^[0-9]+$'
expect_eq "digest recorded for a request" \
    "$(jq -r 'select(.client_request_id=="kill-7") | .digest' "$W"/audit/audit-*.jsonl)" \
    "sha256:$(openssl dgst -sha256 -r "$W/d7" | cut -d' ' -f1)"

# Restart continues the chain.
start_gateway
expect_eq "sign after restart" "$(api billing POST /v1/sign "${J[@]}" --data "$(sign_body local-seal sha256 "$W/doc" raw)")" 200
check "chain continues across the restart" audit_verify "$W/audit"

# The same under a group commit (audit.group_commit_us): requests announce
# their entries, the writer holds a batch for them. Refusals of every kind
# end their announcement; every answered request is durable at SIGKILL.
kill -KILL "$GW_PID"; wait "$GW_PID" 2>/dev/null
jq '.audit.group_commit_us = 5000' "$W/sealgate.json" > "$W/c.json" && mv "$W/c.json" "$W/sealgate.json"
start_gateway
: > "$W/answered"
pids=()
for i in $(seq 1 40); do
    printf 'doc %s' "$i" > "$W/g$i"
    case $((i % 4)) in
        1) body='{"identity":' ;;
        2) body=$(sign_body nosuch sha256 "$W/g$i" raw) ;;
        *) body=$(sign_body ec-seal sha256 "$W/g$i" raw) ;;
    esac
    api billing POST /v1/sign "${J[@]}" -H "X-Request-Id: group-$i" --data "$body" > "$W/status.$i" &
    pids+=($!)
done
wait "${pids[@]}"
bad=0
for i in $(seq 1 40); do
    case $((i % 4)):$(cat "$W/status.$i") in
        1:400|2:403|2:404) ;;
        [03]:200) echo "group-$i" >> "$W/answered" ;;
        *) bad=$((bad + 1)) ;;
    esac
done
expect_eq "under a group commit: 20 signed, 20 refused as they should be" "$bad:$(wc -l < "$W/answered")" 0:20
expect_eq "metrics" "$(api monitor GET /metrics)" 200
expect_match "no announced entry left waiting" "$(cat "$W/body")" '^sealgate_audit_announced 0$'
kill -KILL "$GW_PID"; wait "$GW_PID" 2>/dev/null
expect_eq "under a group commit every answered request is in the log after SIGKILL" "$(missing_answered)" 0
expect_eq "  and so is every refusal" \
    "$(jq -s '[.[] | select((.client_request_id // "") | startswith("group-")) | select(.outcome=="error")] | length' \
    "$W"/audit/audit-*.jsonl)" 20
check "chain verifies after SIGKILL under a group commit" audit_verify "$W/audit"
start_gateway

# Fail closed: the log file may not grow (soft RLIMIT_FSIZE at its current
# size; only the soft limit, which an unprivileged process may raise again).
size=$(stat -c %s "$(ls "$W"/audit/audit-*.jsonl | tail -1)")
prlimit --pid "$GW_PID" --fsize="$size":unlimited || fail "prlimit not usable"
expect_error "sign while the log cannot be written" 503 audit_unavailable \
    "$(api billing POST /v1/sign "${J[@]}" --data "$(sign_body local-seal sha256 "$W/doc" raw)")"
expect_eq "no signature in the 503 answer" "$(jq -r '.signature // "none"' "$W/body")" none
expect_error "still refused, nothing signed" 503 audit_unavailable \
    "$(api billing POST /v1/sign "${J[@]}" --data "$(sign_body ec-seal sha256 "$W/doc" cms)")"
expect_error "auth failures fail closed too" 503 audit_unavailable "$(api - POST /v1/sign "${J[@]}" --data '{}')"
expect_eq "readyz reports the audit log" "$(api monitor GET /readyz)" 503
expect_match "readyz names the audit check" "$(jq -r .checks.audit "$W/body")" 'cannot be written'
expect_eq "healthz still serves" "$(api - GET /healthz)" 200
prlimit --pid "$GW_PID" --fsize=unlimited:unlimited
# The next request re-tests the disk (its refusal entry is the probe), and
# signing resumes at once after that.
signs() { [ "$(api billing POST /v1/sign "${J[@]}" --data "$(sign_body local-seal sha256 "$W/doc" raw)")" = 200 ]; }
wait_until 30 "signing resumes when the log takes writes" signs && pass "signing resumes when the log takes writes"
expect_eq "readyz recovers" "$(api - GET /readyz)" 200

# Another process holding the log's lock makes signing refuse, not hang.
flock -x "$W/audit/audit.lock" sh -c 'touch "$1/held"; until [ -e "$1/release" ]; do sleep 0.05; done' _ "$W" &
holder=$!
wait_until 10 "another process holds the audit lock" test -e "$W/held"
status=$(api billing POST /v1/sign "${J[@]}" --max-time 20 --data "$(sign_body local-seal sha256 "$W/doc" raw)")
expect_error "signing while the lock is held elsewhere" 503 audit_unavailable "$status"
expect_match "the daemon says who holds it up" "$(cat "$W/sealgated.log")" 'audit.lock is held by another process'
touch "$W/release"
wait "$holder"
wait_until 30 "signing resumes once the lock is let go" signs && pass "signing resumes once the lock is let go"
stop_gateway
check "chain intact after the failed writes" audit_verify "$W/audit"
expect_eq "no torn line left" "$(ls "$W"/audit | grep -c torn)" 0
expect_eq "no entry for the refused requests claims success" \
    "$(jq -s '[.[] | select(.type=="sign" and .outcome=="ok")] | length' "$W"/audit/audit-*.jsonl)" 63
expect_eq "shutdown entry, then the final checkpoint" \
    "$(tail -n2 "$(ls "$W"/audit/audit-*.jsonl | tail -1)" | jq -r .type | tr '\n' ' ')" "shutdown checkpoint "
finish
