# SPDX-License-Identifier: Apache-2.0
# B-T stamps: an identity with a timestamp_authority (an rfc3161 authority
# on tests/sim/tsa_sim.py, openssl ts -reply) stamps detached CAdES and
# PAdES with the signature-time-stamp unsigned attribute over the
# signature value, from the CSC v2 simulator's seal. The token verifies
# with openssl ts -verify against that signature value (and not against a
# changed one), the CMS with openssl cms -verify, the PDF with pdfsig and
# qpdf; ?level= cannot lower or raise the identity's level; a TSA that
# fails or is slow fails the stamp with 502/504, audited, never a B-B.
. "$SG_SRCDIR/tests/integration/lib.sh"
need_tools qpdf pdfsig certutil openssl
W=$SG_WORK
CSCPY="$SG_SRCDIR/tests/sim/csc_sim.py"
TSAPY="$SG_SRCDIR/tests/sim/tsa_sim.py"
PDFTOOL="$SG_SRCDIR/tests/integration/pdf-tool.py"
SIM=$W/sim
TSA=$W/tsa
gateway_fixture
python3 "$CSCPY" init --state "$SIM" >/dev/null || { echo "Bail out! csc_sim init"; exit 1; }
python3 "$TSAPY" init --state "$TSA" >/dev/null || { echo "Bail out! tsa_sim init"; exit 1; }
csc_interface dvv-interface
csc_interface dvv-interface-bb
start_sim_serve simulator "$W/sim.json" python3 "$CSCPY" "$SIM" --no-request-signature
CSC_PID=$SIM_PID
start_sim_serve tsa_sim "$W/tsa.json" python3 "$TSAPY" "$TSA"
fault() { curl -sS -o /dev/null -w '%{http_code}' --cacert "$TSA/server-ca.pem" \
    -H 'Content-Type: application/json' --data-binary "$1" "$(jq -r .sim_url "$W/tsa.json")fault"; }
jq --arg url "$(jq -r .url "$W/sim.json")" --arg ca "$SIM/server-ca.pem" \
    --arg tsa_url "$(jq -r .url "$W/tsa.json")" --arg tsa_ca "$TSA/server-ca.pem" --arg tsa_signer "$TSA/tsa-ca.pem" '
    .authorities["dvv-stamp"] = {type: "csc-v2", url: $url, ca_file: $ca, credential_id: "org-stamp-1",
        timeout_ms: 5000, retries: 1} |
    .authorities.tsa = {type: "rfc3161", url: $tsa_url, ca_file: $tsa_ca, tsa_ca_file: $tsa_signer, timeout_ms: 1500} |
    .identities += [{name: "dvv-interface", key_label: "dvv-interface", authority: "dvv-stamp", uses: ["stamp"],
            timestamp_authority: "tsa"},
        {name: "dvv-interface-bb", key_label: "dvv-interface-bb", authority: "dvv-stamp", uses: ["stamp"]}] |
    (.clients[] | select(.name == "billing") | .identities) += ["dvv-interface", "dvv-interface-bb"]' \
    "$W/sealgate.json" > "$W/c.json" && mv "$W/c.json" "$W/sealgate.json"
jq '.identities[-1].timestamp_authority = "dvv-stamp"' "$W/sealgate.json" > "$W/bad.json"
check_exit 1 "--check-config: a timestamp_authority that is not rfc3161" \
    sealgated --check-config --config "$W/bad.json"
expect_match "  named by its JSON path" "$(cat "$W/last.err")" 'timestamp_authority.*rfc3161'
start_gateway
AUTH=(-H "Authorization: Bearer $(cat "$W/billing.token")")
mkdir -p "$W/nss"
certutil -N -d "sql:$W/nss" --empty-password >/dev/null 2>&1
certutil -A -d "sql:$W/nss" -n stamp-ca -t "CT,C,C" -a -i "$SIM/stamp-ca.pem" >/dev/null 2>&1

stamp() {  # IDENTITY QUERY FILE OUT → status
    curl -sS -o "$4" -w '%{http_code}' "${AUTH[@]}" -H 'Content-Type: application/pdf' \
        --data-binary @"$3" "$GW_URL/v1/stamp?identity=$1$2"
}
# check_tst NAME CMS: its signature time-stamp verifies over its signature
# value against the TSA CA, and not over a changed value.
check_tst() {
    check "$1: the CMS carries a signature-time-stamp" python3 "$PDFTOOL" tst "$2" "$W/tst.der" "$W/sigvalue.bin"
    check "$1: openssl ts -verify over the signature value" openssl ts -verify -token_in -in "$W/tst.der" \
        -data "$W/sigvalue.bin" -CAfile "$TSA/tsa-ca.pem"
    cp "$W/sigvalue.bin" "$W/sigvalue2.bin"
    printf '\001' | dd of="$W/sigvalue2.bin" bs=1 seek=17 conv=notrunc 2>/dev/null
    check_exit 1 "$1: not over a changed signature value" openssl ts -verify -token_in -in "$W/tst.der" \
        -data "$W/sigvalue2.bin" -CAfile "$TSA/tsa-ca.pem"
    check_exit 1 "$1: nor against another CA" openssl ts -verify -token_in -in "$W/tst.der" \
        -data "$W/sigvalue.bin" -CAfile "$SIM/stamp-ca.pem"
}
tst_serial() { openssl ts -reply -token_in -in "$W/tst.der" -token_out -text 2>/dev/null |
    sed -n 's/^Serial number: 0x//p' | tr 'A-F' 'a-f' | sed 's/^0*//'; }

# CAdES-B-T.
head -c 100000 /dev/urandom > "$W/doc.bin"
expect_eq "CAdES stamp with the B-T identity" "$(stamp dvv-interface "" "$W/doc.bin" "$W/body")" 200
expect_eq "  format cades-b-t" "$(jq -r .format "$W/body")" cades-b-t
jq -r .cms "$W/body" | base64 -d > "$W/doc.p7s"
check "  openssl cms -verify accepts it" openssl cms -verify -binary -inform DER -in "$W/doc.p7s" \
    -content "$W/doc.bin" -CAfile "$SIM/stamp-ca.pem" -out /dev/null
check_tst CAdES "$W/doc.p7s"
expect_match "  openssl reads the token's serial" "$(tst_serial)" '^[0-9a-f]+$'
expect_eq "  tst_serial is the token's" "$(jq -r .tst_serial "$W/body" | sed 's/^0*//')" "$(tst_serial)"
expect_eq "  audited as b-t with the token's serial" \
    "$(audit_last stamp level) $(audit_last stamp tst_serial | sed 's/^0*//')" "b-t $(tst_serial)"
expect_eq "?level=b-t on the B-T identity" "$(stamp dvv-interface "&level=b-t" "$W/doc.bin" "$W/body")" 200
expect_error "?level=b-b on the B-T identity" 400 invalid_request "$(stamp dvv-interface "&level=b-b" "$W/doc.bin" "$W/body")"
expect_match "  says why" "$(jq -r .error_description "$W/body")" 'b-t only'
expect_error "?level=b-t on an identity without a TSA" 400 invalid_request \
    "$(stamp dvv-interface-bb "&level=b-t" "$W/doc.bin" "$W/body")"
expect_error "?level=unknown" 400 invalid_request "$(stamp dvv-interface-bb "&level=lt" "$W/doc.bin" "$W/body")"
expect_eq "the other identity stamps B-B" "$(stamp dvv-interface-bb "" "$W/doc.bin" "$W/body")" 200
expect_eq "  format cades-b-b" "$(jq -r .format "$W/body")" cades-b-b
jq -r .cms "$W/body" | base64 -d > "$W/bb.p7s"
check_exit 1 "  without a signature time-stamp" python3 "$PDFTOOL" tst "$W/bb.p7s" "$W/x" "$W/y"

# PAdES-B-T.
check "a PDF with a form" python3 "$PDFTOOL" form "$W/in.pdf"
expect_eq "PAdES stamp with the B-T identity" "$(stamp dvv-interface "&format=pades" "$W/in.pdf" "$W/out.pdf")" 200
check "  the original is the exact prefix" cmp -n "$(stat -c %s "$W/in.pdf")" "$W/in.pdf" "$W/out.pdf"
check "  qpdf --check" qpdf --check "$W/out.pdf"
info=$(pdfsig -nssdir "sql:$W/nss" "$W/out.pdf" 2>&1)
expect_match "  pdfsig: valid" "$info" 'Signature is Valid'
expect_match "  pdfsig: trusted" "$info" 'Certificate is Trusted'
expect_match "  pdfsig: the whole document" "$info" 'Total document signed'
python3 "$PDFTOOL" signature "$W/out.pdf" "$W/sig.der" "$W/signed.bin" >/dev/null
check "  openssl cms -verify over the byte ranges" openssl cms -verify -binary -inform DER -in "$W/sig.der" \
    -content "$W/signed.bin" -CAfile "$SIM/stamp-ca.pem" -purpose any -out /dev/null
check_tst PAdES "$W/sig.der"
expect_eq "  audited as pades b-t with the token's serial" \
    "$(audit_last stamp format) $(audit_last stamp level) $(audit_last stamp tst_serial | sed 's/^0*//')" \
    "pades b-t $(tst_serial)"
expect_error "PAdES ?level=b-b on the B-T identity" 400 invalid_request \
    "$(stamp dvv-interface "&format=pades&level=b-b" "$W/in.pdf" "$W/body")"

# A batch of the B-T identity: each CMS gets its own time-stamp.
batch() {  # FILE... → status, answer in $W/body
    local f sep="" body='{"identity":"dvv-interface","digests":['
    for f in "$@"; do
        body+="$sep{\"alg\":\"sha256\",\"value\":\"$(openssl dgst -sha256 -binary "$f" | base64 -w0)\"}"; sep=,
    done
    curl -sS -o "$W/body" -w '%{http_code}' "${AUTH[@]}" -H 'Content-Type: application/json' \
        --data "$body]}" "$GW_URL/v1/stamp/batch"
}
printf 'first' > "$W/b1"
printf 'second' > "$W/b2"
n=$(audit_entries stamp)
expect_eq "a batch of two with the B-T identity" "$(batch "$W/b1" "$W/b2")" 200
expect_eq "  both cades-b-t" "$(jq -r '[.stamps[].format] | join(" ")' "$W/body")" "cades-b-t cades-b-t"
cp "$W/body" "$W/batch.json"
for i in 1 2; do
    jq -r ".stamps[$((i - 1))].cms" "$W/batch.json" | base64 -d > "$W/b$i.p7s"
    check "  stamp $i: openssl cms -verify" openssl cms -verify -binary -inform DER -in "$W/b$i.p7s" \
        -content "$W/b$i" -CAfile "$SIM/stamp-ca.pem" -out /dev/null
    check_tst "  stamp $i" "$W/b$i.p7s"
    expect_eq "  stamp $i: tst_serial is its token's" \
        "$(jq -r ".stamps[$((i - 1))].tst_serial" "$W/batch.json" | sed 's/^0*//')" "$(tst_serial)"
done
expect_eq "  two stamp entries, the last b-t with its token's serial" \
    "$(audit_entries stamp) $(audit_last stamp level) $(audit_last stamp tst_serial | sed 's/^0*//')" \
    "$((n + 2)) b-t $(tst_serial)"
expect_error "  ?level=b-b on the batch is refused" 400 invalid_request \
    "$(curl -sS -o "$W/body" -w '%{http_code}' "${AUTH[@]}" -H 'Content-Type: application/json' \
        --data '{"identity":"dvv-interface","digests":[{"alg":"sha256","value":"'"$(openssl dgst -sha256 -binary "$W/b1" | base64 -w0)"'"}]}' \
        "$GW_URL/v1/stamp/batch?level=b-b")"

# A TSA that fails or is slow fails the stamp; nothing lower is answered.
tsa_fault() {  # FAULT STATUS CODE
    local n
    expect_eq "TSA fault $1: set" "$(fault "{\"fault\":\"$1\",\"delay_ms\":4000}")" 200
    n=$(audit_entries stamp)
    expect_error "CAdES with TSA fault $1" "$2" "$3" "$(stamp dvv-interface "" "$W/doc.bin" "$W/body")"
    expect_error "PAdES with TSA fault $1" "$2" "$3" "$(stamp dvv-interface "&format=pades" "$W/in.pdf" "$W/body")"
    expect_eq "  both audited as errors" "$(audit_entries stamp) $(audit_last stamp outcome)" "$((n + 2)) error"
    expect_eq "  after the seal service signed" "$(audit_last stamp authority_signed)" true
    expect_error "a batch with TSA fault $1" "$2" "$3" "$(batch "$W/b1" "$W/b2")"
    expect_eq "  both of its entries errors, after the service signed" \
        "$(audit_entries stamp) $(audit_last stamp outcome) $(audit_last stamp authority_signed)" "$((n + 4)) error true"
}
tsa_fault reject 502 authority_error
tsa_fault wrong-nonce 502 authority_error
tsa_fault untrusted 502 authority_error
tsa_fault slow 504 authority_timeout
expect_eq "TSA fault none" "$(fault '{"fault":"none"}')" 200
expect_eq "B-T again after the faults" "$(stamp dvv-interface "&format=pades" "$W/in.pdf" "$W/out.pdf")" 200
stop_gateway
check "chain verifies" audit_verify "$W/audit"
end_sim
SIM_PID=$CSC_PID
end_sim
finish
