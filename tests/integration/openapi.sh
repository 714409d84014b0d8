# SPDX-License-Identifier: Apache-2.0
# docs/openapi.json against the code: it validates as OpenAPI 3.1 (and a
# broken copy does not), it names exactly the routes of the route table,
# GET /v1/openapi.json serves it byte for byte, and real answers of a
# running gateway validate against the schema of their path, method and
# status (tests/openapi_check.py, python3-jsonschema).
. "$SG_SRCDIR/tests/integration/lib.sh"
W=$SG_WORK
DOC=$SG_SRCDIR/docs/openapi.json
CHECK=$SG_SRCDIR/tests/openapi_check.py
# Debian's python3-jsonschema, whatever python3 is first on PATH.
PY=${SEALGATE_TEST_PYTHON:-/usr/bin/python3}
VALIDATOR=${SEALGATE_OPENAPI_VALIDATOR:-/usr/local/lib/sealgate-test/node_modules/@seriousme/openapi-schema-validator/bin/validate-api-cli.js}

# (a) OpenAPI 3.1 validation, with a bad copy beside it.
if [ -f "$VALIDATOR" ]; then
    check "docs/openapi.json validates as OpenAPI 3.1" node "$VALIDATOR" "$DOC"
    jq '.paths["/healthz"].get.responses["200"] = "ok"' "$DOC" > "$W/broken.json"
    check_exit 1 "a copy with a response that is not an object fails the validator" \
        node "$VALIDATOR" "$W/broken.json"
    jq 'del(.info)' "$DOC" > "$W/broken2.json"
    check_exit 1 "a copy without info fails the validator" node "$VALIDATOR" "$W/broken2.json"
else
    fail "OpenAPI validator missing at $VALIDATOR (scripts/install-deps installs it)"
fi

check "every example in the document validates against its schema" "$PY" "$CHECK" examples "$DOC" -
jq '.paths["/healthz"].get.responses["200"].content["application/json"].example = {status: "bad"}' "$DOC" \
    > "$W/badex.json"
check_exit 1 "an example that breaks its schema fails" "$PY" "$CHECK" examples "$W/badex.json" -

# (b) The route table and the document name the same operations.
check "every route of gateway/http/gw_route.c is documented and nothing else" \
    "$PY" "$CHECK" routes "$DOC" "$SG_SRCDIR/gateway/http/gw_route.c"
sed 's|{ "GET", "/healthz",|{ "POST", "/v1/undocumented", "x", NULL, 0, BODY_NONE, gw_route_healthz },\n&|' \
    "$SG_SRCDIR/gateway/http/gw_route.c" > "$W/gw_route.c"
out=$("$PY" "$CHECK" routes "$DOC" "$W/gw_route.c" 2>&1)
expect_eq "a route added without documentation fails the check" "$?" 1
expect_match "and the failure names the path" "$out" 'POST /v1/undocumented'
jq '.paths["/v1/extra"] = {get: .paths["/healthz"].get}' "$DOC" > "$W/extra.json"
out=$("$PY" "$CHECK" routes "$W/extra.json" "$SG_SRCDIR/gateway/http/gw_route.c" 2>&1)
expect_match "a documented path the code lacks fails the check" "$out" 'GET /v1/extra'

# (c) Real answers, the stamp ones from the CSC v2 simulator.
gateway_fixture
officer=$(client_token officer)
# A stamp identity on the CSC v2 simulator, as stamp.sh sets one up.
SIMPY="$SG_SRCDIR/tests/sim/csc_sim.py"
SIM=$W/sim
python3 "$SIMPY" init --state "$SIM" >/dev/null || { echo "Bail out! simulator init"; exit 1; }
csc_interface dvv-interface
start_sim_serve simulator "$W/sim.json" python3 "$SIMPY" "$SIM" --no-request-signature
# And a time-stamp authority on the RFC 3161 simulator, as timestamp.sh has it.
TSAPY="$SG_SRCDIR/tests/sim/tsa_sim.py"
TSA=$W/tsa
python3 "$TSAPY" init --state "$TSA" >/dev/null || { echo "Bail out! tsa simulator init"; exit 1; }
start_sim_serve tsa_sim "$W/tsa.json" python3 "$TSAPY" "$TSA"
jq --arg o "$officer" --arg url "$(jq -r .url "$W/sim.json")" --arg ca "$SIM/server-ca.pem" '
    .clients += [{name: "officer", token_sha256: $o, roles: ["officer"]}] |
    .authorities["dvv-stamp"] = {type: "csc-v2", url: $url, ca_file: $ca, credential_id: "org-stamp-1",
        timeout_ms: 5000, retries: 1} |
    .identities += [{name: "dvv-interface", key_label: "dvv-interface", authority: "dvv-stamp", uses: ["stamp"]}] |
    .authorities.tsa = {type: "rfc3161", url: $tsa_url, ca_file: $tsa_ca, tsa_ca_file: $tsa_signer} |
    (.clients[] | select(.name == "billing") | .identities) += ["dvv-interface"]' \
    --arg tsa_url "$(jq -r .url "$W/tsa.json")" --arg tsa_ca "$TSA/server-ca.pem" --arg tsa_signer "$TSA/tsa-ca.pem" \
    "$W/sealgate.json" > "$W/c.json" && mv "$W/c.json" "$W/sealgate.json"
start_gateway
: > "$W/answers.jsonl"
# oa CLIENT METHOD PATH TEMPLATE [curl args]: one request; its answer is
# recorded for the schema check.
oa() {
    local client=$1 method=$2 path=$3 template=$4 auth=()
    shift 4
    [ "$client" != "-" ] && auth=(-H "Authorization: Bearer $(cat "$W/$client.token")")
    curl -sS -o "$W/body" -D "$W/headers" -w '%{http_code} %{content_type}\n' --max-time 60 -X "$method" \
        "${auth[@]}" "$@" "$GW_URL$path" > "$W/status"
    read -r status ctype < "$W/status"
    jq -nc --arg m "$method" --arg t "$template" --arg s "$status" --arg c "$ctype" --rawfile b "$W/body" \
        --rawfile h "$W/headers" '{method: $m, path: $t, status: $s, content_type: $c, body: $b, headers: $h}' \
        >> "$W/answers.jsonl"
}
JSON=(-H 'Content-Type: application/json')
head -c 4096 /dev/urandom > "$W/doc"
oa - GET /healthz /healthz
oa - GET /readyz /readyz
oa monitor GET /readyz /readyz
oa monitor GET /metrics /metrics
oa - GET /console /console
oa - GET /console/ /console/
oa - GET /console/console.js "/console/{file}"
oa - GET /console/console.css "/console/{file}"
oa - GET /console/nothing.html "/console/{file}"
oa - GET /v1/openapi.json /v1/openapi.json
curl -sS -o "$W/served.json" "$GW_URL/v1/openapi.json"
check "GET /v1/openapi.json is docs/openapi.json byte for byte" cmp "$W/served.json" "$DOC"
expect_match "served cacheable" "$(tail -n 1 "$W/answers.jsonl" | jq -r .headers)" '[Cc]ache-[Cc]ontrol: public, max-age=3600'
expect_match "served as application/json" "$(tail -n 1 "$W/answers.jsonl" | jq -r .content_type)" '^application/json'
oa billing GET /v1/identities /v1/identities
oa auditor GET /v1/identities /v1/identities
oa billing POST /v1/sign /v1/sign "${JSON[@]}" --data "$(sign_body ec-seal sha256 "$W/doc" raw)"
oa billing POST /v1/sign /v1/sign "${JSON[@]}" --data "$(sign_body local-seal sha384 "$W/doc" cms)"
oa billing POST /v1/sign /v1/sign "${JSON[@]}" -H 'Idempotency-Key: oa-1' \
    --data "$(sign_body ec-seal sha256 "$W/doc" raw)"
oa billing POST /v1/sign /v1/sign "${JSON[@]}" -H 'Idempotency-Key: oa-1' \
    --data "$(sign_body ec-seal sha256 "$W/doc" raw)"
oa billing POST /v1/sign /v1/sign "${JSON[@]}" -H 'Idempotency-Key: oa-1' \
    --data "$(sign_body local-seal sha256 "$W/doc" raw)"
oa billing POST /v1/sign /v1/sign "${JSON[@]}" --data '{"identity":"ec-seal"'
oa billing POST /v1/sign /v1/sign "${JSON[@]}" --data "$(sign_body nosuch sha256 "$W/doc" raw)"
oa billing POST /v1/sign /v1/sign --data "$(sign_body ec-seal sha256 "$W/doc" raw)"
oa billing POST /v1/sign /v1/sign "${JSON[@]}" --data "$(head -c 5000 /dev/zero | tr '\0' a)"
oa other POST /v1/sign /v1/sign "${JSON[@]}" --data "$(sign_body ec-seal sha256 "$W/doc" raw)"
oa - POST /v1/sign /v1/sign "${JSON[@]}" --data "$(sign_body ec-seal sha256 "$W/doc" raw)"
oa auditor POST /v1/sign /v1/sign "${JSON[@]}" --data "$(sign_body ec-seal sha256 "$W/doc" raw)"
oa billing GET /v1/sign /v1/sign
oa other POST /v1/stamp /v1/stamp -H 'Content-Type: application/pdf' --data-binary @"$W/doc"
oa billing POST /v1/stamp /v1/stamp -H 'Content-Type: application/pdf' --data-binary @"$W/doc"
python3 "$SG_SRCDIR/tests/integration/pdf-tool.py" form "$W/form.pdf"
oa billing POST '/v1/stamp?format=pades' /v1/stamp -H 'Content-Type: application/pdf' --data-binary @"$W/form.pdf"
expect_eq "a PDF sealed" "$(tail -n 1 "$W/answers.jsonl" | jq -r '.status + " " + .content_type')" "200 application/pdf"
oa billing POST '/v1/stamp?format=pades' /v1/stamp -H 'Content-Type: application/pdf' --data-binary @"$W/doc"
oa billing POST '/v1/stamp?format=other' /v1/stamp -H 'Content-Type: application/pdf' --data-binary @"$W/form.pdf"
oa billing POST /v1/stamp /v1/stamp -H 'Content-Type: application/pdf' -H 'Accept: application/pkcs7-signature' \
    --data-binary @"$W/doc"
digest=$(openssl dgst -sha256 -binary "$W/doc" | base64 -w0)
oa billing POST '/v1/stamp?format=asice&filename=doc.bin' /v1/stamp -H 'Content-Type: application/pdf' \
    --data-binary @"$W/doc"
oa billing POST '/v1/stamp?format=asice' /v1/stamp -F "doc=@$W/doc;filename=a.bin" -F "doc2=@$W/doc;filename=b.bin"
oa billing POST '/v1/stamp?format=asice' /v1/stamp -H 'Content-Type: application/pdf' --data-binary @"$W/doc"
stamp_json() { printf '{"identity":"%s","digest":{"alg":"sha256","value":"%s"},"name":"doc.pdf"}' "$1" "$2"; }
oa billing POST /v1/stamp /v1/stamp "${JSON[@]}" -H 'Idempotency-Key: oa-stamp' --data "$(stamp_json dvv-interface "$digest")"
oa billing POST /v1/stamp /v1/stamp "${JSON[@]}" -H 'Idempotency-Key: oa-stamp' --data "$(stamp_json dvv-interface "$digest")"
oa billing POST /v1/stamp /v1/stamp "${JSON[@]}" -H 'Idempotency-Key: oa-stamp' \
    --data "$(stamp_json dvv-interface "$(printf x | openssl dgst -sha256 -binary | base64 -w0)")"
oa billing POST '/v1/stamp?identity=nosuch' /v1/stamp -H 'Content-Type: application/pdf' --data-binary @"$W/doc"
oa billing POST /v1/stamp /v1/stamp "${JSON[@]}" --data '{"identity":"ec-seal","digest":{"alg":"sha256","value":"AA=="}}'
oa billing POST /v1/stamp/batch /v1/stamp/batch "${JSON[@]}" \
    --data '{"identity":"dvv-interface","digests":[{"alg":"sha256","value":"'"$digest"'"},{"alg":"sha256","value":"'"$digest"'"}]}'
expect_eq "a batch stamp answered" "$(tail -n 1 "$W/answers.jsonl" | jq -r .status)" 200
oa billing POST /v1/stamp/batch /v1/stamp/batch "${JSON[@]}" --data '{"identity":"dvv-interface","digests":[]}'
ts_json() { printf '{"authority":"%s","digest":{"alg":"sha256","value":"%s"}}' "$1" "$2"; }
oa billing POST /v1/timestamp /v1/timestamp "${JSON[@]}" --data "$(ts_json tsa "$digest")"
expect_eq "a time-stamp answered" "$(tail -n 1 "$W/answers.jsonl" | jq -r .status)" 200
oa billing POST /v1/timestamp /v1/timestamp "${JSON[@]}" --data "$(ts_json tsa AA==)"
oa billing POST /v1/timestamp /v1/timestamp "${JSON[@]}" --data "$(ts_json nosuch "$digest")"
oa other POST /v1/timestamp /v1/timestamp "${JSON[@]}" --data "$(ts_json tsa "$digest")"
curl -sS -o /dev/null --cacert "$TSA/server-ca.pem" -H 'Content-Type: application/json' \
    --data '{"fault":"wrong-nonce"}' "$(jq -r .sim_url "$W/tsa.json")fault"
oa billing POST /v1/timestamp /v1/timestamp "${JSON[@]}" --data "$(ts_json tsa "$digest")"
expect_eq "a time-stamp with the wrong nonce refused" "$(tail -n 1 "$W/answers.jsonl" | jq -r .status)" 502
oa billing POST /v1/soap/nosuch '/v1/soap/{authority}' -H 'Content-Type: text/xml' --data '<x/>'
oa billing POST /v1/soap/nosuch '/v1/soap/{authority}' "${JSON[@]}" --data '{}'
oa auditor GET /v1/audit/entries /v1/audit/entries
oa auditor GET '/v1/audit/entries?type=sign&outcome=ok&limit=2' /v1/audit/entries
oa auditor GET '/v1/audit/entries?limit=nope' /v1/audit/entries
oa auditor GET /v1/audit/verify /v1/audit/verify
oa auditor GET "/v1/audit/counts?month=$(date -u +%Y-%m)" /v1/audit/counts
oa auditor GET /v1/audit/counts /v1/audit/counts
oa billing GET /v1/audit/entries /v1/audit/entries
oa officer POST /v1/identities/local-seal/enroll '/v1/identities/{identity}/enroll' "${JSON[@]}" --data '{}'
oa officer POST /v1/identities/nosuch/enroll '/v1/identities/{identity}/enroll' "${JSON[@]}" --data '{}'
oa officer POST /v1/identities/local-seal/renew '/v1/identities/{identity}/renew'
oa officer GET /v1/jobs/nosuch '/v1/jobs/{job}'
oa officer POST /v1/jobs/nosuch/resume '/v1/jobs/{job}/resume'
oa officer POST /v1/jobs/nosuch/abandon '/v1/jobs/{job}/abandon'
oa billing GET /v1/jobs/nosuch '/v1/jobs/{job}'
oa - GET /v1/nowhere /v1/nowhere
# Kept beside the log: the examples in docs/openapi.json are such answers.
cp "$W/answers.jsonl" "$SG_BUILDDIR/tests/integration/openapi.answers.jsonl" 2>/dev/null || true
n=$(wc -l < "$W/answers.jsonl")
check "all $n answers validate against their documented schemas" \
    "$PY" "$CHECK" answers "$DOC" "$W/answers.jsonl"
# An answer with a status the document does not list fails.
jq -c 'select(.path == "/healthz") | .status = "418"' "$W/answers.jsonl" | head -n 1 > "$W/bad.jsonl"
check_exit 1 "an answer with an undocumented status fails" "$PY" "$CHECK" answers "$DOC" "$W/bad.jsonl"
jq -c 'select(.path == "/v1/sign" and .status == "200") | .body = "{\"signature\":1}"' "$W/answers.jsonl" |
    head -n 1 > "$W/bad2.jsonl"
check_exit 1 "a sign answer that breaks its schema fails" "$PY" "$CHECK" answers "$DOC" "$W/bad2.jsonl"
stop_gateway
stop_sim
finish
