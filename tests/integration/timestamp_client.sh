# SPDX-License-Identifier: Apache-2.0
# The gateway's RFC 3161 client (gateway/documents/gw_tsp.c over
# gw_forward), driven by tsp-probe against the strict TSA simulator
# (tests/sim/tsa_sim.py, tokens made by openssl ts -reply): a granted
# answer gives a token that openssl ts -verify accepts over the digest,
# with the serial and genTime openssl reads from it; each fault (reject,
# wrong imprint, wrong nonce, untrusted signer, an unknown policy, slow
# past the timeout, a TSA CA that is not the signer's) is refused and no
# token is written.
. "$SG_SRCDIR/tests/integration/lib.sh"
W=$SG_WORK
S=$W/tsa
SIM=$SG_SRCDIR/tests/sim/tsa_sim.py
PY=${SG_PYTHON:-python3}
PROBE=$SG_BUILDDIR/tests/integration/tsp-probe
need_python "$PY" cryptography python3-cryptography
need_tools openssl curl jq
TLS=(--cacert "$S/server-ca.pem")
fault() { curl -sS -o /dev/null -w '%{http_code}' "${TLS[@]}" -H 'Content-Type: application/json' \
    --data-binary "$1" "${SIM_URL}fault"; }
head -c 1000 /dev/urandom > "$W/data"
DIGEST=$(openssl dgst -sha256 -r "$W/data" | cut -c1-64)
# probe [args...]: tsp-probe against the simulator; JSON line in $W/out, exit status in $W/rc.
probe() {
    rm -f "$W/token.der" "$W/reply.der"
    "$PROBE" --url "$URL" --ca "$S/server-ca.pem" --tsa-ca "$S/tsa-ca.pem" --digest "$DIGEST" \
        --token-out "$W/token.der" --reply-out "$W/reply.der" "$@" > "$W/out" 2>"$W/err"
    echo $? > "$W/rc"
}
# refused WHAT WHY_REGEX [probe args...]: the probe refuses (exit 3, error
# "authority error" or as given), why matches, and no token was written.
refused() {
    local what=$1 re=$2
    shift 2
    probe "$@"
    expect_eq "$what: refused" "$(cat "$W/rc") $(jq -r .stage "$W/out")" "3 answer"
    expect_match "  why: $re" "$(jq -r .why "$W/out")" "$re"
    [ ! -e "$W/token.der" ] && pass "  no token written" || fail "  no token written"
}

"$PY" "$SIM" init --state "$S" >/dev/null || { echo "Bail out! tsa_sim init failed"; exit 1; }
start_sim_serve tsa_sim "$W/ready.json" "$PY" "$SIM" "$S"
URL=$(jq -r .url "$W/ready.json")
SIM_URL=$(jq -r .sim_url "$W/ready.json")

probe
expect_eq "a granted time-stamp" "$(cat "$W/rc") $(jq -r .status "$W/out")" "0 ok"
check "  openssl ts -verify accepts the token over the digest" openssl ts -verify -token_in \
    -in "$W/token.der" -digest "$DIGEST" -CAfile "$S/tsa-ca.pem"
check "  and over the data" openssl ts -verify -token_in -in "$W/token.der" -data "$W/data" \
    -CAfile "$S/tsa-ca.pem"
check_exit 1 "  not over other data" openssl ts -verify -token_in -in "$W/token.der" \
    -data "$W/err" -CAfile "$S/tsa-ca.pem"
text=$(openssl ts -reply -in "$W/reply.der" -text 2>/dev/null)
expect_match "  the whole reply is kept (granted)" "$text" 'Status: Granted'
oserial=$(printf '%s\n' "$text" | sed -n 's/^Serial number: 0x//p' | tr 'A-F' 'a-f' | sed 's/^0*//')
expect_eq "  serial as openssl reads it" "$(jq -r .serial "$W/out" | sed 's/^0*//')" "$oserial"
otime=$(date -u -d "$(printf '%s\n' "$text" | sed -n 's/^Time stamp: //p')" +%s)
expect_eq "  gen_time as openssl reads it" "$(jq -r .gen_time "$W/out")" "$otime"
expect_match "  the request asked for the certificate (it is in the token)" \
    "$(openssl pkcs7 -inform DER -in "$W/token.der" -print_certs 2>/dev/null)" 'subject=.*CN = tsa TSA'
probe
n1=$(jq -r .serial "$W/out")
expect_eq "  a second one has another serial" "$([ "$n1" != "$oserial" ] && echo yes)" yes

D384=$(openssl dgst -sha384 -r "$W/data" | cut -c1-96)
probe --alg sha384 --digest "$D384"
check "sha384: verifies" openssl ts -verify -token_in -in "$W/token.der" -data "$W/data" -CAfile "$S/tsa-ca.pem"
probe --policy 1.2.3.4.5.6
expect_eq "an accepted policy" "$(cat "$W/rc")" 0
expect_match "  is the token's" "$(openssl ts -reply -in "$W/reply.der" -text 2>/dev/null)" 'Policy OID: (1\.2\.3\.4\.5\.6|tsa_policy2)'
refused "an unknown policy" 'status 2 \(rejection\), failInfo unacceptedPolicy' --policy 1.2.3.9
probe --digest abcd
expect_eq "a digest of the wrong length is refused before sending" \
    "$(cat "$W/rc") $(jq -r .stage "$W/out")" "3 request"

fault '{"fault":"reject"}' >/dev/null
refused "fault reject" 'status 2 \(rejection\), failInfo systemFailure'
fault '{"fault":"wrong-imprint"}' >/dev/null
refused "fault wrong-imprint" 'message imprint mismatch'
fault '{"fault":"wrong-nonce"}' >/dev/null
refused "fault wrong-nonce" 'nonce mismatch'
fault '{"fault":"untrusted"}' >/dev/null
refused "fault untrusted" 'certificate verify error'
fault '{"fault":"none"}' >/dev/null
"$PROBE" --url "$URL" --ca "$S/server-ca.pem" --tsa-ca "$S/rogue-ca.pem" --digest "$DIGEST" \
    > "$W/out" 2>"$W/err"
expect_eq "a TSA CA that is not the signer's: refused" "$(jq -r .stage "$W/out")" answer
"$PROBE" --url "$URL" --ca "$S/tsa-ca.pem" --tsa-ca "$S/tsa-ca.pem" --digest "$DIGEST" \
    > "$W/out" 2>"$W/err"
expect_eq "a TLS CA that is not the server's: transport refused" "$(jq -r .stage "$W/out")" transport
fault '{"fault":"slow","delay_ms":3000}' >/dev/null
probe --timeout-ms 1000
expect_eq "slow past --timeout-ms 1000: transport timed out" \
    "$(cat "$W/rc") $(jq -r .stage "$W/out") $(jq -r .error "$W/out")" "3 transport timed out"
expect_eq "  within 1000..2900 ms" "$(jq -r '.elapsed_ms >= 1000 and .elapsed_ms < 2900' "$W/out")" true
fault '{"fault":"none"}' >/dev/null
probe
expect_eq "fault none: granted again" "$(cat "$W/rc")" 0
end_sim
finish
