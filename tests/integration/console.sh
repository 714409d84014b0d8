# SPDX-License-Identifier: Apache-2.0
# The auditor's console in a real browser (headless Chromium through
# chromium-driver and python3-selenium, tests/integration/console-browser.py)
# over a real gateway and SoftHSMv2 token: wrong and stamp-role tokens see
# no data; the auditor pages through the entries and the page shows what
# the API answers (curl + jq); one entry opens with hash, prev and links;
# the integrity view, the monthly counts with their chart and a wrongly
# reported count flagged, the identities; sign-out forgets the token. Then
# a log line is edited to carry markup in its client name: the integrity
# view names that seq, and the markup shows as text, nothing runs. The
# headers (CSP, frame denial, no-store) are checked with curl. Over HTTPS,
# a browser holding the auditor's client certificate signs in with no
# token, and one without it sees nothing. A screenshot of every view
# stays in the build's tests/integration/console-shots/.
. "$SG_SRCDIR/tests/integration/lib.sh"
[ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ] ||
    { echo "SKIP: no chromium or chromedriver (Debian chromium, chromium-driver)"; exit 77; }
PY=${SEALGATE_TEST_PYTHON:-/usr/bin/python3}
need_python "$PY" selenium python3-selenium
W=$SG_WORK
SHOTS=$SG_BUILDDIR/tests/integration/console-shots
rm -rf "$SHOTS"
mkdir -p "$SHOTS"
BROWSER=$SG_SRCDIR/tests/integration/console-browser.py
gateway_fixture
officer=$(client_token officer)
jq --arg o "$officer" '.clients += [{name: "officer", token_sha256: $o, roles: ["officer"]}]' \
    "$W/sealgate.json" > "$W/c.json" && mv "$W/c.json" "$W/sealgate.json"
start_gateway
J=(-H 'Content-Type: application/json')
echo "document" > "$W/doc"
for i in $(seq 1 12); do
    api billing POST /v1/sign "${J[@]}" --data "$(sign_body local-seal sha256 "$W/doc" raw)" >/dev/null
done
for i in $(seq 1 3); do
    api billing POST /v1/sign "${J[@]}" --data "$(sign_body ec-seal sha256 "$W/doc" cms)" >/dev/null
done
api other POST /v1/sign "${J[@]}" --data "$(sign_body local-seal sha256 "$W/doc" raw)" >/dev/null
api officer POST /v1/identities/local-seal/renew >/dev/null
# Markup an unauthenticated caller can put into the log: the path of a
# refused SOAP call is in its auth_failure entry's detail.
expect_eq "a refusal with markup in its path" \
    "$(api - POST '/v1/soap/%3Cimg%20src=x%20onerror=window.pwned=1%3E' -H 'Content-Type: text/xml' --data '<x/>')" 401
expect_match "  is in the log as it came" "$(cat "$W"/audit/audit-*.jsonl)" '<img src=x onerror=window.pwned=1>'
month=$(date -u +%Y-%m)

# --- the headers, with curl -------------------------------------------------
headers() { curl -sS -o /dev/null -D - "$@" | tr -d '\r'; }
h=$(headers "$GW_URL/console/")
expect_match "the page: a strict CSP" "$h" "^Content-Security-Policy: default-src 'self'; script-src 'self'; style-src 'self';"
expect_no_match "  without unsafe-inline or unsafe-eval" "$(printf '%s\n' "$h" | grep -i '^content-security-policy')" 'unsafe'
expect_match "  frame denial" "$h" "^X-Frame-Options: DENY"
expect_match "  frame-ancestors 'none'" "$h" "frame-ancestors 'none'"
expect_match "  nosniff" "$h" "^X-Content-Type-Options: nosniff"
expect_match "  is HTML" "$h" "^Content-Type: text/html"
expect_no_match "  no inline script in the page" "$(curl -sS "$GW_URL/console/")" '<script>|<script [^>]*>[^<]|[[:space:]]on[a-z]+='
expect_no_match "  no other host named in the page" "$(curl -sS "$GW_URL/console/")" '(src|href)="(https?:)?//'
expect_match "the script" "$(headers "$GW_URL/console/console.js")" "^Content-Type: text/javascript"
expect_no_match "  sets no markup from data" "$(cat "$SG_SRCDIR/gateway/console/console.js")" 'innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\('
h=$(headers -H "Authorization: Bearer $(cat "$W/auditor.token")" "$GW_URL/v1/audit/entries")
expect_match "a data answer is not cached" "$h" "^Cache-Control: no-store"
expect_match "  loads nothing" "$h" "^Content-Security-Policy: default-src 'none'; frame-ancestors 'none'"
expect_match "  is never framed" "$h" "^X-Frame-Options: DENY"
expect_eq "/console leads to /console/" \
    "$(curl -sS -o /dev/null -w '%{http_code} %{redirect_url}' "$GW_URL/console")" "308 $GW_URL/console/"
expect_error "a file the console does not have" 404 not_found "$(api - GET /console/secret.json)"
expect_error "no way up out of it" 404 not_found "$(api - GET '/console/..%2Fv1%2Faudit%2Fentries')"

# --- the browser -------------------------------------------------------------
api auditor GET "/v1/audit/counts?month=$month" >/dev/null
counted=$(jq '[.counts[] | .stamps + .signatures + .soap + .timestamps] | add' "$W/body")
reported=$((counted + 3))
check "the console in Chromium, as the auditor" \
    timeout 90 "$PY" "$BROWSER" main "$GW_URL" "$W" "$SHOTS" "$reported"
cp "$W/last.out" "$W/seen.json"
S=$W/seen.json
for who in wrong stamp; do
    expect_eq "a $who token: no data shown" \
        "$(jq -c --arg w "$who" '.[$w] | [.views_hidden, .rows, .stored]' "$S")" '[true,0,0]'
done
expect_match "  the wrong token is told it is not signed in" "$(jq -r .wrong.message "$S")" '^Not signed in'
expect_match "  the stamp token is told it has no auditor or officer role" "$(jq -r .stamp.message "$S")" \
    'no auditor or officer role'
expect_eq "the officer role reads the audit endpoints" \
    "$(api officer GET /v1/audit/verify) $(api officer GET "/v1/audit/counts?month=$month")" "200 200"
expect_eq "the officer's token: the entries shown" "$(jq -c '.officer | [.views_hidden, (.rows > 0)]' "$S")" \
    '[false,true]'
expect_eq "the auditor's token is in session storage" "$(jq -r .stored_token "$S")" true
expect_eq "  and not in the address" "$(jq -r .url "$S")" "$GW_URL/console/"
# page_rows QUERY: the API's first page for QUERY, as the table shows it.
page_rows() {
    api auditor GET "/v1/audit/entries?$1" >/dev/null
    jq -c '[.entries[] | [(.seq | tostring), .time, .type, (.client // ""), (.identity // ""), .outcome,
        ([.error, .detail] | map(select(. != null and . != "")) | join(": "))]]' "$W/body"
}
# The API's pages of 10, as the page should show them.
after=0
: > "$W/api-pages.json"
while :; do
    page_rows "limit=10&after_seq=$after" >> "$W/api-pages.json"
    next=$(jq -r .next_after_seq "$W/body")
    [ "$next" = null ] && break
    after=$next
done
expect_eq "the entries the page shows, page by page, are the API's" \
    "$(jq -c .pages "$S")" "$(jq -sc . "$W/api-pages.json")"
expect_eq "  over more than one page" "$(jq '.pages | length >= 3' "$S")" true
api auditor GET '/v1/audit/entries?type=sign&limit=10' >/dev/null
expect_eq "filtered by type (10 a page): the API's sign entries" \
    "$(jq -c '[.sign_rows[][0]]' "$S")" "$(jq -c '[.entries[].seq | tostring]' "$W/body")"
expect_eq "filtered by outcome: the API's refusals" \
    "$(jq -c .filtered.outcome.rows "$S")" "$(page_rows 'outcome=error&limit=25')"
expect_eq "filtered by identity" "$(jq -c .filtered.identity.rows "$S")" "$(page_rows 'identity=ec-seal&limit=25')"
expect_eq "  its 3 signatures" "$(jq '.filtered.identity.rows | length' "$S")" 3
expect_eq "filtered by client within a time range" "$(jq -c .filtered.client_in_range.rows "$S")" \
    "$(page_rows 'client=billing&from=2000-01-01T00:00:00Z&to=2099-01-01T00:00:00Z&limit=25')"
expect_eq "from a time after everything: no entries" \
    "$(jq -c '[.filtered.future.rows, .filtered.future.info]' "$S")" '[[],"no entries"]'
seq1=$(jq .detail_seq "$S")
api auditor GET "/v1/audit/entries?after_seq=$((seq1 - 1))&limit=1" >/dev/null
expect_eq "an entry in full: every member as the API gives it" \
    "$(jq -Sc '.detail' "$S")" \
    "$(jq -Sc '.entries[0] | with_entries(.value |= (if . == null then "" elif type == "string" then . else tojson end))' "$W/body")"
expect_eq "  with its hash" "$(jq -r .detail.hash "$S")" "$(jq -r '.entries[0].hash' "$W/body")"
expect_eq "  and prev, checked against the entry before" "$(jq -r .prev_check "$S")" "its hash is this entry's prev"
expect_match "  linking to the entries before and after it" "$(jq -r '.links | join("|")' "$S")" \
    "^Previous entry, seq $((seq1 - 1))\|Next entry, seq $((seq1 + 1))\|Entries of identity local-seal"
api auditor GET /v1/audit/verify >/dev/null
expect_eq "integrity: the chain as the API judges it" "$(jq -r '.integrity["integrity-detail"]' "$S")" \
    "$(jq -r .detail "$W/body")"
expect_eq "  no break" "$(jq -r '.integrity["integrity-first-bad"]' "$S")" none
expect_eq "counts: this month's total" "$(jq --arg m "$month" '.counts[""][$m]' "$S")" "$counted"
api auditor GET "/v1/audit/counts?month=$month" >/dev/null
expect_eq "  per identity and client, as the API counts" \
    "$(jq -c --arg m "$month" '[.counts | to_entries[] | select(.key != "") | {key, value: .value[$m]}] | from_entries' "$S")" \
    "$(jq -c '[.counts[] | {key: (.identity + " / " + .client), value: (.stamps + .signatures + .soap + .timestamps)}] | from_entries' "$W/body")"
expect_eq "  twelve months, the bar of this one as high as its count" \
    "$(jq -c --arg m "$month" '[(.bars | length), .bars[$m]]' "$S")" "[12,$counted]"
expect_eq "a reported count 3 too high is flagged" \
    "$(jq -c '[.reconcile.month, .reconcile.difference, .reconcile.class]' "$S")" "[\"$month\",\"3\",\"bad\"]"
expect_match "  and says both counts" "$(jq -r .reconcile.text "$S")" "counted $counted, the authority reports $reported: difference \+3"
api auditor GET /v1/identities >/dev/null
expect_eq "identities: name, key type, subject, issuer and days to expiry as the API has them" \
    "$(jq -c '[.identities[] | [.[0], .[1], .[3], .[4], .[6]]]' "$S")" \
    "$(jq -c '[.[] | [.name, .key_type, (.certificate.subject // "no certificate"), (.certificate.issuer // ""),
        (.certificate.days_left // "" | tostring)]]' "$W/body")"
api auditor GET '/v1/audit/entries?identity=local-seal&type=renew' >/dev/null
renew_errors=$(jq '[.entries[] | select(.outcome == "error")] | length' "$W/body")
expect_eq "the refused renewal of local-seal is in the log" "$renew_errors" 1
expect_match "  the failed renewals of local-seal, as the log has them ($renew_errors)" \
    "$(jq -r '.identities[] | select(.[0] == "local-seal") | .[8]' "$S")" "^$renew_errors(,|\$)"
expect_eq "the refused path's markup is on the page as text" \
    "$(jq -r '[.pages[][] | select(.[2] == "auth_failure") | .[6] | select(contains("<img"))][0]' "$S")" \
    "unauthorized: POST /v1/soap/<img src=x onerror=window.pwned=1>: no token"
expect_eq "the markup of the refused path stayed text: no alert, nothing ran, no image made" \
    "$(jq -c '.inert | [.alert, .pwned, .images, .scripts]' "$S")" '[false,null,0,["console.js"]]'
expect_eq "no Content-Security-Policy violation" "$(jq -c .csp_reports "$S")" '[]'
expect_eq "every request the page made went to the gateway" \
    "$(jq -c '.inert | [.requests > 10, .foreign]' "$S")" '[true,[]]'
expect_eq "signing out forgets the token and clears the views" \
    "$(jq -c '.signed_out | [.stored, .rows, .views_hidden]' "$S")" '[0,0,true]'
expect_eq "  a reload stays signed out" "$(jq -r .after_reload_views_hidden "$S")" true

# --- a tampered log: markup in a client name, the seq named ------------------
stop_gateway
log=$(ls "$W"/audit/audit-*.jsonl | head -1)
victim=$(grep -n '"identity":"ec-seal"' "$log" | head -1 | cut -d: -f1)
victim_seq=$(sed -n "${victim}p" "$log" | jq .seq)
evil='<script>window.pwned=2</script><img src=x onerror=window.pwned=3>'
sed -i "${victim}s|\"client\":\"billing\"|\"client\":\"$evil\"|" "$log"
expect_eq "the edited line carries the markup" "$(sed -n "${victim}p" "$log" | jq -r .client)" "$evil"
check_exit 1 "sealgate-audit verify sees the edit" sealgate-audit --json verify "$W/audit"
cli_detail=$(jq -r .detail "$W/last.out")
start_gateway
check "the console in Chromium, over the tampered log" \
    timeout 90 "$PY" "$BROWSER" tampered "$GW_URL" "$W" "$SHOTS"
cp "$W/last.out" "$W/seen2.json"
S=$W/seen2.json
api auditor GET /v1/audit/verify >/dev/null
expect_eq "the API names seq $victim_seq as the first break" "$(jq -r .first_bad_seq "$W/body")" "$victim_seq"
expect_eq "  so does the integrity view" "$(jq -r '.integrity["integrity-first-bad"]' "$S")" "$victim_seq"
expect_eq "  with the reason as sealgate-audit verify gives it" "$(jq -r '.integrity["integrity-detail"]' "$S")" \
    "$cli_detail"
expect_match "  a hash mismatch" "$(jq -r '.integrity["integrity-detail"]' "$S")" 'hash mismatch'
expect_match "  and the verdict says the chain does not verify" "$(jq -r '.integrity["integrity-verdict"]' "$S")" \
    "does NOT verify: first break at seq $victim_seq"
expect_eq "the client name with markup is shown as text" \
    "$(jq -r --arg s "$victim_seq" '[.pages[][] | select(.[0] == $s)][0][3]' "$S")" "$evil"
expect_eq "  and stays inert: no alert, nothing ran, no image or script made" \
    "$(jq -c '.inert | [.alert, .pwned, .images, .scripts]' "$S")" '[false,null,0,["console.js"]]'
expect_eq "  no Content-Security-Policy violation" "$(jq -c .csp_reports "$S")" '[]'
stop_gateway

# --- HTTPS, signed in by the browser's client certificate ---------------------
make_ca srv
make_ca clients
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=127.0.0.1" \
    -keyout "$W/server.key" -out "$W/server.csr" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' > "$W/server.ext"
issue_cert srv "$W/server.csr" "$W/server.pem" 30 "$W/server.ext" || { echo "Bail out! server certificate"; exit 1; }
openssl req -new -newkey rsa:2048 -nodes -subj "/O=sealgate tests/CN=auditor-cert" \
    -keyout "$W/auditor-cert.key" -out "$W/auditor-cert.csr" 2>/dev/null
printf 'extendedKeyUsage=clientAuth\n' > "$W/client.ext"
issue_cert clients "$W/auditor-cert.csr" "$W/auditor-cert.pem" 30 "$W/client.ext" ||
    { echo "Bail out! client certificate"; exit 1; }
chmod 600 "$W"/*.key
fp=$(openssl x509 -in "$W/auditor-cert.pem" -noout -fingerprint -sha256 | sed 's/.*=//')
jq --arg fp "$fp" '.listen.tls = {cert_file: "server.pem", key_file: "server.key", client_ca_file: "ca-clients.pem"} |
    .clients += [{name: "auditor-cert", cert_sha256: $fp, roles: ["auditor"]}]' \
    "$W/sealgate.json" > "$W/c.json" && mv "$W/c.json" "$W/sealgate.json"
# nssdb HOME [P12]: Chromium's certificate store under HOME, trusting the
# listener's CA, with the client certificate P12 when given.
nssdb() {
    mkdir -p "$1/.pki/nssdb"
    certutil -N -d "sql:$1/.pki/nssdb" --empty-password &&
        certutil -A -d "sql:$1/.pki/nssdb" -n "sealgate test CA srv" -t "C,," -i "$W/ca-srv.pem" &&
        { [ -z "${2:-}" ] || pk12util -i "$2" -d "sql:$1/.pki/nssdb" -W "" >/dev/null; }
}
openssl pkcs12 -export -in "$W/auditor-cert.pem" -inkey "$W/auditor-cert.key" -passout pass: \
    -out "$W/auditor-cert.p12" 2>/dev/null
check "an NSS database with the auditor's client certificate" nssdb "$W/home-cert" "$W/auditor-cert.p12"
check "an NSS database without one" nssdb "$W/home-none"
start_gateway
expect_match "the gateway speaks HTTPS" "$GW_URL" '^https://'
check "the console over HTTPS, signed in by the client certificate" \
    env HOME="$W/home-cert" timeout 90 "$PY" "$BROWSER" cert "$GW_URL" "$W" "$SHOTS" ok
expect_eq "  shows the entries, no token stored" "$(jq -c '[.rows > 0, .stored]' "$W/last.out")" '[true,0]'
check "the console over HTTPS without a client certificate" \
    env HOME="$W/home-none" timeout 90 "$PY" "$BROWSER" cert "$GW_URL" "$W" "$SHOTS" refused
expect_eq "  shows nothing" "$(jq -c '[.rows, .stored]' "$W/last.out")" '[0,0]'
expect_match "  and says it is not signed in" "$(jq -r .message "$W/last.out")" '^Not signed in'
stop_gateway
expect_eq "a screenshot of every view" \
    "$(cd "$SHOTS" && ls main-sign-in.png main-refused.png main-entries.png main-integrity.png main-counts.png \
        main-identities.png main-signed-out.png tampered-integrity.png tampered-entries.png cert-ok.png \
        cert-refused.png 2>&1 | wc -l)" 11
finish
