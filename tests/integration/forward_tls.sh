# SPDX-License-Identifier: Apache-2.0
# The HTTPS forwarder (gw_forward) against tls-echo.py, a server that
# requires a client certificate from one CA: RSA and EC token keys with
# TLS 1.2 and 1.3 (the server names the certificate it saw), connection
# reuse, concurrency, a certificate chain, and each failure classified:
# wrong server CA or host, server down (retried, bounded), server too
# slow (timeout, not retried), server hanging up after the request (never
# sent twice, not even by libcurl's own resend on a reused connection),
# client certificate from another CA, reply too large, header injection;
# debug logs without secrets.
. "$SG_SRCDIR/tests/integration/lib.sh"
W=$SG_WORK

make_token sealgate
make_ca client
make_ca other
make_ca srv
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=tls-echo" \
    -keyout "$W/server.key" -out "$W/server.csr" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1\n' > "$W/server.ext"
issue_cert srv "$W/server.csr" "$W/server.pem" 30 "$W/server.ext" ||
    { echo "Bail out! server certificate"; exit 1; }
# An intermediate CA under "client": its certificates verify only when the
# client sends the intermediate along.
openssl req -new -newkey rsa:2048 -nodes -subj "/CN=sealgate test intermediate" \
    -keyout "$W/ca-inter.key" -out "$W/inter.csr" 2>/dev/null
printf 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n' > "$W/inter.ext"
issue_cert client "$W/inter.csr" "$W/ca-inter.pem" 30 "$W/inter.ext" ||
    { echo "Bail out! intermediate CA"; exit 1; }
make_identity fwd-rsa rsa:2048 client
make_identity fwd-ec ec:p256 client
make_identity fwd-other ec:p256 other
make_identity fwd-chained ec:p256 inter

python3 "$SG_SRCDIR/tests/integration/tls-echo.py" --cert "$W/server.pem" --key "$W/server.key" \
    --client-ca "$W/ca-client.pem" --port-file "$W/echo.port" --log "$W/echo.log" \
    2>>"$W/echo.err" &
ECHO_PID=$!
wait_ready "$W/echo.port" "$ECHO_PID" tls-echo.py "$W/echo.err"
PORT=$(cat "$W/echo.port")
URL="https://127.0.0.1:$PORT"
touch "$W/echo.log"

# probe ARGS...: forward-probe with the token, the server's CA and URL;
# stdout in $W/out, stderr in $W/err, exit status in $RC.
probe() {
    forward-probe --url "$URL" --ca "$W/ca-srv.pem" --pin-file "$W/pin" "$@" >"$W/out" 2>"$W/err"
    RC=$?
}
# field NAME: NAME of every output line, space separated.
field() { jq -r ".$1" "$W/out" | tr '\n' ' ' | sed 's/ $//'; }
# echoed NAME: NAME from the server's echo in every output line.
echoed() { jq -r ".body | fromjson | .$1" "$W/out" | tr '\n' ' ' | sed 's/ $//'; }
# events KIND [PATH]: how many KIND lines the server has logged (for PATH).
events() { jq -c "select(.event == \"$1\" and (\"${2:-}\" == \"\" or .path == \"${2:-}\"))" "$W/echo.log" | wc -l; }
der_sha256() { openssl x509 -in "$1" -outform DER | sha256sum | cut -d' ' -f1; }

# --- keys on the token with each TLS version -----------------------------
for key in fwd-rsa fwd-ec; do
    for tls in 12 13; do
        probe --key "$key" --tls "$tls" --body "hello $key $tls"
        expect_eq "$key TLS 1.${tls#1}: exit" "$RC" 0
        expect_eq "$key TLS 1.${tls#1}: status" "$(field status)" 200
        expect_eq "$key TLS 1.${tls#1}: server saw TLSv1.${tls#1}" "$(echoed tls)" "TLSv1.${tls#1}"
        expect_eq "$key TLS 1.${tls#1}: server saw the token's certificate" "$(echoed cert_sha256)" \
            "$(der_sha256 "$W/$key.pem")"
        expect_match "$key TLS 1.${tls#1}: subject" "$(echoed subject)" "commonName=$key"
        expect_eq "$key TLS 1.${tls#1}: body arrived whole" "$(echoed body_sha256)" \
            "$(printf 'hello %s %s' "$key" "$tls" | sha256sum | cut -d' ' -f1)"
        expect_eq "$key TLS 1.${tls#1}: content type sent" "$(echoed content_type)" text/plain
        expect_eq "$key TLS 1.${tls#1}: reply content type" "$(field content_type)" application/json
    done
done
expect_eq "no 100-continue round trip" "$(echoed expect)" null

# --- connection reuse ------------------------------------------------------
before=$(events connect)
probe --key fwd-rsa --tls 13 --count 20
expect_eq "20 sequential posts: exit" "$RC" 0
expect_eq "20 sequential posts: all 200" "$(field status | tr ' ' '\n' | sort -u)" 200
expect_eq "20 sequential posts: one connection (client side)" \
    "$(jq -s 'map(.new_connections) | add' "$W/out")" 1
expect_eq "20 sequential posts: one connection (server side)" "$(( $(events connect) - before ))" 1
expect_eq "20 sequential posts: the server counted 20 on it" \
    "$(jq -r '.body | fromjson | .conn_requests' "$W/out" | tail -n 1)" 20

# --- concurrency -----------------------------------------------------------
before=$(events connect)
probe --key fwd-ec --threads 8 --count 10
expect_eq "8 threads x 10 posts: exit" "$RC" 0
expect_eq "8 threads x 10 posts: 80 answers" "$(jq -s 'map(select(.status == 200)) | length' "$W/out")" 80
conns=$(( $(events connect) - before ))
if [ "$conns" -ge 1 ] && [ "$conns" -le 8 ]; then pass "8 threads: $conns connections (pool of 8)"; else
    fail "8 threads: $conns connections, wanted 1..8"; fi
expect_eq "8 threads: connections reused" "$(jq -s 'map(.new_connections) | add' "$W/out")" "$conns"
probe --key fwd-ec --threads 8 --count 5 --connections 2
expect_eq "8 threads over a pool of 2: exit" "$RC" 0
expect_eq "8 threads over a pool of 2: at most 2 connections" \
    "$(jq -s 'map(.new_connections) | add' "$W/out")" 2

# --- certificate chain -----------------------------------------------------
probe --key fwd-chained --chain "$W/ca-inter.pem"
expect_eq "chained certificate with its intermediate: status" "$(field status)" 200
expect_match "chained certificate: issuer is the intermediate" "$(echoed issuer)" "intermediate"
probe --key fwd-chained
expect_eq "chained certificate without its intermediate: refused" "$(field error)" authority_error

# --- server verification ---------------------------------------------------
before=$(events request)
probe --key fwd-ec --ca "$W/ca-client.pem" --retries 3
expect_eq "wrong server CA: exit" "$RC" 3
expect_eq "wrong server CA: authority_error" "$(field error)" authority_error
expect_eq "wrong server CA: 502" "$(field http)" 502
expect_eq "wrong server CA: not retried" "$(field attempts)" 1
expect_match "wrong server CA: libcurl's reason logged" "$(cat "$W/err")" 'certificate|verif'
# OpenSSL's default paths must not rescue a server the CA file does not
# vouch for.
mkdir -p "$W/certdir"
cp "$W/ca-srv.pem" "$W/certdir/$(openssl x509 -in "$W/ca-srv.pem" -noout -subject_hash).0"
SSL_CERT_FILE="$W/ca-srv.pem" SSL_CERT_DIR="$W/certdir" probe --key fwd-ec --ca "$W/ca-client.pem"
expect_eq "system trust stores are not used" "$(field error)" authority_error
URL_SAVED=$URL
URL="https://localhost:$PORT"
probe --key fwd-ec
expect_eq "host name not in the server certificate: authority_error" "$(field error)" authority_error
URL=$URL_SAVED
expect_eq "no request reached the server without verification" "$(events request)" "$before"
check_exit 1 "plain http:// base URL refused" forward-probe --url "http://127.0.0.1:$PORT" \
    --ca "$W/ca-srv.pem" --pin-file "$W/pin" --key fwd-ec
check_exit 1 "base URL with credentials refused" forward-probe --url "https://u:p@127.0.0.1:$PORT" \
    --ca "$W/ca-srv.pem" --pin-file "$W/pin" --key fwd-ec
expect_no_match "credentials not echoed in the refusal" "$(cat "$SG_WORK/last.err")" 'u:p'
check_exit 1 "CA file without a certificate refused" forward-probe --url "$URL" \
    --ca "$W/pin" --pin-file "$W/pin" --key fwd-ec

# --- server down: retried, bounded -----------------------------------------
DOWN=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
URL="https://127.0.0.1:$DOWN"
probe --key fwd-ec --retries 2 --path '/echo?token=qs-secret'
expect_eq "server down: exit" "$RC" 3
expect_eq "server down: authority_error" "$(field error)" authority_error
expect_eq "server down: 1 + 2 retries" "$(field attempts)" 3
expect_eq "server down: each attempt logged" "$(grep -c 'attempt [0-9] of 3 failed before' "$W/err")" 3
elapsed=$(field elapsed_ms)
if [ "$elapsed" -ge 300 ] && [ "$elapsed" -lt 5000 ]; then pass "server down: backoff 100+200 ms ($elapsed ms)"; else
    fail "server down: $elapsed ms, wanted 300..5000"; fi
expect_match "server down: libcurl error and URL logged" "$(cat "$W/err")" \
    "https://127.0.0.1:$DOWN/echo: .*(Couldn't connect|Failed to connect)"
expect_no_match "server down: no query string in the log" "$(cat "$W/err")" 'qs-secret'
probe --key fwd-ec --retries 0
expect_eq "server down, no retries: one attempt" "$(field attempts)" 1
URL=$URL_SAVED

# --- slow server: timeout, never retried once sent -------------------------
probe --key fwd-ec --path /slow/4000 --timeout-ms 1000 --retries 3
expect_eq "slow server: exit" "$RC" 3
expect_eq "slow server: authority_timeout" "$(field error)" authority_timeout
expect_eq "slow server: 504" "$(field http)" 504
expect_eq "slow server: not retried" "$(field attempts)" 1
elapsed=$(field elapsed_ms)
if [ "$elapsed" -ge 900 ] && [ "$elapsed" -lt 3000 ]; then pass "slow server: gave up after $elapsed ms"; else
    fail "slow server: $elapsed ms, wanted about 1000"; fi
expect_eq "slow server: the server saw exactly one request" "$(events request /slow/4000)" 1
expect_match "slow server: logged as sent" "$(cat "$W/err")" 'failed after the request was sent: Timeout'

# --- server hangs up after reading the request: never sent twice -----------
probe --key fwd-ec --path /drop --retries 3
expect_eq "hang-up on a new connection: authority_error" "$(field error)" authority_error
expect_eq "hang-up on a new connection: not retried" "$(field attempts)" 1
expect_eq "hang-up on a new connection: the server saw one request" "$(events request /drop)" 1
# On a reused connection libcurl would quietly send the POST again.
probe --key fwd-ec --path /echo --path /drop --path /echo --count 3 --retries 3
expect_eq "hang-up on a reused connection: answers" "$(field status)" "200 0 200"
expect_eq "hang-up on a reused connection: authority_error" "$(jq -r 'select(.seq == 2) | .error' "$W/out")" \
    authority_error
expect_eq "hang-up on a reused connection: the server saw one more request" "$(events request /drop)" 2
expect_match "hang-up on a reused connection: logged" "$(cat "$W/err")" 'not sent again'

# --- client certificate from another CA ------------------------------------
before_hs=$(events handshake_failed)
before=$(events request)
probe --key fwd-other --tls 12 --retries 2
expect_eq "other CA, TLS 1.2: exit" "$RC" 3
expect_eq "other CA, TLS 1.2: authority_error" "$(field error)" authority_error
hs=$(( $(events handshake_failed) - before_hs ))
expect_eq "other CA, TLS 1.2: the server refused every handshake attempt" "$hs" "$(field attempts)"
before_hs=$(events handshake_failed)
probe --key fwd-other --tls 13 --retries 2
expect_eq "other CA, TLS 1.3: authority_error" "$(field error)" authority_error
hs=$(( $(events handshake_failed) - before_hs ))
if [ "$hs" -ge 1 ]; then pass "other CA, TLS 1.3: handshake refused by the server"; else
    fail "other CA, TLS 1.3: the server logged no refused handshake"; fi
expect_eq "other CA: no request was served" "$(events request)" "$before"

# --- answers the caller judges, and caps ------------------------------------
probe --key fwd-ec --path /status/503
expect_eq "503 from the server: exit 0" "$RC" 0
expect_eq "503 from the server: status passed on" "$(field status)" 503
probe --key fwd-ec --path /big/5000000
expect_eq "5 MB reply over the 4 MiB cap: payload_too_large" "$(field error)" payload_too_large
probe --key fwd-ec --path /big/5000000 --max-reply 6000000
expect_eq "5 MB reply under a 6 MB cap: status" "$(field status)" 200
probe --key fwd-ec --path /chunked/5000000
expect_eq "5 MB chunked reply over the cap: payload_too_large" "$(field error)" payload_too_large
probe --key fwd-ec --path /chunked/300000
expect_eq "300 kB chunked reply: whole" "$(jq -r '.body | length' "$W/out")" 300000
probe --key fwd-ec --header "$(printf 'X-Evil: a\r\nInjected: b')"
expect_eq "header with CR LF refused" "$(field error)" invalid_request
probe --key fwd-ec --path '/echo two'
expect_eq "path with a space refused" "$(field error)" invalid_request

# --- debug logging without secrets ------------------------------------------
probe --key fwd-rsa --debug --path '/echo?token=qs-secret' --body body-marker-123 \
    --header 'Authorization: Bearer secret-xyz' --header 'X-Request-Signature: sig-abc-secret'
expect_eq "debug run: status" "$(field status)" 200
expect_eq "debug run: the server got the Authorization header" "$(echoed authorization)" "Bearer secret-xyz"
expect_eq "debug run: the server got the request signature" "$(echoed request_signature)" sig-abc-secret
dbg=$(cat "$W/err")
expect_match "debug log shows request headers" "$dbg" '> Content-Type: text/plain'
expect_match "debug log redacts Authorization" "$dbg" '> Authorization: \[redacted\]'
expect_match "debug log redacts X-Request-Signature" "$dbg" '> X-Request-Signature: \[redacted\]'
expect_match "debug log gives body lengths only" "$dbg" '> \[15 body bytes\]'
expect_match "debug log lines carry the request id" "$dbg" '\[probe-0\]'
for secret in secret-xyz sig-abc-secret qs-secret body-marker-123; do
    expect_no_match "debug log has no $secret" "$dbg" "$secret"
done

kill "$ECHO_PID" 2>/dev/null
wait "$ECHO_PID" 2>/dev/null
finish
