# SPDX-License-Identifier: Apache-2.0
# POST /v1/stamp?format=asice end to end against the CSC v2 simulator
# (tests/sim/csc_sim.py) and the RFC 3161 simulator (tests/sim/tsa_sim.py):
# the container lists mimetype first, stored, without an extra field, its
# media type at byte 38; xmllint reads the manifest and the signature;
# xmlsec1 verifies META-INF/signatures0.xml with the stamp CA trusted and
# every data object's digest checked, and fails for a changed byte in a
# data object, in SignedProperties or in the SignatureValue; a B-T
# signature's time-stamp verifies with openssl ts -verify over the
# canonical SignatureValue (built here by hand) against the TSA CA; bad
# names, duplicates, empty sets, too many or too large files and levels
# the identity does not offer are clear 4xx; a failing or slow TSA fails
# the stamp (502/504); one stamp audit entry per container.
. "$SG_SRCDIR/tests/integration/lib.sh"
W=$SG_WORK
PY=${SG_PYTHON:-python3}
need_python "$PY" cryptography python3-cryptography
need_tools openssl curl jq xmlsec1 xmllint unzip zipinfo
CSC=$SG_SRCDIR/tests/sim/csc_sim.py
TSA=$SG_SRCDIR/tests/sim/tsa_sim.py
SIM=$W/sim
S=$W/tsa
gateway_fixture
"$PY" "$CSC" init --state "$SIM" >/dev/null || { echo "Bail out! csc_sim init"; exit 1; }
"$PY" "$TSA" init --state "$S" >/dev/null || { echo "Bail out! tsa_sim init"; exit 1; }
csc_interface dvv-interface
csc_interface dvv-interface-bt
start_sim_serve simulator "$W/sim.json" "$PY" "$CSC" "$SIM"
CSC_PID=$SIM_PID
SIM_URL=$(jq -r .url "$W/sim.json")
SIM_ROOT=${SIM_URL%/csc/v2/}
start_sim_serve tsa_sim "$W/tsa.json" "$PY" "$TSA" "$S"
TSA_URL=$(jq -r .url "$W/tsa.json")
TSA_SIM_URL=$(jq -r .sim_url "$W/tsa.json")
jq --arg url "$SIM_URL" --arg ca "$SIM/server-ca.pem" --arg turl "$TSA_URL" \
    --arg tca "$S/server-ca.pem" --arg tsaca "$S/tsa-ca.pem" '
    .limits.max_document_bytes = 4194304 |
    .authorities["dvv-stamp"] = {type: "csc-v2", url: $url, ca_file: $ca, credential_id: "org-stamp-1",
        sign_request_body: true, timeout_ms: 2000, retries: 1} |
    .authorities.tsa = {type: "rfc3161", url: $turl, ca_file: $tca, tsa_ca_file: $tsaca, timeout_ms: 1500} |
    .identities += [{name: "dvv-interface", key_label: "dvv-interface", authority: "dvv-stamp", uses: ["stamp"]},
        {name: "dvv-interface-bt", key_label: "dvv-interface-bt", authority: "dvv-stamp", uses: ["stamp"],
         timestamp_authority: "tsa"}] |
    (.clients[] | select(.name == "billing") | .identities) += ["dvv-interface", "dvv-interface-bt"]' \
    "$W/sealgate.json" > "$W/c.json" && mv "$W/c.json" "$W/sealgate.json"
start_gateway
AUTH=(-H "Authorization: Bearer $(cat "$W/billing.token")")
simcount() { curl -sS --cacert "$SIM/server-ca.pem" "$SIM_ROOT/sim/counts?month=$(date -u +%Y-%m)" |
    jq '.counts["org-stamp-1"] // 0'; }
tsa_fault() { curl -sS -o /dev/null -w '%{http_code}' --cacert "$S/server-ca.pem" \
    -H 'Content-Type: application/json' --data-binary "$1" "${TSA_SIM_URL}fault"; }

printf 'Decision 2026/41: the permit is granted.\n' > "$W/decision.txt"
head -c 300000 /dev/urandom > "$W/annex.bin"

# asic QUERY [curl args] → status; the answer in $W/out.asice (or $W/body).
asic() {
    local q=$1; shift
    curl -sS -o "$W/out.asice" -w '%{http_code}' "${AUTH[@]}" "$@" "$GW_URL/v1/stamp?format=asice&$q"
}
# asic_error WHAT STATUS CODE QUERY [curl args]: a refusal with a JSON body.
asic_error() {
    local what=$1 status=$2 code=$3; shift 3
    local got
    got=$(asic "$@")
    cp "$W/out.asice" "$W/body"
    expect_error "$what" "$status" "$code" "$got"
}
XADES_ID=(--id-attr:Id "http://uri.etsi.org/01903/v1.3.2#:SignedProperties")
# verify DIR: xmlsec1 over DIR/META-INF/signatures0.xml, the Reference
# URIs resolved in DIR (the container's root), the stamp CA trusted.
verify() {
    (cd "$1" && xmlsec1 --verify --trusted-pem "$SIM/stamp-ca.pem" "${XADES_ID[@]}" \
        META-INF/signatures0.xml) > "$W/verify.out" 2>&1
}
extract() {  # CONTAINER DIR
    rm -rf "$2" && mkdir -p "$2" && unzip -q "$1" -d "$2"
}
# The bytes of a file from offset $2, $3 of them.
bytes() { dd if="$1" bs=1 skip="$2" count="$3" status=none; }

# One file as the raw body, named by ?filename=.
before=$(simcount)
expect_eq "one file as the body" "$(asic 'identity=dvv-interface&filename=decision.txt' \
    -H 'Content-Type: text/plain' --data-binary @"$W/decision.txt" -D "$W/headers")" 200
expect_match "  answered as an ASiC-E container" "$(cat "$W/headers")" \
    'Content-Type: application/vnd.etsi.asic-e\+zip'
expect_eq "  one signHash at the seal service" "$(( $(simcount) - before ))" 1
check "  unzip -t finds every entry intact" unzip -tq "$W/out.asice"
expect_eq "  zipinfo lists mimetype first" "$(zipinfo -1 "$W/out.asice" | head -n1)" mimetype
expect_eq "  and the entries" "$(zipinfo -1 "$W/out.asice" | tr '\n' ' ')" \
    "mimetype decision.txt META-INF/manifest.xml META-INF/signatures0.xml "
expect_match "  mimetype is stored" "$(unzip -Z -v "$W/out.asice" mimetype)" 'compression method: +none \(stored\)'
expect_match "  with no extra field in the central directory" "$(unzip -Z -v "$W/out.asice" mimetype)" \
    'length of extra field: +0 bytes'
expect_eq "  nor in its local header (bytes 28-29)" "$(od -An -tu2 -j28 -N2 "$W/out.asice" | tr -d ' ')" 0
expect_eq "  its name at byte 30" "$(bytes "$W/out.asice" 30 8)" mimetype
expect_eq "  the media type at byte 38" "$(bytes "$W/out.asice" 38 31)" application/vnd.etsi.asic-e+zip
expect_eq "  unzip -p mimetype" "$(unzip -p "$W/out.asice" mimetype)" application/vnd.etsi.asic-e+zip
extract "$W/out.asice" "$W/one"
check "  the data object is the file" cmp "$W/one/decision.txt" "$W/decision.txt"
check "  xmllint reads the manifest" xmllint --noout "$W/one/META-INF/manifest.xml"
expect_eq "  the manifest lists the container and the file" \
    "$(xmllint --xpath '//*[local-name()="file-entry"]/@*[local-name()="full-path"]' \
        "$W/one/META-INF/manifest.xml" | tr -s ' \n' ' ' | sed 's/^ //; s/ $//')" \
    'manifest:full-path="/" manifest:full-path="decision.txt"'
expect_eq "  with the file's media type" "$(xmllint --xpath \
    'string(//*[local-name()="file-entry"][@*[local-name()="full-path"]="decision.txt"]/@*[local-name()="media-type"])' \
    "$W/one/META-INF/manifest.xml")" text/plain
check "  xmllint reads the signature" xmllint --noout "$W/one/META-INF/signatures0.xml"
check "  xmlsec1 verifies it with the stamp CA" verify "$W/one"
expect_match "  every Reference checked" "$(cat "$W/verify.out")" 'SignedInfo References \(ok/all\): 2/2'
sig=$W/one/META-INF/signatures0.xml
xp() { xmllint --xpath "$1" "$sig"; }
expect_eq "  the data object's Reference is by its name, SHA-256" \
    "$(xp 'string(//*[local-name()="Reference"][1]/@URI)') $(xp 'string(//*[local-name()="Reference"][1]/*[local-name()="DigestValue"])')" \
    "decision.txt $(openssl dgst -sha256 -binary "$W/decision.txt" | base64 -w0)"
expect_eq "  one Reference to SignedProperties" \
    "$(xp 'count(//*[local-name()="Reference"][@Type="http://uri.etsi.org/01903#SignedProperties"])')" 1
expect_match "  SigningTime is a UTC time" "$(xp 'string(//*[local-name()="SigningTime"])')" \
    '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$'
xp 'string(//*[local-name()="X509Certificate"][1])' | base64 -d > "$W/keyinfo.der"
expect_eq "  KeyInfo holds the stamp certificate" \
    "$(openssl x509 -inform DER -in "$W/keyinfo.der" -noout -fingerprint -sha256)" \
    "$(openssl x509 -in "$SIM/stamp.pem" -noout -fingerprint -sha256)"
expect_eq "  SigningCertificateV2 names it by its SHA-256" \
    "$(xp 'string(//*[local-name()="CertDigest"]/*[local-name()="DigestValue"])')" \
    "$(openssl dgst -sha256 -binary "$W/keyinfo.der" | base64 -w0)"
expect_match "  and by issuer and serial" \
    "$(xp 'string(//*[local-name()="IssuerSerialV2"])' | base64 -d | openssl asn1parse -inform DER)" \
    "INTEGER +:$(openssl x509 -in "$SIM/stamp.pem" -noout -serial | cut -d= -f2)"
expect_eq "  no time-stamp at level B-B" "$(xp 'count(//*[local-name()="SignatureTimeStamp"])')" 0
expect_eq "  audited: one stamp entry, format and level" \
    "$(audit_last stamp outcome) $(audit_last stamp format) $(audit_last stamp level) $(audit_last stamp documents)" \
    "ok asice b-b 1"
expect_match "  with the hash the seal service signed" "$(audit_last stamp digest)" '^sha256:[0-9a-f]{64}$'

# A changed byte anywhere fails the check.
cp -r "$W/one" "$W/t1"; printf 'd' | dd of="$W/t1/decision.txt" bs=1 seek=0 conv=notrunc status=none
check_exit 1 "  a changed byte in the data object fails" verify "$W/t1"
cp -r "$W/one" "$W/t2"; sed -i 's|<xades:SigningTime>\(....\)|<xades:SigningTime>1999|' "$W/t2/META-INF/signatures0.xml"
check_exit 1 "  a changed SigningTime (SignedProperties) fails" verify "$W/t2"
cp -r "$W/one" "$W/t3"
sv=$(xmllint --xpath 'string(//*[local-name()="SignatureValue"])' "$sig")
first=${sv:0:1}; [ "$first" = A ] && other=B || other=A
sed -i "s|Id=\"S0-SIG\">$first|Id=\"S0-SIG\">$other|" "$W/t3/META-INF/signatures0.xml"
check_exit 1 "  a changed SignatureValue fails" verify "$W/t3"
check_exit 1 "  another CA does not vouch for it" \
    sh -c "cd '$W/one' && xmlsec1 --verify --trusted-pem '$W/ca-gw.pem' ${XADES_ID[*]} META-INF/signatures0.xml"

# Several files as multipart/form-data, one part each.
cp "$W/decision.txt" "$W/päätös.txt"
expect_eq "three files as multipart/form-data" "$(asic 'identity=dvv-interface' \
    -F "a=@$W/decision.txt;type=text/plain" -F "b=@$W/annex.bin;filename=annex.bin" \
    -F "c=@$W/päätös.txt;type=text/plain")" 200
expect_eq "  the entries in order" "$(zipinfo -1 "$W/out.asice" | tr '\n' ' ')" \
    "mimetype decision.txt annex.bin päätös.txt META-INF/manifest.xml META-INF/signatures0.xml "
extract "$W/out.asice" "$W/three"
check "  annex.bin is the file" cmp "$W/three/annex.bin" "$W/annex.bin"
check "  päätös.txt is the file" cmp "$W/three/päätös.txt" "$W/päätös.txt"
check "  xmlsec1 verifies the signature" verify "$W/three"
expect_match "  all four References checked" "$(cat "$W/verify.out")" 'SignedInfo References \(ok/all\): 4/4'
expect_eq "  a non-ASCII name is percent-encoded in its Reference" \
    "$(xmllint --xpath 'string(//*[local-name()="Reference"][3]/@URI)' "$W/three/META-INF/signatures0.xml")" \
    'p%C3%A4%C3%A4t%C3%B6s.txt'
expect_eq "  a DataObjectFormat per file, with its media type" \
    "$(xmllint --xpath 'string(//*[local-name()="DataObjectFormat"][@ObjectReference="#S0-RefId1"]/*[local-name()="MimeType"])' \
        "$W/three/META-INF/signatures0.xml")" application/octet-stream
expect_eq "  audited with three documents" "$(audit_last stamp documents)" 3
cp -r "$W/three" "$W/t4"; printf 'X' | dd of="$W/t4/annex.bin" bs=1 seek=150000 conv=notrunc status=none
check_exit 1 "  a changed byte in the middle file fails" verify "$W/t4"
cp -r "$W/three" "$W/t5"; printf '!' >> "$W/t5/päätös.txt"
check_exit 1 "  a byte added to the last file fails" verify "$W/t5"

# B-T: the identity names a timestamp_authority.
expect_eq "B-T: a file with the time-stamping identity" "$(asic 'identity=dvv-interface-bt&filename=decision.txt' \
    -H 'Content-Type: text/plain' --data-binary @"$W/decision.txt")" 200
extract "$W/out.asice" "$W/bt"
sig=$W/bt/META-INF/signatures0.xml
check "  xmlsec1 verifies the signature" verify "$W/bt"
expect_eq "  one SignatureTimeStamp" "$(xp 'count(//*[local-name()="UnsignedSignatureProperties"]/*[local-name()="SignatureTimeStamp"])')" 1
xp 'string(//*[local-name()="EncapsulatedTimeStamp"])' | base64 -d > "$W/tst.der"
# The exclusive canonical form of ds:SignatureValue, written out by hand:
# its namespace declared on it, its one attribute, its text.
printf '<ds:SignatureValue xmlns:ds="http://www.w3.org/2000/09/xmldsig#" Id="%s">%s</ds:SignatureValue>' \
    "$(xp 'string(//*[local-name()="SignatureValue"]/@Id)')" "$(xp 'string(//*[local-name()="SignatureValue"])')" \
    > "$W/sv.c14n"
check "  openssl ts -verify: the token covers the canonical SignatureValue" \
    openssl ts -verify -token_in -in "$W/tst.der" -data "$W/sv.c14n" -CAfile "$S/tsa-ca.pem"
sed 's/>\(.\)/>\1\1/' "$W/sv.c14n" > "$W/sv2.c14n"
check_exit 1 "  not a changed SignatureValue" \
    openssl ts -verify -token_in -in "$W/tst.der" -data "$W/sv2.c14n" -CAfile "$S/tsa-ca.pem"
check_exit 1 "  not against another CA" \
    openssl ts -verify -token_in -in "$W/tst.der" -data "$W/sv.c14n" -CAfile "$S/rogue-ca.pem"
text=$(openssl ts -reply -token_in -in "$W/tst.der" -text 2>/dev/null)
oserial=$(printf '%s\n' "$text" | sed -n 's/^Serial number: 0x//p' | tr 'A-F' 'a-f' | sed 's/^0*//')
expect_eq "  audited: level b-t with the token's serial" \
    "$(audit_last stamp level) $(audit_last stamp tst_serial | sed 's/^0*//')" "b-t $oserial"
expect_eq "  ?level=b-t is accepted there" "$(asic 'identity=dvv-interface-bt&filename=a.txt&level=b-t' \
    --data-binary @"$W/decision.txt")" 200
asic_error "  ?level=b-b is refused there" 400 invalid_request 'identity=dvv-interface-bt&filename=a.txt&level=b-b' \
    --data-binary @"$W/decision.txt"
expect_eq "a detached CAdES stamp of that identity is B-T too" \
    "$(curl -sS "${AUTH[@]}" --data-binary @"$W/decision.txt" \
        "$GW_URL/v1/stamp?identity=dvv-interface-bt" | jq -r .format)" cades-b-t
asic_error "?level=b-t on an identity without a timestamp_authority" 400 invalid_request \
    'identity=dvv-interface&filename=a.txt&level=b-t' --data-binary @"$W/decision.txt"
expect_eq "  a refusal before signing does not say so" "$(audit_last stamp authority_signed)" null
asic_error "?level= of another value" 400 invalid_request 'identity=dvv-interface&filename=a.txt&level=b-lt' \
    --data-binary @"$W/decision.txt"

# A TSA that fails fails the stamp: never a container without its time-stamp.
n=$(audit_entries stamp)
expect_eq "TSA fault reject: set" "$(tsa_fault '{"fault":"reject"}')" 200
asic_error "  a refusing TSA fails the stamp" 502 authority_error 'identity=dvv-interface-bt&filename=a.txt' \
    --data-binary @"$W/decision.txt"
expect_eq "  audited as an error of the TSA" \
    "$(audit_entries stamp) $(audit_last stamp outcome) $(audit_last stamp authority)" "$((n + 1)) error tsa"
expect_eq "  which says the seal service signed (its count moved)" "$(audit_last stamp authority_signed)" true
expect_eq "TSA fault slow: set" "$(tsa_fault '{"fault":"slow","delay_ms":4000}')" 200
asic_error "  a slow TSA: 504" 504 authority_timeout 'identity=dvv-interface-bt&filename=a.txt' \
    --data-binary @"$W/decision.txt"
expect_eq "TSA fault none" "$(tsa_fault '{"fault":"none"}')" 200
expect_eq "  B-T again" "$(asic 'identity=dvv-interface-bt&filename=a.txt' --data-binary @"$W/decision.txt")" 200

# Bad inputs.
raw() { asic_error "$1" "$2" "$3" "identity=dvv-interface&$4" --data-binary @"$W/decision.txt"; }
raw "no ?filename=" 400 invalid_request ""
raw "a name with '/'" 400 invalid_request "filename=a%2Fb.txt"
raw "a name '..'" 400 invalid_request "filename=.."
raw "a name with a control character" 400 invalid_request "filename=a%01b"
raw "a name with a newline" 400 invalid_request "filename=a%0Ab"
raw "the name mimetype" 400 invalid_request "filename=mimetype"
raw "a name in META-INF" 400 invalid_request "filename=META-INF"
raw "a name that is not UTF-8" 400 invalid_request "filename=a%FFb"
raw "a name of 256 bytes" 400 invalid_request "filename=$(printf 'a%.0s' $(seq 256))"
expect_error "an unknown format" 400 invalid_request "$(curl -sS -o "$W/body" -w '%{http_code}' "${AUTH[@]}" \
    --data-binary @"$W/decision.txt" "$GW_URL/v1/stamp?format=xades&identity=dvv-interface")"
asic_error "an empty body" 400 invalid_request 'identity=dvv-interface&filename=a.txt' \
    -H 'Content-Type: text/plain' --data-binary @/dev/null
asic_error "JSON is not a file set" 415 unsupported_media_type 'identity=dvv-interface&filename=a.txt' \
    -H 'Content-Type: application/json' --data '{"a":1}'
asic_error "Idempotency-Key is not offered" 400 invalid_request 'identity=dvv-interface&filename=a.txt' \
    -H 'Idempotency-Key: k1' --data-binary @"$W/decision.txt"
asic_error "duplicate names" 400 invalid_request 'identity=dvv-interface' \
    -F "a=@$W/decision.txt" -F "b=@$W/annex.bin;filename=decision.txt"
expect_match "  says which" "$(jq -r .error_description "$W/body")" 'decision.txt'
asic_error "names differing only in case" 400 invalid_request 'identity=dvv-interface' \
    -F "a=@$W/decision.txt" -F "b=@$W/annex.bin;filename=DECISION.TXT"
asic_error "a part without a filename" 400 invalid_request 'identity=dvv-interface' \
    -F "a=@$W/decision.txt" -F "note=just text"
asic_error "an unsafe part name" 400 invalid_request 'identity=dvv-interface' \
    -F "a=@$W/decision.txt;filename=../evil.txt"
asic_error "an empty file part" 400 invalid_request 'identity=dvv-interface' \
    -F "a=@/dev/null;filename=empty.txt"
printf -- '--XyZ--\r\n' > "$W/nofiles.mp"
asic_error "a multipart body without files" 400 invalid_request 'identity=dvv-interface' \
    -H 'Content-Type: multipart/form-data; boundary=XyZ' --data-binary @"$W/nofiles.mp"
printf -- '--XyZ\r\nContent-Disposition: form-data; name="a"; filename="a.txt"\r\n\r\nabc' > "$W/open.mp"
asic_error "a multipart body without its closing boundary" 400 invalid_request 'identity=dvv-interface' \
    -H 'Content-Type: multipart/form-data; boundary=XyZ' --data-binary @"$W/open.mp"
asic_error "multipart without a boundary" 400 invalid_request 'identity=dvv-interface' \
    -H 'Content-Type: multipart/form-data' --data-binary @"$W/open.mp"
many=()
for i in $(seq 16); do many+=(-F "f$i=@$W/decision.txt;filename=f$i.txt"); done
asic_error "16 files" 400 invalid_request 'identity=dvv-interface' "${many[@]}"
head -c 5000000 /dev/urandom > "$W/big.bin"
asic_error "5 MB over the 4 MiB cap" 413 payload_too_large 'identity=dvv-interface&filename=big.bin' \
    --data-binary @"$W/big.bin"
expect_eq "  refusals audited" "$(cat "$W"/audit/audit-*.jsonl | jq -s '[.[] | select(.type == "stamp" and .outcome == "error")] | length >= 20')" true

# Memory: a 4 MB file is streamed to a temporary file, not held.
head -c 4000000 /dev/urandom > "$W/four.bin"
rss() { awk '/VmRSS/ {print $2}' "/proc/$GW_PID/status"; }
asic 'identity=dvv-interface&filename=warm.txt' --data-binary @"$W/decision.txt" >/dev/null
before_kb=$(rss)
expect_eq "a 4 MB file" "$(asic 'identity=dvv-interface&filename=four.bin' --data-binary @"$W/four.bin")" 200
growth=$(( $(rss) - before_kb ))
if [ "$growth" -lt 3072 ]; then pass "  RSS grew by $growth KiB for it"; else fail "  RSS grew by $growth KiB for it"; fi
extract "$W/out.asice" "$W/four"
check "  and it verifies" verify "$W/four"
check "the audit chain holds" audit_verify "$W/audit"

stop_gateway
end_sim
SIM_PID=$CSC_PID
end_sim
finish
