# SPDX-License-Identifier: Apache-2.0
# A sweep of hostile requests against sealgated, each with its exact status
# and error code: malformed and oddly typed JSON, huge numbers and strings,
# bad base64, digests of the wrong length, path and method tricks,
# oversized, repeated and conflicting headers, broken chunking, a body cut
# short, slow and idle connections. Afterwards the daemon is healthy and
# still signs (checked with openssl), and every /v1/sign the gateway
# refused is in the audit log. Requests curl will not make go through
# python3's socket module; everything stays on 127.0.0.1.
. "$SG_SRCDIR/tests/integration/lib.sh"
W=$SG_WORK
gateway_fixture
# One peer may hold 16 connections (the flood below holds them all).
jq '.listen.max_connections_per_peer = 16' "$W/sealgate.json" > "$W/c.json" && mv "$W/c.json" "$W/sealgate.json"
start_gateway
echo "document" > "$W/doc"
J=(-H 'Content-Type: application/json')
TOK=$(cat "$W/billing.token")
d256=$(openssl dgst -sha256 -binary "$W/doc" | base64 -w0)
d384=$(openssl dgst -sha384 -binary "$W/doc" | base64 -w0)
d512=$(openssl dgst -sha512 -binary "$W/doc" | base64 -w0)
good=$(sign_body local-seal sha256 "$W/doc" raw)

# Refusals the audit log must hold at the end: POST /v1/sign refused by
# the sign route (type sign, outcome error) and authentication failures.
SIGN_REFUSED=0
AUTH_FAILURES=0
# refused / auth_refused DESCRIPTION STATUS CODE GOT: expect_error, and
# count the sign or auth_failure entry the refusal must have left.
refused() { expect_error "$@"; SIGN_REFUSED=$((SIGN_REFUSED + 1)); }
auth_refused() { expect_error "$@"; AUTH_FAILURES=$((AUTH_FAILURES + 1)); }
# sign_file FILE: POST FILE's bytes to /v1/sign as billing.
sign_file() { api billing POST /v1/sign "${J[@]}" --data-binary @"$1"; }
sign_text() { printf '%s' "$1" > "$W/req.json"; sign_file "$W/req.json"; }

cat > "$W/raw.py" <<'PY'
# Raw HTTP/1.1 to 127.0.0.1:PORT for what curl will not send.
#   raw.py PORT WORK send [--close] [--timeout S] < request
#       prints the final status, "closed" (no answer) or "timeout"; the
#       body goes to WORK/body and the header block to WORK/headers.
#       --close: send and close at once (prints "sent").
#   raw.py PORT WORK slowloris N SECONDS
#       N sockets send the request line of a GET /healthz, then a header
#       one byte per 100 ms for SECONDS, then finish it; WORK/slow.ready
#       appears once all have started; prints how many were answered 200.
#   raw.py PORT WORK flood N
#       N idle connections; WORK/flood.ready appears once all are open;
#       held until WORK/flood.stop appears (30 s at most); prints N.
import os, socket, sys, time

port, work, mode, args = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4:]

def connect():
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s

def read_response(s, deadline):
    data = b""
    while True:
        head_end = data.find(b"\r\n\r\n")
        if head_end >= 0:
            status = data.split(b" ", 2)[1]
            if status.startswith(b"1"):          # 100 Continue: not the answer
                data = data[head_end + 4:]
                continue
            length = 0
            for line in data[:head_end].split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value.strip())
            if len(data) >= head_end + 4 + length:
                return status.decode(), data[:head_end], data[head_end + 4:head_end + 4 + length]
        left = deadline - time.monotonic()
        if left <= 0:
            return "timeout", b"", b""
        s.settimeout(left)
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            return "timeout", b"", b""
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            return "closed", b"", b""
        data += chunk

def touch(name):
    open(os.path.join(work, name), "w").close()

if mode == "send":
    timeout = float(args[args.index("--timeout") + 1]) if "--timeout" in args else 5.0
    s = connect()
    try:
        s.sendall(sys.stdin.buffer.read())
    except (BrokenPipeError, ConnectionResetError):
        pass
    if "--close" in args:
        s.close()
        print("sent")
        sys.exit(0)
    status, head, body = read_response(s, time.monotonic() + timeout)
    s.close()
    with open(os.path.join(work, "headers"), "wb") as f:
        f.write(head)
    with open(os.path.join(work, "body"), "wb") as f:
        f.write(body)
    print(status)
elif mode == "slowloris":
    n, seconds = int(args[0]), float(args[1])
    trickle = b"X-Slow: " + b"s" * max(0, int(seconds * 10) - 8)
    socks = [connect() for _ in range(n)]
    for s in socks:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    touch("slow.ready")
    for byte in trickle:
        time.sleep(0.1)
        for s in socks:
            s.sendall(bytes([byte]))
    answered = 0
    for s in socks:
        s.sendall(b"\r\nConnection: close\r\n\r\n")
        answered += read_response(s, time.monotonic() + 5)[0] == "200"
        s.close()
    print(answered)
elif mode == "flood":
    socks = [connect() for _ in range(int(args[0]))]
    touch("flood.ready")
    stop = time.monotonic() + 30
    while not os.path.exists(os.path.join(work, "flood.stop")) and time.monotonic() < stop:
        time.sleep(0.05)
    for s in socks:
        s.close()
    print(len(socks))
PY
raw() { python3 "$W/raw.py" "${GW_URL##*:}" "$W" send "$@"; }
# The start of a POST /v1/sign as billing; the caller adds the framing.
SIGN_HEAD="POST /v1/sign HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer $TOK\r\nContent-Type: application/json\r\nConnection: close\r\n"

# --- Malformed JSON ----------------------------------------------------
refused "truncated JSON" 400 invalid_request "$(sign_text "${good:0:40}")"
refused "trailing garbage after the object" 400 invalid_request "$(sign_text "${good}xyz")"
refused "two objects" 400 invalid_request "$(sign_text "$good$good")"
refused "empty body" 400 invalid_request "$(sign_text '')"
refused "only whitespace" 400 invalid_request "$(sign_text '   ')"
printf '{"identity":"local-seal\000x","digest":{"alg":"sha256","value":"%s"}}' "$d256" > "$W/nul-in.json"
refused "NUL byte inside the identity" 400 invalid_request "$(sign_file "$W/nul-in.json")"
{ printf '%s' "$good"; printf '\000junk'; } > "$W/nul-after.json"
refused "NUL byte after the object" 400 invalid_request "$(sign_file "$W/nul-after.json")"
refused "escaped NUL in the identity" 400 invalid_request \
    "$(sign_text '{"identity":"local-seal\u0000x","digest":{"alg":"sha256","value":"'"$d256"'"}}')"
printf '{"identity":"loc\377al-seal","digest":{"alg":"sha256","value":"%s"}}' "$d256" > "$W/utf8.json"
refused "invalid UTF-8 in the identity" 400 invalid_request "$(sign_file "$W/utf8.json")"
printf '{"identity":"local-seal","digest":{"alg":"sha256","value":"%s"},"\300\257":1}' "$d256" > "$W/overlong.json"
refused "overlong UTF-8 in a member name" 400 invalid_request "$(sign_file "$W/overlong.json")"
refused "lone surrogate escape" 400 invalid_request \
    "$(sign_text '{"identity":"\ud800","digest":{"alg":"sha256","value":"'"$d256"'"}}')"
printf '\357\273\277%s' "$good" > "$W/bom.json"
expect_eq "a byte order mark is ignored (RFC 8259 allows it)" "$(sign_file "$W/bom.json")" 200
python3 -c 'print("[" * 10000 + "]" * 10000)' > "$W/deep.json"
refused "10000 nested arrays (over max_json_bytes)" 413 payload_too_large "$(sign_file "$W/deep.json")"
python3 -c 'print("{\"identity\":" + "[" * 1500 + "]" * 1500 + "}")' > "$W/deep-small.json"
refused "1500 nested arrays within the cap" 400 invalid_request "$(sign_file "$W/deep-small.json")"
refused "duplicate member" 400 invalid_request \
    "$(sign_text '{"identity":"nosuch","identity":"local-seal","digest":{"alg":"sha256","value":"'"$d256"'"}}')"
refused "duplicate digest member" 400 invalid_request \
    "$(sign_text '{"identity":"local-seal","digest":{"alg":"md5","alg":"sha256","value":"'"$d256"'"}}')"

# --- Wrong types ---------------------------------------------------------
for identity in 7 '[]' '["local-seal"]' '{}' null true '""'; do
    refused "identity $identity" 400 invalid_request \
        "$(sign_text '{"identity":'"$identity"',"digest":{"alg":"sha256","value":"'"$d256"'"}}')"
done
for digest in "a string|\"$d256\"" "an array|[\"sha256\",\"$d256\"]" 'null|null' 'a number|1'; do
    refused "digest as ${digest%%|*}" 400 invalid_request \
        "$(sign_text '{"identity":"local-seal","digest":'"${digest#*|}"'}')"
done
refused "alg as a number" 400 invalid_request \
    "$(sign_text '{"identity":"local-seal","digest":{"alg":256,"value":"'"$d256"'"}}')"
refused "value as a number" 400 invalid_request \
    "$(sign_text '{"identity":"local-seal","digest":{"alg":"sha256","value":12345}}')"
refused "format null" 400 invalid_request \
    "$(sign_text '{"identity":"local-seal","digest":{"alg":"sha256","value":"'"$d256"'"},"format":null}')"

# --- Huge numbers and long strings --------------------------------------
refused "identity 1e999999" 400 invalid_request \
    "$(sign_text '{"identity":1e999999,"digest":{"alg":"sha256","value":"'"$d256"'"}}')"
refused "format as a 3000-digit number" 400 invalid_request \
    "$(sign_text '{"identity":"local-seal","digest":{"alg":"sha256","value":"'"$d256"'"},"format":'"$(printf '9%.0s' $(seq 1 3000))"'}')"
refused "unknown member holding -1e400" 400 invalid_request "$(sign_text "${good%\}},\"n\":-1e400}")"
refused "NaN" 400 invalid_request "$(sign_text '{"identity":"local-seal","digest":{"alg":"sha256","value":"'"$d256"'"},"format":NaN}')"
long=$(head -c 102400 /dev/zero | tr '\0' 'x')
refused "identity of 100 KiB (over max_json_bytes)" 413 payload_too_large \
    "$(sign_text '{"identity":"'"$long"'","digest":{"alg":"sha256","value":"'"$d256"'"}}')"
refused "identity of 100 KiB, chunked" 413 payload_too_large \
    "$(api billing POST /v1/sign "${J[@]}" -H 'Transfer-Encoding: chunked' \
        --data-binary "{\"identity\":\"$long\",\"digest\":{\"alg\":\"sha256\",\"value\":\"$d256\"}}")"
refused "identity of 3900 bytes" 400 invalid_request \
    "$(sign_text '{"identity":"'"${long:0:3900}"'","digest":{"alg":"sha256","value":"'"$d256"'"}}')"
refused "identity of 65 name characters" 400 invalid_request \
    "$(sign_text '{"identity":"'"${long:0:65}"'","digest":{"alg":"sha256","value":"'"$d256"'"}}')"
refused "unknown identity of 64 name characters" 404 not_found \
    "$(sign_text '{"identity":"'"${long:0:64}"'","digest":{"alg":"sha256","value":"'"$d256"'"}}')"
refused "identity with a space" 400 invalid_request \
    "$(sign_text '{"identity":"local-seal ","digest":{"alg":"sha256","value":"'"$d256"'"}}')"
refused "identity ../local-seal" 400 invalid_request \
    "$(sign_text '{"identity":"../local-seal","digest":{"alg":"sha256","value":"'"$d256"'"}}')"
refused "digest value of 3000 base64 characters" 400 invalid_request \
    "$(sign_text '{"identity":"local-seal","digest":{"alg":"sha256","value":"'"$(head -c 2250 /dev/zero | base64 -w0)"'"}}')"

# --- Base64 and digest lengths ------------------------------------------
# LABEL|VALUE ("|" is not in either base64 alphabet).
for value in 'bad characters|!!!!' "the base64url alphabet|-_${d256:2}" "no padding|${d256%=}" \
    "extra padding|${d256}==" "padding in the middle|A=${d256:2}" "a space inside|${d256:0:20} ${d256:21}" \
    "an escaped newline inside|${d256:0:20}\\n${d256:20}" "non-zero trailing bits|${d256:0:42}B=" \
    'nothing|' "two digests back to back|$d256$d256"; do
    refused "digest value with ${value%%|*}" 400 invalid_request \
        "$(sign_text '{"identity":"local-seal","digest":{"alg":"sha256","value":"'"${value#*|}"'"}}')"
done
for alg_value in "sha256 $(head -c 31 /dev/zero | base64 -w0)" "sha256 $(head -c 33 /dev/zero | base64 -w0)" \
    "sha256 $d384" "sha384 $d256" "sha384 $d512" "sha512 $d384" "SHA256 $d256" "sha-256 $d256" \
    "sha1 $(openssl dgst -sha1 -binary "$W/doc" | base64 -w0)" "md5 $(openssl dgst -md5 -binary "$W/doc" | base64 -w0)"; do
    refused "digest ${alg_value%% *} of $(printf '%s' "${alg_value#* }" | base64 -d 2>/dev/null | wc -c) bytes" \
        400 invalid_request \
        "$(sign_text '{"identity":"local-seal","digest":{"alg":"'"${alg_value%% *}"'","value":"'"${alg_value#* }"'"}}')"
done

# --- Identities --------------------------------------------------------
refused "unknown identity" 404 not_found "$(sign_text "$(sign_body nosuch sha256 "$W/doc" raw)")"
refused "identity in other case" 404 not_found "$(sign_text "$(sign_body LOCAL-SEAL sha256 "$W/doc" raw)")"
auth_refused "identity not granted" 403 forbidden "$(api other POST /v1/sign "${J[@]}" --data "$good")"
auth_refused "unknown token" 401 unauthorized \
    "$(api - POST /v1/sign "${J[@]}" -H "Authorization: Bearer $(head -c 32 /dev/zero | base64)" --data "$good")"
refused "identity not for signing" 403 forbidden "$(sign_text "$(sign_body spare sha256 "$W/doc" raw)")"

# --- Paths ---------------------------------------------------------------
for path in /v1/sign/ //v1/sign /v1/../v1/sign /v1/./sign /V1/SIGN /v1/sign%00 /v1/sign%00.json \
    /v1/sign%20 "/$(head -c 10240 /dev/zero | tr '\0' 'p')" /v1/sign/../sign; do
    expect_error "POST ${path:0:24}$([ ${#path} -le 24 ] || echo "... (${#path} bytes)")" 404 not_found \
        "$(api billing POST "$path" --path-as-is "${J[@]}" --data "$good")"
done
expect_eq "POST /v1/sign?x=1 (a query changes nothing)" "$(api billing POST '/v1/sign?x=1' "${J[@]}" --data "$good")" 200
expect_eq "POST /v1/%73ign (an escaped unreserved character)" \
    "$(api billing POST /v1/%73ign --path-as-is "${J[@]}" --data "$good")" 200
expect_error "absolute-form target" 404 not_found \
    "$(printf "POST http://127.0.0.1/v1/sign HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer $TOK\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: %d\r\n\r\n%s" \
        "${#good}" "$good" | raw)"

# --- Methods -------------------------------------------------------------
for method in PUT DELETE OPTIONS PATCH TRACE post FOO; do
    status=$(api billing "$method" /v1/sign -D "$W/headers" "${J[@]}" --data "$good")
    expect_error "$method /v1/sign" 405 method_not_allowed "$status"
    expect_eq "$method /v1/sign names Allow: POST" "$(tr -d '\r' < "$W/headers" | sed -n 's/^[Aa]llow: //p')" POST
done
expect_eq "HEAD /v1/sign" "$(curl -sS -I -o "$W/headers" -w '%{http_code}' "$GW_URL/v1/sign")" 405
expect_eq "HEAD /v1/sign names Allow: POST" "$(tr -d '\r' < "$W/headers" | sed -n 's/^[Aa]llow: //p')" POST
expect_error "GET /healthz with a body" 400 invalid_request "$(api - GET /healthz --data-binary x)"

# --- Headers -------------------------------------------------------------
big=$(head -c 102400 /dev/zero | tr '\0' 'h')
expect_error "20 KiB header on /v1/sign" 431 invalid_request \
    "$(api billing POST /v1/sign "${J[@]}" -H "X-Big: ${big:0:20480}" --data "$good")"
expect_eq "100 KiB header (libmicrohttpd's own 431)" \
    "$(printf 'GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: %s\r\n\r\n' "$big" | raw)" 431
# headers N: N short header lines, each ended by CRLF.
headers() { local i; for i in $(seq 1 "$1"); do printf 'X-H%d: v\r\n' "$i"; done; }
expect_eq "300 headers" \
    "$( (printf 'GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n'; headers 300; printf '\r\n') | raw)" 200
expect_eq "1500 headers (libmicrohttpd's own 431)" \
    "$( (printf 'GET /healthz HTTP/1.1\r\nHost: x\r\n'; headers 1500; printf '\r\n') | raw)" 431
expect_error "two Authorization headers, good first" 400 invalid_request \
    "$(printf "${SIGN_HEAD}Authorization: Bearer junk\r\nContent-Length: %d\r\n\r\n%s" "${#good}" "$good" | raw)"
expect_error "two Authorization headers, good last" 400 invalid_request \
    "$(printf "POST /v1/sign HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer junk\r\nAuthorization: Bearer $TOK\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: %d\r\n\r\n%s" \
        "${#good}" "$good" | raw)"
auth_refused "Authorization with a 10 KiB token" 401 unauthorized \
    "$(api - POST /v1/sign "${J[@]}" -H "Authorization: Bearer ${big:0:10240}" --data "$good")"
auth_refused "Authorization: Bearer and nothing" 401 unauthorized \
    "$(api - POST /v1/sign "${J[@]}" -H 'Authorization: Bearer ' --data "$good")"
auth_refused "Authorization: the token alone" 401 unauthorized \
    "$(api - POST /v1/sign "${J[@]}" -H "Authorization: $TOK" --data "$good")"
for ctype in 'application/jsonx' 'application/json-seq' 'text/json' 'multipart/form-data; boundary=x'; do
    refused "Content-Type $ctype" 415 unsupported_media_type \
        "$(api billing POST /v1/sign -H "Content-Type: $ctype" --data "$good")"
done
expect_eq "Content-Type with a charset" \
    "$(api billing POST /v1/sign -H 'Content-Type: application/json; charset=utf-8' --data "$good")" 200
expect_eq "a hostile X-Request-Id is not echoed" \
    "$(curl -sS -D - -o /dev/null -H 'X-Request-Id: <script>"x"</script>' "$GW_URL/healthz" |
        tr -d '\r' | sed -n 's/^[Xx]-[Rr]equest-[Ii]d: //p' | grep -c '[<>"]')" 0

# --- Body framing ----------------------------------------------------------
expect_error "two Content-Length headers" 400 invalid_request \
    "$(printf "${SIGN_HEAD}Content-Length: %d\r\nContent-Length: 3\r\n\r\n%s" "${#good}" "$good" | raw)"
expect_error "Content-Length and Transfer-Encoding" 400 invalid_request \
    "$(printf "${SIGN_HEAD}Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n%x\r\n%s\r\n0\r\n\r\n" "${#good}" "$good" | raw)"
expect_eq "Content-Length past the body, then close" \
    "$(printf "${SIGN_HEAD}Content-Length: 1000\r\n\r\n%s" "$good" | raw --close)" sent
expect_eq "chunk size not hex (libmicrohttpd's own 400)" \
    "$(printf "${SIGN_HEAD}Transfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n" | raw)" 400
expect_eq "negative chunk size (libmicrohttpd's own 400)" \
    "$(printf "${SIGN_HEAD}Transfer-Encoding: chunked\r\n\r\n-5\r\nabc\r\n0\r\n\r\n" | raw)" 400
expect_eq "chunk size past 2^64 (libmicrohttpd's own 413)" \
    "$(printf "${SIGN_HEAD}Transfer-Encoding: chunked\r\n\r\nfffffffffffffffffffffff\r\nabc\r\n0\r\n\r\n" | raw)" 413
refused "chunks past max_json_bytes" 413 payload_too_large \
    "$( (printf "${SIGN_HEAD}Transfer-Encoding: chunked\r\n\r\n2000\r\n"; head -c 8192 /dev/zero | tr '\0' a;
        printf '\r\n0\r\n\r\n') | raw)"
expect_eq "a well-formed chunked body signs" \
    "$(printf "${SIGN_HEAD}Transfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n0\r\n\r\n" "${#good}" "$good" | raw)" 200

# --- Slow and idle connections ---------------------------------------------
python3 "$W/raw.py" "${GW_URL##*:}" "$W" slowloris 6 3 > "$W/slow.out" &
slow_pid=$!
wait_until 30 "the slow connections open" test -e "$W/slow.ready"
expect_eq "healthz during slowloris" "$(api - GET /healthz)" 200
expect_eq "sign during slowloris" "$(api billing POST /v1/sign "${J[@]}" --data "$good")" 200
check "slowloris still trickling meanwhile" kill -0 "$slow_pid"
wait "$slow_pid"
expect_eq "the 6 slow requests are answered once complete" "$(cat "$W/slow.out")" 6
# One address opens 40 idle connections: it gets its 16, and another
# address (127.0.0.2, loopback too) is still served.
python3 "$W/raw.py" "${GW_URL##*:}" "$W" flood 40 > "$W/flood.out" &
flood_pid=$!
wait_until 30 "the idle connections open" test -e "$W/flood.ready"
# The daemon takes the connections as it gets to them: once it holds 16,
# a further one from that address is closed unanswered.
flood_full() { [ "$(api - GET /healthz --max-time 2 2>/dev/null)" = 000 ]; }
wait_until 8 "the flooding address gets no more connections" flood_full &&
    pass "the flooding address gets no more connections"
expect_eq "another address: healthz while one peer holds all it may" \
    "$(api - GET /healthz --interface 127.0.0.2)" 200
expect_eq "another address: sign" "$(api billing POST /v1/sign "${J[@]}" --interface 127.0.0.2 --data "$good")" 200
touch "$W/flood.stop"
wait "$flood_pid"
expect_eq "40 connections were tried" "$(cat "$W/flood.out")" 40
served_again() { [ "$(api - GET /healthz)" = 200 ]; }
wait_until 30 "the flooding address is served once it lets go" served_again &&
    pass "the flooding address is served once it lets go"

# --- A loop of bad tokens: the first of each second audited, the rest counted
# into one entry per second, nothing dropped. Four waves of 15 at once: this
# peer may hold 16 connections (listen.max_connections_per_peer above), and
# one more would be reset before it is refused, not counted.
for wave in 1 2 3 4; do
    pids=()
    for i in $(seq 1 15); do
        curl -sS -o /dev/null --max-time 60 -H 'Authorization: Bearer not-a-token' "$GW_URL/v1/audit/entries" &
        pids+=($!)
    done
    wait "${pids[@]}"
done
BAD_TOKENS=60
expect_match "the first of them is in the log at once" \
    "$(jq -r 'select(.type=="auth_failure") | .detail' "$W"/audit/audit-*.jsonl)" 'GET /v1/audit/entries: unknown token'


# --- Still healthy, still signing ------------------------------------------
expect_eq "healthz after the sweep" "$(api - GET /healthz)" 200
expect_eq "sign after the sweep" "$(api billing POST /v1/sign "${J[@]}" --data "$good")" 200
jq -r .signature "$W/body" | base64 -d > "$W/sig"
openssl x509 -in "$W/local-seal.pem" -pubkey -noout > "$W/local-seal.pub"
check "the signature verifies with openssl" openssl dgst -sha256 -verify "$W/local-seal.pub" -signature "$W/sig" "$W/doc"
stop_gateway

# --- Within a larger body cap (max_json_bytes 1 MiB) -------------------------
jq '.limits.max_json_bytes = 1048576' "$W/sealgate.json" > "$W/sealgate-1m.json"
start_gateway "$W/sealgate-1m.json"
refused "10000 nested arrays within the cap" 400 invalid_request "$(sign_file "$W/deep.json")"
refused "identity of 100 KiB within the cap" 400 invalid_request \
    "$(sign_text '{"identity":"'"$long"'","digest":{"alg":"sha256","value":"'"$d256"'"}}')"
expect_eq "the next request signs (no audit failure from it)" \
    "$(api billing POST /v1/sign "${J[@]}" --data "$good")" 200
refused "digest value of 700 KiB" 400 invalid_request \
    "$(sign_text '{"identity":"local-seal","digest":{"alg":"sha256","value":"'"$(head -c 520000 /dev/zero | base64 -w0)"'"}}')"
expect_eq "healthz at the end" "$(api - GET /healthz)" 200
# Log forging: a newline in the path must not start a line of its own.
expect_eq "a path with an encoded newline is not found" \
    "$(api - GET '/x%0A2026-01-01T00:00:00.000Z%20sealgated%5B1%5D%20info%20forged-line')" 404
expect_eq "a path with an escape sequence is not found" "$(api - GET '/x%1B%5B2J')" 404
stop_gateway
expect_no_match "no forged line in the daemon's log" "$(grep -v '^[0-9]\{4\}-[0-9][0-9]-[0-9][0-9]T' "$W/sealgated.log")" .
expect_no_match "the forged text stays inside its line" "$(grep -E '^2026-01-01T00:00:00' "$W/sealgated.log")" forged
expect_match "it is shown escaped" "$(cat "$W/sealgated.log")" '/x\\x0a2026-01-01'
expect_no_match "no raw escape character in the log" "$(tr -d '\n' < "$W/sealgated.log" | tr -d '[:print:]')" .

# --- The audit log holds every refusal --------------------------------------
log=$(cat "$W"/audit/audit-*.jsonl)
expect_eq "refused sign requests audited" \
    "$(printf '%s\n' "$log" | jq -s '[.[] | select(.type=="sign" and .outcome=="error")] | length')" "$SIGN_REFUSED"
# A coalesced entry stands for "repeated" refusals, any other for one.
expect_eq "auth failures audited, each counted once" \
    "$(printf '%s\n' "$log" | jq -s '[.[] | select(.type=="auth_failure") | (.repeated // "1" | tonumber)] | add')" \
    "$((AUTH_FAILURES + BAD_TOKENS))"
n_auth=$(printf '%s\n' "$log" | jq -s '[.[] | select(.type=="auth_failure")] | length')
if [ "$n_auth" -lt $((AUTH_FAILURES + BAD_TOKENS)) ]; then pass "in fewer entries ($n_auth)"; else
    fail "one entry per refusal ($n_auth)"; fi
expect_match "a counted entry names the peer and the count" \
    "$(printf '%s\n' "$log" | jq -r 'select(.type=="auth_failure" and .repeated != null) | "\(.peer) \(.repeated) \(.detail)"' | head -n1)" \
    '^127\.0\.0\.1 [1-9][0-9]* unknown token: [1-9][0-9]* more from this peer within a second of the first$'
expect_eq "no audit entry names a malformed identity" \
    "$(printf '%s\n' "$log" | jq -s '[.[] | select(.identity != null and (.identity | test("^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$") | not))] | length')" 0
expect_no_match "no client token in the log" "$log" "$TOK"
check "audit chain verifies" audit_verify "$W/audit"
finish
