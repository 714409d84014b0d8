# SPDX-License-Identifier: Apache-2.0
# The Vero certificate service simulator (tests/sim/vero_sim.py) on its own,
# driven with curl, openssl, xmllint and xmlsec1 (jq for the JSON test
# interface), no gateway: init and add-transfer, signNewCertificate from an
# openssl CSR, getCertificate's "not ready" polls, renewCertificate signed
# with `xmlsec1 --sign`, every response's signature verified with xmlsec1
# against the service CA after copying the element out of the SOAP Body,
# and the refusals docs/authorities.md section 2 asks for, good and bad cases
# side by side; state kept across a restart.
. "$SG_SRCDIR/tests/integration/lib.sh"
W=$SG_WORK
S=$W/sim
SIM=$SG_SRCDIR/tests/sim/vero_sim.py
XSD=$SG_SRCDIR/tests/sim/vero-certservice/CertificateServices.xsd
PY=${SG_PYTHON:-/usr/bin/python3}
need_python "$PY" "lxml.etree, xmlsec, cryptography" "python3-lxml python3-xmlsec python3-cryptography"
need_tools xmlsec1 xmllint jq curl
sim() { "$PY" "$SIM" "$@"; }
NS=http://certificates.vero.fi/2017/10/certificateservices
SOAP=http://schemas.xmlsoap.org/soap/envelope/
C1=1234567-8        # the customer who enrols
C2=7654321-0        # the customer who renews
DAY=86400

# start_sim STATE [serve args...]: sets URL, SIM_URL, SIM_PID.
start_sim() {
    start_sim_serve vero_sim "$W/sim-ready.json" "$PY" "$SIM" "$@"
    URL=$(jq -r .url "$W/sim-ready.json")
    SIM_URL=$(jq -r .sim_url "$W/sim-ready.json")
}
TLS=(--cacert "$S/server-ca.pem")
simget() { curl -sS "${TLS[@]}" "$SIM_URL$1"; }
simpost() { curl -sS -o "$W/body" -w '%{http_code}' "${TLS[@]}" -H 'Content-Type: application/json' --data-binary "$2" "$SIM_URL$1"; }
count() { simget counts | jq -r ".$1"; }

# --- SOAP -------------------------------------------------------------------
# envelope ELEMENT_FILE: a SOAP 1.1 envelope around the element's exact
# bytes (an XML declaration line dropped).
envelope() {
    printf '<?xml version="1.0" encoding="utf-8"?>\n<soapenv:Envelope xmlns:soapenv="%s"><soapenv:Body>' "$SOAP"
    sed '1{/^<?xml/d}' "$1"
    printf '</soapenv:Body></soapenv:Envelope>'
}
# post FILE [curl args...]: POST FILE as it is; HTTP status on stdout, the
# answer in $W/resp.xml.
post() {
    local f=$1
    shift
    curl -sS -o "$W/resp.xml" -w '%{http_code}' "${TLS[@]}" --data-binary @"$f" "$@" "$URL"
}
# call ACTION ELEMENT [curl args...]: ELEMENT (text) in an envelope, sent
# with SOAPAction "ACTION" and text/xml; charset=utf-8.
call() {
    local action=$1
    printf '%s' "$2" > "$W/req-el.xml"
    shift 2
    envelope "$W/req-el.xml" > "$W/req.xml"
    post "$W/req.xml" -H 'Content-Type: text/xml; charset=utf-8' -H "SOAPAction: \"$action\"" "$@"
}
csr_b64() { base64 -w0 < "$1"; }
# sign_new_el CUSTOMER TRANSFER PASSWORD CSR_DER [NAME] [ENVIRONMENT]
sign_new_el() {
    printf '<ser:SignNewCertificateRequest xmlns:ser="%s"><Environment>%s</Environment><CustomerId>%s</CustomerId>%s<TransferId>%s</TransferId><TransferPassword>%s</TransferPassword><CertificateRequest>%s</CertificateRequest></ser:SignNewCertificateRequest>' \
        "$NS" "${6:-TEST}" "$1" "${5:+<CustomerName>$5</CustomerName>}" "$2" "$3" "$(csr_b64 "$4")"
}
# get_el CUSTOMER RETRIEVAL_ID
get_el() {
    printf '<ser:GetCertificateRequest xmlns:ser="%s"><Environment>TEST</Environment><CustomerId>%s</CustomerId><RetrievalId>%s</RetrievalId></ser:GetCertificateRequest>' \
        "$NS" "$1" "$2"
}
# renew_template CUSTOMER NAME CSR_DER [SIGNATURE_METHOD] [C14N_METHOD]: the
# request with an empty signature of the profile (or the algorithms given).
renew_template() {
    printf '<ser:RenewCertificateRequest xmlns:ser="%s"><Environment>TEST</Environment><CustomerId>%s</CustomerId><CustomerName>%s</CustomerName><CertificateRequest>%s</CertificateRequest><ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo><ds:CanonicalizationMethod Algorithm="%s"/><ds:SignatureMethod Algorithm="%s"/><ds:Reference URI=""><ds:Transforms><ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/><ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/></ds:Transforms><ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><ds:DigestValue/></ds:Reference></ds:SignedInfo><ds:SignatureValue/><ds:KeyInfo><ds:X509Data><ds:X509Certificate/></ds:X509Data></ds:KeyInfo></ds:Signature></ser:RenewCertificateRequest>' \
        "$NS" "$1" "$2" "$(csr_b64 "$3")" "${5:-http://www.w3.org/2001/10/xml-exc-c14n#}" \
        "${4:-http://www.w3.org/2001/04/xmldsig-more#rsa-sha256}"
}
# signed_renew KEY CERT TEMPLATE_ARGS...: the renewal request signed with
# xmlsec1 (KEY and CERT PEM files; CERT goes into KeyInfo), no XML declaration.
signed_renew() {
    local key=$1 cert=$2
    shift 2
    renew_template "$@" > "$W/renew-tmpl.xml"
    xmlsec1 --sign --privkey-pem "$key,$cert" --output "$W/renew-signed.xml" "$W/renew-tmpl.xml" 2>"$W/xmlsec.err" ||
        { echo "Bail out! xmlsec1 --sign: $(head -c 300 "$W/xmlsec.err")"; exit 1; }
    sed '1{/^<?xml/d}' "$W/renew-signed.xml"
}

# The answer: its *Response element copied out of the Body (xmllint) into
# $W/resp-el.xml; value NAME reads one of its fields.
response_element() {
    xmllint --xpath '/*[local-name()="Envelope"]/*[local-name()="Body"]/*' "$W/resp.xml" > "$W/resp-el.xml" 2>/dev/null
}
value() { xmllint --xpath "string(/*/*[local-name()=\"$1\"] | /*/Result/*[local-name()=\"$1\"] | /*/Result/ErrorInfo/*[local-name()=\"$1\"])" "$W/resp-el.xml" 2>/dev/null; }
verify_response() {
    xmlsec1 --verify --trusted-pem "$S/service-ca.pem" "$W/resp-el.xml" >"$W/verify.out" 2>&1
}
# expect_result WHAT HTTP_STATUS STATUS [REASON]: HTTP 200, the response
# element is valid against the XSD, its signature verifies with the
# service CA, Result/Status is as wanted; a FAIL carries the one public
# ErrorCode, PKI020, and /sim/requests names REASON (the check that
# refused, lower case) for the last request.
expect_result() {
    local what=$1 got=$2 want=$3 reason=${4:-} st ec outcome=
    if [ "$got" != 200 ]; then
        fail "$what: HTTP $got: $(head -c 300 "$W/resp.xml")"
        return
    fi
    response_element
    st=$(value Status) ec=$(value ErrorCode)
    reason=${reason,,}
    [ -z "$reason" ] || outcome=$(simget requests | jq -r '.requests[-1].outcome')
    if ! xmllint --noout --schema "$XSD" "$W/resp-el.xml" 2>"$W/xsd.err"; then
        fail "$what: response not valid against the XSD: $(head -c 300 "$W/xsd.err")"
    elif ! verify_response; then
        fail "$what: response signature does not verify: $(head -c 300 "$W/verify.out")"
    elif [ "$st${ec:+ $ec}" != "$want${reason:+ PKI020}" ]; then
        fail "$what: got $st $ec ($(value ErrorMessage)), wanted $want${reason:+ PKI020}"
    elif [ -n "$reason" ] && [ "${outcome#FAIL PKI020 $reason:}" = "$outcome" ]; then
        fail "$what: /sim/requests says '$outcome', wanted reason $reason"
    else
        pass "$what: $want${reason:+ PKI020 ($reason)}"
    fi
}
# expect_fault WHAT HTTP_STATUS WANT_STATUS FAULTCODE FAULTSTRING_REGEX
expect_fault() {
    local what=$1 got=$2 want=$3 code=$4 re=$5 fc fs
    fc=$(xmllint --xpath 'string(//*[local-name()="Fault"]/faultcode)' "$W/resp.xml" 2>/dev/null)
    fs=$(xmllint --xpath 'string(//*[local-name()="Fault"]/faultstring)' "$W/resp.xml" 2>/dev/null)
    if [ "$got" = "$want" ] && [ "$fc" = "$code" ] && printf '%s' "$fs" | grep -Eq -- "$re"; then
        pass "$what: $want $code"
    else
        fail "$what: got $got $fc '$fs', wanted $want $code /$re/"
    fi
}
# get_cert CUSTOMER RETRIEVAL_ID OUT: one Get; the Certificate (if any) as DER in OUT.
get_cert() {
    local got
    rm -f "$3"
    got=$(call getCertificate "$(get_el "$1" "$2")")
    expect_result "  getCertificate" "$got" OK
    if [ "$(xmllint --xpath 'count(/*/Certificate)' "$W/resp-el.xml")" = 1 ]; then
        value Certificate | base64 -d > "$3"
    fi
}
has_cert() { if [ -s "$1" ]; then echo yes; else echo no; fi; }
pubkey_of() { # pubkey_of x509|req FILE [DER|PEM]: the public key's hash
    openssl "$1" -inform "${3:-PEM}" -in "$2" -noout -pubkey | openssl pkey -pubin -outform DER | sha256sum
}
epoch() { date -u -d "$(openssl x509 -in "$1" -inform "${3:-PEM}" -noout -"$2" | cut -d= -f2)" +%s; }
new_csr() { # new_csr NAME KEYSPEC SUBJECT [openssl req args...]: $W/NAME.key and DER $W/NAME.csr
    local name=$1 spec=$2 subj=$3
    shift 3
    openssl req -new -newkey "$spec" -nodes -keyout "$W/$name.key" -subj "$subj" -outform DER \
        -out "$W/$name.csr" "$@" 2>/dev/null || { echo "Bail out! openssl req $name"; exit 1; }
}

# --- init and add-transfer ----------------------------------------------------
check "init" sim init --state "$S"
for f in server-ca.pem server.pem server.key client-ca.pem client-ca.key service-ca.pem service.pem \
    service.key transfers.json retrievals.json counts.json; do
    [ -s "$S/$f" ] || fail "init made $f"
done
[ -d "$S/issued" ] && pass "init made issued/" || fail "init made issued/"
expect_eq "keys mode 0600" "$(stat -c %a "$S/service.key" "$S/client-ca.key" | sort -u)" 600
check "server certificate chains to the server CA" openssl verify -CAfile "$S/server-ca.pem" -purpose sslserver "$S/server.pem"
check "server certificate is for 127.0.0.1" openssl x509 -in "$S/server.pem" -noout -checkip 127.0.0.1
check "service signer chains to the service CA" openssl verify -CAfile "$S/service-ca.pem" "$S/service.pem"
expect_match "service signer key is RSA-2048" "$(openssl x509 -in "$S/service.pem" -noout -text)" 'Public-Key: \(2048 bit\)'
sums=$(cd "$S" && sha256sum ./*.pem ./*.key ./*.json)
check "init again" sim init --state "$S"
expect_eq "init keeps what exists" "$(cd "$S" && sha256sum ./*.pem ./*.key ./*.json)" "$sums"

check "add-transfer" sim add-transfer --state "$S" --customer-id "$C1" --password-file "$W/t1.pw"
T1=$(jq -r .transfer_id "$W/last.out")
P1=$(jq -r .password "$W/last.out")
expect_eq "  for the customer" "$(jq -r .customer_id "$W/last.out")" "$C1"
expect_match "  id of at most 32 characters" "$T1" '^[A-Z0-9]{1,32}$'
expect_match "  password of at most 16 characters" "$P1" '^[A-Za-z0-9]{1,16}$'
expect_eq "  password file" "$(cat "$W/t1.pw")" "$P1"
expect_eq "  password file mode 0600" "$(stat -c %a "$W/t1.pw")" 600
left=$(( $(date -u -d "$(jq -r .expires "$W/last.out")" +%s) - $(date -u +%s) ))
expect_eq "  expires in 14 days" "$(( left > 14 * DAY - 10 && left <= 14 * DAY ))" 1
check_exit 1 "add-transfer with an existing id" sim add-transfer --state "$S" --customer-id "$C1" --transfer-id "$T1"
check_exit 1 "add-transfer with a 31-character customer id" sim add-transfer --state "$S" --customer-id "$(printf '%031d' 1)"
check "add-transfer --transfer-id --days 0 (expires at once)" \
    sim add-transfer --state "$S" --customer-id "$C1" --transfer-id EXPIRED-1 --days 0
P_EXP=$(jq -r .password "$W/last.out")

# --- serve ----------------------------------------------------------------------
start_sim "$S"
expect_match "ready file" "$(cat "$W/sim-ready.json")" '"url": "https://127\.0\.0\.1:[0-9]+/2017/10/CertificateServices"'
expect_eq "ready file pid" "$(jq -r .pid "$W/sim-ready.json")" "$SIM_PID"
expect_eq "/sim/health" "$(simget health | jq -c .)" '{"status":"ok","environment":"TEST"}'
expect_eq "/sim/config defaults" "$(simget config | jq -c .)" \
    "{\"cert_lifetime_s\":$((730 * DAY)),\"not_ready_polls\":2,\"fail_polls\":0,\"clock_offset_s\":0,\"tamper_responses\":0,\"extra_errors\":[]}"
simget transfers > "$W/transfers.json"
expect_eq "/sim/transfers lists both" "$(jq -r '[.transfers[].transfer_id] | sort | join(" ")' "$W/transfers.json")" \
    "$(printf '%s\n' EXPIRED-1 "$T1" | LC_ALL=C sort | tr '\n' ' ' | sed 's/ $//')"
expect_eq "  customer, unused, no password" \
    "$(jq -c --arg t "$T1" '.transfers[] | select(.transfer_id == $t) | [.customer_id, .used, has("password")]' "$W/transfers.json")" \
    "[\"$C1\",false,false]"

# --- signNewCertificate -------------------------------------------------------------
new_csr c1 rsa:2048 "/CN=$C1/O=Testi Oy/C=FI"
got=$(call signNewCertificate "$(sign_new_el "$C1" "$T1" "$P1" "$W/c1.csr" "Testi Oy")")
expect_result "signNewCertificate" "$got" OK
RID1=$(value RetrievalId)
expect_match "  RetrievalId of at most 32 characters" "$RID1" '^[!-~]{1,32}$'
expect_match "  the response root is prefixed, its children unqualified" "$(head -c 400 "$W/resp-el.xml")" \
    "^<ns2:SignNewCertificateResponse xmlns:ns2=\"$NS\"><RetrievalId>"
expect_match "  signature: exc-c14n, rsa-sha256, sha256, URI=\"\"" "$(tr -d '\n' < "$W/resp-el.xml")" \
    'CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/><ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/><ds:Reference URI=""><ds:Transforms><ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/><ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/></ds:Transforms><ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/>'
# The element's exact bytes cut out of the Body verify too (it was embedded unchanged).
r=$(cat "$W/resp.xml"); r=${r#*<soap:Body>}; printf '%s' "${r%</soap:Body>*}" > "$W/resp-bytes.xml"
check "  the Body's exact bytes verify with xmlsec1 against the service CA" \
    xmlsec1 --verify --trusted-pem "$S/service-ca.pem" "$W/resp-bytes.xml"
sed "s/$RID1/0$RID1/" "$W/resp-el.xml" > "$W/resp-tampered.xml"
check_exit 1 "  a changed RetrievalId does not verify" \
    xmlsec1 --verify --trusted-pem "$S/service-ca.pem" "$W/resp-tampered.xml"
check_exit 1 "  nor does the response against another CA" \
    xmlsec1 --verify --trusted-pem "$S/client-ca.pem" "$W/resp-el.xml"
expect_eq "  transfer marked used" "$(simget transfers | jq -r --arg t "$T1" '.transfers[] | select(.transfer_id == $t) | .used')" true
expect_eq "  counts" "$(simget counts | jq -c '[.sign_new, .issued, .transfer_rejects]')" '[1,1,0]'

got=$(call signNewCertificate "$(sign_new_el "$C1" "$T1" "$P1" "$W/c1.csr" "Testi Oy")" -w '%{http_code}\n%{content_type}')
expect_result "the same transfer again" "${got%%$'\n'*}" FAIL TRANSFER_USED
expect_eq "  Content-Type" "${got#*$'\n'}" "text/xml; charset=utf-8"
expect_eq "  no RetrievalId" "$(xmllint --xpath 'count(/*/RetrievalId)' "$W/resp-el.xml")" 0
expect_match "  ErrorMessage" "$(value ErrorMessage)" 'used'

# --- getCertificate: not ready twice, then the certificate ------------------------------
get_cert "$C1" "$RID1" "$W/c1.der"
expect_eq "  poll 1: OK without a Certificate (not ready)" "$(has_cert "$W/c1.der")" no
get_cert "$C1" "$RID1" "$W/c1.der"
expect_eq "  poll 2: OK without a Certificate (not ready)" "$(has_cert "$W/c1.der")" no
get_cert "$C1" "$RID1" "$W/c1.der"
expect_eq "  poll 3: the Certificate" "$(has_cert "$W/c1.der")" yes
expect_match "  base64 without PEM armour or line breaks" "$(value Certificate)" '^MII[A-Za-z0-9+/]+=*$'
openssl x509 -inform DER -in "$W/c1.der" -out "$W/c1.pem"
expect_eq "  public key is the CSR's" "$(pubkey_of x509 "$W/c1.pem")" "$(pubkey_of req "$W/c1.csr" DER)"
check "  chains to client-ca.pem as a TLS client certificate" \
    openssl verify -CAfile "$S/client-ca.pem" -purpose sslclient "$W/c1.pem"
expect_eq "  subject" "$(openssl x509 -in "$W/c1.pem" -noout -subject -nameopt RFC2253)" "subject=CN=$C1,O=Testi Oy,C=FI"
expect_match "  key usage digitalSignature, critical" "$(openssl x509 -in "$W/c1.pem" -noout -ext keyUsage | tr '\n' ' ')" \
    'critical +Digital Signature *$'
expect_match "  extended key usage clientAuth" "$(openssl x509 -in "$W/c1.pem" -noout -ext extendedKeyUsage)" \
    'TLS Web Client Authentication'
expect_eq "  valid 730 days" "$(( $(epoch "$W/c1.pem" enddate) - $(epoch "$W/c1.pem" startdate) ))" $((730 * DAY))
get_cert "$C1" "$RID1" "$W/c1-again.der"
expect_eq "  a later Get answers the same certificate" "$(sha256sum < "$W/c1-again.der")" "$(sha256sum < "$W/c1.der")"
got=$(call getCertificate "$(get_el "$C1" 0123456789abcdef0123456789abcdef)")
expect_result "Get for an unknown RetrievalId" "$got" FAIL RETRIEVAL_ID
got=$(call getCertificate "$(get_el "$C2" "$RID1")")
expect_result "Get by another customer" "$got" FAIL CUSTOMER_ID

# --- faults: FAIL to the first Gets of a retrieval, then the certificate; several ErrorInfo --
simpost transfers "{\"customer_id\":\"$C1\"}" >/dev/null
new_csr c1f rsa:2048 "/CN=$C1/C=FI"
got=$(call signNewCertificate "$(sign_new_el "$C1" "$(jq -r .transfer_id "$W/body")" "$(jq -r .password "$W/body")" "$W/c1f.csr")")
expect_result "signNewCertificate for the fail_polls retrieval" "$got" OK
RIDF=$(value RetrievalId)
expect_eq "fail_polls 2, not_ready_polls 0" "$(simpost config '{"fail_polls":2,"not_ready_polls":0}')" 200
for i in 1 2; do
    got=$(call getCertificate "$(get_el "$C1" "$RIDF")")
    expect_result "  Get $i answers FAIL" "$got" FAIL not_ready
    expect_eq "  without a Certificate" "$(xmllint --xpath 'count(/*/Certificate)' "$W/resp-el.xml")" 0
done
get_cert "$C1" "$RIDF" "$W/c1f.der"
expect_eq "  Get 3: the Certificate" "$(has_cert "$W/c1f.der")" yes
expect_eq "  for the CSR's key" "$(pubkey_of x509 "$W/c1f.der" DER)" "$(pubkey_of req "$W/c1f.csr" DER)"
expect_eq "extra_errors: two more ErrorInfo" \
    "$(simpost config '{"fail_polls":0,"not_ready_polls":2,"extra_errors":[{"code":"PKI021","message":"second problem"},{"code":"PKI022","message":"third problem"}]}')" 200
got=$(call getCertificate "$(get_el "$C1" 0123456789abcdef0123456789abcdef)")
expect_result "  a FAIL answer" "$got" FAIL retrieval_id
expect_eq "  carries three ErrorInfo, valid against the XSD (maxOccurs unbounded)" \
    "$(xmllint --xpath 'count(/*/Result/ErrorInfo)' "$W/resp-el.xml")" 3
expect_eq "  codes in order" "$(xmllint --xpath '/*/Result/ErrorInfo/ErrorCode/text()' "$W/resp-el.xml" | tr '\n' ' ')" \
    "PKI020 PKI021 PKI022 "
expect_match "  /sim/requests counts them" "$(simget requests | jq -r '.requests[-1].outcome')" '\(\+2 ErrorInfo\)$'
expect_eq "  an ErrorCode longer than String16 is refused" \
    "$(simpost config '{"extra_errors":[{"code":"PKI0000000000000000","message":"x"}]}')" 400
expect_eq "  back to one ErrorInfo" "$(simpost config '{"extra_errors":[]}')" 200

# --- transfer credentials and CSRs: refused, nothing consumed --------------------------------
got=$(simpost transfers "{\"customer_id\":\"$C1\"}")
expect_eq "POST /sim/transfers" "$got" 200
T2=$(jq -r .transfer_id "$W/body") P2=$(jq -r .password "$W/body")
expect_eq "  password of 16 characters" "${#P2}" 16
# The password with its last character changed (to another one, always).
if [ "${P2: -1}" = x ]; then wrong_pw="${P2%?}y"; else wrong_pw="${P2%?}x"; fi
got=$(call signNewCertificate "$(sign_new_el "$C1" "$T2" "$wrong_pw" "$W/c1.csr")")
expect_result "wrong password" "$got" FAIL TRANSFER_INVALID
expect_match "  /sim/requests says why" "$(simget requests | jq -r '.requests[-1].outcome')" '^FAIL PKI020 transfer_invalid: wrong password'
expect_eq "  counted for the transfer" \
    "$(simget transfers | jq -r --arg t "$T2" '.transfers[] | select(.transfer_id == $t) | [.password_failures, .used] | @tsv')" \
    "1	false"
got=$(call signNewCertificate "$(sign_new_el "$C1" NO-SUCH-TRANSFER "$P2" "$W/c1.csr")")
expect_result "unknown TransferId" "$got" FAIL TRANSFER_INVALID
got=$(call signNewCertificate "$(sign_new_el "$C2" "$T2" "$P2" "$W/c1.csr")")
expect_result "transfer of another customer" "$got" FAIL CUSTOMER_ID
got=$(call signNewCertificate "$(sign_new_el "$C1" EXPIRED-1 "$P_EXP" "$W/c1.csr")")
expect_result "expired transfer (--days 0)" "$got" FAIL TRANSFER_EXPIRED
got=$(call signNewCertificate "$(sign_new_el "$C1" "$T2" "$P2" "$W/c1.csr" "" PRODUCTION)")
expect_result "Environment PRODUCTION on the TEST service" "$got" FAIL ENVIRONMENT
new_csr r3072 rsa:3072 "/CN=$C1/C=FI"
got=$(call signNewCertificate "$(sign_new_el "$C1" "$T2" "$P2" "$W/r3072.csr")")
expect_result "RSA-3072 CSR" "$got" FAIL CSR_KEY
new_csr ec ec "/CN=$C1/C=FI" -pkeyopt ec_paramgen_curve:P-256
got=$(call signNewCertificate "$(sign_new_el "$C1" "$T2" "$P2" "$W/ec.csr")")
expect_result "EC P-256 CSR" "$got" FAIL CSR_KEY
new_csr sha1 rsa:2048 "/CN=$C1/C=FI" -sha1
got=$(call signNewCertificate "$(sign_new_el "$C1" "$T2" "$P2" "$W/sha1.csr")")
expect_result "CSR signed with SHA-1" "$got" FAIL CSR_SIGALG
cp "$W/c1.csr" "$W/badsig.csr"
last=$(( $(stat -c %s "$W/badsig.csr") - 1 ))
b=$(od -An -tu1 -j "$last" -N1 "$W/badsig.csr" | tr -d ' ')
printf "$(printf '\\x%02x' $(( b ^ 1 )))" | dd of="$W/badsig.csr" bs=1 seek="$last" conv=notrunc 2>/dev/null
got=$(call signNewCertificate "$(sign_new_el "$C1" "$T2" "$P2" "$W/badsig.csr")")
expect_result "CSR whose self-signature does not verify" "$got" FAIL CSR_INVALID
printf 'not a certificate request' > "$W/junk.csr"
got=$(call signNewCertificate "$(sign_new_el "$C1" "$T2" "$P2" "$W/junk.csr")")
expect_result "CertificateRequest that is not DER PKCS#10" "$got" FAIL CSR_INVALID
expect_eq "transfer_rejects (with the transfer_used above)" "$(count transfer_rejects)" 5
new_csr c1b rsa:2048 "/CN=ignored/C=SE"
got=$(call signNewCertificate "$(sign_new_el "$C1" "$T2" "$P2" "$W/c1b.csr")")
expect_result "the refused transfer still works with the right password and CSR" "$got" OK
RID1B=$(value RetrievalId)
expect_eq "issued 3" "$(count issued)" 3

# Five parallel uses of one transfer (Content-Type without charset): exactly one succeeds.
simpost transfers "{\"customer_id\":\"$C1\"}" >/dev/null
sign_new_el "$C1" "$(jq -r .transfer_id "$W/body")" "$(jq -r .password "$W/body")" "$W/c1b.csr" > "$W/race-el.xml"
envelope "$W/race-el.xml" > "$W/race.xml"
pids=()
for i in 1 2 3 4 5; do
    curl -sS -o "$W/race-$i.xml" "${TLS[@]}" -H 'Content-Type: text/xml' -H 'SOAPAction: signNewCertificate' \
        --data-binary @"$W/race.xml" "$URL" &
    pids+=($!)
done
wait "${pids[@]}"
expect_eq "five parallel uses of one transfer: one OK, four FAIL 'used already'" \
    "$(grep -l '<Status>OK</Status>' "$W"/race-?.xml | wc -l) $(grep -l '<ErrorCode>PKI020</ErrorCode><ErrorMessage>the transfer id was used already' "$W"/race-?.xml | wc -l)" "1 4"

# The sim clock decides expiry: a 1-day transfer, the clock 2 days ahead.
simpost transfers "{\"customer_id\":\"$C1\",\"days\":1}" >/dev/null
T3=$(jq -r .transfer_id "$W/body") P3=$(jq -r .password "$W/body")
expect_eq "clock_offset_s 2 days" "$(simpost config "{\"clock_offset_s\":$((2 * DAY))}")" 200
got=$(call signNewCertificate "$(sign_new_el "$C1" "$T3" "$P3" "$W/c1b.csr")")
expect_result "  a 1-day transfer has expired" "$got" FAIL TRANSFER_EXPIRED
simpost config '{"clock_offset_s":0}' >/dev/null
got=$(call signNewCertificate "$(sign_new_el "$C1" "$T3" "$P3" "$W/c1b.csr")")
expect_result "  clock back: it is still valid" "$got" OK

# --- SOAP Faults: framing and schema ------------------------------------------------------
simpost transfers "{\"customer_id\":\"$C1\"}" >/dev/null
T4=$(jq -r .transfer_id "$W/body") P4=$(jq -r .password "$W/body")
before=$(simget counts | jq -c .)
good=$(sign_new_el "$C1" "$T4" "$P4" "$W/c1b.csr" "Testi Oy")
schema_fault() { # schema_fault WHAT ELEMENT REGEX
    local got
    got=$(call signNewCertificate "$2")
    expect_fault "$1" "$got" 500 soap:Client "CertificateServices\.xsd.*$3"
}
schema_fault "children out of order" "${good/<CustomerId>$C1<\/CustomerId><CustomerName>Testi Oy<\/CustomerName>/<CustomerName>Testi Oy</CustomerName><CustomerId>$C1</CustomerId>}" \
    "CustomerName'?: This element is not expected"
schema_fault "qualified children" "$(printf '%s' "$good" | sed -e 's#<\([A-Z][A-Za-z]*\)>#<ser:\1>#g' -e 's#</\([A-Z][A-Za-z]*\)>#</ser:\1>#g')" \
    "Environment"
schema_fault "CustomerId missing" "${good/<CustomerId>$C1<\/CustomerId>/}" "CustomerId"
schema_fault "TransferPassword of 17 characters" "${good/<TransferPassword>$P4</<TransferPassword>${P4}x<}" \
    "TransferPassword.*maxLength"
schema_fault "CustomerId of 31 characters" "${good/<CustomerId>$C1</<CustomerId>$(printf '%031d' 1)<}" "CustomerId"
schema_fault "Environment in lower case" "${good/<Environment>TEST</<Environment>test<}" "Environment"
schema_fault "an unknown element" "${good/<\/ser:SignNewCertificateRequest>/<Extra>1</Extra></ser:SignNewCertificateRequest>}" "Extra"
schema_fault "CertificateRequest with a character outside base64" "${good/<CertificateRequest>/<CertificateRequest>!}" "CertificateRequest"
schema_fault "CertificateRequest of 3 base64 characters" "${good/<CertificateRequest>*<\/CertificateRequest>/<CertificateRequest>AAA</CertificateRequest>}" "CertificateRequest"
expect_fault "the request element in another namespace" "$(call signNewCertificate "$(printf '%s' "$good" | sed 's#xmlns:ser="[^"]*"#xmlns:ser="urn:other"#')")" \
    500 soap:Client 'needs \{http://certificates\.vero\.fi/2017/10/certificateservices\}SignNewCertificateRequest'
printf '%s' "$good" > "$W/good-el.xml"
envelope "$W/good-el.xml" > "$W/good.xml"
CT=(-H 'Content-Type: text/xml; charset=utf-8')
expect_fault "SOAPAction of another operation" "$(post "$W/good.xml" "${CT[@]}" -H 'SOAPAction: "getCertificate"')" \
    500 soap:Client 'SOAPAction getCertificate needs'
expect_fault "SOAPAction missing" "$(post "$W/good.xml" "${CT[@]}")" 500 soap:Client 'SOAPAction header is missing'
expect_fault "SOAPAction unknown" "$(post "$W/good.xml" "${CT[@]}" -H 'SOAPAction: "urn:signNewCertificate"')" \
    500 soap:Client 'not one of'
expect_fault "SOAPAction empty" "$(post "$W/good.xml" "${CT[@]}" -H 'SOAPAction: ""')" 500 soap:Client 'not one of'
expect_fault "Content-Type application/soap+xml (SOAP 1.2)" \
    "$(post "$W/good.xml" -H 'Content-Type: application/soap+xml; charset=utf-8' -H 'SOAPAction: signNewCertificate')" \
    500 soap:Client 'text/xml'
expect_fault "charset iso-8859-1" \
    "$(post "$W/good.xml" -H 'Content-Type: text/xml; charset=iso-8859-1' -H 'SOAPAction: signNewCertificate')" \
    500 soap:Client 'charset'
expect_fault "Content-Type missing" "$(post "$W/good.xml" -H 'Content-Type:' -H 'SOAPAction: signNewCertificate')" \
    500 soap:Client 'Content-Type'
printf '%s' "${good%>*}" > "$W/cut-el.xml"; envelope "$W/cut-el.xml" > "$W/cut.xml"
expect_fault "malformed XML" "$(post "$W/cut.xml" "${CT[@]}" -H 'SOAPAction: signNewCertificate')" 500 soap:Client 'malformed XML'
expect_fault "two Body children" "$(call signNewCertificate "$good$good")" 500 soap:Client 'exactly one element, not 2'
expect_fault "empty Body" "$(call signNewCertificate "")" 500 soap:Client 'exactly one element, not 0'
expect_fault "text in the Body" "$(call signNewCertificate "x$good")" 500 soap:Client 'character data'
{ printf '<?xml version="1.0"?>\n<!DOCTYPE e [<!ENTITY x "%s">]>\n' "$C1"; sed 's/<CustomerId>[^<]*</<CustomerId>\&x;</' "$W/good.xml" | sed 1d; } > "$W/dtd.xml"
expect_fault "DOCTYPE with an entity" "$(post "$W/dtd.xml" "${CT[@]}" -H 'SOAPAction: signNewCertificate')" \
    500 soap:Client 'document type declaration'
sed 's#<soapenv:Body>#<?pi x?><soapenv:Body>#' "$W/good.xml" > "$W/pi.xml"
expect_fault "processing instruction" "$(post "$W/pi.xml" "${CT[@]}" -H 'SOAPAction: signNewCertificate')" \
    500 soap:Client 'processing instructions'
sed 's#http://schemas.xmlsoap.org/soap/envelope/#http://www.w3.org/2003/05/soap-envelope#' "$W/good.xml" > "$W/soap12.xml"
expect_fault "SOAP 1.2 envelope" "$(post "$W/soap12.xml" "${CT[@]}" -H 'SOAPAction: signNewCertificate')" \
    500 soap:VersionMismatch 'SOAP 1.2'
sed 's#<soapenv:Body>#<soapenv:Header><h:x xmlns:h="urn:h" soapenv:mustUnderstand="1"/></soapenv:Header><soapenv:Body>#' "$W/good.xml" > "$W/mu.xml"
expect_fault "Header entry with mustUnderstand=1" "$(post "$W/mu.xml" "${CT[@]}" -H 'SOAPAction: signNewCertificate')" \
    500 soap:MustUnderstand 'not understood'
expect_fault "GET" "$(curl -sS -o "$W/resp.xml" -w '%{http_code}' "${TLS[@]}" "$URL")" 405 soap:Client 'needs POST'
expect_fault "another path" "$(curl -sS -o "$W/resp.xml" -w '%{http_code}' "${TLS[@]}" "${CT[@]}" -H 'SOAPAction: signNewCertificate' \
    --data-binary @"$W/good.xml" "${URL%/CertificateServices}/CertificateService")" 404 soap:Client 'no such endpoint'
expect_fault "query string" "$(curl -sS -o "$W/resp.xml" -w '%{http_code}' "${TLS[@]}" "${CT[@]}" -H 'SOAPAction: signNewCertificate' \
    --data-binary @"$W/good.xml" "$URL?wsdl")" 500 soap:Client 'query'
{ sed 's#</soapenv:Body>.*##' "$W/good.xml"; head -c $((1024 * 1024)) /dev/zero | tr '\0' ' '; printf '</soapenv:Body></soapenv:Envelope>'; } > "$W/big.xml"
expect_fault "body over 1 MiB" "$(post "$W/big.xml" "${CT[@]}" -H 'SOAPAction: signNewCertificate')" 413 soap:Client 'larger than'
expect_eq "faults are not counted and consume nothing" "$(simget counts | jq -c .)" "$before"
expect_eq "  the transfer is unused" "$(simget transfers | jq -r --arg t "$T4" '.transfers[] | select(.transfer_id == $t) | .used')" false
expect_result "the good request, SOAPAction without quotes, Content-Type in other case" \
    "$(post "$W/good.xml" -H 'Content-Type: TEXT/XML; Charset="UTF-8"' -H 'SOAPAction: signNewCertificate')" OK

# --- /sim/requests ----------------------------------------------------------------------
simget requests > "$W/requests.json"
expect_eq "/sim/requests: the last one" "$(jq -c '.requests[-1] | [.operation, .soap_action, .status, (.outcome | split(" ")[0:2] | join(" "))]' "$W/requests.json")" \
    '["signNewCertificate","signNewCertificate",200,"OK retrieval"]'
expect_eq "  its exact bytes" "$(jq -r '.requests[-1].body_b64' "$W/requests.json" | base64 -d | sha256sum)" "$(sha256sum < "$W/good.xml")"
expect_match "  a fault" "$(jq -r '[.requests[] | select(.status == 413)][0].outcome' "$W/requests.json")" '^FAULT soap:Client: request body larger'
expect_match "  a schema fault names the error" \
    "$(jq -r '[.requests[] | select(.outcome | test("maxLength"))][0].outcome' "$W/requests.json")" \
    "^FAULT soap:Client: SignNewCertificateRequest does not conform to CertificateServices.xsd: Element 'TransferPassword'"
expect_eq "reset-requests" "$(simpost reset-requests '{}')" 200
expect_eq "  none left" "$(simget requests | jq '.requests | length')" 0

# --- renewCertificate --------------------------------------------------------------------------
# Inside the window: a 30-day certificate from `issue`.
new_csr r1 rsa:2048 "/CN=$C2/O=Renew Oy/C=FI" -outform PEM
check "issue --lifetime-s 30 days" sim issue --state "$S" --csr "$W/r1.csr" --customer-id "$C2" --customer-name "Renew Oy" \
    --out "$W/r1.pem" --lifetime-s $((30 * DAY))
expect_eq "  recorded under issued/" "$(sha256sum < "$S/issued/$(jq -r .serial "$W/last.out").pem")" "$(sha256sum < "$W/r1.pem")"
new_csr n1 rsa:2048 "/CN=$C2/O=Renew Oy/C=FI"
got=$(call renewCertificate "$(signed_renew "$W/r1.key" "$W/r1.pem" "$C2" "Renew Oy" "$W/n1.csr")")
expect_result "renewal signed with xmlsec1 inside the window" "$got" OK
RID2=$(value RetrievalId)
expect_eq "  counts" "$(simget counts | jq -c '[.renew, .issued]')" '[1,7]'
expect_eq "not_ready_polls 0" "$(simpost config '{"not_ready_polls":0}')" 200
get_cert "$C2" "$RID2" "$W/n1.der"
openssl x509 -inform DER -in "$W/n1.der" -out "$W/n1.pem"
expect_eq "  the renewed certificate at once, for the new key" "$(pubkey_of x509 "$W/n1.pem")" "$(pubkey_of req "$W/n1.csr" DER)"
expect_eq "  subject" "$(openssl x509 -in "$W/n1.pem" -noout -subject -nameopt RFC2253)" "subject=CN=$C2,O=Renew Oy,C=FI"
check "  chains to client-ca.pem" openssl verify -CAfile "$S/client-ca.pem" -purpose sslclient "$W/n1.pem"

signed_renew "$W/r1.key" "$W/r1.pem" "$C2" "Renew Oy" "$W/n1.csr" | sed 's#<CustomerName>Renew Oy<#<CustomerName>Evil Oy<#' > "$W/tampered.xml"
got=$(call renewCertificate "$(cat "$W/tampered.xml")")
expect_result "CustomerName changed after signing" "$got" FAIL SIGNATURE
got=$(call renewCertificate "$(signed_renew "$W/r1.key" "$W/r1.pem" "$C2" "Renew Oy" "$W/n1.csr" http://www.w3.org/2000/09/xmldsig#rsa-sha1)")
expect_result "signed with rsa-sha1" "$got" FAIL SIGNATURE
got=$(call renewCertificate "$(signed_renew "$W/r1.key" "$W/r1.pem" "$C2" "Renew Oy" "$W/n1.csr" "" http://www.w3.org/TR/2001/REC-xml-c14n-20010315)")
expect_result "SignedInfo canonicalised with inclusive C14N" "$got" FAIL SIGNATURE
# KeyInfo swapped for another certificate this service issued: the signature no longer verifies.
signed_renew "$W/r1.key" "$W/r1.pem" "$C2" "Renew Oy" "$W/n1.csr" | tr -d '\n' |
    sed "s#<ds:X509Certificate>[^<]*</ds:X509Certificate>#<ds:X509Certificate>$(base64 -w0 < "$W/n1.der")</ds:X509Certificate>#" > "$W/swapped.xml"
got=$(call renewCertificate "$(cat "$W/swapped.xml")")
expect_result "KeyInfo certificate of another key" "$got" FAIL SIGNATURE
got=$(call renewCertificate "$(renew_template "$C2" "Renew Oy" "$W/n1.csr")")
expect_result "an empty (unsigned) signature template" "$got" FAIL SIGNATURE
got=$(call renewCertificate "$(renew_template "$C2" "Renew Oy" "$W/n1.csr" | sed 's#<ds:Signature.*</ds:Signature>##')")
expect_fault "no signature at all" "$got" 500 soap:Client 'Signature'
make_ca foreign
openssl req -new -key "$W/r1.key" -subj "/CN=$C2/O=Renew Oy/C=FI" -out "$W/foreign.csr" 2>/dev/null
issue_cert foreign "$W/foreign.csr" "$W/foreign.pem"
got=$(call renewCertificate "$(signed_renew "$W/r1.key" "$W/foreign.pem" "$C2" "Renew Oy" "$W/n1.csr")")
expect_result "certificate not issued by the service" "$got" FAIL CERT_UNKNOWN
got=$(call renewCertificate "$(signed_renew "$W/r1.key" "$W/r1.pem" "$C1" "Renew Oy" "$W/n1.csr")")
expect_result "CustomerId other than the certificate's CN" "$got" FAIL CUSTOMER_ID
openssl req -new -key "$W/r1.key" -subj "/CN=$C2/C=FI" -outform DER -out "$W/samekey.csr" 2>/dev/null
got=$(call renewCertificate "$(signed_renew "$W/r1.key" "$W/r1.pem" "$C2" "Renew Oy" "$W/samekey.csr")")
expect_result "new CSR with the current key" "$got" FAIL KEY_NOT_NEW
got=$(call renewCertificate "$(signed_renew "$W/r1.key" "$W/r1.pem" "$C2" "Renew Oy" "$W/r3072.csr")")
expect_result "new CSR with an RSA-3072 key" "$got" FAIL CSR_KEY

# Outside the window: the 2-year certificate from signNewCertificate; the sim clock moves the window.
new_csr n2 rsa:2048 "/CN=$C1/C=FI"
got=$(call renewCertificate "$(signed_renew "$W/c1.key" "$W/c1.pem" "$C1" "Testi Oy" "$W/n2.csr")")
expect_result "2-year certificate, renewal today" "$got" FAIL TOO_EARLY
expect_match "  says from when" "$(value ErrorMessage)" 'renewal is possible from'
simpost config "{\"clock_offset_s\":$((730 * DAY - 61 * DAY))}" >/dev/null
got=$(call renewCertificate "$(signed_renew "$W/c1.key" "$W/c1.pem" "$C1" "Testi Oy" "$W/n2.csr")")
expect_result "  sim clock 61 days before expiry" "$got" FAIL TOO_EARLY
simpost config "{\"clock_offset_s\":$((730 * DAY - 50 * DAY))}" >/dev/null
got=$(call renewCertificate "$(signed_renew "$W/c1.key" "$W/c1.pem" "$C1" "Testi Oy" "$W/n2.csr")")
expect_result "  sim clock 50 days before expiry" "$got" OK
simpost config "{\"clock_offset_s\":$((731 * DAY))}" >/dev/null
got=$(call renewCertificate "$(signed_renew "$W/c1.key" "$W/c1.pem" "$C1" "Testi Oy" "$W/n2.csr")")
expect_result "  sim clock a day after expiry" "$got" FAIL CERT_EXPIRED
expect_eq "clock_offset_s back to 0" "$(simpost config '{"clock_offset_s":0}')" 200
expect_eq "  answers the settings" "$(jq -c . "$W/body")" \
    "{\"cert_lifetime_s\":$((730 * DAY)),\"not_ready_polls\":0,\"fail_polls\":0,\"clock_offset_s\":0,\"tamper_responses\":0,\"extra_errors\":[]}"
# An expired certificate from `issue`.
new_csr old rsa:2048 "/CN=$C2/C=FI"
check "issue an expired certificate" sim issue --state "$S" --csr "$W/old.csr" --customer-id "$C2" --out "$W/old.pem" \
    --lifetime-s "$DAY" --not-before-offset-s $((-2 * DAY))
got=$(call renewCertificate "$(signed_renew "$W/old.key" "$W/old.pem" "$C2" "Renew Oy" "$W/n1.csr")")
expect_result "expired certificate" "$got" FAIL CERT_EXPIRED
check_exit 1 "issue refuses an EC CSR" sim issue --state "$S" --csr "$W/ec.csr" --customer-id "$C2" --out "$W/x.pem"

# --- /sim/config ----------------------------------------------------------------------------
expect_eq "cert_lifetime_s 1 hour" "$(simpost config '{"cert_lifetime_s":3600}')" 200
simpost transfers "{\"customer_id\":\"$C1\"}" >/dev/null
T5=$(jq -r .transfer_id "$W/body") P5=$(jq -r .password "$W/body")
expect_result "  signNewCertificate" "$(call signNewCertificate "$(sign_new_el "$C1" "$T5" "$P5" "$W/c1b.csr")")" OK
get_cert "$C1" "$(value RetrievalId)" "$W/short.der"
expect_eq "  the certificate is valid 1 hour" \
    "$(( $(epoch "$W/short.der" enddate DER) - $(epoch "$W/short.der" startdate DER) ))" 3600
expect_eq "config: unknown member" "$(simpost config '{"lifetime":1}')" 400
expect_eq "config: negative polls" "$(simpost config '{"not_ready_polls":-1}')" 400
expect_eq "config: not JSON" "$(simpost config 'x')" 400
expect_eq "transfers: no customer_id" "$(simpost transfers '{"days":3}')" 400
expect_eq "unknown /sim/ endpoint" "$(curl -sS -o /dev/null -w '%{http_code}' "${TLS[@]}" "${SIM_URL}nope")" 404

# --- restart: the state survives -------------------------------------------------------------
counts=$(simget counts | jq -c .)
stop_sim
[ ! -e "$W/sim-ready.json" ] && pass "ready file removed at exit" || fail "ready file removed at exit"
start_sim "$S" --not-ready-polls 1 --cert-lifetime-s $((365 * DAY))
expect_eq "counts survive a restart" "$(simget counts | jq -c .)" "$counts"
expect_eq "  --not-ready-polls, --cert-lifetime-s" "$(simget config | jq -c '[.not_ready_polls, .cert_lifetime_s]')" \
    "[1,$((365 * DAY))]"
got=$(call signNewCertificate "$(sign_new_el "$C1" "$T1" "$P1" "$W/c1.csr" "Testi Oy")")
expect_result "the used transfer stays used" "$got" FAIL TRANSFER_USED
get_cert "$C1" "$RID1B" "$W/c1b.der"
expect_eq "  a retrieval from before the restart: not ready once" "$(has_cert "$W/c1b.der")" no
get_cert "$C1" "$RID1B" "$W/c1b.der"
expect_eq "  then its Certificate" "$(has_cert "$W/c1b.der")" yes
expect_eq "  for the CSR's key" "$(pubkey_of x509 "$W/c1b.der" DER)" "$(pubkey_of req "$W/c1b.csr" DER)"
stop_sim

# --- PRODUCTION environment ----------------------------------------------------------------------
start_sim "$S" --environment PRODUCTION
expect_eq "/sim/health" "$(simget health | jq -r .environment)" PRODUCTION
got=$(call signNewCertificate "$(sign_new_el "$C1" "$T4" "$P4" "$W/c1b.csr" "" TEST)")
expect_result "a TEST request on the PRODUCTION service" "$got" FAIL ENVIRONMENT
stop_sim
finish
