# SPDX-License-Identifier: Apache-2.0
# Helpers for integration tests, sourced by each tests/integration/*.sh.
# Each check prints one line; the script exits non-zero at the end if any
# check failed, so one run reports every broken expectation.
set -u
SG_FAILS=0
SG_PASSES=0
MODULE=${SEALGATE_PKCS11_MODULE:-$(sed -n 's/^#define SG_DEFAULT_MODULE "\(.*\)"$/\1/p' "$SG_BUILDDIR/config.h")}
export SEALGATE_PKCS11_MODULE="$MODULE"

pass() { SG_PASSES=$((SG_PASSES + 1)); echo "ok - $*"; }
fail() { SG_FAILS=$((SG_FAILS + 1)); echo "not ok - $*"; }

# check DESCRIPTION COMMAND...: the command must succeed.
check() {
    local what=$1
    shift
    if "$@" >"$SG_WORK/last.out" 2>"$SG_WORK/last.err"; then
        pass "$what"
    else
        fail "$what (exit $?): $(head -c 400 "$SG_WORK/last.err")"
    fi
}

# check_exit CODE DESCRIPTION COMMAND...: the command must exit with CODE.
check_exit() {
    local want=$1 what=$2 rc
    shift 2
    "$@" >"$SG_WORK/last.out" 2>"$SG_WORK/last.err"
    rc=$?
    if [ "$rc" -eq "$want" ]; then
        pass "$what"
    else
        fail "$what (exit $rc, wanted $want): $(head -c 400 "$SG_WORK/last.err")"
    fi
}

# expect_eq DESCRIPTION GOT WANT
expect_eq() {
    if [ "$2" == "$3" ]; then pass "$1"; else fail "$1: got '$2', wanted '$3'"; fi
}

# expect_match DESCRIPTION TEXT REGEX
expect_match() {
    if printf '%s' "$2" | grep -Eq -- "$3"; then pass "$1"; else fail "$1: '$(printf '%s' "$2" | head -c 300)' does not match /$3/"; fi
}

expect_no_match() {
    if printf '%s' "$2" | grep -Eq -- "$3"; then fail "$1: '$(printf '%s' "$2" | head -c 300)' matches /$3/"; else pass "$1"; fi
}

# The last command's stderr is exactly one line.
expect_one_line_error() {
    local n
    n=$(wc -l < "$SG_WORK/last.err")
    if [ "$n" -eq 1 ] && grep -Eq '^sealgate(d|-[a-z]+): ' "$SG_WORK/last.err"; then
        pass "$1: one-line error"
    else
        fail "$1: stderr has $n lines: $(head -c 400 "$SG_WORK/last.err")"
    fi
}

# A token labelled $1 (default "sealgate") with user PIN file $SG_WORK/pin
# and SO PIN file $SG_WORK/so-pin.
make_token() {
    local label=${1:-sealgate}
    (umask 077; printf '%s\n' "${TEST_PIN:-246810}" > "$SG_WORK/pin"; printf '%s\n' "${TEST_SO_PIN:-13579111}" > "$SG_WORK/so-pin")
    sealgate-token init --label "$label" --pin-file "$SG_WORK/pin" --so-pin-file "$SG_WORK/so-pin" >/dev/null ||
        { echo "Bail out! cannot initialise token $label"; exit 1; }
    export SEALGATE_TOKEN_LABEL="$label"
}

# A throwaway CA under $SG_WORK/ca-$1 (key and certificate) for issuing test certificates.
make_ca() {
    local name=$1
    openssl req -x509 -new -newkey rsa:2048 -nodes -sha256 -days 30 -subj "/CN=sealgate test CA $name" \
        -keyout "$SG_WORK/ca-$name.key" -out "$SG_WORK/ca-$name.pem" 2>/dev/null
}

# issue_cert CA CSR OUT [DAYS] [EXTFILE]: sign a CSR with the test CA, valid
# DAYS (default $CERT_DAYS, else 30), with the extensions of EXTFILE (an
# openssl -extfile) when given.
issue_cert() {
    local ext=()
    [ -n "${5:-}" ] && ext=(-extfile "$5")
    openssl x509 -req -in "$2" -CA "$SG_WORK/ca-$1.pem" -CAkey "$SG_WORK/ca-$1.key" -CAcreateserial \
        -sha256 -days "${4:-${CERT_DAYS:-30}}" "${ext[@]}" -out "$3" 2>/dev/null
}

# --- waiting on state ------------------------------------------------------
# Tests wait for the thing itself, never for a while: a bounded loop that
# asks the system again every SG_POLL_S seconds and fails with a message
# naming what never happened.
SG_POLL_S=${SG_POLL_S:-0.05}

# wait_until SECONDS WHAT COMMAND...: run COMMAND (output dropped) until it
# succeeds. After SECONDS it records a failed check "WHAT: not within
# SECONDS s" and returns 1.
wait_until() {
    local limit=$1 what=$2 deadline
    shift 2
    deadline=$(( $(date +%s%N) + limit * 1000000000 ))
    until "$@" >/dev/null 2>&1; do
        if [ "$(date +%s%N)" -ge "$deadline" ]; then
            fail "$what: not within $limit s"
            return 1
        fi
        sleep "$SG_POLL_S"
    done
}

# wait_ready FILE PID WHAT LOG: wait until the process PID (a daemon or a
# simulator) has written FILE (its ready or port file). When it exits first,
# or 60 s pass, the test bails out with the tail of LOG.
wait_ready() {
    local file=$1 pid=$2 what=$3 log=$4 deadline
    deadline=$(( $(date +%s%N) + 60 * 1000000000 ))
    until [ -s "$file" ]; do
        if ! kill -0 "$pid" 2>/dev/null || [ "$(date +%s%N)" -ge "$deadline" ]; then
            [ -s "$file" ] && return 0
            echo "Bail out! $what did not start:"; tail -n 20 "$log"; exit 1
        fi
        sleep "$SG_POLL_S"
    done
}

# at_least N COMMAND...: COMMAND prints a number, and it is N or more.
at_least() { local n; n=$("${@:2}") && [ "${n:-0}" -ge "$1" ]; }

# audit_entries TYPE: how many entries of TYPE the log in $SG_WORK/audit holds.
audit_entries() {
    cat "$SG_WORK"/audit/audit-*.jsonl 2>/dev/null | jq -s --arg t "$1" '[.[] | select(.type == $t)] | length'
}

# exited PID: the process has ended, as the kernel tells it
# (scripts/wait-exit: a pidfd is readable once it has, reaped or not).
exited() { "$SG_SRCDIR/scripts/wait-exit" "$1"; }


# curl options for every request to the gateway (api, metric): an HTTPS
# test sets its CA here, GW_CURL=(--cacert FILE).
GW_CURL=()

# metric SAMPLE: the value of one sample of the gateway's /metrics (asked
# as the monitor client), e.g. 'sealgate_config_loads_total{outcome="ok"}';
# 0 when the sample is not there yet.
metric() {
    curl -sS "${GW_CURL[@]}" -H "Authorization: Bearer $(cat "$SG_WORK/monitor.token")" "$GW_URL/metrics" |
        awk -v n="$1" '$1 == n { v = $2 } END { print v == "" ? 0 : v }'
}

# reload_gateway [ok|error]: SIGHUP, then wait until /metrics counts one
# more configuration load with that outcome (default ok).
reload_gateway() {
    local sample="sealgate_config_loads_total{outcome=\"${1:-ok}\"}" before
    before=$(metric "$sample")
    kill -HUP "$GW_PID"
    wait_until 30 "the SIGHUP reload (${1:-ok})" at_least $((before + 1)) metric "$sample"
}

finish() {
    echo "$SG_PASSES passed, $SG_FAILS failed"
    [ "$SG_FAILS" -eq 0 ]
    exit $?
}

# --- sealgated helpers ---------------------------------------------------

# token_key LABEL TYPE: a key LABEL of TYPE (rsa:2048, ec:p256, ...) on the
# token; the test bails out when keygen fails.
token_key() {
    sealgate-token keygen --label "$1" --type "$2" --pin-file "$SG_WORK/pin" >/dev/null ||
        { echo "Bail out! keygen $1"; exit 1; }
}

# token_identity LABEL TYPE ISSUER [CSR ARGS...]: token_key LABEL TYPE, its
# CSR made on the token into $SG_WORK/LABEL.csr (sealgate-token csr with
# CSR ARGS, by default --subject C=FI,O=sealgate tests,CN=LABEL), the
# certificate that the command ISSUER CSR OUT writes to $SG_WORK/LABEL.pem
# (ISSUER is split into words: "issue_cert gw", or a function of the test
# that asks a simulator's issue-client), imported next to the key. The test
# bails out when a step fails.
token_identity() {
    local label=$1 type=$2 issuer=$3
    shift 3
    [ $# -gt 0 ] || set -- --subject "C=FI,O=sealgate tests,CN=$label"
    token_key "$label" "$type"
    sealgate-token csr --label "$label" "$@" --pin-file "$SG_WORK/pin" --out "$SG_WORK/$label.csr" &&
        $issuer "$SG_WORK/$label.csr" "$SG_WORK/$label.pem" &&
        sealgate-token import-cert --label "$label" --cert "$SG_WORK/$label.pem" \
            --pin-file "$SG_WORK/pin" >/dev/null ||
        { echo "Bail out! certificate for $label"; exit 1; }
}

# make_identity LABEL TYPE [CA]: key on the token and, when CA is given, a
# certificate for it from that test CA (token_identity).
make_identity() {
    if [ -n "${3:-}" ]; then token_identity "$1" "$2" "issue_cert $3"; else token_key "$1" "$2"; fi
}

# client_token NAME: a random bearer token in $SG_WORK/NAME.token; prints
# its SHA-256 for the config.
client_token() {
    (umask 077; openssl rand -hex 32 | tr -d '\n' > "$SG_WORK/$1.token")
    sha256sum < "$SG_WORK/$1.token" | cut -d' ' -f1
}

# start_gateway [CONFIG]: sealgated in the background on the config's port
# (0 in tests); waits for its ready file and sets GW_URL and GW_PID.
# GW_VERBOSE=--verbose gives a debug log when a test is looked into.
start_gateway() {
    local config=${1:-$SG_WORK/sealgate.json}
    rm -f "$SG_WORK/ready.json"
    ${GW_WRAPPER:-} sealgated --foreground ${GW_VERBOSE:-} --config "$config" --ready-file "$SG_WORK/ready.json" \
        >>"$SG_WORK/sealgated.log" 2>&1 &
    GW_PID=$!
    wait_ready "$SG_WORK/ready.json" "$GW_PID" sealgated "$SG_WORK/sealgated.log"
    GW_URL=$(jq -r .url "$SG_WORK/ready.json")
    GW_PID=$(jq -r .pid "$SG_WORK/ready.json")
}

# stop_gateway: SIGTERM, and sealgated must exit 0 (under the sanitizers a
# leak or error report at exit makes this fail).
stop_gateway() {
    local rc
    kill -TERM "$GW_PID" 2>/dev/null
    wait "$GW_PID" 2>/dev/null
    rc=$?
    if [ "$rc" -eq 0 ]; then pass "sealgated stopped cleanly"; else
        fail "sealgated exit $rc on SIGTERM: $(grep -m3 -E 'ERROR|runtime error' "$SG_WORK/sealgated.log")"; fi
}

# api CLIENT METHOD PATH [curl args...]: the status code on stdout, the body
# in $SG_WORK/body. CLIENT "-" sends no Authorization header.
api() {
    local client=$1 method=$2 path=$3
    shift 3
    local auth=()
    [ "$client" != "-" ] && auth=(-H "Authorization: Bearer $(cat "$SG_WORK/$client.token")")
    # Bounded: a request that hangs fails its check instead of the run
    # (a caller's own --max-time, later on the line, wins).
    curl -sS "${GW_CURL[@]}" -o "$SG_WORK/body" -w '%{http_code}' --max-time 120 -X "$method" "${auth[@]}" "$@" "$GW_URL$path"
}

# sign_body IDENTITY ALG FILE FORMAT: the /v1/sign JSON for FILE's digest.
sign_body() {
    printf '{"identity":"%s","digest":{"alg":"%s","value":"%s"},"format":"%s"}' \
        "$1" "$2" "$(openssl dgst -"$2" -binary "$3" | base64 -w0)" "$4"
}

# expect_error DESCRIPTION STATUS CODE GOT_STATUS: status and the JSON error
# body {"error","error_description"} of the last api call.
expect_error() {
    local what=$1 want_status=$2 want_code=$3 got=$4
    if [ "$got" = "$want_status" ] && [ "$(jq -r .error "$SG_WORK/body" 2>/dev/null)" = "$want_code" ] &&
        [ -n "$(jq -r '.error_description // empty' "$SG_WORK/body" 2>/dev/null)" ]; then
        pass "$what: $want_status $want_code"
    else
        fail "$what: got $got $(head -c 300 "$SG_WORK/body"), wanted $want_status $want_code"
    fi
}

# audit_verify DIR: recompute every entry's hash and the chain with the
# documented canonical form (independent of the daemon's code). Prints the
# number of entries; exits non-zero on the first break.
audit_verify() {
    python3 - "$1" <<'PY'
import hashlib, json, re, sys, glob
prev, seq, n = "0" * 64, None, 0
for path in sorted(glob.glob(sys.argv[1] + "/audit-*.jsonl")):
    with open(path, "rb") as f:
        for raw in f:
            assert raw.endswith(b"\n"), f"{path}: torn line"
            line = raw[:-1]
            m = re.search(rb',"hash":"([0-9a-f]{64})"\}$', line)
            assert m, f"{path}: no hash member"
            body = line[:m.start()] + b"}"
            e = json.loads(line)
            assert hashlib.sha256(body).hexdigest() == m.group(1).decode(), f"seq {e['seq']}: hash"
            assert e["prev"] == prev, f"seq {e['seq']}: prev"
            assert seq is None or e["seq"] == seq + 1, f"seq {e['seq']}: gap"
            prev, seq, n = m.group(1).decode(), e["seq"], n + 1
print(n)
PY
}

# gateway_fixture: a token with signing identities (RSA and EC with
# certificates from test CA "gw", one RSA without a certificate), an audit
# identity, clients billing (stamp: all three), other (stamp: none of
# them), auditor and monitor, and $SG_WORK/sealgate.json on port 0.
gateway_fixture() {
    make_token sealgate
    make_ca gw
    make_identity local-seal rsa:2048 gw
    make_identity ec-seal ec:p256 gw
    make_identity bare rsa:2048
    make_identity audit-signer ec:p256 gw
    make_identity spare ec:p256
    local billing other auditor monitor
    billing=$(client_token billing)
    other=$(client_token other)
    auditor=$(client_token auditor)
    monitor=$(client_token monitor)
    mkdir -p "$SG_WORK/audit"
    cat > "$SG_WORK/sealgate.json" <<JSON
{
  "listen": { "address": "127.0.0.1", "port": 0, "threads": ${GW_THREADS:-4}, "tls": null },
  "token": { "module": "$MODULE", "label": "sealgate", "pin_file": "pin", "max_sessions": ${GW_SESSIONS:-8} },
  "audit": { "dir": "audit", "checkpoint_identity": "audit-signer" },
  "limits": { "max_json_bytes": 4096, "request_timeout_ms": 10000 },
  "authorities": {},
  "identities": [
    { "name": "local-seal", "key_label": "local-seal", "uses": ["sign"] },
    { "name": "ec-seal", "key_label": "ec-seal", "uses": ["sign"] },
    { "name": "bare", "key_label": "bare", "uses": ["sign"] },
    { "name": "audit-signer", "key_label": "audit-signer", "uses": [] },
    { "name": "spare", "key_label": "spare", "uses": [] }
  ],
  "clients": [
    { "name": "billing", "token_sha256": "$billing", "roles": ["stamp"],
      "identities": ["local-seal", "ec-seal", "bare", "spare"] },
    { "name": "other", "token_sha256": "$other", "roles": ["stamp"], "identities": [] },
    { "name": "auditor", "token_sha256": "$auditor", "roles": ["auditor"] },
    { "name": "monitor", "token_sha256": "$monitor", "roles": ["monitor"] }
  ]
}
JSON
}

# expect_no_secret SECRET...: one check per SECRET (a transfer password):
# it is in no file of the audit directory (job files included) nor in the
# daemon's log.
expect_no_secret() {
    local secret
    for secret in "$@"; do
        expect_no_match "no transfer password in the audit log, the daemon's log or the job files" \
            "$(grep -rl -- "$secret" "$SG_WORK/audit" "$SG_WORK/sealgated.log" 2>/dev/null)" .
    done
}

# --- the simulators of tests/sim ---------------------------------------------

# need_python PY MODULES PACKAGES: the test is skipped (exit 77) unless PY
# imports MODULES (comma-separated, as Python's import statement takes
# them); PACKAGES names the Debian packages that bring them.
need_python() {
    "$1" -c "import $2" 2>/dev/null && return 0
    echo "SKIP: $1 cannot import $2 ($3)"
    exit 77
}

# need_tools TOOL...: the test is skipped (exit 77) unless each TOOL is on
# PATH.
need_tools() {
    local tool
    for tool in "$@"; do
        command -v "$tool" >/dev/null || { echo "SKIP: no $tool"; exit 77; }
    done
}

# csc_interface LABEL: an RSA key LABEL on the token, its CSR (profile
# dvv-interface) signed by the CSC v2 simulator's client CA in $SIM for
# credential org-stamp-1, and the certificate imported beside the key
# ($SG_WORK/LABEL.pem). Two checks.
csc_interface() {
    sealgate-token keygen --label "$1" --type rsa:2048 --pin-file "$SG_WORK/pin" >/dev/null
    sealgate-token csr --label "$1" --profile dvv-interface --customer-id 1234567-8 \
        --customer-name "Example Oy" --pin-file "$SG_WORK/pin" --out "$SG_WORK/$1.csr"
    check "the simulator's client CA issues the $1 certificate" \
        python3 "$SG_SRCDIR/tests/sim/csc_sim.py" issue-client --state "$SIM" --csr "$SG_WORK/$1.csr" \
        --out "$SG_WORK/$1.pem" --allow org-stamp-1
    check "the $1 certificate imported next to its key" \
        sealgate-token import-cert --label "$1" --cert "$SG_WORK/$1.pem" --pin-file "$SG_WORK/pin"
}

# start_sim_serve WHAT READY PY SIMPY STATE [serve args...]: the simulator
# SIMPY, run by PY, serving STATE in the background on a free port (a
# --port among the serve args wins), output appended to $SG_WORK/sim.log;
# sets SIM_PID and waits for its ready file READY (wait_ready: the test
# bails out, naming WHAT, when it never comes).
start_sim_serve() {
    local what=$1 ready=$2 py=$3 simpy=$4 state=$5
    shift 5
    rm -f "$ready"
    "$py" "$simpy" serve --state "$state" --port 0 --ready-file "$ready" "$@" >>"$SG_WORK/sim.log" 2>&1 &
    SIM_PID=$!
    wait_ready "$ready" "$SIM_PID" "$what" "$SG_WORK/sim.log"
}

# stop_sim: SIGTERM to the simulator SIM_PID; it must exit 0 (one check).
stop_sim() {
    local rc
    kill -TERM "$SIM_PID"
    wait "$SIM_PID"
    rc=$?
    expect_eq "simulator exits 0 on SIGTERM" "$rc" 0
}

# end_sim: SIGTERM to the simulator SIM_PID and wait until it has gone (the
# authority is down from then on); how it exits is not checked.
end_sim() {
    kill -TERM "$SIM_PID" 2>/dev/null
    wait "$SIM_PID" 2>/dev/null
}

# --- SOAP and WS-Security names (soap.sh, stil_sim.sh, xmldsig.sh) ------------
S12=http://www.w3.org/2003/05/soap-envelope
S11=http://schemas.xmlsoap.org/soap/envelope/
WSU=http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd
WSA=http://www.w3.org/2005/08/addressing
UDB=https://brugerdatabasen.stil.dk/bpi/common/3
# The STIL BPI operation the tests call (hentInstitution, as in
# LRU-Digital/STIL.ServiceClient StilWsiInstServiceClient.cs), its
# namespace and its wsa:Action ({service URL}/{operation}).
BPI_NS=https://brugerdatabasen.stil.dk/bpi/wsiinst/6
BPI_ACTION=$BPI_NS/hentInstitution

# --- signing load, for the token outage tests ---------------------------------

# sign_load_start N: N clients (billing, with identity local-seal) each sign
# documents of their own until sign_load_stop. Per request a line "i status"
# in $SG_WORK/load/CLIENT.status; the document and answer of each 200 are
# kept, any answer but 200 or 503 token_unavailable as CLIENT.i.other. A
# client asks again after a 503 when its Retry-After says, as a well-behaved
# client of the gateway does (it is not a wait for anything in the test).
sign_load_start() {
    local n
    mkdir -p "$SG_WORK/load"
    rm -f "$SG_WORK/load.stop"
    LOAD_PIDS=()
    for n in $(seq 1 "$1"); do sign_load_client "$n" & LOAD_PIDS+=($!); done
}
sign_load_client() {
    local n=$1 i=0 status after out token
    token=$(cat "$SG_WORK/billing.token")
    while [ ! -e "$SG_WORK/load.stop" ]; do
        i=$((i + 1))
        out=$SG_WORK/load/$n.$i
        printf 'document %s of client %s\n' "$i" "$n" > "$out.doc"
        read -r status after < <(curl -sS -o "$out.json" -w '%{http_code} %header{retry-after}\n' \
            --max-time 60 -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
            --data "$(sign_body local-seal sha256 "$out.doc" raw)" "$GW_URL/v1/sign")
        if [ "$status" != 200 ]; then
            { [ "$status" = 503 ] && [ "$(jq -r .error "$out.json")" = token_unavailable ]; } ||
                cp "$out.json" "$out.other"
            rm -f "$out.doc" "$out.json"
        fi
        echo "$i $status" >> "$SG_WORK/load/$n.status"
        case "${after:-}" in [1-9]) [ -e "$SG_WORK/load.stop" ] || sleep "$after" ;; esac
    done
}
sign_load_stop() { touch "$SG_WORK/load.stop"; wait "${LOAD_PIDS[@]}"; }
# load_answers STATUS: how many requests of the load were answered STATUS.
load_answers() { cat "$SG_WORK"/load/*.status 2>/dev/null | awk -v s="$1" '$2 == s' | wc -l; }
# load_check PUBKEY: after sign_load_stop, every 200's signature verifies
# with openssl against PUBKEY and nothing but 200 and 503 token_unavailable
# was answered. Sets LOAD_OK to the number of signatures.
load_check() {
    local doc bad=0 others
    LOAD_OK=0
    for doc in "$SG_WORK"/load/*.doc; do
        [ -e "$doc" ] || continue
        LOAD_OK=$((LOAD_OK + 1))
        jq -r .signature "${doc%.doc}.json" | base64 -d > "$SG_WORK/load.sig"
        openssl dgst -sha256 -verify "$1" -signature "$SG_WORK/load.sig" "$doc" >/dev/null 2>&1 ||
            bad=$((bad + 1))
    done
    expect_eq "every one of the $LOAD_OK signatures under load verifies with openssl" "$bad" 0
    expect_eq "  and each 200 was kept" "$LOAD_OK" "$(load_answers 200)"
    others=$(find "$SG_WORK/load" -name '*.other' | wc -l)
    expect_eq "nothing but 200 or 503 token_unavailable ($(load_answers 503) refused)" "$others" 0
}

# fault_fixture: gateway_fixture with the token behind
# tests/fixtures/p11fault.so (controlled by $SG_WORK/fault, calls noted in
# $SG_WORK/calls) and no timed checkpoint, so the token is asked only for
# what the test does.
fault_fixture() {
    gateway_fixture
    jq --arg m "$SG_BUILDDIR/tests/fixtures/p11fault.so" \
        '.token.module = $m | .audit.checkpoint_every_seconds = 86400' \
        "$SG_WORK/sealgate.json" > "$SG_WORK/c.json" && mv "$SG_WORK/c.json" "$SG_WORK/sealgate.json"
    export P11FAULT_MODULE=$MODULE P11FAULT_CONTROL=$SG_WORK/fault P11FAULT_CALLS=$SG_WORK/calls
}

# expect_outage_over WHAT BACK_AT RECOVERED: after the token came back at
# BACK_AT (ms, now_ms) with RECOVERED token_recovered entries in the log
# before, the next one is written within 2 s of it.
expect_outage_over() {
    local rec_at
    wait_until 30 "$1: the outage ends" at_least $(($3 + 1)) audit_entries token_recovered || return
    rec_at=$(audit_ms "$(audit_last token_recovered time)")
    if [ $((rec_at - $2)) -le 2000 ]; then
        pass "$1: signing again $((rec_at - $2)) ms after the token returned"
    else
        fail "$1: signing again only $((rec_at - $2)) ms after the token returned"
    fi
}

# audit_last TYPE MEMBER: MEMBER of the last entry of TYPE.
audit_last() {
    cat "$SG_WORK"/audit/audit-*.jsonl | jq -s -r --arg t "$1" --arg m "$2" \
        '[.[] | select(.type == $t)] | last | .[$m]'
}
# audit_ms TIME: an entry's time in ms since the epoch.
audit_ms() {
    python3 -c 'import sys, datetime
t = datetime.datetime.strptime(sys.argv[1], "%Y-%m-%dT%H:%M:%S.%fZ")
print(int(t.replace(tzinfo=datetime.timezone.utc).timestamp() * 1000))' "$1"
}
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
