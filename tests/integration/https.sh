# SPDX-License-Identifier: Apache-2.0
# HTTPS on the listener: curl with and without a client certificate, with
# one from another CA, an expired, a not yet valid and a revoked one (the
# CRL), clients known by certificate, by token or by both; the audit
# entries name the client with the certificate's serial and issuer, and a
# loop of bad certificates is coalesced; openssl s_client shows TLS 1.0 and
# 1.1 refused by the server and 1.2 and 1.3 accepted; a SIGHUP swaps the
# server certificate the next handshake presents (a broken key keeps the
# old one); handshakes that never finish hold up nobody; /healthz and
# /readyz over HTTPS; plain HTTP only on loopback, and bad listen.tls
# settings named by --check-config with their JSON path.
. "$SG_SRCDIR/tests/integration/lib.sh"
need_python python3 cryptography python3-cryptography
W=$SG_WORK
gateway_fixture
make_ca srv
make_ca clients
make_ca other

# server_cert NAME: a server key and certificate for 127.0.0.1 from CA srv.
server_cert() {
    (umask 077; openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$1" \
        -keyout "$W/$1.key" -out "$W/$1.csr" 2>/dev/null)
    printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' > "$W/server.ext"
    issue_cert srv "$W/$1.csr" "$W/$1.pem" 30 "$W/server.ext" || { echo "Bail out! $1 certificate"; exit 1; }
}
# client_cert NAME CA [DAYS]: a client key and certificate with CN NAME.
client_cert() {
    openssl req -new -newkey rsa:2048 -nodes -subj "/O=sealgate tests/CN=$1" \
        -keyout "$W/$1.key" -out "$W/$1.csr" 2>/dev/null
    printf 'extendedKeyUsage=clientAuth\n' > "$W/client.ext"
    issue_cert "$2" "$W/$1.csr" "$W/$1.pem" "${3:-30}" "$W/client.ext" || { echo "Bail out! $1 certificate"; exit 1; }
}
server_cert gw-one
server_cert gw-two
client_cert svc-cert clients
client_cert svc-both clients
client_cert svc-revoked clients
client_cert stranger other
client_cert nobody clients
# Certificates out of date and a CRL revoking svc-revoked, made with
# python3-cryptography from the same CA (openssl x509 -req cannot backdate).
python3 - "$W" <<'PY' || { echo "Bail out! dated certificates and CRL"; exit 1; }
import datetime, sys
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID, ExtendedKeyUsageOID
w = sys.argv[1]
ca_key = serialization.load_pem_private_key(open(f"{w}/ca-clients.key", "rb").read(), None)
ca = x509.load_pem_x509_certificate(open(f"{w}/ca-clients.pem", "rb").read())
now = datetime.datetime.now(datetime.timezone.utc)
day = datetime.timedelta(days=1)
for name, start, end in (("expired", now - 30 * day, now - day), ("early", now + day, now + 30 * day)):
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
            .issuer_name(ca.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(start).not_valid_after(end)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), False)
            .sign(ca_key, hashes.SHA256()))
    open(f"{w}/{name}.pem", "wb").write(cert.public_bytes(serialization.Encoding.PEM))
    open(f"{w}/{name}.key", "wb").write(key.private_bytes(serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
revoked = x509.load_pem_x509_certificate(open(f"{w}/svc-revoked.pem", "rb").read())
for name, signer, issuer in (("clients", ca_key, ca.subject), ("other", None, None)):
    if signer is None:
        signer = serialization.load_pem_private_key(open(f"{w}/ca-other.key", "rb").read(), None)
        issuer = x509.load_pem_x509_certificate(open(f"{w}/ca-other.pem", "rb").read()).subject
    crl = (x509.CertificateRevocationListBuilder().issuer_name(issuer)
           .last_update(now - day).next_update(now + 7 * day)
           .add_revoked_certificate(x509.RevokedCertificateBuilder()
               .serial_number(revoked.serial_number).revocation_date(now - day).build())
           .sign(signer, hashes.SHA256()))
    open(f"{w}/{name}.crl", "wb").write(crl.public_bytes(serialization.Encoding.PEM))
PY
chmod 600 "$W"/*.key
cp "$W/gw-one.pem" "$W/server.pem"
cp "$W/gw-one.key" "$W/server.key"
fingerprint() { openssl x509 -in "$1" -noout -fingerprint -sha256 | sed 's/.*=//'; }
subject() { openssl x509 -in "$1" -noout -subject -nameopt RFC2253 | sed 's/^subject=//'; }
issuer() { openssl x509 -in "$1" -noout -issuer -nameopt RFC2253 | sed 's/^issuer=//'; }
both_token=$(client_token both)
jq --arg fp "$(fingerprint "$W/svc-cert.pem")" --arg bt "$both_token" \
   --arg sub "$(subject "$W/svc-both.pem")" --arg iss "$(issuer "$W/svc-both.pem")" '
    .listen.tls = {cert_file: "server.pem", key_file: "server.key", client_ca_file: "ca-clients.pem",
                   crl_file: "clients.crl"} |
    .clients += [
      {name: "certsvc", cert_sha256: $fp, roles: ["stamp"], identities: ["local-seal"]},
      {name: "both", token_sha256: $bt, cert_subject: $sub, cert_issuer: $iss, roles: ["stamp"],
       identities: ["ec-seal"]}]' "$W/sealgate.json" > "$W/c.json" && mv "$W/c.json" "$W/sealgate.json"
check "the HTTPS configuration is good" sealgated --check-config --config "$W/sealgate.json"
expect_match "--check-config names the server certificate" "$(cat "$W/last.out")" \
    '^listen\.tls: CN=gw-one \(serial [0-9A-F]+\) until .*client certificates from client_ca_file'
start_gateway
expect_match "the ready file gives an https URL" "$GW_URL" '^https://127\.0\.0\.1:[0-9]+$'
PORT=$(jq -r .port "$W/ready.json")
GW_CURL=(--cacert "$W/ca-srv.pem")

# --- open routes over HTTPS, and what plain HTTP gets -----------------------
expect_eq "/healthz over HTTPS" "$(api - GET /healthz)" 200
expect_eq "/readyz over HTTPS" "$(api - GET /readyz)" 200
expect_eq "/healthz over HTTPS with a client certificate" \
    "$(api - GET /healthz --cert "$W/svc-cert.pem" --key "$W/svc-cert.key")" 200
expect_eq "the server certificate must chain to the CA curl is given" \
    "$(curl -sS -o /dev/null -w '%{http_code}' --cacert "$W/ca-other.pem" "$GW_URL/healthz" 2>/dev/null)" 000
expect_eq "plain HTTP to the HTTPS port gets no answer" \
    "$(curl -sS -o /dev/null -w '%{http_code}' --max-time 10 "http://127.0.0.1:$PORT/healthz" 2>/dev/null)" 000

# --- clients by certificate, by token, by both ------------------------------
echo "document" > "$W/doc"
J=(-H 'Content-Type: application/json')
sign() { # CLIENT-TOKEN|- IDENTITY CERT|-: /v1/sign's status
    local certargs=()
    [ "$3" != - ] && certargs=(--cert "$W/$3.pem" --key "$W/$3.key")
    api "$1" POST /v1/sign "${J[@]}" "${certargs[@]}" --data-binary "$(sign_body "$2" sha256 "$W/doc" raw)"
}
expect_eq "a client known by its certificate signs with it alone" "$(sign - local-seal svc-cert)" 200
openssl pkeyutl -verify -pubin -inkey <(openssl x509 -in "$W/local-seal.pem" -pubkey -noout) \
    -in <(openssl dgst -sha256 -binary "$W/doc") -sigfile <(jq -r .signature "$W/body" | base64 -d) \
    -pkeyopt digest:sha256 >/dev/null 2>&1 && pass "  its signature verifies with openssl" ||
    fail "  its signature verifies with openssl: $(head -c 300 "$W/body")"
rid=$(jq -r .request_id "$W/body")
entry=$(cat "$W"/audit/audit-*.jsonl | jq -c --arg r "$rid" 'select(.request_id == $r)')
expect_eq "  its audit entry names the client" "$(jq -r .client <<<"$entry")" certsvc
expect_eq "  with the certificate's serial" "$(jq -r .client_cert_serial <<<"$entry")" \
    "$(openssl x509 -in "$W/svc-cert.pem" -noout -serial | sed 's/^serial=//')"
expect_eq "  and its issuer" "$(jq -r .client_cert_issuer <<<"$entry")" "$(issuer "$W/svc-cert.pem")"
expect_eq "a token client still signs without a certificate" "$(sign billing local-seal -)" 200
expect_eq "  and its entry has no certificate members" \
    "$(cat "$W"/audit/audit-*.jsonl | jq -r --arg r "$(jq -r .request_id "$W/body")" \
        'select(.request_id == $r) | has("client_cert_serial")')" false
expect_error "neither a certificate nor a token" 401 unauthorized "$(sign - local-seal -)"
expect_match "  the answer names both ways in" "$(jq -r .error_description "$W/body")" "bearer token or client certificate"
expect_error "a certificate of the client CA that no client is known by" 401 unauthorized "$(sign - local-seal nobody)"
expect_error "the certificate client may use only its identities" 403 forbidden "$(sign - ec-seal svc-cert)"
expect_error "a client of both: certificate alone" 401 unauthorized "$(sign - ec-seal svc-both)"
expect_match "  the answer says both are needed" "$(jq -r .error_description "$W/body")" "both its client certificate and its bearer token"
expect_error "a client of both: token alone" 401 unauthorized "$(sign both ec-seal -)"
expect_eq "a client of both: certificate and token" "$(sign both ec-seal svc-both)" 200
expect_error "one client's certificate with another's token" 401 unauthorized "$(sign billing local-seal svc-cert)"
expect_match "  the answer says they differ" "$(jq -r .error_description "$W/body")" "different clients"

# --- certificates refused ----------------------------------------------------
for bad in "stranger:not issued by the client CA" "expired:expired" "early:not yet valid" \
    "svc-revoked:revoked"; do
    name=${bad%%:*} why=${bad#*:}
    expect_error "a certificate $why ($name)" 401 unauthorized "$(sign - local-seal "$name")"
    expect_match "  the answer says $why" "$(jq -r .error_description "$W/body")" "not accepted: $why\$"
    expect_error "  refused even with a good token" 401 unauthorized "$(sign billing local-seal "$name")"
done
log=$(cat "$W"/audit/audit-*.jsonl)
expect_eq "each kind of bad certificate is audited with its reason" \
    "$(jq -r 'select(.type == "auth_failure" and .repeated == null and (.detail // "" | test("bad client certificate"))) | .detail | sub(".*: "; "")' <<<"$log" | sort -u | tr '\n' ,)" \
    "expired,not issued by the client CA,not yet valid,revoked,"
expect_eq "  with the certificate's serial" \
    "$(jq -r 'select(.type == "auth_failure" and (.detail // "" | test("revoked$"))) | .client_cert_serial' <<<"$log" | head -n1)" \
    "$(openssl x509 -in "$W/svc-revoked.pem" -noout -serial | sed 's/^serial=//')"
# A loop of bad certificates is coalesced like bad tokens (gw_refusals.c).
before=$(audit_entries auth_failure)
for i in $(seq 1 30); do sign - local-seal stranger >/dev/null; done
wait_until 10 "the coalesced refusals are written" \
    bash -c "cat '$W'/audit/audit-*.jsonl | jq -e -s '[.[] | select(.type == \"auth_failure\" and .repeated != null)] | length > 0'"
log=$(cat "$W"/audit/audit-*.jsonl)
after=$(jq -s '[.[] | select(.type == "auth_failure")] | length' <<<"$log")
[ $((after - before)) -lt 30 ] && pass "30 bad certificates are fewer than 30 entries ($((after - before)))" ||
    fail "30 bad certificates made $((after - before)) entries"
expect_match "  a coalesced entry counts them" \
    "$(jq -r 'select(.type == "auth_failure" and .repeated != null) | .detail' <<<"$log" | tail -n1)" \
    "bad client certificate"

# --- protocol versions, as openssl sees them ----------------------------------
# SECLEVEL=0 lets openssl offer TLS 1.0 and 1.1 at all, so a refusal is the
# server's: it reads the ClientHello and hangs up without a ServerHello.
for v in tls1 tls1_1; do
    out=$(openssl s_client -connect "127.0.0.1:$PORT" -"$v" -cipher 'DEFAULT:@SECLEVEL=0' \
        -CAfile "$W/ca-srv.pem" </dev/null 2>&1)
    rc=$?
    [ "$rc" -ne 0 ] && pass "-$v refused (exit $rc)" || fail "-$v was accepted"
    expect_match "  by the server, after openssl sent its hello" "$out" \
        "handshake has read 0 bytes and written [1-9][0-9]* bytes"
    expect_no_match "  not by openssl itself" "$out" "no protocols available|no ciphers available"
done
out=$(gnutls-cli --priority 'NORMAL:-VERS-ALL:+VERS-TLS1.1:+VERS-TLS1.0' --x509cafile "$W/ca-srv.pem" \
    --port "$PORT" 127.0.0.1 </dev/null 2>&1)
expect_match "gnutls-cli offering only TLS 1.0 and 1.1 is refused" "$out" "Fatal error|Handshake has failed"
expect_no_match "  no handshake completes" "$out" "Handshake was completed"
for v in tls1_2 tls1_3; do
    out=$(openssl s_client -connect "127.0.0.1:$PORT" -"$v" -CAfile "$W/ca-srv.pem" \
        -verify_return_error </dev/null 2>&1)
    rc=$?
    want=$(printf '%s' "$v" | sed 's/tls1_/TLSv1./')
    [ "$rc" -eq 0 ] && pass "-$v accepted" || fail "-$v refused: $(printf '%s' "$out" | tail -n3)"
    expect_match "  speaking $want" "$out" "Protocol *: $want|New, $want"
done

# --- SIGHUP: the next handshake presents the new certificate -----------------
presented_serial() {
    openssl s_client -connect "127.0.0.1:$PORT" -CAfile "$W/ca-srv.pem" </dev/null 2>/dev/null |
        openssl x509 -noout -serial | sed 's/^serial=//'
}
serial_one=$(openssl x509 -in "$W/gw-one.pem" -noout -serial | sed 's/^serial=//')
serial_two=$(openssl x509 -in "$W/gw-two.pem" -noout -serial | sed 's/^serial=//')
expect_eq "the first certificate is presented" "$(presented_serial)" "$serial_one"
# A renewed certificate with a key that does not match: the reload is refused.
cp "$W/gw-two.pem" "$W/server.pem"
reload_gateway error
expect_eq "  a certificate without its key is not taken" "$(presented_serial)" "$serial_one"
cp "$W/gw-two.key" "$W/server.key"
reload_gateway ok
expect_eq "after SIGHUP the next handshake presents the renewed certificate" "$(presented_serial)" "$serial_two"
expect_eq "  and requests go on over it" "$(sign - local-seal svc-cert)" 200
expect_match "  the log says which certificate is presented" "$(grep 'next handshakes present' "$W/sealgated.log" | tail -n1)" \
    "CN=gw-two \(serial $serial_two\)"

# --- slow handshakes ---------------------------------------------------------
# More connections than the listener has threads, each with half a
# ClientHello or nothing at all, held open while another client is served.
python3 - "$PORT" "$W/slow.ready" "$W/slow.stop" <<'PY' &
import socket, sys, time, os
port, ready, stop = int(sys.argv[1]), sys.argv[2], sys.argv[3]
socks = []
for i in range(12):
    s = socket.create_connection(("127.0.0.1", port))
    if i % 2:
        s.sendall(bytes([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03]))
    socks.append(s)
open(ready, "w").write("ready\n")
deadline = time.time() + 60
while not os.path.exists(stop) and time.time() < deadline:
    time.sleep(0.05)
PY
SLOW_PID=$!
wait_ready "$W/slow.ready" "$SLOW_PID" "the slow clients" /dev/null
t0=$(date +%s%N)
expect_eq "another client is served while 12 handshakes hang" \
    "$(api - GET /healthz --max-time 5)" 200
expect_eq "  and signs" "$(sign - local-seal svc-cert)" 200
t1=$(date +%s%N)
[ $(( (t1 - t0) / 1000000 )) -lt 5000 ] && pass "  within 5 s ($(( (t1 - t0) / 1000000 )) ms)" ||
    fail "  took $(( (t1 - t0) / 1000000 )) ms"
touch "$W/slow.stop"
wait "$SLOW_PID"

stop_gateway

# --- the configuration: plain HTTP on loopback only, bad listen.tls ----------
bad_config() {
    jq "$3" "$W/sealgate.json" > "$W/bad.json"
    check_exit 1 "$1 refused" sealgated --check-config --config "$W/bad.json"
    expect_one_line_error "$1"
    expect_match "  naming $2" "$(cat "$W/last.err")" "$(printf '%s' "$2" | sed 's/[][$.]/\\&/g'): "
}
bad_config "plain HTTP on 0.0.0.0" '$.listen.address' '.listen.address = "0.0.0.0" | .listen.tls = null | .clients |= map(select(.cert_sha256 == null and .cert_subject == null))'
expect_match "  saying why" "$(cat "$W/last.err")" "not a loopback address: plain HTTP would carry bearer tokens"
bad_config "plain HTTP on a LAN address" '$.listen.address' '.listen.address = "192.0.2.10" | .listen.tls = null | .clients |= map(select(.cert_sha256 == null and .cert_subject == null))'
bad_config "plain HTTP on :: " '$.listen.address' '.listen.address = "::" | .listen.tls = null | .clients |= map(select(.cert_sha256 == null and .cert_subject == null))'
jq '.listen.address = "::1" | .listen.tls = null | .clients |= map(select(.cert_sha256 == null and .cert_subject == null))' "$W/sealgate.json" > "$W/ok.json"
check "plain HTTP on ::1 is fine" sealgated --check-config --config "$W/ok.json"
jq '.listen.address = "0.0.0.0"' "$W/sealgate.json" > "$W/ok.json"
check "HTTPS on 0.0.0.0 is fine" sealgated --check-config --config "$W/ok.json"
bad_config "no cert_file" '$.listen.tls.cert_file' 'del(.listen.tls.cert_file)'
bad_config "a cert_file that is not there" '$.listen.tls.cert_file' '.listen.tls.cert_file = "missing.pem"'
bad_config "a cert_file without a certificate" '$.listen.tls.cert_file' '.listen.tls.cert_file = "server.key"'
bad_config "a key that is not the certificate's" '$.listen.tls.key_file' '.listen.tls.key_file = "gw-one.key"'
chmod 644 "$W/gw-one.key"
bad_config "a key file others may read" '$.listen.tls.key_file' '.listen.tls.cert_file = "gw-one.pem" | .listen.tls.key_file = "gw-one.key"'
expect_match "  saying chmod 600" "$(cat "$W/last.err")" "chmod 600"
chmod 600 "$W/gw-one.key"
bad_config "an expired server certificate" '$.listen.tls.cert_file' '.listen.tls.cert_file = "expired.pem" | .listen.tls.key_file = "expired.key"'
bad_config "priorities enabling TLS 1.1" '$.listen.tls.priorities' '.listen.tls.priorities = "NORMAL:+VERS-TLS1.1"'
expect_match "  saying TLS 1.2 and 1.3 only" "$(cat "$W/last.err")" "TLS 1.2 and 1.3 only"
bad_config "priorities GnuTLS cannot parse" '$.listen.tls.priorities' '.listen.tls.priorities = "NORMAL:+NO-SUCH-THING"'
bad_config "a CRL without a client CA" '$.listen.tls.crl_file' 'del(.listen.tls.client_ca_file) | .clients |= map(select(.cert_sha256 == null and .cert_subject == null))'
bad_config "a CRL of another CA" '$.listen.tls.crl_file' '.listen.tls.crl_file = "other.crl"'
bad_config "a certificate client without a client CA" '$.clients[4].cert_sha256' 'del(.listen.tls.client_ca_file) | del(.listen.tls.crl_file)'
bad_config "an unknown listen.tls member" '$.listen.tls.cert' '.listen.tls.cert = "x"'
bad_config "a client known by nothing" '$.clients[4]' 'del(.clients[4].cert_sha256)'
bad_config "a subject without its issuer" '$.clients[5].cert_subject' 'del(.clients[5].cert_issuer)'
bad_config "a fingerprint that is not one" '$.clients[4].cert_sha256' '.clients[4].cert_sha256 = "abc"'
bad_config "two clients with one certificate" '$.clients[5].cert_sha256' '.clients[5].cert_sha256 = .clients[4].cert_sha256 | del(.clients[5].cert_subject, .clients[5].cert_issuer)'
finish
