# SPDX-License-Identifier: Apache-2.0
# POST /v1/stamp?format=pades against the CSC v2 simulator: PDFs from
# several producers (ghostscript, qpdf with object streams, linearized, one
# with a form, one already sealed, 50 MiB) come back with the seal as an
# incremental update. Checked with tools that share no code with the
# gateway: cmp (the original is the exact prefix), qpdf --check, pdfsig
# with the stamp CA trusted in an NSS database made here (every signature
# valid, the last covering the whole file), openssl cms -verify over the
# byte ranges; a changed byte fails each. Hostile PDFs get a clear 400
# and the daemon keeps serving.
. "$SG_SRCDIR/tests/integration/lib.sh"
need_tools qpdf pdfsig certutil ps2pdf cmp
W=$SG_WORK
SIMPY="$SG_SRCDIR/tests/sim/csc_sim.py"
PDFTOOL="$SG_SRCDIR/tests/integration/pdf-tool.py"
FIELDSJQ="$SG_SRCDIR/tests/integration/pdf-fields.jq"
SIM=$W/sim
gateway_fixture
python3 "$SIMPY" init --state "$SIM" >/dev/null || { echo "Bail out! simulator init"; exit 1; }
csc_interface dvv-interface
start_sim_serve simulator "$W/sim.json" python3 "$SIMPY" "$SIM"
SIM_URL=$(jq -r .url "$W/sim.json")
SIM_ROOT=${SIM_URL%/csc/v2/}
jq --arg url "$SIM_URL" --arg ca "$SIM/server-ca.pem" '
    .limits.max_document_bytes = 67108864 |
    .authorities["dvv-stamp"] = {type: "csc-v2", url: $url, ca_file: $ca, credential_id: "org-stamp-1",
        sign_request_body: true, timeout_ms: 5000, retries: 1} |
    .identities += [{name: "dvv-interface", key_label: "dvv-interface", authority: "dvv-stamp", uses: ["stamp"]}] |
    (.clients[] | select(.name == "billing") | .identities) += ["dvv-interface"]' \
    "$W/sealgate.json" > "$W/c.json" && mv "$W/c.json" "$W/sealgate.json"
start_gateway
AUTH=(-H "Authorization: Bearer $(cat "$W/billing.token")")

# The stamp CA trusted for signing in an NSS database of the test's own.
mkdir -p "$W/nss"
certutil -N -d "sql:$W/nss" --empty-password >/dev/null 2>&1
certutil -A -d "sql:$W/nss" -n stamp-ca -t "CT,C,C" -a -i "$SIM/stamp-ca.pem" >/dev/null 2>&1 ||
    { echo "Bail out! certutil"; exit 1; }

seal_pdf() {  # IN OUT [curl args] → status; the answer in OUT
    local in=$1 out=$2; shift 2
    curl -sS -o "$out" -w '%{http_code} %{content_type}' "${AUTH[@]}" -H 'Content-Type: application/pdf' \
        --data-binary @"$in" "$@" "$GW_URL/v1/stamp?identity=dvv-interface&format=pades"
}

# check_sealed NAME IN OUT SIGS [TRUSTED]: the checks every sealed PDF
# must pass. TRUSTED (default SIGS): how many certificates pdfsig calls
# trusted. Poppler 22.12 reports "Unknown issue with Certificate" for a
# second signature whose CMS carries the same chain as the first; that
# chain is checked with openssl below instead.
check_sealed() {
    local name=$1 in=$2 out=$3 sigs=$4 trusted=${5:-$4} info
    check "$name: the original is the exact prefix" cmp -n "$(stat -c %s "$in")" "$in" "$out"
    expect_eq "$name: the answer is longer" "$(( $(stat -c %s "$out") > $(stat -c %s "$in") ))" 1
    check "$name: qpdf --check" qpdf --check "$out"
    info=$(pdfsig -nssdir "sql:$W/nss" "$out" 2>&1)
    expect_eq "$name: pdfsig sees $sigs signature(s)" "$(printf '%s\n' "$info" | grep -c '^Signature #')" "$sigs"
    expect_eq "$name: pdfsig: every signature valid" \
        "$(printf '%s\n' "$info" | grep -c 'Signature Validation: Signature is Valid')" "$sigs"
    expect_eq "$name: pdfsig: $trusted certificate(s) trusted" \
        "$(printf '%s\n' "$info" | grep -c 'Certificate Validation: Certificate is Trusted')" "$trusted"
    expect_match "$name: pdfsig: the last one covers the whole document" \
        "$(printf '%s\n' "$info" | awk '/^Signature #'"$sigs"':/ {p=1} p')" 'Total document signed'
    expect_match "$name: PAdES subfilter" "$(printf '%s\n' "$info" | awk '/^Signature #'"$sigs"':/ {p=1} p')" \
        'Signature Type: ETSI.CAdES.detached'
    fields=$(qpdf --json=2 --json-key=qpdf "$out" | jq -r -f "$FIELDSJQ")
    expect_match "$name: the seal's field is in /Fields and on its page, /SigFlags 3, an invisible widget, /V a PAdES dictionary" \
        "$fields" 'in-fields=true sigflags=3 on-page=true sig=true widget=true'
    expect_match "$name: the update's trailer keeps /Root and the first /ID" "$fields" \
        "$(qpdf --json=2 --json-key=qpdf "$in" | jq -r '.qpdf[1].trailer.value | "id=\(.["/ID"][0] // "none") root=\(.["/Root"])"')"
    expect_eq "$name: the new field is numbered from the original's /Size on" \
        "$(( $(printf '%s\n' "$fields" | sed 's/^field=\([0-9]*\).*/\1/') >= \
            $(qpdf --json=2 --json-key=qpdf "$in" | jq '.qpdf[1].trailer.value["/Size"]') ))" 1
    check "$name: the CMS and its byte ranges" python3 "$PDFTOOL" signature "$out" "$W/sig.der" "$W/signed.bin"
    check "$name: openssl cms -verify over the byte ranges" openssl cms -verify -binary -inform DER \
        -in "$W/sig.der" -content "$W/signed.bin" -CAfile "$SIM/stamp-ca.pem" -purpose any -out /dev/null
}

# Inputs from different producers.
printf '%%!PS\n/Helvetica findfont 20 scalefont setfont 72 700 moveto (A sealed decision) show showpage\n' > "$W/a.ps"
check "ps2pdf makes a PDF" ps2pdf "$W/a.ps" "$W/gs.pdf"
check "qpdf makes a PDF with object streams" qpdf --object-streams=generate "$W/gs.pdf" "$W/objstm.pdf"
check "qpdf makes a linearized PDF" qpdf --linearize "$W/gs.pdf" "$W/linear.pdf"
check "a PDF with a form" python3 "$PDFTOOL" form "$W/form.pdf"

for name in gs objstm linear form; do
    expect_eq "seal $name.pdf" "$(seal_pdf "$W/$name.pdf" "$W/$name-sealed.pdf")" "200 application/pdf"
    check_sealed "$name" "$W/$name.pdf" "$W/$name-sealed.pdf" 1
done
expect_match "an xref stream file gets an xref stream" "$(tail -c 1200 "$W/objstm-sealed.pdf" | tr -c '[:print:]\n' .)" '/Type /XRef'
expect_match "a classic file gets an xref table" "$(tail -c 200 "$W/gs-sealed.pdf" | tr -c '[:print:]\n' .)" '^trailer|/Prev'
expect_match "the existing form field is kept" "$(qpdf --show-object=5 "$W/form-sealed.pdf")" '/Fields \[ 6 0 R [0-9]+ 0 R \]'
attrs=$(openssl cms -cmsout -print -inform DER -in "$W/sig.der")
for a in contentType messageDigest id-smime-aa-signingCertificateV2; do
    expect_match "signed attribute $a" "$attrs" "object: $a"
done
expect_no_match "no signing-time attribute (the time is /M)" "$attrs" "object: signingTime"
expect_match "the signature dictionary has /M" "$(tr -c '[:print:]\n' . < "$W/gs-sealed.pdf" | grep -a -o '/M (D:[0-9]*+00.00.)' | head -1)" '^/M \(D:'

# Sealed twice: the earlier signature stays valid.
expect_eq "seal a sealed PDF again" "$(seal_pdf "$W/gs-sealed.pdf" "$W/twice.pdf")" "200 application/pdf"
check_sealed "twice" "$W/gs-sealed.pdf" "$W/twice.pdf" 2 1
first=$(pdfsig -nssdir "sql:$W/nss" "$W/twice.pdf" 2>&1 | awk '/^Signature #1:/ {p=1} /^Signature #2:/ {p=0} p')
expect_match "twice: the first signature covers the first revision only" "$first" 'Not total document signed'
expect_match "twice: the first signature's certificate is trusted" "$first" 'Certificate is Trusted'

# A changed byte anywhere in the signed ranges fails each check.
cp "$W/gs-sealed.pdf" "$W/changed.pdf"
printf 'X' | dd of="$W/changed.pdf" bs=1 seek=200 conv=notrunc 2>/dev/null
expect_no_match "changed byte: pdfsig no longer says valid" \
    "$(pdfsig -nssdir "sql:$W/nss" "$W/changed.pdf" 2>&1)" 'Signature is Valid'
python3 "$PDFTOOL" signature "$W/changed.pdf" "$W/sig.der" "$W/signed.bin" >/dev/null
check_exit 4 "changed byte: openssl cms -verify fails" openssl cms -verify -binary -inform DER \
    -in "$W/sig.der" -content "$W/signed.bin" -CAfile "$SIM/stamp-ca.pem" -purpose any -out /dev/null
check_exit 1 "changed byte: cmp finds the original no longer the prefix" \
    cmp -s -n "$(stat -c %s "$W/gs.pdf")" "$W/gs.pdf" "$W/changed.pdf"
# A byte of the update itself (the /M date is signed too).
cp "$W/gs-sealed.pdf" "$W/changed2.pdf"
at=$(grep -a -b -o '/M (D:' "$W/changed2.pdf" | tail -1 | cut -d: -f1)
printf '9' | dd of="$W/changed2.pdf" bs=1 seek=$((at + 7)) conv=notrunc 2>/dev/null
expect_no_match "changed /M: pdfsig no longer says valid" \
    "$(pdfsig -nssdir "sql:$W/nss" "$W/changed2.pdf" 2>&1)" 'Signature is Valid'
check_exit 1 "an untrusted CA: pdfsig does not call the certificate trusted" \
    sh -c "pdfsig '$W/gs-sealed.pdf' 2>&1 | grep -q 'Certificate is Trusted'"

# Audit: one stamp entry with its format, level and the hash of the byte ranges.
python3 "$PDFTOOL" signature "$W/form-sealed.pdf" "$W/sig.der" "$W/signed.bin" >/dev/null
want="sha256:$(openssl dgst -sha256 -r "$W/signed.bin" | cut -d' ' -f1)"
expect_eq "audited with format, level and the signed ranges' hash" \
    "$(jq -s -r --arg d "$want" '[.[] | select(.type=="stamp" and .outcome=="ok" and .format=="pades" and .level=="b-b" and .digest==$d)] | length' "$W"/audit/audit-*.jsonl)" 1

# Hostile and wrong inputs: 4xx with a reason, never a crash.
head -c 1500 "$W/gs.pdf" > "$W/truncated.pdf"
check "an encrypted PDF" qpdf --encrypt user owner 256 -- "$W/gs.pdf" "$W/encrypted.pdf"
check "an encrypted PDF with an empty user password" qpdf --encrypt "" owner 256 -- "$W/gs.pdf" "$W/encrypted2.pdf"
check "a PDF whose page tree contains itself" python3 "$PDFTOOL" hostile loop "$W/form.pdf" "$W/loop.pdf"
check "a PDF whose xref points outside" python3 "$PDFTOOL" hostile outside "$W/form.pdf" "$W/outside.pdf"
{ head -c "$(( $(stat -c %s "$W/gs.pdf") - 30 ))" "$W/gs.pdf"; printf 'startxref\n99999999\n%%%%EOF\n'; } > "$W/startxref.pdf"
head -c 5000 /dev/urandom > "$W/noise.pdf"
# 100000 nested /Pages nodes (10 MB): a reader that recurses per level
# runs out of stack.
check "a PDF whose page tree is 100000 levels deep" python3 "$PDFTOOL" deep "$W/deep.pdf" 100000
python3 "$PDFTOOL" deep "$W/deep64.pdf" 63
# 8 million objects declared by a 54 KB file's compressed xref stream (qpdf
# alone takes over 400 MB for it), at startxref and behind a table's /Prev.
check "a PDF whose xref stream declares 8 million objects" python3 "$PDFTOOL" xrefbomb "$W/xrefbomb.pdf" 8000000
check "  and one with that stream behind a /Prev" python3 "$PDFTOOL" xrefbomb "$W/xrefbomb2.pdf" 8000000 behind
python3 "$PDFTOOL" xrefbomb "$W/xref10.pdf" 10
for bad in truncated:'startxref' encrypted:encrypted encrypted2:encrypted loop:'[Ll]oop' outside:damaged \
    startxref:outside noise:'not a PDF' deep:'too deep' xrefbomb:'declare more objects' \
    xrefbomb2:'declare more objects'; do
    name=${bad%%:*} reason=${bad#*:}
    expect_error "$name.pdf refused" 400 invalid_request \
        "$(seal_pdf "$W/$name.pdf" "$W/body" | cut -d' ' -f1)"
    expect_match "  with the reason" "$(jq -r .error_description "$W/body")" "$reason"
done
expect_error "?format= unknown" 400 invalid_request "$(curl -sS -o "$W/body" -w '%{http_code}' "${AUTH[@]}" \
    -H 'Content-Type: application/pdf' --data-binary @"$W/gs.pdf" "$GW_URL/v1/stamp?identity=dvv-interface&format=xades-t")"
expect_error "format=pades with another media type" 415 unsupported_media_type \
    "$(curl -sS -o "$W/body" -w '%{http_code}' "${AUTH[@]}" -H 'Content-Type: text/plain' \
        --data-binary @"$W/gs.pdf" "$GW_URL/v1/stamp?identity=dvv-interface&format=pades")"
expect_error "format=pades with the digest form" 415 unsupported_media_type \
    "$(curl -sS -o "$W/body" -w '%{http_code}' "${AUTH[@]}" -H 'Content-Type: application/json' \
        --data '{"identity":"dvv-interface","digest":{"alg":"sha256","value":"AAAA"}}' "$GW_URL/v1/stamp?format=pades")"
expect_error "format=pades with an Idempotency-Key" 400 invalid_request \
    "$(seal_pdf "$W/gs.pdf" "$W/body" -H 'Idempotency-Key: k-1' | cut -d' ' -f1)"
expect_error "format=pades by a client not granted" 403 forbidden \
    "$(curl -sS -o "$W/body" -w '%{http_code}' -H "Authorization: Bearer $(cat "$W/other.token")" \
        -H 'Content-Type: application/pdf' --data-binary @"$W/gs.pdf" "$GW_URL/v1/stamp?identity=dvv-interface&format=pades")"
expect_eq "a page 63 levels deep is sealed" "$(seal_pdf "$W/deep64.pdf" "$W/deep64-sealed.pdf")" "200 application/pdf"
expect_eq "the same xref stream declaring 10 objects (its /Size spelt /Si#7Ae) is sealed" \
    "$(seal_pdf "$W/xref10.pdf" "$W/xref10-sealed.pdf")" "200 application/pdf"
check "  and qpdf --check passes" qpdf --check "$W/xref10-sealed.pdf"
check "  and qpdf --check passes" qpdf --check "$W/deep64-sealed.pdf"
expect_eq "the daemon still serves" "$(curl -sS -o /dev/null -w '%{http_code}' "$GW_URL/healthz")" 200
expect_eq "format=cades is today's answer" "$(curl -sS -o "$W/body" -w '%{http_code}' "${AUTH[@]}" \
    -H 'Content-Type: application/pdf' --data-binary @"$W/gs.pdf" "$GW_URL/v1/stamp?identity=dvv-interface&format=cades")" 200
expect_eq "  a detached CAdES" "$(jq -r .format "$W/body")" cades-b-b

# A failing seal service: 502, the PDF not answered.
simcurl() { curl -sS --cacert "$SIM/server-ca.pem" "$@"; }
simcurl -o /dev/null -H 'Content-Type: application/json' --data '{"fail_rate":1}' "$SIM_ROOT/sim/faults"
expect_error "authority failing" 502 authority_error "$(seal_pdf "$W/gs.pdf" "$W/body" | cut -d' ' -f1)"
simcurl -o /dev/null -H 'Content-Type: application/json' --data '{"fail_rate":0}' "$SIM_ROOT/sim/faults"

# 50 MiB: streamed through a temporary file; memory does not follow it.
check "a 50 MiB PDF" python3 "$PDFTOOL" big "$W/big.pdf" 50
rss_hwm() { awk '/VmHWM/ {print $2}' "/proc/$GW_PID/status"; }
before_kb=$(rss_hwm)
expect_eq "seal the 50 MiB PDF" "$(seal_pdf "$W/big.pdf" "$W/big-sealed.pdf")" "200 application/pdf"
growth=$(( $(rss_hwm) - before_kb ))
if [ "$growth" -lt 20480 ]; then pass "peak RSS grew by $growth KiB for a 50 MiB PDF"; else
    fail "peak RSS grew by $growth KiB for a 50 MiB PDF"; fi
check_sealed "50 MiB" "$W/big.pdf" "$W/big-sealed.pdf" 1
# Every request above, sealed or refused, had its own temporary file:
# each is closed once its answer has gone.
open_temps() { [ "$(find "/proc/$GW_PID/fd" -lname '*(deleted)' 2>/dev/null | wc -l)" -eq 0 ]; }
wait_until 10 "every temporary file closed" open_temps && pass "every temporary file closed"
expect_eq "no temporary file left behind" "$(find "${TMPDIR:-/tmp}" -maxdepth 1 -name 'sealgate.*' -user "$(id -u)" 2>/dev/null | wc -l)" 0

stop_gateway
month=$(date -u +%Y-%m)
sim_count=$(simcurl "$SIM_ROOT/sim/counts?month=$month" | jq '.counts["org-stamp-1"] // 0')
audit_count=$(sealgate-audit counts --month "$month" --json "$W/audit" | jq '[.counts[] | select(.identity == "dvv-interface") | .stamps] | add // 0')
expect_eq "audit log's stamps equal the simulator's signHash count ($sim_count)" "$audit_count" "$sim_count"
check "chain verifies" audit_verify "$W/audit"
end_sim
finish
