# SPDX-License-Identifier: Apache-2.0
# The RFC 3161 time-stamp authority simulator (tests/sim/tsa_sim.py) on its
# own, driven with curl and openssl only: init, a token made by openssl ts
# -reply that openssl ts -verify accepts against the TSA CA (and the data),
# the TSA certificate's critical timeStamping EKU, each fault (reject,
# wrong imprint, wrong nonce, untrusted signer, slow) seen by openssl ts
# -verify, and the simulator's refusals of bad requests.
. "$SG_SRCDIR/tests/integration/lib.sh"
W=$SG_WORK
S=$W/tsa
SIM=$SG_SRCDIR/tests/sim/tsa_sim.py
PY=${SG_PYTHON:-python3}
need_python "$PY" cryptography python3-cryptography
need_tools openssl curl jq
sim() { "$PY" "$SIM" "$@"; }
TLS=(--cacert "$S/server-ca.pem")
# stamp_query QUERY: POST QUERY to the TSA; HTTP status on stdout, answer in $W/r.tsr.
stamp_query() {
    curl -sS -o "$W/r.tsr" -w '%{http_code}' "${TLS[@]}" -H 'Content-Type: application/timestamp-query' \
        --data-binary @"$1" "$URL"
}
fault() { curl -sS -o "$W/body" -w '%{http_code}' "${TLS[@]}" -H 'Content-Type: application/json' \
    --data-binary "$1" "${SIM_URL}fault"; }
verify() { openssl ts -verify -queryfile "$W/q.tsq" -in "$W/r.tsr" -CAfile "${1:-$S/tsa-ca.pem}"; }
reply_text() { openssl ts -reply -in "$W/r.tsr" -text 2>/dev/null; }

check "init" sim init --state "$S"
for f in server-ca.pem server.pem tsa-ca.pem tsa.pem rogue-ca.pem rogue.pem tsaserial; do
    [ -s "$S/$f" ] && pass "init made $f" || fail "init made $f"
done
fp=$(openssl x509 -in "$S/tsa.pem" -noout -fingerprint)
check "init again" sim init --state "$S"
expect_eq "init again keeps the TSA certificate" "$(openssl x509 -in "$S/tsa.pem" -noout -fingerprint)" "$fp"
expect_match "the TSA certificate's EKU is critical timeStamping" \
    "$(openssl x509 -in "$S/tsa.pem" -noout -ext extendedKeyUsage | tr '\n' ' ')" 'critical +Time Stamping *$'
check "the TSA certificate chains to tsa-ca.pem" openssl verify -CAfile "$S/tsa-ca.pem" -purpose timestampsign "$S/tsa.pem"
check_exit 1 "serve with an unknown fault is refused" sim serve --state "$S" --fault bogus
expect_eq "  in one line" "$(wc -l < "$W/last.err") $(cut -d: -f1 "$W/last.err")" "1 tsa_sim"

start_sim_serve tsa_sim "$W/ready.json" "$PY" "$SIM" "$S"
URL=$(jq -r .url "$W/ready.json")
SIM_URL=$(jq -r .sim_url "$W/ready.json")
expect_match "ready file url" "$URL" '^https://127\.0\.0\.1:[0-9]+/tsa$'
expect_eq "ready file tsa_ca_file" "$(jq -r .tsa_ca_file "$W/ready.json")" "$(cd "$S" && pwd)/tsa-ca.pem"
expect_eq "/sim/health" "$(curl -sS "${TLS[@]}" "${SIM_URL}health" | jq -r .status)" ok

head -c 4096 /dev/urandom > "$W/data"
openssl ts -query -data "$W/data" -sha256 -cert -out "$W/q.tsq" 2>/dev/null
expect_eq "a query is answered 200" "$(stamp_query "$W/q.tsq")" 200
expect_match "  status granted" "$(reply_text)" 'Status: Granted'
check "  openssl ts -verify accepts it against the query and tsa-ca.pem" verify
check "  and against the data itself" openssl ts -verify -data "$W/data" -in "$W/r.tsr" -CAfile "$S/tsa-ca.pem"
check_exit 1 "  but not against the rogue CA" verify "$S/rogue-ca.pem"
printf 'x' >> "$W/data"
check_exit 1 "  nor against changed data" openssl ts -verify -data "$W/data" -in "$W/r.tsr" -CAfile "$S/tsa-ca.pem"
expect_match "  the signer is named by ESSCertIDv2 (RFC 5816)" \
    "$(openssl ts -reply -in "$W/r.tsr" -token_out | openssl cms -cmsout -inform DER -print 2>/dev/null)" \
    'id-smime-aa-signingCertificateV2'
serial1=$(reply_text | sed -n 's/^Serial number: //p')
expect_eq "a second query" "$(stamp_query "$W/q.tsq")" 200
serial2=$(reply_text | sed -n 's/^Serial number: //p')
[ -n "$serial1" ] && [ "$serial1" != "$serial2" ] && pass "  has another serial" || fail "  has another serial ($serial1 $serial2)"

openssl ts -query -data "$W/data" -sha512 -no_nonce -out "$W/q.tsq" 2>/dev/null
expect_eq "sha512, no nonce, no certReq" "$(stamp_query "$W/q.tsq")" 200
check "  verifies with the TSA certificate given" openssl ts -verify -queryfile "$W/q.tsq" -in "$W/r.tsr" \
    -CAfile "$S/tsa-ca.pem" -untrusted "$S/tsa.pem"
check_exit 1 "  and not without it (no certificate in the token)" verify
openssl ts -query -data "$W/data" -sha256 -cert -tspolicy 1.2.3.9 -out "$W/q.tsq" 2>/dev/null
expect_eq "an unknown policy" "$(stamp_query "$W/q.tsq")" 200
expect_match "  is rejected by openssl ts -reply" "$(reply_text)" 'Status: Rejected'
printf 'not a query' > "$W/junk"
expect_eq "a body that is not a TimeStampReq" "$(stamp_query "$W/junk")" 200
expect_match "  is rejected, badDataFormat" "$(reply_text)" 'Failure info: the data submitted has the wrong format'
expect_eq "another Content-Type is 400" "$(curl -sS -o /dev/null -w '%{http_code}' "${TLS[@]}" \
    -H 'Content-Type: application/octet-stream' --data-binary @"$W/junk" "$URL")" 400
expect_eq "GET is 405" "$(curl -sS -o /dev/null -w '%{http_code}' "${TLS[@]}" "$URL")" 405

openssl ts -query -data "$W/data" -sha256 -cert -out "$W/q.tsq" 2>/dev/null
expect_eq "fault reject" "$(fault '{"fault":"reject"}')" 200
stamp_query "$W/q.tsq" >/dev/null
expect_match "  status rejection" "$(reply_text)" "Status: Rejected"
expect_match "  failInfo systemFailure" "$(reply_text)" 'Failure info:.*system failure'
check_exit 1 "  openssl ts -verify refuses it" verify
expect_eq "fault wrong-imprint" "$(fault '{"fault":"wrong-imprint"}')" 200
stamp_query "$W/q.tsq" >/dev/null
expect_match "  granted" "$(reply_text)" 'Status: Granted'
d=$(openssl dgst -sha256 -r "$W/data" | cut -c1-64)
flipped=${d:0:63}$(printf '%x' $(( 0x${d:63:1} ^ 1 )))
check "  the token verifies against the data's digest with its last bit flipped" \
    openssl ts -verify -digest "$flipped" -in "$W/r.tsr" -CAfile "$S/tsa-ca.pem"
check_exit 1 "  openssl ts -verify against the query refuses it" verify
check_exit 1 "  openssl ts -verify against the data refuses it" openssl ts -verify -data "$W/data" -in "$W/r.tsr" -CAfile "$S/tsa-ca.pem"
expect_eq "fault wrong-nonce" "$(fault '{"fault":"wrong-nonce"}')" 200
stamp_query "$W/q.tsq" >/dev/null
check "  the data verifies" openssl ts -verify -data "$W/data" -in "$W/r.tsr" -CAfile "$S/tsa-ca.pem"
check_exit 1 "  the query (its nonce) does not" verify
expect_eq "fault untrusted" "$(fault '{"fault":"untrusted"}')" 200
stamp_query "$W/q.tsq" >/dev/null
check_exit 1 "  refused against tsa-ca.pem" verify
check "  accepted against rogue-ca.pem" verify "$S/rogue-ca.pem"
expect_eq "fault slow, 1500 ms" "$(fault '{"fault":"slow","delay_ms":1500}')" 200
t0=$(now_ms); stamp_query "$W/q.tsq" >/dev/null; t1=$(now_ms)
[ $((t1 - t0)) -ge 1500 ] && pass "  the answer took 1500 ms or more ($((t1 - t0)) ms)" || fail "  took $((t1 - t0)) ms"
check "  and is correct" verify
rc=0; curl -sS -o /dev/null -m 0.5 "${TLS[@]}" -H 'Content-Type: application/timestamp-query' \
    --data-binary @"$W/q.tsq" "$URL" 2>/dev/null || rc=$?
expect_eq "  a client with a 500 ms limit times out (curl exit 28)" "$rc" 28
expect_eq "an unknown fault is 400" "$(fault '{"fault":"late"}')" 400
expect_eq "  with error invalid_request" "$(jq -r .error "$W/body")" invalid_request
expect_eq "an unknown member is 400" "$(fault '{"fault":"none","x":1}')" 400
expect_eq "fault none again" "$(fault '{"fault":"none"}')" 200
expect_eq "  GET /sim/fault shows it" "$(curl -sS "${TLS[@]}" "${SIM_URL}fault" | jq -r .fault)" none
stamp_query "$W/q.tsq" >/dev/null
check "  answers verify again" verify
at_least 10 eval "curl -sS ${TLS[*]} ${SIM_URL}requests | jq '.requests | length'" \
    && pass "/sim/requests lists the requests" || fail "/sim/requests lists the requests"
stop_sim
[ ! -e "$W/ready.json" ] && pass "ready file removed at exit" || fail "ready file removed at exit"
finish
